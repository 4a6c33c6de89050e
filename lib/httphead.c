/*
 * An HTTP/1.x request head against limits, with evhttp's framing (see
 * httphead.h).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "httphead.h"

#define CL_DIGITS_MAX	18	/* fits an int64_t, as evhttp parses it */

/* Methods evhttp 2.1 reads a body for (evhttp_method_may_have_body). */
static const char *body_methods[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT"
};

static int
name_is(const char *line, size_t klen, const char *name)
{
	return (klen == strlen(name) && strncasecmp(line, name, klen) == 0);
}

/* evhttp trims spaces before a value and blanks after; digits only. */
static int
content_length(const char *v, size_t len, uint64_t *out)
{
	size_t		 i;
	uint64_t	 x = 0;

	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0 || len > CL_DIGITS_MAX)
		return (-1);
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return (-1);
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return (0);
}

static int
has_body(const char *line, size_t len)
{
	const char	*sp;
	size_t		 i, mlen;

	if ((sp = memchr(line, ' ', len)) == NULL)
		return (0);
	mlen = (size_t)(sp - line);
	for (i = 0; i < sizeof(body_methods) / sizeof(body_methods[0]); i++)
		if (mlen == strlen(body_methods[i]) &&
		    memcmp(line, body_methods[i], mlen) == 0)
			return (1);
	return (0);
}

static enum httphead_verdict
bad(struct httphead *h, const char *why)
{
	h->why = why;
	return (HEAD_BAD);
}

enum httphead_verdict
httphead_scan(const char *buf, size_t len, const struct httphead_limits *lim,
    struct httphead *h)
{
	const char	*line = buf, *nl, *reqline = NULL, *colon;
	size_t		 llen, reqlen = 0, off = 0;
	uint64_t	 cl = 0;
	int		 have_cl = 0;

	memset(h, 0, sizeof(*h));
	while (off < len && (nl = memchr(buf + off, '\n', len - off)) !=
	    NULL) {
		line = buf + off;
		llen = (size_t)(nl - line);
		off += llen + 1;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (off > lim->max_bytes)
			return (HEAD_TOO_LARGE);
		if (reqline == NULL) {
			reqline = line;
			reqlen = llen;
			if (llen == 0)
				break;	/* evhttp refuses it: let it */
			continue;
		}
		if (llen == 0) {
			h->len = off;
			goto done;
		}
		if (++h->lines > lim->max_lines)
			return (HEAD_TOO_MANY);
		if (line[0] == ' ' || line[0] == '\t')
			return (bad(h, "folded header line"));
		if ((colon = memchr(line, ':', llen)) == NULL)
			continue;	/* evhttp refuses it */
		if (name_is(line, (size_t)(colon - line), "Transfer-Encoding"))
			return (bad(h, "Transfer-Encoding is not accepted"));
		if (!name_is(line, (size_t)(colon - line), "Content-Length"))
			continue;
		if (have_cl)
			return (bad(h, "more than one Content-Length"));
		have_cl = 1;
		if (content_length(colon + 1, llen - (size_t)(colon + 1 -
		    line), &cl) == -1)
			return (bad(h, "Content-Length is not a number"));
	}
	if (reqline == NULL || reqlen > 0) {
		/* No empty line yet. */
		if (len > lim->max_bytes)
			return (HEAD_TOO_LARGE);
		return (HEAD_NEED_MORE);
	}
	h->len = off;	/* an empty request line: a head of its own */
	return (HEAD_OK);
done:
	if (have_cl && cl > 0) {
		if (!has_body(reqline, reqlen))
			return (bad(h, "a body on a method without one"));
		h->body = cl;
		if (cl > lim->max_body)
			return (HEAD_BODY_TOO_LARGE);
	}
	return (HEAD_OK);
}
