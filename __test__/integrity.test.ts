// Data integrity: the fsx exerciser (random reads, writes, mmap, truncate, fallocate,
// copy_file_range, sendfile, fsync, close/reopen, each read checked against a model) against
// memfs and mirror; several processes writing at once, checked byte for byte by sha256; and
// fsync/flush reaching the handler exactly when a caller asks for them.
//
// fsx is a test tool installed with `cargo install fsx --version 0.3.2 --locked` (scripts/setup.sh does
// it). Its licence is APSL-2.0: it is run as a separate program, never linked or shipped.
import test, { type ExecutionContext } from 'ava'
import { createHash } from 'node:crypto'
import { accessSync, constants } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import type { FileSystem } from '../index'
import { createMemfs } from '../examples/memfs'
import { createMirror } from '../examples/mirror'
import { override } from './helpers/fs'
import { cargoTool, FSX_VERSION } from './helpers/cargo-tool'
import { mountFs, removeTempDir, tempDir, type TestMount } from './helpers/mount'
import { py, run } from './helpers/python'

// Every operation fsx 0.3.2 knows except hole punching (memfs refuses it with EOPNOTSUPP,
// which fsx treats as a failure). Reads and writes of up to 64 KiB at any alignment in a file of
// up to 256 KiB. close_open and posix_fadvise(DONTNEED) drop the kernel's page cache, so reads
// after them reach the filesystem's read handler, not only the cache.
const FSX_CONFIG = `
flen = 262144
[opsize]
max = 65536
min = 0
align = 1
[weights]
close_open = 2
read = 10
write = 10
mapread = 10
mapwrite = 10
invalidate = 1
truncate = 3
fsync = 1
fdatasync = 1
posix_fallocate = 2
punch_hole = 0
sendfile = 2
posix_fadvise = 2
copy_file_range = 2
`

// 100,000 operations as ten runs of 10,000 with different seeds. fsx 0.3.2 never unmaps the
// mapping a mapread makes, so within one process every mmap gets slower than the one before
// (one run of 100,000 takes ~50 s even on tmpfs, ten runs of 10,000 about 2 s there).
const RUNS = 10
const OPS_PER_RUN = 10_000
const LANES = 2

/** A fresh directory on tmpfs (/dev/shm) when there is one, else in the system temp dir. */
async function memoryTempDir(): Promise<string> {
  try {
    accessSync('/dev/shm', constants.W_OK)
    return await fsp.mkdtemp('/dev/shm/mountkit-test-')
  } catch {
    return tempDir()
  }
}

async function exercise(t: ExecutionContext, mounted: TestMount): Promise<void> {
  t.timeout(240_000)
  const fsx = await cargoTool(t, 'fsx', FSX_VERSION)
  // Configuration and artifacts (fsx's model of the file, written on failure) live outside the
  // mount.
  const work = await tempDir()
  t.teardown(() => removeTempDir(work))
  const config = join(work, 'fsx.toml')
  await fsp.writeFile(config, FSX_CONFIG)
  const started = Date.now()
  let operations = 0
  const failures: string[] = []
  // Two runs at a time, on files of their own: each fsx waits on one request at a time, so two
  // keep the mount busier without changing what each run checks.
  const lane = async (first: number) => {
    for (let seed = first; seed <= RUNS && failures.length === 0; seed += LANES) {
      const file = mounted.p(`fsx-${seed}`)
      const result = await run(fsx, ['-f', config, '-N', String(OPS_PER_RUN), '-S', String(seed), '-P', work, file], {
        env: { ...process.env, NO_COLOR: '1' },
        timeoutMs: 120_000,
      })
      const output = `${result.stdout}${result.stderr}`
      if (result.code !== 0 || !output.includes('All operations completed A-OK!')) {
        // fsx prints the miscompare and a dump of its last operations.
        failures.push(`fsx seed ${seed} on ${file} exited ${result.code}:\n${output.slice(-6000)}`)
        return
      }
      operations += OPS_PER_RUN
      await fsp.unlink(file)
    }
  }
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i + 1)))
  t.deepEqual(failures, [])
  t.is(operations, RUNS * OPS_PER_RUN)
  t.deepEqual(mounted.errors, [], 'no handler faults')
  t.log(`${operations} fsx operations in ${((Date.now() - started) / 1000).toFixed(1)} s, all verified`)
}

test('fsx: 100,000 random operations against memfs, zero mismatches', async (t) => {
  await exercise(t, await mountFs(t, createMemfs()))
})

// The default has the JavaScript thread read some requests itself (readWhileSpinning); the
// same run with only the backend's threads reading them.
test('fsx: 100,000 random operations against memfs, every request read by backend threads', async (t) => {
  await exercise(t, await mountFs(t, createMemfs(), { readWhileSpinning: false }))
})

// The default answers lookups from the latest listing (lookupFromListing); the same run with
// every lookup asking getattr.
test('fsx: 100,000 random operations against memfs, every lookup asking getattr', async (t) => {
  await exercise(t, await mountFs(t, createMemfs(), { lookupFromListing: false }))
})

test('fsx: 100,000 random operations against mirror, zero mismatches', async (t) => {
  // The mirrored directory is on tmpfs where there is one: about one fsx operation in five
  // ends in an fsync (every mapwrite msyncs), and on a shared disk those real fsyncs made the
  // run about seven times slower. What the mirror does is the same.
  const source = await memoryTempDir()
  t.teardown(() => fsp.rm(source, { recursive: true, force: true }))
  await exercise(t, await mountFs(t, createMirror(source)))
})

// The check is real: the same exerciser against a memfs that corrupts one write in a hundred.
test('fsx reports a mismatch when the filesystem corrupts data', async (t) => {
  const fsx = await cargoTool(t, 'fsx', FSX_VERSION)
  const memfs = createMemfs()
  let writes = 0
  const corrupting = override(memfs, {
    write(path, handle, data, offset, ctx) {
      if (++writes % 100 === 0 && data.length > 0) data[0] ^= 0xff
      return memfs.write(path, handle, data, offset, ctx)
    },
  })
  const { p } = await mountFs(t, corrupting)
  const work = await tempDir()
  t.teardown(() => removeTempDir(work))
  await fsp.writeFile(join(work, 'fsx.toml'), FSX_CONFIG)
  const result = await run(fsx, ['-f', join(work, 'fsx.toml'), '-N', '5000', '-S', '1', '-P', work, p('corrupt')], {
    env: { ...process.env, NO_COLOR: '1' },
  })
  t.not(result.code, 0)
  t.regex(`${result.stdout}${result.stderr}`, /miscompare/)
  t.true(writes >= 100, `${writes} writes reached the handler`)
})

/** sha256 of bytes, hex. */
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

/** A filesystem to test and, for the mirror, the directory where its bytes really land. */
interface Subject {
  name: string
  make(t: ExecutionContext): Promise<{ fs: FileSystem; source?: string }>
}

const SUBJECTS: Subject[] = [
  { name: 'memfs', make: async () => ({ fs: createMemfs() }) },
  {
    name: 'mirror',
    make: async (t) => {
      const source = await tempDir()
      t.teardown(() => removeTempDir(source))
      return { fs: createMirror(source), source }
    },
  },
]

// One writer process: FILES files of its own, each of a size between 64 KiB and 1 MiB, written
// in chunks of random sizes (never page-aligned on purpose) in one of three ways: in order,
// with O_APPEND, or with pwrite in shuffled order. Reports each file's sha256.
const WRITER = String.raw`
import hashlib, random
base, who, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(who)
report = {}
for j in range(files):
    size = rng.randint(64 * 1024, 1024 * 1024)
    data = rng.randbytes(size)
    chunks, at = [], 0
    while at < size:
        n = min(size - at, rng.randint(1, 200000))
        chunks.append((at, n))
        at += n
    name = "w%02d-f%d" % (who, j)
    path = os.path.join(base, name)
    style = (who + j) % 3
    if style == 0:
        with open(path, "wb") as f:
            for at, n in chunks:
                f.write(data[at:at + n])
    elif style == 1:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        for at, n in chunks:
            os.write(fd, data[at:at + n])
        os.close(fd)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        rng.shuffle(chunks)
        for at, n in chunks:
            assert os.pwrite(fd, data[at:at + n], at) == n
        os.close(fd)
    report[name] = hashlib.sha256(data).hexdigest()
out(report)
`

const WRITERS = 8
const FILES_PER_WRITER = 3

for (const subject of SUBJECTS) {
  test(`${WRITERS} processes writing distinct files at once: every byte lands (${subject.name}, sha256)`, async (t) => {
    const { fs, source } = await subject.make(t)
    const { p, errors } = await mountFs(t, fs)
    const reports = await Promise.all(
      Array.from({ length: WRITERS }, (_, who) => py<Record<string, string>>(WRITER, [p(), who, FILES_PER_WRITER])),
    )
    const expected = new Map<string, string>()
    for (const report of reports) for (const [name, hash] of Object.entries(report)) expected.set(name, hash)
    t.is(expected.size, WRITERS * FILES_PER_WRITER)
    t.deepEqual((await fsp.readdir(p())).sort(), [...expected.keys()].sort())
    for (const [name, hash] of expected) {
      t.is(sha256(await fsp.readFile(p(name))), hash, `${name} read through the mount`)
      if (source !== undefined) t.is(sha256(await fsp.readFile(join(source, name))), hash, `${name} in the source directory`)
    }
    // Read back from another process too, which has nothing in its page cache of its own
    // (and reads after a fresh open, which drops the kernel's cached pages of the file).
    const again = await py<Record<string, string>>(
      'import hashlib\nout({n: hashlib.sha256(open(os.path.join(sys.argv[1], n), "rb").read()).hexdigest() for n in os.listdir(sys.argv[1])})',
      [p()],
    )
    t.deepEqual(again, Object.fromEntries(expected))
    t.deepEqual(errors, [])
  })
}

// One of several processes writing its own range of one shared file with pwrite: RANGE bytes
// at who * RANGE, in random chunks, shuffled. RANGE is odd, so neighbours share pages.
const RANGE = 300_007
const RANGE_WRITER = String.raw`
import hashlib, random
path, who, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1000 + who)
data = rng.randbytes(size)
chunks, at = [], 0
while at < size:
    n = min(size - at, rng.randint(1, 40000))
    chunks.append((at, n))
    at += n
rng.shuffle(chunks)
fd = os.open(path, os.O_WRONLY)
for at, n in chunks:
    assert os.pwrite(fd, data[at:at + n], who * size + at) == n
os.close(fd)
out(hashlib.sha256(data).hexdigest())
`

for (const subject of SUBJECTS) {
  test(`${WRITERS} processes pwrite disjoint ranges of one file at once: every range intact (${subject.name}, sha256)`, async (t) => {
    const { fs, source } = await subject.make(t)
    const { p, errors } = await mountFs(t, fs)
    await fsp.writeFile(p('shared'), '')
    const hashes = await Promise.all(
      Array.from({ length: WRITERS }, (_, who) => py<string>(RANGE_WRITER, [p('shared'), who, RANGE])),
    )
    const check = (bytes: Buffer, where: string) => {
      t.is(bytes.length, WRITERS * RANGE, `size (${where})`)
      for (let who = 0; who < WRITERS; who++) {
        t.is(sha256(bytes.subarray(who * RANGE, (who + 1) * RANGE)), hashes[who], `range of writer ${who} (${where})`)
      }
    }
    check(await fsp.readFile(p('shared')), 'through the mount')
    if (source !== undefined) check(await fsp.readFile(join(source, 'shared')), 'in the source directory')
    t.deepEqual(errors, [])
  })
}

test('fsync and flush reach the handler exactly when the caller asks for them', async (t) => {
  const memfs = createMemfs()
  const fsyncs: boolean[] = []
  const fs = override(memfs, {
    fsync(path, handle, datasync, ctx) {
      fsyncs.push(datasync)
      return memfs.fsync(path, handle, datasync, ctx)
    },
  })
  const { p } = await mountFs(t, fs)
  const counters = memfs.counters
  /** Runs a snippet in another process and returns what reached flush and fsync meanwhile. */
  async function step(code: string): Promise<{ flush: number; fsync: number; datasync: boolean[] }> {
    const flushBefore = counters.flush
    const fsyncBefore = counters.fsync
    fsyncs.length = 0
    await py(`path = sys.argv[1]\n${code}\nout(None)`, [p('f')])
    return { flush: counters.flush - flushBefore, fsync: counters.fsync - fsyncBefore, datasync: [...fsyncs] }
  }

  // Writing and closing without asking for durability: one flush (the close), no fsync.
  t.deepEqual(await step('fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)\nos.write(fd, b"x" * 10000)\nos.close(fd)'), {
    flush: 1,
    fsync: 0,
    datasync: [],
  })
  // Every close(2) is a flush, also of duplicated descriptors and of read-only opens.
  t.deepEqual(
    await step('fd = os.open(path, os.O_RDONLY)\na = os.dup(fd)\nb = os.dup(fd)\nos.read(a, 5)\nfor x in (fd, a, b): os.close(x)'),
    { flush: 3, fsync: 0, datasync: [] },
  )
  // A process that exits with the file open: the kernel's close is a flush as well.
  t.deepEqual(await step('fd = os.open(path, os.O_RDWR)\nos.write(fd, b"y")'), {
    flush: 1,
    fsync: 0,
    datasync: [],
  })
  // fsync and fdatasync: one request each, with the datasync flag as asked.
  t.deepEqual(
    await step('fd = os.open(path, os.O_RDWR)\nos.write(fd, b"z")\nos.fsync(fd)\nos.fdatasync(fd)\nos.fsync(fd)\nos.close(fd)'),
    { flush: 1, fsync: 3, datasync: [false, true, false] },
  )
  // O_DSYNC and O_SYNC writes are synchronous writes: one fsync after each.
  t.deepEqual(
    await step('fd = os.open(path, os.O_WRONLY | os.O_DSYNC)\nos.write(fd, b"a")\nos.pwrite(fd, b"b", 100)\nos.close(fd)'),
    { flush: 1, fsync: 2, datasync: [true, true] },
  )
  t.deepEqual(await step('fd = os.open(path, os.O_WRONLY | os.O_SYNC)\nos.write(fd, b"c")\nos.close(fd)'), {
    flush: 1,
    fsync: 1,
    datasync: [false],
  })
  // msync(MS_SYNC) of a shared mapping writes the pages back and syncs the file's data (Linux's
  // msync is an fdatasync of the range). Python's mmap holds a duplicate of the descriptor, so
  // there are two closes.
  t.deepEqual(
    await step(
      [
        'import mmap',
        'fd = os.open(path, os.O_RDWR)',
        'm = mmap.mmap(fd, 4096)',
        'm[0:5] = b"hello"',
        'm.flush()',
        'm.close()',
        'os.close(fd)',
      ].join('\n'),
    ),
    { flush: 2, fsync: 1, datasync: [true] },
  )
  const data = await fsp.readFile(p('f'))
  t.is(data.subarray(0, 5).toString(), 'hello')
  t.is(data.length, 10000)
})
