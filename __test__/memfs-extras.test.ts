// The less common operations against memfs: statfs, flush/fsync/fsyncdir, access, extended
// attributes, fallocate, SEEK_DATA/SEEK_HOLE and copy_file_range. Most need python, since
// Node has no API for them. memfs-sparse.test.ts has more of fallocate and SEEK_DATA/SEEK_HOLE,
// on sparse files.
import test from 'ava'
import * as fsp from 'node:fs/promises'
import { FsError, type FileSystem } from '../index'
import { createMemfs } from '../examples/memfs'
import { override } from './helpers/fs'
import { mountFs } from './helpers/mount'
import { py, run, type Attempt } from './helpers/python'

const NOBODY = { uid: 65534, gid: 65534 }

test('statfs reports the figures the handler gives', async (t) => {
  const figures = {
    blockSize: 8192,
    fragmentSize: 4096,
    blocks: 1000,
    blocksFree: 500,
    blocksAvailable: 400,
    files: 100,
    filesFree: 50,
    nameMax: 200,
  }
  const asked: string[] = []
  const fs: FileSystem = {
    getattr(path) {
      if (path === '/') return { kind: 'directory' }
      throw new FsError('ENOENT')
    },
    statfs(path) {
      asked.push(path)
      return figures
    },
  }
  const { p } = await mountFs(t, fs)
  const s = await fsp.statfs(p())
  t.is(s.bsize, 8192)
  t.is(s.blocks, 1000)
  t.is(s.bfree, 500)
  t.is(s.bavail, 400)
  t.is(s.files, 100)
  t.is(s.ffree, 50)
  t.true(asked.includes('/'))
  // stat -f: block size, fundamental (fragment) size, blocks, free, available, files, free
  // files, name length.
  const out = await run('stat', ['-f', '-c', '%s %S %b %f %a %c %d %l', p()])
  t.is(out.stdout.trim(), '8192 4096 1000 500 400 100 50 200')
})

test('statfs of memfs follows its configured capacity and usage', async (t) => {
  const capacity = 64 * 1024 * 1024
  const { p } = await mountFs(t, createMemfs({ capacity, maxInodes: 5000 }))
  const empty = await fsp.statfs(p())
  t.is(empty.bsize, 4096)
  t.is(empty.blocks, capacity / 4096)
  t.is(empty.bfree, capacity / 4096)
  t.is(empty.files, 5000)
  await fsp.writeFile(p('one-mib'), Buffer.alloc(1024 * 1024, 1))
  const used = await fsp.statfs(p())
  t.is(used.bfree, empty.bfree - 256)
  t.is(used.ffree, empty.ffree - 1)
  // Past capacity: ENOSPC, and the mount keeps serving.
  await t.throwsAsync(fsp.writeFile(p('too-big'), Buffer.alloc(capacity)), { code: 'ENOSPC' })
  t.is((await fsp.stat(p('one-mib'))).size, 1024 * 1024)
})

test('flush, fsync (data and full) and fsyncdir reach the handlers', async (t) => {
  const memfs = createMemfs()
  const calls: string[] = []
  const fs = override(memfs, {
    flush(path, handle, ctx) {
      calls.push(`flush ${path}`)
      return memfs.flush(path, handle, ctx)
    },
    fsync(path, handle, datasync, ctx) {
      calls.push(`fsync ${path} ${datasync}`)
      return memfs.fsync(path, handle, datasync, ctx)
    },
    fsyncdir(path, handle, datasync, ctx) {
      calls.push(`fsyncdir ${path} ${datasync}`)
      return memfs.fsyncdir(path, handle, datasync, ctx)
    },
  })
  const { p } = await mountFs(t, fs)
  await fsp.mkdir(p('d'))
  const fh = await fsp.open(p('d', 'f'), 'w')
  await fh.write('x')
  await fh.sync()
  await fh.datasync()
  t.deepEqual(calls, ['fsync /d/f false', 'fsync /d/f true'])
  await fh.close()
  t.deepEqual(calls, ['fsync /d/f false', 'fsync /d/f true', 'flush /d/f'], 'close(2) sends one flush')
  t.is(memfs.counters.fsync, 2)
  t.is(memfs.counters.flush, 1)

  calls.length = 0
  await py(
    [
      'fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)',
      'os.fsync(fd)',
      'os.fdatasync(fd)',
      'os.close(fd)',
      'out(None)',
    ].join('\n'),
    [p('d')],
  )
  t.deepEqual(calls, ['fsyncdir /d false', 'fsyncdir /d true'])
  t.is(memfs.counters.fsyncdir, 2)
})

test('access: without defaultPermissions the handler decides, and receives the mask', async (t) => {
  const memfs = createMemfs()
  const seen: { path: string; mode: number; uid: number }[] = []
  const fs = override(memfs, {
    access(path, mode, ctx) {
      seen.push({ path, mode, uid: ctx.uid })
      return memfs.access(path, mode, ctx)
    },
  })
  const { p } = await mountFs(t, fs, { defaultPermissions: false, allowOther: true })
  await fsp.writeFile(p('data'), 'x', { mode: 0o644 })
  await fsp.chmod(p('data'), 0o640)
  await fsp.writeFile(p('tool'), '#!/bin/sh\n')
  await fsp.chmod(p('tool'), 0o755)

  const check = (path: string, mode: string, as?: typeof NOBODY) =>
    py<boolean>(`out(os.access(sys.argv[1], ${mode}))`, [path], as === undefined ? {} : { as })

  t.true(await check(p('data'), 'os.F_OK'))
  t.false(await check(p('missing'), 'os.F_OK'), 'a missing name fails at lookup, before access')
  t.true(await check(p('data'), 'os.R_OK | os.W_OK'))
  t.false(await check(p('data'), 'os.X_OK'), 'root may execute only what has an execute bit')
  t.true(await check(p('tool'), 'os.X_OK'))
  const forData = seen.filter((s) => s.path === '/data').map((s) => s.mode)
  t.deepEqual(forData, [0, 6, 1], 'F_OK, R_OK|W_OK and X_OK arrive as the masks 0, 6 and 1')
  t.false(seen.some((s) => s.path === '/missing'))

  // Another user: memfs applies the mode bits to it (0o640, root-owned: no access for others).
  seen.length = 0
  t.false(await check(p('data'), 'os.R_OK', NOBODY))
  t.true(await check(p('tool'), 'os.R_OK | os.X_OK', NOBODY))
  t.deepEqual(
    seen.map((s) => [s.path, s.mode, s.uid]),
    [
      ['/data', 4, NOBODY.uid],
      ['/tool', 5, NOBODY.uid],
    ],
  )
})

test('extended attributes: set, get, list, remove, ENODATA, and the CREATE/REPLACE flags', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('f'), 'x')
  await fsp.mkdir(p('d'))

  let r = await run('setfattr', ['-n', 'user.color', '-v', 'red', p('f')])
  t.is(r.code, 0, r.stderr)
  r = await run('setfattr', ['-n', 'user.size', '-v', 'large', p('f')])
  t.is(r.code, 0, r.stderr)
  r = await run('getfattr', ['-n', 'user.color', '--only-values', p('f')])
  t.is(r.stdout, 'red')
  r = await run('getfattr', ['-d', '--absolute-names', p('f')])
  t.true(r.stdout.includes('user.color="red"'), r.stdout)
  t.true(r.stdout.includes('user.size="large"'), r.stdout)
  t.deepEqual((await py<string[]>('out(sorted(os.listxattr(sys.argv[1])))', [p('f')])), ['user.color', 'user.size'])

  // Missing attribute: ENODATA (getfattr says "No such attribute").
  t.deepEqual(await py('out(attempt(os.getxattr, sys.argv[1], "user.none"))', [p('f')]), { error: 'ENODATA' })
  r = await run('getfattr', ['-n', 'user.none', p('f')])
  t.is(r.code, 1)
  t.true(r.stderr.includes('No such attribute'), r.stderr)

  // XATTR_CREATE fails on an existing name, XATTR_REPLACE on a missing one.
  const set = (name: string, value: string, flags: string) =>
    py<Attempt>(`out(attempt(os.setxattr, sys.argv[1], sys.argv[2], sys.argv[3].encode(), ${flags}))`, [p('f'), name, value])
  t.deepEqual(await set('user.color', 'blue', 'os.XATTR_CREATE'), { error: 'EEXIST' })
  t.deepEqual(await set('user.other', 'x', 'os.XATTR_REPLACE'), { error: 'ENODATA' })
  t.deepEqual(await set('user.color', 'blue', 'os.XATTR_REPLACE'), { ok: null })
  t.deepEqual(await set('user.fresh', 'new', 'os.XATTR_CREATE'), { ok: null })
  t.is((await run('getfattr', ['-n', 'user.color', '--only-values', p('f')])).stdout, 'blue')

  // Binary values, and values bigger than the first buffer a caller tries (ERANGE path).
  const binary = await py<Record<string, boolean>>(
    [
      'small = bytes(range(256))',
      'big = bytes((i * 7) % 256 for i in range(3000))',
      'os.setxattr(sys.argv[1], "user.bin", small)',
      'os.setxattr(sys.argv[1], "user.big", big)',
      'out({"small": os.getxattr(sys.argv[1], "user.bin") == small, "big": os.getxattr(sys.argv[1], "user.big") == big})',
    ].join('\n'),
    [p('f')],
  )
  t.deepEqual(binary, { small: true, big: true })

  // Remove.
  r = await run('setfattr', ['-x', 'user.size', p('f')])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(await py('out(attempt(os.getxattr, sys.argv[1], "user.size"))', [p('f')]), { error: 'ENODATA' })
  t.deepEqual(await py('out(attempt(os.removexattr, sys.argv[1], "user.size"))', [p('f')]), { error: 'ENODATA' })
  t.deepEqual(await py<string[]>('out(sorted(os.listxattr(sys.argv[1])))', [p('f')]), [
    'user.big',
    'user.bin',
    'user.color',
    'user.fresh',
  ])

  // Directories carry attributes too; a fresh file has none.
  t.is((await run('setfattr', ['-n', 'user.dir', '-v', 'yes', p('d')])).code, 0)
  t.is((await run('getfattr', ['-n', 'user.dir', '--only-values', p('d')])).stdout, 'yes')
  await fsp.writeFile(p('plain'), '')
  t.deepEqual(await py('out(os.listxattr(sys.argv[1]))', [p('plain')]), [])
  t.deepEqual(await py('out(attempt(os.getxattr, sys.argv[1], "user.x"))', [p('missing')]), { error: 'ENOENT' })
})

test('fallocate: allocating grows a file with zeros, KEEP_SIZE holds space past the end, PUNCH_HOLE frees a range; other modes are EOPNOTSUPP', async (t) => {
  const memfs = createMemfs()
  const calls: number[][] = []
  const fs = override(memfs, {
    fallocate(path, handle, offset, length, mode, ctx) {
      calls.push([offset, length, mode])
      return memfs.fallocate(path, handle, offset, length, mode, ctx)
    },
  })
  const { p } = await mountFs(t, fs, { attrTimeoutMs: 0 })
  await fsp.writeFile(p('f'), 'abc')
  const result = await py(
    [
      'fd = os.open(sys.argv[1], os.O_RDWR)',
      'os.posix_fallocate(fd, 10, 1000)',
      'grown = os.fstat(fd).st_size',
      'os.posix_fallocate(fd, 0, 5)',
      'inside = os.fstat(fd).st_size',
      'FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE = 1, 2, 0x10',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]',
      'def fallocate(mode, offset, length):',
      '    rc = libc.fallocate(fd, mode, offset, length)',
      '    return errno.errorcode.get(ctypes.get_errno()) if rc != 0 else "ok"',
      'keep = fallocate(FALLOC_FL_KEEP_SIZE, 0, 100000)',
      'kept = os.fstat(fd)',
      'punch = fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1, 2)',
      'zero = fallocate(FALLOC_FL_ZERO_RANGE, 0, 10)',
      'os.close(fd)',
      'out({"grown": grown, "inside": inside, "keep": keep, "keptSize": kept.st_size, "keptBlocks": kept.st_blocks, "punch": punch, "zero": zero})',
    ].join('\n'),
    [p('f')],
  )
  // Python names errno 95 ENOTSUP; on Linux it is the same number as EOPNOTSUPP. 100,000 bytes
  // held are 196 blocks of 512.
  t.deepEqual(result, { grown: 1010, inside: 1010, keep: 'ok', keptSize: 1010, keptBlocks: 196, punch: 'ok', zero: 'ENOTSUP' })
  t.deepEqual(calls, [
    [10, 1000, 0],
    [0, 5, 0],
    [0, 100000, 1],
    [1, 2, 3],
    [0, 10, 0x10],
  ])
  const bytes = await fsp.readFile(p('f'))
  t.is(bytes.length, 1010)
  t.is(bytes.subarray(0, 1).toString(), 'a')
  t.true(bytes.subarray(1).every((b) => b === 0), 'the punched bytes and the allocated ones read as zeros')
})

test('lseek with SEEK_DATA and SEEK_HOLE', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('f'), Buffer.alloc(10_000, 7))
  const result = await py(
    [
      'fd = os.open(sys.argv[1], os.O_RDONLY)',
      'r = {',
      '  "data0": attempt(os.lseek, fd, 0, os.SEEK_DATA),',
      '  "data5000": attempt(os.lseek, fd, 5000, os.SEEK_DATA),',
      '  "hole0": attempt(os.lseek, fd, 0, os.SEEK_HOLE),',
      '  "dataEnd": attempt(os.lseek, fd, 10000, os.SEEK_DATA),',
      '  "holePast": attempt(os.lseek, fd, 20000, os.SEEK_HOLE),',
      '}',
      'os.close(fd)',
      'out(r)',
    ].join('\n'),
    [p('f')],
  )
  t.deepEqual(result, {
    data0: { ok: 0 },
    data5000: { ok: 5000 },
    hole0: { ok: 10_000 },
    dataEnd: { error: 'ENXIO' },
    holePast: { error: 'ENXIO' },
  })
})

// Copies with copy_file_range(2) as far as the kernel allows, then like cp(1) does: read and
// write. Reports which way the bytes went.
const COPY = [
  'src = os.open(sys.argv[1], os.O_RDONLY)',
  'dst = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o644)',
  'length, offset_src, offset_dst = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])',
  'copied, way = 0, "copy_file_range"',
  'while copied < length:',
  '    try:',
  '        n = os.copy_file_range(src, dst, length - copied, offset_src + copied, offset_dst + copied)',
  '    except OSError as e:',
  '        if e.errno not in (errno.EXDEV, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):',
  '            raise',
  '        way = "fallback:" + errname(e)',
  '        data = os.pread(src, length - copied, offset_src + copied)',
  '        n = os.pwrite(dst, data, offset_dst + copied)',
  '    if n == 0:',
  '        break',
  '    copied += n',
  'os.close(src)',
  'os.close(dst)',
  'out({"copied": copied, "way": way})',
].join('\n')

test('copy_file_range copies the bytes (memfs has no handler: the kernel falls back)', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 251))
  await fsp.writeFile(p('src'), data)
  const result = await py<{ copied: number; way: string }>(COPY, [p('src'), p('dst'), data.length, 0, 0])
  t.is(result.copied, data.length)
  t.log(`copied by ${result.way}`)
  t.true((await fsp.readFile(p('dst'))).equals(data))
})

test('copy_file_range reaches a copyFileRange handler with the right arguments', async (t) => {
  const memfs = createMemfs()
  const calls: unknown[][] = []
  const fs = override(memfs, {
    copyFileRange(fromPath, fromHandle, fromOffset, toPath, toHandle, toOffset, length, ctx) {
      calls.push([fromPath, fromOffset, toPath, toOffset, length])
      const bytes = memfs.read(fromPath, fromHandle, fromOffset, length, ctx) as Buffer
      return memfs.write(toPath, toHandle, Buffer.from(bytes), toOffset, ctx)
    },
  })
  const { p } = await mountFs(t, fs)
  const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256))
  await fsp.writeFile(p('src'), data)
  const result = await py<{ copied: number; way: string }>(COPY, [p('src'), p('dst'), 1000, 100, 50])
  t.deepEqual(result, { copied: 1000, way: 'copy_file_range' })
  t.deepEqual(calls, [['/src', 100, '/dst', 50, 1000]])
  const dst = await fsp.readFile(p('dst'))
  t.is(dst.length, 1050)
  t.true(dst.subarray(0, 50).every((b) => b === 0))
  t.true(dst.subarray(50).equals(data.subarray(100, 1100)))
})
