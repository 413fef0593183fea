#!/usr/bin/env bash
# Cross-builds the sans-IO core for aarch64 and runs its unit and property tests (the NEON
# header path included) under qemu-aarch64. Installs what is missing first: Debian's
# gcc-aarch64-linux-gnu and qemu-user, and the Rust target. Extra arguments go to the test
# binary (e.g. `hdrsimd` to run only the SIMD tests).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt-get install -y gcc-aarch64-linux-gnu qemu-user libc6-dev-arm64-cross
fi
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
cargo test -p rtp2-core --lib --target aarch64-unknown-linux-gnu -- "$@"
