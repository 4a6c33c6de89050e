/*
 * The parent's side of Noise_IKpsk2: the only code that uses the static
 * private key.  The engine forwards handshake messages whose mac1 (and
 * under load, cookie) it checked; here they are checked again, the DH,
 * TAI64N replay and flood rules run, and only the derived session keys
 * go back.  The engine picks local indices and writes the macs.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cbp2pd.h"
#include "log.h"

static uint64_t	 relay_key_refused;

/* What a handshake from the network is checked against, and why not. */
struct hs_lookup {
	const struct eng_hs	*in;
	int			 refused;	/* enum drop_reason */
};

/*
 * A handshake may be the peer's only if it came over the peer's path
 * and, relayed, as from the peer's own static key: the relay says which
 * key sent it, and it must be the key the message proves.  DROP_MAX
 * when it may.
 */
static int
hs_path_check(const struct ppeer *pp, const struct endpoint *ep)
{
	if (!endpoint_on_path(ep, pp->path))
		return (DROP_PATH);
	if (ep->kind == EP_RELAY &&
	    memcmp(ep->key, pp->wp.pub, WG_KEY_LEN) != 0)
		return (DROP_RELAY_KEY);
	return (DROP_MAX);
}

/*
 * The initiator's static key, just decrypted: checked before the
 * timestamp and flood state change, so a refused copy costs the real
 * one nothing.
 */
static struct wg_peer *
lookup_by_pub(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct hs_lookup	*l = arg;
	struct ppeer		*pp;

	if ((pp = ppeer_find(pub)) == NULL || !pp->usable)
		return (NULL);
	if ((l->refused = hs_path_check(pp, &l->in->ep)) != DROP_MAX)
		return (NULL);
	/*
	 * Our initiation is out and theirs crossed it: consuming theirs
	 * would void ours, and they void theirs by consuming ours.  The
	 * node with the lower key keeps its own; the other's response
	 * completes it.  A kernel or wireguard-go peer consumes both as
	 * before, and the 5 s retry sorts it out as it always did.
	 */
	if (pp->wp.hs.state == WG_HS_CREATED_INITIATION &&
	    dp_now() - pp->init_created < HS_CROSSING_NS &&
	    memcmp(env->dp.local.pub, pub, WG_KEY_LEN) < 0) {
		l->refused = DROP_HS_CROSSED;
		return (NULL);
	}
	return (&pp->wp);
}

static struct ppeer *
ppeer_of(struct wg_peer *wp)
{
	return ((struct ppeer *)((char *)wp - offsetof(struct ppeer, wp)));
}

void
hs_complete(struct ppeer *pp)
{
	clock_gettime(CLOCK_REALTIME, &pp->last_handshake);
	env->dp.handshakes++;
	control_event(EV_HANDSHAKE, pp, NULL, NULL, NULL);
}

static void
hs_reply(uint32_t type, struct eng_hs *out)
{
	dp_send(type, out, sizeof(*out), -1);
	explicit_bzero(out, sizeof(*out));
}

/*
 * Hand the engine a keypair; ours is dropped at once.  An initiator's
 * handshake is complete here; a responder's when the engine says its
 * keys carried the first packet (IMSG_ENG_HS_CONFIRMED).
 */
static void
hs_take_keys(struct ppeer *pp, const struct wg_keypair *kp,
    struct eng_hs *out)
{
	int	 initiator;

	memcpy(out->pub, pp->wp.pub, WG_KEY_LEN);
	out->has_keys = 1;
	memcpy(out->send_key, kp->send_key, WG_KEY_LEN);
	memcpy(out->recv_key, kp->recv_key, WG_KEY_LEN);
	out->remote_index = kp->remote_index;
	/* Keeps the timestamp and flood state; drops keys. */
	initiator = kp->initiator;
	wg_peer_zero_keys(&pp->wp);	/* kp too */
	if (initiator)
		hs_complete(pp);
}

static void
hs_fail(const struct eng_hs *in, int reason)
{
	struct eng_hs	 out;

	memset(&out, 0, sizeof(out));
	memcpy(out.pub, in->pub, WG_KEY_LEN);
	out.index = in->index;
	out.from_net = in->from_net;
	out.reason = reason;
	hs_reply(IMSG_ENG_HS_FAIL, &out);
}

/* A message 1 or 2 from the network, mac1 checked by the engine. */
void
hs_input(const struct eng_hs *in)
{
	struct dataplane	*dp = &env->dp;
	struct hs_lookup	 l;
	struct eng_hs		 out;
	struct wg_peer		*wp;
	struct ppeer		*pp;
	uint64_t		 now = dp_now();
	int			 type = wg_msg_type(in->msg, in->len);

	memset(&out, 0, sizeof(out));
	l.in = in;
	l.refused = DROP_HANDSHAKE;
	if (!dp->has_key)
		goto fail;
	if (type == WG_MSG_INITIATION) {
		if (wg_consume_initiation(&dp->local, in->msg, in->len, now,
		    lookup_by_pub, &l, &wp) != WG_OK)
			goto fail;
		pp = ppeer_of(wp);
		/* The engine writes the sender index it picks, and macs. */
		if (wg_create_response(&dp->local, wp, 0, now, out.msg) !=
		    WG_OK || wp->next == NULL)
			goto fail;
		out.len = WG_RESPONSE_LEN;
		out.from_net = 1;
		out.ep = in->ep;
		hs_take_keys(pp, wp->next, &out);
		hs_reply(IMSG_ENG_HS_RESPONSE, &out);
		return;
	}
	if (type == WG_MSG_RESPONSE) {
		if ((pp = ppeer_find(in->pub)) == NULL || !pp->usable)
			goto fail;
		if ((l.refused = hs_path_check(pp, &in->ep)) != DROP_MAX)
			goto fail;
		l.refused = DROP_HANDSHAKE;
		if (wg_consume_response(&dp->local, &pp->wp, in->msg,
		    in->len, now) != WG_OK || pp->wp.current == NULL)
			goto fail;
		out.index = in->index;
		out.from_net = 1;
		out.ep = in->ep;
		hs_take_keys(pp, pp->wp.current, &out);
		hs_reply(IMSG_ENG_HS_KEYS, &out);
		return;
	}
fail:
	/* The count is in the drops; the log says it the 1st, 2nd, 4th... */
	if (l.refused == DROP_RELAY_KEY)
		relay_key_refused++;
	if (l.refused == DROP_RELAY_KEY &&
	    (relay_key_refused & (relay_key_refused - 1)) == 0)
		log_warnx("handshake relayed as from a key that is not its "
		    "sender's: refused (%llu so far)",
		    (unsigned long long)relay_key_refused);
	hs_fail(in, l.refused == DROP_MAX ? DROP_HANDSHAKE : l.refused);
}

/* The engine's timers want an initiation, with the index it picked. */
void
hs_initiation_request(const struct eng_hs *in)
{
	struct dataplane	*dp = &env->dp;
	struct eng_hs		 out;
	struct ppeer		*pp;
	struct timespec		 wall;

	if (!dp->has_key || in->index == 0 ||
	    (pp = ppeer_find(in->pub)) == NULL || !pp->usable) {
		hs_fail(in, DROP_HANDSHAKE);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	memset(&out, 0, sizeof(out));
	if (wg_create_initiation(&dp->local, &pp->wp, in->index, dp_now(),
	    &wall, out.msg) != WG_OK) {
		hs_fail(in, DROP_HANDSHAKE);
		return;
	}
	pp->init_created = dp_now();
	memcpy(out.pub, pp->wp.pub, WG_KEY_LEN);
	out.index = in->index;
	out.len = WG_INITIATION_LEN;
	hs_reply(IMSG_ENG_HS_INITIATION, &out);
}
