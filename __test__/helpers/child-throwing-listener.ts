// A separate process whose mount has an 'error' listener that throws, so that the exceptions
// land in this process's 'uncaughtException' handler instead of the test runner's.
//   node --import tsx child-throwing-listener.ts
// Stats a path whose handler throws, then a good one, several times, with room for only two
// handlers at once; prints what each stat did and what reached 'uncaughtException' as JSON.
import { mkdtemp, rmdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mount } from '../../index'

async function outcome(path: string): Promise<string> {
  try {
    await stat(path)
    return 'ok'
  } catch (error) {
    return String((error as NodeJS.ErrnoException).code)
  }
}

async function main(): Promise<void> {
  const uncaught: string[] = []
  process.on('uncaughtException', (error) => uncaught.push(error.message))
  const dir = await mkdtemp(join(tmpdir(), 'mountkit-listener-'))
  const m = await mount(
    dir,
    {
      getattr(path) {
        if (path === '/bad') throw new Error('handler bug')
        return path === '/' ? { kind: 'directory' } : { kind: 'file', size: 1 }
      },
    },
    { maxConcurrency: 2, timeoutMs: 3000 },
  )
  const outcomes: string[] = []
  try {
    m.on('error', (error) => {
      throw new Error(`listener threw on: ${error.message}`)
    })
    for (let i = 0; i < 4; i++) {
      outcomes.push(await outcome(join(dir, 'bad')))
      outcomes.push(await outcome(join(dir, 'good')))
    }
    // The last rethrow runs in a microtask after the last fault; let it land.
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    await m.unmount()
    await rmdir(dir)
  }
  process.stdout.write(JSON.stringify({ outcomes, uncaught }))
}

main().catch((error: unknown) => {
  process.stderr.write(`child-throwing-listener: ${String(error)}\n`)
  process.exit(3)
})
