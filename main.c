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
#ifndef GPT2_DATADIR
#define GPT2_DATADIR "/usr/local/share/gpt2" // where make install puts the tokenizer (the Makefile says)
#endif
#define DEFAULT_PROMPT "Every effort moves you"
#define GPT2_EOT 50256 // GPT-2's <|endoftext|>, the default stop when no tokenizer is loaded

enum { EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 }; // 130: 128 + SIGINT, as shells report it
enum { MODE_GENERATE, MODE_ENCODE, MODE_DECODE, MODE_EVAL };
#define MAX_TEMPS 16 // --compare-temperatures columns
#define MAX_STOPS 16 // --stop strings
#define DRAW_ROWS 20 // --draws: rows of tokens unless --show-probs says

typedef struct {
    int mode;
    const char *prompt;     // NULL: DEFAULT_PROMPT (generate) or stdin (encode/decode)
    size_t prompt_len;      // its length in bytes (a --file prompt may hold NULs)
    const char *prompt_file; // -f: the prompt's text from this file ("-": stdin), read by load_prompt_file
    char *prompt_buf;       // the text read from prompt_file (prompt points to it), to free
    const char *prompt_ids; // ids instead of text
    int no_special;         // --no-special: "<|endoftext|>" in a text is ordinary text
    const char *model, *tokenizer, *dump_logits;
    int default_model;      // -m not given: DEFAULT_MODEL or its installed copy
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
    "Generate text with GPT-2: generate() with temperature and top-k sampling, as in Raschka's \"Build\n"
    "a Large Language Model (From Scratch)\", section 5.3 (\"the book\" below).\n"
    "\n"
    "  -p, --prompt TEXT          prompt (default \"" DEFAULT_PROMPT "\"; empty: start from <|endoftext|>)\n"
    "  -f, --file FILE            the prompt's text from FILE (-: stdin), exactly its bytes\n"
    "      --prompt-ids \"IDS\"     prompt as token ids, e.g. \"6109 3626 6100 345\"\n"
    "      --no-special           \"<|endoftext|>\" in the text (-p, -f, --encode, --eval) is ordinary\n"
    "                             text, not the end-of-text token (tiktoken's encode_ordinary)\n"
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
    "Exploring the next-token distribution (the book's experiments):\n"
    "      --show-probs N         chart the N most likely next tokens after the prompt: logit,\n"
    "                             softmax at T=1 and the distribution as sampled, the draw marked;\n"
    "                             with -n also at every new token, on stderr (stdout keeps the text)\n"
    "      --compare-temperatures LIST  the prompt's next-token distribution at each temperature of\n"
    "                             LIST (e.g. 1,0.1,5), one column each; rows: --show-probs (10)\n"
    "      --draws N              draw the next token N times; count, share, id and token per token\n"
    "                             drawn, the 20 most frequent (--show-probs: that many), then the rest\n"
    "      --eval FILE            perplexity of the text in FILE (alias --perplexity): every token\n"
    "                             after the first scored given those before it, windows of\n"
    "                             --context tokens moving by --stride (default half the window)\n"
    "  -v, --verbose              load time, weight format and tokens/s on stderr\n"
    "      --version              print the version and exit\n"
    "  -h, --help                 this help\n"
    "\n"
    "Sampling order: repeat penalty (on the last --repeat-last-n tokens), top-k, temperature,\n"
    "top-p, min-p, one draw. Each filter is off unless given: -t and -k alone are the book's.\n"
    "Charts fit the terminal's width (else $COLUMNS, else 80) and use Unicode bars when stdout and\n"
    "their stream are terminals, plain ASCII otherwise; color too unless NO_COLOR is set.\n"
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
       O_ENCODE, O_DECODE, O_STOP, O_SHOW_PROBS, O_COMPARE, O_DRAWS, O_EVAL, O_STRIDE, O_NO_SPECIAL, O_VERSION };
enum { CLI_HELP = -1, CLI_VERSION = -2 }; // cli_parse's answers besides 0 and EXIT_USAGE

static const struct option long_options[] = {
    {"prompt", required_argument, 0, 'p'},       {"prompt-ids", required_argument, 0, O_PROMPT_IDS},
    {"file", required_argument, 0, 'f'},         {"no-special", no_argument, 0, O_NO_SPECIAL},
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
    {"verbose", no_argument, 0, 'v'},            {"version", no_argument, 0, O_VERSION},
    {"help", no_argument, 0, 'h'},               {0, 0, 0, 0},
};

// The option without a value that "--name=value" (flag) names, as getopt_long matches it (the
// whole name, else a unique prefix), or NULL.
static const struct option *valueless_option(const char *flag) {
    const char *eq = strchr(flag, '=');
    if (strncmp(flag, "--", 2) != 0 || !eq) return NULL;
    size_t len = (size_t)(eq - flag - 2);
    const struct option *found = NULL;
    int matches = 0;
    for (const struct option *o = long_options; o->name; o++) {
        if (strncmp(o->name, flag + 2, len) != 0) continue;
        found = o, matches++;
        if (o->name[len] == '\0') return o->has_arg == no_argument ? o : NULL; // the whole name wins
    }
    return matches == 1 && found->has_arg == no_argument ? found : NULL;
}

// One mode of --encode, --decode and --eval (they exclude each other).
static int set_mode(Args *a, int mode, const char *flag) {
    if (a->mode != MODE_GENERATE && a->mode != mode)
        return cli_error(EXIT_USAGE, "%s: --encode, --decode and --eval each run alone", flag);
    a->mode = mode;
    return 0;
}

// One option (getopt_long's opt) with its value optarg into a; flag is the option as written.
// 0, EXIT_USAGE, CLI_HELP or CLI_VERSION.
static int parse_option(int opt, const char *flag, Args *a) {
    SamplerConfig *sc = &a->sampling;
    const struct option *o;
    switch (opt) {
    case 'p': a->prompt = optarg, a->prompt_len = strlen(optarg); return 0;
    case 'f': a->prompt_file = optarg; return 0;
    case O_NO_SPECIAL: a->no_special = 1; return 0;
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
    case O_ENCODE: return set_mode(a, MODE_ENCODE, "--encode");
    case O_DECODE: return set_mode(a, MODE_DECODE, "--decode");
    case O_STOP:
        if (a->n_stop == MAX_STOPS) return cli_error(EXIT_USAGE, "--stop: at most %d stop strings", MAX_STOPS);
        if (optarg[0] == '\0') return cli_error(EXIT_USAGE, "--stop: the stop string is empty");
        a->stop[a->n_stop++] = optarg;
        return 0;
    case 'N': return parse_int("--num-samples", optarg, 1, 1 << 20, &a->num_samples);
    case O_SHOW_PROBS: return parse_int("--show-probs", optarg, 1, 1 << 24, &a->show_probs);
    case O_COMPARE: return parse_temperatures(optarg, a->temps, &a->n_temps);
    case O_DRAWS: return parse_long("--draws", optarg, 1, 1000000000L, &a->draws);
    case O_EVAL: a->eval = optarg; return set_mode(a, MODE_EVAL, "--eval");
    case O_STRIDE: return parse_int("--stride", optarg, 1, 1 << 24, &a->stride);
    case 'v': a->verbose = 1; return 0;
    case 'h': return CLI_HELP;
    case O_VERSION: return CLI_VERSION;
    case ':': return cli_error(EXIT_USAGE, "%s needs a value", flag);
    default:
        if ((o = valueless_option(flag))) return cli_error(EXIT_USAGE, "--%s takes no value: '%s'", o->name, flag);
        if (optopt && optopt < 256) return cli_error(EXIT_USAGE, "unknown option '-%c'", optopt);
        return cli_error(EXIT_USAGE, "unknown option '%s'", flag);
    }
}

// The flags that exclude each other, once all are read.
static int check_combinations(const Args *a) {
    if (a->prompt && a->prompt_ids) return cli_error(EXIT_USAGE, "give either --prompt or --prompt-ids, not both");
    if (a->prompt_file && (a->prompt || a->prompt_ids))
        return cli_error(EXIT_USAGE, "give one of --file, --prompt and --prompt-ids, not several");
    if (a->no_special && (a->prompt_ids || a->mode == MODE_DECODE))
        return cli_error(EXIT_USAGE, "--no-special is about text: it does not go with --prompt-ids or --decode");
    if ((a->draws > 0) + (a->n_temps > 0) + (a->eval != NULL) + (a->dump_logits != NULL) > 1)
        return cli_error(EXIT_USAGE, "--draws, --compare-temperatures, --eval and --dump-logits each run alone");
    if (a->n_stop && a->print_ids)
        return cli_error(EXIT_USAGE, "--stop looks for text: it does not go with --print-ids");
    return 0;
}

// The command line into a: 0, EXIT_USAGE (the message printed), CLI_HELP or CLI_VERSION.
int cli_parse(int argc, char **argv, Args *a) {
    *a = (Args){.mode = MODE_GENERATE, .model = DEFAULT_MODEL, .tokenizer = DEFAULT_TOKENIZER,
                .sampling = sampler_defaults(), .max_new = 25, .num_samples = 1};
    optind = 0; // reset getopt, so that cli_parse can be called more than once (tests, fuzzing)
    opterr = 0; // we print our own messages
    int opt, r = 0;
    while (r == 0 && (opt = getopt_long(argc, argv, ":p:f:t:k:n:s:c:m:T:N:vh", long_options, NULL)) != -1)
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
static int prompt_ids(const Args *a, const Tokenizer *tok, int V, int **ids, int *n) {
    int r = read_prompt(a, tok, V, ids, n);
    if (r != 0) return r;
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
    return 0;
}

// --stop strings as bytes, with their lengths. hold keeps the text not written yet because it could
// be the start of one: less than max_len bytes, plus a token (< 256 bytes).
typedef struct {
    char *s[MAX_STOPS];
    size_t len[MAX_STOPS];
    int n;
    size_t max_len;
    unsigned char *hold; // (max_len + 256), NULL without stop strings
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
    if (st->n && !(st->hold = malloc(st->max_len + 256))) return cli_error(EXIT_DATA, "out of memory");
    return 0;
}

static void stops_free(Stops *st) {
    for (int i = 0; i < st->n; i++) free(st->s[i]);
    free(st->hold);
}

// One continuation as it streams out: its text (or ids), the --show-probs charts, the stop strings.
typedef struct {
    const Job *job;
    Sampler *sampler;
    Stops *stops;
    size_t n_hold;        // bytes in stops->hold
    int eos;              // the id that ends the continuation (gpt2_generate runs with -1: see on_token)
    int eos_hit, stopped; // ended by eos, by a stop string
    int step;             // new tokens so far, eos included
    int fancy;            // charts with Unicode bars and color (explore_fancy(stderr))
    int status;           // 0, or the exit status of what failed
    double t_start, t_first, t_end; // the clock at gpt2_generate's call, its first new token (0: none), its end
    double t_slide;       // the clock at the last new token before the window slid (0: not reached)
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
    Stops *st = o->stops;
    if (st->n == 0) return out_write(b, len);
    memcpy(st->hold + o->n_hold, b, len);
    o->n_hold += len;
    size_t cut = o->n_hold;
    for (int s = 0; s < st->n; s++) {
        const unsigned char *p = find_bytes(st->hold, o->n_hold, st->s[s], st->len[s]);
        if (p && (size_t)(p - st->hold) < cut) cut = (size_t)(p - st->hold);
    }
    if (cut < o->n_hold) {
        o->stopped = 1, o->n_hold = 0;
        return out_write(st->hold, cut);
    }
    size_t keep = stop_prefix_len(st, st->hold, o->n_hold);
    int r = out_write(st->hold, o->n_hold - keep);
    memmove(st->hold, st->hold + o->n_hold - keep, keep);
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

// gpt2_generate's callback, for each new token. The end-of-text stop is made here rather than by
// gpt2_generate, so that the end-of-text draw gets its chart. Non-zero stops the generation.
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
    if (a->print_ids) {
        o->status = write_token(o->job->tok, 1, token, 0);
    } else {
        size_t len;
        const unsigned char *b = tokenizer_decode(o->job->tok, token, &len);
        o->status = emit_text(o, b, len);
    }
    if (o->status == 0) o->status = out_flush(); // the text streams, token by token
    return o->status || o->stopped || interrupted;
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

// Sample k (from 0) of -N: seeded with seed + k, so that `-s S -N 3`'s sample 1 is `-s S` alone and
// sample 2 is `-s S+1` alone. A header when there are several, the prompt, then the continuation.
static int run_sample(const Job *j, Stops *stops, int k) {
    const Args *a = j->a;
    char err[GPT2_ERR_LEN];
    Sampler sampler;
    SamplerConfig cfg = a->sampling;
    cfg.seed += (uint64_t)k;
    if (sampler_build(&sampler, j->model->config.V, &cfg, err) != 0) return library_error(err);
    int r = 0;
    if (a->num_samples > 1) {
        char h[96];
        int len = snprintf(h, sizeof(h), "--- sample %d (seed %llu) ---\n", k + 1, (unsigned long long)cfg.seed);
        r = out_write(h, (size_t)len);
    }
    for (int i = 0; r == 0 && i < j->n; i++) r = write_token(j->tok, a->print_ids, j->ids[i], i == 0);
    Output out = {.job = j, .sampler = &sampler, .stops = stops, .eos = a->eos_set ? a->eos : eot_id(j->tok),
                  .fancy = explore_fancy(stderr), .t_start = now_seconds()};
    if (r == 0) gpt2_generate(j->model, &sampler, j->ids, j->n, a->max_new, j->context, -1, on_token, &out);
    out.t_end = now_seconds();
    if (r == 0) r = out.status;
    if (r == 0 && out.n_hold) r = out_write(stops->hold, out.n_hold); // the text ended inside no stop string
    if (r == 0) r = out_write("\n", 1);
    if (a->verbose) print_speed(j, &out);
    sampler_free(&sampler);
    return r;
}

// The -N continuations of the prompt, one after the other, until Ctrl-C.
static int run_samples(const Job *j) {
    Stops stops;
    int r = stops_build(&stops, j->a);
    for (int k = 0; r == 0 && k < j->a->num_samples && !interrupted; k++) r = run_sample(j, &stops, k);
    stops_free(&stops);
    if (r == 0 && interrupted) r = EXIT_INTERRUPTED;
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
    if (r == 0) r = prompt_ids(a, tok, model.config.V, &j.ids, &j.n);
    if (r == 0 && a->dump_logits) r = dump_logits(&j);
    else if (r == 0 && (a->draws || a->n_temps || (a->show_probs && a->max_new == 0))) r = run_explore(&j);
    else if (r == 0) r = run_samples(&j);
    free(j.ids);
    gpt2_free(&model);
    return r;
}

// ----------------------------------------------------------------------------------------------
// --eval

// The ids of the text in --eval's file (n >= 2).
static int eval_ids(const Args *a, const Tokenizer *tok, int **ids, int *n) {
    const char *path = a->eval;
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error(EXIT_DATA, "--eval: %s: %s", path, strerror(errno));
    size_t len, n_ids = 0;
    char *text = read_stream(f, &len);
    int e = errno;
    fclose(f);
    if (!text) return cli_error(EXIT_DATA, "--eval: %s: %s", path, strerror(e));
    int r = encode(a, tok, text, len, ids, &n_ids);
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
// only on a terminal; with -v the load time t_load and the speed on stderr.
static int score_text(const Args *a, GPT2 *model, double t_load, const int *ids, int n) {
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
    double t0 = now_seconds();
    if (explore_eval(model, ids, n, window, stride, progress, &nll, &scored, err) != 0) return library_error(err);
    double seconds = now_seconds() - t0;
    printf("tokens: %d (%ld scored), window %d, stride %d\n", n, scored, window, stride);
    printf("nll: %.6f\nperplexity: %.6g\n", nll / scored, exp(nll / scored));
    if (a->verbose) {
        print_load(model, t_load);
        fprintf(stderr, "; eval %ld tokens scored in %.2f s", scored, seconds);
        print_rate((int)scored, seconds);
        fputc('\n', stderr);
    }
    return 0;
}

// --eval FILE: the text's ids, the model, then the score.
static int run_eval(const Args *a, const Tokenizer *tok) {
    int *ids = NULL, n = 0, r = eval_ids(a, tok, &ids, &n);
    GPT2 model;
    double t0 = now_seconds();
    if (r == 0 && load_model(a, &model) != 0) r = EXIT_DATA;
    if (r != 0) return free(ids), r;
    r = score_text(a, &model, now_seconds() - t0, ids, n);
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

#ifndef GPT2_NO_MAIN
int main(int argc, char **argv) {
#ifdef _WIN32
    // bytes in and out as they are: no CRLF translation, no end at a 0x1a byte
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    Args a;
    int r = cli_parse(argc, argv, &a);
    if (r == CLI_HELP) return fputs(usage_text, stdout), 0;
    if (r == CLI_VERSION) return puts("gpt2 " GPT2_VERSION_STRING), 0;
    if (r != 0) return r;
    char model_path[4096], tokenizer_path[4096];
    if ((a.default_model = strcmp(a.model, DEFAULT_MODEL) == 0))
        a.model = default_file(DEFAULT_MODEL, model_path, sizeof(model_path));
    if (strcmp(a.tokenizer, DEFAULT_TOKENIZER) == 0)
        a.tokenizer = default_file(DEFAULT_TOKENIZER, tokenizer_path, sizeof(tokenizer_path));
    if (a.prompt_file && (r = load_prompt_file(&a)) != 0) return r;
    if (a.mode == MODE_GENERATE) signal(SIGINT, on_sigint); // --encode/--decode may wait on stdin: Ctrl-C ends them

    Tokenizer tok;
    char err[GPT2_ERR_LEN];
    // Generation from ids to ids needs no tokenizer; everything else does.
    int need_tok = a.mode != MODE_GENERATE || !a.prompt_ids || !(a.print_ids || a.dump_logits);
    int have_tok = tokenizer_build(&tok, a.tokenizer, err) == 0;
    if (!have_tok && need_tok) return free(a.prompt_buf), library_error(err);
    if (a.mode == MODE_ENCODE) r = run_encode(&a, &tok);
    else if (a.mode == MODE_DECODE) r = run_decode(&a, &tok);
    else if (a.mode == MODE_EVAL) r = run_eval(&a, &tok);
    else r = run_generate(&a, have_tok ? &tok : NULL);
    int w = out_flush(); // also after an interruption: the text so far goes out
    if (have_tok) tokenizer_free(&tok);
    free(a.prompt_buf);
    return r ? r : w;
}
#endif
