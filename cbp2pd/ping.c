/*
 * cbp2pctl ping, the parent's side: the operator names a peer (key,
 * tunnel address or registry name), the engine sends one probe inside
 * the peer's session over the path its data takes, and the pong, or
 * the timeout here, goes back with the path it came by and its RTT.
 * A peer that is not cbp2p (wireguard-go, the kernel's WireGuard)
 * drops probes as it drops any packet that is not IP: the ping times
 * out although the session works, and cbp2pctl says so.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <event.h>
#include <string.h>

#include "cbp2pd.h"
#include "log.h"

#define PING_WAITS_MAX		64	/* pings in flight, all connections */
#define NSEC_PER_USEC		1000
#define MSEC_PER_SEC		1000
#define USEC_PER_MSEC		1000

struct ping_wait {
	int			 used;
	uint32_t		 conn;	/* the control connection's id */
	uint32_t		 tag;	/* this ping's, unique while in use */
	uint8_t			 pub[WG_KEY_LEN];
	struct ctl_ping		 reply;	/* what is known before the pong */
	struct event		 ev;
};

static struct ping_wait	 waits[PING_WAITS_MAX];
static uint32_t		 ping_tags;

/* The peer PEER names, or NULL with why in err. */
static struct ppeer *
ping_peer(const char *arg, const char **err)
{
	struct peer_arg	 pa;
	struct ppeer	*pp, *found = NULL;

	switch (peer_arg_parse(arg, &pa)) {
	case PEER_ARG_KEY:
		if ((found = ppeer_find(pa.key)) == NULL)
			*err = "no peer with that key";
		return (found);
	case PEER_ARG_ADDR:
		if ((found = wg_aip_lookup(&env->dp.aip, pa.af,
		    pa.addr)) == NULL)
			*err = "no peer's allowed IPs hold that address";
		return (found);
	case PEER_ARG_NAME:
		RB_FOREACH(pp, ppeer_tree, &env->dp.peers) {
			if (strcmp(pp->name, arg) != 0)
				continue;
			if (found != NULL) {
				*err = "several peers have that name: "
				    "give the key";
				return (NULL);
			}
			found = pp;
		}
		if (found == NULL)
			*err = "no peer of that name";
		return (found);
	case PEER_ARG_BAD:
		break;
	}
	*err = "not a key, an address or a peer's name";
	return (NULL);
}

static void
ping_answer(struct ping_wait *w)
{
	control_send(w->conn, IMSG_CTL_PING_REPLY, &w->reply,
	    sizeof(w->reply));
	event_del(&w->ev);
	w->used = 0;
}

static void
ping_timeout(int fd, short event, void *arg)
{
	struct ping_wait	*w = arg;

	w->reply.status = PING_TIMEOUT;
	ping_answer(w);
}

/*
 * A ping request of control connection conn; -1 with why in err when
 * it names no peer, else the reply comes later.
 */
int
ping_request(uint32_t conn, const struct ctl_ping_req *req, const char **err)
{
	struct ping_wait	*w = NULL;
	struct eng_ping		 ep;
	struct ctl_ping		 busy;
	struct ppeer		*pp;
	struct timeval		 tv;
	size_t			 i;

	if ((pp = ping_peer(req->peer, err)) == NULL)
		return (-1);
	for (i = 0; i < PING_WAITS_MAX && w == NULL; i++)
		if (!waits[i].used)
			w = &waits[i];
	if (w == NULL) {
		memset(&busy, 0, sizeof(busy));
		busy.seq = req->seq;
		busy.status = PING_BUSY;
		busy.rtt_us = -1;
		control_send(conn, IMSG_CTL_PING_REPLY, &busy, sizeof(busy));
		return (0);
	}
	memset(&w->reply, 0, sizeof(w->reply));
	w->used = 1;
	w->conn = conn;
	if (++ping_tags == 0)
		ping_tags = 1;
	w->tag = ping_tags;
	memcpy(w->pub, pp->wp.pub, WG_KEY_LEN);
	w->reply.seq = req->seq;
	w->reply.rtt_us = -1;
	wgkey_to_b64(w->reply.public_key, pp->wp.pub);
	strlcpy(w->reply.name, pp->name, sizeof(w->reply.name));
	evtimer_set(&w->ev, ping_timeout, w);
	tv.tv_sec = req->timeout_ms / MSEC_PER_SEC;
	tv.tv_usec = (req->timeout_ms % MSEC_PER_SEC) * USEC_PER_MSEC;
	evtimer_add(&w->ev, &tv);

	memset(&ep, 0, sizeof(ep));
	memcpy(ep.pub, pp->wp.pub, WG_KEY_LEN);
	ep.id = w - waits;
	ep.tag = w->tag;
	dp_send(IMSG_ENG_PING, &ep, sizeof(ep), -1);
	return (0);
}

/* The engine's answer: a pong, or why no ping went out. */
void
ping_result(const struct eng_ping *r)
{
	struct ping_wait	*w;

	if (r->id >= PING_WAITS_MAX || r->status < 0 ||
	    r->status >= PING_STATUS_MAX)
		fatalx("%s: bad ping result", __func__);
	w = &waits[r->id];
	if (!w->used || w->tag != r->tag ||
	    memcmp(r->pub, w->pub, WG_KEY_LEN) != 0)
		return;		/* timed out, or its asker left */
	w->reply.status = r->status;
	if (r->status == PING_OK) {
		w->reply.rtt_us = r->rtt_ns / NSEC_PER_USEC;
		w->reply.path = r->from.kind == EP_RELAY ? PATH_RELAY :
		    PATH_DIRECT;
		endpoint_format(&r->from, w->reply.endpoint,
		    sizeof(w->reply.endpoint));
	}
	ping_answer(w);
}

/* A control connection closed: its pings are nobody's. */
void
ping_conn_gone(uint32_t conn)
{
	size_t	 i;

	for (i = 0; i < PING_WAITS_MAX; i++)
		if (waits[i].used && waits[i].conn == conn) {
			event_del(&waits[i].ev);
			waits[i].used = 0;
		}
}
