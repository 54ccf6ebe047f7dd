// The mirror and hello examples, mounted for real.
import test from 'ava'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { hello } from '../examples/hello'
import { createMirror } from '../examples/mirror'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { py, run } from './helpers/python'

/** A temp directory to mirror, removed after the test (after the mount's own teardown). */
async function sourceDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await tempDir()
  t.teardown(() => removeTempDir(dir))
  return dir
}

test('mirror: changes made through the mount land in the source directory', async (t) => {
  const source = await sourceDir(t)
  await fsp.writeFile(join(source, 'existing.txt'), 'from the source\n')
  await fsp.mkdir(join(source, 'sub'))
  await fsp.writeFile(join(source, 'sub', 'deep.txt'), 'deep')
  const { p } = await mountFs(t, createMirror(source))

  // Reads see the source.
  t.is(await fsp.readFile(p('existing.txt'), 'utf8'), 'from the source\n')
  t.deepEqual((await fsp.readdir(p())).sort(), ['existing.txt', 'sub'])
  t.is((await run('cat', [p('sub', 'deep.txt')])).stdout, 'deep')
  const through = await fsp.stat(p('existing.txt'))
  const direct = await fsp.stat(join(source, 'existing.txt'))
  t.is(through.size, direct.size)
  t.is(through.mode, direct.mode)
  t.is(through.mtimeMs, direct.mtimeMs)

  // Create, write, append.
  await fsp.writeFile(p('new.txt'), 'written through the mount', { mode: 0o600 })
  t.is(await fsp.readFile(join(source, 'new.txt'), 'utf8'), 'written through the mount')
  t.is((await fsp.stat(join(source, 'new.txt'))).mode & 0o777, 0o600 & ~process.umask())
  await fsp.appendFile(p('new.txt'), '!')
  t.is(await fsp.readFile(join(source, 'new.txt'), 'utf8'), 'written through the mount!')
  const fh = await fsp.open(p('new.txt'), 'r+')
  await fh.write('W', 0)
  await fh.truncate(7)
  await fh.close()
  t.is(await fsp.readFile(join(source, 'new.txt'), 'utf8'), 'Written')

  // Rename, mkdir, rmdir, unlink, symlink, link, chmod, utimes.
  await fsp.rename(p('new.txt'), p('sub', 'renamed.txt'))
  t.deepEqual((await fsp.readdir(join(source, 'sub'))).sort(), ['deep.txt', 'renamed.txt'])
  await t.throwsAsync(fsp.stat(join(source, 'new.txt')), { code: 'ENOENT' })
  await fsp.mkdir(p('made'))
  t.true((await fsp.stat(join(source, 'made'))).isDirectory())
  await t.throwsAsync(fsp.rmdir(p('sub')), { code: 'ENOTEMPTY' })
  await fsp.rmdir(p('made'))
  await t.throwsAsync(fsp.stat(join(source, 'made')), { code: 'ENOENT' })
  await fsp.unlink(p('sub', 'deep.txt'))
  t.deepEqual(await fsp.readdir(join(source, 'sub')), ['renamed.txt'])
  await fsp.symlink('sub/renamed.txt', p('link'))
  t.is(await fsp.readlink(join(source, 'link')), 'sub/renamed.txt')
  t.is(await fsp.readFile(p('link'), 'utf8'), 'Written')
  await fsp.link(p('existing.txt'), p('hard'))
  t.is((await fsp.stat(join(source, 'hard'))).ino, direct.ino)
  await fsp.chmod(p('existing.txt'), 0o640)
  t.is((await fsp.stat(join(source, 'existing.txt'))).mode & 0o777, 0o640)
  await fsp.utimes(p('existing.txt'), new Date('2005-05-05T05:05:05Z'), new Date('2006-06-06T06:06:06Z'))
  t.is((await fsp.stat(join(source, 'existing.txt'))).mtimeMs, Date.parse('2006-06-06T06:06:06Z'))

  // Changes made in the source show through the mount (after the kernel's cache expires).
  await fsp.writeFile(join(source, 'outside-made.txt'), 'hi')
  t.is(await fsp.readFile(p('outside-made.txt'), 'utf8'), 'hi')

  // renameat2: NOREPLACE is emulated, EXCHANGE is refused with EINVAL (see mirror.ts).
  await fsp.writeFile(p('a'), 'A')
  await fsp.writeFile(p('b'), 'B')
  t.deepEqual(await py('out(attempt(renameat2, sys.argv[1], sys.argv[2], RENAME_NOREPLACE))', [p('a'), p('b')]), {
    error: 'EEXIST',
  })
  t.deepEqual(await py('out(attempt(renameat2, sys.argv[1], sys.argv[2], RENAME_EXCHANGE))', [p('a'), p('b')]), {
    error: 'EINVAL',
  })
  t.is(await fsp.readFile(join(source, 'a'), 'utf8'), 'A')
  t.is(await fsp.readFile(join(source, 'b'), 'utf8'), 'B')
})

test('mirror: symlinks are reported as symlinks and their targets are not followed by the mirror', async (t) => {
  const source = await sourceDir(t)
  await fsp.symlink('/etc', join(source, 'etc-link'))
  await fsp.symlink('/etc/passwd', join(source, 'passwd-link'))
  const { p } = await mountFs(t, createMirror(source))

  const l = await fsp.lstat(p('etc-link'))
  t.true(l.isSymbolicLink())
  t.is(await fsp.readlink(p('etc-link')), '/etc')
  t.is(await fsp.readlink(p('passwd-link')), '/etc/passwd')
  // Opening the link itself (O_NOFOLLOW) is refused like on any filesystem.
  t.deepEqual(
    await py('out(attempt(os.open, sys.argv[1], os.O_RDONLY | os.O_NOFOLLOW))', [p('passwd-link')]),
    { error: 'ELOOP' },
  )
  // Following it is the caller's kernel's doing: the path resolves to the real /etc, outside
  // the mount, exactly as in the source directory itself.
  t.is((await fsp.stat(p('etc-link'))).ino, (await fsp.stat('/etc')).ino)
})

test('mirror: a directory swapped for a symlink behind the mount cannot lead a write outside the root', async (t) => {
  const source = await sourceDir(t)
  const outside = await sourceDir(t)
  await fsp.mkdir(join(source, 'sub'))
  // Long cache times, so the kernel keeps believing `sub` is the directory it looked up.
  const { p } = await mountFs(t, createMirror(source), { entryTimeoutMs: 60_000, attrTimeoutMs: 60_000 })
  t.deepEqual(await fsp.readdir(p('sub')), [])

  // Behind the mount's back, `sub` becomes a symlink to a directory outside the root.
  await fsp.rmdir(join(source, 'sub'))
  await fsp.symlink(outside, join(source, 'sub'))

  // The kernel still sends requests for /sub/...; the mirror refuses to follow the link.
  await t.throwsAsync(fsp.writeFile(p('sub', 'escaped.txt'), 'should not exist'), { code: 'EACCES' })
  await t.throwsAsync(fsp.mkdir(p('sub', 'escaped-dir')), { code: 'EACCES' })
  t.deepEqual(await fsp.readdir(outside), [], 'nothing was created outside the mirrored root')
})

test('hello: cat returns the greeting; every change fails with EROFS', async (t) => {
  const { p } = await mountFs(t, hello, { readOnly: true })
  t.deepEqual(await fsp.readdir(p()), ['hello.txt'])
  const cat = await run('cat', [p('hello.txt')])
  t.is(cat.code, 0, cat.stderr)
  t.is(cat.stdout, 'Hello from mountkit!\n')
  t.is(await fsp.readFile(p('hello.txt'), 'utf8'), cat.stdout)
  const s = await fsp.stat(p('hello.txt'))
  t.is(s.size, Buffer.byteLength(cat.stdout))
  t.is(s.mode & 0o777, 0o444)
  // Reading at an offset, as a child process does it.
  t.is(await py('f = open(sys.argv[1], "rb"); f.seek(6); out(f.read(4).decode())', [p('hello.txt')]), 'from')

  await t.throwsAsync(fsp.writeFile(p('hello.txt'), 'x'), { code: 'EROFS' })
  await t.throwsAsync(fsp.writeFile(p('new.txt'), 'x'), { code: 'EROFS' })
  await t.throwsAsync(fsp.mkdir(p('dir')), { code: 'EROFS' })
  await t.throwsAsync(fsp.unlink(p('hello.txt')), { code: 'EROFS' })
  await t.throwsAsync(fsp.chmod(p('hello.txt'), 0o644), { code: 'EROFS' })
  const touch = await run('touch', [p('hello.txt')])
  t.not(touch.code, 0)
  t.true(touch.stderr.includes('Read-only file system'), touch.stderr)
  await t.throwsAsync(fsp.stat(p('missing')), { code: 'ENOENT' })
})
