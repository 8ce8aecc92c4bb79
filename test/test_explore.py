#!/usr/bin/env python3
"""The CLI's ways to explore a model (--eval, -N, --stop, --draws, --show-probs,
--compare-temperatures), on the random test models. Standard library only.

    python3 test/test_explore.py ./gpt2 build/test build/native/example

--eval against test/fixtures/eval_ref.json (PyTorch, test/eval_reference.py); -N samples (one batch)
each equal to a run with seed + i - 1 alone, and --prompts' samples to each prompt alone; --stop cuts the text before the stop string and prints nothing of
it; --draws counts add up, stay inside top-k, agree with the softmax of the dumped logits
(chi-square) and start with the token generation would draw; --show-probs and
--compare-temperatures charts; every bad input of these options exits 1 or 2 with one line on stderr;
docs/library.md's library example is test/example.c, which builds (make) and runs here.
"""
import json
import math
import os
import sys
import tempfile

from common import FIXTURES, HERE, ROOT, check, finish, ids_of, join_ids, read_f32, run


def test_eval(exe, models):
    with open(os.path.join(FIXTURES, "eval_ref.json")) as f:
        ref = json.load(f)
    text = os.path.join(FIXTURES, ref["text"])
    ids = ids_of(run([exe, "--encode"], stdin=open(text, "rb").read()))
    check("--encode of eval_text.txt differs from the ids in eval_ref.json", ids == ref["ids"])
    with tempfile.TemporaryDirectory() as tmp:
        for c in ref["cases"]:
            path = text
            if c["n_tokens"] != len(ids):  # a prefix of the text, written back from its ids
                path = os.path.join(tmp, "prefix.txt")
                with open(path, "wb") as f:
                    f.write(run([exe, "--decode", "-p", join_ids(ids[:c["n_tokens"]])]).stdout)
            model = os.path.join(models, c["model"] + ".bin")
            p = run([exe, "-m", model, "-c", str(c["context"]), "--stride", str(c["stride"]), "--eval", path])
            out = dict(line.split(": ", 1) for line in p.stdout.decode().splitlines())
            label = f"--eval {c['model']} context {c['context']} stride {c['stride']} ({c['n_tokens']} tokens)"
            if p.returncode != 0:
                check(f"{label}: exit {p.returncode}: {p.stderr.decode().strip()}", False)
                continue
            nll, ppl = float(out["nll"]), float(out["perplexity"])
            scored = int(out["tokens"].split("(")[1].split()[0])
            err = abs(nll - c["nll"])
            check(f"{label}: {scored} tokens scored, reference {c['n_scored']}", scored == c["n_scored"])
            check(f"{label}: nll {nll}, reference {c['nll']:.6f}", err <= 1e-4 + 1e-5 * c["nll"])
            check(f"{label}: perplexity {ppl}", abs(ppl - math.exp(c["nll"])) <= 1e-3 * ppl)
            print(f"  {label}: nll {nll:.6f} vs {c['nll']:.6f} (|diff| {err:.1e}), perplexity {ppl:g}")


def test_samples(exe, model):
    base = [exe, "-m", model, "-t", "1", "-k", "40", "-n", "12"]
    p = run(base + ["-s", "7", "-N", "3"])
    parts = p.stdout.decode("utf-8", "replace").split("--- sample ")[1:]
    check(f"-N 3: exit {p.returncode}, {len(parts)} samples", p.returncode == 0 and len(parts) == 3)
    for i, part in enumerate(parts):
        header, body = part.split("\n", 1)
        check(f"-N 3: header {header!r}", header == f"{i + 1} (seed {7 + i}) ---")
        alone = run(base + ["-s", str(7 + i)]).stdout.decode("utf-8", "replace")
        check(f"-N 3: sample {i + 1} differs from -s {7 + i} alone", body == alone)
    check("-N 3: the samples are not all different", len(set(parts)) == 3)


def test_batches(exe, model):
    """-N and --prompts generate as one batch: every sample equals its prompt and seed alone, with the
    sliding window (-c 8: every step re-runs the window), with --context-shift, with --stop and ids."""
    for extra in ([], ["-c", "8"], ["-c", "9", "--context-shift"], ["--stop", "e"], ["--print-ids", "-k", "5"],
                  ["--repeat-penalty", "1.3", "-T", "1"]):
        base = [exe, "-m", model, "-t", "1", "-n", "20", *extra]
        p = run(base + ["-s", "3", "-N", "12"])
        parts = p.stdout.decode("utf-8", "replace").split("--- sample ")[1:]
        ok = p.returncode == 0 and len(parts) == 12
        for i, part in enumerate(parts):
            header, body = part.split("\n", 1)
            alone = run(base + ["-s", str(3 + i)]).stdout.decode("utf-8", "replace")
            ok = ok and header == f"{i + 1} (seed {3 + i}) ---" and body == alone
        check(f"-N 12 {extra}: every sample equals its seed alone", ok, f"exit {p.returncode}, {len(parts)} samples")
    prompts = ["Every effort moves you", "Hello\\nworld", "", "The meaning of life is", "A\\\\b",
               "one two three four five six seven eight nine ten eleven twelve"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "prompts.txt")
        with open(path, "w") as f:
            f.write("\n".join(prompts) + "\n")
        for extra in ([], ["-c", "6", "--context-shift"], ["--print-ids"]):
            base = [exe, "-m", model, "-t", "1", "-n", "10", *extra]
            p = run(base + ["-s", "21", "--prompts", path, "-N", "2"])
            out = p.stdout.decode("utf-8", "replace")
            want = ""
            for k, text in enumerate(prompts):
                text = text.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")
                for i in range(2):
                    alone = run(base + ["-s", str(21 + i), "-p", text]).stdout.decode("utf-8", "replace")
                    want += f"--- prompt {k + 1}, sample {i + 1} (seed {21 + i}) ---\n" + alone
            check(f"--prompts {extra}: each prompt's samples equal the prompt alone, in file order",
                  p.returncode == 0 and out == want, f"exit {p.returncode}: {out[:300]!r} vs {want[:300]!r}")


def test_stop(exe, model):
    base = [exe, "-m", model, "-t", "1", "-n", "30", "-s", "3"]
    full = run(base).stdout
    prompt = b"Every effort moves you"
    gen = full[len(prompt):-1]
    for start, length in [(10, 3), (25, 6), (1, 1)]:
        stop = gen[start:start + length]
        if not stop or b"\\" in stop or b"\0" in stop:
            continue
        want = prompt + gen[:gen.find(stop)] + b"\n"
        got = run(base + ["--stop", stop.decode("latin-1")]).stdout if stop.isascii() else None
        if got is None:
            continue
        check(f"--stop {stop!r}: {got!r}, expected {want!r}", got == want)
    two = run(base + ["--stop", "zzzqqq", "--stop", gen[5:9].decode("latin-1")]).stdout if gen[5:9].isascii() else None
    if two is not None:
        check("--stop twice: the earliest does not win", two == prompt + gen[:gen.find(gen[5:9])] + b"\n")
    check("--stop that never matches changed the text", run(base + ["--stop", "zzzqqq"]).stdout == full)


def softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def test_draws(exe, model):
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        run([exe, "-m", model, "--dump-logits", f.name])
        logits = read_f32(f.name)
    top = sorted(range(len(logits)), key=lambda i: -logits[i])[:5]
    N = 20000
    p = run([exe, "-m", model, "--draws", str(N), "-t", "1", "-k", "5", "-s", "11"])
    lines = p.stdout.decode().splitlines()[2:]
    counts = {int(l.split()[1]): int(l.split()[0]) for l in lines}
    check(f"--draws {N}: counts add up to {sum(counts.values())}", p.returncode == 0 and sum(counts.values()) == N)
    check(f"--draws -k 5: drew {sorted(set(counts) - set(top))}, outside the top 5", set(counts) <= set(top))
    probs = softmax([logits[i] for i in top])
    chi2 = sum((counts.get(i, 0) - N * q) ** 2 / (N * q) for i, q in zip(top, probs))
    check(f"--draws: chi-square {chi2:.2f} >= 18.47 (4 degrees of freedom, p = 0.001)", chi2 < 18.47)
    print(f"  --draws {N} -t 1 -k 5: chi-square {chi2:.2f} against the softmax of the dumped logits (critical 18.47)")
    one = run([exe, "-m", model, "--draws", "1", "-t", "1", "-s", "9"]).stdout.decode().splitlines()[2].split()[1]
    gen = run([exe, "-m", model, "-n", "1", "-t", "1", "-s", "9", "--print-ids"]).stdout.split()[-1].decode()
    check(f"--draws 1 -s 9 drew {one}, generation -s 9 drew {gen}", one == gen)
    g = run([exe, "-m", model, "--draws", "100"]).stdout.decode().splitlines()[2:]
    check(f"--draws greedy: {g}", len(g) == 1 and g[0].split()[:2] == ["100", str(top[0])])


def test_charts(exe, model):
    p = run([exe, "-m", model, "--show-probs", "7", "-t", "1", "-k", "3"])
    out = p.stdout.decode()
    rows = out.splitlines()[2:]
    check(f"--show-probs 7: exit {p.returncode}, {len(rows)} rows", p.returncode == 0 and len(rows) == 7)
    check("--show-probs: not plain ASCII with at most one marked row when stdout is a pipe",
          sum(r.startswith(">") for r in rows) <= 1 and "\x1b" not in out and "█" not in out)
    plain = run([exe, "-m", model, "-n", "4", "-t", "1", "-s", "5"])
    charted = run([exe, "-m", model, "-n", "4", "-t", "1", "-s", "5", "--show-probs", "3"])
    check("--show-probs with -n changed the text on stdout", plain.stdout == charted.stdout)
    check("--show-probs -n 4: not 4 charts on stderr", charted.stderr.decode().count("new token") == 4)
    check("--show-probs -n 4: the drawn tokens are not marked",
          charted.stderr.decode().count("\n> ") == 4 or charted.stderr.decode().count(">") >= 4)
    p = run([exe, "-m", model, "--compare-temperatures", "1,0.1,5", "--show-probs", "4"])
    lines = p.stdout.decode().splitlines()
    check(f"--compare-temperatures: exit {p.returncode}, {lines[:2]}",
          p.returncode == 0 and len(lines) == 6 and all(t in lines[1] for t in ("T=1", "T=0.1", "T=5")))
    # at T=0.1 the most likely row gets more mass than at T=1, at T=5 less
    cols = [x for x in lines[2][lines[2].rfind('"') + 1:].split() if set(x) - {"#"}]  # id, then p per T
    vals = [float(x) for x in cols[1:]]
    check(f"--compare-temperatures: row 1 {lines[2]!r}", len(vals) == 3 and vals[0] < vals[1] and vals[0] > vals[2])


def test_bad_input(exe, model):
    with tempfile.TemporaryDirectory() as tmp:
        short = os.path.join(tmp, "short.txt")
        open(short, "w").write("Hi")
        empty = os.path.join(tmp, "empty.txt")
        open(empty, "w").close()
        cases = [
            (["--top-p", "0"], 2), (["--top-p", "1.5"], 2), (["--top-p", "x"], 2),
            (["--min-p", "1"], 2), (["--min-p", "-0.1"], 2),
            (["--repeat-penalty", "0"], 2), (["--repeat-penalty", "-1"], 2),
            (["--draws", "0"], 2), (["--draws", "-5"], 2), (["--draws", "abc"], 2),
            (["--compare-temperatures", "1,,2"], 2), (["--compare-temperatures", "1,x"], 2),
            (["--compare-temperatures", ""], 2), (["--compare-temperatures", "1,-1"], 2),
            (["--compare-temperatures", "1,0.1,"], 2), (["--show-probs", "0"], 2), (["-N", "0"], 2),
            (["--stop", ""], 2), (["--stride", "0"], 2), (["--draws", "5", "--eval", short], 2),
            (["--stop", "x", "--print-ids"], 2),
            (["-m", model, "--prompts", os.path.join(tmp, "missing.txt")], 1), (["-m", model, "--prompts", tmp], 1),
            (["-m", model, "--prompts", empty], 1), (["--prompts", short, "-p", "x"], 2),
            (["--prompts", short, "--prompt-ids", "1"], 2), (["--prompts", short, "--draws", "3"], 2),
            (["--prompts", short, "--show-probs", "3"], 2), (["--context-shift", "--encode", "-p", "x"], 2),
            (["--context-shift", "--eval", short], 2),
            (["-m", model, "--eval", os.path.join(tmp, "missing.txt")], 1),
            (["-m", model, "--eval", tmp], 1),
            (["-m", model, "--eval", short], 1), (["-m", model, "--eval", empty], 1),
            (["-m", model, "--eval", short.replace("short", "missing"), "--stride", "99"], 1),
        ]
        for args, status in cases:
            p = run([exe] + args)
            err = p.stderr.decode()
            check(f"{args}: exit {p.returncode} (want {status}), stderr {err!r}",
                  p.returncode == status and err.count("\n") == 1 and err.startswith("gpt2: "))
        p = run([exe, "-m", model, "--eval", os.path.join(FIXTURES, "eval_text.txt"), "--stride", "99"])
        check(f"--stride larger than the window: exit {p.returncode}", p.returncode == 2)


def test_library_example(example, model):
    doc = open(os.path.join(ROOT, "docs", "library.md")).read()
    src = open(os.path.join(HERE, "example.c")).read()
    start = doc.find("```c\n// example.c")
    block = doc[start + 5:doc.find("```\n", start + 5)] if start >= 0 else ""
    check("docs/library.md's library example is not test/example.c verbatim", block == src)
    tok = os.path.join(ROOT, "data", "gpt2_tokenizer.bin")
    p = run([example, model, tok, "Every effort moves you"])
    out = p.stdout.decode("utf-8", "replace")
    check(f"the README example: exit {p.returncode}, {out[:80]!r} {p.stderr.decode()[:200]}",
          p.returncode == 0 and out.startswith("most likely next token: ") and out.rstrip().endswith("tokens"))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: test_explore.py ./gpt2 build/test build/native/example")
    exe, models, example = sys.argv[1:]
    small = os.path.join(models, "small.bin")
    test_eval(exe, models)
    test_samples(exe, small)
    test_batches(exe, small)
    test_stop(exe, small)
    test_draws(exe, small)
    test_charts(exe, small)
    test_bad_input(exe, small)
    test_library_example(example, small)
    sys.exit(finish("test_explore"))


if __name__ == "__main__":
    main()
