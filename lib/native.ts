// Loads the compiled addon: the local build when there is one, else the prebuilt package for
// this platform. When neither fits, says exactly which package is missing.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

type Binding = typeof import('../native')

function packageRoot(): string {
  let dir = __dirname
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'native.d.ts'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('mountkit: cannot find the package root (package.json next to native.d.ts)')
    dir = parent
  }
  return dir
}

function platformTriple(): string {
  const { platform, arch } = process
  if (platform === 'win32') return `win32-${arch}-msvc`
  if (platform === 'linux') {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    const libc = report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'
    return `linux-${arch}-${libc}`
  }
  return `${platform}-${arch}`
}

function load(): Binding {
  const triple = platformTriple()
  const local = join(packageRoot(), `mountkit.${triple}.node`)
  if (existsSync(local)) return require(local) as Binding
  const pkg = `mountkit-${triple}`
  try {
    return require(pkg) as Binding
  } catch (error) {
    throw new Error(
      `mountkit: no native binary for ${triple}. Install the package '${pkg}' ` +
        `(npm installs it automatically as an optional dependency of mountkit unless optional dependencies were skipped: ` +
        `rerun 'npm install' without --no-optional/--omit=optional), or build from source with 'npm run build'. ` +
        `Supported: linux-x64-gnu, linux-arm64-gnu, win32-x64-msvc, win32-arm64-msvc.`,
      { cause: error },
    )
  }
}

export const native: Binding = load()
