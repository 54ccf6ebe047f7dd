//! Symbolic links as reparse points: reading, making and refusing them, what they report, and
//! where WinFsp is told to resolve them.

use mountkit_core::windows::attributes::{
    FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_REPARSE_POINT,
    IO_REPARSE_TAG_SYMLINK,
};
use mountkit_core::windows::create::{FILE_DIRECTORY_FILE, FILE_OPEN_REPARSE_POINT};
use mountkit_core::windows::ntstatus::{
    STATUS_ACCESS_DENIED, STATUS_IO_REPARSE_DATA_INVALID, STATUS_MEDIA_WRITE_PROTECTED,
    STATUS_NOT_A_REPARSE_POINT, STATUS_OBJECT_NAME_NOT_FOUND,
};
use mountkit_core::windows::{windows_target, SymlinkData};
use mountkit_core::{FileKind, Operation};

use super::{cx, wide, Harness, READ_WRITE};
use crate::engine::NtError;

/// CreateSymbolicLinkW's first step: the file (or directory) that will become the link.
fn placeholder(h: &mut Harness, path: &str, directory: bool) -> u64 {
    let options = FILE_OPEN_REPARSE_POINT | if directory { FILE_DIRECTORY_FILE } else { 0 };
    h.create_file(
        path,
        mountkit_core::windows::create::FILE_CREATE,
        options,
        READ_WRITE,
    )
    .unwrap()
    .0
}

fn data(substitute: &str, relative: bool) -> Vec<u8> {
    SymlinkData {
        substitute_name: substitute.encode_utf16().collect(),
        print_name: substitute.encode_utf16().collect(),
        relative,
    }
    .to_reparse_buffer()
}

#[test]
fn a_link_made_by_windows_replaces_its_placeholder_with_symlink() {
    let mut h = Harness::new();
    h.fs.file("/f.txt", b"alpha");
    let id = placeholder(&mut h, "/link", false);
    h.fs.take_log();
    h.engine
        .set_reparse_point(cx(), id, &data("f.txt", true))
        .unwrap();
    let log = h.fs.take_log();
    assert!(
        matches!(&log[1], Operation::Unlink { path } if path == "/link"),
        "{log:?}"
    );
    assert!(
        matches!(&log[2], Operation::Symlink { target, path } if target == "f.txt" && path == "/link"),
        "{log:?}"
    );
    assert_eq!(h.fs.stat("/link").unwrap().kind, FileKind::Symlink);
    assert_eq!(
        h.engine.get_reparse_point(cx(), id),
        Ok(windows_target("f.txt", "M:").to_reparse_buffer())
    );
    h.close(id, false);
    assert_eq!(h.fs.data("/f.txt").unwrap(), b"alpha");
}

#[test]
fn directory_placeholders_are_removed_with_rmdir() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    let id = placeholder(&mut h, "/dlink", true);
    h.fs.take_log();
    h.engine
        .set_reparse_point(cx(), id, &data("\\??\\m:\\d", false))
        .unwrap();
    let log = h.fs.take_log();
    assert!(
        matches!(&log[1], Operation::Rmdir { path } if path == "/dlink"),
        "{log:?}"
    );
    assert!(
        matches!(&log[2], Operation::Symlink { target, .. } if target == "/d"),
        "{log:?}"
    );
    h.close(id, false);
}

#[test]
fn targets_off_the_volume_and_bad_data_are_refused_and_keep_the_placeholder() {
    let mut h = Harness::new();
    let id = placeholder(&mut h, "/link", false);
    for (data, status) in [
        (data("\\??\\N:\\elsewhere", false), STATUS_ACCESS_DENIED),
        (data("C:\\relative-looking", false), STATUS_ACCESS_DENIED),
        (vec![0x0C, 0, 0, 0xA0, 4, 0], STATUS_IO_REPARSE_DATA_INVALID),
    ] {
        assert_eq!(
            h.engine.set_reparse_point(cx(), id, &data),
            Err(NtError(status))
        );
        assert_eq!(h.fs.stat("/link").unwrap().kind, FileKind::File);
    }
    assert_eq!(
        h.engine.delete_reparse_point(cx(), id),
        Err(NtError(STATUS_ACCESS_DENIED))
    );
    h.close(id, false);

    let mut read_only = Harness::read_only();
    read_only.fs.file("/f", b"");
    let id = read_only.open("/f", 0).unwrap();
    assert_eq!(
        read_only
            .engine
            .set_reparse_point(cx(), id, &data("x", true)),
        Err(NtError(STATUS_MEDIA_WRITE_PROTECTED))
    );
}

#[test]
fn only_links_have_reparse_data() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    h.fs.symlink("/Link", "/f");
    let id = h.open("/f", 0).unwrap();
    assert_eq!(
        h.engine.get_reparse_point(cx(), id),
        Err(NtError(STATUS_NOT_A_REPARSE_POINT))
    );
    assert_eq!(
        h.engine.reparse_point_by_name(cx(), &wide("/f")),
        Err(NtError(STATUS_NOT_A_REPARSE_POINT))
    );
    assert_eq!(
        h.engine.reparse_point_by_name(cx(), &wide("/missing")),
        Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND))
    );
    // Found without regard to case, as WinFsp's resolver may spell it.
    assert_eq!(
        h.engine.reparse_point_by_name(cx(), &wide("/LINK")),
        Ok(windows_target("/f", "M:").to_reparse_buffer())
    );
}

#[test]
fn links_report_the_reparse_attribute_tag_and_their_targets_kind() {
    let mut h = Harness::with(false);
    h.fs.dir("/d");
    h.fs.file("/d/f", b"");
    h.fs.symlink("/d/flink", "f");
    h.fs.symlink("/dlink", "d");
    h.fs.symlink("/abs", "/d");
    h.fs.symlink("/chain", "dlink");
    h.fs.symlink("/dangling", "nothing");
    h.fs.symlink("/loop", "loop");
    let kinds = [
        ("/d/flink", false),
        ("/dlink", true),
        ("/abs", true),
        ("/chain", true),
        ("/dangling", false),
        ("/loop", false),
    ];
    for (path, directory) in kinds {
        let (attributes, _, _) = h.engine.security_by_name(cx(), &wide(path), None).unwrap();
        let expected = FILE_ATTRIBUTE_REPARSE_POINT
            | if directory {
                FILE_ATTRIBUTE_DIRECTORY
            } else {
                0
            };
        assert_eq!(attributes, expected, "{path}");
    }
    let root = h.open("/", READ_WRITE).unwrap();
    let page = h.read_dir(root, None, None, 65536).unwrap();
    for (path, directory) in kinds.iter().filter(|(path, _)| path.rfind('/') == Some(0)) {
        let (_, info) = page
            .entries
            .iter()
            .find(|(name, _)| *name == path[1..])
            .unwrap();
        assert_eq!(info.reparse_tag, IO_REPARSE_TAG_SYMLINK, "{path}");
        assert_eq!(
            info.file_attributes & FILE_ATTRIBUTE_DIRECTORY != 0,
            *directory,
            "{path}"
        );
    }
    let (_, d) = page.entries.iter().find(|(name, _)| name == "d").unwrap();
    assert_eq!(
        (d.file_attributes, d.reparse_tag),
        (FILE_ATTRIBUTE_DIRECTORY, 0)
    );
    h.close(root, false);
}

#[test]
fn a_link_on_the_way_is_found_for_winfsp_to_resolve() {
    let h = Harness::new();
    h.fs.dir("/d");
    h.fs.file("/d/f", b"");
    h.fs.symlink("/d/dlink", "..");
    h.fs.symlink("/top", "d");
    assert_eq!(h.engine.reparse_on_the_way(cx(), &wide("/top/f")), Some(1));
    assert_eq!(
        h.engine.reparse_on_the_way(cx(), &wide("/d/dlink/d/f")),
        Some(3)
    );
    assert_eq!(
        h.engine.reparse_on_the_way(cx(), &wide("/d/missing/f")),
        None
    );
    assert_eq!(h.engine.reparse_on_the_way(cx(), &wide("/d/f/g")), None);
    assert_eq!(h.engine.reparse_on_the_way(cx(), &wide("/top")), None);
}

#[test]
fn a_directory_link_opens_as_the_directory_removal_asks() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    h.fs.symlink("/dlink", "d");
    let (id, info) = h
        .create_file(
            "/dlink",
            mountkit_core::windows::create::FILE_OPEN,
            FILE_OPEN_REPARSE_POINT | FILE_DIRECTORY_FILE,
            0x0001_0000,
        )
        .unwrap();
    assert_eq!(
        info.file_attributes,
        FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY
    );
    h.engine.set_delete(cx(), id, true).unwrap();
    h.close(id, true);
    assert!(!h.fs.exists("/dlink"));
    assert!(h.fs.exists("/d"));
}

#[test]
fn absolute_targets_follow_the_letter_winfsp_took_for_a_star_mount_point() {
    let h = Harness::new();
    h.fs.file("/f", b"");
    h.fs.symlink("/link", "/f");
    h.engine.mounted_at("Y:".to_owned());
    assert_eq!(
        h.engine.reparse_point_by_name(cx(), &wide("/link")),
        Ok(windows_target("/f", "Y:").to_reparse_buffer())
    );
    let made = SymlinkData {
        substitute_name: wide("\\??\\Y:\\f"),
        print_name: wide("Y:\\f"),
        relative: false,
    };
    assert_eq!(
        mountkit_core::windows::posix_target(&made, h.engine.mount_point()),
        Ok("/f".to_owned())
    );
}

#[test]
fn a_link_keeps_the_descriptor_its_placeholder_got_at_its_create() {
    let mut h = Harness::storing_security();
    h.fs.dir("/d");
    h.fs.file("/d/f", b"");
    h.fs.secure("/d", "O:BAG:BAD:(A;OICI;FA;;;WD)");
    let id = placeholder(&mut h, "/d/link", false);
    let inherited = h.fs.security("/d/link");
    assert!(inherited.is_some(), "the placeholder inherits from /d");
    h.engine
        .set_reparse_point(cx(), id, &data("f", true))
        .unwrap();
    assert_eq!(h.fs.stat("/d/link").unwrap().kind, FileKind::Symlink);
    assert_eq!(h.fs.security("/d/link"), inherited);
    h.close(id, false);
}

#[test]
fn a_file_that_holds_data_is_not_replaced_by_a_link() {
    let mut h = Harness::new();
    h.fs.file("/full", b"keep me");
    let id = h.open("/full", READ_WRITE).unwrap();
    h.fs.take_log();
    assert_eq!(
        h.engine.set_reparse_point(cx(), id, &data("x", true)),
        Err(NtError(STATUS_ACCESS_DENIED))
    );
    assert_eq!(h.fs.data("/full").unwrap(), b"keep me");
    assert!(
        h.fs.take_log()
            .iter()
            .all(|operation| !matches!(operation, Operation::Unlink { .. })),
        "nothing was removed"
    );
    h.close(id, false);
}

#[test]
fn a_directory_link_stays_one_after_its_attributes_change() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    h.fs.symlink("/dlink", "d");
    let (id, _) = h
        .create_file(
            "/dlink",
            mountkit_core::windows::create::FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            READ_WRITE,
        )
        .unwrap();
    let info = h
        .engine
        .set_basic_info(cx(), id, FILE_ATTRIBUTE_HIDDEN, 0, 0, 0)
        .unwrap();
    assert_eq!(
        info.file_attributes,
        FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_HIDDEN
    );
    h.close(id, false);
}

#[test]
fn a_share_on_a_drive_letter_takes_absolute_targets_through_either_name() {
    let mut h = Harness::on_lettered_share();
    h.fs.file("/f", b"");
    for (link, target) in [
        ("/by-letter", "\\??\\q:\\f"),
        ("/by-share", "\\??\\UNC\\Files\\team\\f"),
    ] {
        let id = placeholder(&mut h, link, false);
        h.engine
            .set_reparse_point(cx(), id, &data(target, false))
            .unwrap();
        assert_eq!(h.fs.data(link).unwrap(), b"/f", "{target}");
        h.close(id, false);
    }
    let id = placeholder(&mut h, "/elsewhere", false);
    assert_eq!(
        h.engine
            .set_reparse_point(cx(), id, &data("\\??\\UNC\\files\\other\\f", false)),
        Err(NtError(STATUS_ACCESS_DENIED))
    );
    h.close(id, false);
}
