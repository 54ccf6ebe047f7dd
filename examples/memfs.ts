// An in-memory POSIX filesystem with the semantics of a local Linux filesystem (tmpfs is the
// model): hard links, symlinks, special files, xattrs, rename flags, set-ID rules, files that
// stay readable and writable after unlink until their last close, and sparse files (holes take
// no memory; SEEK_DATA/SEEK_HOLE, fallocate's KEEP_SIZE and PUNCH_HOLE).
//
// Permission checks are left to the kernel (mountkit mounts with `defaultPermissions` on);
// `access` answers for mounts made with it off. Reads do not update atime (as with noatime).
// On Windows it also keeps each file's attributes (hidden, system, ...), creation time and
// security descriptor.
//
// Run: tsx examples/memfs.ts <mountpoint>
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
  type WindowsAttributes,
} from '../index' // in an application: from 'mountkit'
import { runCommand, unmountOnSignal } from './command-line'

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
const FALLOC_FL_KEEP_SIZE = 0x01
const FALLOC_FL_PUNCH_HOLE = 0x02
/** Offsets arrive as JavaScript numbers, which are exact up to 2^53. */
const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER

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
  /**
   * Bytes of file data it holds (holes do not count) before writes fail with ENOSPC; statfs
   * reports it. Default 1 GiB.
   */
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
  /** Set from Windows (`setAttributes`); POSIX has no call that changes it. */
  birthtime: Date
  /** Windows attributes, as `setAttributes` last stored them. */
  attributes: WindowsAttributes
  readonly xattrs: Map<string, Buffer>
  /** Windows: the security descriptor (SDDL) last stored; unset, it follows uid, gid and mode. */
  security: string | undefined
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
 * The longest extent, 1 MiB, the most data the kernel sends in one FUSE read or write. A file
 * is cut into spans of this length, aligned, and no extent crosses from one span into another.
 */
const MAX_EXTENT = 1024 * 1024

/** A run of a file's bytes held in memory. */
interface Extent {
  /** The file offset of its first byte. */
  start: number
  /** How many bytes it holds. */
  length: number
  /** Those bytes, with room to grow on either side; the room is zero and within the span. */
  bytes: Buffer
  /** The file offset of `bytes[0]`. */
  base: number
}

/**
 * A file's bytes, held sparsely: a sorted list of extents, each a run of bytes written (or
 * allocated by fallocate) in a buffer of its own. Holes between extents read as zeros and take
 * no memory; only the bytes in extents count against capacity and in st_blocks. Bytes at or
 * past the size are always zero (extents reach past it only when fallocate keeps the size), so
 * growing a file exposes zeros without clearing anything.
 *
 * Extents rather than fixed-size pages, workload by workload:
 * - Sequential appends, the common case, grow the last extent in place, its room doubling when
 *   it runs out: amortised O(1) per byte (writes going backwards too: room grows on the side
 *   an extent grows). A read within one extent's buffer is a view of it, not a copy, and the
 *   kernel's reads of written data (aligned, 128 KiB to 1 MiB) each fall within one. Pages
 *   small enough not to waste memory on scattered 4 KiB writes would cut each such read into
 *   dozens of pieces to copy together, at an object per 4 KiB; pages big enough to serve them
 *   whole would hold a whole page for each 4 KiB written.
 * - Random 4 KiB writes: into data, a binary search and a copy in place; into a hole, an extent
 *   of 4 KiB, which merges with its neighbours as the gaps between them fill.
 * - 1 MiB writes: an extent each, one copy.
 * - Extents are at most MAX_EXTENT long, within their span, so growing, merging or cutting one
 *   copies at most 1 MiB, however big the file (a single buffer copied the whole file each
 *   time it doubled, and every request waited meanwhile); and dense data is one extent per
 *   MiB, a binary search over a few thousand per GiB.
 * - Truncating and punching holes drop the extents in the range and cut at most two; memory
 *   and capacity come back at once.
 * - Memory: the bytes held, an object per extent, and spare room in extents that are growing
 *   or were cut short (a buffer less than a quarter used is replaced by a fitting one).
 */
class Content {
  /** Sorted by `start` and disjoint; extents touch only where one span meets the next. */
  private readonly extents: Extent[] = []
  private length = 0
  /** Bytes in extents. */
  private held = 0

  constructor(private readonly space: Space) {}

  get size(): number {
    return this.length
  }

  /** 512-byte blocks held, as st_blocks counts them. */
  get blocks(): number {
    return Math.ceil(this.held / 512)
  }

  read(offset: number, length: number): Buffer {
    const end = Math.min(this.length, offset + length)
    if (offset >= end) return Buffer.alloc(0)
    const first = this.firstEndingAfter(offset)
    const extent = this.extents[first]
    const next = this.extents[first + 1]
    // Where no other extent holds bytes in the range, and this one's buffer covers it, a view
    // of the buffer: its room is zero, as the holes it stands for read.
    if (
      extent !== undefined &&
      extent.base <= offset &&
      end <= extent.base + extent.bytes.length &&
      (next === undefined || next.start >= end)
    ) {
      return extent.bytes.subarray(offset - extent.base, end - extent.base)
    }
    // Several extents, or holes no buffer covers: a copy, where holes stay zero.
    const gathered = Buffer.alloc(end - offset)
    for (let i = first; i < this.extents.length && this.extents[i].start < end; i++) {
      const { start, length: held, bytes, base } = this.extents[i]
      const from = Math.max(offset, start)
      bytes.copy(gathered, from - offset, from - base, Math.min(end, start + held) - base)
    }
    return gathered
  }

  write(data: Uint8Array, offset: number): void {
    const end = endOf(offset, data.length)
    this.charge(data.length - this.heldWithin(offset, end))
    this.place(offset, end, data)
    if (end > this.length) this.length = end
  }

  resize(size: number): void {
    if (size > MAX_FILE_SIZE) throw new FsError('EFBIG')
    if (size < this.length) this.discard(size, Infinity)
    this.length = size
  }

  /**
   * fallocate's allocation: holds zeros in the holes of the range, so that writes there cannot
   * fail for want of space, and grows the size to the range's end unless `keepSize`.
   */
  allocate(offset: number, length: number, keepSize: boolean): void {
    const end = endOf(offset, length)
    const holes = this.holesWithin(offset, end)
    this.charge(holes.reduce((sum, [from, to]) => sum + to - from, 0))
    for (const [from, to] of holes) this.place(from, to, undefined)
    if (!keepSize && end > this.length) this.length = end
  }

  /** fallocate's PUNCH_HOLE: the range reads as zeros and holds nothing; the size stays. */
  punchHole(offset: number, length: number): void {
    this.discard(offset, offset + length)
  }

  /** SEEK_DATA: the first offset at or after `offset` that holds data. */
  nextData(offset: number): number {
    this.checkSeek(offset)
    const next = this.extents[this.firstEndingAfter(offset)]
    if (next === undefined || next.start >= this.length) throw new FsError('ENXIO')
    return Math.max(offset, next.start)
  }

  /** SEEK_HOLE: the first offset at or after `offset` in a hole; the end of the file is one. */
  nextHole(offset: number): number {
    this.checkSeek(offset)
    let at = offset
    for (let i = this.firstEndingAfter(offset); i < this.extents.length && this.extents[i].start <= at; i++) {
      at = this.extents[i].start + this.extents[i].length
    }
    return Math.min(at, this.length)
  }

  /** As on Linux, SEEK_DATA and SEEK_HOLE start inside the file. */
  private checkSeek(offset: number): void {
    if (offset < 0 || offset >= this.length) throw new FsError('ENXIO')
  }

  /** Counts `bytes` more held (fewer when negative), refusing them all past capacity. */
  private charge(bytes: number): void {
    this.space.adjust(bytes)
    this.held += bytes
  }

  /** The index of the first extent ending after `offset`: the one holding it, or the next. */
  private firstEndingAfter(offset: number): number {
    let low = 0
    let high = this.extents.length
    while (low < high) {
      const middle = (low + high) >>> 1
      const extent = this.extents[middle]
      if (extent.start + extent.length > offset) high = middle
      else low = middle + 1
    }
    return low
  }

  /** How many bytes of [from, to) extents hold. */
  private heldWithin(from: number, to: number): number {
    let held = 0
    for (let i = this.firstEndingAfter(from); i < this.extents.length && this.extents[i].start < to; i++) {
      const { start, length } = this.extents[i]
      held += Math.min(to, start + length) - Math.max(from, start)
    }
    return held
  }

  /** The holes in [from, to), as [start, end) pairs. */
  private holesWithin(from: number, to: number): [number, number][] {
    const holes: [number, number][] = []
    let at = from
    for (let i = this.firstEndingAfter(from); i < this.extents.length && this.extents[i].start < to; i++) {
      const { start, length } = this.extents[i]
      if (start > at) holes.push([at, start])
      at = start + length
    }
    if (at < to) holes.push([at, to])
    return holes
  }

  /** Holds `data` at [start, end); zeros when it is undefined, which only holes may receive. */
  private place(start: number, end: number, data: Uint8Array | undefined): void {
    for (let from = start; from < end; ) {
      const to = Math.min(end, from - (from % MAX_EXTENT) + MAX_EXTENT)
      this.placeInSpan(from, to, data?.subarray(from - start, to - start))
      from = to
    }
  }

  /**
   * `place` within one MAX_EXTENT-aligned span: the extents of the span that [start, end)
   * overlaps or touches become one, holding it too; if there are none, it gets its own.
   */
  private placeInSpan(start: number, end: number, data: Uint8Array | undefined): void {
    const extents = this.extents
    const spanStart = start - (start % MAX_EXTENT)
    const spanEnd = spanStart + MAX_EXTENT
    // From the first extent ending at or after `start`, unless that is the previous span's,
    // ending where this one starts.
    let first = this.firstEndingAfter(start - 1)
    if (first < extents.length && extents[first].start < spanStart) first++
    let last = first
    while (last < extents.length && extents[last].start <= end && extents[last].start < spanEnd) last++
    if (first === last) {
      extents.splice(first, 0, { start, length: end - start, bytes: newBytes(end - start, data), base: start })
      return
    }
    const mergedStart = Math.min(start, extents[first].start)
    const mergedEnd = Math.max(end, extents[last - 1].start + extents[last - 1].length)
    // The longest keeps its buffer if the result fits there, and the others are copied in: a
    // byte moves only when its extent joins a longer one, so filling a span in any order
    // copies each byte O(log n) times.
    let longest = extents[first]
    for (let i = first + 1; i < last; i++) if (extents[i].length > longest.length) longest = extents[i]
    let merged = longest
    if (mergedStart < longest.base || mergedEnd > longest.base + longest.bytes.length) {
      // A new buffer with twice the room (within the span), on the side it grows, so that
      // appends, and writes going backwards, cost amortised O(1) per byte.
      const room = Math.min(MAX_EXTENT, Math.max(mergedEnd - mergedStart, 2 * longest.bytes.length))
      const base = mergedStart < longest.start ? Math.max(spanStart, mergedEnd - room) : Math.min(mergedStart, spanEnd - room)
      merged = { start: mergedStart, length: 0, bytes: Buffer.alloc(room), base }
    }
    for (let i = first; i < last; i++) if (extents[i] !== merged) copyHeld(extents[i], merged)
    if (data !== undefined) merged.bytes.set(data, start - merged.base)
    merged.start = mergedStart
    merged.length = mergedEnd - mergedStart
    if (merged !== extents[first] || last > first + 1) extents.splice(first, last - first, merged)
  }

  /** Drops what extents hold in [from, to): it reads as zeros again, and its space is free. */
  private discard(from: number, to: number): void {
    let freed = 0
    let i = this.firstEndingAfter(from)
    while (i < this.extents.length && this.extents[i].start < to) {
      const extent = this.extents[i]
      const end = extent.start + extent.length
      const cutStart = Math.max(from, extent.start)
      const cutEnd = Math.min(to, end)
      freed += cutEnd - cutStart
      // What follows the cut is copied out before what precedes it is cut short.
      const after = cutEnd < end ? copiedOut(extent, cutEnd, end) : undefined
      const kept: Extent[] = []
      if (cutStart > extent.start) kept.push(shortened(extent, cutStart - extent.start))
      if (after !== undefined) kept.push(after)
      this.extents.splice(i, 1, ...kept)
      i += kept.length
    }
    this.charge(-freed)
  }
}

/** `offset + length`, refused with EFBIG past the largest file. */
function endOf(offset: number, length: number): number {
  const end = offset + length
  if (end > MAX_FILE_SIZE) throw new FsError('EFBIG')
  return end
}

/** A buffer of its own, of `length` bytes: `data`, or zeros. */
function newBytes(length: number, data: Uint8Array | undefined): Buffer {
  const bytes = Buffer.alloc(length)
  if (data !== undefined) bytes.set(data)
  return bytes
}

/** Copies what `from` holds into `to`'s buffer, at its place in the file. */
function copyHeld(from: Extent, to: Extent): void {
  const at = from.start - from.base
  from.bytes.copy(to.bytes, from.start - to.base, at, at + from.length)
}

/** The bytes `extent` holds in [from, to), as an extent with a buffer of its own. */
function copiedOut(extent: Extent, from: number, to: number): Extent {
  const bytes = newBytes(to - from, extent.bytes.subarray(from - extent.base, to - extent.base))
  return { start: from, length: to - from, bytes, base: from }
}

/** `extent` cut to its first `length` bytes; a buffer less than a quarter used is replaced. */
function shortened(extent: Extent, length: number): Extent {
  const at = extent.start - extent.base
  if (length < extent.bytes.length / 4) {
    extent.bytes = newBytes(length, extent.bytes.subarray(at, at + length))
    extent.base = extent.start
  } else {
    extent.bytes.fill(0, at + length, at + extent.length)
  }
  extent.length = length
  return extent
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
    // A file's blocks are what it holds, holes excluded; other kinds take the size rounded up.
    blocks: node.kind === 'file' ? node.content.blocks : undefined,
    rdev: 'rdev' in node ? node.rdev : 0,
    atime: node.atime,
    mtime: node.mtime,
    ctime: node.ctime,
    birthtime: node.birthtime,
    attributes: node.attributes,
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
      attributes: {},
      xattrs: new Map(),
      security: undefined,
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
      // Mostly a view of the file's buffer, not a copy (see Content): mountkit copies the reply
      // out before any other handler runs.
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

    setAttributes(path, attributes, birthtime) {
      const node = lookup(path)
      if (attributes !== undefined) node.attributes = { ...attributes }
      if (birthtime !== undefined) node.birthtime = birthtime
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

    getSecurity(path) {
      const { security } = lookup(path)
      // Nothing stored: mountkit derives the descriptor from uid, gid and mode.
      if (security === undefined) throw new FsError('ENOSYS')
      return security
    },

    setSecurity(path, sddl) {
      const node = lookup(path)
      node.security = sddl
      changed(node)
    },

    fallocate(path, handle, offset, length, mode, ctx) {
      // tmpfs's modes: allocation, which may keep the size, and punching a hole, which Linux
      // accepts only with KEEP_SIZE. Each counts as a change of content there, as here.
      const file = regularFile(nodeOf(path, handle))
      switch (mode) {
        case 0:
        case FALLOC_FL_KEEP_SIZE:
          file.content.allocate(offset, length, mode === FALLOC_FL_KEEP_SIZE)
          break
        case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
          file.content.punchHole(offset, length)
          break
        default:
          throw new FsError('EOPNOTSUPP')
      }
      contentChanged(file, ctx)
    },

    lseek(path, handle, offset, whence) {
      if (whence !== SEEK_DATA && whence !== SEEK_HOLE) throw new FsError('EINVAL')
      const content = regularFile(nodeOf(path, handle)).content
      return whence === SEEK_DATA ? content.nextData(offset) : content.nextHole(offset)
    },
  }
}

async function main(mountpoint: string): Promise<void> {
  const m = await mount(mountpoint, createMemfs())
  console.log(`memfs mounted at ${m.mountpoint} (Ctrl-C unmounts; the contents go with it)`)
  unmountOnSignal(m)
}

if (require.main === module) runCommand('tsx examples/memfs.ts <mountpoint>', 1, main)
