//! Read, Write and Flush, and how the dispatcher threads wait.

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mountkit_core::windows::create::{GENERIC_READ, GENERIC_WRITE};
use mountkit_core::windows::ntstatus::{
    NtError, STATUS_END_OF_FILE, STATUS_FILE_IS_A_DIRECTORY, STATUS_IO_DEVICE_ERROR,
    STATUS_IO_TIMEOUT,
};
use mountkit_core::{Backing, Errno, Opened, Operation};

use super::fake::Answering;
use super::{cx, Harness, READ_WRITE};
use crate::context::FileContext;

#[test]
fn reads_never_return_more_than_asked() {
    let mut h = Harness::new();
    h.fs.file("/f", b"0123456789");
    let id = h.open("/f", GENERIC_READ).unwrap();
    assert_eq!(&h.read(id, 2, 3).unwrap()[..], b"234");
    assert_eq!(&h.read(id, 8, 10).unwrap()[..], b"89");
    assert_eq!(h.read(id, 10, 4), Err(NtError(STATUS_END_OF_FILE)));
    h.fs.fail("read", Errno::EIO);
    assert_eq!(h.read(id, 0, 4), Err(NtError(STATUS_IO_DEVICE_ERROR)));
}

#[test]
fn directories_cannot_be_read_or_written() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    let id = h.open("/d", GENERIC_READ).unwrap();
    assert_eq!(h.read(id, 0, 1), Err(NtError(STATUS_FILE_IS_A_DIRECTORY)));
    assert_eq!(
        h.write(id, b"x", 0, false, false),
        Err(NtError(STATUS_FILE_IS_A_DIRECTORY))
    );
}

#[test]
fn writes_report_the_new_size() {
    let mut h = Harness::new();
    h.fs.file("/f", b"abc");
    let id = h.open("/f", READ_WRITE).unwrap();
    h.fs.take_log();
    let (written, info) = h.write(id, b"XYZW", 1, false, false).unwrap();
    assert_eq!(written, 4);
    assert_eq!(info.file_size, 5);
    assert_eq!(info.allocation_size, 4096);
    assert_eq!(h.fs.data("/f").unwrap(), b"aXYZW");
    assert_eq!(h.fs.take_names(), ["write", "getattr"]);
}

#[test]
fn writes_to_the_end_append() {
    let mut h = Harness::new();
    h.fs.file("/log", b"one\n");
    let id = h.open("/log", GENERIC_WRITE).unwrap();
    h.fs.take_log();
    let (written, info) = h.write(id, b"two\n", u64::MAX, true, false).unwrap();
    assert_eq!((written, info.file_size), (4, 8));
    assert_eq!(h.fs.data("/log").unwrap(), b"one\ntwo\n");
    assert_eq!(h.fs.take_names(), ["getattr", "write", "getattr"]);
}

#[test]
fn constrained_writes_never_extend_the_file() {
    let mut h = Harness::new();
    h.fs.file("/f", b"0123");
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    let (written, info) = h.write(id, b"abcdef", 2, false, true).unwrap();
    assert_eq!((written, info.file_size), (2, 4));
    assert_eq!(h.fs.data("/f").unwrap(), b"01ab");
    h.fs.take_log();
    let (written, _) = h.write(id, b"zz", 10, false, true).unwrap();
    assert_eq!(written, 0);
    assert_eq!(h.fs.take_names(), ["getattr"], "nothing to write");
}

#[test]
fn a_failed_stat_after_a_write_still_reports_the_write() {
    let mut h = Harness::new();
    h.fs.file("/f", b"ab");
    let id = h.open("/f", GENERIC_WRITE).unwrap();
    h.fs.fail("getattr", Errno::EIO);
    let (written, info) = h.write(id, b"cdef", 2, false, false).unwrap();
    assert_eq!((written, info.file_size), (4, 6));
}

#[test]
fn handlers_that_overstate_a_write_fail_it() {
    struct Boaster;
    impl mountkit_core::Dispatch for Boaster {
        fn dispatch(&self, request: mountkit_core::Request) {
            let reply = match request.operation {
                Operation::Write { .. } => mountkit_core::Reply::Count(1000),
                _ => mountkit_core::Reply::Empty,
            };
            request.responder.respond(Ok(reply));
        }
    }
    let h = Harness::new();
    let engine = crate::engine::Engine::new(Arc::new(Boaster), h.engine.options.clone());
    let id = insert_context(&engine, "/f", Some(7), None);
    let (sender, receiver) = std::sync::mpsc::channel();
    engine.write(cx(), id, "hi".into(), 0, false, false, move |r| {
        sender.send(r).unwrap()
    });
    assert_eq!(
        receiver.recv().unwrap(),
        Err(NtError(STATUS_IO_DEVICE_ERROR))
    );
}

/// Registers a context for `path` directly, as a successful open would.
fn insert_context(
    engine: &Arc<crate::engine::Engine>,
    path: &str,
    handle: Option<u64>,
    backing: Option<Arc<File>>,
) -> u64 {
    let stat = mountkit_core::Stat::new(mountkit_core::FileKind::File);
    engine
        .admit(
            cx(),
            crate::engine::Admission {
                path: path.to_owned(),
                stat,
                opened: handle.map(|handle| Opened {
                    handle,
                    backing: backing.map(Backing),
                    ..Opened::default()
                }),
                flags: mountkit_core::OpenFlags(mountkit_core::OpenFlags::READ_WRITE),
                delete_on_close: false,
                directory_is_empty: false,
            },
        )
        .unwrap()
        .0
}

#[test]
fn backing_files_serve_bytes_without_handlers() {
    let h = Harness::new();
    let path = std::env::temp_dir().join(format!("mountkit-winfsp-backing-{}", std::process::id()));
    let file = Arc::new(
        File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap(),
    );
    let id = insert_context(&h.engine, "/b", Some(5), Some(file));
    let (written, info) = h
        .engine
        .write_backing(id, b"hello", 0, false, false)
        .unwrap()
        .unwrap();
    assert_eq!((written, info.file_size), (5, 5));
    let (written, info) = h
        .engine
        .write_backing(id, b"!!", 0, true, false)
        .unwrap()
        .unwrap();
    assert_eq!((written, info.file_size), (2, 7));
    let mut buffer = [0u8; 16];
    assert_eq!(h.engine.read_backing(id, 0, &mut buffer), Some(Ok(7)));
    assert_eq!(&buffer[..7], b"hello!!");
    assert_eq!(
        h.engine.read_backing(id, 7, &mut buffer),
        Some(Err(NtError(STATUS_END_OF_FILE)))
    );
    assert_eq!(
        h.engine.flush(cx(), Some(id)).unwrap().unwrap().file_size,
        7
    );
    assert!(h.fs.take_log().is_empty(), "no handler was asked");
    let plain = insert_context(&h.engine, "/p", Some(6), None);
    assert_eq!(h.engine.read_backing(plain, 0, &mut buffer), None);
    assert!(h
        .engine
        .write_backing(plain, b"x", 0, false, false)
        .is_none());
    h.engine.close(cx(), id);
    assert_eq!(
        h.fs.take_names(),
        ["release"],
        "no flush for a backed handle"
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn flush_syncs_through_the_handle() {
    let mut h = Harness::new();
    h.fs.file("/f", b"abc");
    h.fs.dir("/d");
    let f = h.open("/f", GENERIC_WRITE).unwrap();
    let d = h.open("/d", GENERIC_READ).unwrap();
    h.fs.take_log();
    assert_eq!(h.engine.flush(cx(), Some(f)).unwrap().unwrap().file_size, 3);
    assert_eq!(h.fs.take_names(), ["fsync", "getattr"]);
    h.engine.flush(cx(), Some(d)).unwrap();
    assert_eq!(h.fs.take_names(), ["fsyncdir", "getattr"]);
    assert_eq!(h.engine.flush(cx(), None), Ok(None));
    assert!(h.fs.take_log().is_empty(), "a volume flush asks nothing");
}

#[test]
fn dispatcher_threads_wait_for_answers_from_other_threads() {
    let mut h = Harness::new();
    h.fs.file("/f", b"abc");
    h.fs.answering(Answering::Later(Duration::from_millis(30)));
    let id = h.open("/f", GENERIC_READ).unwrap();
    assert_eq!(&h.read(id, 0, 3).unwrap()[..], b"abc");
}

#[test]
fn unanswered_calls_time_out() {
    let h = Harness::new();
    h.fs.file("/f", b"");
    let mut options = h.engine.options.clone();
    options.call_timeout = Duration::from_millis(150);
    let engine = crate::engine::Engine::new(h.fs.clone(), options);
    h.fs.answering(Answering::Never);
    let started = Instant::now();
    let id = insert_context(&engine, "/f", None, None);
    assert_eq!(engine.file_info(cx(), id), Err(NtError(STATUS_IO_TIMEOUT)));
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[test]
fn shutting_down_releases_waiting_threads() {
    let h = Harness::new();
    h.fs.file("/f", b"");
    h.fs.answering(Answering::Never);
    let id = insert_context(&h.engine, "/f", None, None);
    let engine = h.engine.clone();
    let waiter = std::thread::spawn(move || engine.file_info(cx(), id));
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    h.engine.shut_down();
    assert_eq!(
        waiter.join().unwrap(),
        Err(NtError(
            mountkit_core::windows::ntstatus::STATUS_DEVICE_NOT_READY
        ))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let (sender, receiver) = std::sync::mpsc::channel();
    h.engine
        .read(cx(), id, 0, 1, move |r| sender.send(r.is_err()).unwrap());
    assert!(receiver.recv().unwrap(), "later requests fail at once");
}

#[test]
fn contexts_are_cloned_with_their_node() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    let a = h.open("/f", GENERIC_READ).unwrap();
    let b = h.open("/f", GENERIC_READ).unwrap();
    let first: FileContext = h.engine.context(a).unwrap();
    let second: FileContext = h.engine.context(b).unwrap();
    assert!(Arc::ptr_eq(&first.node, &second.node));
    assert_eq!(first.node.lock().delete.open_handles(), 2);
}
