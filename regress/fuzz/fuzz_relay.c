/*
 * Relay frames (lib/relayproto.c) as a TLS stream delivers them: the
 * same bytes decoded whole and fed in chunks of the sizes the input
 * names must give the same frames and the same end (a broken stream or
 * one waiting for more).  Every frame re-encodes to the bytes it came
 * from, and the decoder never waits on more than one largest frame.
 *
 * Input: a count of chunk sizes, that many be16 sizes (used in turn),
 * then the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relayproto.h"
#include "fuzz.h"

#define CHUNKS_MAX	16
#define FRAMES_MAX	4096

struct seen {
	size_t			 off;	/* where the frame starts */
	size_t			 used;
	enum relay_frame_type	 type;
};

/* Frames of buf decoded in one go; the last result in *end. */
static size_t
decode_whole(const uint8_t *buf, size_t len, struct seen *s,
    enum relay_decode_result *end)
{
	struct relay_frame	 f;
	size_t			 off = 0, n = 0, used;
	enum relay_decode_result r;

	while ((r = relay_decode(buf + off, len - off, &f, &used)) ==
	    RELAY_FRAME && n < FRAMES_MAX) {
		FZ_CHECK(used >= RELAY_HDR_LEN && used <= len - off);
		s[n].off = off;
		s[n].used = used;
		s[n].type = f.type;
		n++;
		off += used;
	}
	*end = r;
	return (n);
}

static void
check_frame(const uint8_t *frame, size_t used, const struct relay_frame *f)
{
	uint8_t		*re;
	size_t		 size;

	size = relay_frame_size(f->type, f->len);
	FZ_CHECK(size == used);
	FZ_CHECK(f->data + f->len == frame + used);
	FZ_CHECK(f->key == NULL || f->key == frame + RELAY_HDR_LEN);
	if ((re = malloc(size)) == NULL)
		abort();
	FZ_CHECK(relay_frame_encode(re, size, f->type, f->key, f->data,
	    f->len) == size);
	FZ_CHECK(memcmp(re, frame, size) == 0);
	/* One byte short never fits. */
	FZ_CHECK(relay_frame_encode(re, size - 1, f->type, f->key, f->data,
	    f->len) == 0);
	free(re);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen	 whole[FRAMES_MAX];
	struct relay_frame	 f;
	struct fz		 in;
	enum relay_decode_result end, r = RELAY_NEED_MORE;
	uint16_t		 chunk[CHUNKS_MAX];
	const uint8_t		*stream;
	uint8_t			*buf;
	size_t			 nchunks, i, len, n, got;
	size_t			 fed = 0, have = 0;
	size_t			 start = 0, used, k = 0;

	fz_init(&in, data, size);
	nchunks = fz_u8(&in) % CHUNKS_MAX;
	for (i = 0; i < nchunks; i++)
		chunk[i] = fz_u16(&in);
	stream = in.p;
	len = in.left;
	n = decode_whole(stream, len, whole, &end);

	/* A connection's buffer: chunks appended, frames taken off. */
	buf = fz_dup(stream, len);
	for (i = 0; fed < len && r != RELAY_BAD; i++) {
		got = nchunks > 0 ? chunk[i % nchunks] : len;
		if (got == 0)
			got = 1;
		if (got > len - fed)
			got = len - fed;
		memcpy(buf + have, stream + fed, got);
		have += got;
		fed += got;
		while ((r = relay_decode(buf, have, &f, &used)) ==
		    RELAY_FRAME && k < FRAMES_MAX) {
			FZ_CHECK(k < n);
			FZ_CHECK(whole[k].off == start);
			FZ_CHECK(whole[k].used == used);
			FZ_CHECK(whole[k].type == f.type);
			check_frame(buf, used, &f);
			memmove(buf, buf + used, have - used);
			have -= used;
			start += used;
			k++;
		}
		if (r == RELAY_NEED_MORE)
			FZ_CHECK(have < RELAY_FRAME_MAX);
	}
	if (k < FRAMES_MAX) {
		FZ_CHECK(k == n);
		FZ_CHECK(r == end);
	}
	free(buf);
	return (0);
}
