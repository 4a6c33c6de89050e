/*
 * Addresses as text: IP addresses, CIDR prefixes, "host:port" and the
 * authority of an https URL.  One lexer splits every "host:port" form;
 * what differs between callers (names or numbers only, a scope, a
 * default port) is decided after it, here, and nowhere else.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

#define PORT_MAX		65535
#define PORT_DIGITS_MAX		5
#define PLEN_DIGITS_MAX		3
#define PLEN_MAX_V4		32
#define PLEN_MAX_V6		128
/*
 * wg(8)'s syntax takes leading zeros (Go's ParseUint); the bound on
 * digits is the one lib/uapi.c always had, UINT64_MAX's 20.
 */
#define WG_DIGITS_MAX		20
#define HOSTNAME_MAX		253	/* RFC 1035, without the trailing dot */
#define LABEL_MAX		63
#define HTTPS_PREFIX		"https://"
/* The host part of a numeric endpoint: a v6 address, '%', a scope. */
#define NUMHOST_MAX		(INET6_ADDRSTRLEN + 1 + IF_NAMESIZE)

/* The parts of a "host:port", pointing into the text. */
struct hostport {
	const char	*host;		/* without the brackets */
	size_t		 hostlen;
	const char	*port;		/* NULL when none is given */
	int		 bracket;	/* host was in brackets */
};

/*
 * Decimal digits only, no sign or blank, at most maxdigits of them and
 * no more than max.  A leading zero only when zeros is set or the
 * number is 0 itself.
 */
static int
dec_parse(const char *s, size_t len, size_t maxdigits, int zeros,
    uint64_t max, uint64_t *out)
{
	uint64_t	 n = 0, d;
	size_t		 i;

	if (len == 0 || len > maxdigits)
		return (-1);
	if (!zeros && len > 1 && s[0] == '0')
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		d = (uint64_t)(s[i] - '0');
		if (d > max || n > (max - d) / 10)
			return (-1);
		n = n * 10 + d;
	}
	*out = n;
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

int
cidr_parse(const char *s, struct cidr *c)
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*slash;
	struct ipaddr	 ip;
	uint64_t	 plen;
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
	if (dec_parse(slash + 1, strlen(slash + 1), PLEN_DIGITS_MAX, 0,
	    ip.af == AF_INET ? PLEN_MAX_V4 : PLEN_MAX_V6, &plen) == -1)
		return (-1);
	memset(c, 0, sizeof(*c));
	c->af = ip.af;
	memcpy(c->addr, ip.addr, sizeof(c->addr));
	c->plen = (uint8_t)plen;
	return (0);
}

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

/*
 * RFC 1123 host name: dot-separated labels of letters, digits and '-',
 * no label empty or longer than 63 or with '-' at either end.  Dotted
 * quads are names too, as far as the syntax goes.
 */
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

int
domain_valid(const char *name)
{
	return (hostname_valid(name, strlen(name)));
}

/*
 * The one lexer of "host:port": "[anything]", "[anything]:port",
 * "host:port" or "host", where an unbracketed host has no ':' at all.
 * Only the shape is checked; the parts are the callers'.
 */
static int
hostport_lex(const char *s, struct hostport *hp)
{
	const char	*close, *colon;

	memset(hp, 0, sizeof(*hp));
	if (s == NULL || strnlen(s, HOSTPORT_MAX) >= HOSTPORT_MAX)
		return (-1);
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL)
			return (-1);
		if (close[1] == ':')
			hp->port = close + 2;
		else if (close[1] != '\0')
			return (-1);
		hp->host = s + 1;
		hp->hostlen = (size_t)(close - hp->host);
		hp->bracket = 1;
	} else if ((colon = strchr(s, ':')) != NULL) {
		/* More than one: a bare IPv6 address, ambiguous. */
		if (strchr(colon + 1, ':') != NULL)
			return (-1);
		hp->host = s;
		hp->hostlen = (size_t)(colon - s);
		hp->port = colon + 1;
	} else {
		hp->host = s;
		hp->hostlen = strlen(s);
	}
	return (hp->hostlen == 0 ? -1 : 0);
}

static int
hostport_host(const struct hostport *hp, char *buf, size_t len)
{
	if (hp->hostlen >= len)
		return (-1);
	memcpy(buf, hp->host, hp->hostlen);
	buf[hp->hostlen] = '\0';
	return (0);
}

/* 1-65535; leading zeros only in wg(8)'s syntax. */
static int
port_parse(const char *s, int wg, uint16_t *port)
{
	uint64_t	 n;

	if (dec_parse(s, strlen(s), wg ? WG_DIGITS_MAX : PORT_DIGITS_MAX, wg,
	    PORT_MAX, &n) == -1 || n == 0)
		return (-1);
	*port = (uint16_t)n;
	return (0);
}

int
hostport_split(const char *s, const char *defport, char *host,
    size_t hostlen, char *port, size_t portlen)
{
	struct hostport	 hp;
	struct in_addr	 in4;
	struct in6_addr	 in6;
	char		 h[HOSTPORT_HOST_MAX];
	const char	*p;
	uint16_t	 pnum;

	if (hostport_lex(s, &hp) == -1)
		return (-1);
	if ((p = hp.port) == NULL && (p = defport) == NULL)
		return (-1);
	if (port_parse(p, 0, &pnum) == -1 ||
	    hostport_host(&hp, h, sizeof(h)) == -1)
		return (-1);
	if (hp.bracket) {
		if (inet_pton(AF_INET6, h, &in6) != 1)
			return (-1);
	} else {
		if (!hostname_valid(h, hp.hostlen))
			return (-1);
		/*
		 * getaddrinfo(3) reads a number as inet_aton(3) does:
		 * "010.0.0.1" is 8.0.0.1, "127.1" and "0x7f.1" are
		 * 127.0.0.1.  Only a dotted quad, which every parser reads
		 * the same way, may stand for an address.
		 */
		if (inet_aton(h, &in4) == 1 &&
		    inet_pton(AF_INET, h, &in4) != 1)
			return (-1);
	}
	if (host != NULL && strlcpy(host, h, hostlen) >= hostlen)
		return (-1);
	if (port != NULL && strlcpy(port, p, portlen) >= portlen)
		return (-1);
	return (0);
}

int
hostport_valid(const char *s)
{
	return (hostport_split(s, NULL, NULL, 0, NULL, 0) == 0);
}

/*
 * A scope after '%': digits are the scope id itself, anything else an
 * interface name as getnameinfo(3) writes it for wg(8): printable, no
 * blank and no '/', shorter than IF_NAMESIZE.
 */
static int
scope_parse(const char *s, struct sockaddr_in6 *sin6, char *ifname)
{
	uint64_t	 id;
	size_t		 i, n;

	if ((n = strlen(s)) == 0)
		return (-1);
	if (s[0] >= '0' && s[0] <= '9') {
		if (dec_parse(s, n, WG_DIGITS_MAX, 1, UINT32_MAX, &id) == -1)
			return (-1);
		sin6->sin6_scope_id = (uint32_t)id;
		return (0);
	}
	if (ifname == NULL || n >= IF_NAMESIZE)
		return (-1);
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
			return (-1);
	memcpy(ifname, s, n + 1);
	return (0);
}

/*
 * Numeric "a.b.c.d:port" or "[v6]:port"; with wg set, wg(8)'s syntax:
 * a scope in the brackets and leading zeros in the port.
 */
static int
numeric_parse(const char *s, int wg, struct sockaddr_storage *ss,
    char *ifname)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct hostport		 hp;
	char			 h[NUMHOST_MAX], *scope;
	uint16_t		 port;

	memset(ss, 0, sizeof(*ss));
	if (ifname != NULL)
		ifname[0] = '\0';
	if (hostport_lex(s, &hp) == -1 || hp.port == NULL ||
	    port_parse(hp.port, wg, &port) == -1 ||
	    hostport_host(&hp, h, sizeof(h)) == -1)
		goto fail;
	if (!hp.bracket) {
		/* inet_pton(3) takes dotted quads only: no "1.2", no names. */
		if (inet_pton(AF_INET, h, &sin->sin_addr) != 1)
			goto fail;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return (0);
	}
	if ((scope = strchr(h, '%')) != NULL) {
		*scope++ = '\0';
		if (!wg || scope_parse(scope, sin6, ifname) == -1)
			goto fail;
	}
	/* An IPv4 address in brackets is refused here, as by netip. */
	if (inet_pton(AF_INET6, h, &sin6->sin6_addr) != 1)
		goto fail;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	return (0);

 fail:
	memset(ss, 0, sizeof(*ss));
	if (ifname != NULL)
		ifname[0] = '\0';
	return (-1);
}

int
hostport_parse_numeric(const char *s, struct sockaddr_storage *ss)
{
	return (numeric_parse(s, 0, ss, NULL));
}

int
hostport_parse_wg(const char *s, struct sockaddr_storage *ss,
    char ifname[IF_NAMESIZE])
{
	return (numeric_parse(s, 1, ss, ifname));
}

int
hostport_resolve(const char *s, const char *defport,
    struct sockaddr_storage *ss, char *host, size_t hostlen)
{
	struct addrinfo	 hints, *res;
	char		 h[HOSTPORT_HOST_MAX], p[HOSTPORT_PORT_MAX];
	int		 rc = -1;

	if (hostport_split(s, defport, h, sizeof(h), p, sizeof(p)) == -1)
		return (-1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;		/* one answer per address */
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(h, p, &hints, &res) != 0)
		return (-1);
	if (res->ai_addrlen <= sizeof(*ss) && (host == NULL ||
	    strlcpy(host, h, hostlen) < hostlen)) {
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		rc = 0;
	}
	freeaddrinfo(res);
	return (rc);
}

int
url_https_authority(const char *url, char *auth, size_t len)
{
	const char	*h, *slash;
	size_t		 i, alen;

	if (url == NULL ||
	    strncasecmp(url, HTTPS_PREFIX, sizeof(HTTPS_PREFIX) - 1) != 0)
		return (-1);
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return (-1);
	h = url + sizeof(HTTPS_PREFIX) - 1;
	slash = strchr(h, '/');
	alen = slash != NULL ? (size_t)(slash - h) : strlen(h);
	if (alen == 0 || alen >= len)
		return (-1);
	memcpy(auth, h, alen);
	auth[alen] = '\0';
	/* No credentials in a URL of a configuration file. */
	if (strchr(auth, '@') != NULL)
		return (-1);
	return (0);
}
