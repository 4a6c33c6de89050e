/*
 * The node's JWT: structural checks, signature verification with libjwt
 * under the configured algorithm only, and validation of every claim
 * into struct token.  Errors are one line: "token: <field path>: why".
 *
 * libjwt 1.10.2 verifies with whatever algorithm the token's header
 * names and accepts "alg":"none" when no key is given, so the header is
 * checked here before libjwt sees the token and again after it decoded
 * it.  The payload is decoded here as well, with duplicate keys refused,
 * rather than trusting libjwt's lenient parse.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "token.h"
#include "yamlconf.h"

/* Room for "peers[1023].allowed_ips[255]" and the like. */
#define PATH_MAX_LEN	128
#define PEER_IDX_LEN	32	/* "peers[1023]" */
#define PEM_MARKER	"-----BEGIN"
#define PORT_MAX	65535
#define KEEPALIVE_MAX	65535

static const char *const wg_keys[] = {
	"private_key", "public_key", "allowed_ips", "endpoint",
	"listen_port", NULL
};
static const char *const mesh_keys[] = {
	"auto_discovery", "persistent", "routing", "encryption", NULL
};
static const char *const wl_keys[] = {
	"allowed_peers", "auto_approve", "max_peers", NULL
};
static const char *const net_keys[] = {
	"address", "subnet", "dns", "dns_search", "mtu", NULL
};
static const char *const peer_keys[] = {
	"public_key", "preshared_key", "endpoint", "allowed_ips",
	"persistent_keepalive", NULL
};

struct vctx {
	char	*err;
	size_t	 errlen;
};

static int	 verr(struct vctx *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
verr(struct vctx *v, const char *path, const char *fmt, ...)
{
	char	 why[CFG_ERR_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (path != NULL)
		snprintf(v->err, v->errlen, "token: %s: %s", path, why);
	else
		snprintf(v->err, v->errlen, "token: %s", why);
	return (-1);
}

static int
b64url_char(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_');
}

/* Strict base64url without padding into a malloc'd buffer. */
static unsigned char *
b64url_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char	*buf;
	size_t		 cap = len / 4 * 3 + 3;
	const char	*end;

	if ((buf = malloc(cap)) == NULL)
		return (NULL);
	if (sodium_base642bin(buf, cap, s, len, NULL, outlen, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != s + len) {
		free(buf);
		return (NULL);
	}
	return (buf);
}

static json_t *
segment_json(const char *s, size_t len, int secret)
{
	unsigned char	*raw;
	size_t		 rawlen;
	json_t		*j;

	if ((raw = b64url_decode(s, len, &rawlen)) == NULL)
		return (NULL);
	j = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES,
	    NULL);
	if (secret)
		sodium_memzero(raw, rawlen);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return (NULL);
	}
	return (j);
}

/* Overwrite the secret strings jansson holds before it frees them. */
static void
json_scrub(json_t *j)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			if (json_is_string(v) &&
			    (strcmp(k, "private_key") == 0 ||
			    strcmp(k, "preshared_key") == 0))
				sodium_memzero((char *)json_string_value(v),
				    json_string_length(v));
			else
				json_scrub(v);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			json_scrub(v);
	}
}

static int
check_keys(struct vctx *v, json_t *obj, const char *path,
    const char *const *known)
{
	char		 p[PATH_MAX_LEN], e[CFG_ECHO_MAX + 1];
	const char	*k;
	json_t		*val;
	size_t		 i;

	json_object_foreach(obj, k, val) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			snprintf(p, sizeof(p), "%s.%s", path,
			    cfg_echo(k, e, sizeof(e)));
			return (verr(v, p, "unknown field"));
		}
	}
	return (0);
}

static int
get_bool(struct vctx *v, json_t *obj, const char *key, const char *path,
    int *out)
{
	json_t	*j;

	if ((j = json_object_get(obj, key)) == NULL)
		return (0);
	if (!json_is_boolean(j))
		return (verr(v, path, "must be true or false"));
	*out = json_is_true(j);
	return (0);
}

static int
get_int(struct vctx *v, json_t *obj, const char *key, const char *path,
    json_int_t min, json_int_t max, json_int_t *out)
{
	json_t		*j;
	json_int_t	 n;

	if ((j = json_object_get(obj, key)) == NULL)
		return (0);
	if (!json_is_integer(j) || (n = json_integer_value(j)) < min ||
	    n > max)
		return (verr(v, path, "must be an integer from %lld to %lld",
		    (long long)min, (long long)max));
	*out = n;
	return (0);
}

/* A bounded string without control characters; NULL when absent. */
static int
get_str(struct vctx *v, json_t *obj, const char *key, const char *path,
    size_t max, const char **out)
{
	json_t		*j;
	const char	*s;
	size_t		 i, len;

	*out = NULL;
	if ((j = json_object_get(obj, key)) == NULL)
		return (0);
	if (!json_is_string(j))
		return (verr(v, path, "must be a string"));
	s = json_string_value(j);
	len = json_string_length(j);
	if (len >= max)
		return (verr(v, path, "longer than %zu bytes", max - 1));
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (verr(v, path, "contains control characters"));
	*out = s;
	return (0);
}

static int
get_obj(struct vctx *v, json_t *obj, const char *key, int required,
    json_t **out)
{
	json_t	*j;

	*out = NULL;
	if ((j = json_object_get(obj, key)) == NULL) {
		if (required)
			return (verr(v, key, "missing"));
		return (0);
	}
	if (!json_is_object(j))
		return (verr(v, key, "must be an object"));
	*out = j;
	return (0);
}

/* Never echoes the value: it may be a private or preshared key. */
static int
get_key(struct vctx *v, json_t *obj, const char *key, const char *path,
    int required, uint8_t out[WG_KEY_LEN], int *present)
{
	json_t	*j;

	if (present != NULL)
		*present = 0;
	if ((j = json_object_get(obj, key)) == NULL) {
		if (required)
			return (verr(v, path, "missing"));
		return (0);
	}
	if (!json_is_string(j) || wgkey_from_b64(out,
	    json_string_value(j)) == -1)
		return (verr(v, path, "must be 32 bytes in base64 "
		    "(%d characters)", WG_KEY_B64_LEN));
	if (present != NULL)
		*present = 1;
	return (0);
}

static int
get_endpoint(struct vctx *v, json_t *obj, const char *key,
    const char *path, char out[HOSTPORT_MAX])
{
	const char	*s;
	char		 e[CFG_ECHO_MAX + 1];

	if (get_str(v, obj, key, path, HOSTPORT_MAX, &s) == -1)
		return (-1);
	if (s == NULL)
		return (0);
	if (!hostport_valid(s))
		return (verr(v, path, "\"%s\" is not host:port or "
		    "[address]:port with port 1-65535", cfg_echo(s, e, sizeof(e))));
	strlcpy(out, s, HOSTPORT_MAX);
	return (0);
}

static int
parse_cidr_str(struct vctx *v, json_t *j, const char *path, struct cidr *c)
{
	char	 e[CFG_ECHO_MAX + 1];

	if (!json_is_string(j))
		return (verr(v, path, "must be a string in CIDR notation"));
	if (cidr_parse(json_string_value(j), c) == -1)
		return (verr(v, path, "\"%s\" is not an address/prefix "
		    "(a.b.c.d/0-32 or x:y::z/0-128)",
		    cfg_echo(json_string_value(j), e, sizeof(e))));
	return (0);
}

/*
 * An array of CIDRs.  Host bits beyond the prefix are cleared, as wg(8)
 * does for allowed IPs: "10.0.0.1/24" routes 10.0.0.0/24.
 */
static int
get_cidrs(struct vctx *v, json_t *obj, const char *key, const char *path,
    int required, struct cidr **out, size_t *nout)
{
	char	 p[PATH_MAX_LEN];
	json_t	*a, *j;
	size_t	 i, n;

	if ((a = json_object_get(obj, key)) == NULL) {
		if (required)
			return (verr(v, path, "missing"));
		return (0);
	}
	if (!json_is_array(a))
		return (verr(v, path, "must be an array of CIDR strings"));
	if ((n = json_array_size(a)) > CFG_MAX_ALLOWED_IPS)
		return (verr(v, path, "more than %d entries",
		    CFG_MAX_ALLOWED_IPS));
	if (n == 0)
		return (0);
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return (verr(v, path, "%s", strerror(errno)));
	*nout = n;
	json_array_foreach(a, i, j) {
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (parse_cidr_str(v, j, p, &(*out)[i]) == -1)
			return (-1);
		cidr_mask(&(*out)[i]);
	}
	return (0);
}

static int
has_v6(const struct cidr *c, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (c[i].af == AF_INET6)
			return (1);
	return (0);
}

static int
parse_registered(struct vctx *v, json_t *c, const char *issuer,
    const char *audience, time_t now, struct token *tok)
{
	json_t		*j, *a;
	json_int_t	 exp, nbf;
	const char	*s;
	char		 e[CFG_ECHO_MAX + 1];
	size_t		 i, n;
	int		 match;

	if ((j = json_object_get(c, "exp")) == NULL)
		return (verr(v, "exp", "missing"));
	if (!json_is_integer(j))
		return (verr(v, "exp", "must be an integer (seconds since "
		    "the epoch)"));
	exp = json_integer_value(j);
	if ((int64_t)now >= exp)
		return (verr(v, "exp", "expired at %lld (now %lld)",
		    (long long)exp, (long long)now));
	tok->exp = exp;

	if ((j = json_object_get(c, "nbf")) != NULL) {
		if (!json_is_integer(j))
			return (verr(v, "nbf", "must be an integer (seconds "
			    "since the epoch)"));
		nbf = json_integer_value(j);
		if ((int64_t)now < nbf)
			return (verr(v, "nbf", "not valid before %lld "
			    "(now %lld)", (long long)nbf, (long long)now));
		tok->nbf = nbf;
	}

	if (get_str(v, c, "sub", "sub", CFG_STR_MAX, &s) == -1)
		return (-1);
	if (s != NULL)
		strlcpy(tok->sub, s, sizeof(tok->sub));

	if (get_str(v, c, "iss", "iss", CFG_STR_MAX, &s) == -1)
		return (-1);
	if (s != NULL)
		strlcpy(tok->iss, s, sizeof(tok->iss));
	if (issuer != NULL && issuer[0] != '\0') {
		if (s == NULL)
			return (verr(v, "iss", "missing (expected \"%s\")",
			    cfg_echo(issuer, e, sizeof(e))));
		if (strcmp(s, issuer) != 0)
			return (verr(v, "iss", "\"%s\" is not the expected "
			    "issuer", cfg_echo(s, e, sizeof(e))));
	}

	/* aud is a string or an array of strings (RFC 7519 4.1.3). */
	match = 0;
	if ((a = json_object_get(c, "aud")) != NULL && json_is_array(a)) {
		if ((n = json_array_size(a)) > CFG_MAX_AUD)
			return (verr(v, "aud", "more than %d entries",
			    CFG_MAX_AUD));
		json_array_foreach(a, i, j) {
			if (!json_is_string(j) ||
			    json_string_length(j) >= CFG_STR_MAX)
				return (verr(v, "aud", "must be a string or "
				    "an array of strings"));
			s = json_string_value(j);
			if (audience != NULL && strcmp(s, audience) == 0) {
				strlcpy(tok->aud, s, sizeof(tok->aud));
				match = 1;
			} else if (i == 0)
				strlcpy(tok->aud, s, sizeof(tok->aud));
		}
	} else if (a != NULL) {
		if (!json_is_string(a))
			return (verr(v, "aud", "must be a string or an array "
			    "of strings"));
		if (get_str(v, c, "aud", "aud", CFG_STR_MAX, &s) == -1)
			return (-1);
		strlcpy(tok->aud, s, sizeof(tok->aud));
		match = audience != NULL && strcmp(s, audience) == 0;
	}
	if (audience != NULL && audience[0] != '\0' && !match)
		return (verr(v, "aud", "does not contain the expected "
		    "audience \"%s\"", cfg_echo(audience, e, sizeof(e))));
	return (0);
}

static int
parse_wireguard(struct vctx *v, json_t *c, struct token *tok)
{
	json_t		*w;
	json_int_t	 port = 0;
	uint8_t		 pub[WG_KEY_LEN];

	if (get_obj(v, c, "wireguard_config", 1, &w) == -1 ||
	    check_keys(v, w, "wireguard_config", wg_keys) == -1)
		return (-1);
	if (get_key(v, w, "private_key", "wireguard_config.private_key", 1,
	    tok->private_key, NULL) == -1 ||
	    get_key(v, w, "public_key", "wireguard_config.public_key", 1,
	    tok->public_key, NULL) == -1)
		return (-1);
	if (wgkey_public(pub, tok->private_key) == -1 ||
	    sodium_memcmp(pub, tok->public_key, WG_KEY_LEN) != 0)
		return (verr(v, "wireguard_config.public_key", "does not "
		    "match private_key"));
	if (get_cidrs(v, w, "allowed_ips", "wireguard_config.allowed_ips", 0,
	    &tok->allowed_ips, &tok->nallowed_ips) == -1 ||
	    get_endpoint(v, w, "endpoint", "wireguard_config.endpoint",
	    tok->endpoint) == -1 ||
	    get_int(v, w, "listen_port", "wireguard_config.listen_port", 0,
	    PORT_MAX, &port) == -1)
		return (-1);
	tok->listen_port = (uint16_t)port;
	return (0);
}

static int
parse_mesh(struct vctx *v, json_t *c, struct token *tok)
{
	json_t		*m;
	const char	*s;
	char		 e[CFG_ECHO_MAX + 1];

	tok->auto_discovery = 1;
	tok->persistent = 1;
	tok->routing = ROUTING_HYBRID;
	strlcpy(tok->encryption, "chacha20-poly1305", sizeof(tok->encryption));
	if (get_obj(v, c, "mesh_config", 0, &m) == -1)
		return (-1);
	if (m == NULL)
		return (0);
	if (check_keys(v, m, "mesh_config", mesh_keys) == -1 ||
	    get_bool(v, m, "auto_discovery", "mesh_config.auto_discovery",
	    &tok->auto_discovery) == -1 ||
	    get_bool(v, m, "persistent", "mesh_config.persistent",
	    &tok->persistent) == -1)
		return (-1);
	if (get_str(v, m, "routing", "mesh_config.routing", CFG_STR_MAX,
	    &s) == -1)
		return (-1);
	if (s != NULL) {
		if (strcmp(s, "hybrid") == 0)
			tok->routing = ROUTING_HYBRID;
		else if (strcmp(s, "direct") == 0)
			tok->routing = ROUTING_DIRECT;
		else if (strcmp(s, "relay") == 0)
			tok->routing = ROUTING_RELAY;
		else
			return (verr(v, "mesh_config.routing", "unknown "
			    "value \"%s\" (hybrid, direct or relay)",
			    cfg_echo(s, e, sizeof(e))));
	}
	if (get_str(v, m, "encryption", "mesh_config.encryption", CFG_STR_MAX,
	    &s) == -1)
		return (-1);
	/* WireGuard has exactly one cipher; anything else is a mistake. */
	if (s != NULL && strcmp(s, "chacha20-poly1305") != 0 &&
	    strcmp(s, "chacha20poly1305") != 0)
		return (verr(v, "mesh_config.encryption", "unknown value "
		    "\"%s\" (only chacha20-poly1305)", cfg_echo(s, e, sizeof(e))));
	return (0);
}

static int
parse_whitelist(struct vctx *v, json_t *c, struct token *tok)
{
	char		 p[PATH_MAX_LEN];
	json_t		*w, *a, *j;
	json_int_t	 maxp = CFG_MAX_PEERS_DEFAULT;
	size_t		 i, n;

	tok->auto_approve = 1;
	tok->max_peers = CFG_MAX_PEERS_DEFAULT;
	if (get_obj(v, c, "peer_whitelist", 0, &w) == -1)
		return (-1);
	if (w == NULL)
		return (0);
	if (check_keys(v, w, "peer_whitelist", wl_keys) == -1 ||
	    get_bool(v, w, "auto_approve", "peer_whitelist.auto_approve",
	    &tok->auto_approve) == -1 ||
	    get_int(v, w, "max_peers", "peer_whitelist.max_peers", 1,
	    CFG_MAX_PEERS_CAP, &maxp) == -1)
		return (-1);
	tok->max_peers = (uint32_t)maxp;
	if ((a = json_object_get(w, "allowed_peers")) == NULL)
		return (0);
	if (!json_is_array(a))
		return (verr(v, "peer_whitelist.allowed_peers", "must be an "
		    "array of public keys"));
	if ((n = json_array_size(a)) > CFG_MAX_WHITELIST)
		return (verr(v, "peer_whitelist.allowed_peers", "more than %d "
		    "entries", CFG_MAX_WHITELIST));
	if (n == 0)
		return (0);
	if ((tok->allowed_peers = calloc(n, WG_KEY_LEN)) == NULL)
		return (verr(v, "peer_whitelist.allowed_peers", "%s",
		    strerror(errno)));
	tok->nallowed_peers = n;
	json_array_foreach(a, i, j) {
		snprintf(p, sizeof(p), "peer_whitelist.allowed_peers[%zu]", i);
		if (!json_is_string(j) || wgkey_from_b64(tok->allowed_peers[i],
		    json_string_value(j)) == -1)
			return (verr(v, p, "must be 32 bytes in base64 "
			    "(%d characters)", WG_KEY_B64_LEN));
	}
	return (0);
}

static int
parse_network(struct vctx *v, json_t *c, struct token *tok)
{
	char		 p[PATH_MAX_LEN], e[CFG_ECHO_MAX + 1];
	json_t		*nc, *a, *j;
	size_t		 i;

	if (get_obj(v, c, "network_config", 1, &nc) == -1 ||
	    check_keys(v, nc, "network_config", net_keys) == -1)
		return (-1);
	/* The host's own address: host bits are the point, keep them. */
	if ((j = json_object_get(nc, "address")) == NULL)
		return (verr(v, "network_config.address", "missing"));
	if (parse_cidr_str(v, j, "network_config.address",
	    &tok->address) == -1)
		return (-1);
	if ((j = json_object_get(nc, "subnet")) != NULL) {
		if (parse_cidr_str(v, j, "network_config.subnet",
		    &tok->subnet) == -1)
			return (-1);
		cidr_mask(&tok->subnet);
		if (!cidr_contains(&tok->subnet, &tok->address))
			return (verr(v, "network_config.address", "not "
			    "inside network_config.subnet"));
	}
	if ((a = json_object_get(nc, "dns")) != NULL) {
		if (!json_is_array(a))
			return (verr(v, "network_config.dns", "must be an "
			    "array of IP addresses"));
		if (json_array_size(a) > CFG_MAX_DNS)
			return (verr(v, "network_config.dns", "more than %d "
			    "entries", CFG_MAX_DNS));
		json_array_foreach(a, i, j) {
			snprintf(p, sizeof(p), "network_config.dns[%zu]", i);
			if (!json_is_string(j))
				return (verr(v, p, "must be a string"));
			if (ipaddr_parse(json_string_value(j),
			    &tok->dns[i]) == -1)
				return (verr(v, p, "\"%s\" is not an IP "
				    "address", cfg_echo(json_string_value(j), e,
				    sizeof(e))));
			tok->ndns = i + 1;
		}
	}
	if ((a = json_object_get(nc, "dns_search")) != NULL) {
		if (!json_is_array(a))
			return (verr(v, "network_config.dns_search", "must be "
			    "an array of domain names"));
		if (json_array_size(a) > CFG_MAX_DNS_SEARCH)
			return (verr(v, "network_config.dns_search", "more "
			    "than %d entries", CFG_MAX_DNS_SEARCH));
		json_array_foreach(a, i, j) {
			snprintf(p, sizeof(p), "network_config.dns_search[%zu]",
			    i);
			if (!json_is_string(j))
				return (verr(v, p, "must be a string"));
			if (!domain_valid(json_string_value(j)) ||
			    strlcpy(tok->dns_search[i], json_string_value(j),
			    sizeof(tok->dns_search[i])) >=
			    sizeof(tok->dns_search[i]))
				return (verr(v, p, "\"%s\" is not a domain "
				    "name", cfg_echo(json_string_value(j), e,
				    sizeof(e))));
			tok->ndns_search = i + 1;
		}
	}
	return (0);
}

/* After peers: the IPv6 minimum depends on every address family seen. */
static int
parse_mtu(struct vctx *v, json_t *c, struct token *tok)
{
	json_t		*nc;
	json_int_t	 mtu = CFG_MTU_DEFAULT;
	size_t		 i;
	int		 v6;

	nc = json_object_get(c, "network_config");
	if (get_int(v, nc, "mtu", "network_config.mtu", CFG_MTU_MIN_V4,
	    CFG_MTU_MAX, &mtu) == -1)
		return (-1);
	v6 = tok->address.af == AF_INET6 || tok->subnet.af == AF_INET6 ||
	    has_v6(tok->allowed_ips, tok->nallowed_ips);
	for (i = 0; i < tok->npeers; i++)
		v6 |= has_v6(tok->peers[i].allowed_ips,
		    tok->peers[i].nallowed_ips);
	if (v6 && mtu < CFG_MTU_MIN_V6)
		return (verr(v, "network_config.mtu", "%lld is below %d, the "
		    "IPv6 minimum", (long long)mtu, CFG_MTU_MIN_V6));
	tok->mtu = (uint16_t)mtu;
	return (0);
}

static int
parse_peers(struct vctx *v, json_t *c, struct token *tok)
{
	char			 p[PEER_IDX_LEN], f[PATH_MAX_LEN];
	json_t			*a, *j;
	json_int_t		 ka;
	struct static_peer	*sp;
	uint8_t			 ss[WG_KEY_LEN];
	size_t			 i, k, n;

	if ((a = json_object_get(c, "peers")) == NULL)
		return (0);
	if (!json_is_array(a))
		return (verr(v, "peers", "must be an array of objects"));
	if ((n = json_array_size(a)) > CFG_MAX_STATIC_PEERS)
		return (verr(v, "peers", "more than %d entries",
		    CFG_MAX_STATIC_PEERS));
	/* Every packet goes through the relay: direct peers contradict it. */
	if (n > 0 && tok->conn_type == CONN_CLIENT_SERVER)
		return (verr(v, "peers", "not allowed with connection_type "
		    "client-server"));
	if (n == 0)
		return (0);
	if ((tok->peers = calloc(n, sizeof(*tok->peers))) == NULL)
		return (verr(v, "peers", "%s", strerror(errno)));
	json_array_foreach(a, i, j) {
		sp = &tok->peers[i];
		tok->npeers = i + 1;
		snprintf(p, sizeof(p), "peers[%zu]", i);
		if (!json_is_object(j))
			return (verr(v, p, "must be an object"));
		if (check_keys(v, j, p, peer_keys) == -1)
			return (-1);
		snprintf(f, sizeof(f), "%s.public_key", p);
		if (get_key(v, j, "public_key", f, 1, sp->public_key,
		    NULL) == -1)
			return (-1);
		if (sodium_memcmp(sp->public_key, tok->public_key,
		    WG_KEY_LEN) == 0)
			return (verr(v, f, "is this node's own public key"));
		/* A point of small order: no handshake could ever work. */
		if (crypto_scalarmult(ss, tok->private_key,
		    sp->public_key) != 0) {
			sodium_memzero(ss, sizeof(ss));
			return (verr(v, f, "is not a usable public key"));
		}
		sodium_memzero(ss, sizeof(ss));
		for (k = 0; k < i; k++)
			if (sodium_memcmp(sp->public_key,
			    tok->peers[k].public_key, WG_KEY_LEN) == 0)
				return (verr(v, f, "duplicate of "
				    "peers[%zu].public_key", k));
		snprintf(f, sizeof(f), "%s.preshared_key", p);
		if (get_key(v, j, "preshared_key", f, 0, sp->preshared_key,
		    &sp->has_psk) == -1)
			return (-1);
		snprintf(f, sizeof(f), "%s.endpoint", p);
		if (get_endpoint(v, j, "endpoint", f, sp->endpoint) == -1)
			return (-1);
		snprintf(f, sizeof(f), "%s.allowed_ips", p);
		if (get_cidrs(v, j, "allowed_ips", f, 1, &sp->allowed_ips,
		    &sp->nallowed_ips) == -1)
			return (-1);
		ka = 0;
		snprintf(f, sizeof(f), "%s.persistent_keepalive", p);
		if (get_int(v, j, "persistent_keepalive", f, 0, KEEPALIVE_MAX,
		    &ka) == -1)
			return (-1);
		sp->persistent_keepalive = (uint16_t)ka;
	}
	return (0);
}

/*
 * Unknown fields inside our objects are refused (a typo there would
 * silently change behaviour); unknown top-level claims are ignored so
 * an issuer may add its own.
 */
static int
parse_claims(struct vctx *v, json_t *c, const char *issuer,
    const char *audience, time_t now, struct token *tok)
{
	const char	*s;
	char		 e[CFG_ECHO_MAX + 1];
	json_t		*j;

	if (parse_registered(v, c, issuer, audience, now, tok) == -1)
		return (-1);
	if ((j = json_object_get(c, "connection_type")) == NULL)
		return (verr(v, "connection_type", "missing"));
	if (get_str(v, c, "connection_type", "connection_type", CFG_STR_MAX,
	    &s) == -1)
		return (-1);
	if (strcmp(s, "client-server") == 0)
		tok->conn_type = CONN_CLIENT_SERVER;
	else if (strcmp(s, "server-server") == 0)
		tok->conn_type = CONN_SERVER_SERVER;
	else if (strcmp(s, "p2p-mesh") == 0)
		tok->conn_type = CONN_P2P_MESH;
	else
		return (verr(v, "connection_type", "unknown value \"%s\" "
		    "(client-server, server-server or p2p-mesh)",
		    cfg_echo(s, e, sizeof(e))));
	if (get_str(v, c, "registry_token", "registry_token", TOKEN_MAX_LEN,
	    &s) == -1)
		return (-1);
	if (s != NULL && (tok->registry_token = strdup(s)) == NULL)
		return (verr(v, "registry_token", "out of memory"));
	if (parse_wireguard(v, c, tok) == -1 ||
	    parse_mesh(v, c, tok) == -1 ||
	    parse_whitelist(v, c, tok) == -1 ||
	    parse_network(v, c, tok) == -1 ||
	    parse_peers(v, c, tok) == -1 ||
	    parse_mtu(v, c, tok) == -1)
		return (-1);
	return (0);
}

static jwt_alg_t
keyalg_jwt(enum jwt_keyalg a)
{
	switch (a) {
	case KEYALG_RS256:
		return (JWT_ALG_RS256);
	case KEYALG_ES256:
		return (JWT_ALG_ES256);
	case KEYALG_HS256:
		return (JWT_ALG_HS256);
	}
	return (JWT_ALG_INVAL);
}

/*
 * The bits of an RSA key in PEM (public or private), 0 when the bytes are
 * not one: libjwt says what else is wrong with them.
 */
static int
rsa_bits(const unsigned char *key, size_t keylen)
{
	EVP_PKEY	*pk = NULL;
	BIO		*b;
	int		 bits = 0;

	if (keylen > VERIFY_KEY_MAX_LEN ||
	    (b = BIO_new_mem_buf(key, (int)keylen)) == NULL)
		return (0);
	if ((pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL)) == NULL &&
	    BIO_reset(b) == 1)
		pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)
		bits = EVP_PKEY_get_bits(pk);
	EVP_PKEY_free(pk);
	BIO_free(b);
	return (bits);
}

int
token_key_check(enum jwt_keyalg alg, const unsigned char *key,
    size_t keylen, char *err, size_t errlen)
{
	int	 bits;

	if (alg == KEYALG_RS256 && (bits = rsa_bits(key, keylen)) > 0 &&
	    bits < RSA_KEY_BITS_MIN) {
		snprintf(err, errlen, "an RSA key of %d bits; RS256 needs at "
		    "least %d", bits, RSA_KEY_BITS_MIN);
		return (-1);
	}
	return (0);
}

static int
check_key(struct vctx *v, enum jwt_keyalg alg, const unsigned char *key,
    size_t keylen)
{
	char	 why[CFG_ERR_MAX];

	if (key == NULL || keylen == 0)
		return (verr(v, NULL, "no verification key"));
	if (keylen > VERIFY_KEY_MAX_LEN)
		return (verr(v, NULL, "key longer than %d bytes",
		    VERIFY_KEY_MAX_LEN));
	if (token_key_check(alg, key, keylen, why, sizeof(why)) == -1)
		return (verr(v, NULL, "%s", why));
	if (alg != KEYALG_HS256)
		return (0);
	if (keylen < HS256_SECRET_MIN_LEN)
		return (verr(v, NULL, "HS256 secret shorter than %d bytes",
		    HS256_SECRET_MIN_LEN));
	/*
	 * A PEM as HMAC secret is how algorithm confusion is exploited:
	 * whoever has the public key could mint tokens.
	 */
	if (keylen >= sizeof(PEM_MARKER) - 1 &&
	    memcmp(key, PEM_MARKER, sizeof(PEM_MARKER) - 1) == 0)
		return (verr(v, NULL, "HS256 secret is a PEM key"));
	return (0);
}

/*
 * The checks every JWT of ours passes: compact form, the configured
 * algorithm and no other, a key fit for it, a good signature.  Returns
 * the claims (scrub and release them), or NULL with the error in v.
 */
static json_t *
verified_claims(struct vctx *v, const char *s, size_t len,
    enum jwt_keyalg alg, const unsigned char *key, size_t keylen)
{
	const char	*dot[2], *halg, *typ, *k;
	char		*copy = NULL, e[CFG_ECHO_MAX + 1];
	json_t		*hdr = NULL, *claims = NULL, *val;
	jwt_t		*jwt = NULL;
	size_t		 i, ndots = 0;

	if (s == NULL || len == 0) {
		verr(v, NULL, "empty");
		goto fail;
	}
	if (len > TOKEN_MAX_LEN) {
		verr(v, NULL, "longer than %d bytes", TOKEN_MAX_LEN);
		goto fail;
	}

	/*
	 * header.payload.signature, each base64url: no whitespace, no
	 * padding, no fourth segment, nothing after the signature.
	 */
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (ndots == 2) {
				verr(v, NULL, "malformed: more than three "
				    "segments");
				goto fail;
			}
			dot[ndots++] = &s[i];
		} else if (!b64url_char((unsigned char)s[i])) {
			verr(v, NULL, "malformed: invalid character at "
			    "offset %zu", i);
			goto fail;
		}
	}
	if (ndots != 2 || dot[0] == s || dot[1] == dot[0] + 1) {
		verr(v, NULL, "malformed: not three base64url segments");
		goto fail;
	}
	if ((hdr = segment_json(s, (size_t)(dot[0] - s), 0)) == NULL) {
		verr(v, "header", "not a base64url JSON object");
		goto fail;
	}
	if ((halg = json_string_value(json_object_get(hdr, "alg"))) == NULL) {
		verr(v, "header.alg", "missing");
		goto fail;
	}
	if (strcmp(halg, keyalg_name(alg)) != 0) {
		verr(v, "header.alg", "\"%s\" is not the configured %s",
		    cfg_echo(halg, e, sizeof(e)), keyalg_name(alg));
		goto fail;
	}
	if ((val = json_object_get(hdr, "typ")) != NULL &&
	    ((typ = json_string_value(val)) == NULL ||
	    strcasecmp(typ, "JWT") != 0)) {
		verr(v, "header.typ", "must be \"JWT\"");
		goto fail;
	}
	/* RFC 7515 4.1.11: extensions we do not understand must fail. */
	json_object_foreach(hdr, k, val) {
		if (strcmp(k, "crit") == 0) {
			verr(v, "header.crit", "no extensions supported");
			goto fail;
		}
	}
	if (dot[1] + 1 == s + len) {
		verr(v, "signature", "missing");
		goto fail;
	}
	if (check_key(v, alg, key, keylen) == -1)
		goto fail;

	if ((copy = malloc(len + 1)) == NULL) {
		verr(v, NULL, "%s", strerror(errno));
		goto fail;
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	if (jwt_decode(&jwt, copy, key, (int)keylen) != 0 || jwt == NULL) {
		jwt = NULL;
		verr(v, "signature", "verification with the configured %s "
		    "key failed", keyalg_name(alg));
		goto fail;
	}
	if (jwt_get_alg(jwt) != keyalg_jwt(alg)) {
		verr(v, "header.alg", "%s is not the configured %s",
		    jwt_alg_str(jwt_get_alg(jwt)), keyalg_name(alg));
		goto fail;
	}
	if ((claims = segment_json(dot[0] + 1, (size_t)(dot[1] - dot[0] - 1),
	    1)) == NULL) {
		verr(v, "payload", "not a base64url JSON object");
		goto fail;
	}
fail:
	json_decref(hdr);
	if (jwt != NULL)
		jwt_free(jwt);
	if (copy != NULL)
		freezero(copy, len + 1);
	return (claims);
}

int
token_verify(const char *s, size_t len, enum jwt_keyalg alg,
    const unsigned char *key, size_t keylen, const char *issuer,
    const char *audience, time_t now, struct token *tok, char *err,
    size_t errlen)
{
	struct vctx	 v = { err, errlen };
	json_t		*claims;

	memset(tok, 0, sizeof(*tok));
	if ((claims = verified_claims(&v, s, len, alg, key, keylen)) ==
	    NULL)
		goto fail;
	if (parse_claims(&v, claims, issuer, audience, now, tok) == -1)
		goto fail;
	json_scrub(claims);
	json_decref(claims);
	return (0);

fail:
	if (claims != NULL) {
		json_scrub(claims);
		json_decref(claims);
	}
	token_free(tok);
	return (-1);
}

static int
mesh_char(unsigned char c)
{
	return (isalnum(c) || c == '.' || c == '_' || c == ':' || c == '/' ||
	    c == '-');
}

int
regtoken_verify(const char *s, size_t len, enum jwt_keyalg alg,
    const unsigned char *key, size_t keylen, const char *issuer,
    const char *audience, time_t now, struct regtoken *rt, char *err,
    size_t errlen)
{
	struct vctx	 v = { err, errlen };
	struct token	 reg;
	json_t		*claims, *val, *e;
	const char	*use, *mesh;
	size_t		 i;

	memset(rt, 0, sizeof(*rt));
	memset(&reg, 0, sizeof(reg));
	if ((claims = verified_claims(&v, s, len, alg, key, keylen)) ==
	    NULL)
		goto fail;
	if (parse_registered(&v, claims, issuer, audience, now, &reg) == -1)
		goto fail;
	/* A node token holds a private key: it must never be shown here. */
	if (json_object_get(claims, "wireguard_config") != NULL) {
		verr(&v, "wireguard_config", "a node token, not a registry "
		    "token");
		goto fail;
	}
	if (get_str(&v, claims, "token_use", "token_use", CFG_STR_MAX,
	    &use) == -1)
		goto fail;
	if (use == NULL || strcmp(use, "registry") != 0) {
		verr(&v, "token_use", "must be \"registry\"");
		goto fail;
	}
	if (get_key(&v, claims, "public_key", "public_key", 1,
	    rt->public_key, NULL) == -1)
		goto fail;
	if (get_str(&v, claims, "mesh", "mesh", REGTOKEN_MESH_MAX + 1,
	    &mesh) == -1)
		goto fail;
	if (mesh == NULL || mesh[0] == '\0') {
		verr(&v, "mesh", "missing");
		goto fail;
	}
	for (i = 0; mesh[i] != '\0'; i++) {
		if (!mesh_char((unsigned char)mesh[i])) {
			verr(&v, "mesh", "only letters, digits and ._:/-");
			goto fail;
		}
	}
	strlcpy(rt->mesh, mesh, sizeof(rt->mesh));
	if ((val = json_object_get(claims, "address")) != NULL) {
		if (parse_cidr_str(&v, val, "address", &rt->address) == -1)
			goto fail;
		rt->has_address = 1;
	}
	if ((val = json_object_get(claims, "allowed_ips")) != NULL) {
		if (!json_is_array(val) ||
		    json_array_size(val) > REGTOKEN_AIPS_MAX) {
			verr(&v, "allowed_ips", "must be an array of at most "
			    "%d prefixes", REGTOKEN_AIPS_MAX);
			goto fail;
		}
		json_array_foreach(val, i, e) {
			if (parse_cidr_str(&v, e, "allowed_ips",
			    &rt->allowed_ips[i]) == -1)
				goto fail;
			cidr_mask(&rt->allowed_ips[i]);
		}
		rt->nallowed_ips = json_array_size(val);
		rt->has_allowed_ips = 1;
	}
	strlcpy(rt->sub, reg.sub, sizeof(rt->sub));
	rt->exp = reg.exp;
	json_decref(claims);
	token_free(&reg);
	return (0);
fail:
	if (claims != NULL) {
		json_scrub(claims);
		json_decref(claims);
	}
	token_free(&reg);
	memset(rt, 0, sizeof(*rt));
	return (-1);
}

void
token_free(struct token *tok)
{
	size_t	 i;

	if (tok == NULL)
		return;
	for (i = 0; i < tok->npeers; i++) {
		sodium_memzero(tok->peers[i].preshared_key, WG_KEY_LEN);
		free(tok->peers[i].allowed_ips);
	}
	if (tok->peers != NULL)
		freezero(tok->peers, tok->npeers * sizeof(*tok->peers));
	free(tok->allowed_ips);
	free(tok->allowed_peers);
	if (tok->registry_token != NULL)
		freezero(tok->registry_token, strlen(tok->registry_token));
	sodium_memzero(tok, sizeof(*tok));
}

int
token_mint_hdr(const char *hdr_json, const char *claims_json,
    enum jwt_keyalg alg, const unsigned char *key, size_t keylen,
    char **out, char *err, size_t errlen)
{
	struct vctx	 v = { err, errlen };
	json_t		*j = NULL;
	jwt_t		*jwt = NULL;
	char		 why[CFG_ERR_MAX];
	int		 rc;

	*out = NULL;
	if (key == NULL || keylen == 0 || keylen > VERIFY_KEY_MAX_LEN) {
		verr(&v, NULL, "signing key missing or longer than %d bytes",
		    VERIFY_KEY_MAX_LEN);
		goto fail;
	}
	if (alg == KEYALG_HS256 && keylen < HS256_SECRET_MIN_LEN) {
		verr(&v, NULL, "HS256 secret shorter than %d bytes",
		    HS256_SECRET_MIN_LEN);
		goto fail;
	}
	if (token_key_check(alg, key, keylen, why, sizeof(why)) == -1) {
		verr(&v, NULL, "%s", why);
		goto fail;
	}
	if ((j = json_loads(claims_json, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL || !json_is_object(j)) {
		verr(&v, "claims", "not a JSON object");
		goto fail;
	}
	json_scrub(j);
	json_decref(j);
	j = NULL;
	if (hdr_json != NULL) {
		if ((j = json_loads(hdr_json, JSON_REJECT_DUPLICATES,
		    NULL)) == NULL || !json_is_object(j)) {
			verr(&v, "header", "not a JSON object");
			goto fail;
		}
		if (json_object_get(j, "alg") != NULL) {
			verr(&v, "header.alg", "follows the key, may not be "
			    "given");
			goto fail;
		}
		json_decref(j);
		j = NULL;
	}
	if (jwt_new(&jwt) != 0) {
		verr(&v, NULL, "out of memory");
		goto fail;
	}
	if (jwt_add_grants_json(jwt, claims_json) != 0) {
		verr(&v, "claims", "rejected by libjwt");
		goto fail;
	}
	if (hdr_json != NULL && jwt_add_headers_json(jwt, hdr_json) != 0) {
		verr(&v, "header", "rejected by libjwt");
		goto fail;
	}
	if ((rc = jwt_set_alg(jwt, keyalg_jwt(alg), key, (int)keylen)) != 0) {
		verr(&v, NULL, "cannot use the %s key: %s", keyalg_name(alg),
		    strerror(rc));
		goto fail;
	}
	if ((*out = jwt_encode_str(jwt)) == NULL) {
		verr(&v, NULL, "signing with the %s key failed",
		    keyalg_name(alg));
		goto fail;
	}
	jwt_free(jwt);
	return (0);

fail:
	if (j != NULL)
		json_decref(j);
	if (jwt != NULL)
		jwt_free(jwt);
	return (-1);
}

int
token_mint(const char *claims_json, enum jwt_keyalg alg,
    const unsigned char *key, size_t keylen, char **out, char *err,
    size_t errlen)
{
	return (token_mint_hdr(NULL, claims_json, alg, key, keylen, out, err,
	    errlen));
}

const char *
conn_type_name(enum conn_type t)
{
	switch (t) {
	case CONN_CLIENT_SERVER:
		return ("client-server");
	case CONN_SERVER_SERVER:
		return ("server-server");
	case CONN_P2P_MESH:
		return ("p2p-mesh");
	}
	return ("unknown");
}

const char *
routing_mode_name(enum routing_mode r)
{
	switch (r) {
	case ROUTING_HYBRID:
		return ("hybrid");
	case ROUTING_DIRECT:
		return ("direct");
	case ROUTING_RELAY:
		return ("relay");
	}
	return ("unknown");
}

const char *
keyalg_name(enum jwt_keyalg a)
{
	switch (a) {
	case KEYALG_RS256:
		return ("RS256");
	case KEYALG_ES256:
		return ("ES256");
	case KEYALG_HS256:
		return ("HS256");
	}
	return ("unknown");
}

int
keyalg_parse(const char *s, enum jwt_keyalg *a)
{
	if (s == NULL)
		return (-1);
	if (strcasecmp(s, "RS256") == 0)
		*a = KEYALG_RS256;
	else if (strcasecmp(s, "ES256") == 0)
		*a = KEYALG_ES256;
	else if (strcasecmp(s, "HS256") == 0)
		*a = KEYALG_HS256;
	else
		return (-1);
	return (0);
}
