/*
 * Privilege separation: the process table, the imsg types every process
 * shares, the child start-up (fork+exec on a socketpair) and the sandbox
 * each child enters before it reads anything untrusted.
 */
#ifndef CBP2P_PROC_H
#define CBP2P_PROC_H

#include <sys/types.h>
#include <sys/socket.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <time.h>

#include "addr.h"
#include "dns.h"
#include "imsg.h"
#include "log.h"
#include "ops.h"
#include "pathsel.h"
#include "peeradmit.h"
#include "sandbox.h"
#include "token.h"
#include "wgkey.h"

#define PROC_PARENT_FD		3	/* a child's end of its socketpair */
#define PROC_KILL_WAIT_MS	2000	/* SIGTERM grace before SIGKILL */
#define PROC_TITLE_MAX		64
#define CTL_MSG_MAX		256	/* text in a control reply */
#define CBP2PD_MAX_CHILDREN	4	/* cbdiscod, cbmeshd, cbrelayd, engine */

enum proc_id {
	PROC_PARENT,
	PROC_DISCO,
	PROC_MESH,
	PROC_RELAY,
	PROC_ENGINE,		/* cbp2pd -E: the data plane */
	PROC_CONTROL,		/* a cbp2pctl connection */
	PROC_MAX
};

/* Why a packet was dropped: counted, visible in status. */
enum drop_reason {
	DROP_SHORT,		/* not a WireGuard message */
	DROP_MAC1,		/* handshake with a bad mac1 */
	DROP_HANDSHAKE,		/* handshake that did not authenticate */
	DROP_UNKNOWN_INDEX,	/* receiver index of nobody */
	DROP_DECRYPT,		/* data that did not authenticate */
	DROP_REPLAY,		/* counter seen or too old */
	DROP_ALLOWED_IPS,	/* inner source not the peer's */
	DROP_NO_ROUTE,		/* tun packet for no peer */
	DROP_NO_ENDPOINT,	/* peer without an endpoint */
	DROP_NO_KEYPAIR,	/* staging queue full */
	DROP_INNER,		/* malformed inner packet */
	DROP_SEND,		/* sendmsg/write failed */
	DROP_RATELIMIT,		/* handshakes from one source under load */
	DROP_MTU,		/* longer than the tunnel MTU, no session */
	DROP_PATH,		/* came over a path the peer does not use */
	DROP_RELAY_KEY,		/* relayed as from a key not the peer's */
	DROP_RELAY_FULL,	/* the socketpair to cbrelayd was full */
	DROP_HS_CROSSED,	/* an initiation crossing ours: we yield */
	DROP_MAX
};

/*
 * A peer's presence at the relay, as cbrelayd reports the relay's
 * PEER_PRESENT and PEER_GONE frames (doc/relay.md).  Unknown until the
 * relay says, and again whenever cbrelayd's connection ends or a new
 * one begins.
 */
enum relay_presence {
	RELAY_PRESENCE_UNKNOWN,
	RELAY_PRESENCE_PRESENT,		/* connected to the relay */
	RELAY_PRESENCE_GONE,		/* left it, or not connected there */
	RELAY_PRESENCE_MAX
};

/* Why the parent refused a presence report: one list, names and all. */
#define RELAY_REFUSALS(X)					\
	X(RELAY_REFUSE_NOT_RELAY,	"not_cbrelayd")		\
	X(RELAY_REFUSE_RELAY_OFF,	"relay_off")		\
	X(RELAY_REFUSE_NOT_CONNECTED,	"not_connected")	\
	X(RELAY_REFUSE_UNKNOWN_PEER,	"unknown_peer")

#define RELAY_REFUSE_ENUM(e, name)	e,
enum relay_refusal {
	RELAY_REFUSALS(RELAY_REFUSE_ENUM)
	RELAY_REFUSE_MAX
};
#undef RELAY_REFUSE_ENUM

/* One enum of message types, grouped by direction. */
enum imsg_type {
	IMSG_NONE,

	/* cbp2pctl <-> parent */
	IMSG_CTL_STATUS,		/* request: none */
	IMSG_CTL_STATUS_MAIN,		/* reply: struct ctl_status_main */
	IMSG_CTL_STATUS_CHILD,		/* reply: struct child_status */
	IMSG_CTL_RELOAD,		/* request: none */
	IMSG_CTL_LOG_VERBOSE,		/* request: int level */
	IMSG_CTL_RESULT,		/* reply: struct ctl_result */
	IMSG_CTL_END,			/* end of a multi-part reply */
	IMSG_CTL_PEERS,			/* request: none */
	IMSG_CTL_PEER,			/* reply: struct ctl_peer */
	IMSG_CTL_PEER_AIP,		/* reply: struct cidr of the last peer */

	/* parent -> child */
	IMSG_CFG_CHILD,			/* struct child_conf, swapped in whole */
	IMSG_CHILD_STATUS_REQ,		/* none; peerid names the requester */
	IMSG_CHILD_LOG_VERBOSE,		/* int level */

	/* child -> parent */
	IMSG_CHILD_STATUS,		/* struct child_status */
	IMSG_CHILD_READY,		/* none: sandboxed and waiting */

	/* parent -> cbdiscod: a transaction, swapped in at DONE */
	IMSG_CFG_DISCO,			/* struct disco_conf */
	IMSG_CFG_DISCO_CA,		/* PEM bytes of the registry's CA */
	IMSG_CFG_DISCO_TOKEN,		/* the registry token */
	IMSG_CFG_DISCO_KEY,		/* the issuer's verification key */
	IMSG_CFG_DISCO_ALLOWED,		/* keys of allowed_peers, a chunk */
	IMSG_CFG_DISCO_DONE,		/* none */
	IMSG_DISCO_STUN_RESULT,		/* struct sockaddr_storage */
	IMSG_DISCO_APPROVE,		/* a public key */
	IMSG_DISCO_NAT,			/* int: our enum nat_mapping */

	/* parent -> cbrelayd: a transaction, swapped in at DONE */
	IMSG_CFG_RELAY,			/* struct relay_conf */
	IMSG_CFG_RELAY_CA,		/* PEM bytes of the relay's CA */
	IMSG_CFG_RELAY_TOKEN,		/* the registry token, for AUTH */
	IMSG_CFG_RELAY_DONE,		/* none */
	IMSG_RELAY_PACKETS,		/* none, with cbrelayd's end of the
					   packet socketpair to the engine */
	IMSG_RELAY_PRESENCE_ASK,	/* a public key: a peer just made */

	/* cbrelayd -> parent: what the relay says of the mesh's nodes */
	IMSG_RELAY_UP,			/* none: a new connection is bound */
	IMSG_RELAY_DOWN,		/* none: the bound connection ended */
	IMSG_RELAY_PEER_PRESENT,	/* a public key: connected there */
	IMSG_RELAY_PEER_GONE,		/* a public key: not connected there */

	/* cbdiscod -> parent */
	IMSG_DISCO_STUN_REQ,		/* none: ask the edge our address */
	IMSG_PEER_SET,			/* struct disco_peer */
	IMSG_PEER_DEL,			/* a public key */
	IMSG_DISCO_PENDING,		/* keys waiting for approval, whole */

	/* cbp2pctl -> parent */
	IMSG_CTL_APPROVE,		/* a public key */
	IMSG_CTL_PENDING,		/* request: none; reply: keys, END */

	/* parent -> engine */
	IMSG_ENG_CONF,			/* struct eng_conf */
	IMSG_ENG_TUN,			/* none, with the tun descriptor */
	IMSG_ENG_UDP,			/* struct eng_udp, with a socket or not */
	IMSG_ENG_LOCAL,			/* struct eng_local */
	IMSG_ENG_PEER_SET,		/* struct eng_peer */
	IMSG_ENG_PEER_AIPS,		/* struct eng_aips */
	IMSG_ENG_PEER_DEL,		/* a public key */
	IMSG_ENG_PEER_PUNCH,		/* a public key: handshake now */
	IMSG_ENG_HS_RESPONSE,		/* struct eng_hs: send, install keys */
	IMSG_ENG_HS_INITIATION,		/* struct eng_hs: send it */
	IMSG_ENG_HS_KEYS,		/* struct eng_hs: initiator's session */
	IMSG_ENG_HS_FAIL,		/* struct eng_hs: refused */
	IMSG_ENG_STUN_REQ,		/* struct eng_stun_req */
	IMSG_ENG_STATS_REQ,		/* uint32_t sequence */
	IMSG_ENG_RELAY,			/* none, with the engine's end of the
					   packet socketpair to cbrelayd */
	IMSG_ENG_PEER_ACTIVE,		/* struct eng_active: hybrid's path */

	/* engine -> parent */
	IMSG_ENG_HS_IN,			/* struct eng_hs: mac1 checked */
	IMSG_ENG_HS_WANT,		/* struct eng_hs: build an initiation */
	IMSG_ENG_HS_ZERO,		/* a public key: the keys were erased */
	IMSG_ENG_HS_CONFIRMED,		/* a public key: the responder's keys
					   carried their first packet */
	IMSG_ENG_STUN_RESULT,		/* struct eng_stun_result */
	IMSG_ENG_PEER_STATS,		/* struct eng_peer_stats */
	IMSG_ENG_STATS_END,		/* struct eng_stats_end */
	IMSG_ENG_PATH_HEALTH,		/* struct path_health of a hybrid peer */

	/* parent <-> cbmeshd */
	IMSG_MESH_HEALTH,		/* struct path_health, checked */
	IMSG_MESH_PEER_DEL,		/* a public key: forget it */
	IMSG_MESH_PATH,			/* cbmeshd's choice: struct mesh_path */

	/* parent -> cbmeshd: /metrics (cbp2pd/metrics.c) */
	IMSG_MESH_METRICS_LISTEN,	/* none, with the listening TCP socket,
					   or without: metrics off */
	IMSG_MESH_METRICS_MAIN,		/* struct ctl_status_main: a snapshot */
	IMSG_MESH_METRICS_PEER,		/* struct ctl_peer, up to max_peers */
	IMSG_MESH_METRICS_END,		/* struct mesh_metrics_end */

	/* cbp2pctl <-> parent: the live views (lib/ops.h) */
	IMSG_CTL_PING,			/* request: struct ctl_ping_req */
	IMSG_CTL_PING_REPLY,		/* reply: struct ctl_ping */
	IMSG_CTL_NETCHECK,		/* request: none */
	IMSG_CTL_NETCHECK_REPLY,	/* reply: struct ctl_netcheck */
	IMSG_CTL_MONITOR,		/* request: none; RESULT, then events */
	IMSG_CTL_EVENT,			/* struct ctl_event */

	/* parent <-> cbdiscod, cbrelayd: what netcheck and monitor show */
	IMSG_DISCO_STATE,		/* c->p: struct disco_state */
	IMSG_DISCO_NETCHECK,		/* p->c: none; a fresh request */
	IMSG_RELAY_NETCHECK,		/* p->c: none; c->p: struct
					   relay_check */

	/* parent <-> engine: cbp2pctl ping */
	IMSG_ENG_PING,			/* p->e: struct eng_ping */
	IMSG_ENG_PING_RESULT,		/* e->p: struct eng_ping */
};

#define DISCO_ENDPOINTS_MAX	8	/* candidates per node */
#define DISCO_AIPS_MAX		16	/* allowed IPs per discovered peer */
#define DISCO_ALLOWED_CHUNK	256	/* keys per IMSG_CFG_DISCO_ALLOWED */
#define DISCO_PENDING_MAX	256	/* pending keys reported */
#define DISCO_APPROVED_MAX	1024	/* operator approvals kept */
#define DISCO_CA_MAX		(12 * 1024)
#define DISCO_TOKEN_MAX		(8 * 1024)
#define DISCO_KEY_MAX		(8 * 1024)	/* one imsg: a PEM or secret */
#define DISCO_HOST_MAX		256
#define DISCO_NAME_MAX		OPS_NAME_MAX	/* a peer's name: the
					   registry's REG_HOSTNAME_MAX */
#define CHILD_STATE_MAX		192

/* What cbdiscod needs beyond struct child_conf; addresses resolved. */
struct disco_conf {
	int			 enabled;	/* registry and token present */
	struct sockaddr_storage	 registry;
	char			 registry_host[DISCO_HOST_MAX];	/* TLS name */
	int			 has_stun;
	char			 hostname[CFG_STR_MAX];
	struct cidr		 subnet;	/* peers' addresses must lie in */
	uint32_t		 nallowed_ips;
	struct cidr		 allowed_ips[DISCO_AIPS_MAX];
	uint32_t		 nendpoints;	/* local candidates */
	struct sockaddr_storage	 endpoints[DISCO_ENDPOINTS_MAX];
	uint16_t		 keepalive;	/* for discovered peers */
	int			 token_expired;	/* why it is off, if it is */
	/*
	 * How peers' registry tokens are verified: as the node token is,
	 * with the key of IMSG_CFG_DISCO_KEY ("" accepts any iss or aud).
	 */
	enum jwt_keyalg		 verify_alg;
	char			 issuer[CFG_STR_MAX];
	char			 audience[CFG_STR_MAX];
};

/*
 * What cbrelayd needs beyond struct child_conf (doc/relay.md): the
 * relay's address resolved by the parent and the name its certificate
 * must carry.  The CA and the registry token follow in the same
 * transaction; never the node token or the private key.
 */
struct relay_conf {
	int			 enabled;	/* relay wanted and configured */
	struct sockaddr_storage	 relay;
	char			 relay_host[DISCO_HOST_MAX];	/* TLS name */
	char			 relay_name[HOSTPORT_MAX];	/* as configured */
};

/* A discovered peer, as cbdiscod asks the parent to configure it. */
struct disco_peer {
	uint8_t			 public_key[WG_KEY_LEN];
	uint32_t		 nendpoints;
	struct sockaddr_storage	 endpoints[DISCO_ENDPOINTS_MAX];
	uint32_t		 nallowed_ips;
	struct cidr		 allowed_ips[DISCO_AIPS_MAX];
	uint16_t		 keepalive;
	/*
	 * The hostname it registered, NUL-terminated, or "": 1 to
	 * DISCO_NAME_MAX printable ASCII characters without spaces
	 * (peer_name_valid); the parent refuses an update with any other.
	 */
	char			 name[DISCO_NAME_MAX + 1];
	int			 nat;	/* enum nat_mapping the peer said */
};

/* The part of the configuration a child may see: no key material. */
struct child_conf {
	uint64_t	 generation;
	int		 conn_type;
	int		 routing;
	int		 auto_discovery;
	int		 persistent;
	int		 auto_approve;
	uint32_t	 max_peers;
	uint16_t	 listen_port;
	uint16_t	 mtu;
	uint8_t		 public_key[WG_KEY_LEN];
	struct cidr	 address;
	char		 ifname[IFNAMSIZ];
	char		 metrics_address[HOSTPORT_MAX];
	char		 registry[CFG_STR_MAX];
	char		 stun[HOSTPORT_MAX];
	char		 relay[HOSTPORT_MAX];
	int		 log_verbose;
};

struct child_status {
	int		 proc;		/* enum proc_id */
	pid_t		 pid;
	uid_t		 uid;
	uint64_t	 uptime;	/* seconds */
	uint64_t	 msgs;		/* imsgs handled from the parent */
	uint64_t	 generation;	/* of the config it runs */
	uint64_t	 configs;	/* configurations received */
	char		 state[CHILD_STATE_MAX];	/* its own one-line summary */
};

struct ctl_status_main {
	pid_t		 pid;
	int		 conn_type;
	int		 routing;
	uint64_t	 uptime;
	uint64_t	 generation;
	uint64_t	 reloads;
	uint64_t	 reloads_failed;
	uint64_t	 ctl_bad;	/* refused control requests */
	uint64_t	 monitors_dropped;	/* fell too far behind */
	int		 log_verbose;
	char		 ifname[IFNAMSIZ];
	char		 public_key[WG_KEY_B64_LEN + 1];
	char		 config_path[PATH_MAX];
	uint16_t	 listen_port;
	uint32_t	 npeers;
	uint64_t	 cookies_sent;
	int		 offload;	/* tun TSO/GRO and UDP GSO/GRO */
	uint64_t	 tso_split;
	uint64_t	 gso_sends;
	uint64_t	 gso_refused;
	uint64_t	 gro_coalesced;
	uint64_t	 stun_seen;
	uint64_t	 drops[DROP_MAX];
	/* What cbdiscod asked for: admitted or refused, by reason. */
	uint64_t	 disco_admit[ADMIT_MAX];
	uint64_t	 disco_ep_dropped[ADMIT_EP_MAX];
	uint64_t	 child_fds_closed;	/* passed where none belongs */
	/* Paths (cbp2pd/mesh.c). */
	int		 p2p_unavailable;	/* every hybrid peer relayed */
	uint32_t	 peers_direct;
	uint32_t	 peers_relayed;
	uint32_t	 peers_no_path;
	uint64_t	 path_switches[PR_MAX];
	uint64_t	 mesh_refused;
	/* What cbrelayd said of peers' presence and the parent refused. */
	uint64_t	 relay_refused[RELAY_REFUSE_MAX];
	/* Our NAT's mapping, from STUN on the edge's two ports. */
	int		 nat_mapping;	/* enum nat_mapping */
	uint64_t	 nat_refused;	/* ALT-PORTs and peers' values */
	/* The node token's life (cbp2pd/expiry.c). */
	int64_t		 token_exp;	/* unix seconds, 0 without a token */
	int		 token_expired;	/* the edge left until a reload */
	/* The engine's crypto workers (cbp2pd/crypt.c). */
	uint32_t	 crypt_workers;	/* threads taking work */
	uint64_t	 crypt_parallel;	/* bursts they shared */
	char		 dns[DNS_WAY_NAME_MAX];	/* how the mesh's DNS is on */
	int		 uso;		/* the tun hands UDP super-packets */
	uint64_t	 uso_split;	/* and the engine cut this many */
};

struct ctl_peer {
	char		 public_key[WG_KEY_B64_LEN + 1];
	char		 endpoint[HOSTPORT_MAX];	/* "" when none */
	int		 path;				/* enum peer_path */
	char		 relay[HOSTPORT_MAX];		/* edge.relay, if relayed */
	int		 has_psk;
	int		 from_token;
	uint16_t	 keepalive;
	int64_t		 last_handshake;		/* unix seconds, 0 never */
	uint64_t	 rx_bytes;
	uint64_t	 tx_bytes;
	uint64_t	 rx_packets;			/* WireGuard messages */
	uint64_t	 tx_packets;
	uint32_t	 nallowed_ips;			/* IMSG_CTL_PEER_AIPs follow */
	char		 name[DISCO_NAME_MAX + 1];	/* "" when none */
	int		 relay_presence;		/* enum relay_presence */
	int64_t		 relay_since;	/* unix seconds it changed, 0 never */
	/* The path packets take now, why, and each path's health. */
	int		 routing;	/* enum peer_path: the policy */
	int		 active;	/* PATH_DIRECT or PATH_RELAY */
	int		 has_path;	/* 0: neither works (yet) */
	int		 reason;	/* enum path_reason */
	uint32_t	 switches;
	int64_t		 rtt_us;	/* of the path in use; -1 unknown */
	struct ctl_path {
		int64_t	 rtt_us;	/* -1 unknown */
		int64_t	 last_rx_ms;	/* ago; -1 never */
		uint32_t loss_pct;
		uint32_t probes;
	}		 direct, relayed;
	int		 nat;		/* enum nat_mapping the peer said */
};

/* cbmeshd's choice for one hybrid peer; the parent checks it. */
struct mesh_path {
	uint8_t		 pub[WG_KEY_LEN];
	int		 active;	/* PATH_DIRECT or PATH_RELAY */
	int		 reason;	/* enum path_reason */
};

/*
 * What ends a metrics snapshot: what struct ctl_status_main lacks.  The
 * parent sends MAIN, the peers, then this, every METRICS_PUSH_MS.
 */
struct mesh_metrics_end {
	uint32_t	 npeers;	/* IMSG_MESH_METRICS_PEERs sent */
	uint32_t	 max_peers;
	int		 disco_enabled;
	uint32_t	 npending;	/* waiting for cbp2pctl approve */
	int		 relay_enabled;
	int		 relay_up;	/* cbrelayd says: bound */
	uint64_t	 relay_connects;	/* connections bound, ever */
	uint64_t	 handshakes;	/* completed by the parent */
	/* The registry client as cbdiscod last said, and discovery's events. */
	struct disco_state reg;
	uint64_t	 disco_added;	/* peers made from the registry's list */
	uint64_t	 disco_removed;	/* ... and dropped from it */
	uint64_t	 disco_pending;	/* keys newly waiting for approval */
};

struct ctl_result {
	int		 ok;
	char		 msg[CTL_MSG_MAX];
};

struct proc_info {
	enum proc_id	 id;
	const char	*title;		/* executable and process name */
};

extern const struct proc_info proc_table[PROC_MAX];

const char	*proc_name(enum proc_id);
void		 proc_describe_status(int, char *, size_t);
const char	*drop_reason_name(enum drop_reason);
const char	*relay_presence_name(int);
const char	*relay_refusal_name(int);

/*
 * Start path with the child's end of a fresh socketpair on fd 3, every
 * other descriptor above 2 closed, /dev/null on standard input, in a
 * session of its own.  Returns the pid and sets *fd to the parent's end
 * (non-blocking, close-on-exec), or -1.
 */
pid_t	 proc_exec(const char *, char *const [], int *);

/* Options every child takes from its parent's command line. */
struct child_opts {
	int		 foreground;
	int		 verbose;
	int		 json;
	const char	*user;
	const char	*chroot_dir;
};

void	 proc_child_args(int, char *[], struct child_opts *, const char *);

/*
 * The runtime every child shares: parse the parent's arguments, put
 * /dev/null on standard output and error unless in the foreground (-d),
 * enter the sandbox with the child's policy (sandbox.h), take
 * configurations, answer status queries.  A child's own messages go to
 * its dispatch hook, which returns 1 when it handled the message; its
 * status hook, if any, writes state just before a status reply.
 */
struct child {
	enum proc_id		 id;
	struct event_base	*base;
	struct imsgev		*iev;
	struct child_conf	 conf;
	int			 have_conf;
	struct timespec		 started;
	uint64_t		 msgs;
	uint64_t		 configs;
	char			 state[CHILD_STATE_MAX];
	int			(*dispatch)(struct child *, struct imsg *);
	void			(*configure)(struct child *);
	void			(*init)(struct child *);	/* before sandbox */
	void			(*status)(struct child *);	/* fill state */
	void			*arg;
};

__dead void	 child_run(struct child *, int, char *[],
		    const struct sandbox_policy *);
uint64_t	 proc_uptime(const struct timespec *);

#endif /* CBP2P_PROC_H */
