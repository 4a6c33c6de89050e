/*
 * The parent's side of discovery: it tells cbdiscod what it needs
 * (addresses resolved, the CA and the registry token read from files the
 * child cannot open), asks the edge for our reflexive address over the
 * WireGuard socket, and configures the peers cbdiscod reports after
 * checking every one of them.  From the edge's answers on its two STUN
 * ports it learns our NAT's mapping, which cbdiscod publishes and which,
 * with each peer's, explains (never decides) why a peer is relayed.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cbp2pd.h"
#include "log.h"

#define PERSISTENT_KEEPALIVE	25	/* seconds, for mesh_config.persistent */
#define HTTPS_PORT		"443"
#define STUN_PORT		"3478"
#define DISCO_KEY_LOG_LEN	8	/* base64 characters of a key logged */

/* Our addresses on this host's interfaces, the tunnel's excepted. */
static void
local_endpoints(struct disco_conf *dc, uint16_t port)
{
	struct ifaddrs	*ifa, *i;
	struct sockaddr_in6 *sin6;

	if (getifaddrs(&ifa) == -1) {
		log_warn("%s: getifaddrs", __func__);
		return;
	}
	for (i = ifa; i != NULL && dc->nendpoints < DISCO_ENDPOINTS_MAX;
	    i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK) ||
		    !(i->ifa_flags & IFF_UP) ||
		    strcmp(i->ifa_name, env->conf.ifname) == 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(&dc->endpoints[dc->nendpoints], i->ifa_addr,
			    sizeof(struct sockaddr_in));
			((struct sockaddr_in *)&dc->endpoints[
			    dc->nendpoints])->sin_port = htons(port);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			sin6 = (struct sockaddr_in6 *)i->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
				continue;
			memcpy(&dc->endpoints[dc->nendpoints], sin6,
			    sizeof(*sin6));
			((struct sockaddr_in6 *)&dc->endpoints[
			    dc->nendpoints])->sin6_port = htons(port);
		} else
			continue;
		dc->nendpoints++;
	}
	freeifaddrs(ifa);
}

/* A small file the children may not open (a CA), read whole. */
int
parent_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    (size_t)st.st_size > max || (*out = malloc(st.st_size)) == NULL) {
		close(fd);
		errno = EFBIG;
		return (-1);
	}
	if ((n = read(fd, *out, st.st_size)) != st.st_size) {
		free(*out);
		close(fd);
		errno = EIO;
		return (-1);
	}
	close(fd);
	*len = n;
	return (0);
}

static void
disco_send(uint32_t type, const void *data, size_t len)
{
	if (imsg_compose_event(&env->children[PROC_DISCO].iev, type, 0, 0,
	    -1, data, len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

static void	stun_reset(void);

/*
 * The discovery transaction: config, CA, token, allowed peers, done.
 * Discovery is off unless the token is a p2p-mesh or client-server one
 * (a client's peers come from the registry too) with auto_discovery
 * and a registry token, and an edge registry is set.  When every peer
 * is relayed, the node announces no UDP endpoint and asks no STUN: no
 * peer has any use for them.
 */
void
disco_push_config(void)
{
	const struct cbp2p_config	*c = &env->conf;
	const struct token		*t = &c->tok;
	struct disco_conf		 dc;
	struct sockaddr_storage		 stun;
	char				 auth[HOSTPORT_MAX];
	char				*ca = NULL;
	size_t				 calen = 0, i, n;

	memset(&dc, 0, sizeof(dc));
	memset(&stun, 0, sizeof(stun));
	if (c->stun[0] != '\0' && relay_path_for(c) != PATH_RELAY) {
		if (hostport_resolve(c->stun, STUN_PORT, &stun, NULL, 0) == 0)
			dc.has_stun = 1;
		else
			log_warnx("discovery: stun %s does not resolve",
			    c->stun);
	}
	/* Another server, or none: what the old one taught is forgotten. */
	if (!dc.has_stun || !env->dp.has_stun ||
	    sockaddr_cmp(&stun, &env->dp.stun_server) != 0)
		stun_reset();
	env->dp.has_stun = dc.has_stun;
	env->dp.stun_server = stun;
	dc.enabled = (t->conn_type == CONN_P2P_MESH ||
	    t->conn_type == CONN_CLIENT_SERVER) && t->auto_discovery &&
	    c->registry[0] != '\0' && t->registry_token != NULL &&
	    strlen(t->registry_token) < DISCO_TOKEN_MAX &&
	    !env->token_expired;
	dc.token_expired = env->token_expired;
	if (dc.enabled && c->verify_key_len > DISCO_KEY_MAX) {
		log_warnx("discovery: verify_key over %d bytes, too large to "
		    "check peers' tokens with; discovery off", DISCO_KEY_MAX);
		dc.enabled = 0;
	}
	if (dc.enabled && (url_https_authority(c->registry, auth,
	    sizeof(auth)) == -1 || hostport_resolve(auth, HTTPS_PORT,
	    &dc.registry, dc.registry_host, sizeof(dc.registry_host)) == -1)) {
		log_warnx("discovery: registry %s does not resolve; "
		    "discovery off", c->registry);
		dc.enabled = 0;
	}
	if (dc.enabled && c->ca_file[0] != '\0' && parent_read_file(c->ca_file,
	    DISCO_CA_MAX, &ca, &calen) == -1) {
		log_warn("discovery: CA %s; discovery off", c->ca_file);
		dc.enabled = 0;
	}
	if (env->token_expired)
		log_warnx("discovery off: the token expired");
	else if (t->conn_type != CONN_SERVER_SERVER && !dc.enabled)
		log_warnx("discovery off: needs edge.registry, edge.ca and "
		    "a token with auto_discovery and a registry_token");
	if (gethostname(dc.hostname, sizeof(dc.hostname)) == -1)
		strlcpy(dc.hostname, "cbp2p", sizeof(dc.hostname));
	dc.subnet = t->subnet.af != 0 ? t->subnet : t->address;
	for (i = 0; i < t->nallowed_ips && i < DISCO_AIPS_MAX; i++)
		dc.allowed_ips[dc.nallowed_ips++] = t->allowed_ips[i];
	if (dc.nallowed_ips == 0) {
		dc.allowed_ips[0] = t->address;
		dc.allowed_ips[0].plen = t->address.af == AF_INET ? 32 : 128;
		dc.nallowed_ips = 1;
	}
	if (relay_path_for(c) != PATH_RELAY)
		local_endpoints(&dc, env->dp.port);
	dc.keepalive = t->persistent ? PERSISTENT_KEEPALIVE : 0;
	dc.verify_alg = c->verify_alg;
	strlcpy(dc.issuer, c->issuer, sizeof(dc.issuer));
	strlcpy(dc.audience, c->audience, sizeof(dc.audience));
	env->disco_enabled = dc.enabled;

	disco_send(IMSG_CFG_DISCO, &dc, sizeof(dc));
	if (ca != NULL) {
		disco_send(IMSG_CFG_DISCO_CA, ca, calen);
		free(ca);
	}
	if (dc.enabled) {
		disco_send(IMSG_CFG_DISCO_TOKEN, t->registry_token,
		    strlen(t->registry_token));
		/* Each peer entry carries a token this key must verify. */
		disco_send(IMSG_CFG_DISCO_KEY, c->verify_key,
		    c->verify_key_len);
	}
	for (i = 0; i < t->nallowed_peers; i += n) {
		n = t->nallowed_peers - i;
		if (n > DISCO_ALLOWED_CHUNK)
			n = DISCO_ALLOWED_CHUNK;
		disco_send(IMSG_CFG_DISCO_ALLOWED, t->allowed_peers[i],
		    n * WG_KEY_LEN);
	}
	disco_send(IMSG_CFG_DISCO_DONE, NULL, 0);
	/* cbdiscod keeps what it was last told; a new one knows nothing. */
	disco_send(IMSG_DISCO_NAT, &env->dp.nat_mapping,
	    sizeof(env->dp.nat_mapping));
}

/* ---- STUN over the WireGuard socket --------------------------------- */

/* Our NAT's mapping changed: cbdiscod publishes it, cbmeshd hears it. */
static void
nat_set(int m)
{
	struct dataplane	*d = &env->dp;
	char			 a[HOSTPORT_MAX], b[HOSTPORT_MAX];
	char			 seen[2 * HOSTPORT_MAX + sizeof("seen at  and ")];

	if (m == d->nat_mapping)
		return;
	seen[0] = '\0';
	if (m == NAT_MAP_UNKNOWN)
		log_info("stun: our NAT's mapping is unknown again");
	else if (sockaddr_format((const struct sockaddr *)&d->stun_mapped[
	    STUN_SLOT_PRIMARY], a, sizeof(a)) == 0 &&
	    sockaddr_format((const struct sockaddr *)&d->stun_mapped[
	    STUN_SLOT_ALT], b, sizeof(b)) == 0) {
		log_info("stun: the edge's two ports see us at %s and %s: "
		    "our NAT's mapping is %s", a, b, nat_mapping_name(m));
		snprintf(seen, sizeof(seen), "seen at %s and %s", a, b);
	}
	d->nat_mapping = m;
	control_event(EV_NAT, NULL, nat_mapping_name(m), NULL, seen);
	disco_send(IMSG_DISCO_NAT, &m, sizeof(m));
	mesh_nat_changed(NULL);
}

/* Forget what STUN taught: the server changed, or there is none. */
static void
stun_reset(void)
{
	struct dataplane	*d = &env->dp;

	d->has_stun_alt = 0;
	d->stun_unanswered = 0;
	memset(&d->stun_alt, 0, sizeof(d->stun_alt));
	memset(d->stun_answered, 0, sizeof(d->stun_answered));
	memset(d->stun_mapped, 0, sizeof(d->stun_mapped));
	nat_set(NAT_MAP_UNKNOWN);
}

static void
stun_ask(int slot, const struct sockaddr_storage *server)
{
	struct eng_stun_req	 r;

	memset(&r, 0, sizeof(r));
	r.round = env->dp.stun_round;
	r.slot = slot;
	r.server = *server;
	dp_send(IMSG_ENG_STUN_REQ, &r, sizeof(r), -1);
}

/* cbdiscod wants our address: a round to both servers, if we have two. */
static void
stun_round(void)
{
	struct dataplane	*d = &env->dp;

	if (!d->has_stun)
		return;
	if (++d->stun_round == 0)
		d->stun_round = 1;	/* 0 is "never answered" */
	stun_ask(STUN_SLOT_PRIMARY, &d->stun_server);
	if (d->has_stun_alt)
		stun_ask(STUN_SLOT_ALT, &d->stun_alt);
	/* Silence says nothing about the NAT but that UDP does not pass. */
	if (++d->stun_unanswered >= STUN_BLOCKED_AFTER)
		nat_set(NAT_MAP_UNKNOWN);
}

/* netcheck: a round now, whatever cbdiscod's schedule. */
void
disco_stun_now(void)
{
	stun_round();
}

/*
 * The ALT-PORT of the primary's answer: the same server at another
 * port, asked at once in the same round.  Only a port: the address is
 * the one we reached, which the edge may not know (a cloud's 1:1 NAT).
 */
static void
stun_alt_learn(const struct eng_stun_result *r)
{
	struct dataplane	*d = &env->dp;
	struct sockaddr_storage	 alt = d->stun_server;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&alt;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&alt;
	in_port_t		*port;

	port = alt.ss_family == AF_INET6 ? &sin6->sin6_port : &sin->sin_port;
	if (r->alt_port != 0 && r->alt_port == ntohs(*port)) {
		/* The same port twice would always look independent. */
		d->nat_refused++;
		log_debug("stun: second port %u refused: the first's",
		    r->alt_port);
	} else if (r->alt_port != 0) {
		*port = htons(r->alt_port);
		if (d->has_stun_alt && sockaddr_cmp(&alt, &d->stun_alt) == 0)
			return;
		log_info("stun: the edge answers on port %u too: testing our "
		    "NAT's mapping", r->alt_port);
		d->stun_alt = alt;
		d->has_stun_alt = 1;
		d->stun_answered[STUN_SLOT_ALT] = 0;
		stun_ask(STUN_SLOT_ALT, &d->stun_alt);
		return;
	}
	if (d->has_stun_alt)
		log_info("stun: the edge names no second port any more");
	d->has_stun_alt = 0;
	nat_set(NAT_MAP_UNKNOWN);
}

/*
 * The engine parsed an answer.  The primary's tells cbdiscod where we
 * are; once both servers answered the same round, the two addresses
 * tell our NAT's mapping.
 */
void
disco_stun_result(const struct eng_stun_result *r)
{
	struct dataplane	*d = &env->dp;
	char			 buf[HOSTPORT_MAX];

	if ((r->mapped.ss_family != AF_INET &&
	    r->mapped.ss_family != AF_INET6) ||
	    sockaddr_format((const struct sockaddr *)&r->mapped, buf,
	    sizeof(buf)) == -1 || !d->has_stun)
		return;
	log_debug("stun: the edge%s sees us at %s",
	    r->slot == STUN_SLOT_ALT ? "'s second port" : "", buf);
	if (r->slot == STUN_SLOT_PRIMARY) {
		d->stun_unanswered = 0;
		disco_send(IMSG_DISCO_STUN_RESULT, &r->mapped,
		    sizeof(r->mapped));
		stun_alt_learn(r);
	} else if (!d->has_stun_alt)
		return;		/* asked before the edge stopped naming it */
	d->stun_answered[r->slot] = r->round;
	d->stun_mapped[r->slot] = r->mapped;
	if (d->has_stun_alt && r->round == d->stun_round &&
	    d->stun_answered[STUN_SLOT_PRIMARY] == d->stun_round &&
	    d->stun_answered[STUN_SLOT_ALT] == d->stun_round)
		nat_set(nat_mapping_of(&d->stun_mapped[STUN_SLOT_PRIMARY],
		    &d->stun_mapped[STUN_SLOT_ALT]));
}

/* ---- peers from cbdiscod -------------------------------------------- */

/* The operator's word, kept to check what cbdiscod then sends. */
void
disco_approve(const uint8_t *key)
{
	size_t	 i;

	for (i = 0; i < env->napproved; i++)
		if (memcmp(env->approved[i], key, WG_KEY_LEN) == 0)
			return;
	if (env->napproved < DISCO_APPROVED_MAX)
		memcpy(env->approved[env->napproved++], key, WG_KEY_LEN);
}

/* A peer of the token or of `wg set`: discovery may not touch it. */
static int
peer_static(const struct ppeer *p)
{
	return (p->source != PEER_SRC_DISCO);
}

static int
owner_static(void *arg, const void *peer)
{
	return (peer_static(peer));
}

static void
disco_refused(const struct disco_peer *dp, const struct admit_result *r)
{
	char	 key[WG_KEY_B64_LEN + 1], pfx[INET6_ADDRSTRLEN + 8];
	char	 own[INET6_ADDRSTRLEN + 8];

	wgkey_to_b64(key, dp->public_key);
	key[DISCO_KEY_LOG_LEN] = '\0';
	if (r->prefix.af == 0 || cidr_format(&r->prefix, pfx,
	    sizeof(pfx)) == -1)
		pfx[0] = '\0';
	if (r->reason != ADMIT_OWNED_PREFIX || cidr_format(&r->owner, own,
	    sizeof(own)) == -1)
		own[0] = '\0';
	log_warnx("discovery: refused peer %s...: %s%s%s%s%s", key,
	    admit_reason_name(r->reason), pfx[0] ? " " : "", pfx,
	    own[0] ? ", overlaps a static peer's " : "", own);
}

/*
 * cbdiscod is unprivileged and repeats what a remote registry says:
 * the update is judged (lib/peeradmit.h) before anything changes.
 */
static void
disco_peer_set(const struct disco_peer *dp)
{
	const struct token	*t = &env->conf.tok;
	struct dataplane	*d = &env->dp;
	struct peer_desc	 pd;
	struct policy		 pol;
	struct admit		 a;
	struct admit_result	 r;
	struct disco_peer	 ok;
	struct ppeer		*p;
	char			 err[CFG_ERR_MAX];
	unsigned int		 i;
	int			 nat = dp->nat;

	p = ppeer_find(dp->public_key);
	memset(&pol, 0, sizeof(pol));
	pol.self = t->public_key;
	pol.allowed = (const uint8_t (*)[WG_KEY_LEN])t->allowed_peers;
	pol.nallowed = t->nallowed_peers;
	pol.auto_approve = t->auto_approve;
	pol.approved = (const uint8_t (*)[WG_KEY_LEN])env->approved;
	pol.napproved = env->napproved;
	memset(&a, 0, sizeof(a));
	a.enabled = env->disco_enabled;
	a.subnet = t->subnet;
	a.address = t->address;
	a.policy = &pol;
	a.npeers = d->npeers;
	a.max_peers = d->max_peers;
	a.known = p == NULL ? ADMIT_KEY_NEW : peer_static(p) ?
	    ADMIT_KEY_STATIC : ADMIT_KEY_DISCOVERED;
	a.aip = &d->aip;
	a.owner_static = owner_static;

	peer_admit(&a, dp, &ok, &r);
	env->disco_admit[r.reason]++;
	for (i = 0; i < ADMIT_EP_MAX; i++)
		env->disco_ep_dropped[i] += r.dropped[i];
	if (r.reason != ADMIT_OK) {
		disco_refused(dp, &r);
		return;
	}
	if (r.ndropped > 0) {
		wgkey_to_b64(err, dp->public_key);
		err[DISCO_KEY_LOG_LEN] = '\0';
		log_warnx("discovery: peer %s...: %u endpoints dropped "
		    "(not unicast)", err, r.ndropped);
	}

	memset(&pd, 0, sizeof(pd));
	memcpy(pd.pub, ok.public_key, WG_KEY_LEN);
	pd.source = PEER_SRC_DISCO;
	/* New places to reach it (a new peer has none): the engine punches. */
	pd.flags = PD_HAS_KEEPALIVE | PD_REPLACE_AIPS | PD_HAS_CANDIDATES |
	    PD_HAS_NAME;
	pd.keepalive = ok.keepalive;
	pd.name = ok.name;	/* peer_admit checked it */
	pd.aips = ok.allowed_ips;
	pd.naips = ok.nallowed_ips;
	pd.cand = ok.endpoints;
	pd.ncand = ok.nendpoints;
	if (peer_apply(&pd, err, sizeof(err)) == -1) {
		log_warnx("discovery: peer not added: %s", err);
		return;
	}
	/* Its NAT only explains a relayed path: a bad value is unknown. */
	if (nat < 0 || nat >= NAT_MAP_MAX) {
		env->dp.nat_refused++;
		wgkey_to_b64(err, dp->public_key);
		err[DISCO_KEY_LOG_LEN] = '\0';
		log_warnx("discovery: peer %s...: NAT mapping %d refused, "
		    "taken as unknown", err, nat);
		nat = NAT_MAP_UNKNOWN;
	}
	if ((p = ppeer_find(ok.public_key)) != NULL &&
	    p->source == PEER_SRC_DISCO && p->nat != nat) {
		p->nat = nat;
		mesh_nat_changed(p);
	}
}

/* Keys on the new pending list that were not on the last: counted. */
static void
disco_pending_count(const uint8_t *keys, size_t n)
{
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < env->npending; j++)
			if (memcmp(keys + i * WG_KEY_LEN, env->pending[j],
			    WG_KEY_LEN) == 0)
				break;
		if (j == env->npending)
			env->disco_pending++;
	}
}

/*
 * cbdiscod's state: kept for status, metrics and netcheck; a change
 * is a monitor event.  Numbers only a child says are shown, not acted
 * on.
 */
static void
disco_state(uint32_t peerid, const struct disco_state *ds)
{
	int	 was = env->reg.state;

	env->reg = *ds;
	env->reg.fresh = 0;
	if (ds->state != was)
		control_event(EV_REGISTRY, NULL, reg_state_name(ds->state),
		    NULL, ds->state == REG_UNREACHABLE ? ds->last_error :
		    NULL);
	if (peerid != 0)
		control_netcheck_disco(peerid, ds);
}

int
disco_dispatch(struct cbp2pd_child *ch, struct imsg *imsg)
{
	struct disco_peer	 dp;
	struct disco_state	 ds;
	struct peer_desc	 pd;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;

	if (ch->id != PROC_DISCO)
		return (0);
	switch (imsg->hdr.type) {
	case IMSG_DISCO_STUN_REQ:
		if (len != 0)
			fatalx("%s: bad STUN request", __func__);
		stun_round();
		return (1);
	case IMSG_PEER_SET:
		if (len != sizeof(dp))
			fatalx("%s: bad peer length %zu", __func__, len);
		memcpy(&dp, imsg->data, sizeof(dp));
		disco_peer_set(&dp);
		return (1);
	case IMSG_PEER_DEL:
		if (len != WG_KEY_LEN)
			fatalx("%s: bad peer key length", __func__);
		/* peer_apply() leaves a static peer alone. */
		memset(&pd, 0, sizeof(pd));
		memcpy(pd.pub, imsg->data, WG_KEY_LEN);
		pd.source = PEER_SRC_DISCO;
		pd.flags = PD_REMOVE;
		peer_apply(&pd, NULL, 0);
		return (1);
	case IMSG_DISCO_PENDING:
		if (len % WG_KEY_LEN != 0 ||
		    len / WG_KEY_LEN > DISCO_PENDING_MAX)
			fatalx("%s: bad pending list", __func__);
		disco_pending_count(imsg->data, len / WG_KEY_LEN);
		memcpy(env->pending, imsg->data, len);
		env->npending = len / WG_KEY_LEN;
		return (1);
	case IMSG_DISCO_STATE:
		if (len != sizeof(ds))
			fatalx("%s: bad registry state length", __func__);
		memcpy(&ds, imsg->data, sizeof(ds));
		if (ds.state < 0 || ds.state >= REG_STATE_MAX)
			fatalx("%s: bad registry state %d", __func__,
			    ds.state);
		ds.last_error[sizeof(ds.last_error) - 1] = '\0';
		disco_state(imsg->hdr.peerid, &ds);
		return (1);
	}
	return (0);
}
