/*
 * The WireGuard engine of the parent: tun <-> cryptokey routing <-> UDP,
 * driven by the protocol core in lib/wg_*.c.
 *
 * Packets move in bursts of up to ENGINE_BATCH through buffers allocated
 * once at start, so nothing is allocated per packet; a burst is gathered,
 * transformed, then sent with one sendmmsg() per address family.  That
 * shape is what later batching work (offloads, GSO/GRO, crypto on worker
 * threads) builds on: the transform step works on an array of buffers and
 * touches only the keypair it was given.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cbp2pd.h"
#include "log.h"

#define IPV4_HEADER_MIN		20
#define IPV6_HEADER_LEN		40

struct pkt {
	uint8_t		 buf[ENGINE_PKT_MAX];
	size_t		 len;
	struct sockaddr_storage	 sa;
	socklen_t	 salen;
};

/* The burst buffers: one set for each direction. */
static struct pkt	 rx[ENGINE_BATCH];
static struct pkt	 tx[ENGINE_BATCH];
static unsigned int	 ntx;

static void	engine_tun_cb(int, short, void *);
static void	engine_udp_cb(int, short, void *);
static void	engine_timer_cb(int, short, void *);
static void	peer_kick(struct engine *, struct peer *, uint64_t);
static void	tx_flush(struct engine *);

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

uint64_t
engine_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * WG_NSEC_PER_SEC + ts.tv_nsec);
}

static void
drop(struct engine *e, enum drop_reason r)
{
	e->drops[r]++;
}

static const char *
peer_name(const struct peer *p)
{
	static char	 b64[WG_KEY_B64_LEN + 1];

	wgkey_to_b64(b64, p->wp.pub);
	b64[8] = '\0';		/* a short prefix names a peer in logs */
	return (b64);
}

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

void
engine_peer_info(const struct peer *p, struct ctl_peer *cp)
{
	memset(cp, 0, sizeof(*cp));
	wgkey_to_b64(cp->public_key, p->wp.pub);
	if (p->endpoint_len > 0)
		sockaddr_format((const struct sockaddr *)&p->endpoint,
		    cp->endpoint, sizeof(cp->endpoint));
	cp->has_psk = p->has_psk;
	cp->from_token = p->from_token;
	cp->keepalive = p->keepalive;
	cp->last_handshake = p->last_handshake.tv_sec;
	cp->rx_bytes = p->rx_bytes;
	cp->tx_bytes = p->tx_bytes;
}

/* ---- indices -------------------------------------------------------- */

static int
index_alloc(struct engine *e, struct peer *p, uint32_t *out)
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
		pi->index = randombytes_random();
		dup = RB_INSERT(index_tree, &e->indices, pi);
	} while (dup != NULL);
	pi->used = 1;
	*out = pi->index;
	return (0);
}

static void
index_release(void *arg, uint32_t index)
{
	struct peer		*p = arg;
	struct engine		*e = &env->eng;
	unsigned int		 i;

	for (i = 0; i < PEER_INDEX_POOL; i++) {
		if (p->idx[i].used && p->idx[i].index == index) {
			RB_REMOVE(index_tree, &e->indices, &p->idx[i]);
			p->idx[i].used = 0;
			return;
		}
	}
}

static struct peer *
index_lookup(struct engine *e, uint32_t index)
{
	struct peer_index	 key, *pi;

	key.index = index;
	if ((pi = RB_FIND(index_tree, &e->indices, &key)) == NULL)
		return (NULL);
	return (pi->peer);
}

/* ---- peers ---------------------------------------------------------- */

struct peer *
engine_peer_find(struct engine *e, const uint8_t *pub)
{
	struct peer	 key;

	memcpy(key.wp.pub, pub, WG_KEY_LEN);
	return (RB_FIND(peer_tree, &e->peers, &key));
}

static struct wg_peer *
lookup_by_pub(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct peer	*p;

	if ((p = engine_peer_find(arg, pub)) == NULL)
		return (NULL);
	return (&p->wp);
}

static struct peer *
peer_of(struct wg_peer *wp)
{
	return ((struct peer *)((char *)wp - offsetof(struct peer, wp)));
}

struct peer *
engine_peer_add(struct engine *e, const uint8_t *pub, char *err,
    size_t errlen)
{
	struct peer	*p;
	size_t		 slot = ENGINE_HEADROOM + e->mtu + WG_DATA_PAD +
			    WG_TAG_LEN;
	unsigned int	 i;

	if (e->npeers >= e->max_peers) {
		snprintf(err, errlen, "peer limit %u reached", e->max_peers);
		return (NULL);
	}
	if (e->has_key && memcmp(pub, e->local.pub, WG_KEY_LEN) == 0) {
		snprintf(err, errlen, "peer is this node's own key");
		return (NULL);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->staged_mem = calloc(PEER_STAGED_MAX, slot)) == NULL) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	for (i = 0; i < PEER_STAGED_MAX; i++)
		p->staged[i].buf = p->staged_mem + i * slot;
	if (wg_peer_init(&p->wp, &e->local, pub, NULL) != WG_OK) {
		free(p->staged_mem);
		free(p);
		snprintf(err, errlen, "public key is not usable");
		return (NULL);
	}
	p->wp.index_release = index_release;
	p->wp.arg = p;
	p->deadline = WG_DEADLINE_NONE;
	RB_INSERT(peer_tree, &e->peers, p);
	e->npeers++;
	log_info("peer %s added", peer_name(p));
	return (p);
}

void
engine_peer_remove(struct engine *e, struct peer *p)
{
	log_info("peer %s removed", peer_name(p));
	wg_aip_remove_peer(&e->aip, p);
	wg_peer_clear(&p->wp);		/* releases indices, zeroes keys */
	RB_REMOVE(peer_tree, &e->peers, p);
	e->npeers--;
	freezero(p->staged_mem, PEER_STAGED_MAX * (ENGINE_HEADROOM + e->mtu +
	    WG_DATA_PAD + WG_TAG_LEN));
	freezero(p, sizeof(*p));
}

int
engine_peer_set_psk(struct engine *e, struct peer *p, const uint8_t *psk)
{
	static const uint8_t	 zero[WG_KEY_LEN];

	p->has_psk = psk != NULL && sodium_memcmp(psk, zero, WG_KEY_LEN) != 0;
	if (p->has_psk)
		memcpy(p->wp.psk, psk, WG_KEY_LEN);
	else
		sodium_memzero(p->wp.psk, WG_KEY_LEN);
	return (0);
}

void
engine_peer_set_endpoint(struct peer *p, const struct sockaddr *sa,
    socklen_t salen)
{
	if (sa == NULL || salen > sizeof(p->endpoint)) {
		p->endpoint_len = 0;
		return;
	}
	memcpy(&p->endpoint, sa, salen);
	p->endpoint_len = salen;
}

/* An authenticated packet came from sa: that is where the peer is. */
static void
peer_roam(struct peer *p, const struct sockaddr *sa, socklen_t salen)
{
	engine_peer_set_endpoint(p, sa, salen);
	p->confirmed = 1;
}

void
engine_peer_set_keepalive(struct engine *e, struct peer *p, uint16_t secs)
{
	uint64_t	 now = engine_now();

	p->keepalive = secs;
	wg_timers_set_persistent_keepalive(&p->wp, secs, now);
	peer_kick(e, p, now);
}

int
engine_peer_add_aip(struct engine *e, struct peer *p, const struct cidr *c)
{
	if (wg_aip_insert(&e->aip, c->af, c->addr, c->plen, p) != WG_OK)
		return (-1);
	return (0);
}

void
engine_peer_clear_aips(struct engine *e, struct peer *p)
{
	wg_aip_remove_peer(&e->aip, p);
}

/* Resolve "host:port" or "[v6]:port" from the token. */
static int
endpoint_resolve(const char *ep, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo	 hints, *res;
	char		 host[CFG_ENDPOINT_MAX];
	const char	*port;
	char		*colon;

	if (strlcpy(host, ep, sizeof(host)) >= sizeof(host))
		return (-1);
	if ((colon = strrchr(host, ':')) == NULL)
		return (-1);
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		if ((colon = strchr(host, ']')) == NULL)
			return (-1);
		*colon = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return (-1);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

/* The token's max_peers bounds the peers, its static peers included. */
void
engine_set_max_peers(struct engine *e, const struct token *t)
{
	e->max_peers = t->max_peers > t->npeers ? t->max_peers : t->npeers;
}

/*
 * Make the engine's static peers match the token's: add new ones, update
 * changed ones, remove those the token no longer names.  Peers added by
 * `wg set` are left alone.
 */
int
engine_sync_static(struct engine *e, const struct token *t, char *err,
    size_t errlen)
{
	struct peer		*p, *tmp;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	size_t			 i, j;
	int			 keep;

	engine_set_max_peers(e, t);
	RB_FOREACH_SAFE(p, peer_tree, &e->peers, tmp) {
		if (!p->from_token)
			continue;
		for (keep = 0, i = 0; i < t->npeers && !keep; i++)
			keep = memcmp(p->wp.pub, t->peers[i].public_key,
			    WG_KEY_LEN) == 0;
		if (!keep)
			engine_peer_remove(e, p);
	}
	for (i = 0; i < t->npeers; i++) {
		const struct static_peer	*sp = &t->peers[i];

		if ((p = engine_peer_find(e, sp->public_key)) == NULL &&
		    (p = engine_peer_add(e, sp->public_key, err,
		    errlen)) == NULL)
			return (-1);
		p->from_token = 1;
		engine_peer_set_psk(e, p, sp->has_psk ? sp->preshared_key :
		    NULL);
		if (sp->endpoint[0] != '\0') {
			if (endpoint_resolve(sp->endpoint, &ss, &sslen) == -1) {
				snprintf(err, errlen, "peer endpoint %s does "
				    "not resolve", sp->endpoint);
				return (-1);
			}
			engine_peer_set_endpoint(p, (struct sockaddr *)&ss,
			    sslen);
		}
		engine_peer_clear_aips(e, p);
		for (j = 0; j < sp->nallowed_ips; j++) {
			if (engine_peer_add_aip(e, p, &sp->allowed_ips[j]) ==
			    -1) {
				snprintf(err, errlen, "allowed IPs limit");
				return (-1);
			}
		}
		engine_peer_set_keepalive(e, p, sp->persistent_keepalive);
	}
	return (0);
}

/* ---- sending -------------------------------------------------------- */

static int
peer_fd(struct engine *e, const struct peer *p)
{
	return (p->endpoint.ss_family == AF_INET6 ? e->udp6 : e->udp4);
}

/* Send one datagram now (handshakes, cookie replies). */
static void
send_now(struct engine *e, int fd, const void *buf, size_t len,
    const struct sockaddr *sa, socklen_t salen)
{
	if (sendto(fd, buf, len, 0, sa, salen) == -1) {
		drop(e, DROP_SEND);
		log_debug("%s: sendto: %s", __func__, strerror(errno));
	}
}

/* Queue an encrypted datagram for the burst's sendmmsg. */
static struct pkt *
tx_slot(struct engine *e)
{
	if (ntx == ENGINE_BATCH)
		tx_flush(e);
	return (&tx[ntx]);
}

static void
tx_flush_family(struct engine *e, int family)
{
	struct mmsghdr	 msgs[ENGINE_BATCH];
	struct iovec	 iov[ENGINE_BATCH];
	unsigned int	 i, n = 0;
	int		 fd = family == AF_INET6 ? e->udp6 : e->udp4;
	int		 sent, off = 0;

	for (i = 0; i < ntx; i++) {
		if (tx[i].sa.ss_family != family)
			continue;
		iov[n].iov_base = tx[i].buf;
		iov[n].iov_len = tx[i].len;
		memset(&msgs[n], 0, sizeof(msgs[n]));
		msgs[n].msg_hdr.msg_name = &tx[i].sa;
		msgs[n].msg_hdr.msg_namelen = tx[i].salen;
		msgs[n].msg_hdr.msg_iov = &iov[n];
		msgs[n].msg_hdr.msg_iovlen = 1;
		n++;
	}
	while (off < (int)n) {
		if ((sent = sendmmsg(fd, msgs + off, n - off, 0)) == -1) {
			/* Skip the datagram that failed; count it. */
			drop(e, DROP_SEND);
			off++;
			continue;
		}
		off += sent;
	}
}

static void
tx_flush(struct engine *e)
{
	if (ntx == 0)
		return;
	tx_flush_family(e, AF_INET);
	tx_flush_family(e, AF_INET6);
	ntx = 0;
}

/*
 * Encrypt plaintext (at buf + ENGINE_HEADROOM, len bytes, with room for
 * padding and tag) for p into the next burst slot.
 */
static int
encrypt_to_peer(struct engine *e, struct peer *p, struct wg_keypair *kp,
    const uint8_t *plain, size_t len, uint64_t now)
{
	struct pkt	*out;
	size_t		 plen, pktlen;

	if (p->endpoint_len == 0) {
		drop(e, DROP_NO_ENDPOINT);
		return (-1);
	}
	out = tx_slot(e);
	plen = wg_data_padded_len(len, e->mtu);
	/* Packets read from the tun are already in place. */
	if (len > 0 && plain != out->buf + ENGINE_HEADROOM)
		memcpy(out->buf + ENGINE_HEADROOM, plain, len);
	memset(out->buf + ENGINE_HEADROOM + len, 0, plen - len);
	if (wg_data_encrypt(kp, now, out->buf, plen, &pktlen) != WG_OK)
		return (-1);
	out->len = pktlen;
	memcpy(&out->sa, &p->endpoint, p->endpoint_len);
	out->salen = p->endpoint_len;
	ntx++;
	p->tx_bytes += pktlen;
	wg_timers_data_sent(&p->wp, len, now);
	return (0);
}

socklen_t
sockaddr_len(const struct sockaddr_storage *ss)
{
	return (ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
}

/* Same family, address and port. */
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

void
engine_peer_set_candidates(struct engine *e, struct peer *p,
    const struct sockaddr_storage *cand, unsigned int n)
{
	unsigned int	 i;
	int		 same = n == p->ncand, known = 0;

	for (i = 0; same && i < n; i++)
		same = sockaddr_cmp(&cand[i], &p->cand[i]) == 0;
	if (same)
		return;
	if (n > DISCO_ENDPOINTS_MAX)
		n = DISCO_ENDPOINTS_MAX;
	memcpy(p->cand, cand, n * sizeof(*cand));
	p->ncand = n;
	for (i = 0; i < n && p->endpoint_len > 0; i++)
		known |= sockaddr_cmp(&cand[i], &p->endpoint) == 0;
	/*
	 * The peer now announces places where we do not talk to it: it
	 * restarted or moved.  Punch towards them at once instead of
	 * waiting for the session we hold to time out.
	 */
	if (!known) {
		p->confirmed = 0;
		engine_peer_punch(e, p, 1);
	}
}

/*
 * Start a handshake now: both sides do so on learning of each other.
 * Unless forced, a peer with a working session is left alone.
 */
void
engine_peer_punch(struct engine *e, struct peer *p, int force)
{
	uint64_t	 now = engine_now();

	if (!force && wg_peer_send_keypair(&p->wp, now) != NULL)
		return;
	wg_timers_want_handshake(&p->wp, now);
	peer_kick(e, p, now);
	tx_flush(e);
}

static void
send_initiation(struct engine *e, struct peer *p, uint64_t now)
{
	uint8_t		 msg[WG_INITIATION_LEN];
	struct timespec	 wall;
	uint32_t	 idx;

	unsigned int	 i;

	if ((p->endpoint_len == 0 && p->ncand == 0) || !e->has_key)
		return;
	if (index_alloc(e, p, &idx) == -1)
		return;
	clock_gettime(CLOCK_REALTIME, &wall);
	if (wg_create_initiation(&e->local, &p->wp, idx, now, &wall, msg) !=
	    WG_OK) {
		index_release(p, idx);
		return;
	}
	log_debug("peer %s: sending handshake initiation", peer_name(p));
	if (p->endpoint_len > 0) {
		send_now(e, peer_fd(e, p), msg, sizeof(msg),
		    (struct sockaddr *)&p->endpoint, p->endpoint_len);
		p->tx_bytes += sizeof(msg);
	}
	/*
	 * Until one candidate answers, and again when an answer is late,
	 * the same initiation goes to every candidate: the other side
	 * does the same, which opens both NATs (hole punching).  The first
	 * response completes the handshake and its source becomes the
	 * endpoint.
	 */
	if (!p->confirmed || p->wp.timers.handshake_attempts > 1) {
		for (i = 0; i < p->ncand; i++) {
			if (p->endpoint_len > 0 && sockaddr_cmp(&p->cand[i],
			    &p->endpoint) == 0)
				continue;
			send_now(e, p->cand[i].ss_family == AF_INET6 ?
			    e->udp6 : e->udp4, msg, sizeof(msg),
			    (struct sockaddr *)&p->cand[i],
			    sockaddr_len(&p->cand[i]));
		}
	}
	wg_timers_initiation_sent(&p->wp, now);
}

/* Send what waited for a session, or a keepalive if nothing did. */
static void
send_staged(struct engine *e, struct peer *p, uint64_t now, int keepalive)
{
	struct wg_keypair	*kp;
	unsigned int		 i;

	if ((kp = wg_peer_send_keypair(&p->wp, now)) == NULL)
		return;
	for (i = 0; i < p->nstaged; i++)
		encrypt_to_peer(e, p, kp, p->staged[i].buf, p->staged[i].len,
		    now);
	if (p->nstaged == 0 && keepalive)
		encrypt_to_peer(e, p, kp, NULL, 0, now);
	p->nstaged = 0;
	tx_flush(e);
}

/* ---- timers --------------------------------------------------------- */

static void
timer_arm(struct engine *e, uint64_t at, uint64_t now)
{
	struct timeval	 tv;
	uint64_t	 d;

	if (at == WG_DEADLINE_NONE || at >= e->timer_at)
		return;
	d = at > now ? at - now : 0;
	tv.tv_sec = d / WG_NSEC_PER_SEC;
	tv.tv_usec = (d % WG_NSEC_PER_SEC) / 1000;
	evtimer_add(&e->ev_timer, &tv);
	e->timer_at = at;
}

static void
peer_actions(struct engine *e, struct peer *p, unsigned int acts,
    uint64_t now)
{
	if (acts & WG_ACT_DROP_QUEUED)
		p->nstaged = 0;
	if (acts & WG_ACT_SEND_INITIATION)
		send_initiation(e, p, now);
	if (acts & WG_ACT_SEND_KEEPALIVE)
		send_staged(e, p, now, 1);
	if (acts & WG_ACT_KEYS_ZEROED)
		log_debug("peer %s: session keys erased", peer_name(p));
}

/* Run p's due timers and make sure the engine wakes for its next one. */
static void
peer_kick(struct engine *e, struct peer *p, uint64_t now)
{
	unsigned int	 acts;

	acts = wg_timers_tick(&p->wp, now, &p->deadline);
	if (acts != 0)
		peer_actions(e, p, acts, now);
	timer_arm(e, p->deadline, now);
}

static void
engine_timer_cb(int fd, short event, void *arg)
{
	struct engine	*e = arg;
	struct peer	*p;
	uint64_t	 now = engine_now(), next = WG_DEADLINE_NONE;
	unsigned int	 acts;

	e->timer_at = WG_DEADLINE_NONE;
	RB_FOREACH(p, peer_tree, &e->peers) {
		if (p->deadline > now)
			goto next;
		acts = wg_timers_tick(&p->wp, now, &p->deadline);
		if (acts != 0)
			peer_actions(e, p, acts, now);
next:
		if (p->deadline < next)
			next = p->deadline;
	}
	tx_flush(e);
	timer_arm(e, next, now);
}

/* ---- tun -> UDP ----------------------------------------------------- */

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

static void
stage(struct peer *p, const uint8_t *pkt, size_t len)
{
	unsigned int	 i;

	if (p->nstaged == PEER_STAGED_MAX) {
		/* Keep the newest: drop the oldest. */
		for (i = 1; i < PEER_STAGED_MAX; i++) {
			uint8_t		*b = p->staged[i - 1].buf;

			p->staged[i - 1] = p->staged[i];
			p->staged[i].buf = b;
		}
		p->nstaged--;
		env->eng.drops[DROP_NO_KEYPAIR]++;
	}
	memcpy(p->staged[p->nstaged].buf, pkt, len);
	p->staged[p->nstaged].len = len;
	p->nstaged++;
}

static void
engine_tun_cb(int fd, short event, void *arg)
{
	struct engine		*e = arg;
	struct wg_keypair	*kp;
	struct peer		*p;
	const uint8_t		*dst;
	uint64_t		 now = engine_now();
	unsigned int		 i;
	ssize_t			 n;
	int			 af;

	for (i = 0; i < ENGINE_BATCH; i++) {
		/* Read straight into the next send slot: no copy. */
		uint8_t	*pkt = tx_slot(e)->buf + ENGINE_HEADROOM;

		if ((n = read(e->tun, pkt, ENGINE_PKT_MAX - ENGINE_HEADROOM -
		    WG_DATA_PAD - WG_TAG_LEN)) <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				log_warn("%s: read", __func__);
			break;
		}
		if (inner_dst(pkt, n, &af, &dst) == -1) {
			drop(e, DROP_INNER);
			continue;
		}
		if ((p = wg_aip_lookup(&e->aip, af, dst)) == NULL) {
			drop(e, DROP_NO_ROUTE);
			continue;
		}
		if ((kp = wg_peer_send_keypair(&p->wp, now)) == NULL) {
			stage(p, pkt, n);
			wg_timers_want_handshake(&p->wp, now);
			peer_kick(e, p, now);
			continue;
		}
		encrypt_to_peer(e, p, kp, pkt, n, now);
		peer_kick(e, p, now);
	}
	tx_flush(e);
}

/* ---- UDP -> tun ----------------------------------------------------- */

/* Address bytes then port bytes: what the cookie is bound to. */
static size_t
cookie_src(const struct sockaddr_storage *ss, uint8_t *out)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		memcpy(out, &sin->sin_addr, 4);
		memcpy(out + 4, &sin->sin_port, 2);
		return (6);
	}
	memcpy(out, &sin6->sin6_addr, 16);
	memcpy(out + 16, &sin6->sin6_port, 2);
	return (18);
}

static int
under_load(struct engine *e, uint64_t now)
{
	if (now - e->hs_window >= WG_NSEC_PER_SEC) {
		e->hs_window = now;
		e->hs_count = 0;
	}
	if (++e->hs_count > UNDER_LOAD_HANDSHAKES)
		e->under_load_until = now + UNDER_LOAD_HOLD_NS;
	return (now < e->under_load_until);
}

static void
handle_handshake(struct engine *e, struct pkt *in, int type, uint64_t now)
{
	uint8_t			 reply[WG_COOKIE_REPLY_LEN];
	uint8_t			 resp[WG_RESPONSE_LEN];
	uint8_t			 src[WG_COOKIE_SRC_MAX];
	struct wg_peer		*wp;
	struct peer		*p;
	size_t			 srclen;
	uint32_t		 idx;
	int			 loaded;
	int			 fd = in->sa.ss_family == AF_INET6 ? e->udp6 :
				    e->udp4;

	if (!e->has_key)
		return;
	srclen = cookie_src(&in->sa, src);
	loaded = under_load(e, now);
	switch (wg_cookie_check(&e->local, in->buf, in->len, src, srclen,
	    loaded, now, reply)) {
	case WG_VERDICT_DROP:
		drop(e, DROP_MAC1);
		return;
	case WG_VERDICT_COOKIE:
		/* Under load each source gets a few replies a second. */
		if (!ratelimit_allow(&e->ratelimit, src, srclen - 2, now)) {
			drop(e, DROP_RATELIMIT);
			return;
		}
		e->cookies_sent++;
		send_now(e, fd, reply, sizeof(reply),
		    (struct sockaddr *)&in->sa, in->salen);
		return;
	case WG_VERDICT_PROCESS:
		if (loaded && !ratelimit_allow(&e->ratelimit, src,
		    srclen - 2, now)) {
			drop(e, DROP_RATELIMIT);
			return;
		}
		break;
	}

	if (type == WG_MSG_INITIATION) {
		if (wg_consume_initiation(&e->local, in->buf, in->len, now,
		    lookup_by_pub, e, &wp) != WG_OK) {
			drop(e, DROP_HANDSHAKE);
			return;
		}
		p = peer_of(wp);
		peer_roam(p, (struct sockaddr *)&in->sa, in->salen);
		p->rx_bytes += in->len;
		wg_timers_initiation_received(&p->wp, now);
		if (index_alloc(e, p, &idx) == -1)
			return;
		if (wg_create_response(&e->local, &p->wp, idx, now, resp) !=
		    WG_OK) {
			index_release(p, idx);
			return;
		}
		log_debug("peer %s: answered handshake initiation",
		    peer_name(p));
		send_now(e, fd, resp, sizeof(resp),
		    (struct sockaddr *)&in->sa, in->salen);
		p->tx_bytes += sizeof(resp);
		clock_gettime(CLOCK_REALTIME, &p->last_handshake);
		wg_timers_response_sent(&p->wp, now);
		peer_kick(e, p, now);
		return;
	}

	/* A response: for the peer whose initiation it answers. */
	if ((p = index_lookup(e, wg_msg_receiver_index(in->buf,
	    in->len))) == NULL) {
		drop(e, DROP_UNKNOWN_INDEX);
		return;
	}
	if (wg_consume_response(&e->local, &p->wp, in->buf, in->len, now) !=
	    WG_OK) {
		drop(e, DROP_HANDSHAKE);
		return;
	}
	log_debug("peer %s: handshake complete", peer_name(p));
	peer_roam(p, (struct sockaddr *)&in->sa, in->salen);
	p->rx_bytes += in->len;
	clock_gettime(CLOCK_REALTIME, &p->last_handshake);
	wg_timers_response_received(&p->wp, now);
	send_staged(e, p, now, 1);
	peer_kick(e, p, now);
}

static void
handle_cookie(struct engine *e, struct pkt *in, uint64_t now)
{
	struct peer	*p;

	if ((p = index_lookup(e, wg_msg_receiver_index(in->buf,
	    in->len))) == NULL) {
		drop(e, DROP_UNKNOWN_INDEX);
		return;
	}
	if (wg_consume_cookie_reply(&p->wp, in->buf, in->len, now) != WG_OK)
		drop(e, DROP_HANDSHAKE);
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
handle_data(struct engine *e, struct pkt *in, uint64_t now)
{
	struct wg_keypair	*kp;
	struct peer		*p;
	const uint8_t		*src, *plain;
	uint64_t		 counter;
	size_t			 plen, len;
	int			 af, rc;

	if ((p = index_lookup(e, wg_msg_receiver_index(in->buf,
	    in->len))) == NULL ||
	    (kp = wg_peer_keypair_by_index(&p->wp, wg_msg_receiver_index(
	    in->buf, in->len))) == NULL) {
		drop(e, DROP_UNKNOWN_INDEX);
		return;
	}
	rc = wg_data_decrypt(kp, now, in->buf, in->len, &plen, &counter);
	if (rc != WG_OK) {
		drop(e, rc == WG_EREPLAY ? DROP_REPLAY : DROP_DECRYPT);
		return;
	}
	if (wg_peer_data_accept(&p->wp, kp, counter, plen, now) != WG_OK) {
		drop(e, DROP_REPLAY);
		return;
	}
	/* Authenticated: the peer is wherever this came from (roaming). */
	peer_roam(p, (struct sockaddr *)&in->sa, in->salen);
	p->rx_bytes += in->len;
	if (plen > 0) {
		plain = in->buf + WG_DATA_HEADER_LEN;
		if (inner_check(plain, plen, &len, &af, &src) == -1) {
			drop(e, DROP_INNER);
		} else if (wg_aip_lookup(&e->aip, af, src) != p) {
			drop(e, DROP_ALLOWED_IPS);
		} else if (write(e->tun, plain, len) == -1) {
			drop(e, DROP_SEND);
		}
	}
	peer_kick(e, p, now);
}

static void
engine_udp_cb(int fd, short event, void *arg)
{
	struct engine	*e = arg;
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
		struct pkt	*in = &rx[i];

		in->len = msgs[i].msg_len;
		in->salen = msgs[i].msg_hdr.msg_namelen;
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			drop(e, DROP_SHORT);
			continue;
		}
		if (stun_is_stun(in->buf, in->len)) {
			e->stun_seen++;
			if (e->stun_cb != NULL)
				e->stun_cb(in->buf, in->len,
				    (struct sockaddr *)&in->sa, in->salen);
			continue;
		}
		switch (type = wg_msg_type(in->buf, in->len)) {
		case WG_MSG_INITIATION:
		case WG_MSG_RESPONSE:
			handle_handshake(e, in, type, now);
			break;
		case WG_MSG_COOKIE:
			handle_cookie(e, in, now);
			break;
		case WG_MSG_DATA:
			handle_data(e, in, now);
			break;
		default:
			drop(e, DROP_SHORT);
			break;
		}
	}
	tx_flush(e);
}

/* ---- set-up --------------------------------------------------------- */

static int
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
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		goto fail;
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

static void
udp_close(struct engine *e)
{
	if (e->udp4 != -1) {
		event_del(&e->ev_udp4);
		close(e->udp4);
		e->udp4 = -1;
	}
	if (e->udp6 != -1) {
		event_del(&e->ev_udp6);
		close(e->udp6);
		e->udp6 = -1;
	}
}

/* Bind the UDP port (0: any free one) for IPv4 and, if possible, IPv6. */
int
engine_set_port(struct engine *e, uint16_t port)
{
	int		 fd4, fd6;
	uint16_t	 bound;

	if ((fd4 = udp_bind(AF_INET, port, &bound)) == -1) {
		log_warn("%s: UDP port %u", __func__, port);
		return (-1);
	}
	/* A host without IPv6 still works over IPv4. */
	if ((fd6 = udp_bind(AF_INET6, bound, &bound)) == -1)
		log_debug("%s: no IPv6 socket: %s", __func__,
		    strerror(errno));
	udp_close(e);
	e->udp4 = fd4;
	e->udp6 = fd6;
	e->port = bound;
	if (e->fwmark != 0)
		engine_set_fwmark(e, e->fwmark);
	event_set(&e->ev_udp4, e->udp4, EV_READ | EV_PERSIST, engine_udp_cb,
	    e);
	event_add(&e->ev_udp4, NULL);
	if (e->udp6 != -1) {
		event_set(&e->ev_udp6, e->udp6, EV_READ | EV_PERSIST,
		    engine_udp_cb, e);
		event_add(&e->ev_udp6, NULL);
	}
	log_info("listening on UDP port %u", e->port);
	return (0);
}

/* SO_MARK on both sockets, as wg(8)'s fwmark asks. */
void
engine_set_fwmark(struct engine *e, uint32_t mark)
{
	e->fwmark = mark;
	if (e->udp4 != -1 && setsockopt(e->udp4, SOL_SOCKET, SO_MARK, &mark,
	    sizeof(mark)) == -1)
		log_warn("%s: SO_MARK", __func__);
	if (e->udp6 != -1 && setsockopt(e->udp6, SOL_SOCKET, SO_MARK, &mark,
	    sizeof(mark)) == -1)
		log_warn("%s: SO_MARK", __func__);
}

/* A new private key: every peer's precomputed secrets change with it. */
int
engine_set_private_key(struct engine *e, const uint8_t *priv)
{
	static const uint8_t	 zero[WG_KEY_LEN];
	struct peer		*p;
	uint8_t			 pub[WG_KEY_LEN], psk[WG_KEY_LEN];

	if (e->has_key && sodium_memcmp(priv, e->local.priv,
	    WG_KEY_LEN) == 0)
		return (0);
	wg_local_clear(&e->local);
	e->has_key = 0;
	if (priv == NULL || sodium_memcmp(priv, zero, WG_KEY_LEN) == 0)
		goto peers;
	if (wg_local_init(&e->local, e->crypto, priv) != WG_OK)
		return (-1);
	e->has_key = 1;
peers:
	RB_FOREACH(p, peer_tree, &e->peers) {
		memcpy(pub, p->wp.pub, WG_KEY_LEN);
		memcpy(psk, p->wp.psk, WG_KEY_LEN);
		wg_peer_clear(&p->wp);
		wg_peer_init(&p->wp, &e->local, pub, psk);
		p->wp.index_release = index_release;
		p->wp.arg = p;
		wg_timers_set_persistent_keepalive(&p->wp, p->keepalive,
		    engine_now());
	}
	sodium_memzero(psk, sizeof(psk));
	return (0);
}

int
engine_init(struct engine *e, const struct cbp2p_config *conf, char *err,
    size_t errlen)
{
	const struct token	*t = &conf->tok;
	uint8_t			 hashkey[16];

	e->tun = e->udp4 = e->udp6 = -1;
	e->timer_at = WG_DEADLINE_NONE;
	e->mtu = t->mtu;
	engine_set_max_peers(e, t);
	RB_INIT(&e->peers);
	RB_INIT(&e->indices);
	randombytes_buf(hashkey, sizeof(hashkey));
	ratelimit_init(&e->ratelimit, HANDSHAKE_RATE, HANDSHAKE_BURST,
	    hashkey);
	wg_aip_init(&e->aip, AIP_NODES_MAX);
	evtimer_set(&e->ev_timer, engine_timer_cb, e);

	if ((e->crypto = wg_crypto_new()) == NULL) {
		snprintf(err, errlen, "crypto initialisation failed");
		return (-1);
	}
	if (engine_set_private_key(e, t->private_key) == -1) {
		snprintf(err, errlen, "private key unusable");
		return (-1);
	}
	if ((e->tun = tun_open(conf->ifname, &e->ifindex)) == -1) {
		snprintf(err, errlen, "cannot open tun %s", conf->ifname);
		return (-1);
	}
	if (tun_set_mtu_up(e->ifindex, e->mtu) == -1 ||
	    tun_set_address(e->ifindex, &t->address) == -1) {
		snprintf(err, errlen, "cannot configure %s", conf->ifname);
		return (-1);
	}
	if (engine_set_port(e, t->listen_port) == -1) {
		snprintf(err, errlen, "cannot bind UDP port %u",
		    t->listen_port);
		return (-1);
	}
	event_set(&e->ev_tun, e->tun, EV_READ | EV_PERSIST, engine_tun_cb, e);
	event_add(&e->ev_tun, NULL);
	if (engine_sync_static(e, t, err, errlen) == -1)
		return (-1);
	return (0);
}

void
engine_shutdown(struct engine *e)
{
	struct peer	*p, *tmp;

	RB_FOREACH_SAFE(p, peer_tree, &e->peers, tmp)
		engine_peer_remove(e, p);
	udp_close(e);
	if (e->tun != -1) {
		event_del(&e->ev_tun);
		close(e->tun);
		e->tun = -1;
	}
	event_del(&e->ev_timer);
	wg_aip_clear(&e->aip);
	wg_local_clear(&e->local);
	e->has_key = 0;
	if (e->crypto != NULL) {
		wg_crypto_free(e->crypto);
		e->crypto = NULL;
	}
}
