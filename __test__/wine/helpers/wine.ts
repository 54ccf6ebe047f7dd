// Wine for the Windows suites: a new prefix per suite, the driver doubles installed where the
// real installers put the drivers, and the Windows Node.js serving filesystems (../serve.ts).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { Answer, Command, FaultEvent, Misbehaviour, ServedFs } from '../serve'
import type { Change, MountOptions } from '../../../index'
import { Kernel } from './kernel'

const run = promisify(execFile)

type CommandWithoutId = Command extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never

export const ROOT = resolve(__dirname, '../../..')
/** Where scripts/wine-tools.sh put Windows Node.js and the crates (scripts/wine-env.sh). */
export const TOOLS = process.env.MOUNTKIT_WINE_TOOLS ?? join(homedir(), '.cache/mountkit/wine')
/** What scripts/build-wine.sh built. */
export const BIN = join(ROOT, 'target/wine/bin')
const SERVE = join(ROOT, 'target/wine/js/__test__/wine/serve.js')
const NODE = join(TOOLS, 'node/node.exe')
const RUST_MEMFS = join(ROOT, 'target/windows-gnu/x86_64-pc-windows-gnu/debug/rust-memfs.exe')

/** The Windows spelling of a Linux path, through Wine's Z: drive. */
export function windowsPath(path: string): string {
  return `Z:${path.replaceAll('/', '\\')}`
}

/** Fails with what to run when the Windows build or tools are missing. */
export function requireWindowsBuild(): void {
  const built = [join(ROOT, 'target/wine/js/mountkit.win32-x64-msvc.node'), RUST_MEMFS, SERVE, join(BIN, 'winfsp-x64.dll'), join(BIN, 'dokan2.dll')]
  const missing = [NODE, ...built].filter(
    (file) => !existsSync(file),
  )
  if (missing.length > 0) {
    throw new Error(
      `the Windows build is missing (${missing.join(', ')}): run 'bash scripts/setup.sh' once, then 'npm run build:wine'`,
    )
  }
}

/** A Wine prefix of its own: a Windows installation with its own registry and drives. */
export class WinePrefix {
  private constructor(readonly dir: string) {}

  /** A new prefix that runs our Windows programs (scripts/wine-env.sh `new_wine_prefix`). */
  static async create(label: string): Promise<WinePrefix> {
    requireWindowsBuild()
    const prefix = new WinePrefix(await mkdtemp(join(tmpdir(), `mountkit-wine-${label}-`)))
    try {
      await run('bash', ['-c', 'source scripts/wine-env.sh && new_wine_prefix "$1"', 'new_wine_prefix', prefix.dir], {
        cwd: ROOT,
      })
    } catch (error) {
      await prefix.remove()
      throw error
    }
    return prefix
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, WINEPREFIX: this.dir, WINEDEBUG: '-all' }
  }

  /** `C:\...` inside this prefix, as a Linux path. */
  drivePath(windows: string): string {
    return join(this.dir, 'drive_c', windows.replace(/^C:\\/i, '').replaceAll('\\', '/'))
  }

  /** Runs `wine <args>` to completion, with the output in a file (see `serve`). */
  async wine(args: string[]): Promise<string> {
    const log = join(this.dir, `wine-${Date.now()}-${Math.random().toString(36).slice(2)}.log`)
    await run('bash', ['-c', 'exec wine "$@" > "$0" 2>&1', log, ...args], { env: this.env })
    return readFile(log, 'utf8')
  }

  /** `reg add HKLM\<key> /v <value> /t <type> /d <data> /f`. */
  async regAdd(key: string, value: string, data: string, type = 'REG_SZ'): Promise<void> {
    await this.wine(['reg', 'add', `HKLM\\${key}`, '/v', value, '/t', type, '/d', data, '/f'])
  }

  async regDelete(key: string): Promise<void> {
    await this.wine(['reg', 'delete', `HKLM\\${key}`, '/f']).catch(() => undefined)
  }

  /**
   * The WinFsp double, where WinFsp's installer puts WinFsp: `<InstallDir>\bin\winfsp-x64.dll`,
   * with `InstallDir` in the 32-bit registry view the installer writes.
   */
  async installWinFspDouble(installDir = 'C:\\Program Files (x86)\\WinFsp'): Promise<void> {
    const bin = this.drivePath(`${installDir}\\bin`)
    await mkdir(bin, { recursive: true })
    await copyFile(join(BIN, 'winfsp-x64.dll'), join(bin, 'winfsp-x64.dll'))
    await this.regAdd('SOFTWARE\\WOW6432Node\\WinFsp', 'InstallDir', `${installDir}\\`)
  }

  /** dokan2.dll (Dokany's library with the fake driver) where Dokan's installer puts it. */
  async installDokan(): Promise<void> {
    await copyFile(join(BIN, 'dokan2.dll'), join(this.dir, 'drive_c/windows/system32/dokan2.dll'))
  }

  /** A Dokan 1.x library (doubles/dokan/dokan1.c) where Dokan 1's installer put it. */
  async installDokan1(): Promise<void> {
    await copyFile(join(BIN, 'dokan1/dokan1.dll'), join(this.dir, 'drive_c/windows/system32/dokan1.dll'))
  }

  /**
   * Registers the WinFsp driver service as WinFsp 1.x's installer does, naming a placeholder
   * driver file in `<installDir>\bin` (no kernel driver runs under Wine), so the service entry is
   * healthy as far as `'auto'` and the doctor can tell.
   */
  async registerWinFspDriver(installDir = 'C:\\Program Files (x86)\\WinFsp'): Promise<void> {
    const driver = `${installDir}\\bin\\winfsp-x64.sys`
    await mkdir(this.drivePath(`${installDir}\\bin`), { recursive: true })
    await writeFile(this.drivePath(driver), '')
    await this.wine(['sc', 'create', 'WinFsp', 'type=', 'filesys', 'binPath=', `\\??\\${driver}`])
  }

  /**
   * The genuine WinFsp 2.1 DLL from the winfsp-sys crate, laid out as WinFsp's installer lays
   * out a side-by-side (2.x) installation when `instance` is given — the DLL in
   * `<InstallDir>\bin`, with `bin\winfsp.sxs` naming the instance, and the driver in
   * `<InstallDir>\SxS\sxs.<instance>\bin` — or a 1.x one without it (the driver in `bin`).
   * The driver is a placeholder file (no kernel driver runs under Wine), left out when
   * `driverFile` is false: a service entry naming a missing driver is the broken install the
   * doctor diagnoses. Returns the driver service's name.
   */
  async installGenuineWinFsp(o: {
    instance?: string
    driverFile: boolean
    /** The service's type as `sc create` spells it (see the doctor suite for why not always `filesys`). */
    serviceType: 'filesys' | 'own'
    installDir?: string
  }): Promise<string> {
    const installDir = o.installDir ?? 'C:\\Program Files (x86)\\WinFsp'
    const bin = this.drivePath(`${installDir}\\bin`)
    await mkdir(bin, { recursive: true })
    await copyFile(join(TOOLS, 'winfsp-sys/winfsp/bin/winfsp-x64.dll'), join(bin, 'winfsp-x64.dll'))
    const driverDir = o.instance === undefined ? `${installDir}\\bin` : `${installDir}\\SxS\\sxs.${o.instance}\\bin`
    if (o.instance !== undefined) await writeFile(join(bin, 'winfsp.sxs'), `${o.instance}\r\n`)
    await mkdir(this.drivePath(driverDir), { recursive: true })
    if (o.driverFile) await writeFile(join(this.drivePath(driverDir), 'winfsp-x64.sys'), '')
    await this.regAdd('SOFTWARE\\WOW6432Node\\WinFsp', 'InstallDir', `${installDir}\\`)
    const service = o.instance === undefined ? 'WinFsp' : `WinFsp+${o.instance}`
    await this.wine(['sc', 'create', service, 'type=', o.serviceType, 'binPath=', `\\??\\${driverDir}\\winfsp-x64.sys`])
    return service
  }

  /**
   * Runs the Windows Node.js on `script` (a file under target/wine/js) with `args`, to completion.
   * Its output goes to files (a pipe would lose it under Wine).
   */
  async node(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const base = join(this.dir, `node-${Date.now()}-${Math.random().toString(36).slice(2)}`)
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('bash', ['-c', 'exec wine "$@" > "$0.out" 2> "$0.err"', base, NODE, join(ROOT, 'target/wine/js', script), ...args], {
        env: { ...this.env, ...env },
        stdio: 'ignore',
      })
      child.once('error', reject)
      child.once('exit', (exitCode) => resolve(exitCode ?? -1))
    })
    return { code, stdout: await readFile(`${base}.out`, 'utf8'), stderr: await readFile(`${base}.err`, 'utf8') }
  }

  /** Stops every process of the prefix and deletes it. */
  async remove(): Promise<void> {
    await run('wineserver', ['-k'], { env: this.env }).catch(() => undefined)
    await rm(this.dir, { recursive: true, force: true })
  }
}

/**
 * The Windows Node.js running serve.ts in a prefix: mounts and unmounts on command, and
 * collects the mount's `error` events.
 */
export class WineServer {
  readonly faults: FaultEvent[] = []
  private nextId = 1
  private readonly answers = new Map<number, (answer: Answer) => void>()
  private kernelPort: number | undefined

  private constructor(
    private readonly child: ChildProcess,
    private readonly control: Socket,
    private readonly listener: Server,
    private readonly logFile: string,
    private readonly portFile: string,
  ) {
    let buffered = ''
    control.setEncoding('utf8')
    control.on('data', (chunk: string) => {
      buffered += chunk
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, end)) as Answer | FaultEvent
        buffered = buffered.slice(end + 1)
        if ('event' in message) {
          this.faults.push(message)
        } else {
          this.answers.get(message.id)?.(message)
          this.answers.delete(message.id)
        }
      }
    })
  }

  /** Starts Windows Node.js on serve.ts in `prefix`, and waits for it to connect. */
  static async start(prefix: WinePrefix, env: NodeJS.ProcessEnv = {}): Promise<WineServer> {
    const listener = createServer()
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    const port = (listener.address() as { port: number }).port
    const id = `${Date.now()}-${Math.random().toString(36).slice(2)}`
    const logFile = join(prefix.dir, `serve-${id}.log`)
    const portFile = join(prefix.dir, `kernel-port-${id}`)
    // Windows Node.js under Wine loses output written to a pipe, so it goes to a file.
    const child = spawn('bash', ['-c', 'exec wine "$@" > "$0" 2>&1', logFile, NODE, SERVE], {
      env: {
        ...prefix.env,
        ...env,
        MOUNTKIT_TEST_CONTROL_PORT: String(port),
        MOUNTKIT_KERNEL_PORT_FILE: windowsPath(portFile),
      },
      stdio: 'ignore',
    })
    const control = await new Promise<Socket>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`serve.js did not connect in 60 s; its log:\n${readLog(logFile)}`))
      }, 60_000)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`serve.js exited with ${code} before connecting; its log:\n${readLog(logFile)}`))
      })
      listener.once('connection', (socket) => {
        clearTimeout(timer)
        resolve(socket)
      })
    }).catch((error: unknown) => {
      listener.close()
      throw error
    })
    return new WineServer(child, control, listener, logFile, portFile)
  }

  /** What the Windows Node.js printed so far. */
  log(): string {
    return readLog(this.logFile)
  }

  private command(command: CommandWithoutId, timeoutMs = 60_000): Promise<Answer> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(id)
        reject(new Error(`serve.js did not answer ${command.op} in ${timeoutMs} ms; its log:\n${this.log()}`))
      }, timeoutMs)
      this.answers.set(id, (answer) => {
        clearTimeout(timer)
        resolve(answer)
      })
      this.control.write(`${JSON.stringify({ ...command, id })}\n`)
    })
  }

  /**
   * Mounts `fs`; resolves with the backend that serves it, or rejects with mount()'s error: its
   * message, and its `code` when it was a MountError.
   */
  async mount(
    mountpoint: string,
    fs: ServedFs,
    options: MountOptions,
    misbehave?: Misbehaviour,
  ): Promise<{ backend: string; mountpoint: string }> {
    const answer = await this.command({ op: 'mount', mountpoint, fs, options, misbehave })
    if (!answer.ok) throw Object.assign(new Error(answer.error), { code: answer.code })
    return { backend: answer.backend!, mountpoint: answer.mountpoint! }
  }

  async unmount(): Promise<void> {
    const answer = await this.command({ op: 'unmount' })
    if (!answer.ok) throw new Error(answer.error)
  }

  /** Mounts a second memfs beside the first; resolves with where it is mounted. */
  async mountSecond(mountpoint: string, options: MountOptions): Promise<string> {
    const answer = await this.command({ op: 'mount-second', mountpoint, options })
    if (!answer.ok) throw Object.assign(new Error(answer.error), { code: answer.code })
    return answer.mountpoint!
  }

  async unmountSecond(): Promise<void> {
    const answer = await this.command({ op: 'unmount-second' })
    if (!answer.ok) throw new Error(answer.error)
  }

  /** Calls the mount's `notify(change)` in the serving process; rejects with its error. */
  async notify(change: Change): Promise<void> {
    const answer = await this.command({ op: 'notify', change })
    if (!answer.ok) throw new Error(answer.error)
  }

  /** Calls the mount's `invalidate(path)`, or `invalidateEntry(path)` with `entry`. */
  async invalidate(path: string, entry: boolean): Promise<void> {
    const answer = await this.command({ op: 'invalidate', path, entry })
    if (!answer.ok) throw new Error(answer.error)
  }

  /** Calls the served filesystem's `symlink` handler itself, as if a POSIX program had made the link. */
  async symlink(target: string, path: string): Promise<void> {
    const answer = await this.command({ op: 'symlink', target, path })
    if (!answer.ok) throw new Error(answer.error)
  }

  /** What the served filesystem's `readlink` handler itself answers for `path`. */
  async readlink(path: string): Promise<string> {
    const answer = await this.command({ op: 'readlink', path })
    if (!answer.ok) throw new Error(answer.error)
    if (answer.target === undefined) throw new Error('serve: readlink answered no target')
    return answer.target
  }

  /** A new calling thread into the mounted volume (the double's kernel protocol). */
  async kernel(): Promise<Kernel> {
    this.kernelPort ??= await kernelPort(this.portFile, () => this.log())
    return Kernel.connect(this.kernelPort)
  }

  /** Waits until a fault matching `match` has been reported, and returns it. */
  async fault(match: (fault: FaultEvent) => boolean, timeoutMs = 30_000): Promise<FaultEvent> {
    for (let waited = 0; ; waited += 50) {
      const found = this.faults.find(match)
      if (found !== undefined) return found
      if (waited > timeoutMs) throw new Error(`no such fault in ${timeoutMs} ms; faults: ${JSON.stringify(this.faults)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Unmounts what is mounted and ends the process. */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve()
      else this.child.once('exit', () => resolve())
    })
    await this.command({ op: 'exit' }, 30_000).catch(() => this.child.kill('SIGKILL'))
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
    this.control.destroy()
    this.listener.close()
  }
}

/** The port the driver double listens on, once it has written it to `portFile`. */
async function kernelPort(portFile: string, log: () => string, timeoutMs = 30_000): Promise<number> {
  for (let waited = 0; !existsSync(portFile); waited += 50) {
    if (waited > timeoutMs) throw new Error(`the driver double wrote no kernel port in ${timeoutMs} ms; the program's log:\n${log()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return Number(readFileSync(portFile, 'utf8').trim())
}

/**
 * examples/rust-memfs built for Windows, serving a Rust FileSystem with no Node.js at all until
 * Enter, as its user would run it.
 */
export class RustMemfs {
  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<string>,
    private readonly logFile: string,
    private readonly port: number,
    /** Starts that ended before mounting without a word from the program (see `start`). */
    readonly silentFailures: string[],
  ) {}

  /**
   * Starts rust-memfs serving at `mountpoint`. Under a loaded CI machine Wine has (about once in
   * a few hundred starts) ended the process with exit code 1 before the program printed anything,
   * not even its own error; such a start is tried again, up to twice, and reported in
   * `silentFailures`. A start that fails saying why (`rust-memfs: ...`) is never retried.
   */
  static async start(prefix: WinePrefix, mountpoint: string, backend: 'winfsp' | 'dokan'): Promise<RustMemfs> {
    const silentFailures: string[] = []
    for (;;) {
      const attempt = await RustMemfs.startOnce(prefix, mountpoint, backend)
      if (attempt instanceof RustMemfs) {
        attempt.silentFailures.push(...silentFailures)
        return attempt
      }
      const { ended, log } = attempt
      const silent = !log.split('\n').some((line) => line.startsWith('rust-memfs') || line.startsWith('usage'))
      silentFailures.push(`${ended}; Wine's log: ${JSON.stringify(log)}`)
      if (!silent || silentFailures.length > 2) {
        throw new Error(`rust-memfs ended before mounting, ${silentFailures.length} time(s): ${silentFailures.join('\n')}`)
      }
    }
  }

  private static async startOnce(
    prefix: WinePrefix,
    mountpoint: string,
    backend: 'winfsp' | 'dokan',
  ): Promise<RustMemfs | { ended: string; log: string }> {
    const id = `${Date.now()}-${Math.random().toString(36).slice(2)}`
    const logFile = join(prefix.dir, `rust-memfs-${id}.log`)
    const portFile = join(prefix.dir, `kernel-port-${id}`)
    const child = spawn('bash', ['-c', 'exec wine "$@" > "$0" 2>&1', logFile, RUST_MEMFS, mountpoint, '--backend', backend], {
      // Wine's own errors (not its fixme notes) go to the log too, for a start that fails silently.
      env: { ...prefix.env, WINEDEBUG: 'fixme-all', MOUNTKIT_KERNEL_PORT_FILE: windowsPath(portFile) },
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal === null ? `exit code ${code}` : `signal ${signal}`)),
    )
    const started = await Promise.race([
      kernelPort(portFile, () => readLog(logFile)),
      exited.then((ended) => ({ ended, log: readLog(logFile) })),
    ]).catch((error: unknown) => {
      child.kill('SIGKILL')
      throw error
    })
    return typeof started === 'number' ? new RustMemfs(child, exited, logFile, started, []) : started
  }

  kernel(): Promise<Kernel> {
    return Kernel.connect(this.port)
  }

  log(): string {
    return readLog(this.logFile)
  }

  /** Presses Enter, which unmounts, and resolves with how the program ended (`exit code 0`). */
  async stop(timeoutMs = 30_000): Promise<string> {
    this.child.stdin?.end('\n')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return '(no log)'
  }
}
