/*
 * cbp2pctl: control utility for cbp2pd, and the operator's key and token
 * tool.
 */
#ifndef CBP2PCTL_H
#define CBP2PCTL_H

#include "config.h"
#include "proc.h"

#define CTL_READ_TIMEOUT_MS	10000	/* a reply must come within this */
#define CLAIMS_MAX_LEN		TOKEN_MAX_LEN
#define CTL_PEERS_MAX		65536	/* peers one reply may list */
#define CTL_AIPS_MAX		(1 << 20)

enum ctl_action {
	CTL_NONE,
	CTL_STATUS,
	CTL_PEERS,
	CTL_PENDING,
	CTL_APPROVE,
	CTL_RELOAD,
	CTL_LOG_VERBOSE,
	CTL_LOG_BRIEF,
	CTL_KEYGEN,
	CTL_PUBKEY,
	CTL_TOKEN
};

struct ctl_command {
	const char			*name;
	enum ctl_action			 action;
	const struct ctl_command	*next;	/* sub-commands, or NULL */
	const char			*help;
};

/* parser.c */
enum ctl_action	 parse_command(int, char *[], int *);

#endif /* CBP2PCTL_H */
