/*
 * Segmentation offload for the tun device (offload.h).  The rules are
 * those of the kernel's own TCP segmentation: every segment gets the
 * super-packet's headers, its own IP length, the next IPv4 ID and
 * sequence number, FIN and PSH only on the last segment, CWR only on
 * the first, and full checksums, since the peer's kernel reads them from
 * its tun as if they came off a wire.  A UDP super-packet (USO) is cut
 * the same way into datagrams, each with its own UDP length and sum.
 */

#include <sys/endian.h>

#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CSUM_AVX2	1
#endif

#include "offload.h"

#define IPV4_HDR_MIN		20
#define IPV6_HDR_LEN		40
#define TCP_HDR_MIN		20
#define PROTO_TCP		6
#define PROTO_UDP		17
#define UDP_HDR_LEN		8
#define UDP_OFF_LEN		4
#define UDP_OFF_CSUM		6
#define UDP_CSUM_ZERO		0xffff	/* a computed 0 goes out as this */
#define IPV4_OFF_LEN		2
#define IPV4_OFF_ID		4
#define IPV4_OFF_CSUM		10
#define IPV4_OFF_SRC		12
#define IPV4_ADDRS_LEN		8
#define IPV6_OFF_PLEN		4
#define IPV6_OFF_NEXT		6
#define IPV6_OFF_SRC		8
#define IPV6_ADDRS_LEN		32
#define TCP_OFF_SEQ		4
#define TCP_OFF_DOFF		12
#define TCP_OFF_FLAGS		13
#define TCP_OFF_CSUM		16
#define TCP_FIN			0x01
#define TCP_PSH			0x08
#define TCP_ACK			0x10
#define TCP_CWR			0x80
#define IPV4_OFF_TOS		1
#define IPV4_OFF_FRAG		6
#define IPV4_OFF_TTL		8
#define IPV4_DF			0x40
#define IPV4_FRAG_MASK		0x3fff	/* MF and the offset */
#define IPV6_FLOW_LEN		4	/* version, class, label */
#define IPV6_OFF_HOPS		7
#define TCP_OFF_PORTS		0
#define TCP_PORTS_LEN		4

void
vnet_hdr_get(const uint8_t *p, struct vnet_hdr *h)
{
	h->flags = p[0];
	h->gso_type = p[1];
	memcpy(&h->hdr_len, p + 2, 2);
	memcpy(&h->gso_size, p + 4, 2);
	memcpy(&h->csum_start, p + 6, 2);
	memcpy(&h->csum_offset, p + 8, 2);
}

void
vnet_hdr_put(uint8_t *p, const struct vnet_hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	memcpy(p + 2, &h->hdr_len, 2);
	memcpy(p + 4, &h->gso_size, 2);
	memcpy(p + 6, &h->csum_start, 2);
	memcpy(p + 8, &h->csum_offset, 2);
}

/*
 * The sum of p's len bytes as 32-bit words in host order, len a
 * multiple of CSUM_BLOCK, also copied to dst unless it is NULL: the
 * part of a checksum that costs.  AVX2 takes 32 bytes a step where the
 * CPU has it (a quarter of the scalar loop's time per 1400 bytes), so a
 * segment is copied and summed in one pass; elsewhere csum_sum()'s own
 * loop takes every word.
 */
#define CSUM_BLOCK	32

#ifdef CSUM_AVX2
__attribute__((target("avx2")))
static uint64_t
csum_block_avx2(uint8_t *dst, const uint8_t *p, size_t len)
{
	const __m256i	 zero = _mm256_setzero_si256();
	__m256i		 v, lo = zero, hi = zero;
	uint64_t	 lanes[4];

	/* Each 64-bit lane adds at most 2^32 a step: 64 KiB cannot wrap. */
	for (; len >= CSUM_BLOCK; len -= CSUM_BLOCK, p += CSUM_BLOCK) {
		v = _mm256_loadu_si256((const __m256i *)(const void *)p);
		if (dst != NULL) {
			_mm256_storeu_si256((__m256i *)(void *)dst, v);
			dst += CSUM_BLOCK;
		}
		lo = _mm256_add_epi64(lo, _mm256_unpacklo_epi32(v, zero));
		hi = _mm256_add_epi64(hi, _mm256_unpackhi_epi32(v, zero));
	}
	_mm256_storeu_si256((__m256i *)(void *)lanes, _mm256_add_epi64(lo,
	    hi));
	return (lanes[0] + lanes[1] + lanes[2] + lanes[3]);
}
#endif

/*
 * The one's complement sum of p as big-endian 16-bit words, plus sum,
 * folded to 16 bits (not complemented); p is also copied to dst unless
 * it is NULL.  Words are added four bytes at a time in host order: 2^16
 * is 1 modulo 0xffff, so a 32-bit word is the sum of its halves, and
 * the byte order only swaps the result.
 */
static uint32_t
csum_sum(uint8_t *dst, const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t	 acc = 0;
	uint32_t	 w;
	uint16_t	 h;
	uint8_t		 last[2];
#ifdef CSUM_AVX2
	size_t		 bulk = len - len % CSUM_BLOCK;

	if (bulk > 0 && __builtin_cpu_supports("avx2")) {
		acc = csum_block_avx2(dst, p, bulk);
		p += bulk;
		len -= bulk;
		if (dst != NULL)
			dst += bulk;
	}
#endif
	if (dst != NULL && len > 0)
		memcpy(dst, p, len);
	while (len >= sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		acc += w;
		p += sizeof(w);
		len -= sizeof(w);
	}
	if (len >= sizeof(h)) {
		memcpy(&h, p, sizeof(h));
		acc += h;
		p += sizeof(h);
		len -= sizeof(h);
	}
	if (len > 0) {
		last[0] = p[0];
		last[1] = 0;
		memcpy(&h, last, sizeof(h));
		acc += h;
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	acc = ntohs((uint16_t)acc) + (uint64_t)sum;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return ((uint32_t)acc);
}

uint32_t
csum_partial(const uint8_t *p, size_t len, uint32_t sum)
{
	return (csum_sum(NULL, p, len, sum));
}

uint32_t
csum_copy(uint8_t *dst, const uint8_t *src, size_t len, uint32_t sum)
{
	return (csum_sum(dst, src, len, sum));
}

uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)~sum);
}

int
offload_csum(uint8_t *pkt, size_t len, const struct vnet_hdr *h)
{
	size_t		 start = h->csum_start, field = start + h->csum_offset;
	uint16_t	 c;

	if (start >= len || field + 2 > len)
		return (-1);
	c = csum_fold(csum_partial(pkt + start, len - start, 0));
	be16enc(pkt + field, c);
	return (0);
}

/*
 * The super-packet's layout: transport offset, header length and
 * protocol.  TCP (TSO) or UDP (USO, gso_type UDP_L4: datagrams of
 * gso_size bytes of payload each, the last shorter).
 */
static int
tso_layout(const struct vnet_hdr *h, const uint8_t *pkt, size_t len,
    size_t *l4, size_t *hdrlen, int *proto)
{
	int	 type = h->gso_type & ~VNET_GSO_ECN;
	size_t	 thl;

	if (h->gso_size == 0)
		return (-1);
	if (type == VNET_GSO_TCPV4 || (type == VNET_GSO_UDP_L4 &&
	    len >= IPV4_HDR_MIN && (pkt[0] >> 4) == 4)) {
		*proto = type == VNET_GSO_TCPV4 ? PROTO_TCP : PROTO_UDP;
		if (len < IPV4_HDR_MIN || (pkt[0] >> 4) != 4 ||
		    pkt[9] != *proto)
			return (-1);
		*l4 = (size_t)(pkt[0] & 0x0f) * 4;
		if (*l4 < IPV4_HDR_MIN)
			return (-1);
	} else if (type == VNET_GSO_TCPV6 || type == VNET_GSO_UDP_L4) {
		*proto = type == VNET_GSO_TCPV6 ? PROTO_TCP : PROTO_UDP;
		/* No extension headers: the kernel's GSO puts none here. */
		if (len < IPV6_HDR_LEN || (pkt[0] >> 4) != 6 ||
		    pkt[IPV6_OFF_NEXT] != *proto)
			return (-1);
		*l4 = IPV6_HDR_LEN;
	} else
		return (-1);
	if (*proto == PROTO_UDP) {
		if (*l4 + UDP_HDR_LEN > len)
			return (-1);
		*hdrlen = *l4 + UDP_HDR_LEN;
		return (0);
	}
	if (*l4 + TCP_HDR_MIN > len)
		return (-1);
	thl = (size_t)(pkt[*l4 + TCP_OFF_DOFF] >> 4) * 4;
	if (thl < TCP_HDR_MIN || *l4 + thl > len)
		return (-1);
	*hdrlen = *l4 + thl;
	return (0);
}

static int
seg_count(const struct vnet_hdr *h, size_t len, size_t hdrlen)
{
	size_t	 payload = len - hdrlen;

	if (payload == 0)
		return (1);
	return ((int)((payload + h->gso_size - 1) / h->gso_size));
}

int
tso_count(const struct vnet_hdr *h, const uint8_t *pkt, size_t len)
{
	size_t	 l4, hdrlen;
	int	 proto;

	if (tso_layout(h, pkt, len, &l4, &hdrlen, &proto) == -1)
		return (-1);
	return (seg_count(h, len, hdrlen));
}

size_t
tso_segment(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, int i,
    uint8_t *out, size_t cap)
{
	size_t		 l4, hdrlen, payload, off, chunk, seglen, l4len;
	uint32_t	 sum, psum;
	uint16_t	 c;
	int		 n, v4, proto;

	if (tso_layout(h, pkt, len, &l4, &hdrlen, &proto) == -1)
		return (0);
	if (i < 0 || i >= (n = seg_count(h, len, hdrlen)))
		return (0);
	payload = len - hdrlen;
	off = (size_t)i * h->gso_size;
	chunk = payload - off < h->gso_size ? payload - off : h->gso_size;
	seglen = hdrlen + chunk;
	if (seglen > cap)
		return (0);
	memcpy(out, pkt, hdrlen);
	/* The payload copied and summed in one pass; it starts even. */
	psum = csum_copy(out + hdrlen, pkt + hdrlen + off, chunk, 0);
	l4len = seglen - l4;
	v4 = (pkt[0] >> 4) == 4;
	if (v4) {
		be16enc(out + IPV4_OFF_LEN, (uint16_t)seglen);
		be16enc(out + IPV4_OFF_ID, (uint16_t)(be16dec(pkt + IPV4_OFF_ID) +
		    i));
		be16enc(out + IPV4_OFF_CSUM, 0);
		be16enc(out + IPV4_OFF_CSUM, csum_fold(csum_partial(out, l4,
		    0)));
		sum = csum_partial(out + IPV4_OFF_SRC, IPV4_ADDRS_LEN, 0);
	} else {
		be16enc(out + IPV6_OFF_PLEN, (uint16_t)(seglen - IPV6_HDR_LEN));
		sum = csum_partial(out + IPV6_OFF_SRC, IPV6_ADDRS_LEN, 0);
	}
	/* The pseudo-header: addresses, protocol, transport length. */
	sum += (uint32_t)proto + (uint32_t)l4len + psum;
	if (proto == PROTO_UDP) {
		be16enc(out + l4 + UDP_OFF_LEN, (uint16_t)l4len);
		be16enc(out + l4 + UDP_OFF_CSUM, 0);
		if ((c = csum_fold(csum_partial(out + l4, hdrlen - l4,
		    sum))) == 0)
			c = UDP_CSUM_ZERO;
		be16enc(out + l4 + UDP_OFF_CSUM, c);
		return (seglen);
	}
	be32enc(out + l4 + TCP_OFF_SEQ, be32dec(pkt + l4 + TCP_OFF_SEQ) +
	    (uint32_t)off);
	if (i != n - 1)
		out[l4 + TCP_OFF_FLAGS] &= ~(TCP_FIN | TCP_PSH);
	if (i != 0)
		out[l4 + TCP_OFF_FLAGS] &= ~TCP_CWR;
	be16enc(out + l4 + TCP_OFF_CSUM, 0);
	be16enc(out + l4 + TCP_OFF_CSUM, csum_fold(csum_partial(out + l4,
	    hdrlen - l4, sum)));
	return (seglen);
}

void
gso_msg_start(struct gso_msg *m, size_t len, uint32_t sp)
{
	m->seglen = m->bytes = len;
	m->nseg = 1;
	m->sp = sp;
	m->closed = 0;
}

/* maxbytes: UDP_GSO_BYTES_MAX4 or 6, by the socket's family. */
int
gso_msg_add(struct gso_msg *m, size_t len, uint32_t sp, size_t maxbytes)
{
	if (m->closed || sp != m->sp || len > m->seglen ||
	    m->nseg >= UDP_GSO_SEGS_MAX || m->bytes + len > maxbytes)
		return (0);
	m->nseg++;
	m->bytes += len;
	/* Only the last datagram may be shorter. */
	m->closed = len < m->seglen;
	return (1);
}

/* Under the IPv4 limit, the lower: a peer may be of either family. */
unsigned int
offload_tso_segs(size_t dgram_max)
{
	size_t	 n;

	if (dgram_max == 0)
		return (UDP_GSO_SEGS_MAX);
	n = UDP_GSO_BYTES_MAX4 / dgram_max;
	if (n > UDP_GSO_SEGS_MAX)
		n = UDP_GSO_SEGS_MAX;
	return (n > 0 ? (unsigned int)n : 1);
}

/*
 * Whether pkt can be coalesced at all, and its layout: a whole TCP
 * segment with a payload, flags ACK or ACK|PSH, no IP options or
 * fragments.  -1 when it goes to the tun alone.
 */
int
gro_parse(const uint8_t *pkt, size_t len, struct gro_info *gi)
{
	size_t	 thl, iplen;

	memset(gi, 0, sizeof(*gi));
	if (len >= IPV4_HDR_MIN && (pkt[0] >> 4) == 4) {
		if ((pkt[0] & 0x0f) != IPV4_HDR_MIN / 4 ||
		    pkt[9] != PROTO_TCP ||
		    (be16dec(pkt + IPV4_OFF_FRAG) & IPV4_FRAG_MASK) != 0)
			return (-1);
		iplen = be16dec(pkt + IPV4_OFF_LEN);
		gi->v4 = 1;
		gi->l4 = IPV4_HDR_MIN;
	} else if (len >= IPV6_HDR_LEN && (pkt[0] >> 4) == 6) {
		if (pkt[IPV6_OFF_NEXT] != PROTO_TCP)
			return (-1);
		iplen = IPV6_HDR_LEN + be16dec(pkt + IPV6_OFF_PLEN);
		gi->l4 = IPV6_HDR_LEN;
	} else
		return (-1);
	if (iplen != len || gi->l4 + TCP_HDR_MIN > len)
		return (-1);
	thl = (size_t)(pkt[gi->l4 + TCP_OFF_DOFF] >> 4) * 4;
	if (thl < TCP_HDR_MIN || gi->l4 + thl >= len)
		return (-1);
	gi->hdrlen = gi->l4 + thl;
	gi->payload = len - gi->hdrlen;
	gi->seq = be32dec(pkt + gi->l4 + TCP_OFF_SEQ);
	gi->flags = pkt[gi->l4 + TCP_OFF_FLAGS];
	if (gi->flags != TCP_ACK && gi->flags != (TCP_ACK | TCP_PSH))
		return (-1);
	return (0);
}

/* Same addresses and ports. */
int
gro_same_flow(const uint8_t *a, const struct gro_info *ai, const uint8_t *b,
    const struct gro_info *bi)
{
	if (ai->v4 != bi->v4)
		return (0);
	if (ai->v4 ? memcmp(a + IPV4_OFF_SRC, b + IPV4_OFF_SRC,
	    IPV4_ADDRS_LEN) != 0 : memcmp(a + IPV6_OFF_SRC, b + IPV6_OFF_SRC,
	    IPV6_ADDRS_LEN) != 0)
		return (0);
	return (memcmp(a + ai->l4 + TCP_OFF_PORTS, b + bi->l4 + TCP_OFF_PORTS,
	    TCP_PORTS_LEN) == 0);
}

/*
 * Whether b may follow a run that starts with head (hi) and ends with
 * prev (pi), total bytes of payload so far, in one super-packet.
 */
int
gro_follows(const uint8_t *head, const struct gro_info *hi,
    const struct gro_info *pi, size_t total, const uint8_t *b,
    const struct gro_info *bi)
{
	if (!gro_same_flow(head, hi, b, bi) || bi->hdrlen != hi->hdrlen ||
	    bi->seq != pi->seq + (uint32_t)pi->payload ||
	    (pi->flags & TCP_PSH) || pi->payload != hi->payload ||
	    bi->payload > hi->payload ||
	    hi->hdrlen + total + bi->payload > OFFLOAD_SUPER_MAX)
		return (0);
	/* The same options, acknowledgment and window. */
	if (memcmp(head + hi->l4 + TCP_OFF_SEQ + 4, b + bi->l4 +
	    TCP_OFF_SEQ + 4, 4) != 0 ||
	    memcmp(head + hi->l4 + TCP_OFF_FLAGS + 1, b + bi->l4 +
	    TCP_OFF_FLAGS + 1, 2) != 0 ||
	    memcmp(head + hi->l4 + TCP_HDR_MIN, b + bi->l4 + TCP_HDR_MIN,
	    hi->hdrlen - hi->l4 - TCP_HDR_MIN) != 0)
		return (0);
	if (hi->v4)
		return (head[IPV4_OFF_TOS] == b[IPV4_OFF_TOS] &&
		    head[IPV4_OFF_TTL] == b[IPV4_OFF_TTL] &&
		    (head[IPV4_OFF_FRAG] & IPV4_DF) == (b[IPV4_OFF_FRAG] &
		    IPV4_DF));
	return (memcmp(head, b, IPV6_FLOW_LEN) == 0 &&
	    head[IPV6_OFF_HOPS] == b[IPV6_OFF_HOPS]);
}

/*
 * The run's first segment becomes the super-packet's headers: IP length
 * for total bytes of payload, the last segment's PSH, the IPv4 header
 * checksum, and a TCP checksum left partial (the pseudo-header sum)
 * with the virtio-net header that says so.
 */
void
gro_finish(uint8_t *head, const struct gro_info *hi, size_t total,
    uint8_t last_flags, struct vnet_hdr *vh)
{
	size_t		 len = hi->hdrlen + total, tcplen = len - hi->l4;
	uint32_t	 sum;

	if (hi->v4) {
		be16enc(head + IPV4_OFF_LEN, (uint16_t)len);
		be16enc(head + IPV4_OFF_CSUM, 0);
		be16enc(head + IPV4_OFF_CSUM, csum_fold(csum_partial(head,
		    hi->l4, 0)));
		sum = csum_partial(head + IPV4_OFF_SRC, IPV4_ADDRS_LEN, 0);
	} else {
		be16enc(head + IPV6_OFF_PLEN, (uint16_t)(len - IPV6_HDR_LEN));
		sum = csum_partial(head + IPV6_OFF_SRC, IPV6_ADDRS_LEN, 0);
	}
	head[hi->l4 + TCP_OFF_FLAGS] |= last_flags & TCP_PSH;
	sum = csum_partial(NULL, 0, sum + PROTO_TCP + (uint32_t)tcplen);
	be16enc(head + hi->l4 + TCP_OFF_CSUM, (uint16_t)sum);
	memset(vh, 0, sizeof(*vh));
	vh->flags = VNET_F_NEEDS_CSUM;
	vh->gso_type = hi->v4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
	vh->hdr_len = (uint16_t)hi->hdrlen;
	vh->gso_size = (uint16_t)hi->payload;
	vh->csum_start = (uint16_t)hi->l4;
	vh->csum_offset = TCP_OFF_CSUM;
}
