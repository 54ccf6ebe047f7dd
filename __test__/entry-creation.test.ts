// Operations that make a name (mkdir, mknod, symlink, link, and create without a stat) answer
// the kernel with the new entry after ONE request into JavaScript: the handler, then getattr of
// the new path in the same turn. The debug log shows it: the getattr runs under the request id
// of the operation itself, not as a request of its own.
import test from 'ava'
import { constants } from 'node:fs'
import { link, lstat, mkdir, open, stat, symlink, writeFile } from 'node:fs/promises'
import { createMemfs } from '../examples/memfs'
import { FsError, mknod, type FileSystem, type HandlerError, type MountOptions, type RequestContext } from '../index'
import { mountFs } from './helpers/mount'

/** What the debug log says a request started: its id, handler and path. */
interface Started {
  id: number
  handler: string
  path: string
}

/**
 * The memfs example with every handler call counted, `create` answering without the new
 * file's stat (so it needs a getattr), `mkdir` of `refused` paths failing with EEXIST, and
 * `getattr` of a `failing` path throwing once a handler has made it (the kernel's LOOKUP
 * before the operation still finds no such name). With `returnStats`, mkdir, mknod, symlink
 * and link return the new entry's stat (from memfs itself, not counted), or an invalid one
 * for `bogus` paths.
 */
function countedMemfs(returnStats = false) {
  const memfs: FileSystem = createMemfs()
  const calls: Record<string, number> = {}
  const failing = new Map<string, () => never>()
  const refused = new Set<string>()
  const made = new Set<string>()
  const bogus = new Set<string>()
  const MAKERS: Record<string, number> = { mkdir: 0, mknod: 0, symlink: 1, link: 1 }
  const fs: FileSystem = { ...memfs }
  for (const name of Object.keys(memfs) as (keyof FileSystem)[]) {
    const handler = memfs[name] as (...args: unknown[]) => unknown
    ;(fs as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls[name] = (calls[name] ?? 0) + 1
      const path = args[0] as string
      if (name === 'getattr' && made.has(path)) failing.get(path)?.()
      if (name === 'mkdir' && refused.has(path)) throw new FsError('EEXIST')
      const result = handler.apply(memfs, args)
      if (name === 'mkdir' || name === 'create') made.add(path)
      if (returnStats && name in MAKERS) {
        const newPath = args[MAKERS[name]] as string
        const ctx = args[args.length - 1] as RequestContext
        return Promise.resolve(result).then(() => (bogus.has(newPath) ? { kind: 'bogus' } : memfs.getattr!(newPath, undefined, ctx)))
      }
      if (name !== 'create') return result
      return Promise.resolve(result as { handle: number }).then((opened) => opened.handle)
    }
  }
  return { fs, calls, failing, refused, bogus }
}

async function mounted(t: Parameters<typeof mountFs>[0], options: MountOptions = {}, returnStats = false) {
  const counted = countedMemfs(returnStats)
  const started: Started[] = []
  const debug = (line: string) => {
    const match = /^-> #(\d+) (\w+) (.*)$/.exec(line)
    if (match !== null) started.push({ id: Number(match[1]), handler: match[2], path: match[3] })
  }
  const mount = await mountFs(t, counted.fs, { ...options, debug })
  /** The requests that started for `path` since `from` (an index into the log). */
  const requestsFor = (path: string, from: number) => started.slice(from).filter((s) => s.path === path)
  return { ...mount, ...counted, started, requestsFor }
}

test('mkdir, mknod, symlink, link and create each answer the new entry in one request', async (t) => {
  const { p, started, requestsFor, calls } = await mounted(t)
  await writeFile(p('file'), 'x')
  const cases: [string, string, () => Promise<unknown>][] = [
    ['mkdir', '/dir', () => mkdir(p('dir'))],
    ['mknod', '/fifo', () => mknod(p('fifo'), constants.S_IFIFO | 0o640)],
    ['symlink', '/link', () => symlink('file', p('link'))],
    ['link', '/hard', () => link(p('file'), p('hard'))],
    ['create', '/new', async () => (await open(p('new'), 'wx')).close()],
  ]
  for (const [handler, path, make] of cases) {
    const from = started.length
    await make()
    // The kernel looks the new name up first (a getattr that finds nothing); then the
    // operation, and its getattr under the same request id.
    const requests = requestsFor(path, from)
    const at = requests.findIndex((r) => r.handler === handler)
    t.true(at >= 0, `${handler} reached its handler`)
    const after = requests.slice(at + 1).filter((r) => r.handler === 'getattr')
    t.true(after.length >= 1, `${handler}: a getattr followed`)
    t.is(after[0].id, requests[at].id, `${handler}: getattr ran within the same request`)
  }
  t.true(calls.getattr > 0)
})

test('entries made in one request carry the right identity, mode and link count', async (t) => {
  const { p } = await mounted(t, { attrTimeoutMs: 60_000, entryTimeoutMs: 60_000 })
  await writeFile(p('file'), 'hello')
  await mkdir(p('dir'), 0o750)
  await mknod(p('fifo'), constants.S_IFIFO | 0o640)
  await symlink('file', p('link'))
  await link(p('file'), p('hard'))
  const original = await stat(p('file'))
  const hard = await stat(p('hard'))
  t.is(hard.ino, original.ino, 'a hard link is the same inode')
  t.is(hard.nlink, 2)
  t.is(original.nlink, 2, 'the cached attributes of the original follow the link')
  t.is((await stat(p('dir'))).mode, 0o40750)
  t.is((await lstat(p('fifo'))).mode, 0o10640)
  const linkStat = await lstat(p('link'))
  t.true(linkStat.isSymbolicLink())
  t.is(linkStat.size, 'file'.length)
})

test('a failing operation answers its error and asks no getattr', async (t) => {
  const { p, refused, started, requestsFor } = await mounted(t)
  refused.add('/refused')
  const from = started.length
  await t.throwsAsync(mkdir(p('refused')), { code: 'EEXIST' })
  const requests = requestsFor('/refused', from).map((r) => r.handler)
  t.is(requests.at(-1), 'mkdir', `no getattr after the failed mkdir: ${requests.join(', ')}`)
})

test('a getattr that fails after a successful mkdir is what the kernel is answered, and reported as before', async (t) => {
  const { m, p, failing, calls } = await mounted(t)
  const faults: HandlerError[] = []
  m.on('error', (e) => faults.push(e))
  failing.set('/denied', () => {
    throw new FsError('EACCES')
  })
  await t.throwsAsync(mkdir(p('denied')), { code: 'EACCES' })
  t.is(calls.mkdir, 1, 'the directory was made')
  t.deepEqual(faults, [], 'an errno is an answer, not a fault')
  failing.set('/broken', () => {
    throw new Error('getattr broke')
  })
  await t.throwsAsync(mkdir(p('broken')), { code: 'EIO' })
  t.is(faults.length, 1)
  t.is(faults[0].operation, 'getattr')
  t.is(faults[0].path, '/broken')
  t.regex(faults[0].message, /getattr broke/)
})

test('a create whose getattr fails is refused and its handle released, as before', async (t) => {
  const { p, failing, calls } = await mounted(t)
  failing.set('/denied', () => {
    throw new FsError('EACCES')
  })
  const releases = calls.release ?? 0
  await t.throwsAsync(writeFile(p('denied'), 'x'), { code: 'EACCES' })
  t.is(calls.create, 1)
  // The release of the handle the kernel never held is sent without waiting for it.
  for (let i = 0; i < 100 && (calls.release ?? 0) === releases; i++) await new Promise((r) => setTimeout(r, 10))
  t.is((calls.release ?? 0) - releases, 1, 'the created file was closed again')
})

test('a handler that returns the new entry\'s stat spares the getattr', async (t) => {
  const { m, p, started, requestsFor, bogus } = await mounted(t, { attrTimeoutMs: 60_000, entryTimeoutMs: 60_000 }, true)
  await writeFile(p('file'), 'hello')
  const cases: [string, string, () => Promise<unknown>][] = [
    ['mkdir', '/dir', () => mkdir(p('dir'), 0o750)],
    ['mknod', '/fifo', () => mknod(p('fifo'), constants.S_IFIFO | 0o640)],
    ['symlink', '/link', () => symlink('file', p('link'))],
    ['link', '/hard', () => link(p('file'), p('hard'))],
  ]
  for (const [handler, path, make] of cases) {
    const from = started.length
    await make()
    const requests = requestsFor(path, from)
    const at = requests.findIndex((r) => r.handler === handler)
    t.true(at >= 0, `${handler} reached its handler`)
    t.deepEqual(requests.slice(at + 1).map((r) => r.handler), [], `${handler}: nothing asked after it`)
  }
  t.is((await stat(p('dir'))).mode, 0o40750)
  t.is((await lstat(p('fifo'))).mode, 0o10640)
  t.true((await lstat(p('link'))).isSymbolicLink())
  t.is((await stat(p('hard'))).nlink, 2)
  t.is((await stat(p('hard'))).ino, (await stat(p('file'))).ino)
  // A returned stat that is not valid is an invalid result of the handler itself.
  const faults: HandlerError[] = []
  m.on('error', (e) => faults.push(e))
  bogus.add('/bad')
  await t.throwsAsync(mkdir(p('bad')), { code: 'EIO' })
  t.is(faults.length, 1)
  t.is(faults[0].operation, 'mkdir')
  t.regex(faults[0].message, /invalid result/)
})

test('a new entry answered with a stat of another kind fails with EIO, is reported, and leaves no inode behind', async (t) => {
  const memfs = createMemfs()
  const setup: RequestContext = { uid: 0, gid: 0, pid: 0 }
  const { handle } = (await memfs.create('/file', 0o644, 0, setup)) as { handle: number }
  await memfs.release('/file', handle, 0, setup)
  // Each maker makes what it was asked to, then answers the stat of another kind; mkdir of
  // `/quiet` answers nothing, and the getattr after it gives the wrong kind.
  const fs: FileSystem = {
    ...memfs,
    getattr: async (path, handle, ctx) => {
      const stat = await memfs.getattr(path, handle, ctx)
      return path === '/quiet' ? { kind: 'symlink' } : stat
    },
    mkdir: async (path, mode, ctx) => {
      await memfs.mkdir(path, mode, ctx)
      return path === '/quiet' ? undefined : { kind: 'file' }
    },
    mknod: async (path, mode, rdev, ctx) => {
      await memfs.mknod(path, mode, rdev, ctx)
      return { kind: 'socket' }
    },
    symlink: async (target, path, ctx) => {
      await memfs.symlink(target, path, ctx)
      return { kind: 'file' }
    },
    link: async (existing, path, ctx) => {
      await memfs.link(existing, path, ctx)
      return { kind: 'directory' }
    },
    create: async (path, mode, flags, ctx) => {
      const opened = (await memfs.create(path, mode, flags, ctx)) as { handle: number }
      return { handle: opened.handle, stat: { kind: 'directory' } }
    },
  }
  const { m, p, errors, waitForError } = await mountFs(t, fs, { attrTimeoutMs: 60_000, entryTimeoutMs: 60_000 })
  await stat(p('file'))
  const cases: [string, string, string, RegExp, () => Promise<unknown>][] = [
    ['mkdir', '/dir', 'directory', /kind 'file'/, () => mkdir(p('dir'))],
    ['mkdir', '/quiet', 'directory', /kind 'symlink'/, () => mkdir(p('quiet'))],
    ['mknod', '/fifo', 'fifo', /kind 'socket'/, () => mknod(p('fifo'), constants.S_IFIFO | 0o640)],
    ['symlink', '/link', 'symlink', /kind 'file'/, () => symlink('file', p('link'))],
    ['link', '/hard', 'file', /kind 'directory'/, () => link(p('file'), p('hard'))],
    ['create', '/new', 'file', /kind 'directory'/, () => writeFile(p('new'), 'x')],
  ]
  for (const [handler, path, made, given, make] of cases) {
    const known = m.stats().knownInodes
    await t.throwsAsync(make(), { code: 'EIO' }, `${handler} ${path}`)
    const fault = await waitForError((e) => e.path === path)
    t.is(fault.operation, handler)
    t.regex(fault.message, new RegExp(`${handler} made a ${made}`))
    t.regex(fault.message, given)
    t.is(m.stats().knownInodes, known, `${handler}: the kernel refused the entry, so the table holds no inode for it`)
  }
  t.is(errors.length, cases.length, 'one report per refused entry')
})
