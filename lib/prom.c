/*
 * The Prometheus text exposition format (version 0.0.4), written into
 * a libevent buffer.  See prom.h.
 */

#include <sys/types.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

#define PROM_NUM_MAX		32	/* a formatted bound or value */
#define PROM_DIGITS_SHORT	15	/* enough for any bound we write */
#define PROM_DIGITS_EXACT	17	/* a double read back unchanged */

/* HELP text escapes backslash and newline; label values also '"'. */
static void
prom_escape(struct evbuffer *b, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else if (quote && *s == '"')
			evbuffer_add(b, "\\\"", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

void
prom_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s ", name);
	prom_escape(b, help, 0);
	evbuffer_add_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void
prom_labels(struct evbuffer *b, const char *name, const char *suffix,
    const struct prom_label *l, size_t n, const char *le)
{
	size_t	 i;

	evbuffer_add_printf(b, "%s%s", name, suffix);
	if (n == 0 && le == NULL)
		return;
	evbuffer_add(b, "{", 1);
	for (i = 0; i < n; i++) {
		evbuffer_add_printf(b, "%s%s=\"", i == 0 ? "" : ",",
		    l[i].name);
		prom_escape(b, l[i].value, 1);
		evbuffer_add(b, "\"", 1);
	}
	if (le != NULL)
		evbuffer_add_printf(b, "%sle=\"%s\"", n == 0 ? "" : ",", le);
	evbuffer_add(b, "}", 1);
}

/* Go's ParseFloat reads %g, and +Inf, -Inf and NaN by those names. */
static void
prom_num(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, "%sInf", v > 0 ? "+" : "-");
	else {
		/* The shortest that reads back: le="0.005", not 0.0050...1. */
		snprintf(buf, len, "%.*g", PROM_DIGITS_SHORT, v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.*g", PROM_DIGITS_EXACT, v);
	}
}

void
prom_u64(struct evbuffer *b, const char *name, const struct prom_label *l,
    size_t n, uint64_t v)
{
	prom_labels(b, name, "", l, n, NULL);
	evbuffer_add_printf(b, " %llu\n", (unsigned long long)v);
}

void
prom_double(struct evbuffer *b, const char *name,
    const struct prom_label *l, size_t n, double v)
{
	char	 num[PROM_NUM_MAX];

	prom_num(num, sizeof(num), v);
	prom_labels(b, name, "", l, n, NULL);
	evbuffer_add_printf(b, " %s\n", num);
}

int
prom_hist_init(struct prom_hist *h, const double *bounds, size_t n)
{
	memset(h, 0, sizeof(*h));
	if (n > PROM_BUCKETS_MAX)
		return (-1);
	h->bounds = bounds;
	h->nbounds = n;
	return (0);
}

void
prom_hist_observe(struct prom_hist *h, double v)
{
	size_t	 i;

	if (isnan(v))
		return;
	for (i = 0; i < h->nbounds && v > h->bounds[i]; i++)
		;
	if (i < h->nbounds)
		h->counts[i]++;
	h->count++;
	h->sum += v;
}

void
prom_hist(struct evbuffer *b, const char *name, const struct prom_label *l,
    size_t n, const struct prom_hist *h)
{
	char		 le[PROM_NUM_MAX];
	uint64_t	 cum = 0;
	size_t		 i;

	for (i = 0; i < h->nbounds; i++) {
		cum += h->counts[i];
		prom_num(le, sizeof(le), h->bounds[i]);
		prom_labels(b, name, "_bucket", l, n, le);
		evbuffer_add_printf(b, " %llu\n", (unsigned long long)cum);
	}
	prom_labels(b, name, "_bucket", l, n, "+Inf");
	evbuffer_add_printf(b, " %llu\n", (unsigned long long)h->count);
	prom_num(le, sizeof(le), h->sum);
	prom_labels(b, name, "_sum", l, n, NULL);
	evbuffer_add_printf(b, " %s\n", le);
	prom_labels(b, name, "_count", l, n, NULL);
	evbuffer_add_printf(b, " %llu\n", (unsigned long long)h->count);
}

int
prom_name_valid(const char *s)
{
	const char	*p;

	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
			return (0);
	}
	return (1);
}

void
prom_snake(char *buf, size_t len, const char *text)
{
	size_t	 i;
	char	 ch;

	if (len == 0)
		return;
	for (i = 0; i + 1 < len && text[i] != '\0'; i++) {
		ch = text[i];
		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '_';
		buf[i] = ch;
	}
	buf[i] = '\0';
}

void
prom_one(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	prom_family(b, name, type, help);
	prom_u64(b, name, NULL, 0, v);
}

int
prom_reply(struct evhttp_request *req, void (*write)(struct evbuffer *,
    void *), void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path;
	struct evbuffer		*b;

	path = uri == NULL ? NULL : evhttp_uri_get_path(uri);
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return (0);
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, NULL);
		return (0);
	}
	write(b, arg);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", PROM_CONTENT_TYPE);
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
	return (1);
}
