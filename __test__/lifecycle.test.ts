// Mount lifecycle: unmount (twice), `await using`, refused mount points, in-flight requests at
// unmount, and mounts going away with their process however it ends.
import test, { type ExecutionContext } from 'ava'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { mount, MountError, type FileSystem, type Mount } from '../index'
import { createMemfs } from '../examples/memfs'
import { never, override, sleep } from './helpers/fs'
import { isMounted, lazyUnmount, mountFs, removeTempDir, tempDir, trackMountPoint } from './helpers/mount'
import { spawnChild, type ExecResult } from './helpers/python'

/** A fresh temp dir that the test removes afterwards, unmounting it first if need be. */
async function scratch(t: ExecutionContext): Promise<string> {
  const dir = await tempDir()
  trackMountPoint(dir)
  t.teardown(() => removeTempDir(dir))
  return dir
}

test('unmount unmounts, and calling it twice is fine', async (t) => {
  const dir = await scratch(t)
  const m = await mount(dir, createMemfs())
  t.true(m.mounted)
  t.is(m.mountpoint, dir)
  t.true(await isMounted(dir))
  await fsp.writeFile(join(dir, 'f'), 'x')
  const first = m.unmount()
  const second = m.unmount()
  await Promise.all([first, second])
  await m.unmount()
  t.false(m.mounted)
  t.false(await isMounted(dir))
  // The directory is an ordinary empty directory again.
  t.deepEqual(await fsp.readdir(dir), [])
})

test('await using unmounts at the end of the block', async (t) => {
  const dir = await scratch(t)
  let seen: Mount | undefined
  {
    await using m = await mount(dir, createMemfs())
    seen = m
    await fsp.writeFile(join(dir, 'inside'), 'x')
    t.true(await isMounted(dir))
  }
  t.false(seen.mounted)
  t.false(await isMounted(dir))
  t.deepEqual(await fsp.readdir(dir), [])
})

test('mounting on a missing dir, a file, or a non-empty dir is refused with a clear message', async (t) => {
  const base = await scratch(t)
  const refused = { instanceOf: MountError, code: 'EMOUNTPOINT' } as const
  await t.throwsAsync(mount(join(base, 'missing'), createMemfs()), { ...refused, message: /does not exist/ })
  await fsp.writeFile(join(base, 'file'), 'x')
  await t.throwsAsync(mount(join(base, 'file'), createMemfs()), { ...refused, message: /not a directory/ })
  // `base` now holds `file`; the FUSE backend itself refuses it.
  await t.throwsAsync(mount(base, createMemfs()), { ...refused, message: /not empty/ })
  t.false(await isMounted(base))
})

test("Windows' own mount points, the next free drive letter and a network share, are refused on Linux", async (t) => {
  for (const mountpoint of ['*', '\\\\files\\team']) {
    const error = await t.throwsAsync(mount(mountpoint, createMemfs()), { instanceOf: MountError, code: 'EMOUNTPOINT' })
    t.true(error?.message.includes(`'${mountpoint}' is a Windows mount point`), error?.message)
    t.regex(error?.message ?? '', /existing empty directory/)
  }
})

test('bad options are refused with the code EOPTION, whether JavaScript or the addon checks them', async (t) => {
  const dir = await scratch(t)
  const refused = { instanceOf: MountError, code: 'EOPTION' } as const
  await t.throwsAsync(mount(dir, createMemfs(), { maxConcurrency: 0 }), { ...refused, message: /maxConcurrency/ })
  await t.throwsAsync(mount(dir, createMemfs(), { backend: 'nfs' as 'fuse' }), { ...refused, message: /backend must be/ })
  // Checked by the addon: values the types forbid, as JavaScript callers can still pass them.
  await t.throwsAsync(mount(dir, createMemfs(), { driveType: 'floppy' as 'fixed' }), { ...refused, message: /driveType/ })
  await t.throwsAsync(mount(dir, createMemfs(), { timeoutErrno: 'EFOO' as 'EIO' }), { ...refused, message: /timeoutErrno/ })
  t.false(await isMounted(dir))
})

test('mounting twice on the same dir is refused with a clear message', async (t) => {
  const { dir, p } = await mountFs(t, createMemfs())
  let second: Mount | undefined
  try {
    second = await mount(dir, createMemfs())
  } catch (error) {
    t.regex((error as Error).message, /already mounted by this process/)
    t.is((error as MountError).code, 'EMOUNTPOINT')
  } finally {
    await second?.unmount()
  }
  t.is(second, undefined, 'the second mount must fail')
  // The first mount is unaffected.
  await fsp.writeFile(p('still'), 'served')
  t.is(await fsp.readFile(p('still'), 'utf8'), 'served')
})

test('unmount answers requests still in flight instead of leaving callers hanging', async (t) => {
  const memfs = createMemfs()
  let entered!: () => void
  const inHandler = new Promise<void>((resolve) => (entered = resolve))
  const fs: FileSystem = override(memfs, {
    getattr(path, handle, ctx) {
      if (path !== '/hang') return memfs.getattr(path, handle, ctx)
      entered()
      return never()
    },
  })
  const { m, p, dir } = await mountFs(t, fs)
  const pending = fsp.stat(p('hang'))
  pending.catch(() => {})
  await inHandler
  await m.unmount()
  const error = await t.throwsAsync(pending)
  t.true(['EIO', 'ENOTCONN', 'ECONNABORTED'].includes(String((error as NodeJS.ErrnoException).code)), String(error))
  t.false(await isMounted(dir))
})

interface Child {
  pid: number
  /** Resolves when the child has mounted (it wrote the marker file). */
  mounted: Promise<void>
  exited: Promise<ExecResult>
}

/** Runs child-mount.ts on `dir` through the spawner (see helpers/python.ts). */
async function startChild(t: ExecutionContext, dir: string, how: string): Promise<Child> {
  const marker = join(await scratch(t), 'marker')
  const child = spawnChild(
    [process.execPath, '--import', 'tsx', join(__dirname, 'helpers', 'child-mount.ts'), dir, marker, how],
    { cwd: process.cwd(), env: process.env },
  )
  let ended: ExecResult | undefined
  child.result.then(
    (r) => (ended = r),
    () => {},
  )
  const mounted = (async () => {
    for (;;) {
      if ((await fsp.readFile(marker, 'utf8').catch(() => '')) === 'mounted') return
      if (ended !== undefined) throw new Error(`child exited (${ended.code}) before mounting: ${ended.stderr}`)
      await sleep(25)
    }
  })()
  mounted.catch(() => {})
  return { pid: await child.pid, mounted, exited: child.result }
}

for (const how of ['exit', 'throw'] as const) {
  test(`a process that ends by ${how === 'exit' ? 'process.exit()' : 'an uncaught exception'} leaves no mount behind`, async (t) => {
    const dir = await scratch(t)
    const { mounted, exited } = await startChild(t, dir, how)
    const { code, stderr } = await exited
    await mounted
    t.is(code, how === 'exit' ? 0 : 1, stderr)
    t.false(await isMounted(dir))
    t.deepEqual(await fsp.readdir(dir), [])
  })
}

test('a process stopped by SIGTERM or SIGINT leaves no mount behind', async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const dir = await scratch(t)
    const { pid, mounted, exited } = await startChild(t, dir, 'wait')
    await mounted
    t.true(await isMounted(dir))
    process.kill(pid, signal)
    await exited
    t.false(await isMounted(dir), signal)
  }
})

test('a mount left by a killed process is stale; mount() says so, and { force: true } recovers it', async (t) => {
  const dir = await scratch(t)
  const { pid, mounted, exited } = await startChild(t, dir, 'wait')
  await mounted
  process.kill(pid, 'SIGKILL')
  await exited
  try {
    t.true(await isMounted(dir), 'SIGKILL leaves the mount behind')
    await t.throwsAsync(fsp.stat(dir), { code: 'ENOTCONN' })
    await t.throwsAsync(mount(dir, createMemfs()), { code: 'EMOUNTPOINT', message: /stale/ })
    const m = await mount(dir, createMemfs(), { force: true })
    try {
      await fsp.writeFile(join(dir, 'fresh'), 'recovered')
      t.deepEqual(await fsp.readdir(dir), ['fresh'])
    } finally {
      await m.unmount()
    }
    t.false(await isMounted(dir))
  } finally {
    if (await isMounted(dir)) await lazyUnmount([dir])
  }
})
