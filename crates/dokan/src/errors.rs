//! What Dokan's own failures mean, in words a user can act on.
//!
//! `DokanCreateFileSystem` (and `DokanMain`) answer with a small negative code instead of an
//! NTSTATUS; the library itself can be missing, or older or newer than this backend. Every
//! message here says what went wrong and what to do about it. Nothing in this module touches
//! Windows, so the wording is tested on every platform.

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
/// The driver reported that something is wrong when the volume was started.
pub const DOKAN_START_ERROR: i32 = -4;
/// The drive letter or mount point could not be assigned; it is probably in use.
pub const DOKAN_MOUNT_ERROR: i32 = -5;
/// The mount point is not valid.
pub const DOKAN_MOUNT_POINT_ERROR: i32 = -6;
/// The Dokan library does not accept the API version this backend asks for.
pub const DOKAN_VERSION_ERROR: i32 = -7;

/// The message for a `DokanCreateFileSystem` return code, naming `mount_point` (as the user
/// wrote it) and saying what to do. [`DOKAN_SUCCESS`] and codes Dokan does not define get a
/// message too, so a caller can format any code it is handed.
pub fn describe_mount_error(code: i32, mount_point: &str) -> String {
    match code {
        DOKAN_SUCCESS => format!("Dokan mounted {mount_point} successfully"),
        DOKAN_ERROR => format!(
            "Dokan could not mount {mount_point} (DOKAN_ERROR, -1). Check that the mount point \
             is free and that the Dokan 2 driver is installed and running \
             (`dokanctl /l a` lists its mounts); reinstalling Dokan 2 from {DOKAN_RELEASES_URL} \
             repairs a damaged installation"
        ),
        DOKAN_DRIVE_LETTER_ERROR => format!(
            "Dokan refused the drive letter of {mount_point} (DOKAN_DRIVE_LETTER_ERROR, -2). \
             Use a letter from D: to Z: that is not taken, written as \"M:\""
        ),
        DOKAN_DRIVER_INSTALL_ERROR => format!(
            "the Dokan 2 driver is not installed or not running (DOKAN_DRIVER_INSTALL_ERROR, -3), \
             so {mount_point} cannot be mounted. Install Dokan 2 with its installer from \
             {DOKAN_RELEASES_URL} (it installs and starts the driver), then try again; after an \
             upgrade, a reboot may be needed"
        ),
        DOKAN_START_ERROR => format!(
            "the Dokan 2 driver failed to start the volume for {mount_point} \
             (DOKAN_START_ERROR, -4). The installed driver may not match dokan2.dll: reinstall \
             Dokan 2 from {DOKAN_RELEASES_URL} and reboot"
        ),
        DOKAN_MOUNT_ERROR => format!(
            "Dokan could not assign {mount_point} (DOKAN_MOUNT_ERROR, -5): the drive letter or \
             folder is probably already in use by another volume or mount. Pick another drive \
             letter, or unmount what is there first (`dokanctl /u {mount_point}` removes a stale \
             Dokan mount)"
        ),
        DOKAN_MOUNT_POINT_ERROR => format!(
            "Dokan rejected the mount point {mount_point} (DOKAN_MOUNT_POINT_ERROR, -6). A drive \
             mount must be a free letter such as \"M:\"; a folder mount must be an existing, \
             empty folder on an NTFS volume; a network drive needs a drive letter"
        ),
        DOKAN_VERSION_ERROR => format!(
            "the installed Dokan library does not accept the Dokan 2.0 API this backend uses \
             (DOKAN_VERSION_ERROR, -7), so {mount_point} cannot be mounted. Install the current \
             Dokan 2 release from {DOKAN_RELEASES_URL}"
        ),
        other => format!(
            "Dokan could not mount {mount_point}: it returned the unknown code {other}. \
             Reinstalling Dokan 2 from {DOKAN_RELEASES_URL} may help"
        ),
    }
}

/// The message when `dokan2.dll` cannot be loaded from `System32`; `detail` is the Windows
/// error text.
pub fn library_missing_message(detail: &str) -> String {
    format!(
        "Dokan 2 is not installed: dokan2.dll could not be loaded from System32 ({detail}). \
         Install Dokan 2 with its installer from {DOKAN_RELEASES_URL}, or use the WinFsp \
         backend"
    )
}

/// The message when `dokan2.dll` loads but lacks the function `symbol`, which every Dokan 2
/// release exports: the file is damaged or is not Dokan 2.
pub fn missing_symbol_message(symbol: &str) -> String {
    format!(
        "dokan2.dll does not export {symbol}, which every Dokan 2 release has: the installed \
         file is damaged or is not Dokan 2. Reinstall Dokan 2 from {DOKAN_RELEASES_URL}"
    )
}

/// The message when the library is present (version `library_version`, as `DokanVersion`
/// reports it) but the driver does not answer (`DokanDriverVersion` returned 0).
pub fn driver_missing_message(library_version: u32) -> String {
    format!(
        "dokan2.dll {} is installed but the Dokan 2 driver is not running. Reinstall Dokan 2 \
         from {DOKAN_RELEASES_URL} (its installer sets up the driver) and reboot if asked",
        format_library_version(library_version)
    )
}

/// The message when the loaded library is not a Dokan 2 release (`DokanVersion` below 200 or
/// from a later major version).
pub fn wrong_library_message(library_version: u32) -> String {
    format!(
        "dokan2.dll reports version {}, but this backend needs Dokan 2.x. Install the current \
         Dokan 2 release from {DOKAN_RELEASES_URL}",
        format_library_version(library_version)
    )
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
            let message = describe_mount_error(code, "Q:");
            assert!(message.contains(name), "{message}");
            assert!(message.contains("Q:"), "{message}");
            assert!(message.contains(&code.to_string()), "{message}");
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let install = describe_mount_error(DOKAN_DRIVER_INSTALL_ERROR, "M:");
        assert!(install.contains("installer") && install.contains(DOKAN_RELEASES_URL));
        let busy = describe_mount_error(DOKAN_MOUNT_ERROR, "M:");
        assert!(busy.contains("another drive letter"), "{busy}");
        let letter = describe_mount_error(DOKAN_DRIVE_LETTER_ERROR, "1:");
        assert!(letter.contains("D: to Z:"), "{letter}");
        let folder = describe_mount_error(DOKAN_MOUNT_POINT_ERROR, "C:\\mnt");
        assert!(folder.contains("empty folder"), "{folder}");
        let version = describe_mount_error(DOKAN_VERSION_ERROR, "M:");
        assert!(version.contains("Dokan 2"), "{version}");
        assert!(describe_mount_error(-42, "M:").contains("-42"));
        assert!(describe_mount_error(DOKAN_SUCCESS, "M:").contains("successfully"));
    }

    #[test]
    fn loader_messages_name_the_installer() {
        for message in [
            library_missing_message("The specified module could not be found."),
            missing_symbol_message("DokanCreateFileSystem"),
            driver_missing_message(210),
            wrong_library_message(150),
        ] {
            assert!(message.contains(DOKAN_RELEASES_URL), "{message}");
        }
        assert!(library_missing_message("gone").contains("gone"));
        assert!(missing_symbol_message("DokanInit").contains("DokanInit"));
        assert!(driver_missing_message(210).contains("2.1.0"));
        assert!(wrong_library_message(150).contains("1.5.0"));
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
