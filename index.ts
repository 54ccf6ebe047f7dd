/**
 * mountkit — user-mode filesystems for Node.js.
 *
 * Write a filesystem as an object of handlers, call {@link mount}, and every program on the
 * machine can use it. A Rust core runs the kernel protocol, the threads and the buffers; the
 * handlers decide metadata and policy.
 *
 * @packageDocumentation
 */
import { Mount, startMount } from './lib/mount'
import { FsError, MountError, MOUNT_ERROR_CODES, type ErrnoName, type MountErrorCode } from './lib/errors'
import { mknod, utimens } from './lib/fs-calls'
import type { FileSystem, MountOptions } from './lib/types'

export { Mount, FsError, MountError, MOUNT_ERROR_CODES, type ErrnoName, type MountErrorCode, mknod, utimens }
export type { HandlerError } from './lib/errors'
export type {
  FileKind,
  TimeLike,
  Stat,
  DirEntry,
  StatFs,
  OpenResult,
  RequestContext,
  MaybePromise,
  FileSystem,
  MountOptions,
  DataPathReport,
  MountStats,
  Change,
  WindowsAttributes,
} from './lib/types'
export { RENAME_NOREPLACE, RENAME_EXCHANGE, XATTR_CREATE, XATTR_REPLACE } from './lib/types'

/**
 * Mounts `fs` at `mountpoint` and resolves once the system serves it. On Linux the mount point
 * is an empty directory; on Windows a drive letter (`'M:'`), `'*'` for the next free drive
 * letter, a folder path, or a network share `'\\server\share'` (see
 * {@link MountOptions.driveType}); {@link Mount.mountpoint} reports where it went.
 * The returned {@link Mount} unmounts with `unmount()` or `await using`; mounts are also
 * unmounted when the process exits, on SIGINT/SIGTERM, and on an uncaught exception.
 *
 * Rejects with a {@link MountError} when the mount fails: its `code` ({@link MountErrorCode})
 * says what kind of failure it is, its message what to do. A `fs` that is not an object is a
 * TypeError.
 */
export async function mount(mountpoint: string, fs: FileSystem, options: MountOptions = {}): Promise<Mount> {
  return startMount(mountpoint, fs, options)
}
