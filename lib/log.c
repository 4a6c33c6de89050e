/*
 * Logging: syslog by default, stderr in the foreground, plain text or
 * one JSON object per line.  errno is preserved across every call so a
 * caller can log and then still report the error.  Under systemd, whose
 * journal reads a service's standard error as lines without a level or
 * a process of their own, the foreground logs through syslog(3) as well:
 * the journal then keeps each line's program, pid and level.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#define LOG_LINE_MAX	1024

static int		 log_stderr;
static int		 log_facility = LOG_DAEMON;
static int		 log_verbose;
static int		 log_json;
static const char	*log_name = "cbp2p";

static const char *
level_name(int pri)
{
	switch (pri) {
	case LOG_CRIT:
		return ("crit");
	case LOG_ERR:
		return ("error");
	case LOG_WARNING:
		return ("warning");
	case LOG_NOTICE:
		return ("notice");
	case LOG_INFO:
		return ("info");
	default:
		return ("debug");
	}
}

/*
 * Standard error is the journal's stream: systemd names its device and
 * inode in JOURNAL_STREAM (systemd.exec(5)).  A child inherits both, so
 * it decides the same as its parent.
 */
int
log_stderr_is_journal(void)
{
	struct stat		 sb;
	const char		*js;
	unsigned long long	 dev, ino;

	if ((js = getenv("JOURNAL_STREAM")) == NULL ||
	    sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &sb) == -1)
		return (0);
	return ((unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino);
}

/* libevent's own warnings, as ours: JSON when JSON, syslog when syslog. */
static void
log_libevent(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG)
		log_debug("libevent: %s", msg);
	else
		logit(severity == EVENT_LOG_MSG ? LOG_INFO : LOG_WARNING,
		    "libevent: %s", msg);
}

static void
log_open(void)
{
	closelog();
	/* LOG_NDELAY: connect /dev/log now, before a chroot hides it. */
	openlog(log_name, LOG_PID | LOG_NDELAY, log_facility);
}

void
log_init(int to_stderr, int facility)
{
	log_stderr = to_stderr && !log_stderr_is_journal();
	log_facility = facility;
	if (!log_stderr)
		log_open();
	event_set_log_callback(log_libevent);
	tzset();
}

/* The program name syslog gets too: openlog(3) keeps the pointer. */
void
log_procinit(const char *name)
{
	if (name == NULL)
		return;
	log_name = name;
	if (!log_stderr)
		log_open();
}

const char *
log_procname(void)
{
	return (log_name);
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

void
log_setjson(int v)
{
	log_json = v;
}

int
log_getjson(void)
{
	return (log_json);
}

void
log_json_escape(char *dst, size_t dstlen, const char *src)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;
	unsigned char		 c;

	if (dstlen == 0)
		return;
	for (; *src != '\0'; src++) {
		c = (unsigned char)*src;
		if (c == '"' || c == '\\') {
			if (o + 2 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = c;
		} else if (c < 0x20) {
			if (o + 6 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'u';
			dst[o++] = '0';
			dst[o++] = '0';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		} else {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = c;
		}
	}
	dst[o] = '\0';
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char		 msg[LOG_LINE_MAX], esc[LOG_LINE_MAX * 2];
	char		 ts[40];
	struct timespec	 now;
	struct tm	 tm;
	int		 saved_errno = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_json) {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		log_json_escape(esc, sizeof(esc), msg);
		if (log_stderr)
			fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\","
			    "\"proc\":\"%s\",\"pid\":%ld,\"msg\":\"%s\"}\n", ts,
			    now.tv_nsec / 1000000, level_name(pri), log_name,
			    (long)getpid(), esc);
		else
			syslog(pri, "{\"level\":\"%s\",\"proc\":\"%s\","
			    "\"msg\":\"%s\"}", level_name(pri), log_name, esc);
	} else if (log_stderr)
		fprintf(stderr, "%s: %s\n", log_name, msg);
	else
		syslog(pri, "%s", msg);
	errno = saved_errno;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(int pri, const char *fmt, va_list ap)
{
	char	 buf[LOG_LINE_MAX];
	int	 saved_errno = errno;

	if (fmt == NULL) {
		logit(pri, "%s", strerror(saved_errno));
	} else {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		logit(pri, "%s: %s", buf, strerror(saved_errno));
	}
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose <= LOG_QUIET)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose > 0) {
		va_start(ap, fmt);
		vlog(LOG_DEBUG, fmt, ap);
		va_end(ap);
	}
}

static __dead void
vfatalc(int code, const char *emsg, va_list ap)
{
	char		 s[LOG_LINE_MAX];
	const char	*sep;

	if (emsg != NULL) {
		vsnprintf(s, sizeof(s), emsg, ap);
		sep = ": ";
	} else {
		s[0] = '\0';
		sep = "";
	}
	if (code)
		logit(LOG_CRIT, "fatal in %s: %s%s%s", log_name, s, sep,
		    strerror(code));
	else
		logit(LOG_CRIT, "fatal in %s%s%s", log_name,
		    emsg != NULL ? ": " : "", s);
	exit(1);
}

void
fatal(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vfatalc(errno, emsg, ap);
	va_end(ap);
}

void
fatalx(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vfatalc(0, emsg, ap);
	va_end(ap);
}
