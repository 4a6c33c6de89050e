/*
 * Helpers shared by the WireGuard core tests.
 */
#ifndef CBP2P_WG_TEST_H
#define CBP2P_WG_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <atf-c.h>

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
