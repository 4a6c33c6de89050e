/*
 * The engine: cbp2pd's data plane, re-executed as its own process
 * ("cbp2pd -E") and sandboxed like the children.  It holds the tun and
 * UDP descriptors the parent opened and the session keys the parent
 * derived, never the static private key.  Private to the engine's
 * files: engine.c (role, messages from the parent), peer.c (peers and
 * the index table), send.c, receive.c, socket.c and timers.c.
 */
#ifndef CBP2PD_ENGINE_H
#define CBP2PD_ENGINE_H

#include "cbp2pd.h"
#include "offload.h"

#define ENGINE_HEADROOM		WG_DATA_HEADER_LEN
#define ENGINE_PKT_MAX		(CFG_MTU_MAX + WG_DATA_HEADER_LEN + \
				 WG_DATA_PAD + WG_TAG_LEN)
#define ENGINE_TUN_READ_MAX	(ENGINE_PKT_MAX - ENGINE_HEADROOM - \
				 WG_DATA_PAD - WG_TAG_LEN)
#define PEER_STAGED_MAX		16	/* packets held while handshaking */
#define PEER_INDEX_POOL		(WG_KEYPAIR_SLOTS + 2)
#define UNDER_LOAD_HANDSHAKES	128	/* per second before cookies */
#define UNDER_LOAD_HOLD_NS	WG_NSEC_PER_SEC
#define HANDSHAKE_RATE		20	/* per source per second, under load */
#define HANDSHAKE_BURST		5
#define AIP_NODES_MAX		(1 << 20)
#define HS_INFLIGHT_MAX		256	/* handshakes the parent has not answered */
#define ENGINE_TX_SLOTS		64	/* send slots: a TSO super-packet's segments */
#define TUNQ_MAX		2048	/* inner packets of a burst, to coalesce */
#define GRO_RUN_MAX		64	/* segments in one tun super-packet */
#define GRO_SCAN		128	/* how far ahead a flow's next is sought */

/*
 * Path probes (probe.c): a ping or a pong inside the peer's WireGuard
 * session, so only the peer can answer, sent over one path and answered
 * over the path it came by.  Its first byte is no IP version (4 or 6),
 * so a WireGuard that is not cbp2p drops it as it drops any non-IP
 * packet.  Only hybrid peers, which cbp2p's relay carries, get path
 * probes; every peer answers pings, for cbp2pctl ping (PROBE_CTL).
 */
#define PROBE_LEN		16	/* type, path, pad, seq, our send time */
#define PROBE_PING		0x10
#define PROBE_PONG		0x11
#define PROBE_OFF_SEQ		4
#define PROBE_OFF_TIME		8
#define PROBE_TICK_MS		1000	/* the probe timer, while hybrids exist */
#define PROBE_RING		16	/* recent probes, for loss */
/* An answer later than this counts the probe lost. */
#define PROBE_ANSWER_NS		WG_NSEC_PER_SEC
/*
 * A direct probe unanswered this long puts the path in doubt: packets
 * go over the relay too until an answer comes or cbmeshd moves the
 * peer.  Copies cost bandwidth only; late ones cost packets.
 */
#define PROBE_DOUBT_NS		(WG_NSEC_PER_SEC / 2)
/* Inner traffic this recent makes a peer active: probed every tick. */
#define PROBE_ACTIVE_NS		(10 * WG_NSEC_PER_SEC)
/* An idle peer's working direct path is probed this seldom. */
#define PROBE_IDLE_NS		(15 * WG_NSEC_PER_SEC)
/* The relay is probed this often while traffic flows. */
#define PROBE_RELAY_NS		(5 * WG_NSEC_PER_SEC)
/* A relayed peer's direct candidates are retried on this backoff. */
#define DIRECT_RETRY_MIN_NS	WG_NSEC_PER_SEC
#define DIRECT_RETRY_MAX_NS	(16 * WG_NSEC_PER_SEC)
#define PROBE_RTT_EWMA_SHIFT	3	/* smoothed RTT: 1/8 of each sample */
/*
 * cbp2pctl ping's probes: the path byte says PROBE_CTL, so the pong
 * goes to the operator, not to the path's health.  Any peer answers a
 * ping, whatever its path; one that is not cbp2p answers none.
 */
#define PROBE_CTL		2
#define PROBE_CTL_RING		64	/* operator's pings in flight */

enum probe_way {
	PROBE_DIRECT,
	PROBE_RELAY,
	PROBE_WAYS
};

struct probe_sent {
	uint32_t		 seq;
	uint64_t		 at;
	int			 answered;
};

/* An operator's ping in flight: the parent's tag comes back with its pong. */
struct probe_ctl {
	uint8_t			 pub[WG_KEY_LEN];
	uint32_t		 id;	/* struct eng_ping's, the parent's */
	uint32_t		 tag;
	uint32_t		 seq;	/* in the ping */
	uint64_t		 at;
	int			 used;
};

struct probe_path {
	struct path_obs		 obs;
	uint32_t		 seq;
	uint64_t		 last_probe;
	struct probe_sent	 ring[PROBE_RING];
};

struct peer;

struct peer_index {
	RB_ENTRY(peer_index)	 entry;
	uint32_t		 index;
	int			 used;
	struct peer		*peer;
};

struct staged_pkt {
	size_t			 len;
	uint8_t			*buf;	/* ENGINE_HEADROOM + mtu_max + tail */
};

struct peer {
	RB_ENTRY(peer)		 entry;
	struct wg_peer		 wp;	/* keypairs and timers; no static DH */
	int			 path;	/* enum peer_path, the parent's word */
	struct endpoint		 endpoint;	/* UDP, or the relay if PATH_RELAY */
	/* Hybrid: cbmeshd's choice of the two, and each one's health. */
	int			 active;	/* PATH_DIRECT or PATH_RELAY */
	struct endpoint		 relay_ep;
	struct probe_path	 probe[PROBE_WAYS];
	uint64_t		 direct_retry_at;
	uint64_t		 direct_backoff;
	uint64_t		 last_data;	/* inner packet either way */
	int			 health_dirty;
	uint64_t		 hs_sent_at;	/* our last initiation */
	uint64_t		 hs_rtt;	/* initiation to response, ns */
	uint16_t		 keepalive;	/* persistent, seconds */
	/* Candidate endpoints, tried together until one answers. */
	struct sockaddr_storage	 cand[DISCO_ENDPOINTS_MAX];
	unsigned int		 ncand;
	int			 confirmed;	/* endpoint proved by a handshake */
	uint64_t		 rx_bytes;
	uint64_t		 tx_bytes;
	uint64_t		 rx_packets;
	uint64_t		 tx_packets;
	struct event		 ev_timer;
	uint64_t		 deadline;	/* its next timer, monotonic */
	uint64_t		 timer_at;	/* when ev_timer fires, or NONE */
	struct peer_index	 idx[PEER_INDEX_POOL];
	uint32_t		 hs_index;	/* of the initiation in flight */
	int			 hs_asked;	/* the parent builds one */
	struct staged_pkt	 staged[PEER_STAGED_MAX];
	unsigned int		 nstaged;
	uint8_t			*staged_mem;
	size_t			 staged_slot;	/* bytes per staged packet */
};

/*
 * A packet received, over UDP or from the relay, before dispatch.  The
 * buffer of a receive slot holds a UDP GRO batch of up to 64 KiB, which
 * is split into packets that point into it.
 */
#define RX_BUF_MAX		OFFLOAD_SUPER_MAX
struct rxpkt {
	uint8_t			*buf;
	size_t			 cap;
	size_t			 len;
	struct endpoint		 from;	/* UDP source, or EP_RELAY{key} */
};

/*
 * One packet's AEAD for the crypto workers (crypt.c): sealed with a copy
 * of the send key under the counter the engine took, or opened with the
 * keypair the engine looked up (read only until the engine accepts it).
 */
enum cjob_op {
	CJOB_NONE,
	CJOB_SEAL,
	CJOB_OPEN,
	CJOB_DROPPED		/* refused before the AEAD, counted */
};

struct cjob {
	enum cjob_op		 op;
	uint8_t			*buf;	/* the message, header first */
	size_t			 len;	/* SEAL: padded plaintext; OPEN: all */
	uint64_t		 ctr;	/* SEAL: in; OPEN: out */
	uint8_t			 key[WG_KEY_LEN];	/* SEAL */
	struct wg_keypair	*kp;	/* OPEN */
	struct peer		*peer;	/* OPEN: kp's, as the burst began */
	uint64_t		 now;	/* OPEN */
	size_t			 plen;	/* OPEN: out */
	int			 rc;	/* WG_OK or why not */
};

/* A packet of a burst: where it lies in the receive slots. */
#define RXQ_MAX			2048
struct rxseg {
	unsigned int		 slot;
	size_t			 off;
	size_t			 len;
};

RB_HEAD(peer_tree, peer);
RB_HEAD(index_tree, peer_index);
int	 peer_cmp(struct peer *, struct peer *);
int	 index_cmp(struct peer_index *, struct peer_index *);
RB_PROTOTYPE(peer_tree, peer, entry, peer_cmp);
RB_PROTOTYPE(index_tree, peer_index, entry, index_cmp);

struct engine {
	struct wg_crypto	*crypto;
	struct wg_local		 local;	/* public key, mac1 and cookie keys */
	int			 has_key;
	int			 tun;
	uint16_t		 mtu;		/* pads to it, holds up to it */
	uint16_t		 mtu_max;	/* staged buffers' size */
	int			 udp4;
	int			 udp6;
	int			 relay;	/* socketpair to cbrelayd, or -1 */
	int			 offload;	/* tun virtio-net header, UDP GRO */
	int			 udp_gso;	/* UDP_SEGMENT works (EIO: off) */
	struct event		 ev_tun;
	struct event		 ev_udp4;
	struct event		 ev_udp6;
	struct event		 ev_relay;
	struct event		 ev_probe;
	unsigned int		 nhybrid;	/* peers the probe timer serves */
	struct probe_ctl	 pings[PROBE_CTL_RING];	/* cbp2pctl ping */
	uint32_t		 ping_seq;
	struct wg_aip		 aip;
	struct peer_tree	 peers;
	struct index_tree	 indices;
	unsigned int		 npeers;
	unsigned int		 max_peers;
	/* Handshake rate, for the under-load switch. */
	uint64_t		 hs_window;
	unsigned int		 hs_count;
	uint64_t		 under_load_until;
	unsigned int		 hs_inflight;	/* sent up, not yet answered */
	struct ratelimit	 ratelimit;
	struct eng_counters	 cnt;
	/* STUN through the WireGuard socket, for discovery. */
	struct stun_slot {
		struct eng_stun_req	 req;
		uint8_t			 txid[STUN_TXID_LEN];
		int			 pending;
	}			 stun[STUN_SLOTS];
	struct child		*child;
};

extern struct engine	*eng;

/* engine.c */
void	 engine_to_parent(uint32_t, const void *, size_t);
uint64_t engine_now(void);
const char *peer_name(const struct peer *);

/* crypt.c */
void	 crypt_init(unsigned int);
unsigned int crypt_set_workers(int);
unsigned int crypt_workers(void);
void	 crypt_run(struct cjob *, unsigned int);

/* peer.c */
struct peer *peer_find(const uint8_t *);
struct peer *peer_create(const uint8_t *);
void	 peer_destroy(struct peer *);
void	 peer_destroy_all(void);
void	 peer_reset_sessions(void);
int	 index_alloc(struct peer *, uint32_t *);
void	 index_release(void *, uint32_t);
struct peer *index_lookup(uint32_t);
void	 peer_roam(struct peer *, const struct endpoint *);
void	 peer_set_path(struct peer *, int);
void	 peer_set_candidates(struct peer *,
	    const struct sockaddr_storage *, unsigned int);
void	 peer_punch(struct peer *, int);
void	 peer_install(const struct eng_hs *, int);

/* send.c */
void	 send_packet(struct peer *, const uint8_t *, size_t);
void	 send_handshake(const struct endpoint *, const uint8_t *, size_t);
int	 encrypt_to_peer(struct peer *, struct wg_keypair *,
	    const uint8_t *, size_t, uint64_t);
int	 encrypt_probe(struct peer *, struct wg_keypair *, const uint8_t *,
	    const struct endpoint *, uint64_t);
void	 send_staged(struct peer *, uint64_t, int);
void	 send_initiation_request(struct peer *, uint64_t);
void	 send_initiation(const struct eng_hs *);
void	 stage(struct peer *, const uint8_t *, size_t);
uint8_t	*tx_next_buf(void);
void	 tx_flush(void);
void	 tun_read_cb(int, short, void *);

/* receive.c */
struct rxpkt *rx_slots(void);
void	 receive_packet(struct rxpkt *, uint64_t);
void	 receive_batch(struct rxpkt *, const struct rxseg *, unsigned int,
	    uint64_t);
void	 tun_flush(void);
void	 udp_read_cb(int, short, void *);

/* socket.c */
void	 socket_set_udp(int, int);
void	 socket_set_tun(int);
void	 socket_set_relay(int);
void	 relay_read_cb(int, short, void *);
void	 socket_close_all(void);
int	 socket_fd(int);
void	 stun_request(const struct eng_stun_req *);
int	 stun_input(const uint8_t *, size_t);

/* probe.c */
int	 probe_input(struct peer *, const struct endpoint *, const uint8_t *,
	    size_t, uint64_t);
void	 probe_rx(struct peer *, const struct endpoint *, uint64_t);
void	 probe_hybrid(struct peer *, int);
void	 probe_set_active(struct peer *, int);
void	 probe_health(const struct peer *, struct path_health *, uint64_t);
void	 probe_ctl_ping(const struct eng_ping *);
const struct endpoint *peer_tx_endpoint(const struct peer *);
int	 peer_in_doubt(const struct peer *, uint64_t);

/* timers.c */
void	 timers_peer_init(struct peer *);
void	 timers_peer_stop(struct peer *);
void	 peer_kick(struct peer *, uint64_t);

#endif /* CBP2PD_ENGINE_H */
