/*
 * The userspace configuration protocol (lib/uapi.c) as a connection
 * reads it: a byte stream fed to the framer in chunks of the sizes the
 * input names, each complete request taken off the front and the rest
 * scanned again, as cbp2pd/uapi.c does.  The chunking must not matter
 * (the same requests and the same end as one read of everything); a
 * framed set request parses or is refused with one line; a parsed one
 * is well formed (counts add up, prefixes masked, families known) and,
 * written back out as wg(8) would write it, parses to the same thing.
 *
 * Input: a count of chunk sizes, that many be16 sizes (used in turn),
 * then the stream.
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

#include "uapi.h"
#include "fuzz.h"

#define CHUNKS_MAX	16
#define REQS_MAX	64
#define CIDR_TEXT_MAX	64

struct framed {
	size_t		 start;		/* offset in the stream */
	size_t		 len;
	enum uapi_op	 op;
};

struct frames {
	struct framed	 r[REQS_MAX];
	size_t		 n;
	enum uapi_read	 end;
	int		 error;
};

static void
put_key(struct uapi_buf *b, const char *name, const uint8_t *key)
{
	size_t	 i;

	uapi_buf_printf(b, "%s=", name);
	for (i = 0; i < WG_KEY_LEN; i++)
		uapi_buf_printf(b, "%02x", key[i]);
	uapi_buf_add(b, "\n", 1);
}

static void
put_endpoint(struct uapi_buf *b, const struct uapi_peer *p)
{
	const struct sockaddr_in	*sin = (const void *)&p->endpoint;
	const struct sockaddr_in6	*sin6 = (const void *)&p->endpoint;
	char				 h[INET6_ADDRSTRLEN];

	if (p->endpoint.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, h, sizeof(h));
		uapi_buf_printf(b, "endpoint=%s:%u\n", h,
		    ntohs(sin->sin_port));
		return;
	}
	inet_ntop(AF_INET6, &sin6->sin6_addr, h, sizeof(h));
	uapi_buf_printf(b, "endpoint=[%s", h);
	if (p->endpoint_ifname[0] != '\0')
		uapi_buf_printf(b, "%%%s", p->endpoint_ifname);
	else if (sin6->sin6_scope_id != 0)
		uapi_buf_printf(b, "%%%u", sin6->sin6_scope_id);
	uapi_buf_printf(b, "]:%u\n", ntohs(sin6->sin6_port));
}

/* A parsed request as wg(8) would send it. */
static void
write_set(struct uapi_buf *b, const struct uapi_set *s)
{
	const struct uapi_peer	*p;
	char			 c[CIDR_TEXT_MAX];
	size_t			 i, j;

	uapi_buf_printf(b, "set=1\n");
	if (s->has_private_key)
		put_key(b, "private_key", s->private_key);
	if (s->has_listen_port)
		uapi_buf_printf(b, "listen_port=%u\n", s->listen_port);
	if (s->has_fwmark)
		uapi_buf_printf(b, "fwmark=%u\n", s->fwmark);
	if (s->replace_peers)
		uapi_buf_printf(b, "replace_peers=true\n");
	for (i = 0; i < s->npeers; i++) {
		p = &s->peers[i];
		put_key(b, "public_key", p->public_key);
		if (p->remove)
			uapi_buf_printf(b, "remove=true\n");
		if (p->update_only)
			uapi_buf_printf(b, "update_only=true\n");
		if (p->has_preshared_key)
			put_key(b, "preshared_key", p->preshared_key);
		if (p->has_endpoint)
			put_endpoint(b, p);
		if (p->has_persistent_keepalive)
			uapi_buf_printf(b, "persistent_keepalive_interval=%u\n",
			    p->persistent_keepalive);
		if (p->replace_allowed_ips)
			uapi_buf_printf(b, "replace_allowed_ips=true\n");
		for (j = 0; j < p->nallowed_ips; j++) {
			FZ_CHECK(cidr_format(&p->allowed_ips[j], c,
			    sizeof(c)) == 0);
			uapi_buf_printf(b, "allowed_ip=%s\n", c);
		}
	}
	uapi_buf_add(b, "\n", 1);
}

static void
check_same(const struct uapi_set *a, const struct uapi_set *b)
{
	const struct uapi_peer	*p, *q;
	size_t			 i;

	FZ_CHECK(a->has_private_key == b->has_private_key);
	FZ_CHECK(memcmp(a->private_key, b->private_key, WG_KEY_LEN) == 0);
	FZ_CHECK(a->has_listen_port == b->has_listen_port);
	FZ_CHECK(a->listen_port == b->listen_port);
	FZ_CHECK(a->has_fwmark == b->has_fwmark && a->fwmark == b->fwmark);
	FZ_CHECK(a->replace_peers == b->replace_peers);
	FZ_CHECK(a->npeers == b->npeers);
	FZ_CHECK(a->nallowed_ips == b->nallowed_ips);
	for (i = 0; i < a->npeers; i++) {
		p = &a->peers[i];
		q = &b->peers[i];
		FZ_CHECK(memcmp(p->public_key, q->public_key,
		    WG_KEY_LEN) == 0);
		FZ_CHECK(p->remove == q->remove);
		FZ_CHECK(p->update_only == q->update_only);
		FZ_CHECK(p->has_preshared_key == q->has_preshared_key);
		FZ_CHECK(memcmp(p->preshared_key, q->preshared_key,
		    WG_KEY_LEN) == 0);
		FZ_CHECK(p->has_endpoint == q->has_endpoint);
		FZ_CHECK(memcmp(&p->endpoint, &q->endpoint,
		    sizeof(p->endpoint)) == 0);
		FZ_CHECK(strcmp(p->endpoint_ifname, q->endpoint_ifname) == 0);
		FZ_CHECK(p->has_persistent_keepalive ==
		    q->has_persistent_keepalive);
		FZ_CHECK(p->persistent_keepalive == q->persistent_keepalive);
		FZ_CHECK(p->replace_allowed_ips == q->replace_allowed_ips);
		FZ_CHECK(p->nallowed_ips == q->nallowed_ips);
		FZ_CHECK(p->nallowed_ips == 0 || memcmp(p->allowed_ips,
		    q->allowed_ips, p->nallowed_ips *
		    sizeof(p->allowed_ips[0])) == 0);
	}
}

static void
check_set(const char *req, size_t len)
{
	struct uapi_set		 set, again;
	struct uapi_buf		 b;
	struct cidr		 m;
	char			 err[UAPI_ERR_MAX];
	size_t			 i, j, total = 0;
	int			 rc;

	rc = uapi_set_parse(req, len, &set, err, sizeof(err));
	if (rc != 0) {
		FZ_CHECK(rc == EINVAL || rc == EPROTO || rc == E2BIG ||
		    rc == EMSGSIZE || rc == ENOMEM);
		FZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		FZ_CHECK(set.npeers == 0 && set.peers == NULL);
		uapi_buf_init(&b, UAPI_MAX_REPLY);
		FZ_CHECK(uapi_set_reply(&b, rc) == 0);
		uapi_buf_free(&b);
		return;
	}
	FZ_CHECK(err[0] == '\0');
	FZ_CHECK(set.npeers <= UAPI_MAX_PEERS);
	for (i = 0; i < set.npeers; i++) {
		total += set.peers[i].nallowed_ips;
		if (set.peers[i].has_endpoint)
			FZ_CHECK(set.peers[i].endpoint.ss_family == AF_INET ||
			    set.peers[i].endpoint.ss_family == AF_INET6);
		for (j = 0; j < set.peers[i].nallowed_ips; j++) {
			m = set.peers[i].allowed_ips[j];
			FZ_CHECK(m.af == AF_INET || m.af == AF_INET6);
			FZ_CHECK(m.plen <= (m.af == AF_INET ? FZ_V4_BITS :
			    FZ_V6_BITS));
			cidr_mask(&m);
			FZ_CHECK(memcmp(&m, &set.peers[i].allowed_ips[j],
			    sizeof(m)) == 0);
		}
	}
	FZ_CHECK(total == set.nallowed_ips);
	FZ_CHECK(total <= UAPI_MAX_ALLOWED_IPS);

	uapi_buf_init(&b, UAPI_MAX_REQUEST);
	write_set(&b, &set);
	FZ_CHECK(b.error == 0);
	rc = uapi_set_parse(b.data, b.len, &again, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "reparse: %s\n", err);
	FZ_CHECK(rc == 0);
	check_same(&set, &again);
	uapi_set_free(&again);
	uapi_buf_free(&b);
	uapi_set_free(&set);
}

/* The requests a connection would see; chunk NULL: one read of all. */
static void
frame(const char *stream, size_t len, const uint16_t *chunk, size_t nchunks,
    struct frames *fr, int parse)
{
	struct uapi_reader	 rd;
	char			*buf;
	size_t			 have = 0, fed = 0, consumed = 0;
	size_t			 got, reqlen;
	size_t			 i = 0;
	enum uapi_read		 r = UAPI_READ_MORE;

	memset(fr, 0, sizeof(*fr));
	buf = (char *)fz_dup((const uint8_t *)stream, len);
	uapi_reader_init(&rd);
	while (fed < len && fr->n < REQS_MAX) {
		got = nchunks > 0 ? chunk[i++ % nchunks] : len;
		if (got == 0)
			got = 1;
		if (got > len - fed)
			got = len - fed;
		memcpy(buf + have, stream + fed, got);
		have += got;
		fed += got;
		while (fr->n < REQS_MAX &&
		    (r = uapi_reader_scan(&rd, buf, have, &reqlen)) ==
		    UAPI_READ_DONE) {
			FZ_CHECK(reqlen >= 2 && reqlen <= have);
			FZ_CHECK(buf[reqlen - 1] == '\n' &&
			    buf[reqlen - 2] == '\n');
			FZ_CHECK(reqlen <= UAPI_MAX_REQUEST);
			fr->r[fr->n].start = consumed;
			fr->r[fr->n].len = reqlen;
			fr->r[fr->n].op = rd.op;
			fr->n++;
			if (parse && rd.op == UAPI_OP_SET)
				check_set(buf, reqlen);
			memmove(buf, buf + reqlen, have - reqlen);
			have -= reqlen;
			consumed += reqlen;
			uapi_reader_init(&rd);
		}
		if (r == UAPI_READ_ERROR) {
			FZ_CHECK(rd.error != 0);
			break;
		}
	}
	fr->end = r;
	fr->error = rd.error;
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct frames	 whole, chunked;
	struct fz		 f;
	uint16_t		 chunk[CHUNKS_MAX];
	size_t			 nchunks, i;

	fz_init(&f, data, size);
	nchunks = fz_u8(&f) % CHUNKS_MAX;
	for (i = 0; i < nchunks; i++)
		chunk[i] = fz_u16(&f);
	frame((const char *)f.p, f.left, NULL, 0, &whole, 0);
	frame((const char *)f.p, f.left, chunk, nchunks, &chunked, 1);
	if (whole.n < REQS_MAX && chunked.n < REQS_MAX) {
		FZ_CHECK(whole.n == chunked.n);
		FZ_CHECK(memcmp(whole.r, chunked.r,
		    whole.n * sizeof(whole.r[0])) == 0);
		FZ_CHECK(whole.end == chunked.end);
		FZ_CHECK(whole.error == chunked.error);
	}
	return (0);
}
