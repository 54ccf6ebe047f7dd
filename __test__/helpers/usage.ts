// What a process holds, from /proc/self: open descriptors, threads, resident memory. Taken
// after a full garbage collection, so that RSS compares live memory, not garbage the collector
// has not got to yet.
import { readdir, readFile } from 'node:fs/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

export interface Usage {
  fds: number
  threads: number
  rssMiB: number
}

export async function usage(): Promise<Usage> {
  gc()
  const status = await readFile('/proc/self/status', 'utf8')
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1])
  return {
    fds: (await readdir('/proc/self/fd')).length,
    threads: field('Threads'),
    rssMiB: Math.round(field('VmRSS') / 1024),
  }
}
