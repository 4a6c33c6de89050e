/*
 * Per-source token buckets: burst, refill, independence of sources and
 * bounded memory under many sources.
 */

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "ratelimit.h"

#define MS	UINT64_C(1000000)
#define SEC	(1000 * MS)

static const uint8_t	 hk[16] = { 1, 2, 3 };
static struct ratelimit	 rl;

static int
allow_n(const uint8_t *key, size_t len, int n, uint64_t now)
{
	int	 i, ok = 0;

	for (i = 0; i < n; i++)
		ok += ratelimit_allow(&rl, key, len, now);
	return (ok);
}

ATF_TC_WITHOUT_HEAD(burst_then_limit);
ATF_TC_BODY(burst_then_limit, tc)
{
	const uint8_t	 a[4] = { 10, 0, 0, 1 };

	ratelimit_init(&rl, 20, 5, hk);
	/* Five at once, then nothing until credit accrues. */
	ATF_CHECK_EQ(allow_n(a, sizeof(a), 100, 1 * SEC), 5);
	ATF_CHECK_EQ(ratelimit_allow(&rl, a, sizeof(a), 1 * SEC + 10 * MS), 0);
	/* 50 ms is one packet's worth at 20 per second. */
	ATF_CHECK_EQ(ratelimit_allow(&rl, a, sizeof(a), 1 * SEC + 50 * MS), 1);
	ATF_CHECK_EQ(ratelimit_allow(&rl, a, sizeof(a), 1 * SEC + 50 * MS), 0);
	/* Over a long quiet spell the bucket fills to the burst only. */
	ATF_CHECK_EQ(allow_n(a, sizeof(a), 100, 100 * SEC), 5);
}

ATF_TC_WITHOUT_HEAD(rate_over_time);
ATF_TC_BODY(rate_over_time, tc)
{
	const uint8_t	 a[4] = { 10, 0, 0, 2 };
	uint64_t	 t;
	int		 ok = 0;

	ratelimit_init(&rl, 20, 5, hk);
	/* A packet every millisecond for ten seconds: 5 + 20 * 10 pass. */
	for (t = 0; t < 10 * SEC; t += MS)
		ok += ratelimit_allow(&rl, a, sizeof(a), SEC + t);
	ATF_CHECK_MSG(ok >= 200 && ok <= 206, "%d passed", ok);
}

ATF_TC_WITHOUT_HEAD(sources_independent);
ATF_TC_BODY(sources_independent, tc)
{
	const uint8_t	 a[4] = { 10, 0, 0, 3 }, b[4] = { 10, 0, 0, 4 };
	const uint8_t	 v6[8] = { 0x20, 0x01, 0x0d, 0xb8 };

	ratelimit_init(&rl, 20, 5, hk);
	ATF_CHECK_EQ(allow_n(a, sizeof(a), 50, SEC), 5);
	ATF_CHECK_EQ(allow_n(b, sizeof(b), 50, SEC), 5);
	ATF_CHECK_EQ(allow_n(v6, sizeof(v6), 50, SEC), 5);
	ATF_CHECK_EQ(ratelimit_allow(&rl, a, sizeof(a), SEC), 0);
}

#ifdef __SANITIZE_ADDRESS__
/* libasan's; the header that declares it comes with LLVM only. */
size_t	__sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes of heap in use, as the allocator (or AddressSanitizer's) counts. */
static size_t
heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return (__sanitizer_get_current_allocated_bytes());
#else
	struct mallinfo2	 mi = mallinfo2();

	return (mi.uordblks + mi.hblkhd);
#endif
}

static int
slot_cmp(const void *a, const void *b)
{
	const struct ratelimit_slot	*x = a, *y = b;

	if (x->keylen != y->keylen)
		return (x->keylen < y->keylen ? -1 : 1);
	return (memcmp(x->key, y->key, x->keylen));
}

/*
 * Sources the table remembers: occupied slots, each source once
 * (sorted, neighbours differ).
 */
static size_t
remembered(void)
{
	static struct ratelimit_slot	 s[sizeof(rl.slots) /
					    sizeof(rl.slots[0])];
	size_t				 i, n = 0;

	for (i = 0; i < sizeof(rl.slots) / sizeof(rl.slots[0]); i++)
		if (rl.slots[i].keylen != 0)
			s[n++] = rl.slots[i];
	qsort(s, n, sizeof(s[0]), slot_cmp);
	for (i = 1; i < n; i++)
		ATF_CHECK_MSG(slot_cmp(&s[i - 1], &s[i]) != 0,
		    "a source holds two slots");
	return (n);
}

ATF_TC_WITHOUT_HEAD(many_sources);
ATF_TC_BODY(many_sources, tc)
{
	const uint8_t	 a[4] = { 192, 0, 2, 1 };
	uint8_t		 k[4], hk2[16];
	uint32_t	 i;
	size_t		 heap0, heap1, n;

	/* The table is the struct: RATELIMIT_SLOTS slots, nothing else. */
	ATF_REQUIRE_EQ(sizeof(rl.slots) / sizeof(rl.slots[0]),
	    RATELIMIT_SLOTS);
	ratelimit_init(&rl, 20, 5, hk);
	ATF_CHECK_EQ(remembered(), 0);
	ATF_CHECK_EQ(allow_n(a, sizeof(a), 5, SEC), 5);
	ATF_CHECK_EQ(ratelimit_allow(&rl, a, sizeof(a), SEC), 0);
	ATF_CHECK_EQ(remembered(), 1);
	/*
	 * A million sources, 244 times the table: it fills and then
	 * evicts, never grows, and takes no memory from the heap (nothing
	 * but ratelimit_allow() runs between the two measures).
	 */
	heap0 = heap_in_use();
	for (i = 0; i < 1000000; i++) {
		memcpy(k, &i, sizeof(k));
		k[0] |= 0x80;
		ratelimit_allow(&rl, k, sizeof(k), SEC + 1);
	}
	heap1 = heap_in_use();
	ATF_CHECK_MSG(heap1 == heap0, "heap in use %zu -> %zu bytes", heap0,
	    heap1);
	n = remembered();
	ATF_CHECK_MSG(n == RATELIMIT_SLOTS, "%zu sources remembered", n);
	/* The fields after the table are intact: nothing wrote past it. */
	memcpy(hk2, rl.hashkey, sizeof(hk2));
	ATF_CHECK(memcmp(hk2, hk, sizeof(hk2)) == 0);
	ATF_CHECK_EQ(rl.cost, SEC / 20);
	ATF_CHECK_EQ(rl.burst, 5 * (SEC / 20));
	/* The last source is remembered, its bucket as it left it. */
	ATF_CHECK_EQ(allow_n(k, sizeof(k), 50, SEC + 1), 4);
	/* The table still limits: a new source gets its burst, no more. */
	k[0] = 1; k[1] = 2; k[2] = 3; k[3] = 4;
	ATF_CHECK_EQ(allow_n(k, sizeof(k), 50, SEC + 2), 5);
	ATF_CHECK_EQ(remembered(), RATELIMIT_SLOTS);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, burst_then_limit);
	ATF_TP_ADD_TC(tp, rate_over_time);
	ATF_TP_ADD_TC(tp, sources_independent);
	ATF_TP_ADD_TC(tp, many_sources);
	return (atf_no_error());
}
