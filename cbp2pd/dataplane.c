/*
 * The parent's side of the data plane: it holds the static private key,
 * opens the tun and binds the UDP sockets, hands the descriptors to the
 * engine process, and answers what the engine says.  Readers of live
 * counters (wg show, cbp2pctl) wait for a fresh copy with dp_sync().
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/udp.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cbp2pd.h"
#include "log.h"
#include "offload.h"

#define DP_WAITERS_MAX		64	/* control and wg connections */
#define DP_AIP_NODES_MAX	(1 << 20)

struct dp_waiter {
	uint32_t	 seq;
	uint32_t	 id;
	void		(*cb)(uint32_t);
};

static struct dp_waiter	 waiters[DP_WAITERS_MAX];
static unsigned int	 nwaiters;

uint64_t
dp_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * WG_NSEC_PER_SEC + ts.tv_nsec);
}

void
dp_send(uint32_t type, const void *data, size_t len, int fd)
{
	if (imsg_compose_event(&env->children[PROC_ENGINE].iev, type, 0, 0,
	    fd, data, len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

int
udp_bind(int af, uint16_t port, uint16_t *bound)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	int			 fd, on = 1, bufsz = UDP_SOCKET_BUFFER;

	if ((fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return (-1);
	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else {
		/* Separate sockets per family share one port number. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on)) == -1)
			goto fail;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	}
	/*
	 * The engine holds the sockets; a new fwmark is a new pair bound
	 * to the same port beside the old (only root can join it).
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		goto fail;
	if (env->dp.fwmark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK,
	    &env->dp.fwmark, sizeof(env->dp.fwmark)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		goto fail;
	/* Coalesced receives: the engine splits them by segment size. */
	if (env->dp.offload && setsockopt(fd, SOL_UDP, UDP_GRO, &on,
	    sizeof(on)) == -1)
		log_debug("%s: UDP_GRO: %s", __func__, strerror(errno));
	/* As root the system's buffer limit does not apply. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		goto fail;
	*bound = ntohs(af == AF_INET ? sin->sin_port : sin6->sin6_port);
	return (fd);
fail:
	close(fd);
	return (-1);
}

/* The socket goes to the engine; the parent keeps no copy to read. */
static void
dp_pass_udp(int af, int fd)
{
	struct eng_udp	 eu;

	memset(&eu, 0, sizeof(eu));
	eu.af = af;
	eu.port = env->dp.port;
	dp_send(IMSG_ENG_UDP, &eu, sizeof(eu), fd);
}

/*
 * Bind the UDP port (0: any free one) for IPv4 and, if possible, IPv6,
 * and hand both to the engine, which closes the old ones.  Nothing
 * changes unless the IPv4 socket binds.
 */
int
dp_set_port(uint16_t port)
{
	struct dataplane	*dp = &env->dp;
	int			 fd4, fd6;
	uint16_t		 bound;

	if ((fd4 = udp_bind(AF_INET, port, &bound)) == -1) {
		log_warn("%s: UDP port %u", __func__, port);
		return (-1);
	}
	/* A host without IPv6 still works over IPv4. */
	if ((fd6 = udp_bind(AF_INET6, bound, &bound)) == -1)
		log_debug("%s: no IPv6 socket: %s", __func__,
		    strerror(errno));
	if (dp->port != bound || !dp->bound)
		log_info("listening on UDP port %u", bound);
	dp->port = bound;
	dp->bound = 1;
	dp_pass_udp(AF_INET, fd4);
	dp_pass_udp(AF_INET6, fd6);
	return (0);
}

/* SO_MARK, as wg(8)'s fwmark asks: new sockets on the same port. */
void
dp_set_fwmark(uint32_t mark)
{
	struct dataplane	*dp = &env->dp;

	if (mark == dp->fwmark)
		return;
	dp->fwmark = mark;
	if (dp->bound && dp_set_port(dp->port) == -1)
		log_warnx("%s: fwmark %u not applied", __func__, mark);
}

/*
 * A new private key (NULL or zeros: none).  Every peer's static DH
 * changes with it and every session made under the old one is void.
 * Nothing changes if the key is unusable.
 */
int
dp_set_private_key(const uint8_t *priv)
{
	static const uint8_t	 zero[WG_KEY_LEN];
	struct dataplane	*dp = &env->dp;
	struct wg_local		 nl;
	struct eng_local	 el;
	struct ppeer		*pp;
	int			 has = priv != NULL &&
				    sodium_memcmp(priv, zero, WG_KEY_LEN) != 0;

	if (has && dp->has_key && sodium_memcmp(priv, dp->local.priv,
	    WG_KEY_LEN) == 0)
		return (0);
	if (!has && !dp->has_key)
		return (0);
	if (has && wg_local_init(&nl, dp->crypto, priv) != WG_OK)
		return (-1);
	wg_local_clear(&dp->local);
	dp->local.crypto = dp->crypto;	/* peers' mac keys need it */
	if (has) {
		dp->local = nl;
		wg_local_clear(&nl);
	}
	dp->has_key = has;
	RB_FOREACH(pp, ppeer_tree, &dp->peers)
		ppeer_rekey(pp);

	memset(&el, 0, sizeof(el));
	el.has_key = has;
	if (has)
		memcpy(el.pub, dp->local.pub, WG_KEY_LEN);
	dp_send(IMSG_ENG_LOCAL, &el, sizeof(el), -1);
	return (0);
}

/* The engine's MTU and peer limit, at start and when they change. */
void
dp_send_conf(void)
{
	struct eng_conf	 ec;

	memset(&ec, 0, sizeof(ec));
	ec.mtu = env->dp.mtu;
	ec.mtu_max = env->dp.mtu_max;
	ec.max_peers = env->dp.max_peers;
	ec.offload = env->dp.offload;
	ec.crypto_workers = env->conf.crypto_workers;
	dp_send(IMSG_ENG_CONF, &ec, sizeof(ec), -1);
}

/*
 * With offload, the tun's super-packets no longer than one UDP_SEGMENT
 * send of their datagrams (each at most the MTU and WireGuard's header
 * and tag), so a receiver gets each in one piece.  Not fatal: without
 * it a super-packet takes two sends.
 */
static void
dp_tun_segs(const struct dataplane *dp)
{
	if (dp->offload && tun_set_gso_segs(dp->ifindex,
	    offload_tso_segs(dp->mtu + WG_DATA_MIN_LEN)) == -1)
		log_warnx("%s: super-packets not limited to one send",
		    env->conf.ifname);
}

/*
 * cbp2p-wg: ip(8) set the link's MTU; the engine pads to it.  Packets
 * above mtu_max do not fit the engine's buffers.
 */
void
dp_set_mtu(unsigned int mtu)
{
	struct dataplane	*dp = &env->dp;

	if (mtu > dp->mtu_max) {
		log_warnx("%s: MTU %u above %u: longer packets are not "
		    "carried", env->conf.ifname, mtu, dp->mtu_max);
		mtu = dp->mtu_max;
	}
	if (mtu < TUN_MTU_MIN)
		mtu = TUN_MTU_MIN;
	if (mtu == dp->mtu)
		return;
	log_info("%s: MTU %u", env->conf.ifname, mtu);
	dp->mtu = mtu;
	dp_tun_segs(dp);
	dp_send_conf();
}

/*
 * Open what needs root; the engine gets it once it runs (dp_start).
 * The token gives the MTU, address and peer limit; cbp2p-wg starts as
 * wireguard-go does (MTU 1420, down, no address) and leaves the link
 * to ip(8), as wg-quick(8) expects.
 */
int
dp_init(struct dataplane *dp, const struct cbp2p_config *conf, char *err,
    size_t errlen)
{
	const struct token	*t = &conf->tok;

	dp->tun = -1;
	RB_INIT(&dp->peers);
	wg_aip_init(&dp->aip, DP_AIP_NODES_MAX);
	if (env->dropin) {
		dp->mtu = DROPIN_MTU;
		dp->mtu_max = CFG_MTU_MAX;
		dp->max_peers = CFG_MAX_PEERS_CAP;
	} else {
		dp->mtu = dp->mtu_max = t->mtu;
		peer_set_max(t);
	}
	if ((dp->crypto = wg_crypto_new()) == NULL) {
		snprintf(err, errlen, "crypto initialisation failed");
		return (-1);
	}
	dp->local.crypto = dp->crypto;
	dp->offload = conf->offload;
	if ((dp->tun = tun_open(conf->ifname, &dp->ifindex,
	    &dp->offload, &dp->uso)) == -1) {
		snprintf(err, errlen, "cannot open tun %s", conf->ifname);
		return (-1);
	}
	if (env->dropin) {
		if (tun_set_mtu(dp->ifindex, dp->mtu) == -1) {
			snprintf(err, errlen, "cannot configure %s",
			    conf->ifname);
			return (-1);
		}
	} else if (tun_set_mtu_up(dp->ifindex, dp->mtu) == -1 ||
	    tun_set_address(dp->ifindex, &t->address) == -1) {
		snprintf(err, errlen, "cannot configure %s", conf->ifname);
		return (-1);
	}
	dp_tun_segs(dp);
	return (0);
}

/*
 * The engine runs: give it the configuration, descriptors and peers.
 * cbp2p-wg has no key and no peers until wg(8) sets them, and listens
 * on a port the kernel picks until wg(8) names one.
 */
int
dp_start(const struct cbp2p_config *conf, char *err, size_t errlen)
{
	struct dataplane	*dp = &env->dp;
	const struct token	*t = &conf->tok;

	dp_send_conf();
	dp_send(IMSG_ENG_TUN, NULL, 0, dp->tun);
	dp->tun = -1;		/* the engine's now */
	if (env->dropin) {
		relay_set_path(PATH_DIRECT);
		if (dp_set_port(0) == -1) {
			snprintf(err, errlen, "cannot bind a UDP port");
			return (-1);
		}
		return (0);
	}
	if (dp_set_private_key(t->private_key) == -1) {
		snprintf(err, errlen, "private key unusable");
		return (-1);
	}
	if (dp_set_port(t->listen_port) == -1) {
		snprintf(err, errlen, "cannot bind UDP port %u",
		    t->listen_port);
		return (-1);
	}
	relay_set_path(relay_path_for(conf));
	return (peer_sync_static(t, err, errlen));
}

void
dp_shutdown(struct dataplane *dp)
{
	peer_remove_all();
	if (dp->tun != -1)
		close(dp->tun);
	dp->tun = -1;
	wg_aip_clear(&dp->aip);
	wg_local_clear(&dp->local);
	dp->has_key = 0;
	if (dp->crypto != NULL) {
		wg_crypto_free(dp->crypto);
		dp->crypto = NULL;
	}
}

/* ---- fresh counters for readers ------------------------------------- */

/* Call cb(id) once the engine has sent counters newer than now. */
void
dp_sync(void (*cb)(uint32_t), uint32_t id)
{
	struct dataplane	*dp = &env->dp;

	if (nwaiters == DP_WAITERS_MAX) {
		cb(id);		/* counters a moment old */
		return;
	}
	dp->sync_seq++;
	waiters[nwaiters].seq = dp->sync_seq;
	waiters[nwaiters].id = id;
	waiters[nwaiters].cb = cb;
	nwaiters++;
	dp_send(IMSG_ENG_STATS_REQ, &dp->sync_seq, sizeof(dp->sync_seq), -1);
}

static void
dp_sync_done(uint32_t seq)
{
	struct dp_waiter	 w;
	unsigned int		 i = 0;

	while (i < nwaiters) {
		if ((int32_t)(waiters[i].seq - seq) > 0) {
			i++;
			continue;
		}
		w = waiters[i];
		waiters[i] = waiters[--nwaiters];
		w.cb(w.id);
	}
}

/* ---- messages from the engine --------------------------------------- */

static int
endpoint_ok(const struct endpoint *ep)
{
	switch (ep->kind) {
	case EP_NONE:
	case EP_RELAY:
		return (1);
	case EP_UDP4:
		return (ep->sa.ss_family == AF_INET);
	case EP_UDP6:
		return (ep->sa.ss_family == AF_INET6);
	}
	return (0);
}

/* What the engine measured, within what it can be. */
static int
health_ok(const struct path_health *h)
{
	return ((h->active == PATH_DIRECT || h->active == PATH_RELAY) &&
	    h->direct.loss_pct <= 100 && h->relay.loss_pct <= 100);
}

int
dp_dispatch(struct cbp2pd_child *ch, struct imsg *imsg)
{
	struct path_health	 ph;
	struct eng_hs		 hs;
	struct eng_peer_stats	 ps;
	struct eng_stats_end	 end;
	struct eng_stun_result	 sr;
	struct eng_ping		 epr;
	struct ppeer		*pp;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;

	if (ch->id != PROC_ENGINE)
		return (0);
	switch (imsg->hdr.type) {
	case IMSG_ENG_HS_IN:
	case IMSG_ENG_HS_WANT:
		if (len != sizeof(hs))
			fatalx("%s: bad handshake length", __func__);
		memcpy(&hs, imsg->data, sizeof(hs));
		if (hs.len > sizeof(hs.msg) || !endpoint_ok(&hs.ep))
			fatalx("%s: bad handshake message", __func__);
		if (imsg->hdr.type == IMSG_ENG_HS_IN)
			hs_input(&hs);
		else
			hs_initiation_request(&hs);
		explicit_bzero(&hs, sizeof(hs));
		return (1);
	case IMSG_ENG_HS_CONFIRMED:
		if (len != WG_KEY_LEN)
			fatalx("%s: bad key length", __func__);
		if ((pp = ppeer_find(imsg->data)) != NULL)
			hs_complete(pp);
		return (1);
	case IMSG_ENG_HS_ZERO:
		if (len != WG_KEY_LEN)
			fatalx("%s: bad key length", __func__);
		/* Drops an ephemeral key; keeps the replay state. */
		if ((pp = ppeer_find(imsg->data)) != NULL)
			wg_peer_zero_keys(&pp->wp);
		return (1);
	case IMSG_ENG_STUN_RESULT:
		if (len != sizeof(sr))
			fatalx("%s: bad STUN result length", __func__);
		/* cbp2p-wg asks for none, and has no cbdiscod to tell. */
		if (env->dropin)
			fatalx("%s: STUN result never asked for", __func__);
		memcpy(&sr, imsg->data, sizeof(sr));
		if (sr.slot < 0 || sr.slot >= STUN_SLOTS)
			fatalx("%s: bad STUN slot %d", __func__, sr.slot);
		disco_stun_result(&sr);
		return (1);
	case IMSG_ENG_PEER_STATS:
		if (len != sizeof(ps))
			fatalx("%s: bad stats length", __func__);
		memcpy(&ps, imsg->data, sizeof(ps));
		if (!endpoint_ok(&ps.endpoint))
			fatalx("%s: bad endpoint in stats", __func__);
		if ((pp = ppeer_find(ps.pub)) != NULL) {
			pp->endpoint = ps.endpoint;
			pp->rx_bytes = ps.rx_bytes;
			pp->tx_bytes = ps.tx_bytes;
			pp->rx_packets = ps.rx_packets;
			pp->tx_packets = ps.tx_packets;
			pp->has_session = ps.has_session != 0;
			pp->hs_rtt = ps.hs_rtt;
			pp->hs_attempts = ps.hs_attempts;
			if (pp->path == PATH_HYBRID &&
			    health_ok(&ps.health))
				pp->health = ps.health;
		}
		return (1);
	case IMSG_ENG_PATH_HEALTH:
		if (len != sizeof(ph))
			fatalx("%s: bad path health length", __func__);
		memcpy(&ph, imsg->data, sizeof(ph));
		if (!health_ok(&ph))
			fatalx("%s: bad path health", __func__);
		mesh_health(&ph);
		return (1);
	case IMSG_ENG_PING_RESULT:
		if (len != sizeof(epr))
			fatalx("%s: bad ping result length", __func__);
		memcpy(&epr, imsg->data, sizeof(epr));
		if (!endpoint_ok(&epr.from))
			fatalx("%s: bad endpoint in a ping result", __func__);
		ping_result(&epr);
		return (1);
	case IMSG_ENG_STATS_END:
		if (len != sizeof(end))
			fatalx("%s: bad stats end length", __func__);
		memcpy(&end, imsg->data, sizeof(end));
		env->dp.cnt = end.cnt;
		env->dp.sync_done = end.seq;
		dp_sync_done(end.seq);
		return (1);
	}
	return (0);
}
