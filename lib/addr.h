/*
 * Addresses as text, one parser per syntax: IP addresses and CIDR
 * prefixes, "host:port" endpoints and the authority of an https URL.
 * Every program of the suite parses these here, so a string one of them
 * accepts means the same thing to all the others.
 *
 *	text			parser			used for
 *	"a.b.c.d", "x::y"	ipaddr_parse		the token's dns
 *	"example.net"		domain_valid		... and dns_search
 *	"addr/plen"		cidr_parse		allowed IPs, subnets
 *	"host:port"		hostport_split		config, token endpoints
 *				hostport_resolve	... when the parent connects
 *	numeric "addr:port"	hostport_parse_numeric	registry, cbedged listen
 *	wg(8)'s endpoint	hostport_parse_wg	the UAPI's endpoint=
 *	"https://host[:port]"	url_https_authority	edge.registry
 *
 * The "host:port" syntax: "host:port" with host an RFC 1123 name or a
 * dotted quad, or "[v6]:port" with an IPv6 address in brackets; port is
 * decimal, 1-65535, without sign or leading zeros.  A bare IPv6 address
 * ("::1:80") is ambiguous and never accepted, nor is a number in the
 * other forms inet_aton(3) and so getaddrinfo(3) read ("127.1",
 * "010.0.0.1", "0x7f.1"): it would not mean the same to every parser.
 * Where a caller has a default port, "host" and "[v6]" alone take it.
 *
 * Pure, except hostport_resolve(), which asks the resolver and may block.
 */
#ifndef CBP2P_ADDR_H
#define CBP2P_ADDR_H

#include <sys/types.h>
#include <sys/socket.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTPORT_MAX		264	/* "[host]:port" and its NUL */
#define HOSTPORT_HOST_MAX	254	/* a 253-byte name and its NUL */
#define HOSTPORT_PORT_MAX	6	/* "65535" and its NUL */

struct cidr {
	int		 af;		/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* network order; v4 in first 4 */
	uint8_t		 plen;
};

struct ipaddr {
	int		 af;
	uint8_t		 addr[16];
};

/*
 * "a.b.c.d" (inet_pton(3): four decimal parts, no leading zeros) or an
 * IPv6 address without scope.  0, or -1 with ip untouched.
 */
int	 ipaddr_parse(const char *, struct ipaddr *);

/*
 * "addr/plen", the prefix length required (decimal, no sign, no leading
 * zero, at most 32 or 128).  The address is kept as written: callers
 * that want a network call cidr_mask().  0, or -1 with c untouched.
 */
int	 cidr_parse(const char *, struct cidr *);
/* "addr/plen" into buf; -1 if it does not fit or c is no address. */
int	 cidr_format(const struct cidr *, char *, size_t);
/* Clear the host bits; 1 if any were set. */
int	 cidr_mask(struct cidr *);
/* 1 if the second lies inside the first (a network), else 0. */
int	 cidr_contains(const struct cidr *, const struct cidr *);

/*
 * Split a "host:port" of the syntax above into host (without brackets)
 * and port.  defport NULL: the port is required; otherwise "host" and
 * "[v6]" get defport, which must itself be a valid port.  host and port
 * may be NULL to only check the syntax.  The host is checked, not
 * resolved.  0, or -1 when the text is not of the syntax or longer than
 * a buffer.
 */
int	 hostport_split(const char *, const char *, char *, size_t, char *,
	    size_t);
/*
 * 1 if the text is an RFC 1123 host name (the host of "host:port"), as
 * a DNS search domain must be; else 0.
 */
int	 domain_valid(const char *);
/* 1 if hostport_split() accepts it with the port required, else 0. */
int	 hostport_valid(const char *);

/*
 * A numeric "a.b.c.d:port" or "[v6]:port" of the syntax above into ss,
 * port in network order; names and scopes are refused.  Never asks the
 * resolver: for what a peer sent and for addresses to bind.  0, or -1
 * with ss zeroed.
 */
int	 hostport_parse_numeric(const char *, struct sockaddr_storage *);

/*
 * wg(8)'s endpoint as wireguard-go reads it (netip.ParseAddrPort):
 * "a.b.c.d:port", "[v6]:port" or "[v6%scope]:port".  A scope of digits
 * is the sin6_scope_id; any other is an interface name, copied into
 * ifname ("" when none) for the caller to look up.  The port may have
 * leading zeros (Go's ParseUint takes them); port 0, which wireguard-go
 * takes, is refused: nothing can be sent to it.  Numeric only: wg(8)
 * resolves names before it sends.  0, or -1 with ss zeroed.
 */
int	 hostport_parse_wg(const char *, struct sockaddr_storage *,
	    char [IF_NAMESIZE]);

/*
 * hostport_split(), then getaddrinfo(3) of the host (AF_UNSPEC, the
 * port numeric): the first address into ss, the host into host unless
 * it is NULL.  May block on DNS.  0, or -1 when the text is not of the
 * syntax or the name does not resolve.
 */
int	 hostport_resolve(const char *, const char *,
	    struct sockaddr_storage *, char *, size_t);

/*
 * The authority of "https://host[:port][/path]" (scheme in any case, no
 * blanks or controls, no "user@"), the "host[:port]" a hostport_*
 * function takes, into auth.  Only the URL is checked here, not the
 * authority.  0, or -1 when it is not such a URL or auth is too small.
 */
int	 url_https_authority(const char *, char *, size_t);

#endif /* CBP2P_ADDR_H */
