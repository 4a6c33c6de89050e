/*
 * cbedged: the edge server of a cbp2p mesh.  The parent serves the peer
 * registry over HTTPS (doc/registry.md) and a STUN responder; when
 * relay_listen is set, a worker process of its own (cbedged -R) serves
 * the packet relay (doc/relay.md), so that relay load never delays the
 * registry.  Each binds or is given its sockets and loads its keys as
 * root, then enters its sandbox before it reads anything from the
 * network.
 */
#ifndef CBEDGED_H
#define CBEDGED_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <limits.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "imsg.h"
#include "log.h"
#include "ratelimit.h"
#include "registry.h"
#include "relayproto.h"
#include "token.h"

#define EDGE_DEFAULT_CONF	SYSCONFDIR "/cbedged.yaml"
#define EDGE_DEFAULT_LISTEN	"0.0.0.0:8443"
#define EDGE_DEFAULT_STUN	"0.0.0.0:3478"
/* stun_alt_port not set: the stun_listen port + 1, as coturn's default. */
#define EDGE_STUN_ALT_NEXT	UINT32_MAX
#define EDGE_DEFAULT_CHROOT	"/var/empty"
#define EDGE_DEFAULT_TTL	90
#define EDGE_DEFAULT_MAX_BODY	16384
#define EDGE_DEFAULT_PEERS	1024
#define EDGE_DEFAULT_MESHES	1024
#define EDGE_DEFAULT_RATE	20
#define EDGE_DEFAULT_BURST	40
#define EDGE_DEFAULT_POLL	REG_WAIT_MAX

/* Ranges a configuration may choose from. */
#define EDGE_TTL_MIN		2
#define EDGE_TTL_MAX		86400
#define EDGE_BODY_MIN		512
#define EDGE_BODY_MAX		(1024 * 1024)
#define EDGE_PEERS_MAX		65535
#define EDGE_MESHES_MAX		65535
#define EDGE_RATE_MAX		100000

/* HTTP */
#define EDGE_HTTP_BACKLOG	128
#define EDGE_HTTP_TIMEOUT	(REG_WAIT_MAX + 30)	/* > a long poll */
#define EDGE_HEADERS_MAX	(TOKEN_MAX_LEN + 8192)
#define EDGE_HEADERS_MIN	1024
#define EDGE_HEADER_LINES	32	/* header lines of a request */
#define EDGE_HEADER_LINES_MIN	4
#define EDGE_HEADER_LINES_MAX	1024
#define EDGE_HEAD_SLACK		2	/* evhttp's own caps: 2 x ours */
#define EDGE_POLLS_MAX		8192	/* long polls waiting, at most */
#define EDGE_POLLS_PER_TOKEN	2	/* a reconnecting node may hold two */
#define EDGE_POLLS_PER_TOKEN_MAX 64
#define EDGE_CONNS		1024	/* registry connections open */
#define EDGE_CONNS_MAX		65535
#define EDGE_CONNS_PER_SOURCE	64	/* from one address (IPv6: /64) */
#define EDGE_HANDSHAKES		64	/* TLS handshakes in progress */
#define EDGE_HANDSHAKE_SECS	5	/* accept to the end of TLS */
#define EDGE_REQUEST_SECS	10	/* to send a whole request */
#define EDGE_TIMEOUT_SECS_MAX	(REG_WAIT_MAX + 30)
#define EDGE_REFUSED_PATH	"/.refused"	/* httpconn.c's stand-in */
#define EDGE_LOG_INTERVAL_MS	10000	/* one line a cause, at most */
#define EDGE_SWEEP_MS		1000	/* expiry sweep period */

/* Replies counted by status code: 100 to 599. */
#define EDGE_STATUS_MAX		600
#define EDGE_METRICS_TIMEOUT	10	/* seconds for a scrape's request */

/* STUN */
#define EDGE_STUN_BATCH		32	/* datagrams per read event */
#define EDGE_STUN_BUF		2048

/* Relay: defaults and ranges of cbedged.yaml's relay_* keys. */
#define EDGE_RELAY_CONNS	1024		/* connections */
#define EDGE_RELAY_CONNS_MAX	65535
#define EDGE_RELAY_HANDSHAKES	64		/* TLS handshakes at once */
#define EDGE_RELAY_QUEUE	(256 * 1024)	/* bytes queued to a client */
#define EDGE_RELAY_QUEUE_MIN	RELAY_FRAME_MAX	/* one largest frame */
#define EDGE_RELAY_QUEUE_MAX	(64 * 1024 * 1024)
#define EDGE_RELAY_RATE		125000000	/* SEND bytes/s: 1 Gbit/s */
#define EDGE_RELAY_RATE_MIN	1024
#define EDGE_RELAY_RATE_MAX	UINT32_MAX
#define EDGE_RELAY_BURST	(1024 * 1024)	/* SEND bytes at once */
#define EDGE_RELAY_BURST_MIN	RELAY_FRAME_MAX
#define EDGE_RELAY_BURST_MAX	(64 * 1024 * 1024)
#define EDGE_RELAY_KEEPALIVE	RELAY_KEEPALIVE_SECS
#define EDGE_RELAY_KEEPALIVE_MIN 1

/* Relay: the worker's fixed rules (doc/relay.md). */
#define RELAY_ROLE_FLAG		"-R"	/* argv[1] of the worker */
#define RELAY_AUTH_SECS		10	/* accept to AUTH, handshake included */
#define RELAY_SILENT_INTERVALS	3	/* keepalive intervals of silence */
#define RELAY_GONE_INTERVAL_MS	1000	/* PEER_GONE per destination */
#define RELAY_TICK_MS		1000	/* deadlines and keepalives */
#define RELAY_STATS_MS		1000	/* counters to the parent */
#define RELAY_CLOSE_FLUSH_MS	2000	/* an ERROR's flush, at most */
#define RELAY_STOP_FLUSH_MS	1000	/* RESTARTING's flush at shutdown */
#define RELAY_STOP_WAIT_MS	3000	/* the parent waits for the worker */
#define RELAY_REAP_WAIT_MS	2000	/* a worker that closed its socket */
#define RELAY_REAP_POLL_MS	10
#define RELAY_RESTART_IN_MS	1000	/* RESTARTING: reconnect after */
#define RELAY_RESTART_TRY_MS	60000	/* RESTARTING: and keep trying */
#define RELAY_CTL_SLACK		(64 * 1024)	/* control frames over queue */
#define RELAY_INBUF_MAX		(2 * RELAY_FRAME_MAX)	/* read ahead */
#define RELAY_FDS_SPARE		32	/* descriptors beyond connections */
#define RELAY_ACCEPT_PAUSE_MS	1000	/* after accept(2) ran out of fds */
#define RELAY_ADDR_MAX		64	/* a client's address in log lines */

/* Messages between the parent and the relay worker (their own set). */
enum edge_imsg_type {
	IMSG_EDGE_NONE,
	IMSG_EDGE_RELAY_LISTEN,		/* p->w: none, with the socket */
	IMSG_EDGE_RELAY_READY,		/* w->p: struct relay_ready */
	IMSG_EDGE_RELAY_STATS,		/* w->p: struct relay_stats */
	IMSG_EDGE_RELAY_STOPPING	/* w->p: none: stopping on a signal */
};

/*
 * The relay's counters; relay_ctr_info[] names each one and the group
 * it is shown under in /v1/health.  Every connection accepted and not
 * refused at once is closed for exactly one RCTR_CLOSE_* reason.
 */
enum relay_ctr {
	RCTR_ACCEPTED,			/* connections taken */
	RCTR_REFUSED_CONNS,		/* closed at accept: connection cap */
	RCTR_REFUSED_HANDSHAKES,	/* closed at accept: handshake cap */
	RCTR_ACCEPT_ERRORS,		/* accept(2) failed */
	RCTR_AUTH_OK,
	RCTR_AUTH_BAD_TOKEN,		/* garbage, signature, expired, iss */
	RCTR_AUTH_FORBIDDEN,		/* a node token, not token_use registry */
	RCTR_AUTH_TIMEOUT,		/* no AUTH within RELAY_AUTH_SECS */
	RCTR_AUTH_NOT_AUTH,		/* a first frame other than AUTH */
	RCTR_AUTH_NO_MEMORY,
	RCTR_FRAMES_IN,			/* well-formed frames received */
	RCTR_FORWARDED,			/* SEND delivered as RECV */
	RCTR_BYTES_FORWARDED,		/* packet bytes of those */
	RCTR_KEEPALIVES,		/* KEEPALIVE sent */
	RCTR_PEER_PRESENT,		/* PEER_PRESENT sent */
	RCTR_PEER_GONE,			/* PEER_GONE sent, both reasons */
	RCTR_RESTARTING,		/* RESTARTING sent */
	RCTR_DROP_QUEUE_FULL,		/* RECV for a client over its queue */
	RCTR_DROP_RATE,			/* SEND over the sender's bucket */
	RCTR_DROP_NOT_HERE,		/* SEND to a key not in the mesh */
	RCTR_DROP_CONTROL,		/* a control frame over queue + slack */
	RCTR_CLOSE_CLIENT,		/* the client closed or reset */
	RCTR_CLOSE_TLS,			/* the TLS handshake failed */
	RCTR_CLOSE_AUTH,		/* AUTH refused or missing */
	RCTR_CLOSE_MALFORMED,		/* a frame the codec refused */
	RCTR_CLOSE_PROTOCOL,		/* a frame not allowed in its state */
	RCTR_CLOSE_SILENT,		/* silent for RELAY_SILENT_INTERVALS */
	RCTR_CLOSE_EXPIRED,		/* its token expired */
	RCTR_CLOSE_REPLACED,		/* a newer connection for its key */
	RCTR_CLOSE_SHUTDOWN,		/* the relay stopped */
	RCTR_CLOSE_NO_MEMORY,
	RCTR_MAX
};

struct relay_ctr_info {
	const char	*group;		/* NULL: at the top of "relay" */
	const char	*name;
};

extern const struct relay_ctr_info relay_ctr_info[RCTR_MAX];

/* The worker's limits in effect, once it is sandboxed. */
struct relay_ready {
	uint32_t	 conn_max;
	uint32_t	 handshake_max;
};

/* What the worker reports every RELAY_STATS_MS. */
struct relay_stats {
	uint64_t	 ctr[RCTR_MAX];
	uint32_t	 conns;		/* open now, closing ones included */
	uint32_t	 handshakes;	/* TLS handshakes in progress */
	uint32_t	 bound;		/* bound to a key */
	uint32_t	 meshes;	/* with a bound connection */
};

struct edge_conf {
	char		 path[PATH_MAX];
	char		 listen[HOSTPORT_MAX];
	char		 stun_listen[HOSTPORT_MAX];
	char		 certificate[PATH_MAX];
	char		 key[PATH_MAX];
	char		 verify_key_file[PATH_MAX];
	enum jwt_keyalg	 verify_alg;
	char		 issuer[CFG_STR_MAX];		/* "" accepts any */
	char		 audience[CFG_STR_MAX];		/* "" accepts any */
	char		 user[CFG_STR_MAX];
	char		 chroot_dir[PATH_MAX];
	uint32_t	 ttl;
	uint32_t	 max_body;
	uint32_t	 max_peers_per_mesh;
	uint32_t	 max_meshes;
	uint32_t	 rate;
	uint32_t	 burst;
	uint32_t	 long_poll_max;
	uint32_t	 long_polls_per_token;
	uint32_t	 max_conns;
	uint32_t	 max_conns_per_source;
	uint32_t	 max_handshakes;
	uint32_t	 handshake_timeout;		/* seconds */
	uint32_t	 request_timeout;		/* seconds */
	uint32_t	 max_header_bytes;
	uint32_t	 max_header_lines;
	char		 relay_listen[HOSTPORT_MAX];	/* "": no relay */
	uint32_t	 relay_max_conns;
	uint32_t	 relay_max_handshakes;
	uint32_t	 relay_queue;
	uint32_t	 relay_send_rate;
	uint32_t	 relay_send_burst;
	uint32_t	 relay_keepalive;
	int		 log_verbose;
	enum log_format	 log_format;
	uint32_t	 stun_alt_port;			/* 0: none */
	char		 metrics_address[HOSTPORT_MAX];	/* "": no metrics */

	unsigned char	*verify_key;			/* file contents */
	size_t		 verify_key_len;
};

/*
 * A registry connection (httpconn.c), from accept to close: admitted or
 * refused at once, given a short time for its TLS handshake and then for
 * each whole request, its request heads checked before evhttp reads
 * them.  Every connection is closed for at most one HCTR_ reason.
 */
enum hconn_ctr {
	HCTR_ACCEPTED,			/* admitted */
	HCTR_REFUSED_CONNS,		/* closed at accept: connection cap */
	HCTR_REFUSED_SOURCE,		/* closed at accept: per-source cap */
	HCTR_REFUSED_HANDSHAKES,	/* closed at accept: handshake cap */
	HCTR_HANDSHAKE_TIMEOUT,		/* TLS not done in handshake_timeout */
	HCTR_REQUEST_TIMEOUT,		/* no whole request in request_timeout */
	HCTR_MAX
};

struct hconn_ctr_info {
	const char	*group;		/* NULL: at the top of "connections" */
	const char	*name;
};

extern const struct hconn_ctr_info hconn_ctr_info[HCTR_MAX];

enum hconn_in {
	HI_HEAD,		/* reading a request head */
	HI_BODY,		/* passing its body to evhttp */
	HI_DRAIN_HEAD,		/* refused: dropping the rest of the head */
	HI_DRAIN_BODY,		/* refused: dropping the body announced */
	HI_DISCARD		/* answered: nothing more reaches evhttp */
};

struct hconn {
	TAILQ_ENTRY(hconn)	 entry;
	struct edge		*e;
	struct bufferevent	*bev;		/* the filter evhttp reads */
	SSL			*ssl;
	struct event		*timer;
	struct event		*flush_ev;	/* evhttp wrote to bev */
	struct event		*wrote_ev;	/* TLS wrote it all */
	struct bufferevent	*tls;		/* under bev */
	int			 writing;	/* an answer is going out */
	uint64_t		 accepted_ms;
	uint64_t		 body_left;
	enum hconn_in		 in;
	int			 eoh;		/* of "\n\r\n" seen, draining */
	int			 checked;	/* by hconn_admit() */
	int			 counted;	/* in hc_open */
	int			 handshaking;	/* in hc_handshakes */
	int			 closing;	/* freed when libevent is done */
	int			 busy;		/* a request is being answered */
	enum reg_reason		 refusal;	/* for EDGE_REFUSED_PATH */
	char			 why[REG_ERR_MAX];
	uint8_t			 key[RATELIMIT_KEY_MAX];
	size_t			 keylen;
	char			 addr[HOSTPORT_MAX];
};
TAILQ_HEAD(hconn_list, hconn);

/* A line logged at most once an interval, with what it left out. */
struct lograte {
	uint64_t	 last_ms;
	uint64_t	 suppressed;
};

/* A GET /v1/peers waiting for its mesh to change. */
struct poll {
	TAILQ_ENTRY(poll)	 entry;
	struct evhttp_request	*req;
	struct event		*timer;
	struct regtoken		 tok;
	uint64_t		 since;
};
TAILQ_HEAD(poll_list, poll);

struct edge {
	struct edge_conf	 conf;
	struct event_base	*base;
	SSL_CTX			*ssl_ctx;
	struct evhttp		*http;
	int			 http_fd;
	int			 stun_fd;
	struct event		*stun_ev;
	struct event		*sweep_ev;
	struct registry		*reg;
	struct ratelimit	 http_rl;
	struct ratelimit	 stun_rl;
	struct poll_list	 polls;
	size_t			 npolls;
	size_t			 polls_max;
	uint64_t		 refused[REG_REASON_MAX];
	uint64_t		 stun_answered;
	uint64_t		 stun_refused;

	/* Registry connections (httpconn.c). */
	struct hconn_list	 hconns;
	struct event		*hc_admit_ev;	/* new connections to check */
	size_t			 hc_open;	/* admitted, not yet freed */
	size_t			 hc_handshakes;	/* TLS handshakes going on */
	size_t			 hc_per_source;	/* the caps in effect */
	size_t			 hc_handshake_max;
	int			 hc_exidx;	/* SSL ex_data: the hconn */
	uint64_t		 hc_ctr[HCTR_MAX];
	struct lograte		 hc_log[HCTR_MAX];
	struct lograte		 refused_log[REG_REASON_MAX];

	int			 foreground;
	int			 verbose;	/* -v given */
	int			 exiting;
	int			 exit_code;

	/* The relay worker, when relay_listen is set. */
	char			 self[PATH_MAX];	/* our executable */
	int			 relay_fd;	/* until handed over */
	pid_t			 relay_pid;	/* 0: none, -1: reaped */
	struct imsgev		 relay_iev;
	struct event		*relay_sigchld;
	int			 relay_ready;
	int			 relay_stopping;	/* it said it stops */
	struct relay_ready	 relay_limits;
	struct relay_stats	 relay_stats;
	uint64_t		 relay_stats_ms;	/* when they came */

	/* The second STUN port, for the node's NAT mapping test. */
	int			 stun_alt_fd;
	struct event		*stun_alt_ev;
	uint16_t		 stun_port;	/* stun_listen's */

	/* /metrics on metrics_address (metrics.c), plain HTTP. */
	int			 metrics_fd;	/* until served */
	struct evhttp		*metrics_http;
	uint64_t		 http_status[EDGE_STATUS_MAX];	/* replies */
	uint64_t		 polls_total;	/* long polls taken */
	uint64_t		 scrapes;
	uint64_t		 started_ms;
};

extern struct edge	*edge;

/* parse.c */
int	 edge_conf_load(const char *, struct edge_conf *, char *, size_t);
void	 edge_conf_free(struct edge_conf *);

/* httpd.c */
const char *edge_ssl_error(void);
SSL_CTX	*httpd_tls_init(const struct edge_conf *, char *, size_t);
enum reg_reason edge_token_check(const struct edge_conf *, const char *,
	    size_t, struct regtoken *, char *, size_t);
int	 httpd_init(struct edge *, char *, size_t);
void	 httpd_start(struct edge *);
void	 httpd_shutdown(struct edge *);
void	 httpd_mesh_changed(const char *, uint64_t, void *);
uint64_t edge_now_ms(void);

/* httpconn.c */
int	 hconn_init(struct edge *, char *, size_t);
void	 hconn_shutdown(struct edge *);
struct bufferevent *hconn_bev(struct event_base *, void *);
struct hconn *hconn_of(struct evhttp_request *);
void	 hconn_request(struct hconn *, struct evhttp_request *);
json_t	*hconn_health(struct edge *);
int	 edge_lograte(struct lograte *, uint64_t, uint64_t *);
/* request.c: what httpd.c reads of a request, evhttp aside */
enum route_id {
	R_REGISTER,
	R_HEARTBEAT,
	R_PEERS,
	R_LEAVE,
	R_HEALTH
};

struct route {
	const char	*path;
	enum route_id	 id;
	int		 method;	/* the one EVHTTP_REQ_* it takes */
	const char	*allow;		/* its Allow header */
};

/* GET /v1/peers?since=VERSION&wait=SECONDS, each at most once. */
struct peers_query {
	uint64_t	 since;
	uint64_t	 wait;		/* at most REG_WAIT_MAX */
	int		 have_since;
	int		 have_wait;
};

/* The route of a path exactly, or NULL. */
const struct route *req_route(const char *);
/* "Bearer TOKEN" (any case, spaces before TOKEN): TOKEN, else NULL. */
const char *req_bearer(const char *);
/* 0, or -1 with *why (a 400's text) and *pq zeroed. */
int	 req_peers_query(const char *, struct peers_query *, const char **);
/* s in buf (len > 0): printable ASCII, '?' for the rest, cut to fit. */
const char *req_echo(const char *, char *, size_t);

/* stund.c */
int	 stund_init(struct edge *, char *, size_t);
void	 stund_start(struct edge *);
void	 stund_shutdown(struct edge *);

/* relayproc.c: the parent's side of the relay worker */
int	 relayproc_start(struct edge *, const char *, char *, size_t);
void	 relayproc_stop(struct edge *);
json_t	*relayproc_health(struct edge *);

/* metrics.c: Prometheus /metrics */
int	 metrics_init(struct edge *, char *, size_t);
void	 metrics_shutdown(struct edge *);

/* relay.c: the worker */
__dead void relay_main(int, char *[]);

/* Bind a socket of type to "address:port", numeric; -1 with err. */
int	 edge_bind(const char *, int, char *, size_t);

#endif /* CBEDGED_H */
