// A separate process that mounts memfs and then ends in the way the parent test asks, to
// check that mounts go away with their process (and what is left when they cannot).
//   node --import tsx child-mount.ts <mountpoint> <marker-file> exit|throw|wait
// Writes "mounted" to the marker file (outside the mount) once the mount serves; `wait` then
// idles until a signal arrives.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { mount } from '../../index'
import { createMemfs } from '../../examples/memfs'

async function main(): Promise<void> {
  const [dir, marker, how] = process.argv.slice(2)
  await mount(dir, createMemfs())
  await writeFile(join(dir, 'alive'), 'yes')
  await writeFile(marker, 'mounted')
  switch (how) {
    case 'exit':
      process.exit(0)
      break
    case 'throw':
      setTimeout(() => {
        throw new Error('an uncaught exception in the child')
      }, 10)
      break
    default:
      setInterval(() => {}, 1000)
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`child-mount: ${String(error)}\n`)
  process.exit(3)
})
