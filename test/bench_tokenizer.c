// bench_tokenizer.c: encode throughput of tokenizer.c in MB/s, single thread, on ~10 MB of English.
//
//   make bench-tokenizer   (also runs test/bench_tokenizer.mjs on the same text: npm tiktoken, for comparison)
//   build/bench_tokenizer data/gpt2_tokenizer.bin test/fixtures/tokenizer_bench_sample.txt build/tokenizer_bench.txt [MB]
//
// The text is made deterministically from the committed sample of English sentences: sentences in
// random order, a quarter of their words swapped for random words of the sample (so pieces are not
// all the same few), paragraphs of 3..8 sentences. It is written to the output path so that the node
// benchmark reads exactly the same bytes. Prints the best of 3 runs, the token count, and an FNV-1a
// checksum of the ids, which must equal tiktoken's.
#define _POSIX_C_SOURCE 200809L // strdup, and util.h's clock_gettime
#include "../gpt2.h"
#include "../util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
            *n = fread(buf, 1, (size_t)size, f);
            if (*n != (size_t)size) {
                free(buf);
                buf = NULL;
            } else {
                buf[*n] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

// Split s in place at each sep into at most max parts; returns how many.
static size_t split(char *s, char sep, char **parts, size_t max) {
    size_t n = 0;
    for (char *p = s; p && *p && n < max;) {
        char *end = strchr(p, sep);
        if (end) *end = '\0';
        if (*p) parts[n++] = p;
        p = end ? end + 1 : NULL;
    }
    return n;
}

// Write about target bytes of English-like text into out (room for target + 4096).
static size_t make_text(char *sample, size_t target, char *out) {
    enum { MAX_LINES = 4096, MAX_WORDS = 65536 };
    char **lines = malloc(MAX_LINES * sizeof(char *)), **words = malloc(MAX_WORDS * sizeof(char *));
    size_t n_lines = split(sample, '\n', lines, MAX_LINES), n_words = 0;
    char *copy = malloc(strlen(sample) + 1), *line_words[256];
    // The word pool: every space-separated word of every line (split a copy; lines stay whole).
    for (size_t i = 0; i < n_lines; i++) {
        char *w = strdup(lines[i]);
        n_words += split(w, ' ', words + n_words, MAX_WORDS - n_words);
    }
    uint64_t rng = 1234;
    size_t n = 0;
    while (n < target && n_lines > 0) {
        size_t sentences = 3 + splitmix64(&rng) % 6;
        for (size_t s = 0; s < sentences; s++) {
            strcpy(copy, lines[splitmix64(&rng) % n_lines]);
            size_t k = split(copy, ' ', line_words, 256);
            for (size_t i = 0; i < k; i++) {
                const char *w = splitmix64(&rng) % 4 == 0 ? words[splitmix64(&rng) % n_words] : line_words[i];
                if (i > 0 || s > 0) out[n++] = ' ';
                size_t len = strlen(w);
                memcpy(out + n, w, len);
                n += len;
            }
        }
        out[n++] = '\n';
        out[n++] = '\n';
    }
    free(copy);
    free(lines); // the pool's strings are left to the end of the process
    free(words);
    return n;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_tokenizer TOKENIZER.bin SAMPLE.txt OUT.txt [MB]\n");
        return 1;
    }
    size_t target = (size_t)((argc > 4 ? atof(argv[4]) : 10.0) * 1e6);
    Tokenizer t;
    char err[GPT2_ERR_LEN];
    if (tokenizer_build(&t, argv[1], err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t sample_n;
    char *sample = read_all(argv[2], &sample_n);
    char *text = malloc(target + 4096);
    if (!sample || !text) {
        fprintf(stderr, "bench_tokenizer: %s: cannot read\n", argv[2]);
        return 1;
    }
    size_t n = make_text(sample, target, text);
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "bench_tokenizer: %s: cannot write\n", argv[3]);
        return 1;
    }
    double best = 1e30;
    size_t n_ids = 0;
    uint32_t checksum = 2166136261u;
    for (int run = 0; run < 3; run++) {
        int *ids;
        double t0 = now_seconds();
        if (tokenizer_encode(&t, text, n, &ids, &n_ids) != 0) {
            fprintf(stderr, "bench_tokenizer: out of memory\n");
            return 1;
        }
        double dt = now_seconds() - t0;
        if (dt < best) best = dt;
        checksum = 2166136261u;
        for (size_t i = 0; i < n_ids; i++) checksum = (checksum ^ (uint32_t)ids[i]) * 16777619u;
        free(ids);
    }
    printf("tokenizer.c: %.1f MB/s (%zu bytes -> %zu tokens in %.3f s, best of 3; ids checksum %08x)\n",
           (double)n / best / 1e6, n, n_ids, best, checksum);
    free(text);
    free(sample);
    tokenizer_free(&t);
    return 0;
}
