/*
 * The relay worker, cbedged -R (doc/relay.md): TLS 1.3 connections from
 * the nodes' cbrelayd, each bound by a registry token to one public key
 * in one mesh, forwarding opaque WireGuard packets between connections
 * of the same mesh.
 *
 * The parent starts it with fork+exec and hands it the listening socket
 * over their socketpair; it reads the same configuration file and loads
 * the certificate, its key and the verification key as root, then
 * enters its own sandbox.  It reports its counters to the parent every
 * RELAY_STATS_MS, so that /v1/health shows them.
 *
 * Every limit is per connection or per relay, and nothing a client does
 * blocks another: a destination whose TLS output holds more than
 * relay_queue bytes loses the packets for it (counted), SEND frames
 * pass a token bucket of bytes, and connections and TLS handshakes in
 * progress are capped at accept.  A frame the codec refuses closes that
 * connection only.
 *
 * Callbacks are deferred (BEV_OPT_DEFER_CALLBACKS), and a connection is
 * freed only from its own ev_free event: writing to one connection from
 * another's read callback never runs, or frees, anything under it.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cbedged.h"
#include "log.h"
#include "proc.h"
#include "relayconn.h"
#include "relaylimit.h"
#include "relayproto.h"
#include "sandbox.h"

/* libbsd's tree.h names it; Linux headers keep it undefined. */
#ifndef __unused
#define __unused	__attribute__((__unused__))
#endif

#define KEY_PREFIX	8	/* characters of a key in log lines */

const struct relay_ctr_info relay_ctr_info[RCTR_MAX] = {
	[RCTR_ACCEPTED] =		{ NULL,		"accepted" },
	[RCTR_REFUSED_CONNS] =		{ "refused",	"connections" },
	[RCTR_REFUSED_HANDSHAKES] =	{ "refused",	"handshakes" },
	[RCTR_ACCEPT_ERRORS] =		{ "refused",	"accept_errors" },
	[RCTR_AUTH_OK] =		{ "auth",	"ok" },
	[RCTR_AUTH_BAD_TOKEN] =		{ "auth",	"bad_token" },
	[RCTR_AUTH_FORBIDDEN] =		{ "auth",	"forbidden" },
	[RCTR_AUTH_TIMEOUT] =		{ "auth",	"timeout" },
	[RCTR_AUTH_NOT_AUTH] =		{ "auth",	"not_auth" },
	[RCTR_AUTH_NO_MEMORY] =		{ "auth",	"no_memory" },
	[RCTR_FRAMES_IN] =		{ "frames",	"received" },
	[RCTR_FORWARDED] =		{ "frames",	"forwarded" },
	[RCTR_BYTES_FORWARDED] =	{ "frames",	"bytes_forwarded" },
	[RCTR_KEEPALIVES] =		{ "frames",	"keepalives" },
	[RCTR_PEER_PRESENT] =		{ "frames",	"peer_present" },
	[RCTR_PEER_GONE] =		{ "frames",	"peer_gone" },
	[RCTR_RESTARTING] =		{ "frames",	"restarting" },
	[RCTR_DROP_QUEUE_FULL] =	{ "drops",	"queue_full" },
	[RCTR_DROP_RATE] =		{ "drops",	"rate_limited" },
	[RCTR_DROP_NOT_HERE] =		{ "drops",	"not_here" },
	[RCTR_DROP_CONTROL] =		{ "drops",	"control" },
	[RCTR_CLOSE_CLIENT] =		{ "closed",	"client" },
	[RCTR_CLOSE_TLS] =		{ "closed",	"tls" },
	[RCTR_CLOSE_AUTH] =		{ "closed",	"auth" },
	[RCTR_CLOSE_MALFORMED] =	{ "closed",	"malformed" },
	[RCTR_CLOSE_PROTOCOL] =		{ "closed",	"protocol" },
	[RCTR_CLOSE_SILENT] =		{ "closed",	"silent" },
	[RCTR_CLOSE_EXPIRED] =		{ "closed",	"expired" },
	[RCTR_CLOSE_REPLACED] =		{ "closed",	"replaced" },
	[RCTR_CLOSE_SHUTDOWN] =		{ "closed",	"shutdown" },
	[RCTR_CLOSE_NO_MEMORY] =	{ "closed",	"no_memory" },
};

enum conn_state {
	CS_HANDSHAKE,		/* TLS handshake in progress */
	CS_AUTH,		/* TLS up, waiting for AUTH */
	CS_BOUND,		/* bound to a key in a mesh */
	CS_CLOSING		/* unbound, flushing, then freed */
};

struct rmesh;

struct rconn {
	TAILQ_ENTRY(rconn)	 entry;		/* every connection */
	RB_ENTRY(rconn)		 node;		/* its mesh's, by key */
	struct rmesh		*mesh;		/* NULL unless bound */
	struct bufferevent	*bev;
	struct event		*ev_free;	/* the one place it is freed */
	enum conn_state		 state;
	uint8_t			 key[WG_KEY_LEN];
	int64_t			 exp;		/* its token's, unix seconds */
	uint64_t		 born;		/* ms, accepted at */
	uint64_t		 rx;		/* ms, last frame from it */
	uint64_t		 tx;		/* ms, last frame to it */
	uint64_t		 drops;		/* frames for it dropped */
	struct relay_bucket	 bucket;	/* its SEND bytes */
	struct relay_recent	 gone;		/* PEER_GONE it was sent */
	char			 addr[RELAY_ADDR_MAX];
};
RB_HEAD(rconn_tree, rconn);

struct rmesh {
	RB_ENTRY(rmesh)		 node;
	struct rconn_tree	 conns;
	size_t			 n;
	char			 name[REGTOKEN_MESH_MAX + 1];
};
RB_HEAD(rmesh_tree, rmesh);

struct relay {
	struct edge_conf	 conf;
	struct event_base	*base;
	SSL_CTX			*ssl_ctx;
	struct evconnlistener	*listener;
	struct event		*ev_tick;
	struct event		*ev_stats;
	struct event		*ev_resume;	/* accepting again */
	struct event		*ev_stop;	/* the shutdown's deadline */
	struct imsgev		 iev;
	TAILQ_HEAD(, rconn)	 conns;
	struct rmesh_tree	 meshes;
	struct relay_stats	 st;		/* counters and gauges */
	size_t			 conn_max;
	size_t			 handshake_max;
	int			 stopping;
	int			 foreground;
};

static struct relay	 relay_env;

/* One frame at a time is built here: the worker has one thread. */
static uint8_t		 framebuf[RELAY_FRAME_MAX];

static void	 conn_close(struct relay *, struct rconn *, enum relay_ctr,
		    int);
static void	 conn_event(struct bufferevent *, short, void *);
static void	 relay_stop(struct relay *, const char *);

static int
rconn_cmp(const struct rconn *a, const struct rconn *b)
{
	return (memcmp(a->key, b->key, WG_KEY_LEN));
}

static int
rmesh_cmp(const struct rmesh *a, const struct rmesh *b)
{
	return (strcmp(a->name, b->name));
}

RB_GENERATE_STATIC(rconn_tree, rconn, node, rconn_cmp)
RB_GENERATE_STATIC(rmesh_tree, rmesh, node, rmesh_cmp)

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec);
}

static void
ms_to_tv(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static const char *
key_prefix(const uint8_t *key, char *buf)
{
	char	 b64[WG_KEY_B64_LEN + 1];

	wgkey_to_b64(b64, key);
	strlcpy(buf, b64, KEY_PREFIX + 1);
	return (buf);
}

static void
addr_name(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 a[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
		break;
	default:
		strlcpy(buf, "?", len);
		break;
	}
}

/*
 * Queue a frame to c.  A RECV that would take c's output past
 * relay_queue bytes is dropped, and a control frame past relay_queue
 * plus RELAY_CTL_SLACK: c is a slow reader and loses its own frames;
 * nobody waits for it.  Returns 0 when queued, -1 when dropped.
 */
static int
conn_send(struct relay *r, struct rconn *c, enum relay_frame_type type,
    const uint8_t *key, const void *data, size_t len)
{
	size_t	 n, queued, bound;

	if (c->state == CS_CLOSING)
		return (-1);
	queued = evbuffer_get_length(bufferevent_get_output(c->bev));
	bound = r->conf.relay_queue;
	if (type != RELAY_RECV)
		bound += RELAY_CTL_SLACK;
	if ((n = relay_frame_size(type, len)) == 0)
		fatalx("%s: a %s frame of %zu bytes", __func__,
		    relay_frame_name(type), len);
	if (queued + n > bound) {
		r->st.ctr[type == RELAY_RECV ? RCTR_DROP_QUEUE_FULL :
		    RCTR_DROP_CONTROL]++;
		if (c->drops++ == 0)
			log_debug("%s: a slow reader, dropping frames "
			    "for it", c->addr);
		return (-1);
	}
	if (relay_frame_encode(framebuf, sizeof(framebuf), type, key, data,
	    len) != n)
		fatalx("%s: cannot encode a %s frame", __func__,
		    relay_frame_name(type));
	if (bufferevent_write(c->bev, framebuf, n) == -1) {
		r->st.ctr[RCTR_DROP_CONTROL]++;
		return (-1);
	}
	c->tx = edge_now_ms();
	return (0);
}

/* ERROR with a reason, then close once it is flushed. */
static void
conn_error(struct relay *r, struct rconn *c, enum relay_ctr why,
    const char *fmt, ...)
{
	char	 msg[RELAY_ERROR_MAX + 1];
	va_list	 ap;
	size_t	 i;

	if (c->state == CS_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Printable ASCII only: it may echo a token's claims. */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] < 0x20 || msg[i] > 0x7e)
			msg[i] = '?';
	log_debug("%s: closing: %s", c->addr, msg);
	if (c->state != CS_HANDSHAKE)
		conn_send(r, c, RELAY_ERROR, NULL, msg, strlen(msg));
	conn_close(r, c, why, 1);
}

static struct rmesh *
mesh_get(struct relay *r, const char *name)
{
	struct rmesh	 find, *m;

	strlcpy(find.name, name, sizeof(find.name));
	if ((m = RB_FIND(rmesh_tree, &r->meshes, &find)) != NULL)
		return (m);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	strlcpy(m->name, name, sizeof(m->name));
	RB_INIT(&m->conns);
	RB_INSERT(rmesh_tree, &r->meshes, m);
	r->st.meshes++;
	return (m);
}

static void
mesh_put(struct relay *r, struct rmesh *m)
{
	if (m->n > 0)
		return;
	RB_REMOVE(rmesh_tree, &r->meshes, m);
	r->st.meshes--;
	free(m);
}

/*
 * Take c out of its mesh; the others hear PEER_GONE (disconnected)
 * unless the relay is stopping, when everyone goes at once.
 */
static void
conn_unbind(struct relay *r, struct rconn *c)
{
	struct rmesh	*m = c->mesh;
	struct rconn	*o;
	uint8_t		 reason = RELAY_GONE_DISCONNECTED;

	if (m == NULL)
		return;
	RB_REMOVE(rconn_tree, &m->conns, c);
	m->n--;
	r->st.bound--;
	c->mesh = NULL;
	if (!r->stopping) {
		RB_FOREACH(o, rconn_tree, &m->conns)
			if (conn_send(r, o, RELAY_PEER_GONE, c->key, &reason,
			    sizeof(reason)) == 0)
				r->st.ctr[RCTR_PEER_GONE]++;
	}
	mesh_put(r, m);
}

/*
 * Bind c to the token's key in its mesh.  An older connection for the
 * same key in the same mesh is replaced: it gets ERROR and closes, and
 * the mesh hears no PEER_GONE for the key, only PEER_PRESENT again.
 */
static void
conn_bind(struct relay *r, struct rconn *c, const struct regtoken *tok)
{
	struct rmesh	*m;
	struct rconn	*old, *o;
	char		 kp[KEY_PREFIX + 1];

	if ((m = mesh_get(r, tok->mesh)) == NULL) {
		r->st.ctr[RCTR_AUTH_NO_MEMORY]++;
		conn_error(r, c, RCTR_CLOSE_NO_MEMORY, "out of memory");
		return;
	}
	memcpy(c->key, tok->public_key, WG_KEY_LEN);
	c->exp = tok->exp;
	if ((old = RB_FIND(rconn_tree, &m->conns, c)) != NULL) {
		RB_REMOVE(rconn_tree, &m->conns, old);
		m->n--;
		r->st.bound--;
		old->mesh = NULL;
		log_info("%s in mesh %s: %s replaces %s",
		    key_prefix(c->key, kp), m->name, c->addr, old->addr);
		conn_error(r, old, RCTR_CLOSE_REPLACED, "replaced by a newer "
		    "connection for this key");
	}
	RB_INSERT(rconn_tree, &m->conns, c);
	m->n++;
	c->mesh = m;
	c->state = CS_BOUND;
	r->st.bound++;
	r->st.ctr[RCTR_AUTH_OK]++;
	log_debug("%s bound to %s in mesh %s", c->addr,
	    key_prefix(c->key, kp), m->name);

	conn_send(r, c, RELAY_AUTH_OK, c->key, NULL, 0);
	RB_FOREACH(o, rconn_tree, &m->conns) {
		if (o == c)
			continue;
		if (conn_send(r, c, RELAY_PEER_PRESENT, o->key, NULL, 0) == 0)
			r->st.ctr[RCTR_PEER_PRESENT]++;
		if (conn_send(r, o, RELAY_PEER_PRESENT, c->key, NULL, 0) == 0)
			r->st.ctr[RCTR_PEER_PRESENT]++;
	}
}

static void
conn_auth(struct relay *r, struct rconn *c, const struct relay_frame *f)
{
	struct regtoken	 tok;
	char		 err[CFG_ERR_MAX];

	switch (edge_token_check(&r->conf, (const char *)f->data, f->len,
	    &tok, err, sizeof(err))) {
	case REG_OK:
		conn_bind(r, c, &tok);
		break;
	case REG_FORBIDDEN:
		r->st.ctr[RCTR_AUTH_FORBIDDEN]++;
		conn_error(r, c, RCTR_CLOSE_AUTH, "%s", err);
		break;
	default:
		r->st.ctr[RCTR_AUTH_BAD_TOKEN]++;
		conn_error(r, c, RCTR_CLOSE_AUTH, "%s", err);
		break;
	}
	explicit_bzero(&tok, sizeof(tok));
}

/*
 * SEND: through the sender's bucket, then to the destination's
 * connection in the sender's mesh as RECV with the sender's bound key:
 * the source is never the client's to choose.
 */
static void
conn_forward(struct relay *r, struct rconn *c, const struct relay_frame *f)
{
	struct rconn	 find, *dst;
	uint8_t		 reason = RELAY_GONE_NOT_HERE;

	if (!relay_bucket_take(&c->bucket, relay_frame_size(RELAY_SEND,
	    f->len), now_ns())) {
		r->st.ctr[RCTR_DROP_RATE]++;
		return;
	}
	memcpy(find.key, f->key, WG_KEY_LEN);
	if ((dst = RB_FIND(rconn_tree, &c->mesh->conns, &find)) == NULL) {
		r->st.ctr[RCTR_DROP_NOT_HERE]++;
		if (relay_recent_allow(&c->gone, f->key, edge_now_ms(),
		    RELAY_GONE_INTERVAL_MS) && conn_send(r, c,
		    RELAY_PEER_GONE, f->key, &reason, sizeof(reason)) == 0)
			r->st.ctr[RCTR_PEER_GONE]++;
		return;
	}
	if (conn_send(r, dst, RELAY_RECV, c->key, f->data, f->len) == -1)
		return;
	r->st.ctr[RCTR_FORWARDED]++;
	r->st.ctr[RCTR_BYTES_FORWARDED] += f->len;
}

static void
conn_frame(struct relay *r, struct rconn *c, const struct relay_frame *f)
{
	r->st.ctr[RCTR_FRAMES_IN]++;
	c->rx = edge_now_ms();
	switch (c->state) {
	case CS_AUTH:
		if (f->type != RELAY_AUTH) {
			r->st.ctr[RCTR_AUTH_NOT_AUTH]++;
			conn_error(r, c, RCTR_CLOSE_AUTH, "expected AUTH, not "
			    "%s", relay_frame_name(f->type));
			return;
		}
		conn_auth(r, c, f);
		return;
	case CS_BOUND:
		switch (f->type) {
		case RELAY_SEND:
			conn_forward(r, c, f);
			return;
		case RELAY_KEEPALIVE:
			return;
		default:
			/* AUTH again included: a connection binds once. */
			conn_error(r, c, RCTR_CLOSE_PROTOCOL, "unexpected %s "
			    "frame", relay_frame_name(f->type));
			return;
		}
	default:
		return;
	}
}

/* The TLS handshake is done: the AUTH clock keeps running. */
static void
conn_tls_up(struct relay *r, struct rconn *c)
{
	if (c->state != CS_HANDSHAKE)
		return;
	c->state = CS_AUTH;
	r->st.handshakes--;
}

/* relay_read()'s callback: 0 while c still reads, -1 once it closes. */
static int
conn_read_frame(void *arg, const struct relay_frame *f)
{
	struct rconn	*c = arg;

	conn_frame(&relay_env, c, f);
	return (c->state == CS_AUTH || c->state == CS_BOUND ? 0 : -1);
}

/*
 * Every complete frame buffered, each checked from its header first:
 * a header the codec refuses closes the connection before its payload
 * is waited for.  The read high-water mark keeps at most
 * RELAY_INBUF_MAX bytes buffered.
 */
static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct rconn	*c = arg;
	struct relay	*r = &relay_env;

	conn_tls_up(r, c);
	if (c->state != CS_AUTH && c->state != CS_BOUND)
		return;
	switch (relay_read(bufferevent_get_input(bev), conn_read_frame, c)) {
	case RELAY_READ_WAIT:
	case RELAY_READ_STOPPED:
		break;
	case RELAY_READ_BAD_HEADER:
		conn_error(r, c, RCTR_CLOSE_MALFORMED, "malformed frame "
		    "header");
		break;
	case RELAY_READ_BAD_FRAME:
		conn_error(r, c, RCTR_CLOSE_MALFORMED, "malformed frame");
		break;
	case RELAY_READ_NO_MEMORY:
		conn_close(r, c, RCTR_CLOSE_NO_MEMORY, 0);
		break;
	}
}

/* A closing connection's output is flushed: free it. */
static void
conn_flushed(struct bufferevent *bev, void *arg)
{
	struct rconn	*c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		event_active(c->ev_free, EV_TIMEOUT, 1);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct rconn	*c = arg;
	struct relay	*r = &relay_env;
	unsigned long	 e;

	if (what & BEV_EVENT_CONNECTED) {
		conn_tls_up(r, c);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (c->state == CS_CLOSING) {
		event_active(c->ev_free, EV_TIMEOUT, 1);
		return;
	}
	if (c->state == CS_HANDSHAKE) {
		e = bufferevent_get_openssl_error(bev);
		log_debug("%s: TLS handshake failed: %s", c->addr,
		    e != 0 ? ERR_reason_error_string(e) : "closed");
		conn_close(r, c, RCTR_CLOSE_TLS, 0);
		return;
	}
	if (what & BEV_EVENT_EOF)
		log_debug("%s: closed by the client", c->addr);
	else
		log_debug("%s: connection error: %s", c->addr,
		    (e = bufferevent_get_openssl_error(bev)) != 0 ?
		    ERR_reason_error_string(e) :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	conn_close(r, c, RCTR_CLOSE_CLIENT, 0);
}

/*
 * Close c for reason why: unbind it now (no more frames reach it), stop
 * reading, and free it once its output is flushed (flush), after
 * RELAY_CLOSE_FLUSH_MS at most, or at once.
 */
static void
conn_close(struct relay *r, struct rconn *c, enum relay_ctr why, int flush)
{
	struct timeval	 tv;
	int		 tls = c->state != CS_HANDSHAKE;

	if (c->state == CS_CLOSING)
		return;
	r->st.ctr[why]++;
	if (!tls)
		r->st.handshakes--;
	conn_unbind(r, c);
	c->state = CS_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	if (flush && tls &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		bufferevent_setcb(c->bev, NULL, conn_flushed, conn_event, c);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		ms_to_tv(RELAY_CLOSE_FLUSH_MS, &tv);
		evtimer_add(c->ev_free, &tv);
	} else
		event_active(c->ev_free, EV_TIMEOUT, 1);
}

static void
conn_free(int fd, short ev, void *arg)
{
	struct rconn	*c = arg;
	struct relay	*r = &relay_env;

	TAILQ_REMOVE(&r->conns, c, entry);
	r->st.conns--;
	bufferevent_free(c->bev);
	event_free(c->ev_free);
	explicit_bzero(c, sizeof(*c));
	free(c);
	if (r->stopping && TAILQ_EMPTY(&r->conns)) {
		log_info("every connection closed, exiting");
		exit(0);
	}
}

static void
relay_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay	*r = arg;
	struct rconn	*c = NULL;
	SSL		*ssl = NULL;
	uint64_t	 now = edge_now_ms();
	int		 one = 1;

	if (r->st.conns >= r->conn_max) {
		r->st.ctr[RCTR_REFUSED_CONNS]++;
		close(fd);
		return;
	}
	if (r->st.handshakes >= r->handshake_max) {
		r->st.ctr[RCTR_REFUSED_HANDSHAKES]++;
		close(fd);
		return;
	}
	/* Small WireGuard packets are not to wait for more. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (ssl = SSL_new(r->ssl_ctx)) == NULL ||
	    (c->ev_free = evtimer_new(r->base, conn_free, c)) == NULL) {
		log_warnx("cannot take a connection: %s",
		    ssl == NULL ? edge_ssl_error() : "out of memory");
		goto fail;
	}
	if ((c->bev = bufferevent_openssl_socket_new(r->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		log_warnx("cannot make a TLS bufferevent");
		goto fail;
	}
	ssl = NULL;
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	addr_name(sa, c->addr, sizeof(c->addr));
	c->state = CS_HANDSHAKE;
	c->born = c->rx = c->tx = now;
	relay_bucket_init(&c->bucket, r->conf.relay_send_rate,
	    r->conf.relay_send_burst, now_ns());
	relay_recent_init(&c->gone);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, RELAY_INBUF_MAX);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&r->conns, c, entry);
	r->st.conns++;
	r->st.handshakes++;
	r->st.ctr[RCTR_ACCEPTED]++;
	return;
fail:
	r->st.ctr[RCTR_ACCEPT_ERRORS]++;
	if (ssl != NULL)
		SSL_free(ssl);
	if (c != NULL && c->ev_free != NULL)
		event_free(c->ev_free);
	free(c);
	close(fd);
}

static void
relay_resume(int fd, short ev, void *arg)
{
	struct relay	*r = arg;

	if (!r->stopping)
		evconnlistener_enable(r->listener);
}

/* accept(2) failed: out of descriptors, pause rather than spin. */
static void
relay_accept_error(struct evconnlistener *l, void *arg)
{
	struct relay	*r = arg;
	struct timeval	 tv;
	int		 e = EVUTIL_SOCKET_ERROR();

	r->st.ctr[RCTR_ACCEPT_ERRORS]++;
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		log_warnx("accept: %s; pausing for %d ms",
		    strerror(e), RELAY_ACCEPT_PAUSE_MS);
		evconnlistener_disable(l);
		ms_to_tv(RELAY_ACCEPT_PAUSE_MS, &tv);
		evtimer_add(r->ev_resume, &tv);
	} else
		log_debug("accept: %s", strerror(e));
}

/* Deadlines (AUTH, silence, token expiry) and keepalives. */
static void
relay_tick(int fd, short ev, void *arg)
{
	struct relay	*r = arg;
	struct rconn	*c, *nc;
	uint64_t	 now = edge_now_ms();
	uint64_t	 ka = (uint64_t)r->conf.relay_keepalive * 1000;
	time_t		 t = time(NULL);

	TAILQ_FOREACH_SAFE(c, &r->conns, entry, nc) {
		switch (c->state) {
		case CS_HANDSHAKE:
		case CS_AUTH:
			if (now - c->born < RELAY_AUTH_SECS * 1000)
				break;
			r->st.ctr[RCTR_AUTH_TIMEOUT]++;
			conn_error(r, c, RCTR_CLOSE_AUTH, "no AUTH within %d "
			    "seconds", RELAY_AUTH_SECS);
			break;
		case CS_BOUND:
			if (c->exp != 0 && (int64_t)t >= c->exp)
				conn_error(r, c, RCTR_CLOSE_EXPIRED, "token "
				    "expired");
			else if (now - c->rx >= ka * RELAY_SILENT_INTERVALS)
				conn_error(r, c, RCTR_CLOSE_SILENT, "silent "
				    "for %llu seconds", (unsigned long long)
				    (now - c->rx) / 1000);
			else if (now - c->tx >= ka && conn_send(r, c,
			    RELAY_KEEPALIVE, NULL, NULL, 0) == 0)
				r->st.ctr[RCTR_KEEPALIVES]++;
			break;
		case CS_CLOSING:
			break;
		}
	}
}

static void
relay_report(struct relay *r)
{
	if (r->iev.ibuf.fd == -1)
		return;
	imsg_compose_event(&r->iev, IMSG_EDGE_RELAY_STATS, 0, 0, -1, &r->st,
	    sizeof(r->st));
}

static void
relay_stats_timer(int fd, short ev, void *arg)
{
	relay_report(arg);
}

static void
relay_stop_timer(int fd, short ev, void *arg)
{
	struct relay	*r = arg;

	log_info("%u connection%s not flushed in %d ms, exiting",
	    r->st.conns, r->st.conns == 1 ? "" : "s", RELAY_STOP_FLUSH_MS);
	exit(0);
}

/*
 * A planned stop: no new connections, RESTARTING to every bound one
 * (reconnect after RELAY_RESTART_IN_MS instead of backing off), then
 * close them all once flushed, RELAY_STOP_FLUSH_MS at most.
 */
static void
relay_stop(struct relay *r, const char *why)
{
	struct rconn	*c, *nc;
	struct timeval	 tv;
	uint8_t		 rs[RELAY_RESTARTING_LEN];

	if (r->stopping)
		return;
	r->stopping = 1;
	log_info("%s: telling %u client%s to reconnect", why,
	    r->st.bound, r->st.bound == 1 ? "" : "s");
	if (r->listener != NULL)
		evconnlistener_disable(r->listener);
	rs[0] = RELAY_RESTART_IN_MS >> 24;
	rs[1] = RELAY_RESTART_IN_MS >> 16;
	rs[2] = RELAY_RESTART_IN_MS >> 8;
	rs[3] = RELAY_RESTART_IN_MS & 0xff;
	rs[4] = RELAY_RESTART_TRY_MS >> 24;
	rs[5] = RELAY_RESTART_TRY_MS >> 16;
	rs[6] = RELAY_RESTART_TRY_MS >> 8;
	rs[7] = RELAY_RESTART_TRY_MS & 0xff;
	TAILQ_FOREACH_SAFE(c, &r->conns, entry, nc) {
		if (c->state == CS_BOUND && conn_send(r, c, RELAY_RESTARTING,
		    NULL, rs, sizeof(rs)) == 0)
			r->st.ctr[RCTR_RESTARTING]++;
		conn_close(r, c, RCTR_CLOSE_SHUTDOWN, 1);
	}
	if (TAILQ_EMPTY(&r->conns)) {
		log_info("exiting");
		exit(0);
	}
	ms_to_tv(RELAY_STOP_FLUSH_MS, &tv);
	evtimer_add(r->ev_stop, &tv);
}

static void
relay_sig(int sig, short ev, void *arg)
{
	struct relay	*r = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		/* So that the parent stops too, cleanly. */
		if (r->iev.ibuf.fd != -1) {
			imsg_compose(&r->iev.ibuf, IMSG_EDGE_RELAY_STOPPING, 0,
			    0, -1, NULL, 0);
			(void)imsg_flush(&r->iev.ibuf);
		}
		relay_stop(r, "received a signal");
		break;
	case SIGHUP:
		log_info("SIGHUP ignored");
		break;
	}
}

/* The parent: nothing is expected after the listening socket. */
static void
relay_dispatch_parent(int fd, short ev, void *arg)
{
	struct relay	*r = ((struct imsgev *)arg)->data;
	struct imsgbuf	*ibuf = &r->iev.ibuf;
	struct imsg	 imsg;
	ssize_t		 n;

	if (ev & EV_READ) {
		if ((n = imsg_read(ibuf)) == -1 && errno != EAGAIN)
			fatal("%s: imsg_read", __func__);
		if (n == 0) {
			imsgev_clear(&r->iev);
			relay_stop(r, "the parent went away");
			return;
		}
	}
	if (ev & EV_WRITE) {
		if (msgbuf_write(&ibuf->w) <= 0 && errno != EAGAIN) {
			imsgev_clear(&r->iev);
			relay_stop(r, "the parent went away");
			return;
		}
	}
	for (;;) {
		if ((n = imsg_get(ibuf, &imsg)) == -1)
			fatal("%s: imsg_get", __func__);
		if (n == 0)
			break;
		fatalx("%s: unexpected imsg %u", __func__, imsg.hdr.type);
	}
	imsg_event_add(&r->iev);
}

/* Before the sandbox: wait for the listening socket from the parent. */
static int
relay_get_listener(struct relay *r)
{
	struct imsgbuf	*ibuf = &r->iev.ibuf;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 fd;

	for (;;) {
		if ((n = imsg_get(ibuf, &imsg)) == -1)
			fatal("%s: imsg_get", __func__);
		if (n > 0)
			break;
		if ((n = imsg_read(ibuf)) == -1 && errno != EAGAIN)
			fatal("%s: imsg_read", __func__);
		if (n == 0)
			fatalx("the parent went away before the relay started");
	}
	if (imsg.hdr.type != IMSG_EDGE_RELAY_LISTEN || imsg.fd == -1 ||
	    imsg.hdr.len != IMSG_HEADER_SIZE)
		fatalx("%s: expected the listening socket, got imsg %u",
		    __func__, imsg.hdr.type);
	fd = imsg.fd;
	imsg_free(&imsg);
	return (fd);
}

/* Connections are bounded by the descriptors we may open. */
static void
relay_limits(struct relay *r)
{
	struct rlimit	 rl;
	size_t		 fit;

	r->conn_max = r->conf.relay_max_conns;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
			(void)getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY) {
			fit = rl.rlim_cur > RELAY_FDS_SPARE ?
			    rl.rlim_cur - RELAY_FDS_SPARE : 1;
			if (fit < r->conn_max) {
				log_warnx("relay_max_connections %zu "
				    "lowered to %zu: descriptor limit %llu",
				    r->conn_max, fit,
				    (unsigned long long)rl.rlim_cur);
				r->conn_max = fit;
			}
		}
	}
	r->handshake_max = r->conf.relay_max_handshakes;
	if (r->handshake_max > r->conn_max)
		r->handshake_max = r->conn_max;
}

static __dead void
relay_usage(void)
{
	fprintf(stderr, "usage: cbedged -R [-dv] -f file\n"
	    "cbedged -R is started by cbedged, not by hand.\n");
	exit(1);
}

void
relay_main(int argc, char *argv[])
{
	struct relay		*r = &relay_env;
	struct event		*ev_term, *ev_int, *ev_hup;
	struct relay_ready	 ready;
	struct timeval		 tv;
	char			 err[CFG_ERR_MAX];
	const char		*conffile = NULL;
	int			 ch, verbose = 0, fd, flags;

	/* It holds the TLS key and maybe an HS256 secret. */
	if (sandbox_nocore() == -1)
		errx(1, "no core dumps: %s", strerror(errno));
	while ((ch = getopt(argc, argv, "df:v")) != -1) {
		switch (ch) {
		case 'd':
			r->foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			relay_usage();
		}
	}
	if (optind != argc || conffile == NULL ||
	    fcntl(PROC_PARENT_FD, F_GETFD) == -1)
		relay_usage();

	log_init(r->foreground, LOG_DAEMON);
	log_procinit("relay");
	if (edge_conf_load(conffile, &r->conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_setjson(r->conf.log_format == LOGFMT_JSON);
	log_setverbose(verbose > r->conf.log_verbose ? verbose :
	    r->conf.log_verbose);
	if ((r->ssl_ctx = httpd_tls_init(&r->conf, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	/*
	 * A client that closes without close_notify has closed: frames
	 * carry their own lengths, so a cut stream is a short frame.
	 */
	SSL_CTX_set_options(r->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	relay_limits(r);

	r->base = event_init();
	TAILQ_INIT(&r->conns);
	RB_INIT(&r->meshes);
	imsgev_init(&r->iev, PROC_PARENT_FD, r, relay_dispatch_parent);
	fd = relay_get_listener(r);
	if ((flags = fcntl(PROC_PARENT_FD, F_GETFL)) == -1 ||
	    fcntl(PROC_PARENT_FD, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("fcntl");
	if ((r->listener = evconnlistener_new(r->base, relay_accept, r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL)
		fatalx("relay: cannot listen on %s", r->conf.relay_listen);
	evconnlistener_set_error_cb(r->listener, relay_accept_error);
	if ((r->ev_tick = event_new(r->base, -1, EV_PERSIST, relay_tick,
	    r)) == NULL ||
	    (r->ev_stats = event_new(r->base, -1, EV_PERSIST,
	    relay_stats_timer, r)) == NULL ||
	    (r->ev_resume = evtimer_new(r->base, relay_resume, r)) == NULL ||
	    (r->ev_stop = evtimer_new(r->base, relay_stop_timer, r)) == NULL ||
	    (ev_term = evsignal_new(r->base, SIGTERM, relay_sig, r)) == NULL ||
	    (ev_int = evsignal_new(r->base, SIGINT, relay_sig, r)) == NULL ||
	    (ev_hup = evsignal_new(r->base, SIGHUP, relay_sig, r)) == NULL)
		fatalx("relay: cannot make events");
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	setproctitle("relay");

	/* libjwt parses claims with jansson: seed it while it can read. */
	json_object_seed(0);
	sandbox_enter(r->conf.chroot_dir, r->conf.user, &sandbox_policy_edge_relay);

	ms_to_tv(RELAY_TICK_MS, &tv);
	event_add(r->ev_tick, &tv);
	ms_to_tv(RELAY_STATS_MS, &tv);
	event_add(r->ev_stats, &tv);
	memset(&ready, 0, sizeof(ready));
	ready.conn_max = (uint32_t)r->conn_max;
	ready.handshake_max = (uint32_t)r->handshake_max;
	imsg_compose_event(&r->iev, IMSG_EDGE_RELAY_READY, 0, 0, -1, &ready,
	    sizeof(ready));
	relay_report(r);
	log_debug("on %s, up to %zu connections and %zu handshakes",
	    r->conf.relay_listen, r->conn_max, r->handshake_max);

	event_dispatch();
	fatalx("relay: event loop ended");
}
