#!/usr/bin/env bash
# Installs what building and testing gst-plugin-rtp2 needs on Debian 12 (as root, or with
# sudo): GStreamer development files, the C elements and codecs the tests compare with,
# ffmpeg, libbcg729, meson; valgrind (allocation and instruction counts); the aarch64 cross
# compiler and qemu-user (NEON tests); Chromium and iproute2 (tests/browser.rs: Chromium as a
# WebRTC peer, run headless in a loopback-only network namespace made with unshare and ip);
# LLVM 19's llvm-cov and llvm-profdata, which read rustc 1.95's coverage profiles, and python3
# (scripts/coverage.sh); prometheus (promtool and the server of the telemetry tests, which
# start their own server); linuxptp (ptp4l, the PTP grandmaster of tests/timing_ptp.rs);
# python3-venv and oteltap (PyPI, pinned), the OTLP/HTTP receiver of tests/telemetry_otlp.rs,
# in its own venv /opt/oteltap. Does nothing when everything is already installed.
set -euo pipefail

packages=(
  pkg-config gcc
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-nice gstreamer1.0-rtsp libgstrtspserver-1.0-dev
  ffmpeg libbcg729-dev meson ninja-build
  valgrind gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  chromium iproute2 util-linux
  llvm-19 python3 python3-venv
  prometheus
  linuxptp
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "== Debian packages: all present"
fi

# The OTLP receiver of tests/telemetry_otlp.rs (feature `otlp`), pinned, in its own venv.
OTELTAP_VERSION=1.0.0
if ! /opt/oteltap/bin/oteltap --help >/dev/null 2>&1 \
  || ! /opt/oteltap/bin/pip show oteltap 2>/dev/null | grep -qx "Version: $OTELTAP_VERSION"; then
  echo "== installing oteltap $OTELTAP_VERSION into /opt/oteltap"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo python3 -m venv /opt/oteltap
  $sudo /opt/oteltap/bin/pip install -q "oteltap==$OTELTAP_VERSION"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "cargo is in ~/.cargo/bin: add it to PATH (source ~/.cargo/env)" >&2
  else
    echo "cargo (Rust >= 1.95) is needed: install it with rustup" >&2
  fi
  exit 1
fi
cargo --version
