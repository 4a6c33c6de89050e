/*
 * The Makefile force-includes this in every sanitized test program.  libatf-c 0.21 does not free
 * the test case list it builds for "-l", which kyua runs first; under
 * LeakSanitizer that fails the sanitized program.  Only those ATF
 * allocation sites are suppressed: a frame of ours above them (every
 * allocation a test body makes) is never matched.
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
	return ("leak:libatf-c.so\n"
	    "leak:atf_tp_get_tcs\n"
	    "leak:atf_list_init\n"
	    "leak:atf_list_append\n"
	    "leak:atf_map_init_charpp\n"
	    "leak:atf_map_insert\n");
}

#endif /* CBP2P_LSAN_ATF_H */
