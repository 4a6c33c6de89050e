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
 * imsg proper.  imsg_read() returns bytes read, 0 when the peer closed,
 * -1 on error (errno EAGAIN when nothing was ready).  imsg_get() returns
 * the length of the next complete message, 0 when none is complete yet,
 * -1 on a malformed header (errno ERANGE: length below header size or
 * above MAX_IMSGSIZE); the connection is then unusable.
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

/* libevent glue: one event per imsgbuf, write interest armed on demand. */
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
