// The FUSE inode table forgets what the kernel forgets: once the kernel evicts files from its
// inode cache (FORGET / BATCH_FORGET), the mount's count of known inodes falls back, so memory
// follows what the kernel remembers rather than everything ever looked up. The tests make only
// their own mount's kernel forget (by invalidating the names it served), never the whole
// machine's caches, which other test files' mounts rely on while they run.
import test, { type ExecutionContext } from 'ava'
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises'
import { createMemfs } from '../examples/memfs'
import { sleep } from './helpers/fs'
import { knownInodesFallTo, mountFs } from './helpers/mount'
import { py } from './helpers/python'

const DIRECTORIES = 4
const FILES_PER_DIRECTORY = 250
const TREE_INODES = DIRECTORIES * (FILES_PER_DIRECTORY + 1)

/** Creates the tree and stats every file, so the kernel holds an inode for each. */
async function makeTree(p: (name: string) => string): Promise<void> {
  for (let d = 0; d < DIRECTORIES; d++) {
    await mkdir(p(`d${d}`))
    for (let f = 0; f < FILES_PER_DIRECTORY; f++) await writeFile(p(`d${d}/f${f}`), 'x')
  }
  for (let d = 0; d < DIRECTORIES; d++) {
    for (const name of await readdir(p(`d${d}`))) await stat(p(`d${d}/${name}`))
  }
}

async function treeMount(t: ExecutionContext) {
  // Long timeouts: nothing but the explicit invalidations below makes the kernel let go.
  const mounted = await mountFs(t, createMemfs(), { attrTimeoutMs: 3_600_000, entryTimeoutMs: 3_600_000 })
  t.is(mounted.m.stats().knownInodes, 1, 'a fresh mount knows only its root')
  await makeTree(mounted.p)
  t.true(mounted.m.stats().knownInodes >= TREE_INODES + 1, `${mounted.m.stats().knownInodes} inodes known after the tree`)
  return mounted
}

test('known inodes fall back file by file as the kernel forgets the names the mount invalidates', async (t) => {
  const { m } = await treeMount(t)
  // Each file's name alone: the kernel drops that dentry and forgets the file, while the
  // directories, still cached, stay known.
  for (let d = 0; d < DIRECTORIES; d++) {
    for (let f = 0; f < FILES_PER_DIRECTORY; f++) await m.invalidateEntry(`/d${d}/f${f}`)
  }
  t.is(await knownInodesFallTo(m, DIRECTORIES + 1), DIRECTORIES + 1, 'the files were forgotten, the directories were not')
  for (let d = 0; d < DIRECTORIES; d++) await m.invalidateEntry(`/d${d}`)
  t.is(await knownInodesFallTo(m, 1), 1, 'every inode but the root was forgotten')
})

test('known inodes fall back when the mount invalidates the names it served', async (t) => {
  const { m, p } = await treeMount(t)
  // Invalidating a directory's entry drops its dentry and the dentries below it: the kernel
  // then forgets their inodes, no privilege needed.
  for (let d = 0; d < DIRECTORIES; d++) await m.invalidateEntry(`/d${d}`)
  const known = await knownInodesFallTo(m, 1)
  t.is(known, 1, 'every inode but the root was forgotten')
  // The table still serves the tree: names are looked up again from scratch.
  t.is((await readdir(p('d0'))).length, FILES_PER_DIRECTORY)
  t.is((await stat(p('d3/f7'))).size, 1)
})

test('open handles are counted while open and released on close', async (t) => {
  const { m, p } = await mountFs(t, createMemfs())
  await writeFile(p('a'), 'a')
  const before = m.stats().openHandles
  t.is(before, 0, 'nothing is open')
  const file = await open(p('a'), 'r')
  const directory = await open(p(''), 'r')
  t.is(m.stats().openHandles, 2)
  await file.close()
  await directory.close()
  // release is sent after close returns.
  for (let attempt = 0; attempt < 250 && m.stats().openHandles > 0; attempt++) await sleep(20)
  t.is(m.stats().openHandles, 0)
})

// A plain listing (READDIR) gives each name's d_ino: the inode number stat() shows for a name
// the kernel has looked up, one placeholder for every other name. The table finds those names
// three ways (none known in the directory, a few, many); the numbers must not depend on which.
test('a listing gives the inode number of every name the kernel knows, one placeholder for the rest', async (t) => {
  const memfs = createMemfs()
  const setup = { uid: 0, gid: 0, pid: 0 }
  await memfs.mkdir('/d', 0o755, setup)
  // More names than the table keeps as "a few" (32) once all are known.
  const names = Array.from({ length: 40 }, (_, i) => `f${i}`)
  for (const name of names) {
    const { handle } = (await memfs.create(`/d/${name}`, 0o644, 0, setup)) as { handle: number }
    await memfs.release(`/d/${name}`, handle, 0, setup)
  }
  const { p } = await mountFs(t, memfs, { readdirPlus: false })
  const listedInodes = () =>
    py<Record<string, string>>('out({e.name: str(e.inode()) for e in os.scandir(sys.argv[1])})', [p('d')])
  const inodeOf = async (name: string) => String((await stat(p(`d/${name}`), { bigint: true })).ino)
  const unknown = await listedInodes()
  t.deepEqual(Object.keys(unknown).sort(), [...names].sort())
  const placeholder = unknown.f0
  t.deepEqual(unknown, Object.fromEntries(names.map((name) => [name, placeholder])), 'no name is known yet')
  const f7 = await inodeOf('f7')
  t.not(f7, placeholder)
  t.deepEqual(await listedInodes(), Object.fromEntries(names.map((name) => [name, name === 'f7' ? f7 : placeholder])))
  const all = await Promise.all(names.map(inodeOf))
  t.is(new Set(all).size, names.length, 'one inode per file')
  t.deepEqual(await listedInodes(), Object.fromEntries(names.map((name, i) => [name, all[i]])))
})
