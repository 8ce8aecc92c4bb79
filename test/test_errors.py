#!/usr/bin/env python3
"""Every bad input of README's "What happens when..." table: the exit status and a piece of the message
of ./gpt2 for each, plus the behaviours that are not errors (a prompt longer than the context, stdout
closed early, Ctrl-C). Standard library only.

    python3 test/test_errors.py ./gpt2 build/random_checkpoint build/cli_test.bin
    python3 test/test_errors.py --table ...   (the same, then print the README's table rows)

The broken checkpoints are made from a small valid one (tools/random_checkpoint.c) by patching its
header or cutting its bytes; the broken tokenizers from data/gpt2_tokenizer.bin.
Exit statuses: 0 success, 1 runtime or data error, 2 usage error, 130 interrupted.
"""
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

from common import check, dump_logits, finish, join_ids, run
import checkpoint_layout as layout

TOKENIZER = "data/gpt2_tokenizer.bin"
HEADER = layout.HEADER_BYTES
TOKENIZER_HEADER = 1024  # llm.c's tokenizer file: 256 uint32, then the tokens
skipped = 0


def sanitizer_report(stderr):
    return "Sanitizer" in stderr or "runtime error:" in stderr


# ---- files ------------------------------------------------------------------------------------

class Files:
    """Writes the broken inputs into a temporary directory, each on first use."""

    def __init__(self, tmp, random_checkpoint):
        self.tmp = tmp
        self.base = os.path.join(tmp, "base.bin")  # L=1 NH=2 C=8 maxT=4 V=64 (Vp=128), float32
        subprocess.run([random_checkpoint, self.base, "1", "2", "8", "4", "64"], check=True)
        self.base_bf16 = os.path.join(tmp, "base_bf16.bin")
        subprocess.run([random_checkpoint, self.base_bf16, "1", "2", "8", "4", "64", "bf16"], check=True)
        self.base_int8 = os.path.join(tmp, "base_int8.bin")  # L=1 NH=2 C=32 maxT=4 V=64, version 8
        subprocess.run([random_checkpoint, self.base_int8, "1", "2", "32", "4", "64", "int8"], check=True)
        with open(self.base, "rb") as f:
            self.data = f.read()
        with open(self.base_int8, "rb") as f:
            self.data_int8 = f.read()
        with open(TOKENIZER, "rb") as f:
            self.tok = f.read()

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def header(self, name, data=None, **fields):
        """A checkpoint (by default the base one) with header fields (layout.HEADER_FIELDS) replaced."""
        data = self.data if data is None else data
        h = layout.unpack_header(data)
        h.update(fields)
        return self.write(name, layout.pack_header(**h) + data[HEADER:])

    def token_offset(self, token_id):
        """Byte offset of the length byte of a token in GPT-2's tokenizer file."""
        p = TOKENIZER_HEADER
        for _ in range(token_id):
            p += 1 + self.tok[p]
        return p


def checkpoint_size(maxT, V, L, NH, C, Vp, version=3):
    """Exact bytes of a checkpoint with these dimensions (Python integers: no overflow)."""
    return layout.file_size(version, maxT=maxT, V=V, L=L, NH=NH, C=C, Vp=Vp)


def poke_qkvw(F, path, name, value):
    """The float32 checkpoint at path with its first qkvw weight set to value (written to name)."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    off = layout.tensor_offset("qkvw", 3, **layout.dims_of(layout.unpack_header(data)))
    data[off:off + 4] = struct.pack("<f", value)
    return F.write(name, bytes(data))


# ---- the table --------------------------------------------------------------------------------
# (what, args, status, message piece). Args may be callables of Files (they make the file then).
# M: the small valid model for the CLI tests; GEN: a short greedy run on it.

def rows(F, M):
    base_size = len(F.data)
    no_dir = os.path.join(F.base, "x.bin")  # a path under a regular file: cannot be opened, even by root
    gen = ["-m", M, "-n", "2"]
    r = [
        # checkpoint files
        ("checkpoint missing", ["-m", os.path.join(F.tmp, "missing.bin")], 1, "No such file or directory"),
        ("checkpoint path cannot be opened (under a file)", ["-m", no_dir], 1, "Not a directory"),
        ("checkpoint empty", lambda: ["-m", F.write("empty.bin", b"")], 1,
         "truncated: 0 bytes, shorter than the 1024-byte header"),
        ("checkpoint is a directory", ["-m", F.tmp], 1, "not a regular file"),
        ("checkpoint truncated inside the header", lambda: ["-m", F.write("t_head.bin", F.data[:500])], 1,
         "truncated: 500 bytes, shorter than the 1024-byte header"),
        ("checkpoint truncated inside a tensor", lambda: ["-m", F.write("t_tensor.bin", F.data[:HEADER + 1000])],
         1, f"truncated: {HEADER + 1000} of {base_size} bytes"),
        ("checkpoint one byte short", lambda: ["-m", F.write("t_short.bin", F.data[:-1])], 1,
         f"truncated: {base_size - 1} of {base_size} bytes"),
        ("bf16 checkpoint one byte short",
         lambda: ["-m", F.write("t_short16.bin", open(F.base_bf16, "rb").read()[:-1])], 1,
         f"truncated: {checkpoint_size(4, 64, 1, 2, 8, 128, 5) - 1} of {checkpoint_size(4, 64, 1, 2, 8, 128, 5)} bytes"),
        ("checkpoint one byte too long", lambda: ["-m", F.write("long.bin", F.data + b"\0")], 1,
         f"1 bytes after the last tensor (expected {base_size} bytes in all)"),
        ("checkpoint wrong magic", lambda: ["-m", F.header("magic.bin", magic=20240328)], 1,
         "not a GPT-2 checkpoint (magic 20240328, expected 20240326)"),
        ("checkpoint unknown version", lambda: ["-m", F.header("version.bin", version=4)], 1,
         "unsupported checkpoint version 4 (3 = float32, 5 = bfloat16, 8 = int8)"),
        ("checkpoint maxT = 0", lambda: ["-m", F.header("maxt0.bin", maxT=0)], 1,
         "header field maxT = 0 is outside 1..65536"),
        ("checkpoint V negative", lambda: ["-m", F.header("vneg.bin", V=-64)], 1,
         "header field V = -64 is outside 1..16777216"),
        ("checkpoint L = 0", lambda: ["-m", F.header("l0.bin", L=0)], 1, "header field L = 0 is outside 1..4096"),
        ("checkpoint NH negative", lambda: ["-m", F.header("nhneg.bin", NH=-2)], 1,
         "header field NH = -2 is outside 1..4096"),
        ("checkpoint C = 0", lambda: ["-m", F.header("c0.bin", C=0)], 1, "header field C = 0 is outside 1..65536"),
        ("checkpoint Vp negative", lambda: ["-m", F.header("vpneg.bin", Vp=-128)], 1,
         "header field Vp = -128 is outside 1..16777216"),
        ("checkpoint C not divisible by NH", lambda: ["-m", F.header("cnh.bin", NH=3)], 1,
         "C = 8 is not divisible by NH = 3"),
        ("checkpoint V > Vp", lambda: ["-m", F.header("vvp.bin", V=129)], 1,
         "V = 129 is larger than the padded Vp = 128"),
        ("checkpoint sizes overflow 32 bits (Vp*C = 2^32)",
         lambda: ["-m", F.header("o32.bin", C=65536, NH=1, V=65536, Vp=65536)], 1,
         f"truncated: {base_size} of {checkpoint_size(4, 65536, 1, 1, 65536, 65536)} bytes"),
        ("checkpoint dimensions at their bounds (2^50 bytes: sizes still exact in 64 bits)",
         lambda: ["-m", F.header("omax.bin", maxT=65536, V=1 << 24, L=4096, NH=1, C=65536, Vp=1 << 24)], 1,
         f"truncated: {base_size} of {checkpoint_size(65536, 1 << 24, 4096, 1, 65536, 1 << 24)} bytes"),
        ("checkpoint sizes overflow 64 bits (dimensions 2^31-1)",
         lambda: ["-m", F.header("o64.bin", maxT=2**31 - 1, V=2**31 - 1, L=2**31 - 1, NH=1, C=2**31 - 1,
                                 Vp=2**31 - 1)], 1, "header field maxT = 2147483647 is outside 1..65536"),
        ("--quantize int8 with C not a multiple of 32", ["-m", F.base, "--quantize", "int8"], 1,
         "cannot quantize: C = 8 is not a multiple of 32"),
        ("int8 checkpoint one byte short", lambda: ["-m", F.write("i8_short.bin", F.data_int8[:-1])], 1,
         f"truncated: {len(F.data_int8) - 1} of {len(F.data_int8)} bytes"),
        ("int8 checkpoint with C not a multiple of 32",
         lambda: ["-m", F.header("i8_c48.bin", F.data_int8, C=48)], 1,
         "int8 checkpoint with C = 48, not a multiple of 32"),
        ("int8 checkpoint with an infinite scale (wte's first)",  # wte: 128 x 32 int8, then its scales
         lambda: ["-m", F.write("i8_inf.bin", F.data_int8[:HEADER + 4096] + struct.pack("<H", 0x7C00)
                                + F.data_int8[HEADER + 4098:])], 1, "int8 checkpoint with a scale that is not finite"),
        ("--quantize int8 with a NaN weight", lambda: ["-m", poke_qkvw(F, M, "nan.bin", float("nan")),
                                                       "--quantize", "int8"], 1,
         "cannot quantize: a weight is not finite or above 8.3e6 in magnitude"),
        ("--quantize int8 with a weight of 1e7 (beyond float16 scales)",
         lambda: ["-m", poke_qkvw(F, M, "big.bin", 1e7), "--quantize", "int8"], 1,
         "cannot quantize: a weight is not finite or above 8.3e6 in magnitude"),
        # tokenizer files
        ("tokenizer missing", gen + ["--tokenizer", os.path.join(F.tmp, "missing_tok.bin")], 1,
         "cannot open: No such file or directory"),
        ("tokenizer truncated in the header", lambda: gen + ["--tokenizer", F.write("tok_h.bin", F.tok[:100])], 1,
         "truncated header: 100 of 1024 bytes"),
        ("tokenizer truncated in the tokens", lambda: gen + ["--tokenizer", F.write("tok_t.bin", F.tok[:-5])], 1,
         "truncated at token 50256 of 50257"),
        ("tokenizer with a zero-length token",
         lambda: gen + ["--tokenizer", F.write("tok_z.bin", F.tok[:F.token_offset(300)] + b"\0"
                                               + F.tok[F.token_offset(300) + 1:])], 1,
         "token 300 has length 0"),
        ("tokenizer whose eot token is not <|endoftext|>",
         lambda: gen + ["--tokenizer", F.write("tok_eot.bin", F.tok[:-13] + b"<|endoftexX|>")], 1,
         'eot token 50256 is not "<|endoftext|>"'),
        ("tokenizer with fewer tokens than the model",
         lambda: gen + ["--tokenizer", F.write("tok_small.bin", struct.pack("<4I", 20240328, 2, 257, 256)
                                               + F.tok[16:F.token_offset(256)] + b"\x0d<|endoftext|>")], 1,
         "has 257 tokens, fewer than the model's 50257"),
        ("tokenizer with more tokens than the model (prompt ids past V)", ["-m", F.base, "-p", "Hello"], 1,
         "prompt token 15496 is outside the model's vocabulary 0..63"),
        # command line
        ("option without its value", gen + ["-t"], 2, "-t needs a value"),
        ("long option without its value", gen + ["--top-p"], 2, "--top-p needs a value"),
        ("unknown option", gen + ["--bogus"], 2, "unknown option '--bogus'"),
        ("unknown short option", gen + ["-x"], 2, "unknown option '-x'"),
        ("stray argument", gen + ["hello"], 2, "unexpected argument 'hello'"),
        ("--prompt and --prompt-ids together", gen + ["-p", "a", "--prompt-ids", "1"], 2,
         "give either --prompt or --prompt-ids"),
        ("--file with --prompt", gen + ["-f", F.base, "-p", "a"], 2, "give one of --file, --prompt and --prompt-ids"),
        ("--file with --prompt-ids", gen + ["-f", F.base, "--prompt-ids", "1"], 2,
         "give one of --file, --prompt and --prompt-ids"),
        ("--file missing", gen + ["-f", os.path.join(F.tmp, "missing.txt")], 1,
         "--file: " + os.path.join(F.tmp, "missing.txt") + ": No such file or directory"),
        ("--file is a directory", gen + ["--file", F.tmp], 1, "Is a directory"),
        ("--file without its value", gen + ["--file"], 2, "--file needs a value"),
        ("--encode and --decode together", ["--encode", "--decode", "-p", "1"], 2,
         "--decode: --encode, --decode, --eval and --score each run alone"),
        ("--eval with --encode", ["--eval", F.base, "--encode"], 2,
         "--encode: --encode, --decode, --eval and --score each run alone"),
        ("--score with --eval", ["--score", F.base, "--eval", F.base], 2,
         "--eval: --encode, --decode, --eval and --score each run alone"),
        ("a value given to a flag without one", gen + ["--verbose=1"], 2, "--verbose takes no value: '--verbose=1'"),
        ("a value given to an abbreviated flag without one", gen + ["--print=1"], 2,
         "--print-ids takes no value: '--print=1'"),
        ("--no-special with --prompt-ids", gen + ["--no-special", "--prompt-ids", "1"], 2,
         "--no-special is about text: it does not go with --prompt-ids or --decode"),
        ("--no-special with --decode", ["--decode", "--no-special", "-p", "1"], 2,
         "--no-special is about text: it does not go with --prompt-ids or --decode"),
        ("--eos past the vocabulary", gen + ["--eos", "99999"], 2,
         "--eos: 99999 is outside -1..50256 (the model's vocabulary)"),
        ("--prompt-ids with junk", gen + ["--prompt-ids", "12 ab 3"], 2, "token ids: 'ab' is not an integer"),
        ("--prompt-ids with trailing junk", gen + ["--prompt-ids", "12x"], 2, "token ids: '12x' is not an integer"),
        ("--prompt-ids out of range", gen + ["--prompt-ids", "1 50257"], 2, "token ids: 50257 is outside 0..50256"),
        ("--prompt-ids negative", gen + ["--prompt-ids", "-1"], 2, "token ids: -1 is outside 0..50256"),
        ("--prompt-ids past 64 bits", gen + ["--prompt-ids", "99999999999999999999"], 2, "is not an integer"),
        # --decode's ids are data, not the command line: exit 1, no "(see gpt2 --help)"
        ("--decode with an out-of-range id", ["--decode", "-p", "15496 50257"], 1,
         "--decode: token ids: 50257 is outside 0..50256"),
        ("--decode with junk", ["--decode", "-p", "15496 x"], 1, "--decode: token ids: 'x' is not an integer"),
        ("--context larger than maxT", ["-m", M, "-c", "17"], 2, "--context: 17 is larger than the model's maxT (16)"),
        ("--top-k larger than V", ["-m", M, "-k", "50258", "-t", "1"], 2,
         "--top-k: 50258 is larger than the vocabulary (50257)"),
        ("--quantize with another format", gen + ["--quantize", "int4"], 2, "--quantize: 'int4' is not a format"),
        ("--stop with an empty string", gen + ["--stop", ""], 2, "--stop: the stop string is empty"),
        ("--compare-temperatures with an empty item", gen + ["--compare-temperatures", "1,,2"], 2,
         "'1,,2' is not a list of temperatures"),
        ("--compare-temperatures with NaN", gen + ["--compare-temperatures", "1,nan"], 2, "'nan' is not a finite"),
        ("--compare-temperatures with a negative", gen + ["--compare-temperatures", "1,-1"], 2, "-1 is outside"),
        ("--compare-temperatures with trailing characters", gen + ["--compare-temperatures", "1,2x"], 2,
         "'2x' is not a finite number"),
        ("--compare-temperatures with 17 values", gen + ["--compare-temperatures", ",".join(["1"] * 17)], 2,
         "at most 16 temperatures"),
        ("--eval file missing", ["-m", M, "--eval", os.path.join(F.tmp, "missing.txt")], 1,
         "missing.txt: No such file or directory"),
        ("--eval file is a directory", ["-m", M, "--eval", F.tmp], 1, "Is a directory"),
        ("--eval file empty", lambda: ["-m", M, "--eval", F.write("empty.txt", b"")], 1,
         "0 token(s); it needs at least two"),
        ("--score file missing", ["-m", M, "--score", os.path.join(F.tmp, "missing.txt")], 1,
         "--score: " + os.path.join(F.tmp, "missing.txt") + ": No such file or directory"),
        ("--score file of one token", lambda: ["-m", M, "--score", F.write("one.txt", b"Hi")], 1,
         "1 token(s); it needs at least two"),
        ("--html without --score", gen + ["--html", os.path.join(F.tmp, "page.html")], 2,
         "--html is a page of --score: give --score FILE"),
        ("--html where no file can be written", lambda: ["-m", M, "--score", F.write("text.txt", b"Hello, world"),
                                                          "--html", os.path.join(F.tmp, "none", "page.html")], 1,
         "--html: " + os.path.join(F.tmp, "none", "page.html") + ": No such file or directory"),
        ("--json with --eval", ["-m", M, "--json", "--eval", F.base], 2, "--json goes with --score, --sweep or generation"),
        ("--json with --stop", gen + ["--json", "--stop", "."], 2, "--stop looks for text: it does not go with --json"),
        ("--sweep with an unknown key", gen + ["--sweep", "t=1;temp=0.5"], 2,
         "--sweep: unknown key 'temp' (t, k, p, minp, rp)"),
        ("--sweep with a temperature out of range", gen + ["--sweep", "t=-1"], 2, "--sweep t: -1 is outside [0, 1e+30]"),
        ("--sweep with top-p out of range", gen + ["--sweep", "t=1,p=1.5"], 2, "--sweep p: 1.5 is outside (0, 1]"),
        ("--sweep with min-p out of range", gen + ["--sweep", "minp=1"], 2, "--sweep minp: 1 is outside [0, 1)"),
        ("--sweep with a repeat penalty of 0", gen + ["--sweep", "rp=0"], 2, "--sweep rp: 0 is outside (0, 1e+30]"),
        ("--sweep with top-k 0", gen + ["--sweep", "k=0"], 2, "--sweep k: 0 is outside 1..16777216"),
        ("--sweep with top-k past the vocabulary", gen + ["--sweep", "k=50258"], 2,
         "--sweep k: 50258 is larger than the vocabulary (50257)"),
        ("--sweep with junk for a value", gen + ["--sweep", "t=1x"], 2, "--sweep t: '1x' is not a finite number"),
        ("--sweep with an empty setting", gen + ["--sweep", "t=1;;t=2"], 2, "--sweep: 't=1;;t=2' has an empty setting"),
        ("--sweep with a setting that is not key=value", gen + ["--sweep", "t"], 2,
         "--sweep: 't' is not key=value (t, k, p, minp, rp)"),
        ("--sweep with 17 settings", gen + ["--sweep", ";".join(["t=1"] * 17)], 2, "--sweep: at most 16 settings"),
        ("--sweep with --score", ["-m", M, "--sweep", "t=1", "--score", F.base], 2, "--sweep runs alone"),
        ("--prompts file missing", ["-m", M, "--prompts", os.path.join(F.tmp, "missing.txt")], 1,
         "--prompts: " + os.path.join(F.tmp, "missing.txt") + ": No such file or directory"),
        ("--prompts file is a directory", ["-m", M, "--prompts", F.tmp], 1, "Is a directory"),
        ("--prompts file empty", lambda: ["-m", M, "--prompts", F.write("empty_prompts.txt", b"")], 1,
         "no prompts (the file is empty)"),
        ("--prompts with --prompt", lambda: gen + ["--prompts", F.write("p.txt", b"Hi\n"), "-p", "x"], 2,
         "give either --prompts or --prompt/--prompt-ids, not both"),
        ("--prompts with --draws", lambda: gen + ["--prompts", F.write("p.txt", b"Hi\n"), "--draws", "5"], 2,
         "--prompts continues each prompt: it does not go with"),
        ("--context-shift with --eval", lambda: ["--context-shift", "--eval", F.write("p.txt", b"Hi\n")], 2,
         "--context-shift is for generation: it does not go with --encode, --decode or --eval"),
    ]
    # every numeric flag: junk, empty, negative, NaN, inf, past its range, trailing characters
    floats = [("-t", "--temperature", "-0.5", "1e31"), ("--top-p", "--top-p", "0", "1.5"),
              ("--min-p", "--min-p", "-0.1", "1"), ("--repeat-penalty", "--repeat-penalty", "-1", "1e31")]
    for flag, name, neg, past in floats:
        for what, value, msg in [("junk", "abc", "'abc' is not a finite number"),
                                 ("an empty string", "", "'' is not a finite number"),
                                 ("a negative", neg, f"{neg} is outside"), ("NaN", "nan", "'nan' is not a finite"),
                                 ("inf", "inf", "'inf' is not a finite"), ("-inf", "-inf", "'-inf' is not a finite"),
                                 ("a value past its range", past, f"{past} is outside"),
                                 ("a value past float's range", "1e39", "'1e39' is not a finite number"),
                                 ("trailing characters", "0.4x", "'0.4x' is not a finite number"),
                                 ("a leading space", " 0.4", "' 0.4' is not a finite number")]:
            r.append((f"{flag} {what}", gen + [flag, value], 2, f"{name}: {msg}"))
    ints = [("-k", "--top-k", "0", "16777217"), ("--repeat-last-n", "--repeat-last-n", "-1", "16777217"),
            ("-n", "--max-new-tokens", "-1", "16777217"), ("-c", "--context", "0", "16777217"),
            ("--eos", "--eos", "-2", "16777217"), ("-T", "--threads", "0", "1025"),
            ("-N", "--num-samples", "0", "1048577"), ("--show-probs", "--show-probs", "0", "16777217"),
            ("--draws", "--draws", "0", "1000000001"), ("--stride", "--stride", "0", "16777217"),
            ("--top-logprobs", "--top-logprobs", "-1", "1001")]
    for flag, name, neg, past in ints:
        for what, value, msg in [("junk", "abc", "'abc' is not an integer"),
                                 ("an empty string", "", "'' is not an integer"),
                                 ("a negative or zero", neg, f"{neg} is outside"),
                                 ("NaN", "nan", "'nan' is not an integer"), ("inf", "inf", "'inf' is not an integer"),
                                 ("a value past its range", past, f"{past} is outside"),
                                 ("a value past 64 bits", "99999999999999999999",
                                  "'99999999999999999999' is not an integer"),
                                 ("a fraction", "2.5", "'2.5' is not an integer"),
                                 ("trailing characters", "5x", "'5x' is not an integer")]:
            r.append((f"{flag} {what}", gen + [flag, value], 2, f"{name}: {msg}"))
    for what, value in [("junk", "abc"), ("an empty string", ""), ("a negative", "-1"), ("NaN", "nan"),
                        ("inf", "inf"), ("a value past 64 bits", "18446744073709551616"),
                        ("trailing characters", "5x")]:
        r.append((f"-s {what}", gen + ["-s", value], 2, f"--seed: '{value}' is not an integer in 0..18446744073709551615"))
    return r


def check_rows(exe, F, M, table_out):
    for what, args, status, msg in rows(F, M):
        if callable(args):
            args = args()
        p = run([exe] + args)
        err = p.stderr.decode(errors="replace")
        ok = p.returncode == status and msg in err and not sanitizer_report(err)
        lines = [l for l in err.splitlines() if l]
        if ok and status == 2:  # a usage error is one line pointing to --help
            ok = len(lines) == 1 and lines[0].endswith("(see gpt2 --help)")
        check(what, ok, f"exit {p.returncode} (want {status}), stderr {err.strip()!r} (want {msg!r})")
        table_out.append((what, lines[0] if lines else "", p.returncode))


# ---- behaviours that are not errors ------------------------------------------------------------

def dump(exe, M, ids, tmp, extra=()):
    return dump_logits(exe, ["-m", M, "--prompt-ids", join_ids(ids), *extra], os.path.join(tmp, "logits.f32"))


def check_long_prompt(exe, M, tmp):
    """A prompt longer than maxT (16) is cropped to its last 16 tokens, as generate() in Raschka's book
    (section 5.3, idx[:, -context_size:]) crops it."""
    ids = [(i * 7919) % 50257 for i in range(40)]
    full, e1 = dump(exe, M, ids, tmp)
    last, e2 = dump(exe, M, ids[-16:], tmp)
    check("long prompt: logits equal those of its last maxT tokens", full is not None and full == last,
          e1 or e2 or "logits differ")
    ctx, e3 = dump(exe, M, ids, tmp, ("-c", "5"))
    last5, e4 = dump(exe, M, ids[-5:], tmp)
    check("long prompt with -c 5: logits equal those of its last 5 tokens", ctx is not None and ctx == last5,
          e3 or e4 or "logits differ")
    p = run([exe, "-m", M, "--prompt-ids", join_ids(ids), "-n", "5", "--print-ids", "--eos", "-1"])
    out = p.stdout.split()
    check("long prompt: generation runs, prompt echoed and 5 new ids", p.returncode == 0 and len(out) == 45
          and [int(x) for x in out[:40]] == ids, f"exit {p.returncode}, {len(out)} ids, {p.stderr.decode()!r}")
    p = run([exe, "-m", M, "-p", "word " * 100, "-n", "3"])
    check("long text prompt: exit 0", p.returncode == 0 and not p.stderr, f"exit {p.returncode} {p.stderr!r}")


def long_run(exe, M, **kw):
    return subprocess.Popen([exe, "-m", M, "-p", "Every effort moves you", "-n", "16000000", "-t", "1",
                             "--eos", "-1", "-T", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def check_closed_stdout(exe, M):
    """| head -c 10: the reader goes away. SIGPIPE at its default action ends gpt2 quietly, as it does
    cat; with SIGPIPE ignored the write fails with EPIPE and gpt2 exits 1, also without a message."""
    for ignored in (False, True):
        pre = (lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN)) if ignored else None
        p = long_run(exe, M, preexec_fn=pre)
        got = p.stdout.read(10)
        p.stdout.close()
        try:
            p.wait(timeout=30)
            err = p.stderr.read().decode(errors="replace")
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            err = "(still running after the reader left)"
        want = 1 if ignored else -signal.SIGPIPE
        name = "stdout closed early" + (" (SIGPIPE ignored)" if ignored else "")
        check(name, len(got) == 10 and p.returncode == want and err == "",
              f"exit {p.returncode} (want {want}), stderr {err!r}")
        p.stderr.close()


def check_sigint(exe, M):
    """Ctrl-C during generation: the token in progress finishes, the text so far ends with a newline,
    exit 130, nothing on stderr."""
    p = long_run(exe, M)
    got = p.stdout.read(200)  # generation is under way
    p.send_signal(signal.SIGINT)
    try:
        rest, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, err = p.communicate()
    out = got + rest
    check("SIGINT during generation", p.returncode == 130 and out.startswith(b"Every effort moves you")
          and out.endswith(b"\n") and len(out) > 200 and err == b"",
          f"exit {p.returncode} (want 130), {len(out)} bytes ending {out[-20:]!r}, stderr {err!r}")
    # --encode waiting for stdin that never ends: Ctrl-C must end it (no handler outside generation)
    p = subprocess.Popen([exe, "--encode"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=10)
        code = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        code = "still running 10 s after SIGINT"
    for f in (p.stdin, p.stdout, p.stderr):
        f.close()
    check("SIGINT while --encode waits on stdin", code == -signal.SIGINT, f"exit {code} (want {-signal.SIGINT})")


def check_ok(exe, M):
    p = run([exe, "-m", M, "-p", "Hello", "-n", "3"])
    check("a valid run exits 0", p.returncode == 0 and p.stdout.startswith(b"Hello") and not p.stderr,
          f"exit {p.returncode} {p.stderr!r}")
    with tempfile.TemporaryDirectory() as empty:  # no data/gpt2_124M.bin here
        p = run([os.path.abspath(exe), "--tokenizer", os.path.abspath(TOKENIZER)], cwd=empty)
        err = p.stderr.decode()
        check("default checkpoint missing: how to make it, also offline", p.returncode == 1 and "make weights" in err
              and "tools/export_weights.py DIR data/gpt2_124M.bin" in err
              and "build/random_checkpoint data/gpt2_124M.bin" in err and err.count("\n") == 2, f"{err!r}")
    p = run([exe, "--version"])
    check("--version: one line, exit 0", p.returncode == 0 and p.stdout.startswith(b"gpt2 ")
          and p.stdout.count(b"\n") == 1 and not p.stderr, f"exit {p.returncode} {p.stdout!r}")
    p = run([exe, "--help"])
    check("--help documents the exit statuses", p.returncode == 0 and b"1 runtime or data error, 2 usage error"
          in p.stdout, f"exit {p.returncode}")


def check_unreadable(exe, F):
    """chmod 000. Root reads it anyway: as root, gpt2 runs as nobody (uid 65534) for this row, and the
    row is skipped only when nobody cannot run gpt2 from where it is."""
    global skipped
    path = F.write("unreadable.bin", F.data)
    os.chmod(path, 0)
    pre = None
    if os.geteuid() == 0:
        os.chmod(F.tmp, 0o755)  # nobody must reach the file to be refused by its mode
        pre = lambda: (os.setgid(65534), os.setuid(65534))
    args = [os.path.abspath(exe), "-m", path, "--prompt-ids", "1", "--print-ids"]  # no tokenizer needed
    try:
        p = run(args, timeout=60, preexec_fn=pre)
    except PermissionError:
        skipped += 1
        print(f"skip checkpoint unreadable (chmod 000): as root, and nobody cannot run {exe}")
        return
    err = p.stderr.decode()
    check("checkpoint unreadable", p.returncode == 1 and "Permission denied" in err and path in err,
          f"exit {p.returncode} {err!r}")


def main(argv):
    table = argv[1:2] == ["--table"]
    if table:
        argv = argv[1:]
    exe, random_checkpoint, M = argv[1:4]
    table_out = []
    with tempfile.TemporaryDirectory() as tmp:
        F = Files(tmp, random_checkpoint)
        check_rows(exe, F, M, table_out)
        check_unreadable(exe, F)
        check_long_prompt(exe, M, tmp)
        check_closed_stdout(exe, M)
        check_sigint(exe, M)
        check_ok(exe, M)
    if table:
        for what, msg, code in table_out:
            msg = msg.replace(F.tmp, "…").replace("|", "\\|")
            print(f"| {what} | `{msg}` | {code} |")
    return finish("test_errors", skipped)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
