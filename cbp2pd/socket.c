/*
 * The engine's descriptors: the tun and the UDP sockets the parent
 * opened and passed, the socketpair to cbrelayd (relayed packets), and
 * STUN over the WireGuard socket (the engine parses the answer; the
 * parent only sees the address it names).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "engine.h"
#include "log.h"

int
socket_fd(int family)
{
	return (family == AF_INET6 ? eng->udp6 : eng->udp4);
}

void
socket_set_tun(int fd)
{
	if (eng->tun != -1) {
		event_del(&eng->ev_tun);
		close(eng->tun);
	}
	eng->tun = fd;
	event_set(&eng->ev_tun, fd, EV_READ | EV_PERSIST, tun_read_cb, NULL);
	event_add(&eng->ev_tun, NULL);
	strlcpy(eng->child->state, "running", sizeof(eng->child->state));
}

/* A new socket for a family (fd -1: none any more); the old one goes. */
void
socket_set_udp(int af, int fd)
{
	int		*slot = af == AF_INET6 ? &eng->udp6 : &eng->udp4;
	struct event	*ev = af == AF_INET6 ? &eng->ev_udp6 : &eng->ev_udp4;

	tx_flush();
	if (*slot != -1) {
		event_del(ev);
		close(*slot);
	}
	*slot = fd;
	if (fd == -1)
		return;
	event_set(ev, fd, EV_READ | EV_PERSIST, udp_read_cb, NULL);
	event_add(ev, NULL);
}

/*
 * The socketpair to cbrelayd: SOCK_SEQPACKET, one message a packet, the
 * peer's public key then the WireGuard packet.  Given once; a second
 * one replaces the first.
 */
void
socket_set_relay(int fd)
{
	tx_flush();
	if (eng->relay != -1) {
		event_del(&eng->ev_relay);
		close(eng->relay);
	}
	eng->relay = fd;
	if (fd == -1)
		return;
	event_set(&eng->ev_relay, fd, EV_READ | EV_PERSIST, relay_read_cb,
	    NULL);
	event_add(&eng->ev_relay, NULL);
	log_debug("relay: packet socket attached");
}

/*
 * A burst from cbrelayd into the receive path UDP takes, each packet
 * from EP_RELAY with the key cbrelayd says the relay named.
 */
void
relay_read_cb(int fd, short event, void *arg)
{
	struct mmsghdr	 msgs[ENGINE_BATCH];
	struct iovec	 iov[ENGINE_BATCH][2];
	struct rxpkt	*rx = rx_slots();
	struct rxseg	 q[ENGINE_BATCH];
	uint64_t	 now;
	unsigned int	 nq = 0;
	int		 i, n;

	for (i = 0; i < ENGINE_BATCH; i++) {
		iov[i][0].iov_base = rx[i].from.key;
		iov[i][0].iov_len = WG_KEY_LEN;
		iov[i][1].iov_base = rx[i].buf;
		iov[i][1].iov_len = ENGINE_PKT_MAX;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = iov[i];
		msgs[i].msg_hdr.msg_iovlen = 2;
	}
	if ((n = recvmmsg(fd, msgs, ENGINE_BATCH, MSG_DONTWAIT, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: recvmmsg", __func__);
		return;
	}
	now = engine_now();
	for (i = 0; i < n; i++) {
		struct rxpkt	*in = &rx[i];

		if (msgs[i].msg_len == 0) {
			/*
			 * The end of the stream: cbrelayd is gone, and the
			 * parent hears of it.  Stop listening until then.
			 */
			log_warnx("relay: cbrelayd closed the packet socket");
			event_del(&eng->ev_relay);
			break;
		}
		if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    msgs[i].msg_len <= WG_KEY_LEN) {
			eng->cnt.drops[DROP_SHORT]++;
			continue;
		}
		in->len = msgs[i].msg_len - WG_KEY_LEN;
		in->from.kind = EP_RELAY;
		in->from.sa.ss_family = AF_UNSPEC;	/* no address */
		q[nq].slot = i;
		q[nq].off = 0;
		q[nq].len = in->len;
		nq++;
	}
	receive_batch(rx, q, nq, now);
	tun_flush();
	tx_flush();
}

void
socket_close_all(void)
{
	socket_set_udp(AF_INET, -1);
	socket_set_udp(AF_INET6, -1);
	socket_set_relay(-1);
	if (eng->tun != -1) {
		event_del(&eng->ev_tun);
		close(eng->tun);
		eng->tun = -1;
	}
}

/*
 * Ask a server where it sees our WireGuard socket.  Each slot has one
 * request outstanding: a new one makes the last one's answer stale.
 */
void
stun_request(const struct eng_stun_req *r)
{
	struct stun_slot	*sl = &eng->stun[r->slot];
	uint8_t			 req[STUN_MAX_MSG];
	size_t			 len;
	int			 fd;

	sl->pending = 0;
	if ((fd = socket_fd(r->server.ss_family)) == -1)
		return;
	randombytes_buf(sl->txid, sizeof(sl->txid));
	if ((len = stun_build_request(req, sizeof(req), sl->txid)) == 0)
		return;
	/* The STUN port is the edge's own, not the registry's. */
	if (sendto(fd, req, len, 0, (const struct sockaddr *)&r->server,
	    sockaddr_len(&r->server)) == -1) {
		log_debug("stun: sendto: %s", strerror(errno));
		return;
	}
	sl->req = *r;
	sl->pending = 1;
}

/*
 * An answer to one of our requests names our mapped address, and
 * perhaps the server's second port; tell the parent which it answers.
 */
int
stun_input(const uint8_t *pkt, size_t len)
{
	struct eng_stun_result	 res;
	struct stun_slot	*sl;
	int			 i;

	for (i = 0; i < STUN_SLOTS; i++) {
		sl = &eng->stun[i];
		memset(&res, 0, sizeof(res));
		if (!sl->pending || stun_parse_response_alt(pkt, len,
		    sl->txid, &res.mapped, &res.alt_port) == -1)
			continue;
		sl->pending = 0;
		res.round = sl->req.round;
		res.slot = i;
		engine_to_parent(IMSG_ENG_STUN_RESULT, &res, sizeof(res));
		return (0);
	}
	return (-1);
}
