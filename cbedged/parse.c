/*
 * cbedged.yaml: one mapping of scalars, read with libyaml's event API so
 * that every key keeps its line for the error.  Unknown and duplicate
 * keys, wrong node kinds and aliases are refused; then the verification
 * key is read, so that -n checks everything a start would.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "cbedged.h"
#include "log.h"
#include "yamlconf.h"

#ifndef CBP2P_USER
#define CBP2P_USER	"_cbp2p"
#endif


enum keytype {
	T_ADDR,		/* numeric "address:port" to bind */
	T_PATH,
	T_STR,
	T_UINT,
	T_ALG,
	T_USER,
	T_CHROOT,
	T_LEVEL,
	T_FORMAT
};

struct keydef {
	const char	*name;
	enum keytype	 type;
	size_t		 off;		/* in struct edge_conf */
	size_t		 len;		/* of a string member */
	uint32_t	 min, max;	/* of a number */
};

#define S(m)		offsetof(struct edge_conf, m), \
			sizeof(((struct edge_conf *)0)->m)
#define N(m)		offsetof(struct edge_conf, m), 0

static const struct keydef keytab[] = {
	{ "listen",		T_ADDR,	S(listen), 0, 0 },
	{ "stun_listen",	T_ADDR,	S(stun_listen), 0, 0 },
	{ "certificate",	T_PATH,	S(certificate), 0, 0 },
	{ "key",		T_PATH,	S(key), 0, 0 },
	{ "verify_key",		T_PATH,	S(verify_key_file), 0, 0 },
	{ "verify_alg",		T_ALG,	N(verify_alg), 0, 0 },
	{ "issuer",		T_STR,	S(issuer), 0, 0 },
	{ "audience",		T_STR,	S(audience), 0, 0 },
	{ "user",		T_USER,	S(user), 0, 0 },
	{ "chroot",		T_CHROOT, S(chroot_dir), 0, 0 },
	{ "ttl",		T_UINT,	N(ttl), EDGE_TTL_MIN, EDGE_TTL_MAX },
	{ "max_body",		T_UINT,	N(max_body), EDGE_BODY_MIN,
	    EDGE_BODY_MAX },
	{ "max_peers_per_mesh",	T_UINT,	N(max_peers_per_mesh), 1,
	    EDGE_PEERS_MAX },
	{ "max_meshes",		T_UINT,	N(max_meshes), 1, EDGE_MESHES_MAX },
	{ "rate",		T_UINT,	N(rate), 1, EDGE_RATE_MAX },
	{ "burst",		T_UINT,	N(burst), 1, EDGE_RATE_MAX },
	{ "long_poll_max",	T_UINT,	N(long_poll_max), 0, REG_WAIT_MAX },
	{ "long_polls_per_token", T_UINT, N(long_polls_per_token), 1,
	    EDGE_POLLS_PER_TOKEN_MAX },
	{ "max_connections",	T_UINT,	N(max_conns), 1, EDGE_CONNS_MAX },
	{ "max_connections_per_source", T_UINT, N(max_conns_per_source), 1,
	    EDGE_CONNS_MAX },
	{ "max_handshakes",	T_UINT,	N(max_handshakes), 1, EDGE_CONNS_MAX },
	{ "handshake_timeout",	T_UINT,	N(handshake_timeout), 1,
	    EDGE_TIMEOUT_SECS_MAX },
	{ "request_timeout",	T_UINT,	N(request_timeout), 1,
	    EDGE_TIMEOUT_SECS_MAX },
	{ "max_header_bytes",	T_UINT,	N(max_header_bytes), EDGE_HEADERS_MIN,
	    EDGE_HEADERS_MAX },
	{ "max_header_lines",	T_UINT,	N(max_header_lines),
	    EDGE_HEADER_LINES_MIN, EDGE_HEADER_LINES_MAX },
	{ "relay_listen",	T_ADDR,	S(relay_listen), 0, 0 },
	{ "relay_max_connections", T_UINT, N(relay_max_conns), 1,
	    EDGE_RELAY_CONNS_MAX },
	{ "relay_max_handshakes", T_UINT, N(relay_max_handshakes), 1,
	    EDGE_RELAY_CONNS_MAX },
	{ "relay_queue",	T_UINT,	N(relay_queue), EDGE_RELAY_QUEUE_MIN,
	    EDGE_RELAY_QUEUE_MAX },
	{ "relay_send_rate",	T_UINT,	N(relay_send_rate), EDGE_RELAY_RATE_MIN,
	    EDGE_RELAY_RATE_MAX },
	{ "relay_send_burst",	T_UINT,	N(relay_send_burst),
	    EDGE_RELAY_BURST_MIN, EDGE_RELAY_BURST_MAX },
	{ "relay_keepalive",	T_UINT,	N(relay_keepalive),
	    EDGE_RELAY_KEEPALIVE_MIN, RELAY_KEEPALIVE_SECS },
	{ "log_level",		T_LEVEL, N(log_verbose), 0, 0 },
	{ "log_format",		T_FORMAT, N(log_format), 0, 0 },
	{ "stun_alt_port",	T_UINT,	N(stun_alt_port), 0, UINT16_MAX },
	{ "metrics_address",	T_ADDR,	S(metrics_address), 0, 0 },
};

#define NKEYS		(sizeof(keytab) / sizeof(keytab[0]))

struct parse {
	struct edge_conf	*conf;
	struct yconf		 y;
	char			 dir[PATH_MAX];
	size_t			 seen[NKEYS];	/* line of each key */
};

/* A numeric address we can bind: "a.b.c.d:port" or "[v6]:port". */
static int
bind_addr_valid(const char *s)
{
	struct sockaddr_storage	 ss;

	return (hostport_parse_numeric(s, &ss) == 0);
}

static int
set_key(struct parse *p, const struct keydef *k, size_t line,
    const char *val)
{
	char		*base = (char *)p->conf, *dst = base + k->off;
	char		 e[CFG_ECHO_MAX + 1], *end;
	unsigned long	 n;
	uint32_t	 u32;
	size_t		 i;
	int		 v;

	switch (k->type) {
	case T_ADDR:
		if (!bind_addr_valid(val))
			return (yconf_err(&p->y, line, k->name, "\"%s\" is not a "
			    "numeric address:port or [address]:port",
			    cfg_echo(val, e, sizeof(e))));
		strlcpy(dst, val, k->len);
		return (0);
	case T_CHROOT:
		if (val[0] != '/')
			return (yconf_err(&p->y, line, k->name, "must be an absolute "
			    "path"));
		/* FALLTHROUGH */
	case T_PATH:
		if (val[0] == '/')
			n = (unsigned long)snprintf(dst, k->len, "%s", val);
		else
			n = (unsigned long)snprintf(dst, k->len, "%s/%s",
			    p->dir, val);
		if (n >= k->len)
			return (yconf_err(&p->y, line, k->name, "path too long"));
		return (0);
	case T_STR:
		for (i = 0; val[i] != '\0'; i++)
			if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f)
				return (yconf_err(&p->y, line, k->name, "contains "
				    "control characters"));
		if (strlcpy(dst, val, k->len) >= k->len)
			return (yconf_err(&p->y, line, k->name, "longer than %zu "
			    "bytes", k->len - 1));
		return (0);
	case T_USER:
		if (!cfg_user_valid(val))
			return (yconf_err(&p->y, line, k->name, "\"%s\" is not a valid "
			    "user name", cfg_echo(val, e, sizeof(e))));
		strlcpy(dst, val, k->len);
		return (0);
	case T_UINT:
		errno = 0;
		n = strtoul(val, &end, 10);
		if (!isdigit((unsigned char)val[0]) || *end != '\0' ||
		    errno != 0 || n < k->min || n > k->max)
			return (yconf_err(&p->y, line, k->name, "\"%s\" is not a "
			    "number %u..%u", cfg_echo(val, e, sizeof(e)), k->min,
			    k->max));
		u32 = (uint32_t)n;
		memcpy(dst, &u32, sizeof(u32));
		return (0);
	case T_ALG:
		if (keyalg_parse(val, &p->conf->verify_alg) == -1)
			return (yconf_err(&p->y, line, k->name, "unknown value \"%s\" "
			    "(RS256, ES256 or HS256)", cfg_echo(val, e,
			    sizeof(e))));
		return (0);
	case T_LEVEL:
		if (strcmp(val, "info") == 0 || strcmp(val, "warning") == 0)
			v = 0;
		else if (strcmp(val, "debug") == 0)
			v = 1;
		else
			return (yconf_err(&p->y, line, k->name, "unknown value \"%s\" "
			    "(info, debug or warning)", cfg_echo(val, e,
			    sizeof(e))));
		p->conf->log_verbose = v;
		return (0);
	case T_FORMAT:
		if (strcmp(val, "text") == 0)
			p->conf->log_format = LOGFMT_TEXT;
		else if (strcmp(val, "json") == 0)
			p->conf->log_format = LOGFMT_JSON;
		else
			return (yconf_err(&p->y, line, k->name, "unknown value \"%s\" "
			    "(text or json)", cfg_echo(val, e, sizeof(e))));
		return (0);
	}
	return (yconf_err(&p->y, line, k->name, "internal error"));
}

/* The body of the top-level mapping, whose MAPPING_START was read. */
static int
parse_mapping(struct parse *p)
{
	yaml_event_t	 kev, vev;
	const char	*val;
	char		 e[CFG_ECHO_MAX + 1];
	size_t		 kline, k;
	int		 empty_ok;

	for (;;) {
		if (yconf_next(&p->y, &kev) == -1)
			return (-1);
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return (0);
		}
		kline = kev.start_mark.line + 1;
		if (kev.type != YAML_SCALAR_EVENT) {
			yconf_err(&p->y, kline, NULL, "keys must be scalars, found %s",
			    yconf_kind(&kev));
			yaml_event_delete(&kev);
			return (-1);
		}
		for (k = 0; k < NKEYS; k++)
			if (strcmp(keytab[k].name,
			    (const char *)kev.data.scalar.value) == 0)
				break;
		if (k == NKEYS) {
			yconf_err(&p->y, kline, cfg_echo((const char *)
			    kev.data.scalar.value, e, sizeof(e)),
			    "unknown key");
			yaml_event_delete(&kev);
			return (-1);
		}
		yaml_event_delete(&kev);
		if (p->seen[k])
			return (yconf_err(&p->y, kline, keytab[k].name, "duplicate key "
			    "(first on line %zu)", p->seen[k]));
		p->seen[k] = kline;

		if (yconf_next(&p->y, &vev) == -1)
			return (-1);
		if (vev.type != YAML_SCALAR_EVENT) {
			yconf_err(&p->y, kline, keytab[k].name, "must be a scalar, "
			    "found %s", yconf_kind(&vev));
			goto fail;
		}
		val = (const char *)vev.data.scalar.value;
		if (strlen(val) != vev.data.scalar.length) {
			yconf_err(&p->y, kline, keytab[k].name, "contains a NUL byte");
			goto fail;
		}
		/* An empty issuer or audience means "accept any". */
		empty_ok = keytab[k].type == T_STR;
		if (yconf_null(&vev))
			val = "";
		if (val[0] == '\0' && !empty_ok) {
			yconf_err(&p->y, kline, keytab[k].name, "empty value");
			goto fail;
		}
		if (set_key(p, &keytab[k], kline, val) == -1)
			goto fail;
		yaml_event_delete(&vev);
	}
fail:
	yaml_event_delete(&vev);
	return (-1);
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
			if (parse_mapping(p) == -1)
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
 * Read the verification key.  An HS256 secret mints identities: it must
 * be a root-owned (or our own) file nobody else can read.
 */
static int
read_verify_key(struct parse *p)
{
	struct edge_conf	*c = p->conf;
	struct stat		 st;
	unsigned char		*buf = NULL;
	size_t			 len = 0;
	ssize_t			 n;
	int			 fd, secret = c->verify_alg == KEYALG_HS256;
	const char		*path = c->verify_key_file;
	char			 why[CFG_ERR_MAX];

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return (yconf_err(&p->y, 0, "verify_key", "%s: %s", path,
		    strerror(errno)));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		yconf_err(&p->y, 0, "verify_key", "%s: not a regular file", path);
		goto fail;
	}
	if (secret && ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 077) != 0)) {
		yconf_err(&p->y, 0, "verify_key", "%s: an HS256 secret must be owned "
		    "by root and mode 0600 or stricter", path);
		goto fail;
	}
	if ((buf = malloc(VERIFY_KEY_MAX_LEN + 1)) == NULL) {
		yconf_err(&p->y, 0, "verify_key", "%s", strerror(errno));
		goto fail;
	}
	while ((n = read(fd, buf + len, VERIFY_KEY_MAX_LEN + 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			yconf_err(&p->y, 0, "verify_key", "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		len += (size_t)n;
		if (len > VERIFY_KEY_MAX_LEN) {
			yconf_err(&p->y, 0, "verify_key", "%s: larger than %d bytes",
			    path, VERIFY_KEY_MAX_LEN);
			goto fail;
		}
	}
	close(fd);
	/* "echo secret > file" leaves a newline that is not the secret. */
	if (secret)
		while (len > 0 && (buf[len - 1] == '\n' ||
		    buf[len - 1] == '\r'))
			len--;
	if (len == 0 || (secret && len < HS256_SECRET_MIN_LEN)) {
		freezero(buf, VERIFY_KEY_MAX_LEN + 1);
		return (yconf_err(&p->y, 0, "verify_key", "%s: %s", path, secret ?
		    "HS256 secret too short" : "empty"));
	}
	buf[len] = '\0';
	if (token_key_check(c->verify_alg, buf, len, why, sizeof(why)) == -1) {
		yconf_err(&p->y, 0, "verify_key", "%s: %s", path, why);
		goto fail_closed;
	}
	c->verify_key = buf;
	c->verify_key_len = len;
	return (0);
fail_closed:
	freezero(buf, VERIFY_KEY_MAX_LEN + 1);
	return (-1);
fail:
	if (buf != NULL)
		freezero(buf, VERIFY_KEY_MAX_LEN + 1);
	close(fd);
	return (-1);
}

static void
set_defaults(struct edge_conf *c)
{
	strlcpy(c->listen, EDGE_DEFAULT_LISTEN, sizeof(c->listen));
	strlcpy(c->stun_listen, EDGE_DEFAULT_STUN, sizeof(c->stun_listen));
	c->verify_alg = KEYALG_RS256;
	strlcpy(c->user, CBP2P_USER, sizeof(c->user));
	strlcpy(c->chroot_dir, EDGE_DEFAULT_CHROOT, sizeof(c->chroot_dir));
	c->ttl = EDGE_DEFAULT_TTL;
	c->max_body = EDGE_DEFAULT_MAX_BODY;
	c->max_peers_per_mesh = EDGE_DEFAULT_PEERS;
	c->max_meshes = EDGE_DEFAULT_MESHES;
	c->rate = EDGE_DEFAULT_RATE;
	c->burst = EDGE_DEFAULT_BURST;
	c->long_poll_max = EDGE_DEFAULT_POLL;
	c->long_polls_per_token = EDGE_POLLS_PER_TOKEN;
	c->max_conns = EDGE_CONNS;
	c->max_conns_per_source = EDGE_CONNS_PER_SOURCE;
	c->max_handshakes = EDGE_HANDSHAKES;
	c->handshake_timeout = EDGE_HANDSHAKE_SECS;
	c->request_timeout = EDGE_REQUEST_SECS;
	c->max_header_bytes = EDGE_HEADERS_MAX;
	c->max_header_lines = EDGE_HEADER_LINES;
	c->relay_max_conns = EDGE_RELAY_CONNS;
	c->relay_max_handshakes = EDGE_RELAY_HANDSHAKES;
	c->relay_queue = EDGE_RELAY_QUEUE;
	c->relay_send_rate = EDGE_RELAY_RATE;
	c->relay_send_burst = EDGE_RELAY_BURST;
	c->relay_keepalive = EDGE_RELAY_KEEPALIVE;
	c->log_format = LOGFMT_TEXT;
	c->stun_alt_port = EDGE_STUN_ALT_NEXT;
}

/*
 * The second STUN port, on stun_listen's address: by default the next
 * port, as coturn's alt-listening-port; never stun_listen's own.
 */
static int
stun_alt_check(struct parse *p)
{
	struct edge_conf	*c = p->conf;
	struct sockaddr_storage	 ss;
	uint16_t		 port;
	size_t			 k;

	for (k = 0; k < NKEYS; k++)
		if (strcmp(keytab[k].name, "stun_alt_port") == 0)
			break;
	if (hostport_parse_numeric(c->stun_listen, &ss) == -1)
		return (yconf_err(&p->y, 0, "stun_listen", "not a numeric "
		    "address:port"));
	port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	if (c->stun_alt_port == EDGE_STUN_ALT_NEXT) {
		if (port == UINT16_MAX)
			return (yconf_err(&p->y, 0, "stun_alt_port", "no "
			    "default after stun_listen's port %u: set it (0 "
			    "for none)", port));
		c->stun_alt_port = port + 1;
	} else if (c->stun_alt_port == port)
		return (yconf_err(&p->y, k < NKEYS ? p->seen[k] : 0,
		    "stun_alt_port", "the port of stun_listen; another, or 0 "
		    "for none"));
	return (0);
}

int
edge_conf_load(const char *path, struct edge_conf *conf, char *err,
    size_t errlen)
{
	static const char *required[] = { "certificate", "key",
	    "verify_key" };
	struct parse	 p;
	FILE		*fp = NULL;
	size_t		 i, k;

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

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		for (k = 0; k < NKEYS; k++)
			if (strcmp(keytab[k].name, required[i]) == 0)
				break;
		if (!p.seen[k]) {
			yconf_err(&p.y, 0, required[i], "required key missing");
			goto fail;
		}
	}
	if (conf->burst < 1)
		conf->burst = 1;
	if (conf->relay_listen[0] != '\0' &&
	    (strcmp(conf->relay_listen, conf->listen) == 0)) {
		yconf_err(&p.y, 0, "relay_listen", "the same address as "
		    "listen");
		goto fail;
	}
	if (stun_alt_check(&p) == -1)
		goto fail;
	if (read_verify_key(&p) == -1)
		goto fail;
	return (0);
fail:
	if (fp != NULL)
		fclose(fp);
	edge_conf_free(conf);
	return (-1);
}

void
edge_conf_free(struct edge_conf *conf)
{
	if (conf->verify_key != NULL)
		freezero(conf->verify_key, VERIFY_KEY_MAX_LEN + 1);
	conf->verify_key = NULL;
	conf->verify_key_len = 0;
}
