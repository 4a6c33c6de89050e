/*
 * The relay's per-connection limits: a token bucket of bytes on SEND
 * and a throttle on PEER_GONE replies (relaylimit.h).
 */

#include <sys/types.h>

#include <string.h>

#include "relaylimit.h"

#define NSEC_PER_SEC	UINT64_C(1000000000)

void
relay_bucket_init(struct relay_bucket *b, uint64_t rate, uint64_t burst,
    uint64_t now)
{
	memset(b, 0, sizeof(*b));
	/* Both below 2^32, so that no sum of credit overflows 2^64. */
	if (rate == 0)
		rate = 1;
	if (rate > UINT32_MAX)
		rate = UINT32_MAX;
	b->rate = rate;
	if (burst == 0)
		burst = 1;
	if (burst > UINT32_MAX)
		burst = UINT32_MAX;
	b->cap = burst * NSEC_PER_SEC;
	b->credit = b->cap;
	b->last = now;
}

int
relay_bucket_take(struct relay_bucket *b, uint64_t cost, uint64_t now)
{
	uint64_t	 elapsed, full, need;

	if (now > b->last) {
		elapsed = now - b->last;
		/* Time to fill the bucket from empty: no overflow past it. */
		full = b->cap / b->rate + 1;
		if (elapsed >= full)
			b->credit = b->cap;
		else if (b->credit + elapsed * b->rate > b->cap)
			b->credit = b->cap;
		else
			b->credit += elapsed * b->rate;
		b->last = now;
	}
	if (cost > b->cap / NSEC_PER_SEC)
		return (0);
	need = cost * NSEC_PER_SEC;
	if (b->credit < need)
		return (0);
	b->credit -= need;
	return (1);
}

void
relay_recent_init(struct relay_recent *r)
{
	memset(r, 0, sizeof(*r));
}

int
relay_recent_allow(struct relay_recent *r, const uint8_t *key,
    uint64_t now, uint64_t interval)
{
	size_t	 i, victim = RELAY_RECENT_SLOTS;

	for (i = 0; i < RELAY_RECENT_SLOTS; i++) {
		if (r->slot[i].at != 0 &&
		    memcmp(r->slot[i].key, key, WG_KEY_LEN) == 0) {
			if (now - r->slot[i].at < interval &&
			    now >= r->slot[i].at)
				return (0);
			r->slot[i].at = now;
			return (1);
		}
		/* A free slot, or the oldest one past the interval. */
		if (r->slot[i].at == 0 || now < r->slot[i].at ||
		    now - r->slot[i].at >= interval) {
			if (victim == RELAY_RECENT_SLOTS ||
			    r->slot[i].at < r->slot[victim].at)
				victim = i;
		}
	}
	if (victim == RELAY_RECENT_SLOTS)
		return (0);
	memcpy(r->slot[victim].key, key, WG_KEY_LEN);
	r->slot[victim].at = now;
	return (1);
}
