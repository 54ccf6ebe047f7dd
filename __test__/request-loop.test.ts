// mountkit's own FUSE request loop: the JavaScript thread reads requests itself while it spins
// after a batch (`readWhileSpinning`), and a workload gives the same results whichever
// thread read its requests.
import test from 'ava'
import { createMemfs } from '../examples/memfs'
import type { MountOptions } from '../index'
import { mountFs } from './helpers/mount'
import { py } from './helpers/python'
import { checkFileWorkload, FILE_WORKLOAD } from './helpers/workload'

// A client in another process: one in this process would wait for the JavaScript thread, so
// its next request could never arrive while that thread spins.
const STAT_LOOP = `
import os, sys
path, count = sys.argv[1], int(sys.argv[2])
for _ in range(count):
    os.stat(path)
out(count)
`

// A long spin makes it near certain that some of the client's requests arrive during one. The
// JavaScript thread reads from /dev/fuse, so these mounts take no io_uring ring (which would
// deliver the requests instead).
const SPINNING: MountOptions = { spinMicros: 2000, attrTimeoutMs: 0, entryTimeoutMs: 0, ioUring: false }

test('while it spins, the JavaScript thread reads requests from the kernel itself', async (t) => {
  const { p, m, errors } = await mountFs(t, createMemfs(), SPINNING)
  // Whether a request arrives while the thread spins depends on what else the machine runs
  // (on a busy one a whole loop can miss every spin), so the loop runs again, ten times at
  // most, until one of its requests was read there.
  let read = 0
  for (let round = 1; round <= 10 && read === 0; round++) {
    await py(STAT_LOOP, [p(''), 2000])
    read = m.stats().requestsReadWhileSpinning
    t.log(`round ${round}: ${read} of the stat loop's requests were read by the JavaScript thread`)
  }
  t.true(read > 0)
  t.deepEqual(errors, [])
})

test('readWhileSpinning: false leaves every request to the backend threads', async (t) => {
  const { p, m, errors } = await mountFs(t, createMemfs(), { ...SPINNING, readWhileSpinning: false })
  await py(STAT_LOOP, [p(''), 2000])
  t.is(m.stats().requestsReadWhileSpinning, 0)
  t.deepEqual(errors, [])
})

test('a workload sees the same files whichever thread reads its requests', async (t) => {
  const results = []
  for (const readWhileSpinning of [true, false]) {
    const { p, errors } = await mountFs(t, createMemfs(), { ...SPINNING, readWhileSpinning })
    results.push(await py<unknown[]>(FILE_WORKLOAD, [p('')]))
    t.deepEqual(errors, [])
  }
  const [on, off] = results
  checkFileWorkload(t, on)
  t.deepEqual(on, off)
})
