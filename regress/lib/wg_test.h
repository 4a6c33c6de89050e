/*
 * Helpers shared by the WireGuard core tests.
 */
#ifndef CBP2P_WG_TEST_H
#define CBP2P_WG_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <atf-c.h>

/*
 * libatf-c does not free its test case list before exit; LeakSanitizer
 * would fail every sanitized program on that alone.  Only leaks whose
 * stack goes through libatf-c are suppressed, ours are still reported.
 */
const char	*__lsan_default_suppressions(void);
const char	*__lsan_default_options(void);

/* Quietly: kyua takes anything on stderr of a listing as breakage. */
const char *
__lsan_default_options(void)
{
	return ("print_suppressions=0");
}

const char *
__lsan_default_suppressions(void)
{
	return ("leak:libatf-c.so\n");
}

static inline void
unhex(uint8_t *out, size_t len, const char *hex)
{
	size_t		 i;
	unsigned int	 v;

	ATF_REQUIRE_EQ(strlen(hex), len * 2);
	for (i = 0; i < len; i++) {
		ATF_REQUIRE(sscanf(hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
}

static inline void
check_hex(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t	 want[256];

	ATF_REQUIRE(len <= sizeof(want));
	unhex(want, len, hex);
	ATF_CHECK_MSG(memcmp(got, want, len) == 0, "mismatch, want %s", hex);
}

#endif /* CBP2P_WG_TEST_H */
