/*
 * The engine's check of a decrypted packet (wg_inner_check in
 * lib/wg_allowedips.c, what cbp2pd/receive.c does before the tun write)
 * against a naive model: the IPv4 or IPv6 header's own length within
 * what was decrypted, and the source's longest prefix in a plain list
 * owned by the peer it came from.  An accepted packet's source lies
 * inside one of that peer's prefixes and no longer prefix of another
 * peer covers it; its length is the header's, never past the bytes.
 *
 * Input: a count of prefixes, then each (flags: owner and family; pool
 * index; length), then packets to the end: (from whom, how built) and
 * either raw bytes or a header built around a pool address with the
 * input's length field, tweak and padding.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg.h"
#include "fuzz.h"

#define ADDR_MAX	16
#define POOL		4
#define NPEERS		4
#define PREFIXES_MAX	32
#define PACKETS_MAX	64
#define RAW_MAX		128
#define PAD_MAX		64
#define V4_HDR		20
#define V6_HDR		40
#define V4_OFF_LEN	2
#define V4_OFF_SRC	12
#define V6_OFF_LEN	4
#define V6_OFF_SRC	8
#define LEN_UNSET	((size_t)-1)

enum build {
	BUILD_RAW,
	BUILD_V4,
	BUILD_V6,
	BUILD_MAX
};

struct entry {
	int		 family;
	uint8_t		 key[ADDR_MAX];
	unsigned int	 cidr;
	void		*peer;
};

/* Nesting and colliding addresses: prefixes of one another. */
static const uint8_t pool4[POOL][ADDR_MAX] = {
	{ 10, 0, 0, 1 }, { 10, 0, 1, 2 }, { 10, 128, 0, 0 }, { 192, 0, 2, 7 }
};
static const uint8_t pool6[POOL][ADDR_MAX] = {
	{ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	{ 0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2 },
	{ 0xfd, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 }
};

static char		 peers[NPEERS];
static struct entry	 model[PREFIXES_MAX];
static size_t		 nmodel;

/* The same prefix again takes the new owner, as the trie does. */
static void
model_insert(int family, const uint8_t *key, unsigned int cidr, void *peer)
{
	size_t	 i;

	for (i = 0; i < nmodel; i++)
		if (model[i].family == family && model[i].cidr == cidr &&
		    memcmp(model[i].key, key, ADDR_MAX) == 0) {
			model[i].peer = peer;
			return;
		}
	model[nmodel].family = family;
	memcpy(model[nmodel].key, key, ADDR_MAX);
	model[nmodel].cidr = cidr;
	model[nmodel].peer = peer;
	nmodel++;
}

static const struct entry *
model_lookup(int family, const uint8_t *addr)
{
	const struct entry	*best = NULL;
	size_t			 i;

	for (i = 0; i < nmodel; i++)
		if (model[i].family == family &&
		    fz_covers(model[i].key, addr, model[i].cidr) &&
		    (best == NULL || model[i].cidr > best->cidr))
			best = &model[i];
	return (best);
}

/* The model's reading of a header: 0 and its family, source, length. */
static int
model_header(const uint8_t *p, size_t plen, int *family, uint8_t *src,
    size_t *len)
{
	size_t	 l;

	memset(src, 0, ADDR_MAX);
	if (plen >= V4_HDR && (p[0] & 0xf0) == 0x40) {
		*family = AF_INET;
		memcpy(src, p + V4_OFF_SRC, FZ_V4_BITS / 8);
		l = p[V4_OFF_LEN] * 256 + p[V4_OFF_LEN + 1];
	} else if (plen >= V6_HDR && (p[0] & 0xf0) == 0x60) {
		*family = AF_INET6;
		memcpy(src, p + V6_OFF_SRC, FZ_V6_BITS / 8);
		l = V6_HDR + p[V6_OFF_LEN] * 256 + p[V6_OFF_LEN + 1];
	} else
		return (-1);
	if (l > plen || l < V4_HDR)
		return (-1);
	*len = l;
	return (0);
}

/* A header around a pool address, or raw bytes: into buf, its length. */
static size_t
build(struct fz *f, enum build how, uint8_t *buf, size_t cap)
{
	const uint8_t	*addr;
	size_t		 hdr, len, pad, off_len, off_src, n;
	uint16_t	 field;
	uint8_t		 sel;

	if (how == BUILD_RAW) {
		n = fz_u8(f) % (RAW_MAX + 1);
		return (fz_copy(f, buf, n));
	}
	sel = fz_u8(f);
	hdr = how == BUILD_V4 ? V4_HDR : V6_HDR;
	off_len = how == BUILD_V4 ? V4_OFF_LEN : V6_OFF_LEN;
	off_src = how == BUILD_V4 ? V4_OFF_SRC : V6_OFF_SRC;
	addr = how == BUILD_V4 ? pool4[sel % POOL] : pool6[sel % POOL];
	/* Low bits: the payload; high bits: a field that lies, or not. */
	len = hdr + fz_u8(f) % PAD_MAX;
	pad = fz_u8(f) % PAD_MAX;
	FZ_CHECK(len + pad <= cap);
	memset(buf, 0, len + pad);
	fz_copy(f, buf + hdr, len - hdr);
	buf[0] = how == BUILD_V4 ? 0x45 : 0x60;
	memcpy(buf + off_src, addr, hdr == V4_HDR ? FZ_V4_BITS / 8 :
	    FZ_V6_BITS / 8);
	/* A tweak of the source's last byte leaves or enters a prefix. */
	buf[off_src + (hdr == V4_HDR ? 3 : 15)] ^= fz_u8(f);
	field = (uint16_t)(how == BUILD_V4 ? len : len - hdr);
	if (sel & 0x80)
		field = fz_u16(f);
	buf[off_len] = field >> 8;
	buf[off_len + 1] = field & 0xff;
	return (len + pad);
}

static void
check_packet(const struct wg_aip *t, void *peer, const uint8_t *bytes,
    size_t plen)
{
	const struct entry	*best;
	uint8_t			*pkt, src[ADDR_MAX];
	size_t			 len = LEN_UNSET, want = 0, i;
	enum wg_inner		 rc;
	int			 family = 0, covered = 0;

	/* Exactly plen bytes on the heap: ASan sees every overread. */
	pkt = fz_dup(bytes, plen);
	rc = wg_inner_check(t, peer, pkt, plen, &len);
	if (model_header(pkt, plen, &family, src, &want) == -1) {
		FZ_CHECK(rc == WG_INNER_MALFORMED && len == LEN_UNSET);
		goto done;
	}
	best = model_lookup(family, src);
	if (best == NULL || best->peer != peer) {
		FZ_CHECK(rc == WG_INNER_NOT_ALLOWED && len == LEN_UNSET);
		goto done;
	}
	FZ_CHECK(rc == WG_INNER_OK);
	FZ_CHECK(len == want && len <= plen);
	FZ_CHECK(len >= (family == AF_INET ? V4_HDR : V6_HDR));
	/* Inside a prefix of its own, under no longer one of another. */
	for (i = 0; i < nmodel; i++) {
		if (model[i].family != family ||
		    !fz_covers(model[i].key, src, model[i].cidr))
			continue;
		if (model[i].peer == peer)
			covered = 1;
		else
			FZ_CHECK(model[i].cidr < best->cidr);
	}
	FZ_CHECK(covered);
done:
	free(pkt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_aip	 t;
	struct fz	 f;
	uint8_t		 key[ADDR_MAX], buf[V6_HDR + 2 * PAD_MAX + RAW_MAX];
	size_t		 n, i, plen;
	unsigned int	 cidr, bits;
	uint8_t		 flags, sel;
	int		 family;

	fz_init(&f, data, size);
	wg_aip_init(&t, 0);
	nmodel = 0;
	n = fz_u8(&f) % (PREFIXES_MAX + 1);
	for (i = 0; i < n; i++) {
		flags = fz_u8(&f);
		sel = fz_u8(&f);
		family = flags & 1 ? AF_INET6 : AF_INET;
		bits = fz_family_bits(family);
		cidr = fz_u8(&f) % (bits + 1);
		memcpy(key, family == AF_INET ? pool4[sel % POOL] :
		    pool6[sel % POOL], ADDR_MAX);
		/* The high bits of sel move the address off the pool. */
		key[bits / 8 - 1] ^= sel >> 2;
		fz_mask(key, cidr, bits);
		FZ_CHECK(wg_aip_insert(&t, family, key, cidr,
		    &peers[(flags >> 1) % NPEERS]) == WG_OK);
		model_insert(family, key, cidr, &peers[(flags >> 1) % NPEERS]);
	}
	for (i = 0; i < PACKETS_MAX && f.left > 0; i++) {
		flags = fz_u8(&f);
		plen = build(&f, (flags >> 2) % BUILD_MAX, buf, sizeof(buf));
		check_packet(&t, &peers[flags % NPEERS], buf, plen);
	}
	wg_aip_clear(&t);
	return (0);
}
