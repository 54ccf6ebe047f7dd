// The smallest mountkit filesystem: a read-only root holding one file, hello.txt.
// Run: tsx examples/hello.ts <mountpoint>
import { FsError, mount, type FileSystem } from '../index' // in an application: from 'mountkit'
import { runCommand, unmountOnSignal } from './command-line'

const greeting = Buffer.from('Hello from mountkit!\n')

export const hello: FileSystem = {
  getattr(path) {
    if (path === '/') return { kind: 'directory', mode: 0o555 }
    if (path === '/hello.txt') return { kind: 'file', mode: 0o444, size: greeting.length }
    throw new FsError('ENOENT')
  },
  readdir() {
    // getattr reports only one directory, so this is always the root.
    return [{ name: 'hello.txt', stat: { kind: 'file', mode: 0o444, size: greeting.length } }]
  },
  read(path, handle, offset, length) {
    return greeting.subarray(offset, offset + length)
  },
}

async function main(mountpoint: string): Promise<void> {
  const m = await mount(mountpoint, hello, { readOnly: true })
  console.log(`Mounted at ${m.mountpoint}: try  cat ${m.mountpoint}/hello.txt  (Ctrl-C unmounts)`)
  unmountOnSignal(m)
}

if (require.main === module) runCommand('tsx examples/hello.ts <mountpoint>', 1, main)
