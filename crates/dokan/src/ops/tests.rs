//! The callback logic against a fake dispatcher that answers from a small in-memory tree and
//! records every operation it is asked.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use mountkit_core::windows::attributes::{FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_HIDDEN};
use mountkit_core::windows::create::{
    FILE_ALL_ACCESS, FILE_APPEND_DATA, FILE_CREATE, FILE_DELETE_ON_CLOSE, FILE_DIRECTORY_FILE,
    FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_LIST_DIRECTORY, FILE_NON_DIRECTORY_FILE, FILE_OPEN,
    FILE_OVERWRITE, FILE_READ_ATTRIBUTES, GENERIC_READ, GENERIC_WRITE, MAXIMUM_ALLOWED,
    SYNCHRONIZE,
};
use mountkit_core::windows::filetime::UNIX_EPOCH_FILETIME;
use mountkit_core::windows::ntstatus::{
    STATUS_DIRECTORY_NOT_EMPTY, STATUS_FILE_IS_A_DIRECTORY, STATUS_IO_DEVICE_ERROR,
    STATUS_IO_TIMEOUT, STATUS_NAME_TOO_LONG, STATUS_OBJECT_NAME_INVALID,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND,
};
use mountkit_core::Bytes;
use mountkit_core::{Backing, Opened, RenameMode, Request, StatFs};
use parking_lot::Mutex;

use super::*;
use crate::request::NoKeepalive;

#[derive(Clone, Debug)]
struct Entry {
    kind: FileKind,
    data: Vec<u8>,
    mode: u32,
    ino: u64,
    mtime: SystemTime,
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
            O::Statfs { .. } => self.statfs.lock().clone().map(Reply::StatFs),
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

fn mount_with(options: WindowsOptions) -> Mount {
    let fake = Arc::new(Fake::new());
    let fs = DokanFs::new(Arc::new(Shared(fake.clone())), &options);
    Mount { fake, fs }
}

fn mount() -> Mount {
    mount_with(WindowsOptions::default())
}

impl Mount {
    fn create(&self, name: &str, disposition: u32, options: u32, access: u32) -> CreateOutcome {
        self.fs.create(
            &CALL,
            &CreateRequest {
                file_name: &wide(name),
                desired_access: access,
                file_attributes: 0,
                create_disposition: disposition,
                create_options: options,
                prior_context: 0,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Opened the existing object, with this status; truncated or not.
    Opened(i32, bool),
    /// Created a file.
    NewFile,
    /// Created a directory.
    NewDir,
    /// Failed with this status.
    Fails(i32),
}
use Expect::*;

const DISPOSITIONS: [u32; 6] = [0, 1, 2, 3, 4, 5];

/// Runs every disposition with no option, `FILE_DIRECTORY_FILE` and
/// `FILE_NON_DIRECTORY_FILE` against `/x`, prepared by `setup`, and checks `expected`.
fn check_dispositions(setup: fn(&Fake), expected: [[Expect; 3]; 6]) {
    for (disposition, row) in DISPOSITIONS.into_iter().zip(expected) {
        for (options, want) in [0, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE]
            .into_iter()
            .zip(row)
        {
            let m = mount();
            setup(&m.fake);
            let existed = m.fake.exists("/x");
            let outcome = m.create("\\x", disposition, options, GENERIC_READ | GENERIC_WRITE);
            let what = format!("disposition {disposition}, options {options:#x}");
            let ops = m.fake.names();
            match want {
                Opened(status, truncated) => {
                    assert_eq!(outcome.status, status, "{what}");
                    assert!(outcome.opened(), "{what}");
                    assert_eq!(ops.contains(&"truncate"), truncated, "{what}: {ops:?}");
                    let kind = m.fake.lookup("/x").unwrap().kind;
                    assert_eq!(outcome.is_directory, kind == FileKind::Directory, "{what}");
                    if kind == FileKind::File {
                        assert_eq!(m.fake.data("/x").is_empty(), truncated, "{what}");
                    }
                }
                NewFile | NewDir => {
                    assert!(!existed);
                    assert_eq!(outcome.status, STATUS_SUCCESS, "{what}");
                    assert_eq!(outcome.is_directory, want == NewDir, "{what}");
                    let made = if want == NewDir { "mkdir" } else { "create" };
                    assert!(ops.contains(&made), "{what}: {ops:?}");
                    assert_eq!(
                        m.fake.lookup("/x").unwrap().kind == FileKind::Directory,
                        want == NewDir
                    );
                }
                Fails(status) => {
                    assert_eq!(outcome.status, status, "{what}");
                    assert!(!outcome.opened(), "{what}");
                    assert_eq!(m.fs.open_count(), 0, "{what}");
                    assert!(m.fake.open.lock().is_empty(), "{what}: nothing left open");
                    assert_eq!(m.fake.exists("/x"), existed, "{what}");
                }
            }
            if outcome.opened() {
                m.finish(outcome.context);
                assert!(m.fake.open.lock().is_empty(), "{what}: released");
                assert_eq!(m.fs.open_count(), 0);
            }
        }
    }
}

const COLLISION: i32 = STATUS_OBJECT_NAME_COLLISION;

#[test]
fn every_disposition_on_an_existing_file() {
    let invalid = Fails(STATUS_INVALID_PARAMETER);
    let not_dir = Fails(STATUS_NOT_A_DIRECTORY);
    check_dispositions(
        |fake| fake.file("/x", b"content"),
        [
            [Opened(COLLISION, true), invalid, Opened(COLLISION, true)], // FILE_SUPERSEDE
            [
                Opened(STATUS_SUCCESS, false),
                not_dir,
                Opened(STATUS_SUCCESS, false),
            ], // FILE_OPEN
            [Fails(COLLISION), Fails(COLLISION), Fails(COLLISION)],      // FILE_CREATE
            [Opened(COLLISION, false), not_dir, Opened(COLLISION, false)], // FILE_OPEN_IF
            [
                Opened(STATUS_SUCCESS, true),
                invalid,
                Opened(STATUS_SUCCESS, true),
            ], // FILE_OVERWRITE
            [Opened(COLLISION, true), invalid, Opened(COLLISION, true)], // FILE_OVERWRITE_IF
        ],
    );
}

#[test]
fn every_disposition_on_an_existing_directory() {
    let invalid = Fails(STATUS_INVALID_PARAMETER);
    let is_dir = Fails(STATUS_FILE_IS_A_DIRECTORY);
    check_dispositions(
        |fake| fake.dir("/x"),
        [
            [is_dir, invalid, is_dir],
            [
                Opened(STATUS_SUCCESS, false),
                Opened(STATUS_SUCCESS, false),
                is_dir,
            ],
            [Fails(COLLISION), Fails(COLLISION), Fails(COLLISION)],
            [Opened(COLLISION, false), Opened(COLLISION, false), is_dir],
            [is_dir, invalid, is_dir],
            [is_dir, invalid, is_dir],
        ],
    );
}

#[test]
fn every_disposition_on_a_missing_name() {
    let invalid = Fails(STATUS_INVALID_PARAMETER);
    let missing = Fails(STATUS_OBJECT_NAME_NOT_FOUND);
    check_dispositions(
        |_| {},
        [
            [NewFile, invalid, NewFile],
            [missing, missing, missing],
            [NewFile, NewDir, NewFile],
            [NewFile, NewDir, NewFile],
            [missing, invalid, missing],
            [NewFile, invalid, NewFile],
        ],
    );
}

#[test]
fn a_missing_parent_is_path_not_found() {
    let m = mount();
    let outcome = m.create("\\nope\\file", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(outcome.status, STATUS_OBJECT_PATH_NOT_FOUND);
    let outcome = m.create("\\nope\\file", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_OBJECT_PATH_NOT_FOUND);
    m.fake.file("/f", b"");
    let outcome = m.create("\\f\\child", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(
        outcome.status, STATUS_OBJECT_PATH_NOT_FOUND,
        "a file used as a directory"
    );
    let sensitive = mount_with(WindowsOptions {
        case_insensitive: false,
        ..Default::default()
    });
    let outcome = sensitive.create("\\nope\\file", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(outcome.status, STATUS_OBJECT_PATH_NOT_FOUND);
    let outcome = sensitive.create("\\file", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(outcome.status, STATUS_OBJECT_NAME_NOT_FOUND);
}

#[test]
fn opens_release_their_handle_at_close() {
    let m = mount();
    m.fake.file("/f", b"data");
    let context = m.open("\\f", GENERIC_READ);
    assert_eq!(m.fake.names(), ["getattr", "open"]);
    m.fs.cleanup(&CALL, context);
    assert_eq!(m.fake.names(), ["flush"]);
    m.fs.close(&CALL, context);
    assert_eq!(m.fake.names(), ["release"]);
    assert!(m.fake.open.lock().is_empty());
    assert_eq!(m.fs.open_count(), 0);
}

#[test]
fn metadata_opens_do_not_open_until_data_is_needed() {
    let m = mount();
    m.fake.file("/f", b"data");
    let context = m.open("\\f", FILE_READ_ATTRIBUTES | SYNCHRONIZE);
    assert_eq!(m.fake.names(), ["getattr"]);
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.size, 4);
    assert_eq!(
        m.fake.take_log(),
        [Operation::Getattr {
            path: "/f".into(),
            handle: None
        }]
    );
    let mut buffer = [0u8; 8];
    assert_eq!(m.fs.read(&CALL, context, &mut buffer, 0), Ok(4));
    assert_eq!(
        m.fake.names(),
        ["open", "read"],
        "opened lazily for the read"
    );
    m.finish(context);
    assert!(m.fake.open.lock().is_empty());
}

#[test]
fn truncating_opens_truncate_through_the_new_handle() {
    let m = mount();
    m.fake.file("/f", b"data");
    let outcome = m.create("\\f", FILE_OVERWRITE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_SUCCESS);
    let log = m.fake.take_log();
    let Operation::Open { flags, .. } = &log[1] else {
        panic!("{log:?}")
    };
    assert_eq!(
        flags.0 & OpenFlags::TRUNCATE,
        0,
        "O_TRUNC is not passed on, as in FUSE"
    );
    let Operation::Truncate { size, handle, .. } = &log[2] else {
        panic!("{log:?}")
    };
    assert_eq!(*size, 0);
    assert!(handle.is_some());
    m.finish(outcome.context);
}

#[test]
fn a_failure_after_open_releases_the_handle() {
    let m = mount();
    m.fake.file("/f", b"data");
    m.fake.fail("truncate", Errno::EPERM);
    let outcome = m.create("\\f", FILE_OVERWRITE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_ACCESS_DENIED);
    assert_eq!(outcome.context, 0, "no DELETE access was asked");
    assert_eq!(m.fake.names(), ["getattr", "open", "truncate", "release"]);
    assert_eq!(m.fs.open_count(), 0);
}

#[test]
fn new_files_honour_the_readonly_attribute_and_valid_names() {
    let m = mount();
    let outcome = m.fs.create(
        &CALL,
        &CreateRequest {
            file_name: &wide("\\ro.txt"),
            desired_access: GENERIC_WRITE,
            file_attributes: FILE_ATTRIBUTE_READONLY,
            create_disposition: FILE_CREATE,
            create_options: 0,
            prior_context: 0,
        },
    );
    assert_eq!(outcome.status, STATUS_SUCCESS);
    assert_eq!(m.fake.tree.lock()["/ro.txt"].mode, 0o444);
    m.finish(outcome.context);
    for bad in ["\\con", "\\trailing.", "\\a|b"] {
        assert_eq!(
            m.create(bad, FILE_CREATE, 0, GENERIC_WRITE).status,
            STATUS_OBJECT_NAME_INVALID,
            "{bad}"
        );
    }
    assert_eq!(
        m.create(
            &format!("\\{}", "n".repeat(256)),
            FILE_CREATE,
            0,
            GENERIC_WRITE
        )
        .status,
        STATUS_NAME_TOO_LONG
    );
}

#[test]
fn streams_reduce_to_the_file_or_are_refused() {
    let m = mount();
    m.fake.file("/f.txt", b"abc");
    let context = m.open("\\f.txt::$DATA", GENERIC_READ);
    let streams = m.fs.find_streams(&CALL, context).unwrap();
    assert_eq!(
        streams,
        [StreamEntry {
            name: "::$DATA".into(),
            size: 3
        }]
    );
    m.finish(context);
    assert_eq!(
        m.create(
            "\\f.txt:Zone.Identifier:$DATA",
            FILE_CREATE,
            0,
            GENERIC_WRITE
        )
        .status,
        STATUS_OBJECT_NAME_INVALID
    );
    m.fake.dir("/d");
    let dir = m.open("\\d", FILE_LIST_DIRECTORY);
    assert_eq!(
        m.fs.find_streams(&CALL, dir),
        Err(NtError(STATUS_END_OF_FILE))
    );
    m.finish(dir);
}

#[test]
fn delete_on_close_deletes_at_the_last_cleanup() {
    let m = mount();
    let outcome = m.create(
        "\\tmp",
        FILE_CREATE,
        FILE_DELETE_ON_CLOSE,
        GENERIC_WRITE | DELETE,
    );
    assert_eq!(outcome.status, STATUS_SUCCESS);
    let other = m.open("\\tmp", GENERIC_READ);
    m.fake.take_log();
    m.fs.cleanup(&CALL, outcome.context);
    assert!(m.fake.exists("/tmp"), "another open remains");
    assert_eq!(
        m.create("\\tmp", FILE_OPEN, 0, GENERIC_READ).status,
        STATUS_DELETE_PENDING
    );
    m.fs.close(&CALL, outcome.context);
    m.fs.cleanup(&CALL, other);
    assert!(!m.fake.exists("/tmp"));
    assert!(m.fake.names().contains(&"unlink"));
    m.fs.close(&CALL, other);
    assert!(m.fake.open.lock().is_empty());
    let again = m.create("\\tmp", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(again.status, STATUS_SUCCESS, "the name is free again");
    m.finish(again.context);
}

#[test]
fn a_read_only_file_opens_for_reading_only() {
    let m = mount();
    m.fake.file("/ro", b"kept");
    m.fake.tree.lock().get_mut("/ro").unwrap().mode = 0o444;
    for access in [
        GENERIC_WRITE,
        GENERIC_READ | GENERIC_WRITE,
        MAXIMUM_ALLOWED | FILE_APPEND_DATA,
    ] {
        assert_eq!(
            m.create("\\ro", FILE_OPEN, 0, access).status,
            STATUS_ACCESS_DENIED,
            "{access:#x}"
        );
    }
    for disposition in [FILE_OVERWRITE, FILE_OVERWRITE_IF, FILE_SUPERSEDE] {
        let outcome = m.create("\\ro", disposition, 0, GENERIC_READ);
        assert_eq!(
            outcome.status, STATUS_ACCESS_DENIED,
            "disposition {disposition}"
        );
    }
    assert!(m.fake.open.lock().is_empty(), "no handle was opened");
    assert_eq!(
        m.fake.tree.lock()["/ro"].data,
        b"kept",
        "nothing was truncated"
    );
    let reading = m.open("\\ro", GENERIC_READ);
    m.finish(reading);
    let maximum = m.open("\\ro", MAXIMUM_ALLOWED);
    m.finish(maximum);
}

#[test]
fn delete_on_close_is_checked_at_open() {
    let m = mount();
    m.fake.file("/ro", b"");
    m.fake.tree.lock().get_mut("/ro").unwrap().mode = 0o444;
    let outcome = m.create("\\ro", FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE);
    assert_eq!(outcome.status, STATUS_CANNOT_DELETE);
    m.fake.dir("/full");
    m.fake.file("/full/x", b"");
    let outcome = m.create(
        "\\full",
        FILE_OPEN,
        FILE_DIRECTORY_FILE | FILE_DELETE_ON_CLOSE,
        DELETE,
    );
    assert_eq!(outcome.status, STATUS_DIRECTORY_NOT_EMPTY);
    assert!(
        m.fake.open.lock().is_empty(),
        "the listing handle was released"
    );
    let outcome = m.create("\\", FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE);
    assert_eq!(outcome.status, STATUS_CANNOT_DELETE);
    assert_eq!(m.fs.open_count(), 0);
}

#[test]
fn an_empty_directory_opened_delete_on_close_is_removed() {
    let m = mount();
    m.fake.dir("/empty");
    let outcome = m.create(
        "\\empty",
        FILE_OPEN,
        FILE_DIRECTORY_FILE | FILE_DELETE_ON_CLOSE,
        DELETE | SYNCHRONIZE,
    );
    assert_eq!(outcome.status, STATUS_SUCCESS);
    assert!(outcome.is_directory);
    m.finish(outcome.context);
    assert!(!m.fake.exists("/empty"));
    assert!(m.fake.names().contains(&"rmdir"));
}

#[test]
fn delete_file_marks_and_cleanup_deletes() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", DELETE | SYNCHRONIZE);
    assert_eq!(m.fs.set_delete(&CALL, context, true), Ok(()));
    assert!(m.fake.exists("/f"), "DeleteFile only checks");
    m.fs.cleanup(&CALL, context);
    assert!(!m.fake.exists("/f"));
    m.fs.close(&CALL, context);
}

#[test]
fn a_cancelled_deletion_keeps_the_file() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", DELETE | SYNCHRONIZE);
    m.fs.set_delete(&CALL, context, true).unwrap();
    m.fs.set_delete(&CALL, context, false).unwrap();
    m.finish(context);
    assert!(m.fake.exists("/f"));
    assert!(!m.fake.names().contains(&"unlink"));
}

#[test]
fn a_delete_waits_for_the_last_handle_of_the_file() {
    let m = mount();
    m.fake.file("/f", b"still readable");
    let keep = m.open("\\f", GENERIC_READ);
    let deleting = m.open("\\f", DELETE | SYNCHRONIZE);
    m.fs.set_delete(&CALL, deleting, true).unwrap();
    // Dokan flags this cleanup with DOKAN_FILE_INFO.DeleteOnClose, since this handle set the
    // disposition; the file must stay while `keep` is open.
    m.finish(deleting);
    assert!(m.fake.exists("/f"), "another handle is still open");
    assert_eq!(
        m.create("\\f", FILE_OPEN, 0, GENERIC_READ).status,
        STATUS_DELETE_PENDING
    );
    let mut buffer = [0u8; 32];
    assert_eq!(m.fs.read(&CALL, keep, &mut buffer, 0), Ok(14));
    assert_eq!(&buffer[..14], b"still readable");
    m.finish(keep);
    assert!(!m.fake.exists("/f"), "gone with the last handle");
    assert_eq!(
        m.create("\\f", FILE_OPEN, 0, GENERIC_READ).status,
        STATUS_OBJECT_NAME_NOT_FOUND
    );
}

#[test]
fn delete_checks_refuse_what_cannot_be_deleted() {
    let m = mount();
    m.fake.dir("/d");
    m.fake.file("/d/x", b"");
    m.fake.file("/ro", b"");
    m.fake.tree.lock().get_mut("/ro").unwrap().mode = 0o444;
    let dir = m
        .create("\\d", FILE_OPEN, FILE_DIRECTORY_FILE, DELETE)
        .context;
    assert_eq!(
        m.fs.set_delete(&CALL, dir, true),
        Err(NtError(STATUS_DIRECTORY_NOT_EMPTY))
    );
    m.finish(dir);
    assert!(m.fake.exists("/d"));
    let ro = m.open("\\ro", DELETE);
    assert_eq!(
        m.fs.set_delete(&CALL, ro, true),
        Err(NtError(STATUS_CANNOT_DELETE))
    );
    m.finish(ro);
    assert!(m.fake.exists("/ro"));
    let root = m.open("\\", FILE_LIST_DIRECTORY);
    assert_eq!(
        m.fs.set_delete(&CALL, root, true),
        Err(NtError(STATUS_CANNOT_DELETE))
    );
    m.finish(root);
    assert!(m.fake.open.lock().is_empty());
}

#[test]
fn a_refused_delete_open_refuses_dokans_retry_on_the_parent() {
    let m = mount();
    m.fake.file("/f", b"");
    m.fake.fail("open", Errno::EACCES);
    let outcome = m.create("\\f", FILE_OPEN, 0, DELETE | GENERIC_READ);
    assert_eq!(outcome.status, STATUS_ACCESS_DENIED);
    assert_eq!(outcome.context, REFUSED_DELETE_OPEN);
    assert!(!outcome.opened());
    m.fake.take_log();
    let retry = m.fs.create(
        &CALL,
        &CreateRequest {
            file_name: &wide("\\"),
            desired_access: FILE_LIST_DIRECTORY,
            file_attributes: 0,
            create_disposition: FILE_OPEN,
            create_options: FILE_DIRECTORY_FILE,
            prior_context: outcome.context,
        },
    );
    assert_eq!(retry.status, STATUS_ACCESS_DENIED);
    assert_eq!(retry.context, 0);
    assert!(m.fake.take_log().is_empty(), "the filesystem is not asked");
    let plain = m.create("\\f", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!((plain.status, plain.context), (STATUS_ACCESS_DENIED, 0));
}

#[test]
fn move_without_replace_refuses_an_existing_target() {
    let m = mount();
    m.fake.file("/a", b"a");
    m.fake.file("/b", b"b");
    let context = m.open("\\a", DELETE);
    m.fake.take_log();
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\b"), false),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION))
    );
    assert!(!m.fake.names().contains(&"rename"));
    assert_eq!(m.fs.move_file(&CALL, context, &wide("\\c"), false), Ok(()));
    let log = m.fake.take_log();
    assert_eq!(
        log.last(),
        Some(&Operation::Rename {
            from: "/a".into(),
            to: "/c".into(),
            mode: RenameMode::NoReplace
        })
    );
    assert!(m.fake.exists("/c") && !m.fake.exists("/a"));
    assert_eq!(m.fs.get_file_information(&CALL, context).unwrap().size, 1);
    assert_eq!(
        m.fake.take_log(),
        [Operation::Getattr {
            path: "/c".into(),
            handle: None
        }],
        "later requests use the new path"
    );
    m.finish(context);
}

#[test]
fn a_directory_the_filesystem_cannot_move_without_replacing_is_moved_once_checked() {
    let m = mount();
    *m.fake.no_replace_files_only.lock() = true;
    m.fake.dir("/src");
    m.fake.file("/src/inner", b"deep");
    m.fake.dir("/dst");
    let context = m.open("\\src", DELETE);
    m.fake.take_log();
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\moved"), false),
        Ok(())
    );
    let renames: Vec<RenameMode> = m
        .fake
        .take_log()
        .into_iter()
        .filter_map(|op| match op {
            Operation::Rename { mode, .. } => Some(mode),
            _ => None,
        })
        .collect();
    assert_eq!(renames, [RenameMode::NoReplace, RenameMode::Replace]);
    assert_eq!(m.fake.data("/moved/inner"), b"deep");
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\dst"), false),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION)),
        "an existing target is still refused"
    );
    m.finish(context);
}

#[test]
fn move_with_replace_replaces_closed_files_only() {
    let m = mount();
    m.fake.file("/a", b"new");
    m.fake.file("/b", b"old");
    m.fake.dir("/d");
    let context = m.open("\\a", DELETE);
    let target = m.open("\\b", GENERIC_READ);
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\b"), true),
        Err(NtError(STATUS_ACCESS_DENIED)),
        "the target is open"
    );
    m.finish(target);
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\d"), true),
        Err(NtError(STATUS_ACCESS_DENIED)),
        "a directory is never replaced"
    );
    m.fake.take_log();
    assert_eq!(m.fs.move_file(&CALL, context, &wide("\\b"), true), Ok(()));
    assert_eq!(
        m.fake.take_log().last(),
        Some(&Operation::Rename {
            from: "/a".into(),
            to: "/b".into(),
            mode: RenameMode::Replace
        })
    );
    assert_eq!(m.fake.data("/b"), b"new");
    m.finish(context);
}

#[test]
fn moving_a_directory_moves_the_opens_inside() {
    let m = mount();
    m.fake.dir("/d");
    m.fake.file("/d/f", b"x");
    let dir = m
        .create("\\d", FILE_OPEN, FILE_DIRECTORY_FILE, DELETE)
        .context;
    let file = m.open("\\d\\f", GENERIC_READ);
    assert_eq!(m.fs.move_file(&CALL, dir, &wide("\\e"), false), Ok(()));
    m.fake.take_log();
    let mut buffer = [0u8; 1];
    assert_eq!(m.fs.read(&CALL, file, &mut buffer, 0), Ok(1));
    let Operation::Read { path, .. } = &m.fake.take_log()[0] else {
        panic!()
    };
    assert_eq!(path, "/e/f");
    m.finish(file);
    m.finish(dir);
    assert!(m.fake.open.lock().is_empty());
}

#[test]
fn a_case_only_rename_renames() {
    let m = mount();
    m.fake.file("/readme", b"");
    let context = m.open("\\readme", DELETE);
    m.fake.take_log();
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\README"), false),
        Ok(())
    );
    assert_eq!(
        m.fake.take_log().last(),
        Some(&Operation::Rename {
            from: "/readme".into(),
            to: "/README".into(),
            mode: RenameMode::Replace
        })
    );
    assert!(m.fake.exists("/README"));
    m.finish(context);
}

#[test]
fn case_insensitive_lookups_find_the_real_spelling() {
    let m = mount();
    m.fake.dir("/Dir");
    m.fake.file("/Dir/File.txt", b"x");
    let context = m.open("\\dir\\FILE.TXT", GENERIC_READ);
    let log = m.fake.take_log();
    assert_eq!(
        log.iter().map(Operation::name).collect::<Vec<_>>(),
        [
            "getattr",
            "opendir",
            "getattr",
            "opendir",
            "readdir",
            "releasedir",
            "opendir",
            "readdir",
            "releasedir",
            "open"
        ],
        "each missing component is found in its directory's listing, whose metadata spares a getattr"
    );
    assert_eq!(
        log.last(),
        Some(&Operation::Open {
            path: "/Dir/File.txt".into(),
            flags: OpenFlags(OpenFlags::READ_ONLY)
        })
    );
    m.finish(context);
    let outcome = m.create("\\DIR\\new.txt", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_SUCCESS);
    assert!(m.fake.exists("/Dir/new.txt"));
    m.finish(outcome.context);
    assert_eq!(
        m.create("\\dir\\FILE.TXT", FILE_CREATE, 0, GENERIC_WRITE)
            .status,
        STATUS_OBJECT_NAME_COLLISION,
        "no second file differing only in case"
    );
    m.fake.fail("readdir", Errno::ENOSYS);
    let outcome = m.create("\\Dir\\other.txt", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(
        outcome.status, STATUS_SUCCESS,
        "a directory that cannot be listed does not stop creation"
    );
    m.finish(outcome.context);
    let sensitive = mount_with(WindowsOptions {
        case_insensitive: false,
        ..Default::default()
    });
    sensitive.fake.dir("/Dir");
    let outcome = sensitive.create("\\DIR\\x", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_OBJECT_PATH_NOT_FOUND);
}

#[test]
fn a_name_stored_in_several_cases_is_found_as_spelled() {
    let m = mount();
    m.fake.dir("/Dir");
    m.fake.file("/Dir/README", b"");
    m.fake.file("/Dir/readme", b"");
    let context = m.open("\\DIR\\readme", GENERIC_READ);
    assert_eq!(
        m.fake.take_log().last(),
        Some(&Operation::Open {
            path: "/Dir/readme".into(),
            flags: OpenFlags(OpenFlags::READ_ONLY)
        }),
        "the exact spelling, not the first listed"
    );
    m.finish(context);
}

fn listing_mount() -> (Mount, u64) {
    let m = mount();
    m.fake.dir("/d");
    m.fake.file("/d/a.txt", b"1");
    m.fake.file("/d/B.TXT", b"22");
    m.fake.file("/d/c.doc", b"333");
    m.fake.dir("/d/sub");
    m.fake.file("/d/bad:name", b"");
    let context = m.open("\\d", FILE_LIST_DIRECTORY);
    (m, context)
}

fn names(entries: &[FindEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.name.as_str()).collect()
}

#[test]
fn find_files_with_pattern_filters_as_windows_does() {
    let (m, context) = listing_mount();
    let all = m.fs.find_files(&CALL, context, None).unwrap();
    assert_eq!(
        names(&all),
        [".", "..", "a.txt", "B.TXT", "c.doc", "sub"],
        "dots first, names Windows cannot use left out, sorted without case"
    );
    let txt =
        m.fs.find_files(&CALL, context, Some(&wide("<.txt")))
            .unwrap();
    assert_eq!(names(&txt), ["a.txt", "B.TXT"]);
    assert_eq!(txt[1].size, 2);
    assert_eq!(txt[1].attributes, FILE_ATTRIBUTE_NORMAL);
    let star = m.fs.find_files(&CALL, context, Some(&wide("*"))).unwrap();
    assert_eq!(star.len(), 6);
    let sub = m.fs.find_files(&CALL, context, Some(&wide("SUB"))).unwrap();
    assert_eq!(names(&sub), ["sub"]);
    assert_eq!(sub[0].attributes, FILE_ATTRIBUTE_DIRECTORY);
    assert_eq!(sub[0].size, 0);
    let exact =
        m.fs.find_files(&CALL, context, Some(&wide("c.doc\0")))
            .unwrap();
    assert_eq!(names(&exact), ["c.doc"], "a NUL ends the pattern");
    m.finish(context);
}

#[test]
fn case_sensitive_volumes_match_with_case() {
    let m = mount_with(WindowsOptions {
        case_insensitive: false,
        ..Default::default()
    });
    m.fake.file("/a.txt", b"");
    m.fake.file("/B.TXT", b"");
    let root = m.open("\\", FILE_LIST_DIRECTORY);
    let all = m.fs.find_files(&CALL, root, None).unwrap();
    assert_eq!(names(&all), ["B.TXT", "a.txt"], "the root has no dots");
    let txt = m.fs.find_files(&CALL, root, Some(&wide("<.txt"))).unwrap();
    assert_eq!(names(&txt), ["a.txt"]);
    m.finish(root);
}

#[test]
fn listings_without_metadata_are_completed_with_getattr() {
    let (m, context) = listing_mount();
    *m.fake.bare_listings.lock() = true;
    m.fake.take_log();
    let found = m.fs.find_files(&CALL, context, Some(&wide("*"))).unwrap();
    let log = m.fake.take_log();
    let getattrs: Vec<&str> = log
        .iter()
        .filter_map(|op| match op {
            Operation::Getattr { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        getattrs,
        ["/d", "/", "/d/a.txt", "/d/B.TXT", "/d/c.doc", "/d/sub"]
    );
    let order: Vec<&str> = log.iter().map(Operation::name).collect();
    assert_eq!(
        order[0], "readdir",
        "one readdir, then the getattrs: {order:?}"
    );
    assert_eq!(
        found.iter().map(|entry| entry.size).collect::<Vec<_>>(),
        [0, 0, 1, 2, 3, 0]
    );
    m.fake.fail("getattr", Errno::ENOENT);
    let vanished = m.fs.find_files(&CALL, context, None).unwrap();
    assert_eq!(
        names(&vanished),
        [".", ".."],
        "entries that vanished are left out"
    );
    m.fake.failures.lock().clear();
    m.fake.fail("getattr", Errno::EIO);
    let degraded = m.fs.find_files(&CALL, context, None).unwrap();
    assert_eq!(
        degraded.len(),
        6,
        "entries whose getattr fails keep their kind"
    );
    assert_eq!(degraded[5].attributes, FILE_ATTRIBUTE_DIRECTORY);
    m.fake.failures.lock().clear();
    m.finish(context);
}

#[test]
fn listing_getattrs_are_all_sent_before_any_is_awaited() {
    /// Once armed, holds every `getattr` until four have arrived, as a batching dispatcher
    /// would; a backend that awaited each before sending the next would time out.
    struct Batching {
        fake: Arc<Fake>,
        armed: std::sync::atomic::AtomicBool,
        held: Mutex<Vec<Request>>,
    }
    impl Dispatch for Batching {
        fn dispatch(&self, request: Request) {
            let is_getattr = matches!(request.operation, Operation::Getattr { .. });
            if !is_getattr || !self.armed.load(Ordering::SeqCst) {
                return self.fake.dispatch(request);
            }
            let mut held = self.held.lock();
            held.push(request);
            if held.len() == 4 {
                for request in held.drain(..) {
                    self.fake.dispatch(request);
                }
            }
        }
    }
    let fake = Arc::new(Fake::new());
    fake.dir("/d");
    fake.file("/d/a", b"1");
    fake.file("/d/b", b"22");
    fake.file("/d/c", b"333");
    *fake.bare_listings.lock() = true;
    let options = WindowsOptions {
        request_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let batching = Arc::new(Batching {
        fake: fake.clone(),
        armed: std::sync::atomic::AtomicBool::new(false),
        held: Mutex::new(Vec::new()),
    });
    struct Forward(Arc<Batching>);
    impl Dispatch for Forward {
        fn dispatch(&self, request: Request) {
            self.0.dispatch(request);
        }
    }
    let fs = DokanFs::new(Arc::new(Forward(batching.clone())), &options);
    let context = fs
        .create(
            &CALL,
            &CreateRequest {
                file_name: &wide("\\d"),
                desired_access: FILE_LIST_DIRECTORY,
                file_attributes: 0,
                create_disposition: FILE_OPEN,
                create_options: FILE_DIRECTORY_FILE,
                prior_context: 0,
            },
        )
        .context;
    batching.armed.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let found = fs.find_files(&CALL, context, Some(&wide("?"))).unwrap();
    assert_eq!(
        names(&found),
        [".", "a", "b", "c"],
        "`?` matches `.` too, as on Windows"
    );
    assert_eq!(
        found.iter().map(|entry| entry.size).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "no getattr waited for a timeout"
    );
}

#[test]
fn reads_and_writes() {
    let m = mount();
    m.fake.file("/f", b"hello");
    let context = m.open("\\f", GENERIC_READ | GENERIC_WRITE);
    let mut buffer = [0u8; 3];
    assert_eq!(m.fs.read(&CALL, context, &mut buffer, 1), Ok(3));
    assert_eq!(&buffer, b"ell");
    assert_eq!(m.fs.read(&CALL, context, &mut buffer, 10), Ok(0));
    assert_eq!(
        m.fs.read(&CALL, context, &mut buffer, -1),
        Err(NtError(STATUS_INVALID_PARAMETER))
    );
    let write = |data: &[u8], offset, to_end, paging| {
        m.fs.write(
            &CALL,
            context,
            &WriteRequest {
                data,
                offset,
                write_to_end_of_file: to_end,
                paging_io: paging,
            },
        )
    };
    assert_eq!(write(b"J", 0, false, false), Ok(1));
    assert_eq!(write(b"!", 0, true, false), Ok(1), "WriteToEndOfFile");
    assert_eq!(m.fake.data("/f"), b"Jello!");
    assert_eq!(
        write(b"?", -1, false, false),
        Ok(1),
        "offset -1 appends too"
    );
    assert_eq!(m.fake.data("/f"), b"Jello!?");
    assert_eq!(
        write(b"XYZ", 5, false, true),
        Ok(2),
        "paging I/O stops at the end"
    );
    assert_eq!(m.fake.data("/f"), b"JelloXY");
    assert_eq!(write(b"beyond", 7, false, true), Ok(0));
    assert_eq!(m.fake.data("/f"), b"JelloXY");
    assert_eq!(
        write(b"x", -2, false, false),
        Err(NtError(STATUS_INVALID_PARAMETER))
    );
    m.finish(context);
}

#[test]
fn a_write_claiming_too_much_fails() {
    struct Boastful(Fake);
    impl Dispatch for Boastful {
        fn dispatch(&self, request: Request) {
            if let Operation::Write { .. } = request.operation {
                return request.responder.respond(Ok(Reply::Count(1_000)));
            }
            self.0.dispatch(request);
        }
    }
    let fake = Fake::new();
    fake.file("/f", b"");
    let fs = DokanFs::new(Arc::new(Boastful(fake)), &WindowsOptions::default());
    let context = fs
        .create(
            &CALL,
            &CreateRequest {
                file_name: &wide("\\f"),
                desired_access: GENERIC_WRITE,
                file_attributes: 0,
                create_disposition: FILE_OPEN,
                create_options: 0,
                prior_context: 0,
            },
        )
        .context;
    let write = WriteRequest {
        data: b"abc",
        offset: 0,
        write_to_end_of_file: false,
        paging_io: false,
    };
    assert_eq!(
        fs.write(&CALL, context, &write),
        Err(NtError(STATUS_IO_DEVICE_ERROR))
    );
}

#[test]
fn backing_files_serve_the_bytes() {
    let m = mount();
    let path = std::env::temp_dir().join(format!("mountkit-dokan-ops-{}", std::process::id()));
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    backing::write_all_at(&file, b"backed", 0).unwrap();
    m.fake.file("/b", b"");
    m.fake.backing.lock().insert("/b".into(), Arc::new(file));
    let context = m.open("\\b", GENERIC_READ | GENERIC_WRITE);
    m.fake.take_log();
    let mut buffer = [0u8; 16];
    assert_eq!(m.fs.read(&CALL, context, &mut buffer, 0), Ok(6));
    assert_eq!(&buffer[..6], b"backed");
    let append = WriteRequest {
        data: b"!",
        offset: 0,
        write_to_end_of_file: true,
        paging_io: false,
    };
    assert_eq!(m.fs.write(&CALL, context, &append), Ok(1));
    assert_eq!(m.fs.flush(&CALL, context), Ok(()));
    assert!(m.fake.take_log().is_empty(), "the handlers see no bytes");
    m.finish(context);
    assert_eq!(std::fs::read(&path).unwrap(), b"backed!");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn set_end_of_file_truncates_through_the_handle() {
    let m = mount();
    m.fake.file("/f", b"hello");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    assert_eq!(m.fs.set_end_of_file(&CALL, context, 2), Ok(()));
    let log = m.fake.take_log();
    let Operation::Truncate { path, size, handle } = &log[0] else {
        panic!("{log:?}")
    };
    assert_eq!((path.as_str(), *size), ("/f", 2));
    assert!(handle.is_some());
    assert_eq!(m.fake.data("/f"), b"he");
    assert_eq!(m.fs.set_end_of_file(&CALL, context, 4), Ok(()));
    assert_eq!(m.fake.data("/f"), b"he\0\0");
    assert_eq!(
        m.fs.set_end_of_file(&CALL, context, -1),
        Err(NtError(STATUS_INVALID_PARAMETER))
    );
    m.finish(context);
}

#[test]
fn set_allocation_size_only_shrinks() {
    let m = mount();
    m.fake.file("/f", b"hello");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    assert_eq!(m.fs.set_allocation_size(&CALL, context, 4096), Ok(()));
    assert_eq!(m.fake.names(), ["getattr"]);
    assert_eq!(m.fs.set_allocation_size(&CALL, context, 3), Ok(()));
    assert_eq!(m.fake.names(), ["getattr", "truncate"]);
    assert_eq!(m.fake.data("/f"), b"hel");
    m.finish(context);
}

#[test]
fn set_file_time_leaves_zero_and_minus_one_alone() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    for times in [
        FileTimes::default(),
        FileTimes {
            creation: Some(UNIX_EPOCH_FILETIME + 10),
            ..FileTimes::default()
        },
        FileTimes {
            last_access: Some(0),
            last_write: Some(u64::MAX),
            ..FileTimes::default()
        },
        FileTimes {
            last_access: Some(u64::MAX - 1),
            last_write: Some(0),
            ..FileTimes::default()
        },
    ] {
        assert_eq!(m.fs.set_file_time(&CALL, context, &times), Ok(()));
        assert!(m.fake.take_log().is_empty(), "{times:?} changes nothing");
    }
    let one_second = UNIX_EPOCH_FILETIME + 10_000_000;
    let times = FileTimes {
        last_access: Some(0),
        last_write: Some(one_second),
        ..FileTimes::default()
    };
    assert_eq!(m.fs.set_file_time(&CALL, context, &times), Ok(()));
    assert_eq!(
        m.fake.take_log(),
        [Operation::Utimens {
            path: "/f".into(),
            atime: None,
            mtime: Some(SetTime::At(SystemTime::UNIX_EPOCH + Duration::from_secs(1)))
        }]
    );
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.last_write_time, one_second);
    m.finish(context);
}

#[test]
fn set_file_attributes_maps_readonly_to_the_mode() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_WRITE);
    assert_eq!(
        m.fs.set_file_attributes(&CALL, context, FILE_ATTRIBUTE_READONLY),
        Ok(())
    );
    assert_eq!(m.fake.tree.lock()["/f"].mode, 0o444);
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.attributes, FILE_ATTRIBUTE_READONLY);
    assert_eq!(
        m.fs.set_file_attributes(&CALL, context, FILE_ATTRIBUTE_NORMAL),
        Ok(())
    );
    assert_eq!(m.fake.tree.lock()["/f"].mode, 0o644);
    m.fake.take_log();
    assert_eq!(
        m.fs.set_file_attributes(
            &CALL,
            context,
            FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_ARCHIVE
        ),
        Ok(())
    );
    assert_eq!(m.fake.names(), ["getattr"], "nothing to change in the mode");
    m.finish(context);
}

#[test]
fn file_information_is_translated() {
    let m = mount();
    m.fake.file("/f", b"12345");
    m.fake.dir("/d");
    let file = m.open("\\f", GENERIC_READ);
    let info = m.fs.get_file_information(&CALL, file).unwrap();
    let ino = m.fake.tree.lock()["/f"].ino;
    assert_eq!(info.size, 5);
    assert_eq!(info.index, ino);
    assert_eq!(info.links, 1);
    assert_eq!(info.attributes, FILE_ATTRIBUTE_NORMAL);
    assert_eq!(info.volume_serial, m.fs.volume().serial);
    assert_eq!(info.last_write_time, UNIX_EPOCH_FILETIME);
    m.finish(file);
    m.fake.tree.lock().get_mut("/d").unwrap().ino = 0;
    let dir = m.open("\\d", FILE_LIST_DIRECTORY);
    let info = m.fs.get_file_information(&CALL, dir).unwrap();
    assert_eq!(info.attributes, FILE_ATTRIBUTE_DIRECTORY);
    assert_eq!(info.size, 0);
    assert_ne!(
        info.index, 0,
        "a missing ino is replaced by a hash of the path"
    );
    m.finish(dir);
}

#[test]
fn symlinks_are_shown_as_plain_files() {
    let link = Stat::new(FileKind::Symlink);
    assert_eq!(attributes(&link), FILE_ATTRIBUTE_NORMAL);
    let hidden = Stat {
        windows: mountkit_core::WindowsAttributes {
            hidden: true,
            ..Default::default()
        },
        ..link
    };
    assert_eq!(attributes(&hidden), FILE_ATTRIBUTE_HIDDEN);
}

#[test]
fn flushes_reach_fsync_and_tolerate_its_absence() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    assert_eq!(m.fs.flush(&CALL, context), Ok(()));
    assert_eq!(m.fake.names(), ["fsync"]);
    m.fake.fail("fsync", Errno::ENOSYS);
    assert_eq!(m.fs.flush(&CALL, context), Ok(()));
    m.fake.fail("fsync", Errno::EIO);
    assert_eq!(
        m.fs.flush(&CALL, context),
        Err(NtError(STATUS_IO_DEVICE_ERROR))
    );
    m.finish(context);
    let metadata = m.open("\\f", FILE_READ_ATTRIBUTES);
    m.fake.take_log();
    assert_eq!(m.fs.flush(&CALL, metadata), Ok(()));
    assert!(
        m.fake.take_log().is_empty(),
        "nothing was opened, nothing to flush"
    );
    m.finish(metadata);
}

#[test]
fn disk_space_comes_from_statfs() {
    let m = mount();
    assert_eq!(
        m.fs.disk_free_space(&CALL),
        Ok(DiskSpace {
            free_bytes_available: 500 * 4096,
            total_bytes: 1000 * 4096,
            total_free_bytes: 600 * 4096,
        })
    );
    *m.fake.statfs.lock() = Err(Errno::ENOSYS);
    assert_eq!(
        m.fs.disk_free_space(&CALL),
        Err(NtError(STATUS_NOT_IMPLEMENTED)),
        "Dokan then reports its defaults"
    );
    *m.fake.statfs.lock() = Ok(StatFs::default());
    assert_eq!(
        m.fs.disk_free_space(&CALL),
        Err(NtError(STATUS_NOT_IMPLEMENTED))
    );
    *m.fake.statfs.lock() = Err(Errno::EIO);
    assert_eq!(
        m.fs.disk_free_space(&CALL),
        Err(NtError(STATUS_IO_DEVICE_ERROR))
    );
}

#[test]
fn read_only_volumes_refuse_writes() {
    let m = mount_with(WindowsOptions {
        read_only: true,
        ..Default::default()
    });
    m.fake.file("/f", b"x");
    let protected = STATUS_MEDIA_WRITE_PROTECTED;
    assert_eq!(
        m.create("\\new", FILE_CREATE, 0, GENERIC_WRITE).status,
        protected
    );
    assert_eq!(
        m.create("\\new", FILE_OPEN_IF, 0, GENERIC_READ).status,
        protected
    );
    assert_eq!(
        m.create("\\f", FILE_OVERWRITE, 0, GENERIC_READ).status,
        protected
    );
    assert_eq!(
        m.create("\\f", FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE)
            .status,
        protected
    );
    let context = m.open("\\f", GENERIC_WRITE | DELETE);
    let write = WriteRequest {
        data: b"y",
        offset: 0,
        write_to_end_of_file: false,
        paging_io: false,
    };
    assert_eq!(m.fs.write(&CALL, context, &write), Err(NtError(protected)));
    assert_eq!(
        m.fs.set_delete(&CALL, context, true),
        Err(NtError(protected))
    );
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\g"), false),
        Err(NtError(protected))
    );
    assert_eq!(
        m.fs.set_end_of_file(&CALL, context, 0),
        Err(NtError(protected))
    );
    m.finish(context);
    assert_eq!(m.fake.data("/f"), b"x");
}

#[test]
fn read_only_volumes_open_for_reading_whatever_access_was_asked() {
    let m = mount_with(WindowsOptions {
        read_only: true,
        ..Default::default()
    });
    m.fake.file("/f", b"x");
    for access in [
        GENERIC_WRITE,
        GENERIC_READ | GENERIC_WRITE,
        FILE_APPEND_DATA,
        FILE_ALL_ACCESS,
        MAXIMUM_ALLOWED,
    ] {
        m.fake.take_log();
        let context = m.open("\\f", access);
        assert_eq!(
            m.fake.take_log().last(),
            Some(&Operation::Open {
                path: "/f".into(),
                flags: OpenFlags(OpenFlags::READ_ONLY)
            }),
            "access {access:#x}"
        );
        m.finish(context);
    }
}

#[test]
fn unknown_contexts_are_invalid_handles() {
    let m = mount();
    let mut buffer = [0u8; 1];
    assert_eq!(
        m.fs.read(&CALL, 12345, &mut buffer, 0),
        Err(NtError(STATUS_INVALID_HANDLE))
    );
    m.fs.cleanup(&CALL, 12345);
    m.fs.close(&CALL, 12345);
    assert!(m.fake.take_log().is_empty());
}

#[test]
fn a_reply_of_the_wrong_shape_is_an_io_error() {
    struct Confused;
    impl Dispatch for Confused {
        fn dispatch(&self, request: Request) {
            request.responder.respond(Ok(Reply::Empty));
        }
    }
    let fs = DokanFs::new(Arc::new(Confused), &WindowsOptions::default());
    let outcome = fs.create(
        &CALL,
        &CreateRequest {
            file_name: &wide("\\f"),
            desired_access: GENERIC_READ,
            file_attributes: 0,
            create_disposition: FILE_OPEN,
            create_options: 0,
            prior_context: 0,
        },
    );
    assert_eq!(outcome.status, STATUS_IO_DEVICE_ERROR);
}

#[test]
fn a_dispatcher_that_never_answers_times_out_before_the_driver_does() {
    struct Silent(Mutex<Vec<mountkit_core::Responder>>);
    impl Dispatch for Silent {
        fn dispatch(&self, request: Request) {
            self.0.lock().push(request.responder);
        }
    }
    struct Counting(Mutex<Vec<u32>>);
    impl Keepalive for Counting {
        fn extend(&self, milliseconds: u32) -> bool {
            self.0.lock().push(milliseconds);
            true
        }
    }
    let options = WindowsOptions {
        request_timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let fs = DokanFs::new(Arc::new(Silent(Mutex::new(Vec::new()))), &options);
    let keepalive = Counting(Mutex::new(Vec::new()));
    let call = Call {
        process_id: 1,
        keepalive: &keepalive,
    };
    let outcome = fs.create(
        &call,
        &CreateRequest {
            file_name: &wide("\\slow"),
            desired_access: GENERIC_READ,
            file_attributes: 0,
            create_disposition: FILE_OPEN,
            create_options: 0,
            prior_context: 0,
        },
    );
    assert_eq!(outcome.status, STATUS_IO_TIMEOUT);
    let extensions = keepalive.0.lock();
    assert!(extensions.len() >= 10, "{} extensions", extensions.len());
    assert!(extensions
        .iter()
        .all(|&ms| ms >= crate::timeout::MARGIN.as_millis() as u32));
}

#[test]
fn the_volume_reports_the_options() {
    let m = mount_with(WindowsOptions {
        volume_label: "Data".into(),
        file_system_name: "NTFS".into(),
        ..Default::default()
    });
    assert_eq!(m.fs.volume().label, "Data");
    assert_eq!(m.fs.volume().file_system_name, "NTFS");
}

#[test]
fn every_access_mode_opens_with_posix_flags() {
    let m = mount();
    m.fake.file("/f", b"");
    for (access, flags) in [
        (FILE_GENERIC_READ, OpenFlags::READ_ONLY),
        (FILE_GENERIC_WRITE, OpenFlags::WRITE_ONLY),
        (FILE_ALL_ACCESS, OpenFlags::READ_WRITE),
    ] {
        let context = m.open("\\f", access);
        let log = m.fake.take_log();
        assert!(
            log.contains(&Operation::Open {
                path: "/f".into(),
                flags: OpenFlags(flags)
            }),
            "{access:#x}: {log:?}"
        );
        m.finish(context);
    }
}
