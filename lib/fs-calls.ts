// Filesystem calls a passthrough needs and node:fs lacks (crates/node/src/fs_calls.rs says why
// each): the native addon makes the call on libuv's thread pool and answers with the Linux
// error number; this turns a failure into the error node:fs would throw, so that a handler can
// rethrow it and the caller gets that errno.
import { getSystemErrorMap } from 'node:util'
import { native } from './native'

/** Linux error numbers to names, from the core's table (the numbering the addon answers in). */
let errnoNames: Map<number, string> | undefined

/** Names to libuv's number and message for them on this platform, as node:fs errors carry. */
let systemErrors: Map<string, { errno: number; message: string }> | undefined

function checkPath(call: string, path: string): void {
  if (typeof path !== 'string' || path.includes('\0')) {
    throw new TypeError(`${call}(): path must be a string without NUL bytes, got ${JSON.stringify(path)}`)
  }
}

/** An error like node:fs's: `ENOENT: no such file or directory, mknod '/x'`, with `code`. */
function systemError(linuxErrno: number, syscall: string, path: string): NodeJS.ErrnoException {
  errnoNames ??= new Map(Object.entries(native.errnoNumbers()).map(([name, number]) => [number, name]))
  systemErrors ??= new Map([...getSystemErrorMap()].map(([errno, [name, message]]) => [name, { errno, message }]))
  const code = errnoNames.get(linuxErrno)
  const known = code === undefined ? undefined : systemErrors.get(code)
  const error: NodeJS.ErrnoException = new Error(
    `${code ?? 'Unknown system error'}: ${known?.message ?? `error number ${linuxErrno}`}, ${syscall} '${path}'`,
  )
  error.errno = known?.errno ?? -linuxErrno
  if (code !== undefined) error.code = code
  error.syscall = syscall
  error.path = path
  return error
}

/**
 * Creates a special file, as `mknod(2)` does: a FIFO (`fs.constants.S_IFIFO`), a UNIX socket
 * inode (`S_IFSOCK`), a character or block device (`S_IFCHR`, `S_IFBLK`; these need root, or
 * CAP_MKNOD), or an empty regular file (`S_IFREG`). `node:fs` has no such call, and a
 * passthrough filesystem needs it: its `mknod` handler receives every `mkfifo`, every `bind`
 * of a UNIX socket and every device node its callers create. Linux only.
 *
 * Runs on libuv's thread pool, like `fs.promises`. The process umask applies to `mode`, as
 * with every call that creates a file; a final name that exists is never followed or
 * replaced (`EEXIST`).
 *
 * ```ts
 * import { constants } from 'node:fs'
 * await mknod('/srv/data/queue', constants.S_IFIFO | 0o640)
 * await mknod('/srv/data/null', constants.S_IFCHR | 0o666, (1 << 8) | 3) // 1:3, as root
 * ```
 *
 * @param path where to create it; the last component must not exist.
 * @param mode the type bits (`fs.constants.S_IF*`) and permission bits, set-ID bits included.
 * @param rdev the device number of a device node, as `fs.Stats.rdev` reports it (for majors
 *   below 4096 and minors below 256, `major * 256 + minor`); ignored for other kinds.
 * @throws an `Error` with the POSIX `code` (`EEXIST`, `ENOENT`, `EPERM`, ...), `errno`,
 *   `syscall` and `path`, as `node:fs` throws; `ENOSYS` on Windows, which has no special
 *   files. A handler can rethrow it, and its caller gets that errno.
 */
export async function mknod(path: string, mode: number, rdev = 0): Promise<void> {
  checkPath('mknod', path)
  if (!Number.isInteger(mode) || mode < 0 || mode > 0xffff_ffff) {
    throw new RangeError(`mknod(): mode must be an integer from 0 to 0xffffffff (type and permission bits), got ${mode}`)
  }
  if (!Number.isSafeInteger(rdev) || rdev < 0) {
    throw new RangeError(`mknod(): rdev must be a non-negative integer device number, got ${rdev}`)
  }
  const failed = await native.mknod(path, mode, rdev)
  if (failed !== 0) throw systemError(failed, 'mknod', path)
}

/**
 * Sets the access and modification times of `path` itself, as `utimensat(2)` with
 * `AT_SYMLINK_NOFOLLOW` does: a symlink's own times, never its target's. Unlike
 * `fs.promises.lutimes`, it sets exactly the milliseconds each `Date` holds (Node 20 passes
 * times as a floating-point number of seconds and libuv cuts them to microseconds, so
 * 100000000.1 s lands as 100000000.099999 s), and `undefined` leaves that time as it is, to the
 * nanosecond (`UTIME_OMIT`), where `lutimes` must set both. That is what a `utimens` handler
 * is asked to do. Linux only.
 *
 * ```ts
 * await utimens('/srv/data/file', undefined, new Date('2006-06-06T06:06:06.123Z')) // mtime only
 * ```
 *
 * @throws an `Error` with the POSIX `code`, `errno`, `syscall` and `path`, as `node:fs`
 *   throws; `ENOSYS` on Windows, where `fs.promises.lutimes` is the call to use.
 */
export async function utimens(path: string, atime: Date | undefined, mtime: Date | undefined): Promise<void> {
  checkPath('utimens', path)
  const millis = (name: string, time: Date | undefined) => {
    if (time === undefined) return undefined
    if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
      throw new TypeError(`utimens(): ${name} must be a valid Date or undefined (unchanged), got ${String(time)}`)
    }
    return time.getTime()
  }
  const failed = await native.utimens(path, millis('atime', atime), millis('mtime', mtime))
  if (failed !== 0) throw systemError(failed, 'utimensat', path)
}
