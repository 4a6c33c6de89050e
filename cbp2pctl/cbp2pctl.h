/*
 * cbp2pctl: control utility for cbp2pd, and the operator's key and token
 * tool.
 */
#ifndef CBP2PCTL_H
#define CBP2PCTL_H

#include <jansson.h>

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
	CTL_TOKEN,
	CTL_PING,
	CTL_NETCHECK,
	CTL_MONITOR
};

struct ctl_command {
	const char			*name;
	enum ctl_action			 action;
	const struct ctl_command	*next;	/* sub-commands, or NULL */
	const char			*help;
};

/* cbp2pctl's defaults for ping: like ping(8), a probe a second. */
#define PING_COUNT_DEFAULT	5
#define PING_COUNT_MAX		100000
#define PING_WAIT_DEFAULT_MS	1000
#define PING_WAIT_MIN_MS	10
#define PING_TIMEOUT_DEFAULT_MS	2000
/* A reply the daemon owes after the last probe's own timeout. */
#define PING_REPLY_SLACK_MS	5000
/* netcheck waits for cbdiscod's registry request and its timeout. */
#define NETCHECK_TIMEOUT_MS	20000

/* parser.c */
enum ctl_action	 parse_command(int, char *[], int *);

/* cbp2pctl.c */
extern int	 json_out;
__dead void	 usage(void);
void		 json_print(json_t *);
int		 ctl_connect(const char *);
/* A field from the daemon, control characters encoded for a terminal. */
const char	*safe(const char *, size_t);
#define SAFE(field)	safe((field), sizeof(field))

/* live.c: ping, netcheck, monitor */
int		 cmd_ping(const char *, int, char *[]);
int		 cmd_netcheck(const char *);
int		 cmd_monitor(const char *);

#endif /* CBP2PCTL_H */
