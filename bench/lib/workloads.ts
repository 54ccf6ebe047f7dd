// The workloads. Each measurement is one client process (a C driver from bench/c, or fio)
// against one subject's files, and yields one figure where higher is better.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Layout } from './subjects'
import type { Profile } from './profile'
import { run } from './system'

export interface Workload {
  id: string
  label(profile: Profile): string
  unit: string
  measure(dir: string, ctx: WorkloadContext): Promise<number>
}

export interface WorkloadContext {
  layout: Layout
  profile: Profile
  /** A fresh name for a scratch file under bench/out. */
  scratch(name: string): string
}

const MiB = 1 << 20
/** No single measurement may take longer than this: a wedged subject fails the run, it does not hang it. */
const COMMAND_TIMEOUT_MS = 5 * 60_000

async function driver(ctx: WorkloadContext, name: string, args: string[]): Promise<number> {
  const out = await run(join(ctx.layout.bin, name), args, COMMAND_TIMEOUT_MS)
  return (JSON.parse(out) as { rate: number }).rate
}

function storm(clients: number): Workload {
  return {
    id: `getattr-${clients}`,
    label: () => `getattr storm, ${clients} client${clients > 1 ? 's' : ''}`,
    unit: 'stat/s',
    measure: (dir, ctx) => driver(ctx, 'statstorm', [join(dir, 'file'), String(clients), String(ctx.profile.stormSeconds)]),
  }
}

interface FioSide {
  io_bytes: number
  runtime: number
  iops: number
}

/** Runs one fio job (psync, buffered) and returns its read or write side. */
async function fio(ctx: WorkloadContext, side: 'read' | 'write', args: string[]): Promise<FioSide> {
  const output = ctx.scratch('fio.json')
  // When its working directory holds an entry named like the job, fio uses that name for every
  // job's file (the writers would share one file); in bench/out there is no such file.
  await run(
    'fio',
    [
      '--name=job',
      '--ioengine=psync',
      '--direct=0',
      '--invalidate=1',
      '--fallocate=none',
      '--group_reporting',
      '--output-format=json',
      `--output=${output}`,
      ...args,
    ],
    COMMAND_TIMEOUT_MS,
    ctx.layout.root,
  )
  const report = JSON.parse(readFileSync(output, 'utf8')) as { jobs: Array<Record<'read' | 'write', FioSide>> }
  const result = report.jobs[0][side]
  if (result.io_bytes === 0 || result.runtime === 0) throw new Error(`fio ${args.join(' ')} moved no data`)
  return result
}

const size = (bytes: number) => (bytes >= 1 << 30 ? `${bytes / (1 << 30)} GiB` : `${bytes / MiB} MiB`)

const mibPerSecond = (r: FioSide) => r.io_bytes / MiB / (r.runtime / 1000)

/** Sequential reads of /file in 1 MiB requests; with several readers, each reads its own slice. */
function seqread(readers: number): Workload {
  return {
    id: `seqread-${readers}`,
    label: (p) =>
      `sequential read ${size(p.fileSize)}${p.readPasses > 1 ? ` ×${p.readPasses}` : ''}, 1 MiB requests, ${readers} reader${readers > 1 ? 's' : ''}`,
    unit: 'MiB/s',
    async measure(dir, ctx) {
      const slice = ctx.profile.fileSize / readers
      const result = await fio(ctx, 'read', [
        `--filename=${join(dir, 'file')}`,
        '--rw=read',
        '--bs=1M',
        `--numjobs=${readers}`,
        `--size=${slice}`,
        `--offset_increment=${slice}`,
        // Each pass reopens the file, and --invalidate drops its cached pages first, so every
        // pass reaches the filesystem.
        `--loops=${ctx.profile.readPasses}`,
        '--allow_file_create=0',
      ])
      return mibPerSecond(result)
    },
  }
}

/** Sequential writes of new files in /w in 1 MiB requests; each writer has its own file. */
function seqwrite(writers: number): Workload {
  return {
    id: `seqwrite-${writers}`,
    label: (p) => `sequential write ${size(p.fileSize)}, 1 MiB requests, ${writers} writer${writers > 1 ? 's' : ''}`,
    unit: 'MiB/s',
    async measure(dir, ctx) {
      const result = await fio(ctx, 'write', [
        `--directory=${join(dir, 'w')}`,
        '--filename_format=seq.$jobnum',
        '--rw=write',
        '--bs=1M',
        `--numjobs=${writers}`,
        `--size=${ctx.profile.fileSize / writers}`,
        '--unlink=1',
      ])
      return mibPerSecond(result)
    },
  }
}

export const WORKLOADS: Workload[] = [
  storm(1),
  storm(4),
  storm(16),
  {
    id: 'readdir',
    label: (p) => `readdir, ${p.entries.toLocaleString('en-US')} entries`,
    unit: 'listings/s',
    measure: (dir, ctx) =>
      driver(ctx, 'listdir', [
        join(dir, 'dir'),
        String(ctx.profile.entries),
        String(ctx.profile.readdirSeconds),
        String(ctx.profile.readdirListings),
      ]),
  },
  {
    id: 'churn',
    label: (p) => `create + unlink ${p.churnFiles.toLocaleString('en-US')} files`,
    unit: 'files/s',
    measure: (dir, ctx) => driver(ctx, 'churn', [join(dir, 'w'), String(ctx.profile.churnFiles)]),
  },
  {
    id: 'mkdir',
    label: (p) => `mkdir + rmdir ${p.churnFiles.toLocaleString('en-US')} directories`,
    unit: 'dirs/s',
    measure: (dir, ctx) => driver(ctx, 'churn', [join(dir, 't'), String(ctx.profile.churnFiles), 'dirs']),
  },
  seqread(1),
  seqread(4),
  seqwrite(1),
  seqwrite(4),
  {
    id: 'randread',
    label: () => 'random 4 KiB reads, 1 reader',
    unit: 'IOPS',
    async measure(dir, ctx) {
      // One pass at most (fio's random map visits each block once), so no read is served
      // from pages an earlier read of the same run brought into the page cache.
      const result = await fio(ctx, 'read', [
        `--filename=${join(dir, 'file')}`,
        '--rw=randread',
        '--bs=4k',
        `--size=${ctx.profile.fileSize}`,
        `--runtime=${ctx.profile.randreadSeconds}`,
        '--allow_file_create=0',
      ])
      return result.iops
    },
  },
]
