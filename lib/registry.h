/*
 * The registry's state (doc/registry.md): meshes of registered nodes,
 * each mesh with a change counter, registrations that expire after a
 * TTL without heartbeat.  Pure: no sockets, no clock (every call takes
 * the monotonic time in milliseconds), bounded by its limits.  Bodies
 * come in as the bytes of the request; replies go out as jansson
 * objects the caller serialises.
 */
#ifndef CBP2P_REGISTRY_H
#define CBP2P_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "token.h"

#define REG_HOSTNAME_MAX	64	/* characters of "hostname" */
#define REG_MAX_ENDPOINTS	8
#define REG_MAX_ALLOWED_IPS	64
#define REG_ENDPOINT_MAX	64	/* "[v6 address]:port", numeric */
#define REG_WAIT_MAX		30	/* seconds of a long poll, protocol */
#define REG_ERR_MAX		256
/*
 * Bytes of the registry token a registration keeps to show its peers:
 * room for 64 IPv6 allowed_ips and an RSA-4096 signature.
 */
#define REG_TOKEN_MAX		8192

/* Why a request was refused; each maps to one HTTP status. */
enum reg_reason {
	REG_OK,
	REG_BAD_REQUEST,	/* 400 malformed JSON, bad members */
	REG_BAD_TOKEN,		/* 401 missing, expired, badly signed */
	REG_FORBIDDEN,		/* 403 not a registry token, another key */
	REG_NOT_FOUND,		/* 404 unknown path */
	REG_NOT_REGISTERED,	/* 404 heartbeat of a node not registered */
	REG_BAD_METHOD,		/* 405 */
	REG_MESH_FULL,		/* 409 peers per mesh */
	REG_MESHES_FULL,	/* 409 meshes on this edge */
	REG_TOO_LARGE,		/* 413 */
	REG_RATE_LIMITED,	/* 429 requests per second per source */
	REG_POLL_LIMIT,		/* 429 too many long polls waiting */
	REG_NO_MEMORY,		/* 503 */
	REG_TOKEN_EXPIRED,	/* 401 a good token past its exp */
	REG_HEADERS_TOO_LARGE,	/* 431 request head over its bytes */
	REG_TOO_MANY_HEADERS,	/* 431 request head over its lines */
	REG_TOKEN_POLLS,	/* 429 long polls of one token waiting */
	REG_REASON_MAX
};

struct reg_limits {
	uint32_t	 ttl;			/* seconds */
	uint32_t	 max_peers_per_mesh;
	uint32_t	 max_meshes;
};

struct registry;

/* Called after a mesh's version changed, once the state is consistent. */
typedef void	(*reg_change_cb)(const char *, uint64_t, void *);

const char	*reg_reason_name(enum reg_reason);
int		 reg_reason_status(enum reg_reason);

struct registry	*registry_new(const struct reg_limits *, reg_change_cb,
		    void *);
void		 registry_free(struct registry *);

/*
 * The requests of one node, named by its verified registry token.  Each
 * returns REG_OK and sets *reply (NULL only when out of memory), or a
 * refusal with one line in err and the state untouched.  A registration
 * also keeps the token's compact form (at most REG_TOKEN_MAX bytes), which
 * the node's peers get with its entry to check the issuer's word.
 */
enum reg_reason	 registry_register(struct registry *, const struct regtoken *,
		    const char *, size_t, const char *, size_t, uint64_t,
		    json_t **, char *, size_t);
enum reg_reason	 registry_heartbeat(struct registry *,
		    const struct regtoken *, const char *, size_t, uint64_t,
		    json_t **, char *, size_t);
enum reg_reason	 registry_leave(struct registry *, const struct regtoken *,
		    json_t **, char *, size_t);
/* {"version": N, "peers": [...]}: the node's mesh without the node. */
json_t		*registry_peers(struct registry *, const struct regtoken *);

/*
 * A mesh's version.  Versions come from one counter for the whole
 * registry, so a mesh's version only grows, even when its last node
 * leaves and it is made again; a mesh with no nodes reports the
 * counter's current value.
 */
uint64_t	 registry_version(const struct registry *, const char *);

/* Drop registrations not refreshed within the TTL; how many went. */
size_t		 registry_expire(struct registry *, uint64_t);

size_t		 registry_nodes(const struct registry *);
size_t		 registry_meshes(const struct registry *);

/*
 * What the issuer grants a node in its registry token, the one rule the
 * edge applies to a registration and a node to each peer entry: the
 * token's address, when it has one, is the only address; every prefix
 * lies inside one of the token's allowed_ips, or, without that claim, is
 * the node's address as a host route (fail closed).  Each returns 1 if
 * granted.
 */
int		 reg_grants_address(const struct regtoken *,
		    const struct cidr *);
int		 reg_grants_prefix(const struct regtoken *, const struct cidr *,
		    const struct cidr *);

/*
 * A peer entry of GET /v1/peers against the registry token it carries,
 * already verified with the issuer's key (regtoken_verify): the token
 * must name the entry's public key and the node's own mesh, and grant the
 * entry's address and each of its prefixes.  REG_OK, or REG_FORBIDDEN
 * with one line in err.
 */
enum reg_reason	 reg_entry_check(const struct regtoken *, const char *,
		    const uint8_t [WG_KEY_LEN], const struct cidr *,
		    const struct cidr *, size_t, char *, size_t);

#endif /* CBP2P_REGISTRY_H */
