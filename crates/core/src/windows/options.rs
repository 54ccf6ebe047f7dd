//! How a Windows mount looks to the system: where it appears, what it is called, and how it
//! behaves. Shared by the WinFsp and Dokan backends, so one set of options means the same on
//! both.

use std::fmt;
use std::time::Duration;

use crate::errno::Errno;

/// An option a mount cannot take: which option, and a message that names it, says what it
/// must be and what it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidOption {
    /// The option's name as the TypeScript API spells it (`sectorSize`, `driveType`...).
    pub option: &'static str,
    /// What is wrong and what the option must be.
    pub message: String,
}

impl InvalidOption {
    /// The option `option` is wrong as `message` says.
    pub fn new(option: &'static str, message: impl Into<String>) -> InvalidOption {
        InvalidOption {
            option,
            message: message.into(),
        }
    }
}

impl fmt::Display for InvalidOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidOption {}

/// Where a Windows mount appears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountPoint {
    /// A drive letter, `'M'` for `M:`.
    Drive(char),
    /// The next free drive letter, from `Z:` down to `D:` as WinFsp picks it (`'*'`); the
    /// backend reports the letter it took.
    NextFreeDrive,
    /// A folder path that must not exist yet (WinFsp) or must be an empty directory (Dokan)
    /// on an NTFS volume.
    Folder(String),
    /// A network share `\\server\share`: a network volume that programs reach by that UNC
    /// path, and on drive letter `drive` when one is given (the `driveLetter` option). Without
    /// one, WinFsp mounts it on no letter, and Dokan, which needs one, on the next free letter.
    Share {
        /// The server part, without backslashes.
        server: String,
        /// The share part, without backslashes.
        share: String,
        /// The drive letter the share is also mounted on, as `net use M: \\server\share`
        /// maps one.
        drive: Option<char>,
    },
}

/// Characters Windows does not allow in a server or share name.
const FORBIDDEN_IN_SHARE: &[char] = &['/', ':', '*', '?', '"', '<', '>', '|'];

impl MountPoint {
    /// Reads a mount point as users write it: a drive (`"M:"`, `"M:\\"`, `"m"`), `"*"` (or
    /// `"*:"`) for the next free drive letter, a network share `"\\\\server\\share"`, or a
    /// folder path. `EINVAL` for an empty text, a colon after anything but one letter or `*`
    /// (`"MM:"`), and a UNC path that is not exactly `\\server\share` (`\\server`,
    /// `\\server\share\dir`, the device paths `\\.\` and `\\?\`).
    pub fn parse(text: &str) -> Result<MountPoint, Errno> {
        if let Some(unc) = text.strip_prefix("\\\\") {
            return parse_share(unc);
        }
        let trimmed = text.trim_end_matches(['\\', '/']);
        let mut chars = trimmed.chars();
        match (chars.next(), chars.next(), chars.next()) {
            (Some(letter), None, None) | (Some(letter), Some(':'), None)
                if letter.is_ascii_alphabetic() =>
            {
                Ok(MountPoint::Drive(letter.to_ascii_uppercase()))
            }
            (Some('*'), None, None) | (Some('*'), Some(':'), None) => Ok(MountPoint::NextFreeDrive),
            _ if trimmed.is_empty() => Err(Errno::EINVAL),
            _ if trimmed.len() == 2 && trimmed.ends_with(':') => Err(Errno::EINVAL),
            _ => Ok(MountPoint::Folder(text.to_owned())),
        }
    }

    /// The mount point as Windows APIs take it: `"M:"`, `"*:"` (WinFsp's spelling of the next
    /// free letter), the folder path, or `\\server\share`.
    pub fn to_windows_string(&self) -> String {
        match self {
            MountPoint::Drive(letter) => format!("{letter}:"),
            MountPoint::NextFreeDrive => "*:".to_owned(),
            MountPoint::Folder(path) => path.clone(),
            MountPoint::Share { server, share, .. } => format!("\\\\{server}\\{share}"),
        }
    }

    /// The share's name with one leading backslash, `\server\share`, as WinFsp's volume
    /// prefix and Dokan's UNC name take it; `None` for the other forms.
    pub fn unc_prefix(&self) -> Option<String> {
        match self {
            MountPoint::Share { server, share, .. } => Some(format!("\\{server}\\{share}")),
            _ => None,
        }
    }

    /// This share, also mounted on the drive letter `letter` (`driveLetter`: `"M:"`, `"M"`,
    /// `"M:\\"`). Refused, naming the option, when `letter` is not a drive letter, and when
    /// this mount point is not a share: any other mount point names its drive itself.
    pub fn with_drive_letter(self, letter: &str) -> Result<MountPoint, InvalidOption> {
        let MountPoint::Share { server, share, .. } = self else {
            return Err(InvalidOption::new(
                "driveLetter",
                format!(
                    "driveLetter goes with a network share mount point ('\\\\server\\share'), \
                     not with {}: to mount on a drive letter, give it as the mount point",
                    self.to_windows_string()
                ),
            ));
        };
        match MountPoint::parse(letter) {
            Ok(MountPoint::Drive(drive)) => Ok(MountPoint::Share {
                server,
                share,
                drive: Some(drive),
            }),
            _ => Err(InvalidOption::new(
                "driveLetter",
                format!("driveLetter must be a drive letter such as 'M:', got '{letter}'"),
            )),
        }
    }
}

/// `server\share` (the text after the leading `\\`) as a [`MountPoint::Share`].
fn parse_share(unc: &str) -> Result<MountPoint, Errno> {
    let unc = unc.trim_end_matches('\\');
    let (server, share) = unc.split_once('\\').ok_or(Errno::EINVAL)?;
    let valid = |part: &str| {
        !part.is_empty() && part != "." && part != "?" && !part.contains(FORBIDDEN_IN_SHARE)
    };
    if !valid(server) || !valid(share) || share.contains('\\') {
        return Err(Errno::EINVAL);
    }
    Ok(MountPoint::Share {
        server: server.to_owned(),
        share: share.to_owned(),
        drive: None,
    })
}

/// The UNC prefix of a network drive whose user named no share, `\\mountkit\\<label>`: the
/// volume label with every character that is not an ASCII letter, digit, `-` or `_` replaced
/// by `_` (`volume` for an empty label). One leading backslash, as WinFsp's volume prefix and
/// Dokan's UNC name take it; programs see `\\\\mountkit\\<label>`.
pub fn label_share_prefix(label: &str) -> String {
    let share: String = label
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let share = if share.is_empty() {
        "volume".to_owned()
    } else {
        share
    };
    format!("\\mountkit\\{share}")
}

/// What kind of drive the mount presents itself as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DriveType {
    /// A local fixed disk.
    #[default]
    Fixed,
    /// A network drive: Explorer shows it under network locations, and programs treat
    /// latency accordingly.
    Network,
    /// A removable drive.
    Removable,
}

impl DriveType {
    /// The drive type spelled as the `driveType` option spells it: `fixed`, `network` or
    /// `removable`.
    pub fn parse(text: &str) -> Result<DriveType, InvalidOption> {
        match text {
            "fixed" => Ok(DriveType::Fixed),
            "network" => Ok(DriveType::Network),
            "removable" => Ok(DriveType::Removable),
            other => Err(InvalidOption::new(
                "driveType",
                format!("driveType must be 'fixed', 'network' or 'removable', got '{other}'"),
            )),
        }
    }
}

/// Options of a Windows mount, common to WinFsp and Dokan. Where the volume appears (its
/// [`MountPoint`]) is not an option: both backends take it as their mount's first argument.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowsOptions {
    /// Shown in Explorer as the drive's name.
    pub volume_label: String,
    /// Reported as the file system's name (`NTFS`, `FAT32`...); some programs check it.
    pub file_system_name: String,
    /// Refuse every change (`STATUS_MEDIA_WRITE_PROTECTED`); opens only read.
    pub read_only: bool,
    /// Windows programs expect names to match without regard to case. A name the handler
    /// does not find as spelled is looked for in its directory's listing without regard to
    /// case ([`look_up`](super::look_up)), so handlers that compare names exactly are given
    /// the stored spelling of names that exist; listings, patterns and rename checks fold case.
    pub case_insensitive: bool,
    /// What kind of drive Windows shows.
    pub drive_type: DriveType,
    /// Bytes per sector, as reported to Windows.
    pub sector_size: u16,
    /// Bytes per allocation unit: a multiple of `sector_size`.
    pub allocation_unit_size: u32,
    /// Dispatcher threads of the backend; 0 lets the backend choose.
    pub threads: u32,
    /// How long the kernel may cache file information (WinFsp `FileInfoTimeout`).
    pub file_info_timeout: Duration,
    /// The library's own per-request timeout; backend timeouts are kept above it so the
    /// driver never gives up on a request the library would still answer.
    pub request_timeout: Duration,
    /// Each file reports a security descriptor derived from its `uid`, `gid` and `mode`, which
    /// WinFsp checks every open against; off, every file reports one fixed descriptor granting
    /// everyone full access, and the handlers alone decide
    /// ([`FileSecurity`](super::security::FileSecurity)).
    pub default_permissions: bool,
    /// The filesystem stores security descriptors (it has a `set_security`): the volume
    /// claims persistent ACLs (WinFsp `PersistentAcls`, Dokan `FILE_PERSISTENT_ACLS`), so
    /// programs that copy security keep it.
    pub persistent_acls: bool,
}

impl Default for WindowsOptions {
    fn default() -> Self {
        WindowsOptions {
            volume_label: "mountkit".to_owned(),
            file_system_name: "mountkit".to_owned(),
            read_only: false,
            case_insensitive: true,
            drive_type: DriveType::Fixed,
            sector_size: 4096,
            allocation_unit_size: 4096,
            threads: 0,
            file_info_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
            default_permissions: true,
            persistent_acls: false,
        }
    }
}

impl WindowsOptions {
    /// Checks what both drivers require of these numbers, so a bad option fails with a
    /// reason before any driver sees it.
    pub fn validate(&self) -> Result<(), InvalidOption> {
        if !self.sector_size.is_power_of_two() || self.sector_size < 512 {
            return Err(InvalidOption::new(
                "sectorSize",
                format!(
                    "sectorSize must be a power of two of at least 512, got {}",
                    self.sector_size
                ),
            ));
        }
        if self.allocation_unit_size == 0
            || self.allocation_unit_size % u32::from(self.sector_size) != 0
        {
            return Err(InvalidOption::new(
                "allocationUnitSize",
                format!(
                    "allocationUnitSize must be a positive multiple of sectorSize ({}), got {}",
                    self.sector_size, self.allocation_unit_size
                ),
            ));
        }
        if self.volume_label.encode_utf16().count() > 32 {
            return Err(InvalidOption::new(
                "volumeLabel",
                format!(
                    "volumeLabel may have at most 32 UTF-16 units, got {:?}",
                    self.volume_label
                ),
            ));
        }
        if self.file_system_name.is_empty() || self.file_system_name.encode_utf16().count() > 15 {
            return Err(InvalidOption::new(
                "fsName",
                format!(
                    "fsName must have 1 to 15 UTF-16 units on Windows, got {:?}",
                    self.file_system_name
                ),
            ));
        }
        Ok(())
    }

    /// Checks what both drivers require of the mount point with these options: a network
    /// drive (`driveType: 'network'`) needs a drive letter or a share, since Windows mounts no
    /// network file system on a folder; a share is a network volume, so it cannot be a
    /// removable drive.
    pub fn check_mount_point(&self, mount_point: &MountPoint) -> Result<(), InvalidOption> {
        match (self.drive_type, mount_point) {
            (DriveType::Network, MountPoint::Folder(folder)) => Err(InvalidOption::new(
                "driveType",
                format!(
                    "a network drive cannot be mounted on the folder '{folder}': Windows mounts \
                     network file systems only on drive letters and shares; mount on a drive \
                     letter such as 'M:', on '*' or on a share such as '\\\\server\\share', or \
                     use driveType 'fixed'"
                ),
            )),
            (DriveType::Removable, MountPoint::Share { .. }) => Err(InvalidOption::new(
                "driveType",
                format!(
                    "{} is a network share, which cannot be a removable drive: use driveType \
                     'network' (or leave it out)",
                    mount_point.to_windows_string()
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_letters_parse_in_every_usual_spelling() {
        for text in ["M:", "m:", "M", "M:\\", "M:/"] {
            assert_eq!(
                MountPoint::parse(text),
                Ok(MountPoint::Drive('M')),
                "{text}"
            );
        }
        assert_eq!(MountPoint::Drive('Q').to_windows_string(), "Q:");
    }

    #[test]
    fn other_text_is_a_folder_and_nonsense_is_refused() {
        assert_eq!(
            MountPoint::parse("C:\\mnt\\demo"),
            Ok(MountPoint::Folder("C:\\mnt\\demo".to_owned()))
        );
        assert_eq!(MountPoint::parse(""), Err(Errno::EINVAL));
        assert_eq!(MountPoint::parse("1:"), Err(Errno::EINVAL));
    }

    #[test]
    fn a_star_asks_for_the_next_free_drive_letter() {
        for text in ["*", "*:", "*:\\"] {
            assert_eq!(
                MountPoint::parse(text),
                Ok(MountPoint::NextFreeDrive),
                "{text}"
            );
        }
        assert_eq!(MountPoint::NextFreeDrive.to_windows_string(), "*:");
        assert_eq!(MountPoint::NextFreeDrive.unc_prefix(), None);
        assert_eq!(
            MountPoint::parse("**"),
            Ok(MountPoint::Folder("**".to_owned()))
        );
    }

    #[test]
    fn unc_paths_of_two_parts_are_network_shares() {
        let share = MountPoint::Share {
            server: "files".to_owned(),
            share: "team".to_owned(),
            drive: None,
        };
        assert_eq!(MountPoint::parse("\\\\files\\team"), Ok(share.clone()));
        assert_eq!(MountPoint::parse("\\\\files\\team\\"), Ok(share.clone()));
        assert_eq!(share.to_windows_string(), "\\\\files\\team");
        assert_eq!(share.unc_prefix().as_deref(), Some("\\files\\team"));
        assert_eq!(MountPoint::Drive('M').unc_prefix(), None);
        for text in [
            "\\\\files",
            "\\\\files\\",
            "\\\\files\\team\\docs",
            "\\\\\\team",
            "\\\\.\\M:",
            "\\\\?\\C:\\mnt",
            "\\\\files\\te:am",
            "\\\\fi*les\\team",
        ] {
            assert_eq!(MountPoint::parse(text), Err(Errno::EINVAL), "{text}");
        }
    }

    #[test]
    fn sizes_and_names_are_checked() {
        assert!(WindowsOptions::default().validate().is_ok());
        let odd_sector = WindowsOptions {
            sector_size: 1000,
            ..Default::default()
        };
        let error = odd_sector.validate().unwrap_err();
        assert_eq!(error.option, "sectorSize");
        assert!(error.to_string().contains("sectorSize"), "{error}");
        let misaligned = WindowsOptions {
            allocation_unit_size: 6000,
            ..Default::default()
        };
        let error = misaligned.validate().unwrap_err();
        assert_eq!(error.option, "allocationUnitSize");
        assert!(error.message.contains("allocationUnitSize"), "{error}");
        let long_name = WindowsOptions {
            file_system_name: "x".repeat(16),
            ..Default::default()
        };
        assert_eq!(long_name.validate().unwrap_err().option, "fsName");
    }

    #[test]
    fn a_share_takes_a_drive_letter_and_nothing_else_does() {
        let share = MountPoint::parse("\\\\files\\team").unwrap();
        let lettered = share.clone().with_drive_letter("m:").unwrap();
        assert_eq!(
            lettered,
            MountPoint::Share {
                server: "files".to_owned(),
                share: "team".to_owned(),
                drive: Some('M'),
            }
        );
        assert_eq!(lettered.to_windows_string(), "\\\\files\\team");
        for wrong in ["*", "", "C:\\mnt", "MM:"] {
            let error = share.clone().with_drive_letter(wrong).unwrap_err();
            assert_eq!(error.option, "driveLetter");
            assert!(error.message.contains(&format!("got '{wrong}'")), "{error}");
        }
        let error = MountPoint::Drive('Q').with_drive_letter("M:").unwrap_err();
        assert_eq!(error.option, "driveLetter");
        assert!(error.message.contains("not with Q:"), "{error}");
    }

    #[test]
    fn label_share_prefixes_have_one_leading_backslash_and_are_sanitized() {
        assert_eq!(label_share_prefix(""), "\\mountkit\\volume");
        assert_eq!(label_share_prefix("a-b_c"), "\\mountkit\\a-b_c");
        assert_eq!(label_share_prefix("é\\x"), "\\mountkit\\__x");
        // Dokan keeps it in a buffer of 64 units, terminator included.
        let longest = "x".repeat(32);
        assert!(label_share_prefix(&longest).encode_utf16().count() < 64);
    }

    #[test]
    fn network_drives_need_a_letter_or_a_share() {
        let network = WindowsOptions {
            drive_type: DriveType::Network,
            ..Default::default()
        };
        let folder = MountPoint::Folder("C:\\mnt\\x".to_owned());
        let error = network.check_mount_point(&folder).unwrap_err();
        assert_eq!(error.option, "driveType");
        assert!(error.message.contains("folder 'C:\\mnt\\x'"), "{error}");
        let share = MountPoint::parse("\\\\files\\team").unwrap();
        for point in [&MountPoint::Drive('M'), &MountPoint::NextFreeDrive, &share] {
            assert_eq!(network.check_mount_point(point), Ok(()), "{point:?}");
        }
        assert_eq!(WindowsOptions::default().check_mount_point(&folder), Ok(()));
        assert_eq!(WindowsOptions::default().check_mount_point(&share), Ok(()));
        let removable = WindowsOptions {
            drive_type: DriveType::Removable,
            ..Default::default()
        };
        let error = removable.check_mount_point(&share).unwrap_err();
        assert!(
            error.message.contains("\\\\files\\team is a network share"),
            "{error}"
        );
    }

    #[test]
    fn drive_types_are_read_as_the_option_spells_them() {
        assert_eq!(DriveType::parse("network"), Ok(DriveType::Network));
        assert_eq!(DriveType::parse("fixed"), Ok(DriveType::Fixed));
        assert_eq!(DriveType::parse("removable"), Ok(DriveType::Removable));
        let error = DriveType::parse("floppy").unwrap_err();
        assert_eq!(error.option, "driveType");
        assert!(error.message.contains("'floppy'"), "{error}");
    }
}
