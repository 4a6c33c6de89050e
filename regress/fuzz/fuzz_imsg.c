/*
 * imsg framing (lib/imsg.c) from the receiving end of a socketpair, as
 * the parent reads a child: the input is a series of writes, each of
 * arbitrary bytes and some with a descriptor passed along.  After each
 * write the receiver reads and takes every complete message; each must
 * be what a plain reference framer finds in the same bytes (header,
 * payload, and for IMSGF_HASFD the oldest unclaimed descriptor, checked
 * by which file it is), a bad length ends the connection, more than
 * IMSG_MAX_FDS_QUEUED unclaimed descriptors too, and at the end no
 * received descriptor is left open.
 *
 * Input: writes, each a flags byte (bit 0: pass a descriptor), a be16
 * length and that many bytes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "fuzz.h"

#define NSRC		4	/* distinct files to pass */
#define WRITES_MAX	64
#define CHUNK_MAX	(MAX_IMSGSIZE + IMSG_HEADER_SIZE)
#define STREAM_MAX	(WRITES_MAX * CHUNK_MAX)

static int	 sp[2] = { -1, -1 };	/* [0] writes, [1] reads */
static int	 src[NSRC];
static ino_t	 src_ino[NSRC];

static void
setup(void)
{
	struct stat	 st;
	int		 p[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sp) == -1)
		abort();
	for (i = 0; i < NSRC; i++) {
		if (pipe2(p, O_CLOEXEC) == -1 || fstat(p[0], &st) == -1)
			abort();
		close(p[1]);
		src[i] = p[0];
		src_ino[i] = st.st_ino;
	}
}

static int
lowest_free(void)
{
	int	 fd;

	if ((fd = fcntl(sp[0], F_DUPFD_CLOEXEC, 0)) == -1)
		abort();
	close(fd);
	return (fd);
}

static void
send_chunk(const uint8_t *p, size_t len, int fd)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr	*c;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd != -1) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(sp[0], &msg, MSG_NOSIGNAL) != (ssize_t)len)
		abort();
}

/* Whatever is left in the socket goes; passed descriptors with it. */
static void
drain(void)
{
	char	 buf[IBUF_READ_SIZE];

	while (recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct imsgbuf	 ib;
	static uint8_t		 stream[STREAM_MAX];
	struct imsg		 im;
	struct imsg_hdr		 hdr;
	struct stat		 st;
	struct fz		 f;
	const uint8_t		*p;
	size_t			 len, slen = 0, off = 0, w, got;
	ssize_t			 n;
	int			 fdq[IMSG_MAX_FDS_QUEUED + 1];
	int			 nq = 0, sent = 0;
	int			 base, pass, want, dead = 0;
	uint8_t			 flags;

	if (sp[0] == -1)
		setup();
	base = lowest_free();
	imsg_init(&ib, sp[1]);
	fz_init(&f, data, size);
	for (w = 0; w < WRITES_MAX && f.left > 0 && !dead; w++) {
		flags = fz_u8(&f);
		p = fz_take(&f, fz_u16(&f) % CHUNK_MAX, &len);
		pass = (flags & 1) != 0;
		if (len == 0)
			continue;	/* a descriptor needs a byte */
		send_chunk(p, len, pass ? src[sent % NSRC] : -1);
		memcpy(stream + slen, p, len);
		slen += len;

		/* The kernel may hand a long write over in pieces. */
		for (got = 0; got < len; got += (size_t)n) {
			n = imsg_read(&ib);
			if (pass && nq == IMSG_MAX_FDS_QUEUED) {
				/* One too many unclaimed: refused, closed. */
				FZ_CHECK(n == -1 && errno == EBADMSG);
				dead = 1;
				break;
			}
			FZ_CHECK(n > 0);
		}
		if (dead)
			break;
		FZ_CHECK(got == len);
		if (pass)
			fdq[nq++] = sent++ % NSRC;

		/* The reference framer, on the same bytes. */
		for (;;) {
			n = imsg_get(&ib, &im);
			if (slen - off < sizeof(hdr)) {
				FZ_CHECK(n == 0);
				break;
			}
			memcpy(&hdr, stream + off, sizeof(hdr));
			if (hdr.len < IMSG_HEADER_SIZE ||
			    hdr.len > MAX_IMSGSIZE) {
				FZ_CHECK(n == -1 && errno == ERANGE);
				dead = 1;
				break;
			}
			if (hdr.len > slen - off) {
				FZ_CHECK(n == 0);
				break;
			}
			FZ_CHECK(n == hdr.len);
			FZ_CHECK(memcmp(&im.hdr, &hdr, sizeof(hdr)) == 0);
			if (hdr.len == IMSG_HEADER_SIZE)
				FZ_CHECK(im.data == NULL);
			else
				FZ_CHECK(memcmp(im.data, stream + off +
				    IMSG_HEADER_SIZE, hdr.len -
				    IMSG_HEADER_SIZE) == 0);
			if (!(hdr.flags & IMSGF_HASFD) || nq == 0)
				FZ_CHECK(im.fd == -1);
			else {
				want = fdq[0];
				memmove(fdq, fdq + 1, --nq * sizeof(fdq[0]));
				FZ_CHECK(im.fd != -1);
				FZ_CHECK(fstat(im.fd, &st) == 0 &&
				    st.st_ino == src_ino[want]);
				FZ_CHECK(fcntl(im.fd, F_GETFD) & FD_CLOEXEC);
				close(im.fd);
			}
			imsg_free(&im);
			off += hdr.len;
		}
	}
	/* Unclaimed descriptors go with the connection. */
	FZ_CHECK(imsg_drop_fds(&ib) == (unsigned int)(dead ? 0 : nq) ||
	    dead);
	imsg_clear(&ib);
	drain();
	FZ_CHECK(lowest_free() == base);
	return (0);
}
