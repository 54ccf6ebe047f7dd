//! JavaScript shapes of requests and replies, and their checked conversions to core types.
//! The TypeScript side already normalises handler results; these checks are the last line
//! that keeps malformed values away from the kernel.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::fs::{File, OpenOptions};
use std::sync::Arc;

use mountkit_core::{
    Backing, DirEntry, Errno, FileKind, OpenFlags, Opened, Operation, RenameMode, RequestContext,
    SetTime, Stat, StatFs, WindowsAttributes, XattrMode,
};
use napi_derive::napi;

use crate::payload::Payload;

/// One request for a JavaScript handler. Which fields are set depends on the operation; see
/// `lib/dispatch.ts` for the mapping to handler arguments.
#[napi(object, object_from_js = false)]
pub struct NativeRequest {
    pub id: u32,
    /// Index into `operationNames()`.
    pub op: u32,
    pub path: String,
    pub handle: Option<f64>,
    pub flags: Option<i32>,
    pub offset: Option<f64>,
    pub size: Option<f64>,
    pub length: Option<f64>,
    #[napi(ts_type = "Buffer")]
    pub data: Option<Payload>,
    pub mode: Option<u32>,
    pub rdev: Option<u32>,
    /// The second path or name of the operation: symlink target, link source, rename
    /// destination, xattr name, copy destination.
    pub other: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub atime: Option<f64>,
    pub mtime: Option<f64>,
    pub datasync: Option<bool>,
    pub whence: Option<i32>,
    pub to_handle: Option<f64>,
    pub to_offset: Option<f64>,
    pub caller_uid: u32,
    pub caller_gid: u32,
    pub caller_pid: u32,
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

#[napi(object, object_from_js = false)]
pub struct NativeBatch {
    pub requests: Vec<NativeRequest>,
    pub events: Vec<NativeEvent>,
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
fn time(ms: f64, field: &str) -> Result<SystemTime, String> {
    if !ms.is_finite() {
        return Err(format!("{field} must be a finite time, got {ms}"));
    }
    let whole_ms = ms.floor();
    let nanos = ((ms - whole_ms) * 1e6).round() as u64;
    let whole_ms = whole_ms as i64;
    let secs = whole_ms.div_euclid(1000);
    let nanos = (whole_ms.rem_euclid(1000) as u64) * 1_000_000 + nanos;
    let since_epoch = Duration::from_secs(secs.unsigned_abs());
    Ok(if secs >= 0 {
        UNIX_EPOCH + since_epoch + Duration::from_nanos(nanos)
    } else {
        (UNIX_EPOCH.checked_sub(since_epoch).unwrap_or(UNIX_EPOCH)) + Duration::from_nanos(nanos)
    })
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

/// Decodes a listing: names, one kind code per name, and optionally one packed stat per name.
pub fn entries(
    names: Vec<String>,
    kinds: &[u8],
    stats: Option<&[f64]>,
) -> Result<Vec<DirEntry>, String> {
    if kinds.len() != names.len() {
        return Err(format!("{} names but {} kinds", names.len(), kinds.len()));
    }
    if let Some(stats) = stats {
        if stats.len() != names.len() * STAT_FIELDS {
            return Err(format!(
                "{} names but {} packed stat numbers",
                names.len(),
                stats.len()
            ));
        }
    }
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let stat = match stats {
                Some(stats) => packed_stat(&stats[i * STAT_FIELDS..(i + 1) * STAT_FIELDS])?,
                None => None,
            };
            Ok(DirEntry {
                kind: kind(u32::from(kinds[i]))?,
                stat,
                name,
            })
        })
        .collect()
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
    Ok(Opened {
        handle: whole(o.handle, "handle")?,
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

/// Builds the JavaScript request for a parked operation, moving its bulk payload out.
pub fn request(
    id: u32,
    op_code: u32,
    operation: &mut Operation,
    cx: RequestContext,
) -> NativeRequest {
    let mut r = NativeRequest {
        id,
        op: op_code,
        path: operation.path().to_owned(),
        handle: None,
        flags: None,
        offset: None,
        size: None,
        length: None,
        data: None,
        mode: None,
        rdev: None,
        other: None,
        uid: None,
        gid: None,
        atime: None,
        mtime: None,
        datasync: None,
        whence: None,
        to_handle: None,
        to_offset: None,
        caller_uid: cx.uid,
        caller_gid: cx.gid,
        caller_pid: cx.pid,
    };
    use Operation as O;
    match operation {
        O::Getattr { handle, .. } => r.handle = handle.map(|h| h as f64),
        O::Truncate { handle, size, .. } => {
            r.handle = handle.map(|h| h as f64);
            r.size = Some(*size as f64);
        }
        O::Readdir { handle, .. } | O::Releasedir { handle, .. } | O::Flush { handle, .. } => {
            r.handle = Some(*handle as f64)
        }
        O::Open { flags, .. } | O::Opendir { flags, .. } => r.flags = Some(flags.0),
        O::Release { handle, flags, .. } => {
            r.handle = Some(*handle as f64);
            r.flags = Some(flags.0);
        }
        O::Read {
            handle,
            offset,
            size,
            ..
        } => {
            r.handle = Some(*handle as f64);
            r.offset = Some(*offset as f64);
            r.size = Some(f64::from(*size));
        }
        O::Write {
            handle,
            offset,
            data,
            ..
        } => {
            r.handle = Some(*handle as f64);
            r.offset = Some(*offset as f64);
            r.data = Some(Payload(std::mem::take(data)));
        }
        O::Create { mode, flags, .. } => {
            r.mode = Some(*mode);
            r.flags = Some(flags.0);
        }
        O::Mknod { mode, rdev, .. } => {
            r.mode = Some(*mode);
            r.rdev = Some(*rdev);
        }
        O::Mkdir { mode, .. } | O::Chmod { mode, .. } => r.mode = Some(*mode),
        O::Access { mask, .. } => r.mode = Some(*mask),
        O::Unlink { .. }
        | O::Rmdir { .. }
        | O::Readlink { .. }
        | O::Statfs { .. }
        | O::Listxattr { .. } => {}
        O::Symlink { target, .. } => r.other = Some(target.clone()),
        O::Link { existing, .. } => r.other = Some(existing.clone()),
        O::Rename { to, mode, .. } => {
            r.other = Some(to.clone());
            r.flags = Some(match mode {
                RenameMode::Replace => 0,
                RenameMode::NoReplace => 1,
                RenameMode::Exchange => 2,
            });
        }
        O::Chown { uid, gid, .. } => {
            r.uid = *uid;
            r.gid = *gid;
        }
        O::Utimens { atime, mtime, .. } => {
            r.atime = set_time(*atime);
            r.mtime = set_time(*mtime);
        }
        O::Fsync {
            handle, datasync, ..
        }
        | O::Fsyncdir {
            handle, datasync, ..
        } => {
            r.handle = Some(*handle as f64);
            r.datasync = Some(*datasync);
        }
        O::Getxattr { name, .. } | O::Removexattr { name, .. } => r.other = Some(name.clone()),
        O::Setxattr {
            name, value, mode, ..
        } => {
            r.other = Some(name.clone());
            r.data = Some(Payload(std::mem::take(value)));
            r.flags = Some(match mode {
                XattrMode::Set => 0,
                XattrMode::Create => 1,
                XattrMode::Replace => 2,
            });
        }
        O::Fallocate {
            handle,
            offset,
            length,
            mode,
            ..
        } => {
            r.handle = Some(*handle as f64);
            r.offset = Some(*offset as f64);
            r.length = Some(*length as f64);
            r.mode = Some(*mode as u32);
        }
        O::Lseek {
            handle,
            offset,
            whence,
            ..
        } => {
            r.handle = Some(*handle as f64);
            r.offset = Some(*offset as f64);
            r.whence = Some(*whence);
        }
        O::CopyFileRange {
            from_handle,
            from_offset,
            to_path,
            to_handle,
            to_offset,
            length,
            ..
        } => {
            r.handle = Some(*from_handle as f64);
            r.offset = Some(*from_offset as f64);
            r.other = Some(to_path.clone());
            r.to_handle = Some(*to_handle as f64);
            r.to_offset = Some(*to_offset as f64);
            r.length = Some(*length as f64);
        }
    }
    r
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
        let names = vec!["a".to_owned(), "b".to_owned()];
        let plain = entries(names.clone(), &[0, 1], None).unwrap();
        assert_eq!(plain[1].kind, FileKind::Directory);
        assert!(plain[0].stat.is_none());
        let mut stats = packed(0.0, 5.0, 420.0);
        stats.extend(packed(f64::NAN, 0.0, 0.0));
        let mixed = entries(names.clone(), &[0, 1], Some(&stats)).unwrap();
        assert_eq!(mixed[0].stat.as_ref().map(|s| s.size), Some(5));
        assert!(mixed[1].stat.is_none());
        assert!(entries(names, &[0], None).is_err());
    }

    #[test]
    fn unknown_kinds_are_refused() {
        assert_eq!(kind(1), Ok(FileKind::Directory));
        assert!(kind(7).is_err());
    }
}
