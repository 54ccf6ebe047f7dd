// Draws the ratio chart: for each workload, one bar per subject showing its figure relative to
// the C reference, on a log scale (tmpfs is orders of magnitude above the FUSE subjects).
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas'
import { CEILING, formatRatio, ratioOf, REFERENCE, type Results } from './report'

const COLORS: Record<string, string> = {
  tmpfs: '#9e9e9e',
  'mountkit-js': '#1f5fbf',
  'mountkit-async': '#5b8fd9',
  'mountkit-passthrough': '#2a9d8f',
  'mountkit-rust-io': '#7fb3e8',
  'fuse-native': '#e07b39',
  'fuse-napi': '#8e5bb5',
}
const FONT = 'DejaVu Sans, sans-serif'

const WIDTH = 1500
const LEFT = 440
const RIGHT = 90
const BAR = 15
const GAP = 3
const GROUP_GAP = 16

interface Bar {
  subject: string
  /** Undefined when there is no ratio: the subject's or the reference's measurement failed. */
  ratio: number | undefined
}

export function renderChart(results: Results): Buffer {
  const compared = results.subjects.filter((s) => s.id !== REFERENCE)
  const groups = results.workloads.map((w) => ({
    label: w.label(results.profile),
    bars: compared.flatMap((s): Bar[] => {
      if (s.only && !s.only(w.id)) return []
      return [{ subject: s.id, ratio: ratioOf(results, w.id, s.id, REFERENCE) }]
    }),
  }))
  const ratios = groups.flatMap((g) => g.bars.flatMap((b) => (b.ratio !== undefined && b.ratio > 0 ? [b.ratio] : [])))
  const lo = Math.min(-1, Math.floor(Math.log10(Math.min(...ratios, 1))))
  const hi = Math.max(1, Math.ceil(Math.log10(Math.max(...ratios, 1))))

  const top = 130
  const bodyHeight = groups.reduce((h, g) => h + Math.max(1, g.bars.length) * (BAR + GAP) + GROUP_GAP, 0)
  const height = top + bodyHeight + 50
  const canvas = createCanvas(WIDTH, height)
  const g = canvas.getContext('2d')
  const plotWidth = WIDTH - LEFT - RIGHT
  const x = (ratio: number) => LEFT + ((Math.log10(ratio) - lo) / (hi - lo)) * plotWidth

  g.fillStyle = '#ffffff'
  g.fillRect(0, 0, WIDTH, height)
  g.fillStyle = '#111111'
  g.font = `bold 22px ${FONT}`
  g.fillText('Throughput relative to the C libfuse3 reference (log scale; higher is better)', 20, 34)
  g.font = `14px ${FONT}`
  g.fillStyle = '#444444'
  const m = results.machine
  g.fillText(
    `median of ${results.profile.runs} interleaved runs · ${m.cpu}, ${m.cores} cores · Linux ${m.kernel} · Node ${m.node} · ${m.date}`,
    20,
    58,
  )
  legend(g, compared.map((s) => ({ id: s.id, label: s.label })), 20, 84)

  // Grid: a line per decade, and a strong one at 1× (the C reference).
  g.font = `12px ${FONT}`
  for (let d = lo; d <= hi; d++) {
    const gx = x(10 ** d)
    g.strokeStyle = d === 0 ? '#000000' : '#dddddd'
    g.lineWidth = d === 0 ? 2 : 1
    g.beginPath()
    g.moveTo(gx, top - 8)
    g.lineTo(gx, top + bodyHeight)
    g.stroke()
    g.fillStyle = '#333333'
    const text = d === 0 ? '1× = C' : `${formatRatio(10 ** d)}`
    g.fillText(text, gx - g.measureText(text).width / 2, top + bodyHeight + 18)
  }

  let y = top
  for (const group of groups) {
    const rows = Math.max(1, group.bars.length)
    const groupHeight = rows * (BAR + GAP)
    g.fillStyle = '#111111'
    g.font = `14px ${FONT}`
    g.fillText(group.label, 20, y + groupHeight / 2 + 5)
    group.bars.forEach((bar, i) => {
      const by = y + i * (BAR + GAP)
      const x0 = x(10 ** lo)
      g.font = `12px ${FONT}`
      if (bar.ratio === undefined) {
        g.fillStyle = COLORS[bar.subject] ?? '#555555'
        g.fillRect(x0, by, 4, BAR)
        g.fillStyle = '#b00020'
        g.fillText('no figure (see results.md)', x0 + 10, by + BAR - 3)
        return
      }
      const x1 = x(Math.max(bar.ratio, 10 ** lo))
      g.fillStyle = COLORS[bar.subject] ?? '#555555'
      g.fillRect(x0, by, Math.max(1, x1 - x0), BAR)
      // On a white patch, so the 1× line does not run through the figure.
      const text = formatRatio(bar.ratio)
      g.fillStyle = '#ffffff'
      g.fillRect(x1 + 2, by, g.measureText(text).width + 4, BAR)
      g.fillStyle = '#222222'
      g.fillText(text, x1 + 4, by + BAR - 3)
    })
    y += groupHeight + GROUP_GAP
    g.strokeStyle = '#eeeeee'
    g.lineWidth = 1
    g.beginPath()
    g.moveTo(20, y - GROUP_GAP / 2)
    g.lineTo(WIDTH - 20, y - GROUP_GAP / 2)
    g.stroke()
  }
  g.fillStyle = '#555555'
  g.font = `12px ${FONT}`
  const note = results.subjects.some((s) => s.id === CEILING) ? 'tmpfs has no FUSE crossing at all: the ceiling, not a peer.' : ''
  g.fillText(note, 20, height - 12)
  return canvas.toBuffer('image/png')
}

function legend(g: SKRSContext2D, entries: Array<{ id: string; label: string }>, left: number, y: number): void {
  g.font = `14px ${FONT}`
  let x = left
  for (const entry of entries) {
    g.fillStyle = COLORS[entry.id] ?? '#555555'
    g.fillRect(x, y - 12, 14, 14)
    g.fillStyle = '#222222'
    g.fillText(entry.label, x + 20, y)
    x += 20 + g.measureText(entry.label).width + 24
  }
}
