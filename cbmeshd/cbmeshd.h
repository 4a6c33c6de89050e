/*
 * cbmeshd: topology, path choice and health checks.
 */
#ifndef CBMESHD_H
#define CBMESHD_H

#include <sys/queue.h>
#include <sys/tree.h>

#include <event2/http.h>

#include <time.h>

#include "pathsel.h"
#include "prom.h"
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

/* The RTT histogram's buckets, seconds: LAN to a far relay. */
#define METRICS_RTT_BUCKETS	0.0005, 0.001, 0.0025, 0.005, 0.01, \
				0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5
#define METRICS_HTTP_TIMEOUT	10	/* seconds for a scrape's request */
#define METRICS_HEADERS_MAX	8192
#define NSEC_PER_SEC		1000000000.0
#define USEC_PER_SEC		1000000.0

/* The parent's last whole snapshot (IMSG_MESH_METRICS_*). */
struct metrics_snap {
	struct ctl_status_main	 main;
	struct ctl_peer		*peers;
	uint32_t		 npeers;
	uint32_t		 cap;
	struct mesh_metrics_end	 end;
	struct timespec		 taken;	/* CLOCK_MONOTONIC at its END */
};

struct mesh {
	struct mpeer_tree	 peers;
	unsigned int		 npeers;
	uint64_t		 reports;	/* health reports taken */
	uint64_t		 refused;	/* over max_peers */
	uint64_t		 switches;
	uint64_t		 relayed;	/* peers on the relay now */
	/* /metrics (metrics.c) */
	struct evhttp		*http;
	int			 have_snap;
	struct metrics_snap	 snap;	/* served */
	struct metrics_snap	 next;	/* being received */
	int			 in_snap;	/* MAIN came, END not yet */
	struct prom_hist	 rtt[2];	/* direct, relay */
	uint64_t		 scrapes;
	uint64_t		 snap_dropped;	/* peers over max_peers */
};

extern struct mesh	 mesh;

/* metrics.c */
void	 metrics_init(void);
int	 metrics_dispatch(struct child *, struct imsg *);
void	 metrics_observe(const struct path_health *);

#endif /* CBMESHD_H */
