/*
 * The token's DNS on the host, as root: through systemd-resolved when
 * it runs, else resolvconf(8) when installed, else a marked block in
 * /etc/resolv.conf (lib/dns.h); cbp2pd.yaml's dns picks one or none.
 * Applied once the tunnel is up, changed on a reload that changes it,
 * taken back when cbp2pd exits, on every path to exit(3).
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbp2pd.h"
#include "log.h"

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif

#define DNS_CMD_TIMEOUT_MS	5000	/* resolvectl waits on D-Bus */
#define DNS_CMD_POLL_NS		10000000L	/* 10 ms between waitpid */
#define DNS_FILE_MODE		0644
#define DNS_CMD_PATH		"PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define DNS_CMD_OUTPUT_MAX	512	/* of what a command says, logged */

static const char *const resolvectl_paths[] = {
	"/usr/bin/resolvectl", "/bin/resolvectl"
};
static const char *const resolvconf_paths[] = {
	"/usr/sbin/resolvconf", "/sbin/resolvconf"
};

/* What is on the host now; way DNS_OFF: nothing. */
static struct {
	enum dns_mode	 asked;		/* the configuration's dns */
	enum dns_mode	 way;		/* how it was applied */
	struct dns_conf	 dc;
	char		 ifname[IFNAMSIZ];
	char		 prog[PATH_MAX];
	char		 rec[DNS_RESOLVCONF_REC_MAX];	/* resolvconf's */
	int		 created;	/* resolv.conf was not there */
	int		 atexit_set;
} applied;

static const char *
find_prog(const char *const *paths, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (access(paths[i], X_OK) == 0)
			return (paths[i]);
	return (NULL);
}

static int
resolved_runs(void)
{
	struct stat	 sb;

	return (stat(DNS_RESOLVED_DIR, &sb) == 0 && S_ISDIR(sb.st_mode));
}

/*
 * Run a command with text on its standard input, if any, and wait for
 * it at most DNS_CMD_TIMEOUT_MS.  What it prints goes to our log as one
 * line, so a JSON log stays JSON.  0 if it exited 0.
 */
static int
run(const struct dns_cmd *cmd)
{
	char *const	 envp[] = { DNS_CMD_PATH, NULL };
	struct timespec	 ts = { 0, DNS_CMD_POLL_NS };
	char		 said[DNS_CMD_OUTPUT_MAX], *nl;
	int		 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int		 status = 0, waited, fd;
	ssize_t		 n;
	size_t		 len;
	pid_t		 pid, r;

	if (pipe2(in, O_CLOEXEC) == -1 ||
	    pipe2(out, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("dns: pipe");
		goto fail;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("dns: fork");
		goto fail;
	case 0:
		fd = cmd->has_text ? in[0] : open("/dev/null", O_RDONLY);
		if (fd == -1 || dup2(fd, STDIN_FILENO) == -1 ||
		    dup2(out[1], STDOUT_FILENO) == -1 ||
		    dup2(out[1], STDERR_FILENO) == -1)
			_exit(127);
		/* Nothing of the parent's: no socket, no tun. */
		closefrom(STDERR_FILENO + 1);
		execve(cmd->argv[0], cmd->argv, envp);
		_exit(127);
	default:
		break;
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (cmd->has_text) {
		len = strlen(cmd->text);
		if (write(in[1], cmd->text, len) != (ssize_t)len)
			log_warn("dns: %s: stdin", cmd->argv[0]);
	}
	close(in[1]);
	in[1] = -1;
	for (waited = 0; waited < DNS_CMD_TIMEOUT_MS; waited += 10) {
		if ((r = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		if (r == -1) {
			log_warn("dns: waitpid %s", cmd->argv[0]);
			goto fail;
		}
		nanosleep(&ts, NULL);
	}
	if (waited >= DNS_CMD_TIMEOUT_MS) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		log_warnx("dns: %s %s: no answer in %d ms", cmd->argv[0],
		    cmd->argv[1], DNS_CMD_TIMEOUT_MS);
		goto fail;
	}
	if ((n = read(out[0], said, sizeof(said) - 1)) < 0)
		n = 0;
	said[n] = '\0';
	while ((nl = strchr(said, '\n')) != NULL)
		*nl = ' ';
	close(out[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("dns: %s %s %s failed (status %d)%s%s", cmd->argv[0],
		    cmd->argv[1], cmd->argv[2], status, n > 0 ? ": " : "",
		    said);
		return (-1);
	}
	if (n > 0)
		log_debug("dns: %s %s: %s", cmd->argv[0], cmd->argv[1], said);
	return (0);

fail:
	for (fd = 0; fd < 2; fd++) {
		if (in[fd] != -1)
			close(in[fd]);
		if (out[fd] != -1)
			close(out[fd]);
	}
	return (-1);
}

/* ---- /etc/resolv.conf ------------------------------------------------ */

/* The file resolv.conf is, behind a symbolic link; *exists 0 if none. */
static int
resolv_path(char *path, size_t len, int *exists)
{
	char	 rp[PATH_MAX];

	*exists = 1;
	if (realpath(DNS_RESOLV_CONF, rp) == NULL) {
		if (errno != ENOENT) {
			log_warn("dns: %s", DNS_RESOLV_CONF);
			return (-1);
		}
		*exists = 0;
		strlcpy(rp, DNS_RESOLV_CONF, sizeof(rp));
	}
	if (strlcpy(path, rp, len) >= len)
		return (-1);
	return (0);
}

static int
read_all(const char *path, char **buf, size_t *len, struct stat *sb)
{
	ssize_t	 n;
	int	 fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			log_warn("dns: %s", path);
			return (-1);
		}
		sb->st_mode = DNS_FILE_MODE;
		sb->st_uid = 0;
		sb->st_gid = 0;
		return (0);
	}
	if (fstat(fd, sb) == -1 || sb->st_size > DNS_FILE_MAX) {
		log_warnx("dns: %s: unreadable or larger than %d bytes", path,
		    DNS_FILE_MAX);
		goto fail;
	}
	if ((*buf = malloc(sb->st_size + 1)) == NULL)
		goto fail;
	while ((n = read(fd, *buf + *len, sb->st_size - *len)) > 0)
		*len += n;
	if (n == -1) {
		log_warn("dns: read %s", path);
		goto fail;
	}
	close(fd);
	return (0);
fail:
	free(*buf);
	*buf = NULL;
	close(fd);
	return (-1);
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;

	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		off += n;
	}
	return (0);
}

/* Rewrite the file where it is: for when it cannot be renamed over. */
static int
write_in_place(const char *path, const char *buf, size_t len)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1 ||
	    write_all(fd, buf, len) == -1 || ftruncate(fd, len) == -1 ||
	    fsync(fd) == -1) {
		log_warn("dns: rewrite %s", path);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

/*
 * Replace the file's text: a temporary file renamed over it, so a
 * reader never sees half of it.  A file that is a mount point (ip netns
 * exec binds /etc/netns/NAME/resolv.conf there; containers and
 * systemd's ReadWritePaths= bind theirs) cannot be renamed over, nor
 * can a temporary file be made beside it in a read-only /etc: then it
 * is rewritten in place.
 */
static int
write_file(const char *path, const char *buf, size_t len,
    const struct stat *sb, int exists)
{
	char	 tmp[PATH_MAX], dir[PATH_MAX], base[PATH_MAX];
	int	 fd;

	strlcpy(dir, path, sizeof(dir));
	strlcpy(base, path, sizeof(base));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.cbp2pd.XXXXXX",
	    dirname(dir), basename(base)) >= sizeof(tmp))
		return (-1);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		if (exists && (errno == EROFS || errno == EACCES))
			goto in_place;
		log_warn("dns: %s", tmp);
		return (-1);
	}
	if (fchmod(fd, sb->st_mode & 07777) == -1 ||
	    fchown(fd, sb->st_uid, sb->st_gid) == -1 ||
	    write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		log_warn("dns: write %s", tmp);
		close(fd);
		unlink(tmp);
		return (-1);
	}
	close(fd);
	if (rename(tmp, path) == 0)
		return (0);
	if (errno != EBUSY && errno != EXDEV) {
		log_warn("dns: rename %s", path);
		unlink(tmp);
		return (-1);
	}
	unlink(tmp);
in_place:
	log_debug("dns: %s cannot be replaced; rewritten in place", path);
	return (write_in_place(path, buf, len));
}

/* Put the block in (dc) or take it out (NULL). */
static int
file_edit(const char *ifname, const struct dns_conf *dc, int *created)
{
	char		 path[PATH_MAX], err[CFG_ERR_MAX];
	char		*in = NULL, *out = NULL;
	size_t		 inlen, outlen;
	struct stat	 sb;
	int		 exists, rv = -1;

	if (resolv_path(path, sizeof(path), &exists) == -1 ||
	    read_all(path, &in, &inlen, &sb) == -1)
		return (-1);
	if (dns_file_edit(in != NULL ? in : "", inlen, ifname, dc, &out,
	    &outlen, err, sizeof(err)) == -1) {
		log_warnx("dns: %s: %s", path, err);
		goto done;
	}
	if (dc != NULL && created != NULL)
		*created = !exists;
	/* Ours from the start and nothing else in it: gone again. */
	if (dc == NULL && created != NULL && *created && outlen == 0) {
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("dns: unlink %s", path);
		rv = 0;
		goto done;
	}
	rv = write_file(path, out, outlen, &sb, exists);
done:
	free(in);
	free(out);
	return (rv);
}

/* ---- the three ways ------------------------------------------------- */

/*
 * resolvconf's record for the interface, in applied.rec: named after
 * Debian's interface-order(5), when that is the resolvconf installed
 * (lib/dns.h).  systemd's resolvconf, resolvectl by another name, takes
 * a record's name up to its first dot for a link, so it gets no prefix.
 */
static int
resolvconf_record(const char *ifname)
{
	char		 rp[PATH_MAX], *buf = NULL, *base;
	size_t		 len = 0;
	struct stat	 sb;
	int		 rv;

	base = NULL;
	if (realpath(applied.prog, rp) != NULL &&
	    (base = strrchr(rp, '/')) != NULL)
		base++;
	if ((base == NULL || strcmp(base, "resolvectl") != 0) &&
	    read_all(DNS_RESOLVCONF_ORDER, &buf, &len, &sb) == -1)
		buf = NULL;
	rv = dns_resolvconf_record(buf, len, ifname, applied.rec,
	    sizeof(applied.rec));
	free(buf);
	if (rv == -1) {
		log_warnx("dns: %s: no room for its resolvconf record name",
		    ifname);
		applied.rec[0] = '\0';
	}
	return (rv);
}

static int
apply_way(enum dns_mode way, const char *ifname, const struct dns_conf *dc)
{
	struct dns_cmd	 a, b;
	int		 ndom;

	switch (way) {
	case DNS_RESOLVED:
		if (dns_resolved_set(applied.prog, ifname, dc, &a, &b,
		    &ndom) == -1 || run(&a) == -1 || (ndom && run(&b) == -1))
			return (-1);
		return (0);
	case DNS_RESOLVCONF:
		if (resolvconf_record(ifname) == -1 ||
		    dns_resolvconf_add(applied.prog, applied.rec, dc, &a) == -1 ||
		    run(&a) == -1)
			return (-1);
		return (0);
	case DNS_FILE:
		return (file_edit(ifname, dc, &applied.created));
	default:
		return (-1);
	}
}

void
dns_restore(void)
{
	struct dns_cmd	 cmd;
	int		 rv = -1;

	switch (applied.way) {
	case DNS_RESOLVED:
		/*
		 * resolved forgets a link's servers when the link goes (the
		 * engine died with the tun): nothing is left to revert.
		 */
		if (if_nametoindex(applied.ifname) == 0 && errno == ENODEV) {
			log_info("dns: %s: gone, and its mesh DNS with it "
			    "(resolved)", applied.ifname);
			break;
		}
		if (dns_resolved_revert(applied.prog, applied.ifname,
		    &cmd) == 0)
			rv = run(&cmd);
		break;
	case DNS_RESOLVCONF:
		if (applied.rec[0] != '\0' &&
		    dns_resolvconf_del(applied.prog, applied.rec, &cmd) == 0)
			rv = run(&cmd);
		break;
	case DNS_FILE:
		rv = file_edit(applied.ifname, NULL, &applied.created);
		break;
	default:
		return;
	}
	if (rv == 0)
		log_info("dns: %s: mesh DNS taken back (%s)", applied.ifname,
		    dns_mode_name(applied.way));
	applied.way = DNS_OFF;
}

static void
dns_atexit(void)
{
	/* Only the parent: a forked child that exits never applied. */
	if (!env->dropin && getpid() == env->parent_pid)
		dns_restore();
}

/* The way dns asks for, or DNS_OFF when its program is missing. */
static enum dns_mode
pick_way(enum dns_mode asked)
{
	const char	*p;

	applied.prog[0] = '\0';
	if (asked == DNS_FILE)
		return (DNS_FILE);
	if ((asked == DNS_AUTO || asked == DNS_RESOLVED) &&
	    (p = find_prog(resolvectl_paths, nitems(resolvectl_paths))) !=
	    NULL && (asked == DNS_RESOLVED || resolved_runs())) {
		strlcpy(applied.prog, p, sizeof(applied.prog));
		return (DNS_RESOLVED);
	}
	if ((asked == DNS_AUTO || asked == DNS_RESOLVCONF) &&
	    (p = find_prog(resolvconf_paths, nitems(resolvconf_paths))) !=
	    NULL) {
		strlcpy(applied.prog, p, sizeof(applied.prog));
		return (DNS_RESOLVCONF);
	}
	if (asked == DNS_AUTO)
		return (DNS_FILE);
	log_warnx("dns: %s asked for, but its program is not installed",
	    dns_mode_name(asked));
	return (DNS_OFF);
}

void
dns_apply(const struct cbp2p_config *c)
{
	struct dns_conf	 dc;
	enum dns_mode	 way;

	if (env->dropin)
		return;
	dns_conf_from_token(&dc, &c->tok);
	if (c->dns == DNS_OFF || (dc.nservers == 0 && dc.nsearch == 0)) {
		dns_restore();
		return;
	}
	if (applied.way != DNS_OFF && applied.asked == c->dns &&
	    strcmp(applied.ifname, c->ifname) == 0 &&
	    dns_conf_equal(&applied.dc, &dc))
		return;
	dns_restore();
	if ((way = pick_way(c->dns)) == DNS_OFF)
		return;
	if (!applied.atexit_set) {
		if (atexit(dns_atexit) != 0)
			fatalx("dns: atexit");
		applied.atexit_set = 1;
	}
	strlcpy(applied.ifname, c->ifname, sizeof(applied.ifname));
	if (apply_way(way, c->ifname, &dc) == -1) {
		log_warnx("dns: %s: mesh DNS not applied (%s)", c->ifname,
		    dns_mode_name(way));
		/*
		 * Half a resolvectl is still something to take back, and
		 * so is a resolvconf record whose update failed.
		 */
		if (way == DNS_RESOLVED || way == DNS_RESOLVCONF) {
			applied.way = way;
			dns_restore();
		}
		return;
	}
	applied.asked = c->dns;
	applied.way = way;
	applied.dc = dc;
	log_info("dns: %s: %zu server%s, %zu search domain%s (%s)",
	    c->ifname, dc.nservers, dc.nservers == 1 ? "" : "s", dc.nsearch,
	    dc.nsearch == 1 ? "" : "s", dns_mode_name(way));
}

const char *
dns_way(void)
{
	return (dns_mode_name(applied.way));
}
