/*
 * Privilege separation helpers: start children with fork+exec on a
 * socketpair and parse their common arguments.  The sandbox they enter
 * is in sandbox.c.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

const struct proc_info proc_table[PROC_MAX] = {
	{ PROC_PARENT,	"cbp2pd" },
	{ PROC_DISCO,	"cbdiscod" },
	{ PROC_MESH,	"cbmeshd" },
	{ PROC_RELAY,	"cbrelayd" },
	{ PROC_ENGINE,	"engine" },
	{ PROC_CONTROL,	"control" },
};

static const char *drop_names[DROP_MAX] = {
	"short", "mac1", "handshake", "unknown_index", "decrypt", "replay",
	"allowed_ips", "no_route", "no_endpoint", "no_keypair", "inner",
	"send", "ratelimit", "mtu", "path", "relay_key", "relay_full",
	"handshake_crossed"
};

const char *
drop_reason_name(enum drop_reason r)
{
	return ((unsigned int)r < DROP_MAX ? drop_names[r] : "unknown");
}

static const char *relay_presence_names[RELAY_PRESENCE_MAX] = {
	"unknown", "present", "gone"
};

const char *
relay_presence_name(int p)
{
	return ((unsigned int)p < RELAY_PRESENCE_MAX ?
	    relay_presence_names[p] : "unknown");
}

#define RELAY_REFUSE_NAME(e, name)	name,
static const char *relay_refusal_names[RELAY_REFUSE_MAX] = {
	RELAY_REFUSALS(RELAY_REFUSE_NAME)
};
#undef RELAY_REFUSE_NAME

const char *
relay_refusal_name(int r)
{
	return ((unsigned int)r < RELAY_REFUSE_MAX ? relay_refusal_names[r] :
	    "unknown");
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
	int	 sp[2], flags, nullfd;
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
		/*
		 * A session of its own: no terminal, and a signal to the
		 * parent's process group (^C) reaches only the parent,
		 * which stops its children itself.  Nothing to read on
		 * standard input; standard output and error stay the
		 * parent's (a log in the foreground, /dev/null after
		 * daemon(3)) until child_run() decides.
		 */
		if (setsid() == -1)
			_exit(127);
		/* dup2 clears close-on-exec; the same fd needs it cleared. */
		if (sp[1] != PROC_PARENT_FD) {
			if (dup2(sp[1], PROC_PARENT_FD) == -1)
				_exit(127);
		} else if (fcntl(sp[1], F_SETFD, 0) == -1)
			_exit(127);
		/* After fd 3 is taken, so that neither overwrites the other. */
		if ((nullfd = open(_PATH_DEVNULL, O_RDWR)) == -1 ||
		    (nullfd != STDIN_FILENO &&
		    dup2(nullfd, STDIN_FILENO) == -1))
			_exit(127);
		closefrom(PROC_PARENT_FD + 1);
		execv(path, argv);
		/* As a log line: one of JSON when the log is JSON. */
		log_warn("exec %s", path);
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

/* Why a child ended, for the log: exit status, or the signal. */
void
proc_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "terminated by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WTERMSIG(status) == SIGSYS ?
		    ", a system call outside its seccomp filter" : "");
	else
		snprintf(buf, len, "stopped with status %d", status);
}
