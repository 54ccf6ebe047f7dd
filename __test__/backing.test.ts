// Rust-served data paths: files opened with a backing file never send their bytes through
// the handlers, whichever path (kernel passthrough or positioned I/O) serves them.
import test from 'ava'
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FsError, type FileSystem } from '../index'
import { mountFs } from './helpers/mount'

async function backingFile(t: { teardown(fn: () => Promise<void>): void }, content: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mountkit-backing-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'data')
  await writeFile(path, content)
  return path
}

/** One file, `/f`, whose opens answer with `openResult()`; counts handler reads and writes. */
function backedFs(backing: string, openResult: () => object) {
  const counts = { read: 0, write: 0, flush: 0, fsync: 0, release: 0 }
  const fs: FileSystem = {
    async getattr(path) {
      if (path === '/') return { kind: 'directory' }
      if (path !== '/f') throw new FsError('ENOENT')
      return { kind: 'file', size: (await stat(backing)).size, mode: 0o666 }
    },
    readdir: () => [{ name: 'f', kind: 'file' }],
    open: () => openResult(),
    read() {
      counts.read++
      return Buffer.alloc(0)
    },
    write() {
      counts.write++
      return 0
    },
    flush() {
      counts.flush++
    },
    fsync() {
      counts.fsync++
    },
    release() {
      counts.release++
    },
  }
  return { fs, counts }
}

const pattern = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 31) & 0xff))

for (const passthrough of [true, false]) {
  const name = passthrough ? 'kernel passthrough allowed' : 'positioned I/O in Rust'
  test(`backingPath serves reads and writes without the handlers (${name})`, async (t) => {
    const backing = await backingFile(t, pattern)
    const { fs, counts } = backedFs(backing, () => ({ handle: 9, backingPath: backing }))
    const { m, p } = await mountFs(t, fs, { passthrough, attrTimeoutMs: 0 })
    t.true((await readFile(p('f'))).equals(pattern))
    const fh = await open(p('f'), 'r+')
    await fh.write(Buffer.from('MOUNTKIT'), 0, 8, 1000)
    await fh.sync()
    await fh.close()
    const onDisk = await readFile(backing)
    t.is(onDisk.subarray(1000, 1008).toString(), 'MOUNTKIT')
    t.deepEqual({ read: counts.read, write: counts.write, flush: counts.flush, fsync: counts.fsync }, { read: 0, write: 0, flush: 0, fsync: 0 })
    const report = m.dataPath()
    if (passthrough && report.passthroughNegotiated) {
      t.is(report.rustIoOpens, 0)
      t.true(report.passthroughOpens >= 2)
    } else {
      t.false(report.passthroughNegotiated && passthrough === false, 'passthrough was not negotiated when turned off')
      t.true(report.rustIoOpens >= 2)
    }
    // release still reaches the handler: the filesystem decides when a handle is done.
    await t.notThrowsAsync(async () => {
      for (let i = 0; i < 50 && counts.release < 2; i++) await new Promise((r) => setTimeout(r, 20))
    })
    t.is(counts.release, 2)
  })
}

test('backingFd is duplicated, so the filesystem may close its own descriptor', async (t) => {
  const backing = await backingFile(t, Buffer.from('from a descriptor\n'))
  const handles: import('node:fs/promises').FileHandle[] = []
  t.teardown(async () => {
    for (const h of handles) await h.close().catch(() => undefined)
  })
  const fs: FileSystem = {
    ...backedFs(backing, () => ({})).fs,
    async open() {
      const h = await open(backing, 'r')
      handles.push(h)
      const result = { backingFd: h.fd }
      // Closing right after answering would race the native side; close on the next turn.
      setImmediate(() => void h.close())
      return result
    },
  }
  const { p } = await mountFs(t, fs, { attrTimeoutMs: 0 })
  t.is(await readFile(p('f'), 'utf8'), 'from a descriptor\n')
})

test('a backingPath that cannot be opened fails the open with EIO and an error event', async (t) => {
  const { fs } = backedFs('/nonexistent', () => ({ backingPath: '/nonexistent/mountkit/backing' }))
  const { p, waitForError } = await mountFs(t, {
    ...fs,
    getattr: (path) => (path === '/' ? { kind: 'directory' } : { kind: 'file', size: 1 }),
  })
  await t.throwsAsync(readFile(p('f')), { code: 'EIO' })
  const fault = await waitForError((e) => e.operation === 'open')
  t.regex(fault.message, /backingPath/)
})
