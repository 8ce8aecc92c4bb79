// kernels.h: the loops of the forward pass (kernels.c) and the int8 quantization they use
// (quantize.c). gpt2.c says what GPT-2 computes; these files say how to compute it fast. Each fast
// kernel sits beside a plain version that shows the maths and that the tests compare it against.
// Internal to the engine, not part of the public API in gpt2.h.
#ifndef GPT2_KERNELS_H
#define GPT2_KERNELS_H

#include "gpt2.h"

#include <math.h>

// The SIMD paths: AVX2 with FMA, and VNNI for the int8 dot products (AVX-512 VNNI's EVEX vpdpbusd,
// or AVX-VNNI's VEX one on cores without AVX-512, such as Alder Lake's: the same exact int32 sums);
// AVX-512 (512-bit vectors) for the prefill tiles where the target has it; on arm64 NEON, and its
// int8 dot product instruction (sdot, Armv8.2's optional DotProd) where the target has it.
// -DGPT2_SCALAR (make SCALAR=1) compiles them out, so that the tests also run the portable loops.
#if defined(__AVX2__) && defined(__FMA__) && !defined(GPT2_SCALAR)
#define USE_AVX2 1
#include <immintrin.h>
#else
#define USE_AVX2 0
#endif
#if USE_AVX2 && defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define USE_VNNI 1
#define dpbusd256 _mm256_dpbusd_epi32
#elif USE_AVX2 && defined(__AVXVNNI__)
#define USE_VNNI 1
#define dpbusd256 _mm256_dpbusd_avx_epi32
#else
#define USE_VNNI 0
#endif
// 512-bit vectors for the prefill tiles: AVX-512 F, BW, DQ and VL (Skylake-X and later, Zen 4).
#if USE_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#define USE_AVX512 1
#else
#define USE_AVX512 0
#endif
#if USE_AVX512 && USE_VNNI
#define USE_VNNI512 1
#else
#define USE_VNNI512 0
#endif
// AVX512_BF16 (Zen 4, Cooper Lake, Sapphire Rapids): dpbf16ps, two bf16 products per float32 lane,
// for the bf16 prefill tile.
#if USE_AVX512 && defined(__AVX512BF16__)
#define USE_BF16DP 1
#else
#define USE_BF16DP 0
#endif
// AMX (Sapphire Rapids and later Xeons): eight tile registers of 16 rows of 64 bytes, and tdpbf16ps,
// which adds the 16 x 16 x 32 bf16 products of two of them to a third (8192 multiply-adds, against
// a 512-bit dpbf16ps's 32; on one core here about 11 times the float32 FMA rate), for bf16 prefill.
// On 64-bit Linux, which grants the registers at run time (gpt2_pool_amx); without that grant, the
// AVX512_BF16 tile runs.
#if USE_BF16DP && USE_VNNI512 && defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__linux__) && \
    defined(__x86_64__)
#define USE_AMX 1
#else
#define USE_AMX 0
#endif
// NEON on 64-bit Arm only: the kernels use A64's lane FMAs and across-vector sums.
#if defined(__ARM_NEON) && defined(__aarch64__) && !defined(GPT2_SCALAR)
#define USE_NEON 1
#include <arm_neon.h>
#else
#define USE_NEON 0
#endif
#if USE_NEON && defined(__ARM_FEATURE_DOTPROD)
#define USE_DOTPROD 1
#else
#define USE_DOTPROD 0
#endif

// ---- linear layers: out (T, OC) = inp (T, C) · w^T + bias, w (OC, C) in any GPT2DType
// A bf16 matrix multiplies bf16 activations: inp is rounded to bf16 first (gpt2_matmul and
// gpt2_matmul_rows round it in place), so that every product is of two bf16 values, exact in
// float32, and the AVX512_BF16 tile computes the same maths as the other kernels (but for
// denormals, which it flushes to zero).
typedef enum {
    OUT_SET,  // out = inp · w^T + bias
    OUT_ADD,  // out += inp · w^T + bias: the residual connection, without a pass over out
    OUT_GELU, // out = gelu(inp · w^T + bias): the MLP's activation, without a pass over out
} Epilogue;

// The fast version: threads over blocks of output rows, register tiles in prefill. xq
// (gpt2_q8_scratch(T, C) bytes, 4-byte aligned) and xqs (T, C / GPT2_Q8_GROUP) are scratch for the
// int8 input (GPT2_Q8), xq also for the bf16 input's pairs (GPT2_BF16 prefill).
size_t gpt2_q8_scratch(int T, int C);
void gpt2_matmul(GPT2Pool *pool, float *out, float *inp, const GPT2Matrix *w, const float *bias, int T,
                 Epilogue epi, int8_t *xq, float *xqs);
// The plain version: one output at a time, sums in double, no threads.
void gpt2_matmul_naive(float *out, const float *inp, const GPT2Matrix *w, const float *bias, int T, Epilogue epi);

// out (cols) = row `row` of w as float32 (the embedding lookup).
void gpt2_matrix_row(float *out, const GPT2Matrix *w, int row);

// ---- attention: for each head h and each new query t at position pos + t,
//   out[t, h] (hs) = softmax_k(q[t, h] · K[h, k] / sqrt(hs)) · V[h, k] over keys k = 0..pos+t (causal)
// q (T, C) holds the queries, its rows ldq floats apart (q is the first third of each qkv row);
// kcache, vcache (NH, maxT, hs) hold this layer's keys and values of positions 0..pos+T-1.
// The plain version: scores (pos + T) floats of scratch.
void gpt2_attention_naive(float *out, const float *q, int ldq, const float *kcache, const float *vcache,
                          float *scores, int T, int pos, int C, int NH, int maxT);
// The fast version: threads over heads, register tiles for six queries at once in prefill.
// scratch: gpt2_attention_scratch() floats.
size_t gpt2_attention_scratch(int C, int NH, int maxT);
void gpt2_attention(GPT2Pool *pool, float *out, const float *q, int ldq, const float *kcache,
                    const float *vcache, float *scratch, int T, int pos, int C, int NH, int maxT);

// ---- batched decode: one new token for each of B sequences, every row computed exactly as the
// kernels above compute it with T = 1, so that a sequence gives the same bits in any batch.
// out (B, OC) = inp (B, C) · w^T + bias: each weight row read from memory once for all B rows,
// each output with the T = 1 dot product (dot_f32, dot_bf16, dot_q8) in its order; threads over
// output rows.
// xq (gpt2_q8_scratch(B, C) bytes, 4-byte aligned) and xqs (B, C / GPT2_Q8_GROUP): scratch for the
// int8 input (GPT2_Q8 only).
void gpt2_matmul_rows(GPT2Pool *pool, float *out, float *inp, const GPT2Matrix *w, const float *bias, int B,
                      Epilogue epi, int8_t *xq, float *xqs);
// out (B, C) = attention of one query per sequence: row b at position pos[b] over its own cache,
// kcache[b], vcache[b] (NH, cacheT[b], hs), exactly as gpt2_attention with T = 1; threads over
// (sequence, head). maxT: the largest cacheT; scratch: gpt2_attention_rows_scratch() floats.
size_t gpt2_attention_rows_scratch(int B, int NH, int maxT);
void gpt2_attention_rows(GPT2Pool *pool, float *out, const float *q, int ldq, const float *const *kcache,
                         const float *const *vcache, const int *pos, const int *cacheT, float *scratch, int B, int C,
                         int NH, int maxT);

// ---- the rest of the transformer block
// out (T, C) = (inp - mean) / sqrt(var + 1e-5) * w + b per row, biased variance as PyTorch; threads
// over blocks of rows, each row computed alike.
void gpt2_layernorm(GPT2Pool *pool, float *out, const float *inp, const float *w, const float *b, int T, int C);
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): GPT-2's "gelu_new".
float gpt2_gelu(float x);

// ---- int8 (quantize.c): symmetric, one scale per GPT2_Q8_GROUP consecutive values
// Weights: rows (rows, C) of float32 (src_bf16 0) or bfloat16 (1) to q (rows, C) with float16
// scales (rows, C / GPT2_Q8_GROUP). -1 when a value is not finite or too large for a float16 scale
// (|w| > 8.3e6), else 0.
int gpt2_quantize_matrix(GPT2Pool *pool, int8_t *q, uint16_t *scale, const void *src, int src_bf16, size_t rows,
                         int C);
// Activations: x (n) to q (n) with float scales (n / GPT2_Q8_GROUP).
void gpt2_quantize_row(int8_t *q, float *scale, const float *x, int n);

// bfloat16 -> float32: a bf16 is the top 16 bits of a float32.
static inline float bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)h << 16};
    return v.f;
}

// float32 -> bfloat16, rounded to nearest even; a NaN stays a (quiet) NaN.
static inline uint16_t f32_to_bf16(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    if ((v.u & 0x7fffffff) > 0x7f800000) return (uint16_t)(v.u >> 16 | 0x40);
    return (uint16_t)((v.u + 0x7fff + (v.u >> 16 & 1)) >> 16);
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

#endif // GPT2_KERNELS_H
