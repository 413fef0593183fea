#!/usr/bin/env bash
# The whole test suite (README's second command): installs what is missing, checks formatting
# and lints, builds the plugin, runs every test, and checks that gst-inspect-1.0 sees every
# element of the built plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/install-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo clippy, with the optional OTLP export (feature otlp)"
cargo clippy --workspace --all-targets --locked --features gst-plugin-rtp2/otlp -- -D warnings

echo "== cargo doc, warning-free (every public item documented, no broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

echo "== cargo build --release"
cargo build --release --locked

echo "== gst-inspect-1.0 on target/release"
bash scripts/check-inspect.sh target/release

echo "== meson install into a temporary prefix, gst-inspect-1.0 there"
bash scripts/check-meson-install.sh

echo "== benchmarks compile and run once (criterion --test mode, no timing)"
cargo bench --workspace --benches --locked -- --test >/dev/null

echo "== side-by-side runner against the C elements, one quick round (no timing asserted)"
cargo run --release --locked --example side_by_side -- --quick >/dev/null

echo "== allocations per packet (counted by dhat, deterministic): ours must allocate less than C"
bash scripts/alloc-per-packet.sh rtpg722pay2 rtpg722pay rtpg722depay2 rtpg722depay | tee /tmp/rtp2-allocs.md
for pair in "rtpg722pay2 rtpg722pay" "rtpg722depay2 rtpg722depay"; do
  set -- $pair
  awk -F'|' -v ours_name="\`$1\`" -v c_name="\`$2\`" '
    { name = $2; gsub(/ /, "", name) }
    name == ours_name { ours = $3 } name == c_name { c = $3 }
    END { if (ours == "" || c == "" || !(ours + 0 < c + 0)) { print "allocations: ours " ours ", C " c; exit 1 } }' \
    /tmp/rtp2-allocs.md
done
echo "== memory per instance, one element (no figure asserted)"
cargo run --release --locked --example instance_memory -- rtpg722pay2 >/dev/null

echo "== sans-IO core on aarch64 under qemu (NEON header path)"
bash scripts/test-aarch64.sh 2>&1 | tail -3

echo "== fuzz every target briefly from the seed corpus (a crash fails CI)"
bash scripts/fuzz.sh 20

echo "== leak check of the element-level tests under valgrind memcheck"
bash scripts/leak-check.sh

echo "== cargo test, instrumented: line coverage of both crates held (scripts/coverage.sh)"
bash scripts/coverage.sh --check
summary=$(grep -E '^test result:' target/test-output.txt | awk '{p+=$4; f+=$6} END {print p" passed, "f" failed"}')
echo "tests: $summary"
