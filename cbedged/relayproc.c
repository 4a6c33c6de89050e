/*
 * The parent's side of the relay worker: start it (fork+exec of this
 * program as cbedged -R, the OpenBSD shape) and hand it the listening
 * socket the parent bound as root; keep the counters it reports for
 * /v1/health; notice its death, say why, and stop the edge.
 *
 * A worker that dies stops cbedged with a non-zero exit status, as a
 * cbp2pd child does: a service manager restarts both cleanly.  A worker
 * that says it stops on a signal (IMSG_EDGE_RELAY_STOPPING) stops the
 * edge with status 0.  At the parent's own stop, closing the socketpair
 * tells the worker to stop: it needs no signal from a process that has
 * dropped its privileges, and it sends its clients RESTARTING first.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "cbedged.h"
#include "log.h"
#include "proc.h"

#define RELAY_ARGV_MAX	10

/* Wait up to ms for the worker; 1 and its status once it is reaped. */
static int
relay_reap(struct edge *e, int ms, int *status)
{
	struct timespec	 ts = { 0, RELAY_REAP_POLL_MS * 1000000L };
	int		 waited;
	pid_t		 r;

	for (waited = 0; e->relay_pid > 0; waited += RELAY_REAP_POLL_MS) {
		r = waitpid(e->relay_pid, status, WNOHANG);
		if (r == e->relay_pid) {
			e->relay_pid = -1;
			return (1);
		}
		if (r == -1 && errno != EINTR) {
			*status = 0;
			e->relay_pid = -1;
			return (1);
		}
		if (waited >= ms)
			break;
		nanosleep(&ts, NULL);
	}
	return (0);
}

/* The worker is gone while we were not stopping it. */
static void
relay_lost(struct edge *e, int status)
{
	char	 why[128];

	proc_describe_status(status, why, sizeof(why));
	if (e->exiting)
		return;
	e->exiting = 1;
	if (e->relay_stopping && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0) {
		log_info("relay worker stopped on a signal; stopping");
		e->exit_code = 0;
	} else {
		log_warnx("relay worker %s; shutting down", why);
		e->exit_code = 1;
	}
	event_base_loopbreak(e->base);
}

static void
relay_sigchld(int sig, short ev, void *arg)
{
	struct edge	*e = arg;
	int		 status;

	if (e->relay_pid > 0 && relay_reap(e, 0, &status))
		relay_lost(e, status);
}

static void
relay_dispatch(int fd, short ev, void *arg)
{
	struct edge	*e = ((struct imsgev *)arg)->data;
	struct imsgbuf	*ibuf = &e->relay_iev.ibuf;
	struct imsg	 imsg;
	ssize_t		 n;
	size_t		 len;
	int		 status;

	if (ev & EV_READ) {
		if ((n = imsg_read(ibuf)) == -1 && errno != EAGAIN)
			fatal("%s: imsg_read from the relay", __func__);
		if (n == 0) {
			imsgev_clear(&e->relay_iev);
			if (relay_reap(e, RELAY_REAP_WAIT_MS, &status))
				relay_lost(e, status);
			else if (!e->exiting) {
				log_warnx("relay worker closed its socket but "
				    "did not exit; shutting down");
				e->exiting = 1;
				e->exit_code = 1;
				event_base_loopbreak(e->base);
			}
			return;
		}
	}
	if (ev & EV_WRITE) {
		if (msgbuf_write(&ibuf->w) <= 0 && errno != EAGAIN)
			fatal("%s: msgbuf_write to the relay", __func__);
	}
	for (;;) {
		/* A malformed message is a bug or a compromise: stop. */
		if ((n = imsg_get(ibuf, &imsg)) == -1)
			fatal("%s: imsg_get from the relay", __func__);
		if (n == 0)
			break;
		len = imsg.hdr.len - IMSG_HEADER_SIZE;
		if (imsg.fd != -1)
			fatalx("%s: the relay passed a descriptor", __func__);
		switch (imsg.hdr.type) {
		case IMSG_EDGE_RELAY_READY:
			if (len != sizeof(e->relay_limits))
				fatalx("%s: bad ready", __func__);
			memcpy(&e->relay_limits, imsg.data, len);
			e->relay_ready = 1;
			log_info("relay on %s: up to %u connections, %u TLS "
			    "handshakes at once", e->conf.relay_listen,
			    e->relay_limits.conn_max,
			    e->relay_limits.handshake_max);
			break;
		case IMSG_EDGE_RELAY_STATS:
			if (len != sizeof(e->relay_stats))
				fatalx("%s: bad stats", __func__);
			memcpy(&e->relay_stats, imsg.data, len);
			e->relay_stats_ms = edge_now_ms();
			break;
		case IMSG_EDGE_RELAY_STOPPING:
			if (len != 0)
				fatalx("%s: bad stopping", __func__);
			e->relay_stopping = 1;
			break;
		default:
			fatalx("%s: unexpected imsg %u from the relay",
			    __func__, imsg.hdr.type);
		}
		imsg_free(&imsg);
	}
	imsg_event_add(&e->relay_iev);
}

/*
 * Start the worker: this executable (self) as "cbedged -R -f conf", in
 * the foreground or not and as verbose as we are, and send it the
 * listening socket.  The worker reads the configuration file itself,
 * as root, before its sandbox: the TLS key never crosses the socketpair.
 */
int
relayproc_start(struct edge *e, const char *conf, char *err, size_t errlen)
{
	char	*argv[RELAY_ARGV_MAX];
	int	 argc = 0, fd, i;

	if ((e->relay_sigchld = evsignal_new(e->base, SIGCHLD, relay_sigchld,
	    e)) == NULL || evsignal_add(e->relay_sigchld, NULL) == -1) {
		snprintf(err, errlen, "cannot watch SIGCHLD");
		return (-1);
	}
	argv[argc++] = "cbedged";
	argv[argc++] = RELAY_ROLE_FLAG;
	argv[argc++] = "-f";
	argv[argc++] = (char *)conf;
	if (e->foreground)
		argv[argc++] = "-d";
	for (i = 0; i < e->verbose && argc < RELAY_ARGV_MAX - 1; i++)
		argv[argc++] = "-v";
	argv[argc] = NULL;
	if ((e->relay_pid = proc_exec(e->self, argv, &fd)) == -1) {
		e->relay_pid = 0;
		snprintf(err, errlen, "cannot start the relay worker %s: %s",
		    e->self, strerror(errno));
		return (-1);
	}
	imsgev_init(&e->relay_iev, fd, e, relay_dispatch);
	/* The queue owns the socket now, and closes it once sent. */
	if (imsg_compose(&e->relay_iev.ibuf, IMSG_EDGE_RELAY_LISTEN, 0, 0,
	    e->relay_fd, NULL, 0) == -1) {
		snprintf(err, errlen, "cannot pass the relay socket: %s",
		    strerror(errno));
		return (-1);
	}
	e->relay_fd = -1;
	imsg_event_add(&e->relay_iev);
	log_debug("started the relay worker (pid %ld)", (long)e->relay_pid);
	return (0);
}

/*
 * The edge stops: close the socketpair, which the worker takes as its
 * stop, and wait for it to tell its clients and exit.
 */
void
relayproc_stop(struct edge *e)
{
	char	 why[128];
	int	 status;

	if (e->relay_iev.ibuf.fd != -1)
		imsgev_clear(&e->relay_iev);
	if (e->relay_sigchld != NULL) {
		event_free(e->relay_sigchld);
		e->relay_sigchld = NULL;
	}
	if (e->relay_pid <= 0)
		return;
	if (relay_reap(e, RELAY_STOP_WAIT_MS, &status)) {
		proc_describe_status(status, why, sizeof(why));
		log_debug("relay worker %s", why);
	} else
		log_warnx("relay worker (pid %ld) did not exit within %d ms",
		    (long)e->relay_pid, RELAY_STOP_WAIT_MS);
}

/* /v1/health's "relay": the worker's counters by group, and its limits. */
json_t *
relayproc_health(struct edge *e)
{
	const struct relay_stats	*st = &e->relay_stats;
	const struct relay_ctr_info	*ci;
	json_t				*j, *g;
	int				 i;

	j = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, "
	    "s:I, s:I}}",
	    "listen", e->conf.relay_listen,
	    "running", e->relay_ready && e->relay_pid > 0,
	    "connections", (json_int_t)st->conns,
	    "handshakes", (json_int_t)st->handshakes,
	    "bound", (json_int_t)st->bound,
	    "meshes", (json_int_t)st->meshes,
	    "limits",
	    "connections", (json_int_t)e->relay_limits.conn_max,
	    "handshakes", (json_int_t)e->relay_limits.handshake_max,
	    "queue", (json_int_t)e->conf.relay_queue,
	    "send_rate", (json_int_t)e->conf.relay_send_rate,
	    "send_burst", (json_int_t)e->conf.relay_send_burst,
	    "keepalive", (json_int_t)e->conf.relay_keepalive);
	if (j == NULL)
		return (NULL);
	if (e->relay_stats_ms != 0 && json_object_set_new(j, "age_ms",
	    json_integer((json_int_t)(edge_now_ms() -
	    e->relay_stats_ms))) == -1)
		goto fail;
	for (i = 0; i < RCTR_MAX; i++) {
		ci = &relay_ctr_info[i];
		if (ci->group == NULL) {
			if (json_object_set_new(j, ci->name,
			    json_integer((json_int_t)st->ctr[i])) == -1)
				goto fail;
			continue;
		}
		if ((g = json_object_get(j, ci->group)) == NULL) {
			if ((g = json_object()) == NULL ||
			    json_object_set_new(j, ci->group, g) == -1)
				goto fail;
		}
		if (json_object_set_new(g, ci->name,
		    json_integer((json_int_t)st->ctr[i])) == -1)
			goto fail;
	}
	return (j);
fail:
	json_decref(j);
	return (NULL);
}
