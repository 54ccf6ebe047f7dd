#!/usr/bin/env bash
# Builds what the Windows suites run under Wine (`npm run build:wine`):
#   target/wine/js/                a package root of its own for the Windows Node.js: the
#                                  TypeScript compiled by tsconfig.wine.json, package.json, and
#                                  the addon built for x86_64-pc-windows-gnu as
#                                  mountkit.win32-x64-msvc.node, where the loader (lib/native.ts)
#                                  looks for a Windows build next to package.json. It is kept
#                                  out of the checkout's root, where packing win32-x64-msvc would
#                                  take this mingw debug build for a release binary.
#   rust-memfs.exe                 examples/rust-memfs for Windows (target/windows-gnu)
#   target/wine/bin/               the driver doubles and the bcryptprimitives shim
#
# Rust for Windows comes from Debian's rustc-web with its std sources (-Zbuild-std), since no
# rustup target can be fetched here; the mingw-w64 linker links it. Needs the tools of
# scripts/wine-tools.sh (run scripts/setup.sh once).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wine-env.sh

cargo_windows build -p mountkit-node -p rust-memfs
npx tsc -p tsconfig.wine.json
cp package.json target/wine/js/package.json
cp "$WINDOWS_TARGET_DIR/x86_64-pc-windows-gnu/debug/mountkit_node.dll" target/wine/js/mountkit.win32-x64-msvc.node

make --no-print-directory -C __test__/wine/doubles OUT="$PWD/target/wine/bin" \
  WINFSP_INC="$MOUNTKIT_WINE_TOOLS/winfsp-sys/winfsp/inc" DOKANY="$MOUNTKIT_WINE_TOOLS/dokan-sys/src/dokany"
