/*
 * The relay protocol's frames (doc/relay.md): encoding and decoding,
 * with every type's payload rule in one table.
 */

#include <sys/types.h>

#include <string.h>

#include "relayproto.h"

/* What a type's payload holds: a key or not, and how much data. */
struct frame_rule {
	int		 type;
	const char	*name;
	int		 has_key;
	size_t		 min;		/* bytes of data after the key */
	size_t		 max;
};

static const struct frame_rule rules[] = {
	{ RELAY_AUTH,		"auth",		0, 1, RELAY_AUTH_MAX },
	{ RELAY_AUTH_OK,	"auth-ok",	1, 0, 0 },
	{ RELAY_SEND,		"send",		1, 1, RELAY_PACKET_MAX },
	{ RELAY_RECV,		"recv",		1, 1, RELAY_PACKET_MAX },
	{ RELAY_KEEPALIVE,	"keepalive",	0, 0, 0 },
	{ RELAY_PEER_GONE,	"peer-gone",	1, RELAY_REASON_LEN,
	    RELAY_REASON_LEN },
	{ RELAY_PEER_PRESENT,	"peer-present",	1, 0, 0 },
	{ RELAY_RESTARTING,	"restarting",	0, RELAY_RESTARTING_LEN,
	    RELAY_RESTARTING_LEN },
	{ RELAY_ERROR,		"error",	0, 0, RELAY_ERROR_MAX },
};

static const struct frame_rule *
rule_of(int type)
{
	size_t	 i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			return (&rules[i]);
	return (NULL);
}

const char *
relay_frame_name(int type)
{
	const struct frame_rule	*r;

	return ((r = rule_of(type)) == NULL ? "unknown" : r->name);
}

static uint32_t
be32_get(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

size_t
relay_frame_size(enum relay_frame_type type, size_t len)
{
	const struct frame_rule	*r;

	if ((r = rule_of(type)) == NULL || len < r->min || len > r->max)
		return (0);
	return (RELAY_HDR_LEN + (r->has_key ? WG_KEY_LEN : 0) + len);
}

size_t
relay_frame_encode(uint8_t *buf, size_t cap, enum relay_frame_type type,
    const uint8_t *key, const void *data, size_t len)
{
	const struct frame_rule	*r = rule_of(type);
	size_t			 size = relay_frame_size(type, len), off;

	if (size == 0 || size > cap || (r->has_key && key == NULL) ||
	    (len > 0 && data == NULL))
		return (0);
	buf[0] = type;
	be32_put(buf + 1, size - RELAY_HDR_LEN);
	off = RELAY_HDR_LEN;
	if (r->has_key) {
		memcpy(buf + off, key, WG_KEY_LEN);
		off += WG_KEY_LEN;
	}
	if (len > 0)
		memcpy(buf + off, data, len);
	return (size);
}

enum relay_decode_result
relay_decode(const uint8_t *buf, size_t len, struct relay_frame *f,
    size_t *used)
{
	const struct frame_rule	*r;
	uint32_t		 plen;
	size_t			 klen, dlen;

	if (len < RELAY_HDR_LEN)
		return (RELAY_NEED_MORE);
	/* Refuse from the header alone: never wait for a bad frame. */
	if ((r = rule_of(buf[0])) == NULL)
		return (RELAY_BAD);
	plen = be32_get(buf + 1);
	klen = r->has_key ? WG_KEY_LEN : 0;
	if (plen < klen)
		return (RELAY_BAD);
	dlen = plen - klen;
	if (dlen < r->min || dlen > r->max)
		return (RELAY_BAD);
	if (len < RELAY_HDR_LEN + (size_t)plen)
		return (RELAY_NEED_MORE);

	memset(f, 0, sizeof(*f));
	f->type = r->type;
	f->key = klen > 0 ? buf + RELAY_HDR_LEN : NULL;
	f->data = buf + RELAY_HDR_LEN + klen;
	f->len = dlen;
	if (f->type == RELAY_PEER_GONE)
		f->reason = f->data[0];
	if (f->type == RELAY_RESTARTING) {
		f->reconnect_ms = be32_get(f->data);
		f->try_ms = be32_get(f->data + sizeof(uint32_t));
	}
	*used = RELAY_HDR_LEN + plen;
	return (RELAY_FRAME);
}
