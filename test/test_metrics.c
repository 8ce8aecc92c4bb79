// test_metrics: the --sweep metrics (metrics.c) on inputs whose answer is known by hand: identical
// samples have Self-BLEU 1, disjoint ones 0, a pair with known clipped precisions their geometric
// mean (with nltk's smoothing and brevity penalty); distinct-n by counting; a sequence with counts
// K / r^s has Zipf coefficient s; texts that loop end in a repetition, others do not. Exits 1 on any
// mismatch.
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int failures = 0;

static void expect(const char *what, double got, double want) {
    int ok = isnan(want) ? isnan(got) : fabs(got - want) <= 1e-12 + 1e-12 * fabs(want);
    printf("%s %s: %.15g (want %.15g)\n", ok ? "ok  " : "FAIL", what, got, want);
    failures += !ok;
}

// Samples from arrays terminated by -1.
#define MAX_SAMPLES 8
typedef struct {
    const int *ids[MAX_SAMPLES];
    int len[MAX_SAMPLES];
    MetricsSamples s;
} Set;

static MetricsSamples *set_of(Set *set, int n, const int *const *arrays) {
    for (int i = 0; i < n; i++) {
        set->ids[i] = arrays[i];
        set->len[i] = 0;
        while (arrays[i][set->len[i]] >= 0) set->len[i]++;
    }
    set->s = (MetricsSamples){.ids = set->ids, .len = set->len, .n = n};
    return &set->s;
}

static void test_self_bleu(void) {
    Set set;
    static const int a[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1}, b[] = {11, 12, 13, 14, 15, -1};
    const int *same[] = {a, a, a};
    expect("Self-BLEU-4 of three identical samples", metrics_self_bleu4(set_of(&set, 3, same)), 1.0);
    const int *disjoint[] = {a, b};
    expect("Self-BLEU-4 of samples with no token in common", metrics_self_bleu4(set_of(&set, 2, disjoint)), 0.0);
    // 1 2 3 4 5 against 1 2 3 4 6 (and back): precisions 4/5, 3/4, 2/3, 1/2, equal lengths (no penalty)
    static const int c[] = {1, 2, 3, 4, 5, -1}, d[] = {1, 2, 3, 4, 6, -1};
    const int *pair[] = {c, d};
    expect("Self-BLEU-4 of 12345 and 12346", metrics_self_bleu4(set_of(&set, 2, pair)),
           pow(4.0 / 5 * 3.0 / 4 * 2.0 / 3 * 1.0 / 2, 0.25));
    // 1 2 3 4 against 1 2 5 4: 3/4, 1/3, then no 3-gram (0.1/2) nor 4-gram (0.1/1) in common: smoothed
    static const int e[] = {1, 2, 3, 4, -1}, f[] = {1, 2, 5, 4, -1};
    const int *smooth[] = {e, f};
    expect("Self-BLEU-4 with zero 3- and 4-gram matches (smoothing 0.1)", metrics_self_bleu4(set_of(&set, 2, smooth)),
           pow(3.0 / 4 * 1.0 / 3 * 0.1 / 2 * 0.1 / 1, 0.25));
    // 1 2 against 1 2 3 4: brevity penalty exp(1 - 4/2), precisions 1, 1, 0.1, 0.1; back: no penalty,
    // precisions 2/4, 1/3, 0.1/2, 0.1/1
    static const int g[] = {1, 2, -1}, h[] = {1, 2, 3, 4, -1};
    const int *brief[] = {g, h};
    double short_one = exp(1.0 - 4.0 / 2) * pow(1.0 * 1.0 * 0.1 * 0.1, 0.25);
    double long_one = pow(2.0 / 4 * 1.0 / 3 * 0.1 / 2 * 0.1, 0.25);
    expect("Self-BLEU-4 with the brevity penalty", metrics_self_bleu4(set_of(&set, 2, brief)), (short_one + long_one) / 2);
    // clipping: 7 7 7 7 against 7 x x x counts one 7 of four
    static const int i7[] = {7, 7, 7, 7, -1}, j7[] = {7, 8, 9, 10, -1};
    const int *clip[] = {i7, j7};
    double hyp7 = pow(1.0 / 4 * 0.1 / 3 * 0.1 / 2 * 0.1 / 1, 0.25), hyp8 = pow(1.0 / 4 * 0.1 / 3 * 0.1 / 2 * 0.1, 0.25);
    expect("Self-BLEU-4 clips repeated tokens", metrics_self_bleu4(set_of(&set, 2, clip)), (hyp7 + hyp8) / 2);
    const int *one[] = {a};
    expect("Self-BLEU-4 of one sample is undefined", metrics_self_bleu4(set_of(&set, 1, one)), NAN);
}

static void test_distinct(void) {
    Set set;
    static const int a[] = {1, 2, 1, 2, -1}, b[] = {1, 2, -1};
    const int *s[] = {a, b};
    expect("distinct-1 of 1212 and 12", metrics_distinct(set_of(&set, 2, s), 1), 2.0 / 6);
    expect("distinct-2 of 1212 and 12 (12, 21, 12 | 12)", metrics_distinct(set_of(&set, 2, s), 2), 2.0 / 4);
    static const int c[] = {1, 2, 3, 4, 5, -1};
    const int *t[] = {c};
    expect("distinct-2 of five different tokens", metrics_distinct(set_of(&set, 1, t), 2), 1.0);
}

// A sequence where token r (1..m) occurs K / r^s times, in one sample (order does not matter).
static void test_zipf_of(int m, int K, int s) {
    int total = 0, *ids, n = 0;
    for (int r = 1; r <= m; r++) total += K / (int)pow(r, s);
    ids = malloc((size_t)total * sizeof(int));
    for (int r = 1; r <= m; r++)
        for (int k = 0; k < K / (int)pow(r, s); k++) ids[n++] = 100 + (r * 37) % 97; // ids unrelated to ranks
    const int *p[] = {ids};
    int len[] = {n};
    MetricsSamples ms = {.ids = p, .len = len, .n = 1};
    char what[96];
    snprintf(what, sizeof(what), "Zipf coefficient of counts %d / r^%d, r = 1..%d", K, s, m);
    double got = metrics_zipf(&ms);
    int ok = fabs(got - s) <= 1e-9;
    printf("%s %s: %.15g (want %d)\n", ok ? "ok  " : "FAIL", what, got, s);
    failures += !ok;
    free(ids);
}

static void test_repetition(void) {
    static const int loop3[] = {5, 6, 7, 1, 2, 3, 1, 2, 3}, loop2[] = {4, 1, 2, 1, 2, 1, 2},
                     plain[] = {1, 2, 3, 4, 5, 6}, eos[] = {8, 1, 2, 3, 1, 2, 3, 50256};
    int len, times;
    expect("'5 6 7 1 2 3 1 2 3' ends in a repetition", metrics_ends_in_repetition(loop3, 9, -1, &len, &times), 1);
    expect("... of the 3-token phrase", len, 3);
    expect("... twice", times, 2);
    expect("'4 1 2 1 2 1 2' (a 2-token phrase 3 times) does not", metrics_ends_in_repetition(loop2, 7, -1, NULL, NULL), 0);
    expect("'1 2 3 4 5 6' does not", metrics_ends_in_repetition(plain, 6, -1, NULL, NULL), 0);
    expect("a loop then end-of-text does", metrics_ends_in_repetition(eos, 8, 50256, NULL, NULL), 1);
    expect("... unless end-of-text is not left out", metrics_ends_in_repetition(eos, 8, -1, NULL, NULL), 0);
    int same[60];
    for (int i = 0; i < 60; i++) same[i] = 9;
    expect("one token 51 times does", metrics_ends_in_repetition(same, 51, -1, &len, &times), 1);
    expect("... (1 token, 51 times)", len * 1000 + times, 1051);
    expect("one token 50 times does not", metrics_ends_in_repetition(same, 50, -1, NULL, NULL), 0);
    const int *ids[] = {loop3, loop2, plain, same};
    int lens[] = {9, 7, 6, 60};
    MetricsSamples s = {.ids = ids, .len = lens, .n = 4};
    expect("share of samples ending in a repetition (2 of 4)", metrics_repetition(&s, -1), 0.5);
}

int main(void) {
    test_self_bleu();
    test_distinct();
    test_zipf_of(10, 2520, 1);
    test_zipf_of(6, 3600, 2);
    test_zipf_of(12, 27720, 1);
    test_repetition();
    printf("test_metrics: %s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
