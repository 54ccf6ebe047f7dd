// The part of fuse-native 2.2.6's API the bench uses (the package ships no types).
declare module 'fuse-native' {
  namespace Fuse {
    interface Stat {
      mode: number
      size?: number
      uid?: number
      gid?: number
      nlink?: number
      atime?: number | Date
      mtime?: number | Date
      ctime?: number | Date
    }
    /** 0 for success, a negative errno (`Fuse.ENOENT`) for failure; read/write: a byte count. */
    type Code = number
    interface Operations {
      getattr?(path: string, cb: (code: Code, stat?: Stat) => void): void
      readdir?(path: string, cb: (code: Code, names?: string[], stats?: Stat[]) => void): void
      open?(path: string, flags: number, cb: (code: Code, fd?: number) => void): void
      create?(path: string, mode: number, cb: (code: Code, fd?: number) => void): void
      read?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (bytes: Code) => void): void
      write?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (bytes: Code) => void): void
      truncate?(path: string, size: number, cb: (code: Code) => void): void
      unlink?(path: string, cb: (code: Code) => void): void
      utimens?(path: string, atime: number, mtime: number, cb: (code: Code) => void): void
      release?(path: string, fd: number, cb: (code: Code) => void): void
    }
    /** Numbers that are 0 must be given as strings: fuse-native drops falsy options. */
    interface Options {
      attrTimeout?: number | string
      entryTimeout?: number | string
      fsname?: string
      uid?: number
      gid?: number
    }
  }
  class Fuse {
    constructor(mountpoint: string, ops: Fuse.Operations, opts?: Fuse.Options)
    mount(cb: (error: Error | null) => void): void
    static readonly ENOENT: number
    static readonly ENOTDIR: number
    static readonly EACCES: number
  }
  export = Fuse
}
