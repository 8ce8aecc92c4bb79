// tokenizer.c: GPT-2's byte-level BPE, identical to tiktoken's "gpt2" encoding.
//
// encode(text) runs three stages, each a few functions below:
//   1. special tokens: "<|endoftext|>" is split out first and becomes the eot id, as tiktoken does
//      with allowed_special={"<|endoftext|>"}; the text between is encoded segment by segment.
//      (tokenizer_encode_ordinary skips this stage: the whole text is one segment, as in tiktoken's
//      encode_ordinary, so that a text cannot inject the special token.)
//   2. pre-tokenization: each segment is cut into pieces by GPT-2's pattern
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      implemented by hand (next_piece) with the meaning the Rust regex engine gives it: alternatives
//      tried in order at each position, the first that matches wins, quantifiers are greedy.
//      \p{L}, \p{N} and \s come from unicode_tables.h (Unicode 16.0, tiktoken's version).
//   3. BPE: a piece that is a token is that token; otherwise start from single bytes and repeatedly
//      merge the adjacent pair whose concatenation is the token of lowest id (ids are BPE ranks:
//      id 256+i is merge i of vocab.bpe), leftmost first among equals. A heap of candidate pairs
//      makes this O(n log n) in the piece length, where tiktoken's rescan is O(n^2).
//
// Bytes that are not valid UTF-8 (a C caller may pass any bytes; tiktoken only ever sees str) are
// read one at a time, each as a character of class "other" ([^\s\p{L}\p{N}]). Pieces always cover
// the input exactly and every single byte is a token, so decode(encode(x)) == x for every x.
#define _POSIX_C_SOURCE 200809L // fileno, fstat
#include "gpt2.h"
#include "unicode_tables.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TOKENIZER_VERSION 2
#define TOKENIZER_HEADER_BYTES (256 * 4)
#define TOKENIZER_MAX_V (1 << 22) // GPT-2 has 50257; far above any real BPE vocabulary
#define EOT_TEXT "<|endoftext|>"
#define EOT_LEN (sizeof(EOT_TEXT) - 1)

// ----------------------------------------------------------------------------------------------
// Byte string -> id: open addressing with linear probing, built once at load time. Each slot keeps
// the full hash next to the id so that a probe only touches the token bytes when the hashes agree.

typedef struct {
    int32_t id;    // -1: empty
    uint32_t hash;
} IndexSlot;

struct TokenizerIndex {
    IndexSlot *slots; // (mask + 1), a power of two at least twice the number of tokens
    uint32_t mask;
    int max_len;      // longest token in bytes: longer strings are never looked up
    int byte_id[256]; // id of each single byte (not in byte order in GPT-2's vocabulary)
};

// FNV-1a: short keys (pieces are a few bytes on average), no alignment needs, good enough spread.
static uint32_t hash_bytes(const unsigned char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

static const unsigned char *token_bytes(const Tokenizer *t, int id, size_t *len) {
    *len = t->offset[id + 1] - t->offset[id];
    return t->bytes + t->offset[id];
}

// The id of the token with exactly these bytes, or -1.
static int index_find(const Tokenizer *t, const unsigned char *s, size_t n) {
    const TokenizerIndex *ix = t->index;
    if (n == 1) return ix->byte_id[s[0]];
    if (n > (size_t)ix->max_len) return -1;
    uint32_t h = hash_bytes(s, n);
    for (uint32_t i = h & ix->mask;; i = (i + 1) & ix->mask) {
        const IndexSlot *slot = &ix->slots[i];
        if (slot->id < 0) return -1;
        size_t len;
        const unsigned char *tok = token_bytes(t, slot->id, &len);
        if (slot->hash == h && len == n && memcmp(tok, s, n) == 0) return slot->id;
    }
}

// Insert every token except eot (tiktoken keeps special tokens out of the BPE table too).
// Returns -1, or the id of a token whose bytes repeat those of token *first (the file is then unusable).
static int index_insert_all(Tokenizer *t, int *first) {
    TokenizerIndex *ix = t->index;
    for (int b = 0; b < 256; b++) ix->byte_id[b] = -1;
    for (int id = 0; id < t->V; id++) {
        if (id == t->eot) continue;
        size_t n;
        const unsigned char *s = token_bytes(t, id, &n);
        if ((int)n > ix->max_len) ix->max_len = (int)n;
        uint32_t h = hash_bytes(s, n);
        uint32_t i = h & ix->mask;
        for (; ix->slots[i].id >= 0; i = (i + 1) & ix->mask) {
            size_t len;
            const unsigned char *other = token_bytes(t, ix->slots[i].id, &len);
            if (ix->slots[i].hash == h && len == n && memcmp(other, s, n) == 0) {
                *first = ix->slots[i].id;
                return id;
            }
        }
        ix->slots[i] = (IndexSlot){.id = id, .hash = h};
        if (n == 1) ix->byte_id[s[0]] = id;
    }
    return -1;
}

// ----------------------------------------------------------------------------------------------
// Loading. The whole file (370 KB for GPT-2) is read into one buffer, then every field is checked
// against the bytes actually present before it is used.

static uint32_t read_u32le(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// Read a regular file into a malloc'd buffer. Returns 0, or -1 with err set.
static int read_file(const char *path, unsigned char **buf, size_t *size, char *err) {
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) // before fopen, which Windows refuses for a directory
        return fail(err, "tokenizer_build: %s: not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, "tokenizer_build: %s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fail(err, "tokenizer_build: %s: not a regular file", path);
    }
    *size = (size_t)st.st_size;
    *buf = malloc(*size ? *size : 1);
    if (!*buf) {
        fclose(f);
        return fail(err, "tokenizer_build: %s: out of memory for %zu bytes", path, *size);
    }
    size_t got = fread(*buf, 1, *size, f);
    int failed = ferror(f);
    fclose(f);
    if (got != *size || failed) {
        free(*buf);
        *buf = NULL;
        return fail(err, "tokenizer_build: %s: read %zu of %zu bytes", path, got, *size);
    }
    return 0;
}

// Check the header (magic, version, V, eot). Returns 0, or -1 with err set.
static int parse_header(Tokenizer *t, const char *path, const unsigned char *buf, size_t size, char *err) {
    if (size == 0) return fail(err, "tokenizer_build: %s: empty file", path);
    if (size < TOKENIZER_HEADER_BYTES)
        return fail(err, "tokenizer_build: %s: truncated header: %zu of %d bytes", path, size, TOKENIZER_HEADER_BYTES);
    uint32_t magic = read_u32le(buf), version = read_u32le(buf + 4);
    uint32_t V = read_u32le(buf + 8), eot = read_u32le(buf + 12);
    if (magic != TOKENIZER_MAGIC)
        return fail(err, "tokenizer_build: %s: bad magic %u (expected %d): not a tokenizer file", path, magic,
                    TOKENIZER_MAGIC);
    if (version != TOKENIZER_VERSION)
        return fail(err, "tokenizer_build: %s: unsupported version %u (expected %d)", path, version,
                    TOKENIZER_VERSION);
    // 256: every single byte must be a token, or some texts could not be encoded at all.
    if (V < 256 || V > TOKENIZER_MAX_V)
        return fail(err, "tokenizer_build: %s: bad vocabulary size %u (expected 256..%d)", path, V, TOKENIZER_MAX_V);
    if (eot >= V) return fail(err, "tokenizer_build: %s: eot id %u out of range 0..%u", path, eot, V - 1);
    t->V = (int)V;
    t->eot = (int)eot;
    return 0;
}

// Walk the tokens after the header, filling t->offset and t->bytes. Returns 0, or -1 with err set.
static int parse_tokens(Tokenizer *t, const char *path, const unsigned char *buf, size_t size, char *err) {
    size_t pos = TOKENIZER_HEADER_BYTES, total = 0;
    for (int id = 0; id < t->V; id++) {
        if (pos >= size || size - pos - 1 < buf[pos])
            return fail(err, "tokenizer_build: %s: truncated at token %d of %d", path, id, t->V);
        if (buf[pos] == 0) return fail(err, "tokenizer_build: %s: token %d has length 0", path, id);
        t->offset[id] = (uint32_t)total;
        memcpy(t->bytes + total, buf + pos + 1, buf[pos]);
        total += buf[pos];
        pos += 1 + (size_t)buf[pos];
    }
    t->offset[t->V] = (uint32_t)total;
    if (pos != size) return fail(err, "tokenizer_build: %s: %zu trailing bytes after the last token", path, size - pos);
    return 0;
}

// The checks that need the whole vocabulary: what BPE relies on. Returns 0, or -1 with err set.
static int check_vocabulary(Tokenizer *t, const char *path, char *err) {
    int first, dup = index_insert_all(t, &first);
    if (dup >= 0) return fail(err, "tokenizer_build: %s: token %d repeats the bytes of token %d", path, dup, first);
    for (int b = 0; b < 256; b++)
        if (t->index->byte_id[b] < 0)
            return fail(err, "tokenizer_build: %s: no token for the single byte 0x%02x", path, b);
    // encode turns the text "<|endoftext|>" into eot: any other bytes would not decode back to the text.
    size_t n;
    const unsigned char *s = token_bytes(t, t->eot, &n);
    if (n != EOT_LEN || memcmp(s, EOT_TEXT, EOT_LEN) != 0)
        return fail(err, "tokenizer_build: %s: eot token %d is not \"" EOT_TEXT "\"", path, t->eot);
    return 0;
}

int tokenizer_build(Tokenizer *t, const char *path, char *err) {
    memset(t, 0, sizeof(*t));
    unsigned char *buf = NULL;
    size_t size = 0;
    if (read_file(path, &buf, &size, err) != 0) return -1;
    if (parse_header(t, path, buf, size, err) != 0) goto fail;
    // Token bytes are at most the file size, so offsets fit in uint32_t for any file under 4 GB.
    if (size > UINT32_MAX) {
        fail(err, "tokenizer_build: %s: file of %zu bytes is too large", path, size);
        goto fail;
    }
    uint32_t cap = 1;
    while (cap < 2u * (uint32_t)t->V) cap <<= 1;
    t->bytes = malloc(size);
    t->offset = malloc(((size_t)t->V + 1) * sizeof(uint32_t));
    t->index = calloc(1, sizeof(TokenizerIndex));
    if (t->index) t->index->slots = malloc(cap * sizeof(IndexSlot));
    if (!t->bytes || !t->offset || !t->index || !t->index->slots) {
        fail(err, "tokenizer_build: %s: out of memory", path);
        goto fail;
    }
    t->index->mask = cap - 1;
    for (uint32_t i = 0; i < cap; i++) t->index->slots[i].id = -1;
    if (parse_tokens(t, path, buf, size, err) != 0) goto fail;
    if (check_vocabulary(t, path, err) != 0) goto fail;
    free(buf);
    return 0;
fail:
    free(buf);
    tokenizer_free(t);
    return -1;
}

void tokenizer_free(Tokenizer *t) {
    if (t->index) free(t->index->slots);
    free(t->index);
    free(t->bytes);
    free(t->offset);
    memset(t, 0, sizeof(*t));
}

const unsigned char *tokenizer_decode(const Tokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->V) { // the caller's bug, but never read outside the table for it
        *len = 0;
        return NULL;
    }
    return token_bytes(t, id, len);
}

// 1 when s (n bytes) is the beginning, but not all, of a valid UTF-8 sequence.
static int unfinished_utf8(const unsigned char *s, size_t n) {
    if (n >= (size_t)utf8_length(s[0])) return 0; // complete, or no start of a sequence
    if (n >= 2 && !utf8_second(s[0], s[1])) return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return 1;
}

size_t tokenizer_stream(const Tokenizer *t, TokenizerStream *s, int id, unsigned char *out) {
    size_t len, n = (size_t)s->n_held;
    const unsigned char *b = tokenizer_decode(t, id, &len);
    memcpy(out, s->held, n);
    if (b) {
        memcpy(out + n, b, len);
        n += len;
    }
    // hold back the last character when it is unfinished: it starts in the last 3 bytes
    s->n_held = 0;
    size_t k = 1;
    while (k < 3 && k < n && (out[n - k] & 0xc0) == 0x80) k++; // back to the last non-continuation byte
    if (k <= n && unfinished_utf8(out + n - k, k)) {
        memcpy(s->held, out + n - k, k);
        s->n_held = (int)k;
        n -= k;
    }
    return n;
}

size_t tokenizer_stream_end(TokenizerStream *s, unsigned char *out) {
    size_t n = (size_t)s->n_held;
    memcpy(out, s->held, n);
    s->n_held = 0;
    return n;
}

// ----------------------------------------------------------------------------------------------
// Characters: strict UTF-8 decoding (util.h's utf8_decode: Unicode's table 3-7, no overlong forms,
// no surrogates, nothing above U+10FFFF) and the class of the code point. An invalid byte is a
// one-byte "other" character.

typedef struct {
    int len; // bytes, 1..4
    int cls; // UC_OTHER, UC_LETTER, UC_NUMBER, UC_SPACE
} Char;

static int class_of(uint32_t cp) {
    size_t lo = 0, hi = sizeof(unicode_ranges) / sizeof(unicode_ranges[0]);
    while (lo < hi) { // first range with hi >= cp
        size_t mid = lo + (hi - lo) / 2;
        if (unicode_ranges[mid].hi < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < sizeof(unicode_ranges) / sizeof(unicode_ranges[0]) && unicode_ranges[lo].lo <= cp
               ? unicode_ranges[lo].cls
               : UC_OTHER;
}

// The character at s[0..n), n >= 1.
static Char char_at(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) { // ASCII: most text, so no table search
        int cls = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? UC_LETTER
                  : c >= '0' && c <= '9'                          ? UC_NUMBER
                  : c == ' ' || (c >= '\t' && c <= '\r')          ? UC_SPACE
                                                                  : UC_OTHER;
        return (Char){.len = 1, .cls = cls};
    }
    uint32_t cp;
    int len = utf8_decode(s, n, &cp);
    if (len == 0) return (Char){.len = 1, .cls = UC_OTHER};
    return (Char){.len = len, .cls = class_of(cp)};
}

// ----------------------------------------------------------------------------------------------
// Pre-tokenization: where the piece starting at s[i] ends, within the segment s[0..n).

// End of the run of characters of class cls starting at s[i].
static size_t run_end(const unsigned char *s, size_t n, size_t i, int cls) {
    while (i < n) {
        Char c = char_at(s + i, n - i);
        if (c.cls != cls) break;
        i += (size_t)c.len;
    }
    return i;
}

// 's|'t|'re|'ve|'m|'ll|'d: case-sensitive, ASCII apostrophe only (no (?i) in GPT-2's pattern).
static size_t contraction_len(const unsigned char *s, size_t n) {
    if (n < 2 || s[0] != '\'') return 0;
    if (s[1] == 's' || s[1] == 't' || s[1] == 'm' || s[1] == 'd') return 2;
    if (n >= 3 && ((s[1] == 'r' && s[2] == 'e') || (s[1] == 'v' && s[2] == 'e') || (s[1] == 'l' && s[2] == 'l')))
        return 3;
    return 0;
}

static size_t next_piece(const unsigned char *s, size_t n, size_t i) {
    size_t k = contraction_len(s + i, n - i);
    if (k) return i + k;
    Char c = char_at(s + i, n - i);
    // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': an ASCII space joins the run of the next character
    // when that one is not white space; the run is of that character's class.
    if (s[i] == ' ' && i + 1 < n) {
        Char d = char_at(s + i + 1, n - i - 1);
        if (d.cls != UC_SPACE) return run_end(s, n, i + 1 + (size_t)d.len, d.cls);
    }
    if (c.cls != UC_SPACE) return run_end(s, n, i + (size_t)c.len, c.cls);
    // '\s+(?!\S)|\s+': take the whole run of white space if it reaches the end of the segment.
    // Otherwise a non-space follows: \s+(?!\S) backtracks by one character, leaving the last white
    // space character to start the next piece (so " word" keeps its space); if the run is a single
    // character that leaves nothing, and \s+ takes it alone.
    size_t last = i, j = i + (size_t)c.len;
    while (j < n) {
        Char d = char_at(s + j, n - j);
        if (d.cls != UC_SPACE) break;
        last = j;
        j += (size_t)d.len;
    }
    if (j == n || last == i) return j;
    return last;
}

// ----------------------------------------------------------------------------------------------
// BPE of one piece p[0..n). Parts are identified by their start offset k: end[k] is where part k
// ends (0 once it has been merged into the part on its left), prev[k] the start of the part before.
// The heap holds candidate merges (rank, k, e): part k with the part after it, ending at e. Merging
// changes two neighbouring pairs, so stale entries are skipped when popped instead of removed.

typedef struct {
    int rank;
    size_t k, e;
} Merge;

typedef struct {
    size_t *end;  // (n + 1)
    size_t *prev; // (n + 1)
    Merge *heap;  // (3n): n - 1 initial pairs, at most 2 new ones per merge
    size_t cap;   // pieces up to this many bytes fit
} BpeScratch;

typedef struct {
    int *ids;
    size_t n, cap;
} IdList;

static int ids_push(IdList *out, int id) {
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 256;
        int *ids = realloc(out->ids, cap * sizeof(int));
        if (!ids) return -1;
        out->ids = ids;
        out->cap = cap;
    }
    out->ids[out->n++] = id;
    return 0;
}

static int scratch_reserve(BpeScratch *sc, size_t n) {
    if (n <= sc->cap) return 0;
    size_t cap = n > 2 * sc->cap ? n : 2 * sc->cap;
    size_t *end = realloc(sc->end, (cap + 1) * sizeof(size_t));
    if (end) sc->end = end;
    size_t *prev = realloc(sc->prev, (cap + 1) * sizeof(size_t));
    if (prev) sc->prev = prev;
    Merge *heap = realloc(sc->heap, 3 * cap * sizeof(Merge));
    if (heap) sc->heap = heap;
    if (!end || !prev || !heap) return -1;
    sc->cap = cap;
    return 0;
}

// Lower rank first; among equal ranks the leftmost pair, as tiktoken's scan picks it.
static int merge_before(Merge a, Merge b) { return a.rank < b.rank || (a.rank == b.rank && a.k < b.k); }

static void heap_push(Merge *heap, size_t *len, Merge m) {
    size_t i = (*len)++;
    while (i > 0 && merge_before(m, heap[(i - 1) / 2])) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = m;
}

static Merge heap_pop(Merge *heap, size_t *len) {
    Merge top = heap[0], last = heap[--*len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *len) break;
        if (c + 1 < *len && merge_before(heap[c + 1], heap[c])) c++;
        if (!merge_before(heap[c], last)) break;
        heap[i] = heap[c];
        i = c;
    }
    if (*len > 0) heap[i] = last;
    return top;
}

// Push the merge of p[k..e) if it is a token.
static void push_candidate(const Tokenizer *t, const unsigned char *p, Merge *heap, size_t *len, size_t k,
                           size_t e) {
    int rank = index_find(t, p + k, e - k);
    if (rank >= 0) heap_push(heap, len, (Merge){.rank = rank, .k = k, .e = e});
}

static int bpe(const Tokenizer *t, const unsigned char *p, size_t n, BpeScratch *sc, IdList *out) {
    if (scratch_reserve(sc, n) != 0) return -1;
    size_t *end = sc->end, *prev = sc->prev, len = 0;
    for (size_t k = 0; k < n; k++) {
        end[k] = k + 1;
        prev[k] = k - 1; // wraps for k = 0, never read
    }
    for (size_t k = 0; k + 1 < n; k++) push_candidate(t, p, sc->heap, &len, k, k + 2);
    while (len > 0) {
        Merge m = heap_pop(sc->heap, &len);
        size_t mid = end[m.k];
        if (mid == 0 || mid >= n || end[mid] != m.e) continue; // a part of it was merged since
        end[m.k] = m.e; // part mid joins part k
        end[mid] = 0;
        if (m.e < n) prev[m.e] = m.k;
        if (m.k > 0) push_candidate(t, p, sc->heap, &len, prev[m.k], m.e);
        if (m.e < n) push_candidate(t, p, sc->heap, &len, m.k, end[m.e]);
    }
    for (size_t k = 0; k < n; k = end[k])
        if (ids_push(out, index_find(t, p + k, end[k] - k)) != 0) return -1;
    return 0;
}

// Encode one piece: tiktoken looks the whole piece up first, and only runs BPE when it is not a token.
static int encode_piece(const Tokenizer *t, const unsigned char *p, size_t n, BpeScratch *sc, IdList *out) {
    int id = index_find(t, p, n);
    if (id >= 0) return ids_push(out, id);
    return bpe(t, p, n, sc, out);
}

// Encode a segment of text that holds no special token.
static int encode_segment(const Tokenizer *t, const unsigned char *s, size_t n, BpeScratch *sc, IdList *out) {
    for (size_t i = 0; i < n;) {
        size_t j = next_piece(s, n, i);
        if (encode_piece(t, s + i, j - i, sc, out) != 0) return -1;
        i = j;
    }
    return 0;
}

// Offset of the first "<|endoftext|>" in s[0..n), or n.
static size_t find_eot(const unsigned char *s, size_t n) {
    for (size_t i = 0; i + EOT_LEN <= n; i++) {
        const unsigned char *lt = memchr(s + i, '<', n - EOT_LEN + 1 - i);
        if (!lt) break;
        i = (size_t)(lt - s);
        if (memcmp(lt, EOT_TEXT, EOT_LEN) == 0) return i;
    }
    return n;
}

// special 1: "<|endoftext|>" in the text is eot (tiktoken's encode with it allowed); 0: it is text
// like any other, split by the pattern and BPE (tiktoken's encode_ordinary).
static int encode_text(const Tokenizer *t, const char *text, size_t n, int special, int **ids, size_t *n_ids) {
    const unsigned char *s = (const unsigned char *)text;
    IdList out = {0};
    BpeScratch sc = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = special ? i + find_eot(s + i, n - i) : n;
        rc = encode_segment(t, s + i, j - i, &sc, &out);
        if (j < n && rc == 0) rc = ids_push(&out, t->eot);
        i = j < n ? j + EOT_LEN : n;
    }
    free(sc.end);
    free(sc.prev);
    free(sc.heap);
    if (rc == 0 && out.n == 0) { // the empty text: still hand back a pointer the caller may free
        out.ids = malloc(sizeof(int));
        if (!out.ids) rc = -1;
    }
    if (rc != 0) {
        free(out.ids);
        *ids = NULL;
        *n_ids = 0;
        return -1;
    }
    *ids = out.ids;
    *n_ids = out.n;
    return 0;
}

int tokenizer_encode(const Tokenizer *t, const char *text, size_t n, int **ids, size_t *n_ids) {
    return encode_text(t, text, n, 1, ids, n_ids);
}

int tokenizer_encode_ordinary(const Tokenizer *t, const char *text, size_t n, int **ids, size_t *n_ids) {
    return encode_text(t, text, n, 0, ids, n_ids);
}
