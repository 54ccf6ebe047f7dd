//! Deleting, renaming and case-insensitive lookups against the fake.

use super::*;

#[test]
fn delete_file_marks_and_cleanup_deletes() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", DELETE | SYNCHRONIZE);
    assert_eq!(m.fs.set_delete(&CALL, context, true), Ok(()));
    assert!(m.fake.exists("/f"), "DeleteFile only checks");
    m.fs.cleanup(&CALL, context);
    assert!(!m.fake.exists("/f"));
    m.fs.close(&CALL, context);
}

#[test]
fn a_cancelled_deletion_keeps_the_file() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", DELETE | SYNCHRONIZE);
    m.fs.set_delete(&CALL, context, true).unwrap();
    m.fs.set_delete(&CALL, context, false).unwrap();
    m.finish(context);
    assert!(m.fake.exists("/f"));
    assert!(!m.fake.names().contains(&"unlink"));
}

#[test]
fn a_delete_waits_for_the_last_handle_of_the_file() {
    let m = mount();
    m.fake.file("/f", b"still readable");
    let keep = m.open("\\f", GENERIC_READ);
    let deleting = m.open("\\f", DELETE | SYNCHRONIZE);
    m.fs.set_delete(&CALL, deleting, true).unwrap();
    // Dokan flags this cleanup with DOKAN_FILE_INFO.DeleteOnClose, since this handle set the
    // disposition; the file must stay while `keep` is open.
    m.finish(deleting);
    assert!(m.fake.exists("/f"), "another handle is still open");
    assert_eq!(
        m.create("\\f", FILE_OPEN, 0, GENERIC_READ).status,
        STATUS_DELETE_PENDING
    );
    let mut buffer = [0u8; 32];
    assert_eq!(m.fs.read(&CALL, keep, &mut buffer, 0), Ok(14));
    assert_eq!(&buffer[..14], b"still readable");
    m.finish(keep);
    assert!(!m.fake.exists("/f"), "gone with the last handle");
    assert_eq!(
        m.create("\\f", FILE_OPEN, 0, GENERIC_READ).status,
        STATUS_OBJECT_NAME_NOT_FOUND
    );
}

#[test]
fn delete_checks_refuse_what_cannot_be_deleted() {
    let m = mount();
    m.fake.dir("/d");
    m.fake.file("/d/x", b"");
    m.fake.file("/ro", b"");
    m.fake.tree.lock().get_mut("/ro").unwrap().mode = 0o444;
    let dir = m
        .create("\\d", FILE_OPEN, FILE_DIRECTORY_FILE, DELETE)
        .context;
    assert_eq!(
        m.fs.set_delete(&CALL, dir, true),
        Err(NtError(STATUS_DIRECTORY_NOT_EMPTY))
    );
    m.finish(dir);
    assert!(m.fake.exists("/d"));
    let ro = m.open("\\ro", DELETE);
    assert_eq!(
        m.fs.set_delete(&CALL, ro, true),
        Err(NtError(STATUS_CANNOT_DELETE))
    );
    m.finish(ro);
    assert!(m.fake.exists("/ro"));
    let root = m.open("\\", FILE_LIST_DIRECTORY);
    assert_eq!(
        m.fs.set_delete(&CALL, root, true),
        Err(NtError(STATUS_CANNOT_DELETE))
    );
    m.finish(root);
    assert!(m.fake.open.lock().is_empty());
}

#[test]
fn move_without_replace_refuses_an_existing_target() {
    let m = mount();
    m.fake.file("/a", b"a");
    m.fake.file("/b", b"b");
    let context = m.open("\\a", DELETE);
    m.fake.take_log();
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\b"), false),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION))
    );
    assert!(!m.fake.names().contains(&"rename"));
    assert_eq!(m.fs.move_file(&CALL, context, &wide("\\c"), false), Ok(()));
    let log = m.fake.take_log();
    assert_eq!(
        log.last(),
        Some(&Operation::Rename {
            from: "/a".into(),
            to: "/c".into(),
            mode: RenameMode::NoReplace
        })
    );
    assert!(m.fake.exists("/c") && !m.fake.exists("/a"));
    assert_eq!(m.fs.get_file_information(&CALL, context).unwrap().size, 1);
    assert_eq!(
        m.fake.take_log(),
        [Operation::Getattr {
            path: "/c".into(),
            handle: None
        }],
        "later requests use the new path"
    );
    m.finish(context);
}

#[test]
fn a_directory_the_filesystem_cannot_move_without_replacing_is_moved_once_checked() {
    let m = mount();
    *m.fake.no_replace_files_only.lock() = true;
    m.fake.dir("/src");
    m.fake.file("/src/inner", b"deep");
    m.fake.dir("/dst");
    let context = m.open("\\src", DELETE);
    m.fake.take_log();
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\moved"), false),
        Ok(())
    );
    let renames: Vec<RenameMode> = m
        .fake
        .take_log()
        .into_iter()
        .filter_map(|op| match op {
            Operation::Rename { mode, .. } => Some(mode),
            _ => None,
        })
        .collect();
    assert_eq!(renames, [RenameMode::NoReplace, RenameMode::Replace]);
    assert_eq!(m.fake.data("/moved/inner"), b"deep");
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\dst"), false),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION)),
        "an existing target is still refused"
    );
    m.finish(context);
}

#[test]
fn move_with_replace_replaces_closed_files_only() {
    let m = mount();
    m.fake.file("/a", b"new");
    m.fake.file("/b", b"old");
    m.fake.dir("/d");
    let context = m.open("\\a", DELETE);
    let target = m.open("\\b", GENERIC_READ);
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\b"), true),
        Err(NtError(STATUS_ACCESS_DENIED)),
        "the target is open"
    );
    m.finish(target);
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\d"), true),
        Err(NtError(STATUS_ACCESS_DENIED)),
        "a directory is never replaced"
    );
    m.fake.take_log();
    assert_eq!(m.fs.move_file(&CALL, context, &wide("\\b"), true), Ok(()));
    assert_eq!(
        m.fake.take_log().last(),
        Some(&Operation::Rename {
            from: "/a".into(),
            to: "/b".into(),
            mode: RenameMode::Replace
        })
    );
    assert_eq!(m.fake.data("/b"), b"new");
    m.finish(context);
}

#[test]
fn moving_a_directory_moves_the_opens_inside() {
    let m = mount();
    m.fake.dir("/d");
    m.fake.file("/d/f", b"x");
    let dir = m
        .create("\\d", FILE_OPEN, FILE_DIRECTORY_FILE, DELETE)
        .context;
    let file = m.open("\\d\\f", GENERIC_READ);
    assert_eq!(m.fs.move_file(&CALL, dir, &wide("\\e"), false), Ok(()));
    m.fake.take_log();
    let mut buffer = [0u8; 1];
    assert_eq!(m.fs.read(&CALL, file, &mut buffer, 0), Ok(1));
    let Operation::Read { path, .. } = &m.fake.take_log()[0] else {
        panic!()
    };
    assert_eq!(path, "/e/f");
    m.finish(file);
    m.finish(dir);
    assert!(m.fake.open.lock().is_empty());
}

#[test]
fn a_case_only_rename_renames() {
    let m = mount();
    m.fake.file("/readme", b"");
    let context = m.open("\\readme", DELETE);
    m.fake.take_log();
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\README"), false),
        Ok(())
    );
    assert_eq!(
        m.fake.take_log().last(),
        Some(&Operation::Rename {
            from: "/readme".into(),
            to: "/README".into(),
            mode: RenameMode::Replace
        })
    );
    assert!(m.fake.exists("/README"));
    m.finish(context);
}

#[test]
fn case_insensitive_lookups_find_the_real_spelling() {
    let m = mount();
    m.fake.dir("/Dir");
    m.fake.file("/Dir/File.txt", b"x");
    let context = m.open("\\dir\\FILE.TXT", GENERIC_READ);
    let log = m.fake.take_log();
    assert_eq!(
        log.iter().map(Operation::name).collect::<Vec<_>>(),
        [
            "getattr",
            "opendir",
            "getattr",
            "opendir",
            "readdir",
            "releasedir",
            "opendir",
            "readdir",
            "releasedir",
            "open"
        ],
        "each missing component is found in its directory's listing, whose metadata spares a getattr"
    );
    assert_eq!(
        log.last(),
        Some(&Operation::Open {
            path: "/Dir/File.txt".into(),
            flags: OpenFlags(OpenFlags::READ_ONLY)
        })
    );
    m.finish(context);
    let outcome = m.create("\\DIR\\new.txt", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_SUCCESS);
    assert!(m.fake.exists("/Dir/new.txt"));
    m.finish(outcome.context);
    assert_eq!(
        m.create("\\dir\\FILE.TXT", FILE_CREATE, 0, GENERIC_WRITE)
            .status,
        STATUS_OBJECT_NAME_COLLISION,
        "no second file differing only in case"
    );
    m.fake.fail("readdir", Errno::ENOSYS);
    let outcome = m.create("\\Dir\\other.txt", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(
        outcome.status, STATUS_SUCCESS,
        "a directory that cannot be listed does not stop creation"
    );
    m.finish(outcome.context);
    let sensitive = mount_with(WindowsOptions {
        case_insensitive: false,
        ..Default::default()
    });
    sensitive.fake.dir("/Dir");
    let outcome = sensitive.create("\\DIR\\x", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_OBJECT_PATH_NOT_FOUND);
}

#[test]
fn a_name_stored_in_several_cases_is_found_as_spelled() {
    let m = mount();
    m.fake.dir("/Dir");
    m.fake.file("/Dir/README", b"");
    m.fake.file("/Dir/readme", b"");
    let context = m.open("\\DIR\\readme", GENERIC_READ);
    assert_eq!(
        m.fake.take_log().last(),
        Some(&Operation::Open {
            path: "/Dir/readme".into(),
            flags: OpenFlags(OpenFlags::READ_ONLY)
        }),
        "the exact spelling, not the first listed"
    );
    m.finish(context);
}
