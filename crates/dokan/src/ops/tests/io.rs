//! ReadFile, WriteFile and FlushFileBuffers against the fake.

use super::*;

#[test]
fn reads_and_writes() {
    let m = mount();
    m.fake.file("/f", b"hello");
    let context = m.open("\\f", GENERIC_READ | GENERIC_WRITE);
    let mut buffer = [0u8; 3];
    assert_eq!(m.fs.read(&CALL, context, &mut buffer, 1), Ok(3));
    assert_eq!(&buffer, b"ell");
    assert_eq!(m.fs.read(&CALL, context, &mut buffer, 10), Ok(0));
    assert_eq!(
        m.fs.read(&CALL, context, &mut buffer, -1),
        Err(NtError(STATUS_INVALID_PARAMETER))
    );
    let write = |data: &[u8], offset, to_end, paging| {
        m.fs.write(
            &CALL,
            context,
            &WriteRequest {
                data,
                offset,
                write_to_end_of_file: to_end,
                paging_io: paging,
            },
        )
    };
    assert_eq!(write(b"J", 0, false, false), Ok(1));
    assert_eq!(write(b"!", 0, true, false), Ok(1), "WriteToEndOfFile");
    assert_eq!(m.fake.data("/f"), b"Jello!");
    assert_eq!(
        write(b"?", -1, false, false),
        Ok(1),
        "offset -1 appends too"
    );
    assert_eq!(m.fake.data("/f"), b"Jello!?");
    assert_eq!(
        write(b"XYZ", 5, false, true),
        Ok(2),
        "paging I/O stops at the end"
    );
    assert_eq!(m.fake.data("/f"), b"JelloXY");
    assert_eq!(write(b"beyond", 7, false, true), Ok(0));
    assert_eq!(m.fake.data("/f"), b"JelloXY");
    assert_eq!(
        write(b"x", -2, false, false),
        Err(NtError(STATUS_INVALID_PARAMETER))
    );
    m.finish(context);
}

#[test]
fn a_write_claiming_too_much_fails() {
    struct Boastful(Fake);
    impl Dispatch for Boastful {
        fn dispatch(&self, request: Request) {
            if let Operation::Write { .. } = request.operation {
                return request.responder.respond(Ok(Reply::Count(1_000)));
            }
            self.0.dispatch(request);
        }
    }
    let fake = Fake::new();
    fake.file("/f", b"");
    let fs = DokanFs::new(
        Arc::new(Boastful(fake)),
        &WindowsOptions::default(),
        FileSecurity::Fixed,
    );
    let context = fs
        .create(
            &CALL,
            &CreateRequest {
                file_name: &wide("\\f"),
                desired_access: GENERIC_WRITE,
                file_attributes: 0,
                create_disposition: FILE_OPEN,
                create_options: 0,
                prior_context: 0,
                asked_security: None,
            },
        )
        .context;
    let write = WriteRequest {
        data: b"abc",
        offset: 0,
        write_to_end_of_file: false,
        paging_io: false,
    };
    assert_eq!(
        fs.write(&CALL, context, &write),
        Err(NtError(STATUS_IO_DEVICE_ERROR))
    );
}

#[test]
fn backing_files_serve_the_bytes() {
    let m = mount();
    let path = std::env::temp_dir().join(format!("mountkit-dokan-ops-{}", std::process::id()));
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    backing::write_all_at(&file, b"backed", 0).unwrap();
    m.fake.file("/b", b"");
    m.fake.backing.lock().insert("/b".into(), Arc::new(file));
    let context = m.open("\\b", GENERIC_READ | GENERIC_WRITE);
    m.fake.take_log();
    let mut buffer = [0u8; 16];
    assert_eq!(m.fs.read(&CALL, context, &mut buffer, 0), Ok(6));
    assert_eq!(&buffer[..6], b"backed");
    let append = WriteRequest {
        data: b"!",
        offset: 0,
        write_to_end_of_file: true,
        paging_io: false,
    };
    assert_eq!(m.fs.write(&CALL, context, &append), Ok(1));
    assert_eq!(m.fs.flush(&CALL, context), Ok(()));
    assert!(m.fake.take_log().is_empty(), "the handlers see no bytes");
    m.finish(context);
    assert_eq!(std::fs::read(&path).unwrap(), b"backed!");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn flushes_reach_fsync_and_tolerate_its_absence() {
    let m = mount();
    m.fake.file("/f", b"");
    let context = m.open("\\f", GENERIC_WRITE);
    m.fake.take_log();
    assert_eq!(m.fs.flush(&CALL, context), Ok(()));
    assert_eq!(m.fake.names(), ["fsync"]);
    m.fake.fail("fsync", Errno::ENOSYS);
    assert_eq!(m.fs.flush(&CALL, context), Ok(()));
    m.fake.fail("fsync", Errno::EIO);
    assert_eq!(
        m.fs.flush(&CALL, context),
        Err(NtError(STATUS_IO_DEVICE_ERROR))
    );
    m.finish(context);
    let metadata = m.open("\\f", FILE_READ_ATTRIBUTES);
    m.fake.take_log();
    assert_eq!(m.fs.flush(&CALL, metadata), Ok(()));
    assert!(
        m.fake.take_log().is_empty(),
        "nothing was opened, nothing to flush"
    );
    m.finish(metadata);
}
