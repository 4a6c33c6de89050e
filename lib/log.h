/*
 * Logging in the shape of OpenBSD's daemons: syslog by default, stderr
 * when running in the foreground, and optionally one JSON object per line.
 */
#ifndef CBP2P_LOG_H
#define CBP2P_LOG_H

#include <stdarg.h>

#ifndef __dead
#define __dead	__attribute__((__noreturn__))
#endif

#define LOG_TO_SYSLOG	0
#define LOG_TO_STDERR	1

/* log_setverbose(): above 0 adds debug; LOG_QUIET leaves errors only. */
#define LOG_QUIET	(-1)

/* What a configuration's log_format chooses; log_setjson() applies it. */
enum log_format {
	LOGFMT_TEXT,
	LOGFMT_JSON
};

void	log_init(int, int);		/* to stderr?, syslog facility */
void	log_procinit(const char *);	/* the program name in every line */
int	log_stderr_is_journal(void);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_setjson(int);
int	log_getjson(void);
const char *log_procname(void);
void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

/* Escape a string for a JSON string literal (no quotes added). */
void	log_json_escape(char *, size_t, const char *);

#endif /* CBP2P_LOG_H */
