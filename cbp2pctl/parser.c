/*
 * Command grammar as token tables, with unambiguous prefix matching
 * ("stat" for "status") and a list of valid words when a word is wrong.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbp2pctl.h"

static const struct ctl_command cmd_log[] = {
	{ "verbose",	CTL_LOG_VERBOSE, NULL,	"log debug messages too" },
	{ "brief",	CTL_LOG_BRIEF,	NULL,	"log informational messages" },
	{ NULL,		CTL_NONE,	NULL,	NULL }
};

static const struct ctl_command cmd_main[] = {
	{ "status",	CTL_STATUS,	NULL,	"show the daemon and children" },
	{ "peers",	CTL_PEERS,	NULL,	"show WireGuard peers" },
	{ "pending",	CTL_PENDING,	NULL,	"show peers awaiting approval" },
	{ "approve",	CTL_APPROVE,	NULL,	"approve a pending peer (key)" },
	{ "reload",	CTL_RELOAD,	NULL,	"re-read configuration" },
	{ "ping",	CTL_PING,	NULL,	"probe a peer over its path" },
	{ "netcheck",	CTL_NETCHECK,	NULL,	"STUN, NAT, registry and relay" },
	{ "monitor",	CTL_MONITOR,	NULL,	"stream events until interrupted" },
	{ "log",	CTL_NONE,	cmd_log, "set the log level" },
	{ "keygen",	CTL_KEYGEN,	NULL,	"print a new private key" },
	{ "pubkey",	CTL_PUBKEY,	NULL,	"public key of stdin's key" },
	{ "token",	CTL_TOKEN,	NULL,	"sign a JSON claims file" },
	{ NULL,		CTL_NONE,	NULL,	NULL }
};

static void
valid_words(const struct ctl_command *table)
{
	int	 i;

	fprintf(stderr, "valid commands/arguments are:\n");
	for (i = 0; table[i].name != NULL; i++)
		fprintf(stderr, "  %-10s %s\n", table[i].name, table[i].help);
}

static const struct ctl_command *
match(const struct ctl_command *table, const char *word)
{
	const struct ctl_command	*found = NULL;
	size_t				 len = strlen(word);
	int				 i;

	for (i = 0; table[i].name != NULL; i++) {
		if (strcmp(table[i].name, word) == 0)
			return (&table[i]);
		if (len > 0 && strncmp(table[i].name, word, len) == 0) {
			if (found != NULL) {
				fprintf(stderr, "ambiguous argument: %s\n",
				    word);
				valid_words(table);
				exit(1);
			}
			found = &table[i];
		}
	}
	if (found == NULL) {
		fprintf(stderr, "unknown argument: %s\n", word);
		valid_words(table);
		exit(1);
	}
	return (found);
}

/* Returns the action; *used is how many words of argv it consumed. */
enum ctl_action
parse_command(int argc, char *argv[], int *used)
{
	const struct ctl_command	*table = cmd_main, *c = NULL;
	int				 i;

	for (i = 0; i < argc && table != NULL; i++) {
		c = match(table, argv[i]);
		table = c->next;
	}
	if (c == NULL || c->next != NULL) {
		fprintf(stderr, "missing argument\n");
		valid_words(c == NULL ? cmd_main : c->next);
		exit(1);
	}
	*used = i;
	return (c->action);
}
