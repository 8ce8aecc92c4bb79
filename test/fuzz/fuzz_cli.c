// fuzz_cli: any argv -> cli_parse accepts it with every value in range, or refuses it with exit status 2
// and a one-line usage message on stderr; --help and --version give CLI_HELP and CLI_VERSION. The
// input is the arguments after "gpt2", separated by NUL bytes.
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = strdup("gpt2");
    for (size_t i = 0; i <= size && argc <= MAX_ARGS;) { // each argument in its own allocation
        const uint8_t *nul = memchr(data + i, 0, size - i);
        size_t len = nul ? (size_t)(nul - data) - i : size - i;
        char *s = malloc(len + 1);
        memcpy(s, data + i, len);
        s[len] = '\0';
        argv[argc++] = s;
        i += len + 1;
    }
    argv[argc] = NULL;
    char *all[MAX_ARGS + 2]; // getopt permutes argv: keep the pointers to free
    memcpy(all, argv, sizeof(all));

    static char msg[8192];
    memset(msg, 0, sizeof(msg));
    FILE *saved = stderr, *mem = fmemopen(msg, sizeof(msg) - 1, "w");
    if (!mem) abort();
    stderr = mem;
    Args a;
    int r = cli_parse(argc, argv, &a);
    fclose(mem);
    stderr = saved;

    if (r == 0) {
        const SamplerConfig *s = &a.sampling;
        if (msg[0]) abort(); // accepted but complained
        if (!(isfinite(s->temperature) && s->temperature >= 0)) abort();
        if (s->top_k < 0 || !(s->top_p > 0 && s->top_p <= 1) || !(s->min_p >= 0 && s->min_p < 1)) abort();
        if (!(isfinite(s->repeat_penalty) && s->repeat_penalty > 0) || s->repeat_last_n < 0) abort();
        if (a.max_new < 0 || a.context < 0 || a.threads < 0 || a.eos < -1) abort();
        if (!a.model || !a.tokenizer || (a.prompt && a.prompt_ids)) abort();
        if (a.prompt_file && (a.prompt || a.prompt_ids)) abort();
        if (a.prompt && a.prompt_len != strlen(a.prompt)) abort();
    } else if (r == EXIT_USAGE) {
        if (strncmp(msg, "gpt2: ", 6) != 0 || !strstr(msg, "(see gpt2 --help)\n")) abort(); // no usage message
    } else if ((r != CLI_HELP && r != CLI_VERSION) || cli_usage[0] == '\0') {
        abort(); // neither accepted, nor help or version, nor a usage error
    }
    for (int i = 0; i < argc; i++) free(all[i]);
    return 0;
}
