#!/usr/bin/env bash
# Heap allocations per packet of a payloader/depayloader, counted by valgrind's dhat (every
# call to the allocator, including GLib's): the element handles 1000 and then 2000 buffers in
# two runs and the difference of the block counts is divided by 1000, so that set-up
# allocations cancel out. Usage: scripts/alloc-per-packet.sh ["element launch line" ...]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || apt-get install -y valgrind
cargo build --release --example alloc_count >/dev/null
bin=target/release/examples/alloc_count
if [ $# -eq 0 ]; then
  set -- "rtpg722pay2 use-buffer-pool=true" "rtpg722pay2 use-buffer-pool=false" \
    "rtpg722pay" "rtpg722depay2" "rtpg722depay"
fi
blocks() {
  valgrind --tool=dhat --dhat-out-file=/dev/null "$bin" "$1" "$2" 2>&1 \
    | sed -n 's/.*Total: *[0-9,]* bytes in \([0-9,]*\) blocks.*/\1/p' | tr -d ,
}
per_buffer() {
  local a b
  a=$(blocks "$1" 1000)
  b=$(blocks "$1" 2000)
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b - a) / 1000 }'
}
# The harness and the input buffers themselves, measured through `identity`.
base=$(per_buffer identity)
echo "| element | allocations per buffer (element only; harness and input: $base) |"
echo "|---|---|"
for launch in "$@"; do
  echo "| \`$launch\` | $(awk -v t="$(per_buffer "$launch")" -v b="$base" 'BEGIN { printf "%.2f", t - b }') |"
done
