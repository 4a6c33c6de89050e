/*
 * A peer's path under hybrid routing: which way its packets go (direct
 * UDP or the relay) and why, chosen from the health the engine measures
 * with probes.  No process state and no clock of its own: the caller
 * gives the time, so a unit test drives it.  cbmeshd runs it; the parent
 * checks its answers; the engine only measures and obeys.
 */
#ifndef CBP2P_PATHSEL_H
#define CBP2P_PATHSEL_H

#include <stdint.h>

#define PATH_KEY_LEN		32
#define PATH_NS_PER_SEC		UINT64_C(1000000000)

/*
 * A path is dead once at least PATH_DEAD_PROBES probes went unanswered
 * over PATH_DEAD_NS: with a probe a second while traffic flows, about
 * three seconds of silence.  Tailscale trusts a direct path 6.5 s after
 * its last pong; we leave sooner because the engine copies packets to
 * the relay as soon as one probe is late, so leaving early loses
 * nothing and staying late would.
 */
#define PATH_DEAD_PROBES	2
#define PATH_DEAD_NS		(3 * PATH_NS_PER_SEC)
/* Answered probes in a row before the path is trusted again. */
#define PATH_GOOD_PONGS		2
/* ... the last of them no older than this. */
#define PATH_GOOD_FRESH_NS	(5 * PATH_NS_PER_SEC)
/* How long the first direct probes run before the reason says failed. */
#define PATH_PROBE_GRACE_NS	(5 * PATH_NS_PER_SEC)
/*
 * ... and how many direct probes must have gone out: crossing
 * handshakes can hold the session (and so the probes) back past the
 * grace.
 */
#define PATH_FAILED_PROBES	3
/*
 * Hysteresis: after falling back to the relay, direct must keep
 * answering this long before it is used again; doubled each time the
 * fall came soon after the last move to direct (a flap), up to the
 * maximum, and back to the minimum after a quiet spell.
 */
#define PATH_HOLD_MIN_NS	(2 * PATH_NS_PER_SEC)
#define PATH_HOLD_MAX_NS	(16 * PATH_NS_PER_SEC)
#define PATH_FLAP_WINDOW_NS	(60 * PATH_NS_PER_SEC)

/* A peer's path: how the parent lets the engine reach it. */
enum peer_path {
	PATH_DIRECT,		/* UDP: endpoint, candidates, roaming */
	PATH_RELAY,		/* only through cbrelayd, never UDP */
	PATH_HYBRID		/* both allowed; cbmeshd picks one to send */
};

/* Why a peer is relayed, or has no path; PR_NONE when direct. */
enum path_reason {
	PR_NONE,
	PR_POLICY,		/* routing relay, or client-server */
	PR_PROBING,		/* hybrid's first seconds */
	PR_NO_CANDIDATE,	/* no direct endpoint known to try */
	PR_UDP_BLOCKED,		/* our UDP to the edge gets no answer */
	PR_DIRECT_TIMEOUT,	/* direct probes never answered */
	PR_DIRECT_SILENT,	/* direct answered, then went silent */
	PR_NAT_SYMMETRIC_LOCAL,	/* never answered; our NAT maps per peer */
	PR_NAT_SYMMETRIC_REMOTE, /* never answered; the peer's NAT does */
	PR_MAX
};

/* One path's health, as the engine measured it. */
struct path_obs {
	uint64_t	 last_rx;	/* authenticated packet over it; 0 never */
	uint64_t	 last_pong;	/* answered probe; 0 never */
	uint64_t	 unanswered_since;	/* oldest unanswered probe; 0 */
	uint64_t	 rtt_ns;	/* smoothed; 0 unknown */
	uint32_t	 unanswered;	/* probes since the last answer */
	uint32_t	 pongs_in_row;
	uint32_t	 probes;	/* sent, ever */
	uint32_t	 pongs;		/* answered, ever */
	uint32_t	 loss_pct;	/* of the recent probes, 0-100 */
};

/* What cbmeshd is told about a hybrid peer, a report at a time. */
struct path_health {
	uint8_t		 pub[PATH_KEY_LEN];
	uint64_t	 now;		/* when measured, CLOCK_MONOTONIC ns */
	int		 active;	/* the engine's path now */
	int		 has_direct;	/* a direct endpoint or candidate */
	int		 udp_blocked;	/* the parent's: STUN unanswered */
	struct path_obs	 direct;
	struct path_obs	 relay;
	/* The parent's, from STUN (ours) and the registry (the peer's). */
	int		 nat_local_symmetric;
	int		 nat_remote_symmetric;
};

/* cbmeshd's state for one peer. */
struct pathsel {
	int		 active;	/* PATH_DIRECT or PATH_RELAY */
	int		 reason;	/* enum path_reason */
	uint64_t	 created;
	uint64_t	 changed;	/* the last switch, or creation */
	uint64_t	 hold;		/* hysteresis before direct again */
	uint64_t	 good_since;	/* direct answering since; 0 not */
	int		 ever_direct;
	uint32_t	 switches;
};

void		 pathsel_init(struct pathsel *, uint64_t);
int		 pathsel_update(struct pathsel *, const struct path_health *);
int		 path_obs_dead(const struct path_obs *, uint64_t);
int		 path_obs_good(const struct path_obs *, uint64_t);
const char	*path_reason_name(int);
const char	*peer_path_name(int);

#endif /* CBP2P_PATHSEL_H */
