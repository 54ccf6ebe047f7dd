// The subjects: what each one is, whether it can run here, and how it is started and stopped.
// Every FUSE subject is its own process serving one mount, so its peak RSS is its own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { MountOptions } from '../../index'
import type { Profile } from './profile'
import { detach, mountedAt, procStatusKiB } from './system'

export interface SubjectSpec {
  id: string
  label: string
  /** One line on what it is, for results.md and the README. */
  about: string
  /** Which workloads it runs; all when unset. */
  only?: (workloadId: string) => boolean
  /**
   * A variant of another mountkit subject: runs that subject's program (its id here) with
   * `mountOptions` over its mount options, so an option is measured on and off by one line in
   * SUBJECTS.
   */
  variantOf?: string
  mountOptions?: MountOptions
  /** The id of this subject with READDIRPLUS off, for the list + stat workload's on/off ratio. */
  readdirPlusOff?: string
}

/** Where the harness keeps its builds, mounts and data. */
export interface Layout {
  root: string
  bin: string
  js: string
  mnt: string
  /**
   * The tmpfs holding the bench files without FUSE: the ceiling's files, whose /file also backs
   * the Rust-served subjects (their /w files get twins there too). They share one file because
   * on a VM the speed of reading memory depends on where the pages landed (two copies of 1 GiB
   * read at 15 and 25 GiB/s here), and the passthrough ratio must measure FUSE, not page
   * placement.
   */
  tmpfs: string
}

/** The file data workloads: all that differs between the mountkit subjects with and without backing files. */
const FILE_DATA = (workload: string) => workload.startsWith('seqread') || workload.startsWith('seqwrite') || workload === 'randread'

/** The npm peers serve no /t tree, so they make no directories. */
const NOT_TREE = (workload: string) => workload !== 'mkdir'

export const SUBJECTS: SubjectSpec[] = [
  { id: 'tmpfs', label: 'tmpfs (no FUSE)', about: 'the same files on a tmpfs mount, no FUSE at all: the ceiling' },
  {
    id: 'c',
    label: 'C libfuse3',
    about: 'bench/c/benchfs.c on the libfuse3 high-level API, default multithreaded loop: the reference (1.00×)',
  },
  {
    id: 'c-lowlevel',
    label: 'C libfuse3 low-level',
    about:
      'bench/c/benchll.c, the same filesystem on the libfuse3 low-level API (inodes, its own inode table, the kernel interface mountkit uses), ' +
      'multithreaded loop with a cloned /dev/fuse descriptor per thread: the second reference',
  },
  { id: 'mountkit-js', label: 'mountkit JS', about: 'mountkit, every request answered by JavaScript handlers' },
  {
    id: 'mountkit-js-readdirplus-off',
    label: 'mountkit JS, READDIRPLUS off',
    about:
      'as mountkit JS with `readdirPlus: false`: listings carry names and kinds only. With attribute caching off the default (`\'auto\'`) ' +
      'only adds each entry\'s attributes to the listing, so the readdir ratio between the two is what the default costs a plain listing; runs readdir only',
    variantOf: 'mountkit-js',
    mountOptions: { readdirPlus: false },
    only: (workload) => workload === 'readdir',
  },
  {
    id: 'mountkit-js-spin-reads-off',
    label: 'mountkit JS, spin reads off',
    about:
      'as mountkit JS with `readWhileSpinning: false`: the JavaScript thread spins after a batch but leaves every request to the ' +
      'backend threads to read and hand over, as before mountkit read requests itself; runs every workload but the file data ones',
    variantOf: 'mountkit-js',
    mountOptions: { readWhileSpinning: false },
    only: (workload) => !FILE_DATA(workload) || workload === 'seqread-1',
  },
  {
    id: 'mountkit-js-io-uring',
    label: 'mountkit JS, io_uring',
    about:
      'as mountkit JS with `ioUring: \'auto\'`: requests through the FUSE io_uring ring where the kernel offers it (Linux 6.14+ with ' +
      'enable_uring on, which the bench does not turn on: its report says whether the ring was live), else /dev/fuse as mountkit JS; ' +
      'runs the metadata workloads and the single-reader sequential read',
    variantOf: 'mountkit-js',
    mountOptions: { ioUring: 'auto' },
    only: (workload) => !FILE_DATA(workload) || workload === 'seqread-1',
  },
  {
    id: 'mountkit-async',
    label: 'mountkit JS, async handlers',
    about: 'as mountkit JS with every handler an `async` function, so each answer settles in a microtask; runs the metadata workloads',
    only: (workload) => !FILE_DATA(workload),
  },
  {
    id: 'mountkit-passthrough',
    label: 'mountkit backing file, passthrough',
    about: 'mountkit; opening /file answers `{ backingPath }` (the /file of the tmpfs subject), creating a file in /w answers a real file next to it; the kernel serves them by FUSE passthrough where it can',
    only: FILE_DATA,
  },
  {
    id: 'mountkit-rust-io',
    label: 'mountkit backing file, Rust I/O',
    about: 'as above with `passthrough: false`: Rust reads and writes the backing files for each request',
    only: FILE_DATA,
  },
  {
    id: 'fuse-native',
    label: 'fuse-native 2.2.6',
    about: 'npm fuse-native 2.2.6 (libfuse 2), same logic in its callback API (without the /t tree, so no mkdir + rmdir)',
    only: NOT_TREE,
  },
  {
    id: 'fuse-napi',
    label: 'fuse-napi 2.3.1',
    about: 'npm fuse-napi 2.3.1 (libfuse 3), same logic in its callback API, default concurrency (without the /t tree, so no mkdir + rmdir)',
    only: NOT_TREE,
  },
]

/**
 * The tree workload's subjects (bench/lib/tree.ts): fresh processes for each measurement, with
 * entry caching on, so that the kernel holds an inode for every file of the tree.
 */
export const TREE_SUBJECTS: SubjectSpec[] = [
  {
    id: 'c-tree',
    label: 'C libfuse3',
    about: 'bench/c/benchfs.c as the C reference, with the tree workload\'s caching (entries cached for an hour, attributes not)',
  },
  {
    id: 'c-lowlevel-tree',
    label: 'C libfuse3 low-level',
    about: 'bench/c/benchll.c as the C low-level reference, with the tree workload\'s caching',
  },
  {
    id: 'mountkit-tree',
    label: 'mountkit JS',
    about: 'mountkit JS with the tree workload\'s caching (entries cached for an hour, attributes not)',
  },
]

/** How long the list + stat subjects cache names and attributes: longer than any run. */
const LIST_STAT_CACHE_SECONDS = 3600
const LIST_STAT_CACHE_MS = LIST_STAT_CACHE_SECONDS * 1000

/** mountkit JS with the list + stat workload's caching and `readdirPlus` as given. */
function listStatMountkit(readdirPlus: 'auto' | boolean, extra: Partial<SubjectSpec> = {}): SubjectSpec {
  const shown = readdirPlus === 'auto' ? "'auto'" : String(readdirPlus)
  return {
    id: `mountkit-lsstat-${readdirPlus === 'auto' ? 'auto' : readdirPlus ? 'on' : 'off'}`,
    label: `mountkit JS, readdirPlus ${shown}`,
    about: `mountkit JS with names and attributes cached for an hour and \`readdirPlus: ${shown}\``,
    variantOf: 'mountkit-js',
    mountOptions: { attrTimeoutMs: LIST_STAT_CACHE_MS, entryTimeoutMs: LIST_STAT_CACHE_MS, readdirPlus },
    ...extra,
  }
}

/**
 * The list + stat workload's subjects (bench/lib/lsstat.ts): fresh processes for each
 * measurement, with names and attributes cached for an hour, so that attributes a listing
 * hands the kernel are still cached when each name is stat()ed.
 */
export const LIST_STAT_SUBJECTS: SubjectSpec[] = [
  {
    id: 'c-lsstat',
    label: 'C libfuse3',
    about:
      'bench/c/benchfs.c with names and attributes cached for an hour. libfuse 3.14\'s high-level API answers READDIRPLUS, but a filesystem that fills ' +
      'its whole listing at once (offset 0, as benchfs.c does) gets entries without an inode, so the kernel still looks up each name',
  },
  {
    id: 'c-lowlevel-lsstat',
    label: 'C libfuse3 low-level, READDIRPLUS auto',
    about: 'bench/c/benchll.c with the same caching, READDIRPLUS as libfuse sets it (the kernel\'s adaptive mode)',
    readdirPlusOff: 'c-lowlevel-lsstat-off',
  },
  {
    id: 'c-lowlevel-lsstat-off',
    label: 'C libfuse3 low-level, READDIRPLUS off',
    about: 'as above with `--no-readdirplus`: plain READDIR, a LOOKUP for each name',
  },
  listStatMountkit('auto', { readdirPlusOff: 'mountkit-lsstat-off' }),
  listStatMountkit(true, { readdirPlusOff: 'mountkit-lsstat-off' }),
  listStatMountkit(false),
  {
    ...listStatMountkit(false),
    id: 'mountkit-lsstat-off-asked',
    label: 'mountkit JS, readdirPlus false, lookupFromListing false',
    about:
      'as above with `lookupFromListing: false`: the LOOKUP of each listed name calls getattr, where the default answers it with the stat the listing gave',
    mountOptions: { attrTimeoutMs: LIST_STAT_CACHE_MS, entryTimeoutMs: LIST_STAT_CACHE_MS, readdirPlus: false, lookupFromListing: false },
  },
]

/** A mounted subject. `dir` holds /file, /dir and /w. */
export interface LiveSubject {
  spec: SubjectSpec
  dir: string
  /** The serving process (none for tmpfs). */
  pid: number | undefined
  /** Peak RSS so far in KiB (VmHWM), while the process lives. */
  peakRssKiB(): number | undefined
  rssKiB(): number | undefined
  /** What the process has printed on stdout so far. */
  output(): string
  /** Unmounts and ends the process; resolves to what the subject reported on its way out. */
  stop(): Promise<string>
}

interface Command {
  file: string
  args: string[]
  env?: NodeJS.ProcessEnv
}

/** How to start each FUSE subject. */
function commandFor(spec: SubjectSpec, layout: Layout, profile: Profile, mountpoint: string): Command {
  const sizes = [String(profile.fileSize), String(profile.entries)]
  // A variant's options reach the subject in BENCH_MOUNT_OPTIONS (read by serveMountkit).
  const variant = spec.mountOptions && { BENCH_MOUNT_OPTIONS: JSON.stringify(spec.mountOptions) }
  const node = (subject: string, extra: string[] = [], env?: NodeJS.ProcessEnv): Command => {
    const merged = env || variant ? { ...process.env, ...env, ...variant } : undefined
    return {
      file: process.execPath,
      args: [join(layout.js, 'bench', 'subjects', `${subject}.js`), mountpoint, ...sizes, ...extra],
      env: merged,
    }
  }
  const backing = [join(layout.tmpfs, 'file')]
  // A C reference (`program`: benchfs or benchll), caching names for `entryTimeout` seconds
  // and attributes for `attrTimeout`.
  const c = (program: string, entryTimeout: number, attrTimeout = 0, extra: string[] = []): Command => ({
    file: join(layout.bin, program),
    args: [
      mountpoint,
      '-f',
      '-o',
      `attr_timeout=${attrTimeout},entry_timeout=${entryTimeout},negative_timeout=0,fsname=benchfs`,
      `--size=${profile.fileSize}`,
      `--entries=${profile.entries}`,
      ...extra,
    ],
  })
  const id = spec.variantOf ?? spec.id
  switch (id) {
    case 'c':
      return c('benchfs', 0)
    case 'c-tree':
      return c('benchfs', 3600)
    case 'c-lowlevel':
      return c('benchll', 0)
    case 'c-lowlevel-tree':
      return c('benchll', 3600)
    case 'c-lsstat':
      return c('benchfs', LIST_STAT_CACHE_SECONDS, LIST_STAT_CACHE_SECONDS)
    case 'c-lowlevel-lsstat':
      return c('benchll', LIST_STAT_CACHE_SECONDS, LIST_STAT_CACHE_SECONDS)
    case 'c-lowlevel-lsstat-off':
      return c('benchll', LIST_STAT_CACHE_SECONDS, LIST_STAT_CACHE_SECONDS, ['--no-readdirplus'])
    case 'mountkit-tree':
      return node('mountkit-tree')
    case 'mountkit-js':
      return node('mountkit-js')
    case 'mountkit-async':
      return node('mountkit-async')
    case 'mountkit-passthrough':
      return node('mountkit-rust', backing)
    case 'mountkit-rust-io':
      return node('mountkit-rust', backing, { BENCH_PASSTHROUGH: '0' })
    case 'fuse-native':
      return node('fuse-native')
    case 'fuse-napi':
      return node('fuse-napi')
  }
  throw new Error(`no command for subject ${spec.id}`)
}

/**
 * Starts a FUSE subject and resolves once its mount is up. The subject's stdin is a pipe
 * from this process: if the harness dies, the subject sees end of file and unmounts.
 */
export async function startFuseSubject(spec: SubjectSpec, layout: Layout, profile: Profile): Promise<LiveSubject> {
  const mountpoint = join(layout.mnt, spec.id)
  mkdirSync(mountpoint, { recursive: true })
  const command = commandFor(spec, layout, profile, mountpoint)
  const child = spawn(command.file, command.args, { stdio: ['pipe', 'pipe', 'pipe'], env: command.env ?? process.env })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const pid = child.pid!

  const deadline = Date.now() + 20_000
  while (mountedAt(mountpoint) === undefined) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      stopProcess(child)
      detach(mountpoint)
      const why = child.exitCode !== null ? `exited with ${child.exitCode}` : 'did not mount within 20 s'
      throw new Error(`${spec.label} ${why}: ${stderr.trim() || '(no output)'}`)
    }
    await sleep(20)
  }

  return {
    spec,
    dir: mountpoint,
    pid,
    peakRssKiB: () => procStatusKiB(pid, 'VmHWM'),
    rssKiB: () => procStatusKiB(pid, 'VmRSS'),
    output: () => stdout,
    async stop() {
      child.kill('SIGTERM')
      const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])
      if (!stopped) stopProcess(child)
      if (mountedAt(mountpoint) !== undefined) detach(mountpoint)
      if (!stopped) throw new Error(`${spec.label} did not exit within 10 s of SIGTERM; killed`)
      if (child.exitCode !== 0) throw new Error(`${spec.label} exited with ${child.exitCode ?? child.signalCode}: ${stderr.trim()}`)
      return stdout.trim()
    },
  }
}

function stopProcess(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}

/** Mounts a tmpfs at `dir` (root only; the harness checks that first). */
export function mountTmpfs(dir: string, sizeBytes: number): void {
  mkdirSync(dir, { recursive: true })
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'benchtmpfs', dir], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`mount -t tmpfs at ${dir} failed: ${result.stderr.trim()}`)
}

/**
 * The ceiling: the files on the run's tmpfs (`Layout.tmpfs`), read with no FUSE. It owns no
 * process and no mount: the backing-file subjects use the same tmpfs, so the run detaches it
 * once every subject has stopped.
 */
export function tmpfsSubject(spec: SubjectSpec, dir: string): LiveSubject {
  return {
    spec,
    dir,
    pid: undefined,
    peakRssKiB: () => undefined,
    rssKiB: () => undefined,
    output: () => '',
    stop: async () => '',
  }
}
