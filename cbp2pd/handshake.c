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

static struct wg_peer *
lookup_by_pub(void *arg, const uint8_t pub[WG_KEY_LEN])
{
	struct ppeer	*pp;

	if ((pp = ppeer_find(pub)) == NULL || !pp->usable)
		return (NULL);
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
hs_fail(const struct eng_hs *in)
{
	struct eng_hs	 out;

	memset(&out, 0, sizeof(out));
	memcpy(out.pub, in->pub, WG_KEY_LEN);
	out.index = in->index;
	out.from_net = in->from_net;
	hs_reply(IMSG_ENG_HS_FAIL, &out);
}

/* A message 1 or 2 from the network, mac1 checked by the engine. */
void
hs_input(const struct eng_hs *in)
{
	struct dataplane	*dp = &env->dp;
	struct eng_hs		 out;
	struct wg_peer		*wp;
	struct ppeer		*pp;
	uint64_t		 now = dp_now();
	int			 type = wg_msg_type(in->msg, in->len);

	memset(&out, 0, sizeof(out));
	if (!dp->has_key)
		goto fail;
	if (type == WG_MSG_INITIATION) {
		if (wg_consume_initiation(&dp->local, in->msg, in->len, now,
		    lookup_by_pub, NULL, &wp) != WG_OK)
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
		if ((pp = ppeer_find(in->pub)) == NULL || !pp->usable ||
		    wg_consume_response(&dp->local, &pp->wp, in->msg,
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
	hs_fail(in);
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
		hs_fail(in);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	memset(&out, 0, sizeof(out));
	if (wg_create_initiation(&dp->local, &pp->wp, in->index, dp_now(),
	    &wall, out.msg) != WG_OK) {
		hs_fail(in);
		return;
	}
	memcpy(out.pub, pp->wp.pub, WG_KEY_LEN);
	out.index = in->index;
	out.len = WG_INITIATION_LEN;
	hs_reply(IMSG_ENG_HS_INITIATION, &out);
}
