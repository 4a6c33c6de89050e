/*
 * The timer state machine, driven by a fake clock: rekey after time and
 * after messages, reject after time, keepalive, retransmission with
 * jitter, giving up, persistent keepalive, the last-minute rekey on
 * receive and the zeroing of key material.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <atf-c.h>

#include "wg.h"
#include "wg_test.h"

#define SEC	UINT64_C(1000000000)	/* the clock counts nanoseconds */
#define MSEC	UINT64_C(1000000)
#define T0	(1000 * SEC)

/*
 * The protocol's timers as documented, written out so that a wrong
 * constant in lib/wg.h fails here (cbp2pd(8) promises "every timer of
 * the protocol").  The WireGuard paper, section 6 (timers): Rekey-
 * After-Time 120 s, Reject-After-Time 180 s, Rekey-Attempt-Time 90 s,
 * Rekey-Timeout 5 s, Keepalive-Timeout 10 s, Rekey-After-Messages
 * 2^60; the initiator's rekey on receive at Reject-After-Time -
 * Keepalive-Timeout - Rekey-Timeout (165 s); keys zeroed after 3 *
 * Reject-After-Time (540 s).  The retransmission jitter of up to a
 * third of a second is the kernel's and wireguard-go's (0 to 333 ms).
 */
#define REKEY_AFTER_TIME		(120 * SEC)
#define REJECT_AFTER_TIME		(180 * SEC)
#define REKEY_ATTEMPT_TIME		(90 * SEC)
#define REKEY_TIMEOUT			(5 * SEC)
#define KEEPALIVE_TIMEOUT		(10 * SEC)
#define REKEY_AFTER_MESSAGES		(UINT64_C(1) << 60)
#define REKEY_AFTER_TIME_RECV		(165 * SEC)
#define ZERO_KEYS_AFTER			(540 * SEC)
#define REKEY_TIMEOUT_JITTER_MAX	(333 * MSEC)

struct pair {
	struct wg_crypto	*crypto;
	struct wg_local		 la, lb;
	struct wg_peer		 a, b;	/* a: b as seen by a, and so on */
	uint32_t		 jitter;
	time_t			 wsec;
};

static uint32_t
fixed_jitter(void *arg, uint32_t upper)
{
	struct pair	*p = arg;

	ATF_CHECK_EQ(upper, (uint32_t)REKEY_TIMEOUT_JITTER_MAX + 1);
	return (p->jitter);
}

static struct wg_peer *
lookup_a(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct pair	*p = arg;

	return (memcmp(pub, p->b.pub, WG_KEY_LEN) == 0 ? &p->b : NULL);
}

static void
pair_init(struct pair *p)
{
	uint8_t	 k[WG_KEY_LEN];

	memset(p, 0, sizeof(*p));
	ATF_REQUIRE((p->crypto = wg_crypto_new()) != NULL);
	memset(k, 0x11, sizeof(k));
	ATF_REQUIRE_EQ(wg_local_init(&p->la, p->crypto, k), WG_OK);
	memset(k, 0x22, sizeof(k));
	ATF_REQUIRE_EQ(wg_local_init(&p->lb, p->crypto, k), WG_OK);
	/* p->a lives at node A and describes B; p->b at B describes A. */
	ATF_REQUIRE_EQ(wg_peer_init(&p->a, &p->la, p->lb.pub, NULL), WG_OK);
	ATF_REQUIRE_EQ(wg_peer_init(&p->b, &p->lb, p->la.pub, NULL), WG_OK);
	p->a.timers.rand_uniform = fixed_jitter;
	p->a.timers.rand_arg = p;
	p->b.timers.rand_uniform = fixed_jitter;
	p->b.timers.rand_arg = p;
	p->wsec = 100000;
}

static void
pair_free(struct pair *p)
{
	wg_peer_clear(&p->a);
	wg_peer_clear(&p->b);
	wg_local_clear(&p->la);
	wg_local_clear(&p->lb);
	wg_crypto_free(p->crypto);
}

/* A initiates to B at now, with the events a daemon would report. */
static void
handshake(struct pair *p, uint64_t now)
{
	uint8_t		 m1[WG_INITIATION_LEN], m2[WG_RESPONSE_LEN];
	struct timespec	 ts;
	struct wg_peer	*peer;

	ts.tv_sec = p->wsec++;
	ts.tv_nsec = 0;
	ATF_REQUIRE_EQ(wg_create_initiation(&p->la, &p->a, 1, now, &ts, m1),
	    WG_OK);
	wg_timers_initiation_sent(&p->a, now);
	ATF_REQUIRE_EQ(wg_consume_initiation(&p->lb, m1, sizeof(m1), now,
	    lookup_a, p, &peer), WG_OK);
	wg_timers_initiation_received(&p->b, now);
	ATF_REQUIRE_EQ(wg_create_response(&p->lb, &p->b, 2, now, m2), WG_OK);
	wg_timers_response_sent(&p->b, now);
	ATF_REQUIRE_EQ(wg_consume_response(&p->la, &p->a, m2, sizeof(m2),
	    now), WG_OK);
	wg_timers_response_received(&p->a, now);
}

/* x sends len bytes to y at now, reporting both ends' events. */
static void
send_data(struct wg_peer *x, struct wg_peer *y, size_t len, uint64_t now)
{
	uint8_t			 buf[WG_DATA_MIN_LEN + 32];
	struct wg_keypair	*kx, *ky;
	size_t			 pktlen, plen;
	uint64_t		 ctr;

	memset(buf, 0, sizeof(buf));
	ATF_REQUIRE((kx = wg_peer_send_keypair(x, now)) != NULL);
	ATF_REQUIRE_EQ(wg_data_encrypt(kx, now, buf,
	    wg_data_padded_len(len, 0), &pktlen), WG_OK);
	wg_timers_data_sent(x, len, now);
	ATF_REQUIRE((ky = wg_peer_keypair_by_index(y,
	    wg_msg_receiver_index(buf, pktlen))) != NULL);
	ATF_REQUIRE_EQ(wg_data_decrypt(ky, now, buf, pktlen, &plen, &ctr),
	    WG_OK);
	ATF_REQUIRE_EQ(wg_peer_data_accept(y, ky, ctr, len, now), WG_OK);
}

ATF_TC_WITHOUT_HEAD(confirm_keepalive);
ATF_TC_BODY(confirm_keepalive, tc)
{
	struct pair	 p;
	uint64_t	 next;

	pair_init(&p);
	handshake(&p, T0);
	/* The initiator confirms the session with a keepalive at once. */
	ATF_CHECK_EQ(wg_timers_tick(&p.a, T0, &next), WG_ACT_SEND_KEEPALIVE);
	send_data(&p.a, &p.b, 0, T0);
	ATF_CHECK(p.b.current != NULL && p.b.next == NULL);
	ATF_CHECK(p.b.timers.handshaked);
	/* Nothing else is due; the next deadline is key zeroing. */
	ATF_CHECK_EQ(wg_timers_tick(&p.a, T0, &next), 0);
	ATF_CHECK_EQ(next, T0 + ZERO_KEYS_AFTER);
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(rekey_after_time);
ATF_TC_BODY(rekey_after_time, tc)
{
	struct pair	 p;
	uint64_t	 next, now;

	pair_init(&p);
	handshake(&p, T0);
	(void)wg_timers_tick(&p.a, T0, &next);
	send_data(&p.a, &p.b, 16, T0);
	send_data(&p.b, &p.a, 16, T0);
	/* Sending just before 120 s: no rekey. */
	now = T0 + REKEY_AFTER_TIME - 1;
	send_data(&p.a, &p.b, 16, now);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, now, &next) &
	    WG_ACT_SEND_INITIATION, 0);
	/* At 120 s the initiator asks for a new handshake when sending. */
	now = T0 + REKEY_AFTER_TIME;
	send_data(&p.a, &p.b, 16, now);
	ATF_CHECK(wg_timers_tick(&p.a, now, &next) & WG_ACT_SEND_INITIATION);
	/* The responder never rekeys on time. */
	send_data(&p.b, &p.a, 16, now);
	ATF_CHECK_EQ(wg_timers_tick(&p.b, now, &next) &
	    WG_ACT_SEND_INITIATION, 0);
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(rekey_after_messages);
ATF_TC_BODY(rekey_after_messages, tc)
{
	struct pair	 p;
	uint64_t	 next;

	pair_init(&p);
	handshake(&p, T0);
	(void)wg_timers_tick(&p.a, T0, &next);
	send_data(&p.a, &p.b, 16, T0);
	/*
	 * Either side rekeys past REKEY_AFTER_MESSAGES (b, the responder,
	 * after REKEY_TIMEOUT since its own response went out).
	 */
	p.b.current->send_counter = REKEY_AFTER_MESSAGES - 1;
	send_data(&p.b, &p.a, 16, T0 + 10 * SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.b, T0 + 10 * SEC, &next) &
	    WG_ACT_SEND_INITIATION, 0);
	send_data(&p.b, &p.a, 16, T0 + 10 * SEC);
	ATF_CHECK(wg_timers_tick(&p.b, T0 + 10 * SEC, &next) &
	    WG_ACT_SEND_INITIATION);
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(rekey_on_receive);
ATF_TC_BODY(rekey_on_receive, tc)
{
	struct pair	 p;
	uint64_t	 next, now;

	pair_init(&p);
	handshake(&p, T0);
	(void)wg_timers_tick(&p.a, T0, &next);
	send_data(&p.a, &p.b, 0, T0);
	/* a stays quiet; b keeps sending.  At 165 s a rekeys, once. */
	now = T0 + REKEY_AFTER_TIME_RECV - 1;
	send_data(&p.b, &p.a, 16, now);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, now, &next) &
	    WG_ACT_SEND_INITIATION, 0);
	now = T0 + REKEY_AFTER_TIME_RECV;
	send_data(&p.b, &p.a, 16, now);
	ATF_CHECK(wg_timers_tick(&p.a, now, &next) & WG_ACT_SEND_INITIATION);
	ATF_CHECK(p.a.timers.sent_lastminute_handshake);
	now += 6 * SEC;
	send_data(&p.b, &p.a, 16, now);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, now, &next) &
	    WG_ACT_SEND_INITIATION, 0);
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(keepalive);
ATF_TC_BODY(keepalive, tc)
{
	struct pair	 p;
	uint64_t	 next;

	pair_init(&p);
	handshake(&p, T0);
	(void)wg_timers_tick(&p.a, T0, &next);
	send_data(&p.a, &p.b, 0, T0);
	/* b gets data and says nothing: keepalive 10 s later. */
	send_data(&p.a, &p.b, 16, T0 + SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.b, T0 + SEC, &next), 0);
	ATF_CHECK_EQ(next, T0 + SEC + KEEPALIVE_TIMEOUT);
	ATF_CHECK_EQ(wg_timers_tick(&p.b, next - 1, &next), 0);
	ATF_CHECK_EQ(wg_timers_tick(&p.b, next, &next), WG_ACT_SEND_KEEPALIVE);
	send_data(&p.b, &p.a, 0, T0 + SEC + KEEPALIVE_TIMEOUT);
	/* If b answers with data in time, no keepalive. */
	send_data(&p.a, &p.b, 16, T0 + 20 * SEC);
	send_data(&p.b, &p.a, 16, T0 + 25 * SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.b, T0 + 40 * SEC, &next) &
	    WG_ACT_SEND_KEEPALIVE, 0);
	/* A keepalive received does not call for one in return. */
	send_data(&p.a, &p.b, 0, T0 + 50 * SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.b, T0 + 61 * SEC, &next) &
	    WG_ACT_SEND_KEEPALIVE, 0);
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(new_handshake_when_unanswered);
ATF_TC_BODY(new_handshake_when_unanswered, tc)
{
	struct pair	 p;
	uint64_t	 next, t;

	pair_init(&p);
	p.jitter = 100 * MSEC;
	handshake(&p, T0);
	(void)wg_timers_tick(&p.a, T0, &next);
	send_data(&p.a, &p.b, 0, T0);
	/* a sends data, b never answers: after 15 s + jitter, rekey. */
	t = T0 + 30 * SEC;
	send_data(&p.a, &p.b, 16, t);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, t, &next), 0);
	ATF_CHECK_EQ(next, t + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT +
	    100 * MSEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, next, &next) &
	    WG_ACT_SEND_INITIATION, WG_ACT_SEND_INITIATION);
	/* An answer in time cancels it. */
	t += 60 * SEC;
	send_data(&p.a, &p.b, 16, t);
	send_data(&p.b, &p.a, 0, t + 14 * SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, t + 16 * SEC, &next) &
	    WG_ACT_SEND_INITIATION, 0);
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(retransmit_and_give_up);
ATF_TC_BODY(retransmit_and_give_up, tc)
{
	struct pair	 p;
	uint64_t	 next, now = T0, first;
	unsigned int	 acts, sent = 0;
	uint8_t		 m1[WG_INITIATION_LEN];
	struct timespec	 ts = { 100000, 0 };

	pair_init(&p);
	/* A packet to send and no keypair: ask for a handshake. */
	ATF_CHECK(wg_peer_send_keypair(&p.a, now) == NULL);
	wg_timers_want_handshake(&p.a, now);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, now, &next), WG_ACT_SEND_INITIATION);
	first = now;
	for (;;) {
		ATF_REQUIRE_EQ(wg_create_initiation(&p.la, &p.a, 10 + sent,
		    now, &ts, m1), WG_OK);
		wg_timers_initiation_sent(&p.a, now);
		sent++;
		if (sent == 1) {
			/* A new request right away is rate limited. */
			wg_timers_want_handshake(&p.a, now + SEC);
			ATF_CHECK_EQ(wg_timers_tick(&p.a, now + SEC, NULL), 0);
		}
		(void)wg_timers_tick(&p.a, now + SEC, &next);
		/* Retransmit after REKEY_TIMEOUT plus 0..333 ms. */
		p.jitter = (uint32_t)(sent * 17 * MSEC) %
		    ((uint32_t)REKEY_TIMEOUT_JITTER_MAX + 1);
		ATF_REQUIRE(next >= now + REKEY_TIMEOUT);
		ATF_REQUIRE(next <= now + REKEY_TIMEOUT +
		    REKEY_TIMEOUT_JITTER_MAX);
		ATF_REQUIRE_EQ(wg_timers_tick(&p.a, next - 1, NULL), 0);
		now = next;
		acts = wg_timers_tick(&p.a, now, &next);
		if (acts & WG_ACT_DROP_QUEUED)
			break;
		ATF_REQUIRE_EQ(acts, WG_ACT_SEND_INITIATION);
		ATF_REQUIRE(sent < 100);
	}
	/* Gave up after REKEY_ATTEMPT_TIME, not before. */
	ATF_CHECK(now - first >= REKEY_ATTEMPT_TIME);
	ATF_CHECK(now - first < REKEY_ATTEMPT_TIME + 3 * REKEY_TIMEOUT);
	ATF_CHECK_EQ(acts & WG_ACT_SEND_INITIATION, 0);
	/* Nothing more until the keys are zeroed. */
	ATF_CHECK_EQ(next, now + ZERO_KEYS_AFTER);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, now + 100 * SEC, &next), 0);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, now + ZERO_KEYS_AFTER, &next),
	    WG_ACT_KEYS_ZEROED);
	ATF_CHECK(p.a.hs.state == WG_HS_ZEROED);
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(jitter_default_range);
ATF_TC_BODY(jitter_default_range, tc)
{
	struct pair	 p;
	uint64_t	 next;
	int		 i;

	pair_init(&p);
	/* The default source: randombytes_uniform within 0..333 ms. */
	p.a.timers.rand_uniform = NULL;
	for (i = 0; i < 200; i++) {
		wg_timers_initiation_sent(&p.a, T0);
		(void)wg_timers_tick(&p.a, T0, &next);
		ATF_REQUIRE(next >= T0 + REKEY_TIMEOUT);
		ATF_REQUIRE(next <= T0 + REKEY_TIMEOUT +
		    REKEY_TIMEOUT_JITTER_MAX);
	}
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(persistent_keepalive);
ATF_TC_BODY(persistent_keepalive, tc)
{
	struct pair	 p;
	uint64_t	 next;

	pair_init(&p);
	handshake(&p, T0);
	(void)wg_timers_tick(&p.a, T0, &next);
	send_data(&p.a, &p.b, 0, T0);
	/* Turning it on sends one at once, then every 25 s of silence. */
	wg_timers_set_persistent_keepalive(&p.a, 25, T0 + SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, T0 + SEC, &next),
	    WG_ACT_SEND_KEEPALIVE);
	send_data(&p.a, &p.b, 0, T0 + SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, T0 + SEC, &next), 0);
	ATF_CHECK_EQ(next, T0 + 26 * SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, T0 + 26 * SEC, &next),
	    WG_ACT_SEND_KEEPALIVE);
	send_data(&p.a, &p.b, 0, T0 + 26 * SEC);
	/* Traffic either way pushes it back. */
	send_data(&p.b, &p.a, 0, T0 + 40 * SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, T0 + 51 * SEC, &next) &
	    WG_ACT_SEND_KEEPALIVE, 0);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, T0 + 65 * SEC, &next) &
	    WG_ACT_SEND_KEEPALIVE, WG_ACT_SEND_KEEPALIVE);
	/* Off: nothing. */
	wg_timers_set_persistent_keepalive(&p.a, 0, T0 + 66 * SEC);
	ATF_CHECK_EQ(wg_timers_tick(&p.a, T0 + 200 * SEC, &next) &
	    WG_ACT_SEND_KEEPALIVE, 0);
	pair_free(&p);
}

ATF_TC_WITHOUT_HEAD(zero_keys);
ATF_TC_BODY(zero_keys, tc)
{
	struct pair	 p;
	uint64_t	 next, t = T0 + ZERO_KEYS_AFTER;
	uint8_t		 zero[sizeof(struct wg_keypair)];
	int		 i;

	pair_init(&p);
	handshake(&p, T0);
	(void)wg_timers_tick(&p.a, T0, &next);
	send_data(&p.a, &p.b, 0, T0);
	/* Past REJECT_AFTER_TIME the keypair is unusable... */
	ATF_CHECK(wg_peer_send_keypair(&p.a, T0 + REJECT_AFTER_TIME) ==
	    NULL);
	ATF_CHECK(p.a.current != NULL);
	/* ...and after three times that every key is erased. */
	ATF_CHECK_EQ(wg_timers_tick(&p.a, t - 1, &next) & WG_ACT_KEYS_ZEROED,
	    0);
	ATF_CHECK(wg_timers_tick(&p.a, t, &next) & WG_ACT_KEYS_ZEROED);
	ATF_CHECK(p.a.current == NULL && p.a.previous == NULL &&
	    p.a.next == NULL);
	memset(zero, 0, sizeof(zero));
	for (i = 0; i < WG_KEYPAIR_SLOTS; i++)
		ATF_CHECK(memcmp(&p.a.slots[i], zero, sizeof(zero)) == 0);
	ATF_CHECK(wg_timers_tick(&p.b, t, &next) & WG_ACT_KEYS_ZEROED);
	pair_free(&p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, confirm_keepalive);
	ATF_TP_ADD_TC(tp, rekey_after_time);
	ATF_TP_ADD_TC(tp, rekey_after_messages);
	ATF_TP_ADD_TC(tp, rekey_on_receive);
	ATF_TP_ADD_TC(tp, keepalive);
	ATF_TP_ADD_TC(tp, new_handshake_when_unanswered);
	ATF_TP_ADD_TC(tp, retransmit_and_give_up);
	ATF_TP_ADD_TC(tp, jitter_default_range);
	ATF_TP_ADD_TC(tp, persistent_keepalive);
	ATF_TP_ADD_TC(tp, zero_keys);
	return (atf_no_error());
}
