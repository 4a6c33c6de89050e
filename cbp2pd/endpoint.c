/*
 * Socket addresses and tagged endpoints: formatting, comparing, and
 * the kind of endpoint an address makes.  Shared by the parent and the
 * engine; no process state.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "cbp2pd.h"

/* "192.0.2.1:51820" or "[2001:db8::1]:51820" */
int
sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char	 host[INET6_ADDRSTRLEN];
	int	 n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		n = snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		n = snprintf(buf, len, "[%s]:%u", host,
		    ntohs(sin6->sin6_port));
	} else
		n = snprintf(buf, len, "%s", "");
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

socklen_t
sockaddr_len(const struct sockaddr_storage *ss)
{
	return (ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
}

/* Same family, address and port: 0. */
int
sockaddr_cmp(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return (1);
	if (a->ss_family == AF_INET)
		return (a4->sin_port != b4->sin_port ||
		    a4->sin_addr.s_addr != b4->sin_addr.s_addr);
	if (a->ss_family == AF_INET6)
		return (a6->sin6_port != b6->sin6_port ||
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) != 0);
	return (1);
}

/* A UDP endpoint of the address's family; anything else is none. */
void
endpoint_from_sa(struct endpoint *ep, const struct sockaddr *sa)
{
	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET) {
		ep->kind = EP_UDP4;
		memcpy(&ep->sa, sa, sizeof(struct sockaddr_in));
	} else if (sa->sa_family == AF_INET6) {
		ep->kind = EP_UDP6;
		memcpy(&ep->sa, sa, sizeof(struct sockaddr_in6));
	}
}

/* The relay endpoint of the peer with this public key. */
void
endpoint_relay(struct endpoint *ep, const uint8_t *key)
{
	memset(ep, 0, sizeof(*ep));
	ep->kind = EP_RELAY;
	memcpy(ep->key, key, WG_KEY_LEN);
}

/* 1 when a packet to or from ep travels the path (enum peer_path). */
int
endpoint_on_path(const struct endpoint *ep, int path)
{
	switch (ep->kind) {
	case EP_UDP4:
	case EP_UDP6:
		return (path == PATH_DIRECT || path == PATH_HYBRID);
	case EP_RELAY:
		return (path == PATH_RELAY || path == PATH_HYBRID);
	default:
		return (0);
	}
}

int
endpoint_format(const struct endpoint *ep, char *buf, size_t len)
{
	switch (ep->kind) {
	case EP_UDP4:
	case EP_UDP6:
		return (sockaddr_format((const struct sockaddr *)&ep->sa, buf,
		    len));
	case EP_RELAY:
		return (strlcpy(buf, "relay", len) >= len ? -1 : 0);
	default:
		if (len > 0)
			buf[0] = '\0';
		return (0);
	}
}
