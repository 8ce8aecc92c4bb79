#!/usr/bin/env python3
"""The installed library and program (make install into a temporary prefix): every file in place, a C
program built with `pkg-config --cflags --libs gpt2` against the shared library, a C++ program
against the static one, and the installed gpt2 run from / finding its tokenizer (and a default
model) in PREFIX/share/gpt2.

    python3 test/test_install.py PREFIX MODEL.bin
"""
import os
import shutil
import sys
import tempfile

from common import HERE, check, finish, ids_of, run


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: test_install.py PREFIX MODEL.bin")
    prefix, model = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    lib, share = os.path.join(prefix, "lib"), os.path.join(prefix, "share", "gpt2")
    tok = os.path.join(share, "gpt2_tokenizer.bin")
    for f in ["bin/gpt2", "include/gpt2.h", "lib/libgpt2.a", "lib/libgpt2.so", "lib/libgpt2.so.0",
              "lib/pkgconfig/gpt2.pc", "share/gpt2/gpt2_tokenizer.bin"]:
        check(f"installed: {f}", os.path.exists(os.path.join(prefix, f)))
    gpt2 = os.path.join(prefix, "bin", "gpt2")
    for f in ["libgpt2.a", "libgpt2.so.0"]:  # one namespace: gpt2_, tokenizer_, sampler_
        p = run(["nm", "-P", "-g", *(["-D"] if f.endswith(".0") else []), os.path.join(lib, f)])
        names = {w[0].lstrip("_") for w in (line.split() for line in p.stdout.decode().splitlines())
                 if len(w) >= 2 and w[1] not in "Uvw" and not w[0].endswith(":")}
        stray = sorted(n for n in names if not n.startswith(("gpt2_", "tokenizer_", "sampler_")))
        check(f"{f} exports only gpt2_, tokenizer_ and sampler_ names ({len(names)} names)",
              p.returncode == 0 and names and not stray, " ".join(stray[:20]))

    # from /, with no data/ beside it: the installed tokenizer; -m for the model
    p = run([gpt2, "--encode", "-p", "Every effort moves you"], cwd="/")
    check("installed gpt2 from /: --encode finds share/gpt2's tokenizer", p.stdout == b"6109 3626 6100 345\n",
          p.stderr.decode())
    p = run([gpt2, "-m", model, "-n", "4", "--eos", "-1", "--print-ids"], cwd="/")
    solo = ids_of(p)
    check("installed gpt2 from /: generates", p.returncode == 0 and len(solo) == 8, p.stderr.decode())
    with tempfile.TemporaryDirectory() as tmp:
        # the default model too, from share/gpt2 (a copy of the test model, removed afterwards)
        default = os.path.join(share, "gpt2_124M.bin")
        shutil.copy(model, default)
        try:
            p = run([gpt2, "-n", "4", "--eos", "-1", "--print-ids"], cwd="/")
            check("installed gpt2 from /: the default model from share/gpt2", ids_of(p) == solo, p.stderr.decode())
        finally:
            os.remove(default)

        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(lib, "pkgconfig"))
        flags = run(["pkg-config", "--cflags", "--libs", "gpt2"], env=env)
        check("pkg-config --cflags --libs gpt2", flags.returncode == 0, flags.stderr.decode())
        exe = os.path.join(tmp, "example")
        cc = os.environ.get("CC", "cc")
        p = run([cc, "-O2", "-o", exe, os.path.join(HERE, "example.c"), *flags.stdout.decode().split()], env=env)
        check("cc example.c $(pkg-config --cflags --libs gpt2)", p.returncode == 0, p.stderr.decode())
        if p.returncode == 0:
            needed = run(["readelf", "-d", exe]).stdout.decode()
            check("example links the shared libgpt2.so.0", "libgpt2.so.0" in needed)
            p = run([exe, model, tok, "Every effort moves you"], env=dict(env, LD_LIBRARY_PATH=lib))
            check("example against the shared library runs", p.returncode == 0 and b"new tokens" in p.stdout,
                  p.stderr.decode())
        cxx = os.environ.get("CXX", "c++")
        exe = os.path.join(tmp, "example_cpp")
        p = run([cxx, "-O2", "-I", os.path.join(prefix, "include"), "-o", exe, os.path.join(HERE, "example_cpp.cpp"),
                 os.path.join(lib, "libgpt2.a"), "-lm", "-pthread"])
        check("c++ example_cpp.cpp against libgpt2.a", p.returncode == 0, p.stderr.decode())
        if p.returncode == 0:
            p = run([exe, model, tok, "Every effort moves you"])
            check("the C++ program's greedy ids equal the CLI's", p.returncode == 0 and ids_of(p) == solo,
                  p.stdout.decode() + p.stderr.decode())
    sys.exit(finish("test_install"))


if __name__ == "__main__":
    main()
