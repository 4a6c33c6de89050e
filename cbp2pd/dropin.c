/*
 * cbp2p-wg: cbp2pd called by another name, a drop-in for wireguard-go
 * under wg-quick(8).  "cbp2p-wg [-f] IFNAME" creates the tun, serves
 * /var/run/wireguard/IFNAME.sock and is configured only through wg(8):
 * no configuration file, no token, no discovery, relay or cbmeshd.  It
 * keeps the privilege separation of cbp2pd: the private key wg(8) sets
 * stays in this root process, the engine runs sandboxed.  It exits when
 * the interface is deleted, as wg-quick down does.
 *
 * The rest of the parent asks env->dropin where a token would speak:
 * dp_init and dp_start (no address, key, port or peers of its own),
 * the process table (the engine alone), the children's configuration,
 * SIGHUP (nothing to reload), the control socket (none) and a STUN
 * result from the engine (never asked for, so fatal).
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cbp2pd.h"
#include "log.h"

/* wireguard-go's environment, as wg-quick(8) users know it. */
#define ENV_FOREGROUND		"WG_PROCESS_FOREGROUND"
#define ENV_LOG_LEVEL		"LOG_LEVEL"

static struct event	 ev_link;
static int		 ready_fd = -1;	/* to the process that waits */

static __dead void
dropin_usage(void)
{
	fprintf(stderr, "usage: %s [-f | --foreground] interface\n",
	    DROPIN_NAME);
	exit(1);
}

int
dropin_selected(const char *argv0)
{
	const char	*base;

	if (argv0 == NULL)
		return (0);
	base = strrchr(argv0, '/');
	return (strcmp(base != NULL ? base + 1 : argv0, DROPIN_NAME) == 0);
}

/*
 * wireguard-go's command line: the interface, after -f or --foreground
 * to stay in the foreground, as WG_PROCESS_FOREGROUND=1 does too.
 * LOG_LEVEL: verbose or debug adds debug messages, error leaves only
 * errors; otherwise informational messages too.
 */
void
dropin_args(int argc, char *argv[])
{
	char		 err[CFG_ERR_MAX];
	const char	*ifname, *v;

	if (argc == 3 && (strcmp(argv[1], "-f") == 0 ||
	    strcmp(argv[1], "--foreground") == 0)) {
		env->foreground = 1;
		ifname = argv[2];
	} else if (argc == 2 && argv[1][0] != '-')
		ifname = argv[1];
	else
		dropin_usage();
	if ((v = getenv(ENV_FOREGROUND)) != NULL && strcmp(v, "1") == 0)
		env->foreground = 1;
	if (config_dropin(&env->conf, ifname, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if ((v = getenv(ENV_LOG_LEVEL)) != NULL) {
		if (strcmp(v, "verbose") == 0 || strcmp(v, "debug") == 0)
			env->conf.log_verbose = 1;
		else if (strcmp(v, "error") == 0)
			env->conf.log_verbose = LOG_QUIET;
	}
	/* The engine is this program; nothing comes from libexec. */
	env->libexec = LIBEXECDIR;
}

/*
 * Into the background, as wireguard-go: wg-quick(8) runs wg setconf as
 * soon as we return, so the process it started waits until the socket
 * is served (dropin_ready) and exits 0, or 1 if the daemon died first.
 * Until then the daemon's errors, and only they, go to the same
 * standard error, as wireguard-go's do by default.
 */
void
dropin_daemonize(void)
{
	ssize_t	 n;
	pid_t	 pid;
	char	 c;
	int	 p[2];

	if (env->foreground)
		return;
	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0) {
		close(p[1]);
		while ((n = read(p[0], &c, 1)) == -1 && errno == EINTR)
			;
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	ready_fd = p[1];
	log_setverbose(LOG_QUIET);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
}

/*
 * Up and serving: release the waiting process, and log to syslog at
 * the level LOG_LEVEL asked for, the engine too.
 */
void
dropin_ready(void)
{
	int	 fd;

	if (ready_fd != -1) {
		log_init(LOG_TO_SYSLOG, LOG_DAEMON);
		parent_log_verbose(env->conf.log_verbose);
	}
	log_info("started on %s, UDP port %u", env->conf.ifname,
	    env->dp.port);
	if (ready_fd == -1)
		return;		/* in the foreground */
	if ((fd = open(_PATH_DEVNULL, O_RDWR)) == -1)
		fatal("%s", _PATH_DEVNULL);
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1)
		fatal("dup2 %s", _PATH_DEVNULL);
	if (fd > STDERR_FILENO)
		close(fd);
	if (write(ready_fd, "", 1) != 1)
		log_warn("%s: the starting process is gone", __func__);
	close(ready_fd);
	ready_fd = -1;
}

/*
 * What ip(8) does to the link: wg-quick down deletes it, and we stop as
 * wireguard-go does; wg-quick up sets its MTU, which the engine pads to.
 */
static void
dropin_link(int fd, short event, void *arg)
{
	unsigned int	 mtu;

	switch (tun_watch_read(fd, env->dp.ifindex, &mtu)) {
	case TUN_LINK_GONE:
		log_info("%s was deleted", env->conf.ifname);
		parent_shutdown(0);
	case TUN_LINK_MTU:
		dp_set_mtu(mtu);
		break;
	default:
		break;
	}
}

void
dropin_watch(void)
{
	int	 fd;

	if ((fd = tun_watch_open()) == -1)
		fatalx("cannot follow the links of this namespace");
	event_set(&ev_link, fd, EV_READ | EV_PERSIST, dropin_link, NULL);
	event_add(&ev_link, NULL);
}
