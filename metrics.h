// metrics.h: numbers about a set of generated continuations (token ids), for --sweep: the
// degeneration metrics of Holtzman et al., "The Curious Case of Neural Text Degeneration" (ICLR
// 2020), and distinct-n. docs/exploring.md defines each with its source. Plain arithmetic on ids: no
// model, no I/O; the command line's side (like explore.c), not the library's. Each returns NAN where
// the metric is undefined (say Self-BLEU of fewer than two samples); -1 from the functions that
// allocate means out of memory.
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

// Samples: n of them, sample i is ids[i] (len[i] tokens).
typedef struct {
    const int *const *ids;
    const int *len;
    int n;
} MetricsSamples;

// Self-BLEU-4 (Zhu et al. 2018, as Holtzman et al. use it): the mean over samples of the BLEU-4 of
// each against all the others as references (clipped n-gram precisions for n = 1..4, weights 1/4,
// a zero count smoothed to 0.1 as nltk's SmoothingFunction().method1, brevity penalty against the
// reference length closest to the sample's). 1 when all samples are the same; NAN for n < 2.
double metrics_self_bleu4(const MetricsSamples *s);

// distinct-n (Li et al. 2016): distinct n-grams over all n-grams of all samples (an n-gram never
// spans two samples). NAN when there is no n-gram.
double metrics_distinct(const MetricsSamples *s, int n);

// The Zipf coefficient: -slope of the least-squares line through (log rank, log count) of the
// samples' token counts, most frequent first (at most the 5000 most frequent, as Holtzman et al.'s
// metrics/zipf.py). NAN with fewer than two distinct tokens.
double metrics_zipf(const MetricsSamples *s);

// 1 when ids (n) ends in a repetition as Holtzman et al.'s metrics/repetition.py counts one: of the
// phrases of 1..90 tokens that end the text, the one repeated most often back to back (the shortest
// on ties) is repeated at least twice and is 3 tokens or longer, or repeated more than 50 times.
// eos (-1: none) at the very end is left out first. *phrase_len and *times (may be NULL) describe it.
int metrics_ends_in_repetition(const int *ids, int n, int eos, int *phrase_len, int *times);

// The share of samples that end in a repetition; NAN for none.
double metrics_repetition(const MetricsSamples *s, int eos);

#endif // METRICS_H
