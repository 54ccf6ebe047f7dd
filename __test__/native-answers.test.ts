// Requests for operations the filesystem has no handler for are answered by the native side,
// without waiting for JavaScript: a close(2) (FLUSH) completes even while the JavaScript thread
// is blocked. With a flush handler, the same close waits for the thread.
import test, { type ExecutionContext } from 'ava'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import type { FileSystem } from '../index'
import { FsError } from '../index'
import { sleep } from './helpers/fs'
import { mountFs, removeTempDir, tempDir } from './helpers/mount'
import { py } from './helpers/python'

const BLOCK_MS = 1500

/** A read-only filesystem with one file; `extra` adds handlers. */
function oneFile(extra: FileSystem = {}): FileSystem {
  return {
    getattr(path) {
      if (path === '/') return { kind: 'directory', mode: 0o755 }
      if (path === '/file') return { kind: 'file', mode: 0o644, size: 4 }
      throw new FsError('ENOENT')
    },
    read: () => Buffer.from('data'),
    ...extra,
  }
}

/**
 * Another process opens /file, then closes it while this process's JavaScript thread is
 * blocked for BLOCK_MS; returns how long the close took, in ms.
 */
async function closeWhileBlocked(t: ExecutionContext, fs: FileSystem): Promise<number> {
  const { p } = await mountFs(t, fs)
  const control = await tempDir()
  t.teardown(() => removeTempDir(control))
  const closing = py<number>(
    [
      'import time',
      'path, control = sys.argv[1], sys.argv[2]',
      'fd = os.open(path, os.O_RDONLY)',
      'open(os.path.join(control, "opened"), "w").close()',
      'while not os.path.exists(os.path.join(control, "go")):',
      '    time.sleep(0.005)',
      'time.sleep(0.2)',
      'start = time.monotonic()',
      'os.close(fd)',
      'out((time.monotonic() - start) * 1000)',
    ].join('\n'),
    [p('file'), control],
  )
  while (!(await fsp.access(join(control, 'opened')).then(() => true, () => false))) await sleep(10)
  await fsp.writeFile(join(control, 'go'), '')
  // Blocks this thread: nothing in JavaScript runs until it returns.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, BLOCK_MS)
  return closing
}

test.serial('a request without a handler (flush on close) is answered while the JavaScript thread is blocked', async (t) => {
  const ms = await closeWhileBlocked(t, oneFile())
  t.log(`close took ${Math.round(ms)} ms with the JavaScript thread blocked for ${BLOCK_MS} ms`)
  t.true(ms < 500, `close waited ${Math.round(ms)} ms`)
})

test.serial('the same close waits for a flush handler, which runs on the JavaScript thread', async (t) => {
  let flushes = 0
  const ms = await closeWhileBlocked(t, oneFile({ flush: () => void flushes++ }))
  t.log(`close took ${Math.round(ms)} ms with the JavaScript thread blocked for ${BLOCK_MS} ms`)
  t.true(ms >= 800, `close returned after ${Math.round(ms)} ms, before the thread was free`)
  t.is(flushes, 1)
})
