/*
 * The engine's inbound path: UDP recv (or a packet from cbrelayd, read
 * in socket.c) -> receive_packet(): type dispatch -> handshake (mac1
 * and cookie checked here, the Noise part in the parent), cookie reply,
 * or transport data -> the peer's path -> replay check -> decrypt -> a
 * relayed packet must come as from the peer's own key -> the inner
 * source must be the peer's -> tun write.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/udp.h>

#include <errno.h>
#include <event.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"

#define COOKIE_SRC_PORT_LEN	2
#define COOKIE_SRC_KEY_LEN	16	/* of a relayed source's key */

static struct rxpkt	 rx[ENGINE_BATCH];
static uint8_t		 rxmem[ENGINE_BATCH][RX_BUF_MAX];
static struct rxseg	 rxq[RXQ_MAX];		/* a burst's packets */
static struct cjob	 rxjob[RXQ_MAX];	/* and their AEAD */

/* The receive slots, for whoever reads a burst (UDP here, the relay). */
struct rxpkt *
rx_slots(void)
{
	unsigned int	 i;

	if (rx[0].buf == NULL)
		for (i = 0; i < ENGINE_BATCH; i++) {
			rx[i].buf = rxmem[i];
			rx[i].cap = sizeof(rxmem[i]);
		}
	return (rx);
}

/*
 * Address bytes then port bytes: what the cookie is bound to.  A
 * relayed packet has no address; the relay vouches for the key it
 * came from, so the cookie and the rate limit go by that key (its
 * first bytes, then a "port" no UDP source has in that place).
 */
static size_t
cookie_src(const struct endpoint *from, uint8_t *out)
{
	const struct sockaddr_storage	*ss = &from->sa;
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (from->kind == EP_RELAY) {
		memcpy(out, from->key, COOKIE_SRC_KEY_LEN);
		memset(out + COOKIE_SRC_KEY_LEN, 0xff, COOKIE_SRC_PORT_LEN);
		return (COOKIE_SRC_KEY_LEN + COOKIE_SRC_PORT_LEN);
	}
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

/*
 * What the rate limit goes by: the address (an IPv6 source by its /64),
 * or for a relayed packet the key the relay vouches for.
 */
static size_t
ratelimit_src(const struct endpoint *from, uint8_t *out)
{
	if (from->kind == EP_RELAY)
		return (ratelimit_key_opaque(from->key, COOKIE_SRC_KEY_LEN,
		    out));
	return (ratelimit_key_sa((const struct sockaddr *)&from->sa, out));
}

/*
 * Whether a packet from `from' may be the peer's: over its path (UDP
 * for a direct peer, the relay for a relayed one), and from the relay
 * only as from the peer's own key.  DROP_MAX when it may.
 */
static int
peer_path_drop(const struct peer *p, const struct endpoint *from)
{
	if (!endpoint_on_path(from, p->path))
		return (DROP_PATH);
	if (from->kind == EP_RELAY &&
	    memcmp(from->key, p->wp.pub, WG_KEY_LEN) != 0)
		return (DROP_RELAY_KEY);
	return (DROP_MAX);
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
	uint8_t		 rlkey[RATELIMIT_KEY_MAX];
	struct eng_hs	 hs;
	struct peer	*p = NULL;
	size_t		 srclen;
	int		 loaded, drop;

	if (!eng->has_key)
		return;
	srclen = cookie_src(&in->from, src);
	loaded = under_load(now);
	switch (wg_cookie_check(&eng->local, in->buf, in->len, src, srclen,
	    loaded, now, reply)) {
	case WG_VERDICT_DROP:
		eng->cnt.drops[DROP_MAC1]++;
		return;
	case WG_VERDICT_COOKIE:
		/* Under load each source gets a few replies a second. */
		if (!ratelimit_allow(&eng->ratelimit, rlkey,
		    ratelimit_src(&in->from, rlkey), now)) {
			eng->cnt.drops[DROP_RATELIMIT]++;
			return;
		}
		eng->cnt.cookies_sent++;
		send_handshake(&in->from, reply, sizeof(reply));
		return;
	case WG_VERDICT_PROCESS:
		if (loaded && !ratelimit_allow(&eng->ratelimit, rlkey,
		    ratelimit_src(&in->from, rlkey), now)) {
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
	/*
	 * ... and comes the way that peer is reached.  An initiation names
	 * its sender only inside; the parent checks it there.
	 */
	if (p != NULL && (drop = peer_path_drop(p, &in->from)) != DROP_MAX) {
		eng->cnt.drops[drop]++;
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
	hs.ep = in->from;
	hs.len = in->len;
	memcpy(hs.msg, in->buf, in->len);
	engine_to_parent(IMSG_ENG_HS_IN, &hs, sizeof(hs));
}

static void
handle_cookie(struct rxpkt *in, uint64_t now)
{
	struct peer	*p;
	int		 drop;

	if ((p = index_lookup(wg_msg_receiver_index(in->buf,
	    in->len))) == NULL) {
		eng->cnt.drops[DROP_UNKNOWN_INDEX]++;
		return;
	}
	if ((drop = peer_path_drop(p, &in->from)) != DROP_MAX) {
		eng->cnt.drops[drop]++;
		return;
	}
	if (wg_consume_cookie_reply(&p->wp, in->buf, in->len, now) != WG_OK)
		eng->cnt.drops[DROP_HANDSHAKE]++;
}

/*
 * One inner packet to the tun.  With offload each carries a virtio-net
 * header, zero (nothing left to do) for a packet alone; it goes in the
 * bytes before the plaintext, where the WireGuard header was.
 */
static int
tun_write_one(uint8_t *plain, size_t len)
{
	struct vnet_hdr	 h;

	if (!eng->offload)
		return (write(eng->tun, plain, len) == -1 ? -1 : 0);
	memset(&h, 0, sizeof(h));
	vnet_hdr_put(plain - VNET_HDR_LEN, &h);
	return (write(eng->tun, plain - VNET_HDR_LEN, len + VNET_HDR_LEN) ==
	    -1 ? -1 : 0);
}

/*
 * With offload, a burst's inner packets wait here until its end, so
 * that TCP segments of one flow go to the tun as one super-packet (GRO,
 * lib/offload.c): the receiving kernel then handles one packet where
 * it would have handled forty.  The packets stay where they were
 * decrypted, in the receive slots, until tun_flush().
 */
struct tunq {
	uint8_t			*pkt;
	size_t			 len;
	struct gro_info		 gi;
	int			 gro;	/* may join a super-packet */
	int			 done;
};

static struct tunq	 tq[TUNQ_MAX];
static unsigned int	 ntq;

/* Write the run of tq[] indices run[0..n): one packet, or coalesced. */
static void
tun_write_run(const unsigned int *run, unsigned int n)
{
	struct iovec	 iov[GRO_RUN_MAX + 1];
	struct vnet_hdr	 h;
	struct tunq	*head = &tq[run[0]];
	size_t		 total = 0;
	unsigned int	 i;

	if (n == 1) {
		if (tun_write_one(head->pkt, head->len) == -1)
			eng->cnt.drops[DROP_SEND]++;
		return;
	}
	for (i = 0; i < n; i++)
		total += tq[run[i]].gi.payload;
	gro_finish(head->pkt, &head->gi, total,
	    tq[run[n - 1]].gi.flags, &h);
	vnet_hdr_put(head->pkt - VNET_HDR_LEN, &h);
	iov[0].iov_base = head->pkt - VNET_HDR_LEN;
	iov[0].iov_len = VNET_HDR_LEN + head->len;
	for (i = 1; i < n; i++) {
		iov[i].iov_base = tq[run[i]].pkt + tq[run[i]].gi.hdrlen;
		iov[i].iov_len = tq[run[i]].gi.payload;
	}
	if (writev(eng->tun, iov, n) == -1)
		eng->cnt.drops[DROP_SEND] += n;
	eng->cnt.gro_coalesced += n;
}

/*
 * The burst's packets to the tun, in order within each flow: a TCP
 * segment gathers the segments of its flow that follow it in sequence
 * (looking at most GRO_SCAN ahead, stopping at a packet that cannot be
 * coalesced, which keeps every flow's order).
 */
void
tun_flush(void)
{
	unsigned int	 run[GRO_RUN_MAX], n, i, j, prev;
	size_t		 total;

	for (i = 0; i < ntq; i++) {
		if (tq[i].done)
			continue;
		tq[i].done = 1;
		run[0] = prev = i;
		n = 1;
		total = tq[i].gi.payload;
		for (j = i + 1; tq[i].gro && j < ntq && j < i + GRO_SCAN &&
		    n < GRO_RUN_MAX; j++) {
			if (tq[j].done)
				continue;
			if (!tq[j].gro)
				break;
			if (!gro_same_flow(tq[i].pkt, &tq[i].gi, tq[j].pkt,
			    &tq[j].gi))
				continue;
			if (!gro_follows(tq[i].pkt, &tq[i].gi, &tq[prev].gi,
			    total, tq[j].pkt, &tq[j].gi))
				break;
			tq[j].done = 1;
			run[n++] = prev = j;
			total += tq[j].gi.payload;
		}
		tun_write_run(run, n);
	}
	ntq = 0;
}

static void
tun_write(uint8_t *plain, size_t len)
{
	struct tunq	*q;

	if (!eng->offload) {
		if (tun_write_one(plain, len) == -1)
			eng->cnt.drops[DROP_SEND]++;
		return;
	}
	if (ntq == TUNQ_MAX)
		tun_flush();
	q = &tq[ntq++];
	q->pkt = plain;
	q->len = len;
	q->done = 0;
	q->gro = gro_parse(plain, len, &q->gi) == 0;
	if (!q->gro)
		q->gi.payload = 0;
}

/*
 * Before the AEAD, in the burst's order: the keypair the receiver index
 * names, on the peer's path.  -1: dropped, counted.
 */
static int
data_prepare(const uint8_t *buf, size_t len, const struct endpoint *from,
    struct cjob *j, uint64_t now)
{
	struct wg_keypair	*kp;
	struct peer		*p;
	uint32_t		 idx = wg_msg_receiver_index(buf, len);

	if ((p = index_lookup(idx)) == NULL ||
	    (kp = wg_peer_keypair_by_index(&p->wp, idx)) == NULL) {
		eng->cnt.drops[DROP_UNKNOWN_INDEX]++;
		return (-1);
	}
	/* A relayed peer is never reached over UDP, nor the other way. */
	if (!endpoint_on_path(from, p->path)) {
		eng->cnt.drops[DROP_PATH]++;
		return (-1);
	}
	j->op = CJOB_OPEN;
	j->kp = kp;
	j->peer = p;
	j->buf = (uint8_t *)buf;
	j->len = len;
	j->now = now;
	return (0);
}

/* After the AEAD (j), in the burst's order. */
static void
data_finish(struct rxpkt *in, const struct cjob *j, uint64_t now)
{
	struct wg_keypair	*kp;
	struct peer		*p;
	uint8_t			*plain;
	uint32_t		 idx = wg_msg_receiver_index(in->buf, in->len);
	size_t			 len, plen = j->plen;
	int			 drop, confirming;

	/*
	 * An earlier packet of the burst may have rotated it out; peers
	 * themselves change only between bursts, by the parent's word.
	 */
	p = j->peer;
	if ((kp = wg_peer_keypair_by_index(&p->wp, idx)) != j->kp) {
		eng->cnt.drops[DROP_UNKNOWN_INDEX]++;
		return;
	}
	if (j->rc != WG_OK) {
		eng->cnt.drops[j->rc == WG_EREPLAY ? DROP_REPLAY :
		    DROP_DECRYPT]++;
		return;
	}
	/*
	 * The peer's session, relayed as from another key: the relay lies
	 * about the sender.  Dropped before the replay window moves, so the
	 * packet it copied still counts when it comes the right way.
	 */
	if ((drop = peer_path_drop(p, &in->from)) != DROP_MAX) {
		eng->cnt.drops[drop]++;
		return;
	}
	confirming = kp == p->wp.next;
	if (wg_peer_data_accept(&p->wp, kp, j->ctr, plen, now) != WG_OK) {
		eng->cnt.drops[DROP_REPLAY]++;
		return;
	}
	/* As the kernel, a responder's handshake counts once it carried data. */
	if (confirming)
		engine_to_parent(IMSG_ENG_HS_CONFIRMED, p->wp.pub, WG_KEY_LEN);
	/* Authenticated: the peer is wherever this came from (roaming). */
	peer_roam(p, &in->from);
	probe_rx(p, &in->from, now);
	p->rx_bytes += in->len;
	p->rx_packets++;
	plain = in->buf + WG_DATA_HEADER_LEN;
	if (plen > 0 && probe_input(p, &in->from, plain, plen, now))
		;	/* a path probe, answered or taken */
	else if (plen > 0) {
		p->last_data = now;
		switch (wg_inner_check(&eng->aip, p, plain, plen, &len)) {
		case WG_INNER_OK:
			tun_write(plain, len);
			break;
		case WG_INNER_MALFORMED:
			eng->cnt.drops[DROP_INNER]++;
			break;
		case WG_INNER_NOT_ALLOWED:
			eng->cnt.drops[DROP_ALLOWED_IPS]++;
			break;
		}
	}
	peer_kick(p, now);
}

static void
handle_data(struct rxpkt *in, uint64_t now)
{
	struct cjob	 j;

	if (data_prepare(in->buf, in->len, &in->from, &j, now) == -1)
		return;
	crypt_run(&j, 1);
	data_finish(in, &j, now);
}

/* A transport data message, not STUN (which only UDP carries). */
static int
is_data(const uint8_t *buf, size_t len, const struct endpoint *from)
{
	return ((from->kind == EP_RELAY || !stun_is_stun(buf, len)) &&
	    wg_msg_type(buf, len) == WG_MSG_DATA);
}

/*
 * A burst: q[0, n) name packets in the receive slots.  Data messages
 * are opened together, by the crypto workers too (crypt.c); then every
 * packet is handled in the burst's order.
 */
void
receive_batch(struct rxpkt *slots, const struct rxseg *q, unsigned int n,
    uint64_t now)
{
	struct rxpkt	 seg;
	unsigned int	 i;

	for (i = 0; i < n; i++) {
		const struct rxpkt	*in = &slots[q[i].slot];
		const uint8_t		*buf = in->buf + q[i].off;

		rxjob[i].op = CJOB_NONE;
		if (is_data(buf, q[i].len, &in->from) && data_prepare(buf,
		    q[i].len, &in->from, &rxjob[i], now) == -1)
			rxjob[i].op = CJOB_DROPPED;
	}
	crypt_run(rxjob, n);
	for (i = 0; i < n; i++) {
		if (rxjob[i].op == CJOB_DROPPED)
			continue;
		seg.buf = slots[q[i].slot].buf + q[i].off;
		seg.cap = seg.len = q[i].len;
		seg.from = slots[q[i].slot].from;
		if (rxjob[i].op == CJOB_OPEN)
			data_finish(&seg, &rxjob[i], now);
		else
			receive_packet(&seg, now);
	}
}

/*
 * One packet, whichever way it came: UDP sets from to its source, the
 * relay to EP_RELAY with the key cbrelayd says it came from.
 */
void
receive_packet(struct rxpkt *in, uint64_t now)
{
	int	 type;

	if (in->from.kind != EP_RELAY && stun_is_stun(in->buf, in->len)) {
		eng->cnt.stun_seen++;
		stun_input(in->buf, in->len);
		return;
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

/* The segment size of a UDP GRO batch, or 0 for one datagram. */
static size_t
gro_size(struct msghdr *mh)
{
	struct cmsghdr	*cm;
	int		 gso;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(gso))) {
			memcpy(&gso, CMSG_DATA(cm), sizeof(gso));
			return (gso > 0 ? (size_t)gso : 0);
		}
	return (0);
}

void
udp_read_cb(int fd, short event, void *arg)
{
	struct mmsghdr	 msgs[ENGINE_BATCH];
	struct iovec	 iov[ENGINE_BATCH];
	union {
		struct cmsghdr	 hdr;
		uint8_t		 buf[CMSG_SPACE(sizeof(int))];
	}		 ctl[ENGINE_BATCH];
	struct rxpkt	*rxs = rx_slots();
	uint64_t	 now;
	size_t		 gso, off;
	unsigned int	 nq = 0;
	int		 i, n;

	for (i = 0; i < ENGINE_BATCH; i++) {
		iov[i].iov_base = rxs[i].buf;
		iov[i].iov_len = eng->offload ? rxs[i].cap : ENGINE_PKT_MAX;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &rxs[i].from.sa;
		msgs[i].msg_hdr.msg_namelen = sizeof(rxs[i].from.sa);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (eng->offload) {
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
	}
	if ((n = recvmmsg(fd, msgs, ENGINE_BATCH, MSG_DONTWAIT, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: recvmmsg", __func__);
		return;
	}
	now = engine_now();
	for (i = 0; i < n; i++) {
		struct rxpkt	*in = &rxs[i];

		in->len = msgs[i].msg_len;
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			eng->cnt.drops[DROP_SHORT]++;
			continue;
		}
		/* The source as a tagged endpoint, in place. */
		switch (in->from.sa.ss_family) {
		case AF_INET:
			in->from.kind = EP_UDP4;
			break;
		case AF_INET6:
			in->from.kind = EP_UDP6;
			break;
		default:
			eng->cnt.drops[DROP_SHORT]++;
			continue;
		}
		if (in->len == 0) {
			eng->cnt.drops[DROP_SHORT]++;
			continue;
		}
		gso = eng->offload ? gro_size(&msgs[i].msg_hdr) : 0;
		if (gso == 0 || gso >= in->len)
			gso = in->len;
		/* A GRO batch: datagrams of gso bytes, the last shorter. */
		for (off = 0; off < in->len; off += gso) {
			if (nq == RXQ_MAX) {
				receive_batch(rxs, rxq, nq, now);
				nq = 0;
			}
			rxq[nq].slot = i;
			rxq[nq].off = off;
			rxq[nq].len = in->len - off < gso ? in->len - off : gso;
			nq++;
		}
	}
	receive_batch(rxs, rxq, nq, now);
	tun_flush();
	tx_flush();
}
