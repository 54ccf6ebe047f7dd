// A file workload run by a client process against a mount, and the check of what it saw: the
// same results are expected whichever way the mount takes its requests (the JavaScript
// thread's spin reads, the io_uring ring, the backend's reader threads).
import type { ExecutionContext } from 'ava'

/**
 * Python for `py()`, with the mount's root in `sys.argv[1]`: makes, writes (1 MiB in one write
 * among them), reads back, lists, renames, removes and labels files; prints what it saw.
 */
export const FILE_WORKLOAD = `
import os, sys, hashlib
root = sys.argv[1]
seen = []
os.mkdir(os.path.join(root, "d"))
for i in range(12):
    path = os.path.join(root, "d", "f%d" % i)
    with open(path, "wb") as f:
        f.write(bytes([i % 251]) * (i * 997))
    os.rename(path, path + ".x")
big = bytes(range(256)) * 4096
fd = os.open(os.path.join(root, "big"), os.O_CREAT | os.O_WRONLY, 0o644)
written = os.write(fd, big)
os.close(fd)
with open(os.path.join(root, "big"), "rb") as f:
    back = f.read()
seen.append(["big", written, len(back), hashlib.sha256(back).hexdigest() == hashlib.sha256(big).hexdigest()])
os.setxattr(os.path.join(root, "big"), "user.label", b"ring")
seen.append([os.getxattr(os.path.join(root, "big"), "user.label").decode(), os.listxattr(os.path.join(root, "big"))])
for name in sorted(os.listdir(os.path.join(root, "d"))):
    path = os.path.join(root, "d", name)
    with open(path, "rb") as f:
        data = f.read()
    seen.append([name, len(data), data[:1].hex(), os.stat(path).st_size])
    if name.endswith("7.x"):
        os.unlink(path)
seen.append(sorted(os.listdir(os.path.join(root, "d"))))
seen.append(sorted(os.listdir(root)))
out(seen)
`

/** Checks what {@link FILE_WORKLOAD} saw against what it wrote. */
export function checkFileWorkload(t: ExecutionContext, seen: unknown[]): void {
  t.deepEqual(seen[0], ['big', 1 << 20, 1 << 20, true])
  t.deepEqual(seen[1], ['ring', ['user.label']])
  t.deepEqual(seen[2], ['f0.x', 0, '', 0])
  t.deepEqual(seen[3], ['f1.x', 997, '01', 997])
  t.deepEqual(seen[13], ['f9.x', 9 * 997, '09', 9 * 997])
  t.is((seen[14] as string[]).length, 11)
  t.false((seen[14] as string[]).includes('f7.x'))
  t.deepEqual(seen[15], ['big', 'd'])
}
