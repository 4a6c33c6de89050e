/*
 * Segmentation offload (lib/offload.c) on arbitrary bytes, the two ways
 * a packet crosses it.
 *
 * TSO: a super-packet and its virtio-net header as the tun hands them.
 * tso_segment() never writes past the capacity it is given (the output
 * is a heap buffer of exactly that size), every segment fits it and an
 * IP length, carries its share of the payload at its sequence number
 * with valid IPv4 and TCP checksums; a segment gro_parse() accepts is
 * described consistently; when every segment is accepted they coalesce
 * back, and that super-packet splits into the same segments again.
 *
 * GRO: up to eight packets, coalesced as a receive path would (each
 * that follows the run joins it); every finished run splits back by
 * TSO into segments with the payloads and sequence numbers it was made
 * of, and its partial checksum completes to a valid one.
 *
 * Input: a mode byte, a 10-byte virtio-net header and a be16 capacity
 * (TSO), then the packet; or the mode byte, then packets each behind a
 * be16 length (GRO).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"
#include "fuzz.h"

#define IPV4_HDR_MIN	20
#define IPV6_HDR_LEN	40
#define IP_LEN_MAX	65535
#define PROTO_TCP	6
#define TCP_OFF_SEQ	4
#define TCP_OFF_DOFF	12
#define TCP_OFF_CSUM	16
#define IPV4_OFF_LEN	2
#define IPV4_OFF_SRC	12
#define IPV4_ADDRS_LEN	8
#define IPV6_OFF_PLEN	4
#define IPV6_OFF_SRC	8
#define IPV6_ADDRS_LEN	32
#define SEG_MAX		64	/* segments looked at in full */
#define GRO_PKTS	8

struct layout {
	int		 v4;
	size_t		 l4;
	size_t		 hdrlen;
};

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)get16(p) << 16 | get16(p + 2));
}

/* The layout tso_count() accepted: read here independently. */
static void
layout_of(const uint8_t *pkt, struct layout *ly)
{
	ly->v4 = (pkt[0] >> 4) == 4;
	ly->l4 = ly->v4 ? (size_t)(pkt[0] & 0x0f) * 4 : IPV6_HDR_LEN;
	ly->hdrlen = ly->l4 + (size_t)(pkt[ly->l4 + TCP_OFF_DOFF] >> 4) * 4;
}

/* IP length field, IPv4 header checksum and TCP checksum of a packet. */
static void
check_packet(const uint8_t *p, size_t len, const struct layout *ly)
{
	uint32_t	 sum;
	size_t		 tcplen = len - ly->l4;

	FZ_CHECK(len <= IP_LEN_MAX);
	if (ly->v4) {
		FZ_CHECK(get16(p + IPV4_OFF_LEN) == len);
		FZ_CHECK(csum_fold(csum_partial(p, ly->l4, 0)) == 0);
		sum = csum_partial(p + IPV4_OFF_SRC, IPV4_ADDRS_LEN, 0);
	} else {
		FZ_CHECK(get16(p + IPV6_OFF_PLEN) == len - IPV6_HDR_LEN);
		sum = csum_partial(p + IPV6_OFF_SRC, IPV6_ADDRS_LEN, 0);
	}
	sum += PROTO_TCP + (uint32_t)tcplen;
	FZ_CHECK(csum_fold(csum_partial(p + ly->l4, tcplen, sum)) == 0);
}

/* Segment i of a super-packet split by h: it, or NULL (then *lenp 0). */
static uint8_t *
segment(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, int i,
    size_t cap, size_t *lenp)
{
	uint8_t	*out;

	if ((out = malloc(cap > 0 ? cap : 1)) == NULL)
		abort();
	*lenp = tso_segment(h, pkt, len, i, out, cap);
	FZ_CHECK(*lenp <= cap);
	if (*lenp == 0) {
		free(out);
		return (NULL);
	}
	return (out);
}

/*
 * Coalesce segs[0, n) (each accepted by gro_parse, gi[]) into one
 * super-packet, as a receive path would; its length in *lenp.
 */
static uint8_t *
coalesce(uint8_t **segs, const struct gro_info *gi, int n,
    struct vnet_hdr *vh, size_t *lenp)
{
	uint8_t	*super;
	size_t	 total = 0, off;
	int	 i;

	for (i = 0; i < n; i++)
		total += gi[i].payload;
	*lenp = gi[0].hdrlen + total;
	if ((super = malloc(*lenp)) == NULL)
		abort();
	memcpy(super, segs[0], gi[0].hdrlen + gi[0].payload);
	off = gi[0].hdrlen + gi[0].payload;
	for (i = 1; i < n; i++) {
		memcpy(super + off, segs[i] + gi[i].hdrlen, gi[i].payload);
		off += gi[i].payload;
	}
	gro_finish(super, &gi[0], total, gi[n - 1].flags, vh);
	return (super);
}

static void
fuzz_tso(struct fz *f)
{
	struct vnet_hdr	 h, vh;
	struct gro_info	 gi[SEG_MAX];
	struct layout	 ly, sly;
	uint8_t		 hb[VNET_HDR_LEN], *pkt;
	uint8_t		*segs[SEG_MAX] = { NULL };
	uint8_t		*super, *again;
	size_t		 len, cap, slen, alen, payload, off, chunk;
	size_t		 superlen;
	int		 n, i, k, all = 1;

	fz_copy(f, hb, sizeof(hb));
	vnet_hdr_get(hb, &h);
	cap = fz_u16(f);
	len = f->left < OFFLOAD_SUPER_MAX ? f->left : OFFLOAD_SUPER_MAX;
	pkt = fz_dup(f->p, len);

	/* A partial checksum completed in place stays inside the packet. */
	(void)offload_csum(pkt, len, &h);

	if ((n = tso_count(&h, pkt, len)) == -1) {
		FZ_CHECK(tso_segment(&h, pkt, len, 0, hb, sizeof(hb)) == 0);
		free(pkt);
		return;
	}
	FZ_CHECK(n >= 1);
	layout_of(pkt, &ly);
	FZ_CHECK(ly.hdrlen <= len);
	payload = len - ly.hdrlen;
	FZ_CHECK(tso_segment(&h, pkt, len, n, hb, sizeof(hb)) == 0);
	FZ_CHECK(tso_segment(&h, pkt, len, -1, hb, sizeof(hb)) == 0);

	for (k = 0; k < n && k < SEG_MAX; k++) {
		/* The first and the last SEG_MAX / 2 of a long split. */
		i = n <= SEG_MAX || k < SEG_MAX / 2 ? k : n - SEG_MAX + k;
		off = (size_t)i * h.gso_size;
		chunk = payload - off < h.gso_size ? payload - off :
		    h.gso_size;
		segs[k] = segment(&h, pkt, len, i, cap, &slen);
		if (segs[k] == NULL) {
			/* Refused only when it does not fit. */
			FZ_CHECK(ly.hdrlen + chunk > cap);
			all = 0;
			continue;
		}
		FZ_CHECK(slen == ly.hdrlen + chunk);
		FZ_CHECK(memcmp(segs[k] + ly.hdrlen, pkt + ly.hdrlen + off,
		    chunk) == 0);
		FZ_CHECK(get32(segs[k] + ly.l4 + TCP_OFF_SEQ) ==
		    get32(pkt + ly.l4 + TCP_OFF_SEQ) + (uint32_t)off);
		check_packet(segs[k], slen, &ly);
		if (gro_parse(segs[k], slen, &gi[k]) == -1) {
			all = 0;
			continue;
		}
		FZ_CHECK(gi[k].v4 == ly.v4 && gi[k].l4 == ly.l4);
		FZ_CHECK(gi[k].hdrlen == ly.hdrlen);
		FZ_CHECK(gi[k].payload == chunk);
		FZ_CHECK(gi[k].seq == get32(pkt + ly.l4 + TCP_OFF_SEQ) +
		    (uint32_t)off);
	}

	/* Every segment accepted: they follow, and round-trip whole. */
	if (all && n <= SEG_MAX) {
		for (k = 1; k < n; k++)
			FZ_CHECK(gro_follows(segs[0], &gi[0], &gi[k - 1],
			    (size_t)k * gi[0].payload, segs[k], &gi[k]));
		super = coalesce(segs, gi, n, &vh, &superlen);
		FZ_CHECK(superlen == len);
		FZ_CHECK(memcmp(super + ly.hdrlen, pkt + ly.hdrlen,
		    payload) == 0);
		FZ_CHECK(tso_count(&vh, super, superlen) == n);
		layout_of(super, &sly);
		FZ_CHECK(sly.hdrlen == ly.hdrlen);
		for (k = 0; k < n; k++) {
			again = segment(&vh, super, superlen, k, cap, &alen);
			FZ_CHECK(again != NULL);
			FZ_CHECK(alen == ly.hdrlen + gi[k].payload);
			FZ_CHECK(memcmp(again, segs[k], alen) == 0);
			free(again);
		}
		free(super);
	}
	for (k = 0; k < SEG_MAX; k++)
		free(segs[k]);
	free(pkt);
}

/* A run of packets that coalesced splits back into them. */
static void
check_run(uint8_t **pkts, const struct gro_info *gi, int n)
{
	struct vnet_hdr	 vh;
	struct layout	 ly;
	uint8_t		*super, *seg;
	size_t		 superlen, slen;
	int		 i;

	super = coalesce(pkts, gi, n, &vh, &superlen);
	FZ_CHECK(superlen <= OFFLOAD_SUPER_MAX);
	FZ_CHECK(vh.csum_start == gi[0].l4);
	FZ_CHECK(tso_count(&vh, super, superlen) == n);
	layout_of(super, &ly);
	FZ_CHECK(ly.hdrlen == gi[0].hdrlen);
	for (i = 0; i < n; i++) {
		seg = segment(&vh, super, superlen, i, superlen, &slen);
		FZ_CHECK(seg != NULL);
		FZ_CHECK(slen == gi[i].hdrlen + gi[i].payload);
		FZ_CHECK(memcmp(seg + ly.hdrlen, pkts[i] + gi[i].hdrlen,
		    gi[i].payload) == 0);
		FZ_CHECK(get32(seg + ly.l4 + TCP_OFF_SEQ) == gi[i].seq);
		check_packet(seg, slen, &ly);
		free(seg);
	}
	/* The checksum the kernel would complete comes out right. */
	FZ_CHECK(offload_csum(super, superlen, &vh) == 0);
	check_packet(super, superlen, &ly);
	free(super);
}

static void
fuzz_gro(struct fz *f)
{
	struct gro_info	 gi[GRO_PKTS];
	uint8_t		*pkts[GRO_PKTS], *run[GRO_PKTS];
	struct gro_info	 rgi[GRO_PKTS];
	size_t		 len, total = 0;
	int		 n, i, nrun = 0;

	for (n = 0; n < GRO_PKTS && f->left > 0; n++) {
		len = fz_u16(f);
		if (len > f->left)
			len = f->left;
		pkts[n] = fz_dup(f->p, len);
		f->p += len;
		f->left -= len;
		if (gro_parse(pkts[n], len, &gi[n]) == -1) {
			free(pkts[n]);
			pkts[n] = NULL;
			continue;
		}
		FZ_CHECK(gi[n].hdrlen + gi[n].payload == len);
		FZ_CHECK(gi[n].payload > 0);
	}
	for (i = 0; i < n; i++) {
		if (pkts[i] == NULL)
			continue;
		if (nrun > 0 && !gro_follows(run[0], &rgi[0], &rgi[nrun - 1],
		    total, pkts[i], &gi[i])) {
			check_run(run, rgi, nrun);
			nrun = 0;
		}
		if (nrun == 0)
			total = 0;
		run[nrun] = pkts[i];
		rgi[nrun++] = gi[i];
		total += gi[i].payload;
	}
	if (nrun > 0)
		check_run(run, rgi, nrun);
	for (i = 0; i < n; i++)
		free(pkts[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	 f;

	fz_init(&f, data, size);
	if (fz_u8(&f) & 1)
		fuzz_gro(&f);
	else
		fuzz_tso(&f);
	return (0);
}
