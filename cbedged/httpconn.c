/*
 * The registry's connections, below evhttp.  libevent 2.1's evhttp
 * accepts on its own and offers one hook, the bufferevent it is to use
 * for a new connection; every bound an attacker can push on is kept
 * here, from that hook:
 *
 *	at accept: the connection caps (all, per source address, TLS
 *	    handshakes in progress), checked before any byte is read, the
 *	    refused connection closed at once;
 *	the TLS handshake must end within handshake_timeout;
 *	each request must arrive whole (head and body) within
 *	    request_timeout of the end of the handshake or of the answer
 *	    to the one before: a long poll, a whole request, is not cut;
 *	each request head is checked (lib/httphead.c) by a filter between
 *	    TLS and evhttp before evhttp sees a byte of it: size, lines,
 *	    body length.  A refused head never reaches evhttp: the filter
 *	    hands it a stand-in request (EDGE_REFUSED_PATH) that httpd.c
 *	    answers with the edge's own JSON refusal and "Connection:
 *	    close", and drops the rest of what the client sends.
 *
 * A connection is closed from here the way a peer's EOF closes it:
 * through evhttp's own event callback, so evhttp frees what it holds.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "cbedged.h"
#include "httphead.h"
#include "log.h"

#define MS_PER_SEC	1000

/* A refused head, as evhttp reads it: answered, then the end. */
static const char refused_request[] = "GET " EDGE_REFUSED_PATH
    " HTTP/1.1\r\nConnection: close\r\n\r\n";

const struct hconn_ctr_info hconn_ctr_info[HCTR_MAX] = {
	[HCTR_ACCEPTED] =		{ NULL,		"accepted" },
	[HCTR_REFUSED_CONNS] =		{ "refused",	"connections" },
	[HCTR_REFUSED_SOURCE] =		{ "refused",	"per_source" },
	[HCTR_REFUSED_HANDSHAKES] =	{ "refused",	"handshakes" },
	[HCTR_HANDSHAKE_TIMEOUT] =	{ "closed",	"handshake_timeout" },
	[HCTR_REQUEST_TIMEOUT] =	{ "closed",	"request_timeout" },
};

static const char *hconn_why[HCTR_MAX] = {
	[HCTR_REFUSED_CONNS] = "refused at accept: %zu connections open",
	[HCTR_REFUSED_SOURCE] = "refused at accept: %zu connections open "
	    "from this address",
	[HCTR_REFUSED_HANDSHAKES] = "refused at accept: %zu TLS handshakes "
	    "in progress",
	[HCTR_HANDSHAKE_TIMEOUT] = "closed: no TLS handshake within %zu s",
	[HCTR_REQUEST_TIMEOUT] = "closed: no whole request within %zu s",
};

/*
 * 1 when a line may be logged now; *skipped says how many were left out
 * since the last one.  A flood costs one line an interval, not one line
 * a connection.
 */
int
edge_lograte(struct lograte *lr, uint64_t now_ms, uint64_t *skipped)
{
	if (lr->last_ms != 0 && now_ms - lr->last_ms < EDGE_LOG_INTERVAL_MS) {
		lr->suppressed++;
		return (0);
	}
	*skipped = lr->suppressed;
	lr->suppressed = 0;
	lr->last_ms = now_ms;
	return (1);
}

static void
hconn_count(struct hconn *hc, enum hconn_ctr c, size_t n)
{
	struct edge	*e = hc->e;
	uint64_t	 skipped;
	char		 why[REG_ERR_MAX];

	e->hc_ctr[c]++;
	if (!edge_lograte(&e->hc_log[c], edge_now_ms(), &skipped))
		return;
	snprintf(why, sizeof(why), hconn_why[c], n);
	if (skipped > 0)
		log_warnx("registry connection from %s %s (and %llu more "
		    "like it)", hc->addr, why, (unsigned long long)skipped);
	else
		log_warnx("registry connection from %s %s", hc->addr, why);
}

/* Out of the counts: it goes, even if libevent frees it later. */
static void
hconn_uncount(struct hconn *hc)
{
	if (hc->counted)
		hc->e->hc_open--;
	if (hc->handshaking)
		hc->e->hc_handshakes--;
	hc->counted = hc->handshaking = 0;
}

/*
 * Close as a peer's EOF would: evhttp frees it, and us with it, once
 * libevent finalizes the bufferevents (in a later turn of the loop).
 */
static void
hconn_close(struct hconn *hc)
{
	hc->closing = 1;
	hconn_uncount(hc);
	evtimer_del(hc->timer);
	bufferevent_trigger_event(hc->bev, BEV_EVENT_EOF | BEV_EVENT_READING,
	    0);
}

static void
hconn_arm(struct hconn *hc, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)(ms / MS_PER_SEC);
	tv.tv_usec = (suseconds_t)(ms % MS_PER_SEC) * 1000;
	evtimer_add(hc->timer, &tv);
}

static void
hconn_timeout(int fd, short ev, void *arg)
{
	struct hconn	*hc = arg;

	if (hc->closing)
		return;
	if (hc->handshaking)
		hconn_count(hc, HCTR_HANDSHAKE_TIMEOUT,
		    hc->e->conf.handshake_timeout);
	else if (!hc->busy)
		hconn_count(hc, HCTR_REQUEST_TIMEOUT,
		    hc->e->conf.request_timeout);
	else
		return;
	hconn_close(hc);
}

/* The end of a TLS handshake, from OpenSSL's info callback. */
static void
hconn_ssl_info(const SSL *ssl, int where, int ret)
{
	struct hconn	*hc;
	uint64_t	 now, deadline;

	if ((where & SSL_CB_HANDSHAKE_DONE) == 0 ||
	    (hc = SSL_get_ex_data(ssl, edge->hc_exidx)) == NULL ||
	    !hc->handshaking || hc->closing)
		return;
	hc->handshaking = 0;
	hc->e->hc_handshakes--;
	/* The first request is due request_timeout after connecting. */
	now = edge_now_ms();
	deadline = hc->accepted_ms + (uint64_t)hc->e->conf.request_timeout *
	    MS_PER_SEC;
	hconn_arm(hc, deadline > now ? deadline - now : 0);
}

static void
hconn_refuse_head(struct hconn *hc, enum reg_reason r, const char *fmt, ...)
    __attribute__((__format__ (printf, 3, 4)));

/*
 * A refused head: it and what it announced are read and dropped first,
 * as evhttp's lingering close does, so that the client has sent all it
 * meant to when the answer comes and the connection closes; otherwise
 * its last bytes would meet a closed socket, and the reset could destroy
 * the answer before it is read.  request_timeout bounds the draining.
 */
static void
hconn_refuse_head(struct hconn *hc, enum reg_reason r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(hc->why, sizeof(hc->why), fmt, ap);
	va_end(ap);
	hc->refusal = r;
	hc->in = HI_DRAIN_HEAD;
	hc->eoh = 0;
}

/* Drop up to the end of a head ("\n\r\n" or "\n\n"): 1 when found. */
static int
hconn_drain_head(struct hconn *hc, struct evbuffer *src)
{
	struct evbuffer_iovec	 v[1];
	const char		*p;
	size_t			 i;

	while (evbuffer_peek(src, -1, NULL, v, 1) > 0) {
		p = v[0].iov_base;
		for (i = 0; i < v[0].iov_len; i++) {
			if (p[i] == '\n') {
				if (hc->eoh > 0) {
					evbuffer_drain(src, i + 1);
					return (1);
				}
				hc->eoh = 1;
			} else if (p[i] == '\r' && hc->eoh == 1)
				hc->eoh = 2;
			else
				hc->eoh = 0;
		}
		evbuffer_drain(src, v[0].iov_len);
	}
	return (0);
}

/* Drained: hand evhttp the stand-in request, answered by httpd.c. */
static enum bufferevent_filter_result
hconn_stand_in(struct hconn *hc, struct evbuffer *src, struct evbuffer *dst)
{
	hc->in = HI_DISCARD;
	evbuffer_drain(src, evbuffer_get_length(src));
	evbuffer_add(dst, refused_request, sizeof(refused_request) - 1);
	return (BEV_OK);
}

/*
 * The filter between TLS and evhttp: request heads are held until they
 * are whole and checked, bodies pass as the head announced them.
 */
static enum bufferevent_filter_result
hconn_filter_in(struct evbuffer *src, struct evbuffer *dst,
    ev_ssize_t limit, enum bufferevent_flush_mode mode, void *arg)
{
	struct hconn		*hc = arg;
	struct edge_conf	*c = &hc->e->conf;
	struct httphead_limits	 lim;
	struct httphead		 h;
	const char		*p;
	size_t			 len = evbuffer_get_length(src), n;

	switch (hc->in) {
	case HI_DISCARD:
		evbuffer_drain(src, len);
		return (BEV_NEED_MORE);
	case HI_DRAIN_HEAD:
		if (!hconn_drain_head(hc, src))
			return (BEV_NEED_MORE);
		return (hconn_stand_in(hc, src, dst));
	case HI_DRAIN_BODY:
		n = len < hc->body_left ? len : (size_t)hc->body_left;
		evbuffer_drain(src, n);
		if ((hc->body_left -= n) > 0)
			return (BEV_NEED_MORE);
		return (hconn_stand_in(hc, src, dst));
	case HI_BODY:
		n = len < hc->body_left ? len : (size_t)hc->body_left;
		if (n == 0)
			return (BEV_NEED_MORE);
		evbuffer_remove_buffer(src, dst, n);
		if ((hc->body_left -= n) == 0)
			hc->in = HI_HEAD;
		return (BEV_OK);
	case HI_HEAD:
		break;
	}
	if (len == 0)
		return (BEV_NEED_MORE);
	/* One byte over the limit is enough to know. */
	n = len > (size_t)c->max_header_bytes ? c->max_header_bytes + 1 : len;
	if ((p = (const char *)evbuffer_pullup(src, (ev_ssize_t)n)) == NULL)
		return (BEV_ERROR);
	lim.max_bytes = c->max_header_bytes;
	lim.max_lines = c->max_header_lines;
	lim.max_body = c->max_body;
	switch (httphead_scan(p, n, &lim, &h)) {
	case HEAD_NEED_MORE:
		return (BEV_NEED_MORE);
	case HEAD_OK:
		evbuffer_remove_buffer(src, dst, h.len);
		if ((hc->body_left = h.body) > 0)
			hc->in = HI_BODY;
		return (BEV_OK);
	case HEAD_BODY_TOO_LARGE:
		hconn_refuse_head(hc, REG_TOO_LARGE, "body over %u bytes",
		    c->max_body);
		evbuffer_drain(src, h.len);
		hc->in = HI_DRAIN_BODY;
		hc->body_left = h.body;
		return (hconn_filter_in(src, dst, limit, mode, arg));
	case HEAD_TOO_LARGE:
		hconn_refuse_head(hc, REG_HEADERS_TOO_LARGE, "request head "
		    "over %u bytes", c->max_header_bytes);
		break;
	case HEAD_TOO_MANY:
		hconn_refuse_head(hc, REG_TOO_MANY_HEADERS, "over %u header "
		    "lines", c->max_header_lines);
		break;
	case HEAD_BAD:
		hconn_refuse_head(hc, REG_BAD_REQUEST, "%s", h.why);
		break;
	}
	if (hc->in == HI_DRAIN_HEAD)
		return (hconn_filter_in(src, dst, limit, mode, arg));
	return (BEV_ERROR);
}

/*
 * Output passes to TLS as it is, but libevent 2.1's filter would tell
 * evhttp it was written as soon as it moved, and evhttp frees a
 * connection it is to close right then, with the answer still queued
 * above the socket.  So the filter never says so itself (BEV_NEED_MORE)
 * and hconn_wrote() tells evhttp once TLS has written everything.
 */
static enum bufferevent_filter_result
hconn_filter_out(struct evbuffer *src, struct evbuffer *dst,
    ev_ssize_t limit, enum bufferevent_flush_mode mode, void *arg)
{
	struct hconn	*hc = arg;

	if (evbuffer_get_length(src) > 0) {
		hc->writing = 1;
		evbuffer_add_buffer(dst, src);
	}
	return (BEV_NEED_MORE);
}

static void
hconn_tls_output(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct hconn	*hc = arg;

	if (hc->writing && info->n_deleted > 0 && evbuffer_get_length(b) == 0)
		event_active(hc->wrote_ev, EV_TIMEOUT, 0);
}

/* Out of libevent's write path: evhttp may free us from here. */
static void
hconn_wrote(int fd, short ev, void *arg)
{
	struct hconn	*hc = arg;

	if (!hc->writing ||
	    evbuffer_get_length(bufferevent_get_output(hc->tls)) > 0 ||
	    evbuffer_get_length(bufferevent_get_output(hc->bev)) > 0)
		return;
	hc->writing = 0;
	bufferevent_trigger(hc->bev, EV_WRITE, 0);
}

/*
 * The filter moves output on only when written to while writing is
 * enabled, and evhttp writes an answer first and enables writing
 * after: move it on once evhttp is done, in the same turn.
 */
static void
hconn_output(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct hconn	*hc = arg;

	if (info->n_added > 0)
		event_active(hc->flush_ev, EV_TIMEOUT, 0);
}

static void
hconn_flush(int fd, short ev, void *arg)
{
	struct hconn	*hc = arg;

	bufferevent_flush(hc->bev, EV_WRITE, BEV_NORMAL);
}

/* The filter goes: so does the connection. */
static void
hconn_free(void *arg)
{
	struct hconn	*hc = arg;
	struct edge	*e = hc->e;

	hconn_uncount(hc);
	SSL_set_ex_data(hc->ssl, e->hc_exidx, NULL);
	TAILQ_REMOVE(&e->hconns, hc, entry);
	event_free(hc->timer);
	event_free(hc->flush_ev);
	event_free(hc->wrote_ev);
	free(hc);
}

/*
 * evhttp's hook for a new connection.  evhttp would serve a NULL in
 * clear text, so a failure here is fatal: never serve the registry
 * without TLS.  The caps are checked in hconn_admit(), once evhttp has
 * given the bufferevent its socket, before the first read.
 */
struct bufferevent *
hconn_bev(struct event_base *base, void *arg)
{
	struct edge		*e = arg;
	struct bufferevent	*tls;
	struct hconn		*hc;

	if ((hc = calloc(1, sizeof(*hc))) == NULL ||
	    (hc->timer = evtimer_new(base, hconn_timeout, hc)) == NULL ||
	    (hc->flush_ev = event_new(base, -1, 0, hconn_flush, hc)) == NULL ||
	    (hc->wrote_ev = event_new(base, -1, 0, hconn_wrote, hc)) == NULL)
		fatal("%s", __func__);
	hc->e = e;
	hc->accepted_ms = edge_now_ms();
	strlcpy(hc->addr, "?", sizeof(hc->addr));
	if ((hc->ssl = SSL_new(e->ssl_ctx)) == NULL)
		fatalx("%s: SSL_new: %s", __func__, edge_ssl_error());
	if (SSL_set_ex_data(hc->ssl, e->hc_exidx, hc) != 1)
		fatalx("%s: SSL_set_ex_data failed", __func__);
	if ((tls = bufferevent_openssl_socket_new(base, -1, hc->ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("%s: cannot make a TLS bufferevent", __func__);
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	hc->tls = tls;
	if ((hc->bev = bufferevent_filter_new(tls, hconn_filter_in,
	    hconn_filter_out, BEV_OPT_CLOSE_ON_FREE, hconn_free, hc)) == NULL)
		fatalx("%s: cannot make a filter bufferevent", __func__);
	if (evbuffer_add_cb(bufferevent_get_output(hc->bev), hconn_output,
	    hc) == NULL || evbuffer_add_cb(bufferevent_get_output(tls),
	    hconn_tls_output, hc) == NULL)
		fatalx("%s: evbuffer_add_cb failed", __func__);
	TAILQ_INSERT_TAIL(&e->hconns, hc, entry);
	event_active(e->hc_admit_ev, EV_TIMEOUT, 0);
	return (hc->bev);
}

static void
hconn_name(struct hconn *hc, const struct sockaddr_storage *ss)
{
	char	 host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
		    host, sizeof(host));
		snprintf(hc->addr, sizeof(hc->addr), "%s:%u", host,
		    ntohs(((const struct sockaddr_in *)ss)->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->
		    sin6_addr, host, sizeof(host));
		snprintf(hc->addr, sizeof(hc->addr), "[%s]:%u", host,
		    ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
	}
}

/* One new connection: admitted, or closed before its first read. */
static void
hconn_check(struct edge *e, struct hconn *hc)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct hconn		*o;
	size_t			 same = 0;
	int			 fd;

	hc->checked = 1;
	hc->counted = 1;
	e->hc_open++;
	fd = bufferevent_getfd(hc->bev);
	if (fd == -1 || getpeername(fd, (struct sockaddr *)&ss,
	    &sslen) == -1 || (hc->keylen = ratelimit_key_sa(
	    (struct sockaddr *)&ss, hc->key)) == 0) {
		hconn_close(hc);
		return;
	}
	hconn_name(hc, &ss);
	if (e->hc_open > e->conf.max_conns) {
		hconn_count(hc, HCTR_REFUSED_CONNS, e->hc_open - 1);
		hconn_close(hc);
		return;
	}
	TAILQ_FOREACH(o, &e->hconns, entry)
		if (o != hc && o->counted && o->keylen == hc->keylen &&
		    memcmp(o->key, hc->key, hc->keylen) == 0)
			same++;
	if (same >= e->hc_per_source) {
		hconn_count(hc, HCTR_REFUSED_SOURCE, same);
		hconn_close(hc);
		return;
	}
	if (e->hc_handshakes >= e->hc_handshake_max) {
		hconn_count(hc, HCTR_REFUSED_HANDSHAKES, e->hc_handshakes);
		hconn_close(hc);
		return;
	}
	e->hc_ctr[HCTR_ACCEPTED]++;
	hc->handshaking = 1;
	e->hc_handshakes++;
	hconn_arm(hc, (uint64_t)e->conf.handshake_timeout * MS_PER_SEC);
}

/*
 * Made active by hconn_bev(): it runs in the same turn of the loop as
 * evhttp's accept, so before any read on the new sockets.
 */
static void
hconn_admit(int fd, short ev, void *arg)
{
	struct edge	*e = arg;
	struct hconn	*hc, *next;

	for (hc = TAILQ_FIRST(&e->hconns); hc != NULL; hc = next) {
		next = TAILQ_NEXT(hc, entry);
		if (!hc->checked)
			hconn_check(e, hc);
	}
}

/* The connection of a request, or NULL when it has gone. */
struct hconn *
hconn_of(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev, *tls;
	SSL				*ssl;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (tls = bufferevent_get_underlying(bev)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(tls)) == NULL)
		return (NULL);
	return (SSL_get_ex_data(ssl, edge->hc_exidx));
}

/* The answer is written: the next request is due in request_timeout. */
static void
hconn_answered(struct evhttp_request *req, void *arg)
{
	struct hconn	*hc = arg;

	hc->busy = 0;
	hconn_arm(hc, (uint64_t)hc->e->conf.request_timeout * MS_PER_SEC);
}

/* A whole request came: no deadline until it is answered. */
void
hconn_request(struct hconn *hc, struct evhttp_request *req)
{
	hc->busy = 1;
	evtimer_del(hc->timer);
	evhttp_request_set_on_complete_cb(req, hconn_answered, hc);
}

json_t *
hconn_health(struct edge *e)
{
	json_t	*j, *g;
	int	 i;

	if ((j = json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "open", (json_int_t)e->hc_open,
	    "handshakes", (json_int_t)e->hc_handshakes,
	    "max", (json_int_t)e->conf.max_conns,
	    "max_per_source", (json_int_t)e->hc_per_source,
	    "max_handshakes", (json_int_t)e->hc_handshake_max)) == NULL)
		return (NULL);
	for (i = 0; i < HCTR_MAX; i++) {
		g = j;
		if (hconn_ctr_info[i].group != NULL &&
		    (g = json_object_get(j, hconn_ctr_info[i].group)) ==
		    NULL) {
			g = json_object();
			if (json_object_set_new(j, hconn_ctr_info[i].group,
			    g) == -1)
				goto fail;
		}
		if (json_object_set_new(g, hconn_ctr_info[i].name,
		    json_integer((json_int_t)e->hc_ctr[i])) == -1)
			goto fail;
	}
	return (j);
fail:
	json_decref(j);
	return (NULL);
}

int
hconn_init(struct edge *e, char *err, size_t errlen)
{
	TAILQ_INIT(&e->hconns);
	e->hc_per_source = e->conf.max_conns_per_source;
	if (e->hc_per_source > e->conf.max_conns)
		e->hc_per_source = e->conf.max_conns;
	e->hc_handshake_max = e->conf.max_handshakes;
	if (e->hc_handshake_max > e->conf.max_conns)
		e->hc_handshake_max = e->conf.max_conns;
	if ((e->hc_exidx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
	    NULL)) == -1) {
		snprintf(err, errlen, "SSL_get_ex_new_index failed");
		return (-1);
	}
	SSL_CTX_set_info_callback(e->ssl_ctx, hconn_ssl_info);
	if ((e->hc_admit_ev = event_new(e->base, -1, 0, hconn_admit,
	    e)) == NULL) {
		snprintf(err, errlen, "event_new failed");
		return (-1);
	}
	return (0);
}

/* After evhttp_free(), which closed every connection. */
void
hconn_shutdown(struct edge *e)
{
	if (e->hc_admit_ev != NULL)
		event_free(e->hc_admit_ev);
	e->hc_admit_ev = NULL;
}
