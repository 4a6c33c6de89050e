/*
 * The mesh's DNS as resolvectl(1) and resolvconf(8) command lines and as
 * a marked block of /etc/resolv.conf (dns.h).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

#define MARK_FMT_BEGIN	"# cbp2pd %s begin"
#define MARK_NOTE	": mesh DNS, removed when cbp2pd stops"
#define MARK_FMT_END	"# cbp2pd %s end"
#define MARK_MAX	(IFNAMSIZ + 32)
#define SEARCH_KW	"search"
#define DOMAIN_KW	"domain"

static const char *const mode_names[] = {
	[DNS_OFF] =		"off",
	[DNS_AUTO] =		"on",
	[DNS_RESOLVED] =	"resolved",
	[DNS_RESOLVCONF] =	"resolvconf",
	[DNS_FILE] =		"file",
};

void
dns_conf_from_token(struct dns_conf *dc, const struct token *t)
{
	size_t	 i;

	memset(dc, 0, sizeof(*dc));
	for (i = 0; i < t->ndns && i < CFG_MAX_DNS; i++)
		dc->servers[i] = t->dns[i];
	dc->nservers = i;
	for (i = 0; i < t->ndns_search && i < CFG_MAX_DNS_SEARCH; i++)
		strlcpy(dc->search[i], t->dns_search[i],
		    sizeof(dc->search[i]));
	dc->nsearch = i;
}

int
dns_conf_equal(const struct dns_conf *a, const struct dns_conf *b)
{
	size_t	 i;

	if (a->nservers != b->nservers || a->nsearch != b->nsearch)
		return (0);
	for (i = 0; i < a->nservers; i++)
		if (a->servers[i].af != b->servers[i].af ||
		    memcmp(a->servers[i].addr, b->servers[i].addr,
		    sizeof(a->servers[i].addr)) != 0)
			return (0);
	for (i = 0; i < a->nsearch; i++)
		if (strcmp(a->search[i], b->search[i]) != 0)
			return (0);
	return (1);
}

const char *
dns_mode_name(enum dns_mode m)
{
	if ((size_t)m >= sizeof(mode_names) / sizeof(mode_names[0]))
		return ("unknown");
	return (mode_names[m]);
}

/* "on", "off", the booleans YAML users write, or a way by its name. */
int
dns_mode_parse(const char *s, enum dns_mode *m)
{
	size_t	 i;

	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
		*m = DNS_AUTO;
		return (0);
	}
	if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
		*m = DNS_OFF;
		return (0);
	}
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*m = (enum dns_mode)i;
			return (0);
		}
	return (-1);
}

static int
ipaddr_text(const struct ipaddr *ip, char *buf, size_t len)
{
	return (inet_ntop(ip->af, ip->addr, buf, len) == NULL ? -1 : 0);
}

/* Append to buf at *off; -1 when it does not fit. */
static int
put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (*off >= len)
		return (-1);
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off)
		return (-1);
	*off += n;
	return (0);
}

int
dns_resolv_text(const struct dns_conf *dc, char *buf, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];
	size_t	 i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < dc->nservers; i++)
		if (ipaddr_text(&dc->servers[i], a, sizeof(a)) == -1 ||
		    put(buf, len, &off, "nameserver %s\n", a) == -1)
			return (-1);
	if (dc->nsearch == 0)
		return (0);
	if (put(buf, len, &off, SEARCH_KW) == -1)
		return (-1);
	for (i = 0; i < dc->nsearch; i++)
		if (put(buf, len, &off, " %s", dc->search[i]) == -1)
			return (-1);
	return (put(buf, len, &off, "\n"));
}

/* An argument vector built word by word into cmd->buf. */
static void
cmd_init(struct dns_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
}

static int
cmd_arg(struct dns_cmd *cmd, size_t *off, size_t *argc, const char *w)
{
	size_t	 n = strlen(w) + 1;

	if (*argc >= DNS_ARGV_MAX || n > sizeof(cmd->buf) - *off)
		return (-1);
	memcpy(cmd->buf + *off, w, n);
	cmd->argv[(*argc)++] = cmd->buf + *off;
	cmd->argv[*argc] = NULL;
	*off += n;
	return (0);
}

int
dns_resolved_set(const char *prog, const char *ifname,
    const struct dns_conf *dc, struct dns_cmd *dns, struct dns_cmd *dom,
    int *ndom)
{
	char	 a[INET6_ADDRSTRLEN];
	size_t	 i, off = 0, argc = 0;

	*ndom = 0;
	cmd_init(dns);
	if (cmd_arg(dns, &off, &argc, prog) == -1 ||
	    cmd_arg(dns, &off, &argc, "dns") == -1 ||
	    cmd_arg(dns, &off, &argc, ifname) == -1)
		return (-1);
	for (i = 0; i < dc->nservers; i++)
		if (ipaddr_text(&dc->servers[i], a, sizeof(a)) == -1 ||
		    cmd_arg(dns, &off, &argc, a) == -1)
			return (-1);
	cmd_init(dom);
	if (dc->nsearch == 0)
		return (0);
	off = argc = 0;
	if (cmd_arg(dom, &off, &argc, prog) == -1 ||
	    cmd_arg(dom, &off, &argc, "domain") == -1 ||
	    cmd_arg(dom, &off, &argc, ifname) == -1)
		return (-1);
	for (i = 0; i < dc->nsearch; i++)
		if (cmd_arg(dom, &off, &argc, dc->search[i]) == -1)
			return (-1);
	*ndom = 1;
	return (0);
}

int
dns_resolved_revert(const char *prog, const char *ifname,
    struct dns_cmd *cmd)
{
	size_t	 off = 0, argc = 0;

	cmd_init(cmd);
	if (cmd_arg(cmd, &off, &argc, prog) == -1 ||
	    cmd_arg(cmd, &off, &argc, "revert") == -1 ||
	    cmd_arg(cmd, &off, &argc, ifname) == -1)
		return (-1);
	return (0);
}

/* NAME's length if the line at l (len bytes) is "NAME*", else 0. */
static size_t
order_prefix(const char *l, size_t len)
{
	size_t	 i;

	while (len > 0 && (l[len - 1] == ' ' || l[len - 1] == '\t'))
		len--;
	if (len < 2 || l[len - 1] != '*')
		return (0);
	for (i = 0; i < len - 1; i++)
		if (!isalnum((unsigned char)l[i]) && l[i] != '-')
			return (0);
	return (len - 1);
}

int
dns_resolvconf_record(const char *order, size_t orderlen, const char *ifname,
    char *rec, size_t reclen)
{
	const char	*l = NULL, *e, *end;
	size_t		 n = 0;
	int		 r;

	if (order != NULL)
		for (l = order, end = order + orderlen; l < end; l = e + 1) {
			if ((e = memchr(l, '\n', end - l)) == NULL)
				e = end;
			while (l < e && (*l == ' ' || *l == '\t'))
				l++;
			if ((n = order_prefix(l, e - l)) > 0)
				break;
		}
	if (n > DNS_RESOLVCONF_PREFIX_MAX)
		n = 0;
	if (n > 0)
		r = snprintf(rec, reclen, "%.*s.%s%s", (int)n, l, ifname,
		    DNS_RESOLVCONF_SUFFIX);
	else
		r = snprintf(rec, reclen, "%s%s", ifname,
		    DNS_RESOLVCONF_SUFFIX);
	return (r < 0 || (size_t)r >= reclen ? -1 : 0);
}

static int
resolvconf_cmd(const char *prog, const char *flag, const char *rec,
    struct dns_cmd *cmd)
{
	size_t	 off = 0, argc = 0;

	cmd_init(cmd);
	if (cmd_arg(cmd, &off, &argc, prog) == -1 ||
	    cmd_arg(cmd, &off, &argc, flag) == -1 ||
	    cmd_arg(cmd, &off, &argc, rec) == -1)
		return (-1);
	return (0);
}

int
dns_resolvconf_add(const char *prog, const char *rec,
    const struct dns_conf *dc, struct dns_cmd *cmd)
{
	if (resolvconf_cmd(prog, "-a", rec, cmd) == -1 ||
	    dns_resolv_text(dc, cmd->text, sizeof(cmd->text)) == -1)
		return (-1);
	cmd->has_text = 1;
	return (0);
}

int
dns_resolvconf_del(const char *prog, const char *rec, struct dns_cmd *cmd)
{
	return (resolvconf_cmd(prog, "-d", rec, cmd));
}

/* ---- the block in resolv.conf --------------------------------------- */

struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static int
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->len + n + 1 > b->cap) {
		ncap = b->cap == 0 ? 512 : b->cap;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			return (-1);
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

static int
sbuf_str(struct sbuf *b, const char *s)
{
	return (sbuf_add(b, s, strlen(s)));
}

/* The line at s (up to len bytes) without its newline is exactly w. */
static int
line_is(const char *s, size_t len, const char *w)
{
	size_t	 n = strlen(w);

	return (len == n && memcmp(s, w, n) == 0);
}

/* A begin marker: the text, then ':' or the end of the line. */
static int
line_begins(const char *s, size_t len, const char *w)
{
	size_t	 n = strlen(w);

	return (len >= n && memcmp(s, w, n) == 0 &&
	    (len == n || s[n] == ':'));
}

/* The words after keyword kw on the line at l (len bytes), or NULL. */
static const char *
kw_args(const char *l, size_t len, const char *kw, size_t *alen)
{
	size_t	 n = strlen(kw);

	if (len <= n || memcmp(l, kw, n) != 0 ||
	    (l[n] != ' ' && l[n] != '\t'))
		return (NULL);
	*alen = len - n - 1;
	return (l + n + 1);
}

/*
 * The words after "search" or "domain" on the last such line of the
 * kept text: that line is the one the resolver uses, so the block's
 * search line repeats its domains after the mesh's.
 */
static void
last_search(const char *s, size_t len, const char **w, size_t *wlen)
{
	const char	*l, *e, *end = s + len, *a;
	size_t		 alen;

	*w = NULL;
	*wlen = 0;
	for (l = s; l < end; l = e + 1) {
		if ((e = memchr(l, '\n', end - l)) == NULL)
			e = end;
		if ((a = kw_args(l, e - l, SEARCH_KW, &alen)) != NULL ||
		    (a = kw_args(l, e - l, DOMAIN_KW, &alen)) != NULL) {
			*w = a;
			*wlen = alen;
		}
		if (e == end)
			break;
	}
}

/* 1 if word (n bytes) is one of the mesh's search domains. */
static int
search_has(const struct dns_conf *dc, const char *word, size_t n)
{
	size_t	 i;

	for (i = 0; i < dc->nsearch; i++)
		if (strlen(dc->search[i]) == n &&
		    memcmp(dc->search[i], word, n) == 0)
			return (1);
	return (0);
}

/* "search ours theirs\n", theirs without the ones already there. */
static int
search_line(struct sbuf *b, const struct dns_conf *dc, const char *theirs,
    size_t tlen)
{
	const char	*p = theirs, *end = theirs + tlen, *q;
	size_t		 i;

	if (sbuf_str(b, SEARCH_KW) == -1)
		return (-1);
	for (i = 0; i < dc->nsearch; i++)
		if (sbuf_str(b, " ") == -1 || sbuf_str(b, dc->search[i]) == -1)
			return (-1);
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (q = p; q < end && *q != ' ' && *q != '\t'; q++)
			;
		if (q > p && !search_has(dc, p, q - p) &&
		    (sbuf_str(b, " ") == -1 || sbuf_add(b, p, q - p) == -1))
			return (-1);
		p = q;
	}
	return (sbuf_str(b, "\n"));
}

static int
edit_fail(char *err, size_t errlen, struct sbuf *b, const char *why)
{
	free(b->p);
	snprintf(err, errlen, "%s", why);
	return (-1);
}

int
dns_file_edit(const char *in, size_t inlen, const char *ifname,
    const struct dns_conf *dc, char **out, size_t *outlen, char *err,
    size_t errlen)
{
	struct sbuf	 kept = { NULL, 0, 0 }, res = { NULL, 0, 0 };
	char		 begin[MARK_MAX], end[MARK_MAX], a[INET6_ADDRSTRLEN];
	const char	*l, *e, *stop = in + inlen, *theirs;
	size_t		 i, llen, tlen;
	int		 inblock = 0;

	*out = NULL;
	*outlen = 0;
	snprintf(begin, sizeof(begin), MARK_FMT_BEGIN, ifname);
	snprintf(end, sizeof(end), MARK_FMT_END, ifname);
	/* Take the interface's blocks out, keep every other byte. */
	for (l = in; l < stop; l = e) {
		if ((e = memchr(l, '\n', stop - l)) == NULL)
			e = stop;
		llen = e - l;
		if (e < stop)
			e++;		/* past the newline */
		if (!inblock && line_begins(l, llen, begin))
			inblock = 1;
		else if (inblock && line_is(l, llen, end))
			inblock = 0;
		else if (!inblock && sbuf_add(&kept, l, e - l) == -1)
			return (edit_fail(err, errlen, &kept, "out of memory"));
	}
	if (inblock)
		return (edit_fail(err, errlen, &kept, "a block of this "
		    "interface has no end line; left alone"));
	if (kept.p == NULL && sbuf_str(&kept, "") == -1)
		return (edit_fail(err, errlen, &kept, "out of memory"));
	if (dc == NULL || (dc->nservers == 0 && dc->nsearch == 0)) {
		*out = kept.p;
		*outlen = kept.len;
		return (0);
	}

	if (dc->nservers > 0) {
		if (sbuf_str(&res, begin) == -1 ||
		    sbuf_str(&res, MARK_NOTE "\n") == -1)
			goto nomem;
		for (i = 0; i < dc->nservers; i++)
			if (ipaddr_text(&dc->servers[i], a, sizeof(a)) == -1 ||
			    sbuf_str(&res, "nameserver ") == -1 ||
			    sbuf_str(&res, a) == -1 ||
			    sbuf_str(&res, "\n") == -1)
				goto nomem;
		if (sbuf_str(&res, end) == -1 || sbuf_str(&res, "\n") == -1)
			goto nomem;
	}
	if (sbuf_add(&res, kept.p, kept.len) == -1)
		goto nomem;
	if (dc->nsearch > 0) {
		if (res.len > 0 && res.p[res.len - 1] != '\n' &&
		    sbuf_str(&res, "\n") == -1)
			goto nomem;
		last_search(kept.p, kept.len, &theirs, &tlen);
		if (sbuf_str(&res, begin) == -1 ||
		    sbuf_str(&res, MARK_NOTE "\n") == -1 ||
		    search_line(&res, dc, theirs, tlen) == -1 ||
		    sbuf_str(&res, end) == -1 || sbuf_str(&res, "\n") == -1)
			goto nomem;
	}
	free(kept.p);
	*out = res.p;
	*outlen = res.len;
	return (0);

nomem:
	free(kept.p);
	return (edit_fail(err, errlen, &res, "out of memory"));
}
