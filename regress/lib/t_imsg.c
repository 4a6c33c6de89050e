/*
 * imsg unit tests over socketpair(AF_UNIX, SOCK_STREAM): framing, partial
 * reads and writes, descriptor passing and its limits, malformed headers,
 * peer shutdown, and the libevent glue.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>
#include <event.h>

#include "imsg.h"

#define MAX_DATA	(MAX_IMSGSIZE - IMSG_HEADER_SIZE)
#define RT_COUNT	10000	/* messages in the round trip test */
#define RT_QUEUE_MAX	64	/* composed ahead of the reader */
#define FD_MSGS		4	/* descriptor-carrying messages */
#define EV_COUNT	100	/* messages through the event loop */
#define EV_FD_EVERY	10	/* every n-th one carries a descriptor */
#define EV_TIMEOUT_SEC	20
#define RESERVE_NOFILE	64	/* lowered descriptor limit */

enum {
	T_DATA = 1,
	T_FD,
	T_ECHO
};

static void
mkpair(int sv[2], int nonblock)
{
	int	i;

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	if (!nonblock)
		return;
	for (i = 0; i < 2; i++)
		ATF_REQUIRE(fcntl(sv[i], F_SETFL,
		    fcntl(sv[i], F_GETFL) | O_NONBLOCK) == 0);
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	ATF_REQUIRE((d = opendir("/proc/self/fd")) != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);

	return (n - 1);		/* the directory's own descriptor */
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

/* Payload size for message seq: a spread from empty to the maximum. */
static size_t
size_for(uint32_t seq)
{
	uint32_t	x = seq * 2654435761u;

	switch (seq % 5) {
	case 0:
		return (0);
	case 1:
		return (x % 64);
	case 2:
		return (MAX_DATA);
	default:
		return (x % (MAX_DATA + 1));
	}
}

static unsigned char
byte_for(uint32_t seq, size_t i)
{
	return ((unsigned char)((seq * 131u) ^ (i * 7u) ^ (i >> 8)));
}

static void
fill(unsigned char *p, size_t len, uint32_t seq)
{
	size_t	i;

	for (i = 0; i < len; i++)
		p[i] = byte_for(seq, i);
}

static int
check_fill(const unsigned char *p, size_t len, uint32_t seq)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != byte_for(seq, i))
			return (0);
	return (1);
}

/* Concatenate the queued, unsent bytes of ibuf's write queue. */
static size_t
queued_bytes(struct imsgbuf *ibuf, unsigned char *out, size_t max)
{
	struct ibuf	*b;
	size_t		 len = 0;

	TAILQ_FOREACH(b, &ibuf->w.bufs, entry) {
		ATF_REQUIRE(len + b->wpos - b->rpos <= max);
		memcpy(out + len, b->buf + b->rpos, b->wpos - b->rpos);
		len += b->wpos - b->rpos;
	}
	return (len);
}

static void
write_all(int fd, const void *p, size_t len)
{
	ATF_REQUIRE_EQ(write(fd, p, len), (ssize_t)len);
}

ATF_TC_WITHOUT_HEAD(roundtrip_many);
ATF_TC_BODY(roundtrip_many, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	struct iovec	 iov[3];
	unsigned char	*out;
	uint32_t	 sent = 0, recvd = 0;
	size_t		 len;
	ssize_t		 n;
	pid_t		 pid;
	int		 sv[2], rv, partial = 0;

	mkpair(sv, 1);
	imsg_init(&a, sv[0]);
	imsg_init(&b, sv[1]);
	ATF_REQUIRE((out = malloc(MAX_DATA)) != NULL);

	while (recvd < RT_COUNT) {
		while (sent < RT_COUNT && a.w.queued < RT_QUEUE_MAX) {
			len = size_for(sent);
			fill(out, len, sent);
			/* Even: pid 0 stands for our own, odd: explicit. */
			pid = (sent % 2) ? (pid_t)(sent + 1000) : 0;
			if (sent % 3 == 0) {
				/* Exercise composev with a 3-way split. */
				iov[0].iov_base = out;
				iov[0].iov_len = len / 3;
				iov[1].iov_base = out + len / 3;
				iov[1].iov_len = len / 3;
				iov[2].iov_base = out + 2 * (len / 3);
				iov[2].iov_len = len - 2 * (len / 3);
				rv = imsg_composev(&a, T_DATA, sent, pid, -1,
				    iov, 3);
			} else
				rv = imsg_compose(&a, T_DATA, sent, pid, -1,
				    out, len);
			ATF_REQUIRE_EQ(rv, 1);
			sent++;
		}
		if (a.w.queued > 0) {
			rv = msgbuf_write(&a.w);
			ATF_REQUIRE(rv == 1 || (rv == -1 && errno == EAGAIN));
			if (!TAILQ_EMPTY(&a.w.bufs) &&
			    TAILQ_FIRST(&a.w.bufs)->rpos > 0)
				partial = 1;
		}

		n = imsg_read(&b);
		ATF_REQUIRE(n > 0 || (n == -1 && errno == EAGAIN));
		while ((n = imsg_get(&b, &imsg)) > 0) {
			len = size_for(recvd);
			ATF_REQUIRE_EQ((size_t)n, len + IMSG_HEADER_SIZE);
			ATF_REQUIRE_EQ(imsg.hdr.len, n);
			ATF_REQUIRE_EQ(imsg.hdr.type, T_DATA);
			ATF_REQUIRE_EQ(imsg.hdr.peerid, recvd);
			ATF_REQUIRE_EQ(imsg.hdr.pid, (recvd % 2) ?
			    recvd + 1000 : (uint32_t)getpid());
			ATF_REQUIRE_EQ(imsg.fd, -1);
			if (len == 0)
				ATF_REQUIRE(imsg.data == NULL);
			else
				ATF_REQUIRE_MSG(check_fill(imsg.data, len,
				    recvd), "payload of message %u", recvd);
			imsg_free(&imsg);
			recvd++;
		}
		ATF_REQUIRE_EQ(n, 0);
	}

	ATF_CHECK_EQ(sent, RT_COUNT);
	ATF_CHECK_EQ(a.w.queued, 0);
	ATF_CHECK_EQ(b.r.wpos, 0);
	/* Nothing beyond the last message. */
	ATF_CHECK(imsg_read(&b) == -1 && errno == EAGAIN);
	ATF_CHECK_MSG(partial, "socket never took a partial write");

	free(out);
	imsg_clear(&a);
	imsg_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC_WITHOUT_HEAD(partial_reads);
ATF_TC_BODY(partial_reads, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	unsigned char	 raw[2 * MAX_IMSGSIZE], p1[100], p2[300];
	size_t		 rawlen, len1, i;
	ssize_t		 n;
	int		 sv[2];

	mkpair(sv, 0);
	imsg_init(&a, sv[0]);
	imsg_init(&b, sv[1]);

	fill(p1, sizeof(p1), 1);
	fill(p2, sizeof(p2), 2);
	ATF_REQUIRE_EQ(imsg_compose(&a, T_DATA, 1, 0, -1, p1, sizeof(p1)), 1);
	ATF_REQUIRE_EQ(imsg_compose(&a, T_DATA, 2, 0, -1, p2, sizeof(p2)), 1);
	rawlen = queued_bytes(&a, raw, sizeof(raw));
	len1 = IMSG_HEADER_SIZE + sizeof(p1);
	ATF_REQUIRE_EQ(rawlen, len1 + IMSG_HEADER_SIZE + sizeof(p2));
	msgbuf_clear(&a.w);

	/* One byte per write(2) and per imsg_read(). */
	for (i = 0; i < rawlen; i++) {
		write_all(sv[0], raw + i, 1);
		ATF_REQUIRE_EQ(imsg_read(&b), 1);
		n = imsg_get(&b, &imsg);
		if (i + 1 == len1) {
			ATF_REQUIRE_EQ((size_t)n, len1);
			ATF_REQUIRE_EQ(imsg.hdr.peerid, 1);
			ATF_REQUIRE(check_fill(imsg.data, sizeof(p1), 1));
			imsg_free(&imsg);
			ATF_REQUIRE_EQ(b.r.wpos, 0);
		} else if (i + 1 == rawlen) {
			ATF_REQUIRE_EQ((size_t)n, rawlen - len1);
			ATF_REQUIRE_EQ(imsg.hdr.peerid, 2);
			ATF_REQUIRE(check_fill(imsg.data, sizeof(p2), 2));
			imsg_free(&imsg);
		} else
			ATF_REQUIRE_EQ_MSG(n, 0, "message at byte %zu", i);
	}
	ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);
	ATF_CHECK_EQ(b.r.wpos, 0);

	/* Both messages in one read, the second one split. */
	write_all(sv[0], raw, len1 + 5);
	ATF_REQUIRE_EQ(imsg_read(&b), (ssize_t)(len1 + 5));
	ATF_REQUIRE_EQ((size_t)imsg_get(&b, &imsg), len1);
	ATF_REQUIRE(check_fill(imsg.data, sizeof(p1), 1));
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(imsg_get(&b, &imsg), 0);
	ATF_REQUIRE_EQ(b.r.wpos, 5);
	write_all(sv[0], raw + len1 + 5, rawlen - len1 - 5);
	ATF_REQUIRE_EQ(imsg_read(&b), (ssize_t)(rawlen - len1 - 5));
	ATF_REQUIRE_EQ((size_t)imsg_get(&b, &imsg), rawlen - len1);
	ATF_REQUIRE(check_fill(imsg.data, sizeof(p2), 2));
	imsg_free(&imsg);
	ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);

	imsg_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC_WITHOUT_HEAD(fd_passing);
ATF_TC_BODY(fd_passing, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	unsigned char	 payload[32];
	char		 rbuf[32], want[32];
	int		 pipes[FD_MSGS][2], got[FD_MSGS];
	int		 sv[2], baseline, k, j, nfd = 0, ndata = 0;
	ssize_t		 n;

	baseline = count_fds();
	mkpair(sv, 0);
	imsg_init(&a, sv[0]);
	imsg_init(&b, sv[1]);

	/* Descriptor messages interleaved with plain ones. */
	for (k = 0; k < FD_MSGS; k++) {
		ATF_REQUIRE(pipe(pipes[k]) == 0);
		ATF_REQUIRE_EQ(imsg_compose(&a, T_FD, k, 0, pipes[k][1],
		    &k, sizeof(k)), 1);
		fill(payload, sizeof(payload), k);
		ATF_REQUIRE_EQ(imsg_compose(&a, T_DATA, k, 0, -1, payload,
		    sizeof(payload)), 1);
	}
	ATF_REQUIRE_EQ(imsg_flush(&a), 0);
	ATF_REQUIRE_EQ(a.w.queued, 0);
	/* Sent descriptors are closed by the sender. */
	for (k = 0; k < FD_MSGS; k++)
		ATF_CHECK_MSG(!fd_is_open(pipes[k][1]),
		    "sent fd %d still open", pipes[k][1]);

	while (nfd + ndata < 2 * FD_MSGS) {
		ATF_REQUIRE((n = imsg_read(&b)) > 0);
		while ((n = imsg_get(&b, &imsg)) > 0) {
			if (imsg.hdr.type == T_DATA) {
				ATF_REQUIRE_EQ(imsg.hdr.peerid, ndata);
				ATF_REQUIRE_EQ(imsg.fd, -1);
				ATF_REQUIRE(check_fill(imsg.data,
				    sizeof(payload), ndata));
				ndata++;
			} else {
				ATF_REQUIRE_EQ(imsg.hdr.type, T_FD);
				ATF_REQUIRE_EQ(imsg.hdr.peerid, nfd);
				ATF_REQUIRE(imsg.hdr.flags & IMSGF_HASFD);
				ATF_REQUIRE(memcmp(imsg.data, &nfd,
				    sizeof(nfd)) == 0);
				ATF_REQUIRE(imsg.fd >= 0);
				ATF_REQUIRE(fd_is_open(imsg.fd));
				ATF_CHECK(fcntl(imsg.fd, F_GETFD) &
				    FD_CLOEXEC);
				ATF_REQUIRE(imsg.fd != sv[0] &&
				    imsg.fd != sv[1]);
				for (j = 0; j < FD_MSGS; j++)
					ATF_REQUIRE(imsg.fd != pipes[j][0]);
				for (j = 0; j < nfd; j++)
					ATF_REQUIRE(imsg.fd != got[j]);
				got[nfd++] = imsg.fd;
			}
			imsg_free(&imsg);
		}
		ATF_REQUIRE_EQ(n, 0);
	}
	ATF_CHECK_EQ(b.nfds, 0);

	/* Each received descriptor is the write end of its own pipe. */
	for (k = 0; k < FD_MSGS; k++) {
		snprintf(want, sizeof(want), "pipe %d", k);
		write_all(got[k], want, strlen(want) + 1);
		close(got[k]);
		memset(rbuf, 0, sizeof(rbuf));
		ATF_REQUIRE_EQ(read(pipes[k][0], rbuf, sizeof(rbuf)),
		    (ssize_t)strlen(want) + 1);
		ATF_CHECK_STREQ(rbuf, want);
		close(pipes[k][0]);
	}

	imsg_clear(&a);
	imsg_clear(&b);
	close(sv[0]);
	close(sv[1]);
	ATF_CHECK_EQ(count_fds(), baseline);
}

/* sendmsg(2) one bare header with a descriptor but without IMSGF_HASFD. */
static void
send_raw_fd(int sock, int fd)
{
	struct imsg_hdr	 hdr;
	struct iovec	 iov;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = T_DATA;
	hdr.len = IMSG_HEADER_SIZE;
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = &hdr;
	iov.iov_len = sizeof(hdr);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	ATF_REQUIRE_EQ(sendmsg(sock, &msg, 0), (ssize_t)sizeof(hdr));
}

ATF_TC_WITHOUT_HEAD(fd_queue_bounded);
ATF_TC_BODY(fd_queue_bounded, tc)
{
	struct imsgbuf	 b;
	struct imsg	 imsg;
	int		 sv[2], baseline, fd, i;
	ssize_t		 n;

	baseline = count_fds();
	mkpair(sv, 0);
	imsg_init(&b, sv[1]);

	/* Unclaimed descriptors pile up to the limit, then are refused. */
	for (i = 0; i <= IMSG_MAX_FDS_QUEUED; i++) {
		ATF_REQUIRE((fd = open("/dev/null", O_RDONLY)) != -1);
		send_raw_fd(sv[0], fd);
		close(fd);
		n = imsg_read(&b);
		if (i < IMSG_MAX_FDS_QUEUED) {
			ATF_REQUIRE_EQ((size_t)n, IMSG_HEADER_SIZE);
			ATF_REQUIRE_EQ(b.nfds, (unsigned int)i + 1);
		} else {
			ATF_REQUIRE_EQ(n, -1);
			ATF_REQUIRE_EQ(errno, EBADMSG);
			ATF_REQUIRE_EQ(b.nfds, IMSG_MAX_FDS_QUEUED);
		}
		ATF_REQUIRE_EQ((size_t)imsg_get(&b, &imsg), IMSG_HEADER_SIZE);
		ATF_REQUIRE_EQ(imsg.fd, -1);
		imsg_free(&imsg);
	}
	/* The refused one was closed, the queued ones are still open. */
	ATF_CHECK_EQ(count_fds(), baseline + 2 + IMSG_MAX_FDS_QUEUED);

	imsg_clear(&b);
	ATF_CHECK_EQ(b.nfds, 0);
	close(sv[0]);
	close(sv[1]);
	ATF_CHECK_EQ(count_fds(), baseline);
}

/*
 * A receiver that takes no descriptors drops them: those no message
 * claimed, and a later IMSGF_HASFD message then gets none.
 */
ATF_TC_WITHOUT_HEAD(fd_drop);
ATF_TC_BODY(fd_drop, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	int		 sv[2], baseline, fd, i;

	baseline = count_fds();
	mkpair(sv, 0);
	imsg_init(&a, sv[0]);
	imsg_init(&b, sv[1]);
	ATF_CHECK_EQ(imsg_drop_fds(&b), 0);

	/* Two unclaimed ones. */
	for (i = 0; i < 2; i++) {
		ATF_REQUIRE((fd = open("/dev/null", O_RDONLY)) != -1);
		send_raw_fd(sv[0], fd);
		close(fd);
		ATF_REQUIRE_EQ((size_t)imsg_read(&b), IMSG_HEADER_SIZE);
		ATF_REQUIRE_EQ((size_t)imsg_get(&b, &imsg), IMSG_HEADER_SIZE);
		ATF_REQUIRE_EQ(imsg.fd, -1);
		imsg_free(&imsg);
	}
	ATF_CHECK_EQ(b.nfds, 2);
	ATF_CHECK_EQ(count_fds(), baseline + 2 + 2);
	ATF_CHECK_EQ(imsg_drop_fds(&b), 2);
	ATF_CHECK_EQ(b.nfds, 0);
	ATF_CHECK_EQ(count_fds(), baseline + 2);

	/* One that arrived ahead of its incomplete message. */
	ATF_REQUIRE((fd = open("/dev/null", O_RDONLY)) != -1);
	ATF_REQUIRE_EQ(imsg_compose(&a, T_FD, 0, 0, fd, &i, sizeof(i)), 1);
	ATF_REQUIRE_EQ(imsg_flush(&a), 0);
	ATF_REQUIRE((size_t)imsg_read(&b) == IMSG_HEADER_SIZE + sizeof(i));
	b.r.wpos--;		/* as if the last byte were still on its way */
	ATF_REQUIRE_EQ(imsg_get(&b, &imsg), 0);
	ATF_CHECK_EQ(imsg_drop_fds(&b), 1);
	b.r.wpos++;
	ATF_REQUIRE((size_t)imsg_get(&b, &imsg) == IMSG_HEADER_SIZE +
	    sizeof(i));
	ATF_CHECK(imsg.hdr.flags & IMSGF_HASFD);
	ATF_CHECK_EQ(imsg.fd, -1);
	imsg_free(&imsg);

	imsg_clear(&a);
	imsg_clear(&b);
	close(sv[0]);
	close(sv[1]);
	ATF_CHECK_EQ(count_fds(), baseline);
}

ATF_TC_WITHOUT_HEAD(fd_reserve);
ATF_TC_BODY(fd_reserve, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	struct rlimit	 rl, low;
	int		 fill_fds[RESERVE_NOFILE], nfill = 0;
	int		 sv[2], p[2], fd, i;
	ssize_t		 n, n2 = 0;
	char		 c = 0;

	/* Non-blocking: a read that wrongly consumed the data must not hang. */
	mkpair(sv, 1);
	imsg_init(&a, sv[0]);
	imsg_init(&b, sv[1]);
	ATF_REQUIRE(pipe(p) == 0);
	ATF_REQUIRE_EQ(imsg_compose(&a, T_FD, 0, 0, p[1], NULL, 0), 1);
	ATF_REQUIRE_EQ(imsg_flush(&a), 0);

	ATF_REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	ATF_REQUIRE(rl.rlim_max >= RESERVE_NOFILE);
	low = rl;
	low.rlim_cur = RESERVE_NOFILE;
	ATF_REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
	while (nfill < RESERVE_NOFILE &&
	    (fd = open("/dev/null", O_RDONLY)) != -1)
		fill_fds[nfill++] = fd;

	/*
	 * No free slot: the read is refused before consuming anything.
	 * Only non-fatal checks until the limit is back, since reporting
	 * a result needs a descriptor.
	 */
	n = imsg_read(&b);
	ATF_CHECK(n == -1 && errno == EAGAIN);
	ATF_CHECK_EQ(b.r.wpos, 0);
	ATF_CHECK_EQ(b.nfds, 0);
	if (nfill > 0) {
		close(fill_fds[--nfill]);
		n2 = imsg_read(&b);
	}
	for (i = 0; i < nfill; i++)
		close(fill_fds[i]);
	ATF_REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);

	ATF_REQUIRE_EQ((size_t)n2, IMSG_HEADER_SIZE);
	ATF_REQUIRE_EQ((size_t)imsg_get(&b, &imsg), IMSG_HEADER_SIZE);
	ATF_REQUIRE(imsg.fd >= 0);
	write_all(imsg.fd, "x", 1);
	ATF_REQUIRE_EQ(read(p[0], &c, 1), 1);
	ATF_CHECK_EQ(c, 'x');
	close(imsg.fd);
	imsg_free(&imsg);

	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

static void
check_bad_len(uint16_t len)
{
	struct imsgbuf	 b;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	int		 sv[2];

	mkpair(sv, 0);
	imsg_init(&b, sv[1]);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = T_DATA;
	hdr.len = len;
	write_all(sv[0], &hdr, sizeof(hdr));
	ATF_REQUIRE_EQ((size_t)imsg_read(&b), sizeof(hdr));
	errno = 0;
	ATF_CHECK_EQ_MSG(imsg_get(&b, &imsg), -1, "len %u accepted", len);
	ATF_CHECK_EQ(errno, ERANGE);
	imsg_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC_WITHOUT_HEAD(oversize);
ATF_TC_BODY(oversize, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	struct iovec	 iov[2];
	unsigned char	*big;
	int		 sv[2], p[2];

	mkpair(sv, 0);
	imsg_init(&a, sv[0]);
	imsg_init(&b, sv[1]);
	ATF_REQUIRE((big = malloc(MAX_IMSGSIZE)) != NULL);
	fill(big, MAX_IMSGSIZE, 9);
	ATF_REQUIRE(pipe(p) == 0);

	errno = 0;
	ATF_CHECK_EQ(imsg_compose(&a, T_DATA, 0, 0, -1, big, MAX_DATA + 1),
	    -1);
	ATF_CHECK_EQ(errno, ERANGE);
	errno = 0;
	ATF_CHECK_EQ(imsg_compose(&a, T_DATA, 0, 0, -1, big, SIZE_MAX), -1);
	ATF_CHECK_EQ(errno, ERANGE);

	iov[0].iov_base = big;
	iov[0].iov_len = MAX_DATA / 2;
	iov[1].iov_base = big;
	iov[1].iov_len = MAX_DATA - MAX_DATA / 2 + 1;
	errno = 0;
	ATF_CHECK_EQ(imsg_composev(&a, T_DATA, 0, 0, -1, iov, 2), -1);
	ATF_CHECK_EQ(errno, ERANGE);
	/* Lengths that wrap size_t when summed. */
	iov[0].iov_len = SIZE_MAX;
	iov[1].iov_len = 2;
	errno = 0;
	ATF_CHECK_EQ(imsg_composev(&a, T_DATA, 0, 0, -1, iov, 2), -1);
	ATF_CHECK_EQ(errno, ERANGE);

	/* A refused message leaves the descriptor with the caller. */
	ATF_CHECK_EQ(imsg_compose(&a, T_FD, 0, 0, p[1], big, MAX_DATA + 1),
	    -1);
	ATF_CHECK(fd_is_open(p[1]));
	ATF_CHECK_EQ(a.w.queued, 0);

	/* Exactly the maximum goes through. */
	ATF_REQUIRE_EQ(imsg_compose(&a, T_DATA, 5, 0, -1, big, MAX_DATA), 1);
	ATF_REQUIRE_EQ(imsg_flush(&a), 0);
	while (b.r.wpos < MAX_IMSGSIZE)
		ATF_REQUIRE(imsg_read(&b) > 0);
	ATF_REQUIRE_EQ(imsg_get(&b, &imsg), MAX_IMSGSIZE);
	ATF_CHECK_EQ(imsg.hdr.peerid, 5);
	ATF_CHECK(check_fill(imsg.data, MAX_DATA, 9));
	imsg_free(&imsg);

	check_bad_len(MAX_IMSGSIZE + 1);
	check_bad_len(UINT16_MAX);
	check_bad_len(IMSG_HEADER_SIZE - 1);
	check_bad_len(0);

	free(big);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC_WITHOUT_HEAD(truncated_then_close);
ATF_TC_BODY(truncated_then_close, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	unsigned char	 raw[MAX_IMSGSIZE], payload[200];
	size_t		 rawlen, cut[] = { 3, IMSG_HEADER_SIZE,
			    IMSG_HEADER_SIZE + 100 };
	unsigned int	 i;
	int		 sv[2];

	fill(payload, sizeof(payload), 3);
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		mkpair(sv, 0);
		imsg_init(&a, sv[0]);
		imsg_init(&b, sv[1]);
		ATF_REQUIRE_EQ(imsg_compose(&a, T_DATA, 0, 0, -1, payload,
		    sizeof(payload)), 1);
		rawlen = queued_bytes(&a, raw, sizeof(raw));
		ATF_REQUIRE(cut[i] < rawlen);
		msgbuf_clear(&a.w);

		write_all(sv[0], raw, cut[i]);
		close(sv[0]);
		ATF_REQUIRE_EQ((size_t)imsg_read(&b), cut[i]);
		ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);
		ATF_CHECK_EQ(imsg_read(&b), 0);
		ATF_CHECK_EQ_MSG(imsg_get(&b, &imsg), 0,
		    "phantom message after %zu bytes", cut[i]);
		imsg_clear(&b);
		close(sv[1]);
	}
}

ATF_TC_WITHOUT_HEAD(peer_close);
ATF_TC_BODY(peer_close, tc)
{
	struct imsgbuf	 a;
	int		 sv[2], p[2], rv;

	ATF_REQUIRE(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	mkpair(sv, 0);
	imsg_init(&a, sv[0]);
	ATF_REQUIRE(pipe(p) == 0);
	close(sv[1]);

	ATF_CHECK_EQ(imsg_read(&a), 0);

	ATF_REQUIRE_EQ(imsg_compose(&a, T_DATA, 0, 0, -1, "x", 1), 1);
	ATF_REQUIRE_EQ(imsg_compose(&a, T_FD, 0, 0, p[1], NULL, 0), 1);
	errno = 0;
	rv = msgbuf_write(&a.w);
	ATF_CHECK_EQ(rv, 0);
	ATF_CHECK_EQ(errno, EPIPE);
	ATF_CHECK_EQ(a.w.queued, 2);
	errno = 0;
	ATF_CHECK_EQ(imsg_flush(&a), -1);
	ATF_CHECK_EQ(errno, EPIPE);

	/* Clearing drops the queue and closes the unsent descriptor. */
	ATF_CHECK(fd_is_open(p[1]));
	imsg_clear(&a);
	ATF_CHECK_EQ(a.w.queued, 0);
	ATF_CHECK(!fd_is_open(p[1]));

	close(p[0]);
	close(sv[0]);
}

ATF_TC_WITHOUT_HEAD(zero_length);
ATF_TC_BODY(zero_length, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	int		 sv[2];

	mkpair(sv, 0);
	imsg_init(&a, sv[0]);
	imsg_init(&b, sv[1]);

	ATF_REQUIRE_EQ(imsg_compose(&a, 42, 7, 0, -1, NULL, 0), 1);
	ATF_REQUIRE_EQ(imsg_composev(&a, 43, 8, 0, -1, NULL, 0), 1);
	ATF_REQUIRE_EQ(imsg_flush(&a), 0);
	while (b.r.wpos < 2 * IMSG_HEADER_SIZE)
		ATF_REQUIRE(imsg_read(&b) > 0);

	ATF_REQUIRE_EQ((size_t)imsg_get(&b, &imsg), IMSG_HEADER_SIZE);
	ATF_CHECK_EQ(imsg.hdr.len, IMSG_HEADER_SIZE);
	ATF_CHECK_EQ(imsg.hdr.type, 42);
	ATF_CHECK_EQ(imsg.hdr.peerid, 7);
	ATF_CHECK_EQ(imsg.hdr.pid, (uint32_t)getpid());
	ATF_CHECK_EQ(imsg.hdr.flags, 0);
	ATF_CHECK(imsg.data == NULL);
	ATF_CHECK_EQ(imsg.fd, -1);
	imsg_free(&imsg);

	ATF_REQUIRE_EQ((size_t)imsg_get(&b, &imsg), IMSG_HEADER_SIZE);
	ATF_CHECK_EQ(imsg.hdr.type, 43);
	ATF_CHECK(imsg.data == NULL);
	imsg_free(&imsg);
	ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);

	close(sv[0]);
	close(sv[1]);
}

/*
 * Event glue: a sends EV_COUNT messages in one burst, b echoes each one
 * back; once a has every echo it closes, b sees EOF and leaves the loop.
 */
struct evtest {
	struct imsgev	 a;
	struct imsgev	 b;
	uint32_t	 got_b;
	uint32_t	 got_a;
	uint32_t	 fds_b;
	int		 b_eof;
	int		 timedout;
};

static void
ev_read_write(struct imsgev *iev, short event, int *eof)
{
	ssize_t	n;

	if (event & EV_READ) {
		n = imsg_read(&iev->ibuf);
		ATF_REQUIRE(n != -1 || errno == EAGAIN);
		if (n == 0)
			*eof = 1;
	}
	if (event & EV_WRITE) {
		n = msgbuf_write(&iev->ibuf.w);
		ATF_REQUIRE(n != -1 || errno == EAGAIN);
		if (n == 0)
			*eof = 1;
	}
}

static void
ev_dispatch_a(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct evtest	*st = iev->data;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 eof = 0;

	ATF_REQUIRE(iev == &st->a);
	ev_read_write(iev, event, &eof);
	ATF_REQUIRE_MSG(!eof, "a: peer closed early");

	while ((n = imsg_get(&iev->ibuf, &imsg)) > 0) {
		ATF_REQUIRE_EQ(imsg.hdr.type, T_ECHO);
		ATF_REQUIRE_EQ(imsg.hdr.peerid, st->got_a);
		ATF_REQUIRE_EQ((size_t)n, IMSG_HEADER_SIZE +
		    size_for(st->got_a));
		if (imsg.data != NULL)
			ATF_REQUIRE(check_fill(imsg.data, n -
			    IMSG_HEADER_SIZE, st->got_a));
		imsg_free(&imsg);
		st->got_a++;
	}
	ATF_REQUIRE_EQ(n, 0);

	if (st->got_a == EV_COUNT)
		imsgev_clear(iev);	/* b sees EOF and ends the loop */
	else
		imsg_event_add(iev);
}

static void
ev_dispatch_b(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct evtest	*st = iev->data;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 eof = 0;

	ATF_REQUIRE(iev == &st->b);
	ev_read_write(iev, event, &eof);

	while (!eof && (n = imsg_get(&iev->ibuf, &imsg)) != 0) {
		ATF_REQUIRE(n > 0);
		ATF_REQUIRE_EQ(imsg.hdr.type, T_DATA);
		ATF_REQUIRE_EQ(imsg.hdr.peerid, st->got_b);
		if (st->got_b % EV_FD_EVERY == 0) {
			ATF_REQUIRE(imsg.fd >= 0);
			ATF_REQUIRE(fd_is_open(imsg.fd));
			close(imsg.fd);
			st->fds_b++;
		} else
			ATF_REQUIRE_EQ(imsg.fd, -1);
		ATF_REQUIRE_EQ(imsg_compose_event(iev, T_ECHO,
		    imsg.hdr.peerid, 0, -1, imsg.data,
		    imsg.hdr.len - IMSG_HEADER_SIZE), 1);
		ATF_REQUIRE(iev->events & EV_WRITE);
		imsg_free(&imsg);
		st->got_b++;
	}

	if (eof) {
		st->b_eof = 1;
		imsgev_clear(iev);
		event_loopexit(NULL);
	} else
		imsg_event_add(iev);
}

static void
ev_timeout(int fd, short event, void *arg)
{
	struct evtest	*st = arg;

	st->timedout = 1;
	event_loopexit(NULL);
}

ATF_TC_WITHOUT_HEAD(event_glue);
ATF_TC_BODY(event_glue, tc)
{
	struct event_base	*base;
	struct evtest		 st;
	struct event		 to;
	struct timeval		 tv = { EV_TIMEOUT_SEC, 0 };
	unsigned char		*out;
	uint32_t		 i;
	size_t			 len;
	int			 sv[2], fd, baseline;

	baseline = count_fds();
	memset(&st, 0, sizeof(st));
	ATF_REQUIRE((base = event_init()) != NULL);
	ATF_REQUIRE((out = malloc(MAX_DATA)) != NULL);
	mkpair(sv, 1);
	imsgev_init(&st.a, sv[0], &st, ev_dispatch_a);
	imsgev_init(&st.b, sv[1], &st, ev_dispatch_b);
	ATF_CHECK_EQ(st.a.ibuf.fd, sv[0]);
	ATF_CHECK_EQ(st.a.data, &st);
	imsg_event_add(&st.a);
	ATF_CHECK_EQ(st.a.events, EV_READ);
	imsg_event_add(&st.b);

	for (i = 0; i < EV_COUNT; i++) {
		len = size_for(i);
		fill(out, len, i);
		fd = -1;
		if (i % EV_FD_EVERY == 0)
			ATF_REQUIRE((fd = open("/dev/null", O_RDONLY)) != -1);
		ATF_REQUIRE_EQ(imsg_compose_event(&st.a, T_DATA, i, 0, fd,
		    out, len), 1);
		ATF_REQUIRE(st.a.events & EV_WRITE);
	}
	free(out);

	evtimer_set(&to, ev_timeout, &st);
	evtimer_add(&to, &tv);
	ATF_REQUIRE_EQ(event_dispatch(), 0);
	evtimer_del(&to);

	ATF_CHECK(!st.timedout);
	ATF_CHECK(st.b_eof);
	ATF_CHECK_EQ(st.got_b, EV_COUNT);
	ATF_CHECK_EQ(st.got_a, EV_COUNT);
	ATF_CHECK_EQ(st.fds_b, EV_COUNT / EV_FD_EVERY);
	ATF_CHECK_EQ(st.a.ibuf.fd, -1);
	ATF_CHECK_EQ(st.b.ibuf.fd, -1);

	/* After imsgev_clear() re-arming is a no-op, not an error. */
	imsg_event_add(&st.a);
	ATF_CHECK(!event_pending(&st.a.ev, EV_READ | EV_WRITE, NULL));

	event_base_free(base);
	ATF_CHECK_EQ(count_fds(), baseline);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, roundtrip_many);
	ATF_TP_ADD_TC(tp, partial_reads);
	ATF_TP_ADD_TC(tp, fd_passing);
	ATF_TP_ADD_TC(tp, fd_queue_bounded);
	ATF_TP_ADD_TC(tp, fd_drop);
	ATF_TP_ADD_TC(tp, fd_reserve);
	ATF_TP_ADD_TC(tp, oversize);
	ATF_TP_ADD_TC(tp, truncated_then_close);
	ATF_TP_ADD_TC(tp, peer_close);
	ATF_TP_ADD_TC(tp, zero_length);
	ATF_TP_ADD_TC(tp, event_glue);
	return (atf_no_error());
}
