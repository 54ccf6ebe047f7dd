// How big and how long each workload is, per kind of run.

export interface Profile {
  name: 'full' | 'quick' | 'smoke'
  /** Measurements per subject and workload; the table shows their median. */
  runs: number
  /** Size of /file, and the total of each sequential write. */
  fileSize: number
  /**
   * Passes over /file in each sequential read, the page cache dropped before each. Enough
   * passes that the fastest subjects (tmpfs, passthrough) read for longer than a blink: fio
   * times in milliseconds, and one pass over 1 GiB takes them about 40 ms.
   */
  readPasses: number
  /** Entries in /dir. */
  entries: number
  /** Length of each getattr storm, in seconds. */
  stormSeconds: number
  /** Each readdir measurement lists /dir for at least this long and this many times. */
  readdirSeconds: number
  readdirListings: number
  /** Files created then unlinked per create+unlink measurement. */
  churnFiles: number
  /** Upper bound of each random-read measurement, in seconds (it also stops after one pass over /file). */
  randreadSeconds: number
  /** Files in the tree workload's larger tree; the smaller one has a tenth as many. */
  treeFiles: number
  /** Interleaved runs of the tree workload (each one measures both sizes on both subjects). */
  treeRuns: number
  /** Length of the long getattr run that samples mountkit's RSS, in seconds. */
  soakSeconds: number
  /** Whether results go to bench/results.md, bench/results.png and bench/README.md. */
  publish: boolean
}

const MiB = 1 << 20

export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    // Nine short runs rather than five long ones: on a shared two-core machine the noise
    // comes in bursts, and more samples give the median more to reject.
    runs: 9,
    fileSize: 1024 * MiB,
    readPasses: 4,
    entries: 10_000,
    stormSeconds: 1.5,
    readdirSeconds: 1,
    readdirListings: 3,
    churnFiles: 10_000,
    randreadSeconds: 1.5,
    treeFiles: 1_000_000,
    treeRuns: 3,
    soakSeconds: 120,
    publish: true,
  },
  quick: {
    name: 'quick',
    runs: 3,
    fileSize: 256 * MiB,
    readPasses: 2,
    entries: 10_000,
    stormSeconds: 1,
    readdirSeconds: 0.5,
    readdirListings: 2,
    churnFiles: 2_000,
    randreadSeconds: 1,
    treeFiles: 100_000,
    treeRuns: 3,
    soakSeconds: 10,
    publish: false,
  },
  smoke: {
    name: 'smoke',
    runs: 1,
    fileSize: 8 * MiB,
    readPasses: 1,
    entries: 100,
    stormSeconds: 0.3,
    readdirSeconds: 0.1,
    readdirListings: 2,
    churnFiles: 100,
    randreadSeconds: 0.3,
    treeFiles: 2_000,
    treeRuns: 1,
    soakSeconds: 1.5,
    publish: false,
  },
}
