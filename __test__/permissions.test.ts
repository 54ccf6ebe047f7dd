// Who may do what: the mount's visibility to other users (allowOther), the kernel's permission
// checks (defaultPermissions, on by default), and the caller's identity in handler contexts.
// Root passes every check, so the interesting side is a child process running as nobody.
import test from 'ava'
import * as fsp from 'node:fs/promises'
import type { RequestContext } from '../index'
import { createMemfs } from '../examples/memfs'
import { override } from './helpers/fs'
import { mountFs } from './helpers/mount'
import { py, run } from './helpers/python'

const NOBODY = { uid: 65534, gid: 65534 }

test('without allowOther, other users cannot even see into the mount', async (t) => {
  const { p } = await mountFs(t, createMemfs())
  await fsp.writeFile(p('public'), 'x', { mode: 0o644 })
  await fsp.chmod(p(), 0o755)
  const result = await py('out([attempt(os.stat, sys.argv[1]), attempt(os.listdir, sys.argv[2])])', [p('public'), p()], {
    as: NOBODY,
  })
  t.deepEqual(result, [{ error: 'EACCES' }, { error: 'EACCES' }])
  // Root, the mounting user, still can.
  t.is(await fsp.readFile(p('public'), 'utf8'), 'x')
  const ls = await run('ls', [p()], { as: NOBODY })
  t.not(ls.code, 0)
  t.true(ls.stderr.includes('Permission denied'), ls.stderr)
})

test('with allowOther, the kernel applies mode bits to other users', async (t) => {
  const { p } = await mountFs(t, createMemfs(), { allowOther: true })
  await fsp.writeFile(p('readable'), 'for everyone')
  await fsp.chmod(p('readable'), 0o644)
  await fsp.writeFile(p('secret'), 'root only')
  await fsp.chmod(p('secret'), 0o600)
  await fsp.mkdir(p('shared'))
  await fsp.chmod(p('shared'), 0o777)
  await fsp.chmod(p(), 0o755)

  const result = await py(
    [
      'def read(path):',
      '    with open(path) as f: return f.read()',
      'def append(path):',
      '    with open(path, "a") as f: f.write("!")',
      'def create(path):',
      '    with open(path, "w") as f: f.write("mine")',
      'out({',
      '  "read": attempt(read, sys.argv[1]),',
      '  "write": attempt(append, sys.argv[1]),',
      '  "secret": attempt(read, sys.argv[2]),',
      '  "createInRoot": attempt(create, sys.argv[3] + "/new"),',
      '  "createInShared": attempt(create, sys.argv[4] + "/new"),',
      '  "chmodOthers": attempt(os.chmod, sys.argv[1], 0o666),',
      '  "unlinkInRoot": attempt(os.unlink, sys.argv[1]),',
      '  "chownOwn": attempt(os.chown, sys.argv[4] + "/new", 0, -1),',
      '})',
    ].join('\n'),
    [p('readable'), p('secret'), p(), p('shared')],
    { as: NOBODY },
  )
  t.deepEqual(result, {
    read: { ok: 'for everyone' },
    write: { error: 'EACCES' },
    secret: { error: 'EACCES' },
    createInRoot: { error: 'EACCES' },
    createInShared: { ok: null },
    chmodOthers: { error: 'EPERM' },
    unlinkInRoot: { error: 'EACCES' },
    chownOwn: { error: 'EPERM' },
  })
  // Nothing changed that should not have; the file nobody created belongs to nobody.
  t.is(await fsp.readFile(p('readable'), 'utf8'), 'for everyone')
  t.is((await fsp.stat(p('readable'))).mode & 0o777, 0o644)
  const created = await fsp.stat(p('shared', 'new'))
  t.is(created.uid, NOBODY.uid)
  t.is(created.gid, NOBODY.gid)
  t.is(await fsp.readFile(p('shared', 'new'), 'utf8'), 'mine')
  await t.throwsAsync(fsp.stat(p('new')), { code: 'ENOENT' })
})

test('handlers see the uid, gid and pid of the calling process', async (t) => {
  const memfs = createMemfs()
  const contexts: { request: string; ctx: RequestContext }[] = []
  const fs = override(memfs, {
    getattr(path, handle, ctx) {
      contexts.push({ request: `getattr ${path}`, ctx: { ...ctx } })
      return memfs.getattr(path, handle, ctx)
    },
    mkdir(path, mode, ctx) {
      contexts.push({ request: `mkdir ${path}`, ctx: { ...ctx } })
      return memfs.mkdir(path, mode, ctx)
    },
  })
  // No kernel caching: every lookup reaches the handler, from whoever makes it.
  const { p } = await mountFs(t, fs, { allowOther: true, attrTimeoutMs: 0, entryTimeoutMs: 0 })
  await fsp.chmod(p(), 0o777)

  const who = await py<{ uid: number; gid: number; pid: number; stat: unknown }>(
    [
      'r = attempt(os.stat, sys.argv[1])',
      'os.mkdir(sys.argv[2])',
      'out({"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(), "stat": r.get("error")})',
    ].join('\n'),
    [p('probe-nobody'), p('dir-of-nobody')],
    { as: NOBODY },
  )
  t.is(who.stat, 'ENOENT')
  t.is(who.uid, 65534)
  t.is(who.gid, 65534)
  const expected = { uid: who.uid, gid: who.gid, pid: who.pid }
  const seen = (request: string) => contexts.filter((c) => c.request === request).map((c) => c.ctx)
  t.deepEqual(seen('getattr /probe-nobody'), [expected])
  t.deepEqual(seen('mkdir /dir-of-nobody'), [expected])
  const made = await fsp.stat(p('dir-of-nobody'))
  t.is(made.uid, 65534, 'memfs gives new nodes the caller uid from the context')
  t.is(made.gid, 65534)

  // A root caller in another process.
  const rootWho = await py<{ pid: number; stat: unknown }>(
    'r = attempt(os.stat, sys.argv[1]); out({"pid": os.getpid(), "stat": r.get("error")})',
    [p('probe-root')],
  )
  t.is(rootWho.stat, 'ENOENT')
  t.deepEqual(seen('getattr /probe-root'), [{ uid: 0, gid: 0, pid: rootWho.pid }])
})
