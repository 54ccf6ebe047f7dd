//! The filesystem itself: files and directories kept in memory, platform-neutral.
//!
//! Every node lives in one table keyed by its absolute path. A directory stores no list of its
//! children: they are the keys that start with the directory's path and a `/`, which a sorted
//! map finds with one range scan. That keeps rename of a whole directory a matter of re-keying
//! its subtree, and there is no second structure that could disagree with the table.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use mountkit_core::{
    Bytes, DirEntry, Errno, FileKind, FileSystem, FsResult, OpenFlags, Opened, RenameMode,
    RequestContext, SetTime, Stat, WindowsAttributes,
};

struct Node {
    stat: Stat,
    /// File contents; always empty for a directory.
    data: Vec<u8>,
}

type Table = BTreeMap<String, Node>;

pub(crate) struct Memfs {
    nodes: Mutex<Table>,
}

impl Memfs {
    /// An empty filesystem whose root directory belongs to `uid`/`gid`: the kernel checks
    /// permissions against these, so the mounting user must own the root to create anything.
    pub(crate) fn new(uid: u32, gid: u32) -> Memfs {
        let mut root = Stat::new(FileKind::Directory);
        root.uid = uid;
        root.gid = gid;
        let now = SystemTime::now();
        root.atime = now;
        root.mtime = now;
        root.ctime = now;
        root.birthtime = now;
        let mut nodes = Table::new();
        nodes.insert("/".to_owned(), Node::new(root));
        Memfs {
            nodes: Mutex::new(nodes),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // A panic while the lock was held (answered EIO by the dispatcher) leaves every node
        // well-formed, because each operation checks everything before it changes anything;
        // so keep serving rather than fail every later request.
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Node {
    fn new(stat: Stat) -> Node {
        Node {
            stat,
            data: Vec::new(),
        }
    }

    fn is_dir(&self) -> bool {
        self.stat.kind == FileKind::Directory
    }

    fn touch(&mut self) {
        let now = SystemTime::now();
        self.stat.mtime = now;
        self.stat.ctime = now;
    }

    fn resize(&mut self, size: u64) -> FsResult<()> {
        let size = usize::try_from(size).map_err(|_| Errno::EFBIG)?;
        self.data.resize(size, 0);
        self.stat.size = size as u64;
        self.touch();
        Ok(())
    }
}

/// A new node of `kind` owned by whoever asked for it, with every time set to now.
fn new_node(kind: FileKind, mode: u32, cx: RequestContext) -> Node {
    let now = SystemTime::now();
    let mut stat = Stat::new(kind);
    stat.mode = mode & 0o7777;
    stat.uid = cx.uid;
    stat.gid = cx.gid;
    stat.atime = now;
    stat.mtime = now;
    stat.ctime = now;
    stat.birthtime = now;
    Node::new(stat)
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The key prefix shared by everything inside directory `dir`.
fn inside(dir: &str) -> String {
    if dir == "/" {
        "/".to_owned()
    } else {
        format!("{dir}/")
    }
}

/// Everything below `dir`, at any depth, as (path, node) in path order.
fn below<'a>(nodes: &'a Table, dir: &str) -> impl Iterator<Item = (&'a String, &'a Node)> {
    let prefix = inside(dir);
    // The prefix itself is never a child: for the root it is the root's own key, and no other
    // key ends with '/'.
    nodes
        .range::<String, _>((Bound::Excluded(prefix.clone()), Bound::Unbounded))
        .take_while(move |(path, _)| path.starts_with(&prefix))
}

fn has_children(nodes: &Table, dir: &str) -> bool {
    below(nodes, dir).next().is_some()
}

/// The node at `path`, which must exist.
fn node<'a>(nodes: &'a Table, path: &str) -> FsResult<&'a Node> {
    nodes.get(path).ok_or(Errno::ENOENT)
}

fn node_mut<'a>(nodes: &'a mut Table, path: &str) -> FsResult<&'a mut Node> {
    nodes.get_mut(path).ok_or(Errno::ENOENT)
}

fn file_mut<'a>(nodes: &'a mut Table, path: &str) -> FsResult<&'a mut Node> {
    let node = node_mut(nodes, path)?;
    if node.is_dir() {
        return Err(Errno::EISDIR);
    }
    Ok(node)
}

/// Checks that a new name can be made at `path`: its parent is a directory and the name is free.
fn check_new_name(nodes: &Table, path: &str) -> FsResult<()> {
    if !node(nodes, parent_of(path))?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if nodes.contains_key(path) {
        return Err(Errno::EEXIST);
    }
    Ok(())
}

fn touch_parent(nodes: &mut Table, path: &str) {
    if let Some(parent) = nodes.get_mut(parent_of(path)) {
        parent.touch();
    }
}

impl FileSystem for Memfs {
    async fn getattr(&self, _: RequestContext, path: &str, _: Option<u64>) -> FsResult<Stat> {
        Ok(node(&self.table(), path)?.stat.clone())
    }

    async fn readdir(&self, _: RequestContext, path: &str, _: u64) -> FsResult<Vec<DirEntry>> {
        let nodes = self.table();
        if !node(&nodes, path)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let skip = inside(path).len();
        Ok(below(&nodes, path)
            .filter_map(|(key, node)| {
                let name = &key[skip..];
                // Deeper descendants share the prefix; only direct children are listed. The
                // stat rides along, which spares the kernel a getattr per entry.
                (!name.contains('/')).then(|| DirEntry {
                    name: name.to_owned(),
                    kind: node.stat.kind,
                    stat: Some(node.stat.clone()),
                })
            })
            .collect())
    }

    async fn open(&self, _: RequestContext, path: &str, flags: OpenFlags) -> FsResult<Opened> {
        let mut nodes = self.table();
        let node = node_mut(&mut nodes, path)?;
        // Kernels that pass O_TRUNC to open instead of sending a truncate first.
        if flags.0 & OpenFlags::TRUNCATE != 0 && flags.writable() && !node.is_dir() {
            node.resize(0)?;
        }
        Ok(Opened::default())
    }

    async fn create(
        &self,
        cx: RequestContext,
        path: &str,
        mode: u32,
        flags: OpenFlags,
    ) -> FsResult<Opened> {
        let mut nodes = self.table();
        if let Some(existing) = nodes.get_mut(path) {
            // Another opener won the race for this name since the kernel looked it up.
            if flags.0 & OpenFlags::EXCLUSIVE != 0 {
                return Err(Errno::EEXIST);
            }
            if existing.is_dir() {
                return Err(Errno::EISDIR);
            }
            if flags.0 & OpenFlags::TRUNCATE != 0 {
                existing.resize(0)?;
            }
            return Ok(Opened::default());
        }
        check_new_name(&nodes, path)?;
        nodes.insert(path.to_owned(), new_node(FileKind::File, mode, cx));
        touch_parent(&mut nodes, path);
        Ok(Opened::default())
    }

    async fn mkdir(&self, cx: RequestContext, path: &str, mode: u32) -> FsResult<()> {
        let mut nodes = self.table();
        check_new_name(&nodes, path)?;
        nodes.insert(path.to_owned(), new_node(FileKind::Directory, mode, cx));
        touch_parent(&mut nodes, path);
        Ok(())
    }

    async fn read(
        &self,
        _: RequestContext,
        path: &str,
        _: u64,
        offset: u64,
        size: u32,
    ) -> FsResult<Bytes> {
        let nodes = self.table();
        let file = node(&nodes, path)?;
        if file.is_dir() {
            return Err(Errno::EISDIR);
        }
        let len = file.data.len();
        let start = usize::try_from(offset).map_or(len, |o| o.min(len));
        let end = start.saturating_add(size as usize).min(len);
        Ok(Bytes::copy_from_slice(&file.data[start..end]))
    }

    async fn write(
        &self,
        _: RequestContext,
        path: &str,
        _: u64,
        offset: u64,
        data: Bytes,
    ) -> FsResult<u64> {
        let mut nodes = self.table();
        let file = file_mut(&mut nodes, path)?;
        let start = usize::try_from(offset).map_err(|_| Errno::EFBIG)?;
        let end = start.checked_add(data.len()).ok_or(Errno::EFBIG)?;
        if end > file.data.len() {
            file.resize(end as u64)?;
        }
        file.data[start..end].copy_from_slice(&data);
        file.touch();
        Ok(data.len() as u64)
    }

    async fn truncate(
        &self,
        _: RequestContext,
        path: &str,
        size: u64,
        _: Option<u64>,
    ) -> FsResult<()> {
        file_mut(&mut self.table(), path)?.resize(size)
    }

    async fn chmod(&self, _: RequestContext, path: &str, mode: u32) -> FsResult<()> {
        let mut nodes = self.table();
        let node = node_mut(&mut nodes, path)?;
        node.stat.mode = mode & 0o7777;
        node.stat.ctime = SystemTime::now();
        Ok(())
    }

    async fn utimens(
        &self,
        _: RequestContext,
        path: &str,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> FsResult<()> {
        let mut nodes = self.table();
        let node = node_mut(&mut nodes, path)?;
        let now = SystemTime::now();
        let resolve = |t| match t {
            SetTime::At(at) => at,
            SetTime::Now => now,
        };
        if let Some(atime) = atime {
            node.stat.atime = resolve(atime);
        }
        if let Some(mtime) = mtime {
            node.stat.mtime = resolve(mtime);
        }
        node.stat.ctime = now;
        Ok(())
    }

    async fn set_attributes(
        &self,
        _: RequestContext,
        path: &str,
        attributes: Option<WindowsAttributes>,
        birthtime: Option<SetTime>,
    ) -> FsResult<()> {
        let mut nodes = self.table();
        let node = node_mut(&mut nodes, path)?;
        let now = SystemTime::now();
        if let Some(attributes) = attributes {
            node.stat.windows = attributes;
        }
        if let Some(birthtime) = birthtime {
            node.stat.birthtime = match birthtime {
                SetTime::At(at) => at,
                SetTime::Now => now,
            };
        }
        node.stat.ctime = now;
        Ok(())
    }

    async fn unlink(&self, _: RequestContext, path: &str) -> FsResult<()> {
        let mut nodes = self.table();
        file_mut(&mut nodes, path)?;
        nodes.remove(path);
        touch_parent(&mut nodes, path);
        Ok(())
    }

    async fn rmdir(&self, _: RequestContext, path: &str) -> FsResult<()> {
        let mut nodes = self.table();
        if path == "/" {
            return Err(Errno::EBUSY);
        }
        if !node(&nodes, path)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if has_children(&nodes, path) {
            return Err(Errno::ENOTEMPTY);
        }
        nodes.remove(path);
        touch_parent(&mut nodes, path);
        Ok(())
    }

    async fn rename(
        &self,
        _: RequestContext,
        from: &str,
        to: &str,
        mode: RenameMode,
    ) -> FsResult<()> {
        let mut nodes = self.table();
        let moving_dir = node(&nodes, from)?.is_dir();
        if mode == RenameMode::Exchange {
            // Swapping two names atomically is beyond this example.
            return Err(Errno::EINVAL);
        }
        if from == to {
            return Ok(());
        }
        if moving_dir && to.starts_with(&inside(from)) {
            return Err(Errno::EINVAL);
        }
        if !node(&nodes, parent_of(to))?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if let Some(target) = nodes.get(to) {
            if mode == RenameMode::NoReplace {
                return Err(Errno::EEXIST);
            }
            match (moving_dir, target.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if has_children(&nodes, to) => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
            nodes.remove(to);
        }
        // Everything checked: re-key the node and, for a directory, its whole subtree.
        let mut moved = vec![from.to_owned()];
        if moving_dir {
            moved.extend(below(&nodes, from).map(|(path, _)| path.clone()));
        }
        for old in moved {
            if let Some(node) = nodes.remove(&old) {
                nodes.insert(format!("{to}{}", &old[from.len()..]), node);
            }
        }
        if let Some(node) = nodes.get_mut(to) {
            node.stat.ctime = SystemTime::now();
        }
        touch_parent(&mut nodes, from);
        touch_parent(&mut nodes, to);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mountkit_core::runtime;

    const CX: RequestContext = RequestContext {
        uid: 1000,
        gid: 1000,
        pid: 1,
    };
    const NONE: OpenFlags = OpenFlags(0);

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        runtime::shared().block_on(future)
    }

    fn names(fs: &Memfs, dir: &str) -> Vec<String> {
        run(fs.readdir(CX, dir, 0))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    fn write(fs: &Memfs, path: &str, offset: u64, text: &str) {
        run(fs.write(CX, path, 0, offset, Bytes::copy_from_slice(text.as_bytes()))).unwrap();
    }

    fn read_all(fs: &Memfs, path: &str) -> Vec<u8> {
        run(fs.read(CX, path, 0, 0, u32::MAX)).unwrap().to_vec()
    }

    #[test]
    fn files_keep_what_is_written_and_follow_truncate() {
        let fs = Memfs::new(0, 0);
        run(fs.create(CX, "/a", 0o640, NONE)).unwrap();
        write(&fs, "/a", 0, "hello");
        write(&fs, "/a", 7, "!");
        assert_eq!(read_all(&fs, "/a"), b"hello\0\0!");
        run(fs.truncate(CX, "/a", 4, None)).unwrap();
        assert_eq!(read_all(&fs, "/a"), b"hell");
        let stat = run(fs.getattr(CX, "/a", None)).unwrap();
        assert_eq!((stat.size, stat.mode, stat.uid), (4, 0o640, 1000));
        assert_eq!(run(fs.read(CX, "/a", 0, 10, 5)).unwrap().len(), 0);
    }

    #[test]
    fn chmod_sets_the_permission_bits_only() {
        let fs = Memfs::new(0, 0);
        run(fs.create(CX, "/f", 0o644, NONE)).unwrap();
        run(fs.chmod(CX, "/f", 0o100_444)).unwrap();
        let stat = run(fs.getattr(CX, "/f", None)).unwrap();
        assert_eq!((stat.kind, stat.mode), (FileKind::File, 0o444));
        assert_eq!(run(fs.chmod(CX, "/missing", 0o644)), Err(Errno::ENOENT));
    }

    #[test]
    fn readdir_lists_direct_children_only() {
        let fs = Memfs::new(0, 0);
        run(fs.mkdir(CX, "/a", 0o755)).unwrap();
        run(fs.mkdir(CX, "/a/b", 0o755)).unwrap();
        run(fs.create(CX, "/a/b/c", 0o644, NONE)).unwrap();
        // Sorts between "/a" and "/a/": must not be taken for a child of /a.
        run(fs.create(CX, "/a-z", 0o644, NONE)).unwrap();
        assert_eq!(names(&fs, "/"), ["a", "a-z"]);
        assert_eq!(names(&fs, "/a"), ["b"]);
        assert_eq!(run(fs.readdir(CX, "/a-z", 0)), Err(Errno::ENOTDIR));
    }

    #[test]
    fn renaming_a_directory_moves_its_subtree() {
        let fs = Memfs::new(0, 0);
        run(fs.mkdir(CX, "/a", 0o755)).unwrap();
        run(fs.mkdir(CX, "/a/b", 0o755)).unwrap();
        run(fs.create(CX, "/a/b/c", 0o644, NONE)).unwrap();
        write(&fs, "/a/b/c", 0, "deep");
        run(fs.rename(CX, "/a", "/x", RenameMode::Replace)).unwrap();
        assert_eq!(read_all(&fs, "/x/b/c"), b"deep");
        assert_eq!(run(fs.getattr(CX, "/a", None)), Err(Errno::ENOENT));
        assert_eq!(
            run(fs.rename(CX, "/x", "/x/b/y", RenameMode::Replace)),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn rename_refuses_what_posix_refuses() {
        let fs = Memfs::new(0, 0);
        run(fs.mkdir(CX, "/d", 0o755)).unwrap();
        run(fs.create(CX, "/d/f", 0o644, NONE)).unwrap();
        run(fs.create(CX, "/f", 0o644, NONE)).unwrap();
        run(fs.mkdir(CX, "/e", 0o755)).unwrap();
        let rename = |from, to, mode| run(fs.rename(CX, from, to, mode));
        assert_eq!(
            rename("/f", "/d/f", RenameMode::NoReplace),
            Err(Errno::EEXIST)
        );
        assert_eq!(rename("/f", "/d", RenameMode::Replace), Err(Errno::EISDIR));
        assert_eq!(rename("/d", "/f", RenameMode::Replace), Err(Errno::ENOTDIR));
        assert_eq!(
            rename("/e", "/d", RenameMode::Replace),
            Err(Errno::ENOTEMPTY)
        );
        assert_eq!(rename("/d", "/e", RenameMode::Replace), Ok(()));
        assert_eq!(names(&fs, "/"), ["e", "f"]);
        assert_eq!(names(&fs, "/e"), ["f"]);
    }

    #[test]
    fn removal_checks_kind_and_emptiness() {
        let fs = Memfs::new(0, 0);
        run(fs.mkdir(CX, "/d", 0o755)).unwrap();
        run(fs.create(CX, "/d/f", 0o644, NONE)).unwrap();
        assert_eq!(run(fs.unlink(CX, "/d")), Err(Errno::EISDIR));
        assert_eq!(run(fs.rmdir(CX, "/d/f")), Err(Errno::ENOTDIR));
        assert_eq!(run(fs.rmdir(CX, "/d")), Err(Errno::ENOTEMPTY));
        run(fs.unlink(CX, "/d/f")).unwrap();
        run(fs.rmdir(CX, "/d")).unwrap();
        assert!(names(&fs, "/").is_empty());
        assert_eq!(run(fs.mkdir(CX, "/d/x", 0o755)), Err(Errno::ENOENT));
    }
}
