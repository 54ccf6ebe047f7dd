// What every example does when run as a program: take its arguments, and unmount on Ctrl-C.
import type { Mount } from '../index' // in an application: from 'mountkit'

/**
 * Runs `main` with the program's first `count` arguments. Without them, prints `usage` and
 * exits with 2; when `main` fails, prints why and exits with 1.
 */
export function runCommand(usage: string, count: number, main: (...args: string[]) => Promise<void>): void {
  const args = process.argv.slice(2, 2 + count)
  if (args.length < count) {
    console.error(`usage: ${usage}`)
    process.exit(2)
  }
  main(...args).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(1)
  })
}

/** Unmounts `m` on SIGINT (Ctrl-C) or SIGTERM, and says how that went. */
export function unmountOnSignal(m: Mount): void {
  const stop = () => {
    m.unmount().then(
      () => console.log('Unmounted.'),
      (error: unknown) => {
        console.error(`Unmount failed: ${String(error)}`)
        process.exitCode = 1
      },
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
