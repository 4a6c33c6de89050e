/*
 * What cbp2pd.yaml and cbedged.yaml share: libyaml events with errors
 * that name file, line and key, and the checks both files make.
 */
#ifndef CBP2P_YAMLCONF_H
#define CBP2P_YAMLCONF_H

#include <stddef.h>
#include <stdio.h>

#include <yaml.h>

#define CFG_ECHO_MAX	64	/* bytes of a bad value quoted in an error */
#define CFG_USER_MAX	32	/* useradd(8) limit on a user name */

struct yconf {
	yaml_parser_t	 parser;
	const char	*path;		/* of the file, for messages */
	char		*err;
	size_t		 errlen;
};

/* "file:line: key: why" into y->err (line 0 and key NULL left out); -1. */
int		 yconf_err(struct yconf *, size_t, const char *, const char *,
		    ...) __attribute__((__format__ (printf, 4, 5)));
/*
 * Open y->path, a regular file, and put the directory relative paths in
 * it are taken from into dir.  NULL with the error reported.
 */
FILE		*yconf_open(struct yconf *, char *, size_t);
/* The next event, or -1 with the syntax error reported. */
int		 yconf_next(struct yconf *, yaml_event_t *);
/* What a non-scalar event is, for "must be a scalar, not ..." */
const char	*yconf_kind(const yaml_event_t *);
/* A plain empty, "~" or "null" scalar is YAML's null. */
int		 yconf_null(const yaml_event_t *);

/* A value fit to quote in an error: printable, no quotes, bounded. */
const char	*cfg_echo(const char *, char *, size_t);
/* A user name: letters, digits, ".", "_", "-", not starting with "-". */
int		 cfg_user_valid(const char *);

#endif /* CBP2P_YAMLCONF_H */
