// The bench filesystem, shared by every JavaScript subject so that they differ only in the
// library that carries the requests. bench/c/benchfs.c is the same logic in C.
//
//   /file   read-only, `fileSize` bytes; the byte at offset i is (i * 31) & 0xff
//   /dir    `entries` empty files e0..eN-1, listed with their attributes
//   /w/     flat writable directory: create, write (bytes counted, sizes kept), truncate, unlink
//   /t/     writable tree of empty files and directories: mkdir, create, unlink, rmdir, readdir

/** The content repeats every PATTERN_SIZE bytes; reads are served from one buffer. */
export const PATTERN_SIZE = 1 << 20
/** Every node's atime/mtime/ctime, in ms. */
export const MTIME_MS = 1_700_000_000_000

export type Node = { kind: 'directory' } | { kind: 'file'; size: number }

const DIRECTORY: Node = { kind: 'directory' }
/** An empty regular file: each /dir entry, and each file /w creates. */
export const EMPTY_FILE: Node = { kind: 'file', size: 0 }

/** Byte at offset `i` of /file (and of the tmpfs and backing copies). */
export function patternByte(i: number): number {
  return (i * 31) & 0xff
}

/** The pattern twice over, so any read of up to PATTERN_SIZE bytes is one subarray. */
export function patternBuffer(): Buffer {
  const buffer = Buffer.allocUnsafe(2 * PATTERN_SIZE)
  for (let i = 0; i < buffer.length; i++) buffer[i] = patternByte(i)
  return buffer
}

/**
 * The tree under /t: each directory by its full path, holding its children's names and kinds,
 * the way bench/c/benchfs.c keeps one table of nodes by path and a child list per directory.
 */
export class Tree {
  private readonly directories = new Map<string, Map<string, Node>>([['/t', new Map()]])

  static isInside(path: string): boolean {
    return path === '/t' || path.startsWith('/t/')
  }

  node(path: string): Node | undefined {
    if (this.directories.has(path)) return DIRECTORY
    const { parent, name } = split(path)
    return this.directories.get(parent)?.get(name)
  }

  children(path: string): Array<[string, Node]> | undefined {
    const children = this.directories.get(path)
    return children && [...children]
  }

  /** Adds a file or directory; the errno name when it cannot. */
  add(path: string, node: Node): string | undefined {
    const { parent, name } = split(path)
    const siblings = this.directories.get(parent)
    if (siblings === undefined) return this.node(parent) === undefined ? 'ENOENT' : 'ENOTDIR'
    if (siblings.has(name)) return 'EEXIST'
    siblings.set(name, node)
    if (node.kind === 'directory') this.directories.set(path, new Map())
    return undefined
  }

  /** Removes a file, or an empty directory; the errno name when it cannot. */
  remove(path: string, kind: Node['kind']): string | undefined {
    const { parent, name } = split(path)
    const node = this.directories.get(parent)?.get(name)
    if (node === undefined) return path === '/t' ? 'EBUSY' : 'ENOENT'
    if (node.kind !== kind) return kind === 'directory' ? 'ENOTDIR' : 'EISDIR'
    if (kind === 'directory') {
      if (this.directories.get(path)!.size > 0) return 'ENOTEMPTY'
      this.directories.delete(path)
    }
    this.directories.get(parent)!.delete(name)
    return undefined
  }
}

function split(path: string): { parent: string; name: string } {
  const slash = path.lastIndexOf('/')
  return { parent: path.slice(0, slash), name: path.slice(slash + 1) }
}

export class BenchModel {
  readonly pattern = patternBuffer()
  readonly entryNames: string[]
  private readonly fileNode: Node
  /** Sizes of the files in /w, by name. */
  private readonly written = new Map<string, number>()
  readonly tree = new Tree()

  constructor(
    readonly fileSize: number,
    readonly entries: number,
  ) {
    this.entryNames = Array.from({ length: entries }, (_, i) => `e${i}`)
    this.fileNode = { kind: 'file', size: fileSize }
  }

  /** The node at `path`, or undefined when there is none (ENOENT). */
  node(path: string): Node | undefined {
    if (Tree.isInside(path)) return this.tree.node(path)
    switch (path) {
      case '/':
      case '/dir':
      case '/w':
        return DIRECTORY
      case '/file':
        return this.fileNode
    }
    const name = this.writableName(path)
    if (name !== undefined) {
      const size = this.written.get(name)
      return size === undefined ? undefined : { kind: 'file', size }
    }
    return this.isEntry(path) ? EMPTY_FILE : undefined
  }

  /** Names and nodes of a directory's children, or undefined if `path` is not a directory. */
  children(path: string): Array<[string, Node]> | undefined {
    if (Tree.isInside(path)) return this.tree.children(path)
    switch (path) {
      case '/':
        return [
          ['file', this.fileNode],
          ['dir', DIRECTORY],
          ['w', DIRECTORY],
          ['t', DIRECTORY],
        ]
      case '/dir':
        return this.entryNames.map((name) => [name, EMPTY_FILE])
      case '/w':
        return [...this.written].map(([name, size]) => [name, { kind: 'file', size }])
    }
    return undefined
  }

  /** Bytes of /file at `offset` (a view of the pattern, not a copy); empty past the end. */
  read(path: string, offset: number, length: number): Buffer {
    if (path !== '/file' || offset >= this.fileSize) return this.pattern.subarray(0, 0)
    const count = Math.min(length, this.fileSize - offset, PATTERN_SIZE)
    const start = offset % PATTERN_SIZE
    return this.pattern.subarray(start, start + count)
  }

  /** Creates (or truncates) a file in /w; false where files cannot be created. */
  create(path: string): boolean {
    const name = this.writableName(path)
    if (name === undefined) return false
    this.written.set(name, 0)
    return true
  }

  /** Counts a write; false if `path` is not a file in /w. The bytes are not kept. */
  write(path: string, offset: number, length: number): boolean {
    const name = this.writableName(path)
    const size = name === undefined ? undefined : this.written.get(name)
    if (name === undefined || size === undefined) return false
    if (offset + length > size) this.written.set(name, offset + length)
    return true
  }

  truncate(path: string, size: number): boolean {
    const name = this.writableName(path)
    if (name === undefined || !this.written.has(name)) return false
    this.written.set(name, size)
    return true
  }

  unlink(path: string): boolean {
    const name = this.writableName(path)
    return name !== undefined && this.written.delete(name)
  }

  /** The name of a file `path` may create or name in /w, or undefined outside /w. */
  writableName(path: string): string | undefined {
    if (!path.startsWith('/w/')) return undefined
    const name = path.slice(3)
    return name.length > 0 && !name.includes('/') ? name : undefined
  }

  /** /dir/eN with 0 <= N < entries, written without leading zeros. */
  private isEntry(path: string): boolean {
    if (!path.startsWith('/dir/e')) return false
    const digits = path.slice(6)
    if (!/^(0|[1-9][0-9]*)$/.test(digits)) return false
    return Number(digits) < this.entries
  }
}
