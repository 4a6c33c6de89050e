/*
 * The engine role of cbp2pd ("cbp2pd -E"): started by the parent like a
 * child, sandboxed before its first read, it takes the descriptors and
 * session keys the parent hands it and does all per-packet work.  This
 * file holds the role's start and the messages from the parent; the
 * packet paths are in send.c and receive.c.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "engine.h"
#include "log.h"


static struct engine	 engine_state;
struct engine		*eng = &engine_state;

uint64_t
engine_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * WG_NSEC_PER_SEC + ts.tv_nsec);
}

const char *
peer_name(const struct peer *p)
{
	static char	 b64[WG_KEY_B64_LEN + 1];

	wgkey_to_b64(b64, p->wp.pub);
	b64[8] = '\0';		/* a short prefix names a peer in logs */
	return (b64);
}

void
engine_to_parent(uint32_t type, const void *data, size_t len)
{
	if (imsg_compose_event(eng->child->iev, type, 0, 0, -1, data,
	    len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

/* A new identity: sessions made under the old key are void. */
static void
engine_set_local(const struct eng_local *el)
{
	wg_local_clear(&eng->local);
	eng->local.crypto = eng->crypto;	/* peers' mac keys need it */
	eng->has_key = 0;
	if (el->has_key) {
		if (wg_local_init_public(&eng->local, eng->crypto,
		    el->pub) != WG_OK)
			fatalx("%s: cannot derive the mac keys", __func__);
		eng->has_key = 1;
	}
	peer_reset_sessions();
}

static void
engine_peer_set(const struct eng_peer *ep)
{
	struct peer	*p;

	if ((p = peer_find(ep->pub)) == NULL &&
	    (p = peer_create(ep->pub)) == NULL)
		return;
	if (ep->flags & ENG_PEER_PATH)
		peer_set_path(p, ep->path);
	/*
	 * Only an endpoint on the peer's path: UDP or none for a direct or
	 * hybrid one (a hybrid one's relay endpoint is its key, kept
	 * apart); a relayed peer's is its own key.
	 */
	if ((ep->flags & ENG_PEER_ENDPOINT) &&
	    ((ep->endpoint.kind == EP_NONE && p->path != PATH_RELAY) ||
	    (ep->endpoint.kind == EP_RELAY && p->path == PATH_RELAY) ||
	    (ep->endpoint.kind != EP_RELAY &&
	    endpoint_on_path(&ep->endpoint, p->path)))) {
		if (ep->endpoint.kind == EP_RELAY)
			endpoint_relay(&p->endpoint, p->wp.pub);
		else
			p->endpoint = ep->endpoint;
	}
	if (ep->flags & ENG_PEER_KEEPALIVE && ep->keepalive != p->keepalive) {
		p->keepalive = ep->keepalive;
		wg_timers_set_persistent_keepalive(&p->wp, p->keepalive,
		    engine_now());
		peer_kick(p, engine_now());
	}
	if (ep->flags & ENG_PEER_CANDIDATES)
		peer_set_candidates(p, ep->cand, ep->ncand);
}

static void
engine_peer_aips(const struct eng_aips *ea)
{
	struct peer	*p;
	uint32_t	 i;

	if ((p = peer_find(ea->pub)) == NULL)
		return;
	if (ea->replace)
		wg_aip_remove_peer(&eng->aip, p);
	for (i = 0; i < ea->n; i++)
		if (wg_aip_insert(&eng->aip, ea->aips[i].af,
		    ea->aips[i].addr, ea->aips[i].plen, p) != WG_OK)
			log_warnx("peer %s: allowed IPs limit", peer_name(p));
}

/* Every peer's counters, then the engine's, for the parent's readers. */
static void
engine_stats(uint32_t seq)
{
	struct eng_peer_stats	 ps;
	struct eng_stats_end	 end;
	struct peer		*p;
	uint64_t		 now = engine_now();

	RB_FOREACH(p, peer_tree, &eng->peers) {
		memset(&ps, 0, sizeof(ps));
		memcpy(ps.pub, p->wp.pub, WG_KEY_LEN);
		ps.endpoint = p->endpoint;
		ps.rx_bytes = p->rx_bytes;
		ps.tx_bytes = p->tx_bytes;
		ps.rx_packets = p->rx_packets;
		ps.tx_packets = p->tx_packets;
		ps.has_session = wg_peer_send_keypair(&p->wp, now) != NULL;
		ps.hs_rtt = p->hs_rtt;
		ps.hs_attempts = p->wp.timers.handshake_attempts;
		if (p->path == PATH_HYBRID)
			probe_health(p, &ps.health, now);
		engine_to_parent(IMSG_ENG_PEER_STATS, &ps, sizeof(ps));
	}
	memset(&end, 0, sizeof(end));
	end.seq = seq;
	end.cnt = eng->cnt;
	engine_to_parent(IMSG_ENG_STATS_END, &end, sizeof(end));
}

static void
engine_hs_answered(const struct eng_hs *hs)
{
	if (hs->from_net && eng->hs_inflight > 0)
		eng->hs_inflight--;
}

/* The parent's messages; a wrong length is a bug or a compromise. */
static int
engine_dispatch(struct child *c, struct imsg *imsg)
{
	struct eng_conf		 ec;
	struct eng_udp		 eu;
	struct eng_local	 el;
	struct eng_peer		 ep;
	struct eng_aips		 ea;
	struct eng_hs		 hs;
	struct eng_active	 ea2;
	struct eng_stun_req	 sr;
	struct eng_ping		 epi;
	struct peer		*p;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;
	uint32_t		 seq;

#define WANT(sz) do {							\
	if (len != (sz))						\
		fatalx("%s: imsg %u: bad length %zu", __func__,		\
		    imsg->hdr.type, len);				\
} while (0)

	switch (imsg->hdr.type) {
	case IMSG_ENG_CONF:
		WANT(sizeof(ec));
		memcpy(&ec, imsg->data, sizeof(ec));
		if (ec.mtu < TUN_MTU_MIN || ec.mtu > ec.mtu_max ||
		    ec.mtu_max > CFG_MTU_MAX ||
		    ec.max_peers > CFG_MAX_PEERS_CAP)
			fatalx("%s: bad configuration", __func__);
		/* Peers' staged buffers are sized by mtu_max. */
		if (eng->mtu_max != 0 && ec.mtu_max != eng->mtu_max)
			fatalx("%s: the largest MTU is fixed at start",
			    __func__);
		/* So is the tun's header: what it was opened with. */
		if (eng->mtu_max == 0)
			eng->offload = eng->udp_gso = ec.offload != 0;
		eng->mtu = ec.mtu;
		eng->mtu_max = ec.mtu_max;
		eng->cnt.crypt_workers = crypt_set_workers(ec.crypto_workers);
		eng->max_peers = ec.max_peers;
		break;
	case IMSG_ENG_TUN:
		WANT(0);
		if (imsg->fd == -1)
			fatalx("%s: tun without a descriptor", __func__);
		socket_set_tun(imsg->fd);
		imsg->fd = -1;
		break;
	case IMSG_ENG_UDP:
		WANT(sizeof(eu));
		memcpy(&eu, imsg->data, sizeof(eu));
		if (eu.af != AF_INET && eu.af != AF_INET6)
			fatalx("%s: bad UDP family", __func__);
		socket_set_udp(eu.af, imsg->fd);
		imsg->fd = -1;
		break;
	case IMSG_ENG_LOCAL:
		WANT(sizeof(el));
		memcpy(&el, imsg->data, sizeof(el));
		engine_set_local(&el);
		explicit_bzero(&el, sizeof(el));
		break;
	case IMSG_ENG_PEER_SET:
		WANT(sizeof(ep));
		memcpy(&ep, imsg->data, sizeof(ep));
		if (ep.ncand > DISCO_ENDPOINTS_MAX ||
		    (ep.path != PATH_DIRECT && ep.path != PATH_RELAY &&
		    ep.path != PATH_HYBRID))
			fatalx("%s: bad peer", __func__);
		engine_peer_set(&ep);
		break;
	case IMSG_ENG_PEER_AIPS:
		WANT(sizeof(ea));
		memcpy(&ea, imsg->data, sizeof(ea));
		if (ea.n > ENG_AIPS_CHUNK)
			fatalx("%s: too many prefixes", __func__);
		engine_peer_aips(&ea);
		break;
	case IMSG_ENG_PEER_DEL:
		WANT(WG_KEY_LEN);
		if ((p = peer_find(imsg->data)) != NULL)
			peer_destroy(p);
		break;
	case IMSG_ENG_PEER_ACTIVE:
		WANT(sizeof(ea2));
		memcpy(&ea2, imsg->data, sizeof(ea2));
		if (ea2.active != PATH_DIRECT && ea2.active != PATH_RELAY)
			fatalx("%s: bad active path", __func__);
		if ((p = peer_find(ea2.pub)) != NULL)
			probe_set_active(p, ea2.active);
		break;
	case IMSG_ENG_PEER_PUNCH:
		WANT(WG_KEY_LEN);
		if ((p = peer_find(imsg->data)) != NULL)
			peer_punch(p, 1);
		break;
	case IMSG_ENG_HS_RESPONSE:
	case IMSG_ENG_HS_KEYS:
		WANT(sizeof(hs));
		memcpy(&hs, imsg->data, sizeof(hs));
		engine_hs_answered(&hs);
		peer_install(&hs, imsg->hdr.type == IMSG_ENG_HS_KEYS);
		explicit_bzero(&hs, sizeof(hs));
		explicit_bzero(imsg->data, len);
		break;
	case IMSG_ENG_HS_INITIATION:
		WANT(sizeof(hs));
		memcpy(&hs, imsg->data, sizeof(hs));
		send_initiation(&hs);
		break;
	case IMSG_ENG_HS_FAIL:
		WANT(sizeof(hs));
		memcpy(&hs, imsg->data, sizeof(hs));
		engine_hs_answered(&hs);
		eng->cnt.drops[hs.reason >= 0 && hs.reason < DROP_MAX ?
		    hs.reason : DROP_HANDSHAKE]++;
		if ((p = peer_find(hs.pub)) != NULL && p->hs_asked &&
		    p->hs_index == hs.index)
			p->hs_asked = 0;
		break;
	case IMSG_ENG_RELAY:
		WANT(0);
		if (imsg->fd == -1)
			fatalx("%s: relay without a descriptor", __func__);
		socket_set_relay(imsg->fd);
		imsg->fd = -1;
		break;
	case IMSG_ENG_STUN_REQ:
		WANT(sizeof(sr));
		memcpy(&sr, imsg->data, sizeof(sr));
		if (sr.slot < 0 || sr.slot >= STUN_SLOTS)
			fatalx("%s: bad STUN slot %d", __func__, sr.slot);
		stun_request(&sr);
		break;
	case IMSG_ENG_PING:
		WANT(sizeof(epi));
		memcpy(&epi, imsg->data, sizeof(epi));
		probe_ctl_ping(&epi);
		break;
	case IMSG_ENG_STATS_REQ:
		WANT(sizeof(seq));
		memcpy(&seq, imsg->data, sizeof(seq));
		engine_stats(seq);
		break;
	default:
		return (0);
	}
#undef WANT
	/* A descriptor nobody asked for is closed, not kept. */
	if (imsg->fd != -1) {
		close(imsg->fd);
		imsg->fd = -1;
	}
	return (1);
}

/* Before the sandbox: what needs the library's own files. */
static void
engine_init(struct child *c)
{
	uint8_t		 hashkey[sizeof(eng->ratelimit.hashkey)];
	long		 ncpu;

	eng->child = c;
	eng->tun = eng->udp4 = eng->udp6 = eng->relay = -1;
	RB_INIT(&eng->peers);
	RB_INIT(&eng->indices);
	randombytes_buf(hashkey, sizeof(hashkey));
	ratelimit_init(&eng->ratelimit, HANDSHAKE_RATE, HANDSHAKE_BURST,
	    hashkey);
	explicit_bzero(hashkey, sizeof(hashkey));
	wg_aip_init(&eng->aip, AIP_NODES_MAX);
	if ((eng->crypto = wg_crypto_new()) == NULL)
		fatalx("crypto initialisation failed");
	eng->local.crypto = eng->crypto;
	/* Threads before the sandbox: one for each other core. */
	if ((ncpu = sysconf(_SC_NPROCESSORS_ONLN)) > 1)
		crypt_init((unsigned int)ncpu - 1);
	strlcpy(c->state, "waiting for descriptors", sizeof(c->state));
}

__dead void
engine_main(int argc, char *argv[])
{
	static struct child	 c;

	c.id = PROC_ENGINE;
	c.init = engine_init;
	c.dispatch = engine_dispatch;
	child_run(&c, argc, argv, &sandbox_policy_engine);
}
