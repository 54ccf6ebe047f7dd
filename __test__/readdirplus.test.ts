// READDIRPLUS: a listing whose entries carry their stat hands the kernel each entry's
// attributes, so a stat of every listed name afterwards makes no getattr call; the inode
// table counts those entries as the kernel does, and falls back when the kernel forgets them.
import test from 'ava'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { lstat, readdir, stat } from 'node:fs/promises'
import { createMemfs } from '../examples/memfs'
import type { MountOptions, RequestContext } from '../index'
import { listingFs, listThenStat } from './helpers/listing'
import { knownInodesFallTo, mountFs } from './helpers/mount'
import { py, type Attempt } from './helpers/python'

// The test process serves the mount: a command run on it must not block the event loop.
const run = promisify(execFile)

const LONG = { attrTimeoutMs: 3_600_000, entryTimeoutMs: 3_600_000 }

/** The names of `/d` as `fs.readdir` returns them: sorted (libuv's scandir sorts). */
function expectedNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `f${i}`).sort()
}

/** The size `listingFs` gives the file called `name`. */
const sizeOf = (name: string) => Number(name.slice(1))

async function mounted(t: Parameters<typeof mountFs>[0], counted: ReturnType<typeof listingFs>, options: MountOptions) {
  const mount = await mountFs(t, counted.fs, { ...LONG, ...options })
  return mount
}

test('with readdirPlus true, stats after a listing of several pages make no getattr call', async (t) => {
  // More than the largest reply buffer the kernel asks for (128 KiB) holds.
  const count = 1000
  const counted = listingFs(count)
  const { m, p } = await mounted(t, counted, { readdirPlus: true })
  t.true(m.stats().readdirPlus, 'the kernel agreed to READDIRPLUS')
  const { names, stats, getattrs } = await listThenStat(p, counted)
  t.deepEqual(names, expectedNames(count), 'every page resumed where the last one stopped')
  t.is(getattrs, 0, 'every entry came with its attributes')
  stats.forEach((s, i) => {
    t.is(s.size, sizeOf(names[i]))
    t.is(s.mode, 0o100640)
  })
  t.is(m.stats().entriesWithAttributes, count)
  t.is(m.stats().knownInodes, count + 2, 'the root, /d and one inode per listed file')
})

// With lookupFromListing (the default) those stats are answered from the listing instead:
// lookup-from-listing.test.ts.
test('with readdirPlus false and lookupFromListing false, each stat after a listing makes a getattr call', async (t) => {
  const count = 20
  const counted = listingFs(count)
  const { m, p } = await mounted(t, counted, { readdirPlus: false, lookupFromListing: false })
  t.false(m.stats().readdirPlus)
  const { names, getattrs } = await listThenStat(p, counted)
  t.deepEqual(names, expectedNames(count))
  t.is(getattrs, count, 'one lookup per entry')
  t.is(m.stats().entriesWithAttributes, 0)
})

test('by default a listing of one page hands its attributes on', async (t) => {
  const count = 10
  const counted = listingFs(count)
  const { m, p } = await mounted(t, counted, {})
  t.true(m.stats().readdirPlus, 'readdirPlus defaults to auto, which the kernel grants')
  const { names, getattrs } = await listThenStat(p, counted)
  t.deepEqual(names, expectedNames(count))
  t.is(getattrs, 0)
})

for (const uncached of [{ attrTimeoutMs: 0 }, { entryTimeoutMs: 0 }]) {
  test(`by default, with ${Object.keys(uncached)[0]} 0, listings stay plain and each stat makes a getattr call`, async (t) => {
    const count = 10
    const counted = listingFs(count)
    const { m, p } = await mounted(t, counted, uncached)
    t.false(m.stats().readdirPlus, 'attributes that expire at once are not worth READDIRPLUS')
    const { names, getattrs } = await listThenStat(p, counted)
    t.deepEqual(names, expectedNames(count))
    t.true(getattrs >= count, `every stat reached getattr (${getattrs} calls for ${count} names)`)
    t.is(m.stats().entriesWithAttributes, 0)
  })
}

test('entries listed without a stat are looked up when used, the others are not', async (t) => {
  const count = 40
  const counted = listingFs(count, (i) => i % 2 === 0)
  const { m, p } = await mounted(t, counted, { readdirPlus: true })
  const { names, stats, getattrs } = await listThenStat(p, counted)
  t.deepEqual(names, expectedNames(count))
  t.is(getattrs, count / 2, 'only the entries without a stat cost a getattr')
  stats.forEach((s, i) => t.is(s.size, sizeOf(names[i])))
  t.is(counted.getattrs.get('/d/f1'), 1)
  t.is(counted.getattrs.get('/d/f0'), undefined)
  t.is(m.stats().entriesWithAttributes, count / 2)
  // `.` and `..` are listed (glibc's readdir, as ls uses it), and kinds are right.
  const listed = (await run('ls', ['-a', '-F', p('d')])).stdout.split('\n').filter(Boolean)
  t.deepEqual(listed.slice(0, 2), ['./', '../'])
  t.is(listed.length, count + 2)
})

test('a listing resumed at an offset is the same with and without READDIRPLUS', async (t) => {
  const count = 1000
  const plus = listingFs(count)
  const plain = listingFs(count)
  const withPlus = await mounted(t, plus, { readdirPlus: true })
  const without = await mounted(t, plain, { readdirPlus: false })
  // ls -f reads the directory in pages of its own size, without sorting.
  const list = async (dir: string) => (await run('ls', ['-f', dir], { maxBuffer: 1 << 20 })).stdout
  const a = await list(withPlus.p('d'))
  t.is(a, await list(without.p('d')))
  t.is(a.split('\n').filter(Boolean).length, count + 2)
})

test('inodes handed over by READDIRPLUS are forgotten when the kernel lets go of them', async (t) => {
  const count = 500
  const counted = listingFs(count)
  const { m, p } = await mounted(t, counted, { readdirPlus: true })
  // Listed twice: the second listing hands the same names over again, each one more lookup
  // that the kernel will forget too.
  await readdir(p('d'))
  await readdir(p('d'))
  await lstat(p('d/f3'))
  t.is(m.stats().knownInodes, count + 2)
  // Dropping /d's name drops the names below it: the kernel forgets each inode with the
  // lookups it counted. (Dropping the kernel's caches machine-wide would do the same, but
  // also to the mounts of tests running in parallel.)
  await m.invalidateEntry('/d')
  const known = await knownInodesFallTo(m, 1)
  t.is(known, 1, 'every inode but the root was forgotten: the lookup counts balanced')
  // The table still serves the tree afterwards.
  t.is((await stat(p('d/f7'))).size, 7)
})

// A listing is read once, at offset 0, and later pages come from that snapshot. A change made
// through the mount between two pages must not reach the kernel as the snapshot's stale stats:
// the kernel would apply them over what it already knows.

const SETUP_CONTEXT: RequestContext = { uid: 0, gid: 0, pid: 0 }
/** Files in the directory below: several pages of a listing. */
const PAGED = 400

/** A memfs whose `/d` holds `f0` … `f{PAGED-1}`, 10 bytes each, made before mounting. */
async function pagedMemfs() {
  const fs = createMemfs()
  await fs.mkdir('/d', 0o755, SETUP_CONTEXT)
  for (let i = 0; i < PAGED; i++) {
    const path = `/d/f${i}`
    const { handle } = (await fs.create(path, 0o644, 0, SETUP_CONTEXT)) as { handle: number }
    await fs.write(path, handle, Buffer.alloc(10, 'a'), 0, SETUP_CONTEXT)
    await fs.release(path, handle, 0, SETUP_CONTEXT)
  }
  return fs
}

// Reads the first page of /d, appends 100 bytes to every file, reads the rest of the listing
// from the same open directory, then stats and reads the files.
const GROW_BETWEEN_PAGES = `
d, n = sys.argv[1], int(sys.argv[2])
names = ["f%d" % i for i in range(n)]
listing = os.scandir(d)
listed = [next(listing).name]
for name in names:
    with open(os.path.join(d, name), "ab") as f:
        f.write(b"x" * 100)
listed += [e.name for e in listing]
with open(os.path.join(d, names[-1]), "rb") as f:
    read_back = len(f.read())
out({"listed": len(listed), "readBack": read_back,
     "wrongSizes": [name for name in names if os.stat(os.path.join(d, name)).st_size != 110]})
`

// Reads the first page of /d, unlinks its last file, then reads the rest of the listing.
const UNLINK_BETWEEN_PAGES = `
d, victim = sys.argv[1], os.path.join(sys.argv[1], sys.argv[2])
listing = os.scandir(d)
listed = [next(listing).name]
os.unlink(victim)
listed += [e.name for e in listing]
out({"listed": len(listed), "exists": os.path.exists(victim),
     "open": attempt(lambda: open(victim, "rb").read().decode())})
`

for (const readdirPlus of ['auto', true, false] as const) {
  test(`readdirPlus ${readdirPlus}: files written between two pages of a listing keep their new size`, async (t) => {
    const fs = await pagedMemfs()
    const { m, p } = await mountFs(t, fs, { ...LONG, readdirPlus })
    const r = await py<{ listed: number; readBack: number; wrongSizes: string[] }>(GROW_BETWEEN_PAGES, [p('d'), PAGED])
    t.is(r.listed, PAGED)
    t.deepEqual(r.wrongSizes, [], 'no size went back to what the listing read')
    t.is(r.readBack, 110)
    if (readdirPlus !== false) {
      t.true(m.stats().entriesWithAttributes > 0, 'the first page went with attributes')
      t.true(m.stats().entriesWithAttributes < PAGED, 'the pages after the writes went without')
    }
  })

  test(`readdirPlus ${readdirPlus}: a name unlinked between two pages of a listing stays gone`, async (t) => {
    const fs = await pagedMemfs()
    const { p } = await mountFs(t, fs, { ...LONG, readdirPlus })
    const r = await py<{ listed: number; exists: boolean; open: Attempt<string> }>(UNLINK_BETWEEN_PAGES, [p('d'), `f${PAGED - 1}`])
    t.false(r.exists, 'the kernel has no name for the unlinked file')
    t.deepEqual(r.open, { error: 'ENOENT' })
  })
}
