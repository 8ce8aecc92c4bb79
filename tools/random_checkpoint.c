// random_checkpoint: write a GPT-2 checkpoint in llm.c's layout filled with deterministic random
// weights, fast enough to make a full-size 124M model (500 MB) in about a second. The benchmarks use
// it, since the real weights cannot be downloaded everywhere; speed does not depend on the values.
//
//   random_checkpoint OUT.bin [L NH C maxT V [fp32|bf16 [seed]]]   (default: GPT-2 124M, fp32, seed 1)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next(uint64_t *s) { // splitmix64
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc < 7) {
        fprintf(stderr, "usage: random_checkpoint OUT.bin [L NH C maxT V [fp32|bf16 [seed]]]\n");
        return 2;
    }
    long L = 12, NH = 12, C = 768, maxT = 1024, V = 50257;
    if (argc >= 7) L = atol(argv[2]), NH = atol(argv[3]), C = atol(argv[4]), maxT = atol(argv[5]), V = atol(argv[6]);
    int bf16 = argc >= 8 && strcmp(argv[7], "bf16") == 0;
    uint64_t seed = argc >= 9 ? strtoull(argv[8], NULL, 10) : 1;
    if (L <= 0 || NH <= 0 || C <= 0 || C % NH || maxT <= 0 || V <= 0) {
        fprintf(stderr, "random_checkpoint: bad dimensions\n");
        return 2;
    }
    long Vp = (V + 127) / 128 * 128;
    int32_t header[256] = {20240326, bf16 ? 5 : 3, (int32_t)maxT, (int32_t)V, (int32_t)L, (int32_t)NH, (int32_t)C, (int32_t)Vp};
    // element counts in file order, and whether the tensor is a LayerNorm weight (around 1)
    size_t n[16] = {Vp * C, maxT * C, L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C,
                    L * C, L * C, L * 4 * C * C, L * 4 * C, L * 4 * C * C, L * C, C, C};
    int is_lnw[16] = {[2] = 1, [8] = 1, [14] = 1};
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
    for (int t = 0; t < 16; t++) {
        for (size_t done = 0; done < n[t];) {
            size_t k = n[t] - done < 4096 ? n[t] - done : 4096;
            for (size_t i = 0; i < k; i++) {
                // uniform in [-0.05, 0.05): GPT-2's weights are of that order
                float u = (float)((next(&seed) >> 40) * 0x1.0p-24 - 0.5) * 0.1f;
                buf[i] = is_lnw[t] ? 1.0f + u : u;
                if (t == 0 && done + i >= (size_t)V * C) buf[i] = 0.0f; // padding rows
                uint32_t bits;
                memcpy(&bits, &buf[i], 4);
                hbuf[i] = (uint16_t)((bits + 0x7fff + ((bits >> 16) & 1)) >> 16); // round to nearest even
            }
            size_t w = bf16 ? fwrite(hbuf, 2, k, f) : fwrite(buf, 4, k, f);
            if (w != k) {
                perror(argv[1]);
                return 1;
            }
            done += k;
        }
    }
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    free(iobuf);
    return 0;
}
