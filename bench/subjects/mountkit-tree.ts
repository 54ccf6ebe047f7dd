// Subject "mountkit, tree": mountkit JS with the tree workload's caching (bench/lib/tree.ts):
// entries cached, attributes not, so the kernel keeps every inode and every stat() crosses.
import { benchFileSystem, serveMountkit } from './mountkit-fs'
import { subjectArgs } from './serve'

const args = subjectArgs()
void serveMountkit(args, benchFileSystem(args.model), { entryTimeoutMs: 3_600_000 })
