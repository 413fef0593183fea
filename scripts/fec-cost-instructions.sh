#!/usr/bin/env bash
# Instructions per media packet of the FEC encoders and decoders, ours vs C, under valgrind's
# callgrind (deterministic, unlike wall time on a shared machine): examples/fec_cost.rs run
# once, one callgrind dump per timed run (its `push_all`), the first run of each element and
# of the harness alone (`identity`); element figures are minus the harness's.
# Usage: scripts/fec-cost-instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || apt-get install -y valgrind
cargo build --release --example fec_cost >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --dump-before=fec_cost::push_all --dump-after=fec_cost::push_all \
  --callgrind-out-file="$out/cg" target/release/examples/fec_cost >/dev/null 2>&1
# push_all runs in order: C encoder ×3, ours ×3, C decoder ×3, ours ×3, identity ×3; each
# run's dump is the even one after the dump before it.
ir() { sed -n 's/^summary: //p' "$out/cg.$1"; }
packets=30000
harness=$(ir 26)
per() { awk -v t="$1" -v h="$harness" -v n="$packets" 'BEGIN { printf "%.0f", (t - h) / n }'; }
echo "| instructions per media packet (minus the harness: $(awk -v h="$harness" -v n="$packets" 'BEGIN { printf "%.0f", h / n }')) | C | rtp2 | rtp2 / C |"
echo "|---|---|---|---|"
for row in "encoder (50 %):2:8" "decoder (1 loss in 30):14:20"; do
  IFS=: read -r what c ours <<<"$row"
  c=$(per "$(ir "$c")")
  o=$(per "$(ir "$ours")")
  echo "| $what | $c | $o | $(awk -v c="$c" -v o="$o" 'BEGIN { printf "%.2f", o / c }') |"
done
