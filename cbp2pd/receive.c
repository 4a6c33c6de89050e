/*
 * The engine's inbound path: UDP recv -> type dispatch -> handshake
 * (mac1 and cookie checked here, the Noise part in the parent), cookie
 * reply, or transport data -> replay check -> decrypt -> the inner source
 * must be the peer's -> tun write.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>

#include <errno.h>
#include <event.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"

#define IPV4_HEADER_MIN		20
#define IPV6_HEADER_LEN		40
#define COOKIE_SRC_PORT_LEN	2

struct rxpkt {
	uint8_t			 buf[ENGINE_PKT_MAX];
	size_t			 len;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
};

static struct rxpkt	 rx[ENGINE_BATCH];

/* Address bytes then port bytes: what the cookie is bound to. */
static size_t
cookie_src(const struct sockaddr_storage *ss, uint8_t *out)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		memcpy(out, &sin->sin_addr, sizeof(sin->sin_addr));
		memcpy(out + sizeof(sin->sin_addr), &sin->sin_port,
		    COOKIE_SRC_PORT_LEN);
		return (sizeof(sin->sin_addr) + COOKIE_SRC_PORT_LEN);
	}
	memcpy(out, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
	memcpy(out + sizeof(sin6->sin6_addr), &sin6->sin6_port,
	    COOKIE_SRC_PORT_LEN);
	return (sizeof(sin6->sin6_addr) + COOKIE_SRC_PORT_LEN);
}

static int
under_load(uint64_t now)
{
	if (now - eng->hs_window >= WG_NSEC_PER_SEC) {
		eng->hs_window = now;
		eng->hs_count = 0;
	}
	if (++eng->hs_count > UNDER_LOAD_HANDSHAKES)
		eng->under_load_until = now + UNDER_LOAD_HOLD_NS;
	return (now < eng->under_load_until);
}

/*
 * mac1 (and under load the cookie and the per-source rate) decide
 * whether a handshake message may reach the parent at all.
 */
static void
handle_handshake(struct rxpkt *in, int type, uint64_t now)
{
	uint8_t		 reply[WG_COOKIE_REPLY_LEN];
	uint8_t		 src[WG_COOKIE_SRC_MAX];
	struct endpoint	 from;
	struct eng_hs	 hs;
	struct peer	*p = NULL;
	size_t		 srclen;
	int		 loaded;

	if (!eng->has_key)
		return;
	endpoint_from_sa(&from, (struct sockaddr *)&in->sa);
	srclen = cookie_src(&in->sa, src);
	loaded = under_load(now);
	switch (wg_cookie_check(&eng->local, in->buf, in->len, src, srclen,
	    loaded, now, reply)) {
	case WG_VERDICT_DROP:
		eng->cnt.drops[DROP_MAC1]++;
		return;
	case WG_VERDICT_COOKIE:
		/* Under load each source gets a few replies a second. */
		if (!ratelimit_allow(&eng->ratelimit, src,
		    srclen - COOKIE_SRC_PORT_LEN, now)) {
			eng->cnt.drops[DROP_RATELIMIT]++;
			return;
		}
		eng->cnt.cookies_sent++;
		send_handshake(&from, reply, sizeof(reply));
		return;
	case WG_VERDICT_PROCESS:
		if (loaded && !ratelimit_allow(&eng->ratelimit, src,
		    srclen - COOKIE_SRC_PORT_LEN, now)) {
			eng->cnt.drops[DROP_RATELIMIT]++;
			return;
		}
		break;
	}
	/* A response is for the peer whose initiation it answers. */
	if (type == WG_MSG_RESPONSE && ((p = index_lookup(
	    wg_msg_receiver_index(in->buf, in->len))) == NULL ||
	    p->hs_index != wg_msg_receiver_index(in->buf, in->len))) {
		eng->cnt.drops[DROP_UNKNOWN_INDEX]++;
		return;
	}
	/* A slow parent must not make the engine queue without end. */
	if (eng->hs_inflight >= HS_INFLIGHT_MAX) {
		eng->cnt.drops[DROP_RATELIMIT]++;
		return;
	}
	eng->hs_inflight++;
	memset(&hs, 0, sizeof(hs));
	hs.from_net = 1;
	if (p != NULL) {
		memcpy(hs.pub, p->wp.pub, WG_KEY_LEN);
		hs.index = p->hs_index;
	}
	hs.ep = from;
	hs.len = in->len;
	memcpy(hs.msg, in->buf, in->len);
	engine_to_parent(IMSG_ENG_HS_IN, &hs, sizeof(hs));
}

static void
handle_cookie(struct rxpkt *in, uint64_t now)
{
	struct peer	*p;

	if ((p = index_lookup(wg_msg_receiver_index(in->buf,
	    in->len))) == NULL) {
		eng->cnt.drops[DROP_UNKNOWN_INDEX]++;
		return;
	}
	if (wg_consume_cookie_reply(&p->wp, in->buf, in->len, now) != WG_OK)
		eng->cnt.drops[DROP_HANDSHAKE]++;
}

/* The inner packet's length from its own header, after padding. */
static int
inner_check(const uint8_t *pkt, size_t plen, size_t *len, int *af,
    const uint8_t **src)
{
	size_t	 l;

	if (plen >= IPV4_HEADER_MIN && (pkt[0] >> 4) == 4) {
		l = (size_t)pkt[2] << 8 | pkt[3];
		*af = AF_INET;
		*src = pkt + offsetof(struct ip, ip_src);
	} else if (plen >= IPV6_HEADER_LEN && (pkt[0] >> 4) == 6) {
		l = IPV6_HEADER_LEN + ((size_t)pkt[4] << 8 | pkt[5]);
		*af = AF_INET6;
		*src = pkt + offsetof(struct ip6_hdr, ip6_src);
	} else
		return (-1);
	if (l > plen || l < IPV4_HEADER_MIN)
		return (-1);
	*len = l;
	return (0);
}

static void
handle_data(struct rxpkt *in, uint64_t now)
{
	struct wg_keypair	*kp;
	struct peer		*p;
	struct endpoint		 from;
	const uint8_t		*src, *plain;
	uint64_t		 counter;
	uint32_t		 idx = wg_msg_receiver_index(in->buf, in->len);
	size_t			 plen, len;
	int			 af, rc, confirming;

	if ((p = index_lookup(idx)) == NULL ||
	    (kp = wg_peer_keypair_by_index(&p->wp, idx)) == NULL) {
		eng->cnt.drops[DROP_UNKNOWN_INDEX]++;
		return;
	}
	rc = wg_data_decrypt(kp, now, in->buf, in->len, &plen, &counter);
	if (rc != WG_OK) {
		eng->cnt.drops[rc == WG_EREPLAY ? DROP_REPLAY : DROP_DECRYPT]++;
		return;
	}
	confirming = kp == p->wp.next;
	if (wg_peer_data_accept(&p->wp, kp, counter, plen, now) != WG_OK) {
		eng->cnt.drops[DROP_REPLAY]++;
		return;
	}
	/* As the kernel, a responder's handshake counts once it carried data. */
	if (confirming)
		engine_to_parent(IMSG_ENG_HS_CONFIRMED, p->wp.pub, WG_KEY_LEN);
	/* Authenticated: the peer is wherever this came from (roaming). */
	endpoint_from_sa(&from, (struct sockaddr *)&in->sa);
	peer_roam(p, &from);
	p->rx_bytes += in->len;
	if (plen > 0) {
		plain = in->buf + WG_DATA_HEADER_LEN;
		if (inner_check(plain, plen, &len, &af, &src) == -1)
			eng->cnt.drops[DROP_INNER]++;
		else if (wg_aip_lookup(&eng->aip, af, src) != p)
			eng->cnt.drops[DROP_ALLOWED_IPS]++;
		else if (write(eng->tun, plain, len) == -1)
			eng->cnt.drops[DROP_SEND]++;
	}
	peer_kick(p, now);
}

void
udp_read_cb(int fd, short event, void *arg)
{
	struct mmsghdr	 msgs[ENGINE_BATCH];
	struct iovec	 iov[ENGINE_BATCH];
	uint64_t	 now;
	int		 i, n, type;

	for (i = 0; i < ENGINE_BATCH; i++) {
		iov[i].iov_base = rx[i].buf;
		iov[i].iov_len = sizeof(rx[i].buf);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &rx[i].sa;
		msgs[i].msg_hdr.msg_namelen = sizeof(rx[i].sa);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	if ((n = recvmmsg(fd, msgs, ENGINE_BATCH, MSG_DONTWAIT, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: recvmmsg", __func__);
		return;
	}
	now = engine_now();
	for (i = 0; i < n; i++) {
		struct rxpkt	*in = &rx[i];

		in->len = msgs[i].msg_len;
		in->salen = msgs[i].msg_hdr.msg_namelen;
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			eng->cnt.drops[DROP_SHORT]++;
			continue;
		}
		if (stun_is_stun(in->buf, in->len)) {
			eng->cnt.stun_seen++;
			stun_input(in->buf, in->len);
			continue;
		}
		switch (type = wg_msg_type(in->buf, in->len)) {
		case WG_MSG_INITIATION:
		case WG_MSG_RESPONSE:
			handle_handshake(in, type, now);
			break;
		case WG_MSG_COOKIE:
			handle_cookie(in, now);
			break;
		case WG_MSG_DATA:
			handle_data(in, now);
			break;
		default:
			eng->cnt.drops[DROP_SHORT]++;
			break;
		}
	}
	tx_flush();
}
