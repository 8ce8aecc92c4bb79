// platform.c: the operating system's part (platform.h): POSIX, with Linux's huge pages, and Windows.
//
// Decode streams every weight once per token, so how the weights sit in memory matters: with 4 KB
// pages the TLB misses cost about a tenth of the speed. On Linux the checkpoint is therefore mapped
// at a 2 MB boundary with MADV_HUGEPAGE, which lets the kernel map the page cache's 2 MB folios
// (what readahead makes for an advised mapping, and what large aligned writes leave behind) with
// single entries; converted weights go into 2 MB-aligned memory with the same advice. Elsewhere
// the mapping is plain.
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE // madvise, MAP_ANONYMOUS and MAP_NORESERVE beside POSIX
#endif
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE // _SC_NPROCESSORS_ONLN beside POSIX
#endif
#include "platform.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <sys/mman.h> // before gpt2_alloc_huge, whose MADV_HUGEPAGE it defines
#include <unistd.h>
#endif
#ifdef __linux__
#include <sys/syscall.h> // SYS_arch_prctl
#endif

#define HUGE_PAGE ((size_t)2 << 20) // a transparent huge page (x86-64, and arm64 with 4 KB pages)

// x rounded up to a multiple of a, a power of two.
static uintptr_t round_up(uintptr_t x, uintptr_t a) { return (x + a - 1) & ~(a - 1); }

// Reads every page of [p, p + size) in, so that the first token does not pay for the faults.
static void touch_pages(const void *p, size_t size, size_t page) {
    for (size_t i = 0; i < size; i += page) (void)*(volatile const char *)((const char *)p + i);
}

void *gpt2_alloc_huge(size_t n) {
    size_t size = round_up(n, HUGE_PAGE);
    void *p = size < n ? NULL : gpt2_aligned_alloc(HUGE_PAGE, size);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

#ifndef _WIN32
// ---- POSIX

#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22 // Linux 5.14; older C libraries lack the name
#endif

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

long long gpt2_file_size(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (long long)st.st_size : -1;
}

long long gpt2_read_at(int fd, void *buf, size_t n, long long off) { return pread(fd, buf, n, (off_t)off); }

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
    madvise(p, size, MADV_HUGEPAGE);
    return p;
}
#else
static void *map_aligned(int fd, size_t size) {
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}
#endif

void *gpt2_map_file(int fd, size_t size, int populate) {
    void *p = map_aligned(fd, size);
    if (!p || !populate) return p;
#ifdef MADV_POPULATE_READ
    if (madvise(p, size, MADV_POPULATE_READ) == 0 || errno != EINVAL) return p; // EINVAL: before Linux 5.14
#endif
    touch_pages(p, size, page_size());
    return p;
}

void gpt2_unmap_file(void *p, size_t size) {
    if (p) munmap(p, size);
}

void *gpt2_aligned_alloc(size_t align, size_t n) {
    void *p = NULL;
    return posix_memalign(&p, align, n ? n : 1) == 0 ? p : NULL;
}

void gpt2_aligned_free(void *p) { free(p); }

void gpt2_release_pages(const void *p, size_t n) {
    uintptr_t page = page_size(), a = round_up((uintptr_t)p, page), b = ((uintptr_t)p + n) & ~(page - 1);
    if (b <= a) return;
#ifdef __linux__
    madvise((void *)a, b - a, MADV_DONTNEED); // Linux's posix_madvise ignores POSIX_MADV_DONTNEED
#else
    posix_madvise((void *)a, b - a, POSIX_MADV_DONTNEED);
#endif
}

int gpt2_online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}

int gpt2_amx_permitted(void) {
#if defined(__linux__) && defined(__x86_64__)
    // arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): the request for the tile data's state
    // (Linux 5.16 and later; an older kernel, or a CPU or hypervisor without AMX, says no, which
    // is no error of ours: errno is left as it was)
    const unsigned long req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    int saved = errno, granted = syscall(SYS_arch_prctl, req_xcomp_perm, xfeature_xtiledata) == 0;
    errno = saved;
    return granted;
#else
    return 0;
#endif
}

#else
// ---- Windows
#include <io.h>
#include <malloc.h>
#include <windows.h>

long long gpt2_file_size(int fd) {
    struct _stati64 st;
    return _fstati64(fd, &st) == 0 && (st.st_mode & _S_IFMT) == _S_IFREG ? (long long)st.st_size : -1;
}

long long gpt2_read_at(int fd, void *buf, size_t n, long long off) {
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED at = {.Offset = (DWORD)off, .OffsetHigh = (DWORD)((unsigned long long)off >> 32)};
    DWORD got = 0;
    if (h == INVALID_HANDLE_VALUE || n > 0xffffffffu) return errno = EINVAL, -1;
    if (!ReadFile(h, buf, (DWORD)n, &got, &at) && GetLastError() != ERROR_HANDLE_EOF) return errno = EIO, -1;
    return got;
}

void *gpt2_map_file(int fd, size_t size, int populate) {
    HANDLE file = (HANDLE)_get_osfhandle(fd);
    HANDLE mapping = file == INVALID_HANDLE_VALUE ? NULL : CreateFileMappingA(file, NULL, PAGE_READONLY, 0, 0, NULL);
    void *p = mapping ? MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, size) : NULL;
    if (mapping) CloseHandle(mapping); // the view keeps the mapping alive
    if (!p) return errno = ENOMEM, NULL;
    if (populate) touch_pages(p, size, 4096);
    return p;
}

void gpt2_unmap_file(void *p, size_t size) {
    (void)size;
    if (p) UnmapViewOfFile(p);
}

void *gpt2_aligned_alloc(size_t align, size_t n) { return _aligned_malloc(n ? n : 1, align); }

void gpt2_aligned_free(void *p) { _aligned_free(p); }

// The pages of a read-only file view are clean: Windows reclaims them first when memory runs short.
void gpt2_release_pages(const void *p, size_t n) { (void)p, (void)n; }

int gpt2_amx_permitted(void) { return 0; }

int gpt2_online_cores(void) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors < 1 ? 1 : (int)si.dwNumberOfProcessors;
}
#endif
