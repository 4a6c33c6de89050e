/*
 * STUN Binding requests and responses (RFC 5389), without sockets and
 * without authentication: a node asks the edge where it was seen, the
 * edge answers with XOR-MAPPED-ADDRESS.  Everything that arrives is
 * checked against the buffer's bounds before it is read.
 */
#include <sys/types.h>
#include <sys/endian.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "stun.h"

#define STUN_TYPE_OFF		0
#define STUN_LENGTH_OFF		2
#define STUN_COOKIE_OFF		4
#define STUN_TXID_OFF		8
/* The first byte's top two bits are zero in STUN (RFC 7983). */
#define STUN_TYPE_MASK		0xc0
#define STUN_ALIGN		4

#define STUN_ATTR_HDR		4	/* type, length */
/* Types below are comprehension-required, the rest optional. */
#define STUN_ATTR_REQUIRED	0x8000

/* RFC 5389 section 18.2. */
#define ATTR_MAPPED_ADDRESS	0x0001
#define ATTR_USERNAME		0x0006
#define ATTR_MESSAGE_INTEGRITY	0x0008
#define ATTR_ERROR_CODE		0x0009
#define ATTR_UNKNOWN_ATTRIBUTES	0x000a
#define ATTR_REALM		0x0014
#define ATTR_NONCE		0x0015
#define ATTR_XOR_MAPPED_ADDRESS	0x0020
#define ATTR_FINGERPRINT	0x8028
/* RFC 3489, still sent by some servers in responses. */
#define ATTR_SOURCE_ADDRESS	0x0004
#define ATTR_CHANGED_ADDRESS	0x0005
/* ICE connectivity checks (RFC 8445) are Binding requests too. */
#define ATTR_PRIORITY		0x0024
#define ATTR_USE_CANDIDATE	0x0025

#define STUN_FAMILY_INET	0x01
#define STUN_FAMILY_INET6	0x02
#define STUN_ADDR_HDR		4	/* reserved, family, port */
#define STUN_ADDR4_LEN		(STUN_ADDR_HDR + 4)
#define STUN_ADDR6_LEN		(STUN_ADDR_HDR + 16)

#define STUN_ALT_PORT_LEN	4	/* port, then 16 reserved bits */
#define STUN_FINGERPRINT_LEN	4
#define STUN_FINGERPRINT_XOR	0x5354554e	/* "STUN" */
#define CRC32_INIT		0xffffffffU

#define IN_REQUEST		0x1
#define IN_RESPONSE		0x2

/*
 * The comprehension-required attributes we know.  Knowing is not
 * honouring: we do no STUN authentication, so USERNAME, REALM, NONCE
 * and MESSAGE-INTEGRITY are skipped, and an ICE check's PRIORITY and
 * USE-CANDIDATE change nothing about the address we report.  Those
 * that would change how a request must be answered (RFC 3489's
 * RESPONSE-ADDRESS, RFC 5780's CHANGE-REQUEST) are deliberately
 * absent, so such a request is refused rather than answered wrongly.
 * RFC 3489's informational SOURCE-ADDRESS and CHANGED-ADDRESS are
 * tolerated in responses from older servers.
 */
static const struct {
	uint16_t	 type;
	int		 in;
} stun_known[] = {
	{ ATTR_MAPPED_ADDRESS,		IN_RESPONSE },
	{ ATTR_SOURCE_ADDRESS,		IN_RESPONSE },
	{ ATTR_CHANGED_ADDRESS,		IN_RESPONSE },
	{ ATTR_USERNAME,		IN_REQUEST | IN_RESPONSE },
	{ ATTR_MESSAGE_INTEGRITY,	IN_REQUEST | IN_RESPONSE },
	{ ATTR_ERROR_CODE,		IN_RESPONSE },
	{ ATTR_UNKNOWN_ATTRIBUTES,	IN_RESPONSE },
	{ ATTR_REALM,			IN_REQUEST | IN_RESPONSE },
	{ ATTR_NONCE,			IN_REQUEST | IN_RESPONSE },
	{ ATTR_XOR_MAPPED_ADDRESS,	IN_RESPONSE },
	{ ATTR_PRIORITY,		IN_REQUEST },
	{ ATTR_USE_CANDIDATE,		IN_REQUEST },
};

/* What a walk over a message's attributes found. */
struct stun_attrs {
	const uint8_t	*xor_mapped;
	size_t		 xor_mapped_len;
	const uint8_t	*mapped;
	size_t		 mapped_len;
	const uint8_t	*alt_port;
	size_t		 alt_port_len;
};

static uint32_t	stun_crc32(const uint8_t *, size_t);
static int	stun_is_known(uint16_t, int);
static int	stun_walk(const uint8_t *, size_t, uint16_t, int,
		    const uint8_t *, struct stun_attrs *);
static int	stun_addr_decode(const uint8_t *, size_t, int,
		    const uint8_t *, struct sockaddr_storage *);
static size_t	stun_header(uint8_t *, size_t, uint16_t,
		    const uint8_t [STUN_TXID_LEN]);
static size_t	stun_finish(uint8_t *, size_t);

/*
 * CRC-32 as zlib computes it (reflected, polynomial 0xedb88320), a
 * nibble at a time: a 16-entry table is small and messages are short.
 */
static uint32_t
stun_crc32(const uint8_t *p, size_t len)
{
	static const uint32_t	 tab[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	uint32_t		 crc = CRC32_INIT;
	size_t			 i;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ tab[crc & 0xf];
		crc = (crc >> 4) ^ tab[crc & 0xf];
	}
	return (crc ^ CRC32_INIT);
}

static int
stun_is_known(uint16_t type, int in)
{
	size_t	 i;

	for (i = 0; i < sizeof(stun_known) / sizeof(stun_known[0]); i++)
		if (stun_known[i].type == type)
			return ((stun_known[i].in & in) != 0);
	return (0);
}

int
stun_is_stun(const uint8_t *buf, size_t len)
{
	size_t	 body;

	if (buf == NULL || len < STUN_HEADER_LEN)
		return (0);
	if ((buf[STUN_TYPE_OFF] & STUN_TYPE_MASK) != 0 ||
	    be32dec(buf + STUN_COOKIE_OFF) != STUN_MAGIC_COOKIE)
		return (0);
	/*
	 * The length must account for exactly what follows the header:
	 * a WireGuard message, whose first bytes can pass the checks
	 * above, carries a length of 0 and is never 20 bytes long.
	 */
	body = be16dec(buf + STUN_LENGTH_OFF);
	if (body % STUN_ALIGN != 0 || body != len - STUN_HEADER_LEN)
		return (0);
	return (1);
}

/*
 * Check the header of a message of the given type (and txid, unless
 * NULL), then walk its attributes.  A FINGERPRINT must be the last
 * attribute and right; attributes after MESSAGE-INTEGRITY other than
 * FINGERPRINT are ignored (RFC 5389 section 15.4), but are still
 * walked so their bounds are checked.  An unknown comprehension-
 * required attribute before MESSAGE-INTEGRITY refuses the message.
 */
static int
stun_walk(const uint8_t *buf, size_t len, uint16_t type, int in,
    const uint8_t *txid, struct stun_attrs *a)
{
	const uint8_t	*val;
	size_t		 off, alen, padded;
	uint16_t	 atype;
	int		 integrity = 0;

	memset(a, 0, sizeof(*a));
	if (len > STUN_MAX_MSG || !stun_is_stun(buf, len))
		return (-1);
	if (be16dec(buf + STUN_TYPE_OFF) != type)
		return (-1);
	if (txid != NULL &&
	    memcmp(buf + STUN_TXID_OFF, txid, STUN_TXID_LEN) != 0)
		return (-1);

	for (off = STUN_HEADER_LEN; off < len; off += STUN_ATTR_HDR + padded) {
		if (len - off < STUN_ATTR_HDR)
			return (-1);
		atype = be16dec(buf + off);
		alen = be16dec(buf + off + 2);
		padded = (alen + STUN_ALIGN - 1) & ~(size_t)(STUN_ALIGN - 1);
		if (padded > len - off - STUN_ATTR_HDR)
			return (-1);
		val = buf + off + STUN_ATTR_HDR;

		if (atype == ATTR_FINGERPRINT) {
			/* Last, so the header length already covers it. */
			if (alen != STUN_FINGERPRINT_LEN ||
			    off + STUN_ATTR_HDR + padded != len)
				return (-1);
			if (be32dec(val) !=
			    (stun_crc32(buf, off) ^ STUN_FINGERPRINT_XOR))
				return (-1);
			continue;
		}
		if (integrity)
			continue;
		switch (atype) {
		case ATTR_MESSAGE_INTEGRITY:
			integrity = 1;
			break;
		case ATTR_XOR_MAPPED_ADDRESS:
			if (a->xor_mapped == NULL) {
				a->xor_mapped = val;
				a->xor_mapped_len = alen;
			}
			break;
		case ATTR_MAPPED_ADDRESS:
			if (a->mapped == NULL) {
				a->mapped = val;
				a->mapped_len = alen;
			}
			break;
		case STUN_ATTR_ALT_PORT:
			if (a->alt_port == NULL) {
				a->alt_port = val;
				a->alt_port_len = alen;
			}
			break;
		default:
			if (atype < STUN_ATTR_REQUIRED &&
			    !stun_is_known(atype, in))
				return (-1);
			break;
		}
	}
	return (0);
}

/*
 * A (XOR-)MAPPED-ADDRESS value.  XORed, the port is XORed with the top
 * half of the cookie and the address with the cookie, then the txid:
 * the bytes that follow the type and length in the header.
 */
static int
stun_addr_decode(const uint8_t *v, size_t vlen, int xored,
    const uint8_t *hdr, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	const uint8_t		*mask = hdr + STUN_COOKIE_OFF;
	uint8_t			 addr[16];
	uint16_t		 port;
	size_t			 alen, i;
	int			 family;

	if (vlen < STUN_ADDR_HDR)
		return (-1);
	switch (v[1]) {
	case STUN_FAMILY_INET:
		if (vlen != STUN_ADDR4_LEN)
			return (-1);
		family = AF_INET;
		break;
	case STUN_FAMILY_INET6:
		if (vlen != STUN_ADDR6_LEN)
			return (-1);
		family = AF_INET6;
		break;
	default:
		return (-1);
	}
	alen = vlen - STUN_ADDR_HDR;
	port = be16dec(v + 2);
	memcpy(addr, v + STUN_ADDR_HDR, alen);
	if (xored) {
		port ^= STUN_MAGIC_COOKIE >> 16;
		for (i = 0; i < alen; i++)
			addr[i] ^= mask[i];
	}

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, alen);
	} else {
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, alen);
	}
	return (0);
}

/*
 * Append FINGERPRINT to the message in buf (its header length still
 * counting only what is there) and return the full length, 0 if the
 * attribute does not fit.
 */
static size_t
stun_finish(uint8_t *buf, size_t len)
{
	size_t	 off, total;

	off = STUN_HEADER_LEN + be16dec(buf + STUN_LENGTH_OFF);
	total = off + STUN_ATTR_HDR + STUN_FINGERPRINT_LEN;
	if (total > len || total > STUN_MAX_MSG)
		return (0);
	/* The CRC covers a header whose length includes the attribute. */
	be16enc(buf + STUN_LENGTH_OFF, total - STUN_HEADER_LEN);
	be16enc(buf + off, ATTR_FINGERPRINT);
	be16enc(buf + off + 2, STUN_FINGERPRINT_LEN);
	be32enc(buf + off + STUN_ATTR_HDR,
	    stun_crc32(buf, off) ^ STUN_FINGERPRINT_XOR);
	return (total);
}

static size_t
stun_header(uint8_t *buf, size_t len, uint16_t type,
    const uint8_t txid[STUN_TXID_LEN])
{
	if (buf == NULL || txid == NULL || len < STUN_HEADER_LEN)
		return (0);
	be16enc(buf + STUN_TYPE_OFF, type);
	be16enc(buf + STUN_LENGTH_OFF, 0);
	be32enc(buf + STUN_COOKIE_OFF, STUN_MAGIC_COOKIE);
	memcpy(buf + STUN_TXID_OFF, txid, STUN_TXID_LEN);
	return (STUN_HEADER_LEN);
}

size_t
stun_build_request(uint8_t *buf, size_t len,
    const uint8_t txid[STUN_TXID_LEN])
{
	if (stun_header(buf, len, STUN_BINDING_REQUEST, txid) == 0)
		return (0);
	return (stun_finish(buf, len));
}

int
stun_parse_request(const uint8_t *buf, size_t len,
    uint8_t txid[STUN_TXID_LEN])
{
	struct stun_attrs	 a;

	if (stun_walk(buf, len, STUN_BINDING_REQUEST, IN_REQUEST, NULL,
	    &a) == -1)
		return (-1);
	memcpy(txid, buf + STUN_TXID_OFF, STUN_TXID_LEN);
	return (0);
}

size_t
stun_build_response(uint8_t *buf, size_t len,
    const uint8_t txid[STUN_TXID_LEN], const struct sockaddr *sa)
{
	return (stun_build_response_alt(buf, len, txid, sa, 0));
}

size_t
stun_build_response_alt(uint8_t *buf, size_t len,
    const uint8_t txid[STUN_TXID_LEN], const struct sockaddr *sa,
    uint16_t alt_port)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*addr, *mask;
	uint8_t				*v;
	size_t				 alen, vlen, i;
	uint16_t			 port;
	uint8_t				 family;

	if (sa == NULL)
		return (0);
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		addr = (const uint8_t *)&sin->sin_addr;
		port = ntohs(sin->sin_port);
		family = STUN_FAMILY_INET;
		vlen = STUN_ADDR4_LEN;
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		addr = (const uint8_t *)&sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
		family = STUN_FAMILY_INET6;
		vlen = STUN_ADDR6_LEN;
		break;
	default:
		return (0);
	}
	if (stun_header(buf, len, STUN_BINDING_SUCCESS, txid) == 0 ||
	    len - STUN_HEADER_LEN < STUN_ATTR_HDR + vlen +
	    (alt_port != 0 ? STUN_ATTR_HDR + STUN_ALT_PORT_LEN : 0))
		return (0);

	v = buf + STUN_HEADER_LEN + STUN_ATTR_HDR;
	be16enc(v - STUN_ATTR_HDR, ATTR_XOR_MAPPED_ADDRESS);
	be16enc(v - STUN_ATTR_HDR + 2, vlen);
	v[0] = 0;
	v[1] = family;
	be16enc(v + 2, port ^ (STUN_MAGIC_COOKIE >> 16));
	alen = vlen - STUN_ADDR_HDR;
	mask = buf + STUN_COOKIE_OFF;
	for (i = 0; i < alen; i++)
		v[STUN_ADDR_HDR + i] = addr[i] ^ mask[i];
	be16enc(buf + STUN_LENGTH_OFF, STUN_ATTR_HDR + vlen);
	if (alt_port != 0) {
		v += vlen + STUN_ATTR_HDR;
		be16enc(v - STUN_ATTR_HDR, STUN_ATTR_ALT_PORT);
		be16enc(v - STUN_ATTR_HDR + 2, STUN_ALT_PORT_LEN);
		be16enc(v, alt_port);
		be16enc(v + 2, 0);
		be16enc(buf + STUN_LENGTH_OFF, 2 * STUN_ATTR_HDR + vlen +
		    STUN_ALT_PORT_LEN);
	}
	return (stun_finish(buf, len));
}

int
stun_parse_response(const uint8_t *buf, size_t len,
    const uint8_t txid[STUN_TXID_LEN], struct sockaddr_storage *ss)
{
	uint16_t	 alt_port;

	return (stun_parse_response_alt(buf, len, txid, ss, &alt_port));
}

int
stun_parse_response_alt(const uint8_t *buf, size_t len,
    const uint8_t txid[STUN_TXID_LEN], struct sockaddr_storage *ss,
    uint16_t *alt_port)
{
	struct stun_attrs	 a;
	int			 rc;

	*alt_port = 0;
	if (stun_walk(buf, len, STUN_BINDING_SUCCESS, IN_RESPONSE, txid,
	    &a) == -1)
		return (-1);
	if (a.xor_mapped != NULL)
		rc = stun_addr_decode(a.xor_mapped, a.xor_mapped_len, 1, buf,
		    ss);
	else if (a.mapped != NULL)
		rc = stun_addr_decode(a.mapped, a.mapped_len, 0, buf, ss);
	else
		rc = -1;
	if (rc == 0 && a.alt_port != NULL &&
	    a.alt_port_len == STUN_ALT_PORT_LEN)
		*alt_port = be16dec(a.alt_port);
	return (rc);
}

static const char *const nat_mapping_names[NAT_MAP_MAX] = {
	[NAT_MAP_UNKNOWN] =	"unknown",
	[NAT_MAP_INDEPENDENT] =	"independent",
	[NAT_MAP_SYMMETRIC] =	"symmetric",
};

const char *
nat_mapping_name(int m)
{
	if (m < 0 || m >= NAT_MAP_MAX)
		return (nat_mapping_names[NAT_MAP_UNKNOWN]);
	return (nat_mapping_names[m]);
}

int
nat_mapping_parse(const char *s)
{
	int	 m;

	for (m = 0; m < NAT_MAP_MAX; m++)
		if (strcmp(s, nat_mapping_names[m]) == 0)
			return (m);
	return (-1);
}

int
nat_mapping_of(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a;
	const struct sockaddr_in	*b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a;
	const struct sockaddr_in6	*b6 = (const void *)b;

	if ((a->ss_family != AF_INET && a->ss_family != AF_INET6) ||
	    (b->ss_family != AF_INET && b->ss_family != AF_INET6))
		return (NAT_MAP_UNKNOWN);
	if (a->ss_family != b->ss_family)
		return (NAT_MAP_SYMMETRIC);
	if (a->ss_family == AF_INET)
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr ?
		    NAT_MAP_INDEPENDENT : NAT_MAP_SYMMETRIC);
	return (a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr,
	    sizeof(a6->sin6_addr)) == 0 ? NAT_MAP_INDEPENDENT :
	    NAT_MAP_SYMMETRIC);
}
