#!/usr/bin/env bash
# Builds what the Windows suites run under Wine (`npm run build:wine`):
#   mountkit.win32-x64-msvc.node   the addon, built for x86_64-pc-windows-gnu, where the loader
#                                  (lib/native.ts) looks for a Windows build in a checkout
#   target/wine/bin/               the driver doubles and the bcryptprimitives shim
#   target/wine/js/                the TypeScript the Windows Node.js runs (tsconfig.wine.json)
#
# Rust for Windows comes from Debian's rustc-web with its std sources (-Zbuild-std), since no
# rustup target can be fetched here; the mingw-w64 linker links it. Needs the tools of
# scripts/wine-tools.sh (run scripts/setup.sh once).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wine-env.sh

cargo_windows build -p mountkit-node
cp "$WINDOWS_TARGET_DIR/x86_64-pc-windows-gnu/debug/mountkit_node.dll" mountkit.win32-x64-msvc.node

make --no-print-directory -C __test__/wine/doubles shim OUT="$PWD/target/wine/bin" \
  WINFSP_INC="$MOUNTKIT_WINE_TOOLS/winfsp-sys/winfsp/inc" DOKANY="$MOUNTKIT_WINE_TOOLS/dokan-sys/src/dokany"

npx tsc -p tsconfig.wine.json
