/*
 * Not a test of cbp2p: a test program with a deliberate leak, built
 * exactly as the sanitized unit tests are (same flags, lsan_atf.h
 * forced in).  t_lsan_canary runs it and requires that the leaking case
 * fails with a LeakSanitizer report while the clean case passes, so a
 * suppression that hides leaks in test bodies cannot come back unseen.
 */
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

/* Through a volatile pointer, so the compiler cannot drop the malloc. */
static char *volatile	 canary;

static void
leak_200_bytes(void)
{
	canary = malloc(200);
	ATF_REQUIRE(canary != NULL);
	memset(canary, 'x', 200);
	canary = NULL;
}

ATF_TC_WITHOUT_HEAD(leaks);
ATF_TC_BODY(leaks, tc)
{
	leak_200_bytes();
}

ATF_TC_WITHOUT_HEAD(clean);
ATF_TC_BODY(clean, tc)
{
	char	*p;

	p = malloc(200);
	ATF_REQUIRE(p != NULL);
	memset(p, 'x', 200);
	free(p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, leaks);
	ATF_TP_ADD_TC(tp, clean);
	return (atf_no_error());
}
