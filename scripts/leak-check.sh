#!/usr/bin/env bash
# Runs element-level test binaries under valgrind memcheck and fails on any definite leak
# (suppressions: scripts/valgrind.supp, GLib's one-time library constructor only).
# Usage: scripts/leak-check.sh [test name ...]   (default: the robustness, pool, base-class,
# header-extension, G.729 and drop-in tests; the encoder-heavy suites are too slow under
# valgrind for CI)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
command -v valgrind >/dev/null || apt-get install -y valgrind
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=(robustness pool base_classes hdrext g729 dropin)
fi
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
cargo test --no-run "${args[@]}" --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' > target/leak-check-binaries.txt
status=0
while read -r bin; do
  name=$(basename "$bin")
  log="target/valgrind-$name.txt"
  if G_SLICE=always-malloc G_DEBUG=gc-friendly valgrind --leak-check=full \
      --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=1 \
      --suppressions=scripts/valgrind.supp --num-callers=40 "$bin" --test-threads=1 \
      >"$log" 2>&1; then
    echo "ok: $name ($(grep -o 'definitely lost: [0-9,]* bytes' "$log" | head -1 || echo 'no leaks'))"
  else
    echo "LEAK or failure in $name: see $log"
    grep -B2 -A30 "definitely lost in" "$log" | head -60
    status=1
  fi
done < target/leak-check-binaries.txt
exit $status
