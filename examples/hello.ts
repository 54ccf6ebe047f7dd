// The smallest mountkit filesystem: a read-only root holding one file, hello.txt.
// Run: tsx examples/hello.ts <mountpoint>
import { FsError, mount, type FileSystem } from '../index' // in an application: from 'mountkit'

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
  const stop = () => {
    m.unmount().then(
      () => console.log('Unmounted.'),
      (error: unknown) => {
        console.error(`Unmount failed: ${String(error)}`)
        process.exitCode = 1
      },
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (require.main === module) {
  const [mountpoint] = process.argv.slice(2)
  if (mountpoint === undefined) {
    console.error('usage: tsx examples/hello.ts <mountpoint>')
    process.exit(2)
  }
  main(mountpoint).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(1)
  })
}
