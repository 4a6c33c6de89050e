/*
 * hs_load: a handshake load generator for make bench, with real
 * WireGuard initiations (lib/wg_noise.c) from many keys and many source
 * addresses, answering cookie replies with mac2 as a real initiator does.
 *
 * usage: hs_load -g count
 *	prints count key pairs, "private public" in base64, one a line
 *
 *	hs_load -k keyfile -p pubkey -d addr:port -s net/bits [-t seconds]
 *	    [-w window] [-v every]
 *	keyfile	lines "private public" (as -g prints); the responder must
 *		have every public key as a peer
 *	-p	the responder's public key, base64
 *	-d	the responder's UDP address
 *	-s	source addresses: key i sends from the (i mod n)th address of
 *		net/bits after the network address (the namespace routes
 *		the whole range to itself: ip route add local net/bits dev
 *		lo), since under load the responder answers each source
 *		address at most 20 times a second
 *	-t	seconds measured, after one second of warm-up (10)
 *	-w	initiations outstanding at once (64)
 *	-v	check every n-th response in full (wg_consume_response:
 *		the keys derive); 0 never (8)
 *
 * One initiation per key is outstanding at most; a key whose initiation
 * got a cookie reply sends a new one with mac2 at once; one unanswered
 * for a second counts as lost.  Prints one line of JSON: responses
 * (completed handshakes) per second, initiations sent and lost,
 * responses checked and how many of them failed, counted after the
 * warm-up; cookie replies, counted from the start (once a key holds a
 * cookie its initiations carry mac2 for two minutes); and this
 * program's CPU seconds.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wg.h"
#include "wgkey.h"

#define LOST_NS		WG_NSEC_PER_SEC
#define WARMUP_NS	WG_NSEC_PER_SEC

struct key {
	struct wg_local	 local;
	struct wg_peer	 peer;
	struct in_addr	 src;
	uint64_t	 sent_at;	/* 0: nothing outstanding */
	time_t		 seq;		/* timestamps, strictly increasing */
};

static struct key	*keys;
static size_t		 nkeys;
static int		 fd;
static struct sockaddr_in dst;
static time_t		 wall0;

static uint64_t
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * WG_NSEC_PER_SEC + ts.tv_nsec);
}

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: hs_load -g count\n"
	    "       hs_load -k keyfile -p pubkey -d addr:port -s net/bits "
	    "[-t seconds] [-w window] [-v every]\n");
	exit(1);
}

static void
generate(unsigned long n)
{
	char	 b64[WG_KEY_B64_LEN + 1], b64p[WG_KEY_B64_LEN + 1];
	uint8_t	 priv[WG_KEY_LEN], pub[WG_KEY_LEN];

	while (n-- > 0) {
		wgkey_generate(priv);
		if (wgkey_public(pub, priv) != 0)
			errx(1, "wgkey_public");
		wgkey_to_b64(b64, priv);
		wgkey_to_b64(b64p, pub);
		printf("%s %s\n", b64, b64p);
	}
}

/* Sends key k's next initiation from its own source address. */
static int
initiate(struct key *k, uint64_t now)
{
	uint8_t		 msg[WG_INITIATION_LEN];
	union {
		char		 buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr	 align;
	} c;
	struct timespec	 wall;
	struct in_pktinfo *pi;
	struct cmsghdr	*cm;
	struct msghdr	 mh;
	struct iovec	 iov;

	wall.tv_sec = wall0 + ++k->seq;
	wall.tv_nsec = 0;
	if (wg_create_initiation(&k->local, &k->peer,
	    (uint32_t)(k - keys) + 1, now, &wall, msg) != WG_OK)
		errx(1, "wg_create_initiation");
	memset(&mh, 0, sizeof(mh));
	memset(&c, 0, sizeof(c));
	iov.iov_base = msg;
	iov.iov_len = sizeof(msg);
	mh.msg_name = &dst;
	mh.msg_namelen = sizeof(dst);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = c.buf;
	mh.msg_controllen = sizeof(c.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi = (struct in_pktinfo *)CMSG_DATA(cm);
	pi->ipi_spec_dst = k->src;
	if (sendmsg(fd, &mh, 0) == -1) {
		if (errno == EAGAIN || errno == ENOBUFS)
			return (-1);
		err(1, "sendmsg");
	}
	k->sent_at = now;
	return (0);
}

static void
load(const char *keyfile, const char *pubb64, const char *dststr,
    const char *srcnet, double secs, size_t window, unsigned long every)
{
	struct wg_crypto *crypto;
	struct rusage	 ru;
	struct pollfd	 pfd;
	struct in_addr	 net;
	FILE		*f;
	char		 line[256], privb[64], pubb[64], *p;
	uint8_t		 rpub[WG_KEY_LEN], priv[WG_KEY_LEN], pkt[256];
	uint64_t	 start, end, now, lastscan = 0;
	unsigned long	 sent = 0, cookies = 0, lost = 0, responses = 0;
	unsigned long	 checked = 0, badcheck = 0, bad = 0, all = 0;
	unsigned long	 nsrc, bits;
	size_t		 i, next = 0, outstanding = 0;
	ssize_t		 n;
	uint32_t	 idx;
	struct key	*k;

	if (wgkey_from_b64(rpub, pubb64) != 0)
		errx(1, "bad public key %s", pubb64);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	if ((p = strchr(dststr, ':')) == NULL)
		usage();
	*p++ = '\0';
	if (inet_pton(AF_INET, dststr, &dst.sin_addr) != 1)
		usage();
	dst.sin_port = htons((uint16_t)strtoul(p, NULL, 10));
	if ((p = strchr(srcnet, '/')) == NULL)
		usage();
	*p++ = '\0';
	bits = strtoul(p, NULL, 10);
	if (inet_pton(AF_INET, srcnet, &net) != 1 || bits < 8 || bits > 30)
		usage();
	nsrc = (1UL << (32 - bits)) - 2;

	if ((crypto = wg_crypto_new()) == NULL)
		errx(1, "wg_crypto_new");
	if ((f = fopen(keyfile, "r")) == NULL)
		err(1, "%s", keyfile);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %63s", privb, pubb) < 1)
			continue;
		if ((keys = reallocarray(keys, nkeys + 1,
		    sizeof(*keys))) == NULL)
			err(1, "reallocarray");
		k = &keys[nkeys];
		memset(k, 0, sizeof(*k));
		if (wgkey_from_b64(priv, privb) != 0)
			errx(1, "bad private key in %s", keyfile);
		if (wg_local_init(&k->local, crypto, priv) != WG_OK ||
		    wg_peer_init(&k->peer, &k->local, rpub, NULL) != WG_OK)
			errx(1, "wg_local_init");
		k->src.s_addr = htonl(ntohl(net.s_addr) + 1 +
		    (uint32_t)(nkeys % nsrc));
		nkeys++;
	}
	fclose(f);
	if (nkeys == 0)
		errx(1, "no keys in %s", keyfile);
	if (window > nkeys)
		window = nkeys;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1)
		err(1, "socket");
	n = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(int));
	wall0 = time(NULL);

	start = mono();
	end = start + WARMUP_NS + (uint64_t)(secs * WG_NSEC_PER_SEC);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((now = mono()) < end) {
		/* Keep window initiations outstanding, round robin. */
		for (i = 0; outstanding < window && i < nkeys; i++) {
			k = &keys[next];
			next = (next + 1) % nkeys;
			if (k->sent_at != 0)
				continue;
			if (initiate(k, now) == -1)
				break;
			outstanding++;
			if (now >= start + WARMUP_NS)
				sent++;
		}
		if (poll(&pfd, 1, 5) == -1 && errno != EINTR)
			err(1, "poll");
		while ((n = recv(fd, pkt, sizeof(pkt), 0)) > 0) {
			now = mono();
			idx = wg_msg_receiver_index(pkt, (size_t)n);
			if (idx == 0 || idx > nkeys ||
			    keys[idx - 1].sent_at == 0) {
				bad++;
				continue;
			}
			k = &keys[idx - 1];
			switch (wg_msg_type(pkt, (size_t)n)) {
			case WG_MSG_RESPONSE:
				all++;
				if (now >= start + WARMUP_NS)
					responses++;
				if (every != 0 && all % every == 0) {
					checked++;
					if (wg_consume_response(&k->local,
					    &k->peer, pkt, (size_t)n, now) !=
					    WG_OK)
						badcheck++;
				}
				k->sent_at = 0;
				outstanding--;
				break;
			case WG_MSG_COOKIE:
				cookies++;
				if (wg_consume_cookie_reply(&k->peer, pkt,
				    (size_t)n, now) != WG_OK) {
					bad++;
					break;
				}
				/* Again at once, now with mac2. */
				if (initiate(k, now) == 0 &&
				    now >= start + WARMUP_NS)
					sent++;
				break;
			default:
				bad++;
			}
		}
		if (n == -1 && errno != EAGAIN)
			err(1, "recv");
		/* Initiations unanswered for a second are lost. */
		if (now - lastscan >= 100 * WG_NSEC_PER_MSEC) {
			lastscan = now;
			for (i = 0; i < nkeys; i++)
				if (keys[i].sent_at != 0 &&
				    now - keys[i].sent_at >= LOST_NS) {
					keys[i].sent_at = 0;
					outstanding--;
					if (now >= start + WARMUP_NS)
						lost++;
				}
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{ \"seconds\": %.3f, \"keys\": %zu, \"window\": %zu, "
	    "\"handshakes_per_second\": %.1f, \"responses\": %lu, "
	    "\"initiations_sent\": %lu, \"cookie_replies\": %lu, "
	    "\"lost\": %lu, \"checked\": %lu, \"check_failed\": %lu, "
	    "\"unexpected\": %lu, \"generator_cpu_seconds\": %.2f }\n",
	    secs, nkeys, window, responses / secs, responses, sent, cookies,
	    lost, checked, badcheck, bad,
	    ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

int
main(int argc, char *argv[])
{
	const char	*keyfile = NULL, *pub = NULL, *dstaddr = NULL;
	const char	*src = NULL;
	unsigned long	 gen = 0, every = 8;
	size_t		 window = 64;
	double		 secs = 10;
	int		 ch;

	while ((ch = getopt(argc, argv, "d:g:k:p:s:t:v:w:")) != -1) {
		switch (ch) {
		case 'd':
			dstaddr = optarg;
			break;
		case 'g':
			gen = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'p':
			pub = optarg;
			break;
		case 's':
			src = optarg;
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'v':
			every = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			window = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (gen != 0) {
		if (wg_crypto_new() == NULL)
			errx(1, "wg_crypto_new");
		generate(gen);
		return (0);
	}
	if (keyfile == NULL || pub == NULL || dstaddr == NULL ||
	    src == NULL || secs <= 0 || window == 0)
		usage();
	load(keyfile, pub, strdup(dstaddr), strdup(src), secs, window,
	    every);
	return (0);
}
