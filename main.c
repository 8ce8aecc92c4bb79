// main.c: the command line. Parse the flags, load the tokenizer and the checkpoint, then either
// encode/decode, score a text (--eval), chart the next-token distribution (explore.c), or run the
// tutorial's generate loop and stream the text to stdout.
// Exit status: 0 success, 1 runtime or data error, 2 usage error, 130 interrupted (SIGINT).
#include "explore.h"
#include "gpt2.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MODEL "data/gpt2_124M.bin"
#define DEFAULT_TOKENIZER "data/gpt2_tokenizer.bin"
#define DEFAULT_PROMPT "Every effort moves you"
#define GPT2_EOT 50256 // GPT-2's <|endoftext|>, the default stop when no tokenizer is loaded

enum { EXIT_DATA = 1, EXIT_USAGE = 2 };
enum { MODE_GENERATE, MODE_ENCODE, MODE_DECODE, MODE_EVAL };
#define MAX_TEMPS 16 // --compare-temperatures columns
#define MAX_STOPS 16 // --stop strings

typedef struct {
    int mode;
    const char *prompt;     // NULL: DEFAULT_PROMPT (generate) or stdin (encode/decode)
    const char *prompt_ids; // ids instead of text
    const char *model, *tokenizer, *dump_logits;
    SamplerConfig sampling;
    int max_new, context; // context 0: the checkpoint's maxT
    int eos, eos_set;
    int print_ids, verbose, threads, quantize_int8;
    int max_new_set;             // -n given: --show-probs without it charts the prompt only
    int num_samples;             // -N: continuations of the prompt, sample i seeded with seed + i - 1
    const char *stop[MAX_STOPS]; // --stop: end a continuation at any of these (not printed)
    int n_stop;
    int show_probs;              // --show-probs: rows of the chart, 0 none
    float temps[MAX_TEMPS];      // --compare-temperatures
    int n_temps;
    long draws;                  // --draws: 0 none
    const char *eval;            // --eval / --perplexity: the text file (MODE_EVAL)
    int stride;                  // --eval's window step; 0: half the window
} Args;

static const char *usage_text =
    "usage: gpt2 [options]\n"
    "Generate text with GPT-2: the tutorial's generate() with temperature and top-k sampling.\n"
    "\n"
    "  -p, --prompt TEXT          prompt (default \"" DEFAULT_PROMPT "\"; empty: start from <|endoftext|>)\n"
    "      --prompt-ids \"IDS\"     prompt as token ids, e.g. \"6109 3626 6100 345\"\n"
    "  -t, --temperature T        0 (default): greedy argmax; > 0: sample from softmax(logits / T)\n"
    "  -k, --top-k K              keep the K most likely tokens (ties kept); default off\n"
    "      --top-p P              nucleus sampling, P in (0, 1]; default off (1)\n"
    "      --min-p P              drop tokens less likely than P times the most likely, P in [0, 1)\n"
    "      --repeat-penalty R     penalise tokens seen in the last --repeat-last-n (default 64); 1: off\n"
    "  -n, --max-new-tokens N     tokens to generate at most (default 25)\n"
    "  -s, --seed S               seed of the sampler's random generator (default 42)\n"
    "  -c, --context N            context size: the model sees the last N tokens (default: maxT)\n"
    "      --eos ID               stop at this token id (default: <|endoftext|>; -1: never stop)\n"
    "  -m, --model PATH           checkpoint: float32, bfloat16 or int8 (default " DEFAULT_MODEL ")\n"
    "      --tokenizer PATH       tokenizer (default " DEFAULT_TOKENIZER ")\n"
    "      --quantize int8        quantize the weights to int8 at load time (faster, less exact;\n"
    "                             export_weights.py --dtype int8 writes an int8 checkpoint instead)\n"
    "  -T, --threads N            threads (default: the number of online cores)\n"
    "      --print-ids            print token ids instead of text\n"
    "      --dump-logits FILE     write the prompt's last-position logits (V float32) and exit\n"
    "      --encode               print the token ids of -p TEXT (or stdin) and exit\n"
    "      --decode               write the text of the ids in -p (or stdin) and exit\n"
    "      --stop STRING          end a continuation where its text contains STRING (not printed);\n"
    "                             repeatable; \\n, \\t and \\\\ in STRING are a newline, a tab, a backslash\n"
    "  -N, --num-samples K        K continuations of the prompt, each after a line \"--- sample I (seed\n"
    "                             S) ---\"; sample I uses seed S = --seed + I - 1, so -s S alone repeats it\n"
    "\n"
    "Exploring the next-token distribution (the tutorial's experiments):\n"
    "      --show-probs N         chart the N most likely next tokens after the prompt: logit,\n"
    "                             softmax at T=1 and the distribution as sampled, the draw marked;\n"
    "                             with -n also at every new token, on stderr (stdout keeps the text)\n"
    "      --compare-temperatures LIST  the prompt's next-token distribution at each temperature of\n"
    "                             LIST (e.g. 1,0.1,5), one column each; rows: --show-probs (10)\n"
    "      --draws N              draw the next token N times; count, id and token per token drawn\n"
    "      --eval FILE            perplexity of the text in FILE (alias --perplexity): every token\n"
    "                             after the first scored given those before it, windows of\n"
    "                             --context tokens moving by --stride (default half the window)\n"
    "  -v, --verbose              load time, weight format and tokens/s on stderr\n"
    "  -h, --help                 this help\n"
    "\n"
    "Sampling order: repeat penalty (on the last --repeat-last-n tokens), top-k, temperature,\n"
    "top-p, min-p, one draw. Each filter is off unless given: -t and -k alone are the tutorial's.\n"
    "Charts use Unicode bars and color when stdout and their stream are terminals and NO_COLOR is\n"
    "unset, plain ASCII otherwise.\n"
    "Exit status: 0 success, 1 runtime or data error, 2 usage error, 130 interrupted (Ctrl-C:\n"
    "the text so far is written out first).\n"
    "\n"
    "Examples:\n"
    "  gpt2 -p \"Every effort moves you\" -t 1.4 -k 25\n"
    "  gpt2 -p \"Every effort moves you\" --show-probs 10 -t 1 -k 3\n"
    "  gpt2 -p \"Every effort moves you\" --show-probs 5 -n 10 -t 1 2>charts.txt\n"
    "  gpt2 -p \"Every effort moves you\" --compare-temperatures 1,0.1,5\n"
    "  gpt2 -p \"Every effort moves you\" --draws 1000 -t 1 -s 123\n"
    "  gpt2 -p \"Every effort moves you\" -t 0.8 --top-p 0.9 --min-p 0.05 --repeat-penalty 1.2\n"
    "  gpt2 -p \"The meaning of life is\" -t 1 -N 3 -n 40 --stop \".\" --stop \"\\n\"\n"
    "  gpt2 --eval book.txt --stride 512\n"
    "  gpt2 --encode -p \"Hello, world\"\n"
    "  echo 15496 11 995 | gpt2 --decode\n";

static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gpt2: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see gpt2 --help)\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

// Whole-string numbers only: "1.4x", "", " 3" and out-of-range values are usage errors.
static int parse_long(const char *flag, const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || s[0] == ' ')
        return usage_error("%s: '%s' is not an integer", flag, s);
    if (v < min || v > max) return usage_error("%s: %ld is outside %ld..%ld", flag, v, min, max);
    *out = v;
    return 0;
}

static int parse_int(const char *flag, const char *s, long min, long max, int *out) {
    long v;
    if (parse_long(flag, s, min, max, &v)) return EXIT_USAGE;
    *out = (int)v;
    return 0;
}

// A finite float in [min, max] (or (min, max] when open_min).
static int parse_float(const char *flag, const char *s, float min, float max, int open_min, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (*s == '\0' || *end != '\0' || s[0] == ' ' || errno == ERANGE || !isfinite(v))
        return usage_error("%s: '%s' is not a finite number", flag, s);
    if (v < min || v > max || (open_min && v == min))
        return usage_error("%s: %s is outside %s%g, %g]", flag, s, open_min ? "(" : "[", min, max);
    *out = v;
    return 0;
}

static int parse_seed(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno == ERANGE)
        return usage_error("--seed: '%s' is not an integer in 0..%llu", s, (unsigned long long)UINT64_MAX);
    *out = v;
    return 0;
}

// --compare-temperatures: 1 to MAX_TEMPS comma-separated temperatures, each finite and >= 0.
static int parse_temperatures(const char *s, float *temps, int *n) {
    *n = 0;
    for (const char *p = s;; p++) {
        char buf[64];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(buf))
            return usage_error("--compare-temperatures: '%s' is not a list of temperatures like 1,0.1,5", s);
        if (*n == MAX_TEMPS) return usage_error("--compare-temperatures: at most %d temperatures", MAX_TEMPS);
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (parse_float("--compare-temperatures", buf, 0.0f, 1e30f, 0, &temps[(*n)++])) return EXIT_USAGE;
        p += len;
        if (*p == '\0') return 0;
    }
}

int cli_parse(int argc, char **argv, Args *a) {
    enum { O_PROMPT_IDS = 256, O_TOP_P, O_MIN_P, O_REPEAT, O_REPEAT_N, O_EOS, O_TOKENIZER, O_QUANT,
           O_PRINT_IDS, O_DUMP, O_ENCODE, O_DECODE, O_STOP, O_SHOW_PROBS, O_COMPARE, O_DRAWS, O_EVAL, O_STRIDE };
    static const struct option longs[] = {
        {"prompt", required_argument, 0, 'p'},       {"prompt-ids", required_argument, 0, O_PROMPT_IDS},
        {"temperature", required_argument, 0, 't'},  {"top-k", required_argument, 0, 'k'},
        {"top-p", required_argument, 0, O_TOP_P},     {"min-p", required_argument, 0, O_MIN_P},
        {"repeat-penalty", required_argument, 0, O_REPEAT}, {"repeat-last-n", required_argument, 0, O_REPEAT_N},
        {"max-new-tokens", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"context", required_argument, 0, 'c'},      {"eos", required_argument, 0, O_EOS},
        {"model", required_argument, 0, 'm'},        {"tokenizer", required_argument, 0, O_TOKENIZER},
        {"quantize", required_argument, 0, O_QUANT}, {"threads", required_argument, 0, 'T'},
        {"print-ids", no_argument, 0, O_PRINT_IDS},  {"dump-logits", required_argument, 0, O_DUMP},
        {"encode", no_argument, 0, O_ENCODE},        {"decode", no_argument, 0, O_DECODE},
        {"stop", required_argument, 0, O_STOP},     {"num-samples", required_argument, 0, 'N'},
        {"show-probs", required_argument, 0, O_SHOW_PROBS}, {"compare-temperatures", required_argument, 0, O_COMPARE},
        {"draws", required_argument, 0, O_DRAWS},   {"eval", required_argument, 0, O_EVAL},
        {"perplexity", required_argument, 0, O_EVAL}, {"stride", required_argument, 0, O_STRIDE},
        {"verbose", no_argument, 0, 'v'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *a = (Args){.mode = MODE_GENERATE, .model = DEFAULT_MODEL, .tokenizer = DEFAULT_TOKENIZER,
                .sampling = sampler_defaults(), .max_new = 25, .num_samples = 1};
    SamplerConfig *sc = &a->sampling;
    optind = 0; // reset getopt, so that cli_parse can be called more than once (tests, fuzzing)
    opterr = 0; // we print our own messages
    int opt, r = 0;
    while (r == 0 && (opt = getopt_long(argc, argv, ":p:t:k:n:s:c:m:T:N:vh", longs, NULL)) != -1) {
        const char *flag = argv[optind - 1];
        switch (opt) {
        case 'p': a->prompt = optarg; break;
        case O_PROMPT_IDS: a->prompt_ids = optarg; break;
        case 't': r = parse_float("--temperature", optarg, 0.0f, 1e30f, 0, &sc->temperature); break;
        case 'k': r = parse_int("--top-k", optarg, 1, 1 << 24, &sc->top_k); break;
        case O_TOP_P: r = parse_float("--top-p", optarg, 0.0f, 1.0f, 1, &sc->top_p); break;
        case O_MIN_P:
            r = parse_float("--min-p", optarg, 0.0f, 1.0f, 0, &sc->min_p);
            if (r == 0 && sc->min_p >= 1.0f) r = usage_error("--min-p: %s is outside [0, 1)", optarg);
            break;
        case O_REPEAT: r = parse_float("--repeat-penalty", optarg, 0.0f, 1e30f, 1, &sc->repeat_penalty); break;
        case O_REPEAT_N: r = parse_int("--repeat-last-n", optarg, 0, 1 << 24, &sc->repeat_last_n); break;
        case 'n': r = parse_int("--max-new-tokens", optarg, 0, 1 << 24, &a->max_new), a->max_new_set = 1; break;
        case 's': r = parse_seed(optarg, &sc->seed); break;
        case 'c': r = parse_int("--context", optarg, 1, 1 << 24, &a->context); break;
        case O_EOS: r = parse_int("--eos", optarg, -1, 1 << 24, &a->eos), a->eos_set = 1; break;
        case 'm': a->model = optarg; break;
        case O_TOKENIZER: a->tokenizer = optarg; break;
        case O_QUANT:
            if (strcmp(optarg, "int8") != 0) r = usage_error("--quantize: '%s' is not a format (int8)", optarg);
            a->quantize_int8 = 1;
            break;
        case 'T': r = parse_int("--threads", optarg, 1, 1024, &a->threads); break;
        case O_PRINT_IDS: a->print_ids = 1; break;
        case O_DUMP: a->dump_logits = optarg; break;
        case O_ENCODE: a->mode = MODE_ENCODE; break;
        case O_DECODE: a->mode = MODE_DECODE; break;
        case O_STOP:
            if (a->n_stop == MAX_STOPS) r = usage_error("--stop: at most %d stop strings", MAX_STOPS);
            else if (optarg[0] == '\0') r = usage_error("--stop: the stop string is empty");
            else a->stop[a->n_stop++] = optarg;
            break;
        case 'N': r = parse_int("--num-samples", optarg, 1, 1 << 20, &a->num_samples); break;
        case O_SHOW_PROBS: r = parse_int("--show-probs", optarg, 1, 1 << 24, &a->show_probs); break;
        case O_COMPARE: r = parse_temperatures(optarg, a->temps, &a->n_temps); break;
        case O_DRAWS: r = parse_long("--draws", optarg, 1, 1000000000L, &a->draws); break;
        case O_EVAL: a->eval = optarg, a->mode = MODE_EVAL; break;
        case O_STRIDE: r = parse_int("--stride", optarg, 1, 1 << 24, &a->stride); break;
        case 'v': a->verbose = 1; break;
        case 'h': return -1;
        case ':': r = usage_error("%s needs a value", flag); break;
        default:
            if (optopt && optopt < 256) r = usage_error("unknown option '-%c'", optopt);
            else r = usage_error("unknown option '%s'", flag);
        }
    }
    if (r == 0 && optind < argc) r = usage_error("unexpected argument '%s'", argv[optind]);
    if (r == 0 && a->prompt && a->prompt_ids) r = usage_error("give either --prompt or --prompt-ids, not both");
    if (r == 0 && a->eval && a->mode != MODE_EVAL) r = usage_error("--eval cannot be combined with --encode or --decode");
    if (r == 0 && (a->draws > 0) + (a->n_temps > 0) + (a->eval != NULL) + (a->dump_logits != NULL) > 1)
        r = usage_error("--draws, --compare-temperatures, --eval and --dump-logits each run alone");
    if (r == 0 && a->n_stop && a->print_ids) r = usage_error("--stop looks for text: it does not go with --print-ids");
    if (r == 0 && a->show_probs && !a->max_new_set) a->max_new = 0; // the prompt's chart only
    return r;
}

// ----------------------------------------------------------------------------------------------

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) { (void)sig, interrupted = 1; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Writes to stdout; a failed write (disk full) is a runtime error.
static int out_write(const void *p, size_t n) {
    if (fwrite(p, 1, n, stdout) != n || fflush(stdout) != 0) {
        // A reader that went away (| head) is no error worth a message. With SIGPIPE at its default
        // action (as here, like cat) the process ends quietly before this; EPIPE when it is ignored.
        if (errno != EPIPE) fprintf(stderr, "gpt2: stdout: %s\n", strerror(errno));
        return EXIT_DATA;
    }
    return 0;
}

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

// A bad id: on the command line (--prompt-ids) a usage error, exit 2 (issue 6); in the input of
// --decode a data error naming the id, exit 1 (issue 2).
static int ids_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(status == EXIT_USAGE ? "gpt2: " : "gpt2: --decode: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(status == EXIT_USAGE ? " (see gpt2 --help)\n" : "\n", stderr);
    va_end(ap);
    return status;
}

// Ids separated by spaces, tabs, newlines or commas, each in 0..V-1; a bad one returns status
// (EXIT_USAGE or EXIT_DATA, see ids_error).
static int parse_ids(const char *s, int V, int status, int **ids, int *n) {
    size_t cap = 16;
    *n = 0;
    *ids = malloc(cap * sizeof(int));
    if (!*ids) return fprintf(stderr, "gpt2: out of memory for token ids\n"), EXIT_DATA;
    for (const char *p = s;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',') p++;
        if (*p == '\0') return 0;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || (*end && !strchr(" \t\r\n,", *end))) {
            int len = (int)strcspn(p, " \t\r\n,");
            return ids_error(status, "token ids: '%.*s' is not an integer", len > 40 ? 40 : len, p);
        }
        if (v < 0 || v >= V) return ids_error(status, "token ids: %ld is outside 0..%d", v, V - 1);
        if ((size_t)*n == cap) {
            int *b = realloc(*ids, (cap *= 2) * sizeof(int));
            if (!b) return fprintf(stderr, "gpt2: out of memory for %d token ids\n", *n), EXIT_DATA;
            *ids = b;
        }
        (*ids)[(*n)++] = (int)v;
        p = end;
    }
}

// The input of --encode/--decode: the text of -p, else all of stdin (then *owned is the buffer to
// free). NULL, with the message printed, when stdin cannot be read.
static const char *input_text(const Args *a, size_t *n, char **owned) {
    *owned = NULL;
    if (a->prompt) return *n = strlen(a->prompt), a->prompt;
    if (!(*owned = read_stream(stdin, n))) fprintf(stderr, "gpt2: cannot read stdin: %s\n", strerror(errno));
    return *owned;
}

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

static int run_encode(const Args *a, const Tokenizer *tok) {
    size_t n = 0;
    char *stdin_text;
    const char *text = input_text(a, &n, &stdin_text);
    if (!text) return EXIT_DATA;
    int *ids = NULL;
    size_t n_ids = 0;
    int r = tokenizer_encode(tok, text, n, &ids, &n_ids) ? EXIT_DATA : 0;
    if (r) fprintf(stderr, "gpt2: out of memory encoding %zu bytes\n", n);
    for (size_t i = 0; r == 0 && i < n_ids; i++) r = write_token(tok, 1, ids[i], i == 0);
    if (r == 0) r = out_write("\n", 1);
    free(ids);
    free(stdin_text);
    return r;
}

static int run_decode(const Args *a, const Tokenizer *tok) {
    size_t n;
    char *stdin_text;
    const char *text = input_text(a, &n, &stdin_text);
    if (!text) return EXIT_DATA;
    int *ids = NULL, n_ids = 0;
    int r = parse_ids(text, tok->V, EXIT_DATA, &ids, &n_ids);
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

// --stop strings with \n, \t and \\ made a newline, a tab and a backslash; lengths in len.
typedef struct {
    char *s[MAX_STOPS];
    size_t len[MAX_STOPS];
    int n;
    size_t max_len;
} Stops;

static int stops_build(Stops *st, const Args *a) {
    *st = (Stops){.n = a->n_stop};
    for (int i = 0; i < a->n_stop; i++) {
        const char *p = a->stop[i];
        char *q = st->s[i] = malloc(strlen(p) + 1);
        if (!q) return fprintf(stderr, "gpt2: out of memory\n"), EXIT_DATA;
        for (; *p; p++) {
            if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't' || p[1] == '\\')) p++, *q++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : '\\';
            else *q++ = *p;
        }
        st->len[i] = (size_t)(q - st->s[i]);
        if (st->len[i] > st->max_len) st->max_len = st->len[i];
    }
    return 0;
}

static void stops_free(Stops *st) {
    for (int i = 0; i < st->n; i++) free(st->s[i]);
}

// One continuation as it streams out: its text (or ids), the --show-probs charts, the stop strings.
typedef struct {
    const Tokenizer *tok;
    const Args *a;
    const Sampler *sampler; // its probs: the distribution each token was drawn from
    const Stops *stops;
    unsigned char *hold; // (n_hold) new text not written yet: it could be the start of a stop string
    size_t n_hold;
    int eos, eos_hit, stopped, step, fancy;
    int print_ids, status;
    double t_first; // when the first new token arrived: the end of the prompt's forward pass
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

// New text b (len): written out except the end that may begin a stop string, which waits for the
// next token; at a stop string, what comes before it is written and the continuation stops.
static int emit_text(Output *o, const unsigned char *b, size_t len) {
    if (o->stops->n == 0) return out_write(b, len);
    memcpy(o->hold + o->n_hold, b, len); // room: hold keeps < max_len bytes, a token is < 256
    o->n_hold += len;
    size_t cut = o->n_hold;
    for (int s = 0; s < o->stops->n; s++) {
        const unsigned char *p = find_bytes(o->hold, o->n_hold, o->stops->s[s], o->stops->len[s]);
        if (p && (size_t)(p - o->hold) < cut) cut = (size_t)(p - o->hold);
    }
    if (cut < o->n_hold) {
        o->stopped = 1, o->n_hold = 0;
        return out_write(o->hold, cut);
    }
    size_t keep = stop_prefix_len(o->stops, o->hold, o->n_hold);
    int r = out_write(o->hold, o->n_hold - keep);
    memmove(o->hold, o->hold + o->n_hold - keep, keep);
    o->n_hold = keep;
    return r;
}

// --show-probs during generation: the chart of the step that drew token, on stderr.
static int show_step(Output *o, int token, const float *logits) {
    char title[256], desc[160], err[GPT2_ERR_LEN];
    describe_sampling(&o->sampler->cfg, 1, desc, sizeof(desc));
    snprintf(title, sizeof(title), "\nnew token %d: the %d most likely (%s); %s marks the token drawn", o->step + 1,
             o->a->show_probs, desc, o->fancy ? "▶" : ">");
    if (explore_show_probs(stderr, o->tok, logits, o->sampler->probs, o->sampler->V, token, o->a->show_probs,
                           o->fancy, title, err))
        return fprintf(stderr, "%s\n", err), EXIT_DATA;
    return 0;
}

// gpt2_generate runs with eos -1 and the stop is made here, so that the end-of-text draw gets its chart.
static int on_token(void *ctx, int token, const float *logits) {
    Output *o = ctx;
    if (o->t_first == 0.0) o->t_first = now_s();
    if (o->a->show_probs) o->status = show_step(o, token, logits);
    o->step++;
    if (o->status == 0 && token == o->eos) return o->eos_hit = 1;
    if (o->status == 0 && o->print_ids) o->status = write_token(o->tok, 1, token, 0);
    else if (o->status == 0) {
        size_t len;
        const unsigned char *b = tokenizer_decode(o->tok, token, &len);
        o->status = emit_text(o, b, len);
    }
    return o->status || o->stopped || interrupted;
}

// -N continuations of the prompt ids (n, with room for max_new more). Sample i (from 1) is seeded
// with seed + i - 1, so `-s S -N 3`'s sample 1 is `-s S` alone and sample 2 is `-s S+1` alone.
static int run_samples(const Args *a, const Tokenizer *tok, GPT2 *model, int *ids, int n, int context, int eos,
                       double t_load) {
    char err[GPT2_ERR_LEN];
    Stops stops;
    int r = stops_build(&stops, a);
    unsigned char *hold = r == 0 && stops.n ? malloc(stops.max_len + 256) : NULL;
    if (r == 0 && stops.n && !hold) r = (fprintf(stderr, "gpt2: out of memory\n"), EXIT_DATA);
    for (int k = 0; r == 0 && k < a->num_samples && !interrupted; k++) {
        Sampler sampler;
        SamplerConfig cfg = a->sampling;
        cfg.seed += (uint64_t)k;
        if (sampler_build(&sampler, model->config.V, &cfg, err)) {
            fprintf(stderr, "%s\n", err);
            r = EXIT_DATA;
            break;
        }
        if (a->num_samples > 1) {
            char h[96];
            int len = snprintf(h, sizeof(h), "--- sample %d (seed %llu) ---\n", k + 1, (unsigned long long)cfg.seed);
            r = out_write(h, (size_t)len);
        }
        Output out = {.tok = tok, .a = a, .sampler = &sampler, .stops = &stops, .hold = hold, .eos = eos,
                      .fancy = explore_fancy(stderr), .print_ids = a->print_ids};
        for (int i = 0; r == 0 && i < n; i++) r = write_token(tok, a->print_ids, ids[i], i == 0);
        double t1 = now_s();
        int total = r ? n : gpt2_generate(model, &sampler, ids, n, a->max_new, context, -1, on_token, &out);
        double t2 = now_s();
        r = r ? r : out.status;
        if (r == 0 && out.n_hold) r = out_write(hold, out.n_hold); // the text ended inside no stop string
        if (r == 0) r = out_write("\n", 1);
        if (a->verbose) {
            int gen = total - n - out.eos_hit;
            double first = out.t_first > 0.0 ? out.t_first - t1 : t2 - t1;
            static const char *const formats[] = {[GPT2_F32] = "float32", [GPT2_BF16] = "bfloat16", [GPT2_Q8] = "int8"};
            fprintf(stderr, "gpt2: load %.3f s, %s, %d threads; prompt %d tokens, first new token after %.1f ms",
                    t_load, formats[model->dtype], model->n_threads, n, first * 1e3);
            // the prompt's forward pass saw its last `context` tokens (first includes one draw)
            if (out.t_first > 0.0) fprintf(stderr, " (%.0f prompt tokens/s)", (n < context ? n : context) / first);
            if (gen > 1) fprintf(stderr, "; %d more tokens at %.1f tokens/s", gen - 1, (gen - 1) / (t2 - out.t_first));
            fputc('\n', stderr);
        }
        sampler_free(&sampler);
    }
    free(hold);
    stops_free(&stops);
    if (r == 0 && interrupted) r = 130;
    return r;
}

// The next-token logits (V) after the prompt ids (n), cropped to its last `context` tokens at
// positions 0.., as generate()'s idx[:, -context_size:] does.
static const float *prompt_logits(GPT2 *model, const int *ids, int n, int context) {
    int s0 = n > context ? n - context : 0;
    return gpt2_forward(model, ids + s0, n - s0, 0);
}

// --draws, --compare-temperatures, or --show-probs without -n: the prompt's next-token distribution,
// on stdout (it is the output).
static int run_explore(const Args *a, const Tokenizer *tok, GPT2 *model, Sampler *sampler, const int *ids, int n,
                       int context) {
    char err[GPT2_ERR_LEN], desc[160], title[256];
    int V = model->config.V, fancy = explore_fancy(stdout), r;
    const float *logits = prompt_logits(model, ids, n, context);
    if (a->draws) {
        describe_sampling(&a->sampling, 1, desc, sizeof(desc));
        printf("%ld draws of the next token (%s):\n", a->draws, desc);
        r = explore_draws(stdout, tok, sampler, logits, ids, n, a->draws, err);
    } else if (a->n_temps) {
        describe_sampling(&a->sampling, 0, desc, sizeof(desc));
        printf("the next token's distribution at each temperature (%s):\n", desc);
        r = explore_compare_temperatures(stdout, tok, logits, V, &a->sampling, a->temps, a->n_temps,
                                         a->show_probs ? a->show_probs : 10, ids, n, fancy, err);
    } else {
        int chosen = sampler_sample(sampler, logits, ids, n);
        describe_sampling(&a->sampling, 1, desc, sizeof(desc));
        snprintf(title, sizeof(title), "the %d most likely next tokens (%s); %s marks a draw", a->show_probs, desc,
                 fancy ? "▶" : ">");
        r = explore_show_probs(stdout, tok, logits, sampler->probs, V, chosen, a->show_probs, fancy, title, err);
    }
    if (r) return fprintf(stderr, "%s\n", err), EXIT_DATA;
    return out_write("", 0); // flush, and report a failed write
}

// gpt2_build with the command line's options; a missing default checkpoint gets the command that
// makes it. 0 or an exit status.
static int load_model(const Args *a, GPT2 *model) {
    char err[GPT2_ERR_LEN];
    GPT2Options opt = {.quantize_int8 = a->quantize_int8, .threads = a->threads};
    if (gpt2_build(model, a->model, &opt, err) == 0) return 0;
    fprintf(stderr, "%s\n", err);
    if (strcmp(a->model, DEFAULT_MODEL) == 0) fprintf(stderr, "gpt2: make the default checkpoint with: make weights\n");
    return EXIT_DATA;
}

static int run_generate(const Args *a, const Tokenizer *tok) {
    char err[GPT2_ERR_LEN];
    GPT2 model;
    double t0 = now_s();
    if (load_model(a, &model)) return EXIT_DATA;
    double t_load = now_s() - t0;
    const GPT2Config *c = &model.config;
    int r = 0, *ids = NULL, n = 0, context = a->context ? a->context : c->maxT;
    int eos = a->eos_set ? a->eos : tok ? tok->eot : GPT2_EOT;
    Sampler sampler = {0};
    if (a->sampling.top_k > c->V) r = usage_error("--top-k: %d is larger than the vocabulary (%d)", a->sampling.top_k, c->V);
    else if (context > c->maxT) r = usage_error("--context: %d is larger than the model's maxT (%d)", context, c->maxT);
    else if (tok && tok->V < c->V && !a->print_ids && !a->dump_logits)
        r = (fprintf(stderr, "gpt2: %s has %d tokens, fewer than the model's %d\n", a->tokenizer, tok->V, c->V), EXIT_DATA);
    else if (a->prompt_ids) r = parse_ids(a->prompt_ids, c->V, EXIT_USAGE, &ids, &n);
    else {
        const char *text = a->prompt ? a->prompt : DEFAULT_PROMPT;
        size_t n_ids = 0;
        if (tokenizer_encode(tok, text, strlen(text), &ids, &n_ids) || n_ids > INT32_MAX)
            r = (fprintf(stderr, "gpt2: out of memory encoding the prompt\n"), EXIT_DATA);
        n = (int)n_ids;
    }
    if (r == 0 && n == 0) { // an empty prompt starts from <|endoftext|>, as GPT-2's unconditional samples
        free(ids);
        ids = malloc(sizeof(int));
        if (ids) ids[n++] = tok ? tok->eot : GPT2_EOT;
    }
    for (int i = 0; r == 0 && i < n; i++) // a tokenizer larger than the model: ids with no embedding row
        if (ids[i] >= c->V)
            r = (fprintf(stderr, "gpt2: prompt token %d is outside the model's vocabulary 0..%d (%s is for another model)\n",
                         ids[i], c->V - 1, a->tokenizer), EXIT_DATA);
    if (r == 0 && (!ids || n > INT32_MAX - a->max_new))
        r = (fprintf(stderr, "gpt2: out of memory for %d + %d tokens\n", n, a->max_new), EXIT_DATA);
    if (r == 0) { // room for the new tokens
        int *b = realloc(ids, ((size_t)n + a->max_new) * sizeof(int));
        if (!b) r = (fprintf(stderr, "gpt2: out of memory for %d tokens\n", n + a->max_new), EXIT_DATA);
        else ids = b;
    }
    if (r == 0 && sampler_build(&sampler, c->V, &a->sampling, err)) r = (fprintf(stderr, "%s\n", err), EXIT_DATA);

    if (r == 0 && a->dump_logits) {
        const float *logits = prompt_logits(&model, ids, n, context);
        FILE *f = fopen(a->dump_logits, "wb");
        if (!f || fwrite(logits, sizeof(float), (size_t)c->V, f) != (size_t)c->V || fclose(f) != 0) {
            fprintf(stderr, "gpt2: %s: %s\n", a->dump_logits, strerror(errno));
            r = EXIT_DATA;
        }
    } else if (r == 0 && (a->draws || a->n_temps || (a->show_probs && a->max_new == 0))) {
        r = run_explore(a, tok, &model, &sampler, ids, n, context);
    } else if (r == 0) {
        r = run_samples(a, tok, &model, ids, n, context, eos, t_load);
    }
    free(ids);
    sampler_free(&sampler);
    gpt2_free(&model);
    return r;
}

// The ids of the text in path (n >= 2), or an exit status.
static int eval_ids(const char *path, const Tokenizer *tok, int **ids, int *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "gpt2: --eval: %s: %s\n", path, strerror(errno)), EXIT_DATA;
    size_t len, n_ids = 0;
    char *text = read_stream(f, &len);
    int e = errno;
    fclose(f);
    if (!text) return fprintf(stderr, "gpt2: --eval: %s: %s\n", path, strerror(e)), EXIT_DATA;
    int r = tokenizer_encode(tok, text, len, ids, &n_ids);
    free(text);
    if (r) return fprintf(stderr, "gpt2: --eval: %s: out of memory for its tokens\n", path), EXIT_DATA;
    if (n_ids < 2 || n_ids > INT32_MAX)
        return fprintf(stderr, "gpt2: --eval: %s: %zu token(s); it needs at least two (the first is never predicted)\n",
                       path, n_ids), EXIT_DATA;
    *n = (int)n_ids;
    return 0;
}

// --eval FILE: mean negative log-likelihood per token and perplexity, windows of --context tokens
// (default maxT) moving by --stride (default half the window); the progress bar only on a terminal.
static int run_eval(const Args *a, const Tokenizer *tok) {
    char err[GPT2_ERR_LEN];
    int *ids = NULL, n = 0, r = eval_ids(a->eval, tok, &ids, &n);
    if (r) return free(ids), r;
    GPT2 model;
    if (load_model(a, &model)) return free(ids), EXIT_DATA;
    int window = a->context ? a->context : model.config.maxT;
    int stride = a->stride ? a->stride : (window / 2 > 0 ? window / 2 : 1);
    if (window > model.config.maxT) r = usage_error("--context: %d is larger than the model's maxT (%d)", window, model.config.maxT);
    else if (stride > window) r = usage_error("--stride: %d is larger than the window (%d tokens)", stride, window);
    for (int i = 0; r == 0 && i < n; i++)
        if (ids[i] >= model.config.V)
            r = (fprintf(stderr, "gpt2: --eval: token %d is outside the model's vocabulary 0..%d\n", ids[i],
                         model.config.V - 1), EXIT_DATA);
    double nll = 0.0;
    long scored = 0;
    if (r == 0 && explore_eval(&model, ids, n, window, stride, isatty(STDERR_FILENO) ? stderr : NULL, &nll, &scored, err))
        r = (fprintf(stderr, "%s\n", err), EXIT_DATA);
    if (r == 0) {
        printf("tokens: %d (%ld scored), window %d, stride %d\n", n, scored, window, stride);
        printf("nll: %.6f\nperplexity: %.6g\n", nll / scored, exp(nll / scored));
        r = out_write("", 0);
    }
    free(ids);
    gpt2_free(&model);
    return r;
}

#ifndef GPT2_NO_MAIN
int main(int argc, char **argv) {
    Args a;
    int r = cli_parse(argc, argv, &a);
    if (r < 0) return fputs(usage_text, stdout), 0;
    if (r) return r;
    if (a.mode == MODE_GENERATE) signal(SIGINT, on_sigint); // --encode/--decode may wait on stdin: Ctrl-C ends them

    Tokenizer tok;
    char err[GPT2_ERR_LEN];
    // Generation from ids to ids needs no tokenizer; everything else does.
    int need_tok = a.mode != MODE_GENERATE || !a.prompt_ids || !(a.print_ids || a.dump_logits);
    int have_tok = tokenizer_build(&tok, a.tokenizer, err) == 0;
    if (!have_tok && need_tok) {
        fprintf(stderr, "%s\n", err);
        return EXIT_DATA;
    }
    if (a.mode == MODE_ENCODE) r = run_encode(&a, &tok);
    else if (a.mode == MODE_DECODE) r = run_decode(&a, &tok);
    else if (a.mode == MODE_EVAL) r = run_eval(&a, &tok);
    else r = run_generate(&a, have_tok ? &tok : NULL);
    if (have_tok) tokenizer_free(&tok);
    return r;
}
#endif
