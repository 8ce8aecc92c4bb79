#!/usr/bin/python3
"""Reference perplexities for `gpt2 --eval` (test/test_explore.py reads them), in PyTorch.

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
"""
import json
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


def main():
    enc = subprocess.run([EXE, "--encode"], stdin=open(TEXT, "rb"), capture_output=True, check=True)
    ids = [int(x) for x in enc.stdout.split()]
    out = {"text": "eval_text.txt", "ids": ids, "cases": []}
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
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
