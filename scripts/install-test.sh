#!/usr/bin/env bash
# Installs mountkit the way a user does, and checks that it works with no Rust in reach.
#
# Packs the main package and this machine's platform package, installs both from the tarballs
# into a new empty project, and from there, with a PATH that holds node, npm and the FUSE
# helpers but no cargo or rustc, checks that:
#   - require('mountkit') works, takes its binary from the platform package, and mounts,
#     with write buffers both as Node.js makes them and copied, as in Electron;
#   - without the platform package, or with one of another version, the error says what to do;
#   - import 'mountkit' works (named and default imports);
#   - a TypeScript consumer type-checks against the published types (skipLibCheck off);
#   - the hello example (`mountkit hello <dir>`) mounts, serves a read, and unmounts on Ctrl+C.
# Everything happens in a temporary directory that is removed at the end, with no mount left
# behind, however the script ends.
#
#   bash scripts/install-test.sh                 build the addon here (npm run build), test that
#   bash scripts/install-test.sh --binary FILE   test a prebuilt addon instead (CI: the release build)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
binary=
case "$#:${1:-}" in
  0:) ;;
  2:--binary) binary=$(realpath "$2") ;;
  *)
    echo "usage: bash scripts/install-test.sh [--binary mountkit.<platform>.node]" >&2
    exit 2
    ;;
esac

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64-gnu ;;
  Linux-aarch64) platform=linux-arm64-gnu ;;
  *)
    echo "install-test: runs on Linux, x64 or arm64 (it mounts through FUSE)" >&2
    exit 2
    ;;
esac

step() { printf '\n-- %s\n' "$*"; }
fail() {
  echo "install-test: FAILED: $*" >&2
  exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/mountkit-install-test.XXXXXX")
hello_pid=

# Mount points under $work, from /proc/self/mountinfo (never by touching the mounts).
mounts_under_work() {
  awk -v prefix="$work/" 'index($5, prefix) == 1 { print $5 }' /proc/self/mountinfo
}

cleanup() {
  local status=$?
  if [[ -n $hello_pid ]] && kill -0 "$hello_pid" 2>/dev/null; then
    kill -INT "$hello_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$hello_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$hello_pid" 2>/dev/null || true
  fi
  # A check that failed half-way may have left a mount: detach it lazily, so that nothing
  # (not even a wedged serving process) can make the unmount wait.
  local m
  for m in $(mounts_under_work); do
    umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null || echo "install-test: could not unmount $m" >&2
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

version=$(node -p "require('$repo/package.json').version")
tarballs="$work/tarballs"
consumer="$work/consumer"
mkdir -p "$tarballs" "$consumer" "$work/tmp" "$work/bin"

step "build"
if [[ -z $binary ]]; then
  (cd "$repo" && npm run build)
  binary="$repo/mountkit.$platform.node"
fi
echo "addon: $binary"

step "pack mountkit@$version"
# The prepack script compiles the TypeScript and puts the addon's types into dist/.
(cd "$repo" && npm pack --pack-destination "$tarballs" >&2)
main_tgz="$tarballs/mountkit-$version.tgz"
[[ -f $main_tgz ]] || fail "npm pack did not produce $main_tgz"
listing=$(tar -tzf "$main_tgz")
for required in dist/index.js dist/index.d.ts dist/native.d.ts dist/lib/native.js dist/lib/cli.js \
  dist/examples/hello.js package.json README.md LICENSE THIRD_PARTY_NOTICES.md CHANGELOG.md; do
  grep -qx "package/$required" <<<"$listing" || fail "$main_tgz lacks $required"
done
unwanted=$({
  grep -E '^package/(target|crates|npm|node_modules|scripts|__test__|bench)/|\.node$' <<<"$listing"
  grep -E '\.ts$' <<<"$listing" | grep -v '\.d\.ts$'
} || true)
[[ -z $unwanted ]] || fail "$main_tgz holds files a user must not get:"$'\n'"$unwanted"
echo "ok  $(wc -l <<<"$listing") files: dist/ and the docs; no target/, crates/ or binaries"

step "pack mountkit-$platform@$version"
platform_tgz=$(cd "$repo" && node scripts/platform-packages.mjs pack "$platform" "$binary" "$tarballs")
platform_listing=$(tar -tzf "$platform_tgz" | sort | tr '\n' ' ')
[[ $platform_listing == "package/README.md package/mountkit.$platform.node package/package.json " ]] ||
  fail "$platform_tgz holds: $platform_listing"
echo "ok  $platform_listing"

step "a new project, with no Rust on PATH"
# Only what a user without a Rust toolchain has: node and npm, sh for npm, and the FUSE helpers
# that unprivileged mounts need.
for tool in node npm npx sh fusermount3 fusermount; do
  if path=$(command -v "$tool"); then ln -s "$path" "$work/bin/$tool"; fi
done
[[ -e $work/bin/node && -e $work/bin/npm ]] || fail "node and npm must be on PATH"
in_consumer() {
  (cd "$consumer" && env -i HOME="$HOME" PATH="$work/bin" TMPDIR="$work/tmp" LANG=C.UTF-8 "$@")
}
if in_consumer sh -c 'command -v cargo || command -v rustc || command -v rustup'; then
  fail "a Rust tool is reachable from the consumer project"
fi
echo "ok  no cargo, rustc or rustup on the consumer's PATH"

ts_version=$(node -p "require('$repo/node_modules/typescript/package.json').version")
types_version=$(node -p "require('$repo/node_modules/@types/node/package.json').version")
printf '{ "name": "mountkit-consumer", "version": "1.0.0", "private": true }\n' >"$consumer/package.json"
in_consumer npm install --no-audit --no-fund \
  "$main_tgz" "$platform_tgz" "typescript@$ts_version" "@types/node@$types_version"

# The binary that loads must be the one packed above, installed once, next to mountkit.
installed="$consumer/node_modules/mountkit-$platform/mountkit.$platform.node"
cmp -s "$binary" "$installed" || fail "$installed is not the binary that was packed"
nested=$(find "$consumer/node_modules/mountkit" -name '*.node' -o -type d -name 'mountkit-*' | head -1)
[[ -z $nested ]] || fail "mountkit got its own copy of a platform package or binary: $nested"
echo "ok  mountkit and mountkit-$platform installed from the tarballs"

step "require('mountkit')"
cat >"$consumer/check-require.cjs" <<'EOF'
const assert = require('node:assert/strict')
const { readFileSync, realpathSync } = require('node:fs')
const { mkdtemp, readFile, rmdir, writeFile } = require('node:fs/promises')
const { join } = require('node:path')
const mountkit = require('mountkit')

assert.equal(typeof mountkit.mount, 'function')
assert.equal(typeof mountkit.FsError, 'function')
// The main package ships no binary: the one addon loaded must come from the platform package.
const addons = Object.keys(require.cache).filter((file) => file.endsWith('.node'))
assert.deepEqual(addons, [realpathSync(require.resolve(`mountkit-${process.argv[2]}`))])

// A flat directory of files kept in a Map: enough to serve a read and take a write.
const files = new Map([['/note.txt', Buffer.from('served through require\n')]])
const fs = {
  getattr(path) {
    if (path === '/') return { kind: 'directory', mode: 0o755 }
    const data = files.get(path)
    if (data === undefined) throw new mountkit.FsError('ENOENT')
    return { kind: 'file', mode: 0o644, size: data.length }
  },
  readdir: () => [...files.keys()].map((path) => ({ name: path.slice(1), kind: 'file' })),
  read: (path, handle, offset, length) => files.get(path).subarray(offset, offset + length),
  create(path) {
    files.set(path, Buffer.alloc(0))
    return 0
  },
  write(path, handle, data, offset) {
    const old = files.get(path)
    const grown = Buffer.alloc(Math.max(old.length, offset + data.length))
    old.copy(grown)
    grown.set(data, offset)
    files.set(path, grown)
    return data.length
  },
}
const mounted = (dir) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir)

;(async () => {
  const dir = await mkdtemp(join(process.env.TMPDIR, 'require-'))
  const m = await mountkit.mount(dir, fs)
  const upload = Buffer.from('x'.repeat(100_000))
  try {
    // fs.promises, not readFileSync: this thread serves the mount.
    assert.equal(await readFile(join(dir, 'note.txt'), 'utf8'), 'served through require\n')
    await writeFile(join(dir, 'upload'), upload)
    assert.ok(files.get('/upload').equals(upload), 'the write handler got different bytes')
  } finally {
    await m.unmount()
  }
  assert.ok(!mounted(dir), `${dir} is still mounted`)
  await rmdir(dir)
  const buffers = process.env.MOUNTKIT_COPY_BUFFERS === '1' ? 'copied' : 'default'
  console.log(`ok  loads ${addons[0]}; mounts, serves a read, takes a write (${buffers} write buffers), unmounts`)
})().catch((error) => {
  console.error(error)
  process.exit(1)
})
EOF
in_consumer node check-require.cjs "$platform"
# The path Electron takes, where external buffers are not allowed: write data is copied.
in_consumer MOUNTKIT_COPY_BUFFERS=1 node check-require.cjs "$platform"

step "without a fitting binary, the error says what to install"
# What a user sees after `npm install --omit=optional`, and after a partial upgrade.
require_error() {
  in_consumer node -e "try { require('mountkit') } catch (e) { console.log(e.message); process.exit(0) } process.exit(1)" ||
    fail "require('mountkit') loaded although the binary was $1"
}
platform_dir="$consumer/node_modules/mountkit-$platform"
mv "$platform_dir" "$work/aside"
message=$(require_error "missing")
mv "$work/aside" "$platform_dir"
grep -q "package mountkit-$platform@$version is not installed" <<<"$message" || fail "unhelpful error: $message"
grep -q "npm install mountkit-$platform@$version" <<<"$message" || fail "error does not say what to install: $message"
echo "ok  missing: $(head -1 <<<"$message")"
cp "$platform_dir/package.json" "$work/platform-package.json"
node -e "const f = process.argv[1], m = require(f); m.version = '0.0.0-other'; require('fs').writeFileSync(f, JSON.stringify(m))" \
  "$platform_dir/package.json"
message=$(require_error "from another version")
cp "$work/platform-package.json" "$platform_dir/package.json"
grep -q "needs mountkit-$platform@$version, but version 0.0.0-other is installed" <<<"$message" ||
  fail "unhelpful error: $message"
echo "ok  mismatch: $message"

step "import 'mountkit'"
cat >"$consumer/check-import.mjs" <<'EOF'
import assert from 'node:assert/strict'
import mountkit, { FsError, Mount, mount } from 'mountkit'

assert.equal(typeof mount, 'function')
assert.equal(typeof Mount, 'function')
assert.equal(new FsError('ENOENT').code, 'ENOENT')
assert.equal(mountkit.mount, mount)
console.log('ok  named and default imports')
EOF
in_consumer node check-import.mjs

step "a TypeScript consumer type-checks against the published types"
cat >"$consumer/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false,
    "types": ["node"]
  },
  "files": ["consumer.ts", "consumer.mts"]
}
EOF
cat >"$consumer/consumer.ts" <<'EOF'
import { FsError, mount, type FileSystem, type Mount, type MountOptions, type Stat } from 'mountkit'

const text = Buffer.from('typed\n')
const fs: FileSystem = {
  getattr(path): Stat {
    if (path === '/') return { kind: 'directory', mode: 0o555 }
    if (path === '/t.txt') return { kind: 'file', size: text.length, mtime: new Date() }
    throw new FsError('ENOENT')
  },
  readdir: () => [{ name: 't.txt', kind: 'file' }],
  read: async (path, handle, offset, length) => text.subarray(offset, offset + length),
}
const options: MountOptions = { readOnly: true, timeoutMs: 5_000 }

export async function serve(dir: string): Promise<string> {
  const m: Mount = await mount(dir, fs, options)
  const at: string = m.mountpoint
  await m.unmount()
  return at
}

// If the published types had degraded to `any`, these errors would not be reported, and the
// unused @ts-expect-error directives would fail the check instead.
// @ts-expect-error: not a file kind
export const wrongKind: Stat = { kind: 'folder' }
// @ts-expect-error: not an errno name
export const wrongCode = new FsError('ENOTACODE')
EOF
cat >"$consumer/consumer.mts" <<'EOF'
import { mount, type FileSystem } from 'mountkit'

const empty: FileSystem = { readdir: () => [] }
export const start = (dir: string) => mount(dir, empty)
EOF
in_consumer ./node_modules/.bin/tsc -p tsconfig.json
echo "ok  tsc --strict (CommonJS and ESM consumers, skipLibCheck off)"

step "the hello example mounts, serves a read, and unmounts"
mnt=$(mktemp -d "$work/tmp/hello.XXXXXX")
log="$work/hello.log"
# exec all the way down, so that $! is the node process that serves the mount.
(cd "$consumer" && exec env -i HOME="$HOME" PATH="$work/bin" TMPDIR="$work/tmp" LANG=C.UTF-8 \
  ./node_modules/.bin/mountkit hello "$mnt" >"$log" 2>&1) &
hello_pid=$!
for _ in $(seq 150); do
  grep -q 'hello mounted at' "$log" && break
  kill -0 "$hello_pid" 2>/dev/null || fail "mountkit hello exited: $(cat "$log")"
  sleep 0.2
done
grep -q 'hello mounted at' "$log" || fail "mountkit hello did not mount within 30 s: $(cat "$log")"
content=$(cat "$mnt/hello.txt")
[[ $content == 'Hello from mountkit!' ]] || fail "hello.txt reads '$content'"
echo "ok  cat hello.txt: $content"
kill -INT "$hello_pid"
hello_status=0
wait "$hello_pid" || hello_status=$?
hello_pid=
[[ $hello_status -eq 0 ]] || fail "mountkit hello exited with $hello_status after Ctrl+C: $(cat "$log")"
grep -q '^Unmounted ' "$log" || fail "mountkit hello did not report unmounting: $(cat "$log")"
[[ -z $(mounts_under_work) ]] || fail "still mounted: $(mounts_under_work)"
echo "ok  Ctrl+C unmounted it"

step "install test passed (Node $(node --version), $platform)"
