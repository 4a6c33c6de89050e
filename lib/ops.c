/*
 * Names of the operator's live views (ops.h), the PEER argument of
 * cbp2pctl ping, and an event as a line of text.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "peeradmit.h"

#define MS_PER_SEC	1000
#define SHORT_KEY_LEN	8	/* a key's prefix names a peer in text */

#define NAME_OF(e, name)	name,
static const char *reg_state_names[REG_STATE_MAX] = {
	REGC_STATES(NAME_OF)
};
static const char *regc_error_names[REGC_ERR_MAX] = {
	REGC_ERRORS(NAME_OF)
};
static const char *ping_status_names[PING_STATUS_MAX] = {
	PING_STATUSES(NAME_OF)
};
static const char *ctl_event_names[EV_MAX] = {
	CTL_EVENTS(NAME_OF)
};
#undef NAME_OF

const char *
reg_state_name(int s)
{
	return ((unsigned int)s < REG_STATE_MAX ? reg_state_names[s] :
	    "unknown");
}

const char *
regc_error_name(int e)
{
	return ((unsigned int)e < REGC_ERR_MAX ? regc_error_names[e] :
	    "unknown");
}

const char *
ping_status_name(int s)
{
	return ((unsigned int)s < PING_STATUS_MAX ? ping_status_names[s] :
	    "unknown");
}

const char *
ctl_event_name(int t)
{
	return ((unsigned int)t < EV_MAX ? ctl_event_names[t] : "unknown");
}

/*
 * A key first (44 characters of base64 that decode to 32 bytes), then
 * an address, then a name as the registry allows one.  A name that
 * looks like an address is an address: names are for people, and
 * addresses are what they type when unsure.
 */
enum peer_arg_kind
peer_arg_parse(const char *s, struct peer_arg *pa)
{
	struct ipaddr	 ip;
	size_t		 len = strlen(s);

	memset(pa, 0, sizeof(*pa));
	if (len == WG_KEY_B64_LEN && wgkey_from_b64(pa->key, s) == 0)
		return (pa->kind = PEER_ARG_KEY);
	if (ipaddr_parse(s, &ip) == 0) {
		pa->af = ip.af;
		memcpy(pa->addr, ip.addr, sizeof(pa->addr));
		return (pa->kind = PEER_ARG_ADDR);
	}
	if (peer_name_valid(s, len))
		return (pa->kind = PEER_ARG_NAME);
	return (pa->kind = PEER_ARG_BAD);
}

/* "name (AbCdEfGh)", "AbCdEfGh" or "" for an event's peer. */
static void
event_peer(const struct ctl_event *ev, char *buf, size_t len)
{
	char	 key[SHORT_KEY_LEN + 1];

	strlcpy(key, ev->public_key, sizeof(key));
	if (ev->public_key[0] == '\0')
		buf[0] = '\0';
	else if (ev->name[0] != '\0')
		snprintf(buf, len, " %s (%s)", ev->name, key);
	else
		snprintf(buf, len, " %s", key);
}

int
ctl_event_format(const struct ctl_event *ev, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ev->time_ms / MS_PER_SEC);
	char		 when[32], peer[OPS_NAME_MAX + SHORT_KEY_LEN + 8];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strlcpy(when, "-", sizeof(when));
	event_peer(ev, peer, sizeof(peer));
	return (snprintf(buf, len, "%s.%03dZ %s%s%s%s%s%s%s%s%s", when,
	    (int)(ev->time_ms % MS_PER_SEC), ctl_event_name(ev->type), peer,
	    ev->state[0] ? " " : "", ev->state,
	    ev->reason[0] ? " (" : "", ev->reason, ev->reason[0] ? ")" : "",
	    ev->detail[0] ? ": " : "", ev->detail));
}
