// The benchmark harness: `npm run bench` (full, publishes bench/results.md, bench/results.png
// and the table in bench/README.md), `npm run bench -- --quick` (shorter, prints only),
// `npm run bench:smoke` (tiny workloads that prove the harness works, for CI).
//
// Every subject is mounted once, in its own process, and all are measured in one run:
// run 1 of every workload on every subject, then run 2, and so on (the subject order rotates
// each run), so that machine noise falls on all subjects alike. Tables show medians.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync, closeSync, openSync, writeSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { DataPathReport, MountStats } from '../index'

/** Which ways the requests of a mountkit subject's last process came in. */
type RequestPaths = Pick<MountStats, 'ioUring' | 'requestsFromRing' | 'requestsReadWhileSpinning'>
import { PATTERN_SIZE, patternBuffer } from './subjects/model'
import { renderChart } from './lib/chart'
import { PROFILES, type Profile } from './lib/profile'
import {
  absoluteTable,
  CEILING,
  emptyResults,
  LOW_LEVEL_REFERENCE,
  ratioToCTable,
  ratioToLowLevelTable,
  ratioToTmpfsTable,
  REFERENCE,
  rssTable,
  soakSummary,
  spreadTable,
  type Results,
  type SoakResult,
} from './lib/report'
import { mountTmpfs, startFuseSubject, SUBJECTS, tmpfsSubject, type Layout, type LiveSubject, type SubjectSpec } from './lib/subjects'
import { commandExists, detach, isRoot, machineInfo, mountsUnder, run } from './lib/system'
import { listStatTable, measureListStat } from './lib/lsstat'
import { measureTree, treeTables } from './lib/tree'
import { verify } from './lib/verify'
import { WORKLOADS, type WorkloadContext } from './lib/workloads'

const BENCH = __dirname
const REPO = resolve(BENCH, '..')
/** Subjects whose absence is a failure of the run; the npm peers may be unavailable. */
const REQUIRED = new Set(['tmpfs', 'c', 'c-lowlevel', 'mountkit-js', 'mountkit-js-readdirplus-off', 'mountkit-passthrough', 'mountkit-rust-io'])

const layout: Layout = {
  root: join(BENCH, 'out'),
  bin: join(BENCH, 'out', 'bin'),
  js: join(BENCH, 'out', 'js'),
  mnt: join(BENCH, 'out', 'mnt'),
  tmpfs: join(BENCH, 'out', 'mnt', 'tmpfs'),
}

const LOCK = join(tmpdir(), `mountkit-bench-${createHash('sha256').update(BENCH).digest('hex').slice(0, 12)}.lock`)

const live: LiveSubject[] = []

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

interface Args {
  profile: Profile
  only: Set<string> | undefined
  /** Where a quick or smoke run writes results.md and results.png (by default it keeps none). */
  out: string | undefined
}

function parseArgs(argv: string[]): Args {
  let profile = PROFILES.full
  let only: Set<string> | undefined
  let out: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--smoke') profile = PROFILES.smoke
    else if (arg === '--quick') profile = PROFILES.quick
    else if (arg === '--runs') profile = { ...profile, runs: Number(argv[++i]) }
    else if (arg === '--subjects') only = new Set(argv[++i].split(','))
    else if (arg === '--out') out = resolve(argv[++i])
    else {
      log(
        'usage: tsx bench/run.ts [--quick | --smoke] [--runs N] [--subjects id,id,...] [--out DIR]\n' +
          `subjects: ${SUBJECTS.map((s) => s.id).join(', ')}`,
      )
      process.exit(arg === '--help' ? 0 : 64)
    }
  }
  if (!Number.isInteger(profile.runs) || profile.runs < 1) throw new Error('--runs takes a positive integer')
  if (out !== undefined && profile.publish) throw new Error('--out is for --quick and --smoke; a full run publishes to bench/')
  return { profile, only, out }
}

/** What must be installed; each problem names the Debian package that fixes it. */
function preflight(): string[] {
  const problems: string[] = []
  if (!isRoot()) problems.push('run as root: the harness mounts tmpfs file systems')
  if (!commandExists('fio')) problems.push('fio is missing: apt-get install fio')
  if (!commandExists('cc')) problems.push('a C compiler is missing: apt-get install build-essential')
  if (spawnSync('pkg-config', ['--exists', 'fuse3']).status !== 0) problems.push('libfuse3 headers are missing: apt-get install libfuse3-dev pkg-config')
  if (!commandExists('fusermount3')) problems.push('fusermount3 is missing: apt-get install fuse3')
  return problems
}

/**
 * Takes the harness lock, so that a second run (a CI smoke run next to a full run) cannot
 * unmount the first one's subjects or delete bench/out under it. The lock lives outside
 * bench/out, which every run clears. Returns false when another live run holds it.
 */
function lock(): boolean {
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' })
      process.on('exit', () => rmSync(LOCK, { force: true }))
      return true
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8'))
      if (alive(holder)) return false
      rmSync(LOCK, { force: true }) // left by a run that was killed
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Detaches every mount under bench/out (left by this run or an interrupted one) and removes it. */
function clearOut(): void {
  for (const mountpoint of mountsUnder(layout.root)) detach(mountpoint)
  const stuck = mountsUnder(layout.root)
  // Never delete through a mount that is still attached.
  if (stuck.length > 0) log(`could not unmount ${stuck.join(', ')}; leaving ${layout.root} in place`)
  else rmSync(layout.root, { recursive: true, force: true })
}

/** Synchronous teardown for signals and unexpected exits: nothing may stay mounted. */
function emergencyCleanup(): void {
  for (const subject of live) {
    if (subject.pid !== undefined) {
      try {
        process.kill(subject.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
  }
  clearOut()
}

async function build(): Promise<void> {
  mkdirSync(layout.bin, { recursive: true })
  const fuseFlags = spawnSync('pkg-config', ['--cflags', '--libs', 'fuse3'], { encoding: 'utf8' }).stdout.trim().split(/\s+/)
  const cc = (name: string, extra: string[] = []) =>
    run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', join(layout.bin, name), join(BENCH, 'c', `${name}.c`), ...extra], 120_000)
  await Promise.all([
    cc('benchfs', [...fuseFlags, '-lpthread']),
    cc('benchll', [...fuseFlags, '-lpthread']),
    cc('statstorm'),
    cc('listdir'),
    cc('lsstat'),
    cc('churn'),
    cc('tree'),
  ])
  await run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(BENCH, 'tsconfig.json')], 300_000)
}

/** Writes /file's content (the pattern) to `path`. */
function writePatternFile(path: string, size: number): void {
  const chunk = patternBuffer().subarray(0, PATTERN_SIZE)
  const fd = openSync(path, 'w')
  try {
    for (let offset = 0; offset < size; offset += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - offset))
  } finally {
    closeSync(fd)
  }
}

/** The bench files, for real, on a tmpfs of their own (see `Layout.tmpfs`). */
function writeTmpfsFiles(profile: Profile): void {
  const dir = layout.tmpfs
  // Room for /file, a full sequential write (by the ceiling, or into a backing-file subject's
  // twins, one subject at a time), and the create+unlink files.
  mountTmpfs(dir, 2 * profile.fileSize + (256 << 20))
  writePatternFile(join(dir, 'file'), profile.fileSize)
  mkdirSync(join(dir, 'dir'))
  mkdirSync(join(dir, 'w'))
  mkdirSync(join(dir, 't'))
  for (let i = 0; i < profile.entries; i++) writeFileSync(join(dir, 'dir', `e${i}`), '')
}

/** Why an npm peer cannot run here, or undefined when it loads. */
function peerUnavailable(pkg: string): string | undefined {
  const result = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(pkg)})`], { cwd: BENCH, encoding: 'utf8' })
  if (result.status === 0) return undefined
  const message = result.stderr.split('\n').find((l) => /Error|error:/.test(l)) ?? result.stderr.trim()
  return `${pkg} does not load here: ${message.trim()}`
}

async function startSubjects(specs: SubjectSpec[], profile: Profile, skipped: Results['skipped']): Promise<LiveSubject[]> {
  const started: LiveSubject[] = []
  // The ceiling always runs, and the backing-file subjects read its files too.
  writeTmpfsFiles(profile)
  for (const spec of specs) {
    const peer = spec.id === 'fuse-native' || spec.id === 'fuse-napi' ? peerUnavailable(spec.id) : undefined
    if (peer !== undefined) {
      skipped.push({ spec, reason: peer })
      log(`skip ${spec.label}: ${peer}`)
      continue
    }
    let subject: LiveSubject | undefined
    try {
      subject = spec.id === CEILING ? tmpfsSubject(spec, layout.tmpfs) : await startFuseSubject(spec, layout, profile)
      live.push(subject)
      await verify(subject.dir, profile)
      started.push(subject)
      log(`mounted ${spec.label}${subject.pid ? ` (pid ${subject.pid})` : ''}: checks pass`)
    } catch (error) {
      const reason = (error as Error).message
      skipped.push({ spec, reason })
      log(`skip ${spec.label}: ${reason}`)
      if (subject !== undefined) {
        live.splice(live.indexOf(subject), 1)
        await subject.stop().catch(() => undefined)
      }
    }
  }
  return started
}

async function measure(subjects: LiveSubject[], profile: Profile, results: Results): Promise<void> {
  let scratchCount = 0
  const ctx: WorkloadContext = {
    layout,
    profile,
    scratch: (name) => join(layout.root, `${scratchCount++}-${name}`),
  }
  for (let runIndex = 0; runIndex < profile.runs; runIndex++) {
    const order = subjects.map((_, i) => subjects[(i + runIndex) % subjects.length])
    for (const workload of WORKLOADS) {
      for (const subject of order) {
        const { spec } = subject
        if (spec.only && !spec.only(workload.id)) continue
        if (results.failures.some((f) => f.subject === spec.id && f.workload === workload.id)) continue
        try {
          const value = await workload.measure(subject.dir, ctx)
          const perSubject = results.figures.get(workload.id) ?? new Map<string, number[]>()
          results.figures.set(workload.id, perSubject)
          perSubject.set(spec.id, [...(perSubject.get(spec.id) ?? []), value])
          log(`run ${runIndex + 1}/${profile.runs}  ${workload.id.padEnd(11)} ${spec.label.padEnd(36)} ${value.toFixed(1)} ${workload.unit}`)
        } catch (error) {
          const message = (error as Error).message
          results.failures.push({ subject: spec.id, workload: workload.id, message })
          log(`run ${runIndex + 1}/${profile.runs}  ${workload.id.padEnd(11)} ${spec.label.padEnd(36)} FAILED: ${message}`)
        }
      }
    }
  }
}

/** A long getattr storm on mountkit JS, sampling its RSS every second (ten times in short runs). */
async function soak(subject: LiveSubject, profile: Profile): Promise<SoakResult> {
  const clients = 4
  const samples: SoakResult['samples'] = []
  const start = Date.now()
  const sample = () => {
    const rssKiB = subject.rssKiB()
    if (rssKiB !== undefined) samples.push({ t: (Date.now() - start) / 1000, rssKiB })
  }
  sample()
  const timer = setInterval(sample, Math.min(1000, (profile.soakSeconds * 1000) / 10))
  try {
    const out = await run(
      join(layout.bin, 'statstorm'),
      [join(subject.dir, 'file'), String(clients), String(profile.soakSeconds)],
      profile.soakSeconds * 1000 + 60_000,
    )
    sample()
    return { subject: subject.spec.label, clients, seconds: profile.soakSeconds, ops: (JSON.parse(out) as { ops: number }).ops, samples }
  } finally {
    clearInterval(timer)
  }
}

const TREE_INTRO =
  'A tree of empty files in directories of 1,000 (bench/c/tree.c): created (mkdir, then open O_CREAT|O_EXCL and close), ' +
  'walked (every directory listed, as find does), stat()ed file by file, and removed (unlink, rmdir). ' +
  'Every subject caches entries for an hour and attributes not at all, so the kernel holds an inode for every file ' +
  'and every stat() crosses as a GETATTR. Each measurement starts a fresh process. ' +
  '"RSS per inode" is the VmRSS growth from the empty mount to after the stat phase, divided by the files and directories of the tree: ' +
  'flat across the two sizes means memory per inode does not grow with the tree. ' +
  'mountkit\'s known inodes are `Mount.stats().knownInodes` after the stat phase (the tree, plus the root and /t) and once the kernel has forgotten the removed files. ' +
  'Medians of the runs, ± half the interquartile range; ratios are taken run by run.'

const LIST_STAT_INTRO =
  'What `ls -l` does to /dir (bench/c/lsstat.c): read the listing 32 KiB at a time (getdents64) and stat() each entry before reading on. ' +
  'Every subject here caches names and attributes for an hour, so the attributes a READDIRPLUS listing hands the kernel answer the stat() calls ' +
  'with no request at all, where a plain listing leaves one LOOKUP per name. A cached stat() costs nothing, so each measurement is one pass ' +
  'on a freshly started subject (a cold cache). "÷ same, READDIRPLUS off" is the subject over itself with READDIRPLUS off, run by run; ' +
  '"entries listed with attributes" is mountkit\'s `Mount.stats().entriesWithAttributes` after the pass. ' +
  'Medians of the runs, ± half the interquartile range.'

const LOW_LEVEL_INTRO =
  'The same ratios taken against the C low-level reference (bench/c/benchll.c): libfuse3\'s low-level API, the kernel interface ' +
  'mountkit uses, with a cloned /dev/fuse descriptor per loop thread. Against the high-level reference a ratio says how mountkit ' +
  'compares with a C filesystem as it is usually written; against this one, what mountkit\'s design costs or buys over C on the same interface.'

function resultsMarkdown(results: Results): string {
  const m = results.machine
  const p = results.profile
  const sections = [
    '# mountkit benchmark results',
    '',
    `Written by \`npm run bench\` (${p.name} profile); rerun it rather than editing this file. How to read it: [README.md](README.md).`,
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpu}, ${m.cores} cores; ${m.memoryGiB} GiB memory`,
    `- ${m.os}, Linux ${m.kernel}`,
    `- Node ${m.node}, libfuse ${m.libfuse3}, ${m.fio}`,
    `- mountkit ${m.commit}`,
    `- ${m.date}`,
    '',
    '## Subjects',
    '',
    ...results.subjects.map((s) => `- **${s.label}**: ${s.about}`),
    ...results.skipped.map((s) => `- **${s.spec.label}**: not measured. ${s.reason}`),
    '',
    `Attribute, entry and negative caching are off in every FUSE subject, so every \`stat()\` reaches the filesystem ` +
      '(as a LOOKUP and a GETATTR). Each figure is the median of ' +
      `${p.runs} run${p.runs > 1 ? 's' : ''}, interleaved across subjects; each ratio is the median of the ratios ` +
      'within each run, so a slow spell of the machine weighs on both sides of a ratio. Higher is better everywhere. ' +
      '"·" marks a workload the subject does not run (the backing-file subjects differ from mountkit JS only in the data of /file and of the files written in /w; ' +
      'READDIRPLUS off changes only listings).',
    '',
    '## Figures',
    '',
    absoluteTable(results),
    '',
    '## Relative to the C reference',
    '',
    ratioToCTable(results),
    '',
    ...lowLevelRatios(results, ['## Relative to the C low-level reference', '', LOW_LEVEL_INTRO]),
    '## Relative to tmpfs (no FUSE)',
    '',
    ratioToTmpfsTable(results),
    '',
    '![ratios to the C reference](results.png)',
    '',
    '## Memory',
    '',
    'Peak resident set of each subject process over all its workloads (`VmHWM` from `/proc/<pid>/status`):',
    '',
    rssTable(results),
    '',
  ]
  if (results.soak) sections.push('### RSS over a long run', '', soakSummary(results.soak), '')
  if (results.listStat) sections.push('## List + stat (READDIRPLUS)', '', LIST_STAT_INTRO, '', listStatTable(results.listStat), '')
  if (results.tree) sections.push('## Tree of files (scale)', '', TREE_INTRO, '', treeTables(results.tree), '')
  if (results.notes.size > 0) {
    sections.push('## Data and request paths', '', 'What the mountkit subjects reported when they stopped (`Mount.dataPath()`, `Mount.stats()`):', '')
    for (const [id, note] of results.notes) {
      const { dataPath, requests } = JSON.parse(note) as { dataPath: DataPathReport; requests: RequestPaths }
      sections.push(
        `- ${SUBJECTS.find((s) => s.id === id)?.label}: passthrough ${dataPath.passthroughNegotiated ? 'negotiated' : 'not negotiated'}; ` +
          `backed opens served by the kernel ${dataPath.passthroughOpens}, by Rust ${dataPath.rustIoOpens}; ` +
          `io_uring ring ${requests.ioUring ? `live, ${requests.requestsFromRing} requests through it` : 'not live'}; ` +
          `${requests.requestsReadWhileSpinning} requests read by the JavaScript thread while it spun`,
      )
    }
    sections.push('')
  }
  sections.push(
    '## Run-to-run spread',
    '',
    'Half the interquartile range of the runs behind each figure, relative to their median: ' +
      'a difference between two subjects smaller than their spread is noise.',
    '',
    spreadTable(results),
    '',
  )
  if (results.failures.length > 0) {
    sections.push('## Failures', '', ...results.failures.map((f) => `- ${f.subject} / ${f.workload}: ${f.message.split('\n')[0]}`), '')
  }
  return sections.join('\n')
}

/** The ratios to the C low-level reference after `heading`, as lines; none when it was not measured. */
function lowLevelRatios(results: Results, heading: string[]): string[] {
  const lowLevel = ratioToLowLevelTable(results)
  return lowLevel === undefined ? [] : [...heading, '', lowLevel, '']
}

/** The part of bench/README.md between the result markers: the latest table. */
function updateReadme(results: Results): void {
  const path = join(BENCH, 'README.md')
  const readme = readFileSync(path, 'utf8')
  const begin = '<!-- results:begin -->'
  const end = '<!-- results:end -->'
  const from = readme.indexOf(begin)
  const to = readme.indexOf(end)
  if (from < 0 || to < from) throw new Error(`bench/README.md lacks the ${begin} … ${end} markers`)
  const m = results.machine
  const body = [
    '',
    `${m.date}, ${m.cpu} (${m.cores} cores), Linux ${m.kernel}, Node ${m.node}, mountkit ${m.commit}. ` +
      `Medians of ${results.profile.runs} interleaved runs; details, spread and memory in [results.md](results.md).`,
    '',
    absoluteTable(results),
    '',
    'Relative to the C reference:',
    '',
    ratioToCTable(results),
    '',
    ...lowLevelRatios(results, ['Relative to the C low-level reference (the kernel interface mountkit uses):']),
    rssTable(results),
    '',
    ...(results.listStat
      ? ['List + stat, names and attributes cached (see [results.md](results.md#list--stat-readdirplus)):', '', listStatTable(results.listStat), '']
      : []),
    ...(results.tree ? ['Tree of files (see [results.md](results.md#tree-of-files-scale)):', '', treeTables(results.tree), ''] : []),
    '![ratios to the C reference](results.png)',
    '',
  ].join('\n')
  writeFileSync(path, readme.slice(0, from + begin.length) + body + readme.slice(to))
}

async function main(): Promise<number> {
  const { profile, only, out } = parseArgs(process.argv.slice(2))
  const problems = preflight()
  if (problems.length > 0) {
    log(`cannot run the benchmark:\n  ${problems.join('\n  ')}\n(see bench/README.md)`)
    return 2
  }
  if (!lock()) {
    log(`another benchmark run (pid ${readFileSync(LOCK, 'utf8')}) is using ${layout.root}; wait for it to finish`)
    return 2
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log(`\n${signal}: unmounting everything and leaving`)
      emergencyCleanup()
      process.exit(130)
    })
  }
  process.on('exit', () => {
    if (mountsUnder(layout.root).length > 0) emergencyCleanup()
  })

  const started = Date.now()
  clearOut()
  log(`profile ${profile.name}: ${profile.runs} runs; building the C programs and the subjects`)
  await build()

  const results = emptyResults(profile, machineInfo(), WORKLOADS)
  let exitCode = 0
  try {
    const always = [REFERENCE, LOW_LEVEL_REFERENCE, CEILING]
    const specs = SUBJECTS.filter((s) => only === undefined || only.has(s.id) || always.includes(s.id))
    const subjects = await startSubjects(specs, profile, results.skipped)
    results.subjects = subjects.map((s) => s.spec)
    if (!subjects.some((s) => s.spec.id === REFERENCE)) throw new Error('the C reference did not start; no ratios without it')

    await measure(subjects, profile, results)
    for (const subject of subjects) {
      const peak = subject.peakRssKiB()
      if (peak !== undefined) results.peakRssKiB.set(subject.spec.id, peak)
    }
    const mountkitJs = subjects.find((s) => s.spec.id === 'mountkit-js')
    if (mountkitJs) {
      log(`long run: ${profile.soakSeconds} s getattr storm on mountkit JS, sampling RSS`)
      results.soak = await soak(mountkitJs, profile)
    }
    for (const subject of subjects) {
      const note = await subject.stop()
      live.splice(live.indexOf(subject), 1)
      if (note) results.notes.set(subject.spec.id, note)
    }
    log(`list + stat workload: ${profile.entries} entries, ${profile.runs} run${profile.runs > 1 ? 's' : ''}, a fresh mount each`)
    results.listStat = await measureListStat(layout, profile, log)
    log(`tree workload: ${profile.treeFiles / 10} and ${profile.treeFiles} files, ${profile.treeRuns} run${profile.treeRuns > 1 ? 's' : ''}`)
    results.tree = await measureTree(layout, profile, log)
  } catch (error) {
    log(`benchmark failed: ${(error as Error).stack ?? String(error)}`)
    exitCode = 1
  } finally {
    for (const subject of live.splice(0)) await subject.stop().catch((e: Error) => log(e.message))
  }

  if (exitCode === 0) {
    const output = [
      '## Figures',
      absoluteTable(results),
      '',
      '## Relative to the C reference',
      ratioToCTable(results),
      '',
      ...lowLevelRatios(results, ['## Relative to the C low-level reference']),
      '## Relative to tmpfs',
      ratioToTmpfsTable(results),
      '',
      rssTable(results),
      ...(results.soak ? ['', soakSummary(results.soak)] : []),
      ...(results.listStat ? ['', '## List + stat', listStatTable(results.listStat)] : []),
      ...(results.tree ? ['', '## Tree of files', treeTables(results.tree)] : []),
      '',
    ].join('\n')
    process.stdout.write(`\n${output}\n`)
    // Without --out, quick and smoke runs still write their report, into bench/out (removed
    // below), so that the smoke run proves that part works too.
    const outDir = profile.publish ? BENCH : (out ?? layout.root)
    mkdirSync(outDir, { recursive: true })
    writeFileSync(join(outDir, 'results.md'), resultsMarkdown(results))
    writeFileSync(join(outDir, 'results.png'), renderChart(results))
    if (profile.publish) updateReadme(results)
    if (profile.publish || out !== undefined) log(`wrote results.md and results.png in ${outDir}`)
  }

  for (const s of results.skipped) {
    if (REQUIRED.has(s.spec.id)) {
      log(`required subject ${s.spec.label} was not measured: ${s.reason}`)
      exitCode = 1
    }
  }
  if (results.failures.length > 0) exitCode = 1

  clearOut()
  const left = mountsUnder(layout.root)
  const fuseLeft = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(layout.root))
  if (left.length > 0 || fuseLeft.length > 0) {
    log(`mounts left behind: ${[...left, ...fuseLeft].join(', ')}`)
    exitCode = 1
  } else {
    log(`no mount left behind; ${((Date.now() - started) / 1000).toFixed(0)} s in all`)
  }
  return exitCode
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`benchmark failed: ${(error as Error).stack ?? String(error)}`)
    emergencyCleanup()
    process.exit(1)
  },
)
