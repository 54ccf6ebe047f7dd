//! File information, attributes, times and sizes against the fake.

use super::*;
use mountkit_core::windows::security::{
    posix_sddl, Source, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION,
    LABEL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
};

/// A program's change of the DACL reaches `set_security` merged into the whole descriptor; a
/// file created in the directory then gets its inheritable ACE, stored the same way.
#[test]
fn changes_are_merged_and_new_files_inherit() {
    let m = mount_with(WindowsOptions {
        persistent_acls: true,
        ..WindowsOptions::default()
    });
    m.fake.dir("/d");
    let dir = m.open("\\d", GENERIC_READ);
    let (user, group) = (&principals().user, &principals().group);
    let dacl = "D:(A;OICI;FA;;;WD)";
    let same = |merged: &str, current: &str| merged == current;
    assert_eq!(
        m.fs.set_file_security(&CALL, dir, DACL_SECURITY_INFORMATION, dacl, same),
        Ok(())
    );
    let stored = |path: &str| m.fake.security.lock().get(path).cloned();
    assert_eq!(stored("/d"), Some(format!("O:{user}G:{group}{dacl}")));
    assert_eq!(
        m.fs.set_file_security(
            &CALL,
            dir,
            LABEL_SECURITY_INFORMATION,
            "S:(ML;;NW;;;LW)",
            same
        ),
        Err(NtError(STATUS_NOT_SUPPORTED)),
        "a mandatory label cannot be kept"
    );
    assert_eq!(
        stored("/d"),
        Some(format!("O:{user}G:{group}{dacl}")),
        "nothing of the refused change is stored"
    );
    assert_eq!(
        m.fs.file_security(&CALL, dir, DACL_SECURITY_INFORMATION),
        Ok((dacl.to_owned(), Source::Handler))
    );
    let file = m.create("\\d\\f", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(file.status, STATUS_SUCCESS);
    assert_eq!(
        stored("/d/f"),
        Some(format!("O:{user}G:{group}D:AI(A;ID;FA;;;WD)"))
    );
    m.fake.fail("set_security", Errno::ENOSYS);
    assert_eq!(
        m.fs.set_file_security(
            &CALL,
            dir,
            DACL_SECURITY_INFORMATION,
            "D:(A;;FR;;;WD)",
            same
        ),
        Err(NtError(STATUS_NOT_SUPPORTED)),
        "without a set_security handler, a change of get_security's descriptor would be lost"
    );
    assert_eq!(
        m.fs.set_file_security(&CALL, dir, DACL_SECURITY_INFORMATION, dacl, same),
        Ok(()),
        "a change to what the file has loses nothing"
    );
    assert_eq!(
        stored("/d"),
        Some(format!("O:{user}G:{group}{dacl}")),
        "and nothing changed"
    );
    m.finish(file.context);
    m.finish(dir);
}

/// Without persistent ACLs a new file's descriptor stays derived: nothing is stored.
#[test]
fn new_files_store_nothing_without_persistent_acls() {
    let m = mount();
    m.fake.dir("/d");
    m.fake
        .security
        .lock()
        .insert("/d".into(), "O:SYG:SYD:(A;OICI;FA;;;WD)".into());
    let file = m.create("\\d\\f", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(file.status, STATUS_SUCCESS);
    assert_eq!(m.fake.security.lock().get("/d/f"), None);
    m.finish(file.context);
}

/// The descriptor follows the file's current ownership and mode, restricted to the parts
/// asked for: uid and gid 0 are the mounting user and group.
#[test]
fn file_security_follows_the_mode() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_READ);
    let (user, group) = (&principals().user, &principals().group);
    let all = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    assert_eq!(
        m.fs.file_security(&CALL, context, all),
        Ok((posix_sddl(user, group, 0o644, false), Source::Derived))
    );
    assert_eq!(
        m.fs.file_security(&CALL, context, OWNER_SECURITY_INFORMATION),
        Ok((format!("O:{user}"), Source::Derived))
    );
    assert_eq!(
        m.fs.set_file_attributes(&CALL, context, FILE_ATTRIBUTE_READONLY),
        Ok(())
    );
    let (dacl, _) =
        m.fs.file_security(&CALL, context, DACL_SECURITY_INFORMATION)
            .unwrap();
    let expected = posix_sddl(user, group, 0o444, false);
    assert_eq!(dacl, expected[expected.find("D:").unwrap()..]);
}

#[test]
fn set_end_of_file_truncates_through_the_handle() {
    let m = mount();
    m.fake.file("/f", b"hello");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    assert_eq!(m.fs.set_end_of_file(&CALL, context, 2), Ok(()));
    let log = m.fake.take_log();
    let Operation::Truncate { path, size, handle } = &log[0] else {
        panic!("{log:?}")
    };
    assert_eq!((path.as_str(), *size), ("/f", 2));
    assert!(handle.is_some());
    assert_eq!(m.fake.data("/f"), b"he");
    assert_eq!(m.fs.set_end_of_file(&CALL, context, 4), Ok(()));
    assert_eq!(m.fake.data("/f"), b"he\0\0");
    assert_eq!(
        m.fs.set_end_of_file(&CALL, context, -1),
        Err(NtError(STATUS_INVALID_PARAMETER))
    );
    m.finish(context);
}

#[test]
fn set_allocation_size_only_shrinks() {
    let m = mount();
    m.fake.file("/f", b"hello");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    assert_eq!(m.fs.set_allocation_size(&CALL, context, 4096), Ok(()));
    assert_eq!(m.fake.names(), ["getattr"]);
    assert_eq!(m.fs.set_allocation_size(&CALL, context, 3), Ok(()));
    assert_eq!(m.fake.names(), ["getattr", "truncate"]);
    assert_eq!(m.fake.data("/f"), b"hel");
    m.finish(context);
}

#[test]
fn set_file_time_leaves_zero_and_minus_one_alone() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    for times in [
        FileTimes::default(),
        FileTimes {
            creation: Some(0),
            ..FileTimes::default()
        },
        FileTimes {
            last_access: Some(0),
            last_write: Some(u64::MAX),
            ..FileTimes::default()
        },
        FileTimes {
            last_access: Some(u64::MAX - 1),
            last_write: Some(0),
            ..FileTimes::default()
        },
    ] {
        assert_eq!(m.fs.set_file_time(&CALL, context, &times), Ok(()));
        assert!(m.fake.take_log().is_empty(), "{times:?} changes nothing");
    }
    let one_second = UNIX_EPOCH_FILETIME + 10_000_000;
    let times = FileTimes {
        last_access: Some(0),
        last_write: Some(one_second),
        ..FileTimes::default()
    };
    assert_eq!(m.fs.set_file_time(&CALL, context, &times), Ok(()));
    assert_eq!(
        m.fake.take_log(),
        [Operation::Utimens {
            path: "/f".into(),
            atime: None,
            mtime: Some(SetTime::At(SystemTime::UNIX_EPOCH + Duration::from_secs(1)))
        }]
    );
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.last_write_time, one_second);
    m.finish(context);
}

#[test]
fn set_file_attributes_maps_readonly_to_the_mode() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_WRITE);
    assert_eq!(
        m.fs.set_file_attributes(&CALL, context, FILE_ATTRIBUTE_READONLY),
        Ok(())
    );
    assert_eq!(m.fake.tree.lock()["/f"].mode, 0o444);
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.attributes, FILE_ATTRIBUTE_READONLY);
    assert_eq!(
        m.fs.set_file_attributes(&CALL, context, FILE_ATTRIBUTE_NORMAL),
        Ok(())
    );
    assert_eq!(m.fake.tree.lock()["/f"].mode, 0o644);
    m.fake.take_log();
    assert_eq!(
        m.fs.set_file_attributes(
            &CALL,
            context,
            FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_ARCHIVE
        ),
        Ok(())
    );
    assert_eq!(
        m.fake.names(),
        ["getattr", "set_attributes"],
        "nothing to change in the mode"
    );
    m.finish(context);
}

#[test]
fn set_file_attributes_stores_every_flag() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_WRITE);
    let flags = FILE_ATTRIBUTE_HIDDEN
        | FILE_ATTRIBUTE_SYSTEM
        | FILE_ATTRIBUTE_ARCHIVE
        | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED
        | FILE_ATTRIBUTE_OFFLINE;
    assert_eq!(
        m.fs.set_file_attributes(&CALL, context, flags | FILE_ATTRIBUTE_TEMPORARY),
        Ok(())
    );
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.attributes, flags, "storage bits are ignored");
    m.fake.take_log();
    assert_eq!(m.fs.set_file_attributes(&CALL, context, flags), Ok(()));
    assert_eq!(m.fake.names(), ["getattr"], "already as asked");
    assert_eq!(
        m.fs.set_file_attributes(&CALL, context, FILE_ATTRIBUTE_NORMAL),
        Ok(())
    );
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.attributes, FILE_ATTRIBUTE_NORMAL);
    // Without the handler the call succeeds, and the file keeps what it reports.
    m.fake.fail("set_attributes", Errno::ENOSYS);
    assert_eq!(
        m.fs.set_file_attributes(&CALL, context, FILE_ATTRIBUTE_HIDDEN),
        Ok(())
    );
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.attributes, FILE_ATTRIBUTE_NORMAL);
    m.fake.fail("set_attributes", Errno::EACCES);
    assert!(m
        .fs
        .set_file_attributes(&CALL, context, FILE_ATTRIBUTE_HIDDEN)
        .is_err());
    m.finish(context);
}

#[test]
fn set_file_time_sets_the_creation_time() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    let one_day = UNIX_EPOCH_FILETIME + 864_000_000_000;
    let times = FileTimes {
        creation: Some(one_day),
        ..FileTimes::default()
    };
    assert_eq!(m.fs.set_file_time(&CALL, context, &times), Ok(()));
    assert_eq!(
        m.fake.take_log(),
        [Operation::SetAttributes {
            path: "/f".into(),
            attributes: None,
            birthtime: Some(SetTime::At(
                SystemTime::UNIX_EPOCH + Duration::from_secs(86_400)
            )),
        }]
    );
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.creation_time, one_day);
    m.fake.fail("set_attributes", Errno::ENOSYS);
    let times = FileTimes {
        creation: Some(UNIX_EPOCH_FILETIME + 1),
        ..FileTimes::default()
    };
    assert_eq!(m.fs.set_file_time(&CALL, context, &times), Ok(()));
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.creation_time, one_day, "kept without the handler");
    m.finish(context);
}

#[test]
fn creations_store_the_attributes_asked_for() {
    let m = mount();
    let asked = FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED;
    let outcome = m.create_with("\\h.txt", FILE_CREATE, 0, GENERIC_WRITE, asked);
    assert_eq!(outcome.status, STATUS_SUCCESS);
    let info = m.fs.get_file_information(&CALL, outcome.context).unwrap();
    assert_eq!(info.attributes, asked);
    m.finish(outcome.context);
    let outcome = m.create_with(
        "\\d",
        FILE_CREATE,
        FILE_DIRECTORY_FILE,
        FILE_LIST_DIRECTORY,
        FILE_ATTRIBUTE_SYSTEM,
    );
    assert_eq!(outcome.status, STATUS_SUCCESS);
    let info = m.fs.get_file_information(&CALL, outcome.context).unwrap();
    assert_eq!(
        info.attributes,
        FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_SYSTEM
    );
    m.finish(outcome.context);
    m.fake.take_log();
    let outcome = m.create_with(
        "\\n.txt",
        FILE_CREATE,
        0,
        GENERIC_WRITE,
        FILE_ATTRIBUTE_NORMAL,
    );
    assert!(
        !m.fake.names().contains(&"set_attributes"),
        "a plain create"
    );
    m.finish(outcome.context);
    // A refused attribute fails the create and releases what it opened.
    m.fake.fail("set_attributes", Errno::EACCES);
    let outcome = m.create_with(
        "\\r.txt",
        FILE_CREATE,
        0,
        GENERIC_WRITE,
        FILE_ATTRIBUTE_HIDDEN,
    );
    assert_ne!(outcome.status, STATUS_SUCCESS);
    assert!(m.fake.names().contains(&"release"));
}

#[test]
fn file_information_is_translated() {
    let m = mount();
    m.fake.file("/f", b"12345");
    m.fake.dir("/d");
    let file = m.open("\\f", GENERIC_READ);
    let info = m.fs.get_file_information(&CALL, file).unwrap();
    let ino = m.fake.tree.lock()["/f"].ino;
    assert_eq!(info.size, 5);
    assert_eq!(info.index, ino);
    assert_eq!(info.links, 1);
    assert_eq!(info.attributes, FILE_ATTRIBUTE_NORMAL);
    assert_eq!(info.volume_serial, m.fs.volume().serial);
    assert_eq!(info.last_write_time, UNIX_EPOCH_FILETIME);
    m.finish(file);
    m.fake.tree.lock().get_mut("/d").unwrap().ino = 0;
    let dir = m.open("\\d", FILE_LIST_DIRECTORY);
    let info = m.fs.get_file_information(&CALL, dir).unwrap();
    assert_eq!(info.attributes, FILE_ATTRIBUTE_DIRECTORY);
    assert_eq!(info.size, 0);
    assert_ne!(
        info.index, 0,
        "a missing ino is replaced by a hash of the path"
    );
    m.finish(dir);
}

#[test]
fn symlinks_are_shown_as_plain_files() {
    let link = Stat::new(FileKind::Symlink);
    assert_eq!(attributes(&link), FILE_ATTRIBUTE_NORMAL);
    let hidden = Stat {
        windows: mountkit_core::WindowsAttributes {
            hidden: true,
            ..Default::default()
        },
        ..link
    };
    assert_eq!(attributes(&hidden), FILE_ATTRIBUTE_HIDDEN);
}
