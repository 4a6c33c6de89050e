/*
 * Segmentation offload for the tun device: the virtio-net header the
 * kernel puts before each packet when the tun has IFF_VNET_HDR, the
 * Internet checksum, splitting a TCP super-packet (TSO) into segments a
 * peer's kernel takes as they are, and completing a checksum the kernel
 * left partial.  No process state: unit-tested in regress/lib.
 */
#ifndef CBP2P_OFFLOAD_H
#define CBP2P_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN		10
#define VNET_F_NEEDS_CSUM	0x01	/* csum_start/offset: complete it */
#define VNET_GSO_NONE		0
#define VNET_GSO_TCPV4		1
#define VNET_GSO_UDP		3
#define VNET_GSO_TCPV6		4
#define VNET_GSO_UDP_L4		5	/* USO: UDP datagrams of gso_size */
#define VNET_GSO_ECN		0x80
#define OFFLOAD_SUPER_MAX	65535	/* the largest packet the tun hands */

/* struct virtio_net_hdr in host order (the tun's, on little endian). */
struct vnet_hdr {
	uint8_t		 flags;
	uint8_t		 gso_type;
	uint16_t	 hdr_len;
	uint16_t	 gso_size;
	uint16_t	 csum_start;
	uint16_t	 csum_offset;
};

void		 vnet_hdr_get(const uint8_t *, struct vnet_hdr *);
void		 vnet_hdr_put(uint8_t *, const struct vnet_hdr *);

uint32_t	 csum_partial(const uint8_t *, size_t, uint32_t);
uint32_t	 csum_copy(uint8_t *, const uint8_t *, size_t, uint32_t);
uint16_t	 csum_fold(uint32_t);

/*
 * Complete a checksum the kernel left partial: the field at start +
 * offset holds the pseudo-header sum; the result covers start to the
 * end.  -1 when the offsets do not fit the packet.
 */
int		 offload_csum(uint8_t *, size_t, const struct vnet_hdr *);

/*
 * A TCP super-packet (gso_type TCPV4 or TCPV6) or a UDP one (UDP_L4):
 * tso_count() checks it and says how many segments it makes, or -1;
 * tso_segment() writes segment i to out (at most cap bytes) with its
 * own IP length, IPv4 ID, sequence number and flags (TCP) or length
 * (UDP), and checksums, and returns its length, or 0 on error.
 */
int		 tso_count(const struct vnet_hdr *, const uint8_t *, size_t);
size_t		 tso_segment(const struct vnet_hdr *, const uint8_t *, size_t,
		    int, uint8_t *, size_t);

/*
 * UDP segmentation (UDP_SEGMENT): one send carries datagrams of one
 * size but the last, at most UDP_GSO_SEGS_MAX of them, in one IP packet
 * of at most 64 KiB.  A message holds the datagrams of one super-packet
 * (sp, an id; 0 for packets read one by one), so that the receiver gets
 * it back whole: wireguard-go coalesces for its tun only what one read
 * brings, at most two such messages, and a super-packet cut across
 * messages reaches its tun as several packets (and wakes it as often).
 * gso_msg_start() opens a message with its first datagram;
 * gso_msg_add() says whether the next one joins it (1) or must open
 * the next message (0).  offload_tso_segs() is the most segments a
 * super-packet may have for all its datagrams, each at most dgram_max
 * bytes, to go in one message.
 */
#define UDP_GSO_SEGS_MAX	64		/* the kernel's UDP_MAX_SEGMENTS */
#define UDP_GSO_BYTES_MAX4	(65535 - 20 - 8)	/* IPv4, UDP headers */
#define UDP_GSO_BYTES_MAX6	(65535 - 8)	/* the payload length: UDP */

struct gso_msg {
	size_t		 seglen;	/* the first datagram's length */
	size_t		 bytes;
	unsigned int	 nseg;
	uint32_t	 sp;
	int		 closed;	/* a shorter one ended it */
};

void		 gso_msg_start(struct gso_msg *, size_t, uint32_t);
int		 gso_msg_add(struct gso_msg *, size_t, uint32_t, size_t);
unsigned int	 offload_tso_segs(size_t);

/*
 * Coalescing for the tun's receive side (GRO), the rules the kernel and
 * wireguard-go follow: TCP segments of one flow, in sequence, flags ACK
 * or ACK|PSH (a PSH ends the run), the same header length and options,
 * the same IPv4 TOS, TTL and DF without IP options, or the same IPv6
 * class, label and hop limit, all but the last of the first one's
 * payload size, 64 KiB at most.  The first segment's headers become the
 * super-packet's: the kernel takes it with a partial checksum.
 */
struct gro_info {
	int		 v4;
	size_t		 l4;		/* TCP header offset */
	size_t		 hdrlen;	/* IP and TCP headers */
	size_t		 payload;
	uint32_t	 seq;
	uint8_t		 flags;		/* TCP flags */
};

int		 gro_parse(const uint8_t *, size_t, struct gro_info *);
int		 gro_same_flow(const uint8_t *, const struct gro_info *,
		    const uint8_t *, const struct gro_info *);
int		 gro_follows(const uint8_t *, const struct gro_info *,
		    const struct gro_info *, size_t, const uint8_t *,
		    const struct gro_info *);
void		 gro_finish(uint8_t *, const struct gro_info *, size_t,
		    uint8_t, struct vnet_hdr *);

#endif /* CBP2P_OFFLOAD_H */
