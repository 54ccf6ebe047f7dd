// Small shared pieces for tests: errno names, delays, and wrapping a filesystem's handlers.
import { constants } from 'node:os'
import type { FileSystem } from '../../index'

/**
 * The POSIX name of a Node fs error's errno. Node (libuv) has no name for some codes, such as
 * EDEADLK: such an error's `code` is "Unknown system error -35", but its `errno` is exact.
 */
export function errnoName(error: unknown): string | undefined {
  const errno = (error as NodeJS.ErrnoException | undefined)?.errno
  if (typeof errno !== 'number') return undefined
  const entry = Object.entries(constants.errno).find(([, value]) => value === -errno)
  return entry?.[0]
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A promise that never settles: a handler that wedges. */
export const never = <T>() => new Promise<T>(() => {})

/**
 * `base` with some handlers replaced; the rest delegate to `base` unchanged. memfs handlers
 * close over their state rather than using `this`, so copying them is safe.
 */
export function override(base: FileSystem, handlers: FileSystem): FileSystem {
  return { ...base, ...handlers }
}
