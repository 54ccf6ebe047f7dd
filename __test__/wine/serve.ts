// Runs under the Windows Node.js in Wine and serves filesystems for the Wine suites: it mounts
// and unmounts what the test asks for, through the real `mount()`, and reports every `error`
// event. The test drives the mounted volume through the driver double's kernel protocol
// (doubles/README.md); this process only serves.
//
// Commands arrive as JSON lines on a TCP connection to 127.0.0.1:$MOUNTKIT_TEST_CONTROL_PORT,
// opened by this process (Wine passes loopback connections through to the Linux side). Each
// command has an `id`, and its answer carries the same `id`; events carry `event` instead.
import { connect } from 'node:net'
import { mount, MountError, type Change, type FileSystem, type Mount, type MountOptions } from '../../index'
import { createMemfs } from '../../examples/memfs'
import { createMirror } from '../../examples/mirror'

/** A memfs entry made before mounting, with the ownership and mode given. */
export interface OwnedEntry {
  path: string
  directory?: boolean
  uid: number
  gid: number
  mode: number
}

/**
 * Which filesystem to serve: an example, as a user would mount it. A memfs may start with
 * `owned` entries, and be served without its security handlers (`getSecurity`, `setSecurity`).
 */
export type ServedFs =
  | { kind: 'memfs'; owned?: OwnedEntry[]; withoutSecurity?: boolean }
  | { kind: 'mirror'; source: string }

/**
 * Handlers that misbehave on purpose, for paths whose last name starts with a marker:
 * `stall-*` never answers the listed operations, `slow-*` answers them after `delayMs`.
 */
export interface Misbehaviour {
  stall?: string[]
  slow?: string[]
  delayMs?: number
}

export type Command =
  | { id: number; op: 'mount'; mountpoint: string; fs: ServedFs; options: MountOptions; misbehave?: Misbehaviour }
  | { id: number; op: 'unmount' }
  | { id: number; op: 'mount-second'; mountpoint: string; options: MountOptions }
  | { id: number; op: 'unmount-second' }
  | { id: number; op: 'notify'; change: Change }
  | { id: number; op: 'invalidate'; path: string; entry: boolean }
  | { id: number; op: 'exit' }
  /** Calls the served filesystem's own handler, not through the mount: what it holds. */
  | { id: number; op: 'symlink'; target: string; path: string }
  | { id: number; op: 'readlink'; path: string }

/** A command's answer; a failure carries the error's message and its `code`, if it has one (a MountError's). */
export type Answer =
  | { id: number; ok: true; backend?: string; mountpoint?: string; target?: string }
  | { id: number; ok: false; error: string; code?: string }

export interface FaultEvent {
  event: 'fault'
  operation: string
  path: string
  errno: string | undefined
  message: string
}

function lastName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** `fs` with the handlers named in `misbehave` stalling or slowed for the marked paths. */
function withMisbehaviour(fs: FileSystem, misbehave: Misbehaviour): FileSystem {
  const wrapped: Record<string, unknown> = { ...fs }
  const handlers = fs as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const [marker, operations] of [
    ['stall-', misbehave.stall ?? []],
    ['slow-', misbehave.slow ?? []],
  ] as const) {
    for (const operation of operations) {
      const original = handlers[operation]
      if (typeof original !== 'function') throw new Error(`serve: the filesystem has no ${operation} handler`)
      wrapped[operation] = (...args: unknown[]) => {
        if (typeof args[0] !== 'string' || !lastName(args[0]).startsWith(marker)) return original.apply(fs, args)
        if (marker === 'stall-') return new Promise(() => {})
        return new Promise((resolve) => setTimeout(resolve, misbehave.delayMs ?? 0)).then(() => original.apply(fs, args))
      }
    }
  }
  return wrapped as FileSystem
}

async function filesystem(served: ServedFs): Promise<FileSystem> {
  if (served.kind === 'mirror') return createMirror(served.source)
  const fs = createMemfs()
  const ctx = { uid: 0, gid: 0, pid: process.pid }
  for (const entry of served.owned ?? []) {
    if (entry.directory) {
      await fs.mkdir(entry.path, entry.mode, ctx)
    } else {
      const opened = await fs.create(entry.path, entry.mode, 0, ctx)
      const handle = typeof opened === 'object' ? (opened.handle ?? 0) : (opened ?? 0)
      await fs.release(entry.path, handle, 0, ctx)
    }
    await fs.chown(entry.path, entry.uid, entry.gid, ctx)
    await fs.chmod(entry.path, entry.mode, ctx)
  }
  if (!served.withoutSecurity) return fs
  const withoutSecurity: FileSystem = { ...fs }
  delete withoutSecurity.getSecurity
  delete withoutSecurity.setSecurity
  return withoutSecurity
}

function main(): void {
  const port = Number(process.env.MOUNTKIT_TEST_CONTROL_PORT)
  if (!Number.isInteger(port)) throw new Error('serve: MOUNTKIT_TEST_CONTROL_PORT is not set')
  const control = connect(port, '127.0.0.1')
  const send = (message: Answer | FaultEvent) => control.write(`${JSON.stringify(message)}\n`)
  let mounted: Mount | undefined
  let served: FileSystem | undefined
  const handlerContext = { uid: 0, gid: 0, pid: process.pid }
  // A second memfs mounted beside the first, for what takes two mounts of one process ('*').
  let second: Mount | undefined

  async function run(command: Command): Promise<Answer> {
    switch (command.op) {
      case 'mount': {
        if (mounted !== undefined) return { id: command.id, ok: false, error: 'serve: already mounted' }
        const fs = withMisbehaviour(await filesystem(command.fs), command.misbehave ?? {})
        served = fs
        const m = await mount(command.mountpoint, fs, command.options)
        m.on('error', (e) =>
          send({ event: 'fault', operation: e.operation, path: e.path, errno: e.errno, message: e.message }),
        )
        mounted = m
        return { id: command.id, ok: true, backend: m.backend, mountpoint: m.mountpoint }
      }
      case 'unmount': {
        const m = mounted
        mounted = undefined
        await m?.unmount()
        return { id: command.id, ok: true }
      }
      case 'mount-second': {
        if (second !== undefined) return { id: command.id, ok: false, error: 'serve: a second mount is already there' }
        second = await mount(command.mountpoint, createMemfs(), command.options)
        return { id: command.id, ok: true, backend: second.backend, mountpoint: second.mountpoint }
      }
      case 'unmount-second': {
        const m = second
        second = undefined
        await m?.unmount()
        return { id: command.id, ok: true }
      }
      case 'notify': {
        if (mounted === undefined) return { id: command.id, ok: false, error: 'serve: not mounted' }
        await mounted.notify(command.change)
        return { id: command.id, ok: true }
      }
      case 'invalidate': {
        if (mounted === undefined) return { id: command.id, ok: false, error: 'serve: not mounted' }
        await (command.entry ? mounted.invalidateEntry(command.path) : mounted.invalidate(command.path))
        return { id: command.id, ok: true }
      }
      case 'symlink': {
        if (served?.symlink === undefined) return { id: command.id, ok: false, error: 'serve: no filesystem with symlink' }
        await served.symlink(command.target, command.path, handlerContext)
        return { id: command.id, ok: true }
      }
      case 'readlink': {
        if (served?.readlink === undefined) return { id: command.id, ok: false, error: 'serve: no filesystem with readlink' }
        return { id: command.id, ok: true, target: await served.readlink(command.path, handlerContext) }
      }
      case 'exit': {
        await second?.unmount()
        await mounted?.unmount()
        setImmediate(() => process.exit(0))
        return { id: command.id, ok: true }
      }
    }
  }

  let buffered = ''
  control.setEncoding('utf8')
  control.on('data', (chunk: string) => {
    buffered += chunk
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const command = JSON.parse(buffered.slice(0, end)) as Command
      buffered = buffered.slice(end + 1)
      run(command).then(send, (error: unknown) =>
        send({
          id: command.id,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
          code: error instanceof MountError ? error.code : undefined,
        }),
      )
    }
  })
  // The test ended (or died): nothing more will be asked, so leave no mount behind.
  control.on('close', () => {
    void Promise.allSettled([second?.unmount(), mounted?.unmount()]).finally(() => process.exit(0))
  })
}

main()
