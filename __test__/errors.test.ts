// Faults: how handler errors, missing handlers, malformed results and self-deadlocks reach the
// caller (as errno values) and the mount's 'error' event, and that the mount keeps serving.
import test from 'ava'
import { statSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { FsError, type FileSystem, type HandlerError, type Stat } from '../index'
import { createMemfs } from '../examples/memfs'
import { errnoName, override } from './helpers/fs'
import { mountFs } from './helpers/mount'
import { py, run } from './helpers/python'

const dir: Stat = { kind: 'directory', mode: 0o755 }
const file: Stat = { kind: 'file', mode: 0o644, size: 0 }

/** A filesystem whose root holds `/ok` and whose other getattrs are decided by `special`. */
function withRoot(special: (path: string) => unknown, extra: FileSystem = {}): FileSystem {
  return {
    getattr(path) {
      if (path === '/') return dir
      if (path === '/ok') return file
      return special(path) as Stat
    },
    readdir() {
      return [{ name: 'ok', kind: 'file' }]
    },
    ...extra,
  }
}

test('a synchronous fs call from the serving thread fails with EDEADLK instead of hanging', async (t) => {
  const { p, waitForError } = await mountFs(t, createMemfs())
  const error = t.throws(() => statSync(p('x')))
  // libuv has no name for EDEADLK, so Node's `code` is "Unknown system error -35"; the errno
  // number is exact.
  t.is(errnoName(error), 'EDEADLK', `got ${String(error)}`)
  // The first request the kernel sends for a path lookup on a fresh mount is the root's
  // getattr (for the permission check on the directory being searched), so that is the one
  // refused.
  const fault = await waitForError((e) => e.errno === 'EDEADLK')
  t.is(fault.operation, 'getattr')
  t.is(fault.path, '/')
  t.regex(fault.message, /synchronous/)
  // The mount keeps serving asynchronous callers.
  await fsp.writeFile(p('x'), 'fine')
  t.is(await fsp.readFile(p('x'), 'utf8'), 'fine')
})

test('a missing handler means ENOSYS (translated by the kernel where it has a fallback)', async (t) => {
  const fs: FileSystem = {
    getattr(path) {
      if (path === '/') return dir
      if (path === '/file') return { kind: 'file', size: 3 }
      throw new FsError('ENOENT')
    },
    readdir() {
      return [{ name: 'file', kind: 'file' }]
    },
  }
  const { p, errors } = await mountFs(t, fs)
  t.deepEqual(await fsp.readdir(p()), ['file'])
  t.is((await fsp.stat(p('file'))).size, 3)
  await t.throwsAsync(fsp.mkdir(p('d')), { code: 'ENOSYS' })
  await t.throwsAsync(fsp.unlink(p('file')), { code: 'ENOSYS' })
  await t.throwsAsync(fsp.rename(p('file'), p('other')), { code: 'ENOSYS' })
  await t.throwsAsync(fsp.symlink('x', p('link')), { code: 'ENOSYS' })
  await t.throwsAsync(fsp.chmod(p('file'), 0o600), { code: 'ENOSYS' })
  // Opening needs no handler (handle 0), but reading does.
  await t.throwsAsync(fsp.readFile(p('file')), { code: 'ENOSYS' })
  // The kernel turns ENOSYS from setxattr/getxattr into EOPNOTSUPP ("not supported") and
  // stops asking; from create it falls back to mknod, which is missing as well.
  t.deepEqual(await py('out(attempt(os.setxattr, sys.argv[1], "user.a", b"1"))', [p('file')]), { error: 'ENOTSUP' })
  t.deepEqual(await py('out(attempt(os.getxattr, sys.argv[1], "user.a"))', [p('file')]), { error: 'ENOTSUP' })
  await t.throwsAsync(fsp.writeFile(p('new'), 'x'), { code: 'ENOSYS' })
  t.deepEqual(errors, [], 'a missing handler is no fault')
})

test('FsError and errors with a POSIX code fail the request with that code', async (t) => {
  const codeError = (code: string) => Object.assign(new Error(`custom ${code}`), { code })
  const fs = withRoot((path) => {
    switch (path) {
      case '/fserror':
        throw new FsError('EACCES')
      case '/coded':
        throw codeError('ELOOP')
      case '/async-fserror':
        return Promise.reject(new FsError('ENAMETOOLONG'))
      case '/async-coded':
        return Promise.reject(codeError('EPERM'))
      case '/node-error':
        // A Node fs error passes straight through, with its own code.
        return fsp.stat('/nonexistent/mountkit-test').then(() => file)
      case '/plain-object':
        throw { code: 'EROFS' }
      default:
        throw new FsError('ENOENT')
    }
  })
  const { p, errors } = await mountFs(t, fs)
  await t.throwsAsync(fsp.stat(p('fserror')), { code: 'EACCES' })
  await t.throwsAsync(fsp.stat(p('coded')), { code: 'ELOOP' })
  await t.throwsAsync(fsp.stat(p('async-fserror')), { code: 'ENAMETOOLONG' })
  await t.throwsAsync(fsp.stat(p('async-coded')), { code: 'EPERM' })
  await t.throwsAsync(fsp.stat(p('node-error')), { code: 'ENOENT' })
  await t.throwsAsync(fsp.stat(p('plain-object')), { code: 'EROFS' })
  await t.throwsAsync(fsp.stat(p('missing')), { code: 'ENOENT' })
  t.deepEqual(errors, [], 'an error with a POSIX code is an answer, not a fault')
})

test('a plain Error (thrown or rejected) gives EIO and an error event naming operation and path', async (t) => {
  const fs = withRoot(
    (path) => {
      if (path === '/sync-throw') throw new Error('sync boom')
      if (path === '/async-throw') return Promise.reject(new Error('async boom'))
      if (path === '/unknown-code') throw Object.assign(new Error('odd'), { code: 'ENOTAREALCODE' })
      if (path === '/string') throw 'a thrown string'
      if (path === '/dir') return dir
      throw new FsError('ENOENT')
    },
    {
      async mkdir() {
        throw new TypeError('mkdir went wrong')
      },
    },
  )
  const { p, waitForError, errors } = await mountFs(t, fs)

  await t.throwsAsync(fsp.stat(p('sync-throw')), { code: 'EIO' })
  await t.throwsAsync(fsp.stat(p('async-throw')), { code: 'EIO' })
  await t.throwsAsync(fsp.stat(p('unknown-code')), { code: 'EIO' })
  await t.throwsAsync(fsp.stat(p('string')), { code: 'EIO' })
  await t.throwsAsync(fsp.mkdir(p('dir', 'sub')), { code: 'EIO' })

  const check = async (path: string, operation: string, text: string) => {
    const e: HandlerError = await waitForError((x) => x.path === path)
    t.true(e instanceof Error)
    t.is(e.name, 'HandlerError')
    t.is(e.operation, operation)
    t.is(e.path, path)
    t.is(e.errno, 'EIO')
    t.true(e.message.includes(text), e.message)
  }
  await check('/sync-throw', 'getattr', 'sync boom')
  await check('/async-throw', 'getattr', 'async boom')
  await check('/unknown-code', 'getattr', 'odd')
  await check('/string', 'getattr', 'a thrown string')
  await check('/dir/sub', 'mkdir', 'mkdir went wrong')
  t.is(errors.length, 5)
  // Still serving.
  t.true((await fsp.stat(p('ok'))).isFile())
})

test('invalid handler results give EIO and an error event; the mount keeps serving', async (t) => {
  const fs = withRoot(
    (path) => {
      switch (path) {
        case '/negative-size':
          return { kind: 'file', size: -1 }
        case '/nan-date':
          return { kind: 'file', mtime: new Date(Number.NaN) }
        case '/unknown-kind':
          return { kind: 'hologram' }
        case '/inherited-kind':
          // A name every object inherits, not a kind.
          return { kind: 'toString' }
        case '/not-an-object':
          return 42
        case '/mode-with-type':
          return { kind: 'file', mode: 0o100644 }
        case '/long-read':
          // Not empty: the kernel reads nothing of a file it believes is empty.
          return { kind: 'file', size: 100 }
        case '/overclaim':
          return file
        case '/bad-dir':
        case '/odd-kind-dir':
          return dir
        default:
          throw new FsError('ENOENT')
      }
    },
    {
      read(path, handle, offset, length) {
        return Buffer.alloc(length + 10, 1)
      },
      write(path, handle, data) {
        return data.length + 1
      },
      // writeFile truncates (O_TRUNC) before it writes.
      truncate() {},
      readdir(path) {
        if (path === '/bad-dir') return [{ name: 'no-kind' }] as never
        if (path === '/odd-kind-dir') return [{ name: 'ok', kind: 'file' }, { name: 'odd', kind: 'constructor' }] as never
        return [{ name: 'ok', kind: 'file' }]
      },
    },
  )
  const { p, waitForError } = await mountFs(t, fs)

  const cases: [string, () => Promise<unknown>, string][] = [
    ['/negative-size', () => fsp.stat(p('negative-size')), 'getattr'],
    ['/nan-date', () => fsp.stat(p('nan-date')), 'getattr'],
    ['/unknown-kind', () => fsp.stat(p('unknown-kind')), 'getattr'],
    ['/not-an-object', () => fsp.stat(p('not-an-object')), 'getattr'],
    ['/mode-with-type', () => fsp.stat(p('mode-with-type')), 'getattr'],
    ['/long-read', () => fsp.readFile(p('long-read')), 'read'],
    ['/overclaim', () => fsp.writeFile(p('overclaim'), 'four'), 'write'],
    ['/bad-dir', () => fsp.readdir(p('bad-dir')), 'readdir'],
    ['/inherited-kind', () => fsp.stat(p('inherited-kind')), 'getattr'],
    ['/odd-kind-dir', () => fsp.readdir(p('odd-kind-dir')), 'readdir'],
  ]
  for (const [path, call, operation] of cases) {
    await t.throwsAsync(call(), { code: 'EIO' }, path)
    const e = await waitForError((x) => x.path === path)
    t.is(e.operation, operation, path)
    t.is(e.errno, 'EIO', path)
    t.regex(e.message, /invalid|must|more than|unknown|needs/i, path)
    // Still serving after each fault.
    t.true((await fsp.stat(p('ok'))).isFile(), `after ${path}`)
  }
  t.deepEqual(await fsp.readdir(p()), ['ok'])
})

test('readdir drops entries with invalid names and keeps the valid ones', async (t) => {
  const valid255 = 'v'.repeat(255)
  const fs = withRoot(
    (path) => {
      if (['/good1', '/good2', `/${valid255}`, '/ünïcödé'].includes(path)) return file
      throw new FsError('ENOENT')
    },
    {
      readdir() {
        return [
          { name: 'good1', kind: 'file' },
          { name: 'a/b', kind: 'file' },
          { name: '', kind: 'file' },
          { name: '.', kind: 'directory' },
          { name: '..', kind: 'directory' },
          { name: 'good1', kind: 'file' },
          { name: 'x'.repeat(256), kind: 'file' },
          // 128 two-byte characters: 256 bytes, too long although only 128 characters.
          { name: 'é'.repeat(128), kind: 'file' },
          { name: valid255, kind: 'file' },
          { name: 'ünïcödé', kind: 'file' },
          { name: 'good2', kind: 'file' },
        ]
      },
    },
  )
  const { p } = await mountFs(t, fs)
  const expected = ['good1', valid255, 'ünïcödé', 'good2']
  // Node's readdir sorts (libuv uses scandir with a sort); ls -U keeps the directory's order.
  t.deepEqual(await fsp.readdir(p()), [...expected].sort())
  const ls = await run('ls', ['-a1', '-U', p()])
  t.is(ls.code, 0, ls.stderr)
  t.deepEqual(ls.stdout.trim().split('\n'), ['.', '..', ...expected])
  // Every listed name can be looked up.
  for (const name of expected) t.true((await fsp.stat(p(name))).isFile(), name)
})

test('a handler that returns the wrong type for an operation is a fault, not a crash', async (t) => {
  const memfs = createMemfs()
  const fs = override(memfs, {
    readlink() {
      return 42 as unknown as string
    },
    listxattr() {
      return ['user.ok', 7] as unknown as string[]
    },
    open() {
      return { handle: -5 }
    },
  })
  const { p, waitForError } = await mountFs(t, fs)
  await fsp.symlink('target', p('link'))
  await fsp.writeFile(p('f'), 'content')
  await t.throwsAsync(fsp.readlink(p('link')), { code: 'EIO' })
  t.is((await waitForError((e) => e.path === '/link')).operation, 'readlink')
  t.deepEqual(await py('out(attempt(os.listxattr, sys.argv[1]))', [p('f')]), { error: 'EIO' })
  t.is((await waitForError((e) => e.operation === 'listxattr')).path, '/f')
  await t.throwsAsync(fsp.readFile(p('f')), { code: 'EIO' })
  t.is((await waitForError((e) => e.operation === 'open')).path, '/f')
  t.deepEqual((await fsp.readdir(p())).sort(), ['f', 'link'])
})

test('an FsError carries its code and name but no stack frames, so throwing one is cheap', (t) => {
  const error = new FsError('ENOENT')
  t.true(error instanceof Error)
  t.is(error.code, 'ENOENT')
  t.is(error.name, 'FsError')
  t.is(error.message, 'ENOENT')
  t.is(new FsError('EACCES', 'read-only share').message, 'read-only share')
  t.false(/\n\s+at /.test(error.stack ?? ''), `stack: ${error.stack}`)
  // Other errors keep their stack traces.
  t.true(/\n\s+at /.test(new Error('x').stack ?? ''))
})

test('an error listener that throws gets an uncaught exception, and the mount keeps every handler slot', async (t) => {
  // In a child process: the exceptions must reach its 'uncaughtException' handler, not ava's.
  // With room for two handlers, a fault whose report threw out of the dispatcher used to keep
  // its slot: after two, every request waited in the backlog until it timed out.
  const child = await run(process.execPath, ['--import', 'tsx', join(__dirname, 'helpers', 'child-throwing-listener.ts')], {
    cwd: process.cwd(),
    env: process.env,
  })
  t.is(child.code, 0, child.stderr)
  const report = child.stdout.trim().split('\n').pop() ?? '{}'
  const { outcomes, uncaught } = JSON.parse(report) as { outcomes: string[]; uncaught: string[] }
  t.deepEqual(outcomes, ['EIO', 'ok', 'EIO', 'ok', 'EIO', 'ok', 'EIO', 'ok'])
  t.true(uncaught.length >= 4, `uncaught: ${JSON.stringify(uncaught)}`)
  for (const message of uncaught) t.regex(message, /^listener threw on: getattr \/bad: handler threw: handler bug$/)
})
