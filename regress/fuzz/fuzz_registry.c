/*
 * The edge registry (lib/registry.c) as cbedged drives it: a program of
 * register, heartbeat, leave, list and expiry requests with arbitrary
 * bodies, from nodes holding a handful of verified registry tokens
 * (with and without an address and allowed-IPs grant, in two meshes),
 * on a clock the input moves.  Invariants:
 *
 *  - a refused request changes nothing anyone can see;
 *  - who is registered is what a model of registrations, heartbeats,
 *    leaves and the TTL says; the limits refuse only when they are hit;
 *  - every node listed claims only what its token grants (its address,
 *    prefixes inside the grant, or its own address as a host route);
 *  - versions only grow, a reply names the mesh's current one, and the
 *    change callback sees the state it announces.
 *
 * Input: a limits byte, then requests, each an operation byte, a token
 * byte, a be16 clock step in ms, a be16 body length and the body.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry.h"
#include "fuzz.h"

#define NTOK		5
#define NMESH		2
#define OPS_MAX		64
#define TTL_SEC		3
#define MS_PER_SEC	1000
#define WATCH_KEY_BYTE	0xee	/* no token has this key */
#define FZ_JWT		"h.p.s"	/* what the registry keeps and lists */

enum op {
	OP_REGISTER,
	OP_HEARTBEAT,
	OP_LEAVE,
	OP_PEERS,
	OP_EXPIRE,
	OP_MAX
};

static const char *const meshes[NMESH] = { "mesh-a", "mesh-b" };
static struct regtoken	 toks[NTOK];
static int		 tok_mesh[NTOK] = { 0, 0, 0, 0, 1 };
/* Keys no node has: they list a whole mesh. */
static struct regtoken	 watch[NMESH];

struct state {
	struct registry	*reg;
	int		 present[NTOK];
	uint64_t	 seen[NTOK];
	uint64_t	 version[NMESH];
	int		 changes;
};

static void
grant(struct regtoken *t, const char *addr, const char *const *aips,
    size_t n)
{
	size_t	 i;

	if (addr != NULL) {
		if (cidr_parse(addr, &t->address) == -1)
			abort();
		t->has_address = 1;
	}
	if (aips == NULL)
		return;
	for (i = 0; i < n; i++)
		if (cidr_parse(aips[i], &t->allowed_ips[i]) == -1 ||
		    cidr_mask(&t->allowed_ips[i]) == -1)
			abort();
	t->nallowed_ips = n;
	t->has_allowed_ips = 1;
}

static void
setup(void)
{
	static const char *const a0[] = { "10.99.0.0/24", "fd99::/64" };
	static const char *const a3[] = { "10.99.0.4/32" };
	static const char *const a4[] = { "0.0.0.0/0", "::/0" };
	size_t	 i;

	for (i = 0; i < NTOK; i++) {
		memset(&toks[i], 0, sizeof(toks[i]));
		memset(toks[i].public_key, (int)i + 1, WG_KEY_LEN);
		strlcpy(toks[i].mesh, meshes[tok_mesh[i]],
		    sizeof(toks[i].mesh));
	}
	grant(&toks[0], "10.99.0.1/24", a0, nitems(a0));
	/* toks[1]: no claims at all, so only its own address as a host. */
	grant(&toks[2], "10.99.0.3/24", NULL, 0);
	grant(&toks[3], NULL, a3, nitems(a3));
	grant(&toks[4], NULL, a4, nitems(a4));
	for (i = 0; i < NMESH; i++) {
		memset(&watch[i], 0, sizeof(watch[i]));
		memset(watch[i].public_key, WATCH_KEY_BYTE, WG_KEY_LEN);
		strlcpy(watch[i].mesh, meshes[i], sizeof(watch[i].mesh));
	}
}

static void
changed(const char *mesh, uint64_t version, void *arg)
{
	struct state	*s = arg;

	FZ_CHECK(registry_version(s->reg, mesh) == version);
	s->changes++;
}

static int
token_of(const uint8_t *key)
{
	int	 i;

	for (i = 0; i < NTOK; i++)
		if (memcmp(toks[i].public_key, key, WG_KEY_LEN) == 0)
			return (i);
	return (-1);
}

/* A listed node claims only what its token lets it. */
static void
check_node(json_t *e, int mesh)
{
	const struct regtoken	*t;
	struct cidr		 addr, c, host;
	uint8_t			 key[WG_KEY_LEN];
	json_t			*v;
	size_t			 i, j;
	int			 k, inside;

	FZ_CHECK(wgkey_from_b64(key, json_string_value(json_object_get(e,
	    "public_key"))) == 0);
	FZ_CHECK((k = token_of(key)) != -1);
	t = &toks[k];
	FZ_CHECK(tok_mesh[k] == mesh);
	FZ_CHECK(cidr_parse(json_string_value(json_object_get(e, "address")),
	    &addr) == 0);
	if (t->has_address)
		FZ_CHECK(memcmp(&addr, &t->address, sizeof(addr)) == 0);
	host = t->has_address ? t->address : addr;
	host.plen = host.af == AF_INET ? FZ_V4_BITS : FZ_V6_BITS;
	json_array_foreach(json_object_get(e, "allowed_ips"), i, v) {
		FZ_CHECK(cidr_parse(json_string_value(v), &c) == 0);
		if (!t->has_allowed_ips) {
			FZ_CHECK(cidr_contains(&host, &c));
			continue;
		}
		for (inside = 0, j = 0; j < t->nallowed_ips; j++)
			inside |= cidr_contains(&t->allowed_ips[j], &c);
		FZ_CHECK(inside);
	}
}

/* What everyone sees: each mesh listed whole, as text. */
static char *
snapshot(struct state *s)
{
	json_t	*all, *l;
	char	*dump;
	size_t	 i;
	int	 in[NTOK] = { 0 };
	json_t	*e;
	uint8_t	 key[WG_KEY_LEN];
	size_t	 j, listed = 0;

	if ((all = json_array()) == NULL)
		abort();
	for (i = 0; i < NMESH; i++) {
		FZ_CHECK((l = registry_peers(s->reg, &watch[i])) != NULL);
		json_array_foreach(json_object_get(l, "peers"), j, e) {
			check_node(e, (int)i);
			FZ_CHECK(wgkey_from_b64(key, json_string_value(
			    json_object_get(e, "public_key"))) == 0);
			in[token_of(key)] = 1;
			listed++;
		}
		/* Versions only grow. */
		FZ_CHECK(registry_version(s->reg, meshes[i]) >=
		    s->version[i]);
		s->version[i] = registry_version(s->reg, meshes[i]);
		json_array_append_new(all, l);
	}
	for (i = 0; i < NTOK; i++)
		FZ_CHECK(in[i] == s->present[i]);
	FZ_CHECK(registry_nodes(s->reg) == listed);
	if ((dump = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
		abort();
	json_decref(all);
	return (dump);
}

static size_t
mesh_count(const struct state *s, int mesh)
{
	size_t	 i, n = 0;

	for (i = 0; i < NTOK; i++)
		n += s->present[i] && tok_mesh[i] == mesh;
	return (n);
}

static size_t
meshes_used(const struct state *s)
{
	return ((mesh_count(s, 0) > 0) + (mesh_count(s, 1) > 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reg_limits	 lim;
	struct state		 s;
	struct fz		 f;
	json_t			*reply;
	char			 err[REG_ERR_MAX], *before, *after;
	const char		*body;
	uint64_t		 now = 0;
	size_t			 ops, blen, i;
	enum reg_reason		 r;
	uint8_t			 b;
	int			 t, op;

	if (toks[0].mesh[0] == '\0')
		setup();
	fz_init(&f, data, size);
	b = fz_u8(&f);
	lim.ttl = TTL_SEC;
	lim.max_peers_per_mesh = (b & 0x0f) % NTOK + 1;
	lim.max_meshes = (b >> 4) % NMESH + 1;
	memset(&s, 0, sizeof(s));
	if ((s.reg = registry_new(&lim, changed, &s)) == NULL)
		abort();

	for (ops = 0; ops < OPS_MAX && f.left > 0; ops++) {
		op = fz_u8(&f) % OP_MAX;
		t = fz_u8(&f) % NTOK;
		now += fz_u16(&f);
		body = (const char *)fz_take(&f, fz_u16(&f), &blen);
		before = snapshot(&s);
		reply = NULL;
		err[0] = '\0';
		switch (op) {
		case OP_REGISTER:
			r = registry_register(s.reg, &toks[t], FZ_JWT,
			    sizeof(FZ_JWT) - 1, body, blen, now, &reply, err,
			    sizeof(err));
			if (r == REG_MESH_FULL)
				FZ_CHECK(!s.present[t] && mesh_count(&s,
				    tok_mesh[t]) >= lim.max_peers_per_mesh);
			if (r == REG_MESHES_FULL)
				FZ_CHECK(mesh_count(&s, tok_mesh[t]) == 0 &&
				    meshes_used(&s) >= lim.max_meshes);
			if (r == REG_OK) {
				s.present[t] = 1;
				s.seen[t] = now;
			}
			break;
		case OP_HEARTBEAT:
			r = registry_heartbeat(s.reg, &toks[t], body, blen,
			    now, &reply, err, sizeof(err));
			if (r == REG_NOT_REGISTERED)
				FZ_CHECK(!s.present[t]);
			if (r == REG_OK) {
				FZ_CHECK(s.present[t]);
				s.seen[t] = now;
			}
			break;
		case OP_LEAVE:
			r = registry_leave(s.reg, &toks[t], &reply, err,
			    sizeof(err));
			FZ_CHECK(r == REG_OK);
			s.present[t] = 0;
			break;
		case OP_PEERS:
			reply = registry_peers(s.reg, &toks[t]);
			FZ_CHECK(reply != NULL);
			FZ_CHECK(json_array_size(json_object_get(reply,
			    "peers")) == mesh_count(&s, tok_mesh[t]) -
			    s.present[t]);
			r = REG_OK;
			break;
		default:
			registry_expire(s.reg, now);
			for (i = 0; i < NTOK; i++)
				if (s.present[i] && now - s.seen[i] >=
				    (uint64_t)TTL_SEC * MS_PER_SEC)
					s.present[i] = 0;
			r = REG_OK;
			break;
		}
		if (r == REG_OK && op != OP_EXPIRE) {
			FZ_CHECK(reply != NULL);
			FZ_CHECK((uint64_t)json_integer_value(json_object_get(
			    reply, "version")) == registry_version(s.reg,
			    meshes[tok_mesh[t]]));
		} else if (r != REG_OK) {
			FZ_CHECK(reply == NULL);
			FZ_CHECK(err[0] != '\0');
		}
		json_decref(reply);
		after = snapshot(&s);
		if (r != REG_OK)
			FZ_CHECK(strcmp(before, after) == 0);
		free(before);
		free(after);
	}
	FZ_CHECK(registry_meshes(s.reg) == meshes_used(&s));
	registry_free(s.reg);
	return (0);
}
