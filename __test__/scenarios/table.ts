// What Windows programs and POSIX programs do to a filesystem, written once as data, and run
// against every backend: FUSE on Linux (./posix.ts, through node:fs on a real mount), and WinFsp
// and Dokan under Wine (./windows.ts, through the driver doubles' kernel protocol, in the order
// the drivers send requests: create, operations, cleanup, close).
//
// A step names the call and what it must give. Outcomes are neutral ('not-found', 'exists', ...)
// and each backend checks its own spelling of them (an NTSTATUS, or an errno). A scenario with a
// step that only Windows can express (allocation size, attributes, a search pattern, delete on
// close, undoing a delete) runs on the Windows backends only.

/** How a call ended. */
export type Outcome =
  | 'ok'
  | 'not-found'
  | 'path-not-found'
  | 'exists'
  | 'not-a-directory'
  | 'is-a-directory'
  | 'not-empty'
  | 'access-denied'
  | 'delete-pending'
  | 'end-of-file'
  | 'invalid-name'
  | 'cannot-delete'

/** The NTSTATUS of each outcome. */
export const NTSTATUS_OF: Record<Outcome, number> = {
  ok: 0,
  'not-found': 0xc0000034,
  'path-not-found': 0xc000003a,
  exists: 0xc0000035,
  'not-a-directory': 0xc0000103,
  'is-a-directory': 0xc00000ba,
  'not-empty': 0xc0000101,
  'access-denied': 0xc0000022,
  'delete-pending': 0xc0000056,
  'end-of-file': 0xc0000011,
  'invalid-name': 0xc0000033,
  'cannot-delete': 0xc0000121,
}

/** The errno code of each outcome a POSIX call can have. */
export const ERRNO_OF: Partial<Record<Outcome, string>> = {
  'not-found': 'ENOENT',
  'path-not-found': 'ENOENT',
  exists: 'EEXIST',
  'not-a-directory': 'ENOTDIR',
  'is-a-directory': 'EISDIR',
  'not-empty': 'ENOTEMPTY',
  'access-denied': 'EACCES',
  'invalid-name': 'EINVAL',
}

/**
 * An outcome that differs between Windows and POSIX, where both are right for their platform.
 * `dokan` overrides `windows` where Dokan's own library answers differently from NTFS (and
 * WinFsp) before a request reaches mountkit.
 */
export type PlatformOutcome = Outcome | { windows: Outcome; posix: Outcome; dokan?: Outcome }

/** Bytes: a string's UTF-8, or `length` bytes repeating `fill`. */
export type Bytes = string | { fill: string; length: number }

export function bytesOf(bytes: Bytes): Buffer {
  if (typeof bytes === 'string') return Buffer.from(bytes)
  const fill = Buffer.from(bytes.fill)
  return Buffer.alloc(bytes.length, fill)
}

/** Create dispositions, from NtCreateFile. */
export type Disposition = 'supersede' | 'open' | 'create' | 'open-if' | 'overwrite' | 'overwrite-if'

/** What a successful create did (IoStatus.Information). */
export type Opened = 'superseded' | 'opened' | 'created' | 'overwritten'

export type Step =
  | {
      op: 'open'
      path: string
      as: string
      disposition: Disposition
      /** true: a directory (FILE_DIRECTORY_FILE), false: not a directory, absent: either. */
      directory?: boolean
      /** Windows only: FILE_DELETE_ON_CLOSE. */
      deleteOnClose?: boolean
      /**
       * What the open asks for: 'read' only, or 'metadata' (read and write attributes, and
       * delete: what SetFileAttributes and DeleteFile open with). Default: generic read and
       * write, and delete.
       */
      access?: 'read' | 'metadata'
      expect?: PlatformOutcome
      /** What a successful open did. */
      opened?: Opened
      /** Windows only: the FileAttributes a create asks for (default FILE_ATTRIBUTE_NORMAL). */
      attributes?: number
    }
  | { op: 'write'; handle: string; offset: number; data: Bytes; expect?: PlatformOutcome }
  | { op: 'read'; handle: string; offset: number; length: number; data: Bytes }
  | { op: 'truncate'; handle: string; size: number; expect?: PlatformOutcome }
  /** Windows only: FileAllocationInformation. */
  | { op: 'allocate'; handle: string; size: number }
  | {
      op: 'stat'
      handle: string
      size?: number
      directory?: boolean
      /** Windows only: the attributes must include these bits. */
      attributes?: number
      /** Windows only: the attributes must include none of these bits. */
      lacks?: number
      /** Last write and last access times, ms since 1970. */
      written?: number
      accessed?: number
      /** Windows only: the creation time, ms since 1970. */
      created?: number
    }
  /** Times in ms since 1970; absent ones stay as they are. Setting `created` is Windows only. */
  | { op: 'setTimes'; handle: string; written?: number; accessed?: number; created?: number }
  /** Windows only: FileBasicInformation's attributes. */
  | { op: 'setAttributes'; handle: string; attributes: number }
  | { op: 'rename'; handle: string; to: string; replace: boolean; expect?: PlatformOutcome }
  /** Windows: delete on last close (FileDispositionInformation). POSIX: unlink or rmdir now. */
  | { op: 'delete'; handle: string; expect?: PlatformOutcome }
  /** Windows only: clears a pending delete. */
  | { op: 'undelete'; handle: string }
  | { op: 'flush'; handle: string }
  | { op: 'close'; handle: string }
  /**
   * A directory's entries, sorted by name. Windows lists through a buffer of `bufferSize`
   * bytes (default 4096) and filters by `pattern` (Windows only), so a long listing takes
   * several calls, each resuming after the last name returned.
   */
  | {
      op: 'list'
      path: string
      pattern?: string
      bufferSize?: number
      names: string[]
      minCalls?: number
      /**
       * The names listed as symbolic links, and no others (Windows: the reparse-point attribute
       * and the symbolic-link tag; POSIX: readdir's file type).
       */
      links?: string[]
    }
  | { op: 'exists'; path: string; expect: boolean }
  /** Windows only: what GetVolumeInformation shows. */
  | { op: 'volume'; label: string }
  /** Windows only: sets the volume label. */
  | { op: 'setLabel'; label: string }
  /**
   * Makes a symbolic link at `path` to `target`, spelled as POSIX spells it: relative to the
   * link's directory, or absolute from the volume's root. Windows: CreateSymbolicLinkW (a
   * directory link with `directory`), whose target Windows spells with backslashes, and an
   * absolute one on the volume's drive; POSIX: symlink(2).
   */
  | { op: 'symlink'; path: string; target: string; directory?: boolean; expect?: PlatformOutcome }
  /** What the link at `path` holds, spelled as for `symlink`. Windows: FSCTL_GET_REPARSE_POINT. */
  | { op: 'readlink'; path: string; target: string }
  /**
   * The name itself, not followed: whether it is a symbolic link, and whether it leads to a
   * directory (Windows: the link's directory attribute; POSIX: stat through the link).
   */
  | { op: 'lstat'; path: string; link: boolean; directory?: boolean }
  /** Removes the link at `path`, not its target. Windows: DeleteFileW, or RemoveDirectoryW for a directory link. */
  | { op: 'unlink'; path: string; directory?: boolean }

const WINDOWS_ONLY_OPS = new Set<Step['op']>(['allocate', 'setAttributes', 'undelete', 'volume', 'setLabel'])

/** Whether `step` can only be expressed on Windows. */
export function windowsOnly(step: Step): boolean {
  if (WINDOWS_ONLY_OPS.has(step.op)) return true
  if (step.op === 'open') return step.deleteOnClose === true || step.attributes !== undefined
  if (step.op === 'list') return step.pattern !== undefined
  if (step.op === 'stat') return step.attributes !== undefined || step.lacks !== undefined || step.created !== undefined
  if (step.op === 'setTimes') return step.created !== undefined
  return false
}

export interface Scenario {
  name: string
  steps: Step[]
  /** Runs on the Windows backends only, although every step could run on POSIX. */
  windowsOnly?: boolean
  /**
   * true: runs only against filesystems with a `setAttributes` handler (memfs, rust-memfs);
   * false: only against those without one (mirror). Absent: against every filesystem.
   */
  setAttributes?: boolean
  /**
   * Needs symbolic links: runs on FUSE (memfs and mirror) and on WinFsp with memfs only (why:
   * `runsOn` in wine/helpers/suite.ts). Dokan's driver has no reparse points, so it has no
   * links to show.
   */
  symlinks?: boolean
}

/** Whether `scenario` applies to a filesystem that has (or lacks) a `setAttributes` handler. */
export function appliesTo(scenario: Scenario, hasSetAttributes: boolean): boolean {
  return scenario.setAttributes === undefined || scenario.setAttributes === hasSetAttributes
}

/** Whether `scenario` runs on FUSE too. */
export function portable(scenario: Scenario): boolean {
  return scenario.windowsOnly !== true && !scenario.steps.some(windowsOnly)
}

const A = 'alpha'
const READ_ONLY = 0x1
const HIDDEN = 0x2
const SYSTEM = 0x4
const ARCHIVE = 0x20
const NORMAL = 0x80
const NOT_CONTENT_INDEXED = 0x2000
const OFFLINE = 0x1000
/** Every attribute flag `setAttributes` carries but read-only. */
const FLAGS = HIDDEN | SYSTEM | ARCHIVE | NOT_CONTENT_INDEXED | OFFLINE
const BORN = Date.UTC(1999, 11, 31, 23, 59, 58)

/** Opens `path` as a new file `as`, writes `data`, and closes it. */
function file(path: string, data: Bytes = A): Step[] {
  return [
    { op: 'open', path, as: '_', disposition: 'create', directory: false },
    { op: 'write', handle: '_', offset: 0, data },
    { op: 'close', handle: '_' },
  ]
}

function directory(path: string): Step[] {
  return [
    { op: 'open', path, as: '_', disposition: 'create', directory: true },
    { op: 'close', handle: '_' },
  ]
}

/** Creates each name in `names` as a small file under `dir`. */
function files(dir: string, names: string[]): Step[] {
  return names.flatMap((name) => file(`${dir}/${name}`, name))
}

const many = Array.from({ length: 150 }, (_, i) => `entry-${String(i).padStart(3, '0')}.txt`)

export const SCENARIOS: Scenario[] = [
  // ---- create dispositions on files, each with and without an existing file
  ...(
    [
      ['open', false, 'not-found', undefined],
      ['open', true, 'ok', 'opened'],
      ['create', false, 'ok', 'created'],
      ['create', true, 'exists', undefined],
      ['open-if', false, 'ok', 'created'],
      ['open-if', true, 'ok', 'opened'],
      ['overwrite', false, 'not-found', undefined],
      ['overwrite', true, 'ok', 'overwritten'],
      ['overwrite-if', false, 'ok', 'created'],
      ['overwrite-if', true, 'ok', 'overwritten'],
      ['supersede', false, 'ok', 'created'],
      ['supersede', true, 'ok', 'superseded'],
    ] as const
  ).map(([disposition, existing, expect, opened]): Scenario => {
    const truncates = opened === 'overwritten' || opened === 'superseded'
    return {
      name: `create '${disposition}' on a file that ${existing ? 'exists' : 'does not exist'}`,
      steps: [
        ...(existing ? file('/f.txt', 'existing') : []),
        { op: 'open', path: '/f.txt', as: 'f', disposition, directory: false, expect, opened },
        ...(expect === 'ok'
          ? ([
              { op: 'stat', handle: 'f', size: truncates || !existing ? 0 : 8, directory: false },
              { op: 'close', handle: 'f' },
            ] satisfies Step[])
          : []),
        { op: 'exists', path: '/f.txt', expect: existing || expect === 'ok' },
      ],
    }
  }),

  // ---- create dispositions on directories
  {
    name: "create 'create' on a directory, then again",
    steps: [
      { op: 'open', path: '/d', as: 'd', disposition: 'create', directory: true, opened: 'created' },
      { op: 'stat', handle: 'd', directory: true },
      { op: 'close', handle: 'd' },
      { op: 'open', path: '/d', as: 'd2', disposition: 'create', directory: true, expect: 'exists' },
    ],
  },
  {
    name: "create 'open-if' on a directory that does not exist, then exists",
    steps: [
      { op: 'open', path: '/d', as: 'd', disposition: 'open-if', directory: true, opened: 'created' },
      { op: 'close', handle: 'd' },
      { op: 'open', path: '/d', as: 'd', disposition: 'open-if', directory: true, opened: 'opened' },
      { op: 'stat', handle: 'd', directory: true },
      { op: 'close', handle: 'd' },
    ],
  },
  {
    name: 'opening a directory as a file, and a file as a directory, fails',
    steps: [
      ...directory('/d'),
      ...file('/f.txt'),
      { op: 'open', path: '/d', as: 'x', disposition: 'open', directory: false, expect: 'is-a-directory' },
      { op: 'open', path: '/f.txt', as: 'y', disposition: 'open', directory: true, expect: 'not-a-directory' },
    ],
  },
  {
    name: 'creating or opening a file in a directory that does not exist fails',
    steps: [
      ...file('/f.txt'),
      { op: 'open', path: '/missing/f.txt', as: 'f', disposition: 'create', directory: false, expect: 'path-not-found' },
      { op: 'open', path: '/missing/f.txt', as: 'f', disposition: 'open', expect: 'path-not-found' },
      { op: 'open', path: '/missing/f.txt', as: 'f', disposition: 'open-if', expect: 'path-not-found' },
      // A file where a directory should be: POSIX says so; Windows reports the path missing.
      { op: 'open', path: '/f.txt/g.txt', as: 'f', disposition: 'open', expect: { windows: 'path-not-found', posix: 'not-a-directory' } },
    ],
  },

  // ---- reads and writes
  {
    name: 'write at offsets and read back',
    steps: [
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'create', directory: false },
      { op: 'write', handle: 'f', offset: 0, data: 'hello world' },
      { op: 'write', handle: 'f', offset: 6, data: 'WORLD' },
      { op: 'read', handle: 'f', offset: 0, length: 100, data: 'hello WORLD' },
      { op: 'read', handle: 'f', offset: 6, length: 3, data: 'WOR' },
      { op: 'stat', handle: 'f', size: 11 },
      { op: 'close', handle: 'f' },
    ],
  },
  {
    name: 'a write past the end leaves zeros in the gap',
    steps: [
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'create', directory: false },
      { op: 'write', handle: 'f', offset: 0, data: 'ab' },
      { op: 'write', handle: 'f', offset: 6, data: 'cd' },
      { op: 'read', handle: 'f', offset: 0, length: 8, data: 'ab\0\0\0\0cd' },
      { op: 'stat', handle: 'f', size: 8 },
      { op: 'close', handle: 'f' },
    ],
  },
  {
    name: 'a read at or past the end returns nothing',
    steps: [
      ...file('/f.txt', 'four'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', directory: false },
      { op: 'read', handle: 'f', offset: 4, length: 10, data: '' },
      { op: 'read', handle: 'f', offset: 100, length: 10, data: '' },
      { op: 'close', handle: 'f' },
    ],
  },
  {
    name: 'a 3 MiB write in one request reads back whole',
    steps: [
      { op: 'open', path: '/big.bin', as: 'f', disposition: 'create', directory: false },
      { op: 'write', handle: 'f', offset: 0, data: { fill: 'mountkit', length: 3 << 20 } },
      { op: 'stat', handle: 'f', size: 3 << 20 },
      { op: 'read', handle: 'f', offset: 0, length: 3 << 20, data: { fill: 'mountkit', length: 3 << 20 } },
      { op: 'close', handle: 'f' },
    ],
  },
  {
    name: 'data survives closing and reopening',
    steps: [
      ...file('/f.txt', 'kept across opens'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', directory: false, opened: 'opened' },
      { op: 'read', handle: 'f', offset: 0, length: 64, data: 'kept across opens' },
      { op: 'close', handle: 'f' },
    ],
  },

  // ---- sizes
  {
    name: 'setting the end of file shrinks and grows',
    steps: [
      ...file('/f.txt', 'abcdefgh'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', directory: false },
      { op: 'truncate', handle: 'f', size: 3 },
      { op: 'stat', handle: 'f', size: 3 },
      { op: 'read', handle: 'f', offset: 0, length: 10, data: 'abc' },
      { op: 'truncate', handle: 'f', size: 6 },
      { op: 'read', handle: 'f', offset: 0, length: 10, data: 'abc\0\0\0' },
      { op: 'close', handle: 'f' },
    ],
  },
  {
    // WinFsp's driver rounds an allocation size up to whole allocation units (4096 bytes here)
    // before the file system sees it, so the sizes are whole units: both drivers then agree.
    name: 'setting the allocation size below the size truncates, above keeps the size',
    steps: [
      ...file('/f.txt', { fill: 'abcdefgh', length: 10_000 }),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', directory: false },
      { op: 'allocate', handle: 'f', size: 1 << 20 },
      { op: 'stat', handle: 'f', size: 10_000 },
      { op: 'allocate', handle: 'f', size: 4096 },
      { op: 'stat', handle: 'f', size: 4096 },
      { op: 'read', handle: 'f', offset: 4088, length: 100, data: 'abcdefgh' },
      { op: 'close', handle: 'f' },
    ],
  },

  // ---- basic information
  {
    name: 'setting last-write and last-access times',
    steps: [
      ...file('/f.txt'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', directory: false },
      { op: 'setTimes', handle: 'f', written: Date.UTC(2001, 1, 3, 4, 5, 6), accessed: Date.UTC(2002, 2, 4, 5, 6, 7) },
      { op: 'stat', handle: 'f', written: Date.UTC(2001, 1, 3, 4, 5, 6), accessed: Date.UTC(2002, 2, 4, 5, 6, 7) },
      { op: 'close', handle: 'f' },
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', directory: false },
      { op: 'stat', handle: 'f', written: Date.UTC(2001, 1, 3, 4, 5, 6) },
      { op: 'close', handle: 'f' },
    ],
  },
  {
    name: 'setting the read-only attribute',
    steps: [
      ...file('/f.txt'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', directory: false },
      { op: 'setAttributes', handle: 'f', attributes: READ_ONLY },
      { op: 'stat', handle: 'f', attributes: READ_ONLY },
      { op: 'close', handle: 'f' },
    ],
  },
  {
    name: 'a read-only file refuses writing and deleting until the attribute is cleared',
    steps: [
      ...file('/f.txt', 'keep me'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open' },
      { op: 'setAttributes', handle: 'f', attributes: READ_ONLY },
      { op: 'close', handle: 'f' },
      { op: 'open', path: '/f.txt', as: 'w', disposition: 'open', expect: 'access-denied' },
      { op: 'open', path: '/f.txt', as: 'w', disposition: 'overwrite', expect: 'access-denied' },
      { op: 'open', path: '/f.txt', as: 'r', disposition: 'open', access: 'read' },
      { op: 'read', handle: 'r', offset: 0, length: 10, data: 'keep me' },
      { op: 'close', handle: 'r' },
      { op: 'open', path: '/f.txt', as: 'd', disposition: 'open', access: 'metadata' },
      { op: 'delete', handle: 'd', expect: 'cannot-delete' },
      // FILE_ATTRIBUTE_NORMAL clears every attribute.
      { op: 'setAttributes', handle: 'd', attributes: NORMAL },
      { op: 'close', handle: 'd' },
      { op: 'open', path: '/f.txt', as: 'w', disposition: 'open' },
      { op: 'write', handle: 'w', offset: 0, data: 'changed' },
      { op: 'close', handle: 'w' },
    ],
  },
  {
    name: 'hidden, system, archive, not-content-indexed, offline and the creation time are stored',
    setAttributes: true,
    steps: [
      ...file('/f.txt'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', access: 'metadata' },
      { op: 'setAttributes', handle: 'f', attributes: FLAGS },
      { op: 'setTimes', handle: 'f', created: BORN },
      { op: 'stat', handle: 'f', attributes: FLAGS, created: BORN, lacks: READ_ONLY },
      { op: 'close', handle: 'f' },
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open' },
      { op: 'stat', handle: 'f', attributes: FLAGS, created: BORN },
      // Read-only joins them, and FILE_ATTRIBUTE_NORMAL clears them all.
      { op: 'setAttributes', handle: 'f', attributes: FLAGS | READ_ONLY },
      { op: 'stat', handle: 'f', attributes: FLAGS | READ_ONLY },
      { op: 'setAttributes', handle: 'f', attributes: NORMAL },
      { op: 'stat', handle: 'f', lacks: FLAGS | READ_ONLY, created: BORN },
      { op: 'close', handle: 'f' },
    ],
  },
  {
    name: 'a create stores the attributes it asks for',
    setAttributes: true,
    steps: [
      { op: 'open', path: '/h.txt', as: 'h', disposition: 'create', directory: false, attributes: HIDDEN | SYSTEM },
      { op: 'stat', handle: 'h', attributes: HIDDEN | SYSTEM, lacks: READ_ONLY | OFFLINE },
      { op: 'close', handle: 'h' },
      { op: 'open', path: '/d', as: 'd', disposition: 'create', directory: true, attributes: HIDDEN | NOT_CONTENT_INDEXED },
      { op: 'stat', handle: 'd', directory: true, attributes: HIDDEN | NOT_CONTENT_INDEXED },
      { op: 'close', handle: 'd' },
      { op: 'open', path: '/n.txt', as: 'n', disposition: 'create', directory: false, attributes: NORMAL },
      { op: 'stat', handle: 'n', lacks: FLAGS | READ_ONLY },
      { op: 'close', handle: 'n' },
    ],
  },
  {
    // WinFsp's Overwrite: a supersede replaces the attributes, an overwrite adds to them; and a
    // hidden or system file is overwritten only by an open that asks to keep it so, as on NTFS.
    name: 'an overwrite adds the attributes it asks for, a supersede replaces them',
    setAttributes: true,
    steps: [
      { op: 'open', path: '/o.txt', as: 'o', disposition: 'create', directory: false, attributes: HIDDEN | NOT_CONTENT_INDEXED },
      { op: 'write', handle: 'o', offset: 0, data: A },
      { op: 'close', handle: 'o' },
      { op: 'open', path: '/o.txt', as: 'o', disposition: 'overwrite', directory: false, attributes: NORMAL, expect: 'access-denied' },
      { op: 'open', path: '/o.txt', as: 'o', disposition: 'overwrite-if', directory: false, attributes: SYSTEM, expect: 'access-denied' },
      { op: 'open', path: '/o.txt', as: 'o', disposition: 'overwrite', directory: false, attributes: HIDDEN | SYSTEM, opened: 'overwritten' },
      { op: 'stat', handle: 'o', size: 0, attributes: HIDDEN | SYSTEM | NOT_CONTENT_INDEXED, lacks: READ_ONLY },
      { op: 'write', handle: 'o', offset: 0, data: A },
      { op: 'close', handle: 'o' },
      { op: 'open', path: '/o.txt', as: 'o', disposition: 'overwrite-if', directory: false, attributes: HIDDEN | SYSTEM | OFFLINE, opened: 'overwritten' },
      { op: 'stat', handle: 'o', size: 0, attributes: HIDDEN | SYSTEM | NOT_CONTENT_INDEXED | OFFLINE },
      { op: 'close', handle: 'o' },
      { op: 'open', path: '/o.txt', as: 'o', disposition: 'supersede', directory: false, attributes: HIDDEN | SYSTEM | ARCHIVE, opened: 'superseded' },
      { op: 'stat', handle: 'o', size: 0, attributes: HIDDEN | SYSTEM | ARCHIVE, lacks: NOT_CONTENT_INDEXED | OFFLINE | READ_ONLY },
      { op: 'close', handle: 'o' },
    ],
  },
  {
    name: 'without a setAttributes handler, setting attributes succeeds and only read-only is kept',
    setAttributes: false,
    steps: [
      ...file('/f.txt'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open', access: 'metadata' },
      { op: 'setAttributes', handle: 'f', attributes: FLAGS | READ_ONLY },
      { op: 'setTimes', handle: 'f', created: BORN },
      { op: 'stat', handle: 'f', attributes: READ_ONLY, lacks: FLAGS },
      { op: 'setAttributes', handle: 'f', attributes: NORMAL },
      { op: 'stat', handle: 'f', lacks: READ_ONLY },
      { op: 'close', handle: 'f' },
    ],
  },

  // ---- renames
  {
    name: 'rename to a free name',
    steps: [
      ...file('/a.txt', 'moved'),
      { op: 'open', path: '/a.txt', as: 'a', disposition: 'open' },
      { op: 'rename', handle: 'a', to: '/b.txt', replace: false },
      { op: 'close', handle: 'a' },
      { op: 'exists', path: '/a.txt', expect: false },
      { op: 'open', path: '/b.txt', as: 'b', disposition: 'open' },
      { op: 'read', handle: 'b', offset: 0, length: 10, data: 'moved' },
      { op: 'close', handle: 'b' },
    ],
  },
  {
    name: 'rename onto an existing file, with replacement',
    steps: [
      ...file('/a.txt', 'new'),
      ...file('/b.txt', 'old'),
      { op: 'open', path: '/a.txt', as: 'a', disposition: 'open' },
      { op: 'rename', handle: 'a', to: '/b.txt', replace: true },
      { op: 'close', handle: 'a' },
      { op: 'list', path: '/', names: ['b.txt'] },
      { op: 'open', path: '/b.txt', as: 'b', disposition: 'open' },
      { op: 'read', handle: 'b', offset: 0, length: 10, data: 'new' },
      { op: 'close', handle: 'b' },
    ],
  },
  {
    name: 'rename onto an existing file, without replacement',
    steps: [
      ...file('/a.txt', 'new'),
      ...file('/b.txt', 'old'),
      { op: 'open', path: '/a.txt', as: 'a', disposition: 'open' },
      { op: 'rename', handle: 'a', to: '/b.txt', replace: false, expect: { windows: 'exists', posix: 'ok' } },
      { op: 'close', handle: 'a' },
    ],
  },
  {
    name: 'rename onto a file that is open',
    steps: [
      ...file('/a.txt', 'new'),
      ...file('/b.txt', 'old'),
      { op: 'open', path: '/b.txt', as: 'b', disposition: 'open' },
      { op: 'open', path: '/a.txt', as: 'a', disposition: 'open' },
      { op: 'rename', handle: 'a', to: '/b.txt', replace: true, expect: { windows: 'access-denied', posix: 'ok' } },
      { op: 'close', handle: 'a' },
      { op: 'close', handle: 'b' },
    ],
  },
  {
    name: 'rename across directories, of a file and of a directory with contents',
    steps: [
      ...directory('/src'),
      ...directory('/dst'),
      ...directory('/src/inner'),
      ...file('/src/inner/deep.txt', 'deep'),
      ...file('/src/f.txt', 'f'),
      { op: 'open', path: '/src/f.txt', as: 'f', disposition: 'open' },
      { op: 'rename', handle: 'f', to: '/dst/g.txt', replace: false },
      { op: 'close', handle: 'f' },
      { op: 'open', path: '/src/inner', as: 'i', disposition: 'open', directory: true },
      { op: 'rename', handle: 'i', to: '/dst/moved', replace: false },
      { op: 'close', handle: 'i' },
      { op: 'list', path: '/src', names: [] },
      { op: 'list', path: '/dst', names: ['g.txt', 'moved'] },
      { op: 'open', path: '/dst/moved/deep.txt', as: 'd', disposition: 'open' },
      { op: 'read', handle: 'd', offset: 0, length: 10, data: 'deep' },
      { op: 'close', handle: 'd' },
    ],
  },
  {
    name: 'rename to a directory that does not exist fails',
    steps: [
      ...file('/a.txt'),
      { op: 'open', path: '/a.txt', as: 'a', disposition: 'open' },
      // Dokan's library opens the target's directory as an ordinary open of a missing name.
      {
        op: 'rename',
        handle: 'a',
        to: '/nowhere/a.txt',
        replace: false,
        expect: { windows: 'path-not-found', posix: 'path-not-found', dokan: 'not-found' },
      },
      { op: 'close', handle: 'a' },
      { op: 'exists', path: '/a.txt', expect: true },
    ],
  },

  // ---- deletes
  {
    name: 'delete a file: gone after the last close',
    steps: [
      ...file('/f.txt'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open' },
      { op: 'delete', handle: 'f' },
      { op: 'close', handle: 'f' },
      { op: 'exists', path: '/f.txt', expect: false },
      { op: 'list', path: '/', names: [] },
    ],
  },
  {
    name: 'delete a file held open by another handle: it goes when the last handle closes',
    steps: [
      ...file('/f.txt', 'still readable'),
      { op: 'open', path: '/f.txt', as: 'keep', disposition: 'open' },
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open' },
      { op: 'delete', handle: 'f' },
      { op: 'close', handle: 'f' },
      // Windows keeps the name until the last handle goes, refusing new opens; POSIX unlinked it.
      { op: 'open', path: '/f.txt', as: 'probe', disposition: 'open', expect: { windows: 'delete-pending', posix: 'not-found' } },
      { op: 'read', handle: 'keep', offset: 0, length: 20, data: 'still readable' },
      { op: 'close', handle: 'keep' },
      { op: 'exists', path: '/f.txt', expect: false },
    ],
  },
  {
    name: 'opening a file whose delete is pending fails',
    steps: [
      ...file('/f.txt'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open' },
      { op: 'delete', handle: 'f' },
      { op: 'open', path: '/f.txt', as: 'g', disposition: 'open', expect: 'delete-pending' },
      { op: 'close', handle: 'f' },
      { op: 'exists', path: '/f.txt', expect: false },
    ],
    // POSIX has no pending delete: an unlinked name is gone at once.
    windowsOnly: true,
  },
  {
    name: 'a delete undone before the last close keeps the file',
    steps: [
      ...file('/f.txt'),
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'open' },
      { op: 'delete', handle: 'f' },
      { op: 'undelete', handle: 'f' },
      { op: 'close', handle: 'f' },
      { op: 'exists', path: '/f.txt', expect: true },
    ],
  },
  {
    name: 'delete-on-close removes the file at the last close',
    steps: [
      { op: 'open', path: '/tmp.txt', as: 't', disposition: 'create', directory: false, deleteOnClose: true },
      { op: 'write', handle: 't', offset: 0, data: 'scratch' },
      { op: 'read', handle: 't', offset: 0, length: 10, data: 'scratch' },
      { op: 'close', handle: 't' },
      { op: 'exists', path: '/tmp.txt', expect: false },
    ],
  },
  {
    name: 'an empty directory can be deleted',
    steps: [
      ...directory('/d'),
      { op: 'open', path: '/d', as: 'd', disposition: 'open', directory: true },
      { op: 'delete', handle: 'd' },
      { op: 'close', handle: 'd' },
      { op: 'exists', path: '/d', expect: false },
    ],
  },
  {
    name: 'a directory with entries cannot be deleted',
    steps: [
      ...directory('/d'),
      ...file('/d/f.txt'),
      { op: 'open', path: '/d', as: 'd', disposition: 'open', directory: true },
      { op: 'delete', handle: 'd', expect: 'not-empty' },
      { op: 'close', handle: 'd' },
      { op: 'exists', path: '/d/f.txt', expect: true },
    ],
  },

  // ---- listings
  {
    name: 'listing a directory',
    steps: [...directory('/d'), ...files('/d', ['b.txt', 'a.txt', 'c.md']), ...directory('/d/sub'), { op: 'list', path: '/d', names: ['a.txt', 'b.txt', 'c.md', 'sub'] }],
  },
  {
    name: 'listing with DOS wildcards',
    steps: [
      ...files('', ['a.txt', 'b.txt', 'notes.md', 'readme', 'x1.log', 'x22.log']),
      { op: 'list', path: '/', pattern: '*.txt', names: ['a.txt', 'b.txt'] },
      { op: 'list', path: '/', pattern: 'x?.log', names: ['x1.log'] },
      { op: 'list', path: '/', pattern: '*', names: ['a.txt', 'b.txt', 'notes.md', 'readme', 'x1.log', 'x22.log'] },
      { op: 'list', path: '/', pattern: 'NOTES.MD', names: ['notes.md'] },
    ],
  },
  {
    name: 'a listing longer than the caller buffer resumes where it stopped',
    steps: [...files('', many), { op: 'list', path: '/', bufferSize: 1024, names: many, minCalls: 5 }],
  },
  {
    name: 'names outside ASCII survive the round trip',
    steps: [
      ...file('/Grüße — 日本語 ✓.txt', 'unicode'),
      { op: 'list', path: '/', names: ['Grüße — 日本語 ✓.txt'] },
      { op: 'open', path: '/Grüße — 日本語 ✓.txt', as: 'u', disposition: 'open' },
      { op: 'read', handle: 'u', offset: 0, length: 10, data: 'unicode' },
      { op: 'close', handle: 'u' },
    ],
  },

  // ---- flush, volume
  {
    name: 'flush after writing',
    steps: [
      { op: 'open', path: '/f.txt', as: 'f', disposition: 'create', directory: false },
      { op: 'write', handle: 'f', offset: 0, data: 'flushed' },
      { op: 'flush', handle: 'f' },
      { op: 'close', handle: 'f' },
      { op: 'exists', path: '/f.txt', expect: true },
    ],
  },
  {
    name: 'the volume label, and changing it',
    steps: [
      { op: 'volume', label: 'mountkit' },
      { op: 'setLabel', label: 'renamed' },
      { op: 'volume', label: 'renamed' },
    ],
  },

  // ---- symbolic links (WinFsp reparse points; FUSE)
  {
    name: 'symbolic links: relative file and directory links lead to their targets and are removed alone',
    symlinks: true,
    steps: [
      { op: 'open', path: '/d', as: 'd', disposition: 'create', directory: true },
      { op: 'close', handle: 'd' },
      ...file('/d/f.txt', 'alpha'),
      { op: 'open', path: '/d/sub', as: 's', disposition: 'create', directory: true },
      { op: 'close', handle: 's' },
      ...file('/d/sub/g.txt', 'gamma'),
      { op: 'symlink', path: '/d/flink', target: 'f.txt' },
      { op: 'symlink', path: '/dlink', target: 'd/sub', directory: true },
      { op: 'symlink', path: '/d/sub/up', target: '../f.txt' },
      { op: 'readlink', path: '/d/flink', target: 'f.txt' },
      { op: 'readlink', path: '/dlink', target: 'd/sub' },
      { op: 'readlink', path: '/d/sub/up', target: '../f.txt' },
      { op: 'lstat', path: '/d/flink', link: true, directory: false },
      { op: 'lstat', path: '/dlink', link: true, directory: true },
      { op: 'lstat', path: '/d/f.txt', link: false, directory: false },
      { op: 'list', path: '/d', names: ['f.txt', 'flink', 'sub'], links: ['flink'] },
      { op: 'list', path: '/', names: ['d', 'dlink'], links: ['dlink'] },
      { op: 'open', path: '/d/flink', as: 'l', disposition: 'open', access: 'read' },
      { op: 'read', handle: 'l', offset: 0, length: 16, data: 'alpha' },
      { op: 'close', handle: 'l' },
      { op: 'open', path: '/d/sub/up', as: 'u', disposition: 'open', access: 'read' },
      { op: 'read', handle: 'u', offset: 0, length: 16, data: 'alpha' },
      { op: 'close', handle: 'u' },
      { op: 'list', path: '/dlink', names: ['g.txt', 'up'], links: ['up'] },
      { op: 'open', path: '/dlink/g.txt', as: 'g', disposition: 'open', access: 'read' },
      { op: 'read', handle: 'g', offset: 0, length: 16, data: 'gamma' },
      { op: 'close', handle: 'g' },
      ...file('/dlink/new.txt', 'beta'),
      { op: 'exists', path: '/d/sub/new.txt', expect: true },
      { op: 'unlink', path: '/d/flink' },
      { op: 'unlink', path: '/dlink', directory: true },
      { op: 'exists', path: '/d/flink', expect: false },
      { op: 'exists', path: '/dlink', expect: false },
      { op: 'exists', path: '/d/f.txt', expect: true },
      { op: 'list', path: '/', names: ['d'], links: [] },
      { op: 'list', path: '/d/sub', names: ['g.txt', 'new.txt', 'up'], links: ['up'] },
    ],
  },
  {
    name: 'symbolic links: absolute targets are stored from the volume root',
    symlinks: true,
    steps: [
      { op: 'open', path: '/d', as: 'd', disposition: 'create', directory: true },
      { op: 'close', handle: 'd' },
      ...file('/d/f.txt', 'alpha'),
      { op: 'open', path: '/e', as: 'e', disposition: 'create', directory: true },
      { op: 'close', handle: 'e' },
      { op: 'symlink', path: '/e/abs', target: '/d/f.txt' },
      { op: 'symlink', path: '/e/absdir', target: '/d', directory: true },
      { op: 'readlink', path: '/e/abs', target: '/d/f.txt' },
      { op: 'readlink', path: '/e/absdir', target: '/d' },
      { op: 'lstat', path: '/e/abs', link: true },
      { op: 'lstat', path: '/e/absdir', link: true },
      { op: 'list', path: '/e', names: ['abs', 'absdir'], links: ['abs', 'absdir'] },
      { op: 'unlink', path: '/e/abs' },
      { op: 'unlink', path: '/e/absdir', directory: true },
      { op: 'list', path: '/e', names: [], links: [] },
      { op: 'exists', path: '/d/f.txt', expect: true },
    ],
  },
  {
    // On POSIX an absolute target is the caller's kernel's to follow, from its own root.
    name: 'symbolic links: absolute targets lead inside the volume on Windows',
    symlinks: true,
    windowsOnly: true,
    steps: [
      { op: 'open', path: '/d', as: 'd', disposition: 'create', directory: true },
      { op: 'close', handle: 'd' },
      ...file('/d/f.txt', 'alpha'),
      { op: 'symlink', path: '/abs', target: '/d/f.txt' },
      { op: 'symlink', path: '/absdir', target: '/d', directory: true },
      { op: 'symlink', path: '/root', target: '/', directory: true },
      { op: 'lstat', path: '/absdir', link: true, directory: true },
      { op: 'lstat', path: '/abs', link: true, directory: false },
      { op: 'open', path: '/abs', as: 'a', disposition: 'open', access: 'read' },
      { op: 'read', handle: 'a', offset: 0, length: 16, data: 'alpha' },
      { op: 'close', handle: 'a' },
      { op: 'list', path: '/absdir', names: ['f.txt'], links: [] },
      { op: 'open', path: '/root/absdir/f.txt', as: 'r', disposition: 'open', access: 'read' },
      { op: 'read', handle: 'r', offset: 0, length: 16, data: 'alpha' },
      { op: 'close', handle: 'r' },
      { op: 'unlink', path: '/abs' },
      { op: 'unlink', path: '/absdir', directory: true },
      { op: 'unlink', path: '/root', directory: true },
      { op: 'list', path: '/', names: ['d'], links: [] },
    ],
  },
]
