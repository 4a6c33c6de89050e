/*
 * cbmeshd: topology, path choice and health checks.
 *
 * Started only by cbp2pd.  For every hybrid peer the engine reports
 * what its probes measured on the direct path and on the relay (through
 * the parent, which adds what only it knows); cbmeshd decides which
 * path the peer's packets take and why (lib/pathsel.c) and tells the
 * parent, which checks the choice against policy before the engine
 * obeys.  It also serves Prometheus /metrics (metrics.c) on the socket
 * the parent bound.  It holds no key and touches no packet.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proc.h"
#include "cbmeshd.h"

struct mesh		 mesh;

int
mpeer_cmp(struct mpeer *a, struct mpeer *b)
{
	return (memcmp(a->pub, b->pub, WG_KEY_LEN));
}

RB_GENERATE(mpeer_tree, mpeer, entry, mpeer_cmp);

static struct mpeer *
mpeer_find(const uint8_t *pub)
{
	struct mpeer	 key;

	memcpy(key.pub, pub, WG_KEY_LEN);
	return (RB_FIND(mpeer_tree, &mesh.peers, &key));
}

static void
mpeer_del(struct mpeer *mp)
{
	RB_REMOVE(mpeer_tree, &mesh.peers, mp);
	mesh.npeers--;
	free(mp);
}

static void
mesh_tell(struct child *c, const struct mpeer *mp)
{
	struct mesh_path	 path;

	memset(&path, 0, sizeof(path));
	memcpy(path.pub, mp->pub, WG_KEY_LEN);
	path.active = mp->ps.active;
	path.reason = mp->ps.reason;
	if (imsg_compose_event(c->iev, IMSG_MESH_PATH, 0, 0, -1, &path,
	    sizeof(path)) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

static void
mesh_report(struct child *c, const struct path_health *h)
{
	struct mpeer	*mp;
	uint32_t	 switches;

	mesh.reports++;
	metrics_observe(h);
	if ((mp = mpeer_find(h->pub)) == NULL) {
		if (mesh.npeers >= c->conf.max_peers) {
			mesh.refused++;
			return;
		}
		if ((mp = calloc(1, sizeof(*mp))) == NULL)
			fatal("%s", __func__);
		memcpy(mp->pub, h->pub, WG_KEY_LEN);
		pathsel_init(&mp->ps, h->now);
		RB_INSERT(mpeer_tree, &mesh.peers, mp);
		mesh.npeers++;
	}
	switches = mp->ps.switches;
	/* The engine's path may differ after a restart of either: say it. */
	if (pathsel_update(&mp->ps, h) || h->active != mp->ps.active)
		mesh_tell(c, mp);
	mesh.switches += mp->ps.switches - switches;
}

static int
cbmeshd_dispatch(struct child *c, struct imsg *imsg)
{
	struct path_health	 h;
	struct mpeer		*mp;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;

	switch (imsg->hdr.type) {
	case IMSG_MESH_HEALTH:
		if (len != sizeof(h))
			fatalx("%s: bad health length %zu", __func__, len);
		memcpy(&h, imsg->data, sizeof(h));
		mesh_report(c, &h);
		return (1);
	case IMSG_MESH_PEER_DEL:
		if (len != WG_KEY_LEN)
			fatalx("%s: bad key length %zu", __func__, len);
		if ((mp = mpeer_find(imsg->data)) != NULL)
			mpeer_del(mp);
		return (1);
	}
	return (metrics_dispatch(c, imsg));
}

static void
cbmeshd_status(struct child *c)
{
	struct mpeer	*mp;
	unsigned int	 relayed = 0;

	RB_FOREACH(mp, mpeer_tree, &mesh.peers)
		relayed += mp->ps.active == PATH_RELAY;
	snprintf(c->state, sizeof(c->state), "%u hybrid peers, %u relayed, "
	    "%llu switches, %llu reports, %llu over max_peers",
	    mesh.npeers, relayed, (unsigned long long)mesh.switches,
	    (unsigned long long)mesh.reports,
	    (unsigned long long)mesh.refused);
}

static void
cbmeshd_configure(struct child *c)
{
	struct mpeer	*mp, *tmp;

	log_debug("%s: running configuration generation %llu (%s, %s)",
	    __func__, (unsigned long long)c->conf.generation,
	    conn_type_name(c->conf.conn_type),
	    routing_mode_name(c->conf.routing));
	/* Not hybrid any more: the parent re-paths every peer. */
	if (c->conf.routing != ROUTING_HYBRID)
		RB_FOREACH_SAFE(mp, mpeer_tree, &mesh.peers, tmp)
			mpeer_del(mp);
}

int
main(int argc, char *argv[])
{
	static struct child	 c;

	RB_INIT(&mesh.peers);
	metrics_init();
	c.id = PROC_MESH;
	c.configure = cbmeshd_configure;
	c.dispatch = cbmeshd_dispatch;
	c.status = cbmeshd_status;
	/* No socket of its own: it serves /metrics on the parent's. */
	child_run(&c, argc, argv, &sandbox_policy_mesh);
}
