/*
 * The mesh's DNS: resolvectl and resolvconf command lines, the marked
 * block of resolv.conf (put in, replaced, taken out leaving the file as
 * it was), and dns_search in the token's validation.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "dns.h"

static void
conf(struct dns_conf *dc, const char *s1, const char *s2, const char *d1,
    const char *d2)
{
	memset(dc, 0, sizeof(*dc));
	if (s1 != NULL)
		ATF_REQUIRE(ipaddr_parse(s1, &dc->servers[dc->nservers++]) == 0);
	if (s2 != NULL)
		ATF_REQUIRE(ipaddr_parse(s2, &dc->servers[dc->nservers++]) == 0);
	if (d1 != NULL)
		strlcpy(dc->search[dc->nsearch++], d1, sizeof(dc->search[0]));
	if (d2 != NULL)
		strlcpy(dc->search[dc->nsearch++], d2, sizeof(dc->search[0]));
}

/* The words of a command joined by spaces. */
static const char *
joined(const struct dns_cmd *cmd, char *buf, size_t len)
{
	size_t	 i;

	buf[0] = '\0';
	for (i = 0; cmd->argv[i] != NULL; i++) {
		if (i > 0)
			strlcat(buf, " ", len);
		strlcat(buf, cmd->argv[i], len);
	}
	return (buf);
}

/* dns_file_edit into a NUL-terminated string the test frees. */
static char *
edit(const char *in, const char *ifname, const struct dns_conf *dc)
{
	char	*out, err[256];
	size_t	 outlen;

	ATF_REQUIRE_MSG(dns_file_edit(in, strlen(in), ifname, dc, &out,
	    &outlen, err, sizeof(err)) == 0, "%s", err);
	ATF_REQUIRE(strlen(out) == outlen);
	return (out);
}

ATF_TC_WITHOUT_HEAD(resolved_commands);
ATF_TC_BODY(resolved_commands, tc)
{
	struct dns_conf	 dc;
	struct dns_cmd	 a, b;
	char		 s[512];
	int		 n;

	conf(&dc, "10.99.0.53", "fd00::53", "mesh.example", "corp.example");
	ATF_REQUIRE(dns_resolved_set("/usr/bin/resolvectl", "cbp0", &dc, &a,
	    &b, &n) == 0);
	ATF_CHECK_STREQ(joined(&a, s, sizeof(s)),
	    "/usr/bin/resolvectl dns cbp0 10.99.0.53 fd00::53");
	ATF_CHECK_EQ(n, 1);
	ATF_CHECK_STREQ(joined(&b, s, sizeof(s)),
	    "/usr/bin/resolvectl domain cbp0 mesh.example corp.example");
	ATF_CHECK(!a.has_text);

	/* No search domains: no "domain" command. */
	conf(&dc, "10.99.0.53", NULL, NULL, NULL);
	ATF_REQUIRE(dns_resolved_set("resolvectl", "cbp0", &dc, &a, &b,
	    &n) == 0);
	ATF_CHECK_EQ(n, 0);
	ATF_CHECK_STREQ(joined(&a, s, sizeof(s)), "resolvectl dns cbp0 "
	    "10.99.0.53");

	ATF_REQUIRE(dns_resolved_revert("resolvectl", "cbp0", &a) == 0);
	ATF_CHECK_STREQ(joined(&a, s, sizeof(s)), "resolvectl revert cbp0");
}

ATF_TC_WITHOUT_HEAD(resolvconf_commands);
ATF_TC_BODY(resolvconf_commands, tc)
{
	struct dns_conf	 dc;
	struct dns_cmd	 a;
	char		 s[512];

	conf(&dc, "10.99.0.53", "fd00::53", "mesh.example", NULL);
	ATF_REQUIRE(dns_resolvconf_add("/sbin/resolvconf", "cbp0.cbp2p", &dc,
	    &a) == 0);
	ATF_CHECK_STREQ(joined(&a, s, sizeof(s)),
	    "/sbin/resolvconf -a cbp0.cbp2p");
	ATF_CHECK(a.has_text);
	ATF_CHECK_STREQ(a.text, "nameserver 10.99.0.53\nnameserver fd00::53\n"
	    "search mesh.example\n");
	ATF_REQUIRE(dns_resolvconf_del("/sbin/resolvconf", "cbp0.cbp2p",
	    &a) == 0);
	ATF_CHECK_STREQ(joined(&a, s, sizeof(s)),
	    "/sbin/resolvconf -d cbp0.cbp2p");
	ATF_CHECK(!a.has_text);
}

/* The record's name from interface-order(5), as wg-quick(8) makes it. */
static const char *
record(const char *order, const char *ifname, char *rec, size_t len)
{
	if (dns_resolvconf_record(order, order != NULL ? strlen(order) : 0,
	    ifname, rec, len) == -1)
		return ("(does not fit)");
	return (rec);
}

ATF_TC_WITHOUT_HEAD(resolvconf_record);
ATF_TC_BODY(resolvconf_record, tc)
{
	/* Debian 12's resolvconf 1.91, its first lines. */
	const char	*stock = "# interface-order(5)\nlo.inet6\nlo.inet\n"
			    "lo.@(dnsmasq|pdnsd)\nlo.!(pdns|pdns-recursor)\n"
			    "lo\ntun*\ntap*\nhso*\nvpn*\n"
			    "em+([0-9])?(_+([0-9]))*\n*\n";
	char		 rec[DNS_RESOLVCONF_REC_MAX], small[8];

	ATF_CHECK_STREQ(record(stock, "cbp0", rec, sizeof(rec)),
	    "tun.cbp0.cbp2p");
	/* No file (openresolv, systemd's resolvconf): the plain name. */
	ATF_CHECK_STREQ(record(NULL, "cbp0", rec, sizeof(rec)), "cbp0.cbp2p");
	ATF_CHECK_STREQ(record("", "cbp0", rec, sizeof(rec)), "cbp0.cbp2p");
	/* Only a plain NAME* counts; spaces around it do not matter. */
	ATF_CHECK_STREQ(record("lo\neth*([^.])\n*\n  vpn*\t\n", "cbp0", rec,
	    sizeof(rec)), "vpn.cbp0.cbp2p");
	ATF_CHECK_STREQ(record("lo\n*\n#tun*\n", "cbp0", rec, sizeof(rec)),
	    "cbp0.cbp2p");
	/* The last line needs no newline. */
	ATF_CHECK_STREQ(record("lo\nwg-x*", "cbp0", rec, sizeof(rec)),
	    "wg-x.cbp0.cbp2p");
	/* A pattern too long for a prefix: none. */
	ATF_CHECK_STREQ(record("abcdefghijklmnopq*\n", "cbp0", rec,
	    sizeof(rec)), "cbp0.cbp2p");
	ATF_CHECK_STREQ(record("abcdefghijklmnop*\n", "cbp0", rec,
	    sizeof(rec)), "abcdefghijklmnop.cbp0.cbp2p");
	/* The longest interface name with the longest prefix fits. */
	ATF_CHECK_STREQ(record("abcdefghijklmnop*\n", "abcdefghijklmno", rec,
	    sizeof(rec)), "abcdefghijklmnop.abcdefghijklmno.cbp2p");
	ATF_CHECK(dns_resolvconf_record(stock, strlen(stock), "cbp0", small,
	    sizeof(small)) == -1);
}

ATF_TC_WITHOUT_HEAD(file_block);
ATF_TC_BODY(file_block, tc)
{
	const char	*orig = "# the host's own\nnameserver 192.0.2.1\n"
			    "search host.example\noptions edns0\n";
	struct dns_conf	 dc, dc2;
	char		*a, *b, *c;

	conf(&dc, "10.99.0.53", NULL, "mesh.example", NULL);
	a = edit(orig, "cbp0", &dc);
	/* Servers first, the file's lines, then the search line that wins. */
	ATF_CHECK_STREQ(a,
	    "# cbp2pd cbp0 begin: mesh DNS, removed when cbp2pd stops\n"
	    "nameserver 10.99.0.53\n"
	    "# cbp2pd cbp0 end\n"
	    "# the host's own\nnameserver 192.0.2.1\n"
	    "search host.example\noptions edns0\n"
	    "# cbp2pd cbp0 begin: mesh DNS, removed when cbp2pd stops\n"
	    "search mesh.example host.example\n"
	    "# cbp2pd cbp0 end\n");

	/* Applied again with other servers: replaced, not added. */
	conf(&dc2, "10.99.0.54", "fd00::54", NULL, NULL);
	b = edit(a, "cbp0", &dc2);
	ATF_CHECK_STREQ(b,
	    "# cbp2pd cbp0 begin: mesh DNS, removed when cbp2pd stops\n"
	    "nameserver 10.99.0.54\nnameserver fd00::54\n"
	    "# cbp2pd cbp0 end\n"
	    "# the host's own\nnameserver 192.0.2.1\n"
	    "search host.example\noptions edns0\n");

	/* Another interface's block is not ours to touch. */
	free(a);
	a = edit(b, "cbp1", &dc);
	free(b);
	b = edit(a, "cbp0", NULL);
	c = edit(b, "cbp1", NULL);
	ATF_CHECK(strstr(b, "cbp2pd cbp1 begin") != NULL);
	ATF_CHECK(strstr(b, "cbp2pd cbp0 begin") == NULL);
	ATF_CHECK_STREQ(c, orig);
	free(a);
	free(b);
	free(c);
}

ATF_TC_WITHOUT_HEAD(file_edges);
ATF_TC_BODY(file_edges, tc)
{
	struct dns_conf	 dc, none;
	char		*a, *b, err[256];
	size_t		 n;
	const char	*broken = "nameserver 192.0.2.1\n"
			    "# cbp2pd cbp0 begin: mesh DNS\nnameserver 10.0.0.1\n";

	/* An empty or missing file gets the block; taken out, it is empty. */
	conf(&dc, "10.99.0.53", NULL, "mesh.example", NULL);
	a = edit("", "cbp0", &dc);
	ATF_CHECK(strstr(a, "nameserver 10.99.0.53\n") != NULL);
	ATF_CHECK(strstr(a, "search mesh.example\n") != NULL);
	b = edit(a, "cbp0", NULL);
	ATF_CHECK_STREQ(b, "");
	free(a);
	free(b);

	/* A last line without newline stays as it was. */
	a = edit("nameserver 192.0.2.1", "cbp0", &dc);
	ATF_CHECK(strstr(a, "nameserver 192.0.2.1\n# cbp2pd cbp0 begin") !=
	    NULL);
	free(a);
	conf(&dc, "10.99.0.53", NULL, NULL, NULL);
	a = edit("nameserver 192.0.2.1", "cbp0", &dc);
	b = edit(a, "cbp0", NULL);
	ATF_CHECK_STREQ(b, "nameserver 192.0.2.1");
	free(a);
	free(b);

	/* Nothing to apply: the same as taking out. */
	memset(&none, 0, sizeof(none));
	a = edit("nameserver 192.0.2.1\n", "cbp0", &none);
	ATF_CHECK_STREQ(a, "nameserver 192.0.2.1\n");
	free(a);

	/* "domain" counts as the search line too; no domain twice. */
	conf(&dc, "10.99.0.53", NULL, "mesh.example", NULL);
	a = edit("domain mesh.example\tother.example\n", "cbp0", &dc);
	ATF_CHECK(strstr(a, "search mesh.example other.example\n") != NULL);
	free(a);

	/* A prefix of the name is another interface. */
	a = edit("# cbp2pd cbp00 begin: x\nnameserver 10.0.0.1\n"
	    "# cbp2pd cbp00 end\n", "cbp0", NULL);
	ATF_CHECK(strstr(a, "cbp00 begin") != NULL);
	free(a);

	/* An unterminated block: refused, the file left alone. */
	ATF_CHECK(dns_file_edit(broken, strlen(broken), "cbp0", &dc, &a, &n,
	    err, sizeof(err)) == -1);
	ATF_CHECK(strstr(err, "no end line") != NULL);
}

ATF_TC_WITHOUT_HEAD(modes);
ATF_TC_BODY(modes, tc)
{
	enum dns_mode	 m;

	ATF_CHECK(dns_mode_parse("on", &m) == 0 && m == DNS_AUTO);
	ATF_CHECK(dns_mode_parse("yes", &m) == 0 && m == DNS_AUTO);
	ATF_CHECK(dns_mode_parse("off", &m) == 0 && m == DNS_OFF);
	ATF_CHECK(dns_mode_parse("false", &m) == 0 && m == DNS_OFF);
	ATF_CHECK(dns_mode_parse("resolved", &m) == 0 && m == DNS_RESOLVED);
	ATF_CHECK(dns_mode_parse("resolvconf", &m) == 0 &&
	    m == DNS_RESOLVCONF);
	ATF_CHECK(dns_mode_parse("file", &m) == 0 && m == DNS_FILE);
	ATF_CHECK(dns_mode_parse("bind", &m) == -1);
	ATF_CHECK_STREQ(dns_mode_name(DNS_FILE), "file");
}

ATF_TC_WITHOUT_HEAD(domains);
ATF_TC_BODY(domains, tc)
{
	ATF_CHECK(domain_valid("mesh.example"));
	ATF_CHECK(domain_valid("a-b.c"));
	ATF_CHECK(!domain_valid(""));
	ATF_CHECK(!domain_valid("-a.example"));
	ATF_CHECK(!domain_valid("a..example"));
	ATF_CHECK(!domain_valid("a b"));
	ATF_CHECK(!domain_valid("a\nnameserver 6.6.6.6"));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, resolved_commands);
	ATF_TP_ADD_TC(tp, resolvconf_commands);
	ATF_TP_ADD_TC(tp, resolvconf_record);
	ATF_TP_ADD_TC(tp, file_block);
	ATF_TP_ADD_TC(tp, file_edges);
	ATF_TP_ADD_TC(tp, modes);
	ATF_TP_ADD_TC(tp, domains);
	return (atf_no_error());
}
