/*
 * mac1, mac2 and cookie replies (whitepaper section 5.4.4 and 5.4.7): the
 * DoS mitigation in front of the handshake.  mac1 proves the sender
 * knows our public key; under load, mac2 proves it can receive at its
 * source address, via a cookie we send it encrypted.
 */
#include <sys/endian.h>

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "wg.h"

#define WG_SENDER_OFF		4	/* sender index in messages 1 and 2 */
#define WG_RECEIVER_OFF		4	/* receiver index in a cookie reply */
#define WG_COOKIE_NONCE		8
#define WG_COOKIE_SEALED	32
#define WG_COOKIE_SEALED_LEN	(WG_COOKIE_LEN + WG_TAG_LEN)

static void
random_buf(const struct wg_local *l, void *buf, size_t len)
{
	if (l->random != NULL)
		l->random(l->random_arg, buf, len);
	else
		randombytes_buf(buf, len);
}

int
wg_cookie_mac1_ok(struct wg_local *l, const uint8_t *msg, size_t len)
{
	uint8_t	 mac[WG_MAC_LEN];
	size_t	 off;

	if (len < 2 * WG_MAC_LEN)
		return (0);
	off = len - 2 * WG_MAC_LEN;
	if (wg_mac(l->crypto, mac, l->mac1_key, WG_HASH_LEN, msg, off) !=
	    WG_OK)
		return (0);
	return (sodium_memcmp(mac, msg + off, WG_MAC_LEN) == 0);
}

int
wg_cookie_add_macs(struct wg_local *l, struct wg_peer *p, uint8_t *msg,
    size_t len, uint64_t now)
{
	size_t	 off1 = len - 2 * WG_MAC_LEN, off2 = len - WG_MAC_LEN;

	/* mac1 keys on the receiver's public key, so anyone can make it. */
	if (wg_mac(l->crypto, msg + off1, p->mac1_key, WG_HASH_LEN, msg,
	    off1) != WG_OK)
		return (WG_ECRYPTO);
	memcpy(p->last_mac1, msg + off1, WG_MAC_LEN);
	p->last_mac1_valid = 1;
	if (p->cookie_valid && now >= p->cookie_birth &&
	    now - p->cookie_birth < WG_COOKIE_MAX_AGE) {
		if (wg_mac(l->crypto, msg + off2, p->cookie, WG_COOKIE_LEN,
		    msg, off2) != WG_OK)
			return (WG_ECRYPTO);
	} else
		memset(msg + off2, 0, WG_MAC_LEN);
	return (WG_OK);
}

int
wg_consume_cookie_reply(struct wg_peer *p, const uint8_t *msg, size_t len,
    uint64_t now)
{
	uint8_t	 cookie[WG_COOKIE_LEN];

	if (wg_msg_type(msg, len) != WG_MSG_COOKIE)
		return (WG_EINVAL);
	/* Only an answer to the last message we sent can decrypt. */
	if (!p->last_mac1_valid)
		return (WG_ESTATE);
	if (wg_xaead_decrypt(cookie, msg + WG_COOKIE_SEALED,
	    WG_COOKIE_SEALED_LEN, p->last_mac1, WG_MAC_LEN,
	    msg + WG_COOKIE_NONCE, p->cookie_key) != WG_OK)
		return (WG_EDECRYPT);
	memcpy(p->cookie, cookie, WG_COOKIE_LEN);
	p->cookie_birth = now;
	p->cookie_valid = 1;
	/* One reply per message: a replayed one must not refresh it. */
	p->last_mac1_valid = 0;
	sodium_memzero(cookie, sizeof(cookie));
	return (WG_OK);
}

/*
 * The responder's cookie for a source: MAC(secret, src), the secret
 * renewed every two minutes.
 */
static int
make_cookie(struct wg_local *l, uint8_t cookie[WG_COOKIE_LEN],
    const uint8_t *src, size_t srclen, uint64_t now)
{
	if (!l->cookie_secret_set || now < l->cookie_secret_birth ||
	    now - l->cookie_secret_birth >= WG_COOKIE_SECRET_MAX_AGE) {
		random_buf(l, l->cookie_secret, sizeof(l->cookie_secret));
		l->cookie_secret_birth = now;
		l->cookie_secret_set = 1;
	}
	return (wg_mac(l->crypto, cookie, l->cookie_secret,
	    sizeof(l->cookie_secret), src, srclen));
}

enum wg_verdict
wg_cookie_check(struct wg_local *l, const uint8_t *msg, size_t len,
    const uint8_t *src, size_t srclen, int under_load, uint64_t now,
    uint8_t reply[WG_COOKIE_REPLY_LEN])
{
	uint8_t		 cookie[WG_COOKIE_LEN], mac2[WG_MAC_LEN];
	size_t		 off1, off2;
	enum wg_verdict	 v = WG_VERDICT_DROP;
	int		 type;

	type = wg_msg_type(msg, len);
	if (type != WG_MSG_INITIATION && type != WG_MSG_RESPONSE)
		return (WG_VERDICT_DROP);
	if (srclen == 0 || srclen > WG_COOKIE_SRC_MAX)
		return (WG_VERDICT_DROP);
	if (!wg_cookie_mac1_ok(l, msg, len))
		return (WG_VERDICT_DROP);
	if (!under_load)
		return (WG_VERDICT_PROCESS);

	off1 = len - 2 * WG_MAC_LEN;
	off2 = len - WG_MAC_LEN;
	if (make_cookie(l, cookie, src, srclen, now) != WG_OK)
		goto out;
	if (wg_mac(l->crypto, mac2, cookie, WG_COOKIE_LEN, msg, off2) != WG_OK)
		goto out;
	if (sodium_memcmp(mac2, msg + off2, WG_MAC_LEN) == 0) {
		v = WG_VERDICT_PROCESS;
		goto out;
	}

	/* type 3, receiver = the sender index of the answered message */
	memset(reply, 0, WG_COOKIE_REPLY_LEN);
	le32enc(reply, WG_MSG_COOKIE);
	memcpy(reply + WG_RECEIVER_OFF, msg + WG_SENDER_OFF, sizeof(uint32_t));
	random_buf(l, reply + WG_COOKIE_NONCE, WG_XNONCE_LEN);
	wg_xaead_encrypt(reply + WG_COOKIE_SEALED, cookie, WG_COOKIE_LEN,
	    msg + off1, WG_MAC_LEN, reply + WG_COOKIE_NONCE, l->cookie_key);
	v = WG_VERDICT_COOKIE;
 out:
	sodium_memzero(cookie, sizeof(cookie));
	return (v);
}
