// fuzz_checkpoint: any bytes written as a checkpoint file -> gpt2_build loads it or refuses it with a
// message naming the function; a loaded model has its tensors inside the file and runs a forward pass.
//
// The input is compressed so that the fuzzer spends its effort on what matters: an input of 32 bytes
// or more is the header's first 8 ints (magic, version, maxT, V, L, NH, C, Vp), then the rest of the
// 1024-byte header as zeros, then the input's remaining bytes as the tensors. A shorter input is
// written as it is (a file truncated inside the header).
#include "../../gpt2.h"
#include "scratch_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_BYTES 1024

// p[0..n) of elements of esize bytes lies inside the mapped file (or in the model's own buffer).
static void inside(const GPT2 *m, const void *p, size_t n, size_t esize) {
    const char *lo = (const char *)m->map + HEADER_BYTES, *hi = (const char *)m->map + m->map_size;
    const char *q = p;
    if (q >= lo && q <= hi) {
        if (n > (size_t)(hi - q) / esize) abort(); // runs past the end of the file
    } else if (!m->converted) {
        abort(); // points neither into the file nor into converted weights
    }
}

// A matrix read from the file, with its scales there too in an int8 checkpoint.
static void inside_matrix(const GPT2 *m, const GPT2Matrix *w) {
    size_t n = (size_t)w->rows * w->cols;
    int v = m->file_version;
    inside(m, w->data, n, v == GPT2_VERSION_F32 ? 4 : v == GPT2_VERSION_BF16 ? 2 : 1);
    if (v == GPT2_VERSION_Q8) inside(m, w->scale, n / GPT2_Q8_GROUP, 2);
}

static void check_model(GPT2 *m) {
    const GPT2Config *c = &m->config;
    size_t C = c->C;
    int q8_file = m->file_version == GPT2_VERSION_Q8;
    if (c->C % c->NH || c->V > c->Vp || c->maxT < 1 || c->L < 1) abort();
    const GPT2Weights *w = &m->w;
    if (w->wte.rows != c->Vp || w->wte.cols != c->C) abort();
    for (int l = 0; l < c->L; l++) {
        const GPT2Layer *y = &w->layers[l];
        if (y->qkvw.rows != 3 * c->C || y->fcprojw.cols != 4 * c->C) abort();
        if (m->dtype != GPT2_Q8 || q8_file) { // not quantized at load: read from the file
            if (l == 0) inside_matrix(m, &w->wte);
            inside_matrix(m, &y->qkvw), inside_matrix(m, &y->attprojw);
            inside_matrix(m, &y->fcw), inside_matrix(m, &y->fcprojw);
        }
        if (m->file_version == GPT2_VERSION_F32 || q8_file) { // the small tensors too (bf16 converts them)
            inside(m, y->ln1w, C, 4), inside(m, y->ln1b, C, 4), inside(m, y->qkvb, 3 * C, 4);
            inside(m, y->attprojb, C, 4), inside(m, y->ln2w, C, 4), inside(m, y->ln2b, C, 4);
            inside(m, y->fcb, 4 * C, 4), inside(m, y->fcprojb, C, 4);
        }
    }
    if (m->file_version == GPT2_VERSION_F32 || q8_file) {
        inside(m, w->wpe, (size_t)c->maxT * C, 4);
        inside(m, w->lnfw, C, 4), inside(m, w->lnfb, C, 4);
        size_t end = q8_file ? (C * 4 + 63) / 64 * 64 : C * 4; // version 8 pads every tensor to 64 bytes
        if ((const char *)w->lnfb + end != (const char *)m->map + m->map_size) abort(); // the file ends there
    }
    // Up to 7 tokens at once (the prefill path: more than one 6-row tile), then one more from the
    // KV cache, when the context has room.
    int tokens[8], T = c->maxT > 7 ? 7 : c->maxT;
    for (int i = 0; i < 8; i++) tokens[i] = (int)((i * 7919u) % (unsigned)c->V);
    gpt2_forward(m, tokens, T, 0);
    if (T < c->maxT) gpt2_forward(m, tokens + T, 1, T);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 20)) return 0;
    int fd = scratch_file();
    if (size < 32) {
        if (write(fd, data, size) != (ssize_t)size) abort();
    } else {
        static const unsigned char zeros[HEADER_BYTES - 32];
        if (write(fd, data, 32) != 32 || write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros) ||
            write(fd, data + 32, size - 32) != (ssize_t)(size - 32))
            abort();
    }
    close(fd);
    const char *path = scratch_path;
    char err[GPT2_ERR_LEN] = "";
    for (int q = 0; q < 2; q++) {
        GPT2 m;
        GPT2Options opt = {.quantize_int8 = q, .threads = 1};
        if (gpt2_build(&m, path, &opt, err) == 0) {
            check_model(&m);
            gpt2_free(&m);
        } else if (strncmp(err, "gpt2_build: ", 12) != 0) {
            abort(); // refused without a message
        } else if (q == 0) {
            break; // refused as float: the quantized load would be refused the same way
        }
    }
    return 0;
}
