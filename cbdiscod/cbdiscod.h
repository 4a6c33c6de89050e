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

#include <sodium.h>

#include "peerpolicy.h"
#include "proc.h"
#include "stun.h"
#include "token.h"

#define REG_TIMEOUT		10	/* seconds for a request */
#define REG_POLL_WAIT		25	/* seconds a long poll may wait */
/* REG_PEERS_MAX entries with their registry tokens (about 1 KB each) */
#define REG_REPLY_MAX		(8 * 1024 * 1024)	/* body of a reply */
#define REG_REPLY_HEADERS_MAX	8192	/* status line and headers */
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

/*
 * enum reg_state (lib/ops.h): REG_OFF, discovery not configured;
 * REG_UNREACHABLE, backing off with the known peers kept.
 */
#define DISCO_CHECKS_MAX	8	/* netchecks waiting for a heartbeat */

#define REG_TOKHASH_LEN		crypto_generichash_BYTES

/*
 * A peer as the registry lists it, checked: against the subnet, and
 * against the registry token it carries, which the issuer signed.  The
 * token's claims are kept with a hash of its bytes, so that the next
 * list verifies a signature only for a token it has not seen.
 */
struct reg_peer {
	uint8_t			 public_key[WG_KEY_LEN];
	struct disco_peer	 dp;
	uint8_t			 tokhash[REG_TOKHASH_LEN];
	struct regtoken		 rt;
	unsigned int		 keygen;	/* of the key that verified */
};

/* An entry refused for its token, so that a repeat is not logged again. */
struct reg_refused {
	uint8_t			 public_key[WG_KEY_LEN];
	uint8_t			 tokhash[REG_TOKHASH_LEN];
};

struct disco {
	struct child		*c;
	/* The running configuration and the one being received. */
	struct disco_conf	 conf, next;
	char			*ca, *next_ca;
	size_t			 calen, next_calen;
	char			*token, *next_token;
	/* The issuer's key for peers' tokens, and our own token's mesh. */
	unsigned char		*key, *next_key;
	size_t			 keylen, next_keylen;
	unsigned int		 keygen;	/* bumped when the key changes */
	char			 mesh[REGTOKEN_MESH_MAX + 1];
	uint8_t			(*allowed)[WG_KEY_LEN];
	size_t			 nallowed;
	uint8_t			(*next_allowed)[WG_KEY_LEN];
	size_t			 next_nallowed;
	uint8_t			 approved[APPROVED_MAX][WG_KEY_LEN];
	size_t			 napproved;

	SSL_CTX			*ctx;
	enum reg_state		 state;
	unsigned int		 failures;
	char			 last_error[OPS_TEXT_MAX];
	uint64_t		 errors[REGC_ERR_MAX];
	int64_t			 rtt_us;	/* register/heartbeat; -1 */
	int64_t			 rtt_at;	/* unix seconds */
	/* Netchecks (their control ids) waiting for a fresh heartbeat. */
	uint32_t		 checks[DISCO_CHECKS_MAX];
	size_t			 nchecks;
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
	uint64_t		 untrusted;	/* entries their token refutes */
	struct reg_refused	*refused;	/* of the last list */
	size_t			 nrefused;
	uint64_t		 replies_refused;	/* malformed or over a cap */
	uint64_t		 replies_late;	/* past a request's deadline */
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
void	 disco_report(struct disco *, uint32_t, int);
void	 disco_check_done(struct disco *);

#endif /* CBDISCOD_H */
