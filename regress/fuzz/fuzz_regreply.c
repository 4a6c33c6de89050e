/*
 * The registry's peer list as cbdiscod reads it (reg_parse_peers in
 * cbdiscod/registry.c, compiled in with empty versions of the daemon's own
 * callbacks): an arbitrary reply body under a mesh subnet the input
 * picks.  Whatever is accepted is bounded and well formed, and every
 * prefix of every accepted peer lies inside the subnet, its own
 * address included when it is the fallback host route; an entry is
 * either taken or counted as bad; and with a subnet, what cbdiscod
 * would send the parent passes the parent's own check (peer_admit)
 * but for the refusals that are policy, not shape.  Entries carry
 * registry tokens (HS256 under the secret below, mesh FZ_MESH): an
 * accepted one's token names its key and our mesh and grants each of
 * its prefixes.
 *
 * Input: a subnet selector byte (none, IPv4, IPv6, or 17 bytes of the
 * input's own), then the body.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "peeradmit.h"
#include "cbdiscod.h"
#include "disco_hooks.h"
#include "fuzz.h"
#include "registry.h"

#define SUBNET_KINDS	4
#define ADDR_BYTES	16
#define MAX_PEERS_BIG	UINT32_MAX
#define KEEPALIVE_SECS	25
#define SELF_KEY_BYTE	0xee	/* our key: no registry entry has it */
#define FZ_MESH		"fuzz-mesh"	/* mkcorpus.py's tokens name it */
#define FZ_HS_SECRET	"0123456789abcdef0123456789abcdef-hs256-fuzz-secret"

static void
pick_subnet(struct fz *f, struct cidr *c)
{
	uint8_t	 sel = fz_u8(f);

	memset(c, 0, sizeof(*c));
	switch (sel % SUBNET_KINDS) {
	case 0:
		break;
	case 1:
		(void)cidr_parse("10.77.0.0/16", c);
		break;
	case 2:
		(void)cidr_parse("fd77:1::/48", c);
		break;
	default:
		c->af = (sel & 0x80) ? AF_INET6 : AF_INET;
		fz_copy(f, c->addr, ADDR_BYTES);
		c->plen = fz_u8(f) % ((c->af == AF_INET ? FZ_V4_BITS :
		    FZ_V6_BITS) + 1);
		if (c->af == AF_INET)
			memset(c->addr + 4, 0, ADDR_BYTES - 4);
		cidr_mask(c);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct disco	 d;
	static const uint8_t	 self[WG_KEY_LEN] = { SELF_KEY_BYTE };
	struct reg_peer		*list;
	struct disco_peer	*dp, out;
	struct admit		 a;
	struct admit_result	 ar;
	struct policy		 pol;
	struct fz		 f;
	struct cidr		 m;
	json_t			*j;
	uint64_t		 version;
	size_t			 n, i, k;
	enum admit_reason	 why;
	char			*body;

	fz_init(&f, data, size);
	memset(&d, 0, sizeof(d));
	pick_subnet(&f, &d.conf.subnet);
	d.conf.keepalive = KEEPALIVE_SECS;
	d.conf.verify_alg = KEYALG_HS256;
	d.key = (unsigned char *)FZ_HS_SECRET;
	d.keylen = sizeof(FZ_HS_SECRET) - 1;
	strlcpy(d.mesh, FZ_MESH, sizeof(d.mesh));
	body = (char *)fz_dup(f.p, f.left);

	if (reg_parse_peers(&d, body, f.left, &list, &n, &version) == -1) {
		FZ_CHECK(list == NULL && n == 0);
		free(body);
		return (0);
	}
	FZ_CHECK(list != NULL);
	FZ_CHECK(version <= UINT64_MAX >> 1);
	FZ_CHECK(n <= REG_PEERS_MAX);
	/* Each entry is taken or counted. */
	j = json_loadb(body, f.left, JSON_REJECT_DUPLICATES, NULL);
	FZ_CHECK(j != NULL);
	FZ_CHECK(json_array_size(json_object_get(j, "peers")) ==
	    n + d.bad_entries + d.untrusted);
	FZ_CHECK(d.nrefused == d.untrusted);
	json_decref(j);

	memset(&pol, 0, sizeof(pol));
	pol.self = self;
	pol.auto_approve = 1;
	pol.max_peers = MAX_PEERS_BIG;
	memset(&a, 0, sizeof(a));
	a.enabled = 1;
	a.subnet = d.conf.subnet;
	a.policy = &pol;
	a.max_peers = MAX_PEERS_BIG;
	a.known = ADMIT_KEY_NEW;

	for (i = 0; i < n; i++) {
		dp = &list[i].dp;
		FZ_CHECK(memcmp(dp->public_key, list[i].public_key,
		    WG_KEY_LEN) == 0);
		FZ_CHECK(dp->nendpoints <= DISCO_ENDPOINTS_MAX);
		for (k = 0; k < dp->nendpoints; k++)
			FZ_CHECK(dp->endpoints[k].ss_family == AF_INET ||
			    dp->endpoints[k].ss_family == AF_INET6);
		FZ_CHECK(dp->nallowed_ips >= 1 &&
		    dp->nallowed_ips <= DISCO_AIPS_MAX);
		/* The issuer vouched for it: key, mesh, each prefix. */
		FZ_CHECK(memcmp(list[i].rt.public_key, dp->public_key,
		    WG_KEY_LEN) == 0);
		FZ_CHECK(strcmp(list[i].rt.mesh, FZ_MESH) == 0);
		for (k = 0; k < dp->nallowed_ips; k++)
			FZ_CHECK(!list[i].rt.has_allowed_ips ||
			    reg_grants_prefix(&list[i].rt,
			    &dp->allowed_ips[k], &dp->allowed_ips[k]));
		for (k = 0; k < dp->nallowed_ips; k++) {
			m = dp->allowed_ips[k];
			cidr_mask(&m);
			FZ_CHECK(memcmp(&m, &dp->allowed_ips[k],
			    sizeof(m)) == 0);
			/* The invariant: nothing outside the mesh. */
			if (d.conf.subnet.af != 0)
				FZ_CHECK(cidr_contains(&d.conf.subnet,
				    &dp->allowed_ips[k]));
		}
		FZ_CHECK(dp->name[0] == '\0' ||
		    peer_name_valid(dp->name, strlen(dp->name)));
		FZ_CHECK(dp->nat >= 0 && dp->nat < NAT_MAP_MAX);
		FZ_CHECK(dp->keepalive == d.conf.keepalive);
		if (d.conf.subnet.af == 0)
			continue;
		/* The parent takes it, unless it is a default route. */
		why = peer_admit(&a, dp, &out, &ar);
		FZ_CHECK(why == ADMIT_OK || why == ADMIT_DEFAULT_ROUTE ||
		    (why == ADMIT_SELF && memcmp(dp->public_key, self,
		    WG_KEY_LEN) == 0));
	}
	free(list);
	free(body);
	free(d.refused);
	return (0);
}
