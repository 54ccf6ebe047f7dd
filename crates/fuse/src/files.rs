//! Open files, and the bytes Rust serves itself.
//!
//! The kernel gets this backend's own handle numbers; under each, [`OpenFile`] keeps the
//! filesystem's handle and, when the filesystem answered `open` with a backing file, that file.
//! A backed file is served by kernel passthrough when the kernel negotiated it and this process
//! may register backing files (Linux 6.9+, `CAP_SYS_ADMIN`); otherwise reads and writes arrive
//! here and are served with positioned I/O on the backend thread, never reaching the handlers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::protocol::BackingId;
use mountkit_core::backing;
use parking_lot::Mutex;

#[derive(Clone)]
pub(crate) struct OpenFile {
    pub ino: u64,
    /// The handle the filesystem chose.
    pub handle: u64,
    /// The file whose bytes serve this open file, if the filesystem gave one. Requests for
    /// its data that still reach this process are served from it, never by the handlers.
    pub backing: Option<Arc<File>>,
    /// The kernel serves the backing file itself.
    pub passthrough: bool,
    /// Opened for writing: its flush and release (its close) may commit what was written,
    /// and so change what a stat shows.
    pub writable: bool,
}

/// Which data paths a mount's backed files really use.
#[derive(Debug, Default)]
pub(crate) struct DataPathStatus {
    /// Whether the kernel agreed to passthrough at `init`.
    pub negotiated: AtomicBool,
    /// Backed opens served by kernel passthrough.
    pub passthrough_opens: AtomicU64,
    /// Backed opens served with positioned I/O in this process.
    pub rust_io_opens: AtomicU64,
}

/// Backing files registered with the kernel, one per inode: the kernel requires every
/// passthrough open of an inode to use the same backing file.
#[derive(Default)]
pub(crate) struct PassthroughRegistry {
    by_inode: Mutex<HashMap<u64, (Arc<BackingId>, usize)>>,
}

impl PassthroughRegistry {
    /// The backing id to open `ino` with: the inode's existing one, or a new one registered
    /// from `file` by `register`. Fails when the kernel refuses (for example without
    /// `CAP_SYS_ADMIN`); the caller then serves the file with positioned I/O.
    pub(crate) fn acquire(
        &self,
        ino: u64,
        register: impl FnOnce() -> io::Result<BackingId>,
    ) -> io::Result<Arc<BackingId>> {
        let mut map = self.by_inode.lock();
        if let Some((id, opens)) = map.get_mut(&ino) {
            *opens += 1;
            return Ok(id.clone());
        }
        let id = Arc::new(register()?);
        map.insert(ino, (id.clone(), 1));
        Ok(id)
    }

    /// Whether no file is open for passthrough.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_inode.lock().is_empty()
    }

    /// One passthrough open of `ino` was released; the last one unregisters its backing file.
    pub(crate) fn release(&self, ino: u64) {
        let mut map = self.by_inode.lock();
        if let Some((_, opens)) = map.get_mut(&ino) {
            *opens -= 1;
            if *opens == 0 {
                map.remove(&ino);
            }
        }
    }
}

thread_local! {
    /// This thread's buffer for positioned reads, kept between requests: a fresh zeroed
    /// megabyte per read would cost more than the read itself.
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads up to `size` bytes at `offset` (fewer only at end of file) into this thread's read
/// buffer, and hands them to `serve`.
pub(crate) fn with_read_at<R>(
    file: &File,
    offset: u64,
    size: u32,
    serve: impl FnOnce(io::Result<&[u8]>) -> R,
) -> R {
    READ_BUFFER.with_borrow_mut(|buffer| {
        let size = size as usize;
        if buffer.len() < size {
            buffer.resize(size, 0);
        }
        match backing::read_at(file, &mut buffer[..size], offset) {
            Ok(filled) => serve(Ok(&buffer[..filled])),
            Err(e) => serve(Err(e)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn positioned_reads_stop_at_end_of_file() {
        let path = std::env::temp_dir().join(format!("mountkit-read-at-{}", std::process::id()));
        File::create(&path)
            .unwrap()
            .write_all(b"0123456789")
            .unwrap();
        let file = File::open(&path).unwrap();
        let read = |offset, size| with_read_at(&file, offset, size, |r| r.unwrap().to_vec());
        assert_eq!(read(2, 4), b"2345");
        assert_eq!(read(8, 100), b"89");
        assert_eq!(read(50, 10), b"");
        assert_eq!(
            read(0, 3),
            b"012",
            "a shorter read after a longer one sees only its bytes"
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_refused_registration_is_not_remembered() {
        let registry = PassthroughRegistry::default();
        let refused = registry.acquire(5, || Err(io::Error::from_raw_os_error(1)));
        assert!(refused.is_err());
        assert!(registry.by_inode.lock().is_empty());
        registry.release(5);
    }
}
