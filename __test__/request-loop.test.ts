// mountkit's own FUSE request loop: the JavaScript thread reads requests itself while it spins
// after a batch (`readWhileSpinning`), and a workload gives the same results whichever
// thread read its requests.
import { existsSync, writeFileSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { createMemfs } from '../examples/memfs'
import { FsError, type FileSystem, type MountOptions } from '../index'
import { mountFs, tempDir } from './helpers/mount'
import { py } from './helpers/python'
import { checkFileWorkload, FILE_WORKLOAD } from './helpers/workload'

// A client in another process: one in this process would wait for the JavaScript thread, so
// its next request could never arrive while that thread spins.
const STAT_LOOP = `
import os, sys
path, count = sys.argv[1], int(sys.argv[2])
for _ in range(count):
    os.stat(path)
out(count)
`

// A long spin makes it near certain that some of the client's requests arrive during one. The
// JavaScript thread reads from /dev/fuse, so these mounts take no io_uring ring (which would
// deliver the requests instead).
const SPINNING: MountOptions = { spinMicros: 2000, attrTimeoutMs: 0, entryTimeoutMs: 0, ioUring: false }

test('while it spins, the JavaScript thread reads requests from the kernel itself', async (t) => {
  const { p, m, errors } = await mountFs(t, createMemfs(), SPINNING)
  // Whether a request arrives while the thread spins depends on what else the machine runs
  // (on a busy one a whole loop can miss every spin), so the loop runs again, ten times at
  // most, until one of its requests was read there.
  let read = 0
  for (let round = 1; round <= 10 && read === 0; round++) {
    await py(STAT_LOOP, [p(''), 2000])
    read = m.stats().requestsReadWhileSpinning
    t.log(`round ${round}: ${read} of the stat loop's requests were read by the JavaScript thread`)
  }
  t.true(read > 0)
  t.deepEqual(errors, [])
})

test('readWhileSpinning: false leaves every request to the backend threads', async (t) => {
  const { p, m, errors } = await mountFs(t, createMemfs(), { ...SPINNING, readWhileSpinning: false })
  await py(STAT_LOOP, [p(''), 2000])
  t.is(m.stats().requestsReadWhileSpinning, 0)
  t.deepEqual(errors, [])
})

test('a workload sees the same files whichever thread reads its requests', async (t) => {
  const results = []
  for (const readWhileSpinning of [true, false]) {
    const { p, errors } = await mountFs(t, createMemfs(), { ...SPINNING, readWhileSpinning })
    results.push(await py<unknown[]>(FILE_WORKLOAD, [p('')]))
    t.deepEqual(errors, [])
  }
  const [on, off] = results
  checkFileWorkload(t, on)
  t.deepEqual(on, off)
})

// Opens a file of the mount, says so, waits until the JavaScript thread is stuck in a
// handler, then reads the file (which crosses to no handler: its data is in a backing file)
// and says so.
const READ_WHILE_BLOCKED = `
import os, sys, time
path, opened, entered, done = sys.argv[1:5]
fd = os.open(path, os.O_RDONLY)
open(opened, "w").close()
deadline = time.time() + 10
while not os.path.exists(entered) and time.time() < deadline:
    time.sleep(0.001)
data = os.pread(fd, 64, 0)
open(done, "w").close()
os.close(fd)
out(data.decode())
`

// One request, then the one that blocks the JavaScript thread: it arrives while the thread
// spins after answering the first, so the thread reads it itself and is pumping when it blocks.
const STAT_THEN_BLOCK = `
import os, sys
os.stat(sys.argv[1])
os.stat(sys.argv[2])
out(True)
`

test('requests that need no JavaScript are still read while the JavaScript thread is stuck in a handler', async (t) => {
  const scratch = await tempDir()
  t.teardown(() => rm(scratch, { recursive: true, force: true }))
  const backing = join(scratch, 'backing')
  const content = 'served by the backend while JavaScript was busy'
  await writeFile(backing, content)
  const [opened, entered, done] = ['opened', 'entered', 'done'].map((name) => join(scratch, name))
  let blockedMs = 0
  const fs: FileSystem = {
    getattr(path) {
      if (path === '/' || path === '/warm') return { kind: path === '/' ? 'directory' : 'file', mode: 0o755 }
      if (path === '/data') return { kind: 'file', mode: 0o644, size: content.length }
      if (path !== '/block') throw new FsError('ENOENT')
      // Holds the JavaScript thread until the other process has read its file.
      writeFileSync(entered, '')
      const start = Date.now()
      while (!existsSync(done) && Date.now() - start < 10_000);
      blockedMs = Date.now() - start
      return { kind: 'file', mode: 0o644 }
    },
    open: (path) => (path === '/data' ? { backingPath: backing } : 0),
  }
  // Attributes cached, so the read asks JavaScript nothing; no passthrough, so the read is a
  // request mountkit serves from the backing file itself.
  const { p, m, errors } = await mountFs(t, fs, { ...SPINNING, attrTimeoutMs: 60_000, entryTimeoutMs: 60_000, passthrough: false })
  const reader = py<string>(READ_WHILE_BLOCKED, [p('data'), opened, entered, done])
  while (!existsSync(opened)) await new Promise((resolve) => setTimeout(resolve, 5))
  const pumpedBefore = m.stats().requestsReadWhileSpinning
  await py(STAT_THEN_BLOCK, [p('warm'), p('block')])
  t.is(await reader, content)
  t.log(`JavaScript was held ${blockedMs} ms; ${m.stats().requestsReadWhileSpinning - pumpedBefore} requests were read by its thread meanwhile`)
  t.true(blockedMs < 10_000, 'the read was served while the handler held the JavaScript thread')
  t.deepEqual(errors, [])
})
