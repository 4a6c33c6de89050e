/*
 * cbdiscod: registry client and peer discovery.
 *
 * Started only by cbp2pd.  It registers the node with the edge registry,
 * heartbeats, follows the mesh's peer list, learns the node's reflexive
 * address through the parent (STUN from the WireGuard socket), applies
 * the token's whitelist and tells the parent which peers to configure.
 * When the registry is unreachable it retries with backoff and jitter
 * and keeps the peers it knows.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbdiscod.h"
#include "log.h"
#include "proc.h"

static struct disco	 disco;

static void	disco_apply(struct disco *);

static void
send_parent(struct disco *d, uint32_t type, const void *data, size_t len)
{
	imsg_compose_event(d->c->iev, type, 0, 0, -1, data, len);
}

static void
timer_in(struct event *ev, unsigned int secs)
{
	struct timeval	 tv = { secs, 0 };

	evtimer_add(ev, &tv);
}

/* 1, 2, 4 ... REG_BACKOFF_MAX seconds, each less a random quarter. */
static unsigned int
backoff(struct disco *d)
{
	unsigned int	 s = REG_BACKOFF_MIN;
	unsigned int	 i;

	for (i = 0; i < d->failures && s < REG_BACKOFF_MAX; i++)
		s *= 2;
	if (s > REG_BACKOFF_MAX)
		s = REG_BACKOFF_MAX;
	return (s - arc4random_uniform(s / 4 + 1));
}

void
disco_update_state(struct disco *d)
{
	char		 since[16];
	struct tm	 tm;

	switch (d->state) {
	case REG_OFF:
		snprintf(d->c->state, sizeof(d->c->state), "%s",
		    d->conf.token_expired ? "stopped: token expired" :
		    "discovery off");
		break;
	case REG_REGISTERING:
		snprintf(d->c->state, sizeof(d->c->state), "registering");
		break;
	case REG_REGISTERED:
		snprintf(d->c->state, sizeof(d->c->state),
		    "registered, mesh version %llu, %zu peers, %zu pending, "
		    "%llu bad replies, %llu bad entries, %llu bad names",
		    (unsigned long long)d->version, d->nset, d->npending,
		    (unsigned long long)d->bad_replies,
		    (unsigned long long)d->bad_entries,
		    (unsigned long long)d->bad_names);
		if (d->bad_nat > 0)
			snprintf(d->c->state + strlen(d->c->state),
			    sizeof(d->c->state) - strlen(d->c->state),
			    ", %llu bad nat values",
			    (unsigned long long)d->bad_nat);
		if (d->untrusted > 0)
			snprintf(d->c->state + strlen(d->c->state),
			    sizeof(d->c->state) - strlen(d->c->state),
			    ", %llu untrusted entries",
			    (unsigned long long)d->untrusted);
		if (d->replies_refused > 0 || d->replies_late > 0)
			snprintf(d->c->state + strlen(d->c->state),
			    sizeof(d->c->state) - strlen(d->c->state),
			    ", %llu refused replies, %llu late replies",
			    (unsigned long long)d->replies_refused,
			    (unsigned long long)d->replies_late);
		break;
	case REG_UNREACHABLE:
		gmtime_r(&d->unreachable_since, &tm);
		strftime(since, sizeof(since), "%H:%M:%SZ", &tm);
		snprintf(d->c->state, sizeof(d->c->state),
		    "registry unreachable since %s (%s), keeping %zu peers",
		    since, d->last_error, d->nset);
		break;
	case REG_STATE_MAX:
		break;
	}
	disco_report(d, 0, 0);
}

/*
 * What the parent shows of the registry client: to all (peerid 0) on
 * every change and measurement, or to the netcheck that asked.
 */
void
disco_report(struct disco *d, uint32_t peerid, int fresh)
{
	struct disco_state	 ds;

	memset(&ds, 0, sizeof(ds));
	ds.state = d->state;
	memcpy(ds.errors, d->errors, sizeof(ds.errors));
	ds.rtt_us = d->rtt_us;
	ds.rtt_at = d->rtt_at;
	strlcpy(ds.last_error, d->last_error, sizeof(ds.last_error));
	ds.fresh = fresh;
	imsg_compose_event(d->c->iev, IMSG_DISCO_STATE, peerid, 0, -1, &ds,
	    sizeof(ds));
}

/* A heartbeat (or registration) answered or failed: netchecks hear. */
void
disco_check_done(struct disco *d)
{
	size_t	 i;

	for (i = 0; i < d->nchecks; i++)
		disco_report(d, d->checks[i], 1);
	d->nchecks = 0;
}

/*
 * A netcheck: a heartbeat now, timed, when registered; else at once
 * what is known.  Too many waiting share the heartbeat in flight.
 */
static void
disco_check(struct disco *d, uint32_t peerid)
{
	if (d->state != REG_REGISTERED || d->nchecks == DISCO_CHECKS_MAX) {
		disco_report(d, peerid, 0);
		return;
	}
	d->checks[d->nchecks++] = peerid;
	if (d->nchecks == 1)
		reg_heartbeat(d);
}

void
disco_registered(struct disco *d, uint64_t version, unsigned int ttl)
{
	if (d->state != REG_REGISTERED)
		log_info("registry: registered, mesh version %llu",
		    (unsigned long long)version);
	d->state = REG_REGISTERED;
	d->failures = 0;
	d->ttl = ttl;
	timer_in(&d->ev_heartbeat, ttl / 3);
	/* STUN answered while we registered: tell the registry now. */
	if (d->has_reflexive && !d->reflexive_told)
		reg_heartbeat(d);
	if (!d->polling)
		reg_poll(d);
	disco_update_state(d);
}

void
disco_failed(struct disco *d, const char *why)
{
	unsigned int	 wait;

	if (d->state != REG_UNREACHABLE) {
		d->unreachable_since = time(NULL);
		log_warnx("registry: %s; keeping %zu known peers", why,
		    d->nset);
	}
	strlcpy(d->last_error, why, sizeof(d->last_error));
	d->state = REG_UNREACHABLE;
	wait = backoff(d);
	d->failures++;
	evtimer_del(&d->ev_heartbeat);
	timer_in(&d->ev_retry, wait);
	log_debug("registry: retry in %u s", wait);
	disco_update_state(d);
	disco_check_done(d);
}

/* The registry forgot us (it expired us, or restarted): register again. */
void
disco_not_registered(struct disco *d)
{
	log_info("registry: not registered any more, registering again");
	d->state = REG_REGISTERING;
	reg_register(d);
	disco_update_state(d);
}

void
disco_poll_failed(struct disco *d)
{
	d->polling = 0;
	if (d->state == REG_OFF)
		return;
	timer_in(&d->ev_poll, backoff(d));
}

void
disco_list(struct disco *d, struct reg_peer *list, size_t n,
    uint64_t version)
{
	d->polling = 0;
	free(d->list);
	d->list = list;
	d->nlist = n;
	if (version != d->version)
		log_debug("registry: mesh version %llu, %zu peers",
		    (unsigned long long)version, n);
	d->version = version;
	disco_apply(d);
	if (d->state == REG_REGISTERED)
		reg_poll(d);
	else
		timer_in(&d->ev_poll, backoff(d));
}

static struct disco_peer *
set_find(struct disco *d, const uint8_t *key)
{
	size_t	 i;

	for (i = 0; i < d->nset; i++)
		if (memcmp(d->set[i].public_key, key, WG_KEY_LEN) == 0)
			return (&d->set[i]);
	return (NULL);
}

/*
 * The registry's list through the whitelist: tell the parent what
 * changed, and who waits for approval.
 */
static void
disco_apply(struct disco *d)
{
	struct policy		 pol;
	enum policy_verdict	*v;
	struct disco_peer	*nset, *old;
	uint8_t			(*keys)[WG_KEY_LEN];
	uint8_t			 pending[DISCO_PENDING_MAX][WG_KEY_LEN];
	int			*up;
	size_t			 i, nn = 0, np = 0;

	if ((keys = calloc(d->nlist + 1, sizeof(*keys))) == NULL ||
	    (up = calloc(d->nlist + 1, sizeof(*up))) == NULL ||
	    (v = calloc(d->nlist + 1, sizeof(*v))) == NULL ||
	    (nset = calloc(d->nlist + 1, sizeof(*nset))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < d->nlist; i++) {
		memcpy(keys[i], d->list[i].public_key, WG_KEY_LEN);
		up[i] = set_find(d, keys[i]) != NULL;
	}
	memset(&pol, 0, sizeof(pol));
	pol.self = d->c->conf.public_key;
	pol.allowed = d->allowed;
	pol.nallowed = d->nallowed;
	pol.auto_approve = d->c->conf.auto_approve;
	pol.max_peers = d->c->conf.max_peers;
	pol.approved = d->approved;
	pol.napproved = d->napproved;
	policy_decide(&pol, keys, up, d->nlist, v);

	for (i = 0; i < d->nlist; i++) {
		switch (v[i]) {
		case POLICY_CONFIGURE:
			nset[nn++] = d->list[i].dp;
			break;
		case POLICY_PENDING:
		case POLICY_OVER_LIMIT:
			if (np < DISCO_PENDING_MAX)
				memcpy(pending[np++], keys[i], WG_KEY_LEN);
			break;
		case POLICY_SELF:
			break;
		}
	}
	/* Peers gone from the list, or no longer allowed, go first. */
	for (i = 0; i < d->nset; i++) {
		size_t	 j;
		int	 keep = 0;

		for (j = 0; j < nn && !keep; j++)
			keep = memcmp(nset[j].public_key, d->set[i].public_key,
			    WG_KEY_LEN) == 0;
		if (!keep)
			send_parent(d, IMSG_PEER_DEL, d->set[i].public_key,
			    WG_KEY_LEN);
	}
	/*
	 * Then new and changed peers: after the removals, so a swap at
	 * max_peers finds the room the parent counts.
	 */
	for (i = 0; i < nn; i++) {
		old = set_find(d, nset[i].public_key);
		if (old == NULL || memcmp(old, &nset[i], sizeof(*old)) != 0)
			send_parent(d, IMSG_PEER_SET, &nset[i],
			    sizeof(nset[i]));
	}
	if (np != d->npending || memcmp(pending, d->pending,
	    np * WG_KEY_LEN) != 0) {
		memcpy(d->pending, pending, np * WG_KEY_LEN);
		d->npending = np;
		send_parent(d, IMSG_DISCO_PENDING, d->pending,
		    np * WG_KEY_LEN);
		if (np > 0)
			log_info("discovery: %zu peers await approval", np);
	}
	free(d->set);
	d->set = nset;
	d->nset = nn;
	free(keys);
	free(up);
	free(v);
	disco_update_state(d);
}

static void
disco_heartbeat_cb(int fd, short event, void *arg)
{
	struct disco	*d = arg;

	reg_heartbeat(d);
	timer_in(&d->ev_heartbeat, d->ttl / 3);
}

static void
disco_retry_cb(int fd, short event, void *arg)
{
	struct disco	*d = arg;

	reg_register(d);
}

static void
disco_poll_cb(int fd, short event, void *arg)
{
	struct disco	*d = arg;

	if (!d->polling && d->state != REG_OFF)
		reg_poll(d);
}

static void
disco_stun_cb(int fd, short event, void *arg)
{
	struct disco	*d = arg;

	if (d->conf.has_stun)
		send_parent(d, IMSG_DISCO_STUN_REQ, NULL, 0);
	/* Until an answer comes, ask again soon. */
	timer_in(&d->ev_stun, d->has_reflexive ? STUN_REFRESH : STUN_RETRY);
}

static void
disco_stop(struct disco *d)
{
	evtimer_del(&d->ev_heartbeat);
	evtimer_del(&d->ev_retry);
	evtimer_del(&d->ev_poll);
	evtimer_del(&d->ev_stun);
	d->state = REG_OFF;
	disco_check_done(d);
}

/*
 * Our own registry token, verified as the peers' will be: it names the
 * mesh their tokens must name too.
 */
static int
disco_own_mesh(struct disco *d)
{
	struct regtoken	 own;
	char		 err[CFG_ERR_MAX];

	if (regtoken_verify(d->token, strlen(d->token), d->conf.verify_alg,
	    d->key, d->keylen, d->conf.issuer, d->conf.audience, time(NULL),
	    &own, err, sizeof(err)) == -1) {
		log_warnx("discovery: our registry token: %s; discovery off",
		    err);
		return (-1);
	}
	strlcpy(d->mesh, own.mesh, sizeof(d->mesh));
	return (0);
}

/* A configuration transaction ended: swap it in whole and act on it. */
static void
disco_commit(struct disco *d)
{
	int	 restart;

	restart = memcmp(&d->conf, &d->next, sizeof(d->conf)) != 0 ||
	    d->token == NULL || d->next_token == NULL ||
	    strcmp(d->token, d->next_token) != 0 ||
	    d->calen != d->next_calen ||
	    (d->ca != NULL && memcmp(d->ca, d->next_ca, d->calen) != 0) ||
	    d->keylen != d->next_keylen ||
	    (d->key != NULL && memcmp(d->key, d->next_key, d->keylen) != 0);
	d->conf = d->next;
	free(d->ca);
	d->ca = d->next_ca;
	d->calen = d->next_calen;
	if (d->token != NULL)
		freezero(d->token, strlen(d->token));
	d->token = d->next_token;
	free(d->allowed);
	d->allowed = d->next_allowed;
	d->nallowed = d->next_nallowed;
	if (d->key != NULL)
		freezero(d->key, d->keylen);
	d->key = d->next_key;
	d->keylen = d->next_keylen;
	d->next_ca = d->next_token = NULL;
	d->next_allowed = NULL;
	d->next_key = NULL;
	d->next_calen = d->next_nallowed = d->next_keylen = 0;
	/* Tokens verified under another key or issuer are not trusted. */
	if (restart)
		d->keygen++;
	/*
	 * Without STUN (every peer relayed) the address it once found is
	 * not ours to announce any more.
	 */
	if (!d->conf.has_stun)
		d->has_reflexive = d->reflexive_told = 0;

	if (!d->conf.enabled || d->token == NULL ||
	    disco_own_mesh(d) == -1) {
		disco_stop(d);
		disco_update_state(d);
		return;
	}
	if (reg_ctx_load_ca(d) == -1) {
		log_warnx("discovery: no usable CA for the registry; "
		    "discovery off");
		disco_stop(d);
		disco_update_state(d);
		return;
	}
	/* The whitelist may have changed: decide again on what we know. */
	disco_apply(d);
	if (!restart && d->state != REG_OFF)
		return;
	disco_stop(d);
	d->state = REG_REGISTERING;
	d->failures = 0;
	disco_stun_cb(-1, 0, d);
	reg_register(d);
	disco_update_state(d);
}

static int
disco_dispatch(struct child *c, struct imsg *imsg)
{
	struct disco		*d = c->arg;
	struct sockaddr_storage	 ss;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;
	size_t			 n;
	void			*p;
	int			 nat;

	switch (imsg->hdr.type) {
	case IMSG_CFG_DISCO:
		if (len != sizeof(d->next))
			fatalx("%s: bad discovery config", __func__);
		memcpy(&d->next, imsg->data, len);
		d->next.registry_host[sizeof(d->next.registry_host) - 1] =
		    '\0';
		d->next.hostname[sizeof(d->next.hostname) - 1] = '\0';
		if (d->next.nendpoints > DISCO_ENDPOINTS_MAX ||
		    d->next.nallowed_ips > DISCO_AIPS_MAX)
			fatalx("%s: bad discovery config", __func__);
		break;
	case IMSG_CFG_DISCO_CA:
		if (len == 0 || len > DISCO_CA_MAX ||
		    (d->next_ca = malloc(len)) == NULL)
			fatalx("%s: bad CA", __func__);
		memcpy(d->next_ca, imsg->data, len);
		d->next_calen = len;
		break;
	case IMSG_CFG_DISCO_TOKEN:
		if (len == 0 || len >= DISCO_TOKEN_MAX ||
		    (d->next_token = calloc(1, len + 1)) == NULL)
			fatalx("%s: bad registry token", __func__);
		memcpy(d->next_token, imsg->data, len);
		break;
	case IMSG_CFG_DISCO_KEY:
		if (len == 0 || len > DISCO_KEY_MAX ||
		    (d->next_key = malloc(len)) == NULL)
			fatalx("%s: bad verification key", __func__);
		memcpy(d->next_key, imsg->data, len);
		d->next_keylen = len;
		break;
	case IMSG_CFG_DISCO_ALLOWED:
		if (len == 0 || len % WG_KEY_LEN != 0 ||
		    len / WG_KEY_LEN > DISCO_ALLOWED_CHUNK)
			fatalx("%s: bad allowed peers", __func__);
		n = len / WG_KEY_LEN;
		if ((p = reallocarray(d->next_allowed, d->next_nallowed + n,
		    WG_KEY_LEN)) == NULL)
			fatal("%s", __func__);
		d->next_allowed = p;
		memcpy(d->next_allowed[d->next_nallowed], imsg->data, len);
		d->next_nallowed += n;
		break;
	case IMSG_CFG_DISCO_DONE:
		if (len != 0)
			fatalx("%s: bad commit", __func__);
		disco_commit(d);
		break;
	case IMSG_DISCO_STUN_RESULT:
		if (len != sizeof(ss))
			fatalx("%s: bad STUN result", __func__);
		memcpy(&ss, imsg->data, sizeof(ss));
		if (!d->has_reflexive || memcmp(&ss, &d->reflexive,
		    sizeof(ss)) != 0) {
			d->reflexive = ss;
			d->has_reflexive = 1;
			d->reflexive_told = 0;
			log_info("discovery: reflexive address learnt");
			/* Tell the registry, so peers can punch to it. */
			if (d->state == REG_REGISTERED)
				reg_heartbeat(d);
		}
		break;
	case IMSG_DISCO_NAT:
		if (len != sizeof(nat))
			fatalx("%s: bad NAT mapping length", __func__);
		memcpy(&nat, imsg->data, sizeof(nat));
		if (nat < 0 || nat >= NAT_MAP_MAX)
			fatalx("%s: bad NAT mapping %d", __func__, nat);
		if (nat != d->nat) {
			d->nat = nat;
			/* Peers learn it with the next list they fetch. */
			if (d->state == REG_REGISTERED)
				reg_heartbeat(d);
		}
		break;
	case IMSG_DISCO_NETCHECK:
		if (len != 0)
			fatalx("%s: bad netcheck", __func__);
		disco_check(d, imsg->hdr.peerid);
		break;
	case IMSG_DISCO_APPROVE:
		if (len != WG_KEY_LEN)
			fatalx("%s: bad approval", __func__);
		if (d->napproved < APPROVED_MAX) {
			memcpy(d->approved[d->napproved++], imsg->data,
			    WG_KEY_LEN);
			disco_apply(d);
		} else
			log_warnx("discovery: too many approvals");
		break;
	default:
		return (0);
	}
	return (1);
}

/* After event_init(), before the sandbox. */
static void
disco_init(struct child *c)
{
	struct disco	*d = c->arg;

	evtimer_set(&d->ev_heartbeat, disco_heartbeat_cb, d);
	evtimer_set(&d->ev_retry, disco_retry_cb, d);
	evtimer_set(&d->ev_poll, disco_poll_cb, d);
	evtimer_set(&d->ev_stun, disco_stun_cb, d);
}

int
main(int argc, char *argv[])
{
	static struct child	 c;

	c.id = PROC_DISCO;
	c.dispatch = disco_dispatch;
	c.arg = &disco;
	disco.c = &c;
	disco.state = REG_OFF;
	disco.rtt_us = -1;
	snprintf(c.state, sizeof(c.state), "waiting for configuration");
	/* OpenSSL reads its configuration now, before the chroot. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	c.init = disco_init;
	/* TCP to the registry, and no other socket: lib/sandbox.c. */
	child_run(&c, argc, argv, &sandbox_policy_disco);
}
