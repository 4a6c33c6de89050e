/*
 * The relay's per-connection limits (doc/relay.md), pure logic with
 * time passed in:
 *
 *	a token bucket of bytes, so that one connection's SEND frames
 *	    cannot take more than its share of the relay;
 *	a table of recent destinations, so that a connection sending to
 *	    keys that are not connected hears PEER_GONE for each at most
 *	    once an interval, however fast it sends.
 */
#ifndef CBP2P_RELAYLIMIT_H
#define CBP2P_RELAYLIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "wgkey.h"

/* A token bucket: rate units a second, at most burst at once. */
struct relay_bucket {
	uint64_t	 rate;		/* units per second, > 0 */
	uint64_t	 cap;		/* burst, in unit-nanoseconds */
	uint64_t	 credit;	/* in unit-nanoseconds */
	uint64_t	 last;		/* monotonic ns of the last refill */
};

/* A full bucket at now (ns); rate and burst are clamped to 1..2^32-1. */
void	 relay_bucket_init(struct relay_bucket *, uint64_t, uint64_t,
	    uint64_t);
/* 1 and the cost taken if cost units may pass at now (ns), else 0. */
int	 relay_bucket_take(struct relay_bucket *, uint64_t, uint64_t);

/* Destinations a connection was told about lately. */
#define RELAY_RECENT_SLOTS	16

struct relay_recent {
	struct {
		uint8_t		 key[WG_KEY_LEN];
		uint64_t	 at;		/* ms; 0: a free slot */
	}		 slot[RELAY_RECENT_SLOTS];
};

void	 relay_recent_init(struct relay_recent *);
/*
 * 1 when key was not allowed within interval ms before now (ms, > 0),
 * and it is recorded as allowed now; 0 otherwise.  When every slot
 * holds a key allowed within the interval, a new key is refused too:
 * the table never forgets a key early, so no key is allowed twice in
 * one interval.
 */
int	 relay_recent_allow(struct relay_recent *, const uint8_t *,
	    uint64_t, uint64_t);

#endif /* CBP2P_RELAYLIMIT_H */
