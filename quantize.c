// quantize.c: int8 with one scale per GPT2_Q8_GROUP consecutive values (kernels.h), for the weights
// at load time (float16 scales) and for the activations before each int8 matmul (float scales).
#include "kernels.h"
#include "pool.h"

#include <math.h>
#include <stdatomic.h>

// float32 to float16, rounded to nearest even (the int8 weights' scales; load time only).
static uint16_t f32_to_f16(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    uint32_t sign = (v.u >> 16) & 0x8000, a = v.u & 0x7fffffff;
    if (a > 0x7f800000) return (uint16_t)(sign | 0x7e00);  // NaN
    if (a >= 0x477ff000) return (uint16_t)(sign | 0x7c00); // 65520 and up round to infinity
    if (a < 0x38800000) return (uint16_t)(sign | (uint32_t)lrintf(fabsf(f) * 0x1p24f)); // subnormal
    // normal: drop 13 mantissa bits rounding to even (a carry into the exponent is still right)
    return (uint16_t)(sign | (((a + 0xfff + ((a >> 13) & 1)) >> 13) - (112 << 10)));
}

// Symmetric int8 of one group of GPT2_Q8_GROUP values: q = round(v / s) with s = max|v| / 127.
// Weights (half = 1) round s to float16 first, so q goes with the scale that is stored; the clamp
// keeps q in -127..127 where that rounding (or a subnormal float16) made s a little small. Returns s.
static float quantize_group(int8_t *q, const float *v, int half) {
#if USE_AVX2 && GPT2_Q8_GROUP == 32
    __m256 x[4], amax = _mm256_setzero_ps();
    const __m256 sign = _mm256_set1_ps(-0.0f), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    for (int i = 0; i < 4; i++) {
        x[i] = _mm256_loadu_ps(v + 8 * i);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, x[i]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    float s = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4))) / 127.0f;
    if (half) s = f16_to_f32(f32_to_f16(s));
    __m256 inv = _mm256_set1_ps(s > 0.0f ? 1.0f / s : 0.0f);
    __m256i i32[4];
    for (int i = 0; i < 4; i++) // to nearest, ties even
        i32[i] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(x[i], inv), lo), hi));
    // pack 4 x 8 int32 to 32 int8; the packs work within 128-bit lanes, the permute restores order
    __m256i i8 = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
    i8 = _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, i8);
#elif USE_NEON && GPT2_Q8_GROUP == 32
    float32x4_t x[8], amax = vdupq_n_f32(0.0f);
    const float32x4_t lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f);
    for (int i = 0; i < 8; i++) {
        x[i] = vld1q_f32(v + 4 * i);
        amax = vmaxq_f32(amax, vabsq_f32(x[i]));
    }
    float s = vmaxvq_f32(amax) / 127.0f;
    if (half) s = f16_to_f32(f32_to_f16(s));
    float32x4_t inv = vdupq_n_f32(s > 0.0f ? 1.0f / s : 0.0f);
    int16x8_t i16[4];
    for (int i = 0; i < 4; i++) { // to nearest, ties even; then narrowed, in range after the clamp
        int32x4_t a = vcvtnq_s32_f32(vminq_f32(vmaxq_f32(vmulq_f32(x[2 * i], inv), lo), hi));
        int32x4_t b = vcvtnq_s32_f32(vminq_f32(vmaxq_f32(vmulq_f32(x[2 * i + 1], inv), lo), hi));
        i16[i] = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
    }
    vst1q_s8(q, vcombine_s8(vmovn_s16(i16[0]), vmovn_s16(i16[1])));
    vst1q_s8(q + 16, vcombine_s8(vmovn_s16(i16[2]), vmovn_s16(i16[3])));
#else
    float amax = 0.0f;
    for (int j = 0; j < GPT2_Q8_GROUP; j++) amax = fmaxf(amax, fabsf(v[j]));
    float s = amax / 127.0f;
    if (half) s = f16_to_f32(f32_to_f16(s));
    float inv = s > 0.0f ? 1.0f / s : 0.0f;
    for (int j = 0; j < GPT2_Q8_GROUP; j++) q[j] = (int8_t)lrintf(fminf(fmaxf(v[j] * inv, -127.0f), 127.0f));
#endif
    return s;
}

void gpt2_quantize_row(int8_t *q, float *scale, const float *x, int n) {
    int g = 0;
#if USE_AVX512 && GPT2_Q8_GROUP == 32
    // quantize_group's maths 16 groups at a time, so that each of its two divisions is one vector
    // division for all 16 rather than 16 scalar ones in a row (the same values: IEEE division); the
    // last batch takes the rest, so the loop below runs only without AVX-512
    const int G = n / GPT2_Q8_GROUP;
    for (; g < G; g += 16) {
        const int m = G - g < 16 ? G - g : 16;
        _Alignas(64) float amax[16] = {0}, inv[16];
        for (int i = 0; i < m; i++) {
            const float *v = x + (size_t)(g + i) * 32;
            amax[i] = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(v)),
                                                         _mm512_abs_ps(_mm512_loadu_ps(v + 16))));
        }
        const __m512 s = _mm512_div_ps(_mm512_load_ps(amax), _mm512_set1_ps(127.0f));
        _mm512_mask_storeu_ps(scale + g, (__mmask16)((1u << m) - 1), s);
        _mm512_store_ps(inv, _mm512_maskz_div_ps(_mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_GT_OQ),
                                                 _mm512_set1_ps(1.0f), s));
        const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
        for (int i = 0; i < m; i++)
            for (int h = 0; h < 32; h += 16) { // to nearest, ties even; in range after the clamp
                const size_t k = (size_t)(g + i) * 32 + h;
                __m512 y = _mm512_mul_ps(_mm512_loadu_ps(x + k), _mm512_set1_ps(inv[i]));
                y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
                _mm_storeu_si128((__m128i *)(void *)(q + k), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(y)));
            }
    }
#endif
    for (; g < n / GPT2_Q8_GROUP; g++)
        scale[g] = quantize_group(q + (size_t)g * GPT2_Q8_GROUP, x + (size_t)g * GPT2_Q8_GROUP, 0);
}

typedef struct {
    int8_t *q;
    uint16_t *scale;
    const void *src;
    int src_bf16, C;
    size_t rows, rows_per_task;
    atomic_int bad; // groups with a value that is not finite or a scale beyond float16
} QuantizeJob;

static void quantize_task(void *ctx, int i) {
    QuantizeJob *j = ctx;
    size_t r0 = (size_t)i * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
    int bad = 0;
    for (size_t k = r0 * j->C; k < r1 * j->C; k += GPT2_Q8_GROUP) {
        float v[GPT2_Q8_GROUP], sum = 0.0f;
        for (int n = 0; n < GPT2_Q8_GROUP; n++) {
            v[n] = j->src_bf16 ? bf16_to_f32(((const uint16_t *)j->src)[k + n]) : ((const float *)j->src)[k + n];
            sum += fabsf(v[n]); // NaN or infinity if any value is
        }
        float s = quantize_group(j->q + k, v, 1);
        j->scale[k / GPT2_Q8_GROUP] = f32_to_f16(s);
        bad += !(sum < INFINITY && s < INFINITY);
    }
    if (bad) atomic_fetch_add(&j->bad, bad);
}

int gpt2_quantize_matrix(GPT2Pool *pool, int8_t *q, uint16_t *scale, const void *src, int src_bf16, size_t rows,
                         int C) {
    QuantizeJob j = {.q = q, .scale = scale, .src = src, .src_bf16 = src_bf16, .C = C, .rows = rows, .rows_per_task = 64};
    gpt2_pool_for(pool, (int)((rows + j.rows_per_task - 1) / j.rows_per_task), quantize_task, &j, (double)rows * C);
    return atomic_load(&j.bad) ? -1 : 0;
}
