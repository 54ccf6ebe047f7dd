#!/usr/bin/env node
// The `mountkit` command: mounts the examples, runs the demo, clears stale mounts and checks
// the machine. Exit codes: 0 ok, 1 failure, 2 usage error.
import { execFile } from 'node:child_process'
import { realpathSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { promisify } from 'node:util'
import type { Mount } from './mount'
import type { FileSystem, MountOptions } from './types'
import { formatFindings, isFuse, parseMountinfo, runDoctor } from './doctor'

type Library = typeof import('../index')

// Loaded on first use, not at startup: the library loads the native addon as it is imported,
// and `doctor` must still run (and report why) when the addon does not load.
function library(): Library {
  return require('../index') as Library
}

class UsageError extends Error {}

interface Command {
  usage: string
  summary: string
  help: string
  flags: string[]
  positionals: string[]
  run(args: string[], flags: Set<string>): Promise<number>
}

const COMMANDS: Record<string, Command> = {
  memfs: {
    usage: 'mountkit memfs <dir> [--allow-other] [--debug]',
    summary: 'mount an in-memory filesystem at <dir>',
    help: `Mounts the memfs example, an in-memory POSIX filesystem, at <dir> (an existing empty
directory) and serves it until Ctrl+C or SIGTERM, then unmounts. Its contents are lost then.

  --allow-other  let other users use the mount (as non-root this needs user_allow_other
                 in /etc/fuse.conf; see 'mountkit doctor')
  --debug        log every request and reply to stderr`,
    flags: ['--allow-other', '--debug'],
    positionals: ['dir'],
    async run([dir], flags) {
      const { createMemfs } = require('../examples/memfs') as typeof import('../examples/memfs')
      return serve(dir!, createMemfs(), mountOptions(flags), (at) => [
        `memfs mounted at ${at}. Try, from another terminal:`,
        `  echo hello > ${at}/hello.txt && cat ${at}/hello.txt`,
        `  mkdir ${at}/docs && ls -la ${at}`,
        `  df -h ${at}`,
        'Ctrl+C unmounts (the contents go with it).',
      ])
    },
  },
  mirror: {
    usage: 'mountkit mirror <source> <dir> [--read-only] [--debug]',
    summary: 'mirror the directory <source> at <dir>',
    help: `Mounts the mirror example at <dir>: a passthrough view of the directory <source>, which
never reaches outside it. Serves until Ctrl+C or SIGTERM, then unmounts.

  --read-only  refuse every change with EROFS
  --debug      log every request and reply to stderr`,
    flags: ['--read-only', '--debug'],
    positionals: ['source', 'dir'],
    async run([source, dir], flags) {
      const { createMirror } = require('../examples/mirror') as typeof import('../examples/mirror')
      const mirror = createMirror(source!)
      // A mount point inside the mirrored tree would make the mirror call into itself.
      const inside = relative(realpathSync(source!), resolve(dir!))
      if (inside === '' || !(inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))) {
        throw new Error(`the mount point ${dir} must not be inside the mirrored directory ${source}`)
      }
      return serve(dir!, mirror, mountOptions(flags), (at) => [
        `Mirroring ${resolve(source!)} at ${at}${flags.has('--read-only') ? ' (read-only)' : ''}.`,
        `Try: ls -la ${at}`,
        'Ctrl+C unmounts.',
      ])
    },
  },
  hello: {
    usage: 'mountkit hello <dir>',
    summary: 'mount the smallest example: one read-only file',
    help: `Mounts the hello example at <dir>: a read-only directory holding hello.txt. Serves until
Ctrl+C or SIGTERM, then unmounts.`,
    flags: [],
    positionals: ['dir'],
    async run([dir]) {
      const { hello } = require('../examples/hello') as typeof import('../examples/hello')
      return serve(dir!, hello, { readOnly: true }, (at) => [
        `hello mounted at ${at}. Try: cat ${at}/hello.txt`,
        'Ctrl+C unmounts.',
      ])
    },
  },
  demo: {
    usage: 'mountkit demo [--exit]',
    summary: 'mount memfs in a temporary directory and show it working',
    help: `Mounts memfs in a new temporary directory, works with it through ordinary file calls and
one external program (ls), printing each step, then stays mounted so you can try it yourself.
Ctrl+C unmounts and removes the directory.

  --exit  unmount and exit after the steps instead of waiting (for scripts and CI)`,
    flags: ['--exit'],
    positionals: [],
    run: (_, flags) => demo(flags.has('--exit')),
  },
  unmount: {
    usage: 'mountkit unmount <dir>',
    summary: 'unmount a FUSE filesystem, including a stale one left by a killed process',
    help: `Lazily unmounts the FUSE filesystem at <dir>: it leaves the directory tree at once, and
programs that still have files open there keep them until they close them. Also clears a
stale mount whose process died (where every access fails with "Transport endpoint is not
connected"). Only FUSE filesystems are touched.`,
    flags: [],
    positionals: ['dir'],
    run: ([dir]) => unmount(dir!),
  },
  doctor: {
    usage: 'mountkit doctor [--json]',
    summary: 'check that this machine can serve mounts, and say how to fix what is missing',
    help: `On Linux, checks the kernel, /dev/fuse, privileges, fusermount3, /etc/fuse.conf, the
native addon, the kernel's optional FUSE features and stale mounts. On Windows, checks the
native addon, WinFsp (installation, DLL, driver service entry, launcher service), Dokan 2, and
which of them backend 'auto' mounts with. Each finding says what was found, where that comes
from, and what to do. Exits 1 if any check fails.

  --json  print the findings as a JSON array of { check, title, status, found, source, fix? }`,
    flags: ['--json'],
    positionals: [],
    run: (_, flags) => doctor(flags.has('--json')),
  },
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length))
  const list = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return [
    'mountkit: user-mode filesystems for Node.js',
    '',
    'Usage: mountkit <command> [options]',
    '',
    ...list,
    '',
    "Run 'mountkit <command> --help' for a command's options.",
  ].join('\n')
}

/** Splits `args` into positionals and known flags; `--` ends the flags. */
function parse(command: Command, args: string[]): { positionals: string[]; flags: Set<string> } {
  const positionals: string[] = []
  const flags = new Set<string>()
  let flagsEnded = false
  for (const arg of args) {
    if (flagsEnded || !arg.startsWith('-') || arg === '-') positionals.push(arg)
    else if (arg === '--') flagsEnded = true
    else if (command.flags.includes(arg)) flags.add(arg)
    else throw new UsageError(`unknown option ${arg}`)
  }
  if (positionals.length < command.positionals.length) {
    throw new UsageError(`missing <${command.positionals[positionals.length]}>`)
  }
  if (positionals.length > command.positionals.length) {
    throw new UsageError(`unexpected argument ${positionals[command.positionals.length]}`)
  }
  return { positionals, flags }
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? args[0] : undefined
    const command = topic === undefined ? undefined : COMMANDS[topic]
    const text = command ? `Usage: ${command.usage}\n\n${command.help}` : mainHelp()
    if (name === undefined) {
      console.error(text)
      return 2
    }
    console.log(text)
    return 0
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    console.error(`mountkit: unknown command '${name}'\n\n${mainHelp()}`)
    return 2
  }
  const helpAt = args.findIndex((a) => a === '--help' || a === '-h')
  const endAt = args.indexOf('--')
  if (helpAt !== -1 && (endAt === -1 || helpAt < endAt)) {
    console.log(`Usage: ${command.usage}\n\n${command.help}`)
    return 0
  }
  let parsed
  try {
    parsed = parse(command, args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    console.error(`mountkit ${name}: ${error.message}\nUsage: ${command.usage}`)
    return 2
  }
  try {
    return await command.run(parsed.positionals, parsed.flags)
  } catch (error) {
    console.error(`mountkit ${name}: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  }
}

function mountOptions(flags: Set<string>): MountOptions {
  return {
    allowOther: flags.has('--allow-other'),
    readOnly: flags.has('--read-only'),
    debug: flags.has('--debug'),
  }
}

/** Resolves on the first Ctrl+C or SIGTERM. While it waits, those signals are ours to handle. */
function interrupted(): Promise<void> {
  return new Promise((done) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      done()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

async function serve(dir: string, fs: FileSystem, options: MountOptions, banner: (at: string) => string[]): Promise<number> {
  const m = await library().mount(dir, fs, options)
  m.on('error', (error: Error) => console.error(`mountkit: ${error.message}`))
  console.log(banner(m.mountpoint).join('\n'))
  await interrupted()
  await m.unmount()
  console.log(`Unmounted ${m.mountpoint}.`)
  return 0
}

async function demo(exitAfterSteps: boolean): Promise<number> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mountkit-demo-'))
  let m: Mount | undefined
  try {
    const { createMemfs } = require('../examples/memfs') as typeof import('../examples/memfs')
    m = await library().mount(dir, createMemfs())
    m.on('error', (error: Error) => console.error(`mountkit: ${error.message}`))
    // Listen from here on, so a Ctrl+C during the steps also ends in the cleanup below (a
    // second one falls to the library's handler, which unmounts and exits at once).
    const stop = interrupted()
    console.log(`Mounted memfs at ${dir}. Working with it through ordinary file calls:\n`)
    await demoSteps(dir)
    if (!exitAfterSteps) {
      console.log(`\nMounted at ${dir} — try it from another terminal; Ctrl+C unmounts`)
      await stop
    }
    return 0
  } finally {
    if (m !== undefined) {
      await m.unmount()
      console.log(`Unmounted ${dir}.`)
    }
    await fsp.rmdir(dir)
  }
}

// Every call here is asynchronous: this thread also serves the mount, so a synchronous call
// into it would wait for an answer only this thread can give (on Linux the library fails it
// EDEADLK; elsewhere it would wait for timeoutMs).
async function demoSteps(dir: string): Promise<void> {
  const at = (name: string) => join(dir, name)
  let count = 0
  const step = (text: string) => console.log(`${++count}. ${text}`)

  step('mkdir notes')
  await fsp.mkdir(at('notes'))

  step('write notes/draft.txt')
  await fsp.writeFile(at('notes/draft.txt'), 'Hello from mountkit.\n')

  step('append to notes/draft.txt')
  await fsp.appendFile(at('notes/draft.txt'), 'Served by TypeScript handlers through FUSE.\n')

  step('read notes/draft.txt')
  const text = await fsp.readFile(at('notes/draft.txt'), 'utf8')
  console.log(indent(text))

  step('rename notes/draft.txt -> notes/hello.txt')
  await fsp.rename(at('notes/draft.txt'), at('notes/hello.txt'))

  step('symlink latest -> notes/hello.txt, then read through it')
  await fsp.symlink('notes/hello.txt', at('latest'))
  if ((await fsp.readFile(at('latest'), 'utf8')) !== text) throw new Error('reading through the symlink gave different contents')
  console.log('    same contents as notes/hello.txt')

  step('list . and notes: mode, size, name')
  for (const where of ['.', 'notes']) {
    console.log(`  ${where}:`)
    for (const name of (await fsp.readdir(at(where))).sort()) {
      const info = await fsp.lstat(at(join(where, name)))
      const target = info.isSymbolicLink() ? ` -> ${await fsp.readlink(at(join(where, name)))}` : ''
      console.log(`    ${modeString(info)} ${String(info.size).padStart(6)}  ${name}${target}`)
    }
  }

  step(`ls -la ${dir}   (another program, using the mount through the kernel)`)
  const { stdout } = await promisify(execFile)('ls', ['-la', dir])
  console.log(indent(stdout))
}

function indent(text: string): string {
  return text.replace(/^/gm, '    ').trimEnd()
}

function modeString(info: { mode: number; isDirectory(): boolean; isSymbolicLink(): boolean }): string {
  const type = info.isDirectory() ? 'd' : info.isSymbolicLink() ? 'l' : '-'
  let bits = ''
  for (let shift = 6; shift >= 0; shift -= 3) {
    const triple = (info.mode >> shift) & 7
    bits += `${triple & 4 ? 'r' : '-'}${triple & 2 ? 'w' : '-'}${triple & 1 ? 'x' : '-'}`
  }
  return type + bits
}

async function unmount(dir: string): Promise<number> {
  // mountinfo holds canonical paths. The mount point itself cannot be resolved when stale
  // (ENOTCONN), so resolve its parent.
  const target = join(await fsp.realpath(dirname(resolve(dir))), basename(resolve(dir)))
  const entries = parseMountinfo(await fsp.readFile('/proc/self/mountinfo', 'utf8'))
  // The last entry at a path is the one on top, the one an unmount removes.
  const entry = entries.filter((e) => e.mountPoint === target).pop()
  if (entry === undefined) {
    console.error(`mountkit unmount: nothing is mounted at ${target}`)
    return 1
  }
  if (!isFuse(entry.fstype)) {
    console.error(`mountkit unmount: ${target} is a ${entry.fstype} mount, not FUSE; mountkit leaves it alone`)
    return 1
  }
  const { native } = require('./native') as typeof import('./native')
  native.unmountPath(target)
  console.log(`Unmounted ${target}.`)
  return 0
}

async function doctor(json: boolean): Promise<number> {
  const findings = await runDoctor()
  const failed = findings.some((f) => f.status === 'error')
  if (json) console.log(JSON.stringify(findings, null, 2))
  else if (process.platform !== 'linux' && process.platform !== 'win32') console.log(findings.map((f) => f.found).join('\n'))
  else process.stdout.write(formatFindings(findings))
  return failed ? 1 : 0
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      console.error(`mountkit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      process.exitCode = 1
    },
  )
}
