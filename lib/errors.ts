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

/**
 * What kind of failure a {@link MountError} is. The codes stay the same from release to
 * release; the messages may improve. docs/errors.md lists what each means and what to do.
 *
 * - `'EOPTION'`: an option is not valid; the message names it.
 * - `'EMOUNTPOINT'`: the mount point cannot be used (missing, not a directory, not empty,
 *   already mounted, a drive letter in use, not a drive letter or folder).
 * - `'EPLATFORM'`: the backend asked for does not exist on this platform.
 * - `'ENODRIVER'`: the driver the backend needs is not installed, or lacks what an option requires
 *   (`ioUring: true` on a kernel without FUSE over io_uring).
 * - `'EDRIVER'`: the driver is installed but broken.
 * - `'EPERMISSION'`: this process may not mount there or use the driver.
 * - `'EMOUNT'`: any other failure of the mount; the message says what it was.
 */
export type MountErrorCode = 'EOPTION' | 'EMOUNTPOINT' | 'EPLATFORM' | 'ENODRIVER' | 'EDRIVER' | 'EPERMISSION' | 'EMOUNT'

/** Every {@link MountErrorCode}, as the native addon defines them (`ErrorCode` in the `mountkit` crate). */
export const MOUNT_ERROR_CODES: readonly MountErrorCode[] = ['EOPTION', 'EMOUNTPOINT', 'EPLATFORM', 'ENODRIVER', 'EDRIVER', 'EPERMISSION', 'EMOUNT']

/**
 * Why `mount()` failed: the message says what happened and what to do, and `code` says what
 * kind of failure it is, for programs to branch on.
 *
 * ```ts
 * try {
 *   await mount('M:', fs)
 * } catch (error) {
 *   if (error instanceof MountError && error.code === 'ENODRIVER') console.error('install WinFsp first')
 *   throw error
 * }
 * ```
 */
export class MountError extends Error {
  readonly code: MountErrorCode

  constructor(code: MountErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'MountError'
    this.code = code
  }
}

/** `thrown` as a {@link MountError} if it carries one of the codes (as the addon's errors do). */
export function asMountError(thrown: unknown): MountError | undefined {
  if (thrown instanceof MountError) return thrown
  if (!(thrown instanceof Error)) return undefined
  const code = (thrown as { code?: unknown }).code
  if (typeof code !== 'string' || !(MOUNT_ERROR_CODES as readonly string[]).includes(code)) return undefined
  return new MountError(code as MountErrorCode, thrown.message)
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
