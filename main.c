// main.c: the command line. Parse the flags, load the tokenizer and the checkpoint, then either
// encode/decode or run the tutorial's generate loop and stream the text to stdout.
// Exit status: 0 success, 1 runtime or data error, 2 usage error, 130 interrupted (SIGINT).
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

#define DEFAULT_MODEL "data/gpt2_124M.bin"
#define DEFAULT_TOKENIZER "data/gpt2_tokenizer.bin"
#define DEFAULT_PROMPT "Every effort moves you"
#define GPT2_EOT 50256 // GPT-2's <|endoftext|>, the default stop when no tokenizer is loaded

enum { EXIT_DATA = 1, EXIT_USAGE = 2 };
enum { MODE_GENERATE, MODE_ENCODE, MODE_DECODE };

typedef struct {
    int mode;
    const char *prompt;     // NULL: DEFAULT_PROMPT (generate) or stdin (encode/decode)
    const char *prompt_ids; // ids instead of text
    const char *model, *tokenizer, *dump_logits;
    SamplerConfig sampling;
    int max_new, context; // context 0: the checkpoint's maxT
    int eos, eos_set;
    int print_ids, verbose, threads, quantize_int8;
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
    "  -m, --model PATH           checkpoint (default " DEFAULT_MODEL ")\n"
    "      --tokenizer PATH       tokenizer (default " DEFAULT_TOKENIZER ")\n"
    "      --quantize int8        quantize the weights to int8 at load time (faster, less exact)\n"
    "  -T, --threads N            threads (default: the number of online cores)\n"
    "      --print-ids            print token ids instead of text\n"
    "      --dump-logits FILE     write the prompt's last-position logits (V float32) and exit\n"
    "      --encode               print the token ids of -p TEXT (or stdin) and exit\n"
    "      --decode               write the text of the ids in -p (or stdin) and exit\n"
    "  -v, --verbose              load time and tokens/s on stderr\n"
    "  -h, --help                 this help\n"
    "\n"
    "Sampling order: repeat penalty, top-k, temperature, top-p, min-p, one draw.\n"
    "Exit status: 0 success, 1 runtime or data error, 2 usage error, 130 interrupted (Ctrl-C:\n"
    "the text so far is written out first).\n"
    "\n"
    "Examples:\n"
    "  gpt2 -p \"Every effort moves you\" -t 1.4 -k 25\n"
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

int cli_parse(int argc, char **argv, Args *a) {
    enum { O_PROMPT_IDS = 256, O_TOP_P, O_MIN_P, O_REPEAT, O_REPEAT_N, O_EOS, O_TOKENIZER, O_QUANT,
           O_PRINT_IDS, O_DUMP, O_ENCODE, O_DECODE };
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
        {"verbose", no_argument, 0, 'v'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *a = (Args){.mode = MODE_GENERATE, .model = DEFAULT_MODEL, .tokenizer = DEFAULT_TOKENIZER,
                .sampling = sampler_defaults(), .max_new = 25};
    SamplerConfig *sc = &a->sampling;
    optind = 0; // reset getopt, so that cli_parse can be called more than once (tests, fuzzing)
    opterr = 0; // we print our own messages
    int opt, r = 0;
    while (r == 0 && (opt = getopt_long(argc, argv, ":p:t:k:n:s:c:m:T:vh", longs, NULL)) != -1) {
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
        case 'n': r = parse_int("--max-new-tokens", optarg, 0, 1 << 24, &a->max_new); break;
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

// All of stdin, NUL-terminated (the text may contain NULs; *n is the real length).
static char *read_stdin(size_t *n) {
    size_t cap = 1 << 16;
    char *buf = malloc(cap + 1);
    *n = 0;
    while (buf) {
        size_t got = fread(buf + *n, 1, cap - *n, stdin);
        *n += got;
        if (got == 0) break;
        if (*n == cap) {
            char *b = realloc(buf, (cap *= 2) + 1);
            if (!b) free(buf);
            buf = b;
        }
    }
    if (buf && ferror(stdin)) {
        free(buf);
        return NULL;
    }
    if (buf) buf[*n] = '\0';
    return buf;
}

// Ids separated by spaces, tabs, newlines or commas, each in 0..V-1.
static int parse_ids(const char *s, int V, int **ids, int *n) {
    size_t cap = 16;
    *n = 0;
    *ids = malloc(cap * sizeof(int));
    if (!*ids) return EXIT_DATA;
    for (const char *p = s;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',') p++;
        if (*p == '\0') return 0;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || (*end && !strchr(" \t\r\n,", *end))) {
            int len = (int)strcspn(p, " \t\r\n,");
            return usage_error("token ids: '%.*s' is not an integer", len > 40 ? 40 : len, p);
        }
        if (v < 0 || v >= V) return usage_error("token ids: %ld is outside 0..%d", v, V - 1);
        if ((size_t)*n == cap) {
            int *b = realloc(*ids, (cap *= 2) * sizeof(int));
            if (!b) return EXIT_DATA;
            *ids = b;
        }
        (*ids)[(*n)++] = (int)v;
        p = end;
    }
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
    char *stdin_text = a->prompt ? NULL : read_stdin(&n);
    if (!a->prompt && !stdin_text) {
        fprintf(stderr, "gpt2: cannot read stdin\n");
        return EXIT_DATA;
    }
    const char *text = a->prompt ? a->prompt : stdin_text;
    if (a->prompt) n = strlen(a->prompt);
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
    char *stdin_text = a->prompt ? NULL : read_stdin(&n);
    if (!a->prompt && !stdin_text) {
        fprintf(stderr, "gpt2: cannot read stdin\n");
        return EXIT_DATA;
    }
    int *ids = NULL, n_ids = 0;
    int r = parse_ids(a->prompt ? a->prompt : stdin_text, tok->V, &ids, &n_ids);
    for (int i = 0; r == 0 && i < n_ids; i++) r = write_token(tok, 0, ids[i], i == 0);
    free(ids);
    free(stdin_text);
    return r;
}

typedef struct {
    const Tokenizer *tok;
    int print_ids, status;
    double t_first; // when the first new token arrived: the end of the prompt's forward pass
} Output;

static int on_token(void *ctx, int token, const float *logits) {
    (void)logits;
    Output *o = ctx;
    if (o->t_first == 0.0) o->t_first = now_s();
    o->status = write_token(o->tok, o->print_ids, token, 0);
    return o->status || interrupted;
}

static int run_generate(const Args *a, const Tokenizer *tok) {
    char err[GPT2_ERR_LEN];
    GPT2 model;
    GPT2Options opt = {.quantize_int8 = a->quantize_int8, .threads = a->threads};
    double t0 = now_s();
    if (gpt2_build(&model, a->model, &opt, err)) {
        fprintf(stderr, "%s\n", err);
        if (strcmp(a->model, DEFAULT_MODEL) == 0)
            fprintf(stderr, "gpt2: make the default checkpoint with: make weights\n");
        return EXIT_DATA;
    }
    double t_load = now_s() - t0;
    const GPT2Config *c = &model.config;
    int r = 0, *ids = NULL, n = 0, context = a->context ? a->context : c->maxT;
    int eos = a->eos_set ? a->eos : tok ? tok->eot : GPT2_EOT;
    Sampler sampler = {0};
    if (a->sampling.top_k > c->V) r = usage_error("--top-k: %d is larger than the vocabulary (%d)", a->sampling.top_k, c->V);
    else if (context > c->maxT) r = usage_error("--context: %d is larger than the model's maxT (%d)", context, c->maxT);
    else if (tok && tok->V < c->V && !a->print_ids && !a->dump_logits)
        r = (fprintf(stderr, "gpt2: %s has %d tokens, fewer than the model's %d\n", a->tokenizer, tok->V, c->V), EXIT_DATA);
    else if (a->prompt_ids) r = parse_ids(a->prompt_ids, c->V, &ids, &n);
    else {
        const char *text = a->prompt ? a->prompt : DEFAULT_PROMPT;
        size_t n_ids = 0;
        if (tokenizer_encode(tok, text, strlen(text), &ids, &n_ids)) r = EXIT_DATA;
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
    if (r == 0 && (!ids || n > INT32_MAX - a->max_new)) r = EXIT_DATA;
    if (r == 0) { // room for the new tokens
        int *b = realloc(ids, ((size_t)n + a->max_new) * sizeof(int));
        if (!b) r = (fprintf(stderr, "gpt2: out of memory for %d tokens\n", n + a->max_new), EXIT_DATA);
        else ids = b;
    }
    if (r == 0 && sampler_build(&sampler, c->V, &a->sampling, err)) r = (fprintf(stderr, "%s\n", err), EXIT_DATA);

    if (r == 0 && a->dump_logits) {
        int s0 = n > context ? n - context : 0;
        const float *logits = gpt2_forward(&model, ids + s0, n - s0, 0);
        FILE *f = fopen(a->dump_logits, "wb");
        if (!f || fwrite(logits, sizeof(float), (size_t)c->V, f) != (size_t)c->V || fclose(f) != 0) {
            fprintf(stderr, "gpt2: %s: %s\n", a->dump_logits, strerror(errno));
            r = EXIT_DATA;
        }
    } else if (r == 0) {
        Output out = {tok, a->print_ids, 0, 0.0};
        for (int i = 0; r == 0 && i < n; i++) r = write_token(tok, a->print_ids, ids[i], i == 0);
        double t1 = now_s();
        int total = r ? n : gpt2_generate(&model, &sampler, ids, n, a->max_new, context, eos, on_token, &out);
        double t2 = now_s();
        r = r ? r : out.status;
        if (r == 0) r = out_write("\n", 1);
        if (a->verbose) {
            int gen = total - n;
            double first = out.t_first > 0.0 ? out.t_first - t1 : t2 - t1;
            fprintf(stderr, "gpt2: load %.3f s, %d threads; prompt %d tokens, first new token after %.1f ms", t_load,
                    model.n_threads, n, first * 1e3);
            if (gen > 1) fprintf(stderr, "; %d more tokens at %.1f tokens/s", gen - 1, (gen - 1) / (t2 - out.t_first));
            fputc('\n', stderr);
        }
        if (r == 0 && interrupted) r = 130;
    }
    free(ids);
    sampler_free(&sampler);
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
    else r = run_generate(&a, have_tok ? &tok : NULL);
    if (have_tok) tokenizer_free(&tok);
    return r;
}
#endif
