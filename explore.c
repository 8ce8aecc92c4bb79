// explore.c: the command line's views of the model: the next-token distribution as a bar chart, one
// chart across temperatures, many draws counted per token, perplexity and per-token scores with a
// sliding window, token text as JSON and HTML. See explore.h; main.c decides where the output goes
// and what the flags mean.
#include "explore.h"
#include "unicode_width.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/ioctl.h> // TIOCGWINSZ
#endif

#define TOKEN_COLS 16 // display columns of the token column (fewer on a narrow terminal)
#define PROB_COLS 8   // a probability: 3 significant digits (put_prob)
#define MAX_BAR 24    // the widest bar of --show-probs, however wide the terminal
#define CMP_MAX_BAR 12 // ... and of each column of --compare-temperatures
#define EVAL_CHUNK 256 // positions whose logits are held at once when scoring: 256 * V floats, 51 MB

int explore_fancy(FILE *f) {
    if (!isatty(STDOUT_FILENO) || !isatty(fileno(f))) return 0;
    const char *no_color = getenv("NO_COLOR");
    return EXPLORE_UNICODE | (no_color && no_color[0] ? 0 : EXPLORE_COLOR);
}

int explore_columns(FILE *f) {
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
#else
    (void)f; // Windows: COLUMNS or 80
#endif
    const char *c = getenv("COLUMNS");
    char *end;
    long v = c ? strtol(c, &end, 10) : 0;
    return c && *c && *end == '\0' && v > 0 && v <= 10000 ? (int)v : 80;
}

// ---- token text

// The class of a code point in unicode_width.h: UW_NARROW, UW_INVISIBLE, UW_MARK or UW_WIDE.
static int width_class(uint32_t cp) {
    size_t lo = 0, hi = sizeof(unicode_widths) / sizeof(unicode_widths[0]);
    while (lo < hi) { // first range with hi >= cp
        size_t mid = lo + (hi - lo) / 2;
        if (unicode_widths[mid].hi < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < sizeof(unicode_widths) / sizeof(unicode_widths[0]) && unicode_widths[lo].lo <= cp
               ? unicode_widths[lo].cls
               : UW_NARROW;
}

// How the character (or stray byte) at b[i..n) is shown: its text into piece (NUL-terminated, < 16
// bytes), its display columns into *cols; returns the bytes it takes. *base says whether the last
// thing shown is a character that a combining mark can sit on, and is updated.
static size_t escape_piece(const unsigned char *b, size_t i, size_t n, int *base, char *piece, int *cols) {
    uint32_t cp;
    int u = utf8_decode(b + i, n - i, &cp), cls = u ? width_class(cp) : UW_NARROW, raw = 0;
    // a whole UTF-8 character is shown as it is, unless it is invisible, or a combining mark with
    // nothing to sit on; GPT-2's byte-level tokens often hold part of a character (\xNN)
    if (u && (cls == UW_INVISIBLE || (cls == UW_MARK && !*base)))
        *cols = snprintf(piece, 16, cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
    else if (u) memcpy(piece, b + i, (size_t)u), piece[u] = '\0', raw = 1, *cols = cls == UW_WIDE ? 2 : cls != UW_MARK;
    else if (b[i] == '\n') *cols = snprintf(piece, 16, "\\n");
    else if (b[i] == '\t') *cols = snprintf(piece, 16, "\\t");
    else if (b[i] == '\r') *cols = snprintf(piece, 16, "\\r");
    else if (b[i] == '"' || b[i] == '\\') *cols = snprintf(piece, 16, "\\%c", b[i]);
    else if (b[i] < 0x20 || b[i] >= 0x7f) *cols = snprintf(piece, 16, "\\x%02x", b[i]);
    else piece[0] = (char)b[i], piece[1] = '\0', raw = b[i] != ' ', *cols = 1;
    if (!(u && cls == UW_MARK && raw)) *base = raw; // a mark on a character leaves it the base
    return u ? (size_t)u : 1;
}

int explore_escape(char *out, size_t cap, const unsigned char *b, size_t n, int max_cols) {
    char piece[16];
    int cols = 2, pcols, base = 0; // the two quotes
    for (size_t i = 0; i < n;) i += escape_piece(b, i, n, &base, piece, &pcols), cols += pcols;
    int limit = cols <= max_cols ? max_cols : max_cols - 3; // cut: room for "..."
    size_t o = 0;
    out[o++] = '"';
    cols = 1, base = 0;
    for (size_t i = 0; i < n;) {
        size_t step = escape_piece(b, i, n, &base, piece, &pcols), len = strlen(piece);
        if (cols + pcols + 1 > limit || o + len + 5 > cap) { // the piece and the closing quote do not fit
            memcpy(out + o, "...", 3), o += 3, cols += 3;
            break;
        }
        memcpy(out + o, piece, len), o += len, cols += pcols;
        i += step;
    }
    out[o++] = '"', cols++;
    out[o] = '\0';
    return cols;
}

// The display columns of the text s (n bytes; titles, labels).
static int text_cols(const char *s, size_t n) {
    int cols = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int u = utf8_decode((const unsigned char *)s + i, n - i, &cp), cls = u ? width_class(cp) : UW_NARROW;
        cols += cls == UW_WIDE ? 2 : cls == UW_NARROW;
        i += u ? (size_t)u : 1;
    }
    return cols;
}

void explore_title(FILE *f, const char *text) {
    int width = explore_columns(f), cols = 0;
    while (*text == '\n') fputc(*text++, f);
    for (const char *w = text; *w;) {
        size_t len = strcspn(w, " ");
        int wc = text_cols(w, len);
        if (cols > 0 && cols + 1 + wc > width) fputs("\n ", f), cols = 1; // go on, indented
        else if (cols > 0) fputc(' ', f), cols++;
        fwrite(w, 1, len, f), cols += wc;
        w += len;
        while (*w == ' ') w++;
    }
    fputc('\n', f);
}

// The token column: the escaped text in at most cols display columns, padded to cols unless it
// ends the line.
static void put_token(FILE *f, const Tokenizer *tok, int id, int cols, int pad) {
    char buf[4 * 64 + 16];
    int used = 3;
    if (cols > 64) cols = 64;
    if (tok && id < tok->V) {
        size_t len;
        const unsigned char *b = tokenizer_decode(tok, id, &len);
        used = explore_escape(buf, sizeof(buf), b, len, cols);
    } else {
        strcpy(buf, "-");
        used = 1;
    }
    fprintf(f, "%s%*s", buf, pad && used < cols ? cols - used : 0, "");
}

// ---- bars

// p in [0, 1] as a bar of width characters: '#' in ASCII, eighth blocks with EXPLORE_UNICODE;
// padded to the full width unless it ends the line.
static void put_bar(FILE *f, double p, int width, int fancy, int pad) {
    static const char *eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    p = p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
    int used;
    if (fancy & EXPLORE_UNICODE) {
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

// A probability in PROB_COLS columns with 3 significant digits, the same in every column:
// 0.512, 0.0301, 0.000412, 3.05e-07 (0 for none).
static void put_prob(FILE *f, double p) {
    if (!(p > 0.0)) fprintf(f, "%*s", PROB_COLS, "0");
    else if (p < 1e-4) fprintf(f, "%*.2e", PROB_COLS, p);
    else {
        int decimals = 2 - (int)floor(log10(p));
        fprintf(f, "%*.*f", PROB_COLS, decimals < 2 ? 2 : decimals, p);
    }
}

static int digits(int n) {
    int d = 1;
    while (n >= 10) n /= 10, d++;
    return d;
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

// The columns of a --show-probs row within width: the mark and rank (2 + rank + 1), the token, the
// id (7), the logit (9), then twice "  " + a probability + " " + a bar. On a narrow terminal the
// bars shrink, down to none, then the token column.
typedef struct {
    int rank, tok, bar;
} ProbsLayout;

static ProbsLayout probs_layout(int width, int rows) {
    ProbsLayout l = {.rank = digits(rows) < 2 ? 2 : digits(rows), .tok = TOKEN_COLS};
    int fixed = 2 + l.rank + 1 + 7 + 9 + 2 * (2 + PROB_COLS);
    l.bar = (width - fixed - l.tok - 2) / 2;
    if (l.bar > MAX_BAR) l.bar = MAX_BAR;
    if (l.bar < 4) l.bar = 0;
    if (l.bar == 0 && fixed + l.tok > width) l.tok = width - fixed > 8 ? width - fixed : 8;
    return l;
}

// One probability with its bar (none when width is 0), after two spaces.
static void put_prob_bar(FILE *f, double p, int width, int fancy, int pad) {
    fputs("  ", f);
    put_prob(f, p);
    if (width == 0) return;
    fputc(' ', f);
    put_bar(f, p, width, fancy, pad);
}

int explore_show_probs(FILE *f, const Tokenizer *tok, const float *logits, const float *sampled, int V,
                       int chosen, int rows, int fancy, const char *title, char *err) {
    rows = rows < V ? rows : V;
    int *top = malloc((size_t)rows * sizeof(int));
    if (!top || top_ids(logits, V, rows, top) != 0) {
        free(top);
        return fail(err, "explore_show_probs: out of memory for %d candidates", V);
    }
    ProbsLayout l = probs_layout(explore_columns(f), rows);
    const char *mark = fancy ? "▶" : ">";
    double lse = log_sum_exp(logits, V);
    explore_title(f, title);
    fprintf(f, "%*s%-*s %6s %8s  %-*s  %s\n", l.rank + 3, "", l.tok, "token", "id", "logit",
            l.bar ? PROB_COLS + 1 + l.bar : PROB_COLS, l.bar ? "softmax T=1" : "p(T=1)", l.bar ? "as sampled" : "sampled");
    int shown = 0;
    for (int r = 0; r < rows; r++) {
        int id = top[r], marked = id == chosen;
        shown |= marked;
        if ((fancy & EXPLORE_COLOR) && marked) fputs("\033[1m", f);
        fprintf(f, "%s %*d ", marked ? mark : " ", l.rank, r + 1);
        put_token(f, tok, id, l.tok, 1);
        fprintf(f, " %6d %8.3f", id, logits[id]);
        put_prob_bar(f, exp((double)logits[id] - lse), l.bar, fancy, 1);
        if (fancy & EXPLORE_COLOR) fputs("\033[36m", f);
        put_prob_bar(f, sampled[id], l.bar, fancy, 0);
        if (fancy & EXPLORE_COLOR) fputs("\033[0m", f);
        fputc('\n', f);
    }
    if (chosen >= 0 && !shown) { // drawn from outside the rows shown: say which
        fprintf(f, "%s %*s ", mark, l.rank, "");
        put_token(f, tok, chosen, l.tok, 1);
        fprintf(f, " %6d %8.3f", chosen, logits[chosen]);
        put_prob_bar(f, exp((double)logits[chosen] - lse), l.bar, fancy, 1);
        put_prob_bar(f, sampled[chosen], 0, fancy, 0);
        fputc('\n', f);
    }
    free(top);
    return 0;
}

// The columns of --compare-temperatures within width: the rank, the token, the id (7), then per
// temperature "  " + a probability + " " + a bar; as many temperatures side by side as fit with
// bars of 3 or more (the rest below, in more blocks of the same rows).
typedef struct {
    int rank, tok, per_block, bar;
} CompareLayout;

static CompareLayout compare_layout(int width, int rows, int n_temps) {
    CompareLayout l = {.rank = digits(rows) < 2 ? 2 : digits(rows), .tok = TOKEN_COLS};
    int avail = width - (l.rank + 1 + l.tok + 7);
    l.per_block = avail / (2 + PROB_COLS + 1 + 3);
    l.per_block = l.per_block < 1 ? 1 : l.per_block > n_temps ? n_temps : l.per_block;
    l.bar = avail / l.per_block - (2 + PROB_COLS + 1);
    l.bar = l.bar > CMP_MAX_BAR ? CMP_MAX_BAR : l.bar < 3 ? 0 : l.bar;
    return l;
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
    CompareLayout l = compare_layout(explore_columns(f), rows, n_temps);
    for (int j0 = 0; r == 0 && j0 < n_temps; j0 += l.per_block) {
        int j1 = j0 + l.per_block < n_temps ? j0 + l.per_block : n_temps;
        if (j0 > 0) fputc('\n', f);
        fprintf(f, "%*s%-*s %6s", l.rank + 1, "", l.tok, "token", "id");
        for (int j = j0; j < j1; j++) {
            char h[32];
            snprintf(h, sizeof(h), "T=%g", temps[j]);
            fprintf(f, "  %-*s", j < j1 - 1 ? PROB_COLS + (l.bar ? 1 + l.bar : 0) : 0, h);
        }
        fputc('\n', f);
        for (int i = 0; i < rows; i++) {
            fprintf(f, "%*d ", l.rank, i + 1);
            put_token(f, tok, top[i], l.tok, 1);
            fprintf(f, " %6d", top[i]);
            for (int j = j0; j < j1; j++) {
                if (fancy & EXPLORE_COLOR) fprintf(f, "\033[%dm", 31 + j % 6);
                put_prob_bar(f, p[i * n_temps + j], l.bar, fancy, j < j1 - 1);
                if (fancy & EXPLORE_COLOR) fputs("\033[0m", f);
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
                  int n_history, long draws, int rows, char *err) {
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
    int drawn = 0;
    while (drawn < V && c[drawn].count > 0) drawn++;
    int shown = drawn <= rows ? drawn : rows - 1; // the rest in one row, when more than one
    int width = explore_columns(f), tok_cols = width - 28 < 8 ? 8 : width - 28;
    fprintf(f, "%10s %7s %6s  %s\n", "count", "share", "id", "token");
    for (int i = 0; i < shown; i++) {
        fprintf(f, "%10ld %6.2f%% %6d  ", c[i].count, 100.0 * c[i].count / draws, c[i].id);
        put_token(f, tok, c[i].id, tok_cols, 0);
        fputc('\n', f);
    }
    if (shown < drawn) {
        long rest = 0;
        for (int i = shown; i < drawn; i++) rest += c[i].count;
        fprintf(f, "%10ld %6.2f%% %6s  (%d other tokens)\n", rest, 100.0 * rest / draws, "-", drawn - shown);
    }
    free(cdf), free(c);
    return 0;
}

// ---- perplexity and scoring

void explore_top(const float *logits, int V, int n, int *top) {
    int kept = 0; // top[0..kept) in order: larger logit first, the lower id on ties
    for (int i = 0; i < V && n > 0; i++) {
        float x = logits[i];
        if (isnan(x) || (kept == n && !(x > logits[top[n - 1]]))) continue;
        int at = kept < n ? kept++ : n - 1;
        while (at > 0 && x > logits[top[at - 1]]) top[at] = top[at - 1], at--;
        top[at] = i;
    }
    for (int i = kept; i < n; i++) top[i] = -1;
}

int explore_rank(const float *logits, int V, int id) {
    int rank = 1;
    for (int i = 0; i < V; i++) rank += logits[i] > logits[id];
    return rank;
}

double explore_logsumexp(const float *logits, int V) { return log_sum_exp(logits, V); }

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

// Target ids[t] from its row of logits (V): the sum's term, and the callback's view of it.
static int score_row(const float *row, int V, const int *ids, int t, int n_top, int *top, double *top_lp,
                     explore_on_scored on_scored, void *ctx, double *nll) {
    double lse = log_sum_exp(row, V);
    *nll = lse - row[ids[t]];
    if (!on_scored) return 0;
    explore_top(row, V, n_top, top);
    for (int i = 0; i < n_top; i++) top_lp[i] = top[i] >= 0 ? row[top[i]] - lse : -INFINITY;
    ExploreScored sc = {.pos = t, .id = ids[t], .rank = explore_rank(row, V, ids[t]), .logprob = -*nll,
                        .n_top = n_top, .top = top, .top_logprob = top_lp};
    return on_scored(ctx, &sc);
}

int explore_score(GPT2 *m, const int *ids, int n, int window, int stride, int n_top, FILE *progress,
                  explore_on_scored on_scored, void *ctx, double *nll_sum, long *n_scored, char *err) {
    int V = m->config.V;
    *nll_sum = 0.0, *n_scored = 0;
    if (n < 2 || window < 1 || window > m->config.maxT || stride < 1 || stride > window || n_top < 0 || n_top > V)
        return fail(err, "explore_score: bad arguments (%d tokens, window %d, stride %d, top %d)", n, window, stride,
                    n_top);
    float *out = malloc((size_t)EVAL_CHUNK * V * sizeof(float)); // (EVAL_CHUNK, V)
    int *top = malloc((size_t)(n_top + 1) * sizeof(int));
    double *top_lp = malloc((size_t)(n_top + 1) * sizeof(double));
    int *group = malloc((size_t)m->config.maxT * sizeof(int)); // (G, window) tokens of a batch of windows
    if (!out || !top || !top_lp || !group) {
        free(out), free(top), free(top_lp), free(group);
        return fail(err, "explore_score: out of memory for %d x %d logits", EVAL_CHUNK, V);
    }
    double sum = 0.0;
    long scored = 0;
    int stop = 0, done = 0;
    for (int begin = 0, prev_end = 0; !stop && !done;) {
        // G windows from begin, stride apart: as many whole ones as one gpt2_forward_batch takes, so
        // that short windows share each pass over the weights; else the one window, maybe cut at n
        int G = 1;
        while (G < m->config.maxT / window && begin + (G - 1) * stride + window < n && begin + G * stride + window <= n)
            G++;
        if (G == 1) gpt2_forward(m, ids + begin, (begin + window < n ? begin + window : n) - begin, 0);
        else {
            for (int g = 0; g < G; g++) memcpy(group + g * window, ids + begin + g * stride, window * sizeof(int));
            gpt2_forward_batch(m, group, G, window);
        }
        for (int g = 0; g < G && !stop; g++) {
            int b = begin + g * stride, end = b + window < n ? b + window : n;
            // targets first..end-1, each predicted from position t-1 of this window (row g window +
            // t-1-b); the window's first token is never a target (nothing before it in the window)
            int first = prev_end > b + 1 ? prev_end : b + 1;
            for (int t = first; t < end && !stop; t += EVAL_CHUNK) {
                int cnt = end - t < EVAL_CHUNK ? end - t : EVAL_CHUNK;
                gpt2_logits(m, g * window + t - 1 - b, cnt, out);
                for (int j = 0; j < cnt && !stop; j++) {
                    double nll;
                    stop = score_row(out + (size_t)j * V, V, ids, t + j, n_top, top, top_lp, on_scored, ctx, &nll);
                    sum += nll, scored++;
                }
            }
            prev_end = end;
            if (progress) progress_bar(progress, end, n);
            done = end == n;
        }
        begin += G * stride;
    }
    if (progress && stop) fputc('\n', progress);
    free(out), free(top), free(top_lp), free(group);
    *nll_sum = sum;
    *n_scored = scored;
    return 0;
}

// ---- JSON and HTML text

void explore_json_string(FILE *f, const unsigned char *b, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int u = utf8_decode(b + i, n - i, &cp);
        if (u) fwrite(b + i, 1, (size_t)u, f), i += (size_t)u;
        else if (b[i] == '"' || b[i] == '\\') fprintf(f, "\\%c", b[i++]);
        else if (b[i] == '\n') fputs("\\n", f), i++;
        else if (b[i] == '\t') fputs("\\t", f), i++;
        else if (b[i] == '\r') fputs("\\r", f), i++;
        else if (b[i] < 0x20) fprintf(f, "\\u%04x", b[i++]);
        else if (b[i] >= 0x80) fprintf(f, "\\udc%02x", b[i++]); // not UTF-8: surrogateescape
        else fputc(b[i++], f);
    }
    fputc('"', f);
}

void explore_html_text(FILE *f, const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int u = utf8_decode(b + i, n - i, &cp);
        if (u) fwrite(b + i, 1, (size_t)u, f), i += (size_t)u;
        else if (b[i] == '&') fputs("&amp;", f), i++;
        else if (b[i] == '<') fputs("&lt;", f), i++;
        else if (b[i] == '>') fputs("&gt;", f), i++;
        else if (b[i] == '"') fputs("&quot;", f), i++;
        else if (b[i] >= 0x80 || (b[i] < 0x20 && b[i] != '\n' && b[i] != '\t')) fputs("\xef\xbf\xbd", f), i++;
        else fputc(b[i++], f);
    }
}

const char *const explore_bucket_names[EXPLORE_BUCKETS] = {"top 10", "top 100", "top 1000", "beyond"};

int explore_bucket(int rank) { return rank <= 10 ? 0 : rank <= 100 ? 1 : rank <= 1000 ? 2 : 3; }
