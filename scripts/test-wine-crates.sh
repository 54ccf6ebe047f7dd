#!/usr/bin/env bash
# Builds every crate's Rust tests for x86_64-pc-windows-gnu and runs each test executable under
# Wine, in a new prefix (`npm run test:wine-crates`). Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wine-env.sh

executables=$(cargo_windows test --workspace --no-run --message-format=json |
  node -e '
    let text = ""
    process.stdin.on("data", (chunk) => (text += chunk)).on("end", () => {
      for (const line of text.split("\n")) {
        if (!line.startsWith("{")) continue
        const message = JSON.parse(line)
        if (message.reason === "compiler-artifact" && message.profile?.test && message.executable) {
          console.log(message.executable)
        }
      }
    })')

if [ -z "$executables" ]; then
  echo "cargo built no test executables for Windows (did its JSON output change?)" >&2
  exit 1
fi

prefix=$(mktemp -d /tmp/mountkit-wine-crates.XXXXXX)
trap 'WINEPREFIX=$prefix wineserver -k 2>/dev/null || true; rm -rf "$prefix"' EXIT
new_wine_prefix "$prefix"

failed=()
for executable in $executables; do
  # The addon's tests import Node-API functions from node.exe, which Windows finds beside them.
  cp -u "$MOUNTKIT_WINE_TOOLS/node/node.exe" "$(dirname "$executable")/node.exe"
  name=$(basename "$executable" .exe)
  # Under Wine, a Windows program's output reaches a pipe unreliably; a file gets all of it.
  log="$prefix/$name.log"
  echo "== $name"
  # A hung test binary fails this run instead of holding CI until its own limit.
  if WINEPREFIX=$prefix timeout 300 wine "$executable" >"$log" 2>&1; then
    grep -E '^test result:' "$log" || true
  else
    cat "$log"
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "Rust tests failed under Wine: ${failed[*]}" >&2
  exit 1
fi
echo "every crate's tests passed under Wine"
