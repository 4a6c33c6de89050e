/*
 * cbdiscod: registry client and peer discovery.  It registers the node
 * with the edge registry over HTTPS, heartbeats, follows the mesh's peer
 * list by long polling, applies the token's peer whitelist and tells the
 * parent which peers to configure.  It holds no key material: it shows
 * the registry a registry token, never the node token.
 */
#ifndef CBDISCOD_H
#define CBDISCOD_H

#include <sys/types.h>
#include <sys/socket.h>

#include <event.h>
#include <openssl/ssl.h>

#include "peerpolicy.h"
#include "proc.h"
#include "stun.h"

#define REG_TIMEOUT		10	/* seconds for a request */
#define REG_POLL_WAIT		25	/* seconds a long poll may wait */
#define REG_REPLY_MAX		(4 * 1024 * 1024)
#define REG_BODY_MAX		(16 * 1024)
#define REG_BACKOFF_MIN		1	/* seconds */
#define REG_BACKOFF_MAX		30
#define REG_TTL_DEFAULT		90	/* when the registry names none */
#define REG_TTL_MIN		3	/* seconds: a TTL taken from a reply */
#define REG_TTL_MAX		86400
#define REG_VERSION_MAX		(UINT64_MAX >> 1)	/* JSON's integers */
#define REG_PEERS_MAX		4096	/* entries of a list we accept */
#define STUN_REFRESH		20	/* seconds: keeps the NAT mapping */
#define STUN_RETRY		2
#define APPROVED_MAX		1024

enum reg_state {
	REG_OFF,		/* discovery not configured */
	REG_REGISTERING,
	REG_REGISTERED,
	REG_UNREACHABLE		/* backing off; known peers are kept */
};

/* A peer as the registry lists it, checked. */
struct reg_peer {
	uint8_t			 public_key[WG_KEY_LEN];
	struct disco_peer	 dp;
};

struct disco {
	struct child		*c;
	/* The running configuration and the one being received. */
	struct disco_conf	 conf, next;
	char			*ca, *next_ca;
	size_t			 calen, next_calen;
	char			*token, *next_token;
	uint8_t			(*allowed)[WG_KEY_LEN];
	size_t			 nallowed;
	uint8_t			(*next_allowed)[WG_KEY_LEN];
	size_t			 next_nallowed;
	uint8_t			 approved[APPROVED_MAX][WG_KEY_LEN];
	size_t			 napproved;

	SSL_CTX			*ctx;
	enum reg_state		 state;
	unsigned int		 failures;
	char			 last_error[64];
	time_t			 unreachable_since;
	uint64_t		 version;
	unsigned int		 ttl;
	int			 polling;
	struct sockaddr_storage	 reflexive;
	int			 has_reflexive;
	int			 reflexive_told;	/* the registry has it */
	struct event		 ev_heartbeat;
	struct event		 ev_retry;
	struct event		 ev_poll;
	struct event		 ev_stun;

	/* The registry's last good list, and what the parent was told. */
	struct reg_peer		*list;
	size_t			 nlist;
	struct disco_peer	*set;
	size_t			 nset;
	uint8_t			 pending[DISCO_PENDING_MAX][WG_KEY_LEN];
	size_t			 npending;
	uint64_t		 bad_replies;
	uint64_t		 bad_entries;
	uint64_t		 bad_names;	/* hostnames not shown */
	int			 nat;	/* our enum nat_mapping, the parent's */
	int			 nat_told;	/* as the registry last heard */
	uint64_t		 bad_nat;	/* peers' unknown "nat" */
};

/* registry.c */
int	 reg_ctx_load_ca(struct disco *);
void	 reg_register(struct disco *);
void	 reg_heartbeat(struct disco *);
void	 reg_poll(struct disco *);
int	 reg_parse_peers(struct disco *, const char *, size_t,
	    struct reg_peer **, size_t *, uint64_t *);
/*
 * A register or heartbeat reply: "" with its mesh version and the TTL
 * it asks for (REG_TTL_DEFAULT when absent or out of range), or why it
 * is refused, with nothing set.
 */
const char *reg_parse_ack(const char *, size_t, uint64_t *,
	    unsigned int *);

/* cbdiscod.c */
void	 disco_registered(struct disco *, uint64_t, unsigned int);
void	 disco_failed(struct disco *, const char *);
void	 disco_not_registered(struct disco *);
void	 disco_list(struct disco *, struct reg_peer *, size_t, uint64_t);
void	 disco_poll_failed(struct disco *);
void	 disco_update_state(struct disco *);

#endif /* CBDISCOD_H */
