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

/*
 * Out of line, and the stack below scrubbed afterwards: LeakSanitizer
 * scans stacks and registers conservatively, and a stale copy of the
 * pointer there would make the leak look reachable (one sanitized run
 * in six under stress-ng passed the leaking case).
 */
static void __attribute__((noinline))
leak_200_bytes(void)
{
	canary = malloc(200);
	ATF_REQUIRE(canary != NULL);
	memset(canary, 'x', 200);
	canary = NULL;
}

static void __attribute__((noinline))
scrub_stack(void)
{
	volatile char	 junk[16384];
	size_t		 i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = 0;
}

ATF_TC_WITHOUT_HEAD(leaks);
ATF_TC_BODY(leaks, tc)
{
	leak_200_bytes();
	scrub_stack();
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
