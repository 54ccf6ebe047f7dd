// The test's end of the driver doubles' kernel protocol (doubles/README.md): a connection is one
// calling thread of a Windows program, and each method is the system call it would make.
import { connect, type Socket } from 'node:net'

/** NTSTATUS values the suites name. */
export const STATUS = {
  SUCCESS: 0x00000000,
  PENDING: 0x00000103,
  BUFFER_OVERFLOW: 0x80000005,
  NO_MORE_FILES: 0x80000006,
  INVALID_DEVICE_REQUEST: 0xc0000010,
  NO_SUCH_DEVICE: 0xc000000e,
  NO_SUCH_FILE: 0xc000000f,
  INVALID_PARAMETER: 0xc000000d,
  END_OF_FILE: 0xc0000011,
  ACCESS_DENIED: 0xc0000022,
  OBJECT_NAME_INVALID: 0xc0000033,
  OBJECT_NAME_NOT_FOUND: 0xc0000034,
  OBJECT_NAME_COLLISION: 0xc0000035,
  OBJECT_PATH_NOT_FOUND: 0xc000003a,
  DELETE_PENDING: 0xc0000056,
  DISK_FULL: 0xc000007f,
  FILE_IS_A_DIRECTORY: 0xc00000ba,
  NOT_SUPPORTED: 0xc00000bb,
  IO_TIMEOUT: 0xc00000b5,
  DIRECTORY_NOT_EMPTY: 0xc0000101,
  NOT_A_DIRECTORY: 0xc0000103,
  CANCELLED: 0xc0000120,
  DEVICE_NOT_READY: 0xc00000a3,
  IO_DEVICE_ERROR: 0xc0000185,
  CANNOT_DELETE: 0xc0000121,
  MEDIA_WRITE_PROTECTED: 0xc00000a2,
  REPARSE: 0x00000104,
  NOT_A_REPARSE_POINT: 0xc0000275,
  IO_REPARSE_TAG_MISMATCH: 0xc0000277,
  IO_REPARSE_DATA_INVALID: 0xc0000278,
  REPARSE_POINT_NOT_RESOLVED: 0xc0000280,
} as const

export type StatusName = keyof typeof STATUS

/** The name of `status` for messages, such as `OBJECT_NAME_NOT_FOUND (0xc0000034)`. */
export function statusName(status: number): string {
  const hex = `0x${status.toString(16).padStart(8, '0')}`
  const name = Object.entries(STATUS).find(([, value]) => value === status)?.[0]
  return name === undefined ? hex : `${name} (${hex})`
}

/** Create dispositions, as the protocol names them. */
export type Disposition = 'supersede' | 'open' | 'create' | 'open-if' | 'overwrite' | 'overwrite-if'

/** FILE_* create options and attributes the suites use. */
export const FILE = {
  DIRECTORY_FILE: 0x1,
  NON_DIRECTORY_FILE: 0x40,
  DELETE_ON_CLOSE: 0x1000,
  /** Opens a symbolic link itself rather than what it points to. */
  OPEN_REPARSE_POINT: 0x200000,
  ATTRIBUTE_REPARSE_POINT: 0x400,
  /** The reparse tag of a symbolic link. */
  REPARSE_TAG_SYMLINK: 0xa000000c,
  ATTRIBUTE_READONLY: 0x1,
  ATTRIBUTE_HIDDEN: 0x2,
  ATTRIBUTE_SYSTEM: 0x4,
  ATTRIBUTE_DIRECTORY: 0x10,
  ATTRIBUTE_ARCHIVE: 0x20,
  ATTRIBUTE_NORMAL: 0x80,
  /** IoStatus.Information of a create. */
  SUPERSEDED: 0,
  OPENED: 1,
  CREATED: 2,
  OVERWRITTEN: 3,
} as const

/**
 * Access masks: generic read and write with DELETE, as `CreateFile` asks for both; generic read;
 * and what SetFileAttributes and DeleteFile open with (read and write attributes, DELETE,
 * SYNCHRONIZE).
 */
export const ACCESS = {
  READ_WRITE_DELETE: 0x0012019f | 0x00010000,
  READ: 0x00120089,
  /** Reading the security descriptor only. */
  READ_CONTROL: 0x00020000,
  METADATA: 0x00000080 | 0x00000100 | 0x00010000 | 0x00100000,
  /** Whatever the caller may have, as Explorer often asks. */
  MAXIMUM_ALLOWED: 0x02000000,
  /** What CreateSymbolicLinkW opens the new link with: write data and attributes, DELETE, SYNCHRONIZE. */
  SYMLINK: 0x00000002 | 0x00000100 | 0x00010000 | 0x00100000,
} as const

/** What a symbolic link's reparse data says: where it leads, and whether that is relative to the link's directory. */
export interface SymlinkTarget {
  /** SubstituteName: what Windows follows. */
  substitute: string
  /** PrintName: what programs show. */
  print: string
  /** SYMLINK_FLAG_RELATIVE. */
  relative: boolean
}

/** A symbolic link's REPARSE_DATA_BUFFER: the substitute name, then the print name. */
export function symlinkReparseData(target: SymlinkTarget): Buffer {
  const substitute = Buffer.from(target.substitute, 'utf16le')
  const print = Buffer.from(target.print, 'utf16le')
  const data = Buffer.alloc(20 + substitute.length + print.length)
  data.writeUInt32LE(FILE.REPARSE_TAG_SYMLINK, 0)
  data.writeUInt16LE(12 + substitute.length + print.length, 4)
  data.writeUInt16LE(0, 8)
  data.writeUInt16LE(substitute.length, 10)
  data.writeUInt16LE(substitute.length, 12)
  data.writeUInt16LE(print.length, 14)
  data.writeUInt32LE(target.relative ? 1 : 0, 16)
  substitute.copy(data, 20)
  print.copy(data, 20 + substitute.length)
  return data
}

/** Reads a symbolic link's REPARSE_DATA_BUFFER; throws on another tag or a malformed one. */
export function parseSymlinkReparseData(data: Buffer): SymlinkTarget {
  if (data.length < 20) throw new Error(`reparse data of ${data.length} bytes is shorter than a symbolic link's header`)
  const tag = data.readUInt32LE(0)
  if (tag !== FILE.REPARSE_TAG_SYMLINK) throw new Error(`reparse tag 0x${tag.toString(16)} is not IO_REPARSE_TAG_SYMLINK`)
  if (8 + data.readUInt16LE(4) !== data.length) throw new Error(`ReparseDataLength ${data.readUInt16LE(4)} disagrees with ${data.length} bytes`)
  const name = (offset: number, length: number) => data.subarray(20 + offset, 20 + offset + length).toString('utf16le')
  return {
    substitute: name(data.readUInt16LE(8), data.readUInt16LE(10)),
    print: name(data.readUInt16LE(12), data.readUInt16LE(14)),
    relative: (data.readUInt32LE(16) & 1) !== 0,
  }
}

export interface CreateOptions {
  access?: number
  disposition?: Disposition
  options?: number
  attributes?: number
  share?: number
  alloc?: number
  /** The security descriptor asked for a new file (SECURITY_ATTRIBUTES), in SDDL. */
  sddl?: string
}

export interface FileInformation {
  attributes: number
  size: number
  alloc: number
  created: bigint
  accessed: bigint
  written: bigint
  changed: bigint
  index: bigint
  links: number
  directory: boolean
  /** The reparse tag (FileAttributeTagInformation); the WinFsp double reports it. */
  tag?: number
}

export interface DirEntry {
  name: string
  attributes: number
  size: number
  /** The reparse tag, as FindFirstFile reports it; the WinFsp double reports it. */
  tag?: number
}

/** A change the file system reported itself, as the double recorded it. */
export interface Notification {
  path: string
  /** FILE_ACTION_*. */
  action: number
  /** FILE_NOTIFY_CHANGE_*. */
  filter: number
}

/** FILE_ACTION_* and FILE_NOTIFY_CHANGE_* values. */
export const NOTIFY = {
  ADDED: 1,
  REMOVED: 2,
  MODIFIED: 3,
  RENAMED_OLD_NAME: 4,
  RENAMED_NEW_NAME: 5,
  FILE_NAME: 0x1,
  DIR_NAME: 0x2,
  ATTRIBUTES: 0x4,
  SIZE: 0x8,
  LAST_WRITE: 0x10,
} as const

export interface VolumeInformation {
  label: string
  fsname: string
  total: number
  free: number
  fsflags: number
  maxname: number
  /** Where the driver mounted the volume (`M:`, a folder), empty when it has no mount point. */
  mountpoint: string
  /** The volume's UNC name, `\\server\\share` with one leading backslash; empty for a disk. */
  unc: string
  /** `fixed`, `network` or `removable`, as the driver presents the volume. */
  drivetype: string
}

/** A reply: its status and its fields, in order. */
export class Reply {
  constructor(
    readonly status: number,
    readonly fields: ReadonlyArray<readonly [string, string]>,
  ) {}

  all(key: string): string[] {
    return this.fields.filter(([k]) => k === key).map(([, v]) => v)
  }

  text(key: string): string {
    const value = this.all(key)[0]
    if (value === undefined) throw new Error(`the kernel's reply has no ${key}: ${this.describe()}`)
    return value
  }

  number(key: string): number {
    return Number(this.text(key))
  }

  bigint(key: string): bigint {
    return BigInt(this.text(key))
  }

  describe(): string {
    return [statusName(this.status), ...this.fields.map(([k, v]) => `${k}=${v.slice(0, 64)}`)].join(' ')
  }
}

const PLAIN = /[A-Za-z0-9\-._~/\\:*?<>"]/

/** The protocol's string encoding: UTF-8, with every byte but the plain ones as %XX. */
export function encode(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte)
    out += byte < 0x80 && PLAIN.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

export function decode(text: string): string {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(text.charCodeAt(i))
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

type Argument = string | number | bigint

/**
 * One thread of a Windows program, calling into the volume. Requests on one connection run one
 * at a time, in order; open two connections for two threads.
 */
export class Kernel {
  private buffered = ''
  private readonly waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = []
  private closedWith: Error | undefined

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.buffered += chunk
      for (let end = this.buffered.indexOf('\n'); end >= 0; end = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, end)
        this.buffered = this.buffered.slice(end + 1)
        this.waiting.shift()?.resolve(line)
      }
    })
    const fail = (error: Error) => {
      this.closedWith ??= error
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.closedWith)
    }
    socket.on('error', fail)
    socket.on('close', () => fail(new Error('the kernel double closed the connection')))
  }

  static connect(port: number): Promise<Kernel> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => resolve(new Kernel(socket)))
      socket.once('error', reject)
    })
  }

  /** Ends this thread's connection. */
  disconnect(): void {
    this.socket.end()
  }

  /** Sends one request line and resolves with its reply. */
  call(verb: string, positional: Argument[] = [], named: Record<string, Argument | undefined> = {}): Promise<Reply> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith)
    const args = positional.map((a) => (typeof a === 'string' ? encode(a) : String(a)))
    for (const [key, value] of Object.entries(named)) {
      if (value !== undefined) args.push(`${key}=${typeof value === 'string' ? encode(value) : String(value)}`)
    }
    const line = [verb, ...args].join(' ')
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ resolve, reject })
      this.socket.write(`${line}\n`)
    }).then(parseReply)
  }

  async create(path: string, o: CreateOptions = {}): Promise<{ status: number; handle: number; info: number }> {
    const reply = await this.call('create', [path], {
      access: o.access,
      disposition: o.disposition,
      options: o.options,
      attributes: o.attributes,
      share: o.share,
      alloc: o.alloc,
      sddl: o.sddl,
    })
    if (reply.status !== STATUS.SUCCESS) return { status: reply.status, handle: 0, info: -1 }
    return { status: reply.status, handle: reply.number('handle'), info: reply.number('info') }
  }

  async cleanup(handle: number): Promise<number> {
    return (await this.call('cleanup', [handle])).status
  }

  async close(handle: number): Promise<number> {
    return (await this.call('close', [handle])).status
  }

  /** CloseHandle: cleanup, then close, as the I/O manager sends them for the last handle. */
  async closeHandle(handle: number): Promise<number> {
    const status = await this.cleanup(handle)
    await this.close(handle)
    return status
  }

  async read(handle: number, offset: number, length: number): Promise<{ status: number; data: Buffer }> {
    const reply = await this.call('read', [handle, offset, length])
    const hex = reply.all('data')[0] ?? '-'
    return { status: reply.status, data: Buffer.from(hex === '-' ? '' : hex, 'hex') }
  }

  async write(handle: number, offset: number, data: Buffer | string): Promise<{ status: number; written: number }> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    const reply = await this.call('write', [handle, offset, bytes.length ? bytes.toString('hex') : '-'])
    return { status: reply.status, written: reply.status === STATUS.SUCCESS ? reply.number('written') : 0 }
  }

  async flush(handle: number): Promise<number> {
    return (await this.call('flush', [handle])).status
  }

  async query(handle: number): Promise<{ status: number; info?: FileInformation }> {
    const reply = await this.call('query', [handle])
    if (reply.status !== STATUS.SUCCESS) return { status: reply.status }
    return {
      status: reply.status,
      info: {
        attributes: reply.number('attributes'),
        size: reply.number('size'),
        alloc: reply.number('alloc'),
        created: reply.bigint('created'),
        accessed: reply.bigint('accessed'),
        written: reply.bigint('written'),
        changed: reply.bigint('changed'),
        index: reply.bigint('index'),
        links: reply.number('links'),
        directory: reply.number('directory') === 1,
        tag: reply.all('tag').length > 0 ? reply.number('tag') : undefined,
      },
    }
  }

  async setBasic(
    handle: number,
    basic: { attributes?: number; created?: bigint; accessed?: bigint; written?: bigint; changed?: bigint },
  ): Promise<number> {
    return (await this.call('set-basic', [handle], basic)).status
  }

  async setEof(handle: number, size: number): Promise<number> {
    return (await this.call('set-eof', [handle, size])).status
  }

  async setAlloc(handle: number, size: number): Promise<number> {
    return (await this.call('set-alloc', [handle, size])).status
  }

  async setDelete(handle: number, deleteFile: boolean): Promise<number> {
    return (await this.call('set-delete', [handle, deleteFile ? 1 : 0])).status
  }

  /** FSCTL_GET_REPARSE_POINT: the file's reparse data (a REPARSE_DATA_BUFFER). */
  async getReparse(handle: number): Promise<{ status: number; data: Buffer }> {
    const reply = await this.call('get-reparse', [handle])
    const hex = reply.all('data')[0] ?? '-'
    return { status: reply.status, data: Buffer.from(hex === '-' ? '' : hex, 'hex') }
  }

  /** FSCTL_SET_REPARSE_POINT with `data` (a REPARSE_DATA_BUFFER). */
  async setReparse(handle: number, data: Buffer): Promise<number> {
    return (await this.call('set-reparse', [handle, data.length ? data.toString('hex') : '-'])).status
  }

  /** FSCTL_DELETE_REPARSE_POINT with `data` (a REPARSE_DATA_BUFFER header naming the tag). */
  async deleteReparse(handle: number, data: Buffer): Promise<number> {
    return (await this.call('delete-reparse', [handle, data.length ? data.toString('hex') : '-'])).status
  }

  /**
   * CreateSymbolicLinkW: creates the link's file (or directory) to stand for the link, opened
   * as a reparse point, sets `target` on it, and closes it; the file is deleted again when
   * setting the link fails, as CreateSymbolicLinkW does.
   */
  async createSymlink(path: string, target: SymlinkTarget, directory: boolean): Promise<number> {
    const made = await this.create(path, {
      access: ACCESS.SYMLINK,
      disposition: 'create',
      options: FILE.OPEN_REPARSE_POINT | (directory ? FILE.DIRECTORY_FILE : FILE.NON_DIRECTORY_FILE),
      attributes: directory ? FILE.ATTRIBUTE_DIRECTORY : FILE.ATTRIBUTE_NORMAL,
    })
    if (made.status !== STATUS.SUCCESS) return made.status
    const status = await this.setReparse(made.handle, symlinkReparseData(target))
    if (status !== STATUS.SUCCESS) await this.setDelete(made.handle, true)
    await this.closeHandle(made.handle)
    return status
  }

  /** The target of the symbolic link at `path`, opened as a reparse point, from its reparse data. */
  async readSymlink(path: string): Promise<{ status: number; target?: SymlinkTarget }> {
    const opened = await this.create(path, { access: ACCESS.READ, disposition: 'open', options: FILE.OPEN_REPARSE_POINT })
    if (opened.status !== STATUS.SUCCESS) return { status: opened.status }
    const got = await this.getReparse(opened.handle)
    await this.closeHandle(opened.handle)
    if (got.status !== STATUS.SUCCESS) return { status: got.status }
    return { status: got.status, target: parseSymlinkReparseData(got.data) }
  }

  async rename(handle: number, to: string, replace: boolean): Promise<number> {
    return (await this.call('rename', [handle, to, replace ? 1 : 0])).status
  }

  async queryDir(
    handle: number,
    o: { pattern?: string; restart?: boolean; size?: number } = {},
  ): Promise<{ status: number; entries: DirEntry[] }> {
    const reply = await this.call('query-dir', [handle], {
      pattern: o.pattern,
      restart: o.restart === undefined ? undefined : Number(o.restart),
      size: o.size,
    })
    const entries = reply.all('entry').map((entry) => {
      const [name, attributes, size, tag] = entry.split(',')
      return {
        name: decode(name!),
        attributes: parseInt(attributes!, 16),
        size: Number(size),
        tag: tag === undefined ? undefined : parseInt(tag, 16),
      }
    })
    return { status: reply.status, entries }
  }

  /**
   * Every entry of the directory `handle`, in as many calls as a `size`-byte buffer needs (at
   * most `maxCalls`: a listing that never ends is a failure, not a hang).
   */
  async listAll(
    handle: number,
    o: { pattern?: string; size?: number; maxCalls?: number } = {},
  ): Promise<{ status: number; entries: DirEntry[]; calls: number }> {
    const entries: DirEntry[] = []
    for (let calls = 1; ; calls++) {
      if (calls > (o.maxCalls ?? 10_000)) throw new Error(`the listing did not end after ${calls - 1} calls`)
      const page = await this.queryDir(handle, { ...o, restart: calls === 1 })
      entries.push(...page.entries)
      if (page.status !== STATUS.SUCCESS) {
        const status = page.status === STATUS.NO_MORE_FILES ? STATUS.SUCCESS : page.status
        return { status, entries, calls }
      }
    }
  }

  async volume(): Promise<{ status: number; volume?: VolumeInformation }> {
    const reply = await this.call('volume')
    if (reply.status !== STATUS.SUCCESS) return { status: reply.status }
    return {
      status: reply.status,
      volume: {
        label: decode(reply.text('label')),
        fsname: decode(reply.text('fsname')),
        total: reply.number('total'),
        free: reply.number('free'),
        fsflags: reply.number('fsflags'),
        maxname: reply.number('maxname'),
        mountpoint: decode(reply.text('mountpoint')),
        unc: decode(reply.text('unc')),
        drivetype: reply.text('drivetype'),
      },
    }
  }

  /** The changes the file system reported since the last call, oldest first; reading clears them. */
  async notifications(): Promise<{ status: number; notifications: Notification[] }> {
    const reply = await this.call('notifications')
    const notifications: Notification[] = []
    for (const [key, value] of reply.fields) {
      if (key === 'path') notifications.push({ path: decode(value), action: 0, filter: 0 })
      const last = notifications.at(-1)
      if (last !== undefined && key === 'action') last.action = Number(value)
      if (last !== undefined && key === 'filter') last.filter = Number(value)
    }
    if (reply.status === STATUS.SUCCESS && notifications.length !== reply.number('count')) {
      throw new Error(`notifications: count=${reply.number('count')} but ${notifications.length} were listed`)
    }
    return { status: reply.status, notifications }
  }

  async setLabel(label: string): Promise<number> {
    return (await this.call('set-label', [label])).status
  }

  async security(handle: number, info = 0x7): Promise<{ status: number; sddl: string }> {
    const reply = await this.call('security', [handle], { info })
    return { status: reply.status, sddl: reply.status === STATUS.SUCCESS ? decode(reply.text('sddl')) : '' }
  }

  /** SetFileSecurity: the parts `info` (SECURITY_INFORMATION) names of the descriptor `sddl`. */
  async setSecurity(handle: number, info: number, sddl: string): Promise<number> {
    return (await this.call('set-security', [handle], { info, sddl })).status
  }
}

function parseReply(line: string): Reply {
  const [status, ...rest] = line.split(' ')
  const fields = rest.map((field) => {
    const equals = field.indexOf('=')
    return [field.slice(0, equals), field.slice(equals + 1)] as const
  })
  return new Reply(Number(status), fields)
}
