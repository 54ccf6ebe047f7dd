// The bench's report tables (pure logic): ratios are taken run by run against either C
// reference, the tree tables set mountkit against both, and the list + stat table sets each
// READDIRPLUS subject against itself with READDIRPLUS off.
import test from 'ava'
import { listStatTable, type ListStatRun } from '../bench/lib/lsstat'
import { PROFILES } from '../bench/lib/profile'
import { emptyResults, ratioToCTable, ratioToLowLevelTable, type Results } from '../bench/lib/report'
import { SUBJECTS } from '../bench/lib/subjects'
import { treeShape, treeTables, type TreeRun } from '../bench/lib/tree'
import { WORKLOADS } from '../bench/lib/workloads'

const GETATTR = WORKLOADS.find((w) => w.id === 'getattr-1')!

function results(subjectIds: string[], figures: Record<string, number[]>): Results {
  const machine = { cpu: 'cpu', cores: 2, memoryGiB: 1, kernel: 'k', os: 'os', node: 'n', libfuse3: 'l', fio: 'f', commit: 'c', date: 'd' }
  return {
    ...emptyResults(PROFILES.smoke, machine, [GETATTR]),
    subjects: subjectIds.map((id) => SUBJECTS.find((s) => s.id === id)!),
    figures: new Map([[GETATTR.id, new Map(Object.entries(figures))]]),
  }
}

/** The cells of a table's only data row, after the workload's name. */
function row(table: string): string[] {
  const line = table.split('\n')[2]
  return line.split('|').map((cell) => cell.trim()).filter((cell) => cell !== '').slice(1)
}

test('ratios to the low-level reference are taken run by run, beside those to the high-level one', (t) => {
  // Run 2 is a slow spell for everyone: run-by-run ratios ignore it, a ratio of medians would not.
  const measured = results(['c', 'c-lowlevel', 'mountkit-js'], {
    c: [100, 50, 100],
    'c-lowlevel': [200, 100, 200],
    'mountkit-js': [80, 40, 80],
  })
  t.deepEqual(row(ratioToCTable(measured)), ['1.00×', '2.00×', '0.80×'])
  t.deepEqual(row(ratioToLowLevelTable(measured)!), ['0.50×', '1.00×', '0.40×'])
})

test('without the low-level reference there is no table of ratios to it', (t) => {
  const measured = results(['c', 'mountkit-js'], { c: [100], 'mountkit-js': [80] })
  t.is(ratioToLowLevelTable(measured), undefined)
  t.deepEqual(row(ratioToCTable(measured)), ['1.00×', '0.80×'])
})

function treeRun(rate: number, bytesPerInode: number, known?: [number, number]): TreeRun {
  return {
    rates: { create: rate, walk: rate, stat: rate, remove: rate },
    bytesPerInode,
    peakRssKiB: 1024,
    knownAfterStat: known?.[0],
    knownAfterRemove: known?.[1],
  }
}

test('the tree tables show both C references and mountkit, with mountkit over each, run by run', (t) => {
  const shape = treeShape(2000)
  const tables = treeTables({
    shapes: [shape],
    runs: [
      new Map([
        ['c-tree', [treeRun(1000, 300), treeRun(500, 300)]],
        ['c-lowlevel-tree', [treeRun(2000, 100), treeRun(1000, 100)]],
        ['mountkit-tree', [treeRun(500, 600, [2004, 2]), treeRun(250, 600, [2004, 2])]],
      ]),
    ],
  })
  const [rates, memory] = tables.split('\n\n')
  t.deepEqual(rates.split('\n')[0].split('|').map((c) => c.trim()).filter(Boolean), [
    'tree workload, files per second',
    'C libfuse3',
    'C libfuse3 low-level',
    'mountkit JS',
    'mountkit JS ÷ C libfuse3',
    'mountkit JS ÷ C libfuse3 low-level',
  ])
  const create = rates.split('\n')[2].split('|').map((c) => c.trim()).filter(Boolean)
  t.deepEqual(create, ['2,000 files (2 × 1000), create', '750 ±17%', '1500 ±17%', '375 ±17%', '0.50× ±0%', '0.25× ±0%'])
  const sizes = memory.split('\n')[2].split('|').map((c) => c.trim()).filter(Boolean)
  t.deepEqual(sizes, ['2,000 files (2 × 1000)', '300 B ±0%', '100 B ±0%', '600 B ±0%', '1.0 MiB', '1.0 MiB', '1.0 MiB', '2,004', '2'])
})

test('the READDIRPLUS-off variant of mountkit JS runs only the readdir workload', (t) => {
  const measured = results(['c', 'mountkit-js', 'mountkit-js-readdirplus-off'], { c: [100], 'mountkit-js': [80] })
  t.deepEqual(row(ratioToCTable(measured)), ['1.00×', '0.80×', '·'])
  const readdir = WORKLOADS.find((w) => w.id === 'readdir')!
  const figures = { c: [100], 'mountkit-js': [90], 'mountkit-js-readdirplus-off': [99] }
  const listings = { ...measured, workloads: [readdir], figures: new Map([[readdir.id, new Map(Object.entries(figures))]]) }
  t.deepEqual(row(ratioToCTable(listings)), ['1.00×', '0.90×', '0.99×'])
})

/** The cells of the list + stat table's row for `label`. */
function listStatRow(table: string, label: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`| ${label} |`))!
  return line.split('|').map((cell) => cell.trim()).filter((cell) => cell !== '').slice(1)
}

test('the list + stat table sets each subject against both C references and against itself with READDIRPLUS off, run by run', (t) => {
  const rates = (values: number[], withAttributes?: number): ListStatRun[] =>
    values.map((rate) => ({ rate, entriesWithAttributes: withAttributes }))
  // Run 2 is a slow spell for everyone: the run-by-run ratios do not move.
  const table = listStatTable({
    entries: 10_000,
    runs: new Map([
      ['c-lsstat', rates([100_000, 50_000, 100_000])],
      ['c-lowlevel-lsstat', rates([400_000, 200_000, 400_000])],
      ['c-lowlevel-lsstat-off', rates([200_000, 100_000, 200_000])],
      ['mountkit-lsstat-auto', rates([300_000, 150_000, 300_000], 10_000)],
      ['mountkit-lsstat-on', rates([300_000, 150_000, 300_000], 10_000)],
      ['mountkit-lsstat-off', rates([100_000, 50_000, 100_000], 0)],
    ]),
  })
  t.is(
    table.split('\n')[0],
    '| list + stat 10,000 entries, cold cache | entries/s | ÷ C libfuse3 | ÷ C libfuse3 low-level | ÷ same, READDIRPLUS off | entries listed with attributes |',
  )
  t.deepEqual(listStatRow(table, 'C libfuse3'), ['100.0k ±13%', '1.00× ±0%', '0.25× ±0%', '·', '·'])
  t.deepEqual(listStatRow(table, 'C libfuse3 low-level, READDIRPLUS auto'), ['400.0k ±13%', '4.00× ±0%', '1.00× ±0%', '2.00× ±0%', '·'])
  t.deepEqual(listStatRow(table, 'mountkit JS, readdirPlus true'), ['300.0k ±13%', '3.00× ±0%', '0.75× ±0%', '3.00× ±0%', '10,000'])
  t.deepEqual(listStatRow(table, 'mountkit JS, readdirPlus false'), ['100.0k ±13%', '1.00× ±0%', '0.25× ±0%', '·', '0'])
})
