#!/usr/bin/env python3
"""`make bench`: speed of the engine on a full-size GPT-2 124M with deterministic random weights, beside
what this machine can do at all. Standard library only.

    python3 test/bench.py BUILD_DIR RANDOM_CHECKPOINT GPT2   (BUILD_DIR holds bench; the second is
                                                               tools/random_checkpoint.c built)

Prints markdown: the machine's read bandwidth and FMA peak (1 and 2 threads), then one row per
weight format and thread count: load time, prefill tokens/s for 128- and 512-token prompts (and as a
share of the FMA peak), time to the first token after a 4-token prompt, decode tokens/s for 128 tokens
(and as a share of the bandwidth ceiling, bandwidth / bytes of weights read per token, with the
bandwidth measured right before that run: the best such share), peak RSS
against the checkpoint size + KV cache + 64 MB; then batched decode (aggregate new tokens/s of 1, 4, 8, 16
and 64 sequences), the sliding window against --context-shift past the context (64 and 1024), and decode
with another process keeping one core busy.
Every figure is the best of RUNS runs, each in a fresh process.
"""
import datetime
import json
import os
import platform
import subprocess
import sys
import time

L, C, V, MAXT = 12, 768, 50257, 1024
RUNS = 3  # of every configuration, keeping the best


def run_json(args):
    p = subprocess.run(args, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit(f"bench.py: {' '.join(args)}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def best(rs):
    """Each figure's best over runs: on a machine shared with other work a figure varies from one run
    to the next (by 10-20%, read bandwidth by up to two times), and the best is what the code can do.
    Peak RSS: the worst."""
    return {k: (min if k in ("load_s", "ttft_ms") else max)(r[k] for r in rs) for k in rs[0]}


def best_of(args, runs=RUNS):
    """A bench configuration run `runs` times, each in a fresh process; the best figures."""
    return best([run_json(args) for _ in range(runs)])


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_of_processes(exe, model, n):
    """Total RSS and PSS in MB of n gpt2 processes decoding from model at once: the largest sums of
    /proc/PID/smaps_rollup taken while all n run (None, None where there is no /proc)."""
    ps = [subprocess.Popen([exe, "-m", model, "-p", "Every effort moves you", "-n", "400", "--eos", "-1", "-c", "64",
                            "-T", "1", "--print-ids"], stdout=subprocess.DEVNULL) for _ in range(n)]
    best = (None, None)
    while all(p.poll() is None for p in ps):
        try:
            now = [0.0, 0.0]
            for p in ps:
                with open(f"/proc/{p.pid}/smaps_rollup") as f:
                    kb = dict((k, int(v.split()[0])) for k, v in (line.split(":", 1) for line in f if ":" in line)
                              if k in ("Rss", "Pss"))
                now[0] += kb["Rss"] / 1024
                now[1] += kb["Pss"] / 1024
            if best[0] is None or now[1] > best[1]:
                best = tuple(now)
        except (OSError, ValueError, KeyError):
            break
        time.sleep(0.05)
    for p in ps:
        p.wait()
    return best


def main(argv):
    build = argv[1]
    bench, maker, exe = os.path.join(build, "bench"), argv[2], argv[3]
    os.makedirs("build/bench", exist_ok=True)
    files = {"fp32": "build/bench/gpt2_124M.bin", "bf16": "build/bench/gpt2_124M_bf16.bin",
             "int8": "build/bench/gpt2_124M_int8.bin"}
    for dtype, path in files.items():  # written once, then cached (build/ is git-ignored)
        if not os.path.exists(path):
            subprocess.run([maker, path, str(L), "12", str(C), str(MAXT), str(V), dtype, "1"], check=True)

    machine = {t: best_of([bench, "machine", str(t)]) for t in (1, 2)}
    print(f"Measured {datetime.date.today()} on {cpu_name()}, {os.cpu_count()} cores, "
          f"GPT-2 124M with random weights.\n")
    print("| threads | read bandwidth | FMA peak |\n|---|---|---|")
    for t, m in machine.items():
        print(f"| {t} | {m['read_gbs']:.1f} GB/s | {m['fma_gflops']:.0f} GFLOP/s |")

    # bytes of weights read per decoded token: the layers' matrices and the tied head's V rows
    matrix_params = L * 12 * C * C + V * C
    bytes_per_param = {"fp32": 4, "bf16": 2, "int8": 1 + 2 / 32, "int8 file": 1 + 2 / 32}  # float16 scale per 32
    # FLOPs per prompt token: the matrices (2 per weight) and attention over on average (T + 1) / 2 keys
    def flops_per_token(T):
        return 2 * L * 12 * C * C + 4 * L * C * (T + 1) / 2

    print("\n| format | threads | load | prefill 128 | prefill 512 | first token | decode | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    # int8 twice: quantized from float32 at load time (--quantize int8), and read from an int8 checkpoint
    configs = [("fp32", files["fp32"], []), ("bf16", files["bf16"], []), ("int8", files["fp32"], ["int8"]),
               ("int8 file", files["int8"], [])]
    for name, path, extra in configs:
        for t in (1, 2):
            # Each run right after a bandwidth measurement: decode as a share of the ceiling of that
            # moment, as the machine's bandwidth drifts with its neighbours' load.
            pairs = [(run_json([bench, "machine", str(t)]), run_json([bench, "model", path, str(t), *extra]))
                     for _ in range(RUNS)]
            r = best([model for _, model in pairs])
            bytes_per_token = matrix_params * bytes_per_param[name]
            share = max(model["decode"] / (m["read_gbs"] * 1e9 / bytes_per_token) for m, model in pairs)
            peak = machine[t]["fma_gflops"] * 1e9
            limit = r["file_mb"] + r["kv_mb"] + 64
            print(f"| {name} | {t} | {r['load_s'] * 1e3:.0f} ms "
                  f"| {r['prefill128']:.0f} tok/s ({r['prefill128'] * flops_per_token(128) / peak:.0%}) "
                  f"| {r['prefill512']:.0f} tok/s ({r['prefill512'] * flops_per_token(512) / peak:.0%}) "
                  f"| {r['ttft_ms']:.1f} ms | {r['decode']:.1f} tok/s ({share:.0%}) "
                  f"| {r['rss_mb']:.0f} MB (limit {limit:.0f}) |")

    # Batched decode: -N K as one gpt2_generate_batch, against the K samples one after another (what
    # -N did before: K times one sample's time, i.e. one sample's rate).
    print("\nBatched decode, fp32, 2 threads: B sequences of 64 new tokens after a 4-token prompt, aggregate new "
          "tokens/s (first token included):\n")
    print("| sequences | aggregate | vs one sample | first token | peak RSS |\n|---|---|---|---|---|")
    one = None
    for B in (1, 4, 8, 16, 64):
        r = best_of([bench, "batch", files["fp32"], "2", str(B)])
        one = one or r["aggregate"]
        print(f"| {B} | {r['aggregate']:.0f} tok/s | {r['aggregate'] / one:.1f}x | {r['ttft_ms']:.1f} ms "
              f"| {r['rss_mb']:.0f} MB |")

    # Past the context: the book's sliding window runs the whole window for every token; context shift
    # runs half a window once per half window and decodes from the cache in between.
    print("\nPast the context, fp32, 2 threads: tokens/s after the first, the prompt filling the window:\n")
    print("| context | sliding window (the book's) | context shift | shift vs cached decode |\n|---|---|---|---|")
    cached = best_of([bench, "model", files["fp32"], "2", "decode"])["decode"]
    for ctx, n_slide, n_shift in ((64, 64, 256), (1024, 6, 600)):
        slide = best_of([bench, "shift", files["fp32"], "2", str(ctx), str(n_slide), "0"])["rate"]
        shift = best_of([bench, "shift", files["fp32"], "2", str(ctx), str(n_shift), "1"])["rate"]
        print(f"| {ctx} | {slide:.1f} tok/s | {shift:.1f} tok/s | {shift / cached:.0%} of {cached:.1f} tok/s |")

    # More threads than cores: gpt2_build caps them at the cores online.
    cores = os.cpu_count() or 1
    print("\nDecode fp32 with more threads than the %d cores:\n" % cores)
    print("| threads asked | decode |\n|---|---|")
    for t in (cores, 8 * cores):
        print(f"| {t} | {best_of([bench, 'model', files['fp32'], str(t), 'decode'])['decode']:.1f} tok/s |")

    # Several processes on one checkpoint share its pages through the page cache: each process's RSS
    # counts the shared weights whole, its PSS (Linux) a share of them.
    print("\nMemory of processes decoding from one fp32 checkpoint at once (each with 1 thread):\n")
    print("| processes | total RSS | total PSS |\n|---|---|---|")
    for n in (1, 4):
        rss, pss = memory_of_processes(exe, files["fp32"], n)
        print(f"| {n} | " + ("- | - |" if rss is None else f"{rss:.0f} MB | {pss:.0f} MB |"))

    print("\nDecode fp32 while another process keeps one core busy:\n")
    print("| threads | decode |\n|---|---|")
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for t in (1, 2):
            r = best_of([bench, "model", files["fp32"], str(t), "decode"])
            print(f"| {t} | {r['decode']:.1f} tok/s |")
    finally:
        hog.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
