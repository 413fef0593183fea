#!/usr/bin/env bash
# What the rtp-metrics tracer adds per packet (docs/telemetry.md, "Measured cost"), with
# examples/telemetry_overhead.rs, two ways:
#
#   scripts/tracer-cost.sh times CASE [ROUNDS] [BINARY...]
#     Alternating processes, one phase each ("null": a tracer with the same hooks doing
#     nothing; "on": that plus rtp-metrics), pinned to CPU 1 with address-space
#     randomisation off, each printing its least ns per packet over 15 rounds; ROUNDS
#     alternations (default 15) of every binary given (default: this tree's build), then per
#     binary: least "on" - least "null", and the median of the pairs' differences.
#   scripts/tracer-cost.sh misses CASE [BINARY]
#     Callgrind with its cache simulation (32 KiB 8-way L1 caches, 64-byte lines) of the
#     measured chain run (CASE g722chain or fecchain), both phases: instructions and
#     instruction-cache misses per packet of the whole process, and of the tracer's own
#     functions. Within one build the tracer's time follows the misses more than the
#     instructions; across code layouts the simulation does not predict the time (see
#     docs/telemetry.md), hence `layouts`.
#   scripts/tracer-cost.sh layouts N
#     Links N copies of the example with their functions in shuffled orders (lld's
#     --shuffle-sections, seeds 1..N; Debian package lld-19), printing their paths: a
#     build's code layout alone moves both phases by tens of ns and misses, so compare
#     averages over layouts (pass the copies to `times` or `misses`).
#
# CASE: h264, g722, g722chain or fecchain (see the example). Times on a shared machine
# drift (whole processes run fast or slow): compare builds within one run of this script.
# TRACER_COST_ARGS: more arguments for the example, e.g.
# "--plugin-file target/release/libgstrtp2.so" (the plugin as users load it).
set -euo pipefail
cd "$(dirname "$0")/.."
built=target/release/examples/telemetry_overhead
mode=${1:?usage: scripts/tracer-cost.sh times|misses CASE ... | layouts N}
if [ "$mode" = layouts ]; then
  n=${2:?usage: scripts/tracer-cost.sh layouts N}
  [ -x /usr/lib/llvm-19/bin/ld.lld ] || apt-get install -y lld-19
  mkdir -p target/tracer-cost
  # The final link's command with its objects kept (-C save-temps), relinked per seed.
  touch examples/telemetry_overhead.rs
  cargo rustc --release --example telemetry_overhead -- -C save-temps --print link-args \
    2>/dev/null | grep '"cc"' > target/tracer-cost/link-args.txt
  for seed in $(seq "$n"); do
    sed -e "s|\"cc\" |\"cc\" \"-fuse-ld=lld\" \"-Wl,--shuffle-sections=.text*=$seed\" |" \
      -e "s|\"-o\" \"[^\"]*\"|\"-o\" \"$PWD/target/tracer-cost/layout-$seed\"|" \
      -e "s|PATH=\"|PATH=\"/usr/lib/llvm-19/bin:|" target/tracer-cost/link-args.txt \
      > target/tracer-cost/link.sh
    bash target/tracer-cost/link.sh
    echo "target/tracer-cost/layout-$seed"
  done
  exit 0
fi
case=${2:?usage: scripts/tracer-cost.sh times|misses CASE ...}
shift 2
read -r -a extra <<< "${TRACER_COST_ARGS:-}"

if [ "$mode" = times ]; then
  rounds=${1:-15}
  shift || true
  [ $# -gt 0 ] || { cargo build --release --example telemetry_overhead >/dev/null; set -- "$built"; }
  for _ in $(seq "$rounds"); do
    for bin in "$@"; do
      for phase in null on; do
        ns=$(setarch -R taskset -c 1 "$bin" --case "$case" --phase "$phase" --rounds 15 "${extra[@]}" 2>/dev/null \
          | sed -n 's/.*: \([0-9]*\) ns\/packet.*/\1/p')
        echo "$bin $phase $ns"
      done
    done
  done | awk '
    { key = $1; if ($2 == "null") { n[key, ++nn[key]] = $3 } else { o[key, ++no[key]] = $3 }
      if (!(key in seen)) { seen[key] = 1; order[++k] = key } }
    function median(a, len,   i, j, t) {
      for (i = 2; i <= len; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
      return len % 2 ? a[(len + 1) / 2] : (a[len / 2] + a[len / 2 + 1]) / 2 }
    END { for (i = 1; i <= k; i++) { b = order[i]; ln = 1e18; lo = 1e18; delete d
        for (j = 1; j <= nn[b]; j++) { if (n[b, j] < ln) ln = n[b, j]; if (o[b, j] < lo) lo = o[b, j]; d[j] = o[b, j] - n[b, j] }
        printf "%s: %d pairs; least on - least null %+d ns/packet; median of pairs %+d\n", b, nn[b], lo - ln, median(d, nn[b]) } }'
elif [ "$mode" = misses ]; then
  bin=${1:-}
  [ -n "$bin" ] || { cargo build --release --example telemetry_overhead >/dev/null; bin=$built; }
  command -v valgrind >/dev/null || apt-get install -y valgrind
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  for phase in null on; do
    LD_BIND_NOW=1 valgrind --tool=callgrind --cache-sim=yes --I1=32768,8,64 \
      --D1=32768,8,64 --LL=1048576,16,64 --callgrind-out-file="$out/$phase" \
      --dump-after=telemetry_overhead::chain_warm_up "$bin" --case "$case" --phase "$phase" \
      "${extra[@]}" >/dev/null 2>&1
    # The measured run is the dump after the warm-up one; 2999 packets (see the example).
    callgrind_annotate --auto=no --threshold=100 --inclusive=no "$out/$phase" 2>/dev/null \
      | sed 's/([ 0-9.]*%)//g; s/,//g' | awk -v phase="$phase" '
        /PROGRAM TOTALS/ { ir = $1; mr = $4 }
        /gstrtp2::tracer::/ { tir += ($1 == "." ? 0 : $1); tmr += ($4 == "." ? 0 : $4) }
        END { printf "%-4s whole process: %6.0f Ir %5.1f I1 misses per packet; tracer functions: %4.0f Ir %4.1f I1 misses\n",
              phase, ir / 2999, mr / 2999, tir / 2999, tmr / 2999 }'
  done
else
  echo "usage: scripts/tracer-cost.sh times|misses CASE ..." >&2
  exit 2
fi
