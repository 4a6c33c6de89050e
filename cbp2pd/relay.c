/*
 * The parent's side of the relay (doc/relay.md): which peers are
 * relayed, and what cbrelayd needs to reach the edge's relay.  The
 * parent resolves the relay's address and reads the CA, files and
 * names the sandboxed child cannot reach, and hands cbrelayd the
 * registry token to authenticate with: never the node token, never the
 * private key.  Packets never pass through here: the engine and
 * cbrelayd each get one end of a socketpair of their own.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbp2pd.h"
#include "log.h"

#define RELAY_DEFAULT_PORT	"443"
#define RELAY_KEY_LOG_LEN	8	/* base64 characters of a key logged */

/*
 * The path every peer takes, by policy: client-server sends everything
 * through the relay, and so does a p2p-mesh with routing relay.  Hybrid
 * routing starts each peer on the relay and lets cbmeshd move it to
 * direct and back (mesh.c), when a relay is configured; without one it
 * is direct, as is server-server.
 */
enum peer_path
relay_path_for(const struct cbp2p_config *c)
{
	const struct token	*t = &c->tok;

	if (t->conn_type == CONN_CLIENT_SERVER ||
	    (t->conn_type == CONN_P2P_MESH && t->routing == ROUTING_RELAY))
		return (PATH_RELAY);
	if (t->conn_type == CONN_P2P_MESH && t->routing == ROUTING_HYBRID &&
	    c->relay[0] != '\0' && c->ca_file[0] != '\0' &&
	    t->registry_token != NULL)
		return (PATH_HYBRID);
	return (PATH_DIRECT);
}

/*
 * The path of a peer from source under the policy in force.  Hybrid
 * is for discovered peers only: the registry vouches that they are
 * cbp2p nodes of the mesh, which the relay carries and which answer
 * path probes; a peer of the token or of wg set may be any WireGuard.
 */
enum peer_path
relay_path_of(enum peer_source source)
{
	if (env->peer_path == PATH_HYBRID && source != PEER_SRC_DISCO)
		return (PATH_DIRECT);
	return (env->peer_path);
}

/* cbrelayd keeps a connection for client-server, relay and hybrid. */
int
relay_wanted(const struct token *t)
{
	return (t->conn_type == CONN_CLIENT_SERVER ||
	    (t->conn_type == CONN_P2P_MESH && (t->routing == ROUTING_RELAY ||
	    t->routing == ROUTING_HYBRID)));
}

/*
 * Every peer on the path the policy gives: those of the token,
 * discovery and wg set alike, through peer_apply().  New peers take it
 * from env->peer_path as they are made.
 */
void
relay_set_path(enum peer_path path)
{
	struct peer_desc	 pd;
	struct ppeer		*pp, *tmp;
	char			 err[CFG_ERR_MAX];

	if (path != env->peer_path)
		log_info("peers are %s", path == PATH_RELAY ?
		    "reached through the relay only" : path == PATH_HYBRID ?
		    "reached through the relay until a direct path works" :
		    "reached directly");
	env->peer_path = path;
	RB_FOREACH_SAFE(pp, ppeer_tree, &env->dp.peers, tmp) {
		if (pp->path == relay_path_of(pp->source))
			continue;
		memset(&pd, 0, sizeof(pd));
		memcpy(pd.pub, pp->wp.pub, WG_KEY_LEN);
		pd.source = pp->source;
		pd.flags = PD_UPDATE_ONLY | PD_HAS_PATH;
		pd.path = relay_path_of(pp->source);
		if (peer_apply(&pd, err, sizeof(err)) == -1)
			log_warnx("%s: %s", __func__, err);
	}
}

static void
relay_send(uint32_t type, const void *data, size_t len, int fd)
{
	if (imsg_compose_event(&env->children[PROC_RELAY].iev, type, 0, 0,
	    fd, data, len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

/*
 * The packet socketpair, made once, the first time a relay is wanted:
 * one end to the engine, the other to cbrelayd.  Non-blocking on both
 * sides, with buffers for bursts (as root the system's limit does not
 * apply); a full pair drops and counts, it never blocks either side.
 */
static int
relay_pair(void)
{
	int	 sp[2], i, bufsz = RELAY_SOCKET_BUFFER;

	if (env->relay_paired)
		return (0);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("relay: socketpair");
		return (-1);
	}
	for (i = 0; i < 2; i++) {
		if (setsockopt(sp[i], SOL_SOCKET, SO_SNDBUFFORCE, &bufsz,
		    sizeof(bufsz)) == -1 || setsockopt(sp[i], SOL_SOCKET,
		    SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) == -1)
			log_debug("relay: socket buffers: %s",
			    strerror(errno));
	}
	/* The queues own the descriptors now, and close them once sent. */
	dp_send(IMSG_ENG_RELAY, NULL, 0, sp[0]);
	relay_send(IMSG_RELAY_PACKETS, NULL, 0, sp[1]);
	env->relay_paired = 1;
	return (0);
}

/* ---- presence: what the relay says of the mesh's nodes --------------- */

/* Every peer unknown again: cbrelayd's connection began or ended. */
static void
relay_presence_reset(void)
{
	struct ppeer	*pp;
	time_t		 now = time(NULL);

	RB_FOREACH(pp, ppeer_tree, &env->dp.peers) {
		if (pp->relay_presence == RELAY_PRESENCE_UNKNOWN)
			continue;
		pp->relay_presence = RELAY_PRESENCE_UNKNOWN;
		pp->relay_since = now;
	}
}

static void
relay_refuse(enum relay_refusal why, enum proc_id from, const uint8_t *key)
{
	char	 b64[WG_KEY_B64_LEN + 1] = "";

	env->relay_refused[why]++;
	if (key != NULL) {
		wgkey_to_b64(b64, key);
		b64[RELAY_KEY_LOG_LEN] = '\0';
	}
	/* A node of the mesh we have no peer for is no one's fault. */
	if (why == RELAY_REFUSE_UNKNOWN_PEER)
		log_debug("relay: presence of %s... refused: %s", b64,
		    relay_refusal_name(why));
	else
		log_warnx("relay: presence report from %s refused: %s",
		    proc_name(from), relay_refusal_name(why));
}

/* A PEER_PRESENT or PEER_GONE, for a peer we have, on a bound relay. */
static void
relay_presence_set(const uint8_t *key, enum relay_presence p)
{
	struct ppeer	*pp;
	char		 b64[WG_KEY_B64_LEN + 1];

	if (!env->relay.enabled) {
		relay_refuse(RELAY_REFUSE_RELAY_OFF, PROC_RELAY, key);
		return;
	}
	if (!env->relay_up) {
		relay_refuse(RELAY_REFUSE_NOT_CONNECTED, PROC_RELAY, key);
		return;
	}
	if ((pp = ppeer_find(key)) == NULL) {
		relay_refuse(RELAY_REFUSE_UNKNOWN_PEER, PROC_RELAY, key);
		return;
	}
	if (pp->relay_presence == p)
		return;
	wgkey_to_b64(b64, key);
	b64[RELAY_KEY_LOG_LEN] = '\0';
	if (p == RELAY_PRESENCE_GONE)
		log_info("peer %s: gone from the relay", b64);
	else if (pp->relay_presence == RELAY_PRESENCE_GONE)
		log_info("peer %s: back at the relay", b64);
	else
		log_debug("peer %s: at the relay", b64);
	pp->relay_presence = p;
	pp->relay_since = time(NULL);
}

/*
 * cbrelayd's reports of the relay's PEER_PRESENT and PEER_GONE, and of
 * its connection coming and going.  Only cbrelayd may make them, only
 * while the relay is on, and only about peers we have: anything else
 * is refused and counted (status: relay_presence_refused).  A bad
 * length is a broken or compromised child.
 */
int
relay_dispatch(struct cbp2pd_child *ch, struct imsg *imsg)
{
	struct relay_check	 rc;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;

	switch (imsg->hdr.type) {
	case IMSG_RELAY_UP:
	case IMSG_RELAY_DOWN:
	case IMSG_RELAY_PEER_PRESENT:
	case IMSG_RELAY_PEER_GONE:
	case IMSG_RELAY_NETCHECK:
		break;
	default:
		return (0);
	}
	if (ch->id != PROC_RELAY) {
		relay_refuse(RELAY_REFUSE_NOT_RELAY, ch->id, NULL);
		return (1);
	}
	switch (imsg->hdr.type) {
	case IMSG_RELAY_UP:
		if (len != 0)
			fatalx("%s: bad relay up", __func__);
		if (!env->relay.enabled) {
			relay_refuse(RELAY_REFUSE_RELAY_OFF, ch->id, NULL);
			break;
		}
		env->relay_up = 1;
		env->relay_connects++;
		relay_presence_reset();
		control_event(EV_RELAY, NULL, "connected", NULL,
		    env->relay.relay_name);
		break;
	case IMSG_RELAY_DOWN:
		/* Forgetting is always allowed. */
		if (len != 0)
			fatalx("%s: bad relay down", __func__);
		if (env->relay_up)
			control_event(EV_RELAY, NULL, "disconnected", NULL,
			    env->relay.relay_name);
		env->relay_up = 0;
		relay_presence_reset();
		break;
	case IMSG_RELAY_NETCHECK:
		if (len != sizeof(rc))
			fatalx("%s: bad netcheck length %zu", __func__, len);
		memcpy(&rc, imsg->data, sizeof(rc));
		rc.state_name[sizeof(rc.state_name) - 1] = '\0';
		rc.last_error[sizeof(rc.last_error) - 1] = '\0';
		control_netcheck_relay(imsg->hdr.peerid, &rc);
		break;
	default:
		if (len != WG_KEY_LEN)
			fatalx("%s: bad presence length %zu", __func__, len);
		relay_presence_set(imsg->data,
		    imsg->hdr.type == IMSG_RELAY_PEER_PRESENT ?
		    RELAY_PRESENCE_PRESENT : RELAY_PRESENCE_GONE);
		break;
	}
	return (1);
}

/*
 * A peer was just made: the relay may have said it was there before we
 * knew it.  cbrelayd remembers, and says so again.
 */
void
relay_presence_ask(const struct ppeer *pp)
{
	if (!env->relay.enabled || !env->relay_up)
		return;
	relay_send(IMSG_RELAY_PRESENCE_ASK, pp->wp.pub, WG_KEY_LEN, -1);
}

/*
 * The relay transaction: config, CA, registry token, done; on start
 * and on every reload.  The relay is off unless wanted (relay_wanted)
 * and edge.relay, edge.ca and a registry token exist.
 */
void
relay_push_config(void)
{
	const struct cbp2p_config	*c = &env->conf;
	const struct token		*t = &c->tok;
	struct relay_conf		 rc;
	char				*ca = NULL;
	size_t				 calen = 0;
	int				 wanted = relay_wanted(t);

	memset(&rc, 0, sizeof(rc));
	rc.enabled = wanted && c->relay[0] != '\0' && c->ca_file[0] != '\0' &&
	    t->registry_token != NULL &&
	    strlen(t->registry_token) < DISCO_TOKEN_MAX &&
	    !env->token_expired;
	if (wanted && env->token_expired)
		log_warnx("relay off: the token expired%s", relay_path_for(c) ==
		    PATH_RELAY ? "; relayed peers are unreachable" : "");
	else if (wanted && !rc.enabled)
		log_warnx("relay off: needs edge.relay, edge.ca and a token "
		    "with a registry_token%s", relay_path_for(c) ==
		    PATH_RELAY ? "; relayed peers are unreachable" : "");
	if (rc.enabled && hostport_resolve(c->relay, RELAY_DEFAULT_PORT,
	    &rc.relay, rc.relay_host, sizeof(rc.relay_host)) == -1) {
		log_warnx("relay: %s does not resolve; relay off", c->relay);
		rc.enabled = 0;
	}
	if (rc.enabled && parent_read_file(c->ca_file, DISCO_CA_MAX, &ca,
	    &calen) == -1) {
		log_warn("relay: CA %s; relay off", c->ca_file);
		rc.enabled = 0;
	}
	if (rc.enabled && relay_pair() == -1) {
		free(ca);
		ca = NULL;
		rc.enabled = 0;
	}
	strlcpy(rc.relay_name, c->relay, sizeof(rc.relay_name));
	env->relay = rc;
	/* Off: whatever the relay said is void, before cbrelayd says so. */
	if (!rc.enabled) {
		env->relay_up = 0;
		relay_presence_reset();
	}

	relay_send(IMSG_CFG_RELAY, &rc, sizeof(rc), -1);
	if (ca != NULL) {
		relay_send(IMSG_CFG_RELAY_CA, ca, calen, -1);
		free(ca);
	}
	if (rc.enabled)
		relay_send(IMSG_CFG_RELAY_TOKEN, t->registry_token,
		    strlen(t->registry_token), -1);
	relay_send(IMSG_CFG_RELAY_DONE, NULL, 0, -1);
}
