//! Typed replies. Each request that gets an answer gets exactly one: every reply type consumes
//! itself to answer, and one dropped without answering answers `EIO` (and logs a warning), so
//! the kernel never waits forever for a request mountkit lost. FORGET, BATCH_FORGET and
//! INTERRUPT are never answered, so they have no reply type.
//!
//! A reply's bytes are a `fuse_out_header` and the operation's payload; the functions that
//! build payloads ([`fuse_attr`], [`entry_out`]...) are pure, and the header is written by
//! [`ReplyTo`] when it sends.

use std::ffi::OsStr;
use std::io::IoSlice;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mountkit_core::{Errno, FileKind, Stat};

use super::abi::{self, Wire};
use super::device::{BackingId, Device};
use super::ring::RingSlot;

/// How a request reached mountkit, and so how its answer goes back: the kernel matches a reply
/// only through the descriptor that delivered the request, or in the ring entry that held it.
#[derive(Clone, Debug)]
pub(crate) enum Channel {
    /// Read from this `/dev/fuse` descriptor; answered with one `writev(2)` on it.
    Device(Arc<Device>),
    /// Delivered in this FUSE-over-io_uring entry; answered in it.
    Ring(RingSlot),
}

impl From<Arc<Device>> for Channel {
    fn from(device: Arc<Device>) -> Channel {
        Channel::Device(device)
    }
}

/// Where one request's answer goes: the channel that delivered it, and its id.
#[derive(Debug)]
pub(crate) struct ReplyTo {
    channel: Channel,
    unique: u64,
    answered: bool,
}

impl ReplyTo {
    /// The answer to request `unique`, which came through `channel`.
    pub(crate) fn new(channel: impl Into<Channel>, unique: u64) -> ReplyTo {
        ReplyTo {
            channel: channel.into(),
            unique,
            answered: false,
        }
    }

    /// Answers with success and `payload` (the parts are sent as one message).
    fn ok(mut self, payload: &[&[u8]]) {
        self.send(0, payload);
    }

    /// Answers with `errno`; numbers from 512 up (the kernel's internal codes, which it refuses
    /// in a reply and would leave the request unanswered) go as `EIO`.
    pub(crate) fn error(mut self, errno: Errno) {
        let errno = if errno.raw() < 512 { errno } else { Errno::EIO };
        self.send(-errno.raw(), &[]);
    }

    fn send(&mut self, error: i32, payload: &[&[u8]]) {
        self.answered = true;
        let sent = match &self.channel {
            Channel::Device(device) => {
                let len =
                    abi::fuse_out_header::SIZE + payload.iter().map(|p| p.len()).sum::<usize>();
                let mut header = Vec::with_capacity(abi::fuse_out_header::SIZE);
                abi::fuse_out_header {
                    len: len as u32,
                    error,
                    unique: self.unique,
                }
                .encode(&mut header);
                let parts: Vec<IoSlice<'_>> = std::iter::once(header.as_slice())
                    .chain(payload.iter().copied())
                    .map(IoSlice::new)
                    .collect();
                device.send(&parts)
            }
            Channel::Ring(slot) => slot.answer(self.unique, error, payload),
        };
        match sent {
            Ok(()) => {}
            // The request was interrupted or the connection aborted: nobody waits any more.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => log::warn!("could not answer FUSE request {}: {e}", self.unique),
        }
    }
}

impl Drop for ReplyTo {
    fn drop(&mut self) {
        if !self.answered {
            log::warn!(
                "FUSE request {} was dropped without an answer; answering EIO",
                self.unique
            );
            self.send(-Errno::EIO.raw(), &[]);
        }
    }
}

/// Declares reply types that hold a [`ReplyTo`] and can answer with an error.
macro_rules! reply_types {
    ($( $(#[$meta:meta])* $name:ident; )*) => {$(
        $(#[$meta])*
        #[derive(Debug)]
        pub(crate) struct $name {
            to: ReplyTo,
        }

        impl $name {
            /// The reply to the request `to` names.
            pub(crate) fn new(to: ReplyTo) -> $name {
                $name { to }
            }

            /// Answers with `errno`.
            pub(crate) fn error(self, errno: Errno) {
                self.to.error(errno);
            }
        }

        impl From<ReplyTo> for $name {
            fn from(to: ReplyTo) -> $name {
                $name::new(to)
            }
        }
    )*};
}

reply_types! {
    /// A reply with no payload: success or an error.
    ReplyEmpty;
    /// The reply to LOOKUP, MKNOD, MKDIR, SYMLINK and LINK.
    ReplyEntry;
    /// The reply to GETATTR and SETATTR.
    ReplyAttr;
    /// The reply to READ and READLINK: bytes.
    ReplyData;
    /// The reply to OPEN and OPENDIR.
    ReplyOpen;
    /// The reply to CREATE.
    ReplyCreate;
    /// The reply to WRITE and COPY_FILE_RANGE.
    ReplyWrite;
    /// The reply to STATFS.
    ReplyStatfs;
    /// The reply to GETXATTR and LISTXATTR: the size needed, or the bytes.
    ReplyXattr;
    /// The reply to LSEEK.
    ReplyLseek;
}

impl ReplyEmpty {
    /// Answers success.
    pub(crate) fn ok(self) {
        self.to.ok(&[]);
    }
}

impl ReplyEntry {
    /// Answers with the node `nodeid` and its attributes. The kernel keeps the name for
    /// `entry_ttl` and the attributes for `attr_ttl`, and counts one lookup reference to
    /// `nodeid`, which a FORGET gives back.
    pub(crate) fn entry(self, nodeid: u64, stat: &Stat, entry_ttl: Duration, attr_ttl: Duration) {
        self.to
            .ok(&[&encode(&entry_out(nodeid, stat, entry_ttl, attr_ttl))]);
    }

    /// Answers that the name does not exist, and lets the kernel cache that for `entry_ttl`
    /// (nodeid 0; no lookup reference is counted).
    pub(crate) fn negative(self, entry_ttl: Duration) {
        self.to.ok(&[&encode(&negative_entry_out(entry_ttl))]);
    }
}

impl ReplyAttr {
    /// Answers with the attributes of `ino`, which the kernel keeps for `ttl`.
    pub(crate) fn attr(self, ttl: Duration, ino: u64, stat: &Stat) {
        let (attr_valid, attr_valid_nsec) = timeout(ttl);
        let out = abi::fuse_attr_out {
            attr_valid,
            attr_valid_nsec,
            dummy: 0,
            attr: fuse_attr(ino, stat),
        };
        self.to.ok(&[&encode(&out)]);
    }
}

impl ReplyData {
    /// Answers with `bytes`, sent from where they are (no copy).
    pub(crate) fn data(self, bytes: &[u8]) {
        self.to.ok(&[bytes]);
    }
}

impl ReplyOpen {
    /// Answers with the handle `fh` and the `FOPEN_*` flags. With a `backing` file, reads and
    /// writes of this open file go to it in the kernel (`FOPEN_PASSTHROUGH`).
    pub(crate) fn opened(self, fh: u64, open_flags: u32, backing: Option<&BackingId>) {
        self.to.ok(&[&encode(&open_out(fh, open_flags, backing))]);
    }
}

impl ReplyCreate {
    /// Answers with the new node and its open handle: [`ReplyEntry::entry`] and
    /// [`ReplyOpen::opened`] in one reply, with separate timeouts for the name and the
    /// attributes.
    #[allow(clippy::too_many_arguments)] // one per field of the kernel's two structures
    pub(crate) fn created(
        self,
        nodeid: u64,
        stat: &Stat,
        entry_ttl: Duration,
        attr_ttl: Duration,
        fh: u64,
        open_flags: u32,
        backing: Option<&BackingId>,
    ) {
        let mut payload = encode(&entry_out(nodeid, stat, entry_ttl, attr_ttl));
        open_out(fh, open_flags, backing).encode(&mut payload);
        self.to.ok(&[&payload]);
    }
}

impl ReplyWrite {
    /// Answers that `size` bytes were written.
    pub(crate) fn written(self, size: u32) {
        self.to
            .ok(&[&encode(&abi::fuse_write_out { size, padding: 0 })]);
    }
}

impl ReplyStatfs {
    /// Answers with the filesystem's statistics, as `statvfs(3)` names them.
    #[allow(clippy::too_many_arguments)] // one per field of `struct fuse_kstatfs`
    pub(crate) fn statfs(
        self,
        blocks: u64,
        bfree: u64,
        bavail: u64,
        files: u64,
        ffree: u64,
        bsize: u32,
        namelen: u32,
        frsize: u32,
    ) {
        let out = abi::fuse_kstatfs {
            blocks,
            bfree,
            bavail,
            files,
            ffree,
            bsize,
            namelen,
            frsize,
            padding: 0,
            spare: [0; 6],
        };
        self.to.ok(&[&encode(&out)]);
    }
}

impl ReplyXattr {
    /// Answers a request with `size` 0: the value or list needs `size` bytes.
    pub(crate) fn size(self, size: u32) {
        self.to
            .ok(&[&encode(&abi::fuse_getxattr_out { size, padding: 0 })]);
    }

    /// Answers with the value, or the list of NUL-terminated names.
    pub(crate) fn data(self, bytes: &[u8]) {
        self.to.ok(&[bytes]);
    }
}

impl ReplyLseek {
    /// Answers with the offset found.
    pub(crate) fn offset(self, offset: i64) {
        self.to.ok(&[&encode(&abi::fuse_lseek_out {
            offset: offset as u64,
        })]);
    }
}

/// The reply to READDIR: entries packed into at most the `size` the request asked for.
#[derive(Debug)]
pub(crate) struct ReplyDirectory {
    to: ReplyTo,
    entries: DirentBuffer,
}

impl ReplyDirectory {
    /// An empty listing for the request `to` names, holding at most `max_size` bytes.
    pub(crate) fn new(to: ReplyTo, max_size: u32) -> ReplyDirectory {
        ReplyDirectory {
            to,
            entries: DirentBuffer::new(max_size),
        }
    }

    /// Adds an entry: `d_ino` is what `getdents` shows, `next_offset` the offset the next
    /// READDIR starts after this entry. Returns true when the entry did not fit (the buffer is
    /// full and the entry was not added): the caller stops and answers.
    ///
    /// `name` must be 1 to 1024 bytes without `/`: the kernel fails the whole listing with
    /// `EIO` otherwise.
    pub(crate) fn add(
        &mut self,
        d_ino: u64,
        next_offset: u64,
        kind: FileKind,
        name: &OsStr,
    ) -> bool {
        self.entries.push(None, d_ino, next_offset, kind, name)
    }

    /// Answers with the entries added (none: the end of the directory).
    pub(crate) fn ok(self) {
        self.to.ok(&[&self.entries.bytes]);
    }

    /// Answers with `errno` instead of the entries.
    pub(crate) fn error(self, errno: Errno) {
        self.to.error(errno);
    }
}

/// The reply to READDIRPLUS: entries with their attributes, packed into at most the `size`
/// the request asked for.
#[derive(Debug)]
pub(crate) struct ReplyDirectoryPlus {
    to: ReplyTo,
    entries: DirentBuffer,
}

impl ReplyDirectoryPlus {
    /// An empty listing for the request `to` names, holding at most `max_size` bytes.
    pub(crate) fn new(to: ReplyTo, max_size: u32) -> ReplyDirectoryPlus {
        ReplyDirectoryPlus {
            to,
            entries: DirentBuffer::new(max_size),
        }
    }

    /// Adds an entry. `d_ino` is what `getdents` shows, independent of the node id;
    /// `next_offset` is the offset the next READDIRPLUS starts after this entry.
    ///
    /// With `entry` `Some((nodeid, stat, entry_ttl, attr_ttl))` the kernel caches the name and
    /// the attributes as a LOOKUP reply would, and counts one lookup reference to `nodeid` —
    /// except for `.` and `..`, which it never links, so they take no reference. With `None`
    /// the entry goes with node id 0 and a zeroed `fuse_entry_out`: the kernel lists the name
    /// and caches nothing, so no reference is counted either.
    ///
    /// Returns true when the entry did not fit (the buffer is full and the entry was not
    /// added): the caller stops and answers, and must not count a reference for it. `name`
    /// must be as [`ReplyDirectory::add`] says.
    pub(crate) fn add(
        &mut self,
        d_ino: u64,
        next_offset: u64,
        kind: FileKind,
        name: &OsStr,
        entry: Option<(u64, &Stat, Duration, Duration)>,
    ) -> bool {
        let entry_out = match entry {
            Some((nodeid, stat, entry_ttl, attr_ttl)) => {
                entry_out(nodeid, stat, entry_ttl, attr_ttl)
            }
            None => abi::fuse_entry_out::default(),
        };
        self.entries
            .push(Some(&entry_out), d_ino, next_offset, kind, name)
    }

    /// Answers with the entries added (none: the end of the directory).
    pub(crate) fn ok(self) {
        self.to.ok(&[&self.entries.bytes]);
    }

    /// Answers with `errno` instead of the entries.
    pub(crate) fn error(self, errno: Errno) {
        self.to.error(errno);
    }
}

/// Directory records (`fuse_dirent`, or `fuse_direntplus` when each has an entry), each padded
/// to 8 bytes, up to a byte limit.
#[derive(Debug)]
struct DirentBuffer {
    bytes: Vec<u8>,
    max_size: usize,
}

impl DirentBuffer {
    fn new(max_size: u32) -> DirentBuffer {
        // The kernel asks for at most a few pages; filling them is the common case.
        DirentBuffer {
            bytes: Vec::with_capacity(max_size as usize),
            max_size: max_size as usize,
        }
    }

    /// Appends one record; true when it would not fit, and nothing was appended.
    fn push(
        &mut self,
        entry: Option<&abi::fuse_entry_out>,
        d_ino: u64,
        next_offset: u64,
        kind: FileKind,
        name: &OsStr,
    ) -> bool {
        let name = name.as_bytes();
        let entry_len = entry.map_or(0, |_| abi::fuse_entry_out::SIZE);
        let record_len = (entry_len + abi::fuse_dirent::SIZE + name.len()).next_multiple_of(8);
        if self.bytes.len() + record_len > self.max_size {
            return true;
        }
        let record_end = self.bytes.len() + record_len;
        if let Some(entry) = entry {
            entry.encode(&mut self.bytes);
        }
        abi::fuse_dirent {
            ino: d_ino,
            off: next_offset,
            namelen: name.len() as u32,
            kind: kind.mode_bits() >> 12,
        }
        .encode(&mut self.bytes);
        self.bytes.extend_from_slice(name);
        self.bytes.resize(record_end, 0);
        false
    }
}

/// The kernel's view of `stat` for node `ino`: the kind's `S_IF*` bits with the permission
/// bits, 512-byte blocks, and times as seconds and nanoseconds since the epoch (negative
/// seconds before it). The preferred I/O size is 4096.
pub(crate) fn fuse_attr(ino: u64, stat: &Stat) -> abi::fuse_attr {
    let (atime, atimensec) = wire_time(stat.atime);
    let (mtime, mtimensec) = wire_time(stat.mtime);
    let (ctime, ctimensec) = wire_time(stat.ctime);
    abi::fuse_attr {
        ino,
        size: stat.size,
        blocks: stat.blocks_512(),
        atime,
        mtime,
        ctime,
        atimensec,
        mtimensec,
        ctimensec,
        mode: stat.kind.mode_bits() | (stat.mode & 0o7777),
        nlink: stat.nlink,
        uid: stat.uid,
        gid: stat.gid,
        rdev: stat.rdev,
        blksize: 4096,
        flags: 0,
    }
}

/// The `fuse_entry_out` for node `nodeid` (generation 0: node ids are never reused while
/// mounted).
pub(crate) fn entry_out(
    nodeid: u64,
    stat: &Stat,
    entry_ttl: Duration,
    attr_ttl: Duration,
) -> abi::fuse_entry_out {
    let (entry_valid, entry_valid_nsec) = timeout(entry_ttl);
    let (attr_valid, attr_valid_nsec) = timeout(attr_ttl);
    abi::fuse_entry_out {
        nodeid,
        generation: 0,
        entry_valid,
        attr_valid,
        entry_valid_nsec,
        attr_valid_nsec,
        attr: fuse_attr(nodeid, stat),
    }
}

/// The `fuse_entry_out` that caches a name's absence for `entry_ttl`.
pub(crate) fn negative_entry_out(entry_ttl: Duration) -> abi::fuse_entry_out {
    let (entry_valid, entry_valid_nsec) = timeout(entry_ttl);
    abi::fuse_entry_out {
        entry_valid,
        entry_valid_nsec,
        ..abi::fuse_entry_out::default()
    }
}

fn open_out(fh: u64, open_flags: u32, backing: Option<&BackingId>) -> abi::fuse_open_out {
    match backing {
        Some(backing) => abi::fuse_open_out {
            fh,
            open_flags: open_flags | abi::FOPEN_PASSTHROUGH,
            backing_id: backing.id() as i32,
        },
        None => abi::fuse_open_out {
            fh,
            open_flags,
            backing_id: 0,
        },
    }
}

/// A cache timeout as seconds and nanoseconds. `Duration`'s seconds are a `u64` already, so
/// even `Duration::MAX` fits.
fn timeout(ttl: Duration) -> (u64, u32) {
    (ttl.as_secs(), ttl.subsec_nanos())
}

/// A time as the wire carries it: signed seconds since the epoch (stored in a `u64`) and
/// nanoseconds forward from there, so 0.5 s before the epoch is -1 s + 500,000,000 ns.
fn wire_time(time: SystemTime) -> (u64, u32) {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => (after.as_secs(), after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let secs = -(before.as_secs() as i64);
            match before.subsec_nanos() {
                0 => (secs as u64, 0),
                nanos => ((secs - 1) as u64, 1_000_000_000 - nanos),
            }
        }
    }
}

fn encode<T: Wire>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(T::SIZE);
    value.encode(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::device::tests::{backing_id, device_pair, next_message};
    use std::os::unix::net::UnixDatagram;

    const UNIQUE: u64 = 0xabcd;

    fn reply_to() -> (ReplyTo, UnixDatagram) {
        let (device, socket) = device_pair();
        (ReplyTo::new(device, UNIQUE), socket)
    }

    /// The reply's header (checked against the message) and its payload.
    fn answer(socket: &UnixDatagram) -> (i32, Vec<u8>) {
        let message = next_message(socket);
        let header = abi::fuse_out_header::decode(&message);
        assert_eq!(header.len as usize, message.len());
        assert_eq!(header.unique, UNIQUE);
        (header.error, message[abi::fuse_out_header::SIZE..].to_vec())
    }

    fn file_stat() -> Stat {
        Stat {
            size: 1000,
            mode: 0o644,
            uid: 1000,
            gid: 100,
            nlink: 2,
            rdev: 0,
            atime: SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123),
            mtime: SystemTime::UNIX_EPOCH + Duration::new(5, 0),
            // Half a second before the epoch.
            ctime: SystemTime::UNIX_EPOCH - Duration::from_millis(500),
            ..Stat::new(FileKind::File)
        }
    }

    #[test]
    fn fuse_attr_carries_kind_permissions_and_times() {
        let attr = fuse_attr(
            9,
            &Stat {
                mode: 0o104755,
                ..file_stat()
            },
        );
        assert_eq!(attr.ino, 9);
        assert_eq!(attr.size, 1000);
        assert_eq!(attr.blocks, 2, "1000 bytes round up to two 512-byte blocks");
        assert_eq!(attr.mode, 0o104755, "setuid and permissions over S_IFREG");
        assert_eq!((attr.atime, attr.atimensec), (1_700_000_000, 123));
        assert_eq!((attr.mtime, attr.mtimensec), (5, 0));
        assert_eq!((attr.ctime as i64, attr.ctimensec), (-1, 500_000_000));
        assert_eq!((attr.nlink, attr.uid, attr.gid), (2, 1000, 100));
        assert_eq!(attr.blksize, 4096);
        let dir = fuse_attr(
            1,
            &Stat {
                mode: 0o40700,
                ..Stat::new(FileKind::Directory)
            },
        );
        assert_eq!(dir.mode, 0o040700);
        let link = fuse_attr(
            1,
            &Stat {
                mode: 0o777,
                ..Stat::new(FileKind::Symlink)
            },
        );
        assert_eq!(link.mode, 0o120777);
        let whole_second_before = Stat {
            atime: SystemTime::UNIX_EPOCH - Duration::from_secs(3),
            ..file_stat()
        };
        let attr = fuse_attr(1, &whole_second_before);
        assert_eq!((attr.atime as i64, attr.atimensec), (-3, 0));
    }

    #[test]
    fn entry_reply_layout() {
        let (to, socket) = reply_to();
        ReplyEntry::new(to).entry(
            7,
            &file_stat(),
            Duration::new(2, 5),
            Duration::from_millis(1500),
        );
        let (error, payload) = answer(&socket);
        assert_eq!(error, 0);
        assert_eq!(payload.len(), 128);
        assert_eq!(u64::decode(&payload[0..]), 7, "nodeid");
        assert_eq!(u64::decode(&payload[8..]), 0, "generation");
        assert_eq!(u64::decode(&payload[16..]), 2, "entry_valid");
        assert_eq!(u64::decode(&payload[24..]), 1, "attr_valid");
        assert_eq!(u32::decode(&payload[32..]), 5, "entry_valid_nsec");
        assert_eq!(u32::decode(&payload[36..]), 500_000_000, "attr_valid_nsec");
        assert_eq!(
            abi::fuse_attr::decode(&payload[40..]),
            fuse_attr(7, &file_stat())
        );
    }

    #[test]
    fn negative_entry_caches_the_absence() {
        let (to, socket) = reply_to();
        ReplyEntry::from(to).negative(Duration::from_secs(30));
        let (error, payload) = answer(&socket);
        assert_eq!(error, 0);
        let out = abi::fuse_entry_out::decode(&payload);
        assert_eq!(
            out,
            abi::fuse_entry_out {
                entry_valid: 30,
                ..Default::default()
            }
        );
    }

    #[test]
    fn a_huge_timeout_is_whole_seconds_of_u64() {
        let (to, socket) = reply_to();
        ReplyAttr::new(to).attr(Duration::MAX, 3, &file_stat());
        let (_, payload) = answer(&socket);
        let out = abi::fuse_attr_out::decode(&payload);
        assert_eq!(out.attr_valid, u64::MAX);
        assert_eq!(out.attr_valid_nsec, 999_999_999);
        assert_eq!(out.attr, fuse_attr(3, &file_stat()));
    }

    #[test]
    fn created_is_an_entry_then_an_open_with_separate_timeouts() {
        let (to, socket) = reply_to();
        ReplyCreate::new(to).created(
            8,
            &file_stat(),
            Duration::from_secs(10),
            Duration::ZERO,
            55,
            abi::FOPEN_KEEP_CACHE,
            None,
        );
        let (error, payload) = answer(&socket);
        assert_eq!(error, 0);
        assert_eq!(payload.len(), 128 + 16);
        let entry = abi::fuse_entry_out::decode(&payload);
        assert_eq!(
            (entry.nodeid, entry.entry_valid, entry.attr_valid),
            (8, 10, 0)
        );
        assert_eq!(
            abi::fuse_open_out::decode(&payload[128..]),
            abi::fuse_open_out {
                fh: 55,
                open_flags: abi::FOPEN_KEEP_CACHE,
                backing_id: 0
            }
        );
    }

    #[test]
    fn opened_passes_the_open_flags() {
        let (to, socket) = reply_to();
        let flags = abi::FOPEN_DIRECT_IO | abi::FOPEN_NONSEEKABLE;
        ReplyOpen::new(to).opened(3, flags, None);
        let (_, payload) = answer(&socket);
        assert_eq!(
            abi::fuse_open_out::decode(&payload),
            abi::fuse_open_out {
                fh: 3,
                open_flags: flags,
                backing_id: 0
            }
        );
    }

    #[test]
    fn passthrough_open_out() {
        let backing = backing_id(4);
        assert_eq!(
            open_out(3, abi::FOPEN_KEEP_CACHE, Some(&backing)),
            abi::fuse_open_out {
                fh: 3,
                open_flags: abi::FOPEN_KEEP_CACHE | abi::FOPEN_PASSTHROUGH,
                backing_id: 4
            }
        );
    }

    #[test]
    fn small_replies() {
        let (to, socket) = reply_to();
        ReplyEmpty::new(to).ok();
        assert_eq!(answer(&socket), (0, vec![]));

        let (to, socket) = reply_to();
        ReplyData::new(to).data(b"file contents");
        assert_eq!(answer(&socket), (0, b"file contents".to_vec()));

        let (to, socket) = reply_to();
        ReplyWrite::new(to).written(4096);
        assert_eq!(
            answer(&socket),
            (
                0,
                encode(&abi::fuse_write_out {
                    size: 4096,
                    padding: 0
                })
            )
        );

        let (to, socket) = reply_to();
        ReplyXattr::new(to).size(17);
        assert_eq!(answer(&socket), (0, vec![17, 0, 0, 0, 0, 0, 0, 0]));

        let (to, socket) = reply_to();
        ReplyXattr::new(to).data(b"user.a\0user.b\0");
        assert_eq!(answer(&socket), (0, b"user.a\0user.b\0".to_vec()));

        let (to, socket) = reply_to();
        ReplyLseek::new(to).offset(1 << 33);
        assert_eq!(answer(&socket), (0, (1u64 << 33).to_ne_bytes().to_vec()));

        let (to, socket) = reply_to();
        ReplyStatfs::new(to).statfs(1, 2, 3, 4, 5, 4096, 255, 512);
        let (error, payload) = answer(&socket);
        assert_eq!(error, 0);
        let st = abi::fuse_kstatfs::decode(&payload);
        assert_eq!(payload.len(), 80);
        assert_eq!(
            (st.blocks, st.bfree, st.bavail, st.files, st.ffree),
            (1, 2, 3, 4, 5)
        );
        assert_eq!((st.bsize, st.namelen, st.frsize), (4096, 255, 512));
    }

    #[test]
    fn every_reply_answers_errors_as_negative_errno_without_payload() {
        let answers: [fn(ReplyTo); 12] = [
            |to| ReplyEmpty::new(to).error(Errno::ENOENT),
            |to| ReplyEntry::new(to).error(Errno::ENOENT),
            |to| ReplyAttr::new(to).error(Errno::ENOENT),
            |to| ReplyData::new(to).error(Errno::ENOENT),
            |to| ReplyOpen::new(to).error(Errno::ENOENT),
            |to| ReplyCreate::new(to).error(Errno::ENOENT),
            |to| ReplyWrite::new(to).error(Errno::ENOENT),
            |to| ReplyStatfs::new(to).error(Errno::ENOENT),
            |to| ReplyXattr::new(to).error(Errno::ENOENT),
            |to| ReplyLseek::new(to).error(Errno::ENOENT),
            |to| ReplyDirectory::new(to, 4096).error(Errno::ENOENT),
            |to| ReplyDirectoryPlus::new(to, 4096).error(Errno::ENOENT),
        ];
        for reply in answers {
            let (to, socket) = reply_to();
            reply(to);
            assert_eq!(answer(&socket), (-libc::ENOENT, vec![]));
        }
        let (to, socket) = reply_to();
        ReplyEmpty::new(to).error(Errno::EACCES);
        assert_eq!(answer(&socket), (-13, vec![]));
    }

    #[test]
    fn an_errno_the_kernel_would_refuse_goes_as_eio() {
        let (to, socket) = reply_to();
        ReplyEmpty::new(to).error(Errno::from_raw(511));
        assert_eq!(answer(&socket), (-511, vec![]));
        let (to, socket) = reply_to();
        ReplyEmpty::new(to).error(Errno::from_raw(512));
        assert_eq!(answer(&socket), (-libc::EIO, vec![]));
    }

    #[test]
    fn a_reply_dropped_without_an_answer_answers_eio_once() {
        let (to, socket) = reply_to();
        drop(ReplyAttr::new(to));
        assert_eq!(answer(&socket), (-5, vec![]));

        let (to, socket) = reply_to();
        ReplyEmpty::new(to).ok();
        assert_eq!(answer(&socket), (0, vec![]));
        socket.set_nonblocking(true).unwrap();
        let mut buf = [0; 64];
        let nothing_more = socket.recv(&mut buf).unwrap_err();
        assert_eq!(nothing_more.kind(), std::io::ErrorKind::WouldBlock);
    }

    /// The `fuse_dirent` records of a READDIR payload, with their names.
    fn dirents(mut payload: &[u8]) -> Vec<(abi::fuse_dirent, Vec<u8>)> {
        let mut records = Vec::new();
        while !payload.is_empty() {
            let dirent = abi::fuse_dirent::decode(payload);
            let name_end = abi::fuse_dirent::SIZE + dirent.namelen as usize;
            let name = payload[abi::fuse_dirent::SIZE..name_end].to_vec();
            let record_len = name_end.next_multiple_of(8);
            assert!(
                payload[name_end..record_len].iter().all(|&b| b == 0),
                "padding is zeroes"
            );
            records.push((dirent, name));
            payload = &payload[record_len..];
        }
        records
    }

    #[test]
    fn directory_pages_fill_up_to_the_size_asked() {
        let (to, socket) = reply_to();
        // Each record: 24 bytes of dirent + "entry-N" (7) = 31, padded to 32.
        let mut listing = ReplyDirectory::new(to, 100);
        assert!(!listing.add(10, 1, FileKind::File, OsStr::new("entry-1")));
        assert!(!listing.add(11, 2, FileKind::Directory, OsStr::new("entry-2")));
        assert!(!listing.add(12, 3, FileKind::Symlink, OsStr::new("entry-3")));
        assert!(listing.add(13, 4, FileKind::File, OsStr::new("entry-4")));
        // 4 bytes are left, and even a one-byte name needs 32.
        assert!(listing.add(14, 5, FileKind::File, OsStr::new("e")));
        listing.ok();
        let (error, payload) = answer(&socket);
        assert_eq!(error, 0);
        assert_eq!(payload.len(), 96);
        let records = dirents(&payload);
        let summary: Vec<(u64, u64, u32, &[u8])> = records
            .iter()
            .map(|(d, name)| (d.ino, d.off, d.kind, name.as_slice()))
            .collect();
        assert_eq!(
            summary,
            [
                (10, 1, libc::DT_REG as u32, &b"entry-1"[..]),
                (11, 2, libc::DT_DIR as u32, &b"entry-2"[..]),
                (12, 3, libc::DT_LNK as u32, &b"entry-3"[..]),
            ]
        );
    }

    #[test]
    fn an_exact_fit_is_added() {
        let (to, socket) = reply_to();
        let mut listing = ReplyDirectory::new(to, 64);
        assert!(!listing.add(1, 1, FileKind::Fifo, OsStr::new("12345678")));
        assert!(!listing.add(2, 2, FileKind::Socket, OsStr::new("1234567")));
        assert!(listing.add(3, 3, FileKind::File, OsStr::new("x")));
        listing.ok();
        let (_, payload) = answer(&socket);
        assert_eq!(
            payload.len(),
            64,
            "24 + 8 bytes for an 8-byte name, 24 + 7 padded to 32 for a 7-byte one"
        );
        let kinds: Vec<u32> = dirents(&payload).iter().map(|(d, _)| d.kind).collect();
        assert_eq!(kinds, [libc::DT_FIFO as u32, libc::DT_SOCK as u32]);
    }

    #[test]
    fn an_empty_listing_is_the_end_of_the_directory() {
        let (to, socket) = reply_to();
        ReplyDirectory::new(to, 4096).ok();
        assert_eq!(answer(&socket), (0, vec![]));
    }

    #[test]
    fn directory_plus_records_with_and_without_entries() {
        let (to, socket) = reply_to();
        let mut listing = ReplyDirectoryPlus::new(to, 4096);
        let stat = file_stat();
        assert!(!listing.add(
            900,
            1,
            FileKind::File,
            OsStr::new("known"),
            Some((5, &stat, Duration::from_secs(1), Duration::from_secs(2)))
        ));
        assert!(!listing.add(901, 2, FileKind::CharDevice, OsStr::new("bare"), None));
        listing.ok();
        let (error, payload) = answer(&socket);
        assert_eq!(error, 0);
        // 128 + 24 + 5 = 157 -> 160; 128 + 24 + 4 = 156 -> 160.
        assert_eq!(payload.len(), 320);

        let entry = abi::fuse_entry_out::decode(&payload);
        assert_eq!(
            entry,
            entry_out(5, &stat, Duration::from_secs(1), Duration::from_secs(2))
        );
        let dirent = abi::fuse_dirent::decode(&payload[128..]);
        assert_eq!(
            dirent,
            abi::fuse_dirent {
                ino: 900,
                off: 1,
                namelen: 5,
                kind: libc::DT_REG as u32
            },
            "d_ino is the caller's, not the node id"
        );
        assert_eq!(&payload[152..160], b"known\0\0\0");

        let bare = abi::fuse_entry_out::decode(&payload[160..]);
        assert_eq!(
            bare,
            abi::fuse_entry_out::default(),
            "node id 0: nothing cached"
        );
        let dirent = abi::fuse_dirent::decode(&payload[288..]);
        assert_eq!(
            (dirent.ino, dirent.off, dirent.namelen, dirent.kind),
            (901, 2, 4, libc::DT_CHR as u32)
        );
        assert_eq!(&payload[312..320], b"bare\0\0\0\0");
    }

    #[test]
    fn directory_plus_pages_fill_up_to_the_size_asked() {
        let (to, socket) = reply_to();
        let mut listing = ReplyDirectoryPlus::new(to, 400);
        let stat = file_stat();
        let entry = Some((5, &stat, Duration::ZERO, Duration::ZERO));
        assert!(!listing.add(1, 1, FileKind::File, OsStr::new("a"), entry));
        assert!(!listing.add(2, 2, FileKind::File, OsStr::new("b"), None));
        assert!(listing.add(3, 3, FileKind::File, OsStr::new("c"), entry));
        listing.ok();
        let (_, payload) = answer(&socket);
        assert_eq!(payload.len(), 320);
    }
}
