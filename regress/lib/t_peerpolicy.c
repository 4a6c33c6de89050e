/*
 * The peer whitelist: allowed_peers, auto_approve, approvals, max_peers.
 */

#include <string.h>

#include <atf-c.h>

#include "peerpolicy.h"

#define NKEYS	6

static uint8_t			 keys[NKEYS][WG_KEY_LEN];
static enum policy_verdict	 out[NKEYS];

static void
mkkeys(void)
{
	int	 i;

	for (i = 0; i < NKEYS; i++)
		memset(keys[i], 'a' + i, WG_KEY_LEN);
}

ATF_TC_WITHOUT_HEAD(open_mesh);
ATF_TC_BODY(open_mesh, tc)
{
	struct policy	 p = { 0 };
	int		 i;

	mkkeys();
	p.self = keys[0];
	p.auto_approve = 1;
	p.max_peers = 16;
	ATF_CHECK_EQ(policy_decide(&p, keys, NULL, NKEYS, out), NKEYS - 1);
	ATF_CHECK_EQ(out[0], POLICY_SELF);
	for (i = 1; i < NKEYS; i++)
		ATF_CHECK_EQ(out[i], POLICY_CONFIGURE);
}

ATF_TC_WITHOUT_HEAD(allowed_list);
ATF_TC_BODY(allowed_list, tc)
{
	struct policy	 p = { 0 };

	mkkeys();
	p.self = keys[0];
	p.allowed = &keys[2];
	p.nallowed = 2;			/* keys 2 and 3 */
	p.auto_approve = 1;
	p.max_peers = 16;
	ATF_CHECK_EQ(policy_decide(&p, keys, NULL, NKEYS, out), 2);
	ATF_CHECK_EQ(out[1], POLICY_PENDING);
	ATF_CHECK_EQ(out[2], POLICY_CONFIGURE);
	ATF_CHECK_EQ(out[3], POLICY_CONFIGURE);
	ATF_CHECK_EQ(out[4], POLICY_PENDING);
	ATF_CHECK_EQ(out[5], POLICY_PENDING);
}

ATF_TC_WITHOUT_HEAD(no_auto_approve);
ATF_TC_BODY(no_auto_approve, tc)
{
	struct policy	 p = { 0 };

	mkkeys();
	p.self = keys[0];
	p.auto_approve = 0;
	p.max_peers = 16;
	ATF_CHECK_EQ(policy_decide(&p, keys, NULL, NKEYS, out), 0);
	ATF_CHECK_EQ(out[1], POLICY_PENDING);
	/* The operator approves key 4. */
	p.approved = &keys[4];
	p.napproved = 1;
	ATF_CHECK_EQ(policy_decide(&p, keys, NULL, NKEYS, out), 1);
	ATF_CHECK_EQ(out[4], POLICY_CONFIGURE);
	ATF_CHECK_EQ(out[5], POLICY_PENDING);
}

ATF_TC_WITHOUT_HEAD(max_peers);
ATF_TC_BODY(max_peers, tc)
{
	struct policy	 p = { 0 };
	int		 configured[NKEYS] = { 0, 0, 0, 0, 1, 1 };

	mkkeys();
	p.self = keys[0];
	p.auto_approve = 1;
	p.max_peers = 2;
	/* Newcomers in order... */
	ATF_CHECK_EQ(policy_decide(&p, keys, NULL, NKEYS, out), 2);
	ATF_CHECK_EQ(out[1], POLICY_CONFIGURE);
	ATF_CHECK_EQ(out[2], POLICY_CONFIGURE);
	ATF_CHECK_EQ(out[3], POLICY_OVER_LIMIT);
	/* ...but those already configured keep their places. */
	ATF_CHECK_EQ(policy_decide(&p, keys, configured, NKEYS, out), 2);
	ATF_CHECK_EQ(out[1], POLICY_OVER_LIMIT);
	ATF_CHECK_EQ(out[4], POLICY_CONFIGURE);
	ATF_CHECK_EQ(out[5], POLICY_CONFIGURE);
	p.max_peers = 1;
	ATF_CHECK_EQ(policy_decide(&p, keys, configured, NKEYS, out), 1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, open_mesh);
	ATF_TP_ADD_TC(tp, allowed_list);
	ATF_TP_ADD_TC(tp, no_auto_approve);
	ATF_TP_ADD_TC(tp, max_peers);
	return (atf_no_error());
}
