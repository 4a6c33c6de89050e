/*
 * cbp2pctl: talk to cbp2pd over its control socket, and make the keys
 * and tokens an operator needs.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cbp2pctl.h"
#include "imsg.h"
#include "stun.h"
#include "textsafe.h"

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif

int		 json_out;

#define SAFE_SLOTS	8	/* safe() results alive in one printf */

/*
 * A string the daemon passes on from a child, the registry or the
 * network (at most size bytes, NUL or not), fit for a terminal: control
 * characters are encoded (text_safe).  JSON output needs none of this:
 * jansson escapes.
 */
const char *
safe(const char *s, size_t size)
{
	static char	 out[SAFE_SLOTS][TEXT_SAFE_LEN(PATH_MAX)];
	static int	 slot;
	char		 in[PATH_MAX];

	if (size > sizeof(in))
		size = sizeof(in);
	memcpy(in, s, size);
	in[size - 1] = '\0';
	slot = (slot + 1) % SAFE_SLOTS;
	return (text_safe(in, out[slot], sizeof(out[slot])));
}

__dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr,
	    "usage: %s [-j] [-s socket] command [argument ...]\n"
	    "       %s status | peers | pending | approve key | reload\n"
	    "       %s ping [-c count] [-i wait] [-W timeout] peer\n"
	    "       %s netcheck | monitor\n"
	    "       %s log verbose | log brief\n"
	    "       %s keygen | pubkey < private-key\n"
	    "       %s token [-r] -a RS256|ES256|HS256 -k keyfile "
	    "[claims.json]\n",
	    __progname, __progname, __progname, __progname, __progname,
	    __progname, __progname);
	exit(1);
}

void
json_print(json_t *o)
{
	char	*s;

	if ((s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL)
		errx(1, "cannot format JSON");
	printf("%s\n", s);
	free(s);
	json_decref(o);
}

static const char *
fmt_uptime(uint64_t secs, char *buf, size_t len)
{
	unsigned long long	 d = secs / 86400, h = secs / 3600 % 24,
				 m = secs / 60 % 60, s = secs % 60;

	if (d > 0)
		snprintf(buf, len, "%llud%02lluh%02llum", d, h, m);
	else
		snprintf(buf, len, "%02llu:%02llu:%02llu", h, m, s);
	return (buf);
}

/* "token expired at 2026-11-30T03:00:00Z" or "token expires at ..." */
static const char *
fmt_token(const struct ctl_status_main *m, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)m->token_exp;
	char		 when[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)m->token_exp);
	snprintf(buf, len, "token %s at %s", m->token_expired ? "expired" :
	    "expires", when);
	return (buf);
}

/* One table, two renderings: text and JSON. */
static void
show_status(const struct ctl_status_main *m, struct child_status *cs,
    int ncs)
{
	json_t		*o, *arr, *drops, *disco, *refused, *paths, *sw;
	char		 up[32], tok[64];
	uint64_t	 total = 0;
	int		 i;

	if (json_out) {
		o = json_object();
		json_object_set_new(o, "pid", json_integer(m->pid));
		json_object_set_new(o, "connection_type",
		    json_string(conn_type_name(m->conn_type)));
		json_object_set_new(o, "routing",
		    json_string(routing_mode_name(m->routing)));
		json_object_set_new(o, "interface", json_string(m->ifname));
		json_object_set_new(o, "public_key",
		    json_string(m->public_key));
		json_object_set_new(o, "uptime", json_integer(m->uptime));
		json_object_set_new(o, "config", json_string(m->config_path));
		json_object_set_new(o, "generation",
		    json_integer(m->generation));
		if (m->token_exp != 0)
			json_object_set_new(o, "token", json_pack(
			    "{s:I, s:b, s:s}", "exp", (json_int_t)m->token_exp,
			    "expired", m->token_expired,
			    "state", fmt_token(m, tok, sizeof(tok))));
		json_object_set_new(o, "reloads", json_integer(m->reloads));
		json_object_set_new(o, "reloads_failed",
		    json_integer(m->reloads_failed));
		json_object_set_new(o, "control_refused",
		    json_integer(m->ctl_bad));
		json_object_set_new(o, "monitors_dropped",
		    json_integer(m->monitors_dropped));
		json_object_set_new(o, "log_level",
		    json_string(m->log_verbose ? "verbose" : "brief"));
		json_object_set_new(o, "listen_port",
		    json_integer(m->listen_port));
		json_object_set_new(o, "peers", json_integer(m->npeers));
		json_object_set_new(o, "cookies_sent",
		    json_integer(m->cookies_sent));
		json_object_set_new(o, "offload", json_pack("{s:b, s:I, s:b, "
		    "s:I, s:I, s:b, s:I}", "enabled", m->offload,
		    "tso_split", (json_int_t)m->tso_split,
		    "uso", m->uso != 0,
		    "uso_split", (json_int_t)m->uso_split,
		    "gso_sends", (json_int_t)m->gso_sends,
		    "gso_refused", m->gso_refused != 0,
		    "gro_coalesced", (json_int_t)m->gro_coalesced));
		json_object_set_new(o, "crypto", json_pack("{s:I, s:I}",
		    "workers", (json_int_t)m->crypt_workers,
		    "parallel_bursts", (json_int_t)m->crypt_parallel));
		json_object_set_new(o, "dns", json_string(m->dns));
		json_object_set_new(o, "stun_packets",
		    json_integer(m->stun_seen));
		json_object_set_new(o, "nat",
		    json_string(nat_mapping_name(m->nat_mapping)));
		json_object_set_new(o, "nat_refused",
		    json_integer(m->nat_refused));
		drops = json_object();
		for (i = 0; i < DROP_MAX; i++)
			json_object_set_new(drops, drop_reason_name(i),
			    json_integer(m->drops[i]));
		json_object_set_new(o, "drops", drops);
		disco = json_object();
		json_object_set_new(disco, "admitted",
		    json_integer(m->disco_admit[ADMIT_OK]));
		refused = json_object();
		for (i = ADMIT_OK + 1; i < ADMIT_MAX; i++)
			json_object_set_new(refused, admit_reason_name(i),
			    json_integer(m->disco_admit[i]));
		json_object_set_new(disco, "refused", refused);
		refused = json_object();
		for (i = ADMIT_EP_OK + 1; i < ADMIT_EP_MAX; i++)
			json_object_set_new(refused, admit_ep_reason_name(i),
			    json_integer(m->disco_ep_dropped[i]));
		json_object_set_new(disco, "endpoints_dropped", refused);
		json_object_set_new(o, "discovery", disco);
		json_object_set_new(o, "child_fds_closed",
		    json_integer(m->child_fds_closed));
		paths = json_pack("{s:I, s:I, s:I, s:b, s:I}",
		    "direct", (json_int_t)m->peers_direct,
		    "relayed", (json_int_t)m->peers_relayed,
		    "none", (json_int_t)m->peers_no_path,
		    "p2p_unavailable", m->p2p_unavailable,
		    "refused", (json_int_t)m->mesh_refused);
		sw = json_object();
		for (i = 0; i < PR_MAX; i++)
			json_object_set_new(sw, path_reason_name(i),
			    json_integer(m->path_switches[i]));
		json_object_set_new(paths, "switches", sw);
		json_object_set_new(o, "paths", paths);
		refused = json_object();
		for (i = 0; i < RELAY_REFUSE_MAX; i++)
			json_object_set_new(refused, relay_refusal_name(i),
			    json_integer(m->relay_refused[i]));
		json_object_set_new(o, "relay_presence_refused", refused);
		arr = json_array();
		for (i = 0; i < ncs; i++) {
			cs[i].state[sizeof(cs[i].state) - 1] = '\0';
			json_array_append_new(arr, json_pack(
			    "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
			    "name", proc_name(cs[i].proc),
			    "pid", (json_int_t)cs[i].pid,
			    "uid", (json_int_t)cs[i].uid,
			    "uptime", (json_int_t)cs[i].uptime,
			    "messages", (json_int_t)cs[i].msgs,
			    "configs", (json_int_t)cs[i].configs,
			    "generation", (json_int_t)cs[i].generation,
			    "state", cs[i].state));
		}
		json_object_set_new(o, "children", arr);
		json_print(o);
		return;
	}
	printf("%-16s %s\n", "connection type:", conn_type_name(m->conn_type));
	printf("%-16s %s\n", "routing:", routing_mode_name(m->routing));
	printf("%-16s %s\n", "interface:", SAFE(m->ifname));
	printf("%-16s %s\n", "public key:", m->public_key);
	printf("%-16s %s\n", "uptime:", fmt_uptime(m->uptime, up,
	    sizeof(up)));
	printf("%-16s %s (generation %llu, %llu reloads, %llu refused)\n",
	    "config:", SAFE(m->config_path), (unsigned long long)m->generation,
	    (unsigned long long)m->reloads,
	    (unsigned long long)m->reloads_failed);
	if (m->token_exp != 0)
		printf("%-16s %s%s\n", "token:", fmt_token(m, tok,
		    sizeof(tok)), m->token_expired ? ": not registering, "
		    "relay off; reload with a new token" : "");
	printf("%-16s %llu refused requests", "control:",
	    (unsigned long long)m->ctl_bad);
	if (m->monitors_dropped > 0)
		printf(", %llu monitors dropped for falling behind",
		    (unsigned long long)m->monitors_dropped);
	printf("\n");
	printf("%-16s %s\n", "log level:", m->log_verbose ? "verbose" :
	    "brief");
	printf("%-16s %u UDP, %u peers, %llu cookie replies sent\n",
	    "wireguard:", m->listen_port, m->npeers,
	    (unsigned long long)m->cookies_sent);
	printf("%-16s %s mapping", "nat:", nat_mapping_name(m->nat_mapping));
	if (m->nat_refused > 0)
		printf(" (%llu bad values refused)",
		    (unsigned long long)m->nat_refused);
	printf("\n");
	if (m->offload)
		printf("%-16s %llu TCP and %llu UDP%s super-packets cut, "
		    "%llu segmented sends%s, %llu segments coalesced\n",
		    "offload:", (unsigned long long)m->tso_split,
		    (unsigned long long)m->uso_split,
		    m->uso ? "" : " (no USO)",
		    (unsigned long long)m->gso_sends,
		    m->gso_refused ? " (refused: off)" : "",
		    (unsigned long long)m->gro_coalesced);
	else
		printf("%-16s off\n", "offload:");
	printf("%-16s %u workers, %llu bursts shared\n", "crypto:",
	    m->crypt_workers, (unsigned long long)m->crypt_parallel);
	printf("%-16s %s\n", "dns:", m->dns);
	printf("%-16s", "dropped:");
	for (i = 0; i < DROP_MAX; i++) {
		if (m->drops[i] == 0)
			continue;
		printf(" %s %llu", drop_reason_name(i),
		    (unsigned long long)m->drops[i]);
		total += m->drops[i];
	}
	printf("%s\n", total ? "" : " none");
	printf("%-16s %llu peers admitted, refused:", "discovery:",
	    (unsigned long long)m->disco_admit[ADMIT_OK]);
	for (total = 0, i = ADMIT_OK + 1; i < ADMIT_MAX; i++) {
		if (m->disco_admit[i] == 0)
			continue;
		printf(" %s %llu", admit_reason_name(i),
		    (unsigned long long)m->disco_admit[i]);
		total += m->disco_admit[i];
	}
	printf("%s\n", total ? "" : " none");
	printf("%-16s", "endpoints:");
	for (total = 0, i = ADMIT_EP_OK + 1; i < ADMIT_EP_MAX; i++) {
		if (m->disco_ep_dropped[i] == 0)
			continue;
		printf(" %s %llu", admit_ep_reason_name(i),
		    (unsigned long long)m->disco_ep_dropped[i]);
		total += m->disco_ep_dropped[i];
	}
	printf("%s\n", total ? " dropped" : " none dropped");
	printf("%-16s %u direct, %u relayed, %u without a path",
	    "paths:", m->peers_direct, m->peers_relayed, m->peers_no_path);
	for (total = 0, i = 0; i < PR_MAX; i++)
		total += m->path_switches[i];
	printf("; %llu switch%s\n", (unsigned long long)total,
	    total == 1 ? "" : "es");
	if (m->p2p_unavailable)
		printf("%-16s unavailable: every peer runs on the relay; "
		    "direct paths are retried\n", "p2p:");
	if (m->child_fds_closed > 0)
		printf("%-16s %llu passed by children, closed\n",
		    "descriptors:", (unsigned long long)m->child_fds_closed);
	for (total = 0, i = 0; i < RELAY_REFUSE_MAX; i++)
		total += m->relay_refused[i];
	if (total > 0) {
		printf("%-16s presence reports refused:", "relay:");
		for (i = 0; i < RELAY_REFUSE_MAX; i++)
			if (m->relay_refused[i] > 0)
				printf(" %s %llu", relay_refusal_name(i),
				    (unsigned long long)m->relay_refused[i]);
		printf("\n");
	}
	printf("\n%-10s %8s %6s %10s %9s %10s\n", "CHILD", "PID", "UID",
	    "UPTIME", "MESSAGES", "GENERATION");
	for (i = 0; i < ncs; i++)
		printf("%-10s %8ld %6lu %10s %9llu %10llu\n",
		    proc_name(cs[i].proc), (long)cs[i].pid,
		    (unsigned long)cs[i].uid,
		    fmt_uptime(cs[i].uptime, up, sizeof(up)),
		    (unsigned long long)cs[i].msgs,
		    (unsigned long long)cs[i].generation);
	for (i = 0; i < ncs; i++) {
		cs[i].state[sizeof(cs[i].state) - 1] = '\0';
		if (cs[i].state[0] != '\0')
			printf("%-10s %s\n", proc_name(cs[i].proc),
			    SAFE(cs[i].state));
	}
}

struct peer_list {
	struct ctl_peer		*peers;
	size_t			 npeers;
	struct cidr		*aips;		/* in peer order */
	size_t			 naips;
};

static void
fmt_ago(int64_t t, char *buf, size_t len)
{
	time_t	 now = time(NULL);

	if (t == 0)
		snprintf(buf, len, "never");
	else
		snprintf(buf, len, "%llds ago", (long long)(now - t));
}

/* What a peer's packets use now: a path, or none that works yet. */
static const char *
peer_active_name(const struct ctl_peer *p)
{
	if (!p->has_path)
		return ("none");
	return (peer_path_name(p->active));
}

static json_t *
json_ms(int64_t us)
{
	return (us < 0 ? json_null() : json_real(us / 1000.0));
}

static json_t *
json_path(const struct ctl_path *cp)
{
	json_t	*o;

	o = json_pack("{s:I, s:I}", "loss_pct", (json_int_t)cp->loss_pct,
	    "probes", (json_int_t)cp->probes);
	json_object_set_new(o, "rtt_ms", json_ms(cp->rtt_us));
	json_object_set_new(o, "last_rx_ms", cp->last_rx_ms < 0 ?
	    json_null() : json_integer(cp->last_rx_ms));
	return (o);
}

static void
show_path(const char *name, const struct ctl_path *cp)
{
	printf("  %s: ", name);
	if (cp->rtt_us >= 0)
		printf("rtt %.3f ms, ", cp->rtt_us / 1000.0);
	printf("loss %u%% of %u probes, ", cp->loss_pct, cp->probes);
	if (cp->last_rx_ms >= 0)
		printf("last packet %.1fs ago\n", cp->last_rx_ms / 1000.0);
	else
		printf("no packet yet\n");
}

/* How long a peer has been present at the relay, or gone from it. */
static void
fmt_for(int64_t t, char *buf, size_t len)
{
	time_t	 now = time(NULL);

	if (t == 0)
		buf[0] = '\0';
	else
		snprintf(buf, len, " for %llds", (long long)(now - t));
}

static void
show_peers(const struct peer_list *l)
{
	json_t		*arr, *o, *aips;
	char		 cidr[64], ago[32], since[32];
	size_t		 i, j, a = 0;

	arr = json_array();
	for (i = 0; i < l->npeers; i++) {
		const struct ctl_peer	*p = &l->peers[i];

		aips = json_array();
		/* A peer gone from the relay says so on its first line. */
		if (!json_out)
			printf("peer: %s%s%s\n", p->public_key,
			    p->from_token ? " (token)" : "",
			    p->relay_presence == RELAY_PRESENCE_GONE ?
			    " (GONE from the relay)" : "");
		for (j = 0; j < p->nallowed_ips && a < l->naips; j++, a++) {
			cidr_format(&l->aips[a], cidr, sizeof(cidr));
			json_array_append_new(aips, json_string(cidr));
		}
		fmt_ago(p->last_handshake, ago, sizeof(ago));
		if (json_out) {
			o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s?, s:s?, "
			    "s:b, s:I, s:I, s:I, s:I, s:o}",
			    "public_key", p->public_key,
			    "path", peer_active_name(p),
			    "routing", peer_path_name(p->routing),
			    "reason", path_reason_name(p->reason),
			    "switches", (json_int_t)p->switches,
			    "relay", p->active == PATH_RELAY && p->relay[0] ?
			    p->relay : NULL,
			    "endpoint", p->endpoint[0] ? p->endpoint : NULL,
			    "preshared_key", p->has_psk,
			    "persistent_keepalive", (json_int_t)p->keepalive,
			    "latest_handshake", (json_int_t)p->last_handshake,
			    "rx_bytes", (json_int_t)p->rx_bytes,
			    "tx_bytes", (json_int_t)p->tx_bytes,
			    "allowed_ips", aips);
			json_object_set_new(o, "name", p->name[0] ?
			    json_string(p->name) : json_null());
			json_object_set_new(o, "relay_state", json_string(
			    relay_presence_name(p->relay_presence)));
			json_object_set_new(o, "relay_state_since",
			    json_integer(p->relay_since));
			json_object_set_new(o, "rtt_ms", json_ms(p->rtt_us));
			json_object_set_new(o, "rx_packets",
			    json_integer(p->rx_packets));
			json_object_set_new(o, "tx_packets",
			    json_integer(p->tx_packets));
			json_object_set_new(o, "nat",
			    json_string(nat_mapping_name(p->nat)));
			if (p->routing == PATH_HYBRID) {
				json_object_set_new(o, "direct",
				    json_path(&p->direct));
				json_object_set_new(o, "relayed",
				    json_path(&p->relayed));
			}
			json_array_append_new(arr, o);
			continue;
		}
		printf("  name: %s\n", p->name[0] ? SAFE(p->name) : "-");
		printf("  path: %s", peer_active_name(p));
		if (p->active == PATH_RELAY && p->relay[0] != '\0')
			printf(" via %s", SAFE(p->relay));
		if (p->reason != PR_NONE)
			printf(" (%s)", path_reason_name(p->reason));
		if (p->routing == PATH_HYBRID)
			printf(", %u switch%s", p->switches,
			    p->switches == 1 ? "" : "es");
		printf("\n");
		if (p->rtt_us >= 0)
			printf("  rtt: %.3f ms\n", p->rtt_us / 1000.0);
		if (p->routing == PATH_HYBRID) {
			show_path("direct", &p->direct);
			show_path("relayed", &p->relayed);
		}
		if (p->path == PATH_RELAY || p->routing == PATH_HYBRID ||
		    p->relay_presence != RELAY_PRESENCE_UNKNOWN) {
			fmt_for(p->relay_presence == RELAY_PRESENCE_UNKNOWN ?
			    0 : p->relay_since, since, sizeof(since));
			printf("  relay: %s%s\n",
			    relay_presence_name(p->relay_presence), since);
		}
		printf("  endpoint: %s\n", p->endpoint[0] ? SAFE(p->endpoint) :
		    "(none)");
		if (p->nat != NAT_MAP_UNKNOWN)
			printf("  nat: %s mapping\n", nat_mapping_name(p->nat));
		printf("  allowed ips:");
		for (j = 0; j < json_array_size(aips); j++)
			printf("%s %s", j ? "," : "",
			    json_string_value(json_array_get(aips, j)));
		printf("%s\n", json_array_size(aips) ? "" : " (none)");
		printf("  latest handshake: %s\n", ago);
		printf("  transfer: %llu B received, %llu B sent "
		    "(%llu and %llu packets)\n",
		    (unsigned long long)p->rx_bytes,
		    (unsigned long long)p->tx_bytes,
		    (unsigned long long)p->rx_packets,
		    (unsigned long long)p->tx_packets);
		if (p->keepalive)
			printf("  persistent keepalive: every %u seconds\n",
			    p->keepalive);
		json_decref(aips);
	}
	if (json_out)
		json_print(arr);
	else
		json_decref(arr);
}

static void
show_result(const struct ctl_result *r)
{
	json_t	*o;

	if (json_out) {
		o = json_pack("{s:b, s:s}", "ok", r->ok, "message", r->msg);
		json_print(o);
	} else
		printf("%s\n", SAFE(r->msg));
}

int
ctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "%s: path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect %s", path);
	return (fd);
}

/* Send one request, then read replies until the daemon says it is done. */
static int
ctl_request(const char *path, uint32_t type, const void *data, size_t len)
{
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	struct pollfd		 pfd;
	struct ctl_status_main	 m;
	struct child_status	 cs[CBP2PD_MAX_CHILDREN];
	struct ctl_result	 r;
	struct peer_list	 pl;
	json_t			*pend = NULL;
	char			 b64[WG_KEY_B64_LEN + 1];
	ssize_t			 n;
	size_t			 dlen;
	int			 ncs = 0, have_main = 0, done = 0, rc = 0;

	memset(&pl, 0, sizeof(pl));
	imsg_init(&ibuf, ctl_connect(path));
	if (imsg_compose(&ibuf, type, 0, 0, -1, data, len) == -1 ||
	    imsg_flush(&ibuf) == -1)
		err(1, "write to %s", path);

	while (!done) {
		pfd.fd = ibuf.fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, CTL_READ_TIMEOUT_MS)) == -1)
			err(1, "poll");
		if (n == 0)
			errx(1, "no reply from cbp2pd");
		if ((n = imsg_read(&ibuf)) == -1 && errno != EAGAIN)
			err(1, "read from %s", path);
		if (n == 0)
			errx(1, "cbp2pd closed the connection");
		while (!done) {
			if ((n = imsg_get(&ibuf, &imsg)) == -1)
				err(1, "malformed reply");
			if (n == 0)
				break;
			dlen = imsg.hdr.len - IMSG_HEADER_SIZE;
			switch (imsg.hdr.type) {
			case IMSG_CTL_STATUS_MAIN:
				if (dlen != sizeof(m))
					errx(1, "bad status reply");
				memcpy(&m, imsg.data, sizeof(m));
				have_main = 1;
				break;
			case IMSG_CTL_STATUS_CHILD:
				if (dlen != sizeof(cs[0]) ||
				    ncs >= CBP2PD_MAX_CHILDREN)
					errx(1, "bad child status reply");
				memcpy(&cs[ncs++], imsg.data, sizeof(cs[0]));
				break;
			case IMSG_CTL_PEER:
				if (dlen != sizeof(struct ctl_peer) ||
				    pl.npeers >= CTL_PEERS_MAX)
					errx(1, "bad peer reply");
				if ((pl.peers = reallocarray(pl.peers,
				    pl.npeers + 1, sizeof(*pl.peers))) == NULL)
					err(1, NULL);
				memcpy(&pl.peers[pl.npeers], imsg.data, dlen);
				pl.peers[pl.npeers].public_key[WG_KEY_B64_LEN]
				    = '\0';
				pl.peers[pl.npeers].endpoint[HOSTPORT_MAX -
				    1] = '\0';
				pl.peers[pl.npeers].relay[HOSTPORT_MAX - 1] =
				    '\0';
				pl.peers[pl.npeers].name[DISCO_NAME_MAX] = '\0';
				pl.npeers++;
				break;
			case IMSG_CTL_PEER_AIP:
				if (dlen != sizeof(struct cidr) ||
				    pl.naips >= CTL_AIPS_MAX)
					errx(1, "bad allowed-ip reply");
				if ((pl.aips = reallocarray(pl.aips,
				    pl.naips + 1, sizeof(*pl.aips))) == NULL)
					err(1, NULL);
				memcpy(&pl.aips[pl.naips++], imsg.data, dlen);
				break;
			case IMSG_CTL_PENDING:
				if (dlen != WG_KEY_LEN)
					errx(1, "bad pending reply");
				wgkey_to_b64(b64, imsg.data);
				if (json_out) {
					if (pend == NULL)
						pend = json_array();
					json_array_append_new(pend,
					    json_string(b64));
				} else
					printf("%s\n", b64);
				break;
			case IMSG_CTL_END:
				if (type == IMSG_CTL_PENDING) {
					if (json_out)
						json_print(pend != NULL ? pend :
						    json_array());
				} else if (type == IMSG_CTL_PEERS) {
					show_peers(&pl);
				} else {
					if (!have_main)
						errx(1, "status reply "
						    "incomplete");
					show_status(&m, cs, ncs);
				}
				done = 1;
				break;
			case IMSG_CTL_RESULT:
				if (dlen != sizeof(r))
					errx(1, "bad result reply");
				memcpy(&r, imsg.data, sizeof(r));
				r.msg[sizeof(r.msg) - 1] = '\0';
				show_result(&r);
				rc = r.ok ? 0 : 1;
				done = 1;
				break;
			default:
				errx(1, "unexpected reply type %u",
				    imsg.hdr.type);
			}
			imsg_free(&imsg);
		}
	}
	close(ibuf.fd);
	imsg_clear(&ibuf);
	free(pl.peers);
	free(pl.aips);
	return (rc);
}

static void
print_keys(const uint8_t priv[WG_KEY_LEN], int with_private)
{
	uint8_t	 pub[WG_KEY_LEN];
	char	 b64priv[WG_KEY_B64_LEN + 1], b64pub[WG_KEY_B64_LEN + 1];
	json_t	*o;

	if (wgkey_public(pub, priv) == -1)
		errx(1, "cannot derive the public key");
	wgkey_to_b64(b64priv, priv);
	wgkey_to_b64(b64pub, pub);
	if (json_out) {
		o = json_object();
		if (with_private)
			json_object_set_new(o, "private_key",
			    json_string(b64priv));
		json_object_set_new(o, "public_key", json_string(b64pub));
		json_print(o);
	} else
		printf("%s\n", with_private ? b64priv : b64pub);
	sodium_memzero(b64priv, sizeof(b64priv));
}

static int
cmd_keygen(void)
{
	uint8_t	 priv[WG_KEY_LEN];

	wgkey_generate(priv);
	print_keys(priv, 1);
	sodium_memzero(priv, sizeof(priv));
	return (0);
}

static int
cmd_pubkey(void)
{
	uint8_t	 priv[WG_KEY_LEN];
	char	 line[WG_KEY_B64_LEN + 3];
	size_t	 len;

	if (fgets(line, sizeof(line), stdin) == NULL)
		errx(1, "no private key on standard input");
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	if (wgkey_from_b64(priv, line) == -1) {
		sodium_memzero(line, sizeof(line));
		errx(1, "not a key: expected 32 bytes in base64");
	}
	sodium_memzero(line, sizeof(line));
	print_keys(priv, 0);
	sodium_memzero(priv, sizeof(priv));
	return (0);
}

/* Read all of a file (or stdin for "-") up to max bytes. */
static unsigned char *
read_all(const char *path, size_t max, size_t *lenp)
{
	unsigned char	*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s", path);
	if ((buf = malloc(max + 1)) == NULL)
		err(1, NULL);
	while ((n = read(fd, buf + len, max + 1 - len)) > 0) {
		len += n;
		if (len > max)
			errx(1, "%s: larger than %zu bytes", path, max);
	}
	if (n == -1)
		err(1, "%s", path);
	if (fd != STDIN_FILENO)
		close(fd);
	buf[len] = '\0';
	*lenp = len;
	return (buf);
}

/*
 * Embed a registry token in the node claims: the same issuer's signature
 * over the node's public key and mesh, without the private key, for
 * cbdiscod to show the registry (doc/registry.md).
 */
static char *
embed_registry_token(const char *claims, enum jwt_keyalg alg,
    const unsigned char *key, size_t keylen)
{
	json_t		*c, *r, *v;
	const char	*pub, *mesh;
	char		*rs, *jwt, *out, errbuf[CFG_ERR_MAX];
	static const char *copy[] = { "iss", "aud", "sub", "exp", "nbf" };
	size_t		 i;

	if ((c = json_loads(claims, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(c))
		errx(1, "claims: not a JSON object");
	if ((pub = json_string_value(json_object_get(json_object_get(c,
	    "wireguard_config"), "public_key"))) == NULL)
		errx(1, "claims: wireguard_config.public_key missing");
	if ((mesh = json_string_value(json_object_get(c, "mesh"))) == NULL &&
	    (mesh = json_string_value(json_object_get(json_object_get(c,
	    "network_config"), "subnet"))) == NULL)
		errx(1, "claims: no mesh and no network_config.subnet to "
		    "name the mesh");
	r = json_pack("{s:s, s:s, s:s}", "token_use", "registry",
	    "public_key", pub, "mesh", mesh);
	for (i = 0; i < nitems(copy); i++)
		if ((v = json_object_get(c, copy[i])) != NULL)
			json_object_set(r, copy[i], v);
	/* What the node may claim in the mesh: the registry enforces it. */
	if ((v = json_object_get(json_object_get(c, "network_config"),
	    "address")) != NULL)
		json_object_set(r, "address", v);
	if ((v = json_object_get(json_object_get(c, "wireguard_config"),
	    "allowed_ips")) != NULL)
		json_object_set(r, "allowed_ips", v);
	if ((rs = json_dumps(r, JSON_COMPACT)) == NULL)
		errx(1, "cannot format the registry claims");
	if (token_mint(rs, alg, key, keylen, &jwt, errbuf,
	    sizeof(errbuf)) == -1)
		errx(1, "registry token: %s", errbuf);
	json_object_del(c, "mesh");
	json_object_set_new(c, "registry_token", json_string(jwt));
	if ((out = json_dumps(c, JSON_COMPACT)) == NULL)
		errx(1, "cannot format the claims");
	free(rs);
	free(jwt);
	json_decref(r);
	json_decref(c);
	return (out);
}

static int
cmd_token(int argc, char *argv[])
{
	enum jwt_keyalg	 alg = KEYALG_RS256;
	const char	*keyfile = NULL, *claimsfile = "-";
	unsigned char	*key, *claims;
	char		*jwt, errbuf[CFG_ERR_MAX];
	char		*embedded;
	size_t		 keylen, claimslen;
	int		 ch, reg = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "a:k:r")) != -1) {
		switch (ch) {
		case 'r':
			reg = 1;
			break;
		case 'a':
			if (keyalg_parse(optarg, &alg) == -1)
				errx(1, "unknown algorithm %s", optarg);
			break;
		case 'k':
			keyfile = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (keyfile == NULL || argc > 1)
		usage();
	if (argc == 1)
		claimsfile = argv[0];

	key = read_all(keyfile, VERIFY_KEY_MAX_LEN, &keylen);
	claims = read_all(claimsfile, CLAIMS_MAX_LEN, &claimslen);
	if (reg) {
		embedded = embed_registry_token((char *)claims, alg, key,
		    keylen);
		freezero(claims, claimslen + 1);
		claims = (unsigned char *)embedded;
		claimslen = strlen(embedded);
	}
	if (token_mint((char *)claims, alg, key, keylen, &jwt, errbuf,
	    sizeof(errbuf)) == -1) {
		freezero(key, keylen + 1);
		errx(1, "%s", errbuf);
	}
	freezero(key, keylen + 1);
	freezero(claims, claimslen + 1);
	if (json_out)
		json_print(json_pack("{s:s, s:s}", "alg", keyalg_name(alg),
		    "token", jwt));
	else
		printf("%s\n", jwt);
	freezero(jwt, strlen(jwt));
	return (0);
}

int
main(int argc, char *argv[])
{
	const char	*sock = CFG_DEFAULT_CONTROL;
	enum ctl_action	 action;
	uint8_t		 key[WG_KEY_LEN];
	int		 ch, used, verbose;

	while ((ch = getopt(argc, argv, "+js:")) != -1) {
		switch (ch) {
		case 'j':
			json_out = 1;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (sodium_init() == -1)
		errx(1, "libsodium initialisation failed");

	action = parse_command(argc, argv, &used);
	if (action != CTL_TOKEN && action != CTL_APPROVE &&
	    action != CTL_PING && used != argc)
		usage();

	switch (action) {
	case CTL_STATUS:
		return (ctl_request(sock, IMSG_CTL_STATUS, NULL, 0));
	case CTL_PEERS:
		return (ctl_request(sock, IMSG_CTL_PEERS, NULL, 0));
	case CTL_PENDING:
		return (ctl_request(sock, IMSG_CTL_PENDING, NULL, 0));
	case CTL_APPROVE:
		if (argc != used + 1 || wgkey_from_b64(key, argv[used]) == -1)
			errx(1, "approve: expected one public key in base64");
		return (ctl_request(sock, IMSG_CTL_APPROVE, key, sizeof(key)));
	case CTL_RELOAD:
		return (ctl_request(sock, IMSG_CTL_RELOAD, NULL, 0));
	case CTL_LOG_VERBOSE:
	case CTL_LOG_BRIEF:
		verbose = action == CTL_LOG_VERBOSE;
		return (ctl_request(sock, IMSG_CTL_LOG_VERBOSE, &verbose,
		    sizeof(verbose)));
	case CTL_PING:
		return (cmd_ping(sock, argc - used + 1, argv + used - 1));
	case CTL_NETCHECK:
		return (cmd_netcheck(sock));
	case CTL_MONITOR:
		return (cmd_monitor(sock));
	case CTL_KEYGEN:
		return (cmd_keygen());
	case CTL_PUBKEY:
		return (cmd_pubkey());
	case CTL_TOKEN:
		return (cmd_token(argc - used + 1, argv + used - 1));
	default:
		usage();
	}
}
