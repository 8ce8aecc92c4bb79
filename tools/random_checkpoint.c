// random_checkpoint: write a GPT-2 checkpoint in llm.c's layout filled with deterministic random
// weights, fast enough to make a full-size 124M model (500 MB) in about a second. The benchmarks use
// it, since the real weights cannot be downloaded everywhere; speed does not depend on the values.
//
//   random_checkpoint OUT.bin [L NH C maxT V [fp32|bf16|int8 [seed]]]   (default: GPT-2 124M, fp32, seed 1)
//
// int8 (version 8) fills the matrices with uniform int8 values and one scale (0.05 / 127 as float16),
// so its weights have the float32 model's range, not its values.
#define _POSIX_C_SOURCE 200809L // for util.h's clock_gettime: the Makefile builds this with plain -std=c11
#include "../gpt2.h"
#include "../layout.h"
#include "../util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2 && argc < 7) {
        fprintf(stderr, "usage: random_checkpoint OUT.bin [L NH C maxT V [fp32|bf16|int8 [seed]]]\n");
        return 2;
    }
    long L = 12, NH = 12, C = 768, maxT = 1024, V = 50257;
    if (argc >= 7) L = atol(argv[2]), NH = atol(argv[3]), C = atol(argv[4]), maxT = atol(argv[5]), V = atol(argv[6]);
    int bf16 = argc >= 8 && strcmp(argv[7], "bf16") == 0, int8 = argc >= 8 && strcmp(argv[7], "int8") == 0;
    uint64_t seed = argc >= 9 ? strtoull(argv[8], NULL, 10) : 1;
    if (L <= 0 || NH <= 0 || C <= 0 || C % NH || maxT <= 0 || V <= 0 || (int8 && C % GPT2_Q8_GROUP)) {
        fprintf(stderr, "random_checkpoint: bad dimensions\n");
        return 2;
    }
    long Vp = (V + 127) / 128 * 128;
    int version = int8 ? GPT2_VERSION_Q8 : bf16 ? GPT2_VERSION_BF16 : GPT2_VERSION_F32;
    // gpt2.h's header: {GPT2_MAGIC, version, maxT, V, L, NH, C, Vp, 0...}
    int32_t header[256] = {GPT2_MAGIC, version, (int32_t)maxT, (int32_t)V, (int32_t)L, (int32_t)NH, (int32_t)C,
                           (int32_t)Vp};
    // the tensors of layout.h: a LayerNorm weight is filled around 1, a matrix is int8 with float16
    // scales in a version 8 file
    GPT2Config config = {.maxT = (int)maxT, .V = (int)V, .Vp = (int)Vp, .L = (int)L, .NH = (int)NH, .C = (int)C};
    size_t n[N_TENSORS];
    if (tensor_sizes(n, &config) != 0) {
        fprintf(stderr, "random_checkpoint: dimensions too large\n");
        return 2;
    }
    int is_lnw[N_TENSORS] = {[LN1W] = 1, [LN2W] = 1, [LNFW] = 1};
    FILE *f = fopen(argv[1], "wb");
    // Whole 8 MB writes at 8 MB offsets: Linux then caches the file in 2 MB folios, which the engine
    // maps with huge pages (see map_file in gpt2.c).
    // (glibc ignores the size unless it is given the buffer)
    char *iobuf = malloc(8 << 20);
    if (f && iobuf) setvbuf(f, iobuf, _IOFBF, 8 << 20);
    if (!f || fwrite(header, sizeof(header), 1, f) != 1) {
        perror(argv[1]);
        return 1;
    }
    float buf[4096];
    uint16_t hbuf[4096];
    int8_t qbuf[4096];
    static const char zeros[64];
    for (int t = 0; t < N_TENSORS; t++) {
        int q8 = int8 && tensor_is_matrix[t];
        for (size_t done = 0; done < n[t];) {
            size_t k = n[t] - done < 4096 ? n[t] - done : 4096;
            for (size_t i = 0; i < k; i++) {
                uint64_t r = splitmix64(&seed);
                // uniform in [-0.05, 0.05): GPT-2's weights are of that order
                float u = (float)((r >> 40) * 0x1.0p-24 - 0.5) * 0.1f;
                int pad_row = t == WTE && done + i >= (size_t)V * C;
                buf[i] = pad_row ? 0.0f : is_lnw[t] ? 1.0f + u : u;
                qbuf[i] = pad_row ? 0 : (int8_t)((int)((r >> 40) % 255) - 127);
                uint32_t bits;
                memcpy(&bits, &buf[i], 4);
                hbuf[i] = (uint16_t)((bits + 0x7fff + ((bits >> 16) & 1)) >> 16); // round to nearest even
            }
            size_t w = q8 ? fwrite(qbuf, 1, k, f) : bf16 ? fwrite(hbuf, 2, k, f) : fwrite(buf, 4, k, f);
            if (w != k) {
                perror(argv[1]);
                return 1;
            }
            done += k;
        }
        if (!int8) continue;
        // version 8: every piece padded to 64 bytes; a matrix's float16 scales follow its values
        size_t bytes = q8 ? n[t] : 4 * n[t], groups = n[t] / GPT2_Q8_GROUP;
        int ok = fwrite(zeros, 1, -bytes % 64, f) == -bytes % 64;
        for (size_t g = 0; q8 && ok && g < groups; g++) {
            uint16_t scale = t == WTE && g >= (size_t)V * C / GPT2_Q8_GROUP ? 0 : 0x0e73; // 0.05 / 127
            ok = fwrite(&scale, 2, 1, f) == 1;
        }
        if (q8 && ok) ok = fwrite(zeros, 1, -(2 * groups) % 64, f) == -(2 * groups) % 64;
        if (!ok) {
            perror(argv[1]);
            return 1;
        }
    }
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    free(iobuf);
    return 0;
}
