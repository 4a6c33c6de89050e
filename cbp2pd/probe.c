/*
 * Hybrid peers' paths, as the engine measures them: pings inside the
 * peer's session over the direct path and over the relay, pongs back
 * the way each ping came, RTT and loss per path.  The engine reports
 * what it measured (IMSG_ENG_PATH_HEALTH) and sends over the path
 * cbmeshd chose, through the parent (IMSG_ENG_PEER_ACTIVE); it decides
 * nothing itself but one thing: while a direct path is in doubt (a
 * probe late), packets go over both, so a path that dies loses almost
 * nothing before cbmeshd moves the peer.
 */

#include <sys/types.h>
#include <sys/endian.h>
#include <sys/socket.h>

#include <event.h>
#include <string.h>

#include "engine.h"
#include "log.h"

static void	probe_tick(int, short, void *);

static void
probe_arm(void)
{
	struct timeval	 tv;

	tv.tv_sec = PROBE_TICK_MS / 1000;
	tv.tv_usec = (PROBE_TICK_MS % 1000) * 1000;
	evtimer_add(&eng->ev_probe, &tv);
}

/* A peer becomes hybrid, or stops being: the timer runs while any is. */
void
probe_hybrid(struct peer *p, int on)
{
	static int	 timer_set;

	if (!timer_set) {
		evtimer_set(&eng->ev_probe, probe_tick, NULL);
		timer_set = 1;
	}
	if (on) {
		memset(p->probe, 0, sizeof(p->probe));
		endpoint_relay(&p->relay_ep, p->wp.pub);
		p->active = PATH_RELAY;		/* from the first moment */
		p->direct_backoff = DIRECT_RETRY_MIN_NS;
		p->direct_retry_at = 0;
		p->health_dirty = 1;
		if (eng->nhybrid++ == 0)
			probe_arm();
	} else if (eng->nhybrid > 0 && --eng->nhybrid == 0)
		evtimer_del(&eng->ev_probe);
}

/* Where a data packet for p goes now. */
const struct endpoint *
peer_tx_endpoint(const struct peer *p)
{
	if (p->path == PATH_HYBRID && (p->active == PATH_RELAY ||
	    p->endpoint.kind == EP_NONE))
		return (&p->relay_ep);
	return (&p->endpoint);
}

/* A hybrid peer sent over direct whose direct probe is late. */
int
peer_in_doubt(const struct peer *p, uint64_t now)
{
	const struct path_obs	*o = &p->probe[PROBE_DIRECT].obs;

	return (p->path == PATH_HYBRID && p->active == PATH_DIRECT &&
	    o->unanswered_since != 0 && now > o->unanswered_since &&
	    now - o->unanswered_since > PROBE_DOUBT_NS);
}

/* cbmeshd's choice, checked by the parent; direct needs an endpoint. */
void
probe_set_active(struct peer *p, int active)
{
	if (p->path != PATH_HYBRID || active == p->active)
		return;
	if (active == PATH_DIRECT && p->endpoint.kind == EP_NONE) {
		log_debug("peer %s: no direct endpoint to move to",
		    peer_name(p));
		p->health_dirty = 1;
		return;
	}
	p->active = active;
	p->health_dirty = 1;
	/* Back on the relay: retry direct soon, then less often. */
	if (active == PATH_RELAY) {
		p->direct_backoff = DIRECT_RETRY_MIN_NS;
		p->direct_retry_at = engine_now() + DIRECT_RETRY_MIN_NS;
	}
	log_debug("peer %s: sending %s", peer_name(p),
	    peer_path_name(active));
}

/* Loss among the recent probes old enough to have been answered. */
static uint32_t
probe_loss(const struct probe_path *pp, uint64_t now)
{
	unsigned int	 i, seen = 0, lost = 0;

	for (i = 0; i < PROBE_RING; i++) {
		const struct probe_sent	*s = &pp->ring[i];

		if (s->at == 0)
			continue;
		if (s->answered)
			seen++;
		else if (now - s->at > PROBE_ANSWER_NS) {
			seen++;
			lost++;
		}
	}
	return (seen == 0 ? 0 : lost * 100 / seen);
}

void
probe_health(const struct peer *p, struct path_health *h, uint64_t now)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->pub, p->wp.pub, WG_KEY_LEN);
	h->now = now;
	h->active = p->active;
	h->has_direct = p->endpoint.kind != EP_NONE || p->ncand > 0;
	h->direct = p->probe[PROBE_DIRECT].obs;
	h->direct.loss_pct = probe_loss(&p->probe[PROBE_DIRECT], now);
	h->relay = p->probe[PROBE_RELAY].obs;
	h->relay.loss_pct = probe_loss(&p->probe[PROBE_RELAY], now);
}

/* One ping over one way; the same sequence to every direct candidate. */
static void
probe_send(struct peer *p, struct wg_keypair *kp, int way, uint64_t now)
{
	struct probe_path	*pp = &p->probe[way];
	struct probe_sent	*s;
	struct endpoint		 cand;
	uint8_t			 ping[PROBE_LEN];
	unsigned int		 i;

	memset(ping, 0, sizeof(ping));
	ping[0] = PROBE_PING;
	ping[1] = way;
	be32enc(ping + PROBE_OFF_SEQ, ++pp->seq);
	be64enc(ping + PROBE_OFF_TIME, now);
	if (way == PROBE_RELAY)
		encrypt_probe(p, kp, ping, &p->relay_ep, now);
	else {
		if (p->endpoint.kind != EP_NONE)
			encrypt_probe(p, kp, ping, &p->endpoint, now);
		/* Relayed, direct is anywhere the peer said it may be. */
		for (i = 0; p->active == PATH_RELAY && i < p->ncand; i++) {
			if (p->endpoint.kind != EP_NONE &&
			    sockaddr_cmp(&p->cand[i], &p->endpoint.sa) == 0)
				continue;
			endpoint_from_sa(&cand,
			    (const struct sockaddr *)&p->cand[i]);
			encrypt_probe(p, kp, ping, &cand, now);
		}
	}
	s = &pp->ring[pp->seq % PROBE_RING];
	s->seq = pp->seq;
	s->at = now;
	s->answered = 0;
	pp->last_probe = now;
	pp->obs.probes++;
	if (pp->obs.unanswered++ == 0)
		pp->obs.unanswered_since = now;
	if (pp->obs.unanswered > 1)
		pp->obs.pongs_in_row = 0;
	p->health_dirty = 1;
}

/* What the tick sends to one hybrid peer. */
static void
probe_peer(struct peer *p, uint64_t now)
{
	struct wg_keypair	*kp;
	int			 active, has_direct;

	if ((kp = wg_peer_send_keypair(&p->wp, now)) == NULL)
		return;		/* the handshake goes both ways itself */
	active = p->last_data != 0 && now - p->last_data < PROBE_ACTIVE_NS;
	has_direct = p->endpoint.kind != EP_NONE || p->ncand > 0;
	if (p->active == PATH_DIRECT) {
		if (active || now - p->probe[PROBE_DIRECT].last_probe >=
		    PROBE_IDLE_NS)
			probe_send(p, kp, PROBE_DIRECT, now);
	} else if (has_direct && now >= p->direct_retry_at) {
		probe_send(p, kp, PROBE_DIRECT, now);
		p->direct_retry_at = now + p->direct_backoff;
		p->direct_backoff *= 2;
		if (p->direct_backoff > DIRECT_RETRY_MAX_NS)
			p->direct_backoff = DIRECT_RETRY_MAX_NS;
	}
	if ((active || p->probe[PROBE_RELAY].last_probe == 0) &&
	    now - p->probe[PROBE_RELAY].last_probe >= PROBE_RELAY_NS)
		probe_send(p, kp, PROBE_RELAY, now);
}

static void
probe_tick(int fd, short event, void *arg)
{
	struct path_health	 h;
	struct peer		*p;
	uint64_t		 now = engine_now();

	RB_FOREACH(p, peer_tree, &eng->peers) {
		if (p->path != PATH_HYBRID)
			continue;
		probe_peer(p, now);
		if (p->health_dirty) {
			probe_health(p, &h, now);
			engine_to_parent(IMSG_ENG_PATH_HEALTH, &h, sizeof(h));
			p->health_dirty = 0;
		}
	}
	tx_flush();
	if (eng->nhybrid > 0)
		probe_arm();
}

/* An authenticated packet came over from: that path carries. */
void
probe_rx(struct peer *p, const struct endpoint *from, uint64_t now)
{
	if (p->path != PATH_HYBRID)
		return;
	p->probe[from->kind == EP_RELAY ? PROBE_RELAY :
	    PROBE_DIRECT].obs.last_rx = now;
}

static void
probe_pong(struct peer *p, int way, const uint8_t *pong, uint64_t now)
{
	struct probe_path	*pp = &p->probe[way];
	struct probe_sent	*s;
	uint32_t		 seq = be32dec(pong + PROBE_OFF_SEQ);
	uint64_t		 at = be64dec(pong + PROBE_OFF_TIME), rtt;

	s = &pp->ring[seq % PROBE_RING];
	/* Only an answer to a ping of ours, once. */
	if (s->seq != seq || s->at != at || s->answered || at > now) {
		eng->cnt.drops[DROP_INNER]++;
		return;
	}
	s->answered = 1;
	rtt = now - at;
	if (pp->obs.rtt_ns == 0)
		pp->obs.rtt_ns = rtt;
	else
		pp->obs.rtt_ns = pp->obs.rtt_ns - (pp->obs.rtt_ns >>
		    PROBE_RTT_EWMA_SHIFT) + (rtt >> PROBE_RTT_EWMA_SHIFT);
	pp->obs.last_pong = now;
	pp->obs.pongs++;
	pp->obs.pongs_in_row++;
	pp->obs.unanswered = 0;
	pp->obs.unanswered_since = 0;
	p->health_dirty = 1;
	/* Direct answers again: probe it each tick until cbmeshd moves. */
	if (way == PROBE_DIRECT && p->active == PATH_RELAY) {
		p->direct_backoff = DIRECT_RETRY_MIN_NS;
		p->direct_retry_at = now + DIRECT_RETRY_MIN_NS;
	}
}

/* An operator's ping was answered: its round trip goes to the parent. */
static void
probe_ctl_pong(struct peer *p, const struct endpoint *from,
    const uint8_t *pong, uint64_t now)
{
	struct probe_ctl	*s;
	struct eng_ping		 out;
	uint32_t		 seq = be32dec(pong + PROBE_OFF_SEQ);
	uint64_t		 at = be64dec(pong + PROBE_OFF_TIME);

	s = &eng->pings[seq % PROBE_CTL_RING];
	/* Only an answer to a ping of ours to this peer, once. */
	if (!s->used || s->seq != seq || s->at != at || at > now ||
	    memcmp(s->pub, p->wp.pub, WG_KEY_LEN) != 0) {
		eng->cnt.drops[DROP_INNER]++;
		return;
	}
	s->used = 0;
	memset(&out, 0, sizeof(out));
	memcpy(out.pub, p->wp.pub, WG_KEY_LEN);
	out.id = s->id;
	out.tag = s->tag;
	out.status = PING_OK;
	out.rtt_ns = now - at;
	out.from = *from;
	engine_to_parent(IMSG_ENG_PING_RESULT, &out, sizeof(out));
}

/*
 * cbp2pctl ping: one probe over the path the peer's data takes now.
 * Without a session it starts a handshake and says so; a ping that went
 * out is answered by its pong, or by the parent's timeout.
 */
void
probe_ctl_ping(const struct eng_ping *req)
{
	struct eng_ping		 out = *req;
	struct probe_ctl	*s;
	struct wg_keypair	*kp;
	const struct endpoint	*ep;
	struct peer		*p;
	uint8_t			 ping[PROBE_LEN];
	uint64_t		 now = engine_now();

	if ((p = peer_find(req->pub)) == NULL) {
		out.status = PING_NO_PEER;
		goto answer;
	}
	if ((kp = wg_peer_send_keypair(&p->wp, now)) == NULL) {
		wg_timers_want_handshake(&p->wp, now);
		peer_kick(p, now);
		out.status = PING_NO_SESSION;
		goto answer;
	}
	ep = peer_tx_endpoint(p);
	if (ep->kind == EP_NONE) {
		out.status = PING_NO_ENDPOINT;
		goto answer;
	}
	s = &eng->pings[++eng->ping_seq % PROBE_CTL_RING];
	memcpy(s->pub, p->wp.pub, WG_KEY_LEN);
	s->id = req->id;
	s->tag = req->tag;
	s->seq = eng->ping_seq;
	s->at = now;
	s->used = 1;
	memset(ping, 0, sizeof(ping));
	ping[0] = PROBE_PING;
	ping[1] = PROBE_CTL;
	be32enc(ping + PROBE_OFF_SEQ, s->seq);
	be64enc(ping + PROBE_OFF_TIME, now);
	if (encrypt_probe(p, kp, ping, ep, now) == -1) {
		s->used = 0;
		out.status = PING_NO_SESSION;
		goto answer;
	}
	tx_flush();
	return;
answer:
	engine_to_parent(IMSG_ENG_PING_RESULT, &out, sizeof(out));
}

/*
 * A decrypted inner packet that may be a probe: 1 when it was (handled
 * or dropped), 0 when it is for the tun.  Every peer answers pings, so
 * cbp2pctl ping works whatever the path; only hybrid peers' path probes
 * are measured.
 */
int
probe_input(struct peer *p, const struct endpoint *from, const uint8_t *in,
    size_t len, uint64_t now)
{
	struct wg_keypair	*kp;
	uint8_t			 pong[PROBE_LEN];

	if (len < PROBE_LEN || (in[0] != PROBE_PING && in[0] != PROBE_PONG))
		return (0);
	if (in[0] == PROBE_PONG) {
		if (in[1] == PROBE_CTL)
			probe_ctl_pong(p, from, in, now);
		else if (p->path != PATH_HYBRID)
			eng->cnt.drops[DROP_INNER]++;
		else
			probe_pong(p, from->kind == EP_RELAY ? PROBE_RELAY :
			    PROBE_DIRECT, in, now);
		return (1);
	}
	if ((kp = wg_peer_send_keypair(&p->wp, now)) == NULL)
		return (1);
	memcpy(pong, in, sizeof(pong));
	pong[0] = PROBE_PONG;
	encrypt_probe(p, kp, pong, from, now);
	return (1);
}
