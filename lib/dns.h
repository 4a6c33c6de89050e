/*
 * The mesh's DNS (the token's network_config.dns and dns_search) as the
 * three ways a Linux host takes it: systemd-resolved's per-link servers
 * (resolvectl), a resolvconf(8) record named after the interface, or a
 * marked block in /etc/resolv.conf.  This file builds the commands and
 * the file's text; cbp2pd/dns.c runs them.  Pure: no process state.
 *
 * The block in resolv.conf is two marked parts, so that the file's own
 * lines stay as they were and come back whole when it is removed:
 *
 *	# cbp2pd cbp0 begin: mesh DNS, removed when cbp2pd stops
 *	nameserver 10.99.0.53		first, so the mesh's servers are asked
 *	# cbp2pd cbp0 end		first (the resolver takes three)
 *	...the file's own lines...
 *	# cbp2pd cbp0 begin: ...
 *	search mesh.example corp.example	last: the last search line
 *	# cbp2pd cbp0 end			wins, so it repeats the file's
 */
#ifndef CBP2P_DNS_H
#define CBP2P_DNS_H

#include <stddef.h>

#include "addr.h"
#include "token.h"

/* How cbp2pd.yaml's dns chooses; DNS_AUTO picks the first available. */
enum dns_mode {
	DNS_OFF,
	DNS_AUTO,
	DNS_RESOLVED,
	DNS_RESOLVCONF,
	DNS_FILE
};

#define DNS_RESOLV_CONF		"/etc/resolv.conf"
#define DNS_RESOLVED_DIR	"/run/systemd/resolve"	/* resolved runs */
#define DNS_RESOLVCONF_SUFFIX	".cbp2p"	/* resolvconf -a IF.cbp2p */
#define DNS_RESOLVCONF_ORDER	"/etc/resolvconf/interface-order"
#define DNS_RESOLVCONF_PREFIX_MAX 16	/* "tun" of a "tun*" pattern */
#define DNS_RESOLVCONF_REC_MAX	(DNS_RESOLVCONF_PREFIX_MAX + 1 + IFNAMSIZ + \
				    sizeof(DNS_RESOLVCONF_SUFFIX))
#define DNS_FILE_MAX		(256 * 1024)	/* resolv.conf we edit */
#define DNS_ARGV_MAX		(4 + CFG_MAX_DNS + CFG_MAX_DNS_SEARCH)
#define DNS_ARGS_LEN		2048	/* the arguments' text */
#define DNS_TEXT_MAX		2048	/* "nameserver ..." lines */
#define DNS_WAY_NAME_MAX	16	/* dns_mode_name()'s longest */

/* What the mesh asks for: servers and search domains. */
struct dns_conf {
	struct ipaddr	 servers[CFG_MAX_DNS];
	size_t		 nservers;
	char		 search[CFG_MAX_DNS_SEARCH][HOSTPORT_HOST_MAX];
	size_t		 nsearch;
};

/* A command line: argv points into buf; text, when set, is its stdin. */
struct dns_cmd {
	char		*argv[DNS_ARGV_MAX + 1];
	char		 buf[DNS_ARGS_LEN];
	char		 text[DNS_TEXT_MAX];
	int		 has_text;
};

void		 dns_conf_from_token(struct dns_conf *, const struct token *);
int		 dns_conf_equal(const struct dns_conf *,
		    const struct dns_conf *);
const char	*dns_mode_name(enum dns_mode);
int		 dns_mode_parse(const char *, enum dns_mode *);

/* "nameserver A\n...search D ...\n" as resolvconf(8) reads it. */
int		 dns_resolv_text(const struct dns_conf *, char *, size_t);

/*
 * The name of the interface's resolvconf record.  Debian's resolvconf
 * sorts records by the patterns of its interface-order(5) file and puts
 * at most three servers in resolv.conf: a name no pattern before the
 * last "*" matches sorts after every DHCP client's record, and the
 * mesh's servers would come last or not at all.  So, as wg-quick(8)
 * does, the record takes the first plain "NAME*" pattern of that file
 * (order, orderlen bytes) as its prefix: "tun.cbp0.cbp2p" in the stock
 * file, where "tun*" comes before every network's.  order NULL (no such
 * file: openresolv, systemd's resolvconf): "cbp0.cbp2p".  0, or -1 when
 * it does not fit in rec (reclen bytes, DNS_RESOLVCONF_REC_MAX will do).
 */
int	 dns_resolvconf_record(const char *, size_t, const char *, char *,
	    size_t);

/*
 * The commands of each way, for the interface: resolvectl's "dns" and
 * "domain" (the second only with search domains: 0 or 1 in *n) and its
 * "revert"; resolvconf's -a (the servers on stdin) and -d of a record
 * (dns_resolvconf_record).  prog is the program's path.  0, or -1 when
 * something does not fit.
 */
int	 dns_resolved_set(const char *, const char *,
	    const struct dns_conf *, struct dns_cmd *, struct dns_cmd *,
	    int *);
int	 dns_resolved_revert(const char *, const char *, struct dns_cmd *);
int	 dns_resolvconf_add(const char *, const char *,
	    const struct dns_conf *, struct dns_cmd *);
int	 dns_resolvconf_del(const char *, const char *, struct dns_cmd *);

/*
 * The text of a resolv.conf with the interface's block: any block of
 * that interface in it is taken out first, then, if conf is not NULL
 * and has servers, the new block is put in.  conf NULL takes it out
 * only.  *out is malloc'd (caller frees), *outlen its length.  0, or -1
 * with a reason in err: an unterminated block (the file is left alone
 * rather than guessed at) or no memory.
 */
int	 dns_file_edit(const char *, size_t, const char *,
	    const struct dns_conf *, char **, size_t *, char *, size_t);

#endif /* CBP2P_DNS_H */
