#!/usr/bin/env bash
# The live demo (README's first command): installs what is missing, builds the plugin and
# sends G.722 audio through rtpg722pay2 over UDP on 127.0.0.1 into rtpg722depay2 and
# avdec_g722, printing what arrived.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/install-deps.sh
cargo build --release --example audio_loopback
exec target/release/examples/audio_loopback "$@"
