//! # mountkit
//!
//! Mount a Rust filesystem with one call, on whichever backend this machine has: FUSE on
//! Linux; on Windows WinFsp or Dokan 2, picked as the Node.js API picks them.
//!
//! ```no_run
//! use mountkit::{mount, FileSystem, MountOptions};
//!
//! struct Empty;
//! impl FileSystem for Empty {}
//!
//! // "/mnt/empty" on Linux, "M:" or a folder on Windows.
//! let mounted = mount("/mnt/empty", Empty, &MountOptions::default())?;
//! println!("served by {}", mounted.backend().name());
//! mounted.unmount()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`mount`] serves a [`FileSystem`]; [`mount_dispatch`] serves any [`Dispatch`] (the
//!   Node.js addon serves JavaScript handlers this way).
//! - [`Backend::Auto`] (the default) mounts with FUSE on Linux; on Windows it follows
//!   [`auto::choose`]: WinFsp when it works, else Dokan 2, else WinFsp's own error, and with
//!   neither installed an error naming both installers. `mountkit doctor` ([`doctor`]) reports
//!   what the same rule picks.
//! - A failure is a [`MountError`]: its variants carry the facts (the backend's own typed
//!   error), its text says what to do, and [`MountError::code`] is a stable [`ErrorCode`].
//!
//! The backend crates stay usable on their own (`mountkit-fuse`, `mountkit-winfsp`,
//! `mountkit-dokan`); each compiles on every platform, and the ones that cannot work here
//! fail with [`ErrorCode::Platform`].

pub mod auto;
pub mod doctor;
mod error;
mod options;

use std::io;
use std::sync::Arc;

use mountkit_core::windows::{MountPoint, WindowsOptions};
use mountkit_core::FsDispatcher;
use mountkit_dokan::DokanMount;
use mountkit_winfsp::WinFspMount;

pub use error::{ErrorCode, MountError};
pub use mountkit_core::windows::{DriveType, InvalidOption};
pub use mountkit_core::{Change, Dispatch, DispatchLimits, Errno, FileSystem, FsResult};
pub use options::{Backend, IoUring, MountOptions, ReaddirPlus};

/// The backend crates, for what only one backend offers (FUSE's cache invalidation, the
/// Windows drivers' facts).
pub mod backends {
    pub use mountkit_dokan as dokan;
    #[cfg(target_os = "linux")]
    pub use mountkit_fuse as fuse;
    pub use mountkit_winfsp as winfsp;
}

/// Mounts `fs` at `mountpoint` with the backend `options` name (by default the one this
/// machine has; see [`Backend::Auto`]), and serves it until the returned [`Mount`] is
/// unmounted or dropped.
///
/// `mountpoint` is an existing empty directory on Linux; on Windows a drive letter (`"M:"`),
/// `"*"` for the next free drive letter, a folder, or a network share `\\server\share`
/// ([`MountPoint::parse`]; [`Mount::mountpoint`] reports the letter `"*"` took). Requests run as tasks on one process-wide tokio runtime, each bounded by
/// `options.request_timeout`.
pub fn mount<F: FileSystem>(
    mountpoint: &str,
    fs: F,
    options: &MountOptions,
) -> Result<Mount, MountError> {
    let limits = DispatchLimits {
        timeout: options.request_timeout,
        ..DispatchLimits::default()
    };
    mount_dispatch(mountpoint, Arc::new(FsDispatcher::new(fs, limits)), options)
}

/// Mounts `dispatch` at `mountpoint` as [`mount`] does: for a [`Dispatch`] that is not a
/// [`FileSystem`] run by the core's dispatcher, such as the Node.js addon's bridge to
/// JavaScript.
pub fn mount_dispatch(
    mountpoint: &str,
    dispatch: Arc<dyn Dispatch>,
    options: &MountOptions,
) -> Result<Mount, MountError> {
    let mounted = match options.backend {
        Backend::Fuse => mount_fuse(mountpoint, dispatch, options)?,
        Backend::WinFsp => {
            let (point, options) = windows_options(mountpoint, options)?;
            WinFspMount::mount(&point, dispatch, &options)
                .map(Mounted::WinFsp)
                .map_err(MountError::WinFsp)?
        }
        Backend::Dokan => {
            let (point, options) = windows_options(mountpoint, options)?;
            DokanMount::mount(&point, dispatch, &options)
                .map(Mounted::Dokan)
                .map_err(MountError::Dokan)?
        }
        Backend::Auto if cfg!(windows) => mount_auto(
            windows_options(mountpoint, options)?,
            dispatch,
            &mountkit_winfsp::gather_facts(),
            mountkit_dokan::probe,
        )?,
        Backend::Auto => mount_fuse(mountpoint, dispatch, options)?,
    };
    Ok(Mount { mounted })
}

/// The mount point and options of a Windows mount at `mountpoint`, checked.
fn windows_options(
    mountpoint: &str,
    o: &MountOptions,
) -> Result<(MountPoint, WindowsOptions), MountError> {
    let mut mount_point =
        MountPoint::parse(mountpoint).map_err(|_| MountError::InvalidMountPoint {
            mountpoint: mountpoint.to_owned(),
        })?;
    if let Some(letter) = &o.drive_letter {
        mount_point = mount_point.with_drive_letter(letter)?;
    }
    let sector_size = u16::try_from(o.sector_size).map_err(|_| {
        InvalidOption::new(
            "sectorSize",
            format!("sectorSize must be at most 32768, got {}", o.sector_size),
        )
    })?;
    let options = WindowsOptions {
        volume_label: o.volume_label.clone(),
        file_system_name: o.fs_name.clone(),
        read_only: o.read_only,
        case_insensitive: o.case_insensitive,
        drive_type: o.drive_type,
        sector_size,
        allocation_unit_size: o.allocation_unit_size,
        threads: o.threads,
        file_info_timeout: o.attr_timeout,
        request_timeout: o.request_timeout,
        default_permissions: o.default_permissions,
        persistent_acls: o.persistent_acls,
    };
    options.validate()?;
    options.check_mount_point(&mount_point)?;
    Ok((mount_point, options))
}

/// `backend: 'auto'` on Windows: mounts with the backend [`auto::choose`] picks from
/// WinFsp's facts (`winfsp`) and, only if WinFsp cannot serve, Dokan's (`probe_dokan`).
fn mount_auto(
    (mount_point, options): (MountPoint, WindowsOptions),
    dispatch: Arc<dyn Dispatch>,
    winfsp: &mountkit_winfsp::WinFspFacts,
    probe_dokan: impl FnOnce() -> Result<mountkit_dokan::DokanInstall, mountkit_dokan::DokanUnavailable>,
) -> Result<Mounted, MountError> {
    use auto::AutoChoice;
    match auto::choose(winfsp, probe_dokan) {
        AutoChoice::WinFsp | AutoChoice::FailingWinFsp(_) => {
            WinFspMount::mount(&mount_point, dispatch, &options)
                .map(Mounted::WinFsp)
                .map_err(MountError::WinFsp)
        }
        AutoChoice::Dokan(problem) => DokanMount::mount(&mount_point, dispatch, &options)
            .map(Mounted::Dokan)
            .map_err(|dokan| MountError::DokanFallback {
                winfsp: problem,
                dokan,
            }),
        AutoChoice::NoDriver(dokan) => Err(MountError::NoDriver { dokan }),
    }
}

/// Whether `mountpoint` is a form only Windows mounts on: `'*'` or a network share.
fn is_windows_only(mountpoint: &str) -> bool {
    matches!(
        MountPoint::parse(mountpoint),
        Ok(MountPoint::NextFreeDrive | MountPoint::Share { .. })
    )
}

#[cfg(target_os = "linux")]
fn mount_fuse(
    mountpoint: &str,
    dispatch: Arc<dyn Dispatch>,
    o: &MountOptions,
) -> Result<Mounted, MountError> {
    use mountkit_fuse::{
        FuseMount, FuseOptions, IoUring as FuseIoUring, ReaddirPlus as FuseReaddirPlus,
    };
    if is_windows_only(mountpoint) {
        return Err(MountError::WindowsOnlyMountPoint {
            mountpoint: mountpoint.to_owned(),
        });
    }
    let options = FuseOptions {
        fs_name: o.fs_name.clone(),
        read_only: o.read_only,
        allow_other: o.allow_other,
        default_permissions: o.default_permissions,
        attr_ttl: o.attr_timeout,
        entry_ttl: o.entry_timeout,
        negative_ttl: o.negative_timeout,
        readdir_cache: o.readdir_cache,
        writeback_cache: o.writeback_cache,
        threads: o.threads.max(1) as usize,
        force: o.force,
        passthrough: o.passthrough,
        readdir_plus: match o.readdir_plus {
            ReaddirPlus::Off => FuseReaddirPlus::Off,
            ReaddirPlus::Auto => FuseReaddirPlus::Auto,
            ReaddirPlus::Always => FuseReaddirPlus::Always,
        },
        io_uring: match o.io_uring {
            IoUring::Off => FuseIoUring::Off,
            IoUring::Auto => FuseIoUring::Auto,
            IoUring::Always => FuseIoUring::Always,
        },
        lookup_from_listing: o.lookup_from_listing,
    };
    FuseMount::mount(mountpoint.as_ref(), dispatch, &options)
        .map(Mounted::Fuse)
        .map_err(MountError::Fuse)
}

#[cfg(not(target_os = "linux"))]
fn mount_fuse(
    mountpoint: &str,
    _: Arc<dyn Dispatch>,
    _: &MountOptions,
) -> Result<Mounted, MountError> {
    if is_windows_only(mountpoint) {
        return Err(MountError::WindowsOnlyMountPoint {
            mountpoint: mountpoint.to_owned(),
        });
    }
    Err(MountError::Unsupported {
        backend: Backend::Fuse,
    })
}

/// A mounted filesystem. Dropping it unmounts, as [`Mount::unmount`] does, but without
/// reporting a failure.
pub struct Mount {
    mounted: Mounted,
}

enum Mounted {
    #[cfg(target_os = "linux")]
    Fuse(mountkit_fuse::FuseMount),
    WinFsp(WinFspMount),
    Dokan(DokanMount),
}

impl Mount {
    /// The backend serving this mount: never [`Backend::Auto`].
    pub fn backend(&self) -> Backend {
        match &self.mounted {
            #[cfg(target_os = "linux")]
            Mounted::Fuse(_) => Backend::Fuse,
            Mounted::WinFsp(_) => Backend::WinFsp,
            Mounted::Dokan(_) => Backend::Dokan,
        }
    }

    /// Where the filesystem is mounted: an absolute path, a drive such as `M:` (on both Windows
    /// backends) — for `"*"`, the letter taken — a folder, or a share `\\server\share`
    /// (WinFsp; Dokan reports the drive letter it serves the share on).
    pub fn mountpoint(&self) -> String {
        match &self.mounted {
            #[cfg(target_os = "linux")]
            Mounted::Fuse(m) => m.mountpoint().to_string_lossy().into_owned(),
            Mounted::WinFsp(m) => m.mountpoint().to_windows_string(),
            Mounted::Dokan(m) => m.mountpoint(),
        }
    }

    /// The FUSE mount underneath, for what only FUSE offers (cache invalidation, the data
    /// path report, the inode and handle counts); `None` on the Windows backends.
    #[cfg(target_os = "linux")]
    pub fn as_fuse(&self) -> Option<&mountkit_fuse::FuseMount> {
        match &self.mounted {
            Mounted::Fuse(m) => Some(m),
            _ => None,
        }
    }

    /// A handle that reports changes the filesystem made itself (see [`Notifier`]), usable
    /// from any thread and after the mount is moved.
    pub fn notifier(&self) -> Notifier {
        match &self.mounted {
            #[cfg(target_os = "linux")]
            Mounted::Fuse(m) => Notifier::Fuse(m.invalidator()),
            Mounted::WinFsp(m) => Notifier::WinFsp(m.notifier()),
            Mounted::Dokan(m) => Notifier::Dokan(m.notifier()),
        }
    }

    /// Unmounts, blocking until the backend's threads have stopped. A backend thread waiting
    /// for the filesystem stops only once its request is answered (Dokan waits for such
    /// threads up to the request timeout), so call this from a thread the filesystem does
    /// not need in order to answer.
    pub fn unmount(self) -> io::Result<()> {
        match self.mounted {
            #[cfg(target_os = "linux")]
            Mounted::Fuse(m) => m.unmount(),
            Mounted::WinFsp(m) => {
                m.unmount();
                Ok(())
            }
            Mounted::Dokan(m) => {
                m.unmount();
                Ok(())
            }
        }
    }
}

/// Reports changes the filesystem made itself (a remote edit, another writer of its backing
/// store), on every backend: FUSE drops the kernel caches the change made stale
/// (`mountkit_fuse::fuse_invalidations`); WinFsp and Dokan send Windows change notifications,
/// which reach the programs watching a directory and make WinFsp drop what it caches
/// (`mountkit_core::windows::windows_notifications`).
#[derive(Clone)]
pub enum Notifier {
    /// A FUSE mount's.
    #[cfg(target_os = "linux")]
    Fuse(mountkit_fuse::Invalidator),
    /// A WinFsp volume's.
    WinFsp(mountkit_winfsp::WinFspNotifier),
    /// A Dokan volume's.
    Dokan(mountkit_dokan::DokanNotifier),
}

impl Notifier {
    /// Reports `change`. A path the kernel has never seen, or has forgotten, is not an error.
    /// Fails with `InvalidInput` for an invalid path ([`Change::validate`]), and when the
    /// volume is gone or the backend refuses, saying so.
    ///
    /// Blocks until the backend has taken the change (FUSE: until the kernel dropped its
    /// caches, which can wait on requests in flight for those files; WinFsp: while a rename
    /// is in progress), so call it from a thread that does not serve the filesystem's
    /// requests.
    pub fn notify(&self, change: &Change) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Notifier::Fuse(n) => n.notify(change),
            Notifier::WinFsp(n) => n.notify(change),
            Notifier::Dokan(n) => n.notify(change),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mountkit_core::Request;
    use mountkit_dokan::DokanInstall;
    use mountkit_winfsp::{DllFacts, ServiceFacts, WinFspFacts};

    use super::*;
    use crate::auto::WinFspProblem;

    struct Nothing;
    impl Dispatch for Nothing {
        fn dispatch(&self, _: Request) {}
    }

    fn refused(mountpoint: &str, options: &MountOptions) -> MountError {
        mount_dispatch(mountpoint, Arc::new(Nothing), options)
            .err()
            .expect("the mount is refused")
    }

    #[test]
    fn options_become_windows_options() {
        let options = MountOptions {
            drive_type: DriveType::Network,
            volume_label: "data".into(),
            allocation_unit_size: 65536,
            ..MountOptions::default()
        };
        let (point, w) = windows_options("m:", &options).unwrap();
        assert_eq!(point, MountPoint::Drive('M'));
        assert_eq!(w.drive_type, DriveType::Network);
        assert_eq!(w.volume_label, "data");
        assert_eq!(w.allocation_unit_size, 65536);
        assert_eq!(w.request_timeout, Duration::from_secs(30));
    }

    #[test]
    fn bad_windows_options_are_refused_with_the_option_named() {
        for backend in [Backend::WinFsp, Backend::Dokan] {
            let options = MountOptions {
                backend,
                sector_size: 100_000,
                ..MountOptions::default()
            };
            let error = refused("M:", &options);
            assert_eq!(error.code(), ErrorCode::InvalidOption, "{error}");
            assert!(error.to_string().contains("sectorSize"), "{error}");
            let options = MountOptions {
                backend,
                ..MountOptions::default()
            };
            let error = refused("1:", &options);
            assert_eq!(error.code(), ErrorCode::MountPoint, "{error}");
            assert!(error.to_string().contains("drive letter"), "{error}");
        }
    }

    #[test]
    fn windows_mount_points_become_windows_options() {
        let options = MountOptions::default();
        let (point, _) = windows_options("*", &options).unwrap();
        assert_eq!(point, MountPoint::NextFreeDrive);
        let (point, _) = windows_options("\\\\files\\team", &options).unwrap();
        assert_eq!(point.unc_prefix().as_deref(), Some("\\files\\team"));
        let lettered = MountOptions {
            drive_letter: Some("m:".to_owned()),
            ..MountOptions::default()
        };
        let (point, _) = windows_options("\\\\files\\team", &lettered).unwrap();
        assert!(
            matches!(
                point,
                MountPoint::Share {
                    drive: Some('M'),
                    ..
                }
            ),
            "{point:?}"
        );
        let error = windows_options("M:", &lettered).unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidOption, "{error}");
        assert!(
            error.to_string().contains("driveLetter goes with"),
            "{error}"
        );
        let network = MountOptions {
            drive_type: DriveType::Network,
            backend: Backend::WinFsp,
            ..MountOptions::default()
        };
        let error = refused("C:\\mnt\\x", &network);
        assert_eq!(error.code(), ErrorCode::InvalidOption, "{error}");
        assert!(error.to_string().contains("network drive"), "{error}");
        for backend in [Backend::WinFsp, Backend::Dokan] {
            let options = MountOptions {
                backend,
                ..MountOptions::default()
            };
            let error = refused("\\\\files", &options);
            assert_eq!(error.code(), ErrorCode::MountPoint, "{error}");
            assert!(error.to_string().contains("\\\\server\\share"), "{error}");
        }
    }

    #[test]
    fn fuse_refuses_the_windows_only_mount_points() {
        // On Windows, 'auto' picks a Windows backend, which takes these forms.
        let backends: &[Backend] = if cfg!(windows) {
            &[Backend::Fuse]
        } else {
            &[Backend::Fuse, Backend::Auto]
        };
        for &backend in backends {
            for mountpoint in ["*", "\\\\files\\team"] {
                let options = MountOptions {
                    backend,
                    ..MountOptions::default()
                };
                let error = refused(mountpoint, &options);
                assert_eq!(error.code(), ErrorCode::MountPoint, "{error}");
                assert!(error.to_string().contains("Windows mount point"), "{error}");
                assert!(error.to_string().contains(mountpoint), "{error}");
            }
        }
    }

    #[test]
    fn windows_backends_off_windows_say_so() {
        if cfg!(windows) {
            return;
        }
        for backend in [Backend::WinFsp, Backend::Dokan] {
            let options = MountOptions {
                backend,
                ..MountOptions::default()
            };
            let error = refused("M:", &options);
            assert_eq!(error.code(), ErrorCode::Platform, "{error}");
            assert!(error.to_string().contains("Windows"), "{error}");
        }
    }

    #[cfg(not(target_os = "linux"))]
    #[test]
    fn fuse_off_linux_says_so() {
        let options = MountOptions {
            backend: Backend::Fuse,
            ..MountOptions::default()
        };
        let error = refused("/mnt/x", &options);
        assert_eq!(error.code(), ErrorCode::Platform);
        assert!(error.to_string().contains("Linux only"), "{error}");
    }

    #[test]
    fn a_failing_dokan_fallback_says_why_winfsp_was_not_used() {
        let broken_winfsp = WinFspFacts {
            install_dir: Some("C:\\Program Files (x86)\\WinFsp\\".to_owned()),
            dll: DllFacts::Loaded { version: (2, 1) },
            driver: Some(ServiceFacts::unregistered("WinFsp")),
            ..WinFspFacts::default()
        };
        let dokan = || {
            Ok(DokanInstall {
                library_version: 210,
                driver_version: 0x190,
            })
        };
        // Options Dokan refuses before mounting, on every platform.
        let options = WindowsOptions {
            sector_size: 100,
            ..WindowsOptions::default()
        };
        let at = MountPoint::Drive('M');
        let dokan_error = DokanMount::mount(&at, Arc::new(Nothing), &options)
            .err()
            .unwrap();
        let error = mount_auto((at, options), Arc::new(Nothing), &broken_winfsp, dokan)
            .err()
            .unwrap();
        assert!(matches!(
            error,
            MountError::DokanFallback {
                winfsp: WinFspProblem::DriverCannotStart,
                ..
            }
        ));
        assert_eq!(error.code(), MountError::Dokan(dokan_error.clone()).code());
        assert_eq!(
            error.to_string(),
            format!(
                "WinFsp's driver cannot start, so backend 'auto' tried Dokan 2, which failed: \
                 {dokan_error}"
            )
        );
    }

    #[test]
    fn auto_with_neither_driver_installed_fails_with_enodriver() {
        let no_dokan = || {
            Err(mountkit_dokan::DokanUnavailable::NotInstalled {
                detail: "The specified module could not be found. (os error 126)".to_owned(),
            })
        };
        let error = mount_auto(
            (MountPoint::Drive('M'), WindowsOptions::default()),
            Arc::new(Nothing),
            &WinFspFacts::default(),
            no_dokan,
        )
        .err()
        .unwrap();
        assert_eq!(error.code(), ErrorCode::NoDriver);
        assert!(error
            .to_string()
            .starts_with("no Windows file system driver is available"));
    }
}
