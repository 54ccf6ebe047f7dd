//! Why WinFsp cannot mount or be found, as facts a caller can act on without reading text.
//!
//! [`WinFspError`] is what [`WinFspMount::mount`](crate::WinFspMount::mount) and
//! [`probe`](crate::probe) fail with. Each variant carries what was found (the status WinFsp
//! answered, the driver service's registry entry, the DLL's path), and its text
//! ([`fmt::Display`]) says what happened and what to do, as the functions of `diagnose` and
//! `loader` word it. Nothing here touches Windows, so every message is tested everywhere.

use std::fmt;

use mountkit_core::windows::{describe_ntstatus, InvalidOption, MountPoint};

use crate::diagnose::{
    explain_create_failure, explain_dispatcher_failure, explain_mount_point_failure, ServiceFacts,
};
use crate::loader::{
    load_failure_message, missing_function_message, not_installed_message, NO_DLL_FOR_ARCH,
};

/// What WinFsp's backend says when this is not Windows.
pub(crate) const ONLY_ON_WINDOWS: &str =
    "WinFsp is a Windows file system driver; the WinFsp backend mounts only on Windows";

/// Why a WinFsp mount, or finding WinFsp, failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WinFspError {
    /// This is not Windows.
    NotWindows,
    /// An option WinFsp cannot take (see `WindowsOptions::validate`; also a removable drive,
    /// or a network drive on a folder).
    InvalidOption(InvalidOption),
    /// No WinFsp installation is registered (no `InstallDir` value).
    NotInstalled,
    /// WinFsp ships no DLL for the processor this program was built for.
    NoDllForArch,
    /// The registered DLL does not load.
    LoadFailed {
        /// The DLL's full path.
        dll_path: String,
        /// The Windows error code `LoadLibraryW` left.
        code: u32,
    },
    /// The DLL loads but lacks a function mountkit calls: this WinFsp is too old.
    MissingFunction {
        /// The DLL's full path.
        dll_path: String,
        /// The function's name.
        function: String,
    },
    /// The DLL's `FspVersion` failed.
    NoVersion {
        /// The DLL's full path.
        dll_path: String,
        /// What `FspVersion` answered.
        status: i32,
    },
    /// `FspFileSystemCreate` failed; `driver` is what the registry says of the driver service
    /// the DLL starts, which explains the usual cause (a broken service entry).
    CreateFailed {
        /// What `FspFileSystemCreate` answered.
        status: i32,
        /// The driver service's registry entry, and whether its file exists.
        driver: ServiceFacts,
    },
    /// `FspFileSystemSetMountPoint` failed for `mount_point`.
    MountPointFailed {
        /// What `FspFileSystemSetMountPoint` answered.
        status: i32,
        /// The mount point asked for.
        mount_point: MountPoint,
    },
    /// `FspFileSystemStartDispatcher` failed.
    DispatcherFailed {
        /// What `FspFileSystemStartDispatcher` answered.
        status: i32,
    },
    /// Windows would not say who mounts (the process's token), so no file can be given its
    /// security descriptor.
    SecurityDescriptor {
        /// What Windows said, with its error code, and what to do.
        detail: String,
    },
}

impl WinFspError {
    /// Whether WinFsp is installed at all: every error but [`NotWindows`](Self::NotWindows)
    /// and [`NotInstalled`](Self::NotInstalled) comes from a WinFsp that is there.
    pub fn is_installed(&self) -> bool {
        !matches!(self, WinFspError::NotWindows | WinFspError::NotInstalled)
    }
}

impl fmt::Display for WinFspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WinFspError::NotWindows => f.write_str(ONLY_ON_WINDOWS),
            WinFspError::InvalidOption(invalid) => invalid.fmt(f),
            WinFspError::NotInstalled => f.write_str(&not_installed_message()),
            WinFspError::NoDllForArch => write!(
                f,
                "{NO_DLL_FOR_ARCH}; use the Dokan backend, or a build of this program for x64, \
                 arm64 or x86"
            ),
            WinFspError::LoadFailed { dll_path, code } => {
                f.write_str(&load_failure_message(dll_path, *code))
            }
            WinFspError::MissingFunction { dll_path, function } => {
                f.write_str(&missing_function_message(dll_path, function))
            }
            WinFspError::NoVersion { dll_path, status } => write!(
                f,
                "{dll_path} does not report its version: {}. Reinstall WinFsp from {}.",
                describe_ntstatus(*status),
                crate::INSTALLER_URL
            ),
            WinFspError::CreateFailed { status, driver } => {
                f.write_str(&explain_create_failure(*status, driver))
            }
            WinFspError::MountPointFailed {
                status,
                mount_point,
            } => f.write_str(&explain_mount_point_failure(*status, mount_point)),
            WinFspError::DispatcherFailed { status } => {
                f.write_str(&explain_dispatcher_failure(*status))
            }
            WinFspError::SecurityDescriptor { detail } => f.write_str(detail),
        }
    }
}

impl std::error::Error for WinFspError {}

impl From<InvalidOption> for WinFspError {
    fn from(invalid: InvalidOption) -> WinFspError {
        WinFspError::InvalidOption(invalid)
    }
}

#[cfg(test)]
mod tests {
    use mountkit_core::windows::ntstatus::{STATUS_ACCESS_DENIED, STATUS_OBJECT_NAME_NOT_FOUND};

    use super::*;
    use crate::INSTALLER_URL;

    #[test]
    fn every_error_says_what_to_do() {
        let driver = ServiceFacts::unregistered("WinFsp+20231015T101530Z");
        let errors = [
            WinFspError::NotInstalled,
            WinFspError::LoadFailed {
                dll_path: "C:\\WinFsp\\bin\\winfsp-x64.dll".to_owned(),
                code: 193,
            },
            WinFspError::MissingFunction {
                dll_path: "C:\\WinFsp\\bin\\winfsp-x64.dll".to_owned(),
                function: "FspFileSystemSendResponse".to_owned(),
            },
            WinFspError::NoVersion {
                dll_path: "C:\\WinFsp\\bin\\winfsp-x64.dll".to_owned(),
                status: STATUS_ACCESS_DENIED,
            },
            WinFspError::CreateFailed {
                status: STATUS_OBJECT_NAME_NOT_FOUND,
                driver,
            },
        ];
        for error in errors {
            let text = error.to_string();
            assert!(text.contains(INSTALLER_URL), "{text}");
            assert!(error.is_installed() != (error == WinFspError::NotInstalled));
        }
        assert!(WinFspError::NotWindows
            .to_string()
            .contains("only on Windows"));
        assert!(!WinFspError::NotWindows.is_installed());
    }

    #[test]
    fn a_failed_create_names_the_broken_service_entry() {
        let error = WinFspError::CreateFailed {
            status: STATUS_OBJECT_NAME_NOT_FOUND,
            driver: ServiceFacts::unregistered("WinFsp"),
        };
        let text = error.to_string();
        assert!(text.contains("0xC0000034"), "{text}");
        assert!(
            text.contains("reg delete \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp\" /f"),
            "{text}"
        );
    }
}
