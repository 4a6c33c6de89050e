/*
 * A hostile cbdiscod for regress/e2e/t_hostile_disco: started by cbp2pd
 * in cbdiscod's place (cbp2pd -x DIR, DIR/cbdiscod a link to this), it
 * lives as a child does (lib/child.c: sandbox, ready, configuration,
 * status), and on SIGUSR1 sends the parent what a compromised cbdiscod
 * or a hostile registry could: a default route, a token peer's prefix
 * and the subnet around it, a prefix outside the subnet, a key nobody
 * allowed, a token peer's key, malformed peers, names that are not
 * names, endpoints that are not unicast, a NAT mapping out of range,
 * descriptors, cbrelayd's presence reports, and more peers than
 * max_peers, and its status line with terminal controls in it.
 *
 * From the environment (read before the sandbox):
 *	CBHOSTILE_OWNED		a token peer's prefix, e.g. 10.99.0.2/32
 *	CBHOSTILE_STATIC_KEY	that peer's public key, base64
 * The keys of peer_whitelist.allowed_peers and the subnet come from the
 * parent, as they come to the real cbdiscod.  Its status line says how
 * far it got: "hostile: waiting", "... configured", "... sent N".
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

#define HOSTILE_KEYS_MAX	16
#define HOSTILE_PORT		51820
#define HOSTILE_OUTSIDE		"192.168.77.0/24"
#define HOSTILE_GOOD_EP		"192.0.2.1"	/* TEST-NET-1: no route */
#define HOST_FIRST		11	/* host part of the first peer */
#define HOST_STRANGER		50
#define HOST_STATIC		51
#define HOST_LIMIT		20	/* host parts of the max_peers flood */
#define FDS_AT_ONCE		4	/* more than the parent takes at once */
#define HOSTILE_NAME		"w1.hostile.example"	/* a good one */
#define HOSTILE_BAD_NAME	"evil\033]0;owned\007"	/* terminal title */
#define HOSTILE_NAT		7	/* no enum nat_mapping */

struct hostile {
	struct disco_conf	 dc;
	uint8_t			 allowed[HOSTILE_KEYS_MAX][WG_KEY_LEN];
	size_t			 nallowed;
	int			 configured;
	struct cidr		 owned;
	uint8_t			 static_key[WG_KEY_LEN];
	int			 devnull;
	unsigned int		 sent;
	struct event		 ev_usr1;
};

static struct hostile	 h;

static void
send_msg(struct child *c, uint32_t type, int fd, const void *data,
    size_t len)
{
	if (imsg_compose_event(c->iev, type, 0, 0, fd, data, len) == -1)
		fatal("%s", __func__);
	h.sent++;
}

/* A descriptor of our own to give away. */
static int
spare_fd(void)
{
	int	 fd;

	if ((fd = fcntl(h.devnull, F_DUPFD_CLOEXEC, 0)) == -1)
		fatal("%s", __func__);
	return (fd);
}

/*
 * A message the imsg API could not produce: an empty IMSG_DISCO_PENDING
 * (valid on its own) with descriptors but without IMSGF_HASFD.
 */
static void
send_raw_fds(struct child *c, int nfds)
{
	struct imsg_hdr	 hdr;
	struct iovec	 iov;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * FDS_AT_ONCE)];
	} cmsgbuf;
	int		 fds[FDS_AT_ONCE], i;

	if (imsg_flush(&c->iev->ibuf) == -1)
		fatal("%s: imsg_flush", __func__);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = IMSG_DISCO_PENDING;
	hdr.len = IMSG_HEADER_SIZE;
	hdr.pid = getpid();
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = &hdr;
	iov.iov_len = sizeof(hdr);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	for (i = 0; i < nfds; i++)
		fds[i] = spare_fd();
	memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	if (sendmsg(c->iev->ibuf.fd, &msg, MSG_NOSIGNAL) != sizeof(hdr))
		fatal("%s: sendmsg", __func__);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	h.sent++;
}

/* The subnet's address with host part n, as a /32 or /128. */
static void
host(struct cidr *c, unsigned int n)
{
	*c = h.dc.subnet;
	cidr_mask(c);
	if (c->af == AF_INET) {
		c->addr[3] = (uint8_t)n;
		c->plen = 32;
	} else {
		c->addr[15] = (uint8_t)n;
		c->plen = 128;
	}
}

static void
peer(struct disco_peer *dp, const uint8_t *key)
{
	memset(dp, 0, sizeof(*dp));
	memcpy(dp->public_key, key, WG_KEY_LEN);
	dp->keepalive = h.dc.keepalive;
}

static void
prefix(struct disco_peer *dp, const char *s)
{
	if (cidr_parse(s, &dp->allowed_ips[dp->nallowed_ips++]) == -1)
		fatalx("%s: %s", __func__, s);
}

static void
endpoint(struct disco_peer *dp, const char *addr, unsigned int port)
{
	struct sockaddr_storage	*ss = &dp->endpoints[dp->nendpoints++];
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	} else
		fatalx("%s: %s", __func__, addr);
}

static void
set(struct child *c, const struct disco_peer *dp)
{
	send_msg(c, IMSG_PEER_SET, -1, dp, sizeof(*dp));
}

static void
attack(struct child *c)
{
	struct disco_peer	 dp;
	struct cidr		 net;
	uint8_t			 stranger[WG_KEY_LEN];
	size_t			 i;

	if (!h.configured || h.nallowed < 2)
		fatalx("hostile: not configured, or fewer than 2 allowed "
		    "keys");
	memset(stranger, 0x42, sizeof(stranger));
	net = h.dc.subnet;
	cidr_mask(&net);

	/* default_route, for a whitelisted key. */
	peer(&dp, h.allowed[0]);
	prefix(&dp, net.af == AF_INET ? "0.0.0.0/0" : "::/0");
	set(c, &dp);
	/* owned_prefix: the token peer's own, then the subnet around it. */
	peer(&dp, h.allowed[0]);
	dp.allowed_ips[dp.nallowed_ips++] = h.owned;
	set(c, &dp);
	peer(&dp, h.allowed[0]);
	host(&dp.allowed_ips[dp.nallowed_ips++], HOST_FIRST);
	dp.allowed_ips[dp.nallowed_ips++] = net;
	set(c, &dp);
	/* outside_subnet. */
	peer(&dp, h.allowed[0]);
	prefix(&dp, HOSTILE_OUTSIDE);
	set(c, &dp);
	/* not_approved. */
	peer(&dp, stranger);
	host(&dp.allowed_ips[dp.nallowed_ips++], HOST_STRANGER);
	set(c, &dp);
	/* static_key: the token peer's key with another address. */
	peer(&dp, h.static_key);
	host(&dp.allowed_ips[dp.nallowed_ips++], HOST_STATIC);
	set(c, &dp);
	/* malformed, once fatal: too many prefixes, a /33. */
	peer(&dp, h.allowed[0]);
	dp.nallowed_ips = DISCO_AIPS_MAX + 1;
	set(c, &dp);
	peer(&dp, h.allowed[0]);
	host(&dp.allowed_ips[dp.nallowed_ips++], HOST_FIRST);
	dp.allowed_ips[0].plen = 33;
	set(c, &dp);
	/* bad_name: not NUL-terminated in its field, then controls. */
	peer(&dp, h.allowed[0]);
	host(&dp.allowed_ips[dp.nallowed_ips++], HOST_FIRST);
	memset(dp.name, 'x', sizeof(dp.name));
	set(c, &dp);
	peer(&dp, h.allowed[0]);
	host(&dp.allowed_ips[dp.nallowed_ips++], HOST_FIRST);
	strlcpy(dp.name, HOSTILE_BAD_NAME, sizeof(dp.name));
	set(c, &dp);

	/*
	 * Admitted, with its endpoints that are not unicast dropped and its
	 * NAT mapping, out of range, counted and taken as unknown.
	 */
	peer(&dp, h.allowed[0]);
	dp.nat = HOSTILE_NAT;
	host(&dp.allowed_ips[dp.nallowed_ips++], HOST_FIRST);
	strlcpy(dp.name, HOSTILE_NAME, sizeof(dp.name));
	endpoint(&dp, "127.0.0.1", HOSTILE_PORT);
	endpoint(&dp, "::ffff:127.0.0.1", HOSTILE_PORT);
	endpoint(&dp, "224.0.0.1", HOSTILE_PORT);
	endpoint(&dp, "255.255.255.255", HOSTILE_PORT);
	endpoint(&dp, "0.0.0.0", HOSTILE_PORT);
	endpoint(&dp, HOSTILE_GOOD_EP, 0);
	endpoint(&dp, HOSTILE_GOOD_EP, HOSTILE_PORT);
	set(c, &dp);

	/* Descriptors: with a message, without the flag, four at once. */
	send_msg(c, IMSG_DISCO_PENDING, spare_fd(), NULL, 0);
	send_raw_fds(c, 1);
	send_raw_fds(c, FDS_AT_ONCE);

	/* The token peer may not be deleted either. */
	send_msg(c, IMSG_PEER_DEL, -1, h.static_key, WG_KEY_LEN);

	/* cbrelayd's reports are not ours to make: the token peer gone. */
	send_msg(c, IMSG_RELAY_UP, -1, NULL, 0);
	send_msg(c, IMSG_RELAY_PEER_GONE, -1, h.static_key, WG_KEY_LEN);

	/* More peers than max_peers. */
	for (i = 1; i < h.nallowed; i++) {
		peer(&dp, h.allowed[i]);
		host(&dp.allowed_ips[dp.nallowed_ips++], HOST_LIMIT + i);
		endpoint(&dp, HOSTILE_GOOD_EP, HOSTILE_PORT + i);
		set(c, &dp);
	}
	/* The status line is ours to write: terminal controls in it too. */
	snprintf(c->state, sizeof(c->state), "hostile: sent %u %s", h.sent,
	    HOSTILE_BAD_NAME);
	log_info("hostile: %u messages sent", h.sent);
}

static void
hostile_usr1(int sig, short event, void *arg)
{
	attack(arg);
}

static int
hostile_dispatch(struct child *c, struct imsg *imsg)
{
	size_t	 len = imsg->hdr.len - IMSG_HEADER_SIZE, n;

	switch (imsg->hdr.type) {
	case IMSG_CFG_DISCO:
		if (len != sizeof(h.dc))
			fatalx("%s: bad config", __func__);
		memcpy(&h.dc, imsg->data, sizeof(h.dc));
		h.nallowed = 0;
		break;
	case IMSG_CFG_DISCO_ALLOWED:
		n = len / WG_KEY_LEN;
		if (n > HOSTILE_KEYS_MAX - h.nallowed)
			n = HOSTILE_KEYS_MAX - h.nallowed;
		memcpy(h.allowed[h.nallowed], imsg->data, n * WG_KEY_LEN);
		h.nallowed += n;
		break;
	case IMSG_CFG_DISCO_DONE:
		h.configured = 1;
		snprintf(c->state, sizeof(c->state), "hostile: configured, "
		    "%zu allowed keys", h.nallowed);
		break;
	case IMSG_CFG_DISCO_CA:
	case IMSG_CFG_DISCO_TOKEN:
	case IMSG_CFG_DISCO_KEY:
	case IMSG_DISCO_STUN_RESULT:
	case IMSG_DISCO_APPROVE:
	case IMSG_DISCO_NAT:
		break;
	default:
		return (0);
	}
	return (1);
}

static void
hostile_init(struct child *c)
{
	const char	*s;

	if ((s = getenv("CBHOSTILE_OWNED")) == NULL ||
	    cidr_parse(s, &h.owned) == -1)
		fatalx("hostile: CBHOSTILE_OWNED must be a prefix");
	if ((s = getenv("CBHOSTILE_STATIC_KEY")) == NULL ||
	    wgkey_from_b64(h.static_key, s) == -1)
		fatalx("hostile: CBHOSTILE_STATIC_KEY must be a key");
	if ((h.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("/dev/null");
	signal_set(&h.ev_usr1, SIGUSR1, hostile_usr1, c);
	signal_add(&h.ev_usr1, NULL);
	strlcpy(c->state, "hostile: waiting", sizeof(c->state));
}

int
main(int argc, char *argv[])
{
	static struct child	 c;

	c.id = PROC_DISCO;
	c.dispatch = hostile_dispatch;
	c.init = hostile_init;
	child_run(&c, argc, argv, &sandbox_policy_plain);
}
