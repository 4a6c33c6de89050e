/*
 * text_safe: what cbp2pctl prints of strings from children, the
 * registry and the network reaches the terminal without a control byte.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <atf-c.h>

#include "textsafe.h"

#define DEL	0x7f

/* No byte below space, no DEL, none above '~' in s. */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= DEL)
			return (0);
	return (1);
}

ATF_TC_WITHOUT_HEAD(escapes);
ATF_TC_BODY(escapes, tc)
{
	char	 buf[TEXT_SAFE_LEN(64)];

	/* A terminal title, a bell, and printable text around them. */
	ATF_CHECK_STREQ(text_safe("evil\033]0;owned\007!", buf, sizeof(buf)),
	    "evil\\033]0;owned\\a!");
	ATF_CHECK_STREQ(text_safe("a\rb\bc\nd\te", buf, sizeof(buf)),
	    "a\\rb\\bc\\nd\\te");
	/* DEL, an 8-bit CSI, UTF-8 bytes: all encoded. */
	ATF_CHECK_STREQ(text_safe("x\177y\233z", buf, sizeof(buf)),
	    "x\\177y\\233z");
	text_safe("caf\303\251", buf, sizeof(buf));
	ATF_CHECK(printable(buf));
	/* A backslash is doubled, so no encoding can be forged. */
	ATF_CHECK_STREQ(text_safe("a\\033b", buf, sizeof(buf)),
	    "a\\\\033b");
	ATF_CHECK_STREQ(text_safe("node-1.example", buf, sizeof(buf)),
	    "node-1.example");
	ATF_CHECK_STREQ(text_safe(NULL, buf, sizeof(buf)), "");
}

ATF_TC_WITHOUT_HEAD(every_byte);
ATF_TC_BODY(every_byte, tc)
{
	char	 in[2], buf[TEXT_SAFE_LEN(1)];
	int	 c;

	in[1] = '\0';
	for (c = 1; c < 256; c++) {
		in[0] = (char)c;
		text_safe(in, buf, sizeof(buf));
		ATF_CHECK_MSG(printable(buf), "byte %#x: \"%s\"", c, buf);
		if (c > ' ' && c < DEL && c != '\\')
			ATF_CHECK_MSG(buf[0] == c && buf[1] == '\0',
			    "byte %#x changed", c);
	}
}

ATF_TC_WITHOUT_HEAD(truncates_whole);
ATF_TC_BODY(truncates_whole, tc)
{
	char	 buf[8];

	/* "ab" fits, "\033" (4 bytes) would not: it is left out whole. */
	text_safe("abcd\033", buf, 7);
	ATF_CHECK_STREQ(buf, "abcd");
	text_safe("\033\033", buf, sizeof(buf));
	ATF_CHECK_STREQ(buf, "\\033");
	ATF_CHECK(printable(buf));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, escapes);
	ATF_TP_ADD_TC(tp, every_byte);
	ATF_TP_ADD_TC(tp, truncates_whole);
	return (atf_no_error());
}
