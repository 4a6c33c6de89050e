/*
 * cbp2pctl's live views: ping (probes inside a peer's session, like
 * tailscale ping), netcheck (STUN, NAT, registry and relay, measured
 * now) and monitor (events as they happen, like bgpctl monitor).  Each
 * has a text and a JSON rendering.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbp2pctl.h"
#include "imsg.h"
#include "stun.h"

#define MS_PER_SEC		1000
#define US_PER_MS		1000.0
#define NS_PER_MS		1000000
#define SHORT_KEY		8	/* a key's prefix names a peer */
#define LINE_MAX_EVENT		512

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * MS_PER_SEC + ts.tv_nsec / NS_PER_MS);
}

static void
ctl_send(struct imsgbuf *ibuf, uint32_t type, const void *data, size_t len)
{
	if (imsg_compose(ibuf, type, 0, 0, -1, data, len) == -1 ||
	    imsg_flush(ibuf) == -1)
		err(1, "write to cbp2pd");
}

/* Wait up to ms (-1: for ever) and read; 0 when the time ran out. */
static int
ctl_wait(struct imsgbuf *ibuf, int ms)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	pfd.fd = ibuf->fd;
	pfd.events = POLLIN;
	if ((n = poll(&pfd, 1, ms)) == -1) {
		if (errno == EINTR)
			return (0);
		err(1, "poll");
	}
	if (n == 0)
		return (0);
	if ((n = imsg_read(ibuf)) == -1 && errno != EAGAIN)
		err(1, "read from cbp2pd");
	if (n == 0)
		errx(1, "cbp2pd closed the connection");
	return (1);
}

/* A refusal in place of the reply: say why and stop. */
static __dead void
ctl_refused(struct imsg *imsg)
{
	struct ctl_result	 r;

	if (imsg->hdr.len - IMSG_HEADER_SIZE != sizeof(r))
		errx(1, "bad result reply");
	memcpy(&r, imsg->data, sizeof(r));
	r.msg[sizeof(r.msg) - 1] = '\0';
	if (json_out) {
		json_print(json_pack("{s:b, s:s}", "ok", 0, "message",
		    r.msg));
		exit(1);
	}
	errx(1, "%s", r.msg);
}

/* ---- ping ------------------------------------------------------------ */

struct ping_run {
	const char	*peer;
	uint32_t	 count;
	uint32_t	 timeout_ms;
	uint32_t	 replies;
	uint32_t	 pongs;
	uint32_t	 timeouts;	/* went out in a session, no answer */
	uint32_t	 no_session;
	uint32_t	 other;		/* no endpoint, busy */
	double		 min, max, sum;	/* ms */
	struct ctl_ping	 last;		/* a reply naming the peer */
	struct ctl_ping	 last_pong;
	json_t		*probes;
};

static const char *
ping_who(const struct ctl_ping *p, char *buf, size_t len)
{
	char	 key[SHORT_KEY + 1];

	strlcpy(key, p->public_key, sizeof(key));
	if (p->name[0] != '\0')
		snprintf(buf, len, "%s (%s)", SAFE(p->name), key);
	else
		snprintf(buf, len, "%s", key);
	return (buf);
}

static void
ping_path(const struct ctl_ping *p, char *buf, size_t len)
{
	if (p->path == PATH_RELAY)
		snprintf(buf, len, "relay");
	else
		snprintf(buf, len, "direct %s", SAFE(p->endpoint));
}

static void
ping_reply(struct ping_run *pr, struct ctl_ping *p)
{
	char	 who[OPS_NAME_MAX + SHORT_KEY + 4], path[HOSTPORT_MAX + 8];
	double	 ms;
	json_t	*o;

	p->public_key[sizeof(p->public_key) - 1] = '\0';
	p->name[sizeof(p->name) - 1] = '\0';
	p->endpoint[sizeof(p->endpoint) - 1] = '\0';
	pr->replies++;
	pr->last = *p;
	ping_who(p, who, sizeof(who));
	o = json_pack("{s:I, s:s}", "seq", (json_int_t)p->seq, "result",
	    ping_status_name(p->status));
	switch (p->status) {
	case PING_OK:
		ms = p->rtt_us / US_PER_MS;
		if (pr->pongs == 0 || ms < pr->min)
			pr->min = ms;
		if (pr->pongs == 0 || ms > pr->max)
			pr->max = ms;
		pr->sum += ms;
		pr->pongs++;
		pr->last_pong = *p;
		ping_path(p, path, sizeof(path));
		json_object_set_new(o, "path", json_string(p->path ==
		    PATH_RELAY ? "relay" : "direct"));
		if (p->path != PATH_RELAY)
			json_object_set_new(o, "endpoint",
			    json_string(p->endpoint));
		json_object_set_new(o, "rtt_ms", json_real(ms));
		if (!json_out)
			printf("pong from %s via %s in %.3f ms\n", who, path,
			    ms);
		break;
	case PING_TIMEOUT:
		pr->timeouts++;
		if (!json_out)
			printf("no pong from %s within %u ms (probe %u)\n",
			    who, pr->timeout_ms, p->seq);
		break;
	case PING_NO_SESSION:
		pr->no_session++;
		if (!json_out)
			printf("no session with %s yet: handshake started "
			    "(probe %u)\n", who, p->seq);
		break;
	case PING_NO_ENDPOINT:
		pr->other++;
		if (!json_out)
			printf("no endpoint for %s: nowhere to send (probe "
			    "%u)\n", who, p->seq);
		break;
	default:
		pr->other++;
		if (!json_out)
			printf("probe %u not sent: %s\n", p->seq,
			    ping_status_name(p->status));
		break;
	}
	json_array_append_new(pr->probes, o);
	fflush(stdout);
}

/* Why there was no answer at all, in the words of the man page. */
static const char *
ping_silence(const struct ping_run *pr)
{
	if (pr->timeouts > 0)
		return ("no answer (peer does not answer cbp2p probes)");
	if (pr->no_session > 0)
		return ("no answer (no session: the handshake did not "
		    "complete)");
	return ("no answer (no probe could be sent)");
}

static void
ping_summary(struct ping_run *pr)
{
	char	 who[OPS_NAME_MAX + SHORT_KEY + 4], path[HOSTPORT_MAX + 8];
	json_t	*o;

	ping_who(&pr->last, who, sizeof(who));
	if (json_out) {
		o = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:o}",
		    "peer", pr->peer, "public_key", pr->last.public_key,
		    "name", pr->last.name[0] ? pr->last.name : NULL,
		    "sent", (json_int_t)pr->count,
		    "answered", (json_int_t)pr->pongs,
		    "probes", pr->probes);
		if (pr->pongs > 0) {
			json_object_set_new(o, "rtt_ms", json_pack(
			    "{s:f, s:f, s:f}", "min", pr->min, "avg",
			    pr->sum / pr->pongs, "max", pr->max));
			json_object_set_new(o, "path", json_string(
			    pr->last_pong.path == PATH_RELAY ? "relay" :
			    "direct"));
			if (pr->last_pong.path != PATH_RELAY)
				json_object_set_new(o, "endpoint", json_string(
				    pr->last_pong.endpoint));
		} else
			json_object_set_new(o, "error",
			    json_string(ping_silence(pr)));
		json_print(o);
		return;
	}
	json_decref(pr->probes);
	printf("--- %s: %u probes, %u pongs, %u%% lost\n", who, pr->count,
	    pr->pongs, (pr->count - pr->pongs) * 100 / pr->count);
	if (pr->pongs > 0) {
		ping_path(&pr->last_pong, path, sizeof(path));
		printf("rtt min/avg/max %.3f/%.3f/%.3f ms, last via %s\n",
		    pr->min, pr->sum / pr->pongs, pr->max, path);
	} else
		printf("%s\n", ping_silence(pr));
}

static uint32_t
ping_number(const char *s, const char *what, uint32_t min, uint32_t max)
{
	const char	*errstr;
	uint32_t	 n;

	n = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		errx(1, "%s %s: %s (%u to %u)", what, s, errstr, min, max);
	return (n);
}

/* Seconds as ping(8) takes them, "0.2" too, to milliseconds. */
static uint32_t
ping_seconds(const char *s, const char *what, uint32_t min_ms,
    uint32_t max_ms)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' ||
	    v * MS_PER_SEC < min_ms || v * MS_PER_SEC > max_ms)
		errx(1, "%s %s: not %.3g to %.3g seconds", what, s,
		    min_ms / (double)MS_PER_SEC, max_ms / (double)MS_PER_SEC);
	return ((uint32_t)(v * MS_PER_SEC));
}

int
cmd_ping(const char *sock, int argc, char *argv[])
{
	struct ping_run		 pr;
	struct ctl_ping_req	 req;
	struct ctl_ping		 p;
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	uint32_t		 sent = 0, wait_ms = PING_WAIT_DEFAULT_MS;
	int64_t			 next, deadline = 0, now;
	ssize_t			 n;
	int			 ch, ms;

	memset(&pr, 0, sizeof(pr));
	pr.count = PING_COUNT_DEFAULT;
	pr.timeout_ms = PING_TIMEOUT_DEFAULT_MS;
	optind = 1;
	while ((ch = getopt(argc, argv, "c:i:W:")) != -1) {
		switch (ch) {
		case 'c':
			pr.count = ping_number(optarg, "count", 1,
			    PING_COUNT_MAX);
			break;
		case 'i':
			wait_ms = ping_seconds(optarg, "interval",
			    PING_WAIT_MIN_MS, PING_TIMEOUT_MS_MAX);
			break;
		case 'W':
			pr.timeout_ms = ping_seconds(optarg, "timeout",
			    PING_TIMEOUT_MS_MIN, PING_TIMEOUT_MS_MAX);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	pr.peer = argv[optind];
	memset(&req, 0, sizeof(req));
	if (strlcpy(req.peer, pr.peer, sizeof(req.peer)) >= sizeof(req.peer))
		errx(1, "%s: too long for a peer", pr.peer);
	req.timeout_ms = pr.timeout_ms;
	pr.probes = json_array();

	imsg_init(&ibuf, ctl_connect(sock));
	next = now_ms();
	while (pr.replies < pr.count) {
		now = now_ms();
		if (sent < pr.count && now >= next) {
			req.seq = ++sent;
			ctl_send(&ibuf, IMSG_CTL_PING, &req, sizeof(req));
			next += wait_ms;
			if (sent == pr.count)
				deadline = now + pr.timeout_ms +
				    PING_REPLY_SLACK_MS;
			continue;
		}
		if (sent < pr.count)
			ms = next > now ? (int)(next - now) : 0;
		else if (now >= deadline)
			errx(1, "no reply from cbp2pd");
		else
			ms = (int)(deadline - now);
		if (!ctl_wait(&ibuf, ms))
			continue;
		while ((n = imsg_get(&ibuf, &imsg)) > 0) {
			if (imsg.hdr.type == IMSG_CTL_RESULT)
				ctl_refused(&imsg);
			if (imsg.hdr.type != IMSG_CTL_PING_REPLY ||
			    imsg.hdr.len - IMSG_HEADER_SIZE != sizeof(p))
				errx(1, "unexpected reply type %u",
				    imsg.hdr.type);
			memcpy(&p, imsg.data, sizeof(p));
			ping_reply(&pr, &p);
			imsg_free(&imsg);
		}
		if (n == -1)
			err(1, "malformed reply");
	}
	close(ibuf.fd);
	imsg_clear(&ibuf);
	ping_summary(&pr);
	return (pr.pongs > 0 ? 0 : 1);
}

/* ---- netcheck -------------------------------------------------------- */

static json_t *
json_us(int64_t us)
{
	return (us < 0 ? json_null() : json_real(us / US_PER_MS));
}

static json_t *
json_str(const char *s)
{
	return (s[0] != '\0' ? json_string(s) : json_null());
}

static void
netcheck_json(const struct ctl_netcheck *nc)
{
	json_t	*o, *stun, *reg, *relay, *errs;
	int	 i;

	stun = json_pack("{s:b, s:b, s:I}", "enabled", nc->has_stun,
	    "udp_blocked", nc->udp_blocked,
	    "unanswered", (json_int_t)nc->stun_unanswered);
	json_object_set_new(stun, "servers", json_pack("[o, o]",
	    json_str(nc->stun_server[0]), json_str(nc->stun_server[1])));
	json_object_set_new(stun, "reflexive", json_pack("[o, o]",
	    json_str(nc->mapped[0]), json_str(nc->mapped[1])));
	errs = json_object();
	for (i = 0; i < REGC_ERR_MAX; i++)
		json_object_set_new(errs, regc_error_name(i),
		    json_integer(nc->reg.errors[i]));
	reg = json_pack("{s:b, s:o, s:s, s:b, s:o, s:I, s:o, s:o}",
	    "enabled", nc->disco_enabled,
	    "address", json_str(nc->registry),
	    "state", reg_state_name(nc->reg.state),
	    "fresh", nc->reg.fresh,
	    "rtt_ms", json_us(nc->reg.rtt_us),
	    "measured_at", (json_int_t)nc->reg.rtt_at,
	    "last_error", json_str(nc->reg.last_error),
	    "errors", errs);
	relay = json_pack("{s:b, s:o, s:s, s:b, s:o, s:o, s:I, s:I, s:o}",
	    "enabled", nc->relay_state.enabled,
	    "address", json_str(nc->relay),
	    "state", nc->relay_state.state_name[0] ?
	    nc->relay_state.state_name : "off",
	    "connected", nc->relay_state.since != 0,
	    "tcp_rtt_ms", json_us(nc->relay_state.tcp_rtt_us),
	    "connect_ms", json_us(nc->relay_state.connect_us),
	    "since", (json_int_t)nc->relay_state.since,
	    "connections", (json_int_t)nc->relay_state.connects,
	    "last_error", json_str(nc->relay_state.last_error));
	o = json_pack("{s:o, s:s, s:o, s:o}", "stun", stun,
	    "nat", nat_mapping_name(nc->nat_mapping),
	    "registry", reg, "relay", relay);
	json_print(o);
}

static void
netcheck_text(const struct ctl_netcheck *nc)
{
	const struct relay_check	*rc = &nc->relay_state;
	int				 i;

	if (!nc->has_stun)
		printf("%-10s off (no edge.stun)\n", "stun:");
	else if (nc->udp_blocked)
		printf("%-10s UDP blocked: %u requests unanswered\n", "stun:",
		    nc->stun_unanswered);
	for (i = 0; nc->has_stun && i < OPS_STUN_SERVERS; i++) {
		if (nc->stun_server[i][0] == '\0')
			continue;
		printf("%-10s %s sees us at %s\n", i == 0 ? "stun:" : "",
		    SAFE(nc->stun_server[i]), nc->mapped[i][0] ?
		    SAFE(nc->mapped[i]) : "(no answer)");
	}
	printf("%-10s %s mapping%s\n", "nat:",
	    nat_mapping_name(nc->nat_mapping),
	    nc->nat_mapping == NAT_MAP_SYMMETRIC ? ": peers behind NAT need "
	    "the relay" : nc->nat_mapping == NAT_MAP_UNKNOWN ? " (needs "
	    "answers from both of the edge's STUN ports)" : "");
	if (!nc->disco_enabled)
		printf("%-10s off\n", "registry:");
	else {
		printf("%-10s %s %s", "registry:", SAFE(nc->registry),
		    reg_state_name(nc->reg.state));
		if (nc->reg.rtt_us >= 0)
			printf(", %.3f ms %s", nc->reg.rtt_us / US_PER_MS,
			    nc->reg.fresh ? "(a heartbeat now)" :
			    "(the last request)");
		if (nc->reg.state == REG_UNREACHABLE &&
		    nc->reg.last_error[0] != '\0')
			printf(": %s", SAFE(nc->reg.last_error));
		printf("\n");
	}
	if (!rc->enabled)
		printf("%-10s off\n", "relay:");
	else {
		printf("%-10s %s %s", "relay:", SAFE(nc->relay),
		    SAFE(rc->state_name));
		if (rc->since != 0)
			printf(" for %llds", (long long)(time(NULL) -
			    rc->since));
		if (rc->tcp_rtt_us >= 0)
			printf(", tcp rtt %.3f ms", rc->tcp_rtt_us / US_PER_MS);
		if (rc->connect_us >= 0)
			printf(", connected in %.3f ms",
			    rc->connect_us / US_PER_MS);
		if (rc->since == 0 && rc->last_error[0] != '\0')
			printf(": %s", SAFE(rc->last_error));
		printf("\n");
	}
}

int
cmd_netcheck(const char *sock)
{
	struct ctl_netcheck	 nc;
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	int64_t			 deadline, now;
	ssize_t			 n;
	int			 done = 0, i;

	imsg_init(&ibuf, ctl_connect(sock));
	ctl_send(&ibuf, IMSG_CTL_NETCHECK, NULL, 0);
	deadline = now_ms() + NETCHECK_TIMEOUT_MS;
	while (!done) {
		if ((now = now_ms()) >= deadline)
			errx(1, "no reply from cbp2pd");
		if (!ctl_wait(&ibuf, (int)(deadline - now)))
			continue;
		while (!done && (n = imsg_get(&ibuf, &imsg)) > 0) {
			if (imsg.hdr.type == IMSG_CTL_RESULT)
				ctl_refused(&imsg);
			if (imsg.hdr.type != IMSG_CTL_NETCHECK_REPLY ||
			    imsg.hdr.len - IMSG_HEADER_SIZE != sizeof(nc))
				errx(1, "unexpected reply type %u",
				    imsg.hdr.type);
			memcpy(&nc, imsg.data, sizeof(nc));
			imsg_free(&imsg);
			done = 1;
		}
		if (!done && n == -1)
			err(1, "malformed reply");
	}
	close(ibuf.fd);
	imsg_clear(&ibuf);
	/* Strings from the daemon end where their fields end. */
	for (i = 0; i < OPS_STUN_SERVERS; i++) {
		nc.stun_server[i][HOSTPORT_MAX - 1] = '\0';
		nc.mapped[i][HOSTPORT_MAX - 1] = '\0';
	}
	nc.registry[HOSTPORT_MAX - 1] = nc.relay[HOSTPORT_MAX - 1] = '\0';
	nc.reg.last_error[OPS_TEXT_MAX - 1] = '\0';
	nc.relay_state.last_error[OPS_TEXT_MAX - 1] = '\0';
	nc.relay_state.state_name[sizeof(nc.relay_state.state_name) - 1] =
	    '\0';
	if (json_out)
		netcheck_json(&nc);
	else
		netcheck_text(&nc);
	return (0);
}

/* ---- monitor --------------------------------------------------------- */

static void
monitor_event(struct ctl_event *ev)
{
	char	 line[LINE_MAX_EVENT];
	json_t	*o;

	ev->public_key[sizeof(ev->public_key) - 1] = '\0';
	ev->name[sizeof(ev->name) - 1] = '\0';
	ev->state[sizeof(ev->state) - 1] = '\0';
	ev->reason[sizeof(ev->reason) - 1] = '\0';
	ev->detail[sizeof(ev->detail) - 1] = '\0';
	if (!json_out) {
		ctl_event_format(ev, line, sizeof(line));
		printf("%s\n", SAFE(line));
		fflush(stdout);
		return;
	}
	o = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o}",
	    "time_ms", (json_int_t)ev->time_ms,
	    "event", ctl_event_name(ev->type),
	    "public_key", json_str(ev->public_key),
	    "name", json_str(ev->name),
	    "state", json_str(ev->state),
	    "reason", json_str(ev->reason),
	    "detail", json_str(ev->detail));
	/* One event a line: JSON lines, each whole when it is written. */
	if (json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == -1)
		errx(1, "cannot format JSON");
	printf("\n");
	fflush(stdout);
	json_decref(o);
}

int
cmd_monitor(const char *sock)
{
	struct ctl_result	 r;
	struct ctl_event	 ev;
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	ssize_t			 n;
	size_t			 len;

	imsg_init(&ibuf, ctl_connect(sock));
	ctl_send(&ibuf, IMSG_CTL_MONITOR, NULL, 0);
	for (;;) {
		if (!ctl_wait(&ibuf, -1))
			continue;
		while ((n = imsg_get(&ibuf, &imsg)) > 0) {
			len = imsg.hdr.len - IMSG_HEADER_SIZE;
			switch (imsg.hdr.type) {
			case IMSG_CTL_RESULT:
				if (len != sizeof(r))
					errx(1, "bad result reply");
				memcpy(&r, imsg.data, sizeof(r));
				r.msg[sizeof(r.msg) - 1] = '\0';
				if (!r.ok)
					errx(1, "%s", r.msg);
				/* Standard error: standard output is events. */
				fprintf(stderr, "cbp2pctl: monitoring %s: "
				    "events follow\n", sock);
				break;
			case IMSG_CTL_EVENT:
				if (len != sizeof(ev))
					errx(1, "bad event");
				memcpy(&ev, imsg.data, sizeof(ev));
				monitor_event(&ev);
				break;
			default:
				errx(1, "unexpected reply type %u",
				    imsg.hdr.type);
			}
			imsg_free(&imsg);
		}
		if (n == -1)
			err(1, "malformed reply");
	}
}
