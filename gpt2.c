// gpt2.c: GPT-2 itself. Load a checkpoint (llm.c's layout), run the forward pass with a KV cache,
// and the tutorial's generate() loop. The kernels it calls live in kernels.c.
#include "gpt2.h"
#include "kernels.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 // Linux 5.14; older C libraries lack the name
#endif

#define HEADER_INTS 256
#define N_PARAMS 16

static int fail(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, GPT2_ERR_LEN, fmt, ap);
    va_end(ap);
    return 1;
}

// a * b, or 0 when it overflows size_t (no tensor of a valid checkpoint has 0 elements).
static size_t mul(size_t a, size_t b) { return b != 0 && a > SIZE_MAX / b ? 0 : a * b; }

// Element counts of the 16 tensors in file order; 0 on overflow. The order is llm.c's.
static int param_sizes(size_t n[N_PARAMS], const GPT2Config *c) {
    size_t C = (size_t)c->C, L = (size_t)c->L;
    size_t sizes[N_PARAMS] = {
        mul(c->Vp, C),           // wte (Vp, C)
        mul(c->maxT, C),         // wpe (maxT, C)
        mul(L, C), mul(L, C),    // ln1w, ln1b (L, C)
        mul(L, mul(3 * C, C)),   // qkvw (L, 3C, C)
        mul(L, 3 * C),           // qkvb (L, 3C)
        mul(L, mul(C, C)),       // attprojw (L, C, C)
        mul(L, C),               // attprojb (L, C)
        mul(L, C), mul(L, C),    // ln2w, ln2b (L, C)
        mul(L, mul(4 * C, C)),   // fcw (L, 4C, C)
        mul(L, 4 * C),           // fcb (L, 4C)
        mul(L, mul(C, 4 * C)),   // fcprojw (L, C, 4C)
        mul(L, C),               // fcprojb (L, C)
        C, C,                    // lnfw, lnfb (C)
    };
    for (int i = 0; i < N_PARAMS; i++) {
        if (sizes[i] == 0) return 1;
        n[i] = sizes[i];
    }
    return 0;
}

enum { WTE, WPE, LN1W, LN1B, QKVW, QKVB, ATTPROJW, ATTPROJB, LN2W, LN2B, FCW, FCB, FCPROJW, FCPROJB, LNFW, LNFB };
static const int is_matrix[N_PARAMS] = {[WTE] = 1, [QKVW] = 1, [ATTPROJW] = 1, [FCW] = 1, [FCPROJW] = 1};

// Version 8 pads every piece (a tensor, a matrix's scales) to a multiple of this many bytes, so that
// each starts aligned however the pieces before it ended.
#define Q8_ALIGN 64

// a + b and n padded to Q8_ALIGN, or 0 when an argument is 0 (an overflow before: no size or offset
// here is 0) or the result overflows size_t.
static size_t add(size_t a, size_t b) { return a == 0 || b == 0 || a > SIZE_MAX - b ? 0 : a + b; }
static size_t pad(size_t n) { return n == 0 || n > SIZE_MAX - Q8_ALIGN ? 0 : (n + Q8_ALIGN - 1) / Q8_ALIGN * Q8_ALIGN; }

// Byte offsets from the start of the file: off[i] of tensor i, soff[i] of its float16 scales (version
// 8 matrices), off[N_PARAMS] the file's size. 1 when a size overflows.
static int layout(const GPT2Config *c, int version, size_t off[N_PARAMS + 1], size_t soff[N_PARAMS]) {
    size_t n[N_PARAMS], pos = HEADER_INTS * sizeof(int32_t);
    if (param_sizes(n, c)) return 1;
    for (int i = 0; i < N_PARAMS; i++) {
        off[i] = pos;
        if (version == GPT2_VERSION_Q8 && is_matrix[i]) { // int8 values, then the scales
            soff[i] = pos = add(pos, pad(n[i]));
            pos = add(pos, pad(mul(n[i] / GPT2_Q8_GROUP, sizeof(uint16_t))));
        } else if (version == GPT2_VERSION_Q8) {
            pos = add(pos, pad(mul(n[i], sizeof(float))));
        } else {
            pos = add(pos, mul(n[i], version == GPT2_VERSION_F32 ? sizeof(float) : sizeof(uint16_t)));
        }
        if (pos == 0) return 1;
    }
    off[N_PARAMS] = pos;
    return pos > (size_t)INT64_MAX;
}

// Checks the header and the file size; fills config and the layout of the tensors.
static int check_header(const char *path, const int32_t *h, size_t file_size, GPT2Config *c,
                        size_t off[N_PARAMS + 1], size_t soff[N_PARAMS], char *err) {
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
    size_t want = off[N_PARAMS];
    if (file_size < want)
        return fail(err, "gpt2_build: %s: truncated: %zu of %zu bytes", path, file_size, want);
    if (file_size > want)
        return fail(err, "gpt2_build: %s: %zu bytes after the last tensor (expected %zu bytes in all)", path,
                    file_size - want, want);
    return 0;
}

#define HUGE_PAGE ((size_t)2 << 20) // a transparent huge page (x86-64, and arm64 with 4 KB pages)

// x rounded up to a multiple of a, a power of two.
static uintptr_t round_up(uintptr_t x, uintptr_t a) { return (x + a - 1) & ~(a - 1); }

// Drops the mapped pages of [p, p + n) from our resident set (whole pages inside the range only).
static void release_pages(const void *p, size_t n) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = round_up((uintptr_t)p, page);
    uintptr_t b = ((uintptr_t)p + n) & ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

// n bytes on 2 MB boundaries, asking for transparent huge pages: decode streams all the weights
// every token, and with 4 KB pages the TLB misses cost about a tenth of the speed.
static void *alloc_huge(size_t n) {
    size_t size = round_up(n, HUGE_PAGE);
    void *p = aligned_alloc(HUGE_PAGE, size);
    if (p) madvise(p, size, MADV_HUGEPAGE);
    return p;
}

// Maps the file read-only at a 2 MB boundary and asks for huge pages before the first fault, for
// the same reason. Linux maps the page cache's 2 MB folios with single entries when the mapping
// is aligned and advised; such folios are what readahead makes for an advised mapping, and what
// large aligned writes leave behind (tools/ write checkpoints that way). NULL on failure.
static void *map_file(int fd, size_t size, int populate) {
    char *area = mmap(NULL, size + HUGE_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) return NULL;
    char *start = (char *)round_up((uintptr_t)area, HUGE_PAGE), *end = area + size + HUGE_PAGE;
    void *p = mmap(start, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        munmap(area, size + HUGE_PAGE);
        errno = e;
        return NULL;
    }
    // give back the unused ends of the reservation (whole pages: size may end mid-page)
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), tail = round_up((uintptr_t)start + size, page);
    if (start > area) munmap(area, (size_t)(start - area));
    if ((char *)tail < end) munmap((void *)tail, (size_t)(end - (char *)tail));
    madvise(p, size, MADV_HUGEPAGE);
    if (populate && madvise(p, size, MADV_POPULATE_READ) != 0 && errno == EINVAL) // before Linux 5.14
        for (size_t i = 0; i < size; i += page) (void)*(volatile const char *)((const char *)p + i);
    return p;
}

// Points the weights into the mapped file (float32 and int8 checkpoints), or converts what is not a
// matrix to float32 (bfloat16) and quantizes the matrices (--quantize int8 of a float checkpoint).
static int setup_weights(GPT2 *m, const size_t off[N_PARAMS + 1], const size_t soff[N_PARAMS], const char *path,
                         char *err) {
    const GPT2Config *c = &m->config;
    int bf16 = m->file_version == GPT2_VERSION_BF16, q8_file = m->file_version == GPT2_VERSION_Q8;
    int quantize = m->dtype == GPT2_Q8 && !q8_file;
    const char *base = m->map;
    size_t n[N_PARAMS], esize = bf16 ? 2 : 4, owned = 0, q8 = 0;
    param_sizes(n, c); // cannot overflow: check_header computed the layout from them
    for (int i = 0; i < N_PARAMS; i++) {
        if (is_matrix[i] && quantize) q8 += n[i];
        else if (!is_matrix[i] && bf16) owned += n[i];
    }
    // Quantized matrices: int8 values, then the float16 scales.
    size_t bytes = owned * sizeof(float) + q8 + q8 / GPT2_Q8_GROUP * sizeof(uint16_t);
    float *own = NULL;
    if (bytes > 0 && !(m->owned = own = alloc_huge(bytes)))
        return fail(err, "gpt2_build: %s: out of memory for %zu bytes of converted weights", path, bytes);
    int8_t *q = own ? (int8_t *)(own + owned) : NULL; // own is NULL for plain float32: no arithmetic on it
    uint16_t *qs = own ? (uint16_t *)(q + q8) : NULL;
    const void *ptr[N_PARAMS];
    GPT2Matrix mat[N_PARAMS];
    for (int i = 0; i < N_PARAMS; i++) {
        const char *src = base + off[i];
        ptr[i] = src;
        mat[i] = (GPT2Matrix){src, NULL};
        if (is_matrix[i] && q8_file) {
            const uint16_t *scale = (const uint16_t *)(base + soff[i]);
            for (size_t k = 0; k < n[i] / GPT2_Q8_GROUP; k++)
                if ((scale[k] & 0x7c00) == 0x7c00) // exponent all ones
                    return fail(err, "gpt2_build: %s: int8 checkpoint with a scale that is not finite", path);
            mat[i].scale = scale;
        } else if (is_matrix[i] && quantize) {
            int cols = i == FCPROJW ? 4 * c->C : c->C;
            if (quantize_q8(m->pool, q, qs, src, bf16, n[i] / cols, cols))
                return fail(err, "gpt2_build: %s: cannot quantize: a weight is not finite or above 8.3e6 in "
                            "magnitude (too large for int8 with float16 scales)", path);
            release_pages(src, n[i] * esize); // read once: keep the peak RSS near the int8 size
            mat[i] = (GPT2Matrix){q, qs};
            q += n[i];
            qs += n[i] / GPT2_Q8_GROUP;
        } else if (!is_matrix[i] && bf16) {
            for (size_t k = 0; k < n[i]; k++) own[k] = bf16_to_f32(((const uint16_t *)src)[k]);
            ptr[i] = own;
            own += n[i];
        }
    }
    GPT2Weights *w = &m->w;
    w->wte = mat[WTE], w->qkvw = mat[QKVW], w->attprojw = mat[ATTPROJW], w->fcw = mat[FCW], w->fcprojw = mat[FCPROJW];
    w->wpe = ptr[WPE], w->ln1w = ptr[LN1W], w->ln1b = ptr[LN1B], w->qkvb = ptr[QKVB];
    w->attprojb = ptr[ATTPROJB], w->ln2w = ptr[LN2W], w->ln2b = ptr[LN2B], w->fcb = ptr[FCB];
    w->fcprojb = ptr[FCPROJB], w->lnfw = ptr[LNFW], w->lnfb = ptr[LNFB];
    return 0;
}

static int alloc_state(GPT2 *m, const char *path, char *err) {
    const GPT2Config *c = &m->config;
    size_t T = (size_t)c->maxT, C = (size_t)c->C;
    GPT2Acts *a = &m->acts;
    a->x = malloc(T * C * sizeof(float));
    a->xn = malloc(T * C * sizeof(float));
    a->qkv = malloc(T * 3 * C * sizeof(float));
    a->att = malloc(T * C * sizeof(float));
    a->fch = malloc(T * 4 * C * sizeof(float));
    a->scores = malloc(attention_scratch(c->C, c->NH, c->maxT) * sizeof(float));
    a->logits = malloc((size_t)c->Vp * sizeof(float));
    a->xq = malloc(2 * T * 4 * C); // (maxT, 4C) int8, then as many bytes of int32 (see matmul)
    a->xqs = malloc(T * 4 * C / GPT2_Q8_GROUP * sizeof(float) + sizeof(float)); // + 1: never malloc(0) for tiny C
    // calloc: the cache's pages are only touched as positions fill up.
    m->cache.k = calloc((size_t)c->L * T * C, sizeof(float));
    m->cache.v = calloc((size_t)c->L * T * C, sizeof(float));
    if (!a->x || !a->xn || !a->qkv || !a->att || !a->fch || !a->scores || !a->logits || !a->xq || !a->xqs ||
        !m->cache.k || !m->cache.v)
        return fail(err, "gpt2_build: %s: out of memory for activations and KV cache", path);
    return 0;
}

int gpt2_build(GPT2 *m, const char *path, const GPT2Options *opt, char *err) {
    memset(m, 0, sizeof(*m));
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail(err, "gpt2_build: %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, "gpt2_build: %s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    int32_t h[HEADER_INTS];
    if (size < sizeof(h)) {
        close(fd);
        return fail(err, "gpt2_build: %s: truncated: %zu bytes, shorter than the %zu-byte header", path, size, sizeof(h));
    }
    if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
        int e = errno;
        close(fd);
        return fail(err, "gpt2_build: %s: cannot read the header: %s", path, e ? strerror(e) : "short read");
    }
    size_t off[N_PARAMS + 1], soff[N_PARAMS];
    if (check_header(path, h, size, &m->config, off, soff, err)) {
        close(fd);
        return 1;
    }
    m->file_version = h[1];
    int q8_file = h[1] == GPT2_VERSION_Q8;
    m->dtype = q8_file || (opt && opt->quantize_int8) ? GPT2_Q8 : h[1] == GPT2_VERSION_BF16 ? GPT2_BF16 : GPT2_F32;
    if (m->dtype == GPT2_Q8 && m->config.C % GPT2_Q8_GROUP != 0) {
        close(fd);
        return fail(err, "gpt2_build: %s: cannot quantize: C = %d is not a multiple of %d", path, m->config.C, GPT2_Q8_GROUP);
    }
    // Pre-fault the pages we will stream every token; quantizing at load reads the file only once.
    m->map = map_file(fd, size, m->dtype != GPT2_Q8 || q8_file);
    close(fd);
    if (!m->map) return fail(err, "gpt2_build: %s: mmap: %s", path, strerror(errno));
    m->map_size = size;
    int threads = opt && opt->threads > 0 ? opt->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (!(m->pool = pool_create(threads))) {
        gpt2_free(m);
        return fail(err, "gpt2_build: %s: out of memory for the thread pool", path);
    }
    m->n_threads = pool_threads(m->pool);
    if (setup_weights(m, off, soff, path, err) || alloc_state(m, path, err)) {
        gpt2_free(m);
        return 1;
    }
    return 0;
}

void gpt2_free(GPT2 *m) {
    if (m->map) munmap(m->map, m->map_size);
    pool_free(m->pool);
    free(m->owned);
    GPT2Acts *a = &m->acts;
    free(a->x), free(a->xn), free(a->qkv), free(a->att), free(a->fch), free(a->scores), free(a->logits);
    free(a->xq), free(a->xqs);
    free(m->cache.k), free(m->cache.v);
    memset(m, 0, sizeof(*m));
}

// ----------------------------------------------------------------------------------------------
// Forward pass.

const float *gpt2_forward(GPT2 *m, const int *tokens, int T, int pos) {
    const GPT2Config *c = &m->config;
    const GPT2Weights *w = &m->w;
    GPT2Acts *a = &m->acts;
    const int C = c->C, maxT = c->maxT, hs = C / c->NH;
    const GPT2DType dt = m->dtype;

    // token + position embedding
    for (int t = 0; t < T; t++) {
        float *x = a->x + (size_t)t * C;
        matrix_row(x, w->wte, dt, tokens[t], C);
        const float *p = w->wpe + (size_t)(pos + t) * C;
        for (int i = 0; i < C; i++) x[i] += p[i];
    }
    for (int l = 0; l < c->L; l++) {
        float *kc = m->cache.k + (size_t)l * maxT * C, *vc = m->cache.v + (size_t)l * maxT * C;
        layernorm(a->xn, a->x, w->ln1w + l * C, w->ln1b + l * C, T, C);
        matmul(m->pool, a->qkv, a->xn, matrix_layer(w->qkvw, dt, l, 3 * C, C), dt, w->qkvb + l * 3 * C, T, C,
               3 * C, EPI_STORE, a->xq, a->xqs);
        for (int t = 0; t < T; t++) // keys and values of the new positions go to the cache (NH, maxT, hs)
            for (int h = 0; h < c->NH; h++) {
                const float *k = a->qkv + (size_t)t * 3 * C + C + h * hs;
                memcpy(kc + ((size_t)h * maxT + pos + t) * hs, k, hs * sizeof(float));
                memcpy(vc + ((size_t)h * maxT + pos + t) * hs, k + C, hs * sizeof(float));
            }
        attention(m->pool, a->att, a->qkv, kc, vc, a->scores, T, pos, C, c->NH, maxT);
        matmul(m->pool, a->x, a->att, matrix_layer(w->attprojw, dt, l, C, C), dt, w->attprojb + l * C, T, C, C,
               EPI_ADD, a->xq, a->xqs);
        layernorm(a->xn, a->x, w->ln2w + l * C, w->ln2b + l * C, T, C);
        matmul(m->pool, a->fch, a->xn, matrix_layer(w->fcw, dt, l, 4 * C, C), dt, w->fcb + l * 4 * C, T, C,
               4 * C, EPI_GELU, a->xq, a->xqs);
        matmul(m->pool, a->x, a->fch, matrix_layer(w->fcprojw, dt, l, C, 4 * C), dt, w->fcprojb + l * C, T,
               4 * C, C, EPI_ADD, a->xq, a->xqs);
    }
    layernorm(a->xn, a->x, w->lnfw, w->lnfb, T, C);
    // tied head: logits = lnf(x) . wte[:V]^T, the last position only
    matmul(m->pool, a->logits, a->xn + (size_t)(T - 1) * C, w->wte, dt, NULL, 1, C, c->V, EPI_STORE, a->xq, a->xqs);
    return a->logits;
}

void gpt2_logits(GPT2 *m, int t0, int n, float *out) {
    const GPT2Config *c = &m->config;
    matmul(m->pool, out, m->acts.xn + (size_t)t0 * c->C, m->w.wte, m->dtype, NULL, n, c->C, c->V, EPI_STORE,
           m->acts.xq, m->acts.xqs);
}

// ----------------------------------------------------------------------------------------------
// The tutorial's generate(). The KV cache holds the window that starts at ids[start]; while the
// window does not move a step costs one position. Once the sequence outgrows the context the window
// slides every step, and because GPT-2's positions are learned embeddings the cached keys cannot be
// shifted: the whole cropped window is run again, exactly as generate() does.

int gpt2_generate(GPT2 *m, Sampler *s, int *ids, int n, int max_new, int context, int eos,
                  gpt2_on_token on_token, void *ctx) {
    if (n < 1 || max_new < 0 || context < 1 || context > m->config.maxT) return -1;
    int start = -1; // nothing cached yet
    for (int step = 0; step < max_new; step++) {
        int s0 = n > context ? n - context : 0; // idx[:, -context_size:]
        const float *logits = s0 == start ? gpt2_forward(m, ids + n - 1, 1, n - 1 - s0)
                                          : gpt2_forward(m, ids + s0, n - s0, 0);
        start = s0;
        int next = sampler_sample(s, logits, ids, n);
        if (next == eos) break;
        ids[n++] = next;
        if (on_token && on_token(ctx, next, logits)) break;
    }
    return n;
}
