/*
 * What an operator watches live: cbp2pctl ping, netcheck and monitor,
 * and the registry client's state that all three (and /metrics) show.
 * The messages cross the control socket and the parent's imsgs; the
 * names are one list each, so an enum, its text and its labels cannot
 * drift.
 *
 *	ping:	cbp2pctl sends IMSG_CTL_PING (struct ctl_ping_req) per
 *		probe; the parent answers each with one IMSG_CTL_PING_REPLY
 *		(struct ctl_ping), a pong or why there is none.
 *	netcheck: IMSG_CTL_NETCHECK; one IMSG_CTL_NETCHECK_REPLY once
 *		cbdiscod made a fresh registry request and cbrelayd said
 *		how its connection is.
 *	monitor: IMSG_CTL_MONITOR subscribes the connection; the parent
 *		answers IMSG_CTL_RESULT, then writes an IMSG_CTL_EVENT
 *		(struct ctl_event) per event until the client leaves or
 *		falls too far behind.
 */
#ifndef CBP2P_OPS_H
#define CBP2P_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "wgkey.h"

#define OPS_NAME_MAX		64	/* a peer's registry name */
#define OPS_TEXT_MAX		128	/* an error or an event's detail */
#define OPS_PEER_ARG_MAX	128	/* PEER as the operator typed it */
#define OPS_STATE_MAX		24	/* a state's name */
/* The edge's STUN ports a node asks: the configured one, ALT-PORT. */
#define OPS_STUN_SERVERS	2

/* The registry client's state, as cbdiscod reports it. */
#define REGC_STATES(X)						\
	X(REG_OFF,		"off")					\
	X(REG_REGISTERING,	"registering")				\
	X(REG_REGISTERED,	"registered")				\
	X(REG_UNREACHABLE,	"unreachable")

#define REGC_STATE_ENUM(e, name)	e,
enum reg_state {
	REGC_STATES(REGC_STATE_ENUM)
	REG_STATE_MAX
};
#undef REGC_STATE_ENUM

/* What went wrong with a registry request, counted by kind. */
#define REGC_ERRORS(X)						\
	X(REGC_ERR_CONNECT,	"connect")	/* TCP, TLS, timeout */	\
	X(REGC_ERR_HTTP,	"http_status")	/* not 200 */		\
	X(REGC_ERR_REPLY,	"bad_reply")	/* not what it must be */ \
	X(REGC_ERR_EXPIRED,	"not_registered") /* heartbeat: 404 */	\
	X(REGC_ERR_REQUEST,	"request")	/* could not be made */

#define REGC_ERR_ENUM(e, name)		e,
enum regc_error {
	REGC_ERRORS(REGC_ERR_ENUM)
	REGC_ERR_MAX
};
#undef REGC_ERR_ENUM

/*
 * cbdiscod -> parent (IMSG_DISCO_STATE): on every change of state, after
 * every register and heartbeat, and as the answer to a netcheck (peerid
 * names the asker then).
 */
struct disco_state {
	int		 state;		/* enum reg_state */
	uint64_t	 errors[REGC_ERR_MAX];
	int64_t		 rtt_us;	/* last register/heartbeat; -1 none */
	int64_t		 rtt_at;	/* unix seconds of it, 0 never */
	char		 last_error[OPS_TEXT_MAX];
	int		 fresh;		/* a netcheck's own request */
};

/* cbrelayd -> parent (IMSG_RELAY_NETCHECK): its connection, measured. */
struct relay_check {
	int		 enabled;
	int		 state;		/* cbrelayd's enum relay_state */
	char		 state_name[OPS_STATE_MAX];
	int64_t		 tcp_rtt_us;	/* the kernel's smoothed RTT; -1 */
	int64_t		 connect_us;	/* TCP, TLS 1.3 and AUTH; -1 */
	int64_t		 since;		/* unix seconds connected, 0 */
	uint64_t	 connects;
	char		 last_error[OPS_TEXT_MAX];
};

/* ---- ping ------------------------------------------------------------ */

#define PING_STATUSES(X)					\
	X(PING_OK,		"pong")					\
	X(PING_TIMEOUT,		"timeout")				\
	X(PING_NO_SESSION,	"no_session")				\
	X(PING_NO_ENDPOINT,	"no_endpoint")				\
	X(PING_NO_PEER,		"no_peer")				\
	X(PING_BUSY,		"busy")

#define PING_STATUS_ENUM(e, name)	e,
enum ping_status {
	PING_STATUSES(PING_STATUS_ENUM)
	PING_STATUS_MAX
};
#undef PING_STATUS_ENUM

#define PING_TIMEOUT_MS_MIN	100
#define PING_TIMEOUT_MS_MAX	60000

struct ctl_ping_req {
	char		 peer[OPS_PEER_ARG_MAX];	/* name, key or address */
	uint32_t	 seq;
	uint32_t	 timeout_ms;
};

struct ctl_ping {
	uint32_t	 seq;
	int		 status;	/* enum ping_status */
	char		 public_key[WG_KEY_B64_LEN + 1];
	char		 name[OPS_NAME_MAX + 1];
	int		 path;		/* PATH_DIRECT or PATH_RELAY: the pong's */
	char		 endpoint[HOSTPORT_MAX];	/* direct: its source */
	int64_t		 rtt_us;
};

/*
 * What PEER names: a public key in base64, a tunnel address (the peer
 * whose allowed IPs hold it), or a registry name.  Pure, for tests.
 */
enum peer_arg_kind {
	PEER_ARG_BAD,
	PEER_ARG_KEY,
	PEER_ARG_ADDR,
	PEER_ARG_NAME
};

struct peer_arg {
	enum peer_arg_kind	 kind;
	uint8_t			 key[WG_KEY_LEN];
	int			 af;
	uint8_t			 addr[16];
};

enum peer_arg_kind peer_arg_parse(const char *, struct peer_arg *);

/* ---- netcheck -------------------------------------------------------- */

struct ctl_netcheck {
	/* STUN from the WireGuard socket: both servers of the last rounds. */
	int		 has_stun;
	char		 stun_server[OPS_STUN_SERVERS][HOSTPORT_MAX];	/* "" */
	char		 mapped[OPS_STUN_SERVERS][HOSTPORT_MAX];	/* "" */
	int		 nat_mapping;	/* enum nat_mapping */
	int		 udp_blocked;
	uint32_t	 stun_unanswered;
	/* The registry, with a fresh request's round trip. */
	int		 disco_enabled;
	char		 registry[HOSTPORT_MAX];
	struct disco_state reg;
	/* The relay. */
	char		 relay[HOSTPORT_MAX];
	struct relay_check relay_state;
};

/* ---- monitor --------------------------------------------------------- */

#define CTL_EVENTS(X)						\
	X(EV_PEER_ADDED,	"peer_added")				\
	X(EV_PEER_REMOVED,	"peer_removed")				\
	X(EV_PATH,		"path")					\
	X(EV_HANDSHAKE,		"handshake")				\
	X(EV_REGISTRY,		"registry")				\
	X(EV_RELAY,		"relay")				\
	X(EV_NAT,		"nat")

#define CTL_EVENT_ENUM(e, name)		e,
enum ctl_event_type {
	CTL_EVENTS(CTL_EVENT_ENUM)
	EV_MAX
};
#undef CTL_EVENT_ENUM

/*
 * One event.  Peer events name the peer; state events say the new
 * state (a path with its reason, the registry's or the relay's state)
 * and detail says more, for people.
 */
struct ctl_event {
	int64_t		 time_ms;	/* unix milliseconds */
	int		 type;		/* enum ctl_event_type */
	char		 public_key[WG_KEY_B64_LEN + 1];	/* "" none */
	char		 name[OPS_NAME_MAX + 1];
	char		 state[OPS_NAME_MAX];	/* path, registry, relay, nat */
	char		 reason[OPS_NAME_MAX];	/* a path's; "" none */
	char		 detail[OPS_TEXT_MAX];
};

const char	*reg_state_name(int);
const char	*regc_error_name(int);
const char	*ping_status_name(int);
const char	*ctl_event_name(int);

/*
 * An event as one line of text: "2026-11-30T12:00:00.123Z path alpha
 * (AbCdEfGh) direct" and so on; returns what snprintf would.
 */
int		 ctl_event_format(const struct ctl_event *, char *, size_t);

#endif /* CBP2P_OPS_H */
