//! Deleting and renaming: CanDelete, SetDelete and Rename.
//!
//! Windows deletes in two steps: a handle marks the file delete pending (SetDelete, what
//! `DeleteFile` and `RemoveDirectory` send, or an open with `FILE_DELETE_ON_CLOSE`), and the
//! file goes at the last cleanup (see [`Engine::cleanup`]). WinFsp prefers SetDelete, which
//! records the mark in the file's delete state; CanDelete, which older WinFsp releases call
//! instead, makes the same checks without recording anything. Either way WinFsp keeps its own
//! mark and tells Cleanup when to delete.

use mountkit_core::windows::ntstatus::STATUS_OBJECT_NAME_INVALID;
use mountkit_core::windows::{
    can_delete, check_rename, deletion_status, rename_falling_back, validate_component,
};
use mountkit_core::{Errno, FileKind, FsResult, Operation, RequestContext, Stat};

use crate::context::FileContext;
use crate::engine::{windows_path, Engine, NtError, NtResult};

impl Engine {
    /// The metadata and, for a directory, the emptiness that deletion checks need.
    fn deletion_facts(&self, cx: RequestContext, ctx: &FileContext) -> FsResult<(Stat, bool)> {
        let path = ctx.path();
        let handle = ctx.handle.filter(|_| !ctx.is_directory());
        let stat = self.getattr(cx, &path, handle)?;
        let empty =
            stat.kind == FileKind::Directory && self.directory_is_empty(cx, &path, ctx.handle)?;
        Ok((stat, empty))
    }

    /// WinFsp's CanDelete: whether the file may be marked for deletion, as [`can_delete`]
    /// decides. A read-only file is `STATUS_CANNOT_DELETE` and a non-empty directory
    /// `STATUS_DIRECTORY_NOT_EMPTY`; nothing may be deleted on a read-only volume
    /// ([`Engine::writable`]). Nothing is recorded.
    pub(crate) fn can_delete(&self, cx: RequestContext, id: u64) -> NtResult<()> {
        self.writable()?;
        let ctx = self.context(id)?;
        let (stat, empty) = self.deletion_facts(cx, &ctx).map_err(NtError::from)?;
        can_delete(&stat, empty).map_err(|errno| NtError(deletion_status(errno)))
    }

    /// WinFsp's SetDelete: marks the file delete pending through this handle (`delete` true),
    /// after the checks of [`Engine::can_delete`], or cancels a pending deletion (`delete`
    /// false, which needs no check). Later opens of a delete-pending file fail with
    /// `STATUS_DELETE_PENDING`. A read-only volume refuses both, as it refuses every change of
    /// file information.
    pub(crate) fn set_delete(&self, cx: RequestContext, id: u64, delete: bool) -> NtResult<()> {
        self.writable()?;
        let ctx = self.context(id)?;
        let (stat, empty) = if delete {
            self.deletion_facts(cx, &ctx).map_err(NtError::from)?
        } else {
            (ctx.stat.clone(), false)
        };
        let mut node = ctx.node.lock();
        node.delete
            .set_disposition(id, delete, &stat, empty)
            .map_err(|errno| NtError(deletion_status(errno)))
    }

    /// WinFsp's Rename of the handle's file from `from` to `to`, as [`check_rename`] allows:
    ///
    /// - `to` must be a name Windows programs can use, else `STATUS_OBJECT_NAME_INVALID`.
    /// - Renaming a name to itself succeeds without asking the handler.
    /// - An existing destination needs `replace_if_exists`, else
    ///   `STATUS_OBJECT_NAME_COLLISION`; it may not be a directory, the source may not be a
    ///   directory, and it may not be open (`STATUS_ACCESS_DENIED` each).
    /// - On a case-insensitive volume the destination is looked up without regard to case
    ///   ([`Engine::find`]): an existing file in another case is the destination, and is
    ///   replaced under its stored name, so it cannot stay beside its replacement. A change of
    ///   case only (`readme` to `README`) is always allowed, and reaches the handler as a
    ///   rename that replaces.
    /// - The handler's `rename` gets [`RenameMode::Replace`](mountkit_core::RenameMode) when
    ///   replacing is allowed and `NoReplace` otherwise, so a destination created meanwhile is
    ///   not overwritten. A handler that cannot refuse to replace (it answers `NoReplace` with
    ///   `EINVAL`) gets a plain rename once the destination is checked to be free
    ///   ([`rename_falling_back`]).
    /// - A read-only volume refuses every rename ([`Engine::writable`]).
    ///
    /// The handler's `from` is the path the open file is known by in its context: the path
    /// the handler was given when it was opened, or renamed to since. WinFsp's own name for
    /// the file is not used: on a case-insensitive volume it is upper-cased whenever the open
    /// could not report the handler's spelling as its normalized name
    /// ([`Engine::normalized_name`]: `file::$DATA`, for one, differs in length), and a handler
    /// that compares names exactly would not find it. Open handles of the file, and of
    /// anything below a renamed directory, follow it.
    pub(crate) fn rename(
        &self,
        cx: RequestContext,
        id: u64,
        to: &[u16],
        replace_if_exists: bool,
    ) -> NtResult<()> {
        self.writable()?;
        let ctx = self.context(id)?;
        let from = ctx.path();
        let to = windows_path(to)?;
        let leaf = to.rsplit('/').next().unwrap_or_default();
        validate_component(leaf).map_err(|_| NtError(STATUS_OBJECT_NAME_INVALID))?;
        if from == to {
            return Ok(());
        }
        let found = self.find(cx, &to, None).map_err(NtError::from)?;
        let to_existing = found.stat.map(|stat| stat.kind);
        let same_name =
            self.options.case_insensitive && self.nodes.key(&from) == self.nodes.key(&to);
        let to = if same_name { to } else { found.path };
        let to_is_open = !same_name
            && self
                .nodes
                .find(&to)
                .is_some_and(|node| node.lock().delete.open_handles() > 0);
        let mode = check_rename(
            ctx.kind,
            to_existing,
            replace_if_exists,
            to_is_open,
            same_name,
        )
        .map_err(NtError::from)?;
        let rename = |mode| {
            let operation = Operation::Rename {
                from: from.clone(),
                to: to.clone(),
                mode,
            };
            self.run(cx, operation)
        };
        let destination_exists = || match self.getattr(cx, &to, None) {
            Ok(_) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(errno) => Err(errno),
        };
        rename_falling_back(mode, rename, destination_exists).map_err(NtError::from)?;
        self.nodes.rename(&from, &to);
        Ok(())
    }
}
