/*
 * The userspace WireGuard configuration protocol on
 * /var/run/wireguard/<ifname>.sock, so that wg(8) shows and changes
 * cbp2pd as it does wireguard-go.  Parsing and formatting are in
 * lib/uapi.c; here are the socket and the changes to the engine.  A set
 * request is parsed whole and checked before anything is applied.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cbp2pd.h"
#include "log.h"
#include "uapi.h"

#define UAPI_DIR		"/var/run/wireguard"
#define UAPI_DIR_MODE		0700
#define UAPI_SOCK_MODE		0600
#define UAPI_MAX_CONNS		16
#define UAPI_READ_CHUNK		4096

struct uapi_conn {
	TAILQ_ENTRY(uapi_conn)	 entry;
	int			 fd;
	struct event		 ev;
	struct uapi_reader	 rd;
	char			*in;
	size_t			 inlen;
	size_t			 incap;
	struct uapi_buf		 out;
	size_t			 outoff;
	uint32_t		 id;
	int			 waiting;	/* for the engine's counters */
};

static TAILQ_HEAD(, uapi_conn)	 uapi_conns =
    TAILQ_HEAD_INITIALIZER(uapi_conns);
static int			 uapi_fd = -1;
static int			 uapi_nconns;
static uint32_t			 uapi_next_id;
static struct event		 uapi_ev;
static char			 uapi_path[sizeof(((struct sockaddr_un *)0)->
				    sun_path)];

static void	uapi_accept(int, short, void *);
static void	uapi_io(int, short, void *);

/*
 * /var/run is not per network namespace: a socket that answers is
 * another daemon's interface of the same name, maybe in another one.
 */
static int
uapi_in_use(const struct sockaddr_un *sun)
{
	int	 s, rc;

	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return (0);
	/* EAGAIN: a listener with a full queue. */
	rc = connect(s, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	    errno == EAGAIN;
	close(s);
	return (rc);
}

int
uapi_init(const char *ifname)
{
	struct sockaddr_un	 sun;
	mode_t			 old;

	if (mkdir(UAPI_DIR, UAPI_DIR_MODE) == -1 && errno != EEXIST) {
		log_warn("%s: mkdir %s", __func__, UAPI_DIR);
		return (-1);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock",
	    UAPI_DIR, ifname) >= sizeof(sun.sun_path))
		return (-1);
	if ((uapi_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: socket", __func__);
		return (-1);
	}
	/* Only a stale socket is replaced, as wireguard-go does. */
	if (uapi_in_use(&sun)) {
		log_warnx("%s: %s is in use", __func__, sun.sun_path);
		goto fail;
	}
	unlink(sun.sun_path);
	old = umask(S_IRWXG | S_IRWXO);
	if (bind(uapi_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("%s: bind %s", __func__, sun.sun_path);
		umask(old);
		goto fail;
	}
	umask(old);
	if (chmod(sun.sun_path, UAPI_SOCK_MODE) == -1 ||
	    listen(uapi_fd, UAPI_MAX_CONNS) == -1) {
		log_warn("%s: %s", __func__, sun.sun_path);
		unlink(sun.sun_path);
		goto fail;
	}
	strlcpy(uapi_path, sun.sun_path, sizeof(uapi_path));
	event_set(&uapi_ev, uapi_fd, EV_READ | EV_PERSIST, uapi_accept, NULL);
	event_add(&uapi_ev, NULL);
	return (0);
fail:
	close(uapi_fd);
	uapi_fd = -1;
	return (-1);
}

static void
uapi_close(struct uapi_conn *c)
{
	event_del(&c->ev);
	close(c->fd);
	TAILQ_REMOVE(&uapi_conns, c, entry);
	freezero(c->in, c->incap);
	uapi_buf_free(&c->out);
	free(c);
	uapi_nconns--;
}

void
uapi_cleanup(void)
{
	struct uapi_conn	*c;

	while ((c = TAILQ_FIRST(&uapi_conns)) != NULL)
		uapi_close(c);
	if (uapi_fd == -1)
		return;
	event_del(&uapi_ev);
	close(uapi_fd);
	uapi_fd = -1;
	unlink(uapi_path);
}

static void
uapi_accept(int fd, short event, void *arg)
{
	struct uapi_conn	*c;
	int			 s;

	if ((s = accept4(uapi_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1)
		return;
	if (uapi_nconns >= UAPI_MAX_CONNS || (c = calloc(1,
	    sizeof(*c))) == NULL) {
		log_warnx("uapi: refusing a connection");
		close(s);
		return;
	}
	c->fd = s;
	c->id = ++uapi_next_id;
	uapi_reader_init(&c->rd);
	uapi_buf_init(&c->out, UAPI_MAX_REPLY);
	event_set(&c->ev, s, EV_READ | EV_PERSIST, uapi_io, c);
	event_add(&c->ev, NULL);
	TAILQ_INSERT_TAIL(&uapi_conns, c, entry);
	uapi_nconns++;
}

/* ---- get ------------------------------------------------------------ */

struct aip_collect {
	struct cidr	*v;
	size_t		 n;
	size_t		 cap;
	int		 failed;
};

static int
aip_collect(void *arg, int af, const uint8_t *addr, unsigned int plen)
{
	struct aip_collect	*a = arg;
	struct cidr		*nv;

	if (a->n == a->cap) {
		if ((nv = reallocarray(a->v, a->cap ? a->cap * 2 : 8,
		    sizeof(*nv))) == NULL) {
			a->failed = 1;
			return (1);
		}
		a->v = nv;
		a->cap = a->cap ? a->cap * 2 : 8;
	}
	memset(&a->v[a->n], 0, sizeof(a->v[a->n]));
	a->v[a->n].af = af;
	memcpy(a->v[a->n].addr, addr, af == AF_INET ? 4 : 16);
	a->v[a->n].plen = plen;
	a->n++;
	return (0);
}

static int
uapi_get(struct uapi_buf *out)
{
	struct dataplane	*dp = &env->dp;
	struct uapi_device_info	 dev;
	struct uapi_peer_info	 pi;
	struct aip_collect	 a;
	struct ppeer		*pp;

	memset(&dev, 0, sizeof(dev));
	dev.has_private_key = dp->has_key;
	if (dp->has_key)
		memcpy(dev.private_key, dp->local.priv, WG_KEY_LEN);
	dev.listen_port = dp->port;
	dev.fwmark = dp->fwmark;
	uapi_get_device(out, &dev);
	explicit_bzero(&dev, sizeof(dev));

	memset(&a, 0, sizeof(a));
	RB_FOREACH(pp, ppeer_tree, &dp->peers) {
		memset(&pi, 0, sizeof(pi));
		memcpy(pi.public_key, pp->wp.pub, WG_KEY_LEN);
		pi.has_preshared_key = pp->has_psk;
		if (pp->has_psk)
			memcpy(pi.preshared_key, pp->wp.psk, WG_KEY_LEN);
		if (pp->endpoint.kind == EP_UDP4 ||
		    pp->endpoint.kind == EP_UDP6)
			memcpy(&pi.endpoint, &pp->endpoint.sa,
			    sockaddr_len(&pp->endpoint.sa));
		pi.last_handshake_sec = pp->last_handshake.tv_sec;
		pi.last_handshake_nsec = pp->last_handshake.tv_nsec;
		pi.tx_bytes = pp->tx_bytes;
		pi.rx_bytes = pp->rx_bytes;
		pi.persistent_keepalive = pp->keepalive;
		a.n = 0;
		wg_aip_walk(&dp->aip, pp, aip_collect, &a);
		if (a.failed) {
			free(a.v);
			explicit_bzero(&pi, sizeof(pi));
			return (ENOMEM);
		}
		pi.allowed_ips = a.v;
		pi.nallowed_ips = a.n;
		uapi_get_peer(out, &pi);
		explicit_bzero(&pi, sizeof(pi));
	}
	free(a.v);
	uapi_get_end(out);
	return (out->error);
}

/* ---- set ------------------------------------------------------------ */

static int
uapi_peer_exists(const uint8_t *pub, void *arg)
{
	return (ppeer_find(pub) != NULL);
}

/*
 * Everything that could fail half-way is checked first (lib/uapi.c
 * checks the request against the device), so that a request is applied
 * whole or not at all; only a new listen port is tried for real, and
 * first, before anything else changes.
 */
static int
uapi_set_precheck(struct uapi_set *s, char *msg, size_t msglen)
{
	static const uint8_t	 zero[WG_KEY_LEN];
	struct dataplane	*dp = &env->dp;
	struct uapi_device_view	 v;
	struct sockaddr_in6	*sin6;
	struct wg_local		 probe;
	size_t			 i;
	int			 rc;

	if (s->has_private_key &&
	    sodium_memcmp(s->private_key, zero, WG_KEY_LEN) != 0) {
		rc = wg_local_init(&probe, dp->crypto, s->private_key);
		wg_local_clear(&probe);
		if (rc != WG_OK) {
			snprintf(msg, msglen, "private key unusable");
			return (EINVAL);
		}
	}
	for (i = 0; i < s->npeers; i++) {
		struct uapi_peer	*up = &s->peers[i];

		if (up->endpoint_ifname[0] == '\0')
			continue;
		sin6 = (struct sockaddr_in6 *)&up->endpoint;
		if ((sin6->sin6_scope_id =
		    if_nametoindex(up->endpoint_ifname)) == 0) {
			snprintf(msg, msglen, "peer %zu: no interface %s",
			    i + 1, up->endpoint_ifname);
			return (EINVAL);
		}
	}
	memset(&v, 0, sizeof(v));
	v.has_private_key = dp->has_key;
	if (dp->has_key)
		memcpy(v.public_key, dp->local.pub, WG_KEY_LEN);
	v.npeers = dp->npeers;
	v.max_peers = dp->max_peers;
	v.aip_nodes = dp->aip.nodes;
	v.aip_nodes_max = dp->aip.max_nodes;
	v.peer_exists = uapi_peer_exists;
	return (uapi_set_check(s, &v, msg, msglen));
}

static int
uapi_set(struct uapi_set *s, char *msg, size_t msglen)
{
	struct dataplane	*dp = &env->dp;
	struct peer_desc	 pd;
	int			 err, announce = 0;
	size_t			 i;

	if ((err = uapi_set_precheck(s, msg, msglen)) != 0)
		return (err);
	if (s->has_listen_port && s->listen_port != dp->port) {
		if (dp_set_port(s->listen_port) == -1) {
			snprintf(msg, msglen, "cannot bind port %u",
			    s->listen_port);
			return (EADDRINUSE);
		}
		announce = 1;
	}
	if (s->has_private_key) {
		if (dp_set_private_key(s->private_key) == -1) {
			snprintf(msg, msglen, "private key unusable");
			return (EINVAL);
		}
		announce = 1;
	}
	if (s->has_fwmark)
		dp_set_fwmark(s->fwmark);
	if (s->replace_peers)
		peer_remove_all();

	for (i = 0; i < s->npeers; i++) {
		struct uapi_peer	*up = &s->peers[i];

		memset(&pd, 0, sizeof(pd));
		memcpy(pd.pub, up->public_key, WG_KEY_LEN);
		pd.source = PEER_SRC_UAPI;
		if (up->remove)
			pd.flags |= PD_REMOVE;
		if (up->update_only)
			pd.flags |= PD_UPDATE_ONLY;
		if (up->has_preshared_key) {
			pd.flags |= PD_HAS_PSK;
			memcpy(pd.psk, up->preshared_key, WG_KEY_LEN);
		}
		if (up->has_endpoint) {
			pd.flags |= PD_HAS_ENDPOINT;
			endpoint_from_sa(&pd.endpoint,
			    (struct sockaddr *)&up->endpoint);
		}
		if (up->replace_allowed_ips)
			pd.flags |= PD_REPLACE_AIPS;
		pd.aips = up->allowed_ips;
		pd.naips = up->nallowed_ips;
		if (up->has_persistent_keepalive) {
			pd.flags |= PD_HAS_KEEPALIVE;
			pd.keepalive = up->persistent_keepalive;
		}
		err = peer_apply(&pd, msg, msglen);
		explicit_bzero(&pd, sizeof(pd));
		if (err == -1) {
			/*
			 * Checked above: only memory can run out now, and
			 * what was applied stays.  Say so.
			 */
			log_warnx("uapi: set applied up to peer %zu of %zu: "
			    "%s", i, s->npeers, msg);
			err = ENOMEM;
			goto done;
		}
	}
	err = 0;
done:
	/* The children learn the new port or public key. */
	if (announce)
		parent_push_config();
	return (err);
}

/* ---- connection ----------------------------------------------------- */

static struct uapi_conn *
uapi_by_id(uint32_t id)
{
	struct uapi_conn	*c;

	TAILQ_FOREACH(c, &uapi_conns, entry)
		if (c->id == id)
			return (c);
	return (NULL);
}

static void
uapi_want_write(struct uapi_conn *c)
{
	event_del(&c->ev);
	event_set(&c->ev, c->fd, EV_WRITE | EV_PERSIST, uapi_io, c);
	event_add(&c->ev, NULL);
}

/* The engine's counters are fresh: answer the get that waited. */
static void
uapi_get_ready(uint32_t id)
{
	struct uapi_conn	*c;
	int			 err;

	if ((c = uapi_by_id(id)) == NULL || !c->waiting)
		return;		/* the asker left meanwhile */
	c->waiting = 0;
	if ((err = uapi_get(&c->out)) != 0)
		uapi_get_error(&c->out, err);
	uapi_want_write(c);
}

static void
uapi_request(struct uapi_conn *c, size_t reqlen)
{
	struct uapi_set	 set;
	char		 msg[UAPI_ERR_MAX];
	int		 err;

	uapi_buf_reset(&c->out);
	c->outoff = 0;
	if (c->rd.op == UAPI_OP_GET) {
		/* Nothing more is read until the reply is out. */
		c->waiting = 1;
		event_del(&c->ev);
		dp_sync(uapi_get_ready, c->id);
	} else {
		msg[0] = '\0';
		if ((err = uapi_set_parse(c->in, reqlen, &set, msg,
		    sizeof(msg))) == 0) {
			err = uapi_set(&set, msg, sizeof(msg));
			uapi_set_free(&set);
		}
		if (err != 0) {
			env->dp.uapi_refused++;
			log_warnx("uapi: set refused: %s", msg);
		}
		uapi_set_reply(&c->out, err);
	}
	/* The request is consumed; anything behind it is the next one. */
	memmove(c->in, c->in + reqlen, c->inlen - reqlen);
	explicit_bzero(c->in + c->inlen - reqlen, reqlen);
	c->inlen -= reqlen;
	uapi_reader_init(&c->rd);
}

static void
uapi_io(int fd, short event, void *arg)
{
	struct uapi_conn	*c = arg;
	size_t			 reqlen, ncap;
	ssize_t			 n;
	char			*nin;

	/* Finish writing the reply before reading the next request. */
	if (c->outoff < c->out.len) {
		n = write(c->fd, c->out.data + c->outoff,
		    c->out.len - c->outoff);
		if (n == -1 && errno != EAGAIN) {
			uapi_close(c);
			return;
		}
		if (n > 0)
			c->outoff += n;
		if (c->outoff < c->out.len)
			return;
		event_del(&c->ev);
		event_set(&c->ev, c->fd, EV_READ | EV_PERSIST, uapi_io, c);
		event_add(&c->ev, NULL);
	}
	if (event & EV_READ) {
		if (c->incap - c->inlen < UAPI_READ_CHUNK) {
			ncap = c->incap + UAPI_READ_CHUNK * 4;
			if (ncap > UAPI_MAX_REQUEST + UAPI_READ_CHUNK ||
			    (nin = recallocarray(c->in, c->incap, ncap,
			    1)) == NULL) {
				uapi_close(c);
				return;
			}
			c->in = nin;
			c->incap = ncap;
		}
		n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			uapi_close(c);
			return;
		}
		if (n > 0)
			c->inlen += n;
	}
	switch (uapi_reader_scan(&c->rd, c->in, c->inlen, &reqlen)) {
	case UAPI_READ_MORE:
		return;
	case UAPI_READ_ERROR:
		env->dp.uapi_refused++;
		log_warnx("uapi: malformed request: %s", strerror(c->rd.error));
		uapi_close(c);
		return;
	case UAPI_READ_DONE:
		break;
	}
	uapi_request(c, reqlen);
	if (!c->waiting && c->out.len > 0)
		uapi_want_write(c);
}
