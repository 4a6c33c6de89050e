/*
 * Admission of a discovered peer by the parent: every rule of
 * lib/peeradmit.h, with the data plane's real allowed-IPs trie.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include <atf-c.h>

#include "peeradmit.h"
#include "proc.h"
#include "wg.h"

#define NKEYS		5
#define K_SELF		0
#define K_WHITE		1	/* in allowed_peers */
#define K_WHITE2	2	/* in allowed_peers */
#define K_APPROVED	3	/* approved by the operator */
#define K_STRANGER	4	/* in no list */

static uint8_t		 keys[NKEYS][WG_KEY_LEN];
static struct policy	 pol;
static struct admit	 adm;
static int		 peer_static, peer_disco;	/* trie owners */

static void
cidr(struct cidr *c, const char *s)
{
	ATF_REQUIRE_MSG(cidr_parse(s, c) == 0, "cidr %s", s);
}

static int
is_static(void *arg, const void *peer)
{
	return (peer == &peer_static);
}

/* A p2p-mesh node 10.99.0.1 in 10.99.0.0/24, with a whitelist. */
static void
setup(void)
{
	int	 i;

	for (i = 0; i < NKEYS; i++)
		memset(keys[i], 'a' + i, WG_KEY_LEN);
	memset(&pol, 0, sizeof(pol));
	pol.self = keys[K_SELF];
	pol.allowed = (const uint8_t (*)[WG_KEY_LEN])keys[K_WHITE];
	pol.nallowed = 2;
	pol.approved = (const uint8_t (*)[WG_KEY_LEN])keys[K_APPROVED];
	pol.napproved = 1;
	memset(&adm, 0, sizeof(adm));
	adm.enabled = 1;
	cidr(&adm.subnet, "10.99.0.0/24");
	cidr(&adm.address, "10.99.0.1/24");
	adm.policy = &pol;
	adm.npeers = 1;
	adm.max_peers = 8;
	adm.known = ADMIT_KEY_NEW;
	adm.owner_static = is_static;
}

static void
peer(struct disco_peer *dp, int key, const char *pfx)
{
	memset(dp, 0, sizeof(*dp));
	memcpy(dp->public_key, keys[key], WG_KEY_LEN);
	if (pfx != NULL) {
		cidr(&dp->allowed_ips[0], pfx);
		dp->nallowed_ips = 1;
	}
}

static void
add_pfx(struct disco_peer *dp, const char *pfx)
{
	ATF_REQUIRE(dp->nallowed_ips < DISCO_AIPS_MAX);
	cidr(&dp->allowed_ips[dp->nallowed_ips++], pfx);
}

static void
add_ep(struct disco_peer *dp, const char *addr, unsigned int port)
{
	struct sockaddr_storage	*ss;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	ATF_REQUIRE(dp->nendpoints < DISCO_ENDPOINTS_MAX);
	ss = &dp->endpoints[dp->nendpoints++];
	memset(ss, 0, sizeof(*ss));
	sin = (struct sockaddr_in *)ss;
	sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return;
	}
	ATF_REQUIRE_MSG(inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1,
	    "address %s", addr);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
}

/* The verdict on dp, out checked untouched when refused. */
static enum admit_reason
judge(const struct disco_peer *dp, struct disco_peer *out,
    struct admit_result *r)
{
	struct disco_peer	 mark;
	enum admit_reason	 why;

	memset(&mark, 0x5a, sizeof(mark));
	*out = mark;
	why = peer_admit(&adm, dp, out, r);
	ATF_CHECK_EQ(why, r->reason);
	if (why != ADMIT_OK)
		ATF_CHECK_MSG(memcmp(out, &mark, sizeof(mark)) == 0,
		    "refused, but out was written");
	return (why);
}

static enum admit_reason
verdict(int key, const char *pfx)
{
	struct disco_peer	 dp, out;
	struct admit_result	 r;

	peer(&dp, key, pfx);
	return (judge(&dp, &out, &r));
}

#define CHECK_VERDICT(key, pfx, want)					\
	ATF_CHECK_EQ_MSG(verdict((key), (pfx)), (want),			\
	    "%s: %s, want %s", (pfx) ? (pfx) : "-",			\
	    admit_reason_name(verdict((key), (pfx))),			\
	    admit_reason_name(want))

ATF_TC_WITHOUT_HEAD(names);
ATF_TC_BODY(names, tc)
{
	int	 i, j;

	ATF_CHECK_STREQ(admit_reason_name(ADMIT_OK), "admitted");
	ATF_CHECK_STREQ(admit_reason_name(ADMIT_OWNED_PREFIX),
	    "owned_prefix");
	ATF_CHECK_STREQ(admit_reason_name(ADMIT_MAX), "unknown");
	ATF_CHECK_STREQ(admit_ep_reason_name(ADMIT_EP_LOOPBACK), "loopback");
	ATF_CHECK_STREQ(admit_ep_reason_name(ADMIT_EP_MAX), "unknown");
	/* Every reason has its own name. */
	for (i = 0; i < ADMIT_MAX; i++)
		for (j = i + 1; j < ADMIT_MAX; j++)
			ATF_CHECK(strcmp(admit_reason_name(i),
			    admit_reason_name(j)) != 0);
	for (i = 0; i < ADMIT_EP_MAX; i++)
		for (j = i + 1; j < ADMIT_EP_MAX; j++)
			ATF_CHECK(strcmp(admit_ep_reason_name(i),
			    admit_ep_reason_name(j)) != 0);
}

ATF_TC_WITHOUT_HEAD(malformed);
ATF_TC_BODY(malformed, tc)
{
	struct disco_peer	 dp, out;
	struct admit_result	 r;

	setup();
	peer(&dp, K_WHITE, "10.99.0.5/32");
	dp.nendpoints = DISCO_ENDPOINTS_MAX + 1;
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_MALFORMED);
	peer(&dp, K_WHITE, "10.99.0.5/32");
	dp.nallowed_ips = DISCO_AIPS_MAX + 1;
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_MALFORMED);
	peer(&dp, K_WHITE, "10.99.0.5/32");
	dp.allowed_ips[0].plen = 33;
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_MALFORMED);
	peer(&dp, K_WHITE, "fd00::5/128");
	dp.allowed_ips[0].plen = 129;
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_MALFORMED);
	peer(&dp, K_WHITE, "10.99.0.5/32");
	dp.allowed_ips[0].af = AF_UNIX;
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_MALFORMED);
	/* Shape comes first, even for a stranger. */
	peer(&dp, K_STRANGER, "10.99.0.5/32");
	dp.allowed_ips[0].af = 0;
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_MALFORMED);
}

/* A name the registry gave: printable ASCII words, or nothing. */
ATF_TC_WITHOUT_HEAD(peer_name);
ATF_TC_BODY(peer_name, tc)
{
	struct disco_peer	 dp, out;
	struct admit_result	 r;
	char			 longest[DISCO_NAME_MAX + 1];

	ATF_CHECK(peer_name_valid("node-b.example", 14));
	ATF_CHECK(peer_name_valid("a", 1));
	ATF_CHECK(!peer_name_valid("", 0));
	ATF_CHECK(!peer_name_valid("node b", 6));
	ATF_CHECK(!peer_name_valid("evil\x1b[2J", 8));
	ATF_CHECK(!peer_name_valid("tab\there", 8));
	ATF_CHECK(!peer_name_valid("del\x7f", 4));
	ATF_CHECK(!peer_name_valid("caf\xc3\xa9", 5));
	/* The length given counts: a NUL inside is not a name's end. */
	ATF_CHECK(!peer_name_valid("a\0b", 3));
	memset(longest, 'x', sizeof(longest));
	ATF_CHECK(peer_name_valid(longest, DISCO_NAME_MAX));
	ATF_CHECK(!peer_name_valid(longest, DISCO_NAME_MAX + 1));

	setup();
	/* No name, and a good one, are admitted with the name kept. */
	peer(&dp, K_WHITE, "10.99.0.5/32");
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OK);
	ATF_CHECK_STREQ(out.name, "");
	strlcpy(dp.name, "node-b", sizeof(dp.name));
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OK);
	ATF_CHECK_STREQ(out.name, "node-b");
	memcpy(dp.name, longest, DISCO_NAME_MAX);
	dp.name[DISCO_NAME_MAX] = '\0';
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OK);
	/* Not NUL-terminated within the field. */
	memset(dp.name, 'x', sizeof(dp.name));
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_BAD_NAME);
	/* Controls, a space, a byte over 0x7e. */
	strlcpy(dp.name, "evil\x1b]0;owned\x07", sizeof(dp.name));
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_BAD_NAME);
	strlcpy(dp.name, "two words", sizeof(dp.name));
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_BAD_NAME);
	strlcpy(dp.name, "caf\xc3\xa9", sizeof(dp.name));
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_BAD_NAME);
	/* Before the key's rules: a stranger's bad name is a bad name. */
	peer(&dp, K_STRANGER, "10.99.0.5/32");
	dp.name[0] = '\n';
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_BAD_NAME);
}

ATF_TC_WITHOUT_HEAD(whose_key);
ATF_TC_BODY(whose_key, tc)
{
	setup();
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OK);
	CHECK_VERDICT(K_WHITE2, "10.99.0.6/32", ADMIT_OK);
	CHECK_VERDICT(K_APPROVED, "10.99.0.7/32", ADMIT_OK);
	CHECK_VERDICT(K_STRANGER, "10.99.0.8/32", ADMIT_NOT_APPROVED);
	CHECK_VERDICT(K_SELF, "10.99.0.9/32", ADMIT_SELF);
	/* auto_approve opens the mesh only without allowed_peers. */
	pol.auto_approve = 1;
	CHECK_VERDICT(K_STRANGER, "10.99.0.8/32", ADMIT_NOT_APPROVED);
	pol.nallowed = 0;
	CHECK_VERDICT(K_STRANGER, "10.99.0.8/32", ADMIT_OK);
	CHECK_VERDICT(K_SELF, "10.99.0.9/32", ADMIT_SELF);
	pol.auto_approve = 0;
	pol.napproved = 0;
	CHECK_VERDICT(K_APPROVED, "10.99.0.7/32", ADMIT_NOT_APPROVED);
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_NOT_APPROVED);

	/* A token or `wg set` peer's key: its word stands. */
	setup();
	adm.known = ADMIT_KEY_STATIC;
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_STATIC_KEY);
	adm.known = ADMIT_KEY_DISCOVERED;
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OK);

	/* Discovery off: nobody is discovered, whatever else holds. */
	adm.enabled = 0;
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_DISCOVERY_OFF);
	CHECK_VERDICT(K_WHITE, "0.0.0.0/0", ADMIT_DISCOVERY_OFF);
}

ATF_TC_WITHOUT_HEAD(subnet);
ATF_TC_BODY(subnet, tc)
{
	struct disco_peer	 dp, out;
	struct admit_result	 r;
	char			 buf[64];

	setup();
	CHECK_VERDICT(K_WHITE, "0.0.0.0/0", ADMIT_DEFAULT_ROUTE);
	CHECK_VERDICT(K_WHITE, "::/0", ADMIT_DEFAULT_ROUTE);
	/* Host bits do not hide a default route. */
	CHECK_VERDICT(K_WHITE, "10.99.0.5/0", ADMIT_DEFAULT_ROUTE);
	CHECK_VERDICT(K_WHITE, "10.100.0.0/24", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "192.168.1.7/32", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "10.99.0.0/16", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "10.0.0.0/8", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "fd00::5/128", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "10.99.0.0/24", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "10.99.0.128/25", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "10.99.0.255/32", ADMIT_OK);

	/* One bad prefix refuses the whole update and is named. */
	peer(&dp, K_WHITE, "10.99.0.5/32");
	add_pfx(&dp, "10.99.0.6/32");
	add_pfx(&dp, "172.16.0.0/12");
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OUTSIDE_SUBNET);
	ATF_REQUIRE(cidr_format(&r.prefix, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "172.16.0.0/12");

	/* Admitted prefixes lose their host bits. */
	peer(&dp, K_WHITE, "10.99.0.77/28");
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OK);
	ATF_REQUIRE(cidr_format(&out.allowed_ips[0], buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "10.99.0.64/28");

	/* A subnet of /0 still refuses a default route. */
	cidr(&adm.subnet, "0.0.0.0/0");
	CHECK_VERDICT(K_WHITE, "0.0.0.0/0", ADMIT_DEFAULT_ROUTE);
	CHECK_VERDICT(K_WHITE, "0.0.0.0/1", ADMIT_OK);

	/* An IPv6 mesh. */
	cidr(&adm.subnet, "fd00:99::/64");
	cidr(&adm.address, "fd00:99::1/64");
	CHECK_VERDICT(K_WHITE, "fd00:99::5/128", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "fd00:98::5/128", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "fd00::/48", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OUTSIDE_SUBNET);
}

ATF_TC_WITHOUT_HEAD(no_subnet);
ATF_TC_BODY(no_subnet, tc)
{
	setup();
	memset(&adm.subnet, 0, sizeof(adm.subnet));
	/* The address's own network, host prefixes only. */
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "10.99.0.255/32", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "10.99.0.0/25", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "10.99.0.0/24", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "10.99.0.4/31", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "10.98.0.5/32", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "0.0.0.0/0", ADMIT_DEFAULT_ROUTE);
	CHECK_VERDICT(K_WHITE, "fd00::5/128", ADMIT_OUTSIDE_SUBNET);
	/* A host address as the node's: no network to share. */
	cidr(&adm.address, "10.99.0.1/32");
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OUTSIDE_SUBNET);
	/* IPv6. */
	cidr(&adm.address, "fd00:99::1/64");
	CHECK_VERDICT(K_WHITE, "fd00:99::5/128", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "fd00:99::/120", ADMIT_OUTSIDE_SUBNET);
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OUTSIDE_SUBNET);
	/* No address known at all: nothing. */
	memset(&adm.address, 0, sizeof(adm.address));
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OUTSIDE_SUBNET);
}

static void
ins(struct wg_aip *t, const char *s, void *owner)
{
	struct cidr	 c;

	cidr(&c, s);
	ATF_REQUIRE_EQ(wg_aip_insert(t, c.af, c.addr, c.plen, owner), WG_OK);
}

ATF_TC_WITHOUT_HEAD(owned);
ATF_TC_BODY(owned, tc)
{
	struct wg_aip		 t;
	struct disco_peer	 dp, out;
	struct admit_result	 r;
	char			 buf[64];

	setup();
	wg_aip_init(&t, 0);
	ins(&t, "10.99.0.2/32", &peer_static);
	ins(&t, "10.99.0.64/26", &peer_static);
	ins(&t, "fd00:99::2/128", &peer_static);
	ins(&t, "10.99.0.10/32", &peer_disco);
	adm.aip = &t;

	/* Identical. */
	peer(&dp, K_WHITE, "10.99.0.2/32");
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OWNED_PREFIX);
	ATF_REQUIRE(cidr_format(&r.owner, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "10.99.0.2/32");
	ATF_REQUIRE(cidr_format(&r.prefix, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "10.99.0.2/32");
	/* Covering: the whole subnet, or a /31 written with host bits. */
	CHECK_VERDICT(K_WHITE, "10.99.0.0/24", ADMIT_OWNED_PREFIX);
	CHECK_VERDICT(K_WHITE, "10.99.0.3/31", ADMIT_OWNED_PREFIX);
	CHECK_VERDICT(K_WHITE, "10.99.0.0/25", ADMIT_OWNED_PREFIX);
	/* Inside: a host of the static /26, or a smaller piece of it. */
	peer(&dp, K_WHITE, "10.99.0.65/32");
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OWNED_PREFIX);
	ATF_REQUIRE(cidr_format(&r.owner, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "10.99.0.64/26");
	CHECK_VERDICT(K_WHITE, "10.99.0.96/27", ADMIT_OWNED_PREFIX);
	CHECK_VERDICT(K_WHITE, "10.99.0.64/26", ADMIT_OWNED_PREFIX);
	/* Next to them: free. */
	CHECK_VERDICT(K_WHITE, "10.99.0.3/32", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "10.99.0.128/25", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "10.99.0.32/27", ADMIT_OK);
	/* Another discovered peer's prefix is not protected. */
	CHECK_VERDICT(K_WHITE, "10.99.0.10/32", ADMIT_OK);
	CHECK_VERDICT(K_WHITE, "10.99.0.8/29", ADMIT_OK);
	/* The second prefix of the update hits: all refused. */
	peer(&dp, K_WHITE, "10.99.0.20/32");
	add_pfx(&dp, "10.99.0.66/32");
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OWNED_PREFIX);
	/* IPv6 too. */
	cidr(&adm.subnet, "fd00:99::/64");
	CHECK_VERDICT(K_WHITE, "fd00:99::2/128", ADMIT_OWNED_PREFIX);
	CHECK_VERDICT(K_WHITE, "fd00:99::/120", ADMIT_OWNED_PREFIX);
	CHECK_VERDICT(K_WHITE, "fd00:99::3/128", ADMIT_OK);
	/* The subnet comes first: a default route is named as such. */
	CHECK_VERDICT(K_WHITE, "::/0", ADMIT_DEFAULT_ROUTE);
	wg_aip_clear(&t);
}

ATF_TC_WITHOUT_HEAD(max_peers);
ATF_TC_BODY(max_peers, tc)
{
	setup();
	adm.max_peers = 3;
	adm.npeers = 2;
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OK);
	adm.npeers = 3;
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_MAX_PEERS);
	adm.npeers = 4;		/* static peers beyond it: still no room */
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_MAX_PEERS);
	/* A peer already configured takes no new place. */
	adm.npeers = 3;
	adm.known = ADMIT_KEY_DISCOVERED;
	CHECK_VERDICT(K_WHITE, "10.99.0.5/32", ADMIT_OK);
	/* Prefixes are judged before the count. */
	adm.known = ADMIT_KEY_NEW;
	CHECK_VERDICT(K_WHITE, "0.0.0.0/0", ADMIT_DEFAULT_ROUTE);
	CHECK_VERDICT(K_STRANGER, "10.99.0.5/32", ADMIT_NOT_APPROVED);
}

static enum admit_ep_reason
ep(const char *addr, unsigned int port)
{
	struct disco_peer	 dp;

	memset(&dp, 0, sizeof(dp));
	add_ep(&dp, addr, port);
	return (admit_endpoint(&dp.endpoints[0]));
}

#define CHECK_EP(a, p, want)						\
	ATF_CHECK_EQ_MSG(ep((a), (p)), (want), "%s port %u: %s", (a),	\
	    (unsigned int)(p), admit_ep_reason_name(ep((a), (p))))

ATF_TC_WITHOUT_HEAD(endpoints);
ATF_TC_BODY(endpoints, tc)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;

	CHECK_EP("192.0.2.1", 51820, ADMIT_EP_OK);
	CHECK_EP("10.0.0.1", 1, ADMIT_EP_OK);
	CHECK_EP("169.254.1.1", 51820, ADMIT_EP_OK);
	CHECK_EP("2001:db8::1", 51820, ADMIT_EP_OK);
	CHECK_EP("fe80::1", 51820, ADMIT_EP_OK);
	CHECK_EP("::ffff:192.0.2.1", 51820, ADMIT_EP_OK);
	CHECK_EP("192.0.2.1", 0, ADMIT_EP_PORT_ZERO);
	CHECK_EP("2001:db8::1", 0, ADMIT_EP_PORT_ZERO);
	CHECK_EP("0.0.0.0", 51820, ADMIT_EP_UNSPECIFIED);
	CHECK_EP("0.1.2.3", 51820, ADMIT_EP_UNSPECIFIED);
	CHECK_EP("::", 51820, ADMIT_EP_UNSPECIFIED);
	CHECK_EP("::ffff:0.0.0.0", 51820, ADMIT_EP_UNSPECIFIED);
	CHECK_EP("127.0.0.1", 51820, ADMIT_EP_LOOPBACK);
	CHECK_EP("127.255.0.9", 51820, ADMIT_EP_LOOPBACK);
	CHECK_EP("::1", 51820, ADMIT_EP_LOOPBACK);
	CHECK_EP("::ffff:127.0.0.1", 51820, ADMIT_EP_LOOPBACK);
	CHECK_EP("224.0.0.1", 51820, ADMIT_EP_MULTICAST);
	CHECK_EP("239.255.255.250", 51820, ADMIT_EP_MULTICAST);
	CHECK_EP("ff02::1", 51820, ADMIT_EP_MULTICAST);
	CHECK_EP("::ffff:224.0.0.1", 51820, ADMIT_EP_MULTICAST);
	CHECK_EP("255.255.255.255", 51820, ADMIT_EP_BROADCAST);
	CHECK_EP("::ffff:255.255.255.255", 51820, ADMIT_EP_BROADCAST);
	memset(&ss, 0, sizeof(ss));
	sun->sun_family = AF_UNIX;
	ATF_CHECK_EQ(admit_endpoint(&ss), ADMIT_EP_FAMILY);
	memset(&ss, 0, sizeof(ss));
	ATF_CHECK_EQ(admit_endpoint(&ss), ADMIT_EP_FAMILY);
}

ATF_TC_WITHOUT_HEAD(endpoints_dropped);
ATF_TC_BODY(endpoints_dropped, tc)
{
	struct disco_peer	 dp, out;
	struct admit_result	 r;
	const struct sockaddr_in *sin;

	setup();
	peer(&dp, K_WHITE, "10.99.0.5/32");
	add_ep(&dp, "127.0.0.1", 51820);
	add_ep(&dp, "192.0.2.1", 51820);
	add_ep(&dp, "224.0.0.9", 51820);
	add_ep(&dp, "192.0.2.2", 0);
	add_ep(&dp, "192.0.2.3", 51821);
	add_ep(&dp, "::ffff:127.0.0.1", 51820);
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OK);
	ATF_CHECK_EQ(r.ndropped, 4);
	ATF_CHECK_EQ(r.dropped[ADMIT_EP_LOOPBACK], 2);
	ATF_CHECK_EQ(r.dropped[ADMIT_EP_MULTICAST], 1);
	ATF_CHECK_EQ(r.dropped[ADMIT_EP_PORT_ZERO], 1);
	ATF_CHECK_EQ(r.dropped[ADMIT_EP_OK], 0);
	/* The good ones stay, in order; the rest of the array is clear. */
	ATF_REQUIRE_EQ(out.nendpoints, 2);
	sin = (const struct sockaddr_in *)&out.endpoints[0];
	ATF_CHECK_EQ(ntohl(sin->sin_addr.s_addr), 0xc0000201);
	sin = (const struct sockaddr_in *)&out.endpoints[1];
	ATF_CHECK_EQ(ntohl(sin->sin_addr.s_addr), 0xc0000203);
	ATF_CHECK_EQ(ntohs(sin->sin_port), 51821);
	ATF_CHECK_EQ(out.endpoints[2].ss_family, 0);
	ATF_CHECK(memcmp(out.public_key, dp.public_key, WG_KEY_LEN) == 0);
	ATF_CHECK_EQ(out.nallowed_ips, 1);

	/* Nothing left: still admitted, without an endpoint. */
	peer(&dp, K_WHITE, "10.99.0.5/32");
	add_ep(&dp, "127.0.0.1", 51820);
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_OK);
	ATF_CHECK_EQ(out.nendpoints, 0);
	ATF_CHECK_EQ(r.ndropped, 1);

	/* In place. */
	peer(&dp, K_WHITE, "10.99.0.5/32");
	add_ep(&dp, "::1", 51820);
	add_ep(&dp, "2001:db8::7", 51820);
	ATF_CHECK_EQ(peer_admit(&adm, &dp, &dp, &r), ADMIT_OK);
	ATF_CHECK_EQ(dp.nendpoints, 1);
	ATF_CHECK_EQ(dp.endpoints[0].ss_family, AF_INET6);

	/* A refused peer's endpoints are not looked at. */
	peer(&dp, K_WHITE, "0.0.0.0/0");
	add_ep(&dp, "127.0.0.1", 51820);
	ATF_CHECK_EQ(judge(&dp, &out, &r), ADMIT_DEFAULT_ROUTE);
	ATF_CHECK_EQ(r.ndropped, 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, names);
	ATF_TP_ADD_TC(tp, malformed);
	ATF_TP_ADD_TC(tp, peer_name);
	ATF_TP_ADD_TC(tp, whose_key);
	ATF_TP_ADD_TC(tp, subnet);
	ATF_TP_ADD_TC(tp, no_subnet);
	ATF_TP_ADD_TC(tp, owned);
	ATF_TP_ADD_TC(tp, max_peers);
	ATF_TP_ADD_TC(tp, endpoints);
	ATF_TP_ADD_TC(tp, endpoints_dropped);
	return (atf_no_error());
}
