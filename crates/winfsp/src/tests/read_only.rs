//! A read-only volume: WinFsp's driver passes every request on, so the engine refuses changes.

use mountkit_core::windows::create::{
    DELETE, FILE_APPEND_DATA, FILE_CREATE, FILE_DELETE_ON_CLOSE, FILE_DIRECTORY_FILE, FILE_OPEN,
    FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF, FILE_READ_DATA, FILE_SUPERSEDE,
    FILE_WRITE_ATTRIBUTES, GENERIC_ALL, GENERIC_READ, GENERIC_WRITE, MAXIMUM_ALLOWED,
};
use mountkit_core::windows::ntstatus::NtError;
use mountkit_core::windows::ntstatus::{
    STATUS_MEDIA_WRITE_PROTECTED, STATUS_OBJECT_NAME_COLLISION,
};
use mountkit_core::{Bytes, OpenFlags, Operation};

use super::{cx, wide, Harness, READ_WRITE};

const PROTECTED: Result<(), NtError> = Err(NtError(STATUS_MEDIA_WRITE_PROTECTED));

#[test]
fn opens_that_would_change_the_volume_are_refused() {
    let mut h = Harness::read_only();
    h.fs.file("/f", b"data");
    for (path, disposition, options) in [
        ("/new", FILE_CREATE, 0),
        ("/new", FILE_OPEN_IF, 0),
        ("/new", FILE_OVERWRITE_IF, 0),
        ("/new", FILE_SUPERSEDE, 0),
        ("/dir", FILE_CREATE, FILE_DIRECTORY_FILE),
        ("/f", FILE_OVERWRITE, 0),
        ("/f", FILE_OVERWRITE_IF, 0),
        ("/f", FILE_SUPERSEDE, 0),
        ("/f", FILE_OPEN, FILE_DELETE_ON_CLOSE),
    ] {
        assert_eq!(
            h.create_file(path, disposition, options, READ_WRITE | DELETE)
                .map(|_| ()),
            PROTECTED,
            "{path}, disposition {disposition}, options {options:#x}"
        );
    }
    assert_eq!(
        h.create_file("/f", FILE_CREATE, 0, READ_WRITE).map(|_| ()),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION)),
        "a name that exists collides first"
    );
    assert!(!h.fs.exists("/new") && !h.fs.exists("/dir"));
    assert_eq!(h.fs.data("/f").unwrap(), b"data");
    let names = h.fs.take_names();
    assert!(
        !names
            .iter()
            .any(|name| ["create", "mkdir", "truncate"].contains(name)),
        "{names:?}"
    );
}

#[test]
fn opens_succeed_and_changes_through_them_are_refused() {
    let mut h = Harness::read_only();
    h.fs.dir("/d");
    h.fs.file("/f", b"data");
    let root = h.open("/", GENERIC_READ).unwrap();
    h.close(root, false);
    for access in [READ_WRITE | DELETE | FILE_WRITE_ATTRIBUTES, MAXIMUM_ALLOWED] {
        let id = h.open("/f", access).unwrap();
        let engine = &h.engine;
        assert_eq!(engine.overwrite(cx(), id, 0, false).map(|_| ()), PROTECTED);
        let (sender, receiver) = std::sync::mpsc::channel();
        engine.write(
            cx(),
            id,
            Bytes::from_static(b"x"),
            0,
            false,
            false,
            move |result| {
                sender.send(result.map(|_| ())).unwrap();
            },
        );
        assert_eq!(receiver.recv().unwrap(), PROTECTED);
        assert_eq!(
            engine
                .write_backing(id, b"x", 0, false, false)
                .map(|r| r.map(|_| ())),
            Some(PROTECTED)
        );
        assert_eq!(
            engine.set_basic_info(cx(), id, 0, 0, 0).map(|_| ()),
            PROTECTED
        );
        assert_eq!(
            engine.set_file_size(cx(), id, 0, false).map(|_| ()),
            PROTECTED
        );
        assert_eq!(
            engine.set_file_size(cx(), id, 0, true).map(|_| ()),
            PROTECTED
        );
        assert_eq!(engine.can_delete(cx(), id), PROTECTED);
        assert_eq!(engine.set_delete(cx(), id, true), PROTECTED);
        assert_eq!(engine.set_delete(cx(), id, false), PROTECTED);
        assert_eq!(engine.rename(cx(), id, &wide("/g"), false), PROTECTED);
        h.close(id, false);
    }
    assert_eq!(
        h.engine.set_volume_label(cx(), &wide("new")).map(|_| ()),
        PROTECTED
    );
    assert_eq!(h.engine.set_security(), PROTECTED);
    assert_eq!(h.fs.data("/f").unwrap(), b"data");
    assert!(h.fs.exists("/d") && !h.fs.exists("/g"));
    assert_eq!(h.fs.open_handles(), 0);
}

#[test]
fn opens_ask_the_handler_for_read_access_only() {
    let mut h = Harness::read_only();
    h.fs.file("/f", b"data");
    for access in [
        GENERIC_WRITE,
        READ_WRITE,
        FILE_APPEND_DATA,
        FILE_READ_DATA | FILE_APPEND_DATA,
        GENERIC_ALL,
        MAXIMUM_ALLOWED,
    ] {
        h.fs.take_log();
        let id = h.open("/f", access).unwrap();
        let opened: Vec<OpenFlags> =
            h.fs.take_log()
                .into_iter()
                .filter_map(|operation| match operation {
                    Operation::Open { flags, .. } => Some(flags),
                    _ => None,
                })
                .collect();
        assert_eq!(
            opened,
            [OpenFlags(OpenFlags::READ_ONLY)],
            "access {access:#x}"
        );
        h.close(id, false);
    }
}
