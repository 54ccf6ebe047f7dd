//! The kernel's FUSE structures and numbers, as `include/uapi/linux/fuse.h` defines them.
//!
//! Only what mountkit's request layer reads or writes is here. Every structure is `#[repr(C)]`
//! with explicit padding fields, and [`Wire`] reads and writes it field by field in the host's
//! byte order (FUSE is native-endian), so a request buffer needs no particular alignment and no
//! byte is reinterpreted in place. The size assertions pin each structure to the header's
//! `sizeof`; they also prove there is no implicit padding, which is what makes the
//! field-by-field offsets equal the C layout.
//!
//! The numbers are those of ABI 7.40 (the passthrough additions) and are unchanged in later
//! minor versions.
#![allow(non_camel_case_types)]

use std::mem::size_of;

/// A fixed-size value of the FUSE wire format.
pub(crate) trait Wire: Sized {
    /// Bytes the value takes on the wire: its C `sizeof`.
    const SIZE: usize;
    /// Reads the value from the first [`Self::SIZE`] bytes of `bytes`, which the caller has
    /// checked are there (a shorter slice panics).
    fn decode(bytes: &[u8]) -> Self;
    /// Appends the value's [`Self::SIZE`] bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
}

/// Reads a `T` from the front of `bytes` and moves `bytes` past it.
fn take<T: Wire>(bytes: &mut &[u8]) -> T {
    let value = T::decode(bytes);
    *bytes = &bytes[T::SIZE..];
    value
}

macro_rules! wire_integers {
    ($($ty:ty),*) => {$(
        impl Wire for $ty {
            const SIZE: usize = size_of::<$ty>();
            fn decode(bytes: &[u8]) -> Self {
                let mut raw = [0u8; size_of::<$ty>()];
                raw.copy_from_slice(&bytes[..size_of::<$ty>()]);
                <$ty>::from_ne_bytes(raw)
            }
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_ne_bytes());
            }
        }
    )*};
}

wire_integers!(u16, u32, u64, i32, i64);

impl<T: Wire + Copy + Default, const N: usize> Wire for [T; N] {
    const SIZE: usize = T::SIZE * N;
    fn decode(bytes: &[u8]) -> Self {
        let mut rest = bytes;
        std::array::from_fn(|_| take(&mut rest))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.iter().for_each(|item| item.encode(out));
    }
}

/// Declares `#[repr(C)]` structures and their [`Wire`] encoding, in declaration order.
macro_rules! wire_structs {
    ($(
        $(#[$meta:meta])*
        struct $name:ident { $( $(#[$field_meta:meta])* $field:ident : $ty:ty ),* $(,)? }
    )*) => {$(
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub(crate) struct $name { $( $(#[$field_meta])* pub(crate) $field: $ty, )* }

        impl Wire for $name {
            const SIZE: usize = 0 $( + <$ty as Wire>::SIZE )*;
            fn decode(bytes: &[u8]) -> Self {
                let mut rest = bytes;
                $name { $( $field: take(&mut rest), )* }
            }
            fn encode(&self, out: &mut Vec<u8>) {
                $( self.$field.encode(out); )*
            }
        }

        // The Rust layout has no padding the field list does not name.
        const _: () = assert!(size_of::<$name>() == <$name as Wire>::SIZE);
    )*};
}

wire_structs! {
    /// `struct fuse_in_header`: the start of every request.
    struct fuse_in_header {
        /// The whole request's length, this header included.
        len: u32,
        opcode: u32,
        unique: u64,
        nodeid: u64,
        uid: u32,
        gid: u32,
        pid: u32,
        /// Length of the extensions at the end of the request, in 8-byte units.
        total_extlen: u16,
        padding: u16,
    }

    /// `struct fuse_out_header`: the start of every reply and notification.
    struct fuse_out_header {
        len: u32,
        /// `-errno` for a reply, the notify code for a notification (with `unique` 0).
        error: i32,
        unique: u64,
    }

    /// `struct fuse_attr`: an inode's attributes. Times are seconds since the epoch (signed
    /// on the kernel's side) plus nanoseconds.
    struct fuse_attr {
        ino: u64,
        size: u64,
        blocks: u64,
        atime: u64,
        mtime: u64,
        ctime: u64,
        atimensec: u32,
        mtimensec: u32,
        ctimensec: u32,
        mode: u32,
        nlink: u32,
        uid: u32,
        gid: u32,
        rdev: u32,
        blksize: u32,
        flags: u32,
    }

    /// `struct fuse_entry_out`: the answer to LOOKUP and the entry-making operations.
    struct fuse_entry_out {
        nodeid: u64,
        generation: u64,
        entry_valid: u64,
        attr_valid: u64,
        entry_valid_nsec: u32,
        attr_valid_nsec: u32,
        attr: fuse_attr,
    }

    /// `struct fuse_attr_out`: the answer to GETATTR and SETATTR.
    struct fuse_attr_out {
        attr_valid: u64,
        attr_valid_nsec: u32,
        dummy: u32,
        attr: fuse_attr,
    }

    /// `struct fuse_open_out`; `backing_id` is the passthrough file (ABI 7.40).
    struct fuse_open_out {
        fh: u64,
        open_flags: u32,
        backing_id: i32,
    }

    /// `struct fuse_write_out`: the answer to WRITE and COPY_FILE_RANGE.
    struct fuse_write_out {
        size: u32,
        padding: u32,
    }

    /// `struct fuse_kstatfs`, the whole of `struct fuse_statfs_out`.
    struct fuse_kstatfs {
        blocks: u64,
        bfree: u64,
        bavail: u64,
        files: u64,
        ffree: u64,
        bsize: u32,
        namelen: u32,
        frsize: u32,
        padding: u32,
        spare: [u32; 6],
    }

    /// `struct fuse_getxattr_out`: the size an xattr value or list needs.
    struct fuse_getxattr_out {
        size: u32,
        padding: u32,
    }

    /// `struct fuse_lseek_out`.
    struct fuse_lseek_out {
        offset: u64,
    }

    /// `struct fuse_dirent` without its name, which follows it padded to 8 bytes.
    struct fuse_dirent {
        ino: u64,
        off: u64,
        namelen: u32,
        /// The `S_IF*` bits shifted down by 12, as `d_type` numbers kinds.
        kind: u32,
    }

    /// `struct fuse_forget_in`.
    struct fuse_forget_in {
        nlookup: u64,
    }

    /// `struct fuse_forget_one`: one node of a BATCH_FORGET.
    struct fuse_forget_one {
        nodeid: u64,
        nlookup: u64,
    }

    /// `struct fuse_batch_forget_in`, followed by `count` [`fuse_forget_one`]s.
    struct fuse_batch_forget_in {
        count: u32,
        dummy: u32,
    }

    /// `struct fuse_getattr_in`.
    struct fuse_getattr_in {
        getattr_flags: u32,
        dummy: u32,
        fh: u64,
    }

    /// `struct fuse_setattr_in`; `valid` says which fields are set (`FATTR_*`).
    struct fuse_setattr_in {
        valid: u32,
        padding: u32,
        fh: u64,
        size: u64,
        lock_owner: u64,
        atime: u64,
        mtime: u64,
        ctime: u64,
        atimensec: u32,
        mtimensec: u32,
        ctimensec: u32,
        mode: u32,
        unused4: u32,
        uid: u32,
        gid: u32,
        unused5: u32,
    }

    /// `struct fuse_mknod_in`, followed by the name.
    struct fuse_mknod_in {
        mode: u32,
        rdev: u32,
        umask: u32,
        padding: u32,
    }

    /// `struct fuse_mkdir_in`, followed by the name.
    struct fuse_mkdir_in {
        mode: u32,
        umask: u32,
    }

    /// `struct fuse_rename_in`, followed by the old and the new name.
    struct fuse_rename_in {
        newdir: u64,
    }

    /// `struct fuse_rename2_in`, followed by the old and the new name.
    struct fuse_rename2_in {
        newdir: u64,
        flags: u32,
        padding: u32,
    }

    /// `struct fuse_link_in`, followed by the new name.
    struct fuse_link_in {
        oldnodeid: u64,
    }

    /// `struct fuse_open_in`, for OPEN and OPENDIR.
    struct fuse_open_in {
        flags: u32,
        open_flags: u32,
    }

    /// `struct fuse_create_in`, followed by the name.
    struct fuse_create_in {
        flags: u32,
        mode: u32,
        umask: u32,
        open_flags: u32,
    }

    /// `struct fuse_release_in`, for RELEASE and RELEASEDIR.
    struct fuse_release_in {
        fh: u64,
        flags: u32,
        release_flags: u32,
        lock_owner: u64,
    }

    /// `struct fuse_flush_in`.
    struct fuse_flush_in {
        fh: u64,
        unused: u32,
        padding: u32,
        lock_owner: u64,
    }

    /// `struct fuse_read_in`, for READ, READDIR and READDIRPLUS.
    struct fuse_read_in {
        fh: u64,
        offset: u64,
        size: u32,
        read_flags: u32,
        lock_owner: u64,
        flags: u32,
        padding: u32,
    }

    /// `struct fuse_write_in`, followed by `size` bytes of data.
    struct fuse_write_in {
        fh: u64,
        offset: u64,
        size: u32,
        write_flags: u32,
        lock_owner: u64,
        flags: u32,
        padding: u32,
    }

    /// `struct fuse_fsync_in`, for FSYNC and FSYNCDIR.
    struct fuse_fsync_in {
        fh: u64,
        fsync_flags: u32,
        padding: u32,
    }

    /// The 8-byte form of `struct fuse_setxattr_in` (`FUSE_COMPAT_SETXATTR_IN_SIZE`), followed
    /// by the name and the value. The kernel sends the 16-byte form only to a filesystem that
    /// asked for `FUSE_SETXATTR_EXT` at INIT, which mountkit never does.
    struct fuse_setxattr_in {
        size: u32,
        flags: u32,
    }

    /// `struct fuse_getxattr_in`, for GETXATTR (followed by the name) and LISTXATTR.
    struct fuse_getxattr_in {
        size: u32,
        padding: u32,
    }

    /// `struct fuse_access_in`.
    struct fuse_access_in {
        mask: u32,
        padding: u32,
    }

    /// `struct fuse_interrupt_in`: the `unique` of the request to interrupt.
    struct fuse_interrupt_in {
        unique: u64,
    }

    /// `struct fuse_fallocate_in`.
    struct fuse_fallocate_in {
        fh: u64,
        offset: u64,
        length: u64,
        mode: u32,
        padding: u32,
    }

    /// `struct fuse_lseek_in`.
    struct fuse_lseek_in {
        fh: u64,
        offset: u64,
        whence: u32,
        padding: u32,
    }

    /// `struct fuse_copy_file_range_in`.
    struct fuse_copy_file_range_in {
        fh_in: u64,
        off_in: u64,
        nodeid_out: u64,
        fh_out: u64,
        off_out: u64,
        len: u64,
        flags: u64,
    }

    /// `struct fuse_notify_inval_inode_out`.
    struct fuse_notify_inval_inode_out {
        ino: u64,
        off: i64,
        len: i64,
    }

    /// `struct fuse_notify_inval_entry_out`, followed by the name and a NUL.
    struct fuse_notify_inval_entry_out {
        parent: u64,
        namelen: u32,
        flags: u32,
    }

    /// `struct fuse_backing_map`: the argument of `FUSE_DEV_IOC_BACKING_OPEN`.
    struct fuse_backing_map {
        fd: i32,
        flags: u32,
        padding: u64,
    }
}

wire_structs! {
    /// `struct fuse_uring_ent_in_out`: the last part of a FUSE-over-io_uring entry's header
    /// buffer, after `in_out` and `op_in`.
    struct fuse_uring_ent_in_out {
        flags: u64,
        /// The request's id; a commit names it.
        commit_id: u64,
        /// Bytes in the entry's payload buffer: the request's arguments after the first on
        /// the way in, the reply's payload on the way out.
        payload_sz: u32,
        padding: u32,
        reserved: u64,
    }

    /// `struct fuse_uring_cmd_req`: the command data (`sqe->cmd`) of a FUSE-over-io_uring
    /// submission.
    struct fuse_uring_cmd_req {
        flags: u64,
        /// The request a COMMIT_AND_FETCH answers (0 for REGISTER).
        commit_id: u64,
        /// The queue (one per possible CPU) the entry serves.
        qid: u16,
        padding_16: u16,
        padding_32: u32,
    }
}

const _: () = assert!(size_of::<fuse_in_header>() == 40);
const _: () = assert!(size_of::<fuse_out_header>() == 16);
const _: () = assert!(size_of::<fuse_attr>() == 88);
const _: () = assert!(size_of::<fuse_entry_out>() == 128);
const _: () = assert!(size_of::<fuse_attr_out>() == 104);
const _: () = assert!(size_of::<fuse_open_out>() == 16);
const _: () = assert!(size_of::<fuse_kstatfs>() == 80);
const _: () = assert!(size_of::<fuse_dirent>() == 24);
const _: () = assert!(size_of::<fuse_setattr_in>() == 88);
const _: () = assert!(size_of::<fuse_read_in>() == 40);
const _: () = assert!(size_of::<fuse_write_in>() == 40);
const _: () = assert!(size_of::<fuse_copy_file_range_in>() == 56);
const _: () = assert!(size_of::<fuse_backing_map>() == 16);
const _: () = assert!(size_of::<fuse_uring_ent_in_out>() == 32);
const _: () = assert!(size_of::<fuse_uring_cmd_req>() == 24);

/// Request opcodes (`enum fuse_opcode`).
pub(crate) mod opcode {
    /// Look a name up in a directory.
    pub(crate) const FUSE_LOOKUP: u32 = 1;
    /// Drop lookup references to one node (no reply).
    pub(crate) const FUSE_FORGET: u32 = 2;
    /// Read an inode's attributes.
    pub(crate) const FUSE_GETATTR: u32 = 3;
    /// Change an inode's attributes.
    pub(crate) const FUSE_SETATTR: u32 = 4;
    /// Read a symlink's target.
    pub(crate) const FUSE_READLINK: u32 = 5;
    /// Make a symlink.
    pub(crate) const FUSE_SYMLINK: u32 = 6;
    /// Make a special file or a regular file.
    pub(crate) const FUSE_MKNOD: u32 = 8;
    /// Make a directory.
    pub(crate) const FUSE_MKDIR: u32 = 9;
    /// Remove a name that is not a directory.
    pub(crate) const FUSE_UNLINK: u32 = 10;
    /// Remove a directory.
    pub(crate) const FUSE_RMDIR: u32 = 11;
    /// Rename, without flags.
    pub(crate) const FUSE_RENAME: u32 = 12;
    /// Make a hard link.
    pub(crate) const FUSE_LINK: u32 = 13;
    /// Open a file.
    pub(crate) const FUSE_OPEN: u32 = 14;
    /// Read from an open file.
    pub(crate) const FUSE_READ: u32 = 15;
    /// Write to an open file.
    pub(crate) const FUSE_WRITE: u32 = 16;
    /// Filesystem statistics.
    pub(crate) const FUSE_STATFS: u32 = 17;
    /// Close an open file.
    pub(crate) const FUSE_RELEASE: u32 = 18;
    /// Sync an open file.
    pub(crate) const FUSE_FSYNC: u32 = 20;
    /// Set an extended attribute.
    pub(crate) const FUSE_SETXATTR: u32 = 21;
    /// Read an extended attribute.
    pub(crate) const FUSE_GETXATTR: u32 = 22;
    /// List extended attributes.
    pub(crate) const FUSE_LISTXATTR: u32 = 23;
    /// Remove an extended attribute.
    pub(crate) const FUSE_REMOVEXATTR: u32 = 24;
    /// A `close(2)` of one descriptor of an open file.
    pub(crate) const FUSE_FLUSH: u32 = 25;
    /// The connection's handshake.
    pub(crate) const FUSE_INIT: u32 = 26;
    /// Open a directory.
    pub(crate) const FUSE_OPENDIR: u32 = 27;
    /// List a directory.
    pub(crate) const FUSE_READDIR: u32 = 28;
    /// Close an open directory.
    pub(crate) const FUSE_RELEASEDIR: u32 = 29;
    /// Sync an open directory.
    pub(crate) const FUSE_FSYNCDIR: u32 = 30;
    /// Check access permissions.
    pub(crate) const FUSE_ACCESS: u32 = 34;
    /// Create and open a file.
    pub(crate) const FUSE_CREATE: u32 = 35;
    /// Interrupt an earlier request (no reply).
    pub(crate) const FUSE_INTERRUPT: u32 = 36;
    /// The connection is being torn down.
    pub(crate) const FUSE_DESTROY: u32 = 38;
    /// Drop lookup references to many nodes (no reply).
    pub(crate) const FUSE_BATCH_FORGET: u32 = 42;
    /// Allocate or punch space in an open file.
    pub(crate) const FUSE_FALLOCATE: u32 = 43;
    /// List a directory with each entry's attributes.
    pub(crate) const FUSE_READDIRPLUS: u32 = 44;
    /// Rename, with `RENAME_*` flags.
    pub(crate) const FUSE_RENAME2: u32 = 45;
    /// Find data or a hole in an open file.
    pub(crate) const FUSE_LSEEK: u32 = 46;
    /// Copy a range between two open files.
    pub(crate) const FUSE_COPY_FILE_RANGE: u32 = 47;
}

/// Notification codes (`enum fuse_notify_code`), sent in [`fuse_out_header::error`].
pub(crate) mod notify {
    /// Drop an inode's cached attributes and a range of its cached data.
    pub(crate) const FUSE_NOTIFY_INVAL_INODE: i32 = 2;
    /// Drop a cached name in a directory.
    pub(crate) const FUSE_NOTIFY_INVAL_ENTRY: i32 = 3;
}

/// `fuse_open_out::open_flags`: bypass the page cache.
pub(crate) const FOPEN_DIRECT_IO: u32 = 1 << 0;
/// `fuse_open_out::open_flags`: keep the cached data of the inode.
pub(crate) const FOPEN_KEEP_CACHE: u32 = 1 << 1;
/// `fuse_open_out::open_flags`: the file is not seekable.
pub(crate) const FOPEN_NONSEEKABLE: u32 = 1 << 2;
/// `fuse_open_out::open_flags` of OPENDIR: the kernel may keep the directory's listing.
pub(crate) const FOPEN_CACHE_DIR: u32 = 1 << 3;
/// `fuse_open_out::open_flags`: reads and writes go to `backing_id`'s file (ABI 7.40).
pub(crate) const FOPEN_PASSTHROUGH: u32 = 1 << 7;

/// `fuse_setattr_in::valid`: `mode` is set.
pub(crate) const FATTR_MODE: u32 = 1 << 0;
/// `fuse_setattr_in::valid`: `uid` is set.
pub(crate) const FATTR_UID: u32 = 1 << 1;
/// `fuse_setattr_in::valid`: `gid` is set.
pub(crate) const FATTR_GID: u32 = 1 << 2;
/// `fuse_setattr_in::valid`: `size` is set.
pub(crate) const FATTR_SIZE: u32 = 1 << 3;
/// `fuse_setattr_in::valid`: `atime` is set.
pub(crate) const FATTR_ATIME: u32 = 1 << 4;
/// `fuse_setattr_in::valid`: `mtime` is set.
pub(crate) const FATTR_MTIME: u32 = 1 << 5;
/// `fuse_setattr_in::valid`: `fh` is set.
pub(crate) const FATTR_FH: u32 = 1 << 6;
/// `fuse_setattr_in::valid`: set atime to the filesystem's "now", not to `atime`.
pub(crate) const FATTR_ATIME_NOW: u32 = 1 << 7;
/// `fuse_setattr_in::valid`: set mtime to the filesystem's "now", not to `mtime`.
pub(crate) const FATTR_MTIME_NOW: u32 = 1 << 8;
/// `fuse_setattr_in::valid`: `lock_owner` is set.
pub(crate) const FATTR_LOCKOWNER: u32 = 1 << 9;
/// `fuse_setattr_in::valid`: `ctime` is set.
pub(crate) const FATTR_CTIME: u32 = 1 << 10;

/// `fuse_getattr_in::getattr_flags`: `fh` names the open file the call came through.
pub(crate) const FUSE_GETATTR_FH: u32 = 1 << 0;
/// `fuse_fsync_in::fsync_flags`: sync data only, not metadata.
pub(crate) const FUSE_FSYNC_FDATASYNC: u32 = 1 << 0;

/// The smallest buffer the kernel accepts for a `read(2)` of the device.
pub(crate) const FUSE_MIN_READ_BUFFER: usize = 8192;

/// The `type` byte of the device's ioctls (`FUSE_DEV_IOC_MAGIC`).
const FUSE_DEV_IOC_MAGIC: u32 = 229;

/// The Linux `_IOC` encoding of an ioctl number (the generic one, which x86, Arm and RISC-V
/// use): direction in bits 30–31, argument size in bits 16–29, type in 8–15, number in 0–7.
const fn ioc(direction: u32, number: u32, size: usize) -> u32 {
    (direction << 30) | ((size as u32) << 16) | (FUSE_DEV_IOC_MAGIC << 8) | number
}

/// `_IOC_WRITE`: the caller passes the argument to the kernel.
const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: the kernel fills the argument in (the header's name for `CLONE`, although the
/// kernel only reads the descriptor number).
const IOC_READ: u32 = 2;

/// `_IOR(229, 0, uint32_t)`: attach a new `/dev/fuse` descriptor to the connection of the
/// descriptor whose number is the argument.
pub(crate) const FUSE_DEV_IOC_CLONE: u32 = ioc(IOC_READ, 0, size_of::<u32>());
/// `_IOW(229, 1, struct fuse_backing_map)`: register a passthrough backing file; returns its
/// id.
pub(crate) const FUSE_DEV_IOC_BACKING_OPEN: u32 = ioc(IOC_WRITE, 1, size_of::<fuse_backing_map>());
/// `_IOW(229, 2, uint32_t)`: unregister a backing id.
pub(crate) const FUSE_DEV_IOC_BACKING_CLOSE: u32 = ioc(IOC_WRITE, 2, size_of::<u32>());

/// `FUSE_IO_URING_CMD_REGISTER`: hands the kernel one ring entry's buffers for a queue.
pub(crate) const FUSE_IO_URING_CMD_REGISTER: u32 = 1;
/// `FUSE_IO_URING_CMD_COMMIT_AND_FETCH`: answers the entry's request and hands the entry back
/// for the next one.
pub(crate) const FUSE_IO_URING_CMD_COMMIT_AND_FETCH: u32 = 2;
/// Offset of `in_out` in `struct fuse_uring_req_header`: the `fuse_in_header` of a request,
/// then the `fuse_out_header` of its reply.
pub(crate) const FUSE_URING_IN_OUT: usize = 0;
/// Offset of `op_in`: a request's first argument (its fixed structure), when it has one.
pub(crate) const FUSE_URING_OP_IN: usize = 128;
/// Offset of the `fuse_uring_ent_in_out`.
pub(crate) const FUSE_URING_ENT_IN_OUT: usize = 256;
/// `sizeof(struct fuse_uring_req_header)`: `in_out[128]`, `op_in[128]` and the
/// `fuse_uring_ent_in_out`.
pub(crate) const FUSE_URING_HEADER_SIZE: usize =
    FUSE_URING_ENT_IN_OUT + fuse_uring_ent_in_out::SIZE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_kernels() {
        assert_eq!(FUSE_DEV_IOC_CLONE, 0x8004_e500);
        assert_eq!(FUSE_DEV_IOC_BACKING_OPEN, 0x4010_e501);
        assert_eq!(FUSE_DEV_IOC_BACKING_CLOSE, 0x4004_e502);
    }

    #[test]
    fn structures_round_trip_in_declaration_order() {
        let entry = fuse_entry_out {
            nodeid: 7,
            entry_valid_nsec: 9,
            attr: fuse_attr {
                ino: 7,
                flags: 3,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut bytes = Vec::new();
        entry.encode(&mut bytes);
        assert_eq!(bytes.len(), 128);
        assert_eq!(u64::decode(&bytes[0..]), 7);
        assert_eq!(u32::decode(&bytes[32..]), 9);
        assert_eq!(
            u64::decode(&bytes[40..]),
            7,
            "attr.ino follows the 40-byte head"
        );
        assert_eq!(
            u32::decode(&bytes[124..]),
            3,
            "attr.flags is the last field"
        );
        assert_eq!(fuse_entry_out::decode(&bytes), entry);
    }
}
