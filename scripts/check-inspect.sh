#!/usr/bin/env bash
# Checks that gst-inspect-1.0 finds the plugin in DIR and every element README lists, with
# its description, properties and pad templates.
set -euo pipefail
dir=${1:-target/release}
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
export GST_PLUGIN_PATH="$dir"
export GST_REGISTRY="$(mktemp -d)/registry.bin"
plugin=$(gst-inspect-1.0 rtp2)
expected=$(grep -oE '`rtp[a-z0-9]+2`' README.md | tr -d '`' | sort -u)
[ -n "$expected" ] || { echo "README lists no element" >&2; exit 1; }
for element in $expected; do
  # Here-strings, not `echo | grep -q`: grep -q exits at the first match, and under pipefail
  # the echo's SIGPIPE would fail the check at random.
  grep -q "  $element: " <<<"$plugin" || { echo "plugin rtp2 lacks $element" >&2; exit 1; }
  out=$(gst-inspect-1.0 "$element")
  for section in "Pad Templates:" "Element Properties:" "Long-name"; do
    grep -q "$section" <<<"$out" || { echo "$element: no '$section'" >&2; exit 1; }
  done
  echo "ok: $element"
done
