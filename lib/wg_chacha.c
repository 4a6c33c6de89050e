/*
 * ChaCha20 (RFC 8439) for WireGuard's messages, in AVX-512 registers:
 * one block per 32-bit lane, 16 blocks a pass (8 in 256-bit registers
 * when that is all a message still needs).  OpenSSL's code also runs 16
 * blocks a pass, but a 1424-byte message is 22.25 blocks, so its second
 * pass computes 16 where 7 are used, and Poly1305's key, block 0, costs
 * another call: 33 blocks a message.  Here block 0 and the message share
 * passes: 24 blocks.  Where the CPU lacks AVX-512, wg_chacha_simd()
 * says so and the caller uses OpenSSL's.
 */
#include <sys/endian.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CHACHA_AVX512	1
#endif

#include "wg.h"

#define CHACHA_ROUNDS		20
#define CHACHA_WORDS		16
#define CHACHA_OFF_COUNTER	12
#define CHACHA_PASS_WIDE	16	/* blocks a pass in 512-bit registers */
#define CHACHA_PASS_NARROW	8	/* and in 256-bit ones */

/* "expand 32-byte k" */
static const uint32_t chacha_sigma[4] = {
	0x61707865, 0x3320646e, 0x79622d32, 0x6b206574
};

#ifdef CHACHA_AVX512

#define QR(ADD, XOR, ROL, a, b, c, d) do {				\
	a = ADD(a, b); d = ROL(XOR(d, a), 16);				\
	c = ADD(c, d); b = ROL(XOR(b, c), 12);				\
	a = ADD(a, b); d = ROL(XOR(d, a), 8);				\
	c = ADD(c, d); b = ROL(XOR(b, c), 7);				\
} while (0)

/* Ten double rounds: columns, then diagonals. */
#define ROUNDS(ADD, XOR, ROL, x) do {					\
	int	 r_;							\
	for (r_ = 0; r_ < CHACHA_ROUNDS; r_ += 2) {			\
		QR(ADD, XOR, ROL, x[0], x[4], x[8], x[12]);		\
		QR(ADD, XOR, ROL, x[1], x[5], x[9], x[13]);		\
		QR(ADD, XOR, ROL, x[2], x[6], x[10], x[14]);	\
		QR(ADD, XOR, ROL, x[3], x[7], x[11], x[15]);	\
		QR(ADD, XOR, ROL, x[0], x[5], x[10], x[15]);	\
		QR(ADD, XOR, ROL, x[1], x[6], x[11], x[12]);	\
		QR(ADD, XOR, ROL, x[2], x[7], x[8], x[13]);		\
		QR(ADD, XOR, ROL, x[3], x[4], x[9], x[14]);		\
	}								\
} while (0)

/*
 * The keystream of one pass in W-bit registers, s the starting states
 * (lane j of s[i]: word i of block j), into u: the rounds, the states
 * added back, then 32- and 64-bit unpacks, after which 128-bit lane L
 * of u[g][k] holds words 4g to 4g+3 of block 4L+k (t0 to t3 are the
 * caller's temporaries).
 */
#define XOR512	_mm512_xor_si512
#define XOR256	_mm256_xor_si256
#define PASS(W, s, x, u) do {						\
	int	 i_, g_;						\
	for (i_ = 0; i_ < CHACHA_WORDS; i_++)				\
		x[i_] = s[i_];						\
	ROUNDS(_mm##W##_add_epi32, XOR##W, _mm##W##_rol_epi32, x);	\
	for (i_ = 0; i_ < CHACHA_WORDS; i_++)				\
		x[i_] = _mm##W##_add_epi32(x[i_], s[i_]);		\
	for (g_ = 0; g_ < 4; g_++) {					\
		t0 = _mm##W##_unpacklo_epi32(x[4 * g_], x[4 * g_ + 1]);	\
		t1 = _mm##W##_unpackhi_epi32(x[4 * g_], x[4 * g_ + 1]);	\
		t2 = _mm##W##_unpacklo_epi32(x[4 * g_ + 2], x[4 * g_ + 3]); \
		t3 = _mm##W##_unpackhi_epi32(x[4 * g_ + 2], x[4 * g_ + 3]); \
		u[g_][0] = _mm##W##_unpacklo_epi64(t0, t2);		\
		u[g_][1] = _mm##W##_unpackhi_epi64(t0, t2);		\
		u[g_][2] = _mm##W##_unpacklo_epi64(t1, t3);		\
		u[g_][3] = _mm##W##_unpackhi_epi64(t1, t3);		\
	}								\
} while (0)
/*
 * 16 blocks: 8 from state lo (counter lo[12] for the first) to outlo,
 * and 8 from state hi to outhi, which may be another message's; after
 * PASS, 128-bit shuffles gather each block's four lanes.
 */
__attribute__((target("avx512f")))
static void
chacha_pass16(const uint32_t lo[CHACHA_WORDS],
    const uint32_t hi[CHACHA_WORDS], uint8_t *outlo, uint8_t *outhi)
{
	__m512i		 x[CHACHA_WORDS], s[CHACHA_WORDS], u[4][4];
	__m512i		 t0, t1, t2, t3, a, b, c, d;
	int		 i, k;

	for (i = 0; i < CHACHA_WORDS; i++)
		s[i] = _mm512_inserti64x4(_mm512_castsi256_si512(
		    _mm256_set1_epi32((int)lo[i])),
		    _mm256_set1_epi32((int)hi[i]), 1);
	s[CHACHA_OFF_COUNTER] = _mm512_add_epi32(s[CHACHA_OFF_COUNTER],
	    _mm512_set_epi32(7, 6, 5, 4, 3, 2, 1, 0, 7, 6, 5, 4, 3, 2, 1,
	    0));
	PASS(512, s, x, u);
	for (k = 0; k < 4; k++) {
		/* Lanes 0 and 1, then 2 and 3, of words 0-7 and 8-15. */
		a = _mm512_shuffle_i32x4(u[0][k], u[1][k], 0x44);
		b = _mm512_shuffle_i32x4(u[0][k], u[1][k], 0xee);
		c = _mm512_shuffle_i32x4(u[2][k], u[3][k], 0x44);
		d = _mm512_shuffle_i32x4(u[2][k], u[3][k], 0xee);
		_mm512_storeu_si512((void *)(outlo + 64 * k),
		    _mm512_shuffle_i32x4(a, c, 0x88));
		_mm512_storeu_si512((void *)(outlo + 64 * (4 + k)),
		    _mm512_shuffle_i32x4(a, c, 0xdd));
		_mm512_storeu_si512((void *)(outhi + 64 * k),
		    _mm512_shuffle_i32x4(b, d, 0x88));
		_mm512_storeu_si512((void *)(outhi + 64 * (4 + k)),
		    _mm512_shuffle_i32x4(b, d, 0xdd));
	}
}

/* The same for 8 blocks in 256-bit registers (AVX-512VL's rotate). */
__attribute__((target("avx512f,avx512vl")))
static void
chacha_pass8(const uint32_t st[CHACHA_WORDS], uint8_t *out)
{
	__m256i		 x[CHACHA_WORDS], s[CHACHA_WORDS], u[4][4];
	__m256i		 t0, t1, t2, t3;
	int		 i, k;

	for (i = 0; i < CHACHA_WORDS; i++)
		s[i] = _mm256_set1_epi32((int)st[i]);
	s[CHACHA_OFF_COUNTER] = _mm256_add_epi32(s[CHACHA_OFF_COUNTER],
	    _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
	PASS(256, s, x, u);
	for (k = 0; k < 4; k++) {
		/* Block k: lane 0 of each; block 4+k: lane 1. */
		_mm256_storeu_si256((__m256i *)(void *)(out + 64 * k),
		    _mm256_permute2x128_si256(u[0][k], u[1][k], 0x20));
		_mm256_storeu_si256((__m256i *)(void *)(out + 64 * k + 32),
		    _mm256_permute2x128_si256(u[2][k], u[3][k], 0x20));
		_mm256_storeu_si256((__m256i *)(void *)(out + 64 * (4 + k)),
		    _mm256_permute2x128_si256(u[0][k], u[1][k], 0x31));
		_mm256_storeu_si256((__m256i *)(void *)(out + 64 * (4 + k) +
		    32), _mm256_permute2x128_si256(u[2][k], u[3][k], 0x31));
	}
}

__attribute__((target("avx512f")))
static void
chacha_xor_bytes(uint8_t *dst, const uint8_t *src, const uint8_t *ks,
    size_t len)
{
	__m512i	 v;
	size_t	 i = 0;

	for (; i + 64 <= len; i += 64) {
		v = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src +
		    i)), _mm512_loadu_si512((const void *)(ks + i)));
		_mm512_storeu_si512((void *)(dst + i), v);
	}
	for (; i < len; i++)
		dst[i] = src[i] ^ ks[i];
}

#endif /* CHACHA_AVX512 */

int
wg_chacha_simd(void)
{
#ifdef CHACHA_AVX512
	return (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vl"));
#else
	return (0);
#endif
}

void
wg_chacha_init(struct wg_chacha *c, const uint8_t key[WG_KEY_LEN],
    uint64_t nonce)
{
	int	 i;

	memcpy(c->state, chacha_sigma, sizeof(chacha_sigma));
	for (i = 0; i < 8; i++)
		c->state[4 + i] = le32dec(key + 4 * i);
	c->state[CHACHA_OFF_COUNTER] = 0;
	/* WireGuard's nonce: 32 zero bits, then the counter, LE64. */
	c->state[13] = 0;
	c->state[14] = (uint32_t)nonce;
	c->state[15] = (uint32_t)(nonce >> 32);
	c->off = c->len = 0;
}

/* The next pass: 16 blocks, or 8 when want bytes fit in them. */
static void
chacha_fill(struct wg_chacha *c, size_t want)
{
#ifdef CHACHA_AVX512
	uint32_t	 hi[CHACHA_WORDS];

	if (want > CHACHA_PASS_NARROW * WG_CHACHA_BLOCK) {
		memcpy(hi, c->state, sizeof(hi));
		hi[CHACHA_OFF_COUNTER] += CHACHA_PASS_NARROW;
		chacha_pass16(c->state, hi, c->ks, c->ks + CHACHA_PASS_NARROW *
		    WG_CHACHA_BLOCK);
		explicit_bzero(hi, sizeof(hi));
		c->state[CHACHA_OFF_COUNTER] += CHACHA_PASS_WIDE;
		c->len = CHACHA_PASS_WIDE * WG_CHACHA_BLOCK;
	} else {
		chacha_pass8(c->state, c->ks);
		c->state[CHACHA_OFF_COUNTER] += CHACHA_PASS_NARROW;
		c->len = CHACHA_PASS_NARROW * WG_CHACHA_BLOCK;
	}
#else
	/* wg_chacha_simd() said 0: a keystream of zeros would send text. */
	(void)c;
	(void)want;
	abort();
#endif
	c->off = 0;
}

/*
 * Two fresh streams filled at once with WG_CHACHA_PAIR_MAX bytes each:
 * a pass of 16 blocks for each, then one whose lanes take 8 blocks of
 * each, where two passes of 8 would cost almost as much as two of 16.
 * As the rest of this file, only where wg_chacha_simd() said 1 (the
 * AEAD asks once, not per packet).  0, or -1 (nothing done) if either
 * stream was used.
 */
int
wg_chacha_pair(struct wg_chacha *a, struct wg_chacha *b)
{
#ifdef CHACHA_AVX512
	uint32_t	 ahi[CHACHA_WORDS], bhi[CHACHA_WORDS];
	const size_t	 half = CHACHA_PASS_NARROW * WG_CHACHA_BLOCK;
	const size_t	 wide = CHACHA_PASS_WIDE * WG_CHACHA_BLOCK;

	if (a->len != 0 || b->len != 0)
		return (-1);
	memcpy(ahi, a->state, sizeof(ahi));
	ahi[CHACHA_OFF_COUNTER] += CHACHA_PASS_NARROW;
	memcpy(bhi, b->state, sizeof(bhi));
	bhi[CHACHA_OFF_COUNTER] += CHACHA_PASS_NARROW;
	chacha_pass16(a->state, ahi, a->ks, a->ks + half);
	chacha_pass16(b->state, bhi, b->ks, b->ks + half);
	a->state[CHACHA_OFF_COUNTER] += CHACHA_PASS_WIDE;
	b->state[CHACHA_OFF_COUNTER] += CHACHA_PASS_WIDE;
	chacha_pass16(a->state, b->state, a->ks + wide, b->ks + wide);
	a->state[CHACHA_OFF_COUNTER] += CHACHA_PASS_NARROW;
	b->state[CHACHA_OFF_COUNTER] += CHACHA_PASS_NARROW;
	a->len = b->len = WG_CHACHA_PAIR_MAX;
	a->off = b->off = 0;
	explicit_bzero(ahi, sizeof(ahi));
	explicit_bzero(bhi, sizeof(bhi));
	return (0);
#else
	(void)a;
	(void)b;
	return (-1);
#endif
}

/*
 * dst = src XOR the next len bytes of keystream; src NULL gives the
 * keystream itself.  total is what the caller will still take from
 * this stream, this call's len included, so the passes fit it.
 */
void
wg_chacha_xor(struct wg_chacha *c, uint8_t *dst, const uint8_t *src,
    size_t len, size_t total)
{
	size_t	 n;

	while (len > 0) {
		if (c->off == c->len)
			chacha_fill(c, total);
		n = c->len - c->off < len ? c->len - c->off : len;
		if (src == NULL)
			memcpy(dst, c->ks + c->off, n);
		else {
#ifdef CHACHA_AVX512
			chacha_xor_bytes(dst, src, c->ks + c->off, n);
#endif
			src += n;
		}
		c->off += n;
		dst += n;
		len -= n;
		total -= n < total ? n : total;
	}
}

void
wg_chacha_done(struct wg_chacha *c)
{
	explicit_bzero(c, sizeof(*c));
}
