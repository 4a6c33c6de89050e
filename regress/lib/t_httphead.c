/*
 * The request head check the edge runs before evhttp: whole heads and
 * their bodies, heads that are not complete yet, each limit, and the
 * framing it refuses rather than guess.
 */

#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "httphead.h"

static const struct httphead_limits lim = { 256, 4, 1000 };

static enum httphead_verdict
scan(const char *s, struct httphead *h)
{
	return (httphead_scan(s, strlen(s), &lim, h));
}

ATF_TC_WITHOUT_HEAD(whole_heads);
ATF_TC_BODY(whole_heads, tc)
{
	struct httphead	 h;
	const char	*get = "GET /v1/peers HTTP/1.1\r\nHost: e\r\n\r\nNEXT";
	const char	*post = "POST /v1/register HTTP/1.1\nHost: e\n"
			    "content-length:  12 \n\n{\"a\": 1}";

	ATF_CHECK_EQ(scan(get, &h), HEAD_OK);
	ATF_CHECK_EQ(h.len, strlen(get) - 4);
	ATF_CHECK_EQ(h.lines, 1);
	ATF_CHECK_EQ(h.body, 0);
	ATF_CHECK_EQ(scan(post, &h), HEAD_OK);
	ATF_CHECK_EQ(h.len, strlen(post) - 8);
	ATF_CHECK_EQ(h.lines, 2);
	ATF_CHECK_EQ(h.body, 12);
	/* A method evhttp reads no body for, Content-Length 0: no body. */
	ATF_CHECK_EQ(scan("HEAD / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &h),
	    HEAD_OK);
	ATF_CHECK_EQ(h.body, 0);
	/* An empty request line is a head of its own, for evhttp to refuse. */
	ATF_CHECK_EQ(scan("\r\nGET / HTTP/1.1\r\n\r\n", &h), HEAD_OK);
	ATF_CHECK_EQ(h.len, 2);
}

ATF_TC_WITHOUT_HEAD(need_more);
ATF_TC_BODY(need_more, tc)
{
	struct httphead	 h;
	const char	*full = "POST /v1/heartbeat HTTP/1.1\r\nA: b\r\n"
			    "Content-Length: 3\r\n\r\n";
	size_t		 i;

	/* Every strict prefix is incomplete, one byte at a time. */
	for (i = 0; i < strlen(full); i++)
		ATF_CHECK_EQ(httphead_scan(full, i, &lim, &h),
		    HEAD_NEED_MORE);
	ATF_CHECK_EQ(httphead_scan(full, strlen(full), &lim, &h), HEAD_OK);
	ATF_CHECK_EQ(h.body, 3);
}

ATF_TC_WITHOUT_HEAD(limits);
ATF_TC_BODY(limits, tc)
{
	struct httphead	 h;
	char		 big[400];

	/* Bytes: a head over 256, complete or not. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[sizeof(big) - 1] = '\0';
	ATF_CHECK_EQ(scan(big, &h), HEAD_TOO_LARGE);
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 5);
	ATF_CHECK_EQ(scan(big, &h), HEAD_TOO_LARGE);
	/* Lines: four pass, five do not, even before the head ends. */
	ATF_CHECK_EQ(scan("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"
	    "\r\n", &h), HEAD_OK);
	ATF_CHECK_EQ(h.lines, 4);
	ATF_CHECK_EQ(scan("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"
	    "E: 5\r\n", &h), HEAD_TOO_MANY);
	/* Body: up to 1000. */
	ATF_CHECK_EQ(scan("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n",
	    &h), HEAD_OK);
	ATF_CHECK_EQ(scan("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n",
	    &h), HEAD_BODY_TOO_LARGE);
	/* What to drop before answering: the head, then the body. */
	ATF_CHECK_EQ(h.len, 41);
	ATF_CHECK_EQ(h.body, 1001);
	ATF_CHECK_EQ(scan("PUT / HTTP/1.1\r\nContent-Length: "
	    "999999999999999999\r\n\r\n", &h), HEAD_BODY_TOO_LARGE);
}

ATF_TC_WITHOUT_HEAD(refused_framing);
ATF_TC_BODY(refused_framing, tc)
{
	static const char	*bad[] = {
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\ntransfer-encoding: identity\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n"
		    "\r\n",
		"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1 1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n"
		    "\r\n",
		"POST / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
		"HEAD / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
		"TRACE / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
		"post / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
	};
	struct httphead		 h;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ATF_CHECK_EQ_MSG(scan(bad[i], &h), HEAD_BAD, "%zu", i);
		ATF_CHECK(h.why != NULL);
	}
	/* A name with a blank before its colon is another header to evhttp. */
	ATF_CHECK_EQ(scan("POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", &h),
	    HEAD_OK);
	ATF_CHECK_EQ(h.body, 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, whole_heads);
	ATF_TP_ADD_TC(tp, need_more);
	ATF_TP_ADD_TC(tp, limits);
	ATF_TP_ADD_TC(tp, refused_framing);
	return (atf_no_error());
}
