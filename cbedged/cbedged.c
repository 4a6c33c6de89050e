/*
 * cbedged: the edge server of a cbp2p mesh.  Started as root, it reads
 * its configuration, loads the TLS certificate and key and the token
 * verification key, binds its sockets, starts the relay worker when
 * relay_listen is set (relayproc.c), and then chroots, drops to the
 * unprivileged user and installs its seccomp filter before the event
 * loop reads the first byte from the network.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "cbedged.h"
#include "log.h"
#include "proc.h"

#define FDS_PER_POLL	2	/* a long poll's connection, and slack */

extern char		**environ;

static struct edge	 edge_env;
struct edge		*edge = &edge_env;

static __dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnv] [-f file]\n", __progname);
	exit(1);
}

int
edge_bind(const char *addr, int type, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, on = 1, off = 0;

	if (hostport_parse_numeric(addr, &ss) == -1) {
		snprintf(err, errlen, "%s: not a numeric address:port", addr);
		return (-1);
	}
	sslen = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if ((fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR,
	    &on, sizeof(on)) == -1)
		goto fail;
	/* "[::]:port" serves IPv4 too. */
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &off, sizeof(off)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, EDGE_HTTP_BACKLOG) == -1)
		goto fail;
	return (fd);
fail:
	snprintf(err, errlen, "%s: %s", addr, strerror(errno));
	close(fd);
	return (-1);
}

static void
edge_sig(int sig, short ev, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("received signal %d, exiting", sig);
		edge->exiting = 1;
		event_base_loopbreak(edge->base);
		break;
	case SIGHUP:
		log_info("SIGHUP: cbedged does not reload; restart it to "
		    "change its configuration");
		break;
	}
}

/* The chroot: made empty if missing, then checked. */
static void
prepare_chroot(const char *dir)
{
	char	 err[CFG_ERR_MAX];

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", dir);
	if (sandbox_check_dir(dir, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

/* Long polls hold connections: bound them by the descriptors we have. */
static size_t
polls_max(void)
{
	struct rlimit	 rl;
	size_t		 n = EDGE_POLLS_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
			(void)getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur / FDS_PER_POLL < n)
			n = rl.rlim_cur / FDS_PER_POLL;
	}
	return (n);
}

int
main(int argc, char *argv[])
{
	struct event		*ev_term, *ev_int, *ev_hup;
	struct reg_limits	 limits;
	char			 err[CFG_ERR_MAX], conf_abs[PATH_MAX];
	const char		*conffile = EDGE_DEFAULT_CONF;
	uint8_t			 hashkey[16];
	ssize_t			 n;
	int			 ch, noaction = 0, verbose = 0;

	/*
	 * The relay worker is this program in its own role.  Its title
	 * ("cbedged: relay") needs the arguments as the kernel laid them.
	 */
	if (argc > 1 && strcmp(argv[1], RELAY_ROLE_FLAG) == 0) {
		setproctitle_init(argc, argv, environ);
		argv[1] = argv[0];
		relay_main(argc - 1, argv + 1);
	}
	/*
	 * Before the TLS key is read: no core file, and only a tracer
	 * with CAP_SYS_PTRACE may read our memory.
	 */
	if (sandbox_nocore() == -1)
		errx(1, "no core dumps: %s", strerror(errno));
	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			edge->foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	edge->verbose = verbose;
	edge->http_fd = edge->stun_fd = edge->stun_alt_fd = edge->relay_fd =
	    edge->metrics_fd = -1;
	edge->relay_iev.ibuf.fd = -1;

	if (edge_conf_load(conffile, &edge->conf, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if ((edge->ssl_ctx = httpd_tls_init(&edge->conf, err,
	    sizeof(err))) == NULL)
		errx(1, "%s", err);
	if (noaction) {
		fprintf(stderr, "configuration OK\n");
		SSL_CTX_free(edge->ssl_ctx);
		edge_conf_free(&edge->conf);
		exit(0);
	}
	if (geteuid() != 0)
		errx(1, "need root privileges");
	if (getpwnam(edge->conf.user) == NULL)
		errx(1, "unknown user %s", edge->conf.user);
	/*
	 * The relay worker reads the same file after daemon(3) moved us
	 * to /, and is this very executable.
	 */
	if (realpath(conffile, conf_abs) == NULL)
		errx(1, "%s: %s", conffile, strerror(errno));
	if ((n = readlink("/proc/self/exe", edge->self,
	    sizeof(edge->self) - 1)) == -1)
		errx(1, "readlink /proc/self/exe: %s", strerror(errno));
	edge->self[n] = '\0';

	log_init(edge->foreground, LOG_DAEMON);
	log_procinit("cbedged");
	log_setjson(edge->conf.log_format == LOGFMT_JSON);
	log_setverbose(verbose > edge->conf.log_verbose ? verbose :
	    edge->conf.log_verbose);
	prepare_chroot(edge->conf.chroot_dir);
	edge->polls_max = polls_max();

	/* Bind now, so that an address in use is said on the terminal. */
	if ((edge->http_fd = edge_bind(edge->conf.listen, SOCK_STREAM, err,
	    sizeof(err))) == -1)
		fatalx("listen %s", err);
	if (stund_init(edge, err, sizeof(err)) == -1)
		fatalx("stun_listen %s", err);
	if (edge->conf.relay_listen[0] != '\0' && (edge->relay_fd =
	    edge_bind(edge->conf.relay_listen, SOCK_STREAM, err,
	    sizeof(err))) == -1)
		fatalx("relay_listen %s", err);
	if (edge->conf.metrics_address[0] != '\0' && (edge->metrics_fd =
	    edge_bind(edge->conf.metrics_address, SOCK_STREAM, err,
	    sizeof(err))) == -1)
		fatalx("metrics_address %s", err);
	if (!edge->foreground && daemon(0, 0) == -1)
		fatal("daemon");

	/* The global base: imsg events (relayproc.c) are added to it. */
	if ((edge->base = event_init()) == NULL)
		fatalx("event_init failed");
	limits.ttl = edge->conf.ttl;
	limits.max_peers_per_mesh = edge->conf.max_peers_per_mesh;
	limits.max_meshes = edge->conf.max_meshes;
	if ((edge->reg = registry_new(&limits, httpd_mesh_changed,
	    edge)) == NULL)
		fatal("registry_new");
	arc4random_buf(hashkey, sizeof(hashkey));
	ratelimit_init(&edge->http_rl, edge->conf.rate, edge->conf.burst,
	    hashkey);
	arc4random_buf(hashkey, sizeof(hashkey));
	ratelimit_init(&edge->stun_rl, edge->conf.rate, edge->conf.burst,
	    hashkey);
	if (httpd_init(edge, err, sizeof(err)) == -1 ||
	    metrics_init(edge, err, sizeof(err)) == -1)
		fatalx("%s", err);

	if ((ev_term = evsignal_new(edge->base, SIGTERM, edge_sig,
	    NULL)) == NULL ||
	    (ev_int = evsignal_new(edge->base, SIGINT, edge_sig,
	    NULL)) == NULL ||
	    (ev_hup = evsignal_new(edge->base, SIGHUP, edge_sig,
	    NULL)) == NULL)
		fatalx("evsignal_new failed");
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	signal(SIGPIPE, SIG_IGN);

	/*
	 * jansson seeds its hash function from /dev/urandom on first use,
	 * and falls back to the time and pid when the chroot hides it:
	 * seed it now, or request bodies could aim at one hash bucket.
	 */
	json_object_seed(0);
	if (edge->relay_fd != -1 && relayproc_start(edge, conf_abs, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	sandbox_enter(edge->conf.chroot_dir, edge->conf.user,
	    &sandbox_policy_edge);
	httpd_start(edge);
	stund_start(edge);
	log_info("started: registry on https://%s, ttl %u s, up to %zu long "
	    "polls", edge->conf.listen, edge->conf.ttl, edge->polls_max);

	event_base_dispatch(edge->base);

	relayproc_stop(edge);
	metrics_shutdown(edge);
	httpd_shutdown(edge);
	stund_shutdown(edge);
	registry_free(edge->reg);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(edge->base);
	edge_conf_free(&edge->conf);
	log_info("exiting%s", edge->exit_code != 0 ? " on error" : "");
	return (edge->exit_code);
}
