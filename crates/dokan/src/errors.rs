//! What Dokan's own failures mean, in words a user can act on.
//!
//! `DokanCreateFileSystem` (and `DokanMain`) answer with a small negative code instead of an
//! NTSTATUS; the library itself can be missing, or older or newer than this backend. Every
//! message here says what went wrong and what to do about it. Nothing in this module touches
//! Windows, so the wording is tested on every platform.

use std::fmt;

use mountkit_core::windows::{InvalidOption, MountPoint};

/// Where users get Dokan 2: the installer puts the driver in place and `dokan2.dll` in
/// `System32`.
pub const DOKAN_RELEASES_URL: &str = "https://github.com/dokan-dev/dokany/releases";

/// `DokanCreateFileSystem` succeeded: the volume is mounted.
pub const DOKAN_SUCCESS: i32 = 0;
/// A failure Dokan does not classify further.
pub const DOKAN_ERROR: i32 = -1;
/// The drive letter is not valid.
pub const DOKAN_DRIVE_LETTER_ERROR: i32 = -2;
/// The Dokan driver could not be reached: it is not installed or not running.
pub const DOKAN_DRIVER_INSTALL_ERROR: i32 = -3;
/// The driver refused to start the volume. In Dokan 2.0.6 that means it still has a volume
/// at this mount point (a live or a stale one).
pub const DOKAN_START_ERROR: i32 = -4;
/// The mount point could not be assigned: a drive letter in use (or not a letter), or a
/// folder that could not be made a mount point (missing, a file, not empty, not on NTFS, not
/// writable).
pub const DOKAN_MOUNT_ERROR: i32 = -5;
/// The mount point is not valid. Dokan 2.0.6 returns it only for a network drive without a
/// UNC name.
pub const DOKAN_MOUNT_POINT_ERROR: i32 = -6;
/// The driver and the library are from different Dokan releases, or the library does not
/// accept the API version this backend asks for.
pub const DOKAN_VERSION_ERROR: i32 = -7;

/// The message for a `DokanCreateFileSystem` return code, naming `mount_point` and saying
/// what to do. [`DOKAN_SUCCESS`] and codes Dokan does not define get a message too, so a
/// caller can format any code it is handed.
///
/// What each code means is what Dokan 2.0.6 returns it for (`dokan/dokan.c`,
/// `DokanCreateFileSystem` and `DokanStart`; `dokan/mount.c`, `CreateMountPoint`). That
/// release never returns [`DOKAN_ERROR`] or [`DOKAN_DRIVE_LETTER_ERROR`] from
/// `DokanCreateFileSystem`: a bad or busy drive letter is [`DOKAN_MOUNT_ERROR`].
pub fn describe_mount_error(code: i32, mount_point: &MountPoint) -> String {
    let shown = mount_point.to_windows_string();
    match code {
        DOKAN_SUCCESS => format!("Dokan mounted {shown} successfully"),
        DOKAN_ERROR => format!(
            "Dokan could not mount {shown} (DOKAN_ERROR, -1). Check that the mount point \
             is free and that the Dokan 2 driver is installed and running \
             (`dokanctl /l a` lists its mounts); reinstalling Dokan 2 from {DOKAN_RELEASES_URL} \
             repairs a damaged installation"
        ),
        DOKAN_DRIVE_LETTER_ERROR => format!(
            "Dokan refused the drive letter of {shown} (DOKAN_DRIVE_LETTER_ERROR, -2). \
             Use a letter from D: to Z: that is not taken, written as \"M:\""
        ),
        DOKAN_DRIVER_INSTALL_ERROR => format!(
            "the Dokan 2 driver is not installed or not running (DOKAN_DRIVER_INSTALL_ERROR, -3), \
             so {shown} cannot be mounted. Install Dokan 2 with its installer from \
             {DOKAN_RELEASES_URL} (it installs and starts the driver), then try again; after an \
             upgrade, a reboot may be needed"
        ),
        DOKAN_START_ERROR => format!(
            "the Dokan 2 driver refused to start a volume at {shown} (DOKAN_START_ERROR, -4): \
             it still has a volume there, from another program or left behind by one that \
             ended. `dokanctl /l a` lists the driver's volumes and `dokanctl /u {shown}` (as \
             Administrator) removes one; or choose another mount point. If nothing is listed, \
             reinstall Dokan 2 from {DOKAN_RELEASES_URL} and reboot"
        ),
        DOKAN_MOUNT_ERROR => match mount_point {
            MountPoint::Drive(_) => format!(
                "Dokan could not mount {shown} (DOKAN_MOUNT_ERROR, -5): the drive letter is \
                 already in use, by a disk, a network or subst drive, or another volume. Pick \
                 another drive letter, or free this one first (`dokanctl /u {shown}`, as \
                 Administrator, removes a Dokan volume left behind by a program that ended)"
            ),
            MountPoint::Folder(_) => format!(
                "Dokan could not make {shown} a mount point (DOKAN_MOUNT_ERROR, -5). A folder \
                 mount point must be an existing, empty folder, not a file, on an NTFS volume, \
                 and this process must be allowed to write to it: create the folder or empty \
                 it, or choose another folder or a free drive letter such as \"M:\""
            ),
            MountPoint::NextFreeDrive | MountPoint::Share { .. } => format!(
                "Dokan could not mount {shown} (DOKAN_MOUNT_ERROR, -5): it needs a free drive \
                 letter, and every letter from D: to Z: was in use or refused. Free a drive \
                 letter (`dokanctl /u M:`, as Administrator, removes a Dokan volume left behind \
                 by a program that ended), or mount on a folder"
            ),
        },
        DOKAN_MOUNT_POINT_ERROR => format!(
            "Dokan rejected the mount point {shown} (DOKAN_MOUNT_POINT_ERROR, -6), which Dokan 2 \
             answers for a network drive without a UNC name. mountkit gives every network drive \
             one (\\\\mountkit\\<label>), so this should not happen: mount it as a fixed \
             drive (driveType 'fixed') instead, or reinstall Dokan 2 from {DOKAN_RELEASES_URL}"
        ),
        DOKAN_VERSION_ERROR => format!(
            "Dokan could not mount {shown} (DOKAN_VERSION_ERROR, -7): the Dokan 2 driver and \
             dokan2.dll are from different releases, or the library does not accept the Dokan \
             2.0 API this backend uses. Reinstall Dokan 2 from {DOKAN_RELEASES_URL}, which \
             installs both, and reboot so that the new driver is loaded"
        ),
        other => format!(
            "Dokan could not mount {shown}: it returned the unknown code {other}. \
             Reinstalling Dokan 2 from {DOKAN_RELEASES_URL} may help"
        ),
    }
}

/// Why Dokan 2 cannot be used on this machine: what [`probe`](crate::probe) fails with, so
/// that a caller can tell the cases apart without reading the text. The text
/// ([`fmt::Display`]) says what happened and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DokanUnavailable {
    /// This is not Windows; `os` is the platform's name.
    NotWindows {
        /// The name of this platform (`std::env::consts::OS`).
        os: &'static str,
    },
    /// `System32` has no `dokan2.dll`, and no Dokan 1 either.
    NotInstalled {
        /// What Windows said when the library was loaded.
        detail: String,
    },
    /// `System32` has no `dokan2.dll`, but it has Dokan 1's `dokan1.dll`, which mountkit
    /// cannot use.
    OnlyDokan1 {
        /// The version Dokan 1's `DokanVersion` reports (152 is 1.5.2).
        version: u32,
    },
    /// `System32` has a `dokan2.dll` that does not load: it is damaged or built for another
    /// processor, or a library it needs is missing.
    DoesNotLoad {
        /// What Windows said when the library was loaded.
        detail: String,
    },
    /// `dokan2.dll` loads but lacks a function every Dokan 2 release exports: the file is
    /// damaged or is not Dokan 2.
    MissingFunction {
        /// The function's name.
        name: &'static str,
    },
    /// `dokan2.dll` loads but is not a Dokan 2 release ([`is_dokan2`]).
    WrongLibrary {
        /// The version its `DokanVersion` reports.
        version: u32,
    },
    /// `dokan2.dll` loads, but its driver does not answer (`DokanDriverVersion` returns 0).
    DriverNotRunning {
        /// The version the library's `DokanVersion` reports.
        library_version: u32,
    },
}

impl fmt::Display for DokanUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DokanUnavailable::NotWindows { os } => write!(
                f,
                "Dokan is a Windows file system driver and cannot be used on {os}; use the FUSE \
                 backend"
            ),
            DokanUnavailable::NotInstalled { detail } => write!(
                f,
                "Dokan 2 is not installed: dokan2.dll could not be loaded from System32 \
                 ({detail}). Install Dokan 2 with its installer from {DOKAN_RELEASES_URL}, or use \
                 the WinFsp backend"
            ),
            DokanUnavailable::OnlyDokan1 { version } => write!(
                f,
                "Dokan 2 is not installed, but Dokan {} is (dokan1.dll in System32), and mountkit \
                 needs Dokan 2. Dokan 2 has a library and a driver of its own (dokan2.dll, \
                 dokan2.sys), so it installs beside Dokan 1: install it with its installer from \
                 {DOKAN_RELEASES_URL}, or use the WinFsp backend",
                format_library_version(*version)
            ),
            DokanUnavailable::DoesNotLoad { detail } => write!(
                f,
                "dokan2.dll is in System32 but does not load ({detail}): the file is damaged or \
                 built for another processor, or a library it needs is missing. Reinstall Dokan 2 \
                 with its installer from {DOKAN_RELEASES_URL}, or use the WinFsp backend"
            ),
            DokanUnavailable::MissingFunction { name } => write!(
                f,
                "dokan2.dll does not export {name}, which every Dokan 2 release has: the installed \
                 file is damaged or is not Dokan 2. Reinstall Dokan 2 from {DOKAN_RELEASES_URL}"
            ),
            DokanUnavailable::WrongLibrary { version } => write!(
                f,
                "dokan2.dll reports version {}, but this backend needs Dokan 2.x. Install the \
                 current Dokan 2 release from {DOKAN_RELEASES_URL}",
                format_library_version(*version)
            ),
            DokanUnavailable::DriverNotRunning { library_version } => write!(
                f,
                "dokan2.dll {} is installed but the Dokan 2 driver is not running. Reinstall \
                 Dokan 2 from {DOKAN_RELEASES_URL} (its installer sets up the driver) and reboot \
                 if asked",
                format_library_version(*library_version)
            ),
        }
    }
}

impl std::error::Error for DokanUnavailable {}

impl DokanUnavailable {
    /// Why `dokan2.dll` did not load from `System32`, where Windows said `detail`:
    /// [`DoesNotLoad`](Self::DoesNotLoad) when the file is there (`present`); otherwise
    /// [`OnlyDokan1`](Self::OnlyDokan1) when Dokan 1 is installed (`dokan1_version`, asked
    /// only then), else [`NotInstalled`](Self::NotInstalled). Windows gives the same error
    /// (126) for a missing file and for a missing library the file needs, so only the file's
    /// presence tells them apart.
    pub fn library_not_loaded(
        present: bool,
        dokan1_version: impl FnOnce() -> Option<u32>,
        detail: String,
    ) -> DokanUnavailable {
        if present {
            return DokanUnavailable::DoesNotLoad { detail };
        }
        match dokan1_version() {
            Some(version) => DokanUnavailable::OnlyDokan1 { version },
            None => DokanUnavailable::NotInstalled { detail },
        }
    }
}

/// Why a Dokan mount failed: what [`DokanMount::mount`](crate::DokanMount::mount) fails
/// with. Each variant carries the facts; the text ([`fmt::Display`]) says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DokanMountError {
    /// An option Dokan cannot take (see `WindowsOptions::validate`).
    InvalidOption(InvalidOption),
    /// Dokan 2 cannot be used on this machine, or this is not Windows.
    Unavailable(DokanUnavailable),
    /// `DokanCreateFileSystem` refused with `code` (one of the `DOKAN_*_ERROR` codes).
    CreateFailed {
        /// What `DokanCreateFileSystem` returned.
        code: i32,
        /// The mount point asked for.
        mount_point: MountPoint,
    },
    /// Windows would not say who mounts (the process's token), so no file can be given its
    /// security descriptor.
    Principals {
        /// What Windows said, with its error code, and what to do.
        detail: String,
    },
}

impl fmt::Display for DokanMountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DokanMountError::InvalidOption(invalid) => invalid.fmt(f),
            DokanMountError::Unavailable(unavailable) => unavailable.fmt(f),
            DokanMountError::CreateFailed { code, mount_point } => {
                f.write_str(&describe_mount_error(*code, mount_point))
            }
            DokanMountError::Principals { detail } => f.write_str(detail),
        }
    }
}

impl std::error::Error for DokanMountError {}

impl From<InvalidOption> for DokanMountError {
    fn from(invalid: InvalidOption) -> DokanMountError {
        DokanMountError::InvalidOption(invalid)
    }
}

impl From<DokanUnavailable> for DokanMountError {
    fn from(unavailable: DokanUnavailable) -> DokanMountError {
        DokanMountError::Unavailable(unavailable)
    }
}

/// A library version as `DokanVersion` returns it (the digits of the release without dots:
/// 210 is 2.1.0, 231 is 2.3.1) written with dots. Values below 100 are written as they are.
pub fn format_library_version(version: u32) -> String {
    if version < 100 {
        return version.to_string();
    }
    format!("{}.{}.{}", version / 100, (version / 10) % 10, version % 10)
}

/// Whether a library version belongs to the Dokan 2 major release this backend is written
/// for.
pub fn is_dokan2(version: u32) -> bool {
    (200..300).contains(&version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_dokan_h() {
        assert_eq!(
            [
                DOKAN_SUCCESS,
                DOKAN_ERROR,
                DOKAN_DRIVE_LETTER_ERROR,
                DOKAN_DRIVER_INSTALL_ERROR,
                DOKAN_START_ERROR,
                DOKAN_MOUNT_ERROR,
                DOKAN_MOUNT_POINT_ERROR,
                DOKAN_VERSION_ERROR,
            ],
            [0, -1, -2, -3, -4, -5, -6, -7]
        );
    }

    fn drive(letter: char) -> MountPoint {
        MountPoint::Drive(letter)
    }

    fn folder(path: &str) -> MountPoint {
        MountPoint::Folder(path.to_owned())
    }

    #[test]
    fn every_code_names_itself_and_the_mount_point() {
        let names = [
            (DOKAN_ERROR, "DOKAN_ERROR"),
            (DOKAN_DRIVE_LETTER_ERROR, "DOKAN_DRIVE_LETTER_ERROR"),
            (DOKAN_DRIVER_INSTALL_ERROR, "DOKAN_DRIVER_INSTALL_ERROR"),
            (DOKAN_START_ERROR, "DOKAN_START_ERROR"),
            (DOKAN_MOUNT_ERROR, "DOKAN_MOUNT_ERROR"),
            (DOKAN_MOUNT_POINT_ERROR, "DOKAN_MOUNT_POINT_ERROR"),
            (DOKAN_VERSION_ERROR, "DOKAN_VERSION_ERROR"),
        ];
        for (code, name) in names {
            let share = MountPoint::parse("\\\\files\\team").unwrap();
            for mount_point in [
                drive('Q'),
                folder("C:\\mnt\\q"),
                MountPoint::NextFreeDrive,
                share,
            ] {
                let message = describe_mount_error(code, &mount_point);
                assert!(message.contains(name), "{message}");
                assert!(
                    message.contains(&mount_point.to_windows_string()),
                    "{message}"
                );
                assert!(message.contains(&code.to_string()), "{message}");
            }
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let install = describe_mount_error(DOKAN_DRIVER_INSTALL_ERROR, &drive('M'));
        assert!(install.contains("installer") && install.contains(DOKAN_RELEASES_URL));
        let letter = describe_mount_error(DOKAN_DRIVE_LETTER_ERROR, &drive('M'));
        assert!(letter.contains("D: to Z:"), "{letter}");
        let version = describe_mount_error(DOKAN_VERSION_ERROR, &drive('M'));
        assert!(version.contains("different releases"), "{version}");
        assert!(describe_mount_error(-42, &drive('M')).contains("-42"));
        assert!(describe_mount_error(DOKAN_SUCCESS, &drive('M')).contains("successfully"));
    }

    #[test]
    fn a_mount_error_says_what_a_drive_or_a_folder_needs() {
        // Dokan 2.0.6 answers -5 for a drive letter in use and for a folder that cannot be
        // made a mount point: missing, a file, or not empty.
        let busy = describe_mount_error(DOKAN_MOUNT_ERROR, &drive('M'));
        assert!(busy.contains("already in use"), "{busy}");
        assert!(busy.contains("another drive letter"), "{busy}");
        assert!(busy.contains("dokanctl /u M:"), "{busy}");
        let bad_folder = describe_mount_error(DOKAN_MOUNT_ERROR, &folder("C:\\mnt"));
        for needed in ["existing, empty folder", "not a file", "NTFS"] {
            assert!(bad_folder.contains(needed), "{bad_folder}");
        }
        assert!(!bad_folder.contains("in use"), "{bad_folder}");
        let no_letter = describe_mount_error(DOKAN_MOUNT_ERROR, &MountPoint::NextFreeDrive);
        assert!(no_letter.contains("could not mount *:"), "{no_letter}");
        assert!(
            no_letter.contains("every letter from D: to Z:"),
            "{no_letter}"
        );
    }

    #[test]
    fn a_mount_point_error_is_about_network_drives() {
        // Dokan 2.0.6 answers -6 only for a network drive without a UNC name.
        let message = describe_mount_error(DOKAN_MOUNT_POINT_ERROR, &drive('N'));
        assert!(
            message.contains("network drive without a UNC name"),
            "{message}"
        );
        assert!(message.contains("driveType 'fixed'"), "{message}");
        assert!(!message.contains("empty folder"), "{message}");
    }

    #[test]
    fn a_start_error_names_the_volume_the_driver_still_has() {
        let message = describe_mount_error(DOKAN_START_ERROR, &folder("C:\\mnt"));
        assert!(message.contains("still has a volume there"), "{message}");
        assert!(message.contains("dokanctl /u C:\\mnt"), "{message}");
    }

    #[test]
    fn every_reason_dokan_is_unavailable_says_what_to_do() {
        let windows_error = "The specified module could not be found. (os error 126)";
        for (unavailable, words) in [
            (
                DokanUnavailable::NotInstalled {
                    detail: windows_error.to_owned(),
                },
                vec!["Dokan 2 is not installed", windows_error, "installer"],
            ),
            (
                DokanUnavailable::OnlyDokan1 { version: 152 },
                vec![
                    "Dokan 1.5.2 is (dokan1.dll",
                    "needs Dokan 2",
                    "beside Dokan 1",
                ],
            ),
            (
                DokanUnavailable::DoesNotLoad {
                    detail: "%1 is not a valid Win32 application. (os error 193)".to_owned(),
                },
                vec![
                    "is in System32 but does not load",
                    "os error 193",
                    "Reinstall",
                ],
            ),
            (
                DokanUnavailable::MissingFunction { name: "DokanInit" },
                vec!["does not export DokanInit", "Reinstall"],
            ),
            (
                DokanUnavailable::WrongLibrary { version: 150 },
                vec!["version 1.5.0", "current Dokan 2 release"],
            ),
            (
                DokanUnavailable::DriverNotRunning {
                    library_version: 210,
                },
                vec!["dokan2.dll 2.1.0", "driver is not running", "Reinstall"],
            ),
        ] {
            let message = unavailable.to_string();
            assert!(message.contains(DOKAN_RELEASES_URL), "{message}");
            for words in words {
                assert!(message.contains(words), "{words}: {message}");
            }
        }
        let message = DokanUnavailable::NotWindows { os: "linux" }.to_string();
        assert!(
            message.contains("Windows") && message.contains("linux"),
            "{message}"
        );
    }

    #[test]
    fn dokan_1_is_named_only_when_dokan2_dll_is_absent() {
        let detail = || "The specified module could not be found. (os error 126)".to_owned();
        let dokan1 = || Some(152);
        assert_eq!(
            DokanUnavailable::library_not_loaded(false, dokan1, detail()),
            DokanUnavailable::OnlyDokan1 { version: 152 }
        );
        assert_eq!(
            DokanUnavailable::library_not_loaded(false, || None, detail()),
            DokanUnavailable::NotInstalled { detail: detail() }
        );
        // A dokan2.dll that is there but needs a missing library fails with the same error
        // as a missing file; it is a broken Dokan 2, not Dokan 1, whatever else is installed.
        assert_eq!(
            DokanUnavailable::library_not_loaded(true, dokan1, detail()),
            DokanUnavailable::DoesNotLoad { detail: detail() }
        );
    }

    #[test]
    fn versions_are_written_with_dots() {
        assert_eq!(format_library_version(200), "2.0.0");
        assert_eq!(format_library_version(210), "2.1.0");
        assert_eq!(format_library_version(231), "2.3.1");
        assert_eq!(format_library_version(42), "42");
        assert!(is_dokan2(200) && is_dokan2(299));
        assert!(!is_dokan2(199) && !is_dokan2(300));
    }
}
