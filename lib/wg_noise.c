/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper
 * section 5.4), and the per-peer keypair rotation of the kernel module:
 *
 *	<- s
 *	...
 *	-> e, es, s, ss, {timestamp}
 *	<- e, ee, se, psk, {}
 *
 * Every message is built and checked in local buffers; a peer's state is
 * only written once a message has fully authenticated.
 */
#include <sys/endian.h>

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "wg.h"

#define WG_CONSTRUCTION	"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER	"WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1	"mac1----"
#define WG_LABEL_COOKIE	"cookie--"
#define WG_LABEL_LEN	8

/*
 * The timestamp's nanoseconds are rounded down to a power of two below
 * the initiation rate limit, as the kernel does, so an initiation does
 * not reveal the sender's precise clock.
 */
#define WG_TAI64N_GRANULARITY	(UINT32_C(1) << 24)

/* Message 1 layout. */
#define WG_INIT_SENDER		4
#define WG_INIT_EPHEMERAL	8
#define WG_INIT_STATIC		40
#define WG_INIT_STATIC_LEN	(WG_KEY_LEN + WG_TAG_LEN)
#define WG_INIT_TIMESTAMP	88
#define WG_INIT_TIMESTAMP_LEN	(WG_TIMESTAMP_LEN + WG_TAG_LEN)

/* Message 2 layout. */
#define WG_RESP_SENDER		4
#define WG_RESP_RECEIVER	8
#define WG_RESP_EPHEMERAL	12
#define WG_RESP_EMPTY		44
#define WG_RESP_EMPTY_LEN	WG_TAG_LEN

/* Cookie reply and data: receiver right after the type. */
#define WG_RECEIVER_OFF		4

/* ---- helpers --------------------------------------------------------- */

/* h = HASH(h || data) */
static int
mix_hash(struct wg_crypto *c, uint8_t h[WG_HASH_LEN], const void *data,
    size_t len)
{
	return (wg_hash(c, h, h, WG_HASH_LEN, data, len));
}

/* The chaining key and hash every handshake starts from, for a responder. */
static int
initial_state(struct wg_crypto *c, uint8_t ck[WG_HASH_LEN],
    uint8_t h[WG_HASH_LEN], const uint8_t responder_pub[WG_KEY_LEN])
{
	if (wg_hash(c, ck, WG_CONSTRUCTION, sizeof(WG_CONSTRUCTION) - 1,
	    NULL, 0) != WG_OK ||
	    wg_hash(c, h, ck, WG_HASH_LEN, WG_IDENTIFIER,
	    sizeof(WG_IDENTIFIER) - 1) != WG_OK ||
	    mix_hash(c, h, responder_pub, WG_KEY_LEN) != WG_OK)
		return (WG_ECRYPTO);
	return (WG_OK);
}

static int
labelled_key(struct wg_crypto *c, uint8_t out[WG_HASH_LEN],
    const char *label, const uint8_t pub[WG_KEY_LEN])
{
	return (wg_hash(c, out, label, WG_LABEL_LEN, pub, WG_KEY_LEN));
}

/* ---- local identity and peers ---------------------------------------- */

int
wg_local_init(struct wg_local *l, struct wg_crypto *c,
    const uint8_t priv[WG_KEY_LEN])
{
	uint8_t	 pub[WG_KEY_LEN];
	int	 rc;

	if (wg_pubkey(pub, priv) != WG_OK) {
		wg_local_clear(l);
		return (WG_ECRYPTO);
	}
	if ((rc = wg_local_init_public(l, c, pub)) == WG_OK)
		memcpy(l->priv, priv, WG_KEY_LEN);
	return (rc);
}

int
wg_local_init_public(struct wg_local *l, struct wg_crypto *c,
    const uint8_t pub[WG_KEY_LEN])
{
	memset(l, 0, sizeof(*l));
	l->crypto = c;
	memcpy(l->pub, pub, WG_KEY_LEN);
	if (labelled_key(c, l->mac1_key, WG_LABEL_MAC1, l->pub) != WG_OK ||
	    labelled_key(c, l->cookie_key, WG_LABEL_COOKIE, l->pub) != WG_OK) {
		wg_local_clear(l);
		return (WG_ECRYPTO);
	}
	return (WG_OK);
}

void
wg_local_clear(struct wg_local *l)
{
	sodium_memzero(l, sizeof(*l));
}

/* Everything of a peer that its public key alone determines. */
static int
peer_init_common(struct wg_peer *p, const struct wg_local *l,
    const uint8_t pub[WG_KEY_LEN])
{
	memset(p, 0, sizeof(*p));
	memcpy(p->pub, pub, WG_KEY_LEN);
	if (labelled_key(l->crypto, p->mac1_key, WG_LABEL_MAC1, pub) !=
	    WG_OK || labelled_key(l->crypto, p->cookie_key, WG_LABEL_COOKIE,
	    pub) != WG_OK) {
		sodium_memzero(p, sizeof(*p));
		return (WG_ECRYPTO);
	}
	wg_timers_init(&p->timers);
	return (WG_OK);
}

int
wg_peer_init(struct wg_peer *p, const struct wg_local *l,
    const uint8_t pub[WG_KEY_LEN], const uint8_t *psk)
{
	int	 rc;

	if ((rc = peer_init_common(p, l, pub)) != WG_OK)
		return (rc);
	if (psk != NULL)
		memcpy(p->psk, psk, WG_KEY_LEN);
	/* Static-static DH is fixed per pair: compute it once. */
	if (wg_dh(p->ss, l->priv, p->pub) != WG_OK) {
		sodium_memzero(p, sizeof(*p));
		return (WG_EDH);
	}
	return (WG_OK);
}

int
wg_peer_init_public(struct wg_peer *p, const struct wg_local *l,
    const uint8_t pub[WG_KEY_LEN])
{
	return (peer_init_common(p, l, pub));
}

static void
release_index(struct wg_peer *p, uint32_t index)
{
	if (p->index_release != NULL)
		p->index_release(p->arg, index);
}

/* Forgets the handshake; its index, if it had one, is released. */
static void
handshake_zero(struct wg_peer *p)
{
	if (p->hs.state == WG_HS_CREATED_INITIATION)
		release_index(p, p->hs.local_index);
	sodium_memzero(&p->hs, sizeof(p->hs));
}

static void
keypair_drop(struct wg_peer *p, struct wg_keypair *kp)
{
	uint32_t	 index;

	if (kp == NULL)
		return;
	index = kp->local_index;
	sodium_memzero(kp, sizeof(*kp));
	release_index(p, index);
}

void
wg_peer_zero_keys(struct wg_peer *p)
{
	handshake_zero(p);
	keypair_drop(p, p->current);
	keypair_drop(p, p->previous);
	keypair_drop(p, p->next);
	p->current = p->previous = p->next = NULL;
}

void
wg_peer_clear(struct wg_peer *p)
{
	wg_peer_zero_keys(p);
	sodium_memzero(p, sizeof(*p));
}

/* ---- keypairs -------------------------------------------------------- */

static struct wg_keypair *
slot_free(struct wg_peer *p)
{
	struct wg_keypair	*kp;
	size_t			 i;

	for (i = 0; i < WG_KEYPAIR_SLOTS; i++) {
		kp = &p->slots[i];
		if (kp != p->current && kp != p->previous && kp != p->next)
			return (kp);
	}
	return (NULL);	/* not reached: three pointers, four slots */
}

/*
 * Installs a session's keys as the kernel does: an initiator's keypair
 * is confirmed and becomes current at once; a responder's waits in
 * `next' for the first data packet from the initiator.
 */
int
wg_peer_install_keypair(struct wg_peer *p, const uint8_t send[WG_KEY_LEN],
    const uint8_t recv[WG_KEY_LEN], uint32_t local_index,
    uint32_t remote_index, int initiator, uint64_t now)
{
	struct wg_keypair	*kp;

	if ((kp = slot_free(p)) == NULL)
		return (WG_ESTATE);
	sodium_memzero(kp, sizeof(*kp));
	memcpy(kp->send_key, send, WG_KEY_LEN);
	memcpy(kp->recv_key, recv, WG_KEY_LEN);
	wg_replay_init(&kp->replay);
	kp->send_counter = 0;
	kp->birth = now;
	kp->local_index = local_index;
	kp->remote_index = remote_index;
	kp->initiator = initiator;
	kp->valid = 1;

	if (initiator) {
		if (p->next != NULL) {
			/*
			 * A responder keypair never confirmed: it slides to
			 * previous (it may still receive) and current goes.
			 */
			keypair_drop(p, p->previous);
			p->previous = p->next;
			p->next = NULL;
			keypair_drop(p, p->current);
		} else {
			keypair_drop(p, p->previous);
			p->previous = p->current;
		}
		p->current = kp;
	} else {
		keypair_drop(p, p->next);
		keypair_drop(p, p->previous);
		p->previous = NULL;
		p->next = kp;
	}
	return (WG_OK);
}

/* Derives the transport keys from the final chaining key. */
static int
begin_session(struct wg_crypto *c, struct wg_peer *p,
    const uint8_t ck[WG_HASH_LEN], int initiator, uint32_t local_index,
    uint32_t remote_index, uint64_t now)
{
	uint8_t			 t1[WG_KEY_LEN], t2[WG_KEY_LEN];
	int			 rc;

	if (wg_kdf(c, t1, t2, NULL, ck, NULL, 0) != WG_OK)
		rc = WG_ECRYPTO;
	else
		rc = wg_peer_install_keypair(p, initiator ? t1 : t2,
		    initiator ? t2 : t1, local_index, remote_index,
		    initiator, now);
	sodium_memzero(t1, sizeof(t1));
	sodium_memzero(t2, sizeof(t2));
	return (rc);
}

struct wg_keypair *
wg_peer_send_keypair(struct wg_peer *p, uint64_t now)
{
	if (p->current != NULL && wg_keypair_can_send(p->current, now))
		return (p->current);
	return (NULL);
}

struct wg_keypair *
wg_peer_keypair_by_index(struct wg_peer *p, uint32_t index)
{
	struct wg_keypair	*kps[3] = { p->current, p->previous, p->next };
	size_t			 i;

	for (i = 0; i < 3; i++)
		if (kps[i] != NULL && kps[i]->valid &&
		    kps[i]->local_index == index)
			return (kps[i]);
	return (NULL);
}

int
wg_peer_data_accept(struct wg_peer *p, struct wg_keypair *kp,
    uint64_t counter, size_t plen, uint64_t now)
{
	if (wg_replay_update(&kp->replay, counter) != WG_OK)
		return (WG_EREPLAY);
	if (kp == p->next) {
		/* Key confirmation: next -> current -> previous. */
		keypair_drop(p, p->previous);
		p->previous = p->current;
		p->current = kp;
		p->next = NULL;
		wg_timers_handshake_complete(p, now);
	}
	wg_timers_data_received(p, plen, now);
	return (WG_OK);
}

/* ---- messages -------------------------------------------------------- */

int
wg_msg_type(const uint8_t *pkt, size_t len)
{
	uint32_t	 type;

	if (len < sizeof(uint32_t))
		return (0);
	/* The three reserved bytes must be zero: read it as le32. */
	type = le32dec(pkt);
	switch (type) {
	case WG_MSG_INITIATION:
		return (len == WG_INITIATION_LEN ? WG_MSG_INITIATION : 0);
	case WG_MSG_RESPONSE:
		return (len == WG_RESPONSE_LEN ? WG_MSG_RESPONSE : 0);
	case WG_MSG_COOKIE:
		return (len == WG_COOKIE_REPLY_LEN ? WG_MSG_COOKIE : 0);
	case WG_MSG_DATA:
		return (len >= WG_DATA_MIN_LEN ? WG_MSG_DATA : 0);
	default:
		return (0);
	}
}

uint32_t
wg_msg_receiver_index(const uint8_t *pkt, size_t len)
{
	switch (wg_msg_type(pkt, len)) {
	case WG_MSG_RESPONSE:
		return (le32dec(pkt + WG_RESP_RECEIVER));
	case WG_MSG_COOKIE:
	case WG_MSG_DATA:
		return (le32dec(pkt + WG_RECEIVER_OFF));
	default:
		return (0);
	}
}

/*
 * The sender index is outside the Noise transcript (only mac1 and mac2
 * cover it), so whoever owns the index table may write it last.
 */
int
wg_msg_set_sender_index(uint8_t *pkt, size_t len, uint32_t index)
{
	switch (wg_msg_type(pkt, len)) {
	case WG_MSG_INITIATION:
		le32enc(pkt + WG_INIT_SENDER, index);
		return (WG_OK);
	case WG_MSG_RESPONSE:
		le32enc(pkt + WG_RESP_SENDER, index);
		return (WG_OK);
	default:
		return (WG_EINVAL);
	}
}

int
wg_create_initiation(struct wg_local *l, struct wg_peer *p,
    uint32_t local_index, uint64_t now, const struct timespec *wall,
    uint8_t out[WG_INITIATION_LEN])
{
	struct wg_crypto	*c = l->crypto;
	struct timespec		 ts;
	uint8_t			 ck[WG_HASH_LEN], h[WG_HASH_LEN];
	uint8_t			 key[WG_KEY_LEN], dh[WG_KEY_LEN];
	uint8_t			 epriv[WG_KEY_LEN], epub[WG_KEY_LEN];
	uint8_t			 t[WG_TIMESTAMP_LEN];
	int			 rc = WG_ECRYPTO;

	memset(out, 0, WG_INITIATION_LEN);
	le32enc(out, WG_MSG_INITIATION);
	le32enc(out + WG_INIT_SENDER, local_index);

	if (initial_state(c, ck, h, p->pub) != WG_OK)
		goto fail;
	/* e */
	wg_keygen(epriv, epub, l->random, l->random_arg);
	memcpy(out + WG_INIT_EPHEMERAL, epub, WG_KEY_LEN);
	if (wg_kdf(c, ck, NULL, NULL, ck, epub, WG_KEY_LEN) != WG_OK ||
	    mix_hash(c, h, epub, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* es */
	if ((rc = wg_dh(dh, epriv, p->pub)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (wg_kdf(c, ck, key, NULL, ck, dh, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* s */
	wg_aead_encrypt(out + WG_INIT_STATIC, l->pub, WG_KEY_LEN, h,
	    WG_HASH_LEN, 0, key);
	if (mix_hash(c, h, out + WG_INIT_STATIC, WG_INIT_STATIC_LEN) != WG_OK)
		goto fail;
	/* ss */
	if (wg_kdf(c, ck, key, NULL, ck, p->ss, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* {timestamp} */
	ts = *wall;
	ts.tv_nsec -= ts.tv_nsec % WG_TAI64N_GRANULARITY;
	wg_tai64n(t, &ts);
	wg_aead_encrypt(out + WG_INIT_TIMESTAMP, t, WG_TIMESTAMP_LEN, h,
	    WG_HASH_LEN, 0, key);
	if (mix_hash(c, h, out + WG_INIT_TIMESTAMP, WG_INIT_TIMESTAMP_LEN) !=
	    WG_OK)
		goto fail;
	if (wg_cookie_add_macs(l, p, out, WG_INITIATION_LEN, now) != WG_OK)
		goto fail;

	/* A retry replaces the last attempt; its index goes. */
	if (p->hs.state == WG_HS_CREATED_INITIATION &&
	    p->hs.local_index != local_index)
		release_index(p, p->hs.local_index);
	sodium_memzero(&p->hs, sizeof(p->hs));
	p->hs.state = WG_HS_CREATED_INITIATION;
	memcpy(p->hs.hash, h, WG_HASH_LEN);
	memcpy(p->hs.ck, ck, WG_HASH_LEN);
	memcpy(p->hs.e_priv, epriv, WG_KEY_LEN);
	p->hs.local_index = local_index;
	rc = WG_OK;
 fail:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(epriv, sizeof(epriv));
	sodium_memzero(t, sizeof(t));
	if (rc != WG_OK)
		sodium_memzero(out, WG_INITIATION_LEN);
	return (rc);
}

int
wg_consume_initiation(struct wg_local *l, const uint8_t *msg, size_t len,
    uint64_t now, wg_lookup_fn *lookup, void *lookup_arg,
    struct wg_peer **peerp)
{
	struct wg_crypto	*c = l->crypto;
	struct wg_peer		*p;
	const uint8_t		*e = msg + WG_INIT_EPHEMERAL;
	uint8_t			 ck[WG_HASH_LEN], h[WG_HASH_LEN];
	uint8_t			 key[WG_KEY_LEN], dh[WG_KEY_LEN];
	uint8_t			 spub[WG_KEY_LEN], t[WG_TIMESTAMP_LEN];
	int			 rc = WG_EINVAL;

	*peerp = NULL;
	if (wg_msg_type(msg, len) != WG_MSG_INITIATION)
		return (WG_EINVAL);
	/* mac1 before any DH: it is what makes floods cheap to drop. */
	if (!wg_cookie_mac1_ok(l, msg, len))
		return (WG_EMAC1);

	rc = WG_ECRYPTO;
	if (initial_state(c, ck, h, l->pub) != WG_OK)
		goto fail;
	/* e */
	if (wg_kdf(c, ck, NULL, NULL, ck, e, WG_KEY_LEN) != WG_OK ||
	    mix_hash(c, h, e, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* es */
	if ((rc = wg_dh(dh, l->priv, e)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (wg_kdf(c, ck, key, NULL, ck, dh, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* s */
	if ((rc = wg_aead_decrypt(spub, msg + WG_INIT_STATIC,
	    WG_INIT_STATIC_LEN, h, WG_HASH_LEN, 0, key)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (mix_hash(c, h, msg + WG_INIT_STATIC, WG_INIT_STATIC_LEN) != WG_OK)
		goto fail;
	/* Only now is the initiator known. */
	if ((p = lookup(lookup_arg, spub)) == NULL) {
		rc = WG_EUNKNOWN;
		goto fail;
	}
	/* ss */
	if (wg_kdf(c, ck, key, NULL, ck, p->ss, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* {timestamp} */
	if ((rc = wg_aead_decrypt(t, msg + WG_INIT_TIMESTAMP,
	    WG_INIT_TIMESTAMP_LEN, h, WG_HASH_LEN, 0, key)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (mix_hash(c, h, msg + WG_INIT_TIMESTAMP, WG_INIT_TIMESTAMP_LEN) !=
	    WG_OK)
		goto fail;
	/* Replay: the timestamp must be strictly greater than any before. */
	if (memcmp(t, p->latest_timestamp, WG_TIMESTAMP_LEN) <= 0) {
		rc = WG_EREPLAY;
		goto fail;
	}
	/* Flood: at most INITIATIONS_PER_SECOND per peer. */
	if (p->initiation_consumed && now >= p->last_initiation_consumed &&
	    now - p->last_initiation_consumed < WG_INITIATION_MIN_INTERVAL) {
		rc = WG_EFLOOD;
		goto fail;
	}

	handshake_zero(p);
	p->hs.state = WG_HS_CONSUMED_INITIATION;
	memcpy(p->hs.hash, h, WG_HASH_LEN);
	memcpy(p->hs.ck, ck, WG_HASH_LEN);
	memcpy(p->hs.e_remote, e, WG_KEY_LEN);
	p->hs.remote_index = le32dec(msg + WG_INIT_SENDER);
	memcpy(p->latest_timestamp, t, WG_TIMESTAMP_LEN);
	p->last_initiation_consumed = now;
	p->initiation_consumed = 1;
	*peerp = p;
	rc = WG_OK;
 fail:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(t, sizeof(t));
	return (rc);
}

int
wg_create_response(struct wg_local *l, struct wg_peer *p,
    uint32_t local_index, uint64_t now, uint8_t out[WG_RESPONSE_LEN])
{
	struct wg_crypto	*c = l->crypto;
	uint8_t			 ck[WG_HASH_LEN], h[WG_HASH_LEN];
	uint8_t			 key[WG_KEY_LEN], dh[WG_KEY_LEN];
	uint8_t			 tau[WG_HASH_LEN];
	uint8_t			 epriv[WG_KEY_LEN], epub[WG_KEY_LEN];
	int			 rc = WG_ECRYPTO;

	if (p->hs.state != WG_HS_CONSUMED_INITIATION)
		return (WG_ESTATE);
	memset(out, 0, WG_RESPONSE_LEN);
	le32enc(out, WG_MSG_RESPONSE);
	le32enc(out + WG_RESP_SENDER, local_index);
	le32enc(out + WG_RESP_RECEIVER, p->hs.remote_index);
	memcpy(ck, p->hs.ck, WG_HASH_LEN);
	memcpy(h, p->hs.hash, WG_HASH_LEN);

	/* e */
	wg_keygen(epriv, epub, l->random, l->random_arg);
	memcpy(out + WG_RESP_EPHEMERAL, epub, WG_KEY_LEN);
	if (wg_kdf(c, ck, NULL, NULL, ck, epub, WG_KEY_LEN) != WG_OK ||
	    mix_hash(c, h, epub, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* ee */
	if ((rc = wg_dh(dh, epriv, p->hs.e_remote)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (wg_kdf(c, ck, NULL, NULL, ck, dh, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* se */
	if ((rc = wg_dh(dh, epriv, p->pub)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (wg_kdf(c, ck, NULL, NULL, ck, dh, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* psk: KDF3 gives the chaining key, tau (hashed in) and the key. */
	if (wg_kdf(c, ck, tau, key, ck, p->psk, WG_KEY_LEN) != WG_OK ||
	    mix_hash(c, h, tau, WG_HASH_LEN) != WG_OK)
		goto fail;
	/* {} : the empty payload still carries its tag. */
	wg_aead_encrypt(out + WG_RESP_EMPTY, NULL, 0, h, WG_HASH_LEN, 0, key);
	if (mix_hash(c, h, out + WG_RESP_EMPTY, WG_RESP_EMPTY_LEN) != WG_OK)
		goto fail;
	if (wg_cookie_add_macs(l, p, out, WG_RESPONSE_LEN, now) != WG_OK)
		goto fail;
	if ((rc = begin_session(c, p, ck, 0, local_index, p->hs.remote_index,
	    now)) != WG_OK)
		goto fail;
	/* The index now belongs to the keypair in next. */
	sodium_memzero(&p->hs, sizeof(p->hs));
	rc = WG_OK;
 fail:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(tau, sizeof(tau));
	sodium_memzero(epriv, sizeof(epriv));
	if (rc != WG_OK)
		sodium_memzero(out, WG_RESPONSE_LEN);
	return (rc);
}

int
wg_consume_response(struct wg_local *l, struct wg_peer *p,
    const uint8_t *msg, size_t len, uint64_t now)
{
	struct wg_crypto	*c = l->crypto;
	const uint8_t		*e = msg + WG_RESP_EPHEMERAL;
	uint8_t			 ck[WG_HASH_LEN], h[WG_HASH_LEN];
	uint8_t			 key[WG_KEY_LEN], dh[WG_KEY_LEN];
	uint8_t			 tau[WG_HASH_LEN], empty[1];
	uint32_t		 local_index;
	int			 rc;

	if (wg_msg_type(msg, len) != WG_MSG_RESPONSE)
		return (WG_EINVAL);
	if (!wg_cookie_mac1_ok(l, msg, len))
		return (WG_EMAC1);
	if (p->hs.state != WG_HS_CREATED_INITIATION ||
	    le32dec(msg + WG_RESP_RECEIVER) != p->hs.local_index)
		return (WG_ESTATE);
	memcpy(ck, p->hs.ck, WG_HASH_LEN);
	memcpy(h, p->hs.hash, WG_HASH_LEN);

	rc = WG_ECRYPTO;
	/* e */
	if (wg_kdf(c, ck, NULL, NULL, ck, e, WG_KEY_LEN) != WG_OK ||
	    mix_hash(c, h, e, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* ee */
	if ((rc = wg_dh(dh, p->hs.e_priv, e)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (wg_kdf(c, ck, NULL, NULL, ck, dh, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* se */
	if ((rc = wg_dh(dh, l->priv, e)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (wg_kdf(c, ck, NULL, NULL, ck, dh, WG_KEY_LEN) != WG_OK)
		goto fail;
	/* psk */
	if (wg_kdf(c, ck, tau, key, ck, p->psk, WG_KEY_LEN) != WG_OK ||
	    mix_hash(c, h, tau, WG_HASH_LEN) != WG_OK)
		goto fail;
	/* {} */
	if ((rc = wg_aead_decrypt(empty, msg + WG_RESP_EMPTY,
	    WG_RESP_EMPTY_LEN, h, WG_HASH_LEN, 0, key)) != WG_OK)
		goto fail;
	rc = WG_ECRYPTO;
	if (mix_hash(c, h, msg + WG_RESP_EMPTY, WG_RESP_EMPTY_LEN) != WG_OK)
		goto fail;

	local_index = p->hs.local_index;
	if ((rc = begin_session(c, p, ck, 1, local_index,
	    le32dec(msg + WG_RESP_SENDER), now)) != WG_OK)
		goto fail;
	/* The index moved to the new current keypair: do not release it. */
	sodium_memzero(&p->hs, sizeof(p->hs));
	rc = WG_OK;
 fail:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(tau, sizeof(tau));
	return (rc);
}
