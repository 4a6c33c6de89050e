/*
 * Transport data messages (type 4): in-place encryption and decryption
 * on caller buffers.  Nothing here allocates or touches state other than
 * the keypair passed in, so batches can run in worker threads.
 */
#include <sys/endian.h>

#include <stdint.h>
#include <string.h>

#include "wg.h"

/* Age of something born at birth; a clock behind birth counts as 0. */
static uint64_t
age(uint64_t birth, uint64_t now)
{
	return (now > birth ? now - birth : 0);
}

size_t
wg_data_padded_len(size_t len, size_t mtu)
{
	size_t	 last, padded;

	if (mtu == 0)
		return ((len + WG_DATA_PAD - 1) / WG_DATA_PAD * WG_DATA_PAD);
	/* Pad the last MTU-sized unit, but never beyond the MTU. */
	last = len > mtu ? len % mtu : len;
	padded = (last + WG_DATA_PAD - 1) / WG_DATA_PAD * WG_DATA_PAD;
	if (padded > mtu)
		padded = mtu;
	return (len + (padded - last));
}

int
wg_keypair_can_send(const struct wg_keypair *kp, uint64_t now)
{
	return (kp != NULL && kp->valid &&
	    age(kp->birth, now) < WG_REJECT_AFTER_TIME &&
	    __atomic_load_n(&kp->send_counter, __ATOMIC_RELAXED) <
	    WG_REJECT_AFTER_MESSAGES);
}

int
wg_keypair_can_recv(const struct wg_keypair *kp, uint64_t now)
{
	return (kp != NULL && kp->valid &&
	    age(kp->birth, now) < WG_REJECT_AFTER_TIME &&
	    kp->replay.top < WG_REJECT_AFTER_MESSAGES);
}

/*
 * Takes the next send counter, never one at or past the limit: a plain
 * fetch-add could wrap the counter to reuse a nonce.
 */
static int
next_counter(struct wg_keypair *kp, uint64_t *ctr)
{
	uint64_t	 c;

	c = __atomic_load_n(&kp->send_counter, __ATOMIC_RELAXED);
	do {
		if (c >= WG_REJECT_AFTER_MESSAGES)
			return (WG_EEXPIRED);
	} while (!__atomic_compare_exchange_n(&kp->send_counter, &c, c + 1,
	    0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	*ctr = c;
	return (WG_OK);
}

int
wg_data_seal_begin(struct wg_keypair *kp, uint64_t now, uint8_t *buf,
    size_t plen, uint64_t *ctrp, size_t *pktlen)
{
	uint64_t	 ctr;

	if (!kp->valid || age(kp->birth, now) >= WG_REJECT_AFTER_TIME)
		return (WG_EEXPIRED);
	if (next_counter(kp, &ctr) != WG_OK)
		return (WG_EEXPIRED);
	le32enc(buf, WG_MSG_DATA);
	le32enc(buf + 4, kp->remote_index);
	le64enc(buf + 8, ctr);
	*ctrp = ctr;
	*pktlen = WG_DATA_HEADER_LEN + plen + WG_TAG_LEN;
	return (WG_OK);
}

void
wg_data_seal(const uint8_t key[WG_KEY_LEN], uint64_t ctr, uint8_t *buf,
    size_t plen)
{
	wg_aead_encrypt(buf + WG_DATA_HEADER_LEN, buf + WG_DATA_HEADER_LEN,
	    plen, NULL, 0, ctr, key);
}

int
wg_data_encrypt(struct wg_keypair *kp, uint64_t now, uint8_t *buf,
    size_t plen, size_t *pktlen)
{
	uint64_t	 ctr;
	int		 rc;

	if ((rc = wg_data_seal_begin(kp, now, buf, plen, &ctr, pktlen)) !=
	    WG_OK)
		return (rc);
	wg_data_seal(kp->send_key, ctr, buf, plen);
	return (WG_OK);
}

/* Everything but the AEAD: WG_OK and the message's counter, or why not. */
static int
data_open_check(struct wg_keypair *kp, uint64_t now, const uint8_t *buf,
    size_t len, uint64_t *ctrp)
{
	uint64_t	 ctr;

	if (len < WG_DATA_MIN_LEN || le32dec(buf) != WG_MSG_DATA ||
	    le32dec(buf + 4) != kp->local_index)
		return (WG_EINVAL);
	if (!wg_keypair_can_recv(kp, now))
		return (WG_EEXPIRED);
	ctr = le64dec(buf + 8);
	/* Cheap refusal first; the window is updated only after auth. */
	if (wg_replay_check(&kp->replay, ctr) != WG_OK)
		return (WG_EREPLAY);
	*ctrp = ctr;
	return (WG_OK);
}

int
wg_data_decrypt(struct wg_keypair *kp, uint64_t now, uint8_t *buf,
    size_t len, size_t *plenp, uint64_t *counterp)
{
	uint64_t	 ctr;
	int		 rc;

	if ((rc = data_open_check(kp, now, buf, len, &ctr)) != WG_OK)
		return (rc);
	if (wg_aead_decrypt(buf + WG_DATA_HEADER_LEN, buf + WG_DATA_HEADER_LEN,
	    len - WG_DATA_HEADER_LEN, NULL, 0, ctr, kp->recv_key) != WG_OK)
		return (WG_EDECRYPT);
	*plenp = len - WG_DATA_MIN_LEN;
	*counterp = ctr;
	return (WG_OK);
}

void
wg_data_seal_pair(struct wg_aead_job *m0, struct wg_aead_job *m1)
{
	struct wg_aead_job	 a0 = *m0, a1 = *m1;

	a0.buf += WG_DATA_HEADER_LEN;
	a1.buf += WG_DATA_HEADER_LEN;
	wg_aead_seal_pair(&a0, &a1);
}

void
wg_data_decrypt_pair(struct wg_data_open *o0, struct wg_data_open *o1)
{
	struct wg_data_open	*o[2] = { o0, o1 };
	struct wg_aead_job	 j[2];
	int			 i;

	for (i = 0; i < 2; i++) {
		o[i]->rc = data_open_check(o[i]->kp, o[i]->now, o[i]->buf,
		    o[i]->len, &o[i]->ctr);
		if (o[i]->rc != WG_OK)
			continue;
		j[i].buf = o[i]->buf + WG_DATA_HEADER_LEN;
		j[i].len = o[i]->len - WG_DATA_HEADER_LEN;
		j[i].ctr = o[i]->ctr;
		j[i].key = o[i]->kp->recv_key;
	}
	if (o0->rc == WG_OK && o1->rc == WG_OK)
		wg_aead_open_pair(&j[0], &j[1]);
	else
		for (i = 0; i < 2; i++)
			if (o[i]->rc == WG_OK)
				j[i].rc = wg_aead_decrypt(j[i].buf, j[i].buf,
				    j[i].len, NULL, 0, j[i].ctr, j[i].key);
	for (i = 0; i < 2; i++) {
		if (o[i]->rc != WG_OK)
			continue;
		if (j[i].rc != WG_OK)
			o[i]->rc = WG_EDECRYPT;
		else
			o[i]->plen = o[i]->len - WG_DATA_MIN_LEN;
	}
}
