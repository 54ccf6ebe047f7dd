//! Windows rename rules (`FileRenameInformation`, `MoveFileEx`) expressed as a core
//! [`RenameMode`].
//!
//! Windows is stricter than POSIX about what a rename may replace: only a file that nobody
//! has open, and only when the caller asked for replacement. The checks here run before the
//! core `rename` is called, so handlers written for POSIX semantics behave as Windows
//! programs expect; [`rename_falling_back`] then carries the rename out, also for handlers
//! that cannot refuse to replace.

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

/// Carries out a rename that [`check_rename`] allowed with `mode`, through `rename` (the
/// handler's `rename` with a given mode), falling back as `mv` does when the handler cannot
/// refuse to replace.
///
/// A handler answers a [`RenameMode::NoReplace`] rename with `EINVAL` when it cannot refuse
/// to replace atomically: Linux answers so for file systems without `RENAME_NOREPLACE`, and
/// handlers may do the same (`examples/mirror.ts` does for directories). `mv` then checks that
/// the destination is free and renames plainly. A Windows rename without replacement only
/// means "fail if the destination exists", and the program making it has no such fallback, so
/// it is made here: `destination_exists` is asked again; an existing destination fails with
/// `EEXIST`, a free one is renamed with [`RenameMode::Replace`]. A destination another client
/// creates between the check and the rename is then replaced, the race `mv` accepts too.
/// Every other answer, and `EINVAL` to any other mode, is returned as it is.
pub fn rename_falling_back(
    mode: RenameMode,
    mut rename: impl FnMut(RenameMode) -> Result<(), Errno>,
    destination_exists: impl FnOnce() -> Result<bool, Errno>,
) -> Result<(), Errno> {
    match rename(mode) {
        Err(Errno::EINVAL) if mode == RenameMode::NoReplace => {
            if destination_exists()? {
                return Err(Errno::EEXIST);
            }
            rename(RenameMode::Replace)
        }
        result => result,
    }
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

    /// What a handler was asked, and what it answers to each mode.
    fn attempt(
        mode: RenameMode,
        answers: &[(RenameMode, Result<(), Errno>)],
        exists: Result<bool, Errno>,
    ) -> (Result<(), Errno>, Vec<RenameMode>, bool) {
        let mut asked = Vec::new();
        let mut checked = false;
        let result = rename_falling_back(
            mode,
            |mode| {
                asked.push(mode);
                answers
                    .iter()
                    .find(|(answered, _)| *answered == mode)
                    .map_or(Ok(()), |(_, answer)| *answer)
            },
            || {
                checked = true;
                exists
            },
        );
        (result, asked, checked)
    }

    #[test]
    fn no_replace_renames_the_handler_cannot_do_fall_back_to_a_checked_plain_rename() {
        use RenameMode::{NoReplace, Replace};
        let unsupported = [(NoReplace, Err(Errno::EINVAL))];
        assert_eq!(
            attempt(NoReplace, &unsupported, Ok(false)),
            (Ok(()), vec![NoReplace, Replace], true)
        );
        assert_eq!(
            attempt(NoReplace, &unsupported, Ok(true)),
            (Err(Errno::EEXIST), vec![NoReplace], true),
            "a destination that appeared is not replaced"
        );
        assert_eq!(
            attempt(NoReplace, &unsupported, Err(Errno::EIO)),
            (Err(Errno::EIO), vec![NoReplace], true)
        );
        let failing = [
            (NoReplace, Err(Errno::EINVAL)),
            (Replace, Err(Errno::EACCES)),
        ];
        assert_eq!(
            attempt(NoReplace, &failing, Ok(false)),
            (Err(Errno::EACCES), vec![NoReplace, Replace], true)
        );
    }

    #[test]
    fn other_answers_stand() {
        use RenameMode::{NoReplace, Replace};
        assert_eq!(
            attempt(NoReplace, &[], Ok(false)),
            (Ok(()), vec![NoReplace], false)
        );
        assert_eq!(
            attempt(NoReplace, &[(NoReplace, Err(Errno::EEXIST))], Ok(false)),
            (Err(Errno::EEXIST), vec![NoReplace], false)
        );
        assert_eq!(
            attempt(Replace, &[(Replace, Err(Errno::EINVAL))], Ok(false)),
            (Err(Errno::EINVAL), vec![Replace], false),
            "only a no-replace rename falls back"
        );
    }
}
