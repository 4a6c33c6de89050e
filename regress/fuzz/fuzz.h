/*
 * What every fuzz target shares: a reader that turns the fuzzer's bytes
 * into the values a target needs (running out yields zeros, so every
 * input is valid and short inputs stay meaningful), and a check that
 * aborts on a broken invariant, which libFuzzer reports as a crash and
 * saves the input for.
 */
#ifndef CBP2P_FUZZ_H
#define CBP2P_FUZZ_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_V4_BITS	32
#define FZ_V6_BITS	128
/* 2^64 / golden ratio: spreads a counter over a hash or a seed. */
#define FZ_GOLDEN	UINT64_C(0x9e3779b97f4a7c15)

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz {
	const uint8_t	*p;
	size_t		 left;
};

#define FZ_CHECK(x) do {						\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #x);				\
		abort();						\
	}								\
} while (0)

static inline void
fz_init(struct fz *f, const uint8_t *p, size_t len)
{
	f->p = p;
	f->left = len;
}

static inline uint8_t
fz_u8(struct fz *f)
{
	uint8_t	 v = 0;

	if (f->left > 0) {
		v = *f->p++;
		f->left--;
	}
	return (v);
}

static inline uint16_t
fz_u16(struct fz *f)
{
	uint16_t	 v = fz_u8(f);

	return ((uint16_t)(v << 8 | fz_u8(f)));
}

static inline uint32_t
fz_u32(struct fz *f)
{
	uint32_t	 v = fz_u16(f);

	return (v << 16 | fz_u16(f));
}

static inline uint64_t
fz_u64(struct fz *f)
{
	uint64_t	 v = fz_u32(f);

	return (v << 32 | fz_u32(f));
}

/* Up to len bytes into out, zero-filled past the end; how many were real. */
static inline size_t
fz_copy(struct fz *f, void *out, size_t len)
{
	size_t	 n = len < f->left ? len : f->left;

	memcpy(out, f->p, n);
	memset((uint8_t *)out + n, 0, len - n);
	f->p += n;
	f->left -= n;
	return (n);
}

/* A pointer to the next len bytes (fewer at the end); *got says how many. */
static inline const uint8_t *
fz_take(struct fz *f, size_t len, size_t *got)
{
	const uint8_t	*p = f->p;

	*got = len < f->left ? len : f->left;
	f->p += *got;
	f->left -= *got;
	return (p);
}

/* A heap copy of exactly len bytes, so ASan sees every overread. */
static inline uint8_t *
fz_dup(const uint8_t *p, size_t len)
{
	uint8_t	*d = malloc(len > 0 ? len : 1);

	if (d == NULL)
		abort();
	if (len > 0)
		memcpy(d, p, len);
	return (d);
}

/* The model side of the allowed-IPs targets (fuzz_aip, fuzz_inner). */
static inline unsigned int
fz_family_bits(int family)
{
	return (family == AF_INET ? FZ_V4_BITS : FZ_V6_BITS);
}

/* Clear the bits of key from cidr on, of bits in all. */
static inline void
fz_mask(uint8_t *key, unsigned int cidr, unsigned int bits)
{
	unsigned int	 i;

	for (i = cidr; i < bits; i++)
		key[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

/* The first cidr bits of prefix and addr agree. */
static inline int
fz_covers(const uint8_t *prefix, const uint8_t *addr, unsigned int cidr)
{
	unsigned int	 i;

	for (i = 0; i < cidr; i++)
		if (((prefix[i / 8] ^ addr[i / 8]) & (0x80 >> (i % 8))) != 0)
			return (0);
	return (1);
}

#endif /* CBP2P_FUZZ_H */
