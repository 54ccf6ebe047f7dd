// Sparse files on memfs, mounted: writes far past the end, holes that read as zeros, SEEK_DATA
// and SEEK_HOLE through lseek(2), truncation, hole punching, st_blocks and du, capacity coming
// back, and fsx with hole punching. System calls Node lacks (lseek with SEEK_DATA/SEEK_HOLE,
// fallocate) run in python.
//
// Attributes are not cached (attrTimeoutMs: 0), so every stat shows what memfs holds.
import test from 'ava'
import { randomBytes } from 'node:crypto'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { createMemfs, type MemfsOptions } from '../examples/memfs'
import { sleep } from './helpers/fs'
import { cargoTool, FSX_VERSION } from './helpers/cargo-tool'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { py, run, type Attempt } from './helpers/python'

const MiB = 1024 * 1024

/** Python: `fallocate(fd, mode, offset, length)`, raising OSError as os functions do. */
const FALLOCATE = [
  'FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2',
  '_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]',
  'def fallocate(fd, mode, offset, length):',
  '    if _libc.fallocate(fd, mode, offset, length) != 0:',
  '        n = ctypes.get_errno()',
  '        raise OSError(n, os.strerror(n))',
].join('\n')

function mountMemfs(t: Parameters<typeof mountFs>[0], options: MemfsOptions = {}) {
  return mountFs(t, createMemfs(options), { attrTimeoutMs: 0 })
}

/** Whether two byte ranges are equal (t.deepEqual is slow on large buffers). */
function sameBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.compare(actual, expected) === 0
}

const isZero = (bytes: Uint8Array) => bytes.every((b) => b === 0)

test('a pwrite at 2 GiB + 1 makes a file of 2 GiB + 2 bytes that takes one block of capacity', async (t) => {
  // The default capacity is 1 GiB: only what is written counts against it.
  const { p } = await mountMemfs(t)
  const empty = await fsp.statfs(p())
  const fh = await fsp.open(p('sparse'), 'w+')
  try {
    t.is((await fh.write(Buffer.from('x'), 0, 1, 2 ** 31 + 1)).bytesWritten, 1)
    const s = await fh.stat()
    t.is(s.size, 2 ** 31 + 2)
    t.is(s.blocks, 1)
    // Holes read as zeros: at the start, in the middle, and up to the byte at the end.
    const expectedEnd = Buffer.alloc(65536)
    expectedEnd[65535] = 'x'.charCodeAt(0)
    for (const [at, expected] of [
      [0, Buffer.alloc(65536)],
      [2 ** 30 + 12345, Buffer.alloc(65536)],
      [2 ** 31 + 2 - 65536, expectedEnd],
    ] as const) {
      const bytes = Buffer.alloc(65536, 0xff)
      t.is((await fh.read(bytes, 0, bytes.length, at)).bytesRead, bytes.length)
      t.true(sameBytes(bytes, expected), `the 64 KiB at ${at}`)
    }
  } finally {
    await fh.close()
  }
  t.is((await fsp.statfs(p())).bfree, empty.bfree - 1, 'one 4 KiB block of capacity in use')

  t.is((await run('stat', ['-c', '%s %b %B', p('sparse')])).stdout.trim(), '2147483650 1 512')
  t.is((await run('du', ['-B1', p('sparse')])).stdout.split('\t')[0], '512')
  t.is((await run('du', ['-B1', '--apparent-size', p('sparse')])).stdout.split('\t')[0], '2147483650')
})

test('holes read as zeros, and lseek(2) finds data and holes across several extents', async (t) => {
  const { p } = await mountMemfs(t)
  // Data: 4 KiB across the 1 MiB boundary, 10 bytes at 3 MiB, 1 MiB at 5 MiB; 8 MiB in all.
  const expected = Buffer.alloc(8 * MiB)
  const pieces = [
    { at: MiB - 100, bytes: randomBytes(4096) },
    { at: 3 * MiB, bytes: randomBytes(10) },
    { at: 5 * MiB, bytes: randomBytes(MiB) },
  ]
  for (const { at, bytes } of pieces) expected.set(bytes, at)
  const fh = await fsp.open(p('f'), 'w+')
  try {
    for (const { at, bytes } of pieces) await fh.write(bytes, 0, bytes.length, at)
    await fh.truncate(8 * MiB)
  } finally {
    await fh.close()
  }
  const cases: [string, number, 'SEEK_DATA' | 'SEEK_HOLE', Attempt<number>][] = [
    ['the file starts with a hole', 0, 'SEEK_HOLE', { ok: 0 }],
    ['the first data', 0, 'SEEK_DATA', { ok: MiB - 100 }],
    ['data across the 1 MiB boundary is one run', MiB - 100, 'SEEK_HOLE', { ok: MiB + 3996 }],
    ['an offset inside data is data', MiB + 10, 'SEEK_DATA', { ok: MiB + 10 }],
    ['the data after a hole', MiB + 3996, 'SEEK_DATA', { ok: 3 * MiB }],
    ['a short run ends', 3 * MiB + 5, 'SEEK_HOLE', { ok: 3 * MiB + 10 }],
    ['the last data', 3 * MiB + 10, 'SEEK_DATA', { ok: 5 * MiB }],
    ['the last data ends', 5 * MiB, 'SEEK_HOLE', { ok: 6 * MiB }],
    ['no data after it', 6 * MiB, 'SEEK_DATA', { error: 'ENXIO' }],
    ['the file ends with a hole', 7 * MiB, 'SEEK_HOLE', { ok: 7 * MiB }],
    ['no data at the end', 8 * MiB, 'SEEK_DATA', { error: 'ENXIO' }],
    ['no hole at the end', 8 * MiB, 'SEEK_HOLE', { error: 'ENXIO' }],
  ]
  const seeks = await py<Attempt<number>[]>(
    [
      'fd = os.open(sys.argv[1], os.O_RDONLY)',
      'out([attempt(os.lseek, fd, offset, getattr(os, whence)) for offset, whence in json.loads(sys.argv[2])])',
      'os.close(fd)',
    ].join('\n'),
    [p('f'), JSON.stringify(cases.map(([, offset, whence]) => [offset, whence]))],
  )
  for (const [i, [name, , , expectedSeek]] of cases.entries()) t.deepEqual(seeks[i], expectedSeek, name)

  const bytes = await fsp.readFile(p('f'))
  t.is(bytes.length, 8 * MiB)
  t.true(sameBytes(bytes, expected), 'holes at the start, between extents and at the end read as zeros')
  t.is((await fsp.stat(p('f'))).blocks, Math.ceil((4096 + 10 + MiB) / 512))
})

test('truncating down into and past extents, then growing, reads zeros where the data was', async (t) => {
  const { p } = await mountMemfs(t)
  const data = randomBytes(3 * MiB)
  await fsp.writeFile(p('f'), data)
  const readBack = async (size: number, kept: number) => {
    const bytes = await fsp.readFile(p('f'))
    t.is(bytes.length, size)
    t.true(sameBytes(bytes.subarray(0, kept), data.subarray(0, kept)), `the first ${kept} bytes stay`)
    t.true(isZero(bytes.subarray(kept)), `zeros from ${kept} on`)
  }

  // Into the second MiB (each MiB of the file is an extent of its own), then grown again.
  const cut = MiB + MiB / 2 + 100
  await fsp.truncate(p('f'), cut)
  t.is((await fsp.stat(p('f'))).blocks, Math.ceil(cut / 512))
  await fsp.truncate(p('f'), 4 * MiB)
  await readBack(4 * MiB, cut)
  t.is((await fsp.stat(p('f'))).blocks, Math.ceil(cut / 512), 'growing takes no space')

  // Past two extents, into the first, with truncate(1).
  t.is((await run('truncate', ['-s', '1000', p('f')])).code, 0)
  t.is((await run('truncate', ['-s', '2M', p('f')])).code, 0)
  await readBack(2 * MiB, 1000)
  t.is((await fsp.stat(p('f'))).blocks, 2)

  // Through a descriptor, to nothing and back: all hole.
  const result = await py(
    [
      'fd = os.open(sys.argv[1], os.O_RDWR)',
      'os.ftruncate(fd, 0)',
      'os.ftruncate(fd, 1 << 20)',
      'st = os.fstat(fd)',
      'out({"size": st.st_size, "blocks": st.st_blocks, "data": attempt(os.lseek, fd, 0, os.SEEK_DATA), "zeros": os.pread(fd, 1 << 20, 0) == bytes(1 << 20)})',
      'os.close(fd)',
    ].join('\n'),
    [p('f')],
  )
  t.deepEqual(result, { size: MiB, blocks: 0, data: { error: 'ENXIO' }, zeros: true })
})

test('capacity comes back when data is truncated, punched or deleted; an unlinked open file keeps it until closed', async (t) => {
  const capacity = 8 * MiB
  const { p } = await mountMemfs(t, { capacity })
  const blocks = capacity / 4096
  const free = async () => (await fsp.statfs(p())).bfree
  t.is(await free(), blocks)

  await fsp.writeFile(p('big'), randomBytes(6 * MiB))
  t.is(await free(), blocks - 1536)
  // 4 MiB more do not fit: the first 2 MiB land, then ENOSPC.
  await t.throwsAsync(fsp.writeFile(p('more'), randomBytes(4 * MiB)), { code: 'ENOSPC' })
  t.is(await free(), 0)
  await fsp.unlink(p('more'))
  t.is(await free(), blocks - 1536, 'deleting gives it back')

  await fsp.truncate(p('big'), 2 * MiB)
  t.is(await free(), blocks - 512, 'truncating gives it back')
  const punched = await py(
    [
      FALLOCATE,
      'fd = os.open(sys.argv[1], os.O_RDWR)',
      'fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20)',
      'st = os.fstat(fd)',
      'out({"size": st.st_size, "blocks": st.st_blocks, "zeros": os.pread(fd, 1 << 20, 0) == bytes(1 << 20)})',
      'os.close(fd)',
    ].join('\n'),
    [p('big')],
  )
  t.deepEqual(punched, { size: 2 * MiB, blocks: 2048, zeros: true })
  t.is(await free(), blocks - 256, 'punching a hole gives it back')

  const fh = await fsp.open(p('big'), 'r')
  try {
    await fsp.unlink(p('big'))
    t.is(await free(), blocks - 256, 'an open file keeps its data after unlink')
  } finally {
    await fh.close()
  }
  // The kernel sends the release after close(2) has returned.
  for (let waited = 0; (await free()) !== blocks && waited < 5000; waited += 50) await sleep(50)
  t.is(await free(), blocks, 'its last close gives it back')
})

test('st_blocks, stat(1) and du(1) report what a file holds, not its size', async (t) => {
  const { p } = await mountMemfs(t)
  const steps = await py<[string, number, number][]>(
    [
      FALLOCATE,
      'MiB = 1 << 20',
      'fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)',
      'steps = []',
      'def step(name):',
      '    st = os.fstat(fd)',
      '    steps.append([name, st.st_size, st.st_blocks])',
      'os.pwrite(fd, b"x", 10 * MiB)',
      'step("a byte at 10 MiB")',
      'os.pwrite(fd, b"y" * MiB, 0)',
      'step("a MiB at the start")',
      'fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MiB // 2)',
      'step("half of it punched out")',
      'fallocate(fd, FALLOC_FL_KEEP_SIZE, 20 * MiB, MiB)',
      'step("a MiB allocated past the end")',
      'os.posix_fallocate(fd, 11 * MiB, MiB)',
      'step("a MiB allocated after the end")',
      'os.ftruncate(fd, 5 * MiB)',
      'step("cut to 5 MiB")',
      'os.close(fd)',
      'out(steps)',
    ].join('\n'),
    [p('f')],
  )
  t.deepEqual(steps, [
    ['a byte at 10 MiB', 10 * MiB + 1, 1],
    ['a MiB at the start', 10 * MiB + 1, 2049],
    ['half of it punched out', 10 * MiB + 1, 1025],
    ['a MiB allocated past the end', 10 * MiB + 1, 3073],
    ['a MiB allocated after the end', 12 * MiB, 5121],
    ['cut to 5 MiB', 5 * MiB, 1024],
  ])
  t.is((await run('stat', ['-c', '%s %b', p('f')])).stdout.trim(), `${5 * MiB} 1024`)
  t.is((await run('du', ['-B1', p('f')])).stdout.split('\t')[0], String(MiB / 2))
})

// __test__/integrity.test.ts runs fsx against memfs without hole punching; this adds it, and
// files of up to 3 MiB, so that operations cross the 1 MiB boundaries between extents.
const FSX_CONFIG = `
flen = 3145728
[opsize]
max = 262144
min = 0
align = 1
[weights]
close_open = 2
read = 10
write = 10
mapread = 5
mapwrite = 5
invalidate = 1
truncate = 4
fsync = 1
fdatasync = 1
posix_fallocate = 3
punch_hole = 5
sendfile = 1
posix_fadvise = 2
copy_file_range = 2
`

test('fsx with hole punching, on files up to 3 MiB: zero mismatches', async (t) => {
  t.timeout(180_000)
  const fsx = await cargoTool(t, 'fsx', FSX_VERSION)
  const { p, errors } = await mountMemfs(t)
  const work = await tempDir()
  t.teardown(() => removeTempDir(work))
  await fsp.writeFile(join(work, 'fsx.toml'), FSX_CONFIG)
  const runs = await Promise.all(
    [1, 2].map((seed) =>
      run(fsx, ['-f', join(work, 'fsx.toml'), '-N', '10000', '-S', String(seed), '-P', work, p(`fsx-${seed}`)], {
        env: { ...process.env, NO_COLOR: '1' },
        timeoutMs: 150_000,
      }),
    ),
  )
  for (const result of runs) {
    const output = `${result.stdout}${result.stderr}`
    t.true(result.code === 0 && output.includes('All operations completed A-OK!'), output.slice(-6000))
  }
  t.deepEqual(errors, [], 'no handler faults')
})
