import { constants } from 'node:os'

/** A POSIX error name such as `'ENOENT'`. */
export type ErrnoName = keyof typeof constants.errno | 'ENOTSUP' | 'EWOULDBLOCK'

/**
 * Fails a request with a POSIX error code. The core maps the code to an errno for FUSE and to
 * an NTSTATUS for WinFsp and Dokan.
 *
 * ```ts
 * throw new FsError('ENOENT')
 * ```
 *
 * An FsError is an answer, not a crash, so it records no stack trace: capturing one costs
 * several microseconds, paid on every failed lookup (each `stat` of a missing name).
 */
export class FsError extends Error {
  readonly code: ErrnoName

  constructor(code: ErrnoName, message?: string) {
    const stackTraceLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      super(message ?? code)
    } finally {
      Error.stackTraceLimit = stackTraceLimit
    }
    this.name = 'FsError'
    this.code = code
  }
}

/**
 * Reported on a mount's `error` event when a handler misbehaves (throws something without a
 * POSIX code, returns a value of the wrong shape, settles after its request timed out) or the
 * core answers a request on its behalf (timeout, deadlock). The request itself has already
 * been answered; the mount keeps serving.
 */
export class HandlerError extends Error {
  readonly operation: string
  readonly path: string
  /**
   * The code the caller of the filesystem saw, or undefined when its request still
   * succeeded (a readdir result with some entries left out).
   */
  readonly errno: string | undefined

  constructor(operation: string, path: string, errno: string | undefined, message: string, cause?: unknown) {
    super(`${operation} ${path}: ${message}`, cause === undefined ? undefined : { cause })
    this.name = 'HandlerError'
    this.operation = operation
    this.path = path
    this.errno = errno
  }
}

const KNOWN_CODES = new Set<string>([...Object.keys(constants.errno), 'ENOTSUP', 'EWOULDBLOCK'])

/** The POSIX code carried by a thrown value, if it carries a valid one. */
export function errnoOf(thrown: unknown): string | undefined {
  if (typeof thrown === 'object' && thrown !== null && 'code' in thrown) {
    const code = (thrown as { code: unknown }).code
    if (typeof code === 'string' && KNOWN_CODES.has(code)) return code
  }
  return undefined
}
