/*
 * The WireGuard core (lib/wg_*.c) through both ends of a handshake and
 * of transport: two nodes, each the other's peer, and a network that
 * keeps every message sent so the input can deliver any of them, again
 * (a replay), with a byte flipped (a forgery), or not at all; raw bytes
 * from the input go in too, with mac1 made right when asked so the
 * handshake code behind it is reached.  Each node receives as cbp2pd's
 * engine and parent do together (type dispatch, mac1 and the cookie
 * under load, the index table, consume, respond, decrypt, accept) and
 * runs its timers on a clock the input moves.  After every step:
 *
 *  - a message taken once is never taken again (replay refused);
 *  - a flipped message is taken only where the flip is outside what
 *    authenticates it (mac2, or a cookie reply's receiver index), a
 *    data packet never; raw bytes never authenticate;
 *  - both ends agree on keys: any keypair of one whose indices match a
 *    keypair of the other holds the other's keys crosswise, and data
 *    that decrypts is the data that was sent;
 *  - the index table is exact: the indices a node has handed out and
 *    not had released are those of its handshake and its keypairs.
 *
 * Input: a setup byte (preshared keys: none, equal, different), then
 * operations of a byte each and their arguments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wg.h"
#include "fuzz.h"

#define NODES		2
#define MSGS_MAX	32
#define OPS_MAX		96
#define PAYLOAD_MAX	64
#define BUF_MAX		(WG_INITIATION_LEN + WG_DATA_PAD)
#define LIVE_MAX	16
#define SRC_LEN		6	/* IPv4 address and port */
#define WALL_BASE	1700000000
#define START_NS	WG_NSEC_PER_SEC
#define INDEX_STEP	2	/* node 0 odd indices, node 1 even */
#define MAC2_OFF(len)	((len) - WG_MAC_LEN)
#define COOKIE_RX_OFF	4
#define COOKIE_RX_END	8

enum op {
	OP_INITIATE,
	OP_DELIVER,
	OP_SEND,
	OP_TICK,
	OP_RAW,
	OP_LOAD,
	OP_KEEPALIVE,
	OP_MAX
};

enum psk_mode {
	PSK_NONE,
	PSK_SAME,
	PSK_DIFFERENT,
	PSK_MODES
};

struct msg {
	uint64_t	 seq;		/* which message the slot holds */
	int		 from;
	uint8_t		 buf[BUF_MAX];
	size_t		 len;
	int		 type;
	int		 taken;		/* accepted once already */
	uint8_t		 plain[PAYLOAD_MAX];
	size_t		 plen;		/* data: what was sent */
};

struct node {
	int		 id;
	struct wg_local	 local;
	struct wg_peer	 peer;
	uint32_t	 next_index;
	uint32_t	 live[LIVE_MAX];
	size_t		 nlive;
	int		 under_load;
	uint64_t	 rng;
};

static struct wg_crypto	*crypto;
static struct node	 pristine[NODES][PSK_MODES];
static struct node	 nodes[NODES];
static struct msg	 net[MSGS_MAX];
static size_t		 nmsgs, msg_next;
static uint64_t		 msg_seq;
static uint64_t		 now;
static const uint8_t	 src_addr[NODES][SRC_LEN] = {
	{ 192, 0, 2, 1, 0xca, 0x6c },
	{ 192, 0, 2, 2, 0xca, 0x6d }
};

/* Deterministic randomness, so an input replays the same way. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

static void
node_random(void *arg, void *buf, size_t len)
{
	struct node	*n = arg;
	uint8_t		*b = buf;
	size_t		 i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)rng_next(&n->rng);
}

static uint32_t
node_uniform(void *arg, uint32_t upper)
{
	struct node	*n = arg;

	return ((uint32_t)(rng_next(&n->rng) % upper));
}

static void
node_release(void *arg, uint32_t index)
{
	struct node	*n = arg;
	size_t		 i;

	for (i = 0; i < n->nlive; i++)
		if (n->live[i] == index) {
			n->live[i] = n->live[--n->nlive];
			return;
		}
	/* Released twice, or never handed out. */
	FZ_CHECK(0);
}

static uint32_t
node_index(struct node *n)
{
	uint32_t	 i = n->next_index;

	n->next_index += INDEX_STEP;
	FZ_CHECK(n->nlive < LIVE_MAX);
	n->live[n->nlive++] = i;
	return (i);
}

static int
node_owns(const struct node *n, uint32_t index)
{
	size_t	 i;

	for (i = 0; i < n->nlive; i++)
		if (n->live[i] == index)
			return (1);
	return (0);
}

static struct wg_peer *
node_lookup(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct node	*n = arg;

	return (memcmp(pub, n->peer.pub, WG_KEY_LEN) == 0 ? &n->peer : NULL);
}

static void
setup(void)
{
	uint8_t		 priv[NODES][WG_KEY_LEN], psk[NODES][WG_KEY_LEN];
	struct node	*n;
	int		 i, m;

	if ((crypto = wg_crypto_new()) == NULL)
		abort();
	for (i = 0; i < NODES; i++) {
		memset(priv[i], 0x41 + i, WG_KEY_LEN);
		memset(psk[i], 0x61 + i, WG_KEY_LEN);
	}
	for (m = 0; m < PSK_MODES; m++) {
		for (i = 0; i < NODES; i++) {
			n = &pristine[i][m];
			if (wg_local_init(&n->local, crypto, priv[i]) != WG_OK)
				abort();
		}
		for (i = 0; i < NODES; i++) {
			n = &pristine[i][m];
			if (wg_peer_init(&n->peer, &n->local,
			    pristine[1 - i][m].local.pub, m == PSK_NONE ? NULL :
			    m == PSK_SAME ? psk[0] : psk[i]) != WG_OK)
				abort();
		}
	}
}

static void
node_reset(int i, enum psk_mode m, uint64_t seed)
{
	struct node	*n = &nodes[i];

	*n = pristine[i][m];
	n->id = i;
	n->rng = seed | 1;
	n->next_index = (uint32_t)(i == 0 ? 1 : INDEX_STEP);
	n->local.random = node_random;
	n->local.random_arg = n;
	n->peer.index_release = node_release;
	n->peer.arg = n;
	n->peer.timers.rand_uniform = node_uniform;
	n->peer.timers.rand_arg = n;
}

static struct msg *
net_put(int from, const uint8_t *buf, size_t len)
{
	struct msg	*m = &net[msg_next];

	msg_next = (msg_next + 1) % MSGS_MAX;
	if (nmsgs < MSGS_MAX)
		nmsgs++;
	memset(m, 0, sizeof(*m));
	m->seq = ++msg_seq;
	m->from = from;
	memcpy(m->buf, buf, len);
	m->len = len;
	m->type = wg_msg_type(buf, len);
	return (m);
}

static void
initiate(struct node *n)
{
	uint8_t		 out[WG_INITIATION_LEN];
	struct timespec	 wall;
	uint32_t	 idx;

	wall.tv_sec = WALL_BASE + (time_t)(now / WG_NSEC_PER_SEC);
	wall.tv_nsec = (long)(now % WG_NSEC_PER_SEC);
	idx = node_index(n);
	if (wg_create_initiation(&n->local, &n->peer, idx, now, &wall,
	    out) != WG_OK) {
		node_release(n, idx);
		return;
	}
	net_put(n->id, out, sizeof(out));
	wg_timers_initiation_sent(&n->peer, now);
}

/* Data (empty: a keepalive) if there is a keypair to send with. */
static void
send_data(struct node *n, const uint8_t *p, size_t len)
{
	uint8_t			 buf[BUF_MAX];
	struct wg_keypair	*kp;
	struct msg		*m;
	size_t			 plen, pktlen;

	if ((kp = wg_peer_send_keypair(&n->peer, now)) == NULL) {
		wg_timers_want_handshake(&n->peer, now);
		return;
	}
	plen = wg_data_padded_len(len, 0);
	memset(buf, 0, sizeof(buf));
	if (len > 0)
		memcpy(buf + WG_DATA_HEADER_LEN, p, len);
	if (wg_data_encrypt(kp, now, buf, plen, &pktlen) != WG_OK)
		return;
	FZ_CHECK(pktlen == WG_DATA_HEADER_LEN + plen + WG_TAG_LEN);
	m = net_put(n->id, buf, pktlen);
	if (len > 0)
		memcpy(m->plain, p, len);
	m->plen = len;
	wg_timers_data_sent(&n->peer, len, now);
}

/* The receive path; 1 when the message was taken. */
static int
receive(struct node *n, const uint8_t *in, size_t len, const uint8_t *want,
    size_t wantlen)
{
	uint8_t			 buf[BUF_MAX];
	uint8_t			 reply[WG_COOKIE_REPLY_LEN];
	uint8_t			 out[WG_RESPONSE_LEN];
	struct wg_keypair	*kp;
	struct wg_peer		*p;
	uint64_t		 ctr;
	uint32_t		 idx;
	size_t			 plen;
	int			 type;

	if (len > sizeof(buf))
		return (0);
	memcpy(buf, in, len);
	switch ((type = wg_msg_type(buf, len))) {
	case WG_MSG_INITIATION:
	case WG_MSG_RESPONSE:
		switch (wg_cookie_check(&n->local, buf, len,
		    src_addr[1 - n->id], SRC_LEN, n->under_load, now, reply)) {
		case WG_VERDICT_DROP:
			return (0);
		case WG_VERDICT_COOKIE:
			net_put(n->id, reply, sizeof(reply));
			return (0);
		case WG_VERDICT_PROCESS:
			break;
		}
		if (type == WG_MSG_RESPONSE) {
			idx = wg_msg_receiver_index(buf, len);
			if (n->peer.hs.state != WG_HS_CREATED_INITIATION ||
			    n->peer.hs.local_index != idx)
				return (0);
			if (wg_consume_response(&n->local, &n->peer, buf, len,
			    now) != WG_OK)
				return (0);
			wg_timers_response_received(&n->peer, now);
			return (1);
		}
		if (wg_consume_initiation(&n->local, buf, len, now,
		    node_lookup, n, &p) != WG_OK)
			return (0);
		FZ_CHECK(p == &n->peer);
		wg_timers_initiation_received(p, now);
		idx = node_index(n);
		if (wg_create_response(&n->local, p, idx, now, out) != WG_OK) {
			node_release(n, idx);
			return (1);
		}
		net_put(n->id, out, sizeof(out));
		wg_timers_response_sent(p, now);
		return (1);
	case WG_MSG_COOKIE:
		if (!node_owns(n, wg_msg_receiver_index(buf, len)))
			return (0);
		return (wg_consume_cookie_reply(&n->peer, buf, len, now) ==
		    WG_OK);
	case WG_MSG_DATA:
		idx = wg_msg_receiver_index(buf, len);
		if ((kp = wg_peer_keypair_by_index(&n->peer, idx)) == NULL)
			return (0);
		if (wg_data_decrypt(kp, now, buf, len, &plen, &ctr) != WG_OK)
			return (0);
		/* What was sent, padded with zeros. */
		FZ_CHECK(want != NULL);
		FZ_CHECK(plen == wg_data_padded_len(wantlen, 0));
		FZ_CHECK(memcmp(buf + WG_DATA_HEADER_LEN, want, wantlen) == 0);
		if (wg_peer_data_accept(&n->peer, kp, ctr, plen, now) != WG_OK)
			return (0);
		return (1);
	default:
		return (0);
	}
}

static void
tick(struct node *n)
{
	uint64_t	 next;
	unsigned int	 act;

	act = wg_timers_tick(&n->peer, now, &next);
	FZ_CHECK(next == WG_DEADLINE_NONE || next > now);
	if (act & WG_ACT_SEND_INITIATION)
		initiate(n);
	if (act & WG_ACT_SEND_KEEPALIVE)
		send_data(n, NULL, 0);
}

static void
check_pair(const struct wg_keypair *a, const struct wg_keypair *b)
{
	if (a == NULL || b == NULL || !a->valid || !b->valid ||
	    a->remote_index != b->local_index ||
	    b->remote_index != a->local_index)
		return;
	FZ_CHECK(memcmp(a->send_key, b->recv_key, WG_KEY_LEN) == 0);
	FZ_CHECK(memcmp(a->recv_key, b->send_key, WG_KEY_LEN) == 0);
	FZ_CHECK(a->initiator != b->initiator);
}

static void
check_index_table(const struct node *n)
{
	const struct wg_peer	*p = &n->peer;
	const struct wg_keypair	*kps[] = { p->current, p->previous,
				    p->next };
	size_t			 i, held = 0;

	for (i = 0; i < nitems(kps); i++) {
		if (kps[i] == NULL)
			continue;
		FZ_CHECK(kps[i]->valid);
		FZ_CHECK(node_owns(n, kps[i]->local_index));
		held++;
	}
	if (p->hs.state == WG_HS_CREATED_INITIATION) {
		FZ_CHECK(node_owns(n, p->hs.local_index));
		held++;
	}
	FZ_CHECK(n->nlive == held);
}

static void
check_state(void)
{
	const struct wg_peer	*a = &nodes[0].peer, *b = &nodes[1].peer;
	const struct wg_keypair	*ka[] = { a->current, a->previous,
				    a->next };
	const struct wg_keypair	*kb[] = { b->current, b->previous,
				    b->next };
	size_t			 i, j;

	for (i = 0; i < nitems(ka); i++)
		for (j = 0; j < nitems(kb); j++)
			check_pair(ka[i], kb[j]);
	check_index_table(&nodes[0]);
	check_index_table(&nodes[1]);
}

/* Where a flip leaves a message authentic: mac2, a cookie's index. */
static int
flip_harmless(const struct msg *m, size_t pos)
{
	switch (m->type) {
	case WG_MSG_INITIATION:
	case WG_MSG_RESPONSE:
		return (pos >= MAC2_OFF(m->len));
	case WG_MSG_COOKIE:
		return (pos >= COOKIE_RX_OFF && pos < COOKIE_RX_END);
	default:
		return (0);
	}
}

static void
deliver(struct fz *f)
{
	struct msg	*m, orig;
	uint8_t		 buf[BUF_MAX], mask;
	size_t		 pos = 0;
	int		 taken, flip;

	if (nmsgs == 0)
		return;
	m = &net[fz_u8(f) % nmsgs];
	/* Receiving may send, and a new message may take over the slot. */
	orig = *m;
	memcpy(buf, orig.buf, orig.len);
	if ((flip = (fz_u8(f) & 1) != 0)) {
		pos = fz_u16(f) % orig.len;
		mask = fz_u8(f);
		buf[pos] ^= mask != 0 ? mask : 1;
	}
	taken = receive(&nodes[1 - orig.from], buf, orig.len,
	    orig.type == WG_MSG_DATA ? orig.plain : NULL, orig.plen);
	if (!taken)
		return;
	FZ_CHECK(!orig.taken);		/* a replay was refused */
	if (flip)
		FZ_CHECK(flip_harmless(&orig, pos));
	if (m->seq == orig.seq)
		m->taken = 1;
}

/* Bytes off the network, mac1 made right for the receiver if asked. */
static void
raw(struct fz *f)
{
	struct node	*n;
	uint8_t		 buf[BUF_MAX], how;
	size_t		 len, off1;

	how = fz_u8(f);
	n = &nodes[how & 1];
	len = fz_copy(f, buf, fz_u8(f) % (sizeof(buf) + 1));
	if ((how & 2) && (len == WG_INITIATION_LEN ||
	    len == WG_RESPONSE_LEN)) {
		buf[0] = len == WG_INITIATION_LEN ? WG_MSG_INITIATION :
		    WG_MSG_RESPONSE;
		memset(buf + 1, 0, 3);
		off1 = len - 2 * WG_MAC_LEN;
		/* Anyone can: mac1 keys on the receiver's public key. */
		FZ_CHECK(wg_mac(crypto, buf + off1, n->local.mac1_key,
		    WG_HASH_LEN, buf, off1) == WG_OK);
		FZ_CHECK(wg_cookie_mac1_ok(&n->local, buf, len));
	}
	FZ_CHECK(!receive(n, buf, len, NULL, 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	 f;
	struct node	*n;
	uint8_t		 payload[PAYLOAD_MAX], b;
	uint64_t	 seed;
	size_t		 ops, len;
	enum psk_mode	 psk;

	if (crypto == NULL)
		setup();
	fz_init(&f, data, size);
	b = fz_u8(&f);
	psk = (enum psk_mode)(b % PSK_MODES);
	seed = fz_u32(&f);
	node_reset(0, psk, seed);
	node_reset(1, psk, seed ^ FZ_GOLDEN);
	memset(net, 0, sizeof(net));
	nmsgs = msg_next = 0;
	now = START_NS;

	for (ops = 0; ops < OPS_MAX && f.left > 0; ops++) {
		b = fz_u8(&f);
		n = &nodes[b >> 7];
		switch ((b & 0x7f) % OP_MAX) {
		case OP_INITIATE:
			initiate(n);
			break;
		case OP_DELIVER:
			deliver(&f);
			break;
		case OP_SEND:
			len = fz_copy(&f, payload, fz_u8(&f) % PAYLOAD_MAX);
			send_data(n, payload, len);
			break;
		case OP_TICK:
			/* Milliseconds, or seconds past protocol times. */
			b = fz_u8(&f);
			now += (uint64_t)fz_u8(&f) * ((b & 1) ?
			    WG_NSEC_PER_SEC : WG_NSEC_PER_MSEC);
			tick(&nodes[0]);
			tick(&nodes[1]);
			break;
		case OP_RAW:
			raw(&f);
			break;
		case OP_LOAD:
			n->under_load = !n->under_load;
			break;
		default:
			wg_timers_set_persistent_keepalive(&n->peer,
			    fz_u8(&f) % 30, now);
			break;
		}
		check_state();
	}
	wg_peer_clear(&nodes[0].peer);
	wg_peer_clear(&nodes[1].peer);
	return (0);
}
