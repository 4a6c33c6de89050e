/*
 * lib/addr.c: IP addresses, CIDR prefixes, the "host:port" syntax in its
 * three readings (names, numeric, wg(8)'s) and https URLs.  Expected
 * values follow from the syntax in addr.h, not from the code.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include <atf-c.h>

#include "addr.h"

#ifndef nitems
#define nitems(a)	(sizeof((a)) / sizeof((a)[0]))
#endif

#define JUNK		0xa5	/* what a result is filled with before */

static void
check_sin(const struct sockaddr_storage *ss, const char *addr,
    unsigned int port)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	struct in_addr			 want;

	ATF_REQUIRE_EQ(inet_pton(AF_INET, addr, &want), 1);
	ATF_CHECK_EQ(ss->ss_family, AF_INET);
	ATF_CHECK(sin->sin_addr.s_addr == want.s_addr);
	ATF_CHECK_EQ(ntohs(sin->sin_port), port);
}

static void
check_sin6(const struct sockaddr_storage *ss, const char *addr,
    unsigned int port, uint32_t scope)
{
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	struct in6_addr			 want;

	ATF_REQUIRE_EQ(inet_pton(AF_INET6, addr, &want), 1);
	ATF_CHECK_EQ(ss->ss_family, AF_INET6);
	ATF_CHECK(memcmp(&sin6->sin6_addr, &want, sizeof(want)) == 0);
	ATF_CHECK_EQ(ntohs(sin6->sin6_port), port);
	ATF_CHECK_EQ(sin6->sin6_scope_id, scope);
}

/* A refused parse leaves ss all zero, whatever was in it. */
static int
ss_zero(const struct sockaddr_storage *ss)
{
	static const struct sockaddr_storage	 zero;

	return (memcmp(ss, &zero, sizeof(zero)) == 0);
}

ATF_TC_WITHOUT_HEAD(ipaddr);
ATF_TC_BODY(ipaddr, tc)
{
	static const uint8_t	 v4[] = { 192, 0, 2, 1 };
	static const uint8_t	 v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t	 mapped[16] = { [10] = 0xff, [11] = 0xff,
	    192, 0, 2, 1 };
	static const char	*bad[] = {
		"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "256.0.0.1",
		"0x1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1.1.1.1/32", "::1/128",
		"fe80::1%1", "fe80::1%eth0", "[::1]", "1::2::3", "12345::",
		"example.com", "localhost",
	};
	struct ipaddr		 ip;
	size_t			 i;

	ATF_REQUIRE(ipaddr_parse("192.0.2.1", &ip) == 0);
	ATF_CHECK_EQ(ip.af, AF_INET);
	ATF_CHECK(memcmp(ip.addr, v4, sizeof(v4)) == 0);
	ATF_REQUIRE(ipaddr_parse("2001:db8::1", &ip) == 0);
	ATF_CHECK_EQ(ip.af, AF_INET6);
	ATF_CHECK(memcmp(ip.addr, v6, sizeof(v6)) == 0);
	ATF_REQUIRE(ipaddr_parse("2001:DB8:0:0:0:0:0:1", &ip) == 0);
	ATF_CHECK(memcmp(ip.addr, v6, sizeof(v6)) == 0);
	/* An IPv4-mapped address stays an IPv6 one. */
	ATF_REQUIRE(ipaddr_parse("::ffff:192.0.2.1", &ip) == 0);
	ATF_CHECK_EQ(ip.af, AF_INET6);
	ATF_CHECK(memcmp(ip.addr, mapped, sizeof(mapped)) == 0);
	ATF_CHECK(ipaddr_parse("0.0.0.0", &ip) == 0 && ip.af == AF_INET);
	ATF_CHECK(ipaddr_parse("255.255.255.255", &ip) == 0 &&
	    ip.af == AF_INET);
	ATF_CHECK(ipaddr_parse("::", &ip) == 0 && ip.af == AF_INET6);
	ATF_CHECK(ipaddr_parse("::1", &ip) == 0 && ip.af == AF_INET6);

	for (i = 0; i < nitems(bad); i++) {
		memset(&ip, JUNK, sizeof(ip));
		ATF_CHECK_MSG(ipaddr_parse(bad[i], &ip) == -1, "accepted "
		    "\"%s\"", bad[i]);
		ATF_CHECK_MSG(ip.addr[0] == JUNK, "\"%s\" changed ip", bad[i]);
	}
	ATF_CHECK(ipaddr_parse(NULL, &ip) == -1);
}

ATF_TC_WITHOUT_HEAD(cidr_accept);
ATF_TC_BODY(cidr_accept, tc)
{
	static const uint8_t	 v4[] = { 10, 1, 2, 3 };
	struct cidr		 c;
	char			 buf[64];

	/* The address is kept as written, host bits and all. */
	ATF_REQUIRE(cidr_parse("10.1.2.3/8", &c) == 0);
	ATF_CHECK_EQ(c.af, AF_INET);
	ATF_CHECK_EQ(c.plen, 8);
	ATF_CHECK(memcmp(c.addr, v4, sizeof(v4)) == 0);

	ATF_REQUIRE(cidr_parse("0.0.0.0/0", &c) == 0);
	ATF_CHECK(c.af == AF_INET && c.plen == 0);
	ATF_REQUIRE(cidr_parse("192.0.2.1/32", &c) == 0);
	ATF_CHECK(c.af == AF_INET && c.plen == 32);
	ATF_REQUIRE(cidr_parse("::/0", &c) == 0);
	ATF_CHECK(c.af == AF_INET6 && c.plen == 0);
	ATF_REQUIRE(cidr_parse("2001:db8::1/128", &c) == 0);
	ATF_CHECK(c.af == AF_INET6 && c.plen == 128);
	/* A mapped address is IPv6: its length goes to 128. */
	ATF_REQUIRE(cidr_parse("::ffff:192.0.2.0/120", &c) == 0);
	ATF_CHECK(c.af == AF_INET6 && c.plen == 120);

	ATF_REQUIRE(cidr_parse("fd00::1:2/113", &c) == 0);
	ATF_REQUIRE(cidr_format(&c, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "fd00::1:2/113");
}

ATF_TC_WITHOUT_HEAD(cidr_refuse);
ATF_TC_BODY(cidr_refuse, tc)
{
	static const char	*bad[] = {
		"",
		"10.0.0.0",		/* the length is required */
		"10.0.0.0/",
		"10.0.0.0/33",
		"10.0.0.0/08",		/* no leading zero */
		"10.0.0.0/024",
		"10.0.0.0/00",
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"10.0.0.0/ 8",
		"10.0.0.0/8 ",
		"10.0.0.0/8/8",
		"10.0.0.0/0x8",
		"10.0.0/8",
		"10.0.0.256/32",
		"010.0.0.0/8",
		"/8",
		"fd00::/129",
		"fd00::/1000",
		"fd00:::/64",
		"fe80::1%1/64",		/* no zone */
		"fe80::1%eth0/64",
		"[fd00::]/64",
		"::ffff:192.0.2.0/129",
		"example.com/32",
	};
	struct cidr		 c;
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		memset(&c, JUNK, sizeof(c));
		ATF_CHECK_MSG(cidr_parse(bad[i], &c) == -1, "accepted \"%s\"",
		    bad[i]);
		ATF_CHECK_MSG(c.plen == JUNK, "\"%s\" changed c", bad[i]);
	}
	ATF_CHECK(cidr_parse(NULL, &c) == -1);
}

ATF_TC_WITHOUT_HEAD(cidr_mask_contains_format);
ATF_TC_BODY(cidr_mask_contains_format, tc)
{
	struct cidr	 c, n;
	char		 buf[64];

	ATF_REQUIRE(cidr_parse("10.1.2.3/8", &c) == 0);
	ATF_CHECK_EQ(cidr_mask(&c), 1);
	ATF_REQUIRE(cidr_format(&c, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "10.0.0.0/8");
	ATF_CHECK_EQ(cidr_mask(&c), 0);

	/* 113 bits: the first 14 bytes, and the top bit of the 15th. */
	ATF_REQUIRE(cidr_parse("fd00::1:ffff/113", &c) == 0);
	ATF_CHECK_EQ(cidr_mask(&c), 1);
	ATF_REQUIRE(cidr_format(&c, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "fd00::1:8000/113");
	ATF_REQUIRE(cidr_parse("192.0.2.255/0", &c) == 0);
	ATF_CHECK_EQ(cidr_mask(&c), 1);
	ATF_REQUIRE(cidr_format(&c, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "0.0.0.0/0");
	ATF_REQUIRE(cidr_parse("192.0.2.255/32", &c) == 0);
	ATF_CHECK_EQ(cidr_mask(&c), 0);

	ATF_REQUIRE(cidr_parse("10.0.0.0/8", &n) == 0);
	ATF_REQUIRE(cidr_parse("10.255.0.0/16", &c) == 0);
	ATF_CHECK_EQ(cidr_contains(&n, &c), 1);
	ATF_CHECK_EQ(cidr_contains(&n, &n), 1);
	ATF_CHECK_EQ(cidr_contains(&c, &n), 0);	/* wider than the net */
	ATF_REQUIRE(cidr_parse("11.0.0.0/16", &c) == 0);
	ATF_CHECK_EQ(cidr_contains(&n, &c), 0);
	/* The network's own host bits do not count. */
	ATF_REQUIRE(cidr_parse("10.9.9.9/8", &n) == 0);
	ATF_REQUIRE(cidr_parse("10.1.2.3/32", &c) == 0);
	ATF_CHECK_EQ(cidr_contains(&n, &c), 1);
	ATF_REQUIRE(cidr_parse("0.0.0.0/0", &n) == 0);
	ATF_CHECK_EQ(cidr_contains(&n, &c), 1);
	ATF_REQUIRE(cidr_parse("::/0", &c) == 0);
	ATF_CHECK_EQ(cidr_contains(&n, &c), 0);	/* another family */
	ATF_REQUIRE(cidr_parse("2001:db8::/32", &n) == 0);
	ATF_REQUIRE(cidr_parse("2001:db8:1::/48", &c) == 0);
	ATF_CHECK_EQ(cidr_contains(&n, &c), 1);
	ATF_REQUIRE(cidr_parse("2001:db9::/48", &c) == 0);
	ATF_CHECK_EQ(cidr_contains(&n, &c), 0);

	/* "192.0.2.1/32" is 12 bytes and its NUL. */
	ATF_REQUIRE(cidr_parse("192.0.2.1/32", &c) == 0);
	ATF_CHECK_EQ(cidr_format(&c, buf, 12), -1);
	ATF_CHECK_EQ(cidr_format(&c, buf, 13), 0);
	ATF_CHECK_STREQ(buf, "192.0.2.1/32");
	memset(&c, 0, sizeof(c));
	ATF_CHECK_EQ(cidr_format(&c, buf, sizeof(buf)), -1);
}

/* hostport_split() with the port required, checking both parts. */
static void
split_ok(const char *in, const char *defport, const char *host,
    const char *port)
{
	char	 h[HOSTPORT_HOST_MAX], p[HOSTPORT_PORT_MAX];

	ATF_CHECK_MSG(hostport_split(in, defport, h, sizeof(h), p,
	    sizeof(p)) == 0, "refused \"%s\"", in);
	ATF_CHECK_STREQ(h, host);
	ATF_CHECK_STREQ(p, port);
}

ATF_TC_WITHOUT_HEAD(hostport_split_accept);
ATF_TC_BODY(hostport_split_accept, tc)
{
	char	 name[HOSTPORT_MAX];

	split_ok("192.0.2.1:5", NULL, "192.0.2.1", "5");
	split_ok("192.0.2.1:65535", NULL, "192.0.2.1", "65535");
	split_ok("example.com:443", NULL, "example.com", "443");
	split_ok("Relay-1.Example.COM:1", NULL, "Relay-1.Example.COM", "1");
	split_ok("a:80", NULL, "a", "80");
	split_ok("1-2.xn--bcher-kva.example:80", NULL,
	    "1-2.xn--bcher-kva.example", "80");
	split_ok("localhost:51820", NULL, "localhost", "51820");
	split_ok("[2001:db8::1]:51820", NULL, "2001:db8::1", "51820");
	split_ok("[::]:1", NULL, "::", "1");
	split_ok("[::ffff:192.0.2.1]:1", NULL, "::ffff:192.0.2.1", "1");

	/* A default port: taken only when none is written. */
	split_ok("edge.example", "443", "edge.example", "443");
	split_ok("[2001:db8::1]", "443", "2001:db8::1", "443");
	split_ok("192.0.2.1", "3478", "192.0.2.1", "3478");
	split_ok("edge.example:8443", "443", "edge.example", "8443");
	split_ok("[::1]:8443", "443", "::1", "8443");

	/* A label of 63 bytes; a name of 253. */
	memset(name, 'a', 63);
	strlcpy(name + 63, ".example:1", sizeof(name) - 63);
	ATF_CHECK(hostport_valid(name));
	memset(name, 'a', 253);
	name[61] = name[123] = name[185] = name[247] = '.';
	strlcpy(name + 253, ":1", sizeof(name) - 253);
	ATF_CHECK(hostport_valid(name));

	/* Only checking. */
	ATF_CHECK(hostport_split("example.com:443", NULL, NULL, 0, NULL,
	    0) == 0);
	ATF_CHECK(hostport_valid("[2001:db8::1]:51820"));
	ATF_CHECK(hostport_valid("relay.example.com:443"));
}

ATF_TC_WITHOUT_HEAD(hostport_split_refuse);
ATF_TC_BODY(hostport_split_refuse, tc)
{
	static const char	*bad[] = {
		"",
		"host",			/* the port is required */
		"[::1]",
		"host:",
		"host:0",
		"host:65536",
		"host:99999",
		"host:123456",
		"host:05",		/* no leading zero */
		"host:00080",
		"host:+5",
		"host:-5",
		"host: 5",
		"host:5 ",
		"host:5x",
		"host:0x10",
		"host:http",
		":80",
		"host:80:90",
		"::1:80",		/* a bare IPv6 address */
		"2001:db8::1:51820",
		"[]:80",
		"[::1]80",
		"[::1:80",
		"::1]:80",
		"[::1]:",
		"[::1]:80:90",
		"[::1]]:80",
		"[[::1]]:80",
		"[zz]:80",
		"[192.0.2.1]:80",	/* brackets are for IPv6 */
		"[host]:80",
		"[fe80::1%eth0]:80",	/* no scope here */
		"[fe80::1%1]:80",
		"-host:80",
		"host-:80",
		"host.-x:80",
		"ho st:80",
		"ho_st:80",
		"host..example:80",
		".host:80",
		"host.:80",		/* no trailing dot */
		"user@host:80",
		"host/path:80",
		"h\xc3\xa9.example:80",	/* not a name: IDNA is the user's */
		/* Numbers getaddrinfo(3) reads as inet_aton(3) does. */
		"127.1:80",
		"1.2.3:80",
		"010.0.0.1:80",		/* 8.0.0.1 */
		"192.0.2.01:80",
		"0x7f.1:80",
		"0x7f000001:80",
		"2130706433:80",	/* 127.0.0.1 */
	};
	char			 name[HOSTPORT_MAX + 8];
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		ATF_CHECK_MSG(hostport_split(bad[i], NULL, NULL, 0, NULL,
		    0) == -1, "accepted \"%s\"", bad[i]);
		ATF_CHECK_MSG(!hostport_valid(bad[i]), "valid \"%s\"",
		    bad[i]);
	}
	ATF_CHECK(!hostport_valid(NULL));

	/* A default port does not make a written empty one absent. */
	ATF_CHECK(hostport_split("host:", "443", NULL, 0, NULL, 0) == -1);
	ATF_CHECK(hostport_split("[::1]:", "443", NULL, 0, NULL, 0) == -1);
	ATF_CHECK(hostport_split("[::1]x", "443", NULL, 0, NULL, 0) == -1);
	ATF_CHECK(hostport_split("::1", "443", NULL, 0, NULL, 0) == -1);
	ATF_CHECK(hostport_split("", "443", NULL, 0, NULL, 0) == -1);
	/* ... and must itself be a port. */
	ATF_CHECK(hostport_split("host", "0", NULL, 0, NULL, 0) == -1);
	ATF_CHECK(hostport_split("host", "https", NULL, 0, NULL, 0) == -1);

	/* A label of 64 bytes; a name of 254. */
	memset(name, 'a', 64);
	strlcpy(name + 64, ".example:1", sizeof(name) - 64);
	ATF_CHECK(!hostport_valid(name));
	memset(name, 'a', 254);
	name[61] = name[123] = name[185] = name[247] = '.';
	strlcpy(name + 254, ":1", sizeof(name) - 254);
	ATF_CHECK(!hostport_valid(name));
	/* Longer than any endpoint may be. */
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ATF_CHECK(!hostport_valid(name));
}

ATF_TC_WITHOUT_HEAD(hostport_split_buffers);
ATF_TC_BODY(hostport_split_buffers, tc)
{
	char	 h[HOSTPORT_HOST_MAX], p[HOSTPORT_PORT_MAX];

	/* "example.com" needs 12 bytes, "65535" 6. */
	ATF_CHECK(hostport_split("example.com:65535", NULL, h, 11, p,
	    sizeof(p)) == -1);
	ATF_CHECK(hostport_split("example.com:65535", NULL, h, 12, p,
	    sizeof(p)) == 0);
	ATF_CHECK_STREQ(h, "example.com");
	ATF_CHECK(hostport_split("example.com:65535", NULL, h, sizeof(h), p,
	    5) == -1);
	ATF_CHECK(hostport_split("example.com:65535", NULL, h, sizeof(h), p,
	    6) == 0);
	ATF_CHECK_STREQ(p, "65535");
	/* Only the host, only the port. */
	ATF_CHECK(hostport_split("[::1]:7", NULL, h, sizeof(h), NULL, 0) == 0);
	ATF_CHECK_STREQ(h, "::1");
	ATF_CHECK(hostport_split("[::1]:7", NULL, NULL, 0, p, sizeof(p)) == 0);
	ATF_CHECK_STREQ(p, "7");
}

ATF_TC_WITHOUT_HEAD(numeric_accept);
ATF_TC_BODY(numeric_accept, tc)
{
	struct sockaddr_storage	 ss;

	ATF_REQUIRE(hostport_parse_numeric("192.0.2.1:51820", &ss) == 0);
	check_sin(&ss, "192.0.2.1", 51820);
	ATF_REQUIRE(hostport_parse_numeric("0.0.0.0:8443", &ss) == 0);
	check_sin(&ss, "0.0.0.0", 8443);
	ATF_REQUIRE(hostport_parse_numeric("255.255.255.255:65535", &ss) == 0);
	check_sin(&ss, "255.255.255.255", 65535);
	ATF_REQUIRE(hostport_parse_numeric("[2001:db8::2]:1", &ss) == 0);
	check_sin6(&ss, "2001:db8::2", 1, 0);
	ATF_REQUIRE(hostport_parse_numeric("[::]:3478", &ss) == 0);
	check_sin6(&ss, "::", 3478, 0);
	ATF_REQUIRE(hostport_parse_numeric("[::ffff:192.0.2.1]:7", &ss) == 0);
	check_sin6(&ss, "::ffff:192.0.2.1", 7, 0);
}

/* Refused by the numeric syntax, and so by wg(8)'s too. */
static const char	*numeric_bad[] = {
	"",
	"192.0.2.1",			/* no port */
	"192.0.2.1:",
	"192.0.2.1:0",
	"192.0.2.1:65536",
	"192.0.2.1:70000",
	"192.0.2.1:+5",
	"192.0.2.1:-5",
	"192.0.2.1: 5",
	"192.0.2.1:5 ",
	"192.0.2.1:5x",
	"192.0.2.1:0x10",
	"192.0.2:5",
	"192.0.2.256:5",
	"192.0.2.01:5",
	" 192.0.2.1:5",
	":51820",
	"[::1]",			/* no port */
	"[::1]:",
	"[::1]51820",
	"[::1:51820",
	"[]:51820",
	"[192.0.2.1]:51820",		/* brackets are for IPv6 */
	"::1:51820",			/* IPv6 needs brackets */
	"[::1]:1:2",
	"[fe80::1%]:51820",
	"[fe80::1%eth0/1]:51820",
	"[fe80::1%4294967296]:51820",
	"[fe80::1%averyveryverylongifname]:51820",
	"[fe80::1%eth 0]:51820",
	"[192.0.2.1%1]:51820",
	"example.com:51820",		/* no names */
	"localhost:51820",
	"[localhost]:51820",
};

ATF_TC_WITHOUT_HEAD(numeric_refuse);
ATF_TC_BODY(numeric_refuse, tc)
{
	static const char	*bad[] = {
		"192.0.2.1:05",		/* no leading zero here */
		"[::1]:00001",
		"[fe80::1%1]:51820",	/* no scope here */
		"[fe80::1%eth0]:51820",
	};
	struct sockaddr_storage	 ss;
	size_t			 i;

	for (i = 0; i < nitems(numeric_bad); i++) {
		memset(&ss, JUNK, sizeof(ss));
		ATF_CHECK_MSG(hostport_parse_numeric(numeric_bad[i], &ss) ==
		    -1, "accepted \"%s\"", numeric_bad[i]);
		ATF_CHECK_MSG(ss_zero(&ss), "\"%s\" left ss", numeric_bad[i]);
	}
	for (i = 0; i < nitems(bad); i++) {
		memset(&ss, JUNK, sizeof(ss));
		ATF_CHECK_MSG(hostport_parse_numeric(bad[i], &ss) == -1,
		    "accepted \"%s\"", bad[i]);
		ATF_CHECK_MSG(ss_zero(&ss), "\"%s\" left ss", bad[i]);
	}
	ATF_CHECK(hostport_parse_numeric(NULL, &ss) == -1);
}

ATF_TC_WITHOUT_HEAD(wg_accept);
ATF_TC_BODY(wg_accept, tc)
{
	struct sockaddr_storage	 ss;
	char			 ifname[IF_NAMESIZE];

	ATF_REQUIRE(hostport_parse_wg("192.0.2.1:51820", &ss, ifname) == 0);
	check_sin(&ss, "192.0.2.1", 51820);
	ATF_CHECK_STREQ(ifname, "");
	ATF_REQUIRE(hostport_parse_wg("[2001:db8::1]:51821", &ss,
	    ifname) == 0);
	check_sin6(&ss, "2001:db8::1", 51821, 0);
	ATF_CHECK_STREQ(ifname, "");

	/* Go's ParseUint takes leading zeros. */
	ATF_REQUIRE(hostport_parse_wg("192.0.2.1:051820", &ss, ifname) == 0);
	check_sin(&ss, "192.0.2.1", 51820);
	ATF_REQUIRE(hostport_parse_wg("[::1]:00001", &ss, ifname) == 0);
	check_sin6(&ss, "::1", 1, 0);

	/* A numeric scope is the scope id. */
	ATF_REQUIRE(hostport_parse_wg("[fe80::1%2]:51820", &ss, ifname) == 0);
	check_sin6(&ss, "fe80::1", 51820, 2);
	ATF_CHECK_STREQ(ifname, "");
	ATF_REQUIRE(hostport_parse_wg("[fe80::1%007]:1", &ss, ifname) == 0);
	check_sin6(&ss, "fe80::1", 1, 7);
	ATF_REQUIRE(hostport_parse_wg("[fe80::1%4294967295]:1", &ss,
	    ifname) == 0);
	check_sin6(&ss, "fe80::1", 1, 4294967295U);

	/* Any other is an interface name, for the caller to look up. */
	ATF_REQUIRE(hostport_parse_wg("[fe80::1%eth0]:1", &ss, ifname) == 0);
	check_sin6(&ss, "fe80::1", 1, 0);
	ATF_CHECK_STREQ(ifname, "eth0");
	ATF_REQUIRE(hostport_parse_wg("[fe80::1%abcdefghijklmno]:1", &ss,
	    ifname) == 0);
	ATF_CHECK_STREQ(ifname, "abcdefghijklmno");	/* IF_NAMESIZE - 1 */
	ATF_REQUIRE(hostport_parse_wg("[fe80::1%wg-0.1]:1", &ss, ifname) == 0);
	ATF_CHECK_STREQ(ifname, "wg-0.1");
	/* The next parse starts from nothing. */
	ATF_REQUIRE(hostport_parse_wg("[fe80::1%3]:1", &ss, ifname) == 0);
	ATF_CHECK_STREQ(ifname, "");
}

ATF_TC_WITHOUT_HEAD(wg_refuse);
ATF_TC_BODY(wg_refuse, tc)
{
	struct sockaddr_storage	 ss;
	char			 ifname[IF_NAMESIZE];
	size_t			 i;

	for (i = 0; i < nitems(numeric_bad); i++) {
		memset(&ss, JUNK, sizeof(ss));
		strlcpy(ifname, "junk", sizeof(ifname));
		ATF_CHECK_MSG(hostport_parse_wg(numeric_bad[i], &ss, ifname) ==
		    -1, "accepted \"%s\"", numeric_bad[i]);
		ATF_CHECK_MSG(ss_zero(&ss), "\"%s\" left ss", numeric_bad[i]);
		ATF_CHECK_STREQ(ifname, "");
	}
	/* A name that fits, after a part that does not. */
	ATF_CHECK(hostport_parse_wg("[fe80::1%eth0]:0", &ss, ifname) == -1);
	ATF_CHECK_STREQ(ifname, "");
	ATF_CHECK(hostport_parse_wg("[zz%eth0]:1", &ss, ifname) == -1);
	ATF_CHECK_STREQ(ifname, "");
	ATF_CHECK(hostport_parse_wg("[fe80::1%abcdefghijklmnop]:1", &ss,
	    ifname) == -1);				/* IF_NAMESIZE */
}

ATF_TC_WITHOUT_HEAD(resolve);
ATF_TC_BODY(resolve, tc)
{
	struct sockaddr_storage	 ss;
	char			 host[HOSTPORT_HOST_MAX];

	/* Numeric hosts: getaddrinfo(3) answers without a resolver. */
	ATF_REQUIRE(hostport_resolve("127.0.0.1:53", NULL, &ss, NULL, 0) == 0);
	check_sin(&ss, "127.0.0.1", 53);
	ATF_REQUIRE(hostport_resolve("[::1]:443", NULL, &ss, host,
	    sizeof(host)) == 0);
	check_sin6(&ss, "::1", 443, 0);
	ATF_CHECK_STREQ(host, "::1");
	ATF_REQUIRE(hostport_resolve("192.0.2.7", "3478", &ss, host,
	    sizeof(host)) == 0);
	check_sin(&ss, "192.0.2.7", 3478);
	ATF_CHECK_STREQ(host, "192.0.2.7");
	ATF_REQUIRE(hostport_resolve("[2001:db8::7]", "443", &ss, host,
	    sizeof(host)) == 0);
	check_sin6(&ss, "2001:db8::7", 443, 0);
	ATF_CHECK_STREQ(host, "2001:db8::7");

	/* The syntax is checked before anything is asked. */
	ATF_CHECK(hostport_resolve("127.0.0.1", NULL, &ss, NULL, 0) == -1);
	ATF_CHECK(hostport_resolve("127.0.0.1:0", NULL, &ss, NULL, 0) == -1);
	ATF_CHECK(hostport_resolve("::1:80", NULL, &ss, NULL, 0) == -1);
	ATF_CHECK(hostport_resolve("[fe80::1%1]:80", NULL, &ss, NULL,
	    0) == -1);
	ATF_CHECK(hostport_resolve("ho st:80", NULL, &ss, NULL, 0) == -1);
	/* Not 8.0.0.1, as getaddrinfo(3) alone would have it. */
	ATF_CHECK(hostport_resolve("010.0.0.1:80", NULL, &ss, NULL, 0) == -1);
	/* The host does not fit. */
	ATF_CHECK(hostport_resolve("127.0.0.1:53", NULL, &ss, host, 9) == -1);
}

ATF_TC_WITHOUT_HEAD(url);
ATF_TC_BODY(url, tc)
{
	static const char	*bad[] = {
		"",
		"edge.example",
		"http://edge.example",
		"https:/edge.example",
		"https://",
		"https:///v1",
		"https://user@edge.example",
		"https://user:pw@edge.example/",
		"https://edge example",
		"https://edge.example/a b",
		"https://edge.example\t",
		"https://edge.example\n",
		"https://edge\x7f.example",
		" https://edge.example",
	};
	char			 auth[HOSTPORT_MAX];
	size_t			 i;

	ATF_REQUIRE(url_https_authority("https://edge.example", auth,
	    sizeof(auth)) == 0);
	ATF_CHECK_STREQ(auth, "edge.example");
	ATF_REQUIRE(url_https_authority("https://edge.example:8443/v1/x",
	    auth, sizeof(auth)) == 0);
	ATF_CHECK_STREQ(auth, "edge.example:8443");
	ATF_REQUIRE(url_https_authority("HTTPS://[2001:db8::1]:8443/", auth,
	    sizeof(auth)) == 0);
	ATF_CHECK_STREQ(auth, "[2001:db8::1]:8443");
	/* A ':' in the path is the path's. */
	ATF_REQUIRE(url_https_authority("https://192.0.2.1/a:b", auth,
	    sizeof(auth)) == 0);
	ATF_CHECK_STREQ(auth, "192.0.2.1");
	ATF_CHECK(hostport_split(auth, "443", NULL, 0, NULL, 0) == 0);
	/* An '@' in the path is too. */
	ATF_REQUIRE(url_https_authority("https://edge.example/@me", auth,
	    sizeof(auth)) == 0);
	ATF_CHECK_STREQ(auth, "edge.example");

	for (i = 0; i < nitems(bad); i++)
		ATF_CHECK_MSG(url_https_authority(bad[i], auth,
		    sizeof(auth)) == -1, "accepted \"%s\"", bad[i]);
	ATF_CHECK(url_https_authority(NULL, auth, sizeof(auth)) == -1);
	/* "edge.example" needs 13 bytes. */
	ATF_CHECK(url_https_authority("https://edge.example", auth, 12) == -1);
	ATF_CHECK(url_https_authority("https://edge.example", auth, 13) == 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, ipaddr);
	ATF_TP_ADD_TC(tp, cidr_accept);
	ATF_TP_ADD_TC(tp, cidr_refuse);
	ATF_TP_ADD_TC(tp, cidr_mask_contains_format);
	ATF_TP_ADD_TC(tp, hostport_split_accept);
	ATF_TP_ADD_TC(tp, hostport_split_refuse);
	ATF_TP_ADD_TC(tp, hostport_split_buffers);
	ATF_TP_ADD_TC(tp, numeric_accept);
	ATF_TP_ADD_TC(tp, numeric_refuse);
	ATF_TP_ADD_TC(tp, wg_accept);
	ATF_TP_ADD_TC(tp, wg_refuse);
	ATF_TP_ADD_TC(tp, resolve);
	ATF_TP_ADD_TC(tp, url);
	return (atf_no_error());
}
