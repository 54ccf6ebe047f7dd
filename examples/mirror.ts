// A passthrough filesystem: mirrors a real directory, and never reaches outside it.
//
// Confinement: request paths with `..` or NUL are refused; the directory holding the last
// component must resolve (realpath) to exactly the path the request names inside the root, so
// no symlink on the way is ever followed; and the last component itself is never followed
// (lstat, lchown, lutimes, O_NOFOLLOW). The kernel never sends paths through a symlink (it reads
// the link and looks up the target itself), so these checks only bite when the directory changes
// behind the mount's back. Node has no openat2(RESOLVE_BENEATH), so a local process that can
// write to the mirrored directory can still race a check against the call that follows it.
//
// Symlinks are mirrored verbatim: readlink returns the stored target, and the *caller's* kernel
// follows it, so an absolute target points outside the mount exactly as it does in the real
// directory. The mirror itself never follows one.
//
// Left out, because Node has no API for them: extended attributes, mknod (fifos, devices),
// fallocate, SEEK_DATA/SEEK_HOLE, and RENAME_EXCHANGE (see rename). Those requests fail with
// ENOSYS, which the kernel reports to callers as "not supported". `access` is left to the
// kernel's permission checks. New files belong to the user running the mirror. POSIX only.
//
// Run: tsx examples/mirror.ts <source-dir> <mountpoint>
import { constants, realpathSync, statSync, type Stats } from 'node:fs'
import * as fsp from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import {
  FsError,
  mount,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  type DirEntry,
  type FileKind,
  type FileSystem,
  type Stat,
} from '../index' // in an application: from 'mountkit'

// Request flags use Linux numbering on every platform; these are the ones a passthrough passes
// on. O_CREAT and O_EXCL are decided here; O_DIRECT would demand buffer alignment. O_APPEND
// makes the host append whatever offset arrives, which is right because mountkit does not turn
// on the kernel's writeback cache.
const LINUX_O_ACCMODE = 0o3
const LINUX_O_EXCL = 0o200
const LINUX_O_TRUNC = 0o1000
const LINUX_O_APPEND = 0o2000
const LINUX_O_NONBLOCK = 0o4000
const LINUX_O_DSYNC = 0o10000
const LINUX_O_SYNC = 0o4010000
const ACCESS_MODES = [constants.O_RDONLY, constants.O_WRONLY, constants.O_RDWR]

function hostOpenFlags(flags: number): number {
  let host = (ACCESS_MODES[flags & LINUX_O_ACCMODE] ?? constants.O_RDONLY) | constants.O_NOFOLLOW
  if ((flags & LINUX_O_TRUNC) !== 0) host |= constants.O_TRUNC
  if ((flags & LINUX_O_APPEND) !== 0) host |= constants.O_APPEND
  if ((flags & LINUX_O_NONBLOCK) !== 0) host |= constants.O_NONBLOCK
  if ((flags & LINUX_O_SYNC) === LINUX_O_SYNC) host |= constants.O_SYNC
  else if ((flags & LINUX_O_DSYNC) !== 0) host |= constants.O_DSYNC
  return host
}

function kindOf(s: Stats): FileKind {
  if (s.isFile()) return 'file'
  if (s.isDirectory()) return 'directory'
  if (s.isSymbolicLink()) return 'symlink'
  if (s.isFIFO()) return 'fifo'
  if (s.isSocket()) return 'socket'
  if (s.isCharacterDevice()) return 'char-device'
  return 'block-device'
}

function toStat(s: Stats): Stat {
  return {
    kind: kindOf(s),
    size: s.size,
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    nlink: s.nlink,
    ino: s.ino,
    rdev: s.rdev,
    blocks: s.blocks,
    atime: s.atimeMs,
    mtime: s.mtimeMs,
    ctime: s.ctimeMs,
    birthtime: s.birthtimeMs,
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

/** A filesystem mirroring the directory `root`. */
export function createMirror(root: string): FileSystem {
  const realRoot = realpathSync(root)
  if (!statSync(realRoot).isDirectory()) throw new Error(`createMirror(): ${root} is not a directory`)
  const files = new Map<number, FileHandle>()
  let lastHandle = 0

  /** The host path a request path names, confined to the root (see the top of this file). */
  async function hostPath(path: string): Promise<string> {
    if (path.includes('\0')) throw new FsError('EINVAL')
    const names = path.split('/').filter((name) => name !== '' && name !== '.')
    if (names.includes('..')) throw new FsError('EACCES')
    const last = names.pop()
    if (last === undefined) return realRoot
    const parent = join(realRoot, ...names)
    if ((await fsp.realpath(parent)) !== parent) throw new FsError('EACCES')
    return join(parent, last)
  }

  function remember(file: FileHandle): number {
    files.set(++lastHandle, file)
    return lastHandle
  }

  function fileOf(handle: number): FileHandle {
    const file = files.get(handle)
    if (file === undefined) throw new FsError('EBADF')
    return file
  }

  /** Sets exactly `mode`: the mirror's own umask must not cut what the caller asked for. */
  async function setMode(target: string, mode: number): Promise<void> {
    const current = await fsp.lstat(target)
    if ((current.mode & 0o7777) !== mode) await fsp.chmod(target, mode)
  }

  /**
   * Rename that fails if `to` exists. Node has no renameat2, so files go by link + unlink:
   * link refuses an existing name atomically, though for a moment the file has both names.
   * Directories cannot be linked, so for them this answers EINVAL, the kernel's own "flag not
   * supported", and callers such as mv fall back to a checked plain rename.
   */
  async function renameNoReplace(from: string, to: string): Promise<void> {
    if ((await fsp.lstat(from)).isDirectory()) throw new FsError('EINVAL')
    try {
      await fsp.link(from, to)
    } catch (error) {
      const code = errorCode(error)
      if (code === 'EPERM' || code === 'EMLINK' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        throw new FsError('EINVAL')
      }
      throw error
    }
    await fsp.unlink(from)
  }

  return {
    async getattr(path, handle) {
      const open = handle === undefined ? undefined : files.get(handle)
      return toStat(open !== undefined ? await open.stat() : await fsp.lstat(await hostPath(path)))
    },

    async readdir(path) {
      const dir = await hostPath(path)
      const names = await fsp.readdir(dir)
      // Stats ride along with the names, which saves the kernel a getattr per entry. A name
      // removed since readdir is skipped.
      const entries = await Promise.all(
        names.map(async (name): Promise<DirEntry | undefined> => {
          try {
            return { name, stat: toStat(await fsp.lstat(join(dir, name))) }
          } catch (error) {
            if (errorCode(error) === 'ENOENT') return undefined
            throw error
          }
        }),
      )
      return entries.filter((entry): entry is DirEntry => entry !== undefined)
    },

    async open(path, flags) {
      return remember(await fsp.open(await hostPath(path), hostOpenFlags(flags)))
    },

    async create(path, mode, flags) {
      const target = await hostPath(path)
      let file: FileHandle
      try {
        file = await fsp.open(target, hostOpenFlags(flags) | constants.O_CREAT | constants.O_EXCL, mode)
      } catch (error) {
        // Someone created the name since the kernel looked; without O_EXCL, just open it.
        if (errorCode(error) !== 'EEXIST' || (flags & LINUX_O_EXCL) !== 0) throw error
        return remember(await fsp.open(target, hostOpenFlags(flags)))
      }
      try {
        // The mirror's umask applied on top of the caller's; set exactly what was asked.
        await file.chmod(mode)
      } catch (error) {
        await file.close()
        throw error
      }
      return remember(file)
    },

    async read(path, handle, offset, length) {
      const buffer = Buffer.allocUnsafe(length)
      const { bytesRead } = await fileOf(handle).read(buffer, 0, length, offset)
      return buffer.subarray(0, bytesRead)
    },

    async write(path, handle, data, offset) {
      const { bytesWritten } = await fileOf(handle).write(data, 0, data.length, offset)
      return bytesWritten
    },

    async release(path, handle) {
      const file = files.get(handle)
      files.delete(handle)
      await file?.close()
    },

    async fsync(path, handle, datasync) {
      const file = fileOf(handle)
      await (datasync ? file.datasync() : file.sync())
    },

    async fsyncdir(path) {
      const dir = await fsp.open(await hostPath(path), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
    },

    async truncate(path, size, handle) {
      const open = handle === undefined ? undefined : files.get(handle)
      if (open !== undefined) {
        await open.truncate(size)
        return
      }
      // O_NONBLOCK: a fifo swapped in for the file must not hang the request.
      const file = await fsp.open(
        await hostPath(path),
        constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      )
      try {
        await file.truncate(size)
      } finally {
        await file.close()
      }
    },

    async mkdir(path, mode) {
      const target = await hostPath(path)
      await fsp.mkdir(target, mode)
      await setMode(target, mode)
    },

    async rmdir(path) {
      await fsp.rmdir(await hostPath(path))
    },

    async unlink(path) {
      await fsp.unlink(await hostPath(path))
    },

    async rename(fromPath, toPath, flags) {
      const from = await hostPath(fromPath)
      const to = await hostPath(toPath)
      if (flags === 0) await fsp.rename(from, to)
      else if (flags === RENAME_NOREPLACE) await renameNoReplace(from, to)
      // RENAME_EXCHANGE cannot be emulated atomically; EINVAL is what the kernel answers for
      // filesystems without it.
      else throw new FsError('EINVAL')
    },

    async symlink(target, path) {
      await fsp.symlink(target, await hostPath(path))
    },

    async readlink(path) {
      return fsp.readlink(await hostPath(path))
    },

    async link(existingPath, path) {
      await fsp.link(await hostPath(existingPath), await hostPath(path))
    },

    async chmod(path, mode) {
      const target = await hostPath(path)
      // chmod(2) follows symlinks and Linux cannot change a symlink's own mode.
      if ((await fsp.lstat(target)).isSymbolicLink()) throw new FsError('EOPNOTSUPP')
      await fsp.chmod(target, mode)
    },

    async chown(path, uid, gid) {
      await fsp.lchown(await hostPath(path), uid, gid)
    },

    async utimens(path, atime, mtime) {
      const target = await hostPath(path)
      if (atime === undefined || mtime === undefined) {
        // Keep the untouched time, in seconds with the finest precision Node passes on.
        const current = await fsp.lstat(target, { bigint: true })
        await fsp.lutimes(
          target,
          atime ?? Number(current.atimeNs) / 1e9,
          mtime ?? Number(current.mtimeNs) / 1e9,
        )
      } else {
        await fsp.lutimes(target, atime, mtime)
      }
    },

    async statfs() {
      const s = await fsp.statfs(realRoot)
      return {
        blockSize: s.bsize,
        blocks: s.blocks,
        blocksFree: s.bfree,
        blocksAvailable: s.bavail,
        files: s.files,
        filesFree: s.ffree,
      }
    },
  }
}

async function main(source: string, mountpoint: string): Promise<void> {
  const mirror = createMirror(source)
  // Mirroring a tree that contains the mount point would make the mirror call into itself.
  const inside = relative(realpathSync(source), resolve(mountpoint))
  if (inside === '' || !(inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))) {
    throw new Error(`the mount point ${mountpoint} must not be inside the mirrored directory ${source}`)
  }
  const m = await mount(mountpoint, mirror)
  console.log(`Mirroring ${source} at ${m.mountpoint} (Ctrl-C unmounts)`)
  const stop = () => {
    m.unmount().then(
      () => console.log('Unmounted.'),
      (error: unknown) => {
        console.error(`Unmount failed: ${String(error)}`)
        process.exitCode = 1
      },
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (require.main === module) {
  const [source, mountpoint] = process.argv.slice(2)
  if (source === undefined || mountpoint === undefined) {
    console.error('usage: tsx examples/mirror.ts <source-dir> <mountpoint>')
    process.exit(2)
  }
  main(source, mountpoint).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(1)
  })
}
