/*
 * The sandbox from inside: a child forks, enters exactly the sandbox a
 * daemon enters (sandbox_enter() with that daemon's policy from
 * lib/sandbox.c), makes one system call and reports what happened.  A
 * call outside the policy must kill it with SIGSYS; a refused one must
 * fail with EACCES; an allowed one must work.  The filter's pseudo code
 * (seccomp_export_pfc) is checked as well, and policies that libseccomp
 * would load otherwise than meant are refused.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <atf-c.h>

#include "log.h"
#include "sandbox.h"

#define SB_DIR		"empty"		/* the chroot, in the work directory */
#define SB_USER		"nobody"	/* any user but root will do */
#define PFC_MAX		(64 * 1024)

/* How a probe ended; the exit codes stay clear of fatalx()'s 1. */
#define EXIT_WORKED	0
#define EXIT_EACCES	10
#define EXIT_OTHER	11

enum outcome {
	WORKED,		/* the system call succeeded */
	REFUSED,	/* it failed with EACCES */
	FAILED,		/* it failed otherwise: the filter let it through */
	KILLED,		/* SIGSYS: outside the filter */
	BROKEN		/* anything else: the sandbox did not come up */
};

static const char *outcome_names[] = {
	"worked", "refused (EACCES)", "failed, not EACCES", "killed (SIGSYS)",
	"broken"
};

struct probe {
	const char	*what;
	long		 nr;		/* system call */
	long		 a0, a1, a2;
};

static void
sb_setup(void)
{
	if (getpwnam(SB_USER) == NULL)
		atf_tc_skip("no user %s", SB_USER);
	ATF_REQUIRE(mkdir(SB_DIR, 0755) == 0 || errno == EEXIST);
	ATF_REQUIRE(chmod(SB_DIR, 0755) == 0);
}

static __dead void
sb_exit(int code)
{
	for (;;)
		syscall(SYS_exit_group, code);
}

/* Fork, enter the sandbox with policy p, make the call, report. */
static enum outcome
sb_probe(const struct sandbox_policy *p, const struct probe *pr)
{
	pid_t	 pid;
	long	 rc;
	int	 status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		atf_tc_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		log_init(1, LOG_DAEMON);
		log_procinit("t_sandbox");
		sandbox_enter(SB_DIR, SB_USER, p);
		rc = syscall(pr->nr, pr->a0, pr->a1, pr->a2);
		/*
		 * exit_group itself: exit(3) would run LeakSanitizer and
		 * the sanitizers' _exit(2) calls sigaltstack(2), both
		 * outside the filter.
		 */
		if (rc != -1)
			sb_exit(EXIT_WORKED);
		sb_exit(errno == EACCES ? EXIT_EACCES : EXIT_OTHER);
	}
	if (waitpid(pid, &status, 0) == -1)
		atf_tc_fail("waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		return (KILLED);
	if (!WIFEXITED(status))
		return (BROKEN);
	switch (WEXITSTATUS(status)) {
	case EXIT_WORKED:
		return (WORKED);
	case EXIT_EACCES:
		return (REFUSED);
	case EXIT_OTHER:
		return (FAILED);
	default:
		return (BROKEN);
	}
}

static void
sb_expect(const struct sandbox_policy *p, const struct probe *pr,
    enum outcome want)
{
	enum outcome	 got;

	got = sb_probe(p, pr);
	printf("%s: %s: %s\n", p->name, pr->what, outcome_names[got]);
	if (got != want)
		atf_tc_fail_nonfatal("%s: %s: %s, expected %s", p->name,
		    pr->what, outcome_names[got], outcome_names[want]);
}

#define SOCK_PROBE(f, t, pr)						\
	{ "socket(" #f ", " #t ", " #pr ")", SYS_socket, (f), (t), (pr) }

static const struct probe sock_inet_stream =
    SOCK_PROBE(AF_INET, SOCK_STREAM, 0);
static const struct probe sock_inet6_stream_flags =
    SOCK_PROBE(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
static const struct probe sock_netlink =
    SOCK_PROBE(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
static const struct probe sock_netlink_dgram =
    SOCK_PROBE(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE);
static const struct probe sock_packet =
    SOCK_PROBE(AF_PACKET, SOCK_RAW, 0x0300 /* htons(ETH_P_ALL) */);
static const struct probe sock_packet_dgram =
    SOCK_PROBE(AF_PACKET, SOCK_DGRAM, 0);
static const struct probe sock_inet_dgram =
    SOCK_PROBE(AF_INET, SOCK_DGRAM, 0);
static const struct probe sock_inet_raw =
    SOCK_PROBE(AF_INET, SOCK_RAW, IPPROTO_ICMP);
static const struct probe sock_inet_sctp =
    SOCK_PROBE(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
static const struct probe sock_inet6_dgram =
    SOCK_PROBE(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
static const struct probe sock_unix =
    SOCK_PROBE(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

ATF_TC(disco_sockets);
ATF_TC_HEAD(disco_sockets, tc)
{
	atf_tc_set_md_var(tc, "descr", "cbdiscod's and cbrelayd's sandbox: "
	    "TCP over IPv4 and IPv6 only; netlink, packet, UDP and raw "
	    "sockets kill it, AF_UNIX is refused");
	atf_tc_set_md_var(tc, "require.user", "root");
}
ATF_TC_BODY(disco_sockets, tc)
{
	const struct sandbox_policy	*pols[] = {
		&sandbox_policy_disco, &sandbox_policy_relay
	};
	const struct sandbox_policy	*p;
	size_t				 i;

	sb_setup();
	for (i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
		p = pols[i];
		sb_expect(p, &sock_inet_stream, WORKED);
		sb_expect(p, &sock_inet6_stream_flags, WORKED);
		sb_expect(p, &sock_netlink, KILLED);
		sb_expect(p, &sock_netlink_dgram, KILLED);
		sb_expect(p, &sock_packet, KILLED);
		sb_expect(p, &sock_packet_dgram, KILLED);
		sb_expect(p, &sock_inet_dgram, KILLED);
		sb_expect(p, &sock_inet6_dgram, KILLED);
		sb_expect(p, &sock_inet_raw, KILLED);
		sb_expect(p, &sock_inet_sctp, KILLED);
		sb_expect(p, &sock_unix, REFUSED);
	}
}

ATF_TC(plain_sockets);
ATF_TC_HEAD(plain_sockets, tc)
{
	atf_tc_set_md_var(tc, "descr", "cbmeshd, cbedged, its relay worker, "
	    "the engine and test helpers: every socket(2) is refused with "
	    "EACCES");
	atf_tc_set_md_var(tc, "require.user", "root");
}
ATF_TC_BODY(plain_sockets, tc)
{
	const struct sandbox_policy	*pols[] = {
		&sandbox_policy_plain, &sandbox_policy_edge,
		&sandbox_policy_engine, &sandbox_policy_edge_relay,
		&sandbox_policy_mesh
	};
	const struct probe		*probes[] = {
		&sock_inet_stream, &sock_inet6_stream_flags, &sock_netlink,
		&sock_packet, &sock_inet_dgram, &sock_unix
	};
	size_t				 i, j;

	sb_setup();
	for (i = 0; i < sizeof(pols) / sizeof(pols[0]); i++)
		for (j = 0; j < sizeof(probes) / sizeof(probes[0]); j++)
			sb_expect(pols[i], probes[j], REFUSED);
}

ATF_TC(relay_setsockopt);
ATF_TC_HEAD(relay_setsockopt, tc)
{
	atf_tc_set_md_var(tc, "descr", "cbedged's relay worker: setsockopt "
	    "TCP_NODELAY passes the filter, any other option kills");
	atf_tc_set_md_var(tc, "require.user", "root");
}
ATF_TC_BODY(relay_setsockopt, tc)
{
	const struct sandbox_policy	*p = &sandbox_policy_edge_relay;
	struct probe			 nodelay = { "setsockopt(TCP_NODELAY)",
					    SYS_setsockopt, -1, IPPROTO_TCP,
					    TCP_NODELAY };
	struct probe			 rcvbuf = { "setsockopt(SO_RCVBUF)",
					    SYS_setsockopt, -1, SOL_SOCKET,
					    SO_RCVBUF };
	enum outcome			 got;
	int				 fd;

	sb_setup();
	ATF_REQUIRE((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	nodelay.a0 = rcvbuf.a0 = fd;
	/* The option's value is not passed: the kernel may refuse it. */
	got = sb_probe(p, &nodelay);
	ATF_CHECK_MSG(got == WORKED || got == FAILED, "%s: %s",
	    nodelay.what, outcome_names[got]);
	sb_expect(p, &rcvbuf, KILLED);
	close(fd);
}

ATF_TC(disco_ioctl);
ATF_TC_HEAD(disco_ioctl, tc)
{
	atf_tc_set_md_var(tc, "descr", "cbdiscod's, cbmeshd's and cbedged's "
	    "sandbox: ioctl FIONREAD works, TCGETS is refused, TIOCSTI kills");
	atf_tc_set_md_var(tc, "require.user", "root");
}
ATF_TC_BODY(disco_ioctl, tc)
{
	const struct sandbox_policy	*p = &sandbox_policy_disco;
	struct probe			 fionread = { "ioctl(pipe, FIONREAD)",
					    SYS_ioctl, -1, FIONREAD, 0 };
	struct probe			 tcgets = { "ioctl(pipe, TCGETS)",
					    SYS_ioctl, -1, TCGETS, 0 };
	struct probe			 tiocsti = { "ioctl(pipe, TIOCSTI)",
					    SYS_ioctl, -1, TIOCSTI, 0 };
	static char			 buf[256];
	int				 fds[2];

	sb_setup();
	ATF_REQUIRE(pipe(fds) == 0);
	/* The third argument must point somewhere the child can write. */
	fionread.a0 = tcgets.a0 = tiocsti.a0 = fds[0];
	fionread.a2 = tcgets.a2 = tiocsti.a2 = (long)buf;
	sb_expect(p, &fionread, WORKED);
	sb_expect(p, &tcgets, REFUSED);
	sb_expect(p, &tiocsti, KILLED);
	/* cbmeshd and cbedged read plain HTTP (metrics): the same rules. */
	sb_expect(&sandbox_policy_mesh, &fionread, WORKED);
	sb_expect(&sandbox_policy_mesh, &tcgets, REFUSED);
	sb_expect(&sandbox_policy_mesh, &tiocsti, KILLED);
	sb_expect(&sandbox_policy_edge, &fionread, WORKED);
	sb_expect(&sandbox_policy_edge, &tiocsti, KILLED);
	/* The others allow no ioctl at all. */
	sb_expect(&sandbox_policy_plain, &fionread, KILLED);
	close(fds[0]);
	close(fds[1]);
}

/*
 * The pseudo code of socket(2)'s part of the filter: argument tests for
 * AF_INET (2), AF_INET6 (10) and AF_UNIX (1), and no action straight
 * under the system call's test, which would be a rule without them.
 */
ATF_TC_WITHOUT_HEAD(disco_pfc);
ATF_TC_BODY(disco_pfc, tc)
{
	scmp_filter_ctx	 ctx;
	FILE		*f;
	char		 err[256], *pfc, *block, *end, *line;
	size_t		 len;
	int		 nr;

	ctx = sandbox_filter(&sandbox_policy_disco, err, sizeof(err));
	ATF_REQUIRE_MSG(ctx != NULL, "%s", err);
	ATF_REQUIRE((f = tmpfile()) != NULL);
	ATF_REQUIRE(seccomp_export_pfc(ctx, fileno(f)) == 0);
	seccomp_release(ctx);
	ATF_REQUIRE((pfc = calloc(1, PFC_MAX)) != NULL);
	rewind(f);
	len = fread(pfc, 1, PFC_MAX - 1, f);
	fclose(f);
	ATF_REQUIRE(len > 0 && len < PFC_MAX - 1);
	printf("%s", pfc);

	block = strstr(pfc, "# filter for syscall \"socket\"");
	ATF_REQUIRE_MSG(block != NULL, "no socket filter");
	if ((end = strstr(block + 1, "# filter for syscall")) != NULL ||
	    (end = strstr(block + 1, "# default action")) != NULL)
		*end = '\0';
	nr = SCMP_SYS(socket);
	ATF_REQUIRE((line = strstr(block, "if ($syscall == ")) != NULL);
	ATF_REQUIRE(atoi(line + strlen("if ($syscall == ")) == nr);
	ATF_REQUIRE((line = strchr(line, '\n')) != NULL);
	line += strspn(line, "\n ");
	ATF_CHECK_MSG(strncmp(line, "action", strlen("action")) != 0,
	    "socket has a rule without argument tests: %.40s", line);
	ATF_CHECK(strstr(block, "if ($a0.lo32 == 2)") != NULL);
	ATF_CHECK(strstr(block, "if ($a0.lo32 == 10)") != NULL);
	ATF_CHECK(strstr(block, "if ($a0.lo32 == 1)") != NULL);
	ATF_CHECK(strstr(block, "action ERRNO(13);") != NULL);
	free(pfc);
}

/* Policies that would load otherwise than they read are refused. */
ATF_TC_WITHOUT_HEAD(bad_policies);
ATF_TC_BODY(bad_policies, tc)
{
	static const struct sandbox_rule	 shadowed[] = {
		{ .syscall = SCMP_SYS(socket), .action = SANDBOX_ALLOW,
		    .cmp = { SANDBOX_ARG(0, SCMP_CMP_EQ, AF_INET) } },
		SANDBOX_RULE(socket, SANDBOX_REFUSE),
	};
	static const struct sandbox_rule	 common[] = {
		{ .syscall = SCMP_SYS(write), .action = SANDBOX_ALLOW,
		    .cmp = { SANDBOX_ARG(0, SCMP_CMP_EQ, 2) } },
	};
	static const struct sandbox_rule	 badarg[] = {
		{ .syscall = SCMP_SYS(socket), .action = SANDBOX_ALLOW,
		    .cmp = { SANDBOX_ARG(6, SCMP_CMP_EQ, AF_INET) } },
	};
	static const struct sandbox_rule	 badmask[] = {
		{ .syscall = SCMP_SYS(socket), .action = SANDBOX_ALLOW,
		    .cmp = { { .arg = 1, .op = SCMP_CMP_EQ, .value = 1,
		    .mask = 0xff } } },
	};
	static const struct sandbox_rule	 gap[] = {
		{ .syscall = SCMP_SYS(socket), .action = SANDBOX_ALLOW,
		    .cmp = { { 0 }, SANDBOX_ARG(0, SCMP_CMP_EQ, AF_INET) } },
	};
	const struct sandbox_policy		 pols[] = {
		{ "shadowed", shadowed, 2 },
		{ "common", common, 1 },
		{ "badarg", badarg, 1 },
		{ "badmask", badmask, 1 },
		{ "gap", gap, 1 },
	};
	scmp_filter_ctx				 ctx;
	char					 err[256];
	size_t					 i;

	for (i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
		err[0] = '\0';
		ctx = sandbox_filter(&pols[i], err, sizeof(err));
		printf("%s: %s\n", pols[i].name, err);
		ATF_CHECK_MSG(ctx == NULL, "%s accepted", pols[i].name);
		if (ctx != NULL)
			seccomp_release(ctx);
		else
			ATF_CHECK(strncmp(err, pols[i].name,
			    strlen(pols[i].name)) == 0);
	}
	/* The real ones build. */
	ctx = sandbox_filter(&sandbox_policy_disco, err, sizeof(err));
	ATF_REQUIRE_MSG(ctx != NULL, "%s", err);
	seccomp_release(ctx);
	ctx = sandbox_filter(&sandbox_policy_relay, err, sizeof(err));
	ATF_REQUIRE_MSG(ctx != NULL, "%s", err);
	seccomp_release(ctx);
	ctx = sandbox_filter(&sandbox_policy_edge, err, sizeof(err));
	ATF_REQUIRE_MSG(ctx != NULL, "%s", err);
	seccomp_release(ctx);
	ctx = sandbox_filter(&sandbox_policy_edge_relay, err, sizeof(err));
	ATF_REQUIRE_MSG(ctx != NULL, "%s", err);
	seccomp_release(ctx);
	ctx = sandbox_filter(&sandbox_policy_plain, err, sizeof(err));
	ATF_REQUIRE_MSG(ctx != NULL, "%s", err);
	seccomp_release(ctx);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, disco_sockets);
	ATF_TP_ADD_TC(tp, plain_sockets);
	ATF_TP_ADD_TC(tp, relay_setsockopt);
	ATF_TP_ADD_TC(tp, disco_ioctl);
	ATF_TP_ADD_TC(tp, disco_pfc);
	ATF_TP_ADD_TC(tp, bad_policies);
	return (atf_no_error());
}
