// gpt2.h: the public API of the gpt2 engine.
//
// One path from checkpoint to text:
//   gpt2_build (load) -> gpt2_forward (logits of the last position) -> sampler_sample (token id)
//   -> tokenizer_decode (bytes) -> your output.
// gpt2_generate runs that loop as generate() does in Sebastian Raschka's "Build a Large Language
// Model (From Scratch)", section 5.3, "Decoding strategies to control randomness": crop the
// sequence to the context, take the last position's logits, apply top-k and temperature, draw,
// stop at end-of-text.
//
// Errors: every function that can fail returns -1 on failure (else 0, or the count it promises),
// and where it takes `char *err` (GPT2_ERR_LEN bytes) writes a one-line message there naming the
// function and the file. Nothing here prints or exits.
//
// Dimension letters used in every shape comment:
//   B batch (sequences decoded at once), T tokens in a forward call, C channels, NH heads, hs = C/NH head size,
//   V vocabulary, Vp V padded (rows V..Vp-1 of wte are never used), L layers, maxT context length,
//   OC output channels of a linear layer.
#ifndef GPT2_H
#define GPT2_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GPT2_VERSION_STRING "0.3.0" // this engine's version (gpt2 --version, the shared library)
#define GPT2_ERR_LEN 512

// ----------------------------------------------------------------------------------------------
// Checkpoint: llm.c's layout. int32 header[256] = {GPT2_MAGIC, version, maxT, V, L, NH, C, Vp, 0...},
// then the 16 tensors back to back in this order: wte (Vp, C), wpe (maxT, C), ln1w, ln1b (L, C),
// qkvw (L, 3C, C), qkvb (L, 3C), attprojw (L, C, C), attprojb (L, C), ln2w, ln2b (L, C),
// fcw (L, 4C, C), fcb (L, 4C), fcprojw (L, C, 4C), fcprojb (L, C), lnfw, lnfb (C).

#define GPT2_MAGIC 20240326
#define GPT2_VERSION_F32 3  // float32 tensors
#define GPT2_VERSION_BF16 5 // bfloat16 tensors (the top 16 bits of a float32)
// This engine's own (not llm.c's): the five matrices as int8 with float16 scales per GPT2_Q8_GROUP
// (each followed by its scales), the other tensors float32, every piece padded to 64 bytes.
#define GPT2_VERSION_Q8 8

// How the five big matrices (wte, qkvw, attprojw, fcw, fcprojw) are held in memory.
typedef enum {
    GPT2_F32 = 0,  // float32, read straight from the mapped file
    GPT2_BF16 = 1, // bfloat16, read straight from the mapped file
    GPT2_Q8 = 2,   // int8 with one float16 scale per GPT2_Q8_GROUP inputs (version 8, or --quantize int8)
} GPT2DType;

#define GPT2_Q8_GROUP 32

typedef struct {
    int maxT; // max sequence length (GPT-2: 1024)
    int V;    // vocabulary size (50257)
    int Vp;   // padded vocabulary size (50304)
    int L;    // layers (12)
    int NH;   // heads (12)
    int C;    // channels (768)
} GPT2Config;

// A weight matrix W (rows, cols) of a linear layer y = x · W^T, in the storage format `type`.
typedef struct {
    GPT2DType type;
    int rows, cols;        // (OC, C)
    const void *data;      // (rows, cols) of float, uint16_t (bf16) or int8_t
    const uint16_t *scale; // (rows, cols / GPT2_Q8_GROUP) float16, GPT2_Q8 only
} GPT2Matrix;

// One transformer block; the names in brackets are Hugging Face's, under transformer.h.{l}.
typedef struct {
    const float *ln1w, *ln1b; // (C) [ln_1]
    GPT2Matrix qkvw;          // (3C, C) [attn.c_attn] rows: q, then k, then v
    const float *qkvb;        // (3C)
    GPT2Matrix attprojw;      // (C, C) [attn.c_proj]
    const float *attprojb;    // (C)
    const float *ln2w, *ln2b; // (C) [ln_2]
    GPT2Matrix fcw;           // (4C, C) [mlp.c_fc]
    const float *fcb;         // (4C)
    GPT2Matrix fcprojw;       // (C, 4C) [mlp.c_proj]
    const float *fcprojb;     // (C)
} GPT2Layer;

typedef struct {
    GPT2Matrix wte;           // (Vp, C) token embedding [wte], also the output head (tied)
    const float *wpe;         // (maxT, C) position embedding [wpe]
    GPT2Layer *layers;        // (L)
    const float *lnfw, *lnfb; // (C) final LayerNorm [ln_f]
} GPT2Weights;

// Scratch for one forward call of up to maxT tokens, allocated once in gpt2_build.
typedef struct {
    float *x;       // (maxT, C) residual stream
    float *xn;      // (maxT, C) LayerNorm output
    float *qkv;     // (maxT, 3C) queries, keys and values, each row q (C), k (C), v (C)
    float *att;     // (maxT, C) attention output, before the projection
    float *fch;     // (maxT, 4C) MLP hidden layer, after GELU
    float *scratch; // gpt2_attention's scores and packed keys
    float *logits;  // (Vp) logits of the last position
    int8_t *xq;     // (maxT, 4C) activations quantized for GPT2_Q8, then as many bytes of int32
    float *xqs;     // (maxT, 4C / GPT2_Q8_GROUP) their scales
} GPT2Acts;

// Keys and values of every position seen so far, so that a new token costs one position. Head by
// head (hs = C / NH), so that attention reads each head's keys and values as contiguous streams.
typedef struct {
    float *k; // (L, NH, maxT, hs)
    float *v; // (L, NH, maxT, hs)
} GPT2KVCache;

typedef struct GPT2Pool GPT2Pool; // worker threads (pool.c)

typedef struct {
    GPT2Config config;
    GPT2DType dtype;   // the format of the five matrices
    GPT2Weights w;
    GPT2Acts acts;
    GPT2KVCache cache;
    GPT2Pool *pool;
    int n_threads;     // threads of the forward pass, the caller included
    int file_version;  // header[1] of the checkpoint
    void *map;         // the checkpoint, mapped read-only
    size_t map_size;   // its size in bytes
    void *converted;   // tensors converted or quantized at load time (NULL when all are in the file)
    int last_T;        // rows of the last gpt2_forward or gpt2_forward_batch call (for gpt2_logits)
} GPT2;

typedef struct {
    int quantize_int8; // 1: quantize the matrices to GPT2_Q8 at load time
    int threads;       // worker threads including the caller, at most the online cores; 0: all of them
} GPT2Options;

int gpt2_build(GPT2 *model, const char *path, const GPT2Options *opt, char *err);
void gpt2_free(GPT2 *model);

// Run tokens (T) at positions pos..pos+T-1; positions 0..pos-1 come from the KV cache, filled by
// earlier calls (pos = 0 starts a new sequence: the cache is overwritten as it goes). Returns the
// logits (V) of the last position, valid until the next call; NULL, with nothing computed, unless
// T >= 1, pos >= 0, pos + T <= maxT and every token is in 0..V-1.
const float *gpt2_forward(GPT2 *model, const int *tokens, int T, int pos);

// B independent sequences of T tokens each, tokens (B, T) row by row, each from position 0, in one
// pass over the weights (B T <= maxT): the logits of B calls gpt2_forward(tokens + b T, T, 0) (the
// same bits with float32 and bfloat16 weights when T >= 6; int8's rows take other kernels by their
// place among the B T, so an activation may round to the other int8 step, as between int8's prefill
// and decode) without reading the weights B times, which pays when T is small (scoring a text in
// short windows). gpt2_logits then reads row b T + t. The KV cache then holds sequence b at positions
// b T..b T+T-1, so only sequence 0 can be continued by gpt2_forward at pos T. Returns the logits (V)
// of the last sequence's last token; NULL, with nothing computed, unless B >= 1, T >= 1, B T <= maxT
// and every token is in 0..V-1.
const float *gpt2_forward_batch(GPT2 *model, const int *tokens, int B, int T);

// Logits (n, V) of positions t0..t0+n-1 of the last gpt2_forward or gpt2_forward_batch call (for
// scoring a text); -1 when they are not all among its positions.
int gpt2_logits(GPT2 *model, int t0, int n, float *out);

// The kernel set compiled in: "avx512+vnni+bf16" ("avx512+vnni+bf16+amx" where the CPU has AMX too
// and the system grants its tile registers at run time), "avx512+vnni", "avx512", "avx2+vnni",
// "avx2", "neon", "neon+dotprod" or "portable".
const char *gpt2_kernels(void);

// ----------------------------------------------------------------------------------------------
// Sampler (sampler.c): the book's top-k and temperature, plus the usual extra filters, each off
// by default. Applied in this order: repeat penalty, top-k, temperature (0: argmax, the lowest
// id among equal maxima), top-p, min-p, then one draw from the renormalised softmax.
// RNG: xoshiro256** seeded through splitmix64, so seeds 1, 2, 3 give unrelated streams.

typedef struct {
    float temperature;    // 0: greedy; > 0: divide the logits by it
    int top_k;            // 0: off; else keep logits >= the k-th largest (ties kept)
    float top_p;          // 1: off; else keep the smallest set of most likely tokens with mass >= top_p
    float min_p;          // 0: off; else drop tokens with p < min_p * p_max
    float repeat_penalty; // 1: off; else llama.cpp's / HF's penalty on recently seen tokens
    int repeat_last_n;    // how many recent tokens the penalty looks at
    uint64_t seed;
} SamplerConfig;

SamplerConfig sampler_defaults(void);

typedef struct {
    SamplerConfig cfg;
    int V;           // vocabulary size
    uint64_t rng[4]; // xoshiro256** state
    float *logits;   // (V) working copy of the logits after the penalty and the filters
    float *probs;    // (V) the distribution the last draw was taken from (before it, top-k's heap)
    int *order;      // (V) scratch: the repeat penalty's seen-marks, then top-p's sorted candidates
} Sampler;

// cfg NULL: sampler_defaults(). Fails when V < 1, a setting is outside its range (temperature
// [0, 1e30], top_k 0..V, top_p (0, 1], min_p [0, 1), repeat_penalty (0, 1e30]) or out of memory.
int sampler_build(Sampler *s, int V, const SamplerConfig *cfg, char *err);
void sampler_free(Sampler *s);
// The distribution the sampler draws from for these logits (V) into s->probs (V): 0 for filtered
// tokens. history (n_history) is the sequence so far, for the repeat penalty (ids outside 0..V-1 are
// ignored). A NaN logit is never drawn, +inf counts as the largest float, and when no logit is above
// -inf every token is as likely.
void sampler_probs(Sampler *s, const float *logits, const int *history, int n_history);
// One token id for these logits (V): sampler_probs, then sampler_draw. With temperature 0 this is
// the argmax and no randomness is used.
int sampler_sample(Sampler *s, const float *logits, const int *history, int n_history);
// One token id drawn from s->probs as the last sampler_probs left it (one uniform from the
// generator, inverted through the cumulative sum in id order). Draw many times from one
// distribution without recomputing it: sampler_probs once, then sampler_draw in a loop.
int sampler_draw(Sampler *s);
// A uniform double in [0, 1) from the sampler's generator (53 random bits).
double sampler_uniform(Sampler *s);

// ----------------------------------------------------------------------------------------------
// Tokenizer (tokenizer.c): GPT-2's byte-level BPE, identical to tiktoken's "gpt2" encoding.
// File: llm.c's format, uint32 header[256] = {20240328, 2, V, eot}, then per token a uint8 length
// and the raw bytes.

#define TOKENIZER_MAGIC 20240328

typedef struct TokenizerIndex TokenizerIndex; // byte string -> id lookup (tokenizer.c)

typedef struct {
    int V;                 // vocabulary size
    int eot;               // id of <|endoftext|>
    unsigned char *bytes;  // all token bytes back to back
    uint32_t *offset;      // (V + 1) token i is bytes[offset[i] .. offset[i+1])
    TokenizerIndex *index;
} Tokenizer;

// Reads the whole file and checks it before use: the header, every token's length, no two tokens
// alike, every single byte a token, eot "<|endoftext|>".
int tokenizer_build(Tokenizer *t, const char *path, char *err);
void tokenizer_free(Tokenizer *t);
// Encode n bytes (any bytes, not only UTF-8). "<|endoftext|>" in the text becomes eot.
// On success *ids is malloc'd (free it), *n_ids its length, returns 0; -1 only when out of memory.
int tokenizer_encode(const Tokenizer *t, const char *text, size_t n, int **ids, size_t *n_ids);
// The same with "<|endoftext|>" as ordinary text, split by BPE like any other (tiktoken's
// encode_ordinary): the ids never include eot. For text that must not inject the special token.
int tokenizer_encode_ordinary(const Tokenizer *t, const char *text, size_t n, int **ids, size_t *n_ids);
// The raw bytes of one token (not NUL-terminated); id must be in 0..V-1.
const unsigned char *tokenizer_decode(const Tokenizer *t, int id, size_t *len);

// Printing text as the tokens come: a token may end inside a UTF-8 character that the next token
// completes. A TokenizerStream (zero-initialised) holds such an unfinished end back, at most 3
// bytes, until the character is whole; every other byte, valid UTF-8 or not, passes through in order.
#define TOKENIZER_STREAM_MAX 259 // bytes tokenizer_stream can return at once: a token (< 256) and 3 held
typedef struct {
    unsigned char held[3];
    int n_held;
} TokenizerStream;
// The bytes of token id ready to print, into out (TOKENIZER_STREAM_MAX bytes); returns their count.
size_t tokenizer_stream(const Tokenizer *t, TokenizerStream *s, int id, unsigned char *out);
// At the end of the text: what is still held back (an unfinished character), into out (3 bytes).
size_t tokenizer_stream_end(TokenizerStream *s, unsigned char *out);

// ----------------------------------------------------------------------------------------------
// Generation: the book's generate() (see the top). For each of at most max_new steps: crop the
// sequence to its last `context` tokens, take the logits of the last position, sample, stop on
// `eos` (-1: never), else append. on_token is called with each new id (return non-zero to stop early).
// ids must have room for n_prompt + max_new tokens; returns the new length, or -1 on bad arguments
// or when out of memory.
// (The loop itself is gpt2_generate_batch's, with B = 1; that call also offers GPT2_CONTEXT_SHIFT.)

typedef int (*gpt2_on_token)(void *ctx, int token, const float *logits);

int gpt2_generate(GPT2 *model, Sampler *sampler, int *ids, int n_prompt, int max_new, int context,
                  int eos, gpt2_on_token on_token, void *ctx);

// Batched generation: B sequences at once, each with its own prompt, sampler, length, context and
// KV cache (min(context, n_prompt + max_new - 1) positions, allocated here and freed before the
// return), so that one pass over the weights serves a token of each. Each sequence runs exactly
// gpt2_generate's loop: its ids, and so its text, are bit for bit what gpt2_generate gives it alone,
// for any batch and any thread count. A sequence leaves the batch when it ends (eos, max_new, or
// its on_token returns non-zero); the call returns when all have ended. Prompts are run one sequence
// at a time (those with the same prompt share that run), the new tokens in one batch; the draws
// run across the threads, except when two sequences share a sampler (they then draw from it in
// turn, in sequence order).
//
// flags: GPT2_CONTEXT_SHIFT changes what happens when a sequence outgrows its context. By default
// the window slides one token per step and is run again whole, as generate() does (exact, and a
// prompt-sized forward pass per token). With GPT2_CONTEXT_SHIFT, once the window would hold more
// than `context` tokens only its last max(1, context / 2) are kept, run once from position 0, and
// the KV cache goes on from there until the window is full again: one forward pass per context / 2
// tokens, but the model then sees between half a window and a whole one, not always the whole.
//
// Returns 0, or -1 (err set) on bad arguments or when out of memory; on_token has then not been called.

#define GPT2_CONTEXT_SHIFT 1

typedef struct {
    int *ids;               // (n_prompt + max_new) the prompt, then room for the new tokens
    int n_prompt;           // >= 1
    int max_new;            // new tokens at most (>= 0)
    int context;            // the model sees the last `context` tokens (1..maxT)
    Sampler *sampler;       // its sampler (generator, filters, buffers); sequences may share one (see above)
    gpt2_on_token on_token; // with each new id (NULL: none); non-zero ends this sequence only
    void *ctx;              // on_token's first argument
    int n;                  // out: the sequence's length, prompt included
    int done;               // in: 1 skips the sequence; out: 1 once it has ended
} GPT2Sequence;

int gpt2_generate_batch(GPT2 *model, GPT2Sequence *seqs, int B, int eos, int flags, char *err);

#ifdef __cplusplus
}
#endif

#endif // GPT2_H
