/*
 * The STUN responder: RFC 5389 Binding requests on UDP, answered with
 * the source address seen (XOR-MAPPED-ADDRESS).  Parsing and building
 * are lib/stun.c's; here are only the sockets, a per-source rate limit
 * (an answer is larger than the request: no amplifier for spoofed
 * floods) and the counters.  With stun_alt_port, a second socket on
 * stun_listen's address answers too, and each answer names the other
 * socket's port (ALT-PORT): a node that asks both from one socket sees
 * whether its NAT maps per destination.  Both share the rate limit.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cbedged.h"
#include "log.h"

#include "stun.h"

/*
 * On a dual-stack socket an IPv4 client arrives as ::ffff:a.b.c.d; it
 * must learn its IPv4 address, as it would from an IPv4 socket.
 */
static const struct sockaddr *
seen_as(const struct sockaddr_storage *ss, struct sockaddr_in *sin)
{
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return ((const struct sockaddr *)ss);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = sin6->sin6_port;
	memcpy(&sin->sin_addr, &sin6->sin6_addr.s6_addr[12],
	    sizeof(sin->sin_addr));
	return ((const struct sockaddr *)sin);
}

static void
stund_read(int fd, short ev, void *arg)
{
	struct edge		*e = arg;
	struct sockaddr_in	 sin;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	uint8_t			 buf[EDGE_STUN_BUF], out[STUN_MAX_MSG];
	uint8_t			 txid[STUN_TXID_LEN], key[RATELIMIT_KEY_MAX];
	ssize_t			 n;
	size_t			 len, keylen;
	uint16_t		 alt;
	int			 i;

	/* Each socket names the other one. */
	alt = fd == e->stun_fd ? (uint16_t)e->conf.stun_alt_port :
	    e->stun_port;
	for (i = 0; i < EDGE_STUN_BATCH; i++) {
		sslen = sizeof(ss);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss,
		    &sslen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("%s: recvfrom", __func__);
			return;
		}
		keylen = ratelimit_key_sa((struct sockaddr *)&ss, key);
		if (keylen == 0 || !ratelimit_allow(&e->stun_rl, key, keylen,
		    edge_now_ms() * 1000000)) {
			e->stun_refused++;
			continue;
		}
		if (stun_parse_request(buf, (size_t)n, txid) == -1 ||
		    (len = stun_build_response_alt(out, sizeof(out), txid,
		    seen_as(&ss, &sin), alt)) == 0) {
			e->stun_refused++;
			continue;
		}
		if (sendto(fd, out, len, 0, (struct sockaddr *)&ss,
		    sslen) == -1) {
			log_debug("%s: sendto: %s", __func__,
			    strerror(errno));
			continue;
		}
		e->stun_answered++;
	}
}

/* stun_listen's address with the second port, to bind. */
static int
stund_alt_addr(const struct edge *e, char *buf, size_t len)
{
	char	 host[HOSTPORT_HOST_MAX];
	int	 n;

	if (hostport_split(e->conf.stun_listen, NULL, host, sizeof(host),
	    NULL, 0) == -1)
		return (-1);
	if (strchr(host, ':') != NULL)
		n = snprintf(buf, len, "[%s]:%u", host,
		    (unsigned int)e->conf.stun_alt_port);
	else
		n = snprintf(buf, len, "%s:%u", host,
		    (unsigned int)e->conf.stun_alt_port);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

int
stund_init(struct edge *e, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	char			 alt[HOSTPORT_MAX];

	e->stun_alt_fd = -1;
	if (hostport_parse_numeric(e->conf.stun_listen, &ss) == -1) {
		snprintf(err, errlen, "%s: not a numeric address:port",
		    e->conf.stun_listen);
		return (-1);
	}
	e->stun_port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	if ((e->stun_fd = edge_bind(e->conf.stun_listen, SOCK_DGRAM, err,
	    errlen)) == -1)
		return (-1);
	if (e->conf.stun_alt_port == 0)
		return (0);
	if (stund_alt_addr(e, alt, sizeof(alt)) == -1) {
		snprintf(err, errlen, "%s: no address for stun_alt_port",
		    e->conf.stun_listen);
		return (-1);
	}
	if ((e->stun_alt_fd = edge_bind(alt, SOCK_DGRAM, err,
	    errlen)) == -1)
		return (-1);
	return (0);
}

void
stund_start(struct edge *e)
{
	if ((e->stun_ev = event_new(e->base, e->stun_fd, EV_READ | EV_PERSIST,
	    stund_read, e)) == NULL)
		fatalx("%s: event_new", __func__);
	event_add(e->stun_ev, NULL);
	if (e->stun_alt_fd == -1)
		return;
	if ((e->stun_alt_ev = event_new(e->base, e->stun_alt_fd,
	    EV_READ | EV_PERSIST, stund_read, e)) == NULL)
		fatalx("%s: event_new", __func__);
	event_add(e->stun_alt_ev, NULL);
}


void
stund_shutdown(struct edge *e)
{
	if (e->stun_ev != NULL)
		event_free(e->stun_ev);
	if (e->stun_fd != -1)
		close(e->stun_fd);
	if (e->stun_alt_ev != NULL)
		event_free(e->stun_alt_ev);
	if (e->stun_alt_fd != -1)
		close(e->stun_alt_fd);
	e->stun_ev = e->stun_alt_ev = NULL;
	e->stun_fd = e->stun_alt_fd = -1;
}
