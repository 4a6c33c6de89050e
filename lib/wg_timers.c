/*
 * The WireGuard timers (whitepaper section 6) as a pure state machine
 * per peer.  The daemon reports events with the current monotonic time;
 * wg_timers_tick() runs whatever expired, answers with WG_ACT_* bits
 * and gives the next deadline.  The rules follow the kernel module's
 * timers.c, so the behaviour on the wire matches wireguard-go's too.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "wg.h"

#define TMR_RETRANSMIT		0x01
#define TMR_KEEPALIVE		0x02
#define TMR_NEW_HANDSHAKE	0x04
#define TMR_ZERO_KEYS		0x08
#define TMR_PERSISTENT		0x10

#define WANT_NEW		1
#define WANT_RETRY		2

void
wg_timers_init(struct wg_timers *t)
{
	memset(t, 0, sizeof(*t));
}

static uint64_t
jitter(struct wg_timers *t)
{
	uint32_t	 upper = (uint32_t)WG_REKEY_TIMEOUT_JITTER_MAX + 1;

	if (t->rand_uniform != NULL)
		return (t->rand_uniform(t->rand_arg, upper) % upper);
	return (randombytes_uniform(upper));
}

static void
arm(struct wg_timers *t, unsigned int which, uint64_t at)
{
	t->armed |= which;
	switch (which) {
	case TMR_RETRANSMIT:
		t->retransmit_at = at;
		break;
	case TMR_KEEPALIVE:
		t->keepalive_at = at;
		break;
	case TMR_NEW_HANDSHAKE:
		t->new_handshake_at = at;
		break;
	case TMR_ZERO_KEYS:
		t->zero_keys_at = at;
		break;
	case TMR_PERSISTENT:
		t->persistent_at = at;
		break;
	}
}

static void
disarm(struct wg_timers *t, unsigned int which)
{
	t->armed &= ~which;
}

static int
pending(const struct wg_timers *t, unsigned int which)
{
	return ((t->armed & which) != 0);
}

static int
expired(const struct wg_timers *t, unsigned int which, uint64_t at,
    uint64_t now)
{
	return (pending(t, which) && now >= at);
}

static uint64_t
age(uint64_t birth, uint64_t now)
{
	return (now > birth ? now - birth : 0);
}

/* ---- primitive events, named as in the kernel ------------------------ */

void
wg_timers_handshake_initiated(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	arm(t, TMR_RETRANSMIT, now + WG_REKEY_TIMEOUT + jitter(t));
}

void
wg_timers_handshake_complete(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	disarm(t, TMR_RETRANSMIT);
	t->handshake_attempts = 0;
	t->sent_lastminute_handshake = 0;
	t->last_handshake = now;
	t->handshaked = 1;
}

void
wg_timers_session_derived(struct wg_peer *p, uint64_t now)
{
	arm(&p->timers, TMR_ZERO_KEYS, now + WG_ZERO_KEYS_AFTER);
}

void
wg_timers_any_authenticated_sent(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	/* Anything we send doubles as a keepalive. */
	disarm(t, TMR_KEEPALIVE);
	if (t->rearm_keepalive) {
		t->rearm_keepalive = 0;
		arm(t, TMR_KEEPALIVE, now + WG_KEEPALIVE_TIMEOUT);
	}
}

void
wg_timers_any_authenticated_received(struct wg_peer *p, uint64_t now)
{
	(void)now;
	/* The peer is alive: no need to start over. */
	disarm(&p->timers, TMR_NEW_HANDSHAKE);
}

void
wg_timers_any_authenticated_traversal(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	if (t->persistent_interval != 0)
		arm(t, TMR_PERSISTENT, now + t->persistent_interval);
}

/* Data (not keepalive) sent: expect an answer within 15 s. */
static void
data_sent(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	if (!pending(t, TMR_NEW_HANDSHAKE))
		arm(t, TMR_NEW_HANDSHAKE, now + WG_KEEPALIVE_TIMEOUT +
		    WG_REKEY_TIMEOUT + jitter(t));
}

/* Data received: answer with a keepalive if we have nothing to say. */
static void
data_received(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	if (!pending(t, TMR_KEEPALIVE))
		arm(t, TMR_KEEPALIVE, now + WG_KEEPALIVE_TIMEOUT);
	else
		t->need_another_keepalive = 1;
}

/* ---- events the daemon reports --------------------------------------- */

void
wg_timers_want_handshake(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	(void)now;
	/* Fresh demand restarts the REKEY_ATTEMPT_TIME budget. */
	t->handshake_attempts = 0;
	if (t->want_initiation != WANT_RETRY)
		t->want_initiation = WANT_NEW;
}

void
wg_timers_initiation_sent(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	t->last_sent_handshake = now;
	t->sent_handshake = 1;
	wg_timers_any_authenticated_traversal(p, now);
	wg_timers_any_authenticated_sent(p, now);
	wg_timers_handshake_initiated(p, now);
}

void
wg_timers_initiation_received(struct wg_peer *p, uint64_t now)
{
	wg_timers_any_authenticated_received(p, now);
	wg_timers_any_authenticated_traversal(p, now);
}

void
wg_timers_response_sent(struct wg_peer *p, uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	t->last_sent_handshake = now;
	t->sent_handshake = 1;
	wg_timers_any_authenticated_traversal(p, now);
	wg_timers_any_authenticated_sent(p, now);
	wg_timers_session_derived(p, now);
}

void
wg_timers_response_received(struct wg_peer *p, uint64_t now)
{
	wg_timers_any_authenticated_received(p, now);
	wg_timers_any_authenticated_traversal(p, now);
	wg_timers_session_derived(p, now);
	wg_timers_handshake_complete(p, now);
	/* Confirm the session to the responder at once. */
	p->timers.keepalive_due = 1;
}

/*
 * The sender rekeys when its keypair gets old or has sent many
 * messages; only the initiator rekeys on time, so both ends do not
 * start handshakes at once.
 */
static void
keep_key_fresh_send(struct wg_peer *p, uint64_t now)
{
	struct wg_keypair	*kp = p->current;

	if (kp == NULL || !kp->valid)
		return;
	if (__atomic_load_n(&kp->send_counter, __ATOMIC_RELAXED) >
	    WG_REKEY_AFTER_MESSAGES ||
	    (kp->initiator && age(kp->birth, now) >= WG_REKEY_AFTER_TIME))
		wg_timers_want_handshake(p, now);
}

/*
 * If the initiator did not send for a while, its keypair may be about
 * to expire while the other side still sends: one last-minute handshake
 * when receiving on a keypair nearly REJECT_AFTER_TIME old.
 */
static void
keep_key_fresh_recv(struct wg_peer *p, uint64_t now)
{
	struct wg_keypair	*kp = p->current;
	struct wg_timers	*t = &p->timers;

	if (t->sent_lastminute_handshake || kp == NULL || !kp->valid)
		return;
	if (kp->initiator &&
	    age(kp->birth, now) >= WG_REKEY_AFTER_TIME_RECV) {
		t->sent_lastminute_handshake = 1;
		wg_timers_want_handshake(p, now);
	}
}

void
wg_timers_data_sent(struct wg_peer *p, size_t plen, uint64_t now)
{
	wg_timers_any_authenticated_traversal(p, now);
	wg_timers_any_authenticated_sent(p, now);
	if (plen > 0)
		data_sent(p, now);
	keep_key_fresh_send(p, now);
}

void
wg_timers_data_received(struct wg_peer *p, size_t plen, uint64_t now)
{
	keep_key_fresh_recv(p, now);
	wg_timers_any_authenticated_received(p, now);
	wg_timers_any_authenticated_traversal(p, now);
	if (plen > 0)
		data_received(p, now);
}

void
wg_timers_set_persistent_keepalive(struct wg_peer *p, unsigned int seconds,
    uint64_t now)
{
	struct wg_timers	*t = &p->timers;

	t->persistent_interval = (uint64_t)seconds * WG_NSEC_PER_SEC;
	if (seconds != 0)
		arm(t, TMR_PERSISTENT, now);
	else
		disarm(t, TMR_PERSISTENT);
}

/* ---- the tick -------------------------------------------------------- */

static void
earliest(const struct wg_timers *t, unsigned int which, uint64_t at,
    uint64_t *next)
{
	if (pending(t, which) && at < *next)
		*next = at;
}

unsigned int
wg_timers_tick(struct wg_peer *p, uint64_t now, uint64_t *next_deadline)
{
	struct wg_timers	*t = &p->timers;
	unsigned int		 acts = 0;
	uint64_t		 next = WG_DEADLINE_NONE;

	if (expired(t, TMR_ZERO_KEYS, t->zero_keys_at, now)) {
		/* Nothing for REJECT_AFTER_TIME * 3: erase all keys. */
		disarm(t, TMR_ZERO_KEYS);
		wg_peer_zero_keys(p);
		acts |= WG_ACT_KEYS_ZEROED;
	}
	if (expired(t, TMR_RETRANSMIT, t->retransmit_at, now)) {
		disarm(t, TMR_RETRANSMIT);
		if (t->handshake_attempts > WG_MAX_TIMER_HANDSHAKES) {
			/* REKEY_ATTEMPT_TIME is over: give up. */
			disarm(t, TMR_KEEPALIVE);
			acts |= WG_ACT_DROP_QUEUED;
			if (!pending(t, TMR_ZERO_KEYS))
				arm(t, TMR_ZERO_KEYS,
				    now + WG_ZERO_KEYS_AFTER);
		} else {
			t->handshake_attempts++;
			t->want_initiation = WANT_RETRY;
		}
	}
	if (expired(t, TMR_KEEPALIVE, t->keepalive_at, now)) {
		disarm(t, TMR_KEEPALIVE);
		acts |= WG_ACT_SEND_KEEPALIVE;
		if (t->need_another_keepalive) {
			/* Re-armed once the keepalive has gone out. */
			t->need_another_keepalive = 0;
			t->rearm_keepalive = 1;
		}
	}
	if (expired(t, TMR_NEW_HANDSHAKE, t->new_handshake_at, now)) {
		/* We sent data and heard nothing for 15 s. */
		disarm(t, TMR_NEW_HANDSHAKE);
		wg_timers_want_handshake(p, now);
	}
	if (expired(t, TMR_PERSISTENT, t->persistent_at, now)) {
		disarm(t, TMR_PERSISTENT);
		if (t->persistent_interval != 0)
			acts |= WG_ACT_SEND_KEEPALIVE;
	}
	if (t->keepalive_due) {
		t->keepalive_due = 0;
		acts |= WG_ACT_SEND_KEEPALIVE;
	}
	if (t->want_initiation != 0) {
		/* At most one new initiation per REKEY_TIMEOUT; retries go. */
		if (t->want_initiation == WANT_RETRY || !t->sent_handshake ||
		    age(t->last_sent_handshake, now) >= WG_REKEY_TIMEOUT)
			acts |= WG_ACT_SEND_INITIATION;
		t->want_initiation = 0;
	}

	earliest(t, TMR_RETRANSMIT, t->retransmit_at, &next);
	earliest(t, TMR_KEEPALIVE, t->keepalive_at, &next);
	earliest(t, TMR_NEW_HANDSHAKE, t->new_handshake_at, &next);
	earliest(t, TMR_ZERO_KEYS, t->zero_keys_at, &next);
	earliest(t, TMR_PERSISTENT, t->persistent_at, &next);
	if (next_deadline != NULL)
		*next_deadline = next;
	return (acts);
}
