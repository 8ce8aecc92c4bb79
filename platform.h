// platform.h: what the engine needs from the operating system (platform.c): files read at an
// offset, the checkpoint mapped into memory, aligned buffers on huge pages, the number of cores.
// POSIX systems (Linux, macOS, the BSDs) and Windows. Internal to the engine.
#ifndef GPT2_PLATFORM_H
#define GPT2_PLATFORM_H

#include <fcntl.h>
#include <stddef.h>

#ifndef O_BINARY
#define O_BINARY 0 // Windows: open files as bytes, without newline translation; nothing elsewhere
#endif

// The size of the open file fd, or -1 when it is not a regular file (or fstat fails).
long long gpt2_file_size(int fd);
// Reads n bytes at offset off; the number read (short at the end of the file), or -1 with errno.
long long gpt2_read_at(int fd, void *buf, size_t n, long long off);

// The open file fd (size bytes) mapped read-only; populate: read every page in now rather than at
// first touch. NULL on failure, with errno set.
void *gpt2_map_file(int fd, size_t size, int populate);
void gpt2_unmap_file(void *p, size_t size);

// n bytes aligned to align (a power of two, at least sizeof(void *)); free with gpt2_aligned_free.
// NULL when out of memory.
void *gpt2_aligned_alloc(size_t align, size_t n);
void gpt2_aligned_free(void *p);
// n bytes for data that is streamed every token, on huge pages where the system has them; free with
// gpt2_aligned_free. NULL when out of memory.
void *gpt2_alloc_huge(size_t n);

// Gives the pages of [p, p + n) of a mapped file back to the system (whole pages only): the data
// was read once and will not be needed again. Only a hint.
void gpt2_release_pages(const void *p, size_t n);

// Cores online now (at least 1).
int gpt2_online_cores(void);

// Asks the system for AMX's tile registers (x86-64 Linux): 1 when this process may use them, else 0.
// Linux grants them only to a process that asks, as their 8 KB of state enlarge every signal frame
// of a thread that uses them. 0 on other systems, where the kernels use no AMX.
int gpt2_amx_permitted(void);

#endif // GPT2_PLATFORM_H
