// Child processes for tests: Python snippets (for the system calls Node has no API for:
// renameat2, copy_file_range, posix_fallocate, SEEK_DATA/SEEK_HOLE, mknod, access, xattr
// flags, fsync of a directory), coreutils, and clients running as another user.
//
// Why every child goes through a spawner process: a test worker serves its own mounts from
// its JavaScript thread, and Node's spawn() blocks that thread until the child has exec'd.
// The forked child carries copies of the worker's file descriptors, and exec closes them; if
// any of them is a file on one of the worker's mounts (another test has it open at that
// moment), that close sends the kernel's FLUSH to the mount and waits for an answer that only
// the blocked JavaScript thread could give. So the worker never forks: a spawner process,
// started when this module loads (before any mount exists), forks for it. It never opens a
// file on a mount, so its children inherit nothing of the sort.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'

/**
 * The system Python (Debian package python3). Preferred over whatever is first on PATH
 * because it must also run as an unprivileged user, who cannot reach a per-user install
 * such as pyenv under /root.
 */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'

const SPAWNER = String.raw`
import base64, json, os, subprocess, sys, threading
lock = threading.Lock()
def send(message):
    data = (json.dumps(message) + "\n").encode()
    with lock:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
def b64(data):
    return base64.b64encode(data or b"").decode()
def serve(req):
    extra = {}
    if req.get("uid") is not None:
        extra = {"user": req["uid"], "group": req["gid"], "extra_groups": []}
    data = req.get("input")
    try:
        child = subprocess.Popen(req["argv"], cwd=req.get("cwd") or "/", env=req.get("env"),
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True, **extra)
    except OSError as e:
        send({"id": req["id"], "event": "error", "message": "%s: %s" % (req["argv"][0], e)})
        return
    send({"id": req["id"], "event": "started", "pid": child.pid})
    try:
        out, err = child.communicate(input=None if data is None else data.encode(), timeout=req.get("timeout"))
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
    send({"id": req["id"], "event": "exit", "code": child.returncode, "stdout": b64(out), "stderr": b64(err)})
for line in sys.stdin:
    threading.Thread(target=serve, args=(json.loads(line),), daemon=True).start()
`

interface Pending {
  started(pid: number): void
  exited(result: ExecResult): void
  failed(error: Error): void
}

interface SpawnerMessage {
  id: number
  event: 'started' | 'exit' | 'error'
  pid?: number
  code?: number
  stdout?: string
  stderr?: string
  message?: string
}

const pending = new Map<number, Pending>()
let lastId = 0

function startSpawner(): ChildProcess {
  const child = spawn(PYTHON, ['-u', '-c', SPAWNER], {
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: '/',
    env: { ...process.env, LC_ALL: 'C' },
  })
  let buffered = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    let newline: number
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const message = JSON.parse(buffered.slice(0, newline)) as SpawnerMessage
      buffered = buffered.slice(newline + 1)
      const waiter = pending.get(message.id)
      if (waiter === undefined) continue
      if (message.event === 'started') {
        waiter.started(message.pid!)
        continue
      }
      pending.delete(message.id)
      updateRef()
      if (message.event === 'error') waiter.failed(new Error(message.message))
      else {
        waiter.exited({
          code: message.code!,
          stdout: Buffer.from(message.stdout!, 'base64').toString('utf8'),
          stderr: Buffer.from(message.stderr!, 'base64').toString('utf8'),
        })
      }
    }
  })
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.failed(new Error(`the spawner exited (${code ?? signal})`))
    pending.clear()
  })
  return child
}

const spawner = startSpawner()

/** Keeps the worker alive only while children are running. */
function updateRef(): void {
  const streams = [spawner.stdout, spawner.stdin] as unknown as { ref?(): void; unref?(): void }[]
  if (pending.size > 0) {
    spawner.ref()
    for (const s of streams) s.ref?.()
  } else {
    spawner.unref()
    for (const s of streams) s.unref?.()
  }
}
updateRef()

export interface RunAs {
  uid: number
  gid: number
}

export interface SpawnOptions {
  /** Run the child as this user (the test runs as root); supplementary groups are dropped. */
  as?: RunAs
  input?: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

export interface ExecResult {
  /** The exit code; minus the signal number when a signal ended it. */
  code: number
  stdout: string
  stderr: string
}

export interface Spawned {
  /** The child's process id, once it runs. */
  pid: Promise<number>
  /** How it ended. */
  result: Promise<ExecResult>
}

/** Starts `argv` through the spawner (see the top of this file). */
export function spawnChild(argv: string[], options: SpawnOptions = {}): Spawned {
  const id = ++lastId
  let started!: (pid: number) => void
  let pidFailed!: (error: Error) => void
  let exited!: (result: ExecResult) => void
  let resultFailed!: (error: Error) => void
  const pid = new Promise<number>((resolve, reject) => {
    started = resolve
    pidFailed = reject
  })
  const result = new Promise<ExecResult>((resolve, reject) => {
    exited = resolve
    resultFailed = reject
  })
  pid.catch(() => {})
  pending.set(id, {
    started,
    exited,
    failed(error) {
      pidFailed(error)
      resultFailed(error)
    },
  })
  updateRef()
  const request = {
    id,
    argv,
    uid: options.as?.uid,
    gid: options.as?.gid,
    input: options.input,
    cwd: options.cwd ?? '/',
    env: options.env === undefined ? undefined : Object.fromEntries(Object.entries(options.env).filter(([, v]) => v !== undefined)),
    timeout: (options.timeoutMs ?? 60_000) / 1000,
  }
  spawner.stdin!.write(`${JSON.stringify(request)}\n`)
  return { pid, result }
}

/** Runs a program (coreutils, attr tools) and returns its exit code and output; never throws on a non-zero exit. */
export function run(file: string, args: string[], options: SpawnOptions = {}): Promise<ExecResult> {
  return spawnChild([file, ...args], options).result
}

/**
 * Prepended to every snippet. `out(value)` prints the snippet's result as JSON; `attempt(f,
 * *args)` runs a call and returns `{"ok": result}` or `{"error": "ENOENT"}`; `renameat2`
 * is the raw system call with Linux flag numbering.
 */
const PRELUDE = String.raw`
import ctypes, errno, json, os, sys
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)
def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno))
def out(value):
    sys.stdout.write(json.dumps(value))
    sys.stdout.flush()
def attempt(f, *args, **kwargs):
    try:
        return {"ok": f(*args, **kwargs)}
    except OSError as e:
        return {"error": errname(e)}
def renameat2(old, new, flags):
    AT_FDCWD = -100
    if _libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags) != 0:
        n = ctypes.get_errno()
        raise OSError(n, os.strerror(n), old)
`

/** The result shape of `attempt()` in the prelude. */
export type Attempt<T = unknown> = { ok: T; error?: undefined } | { error: string; ok?: undefined }

export interface PyOptions {
  /** Run the child as this user (the test runs as root). */
  as?: RunAs
  timeoutMs?: number
}

/**
 * Runs `code` (after the prelude) with `args` in `sys.argv[1:]` and returns what it passed to
 * `out()`, parsed. A snippet that fails (a Python exception) rejects with its stderr.
 */
export async function py<T = unknown>(code: string, args: (string | number)[] = [], options: PyOptions = {}): Promise<T> {
  const { code: status, stdout, stderr } = await run(PYTHON, ['-c', `${PRELUDE}\n${code}`, ...args.map(String)], options)
  if (status !== 0) throw new Error(`python exited with ${status}: ${stderr.trim()}`)
  try {
    return JSON.parse(stdout) as T
  } catch {
    throw new Error(`python printed no JSON result: ${JSON.stringify(stdout)} ${stderr.trim()}`)
  }
}
