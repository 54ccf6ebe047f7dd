//! JavaScript shapes of requests and replies, and their checked conversions to core types.
//! The TypeScript side already normalises handler results; these checks are the last line
//! that keeps malformed values away from the kernel.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::fs::{File, OpenOptions};
use std::sync::Arc;

use mountkit_core::windows::filetime::{system_time_from_filetime, MAX_FILETIME};
use mountkit_core::{
    Backing, Bytes, DirEntry, Errno, FileKind, FsResult, OpenFlags, Opened, Operation, RenameMode,
    Reply, RequestContext, SetTime, Stat, StatFs, WindowsAttributes, XattrMode,
};
use napi::bindgen_prelude::Float64Array;
use napi_derive::napi;

use crate::bridge::{Pending, RequestId};

/// Numbers per request in the array `drain` fills (read by `Dispatcher.drainOnce` in
/// `lib/dispatch.ts`): id, operation code, how many strings (1 or 2), where its bulk bytes
/// are (a [`DataPlace`] code), caller uid, gid and pid, the write-pool slot and byte count of
/// bytes in a slot (NaN otherwise), then `REQUEST_NUMBERS` operation-specific numbers (see
/// [`request_numbers`]).
pub const REQUEST_FIELDS: usize = 9 + REQUEST_NUMBERS;
/// Operation-specific numbers per request; NaN marks one the operation does not have.
pub const REQUEST_NUMBERS: usize = 5;
/// Header numbers before the first request in the drain array: how many requests follow,
/// whether more are queued (1) or not (0), how many payloads wait for `takePayloads`, and
/// whether faults wait for `takeEvents` (1) or not (0).
pub const DRAIN_HEADER: usize = 4;

/// What a numbers-only reply record carries (see [`reply_record`]). JavaScript collects these
/// replies and sends them in one `replyBatch` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyTag {
    /// Success with nothing to report.
    Empty,
    /// A failure: one number, the errno.
    Error,
    /// A getattr answer: one packed stat (`STAT_FIELDS` numbers).
    Stat,
    /// A byte count (write, copy_file_range): one number.
    Count,
    /// A file offset (lseek): one number.
    Offset,
    /// An open without a backing file: handle, hint bits (1 direct I/O, 2 keep cache, 4 not
    /// seekable), then a packed stat for `create` (NaN kind: none).
    Opened,
}

impl ReplyTag {
    fn from_code(code: f64) -> Option<ReplyTag> {
        const TAGS: [ReplyTag; 6] = [
            ReplyTag::Empty,
            ReplyTag::Error,
            ReplyTag::Stat,
            ReplyTag::Count,
            ReplyTag::Offset,
            ReplyTag::Opened,
        ];
        if code.fract() != 0.0 || code < 0.0 {
            return None;
        }
        TAGS.get(code as usize).copied()
    }

    fn width(self) -> usize {
        match self {
            ReplyTag::Empty => 0,
            ReplyTag::Stat => STAT_FIELDS,
            ReplyTag::Opened => 2 + STAT_FIELDS,
            ReplyTag::Error | ReplyTag::Count | ReplyTag::Offset => 1,
        }
    }

    /// The answer a record's `numbers` make for `pending`: an errno, or a reply, checked (a
    /// write cannot claim more bytes than it carried).
    pub fn answer(
        self,
        numbers: &[f64],
        pending: Option<&Pending>,
    ) -> Result<FsResult<Reply>, String> {
        let reply = match self {
            ReplyTag::Error => return Ok(Err(Errno::from_raw(numbers[0] as i32))),
            ReplyTag::Empty => Reply::Empty,
            ReplyTag::Stat => packed_stat(numbers)?
                .map(Reply::Stat)
                .ok_or_else(|| "getattr must return a stat".to_owned())?,
            ReplyTag::Offset => Reply::Offset(whole(numbers[0], "offset")?),
            ReplyTag::Opened => {
                let hints = whole(numbers[1], "open hints")?;
                Reply::Opened(Opened {
                    handle: whole(numbers[0], "handle")?,
                    direct_io: hints & 1 != 0,
                    keep_cache: hints & 2 != 0,
                    nonseekable: hints & 4 != 0,
                    stat: packed_stat(&numbers[2..])?,
                    backing: None,
                })
            }
            ReplyTag::Count => {
                let count = whole(numbers[0], "count")?;
                if let Some(p) = pending {
                    if matches!(p.operation, Operation::Write { .. })
                        && count > p.payload_len as u64
                    {
                        return Err(format!(
                            "write claimed {count} bytes of a {}-byte write",
                            p.payload_len
                        ));
                    }
                }
                Reply::Count(count)
            }
        };
        Ok(Ok(reply))
    }
}

/// Splits the first record off `records`: request id, tag, and the tag's numbers.
pub fn reply_record(records: &[f64]) -> Result<(RequestId, ReplyTag, &[f64]), String> {
    let [id, tag, rest @ ..] = records else {
        return Err("a reply record needs an id and a tag".to_owned());
    };
    let tag = ReplyTag::from_code(*tag).ok_or_else(|| format!("unknown reply tag {tag}"))?;
    let numbers = rest
        .get(..tag.width())
        .ok_or_else(|| format!("a {tag:?} reply record is cut short"))?;
    Ok((whole(*id, "request id")?, tag, numbers))
}

/// Numbers per stat in a packed stat array (see `lib/convert.ts`, `packStat`): kind, size,
/// mode, uid, gid, nlink, ino, rdev, blocks (-1: derive from size), atime, mtime, ctime and
/// birthtime in ms, and the Windows attribute bits (hidden 1, readonly 2, system 4, archive 8).
/// A NaN kind marks an entry without a stat.
pub const STAT_FIELDS: usize = 14;

#[napi(object)]
pub struct NativeOpened {
    pub handle: f64,
    pub direct_io: bool,
    pub keep_cache: bool,
    pub non_seekable: bool,
    /// A file whose bytes serve this open file from Rust.
    pub backing_path: Option<String>,
    /// An open descriptor whose bytes serve this open file; duplicated, so the caller may
    /// close its own copy.
    pub backing_fd: Option<i32>,
    /// For `create`: the new file's packed stat (`STAT_FIELDS` numbers).
    pub stat: Option<Float64Array>,
}

#[napi(object)]
pub struct NativeStatFs {
    pub block_size: u32,
    pub fragment_size: u32,
    pub blocks: f64,
    pub blocks_free: f64,
    pub blocks_available: f64,
    pub files: f64,
    pub files_free: f64,
    pub name_max: u32,
}

/// A fault for the mount's `error` event.
#[napi(object, object_from_js = false)]
pub struct NativeEvent {
    pub operation: String,
    pub path: String,
    pub errno: String,
    pub message: String,
}

const KINDS: [FileKind; 7] = [
    FileKind::File,
    FileKind::Directory,
    FileKind::Symlink,
    FileKind::Fifo,
    FileKind::Socket,
    FileKind::CharDevice,
    FileKind::BlockDevice,
];

pub fn kind(code: u32) -> Result<FileKind, String> {
    KINDS
        .get(code as usize)
        .copied()
        .ok_or_else(|| format!("unknown file kind code {code}"))
}

/// A JavaScript number that must be a whole, non-negative, exactly representable integer.
pub fn whole(value: f64, field: &str) -> Result<u64, String> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_991.0
    {
        Ok(value as u64)
    } else {
        Err(format!(
            "{field} must be a non-negative integer, got {value}"
        ))
    }
}

/// Milliseconds since the epoch (fractions allowed) as a time. Whole milliseconds are split off
/// before any float arithmetic, so `1700000000017` is exactly `.017` s, not `.016999…`.
///
/// A time this platform's `SystemTime` cannot hold becomes the nearest one it can. On Windows
/// `SystemTime` spans FILETIME's range, 1601 to the year 30828, and a JavaScript number
/// reaches beyond both ends (`1e15` ms is in the year 33658); elsewhere it holds every time a
/// JavaScript number gives.
fn time(ms: f64, field: &str) -> Result<SystemTime, String> {
    if !ms.is_finite() {
        return Err(format!("{field} must be a finite time, got {ms}"));
    }
    let whole_ms = ms.floor();
    let fraction_nanos = ((ms - whole_ms) * 1e6).round() as u64;
    // `as` saturates at ±2^63 ms, beyond what any platform's `SystemTime` holds.
    let whole_ms = whole_ms as i64;
    let secs = whole_ms.div_euclid(1000);
    let subsec =
        Duration::from_nanos(whole_ms.rem_euclid(1000) as u64 * 1_000_000 + fraction_nanos);
    let distance = Duration::from_secs(secs.unsigned_abs());
    let whole_secs = if secs >= 0 {
        UNIX_EPOCH.checked_add(distance)
    } else {
        UNIX_EPOCH.checked_sub(distance)
    };
    Ok(whole_secs
        .and_then(|whole| whole.checked_add(subsec))
        .unwrap_or_else(|| system_time_from_filetime(if secs >= 0 { MAX_FILETIME } else { 0 })))
}

/// A time as milliseconds since the epoch, exact to the nanosecond for any date a `number`
/// can hold at that precision.
fn millis(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs() as f64 * 1000.0 + f64::from(after.subsec_nanos()) / 1e6,
        Err(before) => {
            let d = before.duration();
            -(d.as_secs() as f64 * 1000.0 + f64::from(d.subsec_nanos()) / 1e6)
        }
    }
}

/// A whole number in `0..=max` from a packed field.
fn field(value: f64, name: &str, max: u64) -> Result<u64, String> {
    let n = whole(value, name)?;
    if n > max {
        return Err(format!("{name} must be at most {max}, got {n}"));
    }
    Ok(n)
}

/// Decodes one packed stat (`STAT_FIELDS` numbers). `None` for an entry without a stat.
pub fn packed_stat(p: &[f64]) -> Result<Option<Stat>, String> {
    let [kind_code, size, mode, uid, gid, nlink, ino, rdev, blocks, atime_ms, mtime_ms, ctime_ms, birthtime_ms, attributes] =
        p
    else {
        return Err(format!(
            "a packed stat has {STAT_FIELDS} numbers, got {}",
            p.len()
        ));
    };
    if kind_code.is_nan() {
        return Ok(None);
    }
    let u32_field =
        |value: f64, name: &str| field(value, name, u64::from(u32::MAX)).map(|n| n as u32);
    let mode = u32_field(*mode, "mode")?;
    if mode > 0o7777 {
        return Err(format!("mode must hold permission bits only, got {mode:o}"));
    }
    let attributes = u32_field(*attributes, "attributes")?;
    Ok(Some(Stat {
        kind: kind(u32_field(*kind_code, "kind")?)?,
        size: whole(*size, "size")?,
        mode,
        uid: u32_field(*uid, "uid")?,
        gid: u32_field(*gid, "gid")?,
        nlink: u32_field(*nlink, "nlink")?,
        ino: whole(*ino, "ino")?,
        rdev: u32_field(*rdev, "rdev")?,
        blocks: if *blocks < 0.0 {
            None
        } else {
            Some(whole(*blocks, "blocks")?)
        },
        atime: time(*atime_ms, "atime")?,
        mtime: time(*mtime_ms, "mtime")?,
        ctime: time(*ctime_ms, "ctime")?,
        birthtime: time(*birthtime_ms, "birthtime")?,
        windows: WindowsAttributes {
            hidden: attributes & 1 != 0,
            readonly: attributes & 2 != 0,
            system: attributes & 4 != 0,
            archive: attributes & 8 != 0,
        },
    }))
}

/// Decodes a listing: the names joined by NUL (a character no name can hold), one kind code
/// per name, and optionally one packed stat per name. One string crosses from JavaScript
/// instead of one per entry.
pub fn entries(names: &str, kinds: &[u8], stats: Option<&[f64]>) -> Result<Vec<DirEntry>, String> {
    if let Some(stats) = stats {
        if stats.len() != kinds.len() * STAT_FIELDS {
            return Err(format!(
                "{} kinds but {} packed stat numbers",
                kinds.len(),
                stats.len()
            ));
        }
    }
    let mut listing = Vec::with_capacity(kinds.len());
    if kinds.is_empty() {
        return if names.is_empty() {
            Ok(listing)
        } else {
            Err("names without kinds".to_owned())
        };
    }
    for (i, name) in names.split('\0').enumerate() {
        let Some(&code) = kinds.get(i) else {
            return Err(format!("more names than the {} kinds", kinds.len()));
        };
        let stat = match stats {
            Some(stats) => packed_stat(&stats[i * STAT_FIELDS..(i + 1) * STAT_FIELDS])?,
            None => None,
        };
        listing.push(DirEntry {
            kind: kind(u32::from(code))?,
            stat,
            name: name.to_owned(),
        });
    }
    if listing.len() != kinds.len() {
        return Err(format!("{} names but {} kinds", listing.len(), kinds.len()));
    }
    Ok(listing)
}

/// `flags` are the open flags of the request being answered; a backing path is opened with
/// the same access mode.
pub fn opened(o: &NativeOpened, flags: OpenFlags) -> Result<Opened, String> {
    let backing = match (&o.backing_path, o.backing_fd) {
        (Some(_), Some(_)) => return Err("give backingPath or backingFd, not both".to_owned()),
        (Some(path), None) => Some(open_backing_path(path, flags)?),
        (None, Some(fd)) => Some(dup_backing_fd(fd)?),
        (None, None) => None,
    };
    let stat = match &o.stat {
        Some(packed) => {
            Some(packed_stat(packed)?.ok_or_else(|| "create's stat has no kind".to_owned())?)
        }
        None => None,
    };
    Ok(Opened {
        handle: whole(o.handle, "handle")?,
        stat,
        direct_io: o.direct_io,
        keep_cache: o.keep_cache,
        nonseekable: o.non_seekable,
        backing: backing.map(|file| Backing(Arc::new(file))),
    })
}

fn open_backing_path(path: &str, flags: OpenFlags) -> Result<File, String> {
    OpenOptions::new()
        .read(flags.readable())
        .write(flags.writable())
        .open(path)
        .map_err(|e| format!("backingPath {path:?} cannot be opened: {e}"))
}

#[cfg(unix)]
fn dup_backing_fd(fd: i32) -> Result<File, String> {
    use std::os::fd::BorrowedFd;
    if fd < 0 {
        return Err(format!(
            "backingFd must be an open file descriptor, got {fd}"
        ));
    }
    // SAFETY: the caller passed a descriptor it holds open for the duration of this call; it
    // is only borrowed long enough to duplicate it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    borrowed
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|e| format!("backingFd {fd} cannot be duplicated: {e}"))
}

#[cfg(not(unix))]
fn dup_backing_fd(fd: i32) -> Result<File, String> {
    Err(format!(
        "backingFd {fd}: file descriptors cannot serve a mount on this platform; use backingPath"
    ))
}

pub fn statfs(f: &NativeStatFs) -> Result<StatFs, String> {
    Ok(StatFs {
        block_size: f.block_size,
        fragment_size: f.fragment_size,
        blocks: whole(f.blocks, "blocks")?,
        blocks_free: whole(f.blocks_free, "blocksFree")?,
        blocks_available: whole(f.blocks_available, "blocksAvailable")?,
        files: whole(f.files, "files")?,
        files_free: whole(f.files_free, "filesFree")?,
        name_max: f.name_max,
    })
}

pub fn errno_name(errno: Errno) -> String {
    errno
        .name()
        .map_or_else(|| format!("E{}", errno.raw()), str::to_owned)
}

fn set_time(t: Option<SetTime>) -> Option<f64> {
    t.map(|t| match t {
        SetTime::At(at) => millis(at),
        SetTime::Now => millis(SystemTime::now()),
    })
}

/// Where a request's bulk bytes (write data, an xattr value) are for JavaScript; the code is
/// what `drain` reports for the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataPlace {
    /// The request has none (code 0).
    None,
    /// Next on the drain's payload list, taken with `takePayloads` (code 1).
    Payload,
    /// In write-pool slot `n`, which JavaScript views through `writeSlot(n)` (code 2).
    Slot(u32),
}

impl DataPlace {
    fn code(self) -> f64 {
        match self {
            DataPlace::None => 0.0,
            DataPlace::Payload => 1.0,
            DataPlace::Slot(_) => 2.0,
        }
    }
}

/// Writes one parked request for JavaScript: `REQUEST_FIELDS` numbers into `numbers`, its
/// path (and second string, if it has one) onto `strings`, each followed by a NUL. Its bulk
/// bytes move out of the parked request to `place`, which says where it put them.
pub fn write_request(
    id: RequestId,
    op_code: u32,
    operation: &mut Operation,
    cx: RequestContext,
    numbers: &mut [f64],
    strings: &mut String,
    place: impl FnOnce(Bytes) -> DataPlace,
) {
    strings.push_str(operation.path());
    strings.push('\0');
    let strings_count = match second_string(operation) {
        Some(other) => {
            strings.push_str(other);
            strings.push('\0');
            2.0
        }
        None => 1.0,
    };
    let payload = match operation {
        Operation::Write { data, .. } => Some(std::mem::take(data)),
        Operation::Setxattr { value, .. } => Some(std::mem::take(value)),
        _ => None,
    };
    let length = payload.as_ref().map_or(0, Bytes::len);
    let data = payload.map_or(DataPlace::None, place);
    let (slot, length) = match data {
        DataPlace::Slot(slot) => (f64::from(slot), length as f64),
        DataPlace::None | DataPlace::Payload => (f64::NAN, f64::NAN),
    };
    numbers[0] = id as f64;
    numbers[1] = f64::from(op_code);
    numbers[2] = strings_count;
    numbers[3] = data.code();
    numbers[4] = f64::from(cx.uid);
    numbers[5] = f64::from(cx.gid);
    numbers[6] = f64::from(cx.pid);
    numbers[7] = slot;
    numbers[8] = length;
    numbers[9..].copy_from_slice(&request_numbers(operation));
}

/// The second path or name of an operation: symlink target, link source, rename
/// destination, xattr name, copy destination.
fn second_string(operation: &Operation) -> Option<&str> {
    use Operation as O;
    match operation {
        O::Symlink { target, .. } => Some(target),
        O::Link { existing, .. } => Some(existing),
        O::Rename { to, .. } => Some(to),
        O::Getxattr { name, .. } | O::Removexattr { name, .. } | O::Setxattr { name, .. } => {
            Some(name)
        }
        O::CopyFileRange { to_path, .. } => Some(to_path),
        _ => None,
    }
}

/// The numbers of an operation, in the order `lib/dispatch.ts` reads them (`OPERATIONS`);
/// NaN where an optional one is absent (no handle, a uid left unchanged, a time not set).
pub fn request_numbers(operation: &Operation) -> [f64; REQUEST_NUMBERS] {
    use Operation as O;
    let mut n = [f64::NAN; REQUEST_NUMBERS];
    let handle = |h: u64| h as f64;
    match operation {
        O::Getattr { handle: h, .. } => n[0] = h.map_or(f64::NAN, handle),
        O::Truncate {
            handle: h, size, ..
        } => {
            n[0] = h.map_or(f64::NAN, handle);
            n[1] = *size as f64;
        }
        O::Readdir { handle: h, .. }
        | O::Releasedir { handle: h, .. }
        | O::Flush { handle: h, .. } => n[0] = handle(*h),
        O::Open { flags, .. } | O::Opendir { flags, .. } => n[0] = f64::from(flags.0),
        O::Release {
            handle: h, flags, ..
        } => {
            n[0] = handle(*h);
            n[1] = f64::from(flags.0);
        }
        O::Read {
            handle: h,
            offset,
            size,
            ..
        } => {
            n[0] = handle(*h);
            n[1] = *offset as f64;
            n[2] = f64::from(*size);
        }
        O::Write {
            handle: h, offset, ..
        } => {
            n[0] = handle(*h);
            n[1] = *offset as f64;
        }
        O::Create { mode, flags, .. } => {
            n[0] = f64::from(*mode);
            n[1] = f64::from(flags.0);
        }
        O::Mknod { mode, rdev, .. } => {
            n[0] = f64::from(*mode);
            n[1] = f64::from(*rdev);
        }
        O::Mkdir { mode, .. } | O::Chmod { mode, .. } => n[0] = f64::from(*mode),
        O::Access { mask, .. } => n[0] = f64::from(*mask),
        O::Unlink { .. }
        | O::Rmdir { .. }
        | O::Readlink { .. }
        | O::Statfs { .. }
        | O::Listxattr { .. }
        | O::Symlink { .. }
        | O::Link { .. }
        | O::Getxattr { .. }
        | O::Removexattr { .. } => {}
        O::Rename { mode, .. } => {
            n[0] = match mode {
                RenameMode::Replace => 0.0,
                RenameMode::NoReplace => 1.0,
                RenameMode::Exchange => 2.0,
            }
        }
        O::Chown { uid, gid, .. } => {
            n[0] = uid.map_or(f64::NAN, f64::from);
            n[1] = gid.map_or(f64::NAN, f64::from);
        }
        O::Utimens { atime, mtime, .. } => {
            n[0] = set_time(*atime).unwrap_or(f64::NAN);
            n[1] = set_time(*mtime).unwrap_or(f64::NAN);
        }
        O::Fsync {
            handle: h,
            datasync,
            ..
        }
        | O::Fsyncdir {
            handle: h,
            datasync,
            ..
        } => {
            n[0] = handle(*h);
            n[1] = if *datasync { 1.0 } else { 0.0 };
        }
        O::Setxattr { mode, .. } => {
            n[0] = match mode {
                XattrMode::Set => 0.0,
                XattrMode::Create => 1.0,
                XattrMode::Replace => 2.0,
            }
        }
        O::Fallocate {
            handle: h,
            offset,
            length,
            mode,
            ..
        } => {
            n[0] = handle(*h);
            n[1] = *offset as f64;
            n[2] = *length as f64;
            n[3] = f64::from(*mode);
        }
        O::Lseek {
            handle: h,
            offset,
            whence,
            ..
        } => {
            n[0] = handle(*h);
            n[1] = *offset as f64;
            n[2] = f64::from(*whence);
        }
        O::CopyFileRange {
            from_handle,
            from_offset,
            to_handle,
            to_offset,
            length,
            ..
        } => {
            n[0] = handle(*from_handle);
            n[1] = *from_offset as f64;
            n[2] = handle(*to_handle);
            n[3] = *to_offset as f64;
            n[4] = *length as f64;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_checked() {
        assert_eq!(whole(12.0, "size"), Ok(12));
        assert!(whole(-1.0, "size").is_err());
        assert!(whole(1.5, "size").is_err());
        assert!(whole(f64::NAN, "size").is_err());
        assert!(whole(1e300, "size").is_err());
    }

    #[test]
    fn times_round_trip_through_milliseconds() {
        for ms in [
            0.0,
            1_700_000_000_123.0,
            1_700_000_000_017.0,
            -86_400_000.0,
            -1.5,
        ] {
            assert_eq!(millis(time(ms, "t").unwrap()), ms);
        }
        assert!(time(f64::NAN, "t").is_err());
    }

    #[test]
    fn times_beyond_what_the_platform_holds_saturate() {
        let year_33658 = 1e15;
        let times: Vec<SystemTime> = [-f64::MAX, -year_33658, -1.0, 0.0, 1.0, year_33658, f64::MAX]
            .into_iter()
            .map(|ms| time(ms, "t").unwrap())
            .collect();
        assert!(times.is_sorted(), "{times:?}");
        assert!(times[1] < times[2] && times[4] < times[5], "{times:?}");
        let (before, after) = (times[1], times[5]);
        if cfg!(windows) {
            assert_eq!(before, system_time_from_filetime(0), "1601");
            assert_eq!(after, system_time_from_filetime(MAX_FILETIME), "30828");
        } else {
            let distance = Duration::from_secs(1_000_000_000_000);
            assert_eq!(before, UNIX_EPOCH - distance);
            assert_eq!(after, UNIX_EPOCH + distance);
        }
    }

    #[test]
    fn whole_milliseconds_are_exact_nanoseconds() {
        let t = time(1_700_000_000_017.0, "t").unwrap();
        let since = t.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(since.as_secs(), 1_700_000_000);
        assert_eq!(since.subsec_nanos(), 17_000_000);
        let before = time(-1.5, "t").unwrap();
        assert_eq!(
            UNIX_EPOCH.duration_since(before).unwrap(),
            Duration::from_micros(1500)
        );
    }

    fn packed(kind: f64, size: f64, mode: f64) -> Vec<f64> {
        vec![
            kind, size, mode, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 3.0,
        ]
    }

    #[test]
    fn packed_stats_decode_and_are_checked() {
        let stat = packed_stat(&packed(0.0, 12.0, 420.0)).unwrap().unwrap();
        assert_eq!(
            (stat.kind, stat.size, stat.mode),
            (FileKind::File, 12, 0o644)
        );
        assert!(stat.windows.hidden && stat.windows.readonly && !stat.windows.system);
        assert_eq!(packed_stat(&packed(f64::NAN, 0.0, 0.0)).unwrap(), None);
        assert!(packed_stat(&packed(0.0, -1.0, 420.0))
            .unwrap_err()
            .contains("size"));
        assert!(packed_stat(&packed(0.0, 1.0, 65535.0))
            .unwrap_err()
            .contains("mode"));
        assert!(packed_stat(&packed(9.0, 1.0, 420.0)).is_err());
        assert!(packed_stat(&[0.0; 3]).is_err());
    }

    #[test]
    fn listings_decode_with_and_without_stats() {
        let plain = entries("a\0b", &[0, 1], None).unwrap();
        assert_eq!(plain[0].name, "a");
        assert_eq!(plain[1].name, "b");
        assert_eq!(plain[1].kind, FileKind::Directory);
        assert!(plain[0].stat.is_none());
        let mut stats = packed(0.0, 5.0, 420.0);
        stats.extend(packed(f64::NAN, 0.0, 0.0));
        let mixed = entries("a\0b", &[0, 1], Some(&stats)).unwrap();
        assert_eq!(mixed[0].stat.as_ref().map(|s| s.size), Some(5));
        assert!(mixed[1].stat.is_none());
    }

    #[test]
    fn listing_names_and_kinds_must_pair_up() {
        assert!(entries("", &[], None).unwrap().is_empty());
        // One empty name is a name (the listing check drops it later, and says why).
        assert_eq!(entries("", &[0], None).unwrap()[0].name, "");
        assert!(entries("a\0b", &[0], None).is_err());
        assert!(entries("a", &[0, 0], None).is_err());
        assert!(entries("a", &[], None).is_err());
        assert!(entries("a", &[0], Some(&[0.0; 3])).is_err());
    }

    #[test]
    fn reply_records_split_by_their_tag() {
        let mut records = vec![7.0, 2.0];
        records.extend(packed(0.0, 5.0, 420.0));
        records.extend([8.0, 0.0, 9.0, 1.0, 2.0]);
        let (id, tag, numbers) = reply_record(&records).unwrap();
        assert_eq!((id, tag, numbers.len()), (7, ReplyTag::Stat, STAT_FIELDS));
        let rest = &records[2 + STAT_FIELDS..];
        let (id, tag, numbers) = reply_record(rest).unwrap();
        assert_eq!((id, tag, numbers), (8, ReplyTag::Empty, &[][..]));
        let (id, tag, numbers) = reply_record(&rest[2..]).unwrap();
        assert_eq!((id, tag, numbers), (9, ReplyTag::Error, &[2.0][..]));
        assert!(reply_record(&[1.0]).is_err(), "no tag");
        assert!(reply_record(&[1.0, 2.0, 0.0]).is_err(), "stat cut short");
        assert!(reply_record(&[1.0, 5.0]).is_err(), "unknown tag");
        assert!(reply_record(&[1.0, 0.5]).is_err(), "fractional tag");
        assert!(reply_record(&[-1.0, 0.0]).is_err(), "bad id");
    }

    #[test]
    fn numbers_only_replies_are_checked() {
        let stat = ReplyTag::Stat
            .answer(&packed(1.0, 0.0, 493.0), None)
            .unwrap()
            .unwrap();
        assert!(matches!(stat, Reply::Stat(s) if s.kind == FileKind::Directory));
        assert!(ReplyTag::Stat
            .answer(&packed(f64::NAN, 0.0, 0.0), None)
            .is_err());
        assert_eq!(
            ReplyTag::Offset.answer(&[12.0], None),
            Ok(Ok(Reply::Offset(12)))
        );
        assert!(ReplyTag::Count.answer(&[-1.0], None).is_err());
        assert_eq!(
            ReplyTag::Count.answer(&[3.0], None),
            Ok(Ok(Reply::Count(3)))
        );
        let mut opened = vec![7.0, 5.0];
        opened.extend(packed(f64::NAN, 0.0, 0.0));
        let Ok(Ok(Reply::Opened(o))) = ReplyTag::Opened.answer(&opened, None) else {
            panic!("an Opened reply");
        };
        assert_eq!(o.handle, 7);
        assert!(o.direct_io && !o.keep_cache && o.nonseekable && o.stat.is_none());
        opened.truncate(2);
        opened.extend(packed(0.0, 9.0, 420.0));
        let Ok(Ok(Reply::Opened(o))) = ReplyTag::Opened.answer(&opened, None) else {
            panic!("an Opened reply");
        };
        assert_eq!(o.stat.map(|s| s.size), Some(9));
        assert_eq!(
            ReplyTag::Error.answer(&[2.0], None),
            Ok(Err(Errno::ENOENT)),
            "an error record answers with its errno"
        );
        opened[0] = -1.0;
        assert!(ReplyTag::Opened.answer(&opened, None).is_err());
    }

    #[test]
    fn requests_pack_into_numbers_strings_and_bulk_bytes() {
        let mut numbers = [0.0; REQUEST_FIELDS];
        let mut strings = String::new();
        let cx = RequestContext {
            uid: 1000,
            gid: 100,
            pid: 42,
        };
        let write = |data: &'static [u8]| Operation::Write {
            path: "/f".into(),
            handle: 3,
            offset: 4096,
            data: Bytes::from_static(data),
        };
        let mut pooled = write(b"abc");
        let mut placed = Bytes::new();
        write_request(9, 6, &mut pooled, cx, &mut numbers, &mut strings, |bytes| {
            placed = bytes;
            DataPlace::Slot(5)
        });
        assert_eq!(numbers[..7], [9.0, 6.0, 1.0, 2.0, 1000.0, 100.0, 42.0]);
        assert_eq!(numbers[7..9], [5.0, 3.0], "slot 5 holds 3 bytes");
        assert_eq!(numbers[9..11], [3.0, 4096.0]);
        assert!(numbers[11].is_nan(), "a write has no third number");
        assert_eq!(&placed[..], b"abc");
        assert!(
            matches!(pooled, Operation::Write { ref data, .. } if data.is_empty()),
            "the bytes moved out of the parked request"
        );
        let mut copied = write(b"de");
        write_request(10, 6, &mut copied, cx, &mut numbers, &mut strings, |_| {
            DataPlace::Payload
        });
        assert_eq!(numbers[3], 1.0);
        assert!(numbers[7].is_nan() && numbers[8].is_nan(), "no slot");
        let mut rename = Operation::Rename {
            from: "/a".into(),
            to: "/b".into(),
            mode: RenameMode::Exchange,
        };
        write_request(11, 0, &mut rename, cx, &mut numbers, &mut strings, |_| {
            panic!("a rename has no bulk bytes")
        });
        assert_eq!((numbers[2], numbers[3], numbers[9]), (2.0, 0.0, 2.0));
        assert_eq!(strings, "/f\0/f\0/a\0/b\0");
    }

    #[test]
    fn absent_optional_numbers_are_nan() {
        let getattr = request_numbers(&Operation::Getattr {
            path: "/".into(),
            handle: None,
        });
        assert!(getattr.iter().all(|n| n.is_nan()));
        let chown = request_numbers(&Operation::Chown {
            path: "/".into(),
            uid: Some(5),
            gid: None,
        });
        assert_eq!(chown[0], 5.0);
        assert!(chown[1].is_nan());
    }

    #[test]
    fn unknown_kinds_are_refused() {
        assert_eq!(kind(1), Ok(FileKind::Directory));
        assert!(kind(7).is_err());
    }
}
