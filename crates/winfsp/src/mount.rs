//! Mounting and unmounting a WinFsp volume: the public API.
//!
//! The API exists on every platform, so callers need no `cfg` of their own; off Windows,
//! [`WinFspMount::mount`] and [`probe`] fail with a message saying that WinFsp is Windows-only.

use std::sync::Arc;

use mountkit_core::windows::{MountPoint, WindowsOptions};
use mountkit_core::{Change, Dispatch};

use crate::diagnose::WinFspFacts;
use crate::errors::WinFspError;
use crate::loader::WinFspInstall;

/// A mounted WinFsp volume serving a [`Dispatch`]. Dropping it unmounts, as
/// [`WinFspMount::unmount`] describes.
pub struct WinFspMount {
    mount_point: MountPoint,
    _live: platform::Live,
}

impl WinFspMount {
    /// Mounts a volume at `mount_point` that serves `dispatch`, as `options` describe, and
    /// starts serving it.
    ///
    /// On success the volume is visible at the mount point and every request reaches
    /// `dispatch`. On failure nothing stays mounted and the error says why and what to do:
    /// invalid options (see `WindowsOptions::validate`; also a removable drive type, a network
    /// drive on a folder), WinFsp not installed (naming the installer, <https://winfsp.dev/rel/>),
    /// the WinFsp driver unable to start (after a reboot or an upgrade of WinFsp this is a
    /// broken service registry entry, and the message gives the fix), the mount point in use,
    /// the dispatcher failing to start, or, off Windows, that WinFsp exists only on Windows.
    /// The [`WinFspError`] carries the facts (statuses, the driver's registry entry) besides
    /// that text.
    pub fn mount(
        mount_point: &MountPoint,
        dispatch: Arc<dyn Dispatch>,
        options: &WindowsOptions,
    ) -> Result<WinFspMount, WinFspError> {
        let (live, mounted_at) = platform::mount(mount_point, dispatch, options)?;
        Ok(WinFspMount {
            _live: live,
            mount_point: mounted_at,
        })
    }

    /// Where the volume is mounted: the letter WinFsp took for [`MountPoint::NextFreeDrive`],
    /// else the mount point as asked for.
    pub fn mountpoint(&self) -> &MountPoint {
        &self.mount_point
    }

    /// A handle that reports changes to this volume; it may be used from any thread.
    pub fn notifier(&self) -> WinFspNotifier {
        WinFspNotifier(self._live.notifier())
    }

    /// Unmounts the volume, never waiting on handlers for more than about two seconds, so it
    /// may be called from the thread that runs them:
    ///
    /// 1. Requests that wait for a handler on a WinFsp thread are answered
    ///    `STATUS_DEVICE_NOT_READY` at once, and so is every request that arrives later.
    /// 2. Pending reads, writes and directory reads get up to two seconds to be answered;
    ///    after that their answers are dropped, and WinFsp cancels them as the volume stops.
    /// 3. The mount point is removed and WinFsp's threads stop.
    /// 4. Every handle the filesystem still has open is released (`release`/`releasedir`,
    ///    without waiting for the answers), and WinFsp's file system object is deleted.
    ///
    /// Handlers may still receive those releases, and answers to abandoned requests are
    /// ignored, after this returns.
    pub fn unmount(self) {
        drop(self);
    }
}

/// Reports changes the file system made itself to Windows (`FspFileSystemNotify`), which tells
/// the programs watching a directory and drops what WinFsp caches of the files.
#[derive(Clone)]
pub struct WinFspNotifier(platform::Notifier);

impl WinFspNotifier {
    /// Reports `change` as the notifications
    /// [`windows_notifications`](mountkit_core::windows::windows_notifications) lists, between
    /// `FspFileSystemNotifyBegin` and `FspFileSystemNotifyEnd`. A path Windows has never seen
    /// is not an error.
    ///
    /// Blocks while a rename is in progress, up to the request timeout: call it from a thread
    /// that does not serve the file system's requests (never from a handler). Fails with
    /// `InvalidInput` for an invalid path ([`Change::validate`]), and when the volume has been
    /// unmounted or WinFsp refuses, saying so.
    pub fn notify(&self, change: &Change) -> std::io::Result<()> {
        change
            .validate()
            .map_err(|invalid| std::io::Error::new(std::io::ErrorKind::InvalidInput, invalid))?;
        self.0.notify(change)
    }
}

/// Finds and loads the installed WinFsp, for diagnostics: its folder, the DLL loaded, its
/// version, and what the registry says of its driver. Fails with the same errors as
/// [`WinFspMount::mount`] when WinFsp is missing or cannot be loaded, and off Windows.
pub fn probe() -> Result<WinFspInstall, WinFspError> {
    platform::probe()
}

/// Gathers what `mountkit doctor` reports about WinFsp: the installation folder, whether the
/// DLL loads (and its version, or the Windows error), and the registry entries of the driver
/// and launcher services with whether their files exist. Unlike [`probe`], it reports
/// everything it can find even when the DLL does not load. Off Windows it looks up nothing and
/// says so in [`WinFspFacts::not_windows`].
pub fn gather_facts() -> WinFspFacts {
    platform::gather_facts()
}

#[cfg(not(windows))]
mod platform {
    use super::*;

    use crate::errors::ONLY_ON_WINDOWS;

    /// A mounted volume, which cannot exist off Windows.
    pub(super) enum Live {}

    impl Live {
        pub(super) fn notifier(&self) -> Notifier {
            match *self {}
        }
    }

    /// The notifier of a volume, which cannot exist off Windows.
    #[derive(Clone)]
    pub(super) enum Notifier {}

    impl Notifier {
        pub(super) fn notify(&self, _: &Change) -> std::io::Result<()> {
            match *self {}
        }
    }

    pub(super) fn mount(
        _: &MountPoint,
        _: Arc<dyn Dispatch>,
        _: &WindowsOptions,
    ) -> Result<(Live, MountPoint), WinFspError> {
        Err(WinFspError::NotWindows)
    }

    pub(super) fn probe() -> Result<WinFspInstall, WinFspError> {
        Err(WinFspError::NotWindows)
    }

    pub(super) fn gather_facts() -> WinFspFacts {
        WinFspFacts {
            not_windows: Some(ONLY_ON_WINDOWS.to_owned()),
            ..WinFspFacts::default()
        }
    }
}

#[cfg(windows)]
mod platform {
    use std::time::{Duration, SystemTime};

    use log::warn;
    use mountkit_core::windows::wide::to_wide_nul;
    use mountkit_core::windows::{
        describe_ntstatus, filetime_from_system_time, nt_success, windows_notifications,
    };
    use mountkit_windows::{Library, LoadError};
    use parking_lot::RwLock;

    use super::*;
    use crate::diagnose::{driver_service_name, DllFacts, ServiceFacts, LAUNCHER_SERVICE_NAME};
    use crate::engine::{Engine, EngineOptions};
    use crate::ffi::{api, Api, FspFileSystem};
    use crate::gate::Gate;
    use crate::interface::{Shared, INTERFACE};
    use crate::loader::win32::{install_dir, service_facts, winfsp_driver_services};
    use crate::loader::Arch;
    use crate::notify::notify_records;
    use crate::security::descriptor_from_sddl;
    use crate::volume::{call_timeout, volume_setup};

    /// How long unmounting waits for pending reads, writes and directory reads to be answered
    /// before it stops answering them.
    const UNMOUNT_GRACE: Duration = Duration::from_secs(2);

    /// `STATUS_CANT_WAIT`: `FspFileSystemNotifyBegin` gave up waiting for a rename.
    const STATUS_CANT_WAIT: i32 = 0xC000_00D8_u32 as i32;

    /// A WinFsp file system object and the mount state its callbacks use. Dropping it
    /// unmounts.
    pub(super) struct Live {
        file_system: *mut FspFileSystem,
        shared: *mut Shared,
        api: &'static Api,
        link: Arc<Link>,
    }

    /// What a [`Notifier`] needs of the volume. `open` turns false, under its write lock,
    /// before the file system object is deleted, so a notification either runs on a live
    /// object or does not run.
    struct Link {
        file_system: usize,
        api: &'static Api,
        open: RwLock<bool>,
        rename_wait_ms: u32,
    }

    /// Reports changes to one volume while it is mounted.
    #[derive(Clone)]
    pub(super) struct Notifier(Arc<Link>);

    impl Live {
        pub(super) fn notifier(&self) -> Notifier {
            Notifier(self.link.clone())
        }
    }

    impl Notifier {
        pub(super) fn notify(&self, change: &Change) -> std::io::Result<()> {
            let notifications = windows_notifications(change);
            if notifications.is_empty() {
                return Ok(());
            }
            let Some((mut records, length)) = notify_records(&notifications) else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("cannot report that {change}: a path is too long for WinFsp"),
                ));
            };
            let link = &*self.0;
            let open = link.open.read();
            if !*open {
                return Err(std::io::Error::other(
                    "cannot report a change: the WinFsp volume is unmounted",
                ));
            }
            let file_system = link.file_system as *mut FspFileSystem;
            // SAFETY: the file system object is live while `open` is true and its read lock
            // is held.
            let status = unsafe { (link.api.notify_begin)(file_system, link.rename_wait_ms) };
            if !nt_success(status) {
                return Err(refused("FspFileSystemNotifyBegin", status));
            }
            // SAFETY: as above; `records` holds `length` bytes of FSP_FSCTL_NOTIFY_INFO
            // records, 8-byte aligned, and outlives the call.
            let status =
                unsafe { (link.api.notify)(file_system, records.as_mut_ptr().cast(), length) };
            // SAFETY: as above; every successful begin is ended, or renames stay held off.
            let ended = unsafe { (link.api.notify_end)(file_system) };
            drop(open);
            if !nt_success(status) {
                return Err(refused("FspFileSystemNotify", status));
            }
            if !nt_success(ended) {
                return Err(refused("FspFileSystemNotifyEnd", ended));
            }
            Ok(())
        }
    }

    /// WinFsp refusing a notification call.
    fn refused(function: &str, status: i32) -> std::io::Error {
        let hint = if status == STATUS_CANT_WAIT {
            " (a rename was still in progress when the wait ended; report the change again)"
        } else {
            ""
        };
        std::io::Error::other(format!(
            "WinFsp refused the change notification: {function} answered {}{hint}",
            describe_ntstatus(status)
        ))
    }

    // SAFETY: the pointers are owned by this value and used only when it is dropped; WinFsp's
    // file system functions may be called from any thread.
    unsafe impl Send for Live {}
    // SAFETY: a shared `&Live` gives access to nothing.
    unsafe impl Sync for Live {}

    pub(super) fn mount(
        mount_point: &MountPoint,
        dispatch: Arc<dyn Dispatch>,
        options: &WindowsOptions,
    ) -> Result<(Live, MountPoint), WinFspError> {
        let now = filetime_from_system_time(SystemTime::now());
        let setup = volume_setup(mount_point, options, now)?;
        let api = api()?;
        let engine = Engine::new(
            dispatch,
            EngineOptions {
                case_insensitive: options.case_insensitive,
                read_only: options.read_only,
                allocation_unit: u64::from(options.allocation_unit_size),
                call_timeout: call_timeout(options.request_timeout),
                volume_label: options.volume_label.clone(),
                security: mountkit_windows::file_security(options.default_permissions)
                    .map_err(|detail| WinFspError::SecurityDescriptor { detail })?,
                mount_point: setup
                    .mount_point
                    .clone()
                    .unwrap_or_else(|| mount_point.to_windows_string()),
                descriptor_of: descriptor_from_sddl,
                persistent_acls: options.persistent_acls,
                share_root: match mount_point {
                    MountPoint::Share { drive: Some(_), .. } => {
                        Some(mount_point.to_windows_string())
                    }
                    _ => None,
                },
            },
        );

        let device = to_wide_nul(setup.device);
        let mut file_system = std::ptr::null_mut();
        // SAFETY: the device name is NUL-terminated, the parameters outlive the call, the
        // interface is static (WinFsp keeps a pointer to it for the file system's life), and
        // `file_system` receives the new object.
        let status = unsafe {
            (api.file_system_create)(device.as_ptr(), &setup.params, &INTERFACE, &mut file_system)
        };
        if !nt_success(status) {
            return Err(WinFspError::CreateFailed {
                status,
                driver: driver_service(Some(api)),
            });
        }
        let shared = Box::into_raw(Box::new(Shared {
            engine: Arc::clone(&engine),
            gate: Gate::new(),
            api,
            file_system: file_system as usize,
        }));
        // SAFETY: `file_system` is the object WinFsp just created; no dispatcher runs yet, so
        // nothing reads `UserContext` concurrently.
        unsafe { (*file_system).user_context = shared.cast() };
        // From here on, dropping `live` (on a failure below) undoes everything.
        let live = Live {
            file_system,
            shared,
            api,
            link: Arc::new(Link {
                file_system: file_system as usize,
                api,
                open: RwLock::new(true),
                rename_wait_ms: u32::try_from(options.request_timeout.as_millis())
                    .unwrap_or(u32::MAX),
            }),
        };

        let mut mounted_at = mount_point.clone();
        // A share has no mount point: WinFsp's network device serves its prefix.
        if let Some(wanted) = &setup.mount_point {
            let mut wide_mount_point = to_wide_nul(wanted);
            // SAFETY: the file system is live and the mount point is NUL-terminated.
            let status =
                unsafe { (api.set_mount_point)(file_system, wide_mount_point.as_mut_ptr()) };
            if !nt_success(status) {
                return Err(WinFspError::MountPointFailed {
                    status,
                    mount_point: mount_point.clone(),
                });
            }
            // SAFETY: the file system is live, and WinFsp set `MountPoint` to its own
            // NUL-terminated copy (or left it null), which lives until the mount point is
            // removed.
            let taken = unsafe { nul_terminated((*file_system).mount_point) };
            if let Some(Ok(taken)) = taken.as_deref().map(MountPoint::parse) {
                engine.mounted_at(taken.to_windows_string());
                mounted_at = taken;
            }
        }
        // SAFETY: the file system is live and has its mount state.
        let status = unsafe { (api.start_dispatcher)(file_system, options.threads) };
        if !nt_success(status) {
            return Err(WinFspError::DispatcherFailed { status });
        }
        Ok((live, mounted_at))
    }

    /// The text of a NUL-terminated UTF-16 string, `None` for a null pointer or text that is
    /// not valid UTF-16.
    ///
    /// # Safety
    ///
    /// `text` is null or points to a NUL-terminated string.
    unsafe fn nul_terminated(text: *const u16) -> Option<String> {
        if text.is_null() {
            return None;
        }
        let mut length = 0;
        // SAFETY: the caller's promise: every unit up to the NUL is readable.
        while unsafe { *text.add(length) } != 0 {
            length += 1;
        }
        // SAFETY: the `length` units before the NUL were just read.
        String::from_utf16(unsafe { std::slice::from_raw_parts(text, length) }).ok()
    }

    impl Drop for Live {
        fn drop(&mut self) {
            // SAFETY: `shared` was created by `mount` and is freed only at the end of this.
            let shared = unsafe { &*self.shared };
            shared.engine.shut_down();
            // Waits for a notification in progress, which the shut-down engine no longer holds
            // up (a rename it waits for has just been answered); none starts after this.
            *self.link.open.write() = false;
            let unanswered = shared.gate.close(UNMOUNT_GRACE);
            if unanswered > 0 {
                warn!("{unanswered} WinFsp requests were still unanswered at unmount");
            }
            // SAFETY: the file system is live; stopping the dispatcher waits for its threads,
            // which no longer wait for handlers now that the engine is shut down. Both calls
            // do nothing if the mount point or the dispatcher was never set up.
            unsafe {
                (self.api.remove_mount_point)(self.file_system);
                (self.api.stop_dispatcher)(self.file_system);
            }
            shared.engine.release_all();
            // SAFETY: no dispatcher thread runs and the gate is closed, so nothing uses the
            // file system object or the mount state any more; each is freed exactly once.
            unsafe {
                (self.api.file_system_delete)(self.file_system);
                drop(Box::from_raw(self.shared));
            }
        }
    }

    /// Loads WinFsp (if not yet loaded) and asks its version, as `(major, minor)`.
    fn dll_version() -> Result<(u16, u16), WinFspError> {
        let api = api()?;
        let mut version = 0u32;
        // SAFETY: `version` is writable.
        let status = unsafe { (api.version)(&mut version) };
        if !nt_success(status) {
            return Err(WinFspError::NoVersion {
                dll_path: api.path.clone(),
                status,
            });
        }
        Ok(((version >> 16) as u16, version as u16))
    }

    /// The driver service that WinFsp's DLL starts (`api` when it loaded; see
    /// [`driver_service_name`]), and what the registry says of it.
    fn driver_service(api: Option<&Api>) -> ServiceFacts {
        let sxs_ident = api.and_then(Api::sxs_ident);
        let name = driver_service_name(sxs_ident.as_deref(), &winfsp_driver_services());
        service_facts(&name)
    }

    pub(super) fn probe() -> Result<WinFspInstall, WinFspError> {
        let version = dll_version()?;
        let api = api()?;
        Ok(WinFspInstall {
            install_dir: install_dir().unwrap_or_default(),
            dll_path: api.path.clone(),
            version,
            driver: driver_service(Some(api)),
        })
    }

    pub(super) fn gather_facts() -> WinFspFacts {
        let install_dir = install_dir();
        let dll_path = install_dir
            .as_deref()
            .zip(Arch::current())
            .map(|(dir, arch)| crate::loader::dll_path(dir, arch));
        let dll = match (&install_dir, &dll_path) {
            (None, _) => DllFacts::NotTried,
            (Some(_), None) => DllFacts::Unusable(WinFspError::NoDllForArch),
            // Loading the DLL by its path first tells a DLL that does not load (with the
            // Windows error) from one that loads but lacks something; it is never unloaded,
            // as for mounting.
            (Some(_), Some(path)) => match Library::open(path) {
                Err(LoadError { code, .. }) => {
                    let text = std::io::Error::from_raw_os_error(code as i32).to_string();
                    let suffix = format!(" (os error {code})");
                    DllFacts::LoadFailed {
                        code,
                        message: text.strip_suffix(&suffix).unwrap_or(&text).to_owned(),
                    }
                }
                Ok(_) => match dll_version() {
                    Ok(version) => DllFacts::Loaded { version },
                    Err(unusable) => DllFacts::Unusable(unusable),
                },
            },
        };
        // Without an installation there is no service to speak of.
        let installed = install_dir.is_some();
        let driver = installed.then(|| driver_service(api().ok()));
        let launcher = installed.then(|| service_facts(LAUNCHER_SERVICE_NAME));
        WinFspFacts {
            not_windows: None,
            install_dir,
            dll_path,
            dll,
            driver,
            launcher,
        }
    }
}

#[cfg(all(test, not(windows)))]
mod tests {
    use mountkit_core::Request;

    use super::*;

    struct Nothing;
    impl Dispatch for Nothing {
        fn dispatch(&self, _: Request) {}
    }

    #[test]
    fn mounting_off_windows_says_why() {
        let options = WindowsOptions::default();
        let error = WinFspMount::mount(&MountPoint::Drive('M'), Arc::new(Nothing), &options)
            .err()
            .unwrap();
        assert_eq!(error, WinFspError::NotWindows);
        assert!(error.to_string().contains("only on Windows"), "{error}");
        assert_eq!(probe().unwrap_err(), WinFspError::NotWindows);
    }

    #[test]
    fn gathering_off_windows_says_why_and_finds_nothing() {
        let facts = gather_facts();
        assert!(facts
            .not_windows
            .as_deref()
            .unwrap()
            .contains("only on Windows"));
        assert_eq!(
            WinFspFacts {
                not_windows: None,
                ..facts
            },
            WinFspFacts::default()
        );
    }
}
