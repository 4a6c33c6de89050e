/*
 * The control socket: cbp2pctl speaks imsg over it.  Every request is
 * checked before it is acted on; a bad one is refused, counted, and the
 * daemon carries on.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "cbp2pd.h"
#include "log.h"

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	int			 pending;	/* child replies awaited */
	int			 monitor;	/* takes events (monitor) */
	int			 netcheck;	/* children's answers awaited */
	struct ctl_netcheck	 nc;
	struct imsgev		 iev;
};

static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static struct event		 ctl_ev;
static struct event		 ctl_ev_pause;
static int			 ctl_fd = -1;
static int			 ctl_nconns;
static int			 ctl_nmonitors;
static uint32_t			 ctl_next_id = 1;

static void	control_accept(int, short, void *);
static void	control_dispatch(int, short, void *);

int
control_init(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old_umask;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("%s: path too long: %s", __func__, path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("%s: socket", __func__);
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("%s: unlink %s", __func__, path);
		goto fail;
	}
	/* Never a moment where the socket is wider open than 0660. */
	old_umask = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("%s: bind %s", __func__, path);
		umask(old_umask);
		goto fail;
	}
	umask(old_umask);
	if (chown(path, 0, 0) == -1 ||
	    chmod(path, CONTROL_SOCKET_MODE) == -1) {
		log_warn("%s: chown/chmod %s", __func__, path);
		unlink(path);
		goto fail;
	}
	if (listen(fd, CONTROL_BACKLOG) == -1) {
		log_warn("%s: listen %s", __func__, path);
		unlink(path);
		goto fail;
	}
	ctl_fd = fd;
	return (0);
fail:
	close(fd);
	return (-1);
}

void
control_listen(void)
{
	event_set(&ctl_ev, ctl_fd, EV_READ | EV_PERSIST, control_accept,
	    NULL);
	event_add(&ctl_ev, NULL);
	evtimer_set(&ctl_ev_pause, control_accept, NULL);
}

void
control_cleanup(const char *path)
{
	if (ctl_fd == -1)
		return;
	event_del(&ctl_ev);
	event_del(&ctl_ev_pause);
	close(ctl_fd);
	ctl_fd = -1;
	unlink(path);
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*c;
	struct timeval	 pause = { 1, 0 };
	int		 s;

	/* After running out of descriptors: listen again. */
	if (event & EV_TIMEOUT) {
		event_add(&ctl_ev, NULL);
		return;
	}
	if ((s = accept4(ctl_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno == ENFILE || errno == EMFILE) {
			event_del(&ctl_ev);
			evtimer_add(&ctl_ev_pause, &pause);
		} else if (errno != EINTR && errno != EAGAIN &&
		    errno != ECONNABORTED)
			log_warn("%s: accept", __func__);
		return;
	}
	if (ctl_nconns >= CONTROL_MAX_CONNS) {
		env->ctl_bad++;
		log_warnx("%s: too many control connections", __func__);
		close(s);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s", __func__);
		close(s);
		return;
	}
	c->id = ctl_next_id++;
	if (ctl_next_id == 0)
		ctl_next_id = 1;
	imsgev_init(&c->iev, s, c, control_dispatch);
	imsg_event_add(&c->iev);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	ctl_nconns++;
}

static void
control_close(struct ctl_conn *c)
{
	ping_conn_gone(c->id);
	if (c->monitor)
		ctl_nmonitors--;
	TAILQ_REMOVE(&ctl_conns, c, entry);
	imsgev_clear(&c->iev);
	free(c);
	ctl_nconns--;
}

static struct ctl_conn *
control_by_id(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			return (c);
	return (NULL);
}

/* A reply to connection id, if it is still there. */
void
control_send(uint32_t id, uint32_t type, const void *data, size_t len)
{
	struct ctl_conn	*c;

	if ((c = control_by_id(id)) != NULL)
		imsg_compose_event(&c->iev, type, 0, 0, -1, data, len);
}

/*
 * An event to every monitoring connection.  One that has not read the
 * last CONTROL_MONITOR_QUEUE_MAX is dropped: the daemon never waits for
 * an operator's terminal, nor buffers without bound for it.
 */
void
control_event(int type, const struct ppeer *pp, const char *state,
    const char *reason, const char *detail)
{
	struct ctl_event	 ev;
	struct ctl_conn		*c, *tmp;
	struct timespec		 now;

	if (ctl_nmonitors == 0)
		return;
	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &now);
	ev.time_ms = (int64_t)now.tv_sec * CONTROL_MS_PER_SEC +
	    now.tv_nsec / CONTROL_NS_PER_MS;
	ev.type = type;
	if (pp != NULL) {
		wgkey_to_b64(ev.public_key, pp->wp.pub);
		strlcpy(ev.name, pp->name, sizeof(ev.name));
	}
	strlcpy(ev.state, state != NULL ? state : "", sizeof(ev.state));
	strlcpy(ev.reason, reason != NULL ? reason : "", sizeof(ev.reason));
	strlcpy(ev.detail, detail != NULL ? detail : "", sizeof(ev.detail));
	TAILQ_FOREACH_SAFE(c, &ctl_conns, entry, tmp) {
		if (!c->monitor)
			continue;
		if (c->iev.ibuf.w.queued >= CONTROL_MONITOR_QUEUE_MAX) {
			env->monitors_dropped++;
			log_warnx("control: a monitor fell %u events behind: "
			    "dropped", CONTROL_MONITOR_QUEUE_MAX);
			control_close(c);
			continue;
		}
		imsg_compose_event(&c->iev, IMSG_CTL_EVENT, 0, 0, -1, &ev,
		    sizeof(ev));
	}
}

static void
control_result(struct ctl_conn *c, int ok, const char *msg)
{
	struct ctl_result	 r;

	memset(&r, 0, sizeof(r));
	r.ok = ok;
	strlcpy(r.msg, msg, sizeof(r.msg));
	imsg_compose_event(&c->iev, IMSG_CTL_RESULT, 0, 0, -1, &r,
	    sizeof(r));
}

static void
control_refuse(struct ctl_conn *c, const char *why)
{
	env->ctl_bad++;
	log_warnx("control: refused request: %s", why);
	control_result(c, 0, why);
}

void
control_fill_main(struct ctl_status_main *m)
{
	const struct token	*t = &env->conf.tok;
	struct ppeer		*pp;

	memset(m, 0, sizeof(*m));
	m->pid = getpid();
	m->conn_type = t->conn_type;
	m->routing = t->routing;
	m->uptime = proc_uptime(&env->started);
	m->generation = env->generation;
	m->reloads = env->reloads;
	m->reloads_failed = env->reloads_failed;
	m->ctl_bad = env->ctl_bad;
	m->monitors_dropped = env->monitors_dropped;
	m->log_verbose = log_getverbose();
	strlcpy(m->ifname, env->conf.ifname, sizeof(m->ifname));
	wgkey_to_b64(m->public_key, t->public_key);
	strlcpy(m->config_path, env->conf_path, sizeof(m->config_path));
	m->listen_port = env->dp.port;
	m->npeers = env->dp.npeers;
	m->cookies_sent = env->dp.cnt.cookies_sent;
	m->offload = env->dp.offload;
	strlcpy(m->dns, dns_way(), sizeof(m->dns));
	m->tso_split = env->dp.cnt.tso_split;
	m->gso_sends = env->dp.cnt.gso_sends;
	m->gso_refused = env->dp.cnt.gso_refused;
	m->gro_coalesced = env->dp.cnt.gro_coalesced;
	m->crypt_workers = (uint32_t)env->dp.cnt.crypt_workers;
	m->crypt_parallel = env->dp.cnt.crypt_parallel;
	m->uso = env->dp.uso;
	m->uso_split = env->dp.cnt.uso_split;
	m->stun_seen = env->dp.cnt.stun_seen;
	memcpy(m->drops, env->dp.cnt.drops, sizeof(m->drops));
	memcpy(m->disco_admit, env->disco_admit, sizeof(m->disco_admit));
	memcpy(m->disco_ep_dropped, env->disco_ep_dropped,
	    sizeof(m->disco_ep_dropped));
	m->child_fds_closed = env->child_fds_closed;
	m->p2p_unavailable = env->p2p_unavailable;
	memcpy(m->path_switches, env->path_switches,
	    sizeof(m->path_switches));
	m->mesh_refused = env->mesh_refused;
	m->nat_mapping = env->dp.nat_mapping;
	m->nat_refused = env->dp.nat_refused;
	m->token_exp = env->dropin ? 0 : t->exp;
	m->token_expired = env->token_expired;
	RB_FOREACH(pp, ppeer_tree, &env->dp.peers) {
		if (!pp->has_session)
			m->peers_no_path++;
		else if (pp->active == PATH_DIRECT)
			m->peers_direct++;
		else
			m->peers_relayed++;
	}
	memcpy(m->relay_refused, env->relay_refused,
	    sizeof(m->relay_refused));
}

static int
peer_aip_count(void *arg, int af, const uint8_t *addr, unsigned int plen)
{
	(*(uint32_t *)arg)++;
	return (0);
}

static int
peer_aip_send(void *arg, int af, const uint8_t *addr, unsigned int plen)
{
	struct ctl_conn	*c = arg;
	struct cidr	 cidr;

	memset(&cidr, 0, sizeof(cidr));
	cidr.af = af;
	memcpy(cidr.addr, addr, af == AF_INET ? 4 : 16);
	cidr.plen = plen;
	imsg_compose_event(&c->iev, IMSG_CTL_PEER_AIP, 0, 0, -1, &cidr,
	    sizeof(cidr));
	return (0);
}

/* Every peer, then its allowed IPs, then the end; counters fresh. */
static void
control_peers(uint32_t id)
{
	struct ctl_peer	 cp;
	struct ctl_conn	*c;
	struct ppeer	*pp;

	if ((c = control_by_id(id)) == NULL)
		return;		/* the asker left meanwhile */
	RB_FOREACH(pp, ppeer_tree, &env->dp.peers) {
		peer_info(pp, &cp);
		cp.nallowed_ips = 0;
		wg_aip_walk(&env->dp.aip, pp, peer_aip_count,
		    &cp.nallowed_ips);
		imsg_compose_event(&c->iev, IMSG_CTL_PEER, 0, 0, -1, &cp,
		    sizeof(cp));
		wg_aip_walk(&env->dp.aip, pp, peer_aip_send, c);
	}
	imsg_compose_event(&c->iev, IMSG_CTL_END, 0, 0, -1, NULL, 0);
}

/* The main status once the engine's counters are fresh, then children. */
static void
control_status(uint32_t id)
{
	struct ctl_status_main	 m;
	struct ctl_conn		*c;

	if ((c = control_by_id(id)) == NULL)
		return;
	control_fill_main(&m);
	imsg_compose_event(&c->iev, IMSG_CTL_STATUS_MAIN, 0, 0, -1, &m,
	    sizeof(m));
	parent_send_children(IMSG_CHILD_STATUS_REQ, c->id, NULL, 0);
}

/* A child answered a status query made on behalf of connection id. */
void
control_status_child(uint32_t id, const struct child_status *cs)
{
	struct ctl_conn	*c;

	if ((c = control_by_id(id)) == NULL || c->pending == 0)
		return;		/* the asker left meanwhile */
	imsg_compose_event(&c->iev, IMSG_CTL_STATUS_CHILD, 0, 0, -1, cs,
	    sizeof(*cs));
	if (--c->pending == 0)
		imsg_compose_event(&c->iev, IMSG_CTL_END, 0, 0, -1, NULL, 0);
}

/* What the parent knows itself: STUN from the WireGuard socket. */
static void
netcheck_local(struct ctl_netcheck *nc)
{
	const struct dataplane	*d = &env->dp;
	int			 i;

	memset(nc, 0, sizeof(*nc));
	nc->has_stun = d->has_stun;
	if (d->has_stun)
		sockaddr_format((const struct sockaddr *)&d->stun_server,
		    nc->stun_server[STUN_SLOT_PRIMARY],
		    sizeof(nc->stun_server[0]));
	if (d->has_stun && d->has_stun_alt)
		sockaddr_format((const struct sockaddr *)&d->stun_alt,
		    nc->stun_server[STUN_SLOT_ALT],
		    sizeof(nc->stun_server[0]));
	for (i = 0; i < STUN_SLOTS; i++)
		if (d->has_stun && d->stun_answered[i] != 0)
			sockaddr_format((const struct sockaddr *)
			    &d->stun_mapped[i], nc->mapped[i],
			    sizeof(nc->mapped[0]));
	nc->nat_mapping = d->nat_mapping;
	nc->stun_unanswered = d->stun_unanswered;
	nc->udp_blocked = d->has_stun &&
	    d->stun_unanswered >= STUN_BLOCKED_AFTER;
	nc->disco_enabled = env->disco_enabled;
	strlcpy(nc->registry, env->conf.registry, sizeof(nc->registry));
	nc->reg = env->reg;
	nc->reg.fresh = 0;
	strlcpy(nc->relay, env->conf.relay, sizeof(nc->relay));
	nc->relay_state.enabled = env->relay.enabled;
	nc->relay_state.tcp_rtt_us = -1;
	nc->relay_state.connect_us = -1;
}

static void
netcheck_done(struct ctl_conn *c)
{
	imsg_compose_event(&c->iev, IMSG_CTL_NETCHECK_REPLY, 0, 0, -1, &c->nc,
	    sizeof(c->nc));
}

/* cbdiscod's fresh request, or cbrelayd's view, for netcheck id. */
void
control_netcheck_disco(uint32_t id, const struct disco_state *ds)
{
	struct ctl_conn	*c;

	if ((c = control_by_id(id)) == NULL || c->netcheck == 0)
		return;
	c->nc.reg = *ds;
	if (--c->netcheck == 0)
		netcheck_done(c);
}

void
control_netcheck_relay(uint32_t id, const struct relay_check *rc)
{
	struct ctl_conn	*c;

	if ((c = control_by_id(id)) == NULL || c->netcheck == 0)
		return;
	c->nc.relay_state = *rc;
	if (--c->netcheck == 0)
		netcheck_done(c);
}

/*
 * A fresh STUN round from the WireGuard socket; a heartbeat timed by
 * cbdiscod; cbrelayd's measure of its connection.  The reply goes when
 * both children answered (cbdiscod within its request timeout).
 */
static void
control_netcheck(struct ctl_conn *c)
{
	netcheck_local(&c->nc);
	if (env->dropin) {
		netcheck_done(c);
		return;
	}
	disco_stun_now();
	c->netcheck = 2;
	if (imsg_compose_event(&env->children[PROC_DISCO].iev,
	    IMSG_DISCO_NETCHECK, c->id, 0, -1, NULL, 0) == -1 ||
	    imsg_compose_event(&env->children[PROC_RELAY].iev,
	    IMSG_RELAY_NETCHECK, c->id, 0, -1, NULL, 0) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct ctl_conn		*c = iev->data;
	struct imsgbuf		*ibuf = &c->iev.ibuf;
	struct imsg		 imsg;
	struct ctl_ping_req	 preq;
	const char		*why;
	char			 msg[CTL_MSG_MAX];
	ssize_t			 n;
	size_t			 len, i;
	int			 verbose;

	if (event & EV_READ) {
		if (((n = imsg_read(ibuf)) == -1 && errno != EAGAIN) ||
		    n == 0) {
			control_close(c);
			return;
		}
	}
	if (event & EV_WRITE) {
		if (msgbuf_write(&ibuf->w) <= 0 && errno != EAGAIN) {
			control_close(c);
			return;
		}
	}

	for (;;) {
		if ((n = imsg_get(ibuf, &imsg)) == -1) {
			/* Framing is lost: nothing more can be read. */
			env->ctl_bad++;
			log_warnx("control: malformed message, closing");
			control_close(c);
			return;
		}
		if (n == 0)
			break;
		len = imsg.hdr.len - IMSG_HEADER_SIZE;
		/* A monitor only listens: no request can close it midway. */
		if (c->monitor) {
			control_refuse(c, "monitoring: no other requests");
			imsg_free(&imsg);
			continue;
		}
		switch (imsg.hdr.type) {
		case IMSG_CTL_PING:
			if (len != sizeof(preq)) {
				control_refuse(c, "bad ping request");
				break;
			}
			memcpy(&preq, imsg.data, sizeof(preq));
			if (memchr(preq.peer, '\0', sizeof(preq.peer)) ==
			    NULL || preq.timeout_ms < PING_TIMEOUT_MS_MIN ||
			    preq.timeout_ms > PING_TIMEOUT_MS_MAX) {
				control_refuse(c, "bad ping request");
				break;
			}
			if (ping_request(c->id, &preq, &why) == -1)
				control_result(c, 0, why);
			break;
		case IMSG_CTL_NETCHECK:
			if (len != 0 || c->netcheck != 0) {
				control_refuse(c, "bad netcheck request");
				break;
			}
			control_netcheck(c);
			break;
		case IMSG_CTL_MONITOR:
			if (len != 0) {
				control_refuse(c, "bad monitor request");
				break;
			}
			c->monitor = 1;
			ctl_nmonitors++;
			control_result(c, 1, "monitoring");
			break;
		case IMSG_CTL_STATUS:
			if (len != 0 || c->pending != 0) {
				control_refuse(c, "bad status request");
				break;
			}
			c->pending = CBP2PD_MAX_CHILDREN;
			dp_sync(control_status, c->id);
			break;
		case IMSG_CTL_PEERS:
			if (len != 0) {
				control_refuse(c, "bad peers request");
				break;
			}
			dp_sync(control_peers, c->id);
			break;
		case IMSG_CTL_APPROVE:
			if (len != WG_KEY_LEN) {
				control_refuse(c, "bad approve request");
				break;
			}
			disco_approve(imsg.data);
			if (imsg_compose_event(&env->children[PROC_DISCO].iev,
			    IMSG_DISCO_APPROVE, 0, 0, -1, imsg.data,
			    WG_KEY_LEN) == -1)
				fatal("approve");
			log_info("control: peer approved by the operator");
			control_result(c, 1, "approved");
			break;
		case IMSG_CTL_PENDING:
			if (len != 0) {
				control_refuse(c, "bad pending request");
				break;
			}
			for (i = 0; i < env->npending; i++)
				imsg_compose_event(&c->iev, IMSG_CTL_PENDING, 0,
				    0, -1, env->pending[i], WG_KEY_LEN);
			imsg_compose_event(&c->iev, IMSG_CTL_END, 0, 0, -1,
			    NULL, 0);
			break;
		case IMSG_CTL_RELOAD:
			if (len != 0) {
				control_refuse(c, "bad reload request");
				break;
			}
			log_info("reload requested by cbp2pctl");
			if (parent_reload(msg, sizeof(msg)) == -1)
				control_result(c, 0, msg);
			else
				control_result(c, 1, msg);
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (len != sizeof(verbose)) {
				control_refuse(c, "bad log request");
				break;
			}
			memcpy(&verbose, imsg.data, sizeof(verbose));
			if (verbose < 0 || verbose > 2) {
				control_refuse(c, "bad log level");
				break;
			}
			parent_log_verbose(verbose);
			log_info("log level set to %s",
			    verbose ? "verbose" : "brief");
			control_result(c, 1, verbose ? "logging verbose" :
			    "logging brief");
			break;
		default:
			snprintf(msg, sizeof(msg), "unknown request type %u",
			    imsg.hdr.type);
			control_refuse(c, msg);
			break;
		}
		imsg_free(&imsg);
	}
	imsg_event_add(&c->iev);
}
