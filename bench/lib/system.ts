// Processes, mounts and machine facts for the harness.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

/** Runs a command to completion; rejects with its stderr when it fails or runs too long. */
export function run(file: string, args: string[], timeoutMs: number, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20, cwd },
      (error, stdout, stderr) => {
        if (error) {
          const why = error.killed ? `timed out after ${timeoutMs} ms` : `exit ${error.code ?? error.signal}`
          reject(new Error(`${file} ${args.join(' ')}: ${why}\n${stderr.trim()}`))
        } else {
          resolve(stdout)
        }
      },
    )
  })
}

/** Decodes the octal escapes (`\040`) mountinfo uses in paths. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
}

export interface MountEntry {
  mountpoint: string
  fstype: string
}

export function mounts(): MountEntry[] {
  const entries: MountEntry[] = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ')
    const separator = fields.indexOf('-')
    if (separator < 0) continue
    entries.push({ mountpoint: unescape(fields[4]), fstype: fields[separator + 1] })
  }
  return entries
}

export function mountedAt(path: string): MountEntry | undefined {
  return mounts().find((m) => m.mountpoint === path)
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string): string[] {
  return mounts()
    .map((m) => m.mountpoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length)
}

/**
 * Detaches whatever is mounted at `path` at once, even if busy or its server is gone:
 * `umount -l` as root, `fusermount3 -uz` otherwise. Synchronous, so exit paths can use it.
 */
export function detach(path: string): void {
  const [file, args] = isRoot() ? ['umount', ['-l', path]] : ['fusermount3', ['-u', '-z', path]]
  spawnSync(file, args, { stdio: 'ignore' })
}

export function isRoot(): boolean {
  return process.getuid?.() === 0
}

export function commandExists(file: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${file}`], { stdio: 'ignore' }).status === 0
}

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or undefined once the process is gone. */
export function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

function outputLines(file: string, args: string[]): string[] | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')
  } catch {
    return undefined
  }
}

function firstLine(file: string, args: string[]): string {
  return outputLines(file, args)?.[0].trim() ?? 'unknown'
}

/** What a full run writes: a previous run's results left uncommitted change nothing it measures. */
const BENCH_OUTPUTS = new Set(['bench/README.md', 'bench/results.md', 'bench/results.png'])

/** Whether tracked files other than the bench's own outputs differ from HEAD. */
function uncommittedChanges(): boolean {
  const status = outputLines('git', ['status', '--porcelain', '--untracked-files=no'])
  if (status === undefined) return false
  // Porcelain lines are "XY path", with the path relative to the repository root.
  return status.some((line) => line.length > 3 && !BENCH_OUTPUTS.has(line.slice(3)))
}

export interface MachineInfo {
  cpu: string
  cores: number
  memoryGiB: number
  kernel: string
  os: string
  node: string
  libfuse3: string
  fio: string
  commit: string
  date: string
}

export function machineInfo(): MachineInfo {
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0)
  const osRelease = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown'
  const head = firstLine('git', ['rev-parse', '--short', 'HEAD'])
  const dirty = uncommittedChanges() ? ' + uncommitted changes' : ''
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(memKiB / 1024 / 1024),
    kernel: firstLine('uname', ['-r']),
    os: osRelease,
    node: process.version,
    libfuse3: firstLine('pkg-config', ['--modversion', 'fuse3']),
    fio: firstLine('fio', ['--version']),
    commit: `${head}${dirty}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  }
}
