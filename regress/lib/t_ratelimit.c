/*
 * Per-source token buckets: burst, refill, independence of sources,
 * IPv6 by /64, a table that is full refusing new sources instead of
 * evicting old ones, expiry of idle sources, and bounded memory under
 * many sources.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <malloc.h>
#include <stdio.h>
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


/* The limiter's key for a textual address, as a daemon makes it. */
static size_t
key_of(const char *addr, uint8_t key[RATELIMIT_KEY_MAX])
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin.sin_family = AF_INET;
	sin6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1)
		return (ratelimit_key_sa((struct sockaddr *)&sin, key));
	ATF_REQUIRE(inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1);
	return (ratelimit_key_sa((struct sockaddr *)&sin6, key));
}

/* A distinct IPv4 source for each n. */
static size_t
key_n(uint32_t n, uint8_t key[RATELIMIT_KEY_MAX])
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(n);
	return (ratelimit_key_sa((struct sockaddr *)&sin, key));
}

ATF_TC_WITHOUT_HEAD(ipv6_per_64);
ATF_TC_BODY(ipv6_per_64, tc)
{
	uint8_t		 k[RATELIMIT_KEY_MAX], k2[RATELIMIT_KEY_MAX];
	char		 addr[INET6_ADDRSTRLEN];
	size_t		 len, len2;
	unsigned int	 i;
	int		 ok = 0;

	ratelimit_init(&rl, 20, 5, hk);
	/* A thousand addresses of one /64 are one source: five pass. */
	for (i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:1:2:%x:%x::%x",
		    (i * 7919) & 0xffff, i, i + 1);
		len = key_of(addr, k);
		ok += ratelimit_allow(&rl, k, len, SEC);
	}
	ATF_CHECK_EQ(ok, 5);
	ATF_CHECK_EQ(rl.count, 1);
	/* The next /64 is another source, with its own bucket. */
	len = key_of("2001:db8:1:3::1", k);
	ATF_CHECK_EQ(allow_n(k, len, 50, SEC), 5);
	len = key_of("2001:db8:1:3:ffff:ffff:ffff:ffff", k);
	ATF_CHECK_EQ(ratelimit_allow(&rl, k, len, SEC), 0);
	ATF_CHECK_EQ(rl.count, 2);
	/* An IPv4-mapped address is its IPv4 host. */
	len = key_of("192.0.2.9", k);
	ATF_CHECK_EQ(allow_n(k, len, 50, SEC), 5);
	len2 = key_of("::ffff:192.0.2.9", k2);
	ATF_CHECK_EQ(len, len2);
	ATF_CHECK(memcmp(k, k2, len) == 0);
	ATF_CHECK_EQ(ratelimit_allow(&rl, k2, len2, SEC), 0);
	/* Opaque bytes equal to an address are not that address. */
	len = key_of("2001:db8:1:2::", k);
	len2 = ratelimit_key_opaque(k + 1, len - 1, k2);
	ATF_CHECK_EQ(allow_n(k2, len2, 50, SEC), 5);
	ATF_CHECK_EQ(rl.count, 4);
}

ATF_TC_WITHOUT_HEAD(full_table_refuses);
ATF_TC_BODY(full_table_refuses, tc)
{
	uint8_t		 a[RATELIMIT_KEY_MAX], k[RATELIMIT_KEY_MAX];
	size_t		 alen, len, heap0, heap1;
	uint32_t	 i;
	unsigned int	 passed = 0;

	ratelimit_init(&rl, 20, 5, hk);
	/* A drains its bucket ... */
	alen = key_of("198.51.100.7", a);
	ATF_CHECK_EQ(allow_n(a, alen, 50, SEC), 5);
	/*
	 * ... then a million new sources arrive within the same second,
	 * 61 times the table.  The table fills and stops there; the
	 * sources beyond it are refused outright, not handed a bucket, and
	 * nothing comes from the heap.
	 */
	heap0 = heap_in_use();
	for (i = 0; i < 1000000; i++) {
		len = key_n(0x0a000000 + i, k);
		passed += ratelimit_allow(&rl, k, len, SEC + 1);
	}
	heap1 = heap_in_use();
	ATF_CHECK_MSG(heap1 == heap0, "heap in use %zu -> %zu bytes", heap0,
	    heap1);
	ATF_CHECK_EQ(rl.count, RATELIMIT_ENTRIES);
	ATF_CHECK_EQ(passed, RATELIMIT_ENTRIES - 1);
	ATF_CHECK_EQ(rl.refused_full, 1000000 - (RATELIMIT_ENTRIES - 1));
	/* A kept its entry: still empty, no fresh budget from the flood. */
	ATF_CHECK_EQ(ratelimit_allow(&rl, a, alen, SEC + 10 * MS), 0);
	/* A source the table has gets its bucket as it left it. */
	len = key_n(0x0a000000, k);
	ATF_CHECK_EQ(allow_n(k, len, 50, SEC + 10 * MS), 4);
	/* Full of live sources, a new one is refused. */
	len = key_n(0x0b000000, k);
	ATF_CHECK_EQ(ratelimit_allow(&rl, k, len, SEC + 20 * MS), 0);
	ATF_CHECK_EQ(rl.count, RATELIMIT_ENTRIES);
	/* The fields after the table are intact: nothing wrote past it. */
	ATF_CHECK(memcmp(rl.hashkey, hk, sizeof(hk)) == 0);
	ATF_CHECK_EQ(rl.cost, SEC / 20);
	ATF_CHECK_EQ(rl.burst, 5 * (SEC / 20));
	/*
	 * Once the flood's sources have been idle a second, they are
	 * forgotten as new sources come, a few at a time: a new source
	 * is admitted with its burst, the table no larger.
	 */
	ATF_CHECK_EQ(allow_n(k, len, 50, 3 * SEC), 5);
	ATF_CHECK(rl.count <= RATELIMIT_ENTRIES);
	for (i = 0; i < 2 * RATELIMIT_ENTRIES; i++) {
		len = key_n(0x0c000000 + i, k);
		ratelimit_allow(&rl, k, len, 3 * SEC);
	}
	ATF_CHECK_EQ(rl.count, RATELIMIT_ENTRIES);
	ATF_CHECK(rl.used <= RATELIMIT_ENTRIES);
}

ATF_TC_WITHOUT_HEAD(expiry);
ATF_TC_BODY(expiry, tc)
{
	uint8_t		 a[RATELIMIT_KEY_MAX];
	size_t		 alen;

	/* One a second, five at once: a bucket takes 5 s to refill. */
	ratelimit_init(&rl, 1, 5, hk);
	ATF_CHECK_EQ(rl.idle, 5 * SEC);
	alen = key_of("2001:db8::1", a);
	ATF_CHECK_EQ(allow_n(a, alen, 50, SEC), 5);
	/* Two seconds on, the same entry: two packets' credit, not five. */
	ATF_CHECK_EQ(allow_n(a, alen, 50, 3 * SEC), 2);
	ATF_CHECK_EQ(rl.count, 1);
	/* Not idle long enough to be forgotten. */
	ratelimit_expire(&rl, 3 * SEC + rl.idle);
	ATF_CHECK_EQ(rl.count, 1);
	/* Idle for longer than a refill: freed ... */
	ratelimit_expire(&rl, 3 * SEC + rl.idle + 1);
	ATF_CHECK_EQ(rl.count, 0);
	/* ... and back with a fresh bucket. */
	ATF_CHECK_EQ(allow_n(a, alen, 50, 3 * SEC + rl.idle + 1), 5);
	ATF_CHECK_EQ(rl.count, 1);
	/* The kernel's parameters: forgotten after a second. */
	ratelimit_init(&rl, 20, 5, hk);
	ATF_CHECK_EQ(rl.idle, SEC);
}

ATF_TC_WITHOUT_HEAD(memory_bound);
ATF_TC_BODY(memory_bound, tc)
{
	/*
	 * All the state is the struct, sized at compile time: entries,
	 * chains and a few counters.  Figures for the report.
	 */
	printf("struct ratelimit: %zu bytes, %d entries of %zu bytes, "
	    "%d chains\n", sizeof(struct ratelimit), RATELIMIT_ENTRIES,
	    sizeof(struct ratelimit_entry), RATELIMIT_BUCKETS);
	ATF_CHECK(sizeof(struct ratelimit_entry) <= 40);
	ATF_CHECK(sizeof(struct ratelimit) <= 700 * 1024);
	ATF_CHECK_EQ(sizeof(rl.entries) / sizeof(rl.entries[0]),
	    RATELIMIT_ENTRIES);
	ATF_CHECK(RATELIMIT_ENTRIES < RATELIMIT_NONE);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, burst_then_limit);
	ATF_TP_ADD_TC(tp, rate_over_time);
	ATF_TP_ADD_TC(tp, sources_independent);
	ATF_TP_ADD_TC(tp, ipv6_per_64);
	ATF_TP_ADD_TC(tp, full_table_refuses);
	ATF_TP_ADD_TC(tp, expiry);
	ATF_TP_ADD_TC(tp, memory_bound);
	return (atf_no_error());
}
