/*
 * Hybrid path choice (lib/pathsel.c) on a clock the test drives: the
 * relay first, direct after two answered probes, back to the relay
 * when direct probes go unanswered for three seconds while the relay
 * answers, the reasons on the way, and no flapping.
 */

#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "pathsel.h"

#define SEC	UINT64_C(1000000000)
#define MS	UINT64_C(1000000)
#define T0	(1000 * SEC)

/* A direct path whose last two probes were answered at now. */
static void
answered(struct path_obs *o, uint64_t now)
{
	o->last_pong = now;
	o->pongs_in_row += 1;
	o->pongs++;
	o->unanswered = 0;
	o->unanswered_since = 0;
}

/* A probe sent at now and not (yet) answered. */
static void
unanswered(struct path_obs *o, uint64_t now)
{
	o->probes++;
	if (o->unanswered++ == 0)
		o->unanswered_since = now;
	if (o->unanswered > 1)
		o->pongs_in_row = 0;
}

static void
health(struct path_health *h, uint64_t now)
{
	h->now = now;
	h->has_direct = 1;
}

ATF_TC_WITHOUT_HEAD(starts_on_relay);
ATF_TC_BODY(starts_on_relay, tc)
{
	struct pathsel		 ps;
	struct path_health	 h;

	memset(&h, 0, sizeof(h));
	pathsel_init(&ps, T0);
	ATF_CHECK_EQ(ps.active, PATH_RELAY);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "probing direct");

	/* No answer within the five-second grace: direct timed out. */
	health(&h, T0 + 4 * SEC);
	unanswered(&h.direct, T0 + 1 * SEC);
	unanswered(&h.direct, T0 + 3 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 0);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "probing direct");
	/* The grace is over, but only two probes went out: not yet. */
	health(&h, T0 + 6 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 0);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "probing direct");
	unanswered(&h.direct, T0 + 6 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_EQ(ps.active, PATH_RELAY);
	ATF_CHECK_STREQ(path_reason_name(ps.reason),
	    "direct handshake timed out");
	/* UDP that reaches nothing is said as such... */
	h.udp_blocked = 1;
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "UDP blocked");
	/* ... and a peer with nowhere to try, before anything else. */
	h.has_direct = 0;
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "no direct candidate");
	ATF_CHECK_EQ(ps.switches, 0);
}

ATF_TC_WITHOUT_HEAD(upgrade_needs_two_pongs);
ATF_TC_BODY(upgrade_needs_two_pongs, tc)
{
	struct pathsel		 ps;
	struct path_health	 h;

	memset(&h, 0, sizeof(h));
	pathsel_init(&ps, T0);
	health(&h, T0 + 1 * SEC);
	answered(&h.direct, T0 + 1 * SEC);
	pathsel_update(&ps, &h);
	ATF_CHECK_EQ(ps.active, PATH_RELAY);
	/* A second answer in a row: direct, at once the first time. */
	health(&h, T0 + 2 * SEC);
	answered(&h.direct, T0 + 2 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_EQ(ps.active, PATH_DIRECT);
	ATF_CHECK_EQ(ps.reason, PR_NONE);
	ATF_CHECK_EQ(ps.switches, 1);
	/* Stale answers do not count: 5 s after the last pong. */
	pathsel_init(&ps, T0);
	health(&h, T0 + 2 * SEC + 5 * SEC);
	pathsel_update(&ps, &h);
	ATF_CHECK_EQ(ps.active, PATH_RELAY);
	/* Nor do answers for a peer with no direct endpoint. */
	pathsel_init(&ps, T0);
	health(&h, T0 + 2 * SEC);
	h.has_direct = 0;
	pathsel_update(&ps, &h);
	ATF_CHECK_EQ(ps.active, PATH_RELAY);
}

ATF_TC_WITHOUT_HEAD(fall_back_when_silent);
ATF_TC_BODY(fall_back_when_silent, tc)
{
	struct pathsel		 ps;
	struct path_health	 h;
	uint64_t		 t = T0 + 2 * SEC;

	memset(&h, 0, sizeof(h));
	pathsel_init(&ps, T0);
	answered(&h.direct, t - SEC);
	answered(&h.direct, t);
	health(&h, t);
	pathsel_update(&ps, &h);
	ATF_REQUIRE_EQ(ps.active, PATH_DIRECT);

	/* One probe late for long is doubt, not death. */
	unanswered(&h.direct, t + SEC);
	health(&h, t + 10 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 0);
	ATF_CHECK_EQ(ps.active, PATH_DIRECT);
	/* Two unanswered, but within three seconds: still direct. */
	unanswered(&h.direct, t + 2 * SEC);
	health(&h, t + SEC + 3 * SEC - MS);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 0);
	ATF_CHECK_EQ(ps.active, PATH_DIRECT);
	/* Three seconds: dead; the relay answers, so the relay. */
	health(&h, t + SEC + 3 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_EQ(ps.active, PATH_RELAY);
	ATF_CHECK_STREQ(path_reason_name(ps.reason),
	    "direct path went silent");
	ATF_CHECK_EQ(ps.switches, 2);
}

ATF_TC_WITHOUT_HEAD(stay_when_relay_dead_too);
ATF_TC_BODY(stay_when_relay_dead_too, tc)
{
	struct pathsel		 ps;
	struct path_health	 h;
	uint64_t		 t = T0 + 2 * SEC;

	memset(&h, 0, sizeof(h));
	pathsel_init(&ps, T0);
	answered(&h.direct, t - SEC);
	answered(&h.direct, t);
	health(&h, t);
	pathsel_update(&ps, &h);
	ATF_REQUIRE_EQ(ps.active, PATH_DIRECT);
	unanswered(&h.direct, t + SEC);
	unanswered(&h.direct, t + 2 * SEC);
	unanswered(&h.relay, t + SEC);
	unanswered(&h.relay, t + 2 * SEC);
	health(&h, t + 10 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 0);
	ATF_CHECK_EQ(ps.active, PATH_DIRECT);
	ATF_CHECK_EQ(ps.switches, 1);
}

/*
 * A path that comes and goes: after each fall, direct must answer for
 * longer before it is used again (2 s, 4 s, ... 16 s at most), and a
 * quiet minute resets it.
 */
ATF_TC_WITHOUT_HEAD(hysteresis);
ATF_TC_BODY(hysteresis, tc)
{
	static const uint64_t	 holds[] = { 2, 4, 8, 16, 16 };
	struct pathsel		 ps;
	struct path_health	 h;
	uint64_t		 t = T0, good;
	unsigned int		 i;

	memset(&h, 0, sizeof(h));
	pathsel_init(&ps, T0);
	for (i = 0; i < sizeof(holds) / sizeof(holds[0]); i++) {
		/* Up... */
		memset(&h.direct, 0, sizeof(h.direct));
		answered(&h.direct, t);
		answered(&h.direct, t);
		health(&h, t);
		pathsel_update(&ps, &h);
		good = t;
		while (ps.active == PATH_RELAY) {
			t += 500 * MS;
			answered(&h.direct, t);
			health(&h, t);
			pathsel_update(&ps, &h);
			ATF_REQUIRE(t - good < 60 * SEC);
		}
		if (i > 0)
			ATF_CHECK_EQ_MSG(t - good, holds[i - 1] * SEC,
			    "flap %u: direct after %llu ms", i,
			    (unsigned long long)((t - good) / MS));
		/* ... and down again within a few seconds: a flap. */
		unanswered(&h.direct, t + SEC);
		unanswered(&h.direct, t + 2 * SEC);
		t += 4 * SEC;
		health(&h, t);
		ATF_REQUIRE_EQ(pathsel_update(&ps, &h), 1);
		ATF_REQUIRE_EQ(ps.active, PATH_RELAY);
		ATF_CHECK_EQ(ps.hold, holds[i] * SEC);
	}
	/* Direct for over a minute, then a fall: the hold is back to 2 s. */
	memset(&h.direct, 0, sizeof(h.direct));
	for (; ps.active == PATH_RELAY || t - ps.changed < 61 * SEC;
	    t += SEC) {
		answered(&h.direct, t);
		health(&h, t);
		pathsel_update(&ps, &h);
	}
	unanswered(&h.direct, t + SEC);
	unanswered(&h.direct, t + 2 * SEC);
	health(&h, t + 5 * SEC);
	pathsel_update(&ps, &h);
	ATF_CHECK_EQ(ps.active, PATH_RELAY);
	ATF_CHECK_EQ(ps.hold, 2 * SEC);
}

ATF_TC_WITHOUT_HEAD(nat_reasons);
ATF_TC_BODY(nat_reasons, tc)
{
	struct pathsel		 ps;
	struct path_health	 h;

	memset(&h, 0, sizeof(h));
	pathsel_init(&ps, T0);
	unanswered(&h.direct, T0 + 1 * SEC);
	unanswered(&h.direct, T0 + 3 * SEC);
	h.nat_local_symmetric = h.nat_remote_symmetric = 1;
	/* Within the grace it is probing, whatever the NATs. */
	health(&h, T0 + 4 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 0);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "probing direct");
	/* Then, with a third probe out, ours first when both are... */
	unanswered(&h.direct, T0 + 5 * SEC);
	health(&h, T0 + 5 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_EQ(ps.reason, PR_NAT_SYMMETRIC_LOCAL);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "our NAT is symmetric");
	/* ... theirs when only theirs is... */
	h.nat_local_symmetric = 0;
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_STREQ(path_reason_name(ps.reason),
	    "their NAT is symmetric");
	/* ... and a plain time-out when neither is known to be. */
	h.nat_remote_symmetric = 0;
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_STREQ(path_reason_name(ps.reason),
	    "direct handshake timed out");
	/* Blocked UDP and no candidate still come first. */
	h.nat_local_symmetric = h.nat_remote_symmetric = 1;
	h.udp_blocked = 1;
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "UDP blocked");
	h.has_direct = 0;
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_STREQ(path_reason_name(ps.reason), "no direct candidate");
	ATF_CHECK_EQ(ps.switches, 0);
}

/* A NAT said to be symmetric never keeps a working direct path away. */
ATF_TC_WITHOUT_HEAD(nat_never_decides);
ATF_TC_BODY(nat_never_decides, tc)
{
	struct pathsel		 ps;
	struct path_health	 h;
	uint64_t		 t = T0 + 10 * SEC;

	memset(&h, 0, sizeof(h));
	pathsel_init(&ps, T0);
	h.nat_local_symmetric = h.nat_remote_symmetric = 1;
	answered(&h.direct, t - SEC);
	answered(&h.direct, t);
	health(&h, t);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_EQ(ps.active, PATH_DIRECT);
	ATF_CHECK_EQ(ps.reason, PR_NONE);
	/* Silent after it worked: silence is the reason, not the NAT. */
	unanswered(&h.direct, t + SEC);
	unanswered(&h.direct, t + 2 * SEC);
	health(&h, t + SEC + 3 * SEC);
	ATF_CHECK_EQ(pathsel_update(&ps, &h), 1);
	ATF_CHECK_EQ(ps.active, PATH_RELAY);
	ATF_CHECK_STREQ(path_reason_name(ps.reason),
	    "direct path went silent");
	health(&h, t + 30 * SEC);
	pathsel_update(&ps, &h);
	ATF_CHECK_STREQ(path_reason_name(ps.reason),
	    "direct path went silent");
}

ATF_TC_WITHOUT_HEAD(names);
ATF_TC_BODY(names, tc)
{
	int	 i;

	for (i = 0; i < PR_MAX; i++)
		ATF_CHECK(strcmp(path_reason_name(i), "unknown") != 0);
	ATF_CHECK_STREQ(path_reason_name(PR_MAX), "unknown");
	ATF_CHECK_STREQ(path_reason_name(-1), "unknown");
	ATF_CHECK_STREQ(peer_path_name(PATH_HYBRID), "hybrid");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, starts_on_relay);
	ATF_TP_ADD_TC(tp, upgrade_needs_two_pongs);
	ATF_TP_ADD_TC(tp, fall_back_when_silent);
	ATF_TP_ADD_TC(tp, stay_when_relay_dead_too);
	ATF_TP_ADD_TC(tp, hysteresis);
	ATF_TP_ADD_TC(tp, nat_reasons);
	ATF_TP_ADD_TC(tp, nat_never_decides);
	ATF_TP_ADD_TC(tp, names);
	return (atf_no_error());
}
