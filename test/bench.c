// bench: speed of the engine and of the machine it runs on. test/bench.py runs it once per weight
// format and thread count (a fresh process each, so peak RSS is per configuration) and prints the
// tables that `make bench` shows.
//
//   bench machine THREADS            read bandwidth (GB/s, summing 512 MB 16 times) and FMA peak (GFLOP/s)
//   bench model PATH THREADS [int8] [decode]
//                                    load s, prefill 128/512 tok/s, first-token ms, decode tok/s, RSS
//                                    (with `decode`: only the first-token and decode figures)
//   bench batch PATH THREADS B       B sequences of 64 new tokens after a 4-token prompt (T = 1,
//                                    top-k 40, seeds 1..B) in one gpt2_generate_batch: aggregate new
//                                    tokens/s, first-token ms, RSS
//   bench shift PATH THREADS CONTEXT NEW SHIFT
//                                    a CONTEXT-token prompt (the window full), then NEW tokens with the
//                                    sliding window (SHIFT 0) or --context-shift (1): tokens/s after the first
#include "../gpt2.h"
#include "../platform.h"
#include "../util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

// ---- machine: what a summing loop reads and what FMA chains compute, per thread, then in total

typedef struct {
    const float *data;
    size_t n;
    double result;
    int fma_iters, passes; // passes over data (n)
} Part;

static void *sum_part(void *arg) {
    Part *p = arg;
#if defined(__AVX2__) && defined(__FMA__)
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int pass = 0; pass < p->passes; pass++)
        for (size_t i = 0; i + 32 <= p->n; i += 32) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p->data + i));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p->data + i + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p->data + i + 16));
            a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p->data + i + 24));
        }
    float s[8];
    _mm256_storeu_ps(s, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    p->result = s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
#else
    float s[8] = {0};
    for (int pass = 0; pass < p->passes; pass++)
        for (size_t i = 0; i + 8 <= p->n; i += 8)
            for (int j = 0; j < 8; j++) s[j] += p->data[i + j];
    p->result = s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
#endif
    return NULL;
}

// The widest FMA the kernels use: 512-bit vectors where the build has AVX-512 (some cores run
// them at twice the 256-bit rate, others split them in two), else 256-bit.
#if defined(__AVX512F__)
#define FMA_LANES 16
#define VEC __m512
#define SET1 _mm512_set1_ps
#define FMADD _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define FIRST(v) _mm512_cvtss_f32(v)
#elif defined(__AVX2__) && defined(__FMA__)
#define FMA_LANES 8
#define VEC __m256
#define SET1 _mm256_set1_ps
#define FMADD _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define FIRST(v) _mm256_cvtss_f32(v)
#else
#define FMA_LANES 1
#endif

static void *fma_part(void *arg) {
    Part *p = arg;
#if FMA_LANES > 1
    VEC acc[12], m = SET1(0.999999f), a = SET1(1e-7f);
    for (int i = 0; i < 12; i++) acc[i] = SET1((float)i);
    for (int it = 0; it < p->fma_iters; it++)
        for (int i = 0; i < 12; i++) acc[i] = FMADD(acc[i], m, a);
    for (int i = 1; i < 12; i++) acc[0] = ADD(acc[0], acc[i]);
    p->result = FIRST(acc[0]);
#else
    float acc[12];
    for (int i = 0; i < 12; i++) acc[i] = (float)i;
    for (int it = 0; it < p->fma_iters; it++)
        for (int i = 0; i < 12; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    p->result = acc[0];
#endif
    return NULL;
}

// Runs fn on `threads` parts at once; returns the best wall time of `reps` runs.
static double run_parts(void *(*fn)(void *), Part *parts, int threads, int reps) {
    double best = 1e30;
    pthread_t tid[64];
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        for (int i = 1; i < threads; i++) pthread_create(&tid[i], NULL, fn, &parts[i]);
        fn(&parts[0]);
        for (int i = 1; i < threads; i++) pthread_join(tid[i], NULL);
        double t = now_seconds() - t0;
        if (t < best) best = t;
    }
    return best;
}

#define READ_PASSES 16
#define FMA_ITERS 20000000 // per thread: 12 chains of FMAs, long enough to time

static int bench_machine(int threads) {
    // On huge pages, as the engine's weights are (platform.c): with 4 KB pages the loop would
    // read more slowly and make the ceiling look lower than it is.
    size_t n = (512u << 20) / sizeof(float);
    float *data = gpt2_alloc_huge(n * sizeof(float));
    if (!data || threads < 1 || threads > 64) return 1;
    for (size_t i = 0; i < n; i++) data[i] = (float)(i & 7);
    // Sustained, not a lucky moment: each measurement reads the 512 MB READ_PASSES times (about as
    // long as a decode run reads its weights), and the best of 3 measurements counts.
    Part parts[64];
    for (int i = 0; i < threads; i++)
        parts[i] = (Part){.data = data + n / threads * i, .n = n / threads, .fma_iters = FMA_ITERS,
                          .passes = READ_PASSES};
    double t_read = run_parts(sum_part, parts, threads, 3) / READ_PASSES;
    double t_fma = run_parts(fma_part, parts, threads, 3);
    double flops = 12.0 * FMA_LANES * 2 * FMA_ITERS * threads;
    printf("{\"threads\": %d, \"read_gbs\": %.2f, \"fma_gflops\": %.1f}\n", threads, n * sizeof(float) / t_read / 1e9,
           flops / t_fma / 1e9);
    gpt2_aligned_free(data);
    return 0;
}

// ---- model

static double best_prefill(GPT2 *m, int T) {
    int *ids = malloc((size_t)T * sizeof(int));
    for (int i = 0; i < T; i++) ids[i] = (i * 7919) % m->config.V;
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = now_seconds();
        gpt2_forward(m, ids, T, 0);
        double t = now_seconds() - t0;
        if (t < best) best = t;
    }
    free(ids);
    return T / best;
}

typedef struct {
    double t_first;
} Timing;

static int on_token(void *ctx, int token, const float *logits) {
    (void)token, (void)logits;
    Timing *t = ctx;
    if (t->t_first == 0.0) t->t_first = now_seconds();
    return 0;
}

static int bench_model(const char *path, int threads, int int8, int decode_only) {
    char err[GPT2_ERR_LEN];
    GPT2 m;
    GPT2Options opt = {.quantize_int8 = int8, .threads = threads};
    double t0 = now_seconds();
    if (gpt2_build(&m, path, &opt, err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t_load = now_seconds() - t0;
    Sampler s;
    SamplerConfig sc = sampler_defaults(); // greedy
    if (sampler_build(&s, m.config.V, &sc, err) != 0) return 1;
    enum { N_PROMPT = 4, N_NEW = 128 };
    int ids[N_PROMPT + N_NEW] = {6109, 3626, 6100, 345}; // "Every effort moves you"
    // time to first token and decode: best of 3 runs of the prompt and N_NEW new tokens
    double ttft = 1e30, decode = 0.0;
    for (int r = 0; r < 3; r++) {
        Timing tm = {.t_first = 0.0};
        double start = now_seconds();
        int n = gpt2_generate(&m, &s, ids, N_PROMPT, N_NEW, m.config.maxT, -1, on_token, &tm);
        double end = now_seconds();
        if (tm.t_first - start < ttft) ttft = tm.t_first - start;
        double rate = (n - N_PROMPT - 1) / (end - tm.t_first);
        if (rate > decode) decode = rate;
    }
    double p128 = decode_only ? 0.0 : best_prefill(&m, 128 < m.config.maxT ? 128 : m.config.maxT);
    double p512 = decode_only ? 0.0 : best_prefill(&m, 512 < m.config.maxT ? 512 : m.config.maxT);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
#ifdef __APPLE__
    double rss_mb = ru.ru_maxrss / 1048576.0; // macOS counts bytes
#else
    double rss_mb = ru.ru_maxrss / 1024.0; // Linux and the BSDs count kilobytes
#endif
    printf("{\"threads\": %d, \"dtype\": %d, \"load_s\": %.3f, \"prefill128\": %.1f, \"prefill512\": %.1f, "
           "\"ttft_ms\": %.1f, \"decode\": %.1f, \"rss_mb\": %.1f, \"file_mb\": %.1f, \"kv_mb\": %.1f}\n",
           m.n_threads, m.dtype, t_load, p128, p512, ttft * 1e3, decode, rss_mb, m.map_size / 1048576.0,
           2.0 * m.config.L * m.config.maxT * m.config.C * sizeof(float) / 1048576.0);
    sampler_free(&s);
    gpt2_free(&m);
    return 0;
}

static double rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
#ifdef __APPLE__
    return ru.ru_maxrss / 1048576.0; // macOS counts bytes
#else
    return ru.ru_maxrss / 1024.0; // Linux and the BSDs count kilobytes
#endif
}

enum { MAX_BATCH = 256 };

static int bench_batch(const char *path, int threads, int B) {
    char err[GPT2_ERR_LEN];
    GPT2 m;
    GPT2Options opt = {.threads = threads};
    if (B < 1 || B > MAX_BATCH || gpt2_build(&m, path, &opt, err) != 0) return fprintf(stderr, "%s\n", err), 1;
    enum { N_PROMPT = 4, N_NEW = 64 };
    static Sampler s[MAX_BATCH];
    static GPT2Sequence seqs[MAX_BATCH];
    static int ids[MAX_BATCH][N_PROMPT + N_NEW];
    Timing tm = {.t_first = 0.0};
    for (int b = 0; b < B; b++) {
        SamplerConfig sc = sampler_defaults();
        sc.temperature = 1.0f, sc.top_k = 40, sc.seed = (uint64_t)b + 1;
        if (sampler_build(&s[b], m.config.V, &sc, err) != 0) return fprintf(stderr, "%s\n", err), 1;
        memcpy(ids[b], (int[]){6109, 3626, 6100, 345}, sizeof(int) * N_PROMPT); // "Every effort moves you"
        seqs[b] = (GPT2Sequence){.ids = ids[b], .n_prompt = N_PROMPT, .max_new = N_NEW, .context = m.config.maxT,
                                 .sampler = &s[b], .on_token = on_token, .ctx = &tm};
    }
    double t0 = now_seconds();
    if (gpt2_generate_batch(&m, seqs, B, -1, 0, err) != 0) return fprintf(stderr, "%s\n", err), 1;
    double t = now_seconds() - t0;
    long total = 0;
    for (int b = 0; b < B; b++) total += seqs[b].n - N_PROMPT, sampler_free(&s[b]);
    printf("{\"threads\": %d, \"B\": %d, \"aggregate\": %.1f, \"ttft_ms\": %.1f, \"rss_mb\": %.1f}\n", m.n_threads, B,
           total / t, (tm.t_first - t0) * 1e3, rss_mb());
    gpt2_free(&m);
    return 0;
}

static int bench_shift(const char *path, int threads, int context, int n_new, int shift) {
    char err[GPT2_ERR_LEN];
    GPT2 m;
    GPT2Options opt = {.threads = threads};
    if (gpt2_build(&m, path, &opt, err) != 0) return fprintf(stderr, "%s\n", err), 1;
    if (context < 1 || context > m.config.maxT || n_new < 2) return fprintf(stderr, "bench shift: bad sizes\n"), 1;
    Sampler s;
    if (sampler_build(&s, m.config.V, NULL, err) != 0) return 1; // greedy
    int *ids = malloc(((size_t)context + n_new) * sizeof(int));
    for (int i = 0; i < context; i++) ids[i] = (i * 7919) % m.config.V;
    Timing tm = {.t_first = 0.0};
    GPT2Sequence seq = {.ids = ids, .n_prompt = context, .max_new = n_new, .context = context, .sampler = &s,
                        .on_token = on_token, .ctx = &tm};
    if (gpt2_generate_batch(&m, &seq, 1, -1, shift ? GPT2_CONTEXT_SHIFT : 0, err) != 0)
        return fprintf(stderr, "%s\n", err), 1;
    double t = now_seconds() - tm.t_first;
    printf("{\"threads\": %d, \"context\": %d, \"shift\": %d, \"rate\": %.2f}\n", m.n_threads, context, shift,
           (seq.n - context - 1) / t);
    free(ids);
    sampler_free(&s);
    gpt2_free(&m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 5 && strcmp(argv[1], "batch") == 0) return bench_batch(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc >= 7 && strcmp(argv[1], "shift") == 0)
        return bench_shift(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    if (argc >= 3 && strcmp(argv[1], "machine") == 0) return bench_machine(atoi(argv[2]));
    if (argc >= 4 && strcmp(argv[1], "model") == 0) {
        int int8 = 0, decode_only = 0;
        for (int i = 4; i < argc; i++) {
            int8 |= strcmp(argv[i], "int8") == 0;
            decode_only |= strcmp(argv[i], "decode") == 0;
        }
        return bench_model(argv[2], atoi(argv[3]), int8, decode_only);
    }
    fprintf(stderr, "usage: bench machine THREADS | bench model PATH THREADS [int8] [decode] | bench batch PATH "
                    "THREADS B | bench shift PATH THREADS CONTEXT NEW SHIFT\n");
    return 2;
}
