/*
 * The registry's answer to a register or heartbeat as cbdiscod reads it
 * (reg_parse_ack in cbdiscod/registry.c, compiled in): an arbitrary
 * reply body.  It is taken exactly when a naive reading with jansson
 * finds an object with a version in range, and then with that version
 * and the TTL the reply names when it is in range, the default when
 * not; a refusal says why and sets nothing; what it took, written back
 * as a registry would, reads the same.
 *
 * Input: the body.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cbdiscod.h"
#include "disco_hooks.h"
#include "fuzz.h"

#define UNSET		UINT64_C(0x5eed5eed5eed5eed)
#define TTL_UNSET	0xdeadu
#define ACK_TEXT_MAX	96

/* The model: 1 and what it says when the reply is taken. */
static int
naive(const char *buf, size_t len, uint64_t *version, unsigned int *ttl)
{
	json_t		*j, *v, *t;
	json_int_t	 n;
	int		 ok = 0;

	if (len == 0 || len > REG_REPLY_MAX ||
	    (j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return (0);
	if (!json_is_object(j))
		goto done;
	v = json_object_get(j, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		goto done;
	*version = (uint64_t)json_integer_value(v);
	*ttl = REG_TTL_DEFAULT;
	t = json_object_get(j, "ttl");
	if (json_is_integer(t)) {
		n = json_integer_value(t);
		if (n >= REG_TTL_MIN && n <= REG_TTL_MAX)
			*ttl = (unsigned int)n;
	}
	ok = 1;
done:
	json_decref(j);
	return (ok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	 version = UNSET, want_version = 0, again_version;
	unsigned int	 ttl = TTL_UNSET, want_ttl = 0, again_ttl;
	const char	*why;
	char		*body, text[ACK_TEXT_MAX];
	int		 n;

	/* Exactly size bytes on the heap: ASan sees every overread. */
	body = (char *)fz_dup(data, size);
	why = reg_parse_ack(body, size, &version, &ttl);
	FZ_CHECK(why != NULL);
	if (!naive(body, size, &want_version, &want_ttl)) {
		FZ_CHECK(*why != '\0');
		FZ_CHECK(version == UNSET && ttl == TTL_UNSET);
		goto done;
	}
	FZ_CHECK(*why == '\0');
	FZ_CHECK(version == want_version && ttl == want_ttl);
	FZ_CHECK(version <= REG_VERSION_MAX);
	FZ_CHECK(ttl >= REG_TTL_MIN && ttl <= REG_TTL_MAX);
	n = snprintf(text, sizeof(text), "{\"version\": %llu, \"ttl\": %u}",
	    (unsigned long long)version, ttl);
	FZ_CHECK(n > 0 && (size_t)n < sizeof(text));
	FZ_CHECK(*reg_parse_ack(text, (size_t)n, &again_version,
	    &again_ttl) == '\0');
	FZ_CHECK(again_version == version && again_ttl == ttl);
done:
	free(body);
	return (0);
}
