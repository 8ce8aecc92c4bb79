// gpt2.c: GPT-2 itself. Load a checkpoint (llm.c's layout, gpt2.h), run the forward pass with a
// KV cache, and generate(). How each step is computed fast is in kernels.c; the operating system's
// part (mapping the file, huge pages) in platform.c.
#include "gpt2.h"
#include "kernels.h"
#include "layout.h"
#include "platform.h"
#include "pool.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// ----------------------------------------------------------------------------------------------
// The checkpoint's layout.

#define HEADER_INTS 256

static uint32_t swap32(uint32_t x) { return x >> 24 | (x >> 8 & 0xff00) | (x << 8 & 0xff0000) | x << 24; }

// Version 8 pads every piece (a tensor, a matrix's scales) to a multiple of this many bytes, so that
// each starts aligned however the pieces before it ended.
#define Q8_ALIGN 64

// a + b and n padded to Q8_ALIGN, or 0 when an argument is 0 (an overflow before: no size or offset
// here is 0) or the result overflows size_t.
static size_t add(size_t a, size_t b) { return a == 0 || b == 0 || a > SIZE_MAX - b ? 0 : a + b; }
static size_t pad(size_t n) { return n == 0 || n > SIZE_MAX - Q8_ALIGN ? 0 : (n + Q8_ALIGN - 1) / Q8_ALIGN * Q8_ALIGN; }

// Byte offsets from the start of the file: off[i] of tensor i, soff[i] of its float16 scales (version
// 8 matrices), off[N_TENSORS] the file's size. -1 when a size overflows.
static int layout(const GPT2Config *c, int version, size_t off[N_TENSORS + 1], size_t soff[N_TENSORS]) {
    size_t n[N_TENSORS], pos = HEADER_INTS * sizeof(int32_t);
    if (tensor_sizes(n, c)) return -1;
    for (int i = 0; i < N_TENSORS; i++) {
        off[i] = pos;
        if (version == GPT2_VERSION_Q8 && tensor_is_matrix[i]) { // int8 values, then the scales
            soff[i] = pos = add(pos, pad(n[i]));
            pos = add(pos, pad(layout_mul(n[i] / GPT2_Q8_GROUP, sizeof(uint16_t))));
        } else if (version == GPT2_VERSION_Q8) {
            pos = add(pos, pad(layout_mul(n[i], sizeof(float))));
        } else {
            pos = add(pos, layout_mul(n[i], version == GPT2_VERSION_F32 ? sizeof(float) : sizeof(uint16_t)));
        }
        if (pos == 0) return -1;
    }
    off[N_TENSORS] = pos;
    return pos > (size_t)INT64_MAX ? -1 : 0;
}

// Checks the header and the file size; fills config and the layout of the tensors.
static int check_header(const char *path, const int32_t *h, size_t file_size, GPT2Config *c,
                        size_t off[N_TENSORS + 1], size_t soff[N_TENSORS], char *err) {
    if ((int32_t)swap32((uint32_t)h[0]) == GPT2_MAGIC)
        return fail(err, "gpt2_build: %s: a little-endian checkpoint, and this machine is big-endian (not supported)",
                    path);
    if (h[0] != GPT2_MAGIC)
        return fail(err, "gpt2_build: %s: not a GPT-2 checkpoint (magic %d, expected %d)", path, h[0], GPT2_MAGIC);
    if (h[1] != GPT2_VERSION_F32 && h[1] != GPT2_VERSION_BF16 && h[1] != GPT2_VERSION_Q8)
        return fail(err, "gpt2_build: %s: unsupported checkpoint version %d (3 = float32, 5 = bfloat16, 8 = int8)",
                    path, h[1]);
    *c = (GPT2Config){.maxT = h[2], .V = h[3], .L = h[4], .NH = h[5], .C = h[6], .Vp = h[7]};
    // Bounds far above GPT-2 XL (maxT 1024, V 50257, L 48, NH 25, C 1600) that keep int arithmetic
    // on positions, channels and vocabulary ids safe.
    const struct { const char *name; int value, max; } dims[] = {
        {"maxT", c->maxT, 1 << 16}, {"V", c->V, 1 << 24}, {"L", c->L, 1 << 12},
        {"NH", c->NH, 1 << 12},     {"C", c->C, 1 << 16},  {"Vp", c->Vp, 1 << 24},
    };
    for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++)
        if (dims[i].value <= 0 || dims[i].value > dims[i].max)
            return fail(err, "gpt2_build: %s: header field %s = %d is outside 1..%d", path, dims[i].name,
                        dims[i].value, dims[i].max);
    if (c->C % c->NH != 0)
        return fail(err, "gpt2_build: %s: C = %d is not divisible by NH = %d", path, c->C, c->NH);
    if (c->V > c->Vp)
        return fail(err, "gpt2_build: %s: V = %d is larger than the padded Vp = %d", path, c->V, c->Vp);
    if (h[1] == GPT2_VERSION_Q8 && c->C % GPT2_Q8_GROUP != 0)
        return fail(err, "gpt2_build: %s: int8 checkpoint with C = %d, not a multiple of %d", path, c->C,
                    GPT2_Q8_GROUP);
    if (layout(c, h[1], off, soff)) return fail(err, "gpt2_build: %s: tensor sizes overflow", path);
    size_t want = off[N_TENSORS];
    if (file_size < want)
        return fail(err, "gpt2_build: %s: truncated: %zu of %zu bytes", path, file_size, want);
    if (file_size > want)
        return fail(err, "gpt2_build: %s: %zu bytes after the last tensor (expected %zu bytes in all)", path,
                    file_size - want, want);
    return 0;
}

// Opens the checkpoint and reads its header; the file descriptor, or -1 with err set.
static int open_checkpoint(const char *path, int32_t h[HEADER_INTS], size_t *size, char *err) {
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) // before open, which Windows refuses for a directory
        return fail(err, "gpt2_build: %s: not a regular file", path);
    int fd = open(path, O_RDONLY | O_BINARY);
    if (fd < 0) return fail(err, "gpt2_build: %s: %s", path, strerror(errno));
    long long n = gpt2_file_size(fd), got = 0;
    const size_t header = HEADER_INTS * sizeof(int32_t);
    if (n < 0) fail(err, "gpt2_build: %s: not a regular file", path);
    else if ((unsigned long long)n > SIZE_MAX) fail(err, "gpt2_build: %s: too large for this machine's memory", path);
    else if ((size_t)n < header)
        fail(err, "gpt2_build: %s: truncated: %zu bytes, shorter than the %zu-byte header", path, (size_t)n, header);
    else if ((got = gpt2_read_at(fd, h, header, 0)) != (long long)header)
        fail(err, "gpt2_build: %s: cannot read the header: %s", path, got < 0 ? strerror(errno) : "short read");
    else {
        *size = (size_t)n;
        return fd;
    }
    close(fd);
    return -1;
}

// ----------------------------------------------------------------------------------------------
// The weights: where each tensor is read from once loaded.

// A tensor of the file as the forward pass reads it: in the mapping, or converted at load time.
typedef struct {
    GPT2DType type; // of a matrix; the other tensors are always float32
    const void *data;
    const uint16_t *scale; // GPT2_Q8 only
} Tensor;

// What m->converted holds, in this order: float32 copies of the small tensors of a bfloat16 file
// (*floats of them), and when quantizing at load the int8 matrices (*q8 weights) with their float16
// scales. Returns its size in bytes.
static size_t converted_size(const size_t n[N_TENSORS], int bf16, int quantize, size_t *floats, size_t *q8) {
    *floats = *q8 = 0;
    for (int i = 0; i < N_TENSORS; i++) {
        if (tensor_is_matrix[i] && quantize) *q8 += n[i];
        else if (!tensor_is_matrix[i] && bf16) *floats += n[i];
    }
    return *floats * sizeof(float) + *q8 + *q8 / GPT2_Q8_GROUP * sizeof(uint16_t);
}

// 0 when the n float16 scales are all finite.
static int check_scales(const uint16_t *scale, size_t n) {
    for (size_t k = 0; k < n; k++)
        if ((scale[k] & 0x7c00) == 0x7c00) return -1; // exponent all ones
    return 0;
}

// Fills t with where each tensor is: in the mapped file (float32, bfloat16 matrices, int8 files),
// converted to float32 (the small tensors of a bfloat16 file), or quantized (--quantize int8).
static int load_tensors(GPT2 *m, Tensor t[N_TENSORS], const size_t off[N_TENSORS + 1], const size_t soff[N_TENSORS],
                        const char *path, char *err) {
    const GPT2Config *c = &m->config;
    const char *base = m->map;
    int bf16 = m->file_version == GPT2_VERSION_BF16, q8_file = m->file_version == GPT2_VERSION_Q8;
    int quantize = m->dtype == GPT2_Q8 && !q8_file;
    size_t n[N_TENSORS], floats, q8;
    tensor_sizes(n, c); // cannot overflow: check_header computed the layout from them
    size_t bytes = converted_size(n, bf16, quantize, &floats, &q8);
    if (bytes > 0 && !(m->converted = gpt2_alloc_huge(bytes)))
        return fail(err, "gpt2_build: %s: out of memory for %zu bytes of converted weights", path, bytes);
    float *f32 = m->converted; // where the next converted tensor goes
    int8_t *q = quantize ? (int8_t *)(f32 + floats) : NULL;
    uint16_t *qs = quantize ? (uint16_t *)(q + q8) : NULL;
    for (int i = 0; i < N_TENSORS; i++) {
        const char *src = base + off[i];
        t[i] = (Tensor){.type = tensor_is_matrix[i] && bf16 ? GPT2_BF16 : GPT2_F32, .data = src};
        if (tensor_is_matrix[i] && q8_file) {
            t[i] = (Tensor){.type = GPT2_Q8, .data = src, .scale = (const uint16_t *)(base + soff[i])};
            if (check_scales(t[i].scale, n[i] / GPT2_Q8_GROUP))
                return fail(err, "gpt2_build: %s: int8 checkpoint with a scale that is not finite", path);
        } else if (tensor_is_matrix[i] && quantize) {
            int cols = i == FCPROJW ? 4 * c->C : c->C;
            if (gpt2_quantize_matrix(m->pool, q, qs, src, bf16, n[i] / cols, cols))
                return fail(err, "gpt2_build: %s: cannot quantize: a weight is not finite or above 8.3e6 in "
                            "magnitude (too large for int8 with float16 scales)", path);
            gpt2_release_pages(src, n[i] * (bf16 ? 2 : 4)); // read once: keep the peak RSS near the int8 size
            t[i] = (Tensor){.type = GPT2_Q8, .data = q, .scale = qs};
            q += n[i];
            qs += n[i] / GPT2_Q8_GROUP;
        } else if (!tensor_is_matrix[i] && bf16) {
            for (size_t k = 0; k < n[i]; k++) f32[k] = bf16_to_f32(((const uint16_t *)src)[k]);
            t[i].data = f32;
            f32 += n[i];
        }
    }
    return 0;
}

// Layer l's (rows, cols) matrix in a stack of L of them.
static GPT2Matrix matrix(const Tensor *t, int l, int rows, int cols) {
    size_t off = (size_t)l * rows * cols, esize = t->type == GPT2_F32 ? 4 : t->type == GPT2_BF16 ? 2 : 1;
    return (GPT2Matrix){.type = t->type, .rows = rows, .cols = cols, .data = (const char *)t->data + off * esize,
                        .scale = t->scale ? t->scale + off / GPT2_Q8_GROUP : NULL};
}

// Layer l's vector of n floats in a stack of L of them.
static const float *vec(const Tensor *t, int l, int n) { return (const float *)t->data + (size_t)l * n; }

// Points the model's weights, layer by layer, at the tensors.
static int point_weights(GPT2 *m, const Tensor t[N_TENSORS], const char *path, char *err) {
    const int C = m->config.C;
    GPT2Weights *w = &m->w;
    if (!(w->layers = calloc((size_t)m->config.L, sizeof(GPT2Layer))))
        return fail(err, "gpt2_build: %s: out of memory for %d layers", path, m->config.L);
    w->wte = matrix(&t[WTE], 0, m->config.Vp, C);
    w->wpe = vec(&t[WPE], 0, 0);
    for (int l = 0; l < m->config.L; l++)
        w->layers[l] = (GPT2Layer){
            .ln1w = vec(&t[LN1W], l, C),
            .ln1b = vec(&t[LN1B], l, C),
            .qkvw = matrix(&t[QKVW], l, 3 * C, C),
            .qkvb = vec(&t[QKVB], l, 3 * C),
            .attprojw = matrix(&t[ATTPROJW], l, C, C),
            .attprojb = vec(&t[ATTPROJB], l, C),
            .ln2w = vec(&t[LN2W], l, C),
            .ln2b = vec(&t[LN2B], l, C),
            .fcw = matrix(&t[FCW], l, 4 * C, C),
            .fcb = vec(&t[FCB], l, 4 * C),
            .fcprojw = matrix(&t[FCPROJW], l, C, 4 * C),
            .fcprojb = vec(&t[FCPROJB], l, C),
        };
    w->lnfw = vec(&t[LNFW], 0, 0);
    w->lnfb = vec(&t[LNFB], 0, 0);
    return 0;
}

// Rows of activations start on cache lines: a 64-byte vector load that straddles two lines costs two.
static void *acts_alloc(size_t n) { return gpt2_aligned_alloc(64, n); }

// The activations and the KV cache, for up to maxT tokens.
static int alloc_state(GPT2 *m, const char *path, char *err) {
    const GPT2Config *c = &m->config;
    size_t T = (size_t)c->maxT, C = (size_t)c->C;
    GPT2Acts *a = &m->acts;
    a->x = acts_alloc(T * C * sizeof(float));
    a->xn = acts_alloc(T * C * sizeof(float));
    a->qkv = acts_alloc(T * 3 * C * sizeof(float));
    a->att = acts_alloc(T * C * sizeof(float));
    a->fch = acts_alloc(T * 4 * C * sizeof(float));
    a->scratch = malloc(gpt2_attention_scratch(c->C, c->NH, c->maxT) * sizeof(float));
    a->logits = malloc((size_t)c->Vp * sizeof(float));
    a->xq = acts_alloc(gpt2_q8_scratch((int)T, 4 * (int)C)); // the int8 input, up to 4C wide
    a->xqs = malloc(T * 4 * C / GPT2_Q8_GROUP * sizeof(float) + sizeof(float)); // + 1: never malloc(0) for tiny C
    // calloc: the cache's pages are only touched as positions fill up.
    m->cache.k = calloc((size_t)c->L * T * C, sizeof(float));
    m->cache.v = calloc((size_t)c->L * T * C, sizeof(float));
    if (!a->x || !a->xn || !a->qkv || !a->att || !a->fch || !a->scratch || !a->logits || !a->xq || !a->xqs)
        return fail(err, "gpt2_build: %s: out of memory for the activations of %d tokens", path, c->maxT);
    if (!m->cache.k || !m->cache.v)
        return fail(err, "gpt2_build: %s: out of memory for the KV cache (%zu MB)", path,
                    2 * (size_t)c->L * T * C * sizeof(float) >> 20);
    return 0;
}

int gpt2_build(GPT2 *m, const char *path, const GPT2Options *opt, char *err) {
    memset(m, 0, sizeof(*m));
    int32_t h[HEADER_INTS];
    size_t size = 0, off[N_TENSORS + 1], soff[N_TENSORS];
    int fd = open_checkpoint(path, h, &size, err);
    if (fd < 0) return -1;
    int r = check_header(path, h, size, &m->config, off, soff, err);
    m->file_version = h[1];
    int q8_file = h[1] == GPT2_VERSION_Q8;
    m->dtype = q8_file || (opt && opt->quantize_int8) ? GPT2_Q8 : h[1] == GPT2_VERSION_BF16 ? GPT2_BF16 : GPT2_F32;
    if (r == 0 && m->dtype == GPT2_Q8 && m->config.C % GPT2_Q8_GROUP != 0)
        r = fail(err, "gpt2_build: %s: cannot quantize: C = %d is not a multiple of %d", path, m->config.C,
                 GPT2_Q8_GROUP);
    // Pre-fault the pages we will stream every token; quantizing at load reads the file only once.
    if (r == 0 && !(m->map = gpt2_map_file(fd, size, m->dtype != GPT2_Q8 || q8_file)))
        r = fail(err, "gpt2_build: %s: cannot map its %zu MB: %s", path, size >> 20, strerror(errno));
    close(fd);
    if (r) return -1;
    m->map_size = size;
    // More threads than cores only take turns on them, and each turn stalls every other thread.
    int cores = gpt2_online_cores(), threads = opt && opt->threads > 0 && opt->threads < cores ? opt->threads : cores;
    Tensor t[N_TENSORS];
    if (!(m->pool = gpt2_pool_create(threads))) r = fail(err, "gpt2_build: %s: out of memory for the thread pool", path);
    else m->n_threads = gpt2_pool_threads(m->pool);
    if (r || load_tensors(m, t, off, soff, path, err) || point_weights(m, t, path, err) || alloc_state(m, path, err)) {
        gpt2_free(m);
        return -1;
    }
    return 0;
}

void gpt2_free(GPT2 *m) {
    gpt2_unmap_file(m->map, m->map_size);
    gpt2_pool_free(m->pool);
    gpt2_aligned_free(m->converted);
    free(m->w.layers);
    GPT2Acts *a = &m->acts;
    gpt2_aligned_free(a->x), gpt2_aligned_free(a->xn), gpt2_aligned_free(a->qkv), gpt2_aligned_free(a->att);
    gpt2_aligned_free(a->fch);
    free(a->scratch), free(a->logits);
    gpt2_aligned_free(a->xq), free(a->xqs);
    free(m->cache.k), free(m->cache.v);
    memset(m, 0, sizeof(*m));
}

// ----------------------------------------------------------------------------------------------
// The forward pass.

// A linear layer on the model's threads: out (T, OC) = inp (T, C) · w^T + b, stored, added to out
// (OUT_ADD) or through GELU (OUT_GELU). The plain loops: gpt2_matmul_naive in kernels.c.
static void linear(GPT2 *m, float *out, float *inp, const GPT2Matrix *w, const float *b, int T, Epilogue epi) {
    gpt2_matmul(m->pool, out, inp, w, b, T, epi, m->acts.xq, m->acts.xqs);
}

// cache[h, pos + t] (hs) = the part of head h of kv[t] (C), for the T new positions; cache is one
// layer's (NH, maxT, hs), and the rows of kv are ld floats apart.
static void cache_store(float *cache, const float *kv, int ld, int T, int pos, int NH, int hs, int maxT) {
    for (int t = 0; t < T; t++)
        for (int h = 0; h < NH; h++)
            memcpy(cache + ((size_t)h * maxT + pos + t) * hs, kv + (size_t)t * ld + h * hs, hs * sizeof(float));
}

// 1 when tokens (T) at positions pos..pos+T-1 are a valid call: T >= 1, inside the context, every
// id in the vocabulary.
static int valid_call(const GPT2Config *c, const int *tokens, int T, int pos) {
    if (!tokens || T < 1 || pos < 0 || T > c->maxT || pos > c->maxT - T) return 0;
    for (int t = 0; t < T; t++)
        if (tokens[t] < 0 || tokens[t] >= c->V) return 0;
    return 1;
}

// The forward pass over a KV cache (L, NH, cacheT, hs) of cacheT positions: the model's own
// (cacheT = maxT), or a sequence's of gpt2_generate_batch (as many as its window reaches). The
// comments give each step's output shape and, on the right, the PyTorch it mirrors (nanoGPT's
// model.py, which Hugging Face's GPT-2 computes too). B > 1 runs B sequences of T tokens from
// position 0 (pos = 0) as B T rows (gpt2_forward_batch), sequence b's keys and values at positions
// b T.. of the cache, where its attention sees them as a cache of its own.
static const float *forward(GPT2 *m, const GPT2KVCache *cache, int cacheT, const int *tokens, int B, int T,
                            int pos) {
    const GPT2Config *c = &m->config;
    const GPT2Weights *w = &m->w;
    GPT2Acts *a = &m->acts;
    const int C = c->C, NH = c->NH, hs = C / NH, BT = B * T;

    // x (BT, C) = wte[tokens] + wpe[pos..pos+T-1]                       x = wte(idx) + wpe(pos)
    for (int r = 0; r < BT; r++) {
        float *x = a->x + (size_t)r * C;
        const float *p = w->wpe + (size_t)(pos + r % T) * C;
        gpt2_matrix_row(x, &w->wte, tokens[r]);
        for (int i = 0; i < C; i++) x[i] += p[i];
    }
    for (int l = 0; l < c->L; l++) {
        const GPT2Layer *lw = &w->layers[l];
        float *kcache = cache->k + (size_t)l * NH * cacheT * hs; // (NH, cacheT, hs)
        float *vcache = cache->v + (size_t)l * NH * cacheT * hs; // (NH, cacheT, hs)

        // ---- attention                                                 x = x + attn(ln_1(x))
        // xn (BT, C) = layernorm(x)                                      ln_1(x)
        gpt2_layernorm(m->pool, a->xn, a->x, lw->ln1w, lw->ln1b, BT, C);
        // qkv (BT, 3C) = xn · qkvw^T + qkvb                              c_attn(x)
        linear(m, a->qkv, a->xn, &lw->qkvw, lw->qkvb, BT, OUT_SET);
        for (int b = 0; b < B; b++) { // each sequence's attention on its own positions
            size_t r0 = (size_t)b * T; // its first row, and its first position in the cache
            // q, k, v (T, C) each: the three thirds of every row of qkv, q, k, v = ....split(C, dim=2)
            //   read in place (their rows are 3C floats apart)
            const float *q = a->qkv + r0 * 3 * C, *k = q + C, *v = q + 2 * C;
            // the new keys and values join the cache at positions pos..pos+T-1, head by head
            cache_store(kcache + r0 * hs, k, 3 * C, T, pos, NH, hs, cacheT);
            cache_store(vcache + r0 * hs, v, 3 * C, T, pos, NH, hs, cacheT);
            // att (T, C) = softmax(q · K^T / sqrt(hs), causal) · V, per head  scaled_dot_product_attention(
            //   over the keys K and values V of positions 0..pos+T-1;            q, k, v, is_causal=True)
            //   the plain loops: gpt2_attention_naive in kernels.c
            gpt2_attention(m->pool, a->att + r0 * C, q, 3 * C, kcache + r0 * hs, vcache + r0 * hs, a->scratch, T,
                           pos, C, NH, cacheT);
        }
        // x (BT, C) += att · attprojw^T + attprojb                       x + c_proj(y)
        linear(m, a->x, a->att, &lw->attprojw, lw->attprojb, BT, OUT_ADD);

        // ---- MLP                                                       x = x + mlp(ln_2(x))
        // xn (BT, C) = layernorm(x)                                      ln_2(x)
        gpt2_layernorm(m->pool, a->xn, a->x, lw->ln2w, lw->ln2b, BT, C);
        // fch (BT, 4C) = gelu(xn · fcw^T + fcb)                          gelu(c_fc(x))
        linear(m, a->fch, a->xn, &lw->fcw, lw->fcb, BT, OUT_GELU);
        // x (BT, C) += fch · fcprojw^T + fcprojb                         x + c_proj(h)
        linear(m, a->x, a->fch, &lw->fcprojw, lw->fcprojb, BT, OUT_ADD);
    }
    // xn (BT, C) = layernorm(x)                                          ln_f(x)
    gpt2_layernorm(m->pool, a->xn, a->x, w->lnfw, w->lnfb, BT, C);
    m->last_T = BT; // the rows of xn that gpt2_logits may read
    // logits (V) = xn[BT-1] · wte[:V]^T, the last position only         lm_head(x[:, [-1], :])
    gpt2_logits(m, BT - 1, 1, a->logits);
    return a->logits;
}

const float *gpt2_forward(GPT2 *m, const int *tokens, int T, int pos) {
    if (!valid_call(&m->config, tokens, T, pos)) return NULL;
    return forward(m, &m->cache, m->config.maxT, tokens, 1, T, pos);
}

const float *gpt2_forward_batch(GPT2 *m, const int *tokens, int B, int T) {
    if (B < 1 || T < 1 || B > m->config.maxT / T || !valid_call(&m->config, tokens, B * T, 0)) return NULL;
    return forward(m, &m->cache, m->config.maxT, tokens, B, T, 0);
}

int gpt2_logits(GPT2 *m, int t0, int n, float *out) {
    if (t0 < 0 || n < 1 || t0 > m->last_T - n) return -1;
    GPT2Matrix head = m->w.wte; // tied to the token embedding; rows V..Vp-1 are padding
    head.rows = m->config.V;
    linear(m, out, m->acts.xn + (size_t)t0 * m->config.C, &head, NULL, n, OUT_SET);
    return 0;
}


// ----------------------------------------------------------------------------------------------
// The batched decode step: one new token for each of n sequences through the layers, every row
// exactly as gpt2_forward computes T = 1 (kernels.c's gpt2_matmul_rows and gpt2_attention_rows
// compute each row as gpt2_matmul and gpt2_attention do), so that one pass over the weights serves
// n tokens.

// What gpt2_generate_batch keeps besides the model: each sequence's KV cache and window, and the
// activations of up to B rows.
typedef struct {
    int B, owned;          // owned: the caches are the batch's (B > 1), else the model's
    GPT2KVCache *cache;    // (B) sequence b's keys and values, each (L, NH, cacheT[b], hs)
    int *cacheT;           // (B) positions each cache holds
    int *start;            // (B) ids[start] sits at position 0 of the cache; -1: nothing cached
    int *ran;              // (B) 1: the window was run whole in this step
    int *next;             // (B) the token each sequence drew this step
    const float **lg;      // (B) the logits of this step (NULL: none)
    float *plog;           // (B, V) logits of the whole-window runs
    // the rows of a decode step
    int *rows, *tokens, *pos, *rowT; // (B) the sequence, its token, its position, its cache size
    const float **kc, **vc;          // (B) one layer's cache of each row, (NH, rowT[r], hs)
    float *x, *xn, *att;             // (B, C)
    float *qkv;                      // (B, 3C)
    float *fch;                      // (B, 4C)
    float *rlog;                     // (B, V)
    float *scores;                   // gpt2_attention_rows_scratch() floats
    int8_t *xq;                      // gpt2_q8_scratch(B, 4C) bytes: the int8 input (gpt2_matmul)
    float *xqs;                      // (B, 4C / GPT2_Q8_GROUP)
} Batch;

static void batch_free(Batch *bt) {
    if (bt->owned)
        for (int b = 0; b < bt->B; b++) free(bt->cache[b].k), free(bt->cache[b].v);
    free(bt->cache), free(bt->cacheT), free(bt->start), free(bt->ran), free(bt->next), free(bt->lg), free(bt->plog);
    free(bt->rows), free(bt->tokens), free(bt->pos), free(bt->rowT), free(bt->kc), free(bt->vc);
    gpt2_aligned_free(bt->x), gpt2_aligned_free(bt->xn), gpt2_aligned_free(bt->att), gpt2_aligned_free(bt->qkv);
    gpt2_aligned_free(bt->fch);
    free(bt->rlog), free(bt->scores);
    free(bt->xq), free(bt->xqs);
}

// One sequence uses the model's own cache and activations; B > 1 get a cache each, of the positions
// their window can reach: min(context, n_prompt + max_new - 1) (calloc: pages are touched as the
// positions fill).
static int batch_alloc(GPT2 *m, Batch *bt, const GPT2Sequence *seqs, int B, char *err) {
    const GPT2Config *c = &m->config;
    size_t B_ = (size_t)B, C = (size_t)c->C, V = (size_t)c->V, kv = 0;
    *bt = (Batch){.B = B, .owned = B > 1};
    bt->cache = calloc(B_, sizeof(GPT2KVCache));
    bt->cacheT = calloc(B_, sizeof(int)), bt->start = calloc(B_, sizeof(int)), bt->ran = calloc(B_, sizeof(int));
    bt->next = calloc(B_, sizeof(int));
    bt->lg = calloc(B_, sizeof(float *));
    bt->rows = malloc(B_ * sizeof(int)), bt->tokens = malloc(B_ * sizeof(int));
    bt->pos = malloc(B_ * sizeof(int)), bt->rowT = malloc(B_ * sizeof(int));
    if (!bt->cache || !bt->cacheT || !bt->start || !bt->ran || !bt->next || !bt->lg || !bt->rows || !bt->tokens ||
        !bt->pos || !bt->rowT)
        goto oom;
    for (int b = 0; b < B; b++) bt->start[b] = -1;
    if (B == 1) {
        bt->cache[0] = m->cache, bt->cacheT[0] = c->maxT;
        return 0;
    }
    int maxT = 1;
    for (int b = 0; b < B; b++) {
        const GPT2Sequence *s = &seqs[b];
        long need = (long)s->n_prompt + s->max_new - 1;
        int T = s->done || s->max_new == 0 ? 0 : need < s->context ? (int)(need > 1 ? need : 1) : s->context;
        bt->cacheT[b] = T;
        if (T > maxT) maxT = T;
        if (T == 0) continue;
        size_t n = (size_t)c->L * T * C;
        kv += 2 * n * sizeof(float);
        if (!(bt->cache[b].k = calloc(n, sizeof(float))) || !(bt->cache[b].v = calloc(n, sizeof(float)))) goto oom;
    }
    bt->plog = malloc(B_ * V * sizeof(float)), bt->rlog = malloc(B_ * V * sizeof(float));
    bt->kc = malloc(B_ * sizeof(float *)), bt->vc = malloc(B_ * sizeof(float *));
    bt->x = acts_alloc(B_ * C * sizeof(float)), bt->xn = acts_alloc(B_ * C * sizeof(float));
    bt->att = acts_alloc(B_ * C * sizeof(float)), bt->qkv = acts_alloc(B_ * 3 * C * sizeof(float));
    bt->fch = acts_alloc(B_ * 4 * C * sizeof(float));
    bt->scores = malloc(gpt2_attention_rows_scratch(B, c->NH, maxT) * sizeof(float));
    bt->xq = malloc(gpt2_q8_scratch(B, 4 * (int)C));
    bt->xqs = malloc(B_ * 4 * C / GPT2_Q8_GROUP * sizeof(float) + sizeof(float));
    if (!bt->plog || !bt->rlog || !bt->kc || !bt->vc ||
        !bt->x || !bt->xn || !bt->att || !bt->qkv || !bt->fch || !bt->scores || !bt->xq || !bt->xqs)
        goto oom;
    return 0;
oom:
    batch_free(bt);
    return fail(err, "gpt2_generate_batch: out of memory for %d sequences (%zu MB of KV cache)", B, kv >> 20);
}

// rlog (n, V) = the next-token logits of rows 0..n-1 of bt: row r is sequence rows[r]'s token at
// position pos[r] of its cache, the positions before it cached.
static void forward_rows(GPT2 *m, Batch *bt, int n) {
    const GPT2Config *c = &m->config;
    const GPT2Weights *w = &m->w;
    const int C = c->C, NH = c->NH, hs = C / NH;
    int8_t *xq = bt->xq;
    float *xqs = bt->xqs;

    // x (n, C) = wte[token] + wpe[pos], each row at its own position    x = wte(idx) + wpe(pos)
    for (int r = 0; r < n; r++) {
        float *x = bt->x + (size_t)r * C;
        const float *p = w->wpe + (size_t)bt->pos[r] * C;
        gpt2_matrix_row(x, &w->wte, bt->tokens[r]);
        for (int i = 0; i < C; i++) x[i] += p[i];
    }
    for (int l = 0; l < c->L; l++) {
        const GPT2Layer *lw = &w->layers[l];
        // ---- attention                                                 x = x + attn(ln_1(x))
        gpt2_layernorm(m->pool, bt->xn, bt->x, lw->ln1w, lw->ln1b, n, C);
        gpt2_matmul_rows(m->pool, bt->qkv, bt->xn, &lw->qkvw, lw->qkvb, n, OUT_SET, xq, xqs);
        for (int r = 0; r < n; r++) { // each row's key and value join its own cache
            const GPT2KVCache *kv = &bt->cache[bt->rows[r]];
            size_t off = (size_t)l * NH * bt->rowT[r] * hs;
            const float *k = bt->qkv + (size_t)r * 3 * C + C, *v = k + C;
            cache_store(kv->k + off, k, 3 * C, 1, bt->pos[r], NH, hs, bt->rowT[r]);
            cache_store(kv->v + off, v, 3 * C, 1, bt->pos[r], NH, hs, bt->rowT[r]);
            bt->kc[r] = kv->k + off, bt->vc[r] = kv->v + off;
        }
        int maxT = 1;
        for (int r = 0; r < n; r++) maxT = bt->rowT[r] > maxT ? bt->rowT[r] : maxT;
        gpt2_attention_rows(m->pool, bt->att, bt->qkv, 3 * C, bt->kc, bt->vc, bt->pos, bt->rowT, bt->scores, n, C,
                            NH, maxT);
        gpt2_matmul_rows(m->pool, bt->x, bt->att, &lw->attprojw, lw->attprojb, n, OUT_ADD, xq, xqs);
        // ---- MLP                                                       x = x + mlp(ln_2(x))
        gpt2_layernorm(m->pool, bt->xn, bt->x, lw->ln2w, lw->ln2b, n, C);
        gpt2_matmul_rows(m->pool, bt->fch, bt->xn, &lw->fcw, lw->fcb, n, OUT_GELU, xq, xqs);
        gpt2_matmul_rows(m->pool, bt->x, bt->fch, &lw->fcprojw, lw->fcprojb, n, OUT_ADD, xq, xqs);
    }
    gpt2_layernorm(m->pool, bt->xn, bt->x, w->lnfw, w->lnfb, n, C);    // ln_f(x)
    GPT2Matrix head = w->wte;                                          // lm_head(x)
    head.rows = c->V;
    gpt2_matmul_rows(m->pool, bt->rlog, bt->xn, &head, NULL, n, OUT_SET, xq, xqs);
}

// ----------------------------------------------------------------------------------------------
// generate(). The KV cache holds the window that starts at ids[start]; while the window does not
// move a step costs one position. Once the sequence outgrows the context the window slides every
// step, and because GPT-2's positions are learned embeddings the cached keys cannot be shifted:
// the whole cropped window is run again, exactly as generate() does. With GPT2_CONTEXT_SHIFT the
// window is cut to its last half instead, run once, and grows again from the cache.

// Where the window of ids (n) starts this step, given where the cached one starts (-1: none).
static int window_start(int n, int start, int context, int shift) {
    if (start >= 0 && n - start <= context) return start;            // the cache goes on
    if (start >= 0 && shift) return n - (context / 2 > 1 ? context / 2 : 1); // keep the last half
    return n > context ? n - context : 0;                              // idx[:, -context_size:]
}

// Runs sequence b's window ids[s0..n) whole from position 0 into its cache and bt->lg[b]; or, when
// an earlier sequence ran the same tokens this step (the -N samples of one prompt), copies its cache
// and logits, which are the same bits.
static void run_window(GPT2 *m, Batch *bt, const GPT2Sequence *seqs, int b, int s0) {
    const GPT2Config *c = &m->config;
    const int T = seqs[b].n - s0, V = c->V, hs = c->C / c->NH;
    const int *ids = seqs[b].ids + s0;
    bt->start[b] = s0, bt->ran[b] = 1;
    if (bt->B == 1) {
        bt->lg[b] = forward(m, &bt->cache[b], bt->cacheT[b], ids, 1, T, 0);
        return;
    }
    float *lg = bt->plog + (size_t)b * V;
    for (int o = 0; o < b; o++) {
        const GPT2Sequence *so = &seqs[o];
        if (!bt->ran[o] || so->n - bt->start[o] != T || memcmp(so->ids + bt->start[o], ids, T * sizeof(int)) != 0)
            continue;
        for (int lh = 0; lh < c->L * c->NH; lh++) { // positions 0..T-1 of each layer's heads
            size_t to = (size_t)lh * bt->cacheT[b] * hs, from = (size_t)lh * bt->cacheT[o] * hs;
            memcpy(bt->cache[b].k + to, bt->cache[o].k + from, (size_t)T * hs * sizeof(float));
            memcpy(bt->cache[b].v + to, bt->cache[o].v + from, (size_t)T * hs * sizeof(float));
        }
        memcpy(lg, bt->lg[o], (size_t)V * sizeof(float));
        bt->lg[b] = lg;
        return;
    }
    memcpy(lg, forward(m, &bt->cache[b], bt->cacheT[b], ids, 1, T, 0), (size_t)V * sizeof(float));
    bt->lg[b] = lg;
}

typedef struct {
    GPT2Sequence *seqs;
    const float *const *lg; // (B) this step's logits of each sequence (NULL: none)
    int *next;              // (B) out: the token drawn
} DrawJob;

static void draw_task(void *ctx, int b) {
    const DrawJob *j = ctx;
    GPT2Sequence *s = &j->seqs[b];
    if (j->lg[b]) j->next[b] = sampler_sample(s->sampler, j->lg[b], s->ids, s->n);
}

int gpt2_generate_batch(GPT2 *m, GPT2Sequence *seqs, int B, int eos, int flags, char *err) {
    if (B < 1) return fail(err, "gpt2_generate_batch: %d sequences (at least 1)", B);
    for (int b = 0; b < B; b++) {
        const GPT2Sequence *s = &seqs[b];
        if (!s->ids || !s->sampler || s->n_prompt < 1 || s->max_new < 0 || s->n_prompt > INT32_MAX - s->max_new ||
            s->context < 1 || s->context > m->config.maxT)
            return fail(err, "gpt2_generate_batch: sequence %d: bad arguments (ids, sampler, n_prompt %d >= 1, "
                        "max_new %d >= 0, context %d in 1..%d)", b, s->n_prompt, s->max_new, s->context,
                        m->config.maxT);
        for (int i = 0; i < s->n_prompt; i++)
            if (s->ids[i] < 0 || s->ids[i] >= m->config.V)
                return fail(err, "gpt2_generate_batch: sequence %d: token %d of the prompt is %d, outside 0..%d", b, i,
                            s->ids[i], m->config.V - 1);
    }
    int in_turn = B == 1; // draw one sequence after the other: alone, or when two share a sampler
    for (int b = 0; b < B && !in_turn; b++)
        for (int o = 0; o < b && !in_turn; o++) in_turn = seqs[o].sampler == seqs[b].sampler;
    Batch bt;
    if (batch_alloc(m, &bt, seqs, B, err)) return -1;
    for (int b = 0; b < B; b++) seqs[b].n = seqs[b].n_prompt;
    int shift = (flags & GPT2_CONTEXT_SHIFT) != 0;
    for (;;) {
        // which window each sequence runs: whole (the prompt, a slide, a shift), or one new position
        int n_rows = 0, active = 0;
        for (int b = 0; b < B; b++) {
            GPT2Sequence *s = &seqs[b];
            bt.ran[b] = 0, bt.lg[b] = NULL;
            if (s->done || s->n - s->n_prompt >= s->max_new) {
                s->done = 1;
                continue;
            }
            active++;
            int s0 = window_start(s->n, bt.start[b], s->context, shift);
            if (s0 != bt.start[b]) {
                run_window(m, &bt, seqs, b, s0);
                continue;
            }
            bt.rows[n_rows] = b, bt.tokens[n_rows] = s->ids[s->n - 1];
            bt.pos[n_rows] = s->n - 1 - s0, bt.rowT[n_rows++] = bt.cacheT[b];
        }
        if (active == 0) break;
        if (n_rows == 1) { // alone: gpt2_forward's decode, whose threads suit one row
            int b = bt.rows[0];
            bt.lg[b] = forward(m, &bt.cache[b], bt.cacheT[b], &bt.tokens[0], 1, 1, bt.pos[0]);
        } else if (n_rows > 1) {
            forward_rows(m, &bt, n_rows);
            for (int r = 0; r < n_rows; r++) bt.lg[bt.rows[r]] = bt.rlog + (size_t)r * m->config.V;
        }
        // each sequence's draw, then in order: stop at eos, else append. The draws run across the
        // threads first, unless two sequences share a sampler: then each draws in turn, just before
        // its on_token (which may read the sampler's probabilities).
        DrawJob dj = {.seqs = seqs, .lg = bt.lg, .next = bt.next};
        if (!in_turn) // (the cost: a few passes over each sequence's V logits)
            gpt2_pool_for(m->pool, B, draw_task, &dj, 4.0 * m->config.V * active);
        for (int b = 0; b < B; b++) {
            GPT2Sequence *s = &seqs[b];
            if (!bt.lg[b]) continue;
            if (in_turn) draw_task(&dj, b);
            int next = bt.next[b];
            if (next == eos) {
                s->done = 1;
                continue;
            }
            s->ids[s->n++] = next;
            if (s->on_token && s->on_token(s->ctx, next, bt.lg[b])) s->done = 1;
        }
    }
    batch_free(&bt);
    return 0;
}

int gpt2_generate(GPT2 *m, Sampler *s, int *ids, int n, int max_new, int context, int eos,
                  gpt2_on_token on_token, void *ctx) {
    char err[GPT2_ERR_LEN];
    GPT2Sequence seq = {.ids = ids, .n_prompt = n, .max_new = max_new, .context = context, .sampler = s,
                        .on_token = on_token, .ctx = ctx};
    return gpt2_generate_batch(m, &seq, 1, eos, 0, err) ? -1 : seq.n;
}
