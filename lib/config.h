/*
 * Configuration: /etc/cbp2p/cbp2pd.yaml (libyaml) and the node's JWT it
 * names (token.h).  Everything is validated at load; any error refuses
 * the whole configuration with one line naming the field.
 * Pure logic: time is passed in, nothing here keeps process state.
 */
#ifndef CBP2P_CONFIG_H
#define CBP2P_CONFIG_H

#include <sys/types.h>
#include <net/if.h>
#include <limits.h>
#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "dns.h"
#include "log.h"
#include "token.h"

#define CFG_DEFAULT_PATH	SYSCONFDIR "/cbp2pd.yaml"
#define CFG_DEFAULT_IFNAME	"cbp0"
#define CFG_DEFAULT_CONTROL	"/var/run/cbp2pd.sock"
#define CFG_DEFAULT_CHROOT	"/var/empty"
/* crypto_workers: auto is one fewer than the cores online. */
#define CFG_CRYPTO_WORKERS_AUTO	(-1)
#define CFG_CRYPTO_WORKERS_MAX	16

/* cbp2pd.yaml */
struct cbp2p_config {
	char		 path[PATH_MAX];
	char		 token_file[PATH_MAX];
	char		 verify_key_file[PATH_MAX];
	enum jwt_keyalg	 verify_alg;
	char		 issuer[CFG_STR_MAX];		/* "" accepts any */
	char		 audience[CFG_STR_MAX];		/* "" accepts any */
	char		 ifname[IFNAMSIZ];
	char		 control_socket[PATH_MAX];
	char		 user[CFG_STR_MAX];
	char		 chroot_dir[PATH_MAX];
	int		 log_verbose;			/* 0 info, 1+ debug */
	enum log_format	 log_format;
	char		 metrics_address[HOSTPORT_MAX];
	int		 offload;	/* tun TSO and UDP GSO/GRO; default on */
	int		 crypto_workers;	/* CFG_CRYPTO_WORKERS_AUTO, 0.. */
	enum dns_mode	 dns;		/* the token's DNS on the host */
	char		 registry[CFG_STR_MAX];		/* https://host:port */
	char		 stun[HOSTPORT_MAX];
	char		 relay[HOSTPORT_MAX];
	char		 ca_file[PATH_MAX];
	/*
	 * The verification key as read (PEM or HS256 secret), kept so that
	 * cbdiscod can check the registry tokens of its peers.
	 */
	unsigned char	*verify_key;
	size_t		 verify_key_len;

	struct token	 tok;
};

/*
 * Load and validate the YAML file at path, then read, verify and validate
 * the token it names.  now is the time used for exp/nbf.  On error
 * returns -1 with one line in err ("cbp2pd.yaml:12: log_format: unknown
 * value \"xml\"" or "token: wireguard_config.mtu: ...") and conf freed.
 */
int	 config_load(const char *, struct cbp2p_config *, time_t, char *,
	    size_t);

/*
 * The configuration of cbp2p-wg(8), the drop-in for wireguard-go: the
 * defaults (user, chroot) and the interface named on its command line,
 * as wg-quick(8) names them.  There is no file and no token: tok stays
 * zeroed and is never read in that mode, and wg(8) sets the key, port
 * and peers.  Returns -1 with one line in err for a bad name.
 */
int	 config_dropin(struct cbp2p_config *, const char *, char *, size_t);
void	 config_free(struct cbp2p_config *);	/* zeroes key material */

#endif /* CBP2P_CONFIG_H */
