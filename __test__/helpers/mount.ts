// Mounting for tests: every mount gets a fresh temp dir, and is unmounted and removed however
// the test ends. A last-resort exit hook lazily unmounts anything this worker mounted that is
// still mounted when the process exits (a timed-out test, a crash): the library does the same,
// this is belt and braces that does not go through Mount objects at all.
import type { ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mount, type FileSystem, type HandlerError, type Mount, type MountOptions } from '../../index'
import { native } from '../../lib/native'
import { sleep } from './fs'
import { PYTHON, run } from './python'

/** Every mount point this worker created, for the exit sweep. */
const created = new Set<string>()

/** Decodes the octal escapes (`\040`) /proc/self/mountinfo uses in paths. */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
}

function mountPointsIn(mountinfo: string): Set<string> {
  const points = new Set<string>()
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ')
    if (fields.length > 4) points.add(unescapeMountinfo(fields[4]))
  }
  return points
}

/**
 * Whether something is mounted exactly at `dir`. Reads /proc/self/mountinfo, never the mount
 * itself, so it is safe to call even when this process serves that mount.
 */
export async function isMounted(dir: string): Promise<boolean> {
  return mountPointsIn(await readFile('/proc/self/mountinfo', 'utf8')).has(dir)
}

// umount2(path, MNT_DETACH) in a child python: a direct system call that, unlike umount(8),
// never stats the path (which could wait on this very process if it serves the mount).
const LAZY_UNMOUNT = [
  'import ctypes, os, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'for p in sys.argv[1:]:',
  '    if libc.umount2(os.fsencode(p), 2) != 0:',
  '        sys.stderr.write("umount2 %s: %s\\n" % (p, os.strerror(ctypes.get_errno())))',
].join('\n')

/** Lazily unmounts `dirs` without touching them, from a child process (see python.ts). */
export async function lazyUnmount(dirs: string[]): Promise<void> {
  if (dirs.length === 0) return
  await run(PYTHON, ['-c', LAZY_UNMOUNT, ...dirs])
}

/**
 * The last-resort sweep on exit, when nothing asynchronous can run any more. The library's
 * own exit hook normally has unmounted everything already. First the addon's umount2 (no
 * fork); then, for anything still mounted, umount2 from a child python. Forking here is
 * safe enough: a mount the library has closed answers every request at once.
 */
process.on('exit', () => {
  if (created.size === 0) return
  const stillMounted = () => {
    try {
      const mounted = mountPointsIn(readFileSync('/proc/self/mountinfo', 'utf8'))
      return [...created].filter((dir) => mounted.has(dir))
    } catch {
      return []
    }
  }
  for (const dir of stillMounted()) {
    try {
      native.unmountPath(dir)
    } catch {
      // The fallback below tries again.
    }
  }
  const left = stillMounted()
  if (left.length === 0) return
  try {
    execFileSync(PYTHON, ['-c', LAZY_UNMOUNT, ...left], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 10_000 })
  } catch {
    // Nothing more can be done on the way out.
  }
})

export interface TestMount {
  m: Mount
  /** The mount point (absolute). */
  dir: string
  /** A path inside the mount: `p('a/b')` is `<dir>/a/b`. */
  p(...parts: string[]): string
  /** Every `error` event this mount has emitted so far. */
  errors: HandlerError[]
  /** Resolves with the first error event (past or future) that satisfies `match`. */
  waitForError(match?: (e: HandlerError) => boolean, timeoutMs?: number): Promise<HandlerError>
}

/** A fresh, empty directory under the system temp dir. */
export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mountkit-test-'))
}

/**
 * Removes a test directory, but only once nothing is mounted on it: a recursive removal
 * through a live mount would act on the mounted filesystem instead.
 */
export async function removeTempDir(dir: string): Promise<void> {
  if (await isMounted(dir)) await lazyUnmount([dir])
  if (await isMounted(dir)) throw new Error(`${dir} is still mounted; not removing it`)
  await rm(dir, { recursive: true, force: true })
}

/**
 * Mounts `fs` on a fresh temp dir. The test's teardown always unmounts (even when the test
 * failed or threw) and removes the dir; the teardown is registered before mounting, so a
 * failed mount is cleaned up as well.
 */
/**
 * Set by the test command's second pass (`MOUNTKIT_TEST_IO_URING=auto`, package.json): mounts
 * that do not choose `ioUring` themselves take FUSE over io_uring where the kernel offers it,
 * so the suites it runs cover the ring path as the first pass covers `/dev/fuse`.
 */
const RING_PASS = process.env.MOUNTKIT_TEST_IO_URING === 'auto'

export async function mountFs(t: ExecutionContext, fs: FileSystem, options: MountOptions = {}): Promise<TestMount> {
  const dir = await tempDir()
  created.add(dir)
  let m: Mount | undefined
  t.teardown(async () => {
    try {
      await m?.unmount()
    } catch (error) {
      t.log(`unmount of ${dir} failed: ${String(error)}`)
    }
    if (await isMounted(dir)) await lazyUnmount([dir])
    if (!(await isMounted(dir))) {
      created.delete(dir)
      // The mount point is an empty directory again.
      await rmdir(dir).catch(() => rm(dir, { recursive: true, force: true }))
    }
  })
  m = await mount(dir, fs, { ioUring: RING_PASS ? 'auto' : undefined, ...options })
  if (RING_PASS && options.ioUring === undefined && !m.stats().ioUring) {
    t.log('this pass asks for FUSE over io_uring, but the kernel does not offer it: this mount reads /dev/fuse')
  }
  const errors: HandlerError[] = []
  const waiters = new Set<{ match: (e: HandlerError) => boolean; resolve: (e: HandlerError) => void }>()
  m.on('error', (e: HandlerError) => {
    errors.push(e)
    for (const w of waiters) {
      if (w.match(e)) {
        waiters.delete(w)
        w.resolve(e)
      }
    }
  })
  const mounted = m
  return {
    m: mounted,
    dir,
    p: (...parts) => join(dir, ...parts),
    errors,
    waitForError(match = () => true, timeoutMs = 10_000) {
      const seen = errors.find(match)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise<HandlerError>((resolve, reject) => {
        const waiter = {
          match,
          resolve: (e: HandlerError) => {
            clearTimeout(timer)
            resolve(e)
          },
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`no matching 'error' event within ${timeoutMs} ms; saw: ${errors.map((e) => e.message).join('; ') || 'none'}`))
        }, timeoutMs)
        waiters.add(waiter)
      })
    },
  }
}

/** Remembers a mount point made outside {@link mountFs} for the exit sweep. */
export function trackMountPoint(dir: string): void {
  created.add(dir)
}

/** Waits (without asserting on time) until `knownInodes` is at most `limit`; returns the last count. */
export async function knownInodesFallTo(m: Mount, limit: number): Promise<number> {
  let known = m.stats().knownInodes
  // Forgets reach the filesystem asynchronously, after the kernel has evicted the inodes.
  for (let attempt = 0; attempt < 250 && known > limit; attempt++) {
    await sleep(20)
    known = m.stats().knownInodes
  }
  return known
}
