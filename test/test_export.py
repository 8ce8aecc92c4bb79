#!/usr/bin/env python3
"""Tests for tools/export_weights.py (standard library only; run by `make test-export`).

    python3 test/test_export.py ./gpt2      (the engine runs the int8 exports)

Checks, on random models from test/make_random_model.py, written under build/test/export/:
  - the whole exported file, byte for byte, against an independent slow export done here (header,
    Conv1D transposes, q/k/v order, zero vocabulary padding, bf16 rounding to nearest even);
  - the transformer.-prefixed + tied lm_head, F16 and BF16 inputs give the expected output;
  - refusals (exit 1, one line naming the tensor or file) and usage errors (exit 2);
  - --dtype int8: the file's layout, and the engine's logits on it bit for bit those of the float32
    export run with --quantize int8 (also rows whose float16 scales are subnormal or zero);
  - --tokenizer, on a small derived vocab.json and on the real one (data/gpt2_encoder.json);
  - the resumable, verified download against a local http.server (X-Linked-Size/Etag on a redirect,
    Range requests, a connection cut mid-file).
Prints every failed check; exits non-zero if any failed.
"""
import array
import hashlib
import http.server
import json
import math
import os
import shutil
import struct
import sys
import threading
import time

from common import ROOT, bf16_round, check, dump_logits, finish, run
import checkpoint_layout as layout
import export_weights
import make_random_model
from make_tokenizer import bytes_to_unicode

EXPORT = os.path.join(ROOT, "tools", "export_weights.py")
WORK = os.path.join(ROOT, "build", "test", "export")
GPT2_ENCODER = os.path.join(ROOT, "data", "gpt2_encoder.json")  # = Hugging Face's vocab.json for gpt2
TINY = dict(layers=2, heads=4, embd=64, positions=16, vocab=50257, seed=1)
SMALLV = dict(TINY, vocab=1000)  # tiny with a short vocabulary (Vp 1024), for the input variants
MINI = dict(layers=1, heads=2, embd=8, positions=4, vocab=300, seed=5)  # for the refusals


def run_export(*args, env=None):
    p = run([sys.executable, EXPORT, *args], env=dict(os.environ, **(env or {})))
    return p.returncode, p.stderr.decode().strip()


def export_ok(*args, env=None):
    rc, err = run_export(*args, env=env)
    check(f"export_weights.py {' '.join(args)}: exit {rc}: {err}", rc == 0)


# ----------------------------------------------------------------------------------------------
# An independent, slow, obvious export: per-element Python, for comparing whole files.


def read_hf(path):
    """{name without transformer.: (shape, list of floats)} from a safetensors file, F32/F16/BF16."""
    out = {}
    for name, (dtype, shape, raw) in make_random_model.read_safetensors(path).items():
        if name.endswith(".attn.bias"):
            continue
        count = math.prod(shape)
        if dtype == "F32":
            vals = struct.unpack(f"<{count}f", raw)
        elif dtype == "F16":
            vals = struct.unpack(f"<{count}e", raw)
        else:
            vals = struct.unpack(f"<{count}f", b"".join(b"\0\0" + raw[2 * i:2 * i + 2] for i in range(count)))
        out[name.removeprefix("transformer.")] = (shape, vals)
    return out


def expected_export(hf_dir, dtypes=("fp32",)):
    """The expected files for these dtypes, {dtype: bytes}."""
    with open(os.path.join(hf_dir, "config.json")) as f:
        cfg = json.load(f)
    L, NH, C, V, maxT = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    Vp = layout.padded_vocab(V)
    t = read_hf(os.path.join(hf_dir, "model.safetensors"))
    vals = []

    def conv1d(name):  # (in, out) -> (out, in)
        (n_in, n_out), w = t[name]
        return [w[i * n_out + o] for o in range(n_out) for i in range(n_in)]

    # The Hugging Face tensor of each checkpoint tensor, in file order, spelled out here rather than
    # taken from export_weights.HF_NAMES so that a mistake there shows.
    vals += t["wte.weight"][1] + (0.0,) * ((Vp - V) * C)
    vals += t["wpe.weight"][1]
    for suffix, transposed in [("ln_1.weight", 0), ("ln_1.bias", 0), ("attn.c_attn.weight", 1),
                               ("attn.c_attn.bias", 0), ("attn.c_proj.weight", 1), ("attn.c_proj.bias", 0),
                               ("ln_2.weight", 0), ("ln_2.bias", 0), ("mlp.c_fc.weight", 1),
                               ("mlp.c_fc.bias", 0), ("mlp.c_proj.weight", 1), ("mlp.c_proj.bias", 0)]:
        for l in range(L):
            name = f"h.{l}.{suffix}"
            vals += conv1d(name) if transposed else t[name][1]
    vals += t["ln_f.weight"][1] + t["ln_f.bias"][1]
    out = {}
    for dtype in dtypes:
        header = layout.pack_header(layout.VERSIONS[dtype], maxT, V, L, NH, C, Vp)
        body = struct.pack(f"<{len(vals)}f", *vals)
        if dtype == "bf16":
            bits = array.array("I", body)
            body = array.array("H", [bf16_round(x) for x in bits]).tobytes()
        out[dtype] = header + body
    return out


def first_difference(a, b):
    if len(a) != len(b):
        return f"sizes {len(a)} and {len(b)}"
    i = next(i for i in range(len(a)) if a[i] != b[i])
    return f"first difference at byte {i}"


def check_same(path, expected, what):
    with open(path, "rb") as f:
        got = f.read()
    check(f"{what}: {path} equals the expected export",
          got == expected, "" if got == expected else first_difference(got, expected))


# ----------------------------------------------------------------------------------------------


def test_exports():
    tiny = os.path.join(WORK, "hf_tiny")
    make_random_model.make(tiny, **TINY)
    out32, out16 = os.path.join(WORK, "tiny.bin"), os.path.join(WORK, "tiny_bf16.bin")
    export_ok(tiny, out32)
    export_ok(tiny, out16, "--dtype", "bf16")
    with open(out32, "rb") as f:
        raw = f.read(layout.HEADER_BYTES)
    hdr = tuple(layout.unpack_header(raw).values())
    check(f"header {hdr}", hdr == (layout.MAGIC, 3, 16, 50257, 2, 4, 64, 50304) and not any(raw[32:]))
    want = expected_export(tiny, ("fp32", "bf16"))
    check_same(out32, want["fp32"], "fp32 export")
    check_same(out16, want["bf16"], "bf16 export")
    # A spot check that does not share code with expected_export: qkvw[layer 1][row C + 5] (k's
    # output 5) is column C + 5 of h.1.attn.c_attn.weight, and padding row V is zero.
    C, V = 64, 50257
    t = read_hf(os.path.join(tiny, "model.safetensors"))
    (_, three_c), w = t["h.1.attn.c_attn.weight"]
    with open(out32, "rb") as f:
        data = f.read()
    off = layout.tensor_offset("qkvw", 3, maxT=16, V=V, L=2, NH=4, C=C, Vp=50304) + 4 * (3 * C * C + (C + 5) * C)
    row = struct.unpack(f"<{C}f", data[off:off + 4 * C])
    check("qkvw layer 1 row C+5 is not c_attn column C+5", list(row) == [w[i * three_c + C + 5] for i in range(C)])
    pad = data[layout.HEADER_BYTES + 4 * V * C:layout.HEADER_BYTES + 4 * 50304 * C]
    check("vocabulary padding rows are not zero", pad == bytes(len(pad)))
    print("test_export: fp32 and bf16 exports match the slow reference export")

    # Variants (on a short vocabulary, for speed): transformer. prefix + tied lm_head gives the same
    # file as the plain model; F16 / BF16 inputs give their values exactly.
    base = os.path.join(WORK, "hf_v1000")
    make_random_model.make(base, **SMALLV)
    export_ok(base, os.path.join(WORK, "v1000.bin"))
    export_ok(base, os.path.join(WORK, "v1000_bf16.bin"), "--dtype", "bf16")
    var = os.path.join(WORK, "hf_v1000_prefixed")
    make_random_model.make(var, **SMALLV, prefix=True, lm_head=True)
    export_ok(var, os.path.join(WORK, "v1000_prefixed.bin"))
    with open(os.path.join(WORK, "v1000_prefixed.bin"), "rb") as f, open(os.path.join(WORK, "v1000.bin"), "rb") as g:
        check("transformer.-prefixed model with lm_head: export differs from the plain one", f.read() == g.read())
    for dt in ("F16", "BF16"):
        var = os.path.join(WORK, f"hf_v1000_{dt}")
        make_random_model.make(var, **SMALLV, dtype=dt)
        out = os.path.join(WORK, f"v1000_{dt}.bin")
        export_ok(var, out)
        check_same(out, expected_export(var)["fp32"], f"{dt} input, fp32 export")
    # BF16 input exported to bf16 is exact: the same values as the bf16 export of the F32 model.
    out = os.path.join(WORK, "v1000_BF16_bf16.bin")
    export_ok(os.path.join(WORK, "hf_v1000_BF16"), out, "--dtype", "bf16")
    with open(out, "rb") as f, open(os.path.join(WORK, "v1000_bf16.bin"), "rb") as g:
        check("BF16 input exported as bf16 differs from the F32 input exported as bf16", f.read() == g.read())
    print("test_export: transformer.+lm_head, F16 and BF16 inputs give the expected files")


def test_bf16_rounding():
    """Ties, carries into the exponent, negative values: export_weights.f32_to_bf16 vs bf16_round."""
    bits = [0x3F800000, 0x3F808000, 0x3F818000, 0x3F80FFFF, 0x3F807FFF, 0xBF808001, 0x7F7FFFFF, 0x00008000,
            0x00018000, 0x80000000, 0x3FFFFFFF, 0x477FFFFF]
    raw = struct.pack(f"<{len(bits)}I", *bits)
    got = struct.unpack(f"<{len(bits)}H", export_weights.f32_to_bf16(raw))
    want = tuple(bf16_round(b) for b in bits)
    check(f"f32_to_bf16: {[hex(x) for x in got]} != {[hex(x) for x in want]}", got == want)
    check("bf16_round: ties to even", want[:3] == (0x3F80, 0x3F80, 0x3F82))


def rewrite_safetensors(src_dir, dst_dir, edit=None, config=None, truncate=0):
    """Copy a model directory, editing the tensor dict {name: [dtype, shape, bytes]} on the way."""
    shutil.rmtree(dst_dir, ignore_errors=True)
    os.makedirs(dst_dir)
    with open(os.path.join(src_dir, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(config or {})
    with open(os.path.join(dst_dir, "config.json"), "w") as f:
        json.dump(cfg, f)
    tensors = {k: list(v) for k, v in make_random_model.read_safetensors(os.path.join(src_dir, "model.safetensors")).items()}
    if edit:
        edit(tensors)
    path = os.path.join(dst_dir, "model.safetensors")
    make_random_model.write_safetensors(path, [(k, d, s, r) for k, (d, s, r) in tensors.items()])
    if truncate:
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - truncate)
    return dst_dir


def test_int8(exe):
    """--dtype int8 writes what the engine's --quantize int8 computes: the same logits, bit for bit."""
    tiny = os.path.join(WORK, "hf_tiny")
    C, three_c = TINY["embd"], 3 * TINY["embd"]

    def small_rows(t):  # rows of qkvw whose float16 scales are subnormal or zero: the clamp's cases
        w = array.array("f", t["h.0.attn.c_attn.weight"][2])
        for o, factor in [(3, 1e-4), (70, 3e-6), (130, 1e-9)]:
            for i in range(C):
                w[i * three_c + o] *= factor
        t["h.0.attn.c_attn.weight"][2] = w.tobytes()

    edited = rewrite_safetensors(tiny, os.path.join(WORK, "hf_tiny_small_rows"), edit=small_rows)
    for name, src in [("tiny", tiny), ("tiny with tiny rows", edited)]:
        f32, q8 = os.path.join(WORK, "q_f32.bin"), os.path.join(WORK, "q_int8.bin")
        export_ok(src, f32)
        export_ok(src, q8, "--dtype", "int8")
        with open(q8, "rb") as f:
            hdr = tuple(layout.unpack_header(f.read(layout.HEADER_BYTES)).values())
        check(f"{name}: int8 header {hdr}", hdr == (layout.MAGIC, 8, 16, 50257, 2, 4, 64, 50304))
        size = layout.file_size(8, maxT=TINY["positions"], V=TINY["vocab"], L=TINY["layers"], NH=TINY["heads"], C=C,
                                Vp=layout.padded_vocab(TINY["vocab"]))
        check(f"{name}: int8 file of {os.path.getsize(q8)} bytes, expected {size}", os.path.getsize(q8) == size)
        for ids in ["464 2068", "6109 3626 6100 345 284 11", "0 50256 1 2 3 4 5 6 7 8 9 10 11 12 13 14"]:
            dumps = []
            for args in (["-m", q8], ["-m", f32, "--quantize", "int8"]):
                data, err = dump_logits(exe, [*args, "--prompt-ids", ids], os.path.join(WORK, f"logits{len(dumps)}.f32"))
                check(f"{name}: {' '.join(args)}: {err}", data is not None)
                dumps.append(data or b"")
            check(f"{name}, prompt {ids}: int8 file's logits differ from --quantize int8's",
                  len(dumps[0]) == 4 * 50257 and dumps[0] == dumps[1])
    rc, err = run_export(os.path.join(WORK, "hf_mini"), os.path.join(WORK, "refused.bin"), "--dtype", "int8")
    check(f"int8 with C = 8: exit {rc}: {err}", rc == 1 and "n_embd 8 is not a multiple of 32" in err)

    def huge(t):
        w = array.array("f", t["h.1.mlp.c_fc.weight"][2])
        w[17] = 1e7
        t["h.1.mlp.c_fc.weight"][2] = w.tobytes()

    d = rewrite_safetensors(tiny, os.path.join(WORK, "hf_bad"), edit=huge)
    rc, err = run_export(d, os.path.join(WORK, "refused.bin"), "--dtype", "int8")
    check(f"int8 with a weight of 1e7: exit {rc}: {err}", rc == 1 and "too large for int8" in err and "\n" not in err)
    print("test_export: int8 exports give the engine's --quantize int8 logits bit for bit; refusals")


def test_refusals():
    mini = os.path.join(WORK, "hf_mini")
    make_random_model.make(mini, **MINI)
    out = os.path.join(WORK, "refused.bin")
    export_ok(mini, out)
    os.remove(out)

    def drop(t):
        del t["h.0.mlp.c_fc.bias"]

    def reshape(t):
        t["h.0.attn.c_attn.weight"][1] = [24, 8]

    def f64(t):
        t["h.0.ln_1.weight"][0] = "F64"
        t["h.0.ln_1.weight"][2] *= 2

    def untie(t):
        raw = bytearray(t["wte.weight"][2])
        raw[100] ^= 1
        t["lm_head.weight"] = ["F32", t["wte.weight"][1], bytes(raw)]

    def nan(t):
        t["h.0.mlp.c_proj.weight"][2] = struct.pack("<f", math.nan) + t["h.0.mlp.c_proj.weight"][2][4:]

    def extra(t):
        t["h.0.attn.rotary"] = ["F32", [2], bytes(8)]

    cases = [
        ("missing tensor", dict(edit=drop), "h.0.mlp.c_fc.bias"),
        ("wrong shape", dict(edit=reshape), "h.0.attn.c_attn.weight"),
        ("unknown dtype", dict(edit=f64), "h.0.ln_1.weight"),
        ("truncated file", dict(truncate=10), "truncated"),
        ("layer_norm_epsilon", dict(config={"layer_norm_epsilon": 1e-6}), "layer_norm_epsilon"),
        ("activation", dict(config={"activation_function": "relu"}), "activation_function"),
        ("untied lm_head", dict(edit=untie), "lm_head.weight"),
        ("non-finite value", dict(edit=nan), "h.0.mlp.c_proj.weight"),
        ("unexpected tensor", dict(edit=extra), "h.0.attn.rotary"),
        ("bad config", dict(config={"n_head": 3}), "n_head"),
    ]
    for what, kw, needle in cases:
        d = rewrite_safetensors(mini, os.path.join(WORK, "hf_bad"), **kw)
        rc, err = run_export(d, out)
        check(f"{what}: exit {rc}, expected 1 ({err})", rc == 1)
        check(f"{what}: message does not name {needle} in one line: {err!r}", needle in err and "\n" not in err)
        check(f"{what}: output file left behind", not os.path.exists(out) and not leftovers(out))
    d = rewrite_safetensors(mini, os.path.join(WORK, "hf_bad"))
    with open(os.path.join(d, "model.safetensors"), "r+b") as f:  # bad JSON header
        f.seek(8)
        f.write(b"{{{")
    rc, err = run_export(d, out)
    check(f"bad JSON header: exit {rc}: {err}", rc == 1 and "JSON" in err)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write("{not json")
    rc, err = run_export(d, out)
    check(f"bad config.json: exit {rc}: {err}", rc == 1 and "config.json" in err)
    rc, err = run_export(os.path.join(WORK, "no_such_dir"), out)
    check(f"missing source: exit {rc}: {err}", rc == 1 and "no_such_dir" in err)
    rc, err = run_export(mini, out, "--tokenizer", os.path.join(WORK, "tok.bin"))
    check(f"--tokenizer without vocab.json: exit {rc}: {err}", rc == 1 and "vocab.json" in err)
    for args in ([], [mini], [mini, out, "--dtype", "fp16"]):
        rc, err = run_export(*args)
        check(f"usage error {args}: exit {rc}, expected 2", rc == 2)
    print(f"test_export: {len(cases) + 4} refusals exit 1 naming the problem; usage errors exit 2")


def leftovers(out):
    """Temporary files of an export to out that are still beside it."""
    d, name = os.path.split(out)
    return [f for f in os.listdir(d) if f.startswith(f".{name}.") and f.endswith(".tmp")]


def test_faults():
    """An export never leaves a partial output: a full disk (simulated by a file size limit) and
    Ctrl-C each leave the previous file as it was and no temporary file, with a one-line message."""
    import signal
    import subprocess
    mini = os.path.join(WORK, "hf_mini")
    out = os.path.join(WORK, "faults.bin")
    with open(out, "wb") as f:
        f.write(b"the previous file")

    big = os.path.join(WORK, "hf_faults_big")  # 52 MB of float32: large enough to be interrupted
    if not os.path.exists(os.path.join(big, "model.safetensors")):
        make_random_model.make(big, layers=4, heads=4, embd=256, positions=256, vocab=50257, seed=7)

    def full_disk():  # writes beyond 1 MB fail with EFBIG instead of killing the process
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    p = run([sys.executable, EXPORT, big, out], preexec_fn=full_disk)
    err = p.stderr.decode().strip()
    check(f"full disk: exit {p.returncode}, expected 1, one line naming {out}: {err!r}",
          p.returncode == 1 and out in err and "\n" not in err)
    check("full disk: the previous file is untouched", open(out, "rb").read() == b"the previous file")
    check(f"full disk: temporary files left: {leftovers(out)}", not leftovers(out))

    p = subprocess.Popen([sys.executable, EXPORT, big, out], stderr=subprocess.PIPE)
    for _ in range(2000):  # until its temporary file exists
        if leftovers(out) or p.poll() is not None:
            break
        time.sleep(0.005)
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=60)[1].decode().strip()
    check(f"Ctrl-C: exit {p.returncode}, expected 130, one line: {err!r}",
          p.returncode == 130 and "interrupted" in err and "\n" not in err)
    check("Ctrl-C: the previous file is untouched", open(out, "rb").read() == b"the previous file")
    check(f"Ctrl-C: temporary files left: {leftovers(out)}", not leftovers(out))
    export_ok(mini, out)
    check("an export replaces the previous file", open(out, "rb").read(8) != b"the prev")
    print("test_faults: full disk and Ctrl-C leave the previous file and no temporary file")


def test_tokenizer():
    mini = os.path.join(WORK, "hf_mini")
    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    vocab["".join(table[b] for b in b" the")] = 256
    vocab["<|endoftext|>"] = 257
    with open(os.path.join(mini, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    tok = os.path.join(WORK, "mini_tokenizer.bin")
    export_ok(mini, os.path.join(WORK, "mini.bin"), "--tokenizer", tok)
    with open(tok, "rb") as f:
        data = f.read()
    check("tokenizer header", struct.unpack("<4I", data[:16]) == (20240328, 2, 258, 257))
    body = data[1024:]
    pos, toks = 0, []
    while pos < len(body):
        toks.append(body[pos + 1:pos + 1 + body[pos]])
        pos += 1 + body[pos]
    check("tokenizer tokens",
          len(toks) == 258 and toks[32] == b" " and toks[256] == b" the" and toks[257] == b"<|endoftext|>")
    shutil.copy(GPT2_ENCODER, os.path.join(mini, "vocab.json"))
    export_ok(mini, os.path.join(WORK, "mini.bin"), "--tokenizer", tok)
    with open(tok, "rb") as f, open(os.path.join(ROOT, "data", "gpt2_tokenizer.bin"), "rb") as g:
        check("--tokenizer from the real vocab.json differs from data/gpt2_tokenizer.bin", f.read() == g.read())
    print("test_export: --tokenizer: small vocab and the real one (= data/gpt2_tokenizer.bin)")
    os.remove(os.path.join(mini, "vocab.json"))


# ----------------------------------------------------------------------------------------------
# Download, against a local server that behaves like the hub: /<model>/resolve/main/<file>
# redirects (302) to /cdn/<file> with X-Linked-Size and X-Linked-Etag for model.safetensors;
# /cdn/ honours "Range: bytes=N-" with 206; `cut` makes the next response stop after that many bytes.


class Hub(http.server.BaseHTTPRequestHandler):
    files = {}      # name -> bytes
    etag = {}       # name -> announced sha256 (override to test a mismatch)
    cut = None      # cut the next /cdn/ response after this many body bytes
    log = []        # (path, Range header)

    def log_message(self, *args):
        pass

    def do_GET(self):
        Hub.log.append((self.path, self.headers.get("Range")))
        parts = self.path.split("/")
        name = parts[-1]
        if self.path.startswith("/cdn/") and name in Hub.files:
            return self.send_file(Hub.files[name])
        if len(parts) == 6 and parts[3:5] == ["resolve", "main"] and name in Hub.files:
            if name != "model.safetensors":  # small files: served directly, as the hub does
                return self.send_file(Hub.files[name])
            self.send_response(302)
            self.send_header("Location", f"/cdn/{name}")
            self.send_header("X-Linked-Size", str(len(Hub.files[name])))
            self.send_header("X-Linked-Etag", '"%s"' % Hub.etag.get(name, hashlib.sha256(Hub.files[name]).hexdigest()))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_error(404)

    def send_file(self, data):
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if Hub.cut is not None:
            body, Hub.cut = body[:Hub.cut], None
            self.close_connection = True
        self.wfile.write(body)
        self.wfile.flush()


def test_download():
    mini = os.path.join(WORK, "hf_mini")
    for name in ("config.json", "model.safetensors"):
        with open(os.path.join(mini, name), "rb") as f:
            Hub.files[name] = f.read()
    big = bytes(range(256)) * 4000  # 1 MB, several read blocks
    Hub.files["model.safetensors.big"] = big
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ["GPT2_HF_ENDPOINT"] = base
    cache = os.path.join(WORK, "cache")
    shutil.rmtree(cache, ignore_errors=True)
    try:
        # 1. cut mid-file, no retry: an error that says how to resume, the .part kept
        dest = os.path.join(cache, "a", "file.bin")
        Hub.cut = 300_000
        try:
            export_weights.download(f"{base}/cdn/model.safetensors.big", dest, retries=0, progress=False)
            check("download: an interrupted download did not raise", False)
        except export_weights.ExportError as e:
            check(f"download: interrupted message {e}", "resume" in str(e))
        check("download: .part after a cut", os.path.getsize(dest + ".part") == 300_000 and not os.path.exists(dest))
        # 2. run again: resumes with a Range request
        Hub.log.clear()
        export_weights.download(f"{base}/cdn/model.safetensors.big", dest, retries=0, progress=False)
        check(f"download: resume requests {Hub.log}", Hub.log == [("/cdn/model.safetensors.big", "bytes=300000-")])
        with open(dest, "rb") as f:
            check("download: resumed file differs", f.read() == big and not os.path.exists(dest + ".part"))
        # 3. cut with retries: resumes within one call, through the hub-like redirect (size + sha256)
        Hub.files["model.safetensors"], small = big, Hub.files["model.safetensors"]
        dest = os.path.join(cache, "b", "model.safetensors")
        Hub.cut, Hub.log = 123_456, []
        export_weights.download(export_weights.hub_url("x/y", "model.safetensors"), dest, retries=2,
                                progress=False, wait=0)
        ranges = [r for _, r in Hub.log]
        check(f"download: retry requests {Hub.log}", ranges == [None, None, "bytes=123456-", "bytes=123456-"])
        with open(dest, "rb") as f:
            check("download: retried file differs", f.read() == big)
        # 4. a sha256 that does not match: refused, nothing kept
        Hub.etag["model.safetensors"] = "0" * 64
        dest = os.path.join(cache, "c", "model.safetensors")
        try:
            export_weights.download(export_weights.hub_url("x/y", "model.safetensors"), dest, progress=False)
            check("download: a sha256 mismatch was accepted", False)
        except export_weights.ExportError as e:
            check(f"download: sha256 message {e}", "sha256" in str(e))
        check("download: bad file kept", not os.path.exists(dest) and not os.path.exists(dest + ".part"))
        del Hub.etag["model.safetensors"]
        Hub.files["model.safetensors"] = small
        # 5. the CLI with a hub name: download into the cache, export; then again with no server
        out = os.path.join(WORK, "hub.bin")
        env = {"GPT2C_CACHE": cache, "GPT2_HF_ENDPOINT": base}
        Hub.cut = 1000
        export_ok("test/mini", out, env=env)
        export_ok(os.path.join(WORK, "hf_mini"), os.path.join(WORK, "mini.bin"))
        with open(out, "rb") as f, open(os.path.join(WORK, "mini.bin"), "rb") as g:
            check("download: export of the downloaded model differs", f.read() == g.read())
        check("download: cache contents",
              sorted(os.listdir(os.path.join(cache, "test--mini"))) == ["config.json", "model.safetensors"])
    finally:
        server.shutdown()
        server.server_close()
    export_ok("test/mini", out, env={"GPT2C_CACHE": cache, "GPT2_HF_ENDPOINT": base})  # from the cache
    rc, err = run_export("test/other", out, env={"GPT2C_CACHE": cache, "GPT2_HF_ENDPOINT": base})
    check(f"download with the server gone: exit {rc}: {err}", rc == 1 and "download failed" in err)
    check(f"download with the server gone: one more line on what to do offline: {err}",
          "tools/export_weights.py DIR OUT.bin" in err and "build/random_checkpoint OUT.bin" in err
          and err.split("download failed", 1)[-1].count("\n") == 1)
    print("test_export: download: resume after a cut, retries, size and sha256 checks, cache reuse")


def main():
    t0 = time.time()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    test_bf16_rounding()
    test_exports()
    test_refusals()
    test_faults()
    test_int8(sys.argv[1])
    test_tokenizer()
    test_download()
    print(f"test_export: {time.time() - t0:.1f} s")
    return finish("test_export")


if __name__ == "__main__":
    sys.exit(main())
