#!/usr/bin/env node
// The per-platform packages in npm/<platform>/, which carry the prebuilt addon.
//
//   node scripts/platform-packages.mjs check
//       every napi target has its package, with the right name, os/cpu/libc and version
//   node scripts/platform-packages.mjs sync
//       sets those versions from package.json (npm runs this in its `version` step)
//   node scripts/platform-packages.mjs pin
//       writes the platform packages into package.json as optionalDependencies at mountkit's
//       version; the release workflow runs it just before publishing. The repository's
//       package.json has none: they name packages that exist only once released, and a
//       lockfile cannot record a package the registry does not have, so `npm ci` would fail.
//   node scripts/platform-packages.mjs pack <platform> [binary] [out-dir]
//       packs npm/<platform> with the addon built for it (default: the local build,
//       ./mountkit.<platform>.node) into out-dir (default: .), and prints the tarball's path
//
// The release workflow publishes the tarballs `pack` makes; scripts/install-test.sh installs
// one, so what is tested is what is published.
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

// What npm needs to pick the one package that fits a machine, per napi target triple. The
// `machine` numbers are the ELF e_machine / PE Machine values of a binary built for the target.
const TARGETS = {
  'x86_64-unknown-linux-gnu': { platform: 'linux-x64-gnu', os: 'linux', cpu: 'x64', libc: 'glibc', format: 'elf', machine: 0x3e },
  'aarch64-unknown-linux-gnu': { platform: 'linux-arm64-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc', format: 'elf', machine: 0xb7 },
  'x86_64-pc-windows-msvc': { platform: 'win32-x64-msvc', os: 'win32', cpu: 'x64', format: 'pe', machine: 0x8664 },
  'aarch64-pc-windows-msvc': { platform: 'win32-arm64-msvc', os: 'win32', cpu: 'arm64', format: 'pe', machine: 0xaa64 },
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
const rootManifest = () => readJson(join(ROOT, 'package.json'))
const packageDir = (platform) => join(ROOT, 'npm', platform)
const binaryName = (platform) => `mountkit.${platform}.node`

/** The platform packages package.json's napi targets call for. */
function platforms(root) {
  return root.napi.targets.map((triple) => {
    const target = TARGETS[triple]
    if (target === undefined) throw new Error(`napi target ${triple} has no entry in TARGETS in scripts/platform-packages.mjs`)
    return target
  })
}

/** Equal as JSON values; object keys may come in any order (npm sorts dependency maps). */
function same(actual, expected) {
  const canonical = (value) =>
    JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v))
  return canonical(actual) === canonical(expected)
}

function problems() {
  const root = rootManifest()
  const found = []
  const expectedDeps = {}
  for (const target of platforms(root)) {
    const { platform } = target
    const name = `mountkit-${platform}`
    expectedDeps[name] = root.version
    const manifestPath = join(packageDir(platform), 'package.json')
    if (!existsSync(manifestPath)) {
      found.push(`npm/${platform}/package.json is missing`)
      continue
    }
    if (!existsSync(join(packageDir(platform), 'README.md'))) found.push(`npm/${platform}/README.md is missing`)
    const pkg = readJson(manifestPath)
    const expect = (field, actual, wanted) => {
      if (!same(actual, wanted)) found.push(`npm/${platform}: ${field} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`)
    }
    expect('name', pkg.name, name)
    expect('version', pkg.version, root.version)
    expect('license', pkg.license, root.license)
    expect('os', pkg.os, [target.os])
    expect('cpu', pkg.cpu, [target.cpu])
    expect('libc', pkg.libc, target.libc && [target.libc])
    expect('main', pkg.main, binaryName(platform))
    expect('files', pkg.files, [binaryName(platform)])
    expect('engines', pkg.engines, root.engines)
    // npm's provenance check wants every published package to name the repository it was built from.
    expect('repository.url', pkg.repository?.url, root.repository.url)
  }
  const extra = readdirSync(join(ROOT, 'npm')).filter((dir) => !(`mountkit-${dir}` in expectedDeps))
  for (const dir of extra) found.push(`npm/${dir} is not a napi target in package.json`)
  return found
}

function check() {
  const found = problems()
  if (found.length > 0) throw new Error(`platform packages are inconsistent:\n  ${found.join('\n  ')}`)
}

function sync() {
  const root = rootManifest()
  for (const { platform } of platforms(root)) {
    const manifestPath = join(packageDir(platform), 'package.json')
    writeJson(manifestPath, { ...readJson(manifestPath), version: root.version })
  }
}

function pin() {
  check()
  const root = rootManifest()
  // Sorted, as npm itself writes dependency maps.
  const optionalDependencies = Object.fromEntries(
    platforms(root)
      .map(({ platform }) => [`mountkit-${platform}`, root.version])
      .sort(([a], [b]) => a.localeCompare(b)),
  )
  writeJson(join(ROOT, 'package.json'), { ...root, optionalDependencies })
}

/** The kind and machine of an executable, from its header: a .node file is an ELF or PE library. */
function machineOf(file) {
  const bytes = readFileSync(file)
  if (bytes.length > 20 && bytes.readUInt32BE(0) === 0x7f454c46) return { format: 'elf', machine: bytes.readUInt16LE(18) }
  if (bytes.length > 0x40 && bytes.toString('latin1', 0, 2) === 'MZ') {
    const pe = bytes.readUInt32LE(0x3c)
    if (bytes.length > pe + 6 && bytes.readUInt32BE(pe) === 0x50450000) return { format: 'pe', machine: bytes.readUInt16LE(pe + 4) }
  }
  return { format: 'unknown', machine: 0 }
}

/** Runs npm: the very npm that runs this script under `npm run`, which also works on Windows. */
function npm(args, cwd) {
  const cli = process.env.npm_execpath
  const [file, argv] = cli ? [process.execPath, [cli, ...args]] : ['npm', args]
  return execFileSync(file, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
}

function pack(platform, binary = join(ROOT, binaryName(platform)), outDir = '.') {
  check()
  const target = platforms(rootManifest()).find((t) => t.platform === platform)
  if (target === undefined) throw new Error(`unknown platform ${platform}; known: ${platforms(rootManifest()).map((t) => t.platform).join(', ')}`)
  if (!existsSync(binary)) throw new Error(`no binary at ${binary}: build it with 'npm run build:native' (or pass its path)`)
  const actual = machineOf(binary)
  if (actual.format !== target.format || actual.machine !== target.machine) {
    throw new Error(`${binary} is not a ${platform} binary (${actual.format}, machine 0x${actual.machine.toString(16)})`)
  }
  // Pack a copy, so the binary never lands in the source tree's npm/ directory.
  const stage = mkdtempSync(join(tmpdir(), `mountkit-${platform}-`))
  try {
    for (const file of ['package.json', 'README.md']) copyFileSync(join(packageDir(platform), file), join(stage, file))
    copyFileSync(binary, join(stage, binaryName(platform)))
    const out = resolve(outDir)
    const [result] = JSON.parse(npm(['pack', '--json', '--pack-destination', out], stage))
    const files = result.files.map((f) => f.path).sort()
    const expected = ['README.md', binaryName(platform), 'package.json'].sort()
    if (!same(files, expected)) throw new Error(`${result.filename} holds ${files.join(', ')}; expected ${expected.join(', ')}`)
    console.log(join(out, result.filename))
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

const [command, ...args] = process.argv.slice(2)
const commands = { check, sync, pin, pack }
if (!(command in commands)) {
  console.error('usage: node scripts/platform-packages.mjs check | sync | pin | pack <platform> [binary] [out-dir]')
  process.exit(2)
}
try {
  commands[command](...args)
} catch (error) {
  console.error(`platform-packages ${command}: ${error.message}`)
  process.exit(1)
}
