// Many clients at once, slow handlers that must not hold up fast ones, and requests that
// time out instead of wedging the mount.
import test, { type ExecutionContext } from 'ava'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { FsError, MountError, type FileSystem } from '../index'
import { createMemfs } from '../examples/memfs'
import { never, override, sleep } from './helpers/fs'
import { mountFs } from './helpers/mount'
import { py } from './helpers/python'

const CLIENTS = 20
const FILES = 6

/** What client `i` writes to file `j`: distinct per client and file, of varying length. */
const content = (i: number, j: number) => `client ${i} file ${j}\n`.repeat(1 + ((i * 7 + j * 13) % 50) * 40)

// One client: its own directory, files written and read back, a rename, stats, a listing,
// an unlink, a subdirectory. Reports what it saw; the test checks it and the final tree.
const CLIENT = String.raw`
base, i, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def content(i, j):
    return ("client %d file %d\n" % (i, j)) * (1 + ((i * 7 + j * 13) % 50) * 40)
d = os.path.join(base, "client-%02d" % i)
os.mkdir(d)
for j in range(files):
    with open(os.path.join(d, "f%d" % j), "w") as f:
        f.write(content(i, j))
readback = all(open(os.path.join(d, "f%d" % j)).read() == content(i, j) for j in range(files))
os.rename(os.path.join(d, "f0"), os.path.join(d, "renamed"))
sizes_ok = os.stat(os.path.join(d, "renamed")).st_size == len(content(i, 0))
os.unlink(os.path.join(d, "f1"))
os.mkdir(os.path.join(d, "sub"))
with open(os.path.join(d, "sub", "note"), "w") as f:
    f.write("note %d" % i)
with open(os.path.join(d, "f2"), "a") as f:
    f.write("appended %d" % i)
out({"readback": readback, "sizes_ok": sizes_ok, "listing": sorted(os.listdir(d))})
`

test('20 parallel clients doing mixed operations on memfs finish with correct results', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => py<{ readback: boolean; sizes_ok: boolean; listing: string[] }>(CLIENT, [p(), i, FILES])),
  )
  const expectedListing = ['f2', 'f3', 'f4', 'f5', 'renamed', 'sub']
  for (const [i, r] of results.entries()) {
    t.deepEqual(r, { readback: true, sizes_ok: true, listing: expectedListing }, `client ${i}`)
  }

  // The final tree, exactly: every path and every file's bytes.
  const actual = new Map<string, string>()
  async function walk(dir: string, rel: string): Promise<void> {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      const path = join(rel, entry.name)
      if (entry.isDirectory()) {
        actual.set(`${path}/`, '')
        await walk(join(dir, entry.name), path)
      } else {
        actual.set(path, await fsp.readFile(join(dir, entry.name), 'utf8'))
      }
    }
  }
  await walk(p(), '')
  const expected = new Map<string, string>()
  for (let i = 0; i < CLIENTS; i++) {
    const d = `client-${String(i).padStart(2, '0')}`
    expected.set(`${d}/`, '')
    expected.set(`${d}/renamed`, content(i, 0))
    expected.set(`${d}/f2`, content(i, 2) + `appended ${i}`)
    for (let j = 3; j < FILES; j++) expected.set(`${d}/f${j}`, content(i, j))
    expected.set(`${d}/sub/`, '')
    expected.set(`${d}/sub/note`, `note ${i}`)
  }
  t.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort())
  for (const [path, bytes] of expected) t.is(actual.get(path), bytes, path)
})

test('concurrent async calls from one process are all answered correctly', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const dir = p(`w${i}`)
      await fsp.mkdir(dir)
      await fsp.writeFile(join(dir, 'data'), `worker ${i}`)
      await fsp.rename(join(dir, 'data'), join(dir, 'moved'))
      await fsp.appendFile(join(dir, 'moved'), '.')
    }),
  )
  const names = await fsp.readdir(p())
  t.is(names.length, 50)
  const contents = await Promise.all(names.map((n) => fsp.readFile(p(n, 'moved'), 'utf8')))
  t.deepEqual(contents.sort(), Array.from({ length: 50 }, (_, i) => `worker ${i}.`).sort())
})

// The timing tests run serially, before the others in this file, so that the other tests'
// load on this process's event loop does not blur what they measure.
test.serial('a slow handler for one path does not delay requests for other paths', async (t) => {
  const memfs = createMemfs()
  let slowEntered!: () => void
  const entered = new Promise<void>((resolve) => (slowEntered = resolve))
  const seen: string[] = []
  const fs = override(memfs, {
    async getattr(path, handle, ctx) {
      seen.push(path)
      if (path === '/slowdir/slow') {
        slowEntered()
        await sleep(2000)
        return { kind: 'file', size: 1 }
      }
      return memfs.getattr(path, handle, ctx)
    },
  })
  // No kernel caching, so every stat below reaches getattr. The slow path has a directory of
  // its own: the kernel itself serializes lookups within one directory (see the test of
  // lookups in one directory below), which is not what this test is about.
  const { p } = await mountFs(t, fs, { attrTimeoutMs: 0, entryTimeoutMs: 0 })
  await fsp.mkdir(p('slowdir'))
  await fsp.mkdir(p('dir'))
  for (let i = 0; i < 10; i++) await fsp.writeFile(p(`fast${i}`), `fast ${i}`)

  const order: string[] = []
  // The slow request comes from a child process, so it holds no thread of this process's pool.
  const slow = py('os.stat(sys.argv[1]); out("done")', [p('slowdir', 'slow')]).then(() => order.push('slow'))
  await entered
  seen.length = 0
  const fast = Array.from({ length: 10 }, (_, i) =>
    Promise.all([fsp.stat(p(`fast${i}`)), fsp.readFile(p(`fast${i}`), 'utf8')]).then(([s, text]) => {
      t.is(text, `fast ${i}`)
      t.is(s.size, text.length)
      order.push(`fast${i}`)
    }),
  )
  fast.push(fsp.readdir(p('dir')).then(() => void order.push('readdir')))
  fast.push(fsp.writeFile(p('dir', 'new'), 'x').then(() => void order.push('create')))
  await Promise.all([slow, ...fast])
  t.is(order.length, 13)
  t.is(order[order.length - 1], 'slow', `order: ${order.join(' ')}`)
  for (let i = 0; i < 10; i++) t.true(seen.includes(`/fast${i}`), `stat of /fast${i} reached the handler`)
})

/**
 * Stats `names` (paths inside the mount) at the same moment from threads of one child process,
 * against a getattr that awaits 200 ms for them. Returns the wall time and how many handlers
 * ran at once at most.
 */
async function concurrentStats(t: ExecutionContext, names: string[]): Promise<{ elapsed: number; maxRunning: number }> {
  const memfs = createMemfs()
  let running = 0
  let maxRunning = 0
  const fs = override(memfs, {
    async getattr(path, handle, ctx) {
      if (!names.includes(path)) return memfs.getattr(path, handle, ctx)
      running++
      maxRunning = Math.max(maxRunning, running)
      await sleep(200)
      running--
      return { kind: 'file', size: 0 }
    },
  })
  const { p } = await mountFs(t, fs)
  for (const name of names) {
    const parent = name.slice(0, name.lastIndexOf('/'))
    if (parent !== '') await fsp.mkdir(p(parent), { recursive: true })
  }
  const elapsed = await py<number>(
    [
      'import threading, time',
      'paths = sys.argv[1:]',
      'barrier = threading.Barrier(len(paths))',
      'def work(path):',
      '    barrier.wait()',
      '    os.stat(path)',
      'threads = [threading.Thread(target=work, args=(path,)) for path in paths]',
      'start = time.monotonic()',
      'for th in threads: th.start()',
      'for th in threads: th.join()',
      'out((time.monotonic() - start) * 1000)',
    ].join('\n'),
    names.map((name) => p(name)),
  )
  t.log(`${names.length} stats of 200 ms each took ${Math.round(elapsed)} ms; up to ${maxRunning} handlers ran at once`)
  return { elapsed, maxRunning }
}

// Serially, ten 200 ms handlers take 10 x 200 ms; concurrently, barely more than 200 ms. The
// bound is generous (5 x 200 ms, half the serial sum): this is a property, not a benchmark.
const SERIAL = 10 * 200
const BOUND = 5 * 200

test.serial('async handlers run concurrently (lookups in different directories)', async (t) => {
  const { elapsed, maxRunning } = await concurrentStats(
    t,
    Array.from({ length: 10 }, (_, i) => `/dir${i}/file`),
  )
  t.true(elapsed < BOUND, `${Math.round(elapsed)} ms is not well under the serial ${SERIAL} ms`)
  t.true(maxRunning > 1, 'handlers overlapped')
})

test.serial('async handlers run concurrently (lookups of different names in one directory)', async (t) => {
  const { elapsed, maxRunning } = await concurrentStats(
    t,
    Array.from({ length: 10 }, (_, i) => `/same/file${i}`),
  )
  t.true(elapsed < BOUND, `${Math.round(elapsed)} ms is not well under the serial ${SERIAL} ms`)
  t.true(maxRunning > 1, 'handlers overlapped')
})

// Serial as well: with a 300 ms budget, a busy event loop could time out ordinary requests.
test.serial('a handler that never settles times out with ETIMEDOUT; the mount keeps serving', async (t) => {
  const memfs = createMemfs()
  const fs: FileSystem = override(memfs, {
    getattr(path, handle, ctx) {
      if (path === '/hang') return never()
      return memfs.getattr(path, handle, ctx)
    },
  })
  const { p, waitForError } = await mountFs(t, fs, { timeoutMs: 300 })
  await fsp.writeFile(p('ok'), 'still here')
  const started = Date.now()
  await t.throwsAsync(fsp.stat(p('hang')), { code: 'ETIMEDOUT' })
  t.true(Date.now() - started >= 250, 'not before the timeout')
  const e = await waitForError((x) => x.path === '/hang')
  t.is(e.operation, 'getattr')
  t.is(e.errno, 'ETIMEDOUT')
  t.is(await fsp.readFile(p('ok'), 'utf8'), 'still here')
  // Again, from another process, while other requests go on.
  const [hung, fine] = await Promise.all([
    py('out(attempt(os.stat, sys.argv[1]))', [p('hang')]),
    fsp.readFile(p('ok'), 'utf8'),
  ])
  t.deepEqual(hung, { error: 'ETIMEDOUT' })
  t.is(fine, 'still here')
})

test.serial("timeoutErrno: 'EIO' fails timed-out requests with EIO", async (t) => {
  const fs: FileSystem = {
    getattr(path) {
      if (path === '/') return { kind: 'directory' }
      if (path === '/ok') return { kind: 'file', size: 0 }
      if (path === '/hang') return never()
      throw new FsError('ENOENT')
    },
    async mkdir() {
      return never()
    },
  }
  const { p, waitForError } = await mountFs(t, fs, { timeoutMs: 300, timeoutErrno: 'EIO' })
  await t.throwsAsync(fsp.stat(p('hang')), { code: 'EIO' })
  t.is((await waitForError((x) => x.path === '/hang')).errno, 'EIO')
  await t.throwsAsync(fsp.mkdir(p('new-dir')), { code: 'EIO' })
  const e = await waitForError((x) => x.path === '/new-dir')
  t.is(e.operation, 'mkdir')
  t.is(e.errno, 'EIO')
  t.true((await fsp.stat(p('ok'))).isFile())
})

// The JavaScript thread may wait for the next request (spinMicros) and serve many batches in
// one wake-up; neither may change what callers see, nor keep the event loop from its turn.
for (const spinMicros of [0, 2000]) {
  test(`with spinMicros: ${spinMicros}, parallel clients finish with correct results`, async (t) => {
    const { p } = await mountFs(t, createMemfs(), { spinMicros })
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => py<{ readback: boolean; sizes_ok: boolean; listing: string[] }>(CLIENT, [p(), i, FILES])),
    )
    for (const [i, r] of results.entries()) {
      t.deepEqual(r, { readback: true, sizes_ok: true, listing: ['f2', 'f3', 'f4', 'f5', 'renamed', 'sub'] }, `client ${i}`)
    }
  })
}

test.serial('timers keep firing while a request storm keeps the mount busy', async (t) => {
  // A long spin window: with nothing bounding a wake-up, this storm would never let the
  // event loop run again.
  const { p } = await mountFs(t, createMemfs(), { spinMicros: 5000, attrTimeoutMs: 0, entryTimeoutMs: 0 })
  await fsp.writeFile(p('f'), 'x')
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  try {
    const storm = await py<number>(
      'import time\nend = time.monotonic() + 1\nn = 0\nwhile time.monotonic() < end:\n    os.stat(sys.argv[1]); n += 1\nout(n)',
      [p('f')],
    )
    t.true(storm > 100, `the storm ran (${storm} stats)`)
  } finally {
    clearInterval(timer)
  }
  // A 10 ms interval over a 1 s storm ticks about 100 times when the loop turns freely; a
  // starved loop would not tick at all.
  t.true(ticks >= 10, `the 10 ms timer fired ${ticks} times during a 1 s storm`)
})

test('spinMicros must be a non-negative number of microseconds, at most a second', async (t) => {
  for (const spinMicros of [-1, Number.NaN, 2_000_000]) {
    await t.throwsAsync(mountFs(t, createMemfs(), { spinMicros }), { instanceOf: MountError, code: 'EOPTION', message: /spinMicros/ })
  }
})
