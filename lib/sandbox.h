/*
 * The sandbox every unprivileged process enters before it reads anything
 * untrusted: an empty chroot, an unprivileged user, no_new_privs, not
 * dumpable, and a seccomp filter built from a policy, a table of rules.
 *
 * What is loaded, in this order:
 *
 *  1. ALLOW, whatever the arguments, for the system calls every
 *     libevent/imsg process needs (read, write, sendmsg, mmap ...).
 *  2. The policy's rules, each with up to SANDBOX_CMP_MAX argument
 *     comparisons that must all hold.  Rules for one system call are
 *     alternatives; a call no rule matches kills.
 *  3. SANDBOX_REFUSE (EACCES) for harmless probes of libc (open, stat,
 *     socket, connect ...), but only for those the policy does not name
 *     at all: a refusal never shadows or is shadowed by a policy rule.
 *
 * Any other system call, and any call of a policy's system call that no
 * rule matches, kills the process (SIGSYS); its parent sees why.
 *
 * libseccomp keeps a rule without comparisons over every rule with
 * comparisons for the same system call, whichever came first, so
 * sandbox_filter() refuses a policy that names a system call both
 * without comparisons and in another rule, or names one of the common
 * system calls.  Rules for one system call with different actions must
 * have disjoint comparisons (for example a0 == AF_INET versus
 * a0 == AF_UNIX).
 *
 * Only integer arguments can be filtered: seccomp sees a pointer, never
 * what it points to, so connect(2) cannot be limited to one address.
 */
#ifndef CBP2P_SANDBOX_H
#define CBP2P_SANDBOX_H

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

#define SANDBOX_CMP_MAX		3	/* comparisons in one rule */
#define SANDBOX_ALLOW		SCMP_ACT_ALLOW
#define SANDBOX_REFUSE		SCMP_ACT_ERRNO(EACCES)

/*
 * One comparison of argument arg (0 to 5) with value: op is one of
 * libseccomp's SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT; with
 * SCMP_CMP_MASKED_EQ it holds when (argument & mask) == value.  An
 * entry whose op is 0 ends the list.
 */
struct sandbox_cmp {
	unsigned int		 arg;
	enum scmp_compare	 op;
	uint64_t		 value;
	uint64_t		 mask;		/* SCMP_CMP_MASKED_EQ only */
};

/* One rule: for syscall, action when every comparison holds. */
struct sandbox_rule {
	int			 syscall;	/* SCMP_SYS(name) */
	uint32_t		 action;	/* SANDBOX_ALLOW, _REFUSE */
	struct sandbox_cmp	 cmp[SANDBOX_CMP_MAX];
};

/* A program's rules beyond the common ones. */
struct sandbox_policy {
	const char			*name;
	const struct sandbox_rule	*rules;
	size_t				 nrules;
};

/* Table helpers: a rule without comparisons, and comparisons. */
#define SANDBOX_RULE(sys, act)						\
	{ .syscall = SCMP_SYS(sys), .action = (act) }
#define SANDBOX_ARG(a, o, v)						\
	{ .arg = (a), .op = (o), .value = (v) }
#define SANDBOX_ARG_MASKED(a, m, v)					\
	{ .arg = (a), .op = SCMP_CMP_MASKED_EQ, .value = (v), .mask = (m) }

/* socket(2)'s type without the flags libevent and libc add to it. */
#define SANDBOX_SOCK_TYPE_MASK						\
	(0xffffffffULL & ~(uint64_t)(SOCK_NONBLOCK | SOCK_CLOEXEC))

/*
 * The policies, one place to read them side by side.  A new sandboxed
 * process gets its table and policy in lib/sandbox.c, for example
 *
 *	static const struct sandbox_rule sandbox_rules_engine[] = {
 *		{ .syscall = SCMP_SYS(ioctl), .action = SANDBOX_ALLOW,
 *		    .cmp = { SANDBOX_ARG(1, SCMP_CMP_EQ, FIONREAD) } },
 *		SANDBOX_RULE(recvmmsg, SANDBOX_ALLOW),
 *	};
 *
 * declared here, passed to child_run() or sandbox_enter(), and its
 * probes in regress/lib/t_sandbox.c.
 */
extern const struct sandbox_policy	sandbox_policy_plain;	/* helpers */
extern const struct sandbox_policy	sandbox_policy_mesh;	/* cbmeshd */
extern const struct sandbox_policy	sandbox_policy_disco;	/* cbdiscod */
extern const struct sandbox_policy	sandbox_policy_relay;	/* cbrelayd */
extern const struct sandbox_policy	sandbox_policy_edge;	/* cbedged */
extern const struct sandbox_policy	sandbox_policy_edge_relay; /* cbedged -R */
extern const struct sandbox_policy	sandbox_policy_engine;	/* cbp2pd -E */

/*
 * The seccomp filter of a policy, built but not loaded (default action:
 * kill the process).  NULL with a reason in err when the policy is not
 * well formed or libseccomp refuses it.  The caller releases it.
 */
scmp_filter_ctx	 sandbox_filter(const struct sandbox_policy *, char *, size_t);

/*
 * No core file, ever, for a process whose memory holds keys: not
 * dumpable (also no ptrace by our own user) and RLIMIT_CORE 0, which
 * the children it execs inherit.  -1 with errno.
 */
int		 sandbox_nocore(void);

/*
 * Enter the sandbox: not dumpable, no core, chroot to dir, drop to user, set
 * no_new_privs and load the policy's filter.  Fatal on any failure.
 */
void		 sandbox_enter(const char *, const char *,
		    const struct sandbox_policy *);

/* Check a chroot directory: root-owned, not writable by others. */
int		 sandbox_check_dir(const char *, char *, size_t);

#endif /* CBP2P_SANDBOX_H */
