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
use crate::stat::{SetTime, Stat, StatFs, WindowsAttributes};

/// Who made a request, as the kernel reports it.
///
/// `pid` is the id of the calling thread (for a single-threaded caller, its process id);
/// Windows backends report the process id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The caller's user id (0 on Windows, which has none to give).
    pub uid: u32,
    /// The caller's group id (0 on Windows).
    pub gid: u32,
    /// The calling thread's id (Linux) or process id (Windows).
    pub pid: u32,
}

/// How a file is opened: the access mode and the `O_*` flags, with Linux numbering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenFlags(pub i32);

impl OpenFlags {
    /// The bits that hold the access mode (`O_ACCMODE`).
    pub const ACCESS_MODE: i32 = 0o3;
    /// Access mode: reading only (`O_RDONLY`).
    pub const READ_ONLY: i32 = 0;
    /// Access mode: writing only (`O_WRONLY`).
    pub const WRITE_ONLY: i32 = 1;
    /// Access mode: reading and writing (`O_RDWR`).
    pub const READ_WRITE: i32 = 2;
    /// Create the file if it does not exist (`O_CREAT`).
    pub const CREATE: i32 = 0o100;
    /// With `CREATE`: fail with `EEXIST` if the file exists (`O_EXCL`).
    pub const EXCLUSIVE: i32 = 0o200;
    /// Cut the file to length 0 (`O_TRUNC`).
    pub const TRUNCATE: i32 = 0o1000;
    /// Every write goes to the end of the file (`O_APPEND`).
    pub const APPEND: i32 = 0o2000;

    /// Whether the access mode allows writing.
    pub fn writable(self) -> bool {
        self.0 & Self::ACCESS_MODE != Self::READ_ONLY
    }

    /// Whether the access mode allows reading.
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
    /// The filesystem's number for this open; every later operation on it carries it.
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
    /// A file's attributes (`stat`).
    Getattr {
        /// The file's path.
        path: String,
        /// The open file's handle, when the request came through one.
        handle: Option<u64>,
    },
    /// The entries of an open directory.
    Readdir {
        /// The directory's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
    },
    /// Opens a file.
    Open {
        /// The file's path.
        path: String,
        /// The access mode and `O_*` flags (Linux numbering).
        flags: OpenFlags,
    },
    /// Opens a directory for listing.
    Opendir {
        /// The directory's path.
        path: String,
        /// The access mode and `O_*` flags (Linux numbering).
        flags: OpenFlags,
    },
    /// An open file's last reference is gone: its handle will not be used again.
    Release {
        /// The file's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
        /// The flags the file was opened with.
        flags: OpenFlags,
    },
    /// An open directory is closed: its handle will not be used again.
    Releasedir {
        /// The directory's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
    },
    /// Reads bytes from an open file.
    Read {
        /// The file's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
        /// Where in the file, in bytes.
        offset: u64,
        /// How many bytes to read at most.
        size: u32,
    },
    /// Writes bytes to an open file.
    Write {
        /// The file's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
        /// Where in the file, in bytes.
        offset: u64,
        /// The bytes to write.
        data: Bytes,
    },
    /// Creates a file and opens it.
    Create {
        /// The file's path.
        path: String,
        /// The new file's permission bits.
        mode: u32,
        /// How the new file is opened: access mode and `O_*` flags (Linux numbering).
        flags: OpenFlags,
    },
    /// Creates a FIFO, a socket, a device node or an empty file.
    Mknod {
        /// The file's path.
        path: String,
        /// The node's type (`S_IF*`) and permission bits.
        mode: u32,
        /// The device number, for a character or block device.
        rdev: u32,
    },
    /// Creates a directory.
    Mkdir {
        /// The directory's path.
        path: String,
        /// The new directory's permission bits.
        mode: u32,
    },
    /// Removes a name that is not a directory.
    Unlink {
        /// The file's path.
        path: String,
    },
    /// Removes an empty directory.
    Rmdir {
        /// The directory's path.
        path: String,
    },
    /// Creates a symbolic link.
    Symlink {
        /// What the link points to, stored as given.
        target: String,
        /// Where the link is made.
        path: String,
    },
    /// What a symbolic link points to.
    Readlink {
        /// The file's path.
        path: String,
    },
    /// Gives an existing file another name (a hard link).
    Link {
        /// The file that gets another name.
        existing: String,
        /// The new name.
        path: String,
    },
    /// Moves a name to another.
    Rename {
        /// The current path.
        from: String,
        /// The new path.
        to: String,
        /// What may happen to an existing destination.
        mode: RenameMode,
    },
    /// Sets a file's length.
    Truncate {
        /// The file's path.
        path: String,
        /// The new length, in bytes.
        size: u64,
        /// The open file's handle, when the request came through one.
        handle: Option<u64>,
    },
    /// Changes a file's permission bits.
    Chmod {
        /// The file's path.
        path: String,
        /// The new permission bits.
        mode: u32,
    },
    /// Changes a file's owner, group or both.
    Chown {
        /// The file's path.
        path: String,
        /// The new owner; `None` leaves it as it is.
        uid: Option<u32>,
        /// The new group; `None` leaves it as it is.
        gid: Option<u32>,
    },
    /// Sets a file's last access and modification times.
    Utimens {
        /// The file's path.
        path: String,
        /// The new last access time; `None` leaves it as it is.
        atime: Option<SetTime>,
        /// The new modification time; `None` leaves it as it is.
        mtime: Option<SetTime>,
    },
    /// Sets a file's Windows attributes, its creation (birth) time, or both: what Windows'
    /// `SetFileAttributes`, `SetFileTime` and `FILE_BASIC_INFORMATION` change beyond POSIX
    /// permissions and times. Sent by the Windows backends only; FUSE has no request for it.
    /// A filesystem that does not implement it (`ENOSYS`) keeps what it reports: the backend
    /// then goes on as if the flags had been stored (read-only also travels as `Chmod`).
    SetAttributes {
        /// The file's path.
        path: String,
        /// Every flag as it should now be (Windows sets attributes as a whole); `None` leaves
        /// them as they are.
        attributes: Option<WindowsAttributes>,
        /// The new creation time; `None` leaves it as it is.
        birthtime: Option<SetTime>,
    },
    /// The volume's size and free space (`statfs`).
    Statfs {
        /// A path on the volume.
        path: String,
    },
    /// A descriptor of an open file is being closed; may come several times per open.
    Flush {
        /// The file's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
    },
    /// Puts an open file's data on stable storage.
    Fsync {
        /// The file's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
        /// Only the data, and the metadata needed to read it back (`fdatasync`).
        datasync: bool,
    },
    /// Puts an open directory's changes on stable storage.
    Fsyncdir {
        /// The directory's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
        /// Only the data, and the metadata needed to read it back (`fdatasync`).
        datasync: bool,
    },
    /// Whether the caller may access a file (`access`).
    Access {
        /// The file's path.
        path: String,
        /// What to check: `R_OK`, `W_OK` and `X_OK` bits, or 0 (`F_OK`) for existence alone.
        mask: u32,
    },
    /// An extended attribute's value.
    Getxattr {
        /// The file's path.
        path: String,
        /// The attribute's name, with its namespace (`user.…`).
        name: String,
    },
    /// Sets an extended attribute.
    Setxattr {
        /// The file's path.
        path: String,
        /// The attribute's name, with its namespace (`user.…`).
        name: String,
        /// The attribute's value.
        value: Bytes,
        /// What to do when the attribute exists, or does not.
        mode: XattrMode,
    },
    /// The names of a file's extended attributes.
    Listxattr {
        /// The file's path.
        path: String,
    },
    /// Removes an extended attribute.
    Removexattr {
        /// The file's path.
        path: String,
        /// The attribute's name, with its namespace (`user.…`).
        name: String,
    },
    /// Allocates space in an open file, or punches a hole in it.
    Fallocate {
        /// The file's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
        /// Where the range starts, in bytes.
        offset: u64,
        /// The range's length, in bytes.
        length: u64,
        /// `FALLOC_FL_*` flags (Linux numbering); 0 allocates, and may extend the file.
        mode: i32,
    },
    /// Finds the next data or hole in an open file (`lseek` with `SEEK_DATA` or `SEEK_HOLE`).
    Lseek {
        /// The file's path.
        path: String,
        /// The handle its `open`, `opendir` or `create` returned.
        handle: u64,
        /// Where to start looking, in bytes.
        offset: i64,
        /// What to find, with Linux numbering: `SEEK_DATA` (3) or `SEEK_HOLE` (4), as the kernel passes them on.
        whence: i32,
    },
    /// Copies bytes from one open file to another without passing them through the caller.
    CopyFileRange {
        /// The source file's path.
        from_path: String,
        /// The source file's handle.
        from_handle: u64,
        /// Where to read from, in bytes.
        from_offset: u64,
        /// The destination file's path.
        to_path: String,
        /// The destination file's handle.
        to_handle: u64,
        /// Where to write to, in bytes.
        to_offset: u64,
        /// How many bytes to copy at most.
        length: u64,
    },
    /// A file's security descriptor, in SDDL (Windows only; no FUSE request asks for it).
    /// Without a handler (`ENOSYS`) the Windows backends derive the descriptor from the file's
    /// `uid`, `gid` and `mode` (see `windows::security`).
    GetSecurity {
        /// The file's path.
        path: String,
    },
    /// Stores a file's whole new security descriptor, in SDDL (Windows only): the parts a
    /// program changed (owner, group, DACL) merged into the descriptor the file had, or, just
    /// after a create, the descriptor the new file gets from its directory and its creator.
    SetSecurity {
        /// The file's path.
        path: String,
        /// The whole descriptor: owner, group and DACL (never a SACL).
        sddl: String,
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
    Lseek => "lseek", CopyFileRange => "copy_file_range", SetAttributes => "set_attributes",
    GetSecurity => "get_security", SetSecurity => "set_security",
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
            | SetAttributes { path, .. }
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
            | Lseek { path, .. }
            | GetSecurity { path }
            | SetSecurity { path, .. } => path,
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
            Readlink { .. } | GetSecurity { .. } => ReplyKind::Target,
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
            | SetAttributes { .. }
            | Flush { .. }
            | Fsync { .. }
            | Fsyncdir { .. }
            | Access { .. }
            | Setxattr { .. }
            | Removexattr { .. }
            | Fallocate { .. }
            | SetSecurity { .. } => ReplyKind::Empty,
        }
    }
}

/// The shapes a successful [`Reply`] can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// [`Reply::Empty`].
    Empty,
    /// [`Reply::Stat`].
    Stat,
    /// [`Reply::Entries`].
    Entries,
    /// [`Reply::Opened`].
    Opened,
    /// [`Reply::Data`].
    Data,
    /// [`Reply::Count`].
    Count,
    /// [`Reply::Target`].
    Target,
    /// [`Reply::StatFs`].
    StatFs,
    /// [`Reply::Names`].
    Names,
    /// [`Reply::Offset`].
    Offset,
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Success with nothing to report.
    Empty,
    /// A file's attributes.
    Stat(Stat),
    /// A directory's entries, checked once when the listing was built.
    Entries(Listing),
    /// An open file or directory: its handle and how to serve it.
    Opened(Opened),
    /// Bytes read.
    Data(Bytes),
    /// Bytes written or copied.
    Count(u64),
    /// Text: a symlink's target, or a security descriptor in SDDL.
    Target(String),
    /// The volume's size and free space.
    StatFs(StatFs),
    /// Extended attribute names.
    Names(Vec<String>),
    /// A file offset, from `lseek`.
    Offset(u64),
}

impl Reply {
    /// The shape of this answer.
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
    /// A responder that hands the answer to `completion`.
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

    /// Answers with `result`.
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
    /// Who asks.
    pub context: RequestContext,
    /// What they ask.
    pub operation: Operation,
    /// Where the answer goes.
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
