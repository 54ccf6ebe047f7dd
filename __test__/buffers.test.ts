// Write data reaches handlers as views of pooled Rust-owned memory, reused from one write to
// the next once a handler has settled; or as a copy per write where a runtime forbids external
// memory (Electron). MOUNTKIT_COPY_BUFFERS=1 forces the copy path so it is tested here; both
// paths must deliver identical bytes.
import test from 'ava'
import { execFile } from 'node:child_process'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createMemfs } from '../examples/memfs'
import { override, sleep } from './helpers/fs'
import { mountFs, tempDir, removeTempDir, trackMountPoint } from './helpers/mount'

const run = promisify(execFile)

// Writes 32 MiB through one descriptor, one write at a time, and reads it back; reports how
// many writes the handler saw and over how many distinct ArrayBuffers their data came.
const CHILD = `
const { mount } = require('./index')
const { createMemfs } = require('./examples/memfs')
const { open, readFile } = require('node:fs/promises')
;(async () => {
  const fs = createMemfs()
  const memfsWrite = fs.write
  const memories = new Set()
  let writes = 0
  fs.write = (path, handle, data, offset, ctx) => {
    writes++
    memories.add(data.buffer)
    return memfsWrite(path, handle, data, offset, ctx)
  }
  const m = await mount(process.argv[1], fs)
  try {
    const data = Buffer.alloc(32 * 1024 * 1024 + 5)
    for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 7) & 0xff
    const fh = await open(process.argv[1] + '/f', 'w')
    for (let at = 0; at < data.length; at += 1024 * 1024) {
      await fh.write(data, at, Math.min(1024 * 1024, data.length - at), at)
    }
    await fh.close()
    const back = await readFile(process.argv[1] + '/f')
    console.log(JSON.stringify({ equal: back.equals(data), writes, memories: memories.size }))
  } finally {
    await m.unmount()
  }
})().catch((e) => { console.error(e); process.exit(1) })
`

async function writeThrough(flag: '0' | '1'): Promise<{ equal: boolean; writes: number; memories: number }> {
  const dir = await tempDir()
  trackMountPoint(dir)
  try {
    const { stdout } = await run(process.execPath, ['--import=tsx', '-e', CHILD, dir], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, MOUNTKIT_COPY_BUFFERS: flag },
      timeout: 60_000,
    })
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}')
  } finally {
    await removeTempDir(dir)
  }
}

test('write data comes in a few reused buffers, and round-trips', async (t) => {
  const seen = await writeThrough('0')
  t.true(seen.equal, 'the file reads back as written')
  t.true(seen.writes >= 32, `32 MiB took ${seen.writes} writes`)
  // One writer has one write in flight at a time, and its slot is free again once the reply
  // has crossed back; the bound leaves room for the kernel's own overlap.
  t.true(seen.memories <= 4, `${seen.writes} writes came in ${seen.memories} distinct buffers`)
})

test('with MOUNTKIT_COPY_BUFFERS=1 every write is its own copy, and round-trips', async (t) => {
  const seen = await writeThrough('1')
  t.true(seen.equal, 'the file reads back as written')
  t.is(seen.memories, seen.writes)
})

// Writes 4 MiB to each of four files at once, in 1 MiB writes (the kernel serializes writes to
// one file, not to several, so more than one slot may be in use), unmounts, and reports how
// many writes the handlers saw, in how many distinct ArrayBuffers, and how many of those are
// still alive after garbage collection, with the Mount object itself still referenced.
const RELEASE_CHILD = `
const { mount } = require('./index')
const { createMemfs } = require('./examples/memfs')
const { writeFile } = require('node:fs/promises')
;(async () => {
  const fs = createMemfs()
  const memfsWrite = fs.write
  const known = new WeakSet()
  const slots = []
  let writes = 0
  fs.write = (path, handle, data, offset, ctx) => {
    writes++
    if (!known.has(data.buffer)) {
      known.add(data.buffer)
      slots.push(new WeakRef(data.buffer))
    }
    return memfsWrite(path, handle, data, offset, ctx)
  }
  const m = await mount(process.argv[1], fs)
  const data = Buffer.alloc(4 * 1024 * 1024, 1)
  await Promise.all([0, 1, 2, 3].map((i) => writeFile(process.argv[1] + '/f' + i, data)))
  await m.unmount()
  // A WeakRef's target survives the job that made it; collect over several turns.
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    globalThis.gc()
  }
  console.log(JSON.stringify({ mounted: m.mounted, writes, slots: slots.length, alive: slots.filter((s) => s.deref() !== undefined).length }))
})().catch((e) => { console.error(e); process.exit(1) })
`

test('an unmounted mount lets go of its write-pool slots even while its Mount object lives', async (t) => {
  const dir = await tempDir()
  trackMountPoint(dir)
  try {
    const { stdout } = await run(process.execPath, ['--import=tsx', '--expose-gc', '-e', RELEASE_CHILD, dir], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, MOUNTKIT_COPY_BUFFERS: '0' },
      timeout: 60_000,
    })
    const seen = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { mounted: boolean; writes: number; slots: number; alive: number }
    t.false(seen.mounted)
    // Fewer buffers than writes: the data came in reused pool slots.
    t.true(seen.slots >= 1 && seen.slots < seen.writes, `${seen.writes} writes came in ${seen.slots} buffers`)
    t.is(seen.alive, 0, `${seen.alive} of ${seen.slots} slot buffers outlived the mount`)
  } finally {
    await removeTempDir(dir)
  }
})

test('write data stays valid while its handler is pending, whatever else is written meanwhile', async (t) => {
  const memfs = createMemfs()
  let delay = 0
  const { p } = await mountFs(
    t,
    override(memfs, {
      // Every handler waits before it reads its data, so that other writes arrive (and take
      // slots) in the meantime; a slot handed on too early would show their bytes here.
      async write(path, handle, data, offset, ctx) {
        delay = (delay + 3) % 7
        await sleep(delay)
        return memfs.write!(path, handle, data, offset, ctx)
      },
    }),
  )
  const WRITERS = 6
  const SIZE = 4 * 1024 * 1024
  const CHUNK = 256 * 1024
  const pattern = (writer: number) => {
    const data = Buffer.alloc(SIZE)
    for (let i = 0; i < SIZE; i++) data[i] = (i * (writer + 3) + writer * 41) & 0xff
    return data
  }
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      const data = pattern(writer)
      const fh = await open(p(`w${writer}`), 'w')
      try {
        for (let at = 0; at < SIZE; at += CHUNK) await fh.write(data, at, CHUNK, at)
      } finally {
        await fh.close()
      }
    }),
  )
  for (let writer = 0; writer < WRITERS; writer++) {
    t.true((await readFile(p(`w${writer}`))).equals(pattern(writer)), `file w${writer} reads back as written`)
  }
})
