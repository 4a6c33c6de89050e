/*
 * The Prometheus text writer: families, escaped labels, numbers as
 * Go's ParseFloat reads them, and histograms with cumulative buckets.
 */
#include <sys/types.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <atf-c.h>

#include "prom.h"

#define TEXT_MAX	4096

/* The buffer's text, NUL-terminated, into out. */
static const char *
text(struct evbuffer *b, char *out)
{
	size_t	 n = evbuffer_get_length(b);

	ATF_REQUIRE(n < TEXT_MAX);
	evbuffer_remove(b, out, n);
	out[n] = '\0';
	return (out);
}

ATF_TC_WITHOUT_HEAD(family_and_samples);
ATF_TC_BODY(family_and_samples, tc)
{
	struct evbuffer		*b = evbuffer_new();
	struct prom_label	 l[2] = { { "peer", "a+b/c=" }, { "path", "direct" } };
	char			 out[TEXT_MAX];

	prom_family(b, "cbp2p_x_total", PROM_COUNTER, "Help with \\ and\nnewline.");
	prom_u64(b, "cbp2p_x_total", NULL, 0, 18446744073709551615ULL);
	prom_u64(b, "cbp2p_x_total", l, 2, 7);
	text(b, out);
	ATF_CHECK_STREQ(out,
	    "# HELP cbp2p_x_total Help with \\\\ and\\nnewline.\n"
	    "# TYPE cbp2p_x_total counter\n"
	    "cbp2p_x_total 18446744073709551615\n"
	    "cbp2p_x_total{peer=\"a+b/c=\",path=\"direct\"} 7\n");
	evbuffer_free(b);
}

ATF_TC_WITHOUT_HEAD(label_escape);
ATF_TC_BODY(label_escape, tc)
{
	struct evbuffer		*b = evbuffer_new();
	struct prom_label	 l = { "name", "a\"b\\c\nd" };
	char			 out[TEXT_MAX];

	prom_u64(b, "m", &l, 1, 1);
	text(b, out);
	ATF_CHECK_STREQ(out, "m{name=\"a\\\"b\\\\c\\nd\"} 1\n");
	evbuffer_free(b);
}

ATF_TC_WITHOUT_HEAD(numbers);
ATF_TC_BODY(numbers, tc)
{
	struct evbuffer		*b = evbuffer_new();
	char			 out[TEXT_MAX];

	prom_double(b, "a", NULL, 0, 0.005);
	prom_double(b, "b", NULL, 0, 0.1 + 0.2);
	prom_double(b, "c", NULL, 0, INFINITY);
	prom_double(b, "d", NULL, 0, -INFINITY);
	prom_double(b, "e", NULL, 0, NAN);
	prom_double(b, "f", NULL, 0, 1e-7);
	text(b, out);
	/* The shortest that reads back as the value written. */
	ATF_CHECK(strstr(out, "a 0.005\n") != NULL);
	ATF_CHECK(strtod(strstr(out, "b ") + 2, NULL) == 0.1 + 0.2);
	ATF_CHECK(strstr(out, "c +Inf\nd -Inf\ne NaN\n") != NULL);
	ATF_CHECK(strstr(out, "f 1e-07\n") != NULL);
	evbuffer_free(b);
}

ATF_TC_WITHOUT_HEAD(histogram);
ATF_TC_BODY(histogram, tc)
{
	static const double	 bounds[] = { 0.001, 0.01, 0.1 };
	struct evbuffer		*b = evbuffer_new();
	struct prom_hist	 h;
	struct prom_label	 l = { "path", "relay" };
	char			 out[TEXT_MAX];

	ATF_REQUIRE(prom_hist_init(&h, bounds, 3) == 0);
	prom_hist_observe(&h, 0.0005);
	prom_hist_observe(&h, 0.001);	/* le is inclusive */
	prom_hist_observe(&h, 0.05);
	prom_hist_observe(&h, 2);	/* only +Inf */
	prom_hist_observe(&h, NAN);	/* ignored */
	prom_hist(b, "rtt_seconds", &l, 1, &h);
	text(b, out);
	ATF_CHECK_STREQ(out,
	    "rtt_seconds_bucket{path=\"relay\",le=\"0.001\"} 2\n"
	    "rtt_seconds_bucket{path=\"relay\",le=\"0.01\"} 2\n"
	    "rtt_seconds_bucket{path=\"relay\",le=\"0.1\"} 3\n"
	    "rtt_seconds_bucket{path=\"relay\",le=\"+Inf\"} 4\n"
	    "rtt_seconds_sum{path=\"relay\"} 2.0515\n"
	    "rtt_seconds_count{path=\"relay\"} 4\n");
	ATF_CHECK(prom_hist_init(&h, bounds, PROM_BUCKETS_MAX + 1) == -1);
	evbuffer_free(b);
}

ATF_TC_WITHOUT_HEAD(names);
ATF_TC_BODY(names, tc)
{
	char	 buf[32];

	ATF_CHECK(prom_name_valid("cbp2p_peers"));
	ATF_CHECK(prom_name_valid("a:b_c9"));
	ATF_CHECK(!prom_name_valid(""));
	ATF_CHECK(!prom_name_valid("9a"));
	ATF_CHECK(!prom_name_valid("a-b"));
	prom_snake(buf, sizeof(buf), "UDP blocked");
	ATF_CHECK_STREQ(buf, "udp_blocked");
	prom_snake(buf, sizeof(buf), "our NAT is symmetric");
	ATF_CHECK_STREQ(buf, "our_nat_is_symmetric");
	prom_snake(buf, 4, "abcdef");
	ATF_CHECK_STREQ(buf, "abc");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, family_and_samples);
	ATF_TP_ADD_TC(tp, label_escape);
	ATF_TP_ADD_TC(tp, numbers);
	ATF_TP_ADD_TC(tp, histogram);
	ATF_TP_ADD_TC(tp, names);
	return (atf_no_error());
}
