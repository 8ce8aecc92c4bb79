#!/usr/bin/python3
"""Reference numbers for the engine tests, from the GPT model of Raschka's book (PyTorch).

    /usr/bin/python3 test/reference.py                # rewrites test/fixtures/ref_*
    /usr/bin/python3 test/reference.py --shift-only   # only their "greedy_shift" cases

Needs PyTorch and numpy (Debian: apt-get install python3-torch python3-numpy); `make test` does
not: it only reads the fixtures written here.

The model is GPTModel from "Build a Large Language Model (From Scratch)" (S. Raschka), chapter 4
(MultiHeadAttention with a causal-mask buffer, LayerNorm, tanh GELU, FeedForward, pre-norm
TransformerBlock, GPTModel), loaded the way chapter 5's load_weights_into_gpt does (c_attn split
into W_query / W_key / W_value, Conv1D weights transposed, out_head tied to tok_emb), from a
Hugging Face directory written by test/make_random_model.py. generate() is the book's, verbatim.
One change: GELU's sqrt(2/pi) is made in the model's dtype (the book's torch.tensor(2.0/pi) is
float32 even in a float64 model).

Everything is computed twice, in float32 (as the book runs) and in float64; the fixtures hold the
float64 numbers, and the script prints the float32-vs-float64 difference, i.e. the reference's own
noise. Greedy sequences must agree between the two, and the smallest top-1/top-2 logit gap along
each greedy path is recorded ("min_gap") so a reader can see no step is a near-tie.
For each model the same is done with every weight rounded to bfloat16 (round to nearest even, as
the exporter's --dtype bf16 does) and every linear layer's input rounded to bfloat16 from float32,
as the engine computes a bf16 checkpoint: keys "logits_bf16" and "greedy_bf16". An input that lies
within TIE_EPS of the midpoint between two bf16 values may round the other way in the engine, whose
float32 sums differ from float64's in the last places; each such near-tie is rounded the other way
in turn, and the sum of what that moves the logits is the case's "tie_slack", which test_engine.py
allows on top of its bound. "greedy_shift": greedy runs
with gpt2's --context-shift policy (generate_shift(), generate() with that window in place of the
sliding one), float32 and float64 again agreeing.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

from common import FIXTURES, HERE
import make_random_model

# --------------------------------------------------------------------------------------------
# The book's model (chapter 4), unchanged except the GELU constant's dtype.


class MultiHeadAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        assert d_out % num_heads == 0, "d_out must be divisible by num_heads"
        self.d_out = d_out
        self.num_heads = num_heads
        self.head_dim = d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, num_tokens, d_in = x.shape
        keys = self.W_key(x)
        queries = self.W_query(x)
        values = self.W_value(x)
        keys = keys.view(b, num_tokens, self.num_heads, self.head_dim)
        values = values.view(b, num_tokens, self.num_heads, self.head_dim)
        queries = queries.view(b, num_tokens, self.num_heads, self.head_dim)
        keys = keys.transpose(1, 2)
        queries = queries.transpose(1, 2)
        values = values.transpose(1, 2)
        attn_scores = queries @ keys.transpose(2, 3)
        mask_bool = self.mask.bool()[:num_tokens, :num_tokens]
        attn_scores.masked_fill_(mask_bool, -torch.inf)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        attn_weights = self.dropout(attn_weights)
        context_vec = (attn_weights @ values).transpose(1, 2)
        context_vec = context_vec.contiguous().view(b, num_tokens, self.d_out)
        context_vec = self.out_proj(context_vec)
        return context_vec


class LayerNorm(nn.Module):
    def __init__(self, emb_dim):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        norm_x = (x - mean) / torch.sqrt(var + self.eps)
        return self.scale * norm_x + self.shift


class GELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(
            torch.sqrt(torch.tensor(2.0 / torch.pi, dtype=x.dtype)) * (x + 0.044715 * torch.pow(x, 3))))


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(cfg["emb_dim"], 4 * cfg["emb_dim"]), GELU(), nn.Linear(4 * cfg["emb_dim"], cfg["emb_dim"]))

    def forward(self, x):
        return self.layers(x)


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.att = MultiHeadAttention(d_in=cfg["emb_dim"], d_out=cfg["emb_dim"], context_length=cfg["context_length"],
                                      num_heads=cfg["n_heads"], dropout=cfg["drop_rate"], qkv_bias=cfg["qkv_bias"])
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x):
        shortcut = x
        x = self.norm1(x)
        x = self.att(x)
        x = self.drop_shortcut(x)
        x = x + shortcut
        shortcut = x
        x = self.norm2(x)
        x = self.ff(x)
        x = self.drop_shortcut(x)
        x = x + shortcut
        return x


class GPTModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def forward(self, in_idx):
        batch_size, seq_len = in_idx.shape
        tok_embeds = self.tok_emb(in_idx)
        pos_embeds = self.pos_emb(torch.arange(seq_len, device=in_idx.device))
        x = tok_embeds + pos_embeds
        x = self.drop_emb(x)
        x = self.trf_blocks(x)
        x = self.final_norm(x)
        logits = self.out_head(x)
        return logits


def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None):
    for _ in range(max_new_tokens):
        idx_cond = idx[:, -context_size:]
        with torch.no_grad():
            logits = model(idx_cond)
        logits = logits[:, -1, :]
        if top_k is not None:
            top_logits, _ = torch.topk(logits, top_k)
            min_val = top_logits[:, -1]
            logits = torch.where(logits < min_val, torch.tensor(float("-inf")).to(logits.device), logits)
        if temperature > 0.0:
            logits = logits / temperature
            probs = torch.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
        else:
            idx_next = torch.argmax(logits, dim=-1, keepdim=True)
        if idx_next == eos_id:
            break
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


def generate_shift(model, idx, max_new_tokens, context_size, eos_id=None):
    """generate() (greedy) with gpt2's --context-shift policy in place of the sliding window: the first
    window is generate()'s crop; when a new token would make it longer than context_size, only its
    last max(1, context_size // 2) tokens are kept, and the window grows from there again."""
    start = max(0, idx.shape[1] - context_size)
    for _ in range(max_new_tokens):
        if idx.shape[1] - start > context_size:
            start = idx.shape[1] - max(1, context_size // 2)
        with torch.no_grad():
            logits = model(idx[:, start:])[:, -1, :]
        idx_next = torch.argmax(logits, dim=-1, keepdim=True)
        if idx_next == eos_id:
            break
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


# --------------------------------------------------------------------------------------------
# Loading a Hugging Face GPT-2 directory (chapter 5's load_weights_into_gpt, for HF names).

DTYPES = {"F32": np.float32, "F16": np.float16}


def read_safetensors(path):
    out = {}
    for name, (dtype, shape, raw) in make_random_model.read_safetensors(path).items():
        if dtype == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=np.dtype(DTYPES[dtype]).newbyteorder("<")).astype(np.float32)
        out[name.removeprefix("transformer.")] = a.reshape(shape)
    return out


def assign(left, right):
    if left.shape != right.shape:
        raise ValueError(f"Shape mismatch. Left: {left.shape}, Right: {right.shape}")
    return torch.nn.Parameter(torch.tensor(right, dtype=left.dtype))


class Bf16Inputs:
    """Forward pre-hooks rounding the input of every nn.Linear of a model to bfloat16 (from float32, to
    nearest even). W_key, W_query and W_value take one tensor, which the engine rounds once for its
    fused qkv matrix: a linear whose input is the tensor the one before it rounded reuses that
    rounding, so the sites (the distinct inputs of a forward pass, in order) are the engine's.
    Records the near-ties of a run (record=True) as (site, index) pairs; flip=(site, index) rounds
    that one input to its other bf16 neighbour."""

    def __init__(self, model):
        for mod in model.modules():
            if isinstance(mod, nn.Linear):
                mod.register_forward_pre_hook(lambda mod, inp: (self.round(inp[0]),))
        model.register_forward_pre_hook(lambda mod, inp: self.start())
        self.record, self.ties, self.flip = False, [], None
        self.start()

    def start(self):
        self.site, self.last_in, self.last_out = -1, None, None

    def round(self, x):
        if x is self.last_in:
            return self.last_out
        self.site += 1
        r = x.to(torch.float32).to(torch.bfloat16)
        bits = r.view(torch.int16)  # sign and magnitude: +1 is one step away from zero
        away = (x.abs() > r.to(x.dtype).abs()).to(torch.int16) * 2 - 1
        other = (bits + away).view(torch.bfloat16).to(x.dtype)
        r = r.to(x.dtype)
        if self.record:
            mid = (r + other) / 2
            near = ((x - mid).abs() < TIE_EPS * x.abs()).flatten().nonzero().flatten().tolist()
            self.ties += [(self.site, i) for i in near]
        if self.flip is not None and self.flip[0] == self.site:
            r = r.flatten().clone()
            r[self.flip[1]] = other.flatten()[self.flip[1]]
            r = r.view(x.shape)
        self.last_in, self.last_out = x, r
        return r


# Relative distance from a midpoint within which an input counts as a near-tie: about ten times
# what the engine's float32 activations differ from float64 by.
TIE_EPS = 2.0**-20


def tie_slack(model, hooks, ids, context):
    """The logits of ids with hooks' rounding, and the sum over its near-ties of max |logits with that
    input rounded the other way - logits|, with their count."""
    hooks.record, hooks.ties = True, []
    base = last_logits(model, ids, context)
    hooks.record, slack, ties = False, 0.0, hooks.ties
    for t in ties:
        hooks.flip = t
        slack += float((last_logits(model, ids, context) - base).abs().max())
    hooks.flip = None
    return base, slack, len(ties)


def load_hf_dir(path, dtype, bf16=False):
    with open(os.path.join(path, "config.json")) as f:
        hf = json.load(f)
    cfg = {"vocab_size": hf["vocab_size"], "context_length": hf["n_positions"], "emb_dim": hf["n_embd"],
           "n_heads": hf["n_head"], "n_layers": hf["n_layer"], "drop_rate": 0.0, "qkv_bias": True}
    p = read_safetensors(os.path.join(path, "model.safetensors"))
    if bf16:  # round every weight to bfloat16, to nearest even (torch's conversion)
        p = {k: torch.tensor(v).to(torch.bfloat16).to(torch.float32).numpy() for k, v in p.items()}
    p = {k: v.astype(np.float64) for k, v in p.items()}
    torch.manual_seed(0)
    gpt = GPTModel(cfg).to(dtype)
    if bf16:
        gpt.bf16_inputs = Bf16Inputs(gpt)
    gpt.pos_emb.weight = assign(gpt.pos_emb.weight, p["wpe.weight"])
    gpt.tok_emb.weight = assign(gpt.tok_emb.weight, p["wte.weight"])
    for b in range(cfg["n_layers"]):
        h, blk = f"h.{b}.", gpt.trf_blocks[b]
        q_w, k_w, v_w = np.split(p[h + "attn.c_attn.weight"], 3, axis=-1)
        blk.att.W_query.weight = assign(blk.att.W_query.weight, q_w.T)
        blk.att.W_key.weight = assign(blk.att.W_key.weight, k_w.T)
        blk.att.W_value.weight = assign(blk.att.W_value.weight, v_w.T)
        q_b, k_b, v_b = np.split(p[h + "attn.c_attn.bias"], 3, axis=-1)
        blk.att.W_query.bias = assign(blk.att.W_query.bias, q_b)
        blk.att.W_key.bias = assign(blk.att.W_key.bias, k_b)
        blk.att.W_value.bias = assign(blk.att.W_value.bias, v_b)
        blk.att.out_proj.weight = assign(blk.att.out_proj.weight, p[h + "attn.c_proj.weight"].T)
        blk.att.out_proj.bias = assign(blk.att.out_proj.bias, p[h + "attn.c_proj.bias"])
        blk.ff.layers[0].weight = assign(blk.ff.layers[0].weight, p[h + "mlp.c_fc.weight"].T)
        blk.ff.layers[0].bias = assign(blk.ff.layers[0].bias, p[h + "mlp.c_fc.bias"])
        blk.ff.layers[2].weight = assign(blk.ff.layers[2].weight, p[h + "mlp.c_proj.weight"].T)
        blk.ff.layers[2].bias = assign(blk.ff.layers[2].bias, p[h + "mlp.c_proj.bias"])
        blk.norm1.scale = assign(blk.norm1.scale, p[h + "ln_1.weight"])
        blk.norm1.shift = assign(blk.norm1.shift, p[h + "ln_1.bias"])
        blk.norm2.scale = assign(blk.norm2.scale, p[h + "ln_2.weight"])
        blk.norm2.shift = assign(blk.norm2.shift, p[h + "ln_2.bias"])
    gpt.final_norm.scale = assign(gpt.final_norm.scale, p["ln_f.weight"])
    gpt.final_norm.shift = assign(gpt.final_norm.shift, p["ln_f.bias"])
    gpt.out_head.weight = assign(gpt.out_head.weight, p["wte.weight"])
    gpt.eval()
    return gpt, cfg


# --------------------------------------------------------------------------------------------
# The test models and cases.

MODELS = {
    "tiny": {"layers": 2, "heads": 4, "embd": 64, "positions": 16, "vocab": 50257, "seed": 1},
    "small": {"layers": 3, "heads": 3, "embd": 96, "positions": 64, "vocab": 50257, "seed": 2},
}
EFFORT = [6109, 3626, 6100, 345]  # "Every effort moves you"


def long_prompt(n, seed):
    """n token ids from a fixed LCG, all real GPT-2 ids (< 50256)."""
    x, out = seed, []
    for _ in range(n):
        x = (x * 1103515245 + 12345) % 2**31
        out.append(x % 50256)
    return out


def make_model_dir(tmp, name, m):
    out = os.path.join(tmp, name)
    args = [sys.executable, os.path.join(HERE, "make_random_model.py"), out]
    for k in ("layers", "heads", "embd", "positions", "vocab", "seed"):
        args += [f"--{k}", str(m[k])]
    subprocess.run(args, check=True)
    return out


def last_logits(model, ids, context):
    with torch.no_grad():
        return model(torch.tensor([ids[-context:]]))[0, -1, :]


class GapRecorder(nn.Module):
    """Wraps the model for generate(): records the top-1 minus top-2 logit of each step, and with
    bf16 inputs the steps before the first one with a near-tie."""

    def __init__(self, model):
        super().__init__()
        self.model, self.gaps, self.tie_free = model, [], None
        self.hooks = getattr(model, "bf16_inputs", None)

    def forward(self, idx):
        if self.hooks:
            self.hooks.record, self.hooks.ties = True, []
        logits = self.model(idx)
        if self.hooks:
            self.hooks.record = False
            if self.hooks.ties and self.tie_free is None:
                self.tie_free = len(self.gaps)
        top = torch.topk(logits[0, -1, :], 2).values
        self.gaps.append(float(top[0] - top[1]))
        return logits


def greedy(model, prompt, n, context, eos, shift=False):
    """The sequence generate() (shift: generate_shift()) returns, and the smallest top-1/top-2 gap along
    the way."""
    rec = GapRecorder(model)
    if shift:
        out = generate_shift(rec, torch.tensor([prompt]), n, context, eos_id=None if eos < 0 else eos)
    else:
        out = generate(rec, torch.tensor([prompt]), n, context, eos_id=None if eos < 0 else eos)
    return out[0].tolist(), min(rec.gaps), rec.tie_free


def model_cases(name, m):
    maxT = m["positions"]
    logits = [[6109], EFFORT, long_prompt(maxT, 7), long_prompt(maxT + 5, 8)]
    if name == "tiny":
        greedy_cases = [(EFFORT, 120, maxT), (EFFORT, 100, 5), (EFFORT, 100, 11), ([50256], 60, maxT),
                        (long_prompt(maxT + 9, 9), 40, maxT), (long_prompt(9, 10), 40, 6)]
    else:
        greedy_cases = [(EFFORT, 100, maxT), (EFFORT, 100, 40), (long_prompt(maxT + 20, 11), 30, maxT),
                        (long_prompt(50, 12), 40, 17)]
    return logits, greedy_cases


def shift_cases(name, m):
    """Greedy runs with --context-shift: (prompt, new tokens, context), each shifting several times."""
    maxT = m["positions"]
    if name == "tiny":
        return [(EFFORT, 60, maxT), (EFFORT, 40, 5), (long_prompt(maxT + 4, 13), 30, 7), (EFFORT, 12, 1)]
    return [(EFFORT, 120, maxT), (long_prompt(maxT + 6, 14), 40, 17)]


def run_shift(name, m, path):
    """The shift cases in float64 (the fixture) and float32 (whose path must agree)."""
    m32, _ = load_hf_dir(path, torch.float32)
    m64, _ = load_hf_dir(path, torch.float64)
    res = []
    for prompt, n, ctx in shift_cases(name, m):
        s64, gap, _ = greedy(m64, prompt, n, ctx, -1, shift=True)
        s32, _, _ = greedy(m32, prompt, n, ctx, -1, shift=True)
        if s64 != s32:
            sys.exit(f"reference.py: {name}: float32 and float64 context-shift paths differ: retune the model")
        res.append({"prompt_ids": prompt, "max_new_tokens": n, "context": ctx, "eos": -1, "expected": s64,
                    "min_gap": round(gap, 6)})
        print(f"  {name}: context shift ctx={ctx:3d}: {len(s64) - len(prompt):3d} new, min top1-top2 gap {gap:.4g}")
    return res


def run_model(name, m, path, out_prefix, bf16):
    m32, cfg = load_hf_dir(path, torch.float32, bf16)
    m64, _ = load_hf_dir(path, torch.float64, bf16)
    maxT = m["positions"]
    prompts, greedy_cases = model_cases(name, m)
    tag = "_bf16" if bf16 else ""
    res_logits, res_greedy, noise = [], [], 0.0
    for i, ids in enumerate(prompts):
        if bf16:
            l64, slack, ties = tie_slack(m64, m64.bf16_inputs, ids, maxT)
        else:
            l64, slack, ties = last_logits(m64, ids, maxT), 0.0, 0
        l32 = last_logits(m32, ids, maxT)
        if ties == 0:  # (float32 may round a near-tie the other way)
            noise = max(noise, float((l64 - l32.double()).abs().max()))
        fname = f"{out_prefix}{tag}_logits_{i}.f32"
        with open(os.path.join(FIXTURES, fname), "wb") as f:
            f.write(l64.numpy().astype("<f4").tobytes())
        case = {"prompt_ids": ids, "context": maxT, "file": fname, "max_abs": round(float(l64.abs().max()), 4)}
        if bf16:
            case["tie_slack"], case["ties"] = float(f"{slack:.3g}"), ties
            print(f"  {name}{tag}: {len(ids)}-token prompt: {ties} near-ties, slack {slack:.3g}")
        res_logits.append(case)
    cases = []
    for prompt, n, ctx in greedy_cases:
        cases.append((prompt, n, ctx, -1))
        if len(cases) == 1:  # the eos case: the first id new at step 10 or later of the first run
            seq, _, _ = greedy(m64, prompt, n, ctx, -1)
            new = seq[len(prompt):]
            eos = next(t for i, t in enumerate(new) if i >= 9 and t not in new[:i])
            cases.append((prompt, n, ctx, eos))
    for prompt, n, ctx, eos in cases:
        s64, gap, tie_free = greedy(m64, prompt, n, ctx, eos)
        s32, _, _ = greedy(m32, prompt, n, ctx, eos)
        # with bf16 inputs, the steps from the first near-tie on may go either way
        same = len(s64) if tie_free is None else len(prompt) + tie_free
        if s64[:same] != s32[:same]:
            sys.exit(f"reference.py: {name}{tag}: float32 and float64 greedy paths differ: retune the model")
        new = s64[len(prompt):]
        case = {"prompt_ids": prompt, "max_new_tokens": n, "context": ctx, "eos": eos, "expected": s64,
                "min_gap": round(gap, 6)}
        if tie_free is not None:
            case["tie_free_steps"] = tie_free
        res_greedy.append(case)
        print(f"  {name}{tag}: greedy ctx={ctx:3d} eos={eos:6d}: {len(new):3d} new, {len(set(new)):3d} distinct,"
              f" min top1-top2 gap {gap:.4g}" + ("" if tie_free is None else f", {tie_free} steps before a near-tie"))
    print(f"  {name}{tag}: float32 vs float64 logits: max |diff| {noise:.3g}" + (" (the prompts without near-ties)" if bf16 else ""))
    return res_logits, res_greedy, noise


def sampler_fixture():
    logits = torch.tensor([4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79], dtype=torch.float64)
    cases = []
    for top_k, temp in [(0, 1.0), (0, 0.1), (0, 5.0), (3, 1.0), (3, 5.0), (3, 0.1), (1, 1.0), (9, 1.0)]:
        x = logits.clone()
        if top_k:
            min_val = torch.topk(x, top_k).values[-1]
            x = torch.where(x < min_val, torch.tensor(float("-inf"), dtype=x.dtype), x)
        probs = torch.softmax(x / temp, dim=-1)
        cases.append({"top_k": top_k, "temperature": temp, "probs": [float(p) for p in probs]})
    return {"source": "Raschka, Build a LLM From Scratch, ch. 5: the nine-token example",
            "vocab": ["closer", "every", "effort", "forward", "inches", "moves", "pizza", "toward", "you"],
            "logits": [float(v) for v in logits], "cases": cases}


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    if sys.argv[1:] == ["--shift-only"]:  # only "greedy_shift", into the fixtures as they are
        with tempfile.TemporaryDirectory() as tmp:
            for name, m in MODELS.items():
                path = os.path.join(FIXTURES, f"ref_{name}.json")
                with open(path) as f:
                    fx = json.load(f)
                fx["greedy_shift"] = run_shift(name, m, make_model_dir(tmp, name, m))
                with open(path, "w") as f:
                    json.dump(fx, f, indent=1)
                    f.write("\n")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, m in MODELS.items():
            path = make_model_dir(tmp, name, m)
            with open(os.path.join(path, "model.safetensors"), "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            fx = {"model": dict(m, dtype="F32", safetensors_sha256=sha)}
            fx["logits"], fx["greedy"], n32 = run_model(name, m, path, f"ref_{name}", False)
            fx["logits_bf16"], fx["greedy_bf16"], n16 = run_model(name, m, path, f"ref_{name}", True)
            fx["float32_noise"] = float(f"{max(n32, n16):.3g}")
            fx["greedy_shift"] = run_shift(name, m, path)
            with open(os.path.join(FIXTURES, f"ref_{name}.json"), "w") as f:
                json.dump(fx, f, indent=1)
                f.write("\n")
    with open(os.path.join(FIXTURES, "ref_sampler.json"), "w") as f:
        json.dump(sampler_fixture(), f, indent=1)
        f.write("\n")
    print("wrote", FIXTURES)


if __name__ == "__main__":
    main()
