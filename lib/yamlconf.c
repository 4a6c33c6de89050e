/*
 * Helpers of the YAML configuration parsers (lib/config.c for
 * cbp2pd.yaml, cbedged/parse.c for cbedged.yaml).
 */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "yamlconf.h"

int
yconf_err(struct yconf *y, size_t line, const char *key, const char *fmt,
    ...)
{
	char	 why[CFG_ERR_MAX], at[32] = "";
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(at, sizeof(at), ":%zu", line);
	if (key != NULL)
		snprintf(y->err, y->errlen, "%s%s: %s: %s", y->path, at, key,
		    why);
	else
		snprintf(y->err, y->errlen, "%s%s: %s", y->path, at, why);
	return (-1);
}

FILE *
yconf_open(struct yconf *y, char *dir, size_t dirlen)
{
	struct stat	 st;
	FILE		*fp;
	char		*slash;

	strlcpy(dir, y->path, dirlen);
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", dirlen);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fp = fopen(y->path, "re")) == NULL) {
		yconf_err(y, 0, NULL, "%s", strerror(errno));
		return (NULL);
	}
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode)) {
		yconf_err(y, 0, NULL, "not a regular file");
		fclose(fp);
		return (NULL);
	}
	return (fp);
}

int
yconf_next(struct yconf *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(&y->parser, ev))
		return (0);
	if (y->parser.context != NULL)
		return (yconf_err(y, y->parser.problem_mark.line + 1, NULL,
		    "syntax error: %s %s", y->parser.problem,
		    y->parser.context));
	return (yconf_err(y, y->parser.problem_mark.line + 1, NULL,
	    "syntax error: %s", y->parser.problem != NULL ?
	    y->parser.problem : "unknown"));
}

const char *
yconf_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
		return ("a sequence");
	case YAML_MAPPING_START_EVENT:
		return ("a mapping");
	case YAML_ALIAS_EVENT:
		return ("an alias (not supported)");
	default:
		return ("not a scalar");
	}
}

int
yconf_null(const yaml_event_t *ev)
{
	const char	*v = (const char *)ev->data.scalar.value;

	return (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0));
}

const char *
cfg_echo(const char *s, char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < len && i < CFG_ECHO_MAX; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ?
		    s[i] : '?';
	buf[i] = '\0';
	return (buf);
}

int
cfg_user_valid(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || s[0] == '-' || strlen(s) > CFG_USER_MAX)
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return (0);
	return (1);
}
