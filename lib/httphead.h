/*
 * The head of one HTTP/1.x request, checked before evhttp reads it:
 * its size in bytes, its number of header lines, and the length of the
 * body that follows, so that the bytes of the next request on a
 * kept-alive connection are found where evhttp (libevent 2.1) will
 * look for them.  Pure: bytes in, a verdict out.
 *
 * The framing is evhttp's: a line ends at LF with an optional CR before
 * it, an empty line ends the head, the body is Content-Length bytes for
 * the methods evhttp reads a body for and none otherwise.  Whatever
 * could make the two readings differ is refused: a repeated or
 * non-numeric Content-Length, any Transfer-Encoding, folded lines, a
 * Content-Length on a method that has no body.
 */
#ifndef CBP2P_HTTPHEAD_H
#define CBP2P_HTTPHEAD_H

#include <stddef.h>
#include <stdint.h>

enum httphead_verdict {
	HEAD_NEED_MORE,		/* no empty line yet, under the limits */
	HEAD_OK,		/* a whole head: see struct httphead */
	HEAD_TOO_LARGE,		/* over max_bytes, complete or not */
	HEAD_TOO_MANY,		/* over max_lines header lines */
	HEAD_BODY_TOO_LARGE,	/* Content-Length over max_body: len, body */
	HEAD_BAD		/* framing we will not guess at */
};

struct httphead_limits {
	size_t		 max_bytes;	/* of the head, line ends included */
	size_t		 max_lines;	/* header lines, request line not */
	uint64_t	 max_body;
};

struct httphead {
	size_t		 len;		/* bytes of the head */
	size_t		 lines;		/* header lines */
	uint64_t	 body;		/* bytes of body after it */
	const char	*why;		/* HEAD_BAD: one short phrase */
};

enum httphead_verdict httphead_scan(const char *, size_t,
		    const struct httphead_limits *, struct httphead *);

#endif /* CBP2P_HTTPHEAD_H */
