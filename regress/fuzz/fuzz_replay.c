/*
 * The transport replay window (lib/wg_replay.c) against an exact model:
 * every counter accepted so far in a hash set, and the rule the window
 * implements (a counter is taken once, if it is below the message limit
 * and not more than WG_REPLAY_WINDOW behind the greatest taken).  Each
 * operation checks or takes one counter, chosen near the top of the
 * window, at its back edge, far ahead or near the limit, and both must
 * agree every time.
 */
#include <stdint.h>
#include <string.h>

#include "wg.h"
#include "fuzz.h"

#define OPS_MAX		2048
#define SET_SIZE	4096		/* a power of two above OPS_MAX */
#define SET_SHIFT	52		/* 64 - log2(SET_SIZE) */
#define EDGE_SLACK	256		/* counters around the back edge */

enum op {
	OP_ABSOLUTE,
	OP_BEHIND,	/* a little below the top, across the back edge */
	OP_AHEAD,	/* a jump forward, small or over the whole ring */
	OP_LIMIT,	/* next to WG_REJECT_AFTER_MESSAGES */
	OP_MAX
};

struct model {
	uint64_t	 top;		/* greatest taken + 1, 0: none */
	uint64_t	 set[SET_SIZE];	/* counter + 1; 0: empty slot */
};

static size_t
slot(uint64_t n)
{
	return ((size_t)((n * FZ_GOLDEN) >> SET_SHIFT) % SET_SIZE);
}

static int
model_seen(const struct model *m, uint64_t n)
{
	size_t	 i;

	for (i = slot(n); m->set[i] != 0; i = (i + 1) % SET_SIZE)
		if (m->set[i] == n)
			return (1);
	return (0);
}

static void
model_add(struct model *m, uint64_t n)
{
	size_t	 i;

	for (i = slot(n); m->set[i] != 0; i = (i + 1) % SET_SIZE)
		;
	m->set[i] = n;
}

static int
model_check(const struct model *m, uint64_t counter)
{
	uint64_t	 n;

	if (counter >= WG_REJECT_AFTER_MESSAGES)
		return (WG_EREPLAY);
	n = counter + 1;
	if (n > m->top)
		return (WG_OK);
	if (m->top - n > WG_REPLAY_WINDOW || model_seen(m, n))
		return (WG_EREPLAY);
	return (WG_OK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model	 m;
	struct wg_replay	 r;
	struct fz		 f;
	uint64_t		 c, v;
	size_t			 ops;
	uint8_t			 b;
	int			 want, update;

	memset(&m, 0, sizeof(m));
	wg_replay_init(&r);
	fz_init(&f, data, size);
	for (ops = 0; ops < OPS_MAX && f.left > 0; ops++) {
		b = fz_u8(&f);
		update = (b & 0x80) == 0;
		switch ((b & 0x7f) % OP_MAX) {
		case OP_ABSOLUTE:
			c = fz_u64(&f);
			break;
		case OP_BEHIND:
			v = fz_u16(&f) % (WG_REPLAY_WINDOW + EDGE_SLACK);
			c = m.top > v + 1 ? m.top - 1 - v : fz_u8(&f);
			break;
		case OP_AHEAD:
			v = fz_u16(&f);
			if (b & 0x40)
				v *= WG_REPLAY_WORD_BITS;
			c = m.top + v;
			break;
		default:
			c = WG_REJECT_AFTER_MESSAGES - 1 - fz_u8(&f) +
			    (fz_u8(&f) & 1) * EDGE_SLACK;
			break;
		}
		want = model_check(&m, c);
		FZ_CHECK(wg_replay_check(&r, c) == want);
		if (!update)
			continue;
		FZ_CHECK(wg_replay_update(&r, c) == want);
		if (want == WG_OK) {
			model_add(&m, c + 1);
			if (c + 1 > m.top)
				m.top = c + 1;
			FZ_CHECK(r.top == m.top);
			/* Taken once, never twice. */
			FZ_CHECK(wg_replay_check(&r, c) == WG_EREPLAY);
		}
	}
	return (0);
}
