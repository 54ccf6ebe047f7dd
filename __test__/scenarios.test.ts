// The scenario table (scenarios/table.ts) on FUSE: every scenario a POSIX program can express,
// against memfs and mirror mounted for real. The same table runs under Wine against WinFsp and
// Dokan (wine/winfsp.test.ts, wine/dokan.test.ts), so each backend is held to the same results.
import test from 'ava'
import { createMemfs } from '../examples/memfs'
import { createMirror } from '../examples/mirror'
import type { FileSystem } from '../index'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { runOnPosix } from './scenarios/posix'
import { portable, SCENARIOS } from './scenarios/table'

const FILESYSTEMS: Record<string, (t: { teardown(fn: () => Promise<void>): void }) => Promise<FileSystem>> = {
  memfs: async () => createMemfs(),
  mirror: async (t) => {
    const source = await tempDir()
    t.teardown(() => removeTempDir(source))
    return createMirror(source)
  },
}

// Serial: mirror's handlers do their I/O on libuv's thread pool, which this process's own calls
// into the mounts also use; dozens of scenarios at once would fill the pool with calls waiting on
// handlers that wait for the pool (README, "Errors").
for (const [fsName, makeFs] of Object.entries(FILESYSTEMS)) {
  for (const scenario of SCENARIOS.filter(portable)) {
    test.serial(`fuse/${fsName}: ${scenario.name}`, async (t) => {
      const { dir } = await mountFs(t, await makeFs(t))
      await runOnPosix(dir, scenario)
      t.pass()
    })
  }
}
