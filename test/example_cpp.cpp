// example_cpp: gpt2.h from C++ (its extern "C" block), linked against the library; test_install.py
// builds it against an installed copy. Greedy continuation of a prompt, ids printed.
//   example_cpp MODEL.bin TOKENIZER.bin PROMPT
#include "gpt2.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: example_cpp MODEL.bin TOKENIZER.bin PROMPT\n");
        return 2;
    }
    char err[GPT2_ERR_LEN];
    GPT2 model;
    Tokenizer tok;
    if (gpt2_build(&model, argv[1], nullptr, err) != 0 || tokenizer_build(&tok, argv[2], err) != 0) {
        std::fprintf(stderr, "%s\n", err);
        return 1;
    }
    int *prompt = nullptr;
    size_t n = 0;
    if (tokenizer_encode(&tok, argv[3], std::strlen(argv[3]), &prompt, &n) != 0 || n == 0) return 1;
    const int max_new = 4;
    std::vector<int> ids(prompt, prompt + n);
    ids.resize(n + max_new);
    std::free(prompt);
    SamplerConfig cfg = sampler_defaults(); // temperature 0: greedy
    Sampler sampler;
    if (sampler_build(&sampler, model.config.V, &cfg, err) != 0) return 1;
    int total = gpt2_generate(&model, &sampler, ids.data(), (int)n, max_new, model.config.maxT, -1, nullptr, nullptr);
    for (int i = 0; i < total; i++) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
    sampler_free(&sampler);
    tokenizer_free(&tok);
    gpt2_free(&model);
    return total == (int)n + max_new ? 0 : 1;
}
