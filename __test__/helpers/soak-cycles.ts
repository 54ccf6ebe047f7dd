// Run by soak.test.ts in a process of its own: mounts memfs on one directory and unmounts it
// again, `cycles` times after a warm-up, using each mount from this process and (every tenth
// time) from another one, and prints what it held before and after as JSON.
//   node --import tsx soak-cycles.ts <mountpoint> <cycles>
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { mount } from '../../index'
import { createMemfs } from '../../examples/memfs'
import { isMounted } from './mount'
import { py } from './python'
import { usage } from './usage'

const WARM_UP = 10

async function cycle(dir: string, i: number): Promise<void> {
  const m = await mount(dir, createMemfs())
  try {
    await mkdir(join(dir, 'd'))
    await writeFile(join(dir, 'd', `f${i}`), `cycle ${i}`)
    if ((await readFile(join(dir, 'd', `f${i}`), 'utf8')) !== `cycle ${i}`) throw new Error(`cycle ${i}: wrong data`)
    if (i % 10 === 0) {
      const seen = await py<string[]>('out(os.listdir(sys.argv[1]))', [join(dir, 'd')])
      if (seen.join() !== `f${i}`) throw new Error(`cycle ${i}: another process saw ${JSON.stringify(seen)}`)
    }
  } finally {
    await m.unmount()
  }
  if (await isMounted(dir)) throw new Error(`cycle ${i}: still mounted after unmount()`)
}

async function main(): Promise<void> {
  const [dir, count] = process.argv.slice(2)
  const cycles = Number(count)
  for (let i = 0; i < WARM_UP; i++) await cycle(dir, i)
  const before = await usage()
  const started = Date.now()
  for (let i = 0; i < cycles; i++) await cycle(dir, WARM_UP + i)
  const after = await usage()
  process.stdout.write(JSON.stringify({ before, after, cycles: WARM_UP + cycles, ms: Date.now() - started }))
}

main().catch((error: unknown) => {
  process.stderr.write(`soak-cycles: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
