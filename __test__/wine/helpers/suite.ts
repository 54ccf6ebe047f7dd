// The Windows suite, declared once and run for each backend by wine/winfsp.test.ts and
// wine/dokan.test.ts: the scenario table against memfs and mirror served by the Windows
// Node.js under Wine, and the cases a table cannot hold (timeouts, unmounting with requests in
// flight, two threads at once).
import test, { type ExecutionContext } from 'ava'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { ServedFs } from '../serve'
import { runOnWindows, windowsTarget, type WindowsBackend } from '../../scenarios/windows'
import { appliesTo, SCENARIOS, type Scenario } from '../../scenarios/table'
import {
  ACCESS,
  FILE,
  NOTIFY,
  STATUS,
  statusName,
  symlinkReparseData,
  type Kernel,
  type Notification,
  type VolumeInformation,
} from './kernel'
import { RustMemfs, windowsPath, WinePrefix, WineServer } from './wine'


/** A filesystem for one test: memfs, or a mirror of a fresh Linux temp dir seen through Z:. */
async function served(t: ExecutionContext, kind: ServedFs['kind']): Promise<ServedFs> {
  if (kind === 'memfs') return { kind }
  const source = await mkdtemp(join(tmpdir(), 'mountkit-wine-mirror-'))
  t.teardown(() => rm(source, { recursive: true, force: true }))
  // Wine reads the first bytes of every file it stats (to spot its own device placeholders),
  // and under relatime that read moves a last-access time just set back to now. Files under a
  // directory with the no-atime attribute (inherited by what is created inside) keep the times
  // set through the mirror, as NTFS would.
  await run('chattr', ['+A', source]).catch((error: unknown) => {
    throw new Error(
      `chattr +A ${source} failed: the mirror scenarios need a temp directory on a filesystem with the no-atime attribute (ext4, xfs, btrfs); point TMPDIR at one`,
      { cause: error },
    )
  })
  return { kind, source: windowsPath(source) }
}

function check(t: ExecutionContext, actual: number, expected: number, what: string): void {
  t.is(statusName(actual), statusName(expected), what)
}

const run = promisify(execFile)

/**
 * Whether `scenario` runs on `backend` serving `fs`. Scenarios that need symbolic links run on
 * WinFsp only (Dokan's driver has no reparse points), and only with memfs: rust-memfs has no
 * `symlink`, and the mirror under Wine makes its links through Wine on its Linux drive, where the
 * scenarios' directory links fail (ENOENT). FUSE runs these scenarios on the mirror.
 */
function runsOn(scenario: Scenario, backend: WindowsBackend, fs: ServedFs['kind'] | 'rust-memfs'): boolean {
  return scenario.symlinks !== true || (backend === 'winfsp' && fs === 'memfs')
}

export function windowsSuite(backend: WindowsBackend): void {
  let prefix: WinePrefix | undefined
  let server: WineServer | undefined
  const running = (): WineServer => {
    if (server === undefined) throw new Error('the Wine server did not start (see the before hook)')
    return server
  }
  const ready = (): WinePrefix => {
    if (prefix === undefined) throw new Error('the Wine prefix was not made (see the before hook)')
    return prefix
  }

  test.before(async () => {
    prefix = await WinePrefix.create(backend)
    await (backend === 'winfsp' ? prefix.installWinFspDouble() : prefix.installDokan())
    server = await WineServer.start(prefix)
  })

  test.after.always(async () => {
    await server?.stop()
    await prefix?.remove()
  })

  /**
   * Mounts `fs` on M: for the length of `body`, with a calling thread into it; unmounts however
   * `body` ends. The mount's `error` events during `body` are returned.
   */
  async function withMount(
    t: ExecutionContext,
    fs: ServedFs,
    options: Parameters<WineServer['mount']>[2],
    misbehave: Parameters<WineServer['mount']>[3],
    body: (kernel: Kernel) => Promise<void>,
  ): Promise<WineServer['faults']> {
    const s = running()
    const faultsBefore = s.faults.length
    const mounted = await s.mount('M:', fs, { backend, ...options }, misbehave)
    t.is(mounted.backend, backend)
    const kernel = await s.kernel()
    try {
      await body(kernel)
    } finally {
      kernel.disconnect()
      await s.unmount()
    }
    return s.faults.slice(faultsBefore)
  }

  for (const kind of ['memfs', 'mirror'] as const) {
    // mirror has no setAttributes handler: Node.js cannot set Windows attributes.
    for (const scenario of SCENARIOS.filter((s) => runsOn(s, backend, kind) && appliesTo(s, kind === 'memfs'))) {
      test.serial(`${backend}/${kind}: ${scenario.name}`, async (t) => {
        const faults = await withMount(t, await served(t, kind), {}, undefined, (kernel) => runOnWindows(kernel, scenario, backend))
        t.deepEqual(faults, [], 'no handler misbehaved')
      })
    }
  }

  // A Rust FileSystem with no Node.js: examples/rust-memfs, a process per scenario.
  for (const scenario of SCENARIOS.filter((s) => runsOn(s, backend, 'rust-memfs') && appliesTo(s, true))) {
    test.serial(`${backend}/rust-memfs: ${scenario.name}`, async (t) => {
      const memfs = await RustMemfs.start(ready(), 'M:', backend)
      for (const failure of memfs.silentFailures) t.log(`Wine ended a start before it mounted: ${failure}`)
      let kernel: Kernel | undefined
      try {
        kernel = await memfs.kernel()
        await runOnWindows(kernel, scenario, backend)
      } finally {
        kernel?.disconnect()
        t.is(await memfs.stop(), 'exit code 0', `rust-memfs unmounts and exits cleanly; its log:\n${memfs.log()}`)
      }
    })
  }

  test.serial(`${backend}: a handler that never answers times out, and the mount keeps serving`, async (t) => {
    const faults = await withMount(t, { kind: 'memfs' }, { timeoutMs: 1000 }, { stall: ['read'] }, async (kernel) => {
      const stalled = await kernel.create('\\stall-read.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
      check(t, stalled.status, STATUS.SUCCESS, 'create')
      check(t, (await kernel.write(stalled.handle, 0, 'x')).status, STATUS.SUCCESS, 'write')
      const started = Date.now()
      const read = await kernel.read(stalled.handle, 0, 1)
      check(t, read.status, STATUS.IO_TIMEOUT, 'the stalled read')
      t.true(Date.now() - started >= 900, 'the read waited for the timeout')
      await kernel.closeHandle(stalled.handle)
      const other = await kernel.create('\\other.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
      check(t, (await kernel.write(other.handle, 0, 'still serving')).status, STATUS.SUCCESS, 'a later write')
      t.is((await kernel.read(other.handle, 0, 64)).data.toString(), 'still serving')
      await kernel.closeHandle(other.handle)
    })
    t.true(
      faults.some((fault) => fault.operation === 'read' && fault.errno === 'ETIMEDOUT'),
      `a timeout fault was reported: ${JSON.stringify(faults)}`,
    )
  })

  test.serial(`${backend}: unmounting with a request in flight answers it`, async (t) => {
    const s = running()
    await s.mount('M:', { kind: 'memfs' }, { backend, timeoutMs: 60_000 }, { stall: ['read'] })
    let mounted = true
    const kernel = await s.kernel()
    try {
      const file = await kernel.create('\\stall-unmount.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
      check(t, file.status, STATUS.SUCCESS, 'create')
      let answered = false
      const inFlight = kernel.read(file.handle, 0, 1).finally(() => (answered = true))
      // The read reaches the handler, which never answers: still waiting half a second later.
      await new Promise((resolve) => setTimeout(resolve, 500))
      t.false(answered, 'the read was in flight when the unmount began')
      const started = Date.now()
      await s.unmount()
      mounted = false
      const { status } = await inFlight
      // The backend fails it when its volume goes (the driver cancels it), or mountkit does when
      // the grace for handlers runs out (EIO): either way an error, at once.
      t.true(
        [STATUS.CANCELLED, STATUS.IO_DEVICE_ERROR, STATUS.DEVICE_NOT_READY].includes(status as never),
        `the read failed as an unmount fails it, not with ${statusName(status)}`,
      )
      t.true(Date.now() - started < 10_000, 'unmount did not wait for the request timeout')
    } finally {
      kernel.disconnect()
      if (mounted) await s.unmount()
    }
  })

  test.serial(`${backend}: two threads at once: a slow request does not hold up another`, async (t) => {
    await withMount(t, { kind: 'memfs' }, {}, { slow: ['read'], delayMs: 2000 }, async (first) => {
      const second = await running().kernel()
      try {
        const slow = await first.create('\\slow-file.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
        await first.write(slow.handle, 0, 'slow')
        const fast = await second.create('\\fast.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
        await second.write(fast.handle, 0, 'fast')
        let slowDone = false
        const slowRead = first.read(slow.handle, 0, 4).then((read) => {
          slowDone = true
          return read
        })
        await new Promise((resolve) => setTimeout(resolve, 200))
        const fastRead = await second.read(fast.handle, 0, 4)
        t.is(fastRead.data.toString(), 'fast')
        t.false(slowDone, 'the fast read finished while the slow one was still running')
        t.is((await slowRead).data.toString(), 'slow')
        await second.closeHandle(fast.handle)
        await first.closeHandle(slow.handle)
      } finally {
        second.disconnect()
      }
    })
  })

  if (backend === 'dokan') {
    test.serial('dokan: a request that outlives the driver’s own timeout is kept alive', async (t) => {
      // Dokan's driver fails a request after DOKAN_OPTIONS.Timeout, which the backend sets to
      // the request timeout plus 5 s (here 17 s). An overwrite is one driver request that takes
      // two handler calls, open and then truncate, 11 s each: it succeeds only because the
      // backend extends the driver's timer while it waits (DokanResetTimeout).
      await withMount(t, { kind: 'memfs' }, { timeoutMs: 12_000 }, { slow: ['open', 'truncate'], delayMs: 11_000 }, async (kernel) => {
        const path = '\\slow-keepalive.txt'
        const created = await kernel.create(path, { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
        check(t, created.status, STATUS.SUCCESS, 'create')
        check(t, (await kernel.write(created.handle, 0, 'to be discarded')).status, STATUS.SUCCESS, 'write')
        await kernel.closeHandle(created.handle)
        const started = Date.now()
        const overwritten = await kernel.create(path, { disposition: 'overwrite', options: FILE.NON_DIRECTORY_FILE })
        const took = Date.now() - started
        check(t, overwritten.status, STATUS.SUCCESS, 'the overwrite')
        t.is(overwritten.info, FILE.OVERWRITTEN)
        t.true(took > 17_000, `the request outlived the driver's timeout (it took ${took} ms)`)
        t.is((await kernel.query(overwritten.handle)).info?.size, 0, 'the file was truncated')
        await kernel.closeHandle(overwritten.handle)
      })
    })
  }

  test.serial(
    `${backend}: a symbolic link the filesystem holds is ${backend === 'winfsp' ? 'a reparse point' : 'a plain file, since Dokan has no reparse points'}`,
    async (t) => {
      const faults = await withMount(t, { kind: 'memfs' }, {}, undefined, async (kernel) => {
        const made = await kernel.create('\\target.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
        check(t, made.status, STATUS.SUCCESS, 'create the target')
        await kernel.closeHandle(made.handle)
        await running().symlink('target.txt', '/link')
        const opened = await kernel.create('\\link', { access: ACCESS.READ, disposition: 'open', options: FILE.OPEN_REPARSE_POINT })
        check(t, opened.status, STATUS.SUCCESS, 'open the link itself')
        const { info } = await kernel.query(opened.handle)
        const reparse = backend === 'winfsp' ? await kernel.getReparse(opened.handle) : undefined
        await kernel.closeHandle(opened.handle)
        const root = await kernel.create('\\', { access: ACCESS.READ, disposition: 'open', options: FILE.DIRECTORY_FILE })
        const listed = await kernel.listAll(root.handle)
        await kernel.closeHandle(root.handle)
        const entry = listed.entries.find((e) => e.name === 'link')
        t.truthy(entry, 'the link is listed')
        if (backend === 'winfsp') {
          t.is((info?.attributes ?? 0) & FILE.ATTRIBUTE_REPARSE_POINT, FILE.ATTRIBUTE_REPARSE_POINT, 'a reparse point')
          t.is(info?.tag, FILE.REPARSE_TAG_SYMLINK)
          t.is((entry?.attributes ?? 0) & FILE.ATTRIBUTE_REPARSE_POINT, FILE.ATTRIBUTE_REPARSE_POINT, 'listed as a reparse point')
          t.is(entry?.tag, FILE.REPARSE_TAG_SYMLINK)
          check(t, reparse?.status ?? -1, STATUS.SUCCESS, 'FSCTL_GET_REPARSE_POINT')
          t.deepEqual(reparse?.data, symlinkReparseData(windowsTarget('target.txt')))
        } else {
          t.is((info?.attributes ?? 0) & FILE.ATTRIBUTE_REPARSE_POINT, 0, 'no reparse point on Dokan')
          t.is((entry?.attributes ?? 0) & FILE.ATTRIBUTE_REPARSE_POINT, 0, 'listed as a plain file')
        }
      })
      t.deepEqual(faults, [], 'no handler misbehaved')
    },
  )

  if (backend === 'winfsp') {
    test.serial('winfsp: a link Windows makes is the POSIX symlink the handler gets, and what cannot be one is refused', async (t) => {
      const faults = await withMount(t, { kind: 'memfs' }, {}, undefined, async (kernel) => {
        const s = running()
        const dir = await kernel.create('\\sub', { disposition: 'create', options: FILE.DIRECTORY_FILE, attributes: FILE.ATTRIBUTE_DIRECTORY })
        await kernel.closeHandle(dir.handle)
        const file = await kernel.create('\\sub\\f.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
        await kernel.closeHandle(file.handle)

        check(t, await kernel.createSymlink('\\rel', { substitute: 'sub\\f.txt', print: 'sub\\f.txt', relative: true }, false), STATUS.SUCCESS, 'relative link')
        t.is(await s.readlink('/rel'), 'sub/f.txt', 'the handler holds the POSIX spelling')
        check(t, await kernel.createSymlink('\\abs', windowsTarget('/sub/f.txt'), false), STATUS.SUCCESS, 'absolute link')
        t.is(await s.readlink('/abs'), '/sub/f.txt', 'an absolute target on the volume is taken from its root')
        check(t, await kernel.createSymlink('\\drive', { substitute: '\\sub', print: '\\sub', relative: true }, true), STATUS.SUCCESS, 'drive-relative link')
        t.is(await s.readlink('/drive'), '/sub')

        check(
          t,
          await kernel.createSymlink('\\elsewhere', { substitute: '\\??\\N:\\data', print: 'N:\\data', relative: false }, false),
          STATUS.ACCESS_DENIED,
          'a target on another drive',
        )
        const mountPoint = { substitute: '\\??\\M:\\sub', print: 'M:\\sub', relative: false }
        const junction = symlinkReparseData(mountPoint)
        junction.writeUInt32LE(0xa0000003, 0)
        const placeholder = await kernel.create('\\junction', { access: ACCESS.SYMLINK, disposition: 'create', options: FILE.OPEN_REPARSE_POINT | FILE.DIRECTORY_FILE, attributes: FILE.ATTRIBUTE_DIRECTORY })
        check(t, await kernel.setReparse(placeholder.handle, junction), STATUS.IO_REPARSE_TAG_MISMATCH, 'a junction is not a symbolic link')
        await kernel.setDelete(placeholder.handle, true)
        await kernel.closeHandle(placeholder.handle)

        const plain = await kernel.create('\\sub\\f.txt', { access: ACCESS.READ, disposition: 'open', options: FILE.OPEN_REPARSE_POINT })
        check(t, (await kernel.getReparse(plain.handle)).status, STATUS.NOT_A_REPARSE_POINT, 'a plain file has no reparse data')
        await kernel.closeHandle(plain.handle)

        const link = await kernel.create('\\rel', { access: ACCESS.SYMLINK, disposition: 'open', options: FILE.OPEN_REPARSE_POINT })
        // FSCTL_DELETE_REPARSE_POINT names the tag alone, with no data.
        const tagOnly = Buffer.alloc(8)
        tagOnly.writeUInt32LE(FILE.REPARSE_TAG_SYMLINK, 0)
        check(t, await kernel.deleteReparse(link.handle, tagOnly), STATUS.ACCESS_DENIED, 'FSCTL_DELETE_REPARSE_POINT')
        await kernel.closeHandle(link.handle)
        t.is(await s.readlink('/rel'), 'sub/f.txt', 'the refused delete leaves the link')

        await s.symlink('missing.txt', '/dangling')
        check(t, (await kernel.create('\\dangling', { access: ACCESS.READ, disposition: 'open' })).status, STATUS.OBJECT_NAME_NOT_FOUND, 'a dangling link')
        await s.symlink('loop', '/loop')
        check(t, (await kernel.create('\\loop', { access: ACCESS.READ, disposition: 'open' })).status, STATUS.REPARSE_POINT_NOT_RESOLVED, 'a link to itself')
        const through = await kernel.create('\\drive\\f.txt', { access: ACCESS.READ, disposition: 'open' })
        check(t, through.status, STATUS.SUCCESS, 'a path through a drive-relative directory link')
        await kernel.closeHandle(through.handle)
      })
      t.deepEqual(faults, [], 'no handler misbehaved')
    })
  }

  // Both backends report each file's descriptor from its uid, gid and mode
  // (crates/core/src/windows/security.rs), read back here through the driver double as a
  // Windows program sees it (SDDL as Windows writes it: well-known SIDs as their aliases, the
  // masks of FILE_GENERIC_READ and FILE_ALL_ACCESS as FR and FA, and a mask of low bits only as
  // the letters of directory-service rights: 0x26 as DCLCWP, 0x20 as WP). The same
  // expectations run for each backend, so the two cannot drift apart.
  test.serial(`${backend}: every file reports a descriptor from its uid, gid and mode`, async (t) => {
    const owned = [
      { path: '/system.txt', uid: 18, gid: 544, mode: 0o640 },
      { path: '/odd.txt', uid: 18, gid: 545, mode: 0o467 },
      { path: '/shared', directory: true, uid: 544, gid: 545, mode: 0o1777 },
      { path: '/private', directory: true, uid: 18, gid: 18, mode: 0o700 },
    ]
    await withMount(t, { kind: 'memfs', owned, withoutSecurity: true }, {}, undefined, async (kernel) => {
      const expected: [string, string][] = [
        ['\\system.txt', 'O:SYG:BAD:P(A;;0x1f019f;;;SY)(A;;FR;;;BA)(A;;0x120088;;;WD)'],
        [
          '\\odd.txt',
          'O:SYG:BUD:P(A;;0x1f0199;;;SY)(D;;DCLCWP;;;SY)(A;;0x12018f;;;BU)(D;;WP;;;BU)(A;;0x1201af;;;WD)',
        ],
        ['\\shared', 'O:BAG:BUD:P(A;;FA;;;BA)(A;;0x1201af;;;BU)(A;;0x1201af;;;WD)'],
        ['\\private', 'O:SYG:SYD:P(A;;FA;;;SY)(A;;0x120088;;;SY)(A;;0x120088;;;WD)'],
      ]
      for (const [path, sddl] of expected) {
        const opened = await kernel.create(path, { access: ACCESS.READ_CONTROL, disposition: 'open' })
        check(t, opened.status, STATUS.SUCCESS, `opening ${path} to read its security`)
        t.deepEqual(await kernel.security(opened.handle), { status: STATUS.SUCCESS, sddl }, path)
        t.deepEqual(
          await kernel.security(opened.handle, 0x4),
          { status: STATUS.SUCCESS, sddl: sddl.slice(sddl.indexOf('D:')) },
          `${path}, its DACL alone`,
        )
        await kernel.closeHandle(opened.handle)
      }

      // What the filesystem leaves at uid and gid 0 (memfs's own files, and what it creates
      // for a Windows caller) belongs to the user who mounted, so it stays theirs to use.
      const dir = await kernel.create('\\mine', { disposition: 'create', options: FILE.DIRECTORY_FILE })
      check(t, dir.status, STATUS.SUCCESS, 'creating a directory')
      const file = await kernel.create('\\mine\\file.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
      check(t, file.status, STATUS.SUCCESS, 'creating a file in it')
      check(t, (await kernel.write(file.handle, 0, 'mine')).status, STATUS.SUCCESS, 'writing it')
      const root = await kernel.create('\\', { access: ACCESS.READ, disposition: 'open', options: FILE.DIRECTORY_FILE })
      check(t, root.status, STATUS.SUCCESS, 'opening the root')
      const rootSddl = (await kernel.security(root.handle)).sddl
      const mounter = /^O:(S-1-5-21-[0-9-]+)G:(S-1-5-21-[0-9-]+)D:/.exec(rootSddl)
      t.truthy(mounter, `the root belongs to the mounting user and their primary group: ${rootSddl}`)
      const [, user, group] = mounter ?? ['', '', '']
      const mine: [string, number, string][] = [
        ['the root', root.handle, `O:${user}G:${group}D:P(A;;FA;;;${user})(A;;0x1200a9;;;${group})(A;;0x1200a9;;;WD)`],
        ['a directory made through Windows', dir.handle, `O:${user}G:${group}D:P(A;;FA;;;${user})(A;;0x1200a9;;;${group})(A;;0x1200a9;;;WD)`],
        ['a file made through Windows', file.handle, `O:${user}G:${group}D:P(A;;0x1f019f;;;${user})(A;;FR;;;${group})(A;;FR;;;WD)`],
      ]
      for (const [what, handle, sddl] of mine) {
        t.deepEqual(await kernel.security(handle), { status: STATUS.SUCCESS, sddl }, what)
        await kernel.closeHandle(handle)
      }

      // Without setSecurity the volume keeps no ACLs and does not claim to. The descriptor
      // from the mode is still enforced (by WinFsp), so a change that would be lost is refused
      // (Dokan's library passes every refusal on as STATUS_INVALID_PARAMETER), and one that
      // asks for what the directory has succeeds.
      t.is(((await kernel.volume()).volume?.fsflags ?? 0) & 0x8, 0, 'no FILE_PERSISTENT_ACLS without setSecurity')
      const changing = await kernel.create('\\mine', { access: ACCESS.READ | 0x00040000, disposition: 'open', options: FILE.DIRECTORY_FILE })
      check(t, changing.status, STATUS.SUCCESS, 'opening a directory with WRITE_DAC')
      check(
        t,
        await kernel.setSecurity(changing.handle, 0x4, 'D:(D;;FR;;;WD)'),
        backend === 'winfsp' ? STATUS.NOT_SUPPORTED : STATUS.INVALID_PARAMETER,
        'a change without setSecurity',
      )
      t.deepEqual(await kernel.security(changing.handle), { status: STATUS.SUCCESS, sddl: mine[1][2] }, 'the directory keeps its descriptor')
      check(
        t,
        await kernel.setSecurity(changing.handle, 0x4, mine[1][2].slice(mine[1][2].indexOf('D:'))),
        STATUS.SUCCESS,
        'a change to the DACL the directory has, without setSecurity',
      )
      await kernel.closeHandle(changing.handle)
    })
  })

  // A filesystem that keeps descriptors (memfs with getSecurity and setSecurity): a program's
  // change reaches setSecurity merged into the whole descriptor, reads back as set, and the
  // volume says it keeps ACLs. A file created through Windows gets its directory's inheritable
  // ACEs, after the ones its creator asked for.
  test.serial(`${backend}: getSecurity and setSecurity keep what Windows sets`, async (t) => {
    await withMount(t, { kind: 'memfs' }, {}, undefined, async (kernel) => {
      const volume = await kernel.volume()
      t.is((volume.volume?.fsflags ?? 0) & 0x8, 0x8, 'FILE_PERSISTENT_ACLS')
      const dir = await kernel.create('\\kept', {
        access: ACCESS.READ_WRITE_DELETE | 0x000c0000,
        disposition: 'create',
        options: FILE.DIRECTORY_FILE,
      })
      check(t, dir.status, STATUS.SUCCESS, 'creating a directory')
      const before = (await kernel.security(dir.handle)).sddl
      const owner = before.slice(0, before.indexOf('G:'))
      const group = before.slice(before.indexOf('G:'), before.indexOf('D:'))
      t.regex(owner, /^O:S-1-5-21-[0-9-]+$/, `the creator owns it: ${before}`)

      const dacl = 'D:(A;OICI;FA;;;WD)(A;OICI;FR;;;BU)'
      check(t, await kernel.setSecurity(dir.handle, 0x4, dacl), STATUS.SUCCESS, 'setting the DACL')
      t.deepEqual(await kernel.security(dir.handle), { status: STATUS.SUCCESS, sddl: `${owner}${group}${dacl}` }, 'the DACL changed, the owner and group stayed')
      check(t, await kernel.setSecurity(dir.handle, 0x1, 'O:SY'), STATUS.SUCCESS, 'setting the owner')
      t.deepEqual(await kernel.security(dir.handle), { status: STATUS.SUCCESS, sddl: `O:SY${group}${dacl}` }, 'the owner changed, the rest stayed')

      const child = await kernel.create('\\kept\\child.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
      check(t, child.status, STATUS.SUCCESS, 'creating a file in it')
      t.deepEqual(
        await kernel.security(child.handle),
        { status: STATUS.SUCCESS, sddl: `${owner}${group}D:AI(A;ID;FA;;;WD)(A;ID;FR;;;BU)` },
        "the new file is its creator's, with its directory's inheritable ACEs",
      )
      const sub = await kernel.create('\\kept\\sub', { disposition: 'create', options: FILE.DIRECTORY_FILE })
      check(t, sub.status, STATUS.SUCCESS, 'creating a directory in it')
      t.deepEqual(
        await kernel.security(sub.handle, 0x4),
        { status: STATUS.SUCCESS, sddl: 'D:AI(A;OICIID;FA;;;WD)(A;OICIID;FR;;;BU)' },
        'a new directory inherits the ACEs and passes them on',
      )
      const asked = await kernel.create('\\kept\\asked.txt', {
        disposition: 'create',
        options: FILE.NON_DIRECTORY_FILE,
        sddl: 'O:BAD:(A;;FA;;;SY)',
      })
      check(t, asked.status, STATUS.SUCCESS, 'creating a file with a descriptor of its own')
      t.deepEqual(
        await kernel.security(asked.handle),
        { status: STATUS.SUCCESS, sddl: `O:BA${group}D:AI(A;;FA;;;SY)(A;ID;FA;;;WD)(A;ID;FR;;;BU)` },
        'what the creator asked comes first, then what the directory passes on',
      )

      // Audit ACEs and the mandatory label live in the system ACL, which is not kept: a change
      // that sets them is refused, whole (Dokan's library passes every refusal on as
      // STATUS_INVALID_PARAMETER), and one with an empty system ACL goes ahead.
      const unkept = backend === 'winfsp' ? STATUS.NOT_SUPPORTED : STATUS.INVALID_PARAMETER
      check(t, await kernel.setSecurity(dir.handle, 0x10, 'S:(ML;;NW;;;LW)'), unkept, 'setting a mandatory label')
      check(t, await kernel.setSecurity(dir.handle, 0x14, 'D:(A;;FA;;;WD)S:(ML;;NW;;;LW)'), unkept, 'a DACL with a label')
      if (backend === 'dokan') {
        // A SACL needs ACCESS_SYSTEM_SECURITY on the handle. WinFsp checks the open against the
        // caller's token, which under Wine has no SeSecurityPrivilege enabled, so there it is
        // the engine's unit tests that set one; Dokan leaves opens to the file system.
        const auditing = await kernel.create('\\kept', {
          access: ACCESS.READ_CONTROL | 0x00040000 | 0x01000000,
          disposition: 'open',
          options: FILE.DIRECTORY_FILE,
        })
        check(t, auditing.status, STATUS.SUCCESS, 'opening the directory with ACCESS_SYSTEM_SECURITY')
        check(t, await kernel.setSecurity(auditing.handle, 0x8, 'S:(AU;SA;FA;;;WD)'), unkept, 'setting an audit ACE')
        check(t, await kernel.setSecurity(auditing.handle, 0xc, 'D:(A;;FA;;;WD)S:(AU;SA;FA;;;WD)'), unkept, 'a DACL with an audit ACE')
        await kernel.closeHandle(auditing.handle)
      }
      t.deepEqual(await kernel.security(dir.handle), { status: STATUS.SUCCESS, sddl: `O:SY${group}${dacl}` }, 'nothing of a refused change is kept')
      check(t, await kernel.setSecurity(dir.handle, 0x14, 'D:(A;;FA;;;WD)S:'), STATUS.SUCCESS, 'a DACL with an empty system ACL')
      t.deepEqual(await kernel.security(dir.handle), { status: STATUS.SUCCESS, sddl: `O:SY${group}D:(A;;FA;;;WD)` }, 'the DACL changed')
      for (const handle of [asked.handle, sub.handle, child.handle, dir.handle]) await kernel.closeHandle(handle)
    })
  })

  // CREATOR OWNER and CREATOR GROUP stand for whoever creates a file: a new file gets the ACE
  // for its own owner and group, and a new directory passes the placeholder on as well.
  test.serial(`${backend}: inherited CREATOR OWNER and CREATOR GROUP ACEs name the new file's owner and group`, async (t) => {
    await withMount(t, { kind: 'memfs' }, {}, undefined, async (kernel) => {
      const dir = await kernel.create('\\shared', {
        access: ACCESS.READ_WRITE_DELETE | 0x000c0000,
        disposition: 'create',
        options: FILE.DIRECTORY_FILE,
      })
      check(t, dir.status, STATUS.SUCCESS, 'creating a directory')
      // Everyone may create in it (WinFsp checks); the placeholders apply to its children only.
      // Generic rights in effect are mapped (GA to FA), and passed on as they were.
      const dacl = 'D:(A;;FA;;;WD)(A;OICIIO;GA;;;CO)(A;OICIIO;FR;;;CG)(A;OICI;GR;;;WD)'
      check(t, await kernel.setSecurity(dir.handle, 0x4, dacl), STATUS.SUCCESS, 'setting the DACL')
      const file = await kernel.create('\\shared\\file.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
      check(t, file.status, STATUS.SUCCESS, 'creating a file in it')
      const fileSddl = (await kernel.security(file.handle)).sddl
      const owned = /^O:(S-1-5-21-[0-9-]+)G:(S-1-5-21-[0-9-]+)D:/.exec(fileSddl)
      t.truthy(owned, `the new file is its creator's: ${fileSddl}`)
      const [, user, group] = owned ?? ['', '', '']
      t.is(fileSddl, `O:${user}G:${group}D:AI(A;ID;FA;;;${user})(A;ID;FR;;;${group})(A;ID;FR;;;WD)`, 'the file names its owner and group')
      const sub = await kernel.create('\\shared\\sub', { disposition: 'create', options: FILE.DIRECTORY_FILE })
      check(t, sub.status, STATUS.SUCCESS, 'creating a directory in it')
      t.deepEqual(
        await kernel.security(sub.handle, 0x4),
        {
          status: STATUS.SUCCESS,
          sddl: `D:AI(A;ID;FA;;;${user})(A;OICIIOID;GA;;;CO)(A;ID;FR;;;${group})(A;OICIIOID;FR;;;CG)(A;ID;FR;;;WD)(A;OICIIOID;GR;;;WD)`,
        },
        'the subdirectory names its owner and group, maps generic rights, and passes the placeholders and generic rights on',
      )
      for (const handle of [sub.handle, file.handle, dir.handle]) await kernel.closeHandle(handle)
    })
  })

  // WinFsp checks every open against the descriptor (its DLL's FspAccessCheck, which the double
  // runs with the caller's token); Dokan's driver leaves access to the file system, and mountkit
  // leaves it to the handlers, so there the descriptor is what programs read, not a gate.
  test.serial(`${backend}: ${backend === 'winfsp' ? 'opens are checked against' : 'opens are not checked against'} the mode`, async (t) => {
    const owned = [{ path: '/system.txt', uid: 18, gid: 18, mode: 0o600 }]
    await withMount(t, { kind: 'memfs', owned }, {}, undefined, async (kernel) => {
      const read = await kernel.create('\\system.txt', { access: ACCESS.READ, disposition: 'open' })
      check(t, read.status, backend === 'winfsp' ? STATUS.ACCESS_DENIED : STATUS.SUCCESS, 'reading a file only SYSTEM may read')
      if (read.status === STATUS.SUCCESS) await kernel.closeHandle(read.handle)
      const attributes = await kernel.create('\\system.txt', { access: 0x00000080, disposition: 'open' })
      check(t, attributes.status, STATUS.SUCCESS, 'reading its attributes, which everyone may')
      await kernel.closeHandle(attributes.handle)
    })
  })

  test.serial(`${backend}: without defaultPermissions every file reports the fixed, permissive descriptor`, async (t) => {
    const dacl = 'D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)'
    const owned = [{ path: '/system.txt', uid: 18, gid: 18, mode: 0o600 }]
    await withMount(t, { kind: 'memfs', owned, withoutSecurity: true }, { defaultPermissions: false }, undefined, async (kernel) => {
      const file = await kernel.create('\\system.txt', { access: ACCESS.READ | 0x00040000, disposition: 'open' })
      check(t, file.status, STATUS.SUCCESS, 'reading a file only SYSTEM could read with its own descriptor')
      // Nothing is enforced, so a change is dropped and succeeds, as on FAT.
      check(t, await kernel.setSecurity(file.handle, 0x4, 'D:(D;;FR;;;WD)'), STATUS.SUCCESS, 'a change of the fixed descriptor')
      const root = await kernel.create('\\', { access: ACCESS.READ, disposition: 'open', options: FILE.DIRECTORY_FILE })
      check(t, root.status, STATUS.SUCCESS, 'opening the root')
      for (const [what, handle] of [['the root', root.handle], ['a file', file.handle]] as const) {
        t.deepEqual(await kernel.security(handle), { status: STATUS.SUCCESS, sddl: `O:BAG:BA${dacl}` }, what)
        await kernel.closeHandle(handle)
      }
    })
  })

  test.serial(`${backend}: a read-only volume reads, and refuses every change`, async (t) => {
    const source = await mkdtemp(join(tmpdir(), 'mountkit-wine-readonly-'))
    t.teardown(() => rm(source, { recursive: true, force: true }))
    await mkdir(join(source, 'dir'))
    await writeFile(join(source, 'existing.txt'), 'kept as it was')
    const mirror = { kind: 'mirror', source: windowsPath(source) } as const
    await withMount(t, mirror, { readOnly: true }, undefined, async (kernel) => {
      const refused = (status: number, what: string) => check(t, status, STATUS.MEDIA_WRITE_PROTECTED, what)
      const file = { options: FILE.NON_DIRECTORY_FILE }
      refused((await kernel.create('\\new.txt', { ...file, disposition: 'create' })).status, 'creating a file')
      refused((await kernel.create('\\newdir', { disposition: 'create', options: FILE.DIRECTORY_FILE })).status, 'creating a directory')
      refused((await kernel.create('\\existing.txt', { ...file, disposition: 'overwrite' })).status, 'overwriting')
      refused((await kernel.create('\\existing.txt', { ...file, disposition: 'supersede' })).status, 'superseding')
      refused(
        (await kernel.create('\\existing.txt', { ...file, disposition: 'open', access: ACCESS.METADATA, options: FILE.DELETE_ON_CLOSE })).status,
        'opening delete-on-close',
      )

      // Opens that change nothing by themselves succeed; what would change the volume through
      // them is refused when it comes. MAXIMUM_ALLOWED gets what a read-only medium allows.
      for (const access of [ACCESS.READ_WRITE_DELETE, ACCESS.MAXIMUM_ALLOWED]) {
        const open = await kernel.create('\\existing.txt', { ...file, disposition: 'open', access })
        check(t, open.status, STATUS.SUCCESS, `opening with access 0x${access.toString(16)}`)
        t.is((await kernel.read(open.handle, 0, 64)).data.toString(), 'kept as it was')
        refused((await kernel.write(open.handle, 0, 'changed')).status, 'writing')
        refused(await kernel.setEof(open.handle, 0), 'setting the end of file')
        refused(await kernel.setBasic(open.handle, { written: 132_000_000_000_000_000n }), 'setting times')
        refused(await kernel.rename(open.handle, '\\renamed.txt', false), 'renaming')
        refused(await kernel.setDelete(open.handle, true), 'deleting')
        await kernel.closeHandle(open.handle)
      }
      refused(await kernel.setLabel('changed'), 'setting the label')
      const root = await kernel.create('\\', { access: ACCESS.READ, disposition: 'open', options: FILE.DIRECTORY_FILE })
      check(t, root.status, STATUS.SUCCESS, 'opening the root for reading')
      t.deepEqual(
        (await kernel.listAll(root.handle)).entries.map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort(),
        ['dir', 'existing.txt'],
      )
      await kernel.closeHandle(root.handle)
    })
    t.is(await readFile(join(source, 'existing.txt'), 'utf8'), 'kept as it was', 'the source is untouched')
    t.deepEqual((await readdir(source)).sort(), ['dir', 'existing.txt'])
  })

  // Each change reaches the driver as the notification the backend sends for it
  // (crates/core/src/windows/notify.rs, crates/dokan/src/notify.rs), read back from the double
  // as a directory watcher would receive it.
  test.serial(`${backend}: notify, invalidate and invalidateEntry report Windows change notifications`, async (t) => {
    const s = running()
    // DokanNotifyUpdate, the only Dokan call for a modification, reports attributes alone.
    const modified = backend === 'winfsp' ? NOTIFY.ATTRIBUTES | NOTIFY.SIZE | NOTIFY.LAST_WRITE : NOTIFY.ATTRIBUTES
    const note = (path: string, action: number, filter: number): Notification => ({ path, action, filter })
    await withMount(t, { kind: 'memfs' }, {}, undefined, async (kernel) => {
      const reported = async (what: string, call: () => Promise<void>, expected: Notification[]) => {
        await call()
        const { status, notifications } = await kernel.notifications()
        check(t, status, STATUS.SUCCESS, `reading the notifications of ${what}`)
        t.deepEqual(notifications, expected, what)
      }
      t.deepEqual((await kernel.notifications()).notifications, [], 'nothing was reported before')
      await reported('a created file', () => s.notify({ created: '/docs/new.txt' }), [
        note('\\docs\\new.txt', NOTIFY.ADDED, NOTIFY.FILE_NAME),
      ])
      await reported('a created directory', () => s.notify({ created: '/docs/sub', directory: true }), [
        note('\\docs\\sub', NOTIFY.ADDED, NOTIFY.DIR_NAME),
      ])
      await reported('a deleted file', () => s.notify({ deleted: '/docs/old.txt' }), [
        note('\\docs\\old.txt', NOTIFY.REMOVED, NOTIFY.FILE_NAME),
      ])
      await reported('a deleted directory', () => s.notify({ deleted: '/gone', directory: true }), [
        note('\\gone', NOTIFY.REMOVED, NOTIFY.DIR_NAME),
      ])
      await reported('a rename within a directory', () => s.notify({ renamed: ['/docs/a.txt', '/docs/b.txt'] }), [
        note('\\docs\\a.txt', NOTIFY.RENAMED_OLD_NAME, NOTIFY.FILE_NAME),
        note('\\docs\\b.txt', NOTIFY.RENAMED_NEW_NAME, NOTIFY.FILE_NAME),
      ])
      await reported('a move to another directory', () => s.notify({ renamed: ['/docs/b.txt', '/other/b.txt'] }), [
        note('\\docs\\b.txt', NOTIFY.REMOVED, NOTIFY.FILE_NAME),
        note('\\other\\b.txt', NOTIFY.ADDED, NOTIFY.FILE_NAME),
      ])
      await reported('a changed file', () => s.notify({ changed: '/other/b.txt' }), [
        note('\\other\\b.txt', NOTIFY.MODIFIED, modified),
      ])
      await reported('invalidate', () => s.invalidate('/other/b.txt', false), [note('\\other\\b.txt', NOTIFY.MODIFIED, modified)])
      await reported('invalidate of the root', () => s.invalidate('/', false), [note('\\', NOTIFY.MODIFIED, modified)])
      await reported('invalidateEntry, as a change of the directory', () => s.invalidate('/other/b.txt', true), [
        note('\\other', NOTIFY.MODIFIED, modified),
      ])
      await reported('invalidateEntry of the root, which has no name', () => s.invalidate('/', true), [])
      await t.throwsAsync(s.notify({ created: 'docs/x' }), { message: /mount-relative path/ })
      await t.throwsAsync(s.notify({ deleted: '/' }), { message: /root/ })
      t.deepEqual((await kernel.notifications()).notifications, [], 'a refused change reports nothing')
    })
  })

  /**
   * Mounts memfs on `mountpoint` for the length of `body`, which gets the mount point the mount
   * reports and a calling thread into the volume; unmounts however `body` ends.
   */
  async function withMountAt(
    mountpoint: string,
    options: Parameters<WineServer['mount']>[2],
    body: (kernel: Kernel, reported: string) => Promise<void>,
  ): Promise<void> {
    const s = running()
    const mounted = await s.mount(mountpoint, { kind: 'memfs' }, { backend, ...options })
    const kernel = await s.kernel()
    try {
      await body(kernel, mounted.mountpoint)
    } finally {
      kernel.disconnect()
      await s.unmount()
    }
  }

  /** Creates `\name` with `text` in it and reads it back through a new handle. */
  async function servesAFile(t: ExecutionContext, kernel: Kernel, name: string, text: string): Promise<void> {
    const created = await kernel.create(`\\${name}`, { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
    check(t, created.status, STATUS.SUCCESS, `creating ${name}`)
    check(t, (await kernel.write(created.handle, 0, text)).status, STATUS.SUCCESS, `writing ${name}`)
    await kernel.closeHandle(created.handle)
    const opened = await kernel.create(`\\${name}`, { access: ACCESS.READ, disposition: 'open', options: FILE.NON_DIRECTORY_FILE })
    check(t, opened.status, STATUS.SUCCESS, `opening ${name} again`)
    t.is((await kernel.read(opened.handle, 0, 64)).data.toString(), text, `${name} reads back`)
    await kernel.closeHandle(opened.handle)
  }

  /** The volume information the driver reports, failing the test when the query fails. */
  async function volumeOf(t: ExecutionContext, kernel: Kernel): Promise<VolumeInformation> {
    const { status, volume } = await kernel.volume()
    check(t, status, STATUS.SUCCESS, 'querying the volume')
    if (volume === undefined) throw new Error('the volume query answered no information')
    return volume
  }

  /** How both backends report a drive: `M:`, as users write it (Dokan's library says `M:\`). */
  const drive = (letter: string): string => `${letter}:`

  test.serial(`${backend}: a drive letter mounts in every spelling, and the volume label and drive type read back`, async (t) => {
    for (const spelling of ['M:', 'm', 'M:\\']) {
      await withMountAt(spelling, { volumeLabel: 'Team Files' }, async (kernel, reported) => {
        t.is(reported, drive('M'), `the mount reports M: for ${spelling}`)
        const volume = await volumeOf(t, kernel)
        t.is(volume.mountpoint, 'M:', `the driver has the volume on M: for ${spelling}`)
        t.is(volume.label, 'Team Files')
        t.is(volume.drivetype, 'fixed')
        t.is(volume.unc, '')
        await servesAFile(t, kernel, 'drive.txt', `on ${spelling}`)
      })
    }
  })

  test.serial(`${backend}: '*' takes the highest free drive letter and reports it`, async (t) => {
    // Wine's drives are the prefix's dosdevices links (c:, z:); the backend must skip them as
    // WinFsp's own '*' does, from Z: down to D:.
    const wineDrives = new Set((await readdir(join(ready().dir, 'dosdevices'))).map((name) => name.toUpperCase()))
    const [expected, next] = [...'ZYXWVUTSRQPONMLKJIHGFED'].filter((letter) => !wineDrives.has(`${letter}:`))
    if (next === undefined) throw new Error(`the Wine prefix leaves fewer than two drive letters: ${[...wineDrives].join(' ')}`)
    for (const spelling of ['*', '*:']) {
      await withMountAt(spelling, {}, async (kernel, reported) => {
        t.is(reported, drive(expected), `'${spelling}' took ${expected}:`)
        t.is((await volumeOf(t, kernel)).mountpoint, `${expected}:`, 'the driver has the volume on that letter')
        await servesAFile(t, kernel, 'any-letter.txt', 'served on the next free letter')
      })
    }
    // A second '*' while the first is mounted. WinFsp's '*' skips a taken letter itself. For
    // Dokan the backend picks: Windows' drive list still shows the first letter free (the
    // double's volumes are not Wine's drives), as when another program takes a letter between
    // the look and the mount, so Dokan refuses it and the backend tries the next.
    await withMountAt('*', {}, async (_kernel, first) => {
      t.is(first, drive(expected))
      const second = await running().mountSecond('*', { backend })
      try {
        t.is(second, drive(next), `the second '*' took ${next}:`)
      } finally {
        await running().unmountSecond()
      }
    })
  })

  test.serial(`${backend}: a folder mounts as the backend requires it, and the wrong folder is refused saying why`, async (t) => {
    const base = await mkdtemp(join(tmpdir(), 'mountkit-wine-folder-'))
    t.teardown(() => rm(base, { recursive: true, force: true }))
    const folder = join(base, 'mounted')
    // WinFsp creates the mount folder itself; Dokan mounts on an existing, empty one.
    if (backend === 'dokan') await mkdir(folder)
    await withMountAt(windowsPath(folder), {}, async (kernel, reported) => {
      t.is(reported, windowsPath(folder), 'the folder, spelled as asked, without a trailing backslash')
      t.is((await volumeOf(t, kernel)).mountpoint.toUpperCase(), windowsPath(folder).toUpperCase())
      await servesAFile(t, kernel, 'in-folder.txt', 'served on a folder')
    })
    const refused = { code: 'EMOUNTPOINT' }
    if (backend === 'winfsp') {
      await mkdir(join(base, 'existing'))
      await t.throwsAsync(running().mount(windowsPath(join(base, 'existing')), { kind: 'memfs' }, { backend }), {
        ...refused,
        message: /already exists\. WinFsp creates the mount folder itself, so it must not exist yet/,
      })
      await t.throwsAsync(running().mount(windowsPath(join(base, 'no', 'parent')), { kind: 'memfs' }, { backend }), {
        ...refused,
        message: /parent of the mount folder does not exist/,
      })
    } else {
      await t.throwsAsync(running().mount(windowsPath(join(base, 'missing')), { kind: 'memfs' }, { backend }), {
        ...refused,
        message: /must be an existing, empty folder/,
      })
      await mkdir(join(base, 'full'))
      await writeFile(join(base, 'full', 'file.txt'), 'x')
      await t.throwsAsync(running().mount(windowsPath(join(base, 'full')), { kind: 'memfs' }, { backend }), {
        ...refused,
        message: /must be an existing, empty folder/,
      })
    }
    await t.throwsAsync(running().mount(windowsPath(join(base, 'net')), { kind: 'memfs' }, { backend, driveType: 'network' }), {
      code: 'EOPTION',
      message: /a network drive cannot be mounted on the folder/,
    })
  })

  test.serial(`${backend}: a network share \\\\server\\share mounts with that UNC name`, async (t) => {
    await withMountAt('\\\\files\\team', { volumeLabel: 'team' }, async (kernel, reported) => {
      const volume = await volumeOf(t, kernel)
      t.is(volume.unc, '\\files\\team', 'the driver serves the share under its name')
      t.is(volume.drivetype, 'network')
      if (backend === 'winfsp') {
        // WinFsp serves a share by its UNC path alone.
        t.is(reported, '\\\\files\\team')
        t.is(volume.mountpoint, '', 'no drive letter')
      } else {
        // Dokan serves a network volume only on a drive letter, and takes the next free one.
        t.regex(reported, /^[D-Y]:$/)
        t.is(volume.mountpoint, reported)
      }
      t.is(volume.label, 'team')
      await servesAFile(t, kernel, 'shared.txt', 'served on a share')
    })
    // `net use M: \\files\team`: the share on a drive letter of the user's choice.
    await withMountAt('\\\\files\\team', { driveLetter: 'M:' }, async (kernel, reported) => {
      t.is(reported, drive('M'), 'the mount reports the letter it is on')
      const volume = await volumeOf(t, kernel)
      t.is(volume.mountpoint, 'M:')
      t.is(volume.unc, '\\files\\team')
      t.is(volume.drivetype, 'network')
      await servesAFile(t, kernel, 'lettered.txt', 'served on a share with a letter')
    })
    await t.throwsAsync(running().mount('M:', { kind: 'memfs' }, { backend, driveLetter: 'N:' }), {
      code: 'EOPTION',
      message: /driveLetter goes with a network share mount point/,
    })
    await withMountAt('\\\\files\\readonly', { readOnly: true }, async (kernel) => {
      const volume = await volumeOf(t, kernel)
      t.is(volume.unc, '\\files\\readonly')
      t.not(volume.fsflags & FILE_READ_ONLY_VOLUME, 0, 'a read-only share says so')
      const created = await kernel.create('\\new.txt', { disposition: 'create', options: FILE.NON_DIRECTORY_FILE })
      check(t, created.status, STATUS.MEDIA_WRITE_PROTECTED, 'creating a file on a read-only share')
    })
    // Dokan's library copies the UNC name into 64 UTF-16 units and ends the process when it
    // does not fit, so a longer share is refused first; WinFsp's prefix holds 191.
    const longShare = `\\\\files\\${'s'.repeat(60)}`
    if (backend === 'dokan') {
      await t.throwsAsync(running().mount(longShare, { kind: 'memfs' }, { backend }), {
        code: 'EOPTION',
        message: /Dokan takes UNC names of at most 63 characters/,
      })
    } else {
      await withMountAt(longShare, {}, async (kernel) => {
        t.is((await volumeOf(t, kernel)).unc, longShare.slice(1))
      })
    }
    for (const invalid of ['\\\\files', '\\\\files\\team\\docs']) {
      await t.throwsAsync(running().mount(invalid, { kind: 'memfs' }, { backend }), {
        code: 'EMOUNTPOINT',
        message: /network share written \\\\server\\share \(exactly two parts\)/,
      })
    }
  })

  test.serial(`${backend}: driveType network and removable present the volume as documented`, async (t) => {
    await withMountAt('M:', { driveType: 'network', volumeLabel: 'My Files' }, async (kernel) => {
      const volume = await volumeOf(t, kernel)
      t.is(volume.drivetype, 'network')
      // The UNC name a network drive gets when no share is named.
      t.is(volume.unc, backend === 'winfsp' ? '\\mountkit\\M' : '\\mountkit\\My_Files')
      t.is(volume.mountpoint, 'M:')
      await servesAFile(t, kernel, 'network.txt', 'served on a network drive')
    })
    if (backend === 'winfsp') {
      await t.throwsAsync(running().mount('M:', { kind: 'memfs' }, { backend, driveType: 'removable' }), {
        code: 'EOPTION',
        message: /WinFsp cannot present a removable drive/,
      })
    } else {
      await withMountAt('M:', { driveType: 'removable' }, async (kernel) => {
        t.is((await volumeOf(t, kernel)).drivetype, 'removable')
        await servesAFile(t, kernel, 'removable.txt', 'served on a removable drive')
      })
    }
  })

  // Browsers write `file:Zone.Identifier` next to every download, and copy programs carry
  // streams along: neither backend stores named streams, so the volume does not advertise
  // FILE_NAMED_STREAMS (which those programs check before they try) and refuses stream names
  // as a FAT volume does, with STATUS_OBJECT_NAME_INVALID (ERROR_INVALID_NAME).
  test.serial(`${backend}: named streams are refused as on a FAT volume, and the file is untouched`, async (t) => {
    await withMountAt('M:', {}, async (kernel) => {
      t.is((await volumeOf(t, kernel)).fsflags & FILE_NAMED_STREAMS, 0, 'FILE_NAMED_STREAMS is not advertised')
      await servesAFile(t, kernel, 'download.txt', 'the download')
      for (const disposition of ['create', 'open-if', 'open', 'overwrite-if'] as const) {
        const stream = await kernel.create('\\download.txt:Zone.Identifier', { disposition, options: FILE.NON_DIRECTORY_FILE })
        check(t, stream.status, STATUS.OBJECT_NAME_INVALID, `the named stream, disposition ${disposition}`)
      }
      const typed = await kernel.create('\\download.txt:Zone.Identifier:$DATA', { disposition: 'open-if', options: FILE.NON_DIRECTORY_FILE })
      check(t, typed.status, STATUS.OBJECT_NAME_INVALID, 'the named stream with its type')
      const unnamed = await kernel.create('\\download.txt::$DATA', { access: ACCESS.READ, disposition: 'open', options: FILE.NON_DIRECTORY_FILE })
      if (backend === 'dokan') {
        // Dokan passes stream syntax on, and the backend opens the file for its unnamed stream.
        check(t, unnamed.status, STATUS.SUCCESS, 'the unnamed stream, file::$DATA')
        t.is((await kernel.read(unnamed.handle, 0, 64)).data.toString(), 'the download')
        await kernel.closeHandle(unnamed.handle)
      } else {
        // WinFsp's driver refuses every name with a colon on a volume without named streams.
        check(t, unnamed.status, STATUS.OBJECT_NAME_INVALID, 'file::$DATA on WinFsp')
      }
      const file = await kernel.create('\\download.txt', { access: ACCESS.READ, disposition: 'open', options: FILE.NON_DIRECTORY_FILE })
      check(t, file.status, STATUS.SUCCESS, 'opening the file after the refused streams')
      t.is((await kernel.read(file.handle, 0, 64)).data.toString(), 'the download', 'its content is unchanged')
      t.is((await kernel.query(file.handle)).info?.size, 'the download'.length)
      await kernel.closeHandle(file.handle)
      const root = await kernel.create('\\', { access: ACCESS.READ, disposition: 'open', options: FILE.DIRECTORY_FILE })
      t.deepEqual(
        (await kernel.listAll(root.handle)).entries.map((e) => e.name).filter((n) => n !== '.' && n !== '..'),
        ['download.txt'],
        'no file was made of the stream name',
      )
      await kernel.closeHandle(root.handle)
    })
  })
}

/** `FILE_NAMED_STREAMS`: the volume stores named streams. */
const FILE_NAMED_STREAMS = 0x0004_0000
/** `FILE_READ_ONLY_VOLUME`: the volume cannot be written. */
const FILE_READ_ONLY_VOLUME = 0x0008_0000
