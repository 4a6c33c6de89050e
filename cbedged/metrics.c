/*
 * cbedged's /metrics: Prometheus text (version 0.0.4) over plain HTTP
 * on metrics_address, a second evhttp in the registry's own process and
 * sandbox, bound as root with the other sockets.  It shows what
 * /v1/health shows: the registry, STUN, long polls, replies by status
 * code and refusals by reason, and the relay worker's counters as it
 * last reported them.  Every label is an enum or a status code.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include <stdio.h>
#include <string.h>

#include "cbedged.h"
#include "prom.h"
#include "version.h"

#define HTTP_OK			200
#define EDGE_METRICS_HEADERS	8192
#define STATUS_TEXT_MAX		8	/* "599" and its NUL */
#define MS_PER_SEC		1000

/* The relay worker's counter groups (relay_ctr_info), as families. */
static const struct {
	const char	*group;
	const char	*name;
	const char	*label;
	const char	*help;
} relay_families[] = {
	{ "refused", "cbp2p_edge_relay_refused_total", "reason",
	    "Relay connections closed at accept, by reason." },
	{ "auth", "cbp2p_edge_relay_auth_total", "result",
	    "Relay AUTH frames by result." },
	{ "frames", "cbp2p_edge_relay_frames_total", "kind",
	    "Relay frames received, forwarded and sent, by kind." },
	{ "drops", "cbp2p_edge_relay_drops_total", "reason",
	    "Relay frames dropped, by reason." },
	{ "closed", "cbp2p_edge_relay_closed_total", "reason",
	    "Relay connections closed, by reason." },
};

static void
relay_metrics(struct evbuffer *b, const struct edge *e)
{
	const struct relay_stats	*st = &e->relay_stats;
	struct prom_label		 l;
	size_t				 f;
	int				 i;

	prom_one(b, "cbp2p_edge_relay_running", PROM_GAUGE,
	    "1 while the relay worker runs.",
	    e->relay_ready && e->relay_pid > 0);
	prom_one(b, "cbp2p_edge_relay_connections", PROM_GAUGE,
	    "Relay connections open, closing ones included.", st->conns);
	prom_one(b, "cbp2p_edge_relay_handshakes", PROM_GAUGE,
	    "Relay TLS handshakes in progress.", st->handshakes);
	prom_one(b, "cbp2p_edge_relay_bound", PROM_GAUGE,
	    "Relay connections bound to a node's key.", st->bound);
	prom_one(b, "cbp2p_edge_relay_meshes", PROM_GAUGE,
	    "Meshes with a bound relay connection.", st->meshes);
	prom_one(b, "cbp2p_edge_relay_accepted_total", PROM_COUNTER,
	    "Relay connections accepted.", st->ctr[RCTR_ACCEPTED]);
	prom_one(b, "cbp2p_edge_relay_forwarded_bytes_total", PROM_COUNTER,
	    "WireGuard packet bytes the relay forwarded.",
	    st->ctr[RCTR_BYTES_FORWARDED]);
	for (f = 0; f < sizeof(relay_families) / sizeof(relay_families[0]);
	    f++) {
		prom_family(b, relay_families[f].name, PROM_COUNTER,
		    relay_families[f].help);
		l.name = relay_families[f].label;
		for (i = 0; i < RCTR_MAX; i++) {
			if (i == RCTR_BYTES_FORWARDED ||
			    relay_ctr_info[i].group == NULL ||
			    strcmp(relay_ctr_info[i].group,
			    relay_families[f].group) != 0)
				continue;
			l.value = relay_ctr_info[i].name;
			prom_u64(b, relay_families[f].name, &l, 1,
			    st->ctr[i]);
		}
	}
	if (e->relay_stats_ms != 0)
		prom_one(b, "cbp2p_edge_relay_stats_age_seconds", PROM_GAUGE,
		    "Seconds since the worker's last report.",
		    (edge_now_ms() - e->relay_stats_ms) / MS_PER_SEC);
}

/* Registry connections (httpconn.c): gauges, refusals, closes. */
static void
conn_metrics(struct evbuffer *b, const struct edge *e)
{
	static const struct {
		const char	*group;
		const char	*name;
		const char	*help;
	} fam[] = {
		{ "refused", "cbp2p_edge_connections_refused_total",
		    "Registry connections closed at accept, by cap." },
		{ "closed", "cbp2p_edge_connections_closed_total",
		    "Registry connections closed for a timeout, by reason." },
	};
	struct prom_label	 l;
	size_t			 f;
	int			 i;

	prom_one(b, "cbp2p_edge_connections", PROM_GAUGE,
	    "Registry connections open.", e->hc_open);
	prom_one(b, "cbp2p_edge_tls_handshakes", PROM_GAUGE,
	    "Registry TLS handshakes in progress.", e->hc_handshakes);
	prom_one(b, "cbp2p_edge_connections_accepted_total", PROM_COUNTER,
	    "Registry connections admitted.", e->hc_ctr[HCTR_ACCEPTED]);
	l.name = "reason";
	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		prom_family(b, fam[f].name, PROM_COUNTER, fam[f].help);
		for (i = 0; i < HCTR_MAX; i++) {
			if (hconn_ctr_info[i].group == NULL ||
			    strcmp(hconn_ctr_info[i].group, fam[f].group) != 0)
				continue;
			l.value = hconn_ctr_info[i].name;
			prom_u64(b, fam[f].name, &l, 1, e->hc_ctr[i]);
		}
	}
}

static void
edge_metrics(struct evbuffer *b, struct edge *e)
{
	struct prom_label	 l;
	char			 code[STATUS_TEXT_MAX];
	int			 i;

	prom_family(b, "cbp2p_edge_build_info", PROM_GAUGE,
	    "1, labelled with the version of cbp2p.");
	l.name = "version";
	l.value = CBP2P_VERSION;
	prom_u64(b, "cbp2p_edge_build_info", &l, 1, 1);
	prom_one(b, "cbp2p_edge_uptime_seconds", PROM_GAUGE,
	    "Seconds since cbedged started.",
	    (edge_now_ms() - e->started_ms) / MS_PER_SEC);
	prom_one(b, "cbp2p_edge_registrations", PROM_GAUGE,
	    "Nodes registered now.", registry_nodes(e->reg));
	prom_one(b, "cbp2p_edge_meshes", PROM_GAUGE,
	    "Meshes with a registered node.", registry_meshes(e->reg));
	conn_metrics(b, e);
	prom_one(b, "cbp2p_edge_long_polls", PROM_GAUGE,
	    "GET /v1/peers long polls waiting.", e->npolls);
	prom_one(b, "cbp2p_edge_long_polls_total", PROM_COUNTER,
	    "GET /v1/peers long polls taken.", e->polls_total);

	prom_family(b, "cbp2p_edge_requests_total", PROM_COUNTER,
	    "Registry replies by HTTP status code.");
	l.name = "code";
	l.value = code;
	for (i = 0; i < EDGE_STATUS_MAX; i++) {
		if (e->http_status[i] == 0)
			continue;
		snprintf(code, sizeof(code), "%d", i);
		prom_u64(b, "cbp2p_edge_requests_total", &l, 1,
		    e->http_status[i]);
	}
	prom_family(b, "cbp2p_edge_refused_total", PROM_COUNTER,
	    "Registry requests refused, by reason.");
	l.name = "reason";
	for (i = REG_OK + 1; i < REG_REASON_MAX; i++) {
		l.value = reg_reason_name(i);
		prom_u64(b, "cbp2p_edge_refused_total", &l, 1, e->refused[i]);
	}

	prom_family(b, "cbp2p_edge_stun_requests_total", PROM_COUNTER,
	    "STUN Binding requests, answered or refused.");
	l.name = "result";
	l.value = "answered";
	prom_u64(b, "cbp2p_edge_stun_requests_total", &l, 1,
	    e->stun_answered);
	l.value = "refused";
	prom_u64(b, "cbp2p_edge_stun_requests_total", &l, 1,
	    e->stun_refused);
	if (e->conf.relay_listen[0] != '\0')
		relay_metrics(b, e);
	prom_one(b, "cbp2p_edge_metrics_scrapes_total", PROM_COUNTER,
	    "GET /metrics served.", e->scrapes);
}

/* Counted before it is written: a scrape sees itself. */
static void
metrics_body(struct evbuffer *b, void *arg)
{
	struct edge	*e = arg;

	e->scrapes++;
	edge_metrics(b, e);
}

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	prom_reply(req, metrics_body, arg);
}

/* Serve metrics_fd, if metrics_address is set. */
int
metrics_init(struct edge *e, char *err, size_t errlen)
{
	e->started_ms = edge_now_ms();
	if (e->metrics_fd == -1)
		return (0);
	if ((e->metrics_http = evhttp_new(e->base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		return (-1);
	}
	evhttp_set_allowed_methods(e->metrics_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD);
	evhttp_set_timeout(e->metrics_http, EDGE_METRICS_TIMEOUT);
	evhttp_set_max_headers_size(e->metrics_http, EDGE_METRICS_HEADERS);
	evhttp_set_max_body_size(e->metrics_http, 0);
	evhttp_set_gencb(e->metrics_http, metrics_request, e);
	if (evhttp_accept_socket(e->metrics_http, e->metrics_fd) == -1) {
		snprintf(err, errlen, "cannot accept on %s",
		    e->conf.metrics_address);
		return (-1);
	}
	e->metrics_fd = -1;	/* evhttp's now */
	log_info("metrics on http://%s/metrics", e->conf.metrics_address);
	return (0);
}

void
metrics_shutdown(struct edge *e)
{
	if (e->metrics_http != NULL)
		evhttp_free(e->metrics_http);
	e->metrics_http = NULL;
}
