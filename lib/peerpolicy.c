/*
 * The peer whitelist applied to a registry list.
 */

#include <string.h>

#include "peerpolicy.h"

static int
key_in(const uint8_t *key, const uint8_t (*set)[WG_KEY_LEN], size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (memcmp(set[i], key, WG_KEY_LEN) == 0)
			return (1);
	return (0);
}

int
policy_may_configure(const struct policy *p, const uint8_t *key)
{
	if (key_in(key, p->allowed, p->nallowed) ||
	    key_in(key, p->approved, p->napproved))
		return (1);
	return (p->auto_approve && p->nallowed == 0);
}

size_t
policy_decide(const struct policy *p, const uint8_t (*keys)[WG_KEY_LEN],
    const int *configured, size_t n, enum policy_verdict *out)
{
	size_t	 i, taken = 0;
	int	 pass;

	for (i = 0; i < n; i++) {
		if (memcmp(keys[i], p->self, WG_KEY_LEN) == 0)
			out[i] = POLICY_SELF;
		else if (!policy_may_configure(p, keys[i]))
			out[i] = POLICY_PENDING;
		else
			out[i] = POLICY_OVER_LIMIT;	/* decided below */
	}
	/* Peers already up keep their slots before newcomers get any. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (out[i] != POLICY_OVER_LIMIT)
				continue;
			if (pass == 0 && (configured == NULL ||
			    !configured[i]))
				continue;
			if (taken >= p->max_peers)
				continue;
			out[i] = POLICY_CONFIGURE;
			taken++;
		}
	}
	return (taken);
}

const char *
policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_CONFIGURE:
		return ("configured");
	case POLICY_PENDING:
		return ("pending");
	case POLICY_OVER_LIMIT:
		return ("over max_peers");
	case POLICY_SELF:
		return ("self");
	}
	return ("unknown");
}
