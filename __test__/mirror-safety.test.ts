// The mirror example never reads or writes outside its root: not for paths with `..` (which the
// kernel never sends, so the handlers are called directly), not through symlinks (absolute
// targets are data, never followed by the mirror), and not while another process swaps a
// directory of the source for a symlink to somewhere else.
import test, { type ExecutionContext } from 'ava'
import { constants } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { FsError, type FileSystem, type RequestContext } from '../index'
import { createMirror } from '../examples/mirror'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { py, spawnChild } from './helpers/python'

const ctx: RequestContext = { uid: 0, gid: 0, pid: process.pid }

/** A temp directory removed after the test (after any mount's own teardown). */
async function scratch(t: ExecutionContext): Promise<string> {
  const dir = await tempDir()
  t.teardown(() => removeTempDir(dir))
  return dir
}

/** Every path below `dir`, relative, sorted; symlinks are listed, not followed. */
async function tree(dir: string): Promise<string[]> {
  const found: string[] = []
  async function walk(at: string, rel: string): Promise<void> {
    for (const entry of await fsp.readdir(at, { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`
      found.push(path)
      if (entry.isDirectory()) await walk(join(at, entry.name), path)
    }
  }
  await walk(dir, '')
  return found.sort()
}

/** The errno code a handler call fails with, or 'ok'. */
async function outcome(call: () => unknown): Promise<string> {
  try {
    await call()
    return 'ok'
  } catch (error) {
    if (error instanceof FsError || typeof (error as NodeJS.ErrnoException).code === 'string') {
      return String((error as NodeJS.ErrnoException).code)
    }
    throw error
  }
}

test('mirror: a swapped directory never leads a write outside the root while the swap races the writes', async (t) => {
  t.timeout(60_000)
  const base = await scratch(t)
  const source = join(base, 'source')
  const outside = join(base, 'outside')
  await fsp.mkdir(join(source, 'd'), { recursive: true })
  await fsp.mkdir(outside)
  await fsp.symlink(outside, join(source, 'swap'))
  // Attributes cached long: the kernel keeps `d` as the directory it looked up, and sends the
  // writers' requests for names inside it whatever `d` has become in the source since. Names
  // are looked up afresh every time.
  const { p } = await mountFs(t, createMirror(source), { entryTimeoutMs: 0, attrTimeoutMs: 60_000 })

  const SECONDS = 4
  // Swapper: exchanges the directory `d` and the symlink `swap` (to `outside`) as fast as it
  // can, and ends with the directory back at `d`.
  const swapper = py<{ swaps: number }>(
    [
      'import time',
      'src = sys.argv[1]',
      'end = time.monotonic() + float(sys.argv[2])',
      'swaps = 0',
      'while time.monotonic() < end:',
      '    renameat2(os.path.join(src, "d"), os.path.join(src, "swap"), RENAME_EXCHANGE)',
      '    swaps += 1',
      'if swaps % 2 == 1:',
      '    renameat2(os.path.join(src, "d"), os.path.join(src, "swap"), RENAME_EXCHANGE)',
      'out({"swaps": swaps})',
    ].join('\n'),
    [source, SECONDS],
  )
  // Writers: hold the mounted `d` open as a directory and create, write, rename and remove
  // names (files, directories, symlinks, FIFOs) in it through that descriptor (so the callers'
  // own kernels never follow the symlink: every request reaches the mirror as /d/<name>). Once
  // the kernel has seen `d` turn into a symlink it fails everything on the old directory with
  // EIO, so then they open `d` again (O_NOFOLLOW: never the symlink).
  const writer = (who: number) =>
    py<Record<string, number>>(
      [
        'import errno, time',
        'd, who, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])',
        'dfd = None',
        'seen = {}',
        'def note(what, f, *args, **kw):',
        '    r = attempt(f, *args, **kw)',
        '    key = what + ":" + ("ok" if "ok" in r else r["error"])',
        '    seen[key] = seen.get(key, 0) + 1',
        '    return r.get("error")',
        'def create(name):',
        '    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dfd)',
        '    os.write(fd, b"escape?")',
        '    os.close(fd)',
        'end = time.monotonic() + seconds',
        'i = 0',
        'while time.monotonic() < end:',
        '    if dfd is None:',
        '        try:',
        '            dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)',
        '        except OSError as e:',
        '            seen["reopen:" + errname(e)] = seen.get("reopen:" + errname(e), 0) + 1',
        '            continue',
        '    name = "w%d-%d" % (who, i)',
        '    i += 1',
        '    results = [',
        '        note("create", create, name),',
        '        note("mkdir", os.mkdir, name + ".d", dir_fd=dfd),',
        '        note("symlink", os.symlink, "/etc/passwd", name + ".l", dir_fd=dfd),',
        '        note("mkfifo", os.mkfifo, name + ".f", dir_fd=dfd),',
        '        note("rename", os.rename, name, name + ".r", src_dir_fd=dfd, dst_dir_fd=dfd),',
        '        note("stat", os.stat, name + ".r", dir_fd=dfd, follow_symlinks=False),',
        '        note("unlink", os.unlink, name + ".l", dir_fd=dfd),',
        '    ]',
        '    if "EIO" in results:',
        '        os.close(dfd)',
        '        dfd = None',
        'out(seen)',
      ].join('\n'),
      [p('d'), who, SECONDS],
    )
  const [swapped, ...writers] = await Promise.all([swapper, writer(0), writer(1), writer(2)])
  t.log(`swaps: ${swapped.swaps}; writers: ${JSON.stringify(writers)}`)

  t.deepEqual(await tree(outside), [], 'nothing was ever created outside the mirrored root')
  // The race was real: writes both succeeded (d was the directory) and were refused (d was the
  // symlink) during the run.
  t.true(swapped.swaps > 100, `only ${swapped.swaps} swaps`)
  const total = (suffix: string) =>
    writers.reduce((sum, w) => sum + Object.entries(w).filter(([k]) => k.startsWith('create:') && k.endsWith(suffix)).reduce((s, [, n]) => s + n, 0), 0)
  t.true(total(':ok') > 0, 'some creates went through while d was the directory')
  t.true(writers.some((w) => Object.keys(w).some((k) => k.startsWith('create:') && !k.endsWith(':ok'))), 'some creates were refused while d was the symlink')
  // What was created is in the real directory, which is back at source/d.
  t.true((await fsp.lstat(join(source, 'd'))).isDirectory())
  t.true((await fsp.lstat(join(source, 'swap'))).isSymbolicLink())
  t.true((await fsp.readdir(join(source, 'd'))).some((name) => name.startsWith('w')), 'the accepted writes are in the source')
})

/** A source directory next to an `outside` directory with a secret, and links from one to the other. */
async function sourceWithOutside(t: ExecutionContext) {
  const base = await scratch(t)
  const source = join(base, 'source')
  const outside = join(base, 'outside')
  await fsp.mkdir(join(source, 'a', 'b'), { recursive: true })
  await fsp.writeFile(join(source, 'a', 'file'), 'inside')
  await fsp.mkdir(join(outside, 'sub'), { recursive: true })
  await fsp.writeFile(join(outside, 'secret'), 'outside')
  await fsp.chmod(join(outside, 'secret'), 0o600)
  // An absolute and a relative symlink to `outside`, at the root and one level down.
  await fsp.symlink(outside, join(source, 'abs'))
  await fsp.symlink('../outside', join(source, 'rel'))
  await fsp.symlink('../../outside', join(source, 'a', 'rel'))
  return { base, source, outside }
}

/** Everything about `dir`'s tree that a write could change: names, kinds, modes, owners, contents. */
async function snapshot(dir: string): Promise<string[]> {
  const lines: string[] = []
  for (const rel of await tree(dir)) {
    const path = join(dir, rel)
    const s = await fsp.lstat(path)
    const content = s.isFile() ? await fsp.readFile(path, 'utf8') : s.isSymbolicLink() ? await fsp.readlink(path) : ''
    lines.push(`${rel} ${s.mode.toString(8)} ${s.uid}:${s.gid} ${s.size} ${s.mtimeMs} ${content}`)
  }
  return lines
}

test("mirror handlers called directly with '..' or NUL in a path refuse them (EACCES, EINVAL)", async (t) => {
  const { source, base, outside } = await sourceWithOutside(t)
  const fs = createMirror(source)
  const before = await snapshot(base)
  const escapes = ['/..', '/../outside', '/../outside/secret', '/a/../../outside/secret', '/a/b/../../../outside', '/./../x', '/a/..']
  const seen: Record<string, string[]> = {}
  for (const path of escapes) {
    seen[path] = [
      await outcome(() => fs.getattr!(path, undefined, ctx)),
      await outcome(() => fs.readdir!(path, 0, ctx)),
      await outcome(() => fs.open!(path, 0, ctx)),
      await outcome(() => fs.create!(path, 0o644, 0o100 | 0o1, ctx)),
      await outcome(() => fs.mkdir!(path, 0o755, ctx)),
      await outcome(() => fs.mknod!(path, constants.S_IFIFO | 0o644, 0, ctx)),
      await outcome(() => fs.rmdir!(path, ctx)),
      await outcome(() => fs.unlink!(path, ctx)),
      await outcome(() => fs.rename!('/a/file', path, 0, ctx)),
      await outcome(() => fs.rename!(path, '/stolen', 0, ctx)),
      await outcome(() => fs.symlink!('/etc/passwd', path, ctx)),
      await outcome(() => fs.readlink!(path, ctx)),
      await outcome(() => fs.link!(path, '/stolen', ctx)),
      await outcome(() => fs.link!('/a/file', path, ctx)),
      await outcome(() => fs.truncate!(path, 0, undefined, ctx)),
      await outcome(() => fs.chmod!(path, 0o777, ctx)),
      await outcome(() => fs.chown!(path, 12345, 12345, ctx)),
      await outcome(() => fs.utimens!(path, new Date(0), new Date(0), ctx)),
      await outcome(() => fs.fsyncdir!(path, 0, false, ctx)),
    ]
  }
  const expected = Object.fromEntries(escapes.map((path) => [path, Array(19).fill('EACCES')]))
  t.deepEqual(seen, expected)
  // NUL can never be part of a name.
  for (const path of ['/a\0/file', '/a/fi\0le', '/\0']) {
    t.is(await outcome(() => fs.getattr!(path, undefined, ctx)), 'EINVAL', JSON.stringify(path))
    t.is(await outcome(() => fs.create!(path, 0o644, 0o101, ctx)), 'EINVAL', JSON.stringify(path))
    t.is(await outcome(() => fs.unlink!(path, ctx)), 'EINVAL', JSON.stringify(path))
  }
  t.deepEqual(await snapshot(base), before, 'nothing inside or outside the root changed')
  t.is(await fsp.readFile(join(outside, 'secret'), 'utf8'), 'outside')
})

test('mirror handlers refuse to create, remove or rename the root itself (EBUSY)', async (t) => {
  const base = await scratch(t)
  const source = join(base, 'source')
  await fsp.mkdir(source)
  const fs = createMirror(source)
  // With an empty root, rmdir('/') would remove the mirrored directory from its parent.
  t.is(await outcome(() => fs.rmdir!('/', ctx)), 'EBUSY')
  t.is(await outcome(() => fs.unlink!('/', ctx)), 'EBUSY')
  t.is(await outcome(() => fs.mkdir!('/', 0o755, ctx)), 'EBUSY')
  t.is(await outcome(() => fs.mknod!('/', constants.S_IFIFO | 0o644, 0, ctx)), 'EBUSY')
  t.is(await outcome(() => fs.create!('/', 0o644, 0o101, ctx)), 'EBUSY')
  t.is(await outcome(() => fs.symlink!('x', '/', ctx)), 'EBUSY')
  await fsp.mkdir(join(source, 'empty'))
  t.is(await outcome(() => fs.rename!('/empty', '/', 0, ctx)), 'EBUSY')
  t.is(await outcome(() => fs.rename!('/', '/empty/moved', 0, ctx)), 'EBUSY')
  t.is(await outcome(() => fs.link!('/', '/hard', ctx)), 'EBUSY')
  await fsp.rmdir(join(source, 'empty'))
  t.deepEqual(await fsp.readdir(base), ['source'])
  t.deepEqual(await fsp.readdir(source), [])
  // The root itself may still be stat-ed, listed and changed.
  t.is(await outcome(() => fs.getattr!('/', undefined, ctx)), 'ok')
  t.deepEqual(await fs.readdir!('/', 0, ctx), [])
  t.is(await outcome(() => fs.chmod!('/', 0o750, ctx)), 'ok')
  t.is((await fsp.stat(source)).mode & 0o777, 0o750)
})

test('mirror handlers never follow a symlink, absolute or relative, in any component of a path', async (t) => {
  const { source, base, outside } = await sourceWithOutside(t)
  const fs = createMirror(source)
  const before = await snapshot(outside)
  const seen: Record<string, string> = {}
  for (const link of ['/abs', '/rel', '/a/rel']) {
    // Through the link as a directory.
    const through = {
      getattr: () => fs.getattr!(`${link}/secret`, undefined, ctx),
      readdirSub: () => fs.readdir!(`${link}/sub`, 0, ctx),
      open: () => fs.open!(`${link}/secret`, 0, ctx),
      create: () => fs.create!(`${link}/new`, 0o644, 0o101, ctx),
      mkdir: () => fs.mkdir!(`${link}/newdir`, 0o755, ctx),
      mknod: () => fs.mknod!(`${link}/fifo`, constants.S_IFIFO | 0o644, 0, ctx),
      unlink: () => fs.unlink!(`${link}/secret`, ctx),
      rmdir: () => fs.rmdir!(`${link}/sub`, ctx),
      renameIn: () => fs.rename!('/a/file', `${link}/moved`, 0, ctx),
      renameOut: () => fs.rename!(`${link}/secret`, '/stolen', 0, ctx),
      symlink: () => fs.symlink!('x', `${link}/l`, ctx),
      linkOut: () => fs.link!(`${link}/secret`, '/stolen', ctx),
      linkIn: () => fs.link!('/a/file', `${link}/hard`, ctx),
      truncate: () => fs.truncate!(`${link}/secret`, 0, undefined, ctx),
      chmod: () => fs.chmod!(`${link}/secret`, 0o666, ctx),
      chown: () => fs.chown!(`${link}/secret`, 12345, 12345, ctx),
      utimens: () => fs.utimens!(`${link}/secret`, new Date(0), new Date(0), ctx),
      readlink: () => fs.readlink!(`${link}/secret`, ctx),
      fsyncdir: () => fs.fsyncdir!(`${link}/sub`, 0, false, ctx),
    }
    for (const [name, call] of Object.entries(through)) seen[`${link}/… ${name}`] = await outcome(call)
    // The link itself as the last component: never opened, listed or changed as its target.
    seen[`${link} readdir`] = await outcome(() => fs.readdir!(link, 0, ctx))
    seen[`${link} open`] = await outcome(() => fs.open!(link, 0, ctx))
    seen[`${link} open for writing`] = await outcome(() => fs.open!(link, 0o1001, ctx))
    seen[`${link} truncate`] = await outcome(() => fs.truncate!(link, 0, undefined, ctx))
    seen[`${link} chmod`] = await outcome(() => fs.chmod!(link, 0o777, ctx))
    seen[`${link} fsyncdir`] = await outcome(() => fs.fsyncdir!(link, 0, false, ctx))
    seen[`${link} mkdir`] = await outcome(() => fs.mkdir!(link, 0o755, ctx))
    seen[`${link} create`] = await outcome(() => fs.create!(link, 0o644, 0o301, ctx))
    seen[`${link} mknod`] = await outcome(() => fs.mknod!(link, constants.S_IFIFO | 0o644, 0, ctx))
  }
  const expected: Record<string, string> = {}
  for (const link of ['/abs', '/rel', '/a/rel']) {
    for (const name of Object.keys(seen).filter((k) => k.startsWith(`${link}/… `))) expected[name] = 'EACCES'
    Object.assign(expected, {
      [`${link} readdir`]: 'ENOTDIR',
      [`${link} open`]: 'ELOOP',
      [`${link} open for writing`]: 'ELOOP',
      [`${link} truncate`]: 'ELOOP',
      [`${link} chmod`]: 'EOPNOTSUPP',
      [`${link} fsyncdir`]: 'ENOTDIR',
      [`${link} mkdir`]: 'EEXIST',
      [`${link} create`]: 'EEXIST',
      [`${link} mknod`]: 'EEXIST',
    })
  }
  t.deepEqual(seen, expected)
  // Operations on the link itself act on the link, inside the root: readlink gives the target
  // verbatim, lstat describes the link, chown and utimens change the link.
  t.is(await fs.readlink!('/abs', ctx), outside)
  t.is(await fs.readlink!('/a/rel', ctx), '../../outside')
  t.is((await fs.getattr!('/abs', undefined, ctx)).kind, 'symlink')
  await fs.chown!('/abs', 4321, 4321, ctx)
  await fs.utimens!('/abs', new Date(1000), new Date(2000), ctx)
  const link = await fsp.lstat(join(source, 'abs'))
  t.is(link.uid, 4321)
  t.is(link.mtimeMs, 2000)
  t.deepEqual(await snapshot(outside), before, 'nothing outside the root changed')
  t.deepEqual((await fsp.readdir(base)).sort(), ['outside', 'source'])
})

test('through the mount, symlink targets are for the caller to follow; the mirror stores and returns them verbatim', async (t) => {
  const { source, outside } = await sourceWithOutside(t)
  const before = await snapshot(outside)
  // Every path a handler is asked about.
  const asked: string[] = []
  const mirror = createMirror(source)
  const recorded = Object.fromEntries(
    Object.entries(mirror).map(([name, handler]) => [
      name,
      (...args: unknown[]) => {
        for (const arg of args) if (typeof arg === 'string' && arg.startsWith('/')) asked.push(arg)
        return (handler as (...a: unknown[]) => unknown)(...args)
      },
    ]),
  ) as FileSystem
  const { p } = await mountFs(t, recorded)
  // Made through the mount: stored in the source exactly as given.
  await fsp.symlink('/etc/passwd', p('made-abs'))
  await fsp.symlink('../../x/y', p('a', 'made-rel'))
  t.is(await fsp.readlink(join(source, 'made-abs')), '/etc/passwd')
  t.is(await fsp.readlink(join(source, 'a', 'made-rel')), '../../x/y')
  t.is(await fsp.readlink(p('abs')), outside)
  t.is(await fsp.readlink(p('a', 'rel')), '../../outside')
  // A relative link is resolved by the caller's kernel from where the link sits in the mount,
  // not from where it sits in the source: <mount>/rel is <mount>/../outside, which does not
  // exist next to the mount point, so writes there fail instead of reaching `outside`.
  await t.throwsAsync(fsp.writeFile(p('rel', 'planted'), 'x'), { code: 'ENOENT' })
  await t.throwsAsync(fsp.mkdir(p('a', 'rel', 'planted')), { code: 'ENOENT' })
  await t.throwsAsync(fsp.readFile(p('rel', 'secret')), { code: 'ENOENT' })
  // Opening a link with O_NOFOLLOW through the mount is refused as on any filesystem.
  t.deepEqual(await py('out(attempt(os.open, sys.argv[1], os.O_WRONLY | os.O_NOFOLLOW))', [p('abs')]), { error: 'ELOOP' })
  t.deepEqual(await snapshot(outside), before, 'nothing outside the root changed')
  // An absolute link is resolved by the caller's kernel on the host, exactly as the same link
  // in the source directory is: a write through <mount>/abs/ is the caller's own write to
  // `outside`, with the caller's own permissions, and never a request to the mirror.
  await fsp.writeFile(p('abs', 'callers-own'), 'x')
  t.is(await fsp.readFile(join(outside, 'callers-own'), 'utf8'), 'x')
  t.deepEqual(
    asked.filter((path) => path.startsWith('/abs/') || path.startsWith('/rel/') || path.startsWith('/a/rel/')),
    [],
    'no request ever named a path through a link',
  )
})
