// Subject "mountkit (Rust-served)": the same JavaScript handlers, except that /file and the
// files created in /w are answered with backing files (the tmpfs subject's /file, and real twins
// in a directory next to it), so their bytes are moved by Rust or by the kernel (FUSE
// passthrough) and never reach JavaScript. BENCH_PASSTHROUGH=0 turns passthrough off, so that
// Rust itself reads and writes the backing files.
import { mkdtempSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { benchFileSystem, serveMountkit } from './mountkit-fs'
import { subjectArgs } from './serve'

const args = subjectArgs()
const file = args.backingPath
if (file === undefined) throw new Error('mountkit-rust needs a backing file argument')
const writeDir = mkdtempSync(join(dirname(file), 'twins-'))
void serveMountkit(args, benchFileSystem(args.model, { file, writeDir }), { passthrough: process.env.BENCH_PASSTHROUGH !== '0' })
