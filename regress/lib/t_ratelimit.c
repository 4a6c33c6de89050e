/*
 * Per-source token buckets: burst, refill, independence of sources and
 * bounded memory under many sources.
 */

#include <stdint.h>
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

ATF_TC_WITHOUT_HEAD(many_sources);
ATF_TC_BODY(many_sources, tc)
{
	const uint8_t	 a[4] = { 192, 0, 2, 1 };
	uint8_t		 k[4];
	uint32_t	 i;

	ratelimit_init(&rl, 20, 5, hk);
	ATF_CHECK_EQ(allow_n(a, sizeof(a), 5, SEC), 5);
	ATF_CHECK_EQ(ratelimit_allow(&rl, a, sizeof(a), SEC), 0);
	/* A million sources fit the fixed table by evicting the oldest. */
	for (i = 0; i < 1000000; i++) {
		memcpy(k, &i, sizeof(k));
		k[0] |= 0x80;
		ratelimit_allow(&rl, k, sizeof(k), SEC + 1);
	}
	/* The table still limits: a new source gets its burst, no more. */
	k[0] = 1; k[1] = 2; k[2] = 3; k[3] = 4;
	ATF_CHECK_EQ(allow_n(k, sizeof(k), 50, SEC + 2), 5);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, burst_then_limit);
	ATF_TP_ADD_TC(tp, rate_over_time);
	ATF_TP_ADD_TC(tp, sources_independent);
	ATF_TP_ADD_TC(tp, many_sources);
	return (atf_no_error());
}
