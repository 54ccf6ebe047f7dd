// Mount.notify on FUSE: a memfs changed behind the kernel's back (its handlers called directly,
// as a remote sync would change it) stays stale in the kernel's caches until the change is
// reported, and is fresh right after. Listings are checked fresh after a report but not stale
// before it: whether the kernel still holds a listing of memfs by then is its own choice (the
// listing cache alone is covered in cache.test.ts). The same changes under Wine are in
// wine/helpers/suite.ts.
import test from 'ava'
import { readdir, readFile, stat } from 'node:fs/promises'
import { createMemfs, type Memfs } from '../examples/memfs'
import type { RequestContext } from '../index'
import { mountFs } from './helpers/mount'

const ctx: RequestContext = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, pid: process.pid }

/** Everything cached for a minute: only a report makes the kernel ask again. */
const cached = { attrTimeoutMs: 60_000, entryTimeoutMs: 60_000, negativeTimeoutMs: 60_000, readdirCache: true }

/** Writes `text` as the whole of `path` in `memfs`, creating it if needed, without the kernel. */
async function put(memfs: Memfs, path: string, text: string): Promise<void> {
  const opened = await memfs.create(path, 0o644, 0, ctx)
  const handle = typeof opened === 'number' ? opened : (opened as { handle: number }).handle
  await memfs.truncate(path, 0, handle, ctx)
  await memfs.write(path, handle, Buffer.from(text), 0, ctx)
  await memfs.release(path, handle, 0, ctx)
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort()
}

test('a created file is seen once reported: its negative entry and its directory listing are dropped', async (t) => {
  const memfs = createMemfs()
  await memfs.mkdir('/docs', 0o755, ctx)
  const { m, p } = await mountFs(t, memfs, cached)
  await t.throwsAsync(stat(p('docs/new.txt')), { code: 'ENOENT' })
  t.deepEqual(await names(p('docs')), [])
  await put(memfs, '/docs/new.txt', 'fresh')
  await t.throwsAsync(stat(p('docs/new.txt')), { code: 'ENOENT' }, 'stale: the kernel remembered the name missing')
  await m.notify({ created: '/docs/new.txt' })
  t.is(await readFile(p('docs/new.txt'), 'utf8'), 'fresh')
  t.deepEqual(await names(p('docs')), ['new.txt'])
})

test('a deleted file is gone once reported', async (t) => {
  const memfs = createMemfs()
  await put(memfs, '/old.txt', 'old')
  const { m, p, dir } = await mountFs(t, memfs, cached)
  t.is((await stat(p('old.txt'))).size, 3)
  t.deepEqual(await names(dir), ['old.txt'])
  await memfs.unlink('/old.txt', ctx)
  t.is((await stat(p('old.txt'))).size, 3, 'stale: the kernel answered from its cache')
  await m.notify({ deleted: '/old.txt' })
  await t.throwsAsync(stat(p('old.txt')), { code: 'ENOENT' })
  t.deepEqual(await names(dir), [])
})

test('a renamed directory moves once reported, across directories too', async (t) => {
  const memfs = createMemfs()
  await memfs.mkdir('/a', 0o755, ctx)
  await memfs.mkdir('/b', 0o755, ctx)
  await memfs.mkdir('/a/sub', 0o755, ctx)
  const { m, p } = await mountFs(t, memfs, cached)
  t.true((await stat(p('a/sub'))).isDirectory())
  await t.throwsAsync(stat(p('b/moved')), { code: 'ENOENT' })
  t.deepEqual(await names(p('b')), [])
  await memfs.rename('/a/sub', '/b/moved', 0, ctx)
  t.true((await stat(p('a/sub'))).isDirectory(), 'stale: the old name still resolves')
  await t.throwsAsync(stat(p('b/moved')), { code: 'ENOENT' }, 'stale: the new name is still missing')
  await m.notify({ renamed: ['/a/sub', '/b/moved'], directory: true })
  await t.throwsAsync(stat(p('a/sub')), { code: 'ENOENT' })
  t.true((await stat(p('b/moved'))).isDirectory())
  t.deepEqual(await names(p('a')), [])
  t.deepEqual(await names(p('b')), ['moved'])
})

test('a changed file shows its new size and bytes once reported', async (t) => {
  const memfs = createMemfs()
  await put(memfs, '/f.txt', 'abc')
  const { m, p } = await mountFs(t, memfs, cached)
  t.is((await stat(p('f.txt'))).size, 3)
  await put(memfs, '/f.txt', 'abcdefgh')
  t.is((await stat(p('f.txt'))).size, 3, 'stale: the kernel answered from its cache')
  await m.notify({ changed: '/f.txt' })
  t.is((await stat(p('f.txt'))).size, 8)
  t.is(await readFile(p('f.txt'), 'utf8'), 'abcdefgh')
})

test('changes to paths the kernel never saw resolve quietly', async (t) => {
  const { m } = await mountFs(t, createMemfs(), cached)
  await t.notThrowsAsync(m.notify({ created: '/never/seen' }))
  await t.notThrowsAsync(m.notify({ deleted: '/never-seen', directory: true }))
  await t.notThrowsAsync(m.notify({ renamed: ['/x', '/y/z'] }))
  await t.notThrowsAsync(m.notify({ changed: '/nothing' }))
})

test('a malformed change is refused, saying what to give', async (t) => {
  const { m } = await mountFs(t, createMemfs(), cached)
  await t.throwsAsync(m.notify({ created: 'relative' }), { message: /mount-relative path/ })
  await t.throwsAsync(m.notify({ renamed: ['/a', '/b/../c'] }), { message: /'\.\.'/ })
  await t.throwsAsync(m.notify({ deleted: '/' }), { message: /root/ })
  await t.throwsAsync(m.notify({ created: '/a', deleted: '/b' } as never), { instanceOf: TypeError, message: /exactly one/ })
  await t.throwsAsync(m.notify({ renamed: ['/a'] } as never), { instanceOf: TypeError, message: /\[from, to\]/ })
  await t.throwsAsync(m.notify({ changed: '/a', directory: 'yes' } as never), { instanceOf: TypeError })
})
