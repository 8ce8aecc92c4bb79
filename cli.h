// cli.h: the command line's flags. cli.c reads them into Args (cli_parse), checking every value and
// combination; main.c runs what they ask for (and fills the two fields marked as its own). The
// program's own: not part of the library.
#ifndef GPT2_CLI_H
#define GPT2_CLI_H

#include "gpt2.h"
#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define DEFAULT_MODEL "data/gpt2_124M.bin"
#define DEFAULT_TOKENIZER "data/gpt2_tokenizer.bin"
#define DEFAULT_PROMPT "Every effort moves you"

enum { EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 }; // 130: 128 + SIGINT, as shells report it
enum { MODE_GENERATE, MODE_ENCODE, MODE_DECODE, MODE_EVAL, MODE_SCORE };
#define MAX_TEMPS 16 // --compare-temperatures columns
#define MAX_STOPS 16 // --stop strings
#define MAX_SWEEP 16 // --sweep settings

// One decoding setting of --sweep: the keys given (SWEEP_T, ...) override the command line's.
enum { SWEEP_T = 1, SWEEP_K = 2, SWEEP_P = 4, SWEEP_MINP = 8, SWEEP_RP = 16 };
typedef struct {
    char spec[64]; // as written: "t=1,k=40"
    unsigned set;
    float t, p, minp, rp;
    int k;
} SweepSetting;

typedef struct {
    int mode;
    const char *prompt;     // NULL: DEFAULT_PROMPT (generate) or stdin (encode/decode)
    size_t prompt_len;      // its length in bytes (a --file prompt may hold NULs)
    const char *prompt_file; // -f: the prompt's text from this file ("-": stdin), read by load_prompt_file
    char *prompt_buf;       // (set by main.c) the text read from prompt_file (prompt points to it), to free
    const char *prompt_ids; // ids instead of text
    int no_special;         // --no-special: "<|endoftext|>" in a text is ordinary text
    const char *model, *tokenizer, *dump_logits;
    int default_model;      // (set by main.c) -m not given: DEFAULT_MODEL or its installed copy
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
    const char *eval;            // --eval / --perplexity / --score: the text file (MODE_EVAL, MODE_SCORE)
    int stride;                  // --eval's window step; 0: half the window
    int json;                    // --json: JSON Lines on stdout (--score, --sweep, generation)
    int top_logprobs;            // --top-logprobs: alternatives per token in --json and --html
    const char *html;            // --html: --score's page
    SweepSetting sweep[MAX_SWEEP]; // --sweep
    int n_sweep;
    int num_samples_set;         // -N given
    const char *prompts;         // --prompts: a file of prompts, one a line, each continued
    int context_shift;           // --context-shift: GPT2_CONTEXT_SHIFT instead of the sliding window
} Args;

extern const char cli_usage[]; // --help's text

enum { CLI_HELP = -1, CLI_VERSION = -2 }; // cli_parse's answers besides 0 and EXIT_USAGE

// The command line into a: 0, EXIT_USAGE (the message printed), CLI_HELP or CLI_VERSION. It may be
// called more than once (tests, fuzzing).
int cli_parse(int argc, char **argv, Args *a);

// "gpt2: <message>" on stderr, and status back, for the caller to return: every error of the command
// line is reported this way. A usage error (EXIT_USAGE) points to --help.
int cli_error(int status, const char *fmt, ...) GPT2_PRINTF(2, 3);

#endif
