// cli.c: the command line's flags (cli.h): --help's text, getopt_long's table, each value parsed
// whole and in range, and the combinations that exclude each other. Every refusal is one line on
// stderr and EXIT_USAGE.
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_usage[] =
    "usage: gpt2 [options]\n"
    "Generate text with GPT-2: generate() with temperature and top-k sampling, as in Raschka's \"Build\n"
    "a Large Language Model (From Scratch)\", section 5.3 (\"the book\" below).\n"
    "\n"
    "  -p, --prompt TEXT          prompt (default \"" DEFAULT_PROMPT "\";\n"
    "                             empty: start from <|endoftext|>)\n"
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
    "  -N, --num-samples K        K continuations of the prompt, each after a line\n"
    "                             \"--- sample I (seed S) ---\"; sample I uses seed S = --seed + I - 1,\n"
    "                             so -s S alone repeats it; generated as one batch (up to 64 at once),\n"
    "                             printed in order\n"
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
    "      --draws N              draw the next token N times; count, share, id and token per token\n"
    "                             drawn, the 20 most frequent (--show-probs: that many), then the rest\n"
    "      --eval FILE            perplexity of the text in FILE (alias --perplexity): every token\n"
    "                             after the first scored given those before it, windows of\n"
    "                             --context tokens moving by --stride (default half the window)\n"
    "      --score FILE           each token of FILE through the model's eyes: log-probability, rank\n"
    "                             (colored by GLTR's buckets: top 10, 100, 1000, beyond) and the\n"
    "                             --top-logprobs N alternatives (default 5); --eval's windows\n"
    "      --html FILE            with --score: also a self-contained HTML page of it\n"
    "      --json                 JSON Lines on stdout, one object per token (--score, generation) or\n"
    "                             per setting (--sweep), then a summary; token bytes that are not\n"
    "                             UTF-8 as \\udc80-\\udcff (Python's surrogateescape)\n"
    "      --sweep \"SPEC;...\"     per decoding setting SPEC (t=T,k=K,p=P,minp=P,rp=R, e.g.\n"
    "                             \"t=1;t=1,k=40;t=1,p=0.9\"; unset keys from -t, -k, ...): -N samples\n"
    "                             (default 4) of -n tokens, then perplexity, Self-BLEU-4, distinct-1/2,\n"
    "                             Zipf coefficient, share ending in a repetition, tokens/s\n"
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
    "  gpt2 --score book.txt --html book.html\n"
    "  gpt2 -p \"Once upon a time\" -n 40 -N 8 --sweep \"t=0.7;t=1,k=40;t=1,p=0.95\"\n"
    "  gpt2 --encode -p \"Hello, world\"\n"
    "  echo 15496 11 995 | gpt2 --decode\n";

// "gpt2: <message>" on stderr, and status back, for the caller to return: every error of the command
// line is reported this way. A usage error (EXIT_USAGE) points to --help.
int cli_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gpt2: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(status == EXIT_USAGE ? " (see gpt2 --help)\n" : "\n", stderr);
    return status;
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

// One key=value of a --sweep setting into st.
static int parse_sweep_key(const char *key, size_t key_len, const char *value, SweepSetting *st) {
    static const struct {
        const char *key, *flag;
        unsigned bit;
    } keys[] = {{"t", "--sweep t", SWEEP_T},       {"k", "--sweep k", SWEEP_K}, {"p", "--sweep p", SWEEP_P},
                {"minp", "--sweep minp", SWEEP_MINP}, {"rp", "--sweep rp", SWEEP_RP}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strlen(keys[i].key) != key_len || strncmp(keys[i].key, key, key_len) != 0) continue;
        const char *f = keys[i].flag;
        st->set |= keys[i].bit;
        switch (keys[i].bit) { // the ranges of -t, -k, --top-p, --min-p and --repeat-penalty
        case SWEEP_T: return parse_float(f, value, 0.0f, 1e30f, 0, &st->t);
        case SWEEP_K: return parse_int(f, value, 1, 1 << 24, &st->k);
        case SWEEP_P: return parse_float(f, value, 0.0f, 1.0f, 1, &st->p);
        case SWEEP_MINP:
            if (parse_float(f, value, 0.0f, 1.0f, 0, &st->minp) != 0) return EXIT_USAGE;
            return st->minp < 1.0f ? 0 : cli_error(EXIT_USAGE, "%s: %s is outside [0, 1)", f, value);
        default: return parse_float(f, value, 0.0f, 1e30f, 1, &st->rp);
        }
    }
    return cli_error(EXIT_USAGE, "--sweep: unknown key '%.*s' (t, k, p, minp, rp)", (int)key_len, key);
}

// --sweep: 1 to MAX_SWEEP settings separated by ';', each comma-separated key=value pairs.
static int parse_sweep(const char *s, SweepSetting *out, int *n) {
    *n = 0;
    for (const char *p = s;; p++) {
        size_t len = strcspn(p, ";");
        if (len == 0) return cli_error(EXIT_USAGE, "--sweep: '%s' has an empty setting (give e.g. \"t=1;t=1,k=40\")", s);
        if (*n == MAX_SWEEP) return cli_error(EXIT_USAGE, "--sweep: at most %d settings", MAX_SWEEP);
        SweepSetting *st = &out[(*n)++];
        *st = (SweepSetting){0};
        if (len >= sizeof(st->spec)) return cli_error(EXIT_USAGE, "--sweep: a setting of %zu characters is too long", len);
        memcpy(st->spec, p, len);
        for (char *kv = st->spec;;) {
            char item[64], *eq;
            size_t il = strcspn(kv, ",");
            memcpy(item, kv, il), item[il] = '\0';
            if (!(eq = strchr(item, '=')) || eq == item)
                return cli_error(EXIT_USAGE, "--sweep: '%s' is not key=value (t, k, p, minp, rp)", item);
            if (parse_sweep_key(item, (size_t)(eq - item), eq + 1, st) != 0) return EXIT_USAGE;
            if (kv[il] == '\0') break;
            kv += il + 1;
        }
        p += len;
        if (*p == '\0') return 0;
    }
}

enum { O_PROMPT_IDS = 256, O_TOP_P, O_MIN_P, O_REPEAT, O_REPEAT_N, O_EOS, O_TOKENIZER, O_QUANT, O_PRINT_IDS, O_DUMP,
       O_ENCODE, O_DECODE, O_STOP, O_SHOW_PROBS, O_COMPARE, O_DRAWS, O_EVAL, O_STRIDE, O_NO_SPECIAL, O_VERSION,
       O_SCORE, O_JSON, O_TOP_LOGPROBS, O_HTML, O_SWEEP, O_PROMPTS, O_CONTEXT_SHIFT };

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
    {"score", required_argument, 0, O_SCORE},    {"json", no_argument, 0, O_JSON},
    {"top-logprobs", required_argument, 0, O_TOP_LOGPROBS}, {"html", required_argument, 0, O_HTML},
    {"sweep", required_argument, 0, O_SWEEP},      {"prompts", required_argument, 0, O_PROMPTS},
    {"context-shift", no_argument, 0, O_CONTEXT_SHIFT},
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

// One mode of --encode, --decode, --eval and --score (they exclude each other).
static int set_mode(Args *a, int mode, const char *flag) {
    if (a->mode != MODE_GENERATE && a->mode != mode)
        return cli_error(EXIT_USAGE, "%s: --encode, --decode, --eval and --score each run alone", flag);
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
    case 'N': a->num_samples_set = 1; return parse_int("--num-samples", optarg, 1, 1 << 20, &a->num_samples);
    case O_SHOW_PROBS: return parse_int("--show-probs", optarg, 1, 1 << 24, &a->show_probs);
    case O_COMPARE: return parse_temperatures(optarg, a->temps, &a->n_temps);
    case O_DRAWS: return parse_long("--draws", optarg, 1, 1000000000L, &a->draws);
    case O_EVAL: a->eval = optarg; return set_mode(a, MODE_EVAL, "--eval");
    case O_STRIDE: return parse_int("--stride", optarg, 1, 1 << 24, &a->stride);
    case O_SCORE: a->eval = optarg; return set_mode(a, MODE_SCORE, "--score");
    case O_JSON: a->json = 1; return 0;
    case O_TOP_LOGPROBS: return parse_int("--top-logprobs", optarg, 0, 1000, &a->top_logprobs);
    case O_HTML: a->html = optarg; return 0;
    case O_SWEEP: return parse_sweep(optarg, a->sweep, &a->n_sweep);
    case O_PROMPTS: a->prompts = optarg; return 0;
    case O_CONTEXT_SHIFT: a->context_shift = 1; return 0;
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
    if (a->html && a->mode != MODE_SCORE) return cli_error(EXIT_USAGE, "--html is a page of --score: give --score FILE");
    int chart = a->draws || a->n_temps || a->dump_logits || (a->show_probs && !a->max_new_set);
    if (a->json && (a->mode == MODE_ENCODE || a->mode == MODE_DECODE || a->mode == MODE_EVAL || chart))
        return cli_error(EXIT_USAGE, "--json goes with --score, --sweep or generation");
    if (a->json && a->n_stop) return cli_error(EXIT_USAGE, "--stop looks for text: it does not go with --json");
    if (a->n_sweep && (a->mode != MODE_GENERATE || chart || a->show_probs || a->n_stop))
        return cli_error(EXIT_USAGE, "--sweep runs alone: not with --eval, --score, --draws, --compare-temperatures, "
                                     "--dump-logits, --show-probs or --stop");
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

int cli_parse(int argc, char **argv, Args *a) {
    *a = (Args){.mode = MODE_GENERATE, .model = DEFAULT_MODEL, .tokenizer = DEFAULT_TOKENIZER,
                .sampling = sampler_defaults(), .max_new = 25, .num_samples = 1, .top_logprobs = 5};
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
