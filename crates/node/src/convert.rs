//! JavaScript shapes of requests and replies, and their checked conversions to core types.
//! The TypeScript side already normalises handler results; these checks are the last line
//! that keeps malformed values away from the kernel.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::fs::{File, OpenOptions};
use std::sync::Arc;

use mountkit_core::windows::filetime::{system_time_from_filetime, MAX_FILETIME};
use mountkit_core::{
    Backing, Bytes, DirEntry, Errno, FsResult, OpenFlags, Opened, Operation, Reply, RequestContext,
    Stat, StatFs,
};
use napi::bindgen_prelude::Float64Array;
use napi_derive::napi;

use crate::bridge::{Pending, RequestId};
use crate::wire::{
    self, file_kind, AttributeBit, OpenHint, OpenedField, OperationCode, ReplyTag, RequestField,
    StatField, STAT_FIELDS,
};

/// How replies of each tag are read: the numbers a numbers-only reply record carries after
/// its request id and tag (see `wire::ReplyTag`) become a reply.
impl ReplyTag {
    fn width(self) -> usize {
        match self {
            ReplyTag::Empty => 0,
            ReplyTag::Stat => STAT_FIELDS,
            ReplyTag::Opened => OpenedField::ALL.len() + STAT_FIELDS,
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
                let hints = whole(numbers[OpenedField::Hints.at()], "open hints")?;
                let hint = |bit: u32| hints & u64::from(bit) != 0;
                Reply::Opened(Opened {
                    handle: whole(numbers[OpenedField::Handle.at()], "handle")?,
                    direct_io: hint(OpenHint::DIRECT_IO),
                    keep_cache: hint(OpenHint::KEEP_CACHE),
                    nonseekable: hint(OpenHint::NON_SEEKABLE),
                    stat: packed_stat(&numbers[OpenedField::ALL.len()..])?,
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
pub(crate) fn reply_record(records: &[f64]) -> Result<(RequestId, ReplyTag, &[f64]), String> {
    let [id, tag, rest @ ..] = records else {
        return Err("a reply record needs an id and a tag".to_owned());
    };
    let tag =
        wire::from_code(ReplyTag::ALL, *tag).ok_or_else(|| format!("unknown reply tag {tag}"))?;
    let numbers = rest
        .get(..tag.width())
        .ok_or_else(|| format!("a {tag:?} reply record is cut short"))?;
    Ok((whole(*id, "request id")?, tag, numbers))
}

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

/// A JavaScript number that must be a whole, non-negative, exactly representable integer.
pub(crate) fn whole(value: f64, field: &str) -> Result<u64, String> {
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
pub(crate) fn millis(time: SystemTime) -> f64 {
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

/// Decodes one packed stat (`STAT_FIELDS` numbers, see `wire::StatField`). `None` for an
/// entry without a stat.
pub(crate) fn packed_stat(p: &[f64]) -> Result<Option<Stat>, String> {
    if p.len() != STAT_FIELDS {
        return Err(format!(
            "a packed stat has {STAT_FIELDS} numbers, got {}",
            p.len()
        ));
    }
    let at = |field: StatField| p[field.at()];
    if at(StatField::Kind).is_nan() {
        return Ok(None);
    }
    let u32_field = |field: StatField, name: &str| {
        self::field(at(field), name, u64::from(u32::MAX)).map(|n| n as u32)
    };
    let mode = u32_field(StatField::Mode, "mode")?;
    if mode > 0o7777 {
        return Err(format!("mode must hold permission bits only, got {mode:o}"));
    }
    let attributes = u32_field(StatField::Attributes, "attributes")?;
    let blocks = at(StatField::Blocks);
    Ok(Some(Stat {
        kind: file_kind(u32_field(StatField::Kind, "kind")?)?,
        size: whole(at(StatField::Size), "size")?,
        mode,
        uid: u32_field(StatField::Uid, "uid")?,
        gid: u32_field(StatField::Gid, "gid")?,
        nlink: u32_field(StatField::Nlink, "nlink")?,
        ino: whole(at(StatField::Ino), "ino")?,
        rdev: u32_field(StatField::Rdev, "rdev")?,
        blocks: if blocks < 0.0 {
            None
        } else {
            Some(whole(blocks, "blocks")?)
        },
        atime: time(at(StatField::Atime), "atime")?,
        mtime: time(at(StatField::Mtime), "mtime")?,
        ctime: time(at(StatField::Ctime), "ctime")?,
        birthtime: time(at(StatField::Birthtime), "birthtime")?,
        windows: AttributeBit::unpack(attributes),
    }))
}

/// Decodes a listing: the names joined by NUL (a character no name can hold), one kind code
/// per name, and optionally one packed stat per name. One string crosses from JavaScript
/// instead of one per entry.
pub(crate) fn entries(
    names: &str,
    kinds: &[u8],
    stats: Option<&[f64]>,
) -> Result<Vec<DirEntry>, String> {
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
            kind: file_kind(u32::from(code))?,
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
pub(crate) fn opened(o: &NativeOpened, flags: OpenFlags) -> Result<Opened, String> {
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

pub(crate) fn statfs(f: &NativeStatFs) -> Result<StatFs, String> {
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

pub(crate) fn errno_name(errno: Errno) -> String {
    errno
        .name()
        .map_or_else(|| format!("E{}", errno.raw()), str::to_owned)
}

/// Where a drained request's bulk bytes went (see `wire::DataPlace`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataPlace {
    None,
    /// Next on the drain's payload list.
    Payload,
    /// In write-pool slot `n`.
    Slot(u32),
}

/// What a drained request says besides its operation's own fields.
pub(crate) struct RequestHead {
    pub id: RequestId,
    pub code: OperationCode,
    pub context: RequestContext,
    /// JavaScript follows the operation with a getattr of its path (`RequestField::ThenStat`).
    pub then_stat: bool,
}

/// Writes one parked request for JavaScript: `REQUEST_FIELDS` numbers into `numbers` (see
/// `wire::RequestField`), its path (and second string, if it has one) onto `strings`, each
/// followed by a NUL. Its bulk bytes move out of the parked request to `place`, which says
/// where it put them.
pub(crate) fn write_request(
    head: RequestHead,
    operation: &mut Operation,
    numbers: &mut [f64],
    strings: &mut String,
    place: impl FnOnce(Bytes) -> DataPlace,
) {
    let RequestHead {
        id,
        code,
        context: cx,
        then_stat,
    } = head;
    let (fields, args) = numbers.split_at_mut(RequestField::ALL.len());
    let encoded = wire::encode(operation, args, strings);
    let length = encoded.data.as_ref().map_or(0, Bytes::len);
    let (place, slot, length) = match encoded.data.map_or(DataPlace::None, place) {
        DataPlace::None => (wire::DataPlace::None, f64::NAN, f64::NAN),
        DataPlace::Payload => (wire::DataPlace::Payload, f64::NAN, f64::NAN),
        DataPlace::Slot(slot) => (wire::DataPlace::Slot, f64::from(slot), length as f64),
    };
    let mut set = |field: RequestField, value: f64| fields[field.at()] = value;
    set(RequestField::Id, id as f64);
    set(RequestField::Operation, code as usize as f64);
    set(RequestField::Strings, encoded.strings as f64);
    set(RequestField::DataPlace, place.at() as f64);
    set(RequestField::Uid, f64::from(cx.uid));
    set(RequestField::Gid, f64::from(cx.gid));
    set(RequestField::Pid, f64::from(cx.pid));
    set(RequestField::Slot, slot);
    set(RequestField::SlotLength, length);
    set(RequestField::ThenStat, if then_stat { 1.0 } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{REQUEST_ARGS, REQUEST_FIELDS};
    use mountkit_core::FileKind;

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
        let mut p = vec![0.0; STAT_FIELDS];
        p[StatField::Kind.at()] = kind;
        p[StatField::Size.at()] = size;
        p[StatField::Mode.at()] = mode;
        p[StatField::Nlink.at()] = 1.0;
        p[StatField::Blocks.at()] = -1.0;
        p[StatField::Attributes.at()] = f64::from(AttributeBit::HIDDEN | AttributeBit::READONLY);
        p
    }

    fn code(tag: ReplyTag) -> f64 {
        tag.at() as f64
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
        let mut records = vec![7.0, code(ReplyTag::Stat)];
        records.extend(packed(0.0, 5.0, 420.0));
        records.extend([8.0, code(ReplyTag::Empty), 9.0, code(ReplyTag::Error), 2.0]);
        let (id, tag, numbers) = reply_record(&records).unwrap();
        assert_eq!((id, tag, numbers.len()), (7, ReplyTag::Stat, STAT_FIELDS));
        let rest = &records[2 + STAT_FIELDS..];
        let (id, tag, numbers) = reply_record(rest).unwrap();
        assert_eq!((id, tag, numbers), (8, ReplyTag::Empty, &[][..]));
        let (id, tag, numbers) = reply_record(&rest[2..]).unwrap();
        assert_eq!((id, tag, numbers), (9, ReplyTag::Error, &[2.0][..]));
        assert!(reply_record(&[1.0]).is_err(), "no tag");
        assert!(
            reply_record(&[1.0, code(ReplyTag::Stat), 0.0]).is_err(),
            "stat cut short"
        );
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
        let hints = OpenHint::DIRECT_IO | OpenHint::NON_SEEKABLE;
        let mut opened = vec![7.0, f64::from(hints)];
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
        let field = |numbers: &[f64], field: RequestField| numbers[field.at()];
        let place = |place: wire::DataPlace| place.at() as f64;
        let args = RequestField::ALL.len();
        let mut pooled = write(b"abc");
        let mut placed = Bytes::new();
        let code = OperationCode::Write;
        write_request(
            RequestHead {
                id: 9,
                code,
                context: cx,
                then_stat: false,
            },
            &mut pooled,
            &mut numbers,
            &mut strings,
            |bytes| {
                placed = bytes;
                DataPlace::Slot(5)
            },
        );
        assert_eq!(field(&numbers, RequestField::Id), 9.0);
        assert_eq!(
            field(&numbers, RequestField::Operation),
            code as usize as f64
        );
        assert_eq!(field(&numbers, RequestField::Strings), 1.0);
        assert_eq!(
            field(&numbers, RequestField::DataPlace),
            place(wire::DataPlace::Slot)
        );
        assert_eq!(field(&numbers, RequestField::Uid), 1000.0);
        assert_eq!(field(&numbers, RequestField::Gid), 100.0);
        assert_eq!(field(&numbers, RequestField::Pid), 42.0);
        assert_eq!(field(&numbers, RequestField::Slot), 5.0);
        assert_eq!(field(&numbers, RequestField::SlotLength), 3.0, "3 bytes");
        assert_eq!(numbers[args..args + 2], [3.0, 4096.0], "handle, offset");
        assert!(numbers[args + 2].is_nan(), "a write has no third number");
        assert_eq!(&placed[..], b"abc");
        assert!(
            matches!(pooled, Operation::Write { ref data, .. } if data.is_empty()),
            "the bytes moved out of the parked request"
        );
        let mut copied = write(b"de");
        write_request(
            RequestHead {
                id: 10,
                code,
                context: cx,
                then_stat: false,
            },
            &mut copied,
            &mut numbers,
            &mut strings,
            |_| DataPlace::Payload,
        );
        assert_eq!(
            field(&numbers, RequestField::DataPlace),
            place(wire::DataPlace::Payload)
        );
        assert!(field(&numbers, RequestField::Slot).is_nan(), "no slot");
        assert!(field(&numbers, RequestField::SlotLength).is_nan());
        let mut rename = Operation::Rename {
            from: "/a".into(),
            to: "/b".into(),
            mode: mountkit_core::RenameMode::Exchange,
        };
        let code = OperationCode::Rename;
        write_request(
            RequestHead {
                id: 11,
                code,
                context: cx,
                then_stat: false,
            },
            &mut rename,
            &mut numbers,
            &mut strings,
            |_| panic!("a rename has no bulk bytes"),
        );
        assert_eq!(field(&numbers, RequestField::Strings), 2.0);
        assert_eq!(
            field(&numbers, RequestField::DataPlace),
            place(wire::DataPlace::None)
        );
        assert_eq!(numbers[args], 2.0, "RENAME_EXCHANGE");
        assert_eq!(strings, "/f\0/f\0/a\0/b\0");
        assert_eq!(field(&numbers, RequestField::ThenStat), 0.0);
        let mut mkdir = Operation::Mkdir {
            path: "/d".into(),
            mode: 0o755,
        };
        write_request(
            RequestHead {
                id: 12,
                code: OperationCode::Mkdir,
                context: cx,
                then_stat: true,
            },
            &mut mkdir,
            &mut numbers,
            &mut strings,
            |_| panic!("a mkdir has no bulk bytes"),
        );
        assert_eq!(field(&numbers, RequestField::ThenStat), 1.0);
    }

    #[test]
    fn absent_optional_numbers_are_nan() {
        let mut numbers = [0.0; REQUEST_ARGS];
        let mut strings = String::new();
        let mut getattr = Operation::Getattr {
            path: "/".into(),
            handle: None,
        };
        wire::encode(&mut getattr, &mut numbers, &mut strings);
        assert!(numbers.iter().all(|n| n.is_nan()));
        let mut chown = Operation::Chown {
            path: "/".into(),
            uid: Some(5),
            gid: None,
        };
        wire::encode(&mut chown, &mut numbers, &mut strings);
        assert_eq!(numbers[0], 5.0);
        assert!(numbers[1].is_nan());
    }
}
