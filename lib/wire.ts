// The JavaScript half of the encoding between the addon and the handlers: decodes the
// requests a drain hands over and packs handlers' results into replies. Every position and
// code comes from lib/wire.generated.ts, which crates/node/src/wire.rs generates; this module
// checks at load that the addon was built from the same tables.
import type { NativeMount, NativeOpened } from '../native'
import { InvalidReply, packEntries, packStat, toBytes, toCount, toNativeOpened, toNativeStatFs } from './convert'
import { native } from './native'
import type { FileSystem, RequestContext } from './types'
import {
  DataPlace,
  DRAIN_HEADER,
  DrainHeader,
  LocalAnswer,
  OPENED_FIELDS,
  OpenedField,
  OpenHint,
  OPERATIONS,
  ReplyTag,
  REQUEST_ARGS_AT,
  REQUEST_FIELDS,
  RequestField,
  STAT_FIELDS,
  WIRE_FINGERPRINT,
  type OperationWire,
  type ReplyShape,
} from './wire.generated'

export { LocalAnswer }

// An addon older than the wire tables has no fingerprint to report.
const nativeFingerprint = typeof native.wireFingerprint === 'function' ? native.wireFingerprint() : 'none'
if (nativeFingerprint !== WIRE_FINGERPRINT) {
  throw new Error(
    `mountkit: the native addon encodes requests differently from this JavaScript (wire ${nativeFingerprint}, ` +
      `expected ${WIRE_FINGERPRINT}): they come from different builds. In a checkout run 'npm run build'; ` +
      `otherwise reinstall mountkit.`,
  )
}

/** Requests one drain can hand over; more simply take another drain. */
const DRAIN_CAPACITY = 256

/** uid/gid that a Stat without them reports: the mounting process's. */
const owner = {
  uid: typeof process.getuid === 'function' ? process.getuid() : 0,
  gid: typeof process.getgid === 'function' ? process.getgid() : 0,
}

const ERRNO_NUMBERS: Record<string, number> = native.errnoNumbers()
const EIO = ERRNO_NUMBERS.EIO

/** One drained request: its operation, and its handler's arguments, request context last. */
export class Request {
  constructor(
    readonly id: number,
    readonly operation: OperationWire,
    readonly path: string,
    readonly args: unknown[],
    /**
     * The request makes the name `path` and is answered with its stat: after the handler
     * succeeds, `getattr(path)` runs in the same turn (`RequestField.thenStat`).
     */
    readonly thenStat: boolean,
  ) {}
}

/**
 * For each operation (by code), how the addon answers it when `fs` has no handler for it,
 * without crossing to JavaScript. Answering natively saves a crossing, and keeps requests that
 * JavaScript cannot serve at that moment (a FLUSH sent while this thread is inside
 * child_process.spawn) from waiting on it.
 */
export function localAnswers(fs: FileSystem): number[] {
  return OPERATIONS.map((op) => (typeof fs[op.handler] === 'function' ? LocalAnswer.forward : op.whenMissing))
}

/** The per-batch calls the addon binds to one mount (`NativeMount.crossing()`). */
export type Crossing = ReturnType<NativeMount['crossing']>

/** Reads what `drain` hands over: the requests of one mount, batch after batch. */
export class DrainReader {
  /** The array every drain fills: a header, then `REQUEST_FIELDS` numbers per request. */
  readonly slots = new Float64Array(DRAIN_HEADER + DRAIN_CAPACITY * REQUEST_FIELDS)
  /** The write-pool slots seen so far, by slot number (`NativeMount.writeSlot`). */
  private readonly writeSlots: ArrayBuffer[] = []

  constructor(private readonly native: NativeMount) {}

  /** Whether the last drain says faults wait for `takeEvents()`. */
  get hasFaults(): boolean {
    return this.slots[DrainHeader.faults] !== 0
  }

  /** Decodes the requests of the last drain, whose strings are `strings`, into `deliver`; returns how many there were. */
  read(strings: string, deliver: (request: Request) => void): number {
    const s = this.slots
    const count = s[DrainHeader.count]
    if (count === 0) return 0
    const payloads = s[DrainHeader.payloads] > 0 ? this.native.takePayloads() : undefined
    const parts = strings.split('\0')
    let part = 0
    let payload = 0
    for (let i = 0, at = DRAIN_HEADER; i < count; i++, at += REQUEST_FIELDS) {
      const path = parts[part++]
      const other = s[at + RequestField.strings] === 2 ? parts[part++] : undefined
      const place = s[at + RequestField.dataPlace]
      const data =
        place === DataPlace.payload
          ? payloads![payload++]
          : place === DataPlace.slot
            ? this.slotView(s[at + RequestField.slot], s[at + RequestField.slotLength])
            : undefined
      const ctx: RequestContext = { uid: s[at + RequestField.uid], gid: s[at + RequestField.gid], pid: s[at + RequestField.pid] }
      const operation = OPERATIONS[s[at + RequestField.operation]]
      const args = operation.args(path, other, data, ctx, s, at + REQUEST_ARGS_AT)
      deliver(new Request(s[at + RequestField.id], operation, path, args, s[at + RequestField.thenStat] === 1))
    }
    return count
  }

  /**
   * Drops the write-pool slots seen, once the mount has closed: the addon has let go of them
   * too, so each slot's memory goes when its `ArrayBuffer` is collected. (A handler still
   * holding `data` keeps that `ArrayBuffer`, and so its bytes, alive.)
   */
  release(): void {
    this.writeSlots.length = 0
  }

  /**
   * The first `length` bytes of write-pool slot `slot`. The slot stays the request's until
   * its reply crosses back, so the view is valid until its handler settles.
   */
  private slotView(slot: number, length: number): Buffer {
    const memory = (this.writeSlots[slot] ??= this.native.writeSlot(slot))
    return Buffer.from(memory, 0, length)
  }
}

/**
 * Replies that are numbers only (success, errors, stats, counts), collected and sent to the
 * addon in one call per batch: each is a record of request id, tag, and the tag's numbers.
 */
export class ReplyBatch {
  private records = new Float64Array(64 * (2 + OPENED_FIELDS + STAT_FIELDS))
  private length = 0
  private readonly requests: Request[] = []
  private readonly statScratch = new Float64Array(STAT_FIELDS)

  constructor(
    private readonly crossing: Crossing,
    /** Called when the batch stops being empty, so that someone flushes it. */
    private readonly started: () => void,
    /** Called for each reply that was not delivered: late (no message) or refused. */
    private readonly undelivered: (request: Request, message: string | undefined) => void,
  ) {}

  empty(request: Request): boolean {
    this.record(request, ReplyTag.empty, 0)
    return true
  }

  error(request: Request, code: string): boolean {
    this.records[this.record(request, ReplyTag.error, 1)] = ERRNO_NUMBERS[code] ?? EIO
    return true
  }

  stat(request: Request, value: unknown): boolean {
    // Checked into scratch first: a Stat that fails its checks leaves no half record.
    packStat(value, owner, this.statScratch)
    this.records.set(this.statScratch, this.record(request, ReplyTag.stat, STAT_FIELDS))
    return true
  }

  count(request: Request, count: number): boolean {
    this.records[this.record(request, ReplyTag.count, 1)] = count
    return true
  }

  offset(request: Request, offset: number): boolean {
    this.records[this.record(request, ReplyTag.offset, 1)] = offset
    return true
  }

  opened(request: Request, open: NativeOpened): boolean {
    const at = this.record(request, ReplyTag.opened, OPENED_FIELDS + STAT_FIELDS)
    this.records[at + OpenedField.handle] = open.handle
    this.records[at + OpenedField.hints] =
      (open.directIo ? OpenHint.directIo : 0) | (open.keepCache ? OpenHint.keepCache : 0) | (open.nonSeekable ? OpenHint.nonSeekable : 0)
    if (open.stat === undefined || open.stat === null) this.records[at + OPENED_FIELDS] = NaN
    else this.records.set(open.stat, at + OPENED_FIELDS)
    return true
  }

  /** Sends every collected reply in one call. */
  flush(): void {
    if (this.length === 0) return
    const length = this.length
    const requests = this.requests.splice(0)
    this.length = 0
    const problems = this.crossing.replyBatch(this.records, length)
    if (problems === null || problems === undefined) return
    for (const problem of problems) this.undelivered(requests[problem.index], problem.message ?? undefined)
  }

  /** Appends a record head and returns where its `width` numbers go. */
  private record(request: Request, tag: number, width: number): number {
    if (this.length + 2 + width > this.records.length) {
      const grown = new Float64Array(this.records.length * 2)
      grown.set(this.records.subarray(0, this.length))
      this.records = grown
    }
    if (this.length === 0) this.started()
    this.records[this.length] = request.id
    this.records[this.length + 1] = tag
    this.length += 2 + width
    this.requests.push(request)
    return this.length - width
  }
}

/** Where replies go: numbers-only replies into the batch, the rest straight to the addon. */
export interface ReplySink {
  readonly native: NativeMount
  readonly batch: ReplyBatch
  /** Whether readdir stats are used (the Windows backends, and FUSE with READDIRPLUS), or only kinds. */
  readonly entryStats: boolean
  /** Reports a problem that did not fail the request. */
  warn(request: Request, message: string): void
}

function sendOpened(out: ReplySink, r: Request, open: NativeOpened): boolean {
  // A backing file crosses as a path or descriptor; any other open is numbers only.
  if (open.backingPath !== undefined || open.backingFd !== undefined) return out.native.replyOpened(r.id, open)
  return out.batch.opened(r, open)
}

/**
 * Whether a result of `mkdir`, `mknod`, `symlink` or `link` is the new entry's `Stat` (an
 * object with a `kind`), which answers in place of a getattr. Any other result is ignored, as
 * it always was.
 */
export function isEntryStat(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'kind' in value
}

/** Whether a create's result already carries the new file's stat (`OpenResult.stat`). */
export function hasOwnStat(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { stat?: unknown }).stat !== undefined
}

/**
 * Sends a create's result with `stat`, what `getattr` answered right after it (see
 * `Request.thenStat`). A `stat` that is no valid Stat is left out: the backend then asks
 * `getattr` itself, and that request reports the problem as it always has.
 */
export function sendCreatedWithStat(out: ReplySink, r: Request, value: unknown, stat: unknown): boolean {
  const open = toNativeOpened(value, owner)
  const packed = new Float64Array(STAT_FIELDS)
  try {
    packStat(stat, owner, packed)
    open.stat = packed
  } catch (error) {
    if (!(error instanceof InvalidReply)) throw error
  }
  return sendOpened(out, r, open)
}

/** Checks a handler's result and sends it; false when the request was no longer pending. */
type Reply = (out: ReplySink, request: Request, value: unknown) => boolean

/** How a result of each reply shape is checked and sent. */
export const REPLIES: Record<ReplyShape, Reply> = {
  empty: (out, r) => out.batch.empty(r),
  stat: (out, r, v) => out.batch.stat(r, v),
  entries: (out, r, v) => {
    const { names, kinds, stats, dropped } = packEntries(v, owner, out.entryStats)
    const refused = out.native.replyEntries(r.id, names, kinds, stats)
    if (refused === null) return false
    dropped.push(...refused)
    if (dropped.length > 0) out.warn(r, `left out of the listing: ${dropped.join('; ')}`)
    return true
  },
  opened: (out, r, v) => sendOpened(out, r, toNativeOpened(v, owner)),
  data: (out, r, v) => out.native.replyData(r.id, toBytes(v, r.operation.handler)),
  count: (out, r, v) => out.batch.count(r, toCount(v, r.operation.handler)),
  offset: (out, r, v) => out.batch.offset(r, toCount(v, r.operation.handler)),
  target: (out, r, v) => {
    if (typeof v !== 'string') throw new InvalidReply(`${r.operation.handler} must return a string, got ${typeof v}`)
    return out.native.replyTarget(r.id, v)
  },
  statfs: (out, r, v) => out.native.replyStatfs(r.id, toNativeStatFs(v)),
  names: (out, r, v) => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw new InvalidReply(`${r.operation.handler} must return an array of strings`)
    }
    return out.native.replyNames(r.id, v)
  },
}
