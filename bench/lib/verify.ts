// Checks that a subject serves the bench filesystem correctly before it is measured, so every
// figure compares the same logic. Runs in the harness process, never in a subject's.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { PATTERN_SIZE, patternByte } from '../subjects/model'
import type { Profile } from './profile'

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`)
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await fsp.open(path, 'r')
  try {
    const buffer = Buffer.alloc(length)
    const { bytesRead } = await handle.read(buffer, 0, length, offset)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

export async function verify(dir: string, profile: Profile): Promise<void> {
  const file = join(dir, 'file')
  const stat = await fsp.stat(file)
  expect(stat.isFile() && stat.size === profile.fileSize, `/file is a ${profile.fileSize}-byte file (got ${stat.size})`)

  // Start, across a repetition of the pattern, and the tail (a short read at end of file).
  for (const offset of [0, PATTERN_SIZE - 100, profile.fileSize - 1000]) {
    const bytes = await readAt(file, offset, 4096)
    const expected = Math.min(4096, profile.fileSize - offset)
    expect(bytes.length === expected, `read of 4096 at ${offset} returns ${expected} bytes (got ${bytes.length})`)
    const wrong = bytes.findIndex((b, i) => b !== patternByte(offset + i))
    expect(wrong < 0, `/file byte at ${offset + wrong} follows the pattern`)
  }

  const names = await fsp.readdir(join(dir, 'dir'))
  expect(names.length === profile.entries, `/dir has ${profile.entries} entries (got ${names.length})`)
  const last = await fsp.stat(join(dir, 'dir', `e${profile.entries - 1}`))
  expect(last.isFile() && last.size === 0, 'the last /dir entry is an empty file')

  const scratch = join(dir, 'w', 'verify')
  await fsp.writeFile(scratch, Buffer.alloc(3000, 1))
  const handle = await fsp.open(scratch, 'r+')
  await handle.write(Buffer.alloc(1000, 2), 0, 1000, 9000)
  await handle.close()
  expect((await fsp.stat(scratch)).size === 10_000, '/w keeps the size of a written file')
  await fsp.truncate(scratch, 100)
  expect((await fsp.stat(scratch)).size === 100, '/w keeps the size of a truncated file')
  expect((await fsp.readdir(join(dir, 'w'))).includes('verify'), '/w lists a created file')
  await fsp.unlink(scratch)
  await fsp.stat(scratch).then(
    () => expect(false, '/w forgets an unlinked file'),
    (error: NodeJS.ErrnoException) => expect(error.code === 'ENOENT', `stat after unlink fails with ENOENT (got ${error.code})`),
  )
}
