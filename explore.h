// explore.h: the command line's views of the model (explore.c), for the book's decoding experiments
// (gpt2.h names the book): the next-token distribution as a bar chart, the same distribution at
// several temperatures, many draws counted per token, and the perplexity of a text. Not part of the
// public API (gpt2.h): these print, and the command line is their only caller. They follow the
// library's convention: 0 on success, -1 with a one-line message in err.
#ifndef EXPLORE_H
#define EXPLORE_H

#include "gpt2.h"

#include <stdio.h>

// How charts are drawn on f: EXPLORE_UNICODE (block bars, the ▶ mark) when both stdout and f are
// terminals, with EXPLORE_COLOR unless NO_COLOR is set and not empty (https://no-color.org); 0
// (plain ASCII, '#' bars) otherwise.
enum { EXPLORE_UNICODE = 1, EXPLORE_COLOR = 2 };
int explore_fancy(FILE *f);

// The width of f in columns, which every line of a chart fits: the terminal's (TIOCGWINSZ), else
// $COLUMNS, else 80.
int explore_columns(FILE *f);

// text on f, wrapped at spaces to explore_columns(f) (continued lines indented by one), then a newline.
void explore_title(FILE *f, const char *text);

// Token bytes b (n) as a quoted C-like string with whitespace and control bytes visible ("\n",
// "\t", "\x0c"; bytes that are not part of a valid UTF-8 character as \xNN; invisible characters
// (format characters such as U+200B, U+200E and U+00AD, variation selectors, controls, spaces other
// than ' ') as \u200b or \U000e0001; a combining mark as \u0301 when nothing before it in the
// token can carry it), at most max_cols display columns (wide characters two, combining marks none:
// unicode_width.h), cut with "..." when longer. Writes a NUL-terminated string into out
// (cap >= 4 * max_cols + 16); returns its display width.
int explore_escape(char *out, size_t cap, const unsigned char *b, size_t n, int max_cols);

// The rows most likely next tokens by logit (V), one line each: token, id, logit, probability under
// the raw softmax (T = 1, no filter), and under sampled (V, the sampler's distribution: s->probs);
// the row of `chosen` is marked (-1: none). title heads the chart. tok may be NULL (ids only).
// Every line fits explore_columns(f) (bars shrink, down to none, on a narrow terminal).
int explore_show_probs(FILE *f, const Tokenizer *tok, const float *logits, const float *sampled, int V,
                       int chosen, int rows, int fancy, const char *title, char *err);

// The book's temperature figure (softmax at T = 1, 0.1 and 5): the rows most likely tokens, one
// column of bars per temperature in temps (n_temps), each the distribution the sampler draws from
// with cfg's other settings. As many columns side by side as explore_columns(f) holds, the others
// below in more blocks of the same rows.
int explore_compare_temperatures(FILE *f, const Tokenizer *tok, const float *logits, int V,
                                 const SamplerConfig *cfg, const float *temps, int n_temps, int rows,
                                 const int *history, int n_history, int fancy, char *err);

// The book's print_sampled_tokens (a thousand draws counted per token): `draws` ids drawn from the
// sampler's distribution for logits (V); one line per id drawn at least once (count, share in
// percent, id, token), most frequent first, at most rows lines (when more ids were drawn, the last
// line sums the others). The draws are exactly the ids that `draws` calls of sampler_draw would give.
int explore_draws(FILE *f, const Tokenizer *tok, Sampler *s, const float *logits, const int *history,
                  int n_history, long draws, int rows, char *err);

// ---- scoring a text (--eval, --score)

// The n ids with the largest logits (V) into top, most likely first (the lower id on ties, NaN
// never), -1 where V < n.
void explore_top(const float *logits, int V, int n, int *top);
// 1 + the number of tokens whose logit is larger than id's (1: the model's top choice; equal
// logits share a rank).
int explore_rank(const float *logits, int V, int id);
// log of the softmax's denominator of logits (V) at T = 1, in double.
double explore_logsumexp(const float *logits, int V);

// One token of a text through the model's eyes: at position pos, its id, log-probability under the
// plain softmax (T = 1, no filter), rank, and the n_top most likely tokens with theirs.
typedef struct {
    int pos, id, rank;
    double logprob;
    int n_top;
    const int *top;            // (n_top) ids, most likely first
    const double *top_logprob; // (n_top)
} ExploreScored;
// Called for each token scored, in order; non-zero stops the scoring there (Ctrl-C).
typedef int (*explore_on_scored)(void *ctx, const ExploreScored *t);

// Every token of ids (n >= 2) after the first, given all tokens before it within windows of
// `window` tokens that advance by `stride` (Hugging Face's perplexity recipe: each window scores
// only the tokens no earlier window scored, the first all but its first token). *nll_sum gets the
// sum of -log p (natural log), *n_scored the number scored (n - 1, fewer when on_scored stopped
// it). on_scored (may be NULL: the sums only) sees each token with its n_top alternatives.
// progress: a terminal to draw a progress bar on, or NULL.
int explore_score(GPT2 *model, const int *ids, int n, int window, int stride, int n_top, FILE *progress,
                  explore_on_scored on_scored, void *ctx, double *nll_sum, long *n_scored, char *err);

// ---- writing tokens for scripts and browsers

// Token bytes b (n) as a JSON string with its quotes: valid UTF-8 as it is (", \ and control
// characters escaped), every byte that is not part of a valid UTF-8 character as the lone surrogate
// \udc80..\udcff (Python's surrogateescape: s.encode("utf-8", "surrogateescape") gives the bytes back).
void explore_json_string(FILE *f, const unsigned char *b, size_t n);
// Bytes b (n) as HTML text: &, <, >, " escaped, valid UTF-8 as it is, other bytes as U+FFFD.
void explore_html_text(FILE *f, const unsigned char *b, size_t n);

// GLTR's four rank buckets (Gehrmann, Strobelt and Rush, ACL 2019): 0 top 10, 1 top 100, 2 top 1000,
// 3 beyond.
#define EXPLORE_BUCKETS 4
int explore_bucket(int rank);
extern const char *const explore_bucket_names[EXPLORE_BUCKETS]; // "top 10", ..., "beyond"

#endif // EXPLORE_H
