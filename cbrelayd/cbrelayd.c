/*
 * cbrelayd: relay transport.
 *
 * Started only by cbp2pd.  It keeps one TLS 1.3 connection to the edge's
 * relay (conn.c) and carries the WireGuard packets of relayed peers
 * between it and the engine: a message on the engine's socketpair (the
 * peer's public key, then the packet) becomes a SEND frame, a RECV frame
 * becomes such a message.  The parent hands it the socketpair, the
 * relay's resolved address, the CA and the registry token it
 * authenticates with; it never sees the node token or a private key.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbrelayd.h"
#include "log.h"
#include "proc.h"
#include "tlsclient.h"

static struct relayd	 relayd;
/* One engine message: a key and the largest packet the protocol carries. */
static uint8_t		 pktbuf[WG_KEY_LEN + RELAY_PACKET_MAX];

/* A RECV frame's key and packet to the engine; never waits. */
void
relay_to_engine(struct relayd *r, const uint8_t *msg, size_t len)
{
	if (r->pkt == -1 ||
	    send(r->pkt, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
		r->st.rx_dropped++;
		return;
	}
	r->st.rx_packets++;
	r->st.rx_bytes += len - WG_KEY_LEN;
}

/* What the engine sends: packets for relayed peers. */
static void
relay_engine_cb(int fd, short event, void *arg)
{
	struct relayd	*r = arg;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < RELAY_ENGINE_BATCH; i++) {
		/* MSG_TRUNC: the real length, to refuse what did not fit. */
		n = recv(fd, pktbuf, sizeof(pktbuf), MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("relay: recv from the engine");
			return;
		}
		if (n == 0) {
			/* The engine is gone; the parent stops us soon. */
			log_warnx("relay: the engine closed the packet socket");
			event_del(&r->ev_pkt);
			return;
		}
		if ((size_t)n <= WG_KEY_LEN || (size_t)n > sizeof(pktbuf)) {
			r->st.engine_bad++;
			continue;
		}
		relay_packet_out(r, pktbuf, n);
	}
}

static void
relay_set_engine(struct relayd *r, int fd)
{
	if (r->pkt != -1) {
		event_del(&r->ev_pkt);
		close(r->pkt);
	}
	r->pkt = fd;
	event_set(&r->ev_pkt, fd, EV_READ | EV_PERSIST, relay_engine_cb, r);
	event_add(&r->ev_pkt, NULL);
}

/* The status line: the state, then what was carried and dropped. */
static void
relay_status(struct child *c)
{
	struct relayd	*r = c->arg;
	char		 buf[CHILD_STATE_MAX], since[16];
	struct tm	 tm;

	switch (r->state) {
	case RELAY_OFF:
		strlcpy(c->state, "relay off", sizeof(c->state));
		if (r->last_error[0] != '\0') {
			strlcat(c->state, ": ", sizeof(c->state));
			strlcat(c->state, r->last_error, sizeof(c->state));
		}
		break;
	case RELAY_CONNECTING:
	case RELAY_AUTHENTICATING:
		strlcpy(c->state, "connecting to ", sizeof(c->state));
		strlcat(c->state, r->conf.relay_name, sizeof(c->state));
		break;
	case RELAY_CONNECTED:
		gmtime_r(&r->since, &tm);
		strftime(since, sizeof(since), "%H:%M:%SZ", &tm);
		strlcpy(c->state, "connected to ", sizeof(c->state));
		strlcat(c->state, r->conf.relay_name, sizeof(c->state));
		strlcat(c->state, " since ", sizeof(c->state));
		strlcat(c->state, since, sizeof(c->state));
		if (r->key_mismatch)
			strlcat(c->state, " as another key",
			    sizeof(c->state));
		break;
	case RELAY_WAITING:
		snprintf(buf, sizeof(buf), " in %llu s (", (unsigned long long)
		    ((r->retry_ms + RELAY_MS_PER_SEC - 1) / RELAY_MS_PER_SEC));
		strlcpy(c->state, "reconnecting to ", sizeof(c->state));
		strlcat(c->state, r->conf.relay_name, sizeof(c->state));
		strlcat(c->state, buf, sizeof(c->state));
		strlcat(c->state, r->last_error, sizeof(c->state));
		strlcat(c->state, ")", sizeof(c->state));
		break;
	}
	snprintf(buf, sizeof(buf), "; packets tx %llu rx %llu, dropped tx %llu "
	    "rx %llu, bad frames %llu, connects %llu",
	    (unsigned long long)r->st.tx_packets,
	    (unsigned long long)r->st.rx_packets,
	    (unsigned long long)r->st.tx_dropped,
	    (unsigned long long)r->st.rx_dropped,
	    (unsigned long long)r->st.bad_frames,
	    (unsigned long long)r->st.connects);
	strlcat(c->state, buf, sizeof(c->state));
}

/* A configuration transaction ended: swap it in whole and act on it. */
static void
relay_commit(struct relayd *r)
{
	int	 restart;

	restart = memcmp(&r->conf, &r->next, sizeof(r->conf)) != 0 ||
	    (r->token == NULL) != (r->next_token == NULL) ||
	    (r->token != NULL && strcmp(r->token, r->next_token) != 0) ||
	    r->calen != r->next_calen ||
	    (r->ca != NULL && memcmp(r->ca, r->next_ca, r->calen) != 0);
	r->conf = r->next;
	free(r->ca);
	r->ca = r->next_ca;
	r->calen = r->next_calen;
	if (r->token != NULL)
		freezero(r->token, strlen(r->token));
	r->token = r->next_token;
	r->next_ca = r->next_token = NULL;
	r->next_calen = 0;

	if (!r->conf.enabled || r->token == NULL) {
		if (r->state != RELAY_OFF)
			log_info("relay: off");
		relay_stop(r);
		r->last_error[0] = '\0';
		return;
	}
	if (!restart && r->state != RELAY_OFF)
		return;
	if (r->ctx != NULL)
		SSL_CTX_free(r->ctx);
	if ((r->ctx = tls_client_ctx(r->ca, r->calen)) == NULL) {
		log_warnx("relay: no usable CA for %s; relay off",
		    r->conf.relay_name);
		relay_stop(r);
		strlcpy(r->last_error, "no usable CA",
		    sizeof(r->last_error));
		return;
	}
	relay_stop(r);
	relay_connect(r);
}

static int
relay_dispatch(struct child *c, struct imsg *imsg)
{
	struct relayd		*r = c->arg;
	struct relay_check	 rc;
	size_t			 len = imsg->hdr.len - IMSG_HEADER_SIZE;

	switch (imsg->hdr.type) {
	case IMSG_RELAY_PACKETS:
		if (len != 0 || imsg->fd == -1)
			fatalx("%s: bad packet socket", __func__);
		relay_set_engine(r, imsg->fd);
		imsg->fd = -1;
		break;
	case IMSG_CFG_RELAY:
		if (len != sizeof(r->next))
			fatalx("%s: bad relay config", __func__);
		memcpy(&r->next, imsg->data, len);
		r->next.relay_host[sizeof(r->next.relay_host) - 1] = '\0';
		r->next.relay_name[sizeof(r->next.relay_name) - 1] = '\0';
		if (r->next.enabled && r->next.relay.ss_family != AF_INET &&
		    r->next.relay.ss_family != AF_INET6)
			fatalx("%s: bad relay address", __func__);
		/* A transaction begins: forget a half one. */
		free(r->next_ca);
		if (r->next_token != NULL)
			freezero(r->next_token, strlen(r->next_token));
		r->next_ca = r->next_token = NULL;
		r->next_calen = 0;
		r->have_next = 1;
		break;
	case IMSG_CFG_RELAY_CA:
		if (!r->have_next || r->next_ca != NULL || len == 0 ||
		    len > DISCO_CA_MAX || (r->next_ca = malloc(len)) == NULL)
			fatalx("%s: bad CA", __func__);
		memcpy(r->next_ca, imsg->data, len);
		r->next_calen = len;
		break;
	case IMSG_CFG_RELAY_TOKEN:
		if (!r->have_next || r->next_token != NULL || len == 0 ||
		    len >= DISCO_TOKEN_MAX || len > RELAY_AUTH_MAX ||
		    (r->next_token = calloc(1, len + 1)) == NULL)
			fatalx("%s: bad registry token", __func__);
		memcpy(r->next_token, imsg->data, len);
		break;
	case IMSG_CFG_RELAY_DONE:
		if (!r->have_next || len != 0)
			fatalx("%s: bad commit", __func__);
		r->have_next = 0;
		relay_commit(r);
		break;
	case IMSG_RELAY_PRESENCE_ASK:
		if (len != WG_KEY_LEN)
			fatalx("%s: bad presence question", __func__);
		presence_ask(r, imsg->data);
		break;
	case IMSG_RELAY_NETCHECK:
		if (len != 0)
			fatalx("%s: bad netcheck", __func__);
		relay_netcheck(r, &rc);
		imsg_compose_event(c->iev, IMSG_RELAY_NETCHECK,
		    imsg->hdr.peerid, 0, -1, &rc, sizeof(rc));
		break;
	default:
		return (0);
	}
	/* A descriptor nobody asked for is closed, not kept. */
	if (imsg->fd != -1) {
		close(imsg->fd);
		imsg->fd = -1;
	}
	return (1);
}

/* After event_init(), before the sandbox. */
static void
relay_init(struct child *c)
{
	struct relayd	*r = c->arg;

	relay_conn_init(r);
}

int
main(int argc, char *argv[])
{
	static struct child	 c;

	c.id = PROC_RELAY;
	c.dispatch = relay_dispatch;
	c.status = relay_status;
	c.init = relay_init;
	c.arg = &relayd;
	relayd.c = &c;
	relayd.pkt = -1;
	relayd.state = RELAY_OFF;
	relayd.connect_us = -1;
	RB_INIT(&relayd.present);
	snprintf(c.state, sizeof(c.state), "waiting for configuration");
	/* OpenSSL reads its configuration now, before the chroot. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	/* TCP to the relay, and no other socket: lib/sandbox.c. */
	child_run(&c, argc, argv, &sandbox_policy_relay);
}
