//! Symbolic links as Windows sees them: the `IO_REPARSE_TAG_SYMLINK` reparse data that
//! `FSCTL_GET_REPARSE_POINT` and `FSCTL_SET_REPARSE_POINT` carry, and how the POSIX target a
//! handler's `readlink` answers and `symlink` takes translates to and from the Windows target
//! stored in that data.
//!
//! The translation, for a volume mounted at `M:` (or at a folder such as `C:\mnt\data`, which
//! then stands where `M:` stands below):
//!
//! | POSIX target | Windows target | flags |
//! |---|---|---|
//! | `a/b`, `../a` (relative) | `a\b`, `..\a` | `SYMLINK_FLAG_RELATIVE` |
//! | `/a/b` (absolute: inside the mount) | substitute `\??\M:\a\b`, print `M:\a\b` | none |
//! | `/` | substitute `\??\M:\`, print `M:\` | none |
//! | `/a/b` on a share `\\server\share` with no drive letter | substitute `\??\UNC\server\share\a\b`, print `\\server\share\a\b` | none |
//!
//! and back: a relative Windows target becomes a relative POSIX one (`\` → `/`), a relative
//! one that starts with `\` (relative to the drive's root, what `CreateSymbolicLinkW` makes of
//! `\a\b`) becomes `/a/b`, and an absolute one becomes `/…` when it lies on the volume (its
//! path starts with the mount point, compared without regard to case) and is refused
//! otherwise ([`TargetOutsideVolume`]): a POSIX link has no way to name another drive.

use crate::errno::Errno;
use crate::windows::attributes::IO_REPARSE_TAG_SYMLINK;
use crate::windows::names::upcase_unit;
use crate::windows::ntstatus::{
    NtError, STATUS_IO_REPARSE_DATA_INVALID, STATUS_IO_REPARSE_TAG_MISMATCH,
};

/// `SYMLINK_FLAG_RELATIVE`: the link's substitute name is relative to the link's directory.
pub const SYMLINK_FLAG_RELATIVE: u32 = 1;

/// Bytes of `REPARSE_DATA_BUFFER` before its tag-specific part: `ReparseTag`,
/// `ReparseDataLength`, `Reserved`.
pub const REPARSE_HEADER_BYTES: usize = 8;

/// Bytes of `SymbolicLinkReparseBuffer` before its `PathBuffer`: the offsets and lengths of
/// the two names, and `Flags`.
const SYMLINK_HEADER_BYTES: usize = 12;

const BACKSLASH: u16 = b'\\' as u16;

/// The NT prefix of an absolute Win32 path (`\??\M:\a`), and the Win32 spelling of it.
const NT_PREFIXES: [&str; 2] = ["\\??\\", "\\\\?\\"];

/// What an `IO_REPARSE_TAG_SYMLINK` reparse point holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymlinkData {
    /// The target Windows follows (`SubstituteName`), UTF-16.
    pub substitute_name: Vec<u16>,
    /// The target programs show (`PrintName`), UTF-16.
    pub print_name: Vec<u16>,
    /// Whether the target is relative to the link's directory (`SYMLINK_FLAG_RELATIVE`).
    pub relative: bool,
}

impl SymlinkData {
    /// The link as a `REPARSE_DATA_BUFFER`: the substitute name, then the print name, in the
    /// path buffer.
    pub fn to_reparse_buffer(&self) -> Vec<u8> {
        let substitute_bytes = self.substitute_name.len() * 2;
        let print_bytes = self.print_name.len() * 2;
        let data_length = SYMLINK_HEADER_BYTES + substitute_bytes + print_bytes;
        let mut buffer = Vec::with_capacity(REPARSE_HEADER_BYTES + data_length);
        buffer.extend_from_slice(&IO_REPARSE_TAG_SYMLINK.to_le_bytes());
        buffer.extend_from_slice(&(data_length as u16).to_le_bytes());
        buffer.extend_from_slice(&0u16.to_le_bytes());
        buffer.extend_from_slice(&0u16.to_le_bytes());
        buffer.extend_from_slice(&(substitute_bytes as u16).to_le_bytes());
        buffer.extend_from_slice(&(substitute_bytes as u16).to_le_bytes());
        buffer.extend_from_slice(&(print_bytes as u16).to_le_bytes());
        let flags = if self.relative {
            SYMLINK_FLAG_RELATIVE
        } else {
            0
        };
        buffer.extend_from_slice(&flags.to_le_bytes());
        for unit in self.substitute_name.iter().chain(&self.print_name) {
            buffer.extend_from_slice(&unit.to_le_bytes());
        }
        buffer
    }

    /// Reads a `REPARSE_DATA_BUFFER` as `FSCTL_SET_REPARSE_POINT` passes it.
    ///
    /// Another tag is `STATUS_IO_REPARSE_TAG_MISMATCH`; data shorter than its header, a
    /// `ReparseDataLength` beyond the buffer, names outside the path buffer or at odd offsets,
    /// and an empty substitute name are `STATUS_IO_REPARSE_DATA_INVALID`.
    pub fn from_reparse_buffer(buffer: &[u8]) -> Result<SymlinkData, NtError> {
        let invalid = NtError(STATUS_IO_REPARSE_DATA_INVALID);
        let u16_at = |at: usize| u16::from_le_bytes([buffer[at], buffer[at + 1]]) as usize;
        if buffer.len() < REPARSE_HEADER_BYTES {
            return Err(invalid);
        }
        let tag = u32::from_le_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]);
        if tag != IO_REPARSE_TAG_SYMLINK {
            return Err(NtError(STATUS_IO_REPARSE_TAG_MISMATCH));
        }
        let data_length = u16_at(4);
        if data_length < SYMLINK_HEADER_BYTES || REPARSE_HEADER_BYTES + data_length > buffer.len() {
            return Err(invalid);
        }
        let flags = u32::from_le_bytes([buffer[16], buffer[17], buffer[18], buffer[19]]);
        let paths = &buffer
            [REPARSE_HEADER_BYTES + SYMLINK_HEADER_BYTES..REPARSE_HEADER_BYTES + data_length];
        let name = |offset: usize, length: usize| -> Result<Vec<u16>, NtError> {
            if offset % 2 != 0 || length % 2 != 0 || offset + length > paths.len() {
                return Err(invalid);
            }
            Ok(paths[offset..offset + length]
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                .collect())
        };
        let substitute_name = name(u16_at(8), u16_at(10))?;
        let print_name = name(u16_at(12), u16_at(14))?;
        if substitute_name.is_empty() {
            return Err(invalid);
        }
        Ok(SymlinkData {
            substitute_name,
            print_name,
            relative: flags & SYMLINK_FLAG_RELATIVE != 0,
        })
    }
}

/// An absolute Windows link target that does not lie on the volume, which a POSIX link
/// cannot name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetOutsideVolume {
    /// The target as Windows gave it.
    pub target: String,
    /// The mount point the target would have to start with.
    pub mount_point: String,
}

impl std::fmt::Display for TargetOutsideVolume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the symbolic link target {:?} is not on this volume ({}); a link served by \
             mountkit may only point inside the volume: use a relative target or one under {}",
            self.target, self.mount_point, self.mount_point
        )
    }
}

impl std::error::Error for TargetOutsideVolume {}

/// The mount point without trailing separators: `M:` or `C:\mnt\data`.
fn mount_root(mount_point: &str) -> &str {
    mount_point.trim_end_matches(['\\', '/'])
}

/// The volume's root as the NT namespace spells it after `\??\`: a drive or folder as it is,
/// a share `\\server\share` as `UNC\server\share`.
fn nt_root(mount_point: &str) -> String {
    let root = mount_root(mount_point);
    match root.strip_prefix("\\\\") {
        Some(share) => format!("UNC\\{share}"),
        None => root.to_owned(),
    }
}

/// The Windows link data for a POSIX target (see the module's table), on a volume mounted at
/// `mount_point` (`M:` or a folder path).
pub fn windows_target(posix_target: &str, mount_point: &str) -> SymlinkData {
    let windows: Vec<u16> = posix_target
        .encode_utf16()
        .map(|unit| if unit == b'/' as u16 { BACKSLASH } else { unit })
        .collect();
    if !posix_target.starts_with('/') {
        return SymlinkData {
            substitute_name: windows.clone(),
            print_name: windows,
            relative: true,
        };
    }
    let rest = windows
        .iter()
        .position(|&unit| unit != BACKSLASH)
        .map_or(&[][..], |start| &windows[start..]);
    let mut print_name: Vec<u16> = mount_root(mount_point).encode_utf16().collect();
    print_name.push(BACKSLASH);
    print_name.extend_from_slice(rest);
    let mut substitute_name: Vec<u16> = NT_PREFIXES[0].encode_utf16().collect();
    substitute_name.extend(nt_root(mount_point).encode_utf16());
    substitute_name.push(BACKSLASH);
    substitute_name.extend_from_slice(rest);
    SymlinkData {
        substitute_name,
        print_name,
        relative: false,
    }
}

/// The POSIX target for Windows link data (see the module's table), on a volume mounted at
/// `mount_point`.
pub fn posix_target(data: &SymlinkData, mount_point: &str) -> Result<String, TargetOutsideVolume> {
    let target = String::from_utf16_lossy(&data.substitute_name);
    let outside = || TargetOutsideVolume {
        target: target.clone(),
        mount_point: mount_root(mount_point).to_owned(),
    };
    let posix = |units: &[u16]| -> String { String::from_utf16_lossy(units).replace('\\', "/") };
    let name = &data.substitute_name[..];
    if data.relative {
        return Ok(posix(name));
    }
    let without_prefix = NT_PREFIXES
        .iter()
        .find_map(|prefix| target.strip_prefix(prefix))
        .ok_or_else(outside)?;
    let root: Vec<u16> = nt_root(mount_point).encode_utf16().collect();
    let rest: Vec<u16> = without_prefix.encode_utf16().collect();
    let on_volume = rest.len() >= root.len()
        && rest[..root.len()]
            .iter()
            .zip(&root)
            .all(|(&a, &b)| upcase_unit(a) == upcase_unit(b))
        && (rest.len() == root.len() || rest[root.len()] == BACKSLASH);
    if !on_volume {
        return Err(outside());
    }
    let inside = posix(&rest[root.len()..]);
    Ok(if inside.is_empty() {
        "/".to_owned()
    } else {
        inside
    })
}

/// The mountkit path a link at `link_path` names with `posix_target`: an absolute target as
/// it is, a relative one from the link's directory; `.` and `..` are resolved, and `..` stops
/// at the root, as Windows resolves them. `EINVAL` for an empty target.
pub fn resolve_target(link_path: &str, posix_target: &str) -> Result<String, Errno> {
    if posix_target.is_empty() {
        return Err(Errno::EINVAL);
    }
    let mut components: Vec<&str> = Vec::new();
    if !posix_target.starts_with('/') {
        components.extend(link_path.split('/').filter(|part| !part.is_empty()));
        components.pop();
    }
    for part in posix_target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            name => components.push(name),
        }
    }
    Ok(format!("/{}", components.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().collect()
    }

    #[test]
    fn relative_targets_translate_both_ways() {
        let data = windows_target("../docs/a.txt", "M:");
        assert_eq!(data.substitute_name, wide("..\\docs\\a.txt"));
        assert_eq!(data.print_name, wide("..\\docs\\a.txt"));
        assert!(data.relative);
        assert_eq!(posix_target(&data, "M:"), Ok("../docs/a.txt".to_owned()));
    }

    #[test]
    fn absolute_targets_land_on_the_mount_point() {
        let data = windows_target("/docs/a.txt", "M:");
        assert_eq!(data.substitute_name, wide("\\??\\M:\\docs\\a.txt"));
        assert_eq!(data.print_name, wide("M:\\docs\\a.txt"));
        assert!(!data.relative);
        assert_eq!(posix_target(&data, "m:\\"), Ok("/docs/a.txt".to_owned()));

        let folder = windows_target("/x", "C:\\mnt\\data\\");
        assert_eq!(folder.substitute_name, wide("\\??\\C:\\mnt\\data\\x"));
        assert_eq!(posix_target(&folder, "c:\\MNT\\data"), Ok("/x".to_owned()));

        let root = windows_target("/", "M:");
        assert_eq!(root.substitute_name, wide("\\??\\M:\\"));
        assert_eq!(posix_target(&root, "M:"), Ok("/".to_owned()));
    }

    #[test]
    fn absolute_targets_on_a_share_use_the_unc_namespace() {
        let data = windows_target("/docs/a.txt", "\\\\server\\share");
        assert_eq!(
            data.substitute_name,
            wide("\\??\\UNC\\server\\share\\docs\\a.txt")
        );
        assert_eq!(data.print_name, wide("\\\\server\\share\\docs\\a.txt"));
        assert_eq!(
            posix_target(&data, "\\\\SERVER\\share"),
            Ok("/docs/a.txt".to_owned())
        );
        let elsewhere = SymlinkData {
            substitute_name: wide("\\??\\UNC\\server\\other\\a"),
            print_name: wide("\\\\server\\other\\a"),
            relative: false,
        };
        assert!(posix_target(&elsewhere, "\\\\server\\share").is_err());
    }

    #[test]
    fn win32_spellings_and_drive_relative_targets_are_read() {
        let long = SymlinkData {
            substitute_name: wide("\\\\?\\M:\\a"),
            print_name: wide("M:\\a"),
            relative: false,
        };
        assert_eq!(posix_target(&long, "M:"), Ok("/a".to_owned()));
        let drive_relative = SymlinkData {
            substitute_name: wide("\\a\\b"),
            print_name: wide("\\a\\b"),
            relative: true,
        };
        assert_eq!(posix_target(&drive_relative, "M:"), Ok("/a/b".to_owned()));
        let bare = SymlinkData {
            substitute_name: wide("\\??\\M:"),
            print_name: wide("M:"),
            relative: false,
        };
        assert_eq!(posix_target(&bare, "M:"), Ok("/".to_owned()));
    }

    #[test]
    fn targets_off_the_volume_are_refused() {
        for target in [
            "\\??\\N:\\a",
            "\\??\\M:data",
            "\\??\\C:\\mnt\\database\\a",
            "\\Device\\HarddiskVolume1\\a",
            "\\??\\UNC\\server\\share",
        ] {
            let data = SymlinkData {
                substitute_name: wide(target),
                print_name: wide(target),
                relative: false,
            };
            let mount_point = if target.contains("mnt") {
                "C:\\mnt\\data"
            } else {
                "M:"
            };
            let refused = posix_target(&data, mount_point).unwrap_err();
            assert_eq!(refused.target, target);
            assert!(refused.to_string().contains("relative target"), "{refused}");
        }
    }

    #[test]
    fn reparse_buffers_round_trip() {
        let data = windows_target("/d/f", "M:");
        let buffer = data.to_reparse_buffer();
        assert_eq!(&buffer[..4], &IO_REPARSE_TAG_SYMLINK.to_le_bytes());
        let names = (data.substitute_name.len() + data.print_name.len()) * 2;
        assert_eq!(
            u16::from_le_bytes([buffer[4], buffer[5]]) as usize,
            SYMLINK_HEADER_BYTES + names
        );
        assert_eq!(
            buffer.len(),
            REPARSE_HEADER_BYTES + SYMLINK_HEADER_BYTES + names
        );
        assert_eq!(SymlinkData::from_reparse_buffer(&buffer), Ok(data));

        let relative = windows_target("f", "M:");
        let buffer = relative.to_reparse_buffer();
        assert_eq!(&buffer[16..20], &SYMLINK_FLAG_RELATIVE.to_le_bytes());
        assert_eq!(SymlinkData::from_reparse_buffer(&buffer), Ok(relative));
    }

    #[test]
    fn malformed_reparse_buffers_are_refused() {
        let good = windows_target("a", "M:").to_reparse_buffer();
        let mut other_tag = good.clone();
        other_tag[..4].copy_from_slice(&0xA000_0003u32.to_le_bytes());
        assert_eq!(
            SymlinkData::from_reparse_buffer(&other_tag),
            Err(NtError(STATUS_IO_REPARSE_TAG_MISMATCH))
        );
        let invalid = Err(NtError(STATUS_IO_REPARSE_DATA_INVALID));
        assert_eq!(SymlinkData::from_reparse_buffer(&good[..6]), invalid);
        assert_eq!(
            SymlinkData::from_reparse_buffer(&good[..good.len() - 1]),
            invalid
        );
        let mut past_end = good.clone();
        past_end[10] = 0x40;
        assert_eq!(SymlinkData::from_reparse_buffer(&past_end), invalid);
        let mut odd = good.clone();
        odd[8] = 1;
        assert_eq!(SymlinkData::from_reparse_buffer(&odd), invalid);
        let empty = SymlinkData {
            substitute_name: Vec::new(),
            print_name: Vec::new(),
            relative: true,
        };
        assert_eq!(
            SymlinkData::from_reparse_buffer(&empty.to_reparse_buffer()),
            invalid
        );
    }

    #[test]
    fn targets_resolve_from_the_link_directory() {
        assert_eq!(resolve_target("/d/link", "f"), Ok("/d/f".to_owned()));
        assert_eq!(resolve_target("/d/link", "../e/./f"), Ok("/e/f".to_owned()));
        assert_eq!(resolve_target("/link", "../../f"), Ok("/f".to_owned()));
        assert_eq!(resolve_target("/d/link", "/x/y/"), Ok("/x/y".to_owned()));
        assert_eq!(resolve_target("/d/link", "."), Ok("/d".to_owned()));
        assert_eq!(resolve_target("/d/link", ""), Err(Errno::EINVAL));
    }
}
