// Subject "mountkit (Rust-served)": the same JavaScript handlers, except that opening /file
// answers with a backing file (a real copy on tmpfs), so its bytes are moved by Rust or by the
// kernel (FUSE passthrough) and never reach JavaScript. BENCH_PASSTHROUGH=0 turns passthrough
// off, so that Rust itself reads the backing file.
import { benchFileSystem, serveMountkit } from './mountkit-fs'
import { subjectArgs } from './serve'

const args = subjectArgs()
const backingPath = args.backingPath
if (backingPath === undefined) throw new Error('mountkit-rust needs a backing file argument')
const fs = benchFileSystem(args.model, (path) => (path === '/file' ? { backingPath } : 0))
void serveMountkit(args, fs, { passthrough: process.env.BENCH_PASSTHROUGH !== '0' })
