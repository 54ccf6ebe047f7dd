// Setting times exactly: mountkit's `utimens` (node:fs's lutimes must set both times, and cuts
// them to microseconds through a floating-point number of seconds), and the mirror, which sets
// times through the mount with it.
import test, { type ExecutionContext } from 'ava'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { utimens } from '../index'
import { createMirror } from '../examples/mirror'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { run } from './helpers/python'

/** A temp directory removed after the test (after any mount's own teardown). */
async function scratch(t: ExecutionContext): Promise<string> {
  const dir = await tempDir()
  t.teardown(() => removeTempDir(dir))
  return dir
}

/** A node's own access and modification times, in nanoseconds. */
async function times(path: string): Promise<{ atimeNs: bigint; mtimeNs: bigint }> {
  const { atimeNs, mtimeNs } = await fsp.lstat(path, { bigint: true })
  return { atimeNs, mtimeNs }
}

test('utimens sets each time to the millisecond, leaves an absent one to the nanosecond, and never follows a symlink', async (t) => {
  const dir = await scratch(t)
  const file = join(dir, 'file')
  await fsp.writeFile(file, '')
  await utimens(file, new Date(100_000_000_100), new Date(-1_500))
  t.deepEqual(await times(file), { atimeNs: 100_000_000_100_000_000n, mtimeNs: -1_500_000_000n })
  // What lutimes does with the same Date, for contrast.
  await fsp.lutimes(file, new Date(100_000_000_100), new Date(100_000_000_100))
  t.not((await times(file)).atimeNs, 100_000_000_100_000_000n)

  // Only the modification time: the access time stays exactly as it was, nanoseconds and all.
  await run('touch', ['-a', '-d', '@1234567890.123456789', file])
  await utimens(file, undefined, new Date(2_000))
  t.deepEqual(await times(file), { atimeNs: 1_234_567_890_123_456_789n, mtimeNs: 2_000_000_000n })
  await utimens(file, new Date(3_000), undefined)
  t.deepEqual(await times(file), { atimeNs: 3_000_000_000n, mtimeNs: 2_000_000_000n })

  await fsp.symlink('file', join(dir, 'link'))
  await utimens(join(dir, 'link'), new Date(5_000), new Date(6_000))
  t.deepEqual(await times(join(dir, 'link')), { atimeNs: 5_000_000_000n, mtimeNs: 6_000_000_000n })
  t.deepEqual(await times(file), { atimeNs: 3_000_000_000n, mtimeNs: 2_000_000_000n })

  const missing = await t.throwsAsync(utimens(join(dir, 'missing'), new Date(0), new Date(0)))
  t.like(missing, { code: 'ENOENT', syscall: 'utimensat', path: join(dir, 'missing') })
  await t.throwsAsync(utimens(file, new Date(Number.NaN), undefined), { instanceOf: TypeError })
})

test('mirror: times set through the mount land exactly in the source, and a time left alone stays to the nanosecond', async (t) => {
  const source = await scratch(t)
  await fsp.writeFile(join(source, 'file'), '')
  const { p } = await mountFs(t, createMirror(source))
  // Sub-second times, which lutimes would have cut.
  const both = await run('touch', ['-d', '@100000000.1', p('file')])
  t.is(both.code, 0, both.stderr)
  t.deepEqual(await times(join(source, 'file')), { atimeNs: 100_000_000_100_000_000n, mtimeNs: 100_000_000_100_000_000n })

  // A time with nanoseconds set in the source, then only the other one through the mount.
  await run('touch', ['-a', '-d', '@1234567890.123456789', join(source, 'file')])
  const onlyMtime = await run('touch', ['-m', '-d', '@200000000.25', p('file')])
  t.is(onlyMtime.code, 0, onlyMtime.stderr)
  t.deepEqual(await times(join(source, 'file')), { atimeNs: 1_234_567_890_123_456_789n, mtimeNs: 200_000_000_250_000_000n })
})
