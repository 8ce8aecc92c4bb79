// fuzz_tokenizer: any bytes -> tokenizer_encode -> decode each id -> the same bytes, every id in 0..V-1.
// Uses GPT-2's tokenizer file: $GPT2_TOKENIZER, else data/gpt2_tokenizer.bin (run from the repo root).
#include "../../gpt2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Tokenizer tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *path = getenv("GPT2_TOKENIZER") ? getenv("GPT2_TOKENIZER") : "data/gpt2_tokenizer.bin";
    char err[GPT2_ERR_LEN];
    if (tokenizer_build(&tok, path, err) != 0) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", err);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int *ids;
    size_t n_ids;
    if (tokenizer_encode(&tok, (const char *)data, size, &ids, &n_ids) != 0) abort(); // out of memory
    unsigned char *back = malloc(size + 1);
    size_t at = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= tok.V) abort();
        size_t len;
        const unsigned char *b = tokenizer_decode(&tok, ids[i], &len);
        if (len == 0 || at + len > size) abort(); // decodes to more bytes than were encoded
        memcpy(back + at, b, len);
        at += len;
    }
    if (at != size || (size && memcmp(back, data, size) != 0)) abort(); // decode(encode(x)) != x
    free(back);
    free(ids);
    return 0;
}
