/*
 * Hybrid path choice (pathsel.h): start on the relay, move to direct
 * once direct probes are answered, fall back when they stop while the
 * relay still answers, and do not flap.
 */

#include <stdint.h>
#include <string.h>

#include "pathsel.h"

static const char *const reason_names[PR_MAX] = {
	[PR_NONE] =		"none",
	[PR_POLICY] =		"routing policy",
	[PR_PROBING] =		"probing direct",
	[PR_NO_CANDIDATE] =	"no direct candidate",
	[PR_UDP_BLOCKED] =	"UDP blocked",
	[PR_DIRECT_TIMEOUT] =	"direct handshake timed out",
	[PR_DIRECT_SILENT] =	"direct path went silent",
	[PR_NAT_SYMMETRIC_LOCAL] = "our NAT is symmetric",
	[PR_NAT_SYMMETRIC_REMOTE] = "their NAT is symmetric",
};

const char *
path_reason_name(int r)
{
	if (r < 0 || r >= PR_MAX)
		return ("unknown");
	return (reason_names[r]);
}

const char *
peer_path_name(int path)
{
	switch (path) {
	case PATH_DIRECT:
		return ("direct");
	case PATH_RELAY:
		return ("relay");
	case PATH_HYBRID:
		return ("hybrid");
	default:
		return ("none");
	}
}

void
pathsel_init(struct pathsel *ps, uint64_t now)
{
	memset(ps, 0, sizeof(*ps));
	ps->active = PATH_RELAY;
	ps->reason = PR_PROBING;
	ps->created = now;
	ps->changed = now;
	ps->hold = 0;		/* the first move to direct waits for nothing */
}

/* Probes went unanswered long enough: the path does not work. */
int
path_obs_dead(const struct path_obs *o, uint64_t now)
{
	return (o->unanswered >= PATH_DEAD_PROBES &&
	    o->unanswered_since != 0 && now >= o->unanswered_since &&
	    now - o->unanswered_since >= PATH_DEAD_NS);
}

/* Answered in a row, lately: the path works both ways. */
int
path_obs_good(const struct path_obs *o, uint64_t now)
{
	return (o->pongs_in_row >= PATH_GOOD_PONGS && o->last_pong != 0 &&
	    now >= o->last_pong && now - o->last_pong < PATH_GOOD_FRESH_NS &&
	    !path_obs_dead(o, now));
}

/*
 * Why a relayed peer is relayed, from what is known now.  A symmetric
 * NAT explains only a direct path that never answered: one that once
 * did went silent for some other reason.  Ours comes before theirs:
 * with both symmetric, ours alone already defeats a punch towards a
 * cone NAT that filters by port, and it is the one this node's
 * operator can change.
 */
static int
relay_reason(const struct pathsel *ps, const struct path_health *h)
{
	if (!h->has_direct)
		return (PR_NO_CANDIDATE);
	if (h->udp_blocked)
		return (PR_UDP_BLOCKED);
	if (ps->ever_direct)
		return (PR_DIRECT_SILENT);
	/* Failed means tried: a few probes over the grace, not just time. */
	if (h->now - ps->created < PATH_PROBE_GRACE_NS ||
	    h->direct.probes < PATH_FAILED_PROBES)
		return (PR_PROBING);
	if (h->nat_local_symmetric)
		return (PR_NAT_SYMMETRIC_LOCAL);
	if (h->nat_remote_symmetric)
		return (PR_NAT_SYMMETRIC_REMOTE);
	return (PR_DIRECT_TIMEOUT);
}

/*
 * One report.  Returns 1 when the path or its reason changed, which the
 * caller tells the parent.
 */
int
pathsel_update(struct pathsel *ps, const struct path_health *h)
{
	uint64_t	 now = h->now;
	int		 oactive = ps->active, oreason = ps->reason;

	if (now < ps->changed)
		now = ps->changed;	/* reports do not go back in time */
	if (h->has_direct && path_obs_good(&h->direct, now)) {
		if (ps->good_since == 0)
			ps->good_since = now;
	} else
		ps->good_since = 0;
	if (ps->active == PATH_RELAY) {
		if (ps->good_since != 0 && now - ps->good_since >= ps->hold) {
			ps->active = PATH_DIRECT;
			ps->reason = PR_NONE;
			ps->ever_direct = 1;
		} else
			ps->reason = relay_reason(ps, h);
	} else if (path_obs_dead(&h->direct, now) &&
	    !path_obs_dead(&h->relay, now)) {
		/* A fall soon after the move to direct is a flap. */
		if (now - ps->changed < PATH_FLAP_WINDOW_NS)
			ps->hold = ps->hold == 0 ? PATH_HOLD_MIN_NS :
			    ps->hold * 2;
		else
			ps->hold = PATH_HOLD_MIN_NS;
		if (ps->hold > PATH_HOLD_MAX_NS)
			ps->hold = PATH_HOLD_MAX_NS;
		ps->active = PATH_RELAY;
		ps->reason = PR_DIRECT_SILENT;
	}
	if (ps->active != oactive) {
		ps->changed = now;
		ps->switches++;
	}
	return (ps->active != oactive || ps->reason != oreason);
}
