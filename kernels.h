// kernels.h: the hot loops of the forward pass and the thread pool that runs them (kernels.c).
// Kept apart from gpt2.c so that gpt2.c reads as the model: gpt2.c says what GPT-2 computes, this
// file says how to compute it fast. Internal to the engine; not part of the public API in gpt2.h.
#ifndef KERNELS_H
#define KERNELS_H

#include "gpt2.h"

#include <math.h>

// ---- thread pool: workers sleep on a condition variable between jobs (after a short spin), so a
// busy machine never leaves a thread spinning on a core that someone else needs.
GPT2Pool *pool_create(int n_threads); // n_threads includes the caller; NULL when out of memory
void pool_free(GPT2Pool *pool);
int pool_threads(const GPT2Pool *pool);
// Run fn(ctx, i) for every i in 0..n-1 across the threads; returns when all are done. Each i is one
// task; which thread runs it does not change its result, so outputs are identical for any count.
// cost: the job's work in multiply-adds, which the pool uses to compare threads with the caller alone.
typedef void (*pool_task)(void *ctx, int i);
void pool_for(GPT2Pool *pool, int n, pool_task fn, void *ctx, double cost);

// ---- matrix multiply: out (T, OC) = inp (T, C) . w (OC, C)^T + bias (OC), then the epilogue.
typedef enum {
    EPI_STORE, // out = result
    EPI_GELU,  // out = gelu(result): saves a pass over the (T, 4C) fc output
    EPI_ADD,   // out += result: the residual connection, saving a pass over (T, C)
} Epilogue;

// xq (2 T C bytes) and xqs (T, C / GPT2_Q8_GROUP) are scratch for the quantized input (GPT2_Q8 only).
void matmul(GPT2Pool *pool, float *out, const float *inp, GPT2Matrix w, GPT2DType dt,
            const float *bias, int T, int C, int OC, Epilogue epi, int8_t *xq, float *xqs);
// The plain version the tests compare the fast one against: one row at a time, scalar, no threads.
void matmul_naive(float *out, const float *inp, GPT2Matrix w, GPT2DType dt, const float *bias,
                  int T, int C, int OC, Epilogue epi);

// Row `row` of a (rows, C) matrix as float32 (the embedding lookup).
void matrix_row(float *out, GPT2Matrix w, GPT2DType dt, int row, int C);
// The matrix of layer l in a stack of (L, OC, C) matrices.
GPT2Matrix matrix_layer(GPT2Matrix w, GPT2DType dt, int l, int OC, int C);
// Quantize rows (rows, C) of float32 (src_bf16 = 0) or bf16 (1) to int8 with one float16 scale per
// group. Returns 1 when a value is not finite or too large for a float16 scale (|w| > 8.3e6).
int quantize_q8(GPT2Pool *pool, int8_t *q, uint16_t *scale, const void *src, int src_bf16,
                size_t rows, int C);
// The activations for the int8 matmul: one row x (n) to int8 q (n) with float scales (n / GPT2_Q8_GROUP).
void quantize_row(int8_t *q, float *scale, const float *x, int n);

// ---- the rest of the transformer block
// out (T, C) = LayerNorm(inp (T, C)) * w (C) + b (C), eps 1e-5, biased variance as PyTorch.
void layernorm(float *out, const float *inp, const float *w, const float *b, int T, int C);
// Causal attention of T new queries at positions pos..pos+T-1 over keys/values 0..pos+T-1.
// out (T, C); qkv (T, 3C) holds the new queries; kcache, vcache (NH, maxT, hs) hold the keys and
// values of this layer for every position up to pos+T-1, head by head, so that decode reads each
// head's keys as one contiguous stream; scores is scratch of attention_scratch() floats
// (ATTENTION_ROWS queries per head are scored at once in prefill, against keys packed there).
#define ATTENTION_ROWS 6
size_t attention_scratch(int C, int NH, int maxT);
void attention(GPT2Pool *pool, float *out, const float *qkv, const float *kcache,
               const float *vcache, float *scores, int T, int pos, int C, int NH, int maxT);
float gelu(float x); // tanh approximation, as GPT-2 ("gelu_new")

// bfloat16 <-> float32: a bf16 is the top 16 bits of a float32.
static inline float bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)h << 16};
    return v.f;
}

// float16 (IEEE half: sign, 5 exponent and 10 mantissa bits) to float32, exactly.
static inline float f16_to_f32(uint16_t h) {
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0) v = (float)m * 0x1p-24f; // zero and subnormals
    else if (e == 31) v = m ? NAN : INFINITY;
    else {
        union { uint32_t u; float f; } x = {.u = (e + 112) << 23 | m << 13};
        v = x.f;
    }
    return h & 0x8000 ? -v : v;
}

#endif // KERNELS_H
