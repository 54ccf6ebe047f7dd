//! Windows deletion semantics: files are deleted when their last handle is cleaned up, not
//! when they are asked to be.
//!
//! On Windows a file is deleted in two steps. First a handle marks it *delete pending*, either
//! with `FileDispositionInformation` (`DeleteFile = TRUE`, what `DeleteFile` and
//! `RemoveDirectory` send) or by having been opened with `FILE_DELETE_ON_CLOSE`, which marks
//! it when that handle is cleaned up. Then, when the last open handle is cleaned up
//! (`IRP_MJ_CLEANUP`: WinFsp's and Dokan's `Cleanup`, which both call before `Close`), a file
//! that is still delete pending is removed. Until then the file stays where it is, existing
//! handles keep working, and new opens fail with `STATUS_DELETE_PENDING`. Clearing the mark
//! (`DeleteFile = FALSE`) before the last cleanup cancels the deletion.
//!
//! [`DeleteState`] tracks this for one file (one set of file objects sharing a file node).
//! `Close` plays no part: it only releases a handle's memory after its cleanup.
//!
//! POSIX-semantics deletion (`FILE_DISPOSITION_POSIX_SEMANTICS`, which unlinks the name at
//! once) is not modelled.

use crate::errno::Errno;
use crate::stat::{FileKind, Stat};

use super::attributes::{attributes_from_stat, FILE_ATTRIBUTE_READONLY};
use super::ntstatus::{errno_to_ntstatus, STATUS_CANNOT_DELETE};

/// Who marked the file delete pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingDelete {
    /// The handle set `FileDispositionInformation` with `DeleteFile = TRUE`.
    Disposition {
        /// The handle that marked the file.
        handle: u64,
    },
    /// The handle was opened with `FILE_DELETE_ON_CLOSE` and has been cleaned up.
    DeleteOnClose {
        /// The handle that marked the file.
        handle: u64,
    },
}

/// What a backend does when a handle is cleaned up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CleanupOutcome {
    /// Nothing: other handles remain open, or the file is not delete pending.
    Keep,
    /// Remove the file now (`unlink`, or `rmdir` for a directory). Cleanup cannot fail, so if
    /// the removal does (a directory that has gained entries since it was marked), the file
    /// simply stays.
    Delete,
}

/// Whether the file described by `stat` may be marked for deletion, as
/// `FileDispositionInformation` and WinFsp's `CanDelete` decide.
///
/// - A read-only file fails with `EACCES`; read-only is judged by
///   [`attributes_from_stat`], so a file whose owner lacks write permission counts, matching
///   what Windows shows. Windows reports this refusal as `STATUS_CANNOT_DELETE`, not
///   `STATUS_ACCESS_DENIED`; [`deletion_status`] gives a backend that status.
/// - A directory fails with `ENOTEMPTY` unless `directory_is_empty` (ignored for anything
///   but a directory).
pub fn can_delete(stat: &Stat, directory_is_empty: bool) -> Result<(), Errno> {
    if attributes_from_stat(stat) & FILE_ATTRIBUTE_READONLY != 0 {
        return Err(Errno::EACCES);
    }
    if stat.kind == FileKind::Directory && !directory_is_empty {
        return Err(Errno::ENOTEMPTY);
    }
    Ok(())
}

/// The NTSTATUS for an error from [`can_delete`], [`DeleteState::set_disposition`] or a
/// delete-on-close [`DeleteState::open`]: `EACCES` (a read-only file) is
/// `STATUS_CANNOT_DELETE`, as NTFS answers; everything else maps as [`errno_to_ntstatus`]
/// maps it. Win32 programs see `ERROR_ACCESS_DENIED` either way.
pub fn deletion_status(errno: Errno) -> i32 {
    if errno == Errno::EACCES {
        STATUS_CANNOT_DELETE
    } else {
        errno_to_ntstatus(errno)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenHandle {
    id: u64,
    delete_on_close: bool,
}

/// The deletion state of one file: its open handles and whether, and by whom, it has been
/// marked delete pending. A backend keeps one per file node, behind the node's lock, and
/// identifies handles by any `u64` unique among the file's open handles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteState {
    handles: Vec<OpenHandle>,
    pending: Option<PendingDelete>,
}

impl DeleteState {
    /// A file with no open handles that is not delete pending.
    pub fn new() -> DeleteState {
        DeleteState::default()
    }

    /// Records a new handle `handle` to the file described by `stat`.
    ///
    /// - Fails with `EIDRM` while the file is delete pending; [`errno_to_ntstatus`] maps
    ///   `EIDRM` to `STATUS_DELETE_PENDING`, which is what Windows answers. (`EIDRM`,
    ///   "identifier removed", is the POSIX code closest to "this file is on its way out", and
    ///   no handler has another use for it.)
    /// - With `delete_on_close`, fails as [`can_delete`] does. NTFS refuses such an open of a
    ///   read-only file up front; a non-empty directory is refused up front too, because
    ///   otherwise its deletion could only fail later, at a cleanup that cannot report it.
    ///   `directory_is_empty` is consulted only then, and only for a directory.
    /// - Fails with `EINVAL` if `handle` is already open on this file.
    ///
    /// A failed open records nothing.
    pub fn open(
        &mut self,
        handle: u64,
        delete_on_close: bool,
        stat: &Stat,
        directory_is_empty: bool,
    ) -> Result<(), Errno> {
        if self.pending.is_some() {
            return Err(Errno::EIDRM);
        }
        if delete_on_close {
            can_delete(stat, directory_is_empty)?;
        }
        if self.handles.iter().any(|open| open.id == handle) {
            return Err(Errno::EINVAL);
        }
        self.handles.push(OpenHandle {
            id: handle,
            delete_on_close,
        });
        Ok(())
    }

    /// Applies `FileDispositionInformation` through `handle`.
    ///
    /// With `delete`, the file becomes delete pending, set by `handle`, if [`can_delete`]
    /// allows it (`directory_is_empty` is consulted only for a directory); if it was already
    /// pending, it stays pending and keeps its original setter. Without `delete`, any pending
    /// deletion is cancelled, whoever set it; a handle opened with `FILE_DELETE_ON_CLOSE`
    /// that is still open will mark the file again at its cleanup, as on NTFS.
    ///
    /// Fails with `EBADF` if `handle` is not open on this file, and leaves the state unchanged
    /// on every failure. (The I/O manager has already checked that the handle has `DELETE`
    /// access.)
    pub fn set_disposition(
        &mut self,
        handle: u64,
        delete: bool,
        stat: &Stat,
        directory_is_empty: bool,
    ) -> Result<(), Errno> {
        if !self.handles.iter().any(|open| open.id == handle) {
            return Err(Errno::EBADF);
        }
        if !delete {
            self.pending = None;
            return Ok(());
        }
        can_delete(stat, directory_is_empty)?;
        self.pending
            .get_or_insert(PendingDelete::Disposition { handle });
        Ok(())
    }

    /// Handles the cleanup of `handle`, the moment Windows closes the last user handle of a
    /// file object; the handle is no longer open afterwards.
    ///
    /// A handle opened with `FILE_DELETE_ON_CLOSE` marks the file delete pending now (unless it
    /// already is). If this was the file's last handle and the file is delete pending, the
    /// answer is [`CleanupOutcome::Delete`] and the state starts over, as for a file that was
    /// never opened; otherwise it is [`CleanupOutcome::Keep`]. A handle that is not open on
    /// this file changes nothing and gets [`CleanupOutcome::Keep`].
    pub fn cleanup(&mut self, handle: u64) -> CleanupOutcome {
        let Some(index) = self.handles.iter().position(|open| open.id == handle) else {
            return CleanupOutcome::Keep;
        };
        let closed = self.handles.swap_remove(index);
        if closed.delete_on_close {
            self.pending
                .get_or_insert(PendingDelete::DeleteOnClose { handle });
        }
        if self.handles.is_empty() && self.pending.take().is_some() {
            CleanupOutcome::Delete
        } else {
            CleanupOutcome::Keep
        }
    }

    /// Whether the file is delete pending.
    pub fn is_delete_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Who marked the file delete pending, if it is.
    pub fn pending(&self) -> Option<PendingDelete> {
        self.pending
    }

    /// How many handles are open (opened and not yet cleaned up).
    pub fn open_handles(&self) -> usize {
        self.handles.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::ntstatus::{STATUS_DELETE_PENDING, STATUS_DIRECTORY_NOT_EMPTY};

    fn file() -> Stat {
        Stat::new(FileKind::File)
    }

    fn dir() -> Stat {
        Stat::new(FileKind::Directory)
    }

    fn readonly_file() -> Stat {
        Stat {
            mode: 0o444,
            ..file()
        }
    }

    #[test]
    fn can_delete_rules() {
        assert_eq!(can_delete(&file(), false), Ok(()));
        assert_eq!(can_delete(&dir(), true), Ok(()));
        assert_eq!(can_delete(&dir(), false), Err(Errno::ENOTEMPTY));
        assert_eq!(can_delete(&readonly_file(), true), Err(Errno::EACCES));
        let mut flagged = file();
        flagged.windows.readonly = true;
        assert_eq!(can_delete(&flagged, true), Err(Errno::EACCES));
        let mut flagged_dir = dir();
        flagged_dir.windows.readonly = true;
        assert_eq!(can_delete(&flagged_dir, true), Err(Errno::EACCES));
        let locked_dir = Stat {
            mode: 0o555,
            ..dir()
        };
        assert_eq!(
            can_delete(&locked_dir, true),
            Ok(()),
            "a directory's mode does not make it read-only"
        );
    }

    #[test]
    fn deletion_statuses() {
        assert_eq!(deletion_status(Errno::EACCES), STATUS_CANNOT_DELETE);
        assert_eq!(
            deletion_status(Errno::ENOTEMPTY),
            STATUS_DIRECTORY_NOT_EMPTY
        );
        assert_eq!(deletion_status(Errno::EIDRM), STATUS_DELETE_PENDING);
    }

    #[test]
    fn nothing_happens_without_a_mark() {
        let mut state = DeleteState::new();
        state.open(1, false, &file(), false).unwrap();
        state.open(2, false, &file(), false).unwrap();
        assert_eq!(state.open_handles(), 2);
        assert_eq!(state.cleanup(1), CleanupOutcome::Keep);
        assert_eq!(state.cleanup(2), CleanupOutcome::Keep);
        assert_eq!(state.open_handles(), 0);
    }

    #[test]
    fn disposition_deletes_at_the_last_cleanup() {
        let mut state = DeleteState::new();
        state.open(1, false, &file(), false).unwrap();
        state.open(2, false, &file(), false).unwrap();
        state.set_disposition(1, true, &file(), false).unwrap();
        assert!(state.is_delete_pending());
        assert_eq!(
            state.pending(),
            Some(PendingDelete::Disposition { handle: 1 })
        );
        // The setter's own cleanup does not delete while another handle is open.
        assert_eq!(state.cleanup(1), CleanupOutcome::Keep);
        assert!(state.is_delete_pending());
        assert_eq!(state.cleanup(2), CleanupOutcome::Delete);
        assert!(!state.is_delete_pending());
        assert_eq!(state, DeleteState::new());
    }

    #[test]
    fn opening_a_delete_pending_file_fails() {
        let mut state = DeleteState::new();
        state.open(1, false, &file(), false).unwrap();
        state.set_disposition(1, true, &file(), false).unwrap();
        assert_eq!(state.open(2, false, &file(), false), Err(Errno::EIDRM));
        assert_eq!(errno_to_ntstatus(Errno::EIDRM), STATUS_DELETE_PENDING);
        assert_eq!(state.open_handles(), 1);
    }

    #[test]
    fn clearing_the_mark_cancels_deletion() {
        let mut state = DeleteState::new();
        state.open(1, false, &file(), false).unwrap();
        state.open(2, false, &file(), false).unwrap();
        state.set_disposition(1, true, &file(), false).unwrap();
        state.set_disposition(2, false, &file(), false).unwrap();
        assert!(!state.is_delete_pending());
        state.open(3, false, &file(), false).unwrap();
        assert_eq!(state.cleanup(1), CleanupOutcome::Keep);
        assert_eq!(state.cleanup(2), CleanupOutcome::Keep);
        assert_eq!(state.cleanup(3), CleanupOutcome::Keep);
    }

    #[test]
    fn refused_marks_change_nothing() {
        let mut state = DeleteState::new();
        state.open(1, false, &dir(), false).unwrap();
        assert_eq!(
            state.set_disposition(1, true, &dir(), false),
            Err(Errno::ENOTEMPTY)
        );
        assert!(!state.is_delete_pending());
        let mut state = DeleteState::new();
        state.open(1, false, &readonly_file(), false).unwrap();
        assert_eq!(
            state.set_disposition(1, true, &readonly_file(), false),
            Err(Errno::EACCES)
        );
        assert_eq!(state.cleanup(1), CleanupOutcome::Keep);
    }

    #[test]
    fn clearing_needs_no_permission() {
        let mut state = DeleteState::new();
        state.open(1, false, &file(), false).unwrap();
        state.set_disposition(1, true, &file(), false).unwrap();
        // The file became read-only after it was marked; unmarking is still allowed.
        assert_eq!(
            state.set_disposition(1, false, &readonly_file(), false),
            Ok(())
        );
        assert!(!state.is_delete_pending());
    }

    #[test]
    fn empty_directories_can_be_marked() {
        let mut state = DeleteState::new();
        state.open(7, false, &dir(), true).unwrap();
        state.set_disposition(7, true, &dir(), true).unwrap();
        assert_eq!(state.cleanup(7), CleanupOutcome::Delete);
    }

    #[test]
    fn delete_on_close_marks_at_cleanup() {
        let mut state = DeleteState::new();
        state.open(1, true, &file(), false).unwrap();
        state.open(2, false, &file(), false).unwrap();
        assert!(!state.is_delete_pending(), "not marked before cleanup");
        assert_eq!(state.cleanup(1), CleanupOutcome::Keep);
        assert_eq!(
            state.pending(),
            Some(PendingDelete::DeleteOnClose { handle: 1 })
        );
        assert_eq!(state.open(3, false, &file(), false), Err(Errno::EIDRM));
        assert_eq!(state.cleanup(2), CleanupOutcome::Delete);
    }

    #[test]
    fn delete_on_close_alone_deletes() {
        let mut state = DeleteState::new();
        state.open(1, true, &file(), false).unwrap();
        assert_eq!(state.cleanup(1), CleanupOutcome::Delete);
    }

    #[test]
    fn delete_on_close_marks_again_after_clearing() {
        let mut state = DeleteState::new();
        state.open(1, true, &file(), false).unwrap();
        state.open(2, false, &file(), false).unwrap();
        state.set_disposition(2, false, &file(), false).unwrap();
        assert_eq!(state.cleanup(2), CleanupOutcome::Keep);
        assert_eq!(state.cleanup(1), CleanupOutcome::Delete);
    }

    #[test]
    fn delete_on_close_is_checked_at_open() {
        let mut state = DeleteState::new();
        assert_eq!(
            state.open(1, true, &readonly_file(), false),
            Err(Errno::EACCES)
        );
        assert_eq!(state.open(1, true, &dir(), false), Err(Errno::ENOTEMPTY));
        assert_eq!(state.open(1, true, &dir(), true), Ok(()));
        assert_eq!(state.open_handles(), 1);
    }

    #[test]
    fn the_first_setter_is_kept() {
        let mut state = DeleteState::new();
        state.open(1, true, &file(), false).unwrap();
        state.open(2, false, &file(), false).unwrap();
        state.open(3, false, &file(), false).unwrap();
        state.set_disposition(2, true, &file(), false).unwrap();
        state.set_disposition(3, true, &file(), false).unwrap();
        assert_eq!(state.cleanup(1), CleanupOutcome::Keep);
        assert_eq!(
            state.pending(),
            Some(PendingDelete::Disposition { handle: 2 })
        );
    }

    #[test]
    fn unknown_and_duplicate_handles() {
        let mut state = DeleteState::new();
        state.open(1, false, &file(), false).unwrap();
        assert_eq!(state.open(1, false, &file(), false), Err(Errno::EINVAL));
        assert_eq!(
            state.set_disposition(9, true, &file(), false),
            Err(Errno::EBADF)
        );
        assert!(!state.is_delete_pending());
        assert_eq!(state.cleanup(9), CleanupOutcome::Keep);
        assert_eq!(state.open_handles(), 1);
        state.set_disposition(1, true, &file(), false).unwrap();
        assert_eq!(state.cleanup(1), CleanupOutcome::Delete);
        assert_eq!(state.cleanup(1), CleanupOutcome::Keep, "already cleaned up");
    }

    #[test]
    fn a_deleted_state_starts_over() {
        let mut state = DeleteState::new();
        state.open(1, true, &file(), false).unwrap();
        assert_eq!(state.cleanup(1), CleanupOutcome::Delete);
        // A new file created at the same path may reuse the state.
        state.open(2, false, &file(), false).unwrap();
        assert_eq!(state.cleanup(2), CleanupOutcome::Keep);
    }
}
