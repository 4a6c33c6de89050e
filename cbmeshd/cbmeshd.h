/*
 * cbmeshd: topology, path choice and health checks.
 */
#ifndef CBMESHD_H
#define CBMESHD_H

#include <sys/tree.h>

#include "pathsel.h"
#include "proc.h"

/* One hybrid peer, as the parent reported it; at most max_peers. */
struct mpeer {
	RB_ENTRY(mpeer)		 entry;
	uint8_t			 pub[WG_KEY_LEN];
	struct pathsel		 ps;
};

RB_HEAD(mpeer_tree, mpeer);
int	mpeer_cmp(struct mpeer *, struct mpeer *);
RB_PROTOTYPE(mpeer_tree, mpeer, entry, mpeer_cmp);

struct mesh {
	struct mpeer_tree	 peers;
	unsigned int		 npeers;
	uint64_t		 reports;	/* health reports taken */
	uint64_t		 refused;	/* over max_peers */
	uint64_t		 switches;
	uint64_t		 relayed;	/* peers on the relay now */
};

#endif /* CBMESHD_H */
