// Subject "mountkit JS, async handlers": the handlers of "mountkit JS", each made an `async`
// function, as handlers that await anything are written. Their answers settle in a microtask
// instead of being returned, which is the case the dispatcher's settle turns are for.
import type { FileSystem } from '../../index'
import { benchFileSystem, serveMountkit } from './mountkit-fs'
import { subjectArgs } from './serve'

function asAsync(fs: FileSystem): FileSystem {
  const handlers = Object.entries(fs).map(([name, handler]) => {
    const call = handler as (...args: unknown[]) => unknown
    return [name, async (...args: unknown[]) => call.apply(fs, args)]
  })
  return Object.fromEntries(handlers) as FileSystem
}

const args = subjectArgs()
void serveMountkit(args, asAsync(benchFileSystem(args.model)))
