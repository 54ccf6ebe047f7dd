// Reading pjdfstest's output, comparing two runs, and the table __test__/pjdfstest.test.ts logs.
//
// pjdfstest 0.2.1 prints one line per test case, its name padded to a column and then its
// outcome (`ok`, `FAILED`, `skipped`, and with `expected_failures` in the configuration
// `failed as expected` or `PASSED UNEXPECTEDLY`). Under a failure it prints the panic message,
// tab-indented on its first line (assert_eq! messages continue over further lines); under a
// skip, each reason on a tab-indented line of its own. It ends with a summary line, which the
// parser checks its own counts against.

/** A case's outcome, as the comparison sees it. */
export type Outcome = 'passed' | 'failed' | 'skipped'

/** What pjdfstest printed after a case's name. */
export type Status = 'ok' | 'FAILED' | 'skipped' | 'PASSED UNEXPECTEDLY' | 'failed as expected'

export interface CaseResult {
  /** The case's full name, such as `chown::lchown::enotdir_component::fifo`. */
  name: string
  /** Its syscall group: the name's first component (`chown`). */
  suite: string
  status: Status
  outcome: Outcome
  /** For a failure, pjdfstest's message; for a skip, its reasons. Lines as printed, trimmed. */
  details: string[]
}

export interface Summary {
  failed: number
  skipped: number
  passed: number
  expectedFailures: number
  total: number
}

export interface ParsedRun {
  cases: CaseResult[]
  /** The closing summary line, if pjdfstest got that far. */
  summary?: Summary
}

const OUTCOME: Record<Status, Outcome> = {
  ok: 'passed',
  'PASSED UNEXPECTEDLY': 'passed',
  FAILED: 'failed',
  'failed as expected': 'failed',
  skipped: 'skipped',
}

const CASE_LINE = /^(\w+(?:::\w+)+)\s+(ok|FAILED|skipped|PASSED UNEXPECTEDLY|failed as expected)$/
const SUMMARY_LINE = /^Summary: (\d+) failed, (\d+) skipped, (\d+) passed, (\d+) expected failures, (\d+) total$/
// Colour codes, in case the environment forces them (CLICOLOR_FORCE) despite NO_COLOR.
const ANSI = /\x1b\[[0-9;]*m/g

/** Parses pjdfstest's standard output. */
export function parsePjdfstest(stdout: string): ParsedRun {
  const cases: CaseResult[] = []
  let summary: Summary | undefined
  let current: CaseResult | undefined
  for (const raw of stdout.replace(ANSI, '').split('\n')) {
    const line = raw.trimEnd()
    const isCase = CASE_LINE.exec(line)
    if (isCase !== null) {
      const [, name, status] = isCase as unknown as [string, string, Status]
      current = { name, suite: name.split('::')[0], status, outcome: OUTCOME[status], details: [] }
      cases.push(current)
      continue
    }
    const isSummary = SUMMARY_LINE.exec(line)
    if (isSummary !== null) {
      const [failed, skipped, passed, expectedFailures, total] = isSummary.slice(1).map(Number)
      summary = { failed, skipped, passed, expectedFailures, total }
      current = undefined
      continue
    }
    if (current !== undefined && line.trim() !== '') current.details.push(line.trim())
  }
  return { cases, summary }
}

/**
 * The counts the summary line should show for `cases`, computed the way pjdfstest computes
 * them (an unexpected pass counts as a failure).
 */
export function countsOf(cases: CaseResult[]): Summary {
  const n = (...statuses: Status[]) => cases.filter((c) => statuses.includes(c.status)).length
  return {
    failed: n('FAILED', 'PASSED UNEXPECTEDLY'),
    skipped: n('skipped'),
    passed: n('ok'),
    expectedFailures: n('failed as expected'),
    total: cases.length,
  }
}

/** One pjdfstest run, parsed, with what it ran on. */
export interface Run {
  /** Short name for tables: `memfs`, `tmpfs`, `mirror`, `ext4`. */
  label: string
  cases: CaseResult[]
  seconds: number
}

/** A failure's message on one line, shortened. */
export function oneLine(details: string[], max = 240): string {
  const text = details.join(' ').replace(/\s+/g, ' ').trim()
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

function describe(c: CaseResult | undefined): string {
  if (c === undefined) return 'not run'
  if (c.outcome === 'passed') return 'passed'
  if (c.outcome === 'skipped') return `skipped (${oneLine(c.details)})`
  return oneLine(c.details) || 'failed'
}

/**
 * The goal as set inclusion: each case that fails on `subject` must also fail on `reference`.
 * Returns one line per case that does not, naming the case and both outcomes.
 */
export function failuresNotIn(subject: Run, reference: Run): string[] {
  const byName = new Map(reference.cases.map((c) => [c.name, c]))
  return subject.cases
    .filter((c) => c.outcome === 'failed' && byName.get(c.name)?.outcome !== 'failed')
    .map((c) => `${c.name} — ${subject.label}: ${describe(c)}; ${reference.label}: ${describe(byName.get(c.name))}`)
}

/** Passed/failed/skipped per suite for both runs, why the skips, and every failure with its message. */
export function comparisonTable(subject: Run, reference: Run): string {
  const suites = [...new Set([...subject.cases, ...reference.cases].map((c) => c.suite))].sort()
  const tally = (run: Run, suite?: string) => {
    const cases = run.cases.filter((c) => suite === undefined || c.suite === suite)
    const n = (o: Outcome) => cases.filter((c) => c.outcome === o).length
    return [n('passed'), n('failed'), n('skipped')]
  }
  const nameWidth = Math.max(5, ...suites.map((s) => s.length))
  const column = (label: string) => `${label}: pass fail skip`
  const cell = (label: string, counts: number[]) =>
    `${' '.repeat(label.length + 2)}${counts.map((n, i) => String(n).padStart(i === 0 ? 4 : 5)).join('')}`
  const row = (name: string, suite?: string) =>
    `${name.padEnd(nameWidth)}   ${cell(subject.label, tally(subject, suite))}   ${cell(reference.label, tally(reference, suite))}`
  const lines = [
    `${'suite'.padEnd(nameWidth)}   ${column(subject.label)}   ${column(reference.label)}`,
    ...suites.map((s) => row(s, s)),
    row('total'),
    '',
    `time: ${subject.label} ${subject.seconds.toFixed(1)} s, ${reference.label} ${reference.seconds.toFixed(1)} s`,
  ]

  // Skips, grouped by reason: how many on each side, and in which suites.
  const reasons = new Map<string, { counts: Map<string, number>; suites: Set<string> }>()
  for (const run of [subject, reference]) {
    for (const c of run.cases.filter((x) => x.outcome === 'skipped')) {
      for (const reason of c.details.length > 0 ? c.details : ['(no reason printed)']) {
        const entry = reasons.get(reason) ?? { counts: new Map(), suites: new Set() }
        entry.counts.set(run.label, (entry.counts.get(run.label) ?? 0) + 1)
        entry.suites.add(c.suite)
        reasons.set(reason, entry)
      }
    }
  }
  if (reasons.size > 0) {
    lines.push('', 'skipped, and why:')
    for (const [reason, { counts, suites: where }] of reasons) {
      const n = (label: string) => `${label} ${counts.get(label) ?? 0}`
      lines.push(`  ${n(subject.label)}, ${n(reference.label)}: ${reason} [${[...where].sort().join(', ')}]`)
    }
  }

  for (const run of [subject, reference]) {
    const failed = run.cases.filter((c) => c.outcome === 'failed').sort((a, b) => a.name.localeCompare(b.name))
    lines.push('', `failed on ${run.label}: ${failed.length}`)
    for (const c of failed) lines.push(`  ${c.name}: ${oneLine(c.details) || '(no message)'}`)
  }
  return lines.join('\n')
}
