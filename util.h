// util.h: four small helpers that the engine, the command line, the tools and the tests share, so
// that each is written once. Internal (not installed); everything here is static inline.
#ifndef GPT2_UTIL_H
#define GPT2_UTIL_H

#include "gpt2.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

// Lets the compiler check printf-style arguments (mingw: against the C99 printf that
// __USE_MINGW_ANSI_STDIO selects, which knows %zu).
#if defined(__MINGW32__)
#define GPT2_PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#define GPT2_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GPT2_PRINTF(f, a)
#endif

// The library's error convention (gpt2.h): a one-line message into err, then -1 to return.
GPT2_PRINTF(2, 3)
static inline int fail(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, GPT2_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

// splitmix64 (Steele, Lea and Flood; Vigna's reference code): a 64-bit generator whose whole state
// is one word. The sampler seeds xoshiro256** with it; the tools and tests use it for random data.
static inline uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Seconds on a monotonic clock, for measuring durations.
static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// The length (2, 3 or 4) of the UTF-8 sequence that the byte c starts; 0 when it starts none.
static inline int utf8_length(unsigned char c) {
    return c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

// 1 when b may be the second byte after the first byte c: its range excludes overlong forms,
// surrogates and code points past U+10FFFF (Unicode's table 3-7).
static inline int utf8_second(unsigned char c, unsigned char b) {
    unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    return b >= lo && b <= hi;
}

// Length (2, 3 or 4) of the valid UTF-8 sequence of more than one byte at s[0..n), with its code point
// in *cp; 0 when s does not start one (ASCII, a stray continuation byte, an overlong form, a
// surrogate, beyond U+10FFFF, or cut short: GPT-2's byte-level tokens often hold part of a character).
static inline int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    int len = utf8_length(c);
    if (len == 0 || (size_t)len > n || !utf8_second(c, s[1])) return 0;
    uint32_t v = c & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    *cp = v;
    return len;
}

#endif // GPT2_UTIL_H
