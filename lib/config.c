/*
 * cbp2pd.yaml: one mapping of scalars plus the "edge" mapping, read
 * with libyaml's event API so that every key keeps its line for the
 * error.  Unknown and duplicate keys, wrong node kinds and aliases are
 * refused.  The files it names are then read, and the token verified.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

#include "config.h"
#include "yamlconf.h"

#ifndef CBP2P_USER
#define CBP2P_USER	"_cbp2p"
#endif

#define KEYNAME_MAX	(CFG_ECHO_MAX + sizeof("edge."))
#define HTTPS_PORT	"443"
#define SUN_PATH_LEN	(sizeof(((struct sockaddr_un *)0)->sun_path))

enum cfgkey {
	K_TOKEN_FILE,
	K_VERIFY_KEY,
	K_VERIFY_ALG,
	K_ISSUER,
	K_AUDIENCE,
	K_INTERFACE,
	K_CONTROL_SOCKET,
	K_USER,
	K_CHROOT,
	K_LOG_LEVEL,
	K_LOG_FORMAT,
	K_METRICS_ADDRESS,
	K_OFFLOAD,
	K_CRYPTO_WORKERS,
	K_DNS,
	K_EDGE,
	K_EDGE_REGISTRY,
	K_EDGE_STUN,
	K_EDGE_RELAY,
	K_EDGE_CA,
	K_COUNT
};

static const struct {
	const char	*name;
	int		 in_edge;
} keytab[K_COUNT] = {
	[K_TOKEN_FILE] =	{ "token_file", 0 },
	[K_VERIFY_KEY] =	{ "verify_key", 0 },
	[K_VERIFY_ALG] =	{ "verify_alg", 0 },
	[K_ISSUER] =		{ "issuer", 0 },
	[K_AUDIENCE] =		{ "audience", 0 },
	[K_INTERFACE] =		{ "interface", 0 },
	[K_CONTROL_SOCKET] =	{ "control_socket", 0 },
	[K_USER] =		{ "user", 0 },
	[K_CHROOT] =		{ "chroot", 0 },
	[K_LOG_LEVEL] =		{ "log_level", 0 },
	[K_LOG_FORMAT] =	{ "log_format", 0 },
	[K_METRICS_ADDRESS] =	{ "metrics_address", 0 },
	[K_OFFLOAD] =		{ "offload", 0 },
	[K_CRYPTO_WORKERS] =	{ "crypto_workers", 0 },
	[K_DNS] =		{ "dns", 0 },
	[K_EDGE] =		{ "edge", 0 },
	[K_EDGE_REGISTRY] =	{ "registry", 1 },
	[K_EDGE_STUN] =		{ "stun", 1 },
	[K_EDGE_RELAY] =	{ "relay", 1 },
	[K_EDGE_CA] =		{ "ca", 1 },
};

struct parse {
	struct cbp2p_config	*conf;
	struct yconf		 y;
	char			 dir[PATH_MAX];	/* of the config file */
	int			 seen[K_COUNT];
};

/* Relative paths are relative to the directory of the config file. */
static int
set_path(struct parse *p, size_t line, const char *key, const char *val,
    char *dst, size_t dstlen)
{
	int	 n;

	if (val[0] == '\0')
		return (yconf_err(&p->y, line, key, "empty path"));
	if (val[0] == '/')
		n = snprintf(dst, dstlen, "%s", val);
	else
		n = snprintf(dst, dstlen, "%s/%s", p->dir, val);
	if (n < 0 || (size_t)n >= dstlen)
		return (yconf_err(&p->y, line, key, "path too long"));
	return (0);
}

static int
set_str(struct parse *p, size_t line, const char *key, const char *val,
    char *dst, size_t dstlen)
{
	size_t	 i;

	for (i = 0; val[i] != '\0'; i++)
		if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f)
			return (yconf_err(&p->y, line, key, "contains control "
			    "characters"));
	if (strlcpy(dst, val, dstlen) >= dstlen)
		return (yconf_err(&p->y, line, key, "longer than %zu bytes",
		    dstlen - 1));
	return (0);
}

/* Letters, digits, '.', '_', '-'; what ip(8) and wg(8) take safely. */
static int
ifname_valid(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return (0);
	return (1);
}

/* https://host[:port][/path], host a name, IPv4 or [IPv6] address. */
static int
registry_valid(const char *s)
{
	char	 auth[HOSTPORT_MAX];

	return (url_https_authority(s, auth, sizeof(auth)) == 0 &&
	    hostport_split(auth, HTTPS_PORT, NULL, 0, NULL, 0) == 0);
}

static int
set_key(struct parse *p, enum cfgkey k, size_t line, const char *val)
{
	struct cbp2p_config	*c = p->conf;
	char			 name[KEYNAME_MAX], e[CFG_ECHO_MAX + 1];
	const char		*errstr;
	long long		 n;

	snprintf(name, sizeof(name), "%s%s", keytab[k].in_edge ? "edge." : "",
	    keytab[k].name);
	switch (k) {
	case K_TOKEN_FILE:
		return (set_path(p, line, name, val, c->token_file,
		    sizeof(c->token_file)));
	case K_VERIFY_KEY:
		return (set_path(p, line, name, val, c->verify_key_file,
		    sizeof(c->verify_key_file)));
	case K_EDGE_CA:
		return (set_path(p, line, name, val, c->ca_file,
		    sizeof(c->ca_file)));
	case K_CONTROL_SOCKET:
		if (set_path(p, line, name, val, c->control_socket,
		    sizeof(c->control_socket)) == -1)
			return (-1);
		if (strlen(c->control_socket) >= SUN_PATH_LEN)
			return (yconf_err(&p->y, line, name, "longer than %zu bytes, "
			    "the limit of a UNIX socket path",
			    SUN_PATH_LEN - 1));
		return (0);
	case K_CHROOT:
		if (val[0] != '/')
			return (yconf_err(&p->y, line, name, "must be an absolute "
			    "path"));
		return (set_path(p, line, name, val, c->chroot_dir,
		    sizeof(c->chroot_dir)));
	case K_VERIFY_ALG:
		if (keyalg_parse(val, &c->verify_alg) == -1)
			return (yconf_err(&p->y, line, name, "unknown value \"%s\" "
			    "(RS256, ES256 or HS256)", cfg_echo(val, e,
			    sizeof(e))));
		return (0);
	case K_ISSUER:
		return (set_str(p, line, name, val, c->issuer,
		    sizeof(c->issuer)));
	case K_AUDIENCE:
		return (set_str(p, line, name, val, c->audience,
		    sizeof(c->audience)));
	case K_INTERFACE:
		if (strlen(val) >= sizeof(c->ifname))
			return (yconf_err(&p->y, line, name, "longer than %zu bytes",
			    sizeof(c->ifname) - 1));
		if (!ifname_valid(val))
			return (yconf_err(&p->y, line, name, "\"%s\" is not a valid "
			    "interface name", cfg_echo(val, e, sizeof(e))));
		strlcpy(c->ifname, val, sizeof(c->ifname));
		return (0);
	case K_USER:
		if (!cfg_user_valid(val))
			return (yconf_err(&p->y, line, name, "\"%s\" is not a valid "
			    "user name", cfg_echo(val, e, sizeof(e))));
		strlcpy(c->user, val, sizeof(c->user));
		return (0);
	case K_LOG_LEVEL:
		if (strcmp(val, "info") == 0 || strcmp(val, "warning") == 0)
			c->log_verbose = 0;
		else if (strcmp(val, "debug") == 0)
			c->log_verbose = 1;
		else
			return (yconf_err(&p->y, line, name, "unknown value \"%s\" "
			    "(info, debug or warning)", cfg_echo(val, e,
			    sizeof(e))));
		return (0);
	case K_LOG_FORMAT:
		if (strcmp(val, "text") == 0)
			c->log_format = LOGFMT_TEXT;
		else if (strcmp(val, "json") == 0)
			c->log_format = LOGFMT_JSON;
		else
			return (yconf_err(&p->y, line, name, "unknown value \"%s\" "
			    "(text or json)", cfg_echo(val, e, sizeof(e))));
		return (0);
	case K_OFFLOAD:
		if (strcmp(val, "on") == 0 || strcmp(val, "true") == 0 ||
		    strcmp(val, "yes") == 0)
			c->offload = 1;
		else if (strcmp(val, "off") == 0 || strcmp(val, "false") == 0 ||
		    strcmp(val, "no") == 0)
			c->offload = 0;
		else
			return (yconf_err(&p->y, line, name, "unknown value \"%s\" "
			    "(on or off)", cfg_echo(val, e, sizeof(e))));
		return (0);
	case K_CRYPTO_WORKERS:
		if (strcmp(val, "auto") == 0) {
			c->crypto_workers = CFG_CRYPTO_WORKERS_AUTO;
			return (0);
		}
		n = strtonum(val, 0, CFG_CRYPTO_WORKERS_MAX, &errstr);
		if (errstr != NULL)
			return (yconf_err(&p->y, line, name, "\"%s\" is %s "
			    "(auto or 0 to %d)", cfg_echo(val, e, sizeof(e)),
			    errstr, CFG_CRYPTO_WORKERS_MAX));
		c->crypto_workers = (int)n;
		return (0);
	case K_DNS:
		if (dns_mode_parse(val, &c->dns) == -1)
			return (yconf_err(&p->y, line, name, "unknown value \"%s\" "
			    "(on, off, resolved, resolvconf or file)",
			    cfg_echo(val, e, sizeof(e))));
		return (0);
	case K_METRICS_ADDRESS:
	case K_EDGE_STUN:
	case K_EDGE_RELAY:
		if (!hostport_valid(val))
			return (yconf_err(&p->y, line, name, "\"%s\" is not host:port "
			    "or [address]:port", cfg_echo(val, e, sizeof(e))));
		if (k == K_METRICS_ADDRESS)
			strlcpy(c->metrics_address, val,
			    sizeof(c->metrics_address));
		else if (k == K_EDGE_STUN)
			strlcpy(c->stun, val, sizeof(c->stun));
		else
			strlcpy(c->relay, val, sizeof(c->relay));
		return (0);
	case K_EDGE_REGISTRY:
		if (strlen(val) >= sizeof(c->registry))
			return (yconf_err(&p->y, line, name, "longer than %zu bytes",
			    sizeof(c->registry) - 1));
		if (!registry_valid(val))
			return (yconf_err(&p->y, line, name, "\"%s\" is not an "
			    "https://host[:port][/path] URL", cfg_echo(val, e,
			    sizeof(e))));
		strlcpy(c->registry, val, sizeof(c->registry));
		return (0);
	case K_EDGE:
	case K_COUNT:
		break;
	}
	return (yconf_err(&p->y, line, name, "internal error"));
}

/*
 * The body of one mapping whose MAPPING_START was just read: the top
 * level (edge 0) or the "edge" mapping (edge 1).
 */
static int
parse_mapping(struct parse *p, int edge)
{
	yaml_event_t	 kev, vev;
	const char	*kname, *val;
	char		 name[KEYNAME_MAX], e[CFG_ECHO_MAX + 1];
	size_t		 kline;
	int		 k, rc = -1;

	for (;;) {
		if (yconf_next(&p->y, &kev) == -1)
			return (-1);
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return (0);
		}
		kline = kev.start_mark.line + 1;
		if (kev.type != YAML_SCALAR_EVENT) {
			yconf_err(&p->y, kline, edge ? "edge" : NULL, "keys must be "
			    "scalars, found %s", yconf_kind(&kev));
			yaml_event_delete(&kev);
			return (-1);
		}
		kname = (const char *)kev.data.scalar.value;
		for (k = 0; k < K_COUNT; k++)
			if (keytab[k].in_edge == edge &&
			    strcmp(keytab[k].name, kname) == 0)
				break;
		snprintf(name, sizeof(name), "%s%s", edge ? "edge." : "",
		    cfg_echo(kname, e, sizeof(e)));
		if (k == K_COUNT) {
			yconf_err(&p->y, kline, name, "unknown key");
			yaml_event_delete(&kev);
			return (-1);
		}
		yaml_event_delete(&kev);
		if (p->seen[k]) {
			return (yconf_err(&p->y, kline, name, "duplicate key (first "
			    "on line %d)", p->seen[k]));
		}
		p->seen[k] = (int)kline;

		if (yconf_next(&p->y, &vev) == -1)
			return (-1);
		if (k == K_EDGE) {
			if (vev.type != YAML_MAPPING_START_EVENT) {
				yconf_err(&p->y, kline, name, "must be a mapping");
				goto fail;
			}
			yaml_event_delete(&vev);
			if (parse_mapping(p, 1) == -1)
				return (-1);
			continue;
		}
		if (vev.type != YAML_SCALAR_EVENT) {
			yconf_err(&p->y, kline, name, "must be a scalar, found %s",
			    yconf_kind(&vev));
			goto fail;
		}
		val = (const char *)vev.data.scalar.value;
		if (strlen(val) != vev.data.scalar.length) {
			yconf_err(&p->y, kline, name, "contains a NUL byte");
			goto fail;
		}
		/* An empty issuer or audience means "accept any". */
		if (yconf_null(&vev))
			val = "";
		if (val[0] == '\0' && k != K_ISSUER && k != K_AUDIENCE) {
			yconf_err(&p->y, kline, name, "empty value");
			goto fail;
		}
		if (set_key(p, (enum cfgkey)k, kline, val) == -1)
			goto fail;
		yaml_event_delete(&vev);
	}
fail:
	yaml_event_delete(&vev);
	return (rc);
}

static int
parse_yaml(struct parse *p, FILE *fp)
{
	yaml_event_t	 ev;
	int		 docs = 0;

	if (!yaml_parser_initialize(&p->y.parser))
		return (yconf_err(&p->y, 0, NULL, "cannot initialise the YAML parser"));
	yaml_parser_set_input_file(&p->y.parser, fp);
	for (;;) {
		if (yconf_next(&p->y, &ev) == -1)
			goto fail;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			yaml_parser_delete(&p->y.parser);
			return (0);
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				yconf_err(&p->y, ev.start_mark.line + 1, NULL,
				    "more than one YAML document");
				goto fail_ev;
			}
			break;
		case YAML_MAPPING_START_EVENT:
			yaml_event_delete(&ev);
			if (parse_mapping(p, 0) == -1)
				goto fail;
			continue;
		case YAML_SCALAR_EVENT:
			/* An empty document: required keys will be missing. */
			if (yconf_null(&ev))
				break;
			/* FALLTHROUGH */
		default:
			yconf_err(&p->y, ev.start_mark.line + 1, NULL, "the top level "
			    "must be a mapping of keys to values");
			goto fail_ev;
		}
		yaml_event_delete(&ev);
	}
fail_ev:
	yaml_event_delete(&ev);
fail:
	yaml_parser_delete(&p->y.parser);
	return (-1);
}

/*
 * Read a whole file of at most max bytes.  A secret file must be a
 * regular file owned by root or by us that nobody else can read or
 * write: it is the node's identity or the key that mints identities.
 */
static int
read_file(struct parse *p, const char *path, int secret, size_t max,
    unsigned char **out, size_t *outlen)
{
	struct stat	 st;
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return (yconf_err(&p->y, 0, NULL, "%s: %s", path, strerror(errno)));
	if (fstat(fd, &st) == -1) {
		yconf_err(&p->y, 0, NULL, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		yconf_err(&p->y, 0, NULL, "%s: not a regular file", path);
		goto fail;
	}
	if (secret && st.st_uid != 0 && st.st_uid != geteuid()) {
		yconf_err(&p->y, 0, NULL, "%s: owned by uid %lu, must be owned by "
		    "root or uid %lu", path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		goto fail;
	}
	if (secret && (st.st_mode & 077) != 0) {
		yconf_err(&p->y, 0, NULL, "%s: mode %04o is group or world "
		    "accessible, must be 0600 or stricter", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
		yconf_err(&p->y, 0, NULL, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	/* One spare byte tells a file that grew since fstat(). */
	if ((buf = malloc(max + 1)) == NULL) {
		yconf_err(&p->y, 0, NULL, "%s: %s", path, strerror(errno));
		goto fail;
	}
	while ((n = read(fd, buf + len, max + 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			yconf_err(&p->y, 0, NULL, "%s: %s", path, strerror(errno));
			goto fail;
		}
		len += (size_t)n;
		if (len > max) {
			yconf_err(&p->y, 0, NULL, "%s: larger than %zu bytes", path,
			    max);
			goto fail;
		}
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return (0);
fail:
	if (buf != NULL)
		freezero(buf, max + 1);
	close(fd);
	return (-1);
}

static void
strip_trailing(unsigned char *buf, size_t *len, int anyspace)
{
	while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r' ||
	    (anyspace && isspace(buf[*len - 1]))))
		buf[--(*len)] = '\0';
}

static void
set_defaults(struct cbp2p_config *c)
{
	c->verify_alg = KEYALG_RS256;
	strlcpy(c->ifname, CFG_DEFAULT_IFNAME, sizeof(c->ifname));
	strlcpy(c->control_socket, CFG_DEFAULT_CONTROL,
	    sizeof(c->control_socket));
	strlcpy(c->user, CBP2P_USER, sizeof(c->user));
	strlcpy(c->chroot_dir, CFG_DEFAULT_CHROOT, sizeof(c->chroot_dir));
	c->log_verbose = 0;
	c->log_format = LOGFMT_TEXT;
	c->offload = 1;
	c->crypto_workers = CFG_CRYPTO_WORKERS_AUTO;
	c->dns = DNS_AUTO;
}

int
config_load(const char *path, struct cbp2p_config *conf, time_t now,
    char *err, size_t errlen)
{
	struct parse	 p;
	FILE		*fp = NULL;
	unsigned char	*key = NULL, *tok = NULL;
	char		 why[CFG_ERR_MAX];
	size_t		 keylen = 0, toklen = 0;

	memset(conf, 0, sizeof(*conf));
	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.y.err = err;
	p.y.errlen = errlen;
	p.y.path = conf->path;
	set_defaults(conf);
	if (strlcpy(conf->path, path, sizeof(conf->path)) >=
	    sizeof(conf->path)) {
		snprintf(err, errlen, "config path too long");
		goto fail;
	}
	if ((fp = yconf_open(&p.y, p.dir, sizeof(p.dir))) == NULL)
		goto fail;
	if (parse_yaml(&p, fp) == -1)
		goto fail;
	fclose(fp);
	fp = NULL;

	if (!p.seen[K_TOKEN_FILE]) {
		yconf_err(&p.y, 0, "token_file", "required key missing");
		goto fail;
	}
	if (!p.seen[K_VERIFY_KEY]) {
		yconf_err(&p.y, 0, "verify_key", "required key missing");
		goto fail;
	}

	if (read_file(&p, conf->verify_key_file,
	    conf->verify_alg == KEYALG_HS256, VERIFY_KEY_MAX_LEN, &key,
	    &keylen) == -1)
		goto fail;
	/* "echo secret > file" leaves a newline that is not the secret. */
	if (conf->verify_alg == KEYALG_HS256)
		strip_trailing(key, &keylen, 0);
	if (token_key_check(conf->verify_alg, key, keylen, why,
	    sizeof(why)) == -1) {
		yconf_err(&p.y, 0, "verify_key", "%s: %s",
		    conf->verify_key_file, why);
		goto fail;
	}
	if (read_file(&p, conf->token_file, 1, TOKEN_MAX_LEN, &tok,
	    &toklen) == -1)
		goto fail;
	strip_trailing(tok, &toklen, 1);

	if (token_verify((const char *)tok, toklen, conf->verify_alg, key,
	    keylen, conf->issuer, conf->audience, now, &conf->tok, err,
	    errlen) == -1)
		goto fail;

	freezero(tok, TOKEN_MAX_LEN + 1);
	conf->verify_key = key;
	conf->verify_key_len = keylen;
	return (0);

fail:
	if (fp != NULL)
		fclose(fp);
	if (tok != NULL)
		freezero(tok, TOKEN_MAX_LEN + 1);
	if (key != NULL)
		freezero(key, VERIFY_KEY_MAX_LEN + 1);
	config_free(conf);
	return (-1);
}

/*
 * wg-quick(8) takes [A-Za-z0-9_=+.-]{1,15}; it names the interface and
 * the file /var/run/wireguard/<name>.sock, so "." and ".." never do.
 */
static int
dropin_ifname_valid(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || strlen(s) >= IFNAMSIZ || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("_=+.-", s[i]) == NULL)
			return (0);
	return (1);
}

int
config_dropin(struct cbp2p_config *conf, const char *ifname, char *err,
    size_t errlen)
{
	char	 e[CFG_ECHO_MAX + 1];

	memset(conf, 0, sizeof(*conf));
	set_defaults(conf);
	/* No control socket: wg(8) is the only way in. */
	conf->control_socket[0] = '\0';
	if (!dropin_ifname_valid(ifname)) {
		snprintf(err, errlen, "\"%s\" is not a valid interface name",
		    cfg_echo(ifname, e, sizeof(e)));
		return (-1);
	}
	strlcpy(conf->ifname, ifname, sizeof(conf->ifname));
	return (0);
}

void
config_free(struct cbp2p_config *conf)
{
	if (conf == NULL)
		return;
	token_free(&conf->tok);
	if (conf->verify_key != NULL)
		freezero(conf->verify_key, VERIFY_KEY_MAX_LEN + 1);
	sodium_memzero(conf, sizeof(*conf));
}
