// Write data reaches handlers as Buffers over Rust-owned memory, or as copies where a runtime
// forbids external buffers (Electron). MOUNTKIT_COPY_BUFFERS=1 forces the copy path so it is
// tested here; both paths must deliver identical bytes.
import test from 'ava'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { tempDir, removeTempDir, trackMountPoint } from './helpers/mount'

const run = promisify(execFile)

const CHILD = `
const { mount } = require('./index')
const { createMemfs } = require('./examples/memfs')
const { native } = require('./lib/native')
const { open, readFile } = require('node:fs/promises')
;(async () => {
  const m = await mount(process.argv[1], createMemfs())
  try {
    const data = Buffer.alloc(3 * 1024 * 1024 + 5)
    for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 7) & 0xff
    const fh = await open(process.argv[1] + '/f', 'w')
    await fh.write(data)
    await fh.close()
    const back = await readFile(process.argv[1] + '/f')
    console.log(JSON.stringify({ mode: native.bufferMode(), equal: back.equals(data) }))
  } finally {
    await m.unmount()
  }
})().catch((e) => { console.error(e); process.exit(1) })
`

for (const [flag, mode] of [['0', 'external'], ['1', 'copy']] as const) {
  test(`write data round-trips with MOUNTKIT_COPY_BUFFERS=${flag} (${mode} buffers)`, async (t) => {
    const dir = await tempDir()
    trackMountPoint(dir)
    t.teardown(() => removeTempDir(dir))
    const root = join(__dirname, '..')
    const { stdout } = await run(process.execPath, ['--import=tsx', '-e', CHILD, dir], {
      cwd: root,
      env: { ...process.env, MOUNTKIT_COPY_BUFFERS: flag },
      timeout: 60_000,
    })
    t.deepEqual(JSON.parse(stdout.trim().split('\n').pop() ?? '{}'), { mode, equal: true })
  })
}
