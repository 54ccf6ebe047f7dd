// The README and the docs link to each other by relative paths and heading anchors; moving a
// section breaks them silently. scripts/check-doc-links.mjs finds the broken ones.
import test from 'ava'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const CHECKER = join(__dirname, '..', 'scripts', 'check-doc-links.mjs')

/** Runs the checker on `root`; resolves with its exit code and output. */
async function check(root?: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, root === undefined ? [CHECKER] : [CHECKER, root])
    return { code: 0, out: stdout }
  } catch (error) {
    const failed = error as { code: number; stdout: string }
    return { code: failed.code, out: failed.stdout }
  }
}

test("every relative link in this repository's README and docs resolves", async (t) => {
  const { code, out } = await check()
  t.is(code, 0, out)
  t.regex(out, /^\d+ relative links checked, all resolve\n$/)
})

test('the checker reports missing files and anchors, and ignores code and web links', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'mountkit-doc-links-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await mkdir(join(root, 'docs'))
  await writeFile(
    join(root, 'README.md'),
    [
      '# Title',
      '',
      '## The API: `mount()` → Promise',
      '',
      'Good: [guide](docs/guide.md), [section](docs/guide.md#tuning-threads), [here](#the-api-mount--promise),',
      '[repeat](docs/guide.md#notes-1), [web](https://example.com/missing.md), [folder](docs).',
      'Broken: [gone](docs/gone.md) and [anchor](docs/guide.md#no-such-heading).',
      'In code: `[not a link](nowhere.md)`',
      '',
      '```md',
      '[not a link either](nowhere.md)',
      '```',
    ].join('\n'),
  )
  await writeFile(
    join(root, 'docs', 'guide.md'),
    ['# Guide', '', '## Tuning: `threads`', '', '## Notes', '', '## Notes', '', 'Back: [readme](../README.md#title), [self](#nothing)'].join('\n'),
  )

  const { code, out } = await check(root)
  t.is(code, 1)
  t.deepEqual(out.trim().split('\n'), [
    'README.md:7: docs/gone.md: no such file: docs/gone.md',
    'README.md:7: docs/guide.md#no-such-heading: docs/guide.md has no heading with the anchor #no-such-heading',
    'docs/guide.md:9: #nothing: docs/guide.md has no heading with the anchor #nothing',
    '3 of 9 relative links do not resolve',
  ])
})
