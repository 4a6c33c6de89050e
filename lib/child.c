/*
 * The common life of a cbp2pd child: started by the parent with its
 * socketpair on fd 3, it sandboxes itself before the first read, then
 * serves the parent's messages until the parent goes away or tells it to
 * stop.
 */

#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <paths.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "imsg.h"
#include "log.h"
#include "proc.h"

extern char	**environ;

static struct imsgev	 child_iev;

uint64_t
proc_uptime(const struct timespec *since)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((uint64_t)(now.tv_sec - since->tv_sec));
}

static void
child_sig(int sig, short event, void *arg)
{
	struct child	*c = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s: exiting on signal %d", proc_name(c->id), sig);
		exit(0);
	default:
		break;
	}
}

static void
child_status(struct child *c, uint32_t peerid)
{
	struct child_status	 cs;

	memset(&cs, 0, sizeof(cs));
	cs.proc = c->id;
	cs.pid = getpid();
	cs.uid = getuid();
	cs.uptime = proc_uptime(&c->started);
	cs.msgs = c->msgs;
	cs.generation = c->conf.generation;
	cs.configs = c->configs;
	if (c->status != NULL)
		c->status(c);
	strlcpy(cs.state, c->state, sizeof(cs.state));
	imsg_compose_event(c->iev, IMSG_CHILD_STATUS, peerid, 0, -1, &cs,
	    sizeof(cs));
}

static void
child_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct child	*c = iev->data;
	struct imsgbuf	*ibuf = &iev->ibuf;
	struct imsg	 imsg;
	ssize_t		 n;
	size_t		 len;
	int		 verbose;

	if (event & EV_READ) {
		if ((n = imsg_read(ibuf)) == -1 && errno != EAGAIN)
			fatal("%s: imsg_read", __func__);
		if (n == 0) {
			/* The parent went away: nothing left to serve. */
			log_info("%s: parent closed the connection, exiting",
			    proc_name(c->id));
			exit(0);
		}
	}
	if (event & EV_WRITE) {
		if (msgbuf_write(&ibuf->w) <= 0 && errno != EAGAIN)
			fatal("%s: msgbuf_write", __func__);
	}

	for (;;) {
		if ((n = imsg_get(ibuf, &imsg)) == -1)
			fatal("%s: imsg_get", __func__);
		if (n == 0)
			break;
		c->msgs++;
		len = imsg.hdr.len - IMSG_HEADER_SIZE;
		switch (imsg.hdr.type) {
		case IMSG_CFG_CHILD:
			if (len != sizeof(c->conf))
				fatalx("%s: bad config length %zu", __func__,
				    len);
			memcpy(&c->conf, imsg.data, sizeof(c->conf));
			c->have_conf = 1;
			c->configs++;
			log_setverbose(c->conf.log_verbose);
			log_debug("%s: configuration generation %llu",
			    proc_name(c->id),
			    (unsigned long long)c->conf.generation);
			if (c->configure != NULL)
				c->configure(c);
			break;
		case IMSG_CHILD_STATUS_REQ:
			if (len != 0)
				fatalx("%s: bad status request", __func__);
			child_status(c, imsg.hdr.peerid);
			break;
		case IMSG_CHILD_LOG_VERBOSE:
			if (len != sizeof(verbose))
				fatalx("%s: bad log level length", __func__);
			memcpy(&verbose, imsg.data, sizeof(verbose));
			log_setverbose(verbose);
			break;
		default:
			if (c->dispatch == NULL || !c->dispatch(c, &imsg))
				fatalx("%s: unexpected imsg %u", __func__,
				    imsg.hdr.type);
			break;
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

/*
 * In the foreground (-d) the child logs to the standard error it shares
 * with the parent; otherwise nothing of it goes anywhere but syslog.
 */
static void
child_stdio(const struct child_opts *o)
{
	int	 fd;

	if (o->foreground)
		return;
	if ((fd = open(_PATH_DEVNULL, O_RDWR)) == -1)
		fatal("%s", _PATH_DEVNULL);
	if (dup2(fd, STDOUT_FILENO) == -1 || dup2(fd, STDERR_FILENO) == -1)
		fatal("dup2 %s", _PATH_DEVNULL);
	if (fd > STDERR_FILENO)
		close(fd);
}

void
child_run(struct child *c, int argc, char *argv[],
    const struct sandbox_policy *policy)
{
	struct child_opts	 o;
	struct event		 ev_term, ev_int, ev_hup;
	const char		*name = proc_name(c->id);

	setproctitle_init(argc, argv, environ);
	proc_child_args(argc, argv, &o, name);
	log_init(o.foreground, LOG_DAEMON);
	log_procinit(name);
	log_setverbose(o.verbose);
	log_setjson(o.json);
	child_stdio(&o);
	clock_gettime(CLOCK_MONOTONIC, &c->started);

	/* Everything that opens descriptors happens before the sandbox. */
	c->base = event_init();
	signal_set(&ev_term, SIGTERM, child_sig, c);
	signal_set(&ev_int, SIGINT, child_sig, c);
	signal_set(&ev_hup, SIGHUP, child_sig, c);
	signal_add(&ev_term, NULL);
	signal_add(&ev_int, NULL);
	signal_add(&ev_hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->iev = &child_iev;
	imsgev_init(c->iev, PROC_PARENT_FD, c, child_dispatch_parent);
	setproctitle("%s", name);
	if (c->init != NULL)
		c->init(c);
	/*
	 * jansson seeds its hash function from /dev/urandom on first use,
	 * and falls back to the time and pid when the chroot hides it:
	 * seed it now, or JSON from the network could aim at one bucket.
	 */
	json_object_seed(0);

	sandbox_enter(o.chroot_dir, o.user, policy);

	imsg_compose_event(c->iev, IMSG_CHILD_READY, 0, 0, -1, NULL, 0);
	event_dispatch();
	fatalx("%s: event loop ended", name);
}
