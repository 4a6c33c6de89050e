/*
 * Admission of a discovered peer: what the parent lets cbdiscod (and,
 * through it, the registry) do to the data plane.  cbdiscod is
 * unprivileged and parses what a remote registry says; the parent checks
 * every IMSG_PEER_SET against the token and the peers it already has
 * before anything changes.  Pure logic, unit-tested; cbp2pd/disco.c
 * counts and applies the verdict.
 *
 * The rules, in the order they are checked; the first that fails
 * refuses the whole update, names the reason, and nothing changes for
 * that peer:
 *
 *  malformed       more than DISCO_ENDPOINTS_MAX endpoints or
 *                  DISCO_AIPS_MAX prefixes, or a prefix that is neither
 *                  IPv4 /0-32 nor IPv6 /0-128.
 *  bad_name        a name (the hostname the peer registered) that is not
 *                  NUL-terminated within its field, or not 1 to
 *                  DISCO_NAME_MAX printable ASCII characters without
 *                  spaces (peer_name_valid); an empty name is no name.
 *                  cbdiscod drops such names itself, so one reaching
 *                  the parent says cbdiscod is not what it should be.
 *  discovery_off   discovery is not running (not a p2p-mesh or
 *                  client-server token with auto_discovery, a
 *                  registry and a registry token):
 *                  nobody can have been discovered.
 *  self            the node's own public key.
 *  static_key      the key belongs to a peer of the token or one `wg
 *                  set` made: their word stands, discovery changes
 *                  nothing of it (its prefixes, endpoints, keepalive).
 *  not_approved    the key is neither in peer_whitelist.allowed_peers
 *                  nor approved by the operator, and the mesh is not
 *                  open (auto_approve with an empty allowed_peers): the
 *                  rule cbdiscod applies to the registry's list.
 *  default_route   a prefix of length 0 (0.0.0.0/0, ::/0), whatever
 *                  the subnet says.
 *  outside_subnet  a prefix not inside network_config.subnet (same
 *                  family, at least as long, the same leading bits).
 *                  Without a subnet the mesh is the network of the
 *                  node's own network_config.address (its prefix
 *                  length), and only host prefixes (/32, /128) inside
 *                  it are admitted: nobody granted a peer a wider one.
 *                  With a /32 or /128 address and no subnet, nothing
 *                  is.
 *  owned_prefix    a prefix that equals, covers or lies inside a prefix
 *                  of a token or `wg set` peer.  Equal: WireGuard gives
 *                  a prefix to its newest owner.  Inside: the longest
 *                  prefix wins, so the discovered peer would take those
 *                  addresses.  Covering: once the static prefix goes (a
 *                  reload, `wg set ... remove`), its addresses would
 *                  fall to the discovered peer instead of being
 *                  dropped.  Overlaps between discovered peers are the
 *                  registry's business and are not refused.
 *  max_peers       the key is new and one more peer would exceed
 *                  max_peers (every peer counts, static ones too).
 *
 * Host bits of an admitted prefix are cleared, as wg(8) does.
 *
 * Endpoints of an admitted peer are judged one by one: a bad one is
 * dropped and counted by reason, the others are kept, and a peer left
 * with none is still admitted (it reaches us; its handshake tells us
 * where it is).  Dropped are: another family than IPv4 or IPv6
 * (family), port 0 (port_zero), 0.0.0.0/8 and :: (unspecified),
 * 127.0.0.0/8 and ::1 (loopback), 224.0.0.0/4 and ff00::/8
 * (multicast), 255.255.255.255 (broadcast).  An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is judged as its IPv4 address.
 */
#ifndef CBP2P_PEERADMIT_H
#define CBP2P_PEERADMIT_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "peerpolicy.h"

struct disco_peer;
struct wg_aip;

/* Reasons, and the names status shows: one table, so they cannot drift. */
#define ADMIT_REASONS(X)					\
	X(ADMIT_OK,		"admitted")			\
	X(ADMIT_MALFORMED,	"malformed")			\
	X(ADMIT_DISCOVERY_OFF,	"discovery_off")		\
	X(ADMIT_SELF,		"self")				\
	X(ADMIT_STATIC_KEY,	"static_key")			\
	X(ADMIT_NOT_APPROVED,	"not_approved")			\
	X(ADMIT_DEFAULT_ROUTE,	"default_route")		\
	X(ADMIT_OUTSIDE_SUBNET,	"outside_subnet")		\
	X(ADMIT_OWNED_PREFIX,	"owned_prefix")			\
	X(ADMIT_MAX_PEERS,	"max_peers")			\
	X(ADMIT_BAD_NAME,	"bad_name")

#define ADMIT_EP_REASONS(X)					\
	X(ADMIT_EP_OK,		"ok")				\
	X(ADMIT_EP_FAMILY,	"family")			\
	X(ADMIT_EP_PORT_ZERO,	"port_zero")			\
	X(ADMIT_EP_UNSPECIFIED,	"unspecified")			\
	X(ADMIT_EP_LOOPBACK,	"loopback")			\
	X(ADMIT_EP_MULTICAST,	"multicast")			\
	X(ADMIT_EP_BROADCAST,	"broadcast")

#define ADMIT_ENUM(e, name)	e,
enum admit_reason {
	ADMIT_REASONS(ADMIT_ENUM)
	ADMIT_MAX
};

enum admit_ep_reason {
	ADMIT_EP_REASONS(ADMIT_ENUM)
	ADMIT_EP_MAX
};
#undef ADMIT_ENUM

/* Whose key it is today. */
enum admit_known {
	ADMIT_KEY_NEW,		/* no peer has it */
	ADMIT_KEY_DISCOVERED,	/* a peer discovery configured */
	ADMIT_KEY_STATIC	/* a peer of the token or of `wg set` */
};

/* What the parent knows when one update comes. */
struct admit {
	int			 enabled;	/* discovery is running */
	struct cidr		 subnet;	/* af 0: the token has none */
	struct cidr		 address;	/* the node's, with its plen */
	/* self, allowed, approved, auto_approve; its max_peers unused */
	const struct policy	*policy;
	uint32_t		 npeers;	/* configured now, every source */
	uint32_t		 max_peers;	/* the data plane's bound */
	enum admit_known	 known;
	/*
	 * The data plane's allowed IPs, and which of their owners are
	 * token or `wg set` peers; aip NULL: no prefix is owned.
	 */
	const struct wg_aip	*aip;
	int			(*owner_static)(void *, const void *);
	void			*arg;
};

struct admit_result {
	enum admit_reason	 reason;
	struct cidr		 prefix;	/* the offending one, if any */
	struct cidr		 owner;		/* owned_prefix: what it hits */
	uint32_t		 ndropped;	/* endpoints dropped */
	uint32_t		 dropped[ADMIT_EP_MAX];	/* by reason */
};

/*
 * Judge in.  On ADMIT_OK, out is in with its prefixes masked and its
 * bad endpoints dropped (out may be in); otherwise out is untouched.
 * r always gets the reason and the endpoint counts.
 */
enum admit_reason	 peer_admit(const struct admit *,
			    const struct disco_peer *, struct disco_peer *,
			    struct admit_result *);
enum admit_ep_reason	 admit_endpoint(const struct sockaddr_storage *);

/*
 * A peer's name as it may be shown: len bytes, 1 to DISCO_NAME_MAX
 * printable ASCII characters without spaces (no controls, nothing a
 * terminal would interpret, one word in a text column).
 */
int			 peer_name_valid(const char *, size_t);

const char	*admit_reason_name(enum admit_reason);
const char	*admit_ep_reason_name(enum admit_ep_reason);

#endif /* CBP2P_PEERADMIT_H */
