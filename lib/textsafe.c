/*
 * vis(3) from libbsd for text a terminal shows.  Not VIS_SAFE: it lets
 * backspace, bell and carriage return through, and those still rewrite
 * what the operator reads.  One character at a time with vis(), so a
 * cut never splits an encoding (libbsd's strnvis does).
 */

#include <sys/types.h>

#include <string.h>

#define LIBBSD_OPENBSD_VIS
#include <vis.h>

#include "textsafe.h"

#define TEXT_SAFE_FLAGS	(VIS_OCTAL | VIS_CSTYLE | VIS_TAB | VIS_NL)
#define VIS_ONE_MAX	5	/* "\ooo" and its NUL */

const char *
text_safe(const char *s, char *buf, size_t len)
{
	char	 one[VIS_ONE_MAX], *end;
	size_t	 used = 0, n;

	if (len == 0)
		return (buf);
	buf[0] = '\0';
	for (; s != NULL && *s != '\0'; s++) {
		end = vis(one, (unsigned char)*s, TEXT_SAFE_FLAGS, s[1]);
		n = (size_t)(end - one);
		if (n >= len - used)
			break;
		memcpy(buf + used, one, n);
		used += n;
		buf[used] = '\0';
	}
	return (buf);
}
