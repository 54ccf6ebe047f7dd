//! Windows rename rules (`FileRenameInformation`, `MoveFileEx`) expressed as a core
//! [`RenameMode`].
//!
//! Windows is stricter than POSIX about what a rename may replace: only a file that nobody
//! has open, and only when the caller asked for replacement. The checks here run before the
//! core `rename` is called, so handlers written for POSIX semantics behave as Windows
//! programs expect.

use crate::errno::Errno;
use crate::operation::RenameMode;
use crate::stat::FileKind;

/// Decides whether a rename may go ahead, and with which [`RenameMode`].
///
/// - `from_kind` is the kind of the object being renamed.
/// - `to_existing` is the kind of the object already at the destination, if any.
/// - `replace_if_exists` is the request's `ReplaceIfExists` (`MOVEFILE_REPLACE_EXISTING`).
/// - `to_is_open` says whether the destination object has open handles.
/// - `case_insensitive_same_name` says that the file system is case-insensitive and the
///   destination names the source itself, differing only in case (`readme` → `README`).
///
/// The rules, in order:
///
/// 1. Changing only the case of a name is always allowed, although the destination "exists"
///    and is open (through the very handle doing the rename): the answer is
///    [`RenameMode::Replace`]. A case-insensitive handler must treat such a rename as
///    changing the stored name, not as the POSIX no-op of renaming a file onto itself.
/// 2. With no destination object the rename goes ahead: [`RenameMode::Replace`] when
///    replacement was allowed, otherwise [`RenameMode::NoReplace`], so that a destination
///    created meanwhile by another client makes the handler fail with `EEXIST` instead of
///    being replaced.
/// 3. An existing destination without `replace_if_exists` fails with `EEXIST`
///    (`STATUS_OBJECT_NAME_COLLISION`).
/// 4. Replacement fails with `EACCES` (`STATUS_ACCESS_DENIED`, as NTFS answers) when the
///    destination is a directory, since Windows never replaces a directory; when the source is
///    a directory, since `MoveFileEx` documents that replacement cannot be used with
///    directories; and when the destination is open.
/// 5. Otherwise the destination file is replaced: [`RenameMode::Replace`].
///
/// [`RenameMode::Exchange`] is never returned; Windows renames have no exchange.
pub fn check_rename(
    from_kind: FileKind,
    to_existing: Option<FileKind>,
    replace_if_exists: bool,
    to_is_open: bool,
    case_insensitive_same_name: bool,
) -> Result<RenameMode, Errno> {
    if case_insensitive_same_name {
        return Ok(RenameMode::Replace);
    }
    let Some(to_kind) = to_existing else {
        return Ok(if replace_if_exists {
            RenameMode::Replace
        } else {
            RenameMode::NoReplace
        });
    };
    if !replace_if_exists {
        return Err(Errno::EEXIST);
    }
    if to_kind == FileKind::Directory || from_kind == FileKind::Directory || to_is_open {
        return Err(Errno::EACCES);
    }
    Ok(RenameMode::Replace)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: FileKind = FileKind::File;
    const DIR: FileKind = FileKind::Directory;

    #[test]
    fn renames_to_a_free_name() {
        for from in [FILE, DIR, FileKind::Symlink] {
            assert_eq!(
                check_rename(from, None, false, false, false),
                Ok(RenameMode::NoReplace)
            );
            assert_eq!(
                check_rename(from, None, true, false, false),
                Ok(RenameMode::Replace)
            );
        }
    }

    #[test]
    fn an_existing_target_needs_replace() {
        for from in [FILE, DIR] {
            for to in [FILE, DIR] {
                assert_eq!(
                    check_rename(from, Some(to), false, false, false),
                    Err(Errno::EEXIST),
                    "{from:?} onto {to:?}"
                );
            }
        }
    }

    #[test]
    fn files_replace_closed_files() {
        assert_eq!(
            check_rename(FILE, Some(FILE), true, false, false),
            Ok(RenameMode::Replace)
        );
        assert_eq!(
            check_rename(FileKind::Symlink, Some(FILE), true, false, false),
            Ok(RenameMode::Replace)
        );
        assert_eq!(
            check_rename(FILE, Some(FileKind::Symlink), true, false, false),
            Ok(RenameMode::Replace)
        );
    }

    #[test]
    fn directories_are_never_replaced_or_replacing() {
        assert_eq!(
            check_rename(FILE, Some(DIR), true, false, false),
            Err(Errno::EACCES),
            "file onto directory"
        );
        assert_eq!(
            check_rename(DIR, Some(DIR), true, false, false),
            Err(Errno::EACCES),
            "directory onto directory"
        );
        assert_eq!(
            check_rename(DIR, Some(FILE), true, false, false),
            Err(Errno::EACCES),
            "directory onto file"
        );
    }

    #[test]
    fn open_targets_are_not_replaced() {
        assert_eq!(
            check_rename(FILE, Some(FILE), true, true, false),
            Err(Errno::EACCES)
        );
        assert_eq!(
            check_rename(FILE, Some(FILE), false, true, false),
            Err(Errno::EEXIST),
            "the collision is reported first"
        );
    }

    #[test]
    fn case_only_renames_are_allowed() {
        for kind in [FILE, DIR] {
            for replace in [false, true] {
                assert_eq!(
                    check_rename(kind, Some(kind), replace, true, true),
                    Ok(RenameMode::Replace),
                    "{kind:?}, replace {replace}"
                );
            }
        }
    }
}
