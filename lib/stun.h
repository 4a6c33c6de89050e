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

/*
 * Parse a Binding success response: 0 with the mapped address in *ss
 * (XOR-MAPPED-ADDRESS preferred, MAPPED-ADDRESS accepted) when it
 * answers txid and is well formed, -1 otherwise.  txid NULL: any.
 */
int	stun_parse_response(const uint8_t *, size_t,
	    const uint8_t [STUN_TXID_LEN], struct sockaddr_storage *);

#endif /* CBP2P_STUN_H */
