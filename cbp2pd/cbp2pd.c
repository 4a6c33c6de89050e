/*
 * cbp2pd: the privileged parent of the cbp2p suite.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cbp2pd.h"
#include "log.h"

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif
#define CHILD_ARGV_MAX		12
#define ENGINE_ROLE_FLAG	"-E"	/* first argument: run as the engine */
#define REAP_POLL_NS		10000000L	/* 10 ms between waitpid polls */

extern char		**environ;

static struct cbp2pd	 cbp2pd_env;
struct cbp2pd		*env = &cbp2pd_env;

static struct event	 ev_sigterm, ev_sigint, ev_sighup, ev_sigchld;
static char		 self_path[PATH_MAX];

/*
 * The parent's processes, declared once as iked's procs[]: each with
 * the handler for what it sends beyond the messages every child sends.
 * The engine is this program in its own role; the rest are in libexec.
 * cbp2p-wg has no token, so nothing to discover, relay or choose paths
 * for: it runs the engine alone.
 */
static const struct parent_proc {
	enum proc_id	 id;
	int		(*dispatch)(struct cbp2pd_child *, struct imsg *);
	int		 self;		/* exec cbp2pd -E, not libexec */
	int		 dropin;	/* runs in cbp2p-wg too */
} procs[] = {
	{ PROC_DISCO,	disco_dispatch,	0, 0 },
	{ PROC_MESH,	mesh_dispatch,	0, 0 },
	{ PROC_RELAY,	relay_dispatch,	0, 0 },
	{ PROC_ENGINE,	dp_dispatch,	1, 1 },
};

/* Whether procs[i] runs in this mode. */
static int
proc_runs(size_t i)
{
	return (!env->dropin || procs[i].dropin);
}

static __dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnv] [-f file] [-x libexecdir]\n",
	    __progname);
	exit(1);
}

/* -v on the command line wins over a quieter log_level. */
static int
effective_verbose(void)
{
	return (env->cmd_verbose > 0 &&
	    env->cmd_verbose > env->conf.log_verbose ?
	    env->cmd_verbose : env->conf.log_verbose);
}

/*
 * What every child may know.  cbp2p-wg has no token: only what wg(8)
 * set is filled in, and the one child it runs, the engine, reads none
 * of the token's fields.
 */
static void
child_conf_fill(struct child_conf *cc)
{
	const struct cbp2p_config	*c = &env->conf;
	const struct token		*t = &c->tok;

	memset(cc, 0, sizeof(*cc));
	cc->generation = env->generation;
	cc->listen_port = env->dp.port;	/* the port bound, if 0 asked */
	cc->mtu = env->dp.mtu;
	/* wg set private-key may have replaced the token's. */
	if (env->dp.has_key)
		memcpy(cc->public_key, env->dp.local.pub,
		    sizeof(cc->public_key));
	else if (!env->dropin)
		memcpy(cc->public_key, t->public_key, sizeof(cc->public_key));
	strlcpy(cc->ifname, c->ifname, sizeof(cc->ifname));
	cc->log_verbose = log_getverbose();
	if (env->dropin)
		return;
	cc->conn_type = t->conn_type;
	cc->routing = t->routing;
	cc->auto_discovery = t->auto_discovery;
	cc->persistent = t->persistent;
	cc->auto_approve = t->auto_approve;
	cc->max_peers = t->max_peers;
	cc->address = t->address;
	strlcpy(cc->metrics_address, c->metrics_address,
	    sizeof(cc->metrics_address));
	strlcpy(cc->registry, c->registry, sizeof(cc->registry));
	strlcpy(cc->stun, c->stun, sizeof(cc->stun));
	strlcpy(cc->relay, c->relay, sizeof(cc->relay));
}

void
parent_send_children(uint32_t type, uint32_t peerid, const void *data,
    size_t len)
{
	size_t	 i;
	int	 id;

	for (i = 0; i < nitems(procs); i++) {
		id = procs[i].id;
		if (!proc_runs(i))
			continue;
		if (imsg_compose_event(&env->children[id].iev, type, peerid,
		    0, -1, data, len) == -1)
			fatal("%s: imsg_compose_event to %s", __func__,
			    proc_name(id));
	}
}

void
parent_push_config(void)
{
	struct child_conf	 cc;

	child_conf_fill(&cc);
	parent_send_children(IMSG_CFG_CHILD, 0, &cc, sizeof(cc));
	if (env->dropin)
		return;
	disco_push_config();
	relay_push_config();
}

void
parent_log_verbose(int v)
{
	log_setverbose(v);
	parent_send_children(IMSG_CHILD_LOG_VERBOSE, 0, &v, sizeof(v));
}

/* Settings bound at start: a reload can't change them, so it keeps them. */
static void
reload_keep(struct cbp2p_config *nc)
{
	const struct cbp2p_config	*oc = &env->conf;

	if (strcmp(nc->ifname, oc->ifname) != 0)
		log_warnx("reload: interface change needs a restart");
	if (strcmp(nc->control_socket, oc->control_socket) != 0)
		log_warnx("reload: control_socket change needs a restart");
	if (strcmp(nc->user, oc->user) != 0)
		log_warnx("reload: user change needs a restart");
	if (strcmp(nc->chroot_dir, oc->chroot_dir) != 0)
		log_warnx("reload: chroot change needs a restart");
	if (nc->tok.mtu != oc->tok.mtu)
		log_warnx("reload: mtu change needs a restart");
	if (nc->offload != oc->offload)
		log_warnx("reload: offload change needs a restart");
	nc->offload = oc->offload;
	if (memcmp(&nc->tok.address, &oc->tok.address,
	    sizeof(nc->tok.address)) != 0)
		log_warnx("reload: address change needs a restart");
	nc->tok.mtu = oc->tok.mtu;
	nc->tok.address = oc->tok.address;
	strlcpy(nc->ifname, oc->ifname, sizeof(nc->ifname));
	strlcpy(nc->control_socket, oc->control_socket,
	    sizeof(nc->control_socket));
	strlcpy(nc->user, oc->user, sizeof(nc->user));
	strlcpy(nc->chroot_dir, oc->chroot_dir, sizeof(nc->chroot_dir));
}

/*
 * Re-read the configuration as a transaction: everything that can fail
 * (the token, the key, a new port, the static peers' endpoints) is done
 * or checked before anything changes; on failure the running
 * configuration, port and peers stay as they were.
 */
int
parent_reload(char *msg, size_t msglen)
{
	struct cbp2p_config	 nc;
	struct wg_local		 probe;
	char			 err[CFG_ERR_MAX];
	int			 fd4 = -1;
	uint16_t		 bound;

	if (config_load(env->conf_path, &nc, time(NULL), err,
	    sizeof(err)) == -1)
		goto refused;
	reload_keep(&nc);
	/* What can fail, tried on the side first. */
	if (wg_local_init(&probe, env->dp.crypto, nc.tok.private_key) !=
	    WG_OK) {
		snprintf(err, sizeof(err), "private key unusable");
		goto refused_nc;
	}
	wg_local_clear(&probe);
	if (nc.tok.listen_port != 0 && nc.tok.listen_port != env->dp.port &&
	    (fd4 = udp_bind(AF_INET, nc.tok.listen_port, &bound)) == -1) {
		snprintf(err, sizeof(err), "cannot bind UDP port %u",
		    nc.tok.listen_port);
		goto refused_nc;
	}
	if (fd4 != -1)
		close(fd4);	/* free: dp_set_port binds it for good */
	if (peer_check_static(&nc.tok, err, sizeof(err)) == -1)
		goto refused_nc;
	if (metrics_prepare(nc.metrics_address, err, sizeof(err)) == -1)
		goto refused_nc;

	/*
	 * Now the swap; these were checked above.  Peers take the new
	 * token's path before its static peers are made, so none of them
	 * is ever reached over a path the new token refuses.
	 */
	relay_set_path(relay_path_for(&nc));
	if (dp_set_private_key(nc.tok.private_key) == -1 ||
	    (nc.tok.listen_port != 0 && nc.tok.listen_port != env->dp.port &&
	    dp_set_port(nc.tok.listen_port) == -1) ||
	    peer_sync_static(&nc.tok, err, sizeof(err)) == -1)
		log_warnx("reload: data plane changed half-way: %s", err);
	config_free(&env->conf);
	env->conf = nc;
	dp_send_conf();		/* crypto_workers, from the new one */
	/* The struct copy left key bytes in nc; zero them. */
	explicit_bzero(&nc, sizeof(nc));
	env->generation++;
	env->reloads++;
	log_setjson(env->conf.log_format == LOGFMT_JSON);
	log_setverbose(effective_verbose());
	token_life_arm();
	parent_push_config();
	metrics_commit();
	dns_apply(&env->conf);
	log_info("reload: configuration generation %llu (%s)",
	    (unsigned long long)env->generation,
	    conn_type_name(env->conf.tok.conn_type));
	snprintf(msg, msglen, "reloaded, generation %llu",
	    (unsigned long long)env->generation);
	return (0);

refused_nc:
	config_free(&nc);
	explicit_bzero(&nc, sizeof(nc));
refused:
	env->reloads_failed++;
	log_warnx("reload refused, keeping the running configuration: %s",
	    err);
	snprintf(msg, msglen, "reload refused: %s", err);
	return (-1);
}

/* Wait up to PROC_KILL_WAIT_MS for pid, then kill it; returns status. */
static int
reap(pid_t pid)
{
	struct timespec	 ts = { 0, REAP_POLL_NS };
	int		 status = 0, waited;
	pid_t		 r;

	for (waited = 0; waited < PROC_KILL_WAIT_MS; waited += 10) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r == -1 && errno == ECHILD))
			return (status);
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return (status);
}

/* A child is gone: a half mesh is worse than a clean restart. */
static __dead void
child_lost(enum proc_id id, int status)
{
	char	 why[128];

	proc_describe_status(status, why, sizeof(why));
	log_warnx("%s (pid %ld) %s; shutting down", proc_name(id),
	    (long)env->children[id].pid, why);
	env->children[id].pid = 0;
	parent_shutdown(1);
}

void
parent_shutdown(int code)
{
	size_t	 i;
	int	 id;

	env->exiting = 1;
	/*
	 * DNS first, while the engine still holds the tun open: resolvectl
	 * reverts a link by name, and the link goes with the engine.
	 */
	dns_restore();
	for (i = 0; i < nitems(procs); i++) {
		id = procs[i].id;
		if (env->children[id].pid > 0)
			kill(env->children[id].pid, SIGTERM);
	}
	for (i = 0; i < nitems(procs); i++) {
		id = procs[i].id;
		if (env->children[id].pid > 0) {
			reap(env->children[id].pid);
			env->children[id].pid = 0;
		}
		if (env->children[id].iev.ibuf.fd != -1)
			imsgev_clear(&env->children[id].iev);
	}
	control_cleanup(env->conf.control_socket);
	uapi_cleanup();
	dp_shutdown(&env->dp);
	config_free(&env->conf);
	log_info("%s", code == 0 ? "terminating" : "terminating on error");
	exit(code);
}

/* No child message carries a descriptor: one that came is closed. */
static void
child_fds_closed(struct cbp2pd_child *ch, unsigned int n, const char *how)
{
	if (n == 0)
		return;
	env->child_fds_closed += n;
	log_warnx("%s passed %u descriptor%s %s; closed", proc_name(ch->id),
	    n, n == 1 ? "" : "s", how);
}

static void
parent_dispatch_child(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct cbp2pd_child	*ch = iev->data;
	struct imsgbuf		*ibuf = &ch->iev.ibuf;
	struct imsg		 imsg;
	struct child_status	 cs;
	ssize_t			 n;
	size_t			 len;

	if (event & EV_READ) {
		/*
		 * EBADMSG: descriptors the kernel could not hand over; it
		 * closed them and the bytes were read.  Pairing messages
		 * with descriptors is lost, and no child message has one.
		 */
		if ((n = imsg_read(ibuf)) == -1 && errno == EBADMSG)
			child_fds_closed(ch, 1, "too many at once");
		else if (n == -1 && errno != EAGAIN)
			fatal("%s: imsg_read from %s", __func__,
			    proc_name(ch->id));
		if (n == 0) {
			event_del(&ch->iev.ev);
			child_lost(ch->id, reap(ch->pid));
		}
	}
	if (event & EV_WRITE) {
		if (msgbuf_write(&ibuf->w) <= 0 && errno != EAGAIN)
			fatal("%s: msgbuf_write to %s", __func__,
			    proc_name(ch->id));
	}

	for (;;) {
		/* A malformed message from a child is a bug or a compromise. */
		if ((n = imsg_get(ibuf, &imsg)) == -1)
			fatal("%s: imsg_get from %s", __func__,
			    proc_name(ch->id));
		if (n == 0)
			break;
		len = imsg.hdr.len - IMSG_HEADER_SIZE;
		if (imsg.fd != -1) {
			close(imsg.fd);
			imsg.fd = -1;
			child_fds_closed(ch, 1, "with a message");
		}
		switch (imsg.hdr.type) {
		case IMSG_CHILD_READY:
			if (len != 0)
				fatalx("%s: bad ready from %s", __func__,
				    proc_name(ch->id));
			ch->ready = 1;
			log_debug("%s: %s (pid %ld) sandboxed and ready",
			    __func__, proc_name(ch->id), (long)ch->pid);
			break;
		case IMSG_CHILD_STATUS:
			if (len != sizeof(cs))
				fatalx("%s: bad status length from %s",
				    __func__, proc_name(ch->id));
			memcpy(&cs, imsg.data, sizeof(cs));
			if (cs.proc != (int)ch->id)
				fatalx("%s: %s claims to be process %d",
				    __func__, proc_name(ch->id), cs.proc);
			control_status_child(imsg.hdr.peerid, &cs);
			break;
		default:
			if (ch->dispatch != NULL && ch->dispatch(ch, &imsg))
				break;
			/* cbrelayd's reports from another: refused, counted. */
			if (relay_dispatch(ch, &imsg))
				break;
			fatalx("%s: unexpected imsg %u from %s", __func__,
			    imsg.hdr.type, proc_name(ch->id));
		}
		imsg_free(&imsg);
	}
	child_fds_closed(ch, imsg_drop_fds(ibuf), "unclaimed");
	imsg_event_add(&ch->iev);
}

static void
parent_sig(int sig, short event, void *arg)
{
	char	 msg[CTL_MSG_MAX];
	int	 status, id;
	size_t	 i;
	pid_t	 pid;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("received signal %d", sig);
		parent_shutdown(0);
	case SIGHUP:
		if (env->dropin) {
			log_info("SIGHUP: nothing to reload; wg(8) "
			    "configures %s", env->conf.ifname);
			break;
		}
		log_info("reload requested by SIGHUP");
		parent_reload(msg, sizeof(msg));
		break;
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < nitems(procs); i++) {
				id = procs[i].id;
				if (env->children[id].pid == pid &&
				    !env->exiting)
					child_lost(id, status);
			}
		}
		break;
	default:
		break;
	}
}

static void
start_children(void)
{
	char	 path[PATH_MAX];
	char	*argv[CHILD_ARGV_MAX];
	int	 id, argc, fd;
	size_t	 i;
	pid_t	 pid;

	for (i = 0; i < nitems(procs); i++) {
		id = procs[i].id;
		argc = 0;
		if (!proc_runs(i))
			continue;
		if (procs[i].self) {
			/* The engine is cbp2pd itself, in its own role. */
			if (strlcpy(path, self_path, sizeof(path)) >=
			    sizeof(path))
				fatalx("own path too long");
			argv[argc++] = "cbp2pd";
			argv[argc++] = ENGINE_ROLE_FLAG;
		} else {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s",
			    env->libexec, proc_name(id)) >= sizeof(path))
				fatalx("libexec path too long");
			argv[argc++] = (char *)proc_name(id);
		}
		if (access(path, X_OK) == -1)
			fatal("%s", path);
		argv[argc++] = "-u";
		argv[argc++] = env->conf.user;
		argv[argc++] = "-c";
		argv[argc++] = env->conf.chroot_dir;
		if (env->foreground)
			argv[argc++] = "-d";
		if (log_getverbose() > 0)
			argv[argc++] = "-v";
		if (log_getjson())
			argv[argc++] = "-j";
		argv[argc] = NULL;

		if ((pid = proc_exec(path, argv, &fd)) == -1)
			fatal("cannot start %s", path);
		env->children[id].id = id;
		env->children[id].dispatch = procs[i].dispatch;
		env->children[id].pid = pid;
		imsgev_init(&env->children[id].iev, fd, &env->children[id],
		    parent_dispatch_child);
		imsg_event_add(&env->children[id].iev);
		log_debug("started %s (pid %ld)", proc_name(id), (long)pid);
	}
}

/* The children's chroot: created empty if missing, then checked. */
static void
prepare_chroot(const char *dir)
{
	char	 err[CFG_ERR_MAX];

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", dir);
	if (sandbox_check_dir(dir, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

/* cbp2pd's command line and configuration; -n stops here. */
static void
parent_args(int argc, char *argv[])
{
	char		 err[CFG_ERR_MAX];
	const char	*conffile = CFG_DEFAULT_PATH;
	int		 ch, noaction = 0;

	env->libexec = LIBEXECDIR;
	while ((ch = getopt(argc, argv, "df:nvx:")) != -1) {
		switch (ch) {
		case 'd':
			env->foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			env->cmd_verbose++;
			break;
		case 'x':
			env->libexec = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (strlcpy(env->conf_path, conffile, sizeof(env->conf_path)) >=
	    sizeof(env->conf_path))
		errx(1, "%s: path too long", conffile);

	if (config_load(env->conf_path, &env->conf, time(NULL), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "cbp2pd: %s\n", err);
		exit(1);
	}
	if (noaction) {
		fprintf(stderr, "configuration OK\n");
		config_free(&env->conf);
		exit(0);
	}
}

int
main(int argc, char *argv[])
{
	char		 err[CFG_ERR_MAX];
	int		 id;
	ssize_t		 n;

	if (argc > 1 && strcmp(argv[1], ENGINE_ROLE_FLAG) == 0) {
		/* Skip the role flag: the rest are a child's arguments. */
		argv[1] = argv[0];
		engine_main(argc - 1, argv + 1);
	}
	/*
	 * Before the token's private key is read: no core file, and
	 * only a tracer with CAP_SYS_PTRACE may read our memory.
	 */
	if (sandbox_nocore() == -1)
		errx(1, "no core dumps: %s", strerror(errno));
	/* Called as cbp2p-wg: the drop-in for wireguard-go (dropin.c). */
	env->dropin = dropin_selected(argv[0]);
	setproctitle_init(argc, argv, environ);
	for (id = 0; id < PROC_MAX; id++)
		env->children[id].iev.ibuf.fd = -1;
	if (env->dropin)
		dropin_args(argc, argv);
	else
		parent_args(argc, argv);
	if (geteuid() != 0)
		errx(1, "need root privileges");
	/* The engine is this program: exec it by the file, not by name. */
	if ((n = readlink("/proc/self/exe", self_path,
	    sizeof(self_path) - 1)) == -1)
		fatal("readlink /proc/self/exe");
	self_path[n] = '\0';
	if (getpwnam(env->conf.user) == NULL)
		errx(1, "unknown user %s", env->conf.user);

	/* cbp2p-wg reports errors in its start on standard error. */
	log_init(env->foreground || env->dropin, LOG_DAEMON);
	log_procinit(env->dropin ? DROPIN_NAME : "cbp2pd");
	log_setjson(env->conf.log_format == LOGFMT_JSON);
	log_setverbose(effective_verbose());
	prepare_chroot(env->conf.chroot_dir);

	if (env->dropin)
		dropin_daemonize();
	else if (!env->foreground && daemon(0, 0) == -1)
		fatal("daemon");
	env->parent_pid = getpid();
	clock_gettime(CLOCK_MONOTONIC, &env->started);
	env->generation = 1;

	event_init();
	signal_set(&ev_sigterm, SIGTERM, parent_sig, NULL);
	signal_set(&ev_sigint, SIGINT, parent_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_sig, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* cbp2p-wg has no control socket: wg(8) is the only way in. */
	if (!env->dropin && control_init(env->conf.control_socket) == -1)
		fatalx("control socket %s unusable",
		    env->conf.control_socket);
	/* Before the tun exists, so that no deletion goes unseen. */
	if (env->dropin)
		dropin_watch();
	if (dp_init(&env->dp, &env->conf, err, sizeof(err)) == -1)
		fatalx("data plane: %s", err);
	if (uapi_init(env->conf.ifname) == -1)
		fatalx("cannot serve the wg configuration socket");
	/* As root, before any child runs; cbmeshd gets it when started. */
	if (metrics_prepare(env->conf.metrics_address, err, sizeof(err)) == -1)
		fatalx("%s", err);
	start_children();
	if (dp_start(&env->conf, err, sizeof(err)) == -1)
		fatalx("data plane: %s", err);
	token_life_arm();
	parent_push_config();
	metrics_commit();
	/* The tunnel is up: its DNS now, taken back at exit. */
	dns_apply(&env->conf);
	if (env->dropin) {
		setproctitle("%s", env->conf.ifname);
		dropin_ready();
	} else {
		control_listen();
		setproctitle("parent");
		log_info("started: %s on %s, generation %llu",
		    conn_type_name(env->conf.tok.conn_type),
		    env->conf.ifname, (unsigned long long)env->generation);
	}

	event_dispatch();
	fatalx("event loop ended");
}
