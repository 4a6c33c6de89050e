/*
 * The transport replay window.
 */
#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "wg.h"
#include "wg_test.h"

/*
 * Documented values, written out so that a wrong constant in lib/wg.h
 * fails here: cbp2pd(8) promises "a replay window of 4032 packets"
 * (counters down to 4032 behind the highest one seen are still taken);
 * the WireGuard paper (section 6.1) gives Reject-After-Messages
 * 2^64 - 2^13 - 1 and Rekey-After-Messages 2^60.
 */
#define WINDOW			4032
#define REJECT_AFTER_MESSAGES	UINT64_C(0xffffffffffffdfff)
#define REKEY_AFTER_MESSAGES	(UINT64_C(1) << 60)

/* Check then update, as the receive path does after decryption. */
static int
take(struct wg_replay *r, uint64_t c)
{
	int	 rc;

	if ((rc = wg_replay_check(r, c)) != WG_OK)
		return (rc);
	return (wg_replay_update(r, c));
}

ATF_TC_WITHOUT_HEAD(in_order);
ATF_TC_BODY(in_order, tc)
{
	struct wg_replay	 r;
	uint64_t		 i;

	wg_replay_init(&r);
	/* Counter 0 is a valid first packet. */
	ATF_CHECK_EQ(take(&r, 0), WG_OK);
	ATF_CHECK_EQ(take(&r, 0), WG_EREPLAY);
	for (i = 1; i < 10000; i++)
		ATF_REQUIRE_EQ(take(&r, i), WG_OK);
	ATF_CHECK_EQ(take(&r, 9999), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, 5000), WG_EREPLAY);
}

ATF_TC_WITHOUT_HEAD(duplicates_and_reorder);
ATF_TC_BODY(duplicates_and_reorder, tc)
{
	struct wg_replay	 r;
	uint64_t		 i;

	wg_replay_init(&r);
	ATF_CHECK_EQ(take(&r, 5), WG_OK);
	ATF_CHECK_EQ(take(&r, 5), WG_EREPLAY);
	/* Late arrivals within the window are accepted once. */
	ATF_CHECK_EQ(take(&r, 0), WG_OK);
	ATF_CHECK_EQ(take(&r, 3), WG_OK);
	ATF_CHECK_EQ(take(&r, 3), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, 4), WG_OK);
	ATF_CHECK_EQ(take(&r, 0), WG_EREPLAY);
	/* A reversed burst of 2048. */
	for (i = 2100; i > 52; i--)
		ATF_REQUIRE_EQ(take(&r, i), WG_OK);
	for (i = 2100; i > 52; i--)
		ATF_REQUIRE_EQ(take(&r, i), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, 52), WG_OK);
}

ATF_TC_WITHOUT_HEAD(too_old);
ATF_TC_BODY(too_old, tc)
{
	struct wg_replay	 r;
	uint64_t		 top = 100000;

	wg_replay_init(&r);
	ATF_CHECK_EQ(take(&r, top), WG_OK);
	/* 2048 behind is within the window; WINDOW + 1 behind is not. */
	ATF_CHECK_EQ(take(&r, top - 2048), WG_OK);
	ATF_CHECK_EQ(take(&r, top - WINDOW), WG_OK);
	ATF_CHECK_EQ(take(&r, top - WINDOW - 1), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, 0), WG_EREPLAY);
}

ATF_TC_WITHOUT_HEAD(jump_ahead);
ATF_TC_BODY(jump_ahead, tc)
{
	struct wg_replay	 r;
	uint64_t		 i;

	wg_replay_init(&r);
	for (i = 0; i < 100; i++)
		ATF_REQUIRE_EQ(take(&r, i), WG_OK);
	ATF_CHECK_EQ(take(&r, 1000000), WG_OK);
	/* Everything before the window is now refused, seen or not. */
	ATF_CHECK_EQ(take(&r, 50), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, 100), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, 1000000 - WINDOW - 1), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, 1000000 - WINDOW), WG_OK);
	/* Unseen counters inside the new window are fine: bits cleared. */
	ATF_CHECK_EQ(take(&r, 1000000 - 1), WG_OK);
	ATF_CHECK_EQ(take(&r, 1000000 - 64), WG_OK);
	ATF_CHECK_EQ(take(&r, 1000000 - 2048), WG_OK);
	ATF_CHECK_EQ(take(&r, 1000000 - 2048), WG_EREPLAY);
	/* A jump of less than the ring leaves no stale bits behind. */
	ATF_CHECK_EQ(take(&r, 1000000 + 300), WG_OK);
	ATF_CHECK_EQ(take(&r, 1000000 + 299), WG_OK);
	ATF_CHECK_EQ(take(&r, 1000000 + 236), WG_OK);
}

ATF_TC_WITHOUT_HEAD(check_does_not_update);
ATF_TC_BODY(check_does_not_update, tc)
{
	struct wg_replay	 r;

	wg_replay_init(&r);
	ATF_CHECK_EQ(wg_replay_check(&r, 7), WG_OK);
	ATF_CHECK_EQ(wg_replay_check(&r, 7), WG_OK);
	ATF_CHECK_EQ(r.top, 0);
	ATF_CHECK_EQ(wg_replay_update(&r, 7), WG_OK);
	ATF_CHECK_EQ(wg_replay_check(&r, 7), WG_EREPLAY);
	ATF_CHECK_EQ(wg_replay_update(&r, 7), WG_EREPLAY);
}

ATF_TC_WITHOUT_HEAD(limits);
ATF_TC_BODY(limits, tc)
{
	struct wg_replay	 r;

	ATF_CHECK_EQ(WG_REJECT_AFTER_MESSAGES, REJECT_AFTER_MESSAGES);
	ATF_CHECK_EQ(WG_REKEY_AFTER_MESSAGES, REKEY_AFTER_MESSAGES);
	wg_replay_init(&r);
	ATF_CHECK_EQ(take(&r, REJECT_AFTER_MESSAGES), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, UINT64_MAX), WG_EREPLAY);
	ATF_CHECK_EQ(take(&r, REJECT_AFTER_MESSAGES - 1), WG_OK);
	ATF_CHECK_EQ(take(&r, REJECT_AFTER_MESSAGES - 2), WG_OK);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, in_order);
	ATF_TP_ADD_TC(tp, duplicates_and_reorder);
	ATF_TP_ADD_TC(tp, too_old);
	ATF_TP_ADD_TC(tp, jump_ahead);
	ATF_TP_ADD_TC(tp, check_does_not_update);
	ATF_TP_ADD_TC(tp, limits);
	return (atf_no_error());
}
