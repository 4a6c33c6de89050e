/*
 * The node token's life at run time.  A token is checked at load and
 * reload; this carries the check on while it runs: a warning once a
 * day before exp (at once if less is left), and at exp the node leaves
 * the edge: cbdiscod stops registering and cbrelayd disconnects, each
 * told by a configuration push with its part off.  WireGuard sessions
 * and peers already made are kept (cbp2pd(8)); a reload with a new
 * token brings the edge back.
 */

#include <sys/types.h>

#include <event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cbp2pd.h"
#include "log.h"

#define TOKEN_WARN_SECS		(24 * 60 * 60)	/* warn this long before */
/*
 * exp is wall-clock time and the wall clock can jump (NTP, a suspended
 * machine): look again at least this often rather than trust one long
 * timer.
 */
#define TOKEN_CHECK_MAX_SECS	(60 * 60)

static struct event	 ev_token;
static int		 ev_token_set;

/* "2026-11-30T03:00:00Z" */
static void
token_time_format(int64_t t, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

static void
token_warn(int64_t exp, int64_t now)
{
	char	 when[32];

	if (env->token_warned == exp)
		return;
	env->token_warned = exp;
	token_time_format(exp, when, sizeof(when));
	log_warnx("token: expires at %s, in %lld minutes; at expiry the node "
	    "stops registering with the edge and using its relay",
	    when, (long long)(exp - now + 59) / 60);
}

static void
token_expire(int64_t exp)
{
	char	 when[32];

	env->token_expired = 1;
	token_time_format(exp, when, sizeof(when));
	log_warnx("token: expired at %s: registering and relay stopped, "
	    "established sessions kept; reload with a new token", when);
	disco_push_config();
	relay_push_config();
}

static void
token_check(int fd, short event, void *arg)
{
	struct timeval	 tv;
	int64_t		 now = (int64_t)time(NULL);
	int64_t		 exp = env->conf.tok.exp, next;

	if (env->token_expired)
		return;
	if (now >= exp) {
		token_expire(exp);
		return;
	}
	if (now >= exp - TOKEN_WARN_SECS)
		token_warn(exp, now);
	next = now < exp - TOKEN_WARN_SECS ? exp - TOKEN_WARN_SECS : exp;
	memset(&tv, 0, sizeof(tv));
	tv.tv_sec = next - now < TOKEN_CHECK_MAX_SECS ? next - now :
	    TOKEN_CHECK_MAX_SECS;
	evtimer_add(&ev_token, &tv);
}

/*
 * On start and on every reload, before the configuration goes to the
 * children: the token just loaded was checked valid now, so the edge
 * is ours again until its exp.
 */
void
token_life_arm(void)
{
	struct timeval	 tv;

	if (!ev_token_set) {
		evtimer_set(&ev_token, token_check, NULL);
		ev_token_set = 1;
	}
	evtimer_del(&ev_token);
	env->token_expired = 0;
	/* cbp2p-wg has no token. */
	if (env->dropin || env->conf.tok.exp == 0)
		return;
	/*
	 * First look from the event loop, so that expiry acts on children
	 * that are running.
	 */
	timerclear(&tv);
	evtimer_add(&ev_token, &tv);
}
