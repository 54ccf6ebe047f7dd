// Serves the requests the native side hands over: decodes each drain, calls the user's
// handlers, turns their results into native replies (numbers-only ones collected into one
// call per batch), and makes sure every request is answered exactly once.
import type { FileSystem, RequestContext } from '../index'
import type { NativeMount, NativeOpened } from '../native'
import { errnoOf, HandlerError } from './errors'
import { InvalidReply, toBytes, toCount, packEntries, packStat, STAT_FIELDS, toNativeOpened, toNativeStatFs } from './convert'
import { native } from './native'

/** The per-batch calls the addon binds to one mount (`NativeMount.crossing()`). */
type Crossing = ReturnType<NativeMount['crossing']>

/** How one kind of result is checked and sent; false when the request was no longer pending. */
type Reply = (out: ReplySink, request: Request, value: unknown) => boolean

/** Where replies go: numbers-only replies into the batch, the rest straight to the addon. */
interface ReplySink {
  readonly native: NativeMount
  readonly batch: ReplyBatch
  /** Whether readdir stats are used (the Windows backends), or only kinds (FUSE). */
  readonly entryStats: boolean
  /** Reports a problem that did not fail the request. */
  warn(request: Request, message: string): void
}

export interface OperationSpec {
  /** The handler to call. */
  handler: keyof FileSystem
  /** The handler's arguments, request context last. */
  args: (r: Request) => unknown[]
  reply: Reply
  /** What a missing handler means, when it is not ENOSYS. */
  whenMissing?: 'ok' | 'opened'
}

const empty: Reply = (out, r) => out.batch.empty(r)
const opened: Reply = (out, r, v) => {
  const open = toNativeOpened(v, owner)
  // A backing file crosses as a path or descriptor; any other open is numbers only.
  if (open.backingPath !== undefined || open.backingFd !== undefined) return out.native.replyOpened(r.id, open)
  return out.batch.opened(r, open)
}
/** An optional number: NaN means absent. */
const optional = (n: number) => (Number.isNaN(n) ? undefined : n)
const date = (ms: number) => (Number.isNaN(ms) ? undefined : new Date(ms))

// Each operation's numbers n0..n4 are in the order `request_numbers` in
// crates/node/src/convert.rs writes them.
/** Each native operation, in the order the addon numbers them (`operationNames()`). */
export const OPERATIONS: Record<string, OperationSpec> = {
  getattr: { handler: 'getattr', args: (r) => [r.path, optional(r.n0), r.ctx], reply: (out, r, v) => out.batch.stat(r, v) },
  readdir: {
    handler: 'readdir',
    args: (r) => [r.path, r.n0, r.ctx],
    reply: (out, r, v) => {
      const { names, kinds, stats, dropped } = packEntries(v, owner, out.entryStats)
      const refused = out.native.replyEntries(r.id, names, kinds, stats)
      if (refused === null) return false
      dropped.push(...refused)
      if (dropped.length > 0) out.warn(r, `left out of the listing: ${dropped.join('; ')}`)
      return true
    },
  },
  open: { handler: 'open', args: (r) => [r.path, r.n0, r.ctx], reply: opened, whenMissing: 'opened' },
  opendir: { handler: 'opendir', args: (r) => [r.path, r.n0, r.ctx], reply: opened, whenMissing: 'opened' },
  release: { handler: 'release', args: (r) => [r.path, r.n0, r.n1, r.ctx], reply: empty, whenMissing: 'ok' },
  releasedir: { handler: 'releasedir', args: (r) => [r.path, r.n0, r.ctx], reply: empty, whenMissing: 'ok' },
  read: {
    handler: 'read',
    args: (r) => [r.path, r.n0, r.n1, r.n2, r.ctx],
    reply: (out, r, v) => out.native.replyData(r.id, toBytes(v, 'read')),
  },
  write: {
    handler: 'write',
    args: (r) => [r.path, r.n0, r.data, r.n1, r.ctx],
    reply: (out, r, v) => out.batch.count(r, toCount(v, 'write')),
  },
  create: { handler: 'create', args: (r) => [r.path, r.n0, r.n1, r.ctx], reply: opened },
  mknod: { handler: 'mknod', args: (r) => [r.path, r.n0, r.n1, r.ctx], reply: empty },
  mkdir: { handler: 'mkdir', args: (r) => [r.path, r.n0, r.ctx], reply: empty },
  unlink: { handler: 'unlink', args: (r) => [r.path, r.ctx], reply: empty },
  rmdir: { handler: 'rmdir', args: (r) => [r.path, r.ctx], reply: empty },
  symlink: { handler: 'symlink', args: (r) => [r.other, r.path, r.ctx], reply: empty },
  readlink: {
    handler: 'readlink',
    args: (r) => [r.path, r.ctx],
    reply: (out, r, v) => {
      if (typeof v !== 'string') throw new InvalidReply(`readlink must return a string, got ${typeof v}`)
      return out.native.replyTarget(r.id, v)
    },
  },
  link: { handler: 'link', args: (r) => [r.other, r.path, r.ctx], reply: empty },
  rename: { handler: 'rename', args: (r) => [r.path, r.other, r.n0, r.ctx], reply: empty },
  truncate: { handler: 'truncate', args: (r) => [r.path, r.n1, optional(r.n0), r.ctx], reply: empty },
  chmod: { handler: 'chmod', args: (r) => [r.path, r.n0, r.ctx], reply: empty },
  chown: { handler: 'chown', args: (r) => [r.path, optional(r.n0) ?? -1, optional(r.n1) ?? -1, r.ctx], reply: empty },
  utimens: { handler: 'utimens', args: (r) => [r.path, date(r.n0), date(r.n1), r.ctx], reply: empty },
  statfs: {
    handler: 'statfs',
    args: (r) => [r.path, r.ctx],
    reply: (out, r, v) => out.native.replyStatfs(r.id, toNativeStatFs(v)),
  },
  flush: { handler: 'flush', args: (r) => [r.path, r.n0, r.ctx], reply: empty, whenMissing: 'ok' },
  fsync: { handler: 'fsync', args: (r) => [r.path, r.n0, r.n1 === 1, r.ctx], reply: empty, whenMissing: 'ok' },
  fsyncdir: { handler: 'fsyncdir', args: (r) => [r.path, r.n0, r.n1 === 1, r.ctx], reply: empty, whenMissing: 'ok' },
  access: { handler: 'access', args: (r) => [r.path, r.n0, r.ctx], reply: empty },
  getxattr: {
    handler: 'getxattr',
    args: (r) => [r.path, r.other, r.ctx],
    reply: (out, r, v) => out.native.replyData(r.id, toBytes(v, 'getxattr')),
  },
  setxattr: { handler: 'setxattr', args: (r) => [r.path, r.other, r.data, r.n0, r.ctx], reply: empty },
  listxattr: {
    handler: 'listxattr',
    args: (r) => [r.path, r.ctx],
    reply: (out, r, v) => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
        throw new InvalidReply('listxattr must return an array of strings')
      }
      return out.native.replyNames(r.id, v)
    },
  },
  removexattr: { handler: 'removexattr', args: (r) => [r.path, r.other, r.ctx], reply: empty },
  fallocate: { handler: 'fallocate', args: (r) => [r.path, r.n0, r.n1, r.n2, r.n3, r.ctx], reply: empty },
  lseek: {
    handler: 'lseek',
    args: (r) => [r.path, r.n0, r.n1, r.n2, r.ctx],
    reply: (out, r, v) => out.batch.offset(r, toCount(v, 'lseek')),
  },
  copy_file_range: {
    handler: 'copyFileRange',
    args: (r) => [r.path, r.n0, r.n1, r.other, r.n2, r.n3, r.n4, r.ctx],
    reply: (out, r, v) => out.batch.count(r, toCount(v, 'copyFileRange')),
  },
}

/**
 * For each operation (in native order), how the native side answers it when the filesystem has
 * no handler for it, without crossing to JavaScript: 0 forwards it, 1 answers ENOSYS, 2
 * answers success, 3 answers "opened" with handle 0. Answering natively saves a crossing, and
 * keeps requests that JavaScript cannot serve at that moment (a FLUSH sent while this thread is
 * inside child_process.spawn) from waiting on it.
 */
export function nativeAnswers(fs: FileSystem, specs: OperationSpec[]): number[] {
  return specs.map((spec) => {
    if (typeof fs[spec.handler] === 'function') return 0
    if (spec.whenMissing === 'ok') return 2
    if (spec.whenMissing === 'opened') return 3
    return 1
  })
}

/** uid/gid that a Stat without them reports: the mounting process's. */
const owner = {
  uid: typeof process.getuid === 'function' ? process.getuid() : 0,
  gid: typeof process.getgid === 'function' ? process.getgid() : 0,
}

const LAYOUT = native.layout()
if (LAYOUT.statFields !== STAT_FIELDS) {
  throw new Error(`mountkit: the native addon packs stats in ${LAYOUT.statFields} numbers, this JavaScript in ${STAT_FIELDS}; reinstall mountkit`)
}
const ERRNO_NUMBERS: Record<string, number> = native.errnoNumbers()
const EIO = ERRNO_NUMBERS.EIO
// Where a drained request's bulk bytes are (`DataPlace` in crates/node/src/convert.rs).
const DATA_PAYLOAD = 1
const DATA_SLOT = 2
/** Requests one drain can hand over; more simply take another drain. */
const DRAIN_CAPACITY = 256
/** Drains one wake-up may take before the event loop gets a turn (timers, I/O callbacks). */
const MAX_ROUNDS = 64
/**
 * Microtask turns a wake-up waits after starting a batch, for handlers that answer without
 * I/O to settle: an async handler that returns a value takes one turn; one that awaits
 * another async function, two; one that awaits twice, or returns another's promise, three.
 */
const SETTLE_TURNS = 3

/**
 * One request, decoded from a drain. `n0`..`n4` are the operation's numbers (see
 * `OPERATIONS`); `other` is its second path or name, `data` its payload.
 */
export class Request {
  constructor(
    readonly id: number,
    readonly op: number,
    readonly path: string,
    readonly other: string | undefined,
    readonly data: Buffer | undefined,
    readonly n0: number,
    readonly n1: number,
    readonly n2: number,
    readonly n3: number,
    readonly n4: number,
    readonly ctx: RequestContext,
  ) {}
}

// Reply tags of a numbers-only reply record (`ReplyTag` in crates/node/src/convert.rs).
const TAG_EMPTY = 0
const TAG_ERROR = 1
const TAG_STAT = 2
const TAG_COUNT = 3
const TAG_OFFSET = 4
const TAG_OPENED = 5

/**
 * Replies that are numbers only (success, errors, stats, counts), collected and sent to the
 * addon in one call per batch: each is a record of request id, tag, and the tag's numbers.
 */
export class ReplyBatch {
  private records = new Float64Array(64 * (2 + LAYOUT.statFields))
  private length = 0
  private readonly requests: Request[] = []
  private readonly statScratch = new Float64Array(LAYOUT.statFields)

  constructor(
    private readonly crossing: Crossing,
    /** Called when the batch stops being empty, so that someone flushes it. */
    private readonly started: () => void,
    /** Called for each reply that was not delivered: late (no message) or refused. */
    private readonly undelivered: (request: Request, message: string | undefined) => void,
  ) {}

  empty(request: Request): boolean {
    this.record(request, TAG_EMPTY, 0)
    return true
  }

  error(request: Request, code: string): boolean {
    this.records[this.record(request, TAG_ERROR, 1)] = ERRNO_NUMBERS[code] ?? EIO
    return true
  }

  stat(request: Request, value: unknown): boolean {
    // Checked into scratch first: a Stat that fails its checks leaves no half record.
    packStat(value, owner, this.statScratch)
    this.records.set(this.statScratch, this.record(request, TAG_STAT, this.statScratch.length))
    return true
  }

  count(request: Request, count: number): boolean {
    this.records[this.record(request, TAG_COUNT, 1)] = count
    return true
  }

  offset(request: Request, offset: number): boolean {
    this.records[this.record(request, TAG_OFFSET, 1)] = offset
    return true
  }

  opened(request: Request, open: NativeOpened): boolean {
    const at = this.record(request, TAG_OPENED, 2 + LAYOUT.statFields)
    this.records[at] = open.handle
    this.records[at + 1] = (open.directIo ? 1 : 0) | (open.keepCache ? 2 : 0) | (open.nonSeekable ? 4 : 0)
    if (open.stat === undefined || open.stat === null) this.records[at + 2] = NaN
    else this.records.set(open.stat, at + 2)
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

/**
 * What the dispatcher tells its mount. These run user code (`error` listeners, a `debug`
 * function), so the dispatcher calls them through `guarded`: one that throws cannot cut short
 * the bookkeeping of the request being served.
 */
export interface DispatchHooks {
  /** Reports a handler fault; the request has been answered already. */
  fault(error: HandlerError): void
  /** A debug line, when debug logging is on. */
  log?: (line: string) => void
}

/**
 * `hook`, with what it throws rethrown from a microtask of its own, where it is an uncaught
 * exception as a throwing listener's is anywhere else.
 */
function guarded<T>(hook: (value: T) => void): (value: T) => void {
  return (value) => {
    try {
      hook(value)
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown
      })
    }
  }
}

/**
 * Serves requests against one filesystem, at most `maxConcurrency` handlers at a time; the
 * rest wait in arrival order.
 */
export class Dispatcher implements ReplySink {
  readonly batch: ReplyBatch
  private readonly crossing: Crossing
  private readonly slots = new Float64Array(LAYOUT.drainHeader + DRAIN_CAPACITY * LAYOUT.requestFields)
  private readonly backlog: Request[] = []
  /** The write-pool slots seen so far, by slot number (`NativeMount.writeSlot`). */
  private readonly writeSlots: ArrayBuffer[] = []
  private readonly fault: (error: HandlerError) => void
  private readonly log: ((line: string) => void) | undefined
  private running = 0
  /** True while a wake-up is being served: replies made meanwhile are flushed at its end. */
  private serving = false
  private flushQueued = false
  private readonly flushTask = () => {
    this.flushQueued = false
    this.batch.flush()
  }

  constructor(
    readonly native: NativeMount,
    private readonly fs: FileSystem,
    private readonly specs: OperationSpec[],
    private readonly maxConcurrency: number,
    readonly entryStats: boolean,
    /** How long a drain after the first of a wake-up may wait for the next request, in µs. */
    private readonly spinMicros: number,
    hooks: DispatchHooks,
  ) {
    this.fault = guarded(hooks.fault)
    this.log = hooks.log && guarded(hooks.log)
    this.crossing = native.crossing()
    this.batch = new ReplyBatch(
      this.crossing,
      () => {
        // Replies of handlers that settle later (in promise callbacks) go out together at
        // the end of the current microtask run.
        if (!this.serving && !this.flushQueued) {
          this.flushQueued = true
          queueMicrotask(this.flushTask)
        }
      },
      (request, message) => {
        if (message === undefined) this.late(request)
        else this.report(request, 'EIO', `invalid result: ${message}`)
      },
    )
  }

  /**
   * Serves one wake-up: drains, starts the handlers, lets those that have their answer at once
   * settle, sends the replies in one call, and drains again, until a drain comes back empty
   * (which lets backend threads wake this thread again) or `MAX_ROUNDS` have passed (then the
   * event loop gets its turn first). Replies go out before the next drain, so callers never
   * wait for a later batch.
   */
  wake(): void {
    this.serving = true
    this.serveFrom(1)
  }

  /** Sends collected replies now (before unmounting, for instance). */
  flush(): void {
    this.batch.flush()
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
   * The rounds of a wake-up from `round` on. They run synchronously while every handler
   * answers at once. A handler still running after its batch started may be an async one
   * that had its answer at once, which settles only in a microtask: the wake-up then goes on
   * in `settleThenServe`, so that its reply leaves with this batch and the next drain may
   * spin for the following request instead of waiting for a wake-up.
   */
  private serveFrom(round: number): void {
    let ended = true
    try {
      for (; this.drainOnce(round > 1 ? this.spinMicros : 0) > 0; round++) {
        if (this.running > 0) {
          ended = false
          queueMicrotask(() => this.settleThenServe(round, SETTLE_TURNS))
          return
        }
        if (this.endOfRound(round)) return
      }
    } finally {
      if (ended) this.endWake()
    }
  }

  /** Gives running handlers up to `turns` microtask turns to settle, then ends `round`. */
  private settleThenServe(round: number, turns: number): void {
    if (this.running > 0 && turns > 1) {
      queueMicrotask(() => this.settleThenServe(round, turns - 1))
      return
    }
    let ended = true
    try {
      if (this.endOfRound(round)) return
      ended = false
      this.serveFrom(round + 1)
    } finally {
      if (ended) this.endWake()
    }
  }

  /** Sends the round's replies; true when the wake-up has had its `MAX_ROUNDS`. */
  private endOfRound(round: number): boolean {
    this.batch.flush()
    if (round < MAX_ROUNDS) return false
    this.native.rewake()
    return true
  }

  private endWake(): void {
    this.serving = false
    this.batch.flush()
  }

  warn(request: Request, message: string): void {
    this.report(request, undefined, message)
  }

  /** Takes one drain's worth of requests and starts them; returns how many there were. */
  private drainOnce(spinMicros: number): number {
    const s = this.slots
    // Spinning pays only while every handler has answered: one still running may be
    // waiting on I/O that this thread must get back to the event loop for.
    const strings = this.crossing.drain(s, this.running === 0 ? spinMicros : 0)
    const count = s[0]
    if (s[3] !== 0) {
      for (const e of this.native.takeEvents()) this.fault(new HandlerError(e.operation, e.path, e.errno, e.message))
    }
    if (count === 0) return 0
    const payloads = s[2] > 0 ? this.native.takePayloads() : undefined
    const parts = strings.split('\0')
    let part = 0
    let payload = 0
    for (let i = 0, at = LAYOUT.drainHeader; i < count; i++, at += LAYOUT.requestFields) {
      const path = parts[part++]
      const other = s[at + 2] === 2 ? parts[part++] : undefined
      const place = s[at + 3]
      const data = place === DATA_PAYLOAD ? payloads![payload++] : place === DATA_SLOT ? this.slotView(s[at + 7], s[at + 8]) : undefined
      const ctx: RequestContext = { uid: s[at + 4], gid: s[at + 5], pid: s[at + 6] }
      const request = new Request(s[at], s[at + 1], path, other, data, s[at + 9], s[at + 10], s[at + 11], s[at + 12], s[at + 13], ctx)
      if (this.running < this.maxConcurrency) this.start(request)
      else this.backlog.push(request)
    }
    return count
  }

  /**
   * The first `length` bytes of write-pool slot `slot`. The slot stays the request's until
   * its reply crosses back, so the view is valid until its handler settles.
   */
  private slotView(slot: number, length: number): Buffer {
    const memory = (this.writeSlots[slot] ??= this.native.writeSlot(slot))
    return Buffer.from(memory, 0, length)
  }

  private start(request: Request): void {
    this.running++
    const spec = this.specs[request.op]
    const method = this.fs[spec.handler] as ((...args: unknown[]) => unknown) | undefined
    this.log?.(`-> #${request.id} ${spec.handler} ${request.path}`)
    if (method === undefined) {
      if (spec.whenMissing === 'ok') this.finish(request, spec, undefined)
      else if (spec.whenMissing === 'opened') this.finish(request, spec, 0)
      else this.fail(request, 'ENOSYS')
      return
    }
    let result: unknown
    try {
      result = method.apply(this.fs, spec.args(request))
    } catch (thrown) {
      this.rejected(request, thrown)
      return
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.finish(request, spec, value),
        (thrown) => this.rejected(request, thrown),
      )
    } else {
      this.finish(request, spec, result)
    }
  }

  private finish(request: Request, spec: OperationSpec, value: unknown): void {
    let answered: boolean
    try {
      answered = spec.reply(this, request, value)
      this.log?.(`<- #${request.id} ok`)
    } catch (error) {
      // A result that fails the checks here is answered EIO here; one the addon refuses, the
      // addon has answered EIO already.
      answered = error instanceof InvalidReply ? this.answerError(request, 'EIO') : true
      const message = error instanceof Error ? error.message : String(error)
      this.report(request, 'EIO', `invalid result: ${message}`, error)
    }
    if (!answered) this.late(request)
    this.next()
  }

  private rejected(request: Request, thrown: unknown): void {
    const code = errnoOf(thrown)
    if (code !== undefined) {
      this.fail(request, code)
      return
    }
    this.answerError(request, 'EIO')
    const message = thrown instanceof Error ? thrown.message : String(thrown)
    this.report(request, 'EIO', `handler threw: ${message}`, thrown)
    this.next()
  }

  private fail(request: Request, code: string): void {
    this.answerError(request, code)
    this.next()
  }

  private answerError(request: Request, code: string): boolean {
    this.log?.(`<- #${request.id} ${code}`)
    return this.batch.error(request, code)
  }

  private late(request: Request): void {
    this.report(request, 'ETIMEDOUT', 'handler settled after its request had already timed out')
  }

  private report(request: Request, errno: string | undefined, message: string, cause?: unknown): void {
    this.fault(new HandlerError(this.specs[request.op].handler, request.path, errno, message, cause))
  }

  private next(): void {
    this.running--
    const queued = this.backlog.shift()
    if (queued !== undefined) this.start(queued)
  }
}
