/*
 * Which peers of the mesh a node configures: the token's peer whitelist
 * (allowed_peers, auto_approve, max_peers) and the operator's approvals
 * applied to the registry's list.  Pure logic, unit-tested.
 */
#ifndef CBP2P_PEERPOLICY_H
#define CBP2P_PEERPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "wgkey.h"

enum policy_verdict {
	POLICY_CONFIGURE,	/* a WireGuard peer */
	POLICY_PENDING,		/* waits for cbp2pctl approve */
	POLICY_OVER_LIMIT,	/* allowed, but max_peers is reached */
	POLICY_SELF		/* our own key: never a peer */
};

struct policy {
	const uint8_t		*self;			/* WG_KEY_LEN */
	const uint8_t		(*allowed)[WG_KEY_LEN];	/* allowed_peers */
	size_t			 nallowed;
	int			 auto_approve;
	uint32_t		 max_peers;
	const uint8_t		(*approved)[WG_KEY_LEN];	/* by the operator */
	size_t			 napproved;
};

/*
 * A peer may be configured when allowed_peers names it, when the operator
 * approved it, or when auto_approve holds and allowed_peers is empty (an
 * open mesh); any other stays pending.  Of those that may, peers already
 * configured keep their place (configured[i] != 0) and the rest follow
 * in list order until max_peers is reached.  out[i] gets each verdict;
 * returns how many are to be configured.
 */
size_t	policy_decide(const struct policy *, const uint8_t (*)[WG_KEY_LEN],
	    const int *, size_t, enum policy_verdict *);

/* The first rule above alone: 1 if key may be configured, else 0. */
int	policy_may_configure(const struct policy *, const uint8_t *);

const char	*policy_verdict_name(enum policy_verdict);

#endif /* CBP2P_PEERPOLICY_H */
