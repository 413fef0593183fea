#!/bin/sh
# This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
# If a copy of the MPL was not distributed with this file, You can obtain one at
# https://mozilla.org/MPL/2.0/.
#
# Instructions per packet of the header-extension set rows of examples/side_by_side.rs
# (examples/side_by_side/hdrext_cost.rs), counted by callgrind inside the pushes only
# (immune to the load of a shared machine). Needs valgrind and a release build:
#   cargo build --release --example side_by_side && sh scripts/hdrext_cost.sh
set -e
bin=${BIN:-target/release/examples/side_by_side}
out=$(mktemp -d)
for row in 0 1 2 3 4; do
  line=""
  for run in 0 1 2 3; do
    f="$out/cg.$row.$run"
    name=$(valgrind --tool=callgrind --toggle-collect='*push_all*' --callgrind-out-file="$f" \
      "$bin" --hdrext-variant "$row.$run" 2>/dev/null | tail -1)
    packets=${name##*packets }
    ir=$(sed -n 's/^summary: //p' "$f")
    line="$line $((ir / packets))"
    echo "  $name: $ir instructions, $((ir / packets)) per packet" >&2
  done
  set -- $line
  echo "| ${name%% |*} | $1 + $(($2 - $1)) | $3 + $(($4 - $3)) | $(echo "scale=2; ($2 - $1) / ($4 - $3)" | bc) |"
done
rm -r "$out"
