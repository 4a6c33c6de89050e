/*
 * imsg: framed messages with optional file descriptor passing over a
 * UNIX socketpair, in the shape of OpenBSD's imsg(3) API.  Debian's
 * libbsd does not carry it, so cbp2p has its own.
 */
#ifndef CBP2P_IMSG_H
#define CBP2P_IMSG_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>
#include <stddef.h>
#include <stdint.h>

#include <event.h>

#define IBUF_READ_SIZE		65535
#define IMSG_HEADER_SIZE	sizeof(struct imsg_hdr)
#define MAX_IMSGSIZE		16384	/* header included */
#define IMSG_MAX_FDS_QUEUED	16	/* received fds not yet claimed */

struct ibuf {
	TAILQ_ENTRY(ibuf)	 entry;
	unsigned char		*buf;
	size_t			 size;
	size_t			 max;
	size_t			 wpos;
	size_t			 rpos;
	int			 fd;
};

struct msgbuf {
	TAILQ_HEAD(, ibuf)	 bufs;
	uint32_t		 queued;
	int			 fd;
};

struct ibuf_read {
	unsigned char		 buf[IBUF_READ_SIZE];
	unsigned char		*rptr;
	size_t			 wpos;
};

struct imsg_fd {
	TAILQ_ENTRY(imsg_fd)	 entry;
	int			 fd;
};

struct imsgbuf {
	TAILQ_HEAD(, imsg_fd)	 fds;
	struct ibuf_read	 r;
	struct msgbuf		 w;
	int			 fd;
	pid_t			 pid;
	unsigned int		 nfds;
};

#define IMSGF_HASFD	1

struct imsg_hdr {
	uint32_t	 type;
	uint16_t	 len;		/* header included */
	uint16_t	 flags;
	uint32_t	 peerid;
	uint32_t	 pid;
};

struct imsg {
	struct imsg_hdr	 hdr;
	int		 fd;
	void		*data;		/* hdr.len - IMSG_HEADER_SIZE bytes */
};

/* Buffers. */
struct ibuf	*ibuf_open(size_t);
struct ibuf	*ibuf_dynamic(size_t, size_t);
int		 ibuf_add(struct ibuf *, const void *, size_t);
void		*ibuf_reserve(struct ibuf *, size_t);
size_t		 ibuf_size(struct ibuf *);
void		 ibuf_close(struct msgbuf *, struct ibuf *);
void		 ibuf_free(struct ibuf *);
void		 msgbuf_init(struct msgbuf *);
void		 msgbuf_clear(struct msgbuf *);
int		 msgbuf_write(struct msgbuf *);	/* 1 ok, 0 closed, -1 err */

/*
 * msgbuf_write() writes what the socket takes, keeping the position
 * inside a partly written buffer (rpos), and returns 1.  It returns 0
 * with errno EPIPE when the peer closed (sendmsg(2) uses MSG_NOSIGNAL,
 * so no SIGPIPE is raised).  When the socket is full it returns -1
 * with errno EAGAIN and leaves everything queued, as OpenBSD does, so
 * the usual "== -1 && errno != EAGAIN" test is the fatal case.  A
 * buffer with a descriptor (ibuf->fd != -1) is sent in a sendmsg(2) of
 * its own; the descriptor is closed once its first byte went out, and
 * ibuf_free() or msgbuf_clear() close it if it never did.
 */

/*
 * imsg proper.  imsg_read() returns bytes read, 0 when the peer closed,
 * -1 on error (errno EAGAIN when nothing was ready).  imsg_get() returns
 * the length of the next complete message, 0 when none is complete yet,
 * -1 on a malformed header (errno ERANGE: length below header size or
 * above MAX_IMSGSIZE); the connection is then unusable.
 *
 * More imsg_read() errors: EAGAIN also when no descriptor could be
 * allocated for a passed one (Linux lacks getdtablecount(), so a spare
 * descriptor is probed before each read; nothing is consumed, retry
 * once descriptors were closed); ENOBUFS when the read buffer is full
 * because imsg_get() was not called; EBADMSG when more than
 * IMSG_MAX_FDS_QUEUED received descriptors are unclaimed or the kernel
 * dropped one (MSG_CTRUNC): the extras are closed, the bytes were
 * consumed and the connection is unusable.  Received descriptors are
 * close-on-exec.
 *
 * imsg_compose() and imsg_composev() return 1, or -1 with errno ERANGE
 * when the payload plus header exceeds MAX_IMSGSIZE.  pid 0 means the
 * pid imsg_init() recorded.  On success the queue owns fd (-1 for
 * none) and closes it after sending; on failure the caller keeps it.
 * imsg_flush() returns 0 once the queue is empty, -1 on error (EPIPE
 * when the peer closed); on a non-blocking socket it waits in poll(2).
 * imsg_get() leaves data NULL for an empty payload and fd -1 unless
 * IMSGF_HASFD is set; release with imsg_free() (the fd is the caller's).
 * imsg_clear() drops queued output and closes unclaimed descriptors.
 */
void		 imsg_init(struct imsgbuf *, int);
ssize_t		 imsg_read(struct imsgbuf *);
ssize_t		 imsg_get(struct imsgbuf *, struct imsg *);
int		 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t,
		    int, const void *, size_t);
int		 imsg_composev(struct imsgbuf *, uint32_t, uint32_t, pid_t,
		    int, const struct iovec *, int);
int		 imsg_flush(struct imsgbuf *);
void		 imsg_free(struct imsg *);
void		 imsg_clear(struct imsgbuf *);

/*
 * For a receiver that takes no descriptors: close every received one
 * that no message claimed yet (sent without IMSGF_HASFD, or ahead of a
 * message not complete yet) and return how many.  A later message with
 * IMSGF_HASFD then gets fd -1.
 */
unsigned int	 imsg_drop_fds(struct imsgbuf *);

/*
 * libevent glue: one event per imsgbuf, write interest armed on demand.
 * The handler is called with the struct imsgev as its argument, as in
 * OpenBSD daemons; the data given to imsgev_init() is iev->data.
 * imsgev_init() adds no event; imsg_event_add() (re)arms it in the
 * global base (event_set()), so call it after event_init().
 * imsgev_clear() deletes the event, clears the buffers and closes the
 * socket; imsg_event_add() does nothing after that.
 */
struct imsgev {
	struct imsgbuf		 ibuf;
	void			(*handler)(int, short, void *);
	struct event		 ev;
	void			*data;
	short			 events;
};

void		 imsgev_init(struct imsgev *, int, void *,
		    void (*)(int, short, void *));
void		 imsg_event_add(struct imsgev *);
int		 imsg_compose_event(struct imsgev *, uint32_t, uint32_t,
		    pid_t, int, const void *, size_t);
void		 imsgev_clear(struct imsgev *);

#endif /* CBP2P_IMSG_H */
