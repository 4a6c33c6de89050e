/*
 * The engine's peers and its table of local session indices.  A peer
 * here holds what the data plane needs: its keypairs and timers, where
 * it is, and the packets waiting for a session.  Which peers exist and
 * what they may carry is the parent's decision; it tells the engine.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "engine.h"
#include "log.h"

#define JITTER_POOL		64	/* random words per system call */

int
peer_cmp(struct peer *a, struct peer *b)
{
	return (memcmp(a->wp.pub, b->wp.pub, WG_KEY_LEN));
}

int
index_cmp(struct peer_index *a, struct peer_index *b)
{
	return (a->index < b->index ? -1 : a->index > b->index);
}

RB_GENERATE(peer_tree, peer, entry, peer_cmp);
RB_GENERATE(index_tree, peer_index, entry, index_cmp);

/* ---- indices -------------------------------------------------------- */

int
index_alloc(struct peer *p, uint32_t *out)
{
	struct peer_index	*pi = NULL, *dup;
	unsigned int		 i;

	for (i = 0; i < PEER_INDEX_POOL; i++) {
		if (!p->idx[i].used) {
			pi = &p->idx[i];
			break;
		}
	}
	if (pi == NULL) {
		log_warnx("peer %s: no free session index", peer_name(p));
		return (-1);
	}
	pi->peer = p;
	do {
		/* Zero marks "no index" in messages: never hand it out. */
		while ((pi->index = randombytes_random()) == 0)
			;
		dup = RB_INSERT(index_tree, &eng->indices, pi);
	} while (dup != NULL);
	pi->used = 1;
	*out = pi->index;
	return (0);
}

void
index_release(void *arg, uint32_t index)
{
	struct peer	*p = arg;
	unsigned int	 i;

	for (i = 0; i < PEER_INDEX_POOL; i++) {
		if (p->idx[i].used && p->idx[i].index == index) {
			RB_REMOVE(index_tree, &eng->indices, &p->idx[i]);
			p->idx[i].used = 0;
			return;
		}
	}
}

struct peer *
index_lookup(uint32_t index)
{
	struct peer_index	 key, *pi;

	key.index = index;
	if ((pi = RB_FIND(index_tree, &eng->indices, &key)) == NULL)
		return (NULL);
	return (pi->peer);
}

/* ---- peers ---------------------------------------------------------- */


/*
 * The timers' jitter, from a pool of random words filled by one system
 * call for JITTER_POOL of them: an answer to each sent packet re-arms a
 * timer with jitter, and getrandom(2) per packet showed in strace.
 */
static uint32_t
jitter_uniform(void *arg, uint32_t upper)
{
	static uint64_t		 pool[JITTER_POOL];
	static unsigned int	 left;

	(void)arg;
	if (left == 0) {
		randombytes_buf(pool, sizeof(pool));
		left = JITTER_POOL;
	}
	/* 64 random bits for a 32-bit range: the modulo's bias is nil. */
	return ((uint32_t)(pool[--left] % upper));
}

struct peer *
peer_find(const uint8_t *pub)
{
	struct peer	 key;

	memcpy(key.wp.pub, pub, WG_KEY_LEN);
	return (RB_FIND(peer_tree, &eng->peers, &key));
}

struct peer *
peer_create(const uint8_t *pub)
{
	struct peer	*p;
	unsigned int	 i;

	if (eng->mtu == 0)
		fatalx("%s: a peer before the configuration", __func__);
	/* The parent counts against max_peers; this is the backstop. */
	if (eng->npeers >= eng->max_peers) {
		log_warnx("%s: peer limit %u reached", __func__,
		    eng->max_peers);
		return (NULL);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	p->staged_slot = ENGINE_HEADROOM + eng->mtu_max + WG_DATA_PAD +
	    WG_TAG_LEN;
	if ((p->staged_mem = calloc(PEER_STAGED_MAX, p->staged_slot)) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < PEER_STAGED_MAX; i++)
		p->staged[i].buf = p->staged_mem + i * p->staged_slot;
	if (wg_peer_init_public(&p->wp, &eng->local, pub) != WG_OK)
		fatalx("%s: cannot derive a peer's mac keys", __func__);
	p->wp.index_release = index_release;
	p->wp.arg = p;
	p->wp.timers.rand_uniform = jitter_uniform;
	timers_peer_init(p);
	RB_INSERT(peer_tree, &eng->peers, p);
	eng->npeers++;
	return (p);
}

void
peer_destroy(struct peer *p)
{
	if (p->path == PATH_HYBRID)
		probe_hybrid(p, 0);
	timers_peer_stop(p);
	wg_aip_remove_peer(&eng->aip, p);
	wg_peer_clear(&p->wp);		/* releases indices, zeroes keys */
	if (p->hs_index != 0)
		index_release(p, p->hs_index);
	RB_REMOVE(peer_tree, &eng->peers, p);
	eng->npeers--;
	freezero(p->staged_mem, PEER_STAGED_MAX * p->staged_slot);
	freezero(p, sizeof(*p));
}

void
peer_destroy_all(void)
{
	struct peer	*p, *tmp;

	RB_FOREACH_SAFE(p, peer_tree, &eng->peers, tmp)
		peer_destroy(p);
}

/* The local key changed: every session and pending handshake is void. */
void
peer_reset_sessions(void)
{
	struct peer	*p;
	uint8_t		 pub[WG_KEY_LEN];
	uint64_t	 now = engine_now();

	RB_FOREACH(p, peer_tree, &eng->peers) {
		memcpy(pub, p->wp.pub, WG_KEY_LEN);
		if (p->hs_index != 0)
			index_release(p, p->hs_index);
		p->hs_index = 0;
		p->hs_asked = 0;
		p->nstaged = 0;
		wg_peer_clear(&p->wp);	/* releases the keypairs' indices */
		if (wg_peer_init_public(&p->wp, &eng->local, pub) != WG_OK)
			fatalx("%s: cannot derive a peer's mac keys",
			    __func__);
		p->wp.index_release = index_release;
		p->wp.arg = p;
		wg_timers_set_persistent_keepalive(&p->wp, p->keepalive, now);
		peer_kick(p, now);
	}
}

/*
 * An authenticated packet came from ep: that is where the peer is, as
 * long as ep is on the peer's path.  A relayed peer never roams to UDP,
 * a direct one never to the relay; a hybrid one keeps both, and roams
 * only its UDP endpoint.
 */
void
peer_roam(struct peer *p, const struct endpoint *ep)
{
	if (!endpoint_on_path(ep, p->path) || (p->path == PATH_HYBRID &&
	    ep->kind == EP_RELAY))
		return;
	p->endpoint = *ep;
	p->confirmed = 1;
}

/*
 * The parent chose the peer's path.  Relayed: the relay endpoint with
 * the peer's own key, and nothing of UDP left (no endpoint, no
 * candidates), so nothing can send UDP to it.  Direct: no endpoint
 * until the parent gives one or a handshake shows one.  Hybrid: the
 * relay from the first moment, and a direct endpoint as for direct,
 * probed until cbmeshd moves the peer to it.  Sessions stay: they are
 * the same whichever way packets travel.
 */
void
peer_set_path(struct peer *p, int path)
{
	if (path == p->path && (path != PATH_RELAY ||
	    p->endpoint.kind == EP_RELAY))
		return;
	if (p->path == PATH_HYBRID && path != PATH_HYBRID)
		probe_hybrid(p, 0);
	else if (path == PATH_HYBRID && p->path != PATH_HYBRID)
		probe_hybrid(p, 1);
	p->path = path;
	p->ncand = 0;
	memset(p->cand, 0, sizeof(p->cand));
	p->confirmed = 0;
	if (path == PATH_RELAY)
		endpoint_relay(&p->endpoint, p->wp.pub);
	else
		memset(&p->endpoint, 0, sizeof(p->endpoint));
	log_debug("peer %s: path %s", peer_name(p), peer_path_name(path));
}

/*
 * Start a handshake now: both sides do so on learning of each other.
 * Unless forced, a peer with a working session is left alone.
 */
void
peer_punch(struct peer *p, int force)
{
	uint64_t	 now = engine_now();

	if (!force && wg_peer_send_keypair(&p->wp, now) != NULL)
		return;
	wg_timers_want_handshake(&p->wp, now);
	peer_kick(p, now);
	tx_flush();
}

void
peer_set_candidates(struct peer *p, const struct sockaddr_storage *cand,
    unsigned int n)
{
	unsigned int	 i;
	int		 same = n == p->ncand, known = 0;

	/* A relayed peer has no UDP candidates. */
	if (p->path == PATH_RELAY)
		return;
	for (i = 0; same && i < n; i++)
		same = sockaddr_cmp(&cand[i], &p->cand[i]) == 0;
	if (same)
		return;
	/* New places to try: a relayed hybrid peer tries them soon. */
	p->direct_backoff = DIRECT_RETRY_MIN_NS;
	p->direct_retry_at = 0;
	if (n > DISCO_ENDPOINTS_MAX)
		n = DISCO_ENDPOINTS_MAX;
	memcpy(p->cand, cand, n * sizeof(*cand));
	p->ncand = n;
	for (i = 0; i < n && p->endpoint.kind != EP_NONE; i++)
		known |= sockaddr_cmp(&cand[i], &p->endpoint.sa) == 0;
	/*
	 * The peer now announces places where we do not talk to it: it
	 * restarted or moved.  Punch towards them at once instead of
	 * waiting for the session we hold to time out.
	 */
	if (!known) {
		p->confirmed = 0;
		peer_punch(p, 1);
	}
}

/*
 * The parent finished a handshake: install the session it derived.  A
 * responder's message still needs its sender index and macs, which are
 * the engine's to give; an initiator's session answers the initiation
 * whose index the engine chose.
 */
void
peer_install(const struct eng_hs *hs, int initiator)
{
	struct peer	*p;
	uint8_t		 msg[WG_RESPONSE_LEN];
	uint64_t	 now = engine_now();
	uint32_t	 idx;

	if ((p = peer_find(hs->pub)) == NULL || !hs->has_keys)
		return;		/* removed meanwhile */
	if (initiator) {
		if (hs->index == 0 || hs->index != p->hs_index) {
			eng->cnt.drops[DROP_HANDSHAKE]++;
			return;
		}
		/* The index moves from the handshake to the keypair. */
		p->hs_index = 0;
		p->hs_asked = 0;
		if (wg_peer_install_keypair(&p->wp, hs->send_key,
		    hs->recv_key, hs->index, hs->remote_index, 1, now) !=
		    WG_OK) {
			index_release(p, hs->index);
			return;
		}
		log_debug("peer %s: handshake complete", peer_name(p));
		if (p->hs_sent_at != 0 && now > p->hs_sent_at)
			p->hs_rtt = now - p->hs_sent_at;
		peer_roam(p, &hs->ep);
		probe_rx(p, &hs->ep, now);
		p->rx_bytes += WG_RESPONSE_LEN;
		p->rx_packets++;
		wg_timers_response_received(&p->wp, now);
		send_staged(p, now, 1);
		peer_kick(p, now);
		return;
	}

	if (hs->len != WG_RESPONSE_LEN || index_alloc(p, &idx) == -1)
		return;
	memcpy(msg, hs->msg, sizeof(msg));
	if (wg_msg_set_sender_index(msg, sizeof(msg), idx) != WG_OK ||
	    wg_peer_install_keypair(&p->wp, hs->send_key, hs->recv_key, idx,
	    hs->remote_index, 0, now) != WG_OK ||
	    wg_cookie_add_macs(&eng->local, &p->wp, msg, sizeof(msg),
	    now) != WG_OK) {
		index_release(p, idx);
		return;
	}
	peer_roam(p, &hs->ep);
	p->rx_bytes += WG_INITIATION_LEN;
	p->rx_packets++;
	wg_timers_initiation_received(&p->wp, now);
	log_debug("peer %s: answered handshake initiation", peer_name(p));
	/* Back the way the initiation came: for a hybrid peer, either. */
	send_handshake(&hs->ep, msg, sizeof(msg));
	p->tx_bytes += sizeof(msg);
	p->tx_packets++;
	wg_timers_response_sent(&p->wp, now);
	peer_kick(p, now);
}
