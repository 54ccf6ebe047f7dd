// The bench filesystem as mountkit handlers, and how both mountkit subjects mount it.
import { closeSync, openSync, rmSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { mount, FsError, type DirEntry, type ErrnoName, type FileSystem, type MountOptions, type Stat } from '../../index'
import { EMPTY_FILE, MTIME_MS, Tree, type BenchModel, type Node } from './model'
import { serveUntilStopped, type SubjectArgs } from './serve'

/**
 * Attribute and entry caching off, so every stat() reaches the filesystem; kernel permission
 * checks off, as in the other subjects (with them on, the kernel adds a GETATTR of each
 * directory on the path to every lookup, and the subjects would not see the same requests).
 */
export const BENCH_MOUNT_OPTIONS: MountOptions = {
  attrTimeoutMs: 0,
  entryTimeoutMs: 0,
  defaultPermissions: false,
  fsName: 'benchfs',
}

function toStat(node: Node): Stat {
  return node.kind === 'directory'
    ? { kind: 'directory', mode: 0o755, atime: MTIME_MS, mtime: MTIME_MS, ctime: MTIME_MS }
    : { kind: 'file', mode: 0o644, size: node.size, atime: MTIME_MS, mtime: MTIME_MS, ctime: MTIME_MS }
}

/**
 * The real files behind a Rust-served subject: /file's content, and a directory where each file
 * created in /w gets a real twin. Opening or creating those answers `{ backingPath }`, so their
 * bytes never reach JavaScript.
 */
export interface BackingFiles {
  file: string
  writeDir: string
}

/** Throws the errno a model operation named, if it named one. */
function fail(errno: string | undefined): void {
  if (errno !== undefined) throw new FsError(errno as ErrnoName)
}

/** The bench filesystem; with `backing`, the Rust-served variant of it. */
export function benchFileSystem(model: BenchModel, backing?: BackingFiles): FileSystem {
  // The real twin of a file in /w, or undefined for every other path (and without `backing`).
  const twin = (path: string): string | undefined => {
    const name = backing && model.writableName(path)
    return name ? join(backing.writeDir, name) : undefined
  }
  // Writes to a twin go around JavaScript, so its size is the real file's.
  const statOf = (path: string, node: Node): Stat => {
    const real = node.kind === 'file' ? twin(path) : undefined
    return real === undefined ? toStat(node) : toStat({ kind: 'file', size: statSync(real).size })
  }
  const entries = new Map<string, DirEntry[]>()
  const listing = (path: string): DirEntry[] | undefined => {
    // /dir never changes: its listing is built once, as a real filesystem would cache it.
    const cached = entries.get(path)
    if (cached !== undefined) return cached
    const prefix = path === '/' ? '/' : `${path}/`
    const children = model.children(path)?.map(([name, node]): DirEntry => ({ name, stat: statOf(prefix + name, node) }))
    if (path === '/dir' && children !== undefined) entries.set(path, children)
    return children
  }
  const exists = (path: string) => {
    if (model.node(path) === undefined) throw new FsError('ENOENT')
  }
  return {
    getattr(path) {
      const node = model.node(path)
      if (node === undefined) throw new FsError('ENOENT')
      return statOf(path, node)
    },
    readdir(path) {
      const children = listing(path)
      if (children === undefined) throw new FsError('ENOTDIR')
      return children
    },
    open(path) {
      const backingPath = path === '/file' ? backing?.file : twin(path)
      return backingPath === undefined ? 0 : { backingPath }
    },
    read: (path, handle, offset, length) => model.read(path, offset, length),
    write(path, handle, data, offset) {
      if (!model.write(path, offset, data.length)) throw new FsError('ENOENT')
      return data.length
    },
    create(path) {
      if (Tree.isInside(path)) {
        fail(model.tree.add(path, EMPTY_FILE))
        return { handle: 0, stat: toStat(EMPTY_FILE) }
      }
      if (!model.create(path)) throw new FsError('EACCES')
      const backingPath = twin(path)
      if (backingPath === undefined) return { handle: 0, stat: toStat(EMPTY_FILE) }
      closeSync(openSync(backingPath, 'w'))
      return { backingPath, stat: toStat(EMPTY_FILE) }
    },
    truncate(path, size) {
      const real = twin(path)
      // The twin first: if it cannot be truncated (a missing twin throws ENOENT), the model
      // keeps its size too.
      if (real !== undefined) truncateSync(real, size)
      if (!model.truncate(path, size)) throw new FsError('ENOENT')
    },
    mkdir(path) {
      if (!Tree.isInside(path)) throw new FsError('EACCES')
      fail(model.tree.add(path, { kind: 'directory' }))
      // The new directory's attributes, as create answers its file's: FUSE then calls no getattr.
      return toStat({ kind: 'directory' })
    },
    rmdir(path) {
      if (!Tree.isInside(path)) throw new FsError('EACCES')
      fail(model.tree.remove(path, 'directory'))
    },
    unlink(path) {
      if (Tree.isInside(path)) return fail(model.tree.remove(path, 'file'))
      if (!model.unlink(path)) throw new FsError('ENOENT')
      const real = twin(path)
      if (real !== undefined) rmSync(real, { force: true })
    },
    utimens: exists,
  }
}

/**
 * Mounts and serves until the harness stops the process; reports the data and request paths
 * on exit. On
 * SIGUSR2 it prints `Mount.stats()` as one JSON line, for the tree workload's known-inode count.
 * A subject variant's options (`SubjectSpec.mountOptions`, passed as JSON in
 * BENCH_MOUNT_OPTIONS) go over the subject's own.
 */
export async function serveMountkit(args: SubjectArgs, fs: FileSystem, options: MountOptions = {}): Promise<void> {
  const variant = JSON.parse(process.env.BENCH_MOUNT_OPTIONS ?? '{}') as MountOptions
  const m = await mount(args.mountpoint, fs, { ...BENCH_MOUNT_OPTIONS, ...options, ...variant })
  m.on('error', (error) => console.error(`mountkit handler error: ${error.message}`))
  process.on('SIGUSR2', () => process.stdout.write(`${JSON.stringify({ stats: m.stats() })}\n`))
  serveUntilStopped(async () => {
    const dataPath = m.dataPath()
    const { ioUring, requestsFromRing, requestsReadWhileSpinning } = m.stats()
    await m.unmount()
    return { dataPath, requests: { ioUring, requestsFromRing, requestsReadWhileSpinning } }
  })
}
