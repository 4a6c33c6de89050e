/*
 * Which nodes of the mesh the relay says are connected (doc/relay.md:
 * PEER_PRESENT when one connects, and for every one already there when
 * we do; PEER_GONE when one leaves, or for a key not connected there).
 * Each frame goes to the parent as it comes, which records it for the
 * peers it knows and shows it in cbp2pctl peers.  The parent hears when
 * a connection is bound and when it ends, so nothing an old connection
 * said outlives it.
 *
 * A node may learn of a peer (from the registry, the token or wg set)
 * after the relay said it was there; the keys present on this
 * connection are remembered, bounded, so the parent can ask about a
 * peer it just made.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "cbrelayd.h"
#include "log.h"

/* libbsd's tree.h names it; Linux headers keep it undefined. */
#ifndef __unused
#define __unused	__attribute__((__unused__))
#endif

static int
present_cmp(struct present *a, struct present *b)
{
	return (memcmp(a->key, b->key, WG_KEY_LEN));
}

RB_GENERATE_STATIC(present_tree, present, entry, present_cmp)

static void
presence_send(struct relayd *r, uint32_t type, const uint8_t *key)
{
	if (imsg_compose_event(r->c->iev, type, 0, 0, -1, key,
	    key != NULL ? WG_KEY_LEN : 0) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

static struct present *
present_find(struct relayd *r, const uint8_t *key)
{
	struct present	 find;

	memcpy(find.key, key, WG_KEY_LEN);
	return (RB_FIND(present_tree, &r->present, &find));
}

static void
present_clear(struct relayd *r)
{
	struct present	*p, *tmp;

	RB_FOREACH_SAFE(p, present_tree, &r->present, tmp) {
		RB_REMOVE(present_tree, &r->present, p);
		free(p);
	}
	r->npresent = 0;
}

/* AUTH_OK: a new connection, nothing known of the mesh yet. */
void
presence_up(struct relayd *r)
{
	present_clear(r);
	presence_send(r, IMSG_RELAY_UP, NULL);
}

/* The bound connection ended: what it said is void. */
void
presence_down(struct relayd *r)
{
	present_clear(r);
	presence_send(r, IMSG_RELAY_DOWN, NULL);
}

/* A PEER_PRESENT (present 1) or PEER_GONE frame for key. */
void
presence_frame(struct relayd *r, const uint8_t *key, int present)
{
	struct present	*p;

	p = present_find(r, key);
	if (present && p == NULL) {
		if (r->npresent >= RELAY_PRESENT_MAX ||
		    (p = calloc(1, sizeof(*p))) == NULL)
			r->st.present_overflow++;
		else {
			memcpy(p->key, key, WG_KEY_LEN);
			RB_INSERT(present_tree, &r->present, p);
			r->npresent++;
		}
	} else if (!present && p != NULL) {
		RB_REMOVE(present_tree, &r->present, p);
		free(p);
		r->npresent--;
	}
	presence_send(r, present ? IMSG_RELAY_PEER_PRESENT :
	    IMSG_RELAY_PEER_GONE, key);
}

/*
 * The parent made a peer: if the relay said it is here, say so again.
 * Only presence is answered; a key not remembered stays unknown to the
 * parent until the relay says more (the frames of a new connection may
 * not all have come yet).
 */
void
presence_ask(struct relayd *r, const uint8_t *key)
{
	if (r->state == RELAY_CONNECTED && present_find(r, key) != NULL)
		presence_send(r, IMSG_RELAY_PEER_PRESENT, key);
}
