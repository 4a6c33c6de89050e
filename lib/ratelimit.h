/*
 * A token bucket per source, in a table of fixed size inside the
 * struct: bounded memory whatever the number of sources.  Pure: time is
 * passed in.
 *
 * The shape of the kernel's WireGuard ratelimiter: a source is an IPv4
 * address, an IPv6 /64 (one host owns a whole /64) or an opaque key; at
 * most RATELIMIT_ENTRIES sources are remembered; a source not seen for
 * a while is forgotten; and when the table is full a new source is
 * refused, never given a bucket taken from another, so a flood of new
 * sources buys nothing.
 */
#ifndef CBP2P_RATELIMIT_H
#define CBP2P_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define RATELIMIT_ENTRIES	16384	/* sources remembered at most */
#define RATELIMIT_BUCKETS	4096	/* hash chains, a power of two */
#define RATELIMIT_GC_STEP	8	/* entries examined per new source */
#define RATELIMIT_KEY_MAX	17	/* a kind byte and 16 bytes */

/* The first byte of a key: what the rest is. */
#define RATELIMIT_KIND_IPV4	4
#define RATELIMIT_KIND_IPV6	6	/* the /64 prefix only */
#define RATELIMIT_KIND_OPAQUE	0x4b	/* a caller's own bytes ('K') */

#define RATELIMIT_NONE		UINT32_MAX	/* end of a chain */

struct ratelimit_entry {
	uint64_t	 tokens;	/* in nanoseconds of credit */
	uint64_t	 last;		/* monotonic ns of the last packet */
	uint32_t	 next;		/* in its chain or the free list */
	uint8_t		 keylen;	/* 0: free */
	uint8_t		 key[RATELIMIT_KEY_MAX];
};

struct ratelimit {
	struct ratelimit_entry	 entries[RATELIMIT_ENTRIES];
	uint32_t		 chains[RATELIMIT_BUCKETS];
	uint32_t		 freelist;	/* entries given back */
	uint32_t		 used;		/* entries ever taken */
	uint32_t		 count;		/* sources remembered now */
	uint32_t		 hand;		/* where expiry looks next */
	uint64_t		 refused_full;	/* new sources, table full */
	uint8_t			 hashkey[16];
	uint64_t		 cost;		/* ns of credit per packet */
	uint64_t		 burst;		/* ns of credit at most */
	uint64_t		 idle;		/* ns unused before forgotten */
};

/* rate per second and burst in packets; hashkey is random per process. */
void	ratelimit_init(struct ratelimit *, unsigned int, unsigned int,
	    const uint8_t [16]);
/*
 * 1 if a packet from key (made by ratelimit_key_*) may pass at now,
 * else 0.
 */
int	ratelimit_allow(struct ratelimit *, const uint8_t *, size_t,
	    uint64_t);
/* Forget every source idle at now; for a periodic timer, or tests. */
void	ratelimit_expire(struct ratelimit *, uint64_t);

/*
 * Keys: IPv4 (and IPv4-mapped IPv6) by address, IPv6 by /64, anything
 * else by its first bytes.  Return the key's length, 0 if none.
 */
size_t	ratelimit_key_sa(const struct sockaddr *,
	    uint8_t [RATELIMIT_KEY_MAX]);
size_t	ratelimit_key_opaque(const uint8_t *, size_t,
	    uint8_t [RATELIMIT_KEY_MAX]);

#endif /* CBP2P_RATELIMIT_H */
