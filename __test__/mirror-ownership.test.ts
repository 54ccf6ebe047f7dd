// What a caller creates through the mirror is the caller's, as the kernel would have made it
// in the source directory: owner, group (the set-group-ID directory rule), set-ID bits, exact
// modes. Each scene runs the same program twice as another user, once through the mount and
// once directly in a control directory the kernel serves itself, and compares the two:
// whatever the kernel decides there is what the mirror must produce in its source directory.
import test, { type ExecutionContext } from 'ava'
import type { Stats } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { createMirror } from '../examples/mirror'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { py, run } from './helpers/python'

const NOBODY = { uid: 65534, gid: 65534 }
/** A group nobody is not a member of. */
const OTHER_GROUP = 4242

/** A temp directory removed after the test (after any mount's own teardown). */
async function scratch(t: ExecutionContext): Promise<string> {
  const dir = await tempDir()
  t.teardown(() => removeTempDir(dir))
  return dir
}

/** What ownership decides about a node: its kind, permission and set-ID bits, owner and group. */
function describe(s: Stats): string {
  const kind = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFIFO() ? 'fifo' : s.isSocket() ? 'socket' : 'other'
  // A symlink's mode is 0777 everywhere on Linux; leave it out so the comparison is about owners.
  const mode = kind === 'symlink' ? '' : ` ${(s.mode & 0o7777).toString(8).padStart(4, '0')}`
  return `${kind}${mode} ${s.uid}:${s.gid}`
}

/** `describe` of every name in `dir` (one level), by name. */
async function describeAll(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {}
  for (const name of (await fsp.readdir(dir)).sort()) found[name] = describe(await fsp.lstat(join(dir, name)))
  return found
}

/**
 * The program every scene runs as nobody, in `sys.argv[1]`: creates one node of every kind
 * with umask 0 (so modes are exactly what it asks for), and reports each call's outcome.
 */
const CREATE_EVERY_KIND = [
  'import socket',
  'd = sys.argv[1]',
  'os.umask(0)',
  'def create(name, mode):',
  '    os.close(os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))',
  'def bind(name):',
  '    s = socket.socket(socket.AF_UNIX)',
  '    s.bind(os.path.join(d, name))',
  '    s.close()',
  'out({',
  '  "file": attempt(create, "file", 0o640),',
  '  "setid file": attempt(create, "setid file", 0o6755),',
  '  "setgid file, not executable": attempt(create, "setgid file, not executable", 0o2644),',
  '  "dir": attempt(os.mkdir, os.path.join(d, "dir"), 0o750),',
  '  "symlink": attempt(os.symlink, "file", os.path.join(d, "symlink")),',
  '  "fifo": attempt(os.mkfifo, os.path.join(d, "fifo"), 0o620),',
  '  "socket": attempt(bind, "socket"),',
  '  "hard link": attempt(os.link, os.path.join(d, "file"), os.path.join(d, "hard link")),',
  '})',
].join('\n')

const EVERY_KIND = ['dir', 'fifo', 'file', 'hard link', 'setgid file, not executable', 'setid file', 'socket', 'symlink']

test("mirror: what another user creates through the mount is theirs, in the mount and in the source", async (t) => {
  const base = await scratch(t)
  const source = join(base, 'source')
  const control = join(base, 'control')
  for (const dir of [source, control]) {
    await fsp.mkdir(dir)
    await fsp.chmod(dir, 0o777)
  }
  await fsp.chmod(base, 0o755)
  const { p } = await mountFs(t, createMirror(source), { allowOther: true })

  const throughMount = await py<Record<string, unknown>>(CREATE_EVERY_KIND, [p()], { as: NOBODY })
  const direct = await py<Record<string, unknown>>(CREATE_EVERY_KIND, [control], { as: NOBODY })
  t.deepEqual(throughMount, direct, "every call had the outcome it has on the kernel's own filesystem")
  t.deepEqual(Object.keys(throughMount).sort(), EVERY_KIND)
  t.true(Object.values(throughMount).every((r) => (r as { error?: string }).error === undefined), JSON.stringify(throughMount))

  const expected = await describeAll(control)
  t.deepEqual(await describeAll(source), expected, 'the source holds what the kernel would have made')
  t.deepEqual(await describeAll(p()), expected, 'and the mount shows it')
  // Spelled out: nobody owns all of it, set-ID bits and modes exactly as asked.
  t.deepEqual(expected, {
    dir: 'dir 0750 65534:65534',
    fifo: 'fifo 0620 65534:65534',
    file: 'file 0640 65534:65534',
    'hard link': 'file 0640 65534:65534',
    'setgid file, not executable': 'file 2644 65534:65534',
    'setid file': 'file 6755 65534:65534',
    socket: 'socket 0777 65534:65534',
    symlink: 'symlink 65534:65534',
  })
  t.is((await fsp.lstat(join(source, 'hard link'))).ino, (await fsp.lstat(join(source, 'file'))).ino)
  t.is(await fsp.readlink(join(source, 'symlink')), 'file')
})

test('mirror: in a set-group-ID directory, new nodes take its group and new directories its bit, as the kernel decides', async (t) => {
  const base = await scratch(t)
  const source = join(base, 'source')
  const control = join(base, 'control')
  for (const dir of [source, join(source, 'shared'), control, join(control, 'shared')]) {
    await fsp.mkdir(dir)
    await fsp.chown(dir, 0, OTHER_GROUP)
    await fsp.chmod(dir, 0o2777)
  }
  await fsp.chmod(base, 0o755)
  const { p } = await mountFs(t, createMirror(source), { allowOther: true })

  const throughMount = await py(CREATE_EVERY_KIND, [p('shared')], { as: NOBODY })
  const direct = await py(CREATE_EVERY_KIND, [join(control, 'shared')], { as: NOBODY })
  t.deepEqual(throughMount, direct)

  const expected = await describeAll(join(control, 'shared'))
  t.deepEqual(await describeAll(join(source, 'shared')), expected)
  t.deepEqual(await describeAll(p('shared')), expected)
  t.deepEqual(expected, {
    // The directory's group for everything, and its set-group-ID bit for the new directory.
    dir: 'dir 2750 65534:4242',
    fifo: 'fifo 0620 65534:4242',
    file: 'file 0640 65534:4242',
    'hard link': 'file 0640 65534:4242',
    // nobody is not in that group: an executable file loses set-group-ID (mode_strip_sgid),
    // a file without group execute keeps it.
    'setgid file, not executable': 'file 2644 65534:4242',
    'setid file': 'file 4755 65534:4242',
    socket: 'socket 0777 65534:4242',
    symlink: 'symlink 65534:4242',
  })
})

test("mirror: a caller's chown and chmod clear set-ID bits as the kernel clears them", async (t) => {
  const base = await scratch(t)
  const source = join(base, 'source')
  const control = join(base, 'control')
  for (const dir of [source, control]) {
    await fsp.mkdir(dir)
    await fsp.chmod(dir, 0o777)
    // Files of nobody's, one in a group nobody is not in.
    for (const [name, gid] of [['own', NOBODY.gid], ['foreign group', OTHER_GROUP]] as const) {
      await fsp.writeFile(join(dir, name), '')
      await fsp.chown(join(dir, name), NOBODY.uid, gid)
      await fsp.chmod(join(dir, name), 0o6755)
    }
  }
  await fsp.chmod(base, 0o755)
  const { p } = await mountFs(t, createMirror(source), { allowOther: true })

  const program = [
    'd = sys.argv[1]',
    'out({',
    '  "chown own, group unchanged": attempt(os.chown, os.path.join(d, "own"), -1, -1),',
    '  "chmod foreign group, set-group-ID": attempt(os.chmod, os.path.join(d, "foreign group"), 0o2755),',
    '})',
  ].join('\n')
  const throughMount = await py(program, [p()], { as: NOBODY })
  t.deepEqual(throughMount, await py(program, [control], { as: NOBODY }))
  t.deepEqual(throughMount, { 'chown own, group unchanged': { ok: null }, 'chmod foreign group, set-group-ID': { ok: null } })
  const expected = await describeAll(control)
  t.deepEqual(await describeAll(source), expected)
  t.deepEqual(expected, { 'foreign group': 'file 0755 65534:4242', own: 'file 0755 65534:65534' })
})

test('mirror: run by a user other than root, it leaves new nodes its own, grouped as the host kernel groups them', async (t) => {
  const base = await scratch(t)
  const source = join(base, 'source')
  await fsp.mkdir(join(source, 'shared'), { recursive: true })
  await fsp.chown(source, NOBODY.uid, NOBODY.gid)
  await fsp.chown(join(source, 'shared'), NOBODY.uid, OTHER_GROUP)
  await fsp.chmod(join(source, 'shared'), 0o2777)
  await fsp.chmod(base, 0o755)
  // The mirror's handlers, called directly by a Node process running as nobody, for a caller
  // that is someone else again: it cannot give them anything, so creating must not fail.
  const caller = { uid: 1234, gid: 1234, pid: 1 }
  const script = [
    `const { createMirror } = require(${JSON.stringify(join(__dirname, '..', 'examples', 'mirror'))})`,
    `const fs = createMirror(${JSON.stringify(source)})`,
    `const ctx = ${JSON.stringify(caller)}`,
    'const S_IFIFO = 0o10000',
    ';(async () => {',
    '  for (const dir of ["", "/shared"]) {',
    '    await fs.release(dir + "/file", await fs.create(dir + "/file", 0o640, 0o101, ctx), 0, ctx)',
    '    await fs.mkdir(dir + "/dir", 0o750, ctx)',
    '    await fs.symlink("file", dir + "/symlink", ctx)',
    '    await fs.mknod(dir + "/fifo", S_IFIFO | 0o620, 0, ctx)',
    '  }',
    '})().catch((error) => { console.error(error); process.exit(1) })',
  ].join('\n')
  const result = await run(process.execPath, ['--import', 'tsx', '-e', script], { as: NOBODY, cwd: join(__dirname, '..') })
  t.is(result.code, 0, result.stderr)
  t.deepEqual(await describeAll(source), {
    dir: 'dir 0750 65534:65534',
    fifo: 'fifo 0620 65534:65534',
    file: 'file 0640 65534:65534',
    shared: 'dir 2777 65534:4242',
    symlink: 'symlink 65534:65534',
  })
  t.deepEqual(await describeAll(join(source, 'shared')), {
    dir: 'dir 2750 65534:4242',
    fifo: 'fifo 0620 65534:4242',
    file: 'file 0640 65534:4242',
    symlink: 'symlink 65534:4242',
  })
})
