#!/usr/bin/env python3
"""Faults from outside while gpt2 runs: the checkpoint truncated under it (SIGBUS from the mapping:
one line, exit 1) or replaced by rename (harmless), four processes on one checkpoint, too little
address space (ulimit -v: a message and exit 1 at every limit, never a signal), more threads than
cores (a warning, the same output), Ctrl-C during --eval, --score and --sweep (the result so far,
marked partial, exit 130).

    python3 test/test_faults.py ./gpt2 build/random_checkpoint build/test/small.bin
"""
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from common import check, finish, run

GEN = ["-p", "Every effort moves you", "--eos", "-1", "--print-ids"]


def start(exe, model, *args):
    """gpt2 generating without end from model; returns once it has printed its first ids."""
    p = subprocess.Popen([exe, "-m", model, *GEN, "-n", "16000000", "-c", "8", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(64)  # the prompt's ids and the first new ones: the model is loaded and running
    return p


def test_truncated(exe, tmp, models):
    for name, model, args in models:
        copy = os.path.join(tmp, "truncated.bin")
        shutil.copy(model, copy)
        p = start(exe, copy, *args)
        os.truncate(copy, 1024)
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        err = err.decode().strip()
        check(f"{name} truncated while generating: exit {p.returncode}, expected 1, one line: {err!r}",
              p.returncode == 1 and err == f"gpt2: {copy}: changed or truncated while in use")


def test_renamed(exe, tmp, model, other):
    path, new = os.path.join(tmp, "renamed.bin"), os.path.join(tmp, "new.bin")
    shutil.copy(model, path)
    solo = run([exe, "-m", model, *GEN, "-n", "300", "-c", "8"]).stdout
    p = subprocess.Popen([exe, "-m", path, *GEN, "-n", "300", "-c", "8"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, bufsize=0)  # unbuffered: communicate() reads the rest
    first = p.stdout.read(32)
    shutil.copy(other, new)
    os.replace(new, path)  # the mapping keeps the old file
    out, err = p.communicate(timeout=120)
    check(f"checkpoint replaced by rename while generating: exit {p.returncode}, same ids ({err.decode()[:200]})",
          p.returncode == 0 and first + out == solo)


def test_four_at_once(exe, model):
    args = [exe, "-m", model, "-p", "Every effort moves you", "-n", "40", "-t", "1", "-k", "20"]
    solo = [run(args + ["-s", str(s)]).stdout for s in range(4)]
    ps = [subprocess.Popen(args + ["-s", str(s)], stdout=subprocess.PIPE) for s in range(4)]
    outs = [p.communicate(timeout=120)[0] for p in ps]
    check("four processes on one checkpoint: each output equals its solo run",
          all(p.returncode == 0 for p in ps) and outs == solo)


def test_address_space(exe, models):
    """Every limit from one that cannot even start the program up to one that fits: exit 0, or exit 1
    with one line naming what could not be allocated; never a signal."""
    limits = [16 << 20, 32 << 20, 48 << 20, 64 << 20, 96 << 20, 128 << 20, 192 << 20, 256 << 20, 512 << 20]
    for name, model, args in models:
        seen = set()
        for limit in limits:
            def pre(limit=limit):
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            p = run([exe, "-m", model, *GEN, "-n", "3", *args], preexec_fn=pre)
            err = p.stderr.decode().strip()
            ok = p.returncode == 0 or (p.returncode == 1 and err and "\n" not in err and
                                       ("out of memory for" in err or "cannot map" in err))
            ok = ok or (p.returncode == 127 and "error while loading shared libraries" in err)  # before main
            check(f"{name} under ulimit -v {limit >> 20} MB: exit {p.returncode}: {err[:300]!r}", ok)
            seen.add(p.returncode)
        check(f"{name}: some limit too small and some large enough ({sorted(seen)})", seen == {0, 1})


def test_threads(exe, model):
    cores = os.cpu_count() or 1
    args = [exe, "-m", model, "-p", "Every effort moves you", "-n", "20", "-t", "1", "-s", "3"]
    many = run(args + ["-T", str(cores * 8)])
    few = run(args + ["-T", str(cores)])
    err = many.stderr.decode()
    check(f"-T {cores * 8} on {cores} cores: one warning, the same text ({err!r})",
          many.returncode == 0 and many.stdout == few.stdout and err.count("\n") == 1
          and "more threads than cores" in err)


def interrupt(args, ready, wait=0.0):
    """gpt2 ARGS, Ctrl-C (SIGINT) once ready(stdout so far) holds or, for None, after 3 s, and then
    `wait` times the seconds that took: (exit status, all of stdout, stderr)."""
    start = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got = b""
    if ready is None:
        time.sleep(3)
    else:
        while not ready(got):
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            got += data
    time.sleep(wait * (time.monotonic() - start))
    p.send_signal(signal.SIGINT)
    try:
        rest, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, err = p.communicate()
    return p.returncode, got + rest, err


def test_interrupt(exe, tmp, model):
    """Ctrl-C during --eval, --score and --sweep, on a model slow enough to be caught in the middle
    (windows of 256 tokens moving by 1): the result so far in a finished run's form, marked partial,
    exit 130, nothing on stderr."""
    text = os.path.join(tmp, "long.txt")
    with open(text, "w") as f:
        f.write("The quick brown fox jumps over the lazy dog, and then it runs away into the woods. " * 200)
    slow = [exe, "-m", model, "-c", "256", "--stride", "1"]
    code, out, err = interrupt(slow + ["--eval", text], None)
    res = dict(line.split(": ", 1) for line in out.decode().splitlines())
    scored, total = (int(x) for x in res.get("partial", "after 0 of 0 tokens").split()[2:5:2])
    check(f"Ctrl-C during --eval: exit {code}, the result so far marked partial: {out[-300:]!r} {err[-300:]!r}",
          code == 130 and not err and 0 < scored < total and res["tokens"].startswith(f"{total + 1} ({scored} scored)")
          and float(res["nll"]) > 0 and abs(math.exp(float(res["nll"])) / float(res["perplexity"]) - 1) < 1e-5)
    code, out, err = interrupt(slow + ["--score", text, "--json"], lambda got: got.count(b"\n") >= 300)
    lines = [json.loads(line) for line in out.decode().splitlines()]
    toks, summary = lines[:-1], lines[-1]
    mean = -sum(t["logprob"] for t in toks) / max(len(toks), 1)
    check(f"Ctrl-C during --score --json: exit {code}, {len(toks)} tokens, then a summary marked partial",
          code == 130 and not err and summary.get("partial") is True and summary["scored"] == len(toks) >= 300
          and abs(summary["nll"] - mean) < 1e-6, f"{summary} {err[-300:]!r}")
    code, out, err = interrupt(slow + ["--score", text], lambda got: len(got) > 2000)
    tail = out.decode().splitlines()[-6:]
    check(f"Ctrl-C during --score: exit {code}, the text so far, then the summary marked partial: {str(tail)[-400:]}",
          code == 130 and not err and tail[0].startswith("tokens: ") and tail[-1].startswith("partial: interrupted after"))
    # once the first setting's row is out, a third of the time it took: in the middle of the second
    # setting, which costs about as much, on a machine of any speed
    code, out, err = interrupt([exe, "-m", model, "-n", "400", "-t", "1", "--sweep", "t=1;t=1,k=40;t=1,p=0.9;t=0.5"],
                               lambda got: got.count(b"\n") >= 3, wait=1 / 3)
    lines = out.decode().splitlines()
    check(f"Ctrl-C during --sweep: exit {code}, the rows so far (the last one partial), then 'partial': {lines[-4:]}",
          code == 130 and not err and len(lines) == 5 and lines[3].startswith("t=1,k=40 ")
          and lines[-1].startswith("partial: "))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: test_faults.py ./gpt2 build/random_checkpoint build/test/small.bin")
    exe, maker, small = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        # a model large enough that its mapping and allocations matter: 2 layers, C 256, V 50257
        models = []
        for dtype in ["fp32", "bf16", "int8"]:
            path = os.path.join(tmp, f"medium_{dtype}.bin")
            subprocess.run([maker, path, "2", "4", "256", "1024", "50257", dtype], check=True)
            models.append((dtype, path, []))
        models.append(("fp32 --quantize int8", models[0][1], ["--quantize", "int8"]))
        if hasattr(signal, "SIGBUS"):
            test_truncated(exe, tmp, models)
        test_renamed(exe, tmp, small, models[0][1])
        test_four_at_once(exe, models[0][1])
        if "ASAN_OPTIONS" in os.environ:  # AddressSanitizer reserves terabytes of address space
            print("test_faults: ulimit -v skipped under AddressSanitizer")
        else:
            test_address_space(exe, models + [("fp32 -c 1024", models[0][1], ["-c", "1024"])])
        test_threads(exe, small)
        test_interrupt(exe, tmp, models[0][1])
    sys.exit(finish("test_faults"))


if __name__ == "__main__":
    main()
