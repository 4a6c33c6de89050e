/*
 * The registry's state machine: meshes in a red-black tree by id, the
 * nodes of a mesh in a red-black tree by public key, and every node on
 * one list in the order of its last heartbeat, so that expiry looks only
 * at the oldest.  A request is validated whole into a scratch node
 * before anything changes, so a refused request changes nothing.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry.h"
#include "stun.h"

#define MS_PER_SEC		1000
#define HOSTNAME_BYTES		(REG_HOSTNAME_MAX * 4)	/* UTF-8 */
#define JSON_FLAGS		JSON_REJECT_DUPLICATES

#ifndef __unused
#define __unused		__attribute__((__unused__))
#endif

struct reg_mesh;

struct reg_node {
	RB_ENTRY(reg_node)	 entry;
	TAILQ_ENTRY(reg_node)	 age;
	struct reg_mesh		*mesh;
	uint8_t			 public_key[WG_KEY_LEN];
	char			 hostname[HOSTNAME_BYTES + 1];
	uint16_t		 listen_port;
	char			 endpoints[REG_MAX_ENDPOINTS][REG_ENDPOINT_MAX];
	size_t			 nendpoints;
	struct cidr		 address;
	struct cidr		 allowed_ips[REG_MAX_ALLOWED_IPS];
	size_t			 nallowed_ips;
	uint64_t		 last_seen;		/* ms, monotonic */
	int			 nat;	/* enum nat_mapping, as it said */
	char			*token;	/* its registry token, for peers */
};

RB_HEAD(node_tree, reg_node);

struct reg_mesh {
	RB_ENTRY(reg_mesh)	 entry;
	char			 id[REGTOKEN_MESH_MAX + 1];
	uint64_t		 version;
	size_t			 nnodes;
	struct node_tree	 nodes;
};

RB_HEAD(mesh_tree, reg_mesh);
TAILQ_HEAD(node_age, reg_node);

struct registry {
	struct reg_limits	 limits;
	struct mesh_tree	 meshes;
	struct node_age		 age;		/* oldest heartbeat first */
	size_t			 nmeshes;
	size_t			 nnodes;
	uint64_t		 clock;		/* the last version given */
	reg_change_cb		 changed;
	void			*arg;
};

static int
node_cmp(struct reg_node *a, struct reg_node *b)
{
	return (memcmp(a->public_key, b->public_key, WG_KEY_LEN));
}

static int
mesh_cmp(struct reg_mesh *a, struct reg_mesh *b)
{
	return (strcmp(a->id, b->id));
}

RB_GENERATE_STATIC(node_tree, reg_node, entry, node_cmp)
RB_GENERATE_STATIC(mesh_tree, reg_mesh, entry, mesh_cmp)

static const struct {
	const char	*name;
	int		 status;
} reasons[REG_REASON_MAX] = {
	[REG_OK] =		{ "ok", 200 },
	[REG_BAD_REQUEST] =	{ "bad_request", 400 },
	[REG_BAD_TOKEN] =	{ "bad_token", 401 },
	[REG_FORBIDDEN] =	{ "forbidden", 403 },
	[REG_NOT_FOUND] =	{ "not_found", 404 },
	[REG_NOT_REGISTERED] =	{ "not_registered", 404 },
	[REG_BAD_METHOD] =	{ "bad_method", 405 },
	[REG_MESH_FULL] =	{ "mesh_full", 409 },
	[REG_MESHES_FULL] =	{ "meshes_full", 409 },
	[REG_TOO_LARGE] =	{ "too_large", 413 },
	[REG_RATE_LIMITED] =	{ "rate_limited", 429 },
	[REG_POLL_LIMIT] =	{ "poll_limit", 429 },
	[REG_NO_MEMORY] =	{ "no_memory", 503 },
	[REG_TOKEN_EXPIRED] =	{ "token_expired", 401 },
	[REG_HEADERS_TOO_LARGE] = { "headers_too_large", 431 },
	[REG_TOO_MANY_HEADERS] = { "too_many_headers", 431 },
	[REG_TOKEN_POLLS] =	{ "token_poll_limit", 429 },
};

const char *
reg_reason_name(enum reg_reason r)
{
	return ((unsigned int)r < REG_REASON_MAX ? reasons[r].name :
	    "unknown");
}

int
reg_reason_status(enum reg_reason r)
{
	return ((unsigned int)r < REG_REASON_MAX ? reasons[r].status : 500);
}

static enum reg_reason
refuse(enum reg_reason r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((__format__ (printf, 4, 5)));

static enum reg_reason
refuse(enum reg_reason r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return (r);
}

struct registry *
registry_new(const struct reg_limits *limits, reg_change_cb cb, void *arg)
{
	struct registry	*reg;

	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return (NULL);
	reg->limits = *limits;
	RB_INIT(&reg->meshes);
	TAILQ_INIT(&reg->age);
	reg->changed = cb;
	reg->arg = arg;
	return (reg);
}

static void
node_free(struct reg_node *n)
{
	if (n == NULL)
		return;
	free(n->token);
	free(n);
}

void
registry_free(struct registry *reg)
{
	struct reg_mesh	*m, *mn;
	struct reg_node	*n, *nn;

	if (reg == NULL)
		return;
	RB_FOREACH_SAFE(m, mesh_tree, &reg->meshes, mn) {
		RB_FOREACH_SAFE(n, node_tree, &m->nodes, nn) {
			RB_REMOVE(node_tree, &m->nodes, n);
			node_free(n);
		}
		RB_REMOVE(mesh_tree, &reg->meshes, m);
		free(m);
	}
	free(reg);
}

static struct reg_mesh *
mesh_find(const struct registry *reg, const char *id)
{
	struct reg_mesh	 key;

	if (strlcpy(key.id, id, sizeof(key.id)) >= sizeof(key.id))
		return (NULL);
	return (RB_FIND(mesh_tree, (struct mesh_tree *)&reg->meshes, &key));
}

static struct reg_node *
node_find(struct reg_mesh *m, const uint8_t key[WG_KEY_LEN])
{
	struct reg_node	 n;

	memcpy(n.public_key, key, WG_KEY_LEN);
	return (RB_FIND(node_tree, &m->nodes, &n));
}

/* A new version for the mesh, then tell the caller. */
static void
mesh_bump(struct registry *reg, struct reg_mesh *m)
{
	m->version = ++reg->clock;
	if (reg->changed != NULL)
		reg->changed(m->id, m->version, reg->arg);
}

/* Remove a node; a mesh left empty goes too (bounded memory). */
static void
node_remove(struct registry *reg, struct reg_node *n)
{
	struct reg_mesh	*m = n->mesh;
	char		 id[REGTOKEN_MESH_MAX + 1];

	RB_REMOVE(node_tree, &m->nodes, n);
	TAILQ_REMOVE(&reg->age, n, age);
	m->nnodes--;
	reg->nnodes--;
	node_free(n);
	if (m->nnodes > 0) {
		mesh_bump(reg, m);
		return;
	}
	strlcpy(id, m->id, sizeof(id));
	RB_REMOVE(mesh_tree, &reg->meshes, m);
	reg->nmeshes--;
	free(m);
	/* Its version is now the counter's: bump that, so it still grows. */
	reg->clock++;
	if (reg->changed != NULL)
		reg->changed(id, reg->clock, reg->arg);
}

/* "a.b.c.d:port" or "[v6]:port" with a numeric address. */
static int
endpoint_numeric(const char *s)
{
	struct sockaddr_storage	 ss;

	return (strlen(s) < REG_ENDPOINT_MAX &&
	    hostport_parse_numeric(s, &ss) == 0);
}

static int
parse_endpoints(json_t *v, struct reg_node *n, char *err, size_t errlen)
{
	json_t		*e;
	const char	*s;
	size_t		 i;

	if (!json_is_array(v) || json_array_size(v) > REG_MAX_ENDPOINTS) {
		snprintf(err, errlen, "endpoints: must be an array of at "
		    "most %d \"address:port\" strings", REG_MAX_ENDPOINTS);
		return (-1);
	}
	json_array_foreach(v, i, e) {
		if ((s = json_string_value(e)) == NULL ||
		    !endpoint_numeric(s)) {
			snprintf(err, errlen, "endpoints[%zu]: not a numeric "
			    "\"address:port\" or \"[address]:port\"", i);
			return (-1);
		}
		strlcpy(n->endpoints[i], s, sizeof(n->endpoints[i]));
	}
	n->nendpoints = json_array_size(v);
	return (0);
}

static int
parse_cidr(json_t *v, struct cidr *c)
{
	const char	*s;

	memset(c, 0, sizeof(*c));
	if ((s = json_string_value(v)) == NULL || cidr_parse(s, c) == -1) {
		memset(c, 0, sizeof(*c));
		return (-1);
	}
	return (0);
}

/* 1..REG_HOSTNAME_MAX characters of UTF-8 (jansson checked), no controls. */
static int
hostname_valid(const char *s, size_t len)
{
	size_t	 i, chars = 0;

	if (len == 0 || len > HOSTNAME_BYTES)
		return (0);
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (0);
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	}
	return (chars <= REG_HOSTNAME_MAX);
}

/* "nat": one of the names of enum nat_mapping, nothing else. */
static enum reg_reason
parse_nat(json_t *v, int *nat, char *err, size_t errlen)
{
	const char	*s;
	int		 m;

	if ((s = json_string_value(v)) == NULL ||
	    (m = nat_mapping_parse(s)) == -1)
		return (refuse(REG_BAD_REQUEST, err, errlen, "nat: must be "
		    "\"%s\", \"%s\" or \"%s\"",
		    nat_mapping_name(NAT_MAP_UNKNOWN),
		    nat_mapping_name(NAT_MAP_INDEPENDENT),
		    nat_mapping_name(NAT_MAP_SYMMETRIC)));
	*nat = m;
	return (REG_OK);
}

/* A body member "public_key" may only repeat the token's own. */
static enum reg_reason
check_key(json_t *v, const struct regtoken *tok, char *err, size_t errlen)
{
	uint8_t		 key[WG_KEY_LEN];
	const char	*s;

	if ((s = json_string_value(v)) == NULL ||
	    wgkey_from_b64(key, s) == -1)
		return (refuse(REG_BAD_REQUEST, err, errlen, "public_key: "
		    "not a base64 WireGuard key"));
	if (memcmp(key, tok->public_key, WG_KEY_LEN) != 0)
		return (refuse(REG_FORBIDDEN, err, errlen, "public_key: not "
		    "the key of the token; a node speaks only for itself"));
	return (REG_OK);
}

static json_t *
load_body(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*j;

	if ((j = json_loadb(body, len, JSON_FLAGS, &jerr)) == NULL) {
		snprintf(err, errlen, "malformed JSON at line %d column %d: "
		    "%s", jerr.line, jerr.column, jerr.text);
		return (NULL);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "the body must be a JSON object");
		return (NULL);
	}
	return (j);
}

#define IPV4_HOST_PLEN		32
#define IPV6_HOST_PLEN		128

int
reg_grants_address(const struct regtoken *tok, const struct cidr *addr)
{
	return (!tok->has_address || (addr->af == tok->address.af &&
	    addr->plen == tok->address.plen &&
	    memcmp(addr->addr, tok->address.addr, sizeof(addr->addr)) == 0));
}

int
reg_grants_prefix(const struct regtoken *tok, const struct cidr *addr,
    const struct cidr *c)
{
	struct cidr	 host;
	size_t		 i;

	if (!tok->has_allowed_ips) {
		/*
		 * Fail closed: without the claim the grant is the node's own
		 * address as a host route, never "anything in the mesh".
		 */
		host = tok->has_address ? tok->address : *addr;
		host.plen = host.af == AF_INET ? IPV4_HOST_PLEN :
		    IPV6_HOST_PLEN;
		return (cidr_contains(&host, c));
	}
	for (i = 0; i < tok->nallowed_ips; i++)
		if (cidr_contains(&tok->allowed_ips[i], c))
			return (1);
	return (0);
}

/*
 * The issuer's word on what the node may claim: its registry token may
 * pin its tunnel address and bound its allowed IPs, so that no node can
 * route another's addresses to itself.
 */
static enum reg_reason
check_claims(const struct regtoken *tok, const struct cidr *addr,
    const struct cidr *aips, size_t naips, char *err, size_t errlen)
{
	size_t	 i;

	if (!reg_grants_address(tok, addr))
		return (refuse(REG_FORBIDDEN, err, errlen, "address: not the "
		    "one the token grants"));
	for (i = 0; i < naips; i++)
		if (!reg_grants_prefix(tok, addr, &aips[i]))
			return (refuse(REG_FORBIDDEN, err, errlen,
			    "allowed_ips[%zu]: %s", i, tok->has_allowed_ips ?
			    "outside what the token grants" :
			    "the token grants only the node's address"));
	return (REG_OK);
}

enum reg_reason
reg_entry_check(const struct regtoken *tok, const char *mesh,
    const uint8_t key[WG_KEY_LEN], const struct cidr *addr,
    const struct cidr *aips, size_t naips, char *err, size_t errlen)
{
	if (memcmp(tok->public_key, key, WG_KEY_LEN) != 0)
		return (refuse(REG_FORBIDDEN, err, errlen, "public_key: not "
		    "the key of its token"));
	if (strcmp(tok->mesh, mesh) != 0)
		return (refuse(REG_FORBIDDEN, err, errlen, "its token is for "
		    "another mesh"));
	return (check_claims(tok, addr, aips, naips, err, errlen));
}

static enum reg_reason
parse_register(json_t *j, const struct regtoken *tok, struct reg_node *n,
    char *err, size_t errlen)
{
	const char	*k;
	json_t		*v, *e;
	json_int_t	 port;
	size_t		 i;
	enum reg_reason	 r;
	int		 have_host = 0, have_port = 0, have_addr = 0;

	json_object_foreach(j, k, v) {
		if (strcmp(k, "public_key") == 0) {
			if ((r = check_key(v, tok, err, errlen)) != REG_OK)
				return (r);
		} else if (strcmp(k, "hostname") == 0) {
			if (!json_is_string(v) || !hostname_valid(
			    json_string_value(v), json_string_length(v)))
				return (refuse(REG_BAD_REQUEST, err, errlen,
				    "hostname: must be a string of 1..%d "
				    "characters, no control characters",
				    REG_HOSTNAME_MAX));
			strlcpy(n->hostname, json_string_value(v),
			    sizeof(n->hostname));
			have_host = 1;
		} else if (strcmp(k, "listen_port") == 0) {
			if (!json_is_integer(v) ||
			    (port = json_integer_value(v)) < 1 ||
			    port > UINT16_MAX)
				return (refuse(REG_BAD_REQUEST, err, errlen,
				    "listen_port: must be an integer "
				    "1..65535"));
			n->listen_port = (uint16_t)port;
			have_port = 1;
		} else if (strcmp(k, "endpoints") == 0) {
			if (parse_endpoints(v, n, err, errlen) == -1)
				return (REG_BAD_REQUEST);
		} else if (strcmp(k, "address") == 0) {
			if (parse_cidr(v, &n->address) == -1)
				return (refuse(REG_BAD_REQUEST, err, errlen,
				    "address: not an address/prefix"));
			have_addr = 1;
		} else if (strcmp(k, "allowed_ips") == 0) {
			if (!json_is_array(v) ||
			    json_array_size(v) > REG_MAX_ALLOWED_IPS)
				return (refuse(REG_BAD_REQUEST, err, errlen,
				    "allowed_ips: must be an array of at most "
				    "%d address/prefix strings",
				    REG_MAX_ALLOWED_IPS));
			json_array_foreach(v, i, e) {
				if (parse_cidr(e, &n->allowed_ips[i]) == -1)
					return (refuse(REG_BAD_REQUEST, err,
					    errlen, "allowed_ips[%zu]: not an "
					    "address/prefix", i));
			}
			n->nallowed_ips = json_array_size(v);
		} else if (strcmp(k, "nat") == 0) {
			if ((r = parse_nat(v, &n->nat, err, errlen)) != REG_OK)
				return (r);
		} else
			return (refuse(REG_BAD_REQUEST, err, errlen,
			    "unknown member \"%.64s\"", k));
	}
	if (!have_host)
		return (refuse(REG_BAD_REQUEST, err, errlen, "hostname: "
		    "missing"));
	if (!have_port)
		return (refuse(REG_BAD_REQUEST, err, errlen, "listen_port: "
		    "missing"));
	if (!have_addr)
		return (refuse(REG_BAD_REQUEST, err, errlen, "address: "
		    "missing"));
	return (check_claims(tok, &n->address, n->allowed_ips,
	    n->nallowed_ips, err, errlen));
}

/* What a peer sees of a node; 1 if a and b differ there. */
static int
node_differs(const struct reg_node *a, const struct reg_node *b)
{
	size_t	 i;

	if (strcmp(a->hostname, b->hostname) != 0 ||
	    a->listen_port != b->listen_port || a->nat != b->nat ||
	    a->nendpoints != b->nendpoints ||
	    a->nallowed_ips != b->nallowed_ips ||
	    memcmp(&a->address, &b->address, sizeof(a->address)) != 0 ||
	    strcmp(a->token, b->token) != 0)
		return (1);
	for (i = 0; i < a->nendpoints; i++)
		if (strcmp(a->endpoints[i], b->endpoints[i]) != 0)
			return (1);
	return (memcmp(a->allowed_ips, b->allowed_ips,
	    a->nallowed_ips * sizeof(a->allowed_ips[0])) != 0);
}

static void
node_touch(struct registry *reg, struct reg_node *n, uint64_t now)
{
	n->last_seen = now;
	TAILQ_REMOVE(&reg->age, n, age);
	TAILQ_INSERT_TAIL(&reg->age, n, age);
}

static json_t *
reply_version(uint64_t version, uint32_t ttl)
{
	return (json_pack("{s:I, s:I}", "version", (json_int_t)version, "ttl",
	    (json_int_t)ttl));
}

enum reg_reason
registry_register(struct registry *reg, const struct regtoken *tok,
    const char *jwt, size_t jwtlen, const char *body, size_t len,
    uint64_t now, json_t **reply, char *err, size_t errlen)
{
	struct reg_node	*n, *old = NULL;
	struct reg_mesh	*m;
	json_t		*j;
	enum reg_reason	 r;

	*reply = NULL;
	/* Its peers check the issuer's word in it: it goes with the entry. */
	if (jwtlen == 0 || jwtlen > REG_TOKEN_MAX ||
	    memchr(jwt, '\0', jwtlen) != NULL)
		return (refuse(REG_BAD_TOKEN, err, errlen, "a registry token "
		    "of 1..%d bytes is needed to register", REG_TOKEN_MAX));
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return (refuse(REG_NO_MEMORY, err, errlen, "out of memory"));
	if ((n->token = strndup(jwt, jwtlen)) == NULL) {
		free(n);
		return (refuse(REG_NO_MEMORY, err, errlen, "out of memory"));
	}
	if ((j = load_body(body, len, err, errlen)) == NULL) {
		node_free(n);
		return (REG_BAD_REQUEST);
	}
	r = parse_register(j, tok, n, err, errlen);
	json_decref(j);
	if (r != REG_OK)
		goto fail;
	memcpy(n->public_key, tok->public_key, WG_KEY_LEN);

	if ((m = mesh_find(reg, tok->mesh)) != NULL)
		old = node_find(m, n->public_key);
	if (old == NULL) {
		if (m == NULL && reg->nmeshes >= reg->limits.max_meshes) {
			r = refuse(REG_MESHES_FULL, err, errlen, "this edge "
			    "serves its limit of %u meshes",
			    reg->limits.max_meshes);
			goto fail;
		}
		if (m != NULL && m->nnodes >= reg->limits.max_peers_per_mesh) {
			r = refuse(REG_MESH_FULL, err, errlen, "mesh is full "
			    "(%u peers)", reg->limits.max_peers_per_mesh);
			goto fail;
		}
	}
	if (m == NULL) {
		if ((m = calloc(1, sizeof(*m))) == NULL) {
			r = refuse(REG_NO_MEMORY, err, errlen, "out of "
			    "memory");
			goto fail;
		}
		strlcpy(m->id, tok->mesh, sizeof(m->id));
		RB_INIT(&m->nodes);
		RB_INSERT(mesh_tree, &reg->meshes, m);
		reg->nmeshes++;
	}
	if (old != NULL) {
		node_touch(reg, old, now);
		if (node_differs(old, n)) {
			/* Keep the links, take the new contents. */
			n->entry = old->entry;
			n->age = old->age;
			n->mesh = m;
			n->last_seen = now;
			free(old->token);
			memcpy(old, n, sizeof(*old));
			n->token = NULL;
			mesh_bump(reg, m);
		}
		node_free(n);
	} else {
		n->mesh = m;
		n->last_seen = now;
		RB_INSERT(node_tree, &m->nodes, n);
		TAILQ_INSERT_TAIL(&reg->age, n, age);
		m->nnodes++;
		reg->nnodes++;
		mesh_bump(reg, m);
	}
	*reply = reply_version(m->version, reg->limits.ttl);
	return (REG_OK);
fail:
	node_free(n);
	return (r);
}

enum reg_reason
registry_heartbeat(struct registry *reg, const struct regtoken *tok,
    const char *body, size_t len, uint64_t now, json_t **reply, char *err,
    size_t errlen)
{
	struct reg_node	 scratch, *n;
	struct reg_mesh	*m;
	const char	*k;
	json_t		*j = NULL, *v;
	enum reg_reason	 r;
	size_t		 i;
	int		 have_endpoints = 0, have_nat = 0, changed = 0;

	*reply = NULL;
	memset(&scratch, 0, sizeof(scratch));
	/* No body at all is the empty object. */
	if (len > 0) {
		if ((j = load_body(body, len, err, errlen)) == NULL)
			return (REG_BAD_REQUEST);
		json_object_foreach(j, k, v) {
			if (strcmp(k, "public_key") == 0) {
				if ((r = check_key(v, tok, err, errlen)) !=
				    REG_OK)
					goto fail;
			} else if (strcmp(k, "endpoints") == 0) {
				if (parse_endpoints(v, &scratch, err,
				    errlen) == -1) {
					r = REG_BAD_REQUEST;
					goto fail;
				}
				have_endpoints = 1;
			} else if (strcmp(k, "nat") == 0) {
				if ((r = parse_nat(v, &scratch.nat, err,
				    errlen)) != REG_OK)
					goto fail;
				have_nat = 1;
			} else {
				r = refuse(REG_BAD_REQUEST, err, errlen,
				    "unknown member \"%.64s\"", k);
				goto fail;
			}
		}
		json_decref(j);
		j = NULL;
	}
	if ((m = mesh_find(reg, tok->mesh)) == NULL ||
	    (n = node_find(m, tok->public_key)) == NULL)
		return (refuse(REG_NOT_REGISTERED, err, errlen, "not "
		    "registered (expired?): register again"));
	node_touch(reg, n, now);
	if (have_endpoints) {
		if (scratch.nendpoints != n->nendpoints)
			changed = 1;
		for (i = 0; !changed && i < n->nendpoints; i++)
			if (strcmp(n->endpoints[i], scratch.endpoints[i]) != 0)
				changed = 1;
		memcpy(n->endpoints, scratch.endpoints, sizeof(n->endpoints));
		n->nendpoints = scratch.nendpoints;
	}
	if (have_nat && scratch.nat != n->nat) {
		n->nat = scratch.nat;
		changed = 1;
	}
	if (changed)
		mesh_bump(reg, m);
	*reply = reply_version(m->version, reg->limits.ttl);
	return (REG_OK);
fail:
	json_decref(j);
	return (r);
}

enum reg_reason
registry_leave(struct registry *reg, const struct regtoken *tok,
    json_t **reply, char *err, size_t errlen)
{
	struct reg_mesh	*m;
	struct reg_node	*n;

	/* Leaving twice, or after expiry, is not an error: nothing left. */
	if ((m = mesh_find(reg, tok->mesh)) != NULL &&
	    (n = node_find(m, tok->public_key)) != NULL)
		node_remove(reg, n);
	*reply = json_pack("{s:I}", "version",
	    (json_int_t)registry_version(reg, tok->mesh));
	return (REG_OK);
}

static json_t *
node_json(const struct reg_node *n)
{
	char		 key[WG_KEY_B64_LEN + 1], buf[INET6_ADDRSTRLEN + 8];
	json_t		*o, *eps, *aips;
	size_t		 i;

	wgkey_to_b64(key, n->public_key);
	if (cidr_format(&n->address, buf, sizeof(buf)) == -1)
		buf[0] = '\0';
	if ((eps = json_array()) == NULL || (aips = json_array()) == NULL) {
		json_decref(eps);
		return (NULL);
	}
	for (i = 0; i < n->nendpoints; i++)
		json_array_append_new(eps, json_string(n->endpoints[i]));
	o = json_pack("{s:s, s:s, s:i, s:o, s:s, s:o, s:s, s:s}",
	    "public_key", key, "hostname", n->hostname,
	    "listen_port", (int)n->listen_port, "endpoints", eps,
	    "address", buf, "allowed_ips", aips,
	    "nat", nat_mapping_name(n->nat), "registry_token", n->token);
	if (o == NULL)
		return (NULL);
	for (i = 0; i < n->nallowed_ips; i++) {
		if (cidr_format(&n->allowed_ips[i], buf, sizeof(buf)) == 0)
			json_array_append_new(aips, json_string(buf));
	}
	return (o);
}

json_t *
registry_peers(struct registry *reg, const struct regtoken *tok)
{
	struct reg_mesh	*m;
	struct reg_node	*n;
	json_t		*o, *peers, *p;

	if ((peers = json_array()) == NULL)
		return (NULL);
	if ((m = mesh_find(reg, tok->mesh)) != NULL) {
		RB_FOREACH(n, node_tree, &m->nodes) {
			if (memcmp(n->public_key, tok->public_key,
			    WG_KEY_LEN) == 0)
				continue;
			if ((p = node_json(n)) == NULL ||
			    json_array_append_new(peers, p) == -1) {
				json_decref(peers);
				return (NULL);
			}
		}
	}
	o = json_pack("{s:I, s:o}", "version",
	    (json_int_t)registry_version(reg, tok->mesh), "peers", peers);
	return (o);
}

uint64_t
registry_version(const struct registry *reg, const char *mesh)
{
	struct reg_mesh	*m;

	if ((m = mesh_find(reg, mesh)) != NULL)
		return (m->version);
	return (reg->clock);
}

size_t
registry_expire(struct registry *reg, uint64_t now)
{
	struct reg_node	*n;
	uint64_t	 ttl = (uint64_t)reg->limits.ttl * MS_PER_SEC;
	size_t		 gone = 0;

	while ((n = TAILQ_FIRST(&reg->age)) != NULL &&
	    now >= n->last_seen && now - n->last_seen >= ttl) {
		node_remove(reg, n);
		gone++;
	}
	return (gone);
}

size_t
registry_nodes(const struct registry *reg)
{
	return (reg->nnodes);
}

size_t
registry_meshes(const struct registry *reg)
{
	return (reg->nmeshes);
}
