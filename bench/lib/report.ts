// Turns measurements into tables: medians, ratios to the C references and to tmpfs, spread,
// peak RSS, and the RSS samples of the long run.
import type { ListStatResults } from './lsstat'
import type { Profile } from './profile'
import type { SubjectSpec } from './subjects'
import type { MachineInfo } from './system'
import type { TreeResults } from './tree'
import type { Workload } from './workloads'

export interface SoakResult {
  subject: string
  clients: number
  seconds: number
  /** stat() calls answered during the run (each is a LOOKUP and a GETATTR). */
  ops: number
  /** RSS in KiB, sampled once a second from the start of the run. */
  samples: Array<{ t: number; rssKiB: number }>
}

export interface Results {
  profile: Profile
  machine: MachineInfo
  /** Subjects that were measured, in table order. */
  subjects: SubjectSpec[]
  skipped: Array<{ spec: SubjectSpec; reason: string }>
  workloads: Workload[]
  /** Figures per workload id, then per subject id, one per run. */
  figures: Map<string, Map<string, number[]>>
  failures: Array<{ subject: string; workload: string; message: string }>
  peakRssKiB: Map<string, number>
  /** Facts a subject reported when it stopped (the mountkit data path). */
  notes: Map<string, string>
  soak: SoakResult | undefined
  tree: TreeResults | undefined
  listStat: ListStatResults | undefined
}

/** Results of a run of `workloads` on `machine` before anything was measured. */
export function emptyResults(profile: Profile, machine: MachineInfo, workloads: Workload[]): Results {
  return {
    profile,
    machine,
    subjects: [],
    skipped: [],
    workloads,
    figures: new Map(),
    failures: [],
    peakRssKiB: new Map(),
    notes: new Map(),
    soak: undefined,
    tree: undefined,
    listStat: undefined,
  }
}

/** The C reference every headline ratio is taken against: libfuse3's high-level API. */
export const REFERENCE = 'c'
/** The second C reference: libfuse3's low-level API, the kernel interface mountkit uses. */
export const LOW_LEVEL_REFERENCE = 'c-lowlevel'
export const CEILING = 'tmpfs'

/** The q-quantile (0..1) of `values`, interpolating between neighbours. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const below = Math.floor(at)
  const above = Math.min(below + 1, sorted.length - 1)
  return sorted[below] + (sorted[above] - sorted[below]) * (at - below)
}

export function median(values: number[]): number {
  return quantile(values, 0.5)
}

export function medianOf(results: Results, workload: string, subject: string): number | undefined {
  const values = results.figures.get(workload)?.get(subject)
  return values && values.length > 0 ? median(values) : undefined
}

/**
 * `subject` relative to `base` in `workload`: the median over runs of the two figures' ratio
 * within each run. Every run measures all subjects back to back, so a slow spell of the
 * shared machine that lands on one run weighs on both sides of that run's ratio, where a
 * ratio of the two medians could set a fast run of one against a slow run of the other.
 */
export function ratioOf(results: Results, workload: string, subject: string, base: string): number | undefined {
  const figures = results.figures.get(workload)
  const mine = figures?.get(subject) ?? []
  const theirs = figures?.get(base) ?? []
  // Both lists are in run order; a failure ends a list, never leaves a gap in it.
  const ratios: number[] = []
  for (let run = 0; run < Math.min(mine.length, theirs.length); run++) {
    if (theirs[run] > 0) ratios.push(mine[run] / theirs[run])
  }
  return ratios.length > 0 ? median(ratios) : undefined
}

export function formatFigure(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`
  if (value >= 100) return value.toFixed(0)
  return value.toFixed(1)
}

export function formatRatio(ratio: number): string {
  if (ratio >= 100) return `${ratio.toFixed(0)}×`
  if (ratio >= 10) return `${ratio.toFixed(1)}×`
  return `${ratio.toFixed(2)}×`
}

export const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n')
}

/** "·" marks a workload a subject does not run; "failed" one that failed (see the list below the tables). */
function cell(results: Results, workload: Workload, subject: SubjectSpec, show: Show): string {
  if (subject.only && !subject.only(workload.id)) return '·'
  if (results.failures.some((f) => f.subject === subject.id && f.workload === workload.id)) return 'failed'
  const value = medianOf(results, workload.id, subject.id)
  return value === undefined ? '—' : (show(value, workload, subject) ?? '—')
}

type Show = (value: number, workload: Workload, subject: SubjectSpec) => string | undefined

function figureTable(results: Results, show: Show, unit: boolean): string {
  const header = ['workload', ...(unit ? ['unit'] : []), ...results.subjects.map((s) => s.label)]
  const rows = results.workloads.map((w) => [
    w.label(results.profile),
    ...(unit ? [w.unit] : []),
    ...results.subjects.map((s) => cell(results, w, s, show)),
  ])
  return table(header, rows)
}

function ratioTo(results: Results, base: string): Show {
  return (_value, workload, subject) => {
    const ratio = ratioOf(results, workload.id, subject.id, base)
    return ratio === undefined ? undefined : formatRatio(ratio)
  }
}

export function absoluteTable(results: Results): string {
  return figureTable(results, formatFigure, true)
}

export function ratioToCTable(results: Results): string {
  return figureTable(results, ratioTo(results, REFERENCE), false)
}

/** Ratios to the C low-level reference, or undefined when it was not measured. */
export function ratioToLowLevelTable(results: Results): string | undefined {
  if (!results.subjects.some((s) => s.id === LOW_LEVEL_REFERENCE)) return undefined
  return figureTable(results, ratioTo(results, LOW_LEVEL_REFERENCE), false)
}

export function ratioToTmpfsTable(results: Results): string {
  return figureTable(results, ratioTo(results, CEILING), false)
}

/**
 * Interquartile range / median of each cell's runs: how much the machine moved the middle
 * half of the figures (the extremes are what the median is there to ignore).
 */
export function spreadTable(results: Results): string {
  return figureTable(
    results,
    (value, workload, subject) => {
      const runs = results.figures.get(workload.id)?.get(subject.id) ?? []
      return `±${(((quantile(runs, 0.75) - quantile(runs, 0.25)) / value) * 50).toFixed(0)}%`
    },
    false,
  )
}

export function rssTable(results: Results): string {
  const rows = results.subjects
    .filter((s) => results.peakRssKiB.has(s.id))
    .map((s) => [s.label, mib(results.peakRssKiB.get(s.id)!)])
  return table(['subject', 'peak RSS (VmHWM)'], rows)
}

export function soakSummary(soak: SoakResult): string {
  // Growth over the second half only: the heap settles in steps during the first half (V8 and
  // the allocator grow their arenas once), while growth per request would go on to the end.
  const half = soak.samples.filter((s) => s.t >= soak.seconds / 2)
  const first = half[0]
  const last = half[half.length - 1]
  const halfOps = soak.ops * ((last.t - first.t) / soak.seconds)
  const perMillion = halfOps > 0 ? (last.rssKiB - first.rssKiB) / (halfOps / 1e6) : 0
  const peak = Math.max(...soak.samples.map((s) => s.rssKiB))
  const step = Math.max(1, Math.ceil(soak.samples.length / 12))
  const picked = soak.samples.filter((_, i) => i % step === 0 || i === soak.samples.length - 1)
  const digits = soak.seconds < 20 ? 1 : 0
  return [
    `${soak.subject}, getattr storm with ${soak.clients} clients for ${soak.seconds} s: ` +
      `${soak.ops.toLocaleString('en-US')} stat() calls (${(soak.ops / soak.seconds / 1000).toFixed(1)}k/s, each a LOOKUP and a GETATTR).`,
    '',
    `Second half of the run: RSS ${mib(first.rssKiB)} at ${first.t.toFixed(digits)} s, ${mib(last.rssKiB)} at ${last.t.toFixed(digits)} s ` +
      `(${perMillion >= 0 ? '+' : ''}${perMillion.toFixed(1)} KiB per million stat() calls); peak of the whole run ${mib(peak)}.`,
    '',
    table(
      ['t (s)', ...picked.map((s) => s.t.toFixed(digits))],
      [['RSS (MiB)', ...picked.map((s) => (s.rssKiB / 1024).toFixed(1))]],
    ),
  ].join('\n')
}
