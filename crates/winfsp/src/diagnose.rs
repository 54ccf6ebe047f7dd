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

use crate::errors::WinFspError;

/// Where the WinFsp installer is published.
pub const INSTALLER_URL: &str = "https://winfsp.dev/rel/";

/// The registry key that holds one key per Windows service, under `HKEY_LOCAL_MACHINE`.
pub const SERVICES_KEY: &str = "SYSTEM\\CurrentControlSet\\Services";

/// The name of WinFsp's driver service before WinFsp 2.0, and the stem of its names since
/// (`FSP_FSCTL_DRIVER_NAME`).
pub const DRIVER_SERVICE_STEM: &str = "WinFsp";

/// What joins the stem and the instance id of a side-by-side installation in the driver
/// service's name, `WinFsp+<InstanceID>` (`FSP_SXS_SEPARATOR_CHAR`).
const SXS_SEPARATOR: char = '+';

/// The name of WinFsp's launcher service, in every version: the installer registers it
/// (`ServiceInstall` in its `Product.wxs`) without an instance id, even side by side. It starts
/// file systems registered under `HKLM\SOFTWARE\WinFsp\Services` on request, for `launchctl` and
/// for WinFsp's network provider (a network drive such as `\\memfs64\share` mapped in Explorer
/// or with `net use`); mountkit's mounts run in their own process and do not use it.
pub const LAUNCHER_SERVICE_NAME: &str = "WinFsp.Launcher";

/// The registry key of the service `name`, under `HKEY_LOCAL_MACHINE`.
pub fn service_key(name: &str) -> String {
    format!("{SERVICES_KEY}\\{name}")
}

/// The command that deletes the registry key of the service `name`: the first half of
/// repairing a broken driver entry. It must run as Administrator, and reinstalling WinFsp
/// afterwards registers the driver anew.
pub fn delete_service_command(name: &str) -> String {
    format!("reg delete \"HKLM\\{}\" /f", service_key(name))
}

/// The driver service that WinFsp's DLL starts before it creates a volume, chosen as
/// `FspFsctlStartService` chooses it (WinFsp 2.x, `src/dll/fsctl.c`).
///
/// `sxs_ident` is what the DLL's `FspSxsIdent` answered: the instance id of a side-by-side
/// installation (WinFsp 2.0 and later install side by side), or empty outside one; `None` when
/// the DLL does not export it (WinFsp 1.x) or could not be asked. `registered` are the names
/// of the services under [`SERVICES_KEY`].
///
/// With an instance id the DLL starts `WinFsp+<id>` and no other. Without one it starts
/// `WinFsp` if that is registered, and otherwise the `WinFsp+…` service whose name sorts last
/// (instance ids are install times, so the newest installation). With none of them registered,
/// the answer is `WinFsp`, the name a healthy installation without an instance id would have.
#[cfg(any(windows, test))]
pub(crate) fn driver_service_name(sxs_ident: Option<&str>, registered: &[String]) -> String {
    if let Some(ident) = sxs_ident.filter(|ident| !ident.is_empty()) {
        return format!("{DRIVER_SERVICE_STEM}{SXS_SEPARATOR}{ident}");
    }
    if registered
        .iter()
        .any(|name| name.eq_ignore_ascii_case(DRIVER_SERVICE_STEM))
    {
        return DRIVER_SERVICE_STEM.to_owned();
    }
    registered
        .iter()
        .filter(|name| sxs_ident_of_service(name).is_some())
        .max()
        .cloned()
        .unwrap_or_else(|| DRIVER_SERVICE_STEM.to_owned())
}

/// Whether `name` (any case) is one a WinFsp driver service may have: `WinFsp`, or
/// `WinFsp+<id>` for a side-by-side installation.
#[cfg(any(windows, test))]
pub(crate) fn is_driver_service_name(name: &str) -> bool {
    name.eq_ignore_ascii_case(DRIVER_SERVICE_STEM) || sxs_ident_of_service(name).is_some()
}

/// The instance id in a side-by-side driver service's name (`WinFsp+<id>`, any case), or
/// `None` for any other name.
fn sxs_ident_of_service(name: &str) -> Option<&str> {
    let stem = name.get(..DRIVER_SERVICE_STEM.len())?;
    let rest = name[DRIVER_SERVICE_STEM.len()..].strip_prefix(SXS_SEPARATOR)?;
    (stem.eq_ignore_ascii_case(DRIVER_SERVICE_STEM) && !rest.is_empty()).then_some(rest)
}

/// Whether `file` is where WinFsp's installer puts the driver of the service `service_name`
/// for a WinFsp installed in `install_dir`: directly in its `bin` folder or, for a
/// side-by-side installation (`WinFsp+<id>`), in `SxS\sxs.<id>\bin`, the folder that `bin` is
/// a junction to since WinFsp 2.0. Windows paths compare without case.
pub fn is_installed_driver_file(file: &str, install_dir: &str, service_name: &str) -> bool {
    let root = install_dir.trim_end_matches(['\\', '/']).to_lowercase();
    let file = file.to_lowercase();
    let mut folders = vec![format!("{root}\\bin\\")];
    if let Some(ident) = sxs_ident_of_service(service_name) {
        folders.push(format!("{root}\\sxs\\sxs.{}\\bin\\", ident.to_lowercase()));
    }
    folders.iter().any(|folder| {
        file.strip_prefix(folder.as_str())
            .is_some_and(|name| !name.is_empty() && !name.contains('\\'))
    })
}

/// What the registry says of one Windows service, and whether the file it runs exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFacts {
    /// The service's name; its registry key is [`service_key`] of it.
    pub name: String,
    /// The `ImagePath` value of the service's key, unexpanded; `None` when the key or the value
    /// is missing, i.e. the service is not registered.
    pub image_path: Option<String>,
    /// The file `image_path` names, as a Win32 path (see `driver_file_path`); `None` without
    /// `image_path`, or when the Windows folder it may be relative to is unknown.
    pub file: Option<String>,
    /// Whether `file` exists; `None` when there is no `file` to check.
    pub file_exists: Option<bool>,
    /// Whether the folder `file` is in exists; `None` when there is no `file` to check. An
    /// upgrade of WinFsp 2.x that removed the `SxS\sxs.<id>` folder leaves an entry naming a
    /// file whose folder is gone.
    pub folder_exists: Option<bool>,
}

impl ServiceFacts {
    /// The facts of the service `name` when it is not registered.
    pub fn unregistered(name: &str) -> ServiceFacts {
        ServiceFacts {
            name: name.to_owned(),
            image_path: None,
            file: None,
            file_exists: None,
            folder_exists: None,
        }
    }

    /// The registry key of this service, under `HKEY_LOCAL_MACHINE`.
    pub fn key(&self) -> String {
        service_key(&self.name)
    }

    /// Whether Windows can start this service as far as the registry shows: it is registered
    /// and the file it runs is not known to be missing. A driver entry that fails this makes
    /// every WinFsp mount fail.
    pub fn can_start(&self) -> bool {
        self.image_path.is_some() && self.file_exists != Some(false)
    }

    /// The status WinFsp's DLL answers `FspFileSystemCreate` with when this driver service
    /// cannot start because the file it names is missing: Windows reports a missing file
    /// (`ERROR_FILE_NOT_FOUND`, which WinFsp passes on as `STATUS_OBJECT_NAME_NOT_FOUND`)
    /// unless the file's folder is missing too (`ERROR_PATH_NOT_FOUND`,
    /// `STATUS_OBJECT_PATH_NOT_FOUND`). `None` when the file is not known to be missing.
    pub fn missing_file_status(&self) -> Option<i32> {
        match (self.file_exists, self.folder_exists) {
            (Some(false), Some(false)) => Some(STATUS_OBJECT_PATH_NOT_FOUND),
            (Some(false), _) => Some(STATUS_OBJECT_NAME_NOT_FOUND),
            _ => None,
        }
    }
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
    /// processor architecture. The error says which, and what to do.
    Unusable(WinFspError),
}

/// Everything `mountkit doctor` and `backend: 'auto'` look at about WinFsp, gathered by
/// [`gather_facts`](crate::gather_facts) whether or not the DLL loads.
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
    /// The driver service the DLL starts: `WinFsp+<instance id>` since WinFsp 2.0, `WinFsp`
    /// before (as `FspFsctlStartService` chooses); `None` when WinFsp is not installed, and
    /// nothing was looked up.
    pub driver: Option<ServiceFacts>,
    /// The launcher service ([`LAUNCHER_SERVICE_NAME`]); `None` when WinFsp is not installed.
    pub launcher: Option<ServiceFacts>,
}

/// The message for a failed `FspFileSystemCreate` that returned `status`, given what the
/// registry says of the driver service the DLL starts.
///
/// It always names the status ([`describe_ntstatus`]). For `STATUS_OBJECT_NAME_NOT_FOUND`
/// (`0xC0000034`), the failure seen after a reboot or an upgrade of WinFsp, and
/// `STATUS_OBJECT_PATH_NOT_FOUND` (`0xC000003A`, the driver's folder is gone), which WinFsp
/// answers when Windows cannot find the driver file its service names, it says that the
/// driver service's registry entry (its key under [`SERVICES_KEY`], value `ImagePath`) is
/// broken, what `driver` shows about it, and that the fix is to delete that exact key and
/// reinstall WinFsp from [`INSTALLER_URL`]. Other statuses get the advice that fits them.
pub fn explain_create_failure(status: i32, driver: &ServiceFacts) -> String {
    let head = format!(
        "WinFsp could not create the volume: {}.",
        describe_ntstatus(status)
    );
    let key = driver.key();
    let delete = delete_service_command(&driver.name);
    let advice = match status {
        STATUS_OBJECT_NAME_NOT_FOUND | STATUS_OBJECT_PATH_NOT_FOUND => {
            let evidence = match (&driver.image_path, driver.file_exists) {
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
                 HKLM\\{key} (value ImagePath) is broken, which happens after a reboot or an \
                 upgrade of WinFsp.{evidence} To fix it, delete that key (as Administrator: \
                 {delete}) and reinstall WinFsp from {INSTALLER_URL}."
            )
        }
        // WinFsp answers this status when the driver service does not exist at all.
        STATUS_NO_SUCH_DEVICE if driver.image_path.is_none() => format!(
            "The WinFsp driver is not registered as a service (HKLM\\{key} has no ImagePath \
             value). Reinstall WinFsp from {INSTALLER_URL}, which registers it; if the key \
             exists without that value, first delete it (as Administrator: {delete})."
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
            "Reinstalling WinFsp from {INSTALLER_URL} repairs most driver problems (its \
             driver service is HKLM\\{key})."
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
        (MountPoint::NextFreeDrive, STATUS_NO_SUCH_DEVICE) => {
            "Every drive letter from D: to Z: is in use: free one, or mount on a folder.".to_owned()
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
#[cfg(any(windows, test))]
pub(crate) fn driver_file_path(image_path: &str, system_root: &str) -> String {
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

    /// A side-by-side installation's instance id, as WinFsp 2.x's installer makes them.
    const IDENT: &str = "20231015T101530Z";
    const SXS_SERVICE: &str = "WinFsp+20231015T101530Z";
    const SXS_DRIVER: &str =
        "C:\\Program Files (x86)\\WinFsp\\SxS\\sxs.20231015T101530Z\\bin\\winfsp-x64.sys";

    fn driver(name: &str, image_path: Option<&str>, exists: Option<bool>) -> ServiceFacts {
        ServiceFacts {
            name: name.to_owned(),
            image_path: image_path.map(str::to_owned),
            file: image_path.and(exists).map(|_| SXS_DRIVER.to_owned()),
            file_exists: exists,
            folder_exists: exists.map(|_| true),
        }
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn the_driver_service_is_the_one_the_dll_starts() {
        // WinFsp 2.x: the DLL's instance id names the service, whatever else is registered.
        let registered = names(&["WinFsp", "WinFsp+20220101T000000Z", SXS_SERVICE]);
        assert_eq!(driver_service_name(Some(IDENT), &registered), SXS_SERVICE);
        assert_eq!(driver_service_name(Some(IDENT), &[]), SXS_SERVICE);
        // WinFsp 1.x (no FspSxsIdent), or no instance id: WinFsp first...
        for ident in [None, Some("")] {
            assert_eq!(driver_service_name(ident, &registered), "WinFsp");
            assert_eq!(driver_service_name(ident, &names(&["winfsp"])), "WinFsp");
        }
        // ...else the side-by-side service that sorts last, the newest installation.
        let side_by_side = names(&[
            "Tcpip",
            "WinFsp+20220101T000000Z",
            SXS_SERVICE,
            "WinFsp.Launcher",
            "WinFsp+",
        ]);
        assert_eq!(driver_service_name(None, &side_by_side), SXS_SERVICE);
        // With none registered, the name of a healthy installation without an instance id.
        assert_eq!(driver_service_name(None, &names(&["Tcpip"])), "WinFsp");
        // Which registry keys can be WinFsp's driver service at all.
        for name in ["WinFsp", "winfsp", SXS_SERVICE, "WINFSP+x"] {
            assert!(is_driver_service_name(name), "{name}");
        }
        for name in ["WinFsp+", "WinFsp.Launcher", "WinFspX", "Tcpip"] {
            assert!(!is_driver_service_name(name), "{name}");
        }
    }

    #[test]
    fn service_keys_and_the_repair_command_name_the_service() {
        assert_eq!(
            service_key("WinFsp"),
            "SYSTEM\\CurrentControlSet\\Services\\WinFsp"
        );
        assert_eq!(
            delete_service_command(SXS_SERVICE),
            "reg delete \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp+20231015T101530Z\" /f"
        );
        assert_eq!(
            ServiceFacts::unregistered(LAUNCHER_SERVICE_NAME).key(),
            "SYSTEM\\CurrentControlSet\\Services\\WinFsp.Launcher"
        );
    }

    #[test]
    fn a_driver_can_start_unless_its_entry_or_file_is_missing() {
        assert!(driver(SXS_SERVICE, Some(SXS_DRIVER), Some(true)).can_start());
        assert!(
            driver(SXS_SERVICE, Some(SXS_DRIVER), None).can_start(),
            "not known to be missing"
        );
        assert!(!driver(SXS_SERVICE, Some(SXS_DRIVER), Some(false)).can_start());
        assert!(!ServiceFacts::unregistered(SXS_SERVICE).can_start());
    }

    #[test]
    fn a_missing_driver_file_fails_mounts_with_the_status_its_folder_decides() {
        let missing_file = driver(SXS_SERVICE, Some(SXS_DRIVER), Some(false));
        let missing_folder = ServiceFacts {
            folder_exists: Some(false),
            ..missing_file.clone()
        };
        let only_file = ServiceFacts {
            folder_exists: Some(true),
            ..missing_file
        };
        assert_eq!(
            only_file.missing_file_status(),
            Some(STATUS_OBJECT_NAME_NOT_FOUND)
        );
        assert_eq!(
            missing_folder.missing_file_status(),
            Some(STATUS_OBJECT_PATH_NOT_FOUND),
            "the usual broken upgrade: SxS\\sxs.<id> is gone"
        );
        let present = driver(SXS_SERVICE, Some(SXS_DRIVER), Some(true));
        assert_eq!(present.missing_file_status(), None);
        let unchecked = driver(SXS_SERVICE, Some(SXS_DRIVER), None);
        assert_eq!(unchecked.missing_file_status(), None);
    }

    #[test]
    fn installed_driver_files_are_in_bin_or_its_side_by_side_target() {
        let dir = "C:\\Program Files (x86)\\WinFsp\\";
        let bin = "C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.sys";
        assert!(is_installed_driver_file(bin, dir, "WinFsp"));
        assert!(is_installed_driver_file(bin, dir, SXS_SERVICE));
        assert!(is_installed_driver_file(SXS_DRIVER, dir, SXS_SERVICE));
        // Case and a missing trailing backslash do not matter.
        assert!(is_installed_driver_file(
            &SXS_DRIVER.to_uppercase(),
            "c:\\program files (x86)\\winfsp",
            "winfsp+20231015T101530Z"
        ));
        // Another instance's folder, the 1.x service, subfolders: not this installation's.
        assert!(!is_installed_driver_file(SXS_DRIVER, dir, "WinFsp"));
        assert!(!is_installed_driver_file(
            SXS_DRIVER,
            dir,
            "WinFsp+20220101T000000Z"
        ));
        assert!(!is_installed_driver_file(
            "C:\\Program Files (x86)\\WinFsp\\bin\\old\\winfsp-x64.sys",
            dir,
            "WinFsp"
        ));
    }

    #[test]
    fn a_broken_driver_entry_names_the_exact_key_and_the_fix() {
        let message = explain_create_failure(
            STATUS_OBJECT_NAME_NOT_FOUND,
            &ServiceFacts::unregistered(SXS_SERVICE),
        );
        for words in [
            "STATUS_OBJECT_NAME_NOT_FOUND (0xC0000034)",
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp+20231015T101530Z (value ImagePath)",
            "after a reboot or an upgrade",
            "delete that key",
            "reg delete \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp+20231015T101530Z\" /f",
            "reinstall WinFsp from https://winfsp.dev/rel/",
            "The key or its ImagePath value is missing.",
        ] {
            assert!(message.contains(words), "{words}: {message}");
        }
        // WinFsp 1.x's service.
        let message = explain_create_failure(
            STATUS_OBJECT_NAME_NOT_FOUND,
            &ServiceFacts::unregistered("WinFsp"),
        );
        assert!(
            message.contains("reg delete \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp\" /f"),
            "{message}"
        );
        // A missing driver folder is the same broken entry.
        let message = explain_create_failure(
            STATUS_OBJECT_PATH_NOT_FOUND,
            &driver(SXS_SERVICE, Some(SXS_DRIVER), Some(false)),
        );
        assert!(
            message.contains("STATUS_OBJECT_PATH_NOT_FOUND"),
            "{message}"
        );
        assert!(message.contains("that file does not exist"), "{message}");
    }

    #[test]
    fn a_missing_driver_service_says_to_reinstall() {
        let message = explain_create_failure(
            STATUS_NO_SUCH_DEVICE,
            &ServiceFacts::unregistered(SXS_SERVICE),
        );
        assert!(message.contains("STATUS_NO_SUCH_DEVICE"), "{message}");
        assert!(message.contains("not registered as a service"), "{message}");
        assert!(
            message.contains("Reinstall WinFsp from https://winfsp.dev/rel/"),
            "{message}"
        );
        assert!(
            message.contains(&delete_service_command(SXS_SERVICE)),
            "{message}"
        );
    }

    #[test]
    fn the_driver_evidence_is_reported() {
        let path = format!("\\??\\{SXS_DRIVER}");
        let missing = explain_create_failure(
            STATUS_OBJECT_NAME_NOT_FOUND,
            &driver(SXS_SERVICE, Some(&path), Some(false)),
        );
        assert!(missing.contains("that file does not exist"), "{missing}");
        assert!(missing.contains("winfsp-x64.sys"), "{missing}");
        let present = explain_create_failure(
            STATUS_OBJECT_NAME_NOT_FOUND,
            &driver(SXS_SERVICE, Some(&path), Some(true)),
        );
        assert!(present.contains("another WinFsp version"), "{present}");
        let unknown = explain_create_failure(
            STATUS_OBJECT_NAME_NOT_FOUND,
            &driver(SXS_SERVICE, Some(&path), None),
        );
        assert!(unknown.contains("ImagePath is"), "{unknown}");
        assert!(unknown.contains("delete that key"), "{unknown}");
    }

    #[test]
    fn other_failures_get_their_own_advice() {
        let healthy = driver(SXS_SERVICE, Some(SXS_DRIVER), Some(true));
        let denied = explain_create_failure(STATUS_ACCESS_DENIED, &healthy);
        assert!(denied.contains("STATUS_ACCESS_DENIED"), "{denied}");
        assert!(denied.contains("Administrator"), "{denied}");
        assert!(!denied.contains("reg delete"), "{denied}");
        let invalid = explain_create_failure(STATUS_INVALID_PARAMETER, &healthy);
        assert!(invalid.contains("sectorSize"), "{invalid}");
        let other = explain_create_failure(STATUS_NO_SUCH_DEVICE, &healthy);
        assert!(other.contains("https://winfsp.dev/rel/"), "{other}");
        assert!(other.contains(&healthy.key()), "{other}");
        let unknown = explain_create_failure(0xC0AB_CDEF_u32 as i32, &healthy);
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
        let full = explain_mount_point_failure(STATUS_NO_SUCH_DEVICE, &MountPoint::NextFreeDrive);
        assert!(full.contains("at *:"), "{full}");
        assert!(full.contains("from D: to Z: is in use"), "{full}");
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
