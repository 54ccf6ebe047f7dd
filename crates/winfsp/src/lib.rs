//! # mountkit-winfsp
//!
//! The WinFsp backend of mountkit: serves any [`mountkit_core::Dispatch`] as a Windows volume
//! through [WinFsp](https://winfsp.dev), on a drive letter or a folder.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mountkit_core::windows::{MountPoint, WindowsOptions};
//! use mountkit_core::{DispatchLimits, FileSystem, FsDispatcher};
//! use mountkit_winfsp::WinFspMount;
//!
//! struct Empty;
//! impl FileSystem for Empty {}
//!
//! let dispatcher = Arc::new(FsDispatcher::new(Empty, DispatchLimits::default()));
//! let mount = WinFspMount::mount(&MountPoint::Drive('M'), dispatcher, &WindowsOptions::default())?;
//! mount.unmount();
//! # Ok::<(), mountkit_winfsp::WinFspError>(())
//! ```
//!
//! WinFsp's DLL is loaded at run time from the folder its installer registers, so this crate
//! builds, and programs using it start, on machines without WinFsp; [`WinFspMount::mount`]
//! then fails with [`WinFspError::NotInstalled`], whose text names the installer. The API
//! compiles on every platform; off Windows, [`WinFspMount::mount`] and [`probe`] fail with
//! [`WinFspError::NotWindows`], and
//! [`gather_facts`] (what `mountkit doctor` reports) finds nothing and says why.
//!
//! Each WinFsp callback is a thin shim (the Windows-only `interface` module) over a
//! platform-neutral engine that turns it into core operations with POSIX meaning, using the
//! core's Windows semantics (create dispositions, delete-on-close, DOS wildcards, FILETIMEs,
//! attributes). That engine, the data layouts shared with WinFsp, the volume parameters, the
//! DLL's location and the failure messages compile and are tested on every platform. Read,
//! Write and ReadDirectory are answered asynchronously, so a slow handler never holds a WinFsp
//! dispatcher thread; the other callbacks wait on their dispatcher thread for the handler's
//! answer. `docs/windows-winfsp.md` in the repository maps every callback to its operations.

mod diagnose;
mod errors;
mod loader;
mod mount;

// The engine is platform-neutral and tested everywhere, but only the Windows callbacks drive
// it, so elsewhere it is compiled for the tests alone.
#[cfg(any(windows, test))]
mod context;
#[cfg(any(windows, test))]
mod dir;
#[cfg(any(windows, test))]
mod engine;
#[cfg(any(windows, test))]
mod fsctl;
#[cfg(any(windows, test))]
mod gate;
#[cfg(any(windows, test))]
mod info;
#[cfg(any(windows, test))]
mod io;
#[cfg(any(windows, test))]
mod metadata;
#[cfg(any(windows, test))]
mod namespace;
#[cfg(any(windows, test))]
mod notify;
#[cfg(any(windows, test))]
mod open;
#[cfg(any(windows, test))]
mod reparse;
#[cfg(any(windows, test))]
mod security;
#[cfg(any(windows, test))]
mod volume;

#[cfg(windows)]
mod ffi;
#[cfg(windows)]
mod interface;

#[cfg(test)]
mod tests;

pub use diagnose::{
    delete_service_command, explain_create_failure, explain_dispatcher_failure,
    explain_mount_point_failure, is_installed_driver_file, service_key, DllFacts, ServiceFacts,
    WinFspFacts, DRIVER_SERVICE_STEM, INSTALLER_URL, LAUNCHER_SERVICE_NAME, SERVICES_KEY,
};
pub use errors::WinFspError;
pub use loader::{not_installed_message, WinFspInstall, INSTALL_KEYS};
pub use mount::{gather_facts, probe, WinFspMount, WinFspNotifier};
