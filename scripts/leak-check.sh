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
mkdir -p target
if ! cargo test --no-run "${args[@]}" --message-format=json 2>target/leak-check-build.txt \
    > target/leak-check-build.json; then
  echo "leak-check: building the test binaries (${tests[*]}) failed:" >&2
  tail -20 target/leak-check-build.txt >&2
  exit 2
fi
sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' target/leak-check-build.json \
  > target/leak-check-binaries.txt
found=$(wc -l < target/leak-check-binaries.txt)
if [ "$found" -eq 0 ]; then
  echo "leak-check: no test binary found for: ${tests[*]} (nothing was checked)" >&2
  exit 2
fi
if [ "$found" -ne ${#tests[@]} ]; then
  echo "leak-check: ${#tests[@]} test names given but $found binaries found:" >&2
  cat target/leak-check-binaries.txt >&2
  exit 2
fi
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
