// What every JavaScript subject process shares: its arguments, and how it ends. The harness
// starts `node <subject>.js <mountpoint> <fileSize> <entries> [backingPath]`, waits for the
// mount to appear in /proc/self/mountinfo, and stops the subject with SIGTERM. Closing stdin
// stops it too, so a harness that dies cannot leave a mount behind.
import { BenchModel } from './model'

export interface SubjectArgs {
  mountpoint: string
  model: BenchModel
  /** A real file with /file's content, for the subjects that serve it from a backing file. */
  backingPath: string | undefined
}

export function subjectArgs(): SubjectArgs {
  const [mountpoint, fileSize, entries, backingPath] = process.argv.slice(2)
  if (mountpoint === undefined || fileSize === undefined || entries === undefined) {
    throw new Error('usage: <subject> <mountpoint> <fileSize> <entries> [backingPath]')
  }
  return { mountpoint, model: new BenchModel(Number(fileSize), Number(entries)), backingPath }
}

/**
 * Calls `stop` (which unmounts) once, on SIGTERM, SIGINT or end of stdin, then exits. What
 * `stop` resolves to is printed as one JSON line on stdout, for the harness's report.
 */
export function serveUntilStopped(stop: () => Promise<unknown>): void {
  let stopping = false
  const finish = () => {
    if (stopping) return
    stopping = true
    stop().then(
      (report) => {
        if (report !== undefined) process.stdout.write(`${JSON.stringify(report)}\n`)
        process.exit(0)
      },
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', finish)
  process.on('SIGINT', finish)
  process.stdin.on('end', finish)
  process.stdin.resume()
}
