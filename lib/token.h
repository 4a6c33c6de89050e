/*
 * JWTs: the node's token (struct token, everything a node is told about
 * itself and its mesh) and the registry token (struct regtoken, what
 * cbdiscod shows the edge), verified with libjwt under one configured
 * algorithm and validated claim by claim; and minting both for
 * cbp2pctl.  Pure logic: time is passed in.
 */
#ifndef CBP2P_TOKEN_H
#define CBP2P_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "wgkey.h"

#define TOKEN_MAX_LEN		(64 * 1024)	/* bytes of compact JWT */
#define VERIFY_KEY_MAX_LEN	(16 * 1024)	/* PEM or HS256 secret */
#define HS256_SECRET_MIN_LEN	32
#define RSA_KEY_BITS_MIN	2048	/* RS256 keys, signing or verifying */
#define CFG_MAX_ALLOWED_IPS	256	/* per peer or per node */
#define CFG_MAX_STATIC_PEERS	1024
#define CFG_MAX_WHITELIST	4096
#define CFG_MAX_DNS		8
#define CFG_MAX_DNS_SEARCH	6	/* resolv.conf(5)'s historic limit */
#define CFG_STR_MAX		256	/* iss, aud, sub, hostnames */
#define CFG_MTU_MIN_V4		576
#define CFG_MTU_MIN_V6		1280
#define CFG_MTU_MAX		9000
#define CFG_MTU_DEFAULT		1420
#define CFG_MAX_PEERS_DEFAULT	64
#define CFG_MAX_PEERS_CAP	65535	/* peer_whitelist.max_peers limit */
#define CFG_MAX_AUD		16	/* entries of an "aud" array */
#define CFG_ERR_MAX		512	/* one error line, token or config */

enum conn_type {
	CONN_CLIENT_SERVER,
	CONN_SERVER_SERVER,
	CONN_P2P_MESH
};

enum routing_mode {
	ROUTING_HYBRID,
	ROUTING_DIRECT,
	ROUTING_RELAY
};

enum jwt_keyalg {
	KEYALG_RS256,		/* default: nodes cannot mint tokens */
	KEYALG_ES256,
	KEYALG_HS256
};

struct static_peer {
	uint8_t		 public_key[WG_KEY_LEN];
	uint8_t		 preshared_key[WG_KEY_LEN];
	int		 has_psk;
	char		 endpoint[HOSTPORT_MAX];	/* "" when none */
	struct cidr	*allowed_ips;
	size_t		 nallowed_ips;
	uint16_t	 persistent_keepalive;		/* seconds, 0 off */
};

/* Claims of the node's JWT, validated. */
struct token {
	enum conn_type	 conn_type;

	/* wireguard_config */
	uint8_t		 private_key[WG_KEY_LEN];
	uint8_t		 public_key[WG_KEY_LEN];
	struct cidr	*allowed_ips;
	size_t		 nallowed_ips;
	char		 endpoint[HOSTPORT_MAX];
	uint16_t	 listen_port;			/* 0: random */

	/* mesh_config */
	int		 auto_discovery;
	int		 persistent;
	enum routing_mode routing;
	char		 encryption[CFG_STR_MAX];

	/* peer_whitelist */
	uint8_t		(*allowed_peers)[WG_KEY_LEN];
	size_t		 nallowed_peers;
	int		 auto_approve;
	uint32_t	 max_peers;

	/* network_config */
	struct cidr	 subnet;			/* af 0 when absent */
	struct cidr	 address;			/* the node's tunnel address */
	struct ipaddr	 dns[CFG_MAX_DNS];
	size_t		 ndns;
	char		 dns_search[CFG_MAX_DNS_SEARCH][HOSTPORT_HOST_MAX];
	size_t		 ndns_search;
	uint16_t	 mtu;

	/* peers (server-server) */
	struct static_peer *peers;
	size_t		 npeers;

	char		*registry_token;		/* NULL when absent */

	int64_t		 exp;
	int64_t		 nbf;				/* 0 when absent */
	char		 iss[CFG_STR_MAX];
	char		 aud[CFG_STR_MAX];
	char		 sub[CFG_STR_MAX];
};

/*
 * Verify a compact JWT with the given algorithm and key and validate its
 * claims into tok.  A token whose header names another algorithm is
 * refused (algorithm confusion, alg none).  On error one line in err:
 * "token: wireguard_config.mtu: ...".
 */
int	 token_verify(const char *, size_t, enum jwt_keyalg,
	    const unsigned char *, size_t, const char *, const char *, time_t,
	    struct token *, char *, size_t);
void	 token_free(struct token *);		/* zeroes key material */

/*
 * A registry token (doc/registry.md): what cbdiscod shows cbedged instead
 * of the node token, which holds the private key.
 */
#define REGTOKEN_MESH_MAX	64
#define REGTOKEN_AIPS_MAX	64

struct regtoken {
	uint8_t		 public_key[WG_KEY_LEN];
	char		 mesh[REGTOKEN_MESH_MAX + 1];
	char		 sub[CFG_STR_MAX];
	int64_t		 exp;
	/*
	 * What the issuer lets the node claim in the mesh; a registration
	 * may claim no other address and nothing outside these prefixes.
	 * Absent from the token: not checked.
	 */
	int		 has_address;
	struct cidr	 address;
	int		 has_allowed_ips;
	struct cidr	 allowed_ips[REGTOKEN_AIPS_MAX];
	size_t		 nallowed_ips;
};

/*
 * An issuer key fit for its algorithm, checked where keys are loaded and
 * before each use: an RSA key (PEM, public or private) of fewer than
 * RSA_KEY_BITS_MIN bits is refused.  -1 with one line in err.
 */
int	 token_key_check(enum jwt_keyalg, const unsigned char *, size_t,
	    char *, size_t);

int	 regtoken_verify(const char *, size_t, enum jwt_keyalg,
	    const unsigned char *, size_t, const char *, const char *, time_t,
	    struct regtoken *, char *, size_t);

/*
 * Sign a JSON object of claims; *out is malloc'd, caller frees.  The
 * header is the default {"typ":"JWT","alg":...}.  The key is an HS256
 * secret (at least HS256_SECRET_MIN_LEN bytes) or a PEM private key.
 */
int	 token_mint(const char *, enum jwt_keyalg, const unsigned char *,
	    size_t, char **, char *, size_t);
/*
 * As token_mint, with extra header fields from a JSON object (e.g.
 * {"kid":"2024-01"}); NULL gives the default header.  "alg" may not be
 * set there: it always follows the key's algorithm.
 */
int	 token_mint_hdr(const char *, const char *, enum jwt_keyalg,
	    const unsigned char *, size_t, char **, char *, size_t);

const char	*conn_type_name(enum conn_type);
const char	*routing_mode_name(enum routing_mode);
const char	*keyalg_name(enum jwt_keyalg);
int		 keyalg_parse(const char *, enum jwt_keyalg *);

#endif /* CBP2P_TOKEN_H */
