/*
 * The engine's outbound path: tun read -> allowed-IPs lookup -> peer ->
 * encrypt -> one send function over a tagged endpoint.
 *
 * Packets move in bursts of up to ENGINE_BATCH through buffers allocated
 * once at start, so nothing is allocated per packet; a burst is gathered,
 * transformed, then sent with one sendmmsg() per address family.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>

#include <errno.h>
#include <event.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"

#define IPV4_HEADER_MIN		20
#define IPV6_HEADER_LEN		40
#define TUN_READS_MAX		8	/* super-packets per tun event */

struct txpkt {
	uint8_t		 buf[ENGINE_PKT_MAX];
	size_t		 len;
	struct endpoint	 ep;
	uint32_t	 sp;	/* the super-packet it was cut from, or 0 */
};

static struct txpkt	 tx[ENGINE_TX_SLOTS];
static struct cjob	 txjob[ENGINE_TX_SLOTS];	/* each slot's AEAD */
static unsigned int	 ntx;
static uint32_t		 tx_sp;		/* the super-packet being cut, or 0 */
static uint32_t		 tx_sp_last;

/* Why a relayed packet could not be handed to cbrelayd. */
static void
relay_send_failed(int err)
{
	/* A full socketpair is back pressure, not a fault: drop, count. */
	if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
		eng->cnt.drops[DROP_RELAY_FULL]++;
	else {
		eng->cnt.drops[DROP_SEND]++;
		log_debug("relay: send: %s", strerror(err));
	}
}

/*
 * The one place a packet leaves for a peer: UDP over either family, or
 * the relay: one message on the socketpair to cbrelayd, the peer's key
 * then the packet, never waiting.
 */
void
send_handshake(const struct endpoint *ep, const uint8_t *buf, size_t len)
{
	struct iovec	 iov[2];
	struct msghdr	 msg;
	int		 fd;

	switch (ep->kind) {
	case EP_UDP4:
	case EP_UDP6:
		if ((fd = socket_fd(ep->sa.ss_family)) == -1 ||
		    sendto(fd, buf, len, 0, (const struct sockaddr *)&ep->sa,
		    sockaddr_len(&ep->sa)) == -1) {
			eng->cnt.drops[DROP_SEND]++;
			log_debug("%s: sendto: %s", __func__, strerror(errno));
		}
		break;
	case EP_RELAY:
		if (eng->relay == -1) {
			eng->cnt.drops[DROP_NO_ENDPOINT]++;
			break;
		}
		iov[0].iov_base = (void *)ep->key;
		iov[0].iov_len = WG_KEY_LEN;
		iov[1].iov_base = (void *)buf;
		iov[1].iov_len = len;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		if (sendmsg(eng->relay, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    -1)
			relay_send_failed(errno);
		break;
	default:
		eng->cnt.drops[DROP_NO_ENDPOINT]++;
		break;
	}
}

uint8_t *
tx_next_buf(void)
{
	if (ntx == ENGINE_TX_SLOTS)
		tx_flush();
	return (tx[ntx].buf);
}

/*
 * The kernel refused a segmented send (EIO: the route or device cannot
 * segment UDP): say so once, send what is left one datagram at a time
 * and segment no more.
 */
static void
tx_gso_fallback(int fd, struct mmsghdr *msgs, unsigned int n)
{
	unsigned int	 i, j;

	if (eng->udp_gso)
		log_warnx("UDP segmentation refused (%s): sending datagrams "
		    "one by one", strerror(errno));
	eng->udp_gso = 0;
	eng->cnt.gso_refused = 1;
	for (i = 0; i < n; i++)
		for (j = 0; j < msgs[i].msg_hdr.msg_iovlen; j++)
			if (sendto(fd, msgs[i].msg_hdr.msg_iov[j].iov_base,
			    msgs[i].msg_hdr.msg_iov[j].iov_len, 0,
			    msgs[i].msg_hdr.msg_name,
			    msgs[i].msg_hdr.msg_namelen) == -1)
				eng->cnt.drops[DROP_SEND]++;
}

/*
 * The burst's datagrams of one family, in one sendmmsg.  With UDP
 * segmentation, consecutive datagrams to one endpoint go as one message
 * (UDP_SEGMENT) as lib/offload.c's gso_msg_add() allows: those of one
 * super-packet, equal sizes but the last, within the kernel's limits.
 */
static void
tx_flush_family(int family)
{
	struct mmsghdr	 msgs[ENGINE_TX_SLOTS];
	struct iovec	 iov[ENGINE_TX_SLOTS];
	union {
		struct cmsghdr	 hdr;
		uint8_t		 buf[CMSG_SPACE(sizeof(uint16_t))];
	}		 ctl[ENGINE_TX_SLOTS];
	struct cmsghdr	*cm;
	struct gso_msg	 gm[ENGINE_TX_SLOTS];
	size_t		 maxbytes = family == AF_INET ? UDP_GSO_BYTES_MAX4 :
			    UDP_GSO_BYTES_MAX6;
	unsigned int	 i, n = 0, nio = 0;
	int		 fd = socket_fd(family);
	int		 sent, off = 0;
	uint16_t	 gso;

	for (i = 0; i < ntx; i++) {
		struct msghdr	*mh = n > 0 ? &msgs[n - 1].msg_hdr : NULL;

		if ((tx[i].ep.kind != EP_UDP4 && tx[i].ep.kind != EP_UDP6) ||
		    tx[i].ep.sa.ss_family != family)
			continue;
		iov[nio].iov_base = tx[i].buf;
		iov[nio].iov_len = tx[i].len;
		if (eng->udp_gso && mh != NULL &&
		    sockaddr_cmp(&tx[i].ep.sa, mh->msg_name) == 0 &&
		    gso_msg_add(&gm[n - 1], tx[i].len, tx[i].sp, maxbytes)) {
			mh->msg_iovlen++;
			nio++;
			continue;
		}
		memset(&msgs[n], 0, sizeof(msgs[n]));
		msgs[n].msg_hdr.msg_name = &tx[i].ep.sa;
		msgs[n].msg_hdr.msg_namelen = sockaddr_len(&tx[i].ep.sa);
		msgs[n].msg_hdr.msg_iov = &iov[nio];
		msgs[n].msg_hdr.msg_iovlen = 1;
		gso_msg_start(&gm[n], tx[i].len, tx[i].sp);
		nio++;
		n++;
	}
	if (n > 0 && fd == -1) {
		eng->cnt.drops[DROP_SEND] += nio;
		return;
	}
	for (i = 0; i < n; i++) {
		if (msgs[i].msg_hdr.msg_iovlen < 2)
			continue;
		gso = (uint16_t)gm[i].seglen;
		eng->cnt.gso_sends++;
		msgs[i].msg_hdr.msg_control = ctl[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(gso));
		memcpy(CMSG_DATA(cm), &gso, sizeof(gso));
	}
	while (off < (int)n) {
		if ((sent = sendmmsg(fd, msgs + off, n - off, 0)) == -1) {
			if (errno == EIO &&
			    msgs[off].msg_hdr.msg_controllen != 0) {
				tx_gso_fallback(fd, msgs + off, n - off);
				return;
			}
			/* Skip the message that failed; count it. */
			eng->cnt.drops[DROP_SEND] += msgs[off].msg_hdr.msg_iovlen;
			off++;
			continue;
		}
		off += sent;
	}
}

/* The burst's relayed packets: one sendmmsg on the socketpair. */
static void
tx_flush_relay(void)
{
	struct mmsghdr	 msgs[ENGINE_TX_SLOTS];
	struct iovec	 iov[ENGINE_TX_SLOTS][2];
	unsigned int	 i, n = 0;
	int		 sent, off = 0;

	for (i = 0; i < ntx; i++) {
		if (tx[i].ep.kind != EP_RELAY)
			continue;
		iov[n][0].iov_base = tx[i].ep.key;
		iov[n][0].iov_len = WG_KEY_LEN;
		iov[n][1].iov_base = tx[i].buf;
		iov[n][1].iov_len = tx[i].len;
		memset(&msgs[n], 0, sizeof(msgs[n]));
		msgs[n].msg_hdr.msg_iov = iov[n];
		msgs[n].msg_hdr.msg_iovlen = 2;
		n++;
	}
	if (n > 0 && eng->relay == -1) {
		eng->cnt.drops[DROP_NO_ENDPOINT] += n;
		return;
	}
	while (off < (int)n) {
		if ((sent = sendmmsg(eng->relay, msgs + off, n - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL)) == -1) {
			/* Full now is full for the rest of the burst. */
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				eng->cnt.drops[DROP_RELAY_FULL] += n - off;
				break;
			}
			relay_send_failed(errno);
			off++;
			continue;
		}
		off += sent;
	}
}

void
tx_flush(void)
{
	unsigned int	 i;

	if (ntx == 0)
		return;
	/* Sealed in the workers, sent in the order the counters were taken. */
	crypt_run(txjob, ntx);
	for (i = 0; i < ntx; i++)
		explicit_bzero(txjob[i].key, sizeof(txjob[i].key));
	tx_flush_family(AF_INET);
	tx_flush_family(AF_INET6);
	tx_flush_relay();
	ntx = 0;
}

/*
 * Encrypt plaintext (len bytes) for p into the next burst slot, for ep.
 * A packet read from the tun is already in place at ENGINE_HEADROOM.
 * The timers see timer_len bytes: a probe counts as a keepalive, which
 * asks for no answer.
 */
static struct txpkt *
encrypt_to(struct peer *p, struct wg_keypair *kp, const uint8_t *plain,
    size_t len, size_t timer_len, const struct endpoint *ep, uint64_t now)
{
	struct txpkt	*out;
	struct cjob	*j;
	size_t		 plen, pktlen;
	uint64_t	 ctr;

	if (ep->kind == EP_NONE) {
		eng->cnt.drops[DROP_NO_ENDPOINT]++;
		return (NULL);
	}
	(void)tx_next_buf();
	out = &tx[ntx];
	plen = wg_data_padded_len(len, eng->mtu);
	if (len > 0 && plain != out->buf + ENGINE_HEADROOM)
		memcpy(out->buf + ENGINE_HEADROOM, plain, len);
	memset(out->buf + ENGINE_HEADROOM + len, 0, plen - len);
	/* The counter now, in send order; the AEAD at tx_flush(). */
	if (wg_data_seal_begin(kp, now, out->buf, plen, &ctr, &pktlen) !=
	    WG_OK)
		return (NULL);
	j = &txjob[ntx];
	j->op = CJOB_SEAL;
	j->buf = out->buf;
	j->len = plen;
	j->ctr = ctr;
	memcpy(j->key, kp->send_key, sizeof(j->key));
	out->len = pktlen;
	out->ep = *ep;
	out->sp = tx_sp;
	ntx++;
	p->tx_bytes += pktlen;
	p->tx_packets++;
	wg_timers_data_sent(&p->wp, timer_len, now);
	return (out);
}

/*
 * A packet for p over its path.  A hybrid peer whose direct path is in
 * doubt gets a copy over the relay too: the same counter, key and
 * plaintext make the same bytes, and the receiver's replay window drops
 * whichever copy comes second.
 */
int
encrypt_to_peer(struct peer *p, struct wg_keypair *kp, const uint8_t *plain,
    size_t len, uint64_t now)
{
	struct txpkt	*out, *dup;
	unsigned int	 o;

	if ((out = encrypt_to(p, kp, plain, len, len, peer_tx_endpoint(p),
	    now)) == NULL)
		return (-1);
	if (len > 0)
		p->last_data = now;
	if (peer_in_doubt(p, now)) {
		o = (unsigned int)(out - tx);
		/* A flush here sends out, sealed, but leaves it in place. */
		(void)tx_next_buf();
		dup = &tx[ntx];
		memcpy(dup->buf, out->buf, out->len);
		dup->len = out->len;
		dup->ep = p->relay_ep;
		dup->sp = out->sp;
		if (ntx == 0)
			txjob[ntx].op = CJOB_NONE;
		else {
			txjob[ntx] = txjob[o];
			txjob[ntx].buf = dup->buf;
		}
		ntx++;
		p->tx_bytes += out->len;
		p->tx_packets++;
	}
	return (0);
}

/* A path probe (probe.c) over exactly ep, whatever the peer's path. */
int
encrypt_probe(struct peer *p, struct wg_keypair *kp, const uint8_t *probe,
    const struct endpoint *ep, uint64_t now)
{
	return (encrypt_to(p, kp, probe, PROBE_LEN, 0, ep, now) == NULL ?
	    -1 : 0);
}

/* Hold a packet until the handshake completes; the newest win. */
void
stage(struct peer *p, const uint8_t *pkt, size_t len)
{
	unsigned int	 i;

	/* The slots are sized for the token's MTU, not the link's. */
	if (len > eng->mtu) {
		eng->cnt.drops[DROP_MTU]++;
		return;
	}
	if (p->nstaged == PEER_STAGED_MAX) {
		for (i = 1; i < PEER_STAGED_MAX; i++) {
			uint8_t		*b = p->staged[i - 1].buf;

			p->staged[i - 1] = p->staged[i];
			p->staged[i].buf = b;
		}
		p->nstaged--;
		eng->cnt.drops[DROP_NO_KEYPAIR]++;
	}
	memcpy(p->staged[p->nstaged].buf, pkt, len);
	p->staged[p->nstaged].len = len;
	p->nstaged++;
}

/* Send what waited for a session, or a keepalive if nothing did. */
void
send_staged(struct peer *p, uint64_t now, int keepalive)
{
	struct wg_keypair	*kp;
	unsigned int		 i;

	if ((kp = wg_peer_send_keypair(&p->wp, now)) == NULL)
		return;
	for (i = 0; i < p->nstaged; i++)
		encrypt_to_peer(p, kp, p->staged[i].buf, p->staged[i].len,
		    now);
	if (p->nstaged == 0 && keepalive)
		encrypt_to_peer(p, kp, NULL, 0, now);
	p->nstaged = 0;
	tx_flush();
}

/*
 * The timers want a handshake: the engine picks the index, the parent
 * builds the message with the static key (send_initiation() below).
 * One request is in flight at a time.
 */
void
send_initiation_request(struct peer *p, uint64_t now)
{
	struct eng_hs	 hs;
	uint32_t	 idx;

	if ((p->path != PATH_HYBRID && p->endpoint.kind == EP_NONE &&
	    p->ncand == 0) || !eng->has_key || p->hs_asked)
		return;
	if (index_alloc(p, &idx) == -1)
		return;
	if (p->hs_index != 0)
		index_release(p, p->hs_index);
	p->hs_index = idx;
	p->hs_asked = 1;
	memset(&hs, 0, sizeof(hs));
	memcpy(hs.pub, p->wp.pub, WG_KEY_LEN);
	hs.index = idx;
	engine_to_parent(IMSG_ENG_HS_WANT, &hs, sizeof(hs));
}

void
send_initiation(const struct eng_hs *hs)
{
	struct peer	*p;
	struct endpoint	 cand;
	uint8_t		 msg[WG_INITIATION_LEN];
	uint64_t	 now = engine_now();
	unsigned int	 i;

	if ((p = peer_find(hs->pub)) == NULL || !p->hs_asked ||
	    hs->index != p->hs_index || hs->len != WG_INITIATION_LEN)
		return;		/* stale: removed, or a newer one asked */
	p->hs_asked = 0;
	memcpy(msg, hs->msg, sizeof(msg));
	/* mac1 and mac2 are the engine's: it holds the peer's cookie. */
	if (wg_cookie_add_macs(&eng->local, &p->wp, msg, sizeof(msg),
	    now) != WG_OK)
		return;
	log_debug("peer %s: sending handshake initiation", peer_name(p));
	if (p->endpoint.kind != EP_NONE) {
		send_handshake(&p->endpoint, msg, sizeof(msg));
		p->tx_bytes += sizeof(msg);
		p->tx_packets++;
	}
	/* Hybrid: over the relay as well, which works from the start. */
	if (p->path == PATH_HYBRID) {
		send_handshake(&p->relay_ep, msg, sizeof(msg));
		p->tx_bytes += sizeof(msg);
		p->tx_packets++;
	}
	p->hs_sent_at = now;
	/*
	 * Until one candidate answers, and again when an answer is late,
	 * the same initiation goes to every candidate: the other side
	 * does the same, which opens both NATs (hole punching).  The first
	 * response completes the handshake and its source becomes the
	 * endpoint.
	 */
	if (!p->confirmed || p->wp.timers.handshake_attempts > 1) {
		for (i = 0; i < p->ncand; i++) {
			if (p->endpoint.kind != EP_NONE &&
			    sockaddr_cmp(&p->cand[i], &p->endpoint.sa) == 0)
				continue;
			endpoint_from_sa(&cand,
			    (const struct sockaddr *)&p->cand[i]);
			send_handshake(&cand, msg, sizeof(msg));
		}
	}
	wg_timers_initiation_sent(&p->wp, now);
	peer_kick(p, now);
}

/* ---- tun -> peer ----------------------------------------------------- */

static int
inner_dst(const uint8_t *pkt, size_t len, int *af, const uint8_t **addr)
{
	if (len >= IPV4_HEADER_MIN && (pkt[0] >> 4) == 4) {
		*af = AF_INET;
		*addr = pkt + offsetof(struct ip, ip_dst);
		return (0);
	}
	if (len >= IPV6_HEADER_LEN && (pkt[0] >> 4) == 6) {
		*af = AF_INET6;
		*addr = pkt + offsetof(struct ip6_hdr, ip6_dst);
		return (0);
	}
	return (-1);
}

/* An inner packet for p, already at ENGINE_HEADROOM of the next slot. */
static void
tun_emit(struct peer *p, uint8_t *pkt, size_t len, uint64_t now)
{
	struct wg_keypair	*kp;

	if ((kp = wg_peer_send_keypair(&p->wp, now)) == NULL) {
		stage(p, pkt, len);
		wg_timers_want_handshake(&p->wp, now);
		return;
	}
	encrypt_to_peer(p, kp, pkt, len, now);
}

/*
 * With offload, a read brings a virtio-net header and a packet of up to
 * 64 KiB: a TCP super-packet is cut into segments (lib/offload.c), each
 * built in its send slot; a packet with a partial checksum gets it
 * completed.  One copy a segment, as the kernel's own segmentation.
 * A super-packet's segments go out in one burst, tagged with its id,
 * and leave in one UDP_SEGMENT send of their own (tx_flush_family();
 * the tun's gso_max_segs keeps them within one, dataplane.c).
 */
static void
tun_read_offload(int fd, uint64_t now)
{
	static uint8_t		 sup[VNET_HDR_LEN + OFFLOAD_SUPER_MAX];
	struct vnet_hdr		 h;
	struct peer		*p;
	const uint8_t		*dst;
	uint8_t			*pkt, *out;
	size_t			 len, slen;
	ssize_t			 n;
	int			 r, i, nseg, af;

	for (r = 0; r < TUN_READS_MAX; r++) {
		if ((n = read(fd, sup, sizeof(sup))) <= 0) {
			/* The link was deleted: the tun stays readable. */
			if (n == -1 && errno == EBADFD) {
				log_info("tun: the interface is gone");
				event_del(&eng->ev_tun);
			} else if (n == -1 && errno != EAGAIN &&
			    errno != EINTR)
				log_warn("%s: read", __func__);
			break;
		}
		if (n <= VNET_HDR_LEN) {
			eng->cnt.drops[DROP_INNER]++;
			continue;
		}
		vnet_hdr_get(sup, &h);
		pkt = sup + VNET_HDR_LEN;
		len = (size_t)n - VNET_HDR_LEN;
		if (inner_dst(pkt, len, &af, &dst) == -1) {
			eng->cnt.drops[DROP_INNER]++;
			continue;
		}
		if ((p = wg_aip_lookup(&eng->aip, af, dst)) == NULL) {
			eng->cnt.drops[DROP_NO_ROUTE]++;
			continue;
		}
		if ((h.gso_type & ~VNET_GSO_ECN) == VNET_GSO_NONE) {
			if (((h.flags & VNET_F_NEEDS_CSUM) &&
			    offload_csum(pkt, len, &h) == -1) ||
			    len > ENGINE_TUN_READ_MAX) {
				eng->cnt.drops[DROP_INNER]++;
				continue;
			}
			out = tx_next_buf() + ENGINE_HEADROOM;
			memcpy(out, pkt, len);
			tun_emit(p, out, len, now);
		} else if ((nseg = tso_count(&h, pkt, len)) == -1)
			eng->cnt.drops[DROP_INNER]++;
		else {
			if ((h.gso_type & ~VNET_GSO_ECN) == VNET_GSO_UDP_L4)
				eng->cnt.uso_split++;
			else
				eng->cnt.tso_split++;
			if (ntx > 0 && ntx + (unsigned int)nseg >
			    ENGINE_TX_SLOTS)
				tx_flush();
			if (++tx_sp_last == 0)
				tx_sp_last = 1;
			tx_sp = tx_sp_last;
			for (i = 0; i < nseg; i++) {
				out = tx_next_buf() + ENGINE_HEADROOM;
				if ((slen = tso_segment(&h, pkt, len, i, out,
				    ENGINE_TUN_READ_MAX)) == 0) {
					eng->cnt.drops[DROP_INNER]++;
					break;
				}
				tun_emit(p, out, slen, now);
			}
			tx_sp = 0;
		}
		peer_kick(p, now);
	}
	tx_flush();
}

void
tun_read_cb(int fd, short event, void *arg)
{
	struct wg_keypair	*kp;
	struct peer		*p;
	const uint8_t		*dst;
	uint64_t		 now = engine_now();
	unsigned int		 i;
	ssize_t			 n;
	int			 af;

	if (eng->offload) {
		tun_read_offload(fd, now);
		return;
	}
	for (i = 0; i < ENGINE_BATCH; i++) {
		/* Read straight into the next send slot: no copy. */
		uint8_t	*pkt = tx_next_buf() + ENGINE_HEADROOM;

		if ((n = read(fd, pkt, ENGINE_TUN_READ_MAX)) <= 0) {
			/* The link was deleted: the tun stays readable. */
			if (n == -1 && errno == EBADFD) {
				log_info("tun: the interface is gone");
				event_del(&eng->ev_tun);
			} else if (n == -1 && errno != EAGAIN &&
			    errno != EINTR)
				log_warn("%s: read", __func__);
			break;
		}
		if (inner_dst(pkt, n, &af, &dst) == -1) {
			eng->cnt.drops[DROP_INNER]++;
			continue;
		}
		if ((p = wg_aip_lookup(&eng->aip, af, dst)) == NULL) {
			eng->cnt.drops[DROP_NO_ROUTE]++;
			continue;
		}
		if ((kp = wg_peer_send_keypair(&p->wp, now)) == NULL) {
			stage(p, pkt, n);
			wg_timers_want_handshake(&p->wp, now);
			peer_kick(p, now);
			continue;
		}
		encrypt_to_peer(p, kp, pkt, n, now);
		peer_kick(p, now);
	}
	tx_flush();
}
