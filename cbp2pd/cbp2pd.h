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

#define CBP2PD_CHILDREN		CBP2PD_MAX_CHILDREN
#define CONTROL_MAX_CONNS	32
#define CONTROL_BACKLOG		8
#define CONTROL_SOCKET_MODE	0660

/* Data plane sizes and limits. */
#define ENGINE_BATCH		32	/* packets per read/send burst */
#define ENGINE_HEADROOM		WG_DATA_HEADER_LEN
#define ENGINE_PKT_MAX		(CFG_MTU_MAX + WG_DATA_HEADER_LEN + \
				 WG_DATA_PAD + WG_TAG_LEN)
#define ENGINE_UDP_MAX		65535
#define PEER_STAGED_MAX		16	/* packets held while handshaking */
#define PEER_INDEX_POOL		(WG_KEYPAIR_SLOTS + 2)
#define UNDER_LOAD_HANDSHAKES	128	/* per second before cookies */
#define UNDER_LOAD_HOLD_NS	WG_NSEC_PER_SEC
#define HANDSHAKE_RATE		20	/* per source per second, under load */
#define HANDSHAKE_BURST		5
#define UDP_SOCKET_BUFFER	(7 << 20)	/* room for bursts */
#define AIP_NODES_MAX		(1 << 20)

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
	struct wg_peer		 wp;
	struct sockaddr_storage	 endpoint;
	socklen_t		 endpoint_len;	/* 0: none */
	uint16_t		 keepalive;	/* persistent, seconds */
	int			 from_token;	/* a static peer of the token */
	int			 from_disco;	/* learnt through the registry */
	/* Candidate endpoints, tried together until one answers. */
	struct sockaddr_storage	 cand[DISCO_ENDPOINTS_MAX];
	unsigned int		 ncand;
	int			 confirmed;	/* endpoint proved by a handshake */
	int			 has_psk;
	uint64_t		 rx_bytes;
	uint64_t		 tx_bytes;
	struct timespec		 last_handshake;	/* wall clock */
	uint64_t		 deadline;	/* its next timer, monotonic */
	struct peer_index	 idx[PEER_INDEX_POOL];
	struct staged_pkt	 staged[PEER_STAGED_MAX];
	unsigned int		 nstaged;
	uint8_t			*staged_mem;
};

RB_HEAD(peer_tree, peer);
RB_HEAD(index_tree, peer_index);
int	 peer_cmp(struct peer *, struct peer *);
int	 index_cmp(struct peer_index *, struct peer_index *);
RB_PROTOTYPE(peer_tree, peer, entry, peer_cmp);
RB_PROTOTYPE(index_tree, peer_index, entry, index_cmp);

struct engine {
	struct wg_crypto	*crypto;
	struct wg_local		 local;
	int			 has_key;
	int			 tun;
	unsigned int		 ifindex;
	uint16_t		 mtu;
	uint16_t		 port;
	int			 udp4;
	int			 udp6;
	struct event		 ev_tun;
	struct event		 ev_udp4;
	struct event		 ev_udp6;
	struct event		 ev_timer;
	uint64_t		 timer_at;	/* armed deadline, or NONE */
	struct wg_aip		 aip;
	struct peer_tree	 peers;
	struct index_tree	 indices;
	unsigned int		 npeers;
	unsigned int		 max_peers;
	/* Handshake rate, for the under-load switch. */
	uint64_t		 hs_window;
	unsigned int		 hs_count;
	uint64_t		 under_load_until;
	struct ratelimit	 ratelimit;
	uint64_t		 drops[DROP_MAX];
	uint64_t		 cookies_sent;
	uint64_t		 stun_seen;
	uint64_t		 uapi_refused;
	uint32_t		 fwmark;
	/* STUN through the WireGuard socket, for discovery. */
	struct sockaddr_storage	 stun_server;
	int			 has_stun;
	uint8_t			 stun_txid[STUN_TXID_LEN];
	int			 stun_pending;
	void			(*stun_cb)(const uint8_t *, size_t,
				    const struct sockaddr *, socklen_t);
};

struct cbp2pd_child {
	enum proc_id		 id;
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
	uint64_t		 generation;
	uint64_t		 reloads;
	uint64_t		 reloads_failed;
	uint64_t		 ctl_bad;
	struct timespec		 started;
	int			 exiting;
	struct cbp2pd_child	 children[PROC_MAX];
	struct engine		 eng;
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
};

extern struct cbp2pd	*env;

/* cbp2pd.c */
int	 parent_reload(char *, size_t);
void	 parent_send_children(uint32_t, uint32_t, const void *, size_t);
void	 parent_log_verbose(int);
__dead void parent_shutdown(int);

/* engine.c */
int	 engine_init(struct engine *, const struct cbp2p_config *, char *,
	    size_t);
void	 engine_shutdown(struct engine *);
int	 engine_set_private_key(struct engine *, const uint8_t *);
int	 engine_set_port(struct engine *, uint16_t);
void	 engine_set_fwmark(struct engine *, uint32_t);
struct peer *engine_peer_find(struct engine *, const uint8_t *);
struct peer *engine_peer_add(struct engine *, const uint8_t *, char *,
	    size_t);
void	 engine_peer_remove(struct engine *, struct peer *);
int	 engine_peer_set_psk(struct engine *, struct peer *, const uint8_t *);
void	 engine_peer_set_endpoint(struct peer *, const struct sockaddr *,
	    socklen_t);
void	 engine_peer_set_keepalive(struct engine *, struct peer *, uint16_t);
int	 engine_peer_add_aip(struct engine *, struct peer *,
	    const struct cidr *);
void	 engine_peer_clear_aips(struct engine *, struct peer *);
void	 engine_set_max_peers(struct engine *, const struct token *);
int	 engine_sync_static(struct engine *, const struct token *, char *,
	    size_t);
uint64_t engine_now(void);
void	 engine_peer_info(const struct peer *, struct ctl_peer *);
int	 sockaddr_format(const struct sockaddr *, char *, size_t);
socklen_t sockaddr_len(const struct sockaddr_storage *);
int	 sockaddr_cmp(const struct sockaddr_storage *,
	    const struct sockaddr_storage *);

/* disco.c */
void	 disco_push_config(void);
int	 disco_dispatch(struct cbp2pd_child *, struct imsg *);
void	 disco_approve(const uint8_t *);
int	 engine_stun_request(struct engine *);
void	 engine_peer_set_candidates(struct engine *, struct peer *,
	    const struct sockaddr_storage *, unsigned int);
void	 engine_peer_punch(struct engine *, struct peer *, int);

/* uapi.c */
int	 uapi_init(const char *);
void	 uapi_cleanup(void);

/* tun.c */
int	 tun_open(const char *, unsigned int *);
int	 tun_set_address(unsigned int, const struct cidr *);
int	 tun_set_mtu_up(unsigned int, unsigned int);

/* control.c */
int	 control_init(const char *);
void	 control_listen(void);
void	 control_cleanup(const char *);
void	 control_status_child(uint32_t, const struct child_status *);
void	 control_fill_main(struct ctl_status_main *);

#endif /* CBP2PD_H */
