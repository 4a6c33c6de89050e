/*
 * aip_bench: lookups in lib/wg_allowedips.c's trie, the table the engine
 * consults for every packet it sends, with PREFIXES prefixes of each
 * family owned by PEERS peers.
 *
 * usage: aip_bench [prefixes [lookups]]	(10000, 2000000)
 *
 * Prefixes are random (a fixed seed, so every run builds the same
 * table), with lengths as a mesh has them: mostly host routes, then
 * /24 (/64), then a few wider ones.  Addresses to look up are drawn in
 * advance: half inside a random inserted prefix (a hit, often of a
 * longer prefix inside it), half uniformly random (mostly misses).
 * Prints, per family, ns per lookup in CPU time of this process (what a
 * lookup costs, whatever else runs) and in wall time, the best of
 * ROUNDS rounds, and the nodes the trie holds.
 */
#include <sys/socket.h>

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wg.h"

#define PEERS	1000
#define ROUNDS	5

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 0x2545f4914f6cdd1dULL);
}

static void
fill(uint8_t *b, size_t len)
{
	uint64_t	 r;
	size_t		 i;

	for (i = 0; i < len; i += 8) {
		r = next();
		memcpy(b + i, &r, len - i < 8 ? len - i : 8);
	}
}

/* A prefix length as a mesh has them: hosts, subnets, a few wide. */
static unsigned int
length(unsigned int bits)
{
	unsigned int	 r = next() % 100;

	if (r < 60)
		return (bits);
	if (r < 90)
		return (bits == 32 ? 24 : 64);
	if (r < 98)
		return (bits == 32 ? 16 + next() % 8 : 48 + next() % 16);
	return (bits == 32 ? 8 + next() % 8 : 32 + next() % 16);
}

static double
ns(const struct timespec *a, const struct timespec *b)
{
	return ((b->tv_sec - a->tv_sec) * 1e9 + (b->tv_nsec - a->tv_nsec));
}

static void
bench(int family, size_t prefixes, size_t lookups)
{
	struct timespec	 c0, c1, w0, w1;
	struct wg_aip	 t;
	uint8_t		*pfx, *addrs, peers[PEERS];
	unsigned int	*lens, bits = family == AF_INET ? 32 : 128, b;
	size_t		 alen = bits / 8, i, hits, inserted = 0;
	double		 cpu, best_cpu = 0, best_wall = 0, wall;
	int		 r;

	if ((pfx = calloc(prefixes, alen)) == NULL ||
	    (lens = calloc(prefixes, sizeof(*lens))) == NULL ||
	    (addrs = calloc(lookups, alen)) == NULL)
		err(1, "calloc");
	wg_aip_init(&t, 0);
	for (i = 0; i < prefixes; i++) {
		fill(pfx + i * alen, alen);
		if (family == AF_INET6)
			pfx[i * alen] = 0xfd;	/* unique local */
		lens[i] = length(bits);
		if (wg_aip_insert(&t, family, pfx + i * alen, lens[i],
		    &peers[i % PEERS]) != WG_OK)
			errx(1, "wg_aip_insert");
		inserted++;
	}
	for (i = 0; i < lookups; i++) {
		uint8_t	*a = addrs + i * alen;

		fill(a, alen);
		if (i % 2 == 0) {
			/* Inside a random prefix: keep its first bits. */
			size_t	 k = next() % prefixes;

			for (b = 0; b < lens[k]; b++) {
				uint8_t	 m = 0x80 >> (b % 8);

				a[b / 8] = (a[b / 8] & ~m) |
				    (pfx[k * alen + b / 8] & m);
			}
		}
	}
	for (r = 0; r < ROUNDS; r++) {
		hits = 0;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
		clock_gettime(CLOCK_MONOTONIC, &w0);
		for (i = 0; i < lookups; i++)
			hits += wg_aip_lookup(&t, family,
			    addrs + i * alen) != NULL;
		clock_gettime(CLOCK_MONOTONIC, &w1);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
		cpu = ns(&c0, &c1) / lookups;
		wall = ns(&w0, &w1) / lookups;
		if (r == 0 || cpu < best_cpu)
			best_cpu = cpu;
		if (r == 0 || wall < best_wall)
			best_wall = wall;
	}
	printf("IPv%d: %zu prefixes of %d peers, %zu trie nodes; "
	    "%zu lookups, %.1f%% hits: "
	    "%.1f ns per lookup (CPU), %.1f ns (wall)\n",
	    family == AF_INET ? 4 : 6, inserted, PEERS, t.nodes, lookups,
	    100.0 * hits / lookups, best_cpu, best_wall);
	wg_aip_clear(&t);
	free(pfx);
	free(lens);
	free(addrs);
}

int
main(int argc, char *argv[])
{
	size_t	 prefixes = 10000, lookups = 2000000;

	if (argc > 1)
		prefixes = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		lookups = strtoul(argv[2], NULL, 10);
	if (prefixes == 0 || lookups == 0 || argc > 3) {
		fprintf(stderr, "usage: aip_bench [prefixes [lookups]]\n");
		return (1);
	}
	bench(AF_INET, prefixes, lookups);
	bench(AF_INET6, prefixes, lookups);
	return (0);
}
