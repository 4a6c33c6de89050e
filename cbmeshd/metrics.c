/*
 * cbmeshd's /metrics: Prometheus text (version 0.0.4) over HTTP on the
 * listening socket the parent bound and passed (IMSG_MESH_METRICS_LISTEN).
 * What it shows is the parent's last whole snapshot (IMSG_MESH_METRICS_
 * MAIN, PEERs, END, every METRICS_PUSH_MS) and cbmeshd's own: the path
 * probes' RTTs as a histogram, and its health reports.  Labels are enums
 * and peer keys, at most max_peers of them.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "prom.h"
#include "stun.h"
#include "version.h"
#include "cbmeshd.h"

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif

#define HTTP_OK			200
#define LABEL_MAX		64	/* a reason as a label value */
#define PEER_INFO_LABELS	7
#define RTT_DIRECT		0	/* mesh.rtt[] */
#define RTT_RELAY		1

static const double	 rtt_bounds[] = { METRICS_RTT_BUCKETS };
static const char	*rtt_path[] = { "direct", "relay" };

void
metrics_init(void)
{
	size_t	 i;

	for (i = 0; i < nitems(mesh.rtt); i++)
		if (prom_hist_init(&mesh.rtt[i], rtt_bounds,
		    nitems(rtt_bounds)) == -1)
			fatalx("%s: too many RTT buckets", __func__);
}

/* Every probe report's smoothed RTT on each path that has one. */
void
metrics_observe(const struct path_health *h)
{
	if (h->direct.rtt_ns != 0)
		prom_hist_observe(&mesh.rtt[RTT_DIRECT],
		    h->direct.rtt_ns / NSEC_PER_SEC);
	if (h->relay.rtt_ns != 0)
		prom_hist_observe(&mesh.rtt[RTT_RELAY],
		    h->relay.rtt_ns / NSEC_PER_SEC);
}

/* ---- the text ------------------------------------------------------- */

/* A counter or gauge with one label over a table of names. */
static void
by_label(struct evbuffer *b, const char *name, const char *type,
    const char *help, const char *label, const uint64_t *v, int n,
    const char *(*namef)(int))
{
	struct prom_label	 l;
	char			 val[LABEL_MAX];
	int			 i;

	prom_family(b, name, type, help);
	l.name = label;
	l.value = val;
	for (i = 0; i < n; i++) {
		prom_snake(val, sizeof(val), namef(i));
		prom_u64(b, name, &l, 1, v[i]);
	}
}

static const char *
drop_name(int i)
{
	return (drop_reason_name(i));
}

static const char *
admit_name(int i)
{
	return (admit_reason_name(i));
}

static const char *
admit_ep_name(int i)
{
	return (admit_ep_reason_name(i));
}

static void
node_metrics(struct evbuffer *b, const struct metrics_snap *s)
{
	const struct ctl_status_main	*m = &s->main;
	const struct mesh_metrics_end	*e = &s->end;
	struct prom_label		 l[2];
	uint64_t			 v[NAT_MAP_MAX];
	uint64_t			 vs[REG_STATE_MAX];
	int				 i;

	prom_one(b, "cbp2p_uptime_seconds", PROM_GAUGE,
	    "Seconds since cbp2pd started.", m->uptime);
	prom_one(b, "cbp2p_config_generation", PROM_GAUGE,
	    "The configuration generation running, 1 at start.",
	    m->generation);
	prom_family(b, "cbp2p_reloads_total", PROM_COUNTER,
	    "Configuration reloads by result.");
	l[0].name = "result";
	l[0].value = "ok";
	prom_u64(b, "cbp2p_reloads_total", l, 1, m->reloads);
	l[0].value = "refused";
	prom_u64(b, "cbp2p_reloads_total", l, 1, m->reloads_failed);

	prom_family(b, "cbp2p_peers", PROM_GAUGE,
	    "Peers by the path their packets take; none: no session yet.");
	l[0].name = "path";
	l[0].value = "direct";
	prom_u64(b, "cbp2p_peers", l, 1, m->peers_direct);
	l[0].value = "relay";
	prom_u64(b, "cbp2p_peers", l, 1, m->peers_relayed);
	l[0].value = "none";
	prom_u64(b, "cbp2p_peers", l, 1, m->peers_no_path);
	prom_one(b, "cbp2p_peers_max", PROM_GAUGE,
	    "The token's max_peers.", e->max_peers);
	prom_one(b, "cbp2p_peers_pending", PROM_GAUGE,
	    "Discovered peers waiting for cbp2pctl approve.", e->npending);
	prom_one(b, "cbp2p_p2p_unavailable", PROM_GAUGE,
	    "1 when hybrid peers exist and none has a direct path.",
	    m->p2p_unavailable);
	by_label(b, "cbp2p_path_switches_total", PROM_COUNTER,
	    "Hybrid peers' path switches, by the reason of the new path.",
	    "reason", m->path_switches, PR_MAX, path_reason_name);
	prom_one(b, "cbp2p_path_choices_refused_total", PROM_COUNTER,
	    "cbmeshd's path choices the parent refused.", m->mesh_refused);

	by_label(b, "cbp2p_packets_dropped_total", PROM_COUNTER,
	    "Packets the data plane dropped, by reason.", "reason",
	    m->drops, DROP_MAX, drop_name);
	prom_one(b, "cbp2p_cookie_replies_total", PROM_COUNTER,
	    "WireGuard cookie replies sent under load.", m->cookies_sent);
	prom_one(b, "cbp2p_handshakes_total", PROM_COUNTER,
	    "Noise handshakes the parent completed.", e->handshakes);
	prom_one(b, "cbp2p_stun_packets_total", PROM_COUNTER,
	    "STUN packets taken from the WireGuard socket.", m->stun_seen);
	prom_one(b, "cbp2p_offload_enabled", PROM_GAUGE,
	    "1 when tun TSO/GRO and UDP GSO/GRO are on.", m->offload);
	prom_one(b, "cbp2p_offload_tso_split_total", PROM_COUNTER,
	    "Super-packets read from the tun and cut.", m->tso_split);
	prom_one(b, "cbp2p_offload_uso_enabled", PROM_GAUGE,
	    "1 when the tun also hands UDP super-packets (USO).", m->uso);
	prom_one(b, "cbp2p_offload_uso_split_total", PROM_COUNTER,
	    "UDP super-packets read from the tun and cut.", m->uso_split);
	prom_one(b, "cbp2p_offload_gso_sends_total", PROM_COUNTER,
	    "Segmented UDP sends.", m->gso_sends);
	prom_one(b, "cbp2p_offload_gso_refused", PROM_GAUGE,
	    "1 once the kernel refused segmented UDP sends.",
	    m->gso_refused);
	prom_one(b, "cbp2p_offload_gro_coalesced_total", PROM_COUNTER,
	    "Segments written to the tun as super-packets.",
	    m->gro_coalesced);
	prom_one(b, "cbp2p_crypto_workers", PROM_GAUGE,
	    "Engine threads sealing and opening packets beside its own.",
	    m->crypt_workers);
	prom_one(b, "cbp2p_crypto_parallel_bursts_total", PROM_COUNTER,
	    "Bursts shared with the crypto workers.", m->crypt_parallel);

	prom_one(b, "cbp2p_discovery_enabled", PROM_GAUGE,
	    "1 when the registry client runs.", e->disco_enabled);
	for (i = 0; i < REG_STATE_MAX; i++)
		vs[i] = e->reg.state == i;
	by_label(b, "cbp2p_registry_state", PROM_GAUGE,
	    "The registry client's state: 1 for the one it is in.", "state",
	    vs, REG_STATE_MAX, reg_state_name);
	by_label(b, "cbp2p_registry_errors_total", PROM_COUNTER,
	    "Registry requests that failed, by kind.", "kind", e->reg.errors,
	    REGC_ERR_MAX, regc_error_name);
	if (e->reg.rtt_us >= 0) {
		prom_family(b, "cbp2p_registry_rtt_seconds", PROM_GAUGE,
		    "The last register or heartbeat: connect, TLS, request "
		    "and reply.");
		prom_double(b, "cbp2p_registry_rtt_seconds", NULL, 0,
		    e->reg.rtt_us / USEC_PER_SEC);
	}
	prom_family(b, "cbp2p_discovery_events_total", PROM_COUNTER,
	    "Discovery's peers: made from the registry's list, dropped from "
	    "it, and newly waiting for approval.");
	l[0].name = "event";
	l[0].value = "added";
	prom_u64(b, "cbp2p_discovery_events_total", l, 1, e->disco_added);
	l[0].value = "removed";
	prom_u64(b, "cbp2p_discovery_events_total", l, 1, e->disco_removed);
	l[0].value = "pending";
	prom_u64(b, "cbp2p_discovery_events_total", l, 1, e->disco_pending);
	by_label(b, "cbp2p_discovery_updates_total", PROM_COUNTER,
	    "Peer updates from the registry, admitted or refused by reason.",
	    "result", m->disco_admit, ADMIT_MAX, admit_name);
	by_label(b, "cbp2p_discovery_endpoints_dropped_total", PROM_COUNTER,
	    "Endpoints of admitted peers dropped, by reason.", "reason",
	    m->disco_ep_dropped, ADMIT_EP_MAX, admit_ep_name);

	prom_one(b, "cbp2p_relay_enabled", PROM_GAUGE,
	    "1 when cbrelayd is to keep a connection to the relay.",
	    e->relay_enabled);
	prom_one(b, "cbp2p_relay_connected", PROM_GAUGE,
	    "1 while cbrelayd's connection to the relay is bound.",
	    e->relay_up);
	prom_one(b, "cbp2p_relay_connections_total", PROM_COUNTER,
	    "Connections to the relay bound; more than one: reconnects.",
	    e->relay_connects);
	by_label(b, "cbp2p_relay_presence_refused_total", PROM_COUNTER,
	    "cbrelayd's presence reports the parent refused, by reason.",
	    "reason", m->relay_refused, RELAY_REFUSE_MAX,
	    relay_refusal_name);

	for (i = 0; i < NAT_MAP_MAX; i++)
		v[i] = m->nat_mapping == i;
	by_label(b, "cbp2p_nat_mapping", PROM_GAUGE,
	    "Our NAT's mapping from STUN on the edge's two ports: 1 for "
	    "the one seen.", "mapping", v, NAT_MAP_MAX, nat_mapping_name);
	prom_one(b, "cbp2p_nat_refused_total", PROM_COUNTER,
	    "STUN ALT-PORTs and peers' NAT values refused.", m->nat_refused);
	prom_one(b, "cbp2p_control_refused_total", PROM_COUNTER,
	    "Control requests refused.", m->ctl_bad);
	prom_one(b, "cbp2p_control_monitors_dropped_total", PROM_COUNTER,
	    "cbp2pctl monitor connections dropped for falling behind.",
	    m->monitors_dropped);
	prom_one(b, "cbp2p_child_fds_closed_total", PROM_COUNTER,
	    "Descriptors a child passed where none belongs.",
	    m->child_fds_closed);
}

/* The key as label "peer"; and the peer's own values. */
static void
peer_metrics(struct evbuffer *b, const struct metrics_snap *s)
{
	const struct ctl_peer	*p;
	struct prom_label	 l[2], info[PEER_INFO_LABELS];
	char			 reason[LABEL_MAX];
	time_t			 now = time(NULL);
	uint32_t		 i;

	prom_family(b, "cbp2p_peer_info", PROM_GAUGE,
	    "1 for each peer, with its name, routing, path and why.");
	info[0].name = "peer";
	info[1].name = "name";
	info[2].name = "routing";
	info[3].name = "path";
	info[4].name = "reason";
	info[5].name = "relay_presence";
	info[6].name = "nat";
	info[4].value = reason;
	for (i = 0; i < s->npeers; i++) {
		p = &s->peers[i];
		prom_snake(reason, sizeof(reason), path_reason_name(p->reason));
		info[0].value = p->public_key;
		info[1].value = p->name;
		info[2].value = peer_path_name(p->routing);
		info[3].value = p->has_path ? peer_path_name(p->active) :
		    "none";
		info[5].value = relay_presence_name(p->relay_presence);
		info[6].value = nat_mapping_name(p->nat);
		prom_u64(b, "cbp2p_peer_info", info, nitems(info), 1);
	}
	l[0].name = "peer";

#define PER_PEER(name, type, help, expr) do {				\
	prom_family(b, name, type, help);				\
	for (i = 0; i < s->npeers; i++) {				\
		p = &s->peers[i];					\
		l[0].value = p->public_key;				\
		expr;							\
	}								\
} while (0)

	PER_PEER("cbp2p_peer_receive_bytes_total", PROM_COUNTER,
	    "Bytes received from the peer, WireGuard messages whole.",
	    prom_u64(b, "cbp2p_peer_receive_bytes_total", l, 1, p->rx_bytes));
	PER_PEER("cbp2p_peer_transmit_bytes_total", PROM_COUNTER,
	    "Bytes sent to the peer, WireGuard messages whole.",
	    prom_u64(b, "cbp2p_peer_transmit_bytes_total", l, 1,
	    p->tx_bytes));
	PER_PEER("cbp2p_peer_receive_packets_total", PROM_COUNTER,
	    "WireGuard messages received from the peer.",
	    prom_u64(b, "cbp2p_peer_receive_packets_total", l, 1,
	    p->rx_packets));
	PER_PEER("cbp2p_peer_transmit_packets_total", PROM_COUNTER,
	    "WireGuard messages sent to the peer.",
	    prom_u64(b, "cbp2p_peer_transmit_packets_total", l, 1,
	    p->tx_packets));
	PER_PEER("cbp2p_peer_latest_handshake_seconds", PROM_GAUGE,
	    "Unix time of the latest handshake; 0 never.",
	    prom_u64(b, "cbp2p_peer_latest_handshake_seconds", l, 1,
	    p->last_handshake > 0 ? (uint64_t)p->last_handshake : 0));
	PER_PEER("cbp2p_peer_handshake_age_seconds", PROM_GAUGE,
	    "Seconds since the latest handshake; absent: none yet.",
	    if (p->last_handshake > 0)
		prom_u64(b, "cbp2p_peer_handshake_age_seconds", l, 1,
		    now > p->last_handshake ?
		    (uint64_t)(now - p->last_handshake) : 0));
	PER_PEER("cbp2p_peer_switches_total", PROM_COUNTER,
	    "The peer's path switches.",
	    prom_u64(b, "cbp2p_peer_switches_total", l, 1, p->switches));
	prom_family(b, "cbp2p_peer_path_rtt_seconds", PROM_GAUGE,
	    "A hybrid peer's smoothed probe RTT on each path measured.");
	l[1].name = "path";
	for (i = 0; i < s->npeers; i++) {
		p = &s->peers[i];
		l[0].value = p->public_key;
		l[1].value = "direct";
		if (p->direct.rtt_us >= 0)
			prom_double(b, "cbp2p_peer_path_rtt_seconds", l, 2,
			    p->direct.rtt_us / USEC_PER_SEC);
		l[1].value = "relay";
		if (p->relayed.rtt_us >= 0)
			prom_double(b, "cbp2p_peer_path_rtt_seconds", l, 2,
			    p->relayed.rtt_us / USEC_PER_SEC);
	}
#undef PER_PEER
}

static void
mesh_metrics(struct evbuffer *b)
{
	struct prom_label	 l;
	size_t			 i;

	prom_one(b, "cbp2p_mesh_hybrid_peers", PROM_GAUGE,
	    "Hybrid peers cbmeshd chooses a path for.", mesh.npeers);
	prom_one(b, "cbp2p_mesh_health_reports_total", PROM_COUNTER,
	    "Probe reports cbmeshd took.", mesh.reports);
	prom_one(b, "cbp2p_mesh_peers_refused_total", PROM_COUNTER,
	    "Probe reports of peers over max_peers.", mesh.refused);
	prom_family(b, "cbp2p_peer_rtt_seconds", PROM_HISTOGRAM,
	    "Hybrid peers' smoothed probe RTT at each probe report.");
	l.name = "path";
	for (i = 0; i < nitems(mesh.rtt); i++) {
		l.value = rtt_path[i];
		prom_hist(b, "cbp2p_peer_rtt_seconds", &l, 1, &mesh.rtt[i]);
	}
	prom_one(b, "cbp2p_metrics_scrapes_total", PROM_COUNTER,
	    "GET /metrics served.", mesh.scrapes);
}

static void
metrics_write(struct evbuffer *b)
{
	struct prom_label	 l;
	struct timespec		 now;

	prom_family(b, "cbp2p_build_info", PROM_GAUGE,
	    "1, labelled with the version of cbp2p.");
	l.name = "version";
	l.value = CBP2P_VERSION;
	prom_u64(b, "cbp2p_build_info", &l, 1, 1);
	if (mesh.have_snap) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		prom_one(b, "cbp2p_metrics_snapshot_age_seconds", PROM_GAUGE,
		    "Seconds since the parent's snapshot shown here.",
		    (uint64_t)(now.tv_sec - mesh.snap.taken.tv_sec));
		node_metrics(b, &mesh.snap);
		peer_metrics(b, &mesh.snap);
	}
	mesh_metrics(b);
}

/* ---- HTTP ----------------------------------------------------------- */

/* Counted before it is written: a scrape sees itself. */
static void
metrics_body(struct evbuffer *b, void *arg)
{
	mesh.scrapes++;
	metrics_write(b);
}

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	prom_reply(req, metrics_body, arg);
}

/* Serve on fd, or stop serving when it is -1. */
static void
metrics_listen(struct child *c, int fd)
{
	if (mesh.http != NULL) {
		evhttp_free(mesh.http);	/* closes the old listener */
		mesh.http = NULL;
	}
	if (fd == -1) {
		log_info("metrics: off");
		return;
	}
	if ((mesh.http = evhttp_new(c->base)) == NULL)
		fatalx("%s: evhttp_new", __func__);
	evhttp_set_allowed_methods(mesh.http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD);
	evhttp_set_timeout(mesh.http, METRICS_HTTP_TIMEOUT);
	evhttp_set_max_headers_size(mesh.http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(mesh.http, 0);
	evhttp_set_gencb(mesh.http, metrics_request, NULL);
	if (evhttp_accept_socket(mesh.http, fd) == -1)
		fatalx("%s: evhttp_accept_socket", __func__);
	log_debug("metrics: serving");
}

/* ---- the parent's snapshot ------------------------------------------ */

static void
snap_peer(struct child *c, const struct ctl_peer *in)
{
	struct metrics_snap	*n = &mesh.next;
	struct ctl_peer		*p;
	size_t			 cap;

	if (n->npeers >= c->conf.max_peers) {
		mesh.snap_dropped++;
		return;
	}
	if (n->npeers == n->cap) {
		cap = n->cap == 0 ? 16 : n->cap * 2;
		if (cap > c->conf.max_peers)
			cap = c->conf.max_peers;
		if ((p = reallocarray(n->peers, cap, sizeof(*p))) == NULL)
			fatal("%s", __func__);
		n->peers = p;
		n->cap = cap;
	}
	p = &n->peers[n->npeers++];
	*p = *in;
	/* Terminated whatever came: they go into the text as they are. */
	p->public_key[sizeof(p->public_key) - 1] = '\0';
	p->name[sizeof(p->name) - 1] = '\0';
}

int
metrics_dispatch(struct child *c, struct imsg *imsg)
{
	struct metrics_snap	 t;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;

	switch (imsg->hdr.type) {
	case IMSG_MESH_METRICS_LISTEN:
		if (len != 0)
			fatalx("%s: bad listen length %zu", __func__, len);
		metrics_listen(c, imsg->fd);
		imsg->fd = -1;
		return (1);
	case IMSG_MESH_METRICS_MAIN:
		if (len != sizeof(mesh.next.main))
			fatalx("%s: bad snapshot length %zu", __func__, len);
		memcpy(&mesh.next.main, imsg->data, len);
		mesh.next.npeers = 0;
		mesh.in_snap = 1;
		return (1);
	case IMSG_MESH_METRICS_PEER:
		if (len != sizeof(struct ctl_peer) || !mesh.in_snap)
			fatalx("%s: bad snapshot peer", __func__);
		snap_peer(c, imsg->data);
		return (1);
	case IMSG_MESH_METRICS_END:
		if (len != sizeof(mesh.next.end) || !mesh.in_snap)
			fatalx("%s: bad snapshot end", __func__);
		memcpy(&mesh.next.end, imsg->data, len);
		clock_gettime(CLOCK_MONOTONIC, &mesh.next.taken);
		/* Swap: the next snapshot reuses the old peers' array. */
		t = mesh.snap;
		mesh.snap = mesh.next;
		mesh.next = t;
		mesh.in_snap = 0;
		mesh.have_snap = 1;
		return (1);
	}
	return (0);
}
