#!/usr/bin/env python3
"""--score --html in a real browser: the page is self-contained (no script, nothing fetched), has a
span per scored token with its rank and alternatives in the tooltip, and headless Chromium renders it
to a PNG that shows GLTR's four colours. Part of CI (make check-html), not of make test: it needs
Chromium (Debian: apt-get install chromium). Standard library only.

    python3 test/test_html.py ./gpt2 build/html      # writes build/html/score.html and score.png
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

from common import check, finish, ids_of, rank_checkpoint, run

TEXT = ("A language model reads a text one token at a time and, at every position, assigns a probability to "
        "each token that could come next. GLTR colours each token by its rank under the model: green for the "
        "ten most likely, yellow for the hundred, red for the thousand, violet beyond.\n\nHover a token to see "
        "its rank, its log-probability and the alternatives the model preferred.")
COLOURS = {"top 10": (0xad, 0xff, 0x80), "top 100": (0xff, 0xea, 0x80), "top 1000": (0xff, 0x92, 0x80),
           "beyond": (0xe5, 0xb0, 0xff)}


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG without interlacing."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, head = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = head
    assert depth == 8 and ctype in (2, 6) and not interlace, f"PNG kind {head}"
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: test_html.py ./gpt2 OUTDIR")
    exe, outdir = sys.argv[1:]
    os.makedirs(outdir, exist_ok=True)
    text, page, png = (os.path.join(outdir, n) for n in ("score.txt", "score.html", "score.png"))
    open(text, "w").write(TEXT)
    ids = ids_of(run([exe, "--encode"], stdin=TEXT.encode()))
    # ranks known by hand: the text's distinct tokens in turn top 10, top 100, top 1000, beyond
    distinct = list(dict.fromkeys(ids[1:]))
    ranks = {i: [1 + k // 4, 11 + k, 101 + 3 * k, None][k % 4] for k, i in enumerate(distinct)}
    model = os.path.join(outdir, "ranks.bin")
    rank_checkpoint(model, {i: r for i, r in ranks.items() if r})
    p = run([exe, "-m", model, "--score", text, "--html", page, "--json"])
    html = open(page, encoding="utf-8").read() if os.path.exists(page) else ""
    summary = json.loads(p.stdout.decode().splitlines()[-1]) if p.returncode == 0 else {}
    check(f"--score --html: exit {p.returncode} {p.stderr.decode()[:200]}", p.returncode == 0 and html)
    spans = re.findall(r'<span class="t b(\d)" data-tip="([^"]*)">', html)
    check(f"--html: a span with a tooltip per scored token ({len(spans)} of {summary.get('scored')})",
          len(spans) == summary.get("scored"))
    check("--html: every bucket present", {b for b, _ in spans} == {"0", "1", "2", "3"})
    check("--html: tooltips with rank, log-probability and 5 alternatives",
          all("rank " in t and "logprob " in t and t.count("&#10;") == 7 for _, t in spans), spans[0][1])
    check("--html: self-contained (no script, no link, no URL)",
          not re.search(r"<script|<link|<img|<iframe|src=|href=|url\(|https?:", html, re.I))
    check("--html: the summary's perplexity", f"{summary.get('perplexity', 0):.6g}" in html)
    browser = chromium()
    if not check("Chromium is installed (Debian: apt-get install chromium)", browser is not None):
        sys.exit(finish("test_html"))
    with tempfile.TemporaryDirectory() as profile:
        args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", f"--screenshot={os.path.abspath(png)}", "--window-size=1200,800",
                "file://" + os.path.abspath(page)]
        if os.path.exists(png):
            os.remove(png)
        c = run(args, timeout=120)
    check(f"Chromium wrote {png}: exit {c.returncode} {c.stderr.decode()[-300:]}", os.path.exists(png))
    if os.path.exists(png):
        w, h, rows = png_pixels(png)
        seen = {name: sum(px == rgb for row in rows for px in row) for name, rgb in COLOURS.items()}
        check(f"the screenshot ({w}x{h}) shows GLTR's four colours: {seen} pixels",
              w == 1200 and all(n > 200 for n in seen.values()))
        print(f"  {png}: {w}x{h}, pixels per bucket colour {seen}")
    sys.exit(finish("test_html"))


if __name__ == "__main__":
    main()
