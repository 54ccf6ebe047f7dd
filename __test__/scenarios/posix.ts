// Runs a portable scenario through node:fs on a mounted directory: the POSIX calls a Linux
// program makes for the same steps a Windows program takes in ./windows.ts.
import { constants, promises as fsp, type Stats } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesOf, ERRNO_OF, windowsOnly, type Disposition, type Opened, type PlatformOutcome, type Scenario, type Step } from './table'

const { O_CREAT, O_EXCL, O_TRUNC, O_RDWR, O_RDONLY, O_DIRECTORY } = constants

const DISPOSITION_FLAGS: Record<Disposition, number> = {
  open: 0,
  create: O_CREAT | O_EXCL,
  'open-if': O_CREAT,
  overwrite: O_TRUNC,
  'overwrite-if': O_CREAT | O_TRUNC,
  supersede: O_CREAT | O_TRUNC,
}

function expectedCode(outcome: PlatformOutcome | undefined): string | undefined {
  const neutral = outcome === undefined ? 'ok' : typeof outcome === 'string' ? outcome : outcome.posix
  return neutral === 'ok' ? undefined : (ERRNO_OF[neutral] ?? `(no errno for ${neutral})`)
}

async function codeOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call
    return undefined
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === undefined) throw error
    return code
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  return fsp.lstat(path).catch(() => undefined)
}

interface Open {
  path: string
  file: FileHandle
  directory: boolean
}

/** Runs every step of `scenario` under `root`; throws at the first step that differs. */
export async function runOnPosix(root: string, scenario: Scenario): Promise<void> {
  const handles = new Map<string, Open>()
  const at = (path: string) => join(root, path)
  const handle = (name: string): Open => {
    const found = handles.get(name)
    if (found === undefined) throw new Error(`the scenario uses handle '${name}' before opening it`)
    return found
  }
  try {
    for (const [index, step] of scenario.steps.entries()) {
      if (windowsOnly(step)) throw new Error(`step ${index + 1} (${step.op}) has no POSIX form`)
      const fail = (what: string): never => {
        throw new Error(`step ${index + 1} ${JSON.stringify(step).slice(0, 200)}: ${what}`)
      }
      const expectCode = (actual: string | undefined, expected: string | undefined) => {
        if (actual !== expected) fail(`expected ${expected ?? 'success'}, got ${actual ?? 'success'}`)
      }
      await runStep(step, { at, handle, handles, fail, expectCode })
    }
    if (handles.size > 0) throw new Error(`the scenario leaves handles open: ${[...handles.keys()].join(', ')}`)
  } finally {
    for (const open of handles.values()) await open.file.close().catch(() => undefined)
  }
}

interface Context {
  at: (path: string) => string
  handle: (name: string) => Open
  handles: Map<string, Open>
  fail: (what: string) => never
  expectCode: (actual: string | undefined, expected: string | undefined) => void
}

async function runStep(step: Step, { at, handle, handles, fail, expectCode }: Context): Promise<void> {
  switch (step.op) {
    case 'open': {
      const path = at(step.path)
      const before = await statOrUndefined(path)
      let opened: Open | undefined
      const attempt = (async () => {
        if (step.directory === true) {
          if (DISPOSITION_FLAGS[step.disposition] & O_CREAT) {
            const made = await codeOf(fsp.mkdir(path))
            if (made !== undefined && (made !== 'EEXIST' || step.disposition === 'create')) {
              throw Object.assign(new Error(made), { code: made })
            }
          }
          opened = { path: step.path, file: await fsp.open(path, O_RDONLY | O_DIRECTORY), directory: true }
        } else {
          const flags = DISPOSITION_FLAGS[step.disposition]
          try {
            const access = step.access === undefined ? O_RDWR : O_RDONLY
            opened = { path: step.path, file: await fsp.open(path, access | flags, 0o644), directory: false }
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EISDIR' || step.directory === false) throw error
            opened = { path: step.path, file: await fsp.open(path, O_RDONLY | O_DIRECTORY), directory: true }
          }
        }
      })()
      expectCode(await codeOf(attempt), expectedCode(step.expect))
      if (opened !== undefined) {
        handles.set(step.as, opened)
        const did: Opened =
          before === undefined ? 'created' : step.disposition === 'supersede' ? 'superseded' : DISPOSITION_FLAGS[step.disposition] & O_TRUNC ? 'overwritten' : 'opened'
        if (step.opened !== undefined && did !== step.opened) fail(`the open ${did} the file, expected ${step.opened}`)
      }
      return
    }
    case 'write': {
      const data = bytesOf(step.data)
      let written = 0
      expectCode(
        await codeOf(handle(step.handle).file.write(data, 0, data.length, step.offset).then((r) => (written = r.bytesWritten))),
        expectedCode(step.expect),
      )
      if (written !== data.length && step.expect === undefined) fail(`wrote ${written} of ${data.length} bytes`)
      return
    }
    case 'read': {
      const expected = bytesOf(step.data)
      const buffer = Buffer.alloc(step.length)
      const { bytesRead } = await handle(step.handle).file.read(buffer, 0, step.length, step.offset)
      if (!buffer.subarray(0, bytesRead).equals(expected)) fail(`read ${bytesRead} bytes that differ from the ${expected.length} expected`)
      return
    }
    case 'truncate':
      expectCode(await codeOf(handle(step.handle).file.truncate(step.size)), expectedCode(step.expect))
      return
    case 'stat': {
      const stats = await handle(step.handle).file.stat()
      if (step.size !== undefined && stats.size !== step.size) fail(`size is ${stats.size}, expected ${step.size}`)
      if (step.directory !== undefined && stats.isDirectory() !== step.directory) fail(`directory is ${stats.isDirectory()}`)
      if (step.written !== undefined && stats.mtimeMs !== step.written) fail(`mtime is ${stats.mtimeMs}, expected ${step.written}`)
      if (step.accessed !== undefined && stats.atimeMs !== step.accessed) fail(`atime is ${stats.atimeMs}, expected ${step.accessed}`)
      return
    }
    case 'setTimes': {
      const open = handle(step.handle)
      const now = await open.file.stat()
      await open.file.utimes(new Date(step.accessed ?? now.atimeMs), new Date(step.written ?? now.mtimeMs))
      return
    }
    case 'rename': {
      const open = handle(step.handle)
      expectCode(await codeOf(fsp.rename(at(open.path), at(step.to))), expectedCode(step.expect))
      if (expectedCode(step.expect) === undefined) open.path = step.to
      return
    }
    case 'delete': {
      const open = handle(step.handle)
      const remove = open.directory ? fsp.rmdir(at(open.path)) : fsp.unlink(at(open.path))
      expectCode(await codeOf(remove), expectedCode(step.expect))
      return
    }
    case 'flush':
      await handle(step.handle).file.sync()
      return
    case 'close':
      await handle(step.handle).file.close()
      handles.delete(step.handle)
      return
    case 'list': {
      const entries = await fsp.readdir(at(step.path), { withFileTypes: true })
      const names = entries.map((entry) => entry.name).sort()
      if (JSON.stringify(names) !== JSON.stringify([...step.names].sort())) fail(`listed ${JSON.stringify(names)}`)
      if (step.links !== undefined) {
        const links = entries.filter((entry) => entry.isSymbolicLink()).map((entry) => entry.name).sort()
        if (JSON.stringify(links) !== JSON.stringify([...step.links].sort())) fail(`listed ${JSON.stringify(links)} as links`)
      }
      return
    }
    case 'symlink':
      expectCode(await codeOf(fsp.symlink(step.target, at(step.path))), expectedCode(step.expect))
      return
    case 'readlink': {
      const target = await fsp.readlink(at(step.path))
      if (target !== step.target) fail(`the link holds ${JSON.stringify(target)}`)
      return
    }
    case 'lstat': {
      const link = (await fsp.lstat(at(step.path))).isSymbolicLink()
      if (link !== step.link) fail(`link is ${link}`)
      if (step.directory !== undefined) {
        const directory = (await fsp.stat(at(step.path))).isDirectory()
        if (directory !== step.directory) fail(`it leads to a directory: ${directory}`)
      }
      return
    }
    case 'unlink':
      await fsp.unlink(at(step.path))
      return
    case 'exists': {
      const exists = (await statOrUndefined(at(step.path))) !== undefined
      if (exists !== step.expect) fail(step.expect ? 'it does not exist' : 'it still exists')
      return
    }
    default:
      fail(`${step.op} has no POSIX form`)
  }
}
