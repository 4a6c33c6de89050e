/*
 * Allowed-IPs trie: longest prefix match for IPv4 and IPv6, replacing
 * owners, removal, enumeration and the node limit.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "wg.h"
#include "wg_test.h"

static int	pa, pb, pc, pd;	/* peers: only their addresses matter */

static void
ins(struct wg_aip *t, const char *a, unsigned int cidr, void *peer, int want)
{
	uint8_t	 buf[16];
	int	 af = strchr(a, ':') != NULL ? AF_INET6 : AF_INET;

	ATF_REQUIRE(inet_pton(af, a, buf) == 1);
	ATF_CHECK_EQ_MSG(wg_aip_insert(t, af, buf, cidr, peer), want,
	    "insert %s/%u", a, cidr);
}

static void *
look(const struct wg_aip *t, const char *a)
{
	uint8_t	 buf[16];
	int	 af = strchr(a, ':') != NULL ? AF_INET6 : AF_INET;

	ATF_REQUIRE(inet_pton(af, a, buf) == 1);
	return (wg_aip_lookup(t, af, buf));
}

static int
rm(struct wg_aip *t, const char *a, unsigned int cidr, void *peer)
{
	uint8_t	 buf[16];
	int	 af = strchr(a, ':') != NULL ? AF_INET6 : AF_INET;

	ATF_REQUIRE(inet_pton(af, a, buf) == 1);
	return (wg_aip_remove(t, af, buf, cidr, peer));
}

#define LOOK(t, a, p)	ATF_CHECK_MSG(look(t, a) == (void *)(p), "lookup %s", a)

ATF_TC_WITHOUT_HEAD(overlap4);
ATF_TC_BODY(overlap4, tc)
{
	struct wg_aip	 t;

	wg_aip_init(&t, 0);
	ins(&t, "10.1.0.0", 16, &pb, WG_OK);
	ins(&t, "10.0.0.0", 8, &pa, WG_OK);
	ins(&t, "10.1.2.3", 32, &pc, WG_OK);
	LOOK(&t, "10.1.2.3", &pc);
	LOOK(&t, "10.1.2.4", &pb);
	LOOK(&t, "10.1.255.255", &pb);
	LOOK(&t, "10.2.0.1", &pa);
	LOOK(&t, "10.255.255.255", &pa);
	LOOK(&t, "11.0.0.0", NULL);
	LOOK(&t, "9.255.255.255", NULL);
	LOOK(&t, "192.168.1.1", NULL);
	/* No default route until 0.0.0.0/0 exists. */
	ins(&t, "0.0.0.0", 0, &pd, WG_OK);
	LOOK(&t, "192.168.1.1", &pd);
	LOOK(&t, "10.1.2.3", &pc);
	/* IPv6 is separate. */
	LOOK(&t, "::1", NULL);
	wg_aip_clear(&t);
	ATF_CHECK_EQ(t.nodes, 0);
	LOOK(&t, "10.1.2.3", NULL);
}

ATF_TC_WITHOUT_HEAD(overlap6);
ATF_TC_BODY(overlap6, tc)
{
	struct wg_aip	 t;

	wg_aip_init(&t, 0);
	ins(&t, "fd00::", 8, &pa, WG_OK);
	ins(&t, "fd00:1::", 32, &pb, WG_OK);
	ins(&t, "fd00:1::7", 128, &pc, WG_OK);
	LOOK(&t, "fd00:1::7", &pc);
	LOOK(&t, "fd00:1::8", &pb);
	LOOK(&t, "fd00:2::7", &pa);
	LOOK(&t, "fe80::1", NULL);
	ins(&t, "::", 0, &pd, WG_OK);
	LOOK(&t, "fe80::1", &pd);
	LOOK(&t, "2001:db8::1", &pd);
	LOOK(&t, "10.0.0.1", NULL);
	wg_aip_clear(&t);
}

ATF_TC_WITHOUT_HEAD(exact_and_masking);
ATF_TC_BODY(exact_and_masking, tc)
{
	struct wg_aip	 t;
	uint8_t		 a4[4] = { 192, 0, 2, 77 };

	wg_aip_init(&t, 0);
	ins(&t, "192.0.2.1", 32, &pa, WG_OK);
	ins(&t, "192.0.2.2", 32, &pb, WG_OK);
	LOOK(&t, "192.0.2.1", &pa);
	LOOK(&t, "192.0.2.2", &pb);
	LOOK(&t, "192.0.2.3", NULL);
	ins(&t, "2001:db8::1", 128, &pc, WG_OK);
	LOOK(&t, "2001:db8::1", &pc);
	LOOK(&t, "2001:db8::2", NULL);
	/* Host bits are masked: 198.51.100.77/24 is 198.51.100.0/24. */
	ins(&t, "198.51.100.77", 24, &pd, WG_OK);
	LOOK(&t, "198.51.100.1", &pd);
	ATF_CHECK_EQ(rm(&t, "198.51.100.0", 24, &pd), WG_OK);
	LOOK(&t, "198.51.100.77", NULL);
	/* Bad arguments. */
	ATF_CHECK_EQ(wg_aip_insert(&t, AF_INET, a4, 33, &pa), WG_EINVAL);
	ATF_CHECK_EQ(wg_aip_insert(&t, AF_INET, a4, 32, NULL), WG_EINVAL);
	ATF_CHECK_EQ(wg_aip_insert(&t, AF_UNIX, a4, 8, &pa), WG_EINVAL);
	wg_aip_clear(&t);
}

ATF_TC_WITHOUT_HEAD(replace_owner);
ATF_TC_BODY(replace_owner, tc)
{
	struct wg_aip	 t;
	size_t		 n;

	wg_aip_init(&t, 0);
	ins(&t, "10.0.0.0", 8, &pa, WG_OK);
	ins(&t, "10.1.0.0", 16, &pa, WG_OK);
	n = t.nodes;
	ins(&t, "10.0.0.0", 8, &pb, WG_OK);
	ATF_CHECK_EQ(t.nodes, n);
	LOOK(&t, "10.2.0.0", &pb);
	LOOK(&t, "10.1.0.0", &pa);
	/* Removal names the owner: a's claim on 10/8 is gone. */
	ATF_CHECK_EQ(rm(&t, "10.0.0.0", 8, &pa), WG_ENOENT);
	ATF_CHECK_EQ(rm(&t, "10.0.0.0", 8, &pb), WG_OK);
	LOOK(&t, "10.2.0.0", NULL);
	LOOK(&t, "10.1.0.0", &pa);
	wg_aip_clear(&t);
}

ATF_TC_WITHOUT_HEAD(remove_prefix);
ATF_TC_BODY(remove_prefix, tc)
{
	struct wg_aip	 t;

	wg_aip_init(&t, 0);
	ins(&t, "10.0.0.0", 8, &pa, WG_OK);
	ins(&t, "10.1.0.0", 16, &pb, WG_OK);
	ins(&t, "10.1.2.3", 32, &pc, WG_OK);
	ins(&t, "10.128.0.0", 9, &pd, WG_OK);
	ATF_CHECK_EQ(rm(&t, "10.1.0.0", 16, NULL), WG_OK);
	LOOK(&t, "10.1.2.3", &pc);
	LOOK(&t, "10.1.2.4", &pa);
	LOOK(&t, "10.200.0.1", &pd);
	/* Absent prefixes, and a branch point, cannot be removed. */
	ATF_CHECK_EQ(rm(&t, "10.1.0.0", 16, NULL), WG_ENOENT);
	ATF_CHECK_EQ(rm(&t, "10.1.2.0", 24, NULL), WG_ENOENT);
	ATF_CHECK_EQ(rm(&t, "172.16.0.0", 12, NULL), WG_ENOENT);
	ATF_CHECK_EQ(rm(&t, "10.0.0.0", 8, NULL), WG_OK);
	LOOK(&t, "10.1.2.4", NULL);
	LOOK(&t, "10.1.2.3", &pc);
	ATF_CHECK_EQ(rm(&t, "10.1.2.3", 32, NULL), WG_OK);
	ATF_CHECK_EQ(rm(&t, "10.128.0.0", 9, NULL), WG_OK);
	/* Branch points went with their last prefixes. */
	ATF_CHECK_EQ(t.nodes, 0);
	ATF_CHECK(t.root4 == NULL);
	wg_aip_clear(&t);
}

struct seen {
	char	 list[8][64];
	int	 n;
};

static int
collect(void *arg, int family, const uint8_t *addr, unsigned int cidr)
{
	struct seen	*s = arg;
	char		 a[INET6_ADDRSTRLEN];

	ATF_REQUIRE(s->n < 8);
	ATF_REQUIRE(inet_ntop(family, addr, a, sizeof(a)) != NULL);
	snprintf(s->list[s->n++], sizeof(s->list[0]), "%s/%u", a, cidr);
	return (0);
}

static int
has(const struct seen *s, const char *p)
{
	int	 i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->list[i], p) == 0)
			return (1);
	return (0);
}

ATF_TC_WITHOUT_HEAD(remove_peer_and_walk);
ATF_TC_BODY(remove_peer_and_walk, tc)
{
	struct wg_aip	 t;
	struct seen	 s;

	wg_aip_init(&t, 0);
	ins(&t, "10.0.0.0", 8, &pa, WG_OK);
	ins(&t, "10.1.0.0", 16, &pb, WG_OK);
	ins(&t, "10.1.2.3", 32, &pa, WG_OK);
	ins(&t, "192.168.7.9", 24, &pa, WG_OK);
	ins(&t, "fd00::1", 64, &pa, WG_OK);
	ins(&t, "fd00:1::", 48, &pb, WG_OK);

	memset(&s, 0, sizeof(s));
	ATF_CHECK_EQ(wg_aip_walk(&t, &pa, collect, &s), 0);
	ATF_CHECK_EQ(s.n, 4);
	ATF_CHECK(has(&s, "10.0.0.0/8"));
	ATF_CHECK(has(&s, "10.1.2.3/32"));
	ATF_CHECK(has(&s, "192.168.7.0/24"));
	ATF_CHECK(has(&s, "fd00::/64"));

	wg_aip_remove_peer(&t, &pa);
	LOOK(&t, "10.1.2.3", &pb);
	LOOK(&t, "10.2.0.0", NULL);
	LOOK(&t, "192.168.7.9", NULL);
	LOOK(&t, "fd00::1", NULL);
	LOOK(&t, "fd00:1::1", &pb);
	memset(&s, 0, sizeof(s));
	ATF_CHECK_EQ(wg_aip_walk(&t, &pa, collect, &s), 0);
	ATF_CHECK_EQ(s.n, 0);
	memset(&s, 0, sizeof(s));
	ATF_CHECK_EQ(wg_aip_walk(&t, &pb, collect, &s), 0);
	ATF_CHECK_EQ(s.n, 2);
	/* Only b's two leaves are left, no stray branch points. */
	ATF_CHECK_EQ(t.nodes, 2);
	wg_aip_remove_peer(&t, &pb);
	ATF_CHECK_EQ(t.nodes, 0);
	wg_aip_clear(&t);
}

/* The owners wg_aip_overlap() reports, as "owner:prefix" strings. */
static int
collect_overlap(void *arg, void *peer, int family, const uint8_t *addr,
    unsigned int cidr)
{
	struct seen	*s = arg;
	char		 a[INET6_ADDRSTRLEN];
	char		 o;

	o = peer == &pa ? 'a' : peer == &pb ? 'b' : peer == &pc ? 'c' : 'd';
	ATF_REQUIRE(s->n < 8);
	ATF_REQUIRE(inet_ntop(family, addr, a, sizeof(a)) != NULL);
	snprintf(s->list[s->n++], sizeof(s->list[0]), "%c:%s/%u", o, a,
	    cidr);
	return (0);
}

static int
overlap(const struct wg_aip *t, const char *a, unsigned int cidr,
    struct seen *s)
{
	uint8_t	 buf[16];
	int	 af = strchr(a, ':') != NULL ? AF_INET6 : AF_INET;

	ATF_REQUIRE(inet_pton(af, a, buf) == 1);
	memset(s, 0, sizeof(*s));
	return (wg_aip_overlap(t, af, buf, cidr, collect_overlap, s));
}

static int
stop_at_first(void *arg, void *peer, int family, const uint8_t *addr,
    unsigned int cidr)
{
	(*(int *)arg)++;
	return (7);
}

ATF_TC_WITHOUT_HEAD(overlaps);
ATF_TC_BODY(overlaps, tc)
{
	struct wg_aip	 t;
	struct seen	 s;
	uint8_t		 buf[16];
	int		 calls = 0;

	wg_aip_init(&t, 0);
	ins(&t, "10.0.0.0", 8, &pa, WG_OK);
	ins(&t, "10.1.0.0", 16, &pb, WG_OK);
	ins(&t, "10.1.2.3", 32, &pc, WG_OK);
	ins(&t, "10.1.2.4", 32, &pd, WG_OK);	/* a branch point above */
	ins(&t, "192.168.0.0", 24, &pd, WG_OK);
	ins(&t, "fd00::", 64, &pa, WG_OK);

	/* Identical: itself and what covers it. */
	ATF_CHECK_EQ(overlap(&t, "10.1.0.0", 16, &s), 0);
	ATF_CHECK_EQ(s.n, 4);
	ATF_CHECK(has(&s, "a:10.0.0.0/8"));
	ATF_CHECK(has(&s, "b:10.1.0.0/16"));
	ATF_CHECK(has(&s, "c:10.1.2.3/32"));
	ATF_CHECK(has(&s, "d:10.1.2.4/32"));
	/* Covered first, shortest first. */
	ATF_CHECK_STREQ(s.list[0], "a:10.0.0.0/8");
	ATF_CHECK_STREQ(s.list[1], "b:10.1.0.0/16");

	/* Inside prefixes only, through the peer-less branch point. */
	ATF_CHECK_EQ(overlap(&t, "10.1.2.0", 24, &s), 0);
	ATF_CHECK_EQ(s.n, 4);
	ATF_CHECK(has(&s, "c:10.1.2.3/32"));
	ATF_CHECK(has(&s, "d:10.1.2.4/32"));
	ATF_CHECK_EQ(overlap(&t, "10.1.2.0", 30, &s), 0);
	ATF_CHECK_EQ(s.n, 3);
	ATF_CHECK(!has(&s, "d:10.1.2.4/32"));

	/* A host inside a /16 but outside the /32s. */
	ATF_CHECK_EQ(overlap(&t, "10.1.9.9", 32, &s), 0);
	ATF_CHECK_EQ(s.n, 2);
	ATF_CHECK(has(&s, "a:10.0.0.0/8"));
	ATF_CHECK(has(&s, "b:10.1.0.0/16"));

	/* A default route covers everything of its family. */
	ATF_CHECK_EQ(overlap(&t, "0.0.0.0", 0, &s), 0);
	ATF_CHECK_EQ(s.n, 5);
	ATF_CHECK(has(&s, "d:192.168.0.0/24"));
	ATF_CHECK_EQ(overlap(&t, "::", 0, &s), 0);
	ATF_CHECK_EQ(s.n, 1);
	ATF_CHECK(has(&s, "a:fd00::/64"));

	/* Disjoint: nothing, also where the path diverges in a node. */
	ATF_CHECK_EQ(overlap(&t, "172.16.0.0", 12, &s), 0);
	ATF_CHECK_EQ(s.n, 0);
	ATF_CHECK_EQ(overlap(&t, "192.168.1.0", 24, &s), 0);
	ATF_CHECK_EQ(s.n, 0);
	ATF_CHECK_EQ(overlap(&t, "192.168.0.128", 25, &s), 0);
	ATF_CHECK_EQ(s.n, 1);
	ATF_CHECK_EQ(overlap(&t, "fd01::", 64, &s), 0);
	ATF_CHECK_EQ(s.n, 0);
	/* Host bits of the query are ignored. */
	ATF_CHECK_EQ(overlap(&t, "10.1.2.255", 24, &s), 0);
	ATF_CHECK_EQ(s.n, 4);

	/* fn stops the search and its value comes back. */
	ATF_REQUIRE(inet_pton(AF_INET, "10.1.2.3", buf) == 1);
	ATF_CHECK_EQ(wg_aip_overlap(&t, AF_INET, buf, 32, stop_at_first,
	    &calls), 7);
	ATF_CHECK_EQ(calls, 1);
	ATF_CHECK_EQ(wg_aip_overlap(&t, AF_INET, buf, 33, stop_at_first,
	    &calls), WG_EINVAL);
	ATF_CHECK_EQ(wg_aip_overlap(&t, AF_UNIX, buf, 8, stop_at_first,
	    &calls), WG_EINVAL);
	wg_aip_clear(&t);

	/* An empty trie. */
	wg_aip_init(&t, 0);
	ATF_CHECK_EQ(overlap(&t, "0.0.0.0", 0, &s), 0);
	ATF_CHECK_EQ(s.n, 0);
}

ATF_TC_WITHOUT_HEAD(node_limit);
ATF_TC_BODY(node_limit, tc)
{
	struct wg_aip	 t;

	wg_aip_init(&t, 3);
	ins(&t, "10.0.0.1", 32, &pa, WG_OK);
	/* Diverging from it takes a leaf and a branch point: 3. */
	ins(&t, "10.0.0.2", 32, &pa, WG_OK);
	ATF_CHECK_EQ(t.nodes, 3);
	ins(&t, "10.0.0.3", 32, &pa, WG_ELIMIT);
	ins(&t, "10.0.0.0", 8, &pa, WG_ELIMIT);
	/* Replacing an owner needs no node. */
	ins(&t, "10.0.0.2", 32, &pb, WG_OK);
	LOOK(&t, "10.0.0.3", NULL);
	LOOK(&t, "10.0.0.2", &pb);
	ATF_CHECK_EQ(rm(&t, "10.0.0.2", 32, NULL), WG_OK);
	ATF_CHECK_EQ(t.nodes, 1);
	ins(&t, "10.0.0.0", 8, &pa, WG_OK);
	ATF_CHECK_EQ(t.nodes, 2);
	wg_aip_clear(&t);
}

ATF_TC_WITHOUT_HEAD(many);
ATF_TC_BODY(many, tc)
{
	struct wg_aip	 t;
	uint8_t		 a[4];
	unsigned int	 i;

	/* Every /32 in a /22 and the /24s above them. */
	wg_aip_init(&t, 0);
	for (i = 0; i < 1024; i++) {
		a[0] = 10; a[1] = 9; a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		ATF_REQUIRE_EQ(wg_aip_insert(&t, AF_INET, a, 32,
		    (i % 2) ? &pa : &pb), WG_OK);
	}
	for (i = 0; i < 4; i++) {
		a[2] = (uint8_t)i; a[3] = 0;
		ATF_REQUIRE_EQ(wg_aip_insert(&t, AF_INET, a, 24, &pc), WG_OK);
	}
	for (i = 0; i < 1024; i++) {
		a[2] = (uint8_t)(i >> 8); a[3] = (uint8_t)i;
		ATF_REQUIRE(wg_aip_lookup(&t, AF_INET, a) ==
		    ((i % 2) ? (void *)&pa : (void *)&pb));
	}
	wg_aip_remove_peer(&t, &pa);
	for (i = 0; i < 1024; i++) {
		a[2] = (uint8_t)(i >> 8); a[3] = (uint8_t)i;
		ATF_REQUIRE(wg_aip_lookup(&t, AF_INET, a) ==
		    ((i % 2) ? (void *)&pc : (void *)&pb));
	}
	wg_aip_remove_peer(&t, &pb);
	wg_aip_remove_peer(&t, &pc);
	ATF_CHECK_EQ(t.nodes, 0);
	wg_aip_clear(&t);
}

/*
 * A decrypted packet: its length from its own header, padding cut; a
 * source routed to another peer (a longer prefix wins) or a header that
 * lies about its length is refused.
 */
ATF_TC_WITHOUT_HEAD(inner_check);
ATF_TC_BODY(inner_check, tc)
{
	struct wg_aip	 t;
	uint8_t		 p4[32], p6[64];
	size_t		 len;

	wg_aip_init(&t, 0);
	ins(&t, "10.0.0.0", 16, &pa, WG_OK);
	ins(&t, "10.0.1.0", 24, &pb, WG_OK);
	ins(&t, "fd00::", 64, &pa, WG_OK);

	/* IPv4, 28 bytes in a 32-byte plaintext, from 10.0.0.9. */
	memset(p4, 0, sizeof(p4));
	p4[0] = 0x45;
	p4[3] = 28;
	ATF_REQUIRE(inet_pton(AF_INET, "10.0.0.9", p4 + 12) == 1);
	ATF_CHECK_EQ(wg_inner_check(&t, &pa, p4, sizeof(p4), &len),
	    WG_INNER_OK);
	ATF_CHECK_EQ(len, 28);
	ATF_CHECK_EQ(wg_inner_check(&t, &pb, p4, sizeof(p4), &len),
	    WG_INNER_NOT_ALLOWED);
	/* 10.0.1.9 is b's, inside a's shorter prefix. */
	ATF_REQUIRE(inet_pton(AF_INET, "10.0.1.9", p4 + 12) == 1);
	ATF_CHECK_EQ(wg_inner_check(&t, &pa, p4, sizeof(p4), &len),
	    WG_INNER_NOT_ALLOWED);
	ATF_CHECK_EQ(wg_inner_check(&t, &pb, p4, sizeof(p4), &len),
	    WG_INNER_OK);
	/* Longer than what came, shorter than a header, too short. */
	p4[3] = 33;
	ATF_CHECK_EQ(wg_inner_check(&t, &pb, p4, sizeof(p4), &len),
	    WG_INNER_MALFORMED);
	p4[3] = 19;
	ATF_CHECK_EQ(wg_inner_check(&t, &pb, p4, sizeof(p4), &len),
	    WG_INNER_MALFORMED);
	p4[3] = 20;
	ATF_CHECK_EQ(wg_inner_check(&t, &pb, p4, 19, &len),
	    WG_INNER_MALFORMED);

	/* IPv6: 40 bytes of header and a payload of 8. */
	memset(p6, 0, sizeof(p6));
	p6[0] = 0x60;
	p6[5] = 8;
	ATF_REQUIRE(inet_pton(AF_INET6, "fd00::1", p6 + 8) == 1);
	ATF_CHECK_EQ(wg_inner_check(&t, &pa, p6, sizeof(p6), &len),
	    WG_INNER_OK);
	ATF_CHECK_EQ(len, 48);
	ATF_REQUIRE(inet_pton(AF_INET6, "fd00:0:0:1::1", p6 + 8) == 1);
	ATF_CHECK_EQ(wg_inner_check(&t, &pa, p6, sizeof(p6), &len),
	    WG_INNER_NOT_ALLOWED);
	p6[5] = 25;
	ATF_CHECK_EQ(wg_inner_check(&t, &pa, p6, sizeof(p6), &len),
	    WG_INNER_MALFORMED);
	/* Neither version. */
	p6[0] = 0x50;
	ATF_CHECK_EQ(wg_inner_check(&t, &pa, p6, sizeof(p6), &len),
	    WG_INNER_MALFORMED);
	wg_aip_clear(&t);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, overlap4);
	ATF_TP_ADD_TC(tp, overlap6);
	ATF_TP_ADD_TC(tp, exact_and_masking);
	ATF_TP_ADD_TC(tp, replace_owner);
	ATF_TP_ADD_TC(tp, remove_prefix);
	ATF_TP_ADD_TC(tp, remove_peer_and_walk);
	ATF_TP_ADD_TC(tp, overlaps);
	ATF_TP_ADD_TC(tp, node_limit);
	ATF_TP_ADD_TC(tp, many);
	ATF_TP_ADD_TC(tp, inner_check);
	return (atf_no_error());
}
