/*
 * The Prometheus text exposition format, version 0.0.4: one family's
 * HELP and TYPE lines, samples with escaped labels, and histograms with
 * fixed buckets.  cbmeshd and cbedged write their /metrics with it.
 *
 *	prom_family(b, "cbp2p_drops_total", PROM_COUNTER, "Packets ...");
 *	prom_u64(b, "cbp2p_drops_total", labels, nlabels, n);
 *
 * Label values are escaped here; names are the caller's constants and
 * must be valid ([a-zA-Z_:][a-zA-Z0-9_:]*), which prom_name_valid()
 * checks for tests.
 */
#ifndef CBP2P_PROM_H
#define CBP2P_PROM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/http.h>

#define PROM_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define PROM_COUNTER		"counter"
#define PROM_GAUGE		"gauge"
#define PROM_HISTOGRAM		"histogram"
#define PROM_BUCKETS_MAX	16	/* a histogram's finite buckets */

struct prom_label {
	const char	*name;
	const char	*value;
};

/* Upper bounds ascending, then counts per bucket (not cumulative). */
struct prom_hist {
	const double	*bounds;
	size_t		 nbounds;
	uint64_t	 counts[PROM_BUCKETS_MAX];
	uint64_t	 count;
	double		 sum;
};

void	 prom_family(struct evbuffer *, const char *, const char *,
	    const char *);
void	 prom_u64(struct evbuffer *, const char *, const struct prom_label *,
	    size_t, uint64_t);
void	 prom_double(struct evbuffer *, const char *,
	    const struct prom_label *, size_t, double);
/* Set up h with bounds; -1 when there are more than PROM_BUCKETS_MAX. */
int	 prom_hist_init(struct prom_hist *, const double *, size_t);
void	 prom_hist_observe(struct prom_hist *, double);
/* name_bucket{...,le=}, name_sum and name_count of h. */
void	 prom_hist(struct evbuffer *, const char *, const struct prom_label *,
	    size_t, const struct prom_hist *);
/* One family with one sample and no labels. */
void	 prom_one(struct evbuffer *, const char *, const char *, const char *,
	    uint64_t);
/*
 * Answer an HTTP request: 404 but for /metrics, whose body write()
 * fills.  Returns 1 when it served the metrics.
 */
int	 prom_reply(struct evhttp_request *,
	    void (*)(struct evbuffer *, void *), void *);
int	 prom_name_valid(const char *);
/* A name for people as a label value: "UDP blocked" -> "udp_blocked". */
void	 prom_snake(char *, size_t, const char *);

#endif /* CBP2P_PROM_H */
