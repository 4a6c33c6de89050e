/*
 * cbp2pd: the privileged parent.  It alone holds the WireGuard private
 * key; it starts the children, pushes their configuration and serves the
 * control socket.
 */
#ifndef CBP2PD_H
#define CBP2PD_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <event.h>
#include <time.h>

#include "config.h"
#include "imsg.h"
#include "proc.h"
#include "ratelimit.h"
#include "stun.h"
#include "wg.h"

#define CONTROL_MAX_CONNS	32
#define CONTROL_BACKLOG		8
#define CONTROL_SOCKET_MODE	0660
/* Events a monitor may leave unread before it is dropped. */
#define CONTROL_MONITOR_QUEUE_MAX	256
#define CONTROL_MS_PER_SEC	1000
#define CONTROL_NS_PER_MS	1000000

/*
 * Two initiations crossing within this window (both nodes learnt of
 * each other at once) would each overwrite the other's handshake and
 * both fail until the 5 s retry; the lower key yields its turn.
 */
#define HS_CROSSING_NS		(2 * WG_NSEC_PER_SEC)

/* STUN requests unanswered in a row before UDP counts as blocked. */
#define STUN_BLOCKED_AFTER	3
/*
 * The two servers a round of STUN asks from the WireGuard socket: the
 * configured edge.stun, and the same address at the port its answers
 * name (ALT-PORT).  Two answers that differ say our NAT is symmetric.
 */
#define STUN_SLOT_PRIMARY	0
#define STUN_SLOT_ALT		1
#define STUN_SLOTS		OPS_STUN_SERVERS
#define UDP_SOCKET_BUFFER	(7 << 20)	/* room for bursts */
#define ENGINE_BATCH		32	/* packets per read/send burst */
#define ENG_AIPS_CHUNK		64	/* allowed IPs per IMSG_ENG_PEER_AIPS */

/*
 * Where a peer is reached: UDP over IPv4 or IPv6, or the relay, through
 * the engine's socketpair to cbrelayd.  Every packet to a peer leaves
 * through one send function that switches on the kind.  A relay
 * endpoint names the peer's public key: the relay forwards by key, and
 * what it delivers says from which key it came.
 */
enum endpoint_kind {
	EP_NONE = 0,
	EP_UDP4,
	EP_UDP6,
	EP_RELAY
};

struct endpoint {
	int			 kind;	/* enum endpoint_kind */
	struct sockaddr_storage	 sa;	/* for EP_UDP4/EP_UDP6 */
	uint8_t			 key[WG_KEY_LEN];	/* for EP_RELAY */
};

/*
 * The relay socketpair between the engine and cbrelayd: one message a
 * packet, the peer's public key then the WireGuard packet.
 */
#define RELAY_SOCKET_BUFFER	(4 << 20)	/* bytes in flight each way */

/* ---- the parent <-> engine protocol (IMSG_ENG_*) -------------------- */

/*
 * mtu bounds padding and what is held for a handshake; it may change
 * (cbp2p-wg follows the link's) but never above mtu_max, which sizes
 * the buffers and is fixed at start.
 */
struct eng_conf {
	uint16_t	 mtu;
	uint16_t	 mtu_max;
	uint32_t	 max_peers;
	int		 offload;	/* tun virtio-net header, UDP GSO/GRO */
	int		 crypto_workers;	/* CFG_CRYPTO_WORKERS_AUTO or 0.. */
};

/* The virtio-net header before each tun packet when offload is on. */
#define TUN_VNET_HDR_LEN	10
/* The smallest MTU a tun takes (ETH_MIN_MTU): the engine's floor. */
#define TUN_MTU_MIN		68
/* cbp2p-wg's tun at start, as wireguard-go's DefaultMTU. */
#define DROPIN_MTU		1420

struct eng_udp {
	int		 af;	/* the descriptor comes with it, or none */
	uint16_t	 port;
};

struct eng_local {
	int		 has_key;
	uint8_t		 pub[WG_KEY_LEN];
};

/* Ask a STUN server from the WireGuard socket; a new one replaces the last. */
struct eng_stun_req {
	uint32_t		 round;	/* echoed in the result */
	int			 slot;	/* STUN_SLOT_* */
	struct sockaddr_storage	 server;
};

/* A well-formed answer to the slot's last request, as the engine parsed it. */
struct eng_stun_result {
	uint32_t		 round;
	int			 slot;
	struct sockaddr_storage	 mapped;
	uint16_t		 alt_port;	/* ALT-PORT; 0 none */
};

#define ENG_PEER_ENDPOINT	0x01
#define ENG_PEER_KEEPALIVE	0x02
#define ENG_PEER_CANDIDATES	0x04
#define ENG_PEER_PATH		0x08

/*
 * A peer's settings; flags say which fields hold something.  The path
 * comes first: a relayed peer (PATH_RELAY) gets the relay endpoint with
 * its own key and has no UDP endpoint or candidates at all.
 */
struct eng_peer {
	uint8_t			 pub[WG_KEY_LEN];
	unsigned int		 flags;	/* ENG_PEER_*: what this sets */
	int			 path;	/* enum peer_path */
	struct endpoint		 endpoint;
	uint16_t		 keepalive;
	uint32_t		 ncand;
	struct sockaddr_storage	 cand[DISCO_ENDPOINTS_MAX];
};

struct eng_aips {
	uint8_t		 pub[WG_KEY_LEN];
	int		 replace;	/* drop the peer's prefixes first */
	uint32_t	 n;
	struct cidr	 aips[ENG_AIPS_CHUNK];
};

/* A handshake message or its result, in either direction. */
struct eng_hs {
	uint8_t		 pub[WG_KEY_LEN];	/* zero: not yet known */
	uint32_t	 index;		/* the engine's local index */
	int		 from_net;	/* answers an IMSG_ENG_HS_IN */
	int		 reason;	/* HS_FAIL: enum drop_reason */
	struct endpoint	 ep;		/* where it came from / goes */
	uint32_t	 len;
	uint8_t		 msg[WG_INITIATION_LEN];
	/* The session, when the handshake completed. */
	int		 has_keys;
	uint8_t		 send_key[WG_KEY_LEN];
	uint8_t		 recv_key[WG_KEY_LEN];
	uint32_t	 remote_index;
};

/* cbmeshd's choice for a hybrid peer, as the parent passes it on. */
struct eng_active {
	uint8_t		 pub[WG_KEY_LEN];
	int		 active;	/* PATH_DIRECT or PATH_RELAY */
};

struct eng_peer_stats {
	uint8_t		 pub[WG_KEY_LEN];
	struct endpoint	 endpoint;
	uint64_t	 rx_bytes;
	uint64_t	 tx_bytes;
	uint64_t	 rx_packets;
	uint64_t	 tx_packets;
	int		 has_session;	/* a keypair to send with */
	uint64_t	 hs_rtt;	/* our last handshake's, ns; 0 none */
	uint32_t	 hs_attempts;	/* initiations unanswered */
	struct path_health health;	/* hybrid peers' paths */
};

/*
 * cbp2pctl ping, parent <-> engine: the parent's id and tag go to the
 * engine and come back with the result; the engine answers at once
 * unless the ping went out, and then only when its pong comes.
 */
struct eng_ping {
	uint8_t		 pub[WG_KEY_LEN];
	uint32_t	 id;
	uint32_t	 tag;
	int		 status;	/* enum ping_status */
	uint64_t	 rtt_ns;
	struct endpoint	 from;		/* where the pong came from */
};

struct eng_counters {
	uint64_t	 drops[DROP_MAX];
	uint64_t	 cookies_sent;
	uint64_t	 stun_seen;
	uint64_t	 gro_coalesced;	/* segments written as super-packets */
	uint64_t	 tso_split;	/* super-packets read and cut */
	uint64_t	 gso_sends;	/* segmented UDP sends */
	uint64_t	 gso_refused;	/* 1 once the kernel refused them */
	uint64_t	 crypt_parallel;	/* bursts sealed/opened by workers */
	uint64_t	 uso_split;	/* UDP super-packets read and cut */
	uint64_t	 crypt_workers;	/* worker threads taking work */
};

struct eng_stats_end {
	uint32_t		 seq;
	struct eng_counters	 cnt;
};

/* ---- the parent's peers: policy's record and the handshake state ---- */

enum peer_source {
	PEER_SRC_TOKEN,		/* a static peer of the token */
	PEER_SRC_DISCO,		/* learnt through the registry */
	PEER_SRC_UAPI		/* added by wg set */
};

struct ppeer {
	RB_ENTRY(ppeer)		 entry;
	struct wg_peer		 wp;	/* ss, psk, handshake, timestamps */
	enum peer_source	 source;
	int			 usable;	/* static DH done: can handshake */
	int			 has_psk;
	struct endpoint		 endpoint;	/* as the engine last said */
	/*
	 * The path, and what a direct path would use: the endpoint the
	 * token or wg set gave and the candidates discovery gave, kept
	 * while the peer is relayed and handed to the engine only on a
	 * direct path.
	 */
	enum peer_path		 path;
	struct endpoint		 udp_endpoint;
	struct sockaddr_storage	 cand[DISCO_ENDPOINTS_MAX];
	unsigned int		 ncand;
	uint16_t		 keepalive;
	struct timespec		 last_handshake;	/* wall clock */
	uint64_t		 rx_bytes;
	uint64_t		 tx_bytes;
	uint64_t		 rx_packets;
	uint64_t		 tx_packets;
	/* The path packets take and why (mesh.c), and its health. */
	int			 active;	/* PATH_DIRECT or PATH_RELAY */
	int			 reason;	/* enum path_reason */
	uint32_t		 switches;
	struct path_health	 health;	/* hybrid: the engine's last */
	int			 has_session;	/* as the engine last said */
	uint64_t		 init_created;	/* our last initiation, ns */
	uint64_t		 hs_rtt;
	uint32_t		 hs_attempts;
	char			 name[DISCO_NAME_MAX + 1];	/* registry's */
	/* At the relay, as cbrelayd last said (relay.c). */
	enum relay_presence	 relay_presence;
	time_t			 relay_since;	/* wall clock; 0 never */
	int			 nat;	/* enum nat_mapping, the registry's */
};

RB_HEAD(ppeer_tree, ppeer);
int	 ppeer_cmp(struct ppeer *, struct ppeer *);
RB_PROTOTYPE(ppeer_tree, ppeer, entry, ppeer_cmp);

/*
 * One description of a change to a peer, as wireguard-tools has it:
 * flags say which fields hold something.  The token, discovery and wg
 * set all go through peer_apply().
 */
#define PD_REMOVE		0x001
#define PD_UPDATE_ONLY		0x002	/* never create */
#define PD_HAS_PSK		0x004
#define PD_HAS_ENDPOINT		0x008
#define PD_HAS_KEEPALIVE	0x010
#define PD_REPLACE_AIPS		0x020
#define PD_HAS_CANDIDATES	0x040
#define PD_HAS_PATH		0x080
#define PD_HAS_NAME		0x100	/* discovery's: the registry's name */

struct peer_desc {
	uint8_t			 pub[WG_KEY_LEN];
	unsigned int		 flags;
	enum peer_source	 source;
	uint8_t			 psk[WG_KEY_LEN];
	struct endpoint		 endpoint;
	uint16_t		 keepalive;
	const struct cidr	*aips;
	size_t			 naips;
	const struct sockaddr_storage *cand;
	unsigned int		 ncand;
	enum peer_path		 path;
	const char		*name;	/* checked: peer_name_valid or "" */
};

/* The parent's view of the data plane. */
struct dataplane {
	struct wg_crypto	*crypto;
	struct wg_local		 local;	/* the static private key */
	int			 has_key;
	int			 tun;
	unsigned int		 ifindex;
	uint16_t		 mtu;		/* the engine's padding bound */
	uint16_t		 mtu_max;	/* the engine's buffers */
	uint16_t		 port;
	int			 offload;	/* as the tun took it */
	int			 uso;	/* UDP super-packets too */
	int			 bound;	/* the engine has sockets on port */
	uint32_t		 fwmark;
	struct wg_aip		 aip;	/* who owns which prefix */
	struct ppeer_tree	 peers;
	unsigned int		 npeers;
	unsigned int		 max_peers;
	struct eng_counters	 cnt;	/* as the engine last said */
	uint64_t		 uapi_refused;
	uint64_t		 handshakes;	/* completed by the parent */
	int			 has_stun;
	struct sockaddr_storage	 stun_server;
	unsigned int		 stun_unanswered;	/* asked since an answer */
	uint32_t		 sync_seq;	/* last stats request */
	uint32_t		 sync_done;	/* last answered */
	/* Our NAT's mapping (disco.c): both servers' answers in a round. */
	int			 has_stun_alt;
	struct sockaddr_storage	 stun_alt;	/* stun_server, ALT-PORT */
	uint32_t		 stun_round;
	uint32_t		 stun_answered[STUN_SLOTS];	/* its round */
	struct sockaddr_storage	 stun_mapped[STUN_SLOTS];
	int			 nat_mapping;	/* enum nat_mapping */
	uint64_t		 nat_refused;	/* bad ALT-PORTs, peers' nat */
};

struct cbp2pd_child {
	enum proc_id		 id;
	/* Its own messages beyond ready and status; 1 when handled. */
	int			(*dispatch)(struct cbp2pd_child *,
				    struct imsg *);
	pid_t			 pid;
	struct imsgev		 iev;
	int			 ready;
};

struct cbp2pd {
	struct cbp2p_config	 conf;
	char			 conf_path[PATH_MAX];
	const char		*libexec;
	int			 foreground;
	int			 cmd_verbose;	/* -v count */
	/*
	 * cbp2p-wg (dropin.c): no token, no discovery, relay or mesh; only
	 * the engine runs and wg(8) configures everything.
	 */
	int			 dropin;
	uint64_t		 generation;
	uint64_t		 reloads;
	uint64_t		 reloads_failed;
	uint64_t		 ctl_bad;
	uint64_t		 monitors_dropped;
	struct timespec		 started;
	int			 exiting;
	pid_t			 parent_pid;	/* after daemon(3) */
	struct cbp2pd_child	 children[PROC_MAX];
	struct dataplane	 dp;
	/* The registry client as cbdiscod last said, and its events. */
	struct disco_state	 reg;
	uint64_t		 disco_added;
	uint64_t		 disco_removed;
	uint64_t		 disco_pending;	/* keys newly pending */
	/* Peers waiting for cbp2pctl approve, as cbdiscod last said. */
	uint8_t			 pending[DISCO_PENDING_MAX][WG_KEY_LEN];
	size_t			 npending;
	/* Discovery as the parent checks it (disco.c). */
	int			 disco_enabled;
	uint8_t			 approved[DISCO_APPROVED_MAX][WG_KEY_LEN];
	size_t			 napproved;
	uint64_t		 disco_admit[ADMIT_MAX];
	uint64_t		 disco_ep_dropped[ADMIT_EP_MAX];
	uint64_t		 child_fds_closed;
	/* The relay as the parent configures it (relay.c). */
	enum peer_path		 peer_path;	/* of every peer, by policy */
	int			 relay_paired;	/* the socketpair is handed out */
	struct relay_conf	 relay;		/* as last pushed */
	/* Paths as cbmeshd chose them (mesh.c). */
	int			 p2p_unavailable;	/* all hybrids relayed */
	uint64_t		 path_switches[PR_MAX];	/* by reason */
	uint64_t		 mesh_refused;	/* choices policy refused */
	int			 relay_up;	/* cbrelayd says: bound */
	uint64_t		 relay_refused[RELAY_REFUSE_MAX];
	uint64_t		 relay_connects;	/* IMSG_RELAY_UPs taken */
	/* The node token's life (expiry.c). */
	int			 token_expired;	/* edge left until reload */
	int64_t			 token_warned;	/* exp we warned of */
};

extern struct cbp2pd	*env;

/* cbp2pd.c */
int	 parent_reload(char *, size_t);
void	 parent_send_children(uint32_t, uint32_t, const void *, size_t);
void	 parent_push_config(void);
void	 parent_log_verbose(int);
__dead void parent_shutdown(int);

/* dataplane.c: the parent's side of the engine */
int	 dp_init(struct dataplane *, const struct cbp2p_config *, char *,
	    size_t);
int	 dp_start(const struct cbp2p_config *, char *, size_t);
void	 dp_shutdown(struct dataplane *);
void	 dp_send(uint32_t, const void *, size_t, int);
int	 dp_dispatch(struct cbp2pd_child *, struct imsg *);
int	 dp_set_port(uint16_t);
void	 dp_set_fwmark(uint32_t);
int	 dp_set_private_key(const uint8_t *);
void	 dp_set_mtu(unsigned int);
void	 dp_send_conf(void);
void	 dp_sync(void (*)(uint32_t), uint32_t);
uint64_t dp_now(void);
int	 udp_bind(int, uint16_t, uint16_t *);

/* handshake.c: Noise with the static key */
void	 hs_initiation_request(const struct eng_hs *);
void	 hs_input(const struct eng_hs *);
void	 hs_complete(struct ppeer *);

/* policy.c: the parent's peers and the one way to change them */
struct ppeer *ppeer_find(const uint8_t *);
const char *ppeer_name(const struct ppeer *);
const char *peer_source_name(enum peer_source);
int	 peer_apply(const struct peer_desc *, char *, size_t);
void	 peer_remove_all(void);
int	 peer_sync_static(const struct token *, char *, size_t);
int	 peer_check_static(const struct token *, char *, size_t);
void	 peer_set_max(const struct token *);
void	 peer_info(const struct ppeer *, struct ctl_peer *);
void	 ppeer_rekey(struct ppeer *);
int	 sockaddr_format(const struct sockaddr *, char *, size_t);
socklen_t sockaddr_len(const struct sockaddr_storage *);
int	 sockaddr_cmp(const struct sockaddr_storage *,
	    const struct sockaddr_storage *);
void	 endpoint_from_sa(struct endpoint *, const struct sockaddr *);
void	 endpoint_relay(struct endpoint *, const uint8_t *);
int	 endpoint_on_path(const struct endpoint *, int);
int	 endpoint_format(const struct endpoint *, char *, size_t);

/* disco.c */
int	 parent_read_file(const char *, size_t, char **, size_t *);
void	 disco_push_config(void);
int	 disco_dispatch(struct cbp2pd_child *, struct imsg *);
void	 disco_approve(const uint8_t *);
void	 disco_stun_result(const struct eng_stun_result *);
void	 disco_stun_now(void);

/* mesh.c: cbmeshd's path choices, checked */
void	 mesh_peer_init(struct ppeer *);
void	 mesh_peer_gone(const struct ppeer *);
void	 mesh_health(const struct path_health *);
void	 mesh_nat_changed(const struct ppeer *);
int	 mesh_dispatch(struct cbp2pd_child *, struct imsg *);

/* relay.c: the relay, as the parent configures it */
enum peer_path relay_path_for(const struct cbp2p_config *);
enum peer_path relay_path_of(enum peer_source);
int	 relay_wanted(const struct token *);
void	 relay_set_path(enum peer_path);
void	 relay_push_config(void);
int	 relay_dispatch(struct cbp2pd_child *, struct imsg *);
void	 relay_presence_ask(const struct ppeer *);

/* dns.c: the token's DNS on the host */
void	 dns_apply(const struct cbp2p_config *);
void	 dns_restore(void);
const char *dns_way(void);

/* expiry.c: the node token's life at run time */
void	 token_life_arm(void);

/* dropin.c: cbp2p-wg, the drop-in for wireguard-go */
#define DROPIN_NAME		"cbp2p-wg"	/* argv[0] that selects it */
int	 dropin_selected(const char *);
void	 dropin_args(int, char *[]);
void	 dropin_daemonize(void);
void	 dropin_watch(void);
void	 dropin_ready(void);

/* engine.c: the engine role */
__dead void engine_main(int, char *[]);

/* uapi.c */
int	 uapi_init(const char *);
void	 uapi_cleanup(void);

/* tun.c */
int	 tun_open(const char *, unsigned int *, int *, int *);
int	 tun_set_address(unsigned int, const struct cidr *);
int	 tun_set_mtu_up(unsigned int, unsigned int);
int	 tun_set_mtu(unsigned int, unsigned int);
int	 tun_set_gso_segs(unsigned int, unsigned int);
/* What tun_watch_read() saw of the link. */
#define TUN_LINK_NONE		0
#define TUN_LINK_MTU		1	/* its MTU is now *mtu */
#define TUN_LINK_GONE		2	/* it was deleted */
int	 tun_watch_open(void);
int	 tun_watch_read(int, unsigned int, unsigned int *);

/* metrics.c: the /metrics listener cbmeshd serves, and its snapshots */
#define METRICS_BACKLOG		16
#define METRICS_PUSH_MS		5000	/* a snapshot to cbmeshd */
int	 metrics_prepare(const char *, char *, size_t);
void	 metrics_commit(void);

/* control.c */
int	 control_init(const char *);
void	 control_listen(void);
void	 control_cleanup(const char *);
void	 control_status_child(uint32_t, const struct child_status *);
void	 control_fill_main(struct ctl_status_main *);
void	 control_send(uint32_t, uint32_t, const void *, size_t);
void	 control_event(int, const struct ppeer *, const char *, const char *,
	    const char *);
void	 control_netcheck_disco(uint32_t, const struct disco_state *);
void	 control_netcheck_relay(uint32_t, const struct relay_check *);

/* ping.c: cbp2pctl ping */
int	 ping_request(uint32_t, const struct ctl_ping_req *, const char **);
void	 ping_result(const struct eng_ping *);
void	 ping_conn_gone(uint32_t);

#endif /* CBP2PD_H */
