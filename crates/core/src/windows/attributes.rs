//! Windows file attributes (`FILE_ATTRIBUTE_*`) derived from, and applied to, a neutral
//! [`Stat`].
//!
//! Windows has one read-only attribute where POSIX has nine permission bits. mountkit keeps the
//! two views consistent: a file is read-only for Windows when its handler says so
//! ([`WindowsAttributes::readonly`]) or when its owner cannot write it, and making a file
//! read-only from Windows also takes away its write permission bits.

use crate::stat::{FileKind, Stat, WindowsAttributes};

/// The file cannot be written, extended or deleted.
pub const FILE_ATTRIBUTE_READONLY: u32 = 0x0000_0001;
/// The file is not shown in ordinary listings.
pub const FILE_ATTRIBUTE_HIDDEN: u32 = 0x0000_0002;
/// The file is used by the operating system.
pub const FILE_ATTRIBUTE_SYSTEM: u32 = 0x0000_0004;
/// The file is a directory.
pub const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x0000_0010;
/// The file has changed since it was last backed up.
pub const FILE_ATTRIBUTE_ARCHIVE: u32 = 0x0000_0020;
/// Reserved for system use.
pub const FILE_ATTRIBUTE_DEVICE: u32 = 0x0000_0040;
/// The file has no other attribute; valid only alone.
pub const FILE_ATTRIBUTE_NORMAL: u32 = 0x0000_0080;
/// The file is temporary: the cache manager avoids writing it back.
pub const FILE_ATTRIBUTE_TEMPORARY: u32 = 0x0000_0100;
/// The file is sparse.
pub const FILE_ATTRIBUTE_SPARSE_FILE: u32 = 0x0000_0200;
/// The file is a reparse point, such as a symbolic link.
pub const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x0000_0400;
/// The file is compressed.
pub const FILE_ATTRIBUTE_COMPRESSED: u32 = 0x0000_0800;
/// The file's data is not available immediately.
pub const FILE_ATTRIBUTE_OFFLINE: u32 = 0x0000_1000;
/// The content indexer skips the file.
pub const FILE_ATTRIBUTE_NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
/// The file is encrypted.
pub const FILE_ATTRIBUTE_ENCRYPTED: u32 = 0x0000_4000;
/// `GetFileAttributes` returns this value on failure; WinFsp's `SetBasicInfo` passes it to
/// mean "leave the attributes unchanged".
pub const INVALID_FILE_ATTRIBUTES: u32 = u32::MAX;

/// The reparse tag of a symbolic link, which a backend reports alongside
/// [`FILE_ATTRIBUTE_REPARSE_POINT`] (in `WIN32_FIND_DATA::dwReserved0`, for example).
pub const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;

const OWNER_WRITE: u32 = 0o200;
const ALL_WRITE: u32 = 0o222;

/// The Windows attributes of a file described by `stat`.
///
/// - A directory has [`FILE_ATTRIBUTE_DIRECTORY`]; a symlink has
///   [`FILE_ATTRIBUTE_REPARSE_POINT`]. A symlink is reported as a file symlink; a backend that
///   knows the target is a directory adds [`FILE_ATTRIBUTE_DIRECTORY`] itself. FIFOs, sockets
///   and devices have no Windows counterpart and look like ordinary files.
/// - [`FILE_ATTRIBUTE_READONLY`] is set when the handler set `stat.windows.readonly`, or,
///   for anything but a directory, when the owner write bit (`0o200`) is clear. Directories
///   take it only from the flag, because Windows gives read-only on a directory another
///   meaning (Explorer marks customized folders with it; it does not stop files being
///   created inside).
/// - [`FILE_ATTRIBUTE_HIDDEN`], [`FILE_ATTRIBUTE_SYSTEM`], [`FILE_ATTRIBUTE_ARCHIVE`],
///   [`FILE_ATTRIBUTE_NOT_CONTENT_INDEXED`] and [`FILE_ATTRIBUTE_OFFLINE`] come from the
///   matching flags.
/// - [`FILE_ATTRIBUTE_NORMAL`] is returned exactly when no other attribute applies.
pub fn attributes_from_stat(stat: &Stat) -> u32 {
    let mut attributes = match stat.kind {
        FileKind::Directory => FILE_ATTRIBUTE_DIRECTORY,
        FileKind::Symlink => FILE_ATTRIBUTE_REPARSE_POINT,
        _ => 0,
    };
    let mode_readonly = stat.kind != FileKind::Directory && stat.mode & OWNER_WRITE == 0;
    for (set, bit) in [
        (
            stat.windows.readonly || mode_readonly,
            FILE_ATTRIBUTE_READONLY,
        ),
        (stat.windows.hidden, FILE_ATTRIBUTE_HIDDEN),
        (stat.windows.system, FILE_ATTRIBUTE_SYSTEM),
        (stat.windows.archive, FILE_ATTRIBUTE_ARCHIVE),
        (
            stat.windows.not_content_indexed,
            FILE_ATTRIBUTE_NOT_CONTENT_INDEXED,
        ),
        (stat.windows.offline, FILE_ATTRIBUTE_OFFLINE),
    ] {
        if set {
            attributes |= bit;
        }
    }
    if attributes == 0 {
        FILE_ATTRIBUTE_NORMAL
    } else {
        attributes
    }
}

/// What `SetFileAttributes` or `SetBasicInfo` with `attributes` does to the file described by
/// `stat`: its new Windows flags, and its new permission bits if they change.
///
/// - `0` and [`INVALID_FILE_ATTRIBUTES`] mean "leave the attributes alone": the current flags
///   come back unchanged and the mode is `None`.
/// - Otherwise each of the read-only, hidden, system, archive, not-content-indexed and offline
///   flags is set exactly as `attributes` says ([`FILE_ATTRIBUTE_NORMAL`] alone clears them
///   all), as [`windows_attributes`] reads them. Other bits (directory, reparse point,
///   temporary, compressed, ...) describe what the file is or how Windows stores it, cannot
///   be changed this way, and are ignored, as NTFS ignores them.
/// - For a file (anything but a directory or symlink), read-only is also expressed in the
///   mode, so POSIX clients agree: setting it clears every write bit (`a-w`); clearing it on a
///   file whose owner cannot write restores the owner write bit only (`u+w`), since granting
///   group or world write would widen access beyond what the user asked. The returned mode
///   (permission bits only) is `Some` only when it differs from `stat.mode`.
/// - A directory keeps its mode (see [`attributes_from_stat`]); a symlink has no mode of its
///   own to change.
pub fn apply_attributes(stat: &Stat, attributes: u32) -> (WindowsAttributes, Option<u32>) {
    if attributes == 0 || attributes == INVALID_FILE_ATTRIBUTES {
        return (stat.windows, None);
    }
    let flags = windows_attributes(attributes);
    let readonly = flags.readonly;
    if matches!(stat.kind, FileKind::Directory | FileKind::Symlink) {
        return (flags, None);
    }
    let mode = if readonly {
        stat.mode & !ALL_WRITE
    } else if stat.mode & OWNER_WRITE == 0 {
        stat.mode | OWNER_WRITE
    } else {
        stat.mode
    };
    (flags, (mode != stat.mode).then_some(mode))
}

/// The flags `FILE_ATTRIBUTE_*` bits set; bits with no flag are ignored.
pub fn windows_attributes(attributes: u32) -> WindowsAttributes {
    let set = |bit: u32| attributes & bit != 0;
    WindowsAttributes {
        readonly: set(FILE_ATTRIBUTE_READONLY),
        hidden: set(FILE_ATTRIBUTE_HIDDEN),
        system: set(FILE_ATTRIBUTE_SYSTEM),
        archive: set(FILE_ATTRIBUTE_ARCHIVE),
        not_content_indexed: set(FILE_ATTRIBUTE_NOT_CONTENT_INDEXED),
        offline: set(FILE_ATTRIBUTE_OFFLINE),
    }
}

/// The flags a new file takes from the `FILE_ATTRIBUTE_*` bits its creator asked for, when any
/// is set: `None` for none ([`FILE_ATTRIBUTE_NORMAL`], 0, or only bits with no flag), so that
/// an ordinary create sends the filesystem nothing more.
pub fn attributes_at_creation(attributes: u32) -> Option<WindowsAttributes> {
    let flags = windows_attributes(attributes);
    (flags != WindowsAttributes::default()).then_some(flags)
}

/// Whether an open that discards an existing file's data (`FILE_SUPERSEDE`, `FILE_OVERWRITE`,
/// `FILE_OVERWRITE_IF`) may go ahead, from the file's `current` attributes and the ones the
/// caller `asked` for: a hidden or system file only when the caller asks to keep it hidden or
/// system, as NTFS and WinFsp's driver decide (`CreateFile` with `CREATE_ALWAYS` or
/// `TRUNCATE_EXISTING` fails with `ERROR_ACCESS_DENIED` otherwise). `EACCES` when not.
pub fn check_overwrite(current: u32, asked: u32) -> Result<(), crate::Errno> {
    let keeps = |bit: u32| current & bit == 0 || asked & bit != 0;
    if keeps(FILE_ATTRIBUTE_HIDDEN) && keeps(FILE_ATTRIBUTE_SYSTEM) {
        Ok(())
    } else {
        Err(crate::Errno::EACCES)
    }
}

/// The attributes a file has after an open discarded its data, from its `current` attributes
/// and the ones the caller `asked` for, as WinFsp's `Overwrite` defines them: a supersede
/// replaces them (nothing asked is [`FILE_ATTRIBUTE_NORMAL`]), an overwrite adds to them.
/// [`FILE_ATTRIBUTE_NORMAL`] on either side counts as no flag. The archive bit is not added:
/// mountkit does not set it on a new file either, so it stays what the filesystem keeps.
pub fn overwritten_attributes(current: u32, asked: u32, supersede: bool) -> u32 {
    let asked = asked & !FILE_ATTRIBUTE_NORMAL;
    let attributes = if supersede {
        asked
    } else {
        (current & !FILE_ATTRIBUTE_NORMAL) | asked
    };
    if attributes == 0 {
        FILE_ATTRIBUTE_NORMAL
    } else {
        attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(kind: FileKind, mode: u32) -> Stat {
        Stat {
            mode,
            ..Stat::new(kind)
        }
    }

    #[test]
    fn plain_files_are_normal() {
        assert_eq!(
            attributes_from_stat(&stat(FileKind::File, 0o644)),
            FILE_ATTRIBUTE_NORMAL
        );
        assert_eq!(
            attributes_from_stat(&stat(FileKind::Fifo, 0o644)),
            FILE_ATTRIBUTE_NORMAL
        );
    }

    #[test]
    fn kinds_set_their_bits() {
        assert_eq!(
            attributes_from_stat(&stat(FileKind::Directory, 0o755)),
            FILE_ATTRIBUTE_DIRECTORY
        );
        assert_eq!(
            attributes_from_stat(&stat(FileKind::Symlink, 0o777)),
            FILE_ATTRIBUTE_REPARSE_POINT
        );
    }

    #[test]
    fn readonly_comes_from_the_flag_or_the_owner_write_bit() {
        assert_eq!(
            attributes_from_stat(&stat(FileKind::File, 0o444)),
            FILE_ATTRIBUTE_READONLY
        );
        assert_eq!(
            attributes_from_stat(&stat(FileKind::File, 0o464)),
            FILE_ATTRIBUTE_READONLY,
            "group write does not make the owner a writer"
        );
        let mut flagged = stat(FileKind::File, 0o644);
        flagged.windows.readonly = true;
        assert_eq!(attributes_from_stat(&flagged), FILE_ATTRIBUTE_READONLY);
        assert_eq!(
            attributes_from_stat(&stat(FileKind::Directory, 0o555)),
            FILE_ATTRIBUTE_DIRECTORY,
            "directories ignore the mode"
        );
        let mut flagged_dir = stat(FileKind::Directory, 0o755);
        flagged_dir.windows.readonly = true;
        assert_eq!(
            attributes_from_stat(&flagged_dir),
            FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_READONLY
        );
    }

    #[test]
    fn windows_flags_are_reported() {
        let mut s = stat(FileKind::File, 0o644);
        s.windows = WindowsAttributes {
            hidden: true,
            readonly: false,
            system: true,
            archive: true,
            not_content_indexed: true,
            offline: true,
        };
        assert_eq!(
            attributes_from_stat(&s),
            FILE_ATTRIBUTE_HIDDEN
                | FILE_ATTRIBUTE_SYSTEM
                | FILE_ATTRIBUTE_ARCHIVE
                | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED
                | FILE_ATTRIBUTE_OFFLINE
        );
    }

    #[test]
    fn zero_and_invalid_leave_everything_alone() {
        let mut s = stat(FileKind::File, 0o444);
        s.windows.hidden = true;
        for attributes in [0, INVALID_FILE_ATTRIBUTES] {
            assert_eq!(apply_attributes(&s, attributes), (s.windows, None));
        }
    }

    #[test]
    fn setting_readonly_clears_all_write_bits() {
        let (flags, mode) = apply_attributes(&stat(FileKind::File, 0o664), FILE_ATTRIBUTE_READONLY);
        assert!(flags.readonly);
        assert_eq!(mode, Some(0o444));
        let (_, mode) = apply_attributes(&stat(FileKind::File, 0o4755), FILE_ATTRIBUTE_READONLY);
        assert_eq!(mode, Some(0o4555), "other bits survive");
    }

    #[test]
    fn clearing_readonly_restores_owner_write_only() {
        let (flags, mode) = apply_attributes(&stat(FileKind::File, 0o444), FILE_ATTRIBUTE_NORMAL);
        assert_eq!(flags, WindowsAttributes::default());
        assert_eq!(mode, Some(0o644));
        let (_, mode) = apply_attributes(&stat(FileKind::File, 0o644), FILE_ATTRIBUTE_ARCHIVE);
        assert_eq!(mode, None, "already writable");
    }

    #[test]
    fn other_flags_are_set_exactly() {
        let mut s = stat(FileKind::File, 0o644);
        s.windows.system = true;
        let (flags, mode) = apply_attributes(
            &s,
            FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_ARCHIVE | FILE_ATTRIBUTE_TEMPORARY,
        );
        assert_eq!(
            flags,
            WindowsAttributes {
                hidden: true,
                archive: true,
                ..WindowsAttributes::default()
            }
        );
        assert_eq!(mode, None);
    }

    #[test]
    fn every_flag_reads_from_its_bit_and_storage_bits_are_ignored() {
        let all = windows_attributes(
            FILE_ATTRIBUTE_READONLY
                | FILE_ATTRIBUTE_HIDDEN
                | FILE_ATTRIBUTE_SYSTEM
                | FILE_ATTRIBUTE_ARCHIVE
                | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED
                | FILE_ATTRIBUTE_OFFLINE,
        );
        assert!(
            all.readonly
                && all.hidden
                && all.system
                && all.archive
                && all.not_content_indexed
                && all.offline
        );
        let storage_only = FILE_ATTRIBUTE_DIRECTORY
            | FILE_ATTRIBUTE_NORMAL
            | FILE_ATTRIBUTE_TEMPORARY
            | FILE_ATTRIBUTE_SPARSE_FILE
            | FILE_ATTRIBUTE_REPARSE_POINT
            | FILE_ATTRIBUTE_COMPRESSED
            | FILE_ATTRIBUTE_ENCRYPTED
            | FILE_ATTRIBUTE_DEVICE;
        assert_eq!(
            windows_attributes(storage_only),
            WindowsAttributes::default()
        );
    }

    #[test]
    fn a_plain_create_asks_for_no_attributes() {
        assert_eq!(attributes_at_creation(0), None);
        assert_eq!(attributes_at_creation(FILE_ATTRIBUTE_NORMAL), None);
        assert_eq!(attributes_at_creation(FILE_ATTRIBUTE_TEMPORARY), None);
        assert_eq!(
            attributes_at_creation(FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_OFFLINE),
            Some(WindowsAttributes {
                hidden: true,
                offline: true,
                ..WindowsAttributes::default()
            })
        );
    }

    #[test]
    fn directories_and_symlinks_keep_their_mode() {
        let dir = stat(FileKind::Directory, 0o755);
        let (flags, mode) =
            apply_attributes(&dir, FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_READONLY);
        assert!(flags.readonly);
        assert_eq!(mode, None);
        assert_eq!(
            attributes_from_stat(&Stat {
                windows: flags,
                ..dir
            }),
            FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_READONLY
        );
        let link = stat(FileKind::Symlink, 0o777);
        assert_eq!(apply_attributes(&link, FILE_ATTRIBUTE_READONLY).1, None);
    }

    #[test]
    fn applied_attributes_read_back() {
        for attributes in [
            FILE_ATTRIBUTE_NORMAL,
            FILE_ATTRIBUTE_READONLY,
            FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM,
            FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_ARCHIVE,
            FILE_ATTRIBUTE_NOT_CONTENT_INDEXED | FILE_ATTRIBUTE_OFFLINE,
        ] {
            for mode in [0o644, 0o444, 0o600, 0o000] {
                let before = stat(FileKind::File, mode);
                let (windows, new_mode) = apply_attributes(&before, attributes);
                let after = Stat {
                    windows,
                    mode: new_mode.unwrap_or(mode),
                    ..before
                };
                assert_eq!(
                    attributes_from_stat(&after),
                    attributes,
                    "mode {mode:o}, attributes {attributes:#x}"
                );
            }
        }
    }

    #[test]
    fn only_an_open_that_keeps_hidden_and_system_may_overwrite() {
        let hidden_system = FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM;
        assert_eq!(
            check_overwrite(FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_NORMAL),
            Ok(())
        );
        assert_eq!(check_overwrite(FILE_ATTRIBUTE_READONLY, 0), Ok(()));
        assert_eq!(
            check_overwrite(FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_NORMAL),
            Err(crate::Errno::EACCES)
        );
        assert_eq!(
            check_overwrite(hidden_system, FILE_ATTRIBUTE_HIDDEN),
            Err(crate::Errno::EACCES),
            "system, dropped"
        );
        assert_eq!(check_overwrite(hidden_system, hidden_system), Ok(()));
        assert_eq!(
            check_overwrite(FILE_ATTRIBUTE_NORMAL, hidden_system),
            Ok(()),
            "a caller may make a plain file hidden"
        );
    }

    #[test]
    fn a_supersede_replaces_the_attributes_and_an_overwrite_adds_to_them() {
        let current = FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED;
        assert_eq!(
            overwritten_attributes(current, FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM, true),
            FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM
        );
        assert_eq!(
            overwritten_attributes(current, FILE_ATTRIBUTE_SYSTEM, false),
            current | FILE_ATTRIBUTE_SYSTEM
        );
        assert_eq!(
            overwritten_attributes(current, 0, true),
            FILE_ATTRIBUTE_NORMAL
        );
        assert_eq!(
            overwritten_attributes(current, FILE_ATTRIBUTE_NORMAL, true),
            FILE_ATTRIBUTE_NORMAL
        );
        assert_eq!(
            overwritten_attributes(FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_HIDDEN, false),
            FILE_ATTRIBUTE_HIDDEN,
            "NORMAL is no flag, and goes when one joins"
        );
        assert_eq!(
            overwritten_attributes(FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_NORMAL, false),
            FILE_ATTRIBUTE_NORMAL
        );
    }
}
