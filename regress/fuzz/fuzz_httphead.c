/*
 * The edge's request head check (lib/httphead.c) on arbitrary bytes and
 * limits.  A whole head ends with a line feed within the bytes and the
 * byte limit, holds no more lines than allowed and announces no more
 * body than allowed; scanning just its bytes gives the same verdict;
 * a head that needs more is still under the byte limit; a refusal of
 * the framing says why.
 *
 * Input: a be16 byte limit, a byte of line limit, a be32 body limit,
 * then the bytes as they came from the client.
 */
#include <stdint.h>
#include <string.h>

#include "httphead.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httphead_limits	 lim;
	struct httphead		 h, again;
	struct fz		 f;
	uint8_t			*buf;
	size_t			 len;

	fz_init(&f, data, size);
	lim.max_bytes = fz_u16(&f);
	lim.max_lines = fz_u8(&f);
	lim.max_body = fz_u32(&f);
	/* The bytes alone on the heap: ASan sees any read past them. */
	len = f.left;
	buf = fz_dup(f.p, len);
	switch (httphead_scan((const char *)buf, len, &lim, &h)) {
	case HEAD_OK:
		FZ_CHECK(h.len > 0 && h.len <= len && h.len <= lim.max_bytes);
		FZ_CHECK(buf[h.len - 1] == '\n');
		FZ_CHECK(h.lines <= lim.max_lines);
		FZ_CHECK(h.body <= lim.max_body);
		FZ_CHECK(httphead_scan((const char *)buf, h.len, &lim,
		    &again) == HEAD_OK);
		FZ_CHECK(again.len == h.len && again.body == h.body &&
		    again.lines == h.lines);
		break;
	case HEAD_NEED_MORE:
		FZ_CHECK(len <= lim.max_bytes);
		break;
	case HEAD_BAD:
		FZ_CHECK(h.why != NULL && h.why[0] != '\0');
		break;
	case HEAD_BODY_TOO_LARGE:
		FZ_CHECK(h.body > lim.max_body && h.len <= len);
		break;
	case HEAD_TOO_LARGE:
	case HEAD_TOO_MANY:
		break;
	}
	free(buf);
	return (0);
}
