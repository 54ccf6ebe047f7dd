//! The neutral description of a file: one [`Stat`] for every backend.

use std::time::SystemTime;

/// What kind of object a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A character device node.
    CharDevice,
    /// A block device node.
    BlockDevice,
}

impl FileKind {
    /// The `S_IFMT` bits of this kind, as POSIX numbers them.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileKind::Fifo => 0o010000,
            FileKind::CharDevice => 0o020000,
            FileKind::Directory => 0o040000,
            FileKind::BlockDevice => 0o060000,
            FileKind::File => 0o100000,
            FileKind::Symlink => 0o120000,
            FileKind::Socket => 0o140000,
        }
    }

    /// The kind named by the `S_IFMT` bits of a mode, if any.
    pub fn from_mode(mode: u32) -> Option<FileKind> {
        [
            FileKind::Fifo,
            FileKind::CharDevice,
            FileKind::Directory,
            FileKind::BlockDevice,
            FileKind::File,
            FileKind::Symlink,
            FileKind::Socket,
        ]
        .into_iter()
        .find(|k| k.mode_bits() == mode & 0o170000)
    }
}

/// Windows file attributes that have no POSIX counterpart: what a handler reports in
/// [`Stat::windows`] and what [`crate::Operation::SetAttributes`] asks it to store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowsAttributes {
    /// `FILE_ATTRIBUTE_HIDDEN`: left out of listings by default.
    pub hidden: bool,
    /// `FILE_ATTRIBUTE_READONLY`, reported on top of what the mode says.
    pub readonly: bool,
    /// `FILE_ATTRIBUTE_SYSTEM`: used by the operating system.
    pub system: bool,
    /// `FILE_ATTRIBUTE_ARCHIVE`: changed since the last backup.
    pub archive: bool,
    /// `FILE_ATTRIBUTE_NOT_CONTENT_INDEXED`: the content indexer skips the file.
    pub not_content_indexed: bool,
    /// `FILE_ATTRIBUTE_OFFLINE`: the file's data is not available immediately (it lives in
    /// remote or slow storage).
    pub offline: bool,
}

/// Metadata of one file, as a handler reports it.
///
/// `mode` carries only the permission bits (`0o7777`); the type comes from `kind`. An `ino` of
/// zero lets the backend choose one; a non-zero `ino` is taken as the file's identity, so two
/// paths with the same `ino` are hard links of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    /// What kind of object it is.
    pub kind: FileKind,
    /// Length in bytes (for a symlink, the target's length).
    pub size: u64,
    /// Permission bits, `0o7777` at most.
    pub mode: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Number of names (hard links).
    pub nlink: u32,
    /// Identity of the file; 0 lets the backend choose.
    pub ino: u64,
    /// Device number, for a character or block device.
    pub rdev: u32,
    /// 512-byte blocks the file holds; `None` counts `size` rounded up.
    pub blocks: Option<u64>,
    /// Last access.
    pub atime: SystemTime,
    /// Last modification of the data.
    pub mtime: SystemTime,
    /// Last change of the data or the metadata.
    pub ctime: SystemTime,
    /// Creation.
    pub birthtime: SystemTime,
    /// Windows attributes without a POSIX counterpart.
    pub windows: WindowsAttributes,
}

impl Stat {
    /// A stat of `kind` with the conventional defaults: owner read/write (and search for
    /// directories), one link, all times at the Unix epoch.
    pub fn new(kind: FileKind) -> Stat {
        Stat {
            kind,
            size: 0,
            mode: if kind == FileKind::Directory {
                0o755
            } else {
                0o644
            },
            uid: 0,
            gid: 0,
            nlink: if kind == FileKind::Directory { 2 } else { 1 },
            ino: 0,
            rdev: 0,
            blocks: None,
            atime: SystemTime::UNIX_EPOCH,
            mtime: SystemTime::UNIX_EPOCH,
            ctime: SystemTime::UNIX_EPOCH,
            birthtime: SystemTime::UNIX_EPOCH,
            windows: WindowsAttributes::default(),
        }
    }

    /// 512-byte blocks in use: what the handler said, or the size rounded up.
    pub fn blocks_512(&self) -> u64 {
        self.blocks.unwrap_or(self.size.div_ceil(512))
    }
}

/// One name in a directory listing, with its metadata when the handler has it at hand.
#[derive(Clone, Debug, PartialEq)]
pub struct DirEntry {
    /// The name, without any `/`.
    pub name: String,
    /// What kind of object it names.
    pub kind: FileKind,
    /// Its attributes, when the handler has them at hand; otherwise a backend asks `getattr`.
    pub stat: Option<Stat>,
}

/// Capacity figures of a volume, as `statfs(2)` reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatFs {
    /// Preferred I/O size, in bytes.
    pub block_size: u32,
    /// The unit `blocks` counts in, in bytes (0: `block_size`).
    pub fragment_size: u32,
    /// Size of the volume, in fragments.
    pub blocks: u64,
    /// Free fragments.
    pub blocks_free: u64,
    /// Free fragments an unprivileged caller may use.
    pub blocks_available: u64,
    /// Number of file slots (inodes).
    pub files: u64,
    /// Free file slots.
    pub files_free: u64,
    /// Longest name, in bytes.
    pub name_max: u32,
}

impl Default for StatFs {
    fn default() -> Self {
        StatFs {
            block_size: 4096,
            fragment_size: 4096,
            blocks: 0,
            blocks_free: 0,
            blocks_available: 0,
            files: 0,
            files_free: 0,
            name_max: 255,
        }
    }
}

/// A time to set: a given instant, or "now" as the filesystem sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTime {
    /// This instant.
    At(SystemTime),
    /// The filesystem's current time.
    Now,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_mode_bits() {
        for kind in [
            FileKind::File,
            FileKind::Directory,
            FileKind::Symlink,
            FileKind::Fifo,
            FileKind::Socket,
            FileKind::CharDevice,
            FileKind::BlockDevice,
        ] {
            assert_eq!(FileKind::from_mode(kind.mode_bits() | 0o644), Some(kind));
        }
        assert_eq!(FileKind::from_mode(0o644), None);
    }

    #[test]
    fn blocks_default_to_size_rounded_up() {
        let mut stat = Stat::new(FileKind::File);
        stat.size = 513;
        assert_eq!(stat.blocks_512(), 2);
        stat.blocks = Some(8);
        assert_eq!(stat.blocks_512(), 8);
    }
}
