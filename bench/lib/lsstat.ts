// The list + stat workload: what `ls -l` and `find -ls` do to /dir (bench/c/lsstat.c), the case
// READDIRPLUS is for. Its subjects cache names and attributes for longer than the run, so the
// attributes a listing hands the kernel are still there when each name is stat()ed. A cached
// stat costs nothing, so only a cold cache measures anything: each measurement starts a fresh
// subject process and makes one pass. Figures: entries listed and stat()ed per second, ratios to
// both C references and of each READDIRPLUS subject to its own subject with READDIRPLUS off, all
// taken run by run; and, for mountkit, how many entries went to the kernel with their attributes.
import { join } from 'node:path'
import type { Profile } from './profile'
import { formatFigure, formatRatio, median, quantile, table } from './report'
import { reportedStats } from './tree'
import { LIST_STAT_SUBJECTS, startFuseSubject, type Layout } from './subjects'
import { verify } from './verify'
import { run } from './system'

/** The C references the list + stat ratios are taken against (both with READDIRPLUS as libfuse sets it). */
export const LIST_STAT_REFERENCE = 'c-lsstat'
export const LIST_STAT_LOW_LEVEL_REFERENCE = 'c-lowlevel-lsstat'

/** One pass over a 10,000-entry directory takes well under a second; this only stops a wedged subject. */
const PASS_TIMEOUT_MS = 5 * 60_000

/** One measurement: one subject, one fresh process, one pass. */
export interface ListStatRun {
  /** Entries listed and stat()ed per second. */
  rate: number
  /** mountkit: entries handed to the kernel with their attributes (`Mount.stats().entriesWithAttributes`); undefined for C. */
  entriesWithAttributes: number | undefined
}

export interface ListStatResults {
  entries: number
  /** Runs per subject id, in run order. */
  runs: Map<string, ListStatRun[]>
}

async function measureOnce(layout: Layout, profile: Profile, subjectId: string): Promise<ListStatRun> {
  const spec = LIST_STAT_SUBJECTS.find((s) => s.id === subjectId)!
  const subject = await startFuseSubject(spec, layout, profile)
  try {
    const out = await run(join(layout.bin, 'lsstat'), [join(subject.dir, 'dir'), String(profile.entries)], PASS_TIMEOUT_MS)
    const rate = (JSON.parse(out) as { rate: number }).rate
    const entriesWithAttributes = subjectId.startsWith('mountkit') ? (await reportedStats(subject)).entriesWithAttributes : undefined
    return { rate, entriesWithAttributes }
  } finally {
    await subject.stop()
  }
}

/** Mounts each subject once and checks it serves the bench filesystem, before any measurement. */
async function verifyAll(layout: Layout, profile: Profile): Promise<void> {
  for (const spec of LIST_STAT_SUBJECTS) {
    const subject = await startFuseSubject(spec, layout, profile)
    try {
      await verify(subject.dir, profile)
    } finally {
      await subject.stop()
    }
  }
}

/**
 * Runs the workload: `profile.runs` runs, each measuring every subject once on a fresh mount,
 * the subject order rotated each run, so machine noise falls on both sides of each ratio.
 */
export async function measureListStat(layout: Layout, profile: Profile, log: (line: string) => void): Promise<ListStatResults> {
  await verifyAll(layout, profile)
  const results: ListStatResults = { entries: profile.entries, runs: new Map() }
  const ids = LIST_STAT_SUBJECTS.map((s) => s.id)
  for (let runIndex = 0; runIndex < profile.runs; runIndex++) {
    const order = ids.map((_, i) => ids[(i + runIndex) % ids.length])
    for (const id of order) {
      const measured = await measureOnce(layout, profile, id)
      results.runs.set(id, [...(results.runs.get(id) ?? []), measured])
      const label = LIST_STAT_SUBJECTS.find((s) => s.id === id)!.label
      log(
        `list+stat run ${runIndex + 1}/${profile.runs}  ${label.padEnd(44)} ${measured.rate.toFixed(0)} entries/s` +
          (measured.entriesWithAttributes !== undefined ? `, ${measured.entriesWithAttributes} with attributes` : ''),
      )
    }
  }
  return results
}

/** Median and half the interquartile range relative to the median, as "value ±spread". */
function withSpread(values: number[], format: (v: number) => string): string {
  if (values.length === 0) return '—'
  const m = median(values)
  const spread = m === 0 ? 0 : ((quantile(values, 0.75) - quantile(values, 0.25)) / m) * 50
  return `${format(m)} ±${spread.toFixed(0)}%`
}

/** Each run's rate of `mine` over the same run's rate of `base`, as "median ±spread"; "·" without a base. */
function ratioCell(mine: ListStatRun[], base: ListStatRun[] | undefined): string {
  if (base === undefined) return '·'
  const ratios = mine.flatMap((r, i) => (i < base.length && base[i].rate > 0 ? [r.rate / base[i].rate] : []))
  return withSpread(ratios, formatRatio)
}

/**
 * The list + stat table: one row per subject, with its rate, its ratios to both C references,
 * its ratio to the same subject with READDIRPLUS off (`SubjectSpec.readdirPlusOff`), and, for mountkit,
 * the entries the kernel was handed with attributes.
 */
export function listStatTable(results: ListStatResults): string {
  const reference = results.runs.get(LIST_STAT_REFERENCE)
  const lowLevel = results.runs.get(LIST_STAT_LOW_LEVEL_REFERENCE)
  const rows = LIST_STAT_SUBJECTS.filter((s) => results.runs.has(s.id)).map((spec) => {
    const mine = results.runs.get(spec.id)!
    const withAttributes = mine.map((r) => r.entriesWithAttributes)
    return [
      spec.label,
      withSpread(mine.map((r) => r.rate), formatFigure),
      ratioCell(mine, reference),
      ratioCell(mine, lowLevel),
      ratioCell(mine, spec.readdirPlusOff === undefined ? undefined : results.runs.get(spec.readdirPlusOff)),
      withAttributes.some((v) => v === undefined) ? '·' : median(withAttributes as number[]).toLocaleString('en-US'),
    ]
  })
  return table(
    [
      `list + stat ${results.entries.toLocaleString('en-US')} entries, cold cache`,
      'entries/s',
      '÷ C libfuse3',
      '÷ C libfuse3 low-level',
      '÷ same, READDIRPLUS off',
      'entries listed with attributes',
    ],
    rows,
  )
}
