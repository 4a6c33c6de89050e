/*
 * The parent's side of /metrics: it binds metrics_address as root (at
 * start, and on a reload that changes it) and hands the listening
 * socket to cbmeshd, which serves HTTP from its sandbox.  Every
 * METRICS_PUSH_MS it sends cbmeshd a snapshot of what cbp2pctl status
 * and peers show, with fresh counters from the engine.  cbmeshd says
 * nothing back: what it serves cannot change the node.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <string.h>
#include <unistd.h>

#include "cbp2pd.h"
#include "log.h"

static char		 metrics_addr[HOSTPORT_MAX];	/* served now */
static char		 metrics_next[HOSTPORT_MAX];	/* prepared */
static int		 metrics_fd = -1;	/* prepared, not yet passed */
static int		 metrics_changed;	/* commit passes metrics_fd */
static struct event	 metrics_ev;
static int		 metrics_armed;

static void
metrics_send(uint32_t type, const void *data, size_t len, int fd)
{
	if (imsg_compose_event(&env->children[PROC_MESH].iev, type, 0, 0, fd,
	    data, len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

/* A listening TCP socket on addr (a name resolves here, as root). */
static int
metrics_bind(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, on = 1;

	if (hostport_resolve(addr, NULL, &ss, NULL, 0) == -1) {
		snprintf(err, errlen, "metrics_address %s: does not resolve",
		    addr);
		return (-1);
	}
	sslen = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "metrics_address %s: socket: %s", addr,
		    strerror(errno));
		return (-1);
	}
	/* A restart must not wait for the last scrape's TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, METRICS_BACKLOG) == -1) {
		snprintf(err, errlen, "metrics_address %s: %s", addr,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * Bind addr if it is not what is served now; "" turns metrics off.  The
 * one step of a reload that can fail, so it comes before the swap.
 */
int
metrics_prepare(const char *addr, char *err, size_t errlen)
{
	int	 fd = -1;

	if (env->dropin)
		return (0);	/* no cbmeshd to serve them */
	if (metrics_fd != -1) {
		close(metrics_fd);
		metrics_fd = -1;
	}
	metrics_changed = strcmp(addr, metrics_addr) != 0;
	if (!metrics_changed)
		return (0);
	/*
	 * The old socket stays until the swap: the same port under another
	 * name fails here, and the reload is refused with why.
	 */
	if (addr[0] != '\0' && (fd = metrics_bind(addr, err, errlen)) == -1)
		return (-1);
	metrics_fd = fd;
	strlcpy(metrics_next, addr, sizeof(metrics_next));
	return (0);
}

/* The parent's view, as cbp2pctl status and peers have it. */
static void
metrics_snapshot(uint32_t unused)
{
	struct ctl_status_main	 m;
	struct ctl_peer		 cp;
	struct mesh_metrics_end	 end;
	struct ppeer		*pp;

	if (metrics_addr[0] == '\0' || env->exiting)
		return;
	control_fill_main(&m);
	metrics_send(IMSG_MESH_METRICS_MAIN, &m, sizeof(m), -1);
	memset(&end, 0, sizeof(end));
	RB_FOREACH(pp, ppeer_tree, &env->dp.peers) {
		if (end.npeers >= env->dp.max_peers)
			break;	/* cbmeshd takes no more */
		peer_info(pp, &cp);
		metrics_send(IMSG_MESH_METRICS_PEER, &cp, sizeof(cp), -1);
		end.npeers++;
	}
	end.max_peers = env->dp.max_peers;
	end.disco_enabled = env->disco_enabled;
	end.npending = env->npending;
	end.relay_enabled = env->relay.enabled;
	end.relay_up = env->relay_up;
	end.relay_connects = env->relay_connects;
	end.handshakes = env->dp.handshakes;
	end.reg = env->reg;
	end.disco_added = env->disco_added;
	end.disco_removed = env->disco_removed;
	end.disco_pending = env->disco_pending;
	metrics_send(IMSG_MESH_METRICS_END, &end, sizeof(end), -1);
}

static void
metrics_tick(int fd, short event, void *arg)
{
	struct timeval	 tv = { METRICS_PUSH_MS / 1000,
			    (METRICS_PUSH_MS % 1000) * 1000 };

	dp_sync(metrics_snapshot, 0);
	evtimer_add(&metrics_ev, &tv);
}

/* Pass what metrics_prepare() bound, or say off; snapshots follow. */
void
metrics_commit(void)
{
	if (env->dropin || !metrics_changed)
		return;
	metrics_changed = 0;
	strlcpy(metrics_addr, metrics_next, sizeof(metrics_addr));
	/* cbmeshd closes the socket it served before, if any. */
	metrics_send(IMSG_MESH_METRICS_LISTEN, NULL, 0, metrics_fd);
	metrics_fd = -1;	/* imsg closes it once it is sent */
	if (metrics_addr[0] == '\0') {
		log_info("metrics: off");
		if (metrics_armed)
			evtimer_del(&metrics_ev);
		metrics_armed = 0;
		return;
	}
	log_info("metrics: serving http://%s/metrics", metrics_addr);
	if (!metrics_armed) {
		evtimer_set(&metrics_ev, metrics_tick, NULL);
		metrics_armed = 1;
	}
	evtimer_del(&metrics_ev);
	metrics_tick(-1, EV_TIMEOUT, NULL);
}
