// The `mountkit` command: the doctor's diagnosis from facts recorded on various machines, and
// real runs of the compiled CLI (`npm run build` first) that mount, serve and unmount.
import test, { type ExecutionContext } from 'ava'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import {
  diagnose,
  formatFindings,
  parseMountinfo,
  unsupportedPlatform,
  windowsChecklist,
  type Facts,
  type Finding,
} from '../lib/doctor'

const CLI = resolve(__dirname, '..', 'dist', 'lib', 'cli.js')

// ---------------------------------------------------------------------------------------------
// Diagnosis from recorded facts

/** A healthy machine running as root, as recorded on a Debian 6.14 host. */
function healthyRoot(): Facts {
  return {
    kernelRelease: '6.14.0-1-amd64',
    uid: 0,
    capSysAdmin: { effective: true, bounding: true },
    container: null,
    devFuse: { exists: true, charDevice: true, rdev: '10:229', readWrite: true },
    fuseModule: { sysfs: true, procFilesystems: true },
    fusermount3: { path: '/usr/bin/fusermount3', setuidRoot: true },
    fuseConf: { exists: true, userAllowOther: false },
    kernelConfig: { source: '/boot/config-6.14.0-1-amd64', passthrough: true, ioUring: true },
    uringEnabled: true,
    fuseMounts: [],
    addon: { loaded: true },
  }
}

/** The same machine, seen by an ordinary user. */
function regularUser(): Facts {
  return { ...healthyRoot(), uid: 1000, capSysAdmin: { effective: false, bounding: true } }
}

function finding(findings: Finding[], check: string): Finding {
  const found = findings.find((f) => f.check === check)
  if (found === undefined) throw new Error(`no finding '${check}' in ${findings.map((f) => f.check).join(', ')}`)
  return found
}

function errors(findings: Finding[]): string[] {
  return findings.filter((f) => f.status === 'error').map((f) => f.check)
}

test('doctor: a healthy root machine passes every check, with a source for each and nothing to fix', (t) => {
  const findings = diagnose(healthyRoot())
  t.deepEqual(findings.filter((f) => f.status !== 'ok'), [])
  for (const f of findings) {
    t.truthy(f.source, `${f.check} says where its fact comes from`)
    t.is(f.fix, undefined)
  }
  t.is(finding(findings, 'privileges').found.includes('CAP_SYS_ADMIN'), true)
  t.regex(finding(findings, 'dev-fuse').found, /10:229/)
})

test('doctor: a missing /dev/fuse is an error whose fix loads the module, or passes the device into a container', (t) => {
  const host = diagnose({ ...healthyRoot(), devFuse: { exists: false } })
  t.deepEqual(errors(host), ['dev-fuse'])
  t.regex(finding(host, 'dev-fuse').fix!, /modprobe fuse/)

  const container = diagnose({ ...healthyRoot(), devFuse: { exists: false }, container: '/.dockerenv exists' })
  t.regex(finding(container, 'dev-fuse').found, /container/)
  t.regex(finding(container, 'dev-fuse').fix!, /--device \/dev\/fuse/)
})

test('doctor: /dev/fuse that is not a character device, or not accessible, is an error with a fix', (t) => {
  const notDevice = diagnose({ ...healthyRoot(), devFuse: { exists: true, charDevice: false, rdev: '0:0', readWrite: true } })
  t.is(finding(notDevice, 'dev-fuse').status, 'error')
  t.regex(finding(notDevice, 'dev-fuse').fix!, /mknod -m 0666 \/dev\/fuse c 10 229/)

  const closed = diagnose({ ...regularUser(), devFuse: { exists: true, charDevice: true, rdev: '10:229', readWrite: false } })
  t.is(finding(closed, 'dev-fuse').status, 'error')
  t.regex(finding(closed, 'dev-fuse').fix!, /chmod 0666 \/dev\/fuse/)
})

test('doctor: without the FUSE module loaded, the fix is modprobe (on the host, from a container)', (t) => {
  const facts = { ...healthyRoot(), fuseModule: { sysfs: false, procFilesystems: false } }
  t.is(finding(diagnose(facts), 'fuse-module').status, 'error')
  t.regex(finding(diagnose(facts), 'fuse-module').fix!, /sudo modprobe fuse/)
  t.regex(finding(diagnose({ ...facts, container: '/.dockerenv exists' }), 'fuse-module').fix!, /on the host/)
  // Either source is enough: containers often lack /sys/fs/fuse while the kernel has FUSE.
  t.is(finding(diagnose({ ...healthyRoot(), fuseModule: { sysfs: false, procFilesystems: true } }), 'fuse-module').status, 'ok')
})

test('doctor: a regular user without fusermount3 cannot mount; the fix installs fuse3', (t) => {
  const findings = diagnose({ ...regularUser(), fusermount3: null })
  t.deepEqual(errors(findings), ['fusermount3'])
  const f = finding(findings, 'fusermount3')
  t.regex(f.found, /not on PATH/)
  t.regex(f.fix!, /apt install fuse3/)
  t.regex(f.fix!, /dnf install fuse3/)
  // Root mounts with mount(2) and does not need the helper at all.
  t.is(finding(diagnose({ ...healthyRoot(), fusermount3: null }), 'fusermount3').status, 'ok')
})

test('doctor: a regular user with a fusermount3 that is not setuid root; the fix restores the bit', (t) => {
  const findings = diagnose({ ...regularUser(), fusermount3: { path: '/usr/local/bin/fusermount3', setuidRoot: false } })
  t.deepEqual(errors(findings), ['fusermount3'])
  const f = finding(findings, 'fusermount3')
  t.regex(f.found, /not setuid root/)
  t.regex(f.fix!, /chown root:root \/usr\/local\/bin\/fusermount3/)
  t.regex(f.fix!, /chmod u\+s \/usr\/local\/bin\/fusermount3/)
  t.is(finding(findings, 'privileges').status, 'ok', 'a regular user may mount through the helper')
})

test('doctor: root in a container without CAP_SYS_ADMIN is told to add the capability', (t) => {
  const findings = diagnose({ ...healthyRoot(), capSysAdmin: { effective: false, bounding: false }, container: '/.dockerenv exists' })
  const f = finding(findings, 'privileges')
  t.is(f.status, 'error')
  t.regex(f.fix!, /--cap-add SYS_ADMIN/)
})

test('doctor: Linux 5.10 works but lacks passthrough and the newer features; each says which release has it', (t) => {
  const findings = diagnose({ ...healthyRoot(), kernelRelease: '5.10.0-28-amd64', kernelConfig: null, uringEnabled: null })
  t.deepEqual(errors(findings), [])
  const passthrough = finding(findings, 'feature-passthrough')
  t.is(passthrough.status, 'warn')
  t.regex(passthrough.found, /not offered by Linux 5\.10\.0-28-amd64/)
  t.regex(passthrough.fix!, /upgrade to Linux 6\.9/)
  t.regex(passthrough.source, /os\.release\(\)/)
  t.regex(finding(findings, 'feature-parallel-direct-writes').fix!, /Linux 6\.2/)
  t.regex(finding(findings, 'feature-idmapped-mounts').fix!, /Linux 6\.12/)
  t.regex(finding(findings, 'feature-io-uring').fix!, /Linux 6\.14/)
  t.is(finding(findings, 'feature-readdirplus').status, 'ok')
  t.is(finding(findings, 'feature-writeback-cache').status, 'ok')
})

test('doctor: features the kernel version has but its build or settings do not', (t) => {
  const built = diagnose({ ...healthyRoot(), kernelConfig: { source: '/proc/config.gz', passthrough: false, ioUring: true }, uringEnabled: false })
  t.regex(finding(built, 'feature-passthrough').found, /without CONFIG_FUSE_PASSTHROUGH/)
  t.regex(finding(built, 'feature-passthrough').source, /\/proc\/config\.gz/)
  t.regex(finding(built, 'feature-io-uring').fix!, /enable_uring/)
  // Passthrough is reserved to CAP_SYS_ADMIN by the kernel.
  const user = finding(diagnose(regularUser()), 'feature-passthrough')
  t.is(user.status, 'warn')
  t.regex(user.found, /CAP_SYS_ADMIN/)
})

test('doctor: allowOther for a regular user without user_allow_other is a warning that names the line to add', (t) => {
  const f = finding(diagnose(regularUser()), 'user-allow-other')
  t.is(f.status, 'warn')
  t.regex(f.found, /allowOther/)
  t.regex(f.fix!, /user_allow_other/)
  t.regex(f.fix!, /\/etc\/fuse\.conf/)
  t.is(finding(diagnose({ ...regularUser(), fuseConf: { exists: true, userAllowOther: true } }), 'user-allow-other').status, 'ok')
  t.is(finding(diagnose(healthyRoot()), 'user-allow-other').status, 'ok', 'root needs no user_allow_other')
})

test('doctor: a stale mount is reported with the command that clears it; a hung one is told apart', (t) => {
  const findings = diagnose({
    ...regularUser(),
    fuseMounts: [
      { mountPoint: '/home/ann/live', fstype: 'fuse', userId: 1000, probe: 'ok' },
      { mountPoint: '/home/ann/dead', fstype: 'fuse', userId: 1000, probe: 'ENOTCONN' },
      { mountPoint: '/home/ann/hung', fstype: 'fuse.sshfs', userId: 1000, probe: 'timeout' },
    ],
  })
  const reported = findings.filter((f) => f.check === 'stale-mounts')
  t.is(reported.length, 2)
  t.true(reported.every((f) => f.status === 'warn'))
  t.regex(reported[0]!.found, /\/home\/ann\/dead is stale.*ENOTCONN/)
  t.is(reported[0]!.fix, '`mountkit unmount /home/ann/dead`')
  t.regex(reported[1]!.found, /does not answer/)
  t.regex(reported[1]!.fix!, /mountkit unmount \/home\/ann\/hung/)
  t.regex(finding(diagnose(healthyRoot()), 'stale-mounts').found, /none/)
})

test('doctor: an addon that does not load is an error that quotes why', (t) => {
  const f = finding(diagnose({ ...healthyRoot(), addon: { loaded: false, error: 'mountkit: no native binary for linux-x64-musl' } }), 'native-addon')
  t.is(f.status, 'error')
  t.regex(f.found, /linux-x64-musl/)
  t.regex(f.fix!, /npm install/)
})

test('doctor: a platform without a backend gets one honest line instead of checks', (t) => {
  const f = unsupportedPlatform('darwin')
  t.is(f.status, 'error')
  t.regex(f.found, /no checks for darwin/)
})

test("doctor: on Windows the addon's diagnosis follows the addon check and prints like the Linux findings", (t) => {
  // The diagnosis itself is tested in Rust (crates/node/src/doctor.rs); these are findings of
  // the shape it returns, a fix present only when there is something to do.
  const native = [
    { check: 'winfsp', title: 'WinFsp', status: 'ok', found: 'WinFsp 2.1 in C:\\WinFsp\\', source: 'InstallDir' },
    {
      check: 'winfsp-driver',
      title: 'WinFsp driver service',
      status: 'error',
      found: 'broken: ImagePath names a missing file',
      source: 'ImagePath',
      fix: 'reinstall WinFsp',
    },
  ]
  const findings = windowsChecklist(() => ({ windowsDiagnosis: () => native }))
  t.deepEqual(findings.map((f) => [f.check, f.status]), [['native-addon', 'ok'], ['winfsp', 'ok'], ['winfsp-driver', 'error']])
  t.false('fix' in findings[1]!)
  const text = formatFindings(findings)
  t.regex(text, /^\[error\] WinFsp driver service: broken: ImagePath names a missing file\n {8}fix: {2}reinstall WinFsp\n {8}from: ImagePath$/m)
  t.regex(text, /2 ok, 0 warning\(s\), 1 error\(s\)\.\nFix the errors above before mounting\.\n$/)
  t.throws(() => windowsChecklist(() => ({ windowsDiagnosis: () => [{ ...native[0]!, status: 'fine' }] })), { message: /unknown status 'fine'/ })
})

test('doctor: on Windows an addon that does not load is the one finding, quoting why', (t) => {
  const findings = windowsChecklist(() => {
    throw new Error('mountkit: the native binary for this platform (win32-x64-msvc) is missing')
  })
  t.is(findings.length, 1)
  t.is(findings[0]!.check, 'native-addon')
  t.is(findings[0]!.status, 'error')
  t.regex(findings[0]!.found, /win32-x64-msvc/)
})

test('doctor: the Windows diagnosis of the built addon says, off Windows, that it runs on Windows', (t) => {
  const { native } = require('../lib/native') as typeof import('../lib/native')
  const findings = windowsChecklist(() => native)
  t.deepEqual(findings.map((f) => [f.check, f.status]), [['native-addon', 'ok'], ['platform', 'error']])
  t.regex(findings[1]!.found, /runs on Windows only/)
  t.false('fix' in findings[1]!)
})

test('mountinfo parsing decodes escaped mount points and finds fstype after the separator', (t) => {
  const text = [
    '36 35 98:0 / /mnt/with\\040space rw,noatime master:1 - fuse.sshfs host:/ rw,user_id=1000,group_id=1000',
    '37 35 0:40 / /tmp/plain rw shared:2 unbindable - tmpfs tmpfs rw',
    '',
  ].join('\n')
  t.deepEqual(parseMountinfo(text), [
    { mountPoint: '/mnt/with space', fstype: 'fuse.sshfs', superOptions: 'rw,user_id=1000,group_id=1000' },
    { mountPoint: '/tmp/plain', fstype: 'tmpfs', superOptions: 'rw' },
  ])
})

// ---------------------------------------------------------------------------------------------
// The compiled CLI, for real

interface Run {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>
  /** Resolves once stdout matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>
}

function start(args: string[]): Run {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`)
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    for (const l of listeners) l()
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const exited = new Promise<number | string>((done) => {
    child.on('exit', (code, signal) => {
      done(code ?? signal ?? 'unknown')
      for (const l of listeners) l()
    })
  })
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((done, fail) => {
      const check = () => {
        const match = pattern.exec(out)
        if (match) {
          listeners.delete(check)
          done(match)
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check)
          fail(new Error(`mountkit ${args.join(' ')} exited before printing ${pattern}:\n${out}\n${err}`))
        }
      }
      listeners.add(check)
      check()
    })
  return { child, stdout: () => out, stderr: () => err, exited, waitFor }
}

async function runToEnd(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const run = start(args)
  const code = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

async function mountedAt(dir: string): Promise<string | undefined> {
  const entries = parseMountinfo(await fsp.readFile('/proc/self/mountinfo', 'utf8'))
  return entries.find((e) => e.mountPoint === dir)?.fstype
}

/**
 * A fresh empty directory; on teardown, whatever is still mounted there is lazily unmounted,
 * the given child is killed, and the directory is removed — even when the test failed.
 */
async function mountDir(t: ExecutionContext, children: () => ChildProcess[] = () => []): Promise<string> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mountkit-cli-'))
  t.teardown(async () => {
    for (const child of children()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    while ((await mountedAt(dir)) !== undefined) await promisify(execFile)('umount', ['-l', dir])
    await fsp.rmdir(dir)
  })
  return dir
}

/** The error code of an asynchronous stat, or 'ok'. */
async function statCode(path: string): Promise<string> {
  try {
    await fsp.stat(path)
    return 'ok'
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error)
  }
}

test('cli: usage errors exit 2, --help exits 0 with the command usage', async (t) => {
  const none = await runToEnd([])
  t.is(none.code, 2)
  t.regex(none.stderr, /Usage: mountkit <command>/)
  const unknown = await runToEnd(['mount-everything'])
  t.is(unknown.code, 2)
  t.regex(unknown.stderr, /unknown command 'mount-everything'/)
  const missing = await runToEnd(['mirror', '/tmp'])
  t.is(missing.code, 2)
  t.regex(missing.stderr, /missing <dir>/)
  const badFlag = await runToEnd(['doctor', '--yaml'])
  t.is(badFlag.code, 2)
  t.regex(badFlag.stderr, /unknown option --yaml/)
  for (const command of ['memfs', 'mirror', 'hello', 'demo', 'unmount', 'doctor']) {
    const help = await runToEnd([command, '--help'])
    t.is(help.code, 0, command)
    t.regex(help.stdout, new RegExp(`^Usage: mountkit ${command}`), command)
  }
})

test('cli: doctor --json on this machine exits 0 and finds /dev/fuse usable', async (t) => {
  const { code, stdout, stderr } = await runToEnd(['doctor', '--json'])
  t.is(code, 0, stderr || stdout)
  const findings = JSON.parse(stdout) as Finding[]
  t.is(finding(findings, 'dev-fuse').status, 'ok')
  t.is(finding(findings, 'native-addon').status, 'ok')
  t.true(findings.every((f) => ['ok', 'warn', 'error'].includes(f.status) && f.found !== '' && f.source !== ''))
})

test('cli: demo --exit shows the mount working, then unmounts and removes its directory', async (t) => {
  const run = start(['demo', '--exit'])
  let dir: string | undefined
  t.teardown(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL')
    if (dir === undefined) return
    while ((await mountedAt(dir)) !== undefined) await promisify(execFile)('umount', ['-l', dir])
    await fsp.rm(dir, { recursive: true, force: true })
  })
  dir = (await run.waitFor(/Mounted memfs at (\S+)\./))[1]
  t.is(await run.exited, 0, run.stderr())
  const out = run.stdout()
  for (const step of ['mkdir', 'write', 'append', 'read', 'rename', 'symlink', 'list', 'ls -la']) {
    t.regex(out, new RegExp(`^\\d+\\. ${step} `, 'm'), `step ${step} printed`)
  }
  t.regex(out, /Hello from mountkit\.\n\s+Served by TypeScript handlers/)
  t.regex(out, /lrwxrwxrwx\s+\d+\s+latest -> notes\/hello\.txt/)
  const ls = out.slice(out.indexOf('. ls -la'))
  t.regex(ls, /\snotes\n/, 'ls sees the directory')
  t.regex(ls, /\slatest -> notes\/hello\.txt\n/, 'ls sees the symlink')
  t.is(await mountedAt(dir!), undefined)
  t.false(existsSync(dir!))
})

test('cli: memfs serves other processes until SIGINT, then unmounts and exits 0', async (t) => {
  let run: Run | undefined
  const dir = await mountDir(t, () => (run ? [run.child] : []))
  run = start(['memfs', dir])
  await run.waitFor(/memfs mounted at/)
  t.is(await mountedAt(dir), 'fuse')
  await fsp.writeFile(join(dir, 'note.txt'), 'kept in memory\n')
  await fsp.mkdir(join(dir, 'sub'))
  t.is(await fsp.readFile(join(dir, 'note.txt'), 'utf8'), 'kept in memory\n')
  t.deepEqual((await fsp.readdir(dir)).sort(), ['note.txt', 'sub'])
  run.child.kill('SIGINT')
  t.is(await run.exited, 0, run.stderr())
  t.regex(run.stdout(), /Unmounted /)
  t.is(await mountedAt(dir), undefined)
  t.deepEqual(await fsp.readdir(dir), [], 'the directory is the plain empty one again')
})

test('cli: unmount clears a stale mount left by a killed process', async (t) => {
  let run: Run | undefined
  const dir = await mountDir(t, () => (run ? [run.child] : []))
  run = start(['memfs', dir])
  await run.waitFor(/memfs mounted at/)
  run.child.kill('SIGKILL')
  t.is(await run.exited, 'SIGKILL')
  t.is(await statCode(dir), 'ENOTCONN')
  t.truthy(await mountedAt(dir))

  const doctor = await runToEnd(['doctor', '--json'])
  const stale = (JSON.parse(doctor.stdout) as Finding[]).find((f) => f.title === 'Stale mount' && f.found.startsWith(`${dir} `))
  t.is(stale?.status, 'warn', doctor.stdout)
  t.is(stale?.fix, `\`mountkit unmount ${dir}\``)

  const { code, stdout, stderr } = await runToEnd(['unmount', dir])
  t.is(code, 0, stderr)
  t.regex(stdout, /Unmounted/)
  t.is(await mountedAt(dir), undefined)
  t.is(await statCode(dir), 'ok')
  await fsp.writeFile(join(dir, 'plain'), 'usable again')
  t.is(await fsp.readFile(join(dir, 'plain'), 'utf8'), 'usable again')
  await fsp.unlink(join(dir, 'plain'))
})

test('cli: unmount says so when nothing is mounted, and leaves non-FUSE mounts alone', async (t) => {
  const dir = await mountDir(t)
  const nothing = await runToEnd(['unmount', dir])
  t.is(nothing.code, 1)
  t.regex(nothing.stderr, /nothing is mounted at/)

  await promisify(execFile)('mount', ['-t', 'tmpfs', 'mountkit-cli-test', dir])
  const tmpfs = await runToEnd(['unmount', dir])
  t.is(tmpfs.code, 1)
  t.regex(tmpfs.stderr, /is a tmpfs mount, not FUSE/)
  t.is(await mountedAt(dir), 'tmpfs')
})
