//! Turning WinFsp's own failures into messages that say what went wrong and what to do.
//!
//! Handler errors never come here: they are errnos, translated by
//! [`errno_to_ntstatus`](mountkit_core::windows::errno_to_ntstatus). This module explains the
//! statuses WinFsp itself returns while a mount is being set up.

use mountkit_core::windows::ntstatus::{
    STATUS_ACCESS_DENIED, STATUS_INVALID_PARAMETER, STATUS_NO_SUCH_DEVICE,
    STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_INVALID, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_PATH_NOT_FOUND,
};
use mountkit_core::windows::{describe_ntstatus, MountPoint};

/// Where the WinFsp installer is published.
pub const INSTALLER_URL: &str = "https://winfsp.dev/rel/";

/// The registry key of the WinFsp driver service, under `HKEY_LOCAL_MACHINE`.
pub const DRIVER_SERVICE_KEY: &str = "SYSTEM\\CurrentControlSet\\Services\\WinFsp";

/// The registry key of WinFsp's launcher service, `WinFsp.Launcher`, under
/// `HKEY_LOCAL_MACHINE`. WinFsp's installer registers it (`ServiceInstall` in its `Product.wxs`).
/// It starts file systems registered under `HKLM\SOFTWARE\WinFsp\Services` on request, for
/// `launchctl` and for WinFsp's network provider (a network drive such as `\\memfs64\share`
/// mapped in Explorer or with `net use`); mountkit's mounts run in their own process and do not
/// use it.
pub const LAUNCHER_SERVICE_KEY: &str = "SYSTEM\\CurrentControlSet\\Services\\WinFsp.Launcher";

/// The command that deletes the driver service's registry entry ([`DRIVER_SERVICE_KEY`]), the
/// first half of repairing a broken entry; it must run as Administrator, and reinstalling WinFsp
/// afterwards registers the driver anew.
pub const DELETE_DRIVER_ENTRY: &str =
    "reg delete \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp\" /f";

/// What the registry says of one Windows service, and whether the file it runs exists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceFacts {
    /// The `ImagePath` value of the service's key, unexpanded; `None` when the key or the value
    /// is missing, i.e. the service is not registered.
    pub image_path: Option<String>,
    /// The file `image_path` names, as a Win32 path (see `driver_file_path`); `None` without
    /// `image_path`, or when the Windows folder it may be relative to is unknown.
    pub file: Option<String>,
    /// Whether `file` exists; `None` when there is no `file` to check.
    pub file_exists: Option<bool>,
}

/// Whether WinFsp's DLL could be loaded and used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DllFacts {
    /// Nothing was loaded: there is no `InstallDir` to find the DLL in, or this is not Windows.
    #[default]
    NotTried,
    /// The DLL loaded, exports every function mountkit calls, and reports this version
    /// (`FspVersion`) as `(major, minor)`.
    Loaded {
        /// The version as `(major, minor)`.
        version: (u16, u16),
    },
    /// `LoadLibraryW` failed.
    LoadFailed {
        /// The Windows error code (`GetLastError`).
        code: u32,
        /// What Windows says the code means.
        message: String,
    },
    /// The DLL cannot be used although it may have loaded: a function mountkit calls is
    /// missing (this WinFsp is too old), `FspVersion` fails, or WinFsp has no DLL for this
    /// processor architecture. The message says which, and what to do.
    Unusable(String),
}

/// Everything `mountkit doctor` looks at about WinFsp, gathered by
/// [`gather_facts`](crate::gather_facts) whether or not the DLL loads. The failure messages of
/// [`explain_create_failure`] read the same registry values ([`DriverFacts`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WinFspFacts {
    /// Off Windows, why nothing could be looked up (every other field is then empty); `None`
    /// on Windows.
    pub not_windows: Option<String>,
    /// WinFsp's installation folder, from the `InstallDir` registry value; `None` when WinFsp
    /// is not installed.
    pub install_dir: Option<String>,
    /// The DLL for this process's architecture in `install_dir`.
    pub dll_path: Option<String>,
    /// Whether that DLL loads and is usable.
    pub dll: DllFacts,
    /// The driver service ([`DRIVER_SERVICE_KEY`]).
    pub driver: ServiceFacts,
    /// The launcher service ([`LAUNCHER_SERVICE_KEY`]).
    pub launcher: ServiceFacts,
}

/// What could be learned about the installed WinFsp driver, for explaining a failure. Every
/// field is `None` when it could not be found out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverFacts {
    /// WinFsp's installation folder, from the `InstallDir` registry value.
    pub install_dir: Option<String>,
    /// The `ImagePath` value of the driver service key ([`DRIVER_SERVICE_KEY`]), unexpanded;
    /// `None` when the key or the value is missing.
    pub image_path: Option<String>,
    /// Whether the driver file that `image_path` names exists.
    pub driver_file_exists: Option<bool>,
}

/// The message for a failed `FspFileSystemCreate` that returned `status`.
///
/// It always names the status ([`describe_ntstatus`]). For `STATUS_OBJECT_NAME_NOT_FOUND`
/// (`0xC0000034`), the failure seen after a reboot or an upgrade of WinFsp, it says that the
/// driver service's registry entry (`HKLM\SYSTEM\CurrentControlSet\Services\WinFsp`, value
/// `ImagePath`) is broken, what `facts` show about it, and that the fix is to delete that key
/// and reinstall WinFsp from [`INSTALLER_URL`]. Other statuses get the advice that fits them.
pub fn explain_create_failure(status: i32, facts: &DriverFacts) -> String {
    let head = format!(
        "WinFsp could not create the volume: {}.",
        describe_ntstatus(status)
    );
    let advice = match status {
        STATUS_OBJECT_NAME_NOT_FOUND => {
            let evidence = match (&facts.image_path, facts.driver_file_exists) {
                (None, _) => " The key or its ImagePath value is missing.".to_owned(),
                (Some(path), Some(false)) => {
                    format!(" ImagePath is \"{path}\", and that file does not exist.")
                }
                (Some(path), Some(true)) => format!(
                    " ImagePath is \"{path}\"; the file exists, so the entry probably belongs to \
                     another WinFsp version."
                ),
                (Some(path), None) => format!(" ImagePath is \"{path}\"."),
            };
            format!(
                "The WinFsp driver could not be started because its service registry entry \
                 HKLM\\{DRIVER_SERVICE_KEY} (value ImagePath) is broken, which happens after a \
                 reboot or an upgrade of WinFsp.{evidence} To fix it, delete that key (as \
                 Administrator: {DELETE_DRIVER_ENTRY}) and reinstall WinFsp from \
                 {INSTALLER_URL}."
            )
        }
        // WinFsp answers this status when the driver service does not exist at all.
        STATUS_NO_SUCH_DEVICE if facts.image_path.is_none() => format!(
            "The WinFsp driver is not registered as a service (HKLM\\{DRIVER_SERVICE_KEY} has \
             no ImagePath value). Reinstall WinFsp from {INSTALLER_URL}, which registers it; \
             if the key exists without that value, first delete it (as Administrator: \
             {DELETE_DRIVER_ENTRY})."
        ),
        STATUS_ACCESS_DENIED => format!(
            "The WinFsp driver refused this process. Reinstall WinFsp from {INSTALLER_URL} \
             (the installer grants users the right to start the driver), or run this program \
             once as Administrator."
        ),
        STATUS_INVALID_PARAMETER => "WinFsp rejected the volume parameters: check the \
                                     sectorSize, allocationUnitSize and fsName options."
            .to_owned(),
        _ => format!(
            "Reinstalling WinFsp from {INSTALLER_URL} repairs most driver problems.{}",
            facts
                .install_dir
                .as_ref()
                .map(|dir| format!(" (WinFsp is installed in {dir}.)"))
                .unwrap_or_default()
        ),
    };
    format!("{head} {advice}")
}

/// The message for a failed `FspFileSystemSetMountPoint` that returned `status` for
/// `mount_point`.
pub fn explain_mount_point_failure(status: i32, mount_point: &MountPoint) -> String {
    let head = format!(
        "WinFsp could not mount the volume at {}: {}.",
        mount_point.to_windows_string(),
        describe_ntstatus(status)
    );
    let advice = match (mount_point, status) {
        (MountPoint::Drive(letter), STATUS_OBJECT_NAME_COLLISION | STATUS_ACCESS_DENIED) => {
            format!(
                "Drive {letter}: is already in use (by a disk, a network drive, subst, or a \
                 mount that was not removed): choose another letter or free this one."
            )
        }
        (MountPoint::Folder(_), STATUS_OBJECT_NAME_COLLISION) => {
            "The folder already exists. WinFsp creates the mount folder itself, so it must not \
             exist yet; its parent folder must."
                .to_owned()
        }
        (MountPoint::Folder(_), STATUS_OBJECT_PATH_NOT_FOUND | STATUS_OBJECT_NAME_NOT_FOUND) => {
            "The parent of the mount folder does not exist; create it first.".to_owned()
        }
        (MountPoint::Folder(_), STATUS_ACCESS_DENIED) => {
            "This process may not create the mount folder there; choose a folder it can write \
             to."
            .to_owned()
        }
        (_, STATUS_OBJECT_NAME_INVALID | STATUS_INVALID_PARAMETER) => {
            "The mount point is not valid: use a drive letter such as M: or the path of a \
             folder on an NTFS volume."
                .to_owned()
        }
        _ => "Check that the mount point is free and that this process may use it.".to_owned(),
    };
    format!("{head} {advice}")
}

/// The message for a failed `FspFileSystemStartDispatcher` that returned `status`.
pub fn explain_dispatcher_failure(status: i32) -> String {
    format!(
        "WinFsp could not start the threads that serve the volume: {}. This usually means the \
         process is out of memory or threads; lower the threads option or free resources.",
        describe_ntstatus(status)
    )
}

/// The path of the driver file that a service's `ImagePath` names, for checking that it
/// exists.
///
/// `ImagePath` comes in kernel spellings: `\??\C:\...` (an absolute Win32 path behind the
/// kernel's prefix), `\SystemRoot\...` and `system32\...` (relative to the Windows folder,
/// `system_root`), or a plain absolute path. A leading `\??\` is removed, and the two Windows
/// folder forms are resolved against `system_root`; other paths are returned as they are. A
/// service program's path may be quoted and followed by arguments (`"C:\...\x.exe" -a`): then
/// the quoted part is the file.
pub fn driver_file_path(image_path: &str, system_root: &str) -> String {
    let path = image_path.trim();
    let path = match path.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or(quoted),
        None => path,
    };
    if let Some(rest) = path.strip_prefix("\\??\\") {
        return rest.to_owned();
    }
    let root = system_root.trim_end_matches('\\');
    let prefix = "\\SystemRoot\\";
    if let Some(head) = path.get(..prefix.len()) {
        if head.eq_ignore_ascii_case(prefix) {
            return format!("{root}\\{}", &path[prefix.len()..]);
        }
    }
    let relative = !path.starts_with('\\') && path.get(1..2) != Some(":");
    if relative {
        return format!("{root}\\{path}");
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use mountkit_core::windows::ntstatus::STATUS_INSUFFICIENT_RESOURCES;

    use super::*;

    fn facts(image_path: Option<&str>, exists: Option<bool>) -> DriverFacts {
        DriverFacts {
            install_dir: Some("C:\\Program Files (x86)\\WinFsp\\".to_owned()),
            image_path: image_path.map(str::to_owned),
            driver_file_exists: exists,
        }
    }

    #[test]
    fn a_broken_driver_entry_names_the_key_and_the_fix() {
        let message = explain_create_failure(STATUS_OBJECT_NAME_NOT_FOUND, &facts(None, None));
        assert!(
            message.contains("STATUS_OBJECT_NAME_NOT_FOUND (0xC0000034)"),
            "{message}"
        );
        assert!(
            message.contains("HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp (value ImagePath)"),
            "{message}"
        );
        assert!(
            message.contains("after a reboot or an upgrade"),
            "{message}"
        );
        assert!(message.contains("delete that key"), "{message}");
        assert!(
            message.contains("reg delete \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp\" /f"),
            "{message}"
        );
        assert!(
            message.contains("reinstall WinFsp from https://winfsp.dev/rel/"),
            "{message}"
        );
        assert!(
            message.contains("The key or its ImagePath value is missing."),
            "{message}"
        );
    }

    #[test]
    fn a_missing_driver_service_says_to_reinstall() {
        let message = explain_create_failure(STATUS_NO_SUCH_DEVICE, &facts(None, None));
        assert!(message.contains("STATUS_NO_SUCH_DEVICE"), "{message}");
        assert!(message.contains("not registered as a service"), "{message}");
        assert!(
            message.contains("Reinstall WinFsp from https://winfsp.dev/rel/"),
            "{message}"
        );
        assert!(message.contains(DELETE_DRIVER_ENTRY), "{message}");
    }

    #[test]
    fn the_repair_command_deletes_the_driver_key() {
        assert_eq!(
            DELETE_DRIVER_ENTRY,
            format!("reg delete \"HKLM\\{DRIVER_SERVICE_KEY}\" /f")
        );
        assert_eq!(
            LAUNCHER_SERVICE_KEY,
            format!("{DRIVER_SERVICE_KEY}.Launcher")
        );
    }

    #[test]
    fn the_driver_evidence_is_reported() {
        let path = "\\??\\C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.sys";
        let missing = explain_create_failure(
            STATUS_OBJECT_NAME_NOT_FOUND,
            &facts(Some(path), Some(false)),
        );
        assert!(missing.contains("that file does not exist"), "{missing}");
        assert!(missing.contains("winfsp-x64.sys"), "{missing}");
        let present =
            explain_create_failure(STATUS_OBJECT_NAME_NOT_FOUND, &facts(Some(path), Some(true)));
        assert!(present.contains("another WinFsp version"), "{present}");
        let unknown =
            explain_create_failure(STATUS_OBJECT_NAME_NOT_FOUND, &facts(Some(path), None));
        assert!(unknown.contains("ImagePath is"), "{unknown}");
        assert!(unknown.contains("delete that key"), "{unknown}");
    }

    #[test]
    fn other_failures_get_their_own_advice() {
        let denied = explain_create_failure(STATUS_ACCESS_DENIED, &DriverFacts::default());
        assert!(denied.contains("STATUS_ACCESS_DENIED"), "{denied}");
        assert!(denied.contains("Administrator"), "{denied}");
        assert!(!denied.contains("reg delete"), "{denied}");
        let invalid = explain_create_failure(STATUS_INVALID_PARAMETER, &DriverFacts::default());
        assert!(invalid.contains("sectorSize"), "{invalid}");
        let path = "\\??\\C:\\WinFsp\\bin\\winfsp-x64.sys";
        let other = explain_create_failure(STATUS_NO_SUCH_DEVICE, &facts(Some(path), Some(true)));
        assert!(other.contains("https://winfsp.dev/rel/"), "{other}");
        assert!(other.contains("installed in"), "{other}");
        let unknown = explain_create_failure(0xC0AB_CDEF_u32 as i32, &DriverFacts::default());
        assert!(unknown.contains("0xC0ABCDEF"), "{unknown}");
    }

    #[test]
    fn mount_point_failures() {
        let drive = MountPoint::Drive('M');
        let folder = MountPoint::Folder("C:\\mnt\\x".to_owned());
        let taken = explain_mount_point_failure(STATUS_OBJECT_NAME_COLLISION, &drive);
        assert!(taken.contains("Drive M: is already in use"), "{taken}");
        let exists = explain_mount_point_failure(STATUS_OBJECT_NAME_COLLISION, &folder);
        assert!(exists.contains("must not exist yet"), "{exists}");
        let orphan = explain_mount_point_failure(STATUS_OBJECT_PATH_NOT_FOUND, &folder);
        assert!(orphan.contains("parent"), "{orphan}");
        let denied = explain_mount_point_failure(STATUS_ACCESS_DENIED, &folder);
        assert!(denied.contains("may not create"), "{denied}");
        let invalid = explain_mount_point_failure(STATUS_OBJECT_NAME_INVALID, &drive);
        assert!(invalid.contains("not valid"), "{invalid}");
        assert!(explain_mount_point_failure(STATUS_NO_SUCH_DEVICE, &drive).contains("M:"));
    }

    #[test]
    fn dispatcher_failures_name_the_status() {
        let message = explain_dispatcher_failure(STATUS_INSUFFICIENT_RESOURCES);
        assert!(
            message.contains("STATUS_INSUFFICIENT_RESOURCES"),
            "{message}"
        );
    }

    #[test]
    fn image_paths_resolve_to_files() {
        let root = "C:\\Windows";
        assert_eq!(
            driver_file_path(
                "\\??\\C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.sys",
                root
            ),
            "C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.sys"
        );
        assert_eq!(
            driver_file_path("\\SystemRoot\\System32\\drivers\\x.sys", root),
            "C:\\Windows\\System32\\drivers\\x.sys"
        );
        assert_eq!(
            driver_file_path("\\systemroot\\x.sys", "C:\\Windows\\"),
            "C:\\Windows\\x.sys"
        );
        assert_eq!(
            driver_file_path("system32\\drivers\\x.sys", root),
            "C:\\Windows\\system32\\drivers\\x.sys"
        );
        assert_eq!(driver_file_path("\"D:\\w\\x.sys\"", root), "D:\\w\\x.sys");
        assert_eq!(
            driver_file_path("\"C:\\W F\\bin\\launcher-x64.exe\" -s", root),
            "C:\\W F\\bin\\launcher-x64.exe"
        );
        assert_eq!(driver_file_path("D:\\w\\x.sys", root), "D:\\w\\x.sys");
    }
}
