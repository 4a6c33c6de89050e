/*
 * cbrelayd: the relay transport.  One TLS 1.3 connection to the edge's
 * relay (doc/relay.md), authenticated with the registry token, and the
 * packets of relayed peers carried between it and the engine over a
 * socketpair of their own.  It holds no key material: the relay and
 * cbrelayd see WireGuard packets they cannot read.
 */
#ifndef CBRELAYD_H
#define CBRELAYD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <event.h>
#include <openssl/ssl.h>
#include <time.h>

#include "proc.h"
#include "relayconn.h"
#include "relayproto.h"

#define RELAY_BACKOFF_MIN_MS	1000	/* first retry after a failure */
#define RELAY_BACKOFF_MAX_MS	30000	/* the cap of the doubling */
/* A connection that held this long starts the backoff afresh. */
#define RELAY_STABLE_MS		30000
#define RELAY_CONNECT_SECS	10	/* TCP, TLS and AUTH_OK together */
/* A relay that sent nothing, not even a keepalive, for this long is dead. */
#define RELAY_IDLE_SECS		(3 * RELAY_KEEPALIVE_SECS + 10)
#define RELAY_TXQ_MAX		(4 << 20)	/* bytes queued to the relay */
#define RELAY_RXBUF_MAX		(2 * RELAY_FRAME_MAX)	/* read ahead */
#define RELAY_ENGINE_BATCH	64	/* packets read from the engine */
#define RELAY_ERR_MAX		80	/* text of the last error */
#define RELAY_MS_PER_SEC	1000
#define RELAY_US_PER_SEC	1000000
#define RELAY_NS_PER_US		1000
/* Keys the relay says are present, remembered: as many as a node's peers. */
#define RELAY_PRESENT_MAX	CFG_MAX_PEERS_CAP

enum relay_state {
	RELAY_OFF,		/* not wanted, or not configured */
	RELAY_CONNECTING,	/* TCP and TLS */
	RELAY_AUTHENTICATING,	/* AUTH sent, waiting for AUTH_OK */
	RELAY_CONNECTED,	/* carrying packets */
	RELAY_WAITING		/* backing off before the next try */
};

struct relay_stats {
	uint64_t	 tx_packets;	/* engine -> relay */
	uint64_t	 tx_bytes;
	uint64_t	 rx_packets;	/* relay -> engine */
	uint64_t	 rx_bytes;
	uint64_t	 tx_dropped;	/* not connected, or the queue full */
	uint64_t	 rx_dropped;	/* the engine's socket full */
	uint64_t	 engine_bad;	/* malformed messages of the engine */
	uint64_t	 bad_frames;	/* broken streams and unexpected frames */
	uint64_t	 connects;	/* AUTH_OK received */
	uint64_t	 attempts;
	uint64_t	 peer_gone;
	uint64_t	 peer_present;
	uint64_t	 restarting;
	uint64_t	 present_overflow;	/* PRESENT not remembered */
};

/* A key the relay said is connected, on the connection now bound. */
struct present {
	RB_ENTRY(present)	 entry;
	uint8_t			 key[WG_KEY_LEN];
};
RB_HEAD(present_tree, present);

struct relayd {
	struct child		*c;
	/* The running configuration and the one being received. */
	struct relay_conf	 conf, next;
	char			*ca, *next_ca;
	size_t			 calen, next_calen;
	char			*token, *next_token;
	int			 have_next;

	SSL_CTX			*ctx;
	int			 pkt;		/* socketpair to the engine */
	struct event		 ev_pkt;

	enum relay_state	 state;
	struct bufferevent	*bev;
	struct event		 ev_retry;	/* the next try */
	struct event		 ev_connect;	/* connect + AUTH deadline */
	struct event		 ev_keepalive;
	unsigned int		 failures;	/* since a connection held */
	uint64_t		 connected_ms;	/* monotonic, of AUTH_OK */
	uint64_t		 attempt_us;	/* monotonic, of the connect */
	int64_t			 connect_us;	/* connect to AUTH_OK; -1 */
	uint64_t		 retry_ms;	/* the wait now running */
	uint64_t		 last_tx_ms;	/* monotonic, of the last frame */
	uint64_t		 restart_at_ms;	/* RESTARTING: try from then */
	uint64_t		 restart_until_ms;	/* ... until then */
	time_t			 since;		/* connected since, wall */
	int			 key_mismatch;	/* bound to another key */
	char			 last_error[RELAY_ERR_MAX];
	struct relay_stats	 st;
	struct present_tree	 present;	/* presence.c */
	size_t			 npresent;
};

/* conn.c: the connection to the relay */
void	 relay_connect(struct relayd *);
void	 relay_stop(struct relayd *);
void	 relay_packet_out(struct relayd *, const uint8_t *, size_t);
void	 relay_conn_init(struct relayd *);
uint64_t relay_now_ms(void);
void	 relay_netcheck(struct relayd *, struct relay_check *);

/* presence.c: the mesh's nodes at the relay, told to the parent */
void	 presence_up(struct relayd *);
void	 presence_down(struct relayd *);
void	 presence_frame(struct relayd *, const uint8_t *, int);
void	 presence_ask(struct relayd *, const uint8_t *);

/* cbrelayd.c */
void	 relay_to_engine(struct relayd *, const uint8_t *, size_t);

#endif /* CBRELAYD_H */
