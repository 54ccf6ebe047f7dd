// The bench filesystem as callback handlers in the style fuse-native and fuse-napi share
// (fuse-napi keeps fuse-native's callback API): `cb(0, value)` on success, `cb(-errno)` on
// failure, `cb(byteCount)` for read and write.
import { MTIME_MS, type BenchModel, type Node } from './model'

export interface CallbackStat {
  mode: number
  size: number
  uid: number
  gid: number
  nlink: number
  atime: number
  mtime: number
  ctime: number
}

/** Negative errno values, as each library exports them. */
export interface Errnos {
  ENOENT: number
  ENOTDIR: number
  EACCES: number
}

type Done = (code: number) => void
type Offset = number | bigint

const uid = process.getuid?.() ?? 0
const gid = process.getgid?.() ?? 0

function toStat(node: Node): CallbackStat {
  return node.kind === 'directory'
    ? { mode: 0o040755, size: 0, uid, gid, nlink: 2, atime: MTIME_MS, mtime: MTIME_MS, ctime: MTIME_MS }
    : { mode: 0o100644, size: node.size, uid, gid, nlink: 1, atime: MTIME_MS, mtime: MTIME_MS, ctime: MTIME_MS }
}

// Paths are typed `string | null` because fuse-napi may pass null for handle operations on
// unlinked files (only with its nullPathOk option, which the bench does not set).
export function callbackOps(model: BenchModel, errno: Errnos) {
  // /dir never changes: its listing is built once, as a real filesystem would cache it.
  const dirNames = model.entryNames
  const dirStats = dirNames.map(() => toStat({ kind: 'file', size: 0 }))
  return {
    getattr(path: string | null, cb: (code: number, stat?: CallbackStat) => void) {
      const node = model.node(path ?? '')
      if (node === undefined) cb(errno.ENOENT)
      else cb(0, toStat(node))
    },
    readdir(path: string | null, cb: (code: number, names?: string[], stats?: CallbackStat[]) => void) {
      if (path === '/dir') return cb(0, dirNames, dirStats)
      const children = model.children(path ?? '')
      if (children === undefined) return cb(errno.ENOTDIR)
      cb(
        0,
        children.map(([name]) => name),
        children.map(([, node]) => toStat(node)),
      )
    },
    open(path: string, flags: number, cb: (code: number, fd?: number) => void) {
      cb(0, 0)
    },
    create(path: string, mode: number, cb: (code: number, fd?: number) => void) {
      if (model.create(path)) cb(0, 0)
      else cb(errno.EACCES)
    },
    read(path: string | null, fd: Offset, buffer: Buffer, length: number, position: Offset, cb: Done) {
      // These APIs hand in a buffer to fill: one copy is part of their contract.
      cb(model.read(path ?? '', Number(position), length).copy(buffer))
    },
    write(path: string | null, fd: Offset, buffer: Buffer, length: number, position: Offset, cb: Done) {
      cb(model.write(path ?? '', Number(position), length) ? length : errno.ENOENT)
    },
    truncate(path: string | null, size: Offset, cb: Done) {
      cb(model.truncate(path ?? '', Number(size)) ? 0 : errno.ENOENT)
    },
    unlink(path: string, cb: Done) {
      cb(model.unlink(path) ? 0 : errno.ENOENT)
    },
    utimens(path: string | null, atime: Offset, mtime: Offset, cb: Done) {
      cb(model.node(path ?? '') === undefined ? errno.ENOENT : 0)
    },
    release(path: string | null, fd: Offset, cb: Done) {
      cb(0)
    },
  }
}
