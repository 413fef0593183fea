#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer, nightly toolchain) for SECONDS each
# (default 30), starting from the committed seed corpus (fuzz/corpus/, made from real streams
# by examples/fuzz_seeds.rs) copied to a scratch directory, and prints executions per target.
# A crash stops the script with the failing input under fuzz/artifacts/<target>/: turn it
# into a regression test. Usage: scripts/fuzz.sh [SECONDS] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(rtp_header h264_depacketizer h265_depacketizer audio_framing params simd_differential
    hdrext_formats fec flexfec)
fi
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
if [ ! -d fuzz/corpus/h264_depacketizer ]; then
  cargo run --release --example fuzz_seeds
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "| target | seconds | executions | exec/s | coverage (edges) | corpus (seeds → end) |"
echo "|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  cp fuzz/corpus/"$t"/* "$scratch/$t/" 2>/dev/null || true
  seeds=$(ls "$scratch/$t" | wc -l)
  log="$scratch/$t.log"
  if ! (cd fuzz && cargo +nightly fuzz run "$t" "$scratch/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1) \
      >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $t failed: see fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  end=$(ls "$scratch/$t" | wc -l)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  echo "| $t | $seconds | $runs | $((runs / seconds)) | ${cov:-?} | $seeds → $end |"
done
