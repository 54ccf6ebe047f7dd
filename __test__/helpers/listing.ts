// A directory of counted files for the listing tests (readdirplus, lookup-from-listing).
import { readdir, stat } from 'node:fs/promises'
import { FsError, type DirEntry, type FileSystem, type Stat } from '../../index'

/**
 * `/d` holds `count` files `f0`, `f1`, …, each `i` bytes long; `withStat(i)` says whether
 * `readdir` lists `fi` with its stat. Counts the `getattr` calls per path.
 */
export function listingFs(count: number, withStat: (i: number) => boolean = () => true) {
  const getattrs = new Map<string, number>()
  const fileStat = (i: number): Stat => ({ kind: 'file', mode: 0o640, size: i, nlink: 1, ino: 1000 + i })
  const fs: FileSystem = {
    getattr(path) {
      getattrs.set(path, (getattrs.get(path) ?? 0) + 1)
      if (path === '/' || path === '/d') return { kind: 'directory', mode: 0o755, nlink: 2 }
      const match = /^\/d\/f(\d+)$/.exec(path)
      if (match !== null && Number(match[1]) < count) return fileStat(Number(match[1]))
      throw new FsError('ENOENT')
    },
    readdir(path): DirEntry[] {
      if (path === '/') return [{ name: 'd', kind: 'directory' }]
      return Array.from({ length: count }, (_, i) =>
        withStat(i) ? { name: `f${i}`, stat: fileStat(i) } : { name: `f${i}`, kind: 'file' })
    },
  }
  /** getattr calls for files of `/d` so far. */
  const fileGetattrs = () => [...getattrs].filter(([p]) => p.startsWith('/d/')).reduce((n, [, c]) => n + c, 0)
  return { fs, getattrs, fileGetattrs }
}

/** Lists `/d`, then stats every name in it; returns the names and the getattr calls the stats made. */
export async function listThenStat(p: (name: string) => string, counted: ReturnType<typeof listingFs>) {
  const names = await readdir(p('d'))
  const before = counted.fileGetattrs()
  const stats = await Promise.all(names.map((name) => stat(p(`d/${name}`))))
  return { names, stats, getattrs: counted.fileGetattrs() - before }
}
