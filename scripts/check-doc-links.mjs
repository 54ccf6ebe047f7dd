// Checks that every relative link in the README and the docs resolves: the file (or folder)
// exists and, for a `#fragment` into a Markdown file, a heading of that file has that anchor.
// Links to the web are not fetched. Code blocks and code spans are not links.
//
//   node scripts/check-doc-links.mjs [root]     (root: the repository; default: this one)
//
// Prints each broken link as `file:line: target: why` and exits 1, or says how many resolved.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The Markdown files whose links are checked, relative to the root. */
function documents(root) {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join('docs', name))
    : []
  return ['README.md', join('bench', 'README.md'), ...docs.sort()].filter((file) => existsSync(join(root, file)))
}

/** The lines of `text` outside fenced code blocks, with code spans blanked, numbered from 1. */
function proseLines(text) {
  const lines = []
  let fence = null
  text.split('\n').forEach((line, index) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence !== null) {
      if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length) fence = null
      return
    }
    if (opening) {
      fence = opening[1]
      return
    }
    lines.push({ number: index + 1, text: line.replace(/(`+)[^`]*?\1/g, '') })
  })
  return lines
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading) {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-')
}

/** Every anchor a Markdown file's headings give, repeats numbered as GitHub numbers them. */
function anchorsOf(text) {
  const anchors = new Set()
  const seen = new Map()
  let fence = null
  for (const line of text.split('\n')) {
    const opening = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence !== null) {
      if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length) fence = null
      continue
    }
    if (opening) {
      fence = opening[1]
      continue
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!heading) continue
    const base = slug(heading[1])
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** The link targets on one line of prose: inline links, images and reference definitions. */
function targetsOf(line) {
  const targets = []
  for (const match of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
    targets.push(match[1].replace(/^<|>$/g, ''))
  }
  const definition = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(line)
  if (definition) targets.push(definition[1])
  return targets
}

/** The broken relative links of the documents under `root`, each `{ file, line, target, why }`. */
export function brokenLinks(root) {
  const broken = []
  let checked = 0
  const anchorCache = new Map()
  const anchors = (path) => {
    if (!anchorCache.has(path)) anchorCache.set(path, anchorsOf(readFileSync(path, 'utf8')))
    return anchorCache.get(path)
  }
  for (const file of documents(root)) {
    const source = join(root, file)
    for (const { number, text } of proseLines(readFileSync(source, 'utf8'))) {
      for (const target of targetsOf(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
        checked++
        const [pathPart, fragment] = target.split('#', 2)
        const path = pathPart === '' ? source : resolve(dirname(source), decodeURIComponent(pathPart))
        const report = (why) => broken.push({ file, line: number, target, why })
        if (!existsSync(path)) {
          report(`no such file: ${relative(root, path)}`)
          continue
        }
        if (fragment === undefined || fragment === '' || !path.endsWith('.md') || statSync(path).isDirectory()) continue
        if (!anchors(path).has(decodeURIComponent(fragment))) report(`${relative(root, path)} has no heading with the anchor #${fragment}`)
      }
    }
  }
  return { broken, checked }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'))
  const { broken, checked } = brokenLinks(root)
  for (const { file, line, target, why } of broken) console.log(`${file}:${line}: ${target}: ${why}`)
  if (broken.length > 0) {
    console.log(`${broken.length} of ${checked} relative links do not resolve`)
    process.exit(1)
  }
  console.log(`${checked} relative links checked, all resolve`)
}
