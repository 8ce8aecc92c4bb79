// main.c: the command line. The flags (cli.c) say what to run: encode/decode, score a text (--eval,
// --score), chart the next-token distribution (explore.c), compare decoding settings (--sweep,
// metrics.c), or generate (gpt2_generate_batch: the book's generate() for each sample) and stream
// the text (or --json) to stdout, after loading the tokenizer and the checkpoint. Every function
// that can fail returns 0 or the exit status, its message printed (cli_error); only main returns it.
// Exit status: 0 success, 1 runtime or data error, 2 usage error, 130 interrupted (SIGINT).
#include "cli.h"
#include "explore.h"
#include "gpt2.h"
#include "metrics.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

#ifndef GPT2_DATADIR
#define GPT2_DATADIR "/usr/local/share/gpt2" // where make install puts the tokenizer (the Makefile says)
#endif
#define GPT2_EOT 50256 // GPT-2's <|endoftext|>, the default stop when no tokenizer is loaded
#define DRAW_ROWS 20 // --draws: rows of tokens unless --show-probs says
#define TEMPERATURE_ROWS 10 // --compare-temperatures: rows unless --show-probs says
#define SWEEP_SAMPLES 4 // --sweep: samples per setting unless -N says

// ----------------------------------------------------------------------------------------------
// Input and output

// A library function's message, which names the function and the file: a data error.
static int library_error(const char *err) {
    fprintf(stderr, "%s\n", err);
    return EXIT_DATA;
}

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) { (void)sig, interrupted = 1; }

#ifdef SIGBUS
// The checkpoint is mapped, not read: when the file shrinks while gpt2 runs (re-exported over the
// same path, a copy in progress, a full disk), touching its lost pages raises SIGBUS. A fault inside
// the mapping ends the program with a message naming the file; any other SIGBUS is a bug and keeps
// the default action. (A file replaced by rename is harmless: the mapping keeps the old one.)
static const GPT2 *volatile mapped; // the model being loaded or run
static char sigbus_message[GPT2_ERR_LEN];
static size_t sigbus_len;

static void on_sigbus(int sig, siginfo_t *info, void *context) {
    (void)context;
    const GPT2 *m = mapped;
    const char *at = info->si_addr, *map = m ? m->map : NULL;
    if (map && at >= map && at < map + m->map_size) {
        // every thread reading the lost pages comes here: the first reports and ends the process
        static atomic_flag reported = ATOMIC_FLAG_INIT;
        if (atomic_flag_test_and_set(&reported))
            for (;;) pause();
        if (write(STDERR_FILENO, sigbus_message, sigbus_len) < 0) _exit(EXIT_DATA);
        _exit(EXIT_DATA);
    }
    signal(sig, SIG_DFL); // not ours: the faulting access runs again and ends the process as usual
}

// From now on a SIGBUS inside model's mapping (once gpt2_build has made it) is reported for path.
static void catch_sigbus(const GPT2 *model, const char *path) {
    int n = snprintf(sigbus_message, sizeof(sigbus_message), "gpt2: %s: changed or truncated while in use\n", path);
    sigbus_len = n < 0 ? 0 : (size_t)n < sizeof(sigbus_message) ? (size_t)n : sizeof(sigbus_message) - 1;
    mapped = model;
    struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}
#else
static void catch_sigbus(const GPT2 *model, const char *path) { (void)model, (void)path; }
#endif

// stdout is buffered (C's default: a line at a time to a terminal, blocks to a pipe or file);
// generation flushes after each token (on_token) so that the text streams, and main flushes at the
// end. A failed write (disk full) is a runtime error, reported once.
static int out_failed(void) {
    static int reported = 0;
    // A reader that went away (| head) is no error worth a message. With SIGPIPE at its default
    // action (as here, like cat) the process ends quietly before this; EPIPE when it is ignored.
    if (errno == EPIPE || reported) return EXIT_DATA;
    reported = 1;
    return cli_error(EXIT_DATA, "stdout: %s", strerror(errno));
}

static int out_write(const void *p, size_t n) { return fwrite(p, 1, n, stdout) == n ? 0 : out_failed(); }
static int out_flush(void) { return fflush(stdout) == 0 ? 0 : out_failed(); }

// All of in (stdin, an --eval file), NUL-terminated (the text may contain NULs; *n is the real
// length). NULL when out of memory or on a read error (errno says which).
static char *read_stream(FILE *in, size_t *n) {
    size_t cap = 1 << 16;
    char *buf = malloc(cap + 1);
    *n = 0;
    while (buf) {
        size_t got = fread(buf + *n, 1, cap - *n, in);
        *n += got;
        if (got == 0) break;
        if (*n == cap) {
            char *b = realloc(buf, (cap *= 2) + 1);
            if (!b) free(buf);
            buf = b;
        }
    }
    if (buf && ferror(in)) {
        free(buf);
        return NULL;
    }
    if (buf) buf[*n] = '\0';
    return buf;
}

// Ids separated by spaces, tabs, newlines or commas, each in 0..V-1. A bad one is an error of
// `status` whose message starts with `what`: on the command line (--prompt-ids) a usage error, in
// the input of --decode a data error.
static int parse_ids(const char *s, int V, int status, const char *what, int **ids, int *n) {
    size_t cap = 16;
    *n = 0;
    *ids = malloc(cap * sizeof(int));
    if (!*ids) return cli_error(EXIT_DATA, "out of memory for token ids");
    for (const char *p = s;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',') p++;
        if (*p == '\0') return 0;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || (*end && !strchr(" \t\r\n,", *end))) {
            int len = (int)strcspn(p, " \t\r\n,");
            return cli_error(status, "%s: '%.*s' is not an integer", what, len > 40 ? 40 : len, p);
        }
        if (v < 0 || v >= V) return cli_error(status, "%s: %ld is outside 0..%d", what, v, V - 1);
        if ((size_t)*n == cap) {
            int *b = realloc(*ids, (cap *= 2) * sizeof(int));
            if (!b) return cli_error(EXIT_DATA, "out of memory for %d token ids", *n);
            *ids = b;
        }
        (*ids)[(*n)++] = (int)v;
        p = end;
    }
}

// -f FILE: the prompt becomes the file's bytes, exactly (stdin for "-"), however long.
static int load_prompt_file(Args *a) {
    int is_stdin = strcmp(a->prompt_file, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(a->prompt_file, "rb");
    if (!f) return cli_error(EXIT_DATA, "--file: %s: %s", a->prompt_file, strerror(errno));
    a->prompt_buf = read_stream(f, &a->prompt_len);
    int e = errno;
    if (!is_stdin) fclose(f);
    if (!a->prompt_buf) return cli_error(EXIT_DATA, "--file: %s: %s", is_stdin ? "stdin" : a->prompt_file, strerror(e));
    a->prompt = a->prompt_buf;
    return 0;
}

// The input of --encode/--decode: the text of -p or -f, else all of stdin (then *owned is the
// buffer to free).
static int input_text(const Args *a, const char **text, size_t *n, char **owned) {
    *owned = NULL;
    if (a->prompt) {
        *text = a->prompt;
        *n = a->prompt_len;
        return 0;
    }
    if (!(*owned = read_stream(stdin, n))) return cli_error(EXIT_DATA, "cannot read stdin: %s", strerror(errno));
    *text = *owned;
    return 0;
}

// The ids of a text: "<|endoftext|>" in it is the end-of-text token, or with --no-special text
// like any other. 0, or -1 when out of memory.
static int encode(const Args *a, const Tokenizer *tok, const char *text, size_t n, int **ids, size_t *n_ids) {
    if (a->no_special) return tokenizer_encode_ordinary(tok, text, n, ids, n_ids);
    return tokenizer_encode(tok, text, n, ids, n_ids);
}

// One token on stdout: its id (space-separated unless first), or its bytes.
static int write_token(const Tokenizer *tok, int print_ids, int id, int first) {
    if (print_ids) {
        char buf[16];
        int len = snprintf(buf, sizeof(buf), first ? "%d" : " %d", id);
        return out_write(buf, (size_t)len);
    }
    size_t len;
    const unsigned char *b = tokenizer_decode(tok, id, &len);
    return out_write(b, len);
}

// --encode: the ids of the text, on one line.
static int run_encode(const Args *a, const Tokenizer *tok) {
    const char *text;
    char *stdin_text;
    size_t n = 0;
    if (input_text(a, &text, &n, &stdin_text) != 0) return EXIT_DATA;
    int *ids = NULL;
    size_t n_ids = 0;
    int r = 0;
    if (encode(a, tok, text, n, &ids, &n_ids) != 0)
        r = cli_error(EXIT_DATA, "out of memory encoding %zu bytes", n);
    for (size_t i = 0; r == 0 && i < n_ids; i++) r = write_token(tok, 1, ids[i], i == 0);
    if (r == 0) r = out_write("\n", 1);
    free(ids);
    free(stdin_text);
    return r;
}

// --decode: the bytes of the ids, exactly (no newline added).
static int run_decode(const Args *a, const Tokenizer *tok) {
    const char *text;
    char *stdin_text;
    size_t n;
    if (input_text(a, &text, &n, &stdin_text) != 0) return EXIT_DATA;
    int *ids = NULL, n_ids = 0;
    int r = parse_ids(text, tok->V, EXIT_DATA, "--decode: token ids", &ids, &n_ids);
    for (int i = 0; r == 0 && i < n_ids; i++) r = write_token(tok, 0, ids[i], i == 0);
    free(ids);
    free(stdin_text);
    return r;
}

// The sampler's settings that are on, for titles: "T=1, top-k 3, seed 42" (with_t 0: no T).
static void describe_sampling(const SamplerConfig *s, int with_t, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = '\0';
#define ADD(...) (o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, __VA_ARGS__), o = o < cap ? o : cap - 1)
    if (with_t && s->temperature > 0.0f) ADD("T=%g, ", s->temperature);
    if (with_t && s->temperature <= 0.0f) ADD("greedy, ");
    if (s->repeat_penalty != 1.0f) ADD("repeat penalty %g over %d, ", s->repeat_penalty, s->repeat_last_n);
    if (s->top_k > 0) ADD("top-k %d, ", s->top_k);
    if (s->top_p < 1.0f) ADD("top-p %g, ", s->top_p);
    if (s->min_p > 0.0f) ADD("min-p %g, ", s->min_p);
    ADD("seed %llu", (unsigned long long)s->seed);
#undef ADD
}

// ----------------------------------------------------------------------------------------------
// JSON Lines (--json)

// A number for JSON: NaN and infinities (which JSON lacks) as null.
static void json_number(const char *key, double x, const char *after) {
    if (isfinite(x)) printf("\"%s\": %.9g%s", key, x, after);
    else printf("\"%s\": null%s", key, after);
}

// A token's bytes as a JSON string (null without a tokenizer).
static void json_token_text(const Tokenizer *tok, int id) {
    size_t len;
    const unsigned char *b = tok && id < tok->V ? tokenizer_decode(tok, id, &len) : NULL;
    if (b) explore_json_string(stdout, b, len);
    else fputs("null", stdout);
}

// One token as a JSON line: "sample" (generation, sample >= 1), its position, id, text, plain
// log-probability, rank, the probability under the distribution drawn from (generation,
// sampled >= 0), then "top": the alternatives. Flushed, so that a pipe sees it at once.
static int json_token(const Tokenizer *tok, const ExploreScored *t, int sample, double sampled) {
    if (sample > 0) printf("{\"sample\": %d, ", sample);
    else fputc('{', stdout);
    printf("\"pos\": %d, \"id\": %d, \"token\": ", t->pos, t->id);
    json_token_text(tok, t->id);
    printf(", \"logprob\": %.9g, \"rank\": %d, ", t->logprob, t->rank);
    if (sampled >= 0.0) printf("\"sampled_prob\": %.9g, ", sampled);
    fputs("\"top\": [", stdout);
    for (int i = 0; i < t->n_top && t->top[i] >= 0; i++) {
        printf("%s{\"id\": %d, \"token\": ", i ? ", " : "", t->top[i]);
        json_token_text(tok, t->top[i]);
        printf(", \"logprob\": %.9g}", t->top_logprob[i]);
    }
    fputs("]}\n", stdout);
    return out_flush();
}

// ----------------------------------------------------------------------------------------------
// Generation: the prompt's ids, then --dump-logits, an exploration of the next token, or -N
// continuations streamed to stdout.

// <|endoftext|>: the tokenizer's, or GPT-2's when ids go to ids without a tokenizer.
static int eot_id(const Tokenizer *tok) { return tok ? tok->eot : GPT2_EOT; }

// The index of the first of ids (n) outside 0..V-1, or -1.
static int first_outside(const int *ids, int n, int V) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V) return i;
    return -1;
}

// gpt2_build with the command line's options; a missing default checkpoint gets the commands that
// make it, with the network or without.
static int load_model(const Args *a, GPT2 *model) {
    char err[GPT2_ERR_LEN];
    GPT2Options opt = {.quantize_int8 = a->quantize_int8, .threads = a->threads};
    catch_sigbus(model, a->model);
    if (gpt2_build(model, a->model, &opt, err) == 0) {
        if (a->threads > model->n_threads)
            fprintf(stderr, "gpt2: -T %d: more threads than cores online; using %d\n", a->threads, model->n_threads);
        return 0;
    }
    library_error(err);
    if (a->default_model)
        cli_error(EXIT_DATA, "make it with: make weights (downloads GPT-2 124M); offline, convert a local Hugging "
                             "Face directory (config.json, model.safetensors): python3 tools/export_weights.py DIR "
                             DEFAULT_MODEL ", or try the CLI on random weights: make build/random_checkpoint && "
                             "build/random_checkpoint " DEFAULT_MODEL);
    return EXIT_DATA;
}

static int context_too_large(int context, int maxT) {
    return cli_error(EXIT_USAGE, "--context: %d is larger than the model's maxT (%d)", context, maxT);
}

// The flags that depend on the checkpoint: top-k and the context within its sizes, and a tokenizer
// with a text for every id the model can produce (not needed for ids only, or the logits).
static int check_flags_against_model(const Args *a, const Tokenizer *tok, const GPT2Config *c, int context) {
    if (a->sampling.top_k > c->V)
        return cli_error(EXIT_USAGE, "--top-k: %d is larger than the vocabulary (%d)", a->sampling.top_k, c->V);
    if (context > c->maxT) return context_too_large(context, c->maxT);
    if (a->eos_set && a->eos >= c->V)
        return cli_error(EXIT_USAGE, "--eos: %d is outside -1..%d (the model's vocabulary)", a->eos, c->V - 1);
    if (tok && tok->V < c->V && !a->print_ids && !a->dump_logits)
        return cli_error(EXIT_DATA, "%s has %d tokens, fewer than the model's %d", a->tokenizer, tok->V, c->V);
    return 0;
}

// The ids of --prompt-ids, else of the prompt's text (-p, or DEFAULT_PROMPT).
static int read_prompt(const Args *a, const Tokenizer *tok, int V, int **ids, int *n) {
    if (a->prompt_ids) return parse_ids(a->prompt_ids, V, EXIT_USAGE, "token ids", ids, n);
    const char *text = a->prompt ? a->prompt : DEFAULT_PROMPT;
    size_t n_ids = 0;
    if (encode(a, tok, text, a->prompt ? a->prompt_len : strlen(text), ids, &n_ids) != 0 || n_ids > INT32_MAX)
        return cli_error(EXIT_DATA, "out of memory encoding the prompt");
    *n = (int)n_ids;
    return 0;
}

// The ids of a prompt's text made what generation needs: <|endoftext|> for an empty one, each id in
// the model's vocabulary (V): a tokenizer larger than the model could give ids beyond it.
static int finish_prompt(const Args *a, const Tokenizer *tok, int V, int **ids, int *n) {
    if (*n == 0) { // an empty prompt starts from <|endoftext|>, as GPT-2's unconditional samples do
        free(*ids);
        if (!(*ids = malloc(sizeof(int)))) return cli_error(EXIT_DATA, "out of memory for the prompt");
        (*ids)[(*n)++] = eot_id(tok);
    }
    int bad = first_outside(*ids, *n, V);
    if (bad >= 0)
        return cli_error(EXIT_DATA, "prompt token %d is outside the model's vocabulary 0..%d (%s is for another model)",
                         (*ids)[bad], V - 1, a->tokenizer);
    return 0;
}

// The prompt of -p or --prompt-ids as generation needs it (n >= 1).
static int make_prompt(const Args *a, const Tokenizer *tok, int V, int **ids, int *n) {
    int r = read_prompt(a, tok, V, ids, n);
    return r != 0 ? r : finish_prompt(a, tok, V, ids, n);
}

// What every generation mode works on, once the model is loaded and the prompt made.
typedef struct {
    const Args *a;
    const Tokenizer *tok; // NULL when ids go to ids
    GPT2 *model;
    int *ids;             // (n) the prompt
    int n;
    int context;          // the model sees the last `context` tokens
    double t_load;        // seconds gpt2_build took
} Job;

// -v's start: "gpt2: load 0.412 s, float32, avx2 kernels, 8 threads" (no newline), after the text so
// far (stdout is flushed first, so that a terminal shows the two in order).
static void print_load(const GPT2 *m, double t_load) {
    static const char *const formats[] = {[GPT2_F32] = "float32", [GPT2_BF16] = "bfloat16", [GPT2_Q8] = "int8"};
    fflush(stdout);
    fprintf(stderr, "gpt2: load %.3f s, %s, %s kernels, %d thread%s", t_load, formats[m->dtype], gpt2_kernels(),
            m->n_threads, m->n_threads == 1 ? "" : "s");
}

// " at 85.3 tokens/s" for n tokens in seconds (nothing for none).
static void print_rate(int n, double seconds) {
    if (n > 0 && seconds > 0.0) fprintf(stderr, " at %.1f tokens/s", n / seconds);
}

// -v after a prompt's forward pass alone (--dump-logits, the charts of the prompt).
static void print_prompt_speed(const Job *j, double seconds) {
    int n = j->n < j->context ? j->n : j->context; // the forward pass saw its last `context` tokens
    print_load(j->model, j->t_load);
    fprintf(stderr, "; prompt %d tokens", n);
    print_rate(n, seconds);
    fputc('\n', stderr);
}

// The next-token logits (V) after the prompt, cropped to its last `context` tokens at positions
// 0.., as generate()'s idx[:, -context_size:] does; with -v: its speed on stderr.
static const float *prompt_logits(const Job *j) {
    int s0 = j->n > j->context ? j->n - j->context : 0;
    double t0 = now_seconds();
    const float *logits = gpt2_forward(j->model, j->ids + s0, j->n - s0, 0);
    if (j->a->verbose) print_prompt_speed(j, now_seconds() - t0);
    return logits;
}

// --dump-logits FILE: the prompt's next-token logits (V float32), for the tests to compare.
static int dump_logits(const Job *j) {
    const char *path = j->a->dump_logits;
    size_t V = (size_t)j->model->config.V;
    const float *logits = prompt_logits(j);
    unsigned char *le = malloc(4 * V); // little-endian on every host, as documented
    if (!le) return cli_error(EXIT_DATA, "out of memory for %zu logits", V);
    for (size_t i = 0; i < V; i++) {
        uint32_t u;
        memcpy(&u, &logits[i], 4);
        for (int b = 0; b < 4; b++) le[4 * i + b] = (unsigned char)(u >> 8 * b);
    }
    FILE *f = fopen(path, "wb");
    int r = !f || fwrite(le, 4, V, f) != V;
    if ((f && fclose(f) != 0) || r) r = cli_error(EXIT_DATA, "%s: %s", path, strerror(errno));
    free(le);
    return r;
}

// --draws, --compare-temperatures, or --show-probs without -n: the prompt's next-token distribution,
// on stdout (it is the output).
static int run_explore(const Job *j) {
    const Args *a = j->a;
    char err[GPT2_ERR_LEN], desc[160], title[320];
    int V = j->model->config.V, fancy = explore_fancy(stdout), r;
    Sampler sampler;
    if (sampler_build(&sampler, V, &a->sampling, err) != 0) return library_error(err);
    const float *logits = prompt_logits(j);
    if (a->draws) {
        describe_sampling(&a->sampling, 1, desc, sizeof(desc));
        snprintf(title, sizeof(title), "%ld draws of the next token (%s):", a->draws, desc);
        explore_title(stdout, title);
        r = explore_draws(stdout, j->tok, &sampler, logits, j->ids, j->n, a->draws,
                          a->show_probs ? a->show_probs : DRAW_ROWS, err);
    } else if (a->n_temps) {
        describe_sampling(&a->sampling, 0, desc, sizeof(desc));
        snprintf(title, sizeof(title), "the next token's distribution at each temperature (%s):", desc);
        explore_title(stdout, title);
        r = explore_compare_temperatures(stdout, j->tok, logits, V, &a->sampling, a->temps, a->n_temps,
                                         a->show_probs ? a->show_probs : TEMPERATURE_ROWS, j->ids, j->n, fancy,
                                         err);
    } else {
        int chosen = sampler_sample(&sampler, logits, j->ids, j->n);
        describe_sampling(&a->sampling, 1, desc, sizeof(desc));
        snprintf(title, sizeof(title), "the %d most likely next tokens (%s); %s marks a draw", a->show_probs, desc,
                 fancy ? "▶" : ">");
        r = explore_show_probs(stdout, j->tok, logits, sampler.probs, V, chosen, a->show_probs, fancy, title, err);
    }
    sampler_free(&sampler);
    if (r != 0) return library_error(err);
    return 0;
}

// --stop strings as bytes, with their lengths. Each continuation holds back the text not written yet
// because it could be the start of one: less than max_len bytes, plus a token (< 256 bytes).
typedef struct {
    char *s[MAX_STOPS];
    size_t len[MAX_STOPS];
    int n;
    size_t max_len;
} Stops;

// s with \n, \t and \\ made a newline, a tab and a backslash, into out (room: strlen(s)); its length.
static size_t unescape(char *out, const char *s) {
    size_t n = 0;
    for (; *s; s++) {
        if (s[0] == '\\' && (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
            s++;
            out[n++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
        } else {
            out[n++] = *s;
        }
    }
    return n;
}

static int stops_build(Stops *st, const Args *a) {
    *st = (Stops){.n = a->n_stop};
    for (int i = 0; i < a->n_stop; i++) {
        if (!(st->s[i] = malloc(strlen(a->stop[i]) + 1))) return cli_error(EXIT_DATA, "out of memory");
        st->len[i] = unescape(st->s[i], a->stop[i]);
        if (st->len[i] > st->max_len) st->max_len = st->len[i];
    }
    return 0;
}

static void stops_free(Stops *st) {
    for (int i = 0; i < st->n; i++) free(st->s[i]);
}

typedef struct Printer Printer;

// One continuation as it streams out: its text (or ids), the --show-probs charts, the stop strings.
typedef struct {
    const Job *job;
    Sampler *sampler;
    Stops *stops;
    unsigned char *hold;  // (stops->max_len + 256) this continuation's text that may begin a stop string
    size_t n_hold;        // bytes in hold
    Printer *printer;     // the batch it is printed with
    unsigned char *buf;   // its output while an earlier continuation is being printed
    size_t n_buf, cap_buf;
    int ended;            // its last token is in, its text complete
    int eos;              // the id that ends the continuation (the batch runs with -1: see on_token)
    int eos_hit, stopped; // ended by eos, by a stop string
    int step;             // new tokens so far, eos included
    int fancy;            // charts with Unicode bars and color (explore_fancy(stderr))
    int status;           // 0, or the exit status of what failed
    double t_start, t_first, t_end; // the clock at the batch's start, its first new token (0: none), its end
    double t_slide;       // the clock at the last new token before the window slid (0: not reached)
    int sample;           // which of -N (from 0)
    double nll;           // --json: the sum of -log p (plain softmax) of the new tokens
} Output;

// The length of the longest end of b (n) that is the beginning of a stop string (not all of it).
static size_t stop_prefix_len(const Stops *st, const unsigned char *b, size_t n) {
    size_t best = 0;
    for (int s = 0; s < st->n; s++)
        for (size_t k = st->len[s] - 1 < n ? st->len[s] - 1 : n; k > best; k--)
            if (memcmp(b + n - k, st->s[s], k) == 0) {
                best = k;
                break;
            }
    return best;
}

// The first occurrence of needle (nn bytes, nn >= 1) in b (n bytes), or NULL. (memmem is not in C
// or POSIX.)
static const unsigned char *find_bytes(const unsigned char *b, size_t n, const char *needle, size_t nn) {
    for (size_t i = 0; i + nn <= n; i++)
        if (b[i] == (unsigned char)needle[0] && memcmp(b + i, needle, nn) == 0) return b + i;
    return NULL;
}

// The continuations of a batch, printed in order: the first one not yet complete (front) streams
// to stdout as it comes, each later one is buffered until those before it are complete.
struct Printer {
    Output *out; // (n)
    int n, front;
};

// Output of continuation o: to stdout when it is the one printing, else to its buffer.
static int sample_write(Output *o, const void *p, size_t n) {
    if (n == 0) return 0;
    if (o == &o->printer->out[o->printer->front]) return out_write(p, n);
    if (o->n_buf + n > o->cap_buf) {
        size_t cap = (o->n_buf + n) * 2 + 256;
        unsigned char *b = realloc(o->buf, cap);
        if (!b) return cli_error(EXIT_DATA, "out of memory for the text of a sample");
        o->buf = b, o->cap_buf = cap;
    }
    memcpy(o->buf + o->n_buf, p, n);
    o->n_buf += n;
    return 0;
}

// One token of continuation o: its id (space-separated unless first), or its bytes.
static int sample_token(Output *o, int id, int first) {
    if (o->job->a->print_ids) {
        char buf[16];
        int len = snprintf(buf, sizeof(buf), first ? "%d" : " %d", id);
        return sample_write(o, buf, (size_t)len);
    }
    size_t len;
    const unsigned char *b = tokenizer_decode(o->job->tok, id, &len);
    return sample_write(o, b, len);
}

// New text b (len): written out except the end that may begin a stop string, which waits for the
// next token; at a stop string, what comes before it is written and the continuation stops.
static int emit_text(Output *o, const unsigned char *b, size_t len) {
    Stops *st = o->stops;
    if (st->n == 0) return sample_write(o, b, len);
    memcpy(o->hold + o->n_hold, b, len);
    o->n_hold += len;
    size_t cut = o->n_hold;
    for (int s = 0; s < st->n; s++) {
        const unsigned char *p = find_bytes(o->hold, o->n_hold, st->s[s], st->len[s]);
        if (p && (size_t)(p - o->hold) < cut) cut = (size_t)(p - o->hold);
    }
    if (cut < o->n_hold) {
        o->stopped = 1, o->n_hold = 0;
        return sample_write(o, o->hold, cut);
    }
    size_t keep = stop_prefix_len(st, o->hold, o->n_hold);
    int r = sample_write(o, o->hold, o->n_hold - keep);
    memmove(o->hold, o->hold + o->n_hold - keep, keep);
    o->n_hold = keep;
    return r;
}

// --show-probs during generation: the chart of the step that drew token, on stderr.
static int show_step(Output *o, int token, const float *logits) {
    const Args *a = o->job->a;
    char title[256], desc[160], err[GPT2_ERR_LEN];
    fflush(stdout); // the text so far before the chart, where both are a terminal (a failure shows later)
    describe_sampling(&o->sampler->cfg, 1, desc, sizeof(desc));
    snprintf(title, sizeof(title), "\nnew token %d: the %d most likely (%s); %s marks the token drawn", o->step + 1,
             a->show_probs, desc, o->fancy ? "▶" : ">");
    if (explore_show_probs(stderr, o->job->tok, logits, o->sampler->probs, o->sampler->V, token, a->show_probs,
                           o->fancy, title, err) != 0)
        return library_error(err);
    return 0;
}

// --json: a new token as a JSON line (json_token), its log-probability added to o->nll.
static int json_new_token(Output *o, int token, const float *logits) {
    const Args *a = o->job->a;
    int V = o->sampler->V, top[1000];
    double top_lp[1000], lse = explore_logsumexp(logits, V);
    explore_top(logits, V, a->top_logprobs, top);
    for (int i = 0; i < a->top_logprobs; i++) top_lp[i] = top[i] >= 0 ? logits[top[i]] - lse : -INFINITY;
    ExploreScored t = {.pos = o->job->n + o->step - 1, .id = token, .rank = explore_rank(logits, V, token),
                       .logprob = logits[token] - lse, .n_top = a->top_logprobs, .top = top, .top_logprob = top_lp};
    o->nll -= t.logprob;
    return json_token(o->job->tok, &t, o->sample + 1, o->sampler->probs[token]);
}

// --json: a continuation's summary line: how it ended, its new tokens, their nll and perplexity.
static int json_sample_end(const Output *o) {
    int n = o->step - o->eos_hit; // the end-of-text token is not part of the text
    printf("{\"summary\": true, \"sample\": %d, \"seed\": %llu, \"prompt_tokens\": %d, \"new_tokens\": %d, ",
           o->sample + 1, (unsigned long long)o->sampler->cfg.seed, o->job->n, n);
    printf("\"end\": \"%s\", ", o->eos_hit ? "eos" : interrupted ? "interrupted" : "length");
    json_number("nll", n ? o->nll / n : NAN, ", ");
    json_number("perplexity", n ? exp(o->nll / n) : NAN, "}\n");
    return out_flush();
}

// The callback of a continuation's new tokens. The end-of-text stop is made here rather than by
// gpt2_generate_batch, so that the end-of-text draw gets its chart. Non-zero stops the generation.
static int on_token(void *ctx, int token, const float *logits) {
    Output *o = ctx;
    const Args *a = o->job->a;
    if (o->t_first == 0.0) o->t_first = now_seconds();
    // the forward pass of this token saw n + step tokens: beyond the context, every next one slides
    if (o->t_slide == 0.0 && o->job->n + o->step >= o->job->context) o->t_slide = now_seconds();
    if (a->show_probs) o->status = show_step(o, token, logits);
    o->step++;
    if (o->status != 0) return 1;
    if (token == o->eos) return o->eos_hit = 1;
    if (a->json) {
        o->status = json_new_token(o, token, logits);
    } else if (a->print_ids) {
        o->status = sample_token(o, token, 0);
    } else {
        size_t len;
        const unsigned char *b = tokenizer_decode(o->job->tok, token, &len);
        o->status = emit_text(o, b, len);
    }
    if (o->status == 0) o->status = out_flush(); // the text streams, token by token
    return o->status || o->stopped || interrupted;
}

static void sample_end(Output *o);

// gpt2_generate_batch's callback: on_token, and the continuation's end at its last token.
static int on_batch_token(void *ctx, int token, const float *logits) {
    Output *o = ctx;
    int stop = on_token(ctx, token, logits);
    if (stop || o->step >= o->job->a->max_new) sample_end(o);
    return stop;
}

// -v after a continuation: the load, the prompt's speed (its forward pass and the first draw), then
// the new tokens': those before the window slid, and apart those after, when each costs a forward
// pass over the whole window again (README, "How generation works").
static void print_speed(const Job *j, const Output *o) {
    int n = j->n < j->context ? j->n : j->context;
    print_load(j->model, j->t_load);
    fprintf(stderr, "; prompt %d tokens", n);
    if (o->t_first == 0.0) { // -n 0, or stopped before the first token
        fprintf(stderr, ", no new token\n");
        return;
    }
    print_rate(n, o->t_first - o->t_start);
    fprintf(stderr, ", first new token after %.1f ms", (o->t_first - o->t_start) * 1e3);
    // new tokens after the first, the end-of-text one included (it cost a forward pass too); the
    // first `flat` of them before the window slid
    int more = o->step - 1, flat = j->context - j->n < 0 ? 0 : j->context - j->n;
    if (flat > more) flat = more;
    double t_flat_end = o->t_slide > 0.0 ? o->t_slide : o->t_end;
    if (more > 0) fprintf(stderr, "; %d more", more);
    if (more > flat && flat > 0) fprintf(stderr, ": %d", flat);
    print_rate(flat, t_flat_end - o->t_first);
    if (more > flat) {
        if (flat > 0) fprintf(stderr, ", then %d", more - flat);
        print_rate(more - flat, o->t_end - (o->t_slide > 0.0 ? o->t_slide : o->t_first));
        fprintf(stderr, " with the window (%d tokens) sliding", j->context);
    }
    fputc('\n', stderr);
}

// The end of continuation o's text: what waited for a stop string that never came, a newline; the
// clock and -v. Then, if it was printing, each next continuation in order: its buffered text out,
// and the same for it when it has ended too; the first that has not streams from now on.
static void sample_end(Output *o) {
    if (o->ended) return;
    o->ended = 1, o->t_end = now_seconds();
    if (o->status == 0 && o->n_hold) o->status = sample_write(o, o->hold, o->n_hold);
    if (o->status == 0) o->status = o->job->a->json ? json_sample_end(o) : sample_write(o, "\n", 1);
    Printer *pr = o->printer;
    while (pr->front < pr->n && pr->out[pr->front].ended) {
        Output *done = &pr->out[pr->front];
        if (done->job->a->verbose) print_speed(done->job, done);
        if (++pr->front == pr->n) break;
        Output *next = &pr->out[pr->front];
        if (next->status == 0 && next->n_buf) next->status = out_write(next->buf, next->n_buf);
        free(next->buf);
        next->buf = NULL, next->n_buf = next->cap_buf = 0;
    }
}

// *seq: job j's prompt, to be continued by -n tokens with sampler *s, which is built from cfg with the
// seed + k (so that sample k + 1 of -N is -s seed + k alone); on_token(ctx, ...) sees each new token.
// 0, or the exit status with nothing left allocated.
static int new_sequence(const Job *j, SamplerConfig cfg, int k, Sampler *s, GPT2Sequence *seq,
                        int (*on_token)(void *, int, const float *), void *ctx) {
    char err[GPT2_ERR_LEN];
    int max_new = j->a->max_new, *ids = malloc(((size_t)j->n + max_new) * sizeof(int));
    if (!ids) return cli_error(EXIT_DATA, "out of memory for a sample of %d tokens", j->n + max_new);
    cfg.seed += (uint64_t)k;
    if (sampler_build(s, j->model->config.V, &cfg, err) != 0) return free(ids), library_error(err);
    memcpy(ids, j->ids, (size_t)j->n * sizeof(int));
    *seq = (GPT2Sequence){.ids = ids, .n_prompt = j->n, .max_new = max_new, .context = j->context, .sampler = s,
                          .on_token = on_token, .ctx = ctx};
    return 0;
}

// Up to this many continuations are generated at once (a batch's memory grows with it).
#define MAX_BATCH 64

// Continuations first..first+n-1 of the run: continuation k is sample k % K of prompt k / K
// (jobs[k / K]), sample i (from 0) seeded with seed + i, so that `-s S -N 3`'s first sample is `-s S`
// alone and its second `-s S+1` alone. Each is a header (when there are several), the prompt, then
// the new text; they are generated in one batch and printed in order (see Printer).
static int run_batch(const Job *jobs, Stops *stops, int first, int n) {
    const Args *a = jobs[0].a;
    const int K = a->num_samples;
    char err[GPT2_ERR_LEN];
    Output *out = calloc((size_t)n, sizeof(Output));
    Sampler *samplers = calloc((size_t)n, sizeof(Sampler));
    GPT2Sequence *seqs = calloc((size_t)n, sizeof(GPT2Sequence));
    Printer pr = {.out = out, .n = n};
    int r = !out || !samplers || !seqs ? cli_error(EXIT_DATA, "out of memory for %d samples", n) : 0;
    double t0 = now_seconds();
    for (int i = 0; r == 0 && i < n; i++) {
        int k = first + i, p = k / K;
        const Job *j = &jobs[p];
        Output *o = &out[i];
        *o = (Output){.job = j, .sampler = &samplers[i], .stops = stops, .printer = &pr, .sample = k % K,
                      .eos = a->eos_set ? a->eos : eot_id(j->tok), .fancy = explore_fancy(stderr), .t_start = t0};
        if ((r = new_sequence(j, a->sampling, k % K, &samplers[i], &seqs[i], on_batch_token, o)) != 0) break;
        if (stops->n && !(o->hold = malloc(stops->max_len + 256))) {
            r = cli_error(EXIT_DATA, "out of memory for %d samples", n);
            break;
        }
        unsigned long long seed = (unsigned long long)samplers[i].cfg.seed;
        char h[128];
        int len = 0;
        if (a->prompts && !a->json) // (JSON lines say their sample themselves)
            len = snprintf(h, sizeof(h), "--- prompt %d, sample %d (seed %llu) ---\n", p + 1, k % K + 1, seed);
        else if (K > 1 && !a->json)
            len = snprintf(h, sizeof(h), "--- sample %d (seed %llu) ---\n", k % K + 1, seed);
        o->status = sample_write(o, h, (size_t)len);
        for (int t = 0; o->status == 0 && !a->json && t < j->n; t++) o->status = sample_token(o, j->ids[t], t == 0);
        if (o->status) seqs[i].done = 1;
    }
    if (r == 0) {
        for (int i = 0; i < n; i++) out[i].t_start = now_seconds();
        if (gpt2_generate_batch(jobs[0].model, seqs, n, -1, a->context_shift ? GPT2_CONTEXT_SHIFT : 0, err) != 0)
            r = library_error(err);
        for (int i = 0; i < n; i++) sample_end(&out[i]); // those that ended without a token (-n 0, an error)
    }
    for (int i = 0; i < n; i++)
        if (r == 0 && out[i].status) r = out[i].status;
    for (int i = 0; out && samplers && seqs && i < n; i++) // calloc'd: the ones never built are empty
        free(seqs[i].ids), free(out[i].hold), free(out[i].buf), sampler_free(&samplers[i]);
    free(out), free(samplers), free(seqs);
    return r;
}

// Every continuation of the run (K = -N per prompt) in batches of up to MAX_BATCH, until Ctrl-C.
// With --show-probs one at a time, so that each continuation's charts on stderr come together.
static int run_samples(const Job *jobs, int n_prompts) {
    Stops stops;
    int r = stops_build(&stops, jobs[0].a);
    long total = (long)n_prompts * jobs[0].a->num_samples;
    int step = jobs[0].a->show_probs ? 1 : MAX_BATCH;
    for (long k = 0; r == 0 && k < total && !interrupted; k += step)
        r = run_batch(jobs, &stops, (int)k, total - k < step ? (int)(total - k) : step);
    stops_free(&stops);
    if (r == 0 && interrupted) r = EXIT_INTERRUPTED;
    return r;
}

// ----------------------------------------------------------------------------------------------
// --sweep: samples per decoding setting, and what they measure (metrics.c)

// The samples of one setting: their new tokens and the sum of -log p of those (plain softmax of
// the model's logits given the prompt and the tokens before, T = 1).
typedef struct {
    int **ids;    // (n_max) the new tokens of each sample, at most max_new each
    int *len;     // (n_max)
    int n_max, n; // samples wanted, begun (the last may be cut short by Ctrl-C)
    long tokens;  // their new tokens in all
    double nll;
    int eos, V;
} SweepRun;

// One sample of a sweep as gpt2_generate_batch's on_token sees it.
typedef struct {
    SweepRun *run;
    int k; // the sample's index in run
} SweepSample;

static int sweep_on_token(void *ctx, int token, const float *logits) {
    SweepSample *s = ctx;
    SweepRun *run = s->run;
    run->ids[s->k][run->len[s->k]++] = token;
    run->tokens++;
    run->nll += explore_logsumexp(logits, run->V) - logits[token];
    return interrupted;
}

// The run->n_max samples of one setting cfg, sample k seeded with cfg->seed + k (as -N), in batches
// of up to MAX_BATCH, until Ctrl-C. The end-of-text token ends a sample, neither kept nor scored.
static int sweep_generate(const Job *j, const SamplerConfig *cfg, SweepRun *run) {
    char err[GPT2_ERR_LEN];
    Sampler samplers[MAX_BATCH];
    GPT2Sequence seqs[MAX_BATCH];
    SweepSample ctx[MAX_BATCH];
    int r = 0;
    for (int k0 = 0; r == 0 && k0 < run->n_max && !interrupted; k0 += MAX_BATCH) {
        int B = run->n_max - k0 < MAX_BATCH ? run->n_max - k0 : MAX_BATCH, built = 0;
        for (; r == 0 && built < B; built++) {
            ctx[built] = (SweepSample){.run = run, .k = k0 + built};
            if ((r = new_sequence(j, *cfg, k0 + built, &samplers[built], &seqs[built], sweep_on_token, &ctx[built])))
                break;
        }
        if (r == 0) {
            run->n += B;
            if (gpt2_generate_batch(j->model, seqs, B, run->eos, j->a->context_shift ? GPT2_CONTEXT_SHIFT : 0, err))
                r = library_error(err);
        }
        for (int i = 0; i < built; i++) free(seqs[i].ids), sampler_free(&samplers[i]);
    }
    return r;
}

// The command line's sampling with a setting's keys over it.
static SamplerConfig sweep_config(const Args *a, const SweepSetting *st) {
    SamplerConfig c = a->sampling;
    if (st->set & SWEEP_T) c.temperature = st->t;
    if (st->set & SWEEP_K) c.top_k = st->k;
    if (st->set & SWEEP_P) c.top_p = st->p;
    if (st->set & SWEEP_MINP) c.min_p = st->minp;
    if (st->set & SWEEP_RP) c.repeat_penalty = st->rp;
    return c;
}

// A metric in a column of width w: "-" where it is undefined.
static void sweep_cell(double x, int w, int decimals) {
    if (isfinite(x)) printf(" %*.*f", w, decimals, x);
    else printf(" %*s", w, "-");
}

// One setting's row: a line of the table, or a JSON object with the samples' ids.
static int sweep_row(const Args *a, const SweepSetting *st, const SweepRun *run, double seconds, int width) {
    MetricsSamples ms = {.ids = (const int *const *)run->ids, .len = run->len, .n = run->n};
    double ppl = run->tokens ? exp(run->nll / run->tokens) : NAN, rate = seconds > 0 ? run->tokens / seconds : NAN;
    double bleu = metrics_self_bleu4(&ms), d1 = metrics_distinct(&ms, 1), d2 = metrics_distinct(&ms, 2);
    double zipf = metrics_zipf(&ms), rep = metrics_repetition(&ms, -1);
    if (d1 < 0 || d2 < 0 || zipf < 0) return cli_error(EXIT_DATA, "--sweep: out of memory for the metrics");
    if (!a->json) {
        printf("%-*s %7d %7ld", width, st->spec, run->n, run->tokens);
        sweep_cell(ppl, 11, 1), sweep_cell(bleu, 10, 4), sweep_cell(d1, 10, 4), sweep_cell(d2, 10, 4);
        sweep_cell(zipf, 7, 3), sweep_cell(rep, 10, 2), sweep_cell(rate, 9, 1);
        putchar('\n');
        return out_flush();
    }
    fputs("{\"setting\": ", stdout);
    explore_json_string(stdout, (const unsigned char *)st->spec, strlen(st->spec));
    fputs(", \"samples\": [", stdout);
    for (int k = 0; k < run->n; k++) {
        putchar('[');
        for (int i = 0; i < run->len[k]; i++) printf(i ? ", %d" : "%d", run->ids[k][i]);
        fputs(k < run->n - 1 ? "], " : "]", stdout);
    }
    printf("], \"tokens\": %ld, ", run->tokens);
    json_number("perplexity", ppl, ", ");
    json_number("self_bleu4", bleu, ", ");
    json_number("distinct1", d1, ", ");
    json_number("distinct2", d2, ", ");
    json_number("zipf", zipf, ", ");
    json_number("repetition", rep, ", ");
    json_number("tokens_per_s", rate, ", ");
    printf("\"partial\": %s}\n", interrupted ? "true" : "false");
    return out_flush();
}

// --sweep: for each setting, -N samples (default SWEEP_SAMPLES) of -n tokens after the prompt,
// then its row. After Ctrl-C the row of what was done, marked partial, and EXIT_INTERRUPTED.
static int run_sweep(const Job *j) {
    const Args *a = j->a;
    int n_samples = a->num_samples_set ? a->num_samples : SWEEP_SAMPLES, width = 7, r = 0;
    for (int i = 0; i < a->n_sweep; i++) {
        int w = (int)strlen(a->sweep[i].spec);
        width = w > width ? w : width;
        if ((a->sweep[i].set & SWEEP_K) && a->sweep[i].k > j->model->config.V)
            return cli_error(EXIT_USAGE, "--sweep k: %d is larger than the vocabulary (%d)", a->sweep[i].k,
                             j->model->config.V);
    }
    SweepRun run = {.n_max = n_samples, .eos = a->eos_set ? a->eos : eot_id(j->tok), .V = j->model->config.V};
    run.ids = calloc((size_t)n_samples, sizeof(int *));
    run.len = calloc((size_t)n_samples, sizeof(int));
    for (int k = 0; run.ids && k < n_samples; k++)
        if (!(run.ids[k] = malloc(((size_t)a->max_new + 1) * sizeof(int)))) break;
    if (!run.ids || !run.len || !run.ids[n_samples - 1]) r = cli_error(EXIT_DATA, "out of memory for %d samples", n_samples);
    if (r == 0 && !a->json) {
        printf("%d sample%s of up to %d tokens per setting after a prompt of %d tokens, seeds %llu..%llu\n", n_samples,
               n_samples == 1 ? "" : "s", a->max_new, j->n, (unsigned long long)a->sampling.seed,
               (unsigned long long)(a->sampling.seed + (uint64_t)n_samples - 1));
        printf("%-*s %7s %7s %11s %10s %10s %10s %7s %10s %9s\n", width, "setting", "samples", "tokens", "perplexity",
               "self-bleu4", "distinct-1", "distinct-2", "zipf", "repetition", "tokens/s");
    }
    for (int i = 0; r == 0 && i < a->n_sweep && !interrupted; i++) {
        SamplerConfig cfg = sweep_config(a, &a->sweep[i]);
        run.n = 0, run.tokens = 0, run.nll = 0.0;
        memset(run.len, 0, (size_t)n_samples * sizeof(int));
        double t0 = now_seconds();
        r = sweep_generate(j, &cfg, &run);
        if (r == 0) r = sweep_row(a, &a->sweep[i], &run, now_seconds() - t0, width);
    }
    if (r == 0 && interrupted && !a->json) printf("partial: interrupted in the last setting shown\n");
    for (int k = 0; run.ids && k < n_samples; k++) free(run.ids[k]);
    free(run.ids), free(run.len);
    return r == 0 && interrupted ? EXIT_INTERRUPTED : r;
}

// --prompts FILE: its lines, each with \n, \t and \\ made a newline, a tab and a backslash (as in
// --stop) and a final \r dropped, as prompts (ids with room for -n more, an empty line
// <|endoftext|>), one Job each.
static int read_prompts(const Job *base, Job **jobs, int *n_jobs) {
    const Args *a = base->a;
    FILE *f = fopen(a->prompts, "rb");
    if (!f) return cli_error(EXIT_DATA, "--prompts: %s: %s", a->prompts, strerror(errno));
    size_t len;
    char *text = read_stream(f, &len);
    int e = errno;
    fclose(f);
    if (!text) return cli_error(EXIT_DATA, "--prompts: %s: %s", a->prompts, strerror(e));
    int r = 0, cap = 0;
    *jobs = NULL, *n_jobs = 0;
    for (size_t at = 0; r == 0 && at < len;) {
        char *line = text + at, *nl = memchr(line, '\n', len - at);
        size_t n = nl ? (size_t)(nl - line) : len - at;
        at += n + 1;
        line[n] = '\0';
        if (n && line[n - 1] == '\r') line[--n] = '\0';
        if (*n_jobs == cap) {
            Job *b = realloc(*jobs, (size_t)(cap = cap * 2 + 16) * sizeof(Job));
            if (!b) {
                r = cli_error(EXIT_DATA, "out of memory for the prompts of %s", a->prompts);
                break;
            }
            *jobs = b;
        }
        Job *j = &(*jobs)[*n_jobs];
        *j = *base;
        j->ids = NULL;
        size_t n_ids = 0;
        size_t m = unescape(line, line); // in place: never longer
        if (tokenizer_encode(base->tok, line, m, &j->ids, &n_ids) != 0 || n_ids > INT32_MAX)
            r = cli_error(EXIT_DATA, "out of memory encoding the prompts of %s", a->prompts);
        j->n = (int)n_ids;
        if (r == 0) r = finish_prompt(a, base->tok, base->model->config.V, &j->ids, &j->n);
        if (r != 0) free(j->ids);
        else ++*n_jobs;
    }
    free(text);
    if (r == 0 && *n_jobs == 0) r = cli_error(EXIT_DATA, "--prompts: %s: no prompts (the file is empty)", a->prompts);
    if (r != 0) {
        for (int i = 0; i < *n_jobs; i++) free((*jobs)[i].ids);
        free(*jobs);
        *jobs = NULL;
    }
    return r;
}

// Generate mode: the model, the flags checked against it, the prompt's ids, then what the flags ask.
static int run_generate(const Args *a, const Tokenizer *tok) {
    GPT2 model;
    double t0 = now_seconds();
    if (load_model(a, &model) != 0) return EXIT_DATA;
    Job j = {.a = a, .tok = tok, .model = &model, .t_load = now_seconds() - t0,
             .context = a->context ? a->context : model.config.maxT};
    int r = check_flags_against_model(a, tok, &model.config, j.context);
    if (r == 0 && a->prompts) {
        Job *jobs = NULL;
        int n_jobs = 0;
        r = read_prompts(&j, &jobs, &n_jobs);
        if (r == 0) r = run_samples(jobs, n_jobs);
        for (int i = 0; i < n_jobs; i++) free(jobs[i].ids);
        free(jobs);
        gpt2_free(&model);
        return r;
    }
    if (r == 0) r = make_prompt(a, tok, model.config.V, &j.ids, &j.n);
    if (r == 0 && a->dump_logits) r = dump_logits(&j);
    else if (r == 0 && (a->draws || a->n_temps || (a->show_probs && a->max_new == 0))) r = run_explore(&j);
    else if (r == 0 && a->n_sweep) r = run_sweep(&j);
    else if (r == 0) r = run_samples(&j, 1);
    free(j.ids);
    gpt2_free(&model);
    return r;
}

// ----------------------------------------------------------------------------------------------
// --eval and --score

// The ids of the text in --eval's (--score's) file (n >= 2).
static int eval_ids(const Args *a, const Tokenizer *tok, int **ids, int *n) {
    const char *path = a->eval, *flag = a->mode == MODE_SCORE ? "--score" : "--eval";
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error(EXIT_DATA, "%s: %s: %s", flag, path, strerror(errno));
    size_t len, n_ids = 0;
    char *text = read_stream(f, &len);
    int e = errno;
    fclose(f);
    if (!text) return cli_error(EXIT_DATA, "%s: %s: %s", flag, path, strerror(e));
    int r = encode(a, tok, text, len, ids, &n_ids);
    free(text);
    if (r != 0) return cli_error(EXIT_DATA, "%s: %s: out of memory for its tokens", flag, path);
    if (n_ids < 2 || n_ids > INT32_MAX)
        return cli_error(EXIT_DATA, "%s: %s: %zu token(s); it needs at least two (the first is never predicted)", flag,
                         path, n_ids);
    *n = (int)n_ids;
    return 0;
}

// --score's view of the text as it is scored: the text on stdout, each token marked by its GLTR
// bucket (colour on a terminal, brackets otherwise), or JSON lines; the HTML page beside it.
typedef struct {
    const Args *a;
    const Tokenizer *tok;
    const int *ids;
    int n, window, stride;
    int color;                     // ANSI colours (a terminal, NO_COLOR unset), else bracket marks
    FILE *html;                    // --html's page, or NULL
    TokenizerStream text, page;    // characters split across tokens, held back until whole
    long buckets[EXPLORE_BUCKETS]; // tokens scored per bucket
    int status;
} ScoreView;

// GLTR's colours (background; black text): green, yellow, red, violet. Brackets without colour:
// top 10 unmarked, (top 100), [top 1000], {beyond}.
static const char *const bucket_ansi[EXPLORE_BUCKETS] = {"\033[30;102m", "\033[30;103m", "\033[30;101m", "\033[30;105m"};
static const char bucket_open[EXPLORE_BUCKETS] = {0, '(', '[', '{'}, bucket_close[EXPLORE_BUCKETS] = {0, ')', ']', '}'};

// Bytes b (len) of a token of bucket k on stdout (k < 0: unmarked): each line of it coloured, or
// in the bucket's brackets (a token of line ends alone gets empty ones before them).
static void put_marked(const ScoreView *v, const unsigned char *b, size_t len, int k) {
    int mark = k >= 0 && (v->color || bucket_open[k]);
    for (size_t i = 0; i < len || (i == 0 && mark);) {
        size_t run = 0;
        while (i + run < len && b[i + run] != '\n') run++;
        if (mark && (run || i == 0)) fputs(v->color ? bucket_ansi[k] : (char[2]){bucket_open[k], 0}, stdout);
        fwrite(b + i, 1, run, stdout);
        if (mark && (run || i == 0)) fputs(v->color ? "\033[0m" : (char[2]){bucket_close[k], 0}, stdout);
        i += run;
        if (i < len) putchar('\n');
        i++;
    }
}

static const char *const bucket_css[EXPLORE_BUCKETS] = {"#adff80", "#ffea80", "#ff9280", "#e5b0ff"};

// The page's head: a style sheet (a tooltip per token from its data-tip, no script), the legend.
static void html_begin(FILE *f, const char *path) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>gpt2 --score ", f);
    explore_html_text(f, (const unsigned char *)path, strlen(path));
    fputs("</title>\n<style>\n"
          "body { font: 16px/1.5 sans-serif; margin: 2em auto; max-width: 56em; color: #222; }\n"
          ".text { white-space: pre-wrap; font: 15px/1.9 monospace; border: 1px solid #ccc; padding: 1em; }\n"
          ".t { position: relative; border-radius: 2px; }\n",
          f);
    for (int k = 0; k < EXPLORE_BUCKETS; k++) fprintf(f, ".b%d { background: %s; }\n", k, bucket_css[k]);
    fputs(".t:hover { outline: 2px solid #333; }\n"
          ".t:hover::after { content: attr(data-tip); position: absolute; left: 0; top: 1.7em; z-index: 1;\n"
          "  background: #222; color: #fff; padding: .4em .6em; border-radius: 4px; white-space: pre;\n"
          "  font: 13px/1.4 monospace; }\n"
          ".legend span { padding: 0 .4em; margin-right: .4em; white-space: nowrap; }\n"
          "table { border-collapse: collapse; margin-top: 1em; }\n"
          "td, th { padding: .2em .8em; text-align: left; border-bottom: 1px solid #ddd; }\n"
          "</style>\n</head>\n<body>\n<h1>",
          f);
    explore_html_text(f, (const unsigned char *)path, strlen(path));
    fputs(" through the model's eyes</h1>\n<p class=\"legend\">rank of each token under the model (GLTR's buckets; "
          "hover a token for its rank and the alternatives):",
          f);
    for (int k = 0; k < EXPLORE_BUCKETS; k++) fprintf(f, " <span class=\"t b%d\">%s</span>", k, explore_bucket_names[k]);
    fputs("</p>\n<div class=\"text\">", f);
}

// One scored token's span: its text, a tooltip with rank, log-probability and the alternatives.
static void html_token(ScoreView *v, const ExploreScored *t, const unsigned char *b, size_t len) {
    FILE *f = v->html;
    char esc[4 * 24 + 16];
    size_t tl;
    const unsigned char *tb = tokenizer_decode(v->tok, t->id, &tl);
    explore_escape(esc, sizeof(esc), tb, tl, 24);
    fprintf(f, "<span class=\"t b%d\" data-tip=\"", explore_bucket(t->rank));
    explore_html_text(f, (const unsigned char *)esc, strlen(esc));
    fprintf(f, " (id %d)&#10;rank %d, logprob %.4f&#10;the most likely:", t->id, t->rank, t->logprob);
    for (int i = 0; i < t->n_top && t->top[i] >= 0; i++) {
        tb = tokenizer_decode(v->tok, t->top[i], &tl);
        explore_escape(esc, sizeof(esc), tb, tl, 24);
        fprintf(f, "&#10;%2d. ", i + 1);
        explore_html_text(f, (const unsigned char *)esc, strlen(esc));
        fprintf(f, " %.4f", t->top_logprob[i]);
    }
    fputs("\">", f);
    explore_html_text(f, b, len);
    fputs("</span>", f);
}

// explore_score's callback: one token into the views; Ctrl-C stops the scoring.
static int score_on_token(void *ctx, const ExploreScored *t) {
    ScoreView *v = ctx;
    if (v->a->mode == MODE_EVAL) return interrupted;
    v->buckets[explore_bucket(t->rank)]++;
    unsigned char b[TOKENIZER_STREAM_MAX];
    if (v->a->json) {
        v->status = json_token(v->tok, t, 0, -1.0);
    } else {
        put_marked(v, b, tokenizer_stream(v->tok, &v->text, t->id, b), explore_bucket(t->rank));
        v->status = out_flush();
    }
    if (v->html) html_token(v, t, b, tokenizer_stream(v->tok, &v->page, t->id, b));
    return v->status || interrupted;
}

// The first token (never scored), unmarked; before it, in the text view, the legend.
static void score_begin(ScoreView *v) {
    unsigned char b[TOKENIZER_STREAM_MAX];
    if (!v->a->json && v->a->mode == MODE_SCORE) {
        fputs("rank under the model:", stdout);
        for (int k = 0; k < EXPLORE_BUCKETS; k++) {
            const char *name = explore_bucket_names[k];
            fputs(k ? ", " : " ", stdout);
            put_marked(v, (const unsigned char *)name, strlen(name), k);
        }
        fputs(v->color ? "\n\n" : " (top 10 plain)\n\n", stdout);
        put_marked(v, b, tokenizer_stream(v->tok, &v->text, v->ids[0], b), -1);
    }
    if (v->html) explore_html_text(v->html, b, tokenizer_stream(v->tok, &v->page, v->ids[0], b));
}

// The summary, in --eval's form (tokens, nll, perplexity), with --score's bucket shares and mean
// log-probability, marked partial after Ctrl-C: on stdout (a JSON object with --json), and the page's.
static void score_end(ScoreView *v, double nll, long scored, int partial) {
    const Args *a = v->a;
    unsigned char b[4];
    double mean = scored ? nll / scored : NAN, share[EXPLORE_BUCKETS];
    for (int k = 0; k < EXPLORE_BUCKETS; k++) share[k] = scored ? (double)v->buckets[k] / scored : NAN;
    if (a->json) {
        printf("{\"summary\": true, \"tokens\": %d, \"scored\": %ld, \"window\": %d, \"stride\": %d, ", v->n, scored,
               v->window, v->stride);
        json_number("top10", share[0], ", ");
        json_number("top100", share[1], ", ");
        json_number("top1000", share[2], ", ");
        json_number("beyond", share[3], ", ");
        json_number("mean_logprob", -mean, ", ");
        json_number("nll", mean, ", ");
        json_number("perplexity", exp(mean), ", ");
        printf("\"partial\": %s}\n", partial ? "true" : "false");
    } else {
        if (a->mode == MODE_SCORE) {
            fwrite(b, 1, tokenizer_stream_end(&v->text, b), stdout);
            fputs("\n\n", stdout);
        }
        printf("tokens: %d (%ld scored), window %d, stride %d\n", v->n, scored, v->window, v->stride);
        if (a->mode == MODE_SCORE) {
            for (int k = 0; k < EXPLORE_BUCKETS; k++)
                printf("%s%s: %ld (%.1f%%)", k ? ", " : "", explore_bucket_names[k], v->buckets[k], 100.0 * share[k]);
            printf("\nmean logprob: %.6f\n", -mean);
        }
        printf("nll: %.6f\nperplexity: %.6g\n", mean, exp(mean));
        if (partial) printf("partial: interrupted after %ld of %d tokens\n", scored, v->n - 1);
    }
    if (!v->html) return;
    FILE *f = v->html;
    explore_html_text(f, b, tokenizer_stream_end(&v->page, b));
    fprintf(f, "</div>\n<table>\n<tr><th>tokens</th><td>%d (%ld scored%s), window %d, stride %d</td></tr>\n", v->n,
            scored, partial ? ", interrupted" : "", v->window, v->stride);
    for (int k = 0; k < EXPLORE_BUCKETS; k++)
        fprintf(f, "<tr><th><span class=\"t b%d\">%s</span></th><td>%ld (%.1f%%)</td></tr>\n", k,
                explore_bucket_names[k], v->buckets[k], 100.0 * share[k]);
    fprintf(f, "<tr><th>mean logprob</th><td>%.6f</td></tr>\n<tr><th>perplexity</th><td>%.6g</td></tr>\n</table>\n",
            -mean, exp(mean));
    fputs("</body>\n</html>\n", f);
}

// --eval and --score of ids (n): windows of --context tokens (default maxT) moving by --stride
// (default half the window); the progress bar only on a terminal; with -v the load time t_load and
// the speed on stderr. After Ctrl-C the result so far, marked partial, and EXIT_INTERRUPTED.
static int score_text(const Args *a, const Tokenizer *tok, GPT2 *model, double t_load, const int *ids, int n) {
    const GPT2Config *c = &model->config;
    int window = a->context ? a->context : c->maxT;
    int stride = a->stride ? a->stride : (window / 2 > 0 ? window / 2 : 1);
    int bad = first_outside(ids, n, c->V);
    if (window > c->maxT) return context_too_large(window, c->maxT);
    if (stride > window)
        return cli_error(EXIT_USAGE, "--stride: %d is larger than the window (%d tokens)", stride, window);
    if (bad >= 0)
        return cli_error(EXIT_DATA, "%s: token %d is outside the model's vocabulary 0..%d",
                         a->mode == MODE_SCORE ? "--score" : "--eval", ids[bad], c->V - 1);
    ScoreView v = {.a = a, .tok = tok, .ids = ids, .n = n, .window = window, .stride = stride,
                   .color = (explore_fancy(stdout) & EXPLORE_COLOR) != 0};
    if (a->html && !(v.html = fopen(a->html, "wb"))) return cli_error(EXIT_DATA, "--html: %s: %s", a->html, strerror(errno));
    if (v.html) html_begin(v.html, a->eval);
    char err[GPT2_ERR_LEN];
    double nll = 0.0;
    long scored = 0;
    FILE *progress = isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO) ? stderr : NULL;
    if (a->mode == MODE_EVAL && isatty(STDERR_FILENO)) progress = stderr;
    double t0 = now_seconds();
    score_begin(&v);
    int r = explore_score(model, ids, n, window, stride, a->mode == MODE_SCORE ? a->top_logprobs : 0, progress,
                          score_on_token, &v, &nll, &scored, err);
    double seconds = now_seconds() - t0;
    if (r != 0) r = library_error(err);
    else if (v.status) r = v.status;
    if (r == 0) score_end(&v, nll, scored, interrupted && scored < n - 1);
    if (v.html && (ferror(v.html) | fclose(v.html)) && r == 0)
        r = cli_error(EXIT_DATA, "--html: %s: %s", a->html, strerror(errno));
    if (r == 0 && a->verbose) {
        print_load(model, t_load);
        fprintf(stderr, "; %s %ld tokens scored in %.2f s", a->mode == MODE_SCORE ? "score" : "eval", scored, seconds);
        print_rate((int)scored, seconds);
        fputc('\n', stderr);
    }
    return r == 0 && interrupted && scored < n - 1 ? EXIT_INTERRUPTED : r;
}

// --eval FILE, --score FILE: the text's ids, the model, then the score.
static int run_eval(const Args *a, const Tokenizer *tok) {
    int *ids = NULL, n = 0, r = eval_ids(a, tok, &ids, &n);
    GPT2 model;
    double t0 = now_seconds();
    if (r == 0 && load_model(a, &model) != 0) r = EXIT_DATA;
    if (r != 0) return free(ids), r;
    r = score_text(a, tok, &model, now_seconds() - t0, ids, n);
    free(ids);
    gpt2_free(&model);
    return r;
}

// A default file (data/NAME): there when it exists, so that a checkout uses its own; else the
// installed copy in GPT2_DATADIR when that exists; else data/NAME, which the error then names.
static const char *default_file(const char *path, char *buf, size_t cap) {
    const char *name = strrchr(path, '/') + 1;
    if (access(path, F_OK) != 0 && snprintf(buf, cap, "%s/%s", GPT2_DATADIR, name) < (int)cap &&
        access(buf, F_OK) == 0)
        return buf;
    return path;
}

int main(int argc, char **argv) {
#ifdef _WIN32
    // bytes in and out as they are: no CRLF translation, no end at a 0x1a byte
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    Args a;
    int r = cli_parse(argc, argv, &a);
    if (r == CLI_HELP) return fputs(cli_usage, stdout), 0;
    if (r == CLI_VERSION) return puts("gpt2 " GPT2_VERSION_STRING), 0;
    if (r != 0) return r;
    char model_path[4096], tokenizer_path[4096];
    if ((a.default_model = strcmp(a.model, DEFAULT_MODEL) == 0))
        a.model = default_file(DEFAULT_MODEL, model_path, sizeof(model_path));
    if (strcmp(a.tokenizer, DEFAULT_TOKENIZER) == 0)
        a.tokenizer = default_file(DEFAULT_TOKENIZER, tokenizer_path, sizeof(tokenizer_path));
    if (a.prompt_file && (r = load_prompt_file(&a)) != 0) return r;
    // --encode/--decode may wait on stdin: Ctrl-C ends them; the others stop with what is done so far
    if (a.mode == MODE_GENERATE || a.mode == MODE_EVAL || a.mode == MODE_SCORE) signal(SIGINT, on_sigint);

    Tokenizer tok;
    char err[GPT2_ERR_LEN];
    // Generation from ids to ids needs no tokenizer; everything else does.
    int need_tok = a.mode != MODE_GENERATE || !a.prompt_ids || !(a.print_ids || a.dump_logits);
    int have_tok = tokenizer_build(&tok, a.tokenizer, err) == 0;
    if (!have_tok && need_tok) return free(a.prompt_buf), library_error(err);
    if (a.mode == MODE_ENCODE) r = run_encode(&a, &tok);
    else if (a.mode == MODE_DECODE) r = run_decode(&a, &tok);
    else if (a.mode == MODE_EVAL || a.mode == MODE_SCORE) r = run_eval(&a, &tok);
    else r = run_generate(&a, have_tok ? &tok : NULL);
    int w = out_flush(); // also after an interruption: the text so far goes out
    if (have_tok) tokenizer_free(&tok);
    free(a.prompt_buf);
    return r ? r : w;
}
