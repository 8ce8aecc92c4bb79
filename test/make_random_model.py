#!/usr/bin/env python3
"""Write a deterministic random GPT-2 in Hugging Face's format (for the exporter and engine tests).

    python3 test/make_random_model.py OUTDIR --layers L --heads NH --embd C --positions maxT \
        --vocab V --seed S [--prefix] [--lm-head] [--dtype F32|F16|BF16]
    python3 test/make_random_model.py OUTDIR --fixture test/fixtures/ref_tiny.json

--fixture takes the dimensions and seed from the fixture's "model" object and checks that the
safetensors file comes out with the sha256 recorded there (the engine tests rely on the exact bytes).

OUTDIR gets config.json and model.safetensors laid out like the hub's `gpt2`: HF tensor names
(`--prefix` adds `transformer.`), Conv1D weights stored (in, out), the causal-mask buffers
`h.N.attn.bias` (1, 1, maxT, maxT), and with `--lm-head` a tied `lm_head.weight` (a copy of wte).

Values: Python's Mersenne Twister, random.Random(seed).random(), drawn tensor by tensor in the
order of TENSORS below, each u -> mean + (u - 0.5) * width (a uniform distribution with the given
std), rounded to float32 (F16/BF16: rounded again, to nearest even, from that float32).
The same seed gives the same bytes on any Python 3.

The init is deliberately "lively": with the usual small init a tied-head GPT-2 greedily repeats its
last token, because the token's own embedding dominates the residual stream. Here the attention and
MLP projections are large, so the blocks' output dominates, the queries are large enough for
attention to be peaked, and LayerNorm weights/biases carry noise: greedy output keeps changing.
Standard library only.
"""
import argparse
import array
import hashlib
import json
import math
import os
import random
import struct
import sys

from common import bf16_round


def tensors(L, C, maxT, V):
    """(name, shape, mean, std) in generation order; Conv1D weights are (in, out)."""
    out = [("wte.weight", (V, C), 0.0, 0.1), ("wpe.weight", (maxT, C), 0.0, 0.1)]
    for l in range(L):
        h = f"h.{l}."
        out += [
            (h + "ln_1.weight", (C,), 1.0, 0.2),
            (h + "ln_1.bias", (C,), 0.0, 0.1),
            (h + "attn.c_attn.weight", (C, 3 * C), 0.0, 1.2 / math.sqrt(C)),
            (h + "attn.c_attn.bias", (3 * C,), 0.0, 0.2),
            (h + "attn.c_proj.weight", (C, C), 0.0, 3.0 / math.sqrt(C)),
            (h + "attn.c_proj.bias", (C,), 0.0, 0.2),
            (h + "ln_2.weight", (C,), 1.0, 0.2),
            (h + "ln_2.bias", (C,), 0.0, 0.1),
            (h + "mlp.c_fc.weight", (C, 4 * C), 0.0, 1.0 / math.sqrt(C)),
            (h + "mlp.c_fc.bias", (4 * C,), 0.0, 0.2),
            (h + "mlp.c_proj.weight", (4 * C, C), 0.0, 12.0 / math.sqrt(4 * C)),
            (h + "mlp.c_proj.bias", (C,), 0.0, 0.2),
        ]
    out += [("ln_f.weight", (C,), 1.0, 0.2), ("ln_f.bias", (C,), 0.0, 0.1)]
    return out


def bf16_bytes(a):
    """float32 array -> bfloat16 bytes, round to nearest even (slow, per element, test data only)."""
    return array.array("H", map(bf16_round, array.array("I", a.tobytes()))).tobytes()


def encode(a, dtype):
    if dtype == "F32":
        return a.tobytes()
    if dtype == "F16":
        return struct.pack(f"<{len(a)}e", *a)
    return bf16_bytes(a)


def write_safetensors(path, items):
    """items: list of (name, dtype, shape, raw bytes). Header padded with spaces to 8 bytes."""
    header, off = {}, 0
    for name, dtype, shape, raw in items:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for _, _, _, raw in items:
            f.write(raw)


def read_safetensors(path):
    """{name: (dtype, shape, raw bytes)} of a safetensors file, in its header's order."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    return {name: (info["dtype"], info["shape"], data[8 + n + info["data_offsets"][0]:8 + n + info["data_offsets"][1]])
            for name, info in header.items()}


def make(outdir, layers, heads, embd, positions, vocab, seed, prefix=False, lm_head=False, dtype="F32"):
    L, NH, C, maxT, V = layers, heads, embd, positions, vocab
    if min(L, NH, C, maxT, V) <= 0 or C % NH:
        raise ValueError("dimensions must be positive and embd a multiple of heads")
    rng = random.Random(seed)
    r = rng.random
    pre = "transformer." if prefix else ""
    items = []
    wte = None
    for name, shape, mean, std in tensors(L, C, maxT, V):
        n = math.prod(shape)
        width = std * math.sqrt(12.0)
        a = array.array("f", [mean + (r() - 0.5) * width for _ in range(n)])
        raw = encode(a, dtype)
        if name == "wte.weight":
            wte = raw
        items.append((pre + name, dtype, shape, raw))
        if name.endswith("attn.c_proj.bias"):  # the causal-mask buffer, as in the hub's files
            mask = array.array("f", [1.0 if j <= i else 0.0 for i in range(maxT) for j in range(maxT)])
            items.append((pre + name.replace("c_proj.bias", "bias"), "F32", (1, 1, maxT, maxT), mask.tobytes()))
    if lm_head:
        items.append(("lm_head.weight", dtype, (V, C), wte))
    os.makedirs(outdir, exist_ok=True)
    config = {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2", "n_ctx": maxT, "n_embd": C, "n_head": NH, "n_layer": L, "n_positions": maxT,
        "vocab_size": V,
    }
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(outdir, "model.safetensors"), items)


def main():
    p = argparse.ArgumentParser(description="write a deterministic random GPT-2 in Hugging Face's format")
    p.add_argument("outdir")
    p.add_argument("--fixture", help="take dimensions and seed from this ref_*.json and check the sha256")
    for k in ("layers", "heads", "embd", "positions", "seed"):
        p.add_argument(f"--{k}", type=int)
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--prefix", action="store_true", help="name tensors transformer.*")
    p.add_argument("--lm-head", action="store_true", help="add a tied lm_head.weight")
    p.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    a = p.parse_args()
    sha = None
    if a.fixture:
        try:
            with open(a.fixture) as f:
                m = json.load(f)["model"]
            a.layers, a.heads, a.embd, a.positions, a.vocab, a.seed = (
                m["layers"], m["heads"], m["embd"], m["positions"], m["vocab"], m["seed"])
            sha = m.get("safetensors_sha256")
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"make_random_model.py: {a.fixture}: {e!r}")
    missing = [k for k in ("layers", "heads", "embd", "positions", "seed") if getattr(a, k) is None]
    if missing:
        p.error("missing --" + ", --".join(missing))
    try:
        make(a.outdir, a.layers, a.heads, a.embd, a.positions, a.vocab, a.seed, a.prefix, a.lm_head, a.dtype)
    except (OSError, ValueError) as e:
        sys.exit(f"make_random_model.py: {a.outdir}: {e}")
    if sha and not (a.prefix or a.lm_head or a.dtype != "F32"):
        path = os.path.join(a.outdir, "model.safetensors")
        with open(path, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        if got != sha:
            os.remove(path)
            sys.exit(f"make_random_model.py: {path}: sha256 {got} differs from {a.fixture}'s {sha}")


if __name__ == "__main__":
    main()
