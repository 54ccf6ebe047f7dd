#!/usr/bin/env bash
# The one set-up command for a fresh Debian 12 machine: installs everything `npm test` needs.
# Run it as root, or as a user who may sudo. Idempotent: run it again after a pull.
#
# It needs Node.js 20+ with npm and a Rust toolchain (rustup's, with cargo) already there: the
# README's "Try it" says so. Everything else comes from here.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

section "Debian packages"
# What each is for:
#   fuse3                     fusermount3, for mounts by users who are not root
#   attr                      setfattr/getfattr, which the xattr tests call
#   python3                   the tests' helper for system calls Node.js lacks
#   build-essential, pkg-config, libfuse3-dev, libfuse2, fio
#                             the benchmark's C reference, its npm peers and its workloads
#   rustc-web, cargo-web, rust-web-src
#                             a Rust whose standard library builds for Windows (-Zbuild-std)
#   rust-web-clippy           clippy for that Rust, to lint the Windows build (the rustup
#                             toolchain's clippy needs the target's prebuilt std, not to be had)
#   mingw-w64, mingw-w64-tools
#                             the Windows C compiler and linker; gendef and dlltool
#   wine, wine64              runs the Windows build, its tests and Windows Node.js
#   curl, openssl, ca-certificates
#                             fetch and check the Windows test tools
#   libacl1-dev               libacl to link against: `cargo install pjdfstest` builds its ACL
#                             support (the exacl crate) with it
#   acl                       what pjdfstest's README asks for at run time: libacl and the
#                             getfacl/setfacl tools, to look at a file's ACL when a case fails
#   mount                     mount and umount: __test__/pjdfstest.test.ts mounts the tmpfs memfs is
#                             compared with, and pjdfstest bind-mounts for its rmdir EBUSY cases
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  fuse3 attr python3 build-essential pkg-config libfuse3-dev libfuse2 fio \
  rustc-web cargo-web rust-web-src rust-web-clippy mingw-w64 mingw-w64-tools wine wine64 \
  curl openssl ca-certificates libacl1-dev acl mount >/dev/null
echo "installed"

# A test tool from crates.io, at exactly `version`: a separate program the tests run, installed
# here, never linked or shipped. Kept when `<tool> --version` already answers that version.
install_cargo_tool() {
  local tool=$1 version=$2 bin
  bin=$(command -v "$tool" || echo "$HOME/.cargo/bin/$tool")
  if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$tool $version" ]; then
    echo "$tool $version is installed: $bin"
  else
    cargo install "$tool" --version "$version" --locked
  fi
}

section "fsx 0.3.2 (the data-integrity exerciser __test__/integrity.test.ts runs; APSL-2.0)"
install_cargo_tool fsx 0.3.2

section "pjdfstest 0.2.1 (the POSIX conformance suite __test__/pjdfstest.test.ts runs; BSD-2-Clause)"
install_cargo_tool pjdfstest 0.2.1

section "pjdfstest's dummy users: nobody and tests, each with its own group"
# pjdfstest 0.2.1 switches to these two users (with each one's primary group: nogroup for
# nobody on Debian) for its permission cases; without them it refuses to start. Debian has
# nobody; tests is created as a system user that cannot log in, only where it is missing.
if ! getent passwd nobody >/dev/null; then
  echo "the user nobody is missing; Debian's base-passwd provides it (uid 65534)" >&2
  exit 1
fi
if getent passwd tests >/dev/null; then
  echo "the user tests exists: $(id tests)"
else
  if getent group tests >/dev/null; then group_option=(--gid tests); else group_option=(--user-group); fi
  as_root useradd --system "${group_option[@]}" --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --comment "Dummy user for pjdfstest" tests
  echo "created the user tests: $(id tests)"
fi

section "FUSE over io_uring (Linux 6.14+)"
# The kernel offers FUSE over io_uring only once root turns this parameter on. Mounts take it
# by default (ioUring 'auto'), so with it on the whole test suite runs on the ring, as CI does
# (it runs this script as root); __test__/io-uring.test.ts checks both paths. Other FUSE
# servers are unaffected unless they ask for the ring themselves. The setting lasts until
# reboot.
uring=/sys/module/fuse/parameters/enable_uring
if [ ! -e "$uring" ]; then
  echo "this kernel has no FUSE over io_uring ($uring is missing; Linux 6.14+): mounts use /dev/fuse"
elif [ "$(id -u)" = 0 ]; then
  echo Y > "$uring"
  echo "turned on: $uring = $(cat "$uring")"
else
  echo "$uring = $(cat "$uring"); to run the tests on the ring, as root: echo Y > $uring"
fi

section "npm dependencies"
npm ci --no-audit --no-fund

section "Windows test tools (Windows Node.js, WinFsp headers, Dokany sources)"
bash scripts/wine-tools.sh
