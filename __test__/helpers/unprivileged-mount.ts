// Run by unprivileged.test.ts as an unprivileged user: mounts memfs, writes a file into it,
// reports, waits for the test to ask it to unmount, unmounts, reports again.
//   node --import tsx unprivileged-mount.ts <mountpoint> <control-dir>
// Reports go to <control-dir>/state.json (outside the mount); the test asks for the unmount by
// creating <control-dir>/stop. A failed mount is reported as { error } and exits 0, so the
// test can check the message.
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { mount } from '../../index'
import { createMemfs } from '../../examples/memfs'

async function report(control: string, state: object): Promise<void> {
  await writeFile(join(control, 'state.json.tmp'), JSON.stringify(state))
  await rename(join(control, 'state.json.tmp'), join(control, 'state.json'))
}

async function mountedHere(dir: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8')
  return info.split('\n').some((line) => line.split(' ')[4] === dir)
}

async function main(): Promise<void> {
  const [dir, control] = process.argv.slice(2)
  const status = await readFile('/proc/self/status', 'utf8')
  const who = {
    uid: process.getuid!(),
    gid: process.getgid!(),
    capEff: /^CapEff:\s+(\S+)/m.exec(status)?.[1],
  }
  let m
  try {
    m = await mount(dir, createMemfs())
  } catch (error) {
    await report(control, { ...who, error: error instanceof Error ? error.message : String(error) })
    return
  }
  // Through the mount, asynchronously (this thread serves it).
  await writeFile(join(dir, 'from-owner'), 'written by the mounting user')
  await report(control, { ...who, mounted: true, mountedHere: await mountedHere(dir) })
  for (;;) {
    const stop = await readFile(join(control, 'stop'), 'utf8').catch(() => undefined)
    if (stop !== undefined) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await m.unmount()
  await report(control, { ...who, unmounted: true, mountedHere: await mountedHere(dir) })
}

main().catch((error: unknown) => {
  process.stderr.write(`unprivileged-mount: ${String(error)}\n`)
  process.exit(3)
})
