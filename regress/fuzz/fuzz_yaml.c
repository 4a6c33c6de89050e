/*
 * The YAML configurations: cbp2pd.yaml (config_load in lib/config.c)
 * and cbedged.yaml (edge_conf_load in cbedged/parse.c, compiled in).
 * The input is written as the file, in a scratch folder that also holds
 * what a good configuration names by relative path: an HS256 secret, a
 * node token signed with it and an ES256 public key, all mode 0600, so
 * a configuration can load all the way through token verification.
 * A configuration that loads holds only values in their documented
 * ranges; one that is refused says why in one line, names the file,
 * and leaks nothing.
 *
 * Input: a byte whose low bit picks the file, then its text.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "yamlconf.h"
#include "cbedged.h"
#include "fuzz.h"

#define NOW		((time_t)1700000000)
#define YEAR		(365 * 24 * 3600)
#define EXP_DIGITS	24	/* room for the expiry, printed */

static const char	 hs_secret[] =
    "0123456789abcdef0123456789abcdef-hs256-fuzz-secret";

static const char	 es_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEslHrzAJ20QAKY/CBDPd3M19cbgIz\n"
    "4dphiYAHYiqrmeLDZCgV2nPrTieKb8XPeQwsrU7tUbuKLTuomCeI2mhQCw==\n"
    "-----END PUBLIC KEY-----\n";

/* A p2p-mesh node token; the keys are RFC 7748's test vector. */
static const char	 claims_fmt[] =
    "{\"connection_type\": \"p2p-mesh\", \"exp\": %lld,"
    " \"iss\": \"https://edge.example\", \"aud\": \"cbp2p-mesh\","
    " \"sub\": \"fuzz\","
    " \"wireguard_config\": {"
    "  \"private_key\": \"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\","
    "  \"public_key\": \"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\","
    "  \"allowed_ips\": [\"10.99.0.1/32\"]},"
    " \"mesh_config\": {\"auto_discovery\": true, \"routing\": \"hybrid\"},"
    " \"network_config\": {\"address\": \"10.99.0.1/24\","
    "  \"subnet\": \"10.99.0.0/16\"}}";

static char	 dir[PATH_MAX];
static char	 node_yaml[PATH_MAX], edge_yaml[PATH_MAX];

static void
put_file(const char *name, const void *p, size_t len, char *path)
{
	char	 buf[PATH_MAX];
	int	 fd;

	if (path == NULL)
		path = buf;
	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || write(fd, p, len) != (ssize_t)len ||
	    close(fd) == -1)
		abort();
}

static void
cleanup(void)
{
	static const char *const names[] = { "hs256.key", "node.jwt",
	    "issuer.pub", "cbp2pd.yaml", "cbedged.yaml" };
	char	 path[PATH_MAX];
	size_t	 i;

	for (i = 0; i < nitems(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void
setup(void)
{
	const char	*tmp;
	char		 claims[sizeof(claims_fmt) + EXP_DIGITS], *tok;
	char		 err[CFG_ERR_MAX];

	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/cbp2p-fuzz-yaml.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(claims, sizeof(claims), claims_fmt,
	    (long long)(NOW + YEAR));
	if (token_mint(claims, KEYALG_HS256, (const unsigned char *)hs_secret,
	    sizeof(hs_secret) - 1, &tok, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_yaml: %s\n", err);
		abort();
	}
	put_file("hs256.key", hs_secret, sizeof(hs_secret) - 1, NULL);
	put_file("node.jwt", tok, strlen(tok), NULL);
	put_file("issuer.pub", es_pub, sizeof(es_pub) - 1, NULL);
	free(tok);
	snprintf(node_yaml, sizeof(node_yaml), "%s/cbp2pd.yaml", dir);
	snprintf(edge_yaml, sizeof(edge_yaml), "%s/cbedged.yaml", dir);
}

static void
check_str(const char *s, size_t size)
{
	FZ_CHECK(memchr(s, '\0', size) != NULL);
}

static void
check_err(const char *err, const char *path)
{
	FZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	/* The file, or the token it names. */
	FZ_CHECK(strncmp(err, path, strlen(path)) == 0 ||
	    strncmp(err, "token:", strlen("token:")) == 0);
}

static void
node_conf(const uint8_t *text, size_t len)
{
	struct cbp2p_config	 c;
	char			 err[CFG_ERR_MAX];

	put_file("cbp2pd.yaml", text, len, NULL);
	err[0] = '\0';
	if (config_load(node_yaml, &c, NOW, err, sizeof(err)) == -1) {
		check_err(err, node_yaml);
		return;
	}
	check_str(c.ifname, sizeof(c.ifname));
	FZ_CHECK(c.ifname[0] != '\0');
	check_str(c.user, sizeof(c.user));
	FZ_CHECK(cfg_user_valid(c.user));
	check_str(c.control_socket, sizeof(c.control_socket));
	check_str(c.chroot_dir, sizeof(c.chroot_dir));
	check_str(c.registry, sizeof(c.registry));
	check_str(c.issuer, sizeof(c.issuer));
	check_str(c.audience, sizeof(c.audience));
	FZ_CHECK(c.log_verbose >= 0);
	FZ_CHECK(c.offload == 0 || c.offload == 1);
	FZ_CHECK(c.verify_alg == KEYALG_HS256);
	FZ_CHECK(c.tok.exp > (int64_t)NOW);
	config_free(&c);
}

static void
edged(const uint8_t *text, size_t len)
{
	struct edge_conf	 c;
	char			 err[CFG_ERR_MAX];

	put_file("cbedged.yaml", text, len, NULL);
	err[0] = '\0';
	if (edge_conf_load(edge_yaml, &c, err, sizeof(err)) == -1) {
		check_err(err, edge_yaml);
		FZ_CHECK(c.verify_key == NULL);
		return;
	}
	FZ_CHECK(c.verify_key != NULL && c.verify_key_len > 0);
	FZ_CHECK(c.ttl == 0 || (c.ttl >= EDGE_TTL_MIN &&
	    c.ttl <= EDGE_TTL_MAX));
	FZ_CHECK(c.max_body == 0 || (c.max_body >= EDGE_BODY_MIN &&
	    c.max_body <= EDGE_BODY_MAX));
	FZ_CHECK(c.burst >= 1);
	FZ_CHECK(c.long_poll_max <= REG_WAIT_MAX);
	FZ_CHECK(c.stun_alt_port <= UINT16_MAX ||
	    c.stun_alt_port == EDGE_STUN_ALT_NEXT);
	FZ_CHECK(cfg_user_valid(c.user));
	check_str(c.certificate, sizeof(c.certificate));
	check_str(c.key, sizeof(c.key));
	FZ_CHECK(c.relay_listen[0] == '\0' ||
	    strcmp(c.relay_listen, c.listen) != 0);
	edge_conf_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir[0] == '\0')
		setup();
	if (size == 0)
		return (0);
	if (data[0] & 1)
		edged(data + 1, size - 1);
	else
		node_conf(data + 1, size - 1);
	return (0);
}
