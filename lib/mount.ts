// A live mount: owns the native session, feeds request batches to the dispatcher, and makes
// sure the mount goes away with the process however the process ends.
import { EventEmitter } from 'node:events'
import { statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import type { NativeChange, NativeMount } from '../native'
import { Dispatcher } from './dispatch'
import { asMountError, HandlerError, MountError } from './errors'
import { native } from './native'
import type { Change, DataPathReport, FileSystem, MountOptions, MountStats } from './types'
import { localAnswers } from './wire'

/** Mounts still mounted, for the exit and signal hooks. */
const live = new Set<Mount>()

/**
 * A mounted filesystem. Emits `'error'` with a {@link HandlerError} whenever a handler
 * misbehaves; the mount keeps serving. Without an `error` listener, faults are printed to
 * stderr instead of crashing the process. A listener that throws does not stop the mount:
 * its exception is rethrown on its own, as an uncaught exception.
 */
export class Mount extends EventEmitter {
  /**
   * Where the filesystem is mounted: the absolute path on Linux; on Windows the drive (`'M:'`,
   * on both backends), the letter `'*'` took, the folder, or the share `'\\server\share'`
   * (WinFsp; Dokan serves a share on a drive letter, and reports it).
   */
  readonly mountpoint: string
  /** The backend serving this mount. */
  readonly backend: 'fuse' | 'winfsp' | 'dokan'
  private unmounting: Promise<void> | undefined

  /**
   * @internal `flush` sends replies still collected for a batch; `release` lets go of what
   * serving kept for later requests, once there are none.
   */
  constructor(
    private readonly session: NativeMount,
    private readonly flush: () => void,
    private readonly release: () => void,
  ) {
    super()
    this.mountpoint = session.mountpoint
    this.backend = session.backend as Mount['backend']
  }

  /** True until `unmount()` has been called. */
  get mounted(): boolean {
    return this.unmounting === undefined
  }

  /**
   * Unmounts and resolves when the backend has stopped. Requests still in flight are
   * answered (by their handlers, or with an error); calling it again returns the same promise.
   */
  unmount(): Promise<void> {
    this.unmounting ??= (async () => {
      live.delete(this)
      this.flush()
      try {
        await this.session.unmount()
      } finally {
        this.release()
      }
      if (live.size === 0) uninstallHooks()
    })()
    return this.unmounting
  }

  /**
   * Reports a change the filesystem made itself, behind the kernel's back, so the system
   * catches up: on FUSE the kernel drops what it cached that the change made stale (the names
   * involved, their directories' listings, a changed file's attributes and data); on WinFsp
   * and Dokan, Windows tells the programs watching the directory (Explorer refreshes) and
   * WinFsp drops what it cached. Resolves once the backend has taken the change; a path the
   * kernel has never seen, or has forgotten, has nothing to drop and resolves too. Rejects
   * with a TypeError for a malformed change, and with an Error saying why when the path is not
   * a mount-relative path (`/dir/name`) or the backend refuses. See docs/caching.md.
   */
  async notify(change: Change): Promise<void> {
    await this.session.notify(nativeChange(change))
  }

  /**
   * Drops what the kernel caches about `path` (relative to the mount, e.g. `'/docs/a.txt'`):
   * its attributes, its cached data, and for a directory its cached listing. Call it when a
   * file changes behind the kernel's back while caching is on. The same as
   * `notify({ changed: path })`: on Windows, a modification of `path` (FILE_ACTION_MODIFIED).
   * Resolves once the kernel has dropped it; a path the kernel never looked up has nothing
   * cached and resolves at once.
   */
  invalidate(path: string): Promise<void> {
    return this.session.notify({ kind: 'changed', path, directory: false }) as Promise<void>
  }

  /**
   * Makes the kernel forget the name `path`, so its next use asks `getattr` again: for a name
   * that appeared, disappeared or now names another file behind the kernel's back. On
   * Windows, which has no notification for a name alone, a modification of its directory.
   */
  invalidateEntry(path: string): Promise<void> {
    return this.session.notify({ kind: 'entry', path, directory: false }) as Promise<void>
  }

  /**
   * How files opened with `backingPath`/`backingFd` have been served: by the kernel (FUSE
   * passthrough) or by Rust with positioned I/O. Either way, their bytes never reach handlers.
   */
  dataPath(): DataPathReport {
    return this.session.dataPath()
  }

  /**
   * How many inodes the kernel still refers to and how many files and directories are open:
   * the state that costs memory per file. FUSE only; two counts, cheap to call often.
   */
  stats(): MountStats {
    return this.session.stats()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unmount()
  }

  /** @internal Synchronous teardown for exit paths, where nothing async may run. */
  unmountNow(): void {
    if (this.unmounting !== undefined) return
    this.unmounting = Promise.resolve()
    live.delete(this)
    this.session.unmountSync()
  }

  /** @internal */
  fault(error: HandlerError): void {
    // Once unmounting starts, requests still in flight are answered by the backend; a
    // handler settling after that is expected, not a fault.
    if (!this.mounted) return
    if (this.listenerCount('error') > 0) this.emit('error', error)
    else process.emitWarning(error.message, { type: 'MountkitHandlerError' })
  }
}

export async function startMount(mountpoint: string, fs: FileSystem, options: MountOptions): Promise<Mount> {
  if (typeof fs !== 'object' || fs === null) throw new TypeError('mount(): the filesystem must be an object of handlers')
  const backend = options.backend ?? 'auto'
  if (!['auto', 'fuse', 'winfsp', 'dokan'].includes(backend)) {
    throw new MountError('EOPTION', `mount(): backend must be 'auto', 'fuse', 'winfsp' or 'dokan', got '${String(backend)}'`)
  }
  if (options.writebackCache === true && typeof fs.utimens !== 'function') {
    throw new MountError('EOPTION', 'mount(): writebackCache needs a utimens handler: with writeback caching the kernel keeps modification times itself and sends them to utimens on fsync and close')
  }
  // A Windows drive letter is not a path to resolve; the Windows backends check their
  // mount point themselves (and refuse to run anywhere but Windows).
  const windows = process.platform === 'win32' || backend === 'winfsp' || backend === 'dokan'
  // '*' and '\\server\share' are no paths either: the addon refuses them on FUSE, saying why.
  const windowsOnly = /^\*:?\\?$/.test(mountpoint) || mountpoint.startsWith('\\\\')
  const target = windows || windowsOnly ? mountpoint : resolve(mountpoint)
  if (!windows && !windowsOnly) checkMountpoint(target, options.force === true)
  const maxConcurrency = positive(options.maxConcurrency, 'maxConcurrency', 128)
  const spinMicros = nonNegative(options.spinMicros, 'spinMicros', availableParallelism() > 1 ? 20 : 0)
  if (spinMicros > 1_000_000) throw new MountError('EOPTION', `mount(): spinMicros must be at most 1000000 (one second), got ${spinMicros}`)
  const log = logger(options.debug)

  let dispatcher: Dispatcher | undefined
  const session = mountNative(target, {
    fsName: options.fsName ?? 'mountkit',
    readOnly: options.readOnly ?? false,
    allowOther: options.allowOther ?? false,
    defaultPermissions: options.defaultPermissions ?? true,
    attrTimeoutMs: nonNegative(options.attrTimeoutMs, 'attrTimeoutMs', 1000),
    entryTimeoutMs: nonNegative(options.entryTimeoutMs, 'entryTimeoutMs', 1000),
    negativeTimeoutMs: nonNegative(options.negativeTimeoutMs, 'negativeTimeoutMs', 0),
    readdirCache: options.readdirCache ?? false,
    writebackCache: options.writebackCache ?? false,
    timeoutMs: positive(options.timeoutMs, 'timeoutMs', 30_000),
    timeoutErrno: options.timeoutErrno ?? 'ETIMEDOUT',
    threads: positive(options.threads, 'threads', 2),
    force: options.force ?? false,
    passthrough: options.passthrough ?? true,
    readdirPlus: readdirPlusMode(options.readdirPlus),
    readWhileSpinning: options.readWhileSpinning ?? true,
    lookupFromListing: options.lookupFromListing ?? true,
    ioUring: ioUringMode(options.ioUring),
    nativeAnswers: localAnswers(fs),
    backend,
    volumeLabel: options.volumeLabel ?? 'mountkit',
    caseInsensitive: options.caseInsensitive ?? true,
    driveType: options.driveType ?? 'fixed',
    sectorSize: positive(options.sectorSize, 'sectorSize', 4096),
    allocationUnitSize: positive(options.allocationUnitSize, 'allocationUnitSize', 4096),
    persistentAcls: typeof fs.setSecurity === 'function',
    driveLetter: options.driveLetter,
  }, () => dispatcher?.wake())
  const mount = new Mount(session, () => dispatcher?.flush(), () => dispatcher?.release())
  // The Windows backends show each entry's attributes; FUSE hands them to the kernel only
  // with READDIRPLUS (agreed at INIT, before mountNative returned), answers lookups with
  // them (lookupFromListing), and otherwise lists a name with its kind.
  const fuse = session.backend === 'fuse' ? session.stats() : undefined
  const entryStats = fuse === undefined || fuse.readdirPlus || fuse.lookupFromListing
  dispatcher = new Dispatcher(session, fs, maxConcurrency, entryStats, spinMicros, { fault: (e) => mount.fault(e), log })
  live.add(mount)
  installHooks()
  return mount
}

/** Linux's EDEADLK, which Node has no name for: the answer to a stat of our own mount. */
const EDEADLK = 35

function checkMountpoint(target: string, force: boolean): void {
  // Stat-ing a mount this thread serves could never be answered: check those by name.
  if ([...live].some((m) => m.mountpoint === target)) {
    throw new MountError('EMOUNTPOINT', `mount(): ${target} is already mounted by this process; unmount it first`)
  }
  let isDirectory: boolean
  try {
    isDirectory = statSync(target).isDirectory()
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (e.code === 'ENOTCONN' && force) return
    if (e.code === 'ENOTCONN') {
      throw new MountError('EMOUNTPOINT', `mount(): ${target} is a stale mount left by a process that died; pass { force: true } or run 'npx mountkit unmount ${target}'`)
    }
    if (e.code === 'ENOENT') throw new MountError('EMOUNTPOINT', `mount(): the mount point ${target} does not exist; create an empty directory there first`)
    if (e.errno === -EDEADLK) {
      throw new MountError('EMOUNTPOINT', `mount(): ${target} lies inside a filesystem this process serves; mount somewhere outside your own mounts`)
    }
    throw error
  }
  if (!isDirectory) throw new MountError('EMOUNTPOINT', `mount(): the mount point ${target} is not a directory`)
}

/** The addon's mount, whose errors carry a {@link MountErrorCode} as `code`: rethrown as MountErrors. */
function mountNative(...args: Parameters<typeof native.NativeMount.mount>): NativeMount {
  try {
    return native.NativeMount.mount(...args)
  } catch (error) {
    throw asMountError(error) ?? error
  }
}

/** The `ioUring` option as the addon spells it. */
function ioUringMode(value: MountOptions['ioUring']): 'auto' | 'always' | 'off' {
  if (value === 'auto') return 'auto'
  if (value === true) return 'always'
  if (value === undefined || value === false) return 'off'
  throw new MountError('EOPTION', `mount(): ioUring must be 'auto', true or false, got ${JSON.stringify(value)}`)
}

/** The `readdirPlus` option as the addon spells it. */
function readdirPlusMode(value: MountOptions['readdirPlus']): 'auto' | 'always' | 'off' {
  if (value === undefined || value === 'auto') return 'auto'
  if (value === true) return 'always'
  if (value === false) return 'off'
  throw new MountError('EOPTION', `mount(): readdirPlus must be 'auto', true or false, got ${JSON.stringify(value)}`)
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value <= 0) throw new MountError('EOPTION', `mount(): ${name} must be a positive integer, got ${value}`)
  return value
}

function nonNegative(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < 0) throw new MountError('EOPTION', `mount(): ${name} must be a non-negative number, got ${value}`)
  return value
}

function logger(debug: MountOptions['debug']): ((line: string) => void) | undefined {
  if (typeof debug === 'function') return debug
  if (debug === true) return (line) => process.stderr.write(`mountkit ${line}\n`)
  return undefined
}

// Exit paths. 'exit' covers process.exit() and uncaught exceptions; signals would otherwise
// kill the process without unmounting. A signal is re-raised after cleanup only when nobody
// else listens for it, so an application's own SIGINT handling keeps working.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
let hooksInstalled = false

function unmountAll(): void {
  for (const m of [...live]) {
    try {
      m.unmountNow()
    } catch (error) {
      process.stderr.write(`mountkit: could not unmount ${m.mountpoint}: ${String(error)}\n`)
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  const othersListen = process.listenerCount(signal) > 1
  if (othersListen) return
  unmountAll()
  uninstallHooks()
  process.kill(process.pid, signal)
}

function installHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', unmountAll)
  for (const s of SIGNALS) process.on(s, onSignal)
}

function uninstallHooks(): void {
  if (!hooksInstalled) return
  hooksInstalled = false
  process.off('exit', unmountAll)
  for (const s of SIGNALS) process.off(s, onSignal)
}

/** A {@link Change} as the addon takes it; a TypeError for anything else. */
function nativeChange(change: Change): NativeChange {
  const directory: unknown = typeof change === 'object' && change !== null ? ((change as { directory?: unknown }).directory ?? false) : undefined
  if (typeof directory !== 'boolean') {
    throw new TypeError(
      'notify() takes { created | deleted | changed: path } or { renamed: [from, to] }, with an optional directory: boolean',
    )
  }
  const kinds = (['created', 'deleted', 'renamed', 'changed'] as const).filter((kind) => kind in change)
  const [kind] = kinds
  if (kinds.length !== 1 || kind === undefined) {
    throw new TypeError(
      `notify() takes exactly one of created, deleted, renamed or changed; got ${kinds.length === 0 ? 'none' : kinds.join(', ')}`,
    )
  }
  const value: unknown = (change as Record<string, unknown>)[kind]
  if (kind === 'renamed') {
    if (!Array.isArray(value) || value.length !== 2 || !value.every((p) => typeof p === 'string')) {
      throw new TypeError('notify({ renamed }) takes [from, to], two mount-relative paths')
    }
    return { kind, path: value[0] as string, to: value[1] as string, directory }
  }
  if (typeof value !== 'string') {
    throw new TypeError(`notify({ ${kind} }) takes a mount-relative path such as '/dir/name'`)
  }
  return { kind, path: value, directory }
}
