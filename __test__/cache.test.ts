// Kernel caching: what each cache option lets the kernel remember, and that invalidate()
// makes a filesystem whose data changes underneath correct again.
import test from 'ava'
import { readdir, readFile, stat } from 'node:fs/promises'
import { createMemfs } from '../examples/memfs'
import { FsError, type FileSystem } from '../index'
import { override } from './helpers/fs'
import { mountFs } from './helpers/mount'
import { py } from './helpers/python'

/** A flat directory whose contents the test changes behind the kernel's back. */
function changing() {
  const files = new Map<string, string>([['a', 'abc']])
  let getattrs = 0
  const fs: FileSystem = {
    getattr(path) {
      getattrs++
      if (path === '/') return { kind: 'directory' }
      const text = files.get(path.slice(1))
      if (text === undefined) throw new FsError('ENOENT')
      return { kind: 'file', size: Buffer.byteLength(text) }
    },
    readdir: () => [...files.keys()].map((name) => ({ name, kind: 'file' as const })),
    read: (path, _h, offset, length) => Buffer.from(files.get(path.slice(1)) ?? '').subarray(offset, offset + length),
  }
  return { fs, files, getattrs: () => getattrs }
}

const cached = { attrTimeoutMs: 60_000, entryTimeoutMs: 60_000 }

test('cached attributes are served by the kernel until invalidated', async (t) => {
  const { fs, files, getattrs } = changing()
  const { m, p } = await mountFs(t, fs, cached)
  t.is((await stat(p('a'))).size, 3)
  const before = getattrs()
  files.set('a', 'abcdefgh')
  t.is((await stat(p('a'))).size, 3, 'the kernel answered from its cache')
  t.is(getattrs(), before, 'no getattr reached the handler')
  await m.invalidate('/a')
  t.is((await stat(p('a'))).size, 8)
  t.is(await readFile(p('a'), 'utf8'), 'abcdefgh')
})

test('without caching every stat reaches the handler', async (t) => {
  const { fs, files } = changing()
  const { p } = await mountFs(t, fs, { attrTimeoutMs: 0, entryTimeoutMs: 0 })
  t.is((await stat(p('a'))).size, 3)
  files.set('a', 'abcdefgh')
  t.is((await stat(p('a'))).size, 8)
})

test('a created file\'s attributes are cached for attrTimeoutMs, not entryTimeoutMs', async (t) => {
  const memfs = createMemfs()
  let getattrs = 0
  const fs = override(memfs, {
    getattr(...args) {
      if (args[0] === '/new') getattrs++
      return memfs.getattr!(...args)
    },
  })
  const { p } = await mountFs(t, fs, { attrTimeoutMs: 0, entryTimeoutMs: 60_000 })
  // O_EXCL without O_TRUNC: nothing but the CREATE reply tells the kernel the new file's
  // attributes. Python's stat() is stat(2); Node's asks statx for the birth time, which the
  // kernel never caches for FUSE, so it would reach getattr whatever the timeout.
  await py('os.close(os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))\nout(0)', [p('new')])
  const before = getattrs
  t.is(await py<number>('out(os.stat(sys.argv[1]).st_size)', [p('new')]), 0)
  t.true(getattrs > before, 'stat asked getattr: the attributes from the create were not cached')
})

test('negative entries are remembered until the entry is invalidated', async (t) => {
  const { fs, files } = changing()
  const { m, p } = await mountFs(t, fs, { ...cached, negativeTimeoutMs: 60_000 })
  await t.throwsAsync(stat(p('b')), { code: 'ENOENT' })
  files.set('b', 'new')
  await t.throwsAsync(stat(p('b')), { code: 'ENOENT' }, 'the kernel remembered that b did not exist')
  await m.invalidateEntry('/b')
  t.is((await stat(p('b'))).size, 3)
})

test('without a negative timeout a new name is seen at once', async (t) => {
  const { fs, files } = changing()
  const { p } = await mountFs(t, fs, cached)
  await t.throwsAsync(stat(p('b')), { code: 'ENOENT' })
  files.set('b', 'new')
  t.is((await stat(p('b'))).size, 3)
})

test('cached directory listings are kept until the directory is invalidated', async (t) => {
  const { fs, files } = changing()
  const { m, p, dir } = await mountFs(t, fs, { ...cached, readdirCache: true })
  t.deepEqual(await readdir(dir), ['a'])
  files.set('b', 'new')
  t.deepEqual(await readdir(dir), ['a'], 'the kernel served the cached listing')
  await m.invalidate('/')
  t.deepEqual((await readdir(dir)).sort(), ['a', 'b'])
  t.is(await readFile(p('b'), 'utf8'), 'new')
})

test('invalidating a path the kernel never looked up is a no-op', async (t) => {
  const { fs } = changing()
  const { m } = await mountFs(t, fs, cached)
  await t.notThrowsAsync(m.invalidate('/never/seen'))
  await t.notThrowsAsync(m.invalidateEntry('/never-seen'))
})

test('writeback caching still delivers every byte to write', async (t) => {
  const data = new Map<string, Buffer>()
  const fs: FileSystem = {
    getattr(path) {
      if (path === '/') return { kind: 'directory', mode: 0o777 }
      const bytes = data.get(path)
      if (bytes === undefined) throw new FsError('ENOENT')
      return { kind: 'file', size: bytes.length, mode: 0o666 }
    },
    create(path) {
      data.set(path, Buffer.alloc(0))
    },
    open: () => 0,
    read: (path, _h, offset, length) => (data.get(path) ?? Buffer.alloc(0)).subarray(offset, offset + length),
    write(path, _h, chunk, offset) {
      const old = data.get(path) ?? Buffer.alloc(0)
      const next = Buffer.alloc(Math.max(old.length, offset + chunk.length))
      old.copy(next)
      chunk.copy(next, offset)
      data.set(path, next)
      return chunk.length
    },
    truncate(path, size) {
      const old = data.get(path) ?? Buffer.alloc(0)
      const next = Buffer.alloc(size)
      old.copy(next, 0, 0, Math.min(size, old.length))
      data.set(path, next)
    },
    utimens() {},
  }
  const { p } = await mountFs(t, fs, { writebackCache: true })
  const expected = Buffer.alloc(256 * 1024)
  for (let i = 0; i < expected.length; i++) expected[i] = (i * 7) & 0xff
  const { open } = await import('node:fs/promises')
  const fh = await open(p('w'), 'w+')
  for (let off = 0; off < expected.length; off += 1000) {
    await fh.write(expected.subarray(off, off + 1000), 0, Math.min(1000, expected.length - off), off)
  }
  await fh.sync()
  await fh.close()
  t.true(data.get('/w')?.equals(expected), 'the filesystem holds exactly what was written')
})

test('writeback caching without a utimens handler is refused at mount time', async (t) => {
  const { fs } = changing()
  await t.throwsAsync(mountFs(t, fs, { writebackCache: true }), { message: /utimens/ })
})
