//! Which backend serves a mount, chosen at run time: FUSE on Linux; on Windows what
//! [`auto::choose`] picks (WinFsp when it works, else Dokan), unless the options name one.
//! Every backend crate compiles on every platform and refuses to mount where its driver cannot
//! exist, so this choice needs no compile-time switches beyond FUSE, which exists only on
//! Linux.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use mountkit_core::windows::{DriveType, MountPoint, WindowsOptions};
use mountkit_dokan::{DokanInstall, DokanMount, DokanUnavailable};
use mountkit_winfsp::{WinFspFacts, WinFspMount};
use napi::{Error, Status};

use crate::auto::{self, AutoChoice, WinFspProblem};
use crate::bridge::Bridge;
use crate::{NativeDataPath, NativeMountOptions};

pub enum Backend {
    #[cfg(target_os = "linux")]
    Fuse(mountkit_fuse::FuseMount),
    WinFsp(WinFspMount),
    Dokan(DokanMount),
}

fn millis(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// The options of a Windows mount, from the JavaScript options.
pub fn windows_options(mountpoint: &str, o: &NativeMountOptions) -> Result<WindowsOptions, String> {
    let mount_point = MountPoint::parse(mountpoint).map_err(|_| {
        format!(
            "{mountpoint:?} is not a mount point: use a drive letter such as 'M:' or a folder path"
        )
    })?;
    let drive_type = match o.drive_type.as_str() {
        "fixed" => DriveType::Fixed,
        "network" => DriveType::Network,
        "removable" => DriveType::Removable,
        other => {
            return Err(format!(
                "driveType must be 'fixed', 'network' or 'removable', got '{other}'"
            ))
        }
    };
    let sector_size = u16::try_from(o.sector_size)
        .map_err(|_| format!("sectorSize must be at most 32768, got {}", o.sector_size))?;
    let options = WindowsOptions {
        mount_point,
        volume_label: o.volume_label.clone(),
        file_system_name: o.fs_name.clone(),
        read_only: o.read_only,
        case_insensitive: o.case_insensitive,
        drive_type,
        sector_size,
        allocation_unit_size: o.allocation_unit_size,
        threads: o.threads,
        file_info_timeout: millis(o.attr_timeout_ms),
        request_timeout: millis(o.timeout_ms),
    };
    options.validate()?;
    Ok(options)
}

impl Backend {
    pub fn mount(
        mountpoint: &str,
        bridge: Arc<Bridge>,
        o: &NativeMountOptions,
    ) -> Result<Backend, String> {
        match o.backend.as_str() {
            "fuse" => mount_fuse(mountpoint, bridge, o),
            "winfsp" => {
                WinFspMount::mount(&windows_options(mountpoint, o)?, bridge).map(Backend::WinFsp)
            }
            "dokan" => {
                DokanMount::mount(&windows_options(mountpoint, o)?, bridge).map(Backend::Dokan)
            }
            "auto" if cfg!(windows) => mount_auto(
                &windows_options(mountpoint, o)?,
                bridge,
                &mountkit_winfsp::gather_facts(),
                mountkit_dokan::probe,
            ),
            "auto" => mount_fuse(mountpoint, bridge, o),
            other => Err(format!(
                "backend must be 'auto', 'fuse', 'winfsp' or 'dokan', got '{other}'"
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Fuse(_) => "fuse",
            Backend::WinFsp(_) => "winfsp",
            Backend::Dokan(_) => "dokan",
        }
    }

    pub fn mountpoint(&self) -> String {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Fuse(m) => m.mountpoint().to_string_lossy().into_owned(),
            Backend::WinFsp(m) => m.mountpoint().to_windows_string(),
            Backend::Dokan(m) => m.mountpoint(),
        }
    }

    /// Unmounts, blocking until the backend's threads have stopped. A thread waiting for
    /// JavaScript stops only once its request is answered: Dokan waits for such threads up to
    /// the request timeout, so the caller must be able to close the bridge meanwhile (see
    /// `stop` in lib.rs).
    pub fn unmount(self) -> Result<(), String> {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Fuse(m) => m.unmount().map_err(|e| e.to_string()),
            Backend::WinFsp(m) => {
                m.unmount();
                Ok(())
            }
            Backend::Dokan(m) => {
                m.unmount();
                Ok(())
            }
        }
    }

    pub fn invalidator(&self) -> Result<Invalidator, String> {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Fuse(m) => Ok(Invalidator(m.invalidator())),
            other => Err(format!(
                "cache invalidation is not supported by the {} backend yet; keep attrTimeoutMs short there",
                other.name()
            )),
        }
    }

    pub fn data_path(&self) -> Result<NativeDataPath, String> {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Fuse(m) => {
                let report = m.data_path();
                Ok(NativeDataPath {
                    passthrough_negotiated: report.passthrough_negotiated,
                    passthrough_opens: report.passthrough_opens as f64,
                    rust_io_opens: report.rust_io_opens as f64,
                })
            }
            other => Err(format!(
                "the {} backend serves backing files in Rust and does not count them",
                other.name()
            )),
        }
    }
}

/// `backend: 'auto'` on Windows: mounts with the backend [`auto::choose`] picks from
/// WinFsp's facts (`winfsp`) and, only if WinFsp cannot serve, Dokan's (`probe_dokan`).
fn mount_auto(
    options: &WindowsOptions,
    bridge: Arc<Bridge>,
    winfsp: &WinFspFacts,
    probe_dokan: impl FnOnce() -> Result<DokanInstall, DokanUnavailable>,
) -> Result<Backend, String> {
    match auto::choose(winfsp, probe_dokan) {
        AutoChoice::WinFsp | AutoChoice::FailingWinFsp(_) => {
            WinFspMount::mount(options, bridge).map(Backend::WinFsp)
        }
        AutoChoice::Dokan(problem) => DokanMount::mount(options, bridge)
            .map(Backend::Dokan)
            .map_err(|error| dokan_fallback_failed(problem, &error)),
        AutoChoice::NoDriver(message) => Err(message),
    }
}

/// The error of a Dokan mount `'auto'` fell back to because of WinFsp's `problem`: the user
/// expecting WinFsp learns first why it was not used, then Dokan's own `error`.
fn dokan_fallback_failed(problem: WinFspProblem, error: &str) -> String {
    format!(
        "{}, so backend 'auto' tried Dokan 2, which failed: {error}",
        problem.reason()
    )
}

#[cfg(target_os = "linux")]
fn mount_fuse(
    mountpoint: &str,
    bridge: Arc<Bridge>,
    o: &NativeMountOptions,
) -> Result<Backend, String> {
    use mountkit_fuse::{FuseMount, FuseOptions};
    let options = FuseOptions {
        fs_name: o.fs_name.clone(),
        read_only: o.read_only,
        allow_other: o.allow_other,
        default_permissions: o.default_permissions,
        attr_ttl: millis(o.attr_timeout_ms),
        entry_ttl: millis(o.entry_timeout_ms),
        negative_ttl: millis(o.negative_timeout_ms),
        readdir_cache: o.readdir_cache,
        writeback_cache: o.writeback_cache,
        threads: o.threads.max(1) as usize,
        force: o.force,
        passthrough: o.passthrough,
    };
    FuseMount::mount(mountpoint.as_ref(), bridge, &options)
        .map(Backend::Fuse)
        .map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
fn mount_fuse(_: &str, _: Arc<Bridge>, _: &NativeMountOptions) -> Result<Backend, String> {
    Err("the FUSE backend is available on Linux only; on Windows use backend 'auto', 'winfsp' or 'dokan'".to_owned())
}

/// Drops kernel caches of a mount from a thread that does not serve its requests.
pub struct Invalidator(
    #[cfg(target_os = "linux")] mountkit_fuse::Invalidator,
    #[cfg(not(target_os = "linux"))] std::convert::Infallible,
);

impl Invalidator {
    pub fn invalidate(&self, path: &str, entry: bool) -> Result<(), String> {
        #[cfg(target_os = "linux")]
        {
            let result = if entry {
                self.0.invalidate_entry(path)
            } else {
                self.0.invalidate(path)
            };
            result.map_err(|e| format!("could not invalidate {path}: {e}"))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (path, entry);
            match self.0 {}
        }
    }
}

/// Lazily unmounts the FUSE filesystem at `path`, including a stale one.
pub fn unmount_path(path: &str) -> napi::Result<()> {
    #[cfg(target_os = "linux")]
    {
        mountkit_fuse::unmount_path(path.as_ref()).map_err(|e| {
            Error::new(
                Status::GenericFailure,
                format!("could not unmount {path}: {e}"),
            )
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(Error::new(
            Status::GenericFailure,
            format!("could not unmount {path}: stale mounts exist only with FUSE; Windows removes a volume when its process ends"),
        ))
    }
}

/// The id the kernel reports for requests made by the calling thread, to recognise a
/// synchronous call from the serving JavaScript thread into its own mount: FUSE reports the
/// calling thread. `None` off Linux: WinFsp and Dokan report a process id (WinFsp only for
/// creates, opens and renames, since every open is a Create request there; 0 otherwise),
/// which cannot tell the serving thread apart from libuv's pool threads that legitimately call
/// in from the same process.
pub fn serving_thread_id() -> Option<NonZeroU32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions and cannot fail.
        let thread = unsafe { libc::gettid() };
        NonZeroU32::new(thread as u32)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> NativeMountOptions {
        NativeMountOptions {
            fs_name: "mountkit".into(),
            read_only: false,
            allow_other: false,
            default_permissions: true,
            attr_timeout_ms: 1000.0,
            entry_timeout_ms: 1000.0,
            negative_timeout_ms: 0.0,
            readdir_cache: false,
            writeback_cache: false,
            timeout_ms: 30_000.0,
            timeout_errno: "ETIMEDOUT".into(),
            threads: 2,
            force: false,
            passthrough: true,
            native_answers: Vec::new(),
            backend: "auto".into(),
            volume_label: "data".into(),
            case_insensitive: true,
            drive_type: "network".into(),
            sector_size: 4096,
            allocation_unit_size: 65536,
        }
    }

    #[test]
    fn javascript_options_become_windows_options() {
        let w = windows_options("m:", &options()).unwrap();
        assert_eq!(w.mount_point, MountPoint::Drive('M'));
        assert_eq!(w.drive_type, DriveType::Network);
        assert_eq!(w.volume_label, "data");
        assert_eq!(w.allocation_unit_size, 65536);
        assert_eq!(w.request_timeout, Duration::from_secs(30));
    }

    #[test]
    fn bad_windows_options_are_refused_with_the_option_named() {
        let mut o = options();
        o.drive_type = "floppy".into();
        assert!(windows_options("M:", &o).unwrap_err().contains("driveType"));
        let mut o = options();
        o.sector_size = 100_000;
        assert!(windows_options("M:", &o)
            .unwrap_err()
            .contains("sectorSize"));
        assert!(windows_options("1:", &options())
            .unwrap_err()
            .contains("drive letter"));
    }

    #[test]
    fn unknown_backends_are_refused() {
        let mut o = options();
        o.backend = "nfs".into();
        let err = Backend::mount("/tmp", bridge(), &o).err().unwrap();
        assert!(err.contains("backend must be"), "{err}");
    }

    #[test]
    fn a_failing_dokan_fallback_says_why_winfsp_was_not_used() {
        let broken_winfsp = WinFspFacts {
            install_dir: Some("C:\\Program Files (x86)\\WinFsp\\".to_owned()),
            dll: mountkit_winfsp::DllFacts::Loaded { version: (2, 1) },
            driver: Some(mountkit_winfsp::ServiceFacts::unregistered("WinFsp")),
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
        let dokan_error = DokanMount::mount(&options, bridge()).err().unwrap();
        let error = mount_auto(&options, bridge(), &broken_winfsp, dokan)
            .err()
            .unwrap();
        assert_eq!(
            error,
            format!(
                "WinFsp's driver cannot start, so backend 'auto' tried Dokan 2, which failed: \
                 {dokan_error}"
            )
        );
    }

    fn bridge() -> Arc<Bridge> {
        Bridge::new(
            crate::bridge::Limits {
                timeout: Duration::from_secs(1),
                timeout_errno: mountkit_core::Errno::ETIMEDOUT,
                serving_thread: None,
                local_answers: Vec::new(),
            },
            Box::new(NoWake),
            None,
        )
    }

    struct NoWake;
    impl crate::bridge::Waker for NoWake {
        fn wake(&self) {}
    }
}
