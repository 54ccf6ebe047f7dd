//! Names, deleting and renaming: lookups, DeleteFile, DeleteDirectory and MoveFile.

use mountkit_core::windows::lookup::{look_up, Found, Namespace};
use mountkit_core::windows::ntstatus::{STATUS_ACCESS_DENIED, STATUS_CANNOT_DELETE};
use mountkit_core::windows::rename::{check_rename, rename_falling_back};
use mountkit_core::{DirEntry, Errno, FileKind, FsResult, Operation, Stat};

use crate::paths;

use super::{deletion, Call, DokanFs, NtError, NtResult};

/// The filesystem as the core's lookup ([`look_up`]) sees it, asked on behalf of one
/// callback.
pub(super) struct Names<'a> {
    fs: &'a DokanFs,
    call: &'a Call<'a>,
}

impl Namespace for Names<'_> {
    fn getattr(&mut self, path: &str) -> FsResult<Stat> {
        self.fs.getattr(self.call, path, None)
    }

    fn list(&mut self, dir: &str) -> FsResult<Vec<DirEntry>> {
        self.fs.list_dir(self.call, dir, None)
    }
}

impl DokanFs {
    /// What `path` names: the core's [`look_up`], without regard to case on a
    /// case-insensitive volume, so a handler always sees the stored spelling of names that
    /// exist (as far as their directories can be listed).
    pub(super) fn lookup(&self, call: &Call, path: &str) -> NtResult<Found> {
        Ok(look_up(
            &mut Names { fs: self, call },
            path,
            self.ignore_case,
        )?)
    }

    /// The status for what `found` names not being there: `STATUS_OBJECT_PATH_NOT_FOUND`
    /// when its directory is missing too, as NTFS answers ([`Found::missing_status`]).
    pub(super) fn missing_status(&self, call: &Call, found: &Found) -> NtError {
        NtError(found.missing_status(&mut Names { fs: self, call }))
    }

    /// `DeleteFile` and `DeleteDirectory`: with `delete`
    /// (`DOKAN_FILE_INFO.DeleteOnClose`), checks that the file may be deleted and marks it
    /// delete pending; without, cancels a pending deletion. Nothing is removed here: the file
    /// goes at the cleanup of its last open. A read-only file fails with
    /// `STATUS_CANNOT_DELETE`, a non-empty directory with `STATUS_DIRECTORY_NOT_EMPTY`, the
    /// root with `STATUS_CANNOT_DELETE`.
    pub fn set_delete(&self, call: &Call, context: u64, delete: bool) -> NtResult<()> {
        let open = self.entry(context)?;
        let path = open.path();
        if delete {
            self.writable()?;
            if path == "/" {
                return Err(NtError(STATUS_CANNOT_DELETE));
            }
        }
        let handle = open.user().map(|user| user.handle);
        let stat = self.getattr(call, &path, handle)?;
        let directory_is_empty = if delete && stat.kind == FileKind::Directory {
            self.dir_is_empty(call, &path, handle.filter(|_| open.is_directory()))?
        } else {
            false
        };
        open.node
            .set_disposition(context, delete, &stat, directory_is_empty)
            .map_err(deletion)
    }

    /// `MoveFile`: renames the open's file to `new_name`, replacing an existing file only
    /// with `replace_if_existing`, as [`check_rename`] decides (never a directory, never an
    /// open file). On a case-insensitive volume, a name that differs only in case renames the
    /// file to the new spelling. A filesystem that cannot refuse to replace (it answers a
    /// no-replace rename with `EINVAL`) gets a plain rename once the target is checked to be
    /// free ([`rename_falling_back`]). After the filesystem's `rename` succeeds, every open
    /// below the old path follows to the new one.
    pub fn move_file(
        &self,
        call: &Call,
        context: u64,
        new_name: &[u16],
        replace_if_existing: bool,
    ) -> NtResult<()> {
        self.writable()?;
        let open = self.entry(context)?;
        let from = open.path();
        if from == "/" {
            return Err(NtError(STATUS_ACCESS_DENIED));
        }
        let to = paths::parse(new_name).map_err(NtError)?;
        paths::check_new_name(&to).map_err(NtError)?;
        let found = self.lookup(call, &to)?;
        let case_only =
            self.ignore_case && found.stat.is_some() && paths::same_name(&found.path, &from, true);
        let target = match (case_only, paths::split(&found.path), paths::split(&to)) {
            (true, Some((parent, _)), Some((_, name))) => paths::join(parent, name),
            _ => found.path.clone(),
        };
        if target == from {
            return Ok(());
        }
        let to_is_open = !case_only
            && self
                .registry
                .find(&found.path)
                .is_some_and(|node| node.open_handles() > 0);
        let mode = check_rename(
            open.kind,
            found.stat.as_ref().map(|stat| stat.kind),
            replace_if_existing,
            to_is_open,
            case_only,
        )?;
        let rename = |mode| {
            let operation = Operation::Rename {
                from: from.clone(),
                to: target.clone(),
                mode,
            };
            self.run(call, operation)
        };
        let target_exists = || match self.getattr(call, &target, None) {
            Ok(_) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(e),
        };
        match rename_falling_back(mode, rename, target_exists) {
            Ok(()) => {
                self.registry.rename(&from, &target);
                Ok(())
            }
            Err(Errno::ENOENT) => Err(self.missing_status(call, &found)),
            Err(e) => Err(e.into()),
        }
    }
}
