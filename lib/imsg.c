/*
 * imsg and ibuf: framed messages with descriptor passing over a UNIX
 * stream socket, after OpenBSD's imsg-buffer.c and imsg.c.
 *
 * Differences from OpenBSD that callers may notice are documented in
 * imsg.h; the short version: sendmsg(2) uses MSG_NOSIGNAL, received
 * descriptors are close-on-exec, the peer closing is reported by
 * msgbuf_write() as 0 with errno EPIPE, imsg_flush() waits in poll(2)
 * on a non-blocking socket instead of failing with EAGAIN, and
 * ibuf_free() closes a descriptor the buffer still carries.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "imsg.h"

/* One descriptor per sendmsg(2)/recvmsg(2); see msgbuf_write(). */
#define IMSG_CMSG_FDS		1
#define IMSG_CMSG_SPACE		CMSG_SPACE(sizeof(int) * IMSG_CMSG_FDS)
#define IMSG_INFTIM		(-1)

static int	 ibuf_realloc(struct ibuf *, size_t);
static void	 ibuf_enqueue(struct msgbuf *, struct ibuf *);
static void	 ibuf_dequeue(struct msgbuf *, struct ibuf *);
static void	 msgbuf_drain(struct msgbuf *, size_t);
static int	 imsg_fd_reserve(struct imsgbuf *);
static int	 imsg_queue_fd(struct imsgbuf *, int);
static int	 imsg_get_fd(struct imsgbuf *);
static struct ibuf *imsg_create(struct imsgbuf *, uint32_t, uint32_t,
		    pid_t, size_t);
static int	 imsg_add(struct ibuf *, const void *, size_t);
static void	 imsg_close(struct imsgbuf *, struct ibuf *);

/*
 * Buffers.
 */

struct ibuf *
ibuf_open(size_t len)
{
	struct ibuf	*buf;

	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (NULL);
	if (len > 0 && (buf->buf = calloc(len, 1)) == NULL) {
		free(buf);
		return (NULL);
	}
	buf->size = buf->max = len;
	buf->fd = -1;

	return (buf);
}

struct ibuf *
ibuf_dynamic(size_t len, size_t max)
{
	struct ibuf	*buf;

	if (max < len) {
		errno = EINVAL;
		return (NULL);
	}
	if ((buf = ibuf_open(len)) == NULL)
		return (NULL);
	buf->max = max;

	return (buf);
}

static int
ibuf_realloc(struct ibuf *buf, size_t len)
{
	unsigned char	*b;

	/* A fixed buffer has max == size, so growing it fails here. */
	if (len > SIZE_MAX - buf->wpos || buf->wpos + len > buf->max) {
		errno = ERANGE;
		return (-1);
	}

	/* recallocarray() clears what it drops: payloads may be secret. */
	b = recallocarray(buf->buf, buf->size, buf->wpos + len, 1);
	if (b == NULL)
		return (-1);
	buf->buf = b;
	buf->size = buf->wpos + len;

	return (0);
}

void *
ibuf_reserve(struct ibuf *buf, size_t len)
{
	void	*b;

	if (len > SIZE_MAX - buf->wpos) {
		errno = ERANGE;
		return (NULL);
	}
	if (buf->wpos + len > buf->size)
		if (ibuf_realloc(buf, len) == -1)
			return (NULL);
	/* Zero-length reserve on an empty buffer: no storage to point to. */
	if (buf->buf == NULL) {
		errno = EINVAL;
		return (NULL);
	}

	b = buf->buf + buf->wpos;
	buf->wpos += len;
	memset(b, 0, len);

	return (b);
}

int
ibuf_add(struct ibuf *buf, const void *data, size_t len)
{
	void	*b;

	if (len == 0)
		return (0);
	if ((b = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memcpy(b, data, len);

	return (0);
}

size_t
ibuf_size(struct ibuf *buf)
{
	return (buf->wpos);
}

void
ibuf_close(struct msgbuf *msgbuf, struct ibuf *buf)
{
	ibuf_enqueue(msgbuf, buf);
}

void
ibuf_free(struct ibuf *buf)
{
	if (buf == NULL)
		return;
	/* A descriptor that was never sent would otherwise leak. */
	if (buf->fd != -1)
		close(buf->fd);
	freezero(buf->buf, buf->size);
	free(buf);
}

void
msgbuf_init(struct msgbuf *msgbuf)
{
	msgbuf->queued = 0;
	msgbuf->fd = -1;
	TAILQ_INIT(&msgbuf->bufs);
}

void
msgbuf_clear(struct msgbuf *msgbuf)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs)) != NULL)
		ibuf_dequeue(msgbuf, buf);
}

static void
ibuf_enqueue(struct msgbuf *msgbuf, struct ibuf *buf)
{
	TAILQ_INSERT_TAIL(&msgbuf->bufs, buf, entry);
	msgbuf->queued++;
}

static void
ibuf_dequeue(struct msgbuf *msgbuf, struct ibuf *buf)
{
	TAILQ_REMOVE(&msgbuf->bufs, buf, entry);
	msgbuf->queued--;
	ibuf_free(buf);
}

/*
 * Drop n written bytes from the head of the queue.  Buffers with
 * nothing left to write go as well, so an empty buffer cannot stall
 * the queue.
 */
static void
msgbuf_drain(struct msgbuf *msgbuf, size_t n)
{
	struct ibuf	*buf;
	size_t		 left;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs)) != NULL) {
		left = buf->wpos - buf->rpos;
		if (n < left) {
			buf->rpos += n;
			break;
		}
		n -= left;
		ibuf_dequeue(msgbuf, buf);
	}
}

/*
 * Write as much of the queue as the socket takes.  A buffer carrying
 * a descriptor always starts a sendmsg(2) of its own and ends it, so
 * the descriptor travels with the first byte of its own message and
 * the receiver can pair them in order.
 */
int
msgbuf_write(struct msgbuf *msgbuf)
{
	struct iovec	 iov[IOV_MAX];
	struct ibuf	*buf, *fdbuf = NULL;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[IMSG_CMSG_SPACE];
	} cmsgbuf;
	unsigned int	 i = 0;
	ssize_t		 n;

	/* Nothing to write must not look like "peer closed" below. */
	msgbuf_drain(msgbuf, 0);
	if (TAILQ_EMPTY(&msgbuf->bufs))
		return (1);

	memset(iov, 0, sizeof(iov));
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));

	TAILQ_FOREACH(buf, &msgbuf->bufs, entry) {
		if (i >= IOV_MAX)
			break;
		if (i > 0 && buf->fd != -1)
			break;
		iov[i].iov_base = buf->buf + buf->rpos;
		iov[i].iov_len = buf->wpos - buf->rpos;
		i++;
		if (buf->fd != -1) {
			fdbuf = buf;
			break;
		}
	}

	msg.msg_iov = iov;
	msg.msg_iovlen = i;

	if (fdbuf != NULL) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fdbuf->fd, sizeof(int));
	}

again:
	/* MSG_NOSIGNAL: a closed peer is a return value, not a SIGPIPE. */
	if ((n = sendmsg(msgbuf->fd, &msg, MSG_NOSIGNAL)) == -1) {
		if (errno == EINTR)
			goto again;
		if (errno == EPIPE || errno == ECONNRESET) {
			errno = EPIPE;
			return (0);
		}
		if (errno == ENOBUFS || errno == EWOULDBLOCK)
			errno = EAGAIN;
		return (-1);
	}

	if (n == 0) {
		errno = EPIPE;
		return (0);
	}

	/*
	 * The descriptor went out with the first byte, which was just
	 * written; it must not be sent again with the rest of a partial
	 * write, and our copy is no longer needed.
	 */
	if (fdbuf != NULL) {
		close(fdbuf->fd);
		fdbuf->fd = -1;
	}

	msgbuf_drain(msgbuf, n);

	return (1);
}

/*
 * imsg proper.
 */

void
imsg_init(struct imsgbuf *ibuf, int fd)
{
	memset(ibuf, 0, sizeof(*ibuf));
	msgbuf_init(&ibuf->w);
	ibuf->r.rptr = ibuf->r.buf;
	ibuf->r.wpos = 0;
	ibuf->fd = fd;
	ibuf->w.fd = fd;
	ibuf->pid = getpid();
	ibuf->nfds = 0;
	TAILQ_INIT(&ibuf->fds);
}

/*
 * Linux has no getdtablecount(2).  Instead make sure one descriptor
 * can still be allocated before reading: the kernel silently drops a
 * passed descriptor it cannot install, which would pair the next
 * IMSGF_HASFD message with the wrong one.  Returns 0 when there is
 * room, -1 with errno EAGAIN when the table is full (try again once
 * descriptors were closed), -1 with another errno on failure.
 */
static int
imsg_fd_reserve(struct imsgbuf *ibuf)
{
	int	fd;

	if ((fd = fcntl(ibuf->fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		if (errno == EMFILE || errno == ENFILE)
			errno = EAGAIN;
		return (-1);
	}
	close(fd);

	return (0);
}

static int
imsg_queue_fd(struct imsgbuf *ibuf, int fd)
{
	struct imsg_fd	*ifd;

	if (ibuf->nfds >= IMSG_MAX_FDS_QUEUED) {
		errno = EBADMSG;
		return (-1);
	}
	if ((ifd = calloc(1, sizeof(*ifd))) == NULL)
		return (-1);
	ifd->fd = fd;
	TAILQ_INSERT_TAIL(&ibuf->fds, ifd, entry);
	ibuf->nfds++;

	return (0);
}

ssize_t
imsg_read(struct imsgbuf *ibuf)
{
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[IMSG_CMSG_SPACE];
	} cmsgbuf;
	struct iovec	 iov;
	ssize_t		 n;
	size_t		 i, nfd;
	int		 fd, error = 0;

	if (ibuf->r.wpos >= sizeof(ibuf->r.buf)) {
		/* Full: imsg_get() has to make room first. */
		errno = ENOBUFS;
		return (-1);
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));

	iov.iov_base = ibuf->r.buf + ibuf->r.wpos;
	iov.iov_len = sizeof(ibuf->r.buf) - ibuf->r.wpos;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	if (imsg_fd_reserve(ibuf) == -1)
		return (-1);

again:
	if ((n = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EINTR)
			goto again;
		if (errno == EWOULDBLOCK)
			errno = EAGAIN;
		return (-1);
	}

	ibuf->r.wpos += n;

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			/*
			 * Unclaimed descriptors are bounded: past the
			 * limit, or once anything failed, close the rest
			 * instead of leaking them.
			 */
			if (error != 0 || imsg_queue_fd(ibuf, fd) == -1) {
				if (error == 0)
					error = errno;
				close(fd);
			}
		}
	}

	/* The kernel dropped descriptors: pairing is lost for good. */
	if (error == 0 && (msg.msg_flags & MSG_CTRUNC))
		error = EBADMSG;

	if (error != 0) {
		errno = error;
		return (-1);
	}

	return (n);
}

static int
imsg_get_fd(struct imsgbuf *ibuf)
{
	struct imsg_fd	*ifd;
	int		 fd;

	if ((ifd = TAILQ_FIRST(&ibuf->fds)) == NULL)
		return (-1);
	fd = ifd->fd;
	TAILQ_REMOVE(&ibuf->fds, ifd, entry);
	ibuf->nfds--;
	free(ifd);

	return (fd);
}

ssize_t
imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	size_t	 av, left, datalen;

	av = ibuf->r.wpos;

	if (av < IMSG_HEADER_SIZE)
		return (0);

	memcpy(&imsg->hdr, ibuf->r.buf, sizeof(imsg->hdr));
	if (imsg->hdr.len < IMSG_HEADER_SIZE ||
	    imsg->hdr.len > MAX_IMSGSIZE) {
		errno = ERANGE;
		return (-1);
	}
	if (imsg->hdr.len > av)
		return (0);

	datalen = imsg->hdr.len - IMSG_HEADER_SIZE;
	ibuf->r.rptr = ibuf->r.buf + IMSG_HEADER_SIZE;
	if (datalen == 0)
		imsg->data = NULL;
	else {
		if ((imsg->data = malloc(datalen)) == NULL)
			return (-1);
		memcpy(imsg->data, ibuf->r.rptr, datalen);
	}

	if (imsg->hdr.flags & IMSGF_HASFD)
		imsg->fd = imsg_get_fd(ibuf);
	else
		imsg->fd = -1;

	/* Compact: the next message always starts at r.buf. */
	if (imsg->hdr.len < av) {
		left = av - imsg->hdr.len;
		memmove(ibuf->r.buf, ibuf->r.buf + imsg->hdr.len, left);
		ibuf->r.wpos = left;
	} else
		ibuf->r.wpos = 0;
	ibuf->r.rptr = ibuf->r.buf;

	return (datalen + IMSG_HEADER_SIZE);
}

static struct ibuf *
imsg_create(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid, pid_t pid,
    size_t datalen)
{
	struct ibuf	*wbuf;
	struct imsg_hdr	 hdr;

	/* Written this way round so a huge datalen cannot wrap. */
	if (datalen > MAX_IMSGSIZE - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (NULL);
	}
	datalen += IMSG_HEADER_SIZE;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.flags = 0;
	hdr.peerid = peerid;
	if ((hdr.pid = pid) == 0)
		hdr.pid = ibuf->pid;
	if ((wbuf = ibuf_dynamic(datalen, MAX_IMSGSIZE)) == NULL)
		return (NULL);
	if (imsg_add(wbuf, &hdr, sizeof(hdr)) == -1)
		return (NULL);

	return (wbuf);
}

/* Frees msg on failure, like OpenBSD's imsg_add(). */
static int
imsg_add(struct ibuf *msg, const void *data, size_t datalen)
{
	if (datalen > 0 && ibuf_add(msg, data, datalen) == -1) {
		ibuf_free(msg);
		return (-1);
	}

	return (0);
}

static void
imsg_close(struct imsgbuf *ibuf, struct ibuf *msg)
{
	struct imsg_hdr	*hdr;

	hdr = (struct imsg_hdr *)msg->buf;
	hdr->flags &= ~IMSGF_HASFD;
	if (msg->fd != -1)
		hdr->flags |= IMSGF_HASFD;
	hdr->len = (uint16_t)msg->wpos;

	ibuf_close(&ibuf->w, msg);
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct ibuf	*wbuf;

	if (datalen > 0 && data == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if ((wbuf = imsg_create(ibuf, type, peerid, pid, datalen)) == NULL)
		return (-1);
	if (imsg_add(wbuf, data, datalen) == -1)
		return (-1);

	/* Only now does the buffer own fd; failures above left it alone. */
	wbuf->fd = fd;
	imsg_close(ibuf, wbuf);

	return (1);
}

int
imsg_composev(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	struct ibuf	*wbuf;
	size_t		 datalen = 0;
	int		 i;

	if (iovcnt < 0 || (iovcnt > 0 && iov == NULL)) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > MAX_IMSGSIZE - datalen) {
			errno = ERANGE;
			return (-1);
		}
		datalen += iov[i].iov_len;
	}

	if ((wbuf = imsg_create(ibuf, type, peerid, pid, datalen)) == NULL)
		return (-1);
	for (i = 0; i < iovcnt; i++)
		if (imsg_add(wbuf, iov[i].iov_base, iov[i].iov_len) == -1)
			return (-1);

	wbuf->fd = fd;
	imsg_close(ibuf, wbuf);

	return (1);
}

/*
 * Write everything queued.  On a non-blocking socket EAGAIN waits in
 * poll(2) for the socket to drain rather than failing, so this really
 * is a blocking flush either way.
 */
int
imsg_flush(struct imsgbuf *ibuf)
{
	struct pollfd	 pfd;
	int		 rv;

	while (ibuf->w.queued > 0) {
		rv = msgbuf_write(&ibuf->w);
		if (rv == 1)
			continue;
		if (rv == 0) {
			errno = EPIPE;
			return (-1);
		}
		if (errno != EAGAIN)
			return (-1);

		memset(&pfd, 0, sizeof(pfd));
		pfd.fd = ibuf->w.fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, IMSG_INFTIM) == -1 && errno != EINTR)
			return (-1);
	}

	return (0);
}

void
imsg_free(struct imsg *imsg)
{
	if (imsg->data != NULL)
		freezero(imsg->data, imsg->hdr.len - IMSG_HEADER_SIZE);
	imsg->data = NULL;
}

void
imsg_clear(struct imsgbuf *ibuf)
{
	int	fd;

	msgbuf_clear(&ibuf->w);
	while ((fd = imsg_get_fd(ibuf)) != -1)
		close(fd);
}

unsigned int
imsg_drop_fds(struct imsgbuf *ibuf)
{
	unsigned int	 n = 0;
	int		 fd;

	while ((fd = imsg_get_fd(ibuf)) != -1) {
		close(fd);
		n++;
	}

	return (n);
}

/*
 * libevent glue.
 */

void
imsgev_init(struct imsgev *iev, int fd, void *data,
    void (*handler)(int, short, void *))
{
	imsg_init(&iev->ibuf, fd);
	iev->handler = handler;
	iev->data = data;
	iev->events = 0;
	/* Not event_initialized(): imsg_event_add() must not event_del(). */
	memset(&iev->ev, 0, sizeof(iev->ev));
}

void
imsg_event_add(struct imsgev *iev)
{
	/* After imsgev_clear() there is no descriptor left to watch. */
	if (iev->ibuf.fd == -1)
		return;

	iev->events = EV_READ;
	if (iev->ibuf.w.queued > 0)
		iev->events |= EV_WRITE;

	if (event_initialized(&iev->ev))
		event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, iev->events, iev->handler, iev);
	event_add(&iev->ev, NULL);
}

int
imsg_compose_event(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t datalen)
{
	int	ret;

	if ((ret = imsg_compose(&iev->ibuf, type, peerid, pid, fd, data,
	    datalen)) != -1)
		imsg_event_add(iev);

	return (ret);
}

void
imsgev_clear(struct imsgev *iev)
{
	if (event_initialized(&iev->ev))
		event_del(&iev->ev);
	imsg_clear(&iev->ibuf);
	if (iev->ibuf.fd != -1)
		close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
	iev->ibuf.w.fd = -1;
	iev->events = 0;
}
