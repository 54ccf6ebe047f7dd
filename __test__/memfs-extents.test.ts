// memfs's sparse file data, through its handlers called directly (no mount): the edges of its
// extents (spans, merges, cuts), views and copies, capacity, the largest offsets, and a
// randomized comparison with a model that keeps every byte.
import test from 'ava'
import { randomBytes } from 'node:crypto'
import type { MaybePromise } from '../index'
import { createMemfs } from '../examples/memfs'

const MiB = 1024 * 1024
const O_RDWR = 2
const SEEK_DATA = 3
const SEEK_HOLE = 4
const FALLOC_FL_KEEP_SIZE = 0x01
const FALLOC_FL_PUNCH_HOLE = 0x02
const FALLOC_FL_ZERO_RANGE = 0x10
const ctx = { uid: 0, gid: 0, pid: 0 }

/** A handler's answer: memfs answers at once, never with a promise. */
function now<T>(answer: MaybePromise<T>): T {
  if (answer instanceof Promise) throw new Error('memfs answered with a promise')
  return answer
}

/** Whether two byte ranges are equal (t.deepEqual is slow on large buffers). */
function sameBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.compare(actual, expected) === 0
}

/** One file in a fresh memfs, opened read-write, with its handlers at hand. */
function openFile(capacity = 64 * MiB) {
  const fs = createMemfs({ capacity })
  now(fs.create('/f', 0o644, O_RDWR, ctx))
  // memfs's open answers with a bare handle number.
  const handle = now(fs.open('/f', O_RDWR, ctx)) as number
  const statfs = () => now(fs.statfs('/', ctx))
  return {
    write: (data: Buffer, offset: number) => now(fs.write('/f', handle, data, offset, ctx)),
    read: (offset: number, length: number) => now(fs.read('/f', handle, offset, length, ctx)),
    truncate: (size: number) => now(fs.truncate('/f', size, handle, ctx)),
    fallocate: (offset: number, length: number, mode: number) => now(fs.fallocate('/f', handle, offset, length, mode, ctx)),
    seek: (offset: number, whence: number) => now(fs.lseek('/f', handle, offset, whence, ctx)),
    stat: () => now(fs.getattr('/f', handle, ctx)),
    /** 4 KiB blocks in use, as statfs reports them. */
    blocksUsed: () => {
      const { blocks, blocksFree } = statfs()
      return blocks! - blocksFree!
    },
  }
}

type OpenedFile = ReturnType<typeof openFile>

/** The runs of data from SEEK_DATA and SEEK_HOLE, walked from the start to the end. */
function dataRuns(file: OpenedFile): [number, number][] {
  const size = file.stat().size!
  const runs: [number, number][] = []
  for (let at = 0; at < size; ) {
    let start: number
    try {
      start = file.seek(at, SEEK_DATA)
    } catch (error) {
      if ((error as { code?: string }).code === 'ENXIO') break
      throw error
    }
    const end = file.seek(start, SEEK_HOLE)
    runs.push([start, end])
    at = end
  }
  return runs
}

/** A seeded generator of numbers in [0, 1) (mulberry32), so that a failure can be replayed. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

test('a read within one extent is a view of its buffer; a read across a hole is a copy, with zeros', (t) => {
  const file = openFile()
  const data = randomBytes(64 * 1024)
  file.write(data, 0)
  file.write(data, 128 * 1024)
  const first = file.read(4096, 4096)
  const again = file.read(8192, 4096)
  t.is(first.buffer, again.buffer, 'both reads are views of the same buffer')
  t.true(sameBytes(first, data.subarray(4096, 8192)))

  const across = Buffer.from(file.read(60 * 1024, 72 * 1024))
  t.not(file.read(60 * 1024, 72 * 1024).buffer, first.buffer)
  t.deepEqual(across.subarray(0, 4096), data.subarray(60 * 1024))
  t.true(across.subarray(4096, 68 * 1024).every((b) => b === 0), 'the hole reads as zeros')
  t.deepEqual(across.subarray(68 * 1024), data.subarray(0, 4096))
  t.is(file.read(192 * 1024, 10).length, 0, 'nothing past the end')
})

test('a write across a 1 MiB boundary reads back whole, and is one run of data', (t) => {
  const file = openFile()
  const data = randomBytes(8192)
  file.write(data, MiB - 100)
  t.true(sameBytes(file.read(MiB - 100, 8192), data))
  t.deepEqual(Buffer.from(file.read(MiB - 50, 100)), data.subarray(50, 150))
  t.deepEqual(dataRuns(file), [[MiB - 100, MiB + 8092]])
  t.is(file.stat().blocks, 16)
})

test('writes that fill a range forwards, backwards or shuffled give the same bytes and one run', (t) => {
  const length = 3 * MiB + 4096
  const expected = randomBytes(length)
  const blocks = Array.from({ length: length / 4096 }, (_, i) => i)
  const shuffled = [...blocks]
  const random = seeded(1)
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
  }
  for (const [name, order] of [
    ['forwards', blocks],
    ['backwards', [...blocks].reverse()],
    ['shuffled', shuffled],
  ] as const) {
    const file = openFile()
    for (const i of order) file.write(expected.subarray(i * 4096, (i + 1) * 4096), 100 + i * 4096)
    t.deepEqual(Buffer.from(file.read(0, 100)), Buffer.alloc(100), `${name}: the hole before`)
    for (let at = 0; at < length; at += MiB) {
      t.true(sameBytes(file.read(100 + at, MiB), expected.subarray(at, at + MiB)), `${name}: bytes at ${at}`)
    }
    t.deepEqual(dataRuns(file), [[100, 100 + length]], name)
    t.is(file.stat().blocks, length / 512, name)
  }
})

test('ENOSPC refuses a whole write or allocation and changes nothing', (t) => {
  const file = openFile(MiB)
  const first = randomBytes(800 * 1024)
  file.write(first, 0)
  // Overlapping what is held, this needs only 200 KiB more: it fits.
  const second = randomBytes(400 * 1024)
  file.write(second, 600 * 1024)
  t.is(file.stat().blocks, 2000)
  const before = Buffer.from(file.read(0, MiB))
  t.throws(() => file.write(randomBytes(100 * 1024), 2 * MiB), { code: 'ENOSPC' })
  t.throws(() => file.write(randomBytes(100 * 1024), 950 * 1024), { code: 'ENOSPC' }, 'part of it overlaps data')
  t.throws(() => file.fallocate(0, 2 * MiB, 0), { code: 'ENOSPC' })
  t.throws(() => file.fallocate(0, 2 * MiB, FALLOC_FL_KEEP_SIZE), { code: 'ENOSPC' })
  t.is(file.stat().size, 1000 * 1024)
  t.is(file.stat().blocks, 2000)
  t.true(sameBytes(file.read(0, MiB), before))
  t.deepEqual(dataRuns(file), [[0, 1000 * 1024]])
})

test('files reach 2^53 - 1 bytes, the largest offset a number holds exactly', (t) => {
  const file = openFile()
  file.write(Buffer.from('x'), 2 ** 31 + 1)
  t.is(file.stat().size, 2 ** 31 + 2)
  file.write(Buffer.from('end'), 2 ** 52)
  t.is(file.stat().size, 2 ** 52 + 3)
  t.deepEqual(Buffer.from(file.read(2 ** 52 - 2, 10)), Buffer.from('\0\0end'))
  t.is(file.stat().blocks, 1, '4 bytes held')
  t.is(file.blocksUsed(), 1)
  file.truncate(Number.MAX_SAFE_INTEGER)
  t.throws(() => file.truncate(2 ** 53), { code: 'EFBIG' })
  t.throws(() => file.write(Buffer.from('xy'), Number.MAX_SAFE_INTEGER - 1), { code: 'EFBIG' })
  t.throws(() => file.fallocate(Number.MAX_SAFE_INTEGER - 1, 2, FALLOC_FL_KEEP_SIZE), { code: 'EFBIG' })
  t.deepEqual(dataRuns(file), [
    [2 ** 31 + 1, 2 ** 31 + 2],
    [2 ** 52, 2 ** 52 + 3],
  ])
})

test('SEEK_DATA and SEEK_HOLE at the edges: before, at and past the end, and data held past it', (t) => {
  const file = openFile()
  t.throws(() => file.seek(0, SEEK_DATA), { code: 'ENXIO' }, 'an empty file has no data')
  t.throws(() => file.seek(0, SEEK_HOLE), { code: 'ENXIO' }, 'nor holes')
  file.truncate(10)
  t.throws(() => file.seek(0, SEEK_DATA), { code: 'ENXIO' }, 'all hole')
  t.is(file.seek(3, SEEK_HOLE), 3)
  file.write(Buffer.from('abc'), 4)
  t.is(file.seek(0, SEEK_DATA), 4)
  t.is(file.seek(5, SEEK_DATA), 5)
  t.is(file.seek(4, SEEK_HOLE), 7)
  t.throws(() => file.seek(7, SEEK_DATA), { code: 'ENXIO' })
  t.is(file.seek(9, SEEK_HOLE), 9)
  t.throws(() => file.seek(10, SEEK_HOLE), { code: 'ENXIO' })
  t.throws(() => file.seek(-1, SEEK_DATA), { code: 'ENXIO' })
  // Space held past the end by KEEP_SIZE is no data of the file's, and no hole stops at it.
  file.fallocate(10, MiB, FALLOC_FL_KEEP_SIZE)
  t.is(file.stat().size, 10)
  t.throws(() => file.seek(7, SEEK_DATA), { code: 'ENXIO' })
  t.is(file.seek(4, SEEK_HOLE), 7)
  t.throws(() => file.seek(0, 0), { code: 'EINVAL' }, 'SEEK_SET is the kernel’s business')
})

test('fallocate: allocation holds zeros, KEEP_SIZE past the end, PUNCH_HOLE frees; other modes are EOPNOTSUPP', (t) => {
  const file = openFile()
  file.write(Buffer.from('abc'), 0)
  file.fallocate(0, MiB, FALLOC_FL_KEEP_SIZE)
  t.is(file.stat().size, 3)
  t.is(file.stat().blocks, 2048)
  t.is(file.blocksUsed(), 256)
  // Writing where space is held takes no more.
  file.write(randomBytes(4096), 4096)
  t.is(file.stat().blocks, 2048)
  // Growing over held space shows its zeros.
  file.truncate(MiB)
  t.true(sameBytes(file.read(3, 4093), Buffer.alloc(4093)))
  t.deepEqual(dataRuns(file), [[0, MiB]])

  file.fallocate(2 * MiB, 100, 0)
  t.is(file.stat().size, 2 * MiB + 100)
  t.deepEqual(dataRuns(file), [
    [0, MiB],
    [2 * MiB, 2 * MiB + 100],
  ])
  t.deepEqual(Buffer.from(file.read(2 * MiB - 10, 200)), Buffer.alloc(110))

  file.fallocate(MiB - 4096, MiB + 4096 + 50, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
  t.is(file.stat().size, 2 * MiB + 100, 'the size stays')
  t.deepEqual(dataRuns(file), [
    [0, MiB - 4096],
    [2 * MiB + 50, 2 * MiB + 100],
  ])
  t.is(file.stat().blocks, Math.ceil((MiB - 4096 + 50) / 512))
  t.deepEqual(Buffer.from(file.read(0, 3)), Buffer.from('abc'))

  for (const mode of [FALLOC_FL_ZERO_RANGE, FALLOC_FL_PUNCH_HOLE, 0x08, 0x20]) {
    t.throws(() => file.fallocate(0, 10, mode), { code: 'EOPNOTSUPP' }, `mode ${mode}`)
  }
})

test('truncating into an extent gives its memory back, and growing again shows zeros', (t) => {
  const file = openFile()
  const data = randomBytes(3 * MiB)
  file.write(data, 0)
  t.is(file.blocksUsed(), 768)
  file.truncate(MiB + 1000)
  t.is(file.stat().blocks, Math.ceil((MiB + 1000) / 512))
  t.is(file.blocksUsed(), 257)
  file.truncate(3 * MiB)
  t.true(sameBytes(file.read(0, MiB + 1000), data.subarray(0, MiB + 1000)))
  t.true(sameBytes(file.read(MiB + 1000, 2 * MiB), Buffer.alloc(2 * MiB - 1000)))
  t.deepEqual(dataRuns(file), [[0, MiB + 1000]])
  file.truncate(0)
  t.is(file.stat().blocks, 0)
  t.is(file.blocksUsed(), 0)
})

/** What a file should hold, byte by byte: its bytes, and which of them are held (not holes). */
class Model {
  readonly bytes: Uint8Array
  readonly held: Uint8Array
  size = 0

  constructor(limit: number) {
    this.bytes = new Uint8Array(limit)
    this.held = new Uint8Array(limit)
  }

  write(data: Uint8Array, offset: number): void {
    this.bytes.set(data, offset)
    this.held.fill(1, offset, offset + data.length)
    this.size = Math.max(this.size, offset + data.length)
  }

  /** Shrinking drops everything held past the new end, space held past the old end too. */
  truncate(size: number): void {
    if (size < this.size) {
      this.bytes.fill(0, size)
      this.held.fill(0, size)
    }
    this.size = size
  }

  allocate(offset: number, length: number, keepSize: boolean): void {
    this.held.fill(1, offset, offset + length)
    if (!keepSize) this.size = Math.max(this.size, offset + length)
  }

  punchHole(offset: number, length: number): void {
    this.bytes.fill(0, offset, offset + length)
    this.held.fill(0, offset, offset + length)
  }

  heldBytes(): number {
    let count = 0
    for (const b of this.held) count += b
    return count
  }

  dataRuns(): [number, number][] {
    const inFile = this.held.subarray(0, this.size)
    const runs: [number, number][] = []
    for (let start = inFile.indexOf(1); start >= 0; start = inFile.indexOf(1, start)) {
      const hole = inFile.indexOf(0, start)
      const end = hole < 0 ? this.size : hole
      runs.push([start, end])
      start = end
    }
    return runs
  }
}

/** How `file` differs from `model`, or undefined when it does not. */
function difference(file: OpenedFile, model: Model, random: () => number): string | undefined {
  const stat = file.stat()
  if (stat.size !== model.size) return `size ${stat.size}, expected ${model.size}`
  const held = model.heldBytes()
  if (stat.blocks !== Math.ceil(held / 512)) return `${stat.blocks} blocks for ${held} bytes held`
  if (file.blocksUsed() !== Math.ceil(held / 4096)) return `statfs counts ${file.blocksUsed()} 4 KiB blocks used`
  // Read it all in pieces of random lengths, which start and end anywhere.
  for (let at = 0; at < model.size; ) {
    const length = 1 + Math.floor(random() * 1.5 * MiB)
    const got = Buffer.from(file.read(at, length))
    if (!got.equals(model.bytes.subarray(at, Math.min(model.size, at + length)))) {
      return `the ${length} bytes at ${at} differ`
    }
    at += length
  }
  const runs = JSON.stringify(dataRuns(file))
  const expected = JSON.stringify(model.dataRuns())
  return runs === expected ? undefined : `data runs ${runs}, expected ${expected}`
}

for (const seed of [1, 2, 3]) {
  test(`random writes, truncates, allocations and punched holes match a byte-by-byte model (seed ${seed})`, (t) => {
    const limit = 3 * MiB + 4096
    const random = seeded(seed)
    const file = openFile()
    const model = new Model(limit)
    // Half the offsets cluster around multiples of 1 MiB, where extents meet.
    const offset = () =>
      random() < 0.5
        ? Math.min(limit - 1, Math.max(0, Math.floor(random() * 4) * MiB + Math.floor((random() - 0.5) * 10_000)))
        : Math.floor(random() * limit)
    const length = (from: number) => {
      const scale = [5000, 300 * 1024, 1.5 * MiB][Math.floor(random() * 3)]
      return Math.min(limit - from, 1 + Math.floor(random() * scale))
    }
    const steps: string[] = []
    for (let step = 1; step <= 1200; step++) {
      const at = offset()
      const n = length(at)
      const choice = random()
      if (choice < 0.5) {
        steps.push(`write ${n} at ${at}`)
        const data = randomBytes(n)
        file.write(data, at)
        model.write(data, at)
      } else if (choice < 0.65) {
        steps.push(`truncate to ${at}`)
        file.truncate(at)
        model.truncate(at)
      } else if (choice < 0.8) {
        const keepSize = random() < 0.5
        steps.push(`allocate ${n} at ${at}${keepSize ? ', keeping the size' : ''}`)
        file.fallocate(at, n, keepSize ? FALLOC_FL_KEEP_SIZE : 0)
        model.allocate(at, n, keepSize)
      } else {
        steps.push(`punch ${n} at ${at}`)
        file.fallocate(at, n, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
        model.punchHole(at, n)
      }
      const problem = step % 10 === 0 ? difference(file, model, random) : undefined
      if (problem !== undefined) {
        t.fail(`after step ${step}: ${problem}; the last steps: ${steps.slice(-10).join('; ')}`)
        return
      }
    }
    t.pass()
  })
}
