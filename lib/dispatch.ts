// Runs one batch of requests from the native side: calls the user's handlers, turns their
// results into native replies, and makes sure every request is answered exactly once.
import type { FileSystem, RequestContext } from '../index'
import type { NativeMount, NativeRequest } from '../native'
import { errnoOf, HandlerError } from './errors'
import {
  InvalidReply,
  toBytes,
  toCount,
  packEntries,
  packStat,
  STAT_FIELDS,
  toNativeOpened,
  toNativeStatFs,
} from './convert'

/** Sends a checked result; `warn` reports a problem that did not fail the request. */
type Reply = (native: NativeMount, id: number, value: unknown, warn: (message: string) => void) => boolean

export interface OperationSpec {
  /** The handler to call. */
  handler: keyof FileSystem
  /** Handler arguments, without the trailing request context. */
  args: (r: NativeRequest) => unknown[]
  reply: Reply
  /** What a missing handler means, when it is not ENOSYS. */
  whenMissing?: 'ok' | 'opened'
}

const empty: Reply = (n, id) => n.replyEmpty(id)
const opened: Reply = (n, id, v) => n.replyOpened(id, toNativeOpened(v))
const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms))

/** Each native operation, in the order the addon numbers them (`operationNames()`). */
export const OPERATIONS: Record<string, OperationSpec> = {
  getattr: {
    handler: 'getattr',
    args: (r) => [r.path, r.handle],
    reply: (n, id, v) => {
      packStat(v, owner, statScratch)
      return n.replyStat(id, statScratch)
    },
  },
  readdir: {
    handler: 'readdir',
    args: (r) => [r.path, r.handle],
    reply: (n, id, v, warn) => {
      const { names, kinds, stats, dropped } = packEntries(v, owner)
      if (dropped.length > 0) warn(`left out of the listing: ${dropped.join('; ')}`)
      return n.replyEntries(id, names, kinds, stats)
    },
  },
  open: { handler: 'open', args: (r) => [r.path, r.flags], reply: opened, whenMissing: 'opened' },
  opendir: { handler: 'opendir', args: (r) => [r.path, r.flags], reply: opened, whenMissing: 'opened' },
  release: { handler: 'release', args: (r) => [r.path, r.handle, r.flags], reply: empty, whenMissing: 'ok' },
  releasedir: { handler: 'releasedir', args: (r) => [r.path, r.handle], reply: empty, whenMissing: 'ok' },
  read: {
    handler: 'read',
    args: (r) => [r.path, r.handle, r.offset, r.size],
    reply: (n, id, v) => n.replyData(id, toBytes(v, 'read')),
  },
  write: {
    handler: 'write',
    args: (r) => [r.path, r.handle, r.data, r.offset],
    reply: (n, id, v) => n.replyCount(id, toCount(v, 'write')),
  },
  create: { handler: 'create', args: (r) => [r.path, r.mode, r.flags], reply: opened },
  mknod: { handler: 'mknod', args: (r) => [r.path, r.mode, r.rdev], reply: empty },
  mkdir: { handler: 'mkdir', args: (r) => [r.path, r.mode], reply: empty },
  unlink: { handler: 'unlink', args: (r) => [r.path], reply: empty },
  rmdir: { handler: 'rmdir', args: (r) => [r.path], reply: empty },
  symlink: { handler: 'symlink', args: (r) => [r.other, r.path], reply: empty },
  readlink: {
    handler: 'readlink',
    args: (r) => [r.path],
    reply: (n, id, v) => {
      if (typeof v !== 'string') throw new InvalidReply(`readlink must return a string, got ${typeof v}`)
      return n.replyTarget(id, v)
    },
  },
  link: { handler: 'link', args: (r) => [r.other, r.path], reply: empty },
  rename: { handler: 'rename', args: (r) => [r.path, r.other, r.flags], reply: empty },
  truncate: { handler: 'truncate', args: (r) => [r.path, r.size, r.handle], reply: empty },
  chmod: { handler: 'chmod', args: (r) => [r.path, r.mode], reply: empty },
  chown: { handler: 'chown', args: (r) => [r.path, r.uid ?? -1, r.gid ?? -1], reply: empty },
  utimens: { handler: 'utimens', args: (r) => [r.path, date(r.atime), date(r.mtime)], reply: empty },
  statfs: {
    handler: 'statfs',
    args: (r) => [r.path],
    reply: (n, id, v) => n.replyStatfs(id, toNativeStatFs(v)),
  },
  flush: { handler: 'flush', args: (r) => [r.path, r.handle], reply: empty, whenMissing: 'ok' },
  fsync: { handler: 'fsync', args: (r) => [r.path, r.handle, r.datasync], reply: empty, whenMissing: 'ok' },
  fsyncdir: { handler: 'fsyncdir', args: (r) => [r.path, r.handle, r.datasync], reply: empty, whenMissing: 'ok' },
  access: { handler: 'access', args: (r) => [r.path, r.mode], reply: empty },
  getxattr: {
    handler: 'getxattr',
    args: (r) => [r.path, r.other],
    reply: (n, id, v) => n.replyData(id, toBytes(v, 'getxattr')),
  },
  setxattr: { handler: 'setxattr', args: (r) => [r.path, r.other, r.data, r.flags], reply: empty },
  listxattr: {
    handler: 'listxattr',
    args: (r) => [r.path],
    reply: (n, id, v) => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
        throw new InvalidReply('listxattr must return an array of strings')
      }
      return n.replyNames(id, v)
    },
  },
  removexattr: { handler: 'removexattr', args: (r) => [r.path, r.other], reply: empty },
  fallocate: { handler: 'fallocate', args: (r) => [r.path, r.handle, r.offset, r.length, r.mode], reply: empty },
  lseek: {
    handler: 'lseek',
    args: (r) => [r.path, r.handle, r.offset, r.whence],
    reply: (n, id, v) => n.replyOffset(id, toCount(v, 'lseek')),
  },
  copy_file_range: {
    handler: 'copyFileRange',
    args: (r) => [r.path, r.handle, r.offset, r.other, r.toHandle, r.toOffset, r.length],
    reply: (n, id, v) => n.replyCount(id, toCount(v, 'copyFileRange')),
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

/** Reused for every getattr reply: the addon reads it before the call returns. */
const statScratch = new Float64Array(STAT_FIELDS)

/** uid/gid that a Stat without them reports: the mounting process's. */
const owner = {
  uid: typeof process.getuid === 'function' ? process.getuid() : 0,
  gid: typeof process.getgid === 'function' ? process.getgid() : 0,
}

export interface DispatchHooks {
  /** Reports a handler fault; the request has been answered already. */
  fault(error: HandlerError): void
  /** A debug line, when debug logging is on. */
  log?: (line: string) => void
}

/**
 * Serves requests against one filesystem, at most `maxConcurrency` handlers at a time; the
 * rest wait in arrival order.
 */
export class Dispatcher {
  private readonly backlog: NativeRequest[] = []
  private running = 0

  constructor(
    private readonly native: NativeMount,
    private readonly fs: FileSystem,
    private readonly specs: OperationSpec[],
    private readonly maxConcurrency: number,
    private readonly hooks: DispatchHooks,
  ) {}

  accept(requests: NativeRequest[]): void {
    for (const request of requests) {
      if (this.running < this.maxConcurrency) this.start(request)
      else this.backlog.push(request)
    }
  }

  private start(request: NativeRequest): void {
    this.running++
    const spec = this.specs[request.op]
    const method = this.fs[spec.handler] as ((...args: unknown[]) => unknown) | undefined
    const name = spec.handler
    this.hooks.log?.(`-> #${request.id} ${name} ${request.path}`)
    if (method === undefined) {
      if (spec.whenMissing === 'ok') this.finish(request, spec, undefined)
      else if (spec.whenMissing === 'opened') this.finish(request, spec, 0)
      else this.fail(request, 'ENOSYS')
      return
    }
    const ctx: RequestContext = { uid: request.callerUid, gid: request.callerGid, pid: request.callerPid }
    let result: unknown
    try {
      result = method.call(this.fs, ...spec.args(request), ctx)
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

  private finish(request: NativeRequest, spec: OperationSpec, value: unknown): void {
    let answered: boolean
    try {
      answered = spec.reply(this.native, request.id, value, (message) => this.report(request, undefined, message))
      this.hooks.log?.(`<- #${request.id} ok`)
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      answered = this.answerError(request, 'EIO')
      this.report(request, 'EIO', `invalid result: ${message}`, error)
    }
    if (!answered) this.late(request)
    this.next()
  }

  private rejected(request: NativeRequest, thrown: unknown): void {
    const code = errnoOf(thrown)
    if (code !== undefined) {
      this.fail(request, code)
      return
    }
    const answered = this.answerError(request, 'EIO')
    const message = thrown instanceof Error ? thrown.message : String(thrown)
    this.report(request, 'EIO', `handler threw: ${message}`, thrown)
    if (!answered) this.late(request)
    this.next()
  }

  private fail(request: NativeRequest, code: string): void {
    if (!this.answerError(request, code)) this.late(request)
    this.next()
  }

  private answerError(request: NativeRequest, code: string): boolean {
    this.hooks.log?.(`<- #${request.id} ${code}`)
    return this.native.replyError(request.id, code)
  }

  private late(request: NativeRequest): void {
    this.report(request, 'ETIMEDOUT', 'handler settled after its request had already timed out')
  }

  private report(request: NativeRequest, errno: string | undefined, message: string, cause?: unknown): void {
    this.hooks.fault(new HandlerError(this.specs[request.op].handler, request.path, errno, message, cause))
  }

  private next(): void {
    this.running--
    const queued = this.backlog.shift()
    if (queued !== undefined) this.start(queued)
  }
}
