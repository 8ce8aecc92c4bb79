#!/usr/bin/env python3
"""Export a Hugging Face GPT-2 checkpoint to the engine's checkpoint file (llm.c's layout).

    python3 tools/export_weights.py SOURCE OUT.bin [--dtype fp32|bf16|int8] [--tokenizer OUT_TOKENIZER.bin]

SOURCE is either
  - a directory holding config.json and model.safetensors (and vocab.json for --tokenizer), or
  - a model name: gpt2, gpt2-medium, gpt2-large, gpt2-xl (or any hub id "owner/name"), downloaded
    from https://huggingface.co/<model>/resolve/main/<file> into the cache directory
    $GPT2C_CACHE, else $XDG_CACHE_HOME/gpt2c, else ~/.cache/gpt2c (one subdirectory per model).
    A file is first written to <file>.part; an interrupted download resumes from there with an HTTP
    Range request (run the command again). A finished file is checked against the size the hub
    announces (X-Linked-Size, else Content-Length) and, when the hub gives one, the sha256 in
    X-Linked-Etag, then renamed into place; a file already in the cache is used without the network.
    GPT2_HF_ENDPOINT overrides the base URL (like HF_ENDPOINT; the tests point it at a local server).

Output: the file tools/checkpoint_layout.py describes, version 3 (float32), 5 (bfloat16, rounded to
nearest even from float32, as torch and llm.c do) or 8 (int8 with float16 scales, made exactly as the
engine's --quantize int8 makes them, so both run the same numbers). HF's Conv1D weights are stored
(in, out) and are transposed to (out, in); c_attn's output columns are q, k, v, qkvw's rows the same.
Pure Python: int8 takes about a minute for gpt2 (124M).

Accepted input: safetensors with F32, F16 or BF16 tensors, names with or without "transformer.";
the causal-mask buffers h.N.attn.bias / h.N.attn.masked_bias are skipped; lm_head.weight, if
present, must equal wte.weight (the engine ties them). Anything else it does not understand (a
missing tensor, a wrong shape or dtype, a truncated file, a non-finite value, a config that is not
plain GPT-2) is refused with a one-line message: exit 1; usage errors exit 2.

Standard library only. Tensors are streamed one at a time (wte in chunks), converted with
array/bytes slicing and big-int arithmetic rather than per-element Python, so gpt2 (124M) exports
in seconds and gpt2-xl needs about one copy of its largest tensor in memory.
"""
import argparse
import array
import hashlib
import http.client
import itertools
import json
import math
import os
import struct
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sibling modules, from any directory
import checkpoint_layout as layout  # noqa: E402
from atomic_file import replace_atomically  # noqa: E402
from make_tokenizer import write_tokenizer  # noqa: E402

Q8_GROUP, Q8_ALIGN = layout.Q8_GROUP, layout.Q8_ALIGN
# Where each checkpoint tensor comes from in a Hugging Face GPT-2 (names without "transformer.";
# those of layout.PER_LAYER are under h.<layer>.). Its matrices other than wte are Conv1D weights.
HF_NAMES = {"wte": "wte.weight", "wpe": "wpe.weight", "ln1w": "ln_1.weight", "ln1b": "ln_1.bias",
            "qkvw": "attn.c_attn.weight", "qkvb": "attn.c_attn.bias", "attprojw": "attn.c_proj.weight",
            "attprojb": "attn.c_proj.bias", "ln2w": "ln_2.weight", "ln2b": "ln_2.bias", "fcw": "mlp.c_fc.weight",
            "fcb": "mlp.c_fc.bias", "fcprojw": "mlp.c_proj.weight", "fcprojb": "mlp.c_proj.bias",
            "lnfw": "ln_f.weight", "lnfb": "ln_f.bias"}
HUB_MODELS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
DTYPE_SIZE = {"F32": 4, "F16": 2, "BF16": 2}
CHUNK = 1 << 20  # elements per conversion chunk (4 MB of float32)
LITTLE = sys.byteorder == "little"


class BlockWriter:
    """Writes whole BLOCK-byte blocks at offsets that are multiples of BLOCK (the rest on close).
    Linux then keeps the new file in the page cache as 2 MB folios, which the engine maps with huge
    pages; small or unaligned writes leave 4 KB pages that cost decode about a tenth of its speed."""
    BLOCK = 8 << 20

    def __init__(self, f, path):
        self.f, self.path, self.buf, self.pos = f, path, bytearray(), 0

    def _write(self, data):
        try:
            self.f.write(data)
        except OSError as e:  # a full disk: name the file the user asked for, not the temporary one
            raise ExportError(f"{self.path}: cannot write: {e.strerror or e}") from None

    def write(self, data):
        self.buf += data
        self.pos += len(data)
        if len(self.buf) >= self.BLOCK:
            n = len(self.buf) // self.BLOCK * self.BLOCK
            self._write(self.buf[:n])
            del self.buf[:n]

    def pad(self, align):
        """Zeros up to the next multiple of align bytes."""
        self.write(bytes(-self.pos % align))

    def close(self):
        self._write(self.buf)
        self.buf = bytearray()


class ExportError(Exception):
    """A refusal: its message is the one line the user sees."""


# --------------------------------------------------------------------------------------------
# float32 bytes helpers. Everything here works on little-endian float32 bytes, whole buffers at
# a time: slicing with a step and bytes.translate run at C speed, and so do Python's big ints.

# byte 3 of a float32 holds the sign and the top 7 exponent bits, byte 2 the last exponent bit.
_EXP_HI = bytes(1 if b & 0x7F == 0x7F else 0 for b in range(256))
_EXP_LO = bytes(1 if b & 0x80 else 0 for b in range(256))
_patterns = {}


def _pattern(word, n):
    """The int whose n little-endian 32-bit lanes all hold `word` (cached)."""
    key = (word, n)
    if key not in _patterns:
        if len(_patterns) > 8:
            _patterns.clear()
        _patterns[key] = int.from_bytes(struct.pack("<I", word) * n, "little")
    return _patterns[key]


def all_finite(raw):
    """True if no float32 in raw (little-endian bytes) is an inf or a NaN (exponent all ones)."""
    hi = int.from_bytes(raw[3::4].translate(_EXP_HI), "little")
    lo = int.from_bytes(raw[2::4].translate(_EXP_LO), "little")
    return hi & lo == 0


def f32_to_bf16(raw):
    """Finite float32 bytes -> bfloat16 bytes, rounded to nearest even: per 32-bit lane,
    bits + 0x7FFF + (bit 16), then keep the top half. A finite lane never carries into the next
    (the largest, 0xFF7FFFFF + 0x8000, still fits 32 bits), so one big-int add does all lanes."""
    n = len(raw) // 4
    x = int.from_bytes(raw, "little")
    x += _pattern(0x7FFF, n) + ((x >> 16) & _pattern(1, n))
    r = x.to_bytes(4 * n, "little")
    out = bytearray(2 * n)
    out[0::2] = r[2::4]
    out[1::2] = r[3::4]
    return bytes(out)


def f32(x):
    """x rounded to the nearest float32. For one +, -, * or / of float32 values, rounding the exact
    double result again to float32 gives the float32 operation's result (53 >= 2 * 24 + 2 bits)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def quantize_q8(raw):
    """Float32 bytes (whole groups of 32) -> (int8 bytes, float16 scale bytes), bit for bit what the
    engine's --quantize int8 makes: per group s = max|w| / 127 in float32, rounded to float16, then
    q = w * (1 / s) in float32, clamped to -127..127 and rounded to nearest even. A whole chunk at a
    time: array("f", ...) rounds a list to float32, struct converts to and from float16."""
    v = f32_array(raw)
    n, G = len(v), Q8_GROUP
    amax = [max(max(v[g:g + G]), -min(v[g:g + G])) for g in range(0, n, G)]
    try:
        halves = struct.pack(f"<{len(amax)}e", *array.array("f", [a / 127.0 for a in amax]))
    except OverflowError:
        raise ExportError(f"a weight of magnitude {max(amax):g} is too large for int8 with float16 scales "
                          "(at most 8.3e6)") from None
    inv = array.array("f", [1.0 / s if s > 0.0 else 0.0 for s in struct.unpack(f"<{len(amax)}e", halves)])
    p = array.array("f", [x * inv[i // G] for i, x in enumerate(v)])  # rounded to float32
    # Rounding first and clamping after gives what clamping first does: (127, 127.5) rounds to 127.
    q = list(map(round, p))
    if q and (max(q) > 127 or min(q) < -127):  # only where a float16 scale is far below max|w| / 127
        q = [min(127, max(-127, x)) for x in q]
    return array.array("b", q).tobytes(), halves


def to_f32(raw, dtype):
    """Tensor bytes of F32, F16 or BF16 (little-endian) -> float32 little-endian bytes."""
    if dtype == "F32":
        return bytes(raw)
    if dtype == "BF16":  # bfloat16 is the top half of a float32
        out = bytearray(2 * len(raw))
        out[2::4] = raw[0::2]
        out[3::4] = raw[1::2]
        return bytes(out)
    a = array.array("f", struct.unpack(f"<{len(raw) // 2}e", raw))  # F16
    if not LITTLE:
        a.byteswap()
    return a.tobytes()


def f32_array(raw):
    a = array.array("f")
    a.frombytes(raw)
    if not LITTLE:
        a.byteswap()
    return a


def f32_bytes(a):
    if not LITTLE:
        a = array.array("f", a)
        a.byteswap()
    return a.tobytes()


def transpose(raw, rows, cols):
    """(rows, cols) float32 bytes -> (cols, rows): output row j is input column j, a strided slice."""
    a = f32_array(raw)
    out = array.array("f")
    for j in range(cols):
        out.extend(a[j::cols])
    return f32_bytes(out)


# --------------------------------------------------------------------------------------------
# safetensors: u64 little-endian header length N, N bytes of JSON, then the raw tensor data.


class SafeTensors:
    def __init__(self, path):
        self.path = path
        self.f = open(path, "rb")
        size = os.fstat(self.f.fileno()).st_size
        head = self.f.read(8)
        if len(head) < 8:
            raise ExportError(f"{path}: truncated: {size} bytes, no safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, 100 << 20):
            raise ExportError(f"{path}: truncated or not safetensors: header length {n}, file {size} bytes")
        try:
            header = json.loads(self.f.read(n))
        except (ValueError, UnicodeDecodeError) as e:
            raise ExportError(f"{path}: bad safetensors JSON header: {e}") from None
        if not isinstance(header, dict):
            raise ExportError(f"{path}: bad safetensors JSON header: not an object")
        self.base = 8 + n
        self.tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            try:
                dtype, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
                ok = (isinstance(dtype, str) and isinstance(shape, list) and
                      all(isinstance(d, int) and d >= 0 for d in shape + [b, e]) and b <= e)
            except (TypeError, KeyError, ValueError):
                ok = False
            if not ok:
                raise ExportError(f"{path}: tensor {name}: bad header entry {json.dumps(info)[:200]}")
            if self.base + e > size:
                raise ExportError(f"{path}: truncated: tensor {name} ends at byte {self.base + e}, "
                                  f"file has {size}")
            key = name[len("transformer."):] if name.startswith("transformer.") else name
            if key in self.tensors:
                raise ExportError(f"{path}: tensor {key} appears twice (with and without transformer.)")
            self.tensors[key] = (name, dtype, tuple(shape), b, e)

    def close(self):
        self.f.close()

    def check(self, key, shape):
        """Validate a tensor's presence, dtype, shape and byte size; return its dtype."""
        if key not in self.tensors:
            raise ExportError(f"{self.path}: missing tensor {key}")
        name, dtype, have, b, e = self.tensors[key]
        if dtype not in DTYPE_SIZE:
            raise ExportError(f"{self.path}: tensor {name}: unsupported dtype {dtype} (F32, F16, BF16)")
        if have != tuple(shape):
            raise ExportError(f"{self.path}: tensor {name}: shape {list(have)}, expected {list(shape)}")
        if e - b != math.prod(shape) * DTYPE_SIZE[dtype]:
            raise ExportError(f"{self.path}: tensor {name}: {e - b} bytes of data for shape {list(shape)} {dtype}")
        return dtype

    def chunks(self, key, shape, chunk=CHUNK):
        """Yield the tensor as float32 little-endian bytes, at most `chunk` elements at a time."""
        dtype = self.check(key, shape)
        name, _, _, b, e = self.tensors[key]
        size = DTYPE_SIZE[dtype]
        pos = self.base + b
        while pos < self.base + e:
            self.f.seek(pos)  # each read seeks: two tensors can be streamed side by side
            raw = self.f.read(min(self.base + e - pos, chunk * size))
            if not raw:
                raise ExportError(f"{self.path}: truncated in tensor {name}")
            pos += len(raw)
            out = to_f32(raw, dtype)
            if not all_finite(out):
                raise ExportError(f"{self.path}: tensor {name}: non-finite value (inf or NaN)")
            yield out

    def read(self, key, shape):
        return b"".join(self.chunks(key, shape))


# --------------------------------------------------------------------------------------------
# config.json


def read_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except OSError as e:
        raise ExportError(f"{path}: {e.strerror}") from None
    except ValueError as e:
        raise ExportError(f"{path}: bad JSON: {e}") from None
    if not isinstance(cfg, dict):
        raise ExportError(f"{path}: bad JSON: not an object")

    def need_int(*keys):
        for k in keys:
            v = cfg.get(k)
            if v is not None:
                if not isinstance(v, int) or isinstance(v, bool) or not 0 < v < 1 << 20:
                    raise ExportError(f"{path}: {k} = {v!r} is not a positive integer below 2^20")
                return v
        raise ExportError(f"{path}: missing {' or '.join(keys)}")

    L, NH, C, V = need_int("n_layer"), need_int("n_head"), need_int("n_embd"), need_int("vocab_size")
    maxT = need_int("n_positions", "n_ctx")
    if C % NH:
        raise ExportError(f"{path}: n_embd {C} is not a multiple of n_head {NH}")
    if cfg.get("model_type", "gpt2") != "gpt2":
        raise ExportError(f"{path}: model_type {cfg['model_type']!r}, expected 'gpt2'")
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    if eps != 1e-5:
        raise ExportError(f"{path}: layer_norm_epsilon {eps!r}: the engine uses 1e-5")
    act = cfg.get("activation_function", "gelu_new")
    if act not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ExportError(f"{path}: activation_function {act!r}: the engine uses gelu_new (tanh GELU)")
    if cfg.get("n_inner") not in (None, 4 * C):
        raise ExportError(f"{path}: n_inner {cfg['n_inner']!r}: the engine uses 4 * n_embd")
    if cfg.get("scale_attn_weights", True) is not True or cfg.get("scale_attn_by_inverse_layer_idx", False):
        raise ExportError(f"{path}: attention scaling other than 1/sqrt(head size) is not supported")
    if cfg.get("add_cross_attention", False):
        raise ExportError(f"{path}: add_cross_attention is not supported")
    return {"maxT": maxT, "V": V, "L": L, "NH": NH, "C": C}


# --------------------------------------------------------------------------------------------
# The export.


def hf_sources(dims):
    """[(checkpoint tensor, [(HF name, HF shape) per layer, or the one], Conv1D)] in file order."""
    out = []
    for name, shape in layout.shapes(**dims):
        if name == "wte":
            out.append((name, [(HF_NAMES[name], (dims["V"], dims["C"]))], False))  # no padding rows
        elif name in layout.PER_LAYER:
            conv1d = name in layout.MATRICES
            hf_shape = shape[:0:-1] if conv1d else shape[1:]  # a Conv1D weight is stored (in, out)
            out.append((name, [(f"h.{l}.{HF_NAMES[name]}", hf_shape) for l in range(dims["L"])], conv1d))
        else:
            out.append((name, [(HF_NAMES[name], shape)], False))
    return out


def export(src_dir, out_path, dtype="fp32", log=sys.stderr):
    cfg = read_config(os.path.join(src_dir, "config.json"))
    dims = dict(cfg, Vp=layout.padded_vocab(cfg["V"]))
    V, C, Vp = dims["V"], dims["C"], dims["Vp"]
    if dtype == "int8" and C % Q8_GROUP:
        raise ExportError(f"--dtype int8: n_embd {C} is not a multiple of {Q8_GROUP}")
    st_path = os.path.join(src_dir, "model.safetensors")
    if not os.path.exists(st_path):
        other = " (only model.safetensors is supported)" if os.path.exists(
            os.path.join(src_dir, "pytorch_model.bin")) else ""
        raise ExportError(f"{st_path}: no such file{other}")
    st = SafeTensors(st_path)
    sources = hf_sources(dims)
    t0 = time.time()
    try:
        # Validate every tensor before writing anything: a refusal costs no time or disk. The tensors
        # outside the layers first, then layer by layer.
        plan = [src for name, srcs, _ in sources if name not in layout.PER_LAYER for src in srcs]
        plan += [srcs[l] for l in range(dims["L"]) for name, srcs, _ in sources if name in layout.PER_LAYER]
        for key, shape in plan:
            st.check(key, shape)
        known = {k for k, _ in plan} | {"lm_head.weight"}
        for key in st.tensors:
            skip = key.startswith("h.") and (key.endswith(".attn.bias") or key.endswith(".attn.masked_bias"))
            if key not in known and not skip:
                raise ExportError(f"{st_path}: unexpected tensor {st.tensors[key][0]}")
        if "lm_head.weight" in st.tensors:
            st.check("lm_head.weight", (V, C))
            for a, b in zip(st.chunks("wte.weight", (V, C)), st.chunks("lm_head.weight", (V, C))):
                if a != b:
                    raise ExportError(f"{st_path}: tensor lm_head.weight differs from wte.weight "
                                      "(an untied output head is not supported)")

        with replace_atomically(out_path) as f:
            out = BlockWriter(f, out_path)

            def tensor(chunks, matrix=False):
                """One tensor from an iterable of float32 little-endian bytes. int8: a matrix's int8
                values, then its float16 scales; every piece padded to a multiple of 64 bytes."""
                scales = bytearray()
                for raw in chunks:
                    if dtype == "bf16":
                        for i in range(0, len(raw), 4 * CHUNK):
                            out.write(f32_to_bf16(raw[i:i + 4 * CHUNK]))
                    elif dtype == "int8" and matrix:
                        q, sc = quantize_q8(raw)
                        out.write(q)
                        scales += sc
                    else:
                        out.write(raw)
                if dtype == "int8":
                    out.pad(Q8_ALIGN)
                    if matrix:
                        out.write(scales)
                        out.pad(Q8_ALIGN)

            out.write(layout.pack_header(layout.VERSIONS[dtype], **dims))
            for name, srcs, conv1d in sources:
                if name == "wte":  # streamed in chunks, then its zero padding rows
                    tensor(itertools.chain(st.chunks(*srcs[0]), [bytes(4 * (Vp - V) * C)]), matrix=True)
                else:
                    tensor((transpose(st.read(key, shape), *shape) if conv1d else st.read(key, shape)
                            for key, shape in srcs), matrix=conv1d)
            out.close()
    finally:
        st.close()
    print(f"export_weights.py: wrote {out_path}: {dtype}, maxT {dims['maxT']}, V {V} (Vp {Vp}), L {dims['L']}, "
          f"NH {dims['NH']}, C {C}, {layout.n_params(**dims)} parameters, {time.time() - t0:.1f} s", file=log)


# --------------------------------------------------------------------------------------------
# Downloading from the Hugging Face hub (urllib; resumable; verified).


def cache_dir():
    if os.environ.get("GPT2C_CACHE"):
        return os.environ["GPT2C_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gpt2c")


def hub_url(model, filename):
    base = os.environ.get("GPT2_HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return f"{base}/{model}/resolve/main/{filename}"


class _KeepLinked(urllib.request.HTTPRedirectHandler):
    """The hub answers with a redirect to a CDN; X-Linked-Size / X-Linked-Etag are on the redirect
    response, not on the final one, so remember them on the way."""

    def __init__(self):
        self.linked = {}

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        for k in ("X-Linked-Size", "X-Linked-Etag"):
            if headers.get(k):
                self.linked[k] = headers[k]
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch(url, part, progress, timeout):
    """One attempt: continue `part` from its current size. Returns (total size, sha256 or None)."""
    have = os.path.getsize(part) if os.path.exists(part) else 0
    req = urllib.request.Request(url, headers={"User-Agent": "gpt2c-export_weights/1"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    keep = _KeepLinked()
    try:
        resp = urllib.request.build_opener(keep).open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        # 416: nothing left to send, e.g. a complete .part from a run stopped before the rename
        total = (e.headers.get("Content-Range") or "").rpartition("/")[2]
        if e.code == 416 and have and total.isdigit() and int(total) == have:
            return have, None
        raise
    with resp:
        linked = dict(keep.linked)
        for k in ("X-Linked-Size", "X-Linked-Etag"):
            if resp.headers.get(k):
                linked[k] = resp.headers[k]
        crange = resp.headers.get("Content-Range", "")
        if resp.status == 206 and crange.startswith(f"bytes {have}-"):
            mode = "ab"
        else:  # the server ignored the Range: start again
            have, mode = 0, "wb"
        size = linked.get("X-Linked-Size") or crange.rpartition("/")[2]
        if not size.isdigit() and resp.headers.get("Content-Length", "").isdigit():
            size = str(have + int(resp.headers["Content-Length"]))
        total = int(size) if size.isdigit() else None
        etag = linked.get("X-Linked-Etag", "").strip().removeprefix("W/").strip('"').lower()
        sha = etag if len(etag) == 64 and all(c in "0123456789abcdef" for c in etag) else None
        done, last = have, 0.0
        with open(part, mode) as f:
            while True:
                block = resp.read(1 << 20)
                if not block:
                    break
                f.write(block)
                done += len(block)
                if progress and time.time() - last > 0.2:
                    last = time.time()
                    _bar(os.path.basename(part[:-5]), done, total)
        if progress:
            _bar(os.path.basename(part[:-5]), done, total)
            sys.stderr.write("\n")
    return total if total is not None else done, sha


def _bar(name, done, total):
    if total:
        n = 30 * done // max(total, 1)
        sys.stderr.write(f"\r{name} [{'#' * n}{'.' * (30 - n)}] {100 * done / total:5.1f}% "
                         f"{done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r{name} {done / 1e6:.1f} MB")
    sys.stderr.flush()


def download(url, dest, retries=3, progress=None, timeout=60, wait=1.0):
    """Fetch url into dest through dest.part (resumed if present), verify it, rename it into place.
    A dest that already exists is trusted (it was verified before the rename)."""
    if os.path.exists(dest):
        return dest
    if progress is None:
        progress = sys.stderr.isatty()
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    part = dest + ".part"
    print(f"export_weights.py: downloading {url}", file=sys.stderr)
    for attempt in range(retries + 1):
        try:
            total, sha = _fetch(url, part, progress, timeout)
            have = os.path.getsize(part)
            if have != total:
                raise http.client.IncompleteRead(b"", total - have)
            break
        except (OSError, http.client.HTTPException) as e:
            if progress:
                sys.stderr.write("\n")
            have = os.path.getsize(part) if os.path.exists(part) else 0
            fatal = isinstance(e, urllib.error.HTTPError) and 400 <= e.code < 500
            if fatal or attempt == retries:
                what = f"HTTP {e.code}" if isinstance(e, urllib.error.HTTPError) else (str(e) or type(e).__name__)
                keep = f"; {have} bytes kept in {part}, run again to resume" if have and not fatal else ""
                raise ExportError(f"{url}: download failed: {what}{keep}") from None
            time.sleep(wait)
    if sha:
        h = hashlib.sha256()
        with open(part, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        if h.hexdigest() != sha:
            os.remove(part)
            raise ExportError(f"{url}: sha256 {h.hexdigest()} differs from the hub's {sha} (file removed)")
    os.replace(part, dest)
    return dest


def fetch_model(model, files):
    d = os.path.join(cache_dir(), model.replace("/", "--"))
    for name in files:
        download(hub_url(model, name), os.path.join(d, name))
    return d


# --------------------------------------------------------------------------------------------


# What to do without the network, said when a download fails (and by gpt2 without its checkpoint).
OFFLINE_HINT = ("offline? convert a local Hugging Face directory (config.json, model.safetensors) with "
                "tools/export_weights.py DIR OUT.bin, or try the CLI on random weights: "
                "make build/random_checkpoint && build/random_checkpoint OUT.bin")


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="export_weights.py",
        description="Export a Hugging Face GPT-2 checkpoint (directory or hub model name) to the engine's format.")
    p.add_argument("source", help="directory with config.json + model.safetensors, or gpt2 / gpt2-medium / "
                                  "gpt2-large / gpt2-xl / owner/name from the hub")
    p.add_argument("out", help="output checkpoint (.bin)")
    p.add_argument("--dtype", choices=sorted(layout.VERSIONS), default="fp32", help="tensor type (default fp32)")
    p.add_argument("--tokenizer", metavar="OUT_TOKENIZER.bin", help="also write the tokenizer from vocab.json")
    a = p.parse_args(argv)
    try:
        src = a.source
        if not os.path.isdir(src):
            if src not in HUB_MODELS and not (src.count("/") == 1 and not os.path.exists(src)
                                               and all(src.split("/"))):
                raise ExportError(f"{src}: not a directory nor a hub model name ({', '.join(HUB_MODELS)})")
            files = ["config.json", "model.safetensors"] + (["vocab.json"] if a.tokenizer else [])
            try:
                src = fetch_model(src, files)
            except ExportError as e:
                if "HTTP 404" in str(e):
                    raise ExportError(f"{src}: no such directory, and not on the hub: {e}") from None
                raise ExportError(f"{e}\nexport_weights.py: {OFFLINE_HINT}") from None
        export(src, a.out, a.dtype)
        if a.tokenizer:
            vpath = os.path.join(src, "vocab.json")
            try:
                with open(vpath, encoding="utf-8") as f:
                    encoder = json.load(f)
                write_tokenizer(encoder, a.tokenizer)
            except OSError as e:
                raise ExportError(f"{vpath}: {e.strerror}") from None
            except (ValueError, AttributeError, TypeError) as e:
                raise ExportError(f"{vpath}: {e}") from None
            print(f"export_weights.py: wrote {a.tokenizer}: {len(encoder)} tokens", file=sys.stderr)
    except ExportError as e:
        print(f"export_weights.py: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"export_weights.py: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"export_weights.py: interrupted; {a.out} not written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
