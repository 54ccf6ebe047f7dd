//! A small in-memory filesystem behind a [`Dispatch`] that records every operation, for
//! driving the engine the way WinFsp would.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use mountkit_core::{
    Bytes, DirEntry, Dispatch, Errno, FileKind, FsResult, Listing, OpenFlags, Opened, Operation,
    RenameMode, Reply, Request, Responder, SetTime, Stat, StatFs,
};
use parking_lot::Mutex;

/// How the fake answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answering {
    /// On the thread that dispatched the request.
    Inline,
    /// From a new thread, after a pause.
    Later(Duration),
    /// Never: the responder is kept, unanswered.
    Never,
}

struct Node {
    stat: Stat,
    data: Vec<u8>,
}

struct State {
    nodes: BTreeMap<String, Node>,
    handles: HashMap<u64, String>,
    next_handle: u64,
    next_ino: u64,
    log: Vec<Operation>,
    failures: HashMap<&'static str, Errno>,
    list_stats: bool,
    /// Whether `create` answers with the new file's stat.
    create_stats: bool,
    /// Whether a no-replace rename of a directory is answered `EINVAL`, as by a filesystem
    /// that cannot do `RENAME_NOREPLACE` for directories (`examples/mirror.ts`).
    no_replace_files_only: bool,
    /// Security descriptors stored by `set_security`, by path, gone with their file;
    /// `get_security` of any other path is `ENOSYS`, as from a filesystem that leaves them
    /// derived.
    security: HashMap<String, String>,
    answering: Answering,
    kept: Vec<Responder>,
}

impl State {
    /// Adds a node at `path` with `data`, numbered with the next inode number.
    fn add(&mut self, path: &str, mut stat: Stat, data: &[u8]) {
        stat.ino = self.next_ino;
        self.next_ino += 1;
        stat.size = data.len() as u64;
        let data = data.to_vec();
        self.nodes.insert(path.to_owned(), Node { stat, data });
    }
}

/// The fake filesystem.
pub(super) struct FakeFs {
    state: Mutex<State>,
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(index) => &path[..index],
    }
}

fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

impl FakeFs {
    /// An empty root directory.
    pub(super) fn new() -> Arc<FakeFs> {
        let fs = FakeFs {
            state: Mutex::new(State {
                nodes: BTreeMap::new(),
                handles: HashMap::new(),
                next_handle: 100,
                next_ino: 1,
                log: Vec::new(),
                failures: HashMap::new(),
                list_stats: true,
                create_stats: false,
                no_replace_files_only: false,
                security: HashMap::new(),
                answering: Answering::Inline,
                kept: Vec::new(),
            }),
        };
        fs.insert("/", FileKind::Directory, b"");
        Arc::new(fs)
    }

    fn insert(&self, path: &str, kind: FileKind, data: &[u8]) {
        self.state.lock().add(path, Stat::new(kind), data);
    }

    /// Adds a file with `data`.
    pub(super) fn file(&self, path: &str, data: &[u8]) {
        self.insert(path, FileKind::File, data);
    }

    /// Adds a directory.
    pub(super) fn dir(&self, path: &str) {
        self.insert(path, FileKind::Directory, b"");
    }

    /// Adds a symbolic link to `target`.
    pub(super) fn symlink(&self, path: &str, target: &str) {
        self.insert(path, FileKind::Symlink, target.as_bytes());
    }

    /// Changes the stat of `path`.
    pub(super) fn edit(&self, path: &str, change: impl FnOnce(&mut Stat)) {
        change(&mut self.state.lock().nodes.get_mut(path).unwrap().stat);
    }

    /// The content of `path`, if it exists.
    pub(super) fn data(&self, path: &str) -> Option<Vec<u8>> {
        self.state
            .lock()
            .nodes
            .get(path)
            .map(|node| node.data.clone())
    }

    /// The stat of `path`, if it exists.
    pub(super) fn stat(&self, path: &str) -> Option<Stat> {
        self.state
            .lock()
            .nodes
            .get(path)
            .map(|node| node.stat.clone())
    }

    /// The security descriptor stored for `path`, if any.
    pub(super) fn security(&self, path: &str) -> Option<String> {
        self.state.lock().security.get(path).cloned()
    }

    /// Stores a security descriptor for `path`, as `set_security` would.
    pub(super) fn secure(&self, path: &str, sddl: &str) {
        self.state
            .lock()
            .security
            .insert(path.to_owned(), sddl.to_owned());
    }

    /// Whether `path` exists.
    pub(super) fn exists(&self, path: &str) -> bool {
        self.state.lock().nodes.contains_key(path)
    }

    /// Makes every later operation named `op` fail with `errno`.
    pub(super) fn fail(&self, op: &'static str, errno: Errno) {
        self.state.lock().failures.insert(op, errno);
    }

    /// Whether `readdir` includes each entry's metadata.
    pub(super) fn list_stats(&self, on: bool) {
        self.state.lock().list_stats = on;
    }

    /// Whether `create` answers with the new file's stat along with its handle.
    pub(super) fn create_stats(&self, on: bool) {
        self.state.lock().create_stats = on;
    }

    /// Whether a no-replace rename of a directory is answered `EINVAL`.
    pub(super) fn no_replace_files_only(&self, on: bool) {
        self.state.lock().no_replace_files_only = on;
    }

    /// How later requests are answered.
    pub(super) fn answering(&self, answering: Answering) {
        self.state.lock().answering = answering;
    }

    /// The names of the operations received so far, and forgets them.
    pub(super) fn take_log(&self) -> Vec<Operation> {
        std::mem::take(&mut self.state.lock().log)
    }

    /// The operation names received so far, and forgets them.
    pub(super) fn take_names(&self) -> Vec<&'static str> {
        self.take_log().iter().map(Operation::name).collect()
    }

    /// How many handles are open.
    pub(super) fn open_handles(&self) -> usize {
        self.state.lock().handles.len()
    }

    fn open_handle(state: &mut State, path: &str) -> Opened {
        let handle = state.next_handle;
        state.next_handle += 1;
        state.handles.insert(handle, path.to_owned());
        Opened {
            handle,
            ..Opened::default()
        }
    }

    fn answer(state: &mut State, operation: Operation) -> FsResult<Reply> {
        use Operation as O;
        if let Some(&errno) = state.failures.get(operation.name()) {
            return Err(errno);
        }
        let now = SystemTime::now();
        match operation {
            O::Getattr { path, handle } => {
                let path = match handle {
                    Some(handle) => state.handles.get(&handle).cloned().ok_or(Errno::EBADF)?,
                    None => path,
                };
                let node = state.nodes.get(&path).ok_or(Errno::ENOENT)?;
                Ok(Reply::Stat(node.stat.clone()))
            }
            O::Readdir { path, handle } => {
                if !state.handles.contains_key(&handle) {
                    return Err(Errno::EBADF);
                }
                let prefix = if path == "/" {
                    "/".to_owned()
                } else {
                    format!("{path}/")
                };
                let entries = state
                    .nodes
                    .iter()
                    .filter(|(p, _)| {
                        p.len() > prefix.len()
                            && p.starts_with(&prefix)
                            && !p[prefix.len()..].contains('/')
                    })
                    .map(|(p, node)| DirEntry {
                        name: name(p).to_owned(),
                        kind: node.stat.kind,
                        stat: state.list_stats.then(|| node.stat.clone()),
                    })
                    .collect();
                Ok(Reply::Entries(Listing::new(entries).0))
            }
            O::Open { path, .. } => {
                if !state.nodes.contains_key(&path) {
                    return Err(Errno::ENOENT);
                }
                Ok(Reply::Opened(Self::open_handle(state, &path)))
            }
            O::Opendir { path, .. } => match state.nodes.get(&path) {
                None => Err(Errno::ENOENT),
                Some(node) if node.stat.kind != FileKind::Directory => Err(Errno::ENOTDIR),
                Some(_) => Ok(Reply::Opened(Self::open_handle(state, &path))),
            },
            O::Release { handle, .. } | O::Releasedir { handle, .. } => {
                state.handles.remove(&handle).ok_or(Errno::EBADF)?;
                Ok(Reply::Empty)
            }
            O::Read {
                handle,
                offset,
                size,
                ..
            } => {
                let path = state.handles.get(&handle).ok_or(Errno::EBADF)?;
                let data = &state.nodes.get(path).ok_or(Errno::ENOENT)?.data;
                let start = (offset as usize).min(data.len());
                // Answers more than asked, to check that the backend cuts it.
                let end = (start + size as usize + 3).min(data.len());
                Ok(Reply::Data(Bytes::copy_from_slice(&data[start..end])))
            }
            O::Write {
                handle,
                offset,
                data,
                ..
            } => {
                let path = state.handles.get(&handle).ok_or(Errno::EBADF)?.clone();
                let node = state.nodes.get_mut(&path).ok_or(Errno::ENOENT)?;
                let end = offset as usize + data.len();
                if node.data.len() < end {
                    node.data.resize(end, 0);
                }
                node.data[offset as usize..end].copy_from_slice(&data);
                node.stat.size = node.data.len() as u64;
                node.stat.mtime = now;
                Ok(Reply::Count(data.len() as u64))
            }
            O::Create { path, mode, flags } => {
                if state.nodes.contains_key(&path) {
                    if flags.0 & OpenFlags::EXCLUSIVE != 0 {
                        return Err(Errno::EEXIST);
                    }
                } else {
                    if !state.nodes.contains_key(parent(&path)) {
                        return Err(Errno::ENOENT);
                    }
                    let mut stat = Stat::new(FileKind::File);
                    stat.mode = mode;
                    state.add(&path, stat, b"");
                }
                let mut opened = Self::open_handle(state, &path);
                if state.create_stats {
                    opened.stat = Some(state.nodes[&path].stat.clone());
                }
                Ok(Reply::Opened(opened))
            }
            O::Mkdir { path, mode } => {
                if state.nodes.contains_key(&path) {
                    return Err(Errno::EEXIST);
                }
                let mut stat = Stat::new(FileKind::Directory);
                stat.mode = mode;
                state.add(&path, stat, b"");
                Ok(Reply::Empty)
            }
            O::Unlink { path } => {
                let node = state.nodes.get(&path).ok_or(Errno::ENOENT)?;
                if node.stat.kind == FileKind::Directory {
                    return Err(Errno::EISDIR);
                }
                state.nodes.remove(&path);
                state.security.remove(&path);
                Ok(Reply::Empty)
            }
            O::Rmdir { path } => {
                let prefix = format!("{path}/");
                if state.nodes.keys().any(|p| p.starts_with(&prefix)) {
                    return Err(Errno::ENOTEMPTY);
                }
                state.nodes.remove(&path).ok_or(Errno::ENOENT)?;
                state.security.remove(&path);
                Ok(Reply::Empty)
            }
            O::Rename { from, to, mode } => {
                let moved = state.nodes.get(&from).ok_or(Errno::ENOENT)?;
                if mode == RenameMode::NoReplace
                    && moved.stat.kind == FileKind::Directory
                    && state.no_replace_files_only
                {
                    return Err(Errno::EINVAL);
                }
                if mode == RenameMode::NoReplace && state.nodes.contains_key(&to) {
                    return Err(Errno::EEXIST);
                }
                let moved: Vec<String> = state
                    .nodes
                    .keys()
                    .filter(|p| **p == from || p.starts_with(&format!("{from}/")))
                    .cloned()
                    .collect();
                for old in moved {
                    let node = state.nodes.remove(&old).unwrap();
                    state
                        .nodes
                        .insert(format!("{to}{}", &old[from.len()..]), node);
                }
                for open in state.handles.values_mut() {
                    if *open == from || open.starts_with(&format!("{from}/")) {
                        *open = format!("{to}{}", &open[from.len()..]);
                    }
                }
                Ok(Reply::Empty)
            }
            O::Truncate { path, size, handle } => {
                let path = match handle {
                    Some(handle) => state.handles.get(&handle).cloned().ok_or(Errno::EBADF)?,
                    None => path,
                };
                let node = state.nodes.get_mut(&path).ok_or(Errno::ENOENT)?;
                node.data.resize(size as usize, 0);
                node.stat.size = size;
                Ok(Reply::Empty)
            }
            O::Chmod { path, mode } => {
                state.nodes.get_mut(&path).ok_or(Errno::ENOENT)?.stat.mode = mode;
                Ok(Reply::Empty)
            }
            O::Utimens { path, atime, mtime } => {
                let stat = &mut state.nodes.get_mut(&path).ok_or(Errno::ENOENT)?.stat;
                let at = |time: SetTime| match time {
                    SetTime::At(time) => time,
                    SetTime::Now => now,
                };
                if let Some(atime) = atime {
                    stat.atime = at(atime);
                }
                if let Some(mtime) = mtime {
                    stat.mtime = at(mtime);
                }
                Ok(Reply::Empty)
            }
            O::SetAttributes {
                path,
                attributes,
                birthtime,
            } => {
                let stat = &mut state.nodes.get_mut(&path).ok_or(Errno::ENOENT)?.stat;
                if let Some(attributes) = attributes {
                    stat.windows = attributes;
                }
                if let Some(birthtime) = birthtime {
                    stat.birthtime = match birthtime {
                        SetTime::At(time) => time,
                        SetTime::Now => now,
                    };
                }
                Ok(Reply::Empty)
            }
            O::Symlink { target, path } => {
                if state.nodes.contains_key(&path) {
                    return Err(Errno::EEXIST);
                }
                state.add(&path, Stat::new(FileKind::Symlink), target.as_bytes());
                Ok(Reply::Empty)
            }
            O::Readlink { path } => {
                let node = state.nodes.get(&path).ok_or(Errno::ENOENT)?;
                if node.stat.kind != FileKind::Symlink {
                    return Err(Errno::EINVAL);
                }
                Ok(Reply::Target(
                    String::from_utf8_lossy(&node.data).into_owned(),
                ))
            }
            O::Statfs { .. } => Ok(Reply::StatFs(StatFs {
                blocks: 1000,
                blocks_free: 600,
                blocks_available: 500,
                ..StatFs::default()
            })),
            O::Flush { .. } | O::Fsync { .. } | O::Fsyncdir { .. } => Ok(Reply::Empty),
            O::GetSecurity { path } => state
                .security
                .get(&path)
                .cloned()
                .map(Reply::Target)
                .ok_or(Errno::ENOSYS),
            O::SetSecurity { path, sddl } => {
                state.security.insert(path, sddl);
                Ok(Reply::Empty)
            }
            _ => Err(Errno::ENOSYS),
        }
    }
}

impl Dispatch for FakeFs {
    fn dispatch(&self, request: Request) {
        let Request {
            operation,
            responder,
            ..
        } = request;
        let (answer, answering) = {
            let mut state = self.state.lock();
            state.log.push(operation.clone());
            (Self::answer(&mut state, operation), state.answering)
        };
        match answering {
            Answering::Inline => responder.respond(answer),
            Answering::Later(pause) => {
                thread::spawn(move || {
                    thread::sleep(pause);
                    responder.respond(answer);
                });
            }
            Answering::Never => self.state.lock().kept.push(responder),
        }
    }
}
