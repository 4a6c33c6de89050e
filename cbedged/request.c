/*
 * What the registry reads of a request itself, once evhttp has parsed
 * it: the route of its path, the bearer token of its Authorization
 * header, GET /v1/peers's query parameters, and any of its bytes made
 * safe for a log line.  No event base and no connection here, so that
 * regress/fuzz/fuzz_httpreq can run it on evhttp's own URI parser.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cbedged.h"

#define BEARER		"Bearer "

static const struct route routes[] = {
	{ "/v1/register",	R_REGISTER,	EVHTTP_REQ_POST,	"POST" },
	{ "/v1/heartbeat",	R_HEARTBEAT,	EVHTTP_REQ_POST,	"POST" },
	{ "/v1/peers",		R_PEERS,	EVHTTP_REQ_GET,		"GET" },
	{ "/v1/peers/self",	R_LEAVE,	EVHTTP_REQ_DELETE,	"DELETE" },
	{ "/v1/health",		R_HEALTH,	EVHTTP_REQ_GET,		"GET" },
};

const struct route *
req_route(const char *path)
{
	size_t	 i;

	for (i = 0; path != NULL && i < sizeof(routes) / sizeof(routes[0]);
	    i++)
		if (strcmp(path, routes[i].path) == 0)
			return (&routes[i]);
	return (NULL);
}

const char *
req_bearer(const char *h)
{
	if (h == NULL || strncasecmp(h, BEARER, sizeof(BEARER) - 1) != 0)
		return (NULL);
	h += sizeof(BEARER) - 1;
	while (*h == ' ')
		h++;
	return (h);
}

/* A decimal number and nothing else, as a version or a wait. */
static int
parse_u64(const char *s, uint64_t *v)
{
	char		*end;
	uintmax_t	 n;

	if (s[0] < '0' || s[0] > '9')
		return (-1);
	errno = 0;
	n = strtoumax(s, &end, 10);
	if (*end != '\0' || errno != 0 || n > UINT64_MAX)
		return (-1);
	*v = (uint64_t)n;
	return (0);
}

int
req_peers_query(const char *query, struct peers_query *pq, const char **why)
{
	struct evkeyvalq	 q;
	struct evkeyval		*kv;
	int			 rc = -1;

	memset(pq, 0, sizeof(*pq));
	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1) {
		*why = "malformed query string";
		goto done;
	}
	TAILQ_FOREACH(kv, &q, next) {
		if (strcmp(kv->key, "since") == 0 && !pq->have_since) {
			if (parse_u64(kv->value, &pq->since) == -1) {
				*why = "since: must be a version number";
				goto done;
			}
			pq->have_since = 1;
		} else if (strcmp(kv->key, "wait") == 0 && !pq->have_wait) {
			if (parse_u64(kv->value, &pq->wait) == -1 ||
			    pq->wait > REG_WAIT_MAX) {
				*why = "wait: must be 0..30 seconds";
				goto done;
			}
			pq->have_wait = 1;
		} else {
			*why = "unknown or repeated query parameter";
			goto done;
		}
	}
	rc = 0;
done:
	evhttp_clear_headers(&q);
	if (rc == -1)
		memset(pq, 0, sizeof(*pq));
	return (rc);
}

const char *
req_echo(const char *s, char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return (buf);
}
