// Turns handler results into the plain shapes the native addon accepts, rejecting values that
// would otherwise reach the kernel as nonsense (negative sizes, NaN dates, unknown kinds).
import type { DirEntry, FileKind, OpenResult, Stat, StatFs, TimeLike } from '../index'
import type { NativeDirEntry, NativeOpened, NativeStat, NativeStatFs } from '../native'

/** A handler returned something of the wrong shape. */
export class InvalidReply extends Error {}

const KIND_CODES: Record<FileKind, number> = {
  file: 0,
  directory: 1,
  symlink: 2,
  fifo: 3,
  socket: 4,
  'char-device': 5,
  'block-device': 6,
}

function kindCode(kind: unknown, what: string): number {
  const code = typeof kind === 'string' ? KIND_CODES[kind as FileKind] : undefined
  if (code === undefined) {
    throw new InvalidReply(`${what}: unknown kind ${JSON.stringify(kind)} (expected one of ${Object.keys(KIND_CODES).join(', ')})`)
  }
  return code
}

function count(value: unknown, field: string, fallback: number): number {
  if (value === undefined || value === null) return fallback
  if (typeof value === 'bigint') value = Number(value)
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidReply(`stat.${field} must be a non-negative integer, got ${String(value)}`)
  }
  return value
}

function millis(value: TimeLike | undefined, field: string): number {
  if (value === undefined || value === null) return 0
  const ms = value instanceof Date ? value.getTime() : value
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new InvalidReply(`stat.${field} must be a valid Date or milliseconds, got ${String(value)}`)
  }
  return ms
}

export function toNativeStat(stat: unknown, defaults: { uid: number; gid: number }): NativeStat {
  if (typeof stat !== 'object' || stat === null) {
    throw new InvalidReply(`expected a Stat object, got ${stat === null ? 'null' : typeof stat}`)
  }
  const s = stat as Stat
  const kind = kindCode(s.kind, 'stat.kind')
  const isDir = kind === KIND_CODES.directory
  const mode = count(s.mode, 'mode', isDir ? 0o755 : 0o644)
  if (mode > 0o7777) throw new InvalidReply(`stat.mode must hold permission bits only (<= 0o7777), got 0o${mode.toString(8)}`)
  return {
    kind,
    size: count(s.size, 'size', 0),
    mode,
    uid: count(s.uid, 'uid', defaults.uid),
    gid: count(s.gid, 'gid', defaults.gid),
    nlink: count(s.nlink, 'nlink', isDir ? 2 : 1),
    ino: count(s.ino, 'ino', 0),
    rdev: count(s.rdev, 'rdev', 0),
    blocks: s.blocks === undefined ? -1 : count(s.blocks, 'blocks', 0),
    atimeMs: millis(s.atime, 'atime'),
    mtimeMs: millis(s.mtime, 'mtime'),
    ctimeMs: millis(s.ctime, 'ctime'),
    birthtimeMs: millis(s.birthtime, 'birthtime'),
    attributes: (s.hidden ? 1 : 0) | (s.readonly ? 2 : 0) | (s.system ? 4 : 0) | (s.archive ? 8 : 0),
  }
}

/** Why a directory entry name cannot be listed, or undefined if it can. */
export function invalidName(name: string): string | undefined {
  if (name === '') return 'is empty'
  if (name === '.' || name === '..') return 'is reserved (. and .. are added for you)'
  if (name.includes('/')) return "contains '/'"
  if (name.includes('\0')) return 'contains NUL'
  if (Buffer.byteLength(name) > 255) return 'is longer than 255 bytes'
  return undefined
}

/**
 * Checks a readdir result. Entries whose names cannot exist in a directory are left out (and
 * listed in `dropped`) rather than failing the listing; a wrong shape fails it.
 */
export function toNativeEntries(
  entries: unknown,
  defaults: { uid: number; gid: number },
): { entries: NativeDirEntry[]; dropped: string[] } {
  if (!Array.isArray(entries)) throw new InvalidReply(`readdir must return an array, got ${typeof entries}`)
  const dropped: string[] = []
  const seen = new Set<string>()
  const valid: NativeDirEntry[] = []
  entries.forEach((entry: DirEntry, i) => {
    if (typeof entry !== 'object' || entry === null || typeof entry.name !== 'string') {
      throw new InvalidReply(`readdir entry ${i} must be an object with a string name`)
    }
    const problem = invalidName(entry.name) ?? (seen.has(entry.name) ? 'is a duplicate' : undefined)
    if (problem !== undefined) {
      dropped.push(`${JSON.stringify(entry.name.length > 40 ? entry.name.slice(0, 40) + '…' : entry.name)} ${problem}`)
      return
    }
    seen.add(entry.name)
    const stat = entry.stat === undefined ? undefined : toNativeStat(entry.stat, defaults)
    const kind = 'kind' in entry && entry.kind !== undefined ? kindCode(entry.kind, `readdir entry ${JSON.stringify(entry.name)}`) : stat?.kind
    if (kind === undefined) throw new InvalidReply(`readdir entry ${JSON.stringify(entry.name)} needs a kind or a stat`)
    valid.push({ name: entry.name, kind, stat })
  })
  return { entries: valid, dropped }
}

export function toNativeOpened(result: unknown): NativeOpened {
  if (result === undefined || result === null) return { handle: 0, directIo: false, keepCache: false, nonSeekable: false }
  if (typeof result === 'number') return { handle: handleNumber(result), directIo: false, keepCache: false, nonSeekable: false }
  if (typeof result !== 'object') throw new InvalidReply(`open must return a handle number or an object, got ${typeof result}`)
  const r = result as Exclude<OpenResult, number | void | undefined>
  if (r.backingPath !== undefined && typeof r.backingPath !== 'string') {
    throw new InvalidReply(`backingPath must be a string, got ${typeof r.backingPath}`)
  }
  if (r.backingFd !== undefined && (!Number.isInteger(r.backingFd) || r.backingFd < 0)) {
    throw new InvalidReply(`backingFd must be an open file descriptor, got ${String(r.backingFd)}`)
  }
  return {
    handle: handleNumber(r.handle ?? 0),
    directIo: Boolean(r.directIo),
    keepCache: Boolean(r.keepCache),
    nonSeekable: Boolean(r.nonSeekable),
    backingPath: r.backingPath,
    backingFd: r.backingFd,
  }
}

function handleNumber(handle: unknown): number {
  if (typeof handle !== 'number' || !Number.isSafeInteger(handle) || handle < 0) {
    throw new InvalidReply(`a handle must be a non-negative safe integer, got ${String(handle)}`)
  }
  return handle
}

export function toNativeStatFs(s: unknown): NativeStatFs {
  if (typeof s !== 'object' || s === null) throw new InvalidReply('statfs must return an object')
  const f = s as StatFs
  const n = (v: unknown, field: string, d: number) => count(v, `statfs.${field}`, d)
  return {
    blockSize: n(f.blockSize, 'blockSize', 4096),
    fragmentSize: n(f.fragmentSize, 'fragmentSize', f.blockSize ?? 4096),
    blocks: n(f.blocks, 'blocks', 0),
    blocksFree: n(f.blocksFree, 'blocksFree', 0),
    blocksAvailable: n(f.blocksAvailable, 'blocksAvailable', f.blocksFree ?? 0),
    files: n(f.files, 'files', 0),
    filesFree: n(f.filesFree, 'filesFree', 0),
    nameMax: n(f.nameMax, 'nameMax', 255),
  }
}

export function toBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return Buffer.from(value)
  throw new InvalidReply(`${what} must return a Buffer or Uint8Array, got ${value === null ? 'null' : typeof value}`)
}

export function toCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidReply(`${what} must return a non-negative integer, got ${String(value)}`)
  }
  return value
}
