/*
 * The WireGuard handshake between two in-memory peers: messages 1 and 2,
 * key agreement, transport data both ways, psk, mac1, cookies under load,
 * timestamp replay and the initiation flood rule, keypair rotation.
 */
#include <stdint.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <atf-c.h>
#include <sodium.h>

#include "wg.h"
#include "wg_test.h"

#define SEC		UINT64_C(1000000000)	/* the clock counts ns */
#define MSEC		UINT64_C(1000000)

/*
 * Documented values, written out so that a wrong constant in lib/wg.h
 * fails here.  The WireGuard paper, section 6: Reject-After-Time 180 s,
 * Reject-After-Messages 2^64 - 2^13 - 1; section 5.4.7: the responder's
 * cookie secret changes every two minutes, and the initiator keeps a
 * cookie as long (wireguard-go's CookieRefreshTime, 120 s).
 */
#define REJECT_AFTER_TIME	(180 * SEC)
#define REJECT_AFTER_MESSAGES	UINT64_C(0xffffffffffffdfff)
#define COOKIE_SECRET_MAX_AGE	(120 * SEC)
#define COOKIE_MAX_AGE		(120 * SEC)
#define IDX_A		UINT32_C(0x04030201)
#define IDX_B		UINT32_C(0x0d0c0b0a)
#define MAX_RELEASED	16

struct node {
	struct wg_crypto	*crypto;
	struct wg_local		 local;
	struct wg_peer		 peer;	/* the other node */
	int			 lookups;
	uint32_t		 released[MAX_RELEASED];
	int			 nreleased;
};

static struct wg_peer *
lookup(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct node	*n = arg;

	n->lookups++;
	if (memcmp(pub, n->peer.pub, WG_KEY_LEN) == 0)
		return (&n->peer);
	return (NULL);
}

static void
release(void *arg, uint32_t index)
{
	struct node	*n = arg;

	if (n->nreleased < MAX_RELEASED)
		n->released[n->nreleased++] = index;
}

static void
node_init(struct node *n, uint8_t seed)
{
	uint8_t	 priv[WG_KEY_LEN];

	memset(n, 0, sizeof(*n));
	ATF_REQUIRE((n->crypto = wg_crypto_new()) != NULL);
	memset(priv, seed, sizeof(priv));
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	ATF_REQUIRE_EQ(wg_local_init(&n->local, n->crypto, priv), WG_OK);
}

static void
pair(struct node *a, struct node *b, const uint8_t *psk_a,
    const uint8_t *psk_b)
{
	ATF_REQUIRE_EQ(wg_peer_init(&a->peer, &a->local, b->local.pub, psk_a),
	    WG_OK);
	ATF_REQUIRE_EQ(wg_peer_init(&b->peer, &b->local, a->local.pub, psk_b),
	    WG_OK);
	a->peer.index_release = release;
	a->peer.arg = a;
	b->peer.index_release = release;
	b->peer.arg = b;
}

static void
node_free(struct node *n)
{
	wg_peer_clear(&n->peer);
	wg_local_clear(&n->local);
	wg_crypto_free(n->crypto);
}

static struct timespec
wall(time_t sec, long nsec)
{
	struct timespec	 ts;

	ts.tv_sec = sec;
	ts.tv_nsec = nsec;
	return (ts);
}

/* One full handshake a -> b at time now; returns b's new keypair. */
static void
handshake(struct node *a, struct node *b, uint32_t ia, uint32_t ib,
    uint64_t now, time_t wsec)
{
	uint8_t		 m1[WG_INITIATION_LEN], m2[WG_RESPONSE_LEN];
	uint8_t		 reply[WG_COOKIE_REPLY_LEN];
	uint8_t		 src[6] = { 192, 0, 2, 1, 0x30, 0x39 };
	struct timespec	 ts = wall(wsec, 0);
	struct wg_peer	*p;

	ATF_REQUIRE_EQ(wg_create_initiation(&a->local, &a->peer, ia, now, &ts,
	    m1), WG_OK);
	ATF_REQUIRE_EQ(wg_cookie_check(&b->local, m1, sizeof(m1), src,
	    sizeof(src), 0, now, reply), WG_VERDICT_PROCESS);
	ATF_REQUIRE_EQ(wg_consume_initiation(&b->local, m1, sizeof(m1), now,
	    lookup, b, &p), WG_OK);
	ATF_REQUIRE(p == &b->peer);
	ATF_REQUIRE_EQ(wg_create_response(&b->local, &b->peer, ib, now, m2),
	    WG_OK);
	ATF_REQUIRE_EQ(wg_cookie_check(&a->local, m2, sizeof(m2), src,
	    sizeof(src), 0, now, reply), WG_VERDICT_PROCESS);
	ATF_REQUIRE_EQ(wg_msg_receiver_index(m2, sizeof(m2)), ia);
	ATF_REQUIRE_EQ(wg_consume_response(&a->local, &a->peer, m2,
	    sizeof(m2), now), WG_OK);
}

/* Sends len bytes from x to y and checks they arrive. */
static int
transfer(struct node *x, struct node *y, size_t len, uint64_t now)
{
	uint8_t			 buf[WG_DATA_HEADER_LEN + 64 + WG_TAG_LEN];
	uint8_t			 want[64];
	struct wg_keypair	*kx, *ky;
	size_t			 plen, pktlen, outlen;
	uint64_t		 ctr;
	int			 rc;

	ATF_REQUIRE(len <= sizeof(want));
	if ((kx = wg_peer_send_keypair(&x->peer, now)) == NULL)
		return (WG_EEXPIRED);
	randombytes_buf(want, len);
	plen = wg_data_padded_len(len, 0);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + WG_DATA_HEADER_LEN, want, len);
	if ((rc = wg_data_encrypt(kx, now, buf, plen, &pktlen)) != WG_OK)
		return (rc);
	ATF_REQUIRE_EQ(pktlen, WG_DATA_HEADER_LEN + plen + WG_TAG_LEN);
	ATF_REQUIRE_EQ(wg_msg_type(buf, pktlen), WG_MSG_DATA);
	ky = wg_peer_keypair_by_index(&y->peer,
	    wg_msg_receiver_index(buf, pktlen));
	if (ky == NULL)
		return (WG_ESTATE);
	if ((rc = wg_data_decrypt(ky, now, buf, pktlen, &outlen, &ctr)) !=
	    WG_OK)
		return (rc);
	ATF_REQUIRE_EQ(outlen, plen);
	ATF_REQUIRE(memcmp(buf + WG_DATA_HEADER_LEN, want, len) == 0);
	return (wg_peer_data_accept(&y->peer, ky, ctr, outlen, now));
}

static void
full_handshake(const uint8_t *psk)
{
	struct node		 a, b;
	struct wg_keypair	*ka, *kb;

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, psk, psk);
	handshake(&a, &b, IDX_A, IDX_B, 1 * SEC, 1000);

	/* The initiator's keypair is current at once... */
	ka = a.peer.current;
	ATF_REQUIRE(ka != NULL);
	ATF_CHECK(ka->initiator);
	ATF_CHECK_EQ(ka->local_index, IDX_A);
	ATF_CHECK_EQ(ka->remote_index, IDX_B);
	ATF_CHECK(a.peer.hs.state == WG_HS_ZEROED);
	/* ...the responder's waits in next and cannot send yet. */
	kb = b.peer.next;
	ATF_REQUIRE(kb != NULL);
	ATF_CHECK(b.peer.current == NULL);
	ATF_CHECK(wg_peer_send_keypair(&b.peer, 1 * SEC) == NULL);
	ATF_CHECK(!kb->initiator);
	ATF_CHECK_EQ(kb->local_index, IDX_B);
	ATF_CHECK_EQ(kb->remote_index, IDX_A);
	ATF_CHECK(memcmp(ka->send_key, kb->recv_key, WG_KEY_LEN) == 0);
	ATF_CHECK(memcmp(ka->recv_key, kb->send_key, WG_KEY_LEN) == 0);
	ATF_CHECK(memcmp(ka->send_key, ka->recv_key, WG_KEY_LEN) != 0);

	/* Data a -> b confirms b's keypair, then b -> a works. */
	ATF_CHECK_EQ(transfer(&a, &b, 40, 2 * SEC), WG_OK);
	ATF_CHECK(b.peer.current == kb);
	ATF_CHECK(b.peer.next == NULL);
	ATF_CHECK_EQ(transfer(&b, &a, 33, 2 * SEC), WG_OK);
	ATF_CHECK_EQ(transfer(&a, &b, 0, 3 * SEC), WG_OK);
	ATF_CHECK_EQ(transfer(&b, &a, 64, 3 * SEC), WG_OK);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(handshake_nopsk);
ATF_TC_BODY(handshake_nopsk, tc)
{
	full_handshake(NULL);
}

ATF_TC_WITHOUT_HEAD(handshake_psk);
ATF_TC_BODY(handshake_psk, tc)
{
	uint8_t	 psk[WG_KEY_LEN];

	memset(psk, 0x5a, sizeof(psk));
	full_handshake(psk);
}

ATF_TC_WITHOUT_HEAD(wire_format);
ATF_TC_BODY(wire_format, tc)
{
	struct node	 a, b;
	uint8_t		 m1[WG_INITIATION_LEN], m2[WG_RESPONSE_LEN];
	struct timespec	 ts = wall(1000, 0);
	struct wg_peer	*p;
	uint8_t		 zero[WG_MAC_LEN];

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A, SEC,
	    &ts, m1), WG_OK);
	/* type 1, three zero bytes, little-endian sender index */
	check_hex(m1, 8, "0100000001020304");
	ATF_CHECK_EQ(wg_msg_type(m1, sizeof(m1)), WG_MSG_INITIATION);
	ATF_CHECK_EQ(wg_msg_type(m1, sizeof(m1) - 1), 0);
	/* No cookie: mac2 is zeros. */
	memset(zero, 0, sizeof(zero));
	ATF_CHECK(memcmp(m1 + 132, zero, WG_MAC_LEN) == 0);
	ATF_CHECK(memcmp(m1 + 116, zero, WG_MAC_LEN) != 0);
	ATF_REQUIRE_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), SEC,
	    lookup, &b, &p), WG_OK);
	ATF_REQUIRE_EQ(wg_create_response(&b.local, &b.peer, IDX_B, SEC, m2),
	    WG_OK);
	check_hex(m2, 12, "020000000a0b0c0d01020304");
	ATF_CHECK_EQ(wg_msg_type(m2, sizeof(m2)), WG_MSG_RESPONSE);
	/* A nonzero reserved byte makes an unknown type. */
	m2[1] = 1;
	ATF_CHECK_EQ(wg_msg_type(m2, sizeof(m2)), 0);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(psk_mismatch);
ATF_TC_BODY(psk_mismatch, tc)
{
	struct node	 a, b;
	uint8_t		 pa[WG_KEY_LEN], pb[WG_KEY_LEN];
	uint8_t		 m1[WG_INITIATION_LEN], m2[WG_RESPONSE_LEN];
	struct timespec	 ts = wall(1000, 0);
	struct wg_peer	*p;

	memset(pa, 1, sizeof(pa));
	memset(pb, 2, sizeof(pb));
	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, pa, pb);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A, SEC,
	    &ts, m1), WG_OK);
	/* The psk enters only in message 2: b cannot tell yet. */
	ATF_REQUIRE_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), SEC,
	    lookup, &b, &p), WG_OK);
	ATF_REQUIRE_EQ(wg_create_response(&b.local, &b.peer, IDX_B, SEC, m2),
	    WG_OK);
	ATF_CHECK_EQ(wg_consume_response(&a.local, &a.peer, m2, sizeof(m2),
	    SEC), WG_EDECRYPT);
	ATF_CHECK(a.peer.current == NULL);
	ATF_CHECK(a.peer.hs.state == WG_HS_CREATED_INITIATION);
	/* Only one psk missing is a mismatch too. */
	wg_peer_clear(&a.peer);
	wg_peer_clear(&b.peer);
	pair(&a, &b, pa, NULL);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A, SEC,
	    &ts, m1), WG_OK);
	ATF_REQUIRE_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), SEC,
	    lookup, &b, &p), WG_OK);
	ATF_REQUIRE_EQ(wg_create_response(&b.local, &b.peer, IDX_B, SEC, m2),
	    WG_OK);
	ATF_CHECK_EQ(wg_consume_response(&a.local, &a.peer, m2, sizeof(m2),
	    SEC), WG_EDECRYPT);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(mac1_wrong);
ATF_TC_BODY(mac1_wrong, tc)
{
	struct node	 a, b, c;
	struct wg_peer	 before, *p;
	uint8_t		 m1[WG_INITIATION_LEN];
	uint8_t		 reply[WG_COOKIE_REPLY_LEN], src[6] = { 0 };
	struct timespec	 ts = wall(1000, 0);

	node_init(&a, 1);
	node_init(&b, 2);
	node_init(&c, 3);
	pair(&a, &b, NULL, NULL);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A, SEC,
	    &ts, m1), WG_OK);
	m1[116] ^= 0x80;
	memcpy(&before, &b.peer, sizeof(before));
	ATF_CHECK_EQ(wg_cookie_check(&b.local, m1, sizeof(m1), src,
	    sizeof(src), 0, SEC, reply), WG_VERDICT_DROP);
	ATF_CHECK_EQ(wg_cookie_check(&b.local, m1, sizeof(m1), src,
	    sizeof(src), 1, SEC, reply), WG_VERDICT_DROP);
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), SEC,
	    lookup, &b, &p), WG_EMAC1);
	ATF_CHECK(p == NULL);
	/* Dropped before decryption: no lookup, no state, no secret. */
	ATF_CHECK_EQ(b.lookups, 0);
	ATF_CHECK(memcmp(&before, &b.peer, sizeof(before)) == 0);
	ATF_CHECK(!b.local.cookie_secret_set);

	/* mac1 for someone else's key is just as wrong. */
	m1[116] ^= 0x80;
	ATF_CHECK_EQ(wg_cookie_check(&c.local, m1, sizeof(m1), src,
	    sizeof(src), 0, SEC, reply), WG_VERDICT_DROP);
	ATF_CHECK_EQ(wg_consume_initiation(&c.local, m1, sizeof(m1), SEC,
	    lookup, &c, &p), WG_EMAC1);
	/* A tampered body fails mac1 too. */
	m1[50] ^= 1;
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), SEC,
	    lookup, &b, &p), WG_EMAC1);
	ATF_CHECK(memcmp(&before, &b.peer, sizeof(before)) == 0);
	node_free(&a);
	node_free(&b);
	node_free(&c);
}

ATF_TC_WITHOUT_HEAD(unknown_peer);
ATF_TC_BODY(unknown_peer, tc)
{
	struct node	 a, b, c;
	uint8_t		 m1[WG_INITIATION_LEN];
	struct timespec	 ts = wall(1000, 0);
	struct wg_peer	*p;

	node_init(&a, 1);
	node_init(&b, 2);
	node_init(&c, 3);
	pair(&a, &b, NULL, NULL);
	/* b knows c, not a. */
	wg_peer_clear(&b.peer);
	ATF_REQUIRE_EQ(wg_peer_init(&b.peer, &b.local, c.local.pub, NULL),
	    WG_OK);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A, SEC,
	    &ts, m1), WG_OK);
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), SEC,
	    lookup, &b, &p), WG_EUNKNOWN);
	ATF_CHECK_EQ(b.lookups, 1);
	ATF_CHECK(b.peer.hs.state == WG_HS_ZEROED);
	node_free(&a);
	node_free(&b);
	node_free(&c);
}

ATF_TC_WITHOUT_HEAD(cookie_under_load);
ATF_TC_BODY(cookie_under_load, tc)
{
	struct node	 a, b;
	struct wg_peer	 before, *p;
	uint8_t		 m1[WG_INITIATION_LEN], m2[WG_RESPONSE_LEN];
	uint8_t		 reply[WG_COOKIE_REPLY_LEN], zero[WG_MAC_LEN];
	uint8_t		 src[6] = { 198, 51, 100, 7, 0xca, 0x6c };
	uint8_t		 other[6] = { 198, 51, 100, 8, 0xca, 0x6c };
	struct timespec	 ts = wall(1000, 0);

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	memset(zero, 0, sizeof(zero));
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A, SEC,
	    &ts, m1), WG_OK);
	memcpy(&before, &b.peer, sizeof(before));
	ATF_REQUIRE_EQ(wg_cookie_check(&b.local, m1, sizeof(m1), src,
	    sizeof(src), 1, SEC, reply), WG_VERDICT_COOKIE);
	ATF_CHECK(memcmp(&before, &b.peer, sizeof(before)) == 0);
	ATF_CHECK_EQ(wg_msg_type(reply, sizeof(reply)), WG_MSG_COOKIE);
	ATF_CHECK_EQ(wg_msg_receiver_index(reply, sizeof(reply)), IDX_A);

	/* A tampered reply is refused; the real one is taken once. */
	reply[40] ^= 1;
	ATF_CHECK_EQ(wg_consume_cookie_reply(&a.peer, reply,
	    sizeof(reply), 2 * SEC), WG_EDECRYPT);
	ATF_CHECK(!a.peer.cookie_valid);
	reply[40] ^= 1;
	ATF_REQUIRE_EQ(wg_consume_cookie_reply(&a.peer, reply,
	    sizeof(reply), 2 * SEC), WG_OK);
	ATF_CHECK(a.peer.cookie_valid);
	ATF_CHECK_EQ(a.peer.cookie_birth, 2 * SEC);
	ATF_CHECK_EQ(wg_consume_cookie_reply(&a.peer, reply,
	    sizeof(reply), 2 * SEC), WG_ESTATE);

	/* The retry carries mac2 and gets through the load check. */
	ts = wall(1005, 0);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A + 1,
	    5 * SEC, &ts, m1), WG_OK);
	ATF_CHECK(memcmp(m1 + 132, zero, WG_MAC_LEN) != 0);
	/* Not from another address, though. */
	ATF_CHECK_EQ(wg_cookie_check(&b.local, m1, sizeof(m1), other,
	    sizeof(other), 1, 5 * SEC, reply), WG_VERDICT_COOKIE);
	ATF_REQUIRE_EQ(wg_cookie_check(&b.local, m1, sizeof(m1), src,
	    sizeof(src), 1, 5 * SEC, reply), WG_VERDICT_PROCESS);
	ATF_REQUIRE_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1),
	    5 * SEC, lookup, &b, &p), WG_OK);
	ATF_REQUIRE_EQ(wg_create_response(&b.local, &b.peer, IDX_B, 5 * SEC,
	    m2), WG_OK);
	ATF_REQUIRE_EQ(wg_consume_response(&a.local, &a.peer, m2, sizeof(m2),
	    5 * SEC), WG_OK);
	/* The first attempt's index was released when the retry replaced it. */
	ATF_CHECK_EQ(a.nreleased, 1);
	ATF_CHECK_EQ(a.released[0], IDX_A);

	/* After 120 s the cookie is stale: mac2 goes back to zeros. */
	ts = wall(1200, 0);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A + 2,
	    2 * SEC + COOKIE_MAX_AGE, &ts, m1), WG_OK);
	ATF_CHECK(memcmp(m1 + 132, zero, WG_MAC_LEN) == 0);
	/* And the responder's secret rotated: the old cookie is no good. */
	ATF_CHECK_EQ(wg_cookie_check(&b.local, m1, sizeof(m1), src,
	    sizeof(src), 1, 5 * SEC + COOKIE_SECRET_MAX_AGE, reply),
	    WG_VERDICT_COOKIE);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(initiation_replay);
ATF_TC_BODY(initiation_replay, tc)
{
	struct node	 a, b;
	uint8_t		 m1[WG_INITIATION_LEN], m1b[WG_INITIATION_LEN];
	struct timespec	 ts = wall(1000, 500000000);
	struct wg_peer	*p;
	uint8_t		 stamp[WG_TIMESTAMP_LEN];

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A, SEC,
	    &ts, m1), WG_OK);
	ATF_REQUIRE_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), SEC,
	    lookup, &b, &p), WG_OK);
	memcpy(stamp, b.peer.latest_timestamp, sizeof(stamp));
	/* The same packet replayed a second later. */
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), 2 * SEC,
	    lookup, &b, &p), WG_EREPLAY);
	/* A fresh message with the same timestamp. */
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A + 1,
	    2 * SEC, &ts, m1b), WG_OK);
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1b, sizeof(m1b),
	    2 * SEC, lookup, &b, &p), WG_EREPLAY);
	/* An older one. */
	ts = wall(999, 0);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A + 2,
	    3 * SEC, &ts, m1b), WG_OK);
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1b, sizeof(m1b),
	    3 * SEC, lookup, &b, &p), WG_EREPLAY);
	ATF_CHECK(memcmp(stamp, b.peer.latest_timestamp, sizeof(stamp)) == 0);
	/* A newer one is fine. */
	ts = wall(1001, 0);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A + 3,
	    4 * SEC, &ts, m1b), WG_OK);
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1b, sizeof(m1b),
	    4 * SEC, lookup, &b, &p), WG_OK);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(initiation_flood);
ATF_TC_BODY(initiation_flood, tc)
{
	struct node	 a, b;
	uint8_t		 m1[WG_INITIATION_LEN];
	struct timespec	 ts = wall(1000, 0);
	struct wg_peer	*p;

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A, SEC,
	    &ts, m1), WG_OK);
	ATF_REQUIRE_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1), SEC,
	    lookup, &b, &p), WG_OK);
	/* A newer timestamp, but only 10 ms later on b's clock. */
	ts = wall(1001, 0);
	ATF_REQUIRE_EQ(wg_create_initiation(&a.local, &a.peer, IDX_A + 1,
	    SEC, &ts, m1), WG_OK);
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1),
	    SEC + 10 * MSEC, lookup, &b, &p), WG_EFLOOD);
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1),
	    SEC + 19 * MSEC, lookup, &b, &p), WG_EFLOOD);
	/* 1/50 s after the last one it goes through. */
	ATF_CHECK_EQ(wg_consume_initiation(&b.local, m1, sizeof(m1),
	    SEC + 20 * MSEC, lookup, &b, &p), WG_OK);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(rotation);
ATF_TC_BODY(rotation, tc)
{
	struct node		 a, b;
	struct wg_keypair	*a1, *b1, *a2, *b2, *a3, *b3;

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	handshake(&a, &b, 100, 200, SEC, 1000);
	a1 = a.peer.current;
	b1 = b.peer.next;
	ATF_REQUIRE_EQ(transfer(&a, &b, 16, SEC), WG_OK);
	ATF_REQUIRE(b.peer.current == b1);

	/* Second handshake: a's new keypair current, old one previous. */
	handshake(&a, &b, 101, 201, 2 * SEC, 1001);
	a2 = a.peer.current;
	b2 = b.peer.next;
	ATF_CHECK(a2 != a1);
	ATF_CHECK(a.peer.previous == a1);
	ATF_CHECK(b.peer.current == b1);
	/* b still sends on its old keypair, and a still receives it. */
	ATF_CHECK_EQ(transfer(&b, &a, 16, 2 * SEC), WG_OK);
	ATF_CHECK(b.peer.next == b2);
	/* a's first data under the new keypair promotes b's next. */
	ATF_CHECK_EQ(transfer(&a, &b, 16, 2 * SEC), WG_OK);
	ATF_CHECK(b.peer.current == b2);
	ATF_CHECK(b.peer.previous == b1);
	ATF_CHECK(b.peer.next == NULL);
	ATF_CHECK_EQ(transfer(&b, &a, 16, 2 * SEC), WG_OK);

	/* Third: the oldest keypairs go and their indices are released. */
	handshake(&a, &b, 102, 202, 3 * SEC, 1002);
	a3 = a.peer.current;
	b3 = b.peer.next;
	ATF_CHECK(a.peer.previous == a2);
	ATF_CHECK(wg_peer_keypair_by_index(&a.peer, 100) == NULL);
	ATF_CHECK(wg_peer_keypair_by_index(&a.peer, 101) == a2);
	ATF_CHECK(wg_peer_keypair_by_index(&a.peer, 102) == a3);
	ATF_CHECK_EQ(a.nreleased, 1);
	ATF_CHECK_EQ(a.released[0], 100);
	/* The responder drops previous when it stashes a new next. */
	ATF_CHECK(b.peer.previous == NULL);
	ATF_CHECK(b.peer.current == b2);
	ATF_CHECK(b.peer.next == b3);
	ATF_CHECK_EQ(b.nreleased, 1);
	ATF_CHECK_EQ(b.released[0], 200);
	ATF_CHECK_EQ(transfer(&a, &b, 16, 3 * SEC), WG_OK);
	ATF_CHECK(b.peer.current == b3);

	/* Zeroing releases every remaining index. */
	wg_peer_zero_keys(&a.peer);
	ATF_CHECK(a.peer.current == NULL && a.peer.previous == NULL);
	ATF_CHECK_EQ(a.nreleased, 3);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(reject_after_time);
ATF_TC_BODY(reject_after_time, tc)
{
	struct node		 a, b;
	struct wg_keypair	*ka;
	uint8_t			 buf[WG_DATA_MIN_LEN + 16];
	size_t			 len;

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	handshake(&a, &b, IDX_A, IDX_B, 10 * SEC, 1000);
	ATF_CHECK_EQ(transfer(&a, &b, 16,
	    10 * SEC + REJECT_AFTER_TIME - 1), WG_OK);
	ATF_CHECK_EQ(transfer(&b, &a, 16,
	    10 * SEC + REJECT_AFTER_TIME - 1), WG_OK);
	/* At 180 s neither side may send or receive on it. */
	ATF_CHECK(wg_peer_send_keypair(&a.peer,
	    10 * SEC + REJECT_AFTER_TIME) == NULL);
	ATF_CHECK(wg_peer_send_keypair(&b.peer,
	    10 * SEC + REJECT_AFTER_TIME) == NULL);
	ka = a.peer.current;
	memset(buf, 0, sizeof(buf));
	ATF_CHECK_EQ(wg_data_encrypt(ka, 10 * SEC + REJECT_AFTER_TIME,
	    buf, 16, &len), WG_EEXPIRED);
	/* Made a moment earlier, refused on arrival once too old. */
	ATF_REQUIRE_EQ(wg_data_encrypt(ka, 10 * SEC, buf, 16, &len), WG_OK);
	ATF_CHECK_EQ(wg_data_decrypt(b.peer.current,
	    10 * SEC + REJECT_AFTER_TIME, buf, len, &len,
	    &(uint64_t){ 0 }), WG_EEXPIRED);
	node_free(&a);
	node_free(&b);
}

/*
 * wg_data_seal_begin() then wg_data_seal() in another thread with its
 * own contexts (as the engine's crypto workers do) makes the very bytes
 * wg_data_encrypt() makes, and the peer opens them.
 */
struct sealjob {
	uint8_t		 key[WG_KEY_LEN];
	uint64_t	 ctr;
	uint8_t		*buf;
	size_t		 plen;
	int		 init;
};

static void *
seal_thread(void *arg)
{
	struct sealjob	*j = arg;

	j->init = wg_aead_thread_init();
	wg_data_seal(j->key, j->ctr, j->buf, j->plen);
	wg_aead_thread_free();
	return (NULL);
}

ATF_TC_WITHOUT_HEAD(seal_in_thread);
ATF_TC_BODY(seal_in_thread, tc)
{
	struct node		 a, b;
	struct wg_keypair	*ka;
	struct sealjob		 j;
	pthread_t		 t;
	uint8_t			 one[WG_DATA_MIN_LEN + 64];
	uint8_t			 two[WG_DATA_MIN_LEN + 64];
	size_t			 len1, len2, plen;
	uint64_t		 ctr;

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	handshake(&a, &b, IDX_A, IDX_B, SEC, 1000);
	ka = a.peer.current;
	memset(one, 0xa5, sizeof(one));
	memset(two, 0xa5, sizeof(two));
	ATF_REQUIRE_EQ(wg_data_encrypt(ka, SEC, one, 64, &len1), WG_OK);
	/* The same counter again, for the comparison. */
	ka->send_counter--;
	ATF_REQUIRE_EQ(wg_data_seal_begin(ka, SEC, two, 64, &ctr, &len2),
	    WG_OK);
	ATF_CHECK_EQ(len1, len2);
	memcpy(j.key, ka->send_key, sizeof(j.key));
	j.ctr = ctr;
	j.buf = two;
	j.plen = 64;
	ATF_REQUIRE_EQ(pthread_create(&t, NULL, seal_thread, &j), 0);
	ATF_REQUIRE_EQ(pthread_join(t, NULL), 0);
	ATF_CHECK_EQ(j.init, 0);
	ATF_CHECK(memcmp(one, two, len1) == 0);
	ATF_CHECK_EQ(wg_data_decrypt(b.peer.next, SEC, two, len2, &plen, &ctr),
	    WG_OK);
	ATF_CHECK_EQ(plen, 64);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(reject_after_messages);
ATF_TC_BODY(reject_after_messages, tc)
{
	struct node		 a, b;
	struct wg_keypair	*ka;
	uint8_t			 buf[WG_DATA_MIN_LEN + 16];
	size_t			 len;

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	handshake(&a, &b, IDX_A, IDX_B, SEC, 1000);
	ka = a.peer.current;
	ka->send_counter = REJECT_AFTER_MESSAGES - 1;
	memset(buf, 0, sizeof(buf));
	ATF_CHECK_EQ(wg_data_encrypt(ka, SEC, buf, 16, &len), WG_OK);
	/* The last counter was used: no more, and no wrap-around. */
	ATF_CHECK_EQ(wg_data_encrypt(ka, SEC, buf, 16, &len), WG_EEXPIRED);
	ATF_CHECK_EQ(wg_data_encrypt(ka, SEC, buf, 16, &len), WG_EEXPIRED);
	ATF_CHECK_EQ(ka->send_counter, REJECT_AFTER_MESSAGES);
	ATF_CHECK(wg_peer_send_keypair(&a.peer, SEC) == NULL);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(data_errors);
ATF_TC_BODY(data_errors, tc)
{
	struct node		 a, b;
	uint8_t			 buf[WG_DATA_MIN_LEN + 32], copy[sizeof(buf)];
	size_t			 len, plen;
	uint64_t		 ctr;

	node_init(&a, 1);
	node_init(&b, 2);
	pair(&a, &b, NULL, NULL);
	handshake(&a, &b, IDX_A, IDX_B, SEC, 1000);
	memset(buf, 0, sizeof(buf));
	ATF_REQUIRE_EQ(wg_data_encrypt(a.peer.current, SEC, buf, 32, &len),
	    WG_OK);
	check_hex(buf, 16, "040000000a0b0c0d0000000000000000");
	memcpy(copy, buf, len);
	/* Tampered: refused and the window is not touched. */
	buf[20] ^= 1;
	ATF_CHECK_EQ(wg_data_decrypt(b.peer.next, SEC, buf, len, &plen, &ctr),
	    WG_EDECRYPT);
	ATF_CHECK_EQ(b.peer.next->replay.top, 0);
	/* Wrong keypair (index) and short packets are malformed. */
	memcpy(buf, copy, len);
	ATF_CHECK_EQ(wg_data_decrypt(a.peer.current, SEC, buf, len, &plen,
	    &ctr), WG_EINVAL);
	ATF_CHECK_EQ(wg_data_decrypt(b.peer.next, SEC, buf,
	    WG_DATA_MIN_LEN - 1, &plen, &ctr), WG_EINVAL);
	ATF_CHECK_EQ(wg_data_decrypt(b.peer.next, SEC, buf, len, &plen, &ctr),
	    WG_OK);
	ATF_CHECK_EQ(ctr, 0);
	ATF_CHECK_EQ(wg_peer_data_accept(&b.peer, b.peer.next, ctr, plen,
	    SEC), WG_OK);
	/* The same packet again: a replay. */
	memcpy(buf, copy, len);
	ATF_CHECK_EQ(wg_data_decrypt(b.peer.current, SEC, buf, len, &plen,
	    &ctr), WG_EREPLAY);
	node_free(&a);
	node_free(&b);
}

ATF_TC_WITHOUT_HEAD(padding);
ATF_TC_BODY(padding, tc)
{
	ATF_CHECK_EQ(wg_data_padded_len(0, 0), 0);
	ATF_CHECK_EQ(wg_data_padded_len(1, 0), 16);
	ATF_CHECK_EQ(wg_data_padded_len(16, 0), 16);
	ATF_CHECK_EQ(wg_data_padded_len(17, 1420), 32);
	/* Never beyond the MTU. */
	ATF_CHECK_EQ(wg_data_padded_len(1419, 1420), 1420);
	ATF_CHECK_EQ(wg_data_padded_len(1420, 1420), 1420);
	ATF_CHECK_EQ(wg_data_padded_len(1410, 1420), 1420);
	ATF_CHECK_EQ(wg_data_padded_len(1400, 1420), 1408);
}

/*
 * Known answer: messages 1 and 2, the transport keys and a data packet
 * for fixed keys, ephemerals, psk, indices and time, computed by an
 * independent Python model of the whitepaper (hashlib BLAKE2s and hmac,
 * pyca/cryptography X25519 and ChaCha20-Poly1305).  Statics 0x11.. and
 * 0x22.., ephemerals 0x40..0x5f and 0x80..0x9f, psk 0x33..; TAI64N of
 * 1700000000 s and 0x12345678 ns rounded down to 0x12000000.
 */
#define KAT_M1	"010000000102030479a631eede1bf9c98f12032cdeadd0e7a07939" \
	"8fc786b88cc846ec89af85a51a1d9c6970795a23bc2ac74f2849ea7616db2ca0e70" \
	"a32f5c5a4d3293feab4a7e93980fc4f5cdfd5b0c889fb6e4afdddfe9d5d60a7b67e" \
	"13a4edfad55adf9c36449b12468959718c9a1903acc7f8d2459e12f09f42383be18" \
	"90ba7177a00000000000000000000000000000000"
#define KAT_M2	"020000000a0b0c0d01020304493e82fc74464a59268817623d2053" \
	"c5eb8e2cc4a988b4fee179ec6b010d531d6b238ffeffca614395f5061aac3c44f47" \
	"9f5afafa0bfdbbde5a024c1f4d4e51700000000000000000000000000000000"
#define KAT_ISEND \
	"bb96834468d7efd14dea291dc926c7cbbbc2dc217aeccc3ea3cafe2eb61323c4"
#define KAT_IRECV \
	"f3632be168bf3704840ce4ee90d0f0fd7b4ee50e9dd010cb67ee65f5d0a8f2f5"
#define KAT_DATA "040000000a0b0c0d000000000000000008aa29969d185ab0a13ac5" \
	"7e48de27a958aed2ef23de0f95aca77f2b71465c08"

struct fixed_rnd {
	uint8_t	 start;
	int	 calls;
};

static void
fixed_random(void *arg, void *buf, size_t len)
{
	struct fixed_rnd	*r = arg;
	uint8_t			*b = buf;
	size_t			 i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(r->start + i);
	r->calls++;
}

static struct wg_peer *
lookup_one(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct wg_peer	*p = arg;

	return (memcmp(pub, p->pub, WG_KEY_LEN) == 0 ? p : NULL);
}

ATF_TC_WITHOUT_HEAD(known_answer);
ATF_TC_BODY(known_answer, tc)
{
	struct wg_crypto	*c;
	struct wg_local		 li, lr;
	struct wg_peer		 pi, pr, *p;
	struct fixed_rnd	 ri = { 0x40, 0 }, rr = { 0x80, 0 };
	uint8_t			 k[WG_KEY_LEN], psk[WG_KEY_LEN];
	uint8_t			 m1[WG_INITIATION_LEN], m2[WG_RESPONSE_LEN];
	uint8_t			 buf[WG_DATA_MIN_LEN + 16];
	struct timespec		 ts = wall(1700000000, 0x12345678);
	size_t			 len;

	ATF_REQUIRE((c = wg_crypto_new()) != NULL);
	memset(k, 0x11, sizeof(k));
	ATF_REQUIRE_EQ(wg_local_init(&li, c, k), WG_OK);
	memset(k, 0x22, sizeof(k));
	ATF_REQUIRE_EQ(wg_local_init(&lr, c, k), WG_OK);
	li.random = fixed_random;
	li.random_arg = &ri;
	lr.random = fixed_random;
	lr.random_arg = &rr;
	memset(psk, 0x33, sizeof(psk));
	ATF_REQUIRE_EQ(wg_peer_init(&pi, &li, lr.pub, psk), WG_OK);
	ATF_REQUIRE_EQ(wg_peer_init(&pr, &lr, li.pub, psk), WG_OK);

	ATF_REQUIRE_EQ(wg_create_initiation(&li, &pi, IDX_A, SEC, &ts, m1),
	    WG_OK);
	ATF_CHECK_EQ(ri.calls, 1);
	check_hex(m1, sizeof(m1), KAT_M1);

	ATF_REQUIRE_EQ(wg_consume_initiation(&lr, m1, sizeof(m1), SEC,
	    lookup_one, &pr, &p), WG_OK);
	ATF_REQUIRE(p == &pr);
	ATF_REQUIRE_EQ(wg_create_response(&lr, &pr, IDX_B, SEC, m2), WG_OK);
	check_hex(m2, sizeof(m2), KAT_M2);
	ATF_REQUIRE_EQ(wg_consume_response(&li, &pi, m2, sizeof(m2), SEC),
	    WG_OK);
	check_hex(pi.current->send_key, WG_KEY_LEN, KAT_ISEND);
	check_hex(pi.current->recv_key, WG_KEY_LEN, KAT_IRECV);
	check_hex(pr.next->recv_key, WG_KEY_LEN, KAT_ISEND);
	check_hex(pr.next->send_key, WG_KEY_LEN, KAT_IRECV);

	memset(buf, 0, sizeof(buf));
	memcpy(buf + WG_DATA_HEADER_LEN, "hello, wireguard", 16);
	ATF_REQUIRE_EQ(wg_data_encrypt(pi.current, SEC, buf, 16, &len), WG_OK);
	ATF_REQUIRE_EQ(len, sizeof(buf));
	check_hex(buf, len, KAT_DATA);

	wg_peer_clear(&pi);
	wg_peer_clear(&pr);
	wg_local_clear(&li);
	wg_local_clear(&lr);
	wg_crypto_free(c);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, known_answer);
	ATF_TP_ADD_TC(tp, handshake_nopsk);
	ATF_TP_ADD_TC(tp, handshake_psk);
	ATF_TP_ADD_TC(tp, wire_format);
	ATF_TP_ADD_TC(tp, psk_mismatch);
	ATF_TP_ADD_TC(tp, mac1_wrong);
	ATF_TP_ADD_TC(tp, unknown_peer);
	ATF_TP_ADD_TC(tp, cookie_under_load);
	ATF_TP_ADD_TC(tp, initiation_replay);
	ATF_TP_ADD_TC(tp, initiation_flood);
	ATF_TP_ADD_TC(tp, rotation);
	ATF_TP_ADD_TC(tp, reject_after_time);
	ATF_TP_ADD_TC(tp, reject_after_messages);
	ATF_TP_ADD_TC(tp, seal_in_thread);
	ATF_TP_ADD_TC(tp, data_errors);
	ATF_TP_ADD_TC(tp, padding);
	return (atf_no_error());
}
