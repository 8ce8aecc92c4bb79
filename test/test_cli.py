#!/usr/bin/env python3
"""The CLI's generate() semantics and --encode/--decode, end to end. Standard library.

    python3 test/test_cli.py ./gpt2 build/test/tiny.bin TMPDIR

Ties cannot be arranged in a random model, so this test writes its own checkpoint whose logits do
not depend on the input: every block's weights are zero, so the residual stream passes through
unchanged, and the final LayerNorm has weight 0 and bias e0, so lnf(x) = e0 for any x and the logit
of token i is wte[i][0]. Tokens 3, 7 and 9 tie at 1.0, token 11 has 0.5, every other token 0.
"""
import os
import struct
import sys

from common import check, dump_logits, finish, ids_of, join_ids, run
import checkpoint_layout as layout

V, C, MAXT = 50257, 4, 8  # V: GPT-2's, so the real tokenizer fits
TIED, NEXT = (3, 7, 9), 11


def tie_checkpoint(path):
    """A float32 checkpoint (L = NH = 1): the 16 tensors zero except wte and lnfb."""
    dims = dict(maxT=MAXT, V=V, L=1, NH=1, C=C, Vp=layout.padded_vocab(V))
    with open(path, "wb") as f:
        f.write(layout.pack_header(layout.VERSIONS["fp32"], **dims))
        for name, shape in layout.shapes(**dims):
            values = [0.0] * layout.numel(shape)
            if name == "wte":
                for i in TIED:
                    values[i * C] = 1.0
                values[NEXT * C] = 0.5
            elif name == "lnfb":
                values[0] = 1.0  # e0
            f.write(struct.pack(f"<{len(values)}f", *values))


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
        drawn = {int(line.split()[1]) for line in p.stdout.decode().splitlines()[2:] if line.strip()}
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


def main(argv):
    exe, model, tmp = argv[1], argv[2], argv[3]
    os.makedirs(tmp, exist_ok=True)
    ties = os.path.join(tmp, "ties.bin")
    tie_checkpoint(ties)
    check_ties(exe, ties, tmp)
    check_text_and_ids(exe, model)
    check_encode_decode(exe)
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
