//! The volume, GetSecurityByName, and a read-only volume (WinFsp's driver passes every
//! request on, so the engine refuses changes).

use mountkit_core::windows::attributes::{FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_READONLY};
use mountkit_core::windows::create::{
    DELETE, FILE_APPEND_DATA, FILE_CREATE, FILE_DELETE_ON_CLOSE, FILE_DIRECTORY_FILE, FILE_OPEN,
    FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF, FILE_READ_DATA, FILE_SUPERSEDE,
    FILE_WRITE_ATTRIBUTES, GENERIC_ALL, GENERIC_READ, GENERIC_WRITE, MAXIMUM_ALLOWED,
};
use mountkit_core::windows::ntstatus::{
    NtError, STATUS_INVALID_PARAMETER, STATUS_MEDIA_WRITE_PROTECTED, STATUS_NOT_SUPPORTED,
    STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_INVALID, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_PATH_NOT_FOUND,
};
use mountkit_core::windows::security::{
    FileSecurity, DACL_SECURITY_INFORMATION, SACL_SECURITY_INFORMATION,
};
use mountkit_core::{Bytes, Errno, OpenFlags, Operation, Stat};

use super::{cx, principals, wide, Harness, READ_WRITE};

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
            engine.set_basic_info(cx(), id, 0, 0, 0, 0).map(|_| ()),
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
        assert_eq!(
            engine.set_security(cx(), id, DACL_SECURITY_INFORMATION, "D:(A;;FA;;;WD)"),
            PROTECTED
        );
        h.close(id, false);
    }
    assert_eq!(
        h.engine.set_volume_label(cx(), &wide("new")).map(|_| ()),
        PROTECTED
    );
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
        h.engine
            .security_by_name(cx(), &wide("/d"), None)
            .map(|(attributes, _, _)| attributes),
        Ok(FILE_ATTRIBUTE_DIRECTORY)
    );
    assert_eq!(
        h.engine
            .security_by_name(cx(), &wide("/ro"), None)
            .map(|(attributes, _, _)| attributes),
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
}

/// With a filesystem that stores descriptors, a program's change of the DACL reaches
/// `set_security` merged into the whole descriptor, and a file created through Windows gets
/// its directory's inheritable ACEs after what its creator asked for; an open of an existing
/// file stores nothing.
#[test]
fn changes_are_merged_and_new_files_inherit() {
    let mut h = Harness::storing_security();
    h.fs.dir("/d");
    let dir = h.open("/d", GENERIC_READ).unwrap();
    let (user, group) = (principals().user, principals().group);
    let dacl = "D:(A;OICI;FA;;;WD)";
    assert_eq!(
        h.engine
            .set_security(cx(), dir, DACL_SECURITY_INFORMATION, dacl),
        Ok(())
    );
    assert_eq!(
        h.fs.security("/d"),
        Some(format!("O:{user}G:{group}{dacl}"))
    );
    assert_eq!(
        h.engine.set_security(
            cx(),
            dir,
            DACL_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION,
            "D:(A;;FR;;;WD)S:(AU;SA;FA;;;WD)"
        ),
        Err(NtError(STATUS_NOT_SUPPORTED)),
        "an audit ACE cannot be kept"
    );
    assert_eq!(
        h.fs.security("/d"),
        Some(format!("O:{user}G:{group}{dacl}")),
        "nothing of the refused change is stored"
    );
    let file = h
        .engine
        .create(
            cx(),
            &wide("/d/f"),
            FILE_CREATE << 24,
            READ_WRITE,
            0,
            Some("O:BAD:(A;;FA;;;SY)"),
            None,
        )
        .unwrap()
        .id;
    assert_eq!(
        h.fs.security("/d/f"),
        Some(format!("O:BAG:{group}D:AI(A;;FA;;;SY)(A;ID;FA;;;WD)"))
    );
    let sub = h
        .open_if("/d/sub", FILE_DIRECTORY_FILE, GENERIC_READ)
        .unwrap();
    assert_eq!(
        h.fs.security("/d/sub"),
        Some(format!("O:{user}G:{group}D:AI(A;OICIID;FA;;;WD)"))
    );
    h.fs.secure("/d/f", "O:SYG:SYD:P(A;;FA;;;SY)");
    let again = h.open_if("/d/f", 0, GENERIC_READ).unwrap();
    assert_eq!(
        h.fs.security("/d/f").as_deref(),
        Some("O:SYG:SYD:P(A;;FA;;;SY)"),
        "opening an existing file changes nothing"
    );
    for id in [again, sub, file, dir] {
        h.close(id, false);
    }
}

/// Without persistent ACLs nothing is stored for a new file: its descriptor stays derived.
#[test]
fn new_files_store_nothing_without_persistent_acls() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    h.fs.secure("/d", "O:SYG:SYD:(A;OICI;FA;;;WD)");
    let file = h.open_if("/d/f", 0, READ_WRITE).unwrap();
    assert_eq!(h.fs.security("/d/f"), None);
    h.close(file, false);
}

/// Each file's descriptor is built from the metadata its lookup found, and from its current
/// metadata for an open handle (GetSecurity): ownership and mode as the shared mapping says.
#[test]
fn files_report_descriptors_from_their_ownership_and_mode() {
    let mut h = Harness::new();
    h.fs.file("/mine", b"");
    h.fs.file("/system", b"");
    h.fs.edit("/system", |stat| {
        stat.uid = 18;
        stat.gid = 544;
        stat.mode = 0o640;
    });
    let expected = |stat: &Stat| FileSecurity::Ownership(principals()).sddl(stat);
    for path in ["/mine", "/system"] {
        let (_, found, stat) = h.engine.security_by_name(cx(), &wide(path), None).unwrap();
        assert_eq!(found, path);
        let descriptor = h.engine.descriptor(cx(), &found, &stat).unwrap();
        assert_eq!(
            String::from_utf8(descriptor).unwrap(),
            expected(&stat),
            "{path}"
        );
    }
    let (_, _, system) = h
        .engine
        .security_by_name(cx(), &wide("/system"), None)
        .unwrap();
    assert!(
        expected(&system).starts_with("O:S-1-5-18G:S-1-5-32-544D:P"),
        "{}",
        expected(&system)
    );
    let id = h.open("/system", READ_WRITE).unwrap();
    h.fs.edit("/system", |stat| stat.mode = 0o600);
    let now = h.engine.file_security(cx(), id).unwrap();
    let (_, _, changed) = h
        .engine
        .security_by_name(cx(), &wide("/system"), None)
        .unwrap();
    assert_eq!(String::from_utf8(now).unwrap(), expected(&changed));
    assert_eq!(changed.mode, 0o600);
    h.fs.fail("set_security", Errno::ENOSYS);
    assert_eq!(
        h.engine
            .set_security(cx(), id, DACL_SECURITY_INFORMATION, "D:(A;;FA;;;WD)"),
        Err(NtError(STATUS_NOT_SUPPORTED)),
        "without a set_security handler, a change of the mode's descriptor would be lost"
    );
    let current = expected(&changed);
    let dacl = &current[current.find("D:").unwrap()..];
    assert_eq!(
        h.engine
            .set_security(cx(), id, DACL_SECURITY_INFORMATION, dacl),
        Ok(()),
        "a change to what the file has loses nothing"
    );
    assert_eq!(
        String::from_utf8(h.engine.file_security(cx(), id).unwrap()).unwrap(),
        current,
        "and nothing changed"
    );
    h.close(id, false);
}
