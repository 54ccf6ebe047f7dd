// The Windows backends. On Windows (CI runs this with MOUNTKIT_TEST_BACKEND=winfsp or dokan and
// that driver installed) it mounts memfs on a drive letter and drives it through ordinary file
// calls. Elsewhere it checks that asking for a Windows backend fails with a reason and the code
// EPLATFORM.
import test from 'ava'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { mount, MountError } from '../index'
import { createMemfs } from '../examples/memfs'
import { hello } from '../examples/hello'

const backend = process.env.MOUNTKIT_TEST_BACKEND === 'dokan' ? 'dokan' : 'winfsp'

if (process.platform === 'win32') {
  test(`${backend}: memfs on a drive letter serves ordinary file calls`, async (t) => {
    const m = await mount('M:', createMemfs(), { backend })
    t.teardown(() => m.unmount())
    t.is(m.backend, backend)
    await mkdir('M:\\docs')
    await writeFile('M:\\docs\\a.txt', 'hello windows')
    t.is(await readFile('M:\\docs\\a.txt', 'utf8'), 'hello windows')
    t.is((await stat('M:\\docs\\a.txt')).size, 13)
    await rename('M:\\docs\\a.txt', 'M:\\docs\\b.txt')
    t.deepEqual(await readdir('M:\\docs'), ['b.txt'])
    await rm('M:\\docs', { recursive: true })
    await t.throwsAsync(stat('M:\\docs'), { code: 'ENOENT' })
  })
} else {
  for (const windowsBackend of ['winfsp', 'dokan'] as const) {
    test(`backend '${windowsBackend}' off Windows fails with a reason`, async (t) => {
      await t.throwsAsync(mount('M:', hello, { backend: windowsBackend }), { instanceOf: MountError, code: 'EPLATFORM', message: /Windows/ })
    })
  }
}
