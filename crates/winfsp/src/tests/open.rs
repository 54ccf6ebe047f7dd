//! Create, Open, Overwrite, Cleanup and Close: a handle's life, deletion at cleanup included.

use mountkit_core::windows::attributes::{
    FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_OFFLINE,
    FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_SYSTEM,
};
use mountkit_core::windows::create::{
    DELETE, FILE_CREATE, FILE_DELETE_ON_CLOSE, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE,
    FILE_OPEN, FILE_OVERWRITE, FILE_OVERWRITE_IF, FILE_READ_ATTRIBUTES, FILE_SUPERSEDE,
    GENERIC_READ, GENERIC_WRITE, SYNCHRONIZE,
};
use mountkit_core::windows::ntstatus::{
    NtError, STATUS_ACCESS_DENIED, STATUS_CANNOT_DELETE, STATUS_DIRECTORY_NOT_EMPTY,
    STATUS_FILE_IS_A_DIRECTORY, STATUS_INVALID_HANDLE, STATUS_NOT_A_DIRECTORY,
    STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_INVALID, STATUS_OBJECT_NAME_NOT_FOUND,
};
use mountkit_core::{Errno, FileKind, OpenFlags, Operation};

use super::{after_miss, cx, wide, Harness, MISS, READ_WRITE};

#[test]
fn file_create_on_an_existing_name_collides() {
    let mut h = Harness::new();
    h.fs.file("/a.txt", b"old");
    h.fs.take_log();
    assert_eq!(
        h.create_file("/a.txt", FILE_CREATE, 0, READ_WRITE),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION))
    );
    assert_eq!(
        h.fs.take_names(),
        ["getattr"],
        "no create reached the handler"
    );
    assert_eq!(h.fs.data("/a.txt").unwrap(), b"old");
}

#[test]
fn creating_a_file_opens_it_exclusively() {
    let mut h = Harness::new();
    let (id, info) = h
        .create_file("/new.txt", FILE_CREATE, 0, READ_WRITE)
        .unwrap();
    let log = h.fs.take_log();
    let Operation::Create { path, mode, flags } = &log[MISS.len()] else {
        panic!("{log:?}");
    };
    assert_eq!(path, "/new.txt");
    assert_eq!(*mode, 0o644);
    assert_eq!(
        flags.0,
        OpenFlags::READ_WRITE | OpenFlags::CREATE | OpenFlags::EXCLUSIVE
    );
    let names: Vec<_> = log.iter().map(Operation::name).collect();
    assert_eq!(names, after_miss(&["create", "getattr"]));
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_NORMAL);
    assert_eq!(info.index_number, h.fs.stat("/new.txt").unwrap().ino);
    h.close(id, false);
    assert_eq!(h.fs.take_names(), ["flush", "release"]);
    assert_eq!(h.fs.open_handles(), 0);
}

#[test]
fn a_create_that_answers_with_the_stat_is_not_followed_by_a_getattr() {
    let mut h = Harness::new();
    h.fs.create_stats(true);
    let (id, info) = h
        .create_file("/new.txt", FILE_CREATE, 0, READ_WRITE)
        .unwrap();
    assert_eq!(h.fs.take_names(), after_miss(&["create"]));
    assert_eq!(info.index_number, h.fs.stat("/new.txt").unwrap().ino);
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_NORMAL);
    h.close(id, false);
    assert_eq!(h.fs.open_handles(), 0);
}

#[test]
fn read_only_creations_drop_write_permission() {
    let h = Harness::new();
    let name = wide("/ro.txt");
    let info = h
        .engine
        .create(
            cx(),
            &name,
            FILE_CREATE << 24,
            READ_WRITE,
            FILE_ATTRIBUTE_READONLY,
            None,
            None,
        )
        .unwrap()
        .info;
    assert_eq!(h.fs.stat("/ro.txt").unwrap().mode, 0o444);
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_READONLY);
}

#[test]
fn creations_store_the_attributes_asked_for() {
    let h = Harness::new();
    h.fs.create_stats(true);
    let asked = FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_OFFLINE;
    let info = h
        .engine
        .create(
            cx(),
            &wide("/h.txt"),
            FILE_CREATE << 24,
            READ_WRITE,
            asked,
            None,
            None,
        )
        .unwrap()
        .info;
    assert_eq!(
        info.file_attributes, asked,
        "the answer is read after storing"
    );
    assert!(h.fs.stat("/h.txt").unwrap().windows.offline);
    let info = h
        .engine
        .create(
            cx(),
            &wide("/d"),
            (FILE_CREATE << 24) | FILE_DIRECTORY_FILE,
            READ_WRITE,
            FILE_ATTRIBUTE_HIDDEN,
            None,
            None,
        )
        .unwrap()
        .info;
    assert_eq!(
        info.file_attributes,
        FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_HIDDEN
    );
    // A plain create sends nothing more.
    h.fs.take_log();
    h.engine
        .create(
            cx(),
            &wide("/n.txt"),
            FILE_CREATE << 24,
            READ_WRITE,
            FILE_ATTRIBUTE_NORMAL,
            None,
            None,
        )
        .unwrap();
    assert!(!h.fs.take_names().contains(&"set_attributes"));
}

#[test]
fn a_refused_creation_attribute_releases_the_new_file() {
    let h = Harness::new();
    h.fs.fail("set_attributes", Errno::EACCES);
    let created = h.engine.create(
        cx(),
        &wide("/h.txt"),
        FILE_CREATE << 24,
        READ_WRITE,
        FILE_ATTRIBUTE_HIDDEN,
        None,
        None,
    );
    assert!(created.is_err());
    assert!(h.fs.take_names().contains(&"release"));
}

#[test]
fn names_windows_cannot_use_are_not_created() {
    let mut h = Harness::new();
    for name in ["/con", "/trailing.", "/a<b"] {
        assert_eq!(
            h.create_file(name, FILE_CREATE, 0, READ_WRITE),
            Err(NtError(STATUS_OBJECT_NAME_INVALID)),
            "{name}"
        );
    }
    assert!(h.fs.take_log().is_empty());
}

#[test]
fn open_if_creates_or_opens() {
    let mut h = Harness::new();
    let first = h.open_if("/f", 0, READ_WRITE).unwrap();
    assert!(h.fs.exists("/f"));
    let second = h.open_if("/f", 0, READ_WRITE).unwrap();
    assert_ne!(first, second);
    let names = h.fs.take_names();
    assert_eq!(
        names.iter().filter(|n| **n == "create").count(),
        1,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| **n == "open").count(),
        1,
        "{names:?}"
    );
}

#[test]
fn the_access_check_lookup_is_reused() {
    let mut h = Harness::new();
    h.fs.file("/f", b"x");
    h.fs.take_log();
    let id = h.open("/f", GENERIC_READ).unwrap();
    assert_eq!(
        h.fs.take_names(),
        ["getattr", "open"],
        "one lookup for the request"
    );
    h.close(id, false);
    // A lookup remembered for another request is not used.
    let name = wide("/f");
    h.engine.security_by_name(cx(), &name, Some(1000)).unwrap();
    h.fs.take_log();
    h.engine
        .open(cx(), &name, FILE_OPEN << 24, GENERIC_READ, Some(1001))
        .unwrap();
    assert_eq!(h.fs.take_names(), ["getattr", "open"]);
}

#[test]
fn missing_files_are_not_found() {
    let mut h = Harness::new();
    assert_eq!(
        h.open("/nope", GENERIC_READ),
        Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND))
    );
    let name = wide("/nope");
    assert_eq!(
        h.engine
            .open(cx(), &name, FILE_OPEN << 24, GENERIC_READ, None)
            .map(|opened| opened.id),
        Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND))
    );
}

#[test]
fn directories_are_made_and_opened() {
    let mut h = Harness::new();
    let (id, info) = h
        .create_file("/d", FILE_CREATE, FILE_DIRECTORY_FILE, GENERIC_READ)
        .unwrap();
    assert_eq!(h.fs.stat("/d").unwrap().kind, FileKind::Directory);
    assert_eq!(h.fs.stat("/d").unwrap().mode, 0o755);
    assert_eq!(info.file_size, 0);
    assert_eq!(
        h.fs.take_names(),
        after_miss(&["mkdir", "opendir", "getattr"])
    );
    h.close(id, false);
    assert_eq!(h.fs.take_names(), ["releasedir"]);
}

#[test]
fn kinds_must_match_the_options() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    h.fs.file("/f", b"");
    assert_eq!(
        h.create_file("/d", FILE_OPEN, FILE_NON_DIRECTORY_FILE, GENERIC_READ),
        Err(NtError(STATUS_FILE_IS_A_DIRECTORY))
    );
    assert_eq!(
        h.create_file("/f", FILE_OPEN, FILE_DIRECTORY_FILE, GENERIC_READ),
        Err(NtError(STATUS_NOT_A_DIRECTORY))
    );
    assert_eq!(
        h.create_file("/d", FILE_OVERWRITE, 0, GENERIC_WRITE),
        Err(NtError(STATUS_FILE_IS_A_DIRECTORY))
    );
    assert_eq!(h.fs.open_handles(), 0);
}

#[test]
fn attribute_only_opens_ask_no_handler() {
    let mut h = Harness::new();
    h.fs.file("/f", b"data");
    h.fs.take_log();
    let id = h.open("/f", FILE_READ_ATTRIBUTES | SYNCHRONIZE).unwrap();
    assert_eq!(h.fs.take_names(), ["getattr"]);
    let info = h.engine.file_info(cx(), id).unwrap();
    assert_eq!(info.file_size, 4);
    assert_eq!(h.read(id, 0, 4), Err(NtError(STATUS_INVALID_HANDLE)));
    h.close(id, false);
    assert_eq!(h.fs.take_names(), ["getattr"], "nothing to release");
}

#[test]
fn handler_errors_become_statuses() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    h.fs.fail("open", Errno::EACCES);
    assert_eq!(
        h.open("/f", GENERIC_READ),
        Err(NtError(STATUS_ACCESS_DENIED))
    );
    h.fs.fail("getattr", Errno::EIO);
    assert_eq!(
        h.open("/f", GENERIC_READ),
        Err(NtError(
            mountkit_core::windows::ntstatus::STATUS_IO_DEVICE_ERROR
        ))
    );
}

#[test]
fn overwrite_truncates_through_the_handle() {
    let mut h = Harness::new();
    h.fs.file("/f", b"0123456789");
    h.fs.take_log();
    let (id, info) = h
        .create_file("/f", FILE_OVERWRITE_IF, 0, GENERIC_WRITE)
        .unwrap();
    assert_eq!(info.file_size, 0);
    assert_eq!(h.fs.data("/f").unwrap(), b"");
    let log = h.fs.take_log();
    let open = log.iter().find(|op| op.name() == "open").unwrap();
    let Operation::Open { flags, .. } = open else {
        unreachable!()
    };
    assert_eq!(
        flags.0 & OpenFlags::TRUNCATE,
        0,
        "Overwrite truncates, not open"
    );
    assert!(matches!(
        log.iter().find(|op| op.name() == "truncate"),
        Some(Operation::Truncate {
            size: 0,
            handle: Some(_),
            ..
        })
    ));
    h.close(id, false);
}

#[test]
fn overwrite_applies_the_read_only_attribute() {
    let mut h = Harness::new();
    h.fs.file("/f", b"abc");
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    let info = h
        .engine
        .overwrite(cx(), id, FILE_ATTRIBUTE_READONLY, true)
        .unwrap();
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_READONLY);
    assert_eq!(h.fs.stat("/f").unwrap().mode, 0o444);
    // Replacing with nothing clears read-only again; merging keeps it.
    h.engine.overwrite(cx(), id, 0, false).unwrap();
    assert_eq!(h.fs.stat("/f").unwrap().mode, 0o444);
    let info = h.engine.overwrite(cx(), id, 0, true).unwrap();
    assert_eq!(info.file_attributes, FILE_ATTRIBUTE_NORMAL);
    assert_eq!(h.fs.stat("/f").unwrap().mode, 0o644);
}

#[test]
fn supersede_of_a_file_that_appeared_truncates_in_create() {
    let h = Harness::new();
    h.fs.file("/raced", b"content");
    h.fs.take_log();
    let name = wide("/raced");
    // WinFsp's lookup missed the file, so it calls Create; the file exists by then.
    let info = h
        .engine
        .create(
            cx(),
            &name,
            FILE_SUPERSEDE << 24,
            GENERIC_WRITE,
            0,
            None,
            None,
        )
        .unwrap()
        .info;
    assert_eq!(info.file_size, 0);
    assert_eq!(
        h.fs.take_names(),
        ["getattr", "open", "truncate", "getattr"]
    );
}

#[test]
fn delete_on_close_removes_the_file_at_cleanup() {
    let mut h = Harness::new();
    h.fs.file("/tmp.txt", b"x");
    let id = h
        .create_file(
            "/tmp.txt",
            FILE_OPEN,
            FILE_DELETE_ON_CLOSE,
            GENERIC_READ | DELETE,
        )
        .unwrap()
        .0;
    h.fs.take_log();
    h.engine.cleanup(cx(), id, super::CLEANUP_DELETE);
    assert!(!h.fs.exists("/tmp.txt"));
    assert_eq!(
        h.fs.take_names(),
        ["unlink", "release"],
        "released right after the unlink"
    );
    h.engine.close(cx(), id);
    assert!(
        h.fs.take_log().is_empty(),
        "nothing left to release at close"
    );
    assert_eq!(h.fs.open_handles(), 0);
}

#[test]
fn delete_on_close_is_refused_for_read_only_files_and_full_directories() {
    let mut h = Harness::new();
    h.fs.file("/ro", b"");
    h.fs.edit("/ro", |stat| stat.mode = 0o444);
    assert_eq!(
        h.create_file(
            "/ro",
            FILE_OPEN,
            FILE_DELETE_ON_CLOSE,
            GENERIC_READ | DELETE
        ),
        Err(NtError(STATUS_CANNOT_DELETE))
    );
    h.fs.dir("/full");
    h.fs.file("/full/x", b"");
    assert_eq!(
        h.create_file("/full", FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE),
        Err(NtError(STATUS_DIRECTORY_NOT_EMPTY))
    );
    assert_eq!(
        h.fs.open_handles(),
        0,
        "refused opens gave their handles back"
    );
    h.fs.dir("/empty");
    let id = h
        .create_file("/empty", FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE)
        .unwrap()
        .0;
    h.close(id, true);
    assert!(!h.fs.exists("/empty"));
}

#[test]
fn directories_are_removed_with_rmdir() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    let id = h.open("/d", DELETE).unwrap();
    h.engine.set_delete(cx(), id, true).unwrap();
    h.fs.take_log();
    h.close(id, true);
    assert_eq!(
        h.fs.take_names(),
        ["rmdir"],
        "an attributes-only handle has nothing to release"
    );
    assert!(!h.fs.exists("/d"));
}

#[test]
fn a_refused_removal_keeps_the_handle_until_close() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    let id = h.open("/f", GENERIC_READ | DELETE).unwrap();
    h.engine.set_delete(cx(), id, true).unwrap();
    h.fs.fail("unlink", Errno::EBUSY);
    h.fs.take_log();
    h.engine.cleanup(cx(), id, super::CLEANUP_DELETE);
    assert_eq!(h.fs.take_names(), ["unlink"]);
    h.engine.close(cx(), id);
    assert_eq!(h.fs.take_names(), ["flush", "release"]);
    assert!(h.fs.exists("/f"));
}

#[test]
fn unknown_handles_are_invalid() {
    let h = Harness::new();
    assert_eq!(
        h.engine.file_info(cx(), 999),
        Err(NtError(STATUS_INVALID_HANDLE))
    );
    assert_eq!(h.read(999, 0, 1), Err(NtError(STATUS_INVALID_HANDLE)));
    h.engine.cleanup(cx(), 999, super::CLEANUP_DELETE);
    h.engine.close(cx(), 999);
    assert!(h.fs.take_log().is_empty());
}

#[test]
fn unmounting_releases_what_is_still_open() {
    let mut h = Harness::new();
    h.fs.file("/a", b"");
    h.fs.dir("/d");
    let a = h.open("/a", GENERIC_READ).unwrap();
    let _d = h.open("/d", GENERIC_READ).unwrap();
    let _attributes = h.open("/a", FILE_READ_ATTRIBUTES).unwrap();
    h.engine.cleanup(cx(), a, 0);
    h.engine.shut_down();
    h.fs.take_log();
    assert_eq!(h.engine.release_all(), 3);
    let mut names = h.fs.take_names();
    names.sort_unstable();
    assert_eq!(names, ["release", "releasedir"]);
    assert_eq!(h.fs.open_handles(), 0);
    assert_eq!(h.engine.release_all(), 0, "nothing twice");
}

#[test]
fn create_dispositions_of_existing_files() {
    let mut h = Harness::new();
    h.fs.file("/f", b"keep");
    let (id, _) = h.create_file("/f", FILE_OPEN, 0, GENERIC_READ).unwrap();
    h.close(id, false);
    assert_eq!(h.fs.data("/f").unwrap(), b"keep");
    let (id, info) = h
        .create_file("/f", FILE_SUPERSEDE, 0, GENERIC_WRITE)
        .unwrap();
    assert_eq!(info.file_size, 0);
    h.close(id, false);
}
