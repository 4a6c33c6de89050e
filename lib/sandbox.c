/*
 * The sandbox: chroot, unprivileged user, no_new_privs, not dumpable,
 * and a seccomp filter built from a policy table (see sandbox.h).  Every
 * program's policy is here, so they can be read side by side and a test
 * can load exactly what a daemon loads.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sandbox.h"

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif

#define SANDBOX_ARGS	6	/* a system call has arguments 0 to 5 */

/* What every process needs: its imsg socket, libevent, malloc, logging. */
static const int sandbox_common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(close), SCMP_SYS(fcntl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(futex),
	SCMP_SYS(getrandom),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(tgkill),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/*
 * Harmless probes of libc (time zone files, syslog reconnecting): they
 * fail with EACCES instead of killing, unless the policy names them.
 */
static const int sandbox_refuse[] = {
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(stat), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(lstat), SCMP_SYS(access),
	SCMP_SYS(socket), SCMP_SYS(connect),
};

/* Nothing beyond the common system calls (test helpers). */
const struct sandbox_policy sandbox_policy_plain = {
	"plain", NULL, 0
};

/*
 * cbmeshd: plain HTTP (libevent's evhttp) on the listening socket the
 * parent bound for metrics_address: accept4 on it, FIONREAD before each
 * read (libevent's evbuffer_read), shutdown before a close.  socket(2) and connect(2) stay refused: it
 * can answer a scrape and reach nothing.
 */
static const struct sandbox_rule sandbox_rules_mesh[] = {
	SANDBOX_RULE(accept4, SANDBOX_ALLOW),
	SANDBOX_RULE(shutdown, SANDBOX_ALLOW),
	{ .syscall = SCMP_SYS(ioctl), .action = SANDBOX_ALLOW, .cmp = {
	    SANDBOX_ARG(1, SCMP_CMP_EQ, FIONREAD) } },
	{ .syscall = SCMP_SYS(ioctl), .action = SANDBOX_REFUSE, .cmp = {
	    SANDBOX_ARG(1, SCMP_CMP_EQ, TCGETS) } },
};

const struct sandbox_policy sandbox_policy_mesh = {
	"cbmeshd", sandbox_rules_mesh, nitems(sandbox_rules_mesh)
};

/*
 * The TLS clients of the edge, cbdiscod (the registry, with libevent's
 * HTTP) and cbrelayd (the relay, a bufferevent): TCP over IPv4 or IPv6
 * with TLS.  socket(2) is allowed only for a TCP stream (type
 * SOCK_STREAM, maybe with SOCK_NONBLOCK and SOCK_CLOEXEC, protocol 0);
 * an AF_UNIX socket, which syslog(3) asks for when it reconnects, is
 * refused; any other socket (netlink, packet, raw, UDP) kills.
 * connect(2) takes a pointer, which seccomp cannot read: either can
 * connect its TCP sockets to any address, not only the edge's.
 * cbrelayd's packet socketpair to the engine comes from the parent;
 * it reads and writes it with the common recv/send calls.
 */
static const struct sandbox_rule sandbox_rules_tcp_client[] = {
	{ .syscall = SCMP_SYS(socket), .action = SANDBOX_ALLOW, .cmp = {
	    SANDBOX_ARG(0, SCMP_CMP_EQ, AF_INET),
	    SANDBOX_ARG_MASKED(1, SANDBOX_SOCK_TYPE_MASK, SOCK_STREAM),
	    SANDBOX_ARG(2, SCMP_CMP_EQ, 0) } },
	{ .syscall = SCMP_SYS(socket), .action = SANDBOX_ALLOW, .cmp = {
	    SANDBOX_ARG(0, SCMP_CMP_EQ, AF_INET6),
	    SANDBOX_ARG_MASKED(1, SANDBOX_SOCK_TYPE_MASK, SOCK_STREAM),
	    SANDBOX_ARG(2, SCMP_CMP_EQ, 0) } },
	{ .syscall = SCMP_SYS(socket), .action = SANDBOX_REFUSE, .cmp = {
	    SANDBOX_ARG(0, SCMP_CMP_EQ, AF_UNIX) } },
	SANDBOX_RULE(connect, SANDBOX_ALLOW),
	SANDBOX_RULE(getsockopt, SANDBOX_ALLOW),
	SANDBOX_RULE(setsockopt, SANDBOX_ALLOW),
	SANDBOX_RULE(getsockname, SANDBOX_ALLOW),
	SANDBOX_RULE(getpeername, SANDBOX_ALLOW),
	SANDBOX_RULE(shutdown, SANDBOX_ALLOW),
	/*
	 * libevent asks how much a socket holds; isatty(3) probes are
	 * refused.  Nothing else: TIOCSTI on a terminal that is standard
	 * error in the foreground would type into the operator's shell.
	 */
	{ .syscall = SCMP_SYS(ioctl), .action = SANDBOX_ALLOW, .cmp = {
	    SANDBOX_ARG(1, SCMP_CMP_EQ, FIONREAD) } },
	{ .syscall = SCMP_SYS(ioctl), .action = SANDBOX_REFUSE, .cmp = {
	    SANDBOX_ARG(1, SCMP_CMP_EQ, TCGETS) } },
	SANDBOX_RULE(uname, SANDBOX_ALLOW),
};

const struct sandbox_policy sandbox_policy_disco = {
	"cbdiscod", sandbox_rules_tcp_client,
	nitems(sandbox_rules_tcp_client)
};

const struct sandbox_policy sandbox_policy_relay = {
	"cbrelayd", sandbox_rules_tcp_client,
	nitems(sandbox_rules_tcp_client)
};

/*
 * The engine (cbp2pd -E), the data plane: batched UDP on the sockets and
 * the tun the parent passed.  No socket(2), no open(2) (both refused),
 * no execve(2) (kills).
 */
static const struct sandbox_rule sandbox_rules_engine[] = {
	SANDBOX_RULE(recvmmsg, SANDBOX_ALLOW),
	SANDBOX_RULE(sendmmsg, SANDBOX_ALLOW),
};

const struct sandbox_policy sandbox_policy_engine = {
	"engine", sandbox_rules_engine, nitems(sandbox_rules_engine)
};

/*
 * cbedged, found with strace -f over the end-to-end tests: evconnlistener
 * accepts with accept4, getpeername names a new connection for the
 * per-source cap, and evhttp shuts a connection down before it closes
 * it; wait4 reaps the relay worker.  Plain HTTP on
 * metrics_address reads with FIONREAD first (the registry's TLS does
 * not).  Its sockets are bound before the sandbox: socket(2) and
 * connect(2) stay refused.
 */
static const struct sandbox_rule sandbox_rules_edge[] = {
	SANDBOX_RULE(accept4, SANDBOX_ALLOW),
	SANDBOX_RULE(getpeername, SANDBOX_ALLOW),
	SANDBOX_RULE(shutdown, SANDBOX_ALLOW),
	SANDBOX_RULE(wait4, SANDBOX_ALLOW),
	{ .syscall = SCMP_SYS(ioctl), .action = SANDBOX_ALLOW, .cmp = {
	    SANDBOX_ARG(1, SCMP_CMP_EQ, FIONREAD) } },
	{ .syscall = SCMP_SYS(ioctl), .action = SANDBOX_REFUSE, .cmp = {
	    SANDBOX_ARG(1, SCMP_CMP_EQ, TCGETS) } },
};

const struct sandbox_policy sandbox_policy_edge = {
	"cbedged", sandbox_rules_edge, nitems(sandbox_rules_edge)
};

/*
 * cbedged's relay worker (cbedged -R), found with strace -f over
 * regress/e2e/t_relay_edge: accept4 on the socket the parent passed,
 * and TCP_NODELAY on each connection, nothing else of setsockopt(2).
 * socket(2) and connect(2) stay refused.
 */
static const struct sandbox_rule sandbox_rules_edge_relay[] = {
	SANDBOX_RULE(accept4, SANDBOX_ALLOW),
	{ .syscall = SCMP_SYS(setsockopt), .action = SANDBOX_ALLOW, .cmp = {
	    SANDBOX_ARG(1, SCMP_CMP_EQ, IPPROTO_TCP),
	    SANDBOX_ARG(2, SCMP_CMP_EQ, TCP_NODELAY) } },
};

const struct sandbox_policy sandbox_policy_edge_relay = {
	"edge-relay", sandbox_rules_edge_relay,
	nitems(sandbox_rules_edge_relay)
};

/* A system call's name for messages; "" when libseccomp has none. */
static void
syscall_name(int nr, char *buf, size_t len)
{
	char	*name;

	if ((name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
	    nr)) == NULL) {
		snprintf(buf, len, "system call %d", nr);
		return;
	}
	snprintf(buf, len, "%s", name);
	free(name);
}

static int
in_list(int nr, const int *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (list[i] == nr)
			return (1);
	}
	return (0);
}

static size_t
rule_ncmp(const struct sandbox_rule *r)
{
	size_t	 n;

	for (n = 0; n < SANDBOX_CMP_MAX && r->cmp[n].op != 0; n++)
		;
	return (n);
}

static int
policy_names(const struct sandbox_policy *p, int nr)
{
	size_t	 i;

	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].syscall == nr)
			return (1);
	}
	return (0);
}

/* The shapes libseccomp would accept but not load as meant. */
static int
policy_check(const struct sandbox_policy *p, char *err, size_t errlen)
{
	const struct sandbox_rule	*r;
	const struct sandbox_cmp	*c;
	char				 name[64];
	size_t				 i, j, n;

	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		syscall_name(r->syscall, name, sizeof(name));
		if (in_list(r->syscall, sandbox_common,
		    nitems(sandbox_common))) {
			snprintf(err, errlen, "%s: rule %zu: %s is allowed "
			    "to every process", p->name, i, name);
			return (-1);
		}
		n = rule_ncmp(r);
		for (j = 0; j < n; j++) {
			c = &r->cmp[j];
			if (c->arg >= SANDBOX_ARGS || c->op <= 0 ||
			    c->op >= _SCMP_CMP_MAX ||
			    (c->op != SCMP_CMP_MASKED_EQ && c->mask != 0)) {
				snprintf(err, errlen, "%s: rule %zu: %s: bad "
				    "comparison %zu", p->name, i, name, j);
				return (-1);
			}
		}
		for (j = n; j < SANDBOX_CMP_MAX; j++) {
			if (r->cmp[j].op != 0) {
				snprintf(err, errlen, "%s: rule %zu: %s: "
				    "comparison %zu after the end", p->name,
				    i, name, j);
				return (-1);
			}
		}
		/* A rule without comparisons would hide every other one. */
		for (j = 0; j < p->nrules; j++) {
			if (j == i || p->rules[j].syscall != r->syscall)
				continue;
			if (n == 0 || rule_ncmp(&p->rules[j]) == 0) {
				snprintf(err, errlen, "%s: rules %zu and %zu: "
				    "%s has a rule without comparisons and "
				    "another", p->name, i, j, name);
				return (-1);
			}
		}
	}
	return (0);
}

scmp_filter_ctx
sandbox_filter(const struct sandbox_policy *p, char *err, size_t errlen)
{
	struct scmp_arg_cmp		 args[SANDBOX_CMP_MAX];
	const struct sandbox_rule	*r;
	const struct sandbox_cmp	*c;
	scmp_filter_ctx			 ctx;
	char				 name[64];
	size_t				 i, j, n;
	int				 rc, nr;

	if (policy_check(p, err, errlen) == -1)
		return (NULL);
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return (NULL);
	}
	for (i = 0; i < nitems(sandbox_common); i++) {
		nr = sandbox_common[i];
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
			goto fail;
	}
	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		nr = r->syscall;
		n = rule_ncmp(r);
		memset(args, 0, sizeof(args));
		for (j = 0; j < n; j++) {
			c = &r->cmp[j];
			args[j].arg = c->arg;
			args[j].op = c->op;
			/* libseccomp wants the mask first. */
			if (c->op == SCMP_CMP_MASKED_EQ) {
				args[j].datum_a = c->mask;
				args[j].datum_b = c->value;
			} else
				args[j].datum_a = c->value;
		}
		if ((rc = seccomp_rule_add_array(ctx, r->action, nr, n,
		    args)) < 0)
			goto fail;
	}
	/* Refusals only where the policy says nothing. */
	for (i = 0; i < nitems(sandbox_refuse); i++) {
		nr = sandbox_refuse[i];
		if (policy_names(p, nr))
			continue;
		if ((rc = seccomp_rule_add(ctx, SANDBOX_REFUSE, nr, 0)) < 0)
			goto fail;
	}
	return (ctx);
fail:
	syscall_name(nr, name, sizeof(name));
	snprintf(err, errlen, "%s: seccomp_rule_add %s: %s", p->name, name,
	    strerror(-rc));
	seccomp_release(ctx);
	return (NULL);
}

int
sandbox_check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat	 st;

	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "chroot %s: %s", dir, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "chroot %s: not a directory", dir);
		return (-1);
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "chroot %s: must be owned by root and "
		    "writable only by root", dir);
		return (-1);
	}
	return (0);
}

int
sandbox_nocore(void)
{
	struct rlimit	 rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    setrlimit(RLIMIT_CORE, &rl) == -1)
		return (-1);
	return (0);
}

void
sandbox_enter(const char *dir, const char *user,
    const struct sandbox_policy *p)
{
	struct passwd	*pw;
	scmp_filter_ctx	 ctx;
	char		 err[CFG_ERR_MAX];
	uid_t		 uid;
	gid_t		 gid;
	int		 rc;

	/* No core file and no ptrace by our own user: memory holds keys. */
	if (sandbox_nocore() == -1)
		fatal("sandbox: core dumps");
	if ((pw = getpwnam(user)) == NULL)
		fatalx("sandbox: unknown user %s", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		fatalx("sandbox: user %s must not be root", user);
	if (sandbox_check_dir(dir, err, sizeof(err)) == -1)
		fatalx("sandbox: %s", err);
	/* Built before the chroot, so that a bad policy is said plainly. */
	if ((ctx = sandbox_filter(p, err, sizeof(err))) == NULL)
		fatalx("sandbox: %s", err);

	if (chroot(dir) == -1)
		fatal("sandbox: chroot %s", dir);
	if (chdir("/") == -1)
		fatal("sandbox: chdir /");
	if (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("sandbox: cannot drop privileges to %s", user);
	/* Regaining root must be impossible. */
	if (setresuid(0, 0, 0) != -1 || getuid() != uid || geteuid() != uid)
		fatalx("sandbox: privileges were not dropped");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: no_new_privs");

	/* For every thread: the engine's crypto workers run already. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		fatalx("sandbox: seccomp TSYNC: %s", strerror(-rc));
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("sandbox: seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
	log_debug("sandbox: chroot %s, user %s, seccomp policy %s", dir,
	    user, p->name);
}
