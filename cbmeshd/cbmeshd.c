/*
 * cbmeshd: topology, path choice and health checks.
 *
 * Started only by cbp2pd.  It will choose direct or relayed paths for
 * each peer, run health checks and serve Prometheus metrics.
 */

#include <stddef.h>
#include <stdlib.h>

#include "log.h"
#include "proc.h"
#include "cbmeshd.h"

static void
cbmeshd_configure(struct child *c)
{
	log_debug("%s: running configuration generation %llu (%s, %s)",
	    __func__, (unsigned long long)c->conf.generation,
	    conn_type_name(c->conf.conn_type),
	    routing_mode_name(c->conf.routing));
}

int
main(int argc, char *argv[])
{
	static struct child	 c;

	c.id = PROC_MESH;
	c.configure = cbmeshd_configure;
	/* No network work yet: the common system calls suffice. */
	child_run(&c, argc, argv, &sandbox_policy_plain);
}
