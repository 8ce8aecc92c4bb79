#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into test/fuzz/corpus/<target>/ (committed; rerun only to
change them). Standard library only.   python3 test/fuzz/make_seeds.py"""
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import checkpoint_layout as layout  # noqa: E402


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tokenizer_file(tokens, eot):
    """llm.c's tokenizer format: uint32 header[256] = {magic, 2, V, eot}, then (uint8 len, bytes)."""
    head = struct.pack("<4I", 20240328, 2, len(tokens), eot) + bytes(1024 - 16)
    return head + b"".join(bytes([len(t)]) + t for t in tokens)


def header_start(version, **dims):
    """The header's first ints, magic to Vp: the fuzz target adds the zero ints after them."""
    return layout.pack_header(version, **dims)[:4 * len(layout.HEADER_FIELDS)]


def checkpoint(L, NH, C, maxT, V, Vp, bf16=False, seed=1):
    """The fuzz target's compressed checkpoint: header_start(), then the tensors."""
    dims = dict(maxT=maxT, V=V, L=L, NH=NH, C=C, Vp=Vp)
    n = layout.n_params(**dims)
    rng = random.Random(seed)
    vals = [rng.uniform(-0.5, 0.5) for _ in range(n)]
    if bf16:
        body = b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in vals)
    else:
        body = struct.pack(f"<{n}f", *vals)
    return header_start(layout.VERSIONS["bf16" if bf16 else "fp32"], **dims) + body


def checkpoint_int8(L, NH, C, maxT, V, Vp, seed=6):
    """The same for version 8: each matrix int8 then its float16 scales, every piece padded to 64."""
    rng = random.Random(seed)

    def pad(b):
        return b + bytes(-len(b) % layout.Q8_ALIGN)

    def matrix(n):
        scales = [rng.uniform(0.0, 0.01) for _ in range(n // layout.Q8_GROUP)]
        return pad(bytes(rng.randrange(256) for _ in range(n))) + pad(struct.pack(f"<{n // layout.Q8_GROUP}e", *scales))

    def floats(n):
        return pad(struct.pack(f"<{n}f", *[rng.uniform(-0.5, 0.5) for _ in range(n)]))

    dims = dict(maxT=maxT, V=V, L=L, NH=NH, C=C, Vp=Vp)
    body = b"".join(matrix(layout.numel(shape)) if name in layout.MATRICES else floats(layout.numel(shape))
                    for name, shape in layout.shapes(**dims))
    return header_start(layout.VERSIONS["int8"], **dims) + body


def main():
    texts = {
        "english": b"Every effort moves you. It's what they'd say, isn't it? 'Tis 1984.\n",
        "unicode": "naïve café — 日本語のテキスト, Ελληνικά, emoji 🙂🙂, ١٢٣ digits".encode(),
        "invalid_utf8": b"\xff\xfe\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 end",
        "eot": b"a<|endoftext|>b<|endoftext|<|endoftext|>",
        "spaces": b"   \t\n\n  x  \r\n   ",
        "code": b"int main(void) {\n    return 0x1F + 3.14e-2;\n}\n",
    }
    for name, t in texts.items():
        put("tokenizer", name, t)

    bytes256 = [bytes([b]) for b in range(256)]
    merges = [b"th", b"he", b"the", b" t", b" the", b"<|", b"in", b"ing"]
    put("tokenizer_file", "valid", tokenizer_file(bytes256 + merges + [b"<|endoftext|>"], 256 + len(merges)))
    put("tokenizer_file", "bytes_only", tokenizer_file(bytes256 + [b"<|endoftext|>"], 256))
    put("tokenizer_file", "truncated", tokenizer_file(bytes256 + merges + [b"<|endoftext|>"], 264)[:1400])
    put("tokenizer_file", "header_only", tokenizer_file(bytes256, 0)[:1024])

    put("checkpoint", "f32_minimal", checkpoint(1, 1, 1, 1, 1, 1))
    put("checkpoint", "f32_small", checkpoint(2, 2, 4, 3, 5, 8, seed=2))
    put("checkpoint", "bf16_small", checkpoint(1, 2, 4, 2, 3, 4, bf16=True, seed=3))
    put("checkpoint", "bf16_q8able", checkpoint(1, 1, 32, 2, 3, 4, bf16=True, seed=4))
    put("checkpoint", "f32_prefill", checkpoint(1, 2, 8, 8, 5, 8, seed=5))
    put("checkpoint", "int8_small", checkpoint_int8(1, 2, 32, 8, 3, 4))
    put("checkpoint", "truncated_header", header_start(3, maxT=1, V=1, L=1, NH=1, C=1, Vp=1)[:20])  # magic .. L
    put("checkpoint", "overflow", header_start(3, maxT=65536, V=1 << 24, L=4096, NH=1, C=65536, Vp=1 << 24))

    argvs = {
        "sampling": ["-p", "Hello", "-t", "1.4", "-k", "25", "--top-p", "0.9", "--min-p", "0.05", "-s", "7"],
        "ids": ["--prompt-ids", "6109 3626 6100 345", "-n", "3", "--print-ids", "-c", "8", "--eos", "-1"],
        "modes": ["--encode", "-p", "x", "--decode", "-v", "-T", "2", "--quantize", "int8", "-m", "a.bin"],
        "bad": ["-t", "1.4x", "--top-k", "", "-n", "-1", "--seed", "nan", "--repeat-penalty", "inf"],
        "missing": ["--tokenizer", "t.bin", "--dump-logits", "out.f32", "--repeat-last-n"],
        "help": ["--temperature=0.5", "-n5", "-h"],
        "file": ["-f", "prompt.txt", "--no-special", "--verbose=1", "--version"],
        "batch": ["--prompts", "prompts.txt", "-N", "4", "--context-shift", "-n", "3", "-t", "1"],
    }
    for name, args in argvs.items():
        put("cli", name, b"\0".join(a.encode() for a in args))

    # fuzz_api's programs: a call byte (bit 7: the int8 model; low bits: 0 forward, 1 logits,
    # 2 generate, 3 sampler), then its int32 arguments; a sampler's settings are a mask byte, the
    # settings it marks (t, k, p, min-p, repeat penalty, repeat window) and a seed.
    def i32(*v):
        return b"".join(struct.pack("<i", x) for x in v)

    def f32(x):
        return struct.pack("<f", x)

    put("api", "forward_valid", bytes([0]) + i32(4, 0) + i32(1, 2, 3, 4))
    put("api", "forward_then_logits", bytes([0]) + i32(6, 2) + i32(5, 6, 7, 8, 9, 10) + bytes([1]) + i32(1, 3))
    put("api", "forward_int8_cache", bytes([0x80]) + i32(3, 0) + i32(1, 2, 3) + bytes([0x80]) + i32(1, 3) + i32(4))
    put("api", "generate_greedy", bytes([2, 0]) + i32(7) + i32(4, 10, 16, -1) + i32(1, 2, 3, 4))
    put("api", "generate_topk_sliding", bytes([0x82, 3]) + f32(1.0) + i32(5) + i32(9) + i32(20, 8, 8, 299)
        + i32(*range(20)))
    put("api", "sampler_filters", bytes([3, 63]) + f32(0.8) + i32(40) + f32(0.9) + f32(0.05) + f32(1.3) + i32(16)
        + i32(3) + i32(5) + i32(1, 2, 3, 4, 5))


if __name__ == "__main__":
    main()
