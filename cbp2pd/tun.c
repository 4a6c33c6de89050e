/*
 * The tun device and its configuration over rtnetlink: open it, give it
 * the node's address and MTU, bring it up; and, for cbp2p-wg, follow
 * what ip(8) does to it (its MTU, its deletion).
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "cbp2pd.h"
#include "log.h"

#define TUN_DEV			"/dev/net/tun"
/* Linux 6.2's UDP segmentation offload; Debian 12's headers predate it. */
#ifndef TUN_F_USO4
#define TUN_F_USO4		0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6		0x40
#endif
#define NL_BUF_SIZE		4096
#define NL_TIMEOUT_MS		2000

struct nl_req {
	struct nlmsghdr	 hdr;
	union {
		struct ifaddrmsg	 ifa;
		struct ifinfomsg	 ifi;
	} u;
	unsigned char	 attrs[256];
};

/*
 * Open the tun device named ifname; no packet-information header.
 * With offload, every packet carries a virtio-net header and the kernel
 * may hand over TCP super-packets of up to 64 KiB (TSO) with their
 * checksums left to complete, and UDP ones (USO) where it can: the
 * engine splits them (offload.c).  *offload says what the device took,
 * 0 when it refused, and *uso whether UDP came too.  Returns the
 * fd (non-blocking, close-on-exec) or -1.
 */
int
tun_open(const char *ifname, unsigned int *ifindex, int *offload,
    int *uso)
{
	struct ifreq	 ifr;
	unsigned int	 feat = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	int		 fd, hdrlen = TUN_VNET_HDR_LEN;

	*uso = 0;

	if ((fd = open(TUN_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1) {
		log_warn("%s: %s", __func__, TUN_DEV);
		return (-1);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (*offload)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name)) >=
	    sizeof(ifr.ifr_name)) {
		log_warnx("%s: interface name too long: %s", __func__, ifname);
		goto fail;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		log_warn("%s: TUNSETIFF %s", __func__, ifname);
		goto fail;
	}
	/* UDP super-packets too where the kernel has them (6.2 on). */
	if (*offload && ioctl(fd, TUNSETVNETHDRSZ, &hdrlen) == 0 &&
	    ioctl(fd, TUNSETOFFLOAD, feat | TUN_F_USO4 | TUN_F_USO6) == 0)
		*uso = 1;
	else if (*offload && (ioctl(fd, TUNSETVNETHDRSZ, &hdrlen) == -1 ||
	    ioctl(fd, TUNSETOFFLOAD, feat) == -1)) {
		/* The header stays; the kernel sends no super-packets. */
		log_warn("%s: %s: TUNSETOFFLOAD", __func__, ifname);
		ioctl(fd, TUNSETOFFLOAD, 0);
	}
	if ((*ifindex = if_nametoindex(ifr.ifr_name)) == 0) {
		log_warn("%s: if_nametoindex %s", __func__, ifname);
		goto fail;
	}
	return (fd);
fail:
	close(fd);
	return (-1);
}

static int
nl_attr(struct nl_req *req, unsigned short type, const void *data,
    size_t len)
{
	struct rtattr	*rta;
	size_t		 off = NLMSG_ALIGN(req->hdr.nlmsg_len);

	if (off + RTA_SPACE(len) > sizeof(*req))
		return (-1);
	rta = (struct rtattr *)((unsigned char *)req + off);
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->hdr.nlmsg_len = off + RTA_SPACE(len);
	return (0);
}

/* Send one request and wait for its acknowledgement. */
static int
nl_talk(struct nl_req *req)
{
	struct sockaddr_nl	 sa;
	unsigned char		 buf[NL_BUF_SIZE];
	struct nlmsghdr		*h;
	struct nlmsgerr		*e;
	struct pollfd		 pfd;
	ssize_t			 n;
	int			 fd, rc = -1;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1) {
		log_warn("%s: socket", __func__);
		return (-1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	req->hdr.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->hdr.nlmsg_seq = 1;
	if (sendto(fd, req, req->hdr.nlmsg_len, 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1) {
		log_warn("%s: sendto", __func__);
		goto done;
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, NL_TIMEOUT_MS) <= 0) {
			log_warnx("%s: no answer from the kernel", __func__);
			goto done;
		}
		if ((n = recv(fd, buf, sizeof(buf), 0)) == -1) {
			log_warn("%s: recv", __func__);
			goto done;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		    h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != req->hdr.nlmsg_seq)
				continue;
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			e = NLMSG_DATA(h);
			if (e->error != 0) {
				errno = -e->error;
				goto done;
			}
			rc = 0;
			goto done;
		}
	}
done:
	close(fd);
	return (rc);
}

int
tun_set_address(unsigned int ifindex, const struct cidr *addr)
{
	struct nl_req	 req;
	size_t		 alen = addr->af == AF_INET ? 4 : 16;

	memset(&req, 0, sizeof(req));
	req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.hdr.nlmsg_type = RTM_NEWADDR;
	req.hdr.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	req.u.ifa.ifa_family = addr->af;
	req.u.ifa.ifa_prefixlen = addr->plen;
	req.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.u.ifa.ifa_index = ifindex;
	if (nl_attr(&req, IFA_LOCAL, addr->addr, alen) == -1 ||
	    nl_attr(&req, IFA_ADDRESS, addr->addr, alen) == -1)
		return (-1);
	if (nl_talk(&req) == -1) {
		log_warn("%s: RTM_NEWADDR", __func__);
		return (-1);
	}
	return (0);
}

/* The MTU, and the link up if up is set (else its state is kept). */
static int
tun_set_link(unsigned int ifindex, unsigned int mtu, int up)
{
	struct nl_req	 req;
	uint32_t	 m = mtu;

	memset(&req, 0, sizeof(req));
	req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.hdr.nlmsg_type = RTM_NEWLINK;
	req.u.ifi.ifi_family = AF_UNSPEC;
	req.u.ifi.ifi_index = ifindex;
	if (up) {
		req.u.ifi.ifi_flags = IFF_UP;
		req.u.ifi.ifi_change = IFF_UP;
	}
	if (nl_attr(&req, IFLA_MTU, &m, sizeof(m)) == -1)
		return (-1);
	if (nl_talk(&req) == -1) {
		log_warn("%s: RTM_NEWLINK", __func__);
		return (-1);
	}
	return (0);
}

int
tun_set_mtu_up(unsigned int ifindex, unsigned int mtu)
{
	return (tun_set_link(ifindex, mtu, 1));
}

/* As wireguard-go leaves its tun: the MTU set, down, no address. */
int
tun_set_mtu(unsigned int ifindex, unsigned int mtu)
{
	return (tun_set_link(ifindex, mtu, 0));
}

/*
 * The most segments in a TCP super-packet the kernel hands us (its
 * gso_max_segs), so that each goes out in one UDP_SEGMENT send.  Alone
 * in its request: a kernel that refuses it keeps the MTU set.
 */
int
tun_set_gso_segs(unsigned int ifindex, unsigned int segs)
{
	struct nl_req	 req;
	uint32_t	 n = segs;

	memset(&req, 0, sizeof(req));
	req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.hdr.nlmsg_type = RTM_NEWLINK;
	req.u.ifi.ifi_family = AF_UNSPEC;
	req.u.ifi.ifi_index = ifindex;
	if (nl_attr(&req, IFLA_GSO_MAX_SEGS, &n, sizeof(n)) == -1)
		return (-1);
	if (nl_talk(&req) == -1) {
		log_warn("%s: RTM_NEWLINK", __func__);
		return (-1);
	}
	return (0);
}

/* ---- following the link --------------------------------------------- */

/*
 * A socket on rtnetlink's link group: the kernel says there when any
 * link of this namespace changes or goes.  Non-blocking, close-on-exec.
 */
int
tun_watch_open(void)
{
	struct sockaddr_nl	 sa;
	int			 fd;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1) {
		log_warn("%s: socket", __func__);
		return (-1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		log_warn("%s: bind", __func__);
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Asked directly when notifications were lost: gone, or its MTU. */
static int
tun_link_query(unsigned int ifindex, unsigned int *mtu)
{
	struct ifreq	 ifr;
	int		 s, rc = TUN_LINK_NONE;

	memset(&ifr, 0, sizeof(ifr));
	if (if_indextoname(ifindex, ifr.ifr_name) == NULL)
		return (TUN_LINK_GONE);
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (TUN_LINK_NONE);
	if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0) {
		*mtu = ifr.ifr_mtu;
		rc = TUN_LINK_MTU;
	}
	close(s);
	return (rc);
}

/*
 * Read what the kernel said about links and keep what concerns
 * ifindex: TUN_LINK_GONE once it is deleted, else TUN_LINK_MTU with its
 * latest MTU in *mtu, else TUN_LINK_NONE.  Messages not from the kernel
 * are ignored.
 */
int
tun_watch_read(int fd, unsigned int ifindex, unsigned int *mtu)
{
	struct sockaddr_nl	 sa;
	socklen_t		 salen;
	unsigned char		 buf[NL_BUF_SIZE];
	struct nlmsghdr		*h;
	struct ifinfomsg	*ifi;
	struct rtattr		*rta;
	ssize_t			 n;
	uint32_t		 m;
	int			 rc = TUN_LINK_NONE, alen;

	for (;;) {
		salen = sizeof(sa);
		if ((n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&sa, &salen)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return (rc);
			/* ENOBUFS: the queue overflowed, news were lost. */
			log_debug("%s: recv: %s", __func__, strerror(errno));
			return (tun_link_query(ifindex, mtu));
		}
		if (n == 0 || sa.nl_pid != 0)
			continue;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		    h = NLMSG_NEXT(h, n)) {
			if ((h->nlmsg_type != RTM_NEWLINK &&
			    h->nlmsg_type != RTM_DELLINK) ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
				continue;
			ifi = NLMSG_DATA(h);
			if (ifi->ifi_index <= 0 ||
			    (unsigned int)ifi->ifi_index != ifindex)
				continue;
			if (h->nlmsg_type == RTM_DELLINK)
				return (TUN_LINK_GONE);
			alen = IFLA_PAYLOAD(h);
			for (rta = IFLA_RTA(ifi); RTA_OK(rta, alen);
			    rta = RTA_NEXT(rta, alen)) {
				if (rta->rta_type != IFLA_MTU ||
				    RTA_PAYLOAD(rta) < sizeof(uint32_t))
					continue;
				memcpy(&m, RTA_DATA(rta), sizeof(m));
				*mtu = m;
				rc = TUN_LINK_MTU;
			}
		}
	}
}
