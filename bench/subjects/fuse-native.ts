// Subject "fuse-native 2.2.6": the bench filesystem on fuse-native (libfuse 2, one JS thread).
import { execFileSync } from 'node:child_process'
import Fuse from 'fuse-native'
import { callbackOps } from './callback-ops'
import { serveUntilStopped, subjectArgs } from './serve'

const { mountpoint, model } = subjectArgs()
// fuse-native skips options whose value is falsy, so a zero timeout must be the string '0'.
const fuse = new Fuse(mountpoint, callbackOps(model, Fuse), {
  attrTimeout: '0',
  entryTimeout: '0',
  fsname: 'benchfs',
})
fuse.mount((error) => {
  if (error) throw error
  // fuse-native unmounts with `fusermount` from FUSE 2, which Debian's fuse3 does not ship;
  // fusermount3 does the same.
  serveUntilStopped(async () => {
    execFileSync('fusermount3', ['-u', '-z', mountpoint])
  })
})
