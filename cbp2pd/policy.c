/*
 * The parent's peers and the one way to change them.  The token's static
 * peers, discovery and wg set each describe a change as a struct
 * peer_desc and call peer_apply(), which updates the parent's record
 * (the handshake state, the prefixes each peer owns) and tells the
 * engine what it needs to carry packets.  Each peer records who made it.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cbp2pd.h"
#include "log.h"

int
ppeer_cmp(struct ppeer *a, struct ppeer *b)
{
	return (memcmp(a->wp.pub, b->wp.pub, WG_KEY_LEN));
}

RB_GENERATE(ppeer_tree, ppeer, entry, ppeer_cmp);

const char *
ppeer_name(const struct ppeer *pp)
{
	static char	 b64[WG_KEY_B64_LEN + 1];

	wgkey_to_b64(b64, pp->wp.pub);
	b64[8] = '\0';		/* a short prefix names a peer in logs */
	return (b64);
}

/* Where a peer came from, for people. */
const char *
peer_source_name(enum peer_source s)
{
	switch (s) {
	case PEER_SRC_TOKEN:
		return ("from the token");
	case PEER_SRC_DISCO:
		return ("from the registry");
	case PEER_SRC_UAPI:
		return ("by wg set");
	}
	return ("");
}

struct ppeer *
ppeer_find(const uint8_t *pub)
{
	struct ppeer	 key;

	memcpy(key.wp.pub, pub, WG_KEY_LEN);
	return (RB_FIND(ppeer_tree, &env->dp.peers, &key));
}

/*
 * The static DH of a peer under the current private key.  Without a
 * key, or for a low-order public key, the peer exists but cannot
 * handshake.
 */
void
ppeer_rekey(struct ppeer *pp)
{
	struct dataplane	*dp = &env->dp;
	uint8_t			 pub[WG_KEY_LEN], psk[WG_KEY_LEN];
	uint8_t			 ts[WG_TIMESTAMP_LEN];

	memcpy(pub, pp->wp.pub, WG_KEY_LEN);
	memcpy(psk, pp->wp.psk, WG_KEY_LEN);
	memcpy(ts, pp->wp.latest_timestamp, sizeof(ts));
	wg_peer_clear(&pp->wp);
	pp->usable = dp->has_key && wg_peer_init(&pp->wp, &dp->local, pub,
	    psk) == WG_OK;
	if (!pp->usable && wg_peer_init_public(&pp->wp, &dp->local,
	    pub) != WG_OK)
		fatalx("%s: cannot derive a peer's keys", __func__);
	memcpy(pp->wp.psk, psk, WG_KEY_LEN);
	/* Initiations replayed from before the change stay refused. */
	memcpy(pp->wp.latest_timestamp, ts, sizeof(ts));
	sodium_memzero(psk, sizeof(psk));
}

/* max_peers as a token sets it: never fewer than its static peers. */
static unsigned int
peer_max(const struct token *t)
{
	unsigned int	 max;

	max = t->max_peers > t->npeers ? t->max_peers : t->npeers;
	return (max > CFG_MAX_PEERS_CAP ? CFG_MAX_PEERS_CAP : max);
}

void
peer_set_max(const struct token *t)
{
	env->dp.max_peers = peer_max(t);
}

static void
ppeer_remove(struct ppeer *pp)
{
	struct dataplane	*dp = &env->dp;

	log_info("peer %s removed", ppeer_name(pp));
	if (pp->source == PEER_SRC_DISCO)
		env->disco_removed++;
	control_event(EV_PEER_REMOVED, pp, NULL, NULL, NULL);
	dp_send(IMSG_ENG_PEER_DEL, pp->wp.pub, WG_KEY_LEN, -1);
	mesh_peer_gone(pp);
	wg_aip_remove_peer(&dp->aip, pp);
	wg_peer_clear(&pp->wp);
	RB_REMOVE(ppeer_tree, &dp->peers, pp);
	dp->npeers--;
	freezero(pp, sizeof(*pp));
}

void
peer_remove_all(void)
{
	struct ppeer	*pp, *tmp;

	RB_FOREACH_SAFE(pp, ppeer_tree, &env->dp.peers, tmp)
		ppeer_remove(pp);
}

static struct ppeer *
ppeer_create(const struct peer_desc *pd, char *err, size_t errlen)
{
	struct dataplane	*dp = &env->dp;
	struct ppeer		*pp;

	if (dp->npeers >= dp->max_peers) {
		snprintf(err, errlen, "peer limit %u reached", dp->max_peers);
		return (NULL);
	}
	if (dp->has_key && memcmp(pd->pub, dp->local.pub, WG_KEY_LEN) == 0) {
		snprintf(err, errlen, "peer is this node's own key");
		return (NULL);
	}
	if ((pp = calloc(1, sizeof(*pp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	memcpy(pp->wp.pub, pd->pub, WG_KEY_LEN);
	ppeer_rekey(pp);
	if (dp->has_key && !pp->usable) {
		freezero(pp, sizeof(*pp));
		snprintf(err, errlen, "public key is not usable");
		return (NULL);
	}
	pp->source = pd->source;
	RB_INSERT(ppeer_tree, &dp->peers, pp);
	dp->npeers++;
	log_info("peer %s added", ppeer_name(pp));
	return (pp);
}

/* The prefixes go to the engine in chunks; the first may replace. */
static void
send_aips(const struct ppeer *pp, int replace, const struct cidr *aips,
    size_t n)
{
	struct eng_aips	 ea;
	size_t		 i = 0, k;

	do {
		memset(&ea, 0, sizeof(ea));
		memcpy(ea.pub, pp->wp.pub, WG_KEY_LEN);
		ea.replace = replace;
		for (k = 0; k < ENG_AIPS_CHUNK && i < n; k++, i++)
			ea.aips[k] = aips[i];
		ea.n = k;
		dp_send(IMSG_ENG_PEER_AIPS, &ea, sizeof(ea), -1);
		replace = 0;
	} while (i < n);
}

/*
 * Apply one change to one peer.  A discovered change never touches a
 * peer the token or wg set made: their word stands.  Returns -1 with
 * err set when the peer cannot be made.
 */
int
peer_apply(const struct peer_desc *pd, char *err, size_t errlen)
{
	static const uint8_t	 zero[WG_KEY_LEN];
	struct dataplane	*dp = &env->dp;
	struct eng_peer		 ep;
	struct ppeer		*pp;
	size_t			 i;
	int			 created = 0, repath = 0;

	pp = ppeer_find(pd->pub);
	if (pd->flags & PD_REMOVE) {
		if (pp != NULL && (pd->source != PEER_SRC_DISCO ||
		    pp->source == PEER_SRC_DISCO))
			ppeer_remove(pp);
		return (0);
	}
	if (pp == NULL) {
		if (pd->flags & PD_UPDATE_ONLY)
			return (0);
		if ((pp = ppeer_create(pd, err, errlen)) == NULL)
			return (-1);
		created = 1;
		relay_presence_ask(pp);
	} else if (pd->source == PEER_SRC_DISCO &&
	    pp->source != PEER_SRC_DISCO)
		return (0);
	else if (pd->source == PEER_SRC_TOKEN)
		pp->source = PEER_SRC_TOKEN;

	if (pd->flags & PD_HAS_NAME)
		strlcpy(pp->name, pd->name, sizeof(pp->name));
	if (pd->flags & PD_HAS_PSK) {
		pp->has_psk = sodium_memcmp(pd->psk, zero, WG_KEY_LEN) != 0;
		memcpy(pp->wp.psk, pd->psk, WG_KEY_LEN);
	}
	memset(&ep, 0, sizeof(ep));
	memcpy(ep.pub, pd->pub, WG_KEY_LEN);
	/* The path first: it decides what else the engine may have. */
	if (created || ((pd->flags & PD_HAS_PATH) && pd->path != pp->path)) {
		/* cbmeshd forgets a peer that leaves hybrid. */
		if (!created)
			mesh_peer_gone(pp);
		pp->path = created && !(pd->flags & PD_HAS_PATH) ?
		    relay_path_of(pp->source) : pd->path;
		mesh_peer_init(pp);
		ep.flags |= ENG_PEER_PATH;
		ep.path = pp->path;
		repath = 1;
		if (!created)
			log_info("peer %s: path %s", ppeer_name(pp),
			    peer_path_name(pp->path));
	}
	/* What a direct path uses is kept, also while relayed. */
	if ((pd->flags & PD_HAS_ENDPOINT) &&
	    (pd->endpoint.kind == EP_UDP4 || pd->endpoint.kind == EP_UDP6))
		pp->udp_endpoint = pd->endpoint;
	if (pd->flags & PD_HAS_CANDIDATES) {
		pp->ncand = pd->ncand > DISCO_ENDPOINTS_MAX ?
		    DISCO_ENDPOINTS_MAX : pd->ncand;
		memcpy(pp->cand, pd->cand, pp->ncand * sizeof(pp->cand[0]));
	}
	if (pp->path == PATH_RELAY) {
		/* Its key is its endpoint; the engine gets no UDP address. */
		if (repath) {
			ep.flags |= ENG_PEER_ENDPOINT;
			endpoint_relay(&ep.endpoint, pp->wp.pub);
			pp->endpoint = ep.endpoint;
		}
		if ((pd->flags & PD_HAS_ENDPOINT) &&
		    pd->source == PEER_SRC_UAPI)
			log_info("peer %s is relayed: its endpoint is kept "
			    "for a direct path", ppeer_name(pp));
	} else {
		if ((pd->flags & PD_HAS_ENDPOINT) ||
		    (repath && pp->udp_endpoint.kind != EP_NONE)) {
			ep.flags |= ENG_PEER_ENDPOINT;
			ep.endpoint = pp->udp_endpoint;
			pp->endpoint = pp->udp_endpoint;
		}
		if ((pd->flags & PD_HAS_CANDIDATES) ||
		    (repath && pp->ncand > 0)) {
			ep.flags |= ENG_PEER_CANDIDATES;
			ep.ncand = pp->ncand;
			memcpy(ep.cand, pp->cand,
			    ep.ncand * sizeof(ep.cand[0]));
		}
	}
	if (pd->flags & PD_HAS_KEEPALIVE) {
		ep.flags |= ENG_PEER_KEEPALIVE;
		ep.keepalive = pd->keepalive;
		pp->keepalive = pd->keepalive;
	}
	if (created || ep.flags != 0)
		dp_send(IMSG_ENG_PEER_SET, &ep, sizeof(ep), -1);

	if (pd->flags & PD_REPLACE_AIPS)
		wg_aip_remove_peer(&dp->aip, pp);
	for (i = 0; i < pd->naips; i++) {
		if (wg_aip_insert(&dp->aip, pd->aips[i].af, pd->aips[i].addr,
		    pd->aips[i].plen, pp) != WG_OK) {
			snprintf(err, errlen, "allowed IPs limit");
			send_aips(pp, pd->flags & PD_REPLACE_AIPS, pd->aips, i);
			return (-1);
		}
	}
	if ((pd->flags & PD_REPLACE_AIPS) || pd->naips > 0)
		send_aips(pp, pd->flags & PD_REPLACE_AIPS, pd->aips,
		    pd->naips);
	if (created) {
		if (pp->source == PEER_SRC_DISCO)
			env->disco_added++;
		control_event(EV_PEER_ADDED, pp, peer_path_name(pp->path),
		    NULL, peer_source_name(pp->source));
	}
	return (0);
}

/* Resolve "host:port" or "[v6]:port" from the token. */
static int
endpoint_resolve(const char *hostport, struct endpoint *ep)
{
	struct sockaddr_storage	 ss;

	if (hostport_resolve(hostport, NULL, &ss, NULL, 0) == -1)
		return (-1);
	endpoint_from_sa(ep, (struct sockaddr *)&ss);
	return (ep->kind == EP_NONE ? -1 : 0);
}

/* Everything about the token's peers that could fail, changing nothing. */
int
peer_check_static(const struct token *t, char *err, size_t errlen)
{
	struct endpoint	 ep;
	struct ppeer	*pp;
	size_t		 i, others = 0;

	for (i = 0; i < t->npeers; i++) {
		if (t->peers[i].endpoint[0] != '\0' &&
		    endpoint_resolve(t->peers[i].endpoint, &ep) == -1) {
			snprintf(err, errlen, "peer endpoint %s does not "
			    "resolve", t->peers[i].endpoint);
			return (-1);
		}
	}
	/* The peers wg set or discovery made stay: the token's must fit. */
	RB_FOREACH(pp, ppeer_tree, &env->dp.peers) {
		if (pp->source == PEER_SRC_TOKEN)
			continue;
		for (i = 0; i < t->npeers; i++)
			if (memcmp(pp->wp.pub, t->peers[i].public_key,
			    WG_KEY_LEN) == 0)
				break;
		if (i == t->npeers)
			others++;
	}
	if (others + t->npeers > peer_max(t)) {
		snprintf(err, errlen, "peer limit %u: %zu static peers and "
		    "%zu others", peer_max(t), t->npeers, others);
		return (-1);
	}
	return (0);
}

/*
 * Make the static peers match the token's: add new ones, update changed
 * ones, remove those the token no longer names.  Endpoints are resolved
 * first, so a name that does not resolve changes nothing.  Peers added
 * by wg set or discovery are left alone.
 */
int
peer_sync_static(const struct token *t, char *err, size_t errlen)
{
	struct endpoint		*eps;
	struct peer_desc	 pd;
	struct ppeer		*pp, *tmp;
	size_t			 i;
	int			 keep, rc = -1;

	if ((eps = calloc(t->npeers + 1, sizeof(*eps))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	for (i = 0; i < t->npeers; i++) {
		if (t->peers[i].endpoint[0] != '\0' &&
		    endpoint_resolve(t->peers[i].endpoint, &eps[i]) == -1) {
			snprintf(err, errlen, "peer endpoint %s does not "
			    "resolve", t->peers[i].endpoint);
			goto done;
		}
	}
	peer_set_max(t);
	RB_FOREACH_SAFE(pp, ppeer_tree, &env->dp.peers, tmp) {
		if (pp->source != PEER_SRC_TOKEN)
			continue;
		for (keep = 0, i = 0; i < t->npeers && !keep; i++)
			keep = memcmp(pp->wp.pub, t->peers[i].public_key,
			    WG_KEY_LEN) == 0;
		if (!keep)
			ppeer_remove(pp);
	}
	for (i = 0; i < t->npeers; i++) {
		const struct static_peer	*sp = &t->peers[i];

		memset(&pd, 0, sizeof(pd));
		memcpy(pd.pub, sp->public_key, WG_KEY_LEN);
		pd.source = PEER_SRC_TOKEN;
		pd.flags = PD_HAS_PSK | PD_HAS_KEEPALIVE | PD_REPLACE_AIPS;
		if (sp->has_psk)
			memcpy(pd.psk, sp->preshared_key, WG_KEY_LEN);
		if (eps[i].kind != EP_NONE) {
			pd.flags |= PD_HAS_ENDPOINT;
			pd.endpoint = eps[i];
		}
		pd.keepalive = sp->persistent_keepalive;
		pd.aips = sp->allowed_ips;
		pd.naips = sp->nallowed_ips;
		if (peer_apply(&pd, err, errlen) == -1)
			goto done;
	}
	rc = 0;
done:
	explicit_bzero(&pd, sizeof(pd));
	free(eps);
	return (rc);
}

static void	peer_path_info(const struct ppeer *, struct ctl_peer *,
		    uint64_t);

void
peer_info(const struct ppeer *pp, struct ctl_peer *cp)
{
	memset(cp, 0, sizeof(*cp));
	wgkey_to_b64(cp->public_key, pp->wp.pub);
	/* A relayed peer has no address: its path and the relay say where. */
	if (pp->endpoint.kind != EP_RELAY)
		endpoint_format(&pp->endpoint, cp->endpoint,
		    sizeof(cp->endpoint));
	cp->path = pp->path;
	if (pp->path == PATH_RELAY || pp->path == PATH_HYBRID)
		strlcpy(cp->relay, env->conf.relay, sizeof(cp->relay));
	cp->has_psk = pp->has_psk;
	cp->from_token = pp->source == PEER_SRC_TOKEN;
	cp->keepalive = pp->keepalive;
	cp->last_handshake = pp->last_handshake.tv_sec;
	cp->rx_bytes = pp->rx_bytes;
	cp->tx_bytes = pp->tx_bytes;
	cp->rx_packets = pp->rx_packets;
	cp->tx_packets = pp->tx_packets;
	strlcpy(cp->name, pp->name, sizeof(cp->name));
	cp->relay_presence = pp->relay_presence;
	cp->relay_since = pp->relay_since;
	cp->nat = pp->nat;
	peer_path_info(pp, cp, dp_now());
}

static void
path_info(const struct path_obs *o, struct ctl_path *cp, uint64_t now)
{
	cp->rtt_us = o->rtt_ns != 0 ? (int64_t)(o->rtt_ns / 1000) : -1;
	cp->last_rx_ms = o->last_rx != 0 && now >= o->last_rx ?
	    (int64_t)((now - o->last_rx) / 1000000) : -1;
	cp->loss_pct = o->loss_pct;
	cp->probes = o->probes;
}

/*
 * The path a peer's packets take and why.  Hybrid: cbmeshd's choice.
 * Direct or relayed by policy: working once a session exists; a direct
 * peer without one says why not.
 */
static void
peer_path_info(const struct ppeer *pp, struct ctl_peer *cp, uint64_t now)
{
	cp->routing = pp->path;
	cp->active = pp->active;
	cp->reason = pp->reason;
	cp->switches = pp->switches;
	cp->has_path = pp->has_session;
	cp->rtt_us = pp->hs_rtt != 0 ? (int64_t)(pp->hs_rtt / 1000) : -1;
	path_info(&pp->health.direct, &cp->direct, now);
	path_info(&pp->health.relay, &cp->relayed, now);
	switch (pp->path) {
	case PATH_HYBRID:
		if (pp->active == PATH_DIRECT && cp->direct.rtt_us != -1)
			cp->rtt_us = cp->direct.rtt_us;
		else if (pp->active == PATH_RELAY && cp->relayed.rtt_us != -1)
			cp->rtt_us = cp->relayed.rtt_us;
		break;
	case PATH_DIRECT:
		/* A session without an endpoint carries nothing. */
		if (pp->has_session && pp->endpoint.kind != EP_NONE)
			break;
		cp->has_path = 0;
		if (pp->udp_endpoint.kind == EP_NONE && pp->ncand == 0)
			cp->reason = PR_NO_CANDIDATE;
		else if (pp->hs_attempts > 0)
			cp->reason = PR_DIRECT_TIMEOUT;
		else
			cp->reason = PR_PROBING;
		break;
	default:
		break;
	}
}
