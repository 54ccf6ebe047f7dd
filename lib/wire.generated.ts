// Generated from crates/node/src/wire.rs by `npm run generate:wire`: do not edit. `cargo test`
// fails while this file differs from what the tables there generate.
import type { FileSystem, RequestContext } from './types'

/** Numbers in a drain's header, before the first request. */
export const DRAIN_HEADER = 4

/** Positions in a drain's header. */
export const DrainHeader = {
  /** How many requests follow. */
  count: 0,
  /** 1 when more requests are queued than this drain took, else 0. */
  more: 1,
  /** How many payloads wait for `takePayloads()`. */
  payloads: 2,
  /** 1 when faults wait for `takeEvents()`, else 0. */
  faults: 3,
} as const

/** Numbers per drained request: its fields, then up to 5 numeric arguments. */
export const REQUEST_FIELDS = 15
export const REQUEST_ARGS = 5
/** Where a drained request's numeric arguments start. */
export const REQUEST_ARGS_AT = 10

/** Positions in a drained request, from its start; its arguments follow. */
export const RequestField = {
  /** The request's id, which its reply names. */
  id: 0,
  /** The operation's code (`OperationCode`). */
  operation: 1,
  /** How many strings the request has: its path, and maybe a second one. */
  strings: 2,
  /** Where the request's bulk bytes are (`DataPlace`). */
  dataPlace: 3,
  /** The caller's user id. */
  uid: 4,
  /** The caller's group id. */
  gid: 5,
  /** The caller's thread (Linux) or process (Windows) id. */
  pid: 6,
  /** The write-pool slot holding the bytes, when they are in one (else NaN). */
  slot: 7,
  /** How many bytes of that slot are the request's (else NaN). */
  slotLength: 8,
  /** 1 when the answer is the stat of the request's path, from a getattr run right after the operation succeeds (an operation that makes a name, for a backend that answers with the new entry); else 0. */
  thenStat: 9,
} as const

/** Where a drained request's bulk bytes are. */
export const DataPlace = {
  /** The request has none. */
  none: 0,
  /** Next on the drain's payload list (`takePayloads()`). */
  payload: 1,
  /** In a write-pool slot (`writeSlot(n)`), at its start. */
  slot: 2,
} as const

/** Numbers per packed stat. */
export const STAT_FIELDS = 14

/** Positions in a packed stat. */
export const StatField = {
  /** A `FileKindCode`; NaN for a listing entry without a stat. */
  kind: 0,
  /** Bytes. */
  size: 1,
  /** Permission bits. */
  mode: 2,
  /** Owner. */
  uid: 3,
  /** Group. */
  gid: 4,
  /** Hard links. */
  nlink: 5,
  /** Inode number; 0 lets the backend choose. */
  ino: 6,
  /** Device number. */
  rdev: 7,
  /** 512-byte blocks; -1 derives them from the size. */
  blocks: 8,
  /** Access time, ms since the epoch. */
  atime: 9,
  /** Modification time, ms since the epoch. */
  mtime: 10,
  /** Change time, ms since the epoch. */
  ctime: 11,
  /** Creation time, ms since the epoch. */
  birthtime: 12,
  /** Windows attribute bits (`AttributeBit`). */
  attributes: 13,
} as const

/** The Windows attribute bits of a packed stat. */
export const AttributeBit = {
  /** Hidden. */
  hidden: 1,
  /** Read-only. */
  readonly: 2,
  /** System. */
  system: 4,
  /** Archive. */
  archive: 8,
  /** Not content indexed. */
  notContentIndexed: 16,
  /** Offline. */
  offline: 32,
} as const

/** The code of each file kind. */
export const FileKindCode = {
  file: 0,
  directory: 1,
  symlink: 2,
  fifo: 3,
  socket: 4,
  'char-device': 5,
  'block-device': 6,
} as const

/** Reply tags of a numbers-only reply record (id, tag, then the tag's numbers). */
export const ReplyTag = {
  /** Success with nothing to report: no numbers. */
  empty: 0,
  /** A failure: one number, the errno. */
  error: 1,
  /** A getattr answer: one packed stat. */
  stat: 2,
  /** A byte count (write, copy_file_range): one number. */
  count: 3,
  /** A file offset (lseek): one number. */
  offset: 4,
  /** An open without a backing file: `OpenedField`s, then a packed stat for create (NaN kind: none). */
  opened: 5,
} as const

/** Numbers of an opened reply record before its packed stat. */
export const OPENED_FIELDS = 2

/** Positions in an opened reply record, after its id and tag; a packed stat follows. */
export const OpenedField = {
  /** The handle later calls on the open file receive. */
  handle: 0,
  /** `OpenHint` bits. */
  hints: 1,
} as const

/** Caching hint bits of an opened reply record. */
export const OpenHint = {
  /** Bypass the page cache. */
  directIo: 1,
  /** Keep cached pages from the previous open. */
  keepCache: 2,
  /** The file is a stream. */
  nonSeekable: 4,
} as const

/** What the addon answers for an operation the filesystem has no handler for. */
export const LocalAnswer = {
  /** Forward to JavaScript: there is a handler. */
  forward: 0,
  /** ENOSYS: the filesystem does not support it. */
  notSupported: 1,
  /** Success with nothing to report (release, flush, fsync...). */
  success: 2,
  /** Opened, with handle 0 and no hints. */
  opened: 3,
} as const

/**
 * Reads a drained request's handler arguments, request context last: its strings and bulk
 * bytes, and its numbers from `s`, the first at `at`.
 */
export type ArgsReader = (
  path: string,
  other: string | undefined,
  data: Buffer | undefined,
  ctx: RequestContext,
  s: Float64Array,
  at: number,
) => unknown[]

/** The reply shapes `lib/wire.ts` packs. */
export type ReplyShape = 'empty' | 'stat' | 'entries' | 'opened' | 'data' | 'count' | 'target' | 'statfs' | 'names' | 'offset'

/** Everything the two sides agree on about one operation. */
export interface OperationWire {
  /** The operation's code, its index in `OPERATIONS`. */
  readonly code: number
  readonly handler: keyof FileSystem
  readonly args: ArgsReader
  readonly reply: ReplyShape
  /** What the addon answers when the filesystem has no handler (`LocalAnswer`). */
  readonly whenMissing: number
}

/** An optional number: NaN means absent. */
const optional = (n: number) => (Number.isNaN(n) ? undefined : n)
const date = (ms: number) => (Number.isNaN(ms) ? undefined : new Date(ms))
/** Windows attributes as an object of every flag: NaN means absent. */
const attributes = (bits: number) =>
  Number.isNaN(bits)
    ? undefined
    : {
        hidden: (bits & AttributeBit.hidden) !== 0,
        readonly: (bits & AttributeBit.readonly) !== 0,
        system: (bits & AttributeBit.system) !== 0,
        archive: (bits & AttributeBit.archive) !== 0,
        notContentIndexed: (bits & AttributeBit.notContentIndexed) !== 0,
        offline: (bits & AttributeBit.offline) !== 0,
      }

/** Every operation, indexed by its code. */
export const OPERATIONS: readonly OperationWire[] = [
  {
    code: 0,
    handler: 'getattr',
    /** (path, handle, ctx) */
    args: (path, other, data, ctx, s, at) => [path, optional(s[at]), ctx],
    reply: 'stat',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 1,
    handler: 'readdir',
    /** (path, handle, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], ctx],
    reply: 'entries',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 2,
    handler: 'open',
    /** (path, flags, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], ctx],
    reply: 'opened',
    whenMissing: LocalAnswer.opened,
  },
  {
    code: 3,
    handler: 'opendir',
    /** (path, flags, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], ctx],
    reply: 'opened',
    whenMissing: LocalAnswer.opened,
  },
  {
    code: 4,
    handler: 'release',
    /** (path, handle, flags, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.success,
  },
  {
    code: 5,
    handler: 'releasedir',
    /** (path, handle, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.success,
  },
  {
    code: 6,
    handler: 'read',
    /** (path, handle, offset, length, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1], s[at + 2], ctx],
    reply: 'data',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 7,
    handler: 'write',
    /** (path, handle, data, offset, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], data, s[at + 1], ctx],
    reply: 'count',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 8,
    handler: 'create',
    /** (path, mode, flags, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1], ctx],
    reply: 'opened',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 9,
    handler: 'mknod',
    /** (path, mode, rdev, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 10,
    handler: 'mkdir',
    /** (path, mode, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 11,
    handler: 'unlink',
    /** (path, ctx) */
    args: (path, other, data, ctx, s, at) => [path, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 12,
    handler: 'rmdir',
    /** (path, ctx) */
    args: (path, other, data, ctx, s, at) => [path, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 13,
    handler: 'symlink',
    /** (target, path, ctx) */
    args: (path, other, data, ctx, s, at) => [other, path, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 14,
    handler: 'readlink',
    /** (path, ctx) */
    args: (path, other, data, ctx, s, at) => [path, ctx],
    reply: 'target',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 15,
    handler: 'link',
    /** (existingPath, path, ctx) */
    args: (path, other, data, ctx, s, at) => [other, path, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 16,
    handler: 'rename',
    /** (from, to, flags, ctx) */
    args: (path, other, data, ctx, s, at) => [path, other, s[at], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 17,
    handler: 'truncate',
    /** (path, size, handle, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], optional(s[at + 1]), ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 18,
    handler: 'chmod',
    /** (path, mode, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 19,
    handler: 'chown',
    /** (path, uid, gid, ctx) */
    args: (path, other, data, ctx, s, at) => [path, optional(s[at]) ?? -1, optional(s[at + 1]) ?? -1, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 20,
    handler: 'utimens',
    /** (path, atime, mtime, ctx) */
    args: (path, other, data, ctx, s, at) => [path, date(s[at]), date(s[at + 1]), ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 21,
    handler: 'statfs',
    /** (path, ctx) */
    args: (path, other, data, ctx, s, at) => [path, ctx],
    reply: 'statfs',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 22,
    handler: 'flush',
    /** (path, handle, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.success,
  },
  {
    code: 23,
    handler: 'fsync',
    /** (path, handle, datasync, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1] === 1, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.success,
  },
  {
    code: 24,
    handler: 'fsyncdir',
    /** (path, handle, datasync, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1] === 1, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.success,
  },
  {
    code: 25,
    handler: 'access',
    /** (path, mode, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 26,
    handler: 'getxattr',
    /** (path, name, ctx) */
    args: (path, other, data, ctx, s, at) => [path, other, ctx],
    reply: 'data',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 27,
    handler: 'setxattr',
    /** (path, name, value, flags, ctx) */
    args: (path, other, data, ctx, s, at) => [path, other, data, s[at], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 28,
    handler: 'listxattr',
    /** (path, ctx) */
    args: (path, other, data, ctx, s, at) => [path, ctx],
    reply: 'names',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 29,
    handler: 'removexattr',
    /** (path, name, ctx) */
    args: (path, other, data, ctx, s, at) => [path, other, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 30,
    handler: 'fallocate',
    /** (path, handle, offset, length, mode, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1], s[at + 2], s[at + 3], ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 31,
    handler: 'lseek',
    /** (path, handle, offset, whence, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1], s[at + 2], ctx],
    reply: 'offset',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 32,
    handler: 'copyFileRange',
    /** (fromPath, fromHandle, fromOffset, toPath, toHandle, toOffset, length, ctx) */
    args: (path, other, data, ctx, s, at) => [path, s[at], s[at + 1], other, s[at + 2], s[at + 3], s[at + 4], ctx],
    reply: 'count',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 33,
    handler: 'setAttributes',
    /** (path, attributes, birthtime, ctx) */
    args: (path, other, data, ctx, s, at) => [path, attributes(s[at]), date(s[at + 1]), ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 34,
    handler: 'getSecurity',
    /** (path, ctx) */
    args: (path, other, data, ctx, s, at) => [path, ctx],
    reply: 'target',
    whenMissing: LocalAnswer.notSupported,
  },
  {
    code: 35,
    handler: 'setSecurity',
    /** (path, sddl, ctx) */
    args: (path, other, data, ctx, s, at) => [path, other, ctx],
    reply: 'empty',
    whenMissing: LocalAnswer.notSupported,
  },
]

/** Identifies these tables; the addon reports the one it was built with (`wireFingerprint()`). */
export const WIRE_FINGERPRINT = '80705d61d9428811'
