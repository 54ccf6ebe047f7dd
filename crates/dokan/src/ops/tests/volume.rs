//! The volume: its information, its free space, and read-only volumes, against the fake.

use super::*;

#[test]
fn disk_space_comes_from_statfs() {
    let m = mount();
    assert_eq!(
        m.fs.disk_free_space(&CALL),
        Ok(DiskSpace {
            free_bytes_available: 500 * 4096,
            total_bytes: 1000 * 4096,
            total_free_bytes: 600 * 4096,
        })
    );
    *m.fake.statfs.lock() = Err(Errno::ENOSYS);
    assert_eq!(
        m.fs.disk_free_space(&CALL),
        Err(NtError(STATUS_NOT_IMPLEMENTED)),
        "Dokan then reports its defaults"
    );
    *m.fake.statfs.lock() = Ok(StatFs::default());
    assert_eq!(
        m.fs.disk_free_space(&CALL),
        Err(NtError(STATUS_NOT_IMPLEMENTED))
    );
    *m.fake.statfs.lock() = Err(Errno::EIO);
    assert_eq!(
        m.fs.disk_free_space(&CALL),
        Err(NtError(STATUS_IO_DEVICE_ERROR))
    );
}

#[test]
fn read_only_volumes_refuse_writes() {
    let m = mount_with(WindowsOptions {
        read_only: true,
        ..Default::default()
    });
    m.fake.file("/f", b"x");
    let protected = STATUS_MEDIA_WRITE_PROTECTED;
    assert_eq!(
        m.create("\\new", FILE_CREATE, 0, GENERIC_WRITE).status,
        protected
    );
    assert_eq!(
        m.create("\\new", FILE_OPEN_IF, 0, GENERIC_READ).status,
        protected
    );
    assert_eq!(
        m.create("\\f", FILE_OVERWRITE, 0, GENERIC_READ).status,
        protected
    );
    assert_eq!(
        m.create("\\f", FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE)
            .status,
        protected
    );
    let context = m.open("\\f", GENERIC_WRITE | DELETE);
    let write = WriteRequest {
        data: b"y",
        offset: 0,
        write_to_end_of_file: false,
        paging_io: false,
    };
    assert_eq!(m.fs.write(&CALL, context, &write), Err(NtError(protected)));
    assert_eq!(
        m.fs.set_delete(&CALL, context, true),
        Err(NtError(protected))
    );
    assert_eq!(
        m.fs.move_file(&CALL, context, &wide("\\g"), false),
        Err(NtError(protected))
    );
    assert_eq!(
        m.fs.set_end_of_file(&CALL, context, 0),
        Err(NtError(protected))
    );
    m.finish(context);
    assert_eq!(m.fake.data("/f"), b"x");
}

#[test]
fn read_only_volumes_open_for_reading_whatever_access_was_asked() {
    let m = mount_with(WindowsOptions {
        read_only: true,
        ..Default::default()
    });
    m.fake.file("/f", b"x");
    for access in [
        GENERIC_WRITE,
        GENERIC_READ | GENERIC_WRITE,
        FILE_APPEND_DATA,
        FILE_ALL_ACCESS,
        MAXIMUM_ALLOWED,
    ] {
        m.fake.take_log();
        let context = m.open("\\f", access);
        assert_eq!(
            m.fake.take_log().last(),
            Some(&Operation::Open {
                path: "/f".into(),
                flags: OpenFlags(OpenFlags::READ_ONLY)
            }),
            "access {access:#x}"
        );
        m.finish(context);
    }
}

#[test]
fn the_volume_reports_the_options() {
    let m = mount_with(WindowsOptions {
        volume_label: "Data".into(),
        file_system_name: "NTFS".into(),
        ..Default::default()
    });
    assert_eq!(m.fs.volume().label, "Data");
    assert_eq!(m.fs.volume().file_system_name, "NTFS");
}
