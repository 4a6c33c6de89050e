/*
 * cbrelayd: relay transport.
 *
 * Started only by cbp2pd.  It will carry WireGuard packets over TLS 1.3
 * to the edge relay for peers that have no direct path.
 */

#include <stddef.h>
#include <stdlib.h>

#include "log.h"
#include "proc.h"
#include "cbrelayd.h"

static void
cbrelayd_configure(struct child *c)
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

	c.id = PROC_RELAY;
	c.configure = cbrelayd_configure;
	/* No network work yet: the common system calls suffice. */
	child_run(&c, argc, argv, &sandbox_policy_plain);
}
