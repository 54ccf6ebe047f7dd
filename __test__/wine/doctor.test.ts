// `mountkit doctor` and mount()'s errors on Windows, under Wine, against Wine's real registry and
// service manager and the genuine WinFsp 2.1 DLL from the winfsp-sys crate (whose
// FspFileSystemCreate really asks the service manager to start the driver). Each case is a new
// prefix set up as an installer (or a broken install) leaves a machine. Serial: each case boots
// a prefix of its own, which is heavy while the backend suites run beside this file.
import test from 'ava'
import type { Finding } from '../../lib/doctor'
import { WinePrefix, WineServer } from './helpers/wine'

const INSTANCE = 'a1b2c3d4'
const SERVICES = 'HKLM\\SYSTEM\\CurrentControlSet\\Services'

/** Runs `mountkit doctor --json` in `prefix`: its exit code and findings by check. */
async function doctor(
  prefix: WinePrefix,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; findings: Map<string, Finding> }> {
  const { code, stdout, stderr } = await prefix.node('lib/cli.js', ['doctor', '--json'], env)
  let findings: Finding[]
  try {
    findings = JSON.parse(stdout) as Finding[]
  } catch {
    throw new Error(`doctor printed no JSON (exit ${code}): ${stdout}\n${stderr}`)
  }
  return { code, findings: new Map(findings.map((f) => [f.check, f])) }
}

/** A fresh prefix for one case, removed however the case ends. */
async function withPrefix(t: { teardown(fn: () => Promise<void>): void }): Promise<WinePrefix> {
  const prefix = await WinePrefix.create('doctor')
  t.teardown(() => prefix.remove())
  return prefix
}

test.serial('nothing installed: the doctor names both installers, and mount() fails saying so', async (t) => {
  const prefix = await withPrefix(t)
  const { code, findings } = await doctor(prefix)
  t.is(code, 1, 'the doctor exits 1 when mounting cannot work')
  t.is(findings.get('winfsp')?.status, 'warn')
  t.regex(findings.get('winfsp')?.found ?? '', /not installed/)
  t.regex(findings.get('winfsp')?.fix ?? '', /https:\/\/winfsp\.dev\/rel\//)
  t.regex(findings.get('dokan')?.found ?? '', /not installed/)
  t.false(findings.has('winfsp-driver'), 'no driver service is reported without an installation')
  t.is(findings.get('backend')?.status, 'error')

  const server = await WineServer.start(prefix)
  t.teardown(() => server.stop())
  const error = await t.throwsAsync(server.mount('M:', { kind: 'memfs' }, {}), { code: 'ENODRIVER' })
  t.regex(error?.message ?? '', /no Windows file system driver is available/)
  t.regex(error?.message ?? '', /https:\/\/winfsp\.dev\/rel\//)
  t.regex(error?.message ?? '', /https:\/\/github\.com\/dokan-dev\/dokany\/releases/)
  t.notRegex(error?.message ?? '', /\.\./, 'whole sentences, no doubled periods')
})

test.serial('WinFsp 2.x healthy: the driver service is WinFsp+<instance>, and auto picks WinFsp', async (t) => {
  const prefix = await withPrefix(t)
  const service = await prefix.installGenuineWinFsp({ instance: INSTANCE, driverFile: true, serviceType: 'filesys' })
  t.is(service, `WinFsp+${INSTANCE}`)
  const { code, findings } = await doctor(prefix)
  t.is(code, 0)
  t.is(findings.get('winfsp')?.status, 'ok')
  t.true(findings.get('winfsp')?.found.startsWith('WinFsp 2.1 in C:\\Program Files (x86)\\WinFsp; '), findings.get('winfsp')?.found)
  t.is(findings.get('winfsp-driver')?.status, 'ok')
  t.regex(findings.get('winfsp-driver')?.found ?? '', new RegExp(`^WinFsp\\+${INSTANCE} is registered`))
  t.is(findings.get('backend')?.status, 'ok')
  t.regex(findings.get('backend')?.found ?? '', /^WinFsp 2\.1/)
})

for (const version of ['2.x', '1.x'] as const) {
  test.serial(`WinFsp ${version} with a broken driver entry: the doctor names the exact key and the fix`, async (t) => {
    const prefix = await withPrefix(t)
    const service = await prefix.installGenuineWinFsp({
      instance: version === '2.x' ? INSTANCE : undefined,
      driverFile: false,
      serviceType: 'filesys',
    })
    const key = `${SERVICES}\\${service}`
    const { code, findings } = await doctor(prefix)
    t.is(code, 1)
    const driver = findings.get('winfsp-driver')
    t.is(driver?.status, 'error')
    t.true(driver?.found.includes(`${key} has an ImagePath naming`), driver?.found)
    t.regex(driver?.found ?? '', /0xC0000034/)
    t.is(driver?.fix, `as Administrator: \`reg delete "${key}" /f\`, then reinstall WinFsp from https://winfsp.dev/rel/`)
    t.is(findings.get('backend')?.status, 'error')
  })

  test.serial(`WinFsp ${version} with a broken driver entry: mount() fails with 0xC0000034 and names the key`, async (t) => {
    const prefix = await withPrefix(t)
    // Wine answers StartService for a file-system-driver service whose .sys is missing with
    // ERROR_DLL_INIT_FAILED (1114), where Windows answers ERROR_FILE_NOT_FOUND (2), which
    // WinFsp's DLL turns into STATUS_OBJECT_NAME_NOT_FOUND. Registered as an own-process
    // service, a missing program gets Windows' answer from Wine too, so the genuine DLL fails as
    // it does on a broken Windows machine.
    const service = await prefix.installGenuineWinFsp({
      instance: version === '2.x' ? INSTANCE : undefined,
      driverFile: false,
      serviceType: 'own',
    })
    const server = await WineServer.start(prefix)
    t.teardown(() => server.stop())
    const error = await t.throwsAsync(server.mount('M:', { kind: 'memfs' }, { backend: 'winfsp' }), { code: 'EDRIVER' })
    const message = error?.message ?? ''
    t.regex(message, /0xC0000034/)
    t.true(message.includes(`${SERVICES}\\${service}`), message)
    t.true(message.includes(`reg delete "${SERVICES}\\${service}" /f`), message)
  })
}

test.serial("WinFsp healthy: 'auto' mounts through WinFsp", async (t) => {
  const prefix = await withPrefix(t)
  await prefix.installWinFspDouble()
  await prefix.registerWinFspDriver()
  await prefix.installDokan()
  const { findings } = await doctor(prefix)
  t.is(findings.get('backend')?.status, 'ok')
  t.regex(findings.get('backend')?.found ?? '', /^WinFsp/)
  const server = await WineServer.start(prefix)
  t.teardown(() => server.stop())
  t.is((await server.mount('M:', { kind: 'memfs' }, {})).backend, 'winfsp')
  await server.unmount()
})

test.serial("WinFsp's driver entry broken and Dokan 2 installed: the doctor and 'auto' both choose Dokan", async (t) => {
  const prefix = await withPrefix(t)
  const service = await prefix.installGenuineWinFsp({ instance: INSTANCE, driverFile: false, serviceType: 'filesys' })
  await prefix.installDokan()
  const { code, findings } = await doctor(prefix)
  t.is(code, 0, 'mounting works, through Dokan')
  t.is(findings.get('winfsp-driver')?.status, 'warn', 'a WinFsp problem is a warning while Dokan serves')
  t.true(findings.get('winfsp-driver')?.fix?.includes(`${SERVICES}\\${service}`), findings.get('winfsp-driver')?.fix)
  t.is(findings.get('dokan')?.status, 'ok')
  t.regex(findings.get('dokan')?.found ?? '', /2\.0\.6/)
  t.regex(findings.get('dokan')?.found ?? '', /no reparse points, so symbolic links show as plain files/)
  t.is(findings.get('backend')?.status, 'ok')
  t.regex(findings.get('backend')?.found ?? '', /^Dokan 2\.0\.6/)
  t.regex(findings.get('backend')?.found ?? '', /symbolic links show as plain files on Dokan mounts \(WinFsp serves them as links\)/)
  const server = await WineServer.start(prefix)
  t.teardown(() => server.stop())
  t.is((await server.mount('M:', { kind: 'memfs' }, {})).backend, 'dokan')
  await server.unmount()
})

test.serial("Dokan 2's library without its driver: the doctor says the driver is missing", async (t) => {
  const prefix = await withPrefix(t)
  await prefix.installDokan()
  const noDriver = { DOKAN_DOUBLE_NO_DRIVER: '1' }
  const { code, findings } = await doctor(prefix, noDriver)
  t.is(code, 1)
  t.regex(findings.get('dokan')?.found ?? '', /driver/)
  t.regex(findings.get('dokan')?.fix ?? '', /https:\/\/github\.com\/dokan-dev\/dokany\/releases/)
  const server = await WineServer.start(prefix, noDriver)
  t.teardown(() => server.stop())
  const error = await t.throwsAsync(server.mount('M:', { kind: 'memfs' }, { backend: 'dokan' }), { code: 'EDRIVER' })
  t.regex(error?.message ?? '', /driver/)
})

test.serial('only Dokan 1.x installed: the doctor says mountkit needs Dokan 2', async (t) => {
  const prefix = await withPrefix(t)
  await prefix.installDokan1()
  const { code, findings } = await doctor(prefix)
  t.is(code, 1)
  const dokan = findings.get('dokan')
  t.regex(dokan?.found ?? '', /Dokan 1\.5\.2/)
  t.regex(dokan?.found ?? '', /Dokan 2/)
  t.regex(dokan?.fix ?? '', /https:\/\/github\.com\/dokan-dev\/dokany\/releases/)
})
