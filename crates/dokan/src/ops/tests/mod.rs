//! The callback logic against one shared fake dispatcher, [`Fake`], that answers from a small
//! in-memory tree and records every operation it is asked; each callback group's tests sit in
//! the file named like the module they test.

mod dir;
mod io;
mod metadata;
mod namespace;
mod open;
mod volume;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use mountkit_core::backing;
use mountkit_core::windows::attributes::{
    FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_NORMAL,
    FILE_ATTRIBUTE_NOT_CONTENT_INDEXED, FILE_ATTRIBUTE_OFFLINE, FILE_ATTRIBUTE_READONLY,
    FILE_ATTRIBUTE_SYSTEM, FILE_ATTRIBUTE_TEMPORARY,
};
use mountkit_core::windows::create::{
    DELETE, FILE_ALL_ACCESS, FILE_APPEND_DATA, FILE_CREATE, FILE_DELETE_ON_CLOSE,
    FILE_DIRECTORY_FILE, FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_LIST_DIRECTORY,
    FILE_NON_DIRECTORY_FILE, FILE_OPEN, FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF,
    FILE_READ_ATTRIBUTES, FILE_SUPERSEDE, GENERIC_READ, GENERIC_WRITE, MAXIMUM_ALLOWED,
    SYNCHRONIZE,
};
use mountkit_core::windows::filetime::UNIX_EPOCH_FILETIME;
use mountkit_core::windows::ntstatus::{
    STATUS_ACCESS_DENIED, STATUS_CANNOT_DELETE, STATUS_DELETE_PENDING, STATUS_DIRECTORY_NOT_EMPTY,
    STATUS_END_OF_FILE, STATUS_FILE_IS_A_DIRECTORY, STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER, STATUS_IO_DEVICE_ERROR, STATUS_IO_TIMEOUT,
    STATUS_MEDIA_WRITE_PROTECTED, STATUS_NAME_TOO_LONG, STATUS_NOT_A_DIRECTORY,
    STATUS_NOT_IMPLEMENTED, STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_COLLISION,
    STATUS_OBJECT_NAME_INVALID, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND,
    STATUS_SUCCESS,
};
use mountkit_core::windows::options::WindowsOptions;
use mountkit_core::windows::security::{FileSecurity, Principals};
use mountkit_core::{
    Backing, Bytes, DirEntry, Dispatch, Errno, FileKind, FsResult, Listing, OpenFlags, Opened,
    Operation, RenameMode, Reply, Request, SetTime, Stat, StatFs, WindowsAttributes,
};
use parking_lot::Mutex;

use super::*;
use crate::paths;
use crate::request::{Keepalive, NoKeepalive};

#[derive(Clone, Debug)]
struct Entry {
    kind: FileKind,
    data: Vec<u8>,
    mode: u32,
    ino: u64,
    mtime: SystemTime,
    birthtime: SystemTime,
    windows: WindowsAttributes,
}

/// An in-memory, case-sensitive POSIX filesystem that answers every request at once.
struct Fake {
    tree: Mutex<BTreeMap<String, Entry>>,
    log: Mutex<Vec<Operation>>,
    next: AtomicU64,
    open: Mutex<HashMap<u64, String>>,
    /// Operation name → error to answer instead.
    failures: Mutex<HashMap<&'static str, Errno>>,
    /// Paths whose `open` is answered with a backing file.
    backing: Mutex<HashMap<String, Arc<std::fs::File>>>,
    /// Whether `readdir` leaves metadata out.
    bare_listings: Mutex<bool>,
    /// Whether a no-replace rename of a directory is answered `EINVAL`, as by a filesystem
    /// that cannot do `RENAME_NOREPLACE` for directories (`examples/mirror.ts`).
    no_replace_files_only: Mutex<bool>,
    statfs: Mutex<FsResult<StatFs>>,
    /// Security descriptors stored by `set_security`, by path; `get_security` of any other
    /// path is `ENOSYS`, as from a filesystem that leaves them derived.
    security: Mutex<HashMap<String, String>>,
}

fn parent(path: &str) -> &str {
    paths::split(path).map_or("/", |(parent, _)| parent)
}

impl Fake {
    fn new() -> Fake {
        let fake = Fake {
            tree: Mutex::new(BTreeMap::new()),
            log: Mutex::new(Vec::new()),
            next: AtomicU64::new(100),
            open: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            backing: Mutex::new(HashMap::new()),
            bare_listings: Mutex::new(false),
            no_replace_files_only: Mutex::new(false),
            security: Mutex::new(HashMap::new()),
            statfs: Mutex::new(Ok(StatFs {
                blocks: 1000,
                blocks_free: 600,
                blocks_available: 500,
                ..StatFs::default()
            })),
        };
        fake.put("/", FileKind::Directory, b"");
        fake
    }

    fn put(&self, path: &str, kind: FileKind, data: &[u8]) {
        let ino = self.next.fetch_add(1, Ordering::Relaxed);
        self.tree.lock().insert(
            path.to_owned(),
            Entry {
                kind,
                data: data.to_vec(),
                mode: if kind == FileKind::Directory {
                    0o755
                } else {
                    0o644
                },
                ino,
                mtime: SystemTime::UNIX_EPOCH,
                birthtime: SystemTime::UNIX_EPOCH,
                windows: WindowsAttributes::default(),
            },
        );
    }

    fn file(&self, path: &str, data: &[u8]) {
        self.put(path, FileKind::File, data);
    }

    fn dir(&self, path: &str) {
        self.put(path, FileKind::Directory, b"");
    }

    fn exists(&self, path: &str) -> bool {
        self.tree.lock().contains_key(path)
    }

    fn data(&self, path: &str) -> Vec<u8> {
        self.tree.lock()[path].data.clone()
    }

    fn fail(&self, operation: &'static str, errno: Errno) {
        self.failures.lock().insert(operation, errno);
    }

    fn take_log(&self) -> Vec<Operation> {
        std::mem::take(&mut *self.log.lock())
    }

    fn names(&self) -> Vec<&'static str> {
        self.take_log().iter().map(Operation::name).collect()
    }

    fn stat(&self, entry: &Entry) -> Stat {
        Stat {
            size: entry.data.len() as u64,
            mode: entry.mode,
            ino: entry.ino,
            mtime: entry.mtime,
            birthtime: entry.birthtime,
            windows: entry.windows,
            ..Stat::new(entry.kind)
        }
    }

    fn lookup(&self, path: &str) -> FsResult<Entry> {
        let tree = self.tree.lock();
        if let Some(entry) = tree.get(path) {
            return Ok(entry.clone());
        }
        let mut ancestor = parent(path);
        loop {
            match tree.get(ancestor) {
                Some(entry) if entry.kind != FileKind::Directory => return Err(Errno::ENOTDIR),
                Some(_) => return Err(Errno::ENOENT),
                None if ancestor == "/" => return Err(Errno::ENOENT),
                None => ancestor = parent(ancestor),
            }
        }
    }

    fn handle(&self, path: &str) -> u64 {
        let handle = self.next.fetch_add(1, Ordering::Relaxed);
        self.open.lock().insert(handle, path.to_owned());
        handle
    }

    fn children(&self, path: &str) -> Vec<(String, Entry)> {
        self.tree
            .lock()
            .iter()
            .filter(|(child, _)| child.as_str() != "/" && parent(child) == path)
            .map(|(child, entry)| (paths::split(child).unwrap().1.to_owned(), entry.clone()))
            .collect()
    }

    fn make(&self, path: &str, kind: FileKind, mode: u32) -> FsResult<()> {
        if self.exists(path) {
            return Err(Errno::EEXIST);
        }
        match self.lookup(parent(path)) {
            Ok(entry) if entry.kind == FileKind::Directory => {}
            Ok(_) => return Err(Errno::ENOTDIR),
            Err(e) => return Err(e),
        }
        self.put(path, kind, b"");
        self.tree.lock().get_mut(path).unwrap().mode = mode;
        Ok(())
    }

    fn answer(&self, operation: &Operation) -> FsResult<Reply> {
        if let Some(errno) = self.failures.lock().get(operation.name()) {
            return Err(*errno);
        }
        use Operation as O;
        match operation {
            O::Getattr { path, .. } => Ok(Reply::Stat(self.stat(&self.lookup(path)?))),
            O::Open { path, .. } => {
                if self.lookup(path)?.kind == FileKind::Directory {
                    return Err(Errno::EISDIR);
                }
                Ok(Reply::Opened(Opened {
                    handle: self.handle(path),
                    backing: self.backing.lock().get(path).cloned().map(Backing),
                    ..Opened::default()
                }))
            }
            O::Opendir { path, .. } => {
                if self.lookup(path)?.kind != FileKind::Directory {
                    return Err(Errno::ENOTDIR);
                }
                Ok(Reply::Opened(Opened {
                    handle: self.handle(path),
                    ..Opened::default()
                }))
            }
            O::Release { handle, .. } | O::Releasedir { handle, .. } => {
                match self.open.lock().remove(handle) {
                    Some(_) => Ok(Reply::Empty),
                    None => Err(Errno::EBADF),
                }
            }
            O::Readdir { path, handle } => {
                if !self.open.lock().contains_key(handle) {
                    return Err(Errno::EBADF);
                }
                let bare = *self.bare_listings.lock();
                let entries = self
                    .children(path)
                    .into_iter()
                    .map(|(name, entry)| DirEntry {
                        name,
                        kind: entry.kind,
                        stat: (!bare).then(|| self.stat(&entry)),
                    })
                    .collect();
                Ok(Reply::Entries(Listing::new(entries).0))
            }
            O::Read {
                path, offset, size, ..
            } => {
                let data = self.lookup(path)?.data;
                let start = (*offset as usize).min(data.len());
                let end = (start + *size as usize).min(data.len());
                Ok(Reply::Data(Bytes::copy_from_slice(&data[start..end])))
            }
            O::Write {
                path, offset, data, ..
            } => {
                let mut tree = self.tree.lock();
                let entry = tree.get_mut(path).ok_or(Errno::ENOENT)?;
                let end = *offset as usize + data.len();
                if entry.data.len() < end {
                    entry.data.resize(end, 0);
                }
                entry.data[*offset as usize..end].copy_from_slice(data);
                Ok(Reply::Count(data.len() as u64))
            }
            O::Create { path, mode, .. } => {
                self.make(path, FileKind::File, *mode)?;
                Ok(Reply::Opened(Opened {
                    handle: self.handle(path),
                    ..Opened::default()
                }))
            }
            O::Mkdir { path, mode } => {
                self.make(path, FileKind::Directory, *mode)?;
                Ok(Reply::Empty)
            }
            O::Unlink { path } => match self.lookup(path)?.kind {
                FileKind::Directory => Err(Errno::EISDIR),
                _ => {
                    self.tree.lock().remove(path);
                    Ok(Reply::Empty)
                }
            },
            O::Rmdir { path } => {
                if self.lookup(path)?.kind != FileKind::Directory {
                    return Err(Errno::ENOTDIR);
                }
                if !self.children(path).is_empty() {
                    return Err(Errno::ENOTEMPTY);
                }
                self.tree.lock().remove(path);
                Ok(Reply::Empty)
            }
            O::Rename { from, to, mode } => {
                let moved = self.lookup(from)?;
                if *mode == RenameMode::NoReplace
                    && moved.kind == FileKind::Directory
                    && *self.no_replace_files_only.lock()
                {
                    return Err(Errno::EINVAL);
                }
                if *mode == RenameMode::NoReplace && self.exists(to) {
                    return Err(Errno::EEXIST);
                }
                let mut tree = self.tree.lock();
                let moving: Vec<String> = tree
                    .keys()
                    .filter(|key| paths::is_within(key, from))
                    .cloned()
                    .collect();
                let entries: Vec<(String, Entry)> = moving
                    .iter()
                    .map(|key| (key.clone(), tree.remove(key).unwrap()))
                    .collect();
                for (key, entry) in entries {
                    tree.insert(format!("{to}{}", &key[from.len()..]), entry);
                }
                Ok(Reply::Empty)
            }
            O::Truncate { path, size, .. } => {
                let mut tree = self.tree.lock();
                let entry = tree.get_mut(path).ok_or(Errno::ENOENT)?;
                entry.data.resize(*size as usize, 0);
                Ok(Reply::Empty)
            }
            O::Chmod { path, mode } => {
                let mut tree = self.tree.lock();
                tree.get_mut(path).ok_or(Errno::ENOENT)?.mode = *mode;
                Ok(Reply::Empty)
            }
            O::Utimens { path, mtime, .. } => {
                let mut tree = self.tree.lock();
                let entry = tree.get_mut(path).ok_or(Errno::ENOENT)?;
                if let Some(SetTime::At(time)) = mtime {
                    entry.mtime = *time;
                }
                Ok(Reply::Empty)
            }
            O::SetAttributes {
                path,
                attributes,
                birthtime,
            } => {
                let mut tree = self.tree.lock();
                let entry = tree.get_mut(path).ok_or(Errno::ENOENT)?;
                if let Some(attributes) = attributes {
                    entry.windows = *attributes;
                }
                if let Some(SetTime::At(time)) = birthtime {
                    entry.birthtime = *time;
                }
                Ok(Reply::Empty)
            }
            O::Statfs { .. } => self.statfs.lock().clone().map(Reply::StatFs),
            O::GetSecurity { path } => self
                .security
                .lock()
                .get(path)
                .cloned()
                .map(Reply::Target)
                .ok_or(Errno::ENOSYS),
            O::SetSecurity { path, sddl } => {
                self.security.lock().insert(path.clone(), sddl.clone());
                Ok(Reply::Empty)
            }
            O::Flush { .. } | O::Fsync { .. } | O::Fsyncdir { .. } => Ok(Reply::Empty),
            _ => Err(Errno::ENOSYS),
        }
    }
}

impl Dispatch for Fake {
    fn dispatch(&self, request: Request) {
        let answer = self.answer(&request.operation);
        self.log.lock().push(request.operation);
        request.responder.respond(answer);
    }
}

/// Forwards to a shared [`Fake`], so a test keeps a handle on it.
struct Shared(Arc<Fake>);

impl Dispatch for Shared {
    fn dispatch(&self, request: Request) {
        self.0.dispatch(request);
    }
}

const CALL: Call<'static> = Call {
    process_id: 42,
    keepalive: &NoKeepalive,
};

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().collect()
}

struct Mount {
    fake: Arc<Fake>,
    fs: DokanFs,
}

/// Who the ids of the fake's files stand for.
fn principals() -> Principals {
    Principals {
        user: "S-1-5-21-1-2-3-1001".to_owned(),
        group: "S-1-5-21-1-2-3-513".to_owned(),
        account_domain: None,
        primary_domain: None,
    }
}

fn mount_with(options: WindowsOptions) -> Mount {
    let fake = Arc::new(Fake::new());
    let fs = DokanFs::new(
        Arc::new(Shared(fake.clone())),
        &options,
        FileSecurity::Ownership(principals()),
    );
    Mount { fake, fs }
}

fn mount() -> Mount {
    mount_with(WindowsOptions::default())
}

impl Mount {
    fn create(&self, name: &str, disposition: u32, options: u32, access: u32) -> CreateOutcome {
        self.create_with(name, disposition, options, access, 0)
    }

    /// [`Mount::create`] asking for the attributes `file_attributes`.
    fn create_with(
        &self,
        name: &str,
        disposition: u32,
        options: u32,
        access: u32,
        file_attributes: u32,
    ) -> CreateOutcome {
        self.fs.create(
            &CALL,
            &CreateRequest {
                file_name: &wide(name),
                desired_access: access,
                file_attributes,
                create_disposition: disposition,
                create_options: options,
                prior_context: 0,
                asked_security: None,
            },
        )
    }

    /// Opens `name` with `access`; panics unless it opens.
    fn open(&self, name: &str, access: u32) -> u64 {
        let outcome = self.create(name, FILE_OPEN, 0, access);
        assert_eq!(outcome.status, STATUS_SUCCESS, "opening {name}");
        assert!(outcome.opened());
        outcome.context
    }

    fn finish(&self, context: u64) {
        self.fs.cleanup(&CALL, context);
        self.fs.close(&CALL, context);
    }
}
