#!/usr/bin/env python3
"""Write GPT-2's tokenizer in llm.c's binary format from an encoder.json / vocab.json.

    python3 tools/make_tokenizer.py data/gpt2_encoder.json data/gpt2_tokenizer.bin

Format: uint32 header[256] = {20240328, 2, V, eot_id, 0...}, then for each id 0..V-1 a uint8 length
and the token's raw bytes. The json maps token strings to ids; the strings use GPT-2's
bytes_to_unicode alphabet (every byte shown as a printable code point), mapped back to bytes here.
Standard library only; export_weights.py imports write_tokenizer().
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atomic_file import replace_atomically  # noqa: E402

MAGIC, VERSION = 20240328, 2
EOT = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's table: printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def token_bytes(encoder):
    """Return the list of raw byte strings indexed by id, checking that ids are exactly 0..V-1."""
    decode = {c: b for b, c in bytes_to_unicode().items()}
    V = len(encoder)
    out = [None] * V
    for s, i in encoder.items():
        if not isinstance(i, int) or not 0 <= i < V or out[i] is not None:
            raise ValueError(f"token {s!r}: id {i!r} is not a unique id in 0..{V - 1}")
        if s == EOT:
            out[i] = EOT.encode()
            continue
        try:
            out[i] = bytes(decode[c] for c in s)
        except KeyError as e:
            raise ValueError(f"token {s!r}: character {e} is outside GPT-2's byte alphabet") from None
        if not 1 <= len(out[i]) <= 255:
            raise ValueError(f"token {s!r}: {len(out[i])} bytes does not fit a uint8 length")
    if EOT not in encoder:
        raise ValueError(f"no {EOT} token")
    return out


def write_tokenizer(encoder, path):
    toks = token_bytes(encoder)
    header = [MAGIC, VERSION, len(toks), encoder[EOT]] + [0] * 252
    with replace_atomically(path) as f:
        f.write(struct.pack("<256I", *header))
        for b in toks:
            f.write(bytes([len(b)]) + b)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: make_tokenizer.py ENCODER_JSON OUT.bin")
    try:
        with open(argv[1], encoding="utf-8") as f:
            encoder = json.load(f)
        write_tokenizer(encoder, argv[2])
    except (OSError, ValueError) as e:
        sys.exit(f"make_tokenizer.py: {argv[1]}: {e}")


if __name__ == "__main__":
    main(sys.argv)
