/*
 * Cookie replies and mac2 (lib/wg_cookie.c), the DoS defence in front
 * of the handshake.  A responder under load answers an initiation from
 * a source with a cookie reply; the input tampers with that reply
 * (an XOR mask over its bytes) before the initiator takes it, moves the
 * clock, and has the initiator try again, from the same source or
 * another.  Invariants: a reply is taken exactly when the bytes that
 * authenticate it (everything but its receiver index) are untouched
 * and it answers the initiator's latest message, and only once; the
 * retry passes under load exactly when the initiator holds a cookie
 * younger than its lifetime, made for that source with the responder's
 * current secret.  Arbitrary bytes go through both checks as well and
 * never pass mac1 or decrypt.
 *
 * Input: operations of a byte each and their arguments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wg.h"
#include "fuzz.h"

#define OPS_MAX		64
#define SRC_LEN		6
#define WALL_BASE	1700000000
#define START_NS	WG_NSEC_PER_SEC
#define COOKIE_RX_OFF	4
#define COOKIE_RX_END	8
#define RAW_MAX		(WG_INITIATION_LEN + 1)

enum op {
	OP_INITIATE,	/* the initiator's next message, to the responder */
	OP_REPLY,	/* the last reply, masked, to the initiator */
	OP_TICK,
	OP_SOURCE,	/* the initiator moves */
	OP_RAW_CHECK,
	OP_RAW_REPLY,
	OP_MAX
};

struct side {
	struct wg_local	 local;
	struct wg_peer	 peer;
};

static struct wg_crypto	*crypto;
static struct side	 pristine[2];
static uint64_t		 rng;

static void
random_fn(void *arg, void *buf, size_t len)
{
	uint8_t	*b = buf;
	size_t	 i;

	for (i = 0; i < len; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		b[i] = (uint8_t)rng;
	}
}

static void
setup(void)
{
	uint8_t	 priv[WG_KEY_LEN];
	int	 i;

	if ((crypto = wg_crypto_new()) == NULL)
		abort();
	for (i = 0; i < 2; i++) {
		memset(priv, 0x51 + i, sizeof(priv));
		if (wg_local_init(&pristine[i].local, crypto, priv) != WG_OK)
			abort();
	}
	for (i = 0; i < 2; i++)
		if (wg_peer_init(&pristine[i].peer, &pristine[i].local,
		    pristine[1 - i].local.pub, NULL) != WG_OK)
			abort();
}

/* What the initiator should hold, from the replies it took. */
struct model {
	uint64_t	 last_msg;	/* the initiator's latest message */
	int		 spent;		/* a reply was taken since */
	uint64_t	 reply_for;	/* the stored reply answers it */
	uint8_t		 reply_src[SRC_LEN];
	uint64_t	 reply_secret;	/* the secret's birth */
	int		 held;		/* the initiator holds one */
	uint8_t		 held_src[SRC_LEN];
	uint64_t	 held_secret;
	uint64_t	 held_birth;
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct side	 ini, rsp;
	struct model		 m;
	struct fz		 f;
	struct timespec		 wall;
	uint8_t			 msg[WG_INITIATION_LEN];
	uint8_t			 reply[WG_COOKIE_REPLY_LEN];
	uint8_t			 r2[WG_COOKIE_REPLY_LEN], raw[RAW_MAX];
	uint8_t			 src[SRC_LEN], mask[WG_COOKIE_REPLY_LEN];
	uint64_t		 now = START_NS;
	size_t			 ops, len, i;
	enum wg_verdict		 v;
	uint32_t		 index = 1;
	int			 clean, want, taken;
	uint8_t			 b;

	if (crypto == NULL)
		setup();
	fz_init(&f, data, size);
	ini = pristine[0];
	rsp = pristine[1];
	rng = fz_u32(&f) | 1;
	ini.local.random = rsp.local.random = random_fn;
	fz_copy(&f, src, sizeof(src));
	memset(&m, 0, sizeof(m));

	for (ops = 0; ops < OPS_MAX && f.left > 0; ops++) {
		b = fz_u8(&f);
		switch (b % OP_MAX) {
		case OP_INITIATE:
			wall.tv_sec = WALL_BASE + (time_t)(now /
			    WG_NSEC_PER_SEC);
			wall.tv_nsec = (long)(now % WG_NSEC_PER_SEC);
			FZ_CHECK(wg_create_initiation(&ini.local, &ini.peer,
			    index++, now, &wall, msg) == WG_OK);
			m.last_msg++;
			m.spent = 0;
			FZ_CHECK(wg_cookie_mac1_ok(&rsp.local, msg,
			    sizeof(msg)));
			/* Not under load, mac1 alone lets it through. */
			FZ_CHECK(wg_cookie_check(&rsp.local, msg, sizeof(msg),
			    src, sizeof(src), 0, now, r2) ==
			    WG_VERDICT_PROCESS);
			v = wg_cookie_check(&rsp.local, msg, sizeof(msg), src,
			    sizeof(src), 1, now, reply);
			want = m.held && now - m.held_birth <
			    WG_COOKIE_MAX_AGE &&
			    memcmp(src, m.held_src, sizeof(src)) == 0 &&
			    rsp.local.cookie_secret_birth == m.held_secret;
			FZ_CHECK(v == (want ? WG_VERDICT_PROCESS :
			    WG_VERDICT_COOKIE));
			if (v != WG_VERDICT_COOKIE)
				break;
			FZ_CHECK(wg_msg_type(reply, sizeof(reply)) ==
			    WG_MSG_COOKIE);
			FZ_CHECK(wg_msg_receiver_index(reply, sizeof(reply)) ==
			    index - 1);
			m.reply_for = m.last_msg;
			memcpy(m.reply_src, src, sizeof(src));
			m.reply_secret = rsp.local.cookie_secret_birth;
			break;
		case OP_REPLY:
			if (m.reply_for == 0)
				break;
			fz_copy(&f, mask, sizeof(mask));
			clean = 1;
			for (i = 0; i < sizeof(r2); i++) {
				r2[i] = reply[i] ^ mask[i];
				if (mask[i] != 0 && (i < COOKIE_RX_OFF ||
				    i >= COOKIE_RX_END))
					clean = 0;
			}
			taken = wg_consume_cookie_reply(&ini.peer, r2,
			    sizeof(r2), now) == WG_OK;
			/* Untouched, for the latest message, only once. */
			FZ_CHECK(taken == (clean && m.reply_for ==
			    m.last_msg && !m.spent));
			if (!taken)
				break;
			m.spent = 1;
			m.held = 1;
			memcpy(m.held_src, m.reply_src, sizeof(src));
			m.held_secret = m.reply_secret;
			m.held_birth = now;
			FZ_CHECK(ini.peer.cookie_valid &&
			    ini.peer.cookie_birth == now);
			break;
		case OP_TICK:
			b = fz_u8(&f);
			now += (uint64_t)fz_u8(&f) * ((b & 1) ?
			    WG_NSEC_PER_SEC : WG_NSEC_PER_MSEC);
			break;
		case OP_SOURCE:
			i = fz_u8(&f) % sizeof(src);
			src[i] ^= fz_u8(&f) | 1;
			break;
		case OP_RAW_CHECK:
			len = fz_copy(&f, raw, fz_u8(&f) % sizeof(raw));
			i = fz_u8(&f) % (WG_COOKIE_SRC_MAX + 2);
			FZ_CHECK(wg_cookie_check(&rsp.local, raw, len, src,
			    i < sizeof(src) ? i : sizeof(src), b & 0x80, now,
			    r2) == WG_VERDICT_DROP);
			break;
		default:
			len = fz_copy(&f, raw, WG_COOKIE_REPLY_LEN);
			if (fz_u8(&f) & 1) {
				/* The right type, reserved bytes and length. */
				memset(raw, 0, COOKIE_RX_OFF);
				raw[0] = WG_MSG_COOKIE;
				len = WG_COOKIE_REPLY_LEN;
			}
			FZ_CHECK(wg_consume_cookie_reply(&ini.peer, raw, len,
			    now) != WG_OK);
			break;
		}
	}
	return (0);
}
