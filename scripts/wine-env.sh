# Sourced by the Wine scripts (and run by the Wine test helpers through `bash -c`): where the
# Windows tools are, how to build Rust for Windows, and how to make a Wine prefix to run it in.

export MOUNTKIT_WINE_TOOLS=${MOUNTKIT_WINE_TOOLS:-$HOME/.cache/mountkit/wine}
if [ ! -f "$MOUNTKIT_WINE_TOOLS/node/node.exe" ] || [ ! -d "$MOUNTKIT_WINE_TOOLS/dokan-sys" ]; then
  echo "The Windows test tools are missing from $MOUNTKIT_WINE_TOOLS: run 'bash scripts/setup.sh' once." >&2
  exit 1
fi
WINDOWS_TARGET_DIR=${WINDOWS_TARGET_DIR:-$PWD/target/windows-gnu}
export WINEDEBUG=${WINEDEBUG:--all}

# cargo for x86_64-pc-windows-gnu, with Debian's rustc-web building std from its sources.
cargo_windows() {
  local command=$1
  shift
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    LIBNODE_PATH="$MOUNTKIT_WINE_TOOLS/libnode" \
    /usr/bin/cargo "$command" -Zbuild-std=std,panic_unwind --target x86_64-pc-windows-gnu \
    --target-dir "$WINDOWS_TARGET_DIR" "$@"
}

# Makes a new Wine prefix at $1 that runs our Windows programs: Windows 10 (a new Wine 8 prefix
# says Windows 7, which Node.js 20 refuses to start on) and the bcryptprimitives shim that Rust's
# std needs (built by scripts/build-wine.sh into target/wine/bin). Its wineserver then stays up
# until `wineserver -k`: left to itself it exits a few seconds after its last program, and a
# program starting at that moment fails ("recvmsg: Connection reset by peer").
new_wine_prefix() {
  local prefix=$1 shim=${2:-$PWD/target/wine/bin/bcryptprimitives.dll}
  mkdir -p "$prefix"
  WINEPREFIX=$prefix wineboot -i >/dev/null 2>&1
  WINEPREFIX=$prefix wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' \
    /v CurrentVersion /d 10.0 /f >/dev/null 2>&1
  WINEPREFIX=$prefix wine winecfg -v win10 >/dev/null 2>&1
  cp "$shim" "$prefix/drive_c/windows/system32/bcryptprimitives.dll"
  WINEPREFIX=$prefix wineserver -w
  WINEPREFIX=$prefix wineserver -p </dev/null >/dev/null 2>&1
}
