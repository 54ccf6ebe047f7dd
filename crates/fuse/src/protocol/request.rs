//! One request, parsed from the bytes one `read(2)` of the FUSE device returned.
//!
//! A request is an [`abi::fuse_in_header`], the operation's fixed argument structure, then the
//! operation's variable part (names, each NUL-terminated, or write data), then extensions the
//! kernel appends only for features negotiated at INIT (their length is in the header and they
//! are skipped). Parsing borrows names and data from the buffer and copies nothing else; every
//! read is bounds-checked and works at any alignment.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, SystemTime};

use mountkit_core::SetTime;

use super::abi::{self, opcode, Wire};

/// One parsed request: who asked, about which node, and what.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    /// The request's id; its reply carries it back.
    pub unique: u64,
    /// The node the operation is about (the directory, for name-based operations).
    pub nodeid: u64,
    /// The caller's effective user id.
    pub uid: u32,
    /// The caller's effective group id.
    pub gid: u32,
    /// The caller's thread group id (0 for requests the kernel makes on its own).
    pub pid: u32,
    /// The operation and its arguments.
    pub operation: Operation<'a>,
}

/// An operation with its arguments. Names borrow the request buffer, without their NUL.
#[derive(Debug)]
pub(crate) enum Operation<'a> {
    /// LOOKUP of `name` in the directory `nodeid`.
    Lookup { name: &'a OsStr },
    /// FORGET: drop `nlookup` lookup references to `nodeid`. Never answered.
    Forget { nlookup: u64 },
    /// BATCH_FORGET: FORGET for many nodes at once. Never answered.
    BatchForget(Forgets<'a>),
    /// GETATTR; `fh` is the open file the call came through, when the kernel says which.
    Getattr { fh: Option<u64> },
    /// SETATTR: the changes to make, each only when asked for.
    Setattr(SetattrIn),
    /// READLINK.
    Readlink,
    /// SYMLINK: make `name` in `nodeid`, pointing at `target`.
    Symlink { name: &'a OsStr, target: &'a OsStr },
    /// MKNOD of `name` in `nodeid`; `mode` includes the `S_IF*` bits.
    Mknod {
        name: &'a OsStr,
        mode: u32,
        rdev: u32,
    },
    /// MKDIR of `name` in `nodeid`.
    Mkdir { name: &'a OsStr, mode: u32 },
    /// UNLINK of `name` in `nodeid`.
    Unlink { name: &'a OsStr },
    /// RMDIR of `name` in `nodeid`.
    Rmdir { name: &'a OsStr },
    /// RENAME (`flags` 0) or RENAME2 of `name` in `nodeid` to `newname` in `newdir`.
    Rename {
        newdir: u64,
        name: &'a OsStr,
        newname: &'a OsStr,
        flags: u32,
    },
    /// LINK: a new name `newname` in `nodeid` for the node `oldnodeid`.
    Link { oldnodeid: u64, newname: &'a OsStr },
    /// OPEN with `open(2)` flags.
    Open { flags: i32 },
    /// READ of `size` bytes at `offset`.
    Read { fh: u64, offset: u64, size: u32 },
    /// WRITE of `data` at `offset`.
    Write {
        fh: u64,
        offset: u64,
        data: &'a [u8],
    },
    /// STATFS.
    Statfs,
    /// RELEASE: the last descriptor of an open file closed; `flags` are its `open(2)` flags.
    Release { fh: u64, flags: i32 },
    /// FSYNC; `datasync` for `fdatasync(2)`.
    Fsync { fh: u64, datasync: bool },
    /// SETXATTR of `name` to `value`; `flags` are `XATTR_CREATE`/`XATTR_REPLACE`.
    Setxattr {
        name: &'a OsStr,
        value: &'a [u8],
        flags: i32,
    },
    /// GETXATTR of `name`; `size` 0 asks for the value's size only.
    Getxattr { name: &'a OsStr, size: u32 },
    /// LISTXATTR; `size` 0 asks for the list's size only.
    Listxattr { size: u32 },
    /// REMOVEXATTR of `name`.
    Removexattr { name: &'a OsStr },
    /// FLUSH: one descriptor of an open file closed.
    Flush { fh: u64 },
    /// OPENDIR with `open(2)` flags.
    Opendir { flags: i32 },
    /// READDIR: up to `size` bytes of entries after the one whose `next_offset` was `offset`.
    Readdir { fh: u64, offset: u64, size: u32 },
    /// READDIRPLUS: READDIR with each entry's attributes.
    Readdirplus { fh: u64, offset: u64, size: u32 },
    /// RELEASEDIR: an open directory closed.
    Releasedir { fh: u64 },
    /// FSYNCDIR; `datasync` for `fdatasync(2)`.
    Fsyncdir { fh: u64, datasync: bool },
    /// ACCESS with an `access(2)` mask.
    Access { mask: i32 },
    /// CREATE: make and open `name` in `nodeid`.
    Create {
        name: &'a OsStr,
        flags: i32,
        mode: u32,
    },
    /// INTERRUPT of the request `unique`. An `ENOSYS` answer stops the kernel sending more.
    Interrupt { unique: u64 },
    /// FALLOCATE with `fallocate(2)`'s mode bits.
    Fallocate {
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
    },
    /// LSEEK with `SEEK_DATA`/`SEEK_HOLE` (the kernel answers the others itself).
    Lseek { fh: u64, offset: i64, whence: i32 },
    /// COPY_FILE_RANGE from `nodeid`'s `fh_in` to `nodeid_out`'s `fh_out`.
    CopyFileRange {
        fh_in: u64,
        offset_in: u64,
        nodeid_out: u64,
        fh_out: u64,
        offset_out: u64,
        len: u64,
    },
    /// An INIT after the handshake, which fuser already made: the loop answers EIO.
    Init,
    /// DESTROY: the connection is going away.
    Destroy,
    /// Any other opcode: answered ENOSYS by the loop.
    Unsupported { opcode: u32 },
}

/// The changes a SETATTR asks for; `None` leaves a field as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SetattrIn {
    /// New permission bits (the kernel sends the `S_IF*` bits along).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size (truncate or extend).
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<SetTime>,
    /// New modification time.
    pub mtime: Option<SetTime>,
    /// New change time. The wire has no "now" form for it, so it is always an instant.
    pub ctime: Option<SystemTime>,
    /// The open file the change came through (`ftruncate`, `fchmod`...).
    pub fh: Option<u64>,
    /// The lock owner of that open file.
    pub lock_owner: Option<u64>,
}

/// The `(nodeid, nlookup)` pairs of a BATCH_FORGET, read from the request buffer as they are
/// iterated; `len()` (from [`ExactSizeIterator`]) says how many are left.
#[derive(Clone, Debug)]
pub(crate) struct Forgets<'a> {
    /// `count` packed `fuse_forget_one` structures; the length is a multiple of their size.
    pairs: &'a [u8],
}

impl Iterator for Forgets<'_> {
    type Item = abi::fuse_forget_one;

    fn next(&mut self) -> Option<abi::fuse_forget_one> {
        let one = self.pairs.get(..abi::fuse_forget_one::SIZE)?;
        self.pairs = &self.pairs[abi::fuse_forget_one::SIZE..];
        Some(abi::fuse_forget_one::decode(one))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.pairs.len() / abi::fuse_forget_one::SIZE;
        (len, Some(len))
    }
}

impl ExactSizeIterator for Forgets<'_> {}

/// A request the layer could not parse. The kernel never sends one; seeing it means the
/// buffer was cut short or the kernel speaks an ABI this layer does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// The request's id when the header was readable: the loop answers it EIO.
    pub unique: Option<u64>,
    /// What was wrong.
    pub problem: ParseProblem,
}

/// What made a request unparseable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ParseProblem {
    /// Fewer bytes than a `fuse_in_header`.
    ShortHeader { len: usize },
    /// The header's `len` (or its extension length) disagrees with the bytes read.
    LengthMismatch {
        header_len: u32,
        extension_len: usize,
        read: usize,
    },
    /// The operation's argument is shorter than its structure or its data.
    ShortArgument {
        opcode: u32,
        needed: usize,
        got: usize,
    },
    /// A name runs to the end of the request without its NUL.
    UnterminatedName { opcode: u32 },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed FUSE request")?;
        if let Some(unique) = self.unique {
            write!(f, " {unique}")?;
        }
        match &self.problem {
            ParseProblem::ShortHeader { len } => write!(
                f,
                ": {len} bytes, fewer than the {}-byte header",
                abi::fuse_in_header::SIZE
            ),
            ParseProblem::LengthMismatch {
                header_len,
                extension_len,
                read,
            } => write!(
                f,
                ": the header says {header_len} bytes ({extension_len} of extensions), \
                 {read} were read"
            ),
            ParseProblem::ShortArgument {
                opcode,
                needed,
                got,
            } => write!(
                f,
                ": opcode {opcode} needs {needed} bytes of arguments, it has {got}"
            ),
            ParseProblem::UnterminatedName { opcode } => {
                write!(f, ": a name of opcode {opcode} has no terminating NUL")
            }
        }?;
        if self.unique.is_some() {
            write!(f, "; it is answered EIO")?;
        }
        // The kernel never sends such a request, so the likely cause is a newer ABI.
        write!(
            f,
            ". If the kernel is newer than FUSE ABI 7.40, report this with the kernel version"
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses one request. `bytes` is exactly what one `read(2)` of the device returned.
pub(crate) fn parse(bytes: &[u8]) -> Result<Request<'_>, ParseError> {
    let Some(header_bytes) = bytes.get(..abi::fuse_in_header::SIZE) else {
        return Err(ParseError {
            unique: None,
            problem: ParseProblem::ShortHeader { len: bytes.len() },
        });
    };
    let header = abi::fuse_in_header::decode(header_bytes);
    let fail = |problem| ParseError {
        unique: Some(header.unique),
        problem,
    };
    let extension_len = usize::from(header.total_extlen) * 8;
    let arguments_end = (header.len as usize).checked_sub(extension_len);
    let arguments = match arguments_end {
        Some(end) if header.len as usize == bytes.len() && end >= abi::fuse_in_header::SIZE => {
            &bytes[abi::fuse_in_header::SIZE..end]
        }
        _ => {
            return Err(fail(ParseProblem::LengthMismatch {
                header_len: header.len,
                extension_len,
                read: bytes.len(),
            }))
        }
    };
    let operation = parse_operation(header.opcode, arguments).map_err(fail)?;
    Ok(Request {
        unique: header.unique,
        nodeid: header.nodeid,
        uid: header.uid,
        gid: header.gid,
        pid: header.pid,
        operation,
    })
}

/// Reads an operation's arguments front to back.
struct Arguments<'a> {
    opcode: u32,
    rest: &'a [u8],
}

impl<'a> Arguments<'a> {
    fn fixed<T: Wire>(&mut self) -> Result<T, ParseProblem> {
        Ok(T::decode(self.bytes(T::SIZE)?))
    }

    fn bytes(&mut self, len: usize) -> Result<&'a [u8], ParseProblem> {
        if self.rest.len() < len {
            return Err(ParseProblem::ShortArgument {
                opcode: self.opcode,
                needed: len,
                got: self.rest.len(),
            });
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    /// A NUL-terminated name, without its NUL.
    fn name(&mut self) -> Result<&'a OsStr, ParseProblem> {
        let Some(nul) = self.rest.iter().position(|&b| b == 0) else {
            return Err(ParseProblem::UnterminatedName {
                opcode: self.opcode,
            });
        };
        let name = &self.rest[..nul];
        self.rest = &self.rest[nul + 1..];
        Ok(OsStr::from_bytes(name))
    }
}

/// Parses the part of a request after its header (extensions removed).
fn parse_operation(opcode: u32, arguments: &[u8]) -> Result<Operation<'_>, ParseProblem> {
    let mut args = Arguments {
        opcode,
        rest: arguments,
    };
    let operation = match opcode {
        opcode::FUSE_LOOKUP => Operation::Lookup { name: args.name()? },
        opcode::FUSE_FORGET => Operation::Forget {
            nlookup: args.fixed::<abi::fuse_forget_in>()?.nlookup,
        },
        opcode::FUSE_BATCH_FORGET => {
            let count = args.fixed::<abi::fuse_batch_forget_in>()?.count as usize;
            let len = count.saturating_mul(abi::fuse_forget_one::SIZE);
            Operation::BatchForget(Forgets {
                pairs: args.bytes(len)?,
            })
        }
        opcode::FUSE_GETATTR => {
            let arg = args.fixed::<abi::fuse_getattr_in>()?;
            Operation::Getattr {
                fh: (arg.getattr_flags & abi::FUSE_GETATTR_FH != 0).then_some(arg.fh),
            }
        }
        opcode::FUSE_SETATTR => Operation::Setattr(setattr(&args.fixed()?)),
        opcode::FUSE_READLINK => Operation::Readlink,
        opcode::FUSE_SYMLINK => Operation::Symlink {
            name: args.name()?,
            target: args.name()?,
        },
        opcode::FUSE_MKNOD => {
            let arg = args.fixed::<abi::fuse_mknod_in>()?;
            Operation::Mknod {
                name: args.name()?,
                mode: arg.mode,
                rdev: arg.rdev,
            }
        }
        opcode::FUSE_MKDIR => {
            let arg = args.fixed::<abi::fuse_mkdir_in>()?;
            Operation::Mkdir {
                name: args.name()?,
                mode: arg.mode,
            }
        }
        opcode::FUSE_UNLINK => Operation::Unlink { name: args.name()? },
        opcode::FUSE_RMDIR => Operation::Rmdir { name: args.name()? },
        opcode::FUSE_RENAME => {
            let arg = args.fixed::<abi::fuse_rename_in>()?;
            Operation::Rename {
                newdir: arg.newdir,
                name: args.name()?,
                newname: args.name()?,
                flags: 0,
            }
        }
        opcode::FUSE_RENAME2 => {
            let arg = args.fixed::<abi::fuse_rename2_in>()?;
            Operation::Rename {
                newdir: arg.newdir,
                name: args.name()?,
                newname: args.name()?,
                flags: arg.flags,
            }
        }
        opcode::FUSE_LINK => {
            let arg = args.fixed::<abi::fuse_link_in>()?;
            Operation::Link {
                oldnodeid: arg.oldnodeid,
                newname: args.name()?,
            }
        }
        opcode::FUSE_OPEN => Operation::Open {
            flags: args.fixed::<abi::fuse_open_in>()?.flags as i32,
        },
        opcode::FUSE_READ => {
            let arg = args.fixed::<abi::fuse_read_in>()?;
            Operation::Read {
                fh: arg.fh,
                offset: arg.offset,
                size: arg.size,
            }
        }
        opcode::FUSE_WRITE => {
            let arg = args.fixed::<abi::fuse_write_in>()?;
            Operation::Write {
                fh: arg.fh,
                offset: arg.offset,
                data: args.bytes(arg.size as usize)?,
            }
        }
        opcode::FUSE_STATFS => Operation::Statfs,
        opcode::FUSE_RELEASE => {
            let arg = args.fixed::<abi::fuse_release_in>()?;
            Operation::Release {
                fh: arg.fh,
                flags: arg.flags as i32,
            }
        }
        opcode::FUSE_FSYNC => {
            let arg = args.fixed::<abi::fuse_fsync_in>()?;
            Operation::Fsync {
                fh: arg.fh,
                datasync: arg.fsync_flags & abi::FUSE_FSYNC_FDATASYNC != 0,
            }
        }
        opcode::FUSE_SETXATTR => {
            let arg = args.fixed::<abi::fuse_setxattr_in>()?;
            Operation::Setxattr {
                name: args.name()?,
                value: args.bytes(arg.size as usize)?,
                flags: arg.flags as i32,
            }
        }
        opcode::FUSE_GETXATTR => {
            let arg = args.fixed::<abi::fuse_getxattr_in>()?;
            Operation::Getxattr {
                name: args.name()?,
                size: arg.size,
            }
        }
        opcode::FUSE_LISTXATTR => Operation::Listxattr {
            size: args.fixed::<abi::fuse_getxattr_in>()?.size,
        },
        opcode::FUSE_REMOVEXATTR => Operation::Removexattr { name: args.name()? },
        opcode::FUSE_FLUSH => {
            let arg = args.fixed::<abi::fuse_flush_in>()?;
            Operation::Flush { fh: arg.fh }
        }
        opcode::FUSE_OPENDIR => Operation::Opendir {
            flags: args.fixed::<abi::fuse_open_in>()?.flags as i32,
        },
        opcode::FUSE_READDIR | opcode::FUSE_READDIRPLUS => {
            let arg = args.fixed::<abi::fuse_read_in>()?;
            let (fh, offset, size) = (arg.fh, arg.offset, arg.size);
            if opcode == opcode::FUSE_READDIR {
                Operation::Readdir { fh, offset, size }
            } else {
                Operation::Readdirplus { fh, offset, size }
            }
        }
        opcode::FUSE_RELEASEDIR => {
            let arg = args.fixed::<abi::fuse_release_in>()?;
            Operation::Releasedir { fh: arg.fh }
        }
        opcode::FUSE_FSYNCDIR => {
            let arg = args.fixed::<abi::fuse_fsync_in>()?;
            Operation::Fsyncdir {
                fh: arg.fh,
                datasync: arg.fsync_flags & abi::FUSE_FSYNC_FDATASYNC != 0,
            }
        }
        opcode::FUSE_ACCESS => Operation::Access {
            mask: args.fixed::<abi::fuse_access_in>()?.mask as i32,
        },
        opcode::FUSE_CREATE => {
            let arg = args.fixed::<abi::fuse_create_in>()?;
            Operation::Create {
                name: args.name()?,
                flags: arg.flags as i32,
                mode: arg.mode,
            }
        }
        opcode::FUSE_INTERRUPT => Operation::Interrupt {
            unique: args.fixed::<abi::fuse_interrupt_in>()?.unique,
        },
        opcode::FUSE_FALLOCATE => {
            let arg = args.fixed::<abi::fuse_fallocate_in>()?;
            Operation::Fallocate {
                fh: arg.fh,
                offset: arg.offset,
                length: arg.length,
                mode: arg.mode as i32,
            }
        }
        opcode::FUSE_LSEEK => {
            let arg = args.fixed::<abi::fuse_lseek_in>()?;
            Operation::Lseek {
                fh: arg.fh,
                offset: arg.offset as i64,
                whence: arg.whence as i32,
            }
        }
        opcode::FUSE_COPY_FILE_RANGE => {
            let arg = args.fixed::<abi::fuse_copy_file_range_in>()?;
            Operation::CopyFileRange {
                fh_in: arg.fh_in,
                offset_in: arg.off_in,
                nodeid_out: arg.nodeid_out,
                fh_out: arg.fh_out,
                offset_out: arg.off_out,
                len: arg.len,
            }
        }
        opcode::FUSE_INIT => Operation::Init,
        opcode::FUSE_DESTROY => Operation::Destroy,
        other => Operation::Unsupported { opcode: other },
    };
    Ok(operation)
}

fn setattr(arg: &abi::fuse_setattr_in) -> SetattrIn {
    let set = |bit: u32| arg.valid & bit != 0;
    let time = |bit: u32, now_bit: u32, secs: u64, nsecs: u32| {
        if set(now_bit) {
            Some(SetTime::Now)
        } else {
            set(bit).then(|| SetTime::At(system_time(secs, nsecs)))
        }
    };
    SetattrIn {
        mode: set(abi::FATTR_MODE).then_some(arg.mode),
        uid: set(abi::FATTR_UID).then_some(arg.uid),
        gid: set(abi::FATTR_GID).then_some(arg.gid),
        size: set(abi::FATTR_SIZE).then_some(arg.size),
        atime: time(
            abi::FATTR_ATIME,
            abi::FATTR_ATIME_NOW,
            arg.atime,
            arg.atimensec,
        ),
        mtime: time(
            abi::FATTR_MTIME,
            abi::FATTR_MTIME_NOW,
            arg.mtime,
            arg.mtimensec,
        ),
        ctime: set(abi::FATTR_CTIME).then(|| system_time(arg.ctime, arg.ctimensec)),
        fh: set(abi::FATTR_FH).then_some(arg.fh),
        lock_owner: set(abi::FATTR_LOCKOWNER).then_some(arg.lock_owner),
    }
}

/// A wire time: seconds since the epoch, which the kernel sends as a signed 64-bit number in
/// an unsigned field, plus nanoseconds (always forward in time).
fn system_time(secs: u64, nsecs: u32) -> SystemTime {
    let secs = secs as i64;
    let nanos = Duration::from_nanos(u64::from(nsecs));
    if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64) + nanos
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Request bytes as the kernel would write them: a header, then whatever is appended.
    struct Builder {
        header: abi::fuse_in_header,
        body: Vec<u8>,
    }

    fn request(opcode: u32) -> Builder {
        Builder {
            header: abi::fuse_in_header {
                opcode,
                unique: 0x1122_3344_5566_7788,
                nodeid: 42,
                uid: 1000,
                gid: 100,
                pid: 4321,
                ..Default::default()
            },
            body: Vec::new(),
        }
    }

    impl Builder {
        fn arg<T: Wire>(mut self, arg: T) -> Builder {
            arg.encode(&mut self.body);
            self
        }

        fn name(mut self, name: &str) -> Builder {
            self.body.extend_from_slice(name.as_bytes());
            self.body.push(0);
            self
        }

        fn bytes(mut self, bytes: &[u8]) -> Builder {
            self.body.extend_from_slice(bytes);
            self
        }

        /// The bytes, preceded by one byte so that the request starts at an odd address.
        fn build_unaligned(&self) -> Vec<u8> {
            let mut header = self.header;
            header.len = (abi::fuse_in_header::SIZE + self.body.len()) as u32;
            let mut bytes = vec![0xff];
            header.encode(&mut bytes);
            bytes.extend_from_slice(&self.body);
            bytes
        }
    }

    /// Parses the builder's request from an unaligned buffer and returns its operation.
    fn with_operation(builder: &Builder, check: impl FnOnce(Operation<'_>)) {
        let bytes = builder.build_unaligned();
        let request = parse(&bytes[1..]).expect("the request parses");
        assert_eq!(request.unique, 0x1122_3344_5566_7788);
        assert_eq!(request.nodeid, 42);
        assert_eq!((request.uid, request.gid, request.pid), (1000, 100, 4321));
        check(request.operation);
    }

    fn name(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn name_operations() {
        with_operation(&request(opcode::FUSE_LOOKUP).name("a.txt"), |op| {
            assert!(matches!(op, Operation::Lookup { name: n } if n == name("a.txt")));
        });
        with_operation(&request(opcode::FUSE_UNLINK).name("gone"), |op| {
            assert!(matches!(op, Operation::Unlink { name: n } if n == name("gone")));
        });
        with_operation(&request(opcode::FUSE_RMDIR).name("dir"), |op| {
            assert!(matches!(op, Operation::Rmdir { name: n } if n == name("dir")));
        });
        with_operation(&request(opcode::FUSE_REMOVEXATTR).name("user.x"), |op| {
            assert!(matches!(op, Operation::Removexattr { name: n } if n == name("user.x")));
        });
        let symlink = request(opcode::FUSE_SYMLINK).name("link").name("../target");
        with_operation(&symlink, |op| {
            let Operation::Symlink { name: n, target } = op else {
                panic!("{op:?}")
            };
            assert_eq!((n, target), (name("link"), name("../target")));
        });
    }

    #[test]
    fn a_name_that_is_not_utf8_is_kept_as_bytes() {
        let bytes = request(opcode::FUSE_LOOKUP)
            .bytes(b"caf\xe9\0")
            .build_unaligned();
        let request = parse(&bytes[1..]).unwrap();
        let Operation::Lookup { name } = request.operation else {
            panic!("{:?}", request.operation)
        };
        assert_eq!(name.as_bytes(), b"caf\xe9");
    }

    #[test]
    fn forgets() {
        let forget = request(opcode::FUSE_FORGET).arg(abi::fuse_forget_in { nlookup: 3 });
        with_operation(&forget, |op| {
            assert!(matches!(op, Operation::Forget { nlookup: 3 }));
        });
        let batch = request(opcode::FUSE_BATCH_FORGET)
            .arg(abi::fuse_batch_forget_in { count: 3, dummy: 0 })
            .arg(abi::fuse_forget_one {
                nodeid: 5,
                nlookup: 1,
            })
            .arg(abi::fuse_forget_one {
                nodeid: 6,
                nlookup: 2,
            })
            .arg(abi::fuse_forget_one {
                nodeid: u64::MAX,
                nlookup: 1 << 40,
            });
        with_operation(&batch, |op| {
            let Operation::BatchForget(forgets) = op else {
                panic!("{op:?}")
            };
            assert_eq!(forgets.len(), 3);
            let pairs: Vec<(u64, u64)> = forgets.map(|f| (f.nodeid, f.nlookup)).collect();
            assert_eq!(pairs, [(5, 1), (6, 2), (u64::MAX, 1 << 40)]);
        });
    }

    #[test]
    fn a_batch_forget_shorter_than_its_count_fails() {
        let bytes = request(opcode::FUSE_BATCH_FORGET)
            .arg(abi::fuse_batch_forget_in { count: 2, dummy: 0 })
            .arg(abi::fuse_forget_one {
                nodeid: 5,
                nlookup: 1,
            })
            .build_unaligned();
        let error = parse(&bytes[1..]).unwrap_err();
        assert_eq!(error.unique, Some(0x1122_3344_5566_7788));
        assert_eq!(
            error.problem,
            ParseProblem::ShortArgument {
                opcode: opcode::FUSE_BATCH_FORGET,
                needed: 32,
                got: 16
            }
        );
    }

    #[test]
    fn getattr_has_a_handle_only_with_getattr_fh() {
        let with_fh = request(opcode::FUSE_GETATTR).arg(abi::fuse_getattr_in {
            getattr_flags: abi::FUSE_GETATTR_FH,
            dummy: 0,
            fh: 9,
        });
        with_operation(&with_fh, |op| {
            assert!(matches!(op, Operation::Getattr { fh: Some(9) }));
        });
        let without = request(opcode::FUSE_GETATTR).arg(abi::fuse_getattr_in {
            getattr_flags: 0,
            dummy: 0,
            fh: 9,
        });
        with_operation(&without, |op| {
            assert!(matches!(op, Operation::Getattr { fh: None }));
        });
    }

    #[test]
    fn setattr_reports_only_the_valid_fields() {
        let all = request(opcode::FUSE_SETATTR).arg(abi::fuse_setattr_in {
            valid: abi::FATTR_MODE
                | abi::FATTR_UID
                | abi::FATTR_GID
                | abi::FATTR_SIZE
                | abi::FATTR_ATIME
                | abi::FATTR_MTIME
                | abi::FATTR_MTIME_NOW
                | abi::FATTR_CTIME
                | abi::FATTR_FH
                | abi::FATTR_LOCKOWNER,
            fh: 7,
            size: 1 << 33,
            lock_owner: 99,
            atime: 1_700_000_000,
            atimensec: 5,
            mtime: 1,
            ctime: (-2i64) as u64,
            ctimensec: 250_000_000,
            mode: 0o100640,
            uid: 1,
            gid: 2,
            ..Default::default()
        });
        with_operation(&all, |op| {
            let Operation::Setattr(set) = op else {
                panic!("{op:?}")
            };
            let epoch = SystemTime::UNIX_EPOCH;
            assert_eq!(
                set,
                SetattrIn {
                    mode: Some(0o100640),
                    uid: Some(1),
                    gid: Some(2),
                    size: Some(1 << 33),
                    atime: Some(SetTime::At(epoch + Duration::new(1_700_000_000, 5))),
                    // MTIME_NOW wins over the time sent along.
                    mtime: Some(SetTime::Now),
                    ctime: Some(epoch - Duration::from_millis(1750)),
                    fh: Some(7),
                    lock_owner: Some(99),
                }
            );
        });
        let none = request(opcode::FUSE_SETATTR).arg(abi::fuse_setattr_in {
            mode: 0o777,
            size: 5,
            fh: 3,
            ..Default::default()
        });
        with_operation(&none, |op| {
            assert!(matches!(op, Operation::Setattr(set) if set == SetattrIn::default()));
        });
    }

    #[test]
    fn entry_making_operations() {
        let mknod = request(opcode::FUSE_MKNOD)
            .arg(abi::fuse_mknod_in {
                mode: 0o010644,
                rdev: 0x0801,
                umask: 0o022,
                padding: 0,
            })
            .name("fifo");
        with_operation(&mknod, |op| {
            let Operation::Mknod {
                name: n,
                mode,
                rdev,
            } = op
            else {
                panic!("{op:?}")
            };
            assert_eq!((n, mode, rdev), (name("fifo"), 0o010644, 0x0801));
        });
        let mkdir = request(opcode::FUSE_MKDIR)
            .arg(abi::fuse_mkdir_in {
                mode: 0o755,
                umask: 0o002,
            })
            .name("sub");
        with_operation(&mkdir, |op| {
            let Operation::Mkdir { name: n, mode } = op else {
                panic!("{op:?}")
            };
            assert_eq!((n, mode), (name("sub"), 0o755));
        });
        let link = request(opcode::FUSE_LINK)
            .arg(abi::fuse_link_in { oldnodeid: 77 })
            .name("hard");
        with_operation(&link, |op| {
            let Operation::Link { oldnodeid, newname } = op else {
                panic!("{op:?}")
            };
            assert_eq!((oldnodeid, newname), (77, name("hard")));
        });
        let create = request(opcode::FUSE_CREATE)
            .arg(abi::fuse_create_in {
                flags: (libc::O_WRONLY | libc::O_EXCL) as u32,
                mode: 0o100600,
                umask: 0o077,
                open_flags: 0,
            })
            .name("new");
        with_operation(&create, |op| {
            let Operation::Create {
                name: n,
                flags,
                mode,
            } = op
            else {
                panic!("{op:?}")
            };
            assert_eq!(
                (n, flags, mode),
                (name("new"), libc::O_WRONLY | libc::O_EXCL, 0o100600)
            );
        });
    }

    #[test]
    fn rename_and_rename2() {
        let rename = request(opcode::FUSE_RENAME)
            .arg(abi::fuse_rename_in { newdir: 8 })
            .name("old")
            .name("new");
        with_operation(&rename, |op| {
            let Operation::Rename {
                newdir,
                name: n,
                newname,
                flags,
            } = op
            else {
                panic!("{op:?}")
            };
            assert_eq!(
                (newdir, n, newname, flags),
                (8, name("old"), name("new"), 0)
            );
        });
        let rename2 = request(opcode::FUSE_RENAME2)
            .arg(abi::fuse_rename2_in {
                newdir: 9,
                flags: libc::RENAME_NOREPLACE,
                padding: 0,
            })
            .name("a")
            .name("b");
        with_operation(&rename2, |op| {
            let Operation::Rename {
                newdir,
                name: n,
                newname,
                flags,
            } = op
            else {
                panic!("{op:?}")
            };
            assert_eq!(
                (newdir, n, newname, flags),
                (9, name("a"), name("b"), libc::RENAME_NOREPLACE)
            );
        });
    }

    #[test]
    fn open_read_write_release() {
        let open_in = abi::fuse_open_in {
            flags: libc::O_RDWR as u32,
            open_flags: 0,
        };
        with_operation(&request(opcode::FUSE_OPEN).arg(open_in), |op| {
            assert!(matches!(op, Operation::Open { flags } if flags == libc::O_RDWR));
        });
        with_operation(&request(opcode::FUSE_OPENDIR).arg(open_in), |op| {
            assert!(matches!(op, Operation::Opendir { flags } if flags == libc::O_RDWR));
        });
        let read = request(opcode::FUSE_READ).arg(abi::fuse_read_in {
            fh: 3,
            offset: 1 << 40,
            size: 4096,
            read_flags: 0,
            lock_owner: 55,
            flags: libc::O_RDONLY as u32,
            padding: 0,
        });
        with_operation(&read, |op| {
            assert!(matches!(
                op,
                Operation::Read {
                    fh: 3,
                    offset: 1_099_511_627_776,
                    size: 4096
                }
            ));
        });
        let write = request(opcode::FUSE_WRITE)
            .arg(abi::fuse_write_in {
                fh: 4,
                offset: 10,
                size: 5,
                write_flags: 0,
                lock_owner: 66,
                flags: libc::O_APPEND as u32,
                padding: 0,
            })
            .bytes(b"hello");
        with_operation(&write, |op| {
            let Operation::Write { fh, offset, data } = op else {
                panic!("{op:?}")
            };
            assert_eq!((fh, offset, data), (4, 10, &b"hello"[..]));
        });
        let release = request(opcode::FUSE_RELEASE).arg(abi::fuse_release_in {
            fh: 4,
            flags: libc::O_RDWR as u32,
            release_flags: 0,
            lock_owner: 66,
        });
        with_operation(&release, |op| {
            assert!(matches!(
                op,
                Operation::Release { fh: 4, flags } if flags == libc::O_RDWR
            ));
        });
        let releasedir = request(opcode::FUSE_RELEASEDIR).arg(abi::fuse_release_in {
            fh: 5,
            flags: 0,
            release_flags: 0,
            lock_owner: 0,
        });
        with_operation(&releasedir, |op| {
            assert!(matches!(op, Operation::Releasedir { fh: 5 }));
        });
        let flush = request(opcode::FUSE_FLUSH).arg(abi::fuse_flush_in {
            fh: 4,
            unused: 0,
            padding: 0,
            lock_owner: 77,
        });
        with_operation(&flush, |op| {
            assert!(matches!(op, Operation::Flush { fh: 4 }));
        });
    }

    #[test]
    fn a_write_with_less_data_than_its_size_fails() {
        let bytes = request(opcode::FUSE_WRITE)
            .arg(abi::fuse_write_in {
                size: 10,
                ..Default::default()
            })
            .bytes(b"short")
            .build_unaligned();
        assert_eq!(
            parse(&bytes[1..]).unwrap_err().problem,
            ParseProblem::ShortArgument {
                opcode: opcode::FUSE_WRITE,
                needed: 10,
                got: 5
            }
        );
    }

    #[test]
    fn syncs() {
        let fsync_in = |fsync_flags| abi::fuse_fsync_in {
            fh: 2,
            fsync_flags,
            padding: 0,
        };
        with_operation(
            &request(opcode::FUSE_FSYNC).arg(fsync_in(abi::FUSE_FSYNC_FDATASYNC)),
            |op| {
                assert!(matches!(
                    op,
                    Operation::Fsync {
                        fh: 2,
                        datasync: true
                    }
                ))
            },
        );
        with_operation(&request(opcode::FUSE_FSYNCDIR).arg(fsync_in(0)), |op| {
            assert!(matches!(
                op,
                Operation::Fsyncdir {
                    fh: 2,
                    datasync: false
                }
            ));
        });
    }

    #[test]
    fn xattrs() {
        let setxattr = request(opcode::FUSE_SETXATTR)
            .arg(abi::fuse_setxattr_in {
                size: 3,
                flags: libc::XATTR_CREATE as u32,
            })
            .name("user.k")
            .bytes(b"v\0w");
        with_operation(&setxattr, |op| {
            let Operation::Setxattr {
                name: n,
                value,
                flags,
            } = op
            else {
                panic!("{op:?}")
            };
            assert_eq!(
                (n, value, flags),
                (name("user.k"), &b"v\0w"[..], libc::XATTR_CREATE)
            );
        });
        let getxattr = request(opcode::FUSE_GETXATTR)
            .arg(abi::fuse_getxattr_in {
                size: 64,
                padding: 0,
            })
            .name("user.k");
        with_operation(&getxattr, |op| {
            assert!(matches!(op, Operation::Getxattr { name: n, size: 64 } if n == name("user.k")));
        });
        let listxattr = request(opcode::FUSE_LISTXATTR).arg(abi::fuse_getxattr_in {
            size: 0,
            padding: 0,
        });
        with_operation(&listxattr, |op| {
            assert!(matches!(op, Operation::Listxattr { size: 0 }));
        });
    }

    #[test]
    fn directory_reads() {
        let read_in = abi::fuse_read_in {
            fh: 6,
            offset: 3,
            size: 8192,
            ..Default::default()
        };
        with_operation(&request(opcode::FUSE_READDIR).arg(read_in), |op| {
            assert!(matches!(
                op,
                Operation::Readdir {
                    fh: 6,
                    offset: 3,
                    size: 8192
                }
            ));
        });
        with_operation(&request(opcode::FUSE_READDIRPLUS).arg(read_in), |op| {
            assert!(matches!(
                op,
                Operation::Readdirplus {
                    fh: 6,
                    offset: 3,
                    size: 8192
                }
            ));
        });
    }

    #[test]
    fn the_other_operations() {
        with_operation(&request(opcode::FUSE_READLINK), |op| {
            assert!(matches!(op, Operation::Readlink));
        });
        with_operation(&request(opcode::FUSE_STATFS), |op| {
            assert!(matches!(op, Operation::Statfs));
        });
        with_operation(&request(opcode::FUSE_INIT).bytes(&[0; 64]), |op| {
            assert!(matches!(op, Operation::Init));
        });
        with_operation(&request(opcode::FUSE_DESTROY), |op| {
            assert!(matches!(op, Operation::Destroy));
        });
        let access = request(opcode::FUSE_ACCESS).arg(abi::fuse_access_in {
            mask: libc::W_OK as u32,
            padding: 0,
        });
        with_operation(&access, |op| {
            assert!(matches!(op, Operation::Access { mask } if mask == libc::W_OK));
        });
        let interrupt = request(opcode::FUSE_INTERRUPT).arg(abi::fuse_interrupt_in { unique: 12 });
        with_operation(&interrupt, |op| {
            assert!(matches!(op, Operation::Interrupt { unique: 12 }));
        });
        let fallocate = request(opcode::FUSE_FALLOCATE).arg(abi::fuse_fallocate_in {
            fh: 1,
            offset: 2,
            length: 3,
            mode: libc::FALLOC_FL_KEEP_SIZE as u32,
            padding: 0,
        });
        with_operation(&fallocate, |op| {
            assert!(matches!(
                op,
                Operation::Fallocate { fh: 1, offset: 2, length: 3, mode } if mode == libc::FALLOC_FL_KEEP_SIZE
            ));
        });
        let lseek = request(opcode::FUSE_LSEEK).arg(abi::fuse_lseek_in {
            fh: 1,
            offset: 4096,
            whence: libc::SEEK_HOLE as u32,
            padding: 0,
        });
        with_operation(&lseek, |op| {
            assert!(matches!(
                op,
                Operation::Lseek { fh: 1, offset: 4096, whence } if whence == libc::SEEK_HOLE
            ));
        });
        let copy = request(opcode::FUSE_COPY_FILE_RANGE).arg(abi::fuse_copy_file_range_in {
            fh_in: 1,
            off_in: 2,
            nodeid_out: 3,
            fh_out: 4,
            off_out: 5,
            len: 6,
            flags: 7,
        });
        with_operation(&copy, |op| {
            assert!(matches!(
                op,
                Operation::CopyFileRange {
                    fh_in: 1,
                    offset_in: 2,
                    nodeid_out: 3,
                    fh_out: 4,
                    offset_out: 5,
                    len: 6
                }
            ));
        });
        // FUSE_IOCTL: an opcode the layer does not serve.
        with_operation(&request(39).bytes(&[0; 32]), |op| {
            assert!(matches!(op, Operation::Unsupported { opcode: 39 }));
        });
    }

    #[test]
    fn extensions_at_the_end_are_not_part_of_the_arguments() {
        // A security-context extension after a LOOKUP's name, 16 bytes (2 units).
        let mut builder = request(opcode::FUSE_LOOKUP).name("x").bytes(&[b'e'; 16]);
        builder.header.total_extlen = 2;
        with_operation(&builder, |op| {
            assert!(matches!(op, Operation::Lookup { name: n } if n == name("x")));
        });
    }

    #[test]
    fn malformed_requests_fail_with_what_was_wrong() {
        let short = parse(&[0; 39]).unwrap_err();
        assert_eq!(short.unique, None);
        assert!(!short.to_string().contains("answered"), "{short}");
        assert_eq!(short.problem, ParseProblem::ShortHeader { len: 39 });

        let lookup = request(opcode::FUSE_LOOKUP).name("abc").build_unaligned();
        let cut = parse(&lookup[1..lookup.len() - 1]).unwrap_err();
        assert_eq!(cut.unique, Some(0x1122_3344_5566_7788));
        assert_eq!(
            cut.problem,
            ParseProblem::LengthMismatch {
                header_len: 44,
                extension_len: 0,
                read: 43
            }
        );

        let mut too_much_extension = request(opcode::FUSE_LOOKUP).name("abc");
        too_much_extension.header.total_extlen = 1;
        let bytes = too_much_extension.build_unaligned();
        assert!(matches!(
            parse(&bytes[1..]).unwrap_err().problem,
            ParseProblem::LengthMismatch {
                extension_len: 8,
                ..
            }
        ));

        let unterminated = request(opcode::FUSE_MKDIR)
            .arg(abi::fuse_mkdir_in::default())
            .bytes(b"abc")
            .build_unaligned();
        assert_eq!(
            parse(&unterminated[1..]).unwrap_err().problem,
            ParseProblem::UnterminatedName {
                opcode: opcode::FUSE_MKDIR
            }
        );

        let symlink_without_target = request(opcode::FUSE_SYMLINK).name("link").build_unaligned();
        assert!(matches!(
            parse(&symlink_without_target[1..]).unwrap_err().problem,
            ParseProblem::UnterminatedName { .. }
        ));

        let short_read = request(opcode::FUSE_READ).bytes(&[0; 39]).build_unaligned();
        let error = parse(&short_read[1..]).unwrap_err();
        assert_eq!(
            error.problem,
            ParseProblem::ShortArgument {
                opcode: opcode::FUSE_READ,
                needed: 40,
                got: 39
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("opcode 15 needs 40 bytes of arguments, it has 39"),
            "{message}"
        );
        assert!(message.contains("answered EIO"), "{message}");
    }
}
