/*
 * Crypto workers: the AEAD of a burst spread over the cores, order kept.
 *
 * The engine's thread prepares a burst in order: counters taken and
 * headers written for what it sends (wg_data_seal_begin), keypairs
 * found for what it received.  crypt_run() then seals and opens the
 * burst's packets in the workers and in the engine's thread at once,
 * each thread taking CRYPT_CHUNK packets at a time, and returns when
 * every one is done; the engine goes on with the burst in its order,
 * whichever thread did each packet.  This is the kernel's shape one
 * level up: the burst is the ordered queue, all of its peers share the
 * workers, and the in-order consumer waits at its end.
 *
 * A burst too small to be worth a wake-up runs in the engine's thread
 * alone, so a lone ping pays nothing.  Workers spin briefly after a
 * burst, as the next one tends to follow at once under load, then
 * sleep on a futex.  The threads are made before the sandbox, which
 * then loads its filter for all of them (lib/sandbox.c, TSYNC).
 * Nothing is allocated per packet.
 */

#include <sys/types.h>
#include <sys/syscall.h>

#include <linux/futex.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"

#define CRYPT_WORKERS_MAX	CFG_CRYPTO_WORKERS_MAX
#define CRYPT_AUTO_CORES	4	/* auto: workers from this many cores */
#define CRYPT_CHUNK		4	/* packets a thread takes at a time */
#define CRYPT_PARALLEL_MIN	8	/* smaller bursts: the engine alone */
#define CRYPT_SPIN		200	/* polls before a worker sleeps */
#define CRYPT_WAIT_SPIN		2000	/* polls before the engine sleeps */
#define CRYPT_INDEX_MASK	0xffffffffULL
#define CRYPT_COUNT_SHIFT	32

static pthread_t	 workers[CRYPT_WORKERS_MAX];
static unsigned int	 nworkers;	/* threads made */
static _Atomic unsigned int nactive;	/* of them, those that take work */

static struct cjob	*jobs;
/* The burst: its job count (high half) and the next job to take (low). */
static _Atomic uint64_t	 work;
static _Atomic uint32_t	 ndone;
static _Atomic uint32_t	 generation;	/* a new burst: workers' futex */
static _Atomic uint32_t	 sleepers;	/* workers asleep on generation */
static _Atomic uint32_t	 waiting;	/* the engine asleep on ndone */
static _Atomic uint32_t	 ready;		/* workers with their contexts */

static long
futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
	return (syscall(SYS_futex, addr, op, val, NULL, NULL, 0));
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void
crypt_one(struct cjob *j)
{
	switch (j->op) {
	case CJOB_SEAL:
		wg_data_seal(j->key, j->ctr, j->buf, j->len);
		j->rc = WG_OK;
		break;
	case CJOB_OPEN:
		j->rc = wg_data_decrypt(j->kp, j->now, j->buf, j->len,
		    &j->plen, &j->ctr);
		break;
	default:
		break;
	}
}

/* The text a job's AEAD covers, to judge pairing by. */
static size_t
cjob_text(const struct cjob *j)
{
	if (j->op == CJOB_OPEN)
		return (j->len >= WG_DATA_MIN_LEN ? j->len - WG_DATA_MIN_LEN :
		    0);
	return (j->len);
}

/*
 * j[0], with j[1] where both seal, or both open, messages of a full
 * tunnel's size: their ChaCha20 tails then share a pass (lib's
 * wg_aead_seal_pair()).  Returns how many jobs it did.
 */
static unsigned int
crypt_some(struct cjob *j, unsigned int left)
{
	struct wg_aead_job	 a[2];
	struct wg_data_open	 o[2];
	int			 k;

	if (left < 2 || j[0].op != j[1].op ||
	    (j[0].op != CJOB_SEAL && j[0].op != CJOB_OPEN) ||
	    !wg_aead_pairable(cjob_text(&j[0])) ||
	    !wg_aead_pairable(cjob_text(&j[1]))) {
		crypt_one(j);
		return (1);
	}
	if (j[0].op == CJOB_SEAL) {
		for (k = 0; k < 2; k++)
			a[k] = (struct wg_aead_job){ .buf = j[k].buf,
			    .len = j[k].len, .ctr = j[k].ctr, .key = j[k].key };
		wg_data_seal_pair(&a[0], &a[1]);
		j[0].rc = j[1].rc = WG_OK;
		return (2);
	}
	for (k = 0; k < 2; k++)
		o[k] = (struct wg_data_open){ .kp = j[k].kp, .now = j[k].now,
		    .buf = j[k].buf, .len = j[k].len };
	wg_data_decrypt_pair(&o[0], &o[1]);
	for (k = 0; k < 2; k++)
		if ((j[k].rc = o[k].rc) == WG_OK) {
			j[k].plen = o[k].plen;
			j[k].ctr = o[k].ctr;
		}
	return (2);
}

/* Take chunks of the current burst until none is left. */
static void
crypt_take(void)
{
	uint64_t	 w;
	uint32_t	 i, n, end, k;

	for (;;) {
		w = atomic_fetch_add_explicit(&work, CRYPT_CHUNK,
		    memory_order_acquire);
		i = (uint32_t)(w & CRYPT_INDEX_MASK);
		n = (uint32_t)(w >> CRYPT_COUNT_SHIFT);
		if (i >= n)
			return;
		end = i + CRYPT_CHUNK < n ? i + CRYPT_CHUNK : n;
		for (k = i; k < end; k += crypt_some(&jobs[k], end - k))
			;
		/* Sequentially consistent: against the engine's waiting. */
		if (atomic_fetch_add(&ndone, end - i) + (end - i) == n &&
		    atomic_load(&waiting))
			futex(&ndone, FUTEX_WAKE_PRIVATE, 1);
	}
}

static void *
crypt_worker(void *arg)
{
	uint32_t	 seen = 0, g;
	unsigned int	 spins, self = (unsigned int)(uintptr_t)arg;

	if (wg_aead_thread_init() == -1)
		log_warnx("crypto worker: no OpenSSL context, using "
		    "libsodium");
	/* Before the sandbox: crypt_init() waits for this. */
	atomic_fetch_add(&ready, 1);
	futex(&ready, FUTEX_WAKE_PRIVATE, 1);
	for (;;) {
		spins = 0;
		while ((g = atomic_load(&generation)) == seen) {
			if (spins++ < CRYPT_SPIN) {
				cpu_relax();
				continue;
			}
			atomic_fetch_add(&sleepers, 1);
			if (atomic_load(&generation) == seen)
				futex(&generation, FUTEX_WAIT_PRIVATE, seen);
			atomic_fetch_sub(&sleepers, 1);
		}
		seen = g;
		/* Made but not wanted: sleep through every burst. */
		if (self < atomic_load(&nactive))
			crypt_take();
	}
	return (NULL);
}

/*
 * Before the sandbox: up to want worker threads (fewer if the machine
 * has fewer other cores), with every signal blocked so that only the
 * engine's thread handles them.
 */
void
crypt_init(unsigned int want)
{
	sigset_t	 all, old;
	unsigned int	 i;
	uint32_t	 r;
	int		 rc;

	if (want > CRYPT_WORKERS_MAX)
		want = CRYPT_WORKERS_MAX;
	sigfillset(&all);
	if ((rc = pthread_sigmask(SIG_BLOCK, &all, &old)) != 0)
		fatalx("crypto workers: sigmask: %s", strerror(rc));
	for (i = 0; i < want; i++) {
		if ((rc = pthread_create(&workers[i], NULL, crypt_worker,
		    (void *)(uintptr_t)i)) != 0) {
			log_warnx("crypto workers: %s; %u made", strerror(rc),
			    i);
			break;
		}
		nworkers++;
	}
	if ((rc = pthread_sigmask(SIG_SETMASK, &old, NULL)) != 0)
		fatalx("crypto workers: sigmask: %s", strerror(rc));
	/* Their contexts are made before the sandbox, as the engine's. */
	while ((r = atomic_load(&ready)) < nworkers)
		futex(&ready, FUTEX_WAIT_PRIVATE, r);
	nactive = nworkers;
}

/*
 * How many of the threads made take work: the configuration's number,
 * or for auto one per core beyond the second.  On two cores the
 * traffic's own processes keep the other core busy, and handing it half
 * a burst cost 20-30% of a TCP stream's throughput (make bench, with
 * CBP2P_CRYPTO_WORKERS=0 and 1): there, the engine works alone.
 */
unsigned int
crypt_set_workers(int conf)
{
	unsigned int	 n;

	if (conf == CFG_CRYPTO_WORKERS_AUTO)
		n = nworkers + 1 >= CRYPT_AUTO_CORES ? nworkers - 1 : 0;
	else
		n = (unsigned int)conf;
	atomic_store(&nactive, n < nworkers ? n : nworkers);
	return (atomic_load(&nactive));
}

unsigned int
crypt_workers(void)
{
	return (nactive);
}

/* Seal and open jobs[0, n); returns once all are done. */
void
crypt_run(struct cjob *batch, unsigned int n)
{
	uint32_t	 d;
	unsigned int	 i, spins = 0;

	if (atomic_load_explicit(&nactive, memory_order_relaxed) == 0 ||
	    n < CRYPT_PARALLEL_MIN) {
		for (i = 0; i < n; i += crypt_some(&batch[i], n - i))
			;
		return;
	}
	eng->cnt.crypt_parallel++;
	jobs = batch;
	atomic_store_explicit(&ndone, 0, memory_order_relaxed);
	atomic_store_explicit(&work, (uint64_t)n << CRYPT_COUNT_SHIFT,
	    memory_order_release);
	atomic_fetch_add(&generation, 1);
	if (atomic_load(&sleepers) > 0)
		futex(&generation, FUTEX_WAKE_PRIVATE, (uint32_t)nworkers);
	crypt_take();
	/* What workers took is in their hands: at most a chunk each. */
	while ((d = atomic_load_explicit(&ndone, memory_order_acquire)) < n) {
		if (spins++ < CRYPT_WAIT_SPIN) {
			cpu_relax();
			continue;
		}
		atomic_store(&waiting, 1);
		if ((d = atomic_load(&ndone)) < n)
			futex(&ndone, FUTEX_WAIT_PRIVATE, d);
		atomic_store(&waiting, 0);
	}
}
