// platform.c: the operating system's part (platform.h), POSIX.
//
// Decode streams every weight once per token, so how the weights sit in memory matters: with 4 KB
// pages the TLB misses cost about a tenth of the speed. On Linux the checkpoint is therefore mapped
// at a 2 MB boundary with MADV_HUGEPAGE, which lets the kernel map the page cache's 2 MB folios
// (what readahead makes for an advised mapping, and what large aligned writes leave behind) with
// single entries; converted weights go into 2 MB-aligned memory with the same advice.
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE // madvise, MAP_ANONYMOUS and MAP_NORESERVE beside POSIX
#endif
#include "platform.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((size_t)2 << 20) // a transparent huge page (x86-64, and arm64 with 4 KB pages)

#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22 // Linux 5.14; older C libraries lack the name
#endif

// x rounded up to a multiple of a, a power of two.
static uintptr_t round_up(uintptr_t x, uintptr_t a) { return (x + a - 1) & ~(a - 1); }

static uintptr_t page_size(void) { return (uintptr_t)sysconf(_SC_PAGESIZE); }

// Asks for huge pages on [p, p + n) where the system offers them.
static void advise_huge(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}

// Reads every page of [p, p + size) in, so that the first token does not pay for the faults.
static void populate(const void *p, size_t size) {
#ifdef MADV_POPULATE_READ
    if (madvise((void *)p, size, MADV_POPULATE_READ) == 0 || errno != EINVAL) return; // EINVAL: before 5.14
#endif
    for (size_t i = 0; i < size; i += page_size()) (void)*(volatile const char *)((const char *)p + i);
}

#ifdef __linux__
// Maps the file at a 2 MB boundary: reserve size + 2 MB of address space, map the file at the first
// boundary inside it, and give back the ends.
static void *map_aligned(int fd, size_t size) {
    char *area = mmap(NULL, size + HUGE_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) return NULL;
    char *start = (char *)round_up((uintptr_t)area, HUGE_PAGE), *end = area + size + HUGE_PAGE;
    void *p = mmap(start, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        munmap(area, size + HUGE_PAGE);
        errno = e;
        return NULL;
    }
    char *tail = (char *)round_up((uintptr_t)start + size, page_size()); // size may end mid-page
    if (start > area) munmap(area, (size_t)(start - area));
    if (tail < end) munmap(tail, (size_t)(end - tail));
    return p;
}
#else
// Elsewhere the page cache is not mapped with huge pages, so alignment buys nothing.
static void *map_aligned(int fd, size_t size) {
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}
#endif

void *gpt2_map_file(int fd, size_t size, int want_populate) {
    void *p = map_aligned(fd, size);
    if (!p) return NULL;
    advise_huge(p, size);
    if (want_populate) populate(p, size);
    return p;
}

void gpt2_unmap_file(void *p, size_t size) {
    if (p) munmap(p, size);
}

void *gpt2_alloc_huge(size_t n) {
    size_t size = round_up(n, HUGE_PAGE);
    void *p = NULL;
    if (size < n || posix_memalign(&p, HUGE_PAGE, size) != 0) return NULL;
    advise_huge(p, size);
    return p;
}

void gpt2_free_huge(void *p) { free(p); }

void gpt2_release_pages(const void *p, size_t n) {
    uintptr_t a = round_up((uintptr_t)p, page_size()), b = ((uintptr_t)p + n) & ~(page_size() - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

int gpt2_online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}
