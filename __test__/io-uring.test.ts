// FUSE over io_uring (`ioUring`): where the kernel offers it, a mount that asks for it takes
// its requests through the ring and a workload gives the same results as through /dev/fuse;
// where it does not, `ioUring: true` fails with advice and 'auto' mounts on /dev/fuse.
import test from 'ava'
import { existsSync, readFileSync } from 'node:fs'
import { createMemfs } from '../examples/memfs'
import { mount, MountError } from '../index'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { py } from './helpers/python'

const PARAMETER = '/sys/module/fuse/parameters/enable_uring'

/** Whether this kernel offers FUSE over io_uring to new mounts (Linux 6.14+, turned on by root). */
function kernelOffersRing(): boolean {
  return existsSync(PARAMETER) && readFileSync(PARAMETER, 'utf8').trim() === 'Y'
}

// Makes, writes (1 MiB in one write among them), reads back, lists, renames, removes and
// labels files; prints what it saw.
const WORKLOAD = `
import os, sys, hashlib
root = sys.argv[1]
seen = []
os.mkdir(os.path.join(root, "d"))
for i in range(12):
    path = os.path.join(root, "d", "f%d" % i)
    with open(path, "wb") as f:
        f.write(bytes([i % 251]) * (i * 997))
    os.rename(path, path + ".x")
big = bytes(range(256)) * 4096
fd = os.open(os.path.join(root, "big"), os.O_CREAT | os.O_WRONLY, 0o644)
written = os.write(fd, big)
os.close(fd)
with open(os.path.join(root, "big"), "rb") as f:
    back = f.read()
seen.append(["big", written, len(back), hashlib.sha256(back).hexdigest() == hashlib.sha256(big).hexdigest()])
os.setxattr(os.path.join(root, "big"), "user.label", b"ring")
seen.append([os.getxattr(os.path.join(root, "big"), "user.label").decode(), os.listxattr(os.path.join(root, "big"))])
for name in sorted(os.listdir(os.path.join(root, "d"))):
    path = os.path.join(root, "d", name)
    with open(path, "rb") as f:
        data = f.read()
    seen.append([name, len(data), data[:1].hex(), os.stat(path).st_size])
    if name.endswith("7.x"):
        os.unlink(path)
seen.append(sorted(os.listdir(os.path.join(root, "d"))))
seen.append(sorted(os.listdir(root)))
out(seen)
`

/** The workload's results, checked against what it wrote. */
function checkWorkload(t: import('ava').ExecutionContext, seen: unknown[]): void {
  t.deepEqual(seen[0], ['big', 1 << 20, 1 << 20, true])
  t.deepEqual(seen[1], ['ring', ['user.label']])
  t.deepEqual(seen[2], ['f0.x', 0, '', 0])
  t.deepEqual(seen[3], ['f1.x', 997, '01', 997])
  t.deepEqual(seen[13], ['f9.x', 9 * 997, '09', 9 * 997])
  t.is((seen[14] as string[]).length, 11)
  t.false((seen[14] as string[]).includes('f7.x'))
  t.deepEqual(seen[15], ['big', 'd'])
}

if (kernelOffersRing()) {
  test('ioUring: true takes the requests through the ring, with the same results as /dev/fuse', async (t) => {
    t.log('this kernel offers FUSE over io_uring: the ring path runs')
    const ring = await mountFs(t, createMemfs(), { ioUring: true })
    const onRing = await py<unknown[]>(WORKLOAD, [ring.p('')])
    checkWorkload(t, onRing)
    const stats = ring.m.stats()
    t.true(stats.ioUring)
    t.true(stats.requestsFromRing > 0, `${stats.requestsFromRing} requests from the ring`)
    t.deepEqual(ring.errors, [])

    const device = await mountFs(t, createMemfs(), { ioUring: false })
    const onDevice = await py<unknown[]>(WORKLOAD, [device.p('')])
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
    checkWorkload(t, await py<unknown[]>(WORKLOAD, [p('')]))
    t.false(m.stats().ioUring)
    t.is(m.stats().requestsFromRing, 0)
    t.deepEqual(errors, [])
  })
}
