/*
 * Admission of a discovered peer; the rules are in peeradmit.h.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <string.h>

#include "peeradmit.h"
#include "proc.h"
#include "wg.h"

#define V4_BITS			32
#define V6_BITS			128
#define V4_THIS_NET		0x00	/* 0.0.0.0/8 */
#define V4_LOOPBACK_NET		0x7f	/* 127.0.0.0/8 */
#define V4_MULTICAST_MASK	0xf0
#define V4_MULTICAST_NET	0xe0	/* 224.0.0.0/4 */
#define V6_MULTICAST_NET	0xff	/* ff00::/8 */
#define NAME_CHAR_FIRST		'!'	/* printable ASCII, space excluded */
#define NAME_CHAR_LAST		'~'

#define ADMIT_NAME(e, name)	name,
static const char *const admit_names[ADMIT_MAX] = {
	ADMIT_REASONS(ADMIT_NAME)
};
static const char *const admit_ep_names[ADMIT_EP_MAX] = {
	ADMIT_EP_REASONS(ADMIT_NAME)
};
#undef ADMIT_NAME

const char *
admit_reason_name(enum admit_reason r)
{
	return ((unsigned int)r < ADMIT_MAX ? admit_names[r] : "unknown");
}

const char *
admit_ep_reason_name(enum admit_ep_reason r)
{
	return ((unsigned int)r < ADMIT_EP_MAX ? admit_ep_names[r] :
	    "unknown");
}

static enum admit_ep_reason
admit_v4(const uint8_t *a)
{
	static const uint8_t	 bcast[4] = { 0xff, 0xff, 0xff, 0xff };

	if (a[0] == V4_THIS_NET)
		return (ADMIT_EP_UNSPECIFIED);
	if (a[0] == V4_LOOPBACK_NET)
		return (ADMIT_EP_LOOPBACK);
	if ((a[0] & V4_MULTICAST_MASK) == V4_MULTICAST_NET)
		return (ADMIT_EP_MULTICAST);
	if (memcmp(a, bcast, sizeof(bcast)) == 0)
		return (ADMIT_EP_BROADCAST);
	return (ADMIT_EP_OK);
}

enum admit_ep_reason
admit_endpoint(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	const struct in6_addr		*a6;

	switch (ss->ss_family) {
	case AF_INET:
		if (sin->sin_port == 0)
			return (ADMIT_EP_PORT_ZERO);
		return (admit_v4((const uint8_t *)&sin->sin_addr));
	case AF_INET6:
		if (sin6->sin6_port == 0)
			return (ADMIT_EP_PORT_ZERO);
		a6 = &sin6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6))
			return (admit_v4(a6->s6_addr + 12));
		if (IN6_IS_ADDR_UNSPECIFIED(a6))
			return (ADMIT_EP_UNSPECIFIED);
		if (IN6_IS_ADDR_LOOPBACK(a6))
			return (ADMIT_EP_LOOPBACK);
		if (a6->s6_addr[0] == V6_MULTICAST_NET)
			return (ADMIT_EP_MULTICAST);
		return (ADMIT_EP_OK);
	default:
		return (ADMIT_EP_FAMILY);
	}
}

int
peer_name_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > DISCO_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < NAME_CHAR_FIRST ||
		    (unsigned char)s[i] > NAME_CHAR_LAST)
			return (0);
	return (1);
}

/* bad_name: the field holds "" or a valid name, NUL-terminated. */
static int
name_field_ok(const char *name, size_t size)
{
	const char	*nul;

	if ((nul = memchr(name, '\0', size)) == NULL)
		return (0);
	return (nul == name || peer_name_valid(name, nul - name));
}

static int
prefix_shape_ok(const struct cidr *c)
{
	return ((c->af == AF_INET && c->plen <= V4_BITS) ||
	    (c->af == AF_INET6 && c->plen <= V6_BITS));
}

/* outside_subnet, for a masked prefix of a good shape. */
static int
in_mesh(const struct admit *a, const struct cidr *c)
{
	struct cidr	 net;

	if (a->subnet.af != 0)
		return (cidr_contains(&a->subnet, c));
	if (a->address.af == 0)
		return (0);
	if (c->plen != (c->af == AF_INET ? V4_BITS : V6_BITS))
		return (0);
	net = a->address;
	cidr_mask(&net);
	return (cidr_contains(&net, c));
}

struct owned_query {
	const struct admit	*a;
	struct cidr		*owner;
};

static int
owned_hit(void *arg, void *peer, int family, const uint8_t *addr,
    unsigned int plen)
{
	struct owned_query	*q = arg;

	if (!q->a->owner_static(q->a->arg, peer))
		return (0);
	memset(q->owner, 0, sizeof(*q->owner));
	q->owner->af = family;
	memcpy(q->owner->addr, addr, family == AF_INET ? 4 : 16);
	q->owner->plen = (uint8_t)plen;
	return (1);
}

/* owned_prefix: 1 when c overlaps a prefix of a static peer. */
static int
owned(const struct admit *a, const struct cidr *c, struct cidr *owner)
{
	struct owned_query	 q;

	if (a->aip == NULL || a->owner_static == NULL)
		return (0);
	q.a = a;
	q.owner = owner;
	return (wg_aip_overlap(a->aip, c->af, c->addr, c->plen, owned_hit,
	    &q) == 1);
}

static enum admit_reason
admit_key(const struct admit *a, const uint8_t *key)
{
	if (!a->enabled)
		return (ADMIT_DISCOVERY_OFF);
	if (a->policy->self != NULL &&
	    memcmp(key, a->policy->self, WG_KEY_LEN) == 0)
		return (ADMIT_SELF);
	if (a->known == ADMIT_KEY_STATIC)
		return (ADMIT_STATIC_KEY);
	if (!policy_may_configure(a->policy, key))
		return (ADMIT_NOT_APPROVED);
	return (ADMIT_OK);
}

enum admit_reason
peer_admit(const struct admit *a, const struct disco_peer *in,
    struct disco_peer *out, struct admit_result *r)
{
	struct disco_peer	 dp;
	struct cidr		*c;
	enum admit_ep_reason	 why;
	uint32_t		 i, n;

	memset(r, 0, sizeof(*r));
	if (in->nendpoints > DISCO_ENDPOINTS_MAX ||
	    in->nallowed_ips > DISCO_AIPS_MAX)
		return (r->reason = ADMIT_MALFORMED);
	for (i = 0; i < in->nallowed_ips; i++) {
		if (!prefix_shape_ok(&in->allowed_ips[i])) {
			r->prefix = in->allowed_ips[i];
			return (r->reason = ADMIT_MALFORMED);
		}
	}
	if (!name_field_ok(in->name, sizeof(in->name)))
		return (r->reason = ADMIT_BAD_NAME);
	if ((r->reason = admit_key(a, in->public_key)) != ADMIT_OK)
		return (r->reason);

	dp = *in;
	for (i = 0; i < dp.nallowed_ips; i++) {
		c = &dp.allowed_ips[i];
		cidr_mask(c);
		r->prefix = *c;
		if (c->plen == 0)
			return (r->reason = ADMIT_DEFAULT_ROUTE);
		if (!in_mesh(a, c))
			return (r->reason = ADMIT_OUTSIDE_SUBNET);
		if (owned(a, c, &r->owner))
			return (r->reason = ADMIT_OWNED_PREFIX);
	}
	memset(&r->prefix, 0, sizeof(r->prefix));
	if (a->known == ADMIT_KEY_NEW && a->npeers >= a->max_peers)
		return (r->reason = ADMIT_MAX_PEERS);

	for (i = n = 0; i < dp.nendpoints; i++) {
		if ((why = admit_endpoint(&dp.endpoints[i])) != ADMIT_EP_OK) {
			r->dropped[why]++;
			r->ndropped++;
			continue;
		}
		if (n != i)
			dp.endpoints[n] = dp.endpoints[i];
		n++;
	}
	for (i = n; i < dp.nendpoints; i++)
		memset(&dp.endpoints[i], 0, sizeof(dp.endpoints[i]));
	dp.nendpoints = n;
	*out = dp;
	return (r->reason = ADMIT_OK);
}
