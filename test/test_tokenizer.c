// test_tokenizer.c: tokenizer.c against tiktoken, exactly.
//
//   make test-tokenizer     (or: build/test_tokenizer [data/gpt2_tokenizer.bin [test/fixtures/tokenizer_cases.txt
//                            [test/fixtures/tokenizer_ordinary_cases.txt]]])
//
// 1. every case of test/fixtures/tokenizer_cases.txt (written by test/tokenizer_fixtures.mjs with npm
//    tiktoken) must give exactly tiktoken's ids, and every case of tokenizer_ordinary_cases.txt
//    those of tiktoken's encode_ordinary through tokenizer_encode_ordinary;
// 2. decode(encode(x)) == x for thousands of random byte strings, invalid UTF-8 included;
// 3. a 1,000,000-byte word encodes (timed, to show BPE is not quadratic; no time limit asserted);
// 4. broken tokenizer files are each refused with their own message naming the file.
// Exits non-zero on any failure.
#define _POSIX_C_SOURCE 200809L // mkdtemp, and util.h's clock_gettime
#include "../gpt2.h"
#include "../util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    int passed, failed;
} Tally;

static void check(Tally *tally, int ok, const char *what) {
    if (ok) {
        tally->passed++;
    } else {
        tally->failed++;
        printf("FAIL: %s\n", what);
    }
}

// Print up to max bytes of s with C escapes, so a failing case can be read and pasted back.
static void print_escaped(const unsigned char *s, size_t n, size_t max) {
    putchar('"');
    for (size_t i = 0; i < n && i < max; i++) {
        if (s[i] == '"' || s[i] == '\\') printf("\\%c", s[i]);
        else if (s[i] >= 0x20 && s[i] < 0x7f) putchar(s[i]);
        else printf("\\x%02x", s[i]);
    }
    printf(n > max ? "\"... (%zu bytes)" : "\"", n);
}

static void print_ids(const char *label, const int *ids, size_t n) {
    printf("  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 64; i++) printf(" %d", ids[i]);
    printf(n > 64 ? " ...\n" : "\n");
}

// ----------------------------------------------------------------------------------------------
// 1. Fixture cases. Line format: hex of the text ("-" when empty), then the ids, space separated.

static int hex_value(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Parse one line in place: the text into text (n bytes), the ids into ids. Returns 0 or -1.
static int parse_case(char *line, unsigned char *text, size_t *n, int *ids, size_t *n_ids) {
    char *p = line;
    *n = 0;
    if (*p == '-') {
        p++;
    } else {
        for (; hex_value(p[0]) >= 0 && hex_value(p[1]) >= 0; p += 2) text[(*n)++] = (unsigned char)(hex_value(p[0]) * 16 + hex_value(p[1]));
    }
    *n_ids = 0;
    while (*p == ' ') {
        char *end;
        long id = strtol(p + 1, &end, 10);
        if (end == p + 1) return -1;
        ids[(*n_ids)++] = (int)id;
        p = end;
    }
    return *p == '\n' || *p == '\0' ? 0 : -1;
}

static char *read_text_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *size = 0;
    for (;;) {
        if (*size + 65536 + 1 > cap) {
            cap = 2 * cap + 65536 + 1;
            char *grown = realloc(buf, cap);
            if (!grown) break;
            buf = grown;
        }
        size_t got = fread(buf + *size, 1, cap - *size - 1, f);
        *size += got;
        if (got == 0) break;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[*size] = '\0';
    return buf;
}

typedef int (*EncodeFn)(const Tokenizer *t, const char *text, size_t n, int **ids, size_t *n_ids);

// Every case of path through encode (tokenizer_encode, or tokenizer_encode_ordinary); at least min_cases.
static void test_fixtures(Tally *tally, const Tokenizer *t, const char *path, EncodeFn encode, int min_cases) {
    size_t size;
    char *file = read_text_file(path, &size);
    if (!file) {
        printf("FAIL: cannot read %s\n", path);
        tally->failed++;
        return;
    }
    // A line's text and ids are each shorter than the line itself.
    unsigned char *text = malloc(size + 1);
    int *ids = malloc((size + 1) * sizeof(int));
    int cases = 0, mismatches = 0, line_no = 0;
    for (char *line = file; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        line_no++;
        if (*line == '#' || *line == '\n') continue;
        size_t n, n_ids, n_got;
        if (parse_case(line, text, &n, ids, &n_ids) != 0) {
            printf("FAIL: %s:%d: cannot parse the line\n", path, line_no);
            mismatches++;
            continue;
        }
        cases++;
        int *got;
        if (encode(t, (const char *)text, n, &got, &n_got) != 0) {
            printf("FAIL: %s:%d: tokenizer_encode failed (out of memory)\n", path, line_no);
            mismatches++;
            continue;
        }
        if (n_got != n_ids || memcmp(got, ids, n_ids * sizeof(int)) != 0) {
            if (mismatches == 0) {
                printf("FAIL: fixture case %d (%s:%d): ", cases - 1, path, line_no);
                print_escaped(text, n, 300);
                printf("\n");
                print_ids("expected", ids, n_ids);
                print_ids("got     ", got, n_got);
            }
            mismatches++;
        }
        free(got);
    }
    printf("fixtures: %d cases from %s, %d mismatches\n", cases, path, mismatches);
    check(tally, cases >= min_cases, "enough fixture cases");
    check(tally, mismatches == 0, "every fixture case equals tiktoken");
    free(text);
    free(ids);
    free(file);
}

// ----------------------------------------------------------------------------------------------
// 2. Round trip on random byte strings from util.h's splitmix64, its state in a local variable.

static size_t put_utf8(unsigned char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { out[0] = (unsigned char)(0xC0 | cp >> 6); out[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

// Append one random element to out (room for 64 bytes): a random byte, a code point from an
// interesting range (surrogates included, which makes invalid UTF-8), a run, or a fragment of eot.
static size_t random_element(unsigned char *out, uint64_t *rng) {
    static const uint32_t ranges[][2] = {
        {0x00, 0x7F}, {0x61, 0x7A}, {0x30, 0x39}, {0x80, 0x7FF}, {0x300, 0x36F}, {0x900, 0x97F},
        {0x2000, 0x206F}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0xD800, 0xDFFF}, {0xFFF0, 0xFFFF},
        {0x1F300, 0x1FAFF}, {0x10D40, 0x10D8F}, {0x10000, 0x10FFFF}, {0x110000, 0x1FFFFF},
    };
    static const char *fragments[] = {"<|endoftext|>", "<|endoftext", "|>", "'s", "'ll", " ", "  ", "\r\n", "\t",
                                      "\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\x8d", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd"};
    uint64_t r = splitmix64(rng);
    switch (r % 8) {
    case 0: out[0] = (unsigned char)(r >> 8); return 1;
    case 1: case 2: case 3: {
        const uint32_t *range = ranges[(r >> 8) % (sizeof(ranges) / sizeof(ranges[0]))];
        uint32_t cp = range[0] + (uint32_t)((r >> 16) % (range[1] - range[0] + 1));
        return put_utf8(out, cp);
    }
    case 4: {
        size_t k = 1 + (r >> 8) % 40;
        memset(out, "a 1!\n\x80\xff'"[(r >> 16) % 8], k);
        return k;
    }
    default: {
        const char *f = fragments[(r >> 8) % (sizeof(fragments) / sizeof(fragments[0]))];
        memcpy(out, f, strlen(f));
        return strlen(f);
    }
    }
}

// decode(encode(s)) == s and every id in range. Returns 1 when it holds.
static int round_trips(const Tokenizer *t, const unsigned char *s, size_t n) {
    int *ids;
    size_t n_ids, pos = 0;
    if (tokenizer_encode(t, (const char *)s, n, &ids, &n_ids) != 0) return 0;
    int ok = 1;
    for (size_t i = 0; i < n_ids && ok; i++) {
        size_t len;
        const unsigned char *b = tokenizer_decode(t, ids[i], &len);
        ok = b != NULL && pos + len <= n && memcmp(s + pos, b, len) == 0;
        pos += len;
    }
    free(ids);
    return ok && pos == n;
}

static void test_round_trip(Tally *tally, const Tokenizer *t) {
    enum { CASES = 5000, MAX_ELEMENTS = 300 };
    unsigned char *s = malloc(MAX_ELEMENTS * 64);
    uint64_t rng = 42;
    int failures = 0;
    for (int c = 0; c < CASES; c++) {
        size_t n = 0, elements = splitmix64(&rng) % (c % 100 == 0 ? MAX_ELEMENTS : 30);
        if (c % 3 == 0) { // pure random bytes, the worst kind of invalid UTF-8
            for (n = 0; n < elements * 4; n++) s[n] = (unsigned char)splitmix64(&rng);
        } else {
            for (size_t e = 0; e < elements; e++) n += random_element(s + n, &rng);
        }
        if (!round_trips(t, s, n)) {
            if (failures == 0) {
                printf("FAIL: round trip case %d: ", c);
                print_escaped(s, n, 300);
                printf("\n");
            }
            failures++;
        }
    }
    // Every single byte value alone, and all 256 in a row.
    for (int b = 0; b < 256; b++) {
        s[b] = (unsigned char)b;
        if (!round_trips(t, s + b, 1)) failures++;
    }
    if (!round_trips(t, s, 256)) failures++;
    printf("round trip: %d random byte strings, %d failures\n", CASES + 257, failures);
    check(tally, failures == 0, "decode(encode(x)) == x on random byte strings");
    free(s);
}

// ----------------------------------------------------------------------------------------------
// 3. One long word: a single piece of 1,000,000 bytes goes through BPE in one go.

static void time_long_word(Tally *tally, const Tokenizer *t, const char *what, const unsigned char *s, size_t n) {
    int *ids;
    size_t n_ids;
    double t0 = now_seconds();
    int rc = tokenizer_encode(t, (const char *)s, n, &ids, &n_ids);
    double dt = now_seconds() - t0;
    if (rc != 0) {
        check(tally, 0, "encode a 1,000,000-byte word");
        return;
    }
    printf("long word: %s, %zu bytes -> %zu ids in %.3f s\n", what, n, n_ids, dt);
    free(ids);
    check(tally, round_trips(t, s, n), "a 1,000,000-byte word round-trips");
}

// tokenizer_stream gives back exactly the text's bytes, and for valid UTF-8 only whole characters at
// every step; stray bytes (never valid) pass through at once.
static void test_stream(Tally *tally, const Tokenizer *t) {
    const char *texts[] = {"日本語のテキスト、絵文字 🎉🙂 と naïve café", "emoji 👍🏽👨‍👩‍👧 ok", "bytes \xff\xfe\xe6\x97 cut"};
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        int *ids;
        size_t n_ids, n = strlen(texts[k]), at = 0;
        if (tokenizer_encode(t, texts[k], n, &ids, &n_ids) != 0) {
            check(tally, 0, "encode for the stream");
            return;
        }
        unsigned char *back = malloc(n + TOKENIZER_STREAM_MAX), chunk[TOKENIZER_STREAM_MAX];
        TokenizerStream s = {0};
        int whole = 1;
        for (size_t i = 0; i <= n_ids; i++) {
            size_t len = i < n_ids ? tokenizer_stream(t, &s, ids[i], chunk) : tokenizer_stream_end(&s, chunk);
            for (size_t j = 0; k < 2 && j < len; j++) { // valid text: every chunk ends on a character
                uint32_t cp;
                int u = chunk[j] < 0x80 ? 1 : utf8_decode(chunk + j, len - j, &cp);
                if (u == 0) whole = 0;
                j += u ? (size_t)u - 1 : 0;
            }
            memcpy(back + at, chunk, len);
            at += len;
        }
        check(tally, at == n && memcmp(back, texts[k], n) == 0, "tokenizer_stream returns the text's bytes");
        check(tally, whole, "tokenizer_stream returns whole characters of valid UTF-8");
        free(back);
        free(ids);
    }
}

static void test_long_words(Tally *tally, const Tokenizer *t) {
    size_t n = 1000000;
    unsigned char *s = malloc(n);
    memset(s, 'a', n);
    time_long_word(tally, t, "'a' x 1e6", s, n);
    uint64_t rng = 7;
    for (size_t i = 0; i < n; i++) s[i] = (unsigned char)('a' + splitmix64(&rng) % 26);
    time_long_word(tally, t, "random letters", s, n);
    free(s);
}

// ----------------------------------------------------------------------------------------------
// 4. Broken files. A small valid file: V = 257, the 256 single bytes then "<|endoftext|>" (eot).

enum { HEADER_BYTES = 1024 };                         // uint32 header[256]
enum { H_MAGIC, H_VERSION, H_V, H_EOT };              // its words
enum { VERSION = 2, SMALL_V = 257, SMALL_EOT = 256 }; // the small file's

static void set_u32(unsigned char *p, uint32_t v) {
    for (int b = 0; b < 4; b++) p[b] = (unsigned char)(v >> (8 * b));
}

static size_t valid_file(unsigned char *buf) {
    memset(buf, 0, HEADER_BYTES);
    set_u32(buf + 4 * H_MAGIC, TOKENIZER_MAGIC);
    set_u32(buf + 4 * H_VERSION, VERSION);
    set_u32(buf + 4 * H_V, SMALL_V);
    set_u32(buf + 4 * H_EOT, SMALL_EOT);
    size_t n = HEADER_BYTES;
    for (int b = 0; b < 256; b++) {
        buf[n++] = 1;
        buf[n++] = (unsigned char)b;
    }
    buf[n++] = 13;
    memcpy(buf + n, "<|endoftext|>", 13);
    return n + 13;
}

static int write_file(const char *path, const unsigned char *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t wrote = fwrite(buf, 1, n, f);
    return fclose(f) == 0 && wrote == n ? 0 : -1;
}

// Build from path; it must fail with a message containing both the path and want.
static void expect_refused(Tally *tally, const char *path, const char *want) {
    Tokenizer t;
    char err[GPT2_ERR_LEN] = "";
    int rc = tokenizer_build(&t, path, err);
    int ok = rc != 0 && strstr(err, path) && strstr(err, want) && strchr(err, '\n') == NULL;
    printf("  %-28s -> %s\n", want, err);
    if (rc == 0) tokenizer_free(&t);
    char what[GPT2_ERR_LEN + 64];
    snprintf(what, sizeof(what), "refuse a file with '%s'", want);
    check(tally, ok, what);
}

// Write buf[0..n) to dir/name, then expect it refused with want.
static void expect_file_refused(Tally *tally, const char *dir, const char *name, const unsigned char *buf, size_t n,
                                const char *want) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (write_file(path, buf, n) != 0) {
        check(tally, 0, "write a test file");
        return;
    }
    expect_refused(tally, path, want);
    unlink(path);
}

#ifdef _WIN32
#include <direct.h>
static char *mkdtemp(char *name) { return _mktemp(name) && _mkdir(name) == 0 ? name : NULL; }
#endif

static void test_bad_files(Tally *tally) {
    char dir[] = "build/test_tokenizer_XXXXXX"; // make test runs in the checkout, where build/ exists
    if (!mkdtemp(dir)) {
        check(tally, 0, "make a temporary directory");
        return;
    }
    printf("bad files (in %s):\n", dir);
    unsigned char *buf = malloc(4096), *bad = malloc(4096);
    size_t n = valid_file(buf);
    char path[1024];

    // The valid file itself loads and works: "ab" is the two byte tokens, eot is split out.
    snprintf(path, sizeof(path), "%s/ok.bin", dir);
    Tokenizer t;
    char err[GPT2_ERR_LEN] = "";
    int rc = write_file(path, buf, n) == 0 ? tokenizer_build(&t, path, err) : -1;
    if (rc != 0) printf("  valid file refused: %s\n", err);
    check(tally, rc == 0, "load a small valid tokenizer file");
    if (rc == 0) {
        int *ids;
        size_t n_ids;
        rc = tokenizer_encode(&t, "ab<|endoftext|>", 15, &ids, &n_ids);
        check(tally, rc == 0 && n_ids == 3 && ids[0] == 'a' && ids[1] == 'b' && ids[2] == 256, "encode with a small file");
        if (rc == 0) free(ids);
        tokenizer_free(&t);
    }
    unlink(path);

    snprintf(path, sizeof(path), "%s/missing.bin", dir);
    expect_refused(tally, path, "cannot open");
    expect_refused(tally, dir, "not a regular file");
    expect_file_refused(tally, dir, "empty.bin", buf, 0, "empty file");
    expect_file_refused(tally, dir, "short_header.bin", buf, 100, "truncated header");
    expect_file_refused(tally, dir, "no_tokens.bin", buf, HEADER_BYTES, "truncated at token 0");
    expect_file_refused(tally, dir, "cut_token.bin", buf, n - 5, "truncated at token 256");
    expect_file_refused(tally, dir, "cut_length.bin", buf, HEADER_BYTES + 2 * 100, "truncated at token 100");
    struct {
        const char *name;
        int field;     // header word to change
        uint32_t value;
        const char *want;
    } header_cases[] = {
        {.name = "magic.bin", .field = H_MAGIC, .value = GPT2_MAGIC, .want = "bad magic"}, // a checkpoint's
        {.name = "version.bin", .field = H_VERSION, .value = 3, .want = "unsupported version 3"},
        {.name = "v0.bin", .field = H_V, .value = 0, .want = "bad vocabulary size 0"},
        {.name = "v_small.bin", .field = H_V, .value = 100, .want = "bad vocabulary size 100"},
        {.name = "v_huge.bin", .field = H_V, .value = 0xFFFFFFFFu, .want = "bad vocabulary size 4294967295"},
        {.name = "v_more.bin", .field = H_V, .value = 300, .want = "truncated at token 257"},
        {.name = "v_less.bin", .field = H_V, .value = 256, .want = "trailing bytes"},
        {.name = "eot.bin", .field = H_EOT, .value = 257, .want = "eot id 257 out of range"},
        {.name = "eot_huge.bin", .field = H_EOT, .value = 0x80000000u, .want = "eot id 2147483648 out of range"},
    };
    for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
        memcpy(bad, buf, n);
        set_u32(bad + 4 * header_cases[i].field, header_cases[i].value);
        if (header_cases[i].field == H_V && header_cases[i].value == 256) set_u32(bad + 4 * H_EOT, 0); // keep eot < V
        expect_file_refused(tally, dir, header_cases[i].name, bad, n, header_cases[i].want);
    }
    memcpy(bad, buf, n);
    bad[HEADER_BYTES + 2 * 7] = 0; // token 7 has length 0: the rest of the file is then misread, but 7 is found first
    expect_file_refused(tally, dir, "zero_len.bin", bad, n, "token 7 has length 0");
    memcpy(bad, buf, n);
    bad[n] = 'x';
    expect_file_refused(tally, dir, "trailing.bin", bad, n + 1, "1 trailing bytes");
    memcpy(bad, buf, n);
    set_u32(bad + 12, 9); // eot = the token of byte 0x09, which is then missing from BPE's alphabet
    expect_file_refused(tally, dir, "eot_byte.bin", bad, n, "no token for the single byte 0x09");
    memcpy(bad, buf, n);
    bad[HEADER_BYTES + 2 * 9 + 1] = 'A'; // token 9 is now "A" like token 65, and byte 0x09 has no token
    expect_file_refused(tally, dir, "dup.bin", bad, n, "token 65 repeats the bytes of token 9");
    free(buf);
    free(bad);
    rmdir(dir);
}

// ----------------------------------------------------------------------------------------------

int main(int argc, char **argv) {
    const char *tok_path = argc > 1 ? argv[1] : "data/gpt2_tokenizer.bin";
    const char *cases_path = argc > 2 ? argv[2] : "test/fixtures/tokenizer_cases.txt";
    const char *ordinary_path = argc > 3 ? argv[3] : "test/fixtures/tokenizer_ordinary_cases.txt";
    Tally tally = {0};
    Tokenizer t;
    char err[GPT2_ERR_LEN];
    if (tokenizer_build(&t, tok_path, err) != 0) {
        printf("FAIL: %s\n0 passed, 1 failed\n", err);
        return 1;
    }
    check(&tally, t.V == 50257 && t.eot == 50256, "GPT-2's V = 50257 and eot = 50256");
    size_t len;
    check(&tally, tokenizer_decode(&t, -1, &len) == NULL && tokenizer_decode(&t, t.V, &len) == NULL,
          "decode refuses ids outside 0..V-1");
    test_fixtures(&tally, &t, cases_path, tokenizer_encode, 500);
    test_fixtures(&tally, &t, ordinary_path, tokenizer_encode_ordinary, 30); // "<|endoftext|>" as text
    test_round_trip(&tally, &t);
    test_long_words(&tally, &t);
    test_stream(&tally, &t);
    test_bad_files(&tally);
    tokenizer_free(&t);
    printf("tokenizer: %d passed, %d failed\n", tally.passed, tally.failed);
    return tally.failed ? 1 : 0;
}
