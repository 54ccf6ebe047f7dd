// The core POSIX operations against the memfs example, each driven by real system calls from
// node:fs/promises (libuv threads) and from child processes (coreutils, python).
import test from 'ava'
import { createHash, randomBytes } from 'node:crypto'
import * as fsp from 'node:fs/promises'
import { createMemfs } from '../examples/memfs'
import { override } from './helpers/fs'
import { mountFs } from './helpers/mount'
import { py, run, type Attempt } from './helpers/python'

const S_IFMT = 0o170000

test('getattr: stat reports kind, size, mode, nlink, uid, gid and times', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  const before = Date.now()
  await fsp.writeFile(p('hello'), 'hello', { mode: 0o640 })
  await fsp.mkdir(p('dir'), { mode: 0o750 })
  const after = Date.now()

  const file = await fsp.stat(p('hello'))
  t.true(file.isFile())
  t.is(file.size, 5)
  t.is(file.mode & 0o7777, 0o640 & ~process.umask())
  t.is(file.nlink, 1)
  t.is(file.uid, process.getuid!())
  t.is(file.gid, process.getgid!())
  // Times come from memfs's clock; allow for the kernel's rounding to whole nanoseconds.
  for (const time of [file.atimeMs, file.mtimeMs, file.ctimeMs]) {
    t.true(time >= before - 1 && time <= after + 1, `time ${time} outside [${before}, ${after}]`)
  }

  const dir = await fsp.stat(p('dir'))
  t.true(dir.isDirectory())
  t.is(dir.mode & 0o7777, 0o750 & ~process.umask())
  t.is(dir.nlink, 2)
  t.is((await fsp.stat(p())).nlink, 3, 'the root has ., .. and dir/..')

  // The same through stat(1) in a child process: size, octal mode, links, uid, gid, type.
  const { stdout } = await run('stat', ['-c', '%s %a %h %u %g %F', p('hello')])
  t.is(stdout.trim(), `5 ${(0o640 & ~process.umask()).toString(8)} 1 ${process.getuid!()} ${process.getgid!()} regular file`)

  await t.throwsAsync(fsp.stat(p('missing')), { code: 'ENOENT' })
  await t.throwsAsync(fsp.stat(p('hello', 'below')), { code: 'ENOTDIR' })
})

test('readdir: lists every name once, with . and .. exactly once, across many reply pages', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('a'), 'a')
  await fsp.writeFile(p('b'), 'b')
  await fsp.mkdir(p('sub'))
  await fsp.symlink('a', p('link'))

  t.deepEqual((await fsp.readdir(p())).sort(), ['a', 'b', 'link', 'sub'])
  const typed = await fsp.readdir(p(), { withFileTypes: true })
  const kinds = Object.fromEntries(
    typed.map((d) => [d.name, d.isFile() ? 'file' : d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : '?']),
  )
  t.deepEqual(kinds, { a: 'file', b: 'file', link: 'symlink', sub: 'dir' })

  const ls = await run('ls', ['-a1', p()])
  t.is(ls.code, 0, ls.stderr)
  t.deepEqual(ls.stdout.trim().split('\n'), ['.', '..', 'a', 'b', 'link', 'sub'])
  t.deepEqual(await fsp.readdir(p('sub')), [])
  await t.throwsAsync(fsp.readdir(p('a')), { code: 'ENOTDIR' })
  await t.throwsAsync(fsp.readdir(p('missing')), { code: 'ENOENT' })

  // Enough long names that the kernel needs several readdir replies (offsets) to list them.
  const names = Array.from({ length: 600 }, (_, i) => `entry-${String(i).padStart(4, '0')}-${'x'.repeat(40)}`)
  await fsp.mkdir(p('many'))
  for (const name of names) await fsp.writeFile(p('many', name), '')
  const listed = await py<string[]>('out(sorted(os.listdir(sys.argv[1])))', [p('many')])
  t.deepEqual(listed, names)
  const lsMany = await run('ls', ['-a1', p('many')])
  t.deepEqual(lsMany.stdout.trim().split('\n'), ['.', '..', ...names])
})

test('read and write at offsets, past the end, and in append mode', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  const fh = await fsp.open(p('f'), 'w+')
  try {
    t.is((await fh.write('hello world', 0)).bytesWritten, 11)
    t.is((await fh.write('WORLD', 6)).bytesWritten, 5)
    const middle = Buffer.alloc(5)
    t.is((await fh.read(middle, 0, 5, 6)).bytesRead, 5)
    t.is(middle.toString(), 'WORLD')
    const pastEnd = Buffer.alloc(10)
    t.is((await fh.read(pastEnd, 0, 10, 100)).bytesRead, 0, 'reading past the end returns no bytes')
    const tail = Buffer.alloc(10)
    t.is((await fh.read(tail, 0, 10, 8)).bytesRead, 3, 'a read across the end is short')
    t.is(tail.subarray(0, 3).toString(), 'RLD')
  } finally {
    await fh.close()
  }
  t.is(await fsp.readFile(p('f'), 'utf8'), 'hello WORLD')

  await fsp.writeFile(p('log'), 'abc')
  await fsp.appendFile(p('log'), 'def')
  const appender = await fsp.open(p('log'), 'a')
  try {
    // With O_APPEND, Linux ignores the position of pwrite: the data lands at the end.
    await appender.write('ghi', 0)
    await appender.write('jkl')
  } finally {
    await appender.close()
  }
  t.is(await fsp.readFile(p('log'), 'utf8'), 'abcdefghijkl')

  // Reading and writing through another process sees the same bytes.
  const viaPython = await py<string>(
    'f = open(sys.argv[1], "r+b"); f.seek(3); f.write(b"XYZ"); f.seek(0); out(f.read().decode()); f.close()',
    [p('log')],
  )
  t.is(viaPython, 'abcXYZghijkl')
  t.is((await run('cat', [p('log')])).stdout, 'abcXYZghijkl')
})

test('a write past the end leaves a zero-filled gap', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('sparse'), 'head')
  const fh = await fsp.open(p('sparse'), 'r+')
  try {
    await fh.write('tail', 1_000_000)
  } finally {
    await fh.close()
  }
  const bytes = await fsp.readFile(p('sparse'))
  t.is(bytes.length, 1_000_004)
  t.is(bytes.subarray(0, 4).toString(), 'head')
  t.is(bytes.subarray(1_000_000).toString(), 'tail')
  t.true(bytes.subarray(4, 1_000_000).every((b) => b === 0), 'the gap reads as zeros')
  t.is((await fsp.stat(p('sparse'))).size, 1_000_004)
})

test('a 5 MiB file round-trips byte for byte', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  const data = randomBytes(5 * 1024 * 1024)
  await fsp.writeFile(p('big.bin'), data)
  t.is((await fsp.stat(p('big.bin'))).size, data.length)
  const back = await fsp.readFile(p('big.bin'))
  t.is(back.length, data.length)
  t.true(back.equals(data), 'the bytes read back are the bytes written')
  // And through a child process, reading with its own buffer sizes.
  const sum = await run('sha256sum', [p('big.bin')])
  t.is(sum.stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'))
  // Copying it within the mount with cp(1) keeps it intact too.
  const cp = await run('cp', [p('big.bin'), p('copy.bin')])
  t.is(cp.code, 0, cp.stderr)
  t.true((await fsp.readFile(p('copy.bin'))).equals(data))
})

test('mknod creates a fifo', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  const made = await py<Attempt>('out(attempt(os.mknod, sys.argv[1], 0o644 | 0o010000))', [p('fifo')])
  t.deepEqual(made, { ok: null })
  const s = await fsp.lstat(p('fifo'))
  t.true(s.isFIFO())
  t.is(s.mode & S_IFMT, 0o010000)
  t.is((await run('stat', ['-c', '%F', p('fifo')])).stdout.trim(), 'fifo')
  t.deepEqual(await py('out(attempt(os.mkfifo, sys.argv[1]))', [p('fifo')]), { error: 'EEXIST' })
  t.deepEqual(await py('out(attempt(os.mkfifo, sys.argv[1]))', [p('missing', 'fifo')]), { error: 'ENOENT' })
})

test('mkdir and rmdir, with EEXIST, ENOTEMPTY, ENOTDIR and ENOENT', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.mkdir(p('d'))
  await t.throwsAsync(fsp.mkdir(p('d')), { code: 'EEXIST' })
  await fsp.mkdir(p('d', 'e'))
  await fsp.writeFile(p('f'), 'x')
  await t.throwsAsync(fsp.mkdir(p('f')), { code: 'EEXIST' })
  await t.throwsAsync(fsp.mkdir(p('f', 'x')), { code: 'ENOTDIR' })
  await t.throwsAsync(fsp.mkdir(p('nope', 'x')), { code: 'ENOENT' })
  await t.throwsAsync(fsp.rmdir(p('d')), { code: 'ENOTEMPTY' })
  await t.throwsAsync(fsp.rmdir(p('f')), { code: 'ENOTDIR' })
  await t.throwsAsync(fsp.rmdir(p('nope')), { code: 'ENOENT' })
  t.is((await fsp.stat(p('d'))).nlink, 3)
  await fsp.rmdir(p('d', 'e'))
  t.is((await fsp.stat(p('d'))).nlink, 2)
  await fsp.rmdir(p('d'))
  await t.throwsAsync(fsp.stat(p('d')), { code: 'ENOENT' })
  // mkdir -p and rmdir through coreutils.
  t.is((await run('mkdir', ['-p', p('x', 'y', 'z')])).code, 0)
  t.true((await fsp.stat(p('x', 'y', 'z'))).isDirectory())
  const rmdir = await run('rmdir', [p('x', 'y', 'z'), p('x', 'y'), p('x')])
  t.is(rmdir.code, 0, rmdir.stderr)
  await t.throwsAsync(fsp.stat(p('x')), { code: 'ENOENT' })
  t.deepEqual((await fsp.readdir(p())).sort(), ['f'])
})

test('unlink removes files; on a directory it is EISDIR', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('f'), 'x')
  await fsp.mkdir(p('d'))
  await fsp.unlink(p('f'))
  await t.throwsAsync(fsp.stat(p('f')), { code: 'ENOENT' })
  await t.throwsAsync(fsp.unlink(p('f')), { code: 'ENOENT' })
  // unlink(2) of a directory: Linux answers EISDIR (POSIX allows EPERM).
  await t.throwsAsync(fsp.unlink(p('d')), { code: 'EISDIR' })
  t.true((await fsp.stat(p('d'))).isDirectory())
  t.is((await run('rm', [p('d')])).code, 1, 'rm refuses a directory')
  t.deepEqual(await fsp.readdir(p()), ['d'])
})

test('rename: plain, over a file, over directories, RENAME_NOREPLACE and RENAME_EXCHANGE', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('a'), 'A')
  await fsp.rename(p('a'), p('b'))
  await t.throwsAsync(fsp.stat(p('a')), { code: 'ENOENT' })
  t.is(await fsp.readFile(p('b'), 'utf8'), 'A')

  // Over an existing file: the target is replaced.
  await fsp.writeFile(p('c'), 'C')
  await fsp.rename(p('c'), p('b'))
  t.is(await fsp.readFile(p('b'), 'utf8'), 'C')
  t.deepEqual((await fsp.readdir(p())).sort(), ['b'])

  // Directories: over an empty one succeeds, over a non-empty one is ENOTEMPTY.
  await fsp.mkdir(p('d1'))
  await fsp.writeFile(p('d1', 'inside'), '1')
  await fsp.mkdir(p('empty'))
  await fsp.rename(p('d1'), p('empty'))
  t.is(await fsp.readFile(p('empty', 'inside'), 'utf8'), '1')
  await fsp.mkdir(p('full'))
  await fsp.writeFile(p('full', 'x'), 'x')
  await t.throwsAsync(fsp.rename(p('empty'), p('full')), { code: 'ENOTEMPTY' })
  await t.throwsAsync(fsp.rename(p('b'), p('full')), { code: 'EISDIR' })
  await t.throwsAsync(fsp.rename(p('full'), p('b')), { code: 'ENOTDIR' })
  await t.throwsAsync(fsp.rename(p('full'), p('full', 'sub')), { code: 'EINVAL' })
  await t.throwsAsync(fsp.rename(p('missing'), p('z')), { code: 'ENOENT' })

  // Into another directory, with mv(1).
  const mv = await run('mv', [p('b'), p('full', 'moved')])
  t.is(mv.code, 0, mv.stderr)
  t.is(await fsp.readFile(p('full', 'moved'), 'utf8'), 'C')

  // renameat2 flags.
  await fsp.writeFile(p('one'), '1')
  await fsp.writeFile(p('two'), '2')
  t.deepEqual(await py('out(attempt(renameat2, sys.argv[1], sys.argv[2], RENAME_NOREPLACE))', [p('one'), p('two')]), {
    error: 'EEXIST',
  })
  t.is(await fsp.readFile(p('two'), 'utf8'), '2', 'RENAME_NOREPLACE left the target alone')
  t.deepEqual(await py('out(attempt(renameat2, sys.argv[1], sys.argv[2], RENAME_NOREPLACE))', [p('one'), p('three')]), {
    ok: null,
  })
  t.is(await fsp.readFile(p('three'), 'utf8'), '1')
  t.deepEqual(await py('out(attempt(renameat2, sys.argv[1], sys.argv[2], RENAME_EXCHANGE))', [p('two'), p('three')]), {
    ok: null,
  })
  t.is(await fsp.readFile(p('two'), 'utf8'), '1')
  t.is(await fsp.readFile(p('three'), 'utf8'), '2')
  // Exchange a file with a directory: both names stay, their objects swap.
  t.deepEqual(await py('out(attempt(renameat2, sys.argv[1], sys.argv[2], RENAME_EXCHANGE))', [p('two'), p('full')]), {
    ok: null,
  })
  t.true((await fsp.stat(p('two'))).isDirectory())
  t.is(await fsp.readFile(p('two', 'moved'), 'utf8'), 'C')
  t.is(await fsp.readFile(p('full'), 'utf8'), '1')
  t.deepEqual(await py('out(attempt(renameat2, sys.argv[1], sys.argv[2], RENAME_EXCHANGE))', [p('three'), p('nobody')]), {
    error: 'ENOENT',
  })
})

test('truncate grows with zeros and shrinks, by path and through an open handle', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('f'), 'hello world')
  await fsp.truncate(p('f'), 5)
  t.is(await fsp.readFile(p('f'), 'utf8'), 'hello')
  await fsp.truncate(p('f'), 8)
  t.deepEqual(await fsp.readFile(p('f')), Buffer.from('hello\0\0\0'))

  // truncate(1) from a child process.
  t.is((await run('truncate', ['-s', '3', p('f')])).code, 0)
  t.is(await fsp.readFile(p('f'), 'utf8'), 'hel')
  t.is((await run('truncate', ['-s', '+2', p('f')])).code, 0)
  t.is((await fsp.stat(p('f'))).size, 5)

  // ftruncate(2) on an open descriptor.
  const fh = await fsp.open(p('f'), 'r+')
  try {
    await fh.truncate(1)
    t.is((await fh.stat()).size, 1)
    await fh.truncate(4)
    const buf = Buffer.alloc(8)
    const { bytesRead } = await fh.read(buf, 0, 8, 0)
    t.deepEqual(buf.subarray(0, bytesRead), Buffer.from('h\0\0\0'))
  } finally {
    await fh.close()
  }
  t.is((await fsp.stat(p('f'))).size, 4)
  await fsp.mkdir(p('d'))
  await t.throwsAsync(fsp.truncate(p('d'), 0), { code: 'EISDIR' })
  await t.throwsAsync(fsp.truncate(p('missing'), 0), { code: 'ENOENT' })
})

test('chmod, chown and utimes change what stat reports', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('f'), 'x')

  await fsp.chmod(p('f'), 0o600)
  t.is((await fsp.stat(p('f'))).mode & 0o7777, 0o600)
  t.is((await run('chmod', ['u+x,g+s,o+r', p('f')])).code, 0)
  t.is((await fsp.stat(p('f'))).mode & 0o7777, 0o2704)

  // As root, chown to any uid/gid.
  await fsp.chown(p('f'), 1234, 5678)
  let s = await fsp.stat(p('f'))
  t.is(s.uid, 1234)
  t.is(s.gid, 5678)
  t.is((await run('chown', [':42', p('f')])).code, 0)
  s = await fsp.stat(p('f'))
  t.is(s.uid, 1234, 'a group-only chown leaves the owner')
  t.is(s.gid, 42)
  t.is((await run('stat', ['-c', '%u:%g', p('f')])).stdout.trim(), '1234:42')

  // utimes with explicit dates. Node passes them to utimensat(2) as float seconds, which
  // costs a little precision even on tmpfs (.017 arrives as .016999959), and handlers get
  // Dates, whole milliseconds: hence the 1 ms tolerance.
  const atime = new Date('2001-02-03T04:05:06.789Z')
  const mtime = new Date('2011-12-13T14:15:16.017Z')
  await fsp.utimes(p('f'), atime, mtime)
  s = await fsp.stat(p('f'))
  t.true(Math.abs(s.atimeMs - atime.getTime()) <= 1, `atime ${s.atimeMs} != ${atime.getTime()}`)
  t.true(Math.abs(s.mtimeMs - mtime.getTime()) <= 1, `mtime ${s.mtimeMs} != ${mtime.getTime()}`)

  // touch(1) with a date sets both; touch -m leaves atime alone.
  t.is((await run('touch', ['-d', '2010-01-01T00:00:00Z', p('f')])).code, 0)
  s = await fsp.stat(p('f'))
  t.is(s.mtimeMs, Date.UTC(2010, 0, 1))
  t.is(s.atimeMs, Date.UTC(2010, 0, 1))
  t.is((await run('touch', ['-m', '-d', '2020-06-01T12:00:00Z', p('f')])).code, 0)
  s = await fsp.stat(p('f'))
  t.is(s.mtimeMs, Date.UTC(2020, 5, 1, 12))
  t.is(s.atimeMs, Date.UTC(2010, 0, 1))

  // Plain touch: "now" (UTIME_NOW) for both.
  const before = Date.now()
  t.is((await run('touch', [p('f')])).code, 0)
  s = await fsp.stat(p('f'))
  t.true(s.mtimeMs >= before - 1000 && s.mtimeMs <= Date.now() + 1000, `mtime ${s.mtime.toISOString()} is not now`)
  // touch also creates.
  t.is((await run('touch', [p('new')])).code, 0)
  t.is((await fsp.stat(p('new'))).size, 0)
})

test('times at the API resolution (whole milliseconds) survive a round trip exactly', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('f'), 'x')
  // Set in nanoseconds with utimensat(2) from python, read back in nanoseconds (as strings:
  // they do not fit a double). Handlers see Dates, so sub-millisecond digits cannot survive,
  // but whole milliseconds must, to the nanosecond, as on any filesystem.
  const exact = await py<string[]>(
    [
      'os.utime(sys.argv[1], ns=(981173106789000000, 1323785716017000000))',
      'st = os.stat(sys.argv[1])',
      'out([str(st.st_atime_ns), str(st.st_mtime_ns)])',
    ].join('\n'),
    [p('f')],
  )
  t.deepEqual(exact, ['981173106789000000', '1323785716017000000'])
  const s = await fsp.stat(p('f'), { bigint: true })
  t.is(s.mtimeNs, 1323785716017000000n)
})

test('symlink and readlink; readlink of a non-symlink is EINVAL', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('target'), 'pointed at')
  await fsp.symlink('target', p('rel'))
  await fsp.symlink('/nonexistent/absolute/path', p('dangling'))
  t.is(await fsp.readlink(p('rel')), 'target')
  t.is(await fsp.readlink(p('dangling')), '/nonexistent/absolute/path')
  const l = await fsp.lstat(p('rel'))
  t.true(l.isSymbolicLink())
  t.is(l.size, 'target'.length)
  t.is(await fsp.readFile(p('rel'), 'utf8'), 'pointed at', 'the kernel follows the link')
  await t.throwsAsync(fsp.stat(p('dangling')), { code: 'ENOENT' })
  await t.throwsAsync(fsp.readlink(p('target')), { code: 'EINVAL' })
  await t.throwsAsync(fsp.readlink(p('missing')), { code: 'ENOENT' })
  await t.throwsAsync(fsp.symlink('x', p('target')), { code: 'EEXIST' })

  // ln -s and readlink(1) from a child process, including a link inside a directory.
  await fsp.mkdir(p('d'))
  t.is((await run('ln', ['-s', '../target', p('d', 'up')])).code, 0)
  t.is((await run('readlink', [p('d', 'up')])).stdout.trim(), '../target')
  t.is((await run('cat', [p('d', 'up')])).stdout, 'pointed at')
})

test('hard links share the inode and survive unlink of the original', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('orig'), 'shared')
  await fsp.link(p('orig'), p('alias'))
  const [a, b] = await Promise.all([fsp.stat(p('orig')), fsp.stat(p('alias'))])
  t.is(a.ino, b.ino)
  t.is(a.nlink, 2)
  t.is(b.nlink, 2)
  // A write through one name is seen through the other.
  await fsp.appendFile(p('alias'), '!')
  t.is(await fsp.readFile(p('orig'), 'utf8'), 'shared!')

  t.is((await run('ln', [p('orig'), p('third')])).code, 0)
  t.is((await fsp.stat(p('third'))).nlink, 3)
  await fsp.unlink(p('orig'))
  await fsp.unlink(p('third'))
  const left = await fsp.stat(p('alias'))
  t.is(left.nlink, 1)
  t.is(left.ino, a.ino)
  t.is(await fsp.readFile(p('alias'), 'utf8'), 'shared!')

  await fsp.mkdir(p('d'))
  await t.throwsAsync(fsp.link(p('d'), p('dlink')), { code: 'EPERM' })
  await t.throwsAsync(fsp.link(p('missing'), p('x')), { code: 'ENOENT' })
  await t.throwsAsync(fsp.link(p('alias'), p('d')), { code: 'EEXIST' })
})

test('an unlinked file stays usable through its open descriptor', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('doomed'), 'data')
  const fh = await fsp.open(p('doomed'), 'r+')
  try {
    await fsp.unlink(p('doomed'))
    await t.throwsAsync(fsp.stat(p('doomed')), { code: 'ENOENT' })
    t.deepEqual(await fsp.readdir(p()), [])

    const buf = Buffer.alloc(4)
    await fh.read(buf, 0, 4, 0)
    t.is(buf.toString(), 'data')
    await fh.write('++more', 4)
    const s = await fh.stat()
    t.is(s.size, 10)
    t.is(s.nlink, 0)
    const all = Buffer.alloc(10)
    await fh.read(all, 0, 10, 0)
    t.is(all.toString(), 'data++more')
    await fh.truncate(2)
    t.is((await fh.stat()).size, 2)
  } finally {
    await fh.close()
  }
  // The name is free for a new, unrelated file.
  await fsp.writeFile(p('doomed'), 'new')
  t.is(await fsp.readFile(p('doomed'), 'utf8'), 'new')

  // The same from a child process holding its own descriptor.
  const result = await py(
    [
      'fd = os.open(sys.argv[1], os.O_RDWR)',
      'os.unlink(sys.argv[1])',
      'os.pwrite(fd, b"XY", 3)',
      'st = os.fstat(fd)',
      'out({"data": os.pread(fd, 100, 0).decode(), "size": st.st_size, "nlink": st.st_nlink, "exists": os.path.exists(sys.argv[1])})',
      'os.close(fd)',
    ].join('\n'),
    [p('doomed')],
  )
  t.deepEqual(result, { data: 'newXY', size: 5, nlink: 0, exists: false })
})

test('create answered with the new file\'s stat spares the getattr; without one, getattr is asked', async (t) => {
  for (const withStat of [true, false]) {
    const memfs = createMemfs()
    const asked: string[] = []
    const fs = override(memfs, {
      getattr(path, handle, ctx) {
        asked.push(path)
        return memfs.getattr!(path, handle, ctx)
      },
      create(path, mode, flags, ctx) {
        const opened = memfs.create!(path, mode, flags, ctx)
        if (withStat) return opened
        return typeof opened === 'object' && opened !== null ? { ...opened, stat: undefined } : opened
      },
    })
    const { p } = await mountFs(t, fs)
    const handle = await fsp.open(p('new'), 'wx', 0o600)
    try {
      const stat = await handle.stat()
      t.true(stat.isFile())
      t.is(stat.size, 0)
      t.is(stat.mode & 0o777, 0o600)
    } finally {
      await handle.close()
    }
    // One getattr of /new is the lookup that found it missing; the second would be the
    // backend asking for the attributes of the file just made.
    t.is(asked.filter((path) => path === '/new').length, withStat ? 1 : 2, `withStat ${withStat}: ${asked.join(' ')}`)
  }
})
