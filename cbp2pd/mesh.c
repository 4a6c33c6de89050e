/*
 * The parent's side of cbmeshd: hybrid peers' health goes from the
 * engine to cbmeshd, cbmeshd's path choices come back, are checked
 * against policy and go to the engine.  Every switch is logged with
 * its reason and counted; when no peer has a direct path the node says
 * so once, keeps its configuration and keeps probing.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <string.h>

#include "cbp2pd.h"
#include "log.h"

static void
mesh_send(uint32_t type, const void *data, size_t len)
{
	if (imsg_compose_event(&env->children[PROC_MESH].iev, type, 0, 0, -1,
	    data, len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

/* A peer's path as policy sets it, before cbmeshd says anything. */
void
mesh_peer_init(struct ppeer *pp)
{
	pp->active = pp->path == PATH_RELAY ? PATH_RELAY : PATH_DIRECT;
	pp->reason = PR_NONE;
	if (pp->path == PATH_RELAY)
		pp->reason = PR_POLICY;
	else if (pp->path == PATH_HYBRID) {
		pp->active = PATH_RELAY;
		pp->reason = PR_PROBING;
	}
}

void
mesh_peer_gone(const struct ppeer *pp)
{
	if (pp->path == PATH_HYBRID)
		mesh_send(IMSG_MESH_PEER_DEL, pp->wp.pub, WG_KEY_LEN);
}

/*
 * Whether the node runs on the relay only: hybrid peers exist, some
 * carried traffic, and none of those has a direct path.  Said once on
 * each change, in the log and in status.
 */
static void
mesh_fallback_check(void)
{
	struct ppeer	*pp;
	int		 relayed = 0, direct = 0, was = env->p2p_unavailable;

	RB_FOREACH(pp, ppeer_tree, &env->dp.peers) {
		if (pp->path != PATH_HYBRID || pp->reason == PR_PROBING)
			continue;
		if (pp->active == PATH_DIRECT)
			direct++;
		else
			relayed++;
	}
	env->p2p_unavailable = relayed > 0 && direct == 0;
	if (env->p2p_unavailable && !was)
		log_warnx("no direct path to any peer: %d peer%s on the "
		    "relay %s; configuration kept, direct paths retried",
		    relayed, relayed == 1 ? "" : "s", env->conf.relay);
	else if (!env->p2p_unavailable && was)
		log_info("direct paths work again (%d peer%s direct)", direct,
		    direct == 1 ? "" : "s");
}

/*
 * The engine measured a hybrid peer: keep it for status and pass it to
 * cbmeshd with what only the parent knows (whether UDP gets out, which
 * NATs map per destination).  The NATs only explain: cbmeshd moves a
 * peer on what its probes show, whatever the NATs are said to be.
 */
void
mesh_health(const struct path_health *in)
{
	struct path_health	 h = *in;
	struct ppeer		*pp;

	if ((pp = ppeer_find(h.pub)) == NULL || pp->path != PATH_HYBRID)
		return;		/* removed or re-pathed meanwhile */
	h.udp_blocked = env->dp.has_stun &&
	    env->dp.stun_unanswered >= STUN_BLOCKED_AFTER;
	h.nat_local_symmetric = env->dp.nat_mapping == NAT_MAP_SYMMETRIC;
	h.nat_remote_symmetric = pp->nat == NAT_MAP_SYMMETRIC;
	pp->health = h;
	mesh_send(IMSG_MESH_HEALTH, &h, sizeof(h));
}

/*
 * Our NAT's mapping changed (only NULL), or a peer's: cbmeshd hears it
 * now with the peer's last measurement, not at the engine's next
 * report, which a relayed peer's slow direct retries may hold back for
 * many seconds.  The measurement is the same, so only the reason moves.
 */
void
mesh_nat_changed(const struct ppeer *only)
{
	struct ppeer	*pp;

	RB_FOREACH(pp, ppeer_tree, &env->dp.peers) {
		if ((only != NULL && pp != only) ||
		    pp->path != PATH_HYBRID || pp->health.now == 0 ||
		    memcmp(pp->health.pub, pp->wp.pub, WG_KEY_LEN) != 0)
			continue;
		mesh_health(&pp->health);
	}
}

/* cbmeshd's choice: only for a hybrid peer, only a path it may use. */
static int
mesh_path(const struct mesh_path *mp)
{
	struct eng_active	 ea;
	struct ppeer		*pp;

	if ((mp->active != PATH_DIRECT && mp->active != PATH_RELAY) ||
	    mp->reason < 0 || mp->reason >= PR_MAX ||
	    (mp->active == PATH_DIRECT) != (mp->reason == PR_NONE) ||
	    mp->reason == PR_POLICY)
		return (-1);
	if ((pp = ppeer_find(mp->pub)) == NULL || pp->path != PATH_HYBRID)
		return (0);	/* gone meanwhile: nothing to do */
	if (mp->active != pp->active) {
		pp->switches++;
		env->path_switches[mp->reason]++;
		if (mp->active == PATH_DIRECT)
			log_info("peer %s: path relay -> direct",
			    ppeer_name(pp));
		else
			log_info("peer %s: path direct -> relay (%s)",
			    ppeer_name(pp), path_reason_name(mp->reason));
		control_event(EV_PATH, pp, peer_path_name(mp->active),
		    mp->active == PATH_DIRECT ? NULL :
		    path_reason_name(mp->reason), mp->active == PATH_DIRECT ?
		    "relay -> direct" : "direct -> relay");
		memset(&ea, 0, sizeof(ea));
		memcpy(ea.pub, pp->wp.pub, WG_KEY_LEN);
		ea.active = mp->active;
		dp_send(IMSG_ENG_PEER_ACTIVE, &ea, sizeof(ea), -1);
	} else if (mp->reason != pp->reason)
		log_info("peer %s: relayed: %s", ppeer_name(pp),
		    path_reason_name(mp->reason));
	pp->active = mp->active;
	pp->reason = mp->reason;
	mesh_fallback_check();
	return (0);
}

int
mesh_dispatch(struct cbp2pd_child *ch, struct imsg *imsg)
{
	struct mesh_path	 mp;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;

	if (ch->id != PROC_MESH)
		return (0);
	switch (imsg->hdr.type) {
	case IMSG_MESH_PATH:
		if (len != sizeof(mp)) {
			env->mesh_refused++;
			log_warnx("cbmeshd: path choice of bad length %zu", len);
			return (1);
		}
		memcpy(&mp, imsg->data, sizeof(mp));
		if (mesh_path(&mp) == -1) {
			env->mesh_refused++;
			log_warnx("cbmeshd: path %d reason %d refused",
			    mp.active, mp.reason);
		}
		return (1);
	}
	return (0);
}
