/*
 * Small, pure helpers shared by the configuration and token code:
 * WireGuard X25519 keys in wg(8)'s base64, CIDR and address parsing,
 * "host:port" endpoints, and the names of the configuration enums.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "config.h"

#define PORT_MAX	65535
#define PORT_DIGITS_MAX	5
#define PLEN_DIGITS_MAX	3
#define HOSTNAME_MAX	253	/* RFC 1035, without the trailing dot */
#define LABEL_MAX	63

static void
wgkey_clamp(uint8_t k[WG_KEY_LEN])
{
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

void
wgkey_generate(uint8_t priv[WG_KEY_LEN])
{
	randombytes_buf(priv, WG_KEY_LEN);
	wgkey_clamp(priv);
}

/*
 * X25519 of the base point.  The scalar is clamped on a copy so that a
 * key given unclamped (as wg(8) accepts) still yields the public key
 * every WireGuard implementation derives from it.
 */
int
wgkey_public(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	uint8_t	 k[WG_KEY_LEN];
	int	 rc;

	memcpy(k, priv, sizeof(k));
	wgkey_clamp(k);
	rc = crypto_scalarmult_base(pub, k);
	sodium_memzero(k, sizeof(k));
	return (rc == 0 ? 0 : -1);
}

/*
 * Exactly 44 characters of standard base64 with padding that decode to
 * 32 bytes; anything else (URL-safe alphabet, whitespace, missing
 * padding, 31 or 33 bytes) is refused.  key is untouched on failure.
 */
int
wgkey_from_b64(uint8_t key[WG_KEY_LEN], const char *b64)
{
	uint8_t		 buf[WG_KEY_LEN + 1];
	size_t		 len, binlen;
	const char	*end;

	if (b64 == NULL)
		return (-1);
	len = strnlen(b64, WG_KEY_B64_LEN + 1);
	if (len != WG_KEY_B64_LEN)
		return (-1);
	if (sodium_base642bin(buf, sizeof(buf), b64, len, NULL, &binlen,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + len || binlen != WG_KEY_LEN) {
		sodium_memzero(buf, sizeof(buf));
		return (-1);
	}
	memcpy(key, buf, WG_KEY_LEN);
	sodium_memzero(buf, sizeof(buf));
	return (0);
}

void
wgkey_to_b64(char b64[WG_KEY_B64_LEN + 1], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2base64(b64, WG_KEY_B64_LEN + 1, key, WG_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* Decimal without sign or leading zeros, at most maxdigits digits. */
static int
parse_uint(const char *s, size_t len, size_t maxdigits, unsigned long max,
    unsigned long *out)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 0 || len > maxdigits)
		return (-1);
	if (len > 1 && s[0] == '0')
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return (-1);
	*out = v;
	return (0);
}

int
ipaddr_parse(const char *s, struct ipaddr *ip)
{
	struct ipaddr	 tmp;

	if (s == NULL)
		return (-1);
	memset(&tmp, 0, sizeof(tmp));
	if (inet_pton(AF_INET, s, tmp.addr) == 1)
		tmp.af = AF_INET;
	else if (inet_pton(AF_INET6, s, tmp.addr) == 1)
		tmp.af = AF_INET6;
	else
		return (-1);
	*ip = tmp;
	return (0);
}

/*
 * "a.b.c.d/n" or "x::y/n".  The prefix is required and the address is
 * kept as written: callers that want a network call cidr_mask().
 */
int
cidr_parse(const char *s, struct cidr *c)
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*slash;
	struct ipaddr	 ip;
	unsigned long	 plen;
	size_t		 alen;

	if (s == NULL || (slash = strchr(s, '/')) == NULL)
		return (-1);
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(buf))
		return (-1);
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (ipaddr_parse(buf, &ip) == -1)
		return (-1);
	if (parse_uint(slash + 1, strlen(slash + 1), PLEN_DIGITS_MAX,
	    ip.af == AF_INET ? 32 : 128, &plen) == -1)
		return (-1);
	memset(c, 0, sizeof(*c));
	c->af = ip.af;
	memcpy(c->addr, ip.addr, sizeof(c->addr));
	c->plen = (uint8_t)plen;
	return (0);
}

/* Clear the host bits beyond the prefix; returns 1 if any were set. */
int
cidr_mask(struct cidr *c)
{
	size_t	 alen = c->af == AF_INET ? 4 : 16, i;
	unsigned bits;
	uint8_t	 m, old;
	int	 changed = 0;

	for (i = 0; i < alen; i++) {
		bits = c->plen > i * 8 ? c->plen - i * 8 : 0;
		m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		old = c->addr[i];
		c->addr[i] &= m;
		if (old != c->addr[i])
			changed = 1;
	}
	return (changed);
}

/* 1 if a lies inside network n (same family, n's prefix matches). */
int
cidr_contains(const struct cidr *n, const struct cidr *a)
{
	struct cidr	 x = *a, y = *n;

	if (n->af != a->af || a->plen < n->plen)
		return (0);
	x.plen = n->plen;
	cidr_mask(&x);
	cidr_mask(&y);
	return (memcmp(x.addr, y.addr, sizeof(x.addr)) == 0);
}

int
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];
	int	 n;

	if ((c->af != AF_INET && c->af != AF_INET6) ||
	    inet_ntop(c->af, c->addr, a, sizeof(a)) == NULL)
		return (-1);
	n = snprintf(buf, len, "%s/%u", a, (unsigned)c->plen);
	if (n < 0 || (size_t)n >= len)
		return (-1);
	return (0);
}

/* RFC 1123 host name: dot-separated labels of letters, digits, '-'. */
static int
hostname_valid(const char *h, size_t len)
{
	size_t	 i, lab = 0;

	if (len == 0 || len > HOSTNAME_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (lab == 0 || h[i - 1] == '-')
				return (0);
			lab = 0;
			continue;
		}
		if (!isalnum((unsigned char)h[i]) && h[i] != '-')
			return (0);
		if (h[i] == '-' && lab == 0)
			return (0);
		if (++lab > LABEL_MAX)
			return (0);
	}
	return (lab != 0 && h[len - 1] != '-');
}

/*
 * "host:port" (host name or IPv4 address) or "[v6]:port", port 1..65535.
 * A bare IPv6 address without brackets is ambiguous and refused.
 * Returns 1 when valid, 0 otherwise.
 */
int
endpoint_valid(const char *s)
{
	char		 a[INET6_ADDRSTRLEN];
	struct in6_addr	 in6;
	const char	*colon, *close;
	unsigned long	 port;
	size_t		 len, hlen;

	if (s == NULL || (len = strnlen(s, CFG_ENDPOINT_MAX)) == 0 ||
	    len >= CFG_ENDPOINT_MAX)
		return (0);
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL || close[1] != ':')
			return (0);
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(a))
			return (0);
		memcpy(a, s + 1, hlen);
		a[hlen] = '\0';
		if (inet_pton(AF_INET6, a, &in6) != 1)
			return (0);
		colon = close + 1;
	} else {
		if ((colon = strchr(s, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return (0);
		/* Dotted quads go through hostname_valid() unharmed. */
		if (!hostname_valid(s, (size_t)(colon - s)))
			return (0);
	}
	if (parse_uint(colon + 1, strlen(colon + 1), PORT_DIGITS_MAX,
	    PORT_MAX, &port) == -1 || port == 0)
		return (0);
	return (1);
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
