//! SetBasicInfo and SetFileSize: attributes, times and sizes.

use std::time::{Duration, SystemTime};

use mountkit_core::windows::attributes::{
    FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_NORMAL,
    FILE_ATTRIBUTE_NOT_CONTENT_INDEXED, FILE_ATTRIBUTE_OFFLINE, FILE_ATTRIBUTE_READONLY,
    FILE_ATTRIBUTE_SYSTEM, FILE_ATTRIBUTE_TEMPORARY, INVALID_FILE_ATTRIBUTES,
};
use mountkit_core::windows::create::GENERIC_WRITE;
use mountkit_core::windows::filetime_from_system_time;
use mountkit_core::{Errno, Operation, SetTime, WindowsAttributes};

use super::{cx, Harness};

#[test]
fn basic_info_sets_read_only_and_times() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    h.fs.take_log();
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let filetime = filetime_from_system_time(when);
    let info = h
        .engine
        .set_basic_info(cx(), id, FILE_ATTRIBUTE_READONLY, 0, 0, filetime)
        .unwrap();
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_READONLY);
    assert_eq!(info.last_write_time, filetime);
    let log = h.fs.take_log();
    assert!(
        matches!(&log[1], Operation::Chmod { mode: 0o444, .. }),
        "{log:?}"
    );
    assert!(
        matches!(&log[2], Operation::SetAttributes { attributes: Some(a), birthtime: None, .. } if a.readonly && !a.hidden),
        "{log:?}"
    );
    assert!(
        matches!(&log[3], Operation::Utimens { atime: None, mtime: Some(SetTime::At(t)), .. } if *t == when),
        "{log:?}"
    );
    // Nothing to change asks nothing but the current metadata.
    h.engine
        .set_basic_info(cx(), id, INVALID_FILE_ATTRIBUTES, 0, 0, 0)
        .unwrap();
    assert_eq!(h.fs.take_names(), ["getattr"]);
}

#[test]
fn basic_info_stores_every_flag_and_the_creation_time() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    let flags = FILE_ATTRIBUTE_HIDDEN
        | FILE_ATTRIBUTE_SYSTEM
        | FILE_ATTRIBUTE_ARCHIVE
        | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED
        | FILE_ATTRIBUTE_OFFLINE;
    let born = filetime_from_system_time(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400));
    h.fs.take_log();
    // Bits that say what the file is, or how Windows stores it, are ignored, as by NTFS.
    let info = h
        .engine
        .set_basic_info(
            cx(),
            id,
            flags | FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_TEMPORARY,
            born,
            0,
            0,
        )
        .unwrap();
    assert_eq!(info.file_attributes, flags);
    assert_eq!(info.creation_time, born);
    assert_eq!(
        h.fs.take_names(),
        ["getattr", "set_attributes", "getattr"],
        "flags and creation time travel in one request"
    );
    // A caller's FILE_ATTRIBUTE_NORMAL (0 from the driver) clears them all again.
    let info = h.engine.set_basic_info(cx(), id, 0, 0, 0, 0).unwrap();
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_NORMAL);
    assert_eq!(
        h.fs.stat("/f").unwrap().windows,
        WindowsAttributes::default()
    );
    // Flags already as asked send nothing.
    h.fs.take_log();
    h.engine.set_basic_info(cx(), id, 0, 0, 0, 0).unwrap();
    assert_eq!(h.fs.take_names(), ["getattr"]);
}

#[test]
fn without_a_set_attributes_handler_only_read_only_is_kept() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    h.fs.fail("set_attributes", Errno::ENOSYS);
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    let born = filetime_from_system_time(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400));
    // Hidden and the creation time cannot be stored; the answer tells the truth.
    let info = h
        .engine
        .set_basic_info(cx(), id, FILE_ATTRIBUTE_HIDDEN, born, 0, 0)
        .unwrap();
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_NORMAL);
    assert_ne!(info.creation_time, born);
    let info = h
        .engine
        .set_basic_info(
            cx(),
            id,
            FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_HIDDEN,
            0,
            0,
            0,
        )
        .unwrap();
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_READONLY);
    assert_eq!(h.fs.stat("/f").unwrap().mode, 0o444);
}

#[test]
fn other_set_attributes_failures_fail_the_request() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    h.fs.fail("set_attributes", Errno::EACCES);
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    assert!(h
        .engine
        .set_basic_info(cx(), id, FILE_ATTRIBUTE_HIDDEN, 0, 0, 0)
        .is_err());
}

#[test]
fn normal_attributes_clear_read_only() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    h.fs.edit("/f", |stat| stat.mode = 0o444);
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    // WinFsp's driver passes a caller's FILE_ATTRIBUTE_NORMAL on as 0.
    let info = h.engine.set_basic_info(cx(), id, 0, 0, 0, 0).unwrap();
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_NORMAL);
    assert_eq!(h.fs.stat("/f").unwrap().mode, 0o644);
}

#[test]
fn file_sizes_and_allocation_sizes() {
    let mut h = Harness::new();
    h.fs.file("/f", b"0123456789");
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    assert_eq!(
        h.engine
            .set_file_size(cx(), id, 20, false)
            .unwrap()
            .file_size,
        20
    );
    assert_eq!(h.fs.data("/f").unwrap().len(), 20);
    h.fs.take_log();
    let info = h.engine.set_file_size(cx(), id, 8192, true).unwrap();
    assert_eq!((info.file_size, info.allocation_size), (20, 4096));
    assert_eq!(
        h.fs.take_names(),
        ["getattr"],
        "a larger allocation reserves nothing"
    );
    let info = h.engine.set_file_size(cx(), id, 4, true).unwrap();
    assert_eq!(info.file_size, 4, "a smaller allocation cuts the file");
    assert_eq!(h.fs.data("/f").unwrap(), b"0123");
}
