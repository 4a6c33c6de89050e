/*
 * STUN Binding messages: the RFC 5769 sample messages, what we build
 * against what they show, and messages that are damaged, truncated,
 * overlong or carry attributes we must refuse.  Inputs are copied to
 * buffers of exactly their length so ASan sees any read past the end.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "stun.h"

#define ATTR_MAPPED_ADDRESS	0x0001
#define ATTR_CHANGE_REQUEST	0x0003
#define ATTR_MESSAGE_INTEGRITY	0x0008
#define ATTR_XOR_MAPPED_ADDRESS	0x0020
#define ATTR_SOFTWARE		0x8022
#define ATTR_FINGERPRINT	0x8028
#define ATTR_UNKNOWN_REQUIRED	0x0033
#define ATTR_UNKNOWN_OPTIONAL	0x8123
#define FINGERPRINT_XOR		0x5354554e
#define HMAC_SHA1_LEN		20

/* MAPPED-ADDRESS value: IPv4, port 0x1234, 10.1.2.3, not XORed. */
#define MAPPED_10_1_2_3	{ 0, 1, 0x12, 0x34, 10, 1, 2, 3 }

/* RFC 5769 section 2.1: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
 * MESSAGE-INTEGRITY, FINGERPRINT. */
static const uint8_t	 rfc_req[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
	0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74,
	0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
	0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
	0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
	0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56,
	0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04,
	0xe5, 0x7a, 0x3b, 0xcf,
};
/* Where each of its attributes starts, and its end. */
static const size_t	 rfc_req_cuts[] = { 20, 40, 48, 60, 76, 100, 108 };

/* Section 2.2: SOFTWARE, XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FP. */
static const uint8_t	 rfc_v4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08,
	0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};
static const size_t	 rfc_v4_cuts[] = { 20, 36, 48, 72, 80 };

/* Section 2.3: the same with an IPv6 address. */
static const uint8_t	 rfc_v6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14,
	0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5,
	0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
	0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
	0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04,
	0xc8, 0xfb, 0x0b, 0x4c,
};
static const size_t	 rfc_v6_cuts[] = { 20, 36, 60, 84, 92 };

/* XOR-MAPPED-ADDRESS, in the responses of sections 2.2 and 2.3. */
#define RFC_XOR_OFF		36
#define RFC_XOR4_LEN		12
#define RFC_XOR6_LEN		24
#define RFC_PORT		32853
#define RFC_ADDR4		"192.0.2.1"
#define RFC_ADDR6		"2001:db8:1234:5678:11:2233:4455:6677"

static const uint8_t	 rfc_txid[STUN_TXID_LEN] = {
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae,
};

/* A second CRC-32, bit by bit, to check the library's against. */
static uint32_t
crc32_bitwise(const uint8_t *p, size_t len)
{
	uint32_t	 crc = 0xffffffff;
	size_t		 i;
	int		 b;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return (~crc);
}

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* A copy of exactly len bytes on the heap, for ASan. */
static uint8_t *
copy_exact(const uint8_t *p, size_t len)
{
	uint8_t	*q;

	q = malloc(len ? len : 1);
	ATF_REQUIRE(q != NULL);
	memcpy(q, p, len);
	return (q);
}

/* Message construction, for the cases the vectors do not cover. */
static size_t
msg_begin(uint8_t *buf, uint16_t type, const uint8_t *txid)
{
	put16(buf, type);
	put16(buf + 2, 0);
	put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid, STUN_TXID_LEN);
	return (STUN_HEADER_LEN);
}

static size_t
msg_attr(uint8_t *buf, size_t len, uint16_t type, const void *val,
    size_t vlen)
{
	size_t	 padded = (vlen + 3) & ~(size_t)3;

	put16(buf + len, type);
	put16(buf + len + 2, vlen);
	memset(buf + len + 4, 0, padded);
	memcpy(buf + len + 4, val, vlen);
	len += 4 + padded;
	put16(buf + 2, len - STUN_HEADER_LEN);
	return (len);
}

static size_t
msg_fingerprint(uint8_t *buf, size_t len)
{
	uint8_t	 v[4];
	size_t	 off = len;

	put32(v, 0);
	len = msg_attr(buf, len, ATTR_FINGERPRINT, v, sizeof(v));
	put32(buf + off + 4, crc32_bitwise(buf, off) ^ FINGERPRINT_XOR);
	return (len);
}

static int
parse_req(const uint8_t *p, size_t len, uint8_t txid[STUN_TXID_LEN])
{
	uint8_t	*q = copy_exact(p, len);
	int	 rv;

	rv = stun_parse_request(q, len, txid);
	free(q);
	return (rv);
}

static int
parse_resp(const uint8_t *p, size_t len, const uint8_t *txid,
    struct sockaddr_storage *ss)
{
	uint8_t	*q = copy_exact(p, len);
	int	 rv;

	rv = stun_parse_response(q, len, txid, ss);
	free(q);
	return (rv);
}

static int
is_stun(const uint8_t *p, size_t len)
{
	uint8_t	*q = copy_exact(p, len);
	int	 rv;

	rv = stun_is_stun(q, len);
	free(q);
	return (rv);
}

static void
check_v4(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	struct in_addr			 want;

	ATF_REQUIRE_EQ(ss->ss_family, AF_INET);
	ATF_REQUIRE_EQ(inet_pton(AF_INET, addr, &want), 1);
	ATF_CHECK_EQ(ntohs(sin->sin_port), port);
	ATF_CHECK(memcmp(&sin->sin_addr, &want, sizeof(want)) == 0);
}

static void
check_v6(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in6	*sin6;
	struct in6_addr			 want;

	sin6 = (const struct sockaddr_in6 *)ss;
	ATF_REQUIRE_EQ(ss->ss_family, AF_INET6);
	ATF_REQUIRE_EQ(inet_pton(AF_INET6, addr, &want), 1);
	ATF_CHECK_EQ(ntohs(sin6->sin6_port), port);
	ATF_CHECK(memcmp(&sin6->sin6_addr, &want, sizeof(want)) == 0);
}

static void
make_v4(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ATF_REQUIRE_EQ(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
}

static void
make_v6(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ATF_REQUIRE_EQ(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
}

ATF_TC_WITHOUT_HEAD(crc_helper);
ATF_TC_BODY(crc_helper, tc)
{
	/* The test's own CRC reproduces the vectors' fingerprints. */
	ATF_CHECK_EQ(crc32_bitwise((const uint8_t *)"123456789", 9),
	    0xcbf43926);
	ATF_CHECK_EQ(crc32_bitwise(rfc_req, sizeof(rfc_req) - 8) ^
	    FINGERPRINT_XOR, 0xe57a3bcf);
	ATF_CHECK_EQ(crc32_bitwise(rfc_v4, sizeof(rfc_v4) - 8) ^
	    FINGERPRINT_XOR, 0xc07d4c96);
}

ATF_TC_WITHOUT_HEAD(rfc5769_request);
ATF_TC_BODY(rfc5769_request, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 txid[STUN_TXID_LEN];

	memset(txid, 0, sizeof(txid));
	ATF_REQUIRE_EQ(parse_req(rfc_req, sizeof(rfc_req), txid), 0);
	ATF_CHECK(memcmp(txid, rfc_txid, sizeof(txid)) == 0);
	ATF_CHECK(is_stun(rfc_req, sizeof(rfc_req)));
	/* A request is not a response. */
	ATF_CHECK_EQ(parse_resp(rfc_req, sizeof(rfc_req), NULL, &ss), -1);
}

ATF_TC_WITHOUT_HEAD(rfc5769_response_v4);
ATF_TC_BODY(rfc5769_response_v4, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 txid[STUN_TXID_LEN];

	memset(&ss, 0xa5, sizeof(ss));
	ATF_REQUIRE_EQ(parse_resp(rfc_v4, sizeof(rfc_v4), rfc_txid, &ss), 0);
	check_v4(&ss, RFC_ADDR4, RFC_PORT);
	memset(&ss, 0, sizeof(ss));
	ATF_REQUIRE_EQ(parse_resp(rfc_v4, sizeof(rfc_v4), NULL, &ss), 0);
	check_v4(&ss, RFC_ADDR4, RFC_PORT);
	ATF_CHECK(is_stun(rfc_v4, sizeof(rfc_v4)));
	ATF_CHECK_EQ(parse_req(rfc_v4, sizeof(rfc_v4), txid), -1);
}

ATF_TC_WITHOUT_HEAD(rfc5769_response_v6);
ATF_TC_BODY(rfc5769_response_v6, tc)
{
	struct sockaddr_storage	 ss;

	memset(&ss, 0xa5, sizeof(ss));
	ATF_REQUIRE_EQ(parse_resp(rfc_v6, sizeof(rfc_v6), rfc_txid, &ss), 0);
	check_v6(&ss, RFC_ADDR6, RFC_PORT);
	ATF_CHECK(is_stun(rfc_v6, sizeof(rfc_v6)));
}

ATF_TC_WITHOUT_HEAD(fingerprint_corrupt);
ATF_TC_BODY(fingerprint_corrupt, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[sizeof(rfc_req)], txid[STUN_TXID_LEN];
	size_t			 i;

	/* Every bit of the fingerprint matters. */
	for (i = 0; i < 32; i++) {
		memcpy(m, rfc_v6, sizeof(rfc_v6));
		m[sizeof(rfc_v6) - 4 + i / 8] ^= 1 << (i % 8);
		ATF_CHECK_EQ(parse_resp(m, sizeof(rfc_v6), rfc_txid, &ss), -1);
	}
	/* So does every byte it covers: here, SOFTWARE's text. */
	memcpy(m, rfc_v6, sizeof(rfc_v6));
	m[24] ^= 0x20;
	ATF_CHECK_EQ(parse_resp(m, sizeof(rfc_v6), rfc_txid, &ss), -1);

	memcpy(m, rfc_req, sizeof(rfc_req));
	m[sizeof(rfc_req) - 1] ^= 0x01;
	ATF_CHECK_EQ(parse_req(m, sizeof(rfc_req), txid), -1);
	memcpy(m, rfc_req, sizeof(rfc_req));
	m[26] ^= 0x01;
	ATF_CHECK_EQ(parse_req(m, sizeof(rfc_req), txid), -1);
}

ATF_TC_WITHOUT_HEAD(wrong_txid);
ATF_TC_BODY(wrong_txid, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 other[STUN_TXID_LEN];
	size_t			 i;

	for (i = 0; i < STUN_TXID_LEN; i++) {
		memcpy(other, rfc_txid, sizeof(other));
		other[i] ^= 0x80;
		ATF_CHECK_EQ(parse_resp(rfc_v4, sizeof(rfc_v4), other, &ss),
		    -1);
		ATF_CHECK_EQ(parse_resp(rfc_v6, sizeof(rfc_v6), other, &ss),
		    -1);
	}
}

static int
is_cut(const size_t *cuts, size_t ncuts, size_t n)
{
	size_t	 i;

	for (i = 0; i < ncuts; i++)
		if (cuts[i] == n)
			return (1);
	return (0);
}

/*
 * Every prefix is refused.  Then the header length is made to agree
 * with the prefix, so only the attribute walk can notice: every cut
 * inside an attribute is refused, and nothing is read out of bounds.
 */
static void
truncate_all(const uint8_t *msg, size_t len, const size_t *cuts,
    size_t ncuts)
{
	struct sockaddr_storage	 ss;
	uint8_t			 txid[STUN_TXID_LEN], *m;
	size_t			 n;

	for (n = 0; n < len; n++) {
		ATF_CHECK_MSG(!is_stun(msg, n), "is_stun at %zu", n);
		ATF_CHECK_MSG(parse_req(msg, n, txid) == -1, "req at %zu", n);
		ATF_CHECK_MSG(parse_resp(msg, n, NULL, &ss) == -1,
		    "resp at %zu", n);
	}
	for (n = STUN_HEADER_LEN; n < len; n += 4) {
		m = copy_exact(msg, n);
		put16(m + 2, n - STUN_HEADER_LEN);
		if (!is_cut(cuts, ncuts, n)) {
			ATF_CHECK_MSG(stun_parse_request(m, n, txid) == -1,
			    "fixed req at %zu", n);
			ATF_CHECK_MSG(stun_parse_response(m, n, NULL, &ss) ==
			    -1, "fixed resp at %zu", n);
		} else {
			(void)stun_parse_request(m, n, txid);
			(void)stun_parse_response(m, n, NULL, &ss);
		}
		free(m);
	}
}

ATF_TC_WITHOUT_HEAD(truncated);
ATF_TC_BODY(truncated, tc)
{
	truncate_all(rfc_req, sizeof(rfc_req), rfc_req_cuts,
	    sizeof(rfc_req_cuts) / sizeof(rfc_req_cuts[0]));
	truncate_all(rfc_v4, sizeof(rfc_v4), rfc_v4_cuts,
	    sizeof(rfc_v4_cuts) / sizeof(rfc_v4_cuts[0]));
	truncate_all(rfc_v6, sizeof(rfc_v6), rfc_v6_cuts,
	    sizeof(rfc_v6_cuts) / sizeof(rfc_v6_cuts[0]));
}

ATF_TC_WITHOUT_HEAD(truncated_at_attribute);
ATF_TC_BODY(truncated_at_attribute, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[sizeof(rfc_req)], txid[STUN_TXID_LEN];

	/* Cut cleanly before MESSAGE-INTEGRITY: still a fine request. */
	memcpy(m, rfc_req, sizeof(m));
	put16(m + 2, 76 - STUN_HEADER_LEN);
	ATF_CHECK_EQ(parse_req(m, 76, txid), 0);
	/* Cut before XOR-MAPPED-ADDRESS: no address, refused. */
	memcpy(m, rfc_v4, sizeof(rfc_v4));
	put16(m + 2, RFC_XOR_OFF - STUN_HEADER_LEN);
	ATF_CHECK_EQ(parse_resp(m, RFC_XOR_OFF, NULL, &ss), -1);
	/* Cut after it: the address, no fingerprint to check. */
	put16(m + 2, 48 - STUN_HEADER_LEN);
	ATF_CHECK_EQ(parse_resp(m, 48, NULL, &ss), 0);
	check_v4(&ss, RFC_ADDR4, RFC_PORT);
}

ATF_TC_WITHOUT_HEAD(attribute_overrun);
ATF_TC_BODY(attribute_overrun, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[64], txid[STUN_TXID_LEN];
	uint8_t			 big[sizeof(rfc_req)];
	uint8_t			 sw[4] = { 'x', 'y', 'z', 'w' };
	size_t			 len;

	/* SOFTWARE claims more than the message holds. */
	memcpy(big, rfc_req, sizeof(big));
	put16(big + 22, 0x60);
	ATF_CHECK_EQ(parse_req(big, sizeof(big), txid), -1);
	/* The last attribute, FINGERPRINT, claims 8 bytes. */
	memcpy(big, rfc_req, sizeof(big));
	put16(big + sizeof(big) - 6, 8);
	ATF_CHECK_EQ(parse_req(big, sizeof(big), txid), -1);
	/* Its value fits but its padding does not. */
	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	len = msg_attr(m, len, ATTR_SOFTWARE, sw, sizeof(sw));
	put16(m + len - 6, 5);
	ATF_CHECK_EQ(parse_req(m, len, txid), -1);
	put16(m + len - 6, 4);
	ATF_CHECK_EQ(parse_req(m, len, txid), 0);
	/* The largest length an attribute can claim. */
	put16(m + len - 6, 0xffff);
	ATF_CHECK_EQ(parse_req(m, len, txid), -1);
	ATF_CHECK_EQ(parse_resp(m, len, NULL, &ss), -1);
}

ATF_TC_WITHOUT_HEAD(header_checks);
ATF_TC_BODY(header_checks, tc)
{
	uint8_t		 m[sizeof(rfc_req) + 4], txid[STUN_TXID_LEN];
	size_t		 len;

	/* Top two bits set: not STUN (RFC 7983 demultiplexing). */
	memcpy(m, rfc_req, sizeof(rfc_req));
	m[0] |= 0x40;
	ATF_CHECK(!is_stun(m, sizeof(rfc_req)));
	ATF_CHECK_EQ(parse_req(m, sizeof(rfc_req), txid), -1);
	memcpy(m, rfc_req, sizeof(rfc_req));
	m[0] |= 0x80;
	ATF_CHECK_EQ(parse_req(m, sizeof(rfc_req), txid), -1);
	/* Wrong cookie: an RFC 3489 message. */
	memcpy(m, rfc_req, sizeof(rfc_req));
	m[7] ^= 0x01;
	ATF_CHECK(!is_stun(m, sizeof(rfc_req)));
	ATF_CHECK_EQ(parse_req(m, sizeof(rfc_req), txid), -1);
	/* Trailing bytes the header does not count. */
	memcpy(m, rfc_req, sizeof(rfc_req));
	memset(m + sizeof(rfc_req), 0, 4);
	ATF_CHECK(!is_stun(m, sizeof(m)));
	ATF_CHECK_EQ(parse_req(m, sizeof(m), txid), -1);
	/* A length that is not a multiple of four. */
	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	memset(m + len, 0, 4);
	put16(m + 2, 2);
	ATF_CHECK(!is_stun(m, len + 2));
	ATF_CHECK_EQ(parse_req(m, len + 2, txid), -1);
	/* No attributes at all is a valid Binding request. */
	put16(m + 2, 0);
	ATF_CHECK_EQ(parse_req(m, len, txid), 0);
	/* An indication is not a request. */
	put16(m, 0x0011);
	ATF_CHECK_EQ(parse_req(m, len, txid), -1);
}

ATF_TC_WITHOUT_HEAD(overlong);
ATF_TC_BODY(overlong, tc)
{
	uint8_t		 m[STUN_MAX_MSG + 64], txid[STUN_TXID_LEN];
	uint8_t		 sw[STUN_MAX_MSG];
	size_t		 len, room;

	memset(sw, 'a', sizeof(sw));
	/* Exactly the maximum, with fingerprint: accepted. */
	room = STUN_MAX_MSG - STUN_HEADER_LEN - 4 - 8;
	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	len = msg_attr(m, len, ATTR_SOFTWARE, sw, room);
	len = msg_fingerprint(m, len);
	ATF_REQUIRE_EQ(len, STUN_MAX_MSG);
	ATF_CHECK_EQ(parse_req(m, len, txid), 0);
	/* Four bytes more: refused, though otherwise well formed. */
	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	len = msg_attr(m, len, ATTR_SOFTWARE, sw, room + 4);
	len = msg_fingerprint(m, len);
	ATF_REQUIRE_EQ(len, STUN_MAX_MSG + 4);
	ATF_CHECK(is_stun(m, len));
	ATF_CHECK_EQ(parse_req(m, len, txid), -1);
}

ATF_TC_WITHOUT_HEAD(fingerprint_not_last);
ATF_TC_BODY(fingerprint_not_last, tc)
{
	uint8_t		 m[64], txid[STUN_TXID_LEN];
	uint8_t		 sw[4] = { 'a', 'b', 'c', 'd' };
	size_t		 len;

	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	len = msg_fingerprint(m, len);
	ATF_REQUIRE_EQ(parse_req(m, len, txid), 0);
	/* The CRC is right for what precedes it, but it is not last. */
	len = msg_attr(m, len, ATTR_SOFTWARE, sw, sizeof(sw));
	put32(m + len - 12, crc32_bitwise(m, len - 16) ^ FINGERPRINT_XOR);
	ATF_CHECK_EQ(parse_req(m, len, txid), -1);
}

ATF_TC_WITHOUT_HEAD(unknown_attributes);
ATF_TC_BODY(unknown_attributes, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[128], txid[STUN_TXID_LEN];
	uint8_t			 v[4] = { 1, 2, 3, 4 };
	uint8_t			 hmac[HMAC_SHA1_LEN];
	size_t			 len;

	memset(hmac, 0x55, sizeof(hmac));
	/* Comprehension-optional: ignored. */
	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	len = msg_attr(m, len, ATTR_UNKNOWN_OPTIONAL, v, sizeof(v));
	len = msg_fingerprint(m, len);
	ATF_CHECK_EQ(parse_req(m, len, txid), 0);
	/* Comprehension-required: refused. */
	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	len = msg_attr(m, len, ATTR_UNKNOWN_REQUIRED, v, sizeof(v));
	len = msg_fingerprint(m, len);
	ATF_CHECK_EQ(parse_req(m, len, txid), -1);
	/* CHANGE-REQUEST asks for what we do not do: refused. */
	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	len = msg_attr(m, len, ATTR_CHANGE_REQUEST, v, sizeof(v));
	ATF_CHECK_EQ(parse_req(m, len, txid), -1);
	/* After MESSAGE-INTEGRITY it is ignored (RFC 5389 15.4). */
	len = msg_begin(m, STUN_BINDING_REQUEST, rfc_txid);
	len = msg_attr(m, len, ATTR_MESSAGE_INTEGRITY, hmac, sizeof(hmac));
	len = msg_attr(m, len, ATTR_UNKNOWN_REQUIRED, v, sizeof(v));
	len = msg_fingerprint(m, len);
	ATF_CHECK_EQ(parse_req(m, len, txid), 0);
	/* A response with one is refused too (RFC 5389 7.3.3). */
	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	len = msg_attr(m, len, ATTR_XOR_MAPPED_ADDRESS, rfc_v4 + 40, 8);
	ATF_REQUIRE_EQ(parse_resp(m, len, rfc_txid, &ss), 0);
	len = msg_attr(m, len, ATTR_UNKNOWN_REQUIRED, v, sizeof(v));
	ATF_CHECK_EQ(parse_resp(m, len, rfc_txid, &ss), -1);
}

ATF_TC_WITHOUT_HEAD(after_integrity_ignored);
ATF_TC_BODY(after_integrity_ignored, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[128], hmac[HMAC_SHA1_LEN];
	uint8_t			 mapped[8] = MAPPED_10_1_2_3;
	size_t			 len;

	memset(hmac, 0x55, sizeof(hmac));
	/* An address after MESSAGE-INTEGRITY is no address. */
	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	len = msg_attr(m, len, ATTR_MESSAGE_INTEGRITY, hmac, sizeof(hmac));
	len = msg_attr(m, len, ATTR_XOR_MAPPED_ADDRESS, rfc_v4 + 40, 8);
	len = msg_fingerprint(m, len);
	ATF_CHECK_EQ(parse_resp(m, len, rfc_txid, &ss), -1);
	/* So the MAPPED-ADDRESS before it is the one reported. */
	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	len = msg_attr(m, len, ATTR_MAPPED_ADDRESS, mapped, sizeof(mapped));
	len = msg_attr(m, len, ATTR_MESSAGE_INTEGRITY, hmac, sizeof(hmac));
	len = msg_attr(m, len, ATTR_XOR_MAPPED_ADDRESS, rfc_v4 + 40, 8);
	len = msg_fingerprint(m, len);
	ATF_REQUIRE_EQ(parse_resp(m, len, rfc_txid, &ss), 0);
	check_v4(&ss, "10.1.2.3", 0x1234);
}

ATF_TC_WITHOUT_HEAD(mapped_address);
ATF_TC_BODY(mapped_address, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[128];
	uint8_t			 mapped[8] = MAPPED_10_1_2_3;
	uint8_t			 bad[8];
	size_t			 len;

	/* Alone, MAPPED-ADDRESS is accepted as it stands. */
	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	len = msg_attr(m, len, ATTR_MAPPED_ADDRESS, mapped, sizeof(mapped));
	ATF_REQUIRE_EQ(parse_resp(m, len, rfc_txid, &ss), 0);
	check_v4(&ss, "10.1.2.3", 0x1234);
	/* XOR-MAPPED-ADDRESS wins, wherever it is. */
	len = msg_attr(m, len, ATTR_XOR_MAPPED_ADDRESS, rfc_v4 + 40, 8);
	len = msg_fingerprint(m, len);
	ATF_REQUIRE_EQ(parse_resp(m, len, rfc_txid, &ss), 0);
	check_v4(&ss, RFC_ADDR4, RFC_PORT);
	/* An unknown family, or a length wrong for it: refused. */
	memcpy(bad, rfc_v4 + 40, sizeof(bad));
	bad[1] = 3;
	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	len = msg_attr(m, len, ATTR_XOR_MAPPED_ADDRESS, bad, sizeof(bad));
	ATF_CHECK_EQ(parse_resp(m, len, rfc_txid, &ss), -1);
	bad[1] = 2;
	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	len = msg_attr(m, len, ATTR_XOR_MAPPED_ADDRESS, bad, sizeof(bad));
	ATF_CHECK_EQ(parse_resp(m, len, rfc_txid, &ss), -1);
	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	len = msg_attr(m, len, ATTR_XOR_MAPPED_ADDRESS, rfc_v6 + 40, 16);
	ATF_CHECK_EQ(parse_resp(m, len, rfc_txid, &ss), -1);
	/* No address at all. */
	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	ATF_CHECK_EQ(parse_resp(m, len, rfc_txid, &ss), -1);
}

ATF_TC_WITHOUT_HEAD(error_response);
ATF_TC_BODY(error_response, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[sizeof(rfc_v4)];

	/* The 2.2 response as an error, fingerprint made right again. */
	memcpy(m, rfc_v4, sizeof(m));
	put16(m, STUN_BINDING_ERROR);
	put32(m + sizeof(m) - 4,
	    crc32_bitwise(m, sizeof(m) - 8) ^ FINGERPRINT_XOR);
	ATF_CHECK(is_stun(m, sizeof(m)));
	ATF_CHECK_EQ(parse_resp(m, sizeof(m), rfc_txid, &ss), -1);
	/* The same repair with the type left alone still parses. */
	put16(m, STUN_BINDING_SUCCESS);
	put32(m + sizeof(m) - 4,
	    crc32_bitwise(m, sizeof(m) - 8) ^ FINGERPRINT_XOR);
	ATF_CHECK_EQ(parse_resp(m, sizeof(m), rfc_txid, &ss), 0);
}

ATF_TC_WITHOUT_HEAD(build_request);
ATF_TC_BODY(build_request, tc)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[STUN_MAX_MSG], txid[STUN_TXID_LEN];
	size_t			 len, n;

	len = stun_build_request(m, sizeof(m), rfc_txid);
	ATF_REQUIRE_EQ(len, STUN_HEADER_LEN + 8);
	ATF_CHECK_EQ(get16(m), STUN_BINDING_REQUEST);
	ATF_CHECK_EQ(get16(m + STUN_HEADER_LEN), ATTR_FINGERPRINT);
	ATF_CHECK_EQ(crc32_bitwise(m, STUN_HEADER_LEN) ^ FINGERPRINT_XOR,
	    (uint32_t)get16(m + len - 4) << 16 | get16(m + len - 2));
	ATF_CHECK(is_stun(m, len));
	memset(txid, 0, sizeof(txid));
	ATF_REQUIRE_EQ(parse_req(m, len, txid), 0);
	ATF_CHECK(memcmp(txid, rfc_txid, sizeof(txid)) == 0);
	ATF_CHECK_EQ(parse_resp(m, len, NULL, &ss), -1);
	for (n = 0; n < len; n++)
		ATF_CHECK_EQ(stun_build_request(m, n, rfc_txid), 0);
}

static void
build_response_check(const struct sockaddr_storage *sa, const uint8_t *vec,
    size_t xorlen)
{
	struct sockaddr_storage	 ss;
	uint8_t			 m[STUN_MAX_MSG], txid[STUN_TXID_LEN];
	uint8_t			 other[STUN_TXID_LEN];
	size_t			 len, n;

	len = stun_build_response(m, sizeof(m), rfc_txid,
	    (const struct sockaddr *)sa);
	ATF_REQUIRE_EQ(len, STUN_HEADER_LEN + xorlen + 8);
	ATF_CHECK_EQ(get16(m), STUN_BINDING_SUCCESS);
	ATF_CHECK(is_stun(m, len));
	/* The attribute is byte for byte what RFC 5769 shows. */
	ATF_CHECK(memcmp(m + STUN_HEADER_LEN, vec + RFC_XOR_OFF, xorlen) == 0);
	ATF_CHECK_EQ(crc32_bitwise(m, len - 8) ^ FINGERPRINT_XOR,
	    (uint32_t)get16(m + len - 4) << 16 | get16(m + len - 2));

	memset(&ss, 0, sizeof(ss));
	ATF_REQUIRE_EQ(parse_resp(m, len, rfc_txid, &ss), 0);
	if (sa->ss_family == AF_INET)
		check_v4(&ss, RFC_ADDR4, RFC_PORT);
	else
		check_v6(&ss, RFC_ADDR6, RFC_PORT);
	memcpy(other, rfc_txid, sizeof(other));
	other[0] ^= 1;
	ATF_CHECK_EQ(parse_resp(m, len, other, &ss), -1);
	ATF_CHECK_EQ(parse_req(m, len, txid), -1);
	for (n = 0; n < len; n++)
		ATF_CHECK_EQ(stun_build_response(m, n, rfc_txid,
		    (const struct sockaddr *)sa), 0);
}

ATF_TC_WITHOUT_HEAD(build_response_v4);
ATF_TC_BODY(build_response_v4, tc)
{
	struct sockaddr_storage	 sa;

	make_v4(&sa, RFC_ADDR4, RFC_PORT);
	build_response_check(&sa, rfc_v4, RFC_XOR4_LEN);
}

ATF_TC_WITHOUT_HEAD(build_response_v6);
ATF_TC_BODY(build_response_v6, tc)
{
	struct sockaddr_storage	 sa;

	make_v6(&sa, RFC_ADDR6, RFC_PORT);
	build_response_check(&sa, rfc_v6, RFC_XOR6_LEN);
}

ATF_TC_WITHOUT_HEAD(build_response_family);
ATF_TC_BODY(build_response_family, tc)
{
	struct sockaddr_storage	 sa;
	uint8_t			 m[STUN_MAX_MSG];

	memset(&sa, 0, sizeof(sa));
	sa.ss_family = AF_UNIX;
	ATF_CHECK_EQ(stun_build_response(m, sizeof(m), rfc_txid,
	    (const struct sockaddr *)&sa), 0);
}

/* A response naming the second port: it parses, and parses whole. */
ATF_TC_WITHOUT_HEAD(alt_port);
ATF_TC_BODY(alt_port, tc)
{
	struct sockaddr_storage	 sa, ss;
	uint8_t			 m[STUN_MAX_MSG], *q;
	uint16_t		 port;
	size_t			 len, n;

	make_v4(&sa, RFC_ADDR4, RFC_PORT);
	len = stun_build_response_alt(m, sizeof(m), rfc_txid,
	    (const struct sockaddr *)&sa, 3479);
	ATF_REQUIRE_EQ(len, STUN_HEADER_LEN + RFC_XOR4_LEN + 8 + 8);
	ATF_CHECK(is_stun(m, len));
	/* XOR-MAPPED-ADDRESS first, byte for byte, then ALT-PORT. */
	ATF_CHECK(memcmp(m + STUN_HEADER_LEN, rfc_v4 + RFC_XOR_OFF,
	    RFC_XOR4_LEN) == 0);
	ATF_CHECK_EQ(get16(m + STUN_HEADER_LEN + RFC_XOR4_LEN),
	    STUN_ATTR_ALT_PORT);
	q = copy_exact(m, len);
	ATF_REQUIRE_EQ(stun_parse_response_alt(q, len, rfc_txid, &ss, &port),
	    0);
	free(q);
	check_v4(&ss, RFC_ADDR4, RFC_PORT);
	ATF_CHECK_EQ(port, 3479);
	/* Clients that do not know it skip it. */
	ATF_CHECK_EQ(parse_resp(m, len, rfc_txid, &ss), 0);
	/* Without one, or a response of RFC 5769: no port. */
	q = copy_exact(rfc_v4, sizeof(rfc_v4));
	port = 1;
	ATF_CHECK_EQ(stun_parse_response_alt(q, sizeof(rfc_v4), rfc_txid,
	    &ss, &port), 0);
	ATF_CHECK_EQ(port, 0);
	free(q);
	len = stun_build_response_alt(m, sizeof(m), rfc_txid,
	    (const struct sockaddr *)&sa, 0);
	ATF_CHECK_EQ(len, STUN_HEADER_LEN + RFC_XOR4_LEN + 8);
	for (n = 0; n < STUN_HEADER_LEN + RFC_XOR4_LEN + 16; n++)
		ATF_CHECK_EQ(stun_build_response_alt(m, n, rfc_txid,
		    (const struct sockaddr *)&sa, 3479), 0);
}

/* ALT-PORT of a length other than 4 is no hint; the address still is. */
ATF_TC_WITHOUT_HEAD(alt_port_malformed);
ATF_TC_BODY(alt_port_malformed, tc)
{
	static const uint8_t	 mapped[] = MAPPED_10_1_2_3;
	static const uint8_t	 shortv[] = { 0x0d, 0x97 };
	struct sockaddr_storage	 ss;
	uint8_t			 m[STUN_MAX_MSG], *q;
	uint16_t		 port;
	size_t			 len;

	len = msg_begin(m, STUN_BINDING_SUCCESS, rfc_txid);
	len = msg_attr(m, len, ATTR_MAPPED_ADDRESS, mapped, sizeof(mapped));
	len = msg_attr(m, len, STUN_ATTR_ALT_PORT, shortv, sizeof(shortv));
	len = msg_fingerprint(m, len);
	q = copy_exact(m, len);
	port = 1;
	ATF_CHECK_EQ(stun_parse_response_alt(q, len, rfc_txid, &ss, &port),
	    0);
	ATF_CHECK_EQ(port, 0);
	check_v4(&ss, "10.1.2.3", 0x1234);
	free(q);
}

ATF_TC_WITHOUT_HEAD(nat_mapping);
ATF_TC_BODY(nat_mapping, tc)
{
	struct sockaddr_storage	 a, b, none;
	int			 m;

	make_v4(&a, "198.51.100.7", 40000);
	make_v4(&b, "198.51.100.7", 40000);
	ATF_CHECK_EQ(nat_mapping_of(&a, &b), NAT_MAP_INDEPENDENT);
	make_v4(&b, "198.51.100.7", 40001);
	ATF_CHECK_EQ(nat_mapping_of(&a, &b), NAT_MAP_SYMMETRIC);
	make_v4(&b, "198.51.100.8", 40000);
	ATF_CHECK_EQ(nat_mapping_of(&a, &b), NAT_MAP_SYMMETRIC);
	make_v6(&a, RFC_ADDR6, 40000);
	make_v6(&b, RFC_ADDR6, 40000);
	ATF_CHECK_EQ(nat_mapping_of(&a, &b), NAT_MAP_INDEPENDENT);
	make_v6(&b, RFC_ADDR6, 40002);
	ATF_CHECK_EQ(nat_mapping_of(&a, &b), NAT_MAP_SYMMETRIC);
	memset(&none, 0, sizeof(none));
	ATF_CHECK_EQ(nat_mapping_of(&a, &none), NAT_MAP_UNKNOWN);
	ATF_CHECK_EQ(nat_mapping_of(&none, &a), NAT_MAP_UNKNOWN);

	for (m = 0; m < NAT_MAP_MAX; m++)
		ATF_CHECK_EQ(nat_mapping_parse(nat_mapping_name(m)), m);
	ATF_CHECK_STREQ(nat_mapping_name(NAT_MAP_INDEPENDENT), "independent");
	ATF_CHECK_STREQ(nat_mapping_name(NAT_MAP_SYMMETRIC), "symmetric");
	ATF_CHECK_STREQ(nat_mapping_name(NAT_MAP_MAX), "unknown");
	ATF_CHECK_STREQ(nat_mapping_name(-1), "unknown");
	ATF_CHECK_EQ(nat_mapping_parse("cone"), -1);
	ATF_CHECK_EQ(nat_mapping_parse("Symmetric"), -1);
	ATF_CHECK_EQ(nat_mapping_parse(""), -1);
}

ATF_TC_WITHOUT_HEAD(is_stun_demux);
ATF_TC_BODY(is_stun_demux, tc)
{
	/* WireGuard message types and their fixed (or least) lengths. */
	static const size_t	 wglen[] = { 148, 92, 64, 32 };
	uint8_t			 wg[148];
	size_t			 i, n;

	for (i = 0; i < sizeof(wglen) / sizeof(wglen[0]); i++) {
		memset(wg, 0x5a, sizeof(wg));
		wg[0] = i + 1;
		wg[1] = wg[2] = wg[3] = 0;
		ATF_CHECK(!is_stun(wg, wglen[i]));
		/* Even when the sender index happens to be the cookie. */
		put32(wg + 4, STUN_MAGIC_COOKIE);
		ATF_CHECK(!is_stun(wg, wglen[i]));
		ATF_CHECK(!is_stun(wg, STUN_HEADER_LEN - 1));
	}
	for (n = 0; n < STUN_HEADER_LEN; n++)
		ATF_CHECK(!is_stun(rfc_v4, n));
	ATF_CHECK(!stun_is_stun(NULL, 0));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, crc_helper);
	ATF_TP_ADD_TC(tp, rfc5769_request);
	ATF_TP_ADD_TC(tp, rfc5769_response_v4);
	ATF_TP_ADD_TC(tp, rfc5769_response_v6);
	ATF_TP_ADD_TC(tp, fingerprint_corrupt);
	ATF_TP_ADD_TC(tp, wrong_txid);
	ATF_TP_ADD_TC(tp, truncated);
	ATF_TP_ADD_TC(tp, truncated_at_attribute);
	ATF_TP_ADD_TC(tp, attribute_overrun);
	ATF_TP_ADD_TC(tp, header_checks);
	ATF_TP_ADD_TC(tp, overlong);
	ATF_TP_ADD_TC(tp, fingerprint_not_last);
	ATF_TP_ADD_TC(tp, unknown_attributes);
	ATF_TP_ADD_TC(tp, after_integrity_ignored);
	ATF_TP_ADD_TC(tp, mapped_address);
	ATF_TP_ADD_TC(tp, error_response);
	ATF_TP_ADD_TC(tp, build_request);
	ATF_TP_ADD_TC(tp, build_response_v4);
	ATF_TP_ADD_TC(tp, build_response_v6);
	ATF_TP_ADD_TC(tp, build_response_family);
	ATF_TP_ADD_TC(tp, is_stun_demux);
	ATF_TP_ADD_TC(tp, alt_port);
	ATF_TP_ADD_TC(tp, alt_port_malformed);
	ATF_TP_ADD_TC(tp, nat_mapping);
	return (atf_no_error());
}
