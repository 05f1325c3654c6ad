#!/usr/bin/env bash
# The README's first command: installs what is needed, builds Mantle and
# checks the example module manifests with `mantle modules check`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MANTLE_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" -DMANTLE_BUILD_TESTS=OFF -DMANTLE_BUILD_BENCH=OFF
echo
echo "== built-in modules (default manifest: $build/etc/mantle/modules.json)"
"$build/bin/mantle" modules check "$build/etc/mantle/modules.json"
echo
echo "== example manifests ($root/examples/manifests)"
for manifest in "$root"/examples/manifests/*.json; do
  "$build/bin/mantle" modules check "$manifest"
done
echo
echo "Mantle is built in $build. Try: $build/bin/mantle modules list mantle_posix"
