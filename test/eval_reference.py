#!/usr/bin/python3
"""Reference perplexities for `gpt2 --eval`, per-token scores for `gpt2 --score` and the perplexity of
`gpt2 --sweep`'s own samples (test/test_explore.py reads them), in PyTorch.

    make gpt2 && /usr/bin/python3 test/eval_reference.py     # rewrites test/fixtures/eval_ref.json

Needs PyTorch and numpy; `make test` does not. The model is GPTModel of Raschka's *Build a Large
Language Model (From Scratch)*, from test/reference.py, loaded in float64 from the same Hugging Face
directories of random weights (test/make_random_model.py, the same sizes and seeds as reference.py's
MODELS). The text is
test/fixtures/eval_text.txt, tokenized by `./gpt2 --encode` (the tokenizer has its own tests
against tiktoken); the ids are stored in the fixture so the test can see they did not change.

The windows follow Hugging Face's perplexity guide ("Perplexity of fixed-length models"):
    for begin in range(0, n, stride): end = min(begin + window, n); score the targets
    [max(prev_end, begin + 1), end) from this window's logits; prev_end = end; stop at end == n.
Unlike the guide, which averages the windows' mean losses, the nll here is the sum over all scored
tokens divided by their number (the exact per-token mean), as the engine reports it.

"score": for each model and the default windows, every scored token's log-probability (log_softmax
at T = 1), rank (1 + the number of larger logits), the 5 most likely ids (ties: the lower id) with
their log-probabilities, and "gap": the smallest distance between the token's logit and any other,
and between the 5th and 6th logits, and "near": how many logits lie within NEAR (1e-5) of the
token's, the ones float32 arithmetic may put on the other side (a rank may differ by that many).
"sweep": the samples `./gpt2 --sweep ... --json` drew on the small model, and the perplexity of each
setting's samples scored here (given the prompt, T = 1), which the engine's must equal.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference  # noqa: E402  (the book's GPTModel and the Hugging Face loader)

TEXT = os.path.join(HERE, "fixtures", "eval_text.txt")
OUT = os.path.join(HERE, "fixtures", "eval_ref.json")
EXE = os.path.join(HERE, "..", "gpt2")
# model -> (context, stride) cases: the defaults (maxT, maxT/2), other strides, a shorter context,
# no overlap (stride = window), and a text that fits one window (first 40 tokens)
CASES = {
    "tiny": [(16, 8, None), (16, 3, None), (16, 16, None), (10, 7, None)],
    "small": [(64, 32, None), (64, 5, None), (48, 48, None), (64, 32, 40)],
}


def nll_sum(model, ids, window, stride):
    total, scored, prev_end = 0.0, 0, 0
    for begin in range(0, len(ids), stride):
        end = min(begin + window, len(ids))
        first = max(prev_end, begin + 1)
        with torch.no_grad():
            logits = model(torch.tensor([ids[begin:end]]))[0]  # (end - begin, V)
        logp = torch.log_softmax(logits, dim=-1)
        for t in range(first, end):
            total -= float(logp[t - 1 - begin, ids[t]])
            scored += 1
        prev_end = end
        if end == len(ids):
            break
    return total, scored


def score_tokens(model, ids, window, stride):
    """Every scored token as --score --json reports it (pos, id, logprob, rank, top 5), plus its gaps."""
    out, prev_end = [], 0
    for begin in range(0, len(ids), stride):
        end = min(begin + window, len(ids))
        first = max(prev_end, begin + 1)
        with torch.no_grad():
            logits = model(torch.tensor([ids[begin:end]]))[0]
        logp = torch.log_softmax(logits, dim=-1)
        for t in range(first, end):
            row, target = logits[t - 1 - begin], ids[t]
            order = sorted(range(row.shape[0]), key=lambda i: (-float(row[i]), i))[:6]
            others = torch.cat([row[:target], row[target + 1:]])
            out.append({"pos": t, "id": target, "logprob": float(logp[t - 1 - begin, target]),
                        "rank": 1 + int((row > row[target]).sum()), "top": order[:5],
                        "top_logprob": [float(logp[t - 1 - begin, i]) for i in order[:5]],
                        "gap": float((others - row[target]).abs().min()),
                        "near": int(((others - row[target]).abs() < NEAR).sum()),
                        "gap5": float(row[order[4]] - row[order[5]])})
        prev_end = end
        if end == len(ids):
            break
    return out


NEAR = 1e-5  # logits this close to the token's may fall on either side of it in float32

SWEEP = ["--sweep", "t=1;t=1,k=40;t=0.7,p=0.9", "-n", "20", "-N", "3"]


def sweep_case(model, small_bin):
    """The engine's --sweep samples and their perplexity under the model, given the prompt."""
    p = subprocess.run([EXE, "-m", small_bin, *SWEEP, "--json"], capture_output=True, check=True)
    prompt = [int(x) for x in subprocess.run([EXE, "--encode", "-p", "Every effort moves you"], capture_output=True,
                                             check=True).stdout.split()]
    rows = []
    for line in p.stdout.decode().splitlines():
        row = json.loads(line)
        total, n = 0.0, 0
        for sample in row["samples"]:
            seq = prompt + sample
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([seq]))[0], dim=-1)
            for t in range(len(prompt), len(seq)):
                total -= float(logp[t - 1, seq[t]])
                n += 1
        rows.append({"setting": row["setting"], "samples": row["samples"], "perplexity": math.exp(total / n)})
        print(f"  sweep {row['setting']}: perplexity {rows[-1]['perplexity']:.6g} (engine {row['perplexity']:.6g})")
    return {"args": SWEEP, "prompt": prompt, "rows": rows}


def main():
    enc = subprocess.run([EXE, "--encode"], stdin=open(TEXT, "rb"), capture_output=True, check=True)
    ids = [int(x) for x in enc.stdout.split()]
    out = {"text": "eval_text.txt", "ids": ids, "cases": [], "score": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cases in CASES.items():
            path = reference.make_model_dir(tmp, name, reference.MODELS[name])
            model, _ = reference.load_hf_dir(path, torch.float64)
            for window, stride, n_ids in cases:
                seq = ids[:n_ids] if n_ids else ids
                total, scored = nll_sum(model, seq, window, stride)
                nll = total / scored
                print(f"  {name}: {len(seq)} tokens, window {window}, stride {stride}: {scored} scored, "
                      f"nll {nll:.6f}, perplexity {torch.tensor(nll).exp():.6g}")
                out["cases"].append({"model": name, "context": window, "stride": stride, "n_tokens": len(seq),
                                     "n_scored": scored, "nll": nll})
            window, stride, _ = cases[0]
            tokens = score_tokens(model, ids, window, stride)
            print(f"  {name}: --score, window {window}, stride {stride}: {len(tokens)} tokens, smallest gaps "
                  f"{min(t['gap'] for t in tokens):.2e} (rank), {min(t['gap5'] for t in tokens):.2e} (top 5)")
            out["score"].append({"model": name, "context": window, "stride": stride, "tokens": tokens})
            if name == "small":
                out["sweep"] = sweep_case(model, os.path.join(HERE, "..", "build", "test", "small.bin"))
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
