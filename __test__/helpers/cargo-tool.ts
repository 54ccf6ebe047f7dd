// The test tools installed with `cargo install` (fsx, pjdfstest): found where cargo puts them,
// and checked to be the version whose input and output the tests are written for.
import type { ExecutionContext } from 'ava'
import { accessSync, constants } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import { run } from './python'

/** The fsx version whose configuration format the fsx tests write. */
export const FSX_VERSION = '0.3.2'

/** `name` on PATH or in ~/.cargo/bin, else undefined. */
function findOnPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), join(homedir(), '.cargo', 'bin')]
  for (const dir of dirs) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not here.
    }
  }
  return undefined
}

/**
 * The path of the test tool `name` at exactly `version` (it answers `--version` with
 * `<name> <version>`). Fails the test, saying how to install it, when it is missing or another
 * version.
 */
export async function cargoTool(t: ExecutionContext, name: string, version: string): Promise<string> {
  const install = `cargo install ${name} --version ${version} --locked`
  const fail = (message: string): never => {
    t.fail(message)
    throw new Error(message)
  }
  const binary =
    findOnPath(name) ?? fail(`${name} is not installed (looked on PATH and in ~/.cargo/bin). Install it with: ${install}`)
  const found = (await run(binary, ['--version'])).stdout.trim()
  if (found !== `${name} ${version}`) {
    fail(`${binary} is '${found}', not ${name} ${version}, whose input and output these tests read. Install that version with: ${install}`)
  }
  return binary
}
