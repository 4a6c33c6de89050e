/*
 * The WireGuard protocol core: Noise_IKpsk2 handshake, cookies, transport
 * data, replay window, keypair rotation, timers and the allowed-IPs trie.
 *
 * Pure logic.  No sockets, no process state, no global mutable state.
 * Time is always passed in: `now' is a monotonic clock in nanoseconds,
 * and the wall clock is passed as a struct timespec where TAI64N needs it.
 *
 * How the daemon drives it:
 *
 *	setup	wg_crypto_new(); wg_local_init(); wg_peer_init() per peer;
 *		wg_aip_init() and wg_aip_insert() for allowed IPs.
 *	send	kp = wg_peer_send_keypair(peer, now); if NULL, queue the
 *		packet and wg_timers_want_handshake().  Otherwise pad to
 *		wg_data_padded_len(), wg_data_encrypt() in place, send, then
 *		wg_timers_data_sent().
 *	receive	switch on wg_msg_type():
 *		1, 2: wg_cookie_check() (mac1 first, cookie reply under
 *		    load), then wg_consume_initiation() +
 *		    wg_timers_initiation_received() + wg_create_response()
 *		    + wg_timers_response_sent(); or, for the peer owning the
 *		    receiver index, wg_consume_response() +
 *		    wg_timers_response_received() (the next tick asks for a
 *		    keepalive: send queued data or an empty packet).
 *		3: wg_consume_cookie_reply() on the peer owning the index.
 *		4: kp = wg_peer_keypair_by_index(); wg_data_decrypt();
 *		    wg_peer_data_accept() (replay update, rotation, timers),
 *		    then flush queued packets: a responder's keypair may
 *		    just have been confirmed.
 *	timers	wg_timers_tick(peer, now, &next) returns WG_ACT_* bits;
 *		sleep until the earliest `next' of all peers.  After sending
 *		an initiation call wg_timers_initiation_sent().
 *
 * Local indices are the caller's: it passes them in when it creates a
 * handshake message and owns the index -> peer table.  The core reports,
 * through the peer's index_release callback, when an index stops
 * referring to anything (its keypair or handshake was dropped).
 *
 * Threads: struct wg_crypto holds reusable OpenSSL contexts and is not
 * thread safe; handshakes run in one thread.  wg_data_encrypt() and
 * wg_data_decrypt() touch only the keypair (the send counter with an
 * atomic fetch-add, the replay window read-only) and may run in workers
 * on caller buffers; wg_peer_data_accept() and everything else is
 * serialised per peer by the caller.
 */
#ifndef CBP2P_WG_H
#define CBP2P_WG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Sizes. */
#define WG_KEY_LEN		32	/* X25519 keys, AEAD keys, psk */
#define WG_HASH_LEN		32	/* BLAKE2s-256 */
#define WG_MAC_LEN		16	/* keyed BLAKE2s-128 */
#define WG_COOKIE_LEN		16
#define WG_TAG_LEN		16	/* Poly1305 */
#define WG_TIMESTAMP_LEN	12	/* TAI64N */
#define WG_XNONCE_LEN		24	/* XChaCha20-Poly1305 nonce */
#define WG_AEAD_NONCE_LEN	12	/* ChaCha20-Poly1305 IETF nonce */
#define WG_COOKIE_SRC_MAX	18	/* IPv6 address + port */

/* Message types and wire sizes. */
#define WG_MSG_INITIATION	1
#define WG_MSG_RESPONSE		2
#define WG_MSG_COOKIE		3
#define WG_MSG_DATA		4
#define WG_INITIATION_LEN	148
#define WG_RESPONSE_LEN		92
#define WG_COOKIE_REPLY_LEN	64
#define WG_DATA_HEADER_LEN	16
#define WG_DATA_MIN_LEN		(WG_DATA_HEADER_LEN + WG_TAG_LEN)
#define WG_DATA_PAD		16	/* plaintext padded to a multiple */

/* Protocol limits (whitepaper section 6). */
#define WG_REKEY_AFTER_MESSAGES		(UINT64_C(1) << 60)
/* 2^64 - 2^13 - 1 */
#define WG_REJECT_AFTER_MESSAGES	(UINT64_MAX - (UINT64_C(1) << 13))
#define WG_NSEC_PER_SEC			UINT64_C(1000000000)
#define WG_NSEC_PER_MSEC		UINT64_C(1000000)
#define WG_REKEY_AFTER_TIME		(120 * WG_NSEC_PER_SEC)
#define WG_REJECT_AFTER_TIME		(180 * WG_NSEC_PER_SEC)
#define WG_REKEY_ATTEMPT_TIME		(90 * WG_NSEC_PER_SEC)
#define WG_REKEY_TIMEOUT		(5 * WG_NSEC_PER_SEC)
#define WG_REKEY_TIMEOUT_JITTER_MAX	(333 * WG_NSEC_PER_MSEC)
#define WG_KEEPALIVE_TIMEOUT		(10 * WG_NSEC_PER_SEC)
#define WG_COOKIE_SECRET_MAX_AGE	(120 * WG_NSEC_PER_SEC)
#define WG_COOKIE_MAX_AGE		(120 * WG_NSEC_PER_SEC)
#define WG_INITIATIONS_PER_SECOND	50
#define WG_INITIATION_MIN_INTERVAL	\
	(WG_NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND)
#define WG_REKEY_AFTER_TIME_RECV	\
	(WG_REJECT_AFTER_TIME - WG_KEEPALIVE_TIMEOUT - WG_REKEY_TIMEOUT)
#define WG_ZERO_KEYS_AFTER		(WG_REJECT_AFTER_TIME * 3)
#define WG_MAX_TIMER_HANDSHAKES		\
	(WG_REKEY_ATTEMPT_TIME / WG_REKEY_TIMEOUT)

/* Replay window: a ring of 64-bit words, RFC 6479 style. */
#define WG_REPLAY_WORD_BITS	64
#define WG_REPLAY_WORDS		64
#define WG_REPLAY_BITS_TOTAL	(WG_REPLAY_WORDS * WG_REPLAY_WORD_BITS)
#define WG_REPLAY_WINDOW	(WG_REPLAY_BITS_TOTAL - WG_REPLAY_WORD_BITS)

/* Results.  Functions return WG_OK or one of these negative codes. */
enum wg_err {
	WG_OK = 0,
	WG_EINVAL = -1,		/* malformed packet or argument */
	WG_EMAC1 = -2,		/* mac1 does not verify */
	WG_EDECRYPT = -3,	/* AEAD authentication failed */
	WG_EUNKNOWN = -4,	/* static key of no known peer */
	WG_EREPLAY = -5,	/* old timestamp or replayed counter */
	WG_EFLOOD = -6,		/* initiation too soon after the last */
	WG_ESTATE = -7,		/* message not expected in this state */
	WG_EDH = -8,		/* all-zero X25519 result */
	WG_EEXPIRED = -9,	/* keypair past its time or counter limit */
	WG_ENOMEM = -10,
	WG_ELIMIT = -11,	/* allowed-IPs node limit reached */
	WG_ECRYPTO = -12,	/* library failure */
	WG_ENOENT = -13		/* no such prefix */
};

/* Randomness source; the default is randombytes_buf(). */
typedef void	wg_random_fn(void *arg, void *buf, size_t len);

/* ---- crypto (wg_crypto.c) ------------------------------------------- */

/*
 * OpenSSL objects fetched once: BLAKE2s-256, HMAC, BLAKE2SMAC and
 * reusable contexts.  Not thread safe; one per handshake thread.
 */
struct wg_crypto;

struct wg_crypto	*wg_crypto_new(void);
void			 wg_crypto_free(struct wg_crypto *);
/* out = HASH(a || b); b may be NULL. */
int	wg_hash(struct wg_crypto *, uint8_t out[WG_HASH_LEN],
	    const void *a, size_t alen, const void *b, size_t blen);
/* out = HMAC-BLAKE2s(key, in) */
int	wg_hmac(struct wg_crypto *, uint8_t out[WG_HASH_LEN],
	    const uint8_t *key, size_t keylen, const void *in, size_t inlen);
/* out = keyed BLAKE2s with 16-byte output */
int	wg_mac(struct wg_crypto *, uint8_t out[WG_MAC_LEN],
	    const uint8_t *key, size_t keylen, const void *in, size_t inlen);
/* KDF1..3: outputs t1, t2, t3 where non-NULL (t2, t3 may be NULL). */
int	wg_kdf(struct wg_crypto *, uint8_t *t1, uint8_t *t2, uint8_t *t3,
	    const uint8_t key[WG_HASH_LEN], const void *in, size_t inlen);
/* X25519; WG_EDH when the result is all zeros. */
int	wg_dh(uint8_t out[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN],
	    const uint8_t pub[WG_KEY_LEN]);
int	wg_pubkey(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN]);
/* Clamped private key from rnd (NULL: randombytes_buf) and its public. */
void	wg_keygen(uint8_t priv[WG_KEY_LEN], uint8_t pub[WG_KEY_LEN],
	    wg_random_fn *rnd, void *rndarg);
/*
 * The calling thread's own AEAD contexts, for a thread other than the
 * one that called wg_crypto_new() (after it, before any sandbox); 0 or
 * -1 (that thread then uses libsodium, which is slower, not wrong).
 */
int	wg_aead_thread_init(void);
/* And their end, for a thread that ends before its process. */
void	wg_aead_thread_free(void);
/*
 * ChaCha20 in AVX-512 registers (wg_chacha.c), for the AEAD below: a
 * stream of keystream from block 0 of a key and WireGuard nonce, in
 * passes of up to WG_CHACHA_PASS_MAX bytes.
 */
#define WG_CHACHA_BLOCK		64
#define WG_CHACHA_PASS_MAX	(16 * WG_CHACHA_BLOCK)
#define WG_CHACHA_PAIR_MAX	(24 * WG_CHACHA_BLOCK)	/* wg_chacha_pair() */
struct wg_chacha {
	uint32_t	 state[16];
	size_t		 off, len;	/* of ks, taken and filled */
	uint8_t		 ks[WG_CHACHA_PAIR_MAX];
};
int	wg_chacha_simd(void);	/* 1 if this CPU runs it */
void	wg_chacha_init(struct wg_chacha *, const uint8_t key[WG_KEY_LEN],
	    uint64_t nonce);
void	wg_chacha_xor(struct wg_chacha *, uint8_t *dst, const uint8_t *src,
	    size_t len, size_t total);
void	wg_chacha_done(struct wg_chacha *);
int	wg_chacha_pair(struct wg_chacha *, struct wg_chacha *);

/* ChaCha20-Poly1305 IETF, nonce = 32 zero bits || le64(counter). */
void	wg_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
	    const uint8_t *ad, size_t adlen, uint64_t counter,
	    const uint8_t key[WG_KEY_LEN]);
int	wg_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
	    const uint8_t *ad, size_t adlen, uint64_t counter,
	    const uint8_t key[WG_KEY_LEN]);
/*
 * Two messages at once, in place, without associated data: their
 * ChaCha20 tails share a pass where wg_aead_pairable() says it pays
 * (the sizes of a full tunnel's packets), else one after the other.
 * len: the text to seal, or what to open with its tag; rc: the open's.
 */
struct wg_aead_job {
	uint8_t		*buf;
	size_t		 len;
	uint64_t	 ctr;
	const uint8_t	*key;
	int		 rc;
};
int	wg_aead_pairable(size_t len);
void	wg_aead_seal_pair(struct wg_aead_job *, struct wg_aead_job *);
void	wg_aead_open_pair(struct wg_aead_job *, struct wg_aead_job *);
void	wg_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
	    const uint8_t *ad, size_t adlen, const uint8_t nonce[WG_XNONCE_LEN],
	    const uint8_t key[WG_KEY_LEN]);
int	wg_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
	    const uint8_t *ad, size_t adlen, const uint8_t nonce[WG_XNONCE_LEN],
	    const uint8_t key[WG_KEY_LEN]);
/* TAI64N of a wall-clock time: be64(2^62 + 10 + sec) || be32(nsec). */
void	wg_tai64n(uint8_t out[WG_TIMESTAMP_LEN], const struct timespec *);

/* ---- replay window (wg_replay.c) ------------------------------------ */

struct wg_replay {
	uint64_t	top;	/* greatest counter accepted + 1; 0: none */
	uint64_t	bits[WG_REPLAY_WORDS];
};

void	wg_replay_init(struct wg_replay *);
/* Read-only: WG_OK if counter could be accepted, else WG_EREPLAY. */
int	wg_replay_check(const struct wg_replay *, uint64_t counter);
/* Marks counter seen; WG_EREPLAY if it is not acceptable (any more). */
int	wg_replay_update(struct wg_replay *, uint64_t counter);

/* ---- keypairs and transport data (wg_data.c) ------------------------ */

struct wg_keypair {
	uint8_t			send_key[WG_KEY_LEN];
	uint8_t			recv_key[WG_KEY_LEN];
	uint64_t		send_counter;	/* __atomic fetch-add */
	struct wg_replay	replay;
	uint64_t		birth;		/* monotonic ns */
	uint32_t		local_index;
	uint32_t		remote_index;
	int			initiator;
	int			valid;
};

/* Padded plaintext length for len bytes with this tunnel MTU (0: none). */
size_t	wg_data_padded_len(size_t len, size_t mtu);
/*
 * Encrypts in place.  buf holds WG_DATA_HEADER_LEN bytes of headroom, then
 * plen bytes of (padded) plaintext, then WG_TAG_LEN bytes of tail room.
 * The packet, header written, is buf[0, *pktlen).
 */
int	wg_data_encrypt(struct wg_keypair *, uint64_t now, uint8_t *buf,
	    size_t plen, size_t *pktlen);
/*
 * wg_data_encrypt() in two steps, for a caller that seals a burst in
 * worker threads: the first takes the counter and writes the header, in
 * the order packets are to be sent; the second is the AEAD, anywhere.
 */
int	wg_data_seal_begin(struct wg_keypair *, uint64_t now, uint8_t *buf,
	    size_t plen, uint64_t *ctrp, size_t *pktlen);
void	wg_data_seal(const uint8_t key[WG_KEY_LEN], uint64_t ctr,
	    uint8_t *buf, size_t plen);
/*
 * Checks the header, the keypair's age and the replay window (without
 * updating it) and decrypts buf[0, len) in place; the plaintext is
 * buf + WG_DATA_HEADER_LEN, *plenp bytes (0: keepalive).  The caller then
 * calls wg_peer_data_accept() with *counterp.
 */
int	wg_data_decrypt(struct wg_keypair *, uint64_t now, uint8_t *buf,
	    size_t len, size_t *plenp, uint64_t *counterp);
/*
 * Two messages at once, their AEAD paired (wg_aead_seal_pair()): the
 * seal's buf as wg_data_seal()'s, header first, len its plen; the open
 * as wg_data_decrypt()'s, in and out, rc its return.
 */
struct wg_data_open {
	struct wg_keypair	*kp;
	uint64_t		 now;
	uint8_t			*buf;
	size_t			 len;
	size_t			 plen;
	uint64_t		 ctr;
	int			 rc;
};
void	wg_data_seal_pair(struct wg_aead_job *, struct wg_aead_job *);
void	wg_data_decrypt_pair(struct wg_data_open *, struct wg_data_open *);
/* Usable for sending / receiving at `now'. */
int	wg_keypair_can_send(const struct wg_keypair *, uint64_t now);
int	wg_keypair_can_recv(const struct wg_keypair *, uint64_t now);

/* ---- local identity, peers, handshake (wg_noise.c, wg_cookie.c) ----- */

struct wg_local {
	struct wg_crypto	*crypto;
	uint8_t			 priv[WG_KEY_LEN];
	uint8_t			 pub[WG_KEY_LEN];
	uint8_t			 mac1_key[WG_HASH_LEN];	/* HASH(mac1----||pub) */
	uint8_t			 cookie_key[WG_HASH_LEN]; /* HASH(cookie--||pub) */
	uint8_t			 cookie_secret[WG_HASH_LEN];
	uint64_t		 cookie_secret_birth;
	int			 cookie_secret_set;
	wg_random_fn		*random;	/* NULL: randombytes_buf */
	void			*random_arg;
};

enum wg_hs_state {
	WG_HS_ZEROED = 0,
	WG_HS_CREATED_INITIATION,
	WG_HS_CONSUMED_INITIATION
};

struct wg_handshake {
	enum wg_hs_state	state;
	uint8_t			hash[WG_HASH_LEN];
	uint8_t			ck[WG_HASH_LEN];
	uint8_t			e_priv[WG_KEY_LEN];	/* initiator's own */
	uint8_t			e_remote[WG_KEY_LEN];	/* responder: theirs */
	uint32_t		local_index;
	uint32_t		remote_index;
};

struct wg_timers {
	/* Deadlines, monotonic ns; armed only when the flag is set. */
	uint64_t	retransmit_at;
	uint64_t	keepalive_at;
	uint64_t	new_handshake_at;
	uint64_t	zero_keys_at;
	uint64_t	persistent_at;
	unsigned int	armed;			/* which deadlines count */
	unsigned int	handshake_attempts;
	int		need_another_keepalive;
	int		rearm_keepalive;	/* after the keepalive we asked */
	int		sent_lastminute_handshake;
	int		want_initiation;	/* 1: new, 2: retry */
	int		keepalive_due;		/* confirm a new session */
	uint64_t	last_sent_handshake;
	int		sent_handshake;
	uint64_t	last_handshake;		/* completion, monotonic */
	int		handshaked;
	uint64_t	persistent_interval;	/* ns, 0: off */
	/* Jitter source: a value in [0, upper); NULL: randombytes_uniform. */
	uint32_t	(*rand_uniform)(void *arg, uint32_t upper);
	void		*rand_arg;
};

#define WG_KEYPAIR_SLOTS	4	/* current, previous, next, spare */

struct wg_peer {
	uint8_t			 pub[WG_KEY_LEN];
	uint8_t			 psk[WG_KEY_LEN];
	uint8_t			 ss[WG_KEY_LEN];	/* DH(local, peer) */
	uint8_t			 mac1_key[WG_HASH_LEN];
	uint8_t			 cookie_key[WG_HASH_LEN];
	struct wg_handshake	 hs;
	/* Responder side replay and flood protection; survive zeroing. */
	uint8_t			 latest_timestamp[WG_TIMESTAMP_LEN];
	uint64_t		 last_initiation_consumed;
	int			 initiation_consumed;
	/* Cookie from the peer's cookie reply, for our mac2. */
	uint8_t			 cookie[WG_COOKIE_LEN];
	uint64_t		 cookie_birth;
	int			 cookie_valid;
	uint8_t			 last_mac1[WG_MAC_LEN];	/* of our last message */
	int			 last_mac1_valid;
	/* Keypairs live in slots so their addresses stay put. */
	struct wg_keypair	 slots[WG_KEYPAIR_SLOTS];
	struct wg_keypair	*current;
	struct wg_keypair	*previous;
	struct wg_keypair	*next;
	struct wg_timers	 timers;
	/* Called when a local index no longer refers to anything. */
	void			(*index_release)(void *arg, uint32_t index);
	void			*arg;
};

int	wg_local_init(struct wg_local *, struct wg_crypto *,
	    const uint8_t priv[WG_KEY_LEN]);
/* The data plane's identity: mac1 and cookie keys, no private key. */
int	wg_local_init_public(struct wg_local *, struct wg_crypto *,
	    const uint8_t pub[WG_KEY_LEN]);
void	wg_local_clear(struct wg_local *);
/* psk may be NULL (all zeros).  WG_EDH if pub is a low-order point. */
int	wg_peer_init(struct wg_peer *, const struct wg_local *,
	    const uint8_t pub[WG_KEY_LEN], const uint8_t *psk);
/* A peer for the data plane: no static-static DH, no handshakes. */
int	wg_peer_init_public(struct wg_peer *, const struct wg_local *,
	    const uint8_t pub[WG_KEY_LEN]);
/*
 * Installs keys derived by a handshake run elsewhere (the privileged
 * process): an initiator's become current, a responder's wait in next.
 */
int	wg_peer_install_keypair(struct wg_peer *, const uint8_t
	    send[WG_KEY_LEN], const uint8_t recv[WG_KEY_LEN],
	    uint32_t local_index, uint32_t remote_index, int initiator,
	    uint64_t now);
/* Zeroes handshake and keypairs (releasing their indices), and all keys. */
void	wg_peer_clear(struct wg_peer *);
/* Drops handshake and keypairs, keeps identity and replay state. */
void	wg_peer_zero_keys(struct wg_peer *);

/* Message type of a packet if well formed (type and length), else 0. */
int		wg_msg_type(const uint8_t *pkt, size_t len);
/* Receiver index of a type 2, 3 or 4 message. */
uint32_t	wg_msg_receiver_index(const uint8_t *pkt, size_t len);
/* Writes the sender index of a type 1 or 2 message (then add the macs). */
int		wg_msg_set_sender_index(uint8_t *pkt, size_t len,
		    uint32_t index);

/* Initiator: builds message 1 into out; mac2 set if we hold a cookie. */
int	wg_create_initiation(struct wg_local *, struct wg_peer *,
	    uint32_t local_index, uint64_t now, const struct timespec *wall,
	    uint8_t out[WG_INITIATION_LEN]);

/* Finds a peer by static public key after decryption; NULL: unknown. */
typedef struct wg_peer	*wg_lookup_fn(void *arg,
			    const uint8_t pub[WG_KEY_LEN]);

/*
 * Responder: mac1 is verified first.  Nothing in any peer changes unless
 * the whole message authenticates and passes the replay and flood rules.
 */
int	wg_consume_initiation(struct wg_local *, const uint8_t *msg,
	    size_t len, uint64_t now, wg_lookup_fn *, void *lookup_arg,
	    struct wg_peer **peerp);
/* Responder: message 2; the new keypair goes to peer->next. */
int	wg_create_response(struct wg_local *, struct wg_peer *,
	    uint32_t local_index, uint64_t now,
	    uint8_t out[WG_RESPONSE_LEN]);
/* Initiator: message 2 for the peer owning its receiver index. */
int	wg_consume_response(struct wg_local *, struct wg_peer *,
	    const uint8_t *msg, size_t len, uint64_t now);

/* ---- cookies (wg_cookie.c) ------------------------------------------ */

enum wg_verdict {
	WG_VERDICT_DROP = 0,	/* mac1 invalid (or malformed) */
	WG_VERDICT_COOKIE,	/* under load, no valid mac2: send reply */
	WG_VERDICT_PROCESS
};

/*
 * The under-load switch for a handshake message (type 1 or 2) from src
 * (address bytes || port bytes, at most WG_COOKIE_SRC_MAX).  On
 * WG_VERDICT_COOKIE, reply holds the cookie reply to send back.
 */
enum wg_verdict	wg_cookie_check(struct wg_local *, const uint8_t *msg,
		    size_t len, const uint8_t *src, size_t srclen,
		    int under_load, uint64_t now,
		    uint8_t reply[WG_COOKIE_REPLY_LEN]);
/* The peer that sent the answered message stores the cookie. */
int	wg_consume_cookie_reply(struct wg_peer *, const uint8_t *msg,
	    size_t len, uint64_t now);
/* mac1 of a handshake message to us verifies. */
int	wg_cookie_mac1_ok(struct wg_local *, const uint8_t *msg, size_t len);
/* Writes mac1 and mac2 of a handshake message to the peer; internal. */
int	wg_cookie_add_macs(struct wg_local *, struct wg_peer *,
	    uint8_t *msg, size_t len, uint64_t now);

/* ---- keypair rotation (wg_noise.c) ---------------------------------- */

/* The keypair to send with, or NULL (then ask for a handshake). */
struct wg_keypair	*wg_peer_send_keypair(struct wg_peer *, uint64_t now);
/* The keypair with this local index, if any. */
struct wg_keypair	*wg_peer_keypair_by_index(struct wg_peer *,
			    uint32_t index);
/*
 * After wg_data_decrypt() succeeded: updates the replay window, promotes
 * a responder's next keypair on its first packet, and runs the receive
 * timers.  plen 0 is a keepalive.  WG_EREPLAY if the counter raced.
 */
int	wg_peer_data_accept(struct wg_peer *, struct wg_keypair *,
	    uint64_t counter, size_t plen, uint64_t now);

/* ---- timers (wg_timers.c) ------------------------------------------- */

#define WG_ACT_SEND_INITIATION	0x01	/* build and send message 1 */
#define WG_ACT_SEND_KEEPALIVE	0x02	/* send queued data or a keepalive */
#define WG_ACT_DROP_QUEUED	0x04	/* gave up: drop queued packets */
#define WG_ACT_KEYS_ZEROED	0x08	/* all key material was erased */

#define WG_DEADLINE_NONE	UINT64_MAX

void	wg_timers_init(struct wg_timers *);
/* Interval in seconds, 0 off; on, it asks for a keepalive at once. */
void	wg_timers_set_persistent_keepalive(struct wg_peer *,
	    unsigned int seconds, uint64_t now);
/* Runs expired timers; returns WG_ACT_* and the next deadline. */
unsigned int	wg_timers_tick(struct wg_peer *, uint64_t now,
		    uint64_t *next_deadline);

/* Events the daemon reports. */
void	wg_timers_want_handshake(struct wg_peer *, uint64_t now);
void	wg_timers_initiation_sent(struct wg_peer *, uint64_t now);
void	wg_timers_initiation_received(struct wg_peer *, uint64_t now);
void	wg_timers_response_sent(struct wg_peer *, uint64_t now);
void	wg_timers_response_received(struct wg_peer *, uint64_t now);
void	wg_timers_data_sent(struct wg_peer *, size_t plen, uint64_t now);
void	wg_timers_data_received(struct wg_peer *, size_t plen, uint64_t now);

/* The primitive events, as in the whitepaper and the kernel. */
void	wg_timers_handshake_initiated(struct wg_peer *, uint64_t now);
void	wg_timers_handshake_complete(struct wg_peer *, uint64_t now);
void	wg_timers_session_derived(struct wg_peer *, uint64_t now);
void	wg_timers_any_authenticated_sent(struct wg_peer *, uint64_t now);
void	wg_timers_any_authenticated_received(struct wg_peer *, uint64_t now);
void	wg_timers_any_authenticated_traversal(struct wg_peer *, uint64_t now);

/* ---- allowed IPs (wg_allowedips.c) ---------------------------------- */

struct wg_aip_node;

struct wg_aip {
	struct wg_aip_node	*root4;
	struct wg_aip_node	*root6;
	size_t			 nodes;
	size_t			 max_nodes;	/* 0: unlimited */
};

typedef int	wg_aip_walk_fn(void *arg, int family, const uint8_t *addr,
		    unsigned int cidr);

void	wg_aip_init(struct wg_aip *, size_t max_nodes);
void	wg_aip_clear(struct wg_aip *);
/* family AF_INET (4-byte addr) or AF_INET6 (16 bytes). */
int	wg_aip_insert(struct wg_aip *, int family, const uint8_t *addr,
	    unsigned int cidr, void *peer);
int	wg_aip_remove(struct wg_aip *, int family, const uint8_t *addr,
	    unsigned int cidr, void *peer);
void	wg_aip_remove_peer(struct wg_aip *, void *peer);
void	*wg_aip_lookup(const struct wg_aip *, int family, const uint8_t *addr);
/* Calls fn for every prefix of peer; stops early on a non-zero return. */
int	wg_aip_walk(const struct wg_aip *, void *peer, wg_aip_walk_fn *,
	    void *arg);

typedef int	wg_aip_overlap_fn(void *arg, void *peer, int family,
		    const uint8_t *addr, unsigned int cidr);
/*
 * Calls fn for every owned prefix that equals addr/cidr, covers it or
 * lies inside it, with its owner: the prefixes a new owner of addr/cidr
 * would take traffic from, or give traffic to.  Covering prefixes come
 * first, shortest first.  Stops early on a non-zero return and returns
 * it; 0 when fn never did, WG_EINVAL for a bad family or length.
 */
int	wg_aip_overlap(const struct wg_aip *, int family, const uint8_t *addr,
	    unsigned int cidr, wg_aip_overlap_fn *, void *arg);

/* What wg_inner_check() makes of a decrypted packet. */
enum wg_inner {
	WG_INNER_OK,		/* for the tun: *len bytes, padding cut */
	WG_INNER_MALFORMED,	/* neither IPv4 nor IPv6, or a bad length */
	WG_INNER_NOT_ALLOWED	/* its source is routed to another peer */
};

/*
 * A packet decrypted from peer, plen bytes: its length from its own
 * IPv4 or IPv6 header (what follows is the sender's padding), and
 * whether allowed IPs route its source address back to peer, as the
 * kernel's WireGuard checks before it hands the packet on.
 */
enum wg_inner	wg_inner_check(const struct wg_aip *, const void *peer,
		    const uint8_t *pkt, size_t plen, size_t *len);

#endif /* CBP2P_WG_H */
