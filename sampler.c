// sampler.c: from logits to one token id. The book's top-k and temperature (gpt2.h), with the
// filters users know from Hugging Face and llama.cpp; each is off by default, so -t and -k alone give
// exactly the book's distribution. Order: repeat penalty, top-k, temperature, top-p, min-p.
#include "gpt2.h"
#include "util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

SamplerConfig sampler_defaults(void) {
    return (SamplerConfig){.temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                           .repeat_penalty = 1.0f, .repeat_last_n = 64, .seed = 42};
}

// ---- RNG: xoshiro256** (Blackman and Vigna), its four words of state filled by splitmix64 from the
// seed (util.h), as its authors recommend; nearby seeds give unrelated streams.

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro256ss(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sampler_uniform(Sampler *s) { return (double)(xoshiro256ss(s->rng) >> 11) * 0x1.0p-53; }

// A message for the first setting of c outside what the sampler takes (NaN is outside every range).
static int check_config(const SamplerConfig *c, int V, char *err) {
    if (!(c->temperature >= 0.0f && c->temperature <= 1e30f))
        return fail(err, "sampler_build: temperature %g is outside [0, 1e30]", c->temperature);
    if (c->top_k < 0 || c->top_k > V) return fail(err, "sampler_build: top_k %d is outside 0..%d", c->top_k, V);
    if (!(c->top_p > 0.0f && c->top_p <= 1.0f)) return fail(err, "sampler_build: top_p %g is outside (0, 1]", c->top_p);
    if (!(c->min_p >= 0.0f && c->min_p < 1.0f)) return fail(err, "sampler_build: min_p %g is outside [0, 1)", c->min_p);
    if (!(c->repeat_penalty > 0.0f && c->repeat_penalty <= 1e30f))
        return fail(err, "sampler_build: repeat_penalty %g is outside (0, 1e30]", c->repeat_penalty);
    if (c->repeat_last_n < 0) return fail(err, "sampler_build: repeat_last_n %d is negative", c->repeat_last_n);
    return 0;
}

int sampler_build(Sampler *s, int V, const SamplerConfig *cfg, char *err) {
    memset(s, 0, sizeof(*s));
    if (V < 1) return fail(err, "sampler_build: vocabulary size %d is not positive", V);
    if (cfg && check_config(cfg, V, err) != 0) return -1;
    s->cfg = cfg ? *cfg : sampler_defaults();
    s->V = V;
    uint64_t x = s->cfg.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
    s->logits = malloc((size_t)V * sizeof(float));
    s->probs = malloc((size_t)V * sizeof(float));
    s->order = malloc((size_t)V * sizeof(int));
    if (!s->logits || !s->probs || !s->order) {
        sampler_free(s);
        return fail(err, "sampler_build: out of memory for a vocabulary of %d", V);
    }
    return 0;
}

void sampler_free(Sampler *s) {
    free(s->logits), free(s->probs), free(s->order);
    s->logits = s->probs = NULL;
    s->order = NULL;
}

// ---- the filters, each on s->logits (V) or s->probs (V)

// llama.cpp's and Hugging Face's repetition penalty: a seen token's positive logit is divided by
// the penalty, a negative one multiplied, once per token however often it was seen. s->order (V)
// marks the tokens already penalised, so a long window costs O(n), not O(n^2).
static void apply_repeat_penalty(Sampler *s, const int *history, int n) {
    float r = s->cfg.repeat_penalty;
    int from = n - s->cfg.repeat_last_n < 0 ? 0 : n - s->cfg.repeat_last_n;
    for (int i = from; i < n; i++)
        if (history[i] >= 0 && history[i] < s->V) s->order[history[i]] = 0;
    for (int i = from; i < n; i++) {
        int id = history[i];
        if (id < 0 || id >= s->V || s->order[id]) continue;
        s->order[id] = 1;
        s->logits[id] = s->logits[id] > 0 ? s->logits[id] / r : s->logits[id] * r;
    }
}

// Restores the min-heap below heap[i] (n values): every parent at most its children.
static void sift_min(float *heap, int i, int n) {
    for (int c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && heap[c + 1] < heap[c]) c++;
        if (heap[i] <= heap[c]) return;
        float t = heap[i];
        heap[i] = heap[c], heap[c] = t;
    }
}

// The k-th largest of x (n), 1 <= k <= n: heap (k) keeps the k largest seen so far with the
// smallest at its root, so each later value costs one comparison with the root, and only the few
// that beat it a sift. O(n log k); those comparisons are nearly always false, which the branch
// predictor learns, where quickselect's are coin flips (it took half a millisecond for V = 50,257).
// The values are first compared with the root 16 at a time (a loop the compiler vectorizes); only
// a block with one above it goes one by one. The root only grows, so a block with none above it at
// its start has none above it later either: the same heap as one value at a time.
static void offer(float *heap, int k, float v) {
    if (v > heap[0]) {
        heap[0] = v;
        sift_min(heap, 0, k);
    }
}
static float kth_largest(const float *x, float *heap, int n, int k) {
    memcpy(heap, x, (size_t)k * sizeof(float));
    for (int i = k / 2 - 1; i >= 0; i--) sift_min(heap, i, k);
    int i = k;
    for (; i + 16 <= n; i += 16) {
        const float root = heap[0];
        int above = 0;
        for (int j = 0; j < 16; j++) above |= x[i + j] > root;
        if (above)
            for (int j = i; j < i + 16; j++) offer(heap, k, x[j]);
    }
    for (; i < n; i++) offer(heap, k, x[i]);
    return heap[0];
}

// torch.topk then torch.where(logits < min_val, -inf, logits): ties with the k-th value stay.
static void apply_top_k(Sampler *s) {
    int k = s->cfg.top_k;
    if (k <= 0 || k >= s->V) return;
    float min_val = kth_largest(s->logits, s->probs, s->V, k);
    for (int i = 0; i < s->V; i++)
        if (s->logits[i] < min_val) s->logits[i] = -INFINITY;
}

// The largest of x (n, no NaN), in eight independent chains (one chain waits on each comparison;
// eight take a sixth of the time).
static float max_value(const float *x, int n) {
    float m[8];
    for (int j = 0; j < 8; j++) m[j] = x[0];
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    for (int j = 1; j < 8; j++) m[0] = m[j] > m[0] ? m[j] : m[0];
    return m[0];
}

// The lowest id of the largest of x (n, no NaN), as torch.argmax.
static int argmax(const float *x, int n) {
    float max = max_value(x, n);
    for (int i = 0; i < n; i++)
        if (x[i] == max) return i;
    return 0;
}

// softmax(logits / T) into probs; the sum in double so that 50,257 small terms keep their mass.
// Divide rather than multiply by 1/T, as the book's `logits / temperature` does: with a tiny T, 1/T
// overflows to inf and (max - max) * inf would be NaN, while (max - max) / T is 0.
static void softmax_temperature(Sampler *s) {
    float max = max_value(s->logits, s->V), t = s->cfg.temperature;
    double sum = 0.0;
    for (int i = 0; i < s->V; i++) {
        // filtered tokens (-inf: top-k leaves k of V) get 0, which adds nothing to the sum: they
        // skip expf and the chain of additions
        float p = 0.0f;
        if (s->logits[i] != -INFINITY) {
            p = expf((s->logits[i] - max) / t);
            sum += p;
        }
        s->probs[i] = p;
    }
    for (int i = 0; i < s->V; i++) s->probs[i] = (float)(s->probs[i] / sum);
}

// Token a comes before token b: more likely, or as likely and a lower id (a total order, so the
// sorted result does not depend on the sort).
static int before(const float *probs, int a, int b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); }

static void swap_ids(int *ids, int i, int j) {
    int t = ids[i];
    ids[i] = ids[j], ids[j] = t;
}

// Restores the heap below ids[i] (n ids): every parent comes after its children in `before` order.
static void sift_down(int *ids, int i, int n, const float *probs) {
    for (int c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && before(probs, ids[c], ids[c + 1])) c++; // the child that comes later
        if (before(probs, ids[c], ids[i])) return;
        swap_ids(ids, i, c);
    }
}

// Heapsort of ids (n) into `before` order: in place, O(n log n), no allocation. (qsort cannot pass
// probs to its comparison, and qsort_r takes its arguments in a different order on each system.)
static void sort_by_prob(int *ids, int n, const float *probs) {
    for (int i = n / 2 - 1; i >= 0; i--) sift_down(ids, i, n, probs);
    for (int end = n - 1; end > 0; end--) {
        swap_ids(ids, 0, end); // the heap's root comes last of those left
        sift_down(ids, 0, end, probs);
    }
}

// Nucleus: keep the most likely tokens until their mass reaches top_p (the one that crosses it
// included). Tokens below (1 - top_p) / (V - 1) can never be needed to reach it, so only the rest
// are sorted (llama2.c's trick): a few hundred candidates instead of the whole vocabulary.
static void apply_top_p(Sampler *s) {
    float p = s->cfg.top_p;
    if (p >= 1.0f) return;
    float cutoff = (1.0f - p) / (float)(s->V > 1 ? s->V - 1 : 1);
    int n = 0;
    for (int i = 0; i < s->V; i++)
        if (s->probs[i] >= cutoff && s->probs[i] > 0.0f) s->order[n++] = i;
    if (n == 0) // top_p <= 1/V: the cutoff can exceed even the largest probability
        for (int i = 0; i < s->V; i++)
            if (s->probs[i] > 0.0f) s->order[n++] = i;
    sort_by_prob(s->order, n, s->probs);
    double cum = 0.0;
    int keep = 0;
    while (keep < n && cum < p) cum += s->probs[s->order[keep++]];
    if (keep == 0) keep = 1;
    float floor_p = s->probs[s->order[keep - 1]];
    // everything after the kept prefix goes, including tokens below the cutoff
    for (int i = keep; i < n; i++) s->probs[s->order[i]] = 0.0f;
    for (int i = 0; i < s->V; i++)
        if (s->probs[i] < floor_p) s->probs[i] = 0.0f;
}

static void apply_min_p(Sampler *s) {
    if (s->cfg.min_p <= 0.0f) return;
    float limit = s->cfg.min_p * max_value(s->probs, s->V);
    for (int i = 0; i < s->V; i++)
        if (s->probs[i] < limit) s->probs[i] = 0.0f;
}

static void renormalize(float *p, int n) {
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        if (p[i] > 0.0f) sum += p[i]; // (zeros add nothing: only the kept tokens in the chain)
    for (int i = 0; i < n; i++) p[i] = (float)(p[i] / sum);
}

// Logits that are not finite (a caller's, or a penalty's overflow) made usable: NaN can never be
// drawn (-inf), +inf is the largest float; when no logit is above -inf, every token is as likely.
static void make_finite(float *x, int n) {
    for (int i = 0; i < n; i++) // (no branch and no reduction in the loop: gcc vectorizes it only so)
        x[i] = isnan(x[i]) ? -INFINITY : x[i] == INFINITY ? FLT_MAX : x[i];
    if (max_value(x, n) == -INFINITY) memset(x, 0, (size_t)n * sizeof(float));
}

void sampler_probs(Sampler *s, const float *logits, const int *history, int n_history) {
    memcpy(s->logits, logits, (size_t)s->V * sizeof(float));
    if (s->cfg.repeat_penalty != 1.0f) apply_repeat_penalty(s, history, n_history);
    make_finite(s->logits, s->V);
    apply_top_k(s);
    if (s->cfg.temperature <= 0.0f) { // greedy: all the mass on the argmax
        memset(s->probs, 0, (size_t)s->V * sizeof(float));
        s->probs[argmax(s->logits, s->V)] = 1.0f;
        return;
    }
    softmax_temperature(s);
    if (s->cfg.top_p < 1.0f || s->cfg.min_p > 0.0f) {
        apply_top_p(s);
        apply_min_p(s);
        renormalize(s->probs, s->V);
    }
}

int sampler_draw(Sampler *s) {
    if (s->cfg.temperature <= 0.0f) return argmax(s->probs, s->V);
    // inverse CDF of one uniform draw, ids in ascending order; the last token with mass catches
    // rounding at the top end
    double u = sampler_uniform(s), cdf = 0.0;
    int last = 0;
    for (int i = 0; i < s->V; i++) {
        if (s->probs[i] <= 0.0f) continue;
        cdf += s->probs[i];
        last = i;
        if (u < cdf) return i;
    }
    return last;
}

int sampler_sample(Sampler *s, const float *logits, const int *history, int n_history) {
    sampler_probs(s, logits, history, n_history);
    return sampler_draw(s);
}
