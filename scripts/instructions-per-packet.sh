#!/usr/bin/env bash
# Instructions per buffer of a payloader/depayloader under valgrind's callgrind (deterministic,
# for regression checks): like alloc-per-packet.sh, two runs of 1000 and 2000 buffers through
# examples/alloc_count.rs, the difference divided by 1000, minus the same for `identity`.
# Usage: scripts/instructions-per-packet.sh ["element launch line" ...]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || apt-get install -y valgrind
cargo build --release --example alloc_count >/dev/null
bin=target/release/examples/alloc_count
if [ $# -eq 0 ]; then
  set -- "rtpg722pay2" "rtpg722pay2 use-buffer-pool=false" "rtpg722pay" "rtpg722depay2" \
    "rtpg722depay"
fi
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
per_buffer() {
  local a b
  a=$(instructions "$1" 1000)
  b=$(instructions "$1" 2000)
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) / 1000 }'
}
base=$(per_buffer identity)
echo "| element | instructions per buffer (element only; harness and input: $base) |"
echo "|---|---|"
for launch in "$@"; do
  echo "| \`$launch\` | $(awk -v t="$(per_buffer "$launch")" -v b="$base" 'BEGIN { printf "%.0f", t - b }') |"
done
