//! Mounts a filesystem written in Rust, with no Node.js involved, and drives it through real
//! system calls. Needs /dev/fuse and the right to mount (root, or fusermount3).
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mountkit_core::{
    Bytes, DirEntry, DispatchLimits, Errno, FileKind, FileSystem, FsDispatcher, FsResult,
    OpenFlags, Opened, RequestContext, Stat,
};
use mountkit_fuse::{is_mounted, FuseMount, FuseOptions};
use parking_lot::Mutex;

/// A flat in-memory directory of files, plus `/slow`, which takes a second to stat.
#[derive(Default)]
struct Flat {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl Flat {
    fn stat_of(&self, path: &str) -> FsResult<Stat> {
        if path == "/" {
            return Ok(Stat::new(FileKind::Directory));
        }
        let files = self.files.lock();
        let data = files.get(path).ok_or(Errno::ENOENT)?;
        Ok(Stat {
            size: data.len() as u64,
            ..Stat::new(FileKind::File)
        })
    }
}

impl FileSystem for Flat {
    async fn getattr(&self, _: RequestContext, path: &str, _: Option<u64>) -> FsResult<Stat> {
        if path == "/slow" {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Ok(Stat::new(FileKind::File));
        }
        self.stat_of(path)
    }

    async fn readdir(&self, _: RequestContext, _: &str, _: u64) -> FsResult<Vec<DirEntry>> {
        Ok(self
            .files
            .lock()
            .keys()
            .map(|p| DirEntry {
                name: p[1..].to_owned(),
                kind: FileKind::File,
                stat: None,
            })
            .collect())
    }

    async fn create(
        &self,
        _: RequestContext,
        path: &str,
        _: u32,
        _: OpenFlags,
    ) -> FsResult<Opened> {
        self.files.lock().insert(path.to_owned(), Vec::new());
        Ok(Opened::default())
    }

    async fn read(
        &self,
        _: RequestContext,
        path: &str,
        _: u64,
        offset: u64,
        size: u32,
    ) -> FsResult<Bytes> {
        let files = self.files.lock();
        let data = files.get(path).ok_or(Errno::ENOENT)?;
        let start = (offset as usize).min(data.len());
        let end = (start + size as usize).min(data.len());
        Ok(Bytes::copy_from_slice(&data[start..end]))
    }

    async fn write(
        &self,
        _: RequestContext,
        path: &str,
        _: u64,
        offset: u64,
        data: Bytes,
    ) -> FsResult<u64> {
        let mut files = self.files.lock();
        let file = files.get_mut(path).ok_or(Errno::ENOENT)?;
        let end = offset as usize + data.len();
        if file.len() < end {
            file.resize(end, 0);
        }
        file[offset as usize..end].copy_from_slice(&data);
        Ok(data.len() as u64)
    }

    async fn truncate(
        &self,
        _: RequestContext,
        path: &str,
        size: u64,
        _: Option<u64>,
    ) -> FsResult<()> {
        let mut files = self.files.lock();
        files
            .get_mut(path)
            .ok_or(Errno::ENOENT)?
            .resize(size as usize, 0);
        Ok(())
    }

    async fn unlink(&self, _: RequestContext, path: &str) -> FsResult<()> {
        self.files
            .lock()
            .remove(path)
            .map(|_| ())
            .ok_or(Errno::ENOENT)
    }
}

struct TempMount {
    dir: PathBuf,
    mount: Option<FuseMount>,
}

impl TempMount {
    fn new(name: &str) -> TempMount {
        let dir = std::env::temp_dir().join(format!("mountkit-fuse-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let dispatcher = Arc::new(FsDispatcher::new(
            Flat::default(),
            DispatchLimits::default(),
        ));
        let options = FuseOptions {
            attr_ttl: Duration::ZERO,
            entry_ttl: Duration::ZERO,
            ..Default::default()
        };
        let mount = FuseMount::mount(&dir, dispatcher, &options).expect("mount");
        TempMount {
            dir,
            mount: Some(mount),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for TempMount {
    fn drop(&mut self) {
        if let Some(mount) = self.mount.take() {
            mount.unmount().expect("unmount");
        }
        assert!(!is_mounted(&self.dir), "still mounted after unmount");
        fs::remove_dir(&self.dir).unwrap();
    }
}

#[test]
fn a_rust_filesystem_serves_real_system_calls() {
    let m = TempMount::new("serve");
    fs::write(m.path("a.txt"), b"hello").unwrap();
    assert_eq!(fs::read(m.path("a.txt")).unwrap(), b"hello");
    assert_eq!(fs::metadata(m.path("a.txt")).unwrap().len(), 5);
    let names: Vec<String> = fs::read_dir(&m.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["a.txt"]);
    fs::remove_file(m.path("a.txt")).unwrap();
    let err = fs::metadata(m.path("a.txt")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn missing_operations_answer_enosys() {
    let m = TempMount::new("enosys");
    let err = fs::create_dir(m.path("d")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOSYS));
}

#[test]
fn a_slow_request_does_not_hold_up_others() {
    let m = TempMount::new("slow");
    let slow_path = m.path("slow");
    let started = Instant::now();
    let slow = std::thread::spawn(move || {
        fs::metadata(slow_path).unwrap();
        Instant::now()
    });
    std::thread::sleep(Duration::from_millis(100));
    fs::write(m.path("fast"), b"x").unwrap();
    let fast_done = Instant::now();
    let slow_done = slow.join().unwrap();
    assert!(
        fast_done < slow_done,
        "the fast write waited for the slow stat"
    );
    assert!(slow_done - started >= Duration::from_secs(1));
}
