//! Why a FUSE mount failed, as facts a caller can act on without reading text.
//!
//! [`FuseMountError`] is what [`FuseMount::mount`](crate::FuseMount::mount) fails with. Each
//! variant names the mount point and what was wrong with it or with this machine's FUSE
//! set-up; its text ([`fmt::Display`]) says what to do.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What kept the kernel from mounting, judged from this machine's FUSE set-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuseSetupProblem {
    /// `/dev/fuse` does not exist: the module is not loaded, or a container lacks the device.
    NoDevice,
    /// This user may not open `/dev/fuse`.
    DeviceRefused,
    /// Not root, and `fusermount3` is not installed.
    NoFusermount,
    /// `allow_other` was asked for without `user_allow_other` in `/etc/fuse.conf`.
    AllowOtherRefused,
    /// The kernel or `fusermount3` refused for lack of permission.
    PermissionDenied,
    /// Something else; `mountkit doctor` checks the set-up.
    Other,
}

impl FuseSetupProblem {
    /// What to do about this problem.
    pub fn advice(self) -> &'static str {
        match self {
            FuseSetupProblem::NoDevice => {
                "/dev/fuse is missing: load the kernel module (`modprobe fuse`), or in a \
                 container start it with `--device /dev/fuse`"
            }
            FuseSetupProblem::DeviceRefused => {
                "this user may not open /dev/fuse, which every FUSE mount needs (fusermount3 \
                 included): ask an administrator to make it mode 0666 (`chmod 0666 /dev/fuse`, \
                 the usual default), or mount as root"
            }
            FuseSetupProblem::NoFusermount => {
                "not running as root and fusermount3 is not installed: install the fuse3 \
                 package (`apt install fuse3`)"
            }
            FuseSetupProblem::AllowOtherRefused => {
                "allowOther needs `user_allow_other` in /etc/fuse.conf when not running as root"
            }
            FuseSetupProblem::PermissionDenied => {
                "permission denied: run as root, or install fuse3 so fusermount3 can mount for \
                 this user, and check that you own the mount point"
            }
            FuseSetupProblem::Other => {
                "run `npx mountkit doctor` to check this machine's FUSE setup"
            }
        }
    }
}

/// Why a FUSE mount failed. Nothing is left mounted.
#[derive(Debug)]
pub enum FuseMountError {
    /// The mount point already is a mount point (`fstype` is its filesystem type); a stale
    /// FUSE mount there is replaced only with `force`.
    AlreadyMounted {
        /// The mount point.
        path: PathBuf,
        /// The filesystem type of what is mounted there.
        fstype: String,
    },
    /// The mount point does not exist or cannot be reached.
    Unusable {
        /// The mount point as given.
        path: PathBuf,
        /// Why it could not be resolved.
        source: io::Error,
    },
    /// The mount point is not a directory.
    NotADirectory {
        /// The mount point.
        path: PathBuf,
    },
    /// The mount point is a directory with entries, which a mount would hide.
    NotEmpty {
        /// The mount point.
        path: PathBuf,
    },
    /// The kernel (or `fusermount3`) refused the mount.
    Refused {
        /// The mount point.
        path: PathBuf,
        /// What this machine's set-up shows about why.
        problem: FuseSetupProblem,
        /// What the mount call answered.
        source: io::Error,
    },
    /// FUSE over io_uring was required ([`IoUring::Always`](crate::IoUring::Always)) and
    /// this kernel does not offer it, or refused the ring. Nothing is left mounted.
    IoUringUnavailable {
        /// The mount point.
        path: PathBuf,
        /// What was missing or refused.
        reason: String,
    },
    /// Reading the mount point, clearing a stale mount or starting the session failed.
    Io {
        /// The mount point.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

impl fmt::Display for FuseMountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FuseMountError::AlreadyMounted { path, fstype } => write!(
                f,
                "{} is already a mount point ({fstype}); unmount it first{}",
                path.display(),
                if fstype.starts_with("fuse") {
                    " or pass { force: true } to replace a stale one"
                } else {
                    ""
                }
            ),
            FuseMountError::Unusable { path, source } => write!(
                f,
                "mount point {} is not usable: {source}; create an empty directory there first",
                path.display()
            ),
            FuseMountError::NotADirectory { path } => {
                write!(f, "mount point {} is not a directory", path.display())
            }
            FuseMountError::NotEmpty { path } => write!(
                f,
                "mount point {} is not empty; mounting over it would hide its files — use an \
                 empty directory",
                path.display()
            ),
            FuseMountError::Refused {
                path,
                problem,
                source,
            } => write!(
                f,
                "could not mount {}: {source}. {}",
                path.display(),
                problem.advice()
            ),
            FuseMountError::IoUringUnavailable { path, reason } => write!(
                f,
                "could not mount {} with FUSE over io_uring: {reason}. It needs Linux 6.14 or \
                 later with the feature turned on (as root: `echo Y > \
                 /sys/module/fuse/parameters/enable_uring`); or mount with ioUring 'auto' or \
                 false to use /dev/fuse",
                path.display()
            ),
            FuseMountError::Io { path, source } => {
                write!(f, "could not mount {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for FuseMountError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FuseMountError::Unusable { source, .. }
            | FuseMountError::Refused { source, .. }
            | FuseMountError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<FuseMountError> for io::Error {
    fn from(error: FuseMountError) -> io::Error {
        let kind = match &error {
            FuseMountError::AlreadyMounted { .. } => io::ErrorKind::AlreadyExists,
            FuseMountError::NotADirectory { .. } => io::ErrorKind::NotADirectory,
            FuseMountError::NotEmpty { .. } => io::ErrorKind::DirectoryNotEmpty,
            FuseMountError::IoUringUnavailable { .. } => io::ErrorKind::Unsupported,
            FuseMountError::Unusable { source, .. }
            | FuseMountError::Refused { source, .. }
            | FuseMountError::Io { source, .. } => source.kind(),
        };
        io::Error::new(kind, error)
    }
}
