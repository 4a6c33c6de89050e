/*
 * cbdiscod: registry client and peer discovery.
 *
 * Started only by cbp2pd.  It will register with the edge registry,
 * follow the peer list, apply the token's whitelist and tell the parent
 * which peers to configure.
 */

#include <stddef.h>
#include <stdlib.h>

#include "log.h"
#include "proc.h"
#include "cbdiscod.h"

static void
cbdiscod_configure(struct child *c)
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

	c.id = PROC_DISCO;
	c.configure = cbdiscod_configure;
	/* No network work yet: the common system calls suffice. */
	child_run(&c, argc, argv, NULL, 0);
}
