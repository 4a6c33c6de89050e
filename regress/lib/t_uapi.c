/*
 * WireGuard configuration protocol: framing, set parsing against
 * requests written the way wg(8) writes them, and get replies compared
 * byte for byte with text worked out from wireguard.com/xplatform.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "uapi.h"

#define KEY_A	"63eb8ba4fea097323aa1b92957b9e8bc7429ca72d239345c467c107bfd782f0e"
#define KEY_B	"aac7650ee91484e9bebc335d5834c3fb2b7fd57f357bee414173d0b4db69853f"
#define KEY_C	"b7a5514eaca21ee2757d737584dbdedca0e0083dc359d985191abe5e8da492e4"
/* KEY_D in upper case: wg(8) writes lower case, both must be taken. */
#define KEY_D	"A36D8D192C4EC7F1EA82F41255B1DB82B4595A3D67859E0E89897E63DD23B07F"
/* As a get reply writes it. */
#define KEY_D_LC \
	"a36d8d192c4ec7f1ea82f41255b1db82b4595a3d67859e0e89897e63dd23b07f"
#define KEY_E	"efcfdf2b84981dee55eb24ae0696b85a07947b644fb2755bf73c44384ed9c35f"
#define KEY_0	"0000000000000000000000000000000000000000000000000000000000000000"

static void
unhex(uint8_t *out, size_t len, const char *hex)
{
	size_t		 i;
	unsigned int	 v;

	ATF_REQUIRE_EQ(strlen(hex), len * 2);
	for (i = 0; i < len; i++) {
		ATF_REQUIRE(sscanf(hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
}

static void
check_key(const uint8_t *got, const char *hex)
{
	uint8_t	 want[WG_KEY_LEN];

	unhex(want, sizeof(want), hex);
	ATF_CHECK_MSG(memcmp(got, want, sizeof(want)) == 0,
	    "key mismatch, want %s", hex);
}

static void
check_cidr(const struct cidr *c, int af, const char *addr, unsigned int plen)
{
	uint8_t	 want[16];

	memset(want, 0, sizeof(want));
	ATF_REQUIRE(inet_pton(af, addr, want) == 1);
	ATF_CHECK_EQ(c->af, af);
	ATF_CHECK_EQ(c->plen, plen);
	ATF_CHECK_MSG(memcmp(c->addr, want, sizeof(want)) == 0,
	    "prefix mismatch, want %s/%u", addr, plen);
}

static void
check_sin(const struct sockaddr_storage *ss, const char *addr,
    unsigned int port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	struct in_addr			 want;

	ATF_REQUIRE(inet_pton(AF_INET, addr, &want) == 1);
	ATF_CHECK_EQ(ss->ss_family, AF_INET);
	ATF_CHECK_EQ(sin->sin_addr.s_addr, want.s_addr);
	ATF_CHECK_EQ(ntohs(sin->sin_port), port);
}

static void
check_sin6(const struct sockaddr_storage *ss, const char *addr,
    unsigned int port, uint32_t scope)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr			 want;

	ATF_REQUIRE(inet_pton(AF_INET6, addr, &want) == 1);
	ATF_CHECK_EQ(ss->ss_family, AF_INET6);
	ATF_CHECK(memcmp(&sin6->sin6_addr, &want, sizeof(want)) == 0);
	ATF_CHECK_EQ(ntohs(sin6->sin6_port), port);
	ATF_CHECK_EQ(sin6->sin6_scope_id, scope);
}

/* Parse a NUL-terminated request; keep err for the caller to look at. */
static int
parse(const char *req, struct uapi_set *set, char *err, size_t errlen)
{
	return (uapi_set_parse(req, strlen(req), set, err, errlen));
}

/* A refused request leaves nothing behind and says why. */
static void
refused(const char *req, int want)
{
	struct uapi_set	 set, zero;
	char		 err[UAPI_ERR_MAX];
	int		 r;

	memset(&zero, 0, sizeof(zero));
	r = parse(req, &set, err, sizeof(err));
	ATF_CHECK_EQ_MSG(r, want, "got %d (%s) for %s", r, err, req);
	ATF_CHECK_MSG(err[0] != '\0', "no message for %s", req);
	ATF_CHECK_MSG(memcmp(&set, &zero, sizeof(set)) == 0,
	    "set not emptied for %s", req);
}

/* One peer line accepted or refused in a minimal request. */
static int
peer_value(const char *key, const char *value, struct uapi_set *set)
{
	char	 req[UAPI_MAX_LINE * 2], err[UAPI_ERR_MAX];

	snprintf(req, sizeof(req), "set=1\npublic_key=" KEY_B "\n%s=%s\n\n",
	    key, value);
	return (parse(req, set, err, sizeof(err)));
}

/* want 0: accepted. */
static void
peer_refused(const char *key, const char *value, int want)
{
	struct uapi_set	 set;
	int		 r;

	r = peer_value(key, value, &set);
	ATF_CHECK_EQ_MSG(r, want, "%s=%s: got %d", key, value, r);
	if (r == 0)
		uapi_set_free(&set);
	ATF_CHECK(set.peers == NULL && set.npeers == 0);
}

/* As "wg setconf" then "wg set wg0 peer E remove" would write it. */
static const char setconf_req[] =
    "set=1\n"
    "private_key=" KEY_A "\n"
    "listen_port=51820\n"
    "fwmark=4660\n"
    "replace_peers=true\n"
    "public_key=" KEY_B "\n"
    "preshared_key=" KEY_C "\n"
    "endpoint=192.0.2.1:51820\n"
    "persistent_keepalive_interval=25\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=10.0.0.2/32\n"
    "allowed_ip=fd00::2/128\n"
    "public_key=" KEY_D "\n"
    "endpoint=[2001:db8::1]:51821\n"
    "persistent_keepalive_interval=0\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=10.1.0.0/16\n"
    "allowed_ip=2001:db8:1::/48\n"
    "allowed_ip=0.0.0.0/0\n"
    "public_key=" KEY_E "\n"
    "remove=true\n"
    "\n";

ATF_TC_WITHOUT_HEAD(set_wg_setconf);
ATF_TC_BODY(set_wg_setconf, tc)
{
	struct uapi_set		 set;
	struct uapi_peer	*p;
	char			 err[UAPI_ERR_MAX];

	ATF_REQUIRE_EQ_MSG(parse(setconf_req, &set, err, sizeof(err)), 0,
	    "%s", err);
	ATF_CHECK(set.has_private_key);
	check_key(set.private_key, KEY_A);
	ATF_CHECK(set.has_listen_port);
	ATF_CHECK_EQ(set.listen_port, 51820);
	ATF_CHECK(set.has_fwmark);
	ATF_CHECK_EQ(set.fwmark, 4660);
	ATF_CHECK(set.replace_peers);
	ATF_REQUIRE_EQ(set.npeers, 3);
	ATF_CHECK_EQ(set.nallowed_ips, 5);

	p = &set.peers[0];
	check_key(p->public_key, KEY_B);
	ATF_CHECK(!p->remove && !p->update_only);
	ATF_CHECK(p->has_preshared_key);
	check_key(p->preshared_key, KEY_C);
	ATF_CHECK(p->has_endpoint);
	check_sin(&p->endpoint, "192.0.2.1", 51820);
	ATF_CHECK_STREQ(p->endpoint_ifname, "");
	ATF_CHECK(p->has_persistent_keepalive);
	ATF_CHECK_EQ(p->persistent_keepalive, 25);
	ATF_CHECK(p->replace_allowed_ips);
	ATF_REQUIRE_EQ(p->nallowed_ips, 2);
	check_cidr(&p->allowed_ips[0], AF_INET, "10.0.0.2", 32);
	check_cidr(&p->allowed_ips[1], AF_INET6, "fd00::2", 128);

	p = &set.peers[1];
	check_key(p->public_key, KEY_D);
	ATF_CHECK(!p->remove && !p->update_only);
	ATF_CHECK(!p->has_preshared_key);
	check_key(p->preshared_key, KEY_0);
	ATF_CHECK(p->has_endpoint);
	check_sin6(&p->endpoint, "2001:db8::1", 51821, 0);
	ATF_CHECK(p->has_persistent_keepalive);
	ATF_CHECK_EQ(p->persistent_keepalive, 0);
	ATF_CHECK(p->replace_allowed_ips);
	ATF_REQUIRE_EQ(p->nallowed_ips, 3);
	check_cidr(&p->allowed_ips[0], AF_INET, "10.1.0.0", 16);
	check_cidr(&p->allowed_ips[1], AF_INET6, "2001:db8:1::", 48);
	check_cidr(&p->allowed_ips[2], AF_INET, "0.0.0.0", 0);

	p = &set.peers[2];
	check_key(p->public_key, KEY_E);
	ATF_CHECK(p->remove);
	ATF_CHECK(!p->has_preshared_key && !p->has_endpoint &&
	    !p->has_persistent_keepalive && !p->replace_allowed_ips);
	ATF_CHECK_EQ(p->nallowed_ips, 0);
	ATF_CHECK(p->allowed_ips == NULL);

	uapi_set_free(&set);
}

ATF_TC_WITHOUT_HEAD(set_semantics);
ATF_TC_BODY(set_semantics, tc)
{
	struct uapi_set		 set;
	struct uapi_peer	*p;
	char			 err[UAPI_ERR_MAX];

	/* Nothing to do is a valid request. */
	ATF_REQUIRE_EQ(parse("set=1\n\n", &set, err, sizeof(err)), 0);
	ATF_CHECK(!set.has_private_key && !set.has_listen_port &&
	    !set.has_fwmark && !set.replace_peers && set.npeers == 0);
	uapi_set_free(&set);

	/*
	 * All-zero keys: remove the private key, drop the psk.  A later
	 * line wins, as wireguard-go applies lines in order.
	 */
	ATF_REQUIRE_EQ_MSG(parse("set=1\n"
	    "private_key=" KEY_A "\n"
	    "private_key=" KEY_0 "\n"
	    "listen_port=1\n"
	    "listen_port=0\n"
	    "fwmark=4294967295\n"
	    "public_key=" KEY_B "\n"
	    "update_only=true\n"
	    "preshared_key=" KEY_0 "\n"
	    "protocol_version=1\n"
	    "allowed_ip=10.9.9.9/32\n"
	    "replace_allowed_ips=true\n"
	    "allowed_ip=10.1.2.3/16\n"
	    "allowed_ip=fd00::1:2/113\n"
	    "endpoint=[fe80::1%2]:51820\n"
	    "public_key=" KEY_B "\n"
	    "endpoint=[fe80::1%eth0]:1\n"
	    "\n", &set, err, sizeof(err)), 0, "%s", err);
	ATF_CHECK(set.has_private_key);
	ATF_CHECK(uapi_key_is_zero(set.private_key));
	ATF_CHECK(set.has_listen_port && set.listen_port == 0);
	ATF_CHECK(set.has_fwmark && set.fwmark == UINT32_MAX);
	ATF_REQUIRE_EQ(set.npeers, 2);
	p = &set.peers[0];
	ATF_CHECK(p->update_only && !p->remove);
	ATF_CHECK(p->has_preshared_key);
	ATF_CHECK(uapi_key_is_zero(p->preshared_key));
	/* replace_allowed_ips drops the prefix given above it. */
	ATF_CHECK(p->replace_allowed_ips);
	ATF_REQUIRE_EQ(p->nallowed_ips, 2);
	ATF_CHECK_EQ(set.nallowed_ips, 2);
	/* Host bits are cleared, as the kernel and wireguard-go do. */
	check_cidr(&p->allowed_ips[0], AF_INET, "10.1.0.0", 16);
	check_cidr(&p->allowed_ips[1], AF_INET6, "fd00::1:0", 113);
	check_sin6(&p->endpoint, "fe80::1", 51820, 2);
	ATF_CHECK_STREQ(p->endpoint_ifname, "");
	/* The same key again is a second section, applied after. */
	p = &set.peers[1];
	check_key(p->public_key, KEY_B);
	check_sin6(&p->endpoint, "fe80::1", 1, 0);
	ATF_CHECK_STREQ(p->endpoint_ifname, "eth0");
	ATF_CHECK(!uapi_key_is_zero(p->public_key));
	uapi_set_free(&set);
}

ATF_TC_WITHOUT_HEAD(set_device_key_after_peer);
ATF_TC_BODY(set_device_key_after_peer, tc)
{
	refused("set=1\npublic_key=" KEY_B "\nprivate_key=" KEY_A "\n\n",
	    EPROTO);
	refused("set=1\npublic_key=" KEY_B "\nlisten_port=1\n\n", EPROTO);
	refused("set=1\npublic_key=" KEY_B "\nfwmark=1\n\n", EPROTO);
	refused("set=1\npublic_key=" KEY_B "\nreplace_peers=true\n\n",
	    EPROTO);
	/* And peer keys need a peer. */
	refused("set=1\nendpoint=192.0.2.1:1\n\n", EPROTO);
	refused("set=1\nallowed_ip=10.0.0.0/8\n\n", EPROTO);
	refused("set=1\nremove=true\n\n", EPROTO);
	/* The same lines in their place are fine. */
	peer_refused("endpoint", "192.0.2.1:1", 0);
}

ATF_TC_WITHOUT_HEAD(set_unknown_key);
ATF_TC_BODY(set_unknown_key, tc)
{
	struct uapi_set	 set;
	char		 err[UAPI_ERR_MAX];

	refused("set=1\nfoo=bar\n\n", EPROTO);
	refused("set=1\npublic_key=" KEY_B "\nfoo=bar\n\n", EPROTO);
	/* Keys of a get reply are not settable. */
	refused("set=1\npublic_key=" KEY_B "\ntx_bytes=1\n\n", EPROTO);
	refused("set=1\npublic_key=" KEY_B "\nlast_handshake_time_sec=1\n\n",
	    EPROTO);
	/* Keys are case sensitive and have no blanks. */
	refused("set=1\nPrivate_key=" KEY_A "\n\n", EPROTO);
	refused("set=1\nlisten_port =1\n\n", EPROTO);
	/* A line without '=' is a protocol violation too. */
	refused("set=1\nlisten_port\n\n", EPROTO);
	refused("set=1\n=1\n\n", EPROTO);
	/* The message names the key, printable only. */
	ATF_CHECK_EQ(parse("set=1\nfo\to=1\n\n", &set, err, sizeof(err)),
	    EPROTO);
	ATF_CHECK_STREQ(err, "line 2: fo?o: unknown key");
}

ATF_TC_WITHOUT_HEAD(set_bad_keys);
ATF_TC_BODY(set_bad_keys, tc)
{
	static const char	*bad[] = {
		KEY_A "0",				/* 65 digits */
		KEY_A "00",				/* 66: 33 bytes */
		"3eb8ba4fea097323aa1b92957b9e8bc7429ca72d239345c467c107bfd782f0e",
		"63eb8ba4fea097323aa1b92957b9e8bc7429ca72d239345c467c107bfd782f0",
		"g3eb8ba4fea097323aa1b92957b9e8bc7429ca72d239345c467c107bfd782f0e",
		"63eb8ba4fea097323aa1b92957b9e8bc7429ca72d239345c467c107bfd782f0g",
		"63eb8ba4fea097323aa1b92957b9e8bc 429ca72d239345c467c107bfd782f0e",
		"63:b8ba4fea097323aa1b92957b9e8bc7429ca72d239345c467c107bfd782f0e",
		"Y+uLpP6glzI6obkpV7novHQpynLSOTRcRnwQe/14Lw4=",	/* base64 */
		"",
	};
	char			 req[UAPI_MAX_LINE * 2];
	size_t			 i;

	ATF_REQUIRE_EQ(strlen(bad[2]), 63);
	ATF_REQUIRE_EQ(strlen(bad[3]), 63);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(req, sizeof(req), "set=1\nprivate_key=%s\n\n", bad[i]);
		refused(req, EINVAL);
		snprintf(req, sizeof(req), "set=1\npublic_key=%s\n\n", bad[i]);
		refused(req, EINVAL);
		peer_refused("preshared_key", bad[i], EINVAL);
	}
}

ATF_TC_WITHOUT_HEAD(set_bad_endpoint);
ATF_TC_BODY(set_bad_endpoint, tc)
{
	static const char	*bad[] = {
		"192.0.2.1",			/* no port */
		"192.0.2.1:",
		"192.0.2.1:70000",
		"192.0.2.1:65536",
		"192.0.2.1:0",
		"192.0.2.1:+5",
		"192.0.2.1:-5",
		"192.0.2.1:5 ",
		"192.0.2:5",
		"192.0.2.256:5",
		":51820",
		"[::1]",			/* no port */
		"[::1]:",
		"[::1]51820",
		"[::1:51820",
		"[]:51820",
		"[192.0.2.1]:51820",
		"::1:51820",			/* v6 needs brackets */
		"[fe80::1%]:51820",
		"[fe80::1%eth0/1]:51820",
		"[fe80::1%4294967296]:51820",
		"[fe80::1%averyveryverylongifname]:51820",
		"example.com:51820",		/* no names */
		"localhost:51820",
		"",
	};
	size_t			 i;
	struct uapi_set		 set;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		peer_refused("endpoint", bad[i], EINVAL);

	/* The edges that are fine. */
	ATF_REQUIRE_EQ(peer_value("endpoint", "192.0.2.1:65535", &set), 0);
	check_sin(&set.peers[0].endpoint, "192.0.2.1", 65535);
	uapi_set_free(&set);
	ATF_REQUIRE_EQ(peer_value("endpoint", "[::ffff:192.0.2.1]:1", &set),
	    0);
	check_sin6(&set.peers[0].endpoint, "::ffff:192.0.2.1", 1, 0);
	uapi_set_free(&set);
}

ATF_TC_WITHOUT_HEAD(set_bad_cidr);
ATF_TC_BODY(set_bad_cidr, tc)
{
	static const char	*bad[] = {
		"10.0.0.0",			/* no length */
		"10.0.0.0/",
		"10.0.0.0/33",
		"10.0.0.0/024",
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"10.0.0.0/8 ",
		"10.0.0.0/8/8",
		"10.0.0/8",
		"10.0.0.256/32",
		"/8",
		"fd00::/129",
		"fd00::/1000",
		"fd00:::/64",
		"fe80::1%1/64",
		"example.com/32",
		"",
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		peer_refused("allowed_ip", bad[i], EINVAL);
	peer_refused("allowed_ip", "10.0.0.0/0", 0);
	peer_refused("allowed_ip", "::/0", 0);
}

ATF_TC_WITHOUT_HEAD(set_bad_numbers);
ATF_TC_BODY(set_bad_numbers, tc)
{
	struct uapi_set	 set;

	peer_refused("persistent_keepalive_interval", "65536", EINVAL);
	peer_refused("persistent_keepalive_interval", "-1", EINVAL);
	peer_refused("persistent_keepalive_interval", "", EINVAL);
	peer_refused("persistent_keepalive_interval", "25s", EINVAL);
	peer_refused("persistent_keepalive_interval", "0x19", EINVAL);
	peer_refused("persistent_keepalive_interval",
	    "18446744073709551641", EINVAL);	/* 2^64 + 25 */
	ATF_REQUIRE_EQ(peer_value("persistent_keepalive_interval", "65535",
	    &set), 0);
	ATF_CHECK_EQ(set.peers[0].persistent_keepalive, 65535);
	uapi_set_free(&set);

	refused("set=1\nlisten_port=65536\n\n", EINVAL);
	refused("set=1\nlisten_port=\n\n", EINVAL);
	refused("set=1\nfwmark=4294967296\n\n", EINVAL);
	refused("set=1\nfwmark=off\n\n", EINVAL);

	peer_refused("protocol_version", "2", EINVAL);
	peer_refused("protocol_version", "0", EINVAL);
	peer_refused("protocol_version", "01", EINVAL);
	peer_refused("protocol_version", "1", 0);

	/* Flags take "true" and nothing else. */
	peer_refused("remove", "false", EINVAL);
	peer_refused("remove", "1", EINVAL);
	peer_refused("update_only", "TRUE", EINVAL);
	peer_refused("replace_allowed_ips", "", EINVAL);
	refused("set=1\nreplace_peers=false\n\n", EINVAL);
}

ATF_TC_WITHOUT_HEAD(set_framing);
ATF_TC_BODY(set_framing, tc)
{
	static const char	 nul[] = "set=1\nlisten_port=1\0\n\n";
	struct uapi_set		 set;
	char			 err[UAPI_ERR_MAX];

	refused("get=1\n\n", EPROTO);
	refused("set=1\n", EPROTO);
	refused("set=1\nlisten_port=1\n", EPROTO);
	refused("set=1\nlisten_port=1", EPROTO);
	refused("set=1\n\nlisten_port=1\n\n", EPROTO);
	refused("set=1\r\n\n", EPROTO);
	refused("set=2\n\n", EPROTO);
	refused("", EPROTO);
	ATF_CHECK_EQ(uapi_set_parse(nul, sizeof(nul) - 1, &set, err,
	    sizeof(err)), EPROTO);
	ATF_CHECK(set.peers == NULL);
}

/* A request of n lines "allowed_ip=10.0.0.0/32" under one peer. */
static char *
many_allowed_ips(size_t n, size_t *len)
{
	static const char	 head[] = "set=1\npublic_key=" KEY_B "\n";
	static const char	 line[] = "allowed_ip=10.0.0.0/32\n";
	char			*req, *p;
	size_t			 i;

	*len = sizeof(head) - 1 + n * (sizeof(line) - 1) + 1;
	ATF_REQUIRE((req = malloc(*len)) != NULL);
	p = req;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (i = 0; i < n; i++, p += sizeof(line) - 1)
		memcpy(p, line, sizeof(line) - 1);
	*p = '\n';
	return (req);
}

/* A request of n peer sections. */
static char *
many_peers(size_t n, size_t *len)
{
	static const char	 line[] = "public_key=" KEY_B "\n";
	char			*req, *p;
	size_t			 i;

	*len = 6 + n * (sizeof(line) - 1) + 1;
	ATF_REQUIRE((req = malloc(*len)) != NULL);
	memcpy(req, "set=1\n", 6);
	for (i = 0, p = req + 6; i < n; i++, p += sizeof(line) - 1)
		memcpy(p, line, sizeof(line) - 1);
	*p = '\n';
	return (req);
}

ATF_TC_WITHOUT_HEAD(set_limits);
ATF_TC_BODY(set_limits, tc)
{
	struct uapi_set	 set;
	char		 err[UAPI_ERR_MAX], line[UAPI_MAX_LINE + 16];
	char		*req;
	size_t		 len;

	/* Right at each limit is fine, one past it is not. */
	req = many_peers(UAPI_MAX_PEERS, &len);
	ATF_CHECK_EQ_MSG(uapi_set_parse(req, len, &set, err, sizeof(err)), 0,
	    "%s", err);
	ATF_CHECK_EQ(set.npeers, UAPI_MAX_PEERS);
	uapi_set_free(&set);
	free(req);
	req = many_peers(UAPI_MAX_PEERS + 1, &len);
	ATF_CHECK_EQ(uapi_set_parse(req, len, &set, err, sizeof(err)), E2BIG);
	ATF_CHECK(set.peers == NULL && set.npeers == 0);
	free(req);

	req = many_allowed_ips(UAPI_MAX_ALLOWED_IPS, &len);
	ATF_REQUIRE(len <= UAPI_MAX_REQUEST);
	ATF_CHECK_EQ_MSG(uapi_set_parse(req, len, &set, err, sizeof(err)), 0,
	    "%s", err);
	ATF_CHECK_EQ(set.nallowed_ips, UAPI_MAX_ALLOWED_IPS);
	uapi_set_free(&set);
	free(req);
	req = many_allowed_ips(UAPI_MAX_ALLOWED_IPS + 1, &len);
	ATF_REQUIRE(len <= UAPI_MAX_REQUEST);
	ATF_CHECK_EQ(uapi_set_parse(req, len, &set, err, sizeof(err)), E2BIG);
	ATF_CHECK(set.peers == NULL && set.nallowed_ips == 0);
	free(req);

	/* Past the request size, whatever it holds. */
	req = many_allowed_ips(UAPI_MAX_REQUEST / 23 + 1, &len);
	ATF_REQUIRE(len > UAPI_MAX_REQUEST);
	ATF_CHECK_EQ(uapi_set_parse(req, len, &set, err, sizeof(err)),
	    EMSGSIZE);
	free(req);

	/* A line one byte too long. */
	memset(line, 0, sizeof(line));
	memcpy(line, "set=1\nfwmark=", 13);
	memset(line + 13, '0', UAPI_MAX_LINE - 7 + 1);
	strlcat(line, "\n\n", sizeof(line));
	ATF_CHECK_EQ(parse(line, &set, err, sizeof(err)), EMSGSIZE);
	/* At the limit it is only a bad number. */
	memset(line, 0, sizeof(line));
	memcpy(line, "set=1\nfwmark=", 13);
	memset(line + 13, '0', UAPI_MAX_LINE - 7);
	strlcat(line, "\n\n", sizeof(line));
	ATF_CHECK_EQ(parse(line, &set, err, sizeof(err)), EINVAL);
}

ATF_TC_WITHOUT_HEAD(set_free_zeroes);
ATF_TC_BODY(set_free_zeroes, tc)
{
	struct uapi_set	 set, zero;
	char		 err[UAPI_ERR_MAX];

	memset(&zero, 0, sizeof(zero));
	ATF_REQUIRE_EQ(parse(setconf_req, &set, err, sizeof(err)), 0);
	ATF_REQUIRE(!uapi_key_is_zero(set.private_key));
	uapi_set_free(&set);
	ATF_CHECK(uapi_key_is_zero(set.private_key));
	ATF_CHECK(memcmp(&set, &zero, sizeof(set)) == 0);
	/* Freeing twice, or an empty set, is harmless. */
	uapi_set_free(&set);
}

static enum uapi_read
scan_str(struct uapi_reader *rd, const char *s, size_t *reqlen)
{
	return (uapi_reader_scan(rd, s, strlen(s), reqlen));
}

ATF_TC_WITHOUT_HEAD(reader_framing);
ATF_TC_BODY(reader_framing, tc)
{
	static const char	*more[] = {
		"", "g", "get=", "get=1", "get=1\n", "s", "set=1\n",
		"set=1\nlisten_port=1\n", "set=1\nlisten_port=1",
	};
	static const char	*proto[] = {
		"x", "gat=1\n\n", "sget=1\n\n", "GET=1\n\n", "get=2\n\n",
		"get=1\r\n\n", "get=1\nx\n\n", "get=1 \n\n", "get\n\n",
		"\n", "set=\n", "hello world\n\n",
	};
	static const char	 nul[] = "set=1\nlisten\0_port=1\n\n";
	struct uapi_reader	 rd;
	size_t			 i, reqlen;

	for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		uapi_reader_init(&rd);
		ATF_CHECK_EQ_MSG(scan_str(&rd, more[i], &reqlen),
		    UAPI_READ_MORE, "\"%s\"", more[i]);
	}
	for (i = 0; i < sizeof(proto) / sizeof(proto[0]); i++) {
		uapi_reader_init(&rd);
		ATF_CHECK_EQ_MSG(scan_str(&rd, proto[i], &reqlen),
		    UAPI_READ_ERROR, "\"%s\"", proto[i]);
		ATF_CHECK_EQ(rd.error, EPROTO);
		/* And it stays refused. */
		ATF_CHECK_EQ(scan_str(&rd, "get=1\n\n", &reqlen),
		    UAPI_READ_ERROR);
	}
	uapi_reader_init(&rd);
	ATF_CHECK_EQ(uapi_reader_scan(&rd, nul, sizeof(nul) - 1, &reqlen),
	    UAPI_READ_ERROR);
	ATF_CHECK_EQ(rd.error, EPROTO);

	uapi_reader_init(&rd);
	reqlen = 0;
	ATF_CHECK_EQ(scan_str(&rd, "get=1\n\n", &reqlen), UAPI_READ_DONE);
	ATF_CHECK_EQ(rd.op, UAPI_OP_GET);
	ATF_CHECK_EQ(reqlen, 7);

	/* A second request behind the first is left for later. */
	uapi_reader_init(&rd);
	ATF_CHECK_EQ(scan_str(&rd, "set=1\n\nget=1\n\n", &reqlen),
	    UAPI_READ_DONE);
	ATF_CHECK_EQ(rd.op, UAPI_OP_SET);
	ATF_CHECK_EQ(reqlen, 7);
}

ATF_TC_WITHOUT_HEAD(reader_incremental);
ATF_TC_BODY(reader_incremental, tc)
{
	struct uapi_reader	 rd;
	struct uapi_set		 set;
	char			 err[UAPI_ERR_MAX];
	size_t			 i, len, reqlen = 0;

	/* One byte at a time, as a slow writer would deliver it. */
	len = strlen(setconf_req);
	uapi_reader_init(&rd);
	for (i = 1; i < len; i++)
		ATF_REQUIRE_EQ_MSG(uapi_reader_scan(&rd, setconf_req, i,
		    &reqlen), UAPI_READ_MORE, "at %zu", i);
	ATF_REQUIRE_EQ(uapi_reader_scan(&rd, setconf_req, len, &reqlen),
	    UAPI_READ_DONE);
	ATF_CHECK_EQ(rd.op, UAPI_OP_SET);
	ATF_CHECK_EQ(reqlen, len);
	/* What the reader frames, the parser takes. */
	ATF_CHECK_EQ(uapi_set_parse(setconf_req, reqlen, &set, err,
	    sizeof(err)), 0);
	uapi_set_free(&set);
}

ATF_TC_WITHOUT_HEAD(reader_limits);
ATF_TC_BODY(reader_limits, tc)
{
	struct uapi_reader	 rd;
	char			*big;
	size_t			 i, reqlen, len;

	/* A line of UAPI_MAX_LINE bytes is fine, one more is not. */
	len = 6 + UAPI_MAX_LINE + 1;
	ATF_REQUIRE((big = malloc(len + 1)) != NULL);
	memcpy(big, "set=1\n", 6);
	memset(big + 6, 'a', len - 6);
	uapi_reader_init(&rd);
	ATF_CHECK_EQ(uapi_reader_scan(&rd, big, len - 1, &reqlen),
	    UAPI_READ_MORE);
	ATF_CHECK_EQ(uapi_reader_scan(&rd, big, len, &reqlen),
	    UAPI_READ_ERROR);
	ATF_CHECK_EQ(rd.error, EMSGSIZE);
	free(big);

	/* Short lines that never end the request. */
	len = UAPI_MAX_REQUEST + 1;
	ATF_REQUIRE((big = malloc(len)) != NULL);
	memcpy(big, "set=1\n", 6);
	for (i = 6; i < len; i++)
		big[i] = i % 16 == 15 ? '\n' : 'a';
	uapi_reader_init(&rd);
	ATF_CHECK_EQ(uapi_reader_scan(&rd, big, UAPI_MAX_REQUEST - 1,
	    &reqlen), UAPI_READ_MORE);
	ATF_CHECK_EQ(uapi_reader_scan(&rd, big, len, &reqlen),
	    UAPI_READ_ERROR);
	ATF_CHECK_EQ(rd.error, EMSGSIZE);
	free(big);
}

static void
set_sin(struct sockaddr_storage *ss, const char *addr, unsigned int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	ATF_REQUIRE(inet_pton(AF_INET, addr, &sin->sin_addr) == 1);
	sin->sin_port = htons((uint16_t)port);
}

static void
set_sin6(struct sockaddr_storage *ss, const char *addr, unsigned int port,
    uint32_t scope)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	ATF_REQUIRE(inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1);
	sin6->sin6_port = htons((uint16_t)port);
	sin6->sin6_scope_id = scope;
}

static void
set_cidr(struct cidr *c, int af, const char *addr, unsigned int plen)
{
	memset(c, 0, sizeof(*c));
	c->af = af;
	ATF_REQUIRE(inet_pton(af, addr, c->addr) == 1);
	c->plen = (uint8_t)plen;
}

/*
 * The expected text, from the protocol page: device keys first, then per
 * peer public_key, preshared_key, protocol_version, endpoint, handshake
 * time, byte counters, keepalive, allowed_ip lines; "errno=0" and the
 * empty line last.  Keys in lower-case hex.
 */
static const char get_want[] =
    "private_key=" KEY_A "\n"
    "listen_port=51820\n"
    "public_key=" KEY_B "\n"
    "preshared_key=" KEY_C "\n"
    "protocol_version=1\n"
    "endpoint=192.0.2.1:51820\n"
    "last_handshake_time_sec=1700000000\n"
    "last_handshake_time_nsec=123456789\n"
    "tx_bytes=18446744073709551615\n"
    "rx_bytes=1024\n"
    "persistent_keepalive_interval=25\n"
    "allowed_ip=10.0.0.2/32\n"
    "allowed_ip=fd00::2/128\n"
    "public_key=" KEY_D_LC "\n"
    "protocol_version=1\n"
    "endpoint=[2001:db8::1]:51821\n"
    "last_handshake_time_sec=0\n"
    "last_handshake_time_nsec=0\n"
    "tx_bytes=0\n"
    "rx_bytes=0\n"
    "persistent_keepalive_interval=0\n"
    "allowed_ip=10.1.0.0/16\n"
    "allowed_ip=2001:db8:1::/48\n"
    "allowed_ip=0.0.0.0/0\n"
    "errno=0\n"
    "\n";

ATF_TC_WITHOUT_HEAD(get_reply);
ATF_TC_BODY(get_reply, tc)
{
	struct uapi_device_info	 dev;
	struct uapi_peer_info	 p1, p2;
	struct cidr		 a1[2], a2[3];
	struct uapi_buf		 b;

	memset(&dev, 0, sizeof(dev));
	dev.has_private_key = 1;
	unhex(dev.private_key, WG_KEY_LEN, KEY_A);
	dev.listen_port = 51820;
	dev.fwmark = 0;			/* off: no line */

	memset(&p1, 0, sizeof(p1));
	unhex(p1.public_key, WG_KEY_LEN, KEY_B);
	p1.has_preshared_key = 1;
	unhex(p1.preshared_key, WG_KEY_LEN, KEY_C);
	set_sin(&p1.endpoint, "192.0.2.1", 51820);
	p1.last_handshake_sec = 1700000000;
	p1.last_handshake_nsec = 123456789;
	p1.tx_bytes = UINT64_MAX;
	p1.rx_bytes = 1024;
	p1.persistent_keepalive = 25;
	set_cidr(&a1[0], AF_INET, "10.0.0.2", 32);
	set_cidr(&a1[1], AF_INET6, "fd00::2", 128);
	p1.allowed_ips = a1;
	p1.nallowed_ips = 2;

	memset(&p2, 0, sizeof(p2));
	unhex(p2.public_key, WG_KEY_LEN, KEY_D);
	p2.has_preshared_key = 0;
	set_sin6(&p2.endpoint, "2001:db8::1", 51821, 0);
	set_cidr(&a2[0], AF_INET, "10.1.0.0", 16);
	set_cidr(&a2[1], AF_INET6, "2001:db8:1::", 48);
	set_cidr(&a2[2], AF_INET, "0.0.0.0", 0);
	p2.allowed_ips = a2;
	p2.nallowed_ips = 3;

	uapi_buf_init(&b, UAPI_MAX_REPLY);
	ATF_CHECK_EQ(uapi_get_device(&b, &dev), 0);
	ATF_CHECK_EQ(uapi_get_peer(&b, &p1), 0);
	ATF_CHECK_EQ(uapi_get_peer(&b, &p2), 0);
	ATF_CHECK_EQ(uapi_get_end(&b), 0);
	ATF_REQUIRE(b.data != NULL);
	ATF_CHECK_EQ(b.len, sizeof(get_want) - 1);
	ATF_CHECK_STREQ(b.data, get_want);
	uapi_buf_free(&b);
}

ATF_TC_WITHOUT_HEAD(get_reply_optional);
ATF_TC_BODY(get_reply_optional, tc)
{
	static const char	 want[] =
	    "fwmark=4294967295\n"
	    "public_key=" KEY_E "\n"
	    "protocol_version=1\n"
	    "endpoint=[fe80::1%3]:1\n"
	    "last_handshake_time_sec=1\n"
	    "last_handshake_time_nsec=2\n"
	    "tx_bytes=3\n"
	    "rx_bytes=4\n"
	    "persistent_keepalive_interval=65535\n"
	    "public_key=" KEY_B "\n"
	    "protocol_version=1\n"
	    "last_handshake_time_sec=0\n"
	    "last_handshake_time_nsec=0\n"
	    "tx_bytes=0\n"
	    "rx_bytes=0\n"
	    "persistent_keepalive_interval=0\n"
	    "errno=0\n"
	    "\n";
	struct uapi_device_info	 dev;
	struct uapi_peer_info	 p1, p2;
	struct uapi_buf		 b;

	/*
	 * Zero keys, port 0, no endpoint: no line, as wireguard-go; a
	 * scoped endpoint keeps its numeric scope.
	 */
	memset(&dev, 0, sizeof(dev));
	dev.has_private_key = 1;
	dev.fwmark = UINT32_MAX;
	memset(&p1, 0, sizeof(p1));
	unhex(p1.public_key, WG_KEY_LEN, KEY_E);
	p1.has_preshared_key = 1;
	set_sin6(&p1.endpoint, "fe80::1", 1, 3);
	p1.last_handshake_sec = 1;
	p1.last_handshake_nsec = 2;
	p1.tx_bytes = 3;
	p1.rx_bytes = 4;
	p1.persistent_keepalive = 65535;
	memset(&p2, 0, sizeof(p2));
	unhex(p2.public_key, WG_KEY_LEN, KEY_B);

	uapi_buf_init(&b, UAPI_MAX_REPLY);
	uapi_get_device(&b, &dev);
	uapi_get_peer(&b, &p1);
	uapi_get_peer(&b, &p2);
	ATF_CHECK_EQ(uapi_get_end(&b), 0);
	ATF_REQUIRE(b.data != NULL);
	ATF_CHECK_STREQ(b.data, want);
	uapi_buf_free(&b);
}

ATF_TC_WITHOUT_HEAD(replies);
ATF_TC_BODY(replies, tc)
{
	struct uapi_buf	 b, zero;

	uapi_buf_init(&b, UAPI_MAX_REPLY);
	ATF_CHECK_EQ(uapi_set_reply(&b, 0), 0);
	ATF_CHECK_STREQ(b.data, "errno=0\n\n");
	/* wg(8) takes errno = -value after a set, as wireguard-go sends. */
	ATF_CHECK_EQ(uapi_set_reply(&b, EINVAL), 0);
	ATF_CHECK_STREQ(b.data, "errno=-22\n\n");
	ATF_CHECK_EQ(uapi_set_reply(&b, EPROTO), 0);
	ATF_CHECK_STREQ(b.data, "errno=-71\n\n");
	/* After a get it negates an unsigned number itself. */
	ATF_CHECK_EQ(uapi_buf_printf(&b, "private_key=%s\n", KEY_A), 0);
	ATF_CHECK_EQ(uapi_get_error(&b, ENOMEM), 0);
	ATF_CHECK_STREQ(b.data, "errno=12\n\n");
	ATF_CHECK_EQ(b.len, 10);
	uapi_buf_free(&b);
	memset(&zero, 0, sizeof(zero));
	ATF_CHECK(memcmp(&b, &zero, sizeof(b)) == 0);
}

ATF_TC_WITHOUT_HEAD(buf_bounded);
ATF_TC_BODY(buf_bounded, tc)
{
	struct uapi_buf	 b;
	size_t		 i;

	uapi_buf_init(&b, 10);
	ATF_CHECK_EQ(uapi_buf_add(&b, "0123456789", 10), 0);
	ATF_CHECK_EQ(b.len, 10);
	ATF_CHECK_EQ(uapi_buf_add(&b, "x", 1), -1);
	ATF_CHECK_EQ(b.error, EMSGSIZE);
	/* The error sticks: nothing more goes in, even what would fit. */
	ATF_CHECK_EQ(uapi_buf_add(&b, "", 0), -1);
	ATF_CHECK_EQ(uapi_buf_printf(&b, "%s", ""), -1);
	ATF_CHECK_STREQ(b.data, "0123456789");
	uapi_buf_reset(&b);
	ATF_CHECK_EQ(b.len, 0);
	ATF_CHECK_EQ(b.error, 0);
	ATF_CHECK_EQ(uapi_buf_printf(&b, "%s", "01234567890"), -1);
	ATF_CHECK_EQ(b.len, 0);
	uapi_buf_free(&b);

	/* Growth across many appends keeps every byte. */
	uapi_buf_init(&b, UAPI_MAX_REPLY);
	for (i = 0; i < 10000; i++)
		ATF_REQUIRE_EQ(uapi_buf_printf(&b, "%05zu\n", i), 0);
	ATF_REQUIRE_EQ(b.len, 60000);
	ATF_CHECK(memcmp(b.data + 6 * 1234, "01234\n", 6) == 0);
	ATF_CHECK(memcmp(b.data + 6 * 9999, "09999\n", 6) == 0);
	ATF_CHECK_EQ(b.data[b.len], '\0');
	uapi_buf_free(&b);
}

/* Parse what wg(8) would send, answer a get with it: same prefixes. */
ATF_TC_WITHOUT_HEAD(round_trip);
ATF_TC_BODY(round_trip, tc)
{
	struct uapi_set		 set;
	struct uapi_peer_info	 pi;
	struct uapi_buf		 b;
	char			 err[UAPI_ERR_MAX];

	ATF_REQUIRE_EQ(parse("set=1\npublic_key=" KEY_D "\n"
	    "endpoint=[fe80::abcd%7]:51820\n"
	    "allowed_ip=192.168.7.77/24\n"
	    "allowed_ip=2001:0db8:0000:0000:0000:0000:0000:0001/64\n\n",
	    &set, err, sizeof(err)), 0);
	memset(&pi, 0, sizeof(pi));
	memcpy(pi.public_key, set.peers[0].public_key, WG_KEY_LEN);
	pi.endpoint = set.peers[0].endpoint;
	pi.allowed_ips = set.peers[0].allowed_ips;
	pi.nallowed_ips = set.peers[0].nallowed_ips;
	uapi_buf_init(&b, UAPI_MAX_REPLY);
	ATF_CHECK_EQ(uapi_get_peer(&b, &pi), 0);
	ATF_CHECK_STREQ(b.data,
	    "public_key=" KEY_D_LC "\n"
	    "protocol_version=1\n"
	    "endpoint=[fe80::abcd%7]:51820\n"
	    "last_handshake_time_sec=0\n"
	    "last_handshake_time_nsec=0\n"
	    "tx_bytes=0\n"
	    "rx_bytes=0\n"
	    "persistent_keepalive_interval=0\n"
	    "allowed_ip=192.168.7.0/24\n"
	    "allowed_ip=2001:db8::/64\n");
	uapi_buf_free(&b);
	uapi_set_free(&set);
}

/* ---- uapi_set_check: the whole request against the device --------- */

/* u = 1: a point of low order, a key no DH works with. */
#define KEY_LOW	"0100000000000000000000000000000000000000000000000000000000000000"

struct fake_dev {
	uint8_t	 keys[4][WG_KEY_LEN];
	size_t	 n;
};

static int
fake_exists(const uint8_t *pub, void *arg)
{
	struct fake_dev	*d = arg;
	size_t		 i;

	for (i = 0; i < d->n; i++)
		if (memcmp(d->keys[i], pub, WG_KEY_LEN) == 0)
			return (1);
	return (0);
}

/*
 * A device with private key KEY_A and the peer KEY_E, at most max
 * peers; the request is parsed, then checked.
 */
static int
check(const char *req, size_t max, size_t aip_max, char *err, size_t errlen)
{
	static struct fake_dev	 dev;
	struct uapi_device_view	 v;
	struct uapi_set		 set;
	uint8_t			 priv[WG_KEY_LEN];
	int			 r;

	memset(&dev, 0, sizeof(dev));
	unhex(dev.keys[0], WG_KEY_LEN, KEY_E);
	dev.n = 1;
	memset(&v, 0, sizeof(v));
	v.has_private_key = 1;
	unhex(priv, sizeof(priv), KEY_A);
	ATF_REQUIRE(wgkey_public(v.public_key, priv) == 0);
	v.npeers = dev.n;
	v.max_peers = max;
	v.aip_nodes = 10;
	v.aip_nodes_max = aip_max;
	v.peer_exists = fake_exists;
	v.arg = &dev;
	ATF_REQUIRE_EQ_MSG(parse(req, &set, err, errlen), 0, "%s", err);
	err[0] = '\0';
	r = uapi_set_check(&set, &v, err, errlen);
	uapi_set_free(&set);
	return (r);
}

static const char *
hex_public(const char *priv_hex)
{
	static char	 hex[UAPI_KEY_HEX_LEN + 1];
	uint8_t		 priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	size_t		 i;

	unhex(priv, sizeof(priv), priv_hex);
	ATF_REQUIRE(wgkey_public(pub, priv) == 0);
	for (i = 0; i < WG_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", pub[i]);
	return (hex);
}

ATF_TC_WITHOUT_HEAD(set_check_whole);
ATF_TC_BODY(set_check_whole, tc)
{
	char	 err[UAPI_ERR_MAX], req[1024];

	/* Two good peers, then one no DH works with: the third is named. */
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_B "\nallowed_ip=10.0.0.2/32"
	    "\npublic_key=" KEY_C "\nallowed_ip=10.0.0.3/32"
	    "\npublic_key=" KEY_LOW "\nallowed_ip=10.0.0.4/32\n\n", 16, 0,
	    err, sizeof(err)), EINVAL);
	ATF_CHECK_MSG(strstr(err, "peer 3") != NULL, "%s", err);
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_B "\npublic_key=" KEY_C
	    "\npublic_key=" KEY_0 "\n\n", 16, 0, err, sizeof(err)), EINVAL);
	/* Only a peer to be made is judged so: an update of none is not. */
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_LOW "\nupdate_only=true"
	    "\n\n", 16, 0, err, sizeof(err)), 0);

	/* The third peer past max_peers (KEY_E is there already). */
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_B "\npublic_key=" KEY_C
	    "\npublic_key=" KEY_D "\n\n", 3, 0, err, sizeof(err)), ENOSPC);
	ATF_CHECK_MSG(strstr(err, "peer 3") != NULL, "%s", err);
	/* A removal before it makes room; one after it does not. */
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_E "\nremove=true"
	    "\npublic_key=" KEY_B "\npublic_key=" KEY_C "\npublic_key=" KEY_D
	    "\n\n", 3, 0, err, sizeof(err)), 0);
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_B "\npublic_key=" KEY_C
	    "\npublic_key=" KEY_D "\npublic_key=" KEY_E "\nremove=true\n\n",
	    3, 0, err, sizeof(err)), ENOSPC);
	/* replace_peers starts from none; a key twice is one peer. */
	ATF_CHECK_EQ(check("set=1\nreplace_peers=true\npublic_key=" KEY_B
	    "\npublic_key=" KEY_C "\npublic_key=" KEY_D "\npublic_key=" KEY_B
	    "\n\n", 3, 0, err, sizeof(err)), 0);

	/* The node's own key, as the request leaves it, is no peer. */
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_B "\npublic_key=" KEY_C
	    "\n\n", 16, 0, err, sizeof(err)), 0);
	snprintf(req, sizeof(req), "set=1\nprivate_key=" KEY_D
	    "\npublic_key=" KEY_B "\npublic_key=" KEY_C "\npublic_key=%s\n\n",
	    hex_public(KEY_D));
	ATF_CHECK_EQ(check(req, 16, 0, err, sizeof(err)), EINVAL);
	ATF_CHECK_MSG(strstr(err, "peer 3: this node's own key") != NULL,
	    "%s", err);
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\n\n",
	    hex_public(KEY_A));
	ATF_CHECK_EQ(check(req, 16, 0, err, sizeof(err)), EINVAL);
	/* Without a private key a low-order peer is made, as before. */
	ATF_CHECK_EQ(check("set=1\nprivate_key=" KEY_0 "\npublic_key="
	    KEY_LOW "\n\n", 16, 0, err, sizeof(err)), 0);

	/* More prefixes than the allowed-IPs table may take (10 + 2 x 3). */
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_B "\nallowed_ip=10.0.0.2/32"
	    "\nallowed_ip=10.0.1.0/24\npublic_key=" KEY_C
	    "\nallowed_ip=10.0.0.3/32\n\n", 16, 15, err, sizeof(err)), E2BIG);
	ATF_CHECK_EQ(check("set=1\npublic_key=" KEY_B "\nallowed_ip=10.0.0.2/32"
	    "\nallowed_ip=10.0.1.0/24\npublic_key=" KEY_C
	    "\nallowed_ip=10.0.0.3/32\n\n", 16, 16, err, sizeof(err)), 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, set_check_whole);
	ATF_TP_ADD_TC(tp, set_wg_setconf);
	ATF_TP_ADD_TC(tp, set_semantics);
	ATF_TP_ADD_TC(tp, set_device_key_after_peer);
	ATF_TP_ADD_TC(tp, set_unknown_key);
	ATF_TP_ADD_TC(tp, set_bad_keys);
	ATF_TP_ADD_TC(tp, set_bad_endpoint);
	ATF_TP_ADD_TC(tp, set_bad_cidr);
	ATF_TP_ADD_TC(tp, set_bad_numbers);
	ATF_TP_ADD_TC(tp, set_framing);
	ATF_TP_ADD_TC(tp, set_limits);
	ATF_TP_ADD_TC(tp, set_free_zeroes);
	ATF_TP_ADD_TC(tp, reader_framing);
	ATF_TP_ADD_TC(tp, reader_incremental);
	ATF_TP_ADD_TC(tp, reader_limits);
	ATF_TP_ADD_TC(tp, get_reply);
	ATF_TP_ADD_TC(tp, get_reply_optional);
	ATF_TP_ADD_TC(tp, replies);
	ATF_TP_ADD_TC(tp, buf_bounded);
	ATF_TP_ADD_TC(tp, round_trip);
	return (atf_no_error());
}
