// pool.h: the worker threads that run the forward pass's loops (pool.c). Internal to the engine.
#ifndef GPT2_POOL_H
#define GPT2_POOL_H

#include "gpt2.h"

// Workers sleep on a condition variable between jobs (after a short spin), so a busy machine never
// leaves a thread spinning on a core that someone else needs.
GPT2Pool *gpt2_pool_create(int n_threads); // n_threads includes the caller; NULL when out of memory
void gpt2_pool_free(GPT2Pool *pool);
int gpt2_pool_threads(const GPT2Pool *pool); // 1 for a NULL pool

// Whether the pool's jobs may use AMX's tile registers: asked of the system the first time
// (gpt2_amx_permitted), then kept, so that every job of a pool takes the same kernels; 0 for a NULL
// pool. gpt2_pool_no_amx makes it 0 for good: the tests run the kernels both ways.
int gpt2_pool_amx(GPT2Pool *pool);
void gpt2_pool_no_amx(GPT2Pool *pool);

// Runs fn(ctx, i) for every i in 0..n-1 across the threads and returns when all are done. Each i is
// one task; which thread runs it does not change its result, so outputs are identical for any
// thread count. cost: the job's work in multiply-adds, which the pool uses to compare its threads
// with the caller alone. A NULL pool runs every task on the caller.
typedef void (*gpt2_pool_task)(void *ctx, int i);
void gpt2_pool_for(GPT2Pool *pool, int n, gpt2_pool_task fn, void *ctx, double cost);

#endif // GPT2_POOL_H
