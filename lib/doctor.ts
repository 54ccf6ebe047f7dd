// `mountkit doctor`: checks whether this machine can serve mounts, and says how to fix what is
// missing. Reading the machine (gatherFacts) is kept apart from judging it (diagnose), so the
// judgement can be tested with facts recorded on other machines. On Windows both halves live in
// the native addon (crates/node/src/doctor.rs, tested there the same way); this module adds the
// addon's own check and prints the findings as it prints the Linux ones.
import { spawn } from 'node:child_process'
import { constants as fsConstants } from 'node:fs'
import { access, readFile, stat } from 'node:fs/promises'
import { release } from 'node:os'
import { delimiter, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { NativeFinding } from '../native'

export type Status = 'ok' | 'warn' | 'error'

/** One line of the checklist. */
export interface Finding {
  /** Stable identifier, for scripts reading `--json`. */
  check: string
  title: string
  status: Status
  /** What was found. */
  found: string
  /** Where the fact comes from. */
  source: string
  /** What to do about it; absent when there is nothing to do. */
  fix?: string
}

/** A FUSE mount listed in mountinfo, and what `stat` on its mount point answered. */
export interface FuseMountFact {
  mountPoint: string
  fstype: string
  /** `user_id=` of the mount: who mounted it. */
  userId: number | undefined
  /** `'ok'`, an error code such as `'ENOTCONN'`, or `'timeout'` when stat did not return. */
  probe: string
}

/** Everything the diagnosis looks at, as read from one Linux machine. */
export interface Facts {
  /** `os.release()`, e.g. `'6.8.0-45-generic'`. */
  kernelRelease: string
  uid: number
  /** CAP_SYS_ADMIN in the effective and bounding sets (`/proc/self/status`); null if unreadable. */
  capSysAdmin: { effective: boolean; bounding: boolean } | null
  /** Why we think this is a container (e.g. `'/.dockerenv exists'`), or null. */
  container: string | null
  devFuse:
    | { exists: false }
    | { exists: true; charDevice: boolean; rdev: string; readWrite: boolean }
  fuseModule: { sysfs: boolean; procFilesystems: boolean }
  /** `fusermount3` found on PATH, or null. */
  fusermount3: { path: string; setuidRoot: boolean } | null
  fuseConf: { exists: boolean; userAllowOther: boolean }
  /** FUSE options of the kernel build, when the config is readable. */
  kernelConfig: { source: string; passthrough: boolean; ioUring: boolean } | null
  /** `/sys/module/fuse/parameters/enable_uring`; null when the kernel has no such parameter. */
  uringEnabled: boolean | null
  fuseMounts: FuseMountFact[]
  addon: { loaded: true } | { loaded: false; error: string }
}

/** A line of `/proc/self/mountinfo`, the fields this module needs. */
export interface MountEntry {
  mountPoint: string
  fstype: string
  superOptions: string
}

/** Parses mountinfo (proc(5)): fields up to a lone `-`, then fstype, source, super options. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = []
  for (const line of text.split('\n')) {
    const fields = line.split(' ')
    const separator = fields.indexOf('-')
    if (separator < 6 || fields.length < separator + 4) continue
    entries.push({
      mountPoint: unescapeMountinfo(fields[4]!),
      fstype: fields[separator + 1]!,
      superOptions: fields[separator + 3]!,
    })
  }
  return entries
}

// The kernel writes space, tab, newline and backslash in paths as octal escapes.
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
}

export function isFuse(fstype: string): boolean {
  return fstype === 'fuse' || fstype === 'fuseblk' || fstype.startsWith('fuse.')
}

/** Kernel FUSE features and the Linux release that introduced each. */
const FEATURES = [
  { check: 'feature-readdirplus', title: 'READDIRPLUS (names and attributes in one request)', since: [3, 9] },
  { check: 'feature-writeback-cache', title: 'writeback cache', since: [3, 15] },
  { check: 'feature-parallel-direct-writes', title: 'parallel direct writes', since: [6, 2] },
  { check: 'feature-passthrough', title: 'FUSE passthrough (kernel moves file data)', since: [6, 9] },
  { check: 'feature-idmapped-mounts', title: 'idmapped mounts', since: [6, 12] },
  { check: 'feature-io-uring', title: 'FUSE over io_uring', since: [6, 14] },
] as const

const DEV_FUSE_MKNOD = 'sudo mknod -m 0666 /dev/fuse c 10 229'
const INSTALL_FUSE3 =
  'install fuse3: `sudo apt install fuse3` (Debian/Ubuntu), `sudo dnf install fuse3` (Fedora/RHEL), `sudo apk add fuse3` (Alpine), `sudo pacman -S fuse3` (Arch)'
const CONTAINER_FLAGS = '`--device /dev/fuse --cap-add SYS_ADMIN` (Docker/Podman; on AppArmor hosts also `--security-opt apparmor:unconfined`)'

/** The checklist for a Linux machine described by `facts`. */
export function diagnose(facts: Facts): Finding[] {
  const canMountDirectly = facts.capSysAdmin?.effective ?? facts.uid === 0
  return [
    kernelFinding(facts),
    moduleFinding(facts),
    devFuseFinding(facts),
    privilegeFinding(facts, canMountDirectly),
    fusermountFinding(facts, canMountDirectly),
    fuseConfFinding(facts),
    addonFinding(facts.addon),
    ...featureFindings(facts, canMountDirectly),
    ...staleMountFindings(facts),
  ]
}

/** What doctor says on a platform without a backend in this version (neither Linux nor Windows). */
export function unsupportedPlatform(platform: string): Finding {
  return {
    check: 'platform',
    title: platform,
    status: 'error',
    found: `this version of mountkit mounts only on Linux (FUSE) and Windows (WinFsp, Dokan); there are no checks for ${platform}.`,
    source: 'process.platform',
  }
}

function parseKernelVersion(kernelRelease: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(kernelRelease)
  return match ? [Number(match[1]), Number(match[2])] : undefined
}

function atLeast(version: [number, number], since: readonly [number, number]): boolean {
  return version[0] > since[0] || (version[0] === since[0] && version[1] >= since[1])
}

function kernelFinding(facts: Facts): Finding {
  const version = parseKernelVersion(facts.kernelRelease)
  return version
    ? { check: 'kernel', title: 'Kernel', status: 'ok', found: `Linux ${facts.kernelRelease}`, source: 'os.release()' }
    : {
        check: 'kernel',
        title: 'Kernel',
        status: 'warn',
        found: `cannot read a version from '${facts.kernelRelease}', so the feature checks below assume none`,
        source: 'os.release()',
      }
}

function moduleFinding(facts: Facts): Finding {
  const { sysfs, procFilesystems } = facts.fuseModule
  const source = '/sys/fs/fuse and /proc/filesystems'
  if (sysfs || procFilesystems) {
    const evidence = [sysfs && '/sys/fs/fuse exists', procFilesystems && '/proc/filesystems lists fuse'].filter(Boolean)
    return { check: 'fuse-module', title: 'FUSE in the kernel', status: 'ok', found: `loaded (${evidence.join(', ')})`, source }
  }
  return {
    check: 'fuse-module',
    title: 'FUSE in the kernel',
    status: 'error',
    found: 'not loaded: /proc/filesystems does not list fuse and /sys/fs/fuse is absent',
    source,
    fix: facts.container
      ? 'load it on the host (containers share the host kernel): `sudo modprobe fuse`'
      : 'load it: `sudo modprobe fuse` (to load it at every boot: `echo fuse | sudo tee /etc/modules-load.d/fuse.conf`)',
  }
}

function devFuseFinding(facts: Facts): Finding {
  const base = { check: 'dev-fuse', title: '/dev/fuse', source: 'stat(2) and access(2) on /dev/fuse' }
  const device = facts.devFuse
  if (!device.exists) {
    return {
      ...base,
      status: 'error',
      found: `missing${facts.container ? ` (this looks like a container: ${facts.container})` : ''}`,
      fix: facts.container
        ? `start the container with ${CONTAINER_FLAGS}`
        : `load the FUSE module, which creates it: \`sudo modprobe fuse\`; if it is still missing: \`${DEV_FUSE_MKNOD}\``,
    }
  }
  if (!device.charDevice) {
    return {
      ...base,
      status: 'error',
      found: 'exists but is not a character device',
      fix: `replace it with the FUSE device: \`sudo rm /dev/fuse && ${DEV_FUSE_MKNOD}\``,
    }
  }
  if (!device.readWrite) {
    return {
      ...base,
      status: 'error',
      found: `character device ${device.rdev}, but not readable and writable by uid ${facts.uid}; mountkit opens it before any mount helper runs`,
      fix: 'most distributions ship it world-accessible: `sudo chmod 0666 /dev/fuse`',
    }
  }
  return { ...base, status: 'ok', found: `character device ${device.rdev}, readable and writable by uid ${facts.uid}` }
}

function privilegeFinding(facts: Facts, canMountDirectly: boolean): Finding {
  const base = {
    check: 'privileges',
    title: 'Permission to mount',
    source: 'process.getuid() and CapEff/CapBnd in /proc/self/status',
  }
  const who = facts.uid === 0 ? 'root (uid 0)' : `uid ${facts.uid}`
  if (canMountDirectly) {
    return { ...base, status: 'ok', found: `${who} with CAP_SYS_ADMIN: mounts with mount(2) directly, no helper needed` }
  }
  if (facts.capSysAdmin && !facts.capSysAdmin.bounding) {
    return {
      ...base,
      status: 'error',
      found: `${who} without CAP_SYS_ADMIN, and it is not in the bounding set either, so even the setuid fusermount3 helper cannot mount`,
      fix: facts.container
        ? `start the container with ${CONTAINER_FLAGS}`
        : 'run with CAP_SYS_ADMIN in the bounding set (check the service manager or sandbox that starts this process)',
    }
  }
  return { ...base, status: 'ok', found: `${who} without CAP_SYS_ADMIN: mounts go through the setuid helper fusermount3` }
}

function fusermountFinding(facts: Facts, canMountDirectly: boolean): Finding {
  const base = { check: 'fusermount3', title: 'fusermount3', source: 'PATH lookup, then stat(2) for owner and setuid bit' }
  const helper = facts.fusermount3
  if (canMountDirectly) {
    const found = helper ? `${helper.path} (not needed: this user can mount directly)` : 'not installed; not needed while this user can mount directly'
    return { ...base, status: 'ok', found }
  }
  if (!helper) {
    return {
      ...base,
      status: 'error',
      found: `not on PATH; uid ${facts.uid} cannot mount without it`,
      fix: `${INSTALL_FUSE3}, or run as root`,
    }
  }
  if (!helper.setuidRoot) {
    return {
      ...base,
      status: 'error',
      found: `${helper.path} is not setuid root, so it cannot mount for uid ${facts.uid}`,
      fix: `\`sudo chown root:root ${helper.path} && sudo chmod u+s ${helper.path}\` (or reinstall the fuse3 package)`,
    }
  }
  return { ...base, status: 'ok', found: `${helper.path}, setuid root` }
}

function fuseConfFinding(facts: Facts): Finding {
  const base = { check: 'user-allow-other', title: 'user_allow_other', source: '/etc/fuse.conf' }
  const { exists, userAllowOther } = facts.fuseConf
  const state = userAllowOther ? 'enabled' : exists ? 'not enabled' : 'not enabled (no /etc/fuse.conf)'
  if (userAllowOther || facts.uid === 0) {
    const why = userAllowOther ? 'allowOther / --allow-other works for every user' : 'root may use allowOther / --allow-other without it'
    return { ...base, status: 'ok', found: `${state}; ${why}` }
  }
  return {
    ...base,
    status: 'warn',
    found: `${state}: mounts by uid ${facts.uid} with allowOther / --allow-other will be refused (mounts without it work)`,
    fix: 'add a line `user_allow_other` to /etc/fuse.conf: `echo user_allow_other | sudo tee -a /etc/fuse.conf`',
  }
}

function addonFinding(addon: Facts['addon']): Finding {
  const base = { check: 'native-addon', title: 'Native addon', source: "require('lib/native')" }
  if (addon.loaded) return { ...base, status: 'ok', found: 'loads' }
  return {
    ...base,
    status: 'error',
    found: `does not load: ${addon.error}`,
    fix: 'reinstall so npm fetches the prebuilt binary for this platform: `npm install` (without --omit=optional); in a source checkout: `npm run build`',
  }
}

function featureFindings(facts: Facts, canMountDirectly: boolean): Finding[] {
  const version = parseKernelVersion(facts.kernelRelease)
  const config = facts.kernelConfig
  return FEATURES.map(({ check, title, since }) => {
    const sinceText = `Linux ${since.join('.')}`
    let source = `kernel version (os.release()) against the release that added it (${sinceText})`
    if (version === undefined || !atLeast(version, since)) {
      return {
        check,
        title,
        source,
        status: 'warn' as const,
        found: `not offered by Linux ${facts.kernelRelease}; mountkit works without it`,
        fix: `to get it, upgrade to ${sinceText} or later`,
      }
    }
    const built = check === 'feature-passthrough' ? config?.passthrough : check === 'feature-io-uring' ? config?.ioUring : undefined
    if (built !== undefined) source += ` and the kernel build config (${config!.source})`
    if (built === false) {
      const option = check === 'feature-passthrough' ? 'CONFIG_FUSE_PASSTHROUGH' : 'CONFIG_FUSE_IO_URING'
      return {
        check,
        title,
        source,
        status: 'warn' as const,
        found: `this kernel was built without ${option}; mountkit works without it`,
        fix: `to get it, use a kernel built with ${option}=y`,
      }
    }
    if (check === 'feature-passthrough' && !canMountDirectly) {
      return {
        check,
        title,
        source: `${source}; CapEff in /proc/self/status`,
        status: 'warn' as const,
        found: 'offered, but the kernel allows it only to a server with CAP_SYS_ADMIN, which this user lacks',
        fix: 'to use it, run the filesystem as root',
      }
    }
    if (check === 'feature-io-uring' && facts.uringEnabled === false) {
      return {
        check,
        title,
        source: `${source}; /sys/module/fuse/parameters/enable_uring`,
        status: 'warn' as const,
        found: 'offered, but switched off (enable_uring=N); servers that speak io_uring fall back to /dev/fuse reads',
        fix: 'to switch it on: `echo Y | sudo tee /sys/module/fuse/parameters/enable_uring` (or boot with `fuse.enable_uring=1`)',
      }
    }
    return { check, title, source, status: 'ok' as const, found: `offered (since ${sinceText})` }
  })
}

function staleMountFindings(facts: Facts): Finding[] {
  const source = '/proc/self/mountinfo, then stat(2) on each FUSE mount point'
  const whose = facts.uid === 0 ? 'any user' : `uid ${facts.uid}`
  const troubled = facts.fuseMounts.filter((m) => m.probe !== 'ok')
  if (troubled.length === 0) {
    return [{
      check: 'stale-mounts',
      title: 'Stale mounts',
      status: 'ok',
      found: `none among ${facts.fuseMounts.length} FUSE mount(s) of ${whose}`,
      source,
    }]
  }
  return troubled.map((m) => {
    const found =
      m.probe === 'ENOTCONN'
        ? `${m.mountPoint} is stale: its process is gone (stat fails with ENOTCONN)`
        : m.probe === 'timeout'
          ? `${m.mountPoint} does not answer: stat did not return within ${PROBE_TIMEOUT_MS / 1000} s`
          : `${m.mountPoint}: stat fails with ${m.probe}`
    const fix =
      m.probe === 'ENOTCONN'
        ? `\`mountkit unmount ${m.mountPoint}\``
        : `if the process serving it is hung or gone: \`mountkit unmount ${m.mountPoint}\``
    const title = m.probe === 'ENOTCONN' ? 'Stale mount' : 'Mount not answering'
    return { check: 'stale-mounts', title, status: 'warn' as const, found, source, fix }
  })
}

/** How long a mount point may take to answer stat before it counts as not answering. */
const PROBE_TIMEOUT_MS = 2000

/** Reads the facts from this machine (Linux only). */
export async function gatherFacts(): Promise<Facts> {
  const uid = process.getuid?.() ?? -1
  const kernelRelease = release()
  const [capSysAdmin, container, devFuse, fuseModule, fusermount3, fuseConf, kernelConfig, uringEnabled, fuseMounts] =
    await Promise.all([
      readCapSysAdmin(),
      detectContainer(),
      readDevFuse(),
      readFuseModule(),
      findFusermount3(),
      readFuseConf(),
      readKernelConfig(kernelRelease),
      readText('/sys/module/fuse/parameters/enable_uring').then((v) => (v === undefined ? null : v.trim() === 'Y')),
      probeFuseMounts(uid),
    ])
  return {
    kernelRelease,
    uid,
    capSysAdmin,
    container,
    devFuse,
    fuseModule,
    fusermount3,
    fuseConf,
    kernelConfig,
    uringEnabled,
    fuseMounts,
    addon: loadAddon(),
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return undefined
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

const CAP_SYS_ADMIN = 21n

async function readCapSysAdmin(): Promise<Facts['capSysAdmin']> {
  const status = await readText('/proc/self/status')
  const field = (name: string) => {
    const hex = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status ?? '')?.[1]
    return hex === undefined ? undefined : ((BigInt(`0x${hex}`) >> CAP_SYS_ADMIN) & 1n) === 1n
  }
  const effective = field('CapEff')
  const bounding = field('CapBnd')
  return effective === undefined || bounding === undefined ? null : { effective, bounding }
}

async function detectContainer(): Promise<string | null> {
  if (await exists('/.dockerenv')) return '/.dockerenv exists'
  if (await exists('/run/.containerenv')) return '/run/.containerenv exists'
  if (process.env.container) return `$container is '${process.env.container}'`
  const cgroup = await readText('/proc/1/cgroup')
  const runtime = /docker|kubepods|containerd|libpod|lxc/.exec(cgroup ?? '')?.[0]
  return runtime ? `/proc/1/cgroup mentions ${runtime}` : null
}

async function readDevFuse(): Promise<Facts['devFuse']> {
  let info
  try {
    info = await stat('/dev/fuse')
  } catch {
    return { exists: false }
  }
  let readWrite = true
  try {
    await access('/dev/fuse', fsConstants.R_OK | fsConstants.W_OK)
  } catch {
    readWrite = false
  }
  // rdev packs major/minor the glibc way; FUSE is 10:229 everywhere.
  const major = ((info.rdev >> 8) & 0xfff) | ((info.rdev / 2 ** 32) & ~0xfff)
  const minor = (info.rdev & 0xff) | ((info.rdev >> 12) & ~0xff)
  return { exists: true, charDevice: info.isCharacterDevice(), rdev: `${major}:${minor}`, readWrite }
}

async function readFuseModule(): Promise<Facts['fuseModule']> {
  const filesystems = (await readText('/proc/filesystems')) ?? ''
  return {
    sysfs: await exists('/sys/fs/fuse'),
    procFilesystems: filesystems.split('\n').some((line) => line.trim().split(/\s+/).pop() === 'fuse'),
  }
}

// Not in Node's fs.constants; the value is fixed by POSIX.
const S_ISUID = 0o4000

async function findFusermount3(): Promise<Facts['fusermount3']> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const path = join(dir, 'fusermount3')
    try {
      await access(path, fsConstants.X_OK)
      const info = await stat(path)
      if (!info.isFile()) continue
      return { path, setuidRoot: info.uid === 0 && (info.mode & S_ISUID) !== 0 }
    } catch {
      continue
    }
  }
  return null
}

async function readFuseConf(): Promise<Facts['fuseConf']> {
  const text = await readText('/etc/fuse.conf')
  return {
    exists: text !== undefined,
    userAllowOther: (text ?? '').split('\n').some((line) => line.replace(/#.*/, '').trim() === 'user_allow_other'),
  }
}

async function readKernelConfig(kernelRelease: string): Promise<Facts['kernelConfig']> {
  let source = '/proc/config.gz'
  let text: string | undefined
  try {
    text = gunzipSync(await readFile(source)).toString('utf8')
  } catch {
    source = `/boot/config-${kernelRelease}`
    text = await readText(source)
  }
  if (text === undefined) return null
  const enabled = (option: string) => new RegExp(`^${option}=[ym]$`, 'm').test(text!)
  return { source, passthrough: enabled('CONFIG_FUSE_PASSTHROUGH'), ioUring: enabled('CONFIG_FUSE_IO_URING') }
}

async function probeFuseMounts(uid: number): Promise<FuseMountFact[]> {
  const entries = parseMountinfo((await readText('/proc/self/mountinfo')) ?? '').filter((e) => isFuse(e.fstype))
  const facts = entries.map((e) => {
    const owner = /(?:^|,)user_id=(\d+)(?:,|$)/.exec(e.superOptions)?.[1]
    return { mountPoint: e.mountPoint, fstype: e.fstype, userId: owner === undefined ? undefined : Number(owner) }
  })
  // Other users' mounts answer EACCES without asking their server, so only ours say anything.
  const ours = uid === 0 ? facts : facts.filter((m) => m.userId === uid)
  const answers = await probe(ours.map((m) => m.mountPoint))
  return ours.map((m) => ({ ...m, probe: answers.get(m.mountPoint) ?? 'timeout' }))
}

// The stats run in a child process, because a stat on a hung mount does not return, and once
// its server has read the request not even SIGKILL ends the wait. Here it would hold a libuv
// thread for good; a few hung mounts would starve the pool. The child gets a thread per mount
// point and starts the deadline once it runs (a slow start on a busy machine does not count
// against the mounts). At the deadline it prints one line with the answers it has and kills
// itself: a normal exit would wait to join the stuck threads. Its exit may still be delayed by
// them, so the line is read as soon as it arrives, not at exit.
const PROBE_SCRIPT = `
const [, limit, ...paths] = process.argv
const answers = {}
let left = paths.length
const finish = () => {
  process.stdout.write(JSON.stringify(answers) + '\\n')
  if (left === 0) process.exit(0)
  process.kill(process.pid, 'SIGKILL')
}
setTimeout(finish, Number(limit))
for (const path of paths) {
  require('fs').stat(path, (error) => {
    answers[path] = error ? String(error.code) : 'ok'
    if (--left === 0) finish()
  })
}`

/** What stat said for each mount point: `'ok'` or an error code; missing means no answer. */
function probe(mountPoints: string[]): Promise<Map<string, string>> {
  if (mountPoints.length === 0) return Promise.resolve(new Map())
  return new Promise((done) => {
    const threads = String(Math.min(1024, Math.max(4, mountPoints.length)))
    const child = spawn(process.execPath, ['-e', PROBE_SCRIPT, '--', String(PROBE_TIMEOUT_MS), ...mountPoints], {
      env: { ...process.env, UV_THREADPOOL_SIZE: threads },
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    let output = ''
    const settle = (answers: Record<string, string>) => {
      clearTimeout(guard)
      child.stdout.destroy()
      child.unref()
      done(new Map(Object.entries(answers)))
    }
    const parsed = (): Record<string, string> => {
      try {
        return JSON.parse(output) as Record<string, string>
      } catch {
        return {}
      }
    }
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      if (output.endsWith('\n')) settle(parsed())
    })
    child.on('exit', () => settle(parsed()))
    child.on('error', () => settle({}))
    // Should the child never get as far as its own deadline.
    const guard = setTimeout(() => {
      child.kill('SIGKILL')
      settle({})
    }, PROBE_TIMEOUT_MS + 10_000)
  })
}

function loadAddon(): Facts['addon'] {
  try {
    require('./native')
    return { loaded: true }
  } catch (error) {
    return { loaded: false, error: loadError(error) }
  }
}

/** Why the addon did not load: the loader's message, and the cause it wraps. */
function loadError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : ''
  return `${error instanceof Error ? error.message : String(error)}${cause}`
}

/** The part of the native addon the Windows checklist calls. */
export interface WindowsDiagnosis {
  windowsDiagnosis(): NativeFinding[]
}

const STATUSES: readonly string[] = ['ok', 'warn', 'error'] satisfies Status[]

/**
 * The checklist for a Windows machine: the addon's own check, then its diagnosis of WinFsp and
 * Dokan (the addon is what can read the registry and load their DLLs). `load` returns the
 * addon, or throws why it does not load; then that is the only finding.
 */
export function windowsChecklist(load: () => WindowsDiagnosis): Finding[] {
  let addon: WindowsDiagnosis
  try {
    addon = load()
  } catch (error) {
    return [addonFinding({ loaded: false, error: loadError(error) })]
  }
  const findings = addon.windowsDiagnosis().map((f): Finding => {
    // The addon and this module are released together; a status outside the three is a bug.
    if (!STATUSES.includes(f.status)) throw new Error(`the native diagnosis gave '${f.check}' the unknown status '${f.status}'`)
    return { ...f, status: f.status as Status }
  })
  return [addonFinding({ loaded: true }), ...findings]
}

/** The checklist for this machine. */
export async function runDoctor(): Promise<Finding[]> {
  if (process.platform === 'win32') return windowsChecklist(() => (require('./native') as typeof import('./native')).native)
  if (process.platform !== 'linux') return [unsupportedPlatform(process.platform)]
  return diagnose(await gatherFacts())
}

/** The checklist as text for a terminal. */
export function formatFindings(findings: Finding[]): string {
  const label: Record<Status, string> = { ok: '[ok]   ', warn: '[warn] ', error: '[error]' }
  const lines: string[] = []
  for (const f of findings) {
    lines.push(`${label[f.status]} ${f.title}: ${f.found}`)
    if (f.fix !== undefined) lines.push(`        fix:  ${f.fix}`)
    lines.push(`        from: ${f.source}`)
  }
  const count = (s: Status) => findings.filter((f) => f.status === s).length
  const errors = count('error')
  lines.push('')
  lines.push(`${count('ok')} ok, ${count('warn')} warning(s), ${errors} error(s).`)
  lines.push(errors === 0 ? 'This machine can serve mountkit filesystems.' : 'Fix the errors above before mounting.')
  return `${lines.join('\n')}\n`
}
