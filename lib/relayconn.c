/*
 * The reading side of a relay connection, shared by cbrelayd and
 * cbedged's relay worker (lib/relayconn.h).
 */

#include <sys/types.h>

#include <event2/buffer.h>

#include "relayconn.h"

/* The be32 payload length of a header, at its place after the type. */
#define HDR_OFF_LEN	1

enum relay_read_result
relay_read(struct evbuffer *in, relay_frame_fn *fn, void *arg)
{
	struct relay_frame	 f;
	uint8_t			 hdr[RELAY_HDR_LEN];
	const uint8_t		*p;
	size_t			 avail, need, used;

	while ((avail = evbuffer_get_length(in)) >= RELAY_HDR_LEN) {
		/* The header alone says whether to wait for the rest. */
		if (evbuffer_copyout(in, hdr, sizeof(hdr)) !=
		    (ev_ssize_t)sizeof(hdr) ||
		    relay_decode(hdr, sizeof(hdr), &f, &used) == RELAY_BAD)
			return (RELAY_READ_BAD_HEADER);
		need = RELAY_HDR_LEN + ((size_t)hdr[HDR_OFF_LEN] << 24 |
		    (size_t)hdr[HDR_OFF_LEN + 1] << 16 |
		    (size_t)hdr[HDR_OFF_LEN + 2] << 8 | hdr[HDR_OFF_LEN + 3]);
		if (avail < need)
			return (RELAY_READ_WAIT);
		if ((p = evbuffer_pullup(in, (ev_ssize_t)need)) == NULL)
			return (RELAY_READ_NO_MEMORY);
		if (relay_decode(p, need, &f, &used) != RELAY_FRAME ||
		    used != need)
			return (RELAY_READ_BAD_FRAME);
		if (fn(arg, &f) == -1)
			return (RELAY_READ_STOPPED);
		evbuffer_drain(in, used);
	}
	return (RELAY_READ_WAIT);
}

void
relay_error_text(const struct relay_frame *f, char *buf, size_t size)
{
	size_t	 i, n = 0;

	for (i = 0; i < f->len && n + 1 < size; i++)
		buf[n++] = f->data[i] >= 0x20 && f->data[i] < 0x7f ?
		    f->data[i] : '?';
	buf[n] = '\0';
}

void
relay_restart_window(uint64_t now, uint32_t reconnect_ms, uint32_t try_ms,
    uint32_t (*uniform)(uint32_t), uint64_t *at, uint64_t *until)
{
	uint32_t	 wait, span;

	wait = reconnect_ms > RELAY_RESTART_WAIT_MAX ?
	    RELAY_RESTART_WAIT_MAX : reconnect_ms;
	span = try_ms > RELAY_RESTART_TRY_MAX ? RELAY_RESTART_TRY_MAX :
	    try_ms;
	*at = now + wait;
	/* Of the wait we keep, not of the one asked: a relay sets no more. */
	if (wait > 0)
		*at += uniform(wait / RELAY_RESTART_JITTER + 1);
	*until = *at + span + RELAY_RESTART_RETRY_MS;
}
