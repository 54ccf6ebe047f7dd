// Mounting for tests: every mount gets a fresh temp dir, and is unmounted and removed however
// the test ends. A last-resort exit hook lazily unmounts anything this worker mounted that is
// still mounted when the process exits (a timed-out test, a crash): the library does the same,
// this is belt and braces that does not depend on the library under test.
import type { ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mount, type FileSystem, type HandlerError, type Mount, type MountOptions } from '../../index'
import { PYTHON } from './python'

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

/** The FUSE mounts of this machine (from /proc/mounts) whose mount point is under `prefix`. */
export async function fuseMountsUnder(prefix: string): Promise<string[]> {
  const text = await readFile('/proc/mounts', 'utf8')
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length > 2 && f[2].startsWith('fuse') && unescapeMountinfo(f[1]).startsWith(prefix))
    .map((f) => unescapeMountinfo(f[1]))
}

// umount2(path, MNT_DETACH) in a child python: a direct syscall that, unlike umount(8), never
// stats the path (which could wait on this very process if it serves the mount).
const LAZY_UNMOUNT = [
  'import ctypes, os, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'for p in sys.argv[1:]:',
  '    if libc.umount2(os.fsencode(p), 2) != 0:',
  '        sys.stderr.write("umount2 %s: %s\\n" % (p, os.strerror(ctypes.get_errno())))',
].join('\n')

/** Lazily unmounts `dirs` without touching them (see LAZY_UNMOUNT). Synchronous: usable on exit. */
export function lazyUnmountSync(dirs: string[]): void {
  if (dirs.length === 0) return
  try {
    execFileSync(PYTHON, ['-c', LAZY_UNMOUNT, ...dirs], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 10_000 })
  } catch {
    // Nothing more can be done on the way out.
  }
}

process.on('exit', () => {
  if (created.size === 0) return
  let mounted: Set<string>
  try {
    mounted = mountPointsIn(readFileSync('/proc/self/mountinfo', 'utf8'))
  } catch {
    return
  }
  lazyUnmountSync([...created].filter((dir) => mounted.has(dir)))
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
  if (await isMounted(dir)) lazyUnmountSync([dir])
  if (await isMounted(dir)) throw new Error(`${dir} is still mounted; not removing it`)
  await rm(dir, { recursive: true, force: true })
}

/**
 * Mounts `fs` on a fresh temp dir. The test's teardown always unmounts (even when the test
 * failed or threw) and removes the dir; the teardown is registered before mounting, so a
 * failed mount is cleaned up as well.
 */
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
    if (await isMounted(dir)) lazyUnmountSync([dir])
    if (!(await isMounted(dir))) {
      created.delete(dir)
      // The mount point is an empty directory again.
      await rmdir(dir).catch(() => rm(dir, { recursive: true, force: true }))
    }
  })
  m = await mount(dir, fs, options)
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
