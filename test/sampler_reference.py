#!/usr/bin/python3
"""Reference distributions for the sampler (test/test_sampler.c reads them), computed in PyTorch
the way Hugging Face's logits processors do it, independently of sampler.c.

    /usr/bin/python3 test/sampler_reference.py     # rewrites test/fixtures/sampler_cases.txt

Needs PyTorch (Debian: apt-get install python3-torch); `make test` does not: it reads the fixture.

Each filter is a transcription of the transformers class named beside it (float64 throughout),
applied in the engine's documented order: repeat penalty, top-k, temperature, top-p, min-p.
(Hugging Face applies temperature before top-k; dividing by T > 0 keeps the order of the logits,
so the two orders give the same distribution.) The logits are float32 values, written with 9
significant digits so the C test reads exactly the numbers used here.

For top-p and min-p the script checks that no token lies within MARGIN of a filter's threshold, so
float32 rounding in the engine cannot flip a decision and the kept set must match exactly.

Fixture format, one case per block:
    case NAME TEMPERATURE TOP_K TOP_P MIN_P REPEAT_PENALTY REPEAT_LAST_N
    logits N v1 .. vN
    history M h1 .. hM
    probs N p1 .. pN        (0 exactly for a filtered token)
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "sampler_cases.txt")
MARGIN = 1e-5
# The nine-token example of Raschka's *Build a Large Language Model (From Scratch)*, section 5.3
NINE = [4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79]


def repetition_penalty(scores, input_ids, penalty):
    # RepetitionPenaltyLogitsProcessor
    score = torch.gather(scores, 0, input_ids)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return scores.scatter(0, input_ids, score)


def top_k(scores, k):
    # TopKLogitsWarper (ties with the k-th value stay)
    k = min(k, scores.size(-1))
    remove = scores < torch.topk(scores, k)[0][-1]
    return scores.masked_fill(remove, -float("inf"))


def top_p(scores, p):
    # TopPLogitsWarper: sort ascending, remove while the cumulative mass stays <= 1 - p
    sorted_logits, sorted_idx = torch.sort(scores, descending=False)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    live = torch.isfinite(sorted_logits)
    near = ((cum - (1 - p)).abs() < MARGIN) & live
    if near.any():
        sys.exit(f"sampler_reference.py: top_p {p}: a cumulative mass is within {MARGIN} of the threshold")
    remove_sorted = cum <= (1 - p)
    remove_sorted[-1:] = False  # min_tokens_to_keep = 1
    remove = remove_sorted.scatter(0, sorted_idx, remove_sorted)
    return scores.masked_fill(remove, -float("inf"))


def min_p(scores, mp):
    # MinPLogitsWarper
    probs = torch.softmax(scores, dim=-1)
    scaled = mp * probs.max()
    if (((probs - scaled).abs() < MARGIN * scaled) & (probs > 0)).any():
        sys.exit(f"sampler_reference.py: min_p {mp}: a probability is within the margin of the threshold")
    return scores.masked_fill(probs < scaled, -float("inf"))


def distribution(logits, history, T, k, p, mp, rp, last_n):
    x = torch.tensor(logits, dtype=torch.float64)
    window = history[-last_n:] if last_n > 0 else []
    if rp != 1.0 and window:
        x = repetition_penalty(x, torch.tensor(window, dtype=torch.long), rp)
    if k > 0:
        x = top_k(x, k)
    if T == 0:
        out = torch.zeros_like(x)
        out[int(torch.argmax(x))] = 1.0  # the first maximum, as torch.argmax
        return out
    x = x / T
    if p < 1.0:
        x = top_p(x, p)
    if mp > 0.0:
        x = min_p(x, mp)
    return torch.softmax(x, dim=-1)


def f32(values):
    return [float(v) for v in torch.tensor(values, dtype=torch.float32)]


def cases():
    g = torch.Generator().manual_seed(1234)
    big = f32((torch.randn(1000, generator=g, dtype=torch.float64) * 2.5).tolist())
    hist = torch.randint(0, 1000, (80,), generator=g).tolist()
    hist = hist + hist[:20]  # some repeats: each token is penalised once
    top = sorted(range(1000), key=lambda i: -big[i])[:10]
    hist_top = top[:6] + [top[0], top[0]] + hist[:30]  # penalise some of the likeliest tokens
    nine = f32(NINE)
    # name, logits, history, T, top_k, top_p, min_p, repeat_penalty, repeat_last_n
    return [
        ("nine_T1", nine, [], 1.0, 0, 1.0, 0.0, 1.0, 64),
        ("nine_T0.1", nine, [], 0.1, 0, 1.0, 0.0, 1.0, 64),
        ("nine_T5", nine, [], 5.0, 0, 1.0, 0.0, 1.0, 64),
        ("nine_k3", nine, [], 1.0, 3, 1.0, 0.0, 1.0, 64),
        ("nine_k3_T5", nine, [], 5.0, 3, 1.0, 0.0, 1.0, 64),
        ("nine_topp0.8", nine, [], 1.0, 0, 0.8, 0.0, 1.0, 64),
        ("nine_minp0.05", nine, [], 1.0, 0, 1.0, 0.05, 1.0, 64),
        ("nine_penalty", nine, [3, 3, 7, 2], 1.0, 0, 1.0, 0.0, 1.5, 64),
        ("nine_greedy", nine, [], 0.0, 0, 1.0, 0.0, 1.0, 64),
        ("big_T1", big, [], 1.0, 0, 1.0, 0.0, 1.0, 64),
        ("big_T0.7", big, [], 0.7, 0, 1.0, 0.0, 1.0, 64),
        ("big_k40", big, [], 1.0, 40, 1.0, 0.0, 1.0, 64),
        ("big_topp0.9", big, [], 1.0, 0, 0.9, 0.0, 1.0, 64),
        ("big_topp0.5_T0.7", big, [], 0.7, 0, 0.5, 0.0, 1.0, 64),
        ("big_topp_tiny", big, [], 1.0, 0, 0.0005, 0.0, 1.0, 64),
        ("big_minp0.05", big, [], 1.0, 0, 1.0, 0.05, 1.0, 64),
        ("big_minp0.2_T1.5", big, [], 1.5, 0, 1.0, 0.2, 1.0, 64),
        ("big_penalty1.3", big, hist_top, 1.0, 0, 1.0, 0.0, 1.3, 1000),
        ("big_penalty_last8", big, hist_top, 1.0, 0, 1.0, 0.0, 2.0, 8),
        ("big_penalty_greedy", big, hist_top, 0.0, 0, 1.0, 0.0, 3.0, 64),
        ("big_all", big, hist_top, 0.8, 50, 0.9, 0.02, 1.2, 64),
    ]


def main():
    lines = ["# written by test/sampler_reference.py (PyTorch " + torch.__version__ + "); see its docstring"]
    for name, logits, history, T, k, p, mp, rp, last_n in cases():
        probs = distribution(logits, history, T, k, p, mp, rp, last_n)
        kept = int((probs > 0).sum())
        print(f"  {name:20s} kept {kept:4d} of {len(logits)}")
        lines.append(f"case {name} {T!r} {k} {p!r} {mp!r} {rp!r} {last_n}")
        lines.append(f"logits {len(logits)} " + " ".join(f"{v:.9g}" for v in logits))
        lines.append(f"history {len(history)} " + " ".join(str(h) for h in history))
        lines.append(f"probs {len(probs)} " + " ".join(f"{float(v):.17g}" for v in probs))
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
