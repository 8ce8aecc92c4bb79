// accuracy: how far a reduced weight format (bf16 checkpoint, or --quantize int8) is from float32.
//
//   accuracy REF.bin OTHER.bin [int8] [steps] [prefill]
//
// Greedy-decodes `steps` tokens (default 256) with the float32 model REF from GPT-2's 4-token example
// prompt, then runs OTHER over the same sequence (teacher forcing) and reports the worst logit
// difference at any step, the steps whose argmax agrees with REF's, and how long OTHER's own greedy
// run follows REF's before the first different token. With `prefill`, OTHER computes each step's
// logits from the whole sequence at once (so through the prefill kernels), not one new position on
// its KV cache. Exit 0; the numbers are for the README and the
// bounds in test/test_engine.py.
#include "../gpt2.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

// Logits (V) of the last position of ids[0..n), cropped to the model's context. *cached counts
// the positions of ids already in the KV cache (-1: the window slid), so a step costs one position.
static const float *last_logits(GPT2 *m, int *cached, const int *ids, int n) {
    if (n <= m->config.maxT && *cached == n - 1) {
        *cached = n;
        return gpt2_forward(m, ids + n - 1, 1, n - 1);
    }
    int s0 = n > m->config.maxT ? n - m->config.maxT : 0;
    *cached = s0 == 0 ? n : -1;
    return gpt2_forward(m, ids + s0, n - s0, 0);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: accuracy REF.bin OTHER.bin [int8] [steps] [prefill]\n");
        return 2;
    }
    int int8 = argc > 3 && strcmp(argv[3], "int8") == 0;
    int steps = argc > 3 + int8 ? atoi(argv[3 + int8]) : 256;
    int prefill = argc > 4 + int8 && strcmp(argv[4 + int8], "prefill") == 0;
    char err[GPT2_ERR_LEN];
    GPT2 ref, other, mine; // mine: OTHER again, for its own greedy run (a KV cache of its own)
    GPT2Options o_ref = {0, 0}, o_other = {int8, 0};
    if (gpt2_build(&ref, argv[1], &o_ref, err) || gpt2_build(&other, argv[2], &o_other, err) ||
        gpt2_build(&mine, argv[2], &o_other, err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int V = ref.config.V, n0 = 4;
    int *ids = malloc((size_t)(n0 + steps) * sizeof(int)), *own = malloc((size_t)(n0 + steps) * sizeof(int));
    float *want = malloc((size_t)V * sizeof(float));
    const int prompt[4] = {6109, 3626, 6100, 345}; // "Every effort moves you"
    memcpy(ids, prompt, sizeof(prompt));
    memcpy(own, prompt, sizeof(prompt));
    double worst = 0.0, max_abs = 0.0;
    int agree = 0, follow = -1, c_ref = 0, c_other = 0, c_mine = 0;
    for (int i = 0; i < steps; i++) {
        int n = n0 + i;
        memcpy(want, last_logits(&ref, &c_ref, ids, n), (size_t)V * sizeof(float));
        if (prefill) c_other = 0; // no position cached: the whole window at once
        const float *got = last_logits(&other, &c_other, ids, n);
        for (int v = 0; v < V; v++) {
            double d = fabs((double)got[v] - want[v]);
            if (d > worst) worst = d;
            if (fabs(want[v]) > max_abs) max_abs = fabs(want[v]);
        }
        ids[n] = argmax(want, V);
        agree += argmax(got, V) == ids[n];
        if (follow < 0) { // OTHER's own greedy continuation, until it first leaves REF's
            own[n] = argmax(last_logits(&mine, &c_mine, own, n), V);
            if (own[n] != ids[n]) follow = i;
        }
    }
    if (follow < 0) follow = steps;
    printf("{\"other\": \"%s%s%s\", \"steps\": %d, \"worst_logit_diff\": %.4g, \"max_abs_logit\": %.4g, "
           "\"argmax_agree\": %d, \"greedy_identical_steps\": %d}\n",
           argv[2], int8 ? " int8" : "", prefill ? " prefill" : "", steps, worst, max_abs, agree, follow);
    free(ids), free(own), free(want);
    gpt2_free(&ref);
    gpt2_free(&other);
    gpt2_free(&mine);
    return 0;
}
