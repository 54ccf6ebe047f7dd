// Loads the compiled addon: the local build in a source checkout, else the prebuilt binary from
// the platform package npm installed along with mountkit. When neither is there, the error says
// which package is missing for which platform and how to get it, or that there is no prebuilt
// binary for this platform at all.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

type Binding = typeof import('../native')

/** Platforms with a prebuilt binary, each published as the npm package `mountkit-<platform>`. */
const PREBUILT = ['linux-x64-gnu', 'linux-arm64-gnu', 'win32-x64-msvc', 'win32-arm64-msvc']

interface Manifest {
  name?: string
  version?: string
}

function readManifest(file: string): Manifest {
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest
}

/** mountkit's own directory and version: from lib/ in a checkout, dist/lib/ when installed. */
function packageRoot(): { dir: string; version: string } {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const { name, version } = readManifest(manifest)
      if (name === 'mountkit' && version !== undefined) return { dir, version }
    }
    if (dirname(dir) === dir) throw new Error(`mountkit: cannot find mountkit's package.json above ${__dirname}`)
  }
}

function isMusl(): boolean {
  // Node puts the glibc version in its diagnostic report only when it runs on glibc. The report
  // would also list network interfaces, which can take seconds on some hosts; leave them out,
  // and put the caller's setting back. (`excludeNetwork` is Node 20.13+; older versions ignore it.)
  const report: typeof process.report & { excludeNetwork?: boolean } = process.report
  const excludeNetwork = report.excludeNetwork
  report.excludeNetwork = true
  try {
    const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
    return header?.glibcVersionRuntime === undefined
  } finally {
    report.excludeNetwork = excludeNetwork
  }
}

/** This machine as the package names spell it: `linux-x64-gnu`, `win32-arm64-msvc`, ... */
function platformName(): string {
  const { platform, arch } = process
  if (platform === 'win32') return `win32-${arch}-msvc`
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  return `${platform}-${arch}`
}

function load(): Binding {
  const root = packageRoot()
  const platform = platformName()
  // A checkout builds the addon next to package.json (`npm run build`). It comes first, so that
  // development never runs a prebuilt binary from an older release.
  const local = join(root.dir, `mountkit.${platform}.node`)
  if (existsSync(local)) return require(local) as Binding

  if (!PREBUILT.includes(platform)) {
    const mountsHere = ['linux', 'win32'].includes(process.platform) ? '' : '; note that mountkit mounts only on Linux and Windows'
    throw new Error(
      `mountkit ${root.version} has no prebuilt binary for this platform (${platform}); ` +
        `prebuilt binaries exist for ${PREBUILT.join(', ')}. You can build it from source instead: clone the ` +
        `repository, then 'npm install' and 'npm run build' (needs a Rust toolchain)${mountsHere}.`,
    )
  }
  const pkg = `mountkit-${platform}`
  const wanted = `${pkg}@${root.version}`
  let installed: Manifest
  try {
    installed = readManifest(require.resolve(`${pkg}/package.json`))
  } catch (cause) {
    throw new Error(
      `mountkit: the native binary for this platform (${platform}) is missing: the package ${wanted} is not installed.\n` +
        `npm installs it along with mountkit, as an optional dependency. It is left out when:\n` +
        `  - optional dependencies were omitted (--omit=optional, --no-optional): install again without that flag;\n` +
        `  - package-lock.json was written on another platform (https://github.com/npm/cli/issues/4828): ` +
        `delete node_modules and package-lock.json, then run 'npm install'.\n` +
        `Or add it directly: npm install ${wanted}\n` +
        `In a checkout of the mountkit repository, build the addon instead: 'npm run build' (needs a Rust toolchain).`,
      { cause },
    )
  }
  // The JavaScript half and the binary change together from release to release; a mismatch
  // would fail later in obscure ways, so refuse it here.
  if (installed.version !== root.version) {
    throw new Error(
      `mountkit ${root.version} needs ${wanted}, but version ${String(installed.version)} is installed: ` +
        `run 'npm install ${wanted}'.`,
    )
  }
  try {
    return require(pkg) as Binding
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw new Error(`mountkit: ${wanted} is installed but its binary does not load on this machine: ${reason}`, {
      cause,
    })
  }
}

export const native: Binding = load()
