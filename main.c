// main.c: the command line. Parse the flags, load the tokenizer and the checkpoint, then either
// encode/decode, score a text (--eval), chart the next-token distribution (explore.c), or run
// gpt2_generate (the book's generate()) and stream the text to stdout. Every function that can fail
// returns 0 or the exit status, its message printed (cli_error); only main returns it.
// Exit status: 0 success, 1 runtime or data error, 2 usage error, 130 interrupted (SIGINT).
#include "explore.h"
#include "gpt2.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

#define DEFAULT_MODEL "data/gpt2_124M.bin"
#define DEFAULT_TOKENIZER "data/gpt2_tokenizer.bin"
#define DEFAULT_PROMPT "Every effort moves you"
#define GPT2_EOT 50256 // GPT-2's <|endoftext|>, the default stop when no tokenizer is loaded

enum { EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 }; // 130: 128 + SIGINT, as shells report it
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
    const char *prompts;         // --prompts: a file of prompts, one a line, each continued
    int context_shift;           // --context-shift: GPT2_CONTEXT_SHIFT instead of the sliding window
} Args;

static const char *usage_text =
    "usage: gpt2 [options]\n"
    "Generate text with GPT-2: generate() with temperature and top-k sampling, as in Raschka's \"Build\n"
    "a Large Language Model (From Scratch)\", section 5.3 (\"the book\" below).\n"
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
    "                             S) ---\"; sample I uses seed S = --seed + I - 1, so -s S alone repeats it;\n"
    "                             generated as one batch (up to 64 at once), printed in order\n"
    "      --prompts FILE         continue every line of FILE (\\n in a line: a newline), batched, each\n"
    "                             after \"--- prompt P, sample I (seed S) ---\"; with -N, K samples each\n"
    "      --context-shift        when the window is full, keep its last half and go on from the KV cache\n"
    "                             (one forward pass per half window instead of one per token; the model\n"
    "                             then sees between half a window and a whole one, not always the whole,\n"
    "                             so the text differs from the book's generate())\n"
    "\n"
    "Exploring the next-token distribution (the book's experiments):\n"
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
    "top-p, min-p, one draw. Each filter is off unless given: -t and -k alone are the book's.\n"
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

// "gpt2: <message>" on stderr, and status back, for the caller to return: every error of the command
// line is reported this way. A usage error (EXIT_USAGE) points to --help.
static int cli_error(int status, const char *fmt, ...) GPT2_PRINTF(2, 3);
static int cli_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gpt2: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(status == EXIT_USAGE ? " (see gpt2 --help)\n" : "\n", stderr);
    return status;
}

// A library function's message, which names the function and the file: a data error.
static int library_error(const char *err) {
    fprintf(stderr, "%s\n", err);
    return EXIT_DATA;
}

// Whole-string numbers only: "1.4x", "", " 3" and out-of-range values are usage errors.
static int parse_long(const char *flag, const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || s[0] == ' ')
        return cli_error(EXIT_USAGE, "%s: '%s' is not an integer", flag, s);
    if (v < min || v > max) return cli_error(EXIT_USAGE, "%s: %ld is outside %ld..%ld", flag, v, min, max);
    *out = v;
    return 0;
}

static int parse_int(const char *flag, const char *s, long min, long max, int *out) {
    long v;
    if (parse_long(flag, s, min, max, &v) != 0) return EXIT_USAGE;
    *out = (int)v;
    return 0;
}

// A finite float in [min, max] (or (min, max] when open_min).
static int parse_float(const char *flag, const char *s, float min, float max, int open_min, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (*s == '\0' || *end != '\0' || s[0] == ' ' || errno == ERANGE || !isfinite(v))
        return cli_error(EXIT_USAGE, "%s: '%s' is not a finite number", flag, s);
    if (v < min || v > max || (open_min && v == min))
        return cli_error(EXIT_USAGE, "%s: %s is outside %s%g, %g]", flag, s, open_min ? "(" : "[", min, max);
    *out = v;
    return 0;
}

static int parse_seed(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno == ERANGE)
        return cli_error(EXIT_USAGE, "--seed: '%s' is not an integer in 0..%llu", s, (unsigned long long)UINT64_MAX);
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
            return cli_error(EXIT_USAGE, "--compare-temperatures: '%s' is not a list of temperatures like 1,0.1,5", s);
        if (*n == MAX_TEMPS) return cli_error(EXIT_USAGE, "--compare-temperatures: at most %d temperatures", MAX_TEMPS);
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (parse_float("--compare-temperatures", buf, 0.0f, 1e30f, 0, &temps[(*n)++]) != 0) return EXIT_USAGE;
        p += len;
        if (*p == '\0') return 0;
    }
}

enum { O_PROMPT_IDS = 256, O_TOP_P, O_MIN_P, O_REPEAT, O_REPEAT_N, O_EOS, O_TOKENIZER, O_QUANT, O_PRINT_IDS, O_DUMP,
       O_ENCODE, O_DECODE, O_STOP, O_SHOW_PROBS, O_COMPARE, O_DRAWS, O_EVAL, O_STRIDE,
       O_PROMPTS, O_CONTEXT_SHIFT };

// One option (getopt_long's opt) with its value optarg into a; flag is the option as written.
// 0, EXIT_USAGE, or -1 for --help.
static int parse_option(int opt, const char *flag, Args *a) {
    SamplerConfig *sc = &a->sampling;
    switch (opt) {
    case 'p': a->prompt = optarg; return 0;
    case O_PROMPT_IDS: a->prompt_ids = optarg; return 0;
    case 't': return parse_float("--temperature", optarg, 0.0f, 1e30f, 0, &sc->temperature);
    case 'k': return parse_int("--top-k", optarg, 1, 1 << 24, &sc->top_k);
    case O_TOP_P: return parse_float("--top-p", optarg, 0.0f, 1.0f, 1, &sc->top_p);
    case O_MIN_P:
        if (parse_float("--min-p", optarg, 0.0f, 1.0f, 0, &sc->min_p) != 0) return EXIT_USAGE;
        if (sc->min_p >= 1.0f) return cli_error(EXIT_USAGE, "--min-p: %s is outside [0, 1)", optarg);
        return 0;
    case O_REPEAT: return parse_float("--repeat-penalty", optarg, 0.0f, 1e30f, 1, &sc->repeat_penalty);
    case O_REPEAT_N: return parse_int("--repeat-last-n", optarg, 0, 1 << 24, &sc->repeat_last_n);
    case 'n': a->max_new_set = 1; return parse_int("--max-new-tokens", optarg, 0, 1 << 24, &a->max_new);
    case 's': return parse_seed(optarg, &sc->seed);
    case 'c': return parse_int("--context", optarg, 1, 1 << 24, &a->context);
    case O_EOS: a->eos_set = 1; return parse_int("--eos", optarg, -1, 1 << 24, &a->eos);
    case 'm': a->model = optarg; return 0;
    case O_TOKENIZER: a->tokenizer = optarg; return 0;
    case O_QUANT:
        a->quantize_int8 = 1;
        if (strcmp(optarg, "int8") == 0) return 0;
        return cli_error(EXIT_USAGE, "--quantize: '%s' is not a format (int8)", optarg);
    case 'T': return parse_int("--threads", optarg, 1, 1024, &a->threads);
    case O_PRINT_IDS: a->print_ids = 1; return 0;
    case O_DUMP: a->dump_logits = optarg; return 0;
    case O_ENCODE: a->mode = MODE_ENCODE; return 0;
    case O_DECODE: a->mode = MODE_DECODE; return 0;
    case O_STOP:
        if (a->n_stop == MAX_STOPS) return cli_error(EXIT_USAGE, "--stop: at most %d stop strings", MAX_STOPS);
        if (optarg[0] == '\0') return cli_error(EXIT_USAGE, "--stop: the stop string is empty");
        a->stop[a->n_stop++] = optarg;
        return 0;
    case 'N': return parse_int("--num-samples", optarg, 1, 1 << 20, &a->num_samples);
    case O_SHOW_PROBS: return parse_int("--show-probs", optarg, 1, 1 << 24, &a->show_probs);
    case O_COMPARE: return parse_temperatures(optarg, a->temps, &a->n_temps);
    case O_DRAWS: return parse_long("--draws", optarg, 1, 1000000000L, &a->draws);
    case O_EVAL: a->eval = optarg, a->mode = MODE_EVAL; return 0;
    case O_STRIDE: return parse_int("--stride", optarg, 1, 1 << 24, &a->stride);
    case O_PROMPTS: a->prompts = optarg; return 0;
    case O_CONTEXT_SHIFT: a->context_shift = 1; return 0;
    case 'v': a->verbose = 1; return 0;
    case 'h': return -1;
    case ':': return cli_error(EXIT_USAGE, "%s needs a value", flag);
    default:
        if (optopt && optopt < 256) return cli_error(EXIT_USAGE, "unknown option '-%c'", optopt);
        return cli_error(EXIT_USAGE, "unknown option '%s'", flag);
    }
}

// The flags that exclude each other, once all are read.
static int check_combinations(const Args *a) {
    if (a->prompt && a->prompt_ids) return cli_error(EXIT_USAGE, "give either --prompt or --prompt-ids, not both");
    if (a->eval && a->mode != MODE_EVAL)
        return cli_error(EXIT_USAGE, "--eval cannot be combined with --encode or --decode");
    if ((a->draws > 0) + (a->n_temps > 0) + (a->eval != NULL) + (a->dump_logits != NULL) > 1)
        return cli_error(EXIT_USAGE, "--draws, --compare-temperatures, --eval and --dump-logits each run alone");
    if (a->n_stop && a->print_ids)
        return cli_error(EXIT_USAGE, "--stop looks for text: it does not go with --print-ids");
    if (a->prompts && (a->prompt || a->prompt_ids))
        return cli_error(EXIT_USAGE, "give either --prompts or --prompt/--prompt-ids, not both");
    if (a->prompts && (a->mode != MODE_GENERATE || a->draws || a->n_temps || a->dump_logits ||
                       (a->show_probs && !a->max_new_set)))
        return cli_error(EXIT_USAGE, "--prompts continues each prompt: it does not go with --encode, --decode, "
                         "--eval, --draws, --compare-temperatures, --dump-logits or --show-probs without -n");
    if (a->context_shift && a->mode != MODE_GENERATE)
        return cli_error(EXIT_USAGE, "--context-shift is for generation: it does not go with --encode, --decode "
                         "or --eval");
    return 0;
}

// The command line into a: 0, EXIT_USAGE (the message printed), or -1 for --help.
int cli_parse(int argc, char **argv, Args *a) {
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
        {"prompts", required_argument, 0, O_PROMPTS}, {"context-shift", no_argument, 0, O_CONTEXT_SHIFT},
        {"verbose", no_argument, 0, 'v'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *a = (Args){.mode = MODE_GENERATE, .model = DEFAULT_MODEL, .tokenizer = DEFAULT_TOKENIZER,
                .sampling = sampler_defaults(), .max_new = 25, .num_samples = 1};
    optind = 0; // reset getopt, so that cli_parse can be called more than once (tests, fuzzing)
    opterr = 0; // we print our own messages
    int opt, r = 0;
    while (r == 0 && (opt = getopt_long(argc, argv, ":p:t:k:n:s:c:m:T:N:vh", longs, NULL)) != -1)
        r = parse_option(opt, argv[optind - 1], a);
    if (r == 0 && optind < argc) r = cli_error(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    if (r == 0) r = check_combinations(a);
    if (r == 0 && a->show_probs && !a->max_new_set) a->max_new = 0; // the prompt's chart only
    return r;
}

// ----------------------------------------------------------------------------------------------
// Input and output

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) { (void)sig, interrupted = 1; }

// Writes to stdout; a failed write (disk full) is a runtime error.
static int out_write(const void *p, size_t n) {
    if (fwrite(p, 1, n, stdout) == n && fflush(stdout) == 0) return 0;
    // A reader that went away (| head) is no error worth a message. With SIGPIPE at its default
    // action (as here, like cat) the process ends quietly before this; EPIPE when it is ignored.
    if (errno == EPIPE) return EXIT_DATA;
    return cli_error(EXIT_DATA, "stdout: %s", strerror(errno));
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

// The input of --encode/--decode: the text of -p, else all of stdin (then *owned is the buffer to
// free).
static int input_text(const Args *a, const char **text, size_t *n, char **owned) {
    *owned = NULL;
    if (a->prompt) {
        *text = a->prompt;
        *n = strlen(a->prompt);
        return 0;
    }
    if (!(*owned = read_stream(stdin, n))) return cli_error(EXIT_DATA, "cannot read stdin: %s", strerror(errno));
    *text = *owned;
    return 0;
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
    if (tokenizer_encode(tok, text, n, &ids, &n_ids) != 0)
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

// gpt2_build with the command line's options; a missing default checkpoint gets the command that
// makes it.
static int load_model(const Args *a, GPT2 *model) {
    char err[GPT2_ERR_LEN];
    GPT2Options opt = {.quantize_int8 = a->quantize_int8, .threads = a->threads};
    if (gpt2_build(model, a->model, &opt, err) == 0) return 0;
    library_error(err);
    if (strcmp(a->model, DEFAULT_MODEL) == 0) cli_error(EXIT_DATA, "make the default checkpoint with: make weights");
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
    if (tok && tok->V < c->V && !a->print_ids && !a->dump_logits)
        return cli_error(EXIT_DATA, "%s has %d tokens, fewer than the model's %d", a->tokenizer, tok->V, c->V);
    return 0;
}

// The ids of --prompt-ids, else of the prompt's text (-p, or DEFAULT_PROMPT).
static int read_prompt(const Args *a, const Tokenizer *tok, int V, int **ids, int *n) {
    if (a->prompt_ids) return parse_ids(a->prompt_ids, V, EXIT_USAGE, "token ids", ids, n);
    const char *text = a->prompt ? a->prompt : DEFAULT_PROMPT;
    size_t n_ids = 0;
    if (tokenizer_encode(tok, text, strlen(text), ids, &n_ids) != 0 || n_ids > INT32_MAX)
        return cli_error(EXIT_DATA, "out of memory encoding the prompt");
    *n = (int)n_ids;
    return 0;
}

// ids (n) grown to hold max_new more: gpt2_generate appends the new tokens to them.
static int make_room(int **ids, int n, int max_new) {
    if (!*ids || n > INT32_MAX - max_new) return cli_error(EXIT_DATA, "out of memory for %d + %d tokens", n, max_new);
    int *b = realloc(*ids, ((size_t)n + max_new) * sizeof(int));
    if (!b) return cli_error(EXIT_DATA, "out of memory for %d tokens", n + max_new);
    *ids = b;
    return 0;
}

// The prompt as ids (n >= 1) with room for max_new more, each with a row in the model's embedding
// (V): a tokenizer larger than the model could give ids beyond it.
static int finish_prompt(const Args *a, const Tokenizer *tok, int V, int **ids, int *n);
static int prompt_ids(const Args *a, const Tokenizer *tok, int V, int **ids, int *n) {
    int r = read_prompt(a, tok, V, ids, n);
    return r != 0 ? r : finish_prompt(a, tok, V, ids, n);
}

// The ids of a prompt's text made what generation needs: <|endoftext|> for an empty one, each id in
// the model's vocabulary, room for -n more.
static int finish_prompt(const Args *a, const Tokenizer *tok, int V, int **ids, int *n) {
    if (*n == 0) { // an empty prompt starts from <|endoftext|>, as GPT-2's unconditional samples do
        free(*ids);
        if ((*ids = malloc(sizeof(int)))) (*ids)[(*n)++] = eot_id(tok); // NULL: make_room reports it
    }
    int bad = first_outside(*ids, *n, V);
    if (bad >= 0)
        return cli_error(EXIT_DATA, "prompt token %d is outside the model's vocabulary 0..%d (%s is for another model)",
                         (*ids)[bad], V - 1, a->tokenizer);
    return make_room(ids, *n, a->max_new);
}

// What every generation mode works on, once the model is loaded and the prompt made.
typedef struct {
    const Args *a;
    const Tokenizer *tok; // NULL when ids go to ids
    GPT2 *model;
    int *ids;             // (n + max_new) the prompt, then room for the new tokens
    int n;
    int context;          // the model sees the last `context` tokens
    double t_load;        // seconds gpt2_build took
} Job;

// The next-token logits (V) after the prompt, cropped to its last `context` tokens at positions
// 0.., as generate()'s idx[:, -context_size:] does.
static const float *prompt_logits(const Job *j) {
    int s0 = j->n > j->context ? j->n - j->context : 0;
    return gpt2_forward(j->model, j->ids + s0, j->n - s0, 0);
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
    char err[GPT2_ERR_LEN], desc[160], title[256];
    int V = j->model->config.V, fancy = explore_fancy(stdout), r;
    Sampler sampler;
    if (sampler_build(&sampler, V, &a->sampling, err) != 0) return library_error(err);
    const float *logits = prompt_logits(j);
    if (a->draws) {
        describe_sampling(&a->sampling, 1, desc, sizeof(desc));
        printf("%ld draws of the next token (%s):\n", a->draws, desc);
        r = explore_draws(stdout, j->tok, &sampler, logits, j->ids, j->n, a->draws, err);
    } else if (a->n_temps) {
        describe_sampling(&a->sampling, 0, desc, sizeof(desc));
        printf("the next token's distribution at each temperature (%s):\n", desc);
        r = explore_compare_temperatures(stdout, j->tok, logits, V, &a->sampling, a->temps, a->n_temps,
                                         a->show_probs ? a->show_probs : 10, j->ids, j->n, fancy, err);
    } else {
        int chosen = sampler_sample(&sampler, logits, j->ids, j->n);
        describe_sampling(&a->sampling, 1, desc, sizeof(desc));
        snprintf(title, sizeof(title), "the %d most likely next tokens (%s); %s marks a draw", a->show_probs, desc,
                 fancy ? "▶" : ">");
        r = explore_show_probs(stdout, j->tok, logits, sampler.probs, V, chosen, a->show_probs, fancy, title, err);
    }
    sampler_free(&sampler);
    if (r != 0) return library_error(err);
    return out_write("", 0); // flush, and report a failed write
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
    int eos;              // the id that ends the continuation (gpt2_generate runs with -1: see on_token)
    int eos_hit, stopped; // ended by eos, by a stop string
    int step;             // new tokens so far, eos included
    int fancy;            // charts with Unicode bars and color (explore_fancy(stderr))
    int status;           // 0, or the exit status of what failed
    double t_start, t_first, t_end; // the clock at gpt2_generate's call, its first new token (0: none), its end
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
    describe_sampling(&o->sampler->cfg, 1, desc, sizeof(desc));
    snprintf(title, sizeof(title), "\nnew token %d: the %d most likely (%s); %s marks the token drawn", o->step + 1,
             a->show_probs, desc, o->fancy ? "▶" : ">");
    if (explore_show_probs(stderr, o->job->tok, logits, o->sampler->probs, o->sampler->V, token, a->show_probs,
                           o->fancy, title, err) != 0)
        return library_error(err);
    return 0;
}

// gpt2_generate's callback, for each new token. The end-of-text stop is made here rather than by
// gpt2_generate, so that the end-of-text draw gets its chart. Non-zero stops the generation.
static int on_token(void *ctx, int token, const float *logits) {
    Output *o = ctx;
    const Args *a = o->job->a;
    if (o->t_first == 0.0) o->t_first = now_seconds();
    if (a->show_probs) o->status = show_step(o, token, logits);
    o->step++;
    if (o->status != 0) return 1;
    if (token == o->eos) return o->eos_hit = 1;
    if (a->print_ids) {
        o->status = sample_token(o, token, 0);
    } else {
        size_t len;
        const unsigned char *b = tokenizer_decode(o->job->tok, token, &len);
        o->status = emit_text(o, b, len);
    }
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

// -v: load time, weight format and threads, then the speed of the prompt and of the new tokens.
static void print_speed(const Job *j, const Output *o) {
    static const char *const formats[] = {[GPT2_F32] = "float32", [GPT2_BF16] = "bfloat16", [GPT2_Q8] = "int8"};
    int n = j->n, more = o->step - o->eos_hit - 1; // new tokens after the first, end-of-text not counted
    double first = o->t_first > 0.0 ? o->t_first - o->t_start : o->t_end - o->t_start;
    int threads = j->model->n_threads;
    fprintf(stderr, "gpt2: load %.3f s, %s, %s kernels, %d thread%s; prompt %d tokens, first new token after %.1f ms",
            j->t_load, formats[j->model->dtype], gpt2_kernels(), threads, threads == 1 ? "" : "s", n, first * 1e3);
    // the prompt's forward pass saw its last `context` tokens (first includes one draw)
    if (o->t_first > 0.0) fprintf(stderr, " (%.0f prompt tokens/s)", (n < j->context ? n : j->context) / first);
    if (more > 0) fprintf(stderr, "; %d more tokens at %.1f tokens/s", more, more / (o->t_end - o->t_first));
    fputc('\n', stderr);
}

// The end of continuation o's text: what waited for a stop string that never came, a newline; the
// clock and -v. Then, if it was printing, each next continuation in order: its buffered text out,
// and the same for it when it has ended too; the first that has not streams from now on.
static void sample_end(Output *o) {
    if (o->ended) return;
    o->ended = 1, o->t_end = now_seconds();
    if (o->status == 0 && o->n_hold) o->status = sample_write(o, o->hold, o->n_hold);
    if (o->status == 0) o->status = sample_write(o, "\n", 1);
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

// Up to this many continuations are generated at once (a batch's memory grows with it).
#define MAX_BATCH 64

// Continuations first..first+n-1 of the run: continuation k is sample k % K of prompt k / K
// (jobs[k / K]), sample i seeded with seed + i, so that `-s S -N 3`'s sample 1 is `-s S` alone and
// sample 2 is `-s S+1` alone. Each is a header (when there are several), the prompt, then the new
// text; they are generated in one batch and printed in order (see Printer).
static int run_batch(const Job *jobs, Stops *stops, int first, int n) {
    const Args *a = jobs[0].a;
    const int K = a->num_samples;
    GPT2 *model = jobs[0].model;
    char err[GPT2_ERR_LEN];
    Output *out = calloc((size_t)n, sizeof(Output));
    Sampler *samplers = calloc((size_t)n, sizeof(Sampler));
    GPT2Sequence *seqs = calloc((size_t)n, sizeof(GPT2Sequence));
    Printer pr = {.out = out, .n = n};
    int r = !out || !samplers || !seqs ? cli_error(EXIT_DATA, "out of memory for %d samples", n) : 0, built = 0;
    double t0 = now_seconds();
    for (int i = 0; r == 0 && i < n; i++, built++) {
        int k = first + i, p = k / K;
        const Job *j = &jobs[p];
        SamplerConfig cfg = a->sampling;
        cfg.seed += (uint64_t)(k % K);
        if (sampler_build(&samplers[i], model->config.V, &cfg, err) != 0) {
            r = library_error(err);
            break;
        }
        Output *o = &out[i];
        *o = (Output){.job = j, .sampler = &samplers[i], .stops = stops, .printer = &pr,
                      .eos = a->eos_set ? a->eos : eot_id(j->tok), .fancy = explore_fancy(stderr), .t_start = t0};
        int *ids = malloc(((size_t)j->n + a->max_new) * sizeof(int));
        if (!ids || (stops->n && !(o->hold = malloc(stops->max_len + 256)))) {
            free(ids);
            r = cli_error(EXIT_DATA, "out of memory for %d samples", n);
            break;
        }
        memcpy(ids, j->ids, (size_t)j->n * sizeof(int));
        seqs[i] = (GPT2Sequence){.ids = ids, .n_prompt = j->n, .max_new = a->max_new, .context = j->context,
                                 .sampler = &samplers[i], .on_token = on_batch_token, .ctx = o};
        char h[128];
        int len = 0;
        if (a->prompts)
            len = snprintf(h, sizeof(h), "--- prompt %d, sample %d (seed %llu) ---\n", p + 1, k % K + 1,
                           (unsigned long long)cfg.seed);
        else if (K > 1)
            len = snprintf(h, sizeof(h), "--- sample %d (seed %llu) ---\n", k % K + 1, (unsigned long long)cfg.seed);
        o->status = sample_write(o, h, (size_t)len);
        for (int t = 0; o->status == 0 && t < j->n; t++) o->status = sample_token(o, j->ids[t], t == 0);
        if (o->status) seqs[i].done = 1;
    }
    if (r == 0) {
        for (int i = 0; i < n; i++) out[i].t_start = now_seconds();
        if (gpt2_generate_batch(model, seqs, n, -1, a->context_shift ? GPT2_CONTEXT_SHIFT : 0, err) != 0)
            r = library_error(err);
        for (int i = 0; i < n; i++) sample_end(&out[i]); // those that ended without a token (-n 0, an error)
    }
    for (int i = 0; i < n; i++)
        if (r == 0 && out[i].status) r = out[i].status;
    for (int i = 0; i < built; i++) free(seqs[i].ids), free(out[i].hold), free(out[i].buf), sampler_free(&samplers[i]);
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
    if (r == 0) r = prompt_ids(a, tok, model.config.V, &j.ids, &j.n);
    if (r == 0 && a->dump_logits) r = dump_logits(&j);
    else if (r == 0 && (a->draws || a->n_temps || (a->show_probs && a->max_new == 0))) r = run_explore(&j);
    else if (r == 0) r = run_samples(&j, 1);
    free(j.ids);
    gpt2_free(&model);
    return r;
}

// ----------------------------------------------------------------------------------------------
// --eval

// The ids of the text in path (n >= 2).
static int eval_ids(const char *path, const Tokenizer *tok, int **ids, int *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error(EXIT_DATA, "--eval: %s: %s", path, strerror(errno));
    size_t len, n_ids = 0;
    char *text = read_stream(f, &len);
    int e = errno;
    fclose(f);
    if (!text) return cli_error(EXIT_DATA, "--eval: %s: %s", path, strerror(e));
    int r = tokenizer_encode(tok, text, len, ids, &n_ids);
    free(text);
    if (r != 0) return cli_error(EXIT_DATA, "--eval: %s: out of memory for its tokens", path);
    if (n_ids < 2 || n_ids > INT32_MAX)
        return cli_error(EXIT_DATA, "--eval: %s: %zu token(s); it needs at least two (the first is never predicted)",
                         path, n_ids);
    *n = (int)n_ids;
    return 0;
}

// The mean negative log-likelihood per token of ids (n) and its perplexity, on stdout: windows of
// --context tokens (default maxT) moving by --stride (default half the window); the progress bar
// only on a terminal.
static int score_text(const Args *a, GPT2 *model, const int *ids, int n) {
    const GPT2Config *c = &model->config;
    int window = a->context ? a->context : c->maxT;
    int stride = a->stride ? a->stride : (window / 2 > 0 ? window / 2 : 1);
    int bad = first_outside(ids, n, c->V);
    if (window > c->maxT) return context_too_large(window, c->maxT);
    if (stride > window)
        return cli_error(EXIT_USAGE, "--stride: %d is larger than the window (%d tokens)", stride, window);
    if (bad >= 0)
        return cli_error(EXIT_DATA, "--eval: token %d is outside the model's vocabulary 0..%d", ids[bad], c->V - 1);
    char err[GPT2_ERR_LEN];
    double nll = 0.0;
    long scored = 0;
    FILE *progress = isatty(STDERR_FILENO) ? stderr : NULL;
    if (explore_eval(model, ids, n, window, stride, progress, &nll, &scored, err) != 0) return library_error(err);
    printf("tokens: %d (%ld scored), window %d, stride %d\n", n, scored, window, stride);
    printf("nll: %.6f\nperplexity: %.6g\n", nll / scored, exp(nll / scored));
    return out_write("", 0);
}

// --eval FILE: the text's ids, the model, then the score.
static int run_eval(const Args *a, const Tokenizer *tok) {
    int *ids = NULL, n = 0, r = eval_ids(a->eval, tok, &ids, &n);
    GPT2 model;
    if (r == 0 && load_model(a, &model) != 0) r = EXIT_DATA;
    if (r != 0) return free(ids), r;
    r = score_text(a, &model, ids, n);
    free(ids);
    gpt2_free(&model);
    return r;
}

#ifndef GPT2_NO_MAIN
int main(int argc, char **argv) {
#ifdef _WIN32
    // bytes in and out as they are: no CRLF translation, no end at a 0x1a byte
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    Args a;
    int r = cli_parse(argc, argv, &a);
    if (r < 0) return fputs(usage_text, stdout), 0;
    if (r != 0) return r;
    if (a.mode == MODE_GENERATE) signal(SIGINT, on_sigint); // --encode/--decode may wait on stdin: Ctrl-C ends them

    Tokenizer tok;
    char err[GPT2_ERR_LEN];
    // Generation from ids to ids needs no tokenizer; everything else does.
    int need_tok = a.mode != MODE_GENERATE || !a.prompt_ids || !(a.print_ids || a.dump_logits);
    int have_tok = tokenizer_build(&tok, a.tokenizer, err) == 0;
    if (!have_tok && need_tok) return library_error(err);
    if (a.mode == MODE_ENCODE) r = run_encode(&a, &tok);
    else if (a.mode == MODE_DECODE) r = run_decode(&a, &tok);
    else if (a.mode == MODE_EVAL) r = run_eval(&a, &tok);
    else r = run_generate(&a, have_tok ? &tok : NULL);
    if (have_tok) tokenizer_free(&tok);
    return r;
}
#endif
