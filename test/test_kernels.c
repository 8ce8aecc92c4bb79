// test_kernels: the fast kernels against plain reference loops, for every weight format, odd shapes
// and 1, 2 and 3 threads (which must agree bit for bit). Built from the library's own objects;
// `make test-scalar` runs it again with the portable kernels.
#include "../gpt2.h"
#include "../kernels.h"
#include "../pool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static uint64_t rng_state = 1;
static float frand(void) { // uniform in [-1, 1), deterministic
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * 0x1.0p-24) * 2.0f - 1.0f;
}

// Worst |a - b| over n, allowed atol + rtol * |b|; prints the worst element on failure.
static void check_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol) {
    double worst = -1.0, worst_excess = -INFINITY;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), excess = d - (atol + rtol * fabs(b[i]));
        if (isnan(d)) excess = INFINITY;
        if (excess > worst_excess) worst_excess = excess, worst = d, wi = i;
    }
    if (worst_excess > 0) {
        printf("FAIL %s: element %zu: %.9g vs reference %.9g (|diff| %.3g > %.3g + %.3g*|ref|)\n", what, wi, a[wi],
               b[wi], worst, atol, rtol);
        failures++;
    }
}

static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

// The engine's f32_to_bf16 (which rounds a bf16 matrix's inputs) against to_bf16 on every exponent
// and many mantissas, ties to even included; a NaN must stay a NaN (to_bf16 does not handle them).
static void test_bf16_rounding(void) {
    int bad = 0;
    for (uint32_t hi = 0; hi < 0x10000; hi++)
        for (uint32_t lo = 0; lo < 0x10000; lo += 0x7f7) {
            uint32_t cases[3] = {hi << 16 | lo, hi << 16 | 0x8000, hi << 16 | 0x7fff}; // (ties, below)
            for (int c = 0; c < 3; c++) {
                float f;
                memcpy(&f, &cases[c], 4);
                uint16_t got = f32_to_bf16(f);
                if (isnan(f) ? !isnan(bf16_to_f32(got)) : got != to_bf16(f)) bad++;
            }
        }
    if (bad) {
        printf("FAIL f32_to_bf16: %d of the values round otherwise than to nearest even\n", bad);
        failures++;
    }
}

// The int8 format written independently of quantize.c: per group of GPT2_Q8_GROUP values the scale
// s = max|v| / 127, for weights (half = 1) rounded to the nearest float16 (the scale that is stored);
// q = v * (1 / s) rounded to nearest even and clamped to -127..127 (0 for a group of zeros).
static float nearest_f16(float s) { // s >= 0, below float16's largest value
    int e;
    frexpf(s, &e); // s = m 2^e, m in [0.5, 1): float16 keeps 11 significant bits, steps of 2^-24 below 2^-14
    int step = e < -13 ? -24 : e - 11;
    return ldexpf(rintf(ldexpf(s, -step)), step);
}

static void ref_quantize(int8_t *q, float *scale, const float *v, int n, int half) {
    for (int g = 0; g < n / GPT2_Q8_GROUP; g++) {
        const float *x = v + g * GPT2_Q8_GROUP;
        float amax = 0.0f;
        for (int j = 0; j < GPT2_Q8_GROUP; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        float s = half ? nearest_f16(amax / 127.0f) : amax / 127.0f, inv = s > 0.0f ? 1.0f / s : 0.0f;
        for (int j = 0; j < GPT2_Q8_GROUP; j++)
            q[g * GPT2_Q8_GROUP + j] = (int8_t)rintf(fminf(fmaxf(x[j] * inv, -127.0f), 127.0f));
        scale[g] = s;
    }
}

// The library's int8 rows (n) and scales equal ref_quantize's.
static void check_quantized(const char *what, const int8_t *q, const float *scale, const float *v, int n, int half) {
    int8_t *rq = malloc((size_t)n);
    float *rs = malloc((size_t)n / GPT2_Q8_GROUP * sizeof(float) + sizeof(float));
    ref_quantize(rq, rs, v, n, half);
    if (memcmp(q, rq, (size_t)n) != 0 || memcmp(scale, rs, (size_t)n / GPT2_Q8_GROUP * sizeof(float)) != 0) {
        printf("FAIL %s: differs from the reference quantizer\n", what);
        failures++;
    }
    free(rq), free(rs);
}

// Reference for GPT2_Q8: the input quantized by ref_quantize times the quantized weights, exactly,
// in double.
static void matmul_q8_exact(float *out, const float *inp, const int8_t *wq, const uint16_t *ws, const float *bias,
                            int T, int C, int OC) {
    int G = GPT2_Q8_GROUP, ng = C / G;
    int8_t *xq = malloc((size_t)T * C), *lq = malloc((size_t)C);
    float *xs = malloc((size_t)T * ng * sizeof(float)), *ls = malloc((size_t)ng * sizeof(float));
    for (int t = 0; t < T; t++) {
        ref_quantize(xq + (size_t)t * C, xs + (size_t)t * ng, inp + (size_t)t * C, C, 0);
        gpt2_quantize_row(lq, ls, inp + (size_t)t * C, C);
        check_quantized("gpt2_quantize_row", lq, ls, inp + (size_t)t * C, C, 0);
    }
    for (int t = 0; t < T; t++)
        for (int o = 0; o < OC; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (int g = 0; g < ng; g++) {
                long isum = 0;
                for (int j = 0; j < G; j++) isum += (long)wq[(size_t)o * C + g * G + j] * xq[(size_t)t * C + g * G + j];
                sum += (double)isum * f16_to_f32(ws[(size_t)o * ng + g]) * xs[(size_t)t * ng + g];
            }
            out[(size_t)t * OC + o] = (float)sum;
        }
    free(xq), free(xs), free(lq), free(ls);
}

// pools: 1, 2 and 3 threads, then 2 threads without AMX, which runs for bf16 where the others use
// AMX: the other kernel, which need not give their last bits.
static void test_matmul(GPT2Pool *pools[4], GPT2DType dt, int T, int C, int OC, Epilogue epi) {
    size_t nw = (size_t)OC * C;
    float *inp = malloc((size_t)T * C * sizeof(float)), *wf = malloc(nw * sizeof(float));
    float *bias = malloc((size_t)OC * sizeof(float)), *ref = malloc((size_t)T * OC * sizeof(float));
    float *out[4], *init = malloc((size_t)T * OC * sizeof(float));
    uint16_t *wh = malloc(nw * sizeof(uint16_t));
    int8_t *wq = malloc(nw), *xq = malloc(gpt2_q8_scratch(T, C) + 1); // + 1: never malloc(0)
    uint16_t *wqs = malloc(nw / GPT2_Q8_GROUP * sizeof(uint16_t) + 4);
    float *xqs = malloc((size_t)T * C / GPT2_Q8_GROUP * 4 + 4);
    for (size_t i = 0; i < (size_t)T * C; i++) inp[i] = frand();
    for (size_t i = 0; i < nw; i++) wf[i] = frand() * 0.1f, wh[i] = to_bf16(wf[i]);
    for (int i = 0; i < OC; i++) bias[i] = frand();
    for (size_t i = 0; i < (size_t)T * OC; i++) init[i] = frand();
    GPT2Matrix w = {.type = dt, .rows = OC, .cols = C, .data = wf};
    if (dt == GPT2_BF16) w.data = wh;
    if (dt == GPT2_Q8) {
        if (gpt2_quantize_matrix(NULL, wq, wqs, wf, 0, (size_t)OC, C)) {
            printf("FAIL gpt2_quantize_matrix refused finite weights\n");
            failures++;
        }
        float *scales = malloc(nw / GPT2_Q8_GROUP * sizeof(float) + sizeof(float));
        for (size_t i = 0; i < nw / GPT2_Q8_GROUP; i++) scales[i] = f16_to_f32(wqs[i]);
        check_quantized("gpt2_quantize_matrix", wq, scales, wf, (int)nw, 1);
        free(scales);
        w.data = wq, w.scale = wqs;
    }
    memcpy(ref, init, (size_t)T * OC * sizeof(float));
    if (dt == GPT2_Q8) {
        float *tmp = malloc((size_t)T * OC * sizeof(float));
        matmul_q8_exact(tmp, inp, wq, wqs, bias, T, C, OC);
        for (size_t i = 0; i < (size_t)T * OC; i++)
            ref[i] = epi == OUT_GELU ? gpt2_gelu(tmp[i]) : epi == OUT_ADD ? ref[i] + tmp[i] : tmp[i];
        free(tmp);
    } else {
        gpt2_matmul_naive(ref, inp, &w, bias, T, epi);
    }
    char what[128];
    const int np = dt == GPT2_BF16 && gpt2_pool_amx(pools[0]) ? 4 : 3;
    for (int p = 0; p < np; p++) {
        out[p] = malloc((size_t)T * OC * sizeof(float));
        memcpy(out[p], init, (size_t)T * OC * sizeof(float));
        gpt2_matmul(pools[p], out[p], inp, &w, bias, T, epi, xq, xqs);
        snprintf(what, sizeof(what), "matmul dtype %d T=%d C=%d OC=%d epilogue %d, %d threads%s", dt, T, C, OC, epi,
                 gpt2_pool_threads(pools[p]), gpt2_pool_amx(pools[p]) ? ", AMX" : "");
        check_close(what, out[p], ref, (size_t)T * OC, 1e-5, 1e-5);
        if (p > 0 && p < 3 && memcmp(out[p], out[0], (size_t)T * OC * sizeof(float)) != 0) {
            printf("FAIL %s: not bit-identical to 1 thread\n", what);
            failures++;
        }
    }
    // Each token alone (decode). The batched kernel computes every row exactly so, whatever the batch
    // and the thread count.
    float *rows = malloc((size_t)T * OC * sizeof(float)), *batch = malloc((size_t)T * OC * sizeof(float));
    memcpy(rows, init, (size_t)T * OC * sizeof(float));
    for (int t = 0; t < T; t++)
        gpt2_matmul(pools[0], rows + (size_t)t * OC, inp + (size_t)t * C, &w, bias, 1, epi, xq, xqs);
    for (int p = 0; p < 3; p++) {
        memcpy(batch, init, (size_t)T * OC * sizeof(float));
        gpt2_matmul_rows(pools[p], batch, inp, &w, bias, T, epi, xq, xqs);
        if (memcmp(batch, rows, (size_t)T * OC * sizeof(float)) != 0) {
            printf("FAIL matmul_rows dtype %d B=%d C=%d OC=%d epilogue %d, %d threads: not bit-identical to one row "
                   "at a time\n", dt, T, C, OC, epi, gpt2_pool_threads(pools[p]));
            failures++;
        }
    }
    free(rows), free(batch);
    // and the naive float matmul on the dequantized weights is close to the int8 one
    if (dt == GPT2_Q8) {
        float *deq = malloc((size_t)T * OC * sizeof(float));
        memcpy(deq, init, (size_t)T * OC * sizeof(float));
        gpt2_matmul_naive(deq, inp, &w, bias, T, epi);
        snprintf(what, sizeof(what), "int8 matmul vs dequantized weights T=%d C=%d OC=%d", T, C, OC);
        // activations rounded to 1/254 of their group's range: |error| <= sum |w| * max|x| / 254
        check_close(what, out[0], deq, (size_t)T * OC, 0.1 * C / 254.0 * 0.5, 1e-3);
        free(deq);
    }
    for (int p = 0; p < np; p++) free(out[p]);
    free(inp), free(wf), free(bias), free(ref), free(init), free(wh), free(wq), free(xq), free(wqs), free(xqs);
}

// Causal attention in the most direct form, double precision: the reference for both of the
// library's versions.
static void attention_double(float *out, const float *qkv, const float *kc, const float *vc, int T, int pos, int C,
                            int NH, int maxT) {
    int hs = C / NH;
    double *s = malloc((size_t)(pos + T) * sizeof(double));
    for (int t = 0; t < T; t++)
        for (int h = 0; h < NH; h++) {
            int n = pos + t + 1;
            double max = -INFINITY, sum = 0.0;
            for (int k = 0; k < n; k++) {
                double d = 0.0;
                for (int i = 0; i < hs; i++) d += (double)qkv[(size_t)t * 3 * C + h * hs + i] * kc[((size_t)h * maxT + k) * hs + i];
                s[k] = d / sqrt((double)hs);
                if (s[k] > max) max = s[k];
            }
            for (int k = 0; k < n; k++) sum += (s[k] = exp(s[k] - max));
            for (int i = 0; i < hs; i++) {
                double o = 0.0;
                for (int k = 0; k < n; k++) o += s[k] / sum * vc[((size_t)h * maxT + k) * hs + i];
                out[(size_t)t * C + h * hs + i] = (float)o;
            }
        }
    free(s);
}

// maxT: the cache's positions, at least pos + T (the rest unused, as in a model's cache)
static void test_attention(GPT2Pool *pools[3], int T, int pos, int C, int NH, int maxT) {
    float *qkv = malloc((size_t)T * 3 * C * sizeof(float)), *kc = malloc((size_t)maxT * C * sizeof(float));
    float *vc = malloc((size_t)maxT * C * sizeof(float)), *ref = malloc((size_t)T * C * sizeof(float));
    float *scratch = malloc(gpt2_attention_scratch(C, NH, maxT) * sizeof(float)), *out[3];
    float *plain = malloc((size_t)T * C * sizeof(float)), *scores = malloc((size_t)maxT * sizeof(float));
    for (size_t i = 0; i < (size_t)T * 3 * C; i++) qkv[i] = frand() * 2.0f;
    for (size_t i = 0; i < (size_t)maxT * C; i++) kc[i] = frand() * 2.0f, vc[i] = frand();
    attention_double(ref, qkv, kc, vc, T, pos, C, NH, maxT);
    char what[128];
    gpt2_attention_naive(plain, qkv, 3 * C, kc, vc, scores, T, pos, C, NH, maxT);
    snprintf(what, sizeof(what), "gpt2_attention_naive T=%d pos=%d C=%d NH=%d", T, pos, C, NH);
    check_close(what, plain, ref, (size_t)T * C, 1e-5, 1e-5);
    for (int p = 0; p < 3; p++) {
        out[p] = malloc((size_t)T * C * sizeof(float));
        gpt2_attention(pools[p], out[p], qkv, 3 * C, kc, vc, scratch, T, pos, C, NH, maxT);
        snprintf(what, sizeof(what), "attention T=%d pos=%d C=%d NH=%d, %d threads", T, pos, C, NH,
                 gpt2_pool_threads(pools[p]));
        check_close(what, out[p], ref, (size_t)T * C, 1e-5, 1e-5);
        if (p > 0 && memcmp(out[p], out[0], (size_t)T * C * sizeof(float)) != 0) {
            printf("FAIL %s: not bit-identical to 1 thread\n", what);
            failures++;
        }
    }
    for (int p = 0; p < 3; p++) free(out[p]);
    free(qkv), free(kc), free(vc), free(ref), free(scratch), free(plain), free(scores);
}

// T = 37 rows: blocks of rows on the threads, the last block partial.
static void test_layernorm(GPT2Pool *pools[3]) {
    enum { T = 37, C = 77 };
    static float x[T * C], w[C], b[C], out[3][T * C], ref[T * C];
    for (int i = 0; i < T * C; i++) x[i] = frand() * 3.0f + 1.0f;
    for (int i = 0; i < C; i++) w[i] = 1.0f + frand() * 0.1f, b[i] = frand() * 0.1f;
    for (int t = 0; t < T; t++) {
        double mean = 0.0, var = 0.0;
        for (int i = 0; i < C; i++) mean += x[t * C + i] / (double)C;
        for (int i = 0; i < C; i++) var += (x[t * C + i] - mean) * (x[t * C + i] - mean) / C;
        for (int i = 0; i < C; i++) ref[t * C + i] = (float)((x[t * C + i] - mean) / sqrt(var + 1e-5) * w[i] + b[i]);
    }
    for (int p = 0; p < 3; p++) {
        gpt2_layernorm(pools[p], out[p], x, w, b, T, C);
        check_close("layernorm", out[p], ref, (size_t)T * C, 1e-5, 1e-5);
        if (p > 0 && memcmp(out[p], out[0], sizeof(out[0])) != 0) {
            printf("FAIL layernorm: not bit-identical to 1 thread with %d\n", gpt2_pool_threads(pools[p]));
            failures++;
        }
    }
}

static void test_gelu(void) {
    for (float x = -8.0f; x <= 8.0f; x += 0.01f) {
        double ref = 0.5 * x * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (x + 0.044715 * (double)x * x * x)));
        float got = gpt2_gelu(x);
        check_close("gelu", &got, &(float){(float)ref}, 1, 1e-6, 1e-6);
    }
}

// float16 scales: exact decoding, groups too small for normal float16 scales still within
// -127..127 and close, and weights no float16 scale can cover refused.
static void test_quantize(void) {
    const struct { uint16_t h; float f; } halves[] = {{0x3c00, 1.0f}, {0xc000, -2.0f}, {0x0001, 0x1p-24f},
                                                        {0x0400, 0x1p-14f}, {0x7bff, 65504.0f}, {0x3555, 0.33325195f}};
    for (size_t i = 0; i < sizeof(halves) / sizeof(halves[0]); i++)
        if (f16_to_f32(halves[i].h) != halves[i].f) {
            printf("FAIL f16_to_f32(0x%04x) = %g, expected %g\n", halves[i].h, f16_to_f32(halves[i].h), halves[i].f);
            failures++;
        }
    const float amax[] = {1.0f, 3e-3f, 1.7e-4f, 1e-6f, 1e-9f, 1e-30f, 0.0f, 8e6f}; // 1.7e-4: the clamp acts
    for (size_t i = 0; i < sizeof(amax) / sizeof(amax[0]); i++) {
        float v[GPT2_Q8_GROUP], deq[GPT2_Q8_GROUP];
        int8_t q[GPT2_Q8_GROUP];
        uint16_t sc;
        for (int j = 0; j < GPT2_Q8_GROUP; j++) v[j] = amax[i] * (j == 5 ? -1.0f : frand());
        if (gpt2_quantize_matrix(NULL, q, &sc, v, 0, 1, GPT2_Q8_GROUP)) {
            printf("FAIL gpt2_quantize_matrix refused a group of max %g\n", amax[i]);
            failures++;
        }
        for (int j = 0; j < GPT2_Q8_GROUP; j++) {
            if (q[j] < -127) printf("FAIL gpt2_quantize_matrix: %d below -127 (max %g)\n", q[j], amax[i]), failures++;
            deq[j] = q[j] * f16_to_f32(sc);
        }
        char what[64];
        snprintf(what, sizeof(what), "int8 with float16 scale, max %g", amax[i]);
        check_close(what, deq, v, GPT2_Q8_GROUP, amax[i] / 254.0 * 1.01 + 1e-7 * amax[i] + 6e-8 * 127, 0.0);
    }
    const float bad[] = {NAN, INFINITY, 9e6f};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        float v[GPT2_Q8_GROUP] = {0.5f, bad[i]};
        int8_t q[GPT2_Q8_GROUP];
        uint16_t sc;
        if (!gpt2_quantize_matrix(NULL, q, &sc, v, 0, 1, GPT2_Q8_GROUP)) {
            printf("FAIL gpt2_quantize_matrix accepted a weight %g\n", bad[i]);
            failures++;
        }
    }
}

int main(void) {
    GPT2Pool *pools[4] = {gpt2_pool_create(1), gpt2_pool_create(2), gpt2_pool_create(3), gpt2_pool_create(2)};
    gpt2_pool_no_amx(pools[3]);
    printf("test_kernels: %s kernels%s\n", gpt2_kernels(), gpt2_pool_amx(pools[0]) ? "; AMX, and without it" : "");
    const GPT2DType dts[3] = {GPT2_F32, GPT2_BF16, GPT2_Q8};
    const int shapes[][3] = {{1, 64, 1},  {1, 96, 50},  {1, 13, 7},    {3, 64, 100}, {4, 64, 48}, {5, 96, 97},
                             {8, 32, 144}, {13, 128, 49}, {17, 40, 200}, {64, 256, 96}, {2, 7, 5},
                             {7, 800, 33},  {12, 1000, 64}, {6, 384, 16},
                             // (T, C, OC): partial prefill tiles (int8's from 32 tokens) in tokens,
                             // outputs, and inputs past whole panels of 384; inputs not a multiple of
                             // 8; AMX's tiles of 32 tokens, whole and padded, over several panels
                             {4, 32, 4}, {9, 288, 21}, {11, 544, 70}, {16, 512, 100}, {13, 96, 45}, {4, 8448, 8},
                             {37, 288, 21}, {34, 8448, 4}, {37, 800, 70}, {34, 8448, 40}, {33, 1001, 50}, {9, 45, 70},
                             {70, 1600, 130}};
    test_bf16_rounding();
    for (int d = 0; d < 3; d++)
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
            for (int e = 0; e < 3; e++) {
                if (dts[d] == GPT2_Q8 && shapes[s][1] % GPT2_Q8_GROUP) continue;
                test_matmul(pools, dts[d], shapes[s][0], shapes[s][1], shapes[s][2], (Epilogue)e);
            }
    // T, pos, C, NH, and positions in the cache beyond pos + T (prefill's keys are packed in blocks of
    // 16 or 64, its score rows padded to them)
    const int att[][5] = {{1, 0, 64, 4, 0},   {1, 9, 64, 4, 0},    {5, 0, 96, 3, 0},   {7, 4, 48, 2, 0},
                          {16, 0, 64, 1, 0},  {3, 30, 120, 5, 0},  {12, 5, 128, 4, 0}, {13, 0, 96, 6, 0},
                          {6, 37, 192, 3, 0}, {20, 3, 64, 2, 0},   {20, 3, 64, 2, 77}, {70, 0, 160, 2, 30},
                          {6, 59, 256, 4, 65}, {13, 0, 768, 12, 117}};
    for (size_t i = 0; i < sizeof(att) / sizeof(att[0]); i++)
        test_attention(pools, att[i][0], att[i][1], att[i][2], att[i][3], att[i][1] + att[i][0] + att[i][4]);
    test_layernorm(pools);
    test_gelu();
    test_quantize();
    for (int p = 0; p < 4; p++) gpt2_pool_free(pools[p]);
    if (failures) {
        printf("test_kernels: %d failures\n", failures);
        return 1;
    }
    printf("test_kernels: all passed\n");
    return 0;
}
