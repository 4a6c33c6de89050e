/*
 * token_verify, token_mint, the enum names and the wgkey helpers.  Keys
 * are generated in-process (OpenSSL EVP), tokens minted with
 * token_mint and verified at the fixed time NOW.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "token.h"

#define NOW		((time_t)1700000000)
#define HOUR		3600
#define ISSUER		"https://edge.example"
#define AUDIENCE	"cbp2p-mesh"

static const unsigned char hs_secret[] =
    "0123456789abcdef0123456789abcdef-hs256-test-secret";
#define HS_LEN	(sizeof(hs_secret) - 1)

struct keypair {
	char	*priv;
	size_t	 privlen;
	char	*pub;
	size_t	 publen;
};

static char *
bio_string(BIO *b, size_t *len)
{
	char	*data, *s;
	long	 n;

	n = BIO_get_mem_data(b, &data);
	ATF_REQUIRE(n > 0);
	ATF_REQUIRE((s = malloc((size_t)n + 1)) != NULL);
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*len = (size_t)n;
	return (s);
}

static void
keypair_gen(struct keypair *kp, enum jwt_keyalg alg)
{
	EVP_PKEY	*pk;
	BIO		*b;

	if (alg == KEYALG_RS256)
		pk = EVP_RSA_gen(2048);
	else
		pk = EVP_EC_gen("P-256");
	ATF_REQUIRE(pk != NULL);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL,
	    NULL) == 1);
	kp->priv = bio_string(b, &kp->privlen);
	BIO_free(b);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PUBKEY(b, pk) == 1);
	kp->pub = bio_string(b, &kp->publen);
	BIO_free(b);
	EVP_PKEY_free(pk);
}

static void
keypair_free(struct keypair *kp)
{
	free(kp->priv);
	free(kp->pub);
}

static char *
b64key(const uint8_t k[WG_KEY_LEN])
{
	static char	 buf[4][WG_KEY_B64_LEN + 1];
	static int	 i;

	i = (i + 1) % 4;
	wgkey_to_b64(buf[i], k);
	return (buf[i]);
}

/* A valid claims object of the given type with a fresh key pair. */
static json_t *
claims_new(const char *type, uint8_t pub[WG_KEY_LEN])
{
	uint8_t	 priv[WG_KEY_LEN], p[WG_KEY_LEN];
	json_t	*c;

	wgkey_generate(priv);
	ATF_REQUIRE(wgkey_public(p, priv) == 0);
	if (pub != NULL)
		memcpy(pub, p, WG_KEY_LEN);
	c = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, "
	    "s:{s:s, s:s, s:[s, s], s:s, s:i}, "
	    "s:{s:b, s:b, s:s, s:s}, "
	    "s:{s:[], s:b, s:i}, "
	    "s:{s:s, s:s, s:[s, s], s:i}}",
	    "connection_type", type,
	    "exp", (json_int_t)(NOW + HOUR),
	    "nbf", (json_int_t)(NOW - 60),
	    "iss", ISSUER, "aud", AUDIENCE, "sub", "node-1",
	    "wireguard_config",
		"private_key", b64key(priv),
		"public_key", b64key(p),
		"allowed_ips", "10.99.0.0/24", "10.99.1.7/24",
		"endpoint", "203.0.113.5:51820",
		"listen_port", 51820,
	    "mesh_config",
		"auto_discovery", 1, "persistent", 0,
		"routing", "direct", "encryption", "chacha20-poly1305",
	    "peer_whitelist",
		"allowed_peers", "auto_approve", 0, "max_peers", 10,
	    "network_config",
		"address", "10.99.0.1/24", "subnet", "10.99.0.0/16",
		"dns", "10.99.0.53", "2001:db8::53",
		"mtu", 1400);
	ATF_REQUIRE(c != NULL);
	sodium_memzero(priv, sizeof(priv));
	return (c);
}

/* Set (or with v NULL delete) "a" or "a.b" in c; v's reference is taken. */
static void
claims_set(json_t *c, const char *path, json_t *v)
{
	char		 buf[128], *dot;
	json_t		*o = c;

	strlcpy(buf, path, sizeof(buf));
	if ((dot = strchr(buf, '.')) != NULL) {
		*dot = '\0';
		o = json_object_get(c, buf);
		ATF_REQUIRE(o != NULL);
		path = dot + 1;
	} else
		path = buf;
	if (v == NULL)
		ATF_REQUIRE(json_object_del(o, path) == 0);
	else
		ATF_REQUIRE(json_object_set_new(o, path, v) == 0);
}

static char *
mint(json_t *c, enum jwt_keyalg alg, const void *key, size_t keylen)
{
	char	*s, *tok, err[CFG_ERR_MAX];

	ATF_REQUIRE((s = json_dumps(c, JSON_COMPACT)) != NULL);
	if (token_mint(s, alg, key, keylen, &tok, err, sizeof(err)) != 0)
		atf_tc_fail("token_mint: %s", err);
	free(s);
	return (tok);
}

static int
verify(const char *tok, enum jwt_keyalg alg, const void *key,
    size_t keylen, struct token *t, char *err)
{
	return (token_verify(tok, strlen(tok), alg, key, keylen, NULL, NULL,
	    NOW, t, err, CFG_ERR_MAX));
}

static int
all_zero(const void *p, size_t len)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return (0);
	return (1);
}

static void
require_err(const char *err, const char *want)
{
	ATF_REQUIRE_MSG(strchr(err, '\n') == NULL, "not one line: %s", err);
	ATF_REQUIRE_MSG(strncmp(err, "token: ", 7) == 0, "prefix: %s", err);
	ATF_REQUIRE_MSG(strstr(err, want) != NULL,
	    "error \"%s\" does not mention \"%s\"", err, want);
}

/* Mint c under HS256 and require a refusal naming want. */
static void
refused(json_t *c, const char *want)
{
	struct token	 t;
	char		 err[CFG_ERR_MAX] = "", *tok;

	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	memset(&t, 0xa5, sizeof(t));
	ATF_REQUIRE_EQ(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t, err),
	    -1);
	require_err(err, want);
	ATF_REQUIRE_MSG(all_zero(&t, sizeof(t)), "token not cleared");
	free(tok);
	json_decref(c);
}

static void
refused_raw(const char *tok, const char *want)
{
	struct token	 t;
	char		 err[CFG_ERR_MAX] = "";

	ATF_REQUIRE_EQ(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t, err),
	    -1);
	require_err(err, want);
}

static void
accept_types(enum jwt_keyalg alg)
{
	static const struct {
		const char	*name;
		enum conn_type	 type;
	} types[] = {
		{ "client-server", CONN_CLIENT_SERVER },
		{ "server-server", CONN_SERVER_SERVER },
		{ "p2p-mesh", CONN_P2P_MESH },
	};
	struct keypair	 kp = { 0 };
	struct token	 t;
	uint8_t		 pub[WG_KEY_LEN];
	const void	*skey = hs_secret, *vkey = hs_secret;
	size_t		 slen = HS_LEN, vlen = HS_LEN, i;
	char		 err[CFG_ERR_MAX], buf[64], *tok;
	json_t		*c;

	if (alg != KEYALG_HS256) {
		keypair_gen(&kp, alg);
		skey = kp.priv;
		slen = kp.privlen;
		vkey = kp.pub;
		vlen = kp.publen;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		c = claims_new(types[i].name, pub);
		tok = mint(c, alg, skey, slen);
		if (token_verify(tok, strlen(tok), alg, vkey, vlen, ISSUER,
		    AUDIENCE, NOW, &t, err, sizeof(err)) != 0)
			atf_tc_fail("%s %s: %s", keyalg_name(alg),
			    types[i].name, err);
		ATF_CHECK_EQ(t.conn_type, types[i].type);
		ATF_CHECK(memcmp(t.public_key, pub, WG_KEY_LEN) == 0);
		ATF_CHECK_EQ(t.nallowed_ips, 2);
		ATF_REQUIRE(cidr_format(&t.allowed_ips[1], buf,
		    sizeof(buf)) == 0);
		ATF_CHECK_STREQ(buf, "10.99.1.0/24");	/* host bits masked */
		ATF_CHECK_STREQ(t.endpoint, "203.0.113.5:51820");
		ATF_CHECK_EQ(t.listen_port, 51820);
		ATF_CHECK_EQ(t.auto_discovery, 1);
		ATF_CHECK_EQ(t.persistent, 0);
		ATF_CHECK_EQ(t.routing, ROUTING_DIRECT);
		ATF_CHECK_EQ(t.auto_approve, 0);
		ATF_CHECK_EQ(t.max_peers, 10);
		ATF_REQUIRE(cidr_format(&t.address, buf, sizeof(buf)) == 0);
		ATF_CHECK_STREQ(buf, "10.99.0.1/24");	/* host bits kept */
		ATF_CHECK_EQ(t.ndns, 2);
		ATF_CHECK_EQ(t.dns[1].af, AF_INET6);
		ATF_CHECK_EQ(t.mtu, 1400);
		ATF_CHECK_EQ(t.exp, NOW + HOUR);
		ATF_CHECK_EQ(t.nbf, NOW - 60);
		ATF_CHECK_STREQ(t.iss, ISSUER);
		ATF_CHECK_STREQ(t.aud, AUDIENCE);
		ATF_CHECK_STREQ(t.sub, "node-1");
		token_free(&t);
		free(tok);
		json_decref(c);
	}
	keypair_free(&kp);
}

ATF_TC_WITHOUT_HEAD(accept_rs256);
ATF_TC_BODY(accept_rs256, tc)
{
	accept_types(KEYALG_RS256);
}

ATF_TC_WITHOUT_HEAD(accept_es256);
ATF_TC_BODY(accept_es256, tc)
{
	accept_types(KEYALG_ES256);
}

ATF_TC_WITHOUT_HEAD(accept_hs256);
ATF_TC_BODY(accept_hs256, tc)
{
	accept_types(KEYALG_HS256);
}

ATF_TC_WITHOUT_HEAD(accept_defaults);
ATF_TC_BODY(accept_defaults, tc)
{
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "mesh_config", NULL);
	claims_set(c, "peer_whitelist", NULL);
	claims_set(c, "network_config.mtu", NULL);
	claims_set(c, "nbf", NULL);
	claims_set(c, "aud", json_pack("[s, s]", "other", AUDIENCE));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	if (token_verify(tok, strlen(tok), KEYALG_HS256, hs_secret, HS_LEN,
	    ISSUER, AUDIENCE, NOW, &t, err, sizeof(err)) != 0)
		atf_tc_fail("%s", err);
	ATF_CHECK_EQ(t.auto_discovery, 1);
	ATF_CHECK_EQ(t.persistent, 1);
	ATF_CHECK_EQ(t.routing, ROUTING_HYBRID);
	ATF_CHECK_STREQ(t.encryption, "chacha20-poly1305");
	ATF_CHECK_EQ(t.auto_approve, 1);
	/* cbp2pd.yaml(5): max_peers "default 64", mtu "default 1420". */
	ATF_CHECK_EQ(t.max_peers, 64);
	ATF_CHECK_EQ(t.nallowed_peers, 0);
	ATF_CHECK_EQ(t.mtu, 1420);
	ATF_CHECK_EQ(t.nbf, 0);
	ATF_CHECK_STREQ(t.aud, AUDIENCE);
	token_free(&t);
	free(tok);
	json_decref(c);
}

static json_t *
peer_new(uint8_t pub[WG_KEY_LEN], int psk)
{
	uint8_t	 priv[WG_KEY_LEN], p[WG_KEY_LEN], k[WG_KEY_LEN];
	json_t	*o;

	wgkey_generate(priv);
	ATF_REQUIRE(wgkey_public(p, priv) == 0);
	if (pub != NULL)
		memcpy(pub, p, WG_KEY_LEN);
	o = json_pack("{s:s, s:s, s:[s, s], s:i}", "public_key", b64key(p),
	    "endpoint", "[2001:db8::2]:51820", "allowed_ips", "10.98.0.0/16",
	    "fd00:98::1/64", "persistent_keepalive", 25);
	ATF_REQUIRE(o != NULL);
	if (psk) {
		randombytes_buf(k, sizeof(k));
		json_object_set_new(o, "preshared_key",
		    json_string(b64key(k)));
	}
	return (o);
}

ATF_TC_WITHOUT_HEAD(accept_server_peers_psk);
ATF_TC_BODY(accept_server_peers_psk, tc)
{
	struct token	 t;
	uint8_t		 p0[WG_KEY_LEN], p1[WG_KEY_LEN];
	char		 err[CFG_ERR_MAX], buf[64], *tok;
	json_t		*c;

	c = claims_new("server-server", NULL);
	claims_set(c, "peers", json_pack("[o, o]", peer_new(p0, 1),
	    peer_new(p1, 0)));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	if (verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t, err) != 0)
		atf_tc_fail("%s", err);
	ATF_REQUIRE_EQ(t.npeers, 2);
	ATF_CHECK(memcmp(t.peers[0].public_key, p0, WG_KEY_LEN) == 0);
	ATF_CHECK(memcmp(t.peers[1].public_key, p1, WG_KEY_LEN) == 0);
	ATF_CHECK_EQ(t.peers[0].has_psk, 1);
	ATF_CHECK(!all_zero(t.peers[0].preshared_key, WG_KEY_LEN));
	ATF_CHECK_EQ(t.peers[1].has_psk, 0);
	ATF_CHECK_STREQ(t.peers[0].endpoint, "[2001:db8::2]:51820");
	ATF_CHECK_EQ(t.peers[0].persistent_keepalive, 25);
	ATF_REQUIRE_EQ(t.peers[0].nallowed_ips, 2);
	ATF_REQUIRE(cidr_format(&t.peers[0].allowed_ips[1], buf,
	    sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "fd00:98::/64");
	/* An IPv6 allowed IP raises the MTU floor; 1400 is above it. */
	ATF_CHECK_EQ(t.mtu, 1400);
	token_free(&t);
	free(tok);
	json_decref(c);
}

ATF_TC_WITHOUT_HEAD(mint_header);
ATF_TC_BODY(mint_header, tc)
{
	struct token	 t;
	unsigned char	 hdr[256];
	size_t		 hlen;
	char		 err[CFG_ERR_MAX], *tok, *s;
	json_t		*c, *h;

	c = claims_new("p2p-mesh", NULL);
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	ATF_REQUIRE(sodium_base642bin(hdr, sizeof(hdr) - 1, tok,
	    (size_t)(strchr(tok, '.') - tok), NULL, &hlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
	ATF_REQUIRE((h = json_loadb((char *)hdr, hlen, 0, NULL)) != NULL);
	ATF_CHECK_STREQ(json_string_value(json_object_get(h, "typ")), "JWT");
	ATF_CHECK_STREQ(json_string_value(json_object_get(h, "alg")),
	    "HS256");
	json_decref(h);
	free(tok);

	/* Extra header fields, but never a caller-chosen alg. */
	s = json_dumps(c, JSON_COMPACT);
	ATF_REQUIRE(token_mint_hdr("{\"kid\":\"k1\"}", s, KEYALG_HS256,
	    hs_secret, HS_LEN, &tok, err, sizeof(err)) == 0);
	ATF_REQUIRE(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) == 0);
	token_free(&t);
	free(tok);
	ATF_REQUIRE(token_mint_hdr("{\"alg\":\"none\"}", s, KEYALG_HS256,
	    hs_secret, HS_LEN, &tok, err, sizeof(err)) == -1);
	ATF_CHECK(strstr(err, "header.alg") != NULL);
	/* A short HS256 secret is refused for minting too. */
	ATF_REQUIRE(token_mint(s, KEYALG_HS256, hs_secret, 16, &tok, err,
	    sizeof(err)) == -1);
	ATF_REQUIRE(token_mint("[1]", KEYALG_HS256, hs_secret, HS_LEN, &tok,
	    err, sizeof(err)) == -1);
	free(s);
	json_decref(c);
}

ATF_TC_WITHOUT_HEAD(free_zeroes);
ATF_TC_BODY(free_zeroes, tc)
{
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	c = claims_new("server-server", NULL);
	claims_set(c, "peers", json_pack("[o]", peer_new(NULL, 1)));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	ATF_REQUIRE(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) == 0);
	ATF_REQUIRE(!all_zero(t.private_key, WG_KEY_LEN));
	token_free(&t);
	ATF_CHECK(all_zero(t.private_key, WG_KEY_LEN));
	ATF_CHECK(all_zero(&t, sizeof(t)));
	free(tok);
	json_decref(c);
}

/* Signature and header attacks. */

ATF_TC_WITHOUT_HEAD(bad_signature);
ATF_TC_BODY(bad_signature, tc)
{
	struct keypair	 kp;
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok, *sig;
	json_t		*c;

	keypair_gen(&kp, KEYALG_ES256);
	c = claims_new("p2p-mesh", NULL);
	tok = mint(c, KEYALG_ES256, kp.priv, kp.privlen);
	ATF_REQUIRE(verify(tok, KEYALG_ES256, kp.pub, kp.publen, &t,
	    err) == 0);
	token_free(&t);
	/* A middle character: all six of its bits are signature bits. */
	sig = strrchr(tok, '.') + 1;
	sig[strlen(sig) / 2] = sig[strlen(sig) / 2] == 'A' ? 'B' : 'A';
	ATF_REQUIRE(verify(tok, KEYALG_ES256, kp.pub, kp.publen, &t,
	    err) == -1);
	require_err(err, "signature");
	free(tok);
	json_decref(c);
	keypair_free(&kp);
}

ATF_TC_WITHOUT_HEAD(other_key);
ATF_TC_BODY(other_key, tc)
{
	static const unsigned char other[] =
	    "another-secret-of-forty-bytes-0123456789";
	struct keypair	 a, b;
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	keypair_gen(&a, KEYALG_ES256);
	keypair_gen(&b, KEYALG_ES256);
	c = claims_new("p2p-mesh", NULL);
	tok = mint(c, KEYALG_ES256, b.priv, b.privlen);
	ATF_REQUIRE(verify(tok, KEYALG_ES256, a.pub, a.publen, &t,
	    err) == -1);
	require_err(err, "signature");
	free(tok);
	tok = mint(c, KEYALG_HS256, other, sizeof(other) - 1);
	ATF_REQUIRE(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) == -1);
	require_err(err, "signature");
	free(tok);
	json_decref(c);
	keypair_free(&a);
	keypair_free(&b);
}

ATF_TC_WITHOUT_HEAD(alg_none);
ATF_TC_BODY(alg_none, tc)
{
	struct keypair	 kp;
	struct token	 t;
	char		 err[CFG_ERR_MAX], tok[8192], *s, *good;
	json_t		*c;

	keypair_gen(&kp, KEYALG_ES256);
	c = claims_new("p2p-mesh", NULL);
	good = mint(c, KEYALG_ES256, kp.priv, kp.privlen);
	/* Header {"alg":"none"}, the genuine payload, empty signature. */
	s = strchr(good, '.');
	*strrchr(good, '.') = '\0';
	snprintf(tok, sizeof(tok), "eyJhbGciOiJub25lIn0%s.", s);
	ATF_REQUIRE(verify(tok, KEYALG_ES256, kp.pub, kp.publen, &t,
	    err) == -1);
	require_err(err, "header.alg");
	require_err(err, "none");
	/* Even with the configured alg's signature slot filled in. */
	snprintf(tok, sizeof(tok), "eyJhbGciOiJub25lIn0%s.AAAA", s);
	ATF_REQUIRE(verify(tok, KEYALG_ES256, kp.pub, kp.publen, &t,
	    err) == -1);
	require_err(err, "header.alg");
	free(good);
	json_decref(c);
	keypair_free(&kp);
}

ATF_TC_WITHOUT_HEAD(alg_confusion);
ATF_TC_BODY(alg_confusion, tc)
{
	struct keypair	 kp;
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	keypair_gen(&kp, KEYALG_RS256);
	c = claims_new("p2p-mesh", NULL);
	/* The attacker knows the public key and uses it as HMAC secret. */
	tok = mint(c, KEYALG_HS256, kp.pub, kp.publen);
	ATF_REQUIRE(verify(tok, KEYALG_RS256, kp.pub, kp.publen, &t,
	    err) == -1);
	require_err(err, "header.alg");
	require_err(err, "RS256");
	/* Configuring HS256 with a PEM as the secret is refused as well. */
	ATF_REQUIRE(verify(tok, KEYALG_HS256, kp.pub, kp.publen, &t,
	    err) == -1);
	require_err(err, "PEM");
	free(tok);
	json_decref(c);
	keypair_free(&kp);
}

ATF_TC_WITHOUT_HEAD(oversized);
ATF_TC_BODY(oversized, tc)
{
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok;

	/* cbp2pd.yaml(5), NODE TOKEN: "at most 65536 bytes"; one more. */
	ATF_REQUIRE((tok = malloc(65536 + 2)) != NULL);
	memset(tok, 'A', 65536 + 1);
	tok[10] = '.';
	tok[20] = '.';
	tok[65536 + 1] = '\0';
	ATF_REQUIRE(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) == -1);
	require_err(err, "longer than 65536");
	free(tok);
}

ATF_TC_WITHOUT_HEAD(trailing_garbage);
ATF_TC_BODY(trailing_garbage, tc)
{
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok, *bad;
	size_t		 len;
	json_t		*c;

	c = claims_new("p2p-mesh", NULL);
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	len = strlen(tok);
	ATF_REQUIRE((bad = malloc(len + 16)) != NULL);
	snprintf(bad, len + 16, "%s garbage", tok);
	refused_raw(bad, "malformed");
	snprintf(bad, len + 16, "%s.", tok);
	refused_raw(bad, "malformed");
	snprintf(bad, len + 16, "%s\n", tok);
	refused_raw(bad, "malformed");
	/* The exact token still verifies. */
	ATF_REQUIRE(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) == 0);
	token_free(&t);
	free(bad);
	free(tok);
	json_decref(c);
}

ATF_TC_WITHOUT_HEAD(malformed);
ATF_TC_BODY(malformed, tc)
{
	refused_raw("", "empty");
	refused_raw("abc", "malformed");
	refused_raw("a.b", "malformed");
	refused_raw("a..c", "malformed");
	refused_raw("eyJhbGciOiJIUzI1NiJ9.e30=.AAAA", "malformed");
	refused_raw("eyJhbGciOiJIUzI1NiJ9.e 30.AAAA", "malformed");
	refused_raw("bm90IGpzb24.e30.AAAA", "header");
}

/* Time and registered claims. */

ATF_TC_WITHOUT_HEAD(expired);
ATF_TC_BODY(expired, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "exp", json_integer(NOW));
	refused(c, "exp: expired");
}

ATF_TC_WITHOUT_HEAD(exp_missing);
ATF_TC_BODY(exp_missing, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "exp", NULL);
	refused(c, "exp: missing");
	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "exp", json_string("1800000000"));
	refused(c, "exp: must be an integer");
}

ATF_TC_WITHOUT_HEAD(not_yet_valid);
ATF_TC_BODY(not_yet_valid, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "nbf", json_integer(NOW + 1));
	refused(c, "nbf: not valid before");
}

static void
iss_aud(json_t *c, const char *want)
{
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok;

	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	ATF_REQUIRE(token_verify(tok, strlen(tok), KEYALG_HS256, hs_secret,
	    HS_LEN, ISSUER, AUDIENCE, NOW, &t, err, sizeof(err)) == -1);
	require_err(err, want);
	/* Not expecting any issuer or audience accepts it. */
	ATF_REQUIRE(token_verify(tok, strlen(tok), KEYALG_HS256, hs_secret,
	    HS_LEN, "", "", NOW, &t, err, sizeof(err)) == 0);
	token_free(&t);
	free(tok);
	json_decref(c);
}

ATF_TC_WITHOUT_HEAD(wrong_issuer);
ATF_TC_BODY(wrong_issuer, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "iss", json_string("https://evil.example"));
	iss_aud(c, "iss: \"https://evil.example\" is not the expected");
	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "iss", NULL);
	iss_aud(c, "iss: missing");
}

ATF_TC_WITHOUT_HEAD(wrong_audience);
ATF_TC_BODY(wrong_audience, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "aud", json_string("someone-else"));
	iss_aud(c, "aud: does not contain");
	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "aud", json_pack("[s, s]", "a", "b"));
	iss_aud(c, "aud: does not contain");
}

/* Claims. */

ATF_TC_WITHOUT_HEAD(missing_connection_type);
ATF_TC_BODY(missing_connection_type, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "connection_type", NULL);
	refused(c, "connection_type: missing");
}

ATF_TC_WITHOUT_HEAD(missing_wireguard_config);
ATF_TC_BODY(missing_wireguard_config, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "wireguard_config", NULL);
	refused(c, "wireguard_config: missing");
	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "wireguard_config", json_string("{}"));
	refused(c, "wireguard_config: must be an object");
}

ATF_TC_WITHOUT_HEAD(missing_network_address);
ATF_TC_BODY(missing_network_address, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "network_config.address", NULL);
	refused(c, "network_config.address: missing");
}

ATF_TC_WITHOUT_HEAD(max_peers_string);
ATF_TC_BODY(max_peers_string, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "peer_whitelist.max_peers", json_string("10"));
	refused(c, "peer_whitelist.max_peers: must be an integer");
}

ATF_TC_WITHOUT_HEAD(auto_approve_string);
ATF_TC_BODY(auto_approve_string, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "peer_whitelist.auto_approve", json_string("true"));
	refused(c, "peer_whitelist.auto_approve: must be true or false");
}

ATF_TC_WITHOUT_HEAD(allowed_ips_string);
ATF_TC_BODY(allowed_ips_string, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "wireguard_config.allowed_ips",
	    json_string("10.0.0.0/8"));
	refused(c, "wireguard_config.allowed_ips: must be an array");
}

ATF_TC_WITHOUT_HEAD(unknown_field);
ATF_TC_BODY(unknown_field, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "mesh_config.rooting", json_string("direct"));
	refused(c, "mesh_config.rooting: unknown field");
}

static void
bad_privkey(size_t n, const char *literal)
{
	uint8_t	 raw[WG_KEY_LEN + 1];
	char	 b64[64];
	json_t	*c;

	randombytes_buf(raw, sizeof(raw));
	if (literal == NULL)
		sodium_bin2base64(b64, sizeof(b64), raw, n,
		    sodium_base64_VARIANT_ORIGINAL);
	else
		strlcpy(b64, literal, sizeof(b64));
	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "wireguard_config.private_key", json_string(b64));
	refused(c, "wireguard_config.private_key: must be 32 bytes");
}

ATF_TC_WITHOUT_HEAD(privkey_31_bytes);
ATF_TC_BODY(privkey_31_bytes, tc)
{
	bad_privkey(31, NULL);
}

ATF_TC_WITHOUT_HEAD(privkey_33_bytes);
ATF_TC_BODY(privkey_33_bytes, tc)
{
	bad_privkey(33, NULL);
}

ATF_TC_WITHOUT_HEAD(privkey_not_base64);
ATF_TC_BODY(privkey_not_base64, tc)
{
	bad_privkey(0, "not base64 at all, but forty-four characters");
	/* Non-zero padding bits: not the canonical encoding of a key. */
	bad_privkey(0, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=");
}

ATF_TC_WITHOUT_HEAD(pubkey_mismatch);
ATF_TC_BODY(pubkey_mismatch, tc)
{
	uint8_t	 k[WG_KEY_LEN];
	json_t	*c;

	randombytes_buf(k, sizeof(k));
	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "wireguard_config.public_key", json_string(b64key(k)));
	refused(c, "wireguard_config.public_key: does not match");
}

static void
bad_cidr(const char *field, const char *val, const char *want)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	if (strcmp(field, "wireguard_config.allowed_ips") == 0)
		claims_set(c, field, json_pack("[s]", val));
	else
		claims_set(c, field, json_string(val));
	refused(c, want);
}

ATF_TC_WITHOUT_HEAD(cidr_bad_octet);
ATF_TC_BODY(cidr_bad_octet, tc)
{
	bad_cidr("wireguard_config.allowed_ips", "300.1.1.1/24",
	    "wireguard_config.allowed_ips[0]: \"300.1.1.1/24\"");
}

ATF_TC_WITHOUT_HEAD(cidr_prefix_33);
ATF_TC_BODY(cidr_prefix_33, tc)
{
	bad_cidr("wireguard_config.allowed_ips", "10.0.0.0/33",
	    "wireguard_config.allowed_ips[0]: \"10.0.0.0/33\"");
}

ATF_TC_WITHOUT_HEAD(cidr_no_prefix);
ATF_TC_BODY(cidr_no_prefix, tc)
{
	bad_cidr("network_config.address", "10.0.0.0",
	    "network_config.address: \"10.0.0.0\"");
}

ATF_TC_WITHOUT_HEAD(cidr_v6_prefix_129);
ATF_TC_BODY(cidr_v6_prefix_129, tc)
{
	bad_cidr("wireguard_config.allowed_ips", "::/129",
	    "wireguard_config.allowed_ips[0]: \"::/129\"");
}

ATF_TC_WITHOUT_HEAD(address_outside_subnet);
ATF_TC_BODY(address_outside_subnet, tc)
{
	bad_cidr("network_config.address", "10.1.0.1/24",
	    "network_config.address: not inside network_config.subnet");
}

ATF_TC_WITHOUT_HEAD(dns_search);
ATF_TC_BODY(dns_search, tc)
{
	struct token	 t;
	json_t		*c;
	char		*tok, err[CFG_ERR_MAX];

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "network_config.dns_search",
	    json_pack("[s, s]", "mesh.example", "corp.example"));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	if (verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) != 0)
		atf_tc_fail("%s", err);
	ATF_CHECK_EQ(t.ndns, 2);
	ATF_CHECK_EQ(t.ndns_search, 2);
	ATF_CHECK_STREQ(t.dns_search[1], "corp.example");
	token_free(&t);
	free(tok);

	/* A newline would be a line of its own in resolv.conf. */
	claims_set(c, "network_config.dns_search",
	    json_pack("[s]", "a.example\nnameserver 6.6.6.6"));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	ATF_CHECK(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) == -1);
	ATF_CHECK(strstr(err, "network_config.dns_search[0]") != NULL);
	free(tok);
	claims_set(c, "network_config.dns_search", json_string("a.example"));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	ATF_CHECK(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) == -1);
	ATF_CHECK(strstr(err, "must be an array") != NULL);
	free(tok);
	json_decref(c);
}

ATF_TC_WITHOUT_HEAD(mtu_575);
ATF_TC_BODY(mtu_575, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "network_config.mtu", json_integer(575));
	refused(c, "network_config.mtu: must be an integer from 576 to 9000");
}

ATF_TC_WITHOUT_HEAD(mtu_9001);
ATF_TC_BODY(mtu_9001, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "network_config.mtu", json_integer(9001));
	refused(c, "network_config.mtu: must be an integer from 576 to 9000");
}

ATF_TC_WITHOUT_HEAD(mtu_1279_v6);
ATF_TC_BODY(mtu_1279_v6, tc)
{
	struct token	 t;
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	/* 1279 is fine for IPv4 only... */
	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "network_config.mtu", json_integer(1279));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	ATF_REQUIRE(verify(tok, KEYALG_HS256, hs_secret, HS_LEN, &t,
	    err) == 0);
	token_free(&t);
	free(tok);
	/* ...but not with an IPv6 tunnel address. */
	claims_set(c, "network_config.address", json_string("fd00::1/64"));
	claims_set(c, "network_config.subnet", NULL);
	refused(c, "network_config.mtu: 1279 is below 1280");
}

ATF_TC_WITHOUT_HEAD(unknown_connection_type);
ATF_TC_BODY(unknown_connection_type, tc)
{
	refused(claims_new("mesh", NULL),
	    "connection_type: unknown value \"mesh\"");
}

ATF_TC_WITHOUT_HEAD(unknown_routing);
ATF_TC_BODY(unknown_routing, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "mesh_config.routing", json_string("anycast"));
	refused(c, "mesh_config.routing: unknown value \"anycast\"");
}

ATF_TC_WITHOUT_HEAD(unknown_encryption);
ATF_TC_BODY(unknown_encryption, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "mesh_config.encryption", json_string("aes-256-gcm"));
	refused(c, "mesh_config.encryption: unknown value \"aes-256-gcm\"");
}

ATF_TC_WITHOUT_HEAD(max_peers_zero);
ATF_TC_BODY(max_peers_zero, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "peer_whitelist.max_peers", json_integer(0));
	refused(c, "peer_whitelist.max_peers: must be an integer from 1");
}

ATF_TC_WITHOUT_HEAD(max_peers_negative);
ATF_TC_BODY(max_peers_negative, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "peer_whitelist.max_peers", json_integer(-1));
	refused(c, "peer_whitelist.max_peers: must be an integer from 1");
}

ATF_TC_WITHOUT_HEAD(whitelist_bad_key);
ATF_TC_BODY(whitelist_bad_key, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "peer_whitelist.allowed_peers",
	    json_pack("[s]", "short"));
	refused(c, "peer_whitelist.allowed_peers[0]: must be 32 bytes");
}

ATF_TC_WITHOUT_HEAD(duplicate_peer);
ATF_TC_BODY(duplicate_peer, tc)
{
	json_t	*c, *p;

	c = claims_new("server-server", NULL);
	p = peer_new(NULL, 0);
	claims_set(c, "peers", json_pack("[O, o]", p, json_deep_copy(p)));
	json_decref(p);
	refused(c, "peers[1].public_key: duplicate of peers[0].public_key");
}

ATF_TC_WITHOUT_HEAD(peer_is_self);
ATF_TC_BODY(peer_is_self, tc)
{
	uint8_t	 self[WG_KEY_LEN];
	json_t	*c, *p;

	c = claims_new("server-server", self);
	p = peer_new(NULL, 1);
	json_object_set_new(p, "public_key", json_string(b64key(self)));
	claims_set(c, "peers", json_pack("[o]", p));
	refused(c, "peers[0].public_key: is this node's own public key");
}

/* Points of small order: X25519 with them gives no shared secret. */
ATF_TC_WITHOUT_HEAD(peer_small_order);
ATF_TC_BODY(peer_small_order, tc)
{
	static const char *const small[] = {
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",	/* 0 */
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",	/* 1 */
		/* e0eb7a7c...b800, of order 8 */
		"4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=",
	};
	json_t	*c, *p;
	size_t	 i;

	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		c = claims_new("server-server", NULL);
		p = peer_new(NULL, 0);
		json_object_set_new(p, "public_key", json_string(small[i]));
		claims_set(c, "peers", json_pack("[o]", p));
		refused(c, "peers[0].public_key: is not a usable public key");
	}
}

ATF_TC_WITHOUT_HEAD(peer_bad_psk);
ATF_TC_BODY(peer_bad_psk, tc)
{
	json_t	*c, *p;

	c = claims_new("server-server", NULL);
	p = peer_new(NULL, 0);
	json_object_set_new(p, "preshared_key", json_string("AAAA"));
	claims_set(c, "peers", json_pack("[o]", p));
	refused(c, "peers[0].preshared_key: must be 32 bytes");
}

ATF_TC_WITHOUT_HEAD(peers_client_server);
ATF_TC_BODY(peers_client_server, tc)
{
	json_t	*c;

	c = claims_new("client-server", NULL);
	claims_set(c, "peers", json_pack("[o]", peer_new(NULL, 0)));
	refused(c, "peers: not allowed with connection_type client-server");
}

ATF_TC_WITHOUT_HEAD(bad_endpoint);
ATF_TC_BODY(bad_endpoint, tc)
{
	json_t	*c;

	c = claims_new("p2p-mesh", NULL);
	claims_set(c, "wireguard_config.endpoint",
	    json_string("203.0.113.5:0"));
	refused(c, "wireguard_config.endpoint: \"203.0.113.5:0\"");
}

/* Helpers. */

ATF_TC_WITHOUT_HEAD(wgkey_vectors);
ATF_TC_BODY(wgkey_vectors, tc)
{
	/* RFC 7748 6.1, Alice. */
	static const char priv_b64[] =
	    "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
	static const char pub_b64[] =
	    "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
	uint8_t	 priv[WG_KEY_LEN], pub[WG_KEY_LEN], g[WG_KEY_LEN];
	char	 b64[WG_KEY_B64_LEN + 1];

	ATF_REQUIRE(wgkey_from_b64(priv, priv_b64) == 0);
	ATF_REQUIRE(wgkey_public(pub, priv) == 0);
	wgkey_to_b64(b64, pub);
	ATF_CHECK_STREQ(b64, pub_b64);

	wgkey_generate(g);
	ATF_CHECK_EQ(g[0] & 7, 0);
	ATF_CHECK_EQ(g[31] & 0xc0, 0x40);

	ATF_CHECK(wgkey_from_b64(g,
	    "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo") == -1);
	ATF_CHECK(wgkey_from_b64(g,
	    "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=") == -1);
	ATF_CHECK(wgkey_from_b64(g,
	    " hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=") == -1);
	ATF_CHECK(wgkey_from_b64(g,
	    "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n") == -1);
	ATF_CHECK(wgkey_from_b64(g, "") == -1);
	ATF_CHECK(wgkey_from_b64(g, NULL) == -1);
}

ATF_TC_WITHOUT_HEAD(names);
ATF_TC_BODY(names, tc)
{
	enum jwt_keyalg	 a;

	ATF_CHECK(keyalg_parse("rs256", &a) == 0 && a == KEYALG_RS256);
	ATF_CHECK(keyalg_parse("Es256", &a) == 0 && a == KEYALG_ES256);
	ATF_CHECK(keyalg_parse("HS256", &a) == 0 && a == KEYALG_HS256);
	ATF_CHECK(keyalg_parse("none", &a) == -1);
	ATF_CHECK(keyalg_parse("HS512", &a) == -1);
	ATF_CHECK_STREQ(keyalg_name(KEYALG_ES256), "ES256");
	ATF_CHECK_STREQ(conn_type_name(CONN_SERVER_SERVER), "server-server");
	ATF_CHECK_STREQ(routing_mode_name(ROUTING_RELAY), "relay");
}

/* A registry token's claims (doc/registry.md) for a fresh key. */
static json_t *
regclaims_new(uint8_t pub[WG_KEY_LEN])
{
	uint8_t	 priv[WG_KEY_LEN];
	json_t	*c;

	wgkey_generate(priv);
	ATF_REQUIRE(wgkey_public(pub, priv) == 0);
	c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}",
	    "iss", ISSUER, "aud", AUDIENCE, "sub", "node-1",
	    "exp", (json_int_t)(NOW + HOUR), "nbf", (json_int_t)(NOW - 60),
	    "token_use", "registry", "public_key", b64key(pub),
	    "mesh", "10.99.0.0/16");
	ATF_REQUIRE(c != NULL);
	sodium_memzero(priv, sizeof(priv));
	return (c);
}

static int
regverify(const char *tok, enum jwt_keyalg alg, const void *key,
    size_t keylen, struct regtoken *rt, char *err)
{
	return (regtoken_verify(tok, strlen(tok), alg, key, keylen, ISSUER,
	    AUDIENCE, NOW, rt, err, CFG_ERR_MAX));
}

/* Mint c under HS256; regtoken_verify must refuse it naming want. */
static void
regrefused(json_t *c, const char *want)
{
	struct regtoken	 rt;
	char		 err[CFG_ERR_MAX] = "", *tok;

	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	memset(&rt, 0xa5, sizeof(rt));
	ATF_REQUIRE_EQ(regverify(tok, KEYALG_HS256, hs_secret, HS_LEN, &rt,
	    err), -1);
	require_err(err, want);
	ATF_REQUIRE_MSG(all_zero(&rt, sizeof(rt)), "regtoken not cleared");
	free(tok);
	json_decref(c);
}

ATF_TC_WITHOUT_HEAD(regtoken_accept);
ATF_TC_BODY(regtoken_accept, tc)
{
	static const enum jwt_keyalg algs[] = { KEYALG_RS256, KEYALG_ES256,
	    KEYALG_HS256 };
	struct keypair	 kp;
	struct regtoken	 rt;
	uint8_t		 pub[WG_KEY_LEN];
	const void	*skey, *vkey;
	size_t		 slen, vlen, i;
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		memset(&kp, 0, sizeof(kp));
		skey = vkey = hs_secret;
		slen = vlen = HS_LEN;
		if (algs[i] != KEYALG_HS256) {
			keypair_gen(&kp, algs[i]);
			skey = kp.priv;
			slen = kp.privlen;
			vkey = kp.pub;
			vlen = kp.publen;
		}
		c = regclaims_new(pub);
		tok = mint(c, algs[i], skey, slen);
		if (regverify(tok, algs[i], vkey, vlen, &rt, err) != 0)
			atf_tc_fail("%s: %s", keyalg_name(algs[i]), err);
		ATF_CHECK(memcmp(rt.public_key, pub, WG_KEY_LEN) == 0);
		ATF_CHECK_STREQ(rt.mesh, "10.99.0.0/16");
		ATF_CHECK_STREQ(rt.sub, "node-1");
		ATF_CHECK_EQ(rt.exp, NOW + HOUR);
		/* Signed by one key, refused by another algorithm's. */
		if (algs[i] != KEYALG_HS256)
			ATF_CHECK_EQ(regverify(tok, KEYALG_HS256, hs_secret,
			    HS_LEN, &rt, err), -1);
		free(tok);
		json_decref(c);
		keypair_free(&kp);
	}
}

ATF_TC_WITHOUT_HEAD(regtoken_mesh_longest);
ATF_TC_BODY(regtoken_mesh_longest, tc)
{
	struct regtoken	 rt;
	uint8_t		 pub[WG_KEY_LEN];
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	/* The longest mesh and every allowed character. */
	c = regclaims_new(pub);
	claims_set(c, "mesh", json_string("Az09._:/-"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	if (regverify(tok, KEYALG_HS256, hs_secret, HS_LEN, &rt, err) != 0)
		atf_tc_fail("%s", err);
	/* doc/registry.md: "mesh id, 1..64 chars". */
	ATF_CHECK_EQ(strlen(rt.mesh), 64);
	free(tok);
	json_decref(c);
}

ATF_TC_WITHOUT_HEAD(regtoken_node_token);
ATF_TC_BODY(regtoken_node_token, tc)
{
	uint8_t	 pub[WG_KEY_LEN];
	json_t	*c;

	/* A node token holds a private key: never a registry token. */
	c = claims_new("p2p-mesh", pub);
	claims_set(c, "token_use", json_string("registry"));
	claims_set(c, "public_key", json_string(b64key(pub)));
	claims_set(c, "mesh", json_string("m"));
	regrefused(c, "wireguard_config");
	regrefused(claims_new("p2p-mesh", NULL), "wireguard_config");
}

ATF_TC_WITHOUT_HEAD(regtoken_token_use);
ATF_TC_BODY(regtoken_token_use, tc)
{
	uint8_t	 pub[WG_KEY_LEN];
	json_t	*c;

	c = regclaims_new(pub);
	claims_set(c, "token_use", NULL);
	regrefused(c, "token_use");
	c = regclaims_new(pub);
	claims_set(c, "token_use", json_string("node"));
	regrefused(c, "token_use");
	c = regclaims_new(pub);
	claims_set(c, "token_use", json_integer(1));
	regrefused(c, "token_use");
}

ATF_TC_WITHOUT_HEAD(regtoken_public_key);
ATF_TC_BODY(regtoken_public_key, tc)
{
	uint8_t	 pub[WG_KEY_LEN];
	json_t	*c;

	c = regclaims_new(pub);
	claims_set(c, "public_key", NULL);
	regrefused(c, "public_key");
	c = regclaims_new(pub);
	claims_set(c, "public_key", json_string("not base64!"));
	regrefused(c, "public_key");
	c = regclaims_new(pub);
	/* 31 bytes of base64. */
	claims_set(c, "public_key", json_string(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="));
	regrefused(c, "public_key");
}

/* The address and allowed IPs a registry token grants its node. */
ATF_TC_WITHOUT_HEAD(regtoken_grants);
ATF_TC_BODY(regtoken_grants, tc)
{
	struct regtoken	 rt;
	struct cidr	 want;
	uint8_t		 pub[WG_KEY_LEN];
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	c = regclaims_new(pub);
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	ATF_REQUIRE(regverify(tok, KEYALG_HS256, hs_secret, HS_LEN, &rt,
	    err) == 0);
	ATF_CHECK(!rt.has_address && !rt.has_allowed_ips);
	free(tok);
	claims_set(c, "address", json_string("10.99.0.5/16"));
	claims_set(c, "allowed_ips", json_pack("[s, s]", "10.99.0.5/32",
	    "10.98.7.1/24"));
	tok = mint(c, KEYALG_HS256, hs_secret, HS_LEN);
	if (regverify(tok, KEYALG_HS256, hs_secret, HS_LEN, &rt, err) != 0)
		atf_tc_fail("%s", err);
	ATF_CHECK(rt.has_address && rt.has_allowed_ips);
	ATF_CHECK_EQ(rt.nallowed_ips, 2);
	ATF_REQUIRE(cidr_parse("10.99.0.5/16", &want) == 0);
	ATF_CHECK(memcmp(&rt.address, &want, sizeof(want)) == 0);
	/* Host bits of allowed IPs are cleared, as for node tokens. */
	ATF_REQUIRE(cidr_parse("10.98.7.0/24", &want) == 0);
	ATF_CHECK(memcmp(&rt.allowed_ips[1], &want, sizeof(want)) == 0);
	free(tok);
	json_decref(c);

	c = regclaims_new(pub);
	claims_set(c, "address", json_string("10.99.0.300/16"));
	regrefused(c, "address");
	c = regclaims_new(pub);
	claims_set(c, "allowed_ips", json_string("10.99.0.5/32"));
	regrefused(c, "allowed_ips");
	c = regclaims_new(pub);
	claims_set(c, "allowed_ips", json_pack("[s]", "10.99.0.5"));
	regrefused(c, "allowed_ips");
}

ATF_TC_WITHOUT_HEAD(regtoken_mesh);
ATF_TC_BODY(regtoken_mesh, tc)
{
	uint8_t	 pub[WG_KEY_LEN];
	char	 longmesh[64 + 2];	/* doc/registry.md: 1..64 chars */
	json_t	*c;

	c = regclaims_new(pub);
	claims_set(c, "mesh", NULL);
	regrefused(c, "mesh");
	c = regclaims_new(pub);
	claims_set(c, "mesh", json_string(""));
	regrefused(c, "mesh");
	c = regclaims_new(pub);
	claims_set(c, "mesh", json_string("a mesh"));
	regrefused(c, "mesh");
	c = regclaims_new(pub);
	claims_set(c, "mesh", json_string("mesh\"x"));
	regrefused(c, "mesh");
	c = regclaims_new(pub);
	claims_set(c, "mesh", json_integer(7));
	regrefused(c, "mesh");
	memset(longmesh, 'm', sizeof(longmesh) - 1);
	longmesh[sizeof(longmesh) - 1] = '\0';
	c = regclaims_new(pub);
	claims_set(c, "mesh", json_string(longmesh));
	regrefused(c, "mesh");
}

ATF_TC_WITHOUT_HEAD(regtoken_expired);
ATF_TC_BODY(regtoken_expired, tc)
{
	uint8_t	 pub[WG_KEY_LEN];
	json_t	*c;

	c = regclaims_new(pub);
	claims_set(c, "exp", json_integer(NOW - 1));
	regrefused(c, "exp");
	c = regclaims_new(pub);
	claims_set(c, "exp", json_integer(NOW));
	regrefused(c, "exp");
	c = regclaims_new(pub);
	claims_set(c, "exp", NULL);
	regrefused(c, "exp");
	c = regclaims_new(pub);
	claims_set(c, "nbf", json_integer(NOW + 60));
	regrefused(c, "nbf");
	c = regclaims_new(pub);
	claims_set(c, "iss", json_string("https://other.example"));
	regrefused(c, "iss");
}

ATF_TC_WITHOUT_HEAD(regtoken_other_key);
ATF_TC_BODY(regtoken_other_key, tc)
{
	static const unsigned char other[] =
	    "another-secret-another-secret-another-secret";
	struct regtoken	 rt;
	uint8_t		 pub[WG_KEY_LEN];
	char		 err[CFG_ERR_MAX], *tok;
	json_t		*c;

	c = regclaims_new(pub);
	tok = mint(c, KEYALG_HS256, other, sizeof(other) - 1);
	ATF_CHECK_EQ(regverify(tok, KEYALG_HS256, hs_secret, HS_LEN, &rt,
	    err), -1);
	require_err(err, "signature");
	free(tok);
	json_decref(c);
}

/*
 * An RSA issuer key under RSA_KEY_BITS_MIN bits: refused to sign with,
 * to verify with, and by the check the configuration loaders use.
 */
ATF_TC_WITHOUT_HEAD(rsa_short_refused);
ATF_TC_BODY(rsa_short_refused, tc)
{
	EVP_PKEY	*pk;
	BIO		*b;
	jwt_t		*jwt;
	char		*priv, *pub, *tok, err[CFG_ERR_MAX];
	size_t		 privlen, publen;
	struct token	 t;
	struct keypair	 ok;

	ATF_REQUIRE((pk = EVP_RSA_gen(1024)) != NULL);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL,
	    NULL) == 1);
	priv = bio_string(b, &privlen);
	BIO_free(b);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PUBKEY(b, pk) == 1);
	pub = bio_string(b, &publen);
	BIO_free(b);
	EVP_PKEY_free(pk);

	ATF_CHECK_EQ(token_key_check(KEYALG_RS256, (unsigned char *)pub,
	    publen, err, sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "1024 bits") != NULL &&
	    strstr(err, "2048") != NULL, "%s", err);
	ATF_CHECK_EQ(token_key_check(KEYALG_RS256, (unsigned char *)priv,
	    privlen, err, sizeof(err)), -1);
	ATF_CHECK_EQ(token_mint("{\"exp\": 1}", KEYALG_RS256,
	    (unsigned char *)priv, privlen, &tok, err, sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "2048") != NULL, "%s", err);

	/* A token libjwt signed with it is refused before its signature. */
	ATF_REQUIRE(jwt_new(&jwt) == 0);
	ATF_REQUIRE(jwt_add_grants_json(jwt, "{\"exp\": 1800000000}") == 0);
	ATF_REQUIRE(jwt_set_alg(jwt, JWT_ALG_RS256, (unsigned char *)priv,
	    (int)privlen) == 0);
	ATF_REQUIRE((tok = jwt_encode_str(jwt)) != NULL);
	jwt_free(jwt);
	ATF_CHECK_EQ(token_verify(tok, strlen(tok), KEYALG_RS256,
	    (unsigned char *)pub, publen, NULL, NULL, NOW, &t, err,
	    sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "1024 bits") != NULL, "%s", err);
	free(tok);

	/* 2048 bits, and keys of other algorithms, pass the check. */
	keypair_gen(&ok, KEYALG_RS256);
	ATF_CHECK_EQ(token_key_check(KEYALG_RS256, (unsigned char *)ok.pub,
	    ok.publen, err, sizeof(err)), 0);
	keypair_free(&ok);
	keypair_gen(&ok, KEYALG_ES256);
	ATF_CHECK_EQ(token_key_check(KEYALG_ES256, (unsigned char *)ok.pub,
	    ok.publen, err, sizeof(err)), 0);
	keypair_free(&ok);
	free(priv);
	free(pub);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, rsa_short_refused);
	ATF_TP_ADD_TC(tp, regtoken_accept);
	ATF_TP_ADD_TC(tp, regtoken_mesh_longest);
	ATF_TP_ADD_TC(tp, regtoken_node_token);
	ATF_TP_ADD_TC(tp, regtoken_token_use);
	ATF_TP_ADD_TC(tp, regtoken_public_key);
	ATF_TP_ADD_TC(tp, regtoken_mesh);
	ATF_TP_ADD_TC(tp, regtoken_grants);
	ATF_TP_ADD_TC(tp, regtoken_expired);
	ATF_TP_ADD_TC(tp, regtoken_other_key);
	ATF_TP_ADD_TC(tp, accept_rs256);
	ATF_TP_ADD_TC(tp, accept_es256);
	ATF_TP_ADD_TC(tp, accept_hs256);
	ATF_TP_ADD_TC(tp, accept_defaults);
	ATF_TP_ADD_TC(tp, accept_server_peers_psk);
	ATF_TP_ADD_TC(tp, mint_header);
	ATF_TP_ADD_TC(tp, free_zeroes);
	ATF_TP_ADD_TC(tp, bad_signature);
	ATF_TP_ADD_TC(tp, other_key);
	ATF_TP_ADD_TC(tp, alg_none);
	ATF_TP_ADD_TC(tp, alg_confusion);
	ATF_TP_ADD_TC(tp, oversized);
	ATF_TP_ADD_TC(tp, trailing_garbage);
	ATF_TP_ADD_TC(tp, malformed);
	ATF_TP_ADD_TC(tp, expired);
	ATF_TP_ADD_TC(tp, exp_missing);
	ATF_TP_ADD_TC(tp, not_yet_valid);
	ATF_TP_ADD_TC(tp, wrong_issuer);
	ATF_TP_ADD_TC(tp, wrong_audience);
	ATF_TP_ADD_TC(tp, missing_connection_type);
	ATF_TP_ADD_TC(tp, missing_wireguard_config);
	ATF_TP_ADD_TC(tp, missing_network_address);
	ATF_TP_ADD_TC(tp, max_peers_string);
	ATF_TP_ADD_TC(tp, auto_approve_string);
	ATF_TP_ADD_TC(tp, allowed_ips_string);
	ATF_TP_ADD_TC(tp, unknown_field);
	ATF_TP_ADD_TC(tp, privkey_31_bytes);
	ATF_TP_ADD_TC(tp, privkey_33_bytes);
	ATF_TP_ADD_TC(tp, privkey_not_base64);
	ATF_TP_ADD_TC(tp, pubkey_mismatch);
	ATF_TP_ADD_TC(tp, cidr_bad_octet);
	ATF_TP_ADD_TC(tp, cidr_prefix_33);
	ATF_TP_ADD_TC(tp, cidr_no_prefix);
	ATF_TP_ADD_TC(tp, cidr_v6_prefix_129);
	ATF_TP_ADD_TC(tp, address_outside_subnet);
	ATF_TP_ADD_TC(tp, dns_search);
	ATF_TP_ADD_TC(tp, mtu_575);
	ATF_TP_ADD_TC(tp, mtu_9001);
	ATF_TP_ADD_TC(tp, mtu_1279_v6);
	ATF_TP_ADD_TC(tp, unknown_connection_type);
	ATF_TP_ADD_TC(tp, unknown_routing);
	ATF_TP_ADD_TC(tp, unknown_encryption);
	ATF_TP_ADD_TC(tp, max_peers_zero);
	ATF_TP_ADD_TC(tp, max_peers_negative);
	ATF_TP_ADD_TC(tp, whitelist_bad_key);
	ATF_TP_ADD_TC(tp, duplicate_peer);
	ATF_TP_ADD_TC(tp, peer_is_self);
	ATF_TP_ADD_TC(tp, peer_small_order);
	ATF_TP_ADD_TC(tp, peer_bad_psk);
	ATF_TP_ADD_TC(tp, peers_client_server);
	ATF_TP_ADD_TC(tp, bad_endpoint);
	ATF_TP_ADD_TC(tp, wgkey_vectors);
	ATF_TP_ADD_TC(tp, names);
	return (atf_no_error());
}
