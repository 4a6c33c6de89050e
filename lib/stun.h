/*
 * STUN (RFC 5389) Binding requests and responses, as far as cbp2p needs
 * them: a node learns its reflexive (NAT-mapped) address by sending a
 * Binding request from its WireGuard socket to the edge, which answers
 * with XOR-MAPPED-ADDRESS.  Pure: no sockets, buffers are the caller's.
 */
#ifndef CBP2P_STUN_H
#define CBP2P_STUN_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define STUN_HEADER_LEN		20
#define STUN_MAGIC_COOKIE	0x2112a442
#define STUN_TXID_LEN		12
#define STUN_MAX_MSG		548	/* what we build or accept, RFC 5389 */
#define STUN_BINDING_REQUEST	0x0001
#define STUN_BINDING_SUCCESS	0x0101
#define STUN_BINDING_ERROR	0x0111

/*
 * ALT-PORT: cbp2p's own comprehension-optional attribute (not
 * registered with IANA, so any other client skips it) in a Binding
 * success response: the server answers on this port of the same
 * address too.  A client that asks both from one socket learns whether
 * its NAT maps per destination.  RFC 5780's OTHER-ADDRESS would say
 * another address, which cbedged does not have; a client doing RFC
 * 5780's tests would misread one that repeats the first address.
 */
#define STUN_ATTR_ALT_PORT	0xc0b2

/*
 * A NAT's mapping behaviour (RFC 4787 section 4.1) as a node learns it
 * from two Binding answers from one server on two ports: the same
 * mapped address and port for both is endpoint-independent (a cone
 * NAT, or no NAT at all); any difference is endpoint-dependent
 * (symmetric).  Unknown until both answered.
 */
enum nat_mapping {
	NAT_MAP_UNKNOWN,
	NAT_MAP_INDEPENDENT,
	NAT_MAP_SYMMETRIC,
	NAT_MAP_MAX
};

/* 1 if buf looks like a STUN message (top bits, cookie, length). */
int	stun_is_stun(const uint8_t *, size_t);

/* A Binding request with txid and a FINGERPRINT; returns its length. */
size_t	stun_build_request(uint8_t *, size_t, const uint8_t [STUN_TXID_LEN]);

/*
 * Parse a Binding request (the edge's side): 0 and txid filled when buf
 * is a well-formed Binding request (attributes are walked and checked
 * for bounds; a FINGERPRINT, if present, must be right), -1 otherwise.
 */
int	stun_parse_request(const uint8_t *, size_t,
	    uint8_t [STUN_TXID_LEN]);

/*
 * A Binding success response to txid telling the client it was seen at
 * sa (AF_INET or AF_INET6): XOR-MAPPED-ADDRESS then FINGERPRINT.
 * Returns its length, 0 if it does not fit.
 */
size_t	stun_build_response(uint8_t *, size_t, const uint8_t [STUN_TXID_LEN],
	    const struct sockaddr *);

/* The same with ALT-PORT naming port (0: no ALT-PORT) before FINGERPRINT. */
size_t	stun_build_response_alt(uint8_t *, size_t,
	    const uint8_t [STUN_TXID_LEN], const struct sockaddr *, uint16_t);

/*
 * Parse a Binding success response: 0 with the mapped address in *ss
 * (XOR-MAPPED-ADDRESS preferred, MAPPED-ADDRESS accepted) when it
 * answers txid and is well formed, -1 otherwise.  txid NULL: any.
 */
int	stun_parse_response(const uint8_t *, size_t,
	    const uint8_t [STUN_TXID_LEN], struct sockaddr_storage *);

/*
 * The same, and the port ALT-PORT names in *alt_port (0 when the
 * response has none, or a malformed one: it is only a hint).
 */
int	stun_parse_response_alt(const uint8_t *, size_t,
	    const uint8_t [STUN_TXID_LEN], struct sockaddr_storage *,
	    uint16_t *);

/* "unknown", "independent", "symmetric"; "unknown" out of range too. */
const char	*nat_mapping_name(int);
/* The enum of a name above, or -1 for any other string. */
int		 nat_mapping_parse(const char *);
/*
 * The mapping two answers show: NAT_MAP_INDEPENDENT when both name the
 * same address and port, NAT_MAP_SYMMETRIC when they differ,
 * NAT_MAP_UNKNOWN when either is not AF_INET or AF_INET6.
 */
int		 nat_mapping_of(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);

#endif /* CBP2P_STUN_H */
