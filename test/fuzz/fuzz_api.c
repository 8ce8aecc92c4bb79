// fuzz_api: the library's calls with arbitrary arguments on a small model (float32, and quantized to
// int8 at load): gpt2_forward, gpt2_logits, gpt2_generate and the sampler. Every call either works
// or returns its error, as gpt2.h promises, and never reads or writes outside what it was given
// (AddressSanitizer watches every buffer, each allocated to the exact size the call may use).
//
// The input is a program: each step takes one byte saying which call, then the 4-byte values of
// its arguments, any int32 at all (negative, huge); short input reads as zeros.
#include "../../gpt2.h"
#include "../../layout.h"
#include "../../util.h"
#include "scratch_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The model: maxT 16, V 300 (Vp 384), 1 layer, 2 heads, C 32 — every kernel path, quickly.
enum { MAXT = 16, V = 300, VP = 384, L = 1, NH = 2, C = 32 };

static GPT2 models[2]; // float32, int8

// Writes the model's checkpoint (gpt2.h's layout) with small random weights and loads it twice.
static void build_models(void) {
    const GPT2Config config = {.maxT = MAXT, .V = V, .Vp = VP, .L = L, .NH = NH, .C = C};
    size_t n[N_TENSORS];
    if (tensor_sizes(n, &config) != 0) abort();
    int fd = scratch_file();
    int32_t header[256] = {GPT2_MAGIC, GPT2_VERSION_F32, MAXT, V, L, NH, C, VP};
    if (write(fd, header, sizeof(header)) != (ssize_t)sizeof(header)) abort();
    uint64_t seed = 1;
    for (int t = 0; t < N_TENSORS; t++) {
        int norm_weight = t == LN1W || t == LN2W || t == LNFW; // near 1
        for (size_t i = 0; i < n[t]; i++) {
            float v = (float)((double)(splitmix64(&seed) >> 11) * 0x1p-53 - 0.5) * 0.2f + (norm_weight ? 1.0f : 0.0f);
            if (write(fd, &v, 4) != 4) abort();
        }
    }
    close(fd);
    char err[GPT2_ERR_LEN];
    for (int q = 0; q < 2; q++) {
        GPT2Options opt = {.quantize_int8 = q, .threads = 1 + q};
        if (gpt2_build(&models[q], scratch_path, &opt, err) != 0) {
            fprintf(stderr, "fuzz_api: %s\n", err);
            abort();
        }
    }
}

typedef struct {
    const uint8_t *p, *end;
} Input;

static int32_t next_int(Input *in) {
    uint32_t v = 0;
    for (int b = 0; b < 4; b++) v |= (uint32_t)(in->p < in->end ? *in->p++ : 0) << (8 * b);
    return (int32_t)v;
}

static float next_float(Input *in) {
    int32_t i = next_int(in);
    float f;
    memcpy(&f, &i, 4);
    return f;
}

// A count for a buffer: the int folded into 0..max.
static int next_count(Input *in, int max) { return (int)((uint32_t)next_int(in) % (uint32_t)(max + 1)); }

// n ids, each any int32 (mostly small, so that valid ones are common).
static int *next_ids(Input *in, int n) {
    int *ids = malloc((size_t)(n ? n : 1) * sizeof(int));
    for (int i = 0; i < n; i++) {
        int32_t v = next_int(in);
        ids[i] = (v & 0x40000000) ? v : (int)((uint32_t)v % (V + 2)) - 1; // -1..V sometimes, anything else too
    }
    return ids;
}

static int valid_ids(const int *ids, int n) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V) return 0;
    return 1;
}

static SamplerConfig next_config(Input *in) {
    SamplerConfig c = sampler_defaults();
    uint8_t which = in->p < in->end ? *in->p++ : 0;
    if (which & 1) c.temperature = next_float(in);
    if (which & 2) c.top_k = next_int(in);
    if (which & 4) c.top_p = next_float(in);
    if (which & 8) c.min_p = next_float(in);
    if (which & 16) c.repeat_penalty = next_float(in);
    if (which & 32) c.repeat_last_n = next_int(in);
    c.seed = (uint64_t)(uint32_t)next_int(in);
    return c;
}

static void finite_logits(const float *logits) {
    for (int i = 0; i < V; i++)
        if (!isfinite(logits[i])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!models[0].map) build_models();
    Input in = {data, data + size};
    char err[GPT2_ERR_LEN];
    for (int step = 0; step < 8 && in.p < in.end; step++) {
        uint8_t op = *in.p++;
        GPT2 *m = &models[op >> 7];
        switch (op & 3) {
        case 0: { // gpt2_forward, or gpt2_forward_batch of B sequences: NULL exactly when the call is invalid
            int T = next_int(&in), pos = next_int(&in), B = op & 4 ? pos : 1;
            long long BT = (long long)B * T;
            int n = T > 0 && B > 0 && BT <= 2 * MAXT ? (int)BT : 1;
            int *ids = next_ids(&in, n);
            const float *logits = op & 4 ? gpt2_forward_batch(m, ids, B, T) : gpt2_forward(m, ids, T, pos);
            int valid = op & 4 ? T >= 1 && B >= 1 && BT <= MAXT && valid_ids(ids, n)
                               : T >= 1 && T <= 2 * MAXT && pos >= 0 && pos <= MAXT - T && valid_ids(ids, T);
            if (!logits != !valid) abort();
            if (logits) finite_logits(logits);
            free(ids);
            break;
        }
        case 1: { // gpt2_logits of the last forward call
            int t0 = next_int(&in), n = next_int(&in), rows = n > 0 && n <= MAXT ? n : 1;
            float *out = malloc((size_t)rows * V * sizeof(float));
            int r = gpt2_logits(m, t0, n, out);
            if (r == 0 && (n < 1 || n > MAXT || t0 < 0 || t0 + n > m->last_T)) abort();
            free(out);
            break;
        }
        case 2: { // gpt2_generate with any sampler settings: the ids buffer has exactly n + max_new
            SamplerConfig c = next_config(&in);
            int n = next_count(&in, 3 * MAXT), max_new = next_count(&in, 24), context = next_int(&in);
            int eos = next_int(&in);
            int *ids = next_ids(&in, n + max_new);
            Sampler s;
            if (sampler_build(&s, V, &c, err) == 0) {
                int r = gpt2_generate(m, &s, ids, n, max_new, context, eos, NULL, NULL);
                int valid = n >= 1 && context >= 1 && context <= MAXT && valid_ids(ids, n);
                if ((r < 0) == valid || (r >= 0 && (r < n || r > n + max_new || !valid_ids(ids, r)))) abort();
                sampler_free(&s);
            } else if (strncmp(err, "sampler_build: ", 15) != 0) {
                abort();
            }
            free(ids);
            break;
        }
        case 3: { // the sampler alone on logits with any values, and a history of any ids
            SamplerConfig c = next_config(&in);
            int n_history = next_count(&in, 40);
            int *history = next_ids(&in, n_history);
            float *logits = malloc(V * sizeof(float));
            for (int i = 0; i < V; i++) logits[i] = in.p < in.end ? next_float(&in) : (float)(i % 7);
            Sampler s;
            if (sampler_build(&s, V, &c, err) == 0) {
                int id = sampler_sample(&s, logits, history, n_history);
                if (id < 0 || id >= V) abort();
                sampler_free(&s);
            }
            free(logits);
            free(history);
            break;
        }
        }
    }
    return 0;
}
