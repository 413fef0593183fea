#!/usr/bin/env python3
# This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
# If a copy of the MPL was not distributed with this file, You can obtain one at
# https://mozilla.org/MPL/2.0/.
"""Draws docs/performance.svg: ns per packet, ours vs C, for every row pair of the side-by-side
runner's table (read from its output on stdin, or from docs/performance.md). No dependency
beyond Python 3: the SVG is written by hand.

    cargo run --release --example side_by_side -- --rounds 10 | python3 scripts/plot-performance.py
    python3 scripts/plot-performance.py < docs/performance.md
"""
import html
import re
import sys

ROW = re.compile(r"^\| (?P<name>[^|]+) \| (?P<impl>ours|C) \| [\d.]+ \| (?P<ns>[\d.]+) \|")


def rows(lines):
    pairs = {}
    order = []
    for line in lines:
        m = ROW.match(line.strip())
        if not m:
            continue
        name = m.group("name").strip()
        if name not in pairs:
            pairs[name] = {}
            order.append(name)
        pairs[name][m.group("impl")] = float(m.group("ns"))
    return [(n, pairs[n]["ours"], pairs[n]["C"]) for n in order if len(pairs[n]) == 2]


def svg(data):
    bar_h, gap, left, width = 12, 10, 300, 420
    top = 40
    height = top + len(data) * (2 * bar_h + gap) + 30
    longest = max(max(o, c) for _, o, c in data)
    scale = width / longest
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<text x="10" y="20" font-size="14">ns per packet (lower is better): '
        '<tspan fill="#1f77b4">ours</tspan> vs <tspan fill="#ff7f0e">C</tspan></text>',
    ]
    y = top
    for name, ours, c in data:
        out.append(f'<text x="10" y="{y + bar_h + 4}">{html.escape(name)}</text>')
        for value, colour, dy in ((ours, "#1f77b4", 0), (c, "#ff7f0e", bar_h)):
            w = max(1, value * scale)
            out.append(
                f'<rect x="{left}" y="{y + dy}" width="{w:.1f}" height="{bar_h - 1}" fill="{colour}"/>'
            )
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + dy + bar_h - 2}">{value:.0f}</text>')
        out.append(
            f'<text x="{left + width + 60}" y="{y + bar_h + 4}">{ours / c:.2f}×</text>'
        )
        y += 2 * bar_h + gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    data = rows(sys.stdin.read().splitlines())
    if not data:
        sys.exit("no ours/C rows in the input")
    path = sys.argv[1] if len(sys.argv) > 1 else "docs/performance.svg"
    with open(path, "w") as f:
        f.write(svg(data))
    print(f"{path}: {len(data)} elements")


if __name__ == "__main__":
    main()
