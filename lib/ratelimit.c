/*
 * Per-source token buckets for handshake messages under load, as the
 * kernel's WireGuard does: a flood from one address cannot make us spend
 * more than a few cryptographic operations a second on it.
 */

#include <string.h>

#include <sodium.h>

#include "ratelimit.h"

#define NSEC_PER_SEC	UINT64_C(1000000000)

void
ratelimit_init(struct ratelimit *rl, unsigned int rate, unsigned int burst,
    const uint8_t hashkey[16])
{
	memset(rl, 0, sizeof(*rl));
	memcpy(rl->hashkey, hashkey, sizeof(rl->hashkey));
	rl->cost = NSEC_PER_SEC / (rate ? rate : 1);
	rl->burst = rl->cost * (burst ? burst : 1);
}

static size_t
slot_of(const struct ratelimit *rl, const uint8_t *key, size_t len)
{
	uint8_t		 h[crypto_shorthash_BYTES];
	uint64_t	 v;

	/* Keyed, so no one can aim many addresses at one slot. */
	crypto_shorthash(h, key, len, rl->hashkey);
	memcpy(&v, h, sizeof(v));
	return (v & (RATELIMIT_SLOTS - 1));
}

int
ratelimit_allow(struct ratelimit *rl, const uint8_t *key, size_t len,
    uint64_t now)
{
	struct ratelimit_slot	*s, *victim = NULL;
	size_t			 i, base;
	uint64_t		 credit;

	if (len > RATELIMIT_KEY_MAX)
		len = RATELIMIT_KEY_MAX;
	base = slot_of(rl, key, len);
	for (i = 0; i < RATELIMIT_PROBE; i++) {
		s = &rl->slots[(base + i) & (RATELIMIT_SLOTS - 1)];
		if (s->keylen == len && memcmp(s->key, key, len) == 0)
			goto found;
		if (victim == NULL || s->keylen == 0 ||
		    (victim->keylen != 0 && s->last < victim->last))
			victim = s;
	}
	/* A new source starts with a full bucket, less this packet. */
	s = victim;
	memcpy(s->key, key, len);
	s->keylen = len;
	s->tokens = rl->burst - rl->cost;
	s->last = now;
	return (1);
found:
	credit = now > s->last ? now - s->last : 0;
	s->last = now;
	s->tokens = s->tokens + credit > rl->burst ? rl->burst :
	    s->tokens + credit;
	if (s->tokens < rl->cost)
		return (0);
	s->tokens -= rl->cost;
	return (1);
}
