// Runs a scenario the way a Windows program's calls reach a file system driver: each step is the
// IRP the I/O manager would send, through the driver double's kernel protocol.
import { ACCESS, FILE, STATUS, statusName, type Kernel, type SymlinkTarget } from '../wine/helpers/kernel'
import { bytesOf, NTSTATUS_OF, type Opened, type PlatformOutcome, type Scenario, type Step } from './table'

const OPENED_INFO: Record<Opened, number> = {
  superseded: FILE.SUPERSEDED,
  opened: FILE.OPENED,
  created: FILE.CREATED,
  overwritten: FILE.OVERWRITTEN,
}

export type WindowsBackend = 'winfsp' | 'dokan'

/** FILETIME (100 ns since 1601) of a time in ms since 1970. */
export function filetime(ms: number): bigint {
  return BigInt(ms) * 10_000n + 116_444_736_000_000_000n
}

function windowsPath(path: string): string {
  return path.replaceAll('/', '\\')
}

/** Where the Windows suites mount the volume. */
export const MOUNT_POINT = 'M:'

/**
 * A POSIX link target as a Windows program writes it with CreateSymbolicLinkW on the volume: a
 * relative one with backslashes, an absolute one on the volume's drive (the NT path, and the
 * Win32 path to show).
 */
export function windowsTarget(target: string): SymlinkTarget {
  if (!target.startsWith('/')) {
    const relative = windowsPath(target)
    return { substitute: relative, print: relative, relative: true }
  }
  const print = `${MOUNT_POINT}${windowsPath(target)}`
  return { substitute: `\\??\\${print}`, print, relative: false }
}

/** The NTSTATUS `outcome` means on `backend`. */
function expectedStatus(outcome: PlatformOutcome | undefined, backend: WindowsBackend): number {
  if (outcome === undefined) return NTSTATUS_OF.ok
  if (typeof outcome === 'string') return NTSTATUS_OF[outcome]
  return NTSTATUS_OF[backend === 'dokan' ? (outcome.dokan ?? outcome.windows) : outcome.windows]
}

/** A failed step: which one, what it expected, what came back. */
class StepFailure extends Error {
  constructor(index: number, step: Step, what: string) {
    super(`step ${index + 1} ${JSON.stringify(step, (_, v: unknown) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}…` : v))}: ${what}`)
    this.name = 'StepFailure'
  }
}

/** Runs every step of `scenario` on one calling thread; throws at the first step that differs. */
export async function runOnWindows(kernel: Kernel, scenario: Scenario, backend: WindowsBackend): Promise<void> {
  const handles = new Map<string, number>()
  const handle = (name: string): number => {
    const found = handles.get(name)
    if (found === undefined) throw new Error(`the scenario uses handle '${name}' before opening it`)
    return found
  }
  for (const [index, step] of scenario.steps.entries()) {
    const fail = (what: string): never => {
      throw new StepFailure(index, step, what)
    }
    const expectStatus = (actual: number, expected: number) => {
      if (actual !== expected) fail(`expected ${statusName(expected)}, got ${statusName(actual)}`)
    }
    switch (step.op) {
      case 'open': {
        let options = step.directory === true ? FILE.DIRECTORY_FILE : step.directory === false ? FILE.NON_DIRECTORY_FILE : 0
        if (step.deleteOnClose === true) options |= FILE.DELETE_ON_CLOSE
        const opened = await kernel.create(windowsPath(step.path), {
          access: step.access === undefined ? ACCESS.READ_WRITE_DELETE : step.access === 'read' ? ACCESS.READ : ACCESS.METADATA,
          disposition: step.disposition,
          options,
          attributes: (step.attributes ?? FILE.ATTRIBUTE_NORMAL) | (step.directory === true ? FILE.ATTRIBUTE_DIRECTORY : 0),
        })
        expectStatus(opened.status, expectedStatus(step.expect, backend))
        if (opened.status === STATUS.SUCCESS) {
          handles.set(step.as, opened.handle)
          if (step.opened !== undefined && opened.info !== OPENED_INFO[step.opened]) {
            fail(`expected the create to report ${step.opened} (${OPENED_INFO[step.opened]}), got ${opened.info}`)
          }
        }
        break
      }
      case 'write': {
        const data = bytesOf(step.data)
        const written = await kernel.write(handle(step.handle), step.offset, data)
        expectStatus(written.status, expectedStatus(step.expect, backend))
        if (written.status === STATUS.SUCCESS && written.written !== data.length) {
          fail(`wrote ${written.written} of ${data.length} bytes`)
        }
        break
      }
      case 'read': {
        const expected = bytesOf(step.data)
        const read = await kernel.read(handle(step.handle), step.offset, step.length)
        // NtReadFile at or past the end of a file fails with STATUS_END_OF_FILE.
        expectStatus(read.status, expected.length === 0 ? STATUS.END_OF_FILE : STATUS.SUCCESS)
        if (!read.data.equals(expected)) {
          fail(`read ${read.data.length} bytes that differ from the ${expected.length} expected (first: ${JSON.stringify(read.data.subarray(0, 32).toString())})`)
        }
        break
      }
      case 'truncate':
        expectStatus(await kernel.setEof(handle(step.handle), step.size), expectedStatus(step.expect, backend))
        break
      case 'allocate':
        expectStatus(await kernel.setAlloc(handle(step.handle), step.size), STATUS.SUCCESS)
        break
      case 'stat': {
        const { status, info } = await kernel.query(handle(step.handle))
        expectStatus(status, STATUS.SUCCESS)
        if (info === undefined) return fail('no information')
        if (step.size !== undefined && info.size !== step.size) fail(`size is ${info.size}, expected ${step.size}`)
        if (step.directory !== undefined && info.directory !== step.directory) {
          fail(`directory is ${info.directory}, expected ${step.directory}`)
        }
        if (step.directory !== undefined && ((info.attributes & FILE.ATTRIBUTE_DIRECTORY) !== 0) !== step.directory) {
          fail(`attributes 0x${info.attributes.toString(16)} disagree with directory=${step.directory}`)
        }
        if (step.attributes !== undefined && (info.attributes & step.attributes) !== step.attributes) {
          fail(`attributes 0x${info.attributes.toString(16)} lack 0x${step.attributes.toString(16)}`)
        }
        if (step.lacks !== undefined && (info.attributes & step.lacks) !== 0) {
          fail(`attributes 0x${info.attributes.toString(16)} include some of 0x${step.lacks.toString(16)}`)
        }
        if (step.created !== undefined && info.created !== filetime(step.created)) {
          fail(`creation time is ${info.created}, expected ${filetime(step.created)}`)
        }
        if (step.written !== undefined && info.written !== filetime(step.written)) {
          fail(`last write time is ${info.written}, expected ${filetime(step.written)}`)
        }
        if (step.accessed !== undefined && info.accessed !== filetime(step.accessed)) {
          fail(`last access time is ${info.accessed}, expected ${filetime(step.accessed)}`)
        }
        break
      }
      case 'setTimes':
        expectStatus(
          await kernel.setBasic(handle(step.handle), {
            written: step.written === undefined ? undefined : filetime(step.written),
            accessed: step.accessed === undefined ? undefined : filetime(step.accessed),
            created: step.created === undefined ? undefined : filetime(step.created),
          }),
          STATUS.SUCCESS,
        )
        break
      case 'setAttributes':
        expectStatus(await kernel.setBasic(handle(step.handle), { attributes: step.attributes }), STATUS.SUCCESS)
        break
      case 'rename':
        expectStatus(
          await kernel.rename(handle(step.handle), windowsPath(step.to), step.replace),
          expectedStatus(step.expect, backend),
        )
        break
      case 'delete':
        expectStatus(await kernel.setDelete(handle(step.handle), true), expectedStatus(step.expect, backend))
        break
      case 'undelete':
        expectStatus(await kernel.setDelete(handle(step.handle), false), STATUS.SUCCESS)
        break
      case 'flush':
        expectStatus(await kernel.flush(handle(step.handle)), STATUS.SUCCESS)
        break
      case 'close':
        expectStatus(await kernel.closeHandle(handle(step.handle)), STATUS.SUCCESS)
        handles.delete(step.handle)
        break
      case 'list': {
        const dir = await kernel.create(windowsPath(step.path), {
          access: ACCESS.READ,
          disposition: 'open',
          options: FILE.DIRECTORY_FILE,
        })
        expectStatus(dir.status, STATUS.SUCCESS)
        const listed = await kernel.listAll(dir.handle, { pattern: step.pattern, size: step.bufferSize })
        await kernel.closeHandle(dir.handle)
        // A search that matches nothing at all ends with STATUS_NO_SUCH_FILE rather than an
        // empty page; the root has no '.' and '..', so an empty root lists that way.
        const empty = step.names.length === 0
        if (!(empty && listed.status === STATUS.NO_SUCH_FILE)) expectStatus(listed.status, STATUS.SUCCESS)
        const names = listed.entries
          .map((entry) => entry.name)
          .filter((name) => name !== '.' && name !== '..')
          .sort()
        if (JSON.stringify(names) !== JSON.stringify([...step.names].sort())) {
          fail(`listed ${JSON.stringify(names)}`)
        }
        if (step.links !== undefined) {
          const links = listed.entries.filter((entry) => (entry.attributes & FILE.ATTRIBUTE_REPARSE_POINT) !== 0)
          const linkNames = links.map((entry) => entry.name).sort()
          if (JSON.stringify(linkNames) !== JSON.stringify([...step.links].sort())) {
            fail(`listed ${JSON.stringify(linkNames)} as reparse points`)
          }
          const untagged = links.filter((entry) => entry.tag !== FILE.REPARSE_TAG_SYMLINK)
          if (untagged.length > 0) fail(`listed ${JSON.stringify(untagged)} without the symbolic-link tag`)
        }
        if (step.minCalls !== undefined && listed.calls < step.minCalls) {
          fail(`the listing took ${listed.calls} calls, so the buffer never filled (expected at least ${step.minCalls})`)
        }
        break
      }
      case 'exists': {
        const probe = await kernel.create(windowsPath(step.path), { access: ACCESS.READ, disposition: 'open' })
        if (probe.status === STATUS.SUCCESS) await kernel.closeHandle(probe.handle)
        const exists = probe.status === STATUS.SUCCESS
        if (!exists && probe.status !== STATUS.OBJECT_NAME_NOT_FOUND) {
          fail(`opening it failed with ${statusName(probe.status)}, neither success nor not-found`)
        }
        if (exists !== step.expect) fail(step.expect ? 'it does not exist' : 'it still exists')
        break
      }
      case 'volume': {
        const { status, volume } = await kernel.volume()
        expectStatus(status, STATUS.SUCCESS)
        if (volume?.label !== step.label) fail(`the label is ${JSON.stringify(volume?.label)}`)
        break
      }
      case 'setLabel':
        expectStatus(await kernel.setLabel(step.label), STATUS.SUCCESS)
        break
      case 'symlink':
        expectStatus(
          await kernel.createSymlink(windowsPath(step.path), windowsTarget(step.target), step.directory === true),
          expectedStatus(step.expect, backend),
        )
        break
      case 'readlink': {
        const { status, target } = await kernel.readSymlink(windowsPath(step.path))
        expectStatus(status, STATUS.SUCCESS)
        const expected = windowsTarget(step.target)
        if (JSON.stringify(target) !== JSON.stringify(expected)) {
          fail(`the link holds ${JSON.stringify(target)}, expected ${JSON.stringify(expected)}`)
        }
        break
      }
      case 'lstat': {
        const opened = await kernel.create(windowsPath(step.path), {
          access: ACCESS.READ,
          disposition: 'open',
          options: FILE.OPEN_REPARSE_POINT,
        })
        expectStatus(opened.status, STATUS.SUCCESS)
        const { status, info } = await kernel.query(opened.handle)
        await kernel.closeHandle(opened.handle)
        expectStatus(status, STATUS.SUCCESS)
        if (info === undefined) return fail('no information')
        const link = (info.attributes & FILE.ATTRIBUTE_REPARSE_POINT) !== 0
        if (link !== step.link) fail(`attributes 0x${info.attributes.toString(16)}: link is ${link}, expected ${step.link}`)
        if (link && info.tag !== FILE.REPARSE_TAG_SYMLINK) fail(`the reparse tag is ${info.tag?.toString(16)}, not the symbolic-link tag`)
        const directory = (info.attributes & FILE.ATTRIBUTE_DIRECTORY) !== 0
        if (step.directory !== undefined && directory !== step.directory) {
          fail(`attributes 0x${info.attributes.toString(16)}: directory is ${directory}, expected ${step.directory}`)
        }
        break
      }
      case 'unlink': {
        const opened = await kernel.create(windowsPath(step.path), {
          access: ACCESS.METADATA,
          disposition: 'open',
          options: FILE.OPEN_REPARSE_POINT | (step.directory === true ? FILE.DIRECTORY_FILE : FILE.NON_DIRECTORY_FILE),
        })
        expectStatus(opened.status, STATUS.SUCCESS)
        const deleted = await kernel.setDelete(opened.handle, true)
        await kernel.closeHandle(opened.handle)
        expectStatus(deleted, STATUS.SUCCESS)
        break
      }
      default:
        step satisfies never
    }
  }
  if (handles.size > 0) throw new Error(`the scenario leaves handles open: ${[...handles.keys()].join(', ')}`)
}
