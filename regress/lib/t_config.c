/*
 * config_load: cbp2pd.yaml parsing, file checks and the token it names;
 * config_dropin: cbp2p-wg's configuration from an interface name.
 * Every case writes its files into a fresh directory made by mkdtemp(3)
 * under the test's work directory.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "config.h"

#define NOW	((time_t)1700000000)

#define HS_SECRET "0123456789abcdef0123456789abcdef-hs256-test-secret"
static const char hs_secret[] = HS_SECRET;

struct fixture {
	char	 dir[PATH_MAX];
	char	 conf[PATH_MAX];
	char	 token[PATH_MAX];
	char	 key[PATH_MAX];
};

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ATF_REQUIRE_MSG(fd != -1, "open %s", path);
	ATF_REQUIRE(write(fd, data, len) == (ssize_t)len);
	ATF_REQUIRE(fchmod(fd, mode) == 0);
	ATF_REQUIRE(close(fd) == 0);
}

static char *
claims_json(void)
{
	uint8_t	 priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	char	 bpriv[WG_KEY_B64_LEN + 1], bpub[WG_KEY_B64_LEN + 1], *s;
	json_t	*c;

	wgkey_generate(priv);
	ATF_REQUIRE(wgkey_public(pub, priv) == 0);
	wgkey_to_b64(bpriv, priv);
	wgkey_to_b64(bpub, pub);
	c = json_pack("{s:s, s:I, s:s, s:s, s:{s:s, s:s}, s:{s:s}}",
	    "connection_type", "p2p-mesh", "exp", (json_int_t)NOW + 600,
	    "iss", "edge", "aud", "mesh",
	    "wireguard_config", "private_key", bpriv, "public_key", bpub,
	    "network_config", "address", "10.99.0.1/24");
	ATF_REQUIRE(c != NULL);
	ATF_REQUIRE((s = json_dumps(c, JSON_COMPACT)) != NULL);
	json_decref(c);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(bpriv, sizeof(bpriv));
	return (s);
}

/*
 * A directory with an HS256 secret and a token (both 0600, the token
 * with a trailing newline as an editor leaves it) and the given YAML.
 */
static void
fixture(struct fixture *f, const char *yaml)
{
	char	 cwd[PATH_MAX], *claims, *tok, err[CFG_ERR_MAX], *line;
	size_t	 len;

	ATF_REQUIRE(getcwd(cwd, sizeof(cwd)) != NULL);
	ATF_REQUIRE(snprintf(f->dir, sizeof(f->dir), "%s/cfg.XXXXXX",
	    cwd) < (int)sizeof(f->dir));
	ATF_REQUIRE(mkdtemp(f->dir) != NULL);
	ATF_REQUIRE(snprintf(f->conf, sizeof(f->conf), "%s/cbp2pd.yaml",
	    f->dir) < (int)sizeof(f->conf));
	ATF_REQUIRE(snprintf(f->token, sizeof(f->token), "%s/node.jwt",
	    f->dir) < (int)sizeof(f->token));
	ATF_REQUIRE(snprintf(f->key, sizeof(f->key), "%s/hs256.key",
	    f->dir) < (int)sizeof(f->key));

	write_file(f->key, HS_SECRET "\n", sizeof(hs_secret), 0600);
	claims = claims_json();
	if (token_mint(claims, KEYALG_HS256, (const unsigned char *)hs_secret,
	    sizeof(hs_secret) - 1, &tok, err, sizeof(err)) != 0)
		atf_tc_fail("token_mint: %s", err);
	len = strlen(tok);
	ATF_REQUIRE((line = malloc(len + 2)) != NULL);
	snprintf(line, len + 2, "%s\n", tok);
	write_file(f->token, line, len + 1, 0600);
	free(line);
	free(tok);
	free(claims);
	if (yaml != NULL)
		write_file(f->conf, yaml, strlen(yaml), 0644);
}

/* The common head of a valid HS256 configuration. */
#define YAML_HEAD \
	"token_file: node.jwt\n" \
	"verify_key: hs256.key\n" \
	"verify_alg: hs256\n"

static void
load_refused(const char *yaml, const char *want)
{
	struct fixture		 f;
	struct cbp2p_config	*c;
	char			 err[CFG_ERR_MAX] = "";
	char			 exp[PATH_MAX + CFG_ERR_MAX];

	ATF_REQUIRE((c = malloc(sizeof(*c))) != NULL);
	fixture(&f, yaml);
	ATF_REQUIRE_EQ(config_load(f.conf, c, NOW, err, sizeof(err)), -1);
	ATF_REQUIRE_MSG(strchr(err, '\n') == NULL, "not one line: %s", err);
	if (want[0] == ':')
		snprintf(exp, sizeof(exp), "%s%s", f.conf, want);
	else
		strlcpy(exp, want, sizeof(exp));
	ATF_REQUIRE_MSG(strstr(err, exp) != NULL,
	    "error \"%s\" does not contain \"%s\"", err, exp);
	free(c);
}

ATF_TC_WITHOUT_HEAD(good);
ATF_TC_BODY(good, tc)
{
	struct fixture		 f;
	struct cbp2p_config	*c;
	char			 err[CFG_ERR_MAX], want[PATH_MAX + 32];

	ATF_REQUIRE((c = malloc(sizeof(*c))) != NULL);
	fixture(&f, "# a comment\n"
	    YAML_HEAD
	    "issuer: edge\n"
	    "audience: \"mesh\"\n"
	    "interface: wg-mesh0\n"
	    "control_socket: run/cbp2pd.sock\n"
	    "user: _mesh\n"
	    "chroot: /var/lib/empty\n"
	    "log_level: debug\n"
	    "log_format: json\n"
	    "dns: file\n"
	    "metrics_address: 127.0.0.1:9100\n"
	    "edge:\n"
	    "  registry: https://edge.example:8443/v1\n"
	    "  stun: edge.example:3478\n"
	    "  relay: '[2001:db8::1]:443'\n"
	    "  ca: /etc/ssl/edge-ca.pem\n");
	if (config_load(f.conf, c, NOW, err, sizeof(err)) != 0)
		atf_tc_fail("%s", err);
	ATF_CHECK_STREQ(c->path, f.conf);
	ATF_CHECK_STREQ(c->token_file, f.token);
	ATF_CHECK_STREQ(c->verify_key_file, f.key);
	ATF_CHECK_EQ(c->verify_alg, KEYALG_HS256);
	ATF_CHECK_STREQ(c->issuer, "edge");
	ATF_CHECK_STREQ(c->audience, "mesh");
	ATF_CHECK_STREQ(c->ifname, "wg-mesh0");
	snprintf(want, sizeof(want), "%s/run/cbp2pd.sock", f.dir);
	ATF_CHECK_STREQ(c->control_socket, want);
	ATF_CHECK_STREQ(c->user, "_mesh");
	ATF_CHECK_STREQ(c->chroot_dir, "/var/lib/empty");
	ATF_CHECK_EQ(c->log_verbose, 1);
	ATF_CHECK_EQ(c->log_format, LOGFMT_JSON);
	ATF_CHECK_EQ(c->dns, DNS_FILE);
	ATF_CHECK_STREQ(c->metrics_address, "127.0.0.1:9100");
	ATF_CHECK_STREQ(c->registry, "https://edge.example:8443/v1");
	ATF_CHECK_STREQ(c->stun, "edge.example:3478");
	ATF_CHECK_STREQ(c->relay, "[2001:db8::1]:443");
	ATF_CHECK_STREQ(c->ca_file, "/etc/ssl/edge-ca.pem");
	ATF_CHECK_EQ(c->tok.conn_type, CONN_P2P_MESH);
	ATF_CHECK_STREQ(c->tok.iss, "edge");
	ATF_CHECK_EQ(c->tok.exp, NOW + 600);
	/* cbp2pd.yaml(5), network_config: "mtu (integer, default 1420)". */
	ATF_CHECK_EQ(c->tok.mtu, 1420);
	config_free(c);
	free(c);
}

ATF_TC_WITHOUT_HEAD(defaults_rs256);
ATF_TC_BODY(defaults_rs256, tc)
{
	struct fixture		 f;
	struct cbp2p_config	*c;
	EVP_PKEY		*pk;
	BIO			*b;
	char			 err[CFG_ERR_MAX], *claims, *tok, *data;
	char			 pub[PATH_MAX + 16];
	long			 n;

	ATF_REQUIRE((c = malloc(sizeof(*c))) != NULL);
	/* verify_alg defaults to RS256; the public key may be 0644. */
	fixture(&f, "token_file: node.jwt\nverify_key: rsa.pub\n");
	ATF_REQUIRE((pk = EVP_RSA_gen(2048)) != NULL);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PUBKEY(b, pk) == 1);
	n = BIO_get_mem_data(b, &data);
	snprintf(pub, sizeof(pub), "%s/rsa.pub", f.dir);
	write_file(pub, data, (size_t)n, 0644);
	BIO_free(b);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL,
	    NULL) == 1);
	n = BIO_get_mem_data(b, &data);
	claims = claims_json();
	if (token_mint(claims, KEYALG_RS256, (unsigned char *)data, (size_t)n,
	    &tok, err, sizeof(err)) != 0)
		atf_tc_fail("token_mint: %s", err);
	write_file(f.token, tok, strlen(tok), 0400);
	BIO_free(b);
	EVP_PKEY_free(pk);

	if (config_load(f.conf, c, NOW, err, sizeof(err)) != 0)
		atf_tc_fail("%s", err);
	ATF_CHECK_EQ(c->verify_alg, KEYALG_RS256);
	ATF_CHECK_STREQ(c->issuer, "");
	ATF_CHECK_STREQ(c->audience, "");
	/* The defaults cbp2pd.yaml(5) documents. */
	ATF_CHECK_STREQ(c->ifname, "cbp0");
	ATF_CHECK_STREQ(c->control_socket, "/var/run/cbp2pd.sock");
	ATF_CHECK_STREQ(c->user, "_cbp2p");
	ATF_CHECK_STREQ(c->chroot_dir, "/var/empty");
	ATF_CHECK_EQ(c->log_verbose, 0);
	ATF_CHECK_EQ(c->log_format, LOGFMT_TEXT);
	ATF_CHECK_EQ(c->dns, DNS_AUTO);
	ATF_CHECK_STREQ(c->metrics_address, "");
	ATF_CHECK_STREQ(c->registry, "");
	ATF_CHECK_EQ(c->tok.conn_type, CONN_P2P_MESH);
	config_free(c);
	free(tok);
	free(claims);
	free(c);
}

ATF_TC_WITHOUT_HEAD(free_zeroes);
ATF_TC_BODY(free_zeroes, tc)
{
	struct fixture		 f;
	struct cbp2p_config	*c;
	char			 err[CFG_ERR_MAX];
	const unsigned char	*p;
	size_t			 i;

	ATF_REQUIRE((c = malloc(sizeof(*c))) != NULL);
	fixture(&f, YAML_HEAD);
	ATF_REQUIRE(config_load(f.conf, c, NOW, err, sizeof(err)) == 0);
	for (i = 0; i < WG_KEY_LEN && c->tok.private_key[i] == 0; i++)
		;
	ATF_REQUIRE_MSG(i < WG_KEY_LEN, "private key not loaded");
	config_free(c);
	p = (const unsigned char *)c;
	for (i = 0; i < sizeof(*c); i++)
		ATF_REQUIRE_MSG(p[i] == 0, "byte %zu not zero after free", i);
	free(c);
}

ATF_TC_WITHOUT_HEAD(unknown_key);
ATF_TC_BODY(unknown_key, tc)
{
	load_refused(YAML_HEAD "bogus: 1\n", ":4: bogus: unknown key");
}

ATF_TC_WITHOUT_HEAD(unknown_edge_key);
ATF_TC_BODY(unknown_edge_key, tc)
{
	load_refused(YAML_HEAD "edge:\n  stun: a.example:3478\n"
	    "  turn: b.example:3478\n", ":6: edge.turn: unknown key");
}

ATF_TC_WITHOUT_HEAD(syntax_error);
ATF_TC_BODY(syntax_error, tc)
{
	load_refused(YAML_HEAD "interface: 'cbp0\n",
	    ":5: syntax error: found unexpected end of stream");
	load_refused(YAML_HEAD "log_format: text: json\n",
	    ":4: syntax error: mapping values are not allowed");
}

ATF_TC_WITHOUT_HEAD(duplicate_key);
ATF_TC_BODY(duplicate_key, tc)
{
	load_refused(YAML_HEAD "interface: a\ninterface: b\n",
	    ":5: interface: duplicate key (first on line 4)");
}

ATF_TC_WITHOUT_HEAD(wrong_type);
ATF_TC_BODY(wrong_type, tc)
{
	load_refused(YAML_HEAD "interface:\n  - cbp0\n",
	    ":4: interface: must be a scalar, found a sequence");
	load_refused(YAML_HEAD "edge: relay.example:443\n",
	    ":4: edge: must be a mapping");
	load_refused("- token_file\n", ":1: the top level must be a mapping");
}

ATF_TC_WITHOUT_HEAD(bad_log_format);
ATF_TC_BODY(bad_log_format, tc)
{
	load_refused(YAML_HEAD "log_format: xml\n",
	    ":4: log_format: unknown value \"xml\"");
}

ATF_TC_WITHOUT_HEAD(bad_values);
ATF_TC_BODY(bad_values, tc)
{
	load_refused(YAML_HEAD "log_level: loud\n",
	    ":4: log_level: unknown value");
	load_refused(YAML_HEAD "dns: bind\n", ":4: dns: unknown value");
	load_refused("token_file: node.jwt\nverify_key: hs256.key\n"
	    "verify_alg: none\n", ":3: verify_alg: unknown value \"none\"");
	load_refused(YAML_HEAD "metrics_address: 9100\n",
	    ":4: metrics_address:");
	load_refused(YAML_HEAD "edge:\n  registry: http://edge.example\n",
	    ":5: edge.registry:");
	load_refused(YAML_HEAD "chroot: var/empty\n",
	    ":4: chroot: must be an absolute path");
	load_refused(YAML_HEAD "interface: \"cb/0\"\n",
	    ":4: interface: \"cb/0\" is not a valid interface name");
}

ATF_TC_WITHOUT_HEAD(token_mode_0644);
ATF_TC_BODY(token_mode_0644, tc)
{
	struct fixture		 f;
	struct cbp2p_config	*c;
	char			 err[CFG_ERR_MAX], want[PATH_MAX + 32];

	ATF_REQUIRE((c = malloc(sizeof(*c))) != NULL);
	fixture(&f, YAML_HEAD);
	ATF_REQUIRE(chmod(f.token, 0644) == 0);
	ATF_REQUIRE(config_load(f.conf, c, NOW, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "%s: mode 0644", f.token);
	ATF_REQUIRE_MSG(strstr(err, want) != NULL, "%s", err);
	/* The HS256 secret is held to the same rule. */
	ATF_REQUIRE(chmod(f.token, 0600) == 0);
	ATF_REQUIRE(chmod(f.key, 0640) == 0);
	ATF_REQUIRE(config_load(f.conf, c, NOW, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "%s: mode 0640", f.key);
	ATF_REQUIRE_MSG(strstr(err, want) != NULL, "%s", err);
	free(c);
}

ATF_TC_WITHOUT_HEAD(missing_token_file);
ATF_TC_BODY(missing_token_file, tc)
{
	load_refused("verify_key: hs256.key\n",
	    ": token_file: required key missing");
	load_refused("", ": token_file: required key missing");
}

ATF_TC_WITHOUT_HEAD(token_file_absent);
ATF_TC_BODY(token_file_absent, tc)
{
	load_refused("token_file: nonexistent.jwt\nverify_key: hs256.key\n"
	    "verify_alg: HS256\n", "nonexistent.jwt: No such file");
}

ATF_TC_WITHOUT_HEAD(interface_too_long);
ATF_TC_BODY(interface_too_long, tc)
{
	load_refused(YAML_HEAD "interface: cbp0123456789abc\n",
	    ":4: interface: longer than 15 bytes");
}

ATF_TC_WITHOUT_HEAD(token_refused);
ATF_TC_BODY(token_refused, tc)
{
	/* The token's own error line comes through unchanged. */
	load_refused(YAML_HEAD "issuer: someone-else\n",
	    "token: iss: \"edge\" is not the expected issuer");
}

ATF_TC_WITHOUT_HEAD(dropin);
ATF_TC_BODY(dropin, tc)
{
	static const char	*good[] = { "wg0", "a", "wg+x=y_z.1-2",
				    "abcdefghijklmno" };
	static const char	*bad[] = { "", ".", "..", "a/b", "wg 0",
				    "abcdefghijklmnop", "wg0\n", "w\x7fg" };
	struct cbp2p_config	*c;
	char			 err[CFG_ERR_MAX];
	size_t			 i;

	ATF_REQUIRE((c = malloc(sizeof(*c))) != NULL);
	/* What wg-quick(8) takes; the defaults; no token, no socket. */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ATF_REQUIRE_MSG(config_dropin(c, good[i], err,
		    sizeof(err)) == 0, "%s: %s", good[i], err);
		ATF_REQUIRE_STREQ(c->ifname, good[i]);
		ATF_REQUIRE_STREQ(c->user, CBP2P_USER);
		ATF_REQUIRE_STREQ(c->chroot_dir, CFG_DEFAULT_CHROOT);
		ATF_REQUIRE_STREQ(c->control_socket, "");
		ATF_REQUIRE(c->tok.npeers == 0 && c->tok.registry_token ==
		    NULL);
		config_free(c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ATF_REQUIRE_MSG(config_dropin(c, bad[i], err,
		    sizeof(err)) == -1, "%s accepted", bad[i]);
		ATF_REQUIRE_MSG(strstr(err, "is not a valid interface "
		    "name") != NULL, "%s", err);
	}
	free(c);
}

/* An RSA verify_key under 2048 bits: refused at load, naming the key. */
ATF_TC_WITHOUT_HEAD(rsa_short_key);
ATF_TC_BODY(rsa_short_key, tc)
{
	struct fixture		 f;
	struct cbp2p_config	*c;
	EVP_PKEY		*pk;
	BIO			*b;
	char			 err[CFG_ERR_MAX], *data;
	char			 pub[PATH_MAX + 16];
	long			 n;

	ATF_REQUIRE((c = malloc(sizeof(*c))) != NULL);
	fixture(&f, "token_file: node.jwt\nverify_key: rsa.pub\n");
	ATF_REQUIRE((pk = EVP_RSA_gen(1024)) != NULL);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PUBKEY(b, pk) == 1);
	n = BIO_get_mem_data(b, &data);
	snprintf(pub, sizeof(pub), "%s/rsa.pub", f.dir);
	write_file(pub, data, (size_t)n, 0644);
	BIO_free(b);
	EVP_PKEY_free(pk);
	ATF_REQUIRE_EQ(config_load(f.conf, c, NOW, err, sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "verify_key") != NULL &&
	    strstr(err, "rsa.pub") != NULL &&
	    strstr(err, "1024 bits") != NULL, "%s", err);
	free(c);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, rsa_short_key);
	ATF_TP_ADD_TC(tp, good);
	ATF_TP_ADD_TC(tp, defaults_rs256);
	ATF_TP_ADD_TC(tp, free_zeroes);
	ATF_TP_ADD_TC(tp, unknown_key);
	ATF_TP_ADD_TC(tp, unknown_edge_key);
	ATF_TP_ADD_TC(tp, syntax_error);
	ATF_TP_ADD_TC(tp, duplicate_key);
	ATF_TP_ADD_TC(tp, wrong_type);
	ATF_TP_ADD_TC(tp, bad_log_format);
	ATF_TP_ADD_TC(tp, bad_values);
	ATF_TP_ADD_TC(tp, token_mode_0644);
	ATF_TP_ADD_TC(tp, missing_token_file);
	ATF_TP_ADD_TC(tp, token_file_absent);
	ATF_TP_ADD_TC(tp, interface_too_long);
	ATF_TP_ADD_TC(tp, token_refused);
	ATF_TP_ADD_TC(tp, dropin);
	return (atf_no_error());
}
