/*
 * Allowed IPs: a path-compressed binary trie per address family mapping
 * prefixes to an opaque peer, longest prefix wins.  Every node carries
 * its full (masked) key and prefix length; a node without a peer is a
 * branch point only.  A node's children have strictly longer prefixes,
 * so depth is at most 129 and the recursion below is bounded.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg.h"

#define WG_AIP_ADDR_MAX	16

/* The fields of an inner packet's header that wg_inner_check() reads. */
#define WG_IP_VERSION_SHIFT	4
#define WG_IP_VERSION_4		4
#define WG_IP_VERSION_6		6
#define WG_IPV4_HEADER_MIN	20
#define WG_IPV4_OFF_LEN		2	/* total length, be16 */
#define WG_IPV4_OFF_SRC		12
#define WG_IPV6_HEADER_LEN	40
#define WG_IPV6_OFF_LEN		4	/* payload length, be16 */
#define WG_IPV6_OFF_SRC		8

struct wg_aip_node {
	struct wg_aip_node	*child[2];
	struct wg_aip_node	*parent;
	void			*peer;		/* NULL: branch point */
	uint8_t			 key[WG_AIP_ADDR_MAX];
	uint8_t			 cidr;
};

static int
family_bits(int family, unsigned int *bits, struct wg_aip_node ***rootp,
    const struct wg_aip *t)
{
	switch (family) {
	case AF_INET:
		*bits = 32;
		if (rootp != NULL)
			*rootp = (struct wg_aip_node **)&t->root4;
		return (WG_OK);
	case AF_INET6:
		*bits = 128;
		if (rootp != NULL)
			*rootp = (struct wg_aip_node **)&t->root6;
		return (WG_OK);
	default:
		return (WG_EINVAL);
	}
}

static unsigned int
bit_at(const uint8_t *key, unsigned int i)
{
	return ((key[i / 8] >> (7 - i % 8)) & 1);
}

/* Zeroes the host bits beyond cidr. */
static void
mask(uint8_t *key, unsigned int cidr, unsigned int bits)
{
	unsigned int	 i;

	for (i = cidr; i < bits; i++)
		key[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

/* Number of leading bits a and b share, at most max. */
static unsigned int
common_bits(const uint8_t *a, const uint8_t *b, unsigned int max)
{
	unsigned int	 i = 0;
	uint8_t		 x;

	while (i + 8 <= max && a[i / 8] == b[i / 8])
		i += 8;
	if (i < max) {
		x = a[i / 8] ^ b[i / 8];
		while (i < max && !(x & (0x80 >> (i % 8))))
			i++;
	}
	return (i < max ? i : max);
}

static int
prefix_matches(const struct wg_aip_node *n, const uint8_t *addr)
{
	return (common_bits(n->key, addr, n->cidr) == n->cidr);
}

void
wg_aip_init(struct wg_aip *t, size_t max_nodes)
{
	memset(t, 0, sizeof(*t));
	t->max_nodes = max_nodes;
}

static void
free_tree(struct wg_aip_node *n)
{
	if (n == NULL)
		return;
	free_tree(n->child[0]);
	free_tree(n->child[1]);
	free(n);
}

void
wg_aip_clear(struct wg_aip *t)
{
	free_tree(t->root4);
	free_tree(t->root6);
	t->root4 = t->root6 = NULL;
	t->nodes = 0;
}

static struct wg_aip_node *
node_new(struct wg_aip *t, const uint8_t *key, unsigned int cidr,
    void *peer)
{
	struct wg_aip_node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return (NULL);
	memcpy(n->key, key, WG_AIP_ADDR_MAX);
	n->cidr = (uint8_t)cidr;
	n->peer = peer;
	t->nodes++;
	return (n);
}

/* The caller's bound on memory: room for n more nodes? */
static int
room(const struct wg_aip *t, size_t n)
{
	return (t->max_nodes == 0 || t->nodes + n <= t->max_nodes);
}

static void
set_child(struct wg_aip_node **slot, struct wg_aip_node *parent,
    struct wg_aip_node *n)
{
	*slot = n;
	if (n != NULL)
		n->parent = parent;
}

int
wg_aip_insert(struct wg_aip *t, int family, const uint8_t *addr,
    unsigned int cidr, void *peer)
{
	struct wg_aip_node	**slot, *n, *parent = NULL, *leaf, *branch;
	uint8_t			  key[WG_AIP_ADDR_MAX];
	unsigned int		  bits, common;

	if (peer == NULL || family_bits(family, &bits, &slot, t) != WG_OK ||
	    cidr > bits)
		return (WG_EINVAL);
	memset(key, 0, sizeof(key));
	memcpy(key, addr, bits / 8);
	mask(key, cidr, bits);

	while ((n = *slot) != NULL) {
		common = common_bits(n->key, key,
		    n->cidr < cidr ? n->cidr : cidr);
		if (common == n->cidr && n->cidr == cidr) {
			/* Same prefix: the new owner replaces the old. */
			n->peer = peer;
			return (WG_OK);
		}
		if (common == n->cidr) {
			/* n covers the new prefix: descend. */
			parent = n;
			slot = &n->child[bit_at(key, n->cidr)];
			continue;
		}
		/* A leaf, and a branch point unless one covers the other. */
		if (!room(t, common == cidr ? 1 : 2))
			return (WG_ELIMIT);
		if ((leaf = node_new(t, key, cidr, peer)) == NULL)
			return (WG_ENOMEM);
		if (common == cidr) {
			/* The new prefix covers n: put it above. */
			set_child(slot, parent, leaf);
			set_child(&leaf->child[bit_at(n->key, cidr)], leaf, n);
			return (WG_OK);
		}
		/* They diverge at bit `common': a branch point for both. */
		if ((branch = node_new(t, key, common, NULL)) == NULL) {
			free(leaf);
			t->nodes--;
			return (WG_ENOMEM);
		}
		mask(branch->key, common, bits);
		set_child(slot, parent, branch);
		set_child(&branch->child[bit_at(key, common)], branch, leaf);
		set_child(&branch->child[bit_at(n->key, common)], branch, n);
		return (WG_OK);
	}
	if (!room(t, 1))
		return (WG_ELIMIT);
	if ((leaf = node_new(t, key, cidr, peer)) == NULL)
		return (WG_ENOMEM);
	set_child(slot, parent, leaf);
	return (WG_OK);
}

/* The slot that points at n. */
static struct wg_aip_node **
slot_of(struct wg_aip *t, struct wg_aip_node *n)
{
	struct wg_aip_node	*p = n->parent;

	if (p != NULL)
		return (&p->child[p->child[1] == n]);
	return (t->root4 == n ? &t->root4 : &t->root6);
}

/* Removes peer-less nodes with fewer than two children, upwards. */
static void
compact_up(struct wg_aip *t, struct wg_aip_node *n)
{
	struct wg_aip_node	*child, *parent;

	while (n != NULL && n->peer == NULL &&
	    (n->child[0] == NULL || n->child[1] == NULL)) {
		child = n->child[0] != NULL ? n->child[0] : n->child[1];
		parent = n->parent;
		set_child(slot_of(t, n), parent, child);
		free(n);
		t->nodes--;
		/* The parent lost a child only if n had none to give it. */
		if (child != NULL)
			break;
		n = parent;
	}
}

int
wg_aip_remove(struct wg_aip *t, int family, const uint8_t *addr,
    unsigned int cidr, void *peer)
{
	struct wg_aip_node	**slot, *n;
	uint8_t			  key[WG_AIP_ADDR_MAX];
	unsigned int		  bits;

	if (family_bits(family, &bits, &slot, t) != WG_OK || cidr > bits)
		return (WG_EINVAL);
	memset(key, 0, sizeof(key));
	memcpy(key, addr, bits / 8);
	mask(key, cidr, bits);
	for (n = *slot; n != NULL && n->cidr <= cidr;
	    n = n->cidr < cidr ? n->child[bit_at(key, n->cidr)] : NULL) {
		if (!prefix_matches(n, key))
			break;
		if (n->cidr == cidr) {
			if (n->peer == NULL || (peer != NULL && n->peer != peer))
				break;
			n->peer = NULL;
			compact_up(t, n);
			return (WG_OK);
		}
	}
	return (WG_ENOENT);
}

/* Post-order: children first, so a parent sees its final children. */
static void
remove_peer(struct wg_aip *t, struct wg_aip_node *n, void *peer)
{
	if (n == NULL)
		return;
	remove_peer(t, n->child[0], peer);
	remove_peer(t, n->child[1], peer);
	if (n->peer == peer)
		n->peer = NULL;
	if (n->peer == NULL && (n->child[0] == NULL || n->child[1] == NULL)) {
		struct wg_aip_node	*child;

		child = n->child[0] != NULL ? n->child[0] : n->child[1];
		set_child(slot_of(t, n), n->parent, child);
		free(n);
		t->nodes--;
	}
}

void
wg_aip_remove_peer(struct wg_aip *t, void *peer)
{
	if (peer == NULL)
		return;
	remove_peer(t, t->root4, peer);
	remove_peer(t, t->root6, peer);
}

void *
wg_aip_lookup(const struct wg_aip *t, int family, const uint8_t *addr)
{
	const struct wg_aip_node	*n;
	struct wg_aip_node		**rootp;
	void				*best = NULL;
	unsigned int			 bits;

	if (family_bits(family, &bits, &rootp, t) != WG_OK)
		return (NULL);
	for (n = *rootp; n != NULL && prefix_matches(n, addr);
	    n = n->child[bit_at(addr, n->cidr)]) {
		if (n->peer != NULL)
			best = n->peer;
		if (n->cidr == bits)
			break;
	}
	return (best);
}

static int
walk(const struct wg_aip_node *n, int family, void *peer,
    wg_aip_walk_fn *fn, void *arg)
{
	int	 rc;

	if (n == NULL)
		return (0);
	if (n->peer == peer && (rc = fn(arg, family, n->key, n->cidr)) != 0)
		return (rc);
	if ((rc = walk(n->child[0], family, peer, fn, arg)) != 0)
		return (rc);
	return (walk(n->child[1], family, peer, fn, arg));
}

int
wg_aip_walk(const struct wg_aip *t, void *peer, wg_aip_walk_fn *fn,
    void *arg)
{
	int	 rc;

	if (peer == NULL)
		return (0);
	if ((rc = walk(t->root4, AF_INET, peer, fn, arg)) != 0)
		return (rc);
	return (walk(t->root6, AF_INET6, peer, fn, arg));
}

/* Every owned node of n's subtree, n included. */
static int
overlap_all(const struct wg_aip_node *n, int family, wg_aip_overlap_fn *fn,
    void *arg)
{
	int	 rc;

	if (n == NULL)
		return (0);
	if (n->peer != NULL &&
	    (rc = fn(arg, n->peer, family, n->key, n->cidr)) != 0)
		return (rc);
	if ((rc = overlap_all(n->child[0], family, fn, arg)) != 0)
		return (rc);
	return (overlap_all(n->child[1], family, fn, arg));
}

/*
 * Down the path of addr/cidr: the nodes above it that match cover it
 * (or equal it); the first node at or below its length that matches
 * heads a subtree lying wholly inside it.  A node that does not match
 * ends the search: nothing below it can overlap.
 */
int
wg_aip_overlap(const struct wg_aip *t, int family, const uint8_t *addr,
    unsigned int cidr, wg_aip_overlap_fn *fn, void *arg)
{
	const struct wg_aip_node	*n;
	struct wg_aip_node		**rootp;
	uint8_t				  key[WG_AIP_ADDR_MAX];
	unsigned int			  bits;
	int				  rc;

	if (family_bits(family, &bits, &rootp, t) != WG_OK || cidr > bits)
		return (WG_EINVAL);
	memset(key, 0, sizeof(key));
	memcpy(key, addr, bits / 8);
	mask(key, cidr, bits);
	for (n = *rootp; n != NULL; n = n->child[bit_at(key, n->cidr)]) {
		if (n->cidr >= cidr) {
			if (common_bits(n->key, key, cidr) != cidr)
				return (0);
			return (overlap_all(n, family, fn, arg));
		}
		if (!prefix_matches(n, key))
			return (0);
		if (n->peer != NULL &&
		    (rc = fn(arg, n->peer, family, n->key, n->cidr)) != 0)
			return (rc);
	}
	return (0);
}

enum wg_inner
wg_inner_check(const struct wg_aip *t, const void *peer, const uint8_t *pkt,
    size_t plen, size_t *len)
{
	const uint8_t	*src;
	size_t		 l;
	int		 af;

	if (plen >= WG_IPV4_HEADER_MIN && pkt[0] >> WG_IP_VERSION_SHIFT ==
	    WG_IP_VERSION_4) {
		l = (size_t)pkt[WG_IPV4_OFF_LEN] << 8 |
		    pkt[WG_IPV4_OFF_LEN + 1];
		af = AF_INET;
		src = pkt + WG_IPV4_OFF_SRC;
	} else if (plen >= WG_IPV6_HEADER_LEN && pkt[0] >>
	    WG_IP_VERSION_SHIFT == WG_IP_VERSION_6) {
		l = WG_IPV6_HEADER_LEN + ((size_t)pkt[WG_IPV6_OFF_LEN] << 8 |
		    pkt[WG_IPV6_OFF_LEN + 1]);
		af = AF_INET6;
		src = pkt + WG_IPV6_OFF_SRC;
	} else
		return (WG_INNER_MALFORMED);
	/* The kernel's test: the header's length, within what came. */
	if (l > plen || l < WG_IPV4_HEADER_MIN)
		return (WG_INNER_MALFORMED);
	if (wg_aip_lookup(t, af, src) != peer)
		return (WG_INNER_NOT_ALLOWED);
	*len = l;
	return (WG_INNER_OK);
}
