// An in-memory POSIX filesystem with the semantics of a local Linux filesystem (tmpfs is the
// model): hard links, symlinks, special files, xattrs, rename flags, set-ID rules, and files
// that stay readable and writable after unlink until their last close.
//
// Permission checks are left to the kernel (mountkit mounts with `defaultPermissions` on);
// `access` answers for mounts made with it off. Reads do not update atime (as with noatime).
//
// Run: tsx examples/memfs.ts <mountpoint>
import { constants as bufferConstants } from 'node:buffer'
import {
  FsError,
  mount,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  XATTR_CREATE,
  XATTR_REPLACE,
  type FileKind,
  type FileSystem,
  type RequestContext,
  type Stat,
} from '../index' // in an application: from 'mountkit'

// Requests carry flags and modes in Linux numbering on every platform, so they are spelled out
// here instead of taken from fs.constants, whose values differ on Windows and macOS.
const O_ACCMODE = 0o3
const O_RDONLY = 0
const O_EXCL = 0o200
const O_TRUNC = 0o1000
const O_APPEND = 0o2000
const S_IFMT = 0o170000
const S_IFSOCK = 0o140000
const S_IFREG = 0o100000
const S_IFBLK = 0o060000
const S_IFDIR = 0o040000
const S_IFCHR = 0o020000
const S_IFIFO = 0o010000
const S_ISUID = 0o4000
const S_ISGID = 0o2000
const S_IXGRP = 0o010
const ANY_EXECUTE = 0o111
const PERMISSION_BITS = 0o7777
const R_OK = 4
const W_OK = 2
const X_OK = 1
const SEEK_DATA = 3
const SEEK_HOLE = 4
const NAME_MAX = 255
const BLOCK_SIZE = 4096
const MAX_FILE_SIZE = bufferConstants.MAX_LENGTH

/** The kind `mknod` creates for each `S_IFMT` value; 0 means a regular file, as in mknod(2). */
const KIND_OF_TYPE = new Map<number, FileKind>([
  [0, 'file'],
  [S_IFREG, 'file'],
  [S_IFIFO, 'fifo'],
  [S_IFSOCK, 'socket'],
  [S_IFCHR, 'char-device'],
  [S_IFBLK, 'block-device'],
])

export interface MemfsOptions {
  /** Bytes of file data it holds before writes fail with ENOSPC; statfs reports it. Default 1 GiB. */
  capacity?: number
  /** Inodes it holds before creating fails with ENOSPC; statfs reports it. Default 1,000,000. */
  maxInodes?: number
}

/** Calls that have nothing to do in memory, counted so tests can see that they arrive. */
export interface MemfsCounters {
  flush: number
  fsync: number
  fsyncdir: number
}

/** A memfs: every handler is present (so direct callers need no `!`), plus its counters. */
export type Memfs = Required<Omit<FileSystem, 'copyFileRange'>> & {
  readonly counters: Readonly<MemfsCounters>
}

interface InodeBase {
  readonly ino: number
  /** Permission bits only; the type is `kind`. */
  mode: number
  uid: number
  gid: number
  nlink: number
  atime: Date
  mtime: Date
  ctime: Date
  readonly birthtime: Date
  readonly xattrs: Map<string, Buffer>
  /** Open handles; a node with no links stays alive until this drops to zero. */
  openCount: number
}

interface FileInode extends InodeBase {
  readonly kind: 'file'
  readonly content: Content
}

interface DirInode extends InodeBase {
  readonly kind: 'directory'
  readonly children: Map<string, Inode>
  /** Directories have exactly one parent (no hard links to them); the root has none. */
  parent: DirInode | null
}

interface SymlinkInode extends InodeBase {
  readonly kind: 'symlink'
  readonly target: string
}

interface SpecialInode extends InodeBase {
  readonly kind: 'fifo' | 'socket' | 'char-device' | 'block-device'
  readonly rdev: number
}

type Inode = FileInode | DirInode | SymlinkInode | SpecialInode

interface OpenFile {
  readonly inode: Inode
  readonly flags: number
}

/** Bytes of file data in use, against the configured capacity. */
class Space {
  used = 0

  constructor(readonly capacity: number) {}

  /** Accounts for `bytes` more (fewer when negative); refuses growth past capacity. */
  adjust(bytes: number): void {
    if (bytes > 0 && this.used + bytes > this.capacity) throw new FsError('ENOSPC')
    this.used += bytes
  }
}

/**
 * A file's bytes: a buffer that grows by doubling, so a run of appends costs amortised O(1)
 * per byte, with a logical size. Bytes past `size` are always zero, so growing the file (by a
 * write past the end or a truncate) exposes zeros without clearing anything.
 */
class Content {
  private bytes = Buffer.alloc(0)
  private length = 0

  constructor(private readonly space: Space) {}

  get size(): number {
    return this.length
  }

  read(offset: number, length: number): Buffer {
    if (offset >= this.length) return Buffer.alloc(0)
    return this.bytes.subarray(offset, Math.min(this.length, offset + length))
  }

  write(data: Uint8Array, offset: number): void {
    const end = offset + data.length
    if (end > this.length) this.grow(end)
    this.bytes.set(data, offset)
  }

  resize(size: number): void {
    if (size >= this.length) {
      this.grow(size)
      return
    }
    this.space.adjust(size - this.length)
    if (size < this.bytes.length / 4) {
      // Give memory back once most of it is unused.
      const smaller = Buffer.alloc(size)
      this.bytes.copy(smaller, 0, 0, size)
      this.bytes = smaller
    } else {
      this.bytes.fill(0, size, this.length)
    }
    this.length = size
  }

  private grow(size: number): void {
    if (size > MAX_FILE_SIZE) throw new FsError('EFBIG')
    this.space.adjust(size - this.length)
    if (size > this.bytes.length) {
      const bigger = Buffer.alloc(Math.min(MAX_FILE_SIZE, Math.max(size, this.bytes.length * 2)))
      this.bytes.copy(bigger, 0, 0, this.length)
      this.bytes = bigger
    }
    this.length = size
  }
}

function statOf(node: Inode): Stat {
  return {
    kind: node.kind,
    ino: node.ino,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    nlink: node.nlink,
    size: sizeOf(node),
    rdev: 'rdev' in node ? node.rdev : 0,
    atime: node.atime,
    mtime: node.mtime,
    ctime: node.ctime,
    birthtime: node.birthtime,
  }
}

function sizeOf(node: Inode): number {
  switch (node.kind) {
    case 'file':
      return node.content.size
    case 'directory':
      return BLOCK_SIZE
    case 'symlink':
      return Buffer.byteLength(node.target)
    default:
      return 0
  }
}

function changed(node: Inode): void {
  node.ctime = new Date()
}

function modified(node: Inode): void {
  node.mtime = node.ctime = new Date()
}

/**
 * Clears set-user-ID, and set-group-ID where it means "run as group" (group-execute set; without
 * it the bit marks mandatory locking), as Linux does when a file's contents or owner change.
 */
function clearSetIds(node: Inode): void {
  if (node.kind === 'directory') return
  node.mode &= ~S_ISUID
  if ((node.mode & S_IXGRP) !== 0) node.mode &= ~S_ISGID
}

function regularFile(node: Inode): FileInode {
  if (node.kind === 'directory') throw new FsError('EISDIR')
  if (node.kind !== 'file') throw new FsError('EINVAL')
  return node
}

/** `ancestor` is `dir` or one of the directories above it. */
function isWithin(dir: DirInode, ancestor: DirInode): boolean {
  for (let d: DirInode | null = dir; d !== null; d = d.parent) {
    if (d === ancestor) return true
  }
  return false
}

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`createMemfs(): ${name} must be a non-negative integer, got ${value}`)
  }
  return value
}

/** A fresh, empty in-memory filesystem whose root belongs to the current user. */
export function createMemfs(options: MemfsOptions = {}): Memfs {
  const space = new Space(nonNegativeInteger(options.capacity ?? 1024 ** 3, 'capacity'))
  const maxInodes = nonNegativeInteger(options.maxInodes ?? 1_000_000, 'maxInodes')
  const counters: MemfsCounters = { flush: 0, fsync: 0, fsyncdir: 0 }
  const handles = new Map<number, OpenFile>()
  let lastHandle = 0
  let lastIno = 0
  let inodesInUse = 0

  function makeInode(
    kind: FileKind,
    mode: number,
    uid: number,
    gid: number,
    extra: { target?: string; rdev?: number },
  ): Inode {
    if (inodesInUse >= maxInodes) throw new FsError('ENOSPC')
    inodesInUse++
    const now = new Date()
    const base: InodeBase = {
      ino: ++lastIno,
      mode: mode & PERMISSION_BITS,
      uid,
      gid,
      nlink: 1,
      atime: now,
      mtime: now,
      ctime: now,
      birthtime: now,
      xattrs: new Map(),
      openCount: 0,
    }
    switch (kind) {
      case 'file':
        return { ...base, kind, content: new Content(space) }
      case 'directory':
        return { ...base, kind, nlink: 2, children: new Map(), parent: null }
      case 'symlink':
        return { ...base, kind, target: extra.target ?? '' }
      default:
        return { ...base, kind, rdev: extra.rdev ?? 0 }
    }
  }

  const root = makeInode('directory', 0o755, process.getuid?.() ?? 0, process.getgid?.() ?? 0, {}) as DirInode

  function components(path: string): string[] {
    const names = path.split('/').filter((name) => name !== '')
    for (const name of names) {
      if (name === '.' || name === '..') throw new FsError('EINVAL')
      if (Buffer.byteLength(name) > NAME_MAX) throw new FsError('ENAMETOOLONG')
    }
    return names
  }

  function walk(names: string[]): Inode {
    let node: Inode = root
    for (const name of names) {
      if (node.kind !== 'directory') throw new FsError('ENOTDIR')
      const child: Inode | undefined = node.children.get(name)
      if (child === undefined) throw new FsError('ENOENT')
      node = child
    }
    return node
  }

  function lookup(path: string): Inode {
    return walk(components(path))
  }

  /** The directory holding the last component of `path`, and that component. */
  function lookupParent(path: string): { dir: DirInode; name: string } {
    const names = components(path)
    const name = names.pop()
    // The root is no entry of any directory: it cannot be created, removed or renamed.
    if (name === undefined) throw new FsError('EBUSY')
    const dir = walk(names)
    if (dir.kind !== 'directory') throw new FsError('ENOTDIR')
    return { dir, name }
  }

  function child(dir: DirInode, name: string): Inode {
    const node = dir.children.get(name)
    if (node === undefined) throw new FsError('ENOENT')
    return node
  }

  /** The open node behind `handle`, which stays valid after unlink; else the node at `path`. */
  function nodeOf(path: string, handle: number | undefined): Inode {
    const open = handle === undefined ? undefined : handles.get(handle)
    return open?.inode ?? lookup(path)
  }

  function attach(dir: DirInode, name: string, node: Inode): void {
    dir.children.set(name, node)
    if (node.kind === 'directory') {
      node.parent = dir
      dir.nlink++
    }
    modified(dir)
  }

  function detach(dir: DirInode, name: string, node: Inode): void {
    dir.children.delete(name)
    if (node.kind === 'directory') dir.nlink--
    modified(dir)
  }

  /**
   * A new node named `name` in `dir`, owned by the caller; in a set-group-ID directory it takes
   * the directory's group instead, and new subdirectories inherit the bit.
   */
  function addEntry(
    dir: DirInode,
    name: string,
    kind: FileKind,
    mode: number,
    ctx: RequestContext,
    extra: { target?: string; rdev?: number } = {},
  ): Inode {
    if (dir.children.has(name)) throw new FsError('EEXIST')
    const inheritGroup = (dir.mode & S_ISGID) !== 0
    const gid = inheritGroup ? dir.gid : ctx.gid
    const bits = inheritGroup && kind === 'directory' ? mode | S_ISGID : mode
    const node = makeInode(kind, bits, ctx.uid, gid, extra)
    attach(dir, name, node)
    return node
  }

  /** Frees a node once no name and no handle refers to it. */
  function releaseIfUnused(node: Inode): void {
    if (node.nlink > 0 || node.openCount > 0) return
    if (node.kind === 'file') node.content.resize(0)
    inodesInUse--
  }

  /** Removes the entry `name` of `dir`, which names `node`: one link fewer for `node`. */
  function removeEntry(dir: DirInode, name: string, node: Inode): void {
    detach(dir, name, node)
    node.nlink = node.kind === 'directory' ? 0 : node.nlink - 1
    changed(node)
    releaseIfUnused(node)
  }

  function openHandle(node: Inode, flags: number): number {
    const handle = ++lastHandle
    handles.set(handle, { inode: node, flags })
    node.openCount++
    return handle
  }

  function closeHandle(handle: number): void {
    const open = handles.get(handle)
    if (open === undefined) return
    handles.delete(handle)
    open.inode.openCount--
    releaseIfUnused(open.inode)
  }

  /** Content changes by anyone but root drop set-ID bits, so nobody plants a set-ID program. */
  function contentChanged(file: FileInode, ctx: RequestContext): void {
    if (ctx.uid !== 0) clearSetIds(file)
    modified(file)
  }

  function openNode(node: Inode, flags: number, ctx: RequestContext): number {
    const writable = (flags & O_ACCMODE) !== O_RDONLY
    if (node.kind === 'directory' && writable) throw new FsError('EISDIR')
    if (node.kind === 'file' && writable && (flags & O_TRUNC) !== 0) {
      node.content.resize(0)
      contentChanged(node, ctx)
    }
    return openHandle(node, flags)
  }

  /** May the caller `want` (R_OK | W_OK | X_OK) on `node`? Linux rules, primary group only. */
  function permits(node: Inode, want: number, ctx: RequestContext): boolean {
    if (ctx.uid === 0) {
      // Root reads and writes anything; it executes a file only if someone may.
      return (want & X_OK) === 0 || node.kind === 'directory' || (node.mode & ANY_EXECUTE) !== 0
    }
    const shift = ctx.uid === node.uid ? 6 : ctx.gid === node.gid ? 3 : 0
    return ((node.mode >> shift) & want) === want
  }

  function exchange(
    from: { dir: DirInode; name: string },
    to: { dir: DirInode; name: string },
    source: Inode,
    target: Inode,
  ): void {
    if (source.kind === 'directory' && isWithin(to.dir, source)) throw new FsError('EINVAL')
    if (target.kind === 'directory' && isWithin(from.dir, target)) throw new FsError('EINVAL')
    detach(from.dir, from.name, source)
    detach(to.dir, to.name, target)
    attach(from.dir, from.name, target)
    attach(to.dir, to.name, source)
    changed(source)
    changed(target)
  }

  return {
    counters,

    getattr(path, handle) {
      return statOf(nodeOf(path, handle))
    },

    readdir(path, handle) {
      const dir = nodeOf(path, handle)
      if (dir.kind !== 'directory') throw new FsError('ENOTDIR')
      return [...dir.children].map(([name, node]) => ({ name, stat: statOf(node) }))
    },

    open(path, flags, ctx) {
      return openNode(lookup(path), flags, ctx)
    },

    opendir(path, flags) {
      const node = lookup(path)
      if (node.kind !== 'directory') throw new FsError('ENOTDIR')
      return openHandle(node, flags)
    },

    release(path, handle) {
      closeHandle(handle)
    },

    releasedir(path, handle) {
      closeHandle(handle)
    },

    read(path, handle, offset, length) {
      // A view, not a copy: mountkit copies the reply out before any other handler runs.
      return regularFile(nodeOf(path, handle)).content.read(offset, length)
    },

    write(path, handle, data, offset, ctx) {
      const open = handles.get(handle)
      const file = regularFile(open?.inode ?? lookup(path))
      // O_APPEND writes land at the end whatever offset arrives. The kernel sends the end
      // already; this keeps it true for direct callers too. (It would be wrong under the
      // kernel's writeback cache, which mountkit does not turn on.)
      const at = open !== undefined && (open.flags & O_APPEND) !== 0 ? file.content.size : offset
      file.content.write(data, at)
      contentChanged(file, ctx)
      return data.length
    },

    create(path, mode, flags, ctx) {
      const { dir, name } = lookupParent(path)
      // The kernel calls create only for names it saw missing, but another caller may have
      // created it since; without O_EXCL that is an ordinary open.
      const existing = dir.children.get(name)
      if (existing !== undefined && (flags & O_EXCL) === 0) return openNode(existing, flags, ctx)
      const node = addEntry(dir, name, 'file', mode, ctx)
      // The new file's stat spares the kernel a getattr for it.
      return { handle: openHandle(node, flags), stat: statOf(node) }
    },

    mknod(path, mode, rdev, ctx) {
      const type = mode & S_IFMT
      if (type === S_IFDIR) throw new FsError('EPERM')
      const kind = KIND_OF_TYPE.get(type)
      if (kind === undefined) throw new FsError('EINVAL')
      const { dir, name } = lookupParent(path)
      addEntry(dir, name, kind, mode, ctx, { rdev })
    },

    mkdir(path, mode, ctx) {
      const { dir, name } = lookupParent(path)
      addEntry(dir, name, 'directory', mode, ctx)
    },

    unlink(path) {
      const { dir, name } = lookupParent(path)
      const node = child(dir, name)
      if (node.kind === 'directory') throw new FsError('EISDIR')
      removeEntry(dir, name, node)
    },

    rmdir(path) {
      const { dir, name } = lookupParent(path)
      const node = child(dir, name)
      if (node.kind !== 'directory') throw new FsError('ENOTDIR')
      if (node.children.size > 0) throw new FsError('ENOTEMPTY')
      removeEntry(dir, name, node)
    },

    symlink(target, path, ctx) {
      const { dir, name } = lookupParent(path)
      addEntry(dir, name, 'symlink', 0o777, ctx, { target })
    },

    readlink(path) {
      const node = lookup(path)
      if (node.kind !== 'symlink') throw new FsError('EINVAL')
      return node.target
    },

    link(existingPath, path) {
      const node = lookup(existingPath)
      if (node.kind === 'directory') throw new FsError('EPERM')
      const { dir, name } = lookupParent(path)
      if (dir.children.has(name)) throw new FsError('EEXIST')
      attach(dir, name, node)
      node.nlink++
      changed(node)
    },

    rename(fromPath, toPath, flags) {
      if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0 || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
        throw new FsError('EINVAL')
      }
      const from = lookupParent(fromPath)
      const source = child(from.dir, from.name)
      const to = lookupParent(toPath)
      const target = to.dir.children.get(to.name)

      if (flags === RENAME_EXCHANGE) {
        if (target === undefined) throw new FsError('ENOENT')
        if (target !== source) exchange(from, to, source, target)
        return
      }
      // Two names of one file (or one name twice): POSIX says do nothing.
      if (target === source) return
      if (target !== undefined && flags === RENAME_NOREPLACE) throw new FsError('EEXIST')
      if (source.kind === 'directory' && isWithin(to.dir, source)) throw new FsError('EINVAL')
      if (target !== undefined) {
        if (source.kind === 'directory' && target.kind !== 'directory') throw new FsError('ENOTDIR')
        if (source.kind !== 'directory' && target.kind === 'directory') throw new FsError('EISDIR')
        if (target.kind === 'directory' && target.children.size > 0) throw new FsError('ENOTEMPTY')
        removeEntry(to.dir, to.name, target)
      }
      detach(from.dir, from.name, source)
      attach(to.dir, to.name, source)
      changed(source)
    },

    truncate(path, size, handle, ctx) {
      const file = regularFile(nodeOf(path, handle))
      file.content.resize(size)
      contentChanged(file, ctx)
    },

    chmod(path, mode) {
      const node = lookup(path)
      node.mode = mode & PERMISSION_BITS
      changed(node)
    },

    chown(path, uid, gid) {
      const node = lookup(path)
      if (uid !== -1) node.uid = uid
      if (gid !== -1) node.gid = gid
      // Linux clears the set-ID bits on any chown of a non-directory, by root too.
      if (uid !== -1 || gid !== -1) clearSetIds(node)
      changed(node)
    },

    utimens(path, atime, mtime) {
      const node = lookup(path)
      if (atime !== undefined) node.atime = atime
      if (mtime !== undefined) node.mtime = mtime
      changed(node)
    },

    statfs() {
      const blocks = Math.floor(space.capacity / BLOCK_SIZE)
      const blocksFree = Math.max(0, blocks - Math.ceil(space.used / BLOCK_SIZE))
      return {
        blockSize: BLOCK_SIZE,
        blocks,
        blocksFree,
        blocksAvailable: blocksFree,
        files: maxInodes,
        filesFree: maxInodes - inodesInUse,
        nameMax: NAME_MAX,
      }
    },

    flush() {
      counters.flush++
    },

    fsync() {
      counters.fsync++
    },

    fsyncdir() {
      counters.fsyncdir++
    },

    access(path, mode, ctx) {
      const node = lookup(path)
      if (!permits(node, mode & (R_OK | W_OK | X_OK), ctx)) throw new FsError('EACCES')
    },

    getxattr(path, name) {
      const value = lookup(path).xattrs.get(name)
      if (value === undefined) throw new FsError('ENODATA')
      return value
    },

    setxattr(path, name, value, flags) {
      const node = lookup(path)
      const exists = node.xattrs.has(name)
      if ((flags & XATTR_CREATE) !== 0 && exists) throw new FsError('EEXIST')
      if ((flags & XATTR_REPLACE) !== 0 && !exists) throw new FsError('ENODATA')
      // Copied: the request's buffer is not ours to keep.
      node.xattrs.set(name, Buffer.from(value))
      changed(node)
    },

    listxattr(path) {
      return [...lookup(path).xattrs.keys()]
    },

    removexattr(path, name) {
      const node = lookup(path)
      if (!node.xattrs.delete(name)) throw new FsError('ENODATA')
      changed(node)
    },

    fallocate(path, handle, offset, length, mode, ctx) {
      // Only plain allocation: memory is not reserved ahead, so KEEP_SIZE could not keep its
      // promise that later writes in the range will not fail, and there are no holes to punch.
      if (mode !== 0) throw new FsError('EOPNOTSUPP')
      const file = regularFile(nodeOf(path, handle))
      if (offset + length > file.content.size) {
        file.content.resize(offset + length)
        contentChanged(file, ctx)
      }
    },

    lseek(path, handle, offset, whence) {
      if (whence !== SEEK_DATA && whence !== SEEK_HOLE) throw new FsError('EINVAL')
      // Files here have no holes: all data up to the size, one implicit hole at the end.
      const size = regularFile(nodeOf(path, handle)).content.size
      if (offset >= size) throw new FsError('ENXIO')
      return whence === SEEK_DATA ? offset : size
    },
  }
}

async function main(mountpoint: string): Promise<void> {
  const m = await mount(mountpoint, createMemfs())
  console.log(`memfs mounted at ${m.mountpoint} (Ctrl-C unmounts; the contents go with it)`)
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
  const [mountpoint] = process.argv.slice(2)
  if (mountpoint === undefined) {
    console.error('usage: tsx examples/memfs.ts <mountpoint>')
    process.exit(2)
  }
  main(mountpoint).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(1)
  })
}
