// pool.c: the thread pool (pool.h).
//
// A job is fn(ctx, i) for i in 0..n-1. Tasks are claimed from one 64-bit word that packs the job's
// generation (16 bits), its task count (24 bits) and the next free index (24 bits), so a claim
// says by itself whether it is valid: a worker that wakes late can never run a task of a finished
// job or read a job descriptor that is being rewritten. Claiming is dynamic, so when another
// process takes a core the other threads simply claim more tasks. Idle workers spin for about
// SPIN_S (decode issues dozens of jobs per token, microseconds apart) and then sleep.
#include "pool.h"
#include "platform.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) || defined(_M_X64)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

#define SPIN_S 100e-6
// Sharing a machine: when another process takes a core, a worker can be preempted while it holds a
// task and the caller waits for it, so two threads can be slower than one. The pool therefore
// measures instead of guessing: after USE_S / 2 with its threads (the program's first, cold jobs),
// it runs TRIAL_S with its threads, then TRIAL_S with the caller alone, compares the work done per
// second (each job says what it costs, in multiply-adds), and uses the faster way for the next USE_S
// before measuring again (twice as long after each trial that the caller alone wins, up to
// USE_MAX_S: trials cost when threads do not pay). The caller alone must win by ALONE_MARGIN, so
// that noise on an idle machine never costs the threads.
#define TRIAL_S 0.1
#define USE_S 2.0
#define USE_MAX_S 8.0
#define ALONE_MARGIN 1.1
#define GAP_S 0.01 // a pause longer than this between jobs (end to start) restarts the measurement
enum { TRY_THREADS, TRY_ALONE, USE_BEST };
#define GEN_SHIFT 48
#define N_SHIFT 24
#define IDX_MASK ((1ull << N_SHIFT) - 1)

struct GPT2Pool {
    int n_threads;              // including the caller of pool_for
    int amx;                    // gpt2_pool_amx's answer: -1 until asked
    pthread_t *threads;         // (n_threads - 1) workers
    pthread_mutex_t mu;
    pthread_cond_t wake;        // a new job or stop
    pthread_cond_t finished;    // the last task of a job is done
    gpt2_pool_task fn;          // the current job
    void *ctx;
    // claim and done on cache lines of their own (every thread writes them), apart from the rest
    _Alignas(64) _Atomic uint64_t claim; // gen << 48 | n << 24 | next index
    _Alignas(64) atomic_int done;        // tasks of the current job finished
    _Alignas(64) atomic_int sleepers;    // workers waiting on `wake`
    atomic_int caller_sleeping; // the caller waits on `finished`
    atomic_int stop;
    int phase;                  // TRY_THREADS, TRY_ALONE or USE_BEST
    int alone;                  // run jobs on the caller only (TRY_ALONE, or USE_BEST when faster)
    double phase_start, last_job; // now_seconds() at the start of the phase and at the end of the last job
    double work;                // multiply-adds done in this phase
    double threads_rate;        // work per second in the last TRY_THREADS
    double use_s;               // how long USE_BEST lasts this time
};

// Claim and run tasks until none is left; returns the generation that ran out.
static unsigned run_tasks(GPT2Pool *p) {
    for (;;) {
        uint64_t v = atomic_fetch_add(&p->claim, 1);
        int n = (int)((v >> N_SHIFT) & IDX_MASK), i = (int)(v & IDX_MASK);
        if (i >= n) return (unsigned)(v >> GEN_SHIFT);
        p->fn(p->ctx, i);
        if (atomic_fetch_add(&p->done, 1) + 1 == n && atomic_load(&p->caller_sleeping)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->finished);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static unsigned current_gen(GPT2Pool *p) { return (unsigned)(atomic_load(&p->claim) >> GEN_SHIFT); }

static void *worker_main(void *arg) {
    GPT2Pool *p = arg;
    unsigned seen = current_gen(p);
    while (!atomic_load(&p->stop)) {
        double t0 = now_seconds();
        for (int spin = 0; current_gen(p) == seen && !atomic_load(&p->stop); spin++) {
            cpu_relax();
            if ((spin & 255) == 255 && now_seconds() - t0 > SPIN_S) {
                pthread_mutex_lock(&p->mu);
                atomic_fetch_add(&p->sleepers, 1);
                while (current_gen(p) == seen && !atomic_load(&p->stop))
                    pthread_cond_wait(&p->wake, &p->mu);
                atomic_fetch_sub(&p->sleepers, 1);
                pthread_mutex_unlock(&p->mu);
            }
        }
        if (atomic_load(&p->stop)) break;
        seen = run_tasks(p);
    }
    return NULL;
}

GPT2Pool *gpt2_pool_create(int n_threads) {
    GPT2Pool *p = gpt2_aligned_alloc(64, sizeof(GPT2Pool));
    if (!p) return NULL;
    memset(p, 0, sizeof(GPT2Pool));
    p->n_threads = n_threads < 1 ? 1 : n_threads;
    p->amx = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->finished, NULL);
    p->threads = calloc((size_t)p->n_threads, sizeof(pthread_t));
    if (!p->threads) { gpt2_pool_free(p); return NULL; }
    // Stacks of at least 1 MB: a prefill task keeps 150 KB of panels on its stack, more than musl's
    // default of 128 KB leaves room for (glibc's is 8 MB, macOS's 512 KB).
    pthread_attr_t attr;
    size_t stack = 0;
    int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr && pthread_attr_getstacksize(&attr, &stack) == 0 && stack < ((size_t)1 << 20))
        pthread_attr_setstacksize(&attr, (size_t)1 << 20);
    int started = 1;
    for (; started < p->n_threads; started++)
        if (pthread_create(&p->threads[started - 1], have_attr ? &attr : NULL, worker_main, p) != 0) break;
    if (have_attr) pthread_attr_destroy(&attr);
    p->n_threads = started; // fewer threads if the system refused some: slower, still correct
    // The first trial waits (see above): a trial of threads measured on the cold first jobs would
    // lose to the warm trial alone that follows it.
    p->phase = USE_BEST, p->use_s = USE_S / 2;
    return p;
}

void gpt2_pool_free(GPT2Pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; p->threads && i < p->n_threads - 1; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->finished);
    free(p->threads);
    gpt2_aligned_free(p);
}

int gpt2_pool_threads(const GPT2Pool *p) { return p ? p->n_threads : 1; }

int gpt2_pool_amx(GPT2Pool *p) {
    if (p && p->amx < 0) p->amx = gpt2_amx_permitted();
    return p ? p->amx : 0;
}

void gpt2_pool_no_amx(GPT2Pool *p) {
    if (p) p->amx = 0;
}

// Moves to the next phase when this one has run long enough (see TRIAL_S).
static void next_phase(GPT2Pool *p, double now) {
    double elapsed = now - p->phase_start;
    if (now - p->last_job > GAP_S) { // the program paused: this phase measured nothing useful
        p->phase_start = now, p->work = 0.0;
        return;
    }
    if (elapsed < (p->phase == USE_BEST ? p->use_s : TRIAL_S)) return;
    double rate = p->work / elapsed;
    if (p->phase == TRY_THREADS) p->threads_rate = rate, p->phase = TRY_ALONE, p->alone = 1;
    else if (p->phase == TRY_ALONE) {
        p->phase = USE_BEST, p->alone = rate > ALONE_MARGIN * p->threads_rate;
        p->use_s = !p->alone ? USE_S : p->use_s * 2 > USE_MAX_S ? USE_MAX_S : p->use_s * 2;
    }
    else p->phase = TRY_THREADS, p->alone = 0;
    p->phase_start = now, p->work = 0.0;
}

void gpt2_pool_for(GPT2Pool *p, int n, gpt2_pool_task fn, void *ctx, double cost) {
    if (!p || p->n_threads == 1) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    next_phase(p, now_seconds());
    p->work += cost;
    if (p->alone || n <= 1) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        p->last_job = now_seconds();
        return;
    }
    // The previous job is finished (we waited for it), so nobody reads fn/ctx now.
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done, 0);
    uint64_t gen = (atomic_load(&p->claim) >> GEN_SHIFT) + 1;
    // Each side of the two hand-offs (publish the job, then look for sleepers; go to sleep, then
    // look at the job done) writes, then reads what the other side writes. C11's seq_cst stores
    // and loads keep that order, as real hardware does, but qemu-user's aarch64 on x86 lets the load
    // pass the store (stlr, ldar): a wake-up was lost and the caller slept for good. The writes are
    // exchanges, full barriers there too (x86 compilers emit one for the store anyway).
    atomic_exchange(&p->claim, (gen & 0xffff) << GEN_SHIFT | (uint64_t)n << N_SHIFT);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p);
    double t0 = now_seconds();
    for (int spin = 0; atomic_load(&p->done) < n; spin++) {
        cpu_relax();
        if ((spin & 255) == 255 && now_seconds() - t0 > SPIN_S) {
            pthread_mutex_lock(&p->mu);
            atomic_exchange(&p->caller_sleeping, 1);
            while (atomic_load(&p->done) < n) pthread_cond_wait(&p->finished, &p->mu);
            atomic_store(&p->caller_sleeping, 0);
            pthread_mutex_unlock(&p->mu);
        }
    }
    p->last_job = now_seconds();
}
