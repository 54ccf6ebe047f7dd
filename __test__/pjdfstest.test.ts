// POSIX conformance by a standard suite: pjdfstest (its Rust rewrite, 0.2.1; about 400 cases
// of chmod, chown, link, mkdir, mkfifo, mknod, open, posix_fallocate, rename, rmdir, symlink,
// truncate, ftruncate, unlink and utimensat) against the two reference filesystems, each
// compared with what it models:
//
//   memfs   mounted with allowOther, against a tmpfs mounted for the purpose (nosuid,nodev, as
//           mountkit mounts): every case that fails on memfs must also fail on tmpfs.
//   mirror  mounted with allowOther over a fresh directory of the machine's ordinary filesystem
//           (the one holding the temp dir), against pjdfstest run directly in another fresh
//           directory of that filesystem: every case that fails on mirror must also fail there.
//
// Each pair runs at the same time with the same configuration (__test__/pjdfstest.toml, which
// explains each choice), and each run gets a small tmpfs of its own as the "secondary
// filesystem" its EXDEV cases need. The table of passed, failed and skipped cases per syscall
// group, with why each skip, goes to t.log for both sides; a failure lists the offending cases
// with pjdfstest's message.
//
// Root only: pjdfstest switches to other users (seteuid) for its permission cases and
// bind-mounts for its rmdir cases, and the test mounts tmpfs. Without root the test fails and
// says so (CI runs as root). pjdfstest is a test tool (BSD-2-Clause), run as a separate
// program: `cargo install pjdfstest --version 0.2.1 --locked`, and it needs the users nobody
// and tests; scripts/setup.sh sets up both.
import test, { type ExecutionContext } from 'ava'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import type { HandlerError } from '../index'
import { createMemfs } from '../examples/memfs'
import { createMirror } from '../examples/mirror'
import { cargoTool } from './helpers/cargo-tool'
import { lazyUnmount, mountFs, removeTempDir, tempDir, trackMountPoint } from './helpers/mount'
import { run } from './helpers/python'
import {
  comparisonTable,
  countsOf,
  failuresNotIn,
  oneLine,
  parsePjdfstest,
  type CaseResult,
  type Run,
} from './pjdfstest-report'

const VERSION = '0.2.1'
const CONFIG = join(__dirname, 'pjdfstest.toml')
/** One run takes seconds; this bounds a run that hangs. */
const RUN_TIMEOUT_MS = 240_000

/** Fails the test, saying what is missing and how to get it, unless everything is there. */
async function prerequisites(t: ExecutionContext): Promise<string> {
  const missing = (message: string): never => {
    t.fail(message)
    throw new Error(message)
  }
  if (process.getuid?.() !== 0) {
    missing(
      'pjdfstest needs root: it switches to other users for its permission cases and bind-mounts for its rmdir ' +
        'cases, and this test mounts tmpfs. Run it as root (CI does): sudo npx ava __test__/pjdfstest.test.ts',
    )
  }
  const binary = await cargoTool(t, 'pjdfstest', VERSION)
  for (const user of ['nobody', 'tests']) {
    const id = await run('id', [user])
    if (id.code !== 0) missing(`pjdfstest switches to the users nobody and tests, and ${user} is missing: run scripts/setup.sh`)
  }
  return binary
}

interface MountEntry {
  point: string
  type: string
}

/** The mounts in /proc/self/mountinfo, decoding its octal escapes. */
async function mounts(): Promise<MountEntry[]> {
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
  return (await fsp.readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .filter((line) => line.includes(' - '))
    .map((line) => {
      const [before, after] = line.split(' - ')
      return { point: unescape(before.split(' ')[4]), type: after.split(' ')[0] }
    })
}

/** The type of the filesystem holding `path`: that of the deepest mount point above it. */
async function filesystemType(path: string): Promise<string> {
  const real = await fsp.realpath(path)
  const holding = (await mounts())
    .filter((m) => m.point === '/' || real === m.point || real.startsWith(`${m.point}/`))
    .sort((a, b) => a.point.length - b.point.length)
  return holding[holding.length - 1]?.type ?? 'unknown'
}

/**
 * Removes a test directory after unmounting whatever is still mounted in it or on it: a
 * pjdfstest run that was killed can leave its rmdir cases' bind mounts behind.
 */
async function unmountAndRemove(dir: string): Promise<void> {
  const inside = (await mounts())
    .map((m) => m.point)
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length)
  await lazyUnmount([...new Set(inside)])
  await removeTempDir(dir)
}

/** A fresh directory of the machine's ordinary filesystem (the temp dir's), mode 0755, removed after the test. */
async function ordinaryDir(t: ExecutionContext): Promise<string> {
  const dir = await tempDir()
  t.teardown(() => unmountAndRemove(dir))
  // Other users must reach the cases' directories, as they reach the mounted roots.
  await fsp.chmod(dir, 0o755)
  return dir
}

/** A tmpfs mounted for this test (mode 0755, nosuid,nodev like mountkit's mounts), unmounted and removed after it. */
async function mountTmpfs(t: ExecutionContext, size: string): Promise<string> {
  const dir = await tempDir()
  trackMountPoint(dir)
  t.teardown(() => unmountAndRemove(dir))
  const mounted = await run('mount', ['-t', 'tmpfs', '-o', `mode=0755,nosuid,nodev,size=${size}`, 'mountkit-pjdfstest', dir])
  if (mounted.code !== 0) throw new Error(`mount -t tmpfs on ${dir} failed (${mounted.code}): ${mounted.stderr.trim()}`)
  t.is(await filesystemType(dir), 'tmpfs', `${dir} is a tmpfs`)
  return dir
}

/** Runs pjdfstest with our configuration in `path`, and reads its output. */
async function pjdfstest(t: ExecutionContext, binary: string, label: string, path: string): Promise<Run> {
  // Each run has a secondary filesystem of its own for the EXDEV cases.
  const secondary = await mountTmpfs(t, '16m')
  const started = performance.now()
  const result = await run(binary, ['-c', CONFIG, '-p', path, '-s', secondary], {
    env: { ...process.env, NO_COLOR: '1', RUST_BACKTRACE: '0' },
    timeoutMs: RUN_TIMEOUT_MS,
  })
  const seconds = (performance.now() - started) / 1000
  const { cases, summary } = parsePjdfstest(result.stdout)
  if (summary === undefined) {
    const how = result.code < 0 ? `was killed by signal ${-result.code} after ${seconds.toFixed(0)} s` : `exited with ${result.code}`
    const message =
      `pjdfstest on ${label} (${path}) ${how} before its summary, after ${cases.length} of its cases. ` +
      `stderr: ${result.stderr.trim() || '(empty)'}; last output: ${oneLine(result.stdout.trim().split('\n').slice(-5), 600) || '(none)'}`
    t.fail(message)
    throw new Error(message)
  }
  t.deepEqual(countsOf(cases), summary, `${label}: the cases read from pjdfstest's output add up to its summary line`)
  t.is(result.code === 0, summary.failed === 0, `${label}: pjdfstest's exit code (${result.code}) agrees with its ${summary.failed} failures`)
  return { label, cases, seconds }
}

/** Both runs of a pair, once both have ended: a failed one never has its mounts pulled from under the other. */
async function pair(subject: Promise<Run>, reference: Promise<Run>): Promise<[Run, Run]> {
  const [a, b] = await Promise.allSettled([subject, reference])
  if (a.status === 'rejected') throw a.reason
  if (b.status === 'rejected') throw b.reason
  return [a.value, b.value]
}

const names = (r: Run) => r.cases.map((c) => c.name).sort()

/** The comparison for the log, with any `error` events the mount emitted. */
function report(t: ExecutionContext, subject: Run, reference: Run, errors: HandlerError[]): void {
  t.log(`pjdfstest ${VERSION}, ${subject.label} against ${reference.label}:\n${comparisonTable(subject, reference)}`)
  if (errors.length > 0) {
    const shown = errors.slice(0, 10).map((e) => `  ${e.message}`)
    t.log(`${subject.label} emitted ${errors.length} 'error' events:\n${shown.join('\n')}${errors.length > 10 ? '\n  …' : ''}`)
  }
}

test('pjdfstest: every case that fails on memfs also fails on tmpfs', async (t) => {
  t.timeout(RUN_TIMEOUT_MS + 60_000)
  const binary = await prerequisites(t)
  const reference = await mountTmpfs(t, '1g')
  const memfs = await mountFs(t, createMemfs(), { allowOther: true })
  t.regex(await filesystemType(memfs.dir), /^fuse/, `${memfs.dir} is the memfs FUSE mount`)

  const [subject, tmpfs] = await pair(pjdfstest(t, binary, 'memfs', memfs.dir), pjdfstest(t, binary, 'tmpfs', reference))
  report(t, subject, tmpfs, memfs.errors)
  t.deepEqual(names(subject), names(tmpfs), 'both runs ran the same cases')
  t.deepEqual(
    failuresNotIn(subject, tmpfs),
    [],
    'memfs fails pjdfstest cases that tmpfs does not fail (memfs is held to: it passes everything tmpfs passes)',
  )
})

test('pjdfstest: every case that fails on mirror also fails on the mirrored filesystem run directly', async (t) => {
  t.timeout(RUN_TIMEOUT_MS + 60_000)
  const binary = await prerequisites(t)
  const source = await ordinaryDir(t)
  const direct = await ordinaryDir(t)
  const [sourceStat, directStat] = await Promise.all([fsp.stat(source), fsp.stat(direct)])
  t.is(sourceStat.dev, directStat.dev, 'the mirrored directory and the direct run are on the same filesystem')
  const type = await filesystemType(direct)
  const mirror = await mountFs(t, createMirror(source), { allowOther: true })
  t.regex(await filesystemType(mirror.dir), /^fuse/, `${mirror.dir} is the mirror FUSE mount`)

  const [subject, reference] = await pair(pjdfstest(t, binary, 'mirror', mirror.dir), pjdfstest(t, binary, `${type} direct`, direct))
  report(t, subject, reference, mirror.errors)
  t.deepEqual(names(subject), names(reference), 'both runs ran the same cases')
  t.deepEqual(
    failuresNotIn(subject, reference),
    [],
    `mirror fails pjdfstest cases that ${type} itself does not fail (mirror is held to: it passes everything ` +
      'the filesystem it mirrors passes when run the same way)',
  )
})

// What pjdfstest 0.2.1 prints (colour off), cut down: a pass, a failure with a one-line and one
// with a multi-line message, skips with one and two reasons, the blank line a remount failure
// leaves, and the summary.
const SAMPLE = [
  'chmod::enoent_named_file                                                      ok',
  'open::interact_2gb                                                        FAILED',
  "\tcalled `Result::unwrap()` on an `Err` value: ENOSPC",
  'mkdir::uid_gid_eq_euid_egid                                               FAILED',
  '\tassertion `left == right` failed',
  '  left: 0',
  ' right: 65534',
  '',
  'chown::lchown::erofs_named                                               skipped',
  '\tRemounts (allow_remount) are not allowed in the configuration file',
  'link::link_count_max                                                     skipped',
  '\tCannot get value for LINK_MAX: filesystem limit is unknown',
  '\tNo secondary file-system has been configured.',
  'utimensat::y2038                                                   failed as expected',
  '',
  'Summary: 2 failed, 2 skipped, 1 passed, 1 expected failures, 6 total',
].join('\n')

test('pjdfstest output: cases, messages, skip reasons and the summary are read as printed', (t) => {
  const { cases, summary } = parsePjdfstest(`\x1b[34m${SAMPLE}\x1b[0m\n`)
  t.deepEqual(summary, { failed: 2, skipped: 2, passed: 1, expectedFailures: 1, total: 6 })
  t.deepEqual(countsOf(cases), summary)
  const byName = new Map(cases.map((c) => [c.name, c]))
  t.deepEqual(byName.get('mkdir::uid_gid_eq_euid_egid'), {
    name: 'mkdir::uid_gid_eq_euid_egid',
    suite: 'mkdir',
    status: 'FAILED',
    outcome: 'failed',
    details: ['assertion `left == right` failed', 'left: 0', 'right: 65534'],
  })
  t.is(byName.get('chown::lchown::erofs_named')?.suite, 'chown')
  t.deepEqual(byName.get('link::link_count_max')?.details, [
    'Cannot get value for LINK_MAX: filesystem limit is unknown',
    'No secondary file-system has been configured.',
  ])
  t.is(byName.get('utimensat::y2038')?.outcome, 'failed')
  t.is(oneLine(byName.get('mkdir::uid_gid_eq_euid_egid')!.details), 'assertion `left == right` failed left: 0 right: 65534')
})

test('pjdfstest comparison: a failure is explained only by a failure of the same case on the reference', (t) => {
  const c = (name: string, outcome: CaseResult['outcome'], ...details: string[]): CaseResult => ({
    name,
    suite: name.split('::')[0],
    status: outcome === 'passed' ? 'ok' : outcome === 'failed' ? 'FAILED' : 'skipped',
    outcome,
    details,
  })
  const subject: Run = {
    label: 'memfs',
    seconds: 1,
    cases: [c('open::a', 'failed', 'ENOSPC'), c('open::b', 'failed', 'EIO'), c('link::c', 'failed', 'EPERM'), c('link::d', 'passed')],
  }
  const reference: Run = {
    label: 'tmpfs',
    seconds: 1,
    cases: [c('open::a', 'passed'), c('open::b', 'failed', 'EIO'), c('link::c', 'skipped', 'no LINK_MAX'), c('link::d', 'failed', 'x')],
  }
  t.deepEqual(failuresNotIn(subject, reference), [
    'open::a — memfs: ENOSPC; tmpfs: passed',
    'link::c — memfs: EPERM; tmpfs: skipped (no LINK_MAX)',
  ])
  const table = comparisonTable(subject, reference)
  t.regex(table, /^link {3}.*1 {4}1 {4}0 {3}.*0 {4}1 {4}1$/m, table)
  t.regex(table, /^total .*1 {4}3 {4}0 {3}.*1 {4}2 {4}1$/m, table)
  t.regex(table, /memfs 0, tmpfs 1: no LINK_MAX \[link\]/, table)
  t.regex(table, /failed on memfs: 3\n {2}link::c: EPERM\n {2}open::a: ENOSPC\n {2}open::b: EIO/, table)
})
