/*
 * A lying cbrelayd for regress/e2e/t_relay_node:hostile_presence:
 * started by cbp2pd in cbrelayd's place (cbp2pd -x DIR, DIR/cbrelayd a
 * link to this), it lives as a child does (lib/child.c: sandbox, ready,
 * configuration, status), connects to no relay, and on each SIGUSR1
 * sends the parent the next stage of presence reports:
 *
 *	1  PRESENT for the token peer before any connection, UP, PRESENT
 *	   for a key that is no peer, PRESENT for the token peer
 *	2  GONE for the token peer
 *	3  DOWN, then PRESENT for the token peer with no connection
 *	4  UP and PRESENT for the token peer (meant for a relay switched
 *	   off by a reload)
 *
 * Whatever the parent asks (IMSG_RELAY_PRESENCE_ASK) it counts, and
 * answers PRESENT for while "connected" (after an UP, before a DOWN).
 *
 * From the environment (read before the sandbox):
 *	CBHOSTILE_STATIC_KEY	the token peer's public key, base64
 * Its status line: "hostile relay: stage N, asked M".
 */

#include <sys/types.h>

#include <event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

#define STRANGER_BYTE	0x42	/* a key no peer has */

struct hostile {
	uint8_t		 static_key[WG_KEY_LEN];
	uint8_t		 stranger[WG_KEY_LEN];
	int		 up;
	unsigned int	 stage;
	unsigned int	 asked;
	struct event	 ev_usr1;
};

static struct hostile	 h;

static void
send_msg(struct child *c, uint32_t type, const uint8_t *key)
{
	if (imsg_compose_event(c->iev, type, 0, 0, -1, key,
	    key != NULL ? WG_KEY_LEN : 0) == -1)
		fatal("%s", __func__);
}

static void
state(struct child *c)
{
	snprintf(c->state, sizeof(c->state), "hostile relay: stage %u, "
	    "asked %u", h.stage, h.asked);
}

static void
hostile_usr1(int sig, short event, void *arg)
{
	struct child	*c = arg;

	switch (++h.stage) {
	case 1:
		send_msg(c, IMSG_RELAY_PEER_PRESENT, h.static_key);
		send_msg(c, IMSG_RELAY_UP, NULL);
		h.up = 1;
		send_msg(c, IMSG_RELAY_PEER_PRESENT, h.stranger);
		send_msg(c, IMSG_RELAY_PEER_PRESENT, h.static_key);
		break;
	case 2:
		send_msg(c, IMSG_RELAY_PEER_GONE, h.static_key);
		break;
	case 3:
		send_msg(c, IMSG_RELAY_DOWN, NULL);
		h.up = 0;
		send_msg(c, IMSG_RELAY_PEER_PRESENT, h.static_key);
		break;
	default:
		send_msg(c, IMSG_RELAY_UP, NULL);
		h.up = 1;
		send_msg(c, IMSG_RELAY_PEER_PRESENT, h.static_key);
		break;
	}
	state(c);
	log_info("hostile relay: stage %u sent", h.stage);
}

static int
hostile_dispatch(struct child *c, struct imsg *imsg)
{
	size_t	 len = imsg->hdr.len - IMSG_HEADER_SIZE;

	switch (imsg->hdr.type) {
	case IMSG_CFG_RELAY:
	case IMSG_CFG_RELAY_CA:
	case IMSG_CFG_RELAY_TOKEN:
	case IMSG_CFG_RELAY_DONE:
	case IMSG_RELAY_PACKETS:
		break;
	case IMSG_RELAY_PRESENCE_ASK:
		if (len != WG_KEY_LEN)
			fatalx("%s: bad question", __func__);
		h.asked++;
		if (h.up)
			send_msg(c, IMSG_RELAY_PEER_PRESENT, imsg->data);
		state(c);
		break;
	default:
		return (0);
	}
	if (imsg->fd != -1) {
		close(imsg->fd);
		imsg->fd = -1;
	}
	return (1);
}

static void
hostile_init(struct child *c)
{
	const char	*s;

	if ((s = getenv("CBHOSTILE_STATIC_KEY")) == NULL ||
	    wgkey_from_b64(h.static_key, s) == -1)
		fatalx("hostile: CBHOSTILE_STATIC_KEY must be a key");
	memset(h.stranger, STRANGER_BYTE, sizeof(h.stranger));
	signal_set(&h.ev_usr1, SIGUSR1, hostile_usr1, c);
	signal_add(&h.ev_usr1, NULL);
	state(c);
}

int
main(int argc, char *argv[])
{
	static struct child	 c;

	c.id = PROC_RELAY;
	c.dispatch = hostile_dispatch;
	c.init = hostile_init;
	child_run(&c, argc, argv, &sandbox_policy_plain);
}
