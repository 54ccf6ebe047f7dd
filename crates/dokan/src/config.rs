//! [`WindowsOptions`] translated into what Dokan is given at mount time and reports about the
//! volume afterwards. Pure data, so every choice is tested on every platform.

use mountkit_core::windows::options::{label_share_prefix, DriveType, MountPoint, WindowsOptions};
use mountkit_core::windows::InvalidOption;

use crate::timeout::TimeoutPolicy;

/// `DOKAN_OPTIONS.Version` this backend asks for: the Dokan 2.0 API. Every Dokan 2 library
/// accepts it (they refuse only versions below their minimum, 200).
pub const DOKAN_API_VERSION: u16 = 200;

/// `DOKAN_OPTION_ALT_STREAM`: paths with `:` reach the callbacks (`file::$DATA`), and
/// `FindStreams` is called.
pub const DOKAN_OPTION_ALT_STREAM: u32 = 1 << 2;
/// `DOKAN_OPTION_WRITE_PROTECT`: the volume is read-only.
pub const DOKAN_OPTION_WRITE_PROTECT: u32 = 1 << 3;
/// `DOKAN_OPTION_NETWORK`: a network drive (needs a UNC name and Dokan's network provider).
pub const DOKAN_OPTION_NETWORK: u32 = 1 << 4;
/// `DOKAN_OPTION_REMOVABLE`: a removable drive.
pub const DOKAN_OPTION_REMOVABLE: u32 = 1 << 5;
/// `DOKAN_OPTION_CASE_SENSITIVE`: names differing only in case are different files.
pub const DOKAN_OPTION_CASE_SENSITIVE: u32 = 1 << 9;

/// `FILE_CASE_SENSITIVE_SEARCH`: the volume compares names with case.
pub const FILE_CASE_SENSITIVE_SEARCH: u32 = 0x0000_0001;
/// `FILE_CASE_PRESERVED_NAMES`: the volume keeps names as they were written.
pub const FILE_CASE_PRESERVED_NAMES: u32 = 0x0000_0002;
/// `FILE_UNICODE_ON_DISK`: names are Unicode.
pub const FILE_UNICODE_ON_DISK: u32 = 0x0000_0004;
/// `FILE_PERSISTENT_ACLS`: the volume stores security descriptors.
pub const FILE_PERSISTENT_ACLS: u32 = 0x0000_0008;
/// `FILE_READ_ONLY_VOLUME`: the volume cannot be written.
pub const FILE_READ_ONLY_VOLUME: u32 = 0x0008_0000;

/// The longest name component the volume reports, in UTF-16 units.
pub const MAX_COMPONENT_LENGTH: u32 = 255;

/// What `DOKAN_OPTIONS` is filled with for a mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DokanConfig {
    /// `DOKAN_OPTIONS.MountPoint`: `M:\` for a drive, the folder path as given; `None` when
    /// the mount takes the next free drive letter (`*`, and a share without one: Dokan serves
    /// a share only on a drive letter), which Dokan cannot pick itself.
    pub mount_point: Option<String>,
    /// `DOKAN_OPTIONS.UNCName`: `\server\share` for a share, [`label_share_prefix`] for
    /// another network drive, else none.
    pub unc_name: Option<String>,
    /// `DOKAN_OPTIONS.Options`.
    pub flags: u32,
    /// `DOKAN_OPTIONS.SingleThread`: true only when exactly one thread was asked for.
    pub single_thread: bool,
    /// `DOKAN_OPTIONS.Timeout`, in milliseconds.
    pub timeout_ms: u32,
    /// `DOKAN_OPTIONS.AllocationUnitSize`.
    pub allocation_unit_size: u32,
    /// `DOKAN_OPTIONS.SectorSize`.
    pub sector_size: u32,
}

impl DokanConfig {
    /// The Dokan configuration for `options`.
    ///
    /// - Alternate streams are always enabled so that `file::$DATA` opens the file and
    ///   `FindStreams` reports it, as on NTFS; named streams are refused by the callbacks.
    /// - Byte-range locks are left to the driver (`DOKAN_OPTION_FILELOCK_USER_MODE`, bit 8,
    ///   is not set), and so are oplocks; no mount manager registration, no session limit.
    /// - `read_only` sets `DOKAN_OPTION_WRITE_PROTECT`; `case_insensitive: false` sets
    ///   `DOKAN_OPTION_CASE_SENSITIVE`.
    /// - A share ([`MountPoint::Share`]) sets `DOKAN_OPTION_NETWORK` with the share as the UNC
    ///   name; [`DriveType::Network`] sets it with a UNC name made from the volume label;
    ///   [`DriveType::Removable`] sets `DOKAN_OPTION_REMOVABLE`.
    /// - `threads == 1` asks for Dokan's single-thread mode; any other value leaves the thread
    ///   count to Dokan's pool, which has no finer setting.
    /// - The timeout comes from [`TimeoutPolicy::dokan_timeout_ms`].
    pub fn from_options(mount_point: &MountPoint, options: &WindowsOptions) -> DokanConfig {
        let mut flags = DOKAN_OPTION_ALT_STREAM;
        if options.read_only {
            flags |= DOKAN_OPTION_WRITE_PROTECT;
        }
        if !options.case_insensitive {
            flags |= DOKAN_OPTION_CASE_SENSITIVE;
        }
        let unc_name = match (options.drive_type, mount_point.unc_prefix()) {
            (_, Some(share)) => {
                flags |= DOKAN_OPTION_NETWORK;
                Some(share)
            }
            (DriveType::Fixed, None) => None,
            (DriveType::Removable, None) => {
                flags |= DOKAN_OPTION_REMOVABLE;
                None
            }
            (DriveType::Network, None) => {
                flags |= DOKAN_OPTION_NETWORK;
                Some(label_share_prefix(&options.volume_label))
            }
        };
        DokanConfig {
            mount_point: dokan_mount_point(mount_point),
            unc_name,
            flags,
            single_thread: options.threads == 1,
            timeout_ms: TimeoutPolicy::new(options.request_timeout).dokan_timeout_ms(),
            allocation_unit_size: options.allocation_unit_size,
            sector_size: u32::from(options.sector_size),
        }
    }
}

/// The UTF-16 units `DOKAN_OPTIONS.MountPoint` may hold: Dokan copies it into a
/// `WCHAR[MAX_PATH]` with `wcscpy_s`, which ends the process when it does not fit.
pub const MAX_MOUNT_POINT_UNITS: usize = 259;
/// The UTF-16 units `DOKAN_OPTIONS.UNCName` may hold: Dokan copies it into a `WCHAR[64]` the
/// same way.
pub const MAX_UNC_NAME_UNITS: usize = 63;

impl DokanConfig {
    /// Refuses a mount point or UNC name longer than Dokan's library can copy
    /// ([`MAX_MOUNT_POINT_UNITS`], [`MAX_UNC_NAME_UNITS`]): given to `DokanCreateFileSystem`,
    /// it would end the process instead of failing the mount.
    pub fn check_lengths(&self) -> Result<(), InvalidOption> {
        let units = |text: &str| text.encode_utf16().count();
        if let Some(point) = self.mount_point.as_deref() {
            if units(point) > MAX_MOUNT_POINT_UNITS {
                return Err(InvalidOption::new(
                    "mountpoint",
                    format!(
                        "Dokan takes mount points of at most {MAX_MOUNT_POINT_UNITS} characters; \
                         '{point}' has {}: mount on a shorter folder path or a drive letter",
                        units(point)
                    ),
                ));
            }
        }
        if let Some(unc) = self.unc_name.as_deref() {
            if units(unc) > MAX_UNC_NAME_UNITS {
                return Err(InvalidOption::new(
                    "mountpoint",
                    format!(
                        "Dokan takes UNC names of at most {MAX_UNC_NAME_UNITS} characters; \
                         '\\{unc}' has {}: name a shorter share, or mount with WinFsp",
                        units(unc)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The mount point as Dokan takes it: `M:\` for a drive letter (a share's too), the folder
/// path unchanged; `None` for the forms that take the next free drive letter.
pub fn dokan_mount_point(mount_point: &MountPoint) -> Option<String> {
    match mount_point {
        MountPoint::Drive(letter) => Some(drive_mount_point(*letter)),
        MountPoint::Folder(path) => Some(path.clone()),
        MountPoint::Share {
            drive: Some(letter),
            ..
        } => Some(drive_mount_point(*letter)),
        MountPoint::NextFreeDrive | MountPoint::Share { drive: None, .. } => None,
    }
}

/// Drive `letter` as Dokan takes it: `M:\`.
pub fn drive_mount_point(letter: char) -> String {
    format!("{letter}:\\")
}

/// The drive letters a mount on the next free one tries, in order: those `GetLogicalDrives`
/// (`drives`, bit 0 for `A:`) does not report, from `Z:` down to `D:`, as WinFsp picks. Each
/// is tried in turn, since another program may take a letter between the look and the mount.
pub fn free_drive_letters(drives: u32) -> Vec<char> {
    ('D'..='Z')
        .rev()
        .filter(|letter| drives & (1 << (*letter as u32 - 'A' as u32)) == 0)
        .collect()
}

/// What `GetVolumeInformation` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeInfo {
    /// The volume label.
    pub label: String,
    /// The volume serial number: a hash of the label and file system name, stable across
    /// mounts of the same configuration.
    pub serial: u32,
    /// The longest name component, [`MAX_COMPONENT_LENGTH`].
    pub max_component_length: u32,
    /// `FILE_*` file system flags.
    pub flags: u32,
    /// The file system name.
    pub file_system_name: String,
}

impl VolumeInfo {
    /// The volume information for `options`: names preserved and Unicode always,
    /// case-sensitive search when names are compared with case, read-only when the mount is,
    /// persistent ACLs when the filesystem stores descriptors.
    /// Named streams are not advertised, since only each file's unnamed stream exists.
    pub fn from_options(options: &WindowsOptions) -> VolumeInfo {
        let mut flags = FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK;
        if !options.case_insensitive {
            flags |= FILE_CASE_SENSITIVE_SEARCH;
        }
        if options.read_only {
            flags |= FILE_READ_ONLY_VOLUME;
        }
        if options.persistent_acls {
            flags |= FILE_PERSISTENT_ACLS;
        }
        VolumeInfo {
            label: options.volume_label.clone(),
            serial: fnv1a(&[
                options.volume_label.as_bytes(),
                &[0],
                options.file_system_name.as_bytes(),
            ]),
            max_component_length: MAX_COMPONENT_LENGTH,
            flags,
            file_system_name: options.file_system_name.clone(),
        }
    }
}

/// 32-bit FNV-1a over the concatenation of `parts`.
pub fn fnv1a(parts: &[&[u8]]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn flags_match_dokan_h() {
        assert_eq!(DOKAN_OPTION_ALT_STREAM, 4);
        assert_eq!(DOKAN_OPTION_WRITE_PROTECT, 8);
        assert_eq!(DOKAN_OPTION_NETWORK, 16);
        assert_eq!(DOKAN_OPTION_REMOVABLE, 32);
        assert_eq!(DOKAN_OPTION_CASE_SENSITIVE, 512);
    }

    #[test]
    fn defaults_mount_a_fixed_case_insensitive_drive() {
        let config = DokanConfig::from_options(&MountPoint::Drive('M'), &WindowsOptions::default());
        assert_eq!(config.mount_point.as_deref(), Some("M:\\"));
        assert_eq!(config.flags, DOKAN_OPTION_ALT_STREAM);
        assert_eq!(config.unc_name, None);
        assert!(!config.single_thread);
        assert_eq!(config.timeout_ms, 35_000);
        assert_eq!(
            (config.allocation_unit_size, config.sector_size),
            (4096, 4096)
        );
    }

    #[test]
    fn options_set_their_flags() {
        let options = WindowsOptions {
            read_only: true,
            case_insensitive: false,
            drive_type: DriveType::Removable,
            threads: 1,
            request_timeout: Duration::from_secs(60),
            ..Default::default()
        };
        let config = DokanConfig::from_options(&MountPoint::Folder("C:\\mnt\\x".into()), &options);
        assert_eq!(config.mount_point.as_deref(), Some("C:\\mnt\\x"));
        assert_eq!(
            config.flags,
            DOKAN_OPTION_ALT_STREAM
                | DOKAN_OPTION_WRITE_PROTECT
                | DOKAN_OPTION_CASE_SENSITIVE
                | DOKAN_OPTION_REMOVABLE
        );
        assert!(config.single_thread);
        assert_eq!(config.timeout_ms, 65_000);
        let network = DokanConfig::from_options(
            &MountPoint::Drive('M'),
            &WindowsOptions {
                drive_type: DriveType::Network,
                volume_label: "My Files".into(),
                ..Default::default()
            },
        );
        assert_eq!(network.flags & DOKAN_OPTION_NETWORK, DOKAN_OPTION_NETWORK);
        assert_eq!(network.unc_name.as_deref(), Some("\\mountkit\\My_Files"));
    }

    #[test]
    fn shares_and_the_next_free_letter_leave_the_letter_to_the_mount() {
        let share = MountPoint::parse("\\\\files\\team").unwrap();
        let config = DokanConfig::from_options(&share, &WindowsOptions::default());
        assert_eq!(config.mount_point, None);
        assert_eq!(config.unc_name.as_deref(), Some("\\files\\team"));
        assert_eq!(config.flags, DOKAN_OPTION_ALT_STREAM | DOKAN_OPTION_NETWORK);
        let lettered = share.with_drive_letter("q").unwrap();
        let config = DokanConfig::from_options(&lettered, &WindowsOptions::default());
        assert_eq!(config.mount_point.as_deref(), Some("Q:\\"));
        assert_eq!(config.unc_name.as_deref(), Some("\\files\\team"));
        let any = DokanConfig::from_options(&MountPoint::NextFreeDrive, &WindowsOptions::default());
        assert_eq!((any.mount_point, any.unc_name), (None, None));
        assert_eq!(drive_mount_point('Q'), "Q:\\");
    }

    #[test]
    fn free_letters_go_from_z_down_to_d_skipping_the_taken() {
        let c_and_z = (1 << 2) | (1 << 25);
        let free = free_drive_letters(c_and_z);
        assert_eq!(free.first(), Some(&'Y'));
        assert_eq!(free.last(), Some(&'D'));
        assert_eq!(free.len(), 22);
        assert!(free_drive_letters(u32::MAX).is_empty());
        assert_eq!(free_drive_letters(0).len(), 23);
    }

    #[test]
    fn volume_information_follows_the_options() {
        let info = VolumeInfo::from_options(&WindowsOptions::default());
        assert_eq!(info.label, "mountkit");
        assert_eq!(info.file_system_name, "mountkit");
        assert_eq!(info.max_component_length, 255);
        assert_eq!(info.flags, FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK);
        let strict = VolumeInfo::from_options(&WindowsOptions {
            case_insensitive: false,
            read_only: true,
            persistent_acls: true,
            ..Default::default()
        });
        assert_eq!(
            strict.flags,
            FILE_CASE_PRESERVED_NAMES
                | FILE_UNICODE_ON_DISK
                | FILE_CASE_SENSITIVE_SEARCH
                | FILE_READ_ONLY_VOLUME
                | FILE_PERSISTENT_ACLS
        );
        assert_eq!(
            info.serial, strict.serial,
            "same label and name, same serial"
        );
        let other = VolumeInfo::from_options(&WindowsOptions {
            volume_label: "other".into(),
            ..Default::default()
        });
        assert_ne!(info.serial, other.serial);
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(&[]), 0x811c_9dc5);
        assert_eq!(fnv1a(&[b"a"]), 0xe40c_292c);
        assert_eq!(fnv1a(&[b"foo", b"bar"]), fnv1a(&[b"foobar"]));
    }

    #[test]
    fn names_longer_than_dokan_copies_are_refused_before_mounting() {
        let share = |name: &str| MountPoint::Share {
            server: "srv".into(),
            share: name.into(),
            drive: None,
        };
        let fits = "s".repeat(MAX_UNC_NAME_UNITS - "\\srv\\".len());
        let config = DokanConfig::from_options(&share(&fits), &WindowsOptions::default());
        assert_eq!(config.check_lengths(), Ok(()));
        let long = format!("{fits}s");
        let config = DokanConfig::from_options(&share(&long), &WindowsOptions::default());
        let refused = config.check_lengths().unwrap_err();
        assert_eq!(refused.option, "mountpoint");
        assert!(
            refused.message.contains("at most 63"),
            "{}",
            refused.message
        );

        let folder = format!("C:\\{}", "d".repeat(MAX_MOUNT_POINT_UNITS - 3));
        let config = DokanConfig::from_options(
            &MountPoint::Folder(folder.clone()),
            &WindowsOptions::default(),
        );
        assert_eq!(config.check_lengths(), Ok(()));
        let config = DokanConfig::from_options(
            &MountPoint::Folder(format!("{folder}d")),
            &WindowsOptions::default(),
        );
        assert!(config
            .check_lengths()
            .unwrap_err()
            .message
            .contains("at most 259"));
    }
}
