//! ZwCreateFile, Cleanup and CloseFile against the fake: every disposition, when the
//! filesystem is asked for a handle and when it is released, delete-on-close, and requests
//! the dispatcher answers wrongly or never.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Opened the existing object, with this status; truncated or not.
    Opened(i32, bool),
    /// Created a file.
    NewFile,
    /// Created a directory.
    NewDir,
    /// Failed with this status.
    Fails(i32),
}

use Expect::*;

const DISPOSITIONS: [u32; 6] = [0, 1, 2, 3, 4, 5];

/// Runs every disposition with no option, `FILE_DIRECTORY_FILE` and
/// `FILE_NON_DIRECTORY_FILE` against `/x`, prepared by `setup`, and checks `expected`.
fn check_dispositions(setup: fn(&Fake), expected: [[Expect; 3]; 6]) {
    for (disposition, row) in DISPOSITIONS.into_iter().zip(expected) {
        for (options, want) in [0, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE]
            .into_iter()
            .zip(row)
        {
            let m = mount();
            setup(&m.fake);
            let existed = m.fake.exists("/x");
            let outcome = m.create("\\x", disposition, options, GENERIC_READ | GENERIC_WRITE);
            let what = format!("disposition {disposition}, options {options:#x}");
            let ops = m.fake.names();
            match want {
                Opened(status, truncated) => {
                    assert_eq!(outcome.status, status, "{what}");
                    assert!(outcome.opened(), "{what}");
                    assert_eq!(ops.contains(&"truncate"), truncated, "{what}: {ops:?}");
                    let kind = m.fake.lookup("/x").unwrap().kind;
                    assert_eq!(outcome.is_directory, kind == FileKind::Directory, "{what}");
                    if kind == FileKind::File {
                        assert_eq!(m.fake.data("/x").is_empty(), truncated, "{what}");
                    }
                }
                NewFile | NewDir => {
                    assert!(!existed);
                    assert_eq!(outcome.status, STATUS_SUCCESS, "{what}");
                    assert_eq!(outcome.is_directory, want == NewDir, "{what}");
                    let made = if want == NewDir { "mkdir" } else { "create" };
                    assert!(ops.contains(&made), "{what}: {ops:?}");
                    assert_eq!(
                        m.fake.lookup("/x").unwrap().kind == FileKind::Directory,
                        want == NewDir
                    );
                }
                Fails(status) => {
                    assert_eq!(outcome.status, status, "{what}");
                    assert!(!outcome.opened(), "{what}");
                    assert_eq!(m.fs.open_count(), 0, "{what}");
                    assert!(m.fake.open.lock().is_empty(), "{what}: nothing left open");
                    assert_eq!(m.fake.exists("/x"), existed, "{what}");
                }
            }
            if outcome.opened() {
                m.finish(outcome.context);
                assert!(m.fake.open.lock().is_empty(), "{what}: released");
                assert_eq!(m.fs.open_count(), 0);
            }
        }
    }
}

const COLLISION: i32 = STATUS_OBJECT_NAME_COLLISION;

#[test]
fn every_disposition_on_an_existing_file() {
    let invalid = Fails(STATUS_INVALID_PARAMETER);
    let not_dir = Fails(STATUS_NOT_A_DIRECTORY);
    check_dispositions(
        |fake| fake.file("/x", b"content"),
        [
            [Opened(COLLISION, true), invalid, Opened(COLLISION, true)], // FILE_SUPERSEDE
            [
                Opened(STATUS_SUCCESS, false),
                not_dir,
                Opened(STATUS_SUCCESS, false),
            ], // FILE_OPEN
            [Fails(COLLISION), Fails(COLLISION), Fails(COLLISION)],      // FILE_CREATE
            [Opened(COLLISION, false), not_dir, Opened(COLLISION, false)], // FILE_OPEN_IF
            [
                Opened(STATUS_SUCCESS, true),
                invalid,
                Opened(STATUS_SUCCESS, true),
            ], // FILE_OVERWRITE
            [Opened(COLLISION, true), invalid, Opened(COLLISION, true)], // FILE_OVERWRITE_IF
        ],
    );
}

#[test]
fn every_disposition_on_an_existing_directory() {
    let invalid = Fails(STATUS_INVALID_PARAMETER);
    let is_dir = Fails(STATUS_FILE_IS_A_DIRECTORY);
    check_dispositions(
        |fake| fake.dir("/x"),
        [
            [is_dir, invalid, is_dir],
            [
                Opened(STATUS_SUCCESS, false),
                Opened(STATUS_SUCCESS, false),
                is_dir,
            ],
            [Fails(COLLISION), Fails(COLLISION), Fails(COLLISION)],
            [Opened(COLLISION, false), Opened(COLLISION, false), is_dir],
            [is_dir, invalid, is_dir],
            [is_dir, invalid, is_dir],
        ],
    );
}

#[test]
fn every_disposition_on_a_missing_name() {
    let invalid = Fails(STATUS_INVALID_PARAMETER);
    let missing = Fails(STATUS_OBJECT_NAME_NOT_FOUND);
    check_dispositions(
        |_| {},
        [
            [NewFile, invalid, NewFile],
            [missing, missing, missing],
            [NewFile, NewDir, NewFile],
            [NewFile, NewDir, NewFile],
            [missing, invalid, missing],
            [NewFile, invalid, NewFile],
        ],
    );
}

#[test]
fn a_missing_parent_is_path_not_found() {
    let m = mount();
    let outcome = m.create("\\nope\\file", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(outcome.status, STATUS_OBJECT_PATH_NOT_FOUND);
    let outcome = m.create("\\nope\\file", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_OBJECT_PATH_NOT_FOUND);
    m.fake.file("/f", b"");
    let outcome = m.create("\\f\\child", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(
        outcome.status, STATUS_OBJECT_PATH_NOT_FOUND,
        "a file used as a directory"
    );
    let sensitive = mount_with(WindowsOptions {
        case_insensitive: false,
        ..Default::default()
    });
    let outcome = sensitive.create("\\nope\\file", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(outcome.status, STATUS_OBJECT_PATH_NOT_FOUND);
    let outcome = sensitive.create("\\file", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(outcome.status, STATUS_OBJECT_NAME_NOT_FOUND);
}

#[test]
fn opens_release_their_handle_at_close() {
    let m = mount();
    m.fake.file("/f", b"data");
    let context = m.open("\\f", GENERIC_READ);
    assert_eq!(m.fake.names(), ["getattr", "open"]);
    m.fs.cleanup(&CALL, context);
    assert_eq!(m.fake.names(), ["flush"]);
    m.fs.close(&CALL, context);
    assert_eq!(m.fake.names(), ["release"]);
    assert!(m.fake.open.lock().is_empty());
    assert_eq!(m.fs.open_count(), 0);
}

#[test]
fn metadata_opens_do_not_open_until_data_is_needed() {
    let m = mount();
    m.fake.file("/f", b"data");
    let context = m.open("\\f", FILE_READ_ATTRIBUTES | SYNCHRONIZE);
    assert_eq!(m.fake.names(), ["getattr"]);
    let info = m.fs.get_file_information(&CALL, context).unwrap();
    assert_eq!(info.size, 4);
    assert_eq!(
        m.fake.take_log(),
        [Operation::Getattr {
            path: "/f".into(),
            handle: None
        }]
    );
    let mut buffer = [0u8; 8];
    assert_eq!(m.fs.read(&CALL, context, &mut buffer, 0), Ok(4));
    assert_eq!(
        m.fake.names(),
        ["open", "read"],
        "opened lazily for the read"
    );
    m.finish(context);
    assert!(m.fake.open.lock().is_empty());
}

#[test]
fn truncating_opens_truncate_through_the_new_handle() {
    let m = mount();
    m.fake.file("/f", b"data");
    let outcome = m.create("\\f", FILE_OVERWRITE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_SUCCESS);
    let log = m.fake.take_log();
    let Operation::Open { flags, .. } = &log[1] else {
        panic!("{log:?}")
    };
    assert_eq!(
        flags.0 & OpenFlags::TRUNCATE,
        0,
        "O_TRUNC is not passed on, as in FUSE"
    );
    let Operation::Truncate { size, handle, .. } = &log[2] else {
        panic!("{log:?}")
    };
    assert_eq!(*size, 0);
    assert!(handle.is_some());
    m.finish(outcome.context);
}

#[test]
fn a_failure_after_open_releases_the_handle() {
    let m = mount();
    m.fake.file("/f", b"data");
    m.fake.fail("truncate", Errno::EPERM);
    let outcome = m.create("\\f", FILE_OVERWRITE, 0, GENERIC_WRITE);
    assert_eq!(outcome.status, STATUS_ACCESS_DENIED);
    assert_eq!(outcome.context, 0, "no DELETE access was asked");
    assert_eq!(m.fake.names(), ["getattr", "open", "truncate", "release"]);
    assert_eq!(m.fs.open_count(), 0);
}

#[test]
fn new_files_honour_the_readonly_attribute_and_valid_names() {
    let m = mount();
    let outcome = m.fs.create(
        &CALL,
        &CreateRequest {
            file_name: &wide("\\ro.txt"),
            desired_access: GENERIC_WRITE,
            file_attributes: FILE_ATTRIBUTE_READONLY,
            create_disposition: FILE_CREATE,
            create_options: 0,
            prior_context: 0,
            asked_security: None,
        },
    );
    assert_eq!(outcome.status, STATUS_SUCCESS);
    assert_eq!(m.fake.tree.lock()["/ro.txt"].mode, 0o444);
    m.finish(outcome.context);
    for bad in ["\\con", "\\trailing.", "\\a|b"] {
        assert_eq!(
            m.create(bad, FILE_CREATE, 0, GENERIC_WRITE).status,
            STATUS_OBJECT_NAME_INVALID,
            "{bad}"
        );
    }
    assert_eq!(
        m.create(
            &format!("\\{}", "n".repeat(256)),
            FILE_CREATE,
            0,
            GENERIC_WRITE
        )
        .status,
        STATUS_NAME_TOO_LONG
    );
}

#[test]
fn streams_reduce_to_the_file_or_are_refused() {
    let m = mount();
    m.fake.file("/f.txt", b"abc");
    let context = m.open("\\f.txt::$DATA", GENERIC_READ);
    let streams = m.fs.find_streams(&CALL, context).unwrap();
    assert_eq!(
        streams,
        [StreamEntry {
            name: "::$DATA".into(),
            size: 3
        }]
    );
    m.finish(context);
    assert_eq!(
        m.create(
            "\\f.txt:Zone.Identifier:$DATA",
            FILE_CREATE,
            0,
            GENERIC_WRITE
        )
        .status,
        STATUS_OBJECT_NAME_INVALID
    );
    m.fake.dir("/d");
    let dir = m.open("\\d", FILE_LIST_DIRECTORY);
    assert_eq!(
        m.fs.find_streams(&CALL, dir),
        Err(NtError(STATUS_END_OF_FILE))
    );
    m.finish(dir);
}

#[test]
fn delete_on_close_deletes_at_the_last_cleanup() {
    let m = mount();
    let outcome = m.create(
        "\\tmp",
        FILE_CREATE,
        FILE_DELETE_ON_CLOSE,
        GENERIC_WRITE | DELETE,
    );
    assert_eq!(outcome.status, STATUS_SUCCESS);
    let other = m.open("\\tmp", GENERIC_READ);
    m.fake.take_log();
    m.fs.cleanup(&CALL, outcome.context);
    assert!(m.fake.exists("/tmp"), "another open remains");
    assert_eq!(
        m.create("\\tmp", FILE_OPEN, 0, GENERIC_READ).status,
        STATUS_DELETE_PENDING
    );
    m.fs.close(&CALL, outcome.context);
    m.fs.cleanup(&CALL, other);
    assert!(!m.fake.exists("/tmp"));
    assert!(m.fake.names().contains(&"unlink"));
    m.fs.close(&CALL, other);
    assert!(m.fake.open.lock().is_empty());
    let again = m.create("\\tmp", FILE_CREATE, 0, GENERIC_WRITE);
    assert_eq!(again.status, STATUS_SUCCESS, "the name is free again");
    m.finish(again.context);
}

#[test]
fn a_read_only_file_opens_for_reading_only() {
    let m = mount();
    m.fake.file("/ro", b"kept");
    m.fake.tree.lock().get_mut("/ro").unwrap().mode = 0o444;
    for access in [
        GENERIC_WRITE,
        GENERIC_READ | GENERIC_WRITE,
        MAXIMUM_ALLOWED | FILE_APPEND_DATA,
    ] {
        assert_eq!(
            m.create("\\ro", FILE_OPEN, 0, access).status,
            STATUS_ACCESS_DENIED,
            "{access:#x}"
        );
    }
    for disposition in [FILE_OVERWRITE, FILE_OVERWRITE_IF, FILE_SUPERSEDE] {
        let outcome = m.create("\\ro", disposition, 0, GENERIC_READ);
        assert_eq!(
            outcome.status, STATUS_ACCESS_DENIED,
            "disposition {disposition}"
        );
    }
    assert!(m.fake.open.lock().is_empty(), "no handle was opened");
    assert_eq!(
        m.fake.tree.lock()["/ro"].data,
        b"kept",
        "nothing was truncated"
    );
    let reading = m.open("\\ro", GENERIC_READ);
    m.finish(reading);
    let maximum = m.open("\\ro", MAXIMUM_ALLOWED);
    m.finish(maximum);
}

#[test]
fn delete_on_close_is_checked_at_open() {
    let m = mount();
    m.fake.file("/ro", b"");
    m.fake.tree.lock().get_mut("/ro").unwrap().mode = 0o444;
    let outcome = m.create("\\ro", FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE);
    assert_eq!(outcome.status, STATUS_CANNOT_DELETE);
    m.fake.dir("/full");
    m.fake.file("/full/x", b"");
    let outcome = m.create(
        "\\full",
        FILE_OPEN,
        FILE_DIRECTORY_FILE | FILE_DELETE_ON_CLOSE,
        DELETE,
    );
    assert_eq!(outcome.status, STATUS_DIRECTORY_NOT_EMPTY);
    assert!(
        m.fake.open.lock().is_empty(),
        "the listing handle was released"
    );
    let outcome = m.create("\\", FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE);
    assert_eq!(outcome.status, STATUS_CANNOT_DELETE);
    assert_eq!(m.fs.open_count(), 0);
}

#[test]
fn an_empty_directory_opened_delete_on_close_is_removed() {
    let m = mount();
    m.fake.dir("/empty");
    let outcome = m.create(
        "\\empty",
        FILE_OPEN,
        FILE_DIRECTORY_FILE | FILE_DELETE_ON_CLOSE,
        DELETE | SYNCHRONIZE,
    );
    assert_eq!(outcome.status, STATUS_SUCCESS);
    assert!(outcome.is_directory);
    m.finish(outcome.context);
    assert!(!m.fake.exists("/empty"));
    assert!(m.fake.names().contains(&"rmdir"));
}

#[test]
fn a_refused_delete_open_refuses_dokans_retry_on_the_parent() {
    let m = mount();
    m.fake.file("/f", b"");
    m.fake.fail("open", Errno::EACCES);
    let outcome = m.create("\\f", FILE_OPEN, 0, DELETE | GENERIC_READ);
    assert_eq!(outcome.status, STATUS_ACCESS_DENIED);
    assert_eq!(outcome.context, REFUSED_DELETE_OPEN);
    assert!(!outcome.opened());
    m.fake.take_log();
    let retry = m.fs.create(
        &CALL,
        &CreateRequest {
            file_name: &wide("\\"),
            desired_access: FILE_LIST_DIRECTORY,
            file_attributes: 0,
            create_disposition: FILE_OPEN,
            create_options: FILE_DIRECTORY_FILE,
            prior_context: outcome.context,
            asked_security: None,
        },
    );
    assert_eq!(retry.status, STATUS_ACCESS_DENIED);
    assert_eq!(retry.context, 0);
    assert!(m.fake.take_log().is_empty(), "the filesystem is not asked");
    let plain = m.create("\\f", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!((plain.status, plain.context), (STATUS_ACCESS_DENIED, 0));
}

#[test]
fn unknown_contexts_are_invalid_handles() {
    let m = mount();
    let mut buffer = [0u8; 1];
    assert_eq!(
        m.fs.read(&CALL, 12345, &mut buffer, 0),
        Err(NtError(STATUS_INVALID_HANDLE))
    );
    m.fs.cleanup(&CALL, 12345);
    m.fs.close(&CALL, 12345);
    assert!(m.fake.take_log().is_empty());
}

#[test]
fn a_reply_of_the_wrong_shape_is_an_io_error() {
    struct Confused;
    impl Dispatch for Confused {
        fn dispatch(&self, request: Request) {
            request.responder.respond(Ok(Reply::Empty));
        }
    }
    let fs = DokanFs::new(
        Arc::new(Confused),
        &WindowsOptions::default(),
        FileSecurity::Fixed,
    );
    let outcome = fs.create(
        &CALL,
        &CreateRequest {
            file_name: &wide("\\f"),
            desired_access: GENERIC_READ,
            file_attributes: 0,
            create_disposition: FILE_OPEN,
            create_options: 0,
            prior_context: 0,
            asked_security: None,
        },
    );
    assert_eq!(outcome.status, STATUS_IO_DEVICE_ERROR);
}

#[test]
fn a_dispatcher_that_never_answers_times_out_before_the_driver_does() {
    struct Silent(Mutex<Vec<mountkit_core::Responder>>);
    impl Dispatch for Silent {
        fn dispatch(&self, request: Request) {
            self.0.lock().push(request.responder);
        }
    }
    struct Counting(Mutex<Vec<u32>>);
    impl Keepalive for Counting {
        fn extend(&self, milliseconds: u32) -> bool {
            self.0.lock().push(milliseconds);
            true
        }
    }
    let options = WindowsOptions {
        request_timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let fs = DokanFs::new(
        Arc::new(Silent(Mutex::new(Vec::new()))),
        &options,
        FileSecurity::Fixed,
    );
    let keepalive = Counting(Mutex::new(Vec::new()));
    let call = Call {
        process_id: 1,
        keepalive: &keepalive,
    };
    let outcome = fs.create(
        &call,
        &CreateRequest {
            file_name: &wide("\\slow"),
            desired_access: GENERIC_READ,
            file_attributes: 0,
            create_disposition: FILE_OPEN,
            create_options: 0,
            prior_context: 0,
            asked_security: None,
        },
    );
    assert_eq!(outcome.status, STATUS_IO_TIMEOUT);
    let extensions = keepalive.0.lock();
    assert!(extensions.len() >= 10, "{} extensions", extensions.len());
    assert!(extensions
        .iter()
        .all(|&ms| ms >= crate::timeout::MARGIN.as_millis() as u32));
}

#[test]
fn every_access_mode_opens_with_posix_flags() {
    let m = mount();
    m.fake.file("/f", b"");
    for (access, flags) in [
        (FILE_GENERIC_READ, OpenFlags::READ_ONLY),
        (FILE_GENERIC_WRITE, OpenFlags::WRITE_ONLY),
        (FILE_ALL_ACCESS, OpenFlags::READ_WRITE),
    ] {
        let context = m.open("\\f", access);
        let log = m.fake.take_log();
        assert!(
            log.contains(&Operation::Open {
                path: "/f".into(),
                flags: OpenFlags(flags)
            }),
            "{access:#x}: {log:?}"
        );
        m.finish(context);
    }
}
