/*
 * Privilege separation helpers: start children with fork+exec on a
 * socketpair, parse their common arguments, and put them in a sandbox.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif

const struct proc_info proc_table[PROC_MAX] = {
	{ PROC_PARENT,	"cbp2pd" },
	{ PROC_DISCO,	"cbdiscod" },
	{ PROC_MESH,	"cbmeshd" },
	{ PROC_RELAY,	"cbrelayd" },
	{ PROC_ENGINE,	"engine" },
	{ PROC_CONTROL,	"control" },
};

/* What every child needs: its imsg socket, libevent, malloc, logging. */
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

/* Harmless probes of libc (time zone, syslog reconnect): fail, not kill. */
static const int sandbox_refuse[] = {
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(stat), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(lstat), SCMP_SYS(access),
	SCMP_SYS(socket), SCMP_SYS(connect),
};

static const char *drop_names[DROP_MAX] = {
	"short", "mac1", "handshake", "unknown_index", "decrypt", "replay",
	"allowed_ips", "no_route", "no_endpoint", "no_keypair", "inner",
	"send", "ratelimit", "mtu"
};

const char *
drop_reason_name(enum drop_reason r)
{
	return ((unsigned int)r < DROP_MAX ? drop_names[r] : "unknown");
}

const char *
proc_name(enum proc_id id)
{
	if ((unsigned int)id >= PROC_MAX)
		return ("unknown");
	return (proc_table[id].title);
}

pid_t
proc_exec(const char *path, char *const argv[], int *fd)
{
	int	 sp[2], flags;
	pid_t	 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, PF_UNSPEC,
	    sp) == -1)
		return (-1);
	switch (pid = fork()) {
	case -1:
		close(sp[0]);
		close(sp[1]);
		return (-1);
	case 0:
		/* dup2 clears close-on-exec; the same fd needs it cleared. */
		if (sp[1] != PROC_PARENT_FD) {
			if (dup2(sp[1], PROC_PARENT_FD) == -1)
				_exit(127);
		} else if (fcntl(sp[1], F_SETFD, 0) == -1)
			_exit(127);
		closefrom(PROC_PARENT_FD + 1);
		execv(path, argv);
		fprintf(stderr, "cbp2pd: exec %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	default:
		break;
	}
	close(sp[1]);
	if ((flags = fcntl(sp[0], F_GETFL)) == -1 ||
	    fcntl(sp[0], F_SETFL, flags | O_NONBLOCK) == -1) {
		close(sp[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return (-1);
	}
	*fd = sp[0];
	return (pid);
}

static __dead void
child_usage(const char *name)
{
	fprintf(stderr, "usage: %s [-djv] -u user -c chroot\n"
	    "%s is started by cbp2pd, not by hand.\n", name, name);
	exit(1);
}

void
proc_child_args(int argc, char *argv[], struct child_opts *o,
    const char *name)
{
	struct stat	 st;
	int		 ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt(argc, argv, "c:dju:v")) != -1) {
		switch (ch) {
		case 'c':
			o->chroot_dir = optarg;
			break;
		case 'd':
			o->foreground = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		default:
			child_usage(name);
		}
	}
	if (optind != argc || o->user == NULL || o->chroot_dir == NULL)
		child_usage(name);
	if (fstat(PROC_PARENT_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		child_usage(name);
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

static void
seccomp_add_list(scmp_filter_ctx ctx, uint32_t action, const int *list,
    size_t n)
{
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		if ((rc = seccomp_rule_add(ctx, action, list[i], 0)) < 0)
			fatalx("seccomp_rule_add %d: %s", list[i],
			    strerror(-rc));
	}
}

void
sandbox_enter(const char *dir, const char *user, const int *extra,
    size_t nextra)
{
	struct passwd	*pw;
	scmp_filter_ctx	 ctx;
	char		 err[CFG_ERR_MAX];
	uid_t		 uid;
	gid_t		 gid;
	int		 rc;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("sandbox: unknown user %s", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		fatalx("sandbox: user %s must not be root", user);
	if (sandbox_check_dir(dir, err, sizeof(err)) == -1)
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

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("sandbox: seccomp_init failed");
	seccomp_add_list(ctx, SCMP_ACT_ALLOW, sandbox_common,
	    nitems(sandbox_common));
	seccomp_add_list(ctx, SCMP_ACT_ALLOW, extra, nextra);
	seccomp_add_list(ctx, SCMP_ACT_ERRNO(EACCES), sandbox_refuse,
	    nitems(sandbox_refuse));
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("sandbox: seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
	log_debug("sandbox: chroot %s, user %s, seccomp on", dir, user);
}
