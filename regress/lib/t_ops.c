/*
 * The operator's live views (lib/ops.c): what PEER names for cbp2pctl
 * ping, an event as a line of text, and the names of every list.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <string.h>

#include <atf-c.h>

#include "ops.h"
#include "wgkey.h"

#define LINE_MAX_TEST	512
/* 2026-11-30T12:00:00.123Z in unix milliseconds. */
#define T_NOON_MS	INT64_C(1796040000123)

static const char *key_b64 = "mHDczL9ZhPRudRvkDB1vF1461W4bULA8B3IZRgxo3jY=";

ATF_TC_WITHOUT_HEAD(peer_arg_kinds);
ATF_TC_BODY(peer_arg_kinds, tc)
{
	struct peer_arg	 pa;
	uint8_t		 key[WG_KEY_LEN];

	ATF_REQUIRE(wgkey_from_b64(key, key_b64) == 0);
	ATF_CHECK_EQ(peer_arg_parse(key_b64, &pa), PEER_ARG_KEY);
	ATF_CHECK(memcmp(pa.key, key, WG_KEY_LEN) == 0);

	ATF_CHECK_EQ(peer_arg_parse("10.99.0.2", &pa), PEER_ARG_ADDR);
	ATF_CHECK_EQ(pa.af, AF_INET);
	ATF_CHECK(pa.addr[0] == 10 && pa.addr[3] == 2);
	ATF_CHECK_EQ(peer_arg_parse("fd00::2", &pa), PEER_ARG_ADDR);
	ATF_CHECK_EQ(pa.af, AF_INET6);

	ATF_CHECK_EQ(peer_arg_parse("alpha", &pa), PEER_ARG_NAME);
	ATF_CHECK_EQ(peer_arg_parse("host-1.example", &pa), PEER_ARG_NAME);
}

ATF_TC_WITHOUT_HEAD(peer_arg_bad);
ATF_TC_BODY(peer_arg_bad, tc)
{
	struct peer_arg	 pa;
	char		 longname[OPS_NAME_MAX + 2];

	ATF_CHECK_EQ(peer_arg_parse("", &pa), PEER_ARG_BAD);
	ATF_CHECK_EQ(peer_arg_parse("two words", &pa), PEER_ARG_BAD);
	ATF_CHECK_EQ(peer_arg_parse("tab\there", &pa), PEER_ARG_BAD);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ATF_CHECK_EQ(peer_arg_parse(longname, &pa), PEER_ARG_BAD);
	/* 44 characters that are not a key's base64 are a name at most. */
	ATF_CHECK_EQ(peer_arg_parse(
	    "not-a-key-but-forty-four-characters-long....", &pa),
	    PEER_ARG_NAME);
	/* An address with a prefix is no address and no name. */
	ATF_CHECK_EQ(peer_arg_parse("10.99.0.2/32", &pa), PEER_ARG_NAME);
}

ATF_TC_WITHOUT_HEAD(event_text);
ATF_TC_BODY(event_text, tc)
{
	struct ctl_event	 ev;
	char			 line[LINE_MAX_TEST];

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = T_NOON_MS;
	ev.type = EV_PATH;
	strlcpy(ev.public_key, key_b64, sizeof(ev.public_key));
	strlcpy(ev.name, "beta", sizeof(ev.name));
	strlcpy(ev.state, "relay", sizeof(ev.state));
	strlcpy(ev.reason, "direct path went silent", sizeof(ev.reason));
	strlcpy(ev.detail, "direct -> relay", sizeof(ev.detail));
	ctl_event_format(&ev, line, sizeof(line));
	ATF_CHECK_STREQ(line, "2026-11-30T12:00:00.123Z path beta (mHDczL9Z) "
	    "relay (direct path went silent): direct -> relay");

	/* No name: the key's prefix; no reason, no detail: nothing more. */
	ev.type = EV_HANDSHAKE;
	ev.name[0] = ev.state[0] = ev.reason[0] = ev.detail[0] = '\0';
	ctl_event_format(&ev, line, sizeof(line));
	ATF_CHECK_STREQ(line, "2026-11-30T12:00:00.123Z handshake mHDczL9Z");

	/* No peer: a state and why. */
	ev.type = EV_REGISTRY;
	ev.public_key[0] = '\0';
	strlcpy(ev.state, "unreachable", sizeof(ev.state));
	strlcpy(ev.detail, "HTTP 503", sizeof(ev.detail));
	ctl_event_format(&ev, line, sizeof(line));
	ATF_CHECK_STREQ(line,
	    "2026-11-30T12:00:00.123Z registry unreachable: HTTP 503");

	/* Truncated, never overrun. */
	ATF_CHECK(ctl_event_format(&ev, line, 8) > 8);
	ATF_CHECK_EQ(strlen(line), 7);
}

ATF_TC_WITHOUT_HEAD(names);
ATF_TC_BODY(names, tc)
{
	ATF_CHECK_STREQ(reg_state_name(REG_REGISTERED), "registered");
	ATF_CHECK_STREQ(reg_state_name(REG_STATE_MAX), "unknown");
	ATF_CHECK_STREQ(reg_state_name(-1), "unknown");
	ATF_CHECK_STREQ(regc_error_name(REGC_ERR_CONNECT), "connect");
	ATF_CHECK_STREQ(regc_error_name(REGC_ERR_MAX), "unknown");
	ATF_CHECK_STREQ(ping_status_name(PING_OK), "pong");
	ATF_CHECK_STREQ(ping_status_name(PING_STATUS_MAX), "unknown");
	ATF_CHECK_STREQ(ctl_event_name(EV_PEER_ADDED), "peer_added");
	ATF_CHECK_STREQ(ctl_event_name(EV_MAX), "unknown");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, peer_arg_kinds);
	ATF_TP_ADD_TC(tp, peer_arg_bad);
	ATF_TP_ADD_TC(tp, event_text);
	ATF_TP_ADD_TC(tp, names);
	return (atf_no_error());
}
