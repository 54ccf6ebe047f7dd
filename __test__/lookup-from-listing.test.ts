// lookupFromListing: a LOOKUP of a name that the directory's latest listing gave a stat is
// answered with that stat, without a getattr call, while the listing is current: younger than
// the shorter cache timeout, nothing changed through the mount since. Changes, invalidations
// and timeouts send lookups to getattr again, and the inode table counts the answered names
// as the kernel does.
import test from 'ava'
import type { Stats } from 'node:fs'
import { appendFile, chmod, open, readdir, rename, stat, truncate, unlink } from 'node:fs/promises'
import { createMemfs } from '../examples/memfs'
import type { MountOptions, RequestContext } from '../index'
import { override, sleep } from './helpers/fs'
import { listingFs, listThenStat } from './helpers/listing'
import { knownInodesFallTo, mountFs } from './helpers/mount'
import { py } from './helpers/python'
import { checkFileWorkload, FILE_WORKLOAD } from './helpers/workload'

const LONG = { attrTimeoutMs: 3_600_000, entryTimeoutMs: 3_600_000 }
/** More names than one page of a listing holds, with or without attributes. */
const PAGES = 1000

for (const lookupFromListing of [true, false]) {
  const answered = lookupFromListing ? 'answered from the listing' : 'each a getattr call'
  test(`readdirPlus 'auto', lookupFromListing ${lookupFromListing}: stats of a listing's later pages are ${answered}`, async (t) => {
    const counted = listingFs(PAGES)
    const { m, p } = await mountFs(t, counted.fs, { ...LONG, lookupFromListing })
    t.is(m.stats().lookupFromListing, lookupFromListing)
    const { names, stats, getattrs } = await listThenStat(p, counted)
    t.is(names.length, PAGES)
    stats.forEach((s, i) => {
      t.is(s.size, Number(names[i].slice(1)), names[i])
      t.is(s.mode, 0o100640)
    })
    // The kernel asks for attributes with the first page only; the names of the later pages
    // are looked up, one LOOKUP each.
    const handedOver = m.stats().entriesWithAttributes
    t.true(handedOver > 0 && handedOver < PAGES, `${handedOver} names went with the listing`)
    const lookedUp = PAGES - handedOver
    t.is(getattrs, lookupFromListing ? 0 : lookedUp)
    t.is(m.stats().lookupsFromListings, lookupFromListing ? lookedUp : 0)
    t.is(m.stats().knownInodes, PAGES + 2, 'the root, /d and one inode per listed file')
  })

  test(`readdirPlus false, lookupFromListing ${lookupFromListing}: stats after a listing are ${answered}`, async (t) => {
    const count = 50
    const counted = listingFs(count)
    const { m, p } = await mountFs(t, counted.fs, { ...LONG, readdirPlus: false, lookupFromListing })
    t.false(m.stats().readdirPlus)
    const { names, stats, getattrs } = await listThenStat(p, counted)
    stats.forEach((s, i) => t.is(s.size, Number(names[i].slice(1))))
    t.is(getattrs, lookupFromListing ? 0 : count)
    t.is(m.stats().lookupsFromListings, lookupFromListing ? count : 0)
    t.is(m.stats().entriesWithAttributes, 0)
  })
}

test('names listed without a stat are asked for, the others are not', async (t) => {
  const count = 40
  const counted = listingFs(count, (i) => i % 2 === 0)
  const { m, p } = await mountFs(t, counted.fs, { ...LONG, readdirPlus: false })
  const { names, stats, getattrs } = await listThenStat(p, counted)
  stats.forEach((s, i) => t.is(s.size, Number(names[i].slice(1))))
  t.is(getattrs, count / 2)
  t.is(counted.getattrs.get('/d/f1'), 1)
  t.is(counted.getattrs.get('/d/f0'), undefined)
  t.is(m.stats().lookupsFromListings, count / 2)
})

test('a name missing from the listing is asked for', async (t) => {
  const counted = listingFs(5)
  const { m, p } = await mountFs(t, counted.fs, { ...LONG, readdirPlus: false })
  await readdir(p('d'))
  await t.throwsAsync(stat(p('d/f9')), { code: 'ENOENT' })
  t.is(counted.getattrs.get('/d/f9'), 1)
  t.is(m.stats().lookupsFromListings, 0)
})

test('once the timeout has passed, lookups ask getattr again', async (t) => {
  const count = 20
  const counted = listingFs(count)
  const { m, p } = await mountFs(t, counted.fs, { attrTimeoutMs: 200, entryTimeoutMs: 300, readdirPlus: false })
  await readdir(p('d'))
  // Past the shorter timeout (attributes).
  await sleep(400)
  const names = Array.from({ length: count }, (_, i) => `f${i}`)
  const stats = await Promise.all(names.map((name) => stat(p(`d/${name}`))))
  stats.forEach((s, i) => t.is(s.size, i))
  // At least one each: a stat slower than the attribute timeout after its lookup asks again.
  t.deepEqual(names.filter((name) => (counted.getattrs.get(`/d/${name}`) ?? 0) < 1), [], 'every lookup asked getattr')
  t.is(m.stats().lookupsFromListings, 0)
})

for (const uncached of [{ attrTimeoutMs: 0 }, { entryTimeoutMs: 0 }]) {
  test(`with ${Object.keys(uncached)[0]} 0 no lookup is answered from a listing`, async (t) => {
    const count = 10
    const counted = listingFs(count)
    const { m, p } = await mountFs(t, counted.fs, { ...uncached, readdirPlus: false })
    t.false(m.stats().lookupFromListing)
    const { getattrs } = await listThenStat(p, counted)
    t.true(getattrs >= count, `every stat reached getattr (${getattrs} calls for ${count} names)`)
    t.is(m.stats().lookupsFromListings, 0)
  })
}

// Changes made through the mount after a listing: the listing's stats are old, and a lookup
// that follows must show the new truth. `/d/f` and `/d/g` are two names of one file (hard
// links), so a change made through one name is checked through the other, which the kernel
// has not looked up yet.

const SETUP_CONTEXT: RequestContext = { uid: 0, gid: 0, pid: 0 }

/** A memfs with `/d/f` (10 bytes, mode 0644), its hard link `/d/g`, and `/d/x` (5 bytes); counts getattr calls per path. */
async function changingFs() {
  const memfs = createMemfs()
  await memfs.mkdir('/d', 0o755, SETUP_CONTEXT)
  for (const [path, size] of [['/d/f', 10], ['/d/x', 5]] as const) {
    const { handle } = (await memfs.create(path, 0o644, 0, SETUP_CONTEXT)) as { handle: number }
    await memfs.write(path, handle, Buffer.alloc(size, 'a'), 0, SETUP_CONTEXT)
    await memfs.release(path, handle, 0, SETUP_CONTEXT)
  }
  await memfs.link('/d/f', '/d/g', SETUP_CONTEXT)
  const getattrs = new Map<string, number>()
  const fs = override(memfs, {
    getattr(path, handle, ctx) {
      getattrs.set(path, (getattrs.get(path) ?? 0) + 1)
      return memfs.getattr(path, handle, ctx)
    },
  })
  return { fs, memfs, getattrs }
}

async function listedMount(t: Parameters<typeof mountFs>[0], options: MountOptions = {}) {
  const counted = await changingFs()
  const mounted = await mountFs(t, counted.fs, { ...LONG, readdirPlus: false, ...options })
  t.deepEqual((await readdir(mounted.p('d'))).sort(), ['f', 'g', 'x'])
  return { ...counted, ...mounted }
}

test('without a change since the listing, the other name of a file is answered from it', async (t) => {
  const { m, p, getattrs } = await listedMount(t)
  t.is((await stat(p('d/f'))).size, 10)
  const g = await stat(p('d/g'))
  t.is(g.size, 10)
  t.is(g.ino, (await stat(p('d/f'))).ino, 'both names lead to the one inode')
  t.is(getattrs.get('/d/g'), undefined)
  t.is(m.stats().lookupsFromListings, 2)
})

const changes: Array<[string, (p: (name: string) => string) => Promise<void>, (s: Stats) => number, number]> = [
  ['a write', (p) => appendFile(p('d/f'), 'more'), (s) => s.size, 14],
  ['a truncate', (p) => truncate(p('d/f'), 3), (s) => s.size, 3],
  ['a chmod', (p) => chmod(p('d/f'), 0o600), (s) => s.mode & 0o7777, 0o600],
]
for (const [change, make, shown, expected] of changes) {
  test(`after ${change} through the mount, a lookup shows the new attributes`, async (t) => {
    const { p, getattrs } = await listedMount(t)
    await make(p)
    t.is(shown(await stat(p('d/g'))), expected)
    t.is(getattrs.get('/d/g'), 1, 'the lookup asked getattr')
  })
}

test('after a rename through the mount, the old name is gone', async (t) => {
  const { p } = await listedMount(t)
  await rename(p('d/x'), p('d/f'))
  await t.throwsAsync(stat(p('d/x')), { code: 'ENOENT' })
  t.is((await stat(p('d/f'))).size, 5)
  t.is((await stat(p('d/g'))).size, 10, 'the other name still holds the file that was replaced')
})

test('after an unlink through the mount, the name is gone', async (t) => {
  const { p } = await listedMount(t)
  await unlink(p('d/x'))
  await t.throwsAsync(stat(p('d/x')), { code: 'ENOENT' })
})

test('after a change behind the mount and its invalidation, a lookup shows the new attributes', async (t) => {
  const { m, p, memfs, getattrs } = await listedMount(t)
  await memfs.truncate('/d/f', 1, undefined, SETUP_CONTEXT)
  await m.invalidate('/d/f')
  t.is((await stat(p('d/g'))).size, 1)
  t.is(getattrs.get('/d/g'), 1)
})

// A filesystem may keep what is written and commit it only at a flush, an fsync or the
// release of the file; a listing answered in between holds the old size. The flush or release
// of a file opened for writing therefore counts as a change, and so does every fsync; closing
// a file opened for reading does not.
for (const commitOn of ['flush', 'release', 'fsync'] as const) {
  test(`writes committed on ${commitOn}: a lookup after it shows them`, async (t) => {
    const counted = await changingFs()
    const { memfs } = counted
    const pending: Array<[string, number, Buffer, number]> = []
    let committed!: () => void
    const commit = new Promise<void>((resolve) => (committed = resolve))
    const commitPending = async () => {
      for (const [path, handle, data, offset] of pending.splice(0)) await memfs.write(path, handle, data, offset, SETUP_CONTEXT)
    }
    const fs = override(counted.fs, {
      write(path, handle, data, offset) {
        pending.push([path, handle, Buffer.from(data), offset])
        return data.length
      },
      // Without a flush handler the kernel sends no FLUSH: only the release can count then.
      flush: commitOn === 'flush' ? commitPending : undefined,
      fsync: commitOn === 'fsync' ? commitPending : undefined,
      async release(path, handle, flags, ctx) {
        if (commitOn === 'release') await commitPending()
        await memfs.release(path, handle, flags, ctx)
        // Past the batch of replies this handler's answer leaves with.
        setImmediate(committed)
      },
    })
    const { m, p } = await mountFs(t, fs, { ...LONG, readdirPlus: false })
    const file = await open(p('d/f'), 'r+')
    await file.write(Buffer.from('more'), 0, 4, 10)
    // Listed after the write was answered but before it was committed: g is 10 bytes here.
    t.deepEqual((await readdir(p('d'))).sort(), ['f', 'g', 'x'])
    if (commitOn === 'fsync') {
      await file.sync()
    } else {
      await file.close()
      // RELEASE follows close(2) without the caller waiting for it.
      await commit
    }
    t.is((await stat(p('d/g'))).size, 14)
    t.is(counted.getattrs.get('/d/g'), 1, 'the lookup asked getattr')
    t.is(m.stats().lookupsFromListings, 0)
    if (commitOn === 'fsync') await file.close()
  })
}

test('closing a file opened for reading leaves the listing current', async (t) => {
  const { m, p, getattrs } = await listedMount(t)
  const file = await open(p('d/f'), 'r')
  t.is((await file.read(Buffer.alloc(10), 0, 10, 0)).bytesRead, 10)
  await file.close()
  t.is((await stat(p('d/g'))).size, 10)
  t.is(getattrs.get('/d/g'), undefined, 'the lookup was answered from the listing')
  t.is(m.stats().lookupsFromListings, 2, 'f when it was opened, then g')
})

// The kernel counts a lookup for every name answered; FORGET gives them back.
test('names answered from listings are forgotten as the kernel lets go of them', async (t) => {
  const counted = listingFs(PAGES)
  const { m, p } = await mountFs(t, counted.fs, LONG)
  t.is(m.stats().knownInodes, 1)
  const { getattrs } = await listThenStat(p, counted)
  t.is(getattrs, 0)
  t.true(m.stats().lookupsFromListings > 0)
  // Listed and stated again: the names are known, the kernel asks nothing more.
  await listThenStat(p, counted)
  t.is(m.stats().knownInodes, PAGES + 2)
  // Dropping /d's name drops the names below it: the kernel forgets each inode with the
  // lookups it counted, answered from listings or not.
  await m.invalidateEntry('/d')
  t.is(await knownInodesFallTo(m, 1), 1, 'every inode but the root was forgotten: the lookup counts balanced')
  t.is((await stat(p('d/f7'))).size, 7, 'the table still serves the tree')
})

test('a workload sees the same files with and without lookups from listings', async (t) => {
  const results = []
  for (const lookupFromListing of [true, false]) {
    const { p, errors } = await mountFs(t, createMemfs(), { ...LONG, readdirPlus: false, lookupFromListing })
    results.push(await py<unknown[]>(FILE_WORKLOAD, [p('')]))
    t.deepEqual(errors, [])
  }
  const [on, off] = results
  checkFileWorkload(t, on)
  t.deepEqual(on, off)
})
