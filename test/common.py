"""What the Python tests share: running a program, recording checks, reading the engine's outputs.
Standard library only. Importing it also makes tools/ importable (checkpoint_layout, export_weights).

    from common import check, run
    check("what is checked", ok, "what went wrong")   # a failure is printed and counted
    ...
    sys.exit(finish("test_name"))                      # 1 if any check failed
"""
import array
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(HERE, "fixtures")
TOOLS = os.path.join(ROOT, "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

passed = failed = 0


# Emulated runs (qemu, wine) are slower: GPT2_TIMEOUT_SCALE=N gives every program N times as long.
TIMEOUT_SCALE = float(os.environ.get("GPT2_TIMEOUT_SCALE", "1"))


def run(args, stdin=b"", timeout=120, **kw):
    """args run to completion with stdout and stderr captured. stdin: bytes to send (by default none,
    and end of file: a test never waits on the terminal)."""
    return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout * TIMEOUT_SCALE, **kw)


def check(what, ok, detail=""):
    """Count a check; a failed one is printed with what went wrong."""
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def finish(name, skipped=0):
    """Print the counts; the exit status: 1 if any check failed."""
    print(f"{name}: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


def join_ids(ids):
    """Token ids as --prompt-ids and --decode take them."""
    return " ".join(map(str, ids))


def ids_of(p):
    """The token ids a run printed (--print-ids, --encode)."""
    return [int(x) for x in p.stdout.split()]


def draw_counts(p):
    """{id: count} of the token rows of a --draws run (after its title and header; "other" row left out)."""
    rows = [line.split() for line in p.stdout.decode("utf-8", "replace").splitlines()[2:] if line.strip()]
    return {int(r[2]): int(r[0]) for r in rows if r[2] != "-"}


def f32_values(data):
    """Little-endian float32 bytes (--dump-logits, the logits fixtures) as an array of floats."""
    a = array.array("f")
    a.frombytes(data)
    if sys.byteorder != "little":
        a.byteswap()
    return a


def read_f32(path):
    with open(path, "rb") as f:
        return f32_values(f.read())


def dump_logits(exe, args, path):
    """exe ARGS --dump-logits path: (the file's bytes, "") or, when it fails, (None, why)."""
    p = run([exe, *args, "--dump-logits", path])
    if p.returncode != 0 or not os.path.exists(path):
        return None, f"exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}"
    with open(path, "rb") as f:
        return f.read(), ""


def logit_checkpoint(path, logits, V=50257, C=4, maxT=8):
    """A float32 checkpoint (L = NH = 1) whose logits do not depend on the input: every block's weights
    are zero, so the residual stream passes through unchanged, and the final LayerNorm has weight 0
    and bias e0, so lnf(x) = e0 for any x and the logit of token i is wte[i][0]: logits[i] for the
    ids in the dict logits, 0 for every other."""
    import checkpoint_layout as layout
    dims = dict(maxT=maxT, V=V, L=1, NH=1, C=C, Vp=layout.padded_vocab(V))
    with open(path, "wb") as f:
        f.write(layout.pack_header(layout.VERSIONS["fp32"], **dims))
        for name, shape in layout.shapes(**dims):
            values = [0.0] * layout.numel(shape)
            if name == "wte":
                for i, x in logits.items():
                    values[i * C] = x
            elif name == "lnfb":
                values[0] = 1.0  # e0
            f.write(struct.pack(f"<{len(values)}f", *values))


def bf16_round(bits):
    """float32 bit pattern -> bfloat16 bit pattern, round to nearest even (one value: slow, plain)."""
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16


def rank_checkpoint(path, ranks, slots=1100):
    """A logit_checkpoint where token id has rank ranks[id] (1..slots) at every position, whatever the
    input: slots descending logits, the ids of ranks at their places, other ids (from 1000 up) at the
    rest. Every token not placed has logit 0, below all of them: rank slots + 1."""
    fillers = (i for i in range(1000, 50257) if i not in ranks)
    by_rank = {r: i for i, r in ranks.items()}
    logit_checkpoint(path, {by_rank[r] if r in by_rank else next(fillers): 10.0 - 0.005 * (r - 1)
                            for r in range(1, slots + 1)})
