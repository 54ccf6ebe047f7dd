// Mounting as an unprivileged user: a Node process running as nobody (65534) mounts memfs on a
// directory it owns. Without CAP_SYS_ADMIN it cannot call mount(2); the library has to go
// through the setuid fusermount3 (package fuse3) to mount and to unmount.
//
// The device: fusermount3 opens /dev/fuse with the *caller's* identity (it sets its fsuid to
// the real user first), so unprivileged FUSE works only where /dev/fuse is open to that user.
// Debian's udev makes it crw-rw-rw- (50-udev-default.rules); containers often get crw-------
// root:root, where no unprivileged user can mount at all. So that the test checks the library
// rather than the machine, the child runs in a private mount namespace (unshare -m) in which
// /dev/fuse is a fresh node of the same device (10:229) with Debian's mode 0666 — or, for the
// second test, with mode 0600 as in such containers. Nothing outside the namespace changes,
// and its mounts disappear with its last process.
//
// A wrapper named fusermount3, first on the child's PATH, logs each call and execs the real one
// (setuid still applies), which shows that mount and unmount both went through fusermount3.
import test, { type ExecutionContext } from 'ava'
import { existsSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { removeTempDir, tempDir } from './helpers/mount'
import { PYTHON, py, run, spawnChild, type ExecResult } from './helpers/python'
import { sleep } from './helpers/fs'

const NOBODY = 65534
const FUSERMOUNT3 = ['/usr/bin/fusermount3', '/bin/fusermount3'].find((p) => existsSync(p))
const CHILD = join(__dirname, 'helpers', 'unprivileged-mount.ts')

// Runs in the new mount namespace as root: a tmpfs for the device node, the node bound over
// /dev/fuse, then the child as nobody with no capabilities and a clean environment.
const NAMESPACE_SCRIPT = `
set -e
base="$1"; mode="$2"; mnt="$3"; node="$4"; child="$5"
mount -t tmpfs -o mode=0755 mountkit-test-dev "$base/dev"
mknod -m "$mode" "$base/dev/fuse" c 10 229
mount --bind "$base/dev/fuse" /dev/fuse
exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups \\
  env -i HOME="$base" TMPDIR=/tmp PATH="$base/bin:/usr/bin:/bin" LOG="$base/fusermount3.log" \\
  "$node" --import tsx "$child" "$mnt" "$base/control"
`

interface State {
  uid: number
  gid: number
  capEff?: string
  error?: string
  mounted?: boolean
  unmounted?: boolean
  mountedHere?: boolean
}

interface Scene {
  base: string
  mnt: string
  pid: number
  exited: Promise<ExecResult>
  /** The child's latest report, once it has one that satisfies `ready`. */
  state(ready: (s: State) => boolean): Promise<State>
  log(): Promise<string[]>
  /** argv prefix that runs a command inside the child's mount namespace (as root). */
  inside: string[]
}

async function scene(t: ExecutionContext, deviceMode: '0666' | '0600'): Promise<Scene> {
  if (FUSERMOUNT3 === undefined) {
    t.fail('fusermount3 is not installed: install the fuse3 package (apt-get install fuse3)')
    throw new Error('fusermount3 missing')
  }
  // The child runs this Node binary and loads this checkout (addon, TypeScript, tsx) as nobody.
  const reach = await py<Record<string, boolean>>(
    'out({p: os.access(p, os.R_OK | (os.X_OK if os.path.isdir(p) or p == sys.argv[1] else 0)) for p in sys.argv[1:]})',
    [process.execPath, process.cwd(), join(process.cwd(), 'node_modules', 'tsx'), CHILD],
    { as: { uid: NOBODY, gid: NOBODY } },
  )
  const unreachable = Object.entries(reach).filter(([, ok]) => !ok).map(([path]) => path)
  if (unreachable.length > 0) {
    t.fail(`nobody (${NOBODY}) cannot reach ${unreachable.join(', ')}: install Node.js system-wide and keep the checkout world-readable`)
    throw new Error('unreachable for nobody')
  }
  const base = await tempDir()
  t.teardown(() => removeTempDir(base))
  const mnt = join(base, 'mnt')
  for (const sub of ['mnt', 'control', 'dev', 'bin']) await fsp.mkdir(join(base, sub))
  await fsp.writeFile(join(base, 'bin', 'fusermount3'), `#!/bin/sh\nprintf '%s uid=%s\\n' "$*" "$(id -u)" >> "$LOG"\nexec ${FUSERMOUNT3} "$@"\n`, {
    mode: 0o755,
  })
  await fsp.writeFile(join(base, 'fusermount3.log'), '')
  // The user owns what it mounts on and what it writes its reports to; /tmp/mountkit-test-*
  // itself stays root's (0700 from mkdtemp, so opened to others for search).
  for (const owned of ['mnt', 'control', 'fusermount3.log']) await fsp.chown(join(base, owned), NOBODY, NOBODY)
  await fsp.chmod(base, 0o711)

  const child = spawnChild(
    ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', NAMESPACE_SCRIPT, 'sh', base, deviceMode, mnt, process.execPath, CHILD],
    { cwd: process.cwd(), timeoutMs: 120_000 },
  )
  const pid = await child.pid
  let ended: ExecResult | undefined
  child.result.then(
    (r) => (ended = r),
    () => {},
  )
  t.teardown(async () => {
    // Ending the child ends the namespace, and every mount in it with it.
    if (ended === undefined) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
      await child.result.catch(() => {})
    }
  })
  return {
    base,
    mnt,
    pid,
    exited: child.result,
    async state(ready) {
      const deadline = Date.now() + 60_000
      for (;;) {
        const text = await fsp.readFile(join(base, 'control', 'state.json'), 'utf8').catch(() => undefined)
        if (text !== undefined) {
          const s = JSON.parse(text) as State
          if (ready(s)) return s
        }
        if (ended !== undefined) throw new Error(`the child exited (${ended.code}): ${ended.stderr}${ended.stdout}`)
        if (Date.now() > deadline) throw new Error('the child did not report in time')
        await sleep(50)
      }
    },
    async log() {
      return (await fsp.readFile(join(base, 'fusermount3.log'), 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('-h '))
    },
    inside: ['nsenter', `--target=${pid}`, '--mount', '--'],
  }
}

test('an unprivileged user mounts through fusermount3, reads and writes, keeps root out, and unmounts', async (t) => {
  t.timeout(120_000)
  const s = await scene(t, '0666')
  const mounted = await s.state((x) => x.mounted === true || x.error !== undefined)
  t.is(mounted.error, undefined, 'the mount succeeded')
  t.is(mounted.uid, NOBODY)
  t.is(mounted.capEff, '0000000000000000', 'the child has no capabilities, so mount(2) was out of its reach')
  t.true(mounted.mountedHere)

  // The kernel's record of the mount, read from outside through the child's /proc entry.
  const entry = (await fsp.readFile(`/proc/${s.pid}/mountinfo`, 'utf8')).split('\n').find((l) => l.split(' ')[4] === s.mnt)
  t.truthy(entry, 'the mount is in the namespace')
  const [, tail] = entry!.split(' - ')
  const [fstype, source, superOptions] = tail.split(' ')
  t.is(fstype, 'fuse.mountkit')
  t.is(source, 'mountkit')
  t.true(superOptions.split(',').includes(`user_id=${NOBODY}`), superOptions)
  t.false(superOptions.split(',').includes('allow_other'), 'private to its user')
  t.regex(entry!, /\bnosuid\b/)
  t.regex(entry!, /\bnodev\b/)

  // fusermount3 did the mounting, for uid 65534.
  const mountCalls = (await s.log()).filter((l) => !l.startsWith('-u'))
  t.is(mountCalls.length, 1, mountCalls.join('\n'))
  t.true(mountCalls[0].endsWith(`-- ${s.mnt} uid=${NOBODY}`), mountCalls[0])

  // The mounting user reads and writes through the mount from another process.
  const asUser = await run(
    s.inside[0],
    [
      ...s.inside.slice(1),
      'setpriv',
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      PYTHON,
      '-c',
      [
        'import json, os, sys',
        'd = sys.argv[1]',
        'got = open(os.path.join(d, "from-owner")).read()',
        'open(os.path.join(d, "from-client"), "w").write("client")',
        'os.mkdir(os.path.join(d, "sub"))',
        'st = os.stat(os.path.join(d, "from-client"))',
        'print(json.dumps({"read": got, "back": open(os.path.join(d, "from-client")).read(), "listing": sorted(os.listdir(d)), "owner": [st.st_uid, st.st_gid]}))',
      ].join('\n'),
      s.mnt,
    ],
  )
  t.is(asUser.code, 0, asUser.stderr)
  t.deepEqual(JSON.parse(asUser.stdout), {
    read: 'written by the mounting user',
    back: 'client',
    listing: ['from-client', 'from-owner', 'sub'],
    owner: [NOBODY, NOBODY],
  })

  // Root is another user: without allowOther, the kernel keeps it out too.
  const asRoot = await run(s.inside[0], [
    ...s.inside.slice(1),
    PYTHON,
    '-c',
    [
      'import json, os, sys',
      'def attempt(f, *a):',
      '    try:',
      '        f(*a)',
      '        return "ok"',
      '    except OSError as e:',
      '        import errno',
      '        return errno.errorcode[e.errno]',
      'print(json.dumps([attempt(os.stat, sys.argv[1] + "/from-owner"), attempt(os.listdir, sys.argv[1]), attempt(os.stat, sys.argv[1])]))',
    ].join('\n'),
    s.mnt,
  ])
  t.is(asRoot.code, 0, asRoot.stderr)
  t.deepEqual(JSON.parse(asRoot.stdout), ['EACCES', 'EACCES', 'EACCES'])

  // Unmount, asked of the child; it goes through fusermount3 -u as well.
  await fsp.writeFile(join(s.base, 'control', 'stop'), 'now')
  const unmounted = await s.state((x) => x.unmounted === true)
  t.false(unmounted.mountedHere, 'gone from the namespace')
  const { code, stderr } = await s.exited
  t.is(code, 0, stderr)
  // mountkit's lazy unmount, then fuser's own quiet one as the session ends (which finds
  // nothing left to do).
  const unmountCalls = (await s.log()).filter((l) => l.startsWith('-u'))
  t.is(unmountCalls[0], `-u -z -- ${s.mnt} uid=${NOBODY}`)
  for (const call of unmountCalls) t.regex(call, /^-u (-q )?-z -- \S+ uid=65534$/)
})

test('an unprivileged user whose /dev/fuse is closed to them is told that, not to install fuse3', async (t) => {
  t.timeout(120_000)
  const s = await scene(t, '0600')
  const state = await s.state((x) => x.mounted === true || x.error !== undefined)
  t.is(state.mounted, undefined, 'no unprivileged mount is possible with /dev/fuse at 0600 root:root')
  t.log(state.error)
  t.regex(state.error ?? '', /\/dev\/fuse/, 'the error names /dev/fuse')
  t.notRegex(state.error ?? '', /install fuse3/, 'fuse3 is installed; installing it would not help')
  const { code } = await s.exited
  t.is(code, 0)
})
