/*
 * STUN (lib/stun.c) on arbitrary datagrams, both ways: the edge parses
 * a Binding request and answers it, the node parses a Binding response.
 * A request the edge accepts gets an answer that the node's parser
 * takes back to the address and ALT-PORT it was built from; whatever
 * the parsers accept they also recognise as STUN, and a mapped address
 * they give is an IPv4 or IPv6 one.
 *
 * Input: 16 address bytes, a be16 port, a be16 ALT-PORT, a byte whose
 * low bit picks IPv6, then the datagram.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "stun.h"
#include "fuzz.h"

#define ADDR_BYTES	16

static void
check_mapped(const struct sockaddr_storage *ss)
{
	FZ_CHECK(ss->ss_family == AF_INET || ss->ss_family == AF_INET6);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage	 ss, got;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct fz		 f;
	uint8_t			 addr[ADDR_BYTES], txid[STUN_TXID_LEN];
	uint8_t			 out[STUN_MAX_MSG], *msg;
	uint16_t		 port, alt, galt;
	size_t			 len, n;
	int			 v6;

	fz_init(&f, data, size);
	fz_copy(&f, addr, sizeof(addr));
	port = fz_u16(&f);
	alt = fz_u16(&f);
	v6 = fz_u8(&f) & 1;
	/* The datagram alone on the heap: ASan sees any read past it. */
	len = f.left;
	msg = fz_dup(f.p, len);

	/* The node's side: any answer, or one to a given txid. */
	if (stun_parse_response_alt(msg, len, NULL, &got, &galt) == 0) {
		FZ_CHECK(stun_is_stun(msg, len));
		check_mapped(&got);
		if (len >= STUN_HEADER_LEN)
			FZ_CHECK(stun_parse_response(msg, len, msg + 8,
			    &got) == 0);
	}

	/* The edge's side, and its answer read back by the node. */
	if (stun_parse_request(msg, len, txid) == 0) {
		FZ_CHECK(stun_is_stun(msg, len));
		memset(&ss, 0, sizeof(ss));
		if (v6) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(port);
			memcpy(&sin6->sin6_addr, addr, sizeof(addr));
		} else {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
		}
		n = stun_build_response_alt(out, sizeof(out), txid,
		    (struct sockaddr *)&ss, alt);
		FZ_CHECK(n > 0 && n <= sizeof(out));
		FZ_CHECK(stun_is_stun(out, n));
		FZ_CHECK(stun_parse_response_alt(out, n, txid, &got,
		    &galt) == 0);
		FZ_CHECK(galt == alt);
		FZ_CHECK(nat_mapping_of(&ss, &got) == NAT_MAP_INDEPENDENT);
		/* Another transaction's answer is not ours. */
		txid[0] ^= 1;
		FZ_CHECK(stun_parse_response_alt(out, n, txid, &got,
		    &galt) == -1);
		/* A request is not an answer, nor an answer a request. */
		FZ_CHECK(stun_parse_request(out, n, txid) == -1);
	}
	free(msg);
	return (0);
}
