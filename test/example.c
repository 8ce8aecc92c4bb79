// example.c: a program against libgpt2.a, the one in docs/library.md (the tests build
// and run it, and check that the copy there is this file).
//   cc -O2 -I. -o example test/example.c libgpt2.a -lm -pthread
//   ./example data/gpt2_124M.bin data/gpt2_tokenizer.bin "Every effort moves you"
#include "gpt2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Printing as the tokens come: the tokenizer and a stream that holds back a character until its
// last byte arrives (a token can end inside one).
typedef struct {
    const Tokenizer *tok;
    TokenizerStream stream;
} Printer;

// Called by gpt2_generate with each new token.
static int print_token(void *ctx, int token, const float *logits) {
    (void)logits;
    Printer *p = ctx;
    unsigned char text[TOKENIZER_STREAM_MAX];
    fwrite(text, 1, tokenizer_stream(p->tok, &p->stream, token, text), stdout);
    fflush(stdout);
    return 0; // non-zero would stop the generation
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: example MODEL.bin TOKENIZER.bin PROMPT\n");
        return 2;
    }
    char err[GPT2_ERR_LEN];
    GPT2 model;
    GPT2Options opt = {.quantize_int8 = 0, .threads = 0}; // 0 threads: one per core
    Tokenizer tok;
    if (gpt2_build(&model, argv[1], &opt, err) != 0) return fprintf(stderr, "%s\n", err), 1;
    if (tokenizer_build(&tok, argv[2], err) != 0) return fprintf(stderr, "%s\n", err), gpt2_free(&model), 1;

    int max_new = 20, *ids;
    size_t n;
    if (tokenizer_encode(&tok, argv[3], strlen(argv[3]), &ids, &n) != 0 || n == 0) return 1;
    int *room = realloc(ids, (n + max_new) * sizeof(int)); // gpt2_generate appends to ids
    if (!room) return free(ids), 1;
    ids = room;

    // The book's sampling (section 5.3): temperature 1 and top-k 50; every other filter stays off.
    SamplerConfig cfg = sampler_defaults();
    cfg.temperature = 1.0f, cfg.top_k = 50, cfg.seed = 123;
    Sampler sampler;
    if (sampler_build(&sampler, model.config.V, &cfg, err) != 0) return fprintf(stderr, "%s\n", err), 1;

    // The next-token distribution after the prompt: sampler_probs fills sampler.probs (V).
    const float *logits = gpt2_forward(&model, ids, (int)n, 0);
    if (!logits) return fprintf(stderr, "the prompt does not fit the model\n"), 1;
    sampler_probs(&sampler, logits, ids, (int)n);
    int best = 0;
    for (int i = 1; i < model.config.V; i++)
        if (sampler.probs[i] > sampler.probs[best]) best = i;
    printf("most likely next token: %d (p = %.4f)\n", best, sampler.probs[best]);

    fwrite(argv[3], 1, strlen(argv[3]), stdout);
    Printer printer = {.tok = &tok};
    int total = gpt2_generate(&model, &sampler, ids, (int)n, max_new, model.config.maxT, tok.eot, print_token, &printer);
    unsigned char rest[3];
    fwrite(rest, 1, tokenizer_stream_end(&printer.stream, rest), stdout);
    printf("\n%d new tokens\n", total - (int)n); // gpt2_generate returns the length of ids

    free(ids);
    sampler_free(&sampler);
    tokenizer_free(&tok);
    gpt2_free(&model);
    return 0;
}
