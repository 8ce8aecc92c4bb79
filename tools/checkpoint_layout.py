"""The engine's checkpoint file, written down once: llm.c's GPT-2 format (versions 3 and 5) and the
engine's own int8 (version 8). Standard library only; tools/export_weights.py and the tests use it.

A file is a header of HEADER_INTS little-endian int32, {MAGIC, version, maxT, V, L, NH, C, Vp, 0, ...}
(HEADER_FIELDS), then the 16 tensors of TENSORS, in that order, each row-major with the shape
shapes() gives. Vp is V rounded up to a multiple of VOCAB_ALIGN (padded_vocab); wte's rows V..Vp-1
are zero. The tensors of PER_LAYER have a leading dimension L, the layers one after the other.
  version 3: every tensor float32, back to back;
  version 5: every tensor bfloat16, back to back;
  version 8: each of the MATRICES is int8 values followed by one float16 scale per Q8_GROUP of them,
             the other tensors float32; every piece (a tensor, a matrix's scales) is padded with zeros
             to a multiple of Q8_ALIGN bytes.
The dimensions are keyword arguments named as in the header (maxT, V, L, NH, C, Vp); sizes are Python
integers, exact for any header.
"""
import struct

MAGIC = 20240326
VERSIONS = {"fp32": 3, "bf16": 5, "int8": 8}  # 3 and 5 are llm.c's; 8 is the engine's own
HEADER_FIELDS = ("magic", "version", "maxT", "V", "L", "NH", "C", "Vp")
DIMS = HEADER_FIELDS[2:]
HEADER_INTS = 256
HEADER_BYTES = 4 * HEADER_INTS
VOCAB_ALIGN = 128
Q8_GROUP, Q8_ALIGN = 32, 64
ELEMENT_BYTES = {3: 4, 5: 2}  # versions 3 and 5; version 8 mixes int8, float16 and float32

TENSORS = ("wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
           "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb")
PER_LAYER = TENSORS[2:14]
MATRICES = ("wte", "qkvw", "attprojw", "fcw", "fcprojw")  # qkvw's rows: q, then k, then v


def padded_vocab(V):
    """Vp: V rounded up to a multiple of VOCAB_ALIGN."""
    return -(-V // VOCAB_ALIGN) * VOCAB_ALIGN


def shapes(maxT, V, L, NH, C, Vp):
    """[(name, shape)] of the 16 tensors in file order (NH does not change a shape)."""
    layer = {"ln1w": (C,), "ln1b": (C,), "qkvw": (3 * C, C), "qkvb": (3 * C,), "attprojw": (C, C),
             "attprojb": (C,), "ln2w": (C,), "ln2b": (C,), "fcw": (4 * C, C), "fcb": (4 * C,),
             "fcprojw": (C, 4 * C), "fcprojb": (C,)}
    return ([("wte", (Vp, C)), ("wpe", (maxT, C))] + [(n, (L,) + layer[n]) for n in PER_LAYER]
            + [("lnfw", (C,)), ("lnfb", (C,))])


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def n_params(**dims):
    """Values in the 16 tensors, wte's padding rows included."""
    return sum(numel(s) for _, s in shapes(**dims))


def _pad(n, align=Q8_ALIGN):
    return -(-n // align) * align


def _pieces(version, dims):
    """(name, byte offset, bytes taken in the file, padding included) of each tensor in file order."""
    if version not in (3, 5, 8):
        raise ValueError(f"unknown checkpoint version {version}")
    pos = HEADER_BYTES
    for name, shape in shapes(**dims):
        n = numel(shape)
        if version == 8:
            size = _pad(n) + _pad(2 * (n // Q8_GROUP)) if name in MATRICES else _pad(4 * n)
        else:
            size = n * ELEMENT_BYTES[version]
        yield name, pos, size
        pos += size


def tensor_offset(name, version, **dims):
    """Byte offset in the file of the first value of tensor `name`."""
    return next(pos for n, pos, _ in _pieces(version, dims) if n == name)


def file_size(version, **dims):
    """Exact bytes of a checkpoint of this version and these dimensions."""
    return HEADER_BYTES + sum(size for _, _, size in _pieces(version, dims))


def pack_header(version, maxT, V, L, NH, C, Vp, magic=MAGIC):
    """The HEADER_BYTES of a header; the ints after Vp are zero."""
    return struct.pack(f"<{HEADER_INTS}i", magic, version, maxT, V, L, NH, C, Vp,
                       *[0] * (HEADER_INTS - len(HEADER_FIELDS)))


def unpack_header(data):
    """{field: value} of HEADER_FIELDS, read from the first bytes of a checkpoint."""
    return dict(zip(HEADER_FIELDS, struct.unpack(f"<{len(HEADER_FIELDS)}i", data[:4 * len(HEADER_FIELDS)])))


def dims_of(header):
    """The dimension keywords (maxT, V, L, NH, C, Vp) of an unpack_header() dict."""
    return {k: header[k] for k in DIMS}
