#!/usr/bin/env python3
"""The engine against the PyTorch reference (test/reference.py wrote the fixtures), through the CLI
exactly as a user runs it. Standard library only.

    python3 test/test_engine.py ./gpt2 build/test build/native/accuracy [--int8-only]

For each test model (tiny: maxT 16, small: maxT 64): last-position logits within ATOL of the
reference for several prompts, greedy ids identical to generate() of Raschka's book (test/reference.py) (window sliding,
context < maxT, an end-of-text stop), greedy ids with --context-shift identical to the reference's
generate_shift(), identical logits for 1, 2 and 3 threads, the bf16 checkpoint
against the reference run on the same bf16-rounded weights, and bf16 and int8 against float32.
--int8-only runs only int8 against float32: for a build whose other kernels another run has tested.
"""
import json
import os
import sys
import tempfile

from common import FIXTURES, check, finish, f32_values, join_ids, read_f32, run
from common import dump_logits as dump

# The bound on |a logit - the reference's| on the same weights. The engine computes in float32, the
# fixtures are float64; PyTorch's own float32 run is within a few 1e-6 of them ("float32_noise").
# bf16 rounds each linear layer's input to bf16, and an input within float32's noise of a midpoint
# between two bf16 values may round either way: each case allows the reference's "tie_slack" more.
ATOL = 1e-4
# Reduced formats against float32 (README, "Accuracy of the reduced formats"). bf16 rounds every
# weight and each linear layer's input by up to 2^-9 relative, int8 by up to half a step of
# max|w|/127 per group of 32 (and the activations the same way); the bounds are 1.6 to 2 times the
# worst seen over 256 greedy steps on the test models and the full-size random model (bf16 0.064,
# int8 0.156, float16 scales included).
BF16_ATOL, INT8_ATOL = 0.12, 0.25
# Of 256 greedy steps (teacher-forced on float32's tokens), how many argmaxes must agree.
BF16_AGREE, INT8_AGREE = 245, 235


def worst(got, ref):
    """(max |got - ref|, index) over the two sequences."""
    if len(got) != len(ref):
        return float("inf"), -1
    return max((abs(g - r), i) for i, (g, r) in enumerate(zip(got, ref)))


def dump_logits(exe, model, ids, context, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        data, err = dump(exe, ["-m", model, "--prompt-ids", join_ids(ids), "-c", str(context), *extra],
                         os.path.join(tmp, "logits.f32"))
    check(f"{model}: --dump-logits", data is not None, err)
    return None if data is None else f32_values(data)


def greedy(exe, model, case, extra=()):
    p = run([exe, "-m", model, "--prompt-ids", join_ids(case["prompt_ids"]), "-n",
             str(case["max_new_tokens"]), "-c", str(case["context"]), "--eos", str(case["eos"]),
             "--print-ids", *extra])
    if not check(f"{model}: generation", p.returncode == 0, f"exit {p.returncode}: {p.stderr.decode().strip()}"):
        return None
    return [int(x) for x in p.stdout.split()]


def check_model(exe, accuracy, models, fixtures, name, int8_only):
    if not int8_only:
        check_float(exe, models, fixtures, name)
    model = os.path.join(models, f"{name}.bin")
    # the reduced formats against float32: worst logit error and argmax agreement over 256 steps
    formats = [("int8", model, ["int8"], INT8_ATOL, INT8_AGREE)]
    if not int8_only:
        formats.insert(0, ("bf16", os.path.join(models, f"{name}_bf16.bin"), [], BF16_ATOL, BF16_AGREE))
    for label, other, extra, atol, agree in formats:
        p = run([accuracy, model, other, *extra, "256"])
        if not check(f"{other} {label}: accuracy", p.returncode == 0,
                     f"exit {p.returncode}: {p.stderr.decode().strip()}"):
            continue
        r = json.loads(p.stdout)
        check(f"{other} {label} against float32", r["worst_logit_diff"] <= atol and r["argmax_agree"] >= agree,
              f"worst logit |diff| {r['worst_logit_diff']:.3g} (bound {atol}), "
              f"argmax agrees on {r['argmax_agree']} of 256 steps (at least {agree})")
        print(f"  {name} {label} vs float32 over 256 greedy steps: worst logit |diff| {r['worst_logit_diff']:.3g} "
              f"(bound {atol}), argmax agrees on {r['argmax_agree']} (at least {agree}), "
              f"own greedy run identical for {r['greedy_identical_steps']} steps")


def check_float(exe, models, fixtures, name):
    """float32 and bf16 against the reference: logits, greedy ids, --context-shift, thread counts."""
    with open(os.path.join(fixtures, f"ref_{name}.json")) as f:
        ref = json.load(f)
    for variant, logit_key, greedy_key in (("", "logits", "greedy"), ("_bf16", "logits_bf16", "greedy_bf16")):
        model = os.path.join(models, f"{name}{variant}.bin")
        worst_all = 0.0
        for case in ref[logit_key]:
            want = read_f32(os.path.join(fixtures, case["file"]))
            got = dump_logits(exe, model, case["prompt_ids"], case["context"])
            if got is None:
                continue
            d, i = worst(got, want)
            worst_all = max(worst_all, d)
            bound = ATOL + case.get("tie_slack", 0.0)
            check(f"{model}: logits of a {len(case['prompt_ids'])}-token prompt", d <= bound,
                  f"worst |diff| {d:.3g} at id {i} "
                  f"(got {got[i] if i >= 0 else '?'}, reference {want[i] if i >= 0 else '?'}) > {bound:.3g}")
        print(f"  {name}{variant}: {len(ref[logit_key])} prompts, worst logit |diff| vs reference {worst_all:.3g} "
              f"(bound {ATOL}" + (", plus each prompt's near-tie slack)" if variant else ")"))
        same = partial = 0
        for case in ref[greedy_key]:
            got, want = greedy(exe, model, case), case["expected"]
            if "tie_free_steps" in case:  # bf16: the ids up to the first step with a near-tie
                n = len(case["prompt_ids"]) + case["tie_free_steps"]
                got, want, partial = got and got[:n], want[:n], partial + 1
            same += got == want
            if got is not None and got != want:
                k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
                check(f"{model}: greedy ids (context {case['context']}, eos {case['eos']})", False,
                      f"differ at position {k}: got {got[k:k + 5]}..., expected {want[k:k + 5]}... "
                      f"(lengths {len(got)} and {len(want)})")
        print(f"  {name}{variant}: {same} of {len(ref[greedy_key])} greedy runs identical to generate()"
              + (f" ({partial} up to their first near-tie)" if partial else ""))

    # --context-shift against the reference's generate_shift(): the same greedy ids
    model = os.path.join(models, f"{name}.bin")
    same = 0
    for case in ref.get("greedy_shift", []):
        got = greedy(exe, model, case, ("--context-shift",))
        same += got == case["expected"]
        check(f"{model}: greedy ids with --context-shift (context {case['context']})", got == case["expected"],
              f"got {got and got[len(case['prompt_ids']):][:12]}..., expected "
              f"{case['expected'][len(case['prompt_ids']):][:12]}...")
    check(f"{name}: the fixture has context-shift cases", len(ref.get("greedy_shift", [])) > 0)
    print(f"  {name}: {same} of {len(ref.get('greedy_shift', []))} --context-shift runs identical to generate_shift()")

    # thread counts: bit-identical logits and ids
    case = ref["logits"][-1]
    base = dump_logits(exe, model, case["prompt_ids"], case["context"], ("-T", "1"))
    for t in ("2", "3"):
        other = dump_logits(exe, model, case["prompt_ids"], case["context"], ("-T", t))
        check(f"{model}: logits with {t} threads bit-identical to 1 thread",
              base is None or other is None or base.tobytes() == other.tobytes())
    g = ref["greedy"][0]
    ids = {t: greedy(exe, model, g, ("-T", t)) for t in ("1", "2", "3")}
    check(f"{model}: greedy ids independent of the thread count", ids["1"] == ids["2"] == ids["3"])
    print(f"  {name}: 1, 2 and 3 threads give bit-identical logits and identical ids")


def main(argv):
    exe, models, accuracy = argv[1], argv[2], argv[3]
    if argv[4:] not in ([], ["--int8-only"]):
        sys.exit(f"test_engine: unknown arguments {argv[4:]}")
    int8_only = argv[4:] == ["--int8-only"]
    for name in ("tiny", "small"):
        check_model(exe, accuracy, models, FIXTURES, name, int8_only)
    return finish("test_engine")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
