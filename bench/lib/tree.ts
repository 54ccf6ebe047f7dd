// The tree (scale) workload: a tree of N empty files in directories of 1,000, created, walked,
// stat()ed file by file and removed, on both C references and on mountkit, at N/10 and at N files
// in the same run. Each measurement starts a fresh subject process, so that its RSS growth is
// the tree's alone. Figures: files per second for each phase, RSS growth per inode the kernel
// holds, peak RSS, and (mountkit) the inodes its table knows after the stat phase and after removal.
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { MountStats } from '../../index'
import type { Profile } from './profile'
import { formatFigure, formatRatio, median, mib, quantile, table } from './report'
import { startFuseSubject, TREE_SUBJECTS, type Layout, type LiveSubject } from './subjects'
import { run } from './system'

export const TREE_PHASES = ['create', 'walk', 'stat', 'remove'] as const
type Phase = (typeof TREE_PHASES)[number]

/** Files per directory: enough that listings take many getdents calls, few enough to be a common directory size. */
const FILES_PER_DIRECTORY = 1000
/** No phase of a million files may take longer than this: a wedged subject fails the run. */
const PHASE_TIMEOUT_MS = 20 * 60_000

export interface TreeShape {
  files: number
  directories: number
  filesPerDirectory: number
}

export function treeShape(files: number): TreeShape {
  const filesPerDirectory = Math.min(FILES_PER_DIRECTORY, files)
  const directories = Math.ceil(files / filesPerDirectory)
  return { files: directories * filesPerDirectory, directories, filesPerDirectory }
}

/** One measurement: one subject, one tree size, one fresh process. */
export interface TreeRun {
  /** Files per second, by phase. */
  rates: Record<Phase, number>
  /** VmRSS growth from the mount before the tree to after the stat phase, in bytes per inode (files and directories). */
  bytesPerInode: number
  peakRssKiB: number
  /** Inodes mountkit's table knew after the stat phase and after removal; undefined for the C reference. */
  knownAfterStat: number | undefined
  knownAfterRemove: number | undefined
}

export interface TreeResults {
  shapes: TreeShape[]
  /** Runs per tree size (index into shapes), then per subject id. */
  runs: Array<Map<string, TreeRun[]>>
}

/** The `Mount.stats()` a mountkit subject prints on SIGUSR2. */
export async function reportedStats(subject: LiveSubject): Promise<MountStats> {
  const before = subject.output().length
  process.kill(subject.pid!, 'SIGUSR2')
  for (let attempt = 0; attempt < 250; attempt++) {
    const fresh = subject.output().slice(before)
    const line = fresh.split('\n').find((l) => l.startsWith('{"stats"'))
    if (line !== undefined && fresh.includes('\n')) return (JSON.parse(line) as { stats: MountStats }).stats
    await sleep(20)
  }
  throw new Error(`${subject.spec.label} did not report its stats within 5 s of SIGUSR2`)
}

/** The known-inode count a mountkit subject prints on SIGUSR2. */
async function knownInodes(subject: LiveSubject): Promise<number> {
  return (await reportedStats(subject)).knownInodes
}

/** Waits for the kernel's forgets after removal to reach the table (they arrive asynchronously). */
async function settledKnownInodes(subject: LiveSubject): Promise<number> {
  let known = await knownInodes(subject)
  for (let attempt = 0; attempt < 20; attempt++) {
    await sleep(50)
    const now = await knownInodes(subject)
    if (now === known) break
    known = now
  }
  return known
}

async function measureOnce(layout: Layout, profile: Profile, subjectId: string, shape: TreeShape): Promise<TreeRun> {
  const spec = TREE_SUBJECTS.find((s) => s.id === subjectId)!
  const subject = await startFuseSubject(spec, layout, profile)
  try {
    const root = join(subject.dir, 't')
    const isMountkit = subjectId.startsWith('mountkit')
    const rssBefore = subject.rssKiB()!
    const rates = {} as Record<Phase, number>
    let rssAfter = 0
    let knownAfterStat: number | undefined
    for (const phase of TREE_PHASES) {
      const out = await run(
        join(layout.bin, 'tree'),
        [root, phase, String(shape.directories), String(shape.filesPerDirectory)],
        PHASE_TIMEOUT_MS,
      )
      rates[phase] = (JSON.parse(out) as { rate: number }).rate
      if (phase === 'stat' && isMountkit) knownAfterStat = await knownInodes(subject)
      if (phase === 'stat') rssAfter = subject.rssKiB()!
    }
    const knownAfterRemove = isMountkit ? await settledKnownInodes(subject) : undefined
    return {
      rates,
      bytesPerInode: ((rssAfter - rssBefore) * 1024) / (shape.files + shape.directories),
      peakRssKiB: subject.peakRssKiB()!,
      knownAfterStat,
      knownAfterRemove,
    }
  } finally {
    await subject.stop()
  }
}

/**
 * Runs the tree workload: `profile.treeRuns` runs, each measuring every subject at every size
 * with the subject order rotated, so machine noise falls on both sides of each ratio.
 */
export async function measureTree(layout: Layout, profile: Profile, log: (line: string) => void): Promise<TreeResults> {
  const shapes = [treeShape(Math.max(1, Math.round(profile.treeFiles / 10))), treeShape(profile.treeFiles)]
  const results: TreeResults = { shapes, runs: shapes.map(() => new Map()) }
  const ids = TREE_SUBJECTS.map((s) => s.id)
  for (let runIndex = 0; runIndex < profile.treeRuns; runIndex++) {
    const order = ids.map((_, i) => ids[(i + runIndex) % ids.length])
    for (const [sizeIndex, shape] of shapes.entries()) {
      for (const id of order) {
        const measured = await measureOnce(layout, profile, id, shape)
        const perSubject = results.runs[sizeIndex]
        perSubject.set(id, [...(perSubject.get(id) ?? []), measured])
        const label = TREE_SUBJECTS.find((s) => s.id === id)!.label
        log(
          `tree run ${runIndex + 1}/${profile.treeRuns}  ${shape.files} files  ${label.padEnd(12)} ` +
            TREE_PHASES.map((p) => `${p} ${measured.rates[p].toFixed(0)}/s`).join(', ') +
            `, ${measured.bytesPerInode.toFixed(0)} B/inode` +
            (measured.knownAfterStat !== undefined ? `, known inodes ${measured.knownAfterStat} → ${measured.knownAfterRemove}` : ''),
        )
      }
    }
  }
  return results
}

/** Median and half the interquartile range relative to the median, as "value ±spread". */
function withSpread(values: number[], format: (v: number) => string): string {
  const m = median(values)
  const spread = m === 0 ? 0 : ((quantile(values, 0.75) - quantile(values, 0.25)) / m) * 50
  return `${format(m)} ±${spread.toFixed(0)}%`
}

/** Each run's rate of `mine` over the same run's rate of `base`, in `phase`. */
function runRatios(mine: TreeRun[], base: TreeRun[], phase: Phase): number[] {
  return mine.flatMap((r, i) => (i < base.length ? [r.rates[phase] / base[i].rates[phase]] : []))
}

/**
 * The tree tables: files per second per phase and size for every subject, with mountkit's
 * ratios to both C references taken run by run, then memory.
 */
export function treeTables(tree: TreeResults): string {
  const [c, lowLevel, mountkit] = TREE_SUBJECTS
  const subjects = [c, lowLevel, mountkit]
  const rateRows: string[][] = []
  const memoryRows: string[][] = []
  for (const [sizeIndex, shape] of tree.shapes.entries()) {
    const runs = tree.runs[sizeIndex]
    const [cRuns, lowLevelRuns, mRuns] = subjects.map((s) => runs.get(s.id) ?? [])
    const size = `${shape.files.toLocaleString('en-US')} files (${shape.directories} × ${shape.filesPerDirectory})`
    for (const phase of TREE_PHASES) {
      rateRows.push([
        `${size}, ${phase}`,
        ...[cRuns, lowLevelRuns, mRuns].map((r) => withSpread(r.map((run) => run.rates[phase]), formatFigure)),
        withSpread(runRatios(mRuns, cRuns, phase), formatRatio),
        withSpread(runRatios(mRuns, lowLevelRuns, phase), formatRatio),
      ])
    }
    const bytes = (v: number) => `${v.toFixed(0)} B`
    const known = (values: Array<number | undefined>) => median(values.map((v) => v ?? 0)).toLocaleString('en-US')
    memoryRows.push([
      size,
      ...[cRuns, lowLevelRuns, mRuns].map((r) => withSpread(r.map((run) => run.bytesPerInode), bytes)),
      ...[cRuns, lowLevelRuns, mRuns].map((r) => mib(median(r.map((run) => run.peakRssKiB)))),
      known(mRuns.map((r) => r.knownAfterStat)),
      known(mRuns.map((r) => r.knownAfterRemove)),
    ])
  }
  return [
    table(
      [
        'tree workload, files per second',
        ...subjects.map((s) => s.label),
        `${mountkit.label} ÷ ${c.label}`,
        `${mountkit.label} ÷ ${lowLevel.label}`,
      ],
      rateRows,
    ),
    '',
    table(
      [
        'tree size',
        ...subjects.map((s) => `${s.label}: RSS per inode`),
        ...subjects.map((s) => `${s.label}: peak RSS`),
        'mountkit known inodes after stat',
        'after remove',
      ],
      memoryRows,
    ),
  ].join('\n')
}
