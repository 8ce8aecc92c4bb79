// explore.c: the command line's views of the model: the next-token distribution as a bar chart, one
// chart across temperatures, many draws counted per token, and perplexity with a sliding window. See
// explore.h; main.c decides where the output goes and what the flags mean.
#include "explore.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN_COLS 18 // display columns of the token column
#define BAR 20        // bar width of --show-probs, in characters
#define CMP_BAR 12    // bar width of each column of --compare-temperatures
#define EVAL_CHUNK 64 // positions whose logits are held at once when scoring: 64 * V floats, 13 MB

int explore_fancy(FILE *f) {
    const char *no_color = getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && isatty(fileno(f)) && !(no_color && no_color[0]);
}

// ---- token text

int explore_escape(char *out, size_t cap, const unsigned char *b, size_t n, int max_cols) {
    size_t o = 0;
    int cols = 0;
    out[o++] = '"', cols++;
    for (size_t i = 0; i < n;) {
        char piece[8];
        uint32_t cp;
        // a whole UTF-8 character is shown as it is; GPT-2's byte-level tokens often hold part of one
        int plen, pcols, u = utf8_decode(b + i, n - i, &cp);
        if (u) memcpy(piece, b + i, (size_t)u), plen = u, pcols = 1;
        else if (b[i] == '\n') plen = 2, memcpy(piece, "\\n", 2), pcols = 2;
        else if (b[i] == '\t') plen = 2, memcpy(piece, "\\t", 2), pcols = 2;
        else if (b[i] == '\r') plen = 2, memcpy(piece, "\\r", 2), pcols = 2;
        else if (b[i] == '"' || b[i] == '\\') piece[0] = '\\', piece[1] = (char)b[i], plen = pcols = 2;
        else if (b[i] < 0x20 || b[i] >= 0x7f) plen = pcols = snprintf(piece, sizeof(piece), "\\x%02x", b[i]);
        else piece[0] = (char)b[i], plen = pcols = 1;
        if (cols + pcols + 1 > max_cols - 3 && i + (u ? (size_t)u : 1) < n) { // more follows: cut here
            if (o + 4 < cap) memcpy(out + o, "...", 3), o += 3, cols += 3;
            break;
        }
        if (o + (size_t)plen + 2 >= cap) break;
        memcpy(out + o, piece, (size_t)plen), o += (size_t)plen, cols += pcols;
        i += u ? (size_t)u : 1;
    }
    out[o++] = '"', cols++;
    out[o] = '\0';
    return cols;
}

// The token column: the escaped text, padded to TOKEN_COLS display columns unless it ends the line.
static void put_token(FILE *f, const Tokenizer *tok, int id, int pad) {
    char buf[4 * TOKEN_COLS + 8];
    int cols = 1;
    if (tok && id < tok->V) {
        size_t len;
        const unsigned char *b = tokenizer_decode(tok, id, &len);
        cols = explore_escape(buf, sizeof(buf), b, len, TOKEN_COLS);
    } else {
        strcpy(buf, "-");
    }
    fprintf(f, "%s%*s", buf, pad && cols < TOKEN_COLS ? TOKEN_COLS - cols : 0, "");
}

// ---- bars

// p in [0, 1] as a bar of width characters: '#' in ASCII, eighth blocks when fancy; padded to the
// full width unless it ends the line.
static void put_bar(FILE *f, double p, int width, int fancy, int pad) {
    static const char *eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    p = p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
    int used;
    if (fancy) {
        int e = (int)(p * width * 8 + 0.5), full = e / 8;
        for (int i = 0; i < full; i++) fputs("█", f);
        fputs(eighths[e % 8], f);
        used = full + (e % 8 != 0);
    } else {
        used = (int)(p * width + 0.5);
        for (int i = 0; i < used; i++) fputc('#', f);
    }
    if (pad) fprintf(f, "%*s", width - used, "");
}

// A probability in 6 columns: 4 decimals, or 1e-05 style below 0.001 so small ones stay visible.
static void put_prob(FILE *f, double p) {
    if (p == 0.0 || p >= 0.001) fprintf(f, "%6.4f", p);
    else fprintf(f, "%6.0e", p);
}

// ---- the most likely tokens

typedef struct {
    float logit;
    int id;
} Cand;

static int by_logit_desc(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    if (x->logit != y->logit) return x->logit < y->logit ? 1 : -1;
    return x->id - y->id; // ties: the lowest id first, as greedy picks it
}

// The rows (<= V) ids with the largest logits (V) into top, most likely first. -1: out of memory.
static int top_ids(const float *logits, int V, int rows, int *top) {
    Cand *c = malloc((size_t)V * sizeof(Cand));
    if (!c) return -1;
    for (int i = 0; i < V; i++) c[i] = (Cand){.logit = isnan(logits[i]) ? -INFINITY : logits[i], .id = i};
    qsort(c, (size_t)V, sizeof(Cand), by_logit_desc);
    for (int i = 0; i < rows; i++) top[i] = c[i].id;
    free(c);
    return 0;
}

// log of the softmax's denominator of logits (V) at T = 1, in double.
static double log_sum_exp(const float *logits, int V) {
    float max = -INFINITY;
    for (int i = 0; i < V; i++)
        if (logits[i] > max) max = logits[i];
    double sum = 0.0;
    for (int i = 0; i < V; i++) sum += exp((double)logits[i] - max);
    return max + log(sum);
}

int explore_show_probs(FILE *f, const Tokenizer *tok, const float *logits, const float *sampled, int V,
                       int chosen, int rows, int fancy, const char *title, char *err) {
    rows = rows < V ? rows : V;
    int *top = malloc((size_t)rows * sizeof(int));
    if (!top || top_ids(logits, V, rows, top) != 0) {
        free(top);
        return fail(err, "explore_show_probs: out of memory for %d candidates", V);
    }
    double lse = log_sum_exp(logits, V);
    fprintf(f, "%s\n", title);
    fprintf(f, "     %-*s %6s %9s  %-*s  %s\n", TOKEN_COLS, "token", "id", "logit", BAR + 7, "softmax (T=1)",
            "as sampled");
    int shown = 0;
    for (int r = 0; r < rows; r++) {
        int id = top[r], mark = id == chosen;
        shown |= mark;
        if (fancy && mark) fputs("\033[1m", f);
        fprintf(f, "%s %2d ", mark ? (fancy ? "▶" : ">") : " ", r + 1);
        put_token(f, tok, id, 1);
        fprintf(f, " %6d %9.4f  ", id, logits[id]);
        put_prob(f, exp((double)logits[id] - lse));
        fputc(' ', f);
        put_bar(f, exp((double)logits[id] - lse), BAR, fancy, 1);
        fputs("  ", f);
        put_prob(f, sampled[id]);
        fputc(' ', f);
        if (fancy) fputs("\033[36m", f);
        put_bar(f, sampled[id], BAR, fancy, 0);
        if (fancy) fputs("\033[0m", f);
        fputc('\n', f);
    }
    if (chosen >= 0 && !shown) { // drawn from outside the rows shown: say which
        fprintf(f, "%s    ", fancy ? "▶" : ">");
        put_token(f, tok, chosen, 1);
        fprintf(f, " %6d %9.4f  ", chosen, logits[chosen]);
        put_prob(f, exp((double)logits[chosen] - lse));
        fprintf(f, " %*s  ", BAR, "");
        put_prob(f, sampled[chosen]);
        fputc('\n', f);
    }
    free(top);
    return 0;
}

int explore_compare_temperatures(FILE *f, const Tokenizer *tok, const float *logits, int V,
                                 const SamplerConfig *cfg, const float *temps, int n_temps, int rows,
                                 const int *history, int n_history, int fancy, char *err) {
    rows = rows < V ? rows : V;
    int *top = malloc((size_t)rows * sizeof(int));
    float *p = malloc((size_t)rows * n_temps * sizeof(float)); // (rows, n_temps)
    int r = 0;
    if (!top || !p || top_ids(logits, V, rows, top) != 0)
        r = fail(err, "explore_compare_temperatures: out of memory for %d candidates", V);
    for (int j = 0; r == 0 && j < n_temps; j++) {
        Sampler s;
        SamplerConfig c = *cfg;
        c.temperature = temps[j];
        if ((r = sampler_build(&s, V, &c, err)) != 0) break;
        sampler_probs(&s, logits, history, n_history);
        for (int i = 0; i < rows; i++) p[i * n_temps + j] = s.probs[top[i]];
        sampler_free(&s);
    }
    if (r == 0) {
        fprintf(f, "   %-*s %6s", TOKEN_COLS, "token", "id");
        for (int j = 0; j < n_temps; j++) {
            char h[32];
            snprintf(h, sizeof(h), "T=%g", temps[j]);
            fprintf(f, "  %-*s", j < n_temps - 1 ? 7 + CMP_BAR : 0, h);
        }
        fputc('\n', f);
        for (int i = 0; i < rows; i++) {
            fprintf(f, "%2d ", i + 1);
            put_token(f, tok, top[i], 1);
            fprintf(f, " %6d", top[i]);
            for (int j = 0; j < n_temps; j++) {
                fputs("  ", f);
                put_prob(f, p[i * n_temps + j]);
                fputc(' ', f);
                if (fancy) fprintf(f, "\033[%dm", 31 + j % 6);
                put_bar(f, p[i * n_temps + j], CMP_BAR, fancy, j < n_temps - 1);
                if (fancy) fputs("\033[0m", f);
            }
            fputc('\n', f);
        }
    }
    free(top), free(p);
    return r;
}

// ---- draws

typedef struct {
    long count;
    int id;
} Count;

static int by_count_desc(const void *a, const void *b) {
    const Count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return x->id - y->id;
}

// First i with u < cdf[i] (cdf (V) non-decreasing), else the last id with mass: what sampler_draw's
// linear scan returns, found in O(log V). At that i cdf[i] > cdf[i-1], so the id has mass.
static int invert_cdf(const double *cdf, int V, int last, double u) {
    if (!(u < cdf[V - 1])) return last;
    int lo = 0, hi = V - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (u < cdf[mid]) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

int explore_draws(FILE *f, const Tokenizer *tok, Sampler *s, const float *logits, const int *history,
                  int n_history, long draws, char *err) {
    int V = s->V;
    double *cdf = malloc((size_t)V * sizeof(double));
    Count *c = calloc((size_t)V, sizeof(Count));
    if (!cdf || !c) {
        free(cdf), free(c);
        return fail(err, "explore_draws: out of memory for a vocabulary of %d", V);
    }
    sampler_probs(s, logits, history, n_history);
    // the same sums, in the same order, as sampler_draw's scan
    double sum = 0.0;
    int last = 0;
    for (int i = 0; i < V; i++) {
        if (s->probs[i] > 0.0f) sum += s->probs[i], last = i;
        cdf[i] = sum;
    }
    int greedy = s->cfg.temperature <= 0.0f, argmax = greedy ? sampler_draw(s) : 0;
    for (int i = 0; i < V; i++) c[i].id = i;
    for (long d = 0; d < draws; d++) c[greedy ? argmax : invert_cdf(cdf, V, last, sampler_uniform(s))].count++;
    qsort(c, (size_t)V, sizeof(Count), by_count_desc);
    fprintf(f, "%10s %6s  %s\n", "count", "id", "token");
    for (int i = 0; i < V && c[i].count > 0; i++) {
        fprintf(f, "%10ld %6d  ", c[i].count, c[i].id);
        put_token(f, tok, c[i].id, 0);
        fputc('\n', f);
    }
    free(cdf), free(c);
    return 0;
}

// ---- perplexity

// -log softmax(row)[target] for each of the n rows (n, V) of logits, summed in double.
static double nll_rows(const float *logits, int n, int V, const int *targets) {
    double sum = 0.0;
    for (int j = 0; j < n; j++) {
        const float *row = logits + (size_t)j * V;
        sum += log_sum_exp(row, V) - row[targets[j]];
    }
    return sum;
}

static void progress_bar(FILE *f, int done, int n) {
    char bar[31];
    int fill = (int)(30.0 * done / n);
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(30 - fill));
    bar[30] = '\0';
    fprintf(f, "\reval [%s] %d/%d tokens", bar, done, n);
    if (done == n) fputc('\n', f);
    fflush(f);
}

int explore_eval(GPT2 *m, const int *ids, int n, int window, int stride, FILE *progress, double *nll_sum,
                 long *n_scored, char *err) {
    int V = m->config.V;
    if (n < 2 || window < 1 || window > m->config.maxT || stride < 1 || stride > window)
        return fail(err, "explore_eval: bad arguments (%d tokens, window %d, stride %d)", n, window, stride);
    float *out = malloc((size_t)EVAL_CHUNK * V * sizeof(float)); // (EVAL_CHUNK, V)
    if (!out) return fail(err, "explore_eval: out of memory for %d x %d logits", EVAL_CHUNK, V);
    double sum = 0.0;
    long scored = 0;
    for (int begin = 0, prev_end = 0;; begin += stride) {
        int end = begin + window < n ? begin + window : n;
        // targets first..end-1, each predicted from position t-1 of this window; the window's first
        // token is never a target (nothing before it in the window)
        int first = prev_end > begin + 1 ? prev_end : begin + 1;
        gpt2_forward(m, ids + begin, end - begin, 0);
        for (int t = first; t < end; t += EVAL_CHUNK) {
            int cnt = end - t < EVAL_CHUNK ? end - t : EVAL_CHUNK;
            gpt2_logits(m, t - 1 - begin, cnt, out);
            sum += nll_rows(out, cnt, V, ids + t);
            scored += cnt;
        }
        prev_end = end;
        if (progress) progress_bar(progress, end, n);
        if (end == n) break;
    }
    free(out);
    *nll_sum = sum;
    *n_scored = scored;
    return 0;
}
