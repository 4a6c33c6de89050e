/*
 * The registry client: HTTPS (TLS 1.3 only, the edge's certificate
 * checked against the configured CA and name) with libevent's HTTP
 * client, JSON with jansson.  One connection per request: nothing to
 * resume after an error, and a long poll never blocks a heartbeat.
 * Every reply is checked before it is believed.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbdiscod.h"
#include "log.h"
#include "registry.h"
#include "tlsclient.h"

#define HTTP_OK			200
#define HTTP_NOT_FOUND		404
#define DISCO_KEY_LOG_LEN	8	/* base64 characters of a key logged */

enum reg_kind {
	REQ_REGISTER,
	REQ_HEARTBEAT,
	REQ_POLL
};

/*
 * A request in flight.  evhttp's timeout is one of inactivity, which a
 * registry sending a byte at a time never trips: the deadline is the
 * request's whole time, from sending to the last byte of the reply.
 */
struct reg_req {
	struct disco		*d;
	enum reg_kind		 kind;
	struct timespec		 sent;	/* monotonic: the round trip's start */
	struct evhttp_request	*req;
	struct event		*deadline;
	int			 late;		/* the deadline passed */
	enum evhttp_request_error error;	/* from evhttp, if any */
	int			 failed;
};

/* How a request ended, for reg_done_kind(). */
struct reg_end {
	struct timespec		 sent;
	int			 late;
	int			 failed;
	enum evhttp_request_error error;
};

#define USEC_PER_SEC		1000000
#define NSEC_PER_USEC		1000

static int64_t
usec_since(const struct timespec *t)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((int64_t)(now.tv_sec - t->tv_sec) * USEC_PER_SEC +
	    (now.tv_nsec - t->tv_nsec) / NSEC_PER_USEC);
}

/* The registry's CA, from PEM bytes the parent read for us. */
int
reg_ctx_load_ca(struct disco *d)
{
	if (d->ctx != NULL)
		SSL_CTX_free(d->ctx);
	d->ctx = tls_client_ctx(d->ca, d->calen);
	return (d->ctx != NULL ? 0 : -1);
}

static void
endpoint_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char		 host[INET6_ADDRSTRLEN];
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

static json_t *
endpoints_json(struct disco *d)
{
	json_t		*a = json_array();
	char		 buf[HOSTPORT_MAX];
	unsigned int	 i;

	/* The reflexive address first: the one most likely to work. */
	d->reflexive_told = d->has_reflexive;
	if (d->has_reflexive) {
		endpoint_str(&d->reflexive, buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	for (i = 0; i < d->conf.nendpoints &&
	    json_array_size(a) < DISCO_ENDPOINTS_MAX; i++) {
		endpoint_str(&d->conf.endpoints[i], buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return (a);
}

/*
 * Our NAT's mapping, when known or when the registry must unlearn it.
 * An edge without ALT-PORT is an edge that predates "nat" and refuses
 * it; against one the mapping stays unknown and is never sent.
 */
static void
nat_json(struct disco *d, json_t *b, int tell)
{
	if (!tell || b == NULL)
		return;
	json_object_set_new(b, "nat", json_string(nat_mapping_name(d->nat)));
	d->nat_told = d->nat;
}

static void	reg_done(struct evhttp_request *, void *);

/* evhttp says why a request failed before it calls reg_done(NULL). */
static void
reg_error(enum evhttp_request_error err, void *arg)
{
	struct reg_req	*rr = arg;

	rr->error = err;
	rr->failed = 1;
}

/* Cancelled, evhttp calls neither reg_error nor reg_done's callback. */
static void
reg_late(int fd, short ev, void *arg)
{
	struct reg_req	*rr = arg;

	rr->late = 1;
	evhttp_cancel_request(rr->req);
	reg_done(NULL, rr);
}

static int
reg_send(struct disco *d, enum reg_kind kind, enum evhttp_cmd_type cmd,
    const char *path, json_t *body, int timeout)
{
	struct bufferevent		*bev;
	struct evhttp_connection	*evcon;
	struct evhttp_request		*req;
	struct evkeyvalq		*h;
	struct reg_req			*rr;
	char				 host[INET6_ADDRSTRLEN];
	char				 auth[DISCO_TOKEN_MAX + 16];
	char				*js = NULL;
	struct timeval			 tv;
	SSL				*ssl;
	uint16_t			 port;
	struct sockaddr_in		*sin = (void *)&d->conf.registry;
	struct sockaddr_in6		*sin6 = (void *)&d->conf.registry;

	if (d->conf.registry.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	/* The certificate must name the registry as configured. */
	if ((ssl = tls_client_ssl(d->ctx, d->conf.registry_host)) == NULL)
		goto fail;
	if ((bev = bufferevent_openssl_socket_new(d->c->base,
	    -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)) == NULL)
		goto fail_ssl;
	if ((evcon = evhttp_connection_base_bufferevent_new(
	    d->c->base, NULL, bev, host, port)) == NULL) {
		bufferevent_free(bev);
		goto fail;
	}
	evhttp_connection_set_timeout(evcon, timeout);
	evhttp_connection_set_retries(evcon, 0);
	evhttp_connection_set_max_body_size(evcon, REG_REPLY_MAX);
	evhttp_connection_set_max_headers_size(evcon, REG_REPLY_HEADERS_MAX);
	if ((rr = calloc(1, sizeof(*rr))) == NULL) {
		evhttp_connection_free(evcon);
		goto fail;
	}
	rr->d = d;
	rr->kind = kind;
	clock_gettime(CLOCK_MONOTONIC, &rr->sent);
	if ((rr->deadline = evtimer_new(d->c->base, reg_late, rr)) == NULL ||
	    (req = evhttp_request_new(reg_done, rr)) == NULL) {
		if (rr->deadline != NULL)
			event_free(rr->deadline);
		free(rr);
		evhttp_connection_free(evcon);
		goto fail;
	}
	rr->req = req;
	evhttp_request_set_error_cb(req, reg_error);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", d->conf.registry_host);
	snprintf(auth, sizeof(auth), "Bearer %s", d->token);
	evhttp_add_header(h, "Authorization", auth);
	evhttp_add_header(h, "Connection", "close");
	if (body != NULL) {
		if ((js = json_dumps(body, JSON_COMPACT)) == NULL) {
			evhttp_request_free(req);
			free(rr);
			evhttp_connection_free(evcon);
			goto fail;
		}
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), js,
		    strlen(js));
		free(js);
	}
	if (evhttp_make_request(evcon, req, cmd, path) == -1) {
		event_free(rr->deadline);
		free(rr);
		evhttp_connection_free(evcon);
		goto fail;
	}
	evhttp_connection_free_on_completion(evcon);
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	evtimer_add(rr->deadline, &tv);
	json_decref(body);
	return (0);
fail_ssl:
	SSL_free(ssl);
fail:
	json_decref(body);
	return (-1);
}

/* "" when buf is a JSON object, else why not; *out owned by the caller. */
static const char *
reply_json(const char *buf, size_t len, json_t **out)
{
	json_t	*j;

	*out = NULL;
	if (buf == NULL || len == 0 || len > REG_REPLY_MAX)
		return ("empty or oversized reply");
	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		return ("reply is not a JSON object");
	}
	*out = j;
	return ("");
}

static int
get_uint(json_t *o, const char *k, uint64_t max, uint64_t *v)
{
	json_t	*j = json_object_get(o, k);

	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max)
		return (-1);
	*v = json_integer_value(j);
	return (0);
}

/*
 * A register or heartbeat answered: its round trip (TCP, TLS 1.3 and
 * the request, as one connection a request costs) is the registry's
 * latency that netcheck shows.
 */
static void
reg_measured(struct disco *d, enum reg_kind kind, const struct timespec *sent)
{
	if (kind == REQ_POLL)
		return;
	d->rtt_us = usec_since(sent);
	d->rtt_at = time(NULL);
}

static void	reg_done_kind(struct evhttp_request *, struct disco *,
		    enum reg_kind, const struct reg_end *);

const char *
reg_parse_ack(const char *buf, size_t len, uint64_t *version,
    unsigned int *ttl)
{
	json_t		*j;
	const char	*why;
	uint64_t	 v, t;

	if (*(why = reply_json(buf, len, &j)) != '\0')
		return (why);
	if (get_uint(j, "version", REG_VERSION_MAX, &v) == -1) {
		json_decref(j);
		return ("reply without version");
	}
	if (get_uint(j, "ttl", REG_TTL_MAX, &t) == -1 || t < REG_TTL_MIN)
		t = REG_TTL_DEFAULT;
	json_decref(j);
	*version = v;
	*ttl = (unsigned int)t;
	return ("");
}

static void
reg_done(struct evhttp_request *req, void *arg)
{
	struct reg_req	*rr = arg;
	struct disco	*d = rr->d;
	enum reg_kind	 kind = rr->kind;
	struct reg_end	 end;

	end.sent = rr->sent;
	end.late = rr->late;
	end.failed = rr->failed;
	end.error = rr->error;
	event_free(rr->deadline);
	free(rr);
	reg_done_kind(req, d, kind, &end);
	if (kind != REQ_POLL) {
		disco_report(d, 0, 0);
		disco_check_done(d);
	}
}

static void
reg_done_kind(struct evhttp_request *req, struct disco *d, enum reg_kind kind,
    const struct reg_end *end)
{
	struct reg_peer	*list;
	struct evbuffer	*in;
	json_t		*j = NULL;
	const char	*why, *body;
	char		 err[OPS_TEXT_MAX];
	uint64_t	 version;
	unsigned int	 ttl;
	size_t		 n;
	int		 code, ekind;

	/* Stopped while it was in flight: the answer changes nothing. */
	if (d->state == REG_OFF) {
		if (kind == REQ_POLL)
			d->polling = 0;
		return;
	}
	code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	/*
	 * evhttp 2.1 reports headers over the cap as it reports malformed
	 * ones, and a body over the cap as too long.
	 */
	if (end->failed && (end->error == EVREQ_HTTP_INVALID_HEADER ||
	    end->error == EVREQ_HTTP_DATA_TOO_LONG)) {
		d->replies_refused++;
		ekind = REGC_ERR_REPLY;
		if (end->error == EVREQ_HTTP_DATA_TOO_LONG)
			snprintf(err, sizeof(err), "reply body over %d bytes",
			    REG_REPLY_MAX);
		else
			snprintf(err, sizeof(err), "reply headers malformed or "
			    "over %d bytes", REG_REPLY_HEADERS_MAX);
		log_warnx("registry: %s: refused", err);
		goto fail;
	}
	if (end->late) {
		d->replies_late++;
		ekind = REGC_ERR_CONNECT;
		snprintf(err, sizeof(err), "no whole reply in time");
		log_warnx("registry: %s: gave up", err);
		goto fail;
	}
	if (code == 0) {
		/* No HTTP answer: connection, TLS or timeout. */
		snprintf(err, sizeof(err), "no answer (connection, TLS or "
		    "timeout)");
		ekind = REGC_ERR_CONNECT;
		goto fail;
	}
	reg_measured(d, kind, &end->sent);
	if (kind == REQ_HEARTBEAT && code == HTTP_NOT_FOUND) {
		d->errors[REGC_ERR_EXPIRED]++;
		disco_not_registered(d);
		return;
	}
	if (code != HTTP_OK) {
		snprintf(err, sizeof(err), "HTTP %d", code);
		ekind = REGC_ERR_HTTP;
		goto fail;
	}
	ekind = REGC_ERR_REPLY;
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	body = n > 0 ? (const char *)evbuffer_pullup(in, n) : NULL;
	if (kind != REQ_POLL) {
		if (*(why = reg_parse_ack(body, n, &version, &ttl)) != '\0') {
			d->bad_replies++;
			snprintf(err, sizeof(err), "%s", why);
			goto fail;
		}
		if (kind == REQ_REGISTER)
			disco_registered(d, version, ttl);
		else
			d->failures = 0;
		return;
	}
	if (*(why = reply_json(body, n, &j)) != '\0') {
		d->bad_replies++;
		snprintf(err, sizeof(err), "%s", why);
		goto fail;
	}
	json_decref(j);
	if (reg_parse_peers(d, body, n, &list, &n, &version) == -1) {
		d->bad_replies++;
		snprintf(err, sizeof(err), "malformed peer list");
		goto fail;
	}
	disco_list(d, list, n, version);
	return;
fail:
	d->errors[ekind]++;
	if (kind == REQ_POLL) {
		log_debug("registry: peer list: %s", err);
		disco_poll_failed(d);
	} else
		disco_failed(d, err);
}

static void
disco_request_failed(struct disco *d)
{
	d->errors[REGC_ERR_REQUEST]++;
	disco_failed(d, "cannot make the request");
}

void
reg_register(struct disco *d)
{
	json_t		*b, *aips;
	char		 cidr[64];
	unsigned int	 i;

	aips = json_array();
	for (i = 0; i < d->conf.nallowed_ips; i++) {
		cidr_format(&d->conf.allowed_ips[i], cidr, sizeof(cidr));
		json_array_append_new(aips, json_string(cidr));
	}
	cidr_format(&d->c->conf.address, cidr, sizeof(cidr));
	b = json_pack("{s:s, s:i, s:o, s:s, s:o}",
	    "hostname", d->conf.hostname,
	    "listen_port", (int)d->c->conf.listen_port,
	    "endpoints", endpoints_json(d),
	    "address", cidr,
	    "allowed_ips", aips);
	/* A registration replaces the entry: no "nat" is unknown. */
	d->nat_told = NAT_MAP_UNKNOWN;
	nat_json(d, b, d->nat != NAT_MAP_UNKNOWN);
	if (reg_send(d, REQ_REGISTER, EVHTTP_REQ_POST, "/v1/register", b,
	    REG_TIMEOUT) == -1)
		disco_request_failed(d);
}

void
reg_heartbeat(struct disco *d)
{
	json_t	*b = json_pack("{s:o}", "endpoints", endpoints_json(d));

	nat_json(d, b, d->nat != NAT_MAP_UNKNOWN ||
	    d->nat_told != NAT_MAP_UNKNOWN);

	if (reg_send(d, REQ_HEARTBEAT, EVHTTP_REQ_POST, "/v1/heartbeat", b,
	    REG_TIMEOUT) == -1)
		disco_request_failed(d);
}

void
reg_poll(struct disco *d)
{
	char	 path[64];

	snprintf(path, sizeof(path), "/v1/peers?since=%llu&wait=%d",
	    (unsigned long long)d->version, REG_POLL_WAIT);
	d->polling = 1;
	if (reg_send(d, REQ_POLL, EVHTTP_REQ_GET, path, NULL,
	    REG_POLL_WAIT + REG_TIMEOUT) == -1) {
		d->errors[REGC_ERR_REQUEST]++;
		disco_poll_failed(d);
	}
}

/* ---- the peer list -------------------------------------------------- */

/* A peer may route only addresses of the mesh to itself. */
static int
in_subnet(const struct disco *d, const struct cidr *c)
{
	return (d->conf.subnet.af == 0 || cidr_contains(&d->conf.subnet, c));
}

/*
 * The hostname the peer registered, to name it in cbp2pctl peers.  One
 * that is not a name we may show (peer_name_valid: a hostile registry
 * or node could send controls for the operator's terminal) is dropped
 * and counted; the peer keeps no name, and nothing else changes.
 */
static void
parse_name(struct disco *d, json_t *e, struct reg_peer *rp)
{
	json_t	*v;

	if ((v = json_object_get(e, "hostname")) == NULL)
		return;
	if (!json_is_string(v) || !peer_name_valid(json_string_value(v),
	    json_string_length(v))) {
		d->bad_names++;
		return;
	}
	memcpy(rp->dp.name, json_string_value(v), json_string_length(v));
	rp->dp.name[json_string_length(v)] = '\0';
}

enum entry_verdict {
	ENTRY_OK,
	ENTRY_MALFORMED,	/* counted as a bad entry */
	ENTRY_UNTRUSTED		/* its token does not grant it: refused */
};

/* The previous list by key, to find a token already verified. */
struct known {
	const struct reg_peer	**v;
	size_t			  n;
};

static int
known_cmp(const void *a, const void *b)
{
	const struct reg_peer	*const *x = a, *const *y = b;

	return (memcmp((*x)->public_key, (*y)->public_key, WG_KEY_LEN));
}

static const struct reg_peer *
known_find(const struct known *k, const uint8_t *key)
{
	struct reg_peer		 probe;
	const struct reg_peer	*pp = &probe, **found;

	if (k->n == 0)
		return (NULL);
	memcpy(probe.public_key, key, WG_KEY_LEN);
	found = bsearch(&pp, k->v, k->n, sizeof(*k->v), known_cmp);
	return (found != NULL ? *found : NULL);
}

/*
 * The entry's registry token, signed by the issuer we trust: verified
 * once (a token seen in the last list under the same key is not checked
 * again, but its exp is), its claims in rp->rt.
 */
static int
entry_token(struct disco *d, json_t *e, const struct known *k,
    struct reg_peer *rp, time_t now, char *err, size_t errlen)
{
	const struct reg_peer	*old;
	json_t			*v;
	const char		*s;
	size_t			 len;

	if ((v = json_object_get(e, "registry_token")) == NULL ||
	    (s = json_string_value(v)) == NULL) {
		snprintf(err, errlen, "no registry token");
		return (-1);
	}
	len = json_string_length(v);
	crypto_generichash(rp->tokhash, sizeof(rp->tokhash),
	    (const unsigned char *)s, len, NULL, 0);
	rp->keygen = d->keygen;
	if ((old = known_find(k, rp->public_key)) != NULL &&
	    old->keygen == d->keygen &&
	    sodium_memcmp(old->tokhash, rp->tokhash, REG_TOKHASH_LEN) == 0) {
		rp->rt = old->rt;
		if ((int64_t)now >= rp->rt.exp) {
			snprintf(err, errlen, "token: exp: expired at %lld",
			    (long long)rp->rt.exp);
			return (-1);
		}
		return (0);
	}
	return (regtoken_verify(s, len, d->conf.verify_alg, d->key,
	    d->keylen, d->conf.issuer, d->conf.audience, now, &rp->rt, err,
	    errlen));
}

static enum entry_verdict
parse_entry(struct disco *d, json_t *e, const struct known *k,
    struct reg_peer *rp, time_t now, char *err, size_t errlen)
{
	json_t		*j, *v;
	struct cidr	 c, addr;
	const char	*s;
	size_t		 i;

	memset(rp, 0, sizeof(*rp));
	snprintf(err, errlen, "malformed");
	if (!json_is_object(e) ||
	    (s = json_string_value(json_object_get(e, "public_key"))) ==
	    NULL || wgkey_from_b64(rp->public_key, s) == -1)
		return (ENTRY_MALFORMED);
	memcpy(rp->dp.public_key, rp->public_key, WG_KEY_LEN);
	if ((s = json_string_value(json_object_get(e, "address"))) == NULL ||
	    cidr_parse(s, &addr) == -1)
		return (ENTRY_MALFORMED);
	j = json_object_get(e, "endpoints");
	if (j != NULL && !json_is_array(j))
		return (ENTRY_MALFORMED);
	json_array_foreach(j, i, v) {
		if (!json_is_string(v) ||
		    rp->dp.nendpoints == DISCO_ENDPOINTS_MAX)
			return (ENTRY_MALFORMED);
		if (hostport_parse_numeric(json_string_value(v),
		    &rp->dp.endpoints[rp->dp.nendpoints]) == -1)
			return (ENTRY_MALFORMED);
		rp->dp.nendpoints++;
	}
	j = json_object_get(e, "allowed_ips");
	if (j != NULL && !json_is_array(j))
		return (ENTRY_MALFORMED);
	json_array_foreach(j, i, v) {
		if (!json_is_string(v) ||
		    cidr_parse(json_string_value(v), &c) == -1)
			return (ENTRY_MALFORMED);
	}
	/*
	 * The issuer's word before the registry's: the token must be for
	 * this key and our mesh and grant the address and every prefix
	 * the registry lists, or the whole entry goes.
	 */
	if (entry_token(d, e, k, rp, now, err, errlen) == -1 ||
	    reg_entry_check(&rp->rt, d->mesh, rp->public_key, &addr, NULL, 0,
	    err, errlen) != REG_OK)
		return (ENTRY_UNTRUSTED);
	json_array_foreach(j, i, v) {
		cidr_parse(json_string_value(v), &c);
		if (!reg_grants_prefix(&rp->rt, &addr, &c)) {
			snprintf(err, errlen, "allowed_ips[%zu]: outside what "
			    "its token grants", i);
			return (ENTRY_UNTRUSTED);
		}
		cidr_mask(&c);
		if (!in_subnet(d, &c) ||
		    rp->dp.nallowed_ips == DISCO_AIPS_MAX)
			continue;	/* not ours to give it */
		rp->dp.allowed_ips[rp->dp.nallowed_ips++] = c;
	}
	/* No usable allowed IPs: its own address, as a host route. */
	if (rp->dp.nallowed_ips == 0) {
		c = addr;
		c.plen = c.af == AF_INET ? 32 : 128;
		if (!in_subnet(d, &c))
			return (ENTRY_MALFORMED);
		if (!reg_grants_prefix(&rp->rt, &addr, &c)) {
			snprintf(err, errlen, "its token does not grant its "
			    "address as a host route");
			return (ENTRY_UNTRUSTED);
		}
		rp->dp.allowed_ips[rp->dp.nallowed_ips++] = c;
	}
	rp->dp.keepalive = d->conf.keepalive;
	parse_name(d, e, rp);
	/*
	 * Its NAT's mapping, a hint for why a path is relayed: absent (an
	 * older edge) it is unknown; a value we do not know is unknown too,
	 * and counted, but never costs the peer its entry.
	 */
	rp->dp.nat = NAT_MAP_UNKNOWN;
	if ((j = json_object_get(e, "nat")) != NULL &&
	    (!json_is_string(j) ||
	    (rp->dp.nat = nat_mapping_parse(json_string_value(j))) == -1)) {
		d->bad_nat++;
		rp->dp.nat = NAT_MAP_UNKNOWN;
	}
	return (ENTRY_OK);
}

/* Log an entry refused for its token once, not at every list. */
static void
untrusted(struct disco *d, const struct reg_peer *rp,
    struct reg_refused *now, size_t *nnow, const char *why)
{
	char	 b64[WG_KEY_B64_LEN + 1];
	size_t	 i;

	d->untrusted++;
	memcpy(now[*nnow].public_key, rp->public_key, WG_KEY_LEN);
	memcpy(now[*nnow].tokhash, rp->tokhash, REG_TOKHASH_LEN);
	(*nnow)++;
	for (i = 0; i < d->nrefused; i++)
		if (memcmp(d->refused[i].public_key, rp->public_key,
		    WG_KEY_LEN) == 0 && memcmp(d->refused[i].tokhash,
		    rp->tokhash, REG_TOKHASH_LEN) == 0)
			return;
	wgkey_to_b64(b64, rp->public_key);
	b64[DISCO_KEY_LOG_LEN] = '\0';
	log_warnx("registry: peer %s refused: %s", b64, why);
}

/*
 * The whole list, or -1 when the reply as a whole is not one; single
 * entries that are malformed are skipped and counted, and so are those
 * their registry token does not vouch for.
 */
int
reg_parse_peers(struct disco *d, const char *buf, size_t len,
    struct reg_peer **out, size_t *nout, uint64_t *version)
{
	json_t			*j, *peers, *e;
	struct reg_peer		*list;
	struct reg_refused	*refused;
	struct known		 k = { NULL, 0 };
	char			 err[CFG_ERR_MAX];
	time_t			 now = time(NULL);
	size_t			 i, n = 0, nref = 0;

	*out = NULL;
	*nout = 0;
	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return (-1);
	if (!json_is_object(j) || get_uint(j, "version", REG_VERSION_MAX,
	    version) == -1 || !json_is_array(peers = json_object_get(j,
	    "peers")) || json_array_size(peers) > REG_PEERS_MAX) {
		json_decref(j);
		return (-1);
	}
	if ((list = calloc(json_array_size(peers) + 1, sizeof(*list))) ==
	    NULL || (refused = calloc(json_array_size(peers) + 1,
	    sizeof(*refused))) == NULL ||
	    (k.v = calloc(d->nlist + 1, sizeof(*k.v))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < d->nlist; i++)
		k.v[k.n++] = &d->list[i];
	qsort(k.v, k.n, sizeof(*k.v), known_cmp);
	json_array_foreach(peers, i, e) {
		switch (parse_entry(d, e, &k, &list[n], now, err,
		    sizeof(err))) {
		case ENTRY_OK:
			n++;
			break;
		case ENTRY_MALFORMED:
			d->bad_entries++;
			break;
		case ENTRY_UNTRUSTED:
			untrusted(d, &list[n], refused, &nref, err);
			break;
		}
	}
	json_decref(j);
	free(k.v);
	free(d->refused);
	d->refused = refused;
	d->nrefused = nref;
	*out = list;
	*nout = n;
	return (0);
}
