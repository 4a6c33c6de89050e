/*
 * cbedged: the edge server of a cbp2p mesh.  One process: the peer
 * registry over HTTPS (doc/registry.md) and a STUN responder.  It binds
 * its sockets and loads its keys as root, then enters the sandbox
 * before it reads anything from the network.
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
#include <openssl/ssl.h>

#include "addr.h"
#include "log.h"
#include "ratelimit.h"
#include "registry.h"
#include "token.h"

#define EDGE_DEFAULT_CONF	SYSCONFDIR "/cbedged.yaml"
#define EDGE_DEFAULT_LISTEN	"0.0.0.0:8443"
#define EDGE_DEFAULT_STUN	"0.0.0.0:3478"
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
#define EDGE_BODY_SLACK		4	/* evhttp's own cap: 4 x max_body */
#define EDGE_POLLS_MAX		8192	/* long polls waiting, at most */
#define EDGE_SWEEP_MS		1000	/* expiry sweep period */

/* STUN */
#define EDGE_STUN_BATCH		32	/* datagrams per read event */
#define EDGE_STUN_BUF		2048

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
	int		 log_verbose;
	enum log_format	 log_format;

	unsigned char	*verify_key;			/* file contents */
	size_t		 verify_key_len;
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
	int			 foreground;
};

extern struct edge	*edge;

/* parse.c */
int	 edge_conf_load(const char *, struct edge_conf *, char *, size_t);
void	 edge_conf_free(struct edge_conf *);

/* httpd.c */
SSL_CTX	*httpd_tls_init(const struct edge_conf *, char *, size_t);
int	 httpd_init(struct edge *, char *, size_t);
void	 httpd_start(struct edge *);
void	 httpd_shutdown(struct edge *);
void	 httpd_mesh_changed(const char *, uint64_t, void *);
uint64_t edge_now_ms(void);
size_t	 edge_addr_key(const struct sockaddr *, uint8_t [RATELIMIT_KEY_MAX]);

/* stund.c */
int	 stund_init(struct edge *, char *, size_t);
void	 stund_start(struct edge *);
void	 stund_shutdown(struct edge *);

/* Bind a socket of type to "address:port", numeric; -1 with err. */
int	 edge_bind(const char *, int, char *, size_t);

#endif /* CBEDGED_H */
