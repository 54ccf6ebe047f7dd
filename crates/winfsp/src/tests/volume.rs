//! The volume, and GetSecurityByName.

use mountkit_core::windows::attributes::{FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_READONLY};
use mountkit_core::windows::ntstatus::NtError;
use mountkit_core::windows::ntstatus::{
    STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_INVALID, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_PATH_NOT_FOUND,
};

use super::{cx, wide, Harness};

#[test]
fn volume_info_comes_from_statfs_and_the_label() {
    let h = Harness::new();
    let info = h.engine.volume_info(cx()).unwrap();
    assert_eq!(info.total_size, 1000 * 4096);
    assert_eq!(info.free_size, 500 * 4096);
    assert_eq!(info.volume_label_length, 8);
    assert_eq!(h.fs.take_names(), ["statfs"]);
}

#[test]
fn labels_are_kept_by_the_mount() {
    let h = Harness::new();
    let info = h.engine.set_volume_label(cx(), &wide("Backup")).unwrap();
    assert_eq!(info.volume_label_length, 12);
    assert_eq!(
        h.engine.volume_info(cx()).unwrap().volume_label[..6],
        wide("Backup")[..]
    );
    assert_eq!(
        h.engine.set_volume_label(cx(), &wide(&"x".repeat(33))),
        Err(NtError(STATUS_INVALID_PARAMETER))
    );
    assert_eq!(
        h.engine.set_volume_label(cx(), &[0xD800]),
        Err(NtError(STATUS_INVALID_PARAMETER))
    );
    let mut terminated = wide("Tape");
    terminated.extend([0, 65, 66]);
    let info = h.engine.set_volume_label(cx(), &terminated).unwrap();
    assert_eq!(info.volume_label_length, 8, "read up to the NUL");
}

#[test]
fn lookups_report_attributes() {
    let h = Harness::new();
    h.fs.dir("/d");
    h.fs.file("/ro", b"");
    h.fs.edit("/ro", |stat| stat.mode = 0o400);
    assert_eq!(
        h.engine.security_by_name(cx(), &wide("/d"), None),
        Ok(FILE_ATTRIBUTE_DIRECTORY)
    );
    assert_eq!(
        h.engine.security_by_name(cx(), &wide("/ro"), None),
        Ok(FILE_ATTRIBUTE_READONLY)
    );
    assert_eq!(
        h.engine.security_by_name(cx(), &wide("/missing"), None),
        Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND))
    );
    assert_eq!(
        h.engine.security_by_name(cx(), &wide("/missing/f"), None),
        Err(NtError(STATUS_OBJECT_PATH_NOT_FOUND)),
        "a name in a missing directory"
    );
    assert_eq!(
        h.engine.security_by_name(cx(), &wide("/ro/f"), None),
        Err(NtError(STATUS_OBJECT_PATH_NOT_FOUND)),
        "a name in a file"
    );
    assert_eq!(
        h.engine.security_by_name(cx(), &wide("/f:stream"), None),
        Err(NtError(STATUS_OBJECT_NAME_INVALID))
    );
    assert_eq!(h.engine.security_descriptor(), [1, 2, 3]);
}
