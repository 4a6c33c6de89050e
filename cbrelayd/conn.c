/*
 * The connection to the edge's relay (doc/relay.md): TCP, TLS 1.3 with
 * the certificate checked against edge.ca and the configured name
 * (lib/tlsclient.c), AUTH with the registry token, then frames both
 * ways through lib/relayproto.c.  One connection at a time.  It is
 * tried again after a failure with exponential backoff and jitter
 * (RELAY_BACKOFF_MIN_MS doubling up to RELAY_BACKOFF_MAX_MS, afresh
 * once a connection held RELAY_STABLE_MS), and after a RESTARTING notice
 * as soon as the relay said it makes sense.
 *
 * Nothing here waits: a packet for the relay that does not fit the
 * bounded queue is dropped and counted, as is a packet for the engine
 * whose socket is full.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <event.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbrelayd.h"
#include "log.h"
#include "tlsclient.h"

static void	relay_retry(struct relayd *, const char *);

uint64_t
relay_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * RELAY_MS_PER_SEC +
	    (uint64_t)ts.tv_nsec / 1000000);
}

static uint64_t
relay_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * RELAY_US_PER_SEC +
	    (uint64_t)ts.tv_nsec / RELAY_NS_PER_US);
}

static void
timer_in_ms(struct event *ev, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / RELAY_MS_PER_SEC;
	tv.tv_usec = (ms % RELAY_MS_PER_SEC) * 1000;
	evtimer_add(ev, &tv);
}

/* 1, 2, 4 ... RELAY_BACKOFF_MAX_MS seconds, each less a random quarter. */
static uint64_t
relay_backoff(struct relayd *r)
{
	uint64_t	 ms = RELAY_BACKOFF_MIN_MS;
	unsigned int	 i;

	for (i = 0; i < r->failures && ms < RELAY_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > RELAY_BACKOFF_MAX_MS)
		ms = RELAY_BACKOFF_MAX_MS;
	return (ms - arc4random_uniform(ms / 4 + 1));
}

/* Drop the connection, if any; counters and the schedule stay. */
static void
relay_close(struct relayd *r)
{
	evtimer_del(&r->ev_connect);
	evtimer_del(&r->ev_keepalive);
	if (r->state == RELAY_CONNECTED)
		presence_down(r);
	if (r->bev != NULL) {
		/* Frees the SSL, closes the socket: BEV_OPT_CLOSE_ON_FREE. */
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
	r->key_mismatch = 0;
}

void
relay_stop(struct relayd *r)
{
	relay_close(r);
	evtimer_del(&r->ev_retry);
	r->state = RELAY_OFF;
	r->failures = 0;
	r->restart_at_ms = r->restart_until_ms = 0;
}

/*
 * The connection failed or ended: try again later.  Within the window
 * a RESTARTING notice gave, from the moment it named and then every
 * RELAY_RESTART_RETRY_MS; otherwise after the backoff.
 */
static void
relay_retry(struct relayd *r, const char *why)
{
	uint64_t	 now = relay_now_ms(), wait;

	if (r->state == RELAY_CONNECTED)
		log_warnx("relay: connection to %s lost: %s",
		    r->conf.relay_name, why);
	else if (r->failures == 0 || r->state == RELAY_AUTHENTICATING)
		log_warnx("relay: %s: %s", r->conf.relay_name, why);
	else
		log_debug("relay: %s: %s", r->conf.relay_name, why);
	strlcpy(r->last_error, why, sizeof(r->last_error));
	/*
	 * Only a connection that held starts the backoff afresh: a relay
	 * that says AUTH_OK and then breaks the stream is not retried
	 * every second.
	 */
	if (r->state == RELAY_CONNECTED &&
	    now - r->connected_ms >= RELAY_STABLE_MS)
		r->failures = 0;
	relay_close(r);
	if (now < r->restart_until_ms) {
		wait = r->restart_at_ms > now ? r->restart_at_ms - now :
		    RELAY_RESTART_RETRY_MS;
		/* Once the first try is due, the next ones go at the pace. */
		r->restart_at_ms = 0;
	} else {
		r->restart_until_ms = 0;
		wait = relay_backoff(r);
		r->failures++;
	}
	r->state = RELAY_WAITING;
	r->retry_ms = wait;
	timer_in_ms(&r->ev_retry, wait);
	log_debug("relay: next try in %llu ms", (unsigned long long)wait);
}

/* One frame into the output queue, if the queue has room for it. */
static int
relay_frame_out(struct relayd *r, enum relay_frame_type type,
    const uint8_t *key, const void *data, size_t len)
{
	struct evbuffer		*out;
	struct evbuffer_iovec	 v;
	size_t			 size;

	if (r->bev == NULL || (size = relay_frame_size(type, len)) == 0)
		return (-1);
	out = bufferevent_get_output(r->bev);
	/* AUTH and KEEPALIVE are tiny; only packets are ever refused. */
	if (type == RELAY_SEND &&
	    evbuffer_get_length(out) + size > RELAY_TXQ_MAX)
		return (-1);
	if (evbuffer_reserve_space(out, size, &v, 1) != 1 || v.iov_len < size)
		return (-1);
	if (relay_frame_encode(v.iov_base, size, type, key, data, len) !=
	    size)
		return (-1);
	v.iov_len = size;
	if (evbuffer_commit_space(out, &v, 1) == -1)
		return (-1);
	r->last_tx_ms = relay_now_ms();
	return (0);
}

/*
 * A message of the engine, the peer's key then a WireGuard packet:
 * exactly a SEND frame's payload.
 */
void
relay_packet_out(struct relayd *r, const uint8_t *msg, size_t len)
{
	if (r->state != RELAY_CONNECTED ||
	    relay_frame_out(r, RELAY_SEND, msg, msg + WG_KEY_LEN,
	    len - WG_KEY_LEN) == -1) {
		r->st.tx_dropped++;
		return;
	}
	r->st.tx_packets++;
	r->st.tx_bytes += len - WG_KEY_LEN;
}

/* One frame from the relay; -1 when the connection was closed. */
static int
relay_frame_in(struct relayd *r, const struct relay_frame *f)
{
	struct timeval	 tv = { RELAY_IDLE_SECS, 0 };
	char		 text[RELAY_ERROR_MAX + 1], why[RELAY_ERR_MAX];
	uint64_t	 now;

	/* Before AUTH_OK only AUTH_OK or ERROR make sense. */
	if (r->state != RELAY_CONNECTED && f->type != RELAY_AUTH_OK &&
	    f->type != RELAY_ERROR && f->type != RELAY_RESTARTING) {
		r->st.bad_frames++;
		snprintf(why, sizeof(why), "%s before AUTH_OK",
		    relay_frame_name(f->type));
		relay_retry(r, why);
		return (-1);
	}
	switch (f->type) {
	case RELAY_AUTH_OK:
		if (r->state == RELAY_CONNECTED) {
			r->st.bad_frames++;
			relay_retry(r, "AUTH_OK twice");
			return (-1);
		}
		evtimer_del(&r->ev_connect);
		r->state = RELAY_CONNECTED;
		r->connected_ms = relay_now_ms();
		r->connect_us = (int64_t)(relay_now_us() - r->attempt_us);
		r->restart_until_ms = r->restart_at_ms = 0;
		r->st.connects++;
		r->since = time(NULL);
		r->last_error[0] = '\0';
		r->key_mismatch = memcmp(f->key, r->c->conf.public_key,
		    WG_KEY_LEN) != 0;
		if (r->key_mismatch)
			log_warnx("relay: %s bound us to another key than "
			    "ours: peers will drop what it relays",
			    r->conf.relay_name);
		log_info("relay: connected to %s", r->conf.relay_name);
		presence_up(r);
		/* From now on a relay silent this long is gone. */
		bufferevent_set_timeouts(r->bev, &tv, NULL);
		timer_in_ms(&r->ev_keepalive,
		    RELAY_KEEPALIVE_SECS * RELAY_MS_PER_SEC);
		break;
	case RELAY_RECV:
		/* Key and packet are contiguous: the engine's message. */
		relay_to_engine(r, f->key, WG_KEY_LEN + f->len);
		break;
	case RELAY_KEEPALIVE:
		break;
	case RELAY_PEER_GONE:
		r->st.peer_gone++;
		presence_frame(r, f->key, 0);
		break;
	case RELAY_PEER_PRESENT:
		r->st.peer_present++;
		presence_frame(r, f->key, 1);
		break;
	case RELAY_RESTARTING:
		/* Keep carrying packets until it closes; then try then. */
		r->st.restarting++;
		r->failures = 0;
		now = relay_now_ms();
		relay_restart_window(now, f->reconnect_ms, f->try_ms,
		    arc4random_uniform, &r->restart_at_ms,
		    &r->restart_until_ms);
		log_info("relay: %s restarts; reconnecting in %llu ms",
		    r->conf.relay_name,
		    (unsigned long long)(r->restart_at_ms - now));
		break;
	case RELAY_ERROR:
		relay_error_text(f, text, sizeof(text));
		log_warnx("relay: %s says: %s", r->conf.relay_name, text);
		snprintf(why, sizeof(why), "refused: %.60s", text);
		relay_retry(r, why);
		return (-1);
	default:
		/* AUTH and SEND go the other way. */
		r->st.bad_frames++;
		snprintf(why, sizeof(why), "unexpected %s frame",
		    relay_frame_name(f->type));
		relay_retry(r, why);
		return (-1);
	}
	return (0);
}

/* relay_read()'s callback: 0 to go on, -1 when the connection is gone. */
static int
relay_read_frame(void *arg, const struct relay_frame *f)
{
	return (relay_frame_in(arg, f));
}

static void
relay_read_cb(struct bufferevent *bev, void *arg)
{
	struct relayd	*r = arg;

	if (bev != r->bev)
		return;		/* a connection already dropped */
	switch (relay_read(bufferevent_get_input(bev), relay_read_frame, r)) {
	case RELAY_READ_WAIT:
	case RELAY_READ_STOPPED:
		break;
	case RELAY_READ_BAD_HEADER:
	case RELAY_READ_BAD_FRAME:
	case RELAY_READ_NO_MEMORY:
		r->st.bad_frames++;
		relay_retry(r, "malformed frame");
		break;
	}
}

static void
relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relayd	*r = arg;
	unsigned long	 e;
	char		 why[RELAY_ERR_MAX];
	char		 ssl[RELAY_ERR_MAX - sizeof("TLS: ")];
	int		 fd, on = 1;

	if (bev != r->bev)
		return;		/* a connection already dropped */
	if (what & BEV_EVENT_CONNECTED) {
		/* TCP and TLS are up and the certificate checked: AUTH. */
		if ((fd = bufferevent_getfd(bev)) != -1)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof(on));
		r->state = RELAY_AUTHENTICATING;
		if (relay_frame_out(r, RELAY_AUTH, NULL, r->token,
		    strlen(r->token)) == -1)
			relay_retry(r, "cannot send AUTH");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "silent for %d s",
		    RELAY_IDLE_SECS);
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "closed by the relay");
	else if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, ssl, sizeof(ssl));
		snprintf(why, sizeof(why), "TLS: %s", ssl);
	} else if (EVUTIL_SOCKET_ERROR() != 0)
		snprintf(why, sizeof(why), "%s",
		    strerror(EVUTIL_SOCKET_ERROR()));
	else
		snprintf(why, sizeof(why), "connection error");
	ERR_clear_error();
	relay_retry(r, why);
}

static void
relay_connect_timeout_cb(int fd, short event, void *arg)
{
	struct relayd	*r = arg;
	char		 why[RELAY_ERR_MAX];

	snprintf(why, sizeof(why), "no AUTH_OK within %d s",
	    RELAY_CONNECT_SECS);
	relay_retry(r, why);
}

static void
relay_keepalive_cb(int fd, short event, void *arg)
{
	struct relayd	*r = arg;
	uint64_t	 now = relay_now_ms(), idle;

	if (r->state != RELAY_CONNECTED)
		return;
	idle = now - r->last_tx_ms;
	if (idle >= (uint64_t)RELAY_KEEPALIVE_SECS * RELAY_MS_PER_SEC) {
		relay_frame_out(r, RELAY_KEEPALIVE, NULL, NULL, 0);
		idle = 0;
	}
	timer_in_ms(&r->ev_keepalive,
	    RELAY_KEEPALIVE_SECS * RELAY_MS_PER_SEC - idle);
}

static void
relay_retry_cb(int fd, short event, void *arg)
{
	relay_connect(arg);
}

/* A new connection now, the old one (if any) dropped. */
void
relay_connect(struct relayd *r)
{
	struct sockaddr_storage	*ss = &r->conf.relay;
	SSL			*ssl;
	socklen_t		 slen;

	relay_close(r);
	evtimer_del(&r->ev_retry);
	if (!r->conf.enabled || r->ctx == NULL || r->token == NULL) {
		r->state = RELAY_OFF;
		return;
	}
	r->st.attempts++;
	r->state = RELAY_CONNECTING;
	r->attempt_us = relay_now_us();
	slen = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if ((ssl = tls_client_ssl(r->ctx, r->conf.relay_host)) == NULL) {
		relay_retry(r, "TLS setup failed");
		return;
	}
	if ((r->bev = bufferevent_openssl_socket_new(r->c->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		SSL_free(ssl);
		relay_retry(r, "out of memory");
		return;
	}
	/* A relay killed mid-stream is a lost connection, not an attack. */
	bufferevent_openssl_set_allow_dirty_shutdown(r->bev, 1);
	bufferevent_setcb(r->bev, relay_read_cb, NULL, relay_event_cb, r);
	bufferevent_setwatermark(r->bev, EV_READ, 0, RELAY_RXBUF_MAX);
	timer_in_ms(&r->ev_connect, RELAY_CONNECT_SECS * RELAY_MS_PER_SEC);
	if (bufferevent_socket_connect(r->bev, (struct sockaddr *)ss,
	    slen) == -1) {
		relay_retry(r, strerror(errno));
		return;
	}
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	log_debug("relay: connecting to %s", r->conf.relay_name);
}

static const char *relay_state_names[] = {
	"off", "connecting", "authenticating", "connected", "waiting"
};

/*
 * How the connection is, for netcheck: the kernel's smoothed RTT of
 * its TCP connection (no frame of the relay protocol is answered, so
 * TCP's own measurement is the round trip without a new frame type)
 * and how long connecting took, TCP, TLS 1.3 and AUTH together.
 */
void
relay_netcheck(struct relayd *r, struct relay_check *rc)
{
	struct tcp_info	 ti;
	socklen_t	 len = sizeof(ti);
	int		 fd;

	memset(rc, 0, sizeof(*rc));
	rc->enabled = r->conf.enabled;
	rc->state = r->state;
	if ((size_t)r->state < sizeof(relay_state_names) /
	    sizeof(relay_state_names[0]))
		strlcpy(rc->state_name, relay_state_names[r->state],
		    sizeof(rc->state_name));
	rc->tcp_rtt_us = -1;
	rc->connect_us = -1;
	rc->connects = r->st.connects;
	strlcpy(rc->last_error, r->last_error, sizeof(rc->last_error));
	if (r->state != RELAY_CONNECTED)
		return;
	rc->connect_us = r->connect_us;
	rc->since = r->since;
	memset(&ti, 0, sizeof(ti));
	if (r->bev != NULL && (fd = bufferevent_getfd(r->bev)) != -1 &&
	    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		rc->tcp_rtt_us = ti.tcpi_rtt;
}

/* After event_init(), before the sandbox. */
void
relay_conn_init(struct relayd *r)
{
	evtimer_set(&r->ev_retry, relay_retry_cb, r);
	evtimer_set(&r->ev_connect, relay_connect_timeout_cb, r);
	evtimer_set(&r->ev_keepalive, relay_keepalive_cb, r);
}
