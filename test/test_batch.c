// test_batch.c: gpt2_generate_batch against gpt2_generate, bit for bit. Every sequence of a batch
// must give the ids, and pass to its on_token the logits, that the same prompt, sampler and context
// give alone, whatever the other sequences in the batch do. And gpt2_forward_batch against
// gpt2_forward, one sequence at a time, and two sequences that share a sampler.
//
//   build/native/test_batch build/test
//
// On the test models (tiny: maxT 16, small: maxT 64) in float32, bfloat16 and int8 (quantized at
// load), with 1, 2 and 3 threads: batches of 1, 3, 8 and 64 sequences with different prompts (some
// longer than their context, some shared as -N shares one), lengths, seeds, filters, contexts,
// an end-of-text id and stops from on_token, with the book's sliding window and with context shift.
// Exits 1 on any difference, naming the sequence and the first token that differs.
#define _POSIX_C_SOURCE 200809L // for util.h's clock_gettime
#include "../gpt2.h"
#include "../util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEQS 64
#define MAX_NEW 24
#define MAX_PROMPT 80

static int failures = 0;

// What on_token sees of one sequence: a hash of the logits of each step, and when to stop.
typedef struct {
    uint64_t hash[MAX_NEW];
    int steps;
    int stop_after; // on_token returns 1 after this many new tokens (0: never)
    int stop_mod;   // ... or at a token divisible by it (0: never), as a stop string would
    int V;
} Record;

static int on_token(void *ctx, int token, const float *logits) {
    Record *r = ctx;
    uint64_t h = 1469598103934665603ull; // FNV-1a over the bit patterns of the V logits
    for (int i = 0; i < r->V; i++) {
        uint32_t u;
        memcpy(&u, &logits[i], sizeof(u));
        h = (h ^ u) * 1099511628211ull;
    }
    if (r->steps < MAX_NEW) r->hash[r->steps] = h;
    r->steps++;
    return (r->stop_after && r->steps >= r->stop_after) || (r->stop_mod && token % r->stop_mod == 0);
}

// One sequence's settings, drawn from the generator.
typedef struct {
    int prompt[MAX_PROMPT], n_prompt, max_new, context, stop_after, stop_mod, done;
    SamplerConfig cfg;
} Spec;

static int pick(uint64_t *rng, int n) { return (int)(splitmix64(rng) % (uint64_t)n); }

static void make_specs(Spec *sp, int B, int maxT, uint64_t seed) {
    uint64_t rng = seed;
    for (int b = 0; b < B; b++) {
        Spec *s = &sp[b];
        memset(s, 0, sizeof(*s));
        if (b > 0 && pick(&rng, 3) == 0) { // the same prompt and context as an earlier one (as -N)
            const Spec *o = &sp[pick(&rng, b)];
            memcpy(s->prompt, o->prompt, sizeof(s->prompt));
            s->n_prompt = o->n_prompt, s->context = o->context;
        } else {
            s->n_prompt = 1 + pick(&rng, maxT + 12 < MAX_PROMPT ? maxT + 12 : MAX_PROMPT);
            for (int i = 0; i < s->n_prompt; i++) s->prompt[i] = pick(&rng, 50257);
            s->context = pick(&rng, 3) == 0 ? maxT : 1 + pick(&rng, maxT);
        }
        s->max_new = pick(&rng, 8) == 0 ? pick(&rng, 3) : 4 + pick(&rng, MAX_NEW - 3);
        s->stop_after = pick(&rng, 4) == 0 ? 1 + pick(&rng, MAX_NEW) : 0;
        s->stop_mod = pick(&rng, 4) == 0 ? 37 : 0;
        s->done = B > 2 && pick(&rng, 16) == 0; // skipped by the batch
        s->cfg = sampler_defaults();
        static const float temps[] = {0.0f, 0.7f, 1.0f, 1.5f};
        s->cfg.temperature = temps[pick(&rng, 4)];
        s->cfg.top_k = pick(&rng, 2) ? 0 : 1 + pick(&rng, 50);
        if (pick(&rng, 10) == 0) s->cfg.top_p = 0.9f; // (it sorts the vocabulary: slow)
        if (pick(&rng, 4) == 0) s->cfg.repeat_penalty = 1.3f;
        s->cfg.seed = splitmix64(&rng) % 1000;
    }
}

// Runs B sequences of sp, alone (batch 0) or as one batch (1); ids (B, MAX_PROMPT + MAX_NEW).
static int run(GPT2 *m, const Spec *sp, int B, int batch, int eos, int flags, int *ids, int *n, Record *rec) {
    char err[GPT2_ERR_LEN];
    Sampler samplers[MAX_SEQS];
    GPT2Sequence seqs[MAX_SEQS];
    for (int b = 0; b < B; b++) {
        if (sampler_build(&samplers[b], m->config.V, &sp[b].cfg, err) != 0) return fprintf(stderr, "%s\n", err), -1;
        int *row = ids + (size_t)b * (MAX_PROMPT + MAX_NEW);
        memcpy(row, sp[b].prompt, sp[b].n_prompt * sizeof(int));
        rec[b] = (Record){.stop_after = sp[b].stop_after, .stop_mod = sp[b].stop_mod, .V = m->config.V};
        seqs[b] = (GPT2Sequence){.ids = row, .n_prompt = sp[b].n_prompt, .max_new = sp[b].max_new,
                                 .context = sp[b].context, .sampler = &samplers[b], .on_token = on_token,
                                 .ctx = &rec[b], .done = sp[b].done};
    }
    int r = 0;
    if (batch) {
        r = gpt2_generate_batch(m, seqs, B, eos, flags, err);
        for (int b = 0; b < B; b++) n[b] = seqs[b].n;
    } else {
        for (int b = 0; b < B && r == 0; b++) {
            if (sp[b].done) { // as the batch leaves it: the prompt alone
                n[b] = sp[b].n_prompt;
                continue;
            }
            r = gpt2_generate_batch(m, &seqs[b], 1, eos, flags, err);
            n[b] = seqs[b].n;
            // the shortcut must be gpt2_generate itself where it applies
            if (r == 0 && !flags && B <= 8) {
                int again[MAX_PROMPT + MAX_NEW];
                Record rec2 = {.stop_after = sp[b].stop_after, .stop_mod = sp[b].stop_mod, .V = m->config.V};
                Sampler s2;
                sampler_build(&s2, m->config.V, &sp[b].cfg, err);
                memcpy(again, sp[b].prompt, sp[b].n_prompt * sizeof(int));
                int n2 = gpt2_generate(m, &s2, again, sp[b].n_prompt, sp[b].max_new, sp[b].context, eos, on_token,
                                       &rec2);
                sampler_free(&s2);
                if (n2 != n[b] || memcmp(again, seqs[b].ids, n2 * sizeof(int)) != 0) {
                    printf("FAIL gpt2_generate and gpt2_generate_batch with B = 1 differ (sequence %d)\n", b);
                    failures++;
                }
            }
        }
    }
    for (int b = 0; b < B; b++) sampler_free(&samplers[b]);
    if (r != 0) fprintf(stderr, "%s\n", err);
    return r;
}

static void compare(const char *label, const Spec *sp, int B, const int *ids0, const int *n0, const Record *r0,
                    const int *ids1, const int *n1, const Record *r1) {
    for (int b = 0; b < B; b++) {
        const int *a = ids0 + (size_t)b * (MAX_PROMPT + MAX_NEW), *c = ids1 + (size_t)b * (MAX_PROMPT + MAX_NEW);
        int k = 0, len = n0[b] < n1[b] ? n0[b] : n1[b];
        while (k < len && a[k] == c[k]) k++;
        int steps = r0[b].steps < MAX_NEW ? r0[b].steps : MAX_NEW, h = 0;
        while (h < steps && r0[b].hash[h] == r1[b].hash[h]) h++;
        if (n0[b] != n1[b] || k < len || r0[b].steps != r1[b].steps || h < steps) {
            printf("FAIL %s: sequence %d (prompt %d, context %d, max_new %d, T %g, seed %llu): alone %d ids, "
                   "batched %d; first difference at id %d, logits differ from step %d of %d\n",
                   label, b, sp[b].n_prompt, sp[b].context, sp[b].max_new, sp[b].cfg.temperature,
                   (unsigned long long)sp[b].cfg.seed, n0[b], n1[b], k, h, steps);
            failures++;
            return;
        }
    }
}

// gpt2_forward_batch of B sequences of T tokens against B calls of gpt2_forward: every row's logits
// bit for bit for float32 and bfloat16 weights when T >= 6 (both run the same tiles); else within
// 1e-5 of the largest logit's magnitude for float32 (the sums' order), or 3% for bf16 and int8 (an
// activation can round to the other bf16 value or int8 step, as between prefill and decode). Also
// its bad arguments.
static void test_forward_batch(GPT2 *m, const char *label, uint64_t seed) {
    const int exact = m->dtype != GPT2_Q8;
    const double tol = m->dtype == GPT2_F32 ? 1e-5 : 0.03;
    const int V = m->config.V, maxT = m->config.maxT;
    const int shapes[][2] = {{2, 6}, {5, 3}, {2, maxT / 2}, {maxT / 7, 7}, {maxT / 13, 13}, {maxT, 1}};
    int *tokens = malloc((size_t)maxT * sizeof(int));
    float *batch = malloc((size_t)maxT * V * sizeof(float)), *alone = malloc((size_t)maxT * V * sizeof(float));
    float *last_row = malloc(V * sizeof(float));
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        int B = shapes[si][0], T = shapes[si][1];
        if (B < 1 || B * T > maxT) continue;
        for (int i = 0; i < B * T; i++) tokens[i] = (int)(splitmix64(&seed) % (uint64_t)V);
        const float *last = gpt2_forward_batch(m, tokens, B, T);
        if (!last || gpt2_logits(m, 0, B * T, batch) != 0) {
            printf("FAIL %s: gpt2_forward_batch B = %d, T = %d: no logits\n", label, B, T);
            failures++;
            continue;
        }
        memcpy(last_row, last, V * sizeof(float));
        for (int b = 0; b < B; b++) {
            last = gpt2_forward(m, tokens + b * T, T, 0);
            gpt2_logits(m, 0, T, alone + (size_t)b * T * V);
        }
        if (exact && T >= 6 && memcmp(last, last_row, V * sizeof(float)) != 0) {
            printf("FAIL %s: gpt2_forward_batch B = %d, T = %d: returns other logits than gpt2_forward\n", label, B, T);
            failures++;
        }
        double worst = 0.0, scale = 1e-30;
        for (size_t i = 0; i < (size_t)B * T * V; i++) {
            double d = fabs((double)batch[i] - alone[i]);
            worst = d > worst ? d : worst;
            scale = fabs(alone[i]) > scale ? fabs(alone[i]) : scale;
        }
        if (getenv("TB_VERBOSE")) printf("%s: gpt2_forward_batch B = %d, T = %d: %g of %g\n", label, B, T, worst, scale);
        if ((exact && T >= 6) ? worst != 0.0 : worst > tol * scale) {
            printf("FAIL %s: gpt2_forward_batch B = %d, T = %d: logits differ from the sequences alone by %g\n", label,
                   B, T, worst);
            failures++;
        }
    }
    if (gpt2_forward_batch(m, tokens, 0, 1) || gpt2_forward_batch(m, tokens, 1, 0) ||
        gpt2_forward_batch(m, tokens, 2, maxT / 2 + 1) || gpt2_forward_batch(m, NULL, 1, 1)) {
        printf("FAIL %s: gpt2_forward_batch accepted bad arguments\n", label);
        failures++;
    }
    free(tokens), free(batch), free(alone), free(last_row);
}

// on_token of a sequence sharing its sampler: the probability its token had when it was drawn.
typedef struct {
    const Sampler *s;
    float p[16];
    int steps;
} SharedView;

static int shared_on_token(void *ctx, int token, const float *logits) {
    SharedView *v = ctx;
    (void)logits;
    if (v->steps < 16) v->p[v->steps] = v->s->probs[token];
    v->steps++;
    return 0;
}

// Two sequences sharing one sampler draw from it in turn, in sequence order, each just before its
// on_token (which sees the distribution of its own draw): against that loop written out, with a
// model (and so a KV cache) per sequence.
static void test_shared_sampler(const char *path, GPT2 *m) {
    enum { N_NEW = 12 };
    char err[GPT2_ERR_LEN];
    SamplerConfig cfg = sampler_defaults();
    cfg.temperature = 1.3f, cfg.top_k = 20, cfg.seed = 5;
    Sampler s, ref;
    GPT2 alone[2];
    if (sampler_build(&s, m->config.V, &cfg, err) || sampler_build(&ref, m->config.V, &cfg, err) ||
        gpt2_build(&alone[0], path, NULL, err) || gpt2_build(&alone[1], path, NULL, err)) {
        printf("FAIL shared sampler: %s\n", err);
        failures++;
        return;
    }
    int ids[2][4 + N_NEW] = {{3, 1, 4, 1}, {5, 9, 2, 6}}, want[2][4 + N_NEW];
    float want_p[2][N_NEW];
    memcpy(want, ids, sizeof(ids));
    GPT2Sequence seqs[2];
    SharedView views[2] = {{.s = &s}, {.s = &s}};
    for (int b = 0; b < 2; b++)
        seqs[b] = (GPT2Sequence){.ids = ids[b], .n_prompt = 4, .max_new = N_NEW, .context = m->config.maxT,
                                 .sampler = &s, .on_token = shared_on_token, .ctx = &views[b]};
    gpt2_generate_batch(m, seqs, 2, -1, 0, err);
    for (int step = 0, n = 4; step < N_NEW; step++, n++)
        for (int b = 0; b < 2; b++) {
            const float *lg = step == 0 ? gpt2_forward(&alone[b], want[b], 4, 0)
                                        : gpt2_forward(&alone[b], &want[b][n - 1], 1, n - 1);
            want[b][n] = sampler_sample(&ref, lg, want[b], n);
            want_p[b][step] = ref.probs[want[b][n]];
        }
    if (seqs[0].n != 4 + N_NEW || seqs[1].n != 4 + N_NEW || memcmp(ids, want, sizeof(ids)) != 0 ||
        memcmp(views[0].p, want_p[0], sizeof(want_p[0])) != 0 || memcmp(views[1].p, want_p[1], sizeof(want_p[1])) != 0) {
        printf("FAIL two sequences sharing a sampler: not the draws in turn\n");
        failures++;
    }
    sampler_free(&s), sampler_free(&ref), gpt2_free(&alone[0]), gpt2_free(&alone[1]);
}

int main(int argc, char **argv) {
    if (argc != 2) return fprintf(stderr, "usage: test_batch MODELS_DIR (build/test)\n"), 2;
    static const struct { const char *file; int int8; } models[] = {
        {"tiny.bin", 0}, {"small.bin", 0}, {"tiny_bf16.bin", 0}, {"small_bf16.bin", 0}, {"tiny.bin", 1},
        {"small.bin", 1},
    };
    static const int sizes[] = {1, 3, 8, 64};
    static int ids0[MAX_SEQS * (MAX_PROMPT + MAX_NEW)], ids1[MAX_SEQS * (MAX_PROMPT + MAX_NEW)];
    static Record r0[MAX_SEQS], r1[MAX_SEQS];
    int n0[MAX_SEQS], n1[MAX_SEQS], batches = 0, sequences = 0, tokens = 0;
    double t0 = now_seconds();
    for (size_t mi = 0; mi < sizeof(models) / sizeof(models[0]); mi++)
        for (int threads = 1; threads <= 3; threads++) {
            char path[1024], err[GPT2_ERR_LEN];
            snprintf(path, sizeof(path), "%s/%s", argv[1], models[mi].file);
            GPT2 m;
            GPT2Options opt = {.quantize_int8 = models[mi].int8, .threads = threads};
            if (gpt2_build(&m, path, &opt, err) != 0) return fprintf(stderr, "%s\n", err), 1;
            char name[256];
            snprintf(name, sizeof(name), "%s%s, %d thread(s)", models[mi].file, models[mi].int8 ? " --quantize int8" : "",
                     threads);
            test_forward_batch(&m, name, 77 * mi + threads);
            for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
                for (int flags = 0; flags <= GPT2_CONTEXT_SHIFT; flags++) {
                    int B = sizes[si];
                    // the big batch on three of the models, each with another thread count (and context
                    // shift on one): quick enough for make test, and every format and thread count meets it
                    static const int big[] = {1, 0, 0, 2, 0, 3}; // the thread count of B = 64, per model
                    if (B == 64 && (threads != big[mi] || (flags && mi != 5))) continue;
                    Spec sp[MAX_SEQS];
                    uint64_t seed = 1000 * mi + 100 * threads + 10 * si + flags;
                    make_specs(sp, B, m.config.maxT, seed);
                    int eos = seed % 2 ? -1 : 50256;
                    char label[256];
                    snprintf(label, sizeof(label), "%s%s, %d thread(s), B = %d%s", models[mi].file,
                             models[mi].int8 ? " --quantize int8" : "", threads, B, flags ? ", context shift" : "");
                    if (run(&m, sp, B, 0, eos, flags, ids0, n0, r0) || run(&m, sp, B, 1, eos, flags, ids1, n1, r1))
                        return 1;
                    compare(label, sp, B, ids0, n0, r0, ids1, n1, r1);
                    if (getenv("TB_VERBOSE")) printf("%s: %.2f s\n", label, now_seconds() - t0);
                    batches++, sequences += B;
                    for (int b = 0; b < B; b++) tokens += n1[b] - sp[b].n_prompt;
                }
            gpt2_free(&m);
        }
    // bad arguments: -1 with a message, nothing run
    {
        char err[GPT2_ERR_LEN] = "";
        GPT2 m;
        char path[1024];
        snprintf(path, sizeof(path), "%s/tiny.bin", argv[1]);
        if (gpt2_build(&m, path, NULL, err) != 0) return fprintf(stderr, "%s\n", err), 1;
        int ids[4] = {1, 2, 3, 4};
        Sampler s;
        sampler_build(&s, m.config.V, NULL, err);
        GPT2Sequence bad[2] = {{.ids = ids, .n_prompt = 1, .max_new = 1, .context = 16, .sampler = &s},
                               {.ids = ids, .n_prompt = 1, .max_new = 1, .context = 17, .sampler = &s}};
        if (gpt2_generate_batch(&m, bad, 2, -1, 0, err) != -1 || !strstr(err, "sequence 1") || bad[0].n != 0) {
            printf("FAIL gpt2_generate_batch with a context past maxT: %s\n", err);
            failures++;
        }
        if (gpt2_generate_batch(&m, bad, 0, -1, 0, err) != -1) printf("FAIL gpt2_generate_batch with B = 0\n"), failures++;
        test_shared_sampler(path, &m);
        sampler_free(&s);
        gpt2_free(&m);
    }
    printf("test_batch: %d batches (%d sequences, %d new tokens) bit-identical to the sequences alone%s (%.1f s)\n",
           batches, sequences, tokens, failures ? ": FAILED" : "", now_seconds() - t0);
    return failures ? 1 : 0;
}
