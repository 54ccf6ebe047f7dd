// Runs Python snippets in child processes, for the system calls Node has no API for
// (renameat2, copy_file_range, posix_fallocate, SEEK_DATA/SEEK_HOLE, mknod, access, xattr
// flags, fsync of a directory) and for clients running as another user.
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

/**
 * The system Python (Debian package python3). Preferred over whatever is first on PATH
 * because it must also run as an unprivileged user, who cannot reach a per-user install
 * such as pyenv under /root.
 */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'

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

export interface RunAs {
  uid: number
  gid: number
}

export interface PyOptions {
  /** Run the child as this user (the test runs as root). */
  as?: RunAs
  timeoutMs?: number
}

/**
 * Runs `code` (after the prelude) with `args` in `sys.argv[1:]` and returns what it passed to
 * `out()`, parsed. A snippet that fails (a Python exception) rejects with its stderr.
 */
export function py<T = unknown>(code: string, args: (string | number)[] = [], options: PyOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', `${PRELUDE}\n${code}`, ...args.map(String)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // An unprivileged child may not be able to read the test's working directory.
      cwd: '/',
      ...(options.as === undefined ? {} : { uid: options.as.uid, gid: options.as.gid }),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`python exited with ${code ?? signal}: ${stderr.trim()}`))
        return
      }
      try {
        resolve(JSON.parse(stdout) as T)
      } catch {
        reject(new Error(`python printed no JSON result: ${JSON.stringify(stdout)} ${stderr.trim()}`))
      }
    })
  })
}

/** The result shape of `attempt()` in the prelude. */
export type Attempt<T = unknown> = { ok: T; error?: undefined } | { error: string; ok?: undefined }

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs a program (coreutils, attr tools) and returns its exit code and output; never throws on a non-zero exit. */
export function run(file: string, args: string[], options: { as?: RunAs; input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        cwd: '/',
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, LC_ALL: 'C' },
        ...(options.as === undefined ? {} : { uid: options.as.uid, gid: options.as.gid }),
      },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(error)
          return
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr })
      },
    )
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}
