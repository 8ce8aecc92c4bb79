#!/usr/bin/env python3
"""The CLI's ways to explore a model (--eval, -N, --stop, --draws, --show-probs,
--compare-temperatures, --score, --json, --sweep), on the random test models. Standard library only.

    python3 test/test_explore.py ./gpt2 build/test build/native/example

--eval, --score and --sweep's perplexity against test/fixtures/eval_ref.json (PyTorch,
test/eval_reference.py); --score's marks on a model of known ranks; --json's bytes back; -N samples (one
batch) each equal to a run with seed + i - 1 alone, and --prompts' samples to each prompt alone; --stop
cuts the text before the stop string and prints nothing of
it; --draws counts add up, stay inside top-k, agree with the softmax of the dumped logits
(chi-square) and start with the token generation would draw; --show-probs and
--compare-temperatures charts; the charts fit 80 columns (display width: wide characters, escapes of
invisible tokens), also on a pseudo-terminal, with and without NO_COLOR; every bad input of these options exits 1 or 2 with one line on stderr;
docs/library.md's library example is test/example.c, which builds (make) and runs here.
"""
import collections
import fcntl
import json
import math
import os
import pty
import re
import struct
import subprocess
import sys
import tempfile
import termios
import unicodedata

from common import (FIXTURES, HERE, ROOT, check, draw_counts, finish, logit_checkpoint, ids_of, join_ids, rank_checkpoint,
                    read_f32, run)


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
    counts = draw_counts(p)
    check(f"--draws {N}: counts add up to {sum(counts.values())}", p.returncode == 0 and sum(counts.values()) == N)
    check(f"--draws -k 5: drew {sorted(set(counts) - set(top))}, outside the top 5", set(counts) <= set(top))
    probs = softmax([logits[i] for i in top])
    chi2 = sum((counts.get(i, 0) - N * q) ** 2 / (N * q) for i, q in zip(top, probs))
    check(f"--draws: chi-square {chi2:.2f} >= 18.47 (4 degrees of freedom, p = 0.001)", chi2 < 18.47)
    print(f"  --draws {N} -t 1 -k 5: chi-square {chi2:.2f} against the softmax of the dumped logits (critical 18.47)")
    one = str(next(iter(draw_counts(run([exe, "-m", model, "--draws", "1", "-t", "1", "-s", "9"])))))
    gen = run([exe, "-m", model, "-n", "1", "-t", "1", "-s", "9", "--print-ids"]).stdout.split()[-1].decode()
    check(f"--draws 1 -s 9 drew {one}, generation -s 9 drew {gen}", one == gen)
    g = run([exe, "-m", model, "--draws", "100"]).stdout.decode().splitlines()[2:]
    check(f"--draws greedy: {g}", len(g) == 1 and g[0].split()[:3] == ["100", "100.00%", str(top[0])])


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


# Tokens that are hard to show (GPT-2's ids): wide, emoji, invisible, a lone combining mark.
HARD = {24731: "ドラゴン", 4707: "・", 9525: "\\u200b", 24333: "\\u064e", 24398: "\\u200e", 32485: " 🙂",
        3907: "\\u00ad", 35496: "ÃÂÃÂ", 11: ",", 40: "I"}


def display_width(line):
    """Terminal columns of a line (wcwidth's rules), colour codes left out."""
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    return sum(0 if unicodedata.category(c) in ("Mn", "Me", "Cf") else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def run_tty(args, cols, env):
    """args with stdout and stderr on a pseudo-terminal of cols columns: what it printed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not data:
            break
        out += data
    p.wait()
    os.close(master)
    return out.decode("utf-8", "replace").replace("\r\n", "\n")


def test_widths(exe):
    """The charts at 80 (and 60, 132) columns: every line fits, tokens of wide characters stay
    aligned, invisible ones are escaped; on a terminal its own width wins over $COLUMNS, and
    NO_COLOR removes the colour only."""
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "hard.bin")
        logit_checkpoint(model, {i: 4.0 - 0.1 * k for k, i in enumerate(HARD)})
        charts = {"--show-probs": ["--show-probs", "10", "-t", "1", "-k", "8", "--top-p", "0.9", "--min-p", "0.01",
                                   "--repeat-penalty", "1.3"],
                  "--show-probs -n": ["--show-probs", "10", "-n", "2", "-t", "1", "--repeat-penalty", "1.1"],
                  "--compare-temperatures": ["--compare-temperatures", "1,0.1,5,2,0.5,3", "-k", "9"],
                  "--draws": ["--draws", "3000", "-t", "2", "--show-probs", "6"]}
        for cols in (80, 60, 132):
            env = dict(os.environ, COLUMNS=str(cols))
            for name, args in charts.items():
                p = run([exe, "-m", model, *args], env=env)
                out = (p.stdout + p.stderr).decode("utf-8", "replace")
                wide = [l for l in out.splitlines() if display_width(l) > cols]
                check(f"{name} at COLUMNS={cols}: exit {p.returncode}, every line fits", p.returncode == 0 and not wide,
                      f"{len(wide)} lines wider, e.g. {wide[:1]}")
                if cols != 80 or name == "--draws":
                    continue
                rows = [l for l in out.splitlines() if re.match(r"^[ >] +\d+ \"", l) or re.match(r"^ *\d+ \"", l)]
                ends = {display_width(l[:re.search(r'" +\d+', l).end()]) for l in rows}
                check(f"{name}: the id column ends at one column in all {len(rows)} rows (wide tokens included)",
                      len(rows) >= 10 and len(ends) == 1, f"{sorted(ends)}: {rows[:3]}")
                for esc in ("\\u200b", "\\u200e", "\\u00ad", "\\u064e", "ドラゴン", "🙂"):
                    check(f"{name}: {esc} shown", esc in out, out[:300])
                check(f"{name}: no invisible character left raw", not re.search("[\u200b\u200e\u00ad]", out))
        p = run([exe, "-m", model, "--draws", "3000", "-t", "2", "--show-probs", "6"])
        lines = p.stdout.decode().splitlines()[2:]
        shares = sum(float(l.split()[1].rstrip("%")) for l in lines)
        check(f"--draws --show-probs 6: 6 rows, the last the others, shares add up ({shares:.2f}%)",
              len(lines) == 6 and "other tokens" in lines[-1] and abs(shares - 100) < 0.05, "\n".join(lines))
        # on a terminal: its width (70), not $COLUMNS; Unicode bars and colour, NO_COLOR: bars, no colour
        env = dict(os.environ, COLUMNS="200")
        env.pop("NO_COLOR", None)
        tty = run_tty([exe, "-m", model, "--show-probs", "10", "-t", "0.05"], 70, env)
        check("on a 70-column terminal: every line fits though COLUMNS=200",
              all(display_width(l) <= 70 for l in tty.splitlines()) and len(tty.splitlines()) >= 12, tty)
        check("on a terminal: block bars and colour", "█" in tty and "\x1b[" in tty, tty[:200])
        env["NO_COLOR"] = "1"
        tty = run_tty([exe, "-m", model, "--show-probs", "10", "-t", "0.05"], 70, env)
        check("NO_COLOR: block bars still, no colour", "█" in tty and "\x1b[" not in tty, tty[:200])


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


def json_lines(p):
    return [json.loads(line) for line in p.stdout.decode().splitlines()]


def test_score(exe, models):
    """--score against the PyTorch fixture: log-probabilities within 1e-4, ranks and top 5 identical
    (a rank may differ only by the logits within 1e-5 of the token's, "near"), the summary's nll that
    of --eval; the text view is the text with its bucket marks."""
    with open(os.path.join(FIXTURES, "eval_ref.json")) as f:
        ref = json.load(f)
    text = os.path.join(FIXTURES, ref["text"])
    for case in ref["score"]:
        model = os.path.join(models, case["model"] + ".bin")
        p = run([exe, "-m", model, "--score", text, "--json"])
        lines = json_lines(p)
        toks, summary = lines[:-1], lines[-1]
        label = f"--score {case['model']}"
        if not check(f"{label}: exit {p.returncode}, {len(toks)} tokens", p.returncode == 0
                     and len(toks) == len(case["tokens"]) and summary.get("summary") is True):
            continue
        worst = max(max([abs(a["logprob"] - b["logprob"])] + [abs(x["logprob"] - y)
                                                              for x, y in zip(a["top"], b["top_logprob"])])
                    for a, b in zip(toks, case["tokens"]))
        check(f"{label}: log-probabilities (token and top 5) within 1e-4 of PyTorch, worst {worst:.1e}", worst <= 1e-4)
        bad = [(a["pos"], a["rank"], b["rank"], b["near"]) for a, b in zip(toks, case["tokens"])
               if abs(a["rank"] - b["rank"]) > b["near"]]
        ties = sum(a["rank"] != b["rank"] for a, b in zip(toks, case["tokens"]))
        check(f"{label}: ranks equal PyTorch's (pos, ours, its, logits within 1e-5)", not bad, f"{bad[:5]}")
        top = [a["pos"] for a, b in zip(toks, case["tokens"]) if [t["id"] for t in a["top"]] != b["top"]]
        check(f"{label}: the top 5 ids equal PyTorch's", not top, f"at positions {top[:5]}")
        check(f"{label}: ids and positions", [(a["pos"], a["id"]) for a in toks] ==
              [(b["pos"], b["id"]) for b in case["tokens"]])
        ev = dict(line.split(": ", 1) for line in run([exe, "-m", model, "--eval", text]).stdout.decode().splitlines())
        check(f"{label}: summary nll {summary['nll']} is --eval's {ev['nll']}", abs(summary["nll"] - float(ev["nll"])) < 2e-6)
        mean = -sum(a["logprob"] for a in toks) / len(toks)
        check(f"{label}: the summary's nll is the mean of the tokens' ({mean})", abs(mean - summary["nll"]) < 1e-6)
        print(f"  {label}: {len(toks)} tokens, log-probabilities within {worst:.1e} of PyTorch, "
              f"{ties} rank(s) off by a near-tie")
        plain = run([exe, "-m", model, "--score", text])
        out = plain.stdout.decode("utf-8")
        body, _, tail = out.partition("\n\n")[2].rpartition("\n\n")
        summary_lines = dict(line.split(": ", 1) for line in tail.splitlines())
        check(f"{label}: the text view without its marks is the text", re.sub(r"[][(){}]", "", body) ==
              open(text, encoding="utf-8").read().rstrip("\n") or re.sub(r"[][(){}]", "", body) ==
              open(text, encoding="utf-8").read(), body[:200])
        check(f"{label}: the text view's summary has --eval's nll and perplexity",
              summary_lines.get("nll") == ev["nll"] and summary_lines.get("perplexity") == ev["perplexity"], tail)


def test_score_marks(exe, tmp):
    """GLTR's buckets on a model whose ranks are known by hand (common.rank_checkpoint): the text view's
    brackets, the JSON ranks, the summary's shares; invalid UTF-8 in --json recovered by surrogateescape."""
    text = "Every effort moves you closer"
    ids = ids_of(run([exe, "--encode", "-p", text]))
    want = {ids[1]: 1, ids[2]: 50, ids[3]: 500}  # ids[4] is not placed: beyond (rank 1101)
    model = os.path.join(tmp, "ranks.bin")
    rank_checkpoint(model, want)
    path = os.path.join(tmp, "marks.txt")
    open(path, "w").write(text)
    p = run([exe, "-m", model, "--score", path])
    out = p.stdout.decode()
    check(f"--score marks: exit {p.returncode}; {out!r}", p.returncode == 0 and
          "\nEvery effort( moves)[ you]{ closer}\n" in out and "top 10: 1 (25.0%), top 100: 1 (25.0%), "
          "top 1000: 1 (25.0%), beyond: 1 (25.0%)" in out)
    ranks = [t["rank"] for t in json_lines(run([exe, "-m", model, "--score", path, "--json"]))[:-1]]
    check(f"--score marks: ranks {ranks}", ranks == [1, 50, 500, 1101])
    data = b"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xff\xfe ok \xf0\x9f\x99\x82!"
    path = os.path.join(tmp, "bytes.txt")
    open(path, "wb").write(data)
    ids = ids_of(run([exe, "--encode"], stdin=data))
    first = run([exe, "--decode", "-p", str(ids[0])]).stdout
    toks = json_lines(run([exe, "-m", model, "--score", path, "--json"]))[:-1]
    back = first + b"".join(t["token"].encode("utf-8", "surrogateescape") for t in toks)
    check(f"--json: the token bytes back through surrogateescape ({len(ids)} tokens)", back == data, repr(back))
    check("--json: invalid UTF-8 written as \\udcXX", any("\udcff" in t["token"] for t in toks))


def test_generate_json(exe, model):
    """--json for generation: one object per new token (plain log-probability, rank, the sampled
    probability, top alternatives), one summary per sample, streamed as it comes."""
    p = run([exe, "-m", model, "-t", "1", "-k", "40", "-n", "6", "-N", "2", "--json", "--top-logprobs", "3"])
    lines = json_lines(p)
    toks = [l for l in lines if "summary" not in l]
    sums = [l for l in lines if "summary" in l]
    check(f"generation --json: exit {p.returncode}, 12 tokens and 2 summaries", p.returncode == 0
          and len(toks) == 12 and [s["sample"] for s in sums] == [1, 2] and [s["seed"] for s in sums] == [42, 43])
    ids = ids_of(run([exe, "-m", model, "-t", "1", "-k", "40", "-n", "6", "-s", "43", "--print-ids"]))
    check("generation --json: sample 2's ids are -s 43's", [t["id"] for t in toks if t["sample"] == 2] == ids[-6:])
    check("generation --json: each token has 3 alternatives, sampled_prob within (0, 1], rank >= 1",
          all(len(t["top"]) == 3 and 0 < t["sampled_prob"] <= 1 and t["rank"] >= 1 and t["logprob"] < 0 for t in toks))
    check("generation --json: the top alternative has the best log-probability",
          all(t["top"][0]["logprob"] >= t["logprob"] and (t["rank"] > 1 or t["top"][0]["id"] == t["id"]) for t in toks))
    nll = -sum(t["logprob"] for t in toks if t["sample"] == 1) / 6
    check(f"generation --json: summary nll {sums[0]['nll']} = mean of its tokens' ({nll})", abs(sums[0]["nll"] - nll) < 1e-6)
    greedy = json_lines(run([exe, "-m", model, "-n", "3", "--json"]))
    check("generation --json greedy: sampled_prob 1, rank 1", all(t["sampled_prob"] == 1 and t["rank"] == 1
                                                                  for t in greedy[:-1]))
    s = subprocess.Popen([exe, "-m", model, "-t", "1", "-n", "100000", "--eos", "-1", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    first = s.stdout.readline()  # arrives while the run goes on: each line is flushed
    alive = s.poll() is None
    s.kill()
    s.communicate()
    check("generation --json streams: the first line arrives while generation goes on",
          alive and json.loads(first)["pos"] == 4)


def zipf_of(samples):
    counts = sorted(collections.Counter(t for s in samples for t in s).values(), reverse=True)[:5000]
    xs = [math.log(r + 1) for r in range(len(counts))]
    ys = [math.log(c) for c in counts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return -sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def distinct(samples, n):
    grams = [tuple(s[i:i + n]) for s in samples for i in range(len(s) - n + 1)]
    return len(set(grams)) / len(grams)


def test_sweep(exe, model):
    """--sweep: its samples and perplexity against the PyTorch fixture (the perplexity of its own
    samples scored there), each setting's samples those of generation with the same flags and seeds
    (whose per-token log-probabilities give the same perplexity), distinct-n and Zipf recomputed
    here, greedy samples (all identical) with Self-BLEU-4 1, the table's rows."""
    with open(os.path.join(FIXTURES, "eval_ref.json")) as f:
        ref = json.load(f)["sweep"]
    p = run([exe, "-m", model, *ref["args"], "--json"])
    rows = json_lines(p)
    check(f"--sweep --json: exit {p.returncode}, {len(rows)} rows", p.returncode == 0 and len(rows) == len(ref["rows"]))
    for row, want in zip(rows, ref["rows"]):
        label = f"--sweep {row['setting']}"
        check(f"{label}: the samples of the fixture", row["samples"] == want["samples"])
        err = abs(row["perplexity"] - want["perplexity"]) / want["perplexity"]
        check(f"{label}: perplexity {row['perplexity']} vs PyTorch {want['perplexity']:.6g}", err < 1e-4)
        flags = ["-" + kv.replace("=", " ").replace("p ", "-top-p ") for kv in row["setting"].split(",")]
        gen = [exe, "-m", model, "-n", "20", "-N", "3", "--json"] + " ".join(flags).split()
        toks = [t for t in json_lines(run(gen)) if "summary" not in t]
        same = [[t["id"] for t in toks if t["sample"] == k + 1] for k in range(3)]
        check(f"{label}: the samples of {' '.join(gen[3:])}", same == row["samples"], f"{same} vs {row['samples']}")
        ppl = math.exp(-sum(t["logprob"] for t in toks) / len(toks))
        check(f"{label}: perplexity {row['perplexity']} = that of generation's log-probabilities ({ppl})",
              abs(ppl - row["perplexity"]) <= 1e-6 * ppl)
        for key, value in [("distinct1", distinct(row["samples"], 1)), ("distinct2", distinct(row["samples"], 2)),
                           ("zipf", zipf_of(row["samples"]))]:
            check(f"{label}: {key} {row[key]} (here {value})", abs(row[key] - value) < 1e-6)
        print(f"  {label}: perplexity {row['perplexity']:.6g} vs PyTorch {want['perplexity']:.6g} (rel {err:.1e}), "
              f"self-BLEU-4 {row['self_bleu4']:.4f}, distinct-2 {row['distinct2']:.4f}, zipf {row['zipf']:.3f}")
    greedy = json_lines(run([exe, "-m", model, "-n", "10", "-N", "3", "--sweep", "t=0;rp=1.5", "--json"]))
    check(f"--sweep t=0: identical samples, Self-BLEU-4 {greedy[0]['self_bleu4']}",
          len(set(map(tuple, greedy[0]["samples"]))) == 1 and greedy[0]["self_bleu4"] == 1)
    table = run([exe, "-m", model, "-n", "8", "--sweep", "t=1;t=1,k=40"]).stdout.decode().splitlines()
    check(f"--sweep table: a title, a header, two rows: {table}", len(table) == 4 and table[1].split()[:3] ==
          ["setting", "samples", "tokens"] and table[2].split()[:3] == ["t=1", "4", "32"])


def test_library_example(example, model):
    doc = open(os.path.join(ROOT, "docs", "library.md")).read()
    src = open(os.path.join(HERE, "example.c")).read()
    start = doc.find("```c\n// example.c")
    block = doc[start + 5:doc.find("```\n", start + 5)] if start >= 0 else ""
    check("docs/library.md's library example is not test/example.c verbatim", block == src)
    tok = os.path.join(ROOT, "data", "gpt2_tokenizer.bin")
    p = run([example, model, tok, "Every effort moves you"])
    out = p.stdout.decode("utf-8", "replace")
    last = out.rstrip().rsplit("\n", 1)[-1].split()
    new = int(last[0]) if len(last) == 3 and last[0].isdigit() and last[1:] == ["new", "tokens"] else -1
    check(f"the library example: exit {p.returncode}, {out[:80]!r} {p.stderr.decode()[:200]}",
          p.returncode == 0 and out.startswith("most likely next token: ") and 1 <= new <= 20)


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
    test_widths(exe)
    test_bad_input(exe, small)
    test_score(exe, models)
    with tempfile.TemporaryDirectory() as tmp:
        test_score_marks(exe, tmp)
    test_generate_json(exe, small)
    test_sweep(exe, small)
    test_library_example(example, small)
    sys.exit(finish("test_explore"))


if __name__ == "__main__":
    main()
