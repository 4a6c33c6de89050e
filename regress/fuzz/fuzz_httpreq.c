/*
 * What cbedged reads of a registry request itself (cbedged/request.c,
 * compiled in), on what evhttp's own parser makes of the request line:
 * the route of the path, the bearer token of the Authorization header,
 * GET /v1/peers's query, and the request's bytes echoed to a log line.
 *
 * A route is found exactly for one of the registry's paths, byte for
 * byte; a bearer token is what follows "Bearer " in any case and the
 * spaces after it, to the header's end; the query is taken exactly when
 * a naive reading of evhttp's key-value list takes it (since and wait
 * each at most once, decimal, wait within the protocol's bound), with
 * its values, and a refused query leaves nothing set; an echo is
 * printable, cut to its buffer, and keeps every printable byte.
 *
 * Input: an echo size byte, then the request-URI, a newline, and the
 * Authorization header's value (absent when there is no newline).
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cbedged.h"
#include "fuzz.h"

#define ECHO_MAX	256
#define BEARER_LEN	7
#define U64_TEXT_MAX	48

/* The registry's paths, as doc/registry.md names them. */
static const char *const paths[] = {
	"/v1/register", "/v1/heartbeat", "/v1/peers", "/v1/peers/self",
	"/v1/health"
};

/* A decimal number that fits 64 bits, digit by digit. */
static int
naive_u64(const char *s, uint64_t *v)
{
	uint64_t	 n = 0;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return (-1);
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return (0);
}

/* The model of req_peers_query() on evhttp's key-value list. */
static int
naive_query(const char *query, struct peers_query *pq)
{
	struct evkeyvalq	 q;
	struct evkeyval		*kv;
	int			 rc = -1;

	memset(pq, 0, sizeof(*pq));
	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1)
		goto done;
	TAILQ_FOREACH(kv, &q, next) {
		if (strcmp(kv->key, "since") == 0) {
			if (pq->have_since || naive_u64(kv->value,
			    &pq->since) == -1)
				goto done;
			pq->have_since = 1;
		} else if (strcmp(kv->key, "wait") == 0) {
			if (pq->have_wait || naive_u64(kv->value,
			    &pq->wait) == -1 || pq->wait > REG_WAIT_MAX)
				goto done;
			pq->have_wait = 1;
		} else
			goto done;
	}
	rc = 0;
done:
	evhttp_clear_headers(&q);
	return (rc);
}

static void
check_route(const char *path)
{
	const struct route	*rt = req_route(path);
	size_t			 i;
	int			 want = 0;

	for (i = 0; path != NULL && i < nitems(paths); i++)
		if (strcmp(path, paths[i]) == 0)
			want = 1;
	FZ_CHECK((rt != NULL) == want);
	if (rt != NULL)
		FZ_CHECK(strcmp(rt->path, path) == 0 && rt->allow != NULL);
}

static void
check_bearer(const char *h)
{
	static const char	 bearer[] = "bearer ";
	const char		*b = req_bearer(h);
	size_t			 i;
	int			 want = h != NULL;

	for (i = 0; want && i < BEARER_LEN; i++)
		if (tolower((unsigned char)h[i]) != bearer[i])
			want = 0;
	FZ_CHECK((b != NULL) == want);
	if (b == NULL)
		return;
	/* A suffix of the header, past the scheme and its spaces. */
	FZ_CHECK(b >= h + BEARER_LEN && b <= h + strlen(h));
	for (i = BEARER_LEN; h + i < b; i++)
		FZ_CHECK(h[i] == ' ');
	FZ_CHECK(*b != ' ');
}

static void
check_query(const char *query)
{
	struct peers_query	 pq, want, again;
	const char		*why = NULL;
	char			 text[2 * U64_TEXT_MAX];
	int			 rc;

	rc = req_peers_query(query, &pq, &why);
	FZ_CHECK(rc == naive_query(query, &want));
	if (rc == -1) {
		FZ_CHECK(why != NULL && *why != '\0');
		FZ_CHECK(!pq.have_since && !pq.have_wait && pq.since == 0 &&
		    pq.wait == 0);
		return;
	}
	FZ_CHECK(pq.have_since == want.have_since &&
	    pq.have_wait == want.have_wait);
	FZ_CHECK(pq.since == want.since && pq.wait == want.wait);
	FZ_CHECK(pq.wait <= REG_WAIT_MAX);
	/* Written back as a client would, it reads the same. */
	snprintf(text, sizeof(text), "since=%llu&wait=%llu",
	    (unsigned long long)pq.since, (unsigned long long)pq.wait);
	FZ_CHECK(req_peers_query(text, &again, &why) == 0);
	FZ_CHECK(again.since == pq.since && again.wait == pq.wait);
}

static void
check_echo(const char *s, size_t size)
{
	char	 buf[ECHO_MAX];
	size_t	 i, n;

	memset(buf, 'X', sizeof(buf));
	FZ_CHECK(req_echo(s, buf, size) == buf);
	n = strlen(buf);
	FZ_CHECK(n < size && n <= strlen(s));
	FZ_CHECK(n == size - 1 || n == strlen(s));
	for (i = 0; i < n; i++)
		FZ_CHECK(buf[i] == s[i] || (buf[i] == '?' &&
		    ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evhttp_uri	*uri;
	struct fz		 f;
	const uint8_t		*p;
	char			*text, *nl, *auth = NULL;
	size_t			 len, echo_size;

	fz_init(&f, data, size);
	echo_size = fz_u8(&f) % ECHO_MAX + 1;
	p = fz_take(&f, f.left, &len);
	/* NUL-terminated, as evhttp hands them over; a NUL ends them. */
	if ((text = malloc(len + 1)) == NULL)
		abort();
	memcpy(text, p, len);
	text[len] = '\0';
	if ((nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		auth = nl + 1;
	}
	check_bearer(auth);
	check_echo(text, echo_size);
	/* What evhttp does with a request line's URI before our handler. */
	if ((uri = evhttp_uri_parse_with_flags(text,
	    EVHTTP_URI_NONCONFORMANT)) != NULL) {
		check_route(evhttp_uri_get_path(uri));
		check_query(evhttp_uri_get_query(uri));
		evhttp_uri_free(uri);
	}
	free(text);
	return (0);
}
