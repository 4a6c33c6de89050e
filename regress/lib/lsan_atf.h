/*
 * The Makefile force-includes this in every sanitized test program.
 * libatf-c 0.21 does not free the test case list it builds for "-l",
 * which kyua runs first; under LeakSanitizer that fails the listing.
 * Only the libatf functions that allocate that list are suppressed, by
 * name: libatf-c has no frame pointers, so a leak's stack as reported
 * here stops at its first libatf frame, and these names are that frame only
 * for allocations libatf makes itself.  Never suppress the library as a
 * whole ("leak:libatf-c.so"): every test body runs under libatf's
 * atf_tc_run, so that would hide every leak of ours.  Running each test
 * case with no suppressions at all reports nothing, so nothing else of
 * libatf's needs one; t_lsan_canary proves a leak in a body still fails.
 */
#ifndef CBP2P_LSAN_ATF_H
#define CBP2P_LSAN_ATF_H

const char	*__lsan_default_suppressions(void);
const char	*__lsan_default_options(void);

/* kyua refuses a test case list that writes anything to stderr. */
const char *
__lsan_default_options(void)
{
	return ("print_suppressions=0");
}

const char *
__lsan_default_suppressions(void)
{
	return ("leak:atf_tp_get_tcs\n"
	    "leak:atf_list_init\n"
	    "leak:atf_list_append\n"
	    "leak:atf_map_init_charpp\n"
	    "leak:atf_map_insert\n");
}

#endif /* CBP2P_LSAN_ATF_H */
