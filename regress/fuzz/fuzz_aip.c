/*
 * The allowed-IPs trie (lib/wg_allowedips.c) against a naive model: a
 * list of (prefix, owner) searched in full for the longest match.  The
 * input is a program of inserts, removes (by prefix, by prefix and
 * owner, by owner), lookups, walks and overlap queries on both address
 * families, with addresses drawn from a small pool so that prefixes
 * nest and collide.  Every answer must be the model's; a refused insert
 * (the node limit) changes nothing; the trie keeps no more than two
 * nodes per prefix and none once it is empty.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include "wg.h"
#include "fuzz.h"

#define ADDR_MAX	16
#define POOL		4
#define NPEERS		4
#define ENTRIES_MAX	512
#define OPS_MAX		1024
#define LIMIT_MAX	32	/* max_nodes when the input sets one */

enum op {
	OP_INSERT,
	OP_REMOVE,
	OP_REMOVE_PEER,
	OP_LOOKUP,
	OP_WALK,
	OP_OVERLAP,
	OP_MAX
};

struct entry {
	int		 family;
	uint8_t		 key[ADDR_MAX];
	unsigned int	 cidr;
	void		*peer;
};

struct model {
	struct entry	 e[ENTRIES_MAX];
	size_t		 n;
};

/* What a walk or an overlap query reported, in order. */
struct report {
	struct entry	 e[ENTRIES_MAX];
	size_t		 n;
	size_t		 stop;		/* the call that stops it; 0: none */
	void		*peer;		/* walk: whose */
};

static char	 peers[NPEERS];

static struct entry *
model_find(struct model *m, int family, const uint8_t *key,
    unsigned int cidr)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].family == family && m->e[i].cidr == cidr &&
		    memcmp(m->e[i].key, key, ADDR_MAX) == 0)
			return (&m->e[i]);
	return (NULL);
}

static void
model_drop(struct model *m, struct entry *e)
{
	*e = m->e[--m->n];
}

static void *
model_lookup(const struct model *m, int family, const uint8_t *addr)
{
	const struct entry	*best = NULL;
	size_t			 i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].family == family &&
		    fz_covers(m->e[i].key, addr, m->e[i].cidr) &&
		    (best == NULL || m->e[i].cidr > best->cidr))
			best = &m->e[i];
	return (best != NULL ? best->peer : NULL);
}

static int
record(struct report *r, void *peer, int family, const uint8_t *key,
    unsigned int cidr)
{
	struct entry	*e;

	FZ_CHECK(r->n < ENTRIES_MAX);
	e = &r->e[r->n++];
	memset(e, 0, sizeof(*e));
	e->family = family;
	memcpy(e->key, key, family == AF_INET ? 4 : ADDR_MAX);
	e->cidr = cidr;
	e->peer = peer;
	return (r->stop != 0 && r->n == r->stop);
}

static int
walk_cb(void *arg, int family, const uint8_t *key, unsigned int cidr)
{
	struct report	*r = arg;

	return (record(r, r->peer, family, key, cidr));
}

static int
overlap_cb(void *arg, void *peer, int family, const uint8_t *key,
    unsigned int cidr)
{
	return (record(arg, peer, family, key, cidr));
}

/* Each reported entry is in the model, once, with its owner. */
static void
check_reported(struct model *m, const struct report *r)
{
	struct entry	*e;
	size_t		 i, j;

	for (i = 0; i < r->n; i++) {
		e = model_find(m, r->e[i].family, r->e[i].key, r->e[i].cidr);
		FZ_CHECK(e != NULL && e->peer == r->e[i].peer);
		for (j = 0; j < i; j++)
			FZ_CHECK(r->e[j].family != r->e[i].family ||
			    r->e[j].cidr != r->e[i].cidr ||
			    memcmp(r->e[j].key, r->e[i].key, ADDR_MAX) != 0);
	}
}

static void
check_walk(struct model *m, const struct wg_aip *t, void *peer, size_t stop)
{
	static struct report	 r;
	size_t			 i, want = 0;
	int			 rc;

	memset(&r, 0, sizeof(r));
	r.peer = peer;
	r.stop = stop;
	rc = wg_aip_walk(t, peer, walk_cb, &r);
	check_reported(m, &r);
	for (i = 0; i < m->n; i++)
		if (m->e[i].peer == peer)
			want++;
	if (stop != 0 && stop <= want) {
		FZ_CHECK(rc == 1 && r.n == stop);
	} else {
		FZ_CHECK(rc == 0 && r.n == want);
	}
}

static void
check_overlap(struct model *m, const struct wg_aip *t, int family,
    const uint8_t *key, unsigned int cidr, size_t stop)
{
	static struct report	 r;
	const struct entry	*e;
	size_t			 i, want = 0;
	unsigned int		 last = 0;
	int			 rc, inside = 0;

	memset(&r, 0, sizeof(r));
	r.stop = stop;
	rc = wg_aip_overlap(t, family, key, cidr, overlap_cb, &r);
	check_reported(m, &r);
	for (i = 0; i < m->n; i++) {
		e = &m->e[i];
		if (e->family == family && fz_covers(e->key, key,
		    e->cidr < cidr ? e->cidr : cidr))
			want++;
	}
	for (i = 0; i < r.n; i++) {
		e = &r.e[i];
		FZ_CHECK(fz_covers(e->key, key, e->cidr < cidr ? e->cidr :
		    cidr));
		/* Covering ones first, shortest first, then the rest. */
		if (e->cidr < cidr) {
			FZ_CHECK(!inside && (i == 0 || e->cidr > last));
			last = e->cidr;
		} else
			inside = 1;
	}
	if (stop != 0 && stop <= want) {
		FZ_CHECK(rc == 1 && r.n == stop);
	} else {
		FZ_CHECK(rc == 0 && r.n == want);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model	 m;
	struct wg_aip		 t;
	struct entry		*e;
	struct fz		 f;
	uint8_t			 pool[POOL][ADDR_MAX], key[ADDR_MAX], b;
	unsigned int		 bits, cidr;
	size_t			 ops, stop;
	void			*peer;
	int			 family, rc;

	fz_init(&f, data, size);
	memset(&m, 0, sizeof(m));
	b = fz_u8(&f);
	wg_aip_init(&t, (b & 0x80) ? b % LIMIT_MAX + 1 : 0);
	fz_copy(&f, pool, sizeof(pool));

	for (ops = 0; ops < OPS_MAX && f.left > 0; ops++) {
		b = fz_u8(&f);
		family = (b & 0x80) ? AF_INET6 : AF_INET;
		bits = fz_family_bits(family);
		/* A pool address, one bit flipped where the input says. */
		memcpy(key, pool[(b >> 4) % POOL], ADDR_MAX);
		cidr = fz_u8(&f);
		if (cidr & 0x80)
			key[(cidr % bits) / 8] ^= 0x80 >> (cidr % 8);
		cidr = fz_u8(&f) % (bits + 2);
		peer = &peers[fz_u8(&f) % NPEERS];
		if (family == AF_INET)
			memset(key + 4, 0, ADDR_MAX - 4);
		switch ((b & 0x0f) % OP_MAX) {
		case OP_INSERT:
			rc = wg_aip_insert(&t, family, key, cidr, peer);
			if (cidr > bits) {
				FZ_CHECK(rc == WG_EINVAL);
				break;
			}
			fz_mask(key, cidr, bits);
			if ((e = model_find(&m, family, key, cidr)) != NULL) {
				FZ_CHECK(rc == WG_OK);
				e->peer = peer;
				break;
			}
			FZ_CHECK(rc == WG_OK || rc == WG_ELIMIT);
			if (rc == WG_ELIMIT) {
				FZ_CHECK(t.max_nodes != 0);
				break;
			}
			FZ_CHECK(m.n < ENTRIES_MAX);
			e = &m.e[m.n++];
			e->family = family;
			memcpy(e->key, key, ADDR_MAX);
			e->cidr = cidr;
			e->peer = peer;
			break;
		case OP_REMOVE:
			/* Half the time by prefix only (NULL owner). */
			if (fz_u8(&f) & 1)
				peer = NULL;
			rc = wg_aip_remove(&t, family, key, cidr, peer);
			if (cidr > bits) {
				FZ_CHECK(rc == WG_EINVAL);
				break;
			}
			fz_mask(key, cidr, bits);
			e = model_find(&m, family, key, cidr);
			if (e != NULL && (peer == NULL || e->peer == peer)) {
				FZ_CHECK(rc == WG_OK);
				model_drop(&m, e);
			} else
				FZ_CHECK(rc == WG_ENOENT);
			break;
		case OP_REMOVE_PEER:
			wg_aip_remove_peer(&t, peer);
			for (e = m.e; e < m.e + m.n; ) {
				if (e->peer == peer)
					model_drop(&m, e);
				else
					e++;
			}
			break;
		case OP_LOOKUP:
			/* Unmasked: the host bits are the point here. */
			FZ_CHECK(wg_aip_lookup(&t, family, key) ==
			    model_lookup(&m, family, key));
			break;
		case OP_WALK:
			stop = fz_u8(&f) % 8;
			check_walk(&m, &t, peer, stop);
			break;
		default:
			stop = fz_u8(&f) % 8;
			if (cidr > bits) {
				FZ_CHECK(wg_aip_overlap(&t, family, key, cidr,
				    overlap_cb, NULL) == WG_EINVAL);
				break;
			}
			fz_mask(key, cidr, bits);
			check_overlap(&m, &t, family, key, cidr, stop);
			break;
		}
		/* Path compression: a branch point only where two meet. */
		FZ_CHECK(t.nodes <= 2 * m.n);
		if (m.n == 0)
			FZ_CHECK(t.nodes == 0);
		if (t.max_nodes != 0)
			FZ_CHECK(t.nodes <= t.max_nodes);
	}
	/* Lookups of every pool address, both families, at the end. */
	for (b = 0; b < POOL; b++) {
		FZ_CHECK(wg_aip_lookup(&t, AF_INET, pool[b]) ==
		    model_lookup(&m, AF_INET, pool[b]));
		FZ_CHECK(wg_aip_lookup(&t, AF_INET6, pool[b]) ==
		    model_lookup(&m, AF_INET6, pool[b]));
	}
	wg_aip_clear(&t);
	return (0);
}
