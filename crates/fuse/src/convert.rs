//! Conversions between the core's neutral types and fuser's.

use fuser::{FileAttr, FileType, FopenFlags, INodeNo, TimeOrNow};
use mountkit_core::{Errno, FileKind, Opened, SetTime, Stat};

pub(crate) fn file_type(kind: FileKind) -> FileType {
    match kind {
        FileKind::File => FileType::RegularFile,
        FileKind::Directory => FileType::Directory,
        FileKind::Symlink => FileType::Symlink,
        FileKind::Fifo => FileType::NamedPipe,
        FileKind::Socket => FileType::Socket,
        FileKind::CharDevice => FileType::CharDevice,
        FileKind::BlockDevice => FileType::BlockDevice,
    }
}

/// The attributes the kernel sees for inode `ino`. `st_ino` is the table's inode number, so
/// hard links (one node in the table) report the same number.
pub(crate) fn file_attr(ino: u64, stat: &Stat) -> FileAttr {
    FileAttr {
        ino: INodeNo(ino),
        size: stat.size,
        blocks: stat.blocks_512(),
        atime: stat.atime,
        mtime: stat.mtime,
        ctime: stat.ctime,
        crtime: stat.birthtime,
        kind: file_type(stat.kind),
        perm: (stat.mode & 0o7777) as u16,
        nlink: stat.nlink,
        uid: stat.uid,
        gid: stat.gid,
        rdev: stat.rdev,
        blksize: 4096,
        flags: 0,
    }
}

pub(crate) fn fopen_flags(opened: &Opened) -> FopenFlags {
    let mut flags = FopenFlags::empty();
    if opened.direct_io {
        flags |= FopenFlags::FOPEN_DIRECT_IO;
    }
    if opened.keep_cache {
        flags |= FopenFlags::FOPEN_KEEP_CACHE;
    }
    if opened.nonseekable {
        flags |= FopenFlags::FOPEN_NONSEEKABLE;
    }
    flags
}

pub(crate) fn set_time(time: TimeOrNow) -> SetTime {
    match time {
        TimeOrNow::SpecificTime(at) => SetTime::At(at),
        TimeOrNow::Now => SetTime::Now,
    }
}

pub(crate) fn errno(err: Errno) -> fuser::Errno {
    fuser::Errno::from_i32(err.raw())
}

/// A name from the kernel as UTF-8. Handlers see only UTF-8 paths, so a name that is not
/// valid UTF-8 cannot exist in a mountkit filesystem.
pub(crate) fn name(name: &std::ffi::OsStr) -> Result<&str, Errno> {
    name.to_str().ok_or(Errno::EILSEQ)
}
