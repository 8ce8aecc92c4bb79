// layout.h: the checkpoint's 16 tensors in file order (gpt2.h), written once for the loader
// (gpt2.c), the tool that writes random checkpoints and the tests that make their own.
// Internal; everything here is static.
#ifndef GPT2_LAYOUT_H
#define GPT2_LAYOUT_H

#include "gpt2.h"

#include <stddef.h>
#include <stdint.h>

enum { WTE, WPE, LN1W, LN1B, QKVW, QKVB, ATTPROJW, ATTPROJB, LN2W, LN2B, FCW, FCB, FCPROJW, FCPROJB, LNFW, LNFB,
       N_TENSORS };

// The five matrices: stored as bfloat16 or int8 in those formats (the rest are vectors, and wpe).
static const int tensor_is_matrix[N_TENSORS] = {[WTE] = 1, [QKVW] = 1, [ATTPROJW] = 1, [FCW] = 1, [FCPROJW] = 1};

// a * b, or 0 when it overflows size_t (no tensor of a valid checkpoint has 0 elements).
static inline size_t layout_mul(size_t a, size_t b) { return b != 0 && a > SIZE_MAX / b ? 0 : a * b; }

// The element count of each tensor; -1 when one overflows size_t.
static inline int tensor_sizes(size_t n[N_TENSORS], const GPT2Config *c) {
    size_t C = (size_t)c->C, L = (size_t)c->L;
    const size_t sizes[N_TENSORS] = {
        [WTE] = layout_mul(c->Vp, C),                 // (Vp, C)
        [WPE] = layout_mul(c->maxT, C),               // (maxT, C)
        [LN1W] = layout_mul(L, C),                    // (L, C)
        [LN1B] = layout_mul(L, C),                    // (L, C)
        [QKVW] = layout_mul(L, layout_mul(3 * C, C)), // (L, 3C, C)
        [QKVB] = layout_mul(L, 3 * C),                // (L, 3C)
        [ATTPROJW] = layout_mul(L, layout_mul(C, C)), // (L, C, C)
        [ATTPROJB] = layout_mul(L, C),                // (L, C)
        [LN2W] = layout_mul(L, C),                    // (L, C)
        [LN2B] = layout_mul(L, C),                    // (L, C)
        [FCW] = layout_mul(L, layout_mul(4 * C, C)),  // (L, 4C, C)
        [FCB] = layout_mul(L, 4 * C),                 // (L, 4C)
        [FCPROJW] = layout_mul(L, layout_mul(C, 4 * C)), // (L, C, 4C)
        [FCPROJB] = layout_mul(L, C),                 // (L, C)
        [LNFW] = C,                                   // (C)
        [LNFB] = C,                                   // (C)
    };
    for (int i = 0; i < N_TENSORS; i++) {
        if (sizes[i] == 0) return -1;
        n[i] = sizes[i];
    }
    return 0;
}

#endif // GPT2_LAYOUT_H
