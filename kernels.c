// kernels.c: the loops of the forward pass (kernels.h). Every kernel has a portable scalar path;
// AVX2/FMA versions of the inner loops sit behind USE_AVX2 (with 512-bit ones behind USE_AVX512 and
// the int8 dot products behind USE_VNNI), NEON versions behind USE_NEON, and all are compiled out
// with -DGPT2_SCALAR (make SCALAR=1), which the tests also run.
#include "kernels.h"
#include "platform.h"
#include "pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// ----------------------------------------------------------------------------------------------
// Dot products of one weight row with one input row, in each storage format.

#if USE_AVX2
// v stays in a register for the loads that follow: an empty asm that "changes" it, so that gcc
// cannot re-read it from memory as the operand of each instruction that uses it (which it does
// when tuning for Zen 4: one load per FMA where one per vector does, and load-bound tiles).
#define KEEP_IN_REGISTER(v) __asm__("" : "+v"(v))

// The 8-lane vector of the AVX2 paths under the names the NEON paths use (below), so that dot8 is
// written once for both, and dot4 and chain_tile in the same words.
typedef __m256 F32x8;
static inline F32x8 zero8(void) { return _mm256_setzero_ps(); }
static inline F32x8 load8(const float *p) { return _mm256_loadu_ps(p); }
static inline void store8(float *p, F32x8 v) { _mm256_storeu_ps(p, v); }
static inline F32x8 add8(F32x8 a, F32x8 b) { return _mm256_add_ps(a, b); }
static inline F32x8 fma8(F32x8 acc, F32x8 a, F32x8 b) { return _mm256_fmadd_ps(a, b, acc); }

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#if !USE_AVX512 // (which widens bf16 in load16)
static inline __m256 load_bf16x8(const uint16_t *p) {
    __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
#endif
#if USE_AVX512
static inline float hsum16(__m512 v) {
    return hsum8(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
// Lanes 0..n-1 of a mask; n % 16 of them for the last step of a row of n.
static inline __mmask16 tail_mask(int n) { return (__mmask16)((1u << (n % 16)) - 1); }
// w[i..i+16) as float32 (w is uint16_t when bf16, which widens exactly), lanes outside m zero.
static inline __m512 load16(const void *w, int bf16, size_t i, __mmask16 m) {
    if (!bf16) return _mm512_maskz_loadu_ps(m, (const float *)w + i);
    __m512i u = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
// The dot product of AVX-512 builds, float32 or bf16 weights: one accumulator of 16 lanes, the last
// n % 16 products masked in, then hsum16. One accumulator, not four: a row streams in from memory
// far slower than one chain of FMAs runs, and with one vector per output the batched tile (dot_tile)
// keeps 24 outputs' sums in registers and gives every row exactly these bits.
static float dot16(const void *w, int bf16, const float *x, int n) {
    __m512 a = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) a = _mm512_fmadd_ps(load16(w, bf16, i, 0xffff), _mm512_loadu_ps(x + i), a);
    if (i < n) {
        __mmask16 m = tail_mask(n);
        a = _mm512_fmadd_ps(load16(w, bf16, i, m), _mm512_maskz_loadu_ps(m, x + i), a);
    }
    return hsum16(a);
}
#endif
static inline __m256 load_f16x8(const uint16_t *p) {
#ifdef __F16C__
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
#else
    return _mm256_setr_ps(f16_to_f32(p[0]), f16_to_f32(p[1]), f16_to_f32(p[2]), f16_to_f32(p[3]),
                          f16_to_f32(p[4]), f16_to_f32(p[5]), f16_to_f32(p[6]), f16_to_f32(p[7]));
#endif
}
#endif

#if USE_NEON
#define KEEP_IN_REGISTER(v) __asm__("" : "+w"(v)) // (as the AVX2 one)
// The NEON paths keep the AVX2 paths' lanes: each 8-float AVX2 vector is a pair of 4-float NEON
// vectors, updated and summed in the same order, so that arm64 computes the same bits as x86.
typedef struct { float32x4_t lo, hi; } F32x8; // lanes 0-3 and 4-7
static inline F32x8 zero8(void) { return (F32x8){vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}; }
static inline F32x8 load8(const float *p) { return (F32x8){vld1q_f32(p), vld1q_f32(p + 4)}; }
static inline void store8(float *p, F32x8 v) { vst1q_f32(p, v.lo), vst1q_f32(p + 4, v.hi); }
static inline F32x8 add8(F32x8 a, F32x8 b) { return (F32x8){vaddq_f32(a.lo, b.lo), vaddq_f32(a.hi, b.hi)}; }
// acc + a * b and acc + a * b for a scalar b, each rounded once (as _mm256_fmadd_ps).
static inline F32x8 fma8(F32x8 acc, F32x8 a, F32x8 b) {
    return (F32x8){vfmaq_f32(acc.lo, a.lo, b.lo), vfmaq_f32(acc.hi, a.hi, b.hi)};
}
static inline F32x8 fma8_n(F32x8 acc, F32x8 a, float b) {
    return (F32x8){vfmaq_n_f32(acc.lo, a.lo, b), vfmaq_n_f32(acc.hi, a.hi, b)};
}
// The sum in the AVX2 hsum8's order: the two halves added, then their halves, then the last two.
static inline float hsum8(F32x8 v) {
    float32x4_t s = vaddq_f32(v.lo, v.hi);
    float32x2_t t = vadd_f32(vget_low_f32(s), vget_high_f32(s));
    return vget_lane_f32(t, 0) + vget_lane_f32(t, 1);
}
// 8 bf16 widened to float32 by shifting each into the top 16 bits.
static inline F32x8 load_bf16x8(const uint16_t *p) {
    uint16x8_t h = vld1q_u16(p);
    return (F32x8){vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)),
                   vreinterpretq_f32_u32(vshll_high_n_u16(h, 16))};
}
#endif

// Four independent accumulators keep the FMA pipes busy while the row streams in from memory (on
// 512-bit vectors one suffices: dot16). One row at a time: reading two or four rows at once (to load
// each x once for all of them) ran at less than half the speed on AMD Zen 4, for float32 and int8 alike.
#if USE_AVX512
static float dot_f32(const float *w, const float *x, int n) { return dot16(w, 0, x, n); }
static float dot_bf16(const uint16_t *w, const float *x, int n) { return dot16(w, 1, x, n); }
#else
// w[i] and w[i..i+8) as float32 (w is uint16_t when bf16, which widens exactly).
static inline float wload1(const void *w, int bf16, size_t i) {
    return bf16 ? bf16_to_f32(((const uint16_t *)w)[i]) : ((const float *)w)[i];
}
#if USE_AVX2 || USE_NEON
static inline F32x8 wload8(const void *w, int bf16, size_t i) {
    return bf16 ? load_bf16x8((const uint16_t *)w + i) : load8((const float *)w + i);
}
#endif
// Accumulator q sums the products 32m + 8q..+7 of every 32; the last whole 8s go to the first, the
// rest is added one by one after the horizontal sum (the batched chain_tile sums exactly so too).
static inline __attribute__((always_inline)) float dot8(const void *w, int bf16, const float *x, int n) {
    int i = 0;
    float sum = 0.0f;
#if USE_AVX2 || USE_NEON
    F32x8 a0 = zero8(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 32 <= n; i += 32) {
        a0 = fma8(a0, wload8(w, bf16, i), load8(x + i));
        a1 = fma8(a1, wload8(w, bf16, i + 8), load8(x + i + 8));
        a2 = fma8(a2, wload8(w, bf16, i + 16), load8(x + i + 16));
        a3 = fma8(a3, wload8(w, bf16, i + 24), load8(x + i + 24));
    }
    for (; i + 8 <= n; i += 8) a0 = fma8(a0, wload8(w, bf16, i), load8(x + i));
    sum = hsum8(add8(add8(a0, a1), add8(a2, a3)));
#else
    float s[4] = {0};
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += wload1(w, bf16, i + j) * x[i + j];
    sum = (s[0] + s[1]) + (s[2] + s[3]);
#endif
    for (; i < n; i++) sum += wload1(w, bf16, i) * x[i];
    return sum;
}
static float dot_f32(const float *w, const float *x, int n) { return dot8(w, 0, x, n); }
static float dot_bf16(const uint16_t *w, const float *x, int n) { return dot8(w, 1, x, n); }
#endif

#if USE_AVX2
// The 32 products of one group of int8 weights w and activations x, summed into 8 lanes as floats.
// xc (8): the group's corrections for VNNI (quantize_input).
static inline __m256 q8_group(const int8_t *w, const int8_t *x, const int32_t *xc) {
    __m256i a = _mm256_loadu_si256((const __m256i *)w), b = _mm256_loadu_si256((const __m256i *)x);
#if USE_VNNI
    // dpbusd multiplies unsigned by signed bytes: flipping w's sign bit gives w + 128 as unsigned,
    // and the accumulator starts at xc, which takes the extra 128 * x back out, exactly.
    __m256i u = _mm256_xor_si256(a, _mm256_set1_epi8((char)0x80));
    return _mm256_cvtepi32_ps(dpbusd256(_mm256_loadu_si256((const __m256i *)xc), u, b));
#else
    (void)xc;
    // maddubs multiplies unsigned by signed bytes: move a's sign onto b. |a|, |b| <= 127, so the
    // pairwise int16 sums cannot saturate.
    __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
#endif
}
#endif

#if USE_NEON
// The 32 products of one group as the AVX2 q8_group sums them: lane l holds the products of bytes
// 4l..4l+3, exact in int32, then as floats.
static inline F32x8 q8_group(const int8_t *w, const int8_t *x) {
    int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), x0 = vld1q_s8(x), x1 = vld1q_s8(x + 16);
#if USE_DOTPROD
    int32x4_t lo = vdotq_s32(vdupq_n_s32(0), w0, x0), hi = vdotq_s32(vdupq_n_s32(0), w1, x1);
#else
    // Without sdot (Cortex-A72 class cores): int16 products, widened to pairs, then added to fours.
    int32x4_t lo = vpaddq_s32(vpaddlq_s16(vmull_s8(vget_low_s8(w0), vget_low_s8(x0))),
                              vpaddlq_s16(vmull_high_s8(w0, x0)));
    int32x4_t hi = vpaddq_s32(vpaddlq_s16(vmull_s8(vget_low_s8(w1), vget_low_s8(x1))),
                              vpaddlq_s16(vmull_high_s8(w1, x1)));
#endif
    return (F32x8){vcvtq_f32_s32(lo), vcvtq_f32_s32(hi)};
}

// The scale products of the 4 groups from g: float16 weight scales times activation scales.
static inline float32x4_t q8_scales(const uint16_t *ws, const float *xs) {
    return vmulq_f32(vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(ws))), vld1q_f32(xs));
}
#endif

// int8 weights (n) with scales (n/G) times int8 activations with scales: exact integer sums per
// group, then one float multiply-add per group. n is a multiple of GPT2_Q8_GROUP.
static float dot_q8(const int8_t *w, const uint16_t *ws, const int8_t *x, const float *xs, const int32_t *xc, int n) {
    int groups = n / GPT2_Q8_GROUP;
#if USE_AVX2 && GPT2_Q8_GROUP == 32
    // Eight groups per step: their eight scale products in one vector, each group's broadcast from
    // it by a permute; two accumulators, as one chain of dependent FMAs would cap the rate.
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    int g = 0;
    for (; g + 8 <= groups; g += 8) {
        __m256 s = _mm256_mul_ps(load_f16x8(ws + g), _mm256_loadu_ps(xs + g));
        for (int k = 0; k < 8; k += 2) {
            acc0 = _mm256_fmadd_ps(q8_group(w + 32 * (g + k), x + 32 * (g + k), xc + 8 * (g + k)),
                                   _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(k)), acc0);
            acc1 = _mm256_fmadd_ps(q8_group(w + 32 * (g + k + 1), x + 32 * (g + k + 1), xc + 8 * (g + k + 1)),
                                   _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(k + 1)), acc1);
        }
    }
    for (; g < groups; g++)
        acc0 = _mm256_fmadd_ps(q8_group(w + 32 * g, x + 32 * g, xc + 8 * g), _mm256_set1_ps(f16_to_f32(ws[g]) * xs[g]), acc0);
    return hsum8(_mm256_add_ps(acc0, acc1));
#elif USE_NEON && GPT2_Q8_GROUP == 32
    // As the AVX2 loop: eight groups per step, even ones into acc0 and odd ones into acc1, each
    // group's scale product taken from its lane.
    (void)xc;
    F32x8 acc0 = zero8(), acc1 = acc0;
    int g = 0;
    for (; g + 8 <= groups; g += 8) {
        const int8_t *wg = w + 32 * g, *xg = x + 32 * g;
        float32x4_t s0 = q8_scales(ws + g, xs + g), s1 = q8_scales(ws + g + 4, xs + g + 4);
        acc0 = fma8_n(acc0, q8_group(wg, xg), vgetq_lane_f32(s0, 0));
        acc1 = fma8_n(acc1, q8_group(wg + 32, xg + 32), vgetq_lane_f32(s0, 1));
        acc0 = fma8_n(acc0, q8_group(wg + 64, xg + 64), vgetq_lane_f32(s0, 2));
        acc1 = fma8_n(acc1, q8_group(wg + 96, xg + 96), vgetq_lane_f32(s0, 3));
        acc0 = fma8_n(acc0, q8_group(wg + 128, xg + 128), vgetq_lane_f32(s1, 0));
        acc1 = fma8_n(acc1, q8_group(wg + 160, xg + 160), vgetq_lane_f32(s1, 1));
        acc0 = fma8_n(acc0, q8_group(wg + 192, xg + 192), vgetq_lane_f32(s1, 2));
        acc1 = fma8_n(acc1, q8_group(wg + 224, xg + 224), vgetq_lane_f32(s1, 3));
    }
    for (; g < groups; g++) acc0 = fma8_n(acc0, q8_group(w + 32 * g, x + 32 * g), f16_to_f32(ws[g]) * xs[g]);
    return hsum8(add8(acc0, acc1));
#else
    (void)xc;
    float sum = 0.0f;
    for (int g = 0; g < groups; g++) {
        int32_t isum = 0;
        for (int j = 0; j < GPT2_Q8_GROUP; j++)
            isum += (int32_t)w[g * GPT2_Q8_GROUP + j] * (int32_t)x[g * GPT2_Q8_GROUP + j];
        sum += (float)isum * (f16_to_f32(ws[g]) * xs[g]);
    }
    return sum;
#endif
}

// ----------------------------------------------------------------------------------------------
// Matrix multiply.

float gpt2_gelu(float x) {
    const float s = 0.7978845608028654f; // sqrt(2 / pi)
    return 0.5f * x * (1.0f + tanhf(s * (x + 0.044715f * x * x * x)));
}

#if USE_AVX2
// e^x for 8 floats: x = n ln2 + r with |r| <= ln2/2, e^r by Cephes' degree-6 polynomial (relative
// error about 1e-7), 2^n put straight into the exponent bits.
static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// gelu of 8 floats; tanh(u) = 1 - 2 / (e^2u + 1), off from tanhf by about 1e-7 absolute.
static inline __m256 gelu8(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608028654f),
                             _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    __m256 t = _mm256_sub_ps(_mm256_set1_ps(1.0f),
                             _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(exp8(u), _mm256_set1_ps(1.0f))));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(t, _mm256_set1_ps(1.0f)));
}
#endif

#if USE_AVX512
// exp8 and gelu8 on 16 floats, operation for operation: each lane's bits are the 256-bit ones'.
static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

static inline __m512 gelu16(__m512 x) {
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 u = _mm512_mul_ps(_mm512_set1_ps(2.0f * 0.7978845608028654f),
                             _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 t = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(exp16(u), one)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(t, one));
}
#endif

#if USE_NEON
// exp8 and gelu8 on four floats, operation for operation (maxnm returns -87 for a NaN, as max_ps).
static inline float32x4_t exp4(float32x4_t x) {
    x = vminnmq_f32(vmaxnmq_f32(x, vdupq_n_f32(-87.0f)), vdupq_n_f32(88.0f));
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), vmulq_f32(p, r), r);
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

static inline float32x4_t gelu4(float32x4_t x) {
    float32x4_t x3 = vmulq_f32(vmulq_f32(x, x), x);
    float32x4_t u = vmulq_f32(vdupq_n_f32(2.0f * 0.7978845608028654f), vfmaq_f32(x, vdupq_n_f32(0.044715f), x3));
    float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t t = vsubq_f32(one, vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(exp4(u), one)));
    return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), x), vaddq_f32(t, one));
}
#endif

// gelu in place over x (n): the fc output block a matmul task just wrote, still in cache.
static void gelu_inplace(float *x, int n) {
    int i = 0;
#if USE_AVX512
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu16(_mm512_loadu_ps(x + i)));
#endif
#if USE_AVX2
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
#elif USE_NEON
    for (; i + 8 <= n; i += 8) { // eight at a time, so that the scalar tail is the AVX2 path's
        vst1q_f32(x + i, gelu4(vld1q_f32(x + i)));
        vst1q_f32(x + i + 4, gelu4(vld1q_f32(x + i + 4)));
    }
#endif
    for (; i < n; i++) x[i] = gpt2_gelu(x[i]);
}

// Store one result; GELU is applied afterwards by the caller, a block at a time (gelu_inplace).
static inline void finish(float *out, float v, Epilogue epi) {
    if (epi == OUT_ADD) *out += v;
    else *out = v;
}

void gpt2_matrix_row(float *out, const GPT2Matrix *w, int row) {
    size_t off = (size_t)row * w->cols;
    for (int i = 0; i < w->cols; i++) {
        if (w->type == GPT2_F32) out[i] = ((const float *)w->data)[off + i];
        else if (w->type == GPT2_BF16) out[i] = bf16_to_f32(((const uint16_t *)w->data)[off + i]);
        else out[i] = ((const int8_t *)w->data)[off + i] * f16_to_f32(w->scale[(off + i) / GPT2_Q8_GROUP]);
    }
}

typedef struct {
    float *out;       // (T, OC)
    const float *inp; // (T, C)
    const int8_t *xq; // (T, C) quantized inp, GPT2_Q8 only
    const float *xqs; // (T, C/G)
    const int32_t *xc; // (T, C/4) VNNI corrections of xq
    const int32_t *xg; // (T, C/G) the same summed per group (q8_tile's)
    const int16_t *x16; // (T, C) xq as int16, for q8_tile without VNNI (Q8_INT16)
    const uint32_t *xb; // (T, C/2) inp as pairs of bf16 for tile_bf16_6x64, or NULL
    int amx;            // with xb: amx_bf16_32x64 runs instead (gpt2_pool_amx)
    const GPT2Matrix *w; // (OC, C)
    const float *bias; // (OC) or NULL
    int T, C, OC;
    Epilogue epi;
    // tasks: outputs 0..split-1 in blocks of `big` rows, then split..OC-1 in blocks of `small`
    int big, split, n_big, small;
} MatmulJob;

// One output element: bias + w[o] . inp[t].
static float matmul_one(const MatmulJob *j, int t, int o) {
    size_t wo = (size_t)o * j->C, xo = (size_t)t * j->C;
    float v;
    if (j->w->type == GPT2_F32) v = dot_f32((const float *)j->w->data + wo, j->inp + xo, j->C);
    else if (j->w->type == GPT2_BF16) v = dot_bf16((const uint16_t *)j->w->data + wo, j->inp + xo, j->C);
    else v = dot_q8((const int8_t *)j->w->data + wo, j->w->scale + wo / GPT2_Q8_GROUP, j->xq + xo,
                    j->xqs + xo / GPT2_Q8_GROUP, j->xc + xo / 4, j->C);
    return j->bias ? v + j->bias[o] : v;
}

// Float32 prefill in the shape of BLIS's AVX2 kernel: a register tile of TILE_T tokens by TILE_O
// outputs (12 accumulators of AVX2, 2 x 12 of NEON) is updated by broadcasting one input of each
// token against TILE_O weights. The weights are first packed transposed, (k, TILE_O), TILE_K inputs
// at a time, so the packed panel (24 KB) stays in L1 while all T tokens stream past it from L2.
// With AVX-512 the tile is 6 tokens by 64 outputs (24 accumulators): its panel (96 KB) is read from
// L2, but each step's 10 loads feed 24 FMAs.
#define USE_TILES (USE_AVX2 || USE_NEON)
#define TILE_T 6
#define TILE_O 16
#define TILE_K 384
#if USE_AVX512
#define TILE_WIDE 4 // tile_6x64: four tiles' outputs at once
#else
#define TILE_WIDE 1
#endif
#define AMX_T 32 // tokens per AMX tile (amx_bf16_32x64): two tile registers of 16 rows
#define TILE_T_MAX (USE_AMX ? AMX_T : TILE_T) // the most tokens of a tile: matmul_tiles' padding

#if USE_AVX2

// out (TILE_T, TILE_O) = (load ? out : 0) + x (TILE_T, k) . wt (k, TILE_O) + bias (TILE_O, unless
// NULL), added before the store; the rows of out, x and wt are ldo, ldx and ldw floats apart.
static void tile_6x16(float *out, int ldo, const float *x, int ldx, const float *wt, int ldw, int k, int load,
                      const float *bias) {
    // Twelve named accumulators, not an array: GCC keeps these in registers, an array it spills.
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *x0 = x, *x1 = x + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx, *x4 = x3 + ldx, *x5 = x4 + ldx;
#define ROW(xa, ca0, ca1)                             \
    do {                                               \
        __m256 b = _mm256_broadcast_ss(xa + p);        \
        ca0 = _mm256_fmadd_ps(b, w0, ca0);             \
        ca1 = _mm256_fmadd_ps(b, w1, ca1);             \
    } while (0)
    for (int p = 0; p < k; p++) {
        __m256 w0 = _mm256_loadu_ps(wt + (size_t)p * ldw), w1 = _mm256_loadu_ps(wt + (size_t)p * ldw + 8);
        ROW(x0, c00, c01);
        ROW(x1, c10, c11);
        ROW(x2, c20, c21);
        ROW(x3, c30, c31);
        ROW(x4, c40, c41);
        ROW(x5, c50, c51);
    }
#undef ROW
    __m256 acc[TILE_T][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int a = 0; a < TILE_T; a++) {
        float *o = out + (size_t)a * ldo;
        if (load) {
            acc[a][0] = _mm256_add_ps(acc[a][0], _mm256_loadu_ps(o));
            acc[a][1] = _mm256_add_ps(acc[a][1], _mm256_loadu_ps(o + 8));
        }
        if (bias) {
            acc[a][0] = _mm256_add_ps(acc[a][0], _mm256_loadu_ps(bias));
            acc[a][1] = _mm256_add_ps(acc[a][1], _mm256_loadu_ps(bias + 8));
        }
        _mm256_storeu_ps(o, acc[a][0]);
        _mm256_storeu_ps(o + 8, acc[a][1]);
    }
}
#if USE_AVX512
// c + b w, or with pairs (a bf16 pair in each 32-bit lane of b and w, AVX512_BF16) both products of
// each lane's pair added to c by one dpbf16ps: twice the multiply-adds per instruction.
static inline __attribute__((always_inline)) __m512 madd16(__m512 c, __m512 b, __m512 w, int pairs) {
#if USE_BF16DP
    if (pairs) return _mm512_dpbf16_ps(c, (__m512bh)b, (__m512bh)w);
#endif
    (void)pairs;
    return _mm512_fmadd_ps(b, w, c);
}

// out (TILE_T, 64) = (load ? out : 0) + x (TILE_T, k) . wt (k, 64) + bias (unless NULL):
// tile_6x16's loop with four 16-lane strips of outputs at once, so that each step's 6 broadcasts
// and 4 loads feed 24 FMAs. Each output is the same chain of FMAs, so the same bits. With pairs, x
// and wt hold a pair of bf16 where they hold one float32 otherwise (x (TILE_T, k pairs), wt (k
// pairs, 64)): the products of two bf16 are exact in float32, and only the order of the sums
// differs from the float32 tile's (and dpbf16ps flushes denormals, below 1e-38, to zero).
static inline __attribute__((always_inline)) void tile_6x64_of(float *out, int ldo, const float *x, int ldx,
                                                               const float *wt, int ldw, int k, int load,
                                                               const float *bias, int pairs) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    __m512 c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
    const float *x0 = x, *x1 = x + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx, *x4 = x3 + ldx, *x5 = x4 + ldx;
#define ROW(xa, ca0, ca1, ca2, ca3)                                  \
    do {                                                             \
        int32_t v; /* (a float or a pair: the 32 bits, broadcast) */ \
        memcpy(&v, xa + p, sizeof(v));                               \
        __m512 b = _mm512_castsi512_ps(_mm512_set1_epi32(v));        \
        ca0 = madd16(ca0, b, w0, pairs);                             \
        ca1 = madd16(ca1, b, w1, pairs);                             \
        ca2 = madd16(ca2, b, w2, pairs);                             \
        ca3 = madd16(ca3, b, w3, pairs);                             \
    } while (0)
    for (int p = 0; p < k; p++) {
        const float *wp = wt + (size_t)p * ldw;
        __m512 w0 = _mm512_loadu_ps(wp), w1 = _mm512_loadu_ps(wp + 16), w2 = _mm512_loadu_ps(wp + 32),
               w3 = _mm512_loadu_ps(wp + 48);
        ROW(x0, c00, c01, c02, c03);
        ROW(x1, c10, c11, c12, c13);
        ROW(x2, c20, c21, c22, c23);
        ROW(x3, c30, c31, c32, c33);
        ROW(x4, c40, c41, c42, c43);
        ROW(x5, c50, c51, c52, c53);
    }
#undef ROW
    __m512 acc[TILE_T][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},
                             {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}};
    for (int a = 0; a < TILE_T; a++)
        for (int b = 0; b < 4; b++) {
            float *o = out + (size_t)a * ldo + 16 * b;
            __m512 v = load ? _mm512_add_ps(acc[a][b], _mm512_loadu_ps(o)) : acc[a][b];
            _mm512_storeu_ps(o, bias ? _mm512_add_ps(v, _mm512_loadu_ps(bias + 16 * b)) : v);
        }
}
static void tile_6x64(float *out, int ldo, const float *x, int ldx, const float *wt, int ldw, int k, int load,
                      const float *bias) {
    tile_6x64_of(out, ldo, x, ldx, wt, ldw, k, load, bias, 0);
}
#if USE_BF16DP
static void tile_bf16_6x64(float *out, int ldo, const float *x, int ldx, const float *wt, int ldw, int k,
                           int load, const float *bias) {
    tile_6x64_of(out, ldo, x, ldx, wt, ldw, k, load, bias, 1);
}
#endif
#if USE_AMX
// The tile registers' shapes: all eight tiles 16 rows of 64 bytes. 0-3 accumulate 16 tokens by 16
// float32 outputs; 4-5 hold 16 tokens' 16 input pairs; 6-7 16 input pairs of 16 outputs. Each thread
// has its own configuration, so each task sets it (_tile_loadconfig) before its tiles, and gives the
// registers back after (_tile_release), so that the system stops saving their 8 KB when it
// switches threads.
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} AmxConfig;
_Static_assert(sizeof(AmxConfig) == 64, "ldtilecfg reads 64 bytes");
_Static_assert(TILE_K % 16 == 0, "amx_bf16_32x64 takes whole steps of 16 pairs");
static void amx_begin(void) {
    AmxConfig c = {.palette = 1};
    for (int i = 0; i < 8; i++) c.bytes_per_row[i] = 64, c.rows[i] = 16;
    _tile_loadconfig(&c);
}

// out (AMX_T, 64) = (load ? out : 0) + x (AMX_T, k pairs) . wt (k pairs, 64) + bias (added after
// the tile stores, unless NULL), k a multiple of 16, in two halves of 32 outputs: tile_bf16_6x64's
// products, summed in the order tdpbf16ps takes them (so the last bits can differ from the other
// tile's; every thread count gives the same). For each 16 pairs, tdpbf16ps adds to each of the four
// accumulators (two blocks of 16 tokens by two of 16 outputs) the 16 x 16 x 32 products of a block
// of x and a block of wt, in the layouts they already have: a tile row is 16 pairs, 64 bytes, of
// one token (x) or one input pair's 16 outputs (wt).
static void amx_bf16_32x64(float *out, int ldo, const float *x, int ldx, const float *wt, int ldw, int k, int load,
                           const float *bias) {
    // The compiler does not see the tile instructions' loads and stores: memory is in place before
    // them and read again after.
    __asm__ volatile("" ::: "memory");
    const size_t so = (size_t)ldo * 4, sx = (size_t)ldx * 4, sw = (size_t)ldw * 4; // rows' strides in bytes
    for (int h = 0; h < 64; h += 32) {
        float *o0 = out + h, *o1 = out + (size_t)16 * ldo + h; // tokens 0-15 and 16-31
        if (load) {
            _tile_loadd(0, o0, so);
            _tile_loadd(1, o0 + 16, so);
            _tile_loadd(2, o1, so);
            _tile_loadd(3, o1 + 16, so);
        } else {
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
        }
        for (int p = 0; p < k; p += 16) {
            _tile_loadd(4, x + p, sx);
            _tile_loadd(5, x + (size_t)16 * ldx + p, sx);
            _tile_loadd(6, wt + (size_t)p * ldw + h, sw);
            _tile_loadd(7, wt + (size_t)p * ldw + h + 16, sw);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, o0, so);
        _tile_stored(1, o0 + 16, so);
        _tile_stored(2, o1, so);
        _tile_stored(3, o1 + 16, so);
    }
    __asm__ volatile("" ::: "memory");
    for (int t = 0; bias && t < AMX_T; t++)
        for (int i = 0; i < 64; i++) out[(size_t)t * ldo + i] += bias[i];
}
#endif
#endif
#elif USE_NEON
// Half the tile, out (TILE_T, 8) = (load ? out : 0) + x (TILE_T, k) . wt (k, 8) + bias (unless
// NULL), in 12 accumulators of four. Each token's inputs are loaded four at a time and applied from
// their lanes (fmla by element); 24 accumulators for the whole tile would leave too few of the 32
// registers for that. Each output is the AVX2 tile's chain of fused multiply-adds, in the same
// order.
static inline void tile_6x8(float *out, int ldo, const float *x, int ldx, const float *wt, int ldw, int k,
                            int load, const float *bias) {
    float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    float32x4_t c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *x0 = x, *x1 = x + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx, *x4 = x3 + ldx, *x5 = x4 + ldx;
    // input p + q of each token (lane q of xv0..xv5) against its 8 weights
#define ROW(xv, q, ca0, ca1)                   \
    do {                                       \
        ca0 = vfmaq_laneq_f32(ca0, w0, xv, q); \
        ca1 = vfmaq_laneq_f32(ca1, w1, xv, q); \
    } while (0)
#define STEP(q)                                                              \
    do {                                                                     \
        const float *wq = wt + (size_t)(p + q) * ldw;                        \
        float32x4_t w0 = vld1q_f32(wq), w1 = vld1q_f32(wq + 4);              \
        ROW(xv0, q, c00, c01);                                               \
        ROW(xv1, q, c10, c11);                                               \
        ROW(xv2, q, c20, c21);                                               \
        ROW(xv3, q, c30, c31);                                               \
        ROW(xv4, q, c40, c41);                                               \
        ROW(xv5, q, c50, c51);                                               \
    } while (0)
    int p = 0;
    for (; p + 4 <= k; p += 4) {
        float32x4_t xv0 = vld1q_f32(x0 + p), xv1 = vld1q_f32(x1 + p), xv2 = vld1q_f32(x2 + p);
        float32x4_t xv3 = vld1q_f32(x3 + p), xv4 = vld1q_f32(x4 + p), xv5 = vld1q_f32(x5 + p);
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
    }
    for (; p < k; p++) { // the last k % 4 inputs one at a time, from lane 0
        float32x4_t xv0 = vld1q_dup_f32(x0 + p), xv1 = vld1q_dup_f32(x1 + p), xv2 = vld1q_dup_f32(x2 + p);
        float32x4_t xv3 = vld1q_dup_f32(x3 + p), xv4 = vld1q_dup_f32(x4 + p), xv5 = vld1q_dup_f32(x5 + p);
        STEP(0);
    }
#undef STEP
#undef ROW
    float32x4_t acc[TILE_T][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int a = 0; a < TILE_T; a++)
        for (int b = 0; b < 2; b++) {
            float *o = out + (size_t)a * ldo + 4 * b;
            float32x4_t v = load ? vaddq_f32(acc[a][b], vld1q_f32(o)) : acc[a][b];
            vst1q_f32(o, bias ? vaddq_f32(v, vld1q_f32(bias + 4 * b)) : v);
        }
}

// The tile as two halves of 8 outputs, each pass over the inputs reading the (L1) panel's half.
static void tile_6x16(float *out, int ldo, const float *x, int ldx, const float *wt, int ldw, int k, int load,
                      const float *bias) {
    tile_6x8(out, ldo, x, ldx, wt, ldw, k, load, bias);
    tile_6x8(out + 8, ldo, x, ldx, wt + 8, ldw, k, load, bias ? bias + 8 : NULL);
}
#endif

#if USE_TILES
#if USE_AVX512
// Rows p = 0..15 of out (ldo apart) = lane p of r[0..15]: a 16 x 16 transpose in registers, in
// three rounds of shuffles (pairs of rows, then fours within 128-bit lanes, then the lanes).
static void transpose16(float *out, size_t ldo, const __m512 r[16]) {
    __m512 t[16], u[16];
    for (int j = 0; j < 16; j += 2)
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]), t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    for (int q = 0; q < 16; q += 4) { // u[q + m], lane L: column 4L + m of rows q..q+3
        u[q] = _mm512_shuffle_ps(t[q], t[q + 2], 0x44), u[q + 1] = _mm512_shuffle_ps(t[q], t[q + 2], 0xEE);
        u[q + 2] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0x44), u[q + 3] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
    }
    for (int m = 0; m < 4; m++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88), v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88);
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);
        _mm512_storeu_ps(out + (size_t)m * ldo, _mm512_shuffle_f32x4(v0, v2, 0x88));
        _mm512_storeu_ps(out + (size_t)(4 + m) * ldo, _mm512_shuffle_f32x4(v1, v3, 0x88));
        _mm512_storeu_ps(out + (size_t)(8 + m) * ldo, _mm512_shuffle_f32x4(v0, v2, 0xDD));
        _mm512_storeu_ps(out + (size_t)(12 + m) * ldo, _mm512_shuffle_f32x4(v1, v3, 0xDD));
    }
}
#endif

// wt (k, n) = rows o..o+n-1, inputs c0..c0+k-1 of w, transposed and as float32 (bf16 widens
// exactly: without AVX512_BF16, bf16 prefill runs the float32 tile on its rounded inputs). n is a
// multiple of 16.
static void pack_panel(float *wt, const MatmulJob *j, int o, int n, int c0, int k) {
    const int bf16 = j->w->type == GPT2_BF16;
    const int p0 = USE_AVX512 ? k / 16 * 16 : 0; // inputs before p0 go in 16 x 16 blocks
#if USE_AVX512 // 16 x 16 blocks through registers: 16 loads and 64 shuffles instead of 256 loads
    // 16 rows at a time, each from front to back: 16 streams from memory that the prefetcher
    // follows, where all n rows at once were too many (prefill: 15% less time packing, perf)
    for (int b0 = 0; b0 < n; b0 += 16)
        for (int p = 0; p < p0; p += 16) {
            __m512 r[16];
            for (int b = 0; b < 16; b++) r[b] = load16(j->w->data, bf16, (size_t)(o + b0 + b) * j->C + c0 + p, 0xffff);
            transpose16(wt + (size_t)p * n + b0, (size_t)n, r);
        }
#endif
    for (int b = 0; b < n; b++) {
        size_t off = (size_t)(o + b) * j->C + c0;
        if (!bf16)
            for (int p = p0; p < k; p++) wt[p * n + b] = ((const float *)j->w->data)[off + p];
        else
            for (int p = p0; p < k; p++) wt[p * n + b] = bf16_to_f32(((const uint16_t *)j->w->data)[off + p]);
    }
}

// The next panel's weights (rows of `bytes` bytes, ld apart) prefetched into L2, spread over the
// tiles that run on the current one (a share at each call): packing waited on memory for them, as
// each row is a short stream that the hardware prefetcher barely starts.
typedef struct {
    const char *p;
    size_t ld, bytes, rows, tiles, line; // line: the next to prefetch
} Prefetch;
static void prefetch_some(Prefetch *f) {
    const size_t lpr = (f->bytes + 127) / 64, lines = f->rows * lpr; // (+1: a row need not start a line)
    const size_t end = f->line + (f->tiles ? (lines + f->tiles - 1) / f->tiles : lines);
    for (; f->line < end && f->line < lines; f->line++)
        __builtin_prefetch(f->p + f->line / lpr * f->ld + f->line % lpr * 64, 0, 2);
}

// The tiled part of a block: tokens 0..tT-1 by outputs o0..oT-1. Partial sums over each TILE_K
// slice of the inputs (TILE_K pairs of them in the bf16 pair view) accumulate in out (OUT_ADD starts
// from the residual already there); the last slice's tiles add the bias before they store. The last
// tT % tt tokens run as one more tile, padded (tt: TILE_T tokens, or AMX_T for the AMX tile).
static void matmul_tiles(const MatmulJob *j, int tT, int o0, int oT) {
#if USE_BF16DP
    // bf16 inputs in pairs (xb): the matrix read as (OC, C/2) pairs and xb as (T, C/2), each pair
    // one 32-bit unit that packs and streams as a float32 does, for tile_bf16_6x64.
    GPT2Matrix wp;
    MatmulJob jp;
    if (j->xb) {
        wp = *j->w, wp.type = GPT2_F32, wp.cols /= 2;
        jp = *j, jp.w = &wp, jp.inp = (const float *)j->xb, jp.C /= 2;
        j = &jp;
    }
#endif
    int tt = TILE_T; // tokens per tile
#if USE_AMX
    if (j->amx) tt = AMX_T, amx_begin();
#endif
    const int C = j->C, OC = j->OC, full = tT / tt * tt, rest = tT - full;
    // on cache lines: a vector or a tile row that straddles two lines costs two loads
    _Alignas(64) float wt[TILE_K * TILE_O * TILE_WIDE];
    _Alignas(64) float xpad[TILE_T_MAX * TILE_K], opad[TILE_T_MAX * TILE_O * TILE_WIDE]; // the last rest < tt
    if (rest) { // padding rows start as zeros, never NaNs left in the stack (they then hold only finite sums, dropped)
        memset(xpad, 0, (size_t)tt * TILE_K * sizeof(float));
        memset(opad, 0, (size_t)tt * TILE_O * TILE_WIDE * sizeof(float));
    }
    for (int c0 = 0; c0 < C; c0 += TILE_K) {
        int k = C - c0 < TILE_K ? C - c0 : TILE_K, load = c0 > 0 || j->epi == OUT_ADD, last = c0 + k == C;
        for (int t = 0; t < rest; t++) memcpy(xpad + t * k, j->inp + (size_t)(full + t) * C + c0, k * sizeof(float));
        for (int o = o0, n; o < oT; o += n) {
            // 64 outputs at once with AVX-512 where they fit, else 16
            void (*tile)(float *, int, const float *, int, const float *, int, int, int, const float *) = tile_6x16;
            n = TILE_O;
#if USE_AVX512
            if (oT - o >= TILE_WIDE * TILE_O) tile = tile_6x64, n = TILE_WIDE * TILE_O;
#endif
#if USE_BF16DP
            if (j->xb) tile = tile_bf16_6x64, n = TILE_WIDE * TILE_O; // (matmul_task gives it whole tiles)
#endif
#if USE_AMX
            if (j->amx) tile = amx_bf16_32x64;
#endif
            pack_panel(wt, j, o, n, c0, k);
            const float *bias = last && j->bias ? j->bias + o : NULL;
            // the next panel (after the slice's last, the next slice's first), prefetched while the
            // tiles run
            const int no = o + n < oT ? o + n : o0, nc = o + n < oT ? c0 : c0 + TILE_K;
            const size_t esize = j->w->type == GPT2_BF16 ? 2 : 4;
            Prefetch pf = {.p = (const char *)j->w->data + ((size_t)no * C + nc) * esize, .ld = C * esize,
                           .bytes = nc < C ? (C - nc < TILE_K ? C - nc : TILE_K) * esize : 0,
                           .rows = oT - no < TILE_WIDE * TILE_O ? oT - no : TILE_WIDE * TILE_O, .tiles = full / tt};
            for (int t = 0; t < full; t += tt) {
                prefetch_some(&pf);
                float *out = j->out + (size_t)t * OC + o;
                tile(out, OC, j->inp + (size_t)t * C + c0, C, wt, n, k, load, bias);
            }
            if (rest == 0) continue;
            // the last tokens as a whole tile through opad, padded with rows whose sums are dropped
            float *out = j->out + (size_t)full * OC + o;
            for (int t = 0; t < rest && load; t++) memcpy(opad + t * n, out + (size_t)t * OC, n * sizeof(float));
            tile(opad, n, xpad, k, wt, n, k, load, bias);
            for (int t = 0; t < rest; t++) memcpy(out + (size_t)t * OC, opad + t * n, n * sizeof(float));
        }
    }
#if USE_AMX
    if (j->amx) _tile_release();
#endif
}
#endif

// The int8 prefill tile: on x86 with AVX2, and on arm64 with the dot product instructions. On x86
// without VNNI it multiplies int16: quantize_input widens its input.
#define Q8_TILES ((USE_AVX2 || USE_DOTPROD) && GPT2_Q8_GROUP == 32)
#define Q8_INT16 (Q8_TILES && USE_AVX2 && !USE_VNNI)
#define Q8_MIN_T 32 // fewer tokens do not pay for readying the weights

#if Q8_TILES
// int8 prefill at the rate of the hardware's int8 instructions: each lane of a vector is one output,
// and each step adds Q8_S products of int8 to it, so a group's 32 products are summed exactly in
// int32 and its float
// work (one FMA with the two scales' product) is done once per group and output, not once per 4
// products as in dot_q8. The same maths as dot_q8 (the same exact group sums times the same scale
// products), summed over the groups in order rather than in dot_q8's lanes: prefill's bits differ
// from decode's in the last places, as float32's do (and are the same in every 256-bit x86 tile
// and arm64's, whose tiles have the same tokens).
// With VNNI a step is one dpbusd of 4 products. It multiplies unsigned by signed bytes: the weights
// are taken as w + 128 (their sign bit flipped), and each group's sum starts from -128 times its
// activations' sum (xg), which takes the excess back out, exactly. With AVX2 alone a step is one
// madd of 2 products of int16 (the int8 values widened; its int32 pair sums are exact), plus an add.
// On arm64 a step is one sdot, signed by signed bytes.
// Register tile: Q8_T tokens by Q8_O outputs, two vectors of Q8_L lanes: on 512-bit vectors
// (AVX-512 VNNI) 4 x 32, 16 of the 32 registers; on 256-bit ones 3 x 16, 12 of the 16 (beside the
// weights, a token's inputs and, for madd, its products); on NEON's 128-bit ones 3 x 8.
// The tokens past the last whole tile (T mod Q8_T) and outputs past the last whole panel take
// dot_q8, so an int8 prefill's last bits depend on T (float32's do not once T >= TILE_T, as
// matmul_tiles pads its last tile). The vector macros below
// (vi_ for int32, vf_ for float) end with q8_tiles.
#if USE_VNNI512
#define Q8_L 16
#define Q8_T 4
typedef __m512i VI;
typedef __m512 VF;
#define vi_set1 _mm512_set1_epi32
#define vi_load(p) _mm512_loadu_si512(p)
#define vi_dot _mm512_dpbusd_epi32
#define Q8_S 4
#define vf_zero _mm512_setzero_ps
#define vf_set1 _mm512_set1_ps
#define vf_load _mm512_loadu_ps
#define vf_store _mm512_storeu_ps
#define vf_add _mm512_add_ps
#define vf_mul _mm512_mul_ps
#define vf_fmadd _mm512_fmadd_ps
#define vf_from_vi _mm512_cvtepi32_ps
#elif USE_DOTPROD
#define Q8_L 4
#define Q8_T 3 // (as AVX2's: the same tokens take dot_q8, so arm64's bits are x86's where the outputs
               // are a multiple of 16, as GPT-2's)
typedef int32x4_t VI;
typedef float32x4_t VF;
#define vi_set1 vdupq_n_s32
#define vi_load(p) vld1q_s32((const int32_t *)(const void *)(p))
#define vi_dot(s, w, x) vdotq_s32(s, vreinterpretq_s8_s32(w), vreinterpretq_s8_s32(x))
#define Q8_S 4
#define vf_zero() vdupq_n_f32(0.0f)
#define vf_set1 vdupq_n_f32
#define vf_load vld1q_f32
#define vf_store vst1q_f32
#define vf_add vaddq_f32
#define vf_mul vmulq_f32
#define vf_fmadd(a, b, c) vfmaq_f32(c, a, b)
#define vf_from_vi vcvtq_f32_s32
#else
#define Q8_L 8
#define Q8_T 3
typedef __m256i VI;
typedef __m256 VF;
#define vi_set1 _mm256_set1_epi32
#define vi_load(p) _mm256_loadu_si256((const __m256i *)(p))
#if USE_VNNI
#define vi_dot dpbusd256
#define Q8_S 4
#else
#define vi_dot(s, w, x) _mm256_add_epi32(s, _mm256_madd_epi16(w, x))
#define Q8_S 2
#endif
#define vf_zero _mm256_setzero_ps
#define vf_set1 _mm256_set1_ps
#define vf_load _mm256_loadu_ps
#define vf_store _mm256_storeu_ps
#define vf_add _mm256_add_ps
#define vf_mul _mm256_mul_ps
#define vf_fmadd _mm256_fmadd_ps
#define vf_from_vi _mm256_cvtepi32_ps
#endif
#define Q8_O (2 * Q8_L)
#define Q8_STEP (Q8_O * 4) // bytes of the panel per step: a 32-bit unit (Q8_S weights) per output
#define Q8_STEPS (GPT2_Q8_GROUP / Q8_S) // steps per group
#define Q8_XBYTES (4 / Q8_S)            // bytes of an activation in q8_tile's input: int8, or int16
// Inputs per panel: 768 (a panel of 24 KB with 512-bit vectors, in L1 beside the tokens' inputs)
// rather than TILE_K's 384, whose twice as many passes over out made the matmul 9% slower. The same
// for int16 weights, whose panel is twice as large (384 ran no faster), so that every tile adds the
// same partial sums in the same order.
#define Q8_K 768

// out (Q8_T, Q8_O) = (load ? out : 0) + the groups g < G of x (Q8_T tokens ldx bytes apart, int8,
// or int16 with Q8_INT16; their scales xs and corrections xg ldg apart) times the panel: wu (G,
// Q8_STEPS, 2, Q8_L, 4 bytes) the weights of step d of group g of output Q8_L z + lane (q8_pack's);
// sw (G, 2, Q8_L) their scales as float; then + bias (Q8_O), unless NULL (after the last panel,
// while out is in L1).
static void q8_tile(float *out, int ldo, const void *x, size_t ldx, const float *xs, const int32_t *xg, int ldg,
                    const uint8_t *wu, const float *sw, int G, int load, const float *bias) {
    VF f[Q8_T][2];
    for (int t = 0; t < Q8_T; t++) f[t][0] = f[t][1] = vf_zero();
    for (int g = 0; g < G; g++) {
        // The group's exact sums, starting (with VNNI) from xg = -128 times its activations' sum,
        // which takes out the 128 added to every weight.
        VI s[Q8_T][2];
        for (int t = 0; t < Q8_T; t++) s[t][0] = s[t][1] = vi_set1(USE_VNNI ? xg[(size_t)t * ldg + g] : 0);
        for (int d = 0; d < Q8_STEPS; d++) {
            const uint8_t *wd = wu + (size_t)(g * Q8_STEPS + d) * Q8_STEP;
            VI w0 = vi_load(wd), w1 = vi_load(wd + Q8_STEP / 2);
            KEEP_IN_REGISTER(w0);
            KEEP_IN_REGISTER(w1);
            for (int t = 0; t < Q8_T; t++) {
                int32_t unit; // the token's Q8_S activations of this step, in every lane
                memcpy(&unit, (const char *)x + t * ldx + (GPT2_Q8_GROUP * g + Q8_S * d) * Q8_XBYTES, sizeof(unit));
                VI xv = vi_set1(unit);
                s[t][0] = vi_dot(s[t][0], w0, xv);
                s[t][1] = vi_dot(s[t][1], w1, xv);
            }
        }
        for (int t = 0; t < Q8_T; t++) {
            VF xsc = vf_set1(xs[(size_t)t * ldg + g]);
            for (int z = 0; z < 2; z++)
                f[t][z] = vf_fmadd(vf_from_vi(s[t][z]), vf_mul(vf_load(sw + (g * 2 + z) * Q8_L), xsc), f[t][z]);
        }
    }
    for (int t = 0; t < Q8_T; t++)
        for (int z = 0; z < 2; z++) {
            float *o = out + (size_t)t * ldo + Q8_L * z;
            VF v = load ? vf_add(f[t][z], vf_load(o)) : f[t][z];
            vf_store(o, bias ? vf_add(v, vf_load(bias + Q8_L * z)) : v);
        }
}

// The panel's weights: rows 0..Q8_O-1 of w (ldw bytes apart), `steps` steps of Q8_S inputs, as
// q8_tile reads them: step s of row b is 32-bit unit s Q8_O + b of wu: with VNNI 4 bytes each plus
// 128 (the sign bit flipped), on arm64 4 bytes as they are, on AVX2 alone 2 int16. A transpose of
// 32-bit units, 16 x 16 at a time in registers with AVX-512.
static void q8_pack(uint8_t *wu, const int8_t *w, int ldw, int steps) {
    int s0 = 0;
#if USE_VNNI512
    s0 = steps / 16 * 16;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (int b0 = 0; b0 < Q8_O; b0 += 16)
        for (int s = 0; s < s0; s += 16) {
            __m512 r[16];
            for (int b = 0; b < 16; b++)
                r[b] = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_loadu_si512(w + (size_t)(b0 + b) * ldw + 4 * s), flip));
            transpose16((float *)(void *)(wu + ((size_t)s * Q8_O + b0) * 4), Q8_O, r);
        }
#endif
    for (int b = 0; b < Q8_O; b++)
        for (int s = s0; s < steps; s++) {
            uint32_t u;
#if USE_VNNI
            memcpy(&u, w + (size_t)b * ldw + 4 * s, 4);
            u ^= 0x80808080u;
#elif USE_DOTPROD
            memcpy(&u, w + (size_t)b * ldw + 4 * s, 4);
#else
            const int8_t *p = w + (size_t)b * ldw + 2 * s;
            u = (uint16_t)(int16_t)p[0] | (uint32_t)(uint16_t)(int16_t)p[1] << 16;
#endif
            memcpy(wu + ((size_t)s * Q8_O + b) * 4, &u, 4);
        }
}

// Tokens 0..tT-1 (a multiple of Q8_T) by outputs o0..oT-1 (oT - o0 a multiple of Q8_O), Q8_K
// inputs (a multiple of the group) at a time: each panel of Q8_O outputs made ready for q8_tile
// once, then every token tile against it; the bias added by the last panel's tiles.
static void q8_tiles(const MatmulJob *j, int tT, int o0, int oT) {
    const int C = j->C, OC = j->OC, GC = C / GPT2_Q8_GROUP;
    enum { GK = Q8_K / GPT2_Q8_GROUP }; // groups per panel
    uint8_t wu[GK * Q8_STEPS * Q8_STEP]; // (G, Q8_STEPS, 2, Q8_L, 4), q8_tile's
    float sw[GK * Q8_O];          // (G, 2, Q8_L)
    const int8_t *w = j->w->data;
    for (int c0 = 0; c0 < C; c0 += Q8_K) {
        int G = (C - c0 < Q8_K ? C - c0 : Q8_K) / GPT2_Q8_GROUP, g0 = c0 / GPT2_Q8_GROUP;
        for (int o = o0; o < oT; o += Q8_O) {
            q8_pack(wu, w + (size_t)o * C + c0, C, G * Q8_STEPS);
            for (int b = 0; b < Q8_O; b++)
                for (int g = 0; g < G; g++) // output b is lane b % Q8_L of vector b / Q8_L
                    sw[(g * 2 + b / Q8_L) * Q8_L + b % Q8_L] = f16_to_f32(j->w->scale[(size_t)(o + b) * GC + g0 + g]);
            const float *bias = j->bias && c0 + Q8_K >= C ? j->bias + o : NULL;
            const int no = o + Q8_O < oT ? o + Q8_O : o0, nc = o + Q8_O < oT ? c0 : c0 + Q8_K;
            Prefetch pf = {.p = (const char *)(w + (size_t)no * C + nc), .ld = C,
                           .bytes = nc < C ? (C - nc < Q8_K ? C - nc : Q8_K) : 0, .rows = Q8_O, .tiles = tT / Q8_T};
            for (int t = 0; t < tT; t += Q8_T) { // (xg is read with VNNI only; x16 lies where it would be)
                prefetch_some(&pf);
                q8_tile(j->out + (size_t)t * OC + o, OC,
                        Q8_INT16 ? (const void *)(j->x16 + (size_t)t * C + c0) : j->xq + (size_t)t * C + c0,
                        (size_t)C * Q8_XBYTES, j->xqs + (size_t)t * GC + g0,
                        j->xg + (size_t)t * GC + g0, GC, wu, sw, G, c0 > 0 || j->epi == OUT_ADD, bias);
            }
        }
    }
}
#undef Q8_STEP
#undef vi_set1
#undef vi_load
#undef vi_dot
#undef vf_zero
#undef vf_set1
#undef vf_load
#undef vf_store
#undef vf_add
#undef vf_mul
#undef vf_fmadd
#undef vf_from_vi
#endif

#if USE_TILES
// The tiled part of a block, outputs o0..o1-1: the whole tiles of tt tokens by to outputs through
// `tiles`, the block's other outputs of those tokens one at a time. Returns the tokens covered.
static int matmul_tiled(const MatmulJob *j, void (*tiles)(const MatmulJob *, int, int, int), int tt, int to,
                        int o0, int o1) {
    int oT = o0 + (o1 - o0) / to * to, tT = j->T / tt * tt;
    tiles(j, tT, o0, oT);
    for (int t = 0; t < tT; t++)
        for (int o = oT; o < o1; o++) finish(j->out + (size_t)t * j->OC + o, matmul_one(j, t, o), j->epi);
    return tT;
}
#endif

// A block of output rows for all T tokens. The block's weights stay in cache while the tokens
// stream past them, so each weight is read from memory once per matmul, not once per token.
static void matmul_task(void *ctx, int i) {
    const MatmulJob *j = ctx;
    int big = i < j->n_big, rows = big ? j->big : j->small, end = big ? j->split : j->OC;
    int o0 = big ? i * j->big : j->split + (i - j->n_big) * j->small, o1 = o0 + rows < end ? o0 + rows : end;
    int t = 0;
#if Q8_TILES
    if (j->T >= Q8_MIN_T && j->w->type == GPT2_Q8)
        t = matmul_tiled(j, q8_tiles, Q8_T, Q8_O, o0, o1);
#endif
#if USE_TILES
    if (j->T >= TILE_T && j->w->type != GPT2_Q8) // every token: matmul_tiles pads the last tile itself
        t = matmul_tiled(j, matmul_tiles, 1, j->xb ? TILE_WIDE * TILE_O : TILE_O, o0, o1);
#endif
    for (; t < j->T; t++)
        for (int o = o0; o < o1; o++) finish(j->out + (size_t)t * j->OC + o, matmul_one(j, t, o), j->epi);
    if (j->epi == OUT_GELU)
        for (t = 0; t < j->T; t++) gelu_inplace(j->out + (size_t)t * j->OC + o0, o1 - o0);
}

// xq's layout: for int8, the int8 rows (T, C), then xc (T, C/4) and xg (T, C/G) as int32 (with
// Q8_INT16, in their place, x16 (T, C): the rows as int16); for bf16 prefill, the inputs in pairs
// (T, C/2) as uint32 (round_to_bf16).
size_t gpt2_q8_scratch(int T, int C) {
    size_t q8 = (size_t)T * C + (Q8_INT16 ? (size_t)T * C * sizeof(int16_t)
                                          : ((size_t)T * (C / 4) + (size_t)T * (C / GPT2_Q8_GROUP)) * sizeof(int32_t));
    size_t pairs = (size_t)T * (C / 2) * sizeof(uint32_t);
    return q8 > pairs ? q8 : pairs;
}

#define INPUT_ROWS 16 // rows per task of readying a matmul's input (int8, or bf16 below)
typedef struct {
    int8_t *xq;
    float *xqs;
    int32_t *xc, *xg;
    int16_t *x16;
    const float *inp;
    int T, C;
} QuantizeJob;
static void quantize_task(void *ctx, int task) {
    const QuantizeJob *j = ctx;
    const int C = j->C;
    for (int t = task * INPUT_ROWS; t < j->T && t < (task + 1) * INPUT_ROWS; t++) {
        int8_t *x = j->xq + (size_t)t * C;
        gpt2_quantize_row(x, j->xqs + (size_t)t * (C / GPT2_Q8_GROUP), j->inp + (size_t)t * C, C);
        if (Q8_INT16 && j->T >= Q8_MIN_T) // (only the tile reads them)
            for (int i = 0; i < C; i++) j->x16[(size_t)t * C + i] = x[i];
        if (!USE_VNNI) continue;
        int32_t *c = j->xc + (size_t)t * (C / 4);
        for (int l = 0; l < C / 4; l++) c[l] = -128 * (x[4 * l] + x[4 * l + 1] + x[4 * l + 2] + x[4 * l + 3]);
        for (int g = 0; g < C / GPT2_Q8_GROUP; g++) {
            int32_t sum = 0;
            for (int l = 0; l < GPT2_Q8_GROUP / 4; l++) sum += c[g * (GPT2_Q8_GROUP / 4) + l];
            j->xg[(size_t)t * (C / GPT2_Q8_GROUP) + g] = sum;
        }
    }
}
// The int8 input in its scratch (gpt2_q8_scratch): inp (T, C) quantized to xq (T, C) with scales xqs
// (T, C/G); then, for VNNI, *xc (T, C/4) = -128 times the sum of each 4 consecutive activations
// (what q8_group adds by treating each weight w as the unsigned w + 128, taken back out), and *xg
// (T, C/G) the same per group (q8_tile's); or with Q8_INT16, *x16 (T, C) the int8 rows as int16. C
// is a multiple of GPT2_Q8_GROUP.
static void quantize_input(GPT2Pool *pool, int8_t *xq, float *xqs, const float *inp, int T, int C,
                           const int32_t **xcp, const int32_t **xgp, const int16_t **x16p) {
    int32_t *xc = (int32_t *)(void *)(xq + (size_t)T * C), *xg = xc + (size_t)T * (C / 4);
    int16_t *x16 = (int16_t *)(void *)(xq + (size_t)T * C);
    QuantizeJob j = {.xq = xq, .xqs = xqs, .xc = xc, .xg = xg, .x16 = x16, .inp = inp, .T = T, .C = C};
    *xcp = xc, *xgp = xg, *x16p = x16;
    gpt2_pool_for(pool, (T + INPUT_ROWS - 1) / INPUT_ROWS, quantize_task, &j, 4.0 * T * C);
}

// A bf16 matrix's input x (T, C) rounded to bf16 values in place, and (xb, C even) also written as
// pairs (T, C/2) for tile_bf16_6x64: x[2i] in the low half of xb[i], the order dpbf16ps reads.
typedef struct {
    float *x;
    uint32_t *xb; // or NULL
    int T, C;
} RoundJob;
static void round_task(void *ctx, int task) {
    const RoundJob *j = ctx;
    int t0 = task * INPUT_ROWS, t1 = t0 + INPUT_ROWS < j->T ? t0 + INPUT_ROWS : j->T;
    float *x = j->x + (size_t)t0 * j->C;
    size_t n = (size_t)(t1 - t0) * j->C;
    for (size_t i = 0; i < n; i++) x[i] = bf16_to_f32(f32_to_bf16(x[i]));
    if (!j->xb) return;
    uint32_t *xb = j->xb + (size_t)t0 * j->C / 2;
    for (size_t i = 0; i < n / 2; i++) {
        uint32_t lo, hi;
        memcpy(&lo, x + 2 * i, 4), memcpy(&hi, x + 2 * i + 1, 4);
        xb[i] = (hi & 0xffff0000u) | lo >> 16;
    }
}
static void round_to_bf16(GPT2Pool *pool, float *x, uint32_t *xb, int T, int C) {
    RoundJob j = {.x = x, .xb = xb, .T = T, .C = C};
    gpt2_pool_for(pool, (T + INPUT_ROWS - 1) / INPUT_ROWS, round_task, &j, 2.0 * T * C);
}

// Rows per prefill task: a multiple of the register tiles' outputs that fits in L2 (64 rows of 4C
// float32 inputs are 768 KB).
#define PREFILL_ROWS (USE_AVX512 ? 64 : 48)

// n rounded up to a multiple of 16, at least 16.
static int round16(int n) { return n < 16 ? 16 : (n + 15) / 16 * 16; }

void gpt2_matmul(GPT2Pool *pool, float *out, float *inp, const GPT2Matrix *w, const float *bias, int T,
                 Epilogue epi, int8_t *xq, float *xqs) {
    const int C = w->cols, OC = w->rows;
    const int32_t *xc = NULL, *xg = NULL;
    const int16_t *x16 = NULL;
    uint32_t *xb = NULL;
    if (w->type == GPT2_Q8) quantize_input(pool, xq, xqs, inp, T, C, &xc, &xg, &x16);
    if (w->type == GPT2_BF16) {
        // prefill by pairs where dpbf16ps is; C % 32 == 0 makes every slice of pairs whole 16 x 16
        // blocks for pack_panel, which never reaches its scalar tail (float loads of bf16 storage),
        // and whole steps of 16 pairs for amx_bf16_32x64
        if (USE_BF16DP && T >= TILE_T && C % 32 == 0) xb = (uint32_t *)(void *)xq;
        round_to_bf16(pool, inp, xb, T, C);
    }
    int amx = USE_AMX && xb && gpt2_pool_amx(pool);
    // Prefill: blocks of PREFILL_ROWS rows.
    // Decode (T = 1) streams the rows from memory, and each task starts a new stream that the
    // prefetcher needs a while to pick up, so tasks should be few and long; but a thread that
    // finishes early waits for the others, so the last ones should be short. So: three quarters of
    // the rows in two tasks per thread, the last quarter in two more (multiples of 16 rows). The
    // blocks depend only on OC and the thread count, never on which thread runs what.
    MatmulJob j = {.out = out, .inp = inp, .xq = xq, .xqs = xqs, .xc = xc, .xg = xg, .x16 = x16, .xb = xb, .amx = amx,
                   .w = w, .bias = bias, .T = T, .C = C, .OC = OC, .epi = epi,
                   .big = PREFILL_ROWS, .split = OC, .small = PREFILL_ROWS};
    if (T == 1) {
        int t = gpt2_pool_threads(pool);
        j.big = round16((3 * OC + 8 * t - 1) / (8 * t));
        j.split = OC < 2 * t * j.big ? OC : 2 * t * j.big;
        j.small = round16((OC - j.split + 2 * t - 1) / (2 * t));
    }
    j.n_big = (j.split + j.big - 1) / j.big;
    gpt2_pool_for(pool, j.n_big + (OC - j.split + j.small - 1) / j.small, matmul_task, &j, (double)T * C * OC);
}

void gpt2_matmul_naive(float *out, const float *inp, const GPT2Matrix *w, const float *bias, int T, Epilogue epi) {
    const int C = w->cols, OC = w->rows;
    for (int t = 0; t < T; t++)
        for (int o = 0; o < OC; o++) {
            double sum = bias ? bias[o] : 0.0;
            size_t wo = (size_t)o * C;
            for (int c = 0; c < C; c++) {
                float wv = w->type == GPT2_F32    ? ((const float *)w->data)[wo + c]
                           : w->type == GPT2_BF16 ? bf16_to_f32(((const uint16_t *)w->data)[wo + c])
                                                  : ((const int8_t *)w->data)[wo + c] * f16_to_f32(w->scale[(wo + c) / GPT2_Q8_GROUP]);
                float xv = inp[(size_t)t * C + c];
                if (w->type == GPT2_BF16) xv = bf16_to_f32(f32_to_bf16(xv));
                sum += (double)wv * xv;
            }
            float *y = out + (size_t)t * OC + o;
            *y = epi == OUT_GELU ? gpt2_gelu((float)sum) : epi == OUT_ADD ? *y + (float)sum : (float)sum;
        }
}

// ----------------------------------------------------------------------------------------------
// LayerNorm and attention.

// Each row x (C): mean = sum(x) / C, var = sum((x - mean)^2) / C, y = (x - mean) / sqrt(var + 1e-5)
// * w + b. The sums are in double, in NORM_CHAINS independent sums (which the compiler turns into
// vectors) rather than one chain that waits on every add: five times faster.
#define NORM_CHAINS 8
static void layernorm_rows(float *out, const float *inp, const float *w, const float *b, int T, int C) {
    for (int t = 0; t < T; t++) {
        const float *x = inp + (size_t)t * C;
        float *y = out + (size_t)t * C;
        double s[NORM_CHAINS] = {0}, v[NORM_CHAINS] = {0}, mean = 0.0, var = 0.0;
        int i = 0;
        for (; i + NORM_CHAINS <= C; i += NORM_CHAINS)
            for (int q = 0; q < NORM_CHAINS; q++) s[q] += x[i + q];
        for (int q = 0; q < NORM_CHAINS; q++) mean += s[q];
        for (; i < C; i++) mean += x[i];
        mean /= C;
        for (i = 0; i + NORM_CHAINS <= C; i += NORM_CHAINS)
            for (int q = 0; q < NORM_CHAINS; q++) v[q] += (x[i + q] - mean) * (x[i + q] - mean);
        for (int q = 0; q < NORM_CHAINS; q++) var += v[q];
        for (; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= C;
        float m = (float)mean, rstd = (float)(1.0 / sqrt(var + 1e-5));
        for (i = 0; i < C; i++) y[i] = (x[i] - m) * rstd * w[i] + b[i];
    }
}

typedef struct {
    float *out;
    const float *inp, *w, *b;
    int T, C;
} NormJob;

#define NORM_ROWS 16 // rows per task

static void layernorm_task(void *ctx, int i) {
    const NormJob *j = ctx;
    int t0 = i * NORM_ROWS, n = j->T - t0 < NORM_ROWS ? j->T - t0 : NORM_ROWS;
    layernorm_rows(j->out + (size_t)t0 * j->C, j->inp + (size_t)t0 * j->C, j->w, j->b, n, j->C);
}

void gpt2_layernorm(GPT2Pool *pool, float *out, const float *inp, const float *w, const float *b, int T, int C) {
    NormJob j = {.out = out, .inp = inp, .w = w, .b = b, .T = T, .C = C};
    gpt2_pool_for(pool, (T + NORM_ROWS - 1) / NORM_ROWS, layernorm_task, &j, 3.0 * T * C);
}

// The plain attention, the maths in the most direct form: for each query of each head, its scores
// against every key it may see, their softmax, and the weighted sum of the values.
void gpt2_attention_naive(float *out, const float *q, int ldq, const float *kcache, const float *vcache,
                          float *scores, int T, int pos, int C, int NH, int maxT) {
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    for (int h = 0; h < NH; h++) {
        const float *K = kcache + (size_t)h * maxT * hs, *V = vcache + (size_t)h * maxT * hs; // (maxT, hs)
        for (int t = 0; t < T; t++) {
            const float *qt = q + (size_t)t * ldq + h * hs; // (hs)
            int n = pos + t + 1;                             // causal: keys 0..pos+t
            float max = -INFINITY, sum = 0.0f;
            for (int k = 0; k < n; k++) { // scores (n) = q · K^T / sqrt(hs)
                float s = 0.0f;
                for (int i = 0; i < hs; i++) s += qt[i] * K[(size_t)k * hs + i];
                scores[k] = s * scale;
                max = scores[k] > max ? scores[k] : max;
            }
            for (int k = 0; k < n; k++) sum += scores[k] = expf(scores[k] - max); // softmax, shifted by the max
            float *o = out + (size_t)t * C + h * hs; // (hs) = softmax(scores) · V
            for (int i = 0; i < hs; i++) {
                float v = 0.0f;
                for (int k = 0; k < n; k++) v += scores[k] * V[(size_t)k * hs + i];
                o[i] = v / sum;
            }
        }
    }
}

// The fast attention computes the same, threads over heads. Decode (one query) streams each head's
// keys and values once; prefill scores six queries at once against keys packed for the register tile.
typedef struct {
    float *out;
    const float *q, *kcache, *vcache;
    float *scores; // (NH, ATTENTION_ROWS, ld)
    float *keys;   // (NH, hs, ld) keys packed for the register tile
    int ldq, T, pos, C, NH, maxT;
} AttentionJob;

#define ATTENTION_ROWS 6 // queries scored at once in prefill (the register tile's TILE_T)

// Keys scored at once by prefill's attention tile: tile_6x64 with AVX-512, else tile_6x16. The rows of
// the scores scratch are maxT rounded up to whole tiles.
#if USE_AVX512
#define KEY_TILE (TILE_WIDE * TILE_O)
#define KEY_TILE_FN tile_6x64
#else
#define KEY_TILE 16
#define KEY_TILE_FN tile_6x16
#endif
static int scores_ld(int maxT) { return (maxT + KEY_TILE - 1) / KEY_TILE * KEY_TILE; }

size_t gpt2_attention_scratch(int C, int NH, int maxT) {
    return ((size_t)NH * ATTENTION_ROWS + C) * scores_ld(maxT);
}

// s[k] = exp(s[k] - max) for k < n; returns the sum.
static float exp_shifted(float *s, int n, float max) {
    int k = 0;
    float sum = 0.0f;
#if USE_AVX2
    __m256 acc = _mm256_setzero_ps(), m = _mm256_set1_ps(max);
#if USE_AVX512 // the same sums: the 16 values' two halves added to acc one after the other
    const __m512 m16 = _mm512_set1_ps(max);
    for (; k + 16 <= n; k += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + k), m16));
        _mm512_storeu_ps(s + k, e);
        acc = _mm256_add_ps(_mm256_add_ps(acc, _mm512_castps512_ps256(e)), _mm512_extractf32x8_ps(e, 1));
    }
#endif
    for (; k + 8 <= n; k += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + k), m));
        _mm256_storeu_ps(s + k, e);
        acc = _mm256_add_ps(acc, e);
    }
    sum = hsum8(acc);
#elif USE_NEON
    F32x8 acc = zero8();
    float32x4_t m = vdupq_n_f32(max);
    for (; k + 8 <= n; k += 8) {
        F32x8 e = {exp4(vsubq_f32(vld1q_f32(s + k), m)), exp4(vsubq_f32(vld1q_f32(s + k + 4), m))};
        store8(s + k, e);
        acc = add8(acc, e);
    }
    sum = hsum8(acc);
#endif
    for (; k < n; k++) sum += (s[k] = expf(s[k] - max));
    return sum;
}

// o (hs) = sum over k < n of p[k] * norm * v (n, hs)[k]: the softmax weights p, not yet divided by
// their sum, times norm = 1 / sum.
static void weighted_sum(float *o, const float *p, float norm, const float *v, int n, int hs) {
    int i0 = 0;
#if USE_AVX2
    // 32 outputs at a time held in four registers while the rows of v stream past
    for (; i0 + 32 <= hs; i0 += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < n; k++) {
            const float *vk = v + (size_t)k * hs + i0;
            __m256 pk = _mm256_set1_ps(p[k] * norm);
            a0 = _mm256_fmadd_ps(pk, _mm256_loadu_ps(vk), a0);
            a1 = _mm256_fmadd_ps(pk, _mm256_loadu_ps(vk + 8), a1);
            a2 = _mm256_fmadd_ps(pk, _mm256_loadu_ps(vk + 16), a2);
            a3 = _mm256_fmadd_ps(pk, _mm256_loadu_ps(vk + 24), a3);
        }
        _mm256_storeu_ps(o + i0, a0), _mm256_storeu_ps(o + i0 + 8, a1);
        _mm256_storeu_ps(o + i0 + 16, a2), _mm256_storeu_ps(o + i0 + 24, a3);
    }
#elif USE_NEON
    for (; i0 + 32 <= hs; i0 += 32) {
        F32x8 a0 = zero8(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < n; k++) {
            const float *vk = v + (size_t)k * hs + i0;
            float pk = p[k] * norm;
            a0 = fma8_n(a0, load8(vk), pk);
            a1 = fma8_n(a1, load8(vk + 8), pk);
            a2 = fma8_n(a2, load8(vk + 16), pk);
            a3 = fma8_n(a3, load8(vk + 24), pk);
        }
        store8(o + i0, a0), store8(o + i0 + 8, a1), store8(o + i0 + 16, a2), store8(o + i0 + 24, a3);
    }
#endif
    for (int i = i0; i < hs; i++) o[i] = 0.0f;
    for (int k = 0; k < n; k++)
        for (int i = i0; i < hs; i++) o[i] += p[k] * norm * v[(size_t)k * hs + i];
}

// Query t of head h, as gpt2_attention_naive computes it; s is scratch for its scores.
static void attention_row(const AttentionJob *j, int h, int t, float *s) {
    const int hs = j->C / j->NH, n = j->pos + t + 1; // causal: keys 0..pos+t
    const float scale = 1.0f / sqrtf((float)hs), *q = j->q + (size_t)t * j->ldq + h * hs;
    const float *keys = j->kcache + (size_t)h * j->maxT * hs, *values = j->vcache + (size_t)h * j->maxT * hs;
    float max = -INFINITY;
    for (int k = 0; k < n; k++) {
        s[k] = dot_f32(keys + (size_t)k * hs, q, hs) * scale;
        if (s[k] > max) max = s[k];
    }
    float sum = exp_shifted(s, n, max);
    weighted_sum(j->out + (size_t)t * j->C + h * hs, s, 1.0f / sum, values, n, hs);
}

#if USE_TILES
// s[k] *= scale for k < n; returns the largest (NaNs skipped, as the comparison `s[k] > max` skips them).
static float scale_max(float *s, int n, float scale) {
    int k = 0;
    float max = -INFINITY;
#if USE_AVX2
    __m256 m = _mm256_set1_ps(-INFINITY), f = _mm256_set1_ps(scale);
#if USE_AVX512 // the largest of the same values (a zero max's sign can differ: exp_shifted's s - max does not)
    __m512 m16 = _mm512_set1_ps(-INFINITY), f16 = _mm512_set1_ps(scale);
    for (; k + 16 <= n; k += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(s + k), f16);
        _mm512_storeu_ps(s + k, v);
        m16 = _mm512_max_ps(v, m16);
    }
    m = _mm256_max_ps(_mm512_castps512_ps256(m16), _mm512_extractf32x8_ps(m16, 1));
#endif
    for (; k + 8 <= n; k += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(s + k), f);
        _mm256_storeu_ps(s + k, v);
        m = _mm256_max_ps(v, m); // m when v is NaN
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    for (int i = 0; i < 8; i++) max = lanes[i] > max ? lanes[i] : max;
#elif USE_NEON
    float32x4_t m = vdupq_n_f32(-INFINITY);
    for (; k + 4 <= n; k += 4) {
        float32x4_t v = vmulq_n_f32(vld1q_f32(s + k), scale);
        vst1q_f32(s + k, v);
        m = vmaxnmq_f32(m, v); // the number when one is NaN
    }
    max = vmaxnmvq_f32(m);
#endif
    for (; k < n; k++) {
        s[k] *= scale;
        max = s[k] > max ? s[k] : max;
    }
    return max;
}

// The attention tile writes TILE_T rows of scores into a scratch sized for ATTENTION_ROWS.
_Static_assert(TILE_T == ATTENTION_ROWS, "gpt2_attention_scratch() sizes the scores for TILE_T queries");

// Prefill: the six queries t0..t0+5 of head h at once, scores and values through the register tile.
// s (ATTENTION_ROWS, ld) is this head's scratch; kt holds the head's keys packed by pack_keys.
static void attention_tile(const AttentionJob *j, int h, int t0, float *s, int ld, const float *kt) {
    const int C = j->C, hs = C / j->NH, n = j->pos + t0 + TILE_T; // n: keys the last query sees
    const float scale = 1.0f / sqrtf((float)hs);
    float inv[TILE_T];
    // scores (6, n) = q (6, hs) . k^T, KEY_TILE keys at a time
    for (int k0 = 0; k0 < n; k0 += KEY_TILE)
        KEY_TILE_FN(s + k0, ld, j->q + (size_t)t0 * j->ldq + h * hs, j->ldq, kt + (size_t)k0 * hs, KEY_TILE, hs, 0,
                    NULL);
    // causal softmax per query; the masked keys get weight 0 for the product below
    for (int a = 0; a < TILE_T; a++) {
        float *row = s + (size_t)a * ld;
        int na = j->pos + t0 + a + 1;
        inv[a] = 1.0f / exp_shifted(row, na, scale_max(row, na, scale));
        for (int k = na; k < n; k++) row[k] = 0.0f;
    }
    // out (6, hs) = weights (6, n) . v (n, hs), 64 or 16 channels at a time straight from the cache rows
    float *o = j->out + (size_t)t0 * C + h * hs;
    const float *v = j->vcache + (size_t)h * j->maxT * hs;
    int i0 = 0;
#if USE_AVX512
    for (; i0 + TILE_WIDE * TILE_O <= hs; i0 += TILE_WIDE * TILE_O) tile_6x64(o + i0, C, s, ld, v + i0, hs, n, 0, NULL);
#endif
    for (; i0 < hs; i0 += TILE_O) tile_6x16(o + i0, C, s, ld, v + i0, hs, n, 0, NULL);
    for (int a = 0; a < TILE_T; a++)
        for (int i = 0; i < hs; i++) o[(size_t)a * C + i] *= inv[a];
}

// kt = the keys 0..n-1 of head h as the tile wants them: blocks of KEY_TILE keys, each (hs,
// KEY_TILE), zeros past n. Packed once per head, used by every query tile.
static void pack_keys(float *kt, const AttentionJob *j, int h, int n) {
    const int hs = j->C / j->NH;
    const float *keys = j->kcache + (size_t)h * j->maxT * hs;
    int k = 0;
#if USE_AVX512 // 16 keys by 16 channels at a time through registers (transpose16), as pack_panel
    for (; k + 16 <= n; k += 16)
        for (int p = 0; p < hs; p += 16) {
            __m512 r[16];
            for (int b = 0; b < 16; b++) r[b] = _mm512_loadu_ps(keys + (size_t)(k + b) * hs + p);
            transpose16(kt + (size_t)(k / KEY_TILE * KEY_TILE) * hs + (size_t)p * KEY_TILE + k % KEY_TILE, KEY_TILE, r);
        }
#endif
    for (; k < (n + KEY_TILE - 1) / KEY_TILE * KEY_TILE; k++) { // (zeros past n)
        float *dst = kt + (size_t)(k / KEY_TILE * KEY_TILE) * hs + k % KEY_TILE;
        for (int p = 0; p < hs; p++) dst[p * KEY_TILE] = k < n ? keys[(size_t)k * hs + p] : 0.0f;
    }
}
#endif

// One head, all T queries: whole tiles of six first where they fit, then one query at a time.
static void attention_task(void *ctx, int h) {
    const AttentionJob *j = ctx;
    int hs = j->C / j->NH, ld = scores_ld(j->maxT), t = 0;
    float *s = j->scores + (size_t)h * ATTENTION_ROWS * ld;
#if USE_TILES
    if (hs % TILE_O == 0 && j->T >= TILE_T) {
        float *kt = j->keys + (size_t)h * hs * ld;
        pack_keys(kt, j, h, j->pos + j->T / TILE_T * TILE_T);
        for (; t + TILE_T <= j->T; t += TILE_T) attention_tile(j, h, t, s, ld, kt);
    }
#endif
    (void)hs;
    for (; t < j->T; t++) attention_row(j, h, t, s);
}

void gpt2_attention(GPT2Pool *pool, float *out, const float *q, int ldq, const float *kcache,
                    const float *vcache, float *scratch, int T, int pos, int C, int NH, int maxT) {
    AttentionJob j = {.out = out, .q = q, .kcache = kcache, .vcache = vcache, .scores = scratch,
                      .keys = scratch + (size_t)NH * ATTENTION_ROWS * scores_ld(maxT), .ldq = ldq, .T = T,
                      .pos = pos, .C = C, .NH = NH, .maxT = maxT};
    // the cost in multiply-adds (q·k and p·v, C per key, about pos + T/2 keys per query)
    gpt2_pool_for(pool, NH, attention_task, &j, 2.0 * T * (pos + (T + 1) / 2.0) * C);
}

const char *gpt2_kernels(void) {
    if (USE_AMX && gpt2_amx_permitted()) return "avx512+vnni+bf16+amx";
    return USE_VNNI512 && USE_BF16DP ? "avx512+vnni+bf16"
           : USE_VNNI512 ? "avx512+vnni"
           : USE_AVX512  ? "avx512"
           : USE_VNNI    ? "avx2+vnni"
           : USE_AVX2    ? "avx2"
           : USE_DOTPROD ? "neon+dotprod"
           : USE_NEON    ? "neon"
                         : "portable";
}

// ----------------------------------------------------------------------------------------------
// Batched decode: one new token for each of B sequences. Every row is computed exactly as
// gpt2_matmul and gpt2_attention compute it with T = 1 (the same dot product, accumulators and
// order), so a sequence's tokens do not depend on the others in its batch; the batch only shares
// the pass over the weights.

#if USE_AVX2 && !USE_AVX512
// out[r] = dot_f32(w, x + r ldx, n) (or dot_bf16 when bf16: w is then uint16_t) for the four rows
// r = 0..3 at once, each with dot_f32's four accumulators, its steps and its sums in its order; each
// 8 weights loaded (and widened from bf16) once for the four rows. (AVX-512 builds sum as dot16
// does, and batch with dot_tile below.)
static inline void dot4(float out[4], const void *w, int bf16, const float *x, size_t ldx, int n) {
    const float *x0 = x, *x1 = x + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
#define FMA4(k, i)                                      \
    do {                                                \
        F32x8 wv = wload8(w, bf16, i);                  \
        a0##k = fma8(a0##k, wv, load8(x0 + (i)));       \
        a1##k = fma8(a1##k, wv, load8(x1 + (i)));       \
        a2##k = fma8(a2##k, wv, load8(x2 + (i)));       \
        a3##k = fma8(a3##k, wv, load8(x3 + (i)));       \
    } while (0)
    // a<row><accumulator>, named rather than an array so that they stay in registers
    F32x8 a00 = zero8(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    F32x8 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        FMA4(0, i);
        FMA4(1, i + 8);
        FMA4(2, i + 16);
        FMA4(3, i + 24);
    }
    for (; i + 8 <= n; i += 8) FMA4(0, i);
#undef FMA4
    out[0] = hsum8(add8(add8(a00, a01), add8(a02, a03)));
    out[1] = hsum8(add8(add8(a10, a11), add8(a12, a13)));
    out[2] = hsum8(add8(add8(a20, a21), add8(a22, a23)));
    out[3] = hsum8(add8(add8(a30, a31), add8(a32, a33)));
    for (int r = 0; r < 4; r++)
        for (int k = i; k < n; k++) out[r] += wload1(w, bf16, k) * x[(size_t)r * ldx + k];
}
#define DOT_ROWS 4 // input rows per weight row load (dot4)
#else
#define DOT_ROWS 1
#endif

typedef struct {
    float *out;        // (B, OC)
    const float *inp;  // (B, C)
    const int8_t *xq;  // (B, C) quantized inp, GPT2_Q8 only
    const float *xqs;  // (B, C/G)
    const int32_t *xc; // (B, C/4)
    const GPT2Matrix *w;
    const float *bias;
    int B, C, OC, rows; // rows: output rows per task
    Epilogue epi;
} RowsJob;

// Inputs a batched tile takes at a time (a multiple of 32): the chunk of its weight rows, 12 KB of
// float32, stays in L1 while every input row passes it.
#define CHUNK 512

#if USE_AVX512
// acc (R, O) = (i0 > 0 ? acc : 0) + the products of R input rows (ldx apart) with O weight rows (ldw
// apart) over inputs i0..i1-1, as dot16 computes them (i0 a multiple of 16; i1 too, or n,
// whose tail is masked as dot16's): lane j of acc[r][o] is lane j of dot16's accumulator for that
// pair, so hsum16 of it is dot16's result. Per step of 16 inputs, R + TILE_W loads for R x TILE_W
// FMAs. Meanwhile pf_lines lines of 64 bytes from pf on are prefetched into L1 (on Zen 5 8% faster
// than into L2, at B = 4 to 16): up to `per` before each step from the first on, the rest (when
// there is no whole step) at the end.
#define TILE_R 4 // input rows of a tile
#define TILE_W 6 // weight rows of a tile: 24 accumulators, R loaded inputs and one weight in registers
static inline __attribute__((always_inline)) void dot_tile(__m512 *acc, const void *w, size_t ldw, int bf16,
                                                           const float *x, size_t ldx, int i0, int i1, int n,
                                                           int R, const char *pf, int pf_lines) {
    __m512 a[TILE_R][TILE_W]; // (registers once R is a constant and the loops unrolled)
    for (int r = 0; r < R; r++) // (from zero at the first inputs)
        for (int o = 0; o < TILE_W; o++) a[r][o] = i0 == 0 ? _mm512_setzero_ps() : acc[r * TILE_W + o];
    // one step of 16 inputs from i, lanes outside m zero
#define STEP(m)                                                                       \
    do {                                                                              \
        __m512 xv[TILE_R];                                                            \
        for (int r = 0; r < R; r++) xv[r] = _mm512_maskz_loadu_ps(m, x + r * ldx + i); \
        for (int o = 0; o < TILE_W; o++) {                                            \
            __m512 wv = load16(w, bf16, o * ldw + i, m);                              \
            KEEP_IN_REGISTER(wv);                                                     \
            for (int r = 0; r < R; r++) a[r][o] = _mm512_fmadd_ps(wv, xv[r], a[r][o]);  \
        }                                                                             \
    } while (0)
    int i = i0, line = 0; // line: the next of pf's lines to prefetch
    const int steps = (i1 - i0) / 16, per = steps ? (pf_lines + steps - 1) / steps : 0;
    for (; line < pf_lines && i + 16 <= i1; i += 16) {
        for (int k = 0; k < per && line < pf_lines; k++, line++) _mm_prefetch(pf + line * 64, _MM_HINT_T0);
        STEP(0xffff);
    }
    for (; i + 16 <= i1; i += 16) STEP(0xffff);
    if (i < i1) STEP(tail_mask(n));
#undef STEP
    for (; line < pf_lines; line++) _mm_prefetch(pf + line * 64, _MM_HINT_T0);
    for (int r = 0; r < R; r++)
        for (int o = 0; o < TILE_W; o++) acc[r * TILE_W + o] = a[r][o];
}

// dot_tile for R = 1..TILE_R rows (matmul_rows_tiles passes no other), each its own unrolled copy.
static void dot_rows(__m512 *acc, const void *w, size_t ldw, int bf16, const float *x, size_t ldx, int i0, int i1,
                     int n, int R, const char *pf, int pf_lines) {
#define SHAPE(r)                                                                       \
    if (R == r) {                                                                      \
        if (bf16) dot_tile(acc, w, ldw, 1, x, ldx, i0, i1, n, r, pf, pf_lines);       \
        else dot_tile(acc, w, ldw, 0, x, ldx, i0, i1, n, r, pf, pf_lines);            \
        return;                                                                        \
    }
    SHAPE(1) SHAPE(2) SHAPE(3) SHAPE(4)
#undef SHAPE
}

// The weight rows ob..ob+TILE_W-1 against every input row, TILE_GROUP rows at a time: CHUNK inputs
// of the weight rows (12 KB of float32) stay in L1 while the group's rows pass them, TILE_R at a time.
// Meanwhile the first group's tiles prefetch the next TILE_W rows, contiguous in memory, a share
// each in address order: one stream, which memory serves faster than several short ones at once
// (each tile prefetching rows of its own instead: 7-15% fewer tokens/s at B = 8 and 16 on Zen 5).
#define TILE_GROUP 16 // rows whose sums are kept at once: 16 TILE_W vectors, 6 KB
static void matmul_rows_tiles(const RowsJob *j, int ob, int o1) {
    const int C = j->C, B = j->B;
    const int bf16 = j->w->type == GPT2_BF16;
    const size_t row = (size_t)C * (bf16 ? 2 : 4); // bytes of a weight row
    const char *w = (const char *)j->w->data + ob * row;
    // the next block of the task (none after its last: nothing is prefetched), and its lines
    const char *next = ob + 2 * TILE_W <= o1 ? w + TILE_W * row : NULL;
    const int lines = next ? (int)((TILE_W * row + 63) / 64) : 0;
    const int nt = ((B < TILE_GROUP ? B : TILE_GROUP) + TILE_R - 1) / TILE_R; // the first group's tiles
    const int calls = (C + CHUNK - 1) / CHUNK * nt; // the first group's calls of dot_rows
    for (int b0 = 0; b0 < B; b0 += TILE_GROUP) {
        const int nb = B - b0 < TILE_GROUP ? B - b0 : TILE_GROUP;
        __m512 acc[TILE_GROUP * TILE_W]; // (dot_tile starts them from zero)
        for (int c0 = 0; c0 < C; c0 += CHUNK)
            for (int r = 0; r < nb; r += TILE_R) {
                // call k of the first group, in the order they run, prefetches lines l0..l1-1 of
                // the next block: shares that cover it once, in address order
                const int k = c0 / CHUNK * nt + r / TILE_R, l0 = lines * k / calls, l1 = lines * (k + 1) / calls;
                const int share = b0 == 0 ? l1 - l0 : 0;
                dot_rows(acc + r * TILE_W, w, (size_t)C, bf16, j->inp + (size_t)(b0 + r) * C, (size_t)C, c0,
                         c0 + CHUNK < C ? c0 + CHUNK : C, C, nb - r < TILE_R ? nb - r : TILE_R,
                         share ? next + (size_t)l0 * 64 : NULL, share);
            }
        for (int r = 0; r < nb; r++)
            for (int o = 0; o < TILE_W; o++) {
                float y = hsum16(acc[r * TILE_W + o]);
                finish(j->out + (size_t)(b0 + r) * j->OC + ob + o, j->bias ? y + j->bias[ob + o] : y, j->epi);
            }
    }
}
#endif

#if (USE_AVX2 && !USE_AVX512) || USE_NEON
// dot8's products of R input rows (ldx apart) with CHAIN_O weight rows, along its accumulator q
// alone, over inputs i0..i1-1 (i0 a multiple of 32): the 8 inputs 32m + 8q.. of each whole 32, and
// for q = 0 the whole 8s after them (dot8's tail, when i1 ends the row), added to acc (R, CHAIN_O,
// 4) at [r][o][q] (from zero when i0 = 0). Lane j of acc[r][o][q] is then lane j of dot8's
// accumulator q for that pair. The weights come packed by pack_chains, CHAIN_O vectors a step. One
// accumulator at a time, as all four would need four times the registers: per step, R + CHAIN_O
// loads for R CHAIN_O FMAs.
#define CHAIN_R 2 // input rows of a tile
#define CHAIN_O 6 // weight rows of a tile: 12 sums, 2 inputs and a weight in 15 of the 16 registers
static inline __attribute__((always_inline)) void chain_tile(F32x8 *acc, const float *pw, const float *x,
                                                             size_t ldx, int i0, int i1, int q, int R) {
    F32x8 a[CHAIN_R][CHAIN_O]; // (registers once R is a constant and the loops unrolled)
    for (int r = 0; r < R; r++)
        for (int o = 0; o < CHAIN_O; o++) a[r][o] = i0 == 0 ? zero8() : acc[(r * CHAIN_O + o) * 4 + q];
#if USE_AVX2
#define KEEP(v) KEEP_IN_REGISTER(v)
#else
#define KEEP(v) (void)(v) // (arm64's FMAs take no memory operands)
#endif
#define STEP(i)                                                             \
    do {                                                                    \
        F32x8 xv[CHAIN_R];                                                  \
        for (int r = 0; r < R; r++) xv[r] = load8(x + r * ldx + (i));        \
        for (int o = 0; o < CHAIN_O; o++) {                                 \
            F32x8 wv = load8(pw + 8 * o);                                   \
            KEEP(wv);                                                       \
            for (int r = 0; r < R; r++) a[r][o] = fma8(a[r][o], wv, xv[r]); \
        }                                                                   \
        pw += 8 * CHAIN_O;                                                  \
    } while (0)
    int i = i0;
    for (; i + 32 <= i1; i += 32) STEP(i + 8 * q);
    if (q == 0)
        for (; i + 8 <= i1; i += 8) STEP(i);
#undef STEP
#undef KEEP
    for (int r = 0; r < R; r++)
        for (int o = 0; o < CHAIN_O; o++) acc[(r * CHAIN_O + o) * 4 + q] = a[r][o];
}

// Steps of accumulator q over inputs i0..i1-1 (chain_tile's), and where its packed weights start.
static int chain_steps(int i0, int i1, int q) { return (i1 - i0) / 32 + (q == 0 ? (i1 - i0) % 32 / 8 : 0); }
static size_t chain_start(int i0, int i1, int q) {
    return q == 0 ? 0 : (size_t)(chain_steps(i0, i1, 0) + (q - 1) * chain_steps(i0, i1, 1)) * CHAIN_O * 8;
}

// pw = inputs i0..i1-1 of the CHAIN_O weight rows w (ldw apart) as float32, in the order chain_tile
// reads them: for each accumulator q, each step's CHAIN_O vectors. Packed once, they are read from L1
// by every tile of input rows (rows of C = 3072 floats, 12 KB apart, would share one L1 set), and
// bf16 is widened once rather than once per tile.
static void pack_chains(float *pw, const void *w, size_t ldw, int bf16, int i0, int i1) {
    const int n32 = (i1 - i0) / 32, n8 = (i1 - i0) % 32 / 8;
    float *p[4];
    for (int q = 0; q < 4; q++) p[q] = pw + chain_start(i0, i1, q);
    for (int o = 0; o < CHAIN_O; o++) {
        const size_t wo = o * ldw + i0;
        for (int m = 0; m < n32; m++)
            for (int q = 0; q < 4; q++) store8(p[q] + (m * CHAIN_O + o) * 8, wload8(w, bf16, wo + 32 * m + 8 * q));
        for (int m = 0; m < n8; m++) // (dot8's tail: accumulator 0's steps of 8 after the whole 32s)
            store8(p[0] + ((n32 + m) * CHAIN_O + o) * 8, wload8(w, bf16, wo + 32 * n32 + 8 * m));
    }
}

// chain_tile for each accumulator q and R = 1 or 2 rows, each shape its own unrolled copy.
static void chain_rows(F32x8 *acc, const float *pw, const float *x, size_t ldx, int i0, int i1, int R) {
    for (int q = 0; q < 4; q++) {
        const float *p = pw + chain_start(i0, i1, q);
        if (R == 2) chain_tile(acc, p, x, ldx, i0, i1, q, 2);
        else chain_tile(acc, p, x, ldx, i0, i1, q, 1);
    }
}

// The weight rows ob..ob+CHAIN_O-1 against every input row, CHAIN_GROUP rows at a time, CHUNK
// inputs at a time: the chunk of the weight rows is packed, then every tile of the group's rows
// passes it. Then each pair's four accumulators are summed as dot8 sums them.
#define CHAIN_GROUP 16 // rows whose sums are kept at once: 16 CHAIN_O sets of 4 vectors, 12 KB
static void matmul_rows_chains(const RowsJob *j, int ob) {
    const int C = j->C, B = j->B;
    const int bf16 = j->w->type == GPT2_BF16;
    const void *w = (const char *)j->w->data + (size_t)ob * C * (bf16 ? 2 : 4);
    for (int b0 = 0; b0 < B; b0 += CHAIN_GROUP) {
        const int nb = B - b0 < CHAIN_GROUP ? B - b0 : CHAIN_GROUP;
        const float *x = j->inp + (size_t)b0 * C;
        F32x8 acc[CHAIN_GROUP * CHAIN_O * 4]; // (chain_tile starts them from zero)
        _Alignas(64) float pw[CHAIN_O * CHUNK];
        for (int c0 = 0; c0 < C; c0 += CHUNK) {
            const int c1 = c0 + CHUNK < C ? c0 + CHUNK : C;
            pack_chains(pw, w, (size_t)C, bf16, c0, c1);
            for (int r = 0; r < nb; r += CHAIN_R)
                chain_rows(acc + r * CHAIN_O * 4, pw, x + (size_t)r * C, (size_t)C, c0, c1,
                           nb - r < CHAIN_R ? nb - r : CHAIN_R);
        }
        for (int r = 0; r < nb; r++)
            for (int o = 0; o < CHAIN_O; o++) {
                const F32x8 *a = acc + (r * CHAIN_O + o) * 4;
                float y = hsum8(add8(add8(a[0], a[1]), add8(a[2], a[3])));
                for (int k = C / 8 * 8; k < C; k++) y += wload1(w, bf16, (size_t)o * C + k) * x[(size_t)r * C + k];
                finish(j->out + (size_t)(b0 + r) * j->OC + ob + o, j->bias ? y + j->bias[ob + o] : y, j->epi);
            }
    }
}
#define CHAINS 1
#define CHAIN_MIN_B 12 // below it, dot4: fewer rows leave the packing unpaid (8: 14% slower, 12: 5% faster)
#else
#define CHAINS 0
#endif

// Outputs o0..o1-1 of every row: with AVX-512, TILE_W weight rows at a time through
// matmul_rows_tiles; with AVX2 or NEON and at least CHAIN_MIN_B rows, CHAIN_O at a time through
// matmul_rows_chains; with AVX2, each weight row once for DOT_ROWS input rows (dot4); the rest one
// dot product at a time. Then the epilogue, as matmul_task's.
static void matmul_rows_task(void *ctx, int task) {
    const RowsJob *j = ctx;
    const int C = j->C, OC = j->OC, B = j->B, o0 = task * j->rows;
    const int o1 = o0 + j->rows < OC ? o0 + j->rows : OC;
    const GPT2Matrix *w = j->w;
    int o = o0;
#if USE_AVX512
    if (w->type != GPT2_Q8)
        for (; o + TILE_W <= o1; o += TILE_W) matmul_rows_tiles(j, o, o1);
#elif CHAINS
    if (w->type != GPT2_Q8 && B >= CHAIN_MIN_B)
        for (; o + CHAIN_O <= o1; o += CHAIN_O) matmul_rows_chains(j, o);
#endif
    for (; o < o1; o++) {
        int b = 0;
#if DOT_ROWS > 1
        const char *wo = (const char *)w->data + (size_t)o * C * (w->type == GPT2_F32 ? 4 : 2);
        for (; w->type != GPT2_Q8 && b + DOT_ROWS <= B; b += DOT_ROWS) {
            float v[DOT_ROWS];
            if (w->type == GPT2_F32) dot4(v, wo, 0, j->inp + (size_t)b * C, (size_t)C, C); // (inlined per format)
            else dot4(v, wo, 1, j->inp + (size_t)b * C, (size_t)C, C);
            for (int r = 0; r < DOT_ROWS; r++)
                finish(j->out + (size_t)(b + r) * OC + o, j->bias ? v[r] + j->bias[o] : v[r], j->epi);
        }
#endif
        for (; b < B; b++) {
            size_t wo = (size_t)o * C, xo = (size_t)b * C;
            float v;
            if (w->type == GPT2_F32) v = dot_f32((const float *)w->data + wo, j->inp + xo, C);
            else if (w->type == GPT2_BF16) v = dot_bf16((const uint16_t *)w->data + wo, j->inp + xo, C);
            else v = dot_q8((const int8_t *)w->data + wo, w->scale + wo / GPT2_Q8_GROUP, j->xq + xo,
                            j->xqs + xo / GPT2_Q8_GROUP, j->xc + xo / 4, C);
            finish(j->out + (size_t)b * OC + o, j->bias ? v + j->bias[o] : v, j->epi);
        }
    }
    if (j->epi == OUT_GELU) // over the task's block, whose start is a multiple of 16 as matmul_task's
        for (int b = 0; b < B; b++) gelu_inplace(j->out + (size_t)b * OC + o0, o1 - o0);
}

void gpt2_matmul_rows(GPT2Pool *pool, float *out, float *inp, const GPT2Matrix *w, const float *bias, int B,
                      Epilogue epi, int8_t *xq, float *xqs) {
    const int C = w->cols, OC = w->rows;
    const int32_t *xc = NULL, *xg = NULL;
    const int16_t *x16 = NULL;
    if (w->type == GPT2_Q8) quantize_input(pool, xq, xqs, inp, B, C, &xc, &xg, &x16);
    if (w->type == GPT2_BF16) round_to_bf16(pool, inp, NULL, B, C);
    // At most eight tasks per thread (fewer for narrow layers), each a whole number of blocks of 48
    // output rows (a multiple of 16, so that GELU's vector and scalar parts fall where they do for
    // T = 1, and of TILE_W and CHAIN_O): long streams of weights from memory, and tasks short enough
    // that the threads finish together.
    const int t = gpt2_pool_threads(pool), rows = ((OC + 8 * t - 1) / (8 * t) + 47) / 48 * 48;
    RowsJob j = {.out = out, .inp = inp, .xq = xq, .xqs = xqs, .xc = xc, .w = w, .bias = bias, .B = B, .C = C,
                 .OC = OC, .rows = rows, .epi = epi};
    gpt2_pool_for(pool, (OC + j.rows - 1) / j.rows, matmul_rows_task, &j, (double)B * C * OC);
}

typedef struct {
    float *out;                  // (B, C)
    const float *q;              // (B, ldq)
    const float *const *kcache;  // (B) each (NH, cacheT[b], hs)
    const float *const *vcache;  // (B)
    const int *pos, *cacheT;     // (B)
    float *scores;               // (B, NH, ld)
    int ldq, C, NH, ld;
} AttentionRowsJob;

static void attention_rows_task(void *ctx, int i) {
    const AttentionRowsJob *r = ctx;
    int b = i / r->NH, h = i % r->NH;
    AttentionJob j = {.out = r->out + (size_t)b * r->C, .q = r->q + (size_t)b * r->ldq, .kcache = r->kcache[b],
                      .vcache = r->vcache[b], .ldq = r->ldq, .T = 1, .pos = r->pos[b], .C = r->C, .NH = r->NH,
                      .maxT = r->cacheT[b]};
    attention_row(&j, h, 0, r->scores + (size_t)i * r->ld);
}

size_t gpt2_attention_rows_scratch(int B, int NH, int maxT) { return (size_t)B * NH * scores_ld(maxT); }

void gpt2_attention_rows(GPT2Pool *pool, float *out, const float *q, int ldq, const float *const *kcache,
                         const float *const *vcache, const int *pos, const int *cacheT, float *scratch, int B, int C,
                         int NH, int maxT) {
    AttentionRowsJob j = {.out = out, .q = q, .kcache = kcache, .vcache = vcache, .pos = pos, .cacheT = cacheT,
                          .scores = scratch, .ldq = ldq, .C = C, .NH = NH, .ld = scores_ld(maxT)};
    double cost = 0.0;
    for (int b = 0; b < B; b++) cost += 2.0 * (pos[b] + 1) * C;
    gpt2_pool_for(pool, B * NH, attention_rows_task, &j, cost);
}
