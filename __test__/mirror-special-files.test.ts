// FIFOs, sockets and device nodes: mountkit's `mknod` (node:fs has none), and the mirror,
// which passes every mkfifo, mknod and socket bind made through the mount on to its source
// directory with it.
import test, { type ExecutionContext } from 'ava'
import { constants, type Stats } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { mknod } from '../index'
import { createMirror } from '../examples/mirror'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { py } from './helpers/python'

const NOBODY = { uid: 65534, gid: 65534 }

/** A temp directory removed after the test (after any mount's own teardown). */
async function scratch(t: ExecutionContext): Promise<string> {
  const dir = await tempDir()
  t.teardown(() => removeTempDir(dir))
  return dir
}

/** glibc's makedev, as `Stats.rdev` reports device numbers (majors below 4096, minors below 256). */
const makedev = (major: number, minor: number) => major * 256 + minor

/** A node's kind, permission bits, owner and device number. */
function describe(s: Stats): string {
  const kind = s.isFIFO() ? 'fifo' : s.isSocket() ? 'socket' : s.isCharacterDevice() ? 'char' : s.isBlockDevice() ? 'block' : s.isFile() ? 'file' : 'other'
  const rdev = s.isCharacterDevice() || s.isBlockDevice() ? ` rdev ${s.rdev}` : ''
  return `${kind} ${(s.mode & 0o7777).toString(8).padStart(4, '0')} ${s.uid}:${s.gid}${rdev}`
}

async function describeAll(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {}
  for (const name of (await fsp.readdir(dir)).sort()) found[name] = describe(await fsp.lstat(join(dir, name)))
  return found
}

test('mknod creates FIFOs, sockets and device nodes, and fails as node:fs does', async (t) => {
  const dir = await scratch(t)
  const umask = process.umask()
  await mknod(join(dir, 'fifo'), constants.S_IFIFO | 0o640)
  await mknod(join(dir, 'socket'), constants.S_IFSOCK | 0o600)
  await mknod(join(dir, 'null'), constants.S_IFCHR | 0o666, makedev(1, 3))
  await mknod(join(dir, 'loop'), constants.S_IFBLK | 0o660, makedev(7, 0))
  await mknod(join(dir, 'file'), constants.S_IFREG | 0o644)
  const mode = (m: number) => (m & ~umask).toString(8).padStart(4, '0')
  t.deepEqual(await describeAll(dir), {
    fifo: `fifo ${mode(0o640)} 0:0`,
    file: `file ${mode(0o644)} 0:0`,
    loop: `block ${mode(0o660)} 0:0 rdev ${makedev(7, 0)}`,
    null: `char ${mode(0o666)} 0:0 rdev ${makedev(1, 3)}`,
    socket: `socket ${mode(0o600)} 0:0`,
  })
  t.is((await fsp.lstat(join(dir, 'null'))).rdev, (await fsp.lstat('/dev/null')).rdev)

  // Failures carry what node:fs errors carry, so a handler can rethrow them as they are.
  const exists = await t.throwsAsync(mknod(join(dir, 'fifo'), constants.S_IFIFO | 0o640))
  t.like(exists, { code: 'EEXIST', errno: -17, syscall: 'mknod', path: join(dir, 'fifo') })
  t.is(exists?.message, `EEXIST: file already exists, mknod '${join(dir, 'fifo')}'`)
  await t.throwsAsync(mknod(join(dir, 'missing', 'fifo'), constants.S_IFIFO | 0o640), { code: 'ENOENT' })
  await t.throwsAsync(mknod(join(dir, 'dir'), constants.S_IFDIR | 0o755), { code: 'EPERM' })
  // Arguments no mknod call could take are refused before the call, as node:fs refuses them.
  await t.throwsAsync(mknod(join(dir, 'nul\0name'), constants.S_IFIFO), { instanceOf: TypeError })
  await t.throwsAsync(mknod(join(dir, 'x'), -1), { instanceOf: RangeError })
  await t.throwsAsync(mknod(join(dir, 'x'), constants.S_IFCHR, -1), { instanceOf: RangeError })
  await t.throwsAsync(mknod(join(dir, 'x'), constants.S_IFCHR, 1.5), { instanceOf: RangeError })
  t.false((await fsp.readdir(dir)).includes('x'))
})

/** Makes one special file of each kind in `sys.argv[1]`, with umask 0, and reports each call. */
const MAKE_SPECIAL_FILES = [
  'import socket, stat',
  'd = sys.argv[1]',
  'os.umask(0)',
  'def bind(name):',
  '    s = socket.socket(socket.AF_UNIX)',
  '    s.bind(os.path.join(d, name))',
  '    s.close()',
  'def make(name, mode, rdev=0):',
  '    os.mknod(os.path.join(d, name), mode, rdev)',
  'out({',
  '  "mkfifo": attempt(os.mkfifo, os.path.join(d, "mkfifo"), 0o640),',
  '  "bound socket": attempt(bind, "bound socket"),',
  '  "fifo": attempt(make, "fifo", stat.S_IFIFO | 0o604),',
  '  "socket": attempt(make, "socket", stat.S_IFSOCK | 0o600),',
  '  "char": attempt(make, "char", stat.S_IFCHR | 0o620, os.makedev(1, 3)),',
  '  "block": attempt(make, "block", stat.S_IFBLK | 0o640, os.makedev(7, 0)),',
  '  "file": attempt(make, "file", stat.S_IFREG | 0o4755),',
  '})',
].join('\n')

test('mirror: mkfifo, mknod and socket binds through the mount make the same nodes in the source', async (t) => {
  const base = await scratch(t)
  const source = join(base, 'source')
  const control = join(base, 'control')
  await fsp.mkdir(source)
  await fsp.mkdir(control)
  const { p } = await mountFs(t, createMirror(source))

  const throughMount = await py<Record<string, unknown>>(MAKE_SPECIAL_FILES, [p()])
  t.deepEqual(throughMount, await py(MAKE_SPECIAL_FILES, [control]), "every call had the outcome it has on the kernel's own filesystem")
  t.true(Object.values(throughMount).every((r) => (r as { error?: string }).error === undefined), JSON.stringify(throughMount))
  const expected = await describeAll(control)
  t.deepEqual(await describeAll(source), expected, 'the source holds what the kernel would have made')
  t.deepEqual(await describeAll(p()), expected, 'and the mount shows it')
  t.deepEqual(expected, {
    block: `block 0640 0:0 rdev ${makedev(7, 0)}`,
    'bound socket': 'socket 0777 0:0',
    char: `char 0620 0:0 rdev ${makedev(1, 3)}`,
    fifo: 'fifo 0604 0:0',
    file: 'file 4755 0:0',
    mkfifo: 'fifo 0640 0:0',
    socket: 'socket 0600 0:0',
  })

  // The FIFO made through the mount is a FIFO: the caller's kernel serves it, not the mirror.
  const piped = await py(
    [
      'r = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)',
      'w = os.open(sys.argv[1], os.O_WRONLY)',
      'os.write(w, b"through the fifo")',
      'out(os.read(r, 100).decode())',
    ].join('\n'),
    [p('mkfifo')],
  )
  t.is(piped, 'through the fifo')
})

test("mirror: a FIFO or socket made by another user is theirs; a device node is refused to them, as the kernel refuses it", async (t) => {
  const base = await scratch(t)
  const source = join(base, 'source')
  await fsp.mkdir(source)
  await fsp.chmod(source, 0o777)
  await fsp.chmod(base, 0o755)
  const { p } = await mountFs(t, createMirror(source), { allowOther: true })

  const outcomes = await py(MAKE_SPECIAL_FILES, [p()], { as: NOBODY })
  t.deepEqual(outcomes, {
    mkfifo: { ok: null },
    'bound socket': { ok: null },
    fifo: { ok: null },
    socket: { ok: null },
    char: { error: 'EPERM' },
    block: { error: 'EPERM' },
    file: { ok: null },
  })
  t.deepEqual(await describeAll(source), {
    'bound socket': 'socket 0777 65534:65534',
    fifo: 'fifo 0604 65534:65534',
    file: 'file 4755 65534:65534',
    mkfifo: 'fifo 0640 65534:65534',
    socket: 'socket 0600 65534:65534',
  })
})
