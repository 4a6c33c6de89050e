/*
 * The reading side of a relay connection (lib/relayconn.c), as
 * cbrelayd/conn.c and cbedged/relay.c run it on their TLS input: the
 * stream arrives in chunks of the sizes the input names, into a libevent
 * buffer of many pieces (copied or referenced), never past the read
 * high-water mark both daemons set, and relay_read() runs after each.
 *
 * It must hand over exactly the frames that relay_decode() finds in the
 * whole stream, each with its own bytes, in order, and end the same way
 * (waiting, or a broken stream exactly where the whole-buffer decoder
 * refuses, known from the header alone); once its callback says stop
 * it touches nothing; waiting, it holds less than one largest frame, so
 * the high-water mark never stalls.
 * ERROR text comes out printable and bounded; a RESTARTING frame's window
 * stays within the client's bounds whatever the relay asks and whatever
 * the random draw.
 *
 * Input: a stop byte (the callback returns -1 at that frame; 0xff never),
 * a clock byte, a count of chunk sizes and that many be16 sizes (used in
 * turn; 0 means the rest), then the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "relayconn.h"
#include "fuzz.h"

#define CHUNKS_MAX	16
#define NEVER		0xff
/* Both daemons' read high-water mark (RELAY_INBUF_MAX, RELAY_RXBUF_MAX). */
#define WATERMARK	(2 * RELAY_FRAME_MAX)
#define TEXT_SIZES	4
#define CLOCK_SHIFT	24	/* the clock byte: now in units of 2^24 ms */

struct ref {
	size_t			 off;
	size_t			 used;
};

struct run {
	const uint8_t		*stream;
	const struct ref	*ref;
	size_t			 nref;
	size_t			 seen;		/* frames handed over */
	size_t			 stop;		/* the frame to say stop at */
	int			 stopped;
	uint64_t		 now;
	uint32_t		 draw;		/* what uniform() answers */
	uint32_t		 bound;		/* what it was last asked */
};

static struct run	*cur;

/* An adversarial draw: whatever the input says, below n. */
static uint32_t
uniform(uint32_t n)
{
	cur->bound = n;
	return (n == 0 ? 0 : cur->draw % n);
}

static void
check_text(const struct relay_frame *f)
{
	static const size_t	 sizes[TEXT_SIZES] = { 1, 2, 17,
				    RELAY_ERROR_MAX + 1 };
	char			 text[RELAY_ERROR_MAX + 1];
	size_t			 i, j, want;

	for (i = 0; i < TEXT_SIZES; i++) {
		memset(text, 'X', sizeof(text));
		relay_error_text(f, text, sizes[i]);
		want = f->len < sizes[i] - 1 ? f->len : sizes[i] - 1;
		FZ_CHECK(strlen(text) == want);
		for (j = 0; j < want; j++)
			FZ_CHECK(text[j] == f->data[j] || (text[j] == '?' &&
			    (f->data[j] < 0x20 || f->data[j] > 0x7e)));
	}
}

static void
check_restart(struct run *r, const struct relay_frame *f)
{
	uint64_t	 at, until, wait, span;

	r->bound = 0;
	r->draw = f->reconnect_ms ^ f->try_ms;
	relay_restart_window(r->now, f->reconnect_ms, f->try_ms, uniform, &at,
	    &until);
	wait = f->reconnect_ms < RELAY_RESTART_WAIT_MAX ? f->reconnect_ms :
	    RELAY_RESTART_WAIT_MAX;
	span = f->try_ms < RELAY_RESTART_TRY_MAX ? f->try_ms :
	    RELAY_RESTART_TRY_MAX;
	/* The jitter is drawn from the wait kept, never from the one asked. */
	FZ_CHECK(r->bound <= wait / RELAY_RESTART_JITTER + 1);
	FZ_CHECK(at >= r->now + wait);
	FZ_CHECK(at - r->now <= wait + wait / RELAY_RESTART_JITTER);
	FZ_CHECK(until == at + span + RELAY_RESTART_RETRY_MS);
}

static int
frame_cb(void *arg, const struct relay_frame *f)
{
	struct run		*r = arg;
	const struct ref	*want;
	uint8_t			*re;
	size_t			 size;

	FZ_CHECK(!r->stopped);
	FZ_CHECK(r->seen < r->nref);
	want = &r->ref[r->seen++];
	/* Its own bytes, wherever the buffer's pieces were. */
	size = relay_frame_size(f->type, f->len);
	FZ_CHECK(size == want->used);
	if ((re = malloc(size)) == NULL)
		abort();
	FZ_CHECK(relay_frame_encode(re, size, f->type, f->key, f->data,
	    f->len) == size);
	FZ_CHECK(memcmp(re, r->stream + want->off, size) == 0);
	free(re);
	if (f->type == RELAY_ERROR)
		check_text(f);
	if (f->type == RELAY_RESTARTING)
		check_restart(r, f);
	if (r->seen - 1 == r->stop) {
		r->stopped = 1;
		return (-1);
	}
	return (0);
}

/* The frames relay_decode() finds in the whole stream, and how it ends. */
static size_t
reference(const uint8_t *s, size_t len, struct ref *ref, size_t *end)
{
	struct relay_frame	 f;
	size_t			 off = 0, n = 0, used;

	while (relay_decode(s + off, len - off, &f, &used) == RELAY_FRAME) {
		ref[n].off = off;
		ref[n].used = used;
		n++;
		off += used;
	}
	*end = off;
	return (n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ref		*ref;
	struct relay_frame	 f;
	struct evbuffer		*in;
	struct run		 r;
	struct fz		 fz;
	enum relay_read_result	 rc = RELAY_READ_WAIT;
	uint16_t		 chunk[CHUNKS_MAX];
	const uint8_t		*stream;
	size_t			 nchunks, i, len, fed = 0, n, room, end, used;
	enum relay_decode_result tail;

	fz_init(&fz, data, size);
	memset(&r, 0, sizeof(r));
	r.stop = fz_u8(&fz);
	if (r.stop == NEVER)
		r.stop = SIZE_MAX;
	r.now = (uint64_t)fz_u8(&fz) << CLOCK_SHIFT;
	nchunks = fz_u8(&fz) % (CHUNKS_MAX + 1);
	for (i = 0; i < nchunks; i++)
		chunk[i] = fz_u16(&fz);
	stream = fz_take(&fz, fz.left, &len);
	/* No frame is shorter than its header. */
	if ((ref = calloc(len / RELAY_HDR_LEN + 1, sizeof(*ref))) == NULL)
		abort();
	r.stream = stream;
	r.ref = ref;
	r.nref = reference(stream, len, ref, &end);
	cur = &r;

	if ((in = evbuffer_new()) == NULL)
		abort();
	for (i = 0; fed < len; i++) {
		n = nchunks > 0 ? chunk[i % nchunks] : 0;
		if (n == 0 || n > len - fed)
			n = len - fed;
		/* The bufferevent reads no further than its mark. */
		FZ_CHECK(evbuffer_get_length(in) < WATERMARK);
		room = WATERMARK - evbuffer_get_length(in);
		if (n > room)
			n = room;
		/* Pieces of both kinds, so pullups cross them. */
		if (i % 2 == 0)
			FZ_CHECK(evbuffer_add(in, stream + fed, n) == 0);
		else
			FZ_CHECK(evbuffer_add_reference(in, stream + fed, n,
			    NULL, NULL) == 0);
		fed += n;
		rc = relay_read(in, frame_cb, &r);
		if (rc != RELAY_READ_WAIT)
			break;
		FZ_CHECK(evbuffer_get_length(in) < RELAY_FRAME_MAX);
		FZ_CHECK(evbuffer_get_length(in) == fed - (r.seen == 0 ? 0 :
		    ref[r.seen - 1].off + ref[r.seen - 1].used));
	}
	if (r.stopped) {
		FZ_CHECK(rc == RELAY_READ_STOPPED && r.seen == r.stop + 1);
		goto done;
	}
	FZ_CHECK(rc != RELAY_READ_STOPPED && rc != RELAY_READ_NO_MEMORY);
	/* The codec refuses from the header: no payload is waited for. */
	FZ_CHECK(rc != RELAY_READ_BAD_FRAME);
	/* Every frame the whole stream holds, then the same end. */
	FZ_CHECK(r.seen == r.nref);
	tail = relay_decode(stream + end, len - end, &f, &used);
	if (rc == RELAY_READ_WAIT) {
		FZ_CHECK(fed == len && tail == RELAY_NEED_MORE);
		FZ_CHECK(evbuffer_get_length(in) == len - end);
	} else
		FZ_CHECK(tail == RELAY_BAD);
done:
	evbuffer_free(in);
	free(ref);
	return (0);
}
