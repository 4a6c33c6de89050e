/*
 * Per-source token buckets for handshake messages under load, as the
 * kernel's WireGuard does: a flood from one address, or from all the
 * addresses of one /64, cannot make us spend more than a few
 * cryptographic operations a second on it, and a flood from many
 * sources fills a table of fixed size and is then refused.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include <sodium.h>

#include "ratelimit.h"

#define NSEC_PER_SEC		UINT64_C(1000000000)
#define RATELIMIT_IDLE_MIN	NSEC_PER_SEC	/* as the kernel's */
#define IPV6_PREFIX_BYTES	8		/* a /64 */
#define IPV4_MAPPED_OFFSET	12

void
ratelimit_init(struct ratelimit *rl, unsigned int rate, unsigned int burst,
    const uint8_t hashkey[16])
{
	size_t	 i;

	memset(rl, 0, sizeof(*rl));
	memcpy(rl->hashkey, hashkey, sizeof(rl->hashkey));
	for (i = 0; i < RATELIMIT_BUCKETS; i++)
		rl->chains[i] = RATELIMIT_NONE;
	rl->freelist = RATELIMIT_NONE;
	rl->cost = NSEC_PER_SEC / (rate ? rate : 1);
	rl->burst = rl->cost * (burst ? burst : 1);
	/*
	 * Forget a source only once its bucket would have refilled anyway:
	 * then forgetting it gives nothing away.
	 */
	rl->idle = rl->burst > RATELIMIT_IDLE_MIN ? rl->burst :
	    RATELIMIT_IDLE_MIN;
}

static uint32_t
chain_of(const struct ratelimit *rl, const uint8_t *key, size_t len)
{
	uint8_t		 h[crypto_shorthash_BYTES];
	uint64_t	 v;

	/* Keyed, so no one can aim many sources at one chain. */
	crypto_shorthash(h, key, len, rl->hashkey);
	memcpy(&v, h, sizeof(v));
	return ((uint32_t)(v & (RATELIMIT_BUCKETS - 1)));
}

static int
expired(const struct ratelimit *rl, const struct ratelimit_entry *e,
    uint64_t now)
{
	return (e->keylen != 0 && now > e->last && now - e->last > rl->idle);
}

/* Unlink entry i from its chain and give it back. */
static void
entry_free(struct ratelimit *rl, uint32_t i)
{
	struct ratelimit_entry	*e = &rl->entries[i];
	uint32_t		*pp;

	pp = &rl->chains[chain_of(rl, e->key, e->keylen)];
	while (*pp != RATELIMIT_NONE && *pp != i)
		pp = &rl->entries[*pp].next;
	if (*pp == i)
		*pp = e->next;
	e->keylen = 0;
	e->next = rl->freelist;
	rl->freelist = i;
	rl->count--;
}

/* A free entry, or RATELIMIT_NONE when every one holds a live source. */
static uint32_t
entry_take(struct ratelimit *rl, uint64_t now)
{
	uint32_t	 i, n;

	if (rl->freelist == RATELIMIT_NONE && rl->used == RATELIMIT_ENTRIES)
		/* A few steps of expiry: bounded work per new source. */
		for (n = 0; n < RATELIMIT_GC_STEP; n++) {
			i = rl->hand;
			rl->hand = (rl->hand + 1) % RATELIMIT_ENTRIES;
			if (expired(rl, &rl->entries[i], now))
				entry_free(rl, i);
		}
	if ((i = rl->freelist) != RATELIMIT_NONE) {
		rl->freelist = rl->entries[i].next;
		return (i);
	}
	if (rl->used < RATELIMIT_ENTRIES)
		return (rl->used++);
	return (RATELIMIT_NONE);
}

int
ratelimit_allow(struct ratelimit *rl, const uint8_t *key, size_t len,
    uint64_t now)
{
	struct ratelimit_entry	*e;
	uint32_t		 c, i;
	uint64_t		 credit, tokens;

	if (len == 0 || len > RATELIMIT_KEY_MAX)
		return (0);
	c = chain_of(rl, key, len);
	for (i = rl->chains[c]; i != RATELIMIT_NONE; i = e->next) {
		e = &rl->entries[i];
		if (e->keylen == len && memcmp(e->key, key, len) == 0)
			goto found;
	}
	/* Full of live sources: refuse, never evict one for a new one. */
	if ((i = entry_take(rl, now)) == RATELIMIT_NONE) {
		rl->refused_full++;
		return (0);
	}
	/* A new source starts with a full bucket, less this packet. */
	e = &rl->entries[i];
	memcpy(e->key, key, len);
	e->keylen = (uint8_t)len;
	e->tokens = rl->burst - rl->cost;
	e->last = now;
	e->next = rl->chains[c];
	rl->chains[c] = i;
	rl->count++;
	return (1);
found:
	credit = now > e->last ? now - e->last : 0;
	e->last = now > e->last ? now : e->last;
	tokens = credit > rl->burst - e->tokens ? rl->burst :
	    e->tokens + credit;
	if (tokens < rl->cost) {
		e->tokens = tokens;
		return (0);
	}
	e->tokens = tokens - rl->cost;
	return (1);
}

void
ratelimit_expire(struct ratelimit *rl, uint64_t now)
{
	uint32_t	 i;

	for (i = 0; i < rl->used; i++)
		if (expired(rl, &rl->entries[i], now))
			entry_free(rl, i);
}

size_t
ratelimit_key_sa(const struct sockaddr *sa, uint8_t key[RATELIMIT_KEY_MAX])
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*a;

	if (sa == NULL)
		return (0);
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		key[0] = RATELIMIT_KIND_IPV4;
		memcpy(key + 1, &sin->sin_addr, sizeof(sin->sin_addr));
		return (1 + sizeof(sin->sin_addr));
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		a = sin6->sin6_addr.s6_addr;
		/* One IPv4 host, whichever socket it came in on. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			key[0] = RATELIMIT_KIND_IPV4;
			memcpy(key + 1, a + IPV4_MAPPED_OFFSET,
			    sizeof(struct in_addr));
			return (1 + sizeof(struct in_addr));
		}
		/* A host is given a whole /64: it is one source. */
		key[0] = RATELIMIT_KIND_IPV6;
		memcpy(key + 1, a, IPV6_PREFIX_BYTES);
		return (1 + IPV6_PREFIX_BYTES);
	}
	return (0);
}

size_t
ratelimit_key_opaque(const uint8_t *bytes, size_t len,
    uint8_t key[RATELIMIT_KEY_MAX])
{
	if (len == 0)
		return (0);
	if (len > RATELIMIT_KEY_MAX - 1)
		len = RATELIMIT_KEY_MAX - 1;
	key[0] = RATELIMIT_KIND_OPAQUE;
	memcpy(key + 1, bytes, len);
	return (1 + len);
}
