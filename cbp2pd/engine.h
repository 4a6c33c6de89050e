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

struct peer;

struct peer_index {
	RB_ENTRY(peer_index)	 entry;
	uint32_t		 index;
	int			 used;
	struct peer		*peer;
};

struct staged_pkt {
	size_t			 len;
	uint8_t			*buf;	/* ENGINE_HEADROOM + mtu + tail */
};

struct peer {
	RB_ENTRY(peer)		 entry;
	struct wg_peer		 wp;	/* keypairs and timers; no static DH */
	int			 path;	/* enum peer_path, the parent's word */
	struct endpoint		 endpoint;
	uint16_t		 keepalive;	/* persistent, seconds */
	/* Candidate endpoints, tried together until one answers. */
	struct sockaddr_storage	 cand[DISCO_ENDPOINTS_MAX];
	unsigned int		 ncand;
	int			 confirmed;	/* endpoint proved by a handshake */
	uint64_t		 rx_bytes;
	uint64_t		 tx_bytes;
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

/* A packet received, over UDP or from the relay, before dispatch. */
struct rxpkt {
	uint8_t			 buf[ENGINE_PKT_MAX];
	size_t			 len;
	struct endpoint		 from;	/* UDP source, or EP_RELAY{key} */
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
	uint16_t		 mtu;
	int			 udp4;
	int			 udp6;
	int			 relay;	/* socketpair to cbrelayd, or -1 */
	struct event		 ev_tun;
	struct event		 ev_udp4;
	struct event		 ev_udp6;
	struct event		 ev_relay;
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
	struct sockaddr_storage	 stun_server;
	uint8_t			 stun_txid[STUN_TXID_LEN];
	int			 stun_pending;
	struct child		*child;
};

extern struct engine	*eng;

/* engine.c */
void	 engine_to_parent(uint32_t, const void *, size_t);
uint64_t engine_now(void);
const char *peer_name(const struct peer *);

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
void	 udp_read_cb(int, short, void *);

/* socket.c */
void	 socket_set_udp(int, int);
void	 socket_set_tun(int);
void	 socket_set_relay(int);
void	 relay_read_cb(int, short, void *);
void	 socket_close_all(void);
int	 socket_fd(int);
void	 stun_request(const struct sockaddr_storage *);
int	 stun_input(const uint8_t *, size_t);

/* timers.c */
void	 timers_peer_init(struct peer *);
void	 timers_peer_stop(struct peer *);
void	 peer_kick(struct peer *, uint64_t);

#endif /* CBP2PD_ENGINE_H */
