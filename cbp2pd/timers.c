/*
 * The engine's timers: one libevent timer per peer, armed for that
 * peer's next protocol deadline (lib/wg_timers.c decides which), so an
 * idle engine with many peers wakes for nobody.
 */

#include <sys/types.h>

#include <event.h>
#include <string.h>

#include "engine.h"
#include "log.h"

static void	peer_timer_cb(int, short, void *);

void
timers_peer_init(struct peer *p)
{
	p->deadline = WG_DEADLINE_NONE;
	p->timer_at = WG_DEADLINE_NONE;
	evtimer_set(&p->ev_timer, peer_timer_cb, p);
}

void
timers_peer_stop(struct peer *p)
{
	evtimer_del(&p->ev_timer);
	p->timer_at = WG_DEADLINE_NONE;
}

/*
 * Fire at p's deadline.  Only an earlier deadline moves the timer: a
 * later one lets it fire early once and re-arm, which costs less than
 * moving it on every packet.
 */
static void
timer_arm(struct peer *p, uint64_t now)
{
	struct timeval	 tv;
	uint64_t	 d, at = p->deadline;

	if (at >= p->timer_at)
		return;
	d = at > now ? at - now : 0;
	tv.tv_sec = d / WG_NSEC_PER_SEC;
	tv.tv_usec = (d % WG_NSEC_PER_SEC) / 1000;
	evtimer_add(&p->ev_timer, &tv);
	p->timer_at = at;
}

static void
peer_actions(struct peer *p, unsigned int acts, uint64_t now)
{
	if (acts & WG_ACT_DROP_QUEUED)
		p->nstaged = 0;
	if (acts & WG_ACT_SEND_INITIATION)
		send_initiation_request(p, now);
	if (acts & WG_ACT_SEND_KEEPALIVE)
		send_staged(p, now, 1);
	if (acts & WG_ACT_KEYS_ZEROED) {
		log_debug("peer %s: session keys erased", peer_name(p));
		/* The parent's half-done handshake goes with them. */
		engine_to_parent(IMSG_ENG_HS_ZERO, p->wp.pub, WG_KEY_LEN);
	}
}

/* Run p's due timers and make sure it wakes for its next one. */
void
peer_kick(struct peer *p, uint64_t now)
{
	unsigned int	 acts;

	acts = wg_timers_tick(&p->wp, now, &p->deadline);
	if (acts != 0)
		peer_actions(p, acts, now);
	timer_arm(p, now);
}

static void
peer_timer_cb(int fd, short event, void *arg)
{
	struct peer	*p = arg;

	p->timer_at = WG_DEADLINE_NONE;
	peer_kick(p, engine_now());
	tx_flush();
}
