/*
 * The relay's per-connection limits: a token bucket of bytes (burst,
 * refill, a cost over the burst never passes, long idle spells) and the
 * PEER_GONE throttle (once an interval per key, a full table forgets
 * nothing early).
 */

#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "relaylimit.h"

#define MS	UINT64_C(1000000)
#define SEC	(1000 * MS)

ATF_TC_WITHOUT_HEAD(bucket_burst_refill);
ATF_TC_BODY(bucket_burst_refill, tc)
{
	struct relay_bucket	 b;
	int			 i, ok = 0;

	/* 1000 bytes a second, 3000 at once. */
	relay_bucket_init(&b, 1000, 3000, 5 * SEC);
	for (i = 0; i < 10; i++)
		ok += relay_bucket_take(&b, 1000, 5 * SEC);
	ATF_CHECK_EQ(ok, 3);
	/* Half a second is 500 bytes: not enough for 1000, enough for 500. */
	ATF_CHECK_EQ(relay_bucket_take(&b, 1000, 5 * SEC + 500 * MS), 0);
	ATF_CHECK_EQ(relay_bucket_take(&b, 500, 5 * SEC + 500 * MS), 1);
	ATF_CHECK_EQ(relay_bucket_take(&b, 1, 5 * SEC + 500 * MS), 0);
	/* A long quiet spell fills it to the burst, not beyond. */
	ok = 0;
	for (i = 0; i < 10; i++)
		ok += relay_bucket_take(&b, 1000, 1000 * SEC);
	ATF_CHECK_EQ(ok, 3);
	/* A cost over the burst never passes, even with a full bucket. */
	ATF_CHECK_EQ(relay_bucket_take(&b, 3001, 5000 * SEC), 0);
	ATF_CHECK_EQ(relay_bucket_take(&b, 3000, 5000 * SEC), 1);
}

ATF_TC_WITHOUT_HEAD(bucket_rate_over_time);
ATF_TC_BODY(bucket_rate_over_time, tc)
{
	struct relay_bucket	 b;
	uint64_t		 t, passed = 0;

	/* 1 MB/s, burst 64 KiB; 1400-byte packets every 100 us for 10 s. */
	relay_bucket_init(&b, 1000000, 65536, 0);
	for (t = 0; t < 10 * SEC; t += 100000)
		if (relay_bucket_take(&b, 1400, t))
			passed += 1400;
	ATF_CHECK_MSG(passed >= 10000000 - 1400 &&
	    passed <= 10000000 + 65536, "%llu bytes passed",
	    (unsigned long long)passed);
}

ATF_TC_WITHOUT_HEAD(bucket_extremes);
ATF_TC_BODY(bucket_extremes, tc)
{
	struct relay_bucket	 b;

	/* The largest values do not overflow after any idle time. */
	relay_bucket_init(&b, UINT64_MAX, UINT64_MAX, 0);
	ATF_CHECK_EQ(relay_bucket_take(&b, UINT32_MAX, 0), 1);
	ATF_CHECK_EQ(relay_bucket_take(&b, 1, 0), 0);
	ATF_CHECK_EQ(relay_bucket_take(&b, UINT32_MAX, UINT64_MAX / 2), 1);
	ATF_CHECK_EQ(relay_bucket_take(&b, UINT32_MAX, UINT64_MAX / 2 +
	    SEC), 1);
	/* Zero is one. */
	relay_bucket_init(&b, 0, 0, 0);
	ATF_CHECK_EQ(relay_bucket_take(&b, 1, 0), 1);
	ATF_CHECK_EQ(relay_bucket_take(&b, 1, 0), 0);
	ATF_CHECK_EQ(relay_bucket_take(&b, 1, SEC), 1);
	/* Time going backwards gives nothing and takes nothing. */
	relay_bucket_init(&b, 10, 10, 10 * SEC);
	ATF_CHECK_EQ(relay_bucket_take(&b, 10, 10 * SEC), 1);
	ATF_CHECK_EQ(relay_bucket_take(&b, 1, 9 * SEC), 0);
	ATF_CHECK_EQ(relay_bucket_take(&b, 10, 11 * SEC), 1);
}

static void
mkkey(uint8_t *k, int n)
{
	memset(k, 0, 32);
	k[0] = (uint8_t)n;
	k[31] = (uint8_t)(n >> 8);
}

ATF_TC_WITHOUT_HEAD(recent_once_a_second);
ATF_TC_BODY(recent_once_a_second, tc)
{
	struct relay_recent	 r;
	uint8_t			 a[32], b[32];

	relay_recent_init(&r);
	mkkey(a, 1);
	mkkey(b, 2);
	ATF_CHECK_EQ(relay_recent_allow(&r, a, 1000, 1000), 1);
	ATF_CHECK_EQ(relay_recent_allow(&r, a, 1001, 1000), 0);
	ATF_CHECK_EQ(relay_recent_allow(&r, b, 1500, 1000), 1);
	ATF_CHECK_EQ(relay_recent_allow(&r, a, 1999, 1000), 0);
	ATF_CHECK_EQ(relay_recent_allow(&r, a, 2000, 1000), 1);
	ATF_CHECK_EQ(relay_recent_allow(&r, b, 2000, 1000), 0);
	ATF_CHECK_EQ(relay_recent_allow(&r, b, 2500, 1000), 1);
}

ATF_TC_WITHOUT_HEAD(recent_full_table);
ATF_TC_BODY(recent_full_table, tc)
{
	struct relay_recent	 r;
	uint8_t			 k[32];
	int			 i, n;

	relay_recent_init(&r);
	/* Filling the table within one interval: the next key waits. */
	for (i = 0; i < RELAY_RECENT_SLOTS; i++) {
		mkkey(k, 100 + i);
		ATF_CHECK_EQ(relay_recent_allow(&r, k, 5000 + i, 1000), 1);
	}
	mkkey(k, 999);
	ATF_CHECK_EQ(relay_recent_allow(&r, k, 5100, 1000), 0);
	/* No key in the table was forgotten early. */
	for (i = 0; i < RELAY_RECENT_SLOTS; i++) {
		mkkey(k, 100 + i);
		ATF_CHECK_EQ(relay_recent_allow(&r, k, 5200, 1000), 0);
	}
	/* Once the oldest is past the interval, a new key takes its slot. */
	mkkey(k, 999);
	ATF_CHECK_EQ(relay_recent_allow(&r, k, 6000, 1000), 1);
	mkkey(k, 101);
	ATF_CHECK_EQ(relay_recent_allow(&r, k, 6000, 1000), 0);
	/* Many keys over time: each at most once a second. */
	relay_recent_init(&r);
	n = 0;
	for (i = 0; i < 100000; i++) {
		mkkey(k, i % 40);
		n += relay_recent_allow(&r, k, 1 + (uint64_t)i / 10, 1000);
	}
	/* 10 seconds of sends to 40 keys, 16 slots: at most 40 * 10. */
	ATF_CHECK_MSG(n > 0 && n <= 40 * 10, "%d allowed", n);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, bucket_burst_refill);
	ATF_TP_ADD_TC(tp, bucket_rate_over_time);
	ATF_TP_ADD_TC(tp, bucket_extremes);
	ATF_TP_ADD_TC(tp, recent_once_a_second);
	ATF_TP_ADD_TC(tp, recent_full_table);
	return (atf_no_error());
}
