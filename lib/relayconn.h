/*
 * What both ends of a relay connection do with the bytes they read,
 * apart from the socket and TLS: take the frames off the front of a
 * libevent input buffer (cbrelayd/conn.c, cbedged/relay.c), the
 * printable text of an ERROR frame, and the reconnect window a
 * RESTARTING frame asks of the client.  Nothing here needs an event
 * base, so regress/fuzz/fuzz_relayconn drives it with plain evbuffers.
 *
 * How a side drives it: from its read callback, relay_read(input, fn,
 * arg); fn gets each complete frame (pointing into the buffer) and
 * returns 0 to go on, or -1 when it closed the connection, after which
 * relay_read() touches nothing.
 */
#ifndef CBP2P_RELAYCONN_H
#define CBP2P_RELAYCONN_H

#include <stddef.h>
#include <stdint.h>

#include "relayproto.h"

struct evbuffer;

/* How the client takes RESTARTING: bounds on what a relay may ask. */
#define RELAY_RESTART_WAIT_MAX	30000	/* ms: RESTARTING's first interval */
#define RELAY_RESTART_TRY_MAX	300000	/* ms: RESTARTING's second */
#define RELAY_RESTART_RETRY_MS	1000	/* between tries within it */
/* The jitter added to the first interval: up to 1/RELAY_RESTART_JITTER. */
#define RELAY_RESTART_JITTER	4

enum relay_read_result {
	RELAY_READ_WAIT,	/* every complete frame taken */
	RELAY_READ_STOPPED,	/* fn returned -1: the buffer is not touched */
	RELAY_READ_BAD_HEADER,	/* a header the codec refuses: close */
	RELAY_READ_BAD_FRAME,	/* a whole frame it refuses: close */
	RELAY_READ_NO_MEMORY	/* a frame could not be made contiguous */
};

typedef int	relay_frame_fn(void *arg, const struct relay_frame *);

/*
 * Every complete frame at the front of in, each checked from its header
 * first (a refused header ends the stream before its payload is waited
 * for), handed to fn and drained once fn returned 0.  On RELAY_READ_WAIT
 * fewer than RELAY_FRAME_MAX bytes are left: a read high-water mark of
 * one largest frame never stalls the stream.
 */
enum relay_read_result	relay_read(struct evbuffer *, relay_frame_fn *,
			    void *);

/*
 * An ERROR frame's text for a log line, in size bytes (size > 0):
 * printable ASCII kept, any other byte '?', cut to fit, NUL-terminated.
 */
void	relay_error_text(const struct relay_frame *, char *, size_t);

/*
 * A RESTARTING frame received at now (ms): try again from *at, the wait
 * it names (at most RELAY_RESTART_WAIT_MAX) plus a jitter of at most a
 * quarter of that wait, drawn by uniform(n) (a value below n), and
 * until *until, the period it names (at most RELAY_RESTART_TRY_MAX) and
 * one RELAY_RESTART_RETRY_MS later.
 */
void	relay_restart_window(uint64_t now, uint32_t reconnect_ms,
	    uint32_t try_ms, uint32_t (*uniform)(uint32_t), uint64_t *at,
	    uint64_t *until);

#endif /* CBP2P_RELAYCONN_H */
