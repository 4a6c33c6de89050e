/*
 * The WireGuard userspace configuration protocol (wireguard.com/xplatform),
 * so that wg(8) can configure cbp2pd over /var/run/wireguard/IFNAME.sock.
 * Only the pure part lives here: framing of the bytes read from a
 * connection, parsing a "set" request into a structure, and building the
 * text of replies.  Nothing here touches sockets or the running device.
 *
 * The daemon, per connection:
 *
 *	uapi_reader_init(&rd);
 *	on every read, after appending to buf:
 *		switch (uapi_reader_scan(&rd, buf, len, &reqlen)) {
 *		case UAPI_READ_MORE:	keep reading (EOF here: just close)
 *		case UAPI_READ_ERROR:	log rd.error and close: the stream
 *					is out of sync (wireguard-go also
 *					just closes on an unknown operation)
 *		case UAPI_READ_DONE:	buf[0, reqlen) is one request of rd.op
 *		}
 *	UAPI_OP_GET:	uapi_buf_init(&out, UAPI_MAX_REPLY);
 *			uapi_get_device(&out, &dev);
 *			uapi_get_peer(&out, &peer) for each peer;
 *			uapi_get_end(&out);  (on failure: uapi_get_error())
 *	UAPI_OP_SET:	err = uapi_set_parse(buf, reqlen, &set, msg, sizeof(msg));
 *			if (err == 0) err = apply set atomically;
 *			uapi_set_free(&set);
 *			uapi_set_reply(&out, err);
 *	write out.data[0, out.len), uapi_buf_free(&out), drop reqlen bytes
 *	from buf, uapi_reader_init(&rd) and go on with the next request.
 *
 * wg(8) opens one connection per request, but the protocol allows several
 * in a row, as wireguard-go serves them.
 */
#ifndef CBP2P_UAPI_H
#define CBP2P_UAPI_H

#include <sys/types.h>
#include <sys/socket.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "wgkey.h"

#define UAPI_MAX_REQUEST	(1024 * 1024)	/* bytes, framing included */
#define UAPI_MAX_LINE		256	/* bytes of one line, newline excluded */
#define UAPI_MAX_PEERS		4096	/* peer sections in one set request */
/*
 * allowed_ip lines over all peers.  Low enough to be reachable inside
 * UAPI_MAX_REQUEST, so the limit is real and testable: the shortest such
 * line, "allowed_ip=::/0\n", is 16 bytes and 65536 of them would not fit.
 */
#define UAPI_MAX_ALLOWED_IPS	32768
#define UAPI_MAX_REPLY		(16 * 1024 * 1024)	/* a get reply */
#define UAPI_ERR_MAX		256	/* a parse error message */
#define UAPI_KEY_HEX_LEN	(2 * WG_KEY_LEN)

enum uapi_op {
	UAPI_OP_NONE,
	UAPI_OP_GET,
	UAPI_OP_SET
};

enum uapi_read {
	UAPI_READ_MORE,		/* no complete request yet */
	UAPI_READ_DONE,		/* a complete request starts the buffer */
	UAPI_READ_ERROR		/* never a valid request: error holds why */
};

/*
 * Framing state over one connection's input buffer, so each scan only
 * looks at the bytes added since the previous one.
 */
struct uapi_reader {
	size_t		 off;		/* bytes already checked */
	size_t		 line;		/* where the current line starts */
	enum uapi_op	 op;		/* known once the first line ends */
	int		 error;		/* errno value after UAPI_READ_ERROR */
};

/* One peer section of a set request, in the order it was given. */
struct uapi_peer {
	uint8_t		 public_key[WG_KEY_LEN];
	int		 remove;		/* remove=true: ignore the rest */
	int		 update_only;		/* do not create the peer */
	int		 has_preshared_key;	/* all zero: no psk from now on */
	uint8_t		 preshared_key[WG_KEY_LEN];
	int		 has_endpoint;
	struct sockaddr_storage endpoint;	/* AF_INET or AF_INET6 */
	/*
	 * "[fe80::1%eth0]:51820", as wg(8) writes a link-local endpoint:
	 * resolving the name is the daemon's business (if_nametoindex),
	 * sin6_scope_id is 0 until then.  "" for none or a numeric scope.
	 */
	char		 endpoint_ifname[IF_NAMESIZE];
	int		 has_persistent_keepalive;
	uint16_t	 persistent_keepalive;	/* seconds, 0 off */
	int		 replace_allowed_ips;	/* before adding allowed_ips */
	struct cidr	*allowed_ips;		/* host bits cleared */
	size_t		 nallowed_ips;
	size_t		 allowed_ips_cap;	/* internal */
};

/*
 * A parsed set request.  Apply in this order: private key, listen port,
 * fwmark, replace_peers, then peers[] in order (a public key may appear
 * in more than one section, later sections act on the result of earlier
 * ones, as wireguard-go applies them line by line).
 */
struct uapi_set {
	int		 has_private_key;	/* all zero: remove the key */
	uint8_t		 private_key[WG_KEY_LEN];
	int		 has_listen_port;
	uint16_t	 listen_port;		/* 0: pick one */
	int		 has_fwmark;
	uint32_t	 fwmark;		/* 0: off */
	int		 replace_peers;
	struct uapi_peer *peers;
	size_t		 npeers;
	size_t		 nallowed_ips;		/* total over peers[] */
	size_t		 peers_cap;		/* internal */
};

/*
 * Append-only text with a hard size limit.  The first failure sticks in
 * error (ENOMEM, EMSGSIZE) and makes every later append a no-op, so a
 * builder can append everything and check once.
 */
struct uapi_buf {
	char		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	int		 error;
};

/* What a get reply says about the device. */
struct uapi_device_info {
	int		 has_private_key;
	uint8_t		 private_key[WG_KEY_LEN];
	uint16_t	 listen_port;		/* 0: not printed */
	uint32_t	 fwmark;		/* 0: not printed */
};

/* What a get reply says about one peer. */
struct uapi_peer_info {
	uint8_t		 public_key[WG_KEY_LEN];
	int		 has_preshared_key;
	uint8_t		 preshared_key[WG_KEY_LEN];
	struct sockaddr_storage endpoint;	/* AF_UNSPEC: none */
	int64_t		 last_handshake_sec;	/* 0: never */
	int64_t		 last_handshake_nsec;
	uint64_t	 tx_bytes;
	uint64_t	 rx_bytes;
	uint16_t	 persistent_keepalive;
	const struct cidr *allowed_ips;
	size_t		 nallowed_ips;
};

void		 uapi_reader_init(struct uapi_reader *);
enum uapi_read	 uapi_reader_scan(struct uapi_reader *, const char *, size_t,
		    size_t *);

/*
 * Parse one complete set request ("set=1\n" ... "\n\n", as framed by
 * uapi_reader_scan).  Returns 0, or an errno value with one line in err
 * and set left empty: EINVAL for a malformed value, EPROTO for an unknown
 * or misplaced key or broken framing, E2BIG past UAPI_MAX_PEERS or
 * UAPI_MAX_ALLOWED_IPS, EMSGSIZE past UAPI_MAX_REQUEST or UAPI_MAX_LINE,
 * ENOMEM.  Nothing of a refused request is to be applied.
 */
int		 uapi_set_parse(const char *, size_t, struct uapi_set *, char *,
		    size_t);
void		 uapi_set_free(struct uapi_set *);	/* zeroes key material */

/*
 * The device as it stands, for uapi_set_check: what a set request's
 * sections act on one after the other.
 */
struct uapi_device_view {
	int		 has_private_key;
	uint8_t		 public_key[WG_KEY_LEN];	/* when it has one */
	size_t		 npeers;
	size_t		 max_peers;
	size_t		 aip_nodes;		/* allowed-IPs trie nodes now */
	size_t		 aip_nodes_max;		/* 0: unlimited */
	/* 1 if a peer with this public key exists now */
	int		(*peer_exists)(const uint8_t *, void *);
	void		*arg;
};

/*
 * Everything in a parsed set request that could fail once applying has
 * begun, checked against the device first, so that the request is
 * applied whole or not at all: an unusable private key, a peer with the
 * node's own key (the one in effect after the request) or a low-order
 * key that would be made while a private key is set, a peer made past
 * max_peers (removals earlier in the request count), and more
 * allowed-IPs nodes than the trie may hold (each prefix may take two).
 * Returns 0, or EINVAL, ENOSPC or E2BIG with one line in err naming the
 * peer section (1 for the first).
 */
int		 uapi_set_check(const struct uapi_set *,
		    const struct uapi_device_view *, char *, size_t);

void		 uapi_buf_init(struct uapi_buf *, size_t);
void		 uapi_buf_reset(struct uapi_buf *);	/* zeroes, keeps memory */
void		 uapi_buf_free(struct uapi_buf *);	/* zeroes: held keys */
int		 uapi_buf_add(struct uapi_buf *, const char *, size_t);
int		 uapi_buf_printf(struct uapi_buf *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));

/* Get reply: device lines, then each peer, then uapi_get_end(). */
int		 uapi_get_device(struct uapi_buf *,
		    const struct uapi_device_info *);
int		 uapi_get_peer(struct uapi_buf *, const struct uapi_peer_info *);
int		 uapi_get_end(struct uapi_buf *);
/* Replace whatever was built with a get error (errno value > 0). */
int		 uapi_get_error(struct uapi_buf *, int);
/* The whole reply to a set: 0 or the errno value uapi_set_parse gave. */
int		 uapi_set_reply(struct uapi_buf *, int);

int		 uapi_key_is_zero(const uint8_t [WG_KEY_LEN]);

#endif /* CBP2P_UAPI_H */
