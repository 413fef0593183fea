#!/usr/bin/env bash
# Regenerates tests/fixtures/g729/*.g729 with libbcg729 (Debian: libbcg729-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -o "$tmp/g729-fixture" scripts/g729-fixture.c -lbcg729 -lm
mkdir -p tests/fixtures/g729
"$tmp/g729-fixture" tests/fixtures/g729/sine.g729 0
"$tmp/g729-fixture" tests/fixtures/g729/sine_vad.g729 1
ls -l tests/fixtures/g729
