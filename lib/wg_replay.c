/*
 * Sliding replay window for transport counters, RFC 6479 style: a ring
 * of 64-bit words, cleared a word at a time as the window advances, so
 * neither check nor update ever shifts the bitmap.
 */
#include <stdint.h>
#include <string.h>

#include "wg.h"

void
wg_replay_init(struct wg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

int
wg_replay_check(const struct wg_replay *r, uint64_t counter)
{
	uint64_t	 n;

	if (counter >= WG_REJECT_AFTER_MESSAGES)
		return (WG_EREPLAY);
	/* Counters are stored plus one, so that 0 means "none yet". */
	n = counter + 1;
	if (n > r->top)
		return (WG_OK);
	if (r->top - n > WG_REPLAY_WINDOW)
		return (WG_EREPLAY);
	if (r->bits[(n / WG_REPLAY_WORD_BITS) % WG_REPLAY_WORDS] &
	    (UINT64_C(1) << (n % WG_REPLAY_WORD_BITS)))
		return (WG_EREPLAY);
	return (WG_OK);
}

int
wg_replay_update(struct wg_replay *r, uint64_t counter)
{
	uint64_t	 n, word, cur, diff, i;

	if (wg_replay_check(r, counter) != WG_OK)
		return (WG_EREPLAY);
	n = counter + 1;
	word = n / WG_REPLAY_WORD_BITS;
	if (n > r->top) {
		/* Clear the words the window slides over, at most all. */
		cur = r->top / WG_REPLAY_WORD_BITS;
		diff = word - cur;
		if (diff > WG_REPLAY_WORDS)
			diff = WG_REPLAY_WORDS;
		for (i = 1; i <= diff; i++)
			r->bits[(cur + i) % WG_REPLAY_WORDS] = 0;
		r->top = n;
	}
	r->bits[word % WG_REPLAY_WORDS] |=
	    UINT64_C(1) << (n % WG_REPLAY_WORD_BITS);
	return (WG_OK);
}
