// FUSE over io_uring (`ioUring`): where the kernel offers it, a mount that asks for it takes
// its requests through the ring and a workload gives the same results as through /dev/fuse;
// where it does not, `ioUring: true` fails with advice and 'auto' mounts on /dev/fuse.
import test from 'ava'
import { existsSync, readFileSync } from 'node:fs'
import { createMemfs } from '../examples/memfs'
import { mount, MountError } from '../index'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { py } from './helpers/python'
import { checkFileWorkload, FILE_WORKLOAD } from './helpers/workload'

const PARAMETER = '/sys/module/fuse/parameters/enable_uring'

/** Whether this kernel offers FUSE over io_uring to new mounts (Linux 6.14+, turned on by root). */
function kernelOffersRing(): boolean {
  return existsSync(PARAMETER) && readFileSync(PARAMETER, 'utf8').trim() === 'Y'
}


if (kernelOffersRing()) {
  test('ioUring: true takes the requests through the ring, with the same results as /dev/fuse', async (t) => {
    t.log('this kernel offers FUSE over io_uring: the ring path runs')
    const ring = await mountFs(t, createMemfs(), { ioUring: true })
    const onRing = await py<unknown[]>(FILE_WORKLOAD, [ring.p('')])
    checkFileWorkload(t, onRing)
    const stats = ring.m.stats()
    t.true(stats.ioUring)
    t.true(stats.requestsFromRing > 0, `${stats.requestsFromRing} requests from the ring`)
    t.deepEqual(ring.errors, [])

    const device = await mountFs(t, createMemfs(), { ioUring: false })
    const onDevice = await py<unknown[]>(FILE_WORKLOAD, [device.p('')])
    t.false(device.m.stats().ioUring)
    t.is(device.m.stats().requestsFromRing, 0)
    t.deepEqual(onRing, onDevice)
    t.deepEqual(device.errors, [])
  })

  test("ioUring 'auto' takes the ring when the kernel offers it; the default does not", async (t) => {
    const auto = await mountFs(t, createMemfs(), { ioUring: 'auto' })
    await py('open(sys.argv[1], "w").write("x"); out(os.stat(sys.argv[1]).st_size)', [auto.p('f')])
    t.true(auto.m.stats().ioUring)
    t.true(auto.m.stats().requestsFromRing > 0)
    const byDefault = await mount(await tempDir(), createMemfs())
    t.teardown(async () => {
      await byDefault.unmount()
      await removeTempDir(byDefault.mountpoint)
    })
    t.false(byDefault.stats().ioUring)
  })
} else {
  test('without FUSE over io_uring, ioUring: true fails with advice and auto uses /dev/fuse', async (t) => {
    t.log(`this kernel does not offer FUSE over io_uring (${PARAMETER} missing or not Y): the /dev/fuse path runs`)
    const dir = await tempDir()
    t.teardown(() => removeTempDir(dir))
    const error = await t.throwsAsync(mount(dir, createMemfs(), { ioUring: true }), { instanceOf: MountError })
    t.is(error?.code, 'ENODRIVER')
    t.regex(error?.message ?? '', /io_uring.*Linux 6\.14.*enable_uring/s)

    const { p, m, errors } = await mountFs(t, createMemfs(), { ioUring: 'auto' })
    checkFileWorkload(t, await py<unknown[]>(FILE_WORKLOAD, [p('')]))
    t.false(m.stats().ioUring)
    t.is(m.stats().requestsFromRing, 0)
    t.deepEqual(errors, [])
  })
}
