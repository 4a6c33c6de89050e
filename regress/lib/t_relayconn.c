/*
 * The reading side of a relay connection (lib/relayconn.c): frames taken
 * off an evbuffer that fills in pieces, a stop that leaves the buffer
 * alone, broken streams told apart, ERROR text made printable, and the
 * RESTARTING window kept within the client's bounds however much the
 * relay asks.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <event2/buffer.h>

#include "relayconn.h"

#define MAX_SEEN	16

struct seen {
	enum relay_frame_type	 type[MAX_SEEN];
	size_t			 n;
	size_t			 stop_at;	/* say stop at this frame */
};

static uint8_t	 key[WG_KEY_LEN];
static uint32_t	 asked;

static int
take(void *arg, const struct relay_frame *f)
{
	struct seen	*s = arg;

	ATF_REQUIRE(s->n < MAX_SEEN);
	s->type[s->n++] = f->type;
	return (s->n == s->stop_at ? -1 : 0);
}

/* The largest draw there is: the worst case for the bound. */
static uint32_t
draw_max(uint32_t n)
{
	asked = n;
	return (n - 1);
}

static size_t
put(struct evbuffer *b, enum relay_frame_type type, const uint8_t *k,
    const void *data, size_t len)
{
	static uint8_t	 buf[RELAY_FRAME_MAX];
	size_t		 n;

	n = relay_frame_encode(buf, sizeof(buf), type, k, data, len);
	ATF_REQUIRE(n > 0);
	ATF_REQUIRE_EQ(evbuffer_add(b, buf, n), 0);
	return (n);
}

ATF_TC_WITHOUT_HEAD(frames_in_pieces);
ATF_TC_BODY(frames_in_pieces, tc)
{
	struct evbuffer	*all, *in;
	struct seen	 s;
	uint8_t		 pkt[100], byte;
	size_t		 total;

	memset(&s, 0, sizeof(s));
	memset(pkt, 0x42, sizeof(pkt));
	ATF_REQUIRE((all = evbuffer_new()) != NULL);
	ATF_REQUIRE((in = evbuffer_new()) != NULL);
	put(all, RELAY_AUTH_OK, key, NULL, 0);
	put(all, RELAY_RECV, key, pkt, sizeof(pkt));
	total = evbuffer_get_length(all) + put(all, RELAY_KEEPALIVE, NULL,
	    NULL, 0);
	ATF_REQUIRE_EQ(evbuffer_get_length(all), total);
	/* One byte at a time: nothing before a frame is whole. */
	while (evbuffer_remove(all, &byte, 1) == 1) {
		evbuffer_add(in, &byte, 1);
		ATF_REQUIRE_EQ(relay_read(in, take, &s), RELAY_READ_WAIT);
	}
	ATF_REQUIRE_EQ(s.n, 3);
	ATF_REQUIRE_EQ(s.type[0], RELAY_AUTH_OK);
	ATF_REQUIRE_EQ(s.type[1], RELAY_RECV);
	ATF_REQUIRE_EQ(s.type[2], RELAY_KEEPALIVE);
	ATF_REQUIRE_EQ(evbuffer_get_length(in), 0);
	evbuffer_free(all);
	evbuffer_free(in);
}

ATF_TC_WITHOUT_HEAD(stop_leaves_buffer);
ATF_TC_BODY(stop_leaves_buffer, tc)
{
	struct evbuffer	*in;
	struct seen	 s;
	size_t		 n1, n2;

	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	ATF_REQUIRE((in = evbuffer_new()) != NULL);
	n1 = put(in, RELAY_PEER_PRESENT, key, NULL, 0);
	n2 = put(in, RELAY_KEEPALIVE, NULL, NULL, 0);
	ATF_REQUIRE_EQ(relay_read(in, take, &s), RELAY_READ_STOPPED);
	ATF_REQUIRE_EQ(s.n, 1);
	/* Not even the frame it stopped at is drained. */
	ATF_REQUIRE_EQ(evbuffer_get_length(in), n1 + n2);
	evbuffer_free(in);
}

ATF_TC_WITHOUT_HEAD(broken_streams);
ATF_TC_BODY(broken_streams, tc)
{
	/* An unknown type: refused from the header alone. */
	const uint8_t	 bad_type[] = { 0x0a, 0, 0, 0, 0 };
	/* SEND promising more than a key and the largest packet. */
	const uint8_t	 too_big[] = { RELAY_SEND, 0, 1, 0, 0x21 };
	/* AUTH_OK with a key one byte short. */
	uint8_t		 short_key[RELAY_HDR_LEN + WG_KEY_LEN - 1] = {
			    RELAY_AUTH_OK, 0, 0, 0, WG_KEY_LEN - 1 };
	struct evbuffer	*in;
	struct seen	 s;

	memset(&s, 0, sizeof(s));
	ATF_REQUIRE((in = evbuffer_new()) != NULL);
	put(in, RELAY_KEEPALIVE, NULL, NULL, 0);
	evbuffer_add(in, bad_type, sizeof(bad_type));
	ATF_REQUIRE_EQ(relay_read(in, take, &s), RELAY_READ_BAD_HEADER);
	ATF_REQUIRE_EQ(s.n, 1);
	evbuffer_drain(in, evbuffer_get_length(in));

	evbuffer_add(in, too_big, sizeof(too_big));
	ATF_REQUIRE_EQ(relay_read(in, take, &s), RELAY_READ_BAD_HEADER);
	evbuffer_drain(in, evbuffer_get_length(in));

	/* Its header alone says so: its payload is never waited for. */
	evbuffer_add(in, short_key, RELAY_HDR_LEN);
	ATF_REQUIRE_EQ(relay_read(in, take, &s), RELAY_READ_BAD_HEADER);
	ATF_REQUIRE_EQ(s.n, 1);
	evbuffer_free(in);
}

ATF_TC_WITHOUT_HEAD(error_text);
ATF_TC_BODY(error_text, tc)
{
	const uint8_t		 msg[] = { 'n', 'o', '\n', 0x1b, 0xff, '.' };
	struct relay_frame	 f;
	char			 text[8];

	memset(&f, 0, sizeof(f));
	f.type = RELAY_ERROR;
	f.data = msg;
	f.len = sizeof(msg);
	relay_error_text(&f, text, sizeof(text));
	ATF_REQUIRE_STREQ(text, "no???.");
	relay_error_text(&f, text, 3);
	ATF_REQUIRE_STREQ(text, "no");
	relay_error_text(&f, text, 1);
	ATF_REQUIRE_STREQ(text, "");
}

/*
 * A relay asking for a reconnect 49 days away gets the client's cap:
 * the jitter is a quarter of the wait kept, not of the wait asked (it
 * used to be, which let a relay park its clients for twelve days).
 */
ATF_TC_WITHOUT_HEAD(restart_window);
ATF_TC_BODY(restart_window, tc)
{
	const uint64_t	 now = 5000;
	uint64_t	 at, until;

	relay_restart_window(now, UINT32_MAX, UINT32_MAX, draw_max, &at,
	    &until);
	ATF_REQUIRE_EQ(asked, RELAY_RESTART_WAIT_MAX / RELAY_RESTART_JITTER +
	    1);
	ATF_REQUIRE_EQ(at, now + RELAY_RESTART_WAIT_MAX +
	    RELAY_RESTART_WAIT_MAX / RELAY_RESTART_JITTER);
	ATF_REQUIRE_EQ(until, at + RELAY_RESTART_TRY_MAX +
	    RELAY_RESTART_RETRY_MS);

	/* What cbedged sends: 1 s, then a minute of tries. */
	relay_restart_window(now, 1000, 60000, draw_max, &at, &until);
	ATF_REQUIRE_EQ(at, now + 1000 + 250);
	ATF_REQUIRE_EQ(until, at + 60000 + RELAY_RESTART_RETRY_MS);

	/* Now means now, with no jitter drawn. */
	asked = 0;
	relay_restart_window(now, 0, 0, draw_max, &at, &until);
	ATF_REQUIRE_EQ(asked, 0);
	ATF_REQUIRE_EQ(at, now);
	ATF_REQUIRE_EQ(until, now + RELAY_RESTART_RETRY_MS);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, frames_in_pieces);
	ATF_TP_ADD_TC(tp, stop_leaves_buffer);
	ATF_TP_ADD_TC(tp, broken_streams);
	ATF_TP_ADD_TC(tp, error_text);
	ATF_TP_ADD_TC(tp, restart_window);
	return (0);
}
