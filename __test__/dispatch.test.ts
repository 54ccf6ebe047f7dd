// How one wake-up serves its batches, against a scripted stand-in for the addon's crossing:
// which drains may spin, and when replies go back. (The real crossing is exercised by every
// test that mounts.)
import test from 'ava'
import type { FileSystem, Stat } from '../index'
import type { NativeMount } from '../native'
import { Dispatcher } from '../lib/dispatch'
import { DataPlace, DRAIN_HEADER, DrainHeader, OPERATIONS, REQUEST_FIELDS, RequestField, STAT_FIELDS } from '../lib/wire.generated'

const GETATTR = OPERATIONS.findIndex((op) => op.handler === 'getattr')
const SPIN_MICROS = 50
const STAT: Stat = { kind: 'file', size: 3 }

/** What the dispatcher did, in order: drains (with the spin they allowed) and reply batches. */
type Step = { drain: number } | { replies: number[] }

/**
 * A dispatcher over a crossing that hands out one getattr of `/f` (request id 7) on the first
 * drain and nothing after, recording every call.
 */
function scripted(fs: FileSystem): { dispatcher: Dispatcher; steps: Step[] } {
  const steps: Step[] = []
  let drains = 0
  const crossing = {
    drain(slots: Float64Array, spinMicros: number): string {
      steps.push({ drain: spinMicros })
      slots.fill(0, 0, DRAIN_HEADER)
      if (drains++ > 0) return ''
      slots[DrainHeader.count] = 1
      const at = DRAIN_HEADER
      slots.fill(NaN, at, at + REQUEST_FIELDS)
      const request = { id: 7, operation: GETATTR, strings: 1, dataPlace: DataPlace.none, uid: 0, gid: 0, pid: 1 }
      for (const [field, value] of Object.entries(request)) slots[at + RequestField[field as keyof typeof request]] = value
      return '/f\0'
    },
    replyBatch(records: Float64Array, length: number) {
      const ids: number[] = []
      // Every record here is a stat: id, tag, then the packed stat.
      for (let at = 0; at < length; at += 2 + STAT_FIELDS) ids.push(records[at])
      steps.push({ replies: ids })
      return null
    },
  }
  const session = {
    crossing: () => crossing,
    rewake: () => {},
    takeEvents: () => [],
  } as unknown as NativeMount
  const dispatcher = new Dispatcher(session, fs, 128, false, SPIN_MICROS, {
    fault: (e) => {
      throw e
    },
  })
  return { dispatcher, steps }
}

/** Lets every queued microtask run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

test('a synchronous handler is answered before the next drain, which may spin', async (t) => {
  const { dispatcher, steps } = scripted({ getattr: () => STAT })
  dispatcher.wake()
  t.deepEqual(steps, [{ drain: 0 }, { replies: [7] }, { drain: SPIN_MICROS }])
})

test('an async handler with its answer at once is answered before the next drain, which may spin', async (t) => {
  const { dispatcher, steps } = scripted({
    async getattr() {
      await Promise.resolve()
      return STAT
    },
  })
  dispatcher.wake()
  await settle()
  t.deepEqual(steps, [{ drain: 0 }, { replies: [7] }, { drain: SPIN_MICROS }])
})

test('a handler waiting on I/O does not hold up its wake-up, and is answered when it settles', async (t) => {
  let ioDone!: () => void
  const io = new Promise<void>((resolve) => (ioDone = resolve))
  const { dispatcher, steps } = scripted({
    async getattr() {
      await io
      return STAT
    },
  })
  dispatcher.wake()
  await settle()
  t.deepEqual(steps, [{ drain: 0 }, { drain: 0 }], 'no spin while a handler waits, and no reply yet')
  ioDone()
  await settle()
  t.deepEqual(steps, [{ drain: 0 }, { drain: 0 }, { replies: [7] }])
})
