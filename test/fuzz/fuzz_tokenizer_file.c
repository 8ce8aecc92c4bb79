// fuzz_tokenizer_file: any bytes written as a tokenizer file -> tokenizer_build loads it or refuses it
// with a message naming the function; a loaded tokenizer encodes and decodes text back to the same
// bytes (the text: a fixed sample, then the input's own bytes).
#include "../../gpt2.h"
#include "scratch_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void roundtrip(const Tokenizer *t, const unsigned char *s, size_t n) {
    int *ids;
    size_t n_ids;
    if (tokenizer_encode(t, (const char *)s, n, &ids, &n_ids) != 0) abort();
    unsigned char *back = malloc(n + 1);
    size_t at = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= t->V) abort();
        size_t len;
        const unsigned char *b = tokenizer_decode(t, ids[i], &len);
        if (len == 0 || at + len > n) abort();
        memcpy(back + at, b, len);
        at += len;
    }
    if (at != n || (n && memcmp(back, s, n) != 0)) abort();
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = scratch_file();
    if (write(fd, data, size) != (ssize_t)size) abort();
    close(fd);
    const char *path = scratch_path;
    char err[GPT2_ERR_LEN] = "";
    Tokenizer t;
    if (tokenizer_build(&t, path, err) == 0) {
        static const char sample[] = "Hello, world! It's 2024 <|endoftext|> naïve café 日本語 \xff\xfe  \n\n";
        roundtrip(&t, (const unsigned char *)sample, sizeof(sample) - 1);
        roundtrip(&t, data, size < 512 ? size : 512);
        tokenizer_free(&t);
    } else if (strncmp(err, "tokenizer_build: ", 17) != 0) {
        abort(); // refused without a message
    }
    return 0;
}
