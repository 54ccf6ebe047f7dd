// Schedules the requests of one mount: drains them (lib/wire.ts decodes each batch), starts
// the user's handlers up to a concurrency limit, hands their results to lib/wire.ts to be
// packed into replies, and makes sure every request is answered exactly once.
import type { NativeMount } from '../native'
import { errnoOf, FsError, HandlerError } from './errors'
import { InvalidReply } from './convert'
import type { FileSystem, RequestContext } from './types'
import {
  DrainReader,
  hasOwnStat,
  isEntryStat,
  LocalAnswer,
  REPLIES,
  ReplyBatch,
  sendCreatedWithStat,
  type Crossing,
  type ReplySink,
  type Request,
} from './wire'

/** Drains one wake-up may take before the event loop gets a turn (timers, I/O callbacks). */
const MAX_ROUNDS = 64
/**
 * Microtask turns a wake-up waits after starting a batch, for handlers that answer without
 * I/O to settle: an async handler that returns a value takes one turn; one that awaits
 * another async function, two; one that awaits twice, or returns another's promise, three.
 */
const SETTLE_TURNS = 3

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
  private readonly drained: DrainReader
  private readonly backlog: Request[] = []
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
  private readonly deliver = (request: Request) => {
    if (this.running < this.maxConcurrency) this.start(request)
    else this.backlog.push(request)
  }

  constructor(
    readonly native: NativeMount,
    private readonly fs: FileSystem,
    private readonly maxConcurrency: number,
    readonly entryStats: boolean,
    /** How long a drain after the first of a wake-up may wait for the next request, in µs. */
    private readonly spinMicros: number,
    hooks: DispatchHooks,
  ) {
    this.fault = guarded(hooks.fault)
    this.log = hooks.log && guarded(hooks.log)
    this.crossing = native.crossing()
    this.drained = new DrainReader(native)
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
    this.drained.release()
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
    // Spinning pays only while every handler has answered: one still running may be
    // waiting on I/O that this thread must get back to the event loop for.
    const strings = this.crossing.drain(this.drained.slots, this.running === 0 ? spinMicros : 0)
    if (this.drained.hasFaults) {
      for (const e of this.native.takeEvents()) this.fault(new HandlerError(e.operation, e.path, e.errno, e.message))
    }
    return this.drained.read(strings, this.deliver)
  }

  private start(request: Request): void {
    this.running++
    const operation = request.operation
    const method = this.fs[operation.handler] as ((...args: unknown[]) => unknown) | undefined
    this.log?.(`-> #${request.id} ${operation.handler} ${request.path}`)
    if (method === undefined) {
      if (operation.whenMissing === LocalAnswer.success) this.finish(request, undefined)
      else if (operation.whenMissing === LocalAnswer.opened) this.finish(request, 0)
      else this.fail(request, 'ENOSYS')
      return
    }
    let result: unknown
    try {
      result = method.apply(this.fs, request.args)
    } catch (thrown) {
      this.rejected(request, thrown)
      return
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.finish(request, value),
        (thrown) => this.rejected(request, thrown),
      )
    } else {
      this.finish(request, result)
    }
  }

  private finish(request: Request, value: unknown): void {
    if (request.thenStat) {
      if (request.operation.reply === 'empty' && isEntryStat(value)) {
        // The handler gave the new entry's stat: it is the answer, and no getattr is needed.
        this.answer(request, request.operation.handler, () => this.batch.stat(request, value))
        return
      }
      if (!hasOwnStat(value)) {
        this.statAfter(request, value)
        return
      }
    }
    this.answer(request, request.operation.handler, () => REPLIES[request.operation.reply](this, request, value))
  }

  /**
   * Sends an answer that `send` checks and packs; `handler` is whose result it is, for the
   * report when the result is invalid.
   */
  private answer(request: Request, handler: keyof FileSystem, send: () => boolean): void {
    let answered: boolean
    try {
      answered = send()
      this.log?.(`<- #${request.id} ok`)
    } catch (error) {
      // A result that fails the checks here is answered EIO here; one the addon refuses, the
      // addon has answered EIO already.
      answered = error instanceof InvalidReply ? this.answerError(request, 'EIO') : true
      const message = error instanceof Error ? error.message : String(error)
      this.report(request, 'EIO', `invalid result: ${message}`, error, handler)
    }
    if (!answered) this.late(request)
    this.next()
  }

  /**
   * The second half of a request that made the name `request.path` (`Request.thenStat`):
   * `getattr` of it, in the same turn, so the backend gets the new entry's stat without
   * another crossing. Its answer, or its failure, is the request's answer, reported as
   * `getattr`'s, exactly as a separate getattr request would be. A `create`'s answer is its
   * open file: the stat joins it, and a failing `getattr` leaves it out, so the backend asks
   * `getattr` itself and that request reports the failure.
   */
  private statAfter(request: Request, value: unknown): void {
    const created = request.operation.reply === 'opened'
    const answerWith = (stat: unknown) =>
      this.answer(request, created ? request.operation.handler : 'getattr', () =>
        created ? sendCreatedWithStat(this, request, value, stat) : this.batch.stat(request, stat))
    const failWith = (thrown: unknown) => {
      if (created) answerWith(undefined)
      else this.rejected(request, thrown, 'getattr')
    }
    const getattr = this.fs.getattr
    this.log?.(`-> #${request.id} getattr ${request.path}`)
    if (getattr === undefined) {
      failWith(new FsError('ENOSYS'))
      return
    }
    let stat: unknown
    try {
      stat = getattr.call(this.fs, request.path, undefined, request.args[request.args.length - 1] as RequestContext)
    } catch (thrown) {
      failWith(thrown)
      return
    }
    if (stat instanceof Promise) stat.then(answerWith, failWith)
    else answerWith(stat)
  }

  private rejected(request: Request, thrown: unknown, handler = request.operation.handler): void {
    const code = errnoOf(thrown)
    if (code !== undefined) {
      this.fail(request, code)
      return
    }
    this.answerError(request, 'EIO')
    const message = thrown instanceof Error ? thrown.message : String(thrown)
    this.report(request, 'EIO', `handler threw: ${message}`, thrown, handler)
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

  private report(
    request: Request,
    errno: string | undefined,
    message: string,
    cause?: unknown,
    handler = request.operation.handler,
  ): void {
    this.fault(new HandlerError(handler, request.path, errno, message, cause))
  }

  private next(): void {
    this.running--
    const queued = this.backlog.shift()
    if (queued !== undefined) this.start(queued)
  }
}
