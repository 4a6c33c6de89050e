/*
 * The registry state machine (lib/registry.c) with a fake clock:
 * register, list, heartbeat, leave, expiry, limits, strict bodies, and
 * that every refusal leaves the state as it was.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "token.h"
#include "registry.h"

#define TTL		90
#define SEC		1000	/* ms */
#define MESH		"10.99.0.0/24"
/* The compact token a registration keeps; these tests never verify it. */
#define JWT		"eyJhbGciOiJFUzI1NiJ9.e30.c2ln"

#define BODY_A	"{\"hostname\": \"node-a\", \"listen_port\": 51820, " \
		"\"endpoints\": [\"192.0.2.7:51820\", \"[2001:db8::7]:51820\"], " \
		"\"address\": \"10.99.0.2/24\", " \
		"\"allowed_ips\": [\"10.99.0.2/32\"]}"
#define BODY_B	"{\"hostname\": \"node-b\", \"listen_port\": 51821, " \
		"\"address\": \"10.99.0.3/24\"}"

struct changes {
	int		 n;
	char		 mesh[REGTOKEN_MESH_MAX + 1];
	uint64_t	 version;
};

static void
changed(const char *mesh, uint64_t version, void *arg)
{
	struct changes	*c = arg;

	c->n++;
	strlcpy(c->mesh, mesh, sizeof(c->mesh));
	c->version = version;
}

static struct registry *
reg_new(uint32_t peers, uint32_t meshes, struct changes *c)
{
	struct reg_limits	 l = { TTL, peers, meshes };
	struct registry		*reg;

	ATF_REQUIRE((reg = registry_new(&l, changed, c)) != NULL);
	return (reg);
}

static struct regtoken
tok(const char *mesh, int id)
{
	struct regtoken	 t;

	memset(&t, 0, sizeof(t));
	memset(t.public_key, id, sizeof(t.public_key));
	strlcpy(t.mesh, mesh, sizeof(t.mesh));
	return (t);
}

static uint64_t
reg_ok(struct registry *reg, const struct regtoken *t, const char *body,
    uint64_t now)
{
	json_t		*reply;
	char		 err[REG_ERR_MAX];
	uint64_t	 v;

	if (registry_register(reg, t, JWT, strlen(JWT), body, strlen(body),
	    now, &reply, err, sizeof(err)) != REG_OK)
		atf_tc_fail("register: %s", err);
	ATF_REQUIRE(reply != NULL);
	ATF_CHECK_EQ(json_integer_value(json_object_get(reply, "ttl")), TTL);
	v = (uint64_t)json_integer_value(json_object_get(reply, "version"));
	json_decref(reply);
	return (v);
}

/* The peer list as compact JSON, for before/after comparisons. */
static char *
peers_dump(struct registry *reg, const struct regtoken *t)
{
	json_t	*j;
	char	*s;

	ATF_REQUIRE((j = registry_peers(reg, t)) != NULL);
	ATF_REQUIRE((s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) !=
	    NULL);
	json_decref(j);
	return (s);
}

static size_t
npeers(struct registry *reg, const struct regtoken *t)
{
	json_t	*j;
	size_t	 n;

	ATF_REQUIRE((j = registry_peers(reg, t)) != NULL);
	n = json_array_size(json_object_get(j, "peers"));
	json_decref(j);
	return (n);
}

ATF_TC_WITHOUT_HEAD(register_and_list);
ATF_TC_BODY(register_and_list, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(16, 16, &c);
	struct regtoken	 a = tok(MESH, 1), b = tok(MESH, 2);
	struct regtoken	 other = tok("other-mesh", 3);
	json_t		*j, *p;
	char		 key[WG_KEY_B64_LEN + 1];
	uint64_t	 v1, v2;

	v1 = reg_ok(reg, &a, BODY_A, 0);
	ATF_CHECK_EQ(c.n, 1);
	ATF_CHECK_STREQ(c.mesh, MESH);
	v2 = reg_ok(reg, &b, BODY_B, 0);
	ATF_CHECK(v2 > v1);
	ATF_CHECK_EQ(registry_nodes(reg), 2);
	ATF_CHECK_EQ(registry_meshes(reg), 1);

	/* a sees b, not itself; all members are there. */
	ATF_REQUIRE((j = registry_peers(reg, &a)) != NULL);
	ATF_CHECK_EQ(json_integer_value(json_object_get(j, "version")),
	    (json_int_t)v2);
	ATF_REQUIRE_EQ(json_array_size(json_object_get(j, "peers")), 1);
	p = json_array_get(json_object_get(j, "peers"), 0);
	wgkey_to_b64(key, b.public_key);
	ATF_CHECK_STREQ(json_string_value(json_object_get(p, "public_key")),
	    key);
	ATF_CHECK_STREQ(json_string_value(json_object_get(p, "hostname")),
	    "node-b");
	ATF_CHECK_EQ(json_integer_value(json_object_get(p, "listen_port")),
	    51821);
	ATF_CHECK_STREQ(json_string_value(json_object_get(p, "address")),
	    "10.99.0.3/24");
	ATF_CHECK_EQ(json_array_size(json_object_get(p, "endpoints")), 0);
	json_decref(j);

	ATF_REQUIRE((j = registry_peers(reg, &b)) != NULL);
	p = json_array_get(json_object_get(j, "peers"), 0);
	ATF_CHECK_STREQ(json_string_value(json_array_get(json_object_get(p,
	    "endpoints"), 1)), "[2001:db8::7]:51820");
	ATF_CHECK_STREQ(json_string_value(json_array_get(json_object_get(p,
	    "allowed_ips"), 0)), "10.99.0.2/32");
	json_decref(j);

	/* Meshes do not see each other. */
	ATF_CHECK_EQ(npeers(reg, &other), 0);

	/* The same registration again changes nothing; a new one does. */
	ATF_CHECK_EQ(reg_ok(reg, &a, BODY_A, SEC), v2);
	ATF_CHECK(reg_ok(reg, &a, BODY_B, SEC) > v2);
	ATF_CHECK_EQ(registry_nodes(reg), 2);
	registry_free(reg);
}

ATF_TC_WITHOUT_HEAD(heartbeat_and_leave);
ATF_TC_BODY(heartbeat_and_leave, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(16, 16, &c);
	struct regtoken	 a = tok(MESH, 1), b = tok(MESH, 2);
	json_t		*reply;
	char		 err[REG_ERR_MAX];
	const char	*eps = "{\"endpoints\": [\"198.51.100.1:4000\"]}";
	char		*dump;
	uint64_t	 v;

	ATF_CHECK_EQ(registry_heartbeat(reg, &a, "", 0, 0, &reply, err,
	    sizeof(err)), REG_NOT_REGISTERED);
	reg_ok(reg, &a, BODY_A, 0);
	v = reg_ok(reg, &b, BODY_B, 0);

	/* An empty heartbeat keeps the version. */
	ATF_REQUIRE_EQ(registry_heartbeat(reg, &a, "{}", 2, SEC, &reply, err,
	    sizeof(err)), REG_OK);
	ATF_CHECK_EQ(json_integer_value(json_object_get(reply, "version")),
	    (json_int_t)v);
	json_decref(reply);
	ATF_REQUIRE_EQ(registry_heartbeat(reg, &a, "", 0, SEC, &reply, err,
	    sizeof(err)), REG_OK);
	json_decref(reply);

	/* New endpoints: a new version. */
	ATF_REQUIRE_EQ(registry_heartbeat(reg, &a, eps, strlen(eps), SEC,
	    &reply, err, sizeof(err)), REG_OK);
	ATF_CHECK(json_integer_value(json_object_get(reply, "version")) >
	    (json_int_t)v);
	json_decref(reply);
	dump = peers_dump(reg, &b);
	ATF_CHECK(strstr(dump, "198.51.100.1:4000") != NULL);
	free(dump);

	v = registry_version(reg, MESH);
	ATF_REQUIRE_EQ(registry_leave(reg, &a, &reply, err, sizeof(err)),
	    REG_OK);
	ATF_CHECK(json_integer_value(json_object_get(reply, "version")) >
	    (json_int_t)v);
	json_decref(reply);
	ATF_CHECK_EQ(npeers(reg, &b), 0);
	/* Leaving again is harmless. */
	ATF_REQUIRE_EQ(registry_leave(reg, &a, &reply, err, sizeof(err)),
	    REG_OK);
	json_decref(reply);

	/* The last node gone, the mesh goes; versions still grow. */
	v = registry_version(reg, MESH);
	ATF_REQUIRE_EQ(registry_leave(reg, &b, &reply, err, sizeof(err)),
	    REG_OK);
	json_decref(reply);
	ATF_CHECK_EQ(registry_meshes(reg), 0);
	ATF_CHECK(registry_version(reg, MESH) > v);
	v = registry_version(reg, MESH);
	ATF_CHECK(reg_ok(reg, &a, BODY_A, 2 * SEC) > v);
	registry_free(reg);
}

ATF_TC_WITHOUT_HEAD(expiry);
ATF_TC_BODY(expiry, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(16, 16, &c);
	struct regtoken	 a = tok(MESH, 1), b = tok(MESH, 2);
	json_t		*reply;
	char		 err[REG_ERR_MAX];
	uint64_t	 v;

	reg_ok(reg, &a, BODY_A, 0);
	v = reg_ok(reg, &b, BODY_B, 10 * SEC);
	ATF_CHECK_EQ(registry_expire(reg, (TTL - 1) * SEC), 0);
	/* a heartbeats, b does not. */
	ATF_REQUIRE_EQ(registry_heartbeat(reg, &a, "{}", 2, 50 * SEC, &reply,
	    err, sizeof(err)), REG_OK);
	json_decref(reply);
	c.n = 0;
	ATF_CHECK_EQ(registry_expire(reg, (TTL + 10) * SEC), 1);
	ATF_CHECK_EQ(c.n, 1);
	ATF_CHECK(c.version > v);
	ATF_CHECK_EQ(registry_nodes(reg), 1);
	ATF_CHECK_EQ(npeers(reg, &a), 0);
	ATF_CHECK_EQ(registry_heartbeat(reg, &b, "{}", 2, 100 * SEC, &reply,
	    err, sizeof(err)), REG_NOT_REGISTERED);
	ATF_CHECK_EQ(registry_expire(reg, (TTL + 50) * SEC), 1);
	ATF_CHECK_EQ(registry_nodes(reg), 0);
	ATF_CHECK_EQ(registry_meshes(reg), 0);
	registry_free(reg);
}

ATF_TC_WITHOUT_HEAD(limits);
ATF_TC_BODY(limits, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(2, 2, &c);
	struct regtoken	 a = tok("m1", 1), b = tok("m1", 2), d = tok("m1", 4);
	struct regtoken	 e = tok("m2", 5), f = tok("m3", 6);
	json_t		*reply;
	char		 err[REG_ERR_MAX];

	reg_ok(reg, &a, BODY_A, 0);
	reg_ok(reg, &b, BODY_B, 0);
	ATF_CHECK_EQ(registry_register(reg, &d, JWT, strlen(JWT), BODY_B,
	    strlen(BODY_B), 0, &reply, err, sizeof(err)), REG_MESH_FULL);
	ATF_CHECK_EQ(reply, NULL);
	/* Replacing an entry needs no room. */
	reg_ok(reg, &b, BODY_A, 0);
	reg_ok(reg, &e, BODY_A, 0);
	ATF_CHECK_EQ(registry_register(reg, &f, JWT, strlen(JWT), BODY_B,
	    strlen(BODY_B), 0, &reply, err, sizeof(err)), REG_MESHES_FULL);
	ATF_CHECK_EQ(registry_nodes(reg), 3);
	ATF_CHECK_EQ(registry_meshes(reg), 2);
	ATF_CHECK_EQ(reg_reason_status(REG_MESH_FULL), 409);
	ATF_CHECK_STREQ(reg_reason_name(REG_MESHES_FULL), "meshes_full");
	registry_free(reg);
}

/* Bodies refused with reason want; the state must not move. */
static void
refused(struct registry *reg, const struct regtoken *t, const char *body,
    enum reg_reason want)
{
	struct regtoken	 b = tok(MESH, 2);
	json_t		*reply = NULL;
	char		 err[REG_ERR_MAX] = "", *before, *after;
	uint64_t	 v = registry_version(reg, MESH);
	enum reg_reason	 r;

	before = peers_dump(reg, &b);
	r = registry_register(reg, t, JWT, strlen(JWT), body, strlen(body),
	    5 * SEC, &reply, err, sizeof(err));
	ATF_CHECK_MSG(r == want, "%s: %s (%d), want %d", body, err, r, want);
	ATF_CHECK(reply == NULL);
	ATF_CHECK_MSG(err[0] != '\0' && strchr(err, '\n') == NULL,
	    "error line: \"%s\"", err);
	after = peers_dump(reg, &b);
	ATF_CHECK_STREQ(before, after);
	ATF_CHECK_EQ(registry_version(reg, MESH), v);
	free(before);
	free(after);
}

ATF_TC_WITHOUT_HEAD(bad_bodies);
ATF_TC_BODY(bad_bodies, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(16, 16, &c);
	struct regtoken	 a = tok(MESH, 1), b = tok(MESH, 2);
	char		 key[WG_KEY_B64_LEN + 1], body[512];
	json_t		*reply;
	char		 err[REG_ERR_MAX];

	reg_ok(reg, &a, BODY_A, 0);
	reg_ok(reg, &b, BODY_B, 0);
	refused(reg, &a, "", REG_BAD_REQUEST);
	refused(reg, &a, "{", REG_BAD_REQUEST);
	refused(reg, &a, "[]", REG_BAD_REQUEST);
	refused(reg, &a, "null", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"hostname\": \"y\", "
	    "\"listen_port\": 1, \"address\": \"10.0.0.1/32\"}",
	    REG_BAD_REQUEST);
	refused(reg, &a, "{\"listen_port\": 1, \"address\": \"10.0.0.1/32\"}",
	    REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\"}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"a\\nb\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\"}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 0, "
	    "\"address\": \"10.0.0.1/32\"}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 65536, "
	    "\"address\": \"10.0.0.1/32\"}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": \"1\", "
	    "\"address\": \"10.0.0.1/32\"}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1.5, "
	    "\"address\": \"10.0.0.1/32\"}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/33\"}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1}",
	    REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\", \"endpoints\": "
	    "[\"example.com:1\"]}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\", \"endpoints\": "
	    "[\"192.0.2.1:0\"]}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\", \"endpoints\": "
	    "[\"1.1.1.1:1\", \"1.1.1.1:2\", \"1.1.1.1:3\", \"1.1.1.1:4\", "
	    "\"1.1.1.1:5\", \"1.1.1.1:6\", \"1.1.1.1:7\", \"1.1.1.1:8\", "
	    "\"1.1.1.1:9\"]}", REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\", \"allowed_ips\": [\"10.0.0.0\"]}",
	    REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\", \"color\": \"red\"}",
	    REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\", \"public_key\": \"abc\"}",
	    REG_BAD_REQUEST);
	/* Naming another node's key: forbidden. */
	wgkey_to_b64(key, b.public_key);
	snprintf(body, sizeof(body), "{\"hostname\": \"x\", \"listen_port\": "
	    "1, \"address\": \"10.0.0.1/32\", \"public_key\": \"%s\"}", key);
	refused(reg, &a, body, REG_FORBIDDEN);
	/* Its own key is fine. */
	wgkey_to_b64(key, a.public_key);
	snprintf(body, sizeof(body), "{\"hostname\": \"x\", \"listen_port\": "
	    "1, \"address\": \"10.0.0.1/32\", \"public_key\": \"%s\"}", key);
	reg_ok(reg, &a, body, SEC);

	ATF_CHECK_EQ(registry_heartbeat(reg, &a, "{\"x\": 1}", 8, SEC,
	    &reply, err, sizeof(err)), REG_BAD_REQUEST);
	ATF_CHECK_EQ(registry_heartbeat(reg, &a, "{\"endpoints\": 1}", 16,
	    SEC, &reply, err, sizeof(err)), REG_BAD_REQUEST);
	registry_free(reg);
}

/* peer_nat REG TOK: the "nat" of TOK's only peer. */
static const char *
peer_nat(struct registry *reg, const struct regtoken *t)
{
	static char	 nat[32];
	json_t		*j;
	const char	*s;

	ATF_REQUIRE((j = registry_peers(reg, t)) != NULL);
	s = json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "peers"), 0), "nat"));
	strlcpy(nat, s != NULL ? s : "(none)", sizeof(nat));
	json_decref(j);
	return (nat);
}

/* The NAT mapping a node says: a small enum, listed, changed by heartbeat. */
ATF_TC_WITHOUT_HEAD(nat);
ATF_TC_BODY(nat, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(16, 16, &c);
	struct regtoken	 a = tok(MESH, 1), b = tok(MESH, 2);
	json_t		*reply;
	char		 err[REG_ERR_MAX];
	const char	*sym = "{\"nat\": \"symmetric\"}";
	const char	*eps = "{\"endpoints\": []}";
	const char	*bad[] = { "{\"nat\": \"cone\"}", "{\"nat\": 1}",
	    "{\"nat\": null}", "{\"nat\": \"\"}",
	    "{\"nat\": [\"symmetric\"]}" };
	uint64_t	 v;
	size_t		 i;

	reg_ok(reg, &a, BODY_A, 0);
	reg_ok(reg, &b, BODY_B, 0);
	/* Said nothing: unknown. */
	ATF_CHECK_STREQ(peer_nat(reg, &b), "unknown");
	v = reg_ok(reg, &a, "{\"hostname\": \"node-a\", \"listen_port\": "
	    "51820, \"address\": \"10.99.0.2/24\", \"nat\": "
	    "\"independent\"}", SEC);
	ATF_CHECK_STREQ(peer_nat(reg, &b), "independent");

	/* A heartbeat that changes it makes a new version, once. */
	ATF_REQUIRE_EQ(registry_heartbeat(reg, &a, sym, strlen(sym), SEC,
	    &reply, err, sizeof(err)), REG_OK);
	ATF_CHECK(json_integer_value(json_object_get(reply, "version")) >
	    (json_int_t)v);
	v = (uint64_t)json_integer_value(json_object_get(reply, "version"));
	json_decref(reply);
	ATF_CHECK_STREQ(peer_nat(reg, &b), "symmetric");
	ATF_REQUIRE_EQ(registry_heartbeat(reg, &a, sym, strlen(sym), SEC,
	    &reply, err, sizeof(err)), REG_OK);
	ATF_CHECK_EQ(json_integer_value(json_object_get(reply, "version")),
	    (json_int_t)v);
	json_decref(reply);
	/* Endpoints alone leave it. */
	ATF_REQUIRE_EQ(registry_heartbeat(reg, &a, eps, strlen(eps), SEC,
	    &reply, err, sizeof(err)), REG_OK);
	json_decref(reply);
	ATF_CHECK_STREQ(peer_nat(reg, &b), "symmetric");

	/* Anything but the three names is refused and changes nothing. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = registry_version(reg, MESH);
		ATF_CHECK_EQ(registry_heartbeat(reg, &a, bad[i],
		    strlen(bad[i]), SEC, &reply, err, sizeof(err)),
		    REG_BAD_REQUEST);
		ATF_CHECK(strstr(err, "nat:") != NULL);
		ATF_CHECK_EQ(registry_version(reg, MESH), v);
		ATF_CHECK_STREQ(peer_nat(reg, &b), "symmetric");
	}
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\", \"nat\": \"full-cone\"}",
	    REG_BAD_REQUEST);
	refused(reg, &a, "{\"hostname\": \"x\", \"listen_port\": 1, "
	    "\"address\": \"10.0.0.1/32\", \"nat\": 2}", REG_BAD_REQUEST);
	registry_free(reg);
}

/* A token may pin the address and bound the allowed IPs a node claims. */
ATF_TC_WITHOUT_HEAD(token_claims);
ATF_TC_BODY(token_claims, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(16, 16, &c);
	struct regtoken	 a = tok(MESH, 1), b = tok(MESH, 2);

	/* b keeps a peer list to compare before and after each refusal. */
	reg_ok(reg, &b, BODY_B, 0);
	ATF_REQUIRE(cidr_parse("10.99.0.1/24", &a.address) == 0);
	a.has_address = 1;
	ATF_REQUIRE(cidr_parse("10.99.0.1/32", &a.allowed_ips[0]) == 0);
	ATF_REQUIRE(cidr_parse("10.99.1.0/24", &a.allowed_ips[1]) == 0);
	a.nallowed_ips = 2;
	a.has_allowed_ips = 1;

	/* Another node's address, or the whole mesh: refused. */
	refused(reg, &a, "{\"hostname\": \"a\", \"listen_port\": 1, "
	    "\"address\": \"10.99.0.2/24\"}", REG_FORBIDDEN);
	refused(reg, &a, "{\"hostname\": \"a\", \"listen_port\": 1, "
	    "\"address\": \"10.99.0.1/24\", "
	    "\"allowed_ips\": [\"10.99.0.0/24\"]}", REG_FORBIDDEN);
	refused(reg, &a, "{\"hostname\": \"a\", \"listen_port\": 1, "
	    "\"address\": \"10.99.0.1/24\", "
	    "\"allowed_ips\": [\"10.99.0.1/32\", \"10.99.2.0/24\"]}",
	    REG_FORBIDDEN);
	/* What the token grants, or less of it: accepted. */
	reg_ok(reg, &a, "{\"hostname\": \"a\", \"listen_port\": 1, "
	    "\"address\": \"10.99.0.1/24\", "
	    "\"allowed_ips\": [\"10.99.0.1/32\", \"10.99.1.128/25\"]}", 0);
	ATF_CHECK_EQ(npeers(reg, &b), 1);
	registry_free(reg);
}

ATF_TC_WITHOUT_HEAD(no_claim_fails_closed);
ATF_TC_BODY(no_claim_fails_closed, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(16, 16, &c);
	struct regtoken	 a = tok(MESH, 1), b = tok(MESH, 2);

	/*
	 * A token without allowed_ips grants the node's address as a host
	 * route (doc/registry.md): not the mesh, not another host.
	 */
	reg_ok(reg, &b, BODY_B, 0);
	refused(reg, &a, "{\"hostname\": \"a\", \"listen_port\": 1, "
	    "\"address\": \"10.99.0.1/24\", "
	    "\"allowed_ips\": [\"10.99.0.0/24\"]}", REG_FORBIDDEN);
	refused(reg, &a, "{\"hostname\": \"a\", \"listen_port\": 1, "
	    "\"address\": \"10.99.0.1/24\", "
	    "\"allowed_ips\": [\"0.0.0.0/0\"]}", REG_FORBIDDEN);
	refused(reg, &a, "{\"hostname\": \"a\", \"listen_port\": 1, "
	    "\"address\": \"10.99.0.1/24\", "
	    "\"allowed_ips\": [\"10.99.0.2/32\"]}", REG_FORBIDDEN);
	ATF_CHECK_EQ(npeers(reg, &b), 0);	/* b sees no one yet */
	reg_ok(reg, &a, "{\"hostname\": \"a\", \"listen_port\": 1, "
	    "\"address\": \"10.99.0.1/24\", "
	    "\"allowed_ips\": [\"10.99.0.1/32\"]}", 0);
	ATF_CHECK_EQ(npeers(reg, &b), 1);
	registry_free(reg);
}

/* ---- a node checks each peer entry against its registry token ------ */

#define NOW		((time_t)1700000000)
#define HOUR		3600
#define ISSUER		"cbp2p-test"

struct issuer {
	char	*priv;
	char	*pub;
};

static char *
pem_string(BIO *b)
{
	char	*data, *s;
	long	 n;

	ATF_REQUIRE((n = BIO_get_mem_data(b, &data)) > 0);
	ATF_REQUIRE((s = calloc(1, (size_t)n + 1)) != NULL);
	memcpy(s, data, (size_t)n);
	BIO_free(b);
	return (s);
}

/* An ES256 issuer, made for the test. */
static void
issuer_new(struct issuer *is)
{
	EVP_PKEY	*pk;
	BIO		*b;

	ATF_REQUIRE((pk = EVP_EC_gen("P-256")) != NULL);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL,
	    NULL) == 1);
	is->priv = pem_string(b);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PUBKEY(b, pk) == 1);
	is->pub = pem_string(b);
	EVP_PKEY_free(pk);
}

static void
issuer_free(struct issuer *is)
{
	free(is->priv);
	free(is->pub);
}

/*
 * A registry token for key byte id in mesh, signed by is, with exp and
 * an allowed_ips claim (JSON text, or NULL for none); caller frees.
 */
static char *
regtok_mint(const struct issuer *is, int id, const char *mesh, int64_t exp,
    const char *aips)
{
	uint8_t	 key[WG_KEY_LEN];
	char	 b64[WG_KEY_B64_LEN + 1], claims[1024], err[CFG_ERR_MAX];
	char	*jwt;

	memset(key, id, sizeof(key));
	wgkey_to_b64(b64, key);
	snprintf(claims, sizeof(claims), "{\"iss\": \"%s\", \"sub\": "
	    "\"node-%d\", \"exp\": %lld, \"token_use\": \"registry\", "
	    "\"public_key\": \"%s\", \"mesh\": \"%s\", "
	    "\"address\": \"10.99.0.%d/24\"%s%s}", ISSUER, id,
	    (long long)exp, b64, mesh, id, aips != NULL ?
	    ", \"allowed_ips\": " : "", aips != NULL ? aips : "");
	if (token_mint(claims, KEYALG_ES256, (const unsigned char *)is->priv,
	    strlen(is->priv), &jwt, err, sizeof(err)) == -1)
		atf_tc_fail("mint: %s", err);
	return (jwt);
}

/* regtoken_verify with the node's key and issuer at NOW. */
static int
regtok_verify(const struct issuer *is, const char *jwt,
    struct regtoken *rt, char *err, size_t errlen)
{
	return (regtoken_verify(jwt, strlen(jwt), KEYALG_ES256,
	    (const unsigned char *)is->pub, strlen(is->pub), ISSUER, NULL,
	    NOW, rt, err, errlen));
}

/*
 * An entry for key byte id, address 10.99.0.<addr>/24 and the given
 * prefixes, checked against rt as cbdiscod checks it.
 */
static enum reg_reason
entry(const struct regtoken *rt, int id, int addr, const char *p1,
    const char *p2, char *err, size_t errlen)
{
	uint8_t		 key[WG_KEY_LEN];
	struct cidr	 a, aips[2];
	char		 s[32];
	size_t		 n = 0;

	memset(key, id, sizeof(key));
	snprintf(s, sizeof(s), "10.99.0.%d/24", addr);
	ATF_REQUIRE(cidr_parse(s, &a) == 0);
	if (p1 != NULL)
		ATF_REQUIRE(cidr_parse(p1, &aips[n++]) == 0);
	if (p2 != NULL)
		ATF_REQUIRE(cidr_parse(p2, &aips[n++]) == 0);
	return (reg_entry_check(rt, MESH, key, &a, aips, n, err, errlen));
}

ATF_TC_WITHOUT_HEAD(entry_token);
ATF_TC_BODY(entry_token, tc)
{
	struct issuer	 is;
	struct regtoken	 rt;
	char		*jwt, err[CFG_ERR_MAX];

	issuer_new(&is);
	jwt = regtok_mint(&is, 3, MESH, NOW + HOUR,
	    "[\"10.99.0.3/32\", \"10.99.0.128/25\"]");
	if (regtok_verify(&is, jwt, &rt, err, sizeof(err)) == -1)
		atf_tc_fail("honest token refused: %s", err);
	free(jwt);

	/* What the issuer granted, or less of it: trusted. */
	ATF_CHECK_EQ(entry(&rt, 3, 3, "10.99.0.3/32", "10.99.0.128/25", err,
	    sizeof(err)), REG_OK);
	ATF_CHECK_EQ(entry(&rt, 3, 3, "10.99.0.200/29", NULL, err,
	    sizeof(err)), REG_OK);
	ATF_CHECK_EQ(entry(&rt, 3, 3, NULL, NULL, err, sizeof(err)), REG_OK);

	/* A prefix it did not grant, even beside granted ones. */
	ATF_CHECK_EQ(entry(&rt, 3, 3, "10.99.0.3/32", "10.99.0.0/24", err,
	    sizeof(err)), REG_FORBIDDEN);
	ATF_CHECK_MSG(strstr(err, "allowed_ips[1]") != NULL, "%s", err);
	ATF_CHECK_EQ(entry(&rt, 3, 3, "10.99.0.4/32", NULL, err,
	    sizeof(err)), REG_FORBIDDEN);
	ATF_CHECK_EQ(entry(&rt, 3, 3, "0.0.0.0/0", NULL, err, sizeof(err)),
	    REG_FORBIDDEN);
	/* Another address than the token's. */
	ATF_CHECK_EQ(entry(&rt, 3, 4, "10.99.0.3/32", NULL, err,
	    sizeof(err)), REG_FORBIDDEN);
	ATF_CHECK_MSG(strstr(err, "address") != NULL, "%s", err);
	/* The token of another key. */
	ATF_CHECK_EQ(entry(&rt, 5, 3, "10.99.0.3/32", NULL, err,
	    sizeof(err)), REG_FORBIDDEN);
	ATF_CHECK_MSG(strstr(err, "public_key") != NULL, "%s", err);
	/* A token for another mesh. */
	strlcpy(rt.mesh, "other-mesh", sizeof(rt.mesh));
	ATF_CHECK_EQ(entry(&rt, 3, 3, "10.99.0.3/32", NULL, err,
	    sizeof(err)), REG_FORBIDDEN);
	ATF_CHECK_MSG(strstr(err, "mesh") != NULL, "%s", err);
	issuer_free(&is);
}

/* Without allowed_ips the token grants the address as a host route. */
ATF_TC_WITHOUT_HEAD(entry_token_no_claim);
ATF_TC_BODY(entry_token_no_claim, tc)
{
	struct issuer	 is;
	struct regtoken	 rt;
	char		*jwt, err[CFG_ERR_MAX];

	issuer_new(&is);
	jwt = regtok_mint(&is, 3, MESH, NOW + HOUR, NULL);
	ATF_REQUIRE(regtok_verify(&is, jwt, &rt, err, sizeof(err)) == 0);
	free(jwt);
	ATF_CHECK_EQ(entry(&rt, 3, 3, "10.99.0.3/32", NULL, err,
	    sizeof(err)), REG_OK);
	ATF_CHECK_EQ(entry(&rt, 3, 3, "10.99.0.2/31", NULL, err,
	    sizeof(err)), REG_FORBIDDEN);
	ATF_CHECK_EQ(entry(&rt, 3, 3, "10.99.0.0/24", NULL, err,
	    sizeof(err)), REG_FORBIDDEN);
	issuer_free(&is);
}

/* Forged, another issuer's, expired or altered: never verified. */
ATF_TC_WITHOUT_HEAD(entry_token_forged);
ATF_TC_BODY(entry_token_forged, tc)
{
	struct issuer	 is, other;
	struct regtoken	 rt;
	char		*jwt, *dot, err[CFG_ERR_MAX];

	issuer_new(&is);
	issuer_new(&other);
	jwt = regtok_mint(&other, 3, MESH, NOW + HOUR, "[\"10.99.0.0/24\"]");
	ATF_CHECK_EQ(regtok_verify(&is, jwt, &rt, err, sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "signature") != NULL, "%s", err);
	free(jwt);

	jwt = regtok_mint(&is, 3, MESH, NOW - 1, "[\"10.99.0.3/32\"]");
	ATF_CHECK_EQ(regtok_verify(&is, jwt, &rt, err, sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "exp") != NULL, "%s", err);
	free(jwt);

	/* One character of the payload changed: the signature fails. */
	jwt = regtok_mint(&is, 3, MESH, NOW + HOUR, "[\"10.99.0.3/32\"]");
	ATF_REQUIRE((dot = strchr(jwt, '.')) != NULL);
	dot[1] = dot[1] == 'e' ? 'f' : 'e';
	ATF_CHECK_EQ(regtok_verify(&is, jwt, &rt, err, sizeof(err)), -1);
	free(jwt);
	issuer_free(&is);
	issuer_free(&other);
}

/* Each entry carries the token its node registered with, the latest. */
ATF_TC_WITHOUT_HEAD(lists_tokens);
ATF_TC_BODY(lists_tokens, tc)
{
	struct changes	 c = { 0 };
	struct registry	*reg = reg_new(16, 16, &c);
	struct regtoken	 a = tok(MESH, 1), b = tok(MESH, 2);
	json_t		*j, *reply;
	char		 err[REG_ERR_MAX], big[REG_TOKEN_MAX + 2];
	const char	*t2 = "eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.c2ln";
	uint64_t	 v;

	reg_ok(reg, &a, BODY_A, 0);
	v = reg_ok(reg, &b, BODY_B, 0);
	ATF_REQUIRE((j = registry_peers(reg, &a)) != NULL);
	ATF_CHECK_STREQ(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "peers"), 0), "registry_token")), JWT);
	json_decref(j);

	/* The same body with a new token: a new version, the new token. */
	ATF_REQUIRE_EQ(registry_register(reg, &b, t2, strlen(t2), BODY_B,
	    strlen(BODY_B), SEC, &reply, err, sizeof(err)), REG_OK);
	json_decref(reply);
	ATF_CHECK(registry_version(reg, MESH) > v);
	ATF_REQUIRE((j = registry_peers(reg, &a)) != NULL);
	ATF_CHECK_STREQ(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "peers"), 0), "registry_token")), t2);
	json_decref(j);

	/* None, or one too large to list, is refused; nothing changes. */
	v = registry_version(reg, MESH);
	ATF_CHECK_EQ(registry_register(reg, &b, "", 0, BODY_B,
	    strlen(BODY_B), SEC, &reply, err, sizeof(err)), REG_BAD_TOKEN);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ATF_CHECK_EQ(registry_register(reg, &b, big, strlen(big), BODY_B,
	    strlen(BODY_B), SEC, &reply, err, sizeof(err)), REG_BAD_TOKEN);
	ATF_CHECK_EQ(registry_version(reg, MESH), v);
	registry_free(reg);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, no_claim_fails_closed);
	ATF_TP_ADD_TC(tp, register_and_list);
	ATF_TP_ADD_TC(tp, heartbeat_and_leave);
	ATF_TP_ADD_TC(tp, expiry);
	ATF_TP_ADD_TC(tp, limits);
	ATF_TP_ADD_TC(tp, bad_bodies);
	ATF_TP_ADD_TC(tp, nat);
	ATF_TP_ADD_TC(tp, token_claims);
	ATF_TP_ADD_TC(tp, entry_token);
	ATF_TP_ADD_TC(tp, entry_token_no_claim);
	ATF_TP_ADD_TC(tp, entry_token_forged);
	ATF_TP_ADD_TC(tp, lists_tokens);
	return (atf_no_error());
}
