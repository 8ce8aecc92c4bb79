// platform.h: what the engine needs from the operating system (platform.c): the checkpoint mapped
// into memory, large buffers on huge pages, the number of cores. Internal to the engine.
#ifndef GPT2_PLATFORM_H
#define GPT2_PLATFORM_H

#include <stddef.h>

// The open file fd (size bytes) mapped read-only; populate: read every page in now rather than at
// first touch. NULL on failure, with errno set.
void *gpt2_map_file(int fd, size_t size, int populate);
void gpt2_unmap_file(void *p, size_t size);

// n bytes for data that is streamed every token, on huge pages where the system has them (free
// with gpt2_free_huge). NULL when out of memory.
void *gpt2_alloc_huge(size_t n);
void gpt2_free_huge(void *p);

// Gives the pages of [p, p + n) of a mapped file back to the system (whole pages only): the
// data was read once and will not be needed again.
void gpt2_release_pages(const void *p, size_t n);

// Cores online now (at least 1).
int gpt2_online_cores(void);

#endif // GPT2_PLATFORM_H
