/*
 * The relay protocol spoken over TLS 1.3 between cbrelayd and cbedged's
 * relay (doc/relay.md): frames of one type byte and a 4-byte big-endian
 * payload length.  Pure logic: encoding into caller buffers and an
 * incremental decoder that refuses a malformed stream before it buffers
 * more than one frame.
 *
 * How a side drives it:
 *
 *	relay_frame_encode(buf, cap, type, key, data, len) builds a frame
 *	    (key NULL for the types without one; PEER_GONE's data is its
 *	    reason byte, RESTARTING's its 8 bytes);
 *	as bytes arrive, relay_decode() on what is buffered says
 *	    RELAY_NEED_MORE, RELAY_BAD (close that connection), or gives a
 *	    frame whose fields point into the buffer and the bytes it used.
 */
#ifndef CBP2P_RELAYPROTO_H
#define CBP2P_RELAYPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "wgkey.h"

#define RELAY_HDR_LEN		5		/* type + be32 length */
#define RELAY_PACKET_MAX	(64 * 1024)	/* one WireGuard packet */
#define RELAY_AUTH_MAX		(8 * 1024)	/* a registry token */
#define RELAY_ERROR_MAX		256		/* text of an ERROR frame */
#define RELAY_REASON_LEN	1		/* PEER_GONE's reason byte */
/* The largest payload of any frame: a key and a packet. */
#define RELAY_PAYLOAD_MAX	(WG_KEY_LEN + RELAY_PACKET_MAX)
#define RELAY_FRAME_MAX		(RELAY_HDR_LEN + RELAY_PAYLOAD_MAX)
#define RELAY_KEEPALIVE_SECS	60	/* the relay's keepalive interval */

/* Frame types; lib/relayproto.c holds each one's payload rule. */
enum relay_frame_type {
	RELAY_AUTH = 0x01,		/* c->r: registry token (JWT text) */
	RELAY_AUTH_OK = 0x02,		/* r->c: the key the connection has */
	RELAY_SEND = 0x03,		/* c->r: destination key + packet */
	RELAY_RECV = 0x04,		/* r->c: source key + packet */
	RELAY_KEEPALIVE = 0x05,		/* both: empty */
	RELAY_PEER_GONE = 0x06,		/* r->c: key + reason byte */
	RELAY_PEER_PRESENT = 0x07,	/* r->c: key */
	RELAY_RESTARTING = 0x08,	/* r->c: be32 reconnect-in ms,
					   be32 try-for ms */
	RELAY_ERROR = 0x09		/* r->c: text, then the relay closes */
};

/* PEER_GONE reasons. */
#define RELAY_GONE_DISCONNECTED	0	/* was here, left */
#define RELAY_GONE_NOT_HERE	1	/* a SEND to a key not connected */

#define RELAY_RESTARTING_LEN	8

enum relay_decode_result {
	RELAY_NEED_MORE = 0,
	RELAY_FRAME = 1,
	RELAY_BAD = -1
};

struct relay_frame {
	enum relay_frame_type	 type;
	const uint8_t		*key;		/* SEND, RECV, AUTH_OK,
						   PEER_GONE, PEER_PRESENT */
	const uint8_t		*data;		/* after the key, if any */
	size_t			 len;		/* of data */
	uint8_t			 reason;	/* PEER_GONE */
	uint32_t		 reconnect_ms;	/* RESTARTING */
	uint32_t		 try_ms;	/* RESTARTING */
};

const char	*relay_frame_name(int);

/*
 * Bytes a frame of this type with this much data takes, or 0 when the
 * protocol does not allow it.
 */
size_t	 relay_frame_size(enum relay_frame_type, size_t);

/*
 * Encode a frame into buf (cap bytes).  key is the frame's key where
 * its type has one.  Returns the frame's length, or 0 if it would be
 * malformed or does not fit.
 */
size_t	 relay_frame_encode(uint8_t *, size_t, enum relay_frame_type,
	    const uint8_t *, const void *, size_t);

/*
 * Decode the first frame of buf[0, len).  RELAY_FRAME: *f describes
 * it and *used says how many bytes it took; RELAY_NEED_MORE: nothing
 * complete yet (a header already promising a frame that is too big or
 * of an unknown type is RELAY_BAD at once); RELAY_BAD: the stream is
 * broken and the connection must close.
 */
enum relay_decode_result relay_decode(const uint8_t *, size_t,
	    struct relay_frame *, size_t *);

#endif /* CBP2P_RELAYPROTO_H */
