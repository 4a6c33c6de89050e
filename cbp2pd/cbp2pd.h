/*
 * cbp2pd: the privileged parent.  It alone holds the WireGuard private
 * key; it starts the children, pushes their configuration and serves the
 * control socket.
 */
#ifndef CBP2PD_H
#define CBP2PD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <event.h>
#include <time.h>

#include "config.h"
#include "imsg.h"
#include "proc.h"

#define CBP2PD_CHILDREN		CBP2PD_MAX_CHILDREN
#define CONTROL_MAX_CONNS	32
#define CONTROL_BACKLOG		8
#define CONTROL_SOCKET_MODE	0660

struct cbp2pd_child {
	enum proc_id		 id;
	pid_t			 pid;
	struct imsgev		 iev;
	int			 ready;
};

struct cbp2pd {
	struct cbp2p_config	 conf;
	char			 conf_path[PATH_MAX];
	const char		*libexec;
	int			 foreground;
	int			 cmd_verbose;	/* -v count */
	uint64_t		 generation;
	uint64_t		 reloads;
	uint64_t		 reloads_failed;
	uint64_t		 ctl_bad;
	struct timespec		 started;
	int			 exiting;
	struct cbp2pd_child	 children[PROC_MAX];
};

extern struct cbp2pd	*env;

/* cbp2pd.c */
int	 parent_reload(char *, size_t);
void	 parent_send_children(uint32_t, uint32_t, const void *, size_t);
void	 parent_log_verbose(int);
__dead void parent_shutdown(int);

/* control.c */
int	 control_init(const char *);
void	 control_listen(void);
void	 control_cleanup(const char *);
void	 control_status_child(uint32_t, const struct child_status *);
void	 control_fill_main(struct ctl_status_main *);

#endif /* CBP2PD_H */
