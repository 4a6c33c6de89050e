/*
 * A token bucket per source address, in a table of fixed size: bounded
 * memory whatever the number of sources.  Pure: time is passed in.
 */
#ifndef CBP2P_RATELIMIT_H
#define CBP2P_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SLOTS		4096	/* a power of two */
#define RATELIMIT_PROBE		8	/* slots tried before evicting */
#define RATELIMIT_KEY_MAX	16

struct ratelimit_slot {
	uint8_t		 key[RATELIMIT_KEY_MAX];
	uint8_t		 keylen;
	uint64_t	 tokens;	/* in nanoseconds of credit */
	uint64_t	 last;		/* monotonic ns of the last refill */
};

struct ratelimit {
	struct ratelimit_slot	 slots[RATELIMIT_SLOTS];
	uint8_t			 hashkey[16];
	uint64_t		 cost;		/* ns of credit per packet */
	uint64_t		 burst;		/* ns of credit at most */
};

/* rate per second and burst in packets; hashkey is random per process. */
void	ratelimit_init(struct ratelimit *, unsigned int, unsigned int,
	    const uint8_t [16]);
/* 1 if a packet from key may pass at now, else 0. */
int	ratelimit_allow(struct ratelimit *, const uint8_t *, size_t,
	    uint64_t);

#endif /* CBP2P_RATELIMIT_H */
