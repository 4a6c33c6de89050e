/*
 * WireGuard userspace configuration protocol: framing, set parsing and
 * reply text.  Behaviour follows what wg(8) sends and expects and what
 * wireguard-go accepts; see uapi.h for how the daemon drives it.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "uapi.h"

#define OP_LINE_LEN	5		/* "get=1" and "set=1" */
#define PORT_MAX	65535
#define FWMARK_MAX	UINT32_MAX
#define KEEPALIVE_MAX	65535
#define UINT_DIGITS_MAX	20		/* UINT64_MAX has 20 digits */
#define KEY_ECHO_MAX	32		/* bytes of an unknown key in err */
#define GROW_MIN	8		/* first allocation of an array */
#define BUF_GROW_MIN	4096

static const char	 get_line[] = "get=1";
static const char	 set_line[] = "set=1";

/* Only to tell a misplaced key from an unknown one in the message. */
static const char *const device_keys[] = {
	"private_key", "listen_port", "fwmark", "replace_peers", NULL
};
static const char *const peer_keys[] = {
	"remove", "update_only", "preshared_key", "endpoint",
	"persistent_keepalive_interval", "replace_allowed_ips", "allowed_ip",
	"protocol_version", NULL
};

/*
 * Framing
 */

void
uapi_reader_init(struct uapi_reader *rd)
{
	memset(rd, 0, sizeof(*rd));
	rd->op = UAPI_OP_NONE;
}

static enum uapi_read
reader_fail(struct uapi_reader *rd, int error)
{
	rd->error = error;
	return (UAPI_READ_ERROR);
}

/*
 * buf must hold the same bytes as at the previous call plus whatever was
 * read since: only buf[rd->off, len) is looked at.  A request is the
 * operation line and, for set, key=value lines, up to an empty line.
 */
enum uapi_read
uapi_reader_scan(struct uapi_reader *rd, const char *buf, size_t len,
    size_t *reqlen)
{
	const char	*opline;
	size_t		 i;
	char		 c;

	if (rd->error != 0)
		return (UAPI_READ_ERROR);
	for (i = rd->off; i < len; i++) {
		c = buf[i];
		/* A NUL would cut every later string function short. */
		if (c == '\0')
			return (reader_fail(rd, EPROTO));
		if (rd->op == UAPI_OP_NONE) {
			/* Refuse a wrong operation at its first wrong byte. */
			if (i < OP_LINE_LEN) {
				opline = buf[0] == get_line[0] ? get_line :
				    set_line;
				if (c != opline[i])
					return (reader_fail(rd, EPROTO));
				continue;
			}
			if (c != '\n')
				return (reader_fail(rd, EPROTO));
			rd->op = buf[0] == get_line[0] ? UAPI_OP_GET :
			    UAPI_OP_SET;
			rd->line = i + 1;
			continue;
		}
		if (c == '\n') {
			if (i == rd->line) {
				*reqlen = i + 1;
				rd->off = i + 1;
				return (UAPI_READ_DONE);
			}
			rd->line = i + 1;
		} else if (rd->op == UAPI_OP_GET) {
			/* get=1 is followed by the empty line and nothing. */
			return (reader_fail(rd, EPROTO));
		} else if (i - rd->line >= UAPI_MAX_LINE)
			return (reader_fail(rd, EMSGSIZE));
		if (i + 1 >= UAPI_MAX_REQUEST)
			return (reader_fail(rd, EMSGSIZE));
	}
	rd->off = len;
	return (UAPI_READ_MORE);
}

/*
 * Set parsing
 */

struct parser {
	struct uapi_set	*set;
	struct uapi_peer *peer;		/* NULL until the first public_key */
	size_t		 lineno;
	char		*err;
	size_t		 errlen;
};

static int
parse_fail(struct parser *ps, int error, const char *key, const char *what)
{
	if (ps->errlen > 0)
		snprintf(ps->err, ps->errlen, "line %zu: %s: %s", ps->lineno,
		    key, what);
	return (error);
}

int
uapi_key_is_zero(const uint8_t key[WG_KEY_LEN])
{
	static const uint8_t	 zero[WG_KEY_LEN];

	/* Constant time: the key may be a secret one. */
	return (sodium_memcmp(key, zero, WG_KEY_LEN) == 0);
}

/* Exactly UAPI_KEY_HEX_LEN hex digits, either case. */
static int
parse_key(const char *v, uint8_t key[WG_KEY_LEN])
{
	size_t	 binlen;

	if (strlen(v) != UAPI_KEY_HEX_LEN)
		return (-1);
	if (sodium_hex2bin(key, WG_KEY_LEN, v, UAPI_KEY_HEX_LEN, NULL,
	    &binlen, NULL) != 0 || binlen != WG_KEY_LEN) {
		sodium_memzero(key, WG_KEY_LEN);
		return (-1);
	}
	return (0);
}

/* Decimal digits only, as wg(8) prints them; no sign, no blanks. */
static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t	 n = 0, d;
	size_t		 i;

	if (v[0] == '\0' || strlen(v) > UINT_DIGITS_MAX)
		return (-1);
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9')
			return (-1);
		d = (uint64_t)(v[i] - '0');
		if (d > max || n > (max - d) / 10)
			return (-1);
		n = n * 10 + d;
	}
	*out = n;
	return (0);
}

/* "true" is the only value wg(8) and wireguard-go know for flags. */
static int
parse_true(const char *v)
{
	return (strcmp(v, "true") == 0 ? 0 : -1);
}

/*
 * wg(8)'s endpoint and allowed_ip syntaxes are parsed by lib/addr.c: the
 * endpoint by hostport_parse_wg() as wireguard-go's netip.ParseAddrPort
 * reads it (a scope in the brackets, leading zeros in the port), the
 * prefix by cidr_parse(), whose rules are netip.ParsePrefix's: no zone,
 * the length required, decimal without sign or leading zero, at most 32
 * or 128.  wg(8) sends "10.1.2.3/16" as the user wrote it; the table
 * keeps the network, as wireguard-go's and the kernel's do, so the host
 * bits are cleared here.
 */
static int
parse_cidr(const char *v, struct cidr *c)
{
	memset(c, 0, sizeof(*c));
	if (cidr_parse(v, c) == -1)
		return (-1);
	cidr_mask(c);
	return (0);
}

/*
 * Grow an array that may hold key material: the old block is wiped
 * before it goes back to the allocator, unlike realloc(3).
 */
static int
grow_zeroed(void **arr, size_t *cap, size_t size)
{
	size_t	 ncap;
	void	*n;

	ncap = *cap == 0 ? GROW_MIN : *cap * 2;
	if ((n = calloc(ncap, size)) == NULL)
		return (-1);
	if (*arr != NULL) {
		memcpy(n, *arr, *cap * size);
		sodium_memzero(*arr, *cap * size);
		free(*arr);
	}
	*arr = n;
	*cap = ncap;
	return (0);
}

static int
peer_add(struct parser *ps, const char *key, const char *v)
{
	struct uapi_set		*set = ps->set;
	struct uapi_peer	*p;
	void			*arr;

	if (set->npeers >= UAPI_MAX_PEERS)
		return (parse_fail(ps, E2BIG, key, "too many peers"));
	if (set->npeers == set->peers_cap) {
		arr = set->peers;
		if (grow_zeroed(&arr, &set->peers_cap, sizeof(*p)) == -1)
			return (parse_fail(ps, ENOMEM, key, "out of memory"));
		set->peers = arr;
	}
	p = &set->peers[set->npeers];
	if (parse_key(v, p->public_key) == -1)
		return (parse_fail(ps, EINVAL, key, "invalid key"));
	set->npeers++;
	ps->peer = p;
	return (0);
}

static void
peer_clear_allowed_ips(struct uapi_set *set, struct uapi_peer *p)
{
	set->nallowed_ips -= p->nallowed_ips;
	free(p->allowed_ips);
	p->allowed_ips = NULL;
	p->nallowed_ips = p->allowed_ips_cap = 0;
}

static int
peer_allowed_ip(struct parser *ps, const char *key, const char *v)
{
	struct uapi_peer	*p = ps->peer;
	struct cidr		 c, *arr;
	size_t			 ncap;

	if (parse_cidr(v, &c) == -1)
		return (parse_fail(ps, EINVAL, key, "invalid prefix"));
	if (ps->set->nallowed_ips >= UAPI_MAX_ALLOWED_IPS)
		return (parse_fail(ps, E2BIG, key, "too many allowed IPs"));
	if (p->nallowed_ips == p->allowed_ips_cap) {
		ncap = p->allowed_ips_cap == 0 ? GROW_MIN :
		    p->allowed_ips_cap * 2;
		arr = reallocarray(p->allowed_ips, ncap, sizeof(*arr));
		if (arr == NULL)
			return (parse_fail(ps, ENOMEM, key, "out of memory"));
		p->allowed_ips = arr;
		p->allowed_ips_cap = ncap;
	}
	p->allowed_ips[p->nallowed_ips++] = c;
	ps->set->nallowed_ips++;
	return (0);
}

static int
device_line(struct parser *ps, const char *key, const char *v)
{
	struct uapi_set	*set = ps->set;
	uint64_t	 n;

	if (strcmp(key, "private_key") == 0) {
		if (parse_key(v, set->private_key) == -1)
			return (parse_fail(ps, EINVAL, key, "invalid key"));
		set->has_private_key = 1;
	} else if (strcmp(key, "listen_port") == 0) {
		if (parse_uint(v, PORT_MAX, &n) == -1)
			return (parse_fail(ps, EINVAL, key, "invalid port"));
		set->listen_port = (uint16_t)n;
		set->has_listen_port = 1;
	} else if (strcmp(key, "fwmark") == 0) {
		if (parse_uint(v, FWMARK_MAX, &n) == -1)
			return (parse_fail(ps, EINVAL, key, "invalid fwmark"));
		set->fwmark = (uint32_t)n;
		set->has_fwmark = 1;
	} else if (strcmp(key, "replace_peers") == 0) {
		if (parse_true(v) == -1)
			return (parse_fail(ps, EINVAL, key, "not \"true\""));
		set->replace_peers = 1;
	} else
		return (1);
	return (0);
}

static int
peer_line(struct parser *ps, const char *key, const char *v)
{
	struct uapi_peer	*p = ps->peer;
	uint64_t		 n;

	if (strcmp(key, "remove") == 0) {
		if (parse_true(v) == -1)
			return (parse_fail(ps, EINVAL, key, "not \"true\""));
		p->remove = 1;
	} else if (strcmp(key, "update_only") == 0) {
		if (parse_true(v) == -1)
			return (parse_fail(ps, EINVAL, key, "not \"true\""));
		p->update_only = 1;
	} else if (strcmp(key, "preshared_key") == 0) {
		if (parse_key(v, p->preshared_key) == -1)
			return (parse_fail(ps, EINVAL, key, "invalid key"));
		p->has_preshared_key = 1;
	} else if (strcmp(key, "endpoint") == 0) {
		if (hostport_parse_wg(v, &p->endpoint,
		    p->endpoint_ifname) == -1) {
			p->has_endpoint = 0;
			return (parse_fail(ps, EINVAL, key,
			    "invalid numeric address:port"));
		}
		p->has_endpoint = 1;
	} else if (strcmp(key, "persistent_keepalive_interval") == 0) {
		if (parse_uint(v, KEEPALIVE_MAX, &n) == -1)
			return (parse_fail(ps, EINVAL, key, "invalid interval"));
		p->persistent_keepalive = (uint16_t)n;
		p->has_persistent_keepalive = 1;
	} else if (strcmp(key, "replace_allowed_ips") == 0) {
		if (parse_true(v) == -1)
			return (parse_fail(ps, EINVAL, key, "not \"true\""));
		/*
		 * wireguard-go removes the peer's prefixes when it reads this
		 * line, so prefixes given above it in this section go too.
		 */
		peer_clear_allowed_ips(ps->set, p);
		p->replace_allowed_ips = 1;
	} else if (strcmp(key, "allowed_ip") == 0)
		return (peer_allowed_ip(ps, key, v));
	else if (strcmp(key, "protocol_version") == 0) {
		if (strcmp(v, "1") != 0)
			return (parse_fail(ps, EINVAL, key,
			    "unsupported version"));
	} else
		return (1);
	return (0);
}

/* Unknown keys come from the peer: echo them bounded and printable. */
static int
unknown_key(struct parser *ps, const char *key)
{
	char	 echo[KEY_ECHO_MAX + 1];
	size_t	 i;

	for (i = 0; i < KEY_ECHO_MAX && key[i] != '\0'; i++)
		echo[i] = key[i] >= ' ' && key[i] <= '~' ? key[i] : '?';
	echo[i] = '\0';
	return (parse_fail(ps, EPROTO, echo, "unknown key"));
}

static int
key_in(const char *key, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcmp(key, *names) == 0)
			return (1);
	return (0);
}

static int
parse_line(struct parser *ps, char *line)
{
	char	*key, *v;
	int	 r;

	key = line;
	if ((v = strchr(line, '=')) == NULL)
		return (parse_fail(ps, EPROTO, "request", "line without '='"));
	*v++ = '\0';

	if (strcmp(key, "public_key") == 0)
		return (peer_add(ps, key, v));
	if (ps->peer == NULL) {
		if ((r = device_line(ps, key, v)) != 1)
			return (r);
		if (key_in(key, peer_keys))
			return (parse_fail(ps, EPROTO, key,
			    "peer key before public_key"));
		return (unknown_key(ps, key));
	}
	if ((r = peer_line(ps, key, v)) != 1)
		return (r);
	if (key_in(key, device_keys))
		return (parse_fail(ps, EPROTO, key, "device key after a peer"));
	return (unknown_key(ps, key));
}

int
uapi_set_parse(const char *req, size_t len, struct uapi_set *set, char *err,
    size_t errlen)
{
	struct parser	 ps;
	char		 line[UAPI_MAX_LINE + 1];
	const char	*p, *end, *nl;
	size_t		 n;
	int		 r = 0;

	memset(set, 0, sizeof(*set));
	memset(&ps, 0, sizeof(ps));
	ps.set = set;
	ps.err = err;
	ps.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';

	if (len > UAPI_MAX_REQUEST) {
		r = parse_fail(&ps, EMSGSIZE, "request", "too large");
		goto fail;
	}
	if (memchr(req, '\0', len) != NULL) {
		r = parse_fail(&ps, EPROTO, "request", "NUL byte");
		goto fail;
	}
	if (len < sizeof(set_line) || memcmp(req, set_line,
	    sizeof(set_line) - 1) != 0 || req[sizeof(set_line) - 1] != '\n') {
		r = parse_fail(&ps, EPROTO, "request", "not a set=1 request");
		goto fail;
	}
	p = req + sizeof(set_line);
	end = req + len;
	ps.lineno = 1;
	for (;;) {
		ps.lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			r = parse_fail(&ps, EPROTO, "request",
			    "no terminating empty line");
			goto fail;
		}
		n = (size_t)(nl - p);
		if (n == 0)
			break;
		if (n > UAPI_MAX_LINE) {
			r = parse_fail(&ps, EMSGSIZE, "request",
			    "line too long");
			goto fail;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		r = parse_line(&ps, line);
		sodium_memzero(line, sizeof(line));
		if (r != 0)
			goto fail;
		p = nl + 1;
	}
	if (nl + 1 != end) {
		r = parse_fail(&ps, EPROTO, "request", "data after empty line");
		goto fail;
	}
	return (0);

 fail:
	uapi_set_free(set);
	return (r);
}

void
uapi_set_free(struct uapi_set *set)
{
	size_t	 i;

	if (set->peers != NULL) {
		for (i = 0; i < set->npeers; i++)
			free(set->peers[i].allowed_ips);
		sodium_memzero(set->peers,
		    set->peers_cap * sizeof(*set->peers));
		free(set->peers);
	}
	sodium_memzero(set, sizeof(*set));
}

/* Nodes one more prefix may add to the allowed-IPs trie: a leaf, a fork. */
#define AIP_NODES_PER_PREFIX	2

/*
 * Whether the peer of section i exists when that section is applied:
 * as the device has it (none after replace_peers), then as the earlier
 * sections of the request left it.
 */
static int
exists_at(const struct uapi_set *s, const struct uapi_device_view *v,
    size_t i)
{
	const struct uapi_peer	*up = &s->peers[i];
	size_t			 j;
	int			 exists;

	exists = !s->replace_peers && v->peer_exists(up->public_key, v->arg);
	for (j = 0; j < i; j++) {
		if (memcmp(s->peers[j].public_key, up->public_key,
		    WG_KEY_LEN) != 0)
			continue;
		if (s->peers[j].remove)
			exists = 0;
		else if (!s->peers[j].update_only)
			exists = 1;
	}
	return (exists);
}

int
uapi_set_check(const struct uapi_set *s, const struct uapi_device_view *v,
    char *err, size_t errlen)
{
	uint8_t		 own[WG_KEY_LEN];
	size_t		 i, live, nodes;
	int		 has_key, exists;

	has_key = v->has_private_key;
	memcpy(own, v->public_key, WG_KEY_LEN);
	if (s->has_private_key) {
		has_key = !uapi_key_is_zero(s->private_key);
		if (has_key && wgkey_public(own, s->private_key) == -1) {
			snprintf(err, errlen, "private key unusable");
			return (EINVAL);
		}
	}
	live = s->replace_peers ? 0 : v->npeers;
	for (i = 0; i < s->npeers; i++) {
		const struct uapi_peer	*up = &s->peers[i];

		exists = exists_at(s, v, i);
		if (up->remove) {
			if (exists)
				live--;
			continue;
		}
		if (has_key && memcmp(up->public_key, own, WG_KEY_LEN) == 0) {
			snprintf(err, errlen, "peer %zu: this node's own key",
			    i + 1);
			return (EINVAL);
		}
		if (exists || up->update_only)
			continue;
		if (live >= v->max_peers) {
			snprintf(err, errlen, "peer %zu: more than %zu peers",
			    i + 1, v->max_peers);
			return (ENOSPC);
		}
		if (has_key && wgkey_low_order(up->public_key)) {
			snprintf(err, errlen, "peer %zu: public key is not "
			    "usable (a low-order point)", i + 1);
			return (EINVAL);
		}
		live++;
	}
	nodes = s->replace_peers ? 0 : v->aip_nodes;
	if (v->aip_nodes_max != 0 && (s->nallowed_ips > (v->aip_nodes_max -
	    (nodes < v->aip_nodes_max ? nodes : v->aip_nodes_max)) /
	    AIP_NODES_PER_PREFIX)) {
		snprintf(err, errlen, "%zu allowed IPs: over the limit of the "
		    "allowed-IPs table", s->nallowed_ips);
		return (E2BIG);
	}
	return (0);
}

/*
 * Reply text
 */

void
uapi_buf_init(struct uapi_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
uapi_buf_reset(struct uapi_buf *b)
{
	if (b->data != NULL)
		sodium_memzero(b->data, b->cap);
	b->len = 0;
	b->error = 0;
}

void
uapi_buf_free(struct uapi_buf *b)
{
	if (b->data != NULL) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

/* Room for n more bytes and the NUL that keeps data a string. */
static int
buf_reserve(struct uapi_buf *b, size_t n)
{
	size_t	 ncap;
	char	*nd;

	if (b->error != 0)
		return (-1);
	if (n > b->max || b->len > b->max - n) {
		b->error = EMSGSIZE;
		return (-1);
	}
	if (b->len + n < b->cap)
		return (0);
	ncap = b->cap < BUF_GROW_MIN ? BUF_GROW_MIN : b->cap;
	while (ncap <= b->len + n)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	/* Not realloc(3): the old block may hold a private key. */
	if ((nd = malloc(ncap)) == NULL) {
		b->error = ENOMEM;
		return (-1);
	}
	if (b->data != NULL) {
		memcpy(nd, b->data, b->len + 1);
		sodium_memzero(b->data, b->cap);
		free(b->data);
	} else
		nd[0] = '\0';
	b->data = nd;
	b->cap = ncap;
	return (0);
}

int
uapi_buf_add(struct uapi_buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return (-1);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return (0);
}

int
uapi_buf_printf(struct uapi_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (b->error != 0)
		return (-1);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->error = EINVAL;
		return (-1);
	}
	if (buf_reserve(b, (size_t)n) == -1)
		return (-1);
	va_start(ap, fmt);
	(void)vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return (0);
}

static int
buf_key(struct uapi_buf *b, const char *name, const uint8_t key[WG_KEY_LEN])
{
	char	 hex[UAPI_KEY_HEX_LEN + 1];
	int	 r;

	sodium_bin2hex(hex, sizeof(hex), key, WG_KEY_LEN);
	r = uapi_buf_printf(b, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
	return (r);
}

int
uapi_get_device(struct uapi_buf *b, const struct uapi_device_info *dev)
{
	/* As wireguard-go: a zero value is an absent one, wg(8) agrees. */
	if (dev->has_private_key && !uapi_key_is_zero(dev->private_key))
		buf_key(b, "private_key", dev->private_key);
	if (dev->listen_port != 0)
		uapi_buf_printf(b, "listen_port=%u\n",
		    (unsigned int)dev->listen_port);
	if (dev->fwmark != 0)
		uapi_buf_printf(b, "fwmark=%" PRIu32 "\n", dev->fwmark);
	return (b->error != 0 ? -1 : 0);
}

static void
buf_endpoint(struct uapi_buf *b, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 host[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)ss;
		if (inet_ntop(AF_INET, &sin->sin_addr, host,
		    sizeof(host)) == NULL)
			return;
		uapi_buf_printf(b, "endpoint=%s:%u\n", host,
		    (unsigned int)ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)ss;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof(host)) == NULL)
			return;
		/* A numeric scope: wg(8) hands it to getaddrinfo(3). */
		if (sin6->sin6_scope_id != 0)
			uapi_buf_printf(b, "endpoint=[%s%%%" PRIu32 "]:%u\n",
			    host, sin6->sin6_scope_id,
			    (unsigned int)ntohs(sin6->sin6_port));
		else
			uapi_buf_printf(b, "endpoint=[%s]:%u\n", host,
			    (unsigned int)ntohs(sin6->sin6_port));
		break;
	default:
		/* AF_UNSPEC: no endpoint known yet. */
		break;
	}
}

int
uapi_get_peer(struct uapi_buf *b, const struct uapi_peer_info *peer)
{
	char	 pfx[INET6_ADDRSTRLEN + sizeof("/128")];
	size_t	 i;

	/* The order wireguard-go and the kernel use. */
	buf_key(b, "public_key", peer->public_key);
	if (peer->has_preshared_key && !uapi_key_is_zero(peer->preshared_key))
		buf_key(b, "preshared_key", peer->preshared_key);
	uapi_buf_printf(b, "protocol_version=1\n");
	buf_endpoint(b, &peer->endpoint);
	uapi_buf_printf(b, "last_handshake_time_sec=%" PRId64 "\n"
	    "last_handshake_time_nsec=%" PRId64 "\n"
	    "tx_bytes=%" PRIu64 "\n"
	    "rx_bytes=%" PRIu64 "\n"
	    "persistent_keepalive_interval=%u\n",
	    peer->last_handshake_sec, peer->last_handshake_nsec,
	    peer->tx_bytes, peer->rx_bytes,
	    (unsigned int)peer->persistent_keepalive);
	for (i = 0; i < peer->nallowed_ips; i++)
		if (cidr_format(&peer->allowed_ips[i], pfx, sizeof(pfx)) == 0)
			uapi_buf_printf(b, "allowed_ip=%s\n", pfx);
	return (b->error != 0 ? -1 : 0);
}

int
uapi_get_end(struct uapi_buf *b)
{
	return (uapi_buf_printf(b, "errno=0\n\n"));
}

/*
 * wg(8) reads the two replies differently: after a get it negates the
 * number (ret = -errno, errno = -ret) and refuses a sign, after a set it
 * scans "%d" and takes errno = -value, as wireguard-go writes it
 * (errno=-22).  So a get error is positive and a set error negative.
 */
int
uapi_get_error(struct uapi_buf *b, int error)
{
	uapi_buf_reset(b);
	return (uapi_buf_printf(b, "errno=%d\n\n", error));
}

int
uapi_set_reply(struct uapi_buf *b, int error)
{
	uapi_buf_reset(b);
	return (uapi_buf_printf(b, "errno=%d\n\n", -error));
}
