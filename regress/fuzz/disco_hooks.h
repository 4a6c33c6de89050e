/*
 * What cbdiscod/registry.c calls in cbdiscod.c, for the targets that
 * compile it in (fuzz_regreply, fuzz_regack): nothing to do here.
 */
#ifndef CBP2P_DISCO_HOOKS_H
#define CBP2P_DISCO_HOOKS_H

#include <stdlib.h>

#include "cbdiscod.h"

void
disco_registered(struct disco *d, uint64_t version, unsigned int ttl)
{
}

void
disco_failed(struct disco *d, const char *why)
{
}

void
disco_not_registered(struct disco *d)
{
}

void
disco_list(struct disco *d, struct reg_peer *list, size_t n,
    uint64_t version)
{
	free(list);
}

void
disco_poll_failed(struct disco *d)
{
}

void
disco_report(struct disco *d, uint32_t peerid, int fresh)
{
}

void
disco_check_done(struct disco *d)
{
}

#endif /* CBP2P_DISCO_HOOKS_H */
