"""What the Python tests share: running a program, recording checks, reading the engine's outputs.
Standard library only. Importing it also makes tools/ importable (checkpoint_layout, export_weights).

    from common import check, run
    check("what is checked", ok, "what went wrong")   # a failure is printed and counted
    ...
    sys.exit(finish("test_name"))                      # 1 if any check failed
"""
import array
import os
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


def bf16_round(bits):
    """float32 bit pattern -> bfloat16 bit pattern, round to nearest even (one value: slow, plain)."""
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
