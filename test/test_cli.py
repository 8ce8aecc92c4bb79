#!/usr/bin/env python3
"""The CLI's generate() semantics, --encode/--decode, -f, --no-special, -v and --version, end to end.
Standard library.

    python3 test/test_cli.py ./gpt2 build/test/tiny.bin TMPDIR

Ties cannot be arranged in a random model, so this test writes its own checkpoint whose logits do
not depend on the input (common.logit_checkpoint): tokens 3, 7 and 9 tie at 1.0, token 11 has 0.5,
every other token 0.
"""
import os
import struct
import sys

from common import check, draw_counts, dump_logits, finish, ids_of, join_ids, logit_checkpoint, run

V, C, MAXT = 50257, 4, 8  # V: GPT-2's, so the real tokenizer fits
TIED, NEXT = (3, 7, 9), 11


def tie_checkpoint(path):
    """A float32 checkpoint (L = NH = 1) whose logits are wte[i][0]: TIED at 1.0, NEXT at 0.5."""
    logit_checkpoint(path, {**{i: 1.0 for i in TIED}, NEXT: 0.5}, V=V, C=C, maxT=MAXT)


def check_ties(exe, model, tmp):
    base = [exe, "-m", model, "-p", "Every effort moves you"]
    # --dump-logits: V little-endian float32, exactly the logits the checkpoint was built to give
    data, err = dump_logits(exe, base[1:], os.path.join(tmp, "logits.f32"))
    data = data or b""
    want = [1.0 if i in TIED else 0.5 if i == NEXT else 0.0 for i in range(V)]
    check("--dump-logits writes V little-endian float32 values",
          len(data) == 4 * V and list(struct.unpack(f"<{V}f", data)) == want,
          f"{len(data)} bytes (want {4 * V}) {err}")

    # temperature 0: torch.argmax, the lowest id among equal maxima, at every step
    p = run(base + ["--print-ids", "-n", "5"])
    check("-t 0 is argmax with the lowest id on ties", ids_of(p)[4:] == [TIED[0]] * 5, f"got {ids_of(p)[4:]}")

    # top-k keeps every logit not below the k-th largest: -k 1 and -k 3 keep the three tied tokens
    # and nothing else; -k 4 adds the next one
    for k, allowed in (("1", set(TIED)), ("3", set(TIED)), ("4", set(TIED) | {NEXT})):
        p = run(base + ["--draws", "3000", "-t", "1", "-k", k, "-s", "5"])
        drawn = set(draw_counts(p))
        check(f"-k {k} keeps the ties: draws land on exactly {sorted(allowed)}", drawn == allowed,
              f"exit {p.returncode}, drawn {sorted(drawn)} {p.stderr.decode().strip()}")

    # the end-of-text id: neither appended nor printed (the model's greedy choice is token 3)
    for fmt in ([], ["--print-ids"]):
        p = run(base + ["-n", "5", "--eos", str(TIED[0])] + fmt)
        want = b"6109 3626 6100 345\n" if fmt else b"Every effort moves you\n"
        check(f"--eos stops before the end-of-text token {fmt}", p.returncode == 0 and p.stdout == want,
              f"exit {p.returncode}, stdout {p.stdout!r}")
    # a context smaller than the prompt: the model sees the last tokens only, the output has them all
    p = run(base + ["--print-ids", "-n", "3", "-c", "2"])
    check("-c 2 with a 4-token prompt prints the whole prompt, then the new ids",
          ids_of(p) == [6109, 3626, 6100, 345, 3, 3, 3], f"exit {p.returncode}, got {ids_of(p)}")


def check_text_and_ids(exe, model):
    # --print-ids: the prompt's ids, then the new ones, space-separated on one line; the text output
    # is the decoding of that same sequence
    for prompt in ("Every effort moves you", ""):
        args = [exe, "-m", model, "-p", prompt, "-n", "20", "-t", "1", "-k", "40", "-s", "3", "--eos", "-1"]
        ids_p, text_p = run(args + ["--print-ids"]), run(args)
        lines = ids_p.stdout.decode().split("\n")
        ids = ids_of(ids_p)
        prompt_ids = [50256] if prompt == "" else [6109, 3626, 6100, 345]
        check(f"--print-ids of {prompt!r}: prompt ids then new ids on one line",
              ids_p.returncode == 0 and len(lines) == 2 and lines[1] == "" and ids[:len(prompt_ids)] == prompt_ids
              and len(ids) == len(prompt_ids) + 20, f"exit {ids_p.returncode}, stdout {ids_p.stdout[:120]!r}")
        dec = run([exe, "--decode", "-p", join_ids(ids)])
        check(f"text output of {prompt!r} is the decoding of the --print-ids sequence",
              text_p.returncode == 0 and text_p.stdout == dec.stdout + b"\n",
              f"{text_p.stdout[:80]!r} vs {dec.stdout[:80]!r}")


def check_encode_decode(exe):
    text = "Every effort moves you"
    a, b = run([exe, "--encode", "-p", text]), run([exe, "--encode"], stdin=text.encode())
    check("--encode: -p TEXT and stdin give GPT-2's ids of the text", a.stdout == b.stdout == b"6109 3626 6100 345\n",
          f"{a.stdout!r} {b.stdout!r}")
    check("--encode of empty stdin prints an empty line", run([exe, "--encode"]).stdout == b"\n")
    # any bytes: a UTF-8 character split across tokens, invalid UTF-8, NUL, <|endoftext|>
    raw = "日本語 naïve 🤷🏽‍♀️".encode() + b"\xff\xfe\x00 x<|endoftext|>\r\n"
    enc = run([exe, "--encode"], stdin=raw)
    ids = ids_of(enc)
    check("--encode of <|endoftext|> in the text gives 50256", 50256 in ids, f"{ids}")
    for how, p in (("-p", run([exe, "--decode", "-p", join_ids(ids)])),
                   ("stdin", run([exe, "--decode"], stdin=enc.stdout))):
        check(f"--decode ({how}) writes exactly the bytes encoded, no newline added",
              p.returncode == 0 and p.stdout == raw, f"exit {p.returncode}, {p.stdout!r}")
    part = run([exe, "--decode", "-p", str(ids[0])]).stdout  # part of a UTF-8 character
    check("--decode of one token writes its raw bytes, even half a character",
          len(part) > 0 and raw.startswith(part), f"{part!r}")
    # ids outside 0..V-1: --decode's are data (exit 1), --prompt-ids' are the command line (exit 2)
    p = run([exe, "--decode", "-p", "15496 50257"])
    check("--decode of id 50257: a message naming the id, exit 1, nothing written",
          p.returncode == 1 and b"50257" in p.stderr and p.stdout == b"", f"exit {p.returncode}, {p.stderr!r}")


def check_prompt_file(exe, model, tmp):
    """-f FILE: exactly the bytes -p would give, from a file or stdin, however long."""
    path = os.path.join(tmp, "prompt.txt")
    text = "Every effort moves you"
    with open(path, "w") as f:
        f.write(text)
    want = run([exe, "--encode", "-p", text]).stdout
    for how, args, stdin in (("-f FILE", ["-f", path], b""), ("-f -", ["-f", "-"], text.encode()),
                             ("--file FILE", ["--file", path], b"")):
        p = run([exe, "--encode", *args], stdin=stdin)
        check(f"--encode {how} gives the ids of -p", p.returncode == 0 and p.stdout == want, f"{p.stdout!r} {p.stderr!r}")
    a = run([exe, "-m", model, "-p", text, "-n", "3", "--print-ids"])
    b = run([exe, "-m", model, "-f", path, "-n", "3", "--print-ids"])
    check("generation with -f FILE equals -p TEXT", a.returncode == 0 and a.stdout == b.stdout, f"{b.stdout!r}")
    # 300 KB: far beyond Linux's 128 KB limit on one argument (MAX_ARG_STRLEN); NULs and CRs kept
    big = ("Every effort moves you.\r\n\0 " * 10000).encode()
    with open(path, "wb") as f:
        f.write(big)
    enc = run([exe, "--encode"], stdin=big)
    p = run([exe, "--encode", "-f", path])
    check(f"--encode -f of {len(big)} bytes equals --encode of them on stdin",
          p.returncode == 0 and p.stdout == enc.stdout and len(ids_of(p)) > 30000, f"exit {p.returncode}")
    p = run([exe, "-m", model, "-f", path, "-n", "2", "--print-ids", "--eos", "-1"])
    check(f"generation from a {len(big)}-byte -f prompt: its ids, then 2 new ones",
          p.returncode == 0 and ids_of(p)[:-2] == ids_of(enc) and len(ids_of(p)) == len(ids_of(enc)) + 2,
          f"exit {p.returncode}, {p.stderr!r}")


def check_no_special(exe, model, tmp):
    """--no-special: "<|endoftext|>" in a text is ordinary text, as tiktoken's encode_ordinary splits it."""
    ordinary = [27, 91, 437, 1659, 5239, 91, 29]  # tiktoken gpt2: encode_ordinary("<|endoftext|>")
    text = "a<|endoftext|>b"
    special = ids_of(run([exe, "--encode", "-p", text]))
    p = run([exe, "--encode", "-p", text, "--no-special"])
    check("--encode --no-special: <|endoftext|> split as text", ids_of(p)[1:-1] == ordinary and 50256 not in ids_of(p),
          f"{ids_of(p)} (without: {special})")
    check("--encode without --no-special: <|endoftext|> is 50256", 50256 in special, f"{special}")
    path = os.path.join(tmp, "eot.txt")
    with open(path, "w") as f:
        f.write(text)
    p = run([exe, "--encode", "-f", path, "--no-special"])
    check("--encode -f --no-special", ids_of(p)[1:-1] == ordinary, f"{ids_of(p)}")
    p = run([exe, "-m", model, "-p", "<|endoftext|>", "--no-special", "-n", "1", "--print-ids", "--eos", "-1"])
    check("generation -p --no-special: the prompt's ids are the ordinary ones", ids_of(p)[:-1] == ordinary,
          f"{ids_of(p)} {p.stderr!r}")
    scored = {}
    for flag in ([], ["--no-special"]):
        p = run([exe, "-m", model, "--eval", path, *flag])
        scored[bool(flag)] = p.stdout.split(b"\n")[0]
    check("--eval --no-special scores the ordinary ids", scored[False].startswith(b"tokens: 3 ")
          and scored[True].startswith(b"tokens: 9 "), f"{scored}")


def check_verbose(exe, model, tmp):
    def line(args):
        p = run([exe, "-m", model, "-v", "-T", "1", *args])
        return p.returncode, p.stderr.decode().strip()
    rc, l = line(["-n", "0"])
    check("-v -n 0: no new token, nothing about a first one", rc == 0 and l.endswith("prompt 4 tokens, no new token")
          and "first" not in l, l)
    rc, l = line(["-n", "3", "--eos", "-1"])
    check("-v: prompt tokens/s, first new token, the new tokens' tokens/s", rc == 0 and " prompt 4 tokens at " in l
          and ", first new token after " in l and "; 2 more at " in l and "sliding" not in l, l)
    rc, l = line(["-n", "6", "--eos", "-1", "-c", "6"])  # 4 + 2 new tokens fill the window, then 3 slide
    check("-v: the tokens after the window slid, apart", rc == 0 and "; 5 more: 2 at " in l
          and ", then 3 at " in l and " tokens/s with the window (6 tokens) sliding" in l, l)
    rc, l = line(["-n", "4", "--eos", "-1", "-c", "2"])  # the prompt is longer than the window
    check("-v: every new token slides when the prompt fills the window", rc == 0
          and "; 3 more at " in l and "with the window (2 tokens) sliding" in l, l)
    rc, l = line(["--dump-logits", os.path.join(tmp, "v.f32")])
    check("-v --dump-logits: load time and the prompt's tokens/s", rc == 0 and l.startswith("gpt2: load ")
          and l.endswith(" tokens/s") and "; prompt 4 tokens at " in l, l)
    path = os.path.join(tmp, "eval.txt")
    with open(path, "w") as f:
        f.write("Every effort moves you to the end of the line.")
    rc, l = line(["--eval", path])
    check("-v --eval: load time, tokens scored, tokens/s", rc == 0 and l.startswith("gpt2: load ")
          and "; eval 10 tokens scored in " in l and l.endswith(" tokens/s"), l)


def check_version(exe):
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gpt2.h")) as f:
        version = f.read().split('#define GPT2_VERSION_STRING "')[1].split('"')[0]
    p = run([exe, "--version"])
    check(f"--version prints gpt2.h's GPT2_VERSION_STRING ({version})",
          p.returncode == 0 and p.stdout == f"gpt2 {version}\n".encode() and not p.stderr, f"{p.stdout!r}")


def main(argv):
    exe, model, tmp = argv[1], argv[2], argv[3]
    os.makedirs(tmp, exist_ok=True)
    ties = os.path.join(tmp, "ties.bin")
    tie_checkpoint(ties)
    check_ties(exe, ties, tmp)
    check_text_and_ids(exe, model)
    check_encode_decode(exe)
    check_prompt_file(exe, ties, tmp)
    check_no_special(exe, model, tmp)
    check_verbose(exe, model, tmp)
    check_version(exe)
    for extra, fmt in [([], "float32"), (["--quantize", "int8"], "int8")]:
        p = run([exe, "-m", model, "-p", "Hi", "-n", "3", "-T", "2", "-v", *extra])
        line = p.stderr.decode().strip()
        check(f"-v names the load time, the format ({fmt}), the kernels and the threads",
              p.returncode == 0 and line.startswith("gpt2: load ") and f" s, {fmt}, " in line
              and " kernels, 2 threads; prompt " in line
              and "\n" not in line, line)
    p = run([exe, "-m", ties, "--prompt-ids", "1 50257"])
    check("--prompt-ids 50257: usage error, exit 2", p.returncode == 2 and b"50257" in p.stderr,
          f"exit {p.returncode}, {p.stderr!r}")
    return finish("test_cli")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
