//! Mounting a [`Dispatch`] as a Windows volume through Dokan 2, and finding out whether
//! Dokan is there at all.
//!
//! On other platforms the same API exists so callers need no `cfg` of their own: [`probe`]
//! and [`DokanMount::mount`] fail with a message saying Dokan is Windows-only, and no
//! [`DokanMount`] can ever exist.

use std::sync::Arc;

use mountkit_core::windows::options::{MountPoint, WindowsOptions};
use mountkit_core::{Change, Dispatch};

use crate::errors::{format_library_version, DokanMountError, DokanUnavailable};

/// What [`probe`] found installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DokanInstall {
    /// The library version as `DokanVersion` reports it, without dots (210 is 2.1.0).
    pub library_version: u32,
    /// The driver's protocol version as `DokanDriverVersion` reports it; never 0, since
    /// [`probe`] fails when the driver does not answer.
    pub driver_version: u32,
}

impl DokanInstall {
    /// The library version with dots, `2.1.0`.
    pub fn library_version_text(&self) -> String {
        format_library_version(self.library_version)
    }

    /// One line for diagnostics: `Dokan 2.1.0 (driver protocol 0x190)`.
    pub fn describe(&self) -> String {
        format!(
            "Dokan {} (driver protocol {:#x})",
            self.library_version_text(),
            self.driver_version
        )
    }
}

/// Finds the installed Dokan 2: loads `dokan2.dll` from `System32` (once per process) and
/// asks the library and the driver for their versions. Fails, saying why
/// ([`DokanUnavailable`], whose text says what to install or repair), when the library is
/// missing (and whether Dokan 1 is there instead), does not load, is not a Dokan 2 release,
/// or its driver is not running; and, on platforms other than Windows, always.
pub fn probe() -> Result<DokanInstall, DokanUnavailable> {
    imp::probe()
}

/// A mounted Dokan volume. Dropping it unmounts, like [`DokanMount::unmount`].
pub struct DokanMount {
    inner: imp::Mounted,
}

impl DokanMount {
    /// Mounts `dispatch` at `mount_point`, as `options` describe, and returns once the volume
    /// is visible.
    ///
    /// [`MountPoint::NextFreeDrive`] and [`MountPoint::Share`] (a network volume with the share
    /// as its UNC name, which Dokan serves only on a drive letter) take the first free drive
    /// letter from `Z:` down; a letter taken between the look and the mount makes Dokan fail,
    /// and the next one is tried.
    ///
    /// Fails, with nothing mounted, when the options are invalid
    /// ([`WindowsOptions::validate`], [`WindowsOptions::check_mount_point`]), when Dokan 2 is
    /// missing (see [`probe`]), or when
    /// `DokanCreateFileSystem` refuses (a drive letter in use, a mount point that is not an
    /// empty NTFS folder, ...); each message says what to do. Requests are served on Dokan's
    /// worker threads, each blocked until `dispatch` answers, which must therefore never
    /// need one of those threads to make progress.
    pub fn mount(
        mount_point: &MountPoint,
        dispatch: Arc<dyn Dispatch>,
        options: &WindowsOptions,
    ) -> Result<DokanMount, DokanMountError> {
        imp::mount(mount_point, dispatch, options).map(|inner| DokanMount { inner })
    }

    /// Where the volume is mounted: the mount point Dokan reported once mounted (the drive, or
    /// the folder), which can differ in spelling from the one asked for; for `*` and a share,
    /// the drive letter the mount took. A drive is spelled `M:`, as WinFsp's mounts report it,
    /// not `M:\` as Dokan does.
    pub fn mountpoint(&self) -> String {
        reported_mount_point(&self.inner.mountpoint())
    }

    /// Whether the volume is still mounted. It stops being mounted when it is unmounted from
    /// outside (`dokanctl /u`) or when the driver gave up on a request and unmounted it.
    pub fn is_mounted(&self) -> bool {
        self.inner.is_mounted()
    }

    /// A handle that reports changes to this volume; it may be used from any thread.
    pub fn notifier(&self) -> DokanNotifier {
        DokanNotifier(self.inner.notifier())
    }

    /// Unmounts the volume and waits until every callback has returned; requests still
    /// queued are failed by the driver. Then releases the dispatcher.
    ///
    /// This blocks: call it from a thread the dispatcher does not need in order to answer
    /// (for the Node.js addon, not the JavaScript thread), or callbacks still waiting for an
    /// answer hold the unmount up until their request timeout passes.
    pub fn unmount(mut self) {
        self.inner.unmount();
    }
}

/// The mount point as a mount reports it, from the spelling Dokan gives (`M:\\` for a drive,
/// where its library appends the backslash): without a trailing backslash, so a drive reads
/// `M:`, as on WinFsp and as users write it.
fn reported_mount_point(dokans: &str) -> String {
    dokans.strip_suffix('\\').unwrap_or(dokans).to_owned()
}

/// Reports changes the file system made itself to Windows (`DokanNotifyCreate`,
/// `DokanNotifyDelete`, `DokanNotifyUpdate`, `DokanNotifyRename`), which tells the programs
/// watching a directory.
#[derive(Clone)]
pub struct DokanNotifier(imp::Notifier);

impl DokanNotifier {
    /// Reports `change` with the `DokanNotify*` call for it: created, deleted and renamed as
    /// such; changed as an update (`FILE_ACTION_MODIFIED` with `FILE_NOTIFY_CHANGE_ATTRIBUTES`,
    /// what `DokanNotifyUpdate` sends); a changed name as an update of its directory. A path
    /// Windows has never seen is not an error.
    ///
    /// Dokan's calls are requests to the driver that do not wait for the file system, but
    /// call this from a thread that does not serve its requests all the same (never from a
    /// handler), as Dokan asks. Fails with `InvalidInput` for an invalid path
    /// ([`Change::validate`]), and when the volume has been unmounted or Dokan refuses, saying
    /// so.
    pub fn notify(&self, change: &Change) -> std::io::Result<()> {
        change
            .validate()
            .map_err(|invalid| std::io::Error::new(std::io::ErrorKind::InvalidInput, invalid))?;
        self.0.notify(change)
    }
}

#[cfg(windows)]
mod imp {
    use std::ptr;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Once};

    use mountkit_core::windows::options::{MountPoint, WindowsOptions};
    use mountkit_core::windows::wide::to_wide_nul;
    use mountkit_core::{Change, Dispatch};
    use parking_lot::{Mutex, RwLock};
    use windows_sys::Win32::Storage::FileSystem::GetLogicalDrives;

    use super::DokanInstall;
    use crate::callbacks::{self, Volume};
    use crate::config::{drive_mount_point, free_drive_letters, DokanConfig, DOKAN_API_VERSION};
    use crate::errors::{
        is_dokan2, DokanMountError, DokanUnavailable, DOKAN_MOUNT_ERROR, DOKAN_SUCCESS,
    };
    use crate::ffi::{
        DOKAN_HANDLE, DOKAN_OPERATIONS, DOKAN_OPTIONS, VOLUME_SECURITY_DESCRIPTOR_MAX_SIZE,
    };
    use crate::loader::{self, DokanApi};
    use crate::notify::{absolute_path, dokan_notice, DokanNotice};
    use crate::ops::DokanFs;

    /// `DokanInit` runs once, before the first mount of the process, and `DokanShutdown` never.
    /// Shutting the library down closes its thread pool, whose threads then end on their own
    /// after `DokanShutdown` has returned; a process that exits right after its last unmount
    /// would end while they are still exiting, which Wine does not always survive (the
    /// process ends with SIGSEGV). Kept initialized, the pool's threads wait idle for work, and the process's
    /// exit ends them as it ends its other idle threads.
    static INITIALIZED: Once = Once::new();

    fn initialize_library(api: &DokanApi) {
        INITIALIZED.call_once(|| {
            // SAFETY: DokanInit takes no arguments; `Once` runs it once per process, before
            // the first DokanCreateFileSystem.
            unsafe { (api.init)() };
        });
    }

    /// What Dokan keeps pointers to while the volume is mounted: it must not move or be
    /// freed until `DokanCloseHandle` has returned.
    struct Parts {
        options: DOKAN_OPTIONS,
        operations: DOKAN_OPERATIONS,
        mount_point: Vec<u16>,
        unc_name: Option<Vec<u16>>,
    }

    pub(super) struct Mounted {
        api: &'static DokanApi,
        handle: DOKAN_HANDLE,
        parts: *mut Parts,
        volume: Arc<Volume>,
        requested: String,
        link: Arc<Link>,
    }

    /// What a [`Notifier`] needs of the volume. `open` turns false, under its write lock,
    /// before the Dokan handle is closed, so a notification either uses a live handle or does
    /// not run.
    struct Link {
        api: &'static DokanApi,
        handle: usize,
        open: RwLock<bool>,
        volume: Arc<Volume>,
        requested: String,
    }

    /// Reports changes to one volume while it is mounted.
    #[derive(Clone)]
    pub(super) struct Notifier(Arc<Link>);

    impl Notifier {
        pub(super) fn notify(&self, change: &Change) -> std::io::Result<()> {
            let Some(notice) = dokan_notice(change) else {
                return Ok(());
            };
            let link = &*self.0;
            let mount_point = link
                .volume
                .mounted_at
                .lock()
                .clone()
                .unwrap_or_else(|| link.requested.clone());
            let full = |path| absolute_path(&mount_point, path);
            let open = link.open.read();
            if !*open {
                return Err(std::io::Error::other(
                    "cannot report a change: the Dokan volume is unmounted",
                ));
            }
            let handle = link.handle as DOKAN_HANDLE;
            let api = link.api;
            // One argument covers each call below: the handle is live while `open` is true and
            // its read lock is held, and the paths are NUL-terminated and outlive the call.
            let (function, reported) = match notice {
                DokanNotice::Create { path, directory } => (
                    "DokanNotifyCreate",
                    // SAFETY: the argument above.
                    unsafe { (api.notify_create)(handle, full(path).as_ptr(), directory.into()) },
                ),
                DokanNotice::Delete { path, directory } => (
                    "DokanNotifyDelete",
                    // SAFETY: the argument above.
                    unsafe { (api.notify_delete)(handle, full(path).as_ptr(), directory.into()) },
                ),
                DokanNotice::Update { path } => (
                    "DokanNotifyUpdate",
                    // SAFETY: the argument above.
                    unsafe { (api.notify_update)(handle, full(path).as_ptr()) },
                ),
                DokanNotice::Rename {
                    from,
                    to,
                    directory,
                    same_directory,
                } => (
                    "DokanNotifyRename",
                    // SAFETY: the argument above.
                    unsafe {
                        (api.notify_rename)(
                            handle,
                            full(from).as_ptr(),
                            full(to).as_ptr(),
                            directory.into(),
                            same_directory.into(),
                        )
                    },
                ),
            };
            drop(open);
            if reported == 0 {
                return Err(std::io::Error::other(format!(
                    "Dokan refused the change notification ({function} failed): the volume at \
                     {mount_point} may have been unmounted from outside"
                )));
            }
            Ok(())
        }
    }

    // SAFETY: the Dokan handle is an opaque token that DokanCloseHandle accepts from any
    // thread; `parts` is only read by Dokan's own threads and freed by `unmount`, which takes
    // `&mut self`; `volume` is shared through an Arc and is itself Send and Sync.
    unsafe impl Send for Mounted {}
    // SAFETY: `&self` methods only read `volume` (Sync) and `requested`.
    unsafe impl Sync for Mounted {}

    pub(super) fn probe() -> Result<DokanInstall, DokanUnavailable> {
        let api = loader::api()?;
        // SAFETY: DokanVersion takes no arguments and only reports a constant.
        let library_version = unsafe { (api.version)() };
        if !is_dokan2(library_version) {
            return Err(DokanUnavailable::WrongLibrary {
                version: library_version,
            });
        }
        // SAFETY: DokanDriverVersion takes no arguments; it returns 0 when the driver is
        // unreachable.
        let driver_version = unsafe { (api.driver_version)() };
        if driver_version == 0 {
            return Err(DokanUnavailable::DriverNotRunning { library_version });
        }
        Ok(DokanInstall {
            library_version,
            driver_version,
        })
    }

    pub(super) fn mount(
        mount_point: &MountPoint,
        dispatch: Arc<dyn Dispatch>,
        options: &WindowsOptions,
    ) -> Result<Mounted, DokanMountError> {
        options.validate()?;
        options.check_mount_point(mount_point)?;
        probe()?;
        let api = loader::api()?;
        let config = DokanConfig::from_options(mount_point, options);
        config.check_lengths()?;
        let security = mountkit_windows::file_security(options.default_permissions)
            .map_err(|detail| DokanMountError::Principals { detail })?;
        let volume = Arc::new(Volume {
            fs: DokanFs::new(dispatch, options, security),
            reset_timeout: api.reset_timeout,
            mounted_at: Mutex::new(None),
            mounted: AtomicBool::new(false),
        });
        let (handle, parts, requested) = match &config.mount_point {
            Some(given) => create(api, &config, given, &volume)
                .map(|(handle, parts)| (handle, parts, mount_point.to_windows_string()))
                .map_err(|code| DokanMountError::CreateFailed {
                    code,
                    mount_point: mount_point.clone(),
                })?,
            None => create_on_free_letter(api, &config, &volume).map_err(|code| {
                DokanMountError::CreateFailed {
                    code,
                    mount_point: mount_point.clone(),
                }
            })?,
        };
        let link = Arc::new(Link {
            api,
            handle: handle as usize,
            open: RwLock::new(true),
            volume: volume.clone(),
            requested: requested.clone(),
        });
        Ok(Mounted {
            api,
            handle,
            parts,
            volume,
            requested,
            link,
        })
    }

    /// Mounts on the first free drive letter, from `Z:` down ([`free_drive_letters`]), and
    /// returns the handle, the parts Dokan refers to and the letter (`M:`). A letter taken by
    /// someone else since `GetLogicalDrives` answered fails with `DOKAN_MOUNT_ERROR`, and the
    /// next is tried; any other failure, or no letter left, is the Dokan code returned.
    fn create_on_free_letter(
        api: &'static DokanApi,
        config: &DokanConfig,
        volume: &Arc<Volume>,
    ) -> Result<(DOKAN_HANDLE, *mut Parts, String), i32> {
        // SAFETY: GetLogicalDrives takes no arguments.
        let drives = unsafe { GetLogicalDrives() };
        for letter in free_drive_letters(drives) {
            match create(api, config, &drive_mount_point(letter), volume) {
                Ok((handle, parts)) => return Ok((handle, parts, format!("{letter}:"))),
                Err(DOKAN_MOUNT_ERROR) => continue,
                Err(code) => return Err(code),
            }
        }
        Err(DOKAN_MOUNT_ERROR)
    }

    /// One `DokanCreateFileSystem` at `mount_point` with `config`: the handle and the parts
    /// Dokan refers to until it is closed, or Dokan's code, with nothing left behind.
    fn create(
        api: &'static DokanApi,
        config: &DokanConfig,
        mount_point: &str,
        volume: &Arc<Volume>,
    ) -> Result<(DOKAN_HANDLE, *mut Parts), i32> {
        let parts = Box::into_raw(Box::new(Parts {
            options: DOKAN_OPTIONS {
                Version: DOKAN_API_VERSION,
                SingleThread: u8::from(config.single_thread),
                Options: config.flags,
                GlobalContext: Arc::as_ptr(volume) as usize as u64,
                MountPoint: ptr::null(),
                UNCName: ptr::null(),
                Timeout: config.timeout_ms,
                AllocationUnitSize: config.allocation_unit_size,
                SectorSize: config.sector_size,
                VolumeSecurityDescriptorLength: 0,
                VolumeSecurityDescriptor: [0; VOLUME_SECURITY_DESCRIPTOR_MAX_SIZE],
            },
            operations: callbacks::operations(),
            mount_point: to_wide_nul(mount_point),
            unc_name: config.unc_name.as_deref().map(to_wide_nul),
        }));
        // SAFETY: `parts` came from Box::into_raw and nothing else refers to it yet. The
        // string pointers refer to the Vecs' heap buffers, which `parts` owns.
        unsafe {
            (*parts).options.MountPoint = (*parts).mount_point.as_ptr();
            (*parts).options.UNCName = (*parts)
                .unc_name
                .as_ref()
                .map_or(ptr::null(), |name| name.as_ptr());
        }
        initialize_library(api);
        let mut handle: DOKAN_HANDLE = ptr::null_mut();
        // SAFETY: the options and operations live in `parts`, which stays allocated until
        // `unmount` has closed the handle; GlobalContext points into `volume`, which the
        // mount keeps alive as long. The callbacks have the signatures dokan.h declares.
        let code = unsafe {
            (api.create_file_system)(
                ptr::addr_of_mut!((*parts).options),
                ptr::addr_of_mut!((*parts).operations),
                &mut handle,
            )
        };
        if code != DOKAN_SUCCESS {
            // SAFETY: the mount failed, so Dokan keeps no pointer into `parts`.
            drop(unsafe { Box::from_raw(parts) });
            return Err(code);
        }
        Ok((handle, parts))
    }

    impl Mounted {
        pub(super) fn mountpoint(&self) -> String {
            self.volume
                .mounted_at
                .lock()
                .clone()
                .unwrap_or_else(|| self.requested.clone())
        }

        pub(super) fn is_mounted(&self) -> bool {
            !self.handle.is_null() && self.volume.mounted.load(Ordering::SeqCst)
        }

        pub(super) fn notifier(&self) -> Notifier {
            Notifier(self.link.clone())
        }

        pub(super) fn unmount(&mut self) {
            if self.handle.is_null() {
                return;
            }
            let handle = self.handle;
            self.handle = ptr::null_mut();
            // Waits for a notification in progress; none starts after this.
            *self.link.open.write() = false;
            // SAFETY: `handle` came from DokanCreateFileSystem and is closed exactly once;
            // DokanCloseHandle returns only after every callback has finished.
            unsafe { (self.api.close_handle)(handle) };
            // SAFETY: Dokan no longer refers to `parts`, which came from Box::into_raw and
            // is freed once (`handle` is null from now on).
            drop(unsafe { Box::from_raw(self.parts) });
            self.parts = ptr::null_mut();
        }
    }

    impl Drop for Mounted {
        fn drop(&mut self) {
            self.unmount();
        }
    }
}

#[cfg(not(windows))]
mod imp {
    use std::convert::Infallible;
    use std::sync::Arc;

    use mountkit_core::windows::options::{MountPoint, WindowsOptions};
    use mountkit_core::Dispatch;

    use super::DokanInstall;
    use crate::errors::{DokanMountError, DokanUnavailable};

    fn unsupported() -> DokanUnavailable {
        DokanUnavailable::NotWindows {
            os: std::env::consts::OS,
        }
    }

    pub(super) struct Mounted {
        never: Infallible,
    }

    /// The notifier of a volume, which cannot exist off Windows.
    #[derive(Clone)]
    pub(super) enum Notifier {}

    impl Notifier {
        pub(super) fn notify(&self, _: &mountkit_core::Change) -> std::io::Result<()> {
            match *self {}
        }
    }

    pub(super) fn probe() -> Result<DokanInstall, DokanUnavailable> {
        Err(unsupported())
    }

    pub(super) fn mount(
        _mount_point: &MountPoint,
        _dispatch: Arc<dyn Dispatch>,
        _options: &WindowsOptions,
    ) -> Result<Mounted, DokanMountError> {
        Err(DokanMountError::Unavailable(unsupported()))
    }

    impl Mounted {
        pub(super) fn mountpoint(&self) -> String {
            match self.never {}
        }

        pub(super) fn is_mounted(&self) -> bool {
            match self.never {}
        }

        pub(super) fn unmount(&mut self) {
            match self.never {}
        }

        pub(super) fn notifier(&self) -> Notifier {
            match self.never {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drive_is_reported_without_its_backslash() {
        assert_eq!(reported_mount_point("M:\\"), "M:");
        assert_eq!(reported_mount_point("M:"), "M:");
        assert_eq!(reported_mount_point("C:\\mnt\\data\\"), "C:\\mnt\\data");
        assert_eq!(reported_mount_point("C:\\mnt\\data"), "C:\\mnt\\data");
    }

    #[test]
    fn installs_describe_themselves() {
        let install = DokanInstall {
            library_version: 210,
            driver_version: 0x190,
        };
        assert_eq!(install.library_version_text(), "2.1.0");
        assert_eq!(install.describe(), "Dokan 2.1.0 (driver protocol 0x190)");
    }

    #[cfg(not(windows))]
    #[test]
    fn other_platforms_say_dokan_is_windows_only() {
        struct Nothing;
        impl Dispatch for Nothing {
            fn dispatch(&self, _request: mountkit_core::Request) {}
        }
        assert_eq!(
            probe(),
            Err(DokanUnavailable::NotWindows {
                os: std::env::consts::OS
            })
        );
        let options = WindowsOptions::default();
        let error = DokanMount::mount(&MountPoint::Drive('M'), Arc::new(Nothing), &options)
            .err()
            .unwrap();
        assert_eq!(
            error,
            DokanMountError::Unavailable(DokanUnavailable::NotWindows {
                os: std::env::consts::OS
            })
        );
        assert!(error.to_string().contains("Windows"), "{error}");
    }
}
