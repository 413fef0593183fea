#!/usr/bin/env python3
# This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
# If a copy of the MPL was not distributed with this file, You can obtain one at
# https://mozilla.org/MPL/2.0/.
"""Per-crate coverage from `cargo llvm-cov report --json --summary-only`.

Usage: coverage-summary.py SUMMARY_JSON BASELINE FILES_MD CHECK(0|1)

Prints line and region coverage of rtp2-core and of the plugin crate, writes the per-file
table (lowest line coverage first) to FILES_MD, and with CHECK=1 exits 1 when a crate's line
coverage is more than 1 point below its figure in BASELINE (lines "crate percent").
"""
import json
import os
import sys

CRATES = (("rtp2-core", "/rtp2-core/src/"), ("gst-plugin-rtp2", "/src/"))
ALLOWED_DROP = 1.0


def crate_of(path):
    for name, marker in CRATES:
        if marker in path:
            return name
    return None


def main():
    summary_path, baseline_path, files_md, check = sys.argv[1:5]
    data = json.load(open(summary_path))["data"][0]["files"]
    root = os.getcwd() + "/"
    totals = {name: {"lines": [0, 0], "regions": [0, 0]} for name, _ in CRATES}
    rows = []
    for f in data:
        crate = crate_of(f["filename"])
        if crate is None:
            continue
        s = f["summary"]
        for kind in ("lines", "regions"):
            totals[crate][kind][0] += s[kind]["covered"]
            totals[crate][kind][1] += s[kind]["count"]
        lines = s["lines"]
        pct = 100.0 * lines["covered"] / lines["count"] if lines["count"] else 100.0
        rows.append((crate, pct, f["filename"].replace(root, ""), lines["count"] - lines["covered"], lines["count"]))

    baseline = {}
    if os.path.exists(baseline_path):
        for line in open(baseline_path):
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                baseline[parts[0]] = float(parts[1])

    status = 0
    print("| crate | lines | regions | recorded (lines) |")
    print("|---|---|---|---|")
    for name, _ in CRATES:
        t = totals[name]
        lines = 100.0 * t["lines"][0] / max(t["lines"][1], 1)
        regions = 100.0 * t["regions"][0] / max(t["regions"][1], 1)
        recorded = baseline.get(name)
        print(f"| {name} | {lines:.1f}% ({t['lines'][0]}/{t['lines'][1]}) "
              f"| {regions:.1f}% ({t['regions'][0]}/{t['regions'][1]}) "
              f"| {'-' if recorded is None else f'{recorded:.1f}%'} |")
        if check == "1":
            if recorded is None:
                print(f"coverage: no recorded figure for {name} in {baseline_path}", file=sys.stderr)
                status = 1
            elif lines < recorded - ALLOWED_DROP:
                print(f"coverage: {name} line coverage {lines:.1f}% is more than "
                      f"{ALLOWED_DROP} point below the recorded {recorded:.1f}%", file=sys.stderr)
                status = 1

    with open(files_md, "w") as out:
        out.write("| crate | file | lines | uncovered lines |\n|---|---|---|---|\n")
        for crate, pct, path, missed, count in sorted(rows, key=lambda r: (r[0], r[1])):
            out.write(f"| {crate} | {path} | {pct:.1f}% of {count} | {missed} |\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
