/*
 * Segmentation offload (lib/offload.c) against an independent model: a
 * byte-at-a-time RFC 1071 checksum and the rules of TCP segmentation
 * written out here.  Super-packets over IPv4 and IPv6 are split and
 * every segment's headers, checksums and payload are checked; partial
 * checksums are completed; malformed super-packets are refused.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "offload.h"

#define PAYLOAD		5000
#define MSS		1448
#define TCP_OPTS	12	/* e.g. timestamps: doff 8 */
#define SEG_MAX		2048

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif

/* RFC 1071, the slow way: big-endian 16-bit words, one at a time. */
static uint16_t
naive_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)sum);
}

/* 1 when the TCP checksum of segment s (l4 at off) verifies. */
static int
tcp_ok(const uint8_t *s, size_t len, size_t l4, int v4)
{
	uint32_t	 sum = 6 + (uint32_t)(len - l4);

	if (v4)
		sum += naive_sum(s + 12, 8, 0);
	else
		sum += naive_sum(s + 8, 32, 0);
	return (naive_sum(s + l4, len - l4, sum) == 0xffff);
}

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/* A TCP super-packet: headers, options, PAYLOAD random bytes. */
static size_t
super_packet(uint8_t *pkt, int v4, uint8_t flags)
{
	size_t	 l4 = v4 ? 20 : 40, i, len;

	memset(pkt, 0, l4 + 20 + TCP_OPTS);
	if (v4) {
		pkt[0] = 0x45;
		pkt[4] = 0x12;		/* ID 0x1234 */
		pkt[5] = 0x34;
		pkt[8] = 64;
		pkt[9] = 6;
		memcpy(pkt + 12, "\x0a\x63\x00\x01\x0a\x63\x00\x02", 8);
	} else {
		pkt[0] = 0x60;
		pkt[6] = 6;
		pkt[7] = 64;
		pkt[8] = 0xfd;
		pkt[23] = 1;
		pkt[24] = 0xfd;
		pkt[39] = 2;
	}
	pkt[l4 + 1] = 80;
	pkt[l4 + 3] = 81;
	memcpy(pkt + l4 + 4, "\xff\xff\xf0\x00", 4);	/* wraps past 2^32 */
	pkt[l4 + 12] = (20 + TCP_OPTS) / 4 << 4;
	pkt[l4 + 13] = flags;
	pkt[l4 + 20] = 1;	/* NOPs, then a timestamp option */
	pkt[l4 + 21] = 1;
	pkt[l4 + 22] = 8;
	pkt[l4 + 23] = 10;
	len = l4 + 20 + TCP_OPTS;
	for (i = 0; i < PAYLOAD; i++)
		pkt[len + i] = (uint8_t)random();
	return (len + PAYLOAD);
}

static void
check_split(int v4)
{
	static uint8_t		 pkt[OFFLOAD_SUPER_MAX], seg[SEG_MAX];
	static uint8_t		 joined[PAYLOAD];
	struct vnet_hdr		 h;
	size_t			 len, l4 = v4 ? 20 : 40, hl, sl, got = 0;
	int			 n, i;
	uint8_t			 fl;

	len = super_packet(pkt, v4, 0x80 | 0x10 | 0x08 | 0x01);
	hl = l4 + 20 + TCP_OPTS;
	memset(&h, 0, sizeof(h));
	h.flags = VNET_F_NEEDS_CSUM;
	h.gso_type = v4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
	h.gso_size = MSS;
	h.csum_start = l4;
	h.csum_offset = 16;
	n = tso_count(&h, pkt, len);
	ATF_REQUIRE_EQ(n, (PAYLOAD + MSS - 1) / MSS);
	for (i = 0; i < n; i++) {
		sl = tso_segment(&h, pkt, len, i, seg, sizeof(seg));
		ATF_REQUIRE(sl > hl);
		ATF_CHECK_EQ(sl - hl, i < n - 1 ? MSS : PAYLOAD - MSS * (n - 1));
		if (v4) {
			ATF_CHECK_EQ((size_t)(seg[2] << 8 | seg[3]), sl);
			ATF_CHECK_EQ(seg[4] << 8 | seg[5], 0x1234 + i);
			ATF_CHECK_EQ(naive_sum(seg, 20, 0), 0xffff);
		} else
			ATF_CHECK_EQ((size_t)(seg[4] << 8 | seg[5]), sl - 40);
		ATF_CHECK_EQ(be32(seg + l4 + 4),
		    (uint32_t)(0xfffff000u + (uint32_t)(i * MSS)));
		fl = seg[l4 + 13];
		ATF_CHECK_EQ((fl & 0x80) != 0, i == 0);		/* CWR */
		ATF_CHECK_EQ((fl & 0x09) == 0x09, i == n - 1);	/* FIN PSH */
		ATF_CHECK((fl & 0x10) != 0);			/* ACK */
		ATF_CHECK_MSG(tcp_ok(seg, sl, l4, v4), "segment %d", i);
		/* Options and ports are the super-packet's. */
		ATF_CHECK(memcmp(seg + l4 + 20, pkt + l4 + 20, TCP_OPTS) == 0);
		ATF_CHECK(memcmp(seg + l4, pkt + l4, 4) == 0);
		memcpy(joined + got, seg + hl, sl - hl);
		got += sl - hl;
	}
	ATF_CHECK_EQ(got, PAYLOAD);
	ATF_CHECK(memcmp(joined, pkt + hl, PAYLOAD) == 0);
	ATF_CHECK_EQ(tso_segment(&h, pkt, len, n, seg, sizeof(seg)), 0);
	ATF_CHECK_EQ(tso_segment(&h, pkt, len, 0, seg, MSS), 0);
}

ATF_TC_WITHOUT_HEAD(split_v4);
ATF_TC_BODY(split_v4, tc)
{
	check_split(1);
}

ATF_TC_WITHOUT_HEAD(split_v6);
ATF_TC_BODY(split_v6, tc)
{
	check_split(0);
}

#define UDP_SEG		1200	/* gso_size of the UDP super-packet */

/* 1 when the UDP checksum of datagram d (l4 at off) verifies. */
static int
udp_ok(const uint8_t *d, size_t len, size_t l4, int v4)
{
	uint32_t	 sum = 17 + (uint32_t)(len - l4);

	if (d[l4 + 6] == 0 && d[l4 + 7] == 0)
		return (0);		/* we always fill it in */
	if (v4)
		sum += naive_sum(d + 12, 8, 0);
	else
		sum += naive_sum(d + 8, 32, 0);
	return (naive_sum(d + l4, len - l4, sum) == 0xffff);
}

/*
 * A UDP super-packet (USO, gso_type UDP_L4) as a UDP_SEGMENT sender's
 * kernel hands it: cut into datagrams of UDP_SEG bytes, the last
 * shorter, each with its IP length (and next IPv4 ID), UDP length and
 * checksum, the payload in order.
 */
static void
check_udp_split(int v4)
{
	static uint8_t		 pkt[OFFLOAD_SUPER_MAX], seg[SEG_MAX];
	static uint8_t		 joined[PAYLOAD];
	struct vnet_hdr		 h;
	size_t			 l4 = v4 ? 20 : 40, hl = l4 + 8, len, sl;
	size_t			 got = 0, i;
	int			 n, k;

	memset(pkt, 0, hl);
	if (v4) {
		pkt[0] = 0x45;
		pkt[4] = 0xff;		/* ID 0xfffe: wraps */
		pkt[5] = 0xfe;
		pkt[8] = 64;
		pkt[9] = 17;
		memcpy(pkt + 12, "\x0a\x63\x00\x01\x0a\x63\x00\x02", 8);
	} else {
		pkt[0] = 0x60;
		pkt[6] = 17;
		pkt[7] = 64;
		pkt[8] = 0xfd;
		pkt[23] = 1;
		pkt[24] = 0xfd;
		pkt[39] = 2;
	}
	pkt[l4 + 1] = 53;
	pkt[l4 + 3] = 54;
	for (i = 0; i < PAYLOAD; i++)
		pkt[hl + i] = (uint8_t)random();
	len = hl + PAYLOAD;
	memset(&h, 0, sizeof(h));
	h.flags = VNET_F_NEEDS_CSUM;
	h.gso_type = VNET_GSO_UDP_L4;
	h.gso_size = UDP_SEG;
	h.csum_start = l4;
	h.csum_offset = 6;
	n = tso_count(&h, pkt, len);
	ATF_REQUIRE_EQ(n, (PAYLOAD + UDP_SEG - 1) / UDP_SEG);
	for (k = 0; k < n; k++) {
		sl = tso_segment(&h, pkt, len, k, seg, sizeof(seg));
		ATF_REQUIRE(sl > hl);
		ATF_CHECK_EQ(sl - hl, k < n - 1 ? UDP_SEG :
		    PAYLOAD - UDP_SEG * (n - 1));
		if (v4) {
			ATF_CHECK_EQ((size_t)(seg[2] << 8 | seg[3]), sl);
			ATF_CHECK_EQ(seg[4] << 8 | seg[5], (0xfffe + k) & 0xffff);
			ATF_CHECK_EQ(naive_sum(seg, 20, 0), 0xffff);
		} else
			ATF_CHECK_EQ((size_t)(seg[4] << 8 | seg[5]), sl - 40);
		ATF_CHECK_EQ((size_t)(seg[l4 + 4] << 8 | seg[l4 + 5]), sl - l4);
		ATF_CHECK(memcmp(seg + l4, pkt + l4, 4) == 0);	/* ports */
		ATF_CHECK_MSG(udp_ok(seg, sl, l4, v4), "datagram %d", k);
		memcpy(joined + got, seg + hl, sl - hl);
		got += sl - hl;
	}
	ATF_CHECK_EQ(got, PAYLOAD);
	ATF_CHECK(memcmp(joined, pkt + hl, PAYLOAD) == 0);
	/* A TCP packet called UDP, and the other way: refused. */
	pkt[v4 ? 9 : 6] = 6;
	ATF_CHECK_EQ(tso_count(&h, pkt, len), -1);
	h.gso_type = v4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
	pkt[v4 ? 9 : 6] = 17;
	ATF_CHECK_EQ(tso_count(&h, pkt, len), -1);
	/* Shorter than its UDP header. */
	h.gso_type = VNET_GSO_UDP_L4;
	ATF_CHECK_EQ(tso_count(&h, pkt, hl - 1), -1);
}

ATF_TC_WITHOUT_HEAD(udp_split_v4);
ATF_TC_BODY(udp_split_v4, tc)
{
	check_udp_split(1);
}

ATF_TC_WITHOUT_HEAD(udp_split_v6);
ATF_TC_BODY(udp_split_v6, tc)
{
	check_udp_split(0);
}

ATF_TC_WITHOUT_HEAD(bad_super_packets);
ATF_TC_BODY(bad_super_packets, tc)
{
	static uint8_t		 pkt[OFFLOAD_SUPER_MAX];
	struct vnet_hdr		 h;
	size_t			 len;

	len = super_packet(pkt, 1, 0x10);
	memset(&h, 0, sizeof(h));
	h.gso_type = VNET_GSO_TCPV4;
	h.gso_size = MSS;
	ATF_CHECK_EQ(tso_count(&h, pkt, len), 4);
	h.gso_size = 0;
	ATF_CHECK_EQ(tso_count(&h, pkt, len), -1);
	h.gso_size = MSS;
	h.gso_type = VNET_GSO_UDP;
	ATF_CHECK_EQ(tso_count(&h, pkt, len), -1);
	h.gso_type = VNET_GSO_TCPV6;		/* an IPv4 packet */
	ATF_CHECK_EQ(tso_count(&h, pkt, len), -1);
	h.gso_type = VNET_GSO_TCPV4 | VNET_GSO_ECN;
	ATF_CHECK_EQ(tso_count(&h, pkt, len), 4);
	ATF_CHECK_EQ(tso_count(&h, pkt, 30), -1);	/* cut in TCP */
	pkt[20 + 12] = 4 << 4;				/* doff 4 */
	ATF_CHECK_EQ(tso_count(&h, pkt, len), -1);
	pkt[20 + 12] = 15 << 4;				/* 60 > 52 */
	ATF_CHECK_EQ(tso_count(&h, pkt, 60), -1);
	pkt[20 + 12] = 8 << 4;
	pkt[9] = 17;					/* UDP */
	ATF_CHECK_EQ(tso_count(&h, pkt, len), -1);
	pkt[9] = 6;
	pkt[0] = 0x44;					/* IHL 4 */
	ATF_CHECK_EQ(tso_count(&h, pkt, len), -1);
	/* Headers only: one segment, no payload. */
	pkt[0] = 0x45;
	ATF_CHECK_EQ(tso_count(&h, pkt, 52), 1);
}

/* A UDP packet whose checksum the kernel left partial. */
ATF_TC_WITHOUT_HEAD(complete_csum);
ATF_TC_BODY(complete_csum, tc)
{
	uint8_t			 pkt[20 + 8 + 101];
	struct vnet_hdr		 h;
	uint16_t		 pseudo;
	size_t			 i;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x45;
	pkt[9] = 17;
	memcpy(pkt + 12, "\x0a\x63\x00\x01\x0a\x63\x00\x02", 8);
	pkt[20 + 4] = 0;
	pkt[20 + 5] = 8 + 101;
	for (i = 28; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 7);
	pseudo = naive_sum(pkt + 12, 8, 17 + 8 + 101);
	pkt[26] = pseudo >> 8;
	pkt[27] = pseudo & 0xff;
	memset(&h, 0, sizeof(h));
	h.flags = VNET_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 6;
	ATF_REQUIRE_EQ(offload_csum(pkt, sizeof(pkt), &h), 0);
	ATF_CHECK_EQ(naive_sum(pkt + 20, sizeof(pkt) - 20,
	    naive_sum(pkt + 12, 8, 17 + 8 + 101)), 0xffff);
	h.csum_offset = sizeof(pkt);
	ATF_CHECK_EQ(offload_csum(pkt, sizeof(pkt), &h), -1);
	h.csum_start = sizeof(pkt);
	h.csum_offset = 0;
	ATF_CHECK_EQ(offload_csum(pkt, sizeof(pkt), &h), -1);
}

/*
 * The fast sum agrees with the slow one at every length and offset,
 * on both sides of the vector loop's 32-byte steps, and at 64 KiB of
 * 0xff (the most its lanes add); csum_copy also copies exactly.
 */
ATF_TC_WITHOUT_HEAD(csum_model);
ATF_TC_BODY(csum_model, tc)
{
	static uint8_t	 big[65535], bigcopy[sizeof(big)];
	uint8_t		 buf[300], copy[sizeof(buf) + 2];
	size_t		 len, i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)random();
	for (len = 0; len < 280; len++)
		for (i = 0; i < 8; i++) {
			ATF_CHECK_EQ(csum_partial(buf + i, len, 0x1234),
			    naive_sum(buf + i, len, 0x1234));
			memset(copy, 0xa5, sizeof(copy));
			ATF_CHECK_EQ(csum_copy(copy + 1, buf + i, len, 7),
			    naive_sum(buf + i, len, 7));
			ATF_CHECK(memcmp(copy + 1, buf + i, len) == 0);
			ATF_CHECK_EQ(copy[0], 0xa5);
			ATF_CHECK_EQ(copy[len + 1], 0xa5);
		}
	memset(big, 0xff, sizeof(big));
	ATF_CHECK_EQ(csum_partial(big, sizeof(big), 0),
	    naive_sum(big, sizeof(big), 0));
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 5);
	ATF_CHECK_EQ(csum_copy(bigcopy, big, sizeof(big), 0xfffe),
	    naive_sum(big, sizeof(big), 0xfffe));
	ATF_CHECK(memcmp(bigcopy, big, sizeof(big)) == 0);
}

ATF_TC_WITHOUT_HEAD(vnet_header);
ATF_TC_BODY(vnet_header, tc)
{
	struct vnet_hdr	 h, g;
	uint8_t		 b[VNET_HDR_LEN];

	h.flags = 1;
	h.gso_type = VNET_GSO_TCPV6;
	h.hdr_len = 74;
	h.gso_size = 1428;
	h.csum_start = 40;
	h.csum_offset = 16;
	vnet_hdr_put(b, &h);
	vnet_hdr_get(b, &g);
	ATF_CHECK(memcmp(&h, &g, sizeof(h)) == 0);
	ATF_CHECK_EQ(b[0], 1);
	ATF_CHECK_EQ(b[1], VNET_GSO_TCPV6);
}

/*
 * A burst cut into UDP_SEGMENT messages the way the engine does:
 * sizes[] of n datagrams, sp[] their super-packets; the number of
 * datagrams in each message into out[], how many messages returned.
 */
static size_t
gso_group(const size_t *sizes, const uint32_t *sp, size_t n, size_t maxbytes,
    unsigned int *out)
{
	struct gso_msg	 m;
	size_t		 i, nmsg = 0;

	for (i = 0; i < n; i++) {
		if (nmsg > 0 && gso_msg_add(&m, sizes[i], sp[i], maxbytes))
			continue;
		if (nmsg > 0)
			out[nmsg - 1] = m.nseg;
		gso_msg_start(&m, sizes[i], sp[i]);
		nmsg++;
	}
	if (nmsg > 0)
		out[nmsg - 1] = m.nseg;
	return (nmsg);
}

#define BURST_MAX	256

/*
 * Two super-packets of 47 segments (1452-byte datagrams: a 1420 MTU
 * tunnel) back to back, then packets read one by one: each super-packet
 * is its own 45 + 2 (65340 bytes is the most under 65507), never mixed
 * with the next one's or with the lone packets, which share messages
 * until a shorter one ends theirs.
 */
ATF_TC_WITHOUT_HEAD(gso_messages);
ATF_TC_BODY(gso_messages, tc)
{
	size_t		 sizes[BURST_MAX], n = 0, nmsg, i;
	uint32_t	 sp[BURST_MAX];
	unsigned int	 got[BURST_MAX];
	const unsigned int want[] = { 45, 2, 45, 2, 3, 1 };

	for (i = 0; i < 47; i++, n++) {
		sizes[n] = 1452;
		sp[n] = 7;
	}
	for (i = 0; i < 47; i++, n++) {
		sizes[n] = 1452;
		sp[n] = 8;
	}
	sizes[n] = 100; sp[n++] = 0;
	sizes[n] = 100; sp[n++] = 0;
	sizes[n] = 60; sp[n++] = 0;
	sizes[n] = 100; sp[n++] = 0;
	nmsg = gso_group(sizes, sp, n, UDP_GSO_BYTES_MAX4, got);
	ATF_REQUIRE_EQ(nmsg, nitems(want));
	for (i = 0; i < nmsg; i++)
		ATF_CHECK_EQ_MSG(got[i], want[i], "message %zu: %u, not %u",
		    i, got[i], want[i]);
}

/* The limits: 64 datagrams; the IP packet, lower over IPv4. */
ATF_TC_WITHOUT_HEAD(gso_limits);
ATF_TC_BODY(gso_limits, tc)
{
	size_t		 sizes[BURST_MAX], i;
	uint32_t	 sp[BURST_MAX];
	unsigned int	 got[BURST_MAX];

	for (i = 0; i < 70; i++) {
		sizes[i] = 100;
		sp[i] = 0;
	}
	ATF_REQUIRE_EQ(gso_group(sizes, sp, 70, UDP_GSO_BYTES_MAX4, got), 2);
	ATF_CHECK_EQ(got[0], UDP_GSO_SEGS_MAX);
	ATF_CHECK_EQ(got[1], 70 - UDP_GSO_SEGS_MAX);
	/* 19 * 3276 <= 65507 < 20 * 3276 <= 65527. */
	for (i = 0; i < 40; i++)
		sizes[i] = 3276;
	ATF_REQUIRE_EQ(gso_group(sizes, sp, 40, UDP_GSO_BYTES_MAX4, got), 3);
	ATF_CHECK_EQ(got[0], 19);
	ATF_CHECK_EQ(got[1], 19);
	ATF_CHECK_EQ(got[2], 2);
	ATF_REQUIRE_EQ(gso_group(sizes, sp, 40, UDP_GSO_BYTES_MAX6, got), 2);
	ATF_CHECK_EQ(got[0], 20);
	ATF_CHECK_EQ(got[1], 20);
}

/* Equal sizes but the last; one super-packet a message. */
ATF_TC_WITHOUT_HEAD(gso_rules);
ATF_TC_BODY(gso_rules, tc)
{
	struct gso_msg	 m;

	gso_msg_start(&m, 1000, 3);
	ATF_CHECK_EQ(gso_msg_add(&m, 1001, 3, UDP_GSO_BYTES_MAX4), 0);
	ATF_CHECK_EQ(gso_msg_add(&m, 1000, 4, UDP_GSO_BYTES_MAX4), 0);
	ATF_CHECK_EQ(gso_msg_add(&m, 1000, 0, UDP_GSO_BYTES_MAX4), 0);
	ATF_CHECK_EQ(gso_msg_add(&m, 1000, 3, UDP_GSO_BYTES_MAX4), 1);
	ATF_CHECK_EQ(gso_msg_add(&m, 999, 3, UDP_GSO_BYTES_MAX4), 1);
	/* After a shorter one, not even one as short. */
	ATF_CHECK_EQ(gso_msg_add(&m, 999, 3, UDP_GSO_BYTES_MAX4), 0);
	ATF_CHECK_EQ(gso_msg_add(&m, 10, 3, UDP_GSO_BYTES_MAX4), 0);
	ATF_CHECK_EQ(m.nseg, 3);
	ATF_CHECK_EQ(m.bytes, 2999);
	ATF_CHECK_EQ(m.seglen, 1000);
}

/*
 * The segments a super-packet may have: as many datagrams as one send
 * takes, whatever their size.
 */
ATF_TC_WITHOUT_HEAD(tso_segs);
ATF_TC_BODY(tso_segs, tc)
{
	size_t		 d;
	unsigned int	 n;

	ATF_CHECK_EQ(offload_tso_segs(1420 + 32), 45);
	ATF_CHECK_EQ(offload_tso_segs(9000 + 32), 7);
	ATF_CHECK_EQ(offload_tso_segs(576 + 32), UDP_GSO_SEGS_MAX);
	ATF_CHECK_EQ(offload_tso_segs(0), UDP_GSO_SEGS_MAX);
	ATF_CHECK_EQ(offload_tso_segs(70000), 1);
	for (d = 1; d <= 70000; d++) {
		n = offload_tso_segs(d);
		ATF_REQUIRE(n >= 1 && n <= UDP_GSO_SEGS_MAX);
		/* It fits, and one more would not. */
		ATF_REQUIRE(n == 1 || n * d <= UDP_GSO_BYTES_MAX4);
		ATF_REQUIRE(n == UDP_GSO_SEGS_MAX ||
		    (n + 1) * d > UDP_GSO_BYTES_MAX4);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, split_v4);
	ATF_TP_ADD_TC(tp, split_v6);
	ATF_TP_ADD_TC(tp, bad_super_packets);
	ATF_TP_ADD_TC(tp, udp_split_v4);
	ATF_TP_ADD_TC(tp, udp_split_v6);
	ATF_TP_ADD_TC(tp, complete_csum);
	ATF_TP_ADD_TC(tp, csum_model);
	ATF_TP_ADD_TC(tp, vnet_header);
	ATF_TP_ADD_TC(tp, gso_messages);
	ATF_TP_ADD_TC(tp, gso_limits);
	ATF_TP_ADD_TC(tp, gso_rules);
	ATF_TP_ADD_TC(tp, tso_segs);
	return (atf_no_error());
}
