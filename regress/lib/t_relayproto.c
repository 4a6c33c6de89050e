/*
 * The relay protocol's frames (doc/relay.md): the bytes on the wire
 * written out by hand, every type's payload rule, and a decoder that
 * refuses a broken stream from the header alone.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "relayproto.h"

static uint8_t	 key[32];
static uint8_t	 buf[5 + 32 + 65536 + 64];

static void
setup(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = 0xa0 + i;
}

ATF_TC_WITHOUT_HEAD(wire_bytes);
ATF_TC_BODY(wire_bytes, tc)
{
	/* SEND to key of the 3 bytes "abc": 03, be32 35, key, "abc". */
	uint8_t		 want[5 + 32 + 3] = { 0x03, 0, 0, 0, 35 };
	/* KEEPALIVE: 05 00 00 00 00. */
	const uint8_t	 ka[5] = { 0x05, 0, 0, 0, 0 };
	/* RESTARTING, 1000 ms then 60000 ms. */
	const uint8_t	 rs_data[8] = { 0, 0, 0x03, 0xe8, 0, 0, 0xea, 0x60 };
	const uint8_t	 rs[13] = { 0x08, 0, 0, 0, 8,
			    0, 0, 0x03, 0xe8, 0, 0, 0xea, 0x60 };
	struct relay_frame f;
	size_t		 n, used;

	setup();
	memcpy(want + 5, key, 32);
	memcpy(want + 37, "abc", 3);
	n = relay_frame_encode(buf, sizeof(buf), RELAY_SEND, key, "abc", 3);
	ATF_REQUIRE_EQ(n, sizeof(want));
	ATF_REQUIRE(memcmp(buf, want, sizeof(want)) == 0);
	ATF_REQUIRE_EQ(relay_decode(buf, n, &f, &used), RELAY_FRAME);
	ATF_REQUIRE_EQ(used, n);
	ATF_REQUIRE_EQ(f.type, RELAY_SEND);
	ATF_REQUIRE(memcmp(f.key, key, 32) == 0);
	ATF_REQUIRE_EQ(f.len, 3);
	ATF_REQUIRE(memcmp(f.data, "abc", 3) == 0);

	n = relay_frame_encode(buf, sizeof(buf), RELAY_KEEPALIVE, NULL,
	    NULL, 0);
	ATF_REQUIRE_EQ(n, sizeof(ka));
	ATF_REQUIRE(memcmp(buf, ka, sizeof(ka)) == 0);

	n = relay_frame_encode(buf, sizeof(buf), RELAY_RESTARTING, NULL,
	    rs_data, sizeof(rs_data));
	ATF_REQUIRE_EQ(n, sizeof(rs));
	ATF_REQUIRE(memcmp(buf, rs, sizeof(rs)) == 0);
	ATF_REQUIRE_EQ(relay_decode(rs, sizeof(rs), &f, &used), RELAY_FRAME);
	ATF_REQUIRE_EQ(f.reconnect_ms, 1000);
	ATF_REQUIRE_EQ(f.try_ms, 60000);
}

ATF_TC_WITHOUT_HEAD(payload_rules);
ATF_TC_BODY(payload_rules, tc)
{
	static uint8_t	 big[65537];

	setup();
	/* A packet is 1 to 65536 bytes. */
	ATF_REQUIRE(relay_frame_encode(buf, sizeof(buf), RELAY_SEND, key,
	    big, 65536) == 5 + 32 + 65536);
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), RELAY_SEND, key,
	    big, 65537), 0);
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), RELAY_SEND, key,
	    NULL, 0), 0);
	/* A key where the type has one. */
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), RELAY_RECV, NULL,
	    "x", 1), 0);
	/* AUTH: 1 to 8192 bytes of token. */
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), RELAY_AUTH, NULL,
	    NULL, 0), 0);
	ATF_REQUIRE(relay_frame_encode(buf, sizeof(buf), RELAY_AUTH, NULL,
	    big, 8192) == 5 + 8192);
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), RELAY_AUTH, NULL,
	    big, 8193), 0);
	/* PEER_GONE: key and one reason byte. */
	ATF_REQUIRE(relay_frame_encode(buf, sizeof(buf), RELAY_PEER_GONE, key,
	    "\1", 1) == 5 + 32 + 1);
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), RELAY_PEER_GONE,
	    key, "\1\1", 2), 0);
	/* KEEPALIVE carries nothing; ERROR at most 256 bytes. */
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), RELAY_KEEPALIVE,
	    NULL, "x", 1), 0);
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), RELAY_ERROR,
	    NULL, big, 257), 0);
	/* An unknown type, and a buffer too small. */
	ATF_REQUIRE_EQ(relay_frame_encode(buf, sizeof(buf), 0x7f, NULL,
	    NULL, 0), 0);
	ATF_REQUIRE_EQ(relay_frame_encode(buf, 5 + 32, RELAY_SEND, key,
	    "x", 1), 0);
}

ATF_TC_WITHOUT_HEAD(decode_stream);
ATF_TC_BODY(decode_stream, tc)
{
	struct relay_frame	 f;
	size_t			 n1, n2, used, i;

	setup();
	n1 = relay_frame_encode(buf, sizeof(buf), RELAY_PEER_PRESENT, key,
	    NULL, 0);
	n2 = relay_frame_encode(buf + n1, sizeof(buf) - n1, RELAY_PEER_GONE,
	    key, "\0", 1);
	ATF_REQUIRE(n1 == 37 && n2 == 38);
	/* Byte by byte: nothing until the first frame is whole. */
	for (i = 0; i < n1; i++)
		ATF_REQUIRE_EQ(relay_decode(buf, i, &f, &used),
		    RELAY_NEED_MORE);
	ATF_REQUIRE_EQ(relay_decode(buf, n1 + n2, &f, &used), RELAY_FRAME);
	ATF_REQUIRE_EQ(f.type, RELAY_PEER_PRESENT);
	ATF_REQUIRE_EQ(used, 37);
	ATF_REQUIRE_EQ(relay_decode(buf + used, n1 + n2 - used, &f, &used),
	    RELAY_FRAME);
	ATF_REQUIRE_EQ(f.type, RELAY_PEER_GONE);
	ATF_REQUIRE_EQ(f.reason, RELAY_GONE_DISCONNECTED);
}

ATF_TC_WITHOUT_HEAD(decode_refuses);
ATF_TC_BODY(decode_refuses, tc)
{
	struct relay_frame	 f;
	size_t			 used;
	/* Unknown type 0x00 and 0x0a. */
	const uint8_t		 t0[5] = { 0x00, 0, 0, 0, 0 };
	const uint8_t		 ta[5] = { 0x0a, 0, 0, 0, 0 };
	/* SEND promising 32 + 65537 bytes: refused from the header. */
	const uint8_t		 huge[5] = { 0x03, 0, 1, 0, 33 };
	/* SEND shorter than its key. */
	const uint8_t		 nokey[5] = { 0x03, 0, 0, 0, 31 };
	/* SEND with a key and no packet. */
	const uint8_t		 empty[5] = { 0x03, 0, 0, 0, 32 };
	/* KEEPALIVE with a payload; AUTH of 8193 bytes. */
	const uint8_t		 kalen[5] = { 0x05, 0, 0, 0, 1 };
	const uint8_t		 authbig[5] = { 0x01, 0, 0, 0x20, 0x01 };
	/* A length of 2^32 - 1. */
	const uint8_t		 max[5] = { 0x04, 0xff, 0xff, 0xff, 0xff };

	ATF_REQUIRE_EQ(relay_decode(t0, 5, &f, &used), RELAY_BAD);
	ATF_REQUIRE_EQ(relay_decode(ta, 5, &f, &used), RELAY_BAD);
	ATF_REQUIRE_EQ(relay_decode(huge, 5, &f, &used), RELAY_BAD);
	ATF_REQUIRE_EQ(relay_decode(nokey, 5, &f, &used), RELAY_BAD);
	ATF_REQUIRE_EQ(relay_decode(empty, 5, &f, &used), RELAY_BAD);
	ATF_REQUIRE_EQ(relay_decode(kalen, 5, &f, &used), RELAY_BAD);
	ATF_REQUIRE_EQ(relay_decode(authbig, 5, &f, &used), RELAY_BAD);
	ATF_REQUIRE_EQ(relay_decode(max, 5, &f, &used), RELAY_BAD);
	ATF_REQUIRE_STREQ(relay_frame_name(RELAY_RECV), "recv");
	ATF_REQUIRE_STREQ(relay_frame_name(0x7f), "unknown");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, wire_bytes);
	ATF_TP_ADD_TC(tp, payload_rules);
	ATF_TP_ADD_TC(tp, decode_stream);
	ATF_TP_ADD_TC(tp, decode_refuses);
	return (atf_no_error());
}
