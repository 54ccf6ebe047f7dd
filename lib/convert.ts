// Turns handler results into the plain shapes the native addon accepts, rejecting values that
// would otherwise reach the kernel as nonsense (negative sizes, NaN dates, unknown kinds).
import type { NativeOpened, NativeStatFs } from '../native'
import type { DirEntry, FileKind, OpenResult, Stat, StatFs, TimeLike, WindowsAttributes } from './types'
import { AttributeBit, FileKindCode, STAT_FIELDS, StatField } from './wire.generated'

/** A handler returned something of the wrong shape. */
export class InvalidReply extends Error {}

const KIND_CODES: Record<FileKind, number> = FileKindCode

/** The code of a file kind, or undefined for anything that is not one. */
function knownKind(kind: unknown): number | undefined {
  return typeof kind === 'string' && Object.hasOwn(KIND_CODES, kind) ? KIND_CODES[kind as FileKind] : undefined
}

function kindCode(kind: unknown, what: string): number {
  const code = knownKind(kind)
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

/**
 * Checks a Stat and writes it as `STAT_FIELDS` numbers (see `StatField`) into `out` at
 * `offset`: one typed array crosses to the addon instead of an object whose fields it would
 * read one by one.
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
  out[offset + StatField.kind] = kind
  out[offset + StatField.size] = count(s.size, 'size', 0)
  out[offset + StatField.mode] = mode
  out[offset + StatField.uid] = count(s.uid, 'uid', defaults.uid)
  out[offset + StatField.gid] = count(s.gid, 'gid', defaults.gid)
  out[offset + StatField.nlink] = count(s.nlink, 'nlink', isDir ? 2 : 1)
  out[offset + StatField.ino] = count(s.ino, 'ino', 0)
  out[offset + StatField.rdev] = count(s.rdev, 'rdev', 0)
  out[offset + StatField.blocks] = s.blocks === undefined ? -1 : count(s.blocks, 'blocks', 0)
  out[offset + StatField.atime] = millis(s.atime, 'atime')
  out[offset + StatField.mtime] = millis(s.mtime, 'mtime')
  out[offset + StatField.ctime] = millis(s.ctime, 'ctime')
  out[offset + StatField.birthtime] = millis(s.birthtime, 'birthtime')
  out[offset + StatField.attributes] = attributeBits(s.attributes)
}

/** The `AttributeBit`s of a stat's Windows attributes. */
function attributeBits(attributes: WindowsAttributes | undefined): number {
  if (attributes === undefined) return 0
  if (typeof attributes !== 'object' || attributes === null) {
    throw new InvalidReply(`stat.attributes must be an object of flags (hidden, readonly, ...), got ${attributes === null ? 'null' : typeof attributes}`)
  }
  return (
    (attributes.hidden === true ? AttributeBit.hidden : 0) |
    (attributes.readonly === true ? AttributeBit.readonly : 0) |
    (attributes.system === true ? AttributeBit.system : 0) |
    (attributes.archive === true ? AttributeBit.archive : 0) |
    (attributes.notContentIndexed === true ? AttributeBit.notContentIndexed : 0) |
    (attributes.offline === true ? AttributeBit.offline : 0)
  )
}

/** A checked listing, packed for the addon. */
export interface PackedEntries {
  /** The names joined by NUL, which no name can contain: one string crosses, not one per entry. */
  names: string
  /** One kind code per name. */
  kinds: Uint8Array
  /** `STAT_FIELDS` numbers per name (a NaN kind where an entry has no stat), when asked for and any entry has one. */
  stats: Float64Array | undefined
  /** Entries left out here (names holding NUL), with the reason. */
  dropped: string[]
}

/**
 * Checks the shape of a readdir result and packs it. A wrong shape fails the listing; names
 * no directory can hold are the addon's to drop (it says which), except names holding NUL,
 * which would break the packing and are dropped here. Stats are packed only `withStats`: FUSE
 * lists a name with its kind alone, while the Windows backends show each entry's attributes.
 */
export function packEntries(entries: unknown, defaults: { uid: number; gid: number }, withStats: boolean): PackedEntries {
  if (!Array.isArray(entries)) throw new InvalidReply(`readdir must return an array, got ${typeof entries}`)
  const dropped: string[] = []
  const names: string[] = []
  const kinds = new Uint8Array(entries.length)
  let stats: Float64Array | undefined
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as DirEntry
    if (typeof entry !== 'object' || entry === null || typeof entry.name !== 'string') {
      throw new InvalidReply(`readdir entry ${i} must be an object with a string name`)
    }
    const kind = ('kind' in entry ? entry.kind : undefined) ?? entry.stat?.kind
    if (kind === undefined) throw new InvalidReply(`readdir entry ${JSON.stringify(entry.name)} needs a kind or a stat`)
    // The error's text is made only for an entry that fails: a listing may have many entries.
    const code = knownKind(kind) ?? kindCode(kind, `readdir entry ${JSON.stringify(entry.name)}`)
    if (entry.name.includes('\0')) {
      dropped.push(`${JSON.stringify(entry.name.slice(0, 40))} contains NUL`)
      continue
    }
    const at = names.length
    names.push(entry.name)
    kinds[at] = code
    if (withStats && entry.stat !== undefined) {
      stats ??= new Float64Array(entries.length * STAT_FIELDS).fill(NaN)
      packStat(entry.stat, defaults, stats, at * STAT_FIELDS)
    }
  }
  const kept = names.length
  return {
    names: names.join('\0'),
    kinds: kept === entries.length ? kinds : kinds.subarray(0, kept),
    stats: stats === undefined || kept === entries.length ? stats : stats.subarray(0, kept * STAT_FIELDS),
    dropped,
  }
}

export function toNativeOpened(result: unknown, defaults: { uid: number; gid: number }): NativeOpened {
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
  let stat: Float64Array | undefined
  if (r.stat !== undefined) {
    stat = new Float64Array(STAT_FIELDS)
    packStat(r.stat, defaults, stat)
  }
  return {
    handle: handleNumber(r.handle ?? 0),
    directIo: Boolean(r.directIo),
    keepCache: Boolean(r.keepCache),
    nonSeekable: Boolean(r.nonSeekable),
    backingPath: r.backingPath,
    backingFd: r.backingFd,
    stat,
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
