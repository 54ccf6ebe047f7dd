//! Filesystem calls a passthrough needs and `node:fs` lacks, for `lib/fs-calls.ts`, which
//! exports them from `index.ts` and turns a failure into an error shaped like `node:fs`'s.
//!
//! - `mknod(2)`: Node can create files, directories and links, but not FIFOs, sockets or
//!   device nodes, and a passthrough's `mknod` handler gets every `mkfifo`, every `bind` of a
//!   UNIX socket and every device node its callers make.
//! - `utimensat(2)` on a node itself (`AT_SYMLINK_NOFOLLOW`): Node's `lutimes` must set both
//!   times, and carries them as a floating-point number of seconds that libuv cuts to
//!   microseconds (Node 20: 100000000.1 s lands as 100000000.099999 s), where a `utimens`
//!   handler is asked to set one time, or both, exactly.
//!
//! Both run on libuv's thread pool, as `node:fs` calls do, and resolve to 0, or to the Linux
//! error number the call failed with (`ENOSYS` off Linux).

use mountkit_core::Errno;
use napi::{Env, Result, Task};

/// `mknod(2)` of one node (see [`crate::make_node`]).
pub struct MakeNode {
    pub path: String,
    pub mode: u32,
    pub rdev: i64,
}

impl Task for MakeNode {
    type Output = i32;
    type JsValue = i32;

    fn compute(&mut self) -> Result<i32> {
        Ok(errno_of(mknod(&self.path, self.mode, self.rdev)))
    }

    fn resolve(&mut self, _env: Env, errno: i32) -> Result<i32> {
        Ok(errno)
    }
}

/// `utimensat(2)` of one node, not following a final symlink (see [`crate::set_times`]).
pub struct SetTimes {
    pub path: String,
    /// Milliseconds since the Unix epoch; `None` leaves the time as it is.
    pub atime: Option<i64>,
    pub mtime: Option<i64>,
}

impl Task for SetTimes {
    type Output = i32;
    type JsValue = i32;

    fn compute(&mut self) -> Result<i32> {
        Ok(errno_of(utimens(&self.path, self.atime, self.mtime)))
    }

    fn resolve(&mut self, _env: Env, errno: i32) -> Result<i32> {
        Ok(errno)
    }
}

/// What JavaScript gets: 0, or the error number.
fn errno_of(result: std::result::Result<(), Errno>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(errno) => errno.raw(),
    }
}

/// A path as the C calls take it; one with NUL names nothing.
#[cfg(target_os = "linux")]
fn c_path(path: &str) -> std::result::Result<std::ffi::CString, Errno> {
    std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)
}

/// The error number of a C call that returned -1.
#[cfg(target_os = "linux")]
fn last_errno() -> Errno {
    Errno::from_raw(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

#[cfg(target_os = "linux")]
fn mknod(path: &str, mode: u32, rdev: i64) -> std::result::Result<(), Errno> {
    let path = c_path(path)?;
    let rdev = libc::dev_t::try_from(rdev).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `path` is a NUL-terminated string that outlives the call, and mknod reads no
    // other memory of this process.
    if unsafe { libc::mknod(path.as_ptr(), mode, rdev) } == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

#[cfg(target_os = "linux")]
fn utimens(path: &str, atime: Option<i64>, mtime: Option<i64>) -> std::result::Result<(), Errno> {
    let path = c_path(path)?;
    let timespec = |ms: Option<i64>| match ms {
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        Some(ms) => libc::timespec {
            tv_sec: ms.div_euclid(1000),
            tv_nsec: ms.rem_euclid(1000) * 1_000_000,
        },
    };
    let times = [timespec(atime), timespec(mtime)];
    // SAFETY: `path` is a NUL-terminated string and `times` an array of the two timespecs
    // utimensat reads; both outlive the call.
    let done = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            path.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

/// Windows has no special files: WinFsp and Dokan never ask for one.
#[cfg(not(target_os = "linux"))]
fn mknod(_path: &str, _mode: u32, _rdev: i64) -> std::result::Result<(), Errno> {
    Err(Errno::ENOSYS)
}

/// Linux only, like `mknod`: on Windows, times are set with Node's `lutimes`.
#[cfg(not(target_os = "linux"))]
fn utimens(
    _path: &str,
    _atime: Option<i64>,
    _mtime: Option<i64>,
) -> std::result::Result<(), Errno> {
    Err(Errno::ENOSYS)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::fs;
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    use std::path::PathBuf;

    use super::*;

    /// A fresh directory under the system's temp directory, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("mountkit-fs-calls-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self, name: &str) -> String {
            self.0.join(name).to_str().unwrap().to_owned()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn mknod_creates_fifos_and_sockets_with_their_type_and_permission_bits() {
        let dir = Scratch::new("kinds");
        mknod(&dir.path("fifo"), libc::S_IFIFO | 0o600, 0).unwrap();
        mknod(&dir.path("socket"), libc::S_IFSOCK | 0o600, 0).unwrap();
        let fifo = fs::symlink_metadata(dir.path("fifo")).unwrap();
        assert!(fifo.file_type().is_fifo());
        assert_eq!(fifo.permissions().mode() & 0o7777, 0o600);
        assert!(fs::symlink_metadata(dir.path("socket"))
            .unwrap()
            .file_type()
            .is_socket());
    }

    #[test]
    fn mknod_answers_the_error_number_it_failed_with() {
        let dir = Scratch::new("mknod-errors");
        let fifo = libc::S_IFIFO | 0o644;
        mknod(&dir.path("taken"), fifo, 0).unwrap();
        assert_eq!(mknod(&dir.path("taken"), fifo, 0), Err(Errno::EEXIST));
        assert_eq!(
            mknod(&dir.path("missing/fifo"), fifo, 0),
            Err(Errno::ENOENT)
        );
        assert_eq!(mknod(&dir.path("nul\0name"), fifo, 0), Err(Errno::EINVAL));
        let device = libc::S_IFCHR | 0o644;
        assert_eq!(mknod(&dir.path("device"), device, -1), Err(Errno::EINVAL));
    }

    #[test]
    fn utimens_sets_each_time_to_the_millisecond_and_leaves_an_absent_one() {
        let dir = Scratch::new("times");
        let file = dir.path("file");
        fs::write(&file, "").unwrap();
        utimens(&file, Some(100_000_000_100), Some(-1_500)).unwrap();
        let set = fs::metadata(&file).unwrap();
        assert_eq!((set.atime(), set.atime_nsec()), (100_000_000, 100_000_000));
        assert_eq!((set.mtime(), set.mtime_nsec()), (-2, 500_000_000));
        utimens(&file, None, Some(0)).unwrap();
        let kept = fs::metadata(&file).unwrap();
        assert_eq!(
            (kept.atime(), kept.atime_nsec()),
            (100_000_000, 100_000_000)
        );
        assert_eq!((kept.mtime(), kept.mtime_nsec()), (0, 0));
    }

    #[test]
    fn utimens_changes_a_symlink_itself_not_its_target() {
        let dir = Scratch::new("symlink");
        fs::write(dir.path("target"), "").unwrap();
        std::os::unix::fs::symlink("target", dir.path("link")).unwrap();
        let target_before = fs::metadata(dir.path("target")).unwrap().mtime();
        utimens(&dir.path("link"), Some(1_000), Some(2_000)).unwrap();
        assert_eq!(fs::symlink_metadata(dir.path("link")).unwrap().mtime(), 2);
        assert_eq!(
            fs::metadata(dir.path("target")).unwrap().mtime(),
            target_before
        );
        assert_eq!(
            utimens(&dir.path("missing"), Some(0), Some(0)),
            Err(Errno::ENOENT)
        );
    }
}
