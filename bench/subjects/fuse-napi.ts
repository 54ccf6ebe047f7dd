// Subject "fuse-napi 2.3.1": the bench filesystem on fuse-napi (libfuse 3, fuse-native's
// callback API), with its default concurrency.
import Fuse from 'fuse-napi'
import { callbackOps } from './callback-ops'
import { serveUntilStopped, subjectArgs } from './serve'

const { mountpoint, model } = subjectArgs()
const fuse = new Fuse(mountpoint, callbackOps(model, Fuse), {
  attrTimeout: 0,
  entryTimeout: 0,
  fsname: 'benchfs',
})
fuse.mount((error) => {
  if (error) throw error
  serveUntilStopped(() => new Promise<void>((resolve, reject) => fuse.unmount((e) => (e ? reject(e) : resolve()))))
})
