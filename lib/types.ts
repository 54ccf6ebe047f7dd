// The public types of the API, in a module of their own so that lib/* can use them without
// importing index.ts (which imports lib/*). index.ts re-exports every one of them.

/** What kind of object a path names. */
export type FileKind =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'fifo'
  | 'socket'
  | 'char-device'
  | 'block-device'

/** A point in time: a `Date`, or milliseconds since the Unix epoch. */
export type TimeLike = Date | number

/**
 * Metadata of one file. Only `kind` is required; the rest default to: size 0, mode 0o644
 * (0o755 for directories), uid/gid of the mounting process, nlink 1 (2 for directories),
 * times at the Unix epoch.
 *
 * `mode` holds permission bits only (`0o7777`); the type comes from `kind`. A non-zero `ino`
 * is the file's identity: two paths reporting the same `ino` are hard links of one file.
 */
export interface Stat {
  kind: FileKind
  size?: number
  mode?: number
  uid?: number
  gid?: number
  nlink?: number
  ino?: number
  /** Device number, for character and block devices. */
  rdev?: number
  /** 512-byte blocks allocated; defaults to `size` rounded up. */
  blocks?: number
  atime?: TimeLike
  mtime?: TimeLike
  ctime?: TimeLike
  /** Creation time. Reported on Windows; FUSE cannot report it (docs/api-guide.md). */
  birthtime?: TimeLike
  /** Windows attributes; unset flags are off. Ignored by FUSE. */
  attributes?: WindowsAttributes
}

/**
 * Windows file attributes, as {@link Stat.attributes} reports them and
 * {@link FileSystem.setAttributes} receives them. Only `readonly` has a POSIX counterpart:
 * Windows also reports a file as read-only when its owner write bit (`0o200`) is clear,
 * whatever `readonly` says.
 */
export interface WindowsAttributes {
  /** `FILE_ATTRIBUTE_HIDDEN`: left out of ordinary listings. */
  hidden?: boolean
  /** `FILE_ATTRIBUTE_READONLY`: cannot be written or deleted. */
  readonly?: boolean
  /** `FILE_ATTRIBUTE_SYSTEM`: used by the operating system. */
  system?: boolean
  /** `FILE_ATTRIBUTE_ARCHIVE`: changed since the last backup. */
  archive?: boolean
  /** `FILE_ATTRIBUTE_NOT_CONTENT_INDEXED`: the content indexer skips it. */
  notContentIndexed?: boolean
  /** `FILE_ATTRIBUTE_OFFLINE`: its data is not available at once (remote or slow storage). */
  offline?: boolean
}

/** One name in a directory. Give `stat` when you have it at hand: it saves a `getattr`. */
export type DirEntry = { name: string; kind: FileKind; stat?: Stat } | { name: string; stat: Stat }

/** Capacity figures, as `statfs(2)` reports them. Unset figures are 0. */
export interface StatFs {
  blockSize?: number
  fragmentSize?: number
  blocks?: number
  blocksFree?: number
  blocksAvailable?: number
  files?: number
  filesFree?: number
  nameMax?: number
}

/**
 * The answer to `open`, `opendir` and `create`: a handle number that later calls on the same
 * open file receive, or an object with caching hints. Returning nothing means handle 0.
 */
export type OpenResult =
  | number
  | void
  | undefined
  | {
      handle?: number
      /** Bypass the page cache: every read and write reaches `read`/`write`. */
      directIo?: boolean
      /** Keep pages cached from the previous open of this file. */
      keepCache?: boolean
      /** The file is a stream; `lseek` fails on it. */
      nonSeekable?: boolean
      /**
       * Serve this open file's bytes from a real file: reads, writes, flushes and fsyncs of the
       * handle never reach your handlers. The kernel serves it directly (FUSE passthrough)
       * where it can, else Rust does. The file is opened with the request's access mode.
       */
      backingPath?: string
      /** Like `backingPath`, for a descriptor you opened (it is duplicated; close yours when you like). */
      backingFd?: number
      /**
       * `create` only: the new file's attributes. FUSE and WinFsp then answer with them
       * instead of calling `getattr` for the file just made, which saves a request on every
       * file creation. (Dokan never asks: it describes a new file from the create's own mode.)
       */
      stat?: Stat
    }

/**
 * Who made a request. On Linux `pid` is the id of the calling thread as the kernel reports it
 * (for a single-threaded caller, its process id). On Windows it is the calling process's id:
 * WinFsp reports it only for creates, opens and renames and gives 0 for every other request.
 */
export interface RequestContext {
  uid: number
  gid: number
  pid: number
}

/** A value, or a promise of one: every handler may be sync or async. */
export type MaybePromise<T> = T | Promise<T>

/** `rename` flags (Linux numbering). */
export const RENAME_NOREPLACE = 1
export const RENAME_EXCHANGE = 2
/** `setxattr` flags (Linux numbering). */
export const XATTR_CREATE = 1
export const XATTR_REPLACE = 2

/**
 * A filesystem: an object of handlers. Each handler may return a value or a promise; a missing
 * handler answers `ENOSYS` ("not supported"). Throw {@link FsError} (or any error with a POSIX
 * `code` such as `'ENOENT'`) to fail a request with that code; anything else thrown becomes
 * `EIO` and is reported on the mount's `error` event.
 *
 * Paths are absolute and `/`-separated on every platform. The last parameter of every handler
 * is the {@link RequestContext} of the caller.
 */
export interface FileSystem {
  /** Metadata of `path`. `handle` is set when the caller holds the file open (`fstat`). */
  getattr?(path: string, handle: number | undefined, ctx: RequestContext): MaybePromise<Stat>
  /** The names in a directory, without `.` and `..` (they are added for you). */
  readdir?(path: string, handle: number, ctx: RequestContext): MaybePromise<DirEntry[]>
  /** Open a file; `flags` are the `open(2)` flags (`fs.constants.O_*`). */
  open?(path: string, flags: number, ctx: RequestContext): MaybePromise<OpenResult>
  opendir?(path: string, flags: number, ctx: RequestContext): MaybePromise<OpenResult>
  /** The last close of an open file. Errors are not seen by the caller. */
  release?(path: string, handle: number, flags: number, ctx: RequestContext): MaybePromise<void>
  releasedir?(path: string, handle: number, ctx: RequestContext): MaybePromise<void>
  /** Up to `length` bytes at `offset`; fewer (or none) at end of file. */
  read?(
    path: string,
    handle: number,
    offset: number,
    length: number,
    ctx: RequestContext,
  ): MaybePromise<Uint8Array>
  /**
   * Write `data` at `offset`; return how many bytes were written.
   *
   * `data` is valid until this handler settles (returns, throws, or its promise settles);
   * mountkit then reuses its memory for later writes. Copy what you keep beyond that
   * (`Buffer.from(data)`, `data.copy(target)`, `target.set(data)`): a `data` kept and read
   * later shows another write's bytes, and writing into it then would change theirs. `data`
   * is a view into a larger reused buffer: use `data` itself, not `data.buffer`.
   */
  write?(
    path: string,
    handle: number,
    data: Buffer,
    offset: number,
    ctx: RequestContext,
  ): MaybePromise<number>
  /** Create and open a regular file. `mode` holds permission bits (umask already applied). */
  create?(path: string, mode: number, flags: number, ctx: RequestContext): MaybePromise<OpenResult>
  /**
   * Create a special file; `mode` includes the type bits (`fs.constants.S_IF*`). May return
   * the new file's `Stat`, as `mkdir` may.
   */
  mknod?(path: string, mode: number, rdev: number, ctx: RequestContext): MaybePromise<void | Stat>
  /**
   * Create a directory. May return the new directory's `Stat`: FUSE then answers with it
   * instead of calling `getattr` for the name just made (as `symlink`, `link` and `mknod`
   * may, and `create` with `OpenResult.stat`). Other results are ignored, as before.
   */
  mkdir?(path: string, mode: number, ctx: RequestContext): MaybePromise<void | Stat>
  unlink?(path: string, ctx: RequestContext): MaybePromise<void>
  rmdir?(path: string, ctx: RequestContext): MaybePromise<void>
  /**
   * Create a symlink at `path` pointing to `target`, stored as given. On WinFsp a Windows
   * program's `CreateSymbolicLinkW` arrives here, its target in POSIX spelling: relative, or
   * absolute from the mount's root (docs/api-guide.md, "Symbolic links on Windows"). May
   * return the link's `Stat`, as `mkdir` may.
   */
  symlink?(target: string, path: string, ctx: RequestContext): MaybePromise<void | Stat>
  /**
   * What the symlink at `path` points to (`EINVAL` for anything else). On WinFsp this is the
   * link's reparse data, with `/` turned into `\` and an absolute target put on the mount's drive.
   */
  readlink?(path: string, ctx: RequestContext): MaybePromise<string>
  /**
   * Create a hard link at `path` to `existingPath`. May return the file's `Stat` (its link
   * count already raised), as `mkdir` may.
   */
  link?(existingPath: string, path: string, ctx: RequestContext): MaybePromise<void | Stat>
  /** `flags`: 0, {@link RENAME_NOREPLACE} or {@link RENAME_EXCHANGE}. */
  rename?(from: string, to: string, flags: number, ctx: RequestContext): MaybePromise<void>
  truncate?(path: string, size: number, handle: number | undefined, ctx: RequestContext): MaybePromise<void>
  /** `mode` holds permission bits only. */
  chmod?(path: string, mode: number, ctx: RequestContext): MaybePromise<void>
  /** `-1` leaves the uid or gid unchanged, as in `chown(2)`. */
  chown?(path: string, uid: number, gid: number, ctx: RequestContext): MaybePromise<void>
  /** `undefined` leaves that time unchanged; "now" arrives as the current time. */
  utimens?(
    path: string,
    atime: Date | undefined,
    mtime: Date | undefined,
    ctx: RequestContext,
  ): MaybePromise<void>
  /**
   * Windows only: store a file's attributes, its creation time, or both; `undefined` leaves
   * one unchanged. `attributes` carries every flag as it should now be (Windows sets them as a
   * whole), and comes only when they differ from what `getattr` reported. Called on WinFsp and
   * Dokan for `SetFileAttributes`, `SetFileTime` with a creation time,
   * `FILE_BASIC_INFORMATION`, and a create that asks for attributes (on WinFsp an overwrite
   * too); FUSE never calls it. Read-only also arrives
   * as `chmod` (write bits cleared, or the owner's restored). Without this handler Windows
   * programs still succeed, and the file keeps what `getattr` reports. See docs/api-guide.md.
   */
  setAttributes?(
    path: string,
    attributes: Required<WindowsAttributes> | undefined,
    birthtime: Date | undefined,
    ctx: RequestContext,
  ): MaybePromise<void>
  statfs?(path: string, ctx: RequestContext): MaybePromise<StatFs>
  /** Called on every `close(2)` of a file descriptor. */
  flush?(path: string, handle: number, ctx: RequestContext): MaybePromise<void>
  fsync?(path: string, handle: number, datasync: boolean, ctx: RequestContext): MaybePromise<void>
  fsyncdir?(path: string, handle: number, datasync: boolean, ctx: RequestContext): MaybePromise<void>
  /** `access(2)`; only called when `defaultPermissions` is off. */
  access?(path: string, mode: number, ctx: RequestContext): MaybePromise<void>
  /** Throw `ENODATA` for a missing attribute. */
  getxattr?(path: string, name: string, ctx: RequestContext): MaybePromise<Uint8Array | string>
  /** `flags`: 0, {@link XATTR_CREATE} or {@link XATTR_REPLACE}. */
  setxattr?(path: string, name: string, value: Buffer, flags: number, ctx: RequestContext): MaybePromise<void>
  listxattr?(path: string, ctx: RequestContext): MaybePromise<string[]>
  removexattr?(path: string, name: string, ctx: RequestContext): MaybePromise<void>
  fallocate?(
    path: string,
    handle: number,
    offset: number,
    length: number,
    mode: number,
    ctx: RequestContext,
  ): MaybePromise<void>
  /** `SEEK_DATA` (3) / `SEEK_HOLE` (4) support; return the resulting offset. */
  lseek?(path: string, handle: number, offset: number, whence: number, ctx: RequestContext): MaybePromise<number>
  /** Copy bytes between two open files without passing them through the caller. */
  copyFileRange?(
    fromPath: string,
    fromHandle: number,
    fromOffset: number,
    toPath: string,
    toHandle: number,
    toOffset: number,
    length: number,
    ctx: RequestContext,
  ): MaybePromise<number>
  /**
   * Windows only: the file's security descriptor in SDDL (owner, group and DACL, e.g.
   * `O:BAG:SYD:P(A;;FA;;;BA)(A;;FR;;;WD)`), for a filesystem that keeps real ACLs. WinFsp checks
   * opens against it; Dokan only reports it. Without this handler the descriptor is derived
   * from the file's `uid`, `gid` and `mode` (docs/windows-winfsp.md, *Security*), as it is for
   * a file whose handler throws `ENOSYS` (one with no descriptor stored). No FUSE
   * request asks for it: on Linux, POSIX ACLs are the `system.posix_acl_*` extended attributes
   * served by `getxattr`/`setxattr`.
   */
  getSecurity?(path: string, ctx: RequestContext): MaybePromise<string>
  /**
   * Windows only: store the file's whole new security descriptor in SDDL. A program's change
   * (SetFileSecurity, SetSecurityInfo: owner, group or DACL) arrives merged into the descriptor
   * the file had, so `sddl` is always complete; a file created through Windows gets its
   * directory's inheritable ACEs merged with what its creator asked for. The volume then claims
   * persistent ACLs. Without this handler (or when it throws `ENOSYS`) a change succeeds and
   * changes nothing where nothing is lost (the fixed descriptor of `defaultPermissions: false`
   * without `getSecurity`, as on FAT, or a change to what the file has), and is refused
   * otherwise (docs/windows-winfsp.md, *Security*).
   */
  setSecurity?(path: string, sddl: string, ctx: RequestContext): MaybePromise<void>
}

/** Options of {@link mount}. */
export interface MountOptions {
  /**
   * Which backend serves the mount. `'auto'` picks FUSE on Linux; on Windows WinFsp when its
   * DLL loads and its driver service can start, else Dokan 2 when it works, else WinFsp if it
   * is installed (failing with its own error), else fails naming both installers (as
   * `mountkit doctor` reports). Default `'auto'`.
   */
  backend?: 'auto' | 'fuse' | 'winfsp' | 'dokan'
  /** Refuse every change with `EROFS`. Default false. */
  readOnly?: boolean
  /** Let users other than the mounting one see the mount. Default false. */
  allowOther?: boolean
  /**
   * Let the kernel check permissions from `mode`/`uid`/`gid`. Default true. On Windows each
   * file then reports a security descriptor derived from them (uid/gid 0, the default there,
   * stand for the user who mounted), which WinFsp checks every open against and Dokan only
   * reports; off, every file reports one descriptor granting everyone full access. A
   * `getSecurity` handler's answer takes precedence either way.
   */
  defaultPermissions?: boolean
  /** How long the kernel may cache attributes, in ms. Default 1000. */
  attrTimeoutMs?: number
  /** How long the kernel may cache name lookups, in ms. Default 1000. */
  entryTimeoutMs?: number
  /** How long the kernel may remember that a name does not exist, in ms. Default 0 (never). */
  negativeTimeoutMs?: number
  /**
   * Let the kernel keep directory listings between opens. Call {@link Mount.invalidate} on a
   * directory whose entries change behind the kernel's back. Default false.
   */
  readdirCache?: boolean
  /**
   * FUSE: let a listing hand the kernel each entry's attributes (READDIRPLUS), so that a
   * stat of a listed name (`ls -l`, `find -ls`, `du`, a stat after `readdir`) needs no
   * `getattr` call while its attributes and name are cached (`attrTimeoutMs`,
   * `entryTimeoutMs`). Only entries that `readdir` returned with a `stat` go with their
   * attributes; the others are looked up when used, as without this option.
   * - `'auto'` (default): the kernel asks for attributes with a directory's first page of
   *   entries, and with later pages only when names of that directory were looked up since,
   *   so a listing that nothing stats afterwards (`ls` without `-l`) is sent as names only.
   *   Off when `attrTimeoutMs` or `entryTimeoutMs` is 0: attributes that expire at once would
   *   spare no `getattr` and only make every listing bigger.
   * - `true`: every page of every listing carries the attributes.
   * - `false`: listings carry names and kinds only; the `stat` of an entry is not used.
   *   Choose it when `readdir` lists no stats: under `'auto'` and `true` an entry without a
   *   stat still takes a full READDIRPLUS entry (some five times fewer names fit a page) and
   *   costs a FORGET request from the kernel.
   *
   * Whether the kernel agreed shows in {@link Mount.stats} (`readdirPlus`). Windows always
   * shows each entry's attributes and ignores this option.
   */
  readdirPlus?: 'auto' | boolean
  /**
   * FUSE: answer the kernel's lookup of a name (what a `stat` of a name the kernel does not
   * hold yet costs) with the `stat` that `readdir` just returned for it, without calling
   * `getattr`. This spares the `getattr` calls READDIRPLUS leaves: the names of a listing's
   * later pages under `readdirPlus: 'auto'` (an `ls -l` of a large directory), every listed
   * name under `readdirPlus: false`. Only while the listing is current: returned less than
   * the shorter of `attrTimeoutMs` and `entryTimeoutMs` ago, with nothing changed through the
   * mount (and no {@link Mount.notify} or invalidation) since it was asked for; the kernel
   * keeps such an answer only for what is left of those timeouts, as it would have kept the
   * attributes a READDIRPLUS listing handed it. Entries listed without a `stat`, and names
   * not listed, still call `getattr`. No effect when either timeout is 0. Default true; turn
   * it off when `getattr` may know better than a `readdir` answered a moment earlier (data
   * that changes behind the mount's back without {@link Mount.notify}). How many lookups it
   * answered shows in {@link Mount.stats} (`lookupsFromListings`). Windows ignores it.
   */
  lookupFromListing?: boolean
  /**
   * Let the kernel buffer writes in its page cache and send them in large batches. Use it
   * when programs write in small pieces and the filesystem does not care how writes are cut:
   * `write` then sees kernel-chosen offsets and sizes, and kernel passthrough is not used.
   * Default false. See docs/caching.md.
   */
  writebackCache?: boolean
  /** A request still unanswered after this many ms fails. Default 30000. */
  timeoutMs?: number
  /** The code a timed-out request fails with. Default `'ETIMEDOUT'`. */
  timeoutErrno?: 'ETIMEDOUT' | 'EIO'
  /** How many handlers may run at once; the rest wait in arrival order. Default 128. */
  maxConcurrency?: number
  /**
   * Kernel-reading threads of the backend. Default 2. Reads and writes of backing files that
   * the kernel does not pass through run on these threads, so keep two or more when Rust
   * serves backing files. When JavaScript answers everything, 1 and 2 measure the same on
   * the bench's getattr storms; measure both with your workload (docs/tuning.md).
   */
  threads?: number
  /**
   * After answering a batch, how long the JavaScript thread waits for the next request
   * before it returns to the event loop, in microseconds. It waits by spinning (yielding the
   * CPU each turn), so a request that arrives meanwhile costs no thread wake-up. Raise it for
   * a mount under steady load; set `0` where CPU time matters more than latency, or the
   * event loop has other work that must not wait. Costs up to this much CPU per batch.
   * Default 20 (0 on a machine with one CPU, where the spin would only delay the thread it
   * waits for). How the wait works: docs/tuning.md.
   */
  spinMicros?: number
  /**
   * FUSE: while the JavaScript thread spins (`spinMicros`), it reads the kernel's next request
   * itself, from a descriptor of its own, instead of waiting for a backend thread to read it
   * and hand it over: a request that arrives during the spin then costs no thread hand-off.
   * While it reads this way the backend's threads stop reading, so a request wakes no thread;
   * they read again once the JavaScript thread goes back to its event loop, or has been away
   * from its spins for a millisecond (a handler computing on it). Default true. How many requests came this way shows in {@link Mount.stats}
   * (`requestsReadWhileSpinning`). No effect with `spinMicros: 0`, or on Windows.
   */
  readWhileSpinning?: boolean
  /**
   * FUSE: take the kernel's requests through io_uring (FUSE over io_uring) instead of
   * `read(2)` and `writev(2)` on `/dev/fuse`: the kernel puts each request in a buffer of a
   * ring shared with this process, and takes the answer together with the buffer's next
   * request in one submission. It needs Linux 6.14 or later with the feature turned on by
   * root (`echo Y > /sys/module/fuse/parameters/enable_uring`; `npm run setup` does it on a
   * machine where it runs as root). The ring's buffers take 8 × (1 MiB + 288 bytes) of
   * address space per possible CPU (`/sys/devices/system/cpu/possible`: 16 MiB on a 2-CPU
   * machine), resident only as large reads and writes use them. Whether it pays off depends
   * on the load: measure (docs/tuning.md; on the two-vCPU bench machine the ring was slower
   * for a JavaScript filesystem, which is why it is off by default).
   * - `false` (default): `/dev/fuse` only.
   * - `'auto'`: the ring when the kernel offers it, else `/dev/fuse`.
   * - `true`: the ring or no mount: without it the mount fails with `ENODRIVER`.
   *
   * Whether a mount got the ring shows in {@link Mount.stats} (`ioUring`). Windows ignores
   * this option.
   */
  ioUring?: 'auto' | boolean
  /** Log every request and reply: `true` for stderr, or a function that takes each line. */
  debug?: boolean | ((line: string) => void)
  /** The name shown in `mount`/`df` as the source. Default `'mountkit'`. */
  fsName?: string
  /** If the mount point is left over from a dead process (stale), clear it first. */
  force?: boolean
  /** Windows: the drive's name in Explorer (up to 32 characters). Default `'mountkit'`. */
  volumeLabel?: string
  /** Windows: match names without regard to case, as Windows programs expect. Default true. */
  caseInsensitive?: boolean
  /**
   * Windows: present the volume as a fixed, network or removable drive. Default `'fixed'`.
   * A network drive needs a drive letter, `'*'` or a share as its mount point (Windows mounts no
   * network file system on a folder); on a letter it is reached as `\\mountkit\M` (WinFsp) or
   * `\\mountkit\<volumeLabel>` (Dokan) too. A share mount point (`'\\server\share'`) is
   * always a network volume (`'removable'` with one: `EOPTION`). WinFsp cannot present a
   * removable drive (`EOPTION`).
   */
  driveType?: 'fixed' | 'network' | 'removable'
  /**
   * Windows: the drive letter (`'M:'`) a network share mount point (`'\\server\share'`) is
   * also mounted on, as `net use M: \\server\share` maps one. Without it, WinFsp mounts the
   * share on no letter and Dokan on the next free one. Only with a share (`EOPTION` otherwise).
   */
  driveLetter?: string
  /** Windows: bytes per sector, a power of two from 512. Default 4096. */
  sectorSize?: number
  /** Windows: bytes per allocation unit, a multiple of `sectorSize`. Default 4096. */
  allocationUnitSize?: number
  /**
   * Let the kernel serve backed files (`backingPath`/`backingFd`) itself where it can: Linux
   * 6.9+ and a privileged process. When false, or unavailable, Rust serves them. Default true.
   */
  passthrough?: boolean
}

/** How files opened with a backing file have been served (see {@link Mount.dataPath}). */
export interface DataPathReport {
  /** The kernel agreed to FUSE passthrough when the mount started. */
  passthroughNegotiated: boolean
  /** Backed opens the kernel serves itself. */
  passthroughOpens: number
  /** Backed opens served by Rust with positioned I/O. */
  rustIoOpens: number
}

/**
 * How much per-file state a FUSE mount holds (see {@link Mount.stats}). Memory grows with
 * `knownInodes`, which falls back as the kernel evicts files from its inode cache.
 */
export interface MountStats {
  /** Inodes the kernel still refers to (looked up and not yet forgotten), the root included. */
  knownInodes: number
  /** Files and directories open now. */
  openHandles: number
  /**
   * The kernel agreed to READDIRPLUS when the mount started (never with `readdirPlus:
   * false`).
   */
  readdirPlus: boolean
  /** Listed names handed to the kernel with their attributes, each sparing a `getattr`. */
  entriesWithAttributes: number
  /**
   * Requests the JavaScript thread read from the kernel itself while it spun after a batch
   * (`readWhileSpinning`); the others were read by the backend's threads.
   */
  requestsReadWhileSpinning: number
  /**
   * The kernel hands requests over through io_uring (`ioUring`); FORGET, INTERRUPT and cache
   * invalidations still go through `/dev/fuse`.
   */
  ioUring: boolean
  /** Requests that came through the io_uring ring. */
  requestsFromRing: number
  /**
   * Lookups may be answered from listings on this mount: `lookupFromListing` is on and both
   * `attrTimeoutMs` and `entryTimeoutMs` are above 0.
   */
  lookupFromListing: boolean
  /** Lookups answered with the stat a listing gave, each sparing a `getattr`. */
  lookupsFromListings: number
}

/**
 * A change the filesystem made itself, behind the kernel's back (a remote edit, another writer
 * of the backing store), for {@link Mount.notify}. Paths are relative to the mount, such as
 * `'/docs/a.txt'`; `directory` (default `false`) says whether a created, deleted or renamed
 * path is a directory, which Windows reports to watchers as a directory-name change.
 */
export type Change =
  | { created: string; directory?: boolean }
  | { deleted: string; directory?: boolean }
  | { renamed: [from: string, to: string]; directory?: boolean }
  | { changed: string }
