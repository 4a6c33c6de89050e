/*
 * Text that came from a child, the registry or the network, made safe
 * to print on an operator's terminal (cbp2pctl's text output).
 */
#ifndef CBP2P_TEXTSAFE_H
#define CBP2P_TEXTSAFE_H

#include <stddef.h>

/* Room for a string of n bytes with every byte encoded ("\ooo"). */
#define TEXT_SAFE_LEN(n)	((n) * 4 + 1)

/*
 * s with control characters, DEL, bytes above 0x7e and backslashes
 * encoded as vis(3) does (\n, \t, \r and the like C-style, the rest as
 * \ooo octal), cut to fit len without splitting an encoding; printable
 * ASCII passes unchanged.  Returns buf.
 */
const char	*text_safe(const char *, char *, size_t);

#endif /* CBP2P_TEXTSAFE_H */
