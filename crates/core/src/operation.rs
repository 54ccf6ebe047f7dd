//! One request, as every backend hands it to a filesystem: who asks, what they ask, and where
//! the answer goes.
//!
//! Paths are always UTF-8, absolute and `/`-separated (`/`, `/dir/file`), on every platform:
//! backends translate their native names before building an [`Operation`].

use std::fmt;
use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;

use crate::errno::{Errno, FsResult};
use crate::listing::Listing;
use crate::stat::{SetTime, Stat, StatFs};

/// Who made a request, as the kernel reports it.
///
/// `pid` is the id of the calling thread (for a single-threaded caller, its process id);
/// Windows backends report the process id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
}

/// How a file is opened: the access mode and the `O_*` flags, with Linux numbering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenFlags(pub i32);

impl OpenFlags {
    pub const ACCESS_MODE: i32 = 0o3;
    pub const READ_ONLY: i32 = 0;
    pub const WRITE_ONLY: i32 = 1;
    pub const READ_WRITE: i32 = 2;
    pub const CREATE: i32 = 0o100;
    pub const EXCLUSIVE: i32 = 0o200;
    pub const TRUNCATE: i32 = 0o1000;
    pub const APPEND: i32 = 0o2000;

    pub fn writable(self) -> bool {
        self.0 & Self::ACCESS_MODE != Self::READ_ONLY
    }

    pub fn readable(self) -> bool {
        self.0 & Self::ACCESS_MODE != Self::WRITE_ONLY
    }
}

/// What `rename` may do to an existing destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RenameMode {
    /// Replace the destination if it exists (POSIX `rename`).
    #[default]
    Replace,
    /// Fail with `EEXIST` if the destination exists (`RENAME_NOREPLACE`).
    NoReplace,
    /// Swap source and destination atomically; both must exist (`RENAME_EXCHANGE`).
    Exchange,
}

/// How `setxattr` treats an existing attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XattrMode {
    /// Create or replace.
    #[default]
    Set,
    /// Fail with `EEXIST` if it exists (`XATTR_CREATE`).
    Create,
    /// Fail with `ENODATA` if it does not exist (`XATTR_REPLACE`).
    Replace,
}

/// A real file whose bytes serve an open file of the mount, so reads, writes, flushes and
/// fsyncs of that handle never reach the filesystem's handlers: the backend moves the bytes
/// itself (by kernel passthrough where the kernel allows it, else by positioned I/O).
#[derive(Clone, Debug)]
pub struct Backing(pub Arc<File>);

impl PartialEq for Backing {
    fn eq(&self, other: &Backing) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The handle a filesystem chose when a file or directory was opened, with the caching hints
/// it wants the kernel to follow.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Opened {
    pub handle: u64,
    /// Serve this open file's bytes from a real file instead of the handlers.
    pub backing: Option<Backing>,
    /// Bypass the page cache: every read and write reaches the filesystem.
    pub direct_io: bool,
    /// Keep cached pages of this file from the previous open.
    pub keep_cache: bool,
    /// The file is a stream: offsets mean nothing (`lseek` fails).
    pub nonseekable: bool,
    /// The attributes of the file `create` made, when the filesystem gives them: the backend
    /// then needs no `getattr` to answer the kernel. Ignored by other operations.
    pub stat: Option<Stat>,
}

/// Everything a filesystem can be asked, with its arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    Getattr {
        path: String,
        handle: Option<u64>,
    },
    Readdir {
        path: String,
        handle: u64,
    },
    Open {
        path: String,
        flags: OpenFlags,
    },
    Opendir {
        path: String,
        flags: OpenFlags,
    },
    Release {
        path: String,
        handle: u64,
        flags: OpenFlags,
    },
    Releasedir {
        path: String,
        handle: u64,
    },
    Read {
        path: String,
        handle: u64,
        offset: u64,
        size: u32,
    },
    Write {
        path: String,
        handle: u64,
        offset: u64,
        data: Bytes,
    },
    Create {
        path: String,
        mode: u32,
        flags: OpenFlags,
    },
    Mknod {
        path: String,
        mode: u32,
        rdev: u32,
    },
    Mkdir {
        path: String,
        mode: u32,
    },
    Unlink {
        path: String,
    },
    Rmdir {
        path: String,
    },
    Symlink {
        target: String,
        path: String,
    },
    Readlink {
        path: String,
    },
    Link {
        existing: String,
        path: String,
    },
    Rename {
        from: String,
        to: String,
        mode: RenameMode,
    },
    Truncate {
        path: String,
        size: u64,
        handle: Option<u64>,
    },
    Chmod {
        path: String,
        mode: u32,
    },
    Chown {
        path: String,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    Utimens {
        path: String,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    },
    Statfs {
        path: String,
    },
    Flush {
        path: String,
        handle: u64,
    },
    Fsync {
        path: String,
        handle: u64,
        datasync: bool,
    },
    Fsyncdir {
        path: String,
        handle: u64,
        datasync: bool,
    },
    Access {
        path: String,
        mask: u32,
    },
    Getxattr {
        path: String,
        name: String,
    },
    Setxattr {
        path: String,
        name: String,
        value: Bytes,
        mode: XattrMode,
    },
    Listxattr {
        path: String,
    },
    Removexattr {
        path: String,
        name: String,
    },
    Fallocate {
        path: String,
        handle: u64,
        offset: u64,
        length: u64,
        mode: i32,
    },
    Lseek {
        path: String,
        handle: u64,
        offset: i64,
        whence: i32,
    },
    CopyFileRange {
        from_path: String,
        from_handle: u64,
        from_offset: u64,
        to_path: String,
        to_handle: u64,
        to_offset: u64,
        length: u64,
    },
}

macro_rules! op_names {
    ($($variant:ident => $name:literal),* $(,)?) => {
        impl Operation {
            /// The operation's name as handlers know it (`"getattr"`, `"readdir"`, ...).
            pub fn name(&self) -> &'static str {
                match self { $(Operation::$variant { .. } => $name,)* }
            }
        }
        /// Every operation name, in declaration order.
        pub const OPERATION_NAMES: &[&str] = &[$($name),*];
    };
}

op_names! {
    Getattr => "getattr", Readdir => "readdir", Open => "open", Opendir => "opendir",
    Release => "release", Releasedir => "releasedir", Read => "read", Write => "write",
    Create => "create", Mknod => "mknod", Mkdir => "mkdir", Unlink => "unlink", Rmdir => "rmdir",
    Symlink => "symlink", Readlink => "readlink", Link => "link", Rename => "rename",
    Truncate => "truncate", Chmod => "chmod", Chown => "chown", Utimens => "utimens",
    Statfs => "statfs", Flush => "flush", Fsync => "fsync", Fsyncdir => "fsyncdir",
    Access => "access", Getxattr => "getxattr", Setxattr => "setxattr",
    Listxattr => "listxattr", Removexattr => "removexattr", Fallocate => "fallocate",
    Lseek => "lseek", CopyFileRange => "copy_file_range",
}

impl Operation {
    /// The path the operation is about (for two-path operations, the source).
    pub fn path(&self) -> &str {
        use Operation::*;
        match self {
            Getattr { path, .. }
            | Readdir { path, .. }
            | Open { path, .. }
            | Opendir { path, .. }
            | Release { path, .. }
            | Releasedir { path, .. }
            | Read { path, .. }
            | Write { path, .. }
            | Create { path, .. }
            | Mknod { path, .. }
            | Mkdir { path, .. }
            | Unlink { path }
            | Rmdir { path }
            | Symlink { path, .. }
            | Readlink { path }
            | Link { path, .. }
            | Truncate { path, .. }
            | Chmod { path, .. }
            | Chown { path, .. }
            | Utimens { path, .. }
            | Statfs { path }
            | Flush { path, .. }
            | Fsync { path, .. }
            | Fsyncdir { path, .. }
            | Access { path, .. }
            | Getxattr { path, .. }
            | Setxattr { path, .. }
            | Listxattr { path }
            | Removexattr { path, .. }
            | Fallocate { path, .. }
            | Lseek { path, .. } => path,
            Rename { from, .. } => from,
            CopyFileRange { from_path, .. } => from_path,
        }
    }

    /// The shape of a successful answer to this operation.
    pub fn expected_reply(&self) -> ReplyKind {
        use Operation::*;
        match self {
            Getattr { .. } => ReplyKind::Stat,
            Readdir { .. } => ReplyKind::Entries,
            Open { .. } | Opendir { .. } | Create { .. } => ReplyKind::Opened,
            Read { .. } | Getxattr { .. } => ReplyKind::Data,
            Write { .. } | CopyFileRange { .. } => ReplyKind::Count,
            Readlink { .. } => ReplyKind::Target,
            Statfs { .. } => ReplyKind::StatFs,
            Listxattr { .. } => ReplyKind::Names,
            Lseek { .. } => ReplyKind::Offset,
            Release { .. }
            | Releasedir { .. }
            | Mknod { .. }
            | Mkdir { .. }
            | Unlink { .. }
            | Rmdir { .. }
            | Symlink { .. }
            | Link { .. }
            | Rename { .. }
            | Truncate { .. }
            | Chmod { .. }
            | Chown { .. }
            | Utimens { .. }
            | Flush { .. }
            | Fsync { .. }
            | Fsyncdir { .. }
            | Access { .. }
            | Setxattr { .. }
            | Removexattr { .. }
            | Fallocate { .. } => ReplyKind::Empty,
        }
    }
}

/// The shapes a successful [`Reply`] can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    Empty,
    Stat,
    Entries,
    Opened,
    Data,
    Count,
    Target,
    StatFs,
    Names,
    Offset,
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Empty,
    Stat(Stat),
    /// A directory's entries, checked once when the listing was built.
    Entries(Listing),
    Opened(Opened),
    Data(Bytes),
    /// Bytes written or copied.
    Count(u64),
    /// A symlink's target.
    Target(String),
    StatFs(StatFs),
    /// Extended attribute names.
    Names(Vec<String>),
    /// A file offset, from `lseek`.
    Offset(u64),
}

impl Reply {
    pub fn kind(&self) -> ReplyKind {
        match self {
            Reply::Empty => ReplyKind::Empty,
            Reply::Stat(_) => ReplyKind::Stat,
            Reply::Entries(_) => ReplyKind::Entries,
            Reply::Opened(_) => ReplyKind::Opened,
            Reply::Data(_) => ReplyKind::Data,
            Reply::Count(_) => ReplyKind::Count,
            Reply::Target(_) => ReplyKind::Target,
            Reply::StatFs(_) => ReplyKind::StatFs,
            Reply::Names(_) => ReplyKind::Names,
            Reply::Offset(_) => ReplyKind::Offset,
        }
    }
}

/// Unpacks a successful [`Reply`] of the variant an operation promised: `Ok(value)`, or the
/// error as it came. A reply of another shape is a bug in the dispatcher behind the mount; it is
/// logged as a warning and becomes `EIO`, so a backend never sends the kernel nonsense.
///
/// ```
/// use mountkit_core::{expect_reply, Errno, Reply};
/// assert_eq!(expect_reply!(Ok(Reply::Offset(7)), Offset), Ok(7));
/// assert_eq!(expect_reply!(Ok(Reply::Empty), Offset), Err(Errno::EIO));
/// ```
#[macro_export]
macro_rules! expect_reply {
    ($result:expr, $variant:ident) => {
        match $result {
            Ok($crate::Reply::$variant(value)) => Ok(value),
            Ok(other) => Err($crate::operation::mismatched_reply(
                other.kind(),
                stringify!($variant),
            )),
            Err(errno) => Err(errno),
        }
    };
}

/// Checks that a successful reply is [`Reply::Empty`], like [`expect_reply!`].
pub fn expect_empty(result: FsResult<Reply>) -> FsResult<()> {
    match result {
        Ok(Reply::Empty) => Ok(()),
        Ok(other) => Err(mismatched_reply(other.kind(), "Empty")),
        Err(errno) => Err(errno),
    }
}

#[doc(hidden)]
pub fn mismatched_reply(got: ReplyKind, expected: &str) -> Errno {
    log::warn!("dispatcher answered {got:?} where {expected} was expected");
    Errno::EIO
}

/// Takes the bytes of a [`Reply::Data`] by reference, for as long as the call lasts.
type DataCompletion = Box<dyn for<'a> FnOnce(FsResult<&'a [u8]>) + Send>;

/// What a [`Responder`] calls with the answer.
enum Completion {
    Reply(Box<dyn FnOnce(FsResult<Reply>) + Send>),
    Data(DataCompletion),
}

impl Completion {
    fn call(self, result: FsResult<Reply>) {
        match self {
            Completion::Reply(completion) => completion(result),
            Completion::Data(completion) => match result {
                Ok(Reply::Data(data)) => completion(Ok(&data)),
                Ok(other) => completion(Err(mismatched_reply(other.kind(), "Data"))),
                Err(errno) => completion(Err(errno)),
            },
        }
    }
}

/// Where the answer to one request goes. It is answered exactly once: by
/// [`Responder::respond`] (or [`Responder::respond_with_data`]), or, if it is dropped
/// unanswered (a handler that panicked, a queue torn down at unmount), with `EIO`, so no
/// caller of the filesystem waits forever.
pub struct Responder {
    completion: Option<Completion>,
}

impl Responder {
    pub fn new(completion: impl FnOnce(FsResult<Reply>) + Send + 'static) -> Responder {
        Responder {
            completion: Some(Completion::Reply(Box::new(completion))),
        }
    }

    /// A responder for an operation answered with [`Reply::Data`] whose `completion` uses
    /// the bytes only while it runs, as a FUSE reply written to the kernel does. Answered
    /// through [`Responder::respond_with_data`], it reads the answerer's bytes in place.
    pub fn for_data(completion: impl FnOnce(FsResult<&[u8]>) + Send + 'static) -> Responder {
        Responder {
            completion: Some(Completion::Data(Box::new(completion))),
        }
    }

    pub fn respond(mut self, result: FsResult<Reply>) {
        if let Some(completion) = self.completion.take() {
            completion.call(result);
        }
    }

    /// Answers with `data` as a [`Reply::Data`] without giving it up: a responder made with
    /// [`Responder::for_data`] reads it in place, any other gets a copy.
    pub fn respond_with_data(mut self, data: &[u8]) {
        match self.completion.take() {
            Some(Completion::Data(completion)) => completion(Ok(data)),
            Some(completion) => completion.call(Ok(Reply::Data(Bytes::copy_from_slice(data)))),
            None => {}
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Some(completion) = self.completion.take() {
            completion.call(Err(Errno::EIO));
        }
    }
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.completion.is_some() {
            "Responder(pending)"
        } else {
            "Responder(answered)"
        })
    }
}

/// One request from a backend: who asks, what, and where the answer goes.
#[derive(Debug)]
pub struct Request {
    pub context: RequestContext,
    pub operation: Operation,
    pub responder: Responder,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_dropped_responder_answers_eio() {
        let (tx, rx) = mpsc::channel();
        drop(Responder::new(move |r| tx.send(r).unwrap()));
        assert_eq!(rx.recv().unwrap(), Err(Errno::EIO));
    }

    #[test]
    fn a_responder_answers_once() {
        let (tx, rx) = mpsc::channel();
        Responder::new(move |r| tx.send(r).unwrap()).respond(Ok(Reply::Empty));
        assert_eq!(rx.recv().unwrap(), Ok(Reply::Empty));
        assert!(rx.recv().is_err(), "the completion ran a second time");
    }

    /// A data responder that records what it was given, as an owned copy.
    fn data_responder() -> (Responder, mpsc::Receiver<FsResult<Vec<u8>>>) {
        let (tx, rx) = mpsc::channel();
        let responder = Responder::for_data(move |r| tx.send(r.map(<[u8]>::to_vec)).unwrap());
        (responder, rx)
    }

    #[test]
    fn a_data_responder_takes_replies_and_borrowed_bytes_alike() {
        let (responder, rx) = data_responder();
        responder.respond_with_data(b"borrowed");
        assert_eq!(rx.recv().unwrap(), Ok(b"borrowed".to_vec()));
        let (responder, rx) = data_responder();
        responder.respond(Ok(Reply::Data(Bytes::from_static(b"owned"))));
        assert_eq!(rx.recv().unwrap(), Ok(b"owned".to_vec()));
        let (responder, rx) = data_responder();
        responder.respond(Err(Errno::ENOENT));
        assert_eq!(rx.recv().unwrap(), Err(Errno::ENOENT));
        let (responder, rx) = data_responder();
        responder.respond(Ok(Reply::Empty));
        assert_eq!(rx.recv().unwrap(), Err(Errno::EIO), "not a data reply");
        let (responder, rx) = data_responder();
        drop(responder);
        assert_eq!(rx.recv().unwrap(), Err(Errno::EIO));
    }

    #[test]
    fn borrowed_bytes_reach_a_data_responder_in_place() {
        let source = b"in place".to_vec();
        let (tx, rx) = mpsc::channel();
        Responder::for_data(move |r| tx.send(r.map(|d| d.as_ptr() as usize)).unwrap())
            .respond_with_data(&source);
        assert_eq!(rx.recv().unwrap(), Ok(source.as_ptr() as usize), "no copy");
    }

    #[test]
    fn borrowed_bytes_reach_any_other_responder_as_a_copy() {
        let (tx, rx) = mpsc::channel();
        Responder::new(move |r| tx.send(r).unwrap()).respond_with_data(b"copied");
        assert_eq!(
            rx.recv().unwrap(),
            Ok(Reply::Data(Bytes::from_static(b"copied")))
        );
    }

    #[test]
    fn every_operation_has_a_distinct_name() {
        let mut names = OPERATION_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OPERATION_NAMES.len());
    }

    #[test]
    fn open_flags_report_access_mode() {
        assert!(OpenFlags(OpenFlags::READ_ONLY).readable());
        assert!(!OpenFlags(OpenFlags::READ_ONLY).writable());
        assert!(OpenFlags(OpenFlags::READ_WRITE | OpenFlags::CREATE).writable());
        assert!(!OpenFlags(OpenFlags::WRITE_ONLY).readable());
    }
}
