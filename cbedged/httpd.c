/*
 * The registry over HTTPS: libevent's evhttp on an OpenSSL bufferevent
 * per connection, TLS 1.3 only.  Every request goes through one
 * handler: rate limit, route, method, size, token, then the registry.
 * Every refusal is a 4xx with {"error": "..."}, counted by reason, and
 * changes nothing.  Long polls wait on a list until their mesh changes
 * or their timer fires.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cbedged.h"
#include "log.h"

#define ADDR_STR_MAX	64
#define URI_ECHO_MAX	128	/* of a request's URI in a log line */
#define KEY_PREFIX	8	/* characters of a key in log lines */

static void	 poll_answer(struct edge *, struct poll *);

uint64_t
edge_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* The oldest OpenSSL error, for a log line; clears the queue. */
const char *
edge_ssl_error(void)
{
	static char	 buf[256];
	unsigned long	 e;

	if ((e = ERR_get_error()) == 0)
		return ("unknown error");
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return (buf);
}

/*
 * The TLS context: TLS 1.3 only, certificate and key loaded now (as
 * root, before the chroot hides them), no session resumption (no ticket
 * keys to keep, no cache to bound).
 */
SSL_CTX *
httpd_tls_init(const struct edge_conf *c, char *err, size_t errlen)
{
	struct stat	 st;
	SSL_CTX		*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s", edge_ssl_error());
		return (NULL);
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
		snprintf(err, errlen, "TLS 1.3: %s", edge_ssl_error());
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->certificate) != 1) {
		snprintf(err, errlen, "certificate %s: %s", c->certificate,
		    edge_ssl_error());
		goto fail;
	}
	if (stat(c->key, &st) == -1) {
		snprintf(err, errlen, "key %s: %s", c->key, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 &&
	    st.st_uid != geteuid()) || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "key %s: must be a regular file owned "
		    "by root, mode 0600 or stricter", c->key);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "key %s: %s", c->key, edge_ssl_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key %s does not match certificate %s",
		    c->key, c->certificate);
		goto fail;
	}
	return (ctx);
fail:
	SSL_CTX_free(ctx);
	return (NULL);
}

static const char *
peer_name(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection	*evcon;
	char				*addr = NULL;
	ev_uint16_t			 port = 0;

	if ((evcon = evhttp_request_get_connection(req)) == NULL) {
		strlcpy(buf, "(gone)", len);
		return (buf);
	}
	evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(buf, len, "%s:%u", addr != NULL ? addr : "?", port);
	return (buf);
}

static const char *
status_phrase(int status)
{
	switch (status) {
	case 200:
		return ("OK");
	case 400:
		return ("Bad Request");
	case 401:
		return ("Unauthorized");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 409:
		return ("Conflict");
	case 413:
		return ("Payload Too Large");
	case 429:
		return ("Too Many Requests");
	case 431:
		return ("Request Header Fields Too Large");
	default:
		return ("Service Unavailable");
	}
}

/* Send j (its reference is taken); NULL j means we ran out of memory. */
static void
send_json(struct evhttp_request *req, int status, json_t *j)
{
	static const char	 oom[] = "{\"error\": \"out of memory\"}\n";
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*out = evhttp_request_get_output_buffer(req);
	char			*s = NULL;

	if (j != NULL)
		s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (s == NULL) {
		status = reg_reason_status(REG_NO_MEMORY);
		evbuffer_add(out, oom, sizeof(oom) - 1);
	} else {
		evbuffer_add(out, s, strlen(s));
		evbuffer_add(out, "\n", 1);
		free(s);
	}
	if (status >= 0 && status < EDGE_STATUS_MAX)
		edge->http_status[status]++;
	evhttp_send_reply(req, status, status_phrase(status), NULL);
}

static void
refuse(struct edge *e, struct evhttp_request *req, enum reg_reason r,
    const char *msg)
{
	char		 who[ADDR_STR_MAX], uri[URI_ECHO_MAX], why[REG_ERR_MAX];
	const char	*u = evhttp_request_get_uri(req);
	uint64_t	 skipped;

	e->refused[r]++;
	req_echo(msg, why, sizeof(why));
	/* httpconn.c's stand-in names no path: the head had none we took. */
	if (u != NULL && strcmp(u, EDGE_REFUSED_PATH) == 0)
		strlcpy(uri, "a request head", sizeof(uri));
	else
		req_echo(u, uri, sizeof(uri));
	/* Every one at debug; one a reason an interval otherwise. */
	if (log_getverbose() == 0 && edge_lograte(&e->refused_log[r],
	    edge_now_ms(), &skipped))
		log_info("refused %s from %s: %d %s: %s (%llu more refused so "
		    "since the last line)",
		    uri, peer_name(req, who, sizeof(who)), reg_reason_status(r),
		    reg_reason_name(r), why, (unsigned long long)skipped);
	log_debug("refused %s from %s: %d %s: %s",
	    uri, peer_name(req, who, sizeof(who)), reg_reason_status(r),
	    reg_reason_name(r), why);
	send_json(req, reg_reason_status(r), json_pack("{s:s, s:s}", "error",
	    why, "code", reg_reason_name(r)));
}

/*
 * A registry token, verified on every request and relay AUTH: the one
 * check the registry and the relay share.  A well-signed token that is
 * not a registry token (a node token, another token_use) is
 * REG_FORBIDDEN (403); one past its exp is REG_TOKEN_EXPIRED (401), so
 * a node can tell "get a new token" from "your token is wrong";
 * anything else wrong with it is REG_BAD_TOKEN (401).
 */
enum reg_reason
edge_token_check(const struct edge_conf *c, const char *s, size_t len,
    struct regtoken *tok, char *err, size_t errlen)
{
	static const char	*forbidden[] = { "token: wireguard_config:",
	    "token: token_use:" };
	static const char	 expired[] = "token: exp: expired";
	size_t			 i;

	if (len == 0 || len > TOKEN_MAX_LEN) {
		snprintf(err, errlen, "malformed bearer token");
		return (REG_BAD_TOKEN);
	}
	if (regtoken_verify(s, len, c->verify_alg, c->verify_key,
	    c->verify_key_len, c->issuer, c->audience, time(NULL), tok, err,
	    errlen) == -1) {
		for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
			if (strncmp(err, forbidden[i],
			    strlen(forbidden[i])) == 0)
				return (REG_FORBIDDEN);
		if (strncmp(err, expired, sizeof(expired) - 1) == 0)
			return (REG_TOKEN_EXPIRED);
		return (REG_BAD_TOKEN);
	}
	return (REG_OK);
}

/*
 * The bearer token of a request, checked by edge_token_check(); *bearer
 * is its compact form, which a registration keeps for the node's peers.
 */
static enum reg_reason
authorize(struct edge *e, struct evhttp_request *req, struct regtoken *tok,
    const char **bearer, char *err, size_t errlen)
{
	const char	*h;

	if ((h = req_bearer(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization"))) == NULL) {
		snprintf(err, errlen, "missing Authorization: Bearer token");
		return (REG_BAD_TOKEN);
	}
	*bearer = h;
	return (edge_token_check(&e->conf, h, strlen(h), tok, err, errlen));
}

static const char *
key_prefix(const struct regtoken *tok, char *buf)
{
	char	 b64[WG_KEY_B64_LEN + 1];

	wgkey_to_b64(b64, tok->public_key);
	strlcpy(buf, b64, KEY_PREFIX + 1);
	return (buf);
}

static void
health(struct edge *e, struct evhttp_request *req)
{
	json_t	*refused, *j, *conns;
	int	 r;

	if ((refused = json_object()) == NULL) {
		send_json(req, 503, NULL);
		return;
	}
	if ((conns = hconn_health(e)) == NULL) {
		json_decref(refused);
		send_json(req, 503, NULL);
		return;
	}
	for (r = REG_OK + 1; r < REG_REASON_MAX; r++)
		json_object_set_new(refused, reg_reason_name(r),
		    json_integer((json_int_t)e->refused[r]));
	j = json_pack("{s:I, s:I, s:o, s:o, s:{s:I, s:I, s:I}, s:I}",
	    "registrations", (json_int_t)registry_nodes(e->reg),
	    "meshes", (json_int_t)registry_meshes(e->reg),
	    "refused", refused,
	    "connections", conns,
	    "stun", "answered", (json_int_t)e->stun_answered,
	    "refused", (json_int_t)e->stun_refused,
	    "alt_port", (json_int_t)e->conf.stun_alt_port,
	    "long_polls", (json_int_t)e->npolls);
	/* The relay's counters, as its worker last reported them. */
	if (j != NULL && e->conf.relay_listen[0] != '\0' &&
	    json_object_set_new(j, "relay", relayproc_health(e)) == -1) {
		json_decref(j);
		j = NULL;
	}
	send_json(req, 200, j);
}

static void
poll_free(struct edge *e, struct poll *p)
{
	TAILQ_REMOVE(&e->polls, p, entry);
	e->npolls--;
	event_free(p->timer);
	free(p);
}

static void
poll_answer(struct edge *e, struct poll *p)
{
	send_json(p->req, 200, registry_peers(e->reg, &p->tok));
	poll_free(e, p);
}

static void
poll_timeout(int fd, short ev, void *arg)
{
	poll_answer(edge, arg);
}

/* The registry's change callback: wake the long polls of that mesh. */
void
httpd_mesh_changed(const char *mesh, uint64_t version, void *arg)
{
	struct edge	*e = arg;
	struct poll	*p, *np;

	log_debug("mesh %s: version %" PRIu64, mesh, version);
	TAILQ_FOREACH_SAFE(p, &e->polls, entry, np) {
		if (strcmp(p->tok.mesh, mesh) == 0 && p->since != version)
			poll_answer(e, p);
	}
}

static void
peers(struct edge *e, struct evhttp_request *req, const struct regtoken *tok)
{
	struct peers_query	 pq;
	struct poll		*p;
	const char		*why;
	uint64_t		 wait, version;
	char			 msg[REG_ERR_MAX];
	struct timeval		 tv;
	size_t			 inmesh = 0, mine = 0;

	if (req_peers_query(evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(req)), &pq, &why) == -1) {
		refuse(e, req, REG_BAD_REQUEST, why);
		return;
	}
	/* Our own bound may be shorter than the protocol's. */
	wait = pq.wait;
	if (wait > e->conf.long_poll_max)
		wait = e->conf.long_poll_max;
	version = registry_version(e->reg, tok->mesh);
	if (!pq.have_since || wait == 0 || pq.since != version) {
		send_json(req, 200, registry_peers(e->reg, tok));
		return;
	}

	TAILQ_FOREACH(p, &e->polls, entry) {
		if (strcmp(p->tok.mesh, tok->mesh) != 0)
			continue;
		inmesh++;
		if (memcmp(p->tok.public_key, tok->public_key,
		    sizeof(tok->public_key)) == 0)
			mine++;
	}
	if (mine >= e->conf.long_polls_per_token) {
		snprintf(msg, sizeof(msg), "%u long polls of this token "
		    "waiting already", e->conf.long_polls_per_token);
		refuse(e, req, REG_TOKEN_POLLS, msg);
		return;
	}
	if (e->npolls >= e->polls_max || inmesh >=
	    (size_t)e->conf.max_peers_per_mesh * e->conf.long_polls_per_token) {
		refuse(e, req, REG_POLL_LIMIT, "too many long polls waiting; "
		    "poll again later");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->timer = evtimer_new(e->base, poll_timeout, p)) == NULL) {
		free(p);
		send_json(req, 503, NULL);
		return;
	}
	p->req = req;
	p->tok = *tok;
	p->since = pq.since;
	tv.tv_sec = (time_t)wait;
	tv.tv_usec = 0;
	evtimer_add(p->timer, &tv);
	TAILQ_INSERT_TAIL(&e->polls, p, entry);
	e->npolls++;
	e->polls_total++;
}

static void
httpd_request(struct evhttp_request *req, void *arg)
{
	struct edge		*e = arg;
	struct evhttp_connection *evcon;
	struct hconn		*hc;
	const struct evhttp_uri	*uri;
	const struct route	*rt;
	struct evbuffer		*in;
	struct regtoken		 tok;
	json_t			*reply = NULL;
	const char		*body, *bearer = NULL;
	char			 err[REG_ERR_MAX], msg[REG_ERR_MAX];
	char			 kp[KEY_PREFIX + 1];
	uint8_t			 key[RATELIMIT_KEY_MAX];
	size_t			 keylen, len;
	enum reg_reason		 r;

	/* A head httpconn.c refused, in the stand-in it gave evhttp. */
	if ((hc = hconn_of(req)) != NULL) {
		hconn_request(hc, req);
		if (hc->refusal != REG_OK && evhttp_request_get_uri(req) !=
		    NULL && strcmp(evhttp_request_get_uri(req),
		    EDGE_REFUSED_PATH) == 0) {
			refuse(e, req, hc->refusal, hc->why);
			return;
		}
	}
	evcon = evhttp_request_get_connection(req);
	keylen = ratelimit_key_sa(evcon != NULL ?
	    evhttp_connection_get_addr(evcon) : NULL, key);
	if (keylen == 0 || !ratelimit_allow(&e->http_rl, key, keylen,
	    edge_now_ms() * 1000000)) {
		snprintf(msg, sizeof(msg), "over %u requests per second from "
		    "this address", e->conf.rate);
		refuse(e, req, REG_RATE_LIMITED, msg);
		return;
	}

	uri = evhttp_request_get_evhttp_uri(req);
	if ((rt = req_route(uri != NULL ? evhttp_uri_get_path(uri) :
	    NULL)) == NULL) {
		refuse(e, req, REG_NOT_FOUND, "unknown path");
		return;
	}
	if ((int)evhttp_request_get_command(req) != rt->method) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", rt->allow);
		snprintf(msg, sizeof(msg), "method not allowed: %s only",
		    rt->allow);
		refuse(e, req, REG_BAD_METHOD, msg);
		return;
	}
	if (rt->id == R_HEALTH) {
		health(e, req);
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	if ((len = evbuffer_get_length(in)) > e->conf.max_body) {
		snprintf(msg, sizeof(msg), "body over %u bytes",
		    e->conf.max_body);
		refuse(e, req, REG_TOO_LARGE, msg);
		return;
	}
	if ((r = authorize(e, req, &tok, &bearer, err, sizeof(err))) !=
	    REG_OK) {
		refuse(e, req, r, err);
		return;
	}
	body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	if (body == NULL) {
		send_json(req, 503, NULL);
		return;
	}

	switch (rt->id) {
	case R_REGISTER:
		r = registry_register(e->reg, &tok, bearer, strlen(bearer),
		    body, len, edge_now_ms(), &reply, err, sizeof(err));
		break;
	case R_HEARTBEAT:
		r = registry_heartbeat(e->reg, &tok, body, len,
		    edge_now_ms(), &reply, err, sizeof(err));
		break;
	case R_LEAVE:
		r = registry_leave(e->reg, &tok, &reply, err, sizeof(err));
		break;
	case R_PEERS:
		peers(e, req, &tok);
		return;
	default:
		r = REG_NOT_FOUND;
		strlcpy(err, "unknown path", sizeof(err));
		break;
	}
	if (r != REG_OK) {
		refuse(e, req, r, err);
		return;
	}
	log_debug("%s: %s in mesh %s", rt->path, key_prefix(&tok, kp),
	    tok.mesh);
	send_json(req, 200, reply);
}

static void
httpd_sweep(int fd, short ev, void *arg)
{
	struct edge	*e = arg;
	size_t		 n;

	if ((n = registry_expire(e->reg, edge_now_ms())) > 0)
		log_info("expired %zu registration%s", n, n == 1 ? "" : "s");
}

int
httpd_init(struct edge *e, char *err, size_t errlen)
{
	if ((e->http = evhttp_new(e->base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		return (-1);
	}
	if (hconn_init(e, err, errlen) == -1)
		return (-1);
	evhttp_set_bevcb(e->http, hconn_bev, e);
	evhttp_set_gencb(e->http, httpd_request, e);
	/* Every method reaches us, so a wrong one gets our JSON 405. */
	evhttp_set_allowed_methods(e->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	/*
	 * httpconn.c refuses a head or a body over our caps before evhttp
	 * reads it, with our JSON; evhttp's own caps stay behind ours as
	 * a second line that never trips first.
	 */
	evhttp_set_max_body_size(e->http, (ev_ssize_t)e->conf.max_body);
	evhttp_set_flags(e->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_max_headers_size(e->http,
	    (ev_ssize_t)e->conf.max_header_bytes * EDGE_HEAD_SLACK);
	evhttp_set_timeout(e->http, EDGE_HTTP_TIMEOUT);
	evhttp_set_default_content_type(e->http, "application/json");
	if (evhttp_accept_socket(e->http, e->http_fd) == -1) {
		snprintf(err, errlen, "cannot accept on %s", e->conf.listen);
		return (-1);
	}
	if ((e->sweep_ev = event_new(e->base, -1, EV_PERSIST, httpd_sweep,
	    e)) == NULL) {
		snprintf(err, errlen, "event_new failed");
		return (-1);
	}
	TAILQ_INIT(&e->polls);
	return (0);
}

void
httpd_start(struct edge *e)
{
	struct timeval	 tv = { EDGE_SWEEP_MS / 1000, 0 };

	event_add(e->sweep_ev, &tv);
}

void
httpd_shutdown(struct edge *e)
{
	struct poll	*p;

	while ((p = TAILQ_FIRST(&e->polls)) != NULL)
		poll_answer(e, p);
	if (e->sweep_ev != NULL)
		event_free(e->sweep_ev);
	if (e->http != NULL)
		evhttp_free(e->http);
	hconn_shutdown(e);
	if (e->ssl_ctx != NULL)
		SSL_CTX_free(e->ssl_ctx);
	e->sweep_ev = NULL;
	e->http = NULL;
	e->ssl_ctx = NULL;
}
