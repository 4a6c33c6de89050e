/*
 * Node and registry tokens (lib/token.c), two ways in.
 *
 * Raw: the bytes are a compact JWT, verified as a node token and as a
 * registry token under HS256 (with the secret the seed generator signs
 * with), ES256 or RS256.  For ES256 and RS256 only the public key is
 * here, so nothing may ever verify: no alg none, no algorithm
 * confusion, no signature that is not one.
 *
 * Minted: the bytes are a claims object (and, in the third mode, a
 * header object before a NUL), signed here with the HS256 secret, so
 * claim validation is reached with every signature good.
 *
 * Either way, a token that verifies is what validation promises (its
 * public key is its private key's, lengths and counts within their
 * limits, times as checked, prefixes well formed); one token is never
 * both a node token and a registry token; a refusal says why in one
 * line and leaves nothing of the token behind.
 *
 * Input: a mode byte (low two bits: raw, minted, minted with header;
 * next bits: the raw algorithm; one bit each for checking issuer and
 * audience), then the token or the JSON.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "token.h"
#include "fuzz.h"

#define NOW		((time_t)1700000000)
#define ISSUER		"https://edge.example"
#define AUDIENCE	"cbp2p-mesh"
#define MODES		3
#define ALGS		3
#define MESH_CHARS	"._:/-"
#define JSON_MAX	(64 * 1024)

static const char	 hs_secret[] =
    "0123456789abcdef0123456789abcdef-hs256-fuzz-secret";

static const char	 es_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEslHrzAJ20QAKY/CBDPd3M19cbgIz\n"
    "4dphiYAHYiqrmeLDZCgV2nPrTieKb8XPeQwsrU7tUbuKLTuomCeI2mhQCw==\n"
    "-----END PUBLIC KEY-----\n";

static const char	 rs_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr5ILnSxdd0kWD52ge21a\n"
    "YuhaRsfCBx5P/+bCzzudfYPEynlmRWenfgy0Jyn0/3TkwvYwRwx7e+6txEVVg/m/\n"
    "MaYegDy+yUqi2MbsH5ZS2KyJCCDFIfcIroNM5iAwGO2W4mvRDBspeEqhq9oUE/nl\n"
    "LsqxPnfNZ1cbVZCCFiKEwd2UXVeAjwd4Axe6EzKeLjKjcS1sP0R9oD+vt+trfySQ\n"
    "v7Sv7gcOnUI+uhjO1mkGEIzDXdpUHlky8GDRyno2+5n9u7unkICqNzZpQSnfQ3Be\n"
    "hQSA1DrjYm8Yj5w7HKvd5yTDHVTEqVmzvLxz8BV3VaLcrrGv/SYSBLZe1URkgq33\n"
    "QwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static int
all_zero(const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return (0);
	return (1);
}

static void
check_cidrs(const struct cidr *c, size_t n, size_t max)
{
	size_t	 i;

	FZ_CHECK(n <= max);
	for (i = 0; i < n; i++)
		FZ_CHECK((c[i].af == AF_INET && c[i].plen <= FZ_V4_BITS) ||
		    (c[i].af == AF_INET6 && c[i].plen <= FZ_V6_BITS));
}

static void
check_err(const char *err)
{
	FZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
}

static void
check_token(const struct token *t, const char *iss, const char *aud)
{
	uint8_t	 pub[WG_KEY_LEN];
	size_t	 i;

	FZ_CHECK(wgkey_public(pub, t->private_key) == 0);
	FZ_CHECK(memcmp(pub, t->public_key, WG_KEY_LEN) == 0);
	FZ_CHECK(t->exp > (int64_t)NOW && t->nbf <= (int64_t)NOW);
	FZ_CHECK(t->mtu >= CFG_MTU_MIN_V4 && t->mtu <= CFG_MTU_MAX);
	FZ_CHECK(t->max_peers >= 1 && t->max_peers <= CFG_MAX_PEERS_CAP);
	FZ_CHECK(t->nallowed_peers <= CFG_MAX_WHITELIST);
	FZ_CHECK(t->ndns <= CFG_MAX_DNS);
	FZ_CHECK(t->npeers <= CFG_MAX_STATIC_PEERS);
	check_cidrs(t->allowed_ips, t->nallowed_ips, CFG_MAX_ALLOWED_IPS);
	for (i = 0; i < t->npeers; i++)
		check_cidrs(t->peers[i].allowed_ips,
		    t->peers[i].nallowed_ips, CFG_MAX_ALLOWED_IPS);
	FZ_CHECK(memchr(t->iss, '\0', sizeof(t->iss)) != NULL);
	FZ_CHECK(memchr(t->aud, '\0', sizeof(t->aud)) != NULL);
	FZ_CHECK(memchr(t->sub, '\0', sizeof(t->sub)) != NULL);
	if (iss[0] != '\0')
		FZ_CHECK(strcmp(t->iss, iss) == 0);
	if (aud[0] != '\0')
		FZ_CHECK(strcmp(t->aud, aud) == 0);
}

static void
check_regtoken(const struct regtoken *rt)
{
	size_t	 i;
	struct cidr	 m;

	FZ_CHECK(rt->mesh[0] != '\0');
	FZ_CHECK(memchr(rt->mesh, '\0', sizeof(rt->mesh)) != NULL);
	for (i = 0; rt->mesh[i] != '\0'; i++)
		FZ_CHECK((rt->mesh[i] >= 'a' && rt->mesh[i] <= 'z') ||
		    (rt->mesh[i] >= 'A' && rt->mesh[i] <= 'Z') ||
		    (rt->mesh[i] >= '0' && rt->mesh[i] <= '9') ||
		    strchr(MESH_CHARS, rt->mesh[i]) != NULL);
	FZ_CHECK(rt->exp > (int64_t)NOW);
	if (rt->has_address)
		check_cidrs(&rt->address, 1, 1);
	FZ_CHECK(rt->has_allowed_ips || rt->nallowed_ips == 0);
	check_cidrs(rt->allowed_ips, rt->nallowed_ips, REGTOKEN_AIPS_MAX);
	for (i = 0; i < rt->nallowed_ips; i++) {
		m = rt->allowed_ips[i];
		cidr_mask(&m);
		FZ_CHECK(memcmp(&m, &rt->allowed_ips[i], sizeof(m)) == 0);
	}
}

/* Both readings of one token under one key. */
static void
verify(const char *s, size_t len, enum jwt_keyalg alg, int forgeable,
    const char *iss, const char *aud)
{
	const unsigned char	*key;
	size_t			 keylen;
	struct token		 t;
	struct regtoken		 rt;
	char			 err[CFG_ERR_MAX];
	int			 node, reg;

	switch (alg) {
	case KEYALG_HS256:
		key = (const unsigned char *)hs_secret;
		keylen = sizeof(hs_secret) - 1;
		break;
	case KEYALG_ES256:
		key = (const unsigned char *)es_pub;
		keylen = sizeof(es_pub) - 1;
		break;
	default:
		key = (const unsigned char *)rs_pub;
		keylen = sizeof(rs_pub) - 1;
		break;
	}
	err[0] = '\0';
	node = token_verify(s, len, alg, key, keylen, iss, aud, NOW, &t, err,
	    sizeof(err));
	if (node == 0) {
		FZ_CHECK(forgeable);
		check_token(&t, iss, aud);
		token_free(&t);
	} else {
		FZ_CHECK(node == -1);
		check_err(err);
		FZ_CHECK(all_zero(&t, sizeof(t)));
	}
	err[0] = '\0';
	reg = regtoken_verify(s, len, alg, key, keylen, iss, aud, NOW, &rt,
	    err, sizeof(err));
	if (reg == 0) {
		FZ_CHECK(forgeable);
		check_regtoken(&rt);
	} else {
		FZ_CHECK(reg == -1);
		check_err(err);
		FZ_CHECK(all_zero(&rt, sizeof(rt)));
	}
	/* A node token holds a private key: never shown as the other. */
	FZ_CHECK(node == -1 || reg == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	 f;
	char		*json, *hdr, *claims, *tok, err[CFG_ERR_MAX];
	const char	*iss, *aud;
	enum jwt_keyalg	 alg;
	uint8_t		 mode;
	size_t		 len;
	int		 rc;

	fz_init(&f, data, size);
	mode = fz_u8(&f);
	iss = (mode & 0x20) ? ISSUER : "";
	aud = (mode & 0x40) ? AUDIENCE : "";
	switch ((mode & 0x03) % MODES) {
	case 0:
		switch ((mode >> 2) % ALGS) {
		case 0:
			alg = KEYALG_HS256;
			break;
		case 1:
			alg = KEYALG_ES256;
			break;
		default:
			alg = KEYALG_RS256;
			break;
		}
		verify((const char *)f.p, f.left, alg, alg == KEYALG_HS256,
		    iss, aud);
		return (0);
	default:
		/* JSON text: NUL-terminated, bounded as a token is. */
		len = f.left < JSON_MAX ? f.left : JSON_MAX;
		if ((json = malloc(len + 1)) == NULL)
			abort();
		memcpy(json, f.p, len);
		json[len] = '\0';
		hdr = NULL;
		claims = json;
		if ((mode & 0x03) == 2 && strlen(json) < len) {
			hdr = json;
			claims = json + strlen(json) + 1;
		}
		tok = NULL;
		rc = token_mint_hdr(hdr, claims, KEYALG_HS256,
		    (const unsigned char *)hs_secret, sizeof(hs_secret) - 1,
		    &tok, err, sizeof(err));
		if (rc == 0) {
			FZ_CHECK(tok != NULL);
			verify(tok, strlen(tok), KEYALG_HS256, 1, iss, aud);
			/* The same claims under a key of another kind. */
			verify(tok, strlen(tok), KEYALG_RS256, 0, iss, aud);
			free(tok);
		} else
			check_err(err);
		free(json);
		return (0);
	}
}
