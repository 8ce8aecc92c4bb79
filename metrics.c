// metrics.c: the degeneration metrics of a set of continuations (metrics.h), on token ids.
// Written from the definitions in Holtzman et al. (ICLR 2020) and their metrics/ scripts
// (github.com/ari-holtzman/degen): Self-BLEU through nltk's sentence_bleu, the Zipf coefficient by
// linear regression, the repetition test of metrics/repetition.py. docs/exploring.md says more.
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLEU_N 4
#define BLEU_EPSILON 0.1 // nltk's SmoothingFunction().method1: a zero count of matches becomes 0.1
#define ZIPF_TOP 5000    // metrics/zipf.py's --N: the regression uses at most this many ranks
#define REPEAT_MAX_N 90  // metrics/repetition.py's max_n: the longest phrase looked for

// How often the n-gram g (n ids) occurs in ids (len).
static int ngram_count(const int *g, int n, const int *ids, int len) {
    int c = 0;
    for (int p = 0; p + n <= len; p++) c += memcmp(ids + p, g, (size_t)n * sizeof(int)) == 0;
    return c;
}

// The BLEU-4 of sample h against every other sample as references (nltk's sentence_bleu).
static double bleu4_of(const MetricsSamples *s, int h) {
    const int *hyp = s->ids[h];
    int c = s->len[h];
    double log_sum = 0.0;
    for (int n = 1; n <= BLEU_N; n++) {
        // clipped matches: each distinct n-gram of the sample counts at most as often as it occurs in
        // the reference where it occurs most
        long matches = 0, total = c - n + 1 > 0 ? c - n + 1 : 0;
        for (int p = 0; p + n <= c; p++) {
            if (ngram_count(hyp + p, n, hyp, p + n - 1) > 0) continue; // counted at its first occurrence
            int in_hyp = ngram_count(hyp + p, n, hyp, c), in_ref = 0;
            for (int r = 0; r < s->n; r++) {
                if (r == h) continue;
                int k = ngram_count(hyp + p, n, s->ids[r], s->len[r]);
                if (k > in_ref) in_ref = k;
            }
            matches += in_hyp < in_ref ? in_hyp : in_ref;
        }
        if (n == 1 && matches == 0) return 0.0; // nltk: no unigram in common scores 0
        double denom = total > 0 ? (double)total : 1.0;
        log_sum += log(matches > 0 ? matches / denom : BLEU_EPSILON / denom) / BLEU_N;
    }
    // brevity penalty against the closest reference length (the shorter on ties)
    int ref_len = -1;
    for (int r = 0; r < s->n; r++) {
        if (r == h) continue;
        int d = abs(s->len[r] - c), best = abs(ref_len - c);
        if (ref_len < 0 || d < best || (d == best && s->len[r] < ref_len)) ref_len = s->len[r];
    }
    double bp = c > ref_len ? 1.0 : c == 0 ? 0.0 : exp(1.0 - (double)ref_len / c);
    return bp * exp(log_sum);
}

double metrics_self_bleu4(const MetricsSamples *s) {
    if (s->n < 2) return NAN;
    double sum = 0.0;
    for (int h = 0; h < s->n; h++) sum += bleu4_of(s, h);
    return sum / s->n;
}

// ---- distinct-n

typedef struct {
    const int *p;
    int n;
} Ngram;

static int ngram_cmp(const void *a, const void *b) {
    const Ngram *x = a, *y = b;
    for (int i = 0; i < x->n; i++)
        if (x->p[i] != y->p[i]) return x->p[i] < y->p[i] ? -1 : 1;
    return 0;
}

double metrics_distinct(const MetricsSamples *s, int n) {
    size_t total = 0;
    for (int i = 0; i < s->n; i++) total += s->len[i] >= n ? (size_t)(s->len[i] - n + 1) : 0;
    if (total == 0 || n < 1) return NAN;
    Ngram *g = malloc(total * sizeof(Ngram));
    if (!g) return -1.0;
    size_t k = 0;
    for (int i = 0; i < s->n; i++)
        for (int p = 0; p + n <= s->len[i]; p++) g[k++] = (Ngram){.p = s->ids[i] + p, .n = n};
    qsort(g, total, sizeof(Ngram), ngram_cmp);
    size_t distinct = 1;
    for (size_t i = 1; i < total; i++) distinct += ngram_cmp(&g[i - 1], &g[i]) != 0;
    free(g);
    return (double)distinct / total;
}

// ---- Zipf

static int int_cmp(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int int_cmp_desc(const void *a, const void *b) { return int_cmp(b, a); }

double metrics_zipf(const MetricsSamples *s) {
    size_t total = 0;
    for (int i = 0; i < s->n; i++) total += (size_t)s->len[i];
    if (total == 0) return NAN;
    int *all = malloc(total * sizeof(int)), *counts = malloc(total * sizeof(int));
    if (!all || !counts) return free(all), free(counts), -1.0;
    size_t k = 0, distinct = 0;
    for (int i = 0; i < s->n; i++) memcpy(all + k, s->ids[i], (size_t)s->len[i] * sizeof(int)), k += (size_t)s->len[i];
    qsort(all, total, sizeof(int), int_cmp);
    for (size_t i = 0; i < total; distinct++) { // run lengths: each distinct token's count
        size_t j = i;
        while (j < total && all[j] == all[i]) j++;
        counts[distinct] = (int)(j - i);
        i = j;
    }
    qsort(counts, distinct, sizeof(int), int_cmp_desc);
    size_t m = distinct < ZIPF_TOP ? distinct : ZIPF_TOP;
    double zipf = NAN;
    if (m >= 2) { // least squares: y = log count on x = log rank
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (size_t r = 0; r < m; r++) {
            double x = log((double)(r + 1)), y = log((double)counts[r]);
            sx += x, sy += y, sxx += x * x, sxy += x * y;
        }
        zipf = -(m * sxy - sx * sy) / (m * sxx - sx * sx) + 0.0; // + 0.0: no "-0" for equal counts
    }
    free(all), free(counts);
    return zipf;
}

// ---- repetition

int metrics_ends_in_repetition(const int *ids, int n, int eos, int *phrase_len, int *times) {
    if (n > 0 && eos >= 0 && ids[n - 1] == eos) n--;
    int best_len = 1, best_times = 0;
    for (int len = 1; len <= REPEAT_MAX_N; len++) {
        // copies of the last len tokens back to back at the end
        int t = 1;
        while ((t + 1) * len <= n &&
               memcmp(ids + n - (t + 1) * len, ids + n - len, (size_t)len * sizeof(int)) == 0)
            t++;
        if (t > best_times) best_times = t, best_len = len; // strict: the shortest wins ties
    }
    if (phrase_len) *phrase_len = best_len;
    if (times) *times = best_times;
    return best_times > 1 && (best_len >= 3 || best_times > 50);
}

double metrics_repetition(const MetricsSamples *s, int eos) {
    if (s->n < 1) return NAN;
    int rep = 0;
    for (int i = 0; i < s->n; i++) rep += metrics_ends_in_repetition(s->ids[i], s->len[i], eos, NULL, NULL);
    return (double)rep / s->n;
}
