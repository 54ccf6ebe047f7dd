// POSIX conformance of memfs, as callers see it through the kernel: the errno of every failing
// call, permission checks for other users, ctime updates, and set-ID clearing. Each check runs
// real system calls in a child process (Python), as root or as nobody (the mount has
// allowOther), against a memfs mounted without attribute or entry caching, so every stat
// shows what memfs holds.
//
// The expectations are Linux's own. MOUNTKIT_POSIX_REFERENCE=<dir> runs the same checks against
// a directory of a real filesystem (tmpfs is memfs's model: `/dev/shm`) instead of memfs, to
// confirm them; every check here passes on tmpfs.
import test, { type ExecutionContext } from 'ava'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { createMemfs } from '../examples/memfs'
import { mountFs } from './helpers/mount'
import { py, type Attempt } from './helpers/python'

const NOBODY = { uid: 65534, gid: 65534 }
const REFERENCE = process.env.MOUNTKIT_POSIX_REFERENCE

const OK: Attempt = { ok: null }
const E = (code: string): Attempt => ({ error: code })

/** A fresh directory to test in: the root of a memfs mount, or one in the reference directory. */
async function target(t: ExecutionContext): Promise<string> {
  if (REFERENCE !== undefined) {
    const dir = await fsp.mkdtemp(join(REFERENCE, 'posix-'))
    await fsp.chmod(dir, 0o755)
    t.teardown(() => fsp.rm(dir, { recursive: true, force: true }))
    return dir
  }
  const { dir } = await mountFs(t, createMemfs(), { allowOther: true, attrTimeoutMs: 0, entryTimeoutMs: 0 })
  return dir
}

/** Runs `code` with `b` (the test directory) defined, as root or as `as`. */
function probe<T>(dir: string, code: string, as?: { uid: number; gid: number }): Promise<T> {
  return py<T>(`import stat, time\nb = sys.argv[1]\nj = lambda *names: os.path.join(b, *names)\n${code}`, [dir], { as })
}

// Creates the common fixture: a directory d with a file in it, an empty directory e, a file f,
// a symlink l to f, a dangling symlink, and a symlink to d.
const FIXTURE = `
os.mkdir(j("d"))
open(j("d", "in"), "w").write("x")
os.mkdir(j("e"))
open(j("f"), "w").write("file")
os.symlink("f", j("l"))
os.symlink("missing", j("dangling"))
os.symlink("d", j("ld"))
W = os.O_WRONLY
C = os.O_CREAT
X = os.O_EXCL
`

test('open and creat: EEXIST, ENOENT, EISDIR, ENOTDIR and ELOOP', async (t) => {
  const dir = await target(t)
  const r = await probe<Record<string, unknown>>(
    dir,
    FIXTURE +
      String.raw`
def opened(path, flags, mode=0o644):
    fd = os.open(path, flags, mode)
    os.close(fd)
out({
    "excl on a file": attempt(opened, j("f"), W | C | X),
    "excl on a directory": attempt(opened, j("d"), W | C | X),
    "excl on a symlink": attempt(opened, j("l"), W | C | X),
    "excl on a dangling symlink": attempt(opened, j("dangling"), W | C | X),
    "missing": attempt(opened, j("nope"), os.O_RDONLY),
    "creat in a missing directory": attempt(opened, j("nope", "x"), W | C),
    "write-open a directory": attempt(opened, j("d"), W),
    "read-write-open a directory": attempt(opened, j("d"), os.O_RDWR),
    "creat on a directory": attempt(opened, j("d"), W | C),
    "truncate-open a directory": attempt(opened, j("d"), os.O_RDONLY | os.O_TRUNC),
    "a file as a directory": attempt(opened, j("f", "x"), os.O_RDONLY),
    "creat under a file": attempt(opened, j("f", "x"), W | C),
    "O_DIRECTORY on a file": attempt(opened, j("f"), os.O_RDONLY | os.O_DIRECTORY),
    "O_NOFOLLOW on a symlink": attempt(opened, j("l"), os.O_RDONLY | os.O_NOFOLLOW),
    "read-open a directory": attempt(opened, j("d"), os.O_RDONLY),
    "creat through a dangling symlink": attempt(opened, j("dangling"), W | C),
    "dangling target now exists": os.path.isfile(j("missing")),
    "creat without excl on a file": attempt(opened, j("f"), W | C),
})
`,
  )
  t.deepEqual(r, {
    'excl on a file': E('EEXIST'),
    'excl on a directory': E('EEXIST'),
    'excl on a symlink': E('EEXIST'),
    'excl on a dangling symlink': E('EEXIST'),
    missing: E('ENOENT'),
    'creat in a missing directory': E('ENOENT'),
    'write-open a directory': E('EISDIR'),
    'read-write-open a directory': E('EISDIR'),
    'creat on a directory': E('EISDIR'),
    'truncate-open a directory': E('EISDIR'),
    'a file as a directory': E('ENOTDIR'),
    'creat under a file': E('ENOTDIR'),
    'O_DIRECTORY on a file': E('ENOTDIR'),
    'O_NOFOLLOW on a symlink': E('ELOOP'),
    'read-open a directory': OK,
    'creat through a dangling symlink': OK,
    'dangling target now exists': true,
    'creat without excl on a file': OK,
  })
})

test('mkdir, rmdir and unlink: EEXIST, ENOENT, ENOTDIR, ENOTEMPTY, EISDIR and EINVAL', async (t) => {
  const dir = await target(t)
  const r = await probe<Record<string, unknown>>(
    dir,
    FIXTURE +
      String.raw`
out({
    "mkdir over a file": attempt(os.mkdir, j("f")),
    "mkdir over a directory": attempt(os.mkdir, j("d")),
    "mkdir over a symlink": attempt(os.mkdir, j("l")),
    "mkdir over a dangling symlink": attempt(os.mkdir, j("dangling")),
    "mkdir in a missing directory": attempt(os.mkdir, j("nope", "x")),
    "mkdir under a file": attempt(os.mkdir, j("f", "x")),
    "mkdir of dot": attempt(os.mkdir, j("d", ".")),
    "rmdir of a non-empty directory": attempt(os.rmdir, j("d")),
    "rmdir of a file": attempt(os.rmdir, j("f")),
    "rmdir of a symlink to a directory": attempt(os.rmdir, j("ld")),
    "rmdir of dot": attempt(os.rmdir, j("e", ".")),
    "rmdir of dot-dot": attempt(os.rmdir, j("d", "..")),
    "rmdir of a missing name": attempt(os.rmdir, j("nope")),
    "rmdir under a file": attempt(os.rmdir, j("f", "x")),
    "rmdir of an empty directory": attempt(os.rmdir, j("e")),
    "unlink of a directory": attempt(os.unlink, j("d")),
    "unlink of a missing name": attempt(os.unlink, j("nope")),
    "unlink under a file": attempt(os.unlink, j("f", "x")),
    "unlink of a symlink": attempt(os.unlink, j("ld")),
    "the symlink's target is still there": os.path.isdir(j("d")),
    "unlink of a file": attempt(os.unlink, j("d", "in")),
    "rmdir once empty": attempt(os.rmdir, j("d")),
    "left": sorted(os.listdir(b)),
})
`,
  )
  t.deepEqual(r, {
    'mkdir over a file': E('EEXIST'),
    'mkdir over a directory': E('EEXIST'),
    'mkdir over a symlink': E('EEXIST'),
    'mkdir over a dangling symlink': E('EEXIST'),
    'mkdir in a missing directory': E('ENOENT'),
    'mkdir under a file': E('ENOTDIR'),
    'mkdir of dot': E('EEXIST'),
    'rmdir of a non-empty directory': E('ENOTEMPTY'),
    'rmdir of a file': E('ENOTDIR'),
    'rmdir of a symlink to a directory': E('ENOTDIR'),
    'rmdir of dot': E('EINVAL'),
    'rmdir of dot-dot': E('ENOTEMPTY'),
    'rmdir of a missing name': E('ENOENT'),
    'rmdir under a file': E('ENOTDIR'),
    'rmdir of an empty directory': OK,
    'unlink of a directory': E('EISDIR'),
    'unlink of a missing name': E('ENOENT'),
    'unlink under a file': E('ENOTDIR'),
    'unlink of a symlink': OK,
    "the symlink's target is still there": true,
    'unlink of a file': OK,
    'rmdir once empty': OK,
    left: ['dangling', 'f', 'l'],
  })
})

test('rename: every POSIX case, with the errno Linux gives', async (t) => {
  const dir = await target(t)
  const r = await probe<Record<string, unknown>>(
    dir,
    FIXTURE +
      String.raw`
os.mkdir(j("full"))
open(j("full", "x"), "w").write("x")
os.mkdir(j("p"))
os.mkdir(j("p", "q"))
open(j("g"), "w").write("g")
open(j("g2"), "w").write("g2")
open(j("h"), "w").write("h")
os.link(j("h"), j("h2"))
r = {}
r["file onto a new name"] = attempt(os.rename, j("f"), j("f1"))
r["file onto an existing file"] = attempt(os.rename, j("f1"), j("g"))
r["replaced file's content"] = open(j("g")).read()
r["file onto a directory"] = attempt(os.rename, j("g"), j("e"))
r["directory onto a file"] = attempt(os.rename, j("e"), j("g"))
os.mkdir(j("empty"))
r["directory onto an empty directory"] = attempt(os.rename, j("e"), j("empty"))
r["directory onto a non-empty directory"] = attempt(os.rename, j("empty"), j("full"))
r["directory into itself"] = attempt(os.rename, j("p"), j("p", "q", "r"))
r["directory onto its own child"] = attempt(os.rename, j("p"), j("p", "q"))
r["child onto its ancestor"] = attempt(os.rename, j("p", "q"), j("p"))
r["missing source"] = attempt(os.rename, j("nope"), j("x"))
r["into a missing directory"] = attempt(os.rename, j("g"), j("nope", "x"))
r["under a file"] = attempt(os.rename, j("g"), j("g2", "x"))
r["source under a file"] = attempt(os.rename, j("g2", "x"), j("y"))
r["onto itself"] = attempt(os.rename, j("g"), j("g"))
r["onto another link of the same file"] = attempt(os.rename, j("h"), j("h2"))
r["both links remain"] = [os.path.exists(j("h")), os.path.exists(j("h2")), os.stat(j("h")).st_nlink]
r["dot as source"] = attempt(os.rename, j("d", "."), j("x"))
r["dot as target"] = attempt(os.rename, j("d"), j("empty", "."))
r["a symlink is renamed, not its target"] = attempt(os.rename, j("l"), j("l2"))
r["symlink target untouched"] = os.readlink(j("l2"))
r["noreplace onto an existing name"] = attempt(renameat2, j("g"), j("g2"), RENAME_NOREPLACE)
r["exchange with a missing name"] = attempt(renameat2, j("g"), j("nope"), RENAME_EXCHANGE)
r["exchange file and directory"] = attempt(renameat2, j("g"), j("full"), RENAME_EXCHANGE)
r["exchanged"] = [os.path.isdir(j("g")), os.path.isfile(j("full"))]
r["left"] = sorted(os.listdir(b))
out(r)
`,
  )
  t.deepEqual(r, {
    'file onto a new name': OK,
    'file onto an existing file': OK,
    "replaced file's content": 'file',
    'file onto a directory': E('EISDIR'),
    'directory onto a file': E('ENOTDIR'),
    'directory onto an empty directory': OK,
    'directory onto a non-empty directory': E('ENOTEMPTY'),
    'directory into itself': E('EINVAL'),
    'directory onto its own child': E('EINVAL'),
    'child onto its ancestor': E('ENOTEMPTY'),
    'missing source': E('ENOENT'),
    'into a missing directory': E('ENOENT'),
    'under a file': E('ENOTDIR'),
    'source under a file': E('ENOTDIR'),
    'onto itself': OK,
    'onto another link of the same file': OK,
    'both links remain': [true, true, 2],
    'dot as source': E('EBUSY'),
    'dot as target': E('EBUSY'),
    'a symlink is renamed, not its target': OK,
    'symlink target untouched': 'f',
    'noreplace onto an existing name': E('EEXIST'),
    'exchange with a missing name': E('ENOENT'),
    'exchange file and directory': OK,
    exchanged: [true, true],
    left: ['d', 'dangling', 'empty', 'full', 'g', 'g2', 'h', 'h2', 'l2', 'ld', 'p'],
  })
})

test('link and symlink: EEXIST, ENOENT, EPERM, ENOTDIR; links share the inode', async (t) => {
  const dir = await target(t)
  const r = await probe<Record<string, unknown>>(
    dir,
    FIXTURE +
      String.raw`
r = {}
r["link onto an existing name"] = attempt(os.link, j("f"), j("l"))
r["link of a missing file"] = attempt(os.link, j("nope"), j("x"))
r["link into a missing directory"] = attempt(os.link, j("f"), j("nope", "x"))
r["link of a directory"] = attempt(os.link, j("d"), j("d2"))
r["link under a file"] = attempt(os.link, j("f"), j("f", "x"))
r["link of a file"] = attempt(os.link, j("f"), j("d", "f2"))
a, c = os.stat(j("f")), os.stat(j("d", "f2"))
r["same inode, two links"] = [a.st_ino == c.st_ino, a.st_nlink, c.st_nlink]
r["link of a symlink links the symlink"] = attempt(os.link, j("l"), j("l2"), follow_symlinks=False)
r["hard-linked symlink"] = [os.path.islink(j("l2")), os.readlink(j("l2"))]
r["symlink onto an existing name"] = attempt(os.symlink, "t", j("f"))
r["symlink onto a dangling symlink"] = attempt(os.symlink, "t", j("dangling"))
r["symlink into a missing directory"] = attempt(os.symlink, "t", j("nope", "x"))
r["symlink under a file"] = attempt(os.symlink, "t", j("f", "x"))
r["symlink with a 4095-byte target"] = attempt(os.symlink, "t" * 4095, j("long"))
r["its target reads back whole"] = len(os.readlink(j("long")))
r["symlink with a 4096-byte target"] = attempt(os.symlink, "t" * 4096, j("toolong"))
r["symlink with an empty target"] = attempt(os.symlink, "", j("empty"))
out(r)
`,
  )
  t.deepEqual(r, {
    'link onto an existing name': E('EEXIST'),
    'link of a missing file': E('ENOENT'),
    'link into a missing directory': E('ENOENT'),
    'link of a directory': E('EPERM'),
    'link under a file': E('ENOTDIR'),
    'link of a file': OK,
    'same inode, two links': [true, 2, 2],
    'link of a symlink links the symlink': OK,
    'hard-linked symlink': [true, 'f'],
    'symlink onto an existing name': E('EEXIST'),
    'symlink onto a dangling symlink': E('EEXIST'),
    'symlink into a missing directory': E('ENOENT'),
    'symlink under a file': E('ENOTDIR'),
    'symlink with a 4095-byte target': OK,
    'its target reads back whole': 4095,
    'symlink with a 4096-byte target': E('ENAMETOOLONG'),
    'symlink with an empty target': E('ENOENT'),
  })
})

test('truncate: EISDIR, EINVAL for a negative size, ENOENT, ENOTDIR; EINVAL on a read-only descriptor', async (t) => {
  const dir = await target(t)
  const r = await probe<Record<string, unknown>>(
    dir,
    FIXTURE +
      String.raw`
r = {}
r["a directory"] = attempt(os.truncate, j("d"), 0)
r["negative size"] = attempt(os.truncate, j("f"), -1)
r["missing"] = attempt(os.truncate, j("nope"), 0)
r["under a file"] = attempt(os.truncate, j("f", "x"), 0)
fd = os.open(j("f"), os.O_RDONLY)
r["ftruncate of a read-only descriptor"] = attempt(os.ftruncate, fd, 0)
os.close(fd)
fd = os.open(j("f"), os.O_RDWR)
r["ftruncate negative"] = attempt(os.ftruncate, fd, -5)
os.close(fd)
r["through a symlink"] = attempt(os.truncate, j("l"), 2)
r["size after"] = os.stat(j("f")).st_size
r["content after"] = open(j("f")).read()
out(r)
`,
  )
  t.deepEqual(r, {
    'a directory': E('EISDIR'),
    'negative size': E('EINVAL'),
    missing: E('ENOENT'),
    'under a file': E('ENOTDIR'),
    'ftruncate of a read-only descriptor': E('EINVAL'),
    'ftruncate negative': E('EINVAL'),
    'through a symlink': OK,
    'size after': 2,
    'content after': 'fi',
  })
})

test('ENAMETOOLONG: names of 256 bytes (255 work), paths longer than 4096 bytes', async (t) => {
  const dir = await target(t)
  const r = await probe<Record<string, unknown>>(
    dir,
    FIXTURE +
      String.raw`
ok, long = "n" * 255, "n" * 256
def create(path):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
r = {}
r["create 255"] = attempt(create, j(ok))
r["listed"] = ok in os.listdir(b)
r["create 256"] = attempt(create, j(long))
r["create 256, multi-byte"] = attempt(create, j("\u00e9" * 128))
r["create 255, multi-byte"] = attempt(create, j("\u00e9" * 127 + "x"))
r["mkdir 256"] = attempt(os.mkdir, j(long))
r["stat 256"] = attempt(os.stat, j(long))
r["symlink named 256"] = attempt(os.symlink, "f", j(long))
r["rename to 256"] = attempt(os.rename, j("f"), j(long))
r["link to 256"] = attempt(os.link, j("f"), j(long))
r["a 256-byte directory in the path"] = attempt(os.stat, j(long, "x"))
# A path of more than 4096 bytes, made of names that each exist up to the limit.
deep = b
while len(deep) < 3900:
    deep = os.path.join(deep, "a" * 100)
    os.mkdir(deep)
r["stat a path of 4095 bytes"] = attempt(os.stat, deep + "/" + "b" * (4094 - len(deep)))
r["stat a path of 4096 bytes"] = attempt(os.stat, deep + "/" + "b" * (4095 - len(deep)))
r["create with a path of 4097 bytes"] = attempt(create, deep + "/" + "b" * (4096 - len(deep)))
out(r)
`,
  )
  t.deepEqual(r, {
    'create 255': OK,
    listed: true,
    'create 256': E('ENAMETOOLONG'),
    'create 256, multi-byte': E('ENAMETOOLONG'),
    'create 255, multi-byte': OK,
    'mkdir 256': E('ENAMETOOLONG'),
    'stat 256': E('ENAMETOOLONG'),
    'symlink named 256': E('ENAMETOOLONG'),
    'rename to 256': E('ENAMETOOLONG'),
    'link to 256': E('ENAMETOOLONG'),
    'a 256-byte directory in the path': E('ENAMETOOLONG'),
    'stat a path of 4095 bytes': E('ENOENT'),
    'stat a path of 4096 bytes': E('ENAMETOOLONG'),
    'create with a path of 4097 bytes': E('ENAMETOOLONG'),
  })
})

// Set up by root for the checks as nobody: files and directories of root's and nobody's with
// chosen modes. (No sticky directories: sticky-bit semantics are not part of these checks.)
const PERMISSION_FIXTURE = String.raw`
def made(path, mode, uid=0, gid=0, content="data", directory=False):
    if directory:
        os.mkdir(path)
    else:
        open(path, "w").write(content)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
made(j("root644"), 0o644)
made(j("root600"), 0o600)
made(j("root666"), 0o666)
made(j("group640"), 0o640, 0, 65534)
made(j("group660"), 0o660, 0, 65534)
made(j("nobody044"), 0o044, 65534, 65534)
made(j("nobody644"), 0o644, 65534, 65534)
made(j("rootdir755"), 0o755, directory=True)
made(j("rootdir700"), 0o700, directory=True)
made(j("rootdir711"), 0o711, directory=True)
made(j("rootdir744"), 0o744, directory=True)
made(j("rootdir777"), 0o777, directory=True)
made(j("rootdir755", "inside"), 0o644)
made(j("rootdir755", "mine"), 0o666, 65534, 65534)
made(j("rootdir700", "inside"), 0o644)
made(j("rootdir711", "inside"), 0o644)
made(j("rootdir744", "inside"), 0o644)
made(j("rootdir777", "roots"), 0o644)
made(j("exec644"), 0o644)
made(j("exec744"), 0o744)
made(j("exec001"), 0o001)
`

test('permission checks for another user: read, write, search, list, create, remove', async (t) => {
  const dir = await target(t)
  await probe(dir, `${PERMISSION_FIXTURE}\nout(None)`)
  const r = await probe<Record<string, Attempt>>(
    dir,
    String.raw`
def read(path):
    with open(path) as f: return f.read()
def write(path):
    with open(path, "a") as f: f.write("!")
def create(path):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
out({
    "read others' 644": attempt(read, j("root644")),
    "write others' 644": attempt(write, j("root644")),
    "read others' 600": attempt(read, j("root600")),
    "write others' 666": attempt(write, j("root666")),
    "read group 640 as a member": attempt(read, j("group640")),
    "write group 640 as a member": attempt(write, j("group640")),
    "write group 660 as a member": attempt(write, j("group660")),
    "read own 044 (owner bits rule)": attempt(read, j("nobody044")),
    "write own 644": attempt(write, j("nobody644")),
    "create in others' 755": attempt(create, j("rootdir755", "new")),
    "create in 777": attempt(create, j("rootdir777", "new")),
    "remove own file from others' 755": attempt(os.unlink, j("rootdir755", "mine")),
    "rename own file out of others' 755": attempt(os.rename, j("rootdir755", "mine"), j("rootdir777", "mine")),
    "remove others' file from 777": attempt(os.unlink, j("rootdir777", "roots")),
    "stat inside 700": attempt(lambda p: None if os.stat(p) else None, j("rootdir700", "inside")),
    "list 700": attempt(os.listdir, j("rootdir700")),
    "stat inside 711": attempt(lambda p: None if os.stat(p) else None, j("rootdir711", "inside")),
    "list 711": attempt(os.listdir, j("rootdir711")),
    "list 744": attempt(os.listdir, j("rootdir744")),
    "stat inside 744": attempt(lambda p: None if os.stat(p) else None, j("rootdir744", "inside")),
    "mkdir in others' 755": attempt(os.mkdir, j("rootdir755", "sub")),
    "rmdir others' empty dir from root's 755": attempt(os.rmdir, j("rootdir700")),
    "access X_OK of 644": {"ok": os.access(j("exec644"), os.X_OK)},
})
`,
    NOBODY,
  )
  t.deepEqual(r, {
    "read others' 644": { ok: 'data' },
    "write others' 644": E('EACCES'),
    "read others' 600": E('EACCES'),
    "write others' 666": OK,
    'read group 640 as a member': { ok: 'data' },
    'write group 640 as a member': E('EACCES'),
    'write group 660 as a member': OK,
    'read own 044 (owner bits rule)': E('EACCES'),
    'write own 644': OK,
    "create in others' 755": E('EACCES'),
    'create in 777': OK,
    "remove own file from others' 755": E('EACCES'),
    "rename own file out of others' 755": E('EACCES'),
    "remove others' file from 777": OK,
    'stat inside 700': E('EACCES'),
    'list 700': E('EACCES'),
    'stat inside 711': OK,
    'list 711': E('EACCES'),
    'list 744': { ok: ['inside'] },
    'stat inside 744': E('EACCES'),
    "mkdir in others' 755": E('EACCES'),
    "rmdir others' empty dir from root's 755": E('EACCES'),
    'access X_OK of 644': { ok: false },
  })
  // Root passes read and write checks, but executes only what some execute bit allows.
  const root = await probe<Record<string, boolean>>(
    dir,
    'out({m: os.access(j(m), os.X_OK) for m in ["exec644", "exec744", "exec001"]} | {"write 600": os.access(j("root600"), os.W_OK)})',
  )
  t.deepEqual(root, { exec644: false, exec744: true, exec001: true, 'write 600': true })
})

test('chmod, chown and utimens by a non-owner are EPERM; what an owner may and may not change', async (t) => {
  const dir = await target(t)
  await probe(dir, `${PERMISSION_FIXTURE}\nmade(j("sgid-target"), 0o755, 65534, 0)\nout(None)`)
  const r = await probe<Record<string, unknown>>(
    dir,
    String.raw`
r = {}
r["chmod others' file"] = attempt(os.chmod, j("root666"), 0o777)
r["chown others' file to me"] = attempt(os.chown, j("root666"), 65534, -1)
r["chown own file to root"] = attempt(os.chown, j("nobody644"), 0, -1)
r["chgrp own file to a group I am not in"] = attempt(os.chown, j("nobody644"), -1, 0)
r["chown own file to myself"] = attempt(os.chown, j("nobody644"), 65534, 65534)
r["chown own file, nothing changed"] = attempt(os.chown, j("nobody644"), -1, -1)
r["utimes with explicit times on others' writable file"] = attempt(os.utime, j("root666"), (1, 2))
r["utimes to now on others' writable file"] = attempt(os.utime, j("root666"), None)
r["utimes to now on others' read-only file"] = attempt(os.utime, j("root644"), None)
r["chmod own file"] = attempt(os.chmod, j("nobody644"), 0o4750)
r["own file's mode"] = oct(os.stat(j("nobody644")).st_mode & 0o7777)
r["utimes with explicit times on own file"] = attempt(os.utime, j("nobody644"), (1, 2))
r["own file's mtime"] = os.stat(j("nobody644")).st_mtime
# Setting set-group-ID on a file of a group I am not in: the kernel silently drops the bit.
r["chmod g+s, group not mine"] = attempt(os.chmod, j("sgid-target"), 0o2755)
r["its mode"] = oct(os.stat(j("sgid-target")).st_mode & 0o7777)
out(r)
`,
    NOBODY,
  )
  t.deepEqual(r, {
    "chmod others' file": E('EPERM'),
    "chown others' file to me": E('EPERM'),
    'chown own file to root': E('EPERM'),
    'chgrp own file to a group I am not in': E('EPERM'),
    'chown own file to myself': OK,
    'chown own file, nothing changed': OK,
    "utimes with explicit times on others' writable file": E('EPERM'),
    "utimes to now on others' writable file": OK,
    "utimes to now on others' read-only file": E('EACCES'),
    'chmod own file': OK,
    "own file's mode": '0o4750',
    'utimes with explicit times on own file': OK,
    "own file's mtime": 2,
    'chmod g+s, group not mine': OK,
    'its mode': '0o755',
  })
  // Nothing changed that a refused call should have changed.
  const after = await probe<Record<string, unknown>>(
    dir,
    'out({n: [oct(os.stat(j(n)).st_mode & 0o7777), os.stat(j(n)).st_uid, os.stat(j(n)).st_gid] for n in ["root666", "nobody644"]})',
  )
  t.deepEqual(after, { root666: ['0o666', 0, 0], nobody644: ['0o4750', 65534, 65534] })
})

test('ctime changes with chmod, chown (also to the same owner), link, unlink, rename, write and truncate, and not with reads', async (t) => {
  const dir = await target(t)
  const r = await probe<Record<string, unknown>>(
    dir,
    String.raw`
open(j("f"), "w").write("data")
os.mkdir(j("d"))
def changes(what, action, path=None):
    path = path or j("f")
    before = os.stat(path)
    time.sleep(0.02)
    action()
    after = os.stat(path if os.path.exists(path) else j("f"))
    return {"ctime": after.st_ctime_ns > before.st_ctime_ns, "mtime": after.st_mtime_ns > before.st_mtime_ns}
def write():
    with open(j("f"), "a") as f: f.write("more")
def read():
    with open(j("f")) as f: f.read()
r = {}
r["chmod"] = changes("chmod", lambda: os.chmod(j("f"), 0o600))
r["chown"] = changes("chown", lambda: os.chown(j("f"), 123, 456))
r["chown to the same owner (-1, -1)"] = changes("chown", lambda: os.chown(j("f"), -1, -1))
r["link"] = changes("link", lambda: os.link(j("f"), j("f2")))
r["unlink of the other link"] = changes("unlink", lambda: os.unlink(j("f2")))
r["rename"] = changes("rename", lambda: os.rename(j("f"), j("g")) or os.rename(j("g"), j("f")))
r["write"] = changes("write", write)
r["truncate"] = changes("truncate", lambda: os.truncate(j("f"), 1))
r["utimes"] = changes("utimes", lambda: os.utime(j("f"), (5, 5)))
r["read"] = changes("read", read)
r["stat"] = changes("stat", lambda: os.stat(j("f")))
# The directory whose entries change: mtime and ctime.
r["dir: create"] = changes("create", lambda: open(j("d", "x"), "w").close(), j("d"))
r["dir: rename within"] = changes("rename", lambda: os.rename(j("d", "x"), j("d", "y")), j("d"))
r["dir: unlink"] = changes("unlink", lambda: os.unlink(j("d", "y")), j("d"))
r["dir: mkdir"] = changes("mkdir", lambda: os.mkdir(j("d", "s")), j("d"))
r["dir: rmdir"] = changes("rmdir", lambda: os.rmdir(j("d", "s")), j("d"))
r["dir: listing"] = changes("listdir", lambda: os.listdir(j("d")), j("d"))
out(r)
`,
  )
  const both = { ctime: true, mtime: true }
  const ctimeOnly = { ctime: true, mtime: false }
  const neither = { ctime: false, mtime: false }
  t.deepEqual(r, {
    chmod: ctimeOnly,
    chown: ctimeOnly,
    'chown to the same owner (-1, -1)': ctimeOnly,
    link: ctimeOnly,
    'unlink of the other link': ctimeOnly,
    rename: ctimeOnly,
    write: both,
    truncate: both,
    utimes: { ctime: true, mtime: false },
    read: neither,
    stat: neither,
    'dir: create': both,
    'dir: rename within': both,
    'dir: unlink': both,
    'dir: mkdir': both,
    'dir: rmdir': both,
    'dir: listing': neither,
  })
})

test('set-user-ID and set-group-ID are cleared by writes of non-root users and by chown', async (t) => {
  const dir = await target(t)
  await probe(
    dir,
    String.raw`
def made(name, mode, uid=65534, gid=65534, directory=False):
    if directory:
        os.mkdir(j(name))
    else:
        open(j(name), "w").write("#!/bin/sh\n")
    os.chown(j(name), uid, gid)
    os.chmod(j(name), mode)
for name, mode in [("w-both", 0o6777), ("w-sgid-noexec", 0o2666), ("w-suid", 0o4766), ("t-both", 0o6777),
                   ("root-writes", 0o6777), ("own-both", 0o6775), ("chown-both", 0o6755), ("chown-sgid-noexec", 0o2644)]:
    made(name, mode)
made("chown-dir", 0o6755, directory=True)
out(None)
`,
  )
  const byNobody = await probe<Record<string, string>>(
    dir,
    String.raw`
def append(name):
    with open(j(name), "a") as f: f.write("echo\n")
    return oct(os.stat(j(name)).st_mode & 0o7777)
out({
    "write to 6777": append("w-both"),
    "write to 2666 (no group execute)": append("w-sgid-noexec"),
    "write to 4766": append("w-suid"),
    "write to own 6775": append("own-both"),
    "truncate 6777": (os.truncate(j("t-both"), 3), oct(os.stat(j("t-both")).st_mode & 0o7777))[1],
})
`,
    NOBODY,
  )
  t.deepEqual(byNobody, {
    'write to 6777': '0o777',
    'write to 2666 (no group execute)': '0o2666',
    'write to 4766': '0o766',
    'write to own 6775': '0o775',
    'truncate 6777': '0o777',
  })
  const byRoot = await probe<Record<string, string>>(
    dir,
    String.raw`
with open(j("root-writes"), "a") as f: f.write("echo\n")
def chowned(name, uid, gid):
    os.chown(j(name), uid, gid)
    return oct(os.stat(j(name)).st_mode & 0o7777)
out({
    "root writes 6777": oct(os.stat(j("root-writes")).st_mode & 0o7777),
    "chown of 6755": chowned("chown-both", 0, 0),
    "chown of 2644 (no group execute)": chowned("chown-sgid-noexec", 0, 0),
    "chown of a 6755 directory": chowned("chown-dir", 0, 0),
})
`,
  )
  t.deepEqual(byRoot, {
    'root writes 6777': '0o6777',
    'chown of 6755': '0o755',
    'chown of 2644 (no group execute)': '0o2644',
    'chown of a 6755 directory': '0o6755',
  })
})

test('new nodes: modes after umask, the caller as owner, set-group-ID directories, parent link counts', async (t) => {
  const dir = await target(t)
  await probe(dir, 'os.mkdir(j("sgid")); os.chmod(j("sgid"), 0o2777); os.mkdir(j("open")); os.chmod(j("open"), 0o777)\nout(None)')
  const r = await probe<Record<string, unknown>>(
    dir,
    String.raw`
def info(path):
    st = os.lstat(path)
    return [oct(st.st_mode & 0o7777), st.st_uid, st.st_gid]
def create(path, mode):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    return info(path)
def mkdir(path, mode):
    os.mkdir(path, mode)
    return info(path)
os.umask(0o027)
r = {}
r["file 0666, umask 027"] = create(j("open", "f"), 0o666)
r["dir 0777, umask 027"] = mkdir(j("open", "d"), 0o777)
os.symlink("target", j("open", "l"))
r["symlink"] = info(j("open", "l"))
os.umask(0)
r["file 0777, umask 0"] = create(j("open", "g"), 0o777)
# In a set-group-ID directory of a group I am not in: the directory's group; a subdirectory
# inherits the bit; a file asking for set-group-ID with group execute does not get it.
r["file in sgid dir"] = create(j("sgid", "f"), 0o644)
r["dir in sgid dir"] = mkdir(j("sgid", "d"), 0o755)
r["sgid file in sgid dir"] = create(j("sgid", "s"), 0o2755)
out(r)
`,
    NOBODY,
  )
  t.deepEqual(r, {
    'file 0666, umask 027': ['0o640', 65534, 65534],
    'dir 0777, umask 027': ['0o750', 65534, 65534],
    symlink: ['0o777', 65534, 65534],
    'file 0777, umask 0': ['0o777', 65534, 65534],
    'file in sgid dir': ['0o644', 65534, 0],
    'dir in sgid dir': ['0o2755', 65534, 0],
    'sgid file in sgid dir': ['0o755', 65534, 0],
  })
  // A directory's link count is 2 plus its subdirectories, following them as they move.
  const links = await probe<Record<string, number[]>>(
    dir,
    String.raw`
n = lambda *p: os.stat(j(*p)).st_nlink
os.mkdir(j("a")); os.mkdir(j("b")); os.mkdir(j("a", "x")); os.mkdir(j("a", "y"))
r = {"created": [n("a"), n("b")]}
os.rename(j("a", "x"), j("b", "x"))
r["moved one"] = [n("a"), n("b")]
os.mkdir(j("b", "empty"))
os.rename(j("a", "y"), j("b", "empty"))
r["replaced an empty one"] = [n("a"), n("b")]
os.rmdir(j("b", "x"))
r["removed one"] = [n("a"), n("b")]
out(r)
`,
  )
  t.deepEqual(links, { created: [4, 2], 'moved one': [3, 3], 'replaced an empty one': [2, 4], 'removed one': [2, 3] })
})
