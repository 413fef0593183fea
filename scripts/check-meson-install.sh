#!/usr/bin/env bash
# Installs the plugin with meson into a temporary prefix and checks that gst-inspect-1.0 finds
# every element there (README: meson setup build && meson compile -C build && meson install).
# The cargo target directory is target/, so that the build CI already made is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d)
build=$(mktemp -d)
trap 'rm -rf "$prefix" "$build"' EXIT
meson setup "$build" --prefix="$prefix" -Dcargo-target-dir="$PWD/target" >/dev/null
meson compile -C "$build" >/dev/null
meson install -C "$build" >/dev/null
so=$(find "$prefix" -name libgstrtp2.so | head -1)
[ -n "$so" ] || { echo "meson install put no libgstrtp2.so under $prefix" >&2; exit 1; }
echo "installed: ${so#"$prefix"/}"
bash scripts/check-inspect.sh "$(dirname "$so")"
