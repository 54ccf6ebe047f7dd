// Turns handler results into the plain shapes the native addon accepts, rejecting values that
// would otherwise reach the kernel as nonsense (negative sizes, NaN dates, unknown kinds).
import type { DirEntry, FileKind, OpenResult, Stat, StatFs, TimeLike } from '../index'
import type { NativeOpened, NativeStatFs } from '../native'

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

/** Numbers per stat when packed for the addon (the layout is `STAT_FIELDS` in crates/node/src/convert.rs). */
export const STAT_FIELDS = 14

/**
 * Checks a Stat and writes it as `STAT_FIELDS` numbers into `out` at `offset`: one typed array
 * crosses to the addon instead of an object whose fields it would read one by one.
 */
export function packStat(stat: unknown, defaults: { uid: number; gid: number }, out: Float64Array, offset = 0): void {
  if (typeof stat !== 'object' || stat === null) {
    throw new InvalidReply(`expected a Stat object, got ${stat === null ? 'null' : typeof stat}`)
  }
  const s = stat as Stat
  const kind = kindCode(s.kind, 'stat.kind')
  const isDir = kind === KIND_CODES.directory
  const mode = count(s.mode, 'mode', isDir ? 0o755 : 0o644)
  if (mode > 0o7777) throw new InvalidReply(`stat.mode must hold permission bits only (<= 0o7777), got 0o${mode.toString(8)}`)
  out[offset] = kind
  out[offset + 1] = count(s.size, 'size', 0)
  out[offset + 2] = mode
  out[offset + 3] = count(s.uid, 'uid', defaults.uid)
  out[offset + 4] = count(s.gid, 'gid', defaults.gid)
  out[offset + 5] = count(s.nlink, 'nlink', isDir ? 2 : 1)
  out[offset + 6] = count(s.ino, 'ino', 0)
  out[offset + 7] = count(s.rdev, 'rdev', 0)
  out[offset + 8] = s.blocks === undefined ? -1 : count(s.blocks, 'blocks', 0)
  out[offset + 9] = millis(s.atime, 'atime')
  out[offset + 10] = millis(s.mtime, 'mtime')
  out[offset + 11] = millis(s.ctime, 'ctime')
  out[offset + 12] = millis(s.birthtime, 'birthtime')
  out[offset + 13] = (s.hidden ? 1 : 0) | (s.readonly ? 2 : 0) | (s.system ? 4 : 0) | (s.archive ? 8 : 0)
}

/** Why a directory entry name cannot be listed, or undefined if it can. */
export function invalidName(name: string): string | undefined {
  if (name === '') return 'is empty'
  if (name === '.' || name === '..') return 'is reserved (. and .. are added for you)'
  if (name.includes('/')) return "contains '/'"
  if (name.includes('\0')) return 'contains NUL'
  // A UTF-16 unit is at most 3 bytes of UTF-8, so only long names need measuring.
  if (name.length > 85 && Buffer.byteLength(name) > 255) return 'is longer than 255 bytes'
  return undefined
}

/** A checked listing, packed for the addon. */
export interface PackedEntries {
  names: string[]
  /** One kind code per name. */
  kinds: Uint8Array
  /** `STAT_FIELDS` numbers per name (a NaN kind where an entry has no stat), if any entry has one. */
  stats: Float64Array | undefined
  /** Entries left out, with the reason. */
  dropped: string[]
}

/**
 * Checks a readdir result. Entries whose names cannot exist in a directory are left out (and
 * listed in `dropped`) rather than failing the listing; a wrong shape fails it.
 */
export function packEntries(entries: unknown, defaults: { uid: number; gid: number }): PackedEntries {
  if (!Array.isArray(entries)) throw new InvalidReply(`readdir must return an array, got ${typeof entries}`)
  const dropped: string[] = []
  const seen = new Set<string>()
  const kept: DirEntry[] = []
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
    kept.push(entry)
  })
  const names = new Array<string>(kept.length)
  const kinds = new Uint8Array(kept.length)
  const stats = kept.some((e) => e.stat !== undefined) ? new Float64Array(kept.length * STAT_FIELDS) : undefined
  kept.forEach((entry, i) => {
    names[i] = entry.name
    if (entry.stat !== undefined && stats !== undefined) packStat(entry.stat, defaults, stats, i * STAT_FIELDS)
    else if (stats !== undefined) stats[i * STAT_FIELDS] = NaN
    const what = `readdir entry ${JSON.stringify(entry.name)}`
    if ('kind' in entry && entry.kind !== undefined) kinds[i] = kindCode(entry.kind, what)
    else if (entry.stat !== undefined) kinds[i] = kindCode(entry.stat.kind, what)
    else throw new InvalidReply(`${what} needs a kind or a stat`)
  })
  return { names, kinds, stats, dropped }
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
