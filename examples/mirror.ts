// A passthrough filesystem: mirrors a real directory, and never reaches outside it.
//
// Confinement: request paths with `..` or NUL are refused. Every other path is resolved one
// component at a time from the root, each directory opened with O_NOFOLLOW|O_DIRECTORY, and the
// operation then names its last component through the descriptor of the directory that holds it
// (`/proc/self/fd/<n>/<name>`, which the kernel resolves in exactly that directory, like the
// `*at()` system calls Node does not have). So no symlink on the way is ever followed, even if
// another process swaps a directory for a symlink between two steps: a request then fails
// (EACCES) instead of acting outside the root. The last component itself is never followed
// either (lstat, lchown, lutimes, O_NOFOLLOW, and chmod through an O_PATH descriptor of the
// node just checked). The kernel never sends paths through a symlink (it reads the link and
// looks up the target itself), so these checks only bite when the directory changes behind the
// mount's back. What is out of reach: a process that can write both inside the mirrored
// directory and elsewhere can still move a directory out of the root while a request is in
// it, so that the request lands where that process could write anyway.
//
// Windows has no /proc and Node has no handle-relative calls there, so on Windows each
// component is checked with lstat (a symlink or junction on the way is refused, EACCES) and the
// operation then uses the full path. That confines every request to the root as long as nobody
// swaps a checked directory for a link between the check and the use; closing that window needs
// handle-relative opens (NtCreateFile with a RootDirectory), which Node does not offer.
//
// Symlinks are mirrored verbatim: readlink returns the stored target, and the *caller's* kernel
// follows it, so an absolute target points outside the mount exactly as it does in the real
// directory. The mirror itself never follows one.
//
// Ownership: what a caller creates is the caller's, as if the kernel had made it for them in
// the source directory (Linux's inode_init_owner). A new file, directory, symlink, FIFO,
// socket or device node belongs to the request's uid; its group is the request's gid, or the
// directory's group when the directory has the set-group-ID bit, and a new directory there
// inherits that bit. A hard link is a new name, not a new node, and changes no owner. Node's
// fs calls run on libuv's thread pool, where no per-request filesystem uid can be set, so the
// mirror creates the node, then opens exactly that node (O_PATH|O_NOFOLLOW, in the directory
// it resolved, never following a symlink) and changes its owner, then its mode, through that
// descriptor: chown clears the set-user- and set-group-ID bits of a file, and the mirror's
// own umask must not cut what the caller asked for, so the mode comes last and is set exactly.
// Set-ID bits the caller may not have are already gone: the caller's kernel strips them from
// the mode (and on chmod, chown and writes) before the request reaches the mirror. Only root
// can give a node to another user: a mirror that runs as another user leaves new nodes its
// own, grouped as the host kernel groups them (its own group, or the set-group-ID directory's);
// without allowOther, that user is the only caller anyway. Between creating a node
// and opening it there is a moment when another process that can write that directory could
// put another node under the name; that node, in the same directory, would get the caller as
// its owner. Closing that needs the caller's identity on the creating thread (setfsuid), which
// JavaScript cannot have.
//
// Special files: mkfifo, mknod and binding a UNIX socket all arrive as mknod, which the mirror
// passes on with mountkit's `mknod` (node:fs has none); devices need the mirror to run as root.
// On Windows, which has no special files (WinFsp and Dokan never ask for one), mknod answers
// ENOSYS. Times go through mountkit's `utimens` too: Node's lutimes cannot leave one time
// unchanged, and cuts times to microseconds through a floating-point number of seconds (on
// Windows, lutimes is what there is).
//
// Left out, because Node has no API for them: extended attributes, fallocate,
// SEEK_DATA/SEEK_HOLE, RENAME_EXCHANGE (see rename), and Windows security descriptors
// (getSecurity/setSecurity): on Windows the mirrored files report descriptors derived from what
// fs.stat says, uid and gid 0 (the user who mounted) and a mode from the read-only attribute. Those requests fail with ENOSYS,
// which the kernel reports to callers as "not supported". `access` is left to the kernel's
// permission checks. Windows attributes and creation times (`setAttributes`) are left out too:
// Node can set neither (and on Linux the source has nowhere to keep them but xattrs, which
// would make the mirror's files differ from their sources), so Windows programs setting them
// succeed and see what the source has; read-only still arrives, as chmod.
//
// Run: tsx examples/mirror.ts <source-dir> <mountpoint>
import { constants, existsSync, realpathSync, statSync, type Stats } from 'node:fs'
import * as fsp from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import {
  FsError,
  mknod,
  mount,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  type DirEntry,
  type FileKind,
  type FileSystem,
  type RequestContext,
  type Stat,
  utimens,
} from '../index' // in an application: from 'mountkit'
import { runCommand, unmountOnSignal } from './command-line'

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
/** Linux's O_PATH, which Node has no constant for: a descriptor that only names a node. */
const O_PATH = 0o10000000
const WINDOWS = process.platform === 'win32'
// Flags Windows has no equivalent of are 0 there (Node leaves them undefined on Windows).
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0
const O_DIRECTORY = constants.O_DIRECTORY ?? 0
const O_NONBLOCK = constants.O_NONBLOCK ?? 0
/** How each directory on the way to a request's node is opened (Linux). */
const STEP = O_PATH | O_DIRECTORY | O_NOFOLLOW
const S_ISGID = 0o2000

/**
 * A directory on the way to a request's node, reached without following a symlink. On Linux
 * it is an open descriptor, and names inside it go through `/proc/self/fd/<n>/<name>`, which
 * the kernel resolves in exactly that directory. On Windows it is a checked path.
 */
interface Directory {
  /** A host path naming `name` in this directory. */
  inside(name: string): string
  close(): Promise<void>
}

function descriptorDirectory(handle: FileHandle): Directory {
  return {
    inside: (name) => `/proc/self/fd/${handle.fd}/${name}`,
    close: () => handle.close(),
  }
}

function pathDirectory(path: string): Directory {
  return { inside: (name) => join(path, name), close: async () => {} }
}

/** The node open as `handle` itself, whatever its name holds by now (Linux). */
function itself(handle: FileHandle): string {
  return `/proc/self/fd/${handle.fd}`
}

function hostOpenFlags(flags: number): number {
  let host = (ACCESS_MODES[flags & LINUX_O_ACCMODE] ?? constants.O_RDONLY) | O_NOFOLLOW
  if ((flags & LINUX_O_TRUNC) !== 0) host |= constants.O_TRUNC
  if ((flags & LINUX_O_APPEND) !== 0) host |= constants.O_APPEND
  if ((flags & LINUX_O_NONBLOCK) !== 0) host |= O_NONBLOCK
  if ((flags & LINUX_O_SYNC) === LINUX_O_SYNC) host |= constants.O_SYNC ?? 0
  else if ((flags & LINUX_O_DSYNC) !== 0) host |= constants.O_DSYNC ?? 0
  return host
}

/** Refuses a symlink or junction where the mirror is about to use a name on Windows. */
async function refuseLink(path: string): Promise<void> {
  const found = await fsp.lstat(path).catch(() => undefined)
  if (found?.isSymbolicLink() === true) throw new FsError('EACCES')
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
  if (!WINDOWS && !existsSync('/proc/self/fd')) throw new Error('createMirror(): needs /proc mounted on Linux')
  const files = new Map<number, FileHandle>()
  let lastHandle = 0
  /** Only root can give a new node to its caller (see "Ownership" at the top of this file). */
  const givesOwnership = !WINDOWS && process.geteuid?.() === 0

  /** The names of a request path, checked (see the top of this file). */
  function namesOf(path: string): string[] {
    if (path.includes('\0')) throw new FsError('EINVAL')
    const names = path.split('/').filter((name) => name !== '' && name !== '.')
    if (names.includes('..')) throw new FsError('EACCES')
    return names
  }

  /** Opens the directory `names` below the root one step at a time, following no symlink. */
  async function openDirectory(names: string[]): Promise<Directory> {
    if (WINDOWS) {
      let path = realRoot
      for (const name of names) {
        path = join(path, name)
        const found = await fsp.lstat(path)
        // A link where the request has a directory was put there behind the mount's back.
        if (found.isSymbolicLink()) throw new FsError('EACCES')
        if (!found.isDirectory()) throw new FsError('ENOTDIR')
      }
      return pathDirectory(path)
    }
    let dir = descriptorDirectory(await fsp.open(realRoot, STEP))
    try {
      for (const name of names) {
        let next: FileHandle
        try {
          next = await fsp.open(dir.inside(name), STEP)
        } catch (error) {
          // A symlink where the request has a directory was put there behind the mount's back.
          if (errorCode(error) === 'ENOTDIR' && (await fsp.lstat(dir.inside(name))).isSymbolicLink()) {
            throw new FsError('EACCES')
          }
          throw error
        }
        const previous = dir
        dir = descriptorDirectory(next)
        await previous.close()
      }
      return dir
    } catch (error) {
      await dir.close()
      throw error
    }
  }

  /**
   * Runs `use` with a path that names the last component of `path` in its directory, opened
   * as above, and that directory. The root is no entry of any directory here: creating,
   * removing or renaming it is refused (EBUSY), as the kernel refuses it for a mount's root.
   */
  async function atEntry<T>(path: string, use: (entry: string, dir: Directory) => Promise<T>): Promise<T> {
    const names = namesOf(path)
    const last = names.pop()
    if (last === undefined) throw new FsError('EBUSY')
    const dir = await openDirectory(names)
    try {
      return await use(dir.inside(last), dir)
    } finally {
      await dir.close()
    }
  }

  /** Like `atEntry`, for operations on a node, which may be the root itself. */
  async function atNode<T>(path: string, use: (entry: string) => Promise<T>): Promise<T> {
    return namesOf(path).length === 0 ? use(realRoot) : atEntry(path, use)
  }

  /**
   * chmod(2) follows symlinks and Linux cannot change a symlink's own mode: check the node
   * through an O_PATH descriptor, then change exactly that node through its /proc link.
   */
  async function chmodEntry(entry: string, mode: number): Promise<void> {
    if (WINDOWS) {
      if ((await fsp.lstat(entry)).isSymbolicLink()) throw new FsError('EOPNOTSUPP')
      return fsp.chmod(entry, mode)
    }
    const node = await fsp.open(entry, O_PATH | O_NOFOLLOW)
    try {
      if ((await node.stat()).isSymbolicLink()) throw new FsError('EOPNOTSUPP')
      await fsp.chmod(itself(node), mode)
    } finally {
      await node.close()
    }
  }

  /**
   * Makes `node`, which the request `ctx` has just created in `dir` and which is open here,
   * the caller's, with exactly `mode` (see "Ownership" at the top of this file). Linux only.
   */
  async function giveToCaller(node: FileHandle, dir: Directory, mode: number, ctx: RequestContext): Promise<void> {
    // The directory itself, through the descriptor the node was created in.
    const [made, parent] = await Promise.all([node.stat(), fsp.lstat(dir.inside('.'))])
    const inherits = (parent.mode & S_ISGID) !== 0
    const gid = inherits ? parent.gid : ctx.gid
    const chown = givesOwnership && (made.uid !== ctx.uid || made.gid !== gid)
    // Through /proc, because an O_PATH descriptor refuses fchown and fchmod; the link names
    // the open node itself, a symlink included, and is not followed any further.
    if (chown) await fsp.chown(itself(node), ctx.uid, gid)
    // A symlink's mode is always 0777 on Linux, and cannot be changed.
    if (made.isSymbolicLink()) return
    const wanted = made.isDirectory() && inherits ? mode | S_ISGID : mode
    if (chown || (made.mode & 0o7777) !== wanted) await fsp.chmod(itself(node), wanted)
  }

  /** {@link giveToCaller} for the node just created at `entry`, opened without following it. */
  async function giveEntryToCaller(entry: string, dir: Directory, mode: number, ctx: RequestContext): Promise<void> {
    const node = await fsp.open(entry, O_PATH | O_NOFOLLOW)
    try {
      await giveToCaller(node, dir, mode, ctx)
    } finally {
      await node.close()
    }
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
  async function setMode(entry: string, mode: number): Promise<void> {
    const current = await fsp.lstat(entry)
    if ((current.mode & 0o7777) !== mode) await chmodEntry(entry, mode)
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
      if (open !== undefined) return toStat(await open.stat())
      return atNode(path, async (entry) => toStat(await fsp.lstat(entry)))
    },

    async readdir(path) {
      return atNode(path, async (entry) => {
        if (WINDOWS) await refuseLink(entry)
        // Windows cannot open a directory as a file; it reads the checked path instead.
        const handle = WINDOWS ? undefined : await fsp.open(entry, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        const dir = handle === undefined ? pathDirectory(entry) : descriptorDirectory(handle)
        try {
          const names = await fsp.readdir(handle === undefined ? entry : itself(handle))
          // Stats ride along with the names, which saves the kernel a getattr per entry. A
          // name removed since readdir is skipped.
          const entries = await Promise.all(
            names.map(async (name): Promise<DirEntry | undefined> => {
              try {
                return { name, stat: toStat(await fsp.lstat(dir.inside(name))) }
              } catch (error) {
                if (errorCode(error) === 'ENOENT') return undefined
                throw error
              }
            }),
          )
          return entries.filter((e): e is DirEntry => e !== undefined)
        } finally {
          await dir.close()
        }
      })
    },

    async open(path, flags) {
      return remember(
        await atEntry(path, async (entry) => {
          if (WINDOWS) await refuseLink(entry)
          return fsp.open(entry, hostOpenFlags(flags))
        }),
      )
    },

    async create(path, mode, flags, ctx) {
      const file = await atEntry(path, async (entry, dir) => {
        let created: FileHandle
        try {
          created = await fsp.open(entry, hostOpenFlags(flags) | constants.O_CREAT | constants.O_EXCL, mode)
        } catch (error) {
          // Someone created the name since the kernel looked; without O_EXCL, just open it.
          if (errorCode(error) !== 'EEXIST' || (flags & LINUX_O_EXCL) !== 0) throw error
          return await fsp.open(entry, hostOpenFlags(flags))
        }
        try {
          // Windows has no owners to give; the mirror's umask still must not cut the mode.
          await (WINDOWS ? created.chmod(mode) : giveToCaller(created, dir, mode, ctx))
        } catch (error) {
          await created.close()
          throw error
        }
        return created
      })
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
      // Windows cannot open a directory to sync it; its file systems journal their metadata.
      if (WINDOWS) return
      await atNode(path, async (entry) => {
        const dir = await fsp.open(entry, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        try {
          await dir.sync()
        } finally {
          await dir.close()
        }
      })
    },

    async truncate(path, size, handle) {
      const open = handle === undefined ? undefined : files.get(handle)
      if (open !== undefined) {
        await open.truncate(size)
        return
      }
      // O_NONBLOCK: a fifo swapped in for the file must not hang the request.
      const file = await atNode(path, async (entry) => {
        if (WINDOWS) await refuseLink(entry)
        return fsp.open(entry, constants.O_WRONLY | O_NOFOLLOW | O_NONBLOCK)
      })
      try {
        await file.truncate(size)
      } finally {
        await file.close()
      }
    },

    async mkdir(path, mode, ctx) {
      await atEntry(path, async (entry, dir) => {
        await fsp.mkdir(entry, mode)
        await (WINDOWS ? setMode(entry, mode) : giveEntryToCaller(entry, dir, mode, ctx))
      })
    },

    async mknod(path, mode, rdev, ctx) {
      await atEntry(path, async (entry, dir) => {
        await mknod(entry, mode, rdev) // mountkit's, on the host: node:fs has none
        await giveEntryToCaller(entry, dir, mode & 0o7777, ctx)
      })
    },

    async rmdir(path) {
      await atEntry(path, (entry) => fsp.rmdir(entry))
    },

    async unlink(path) {
      await atEntry(path, (entry) => fsp.unlink(entry))
    },

    async rename(fromPath, toPath, flags) {
      // RENAME_EXCHANGE cannot be emulated atomically; EINVAL is what the kernel answers for
      // filesystems without it.
      if (flags !== 0 && flags !== RENAME_NOREPLACE) throw new FsError('EINVAL')
      await atEntry(fromPath, (from) =>
        atEntry(toPath, (to) => (flags === 0 ? fsp.rename(from, to) : renameNoReplace(from, to))),
      )
    },

    async symlink(target, path, ctx) {
      await atEntry(path, async (entry, dir) => {
        await fsp.symlink(target, entry)
        if (!WINDOWS) await giveEntryToCaller(entry, dir, 0o777, ctx)
      })
    },

    async readlink(path) {
      return atNode(path, (entry) => fsp.readlink(entry))
    },

    async link(existingPath, path) {
      await atEntry(existingPath, (existing) => atEntry(path, (entry) => fsp.link(existing, entry)))
    },

    async chmod(path, mode) {
      await atNode(path, (entry) => chmodEntry(entry, mode))
    },

    async chown(path, uid, gid) {
      await atNode(path, (entry) => fsp.lchown(entry, uid, gid))
    },

    async utimens(path, atime, mtime) {
      await atNode(path, async (entry) => {
        if (!WINDOWS) return utimens(entry, atime, mtime) // mountkit's (see the top of this file)
        if (atime === undefined || mtime === undefined) {
          // lutimes sets both: keep the untouched time, as closely as Node passes it on.
          const current = await fsp.lstat(entry, { bigint: true })
          await fsp.lutimes(
            entry,
            atime ?? Number(current.atimeNs) / 1e9,
            mtime ?? Number(current.mtimeNs) / 1e9,
          )
        } else {
          await fsp.lutimes(entry, atime, mtime)
        }
      })
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
  unmountOnSignal(m)
}

if (require.main === module) runCommand('tsx examples/mirror.ts <source-dir> <mountpoint>', 2, main)
