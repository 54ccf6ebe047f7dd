//! Symbolic links as reparse points: GetReparsePoint, SetReparsePoint, DeleteReparsePoint,
//! the lookups ResolveReparsePoints makes, and what GetSecurityByName answers for a name
//! that runs through a link.
//!
//! A link is what a handler's `getattr` reports as [`FileKind::Symlink`]; its data is built
//! from `readlink`, and a link Windows makes becomes `symlink`. Targets translate as
//! [`mountkit_core::windows::symlink`] describes, against the mount point the volume was
//! mounted at.

use std::sync::Arc;

use log::warn;
use mountkit_core::windows::attributes::FILE_ATTRIBUTE_DIRECTORY;
use mountkit_core::windows::ntstatus::{STATUS_ACCESS_DENIED, STATUS_NOT_A_REPARSE_POINT};
use mountkit_core::windows::{posix_target, resolve_target, windows_target, SymlinkData};
use mountkit_core::{FileKind, FsResult, Operation, RequestContext, Stat};

use crate::engine::{child_path, reply, windows_path, Engine, NtError, NtResult};
use crate::fsctl::FileInfo;

/// How many links one resolution follows before the target counts as missing, as Windows
/// gives up on a chain of links.
const MAX_LINK_HOPS: usize = 32;

impl Engine {
    /// What a link at `path` points to: the handler's `readlink`.
    fn read_link(&self, cx: RequestContext, path: &str) -> FsResult<String> {
        let operation = Operation::Readlink {
            path: path.to_owned(),
        };
        reply!(self.call(cx, operation), Target)
    }

    /// The reparse data of the link at `path`, found as WinFsp names it (without regard to
    /// case on a case-insensitive volume): `STATUS_NOT_A_REPARSE_POINT` for anything but a
    /// link, and the lookup's status for a name that does not exist.
    pub(crate) fn reparse_point_by_name(
        &self,
        cx: RequestContext,
        name: &[u16],
    ) -> NtResult<Vec<u8>> {
        let asked = windows_path(name)?;
        let found = self.find(cx, &asked, None).map_err(NtError::from)?;
        match &found.stat {
            Some(stat) if stat.kind == FileKind::Symlink => self.link_data(cx, &found.path),
            Some(_) => Err(NtError(STATUS_NOT_A_REPARSE_POINT)),
            None => Err(self.missing_status(cx, &found)),
        }
    }

    /// The `REPARSE_DATA_BUFFER` of the link at `path`.
    fn link_data(&self, cx: RequestContext, path: &str) -> NtResult<Vec<u8>> {
        let target = self.read_link(cx, path).map_err(NtError::from)?;
        Ok(windows_target(&target, self.mount_point()).to_reparse_buffer())
    }

    /// WinFsp's GetReparsePoint (`FSCTL_GET_REPARSE_POINT`) on the handle `id`: the link's
    /// data, or `STATUS_NOT_A_REPARSE_POINT` when the file is not a link.
    pub(crate) fn get_reparse_point(&self, cx: RequestContext, id: u64) -> NtResult<Vec<u8>> {
        let path = self.context(id)?.path();
        let stat = self.getattr(cx, &path, None).map_err(NtError::from)?;
        if stat.kind != FileKind::Symlink {
            return Err(NtError(STATUS_NOT_A_REPARSE_POINT));
        }
        self.link_data(cx, &path)
    }

    /// WinFsp's SetReparsePoint (`FSCTL_SET_REPARSE_POINT`) on the handle `id`: what
    /// `CreateSymbolicLinkW` sends after creating the link's file or directory. A POSIX
    /// filesystem cannot turn a file into a link, so the placeholder goes first (`unlink`, or
    /// `rmdir` for a directory; it must be empty) and `symlink` makes the link at its path;
    /// the handle then stands for the link. An absolute target lies on the volume when it
    /// starts with the mount point, or, for a share also mounted on a drive letter, with the
    /// share's UNC path (`EngineOptions::share_root`). A descriptor the filesystem stored for the
    /// placeholder (`persistent_acls`: the one it got at its create) is given to the link.
    /// Data of another tag is `STATUS_IO_REPARSE_TAG_MISMATCH`, malformed data
    /// `STATUS_IO_REPARSE_DATA_INVALID`, a target off the volume `STATUS_ACCESS_DENIED` (logged
    /// with the reason), and so is a file that holds data, which replacing would lose; on a
    /// read-only volume `STATUS_MEDIA_WRITE_PROTECTED`.
    pub(crate) fn set_reparse_point(
        &self,
        cx: RequestContext,
        id: u64,
        data: &[u8],
    ) -> NtResult<()> {
        self.writable()?;
        let ctx = self.context(id)?;
        let link = SymlinkData::from_reparse_buffer(data)?;
        let target = posix_target(&link, self.mount_point())
            .or_else(|refused| match &self.options.share_root {
                Some(share) => posix_target(&link, share).map_err(|_| refused),
                None => Err(refused),
            })
            .map_err(|refused| {
                warn!("{refused}");
                NtError(STATUS_ACCESS_DENIED)
            })?;
        let path = ctx.path();
        let placeholder = self.getattr(cx, &path, None).map_err(NtError::from)?;
        if placeholder.kind == FileKind::File && placeholder.size > 0 {
            warn!(
                "a symbolic link was to replace {path}, which holds {} bytes that replacing \
                 would lose; make links under new names (CreateSymbolicLinkW, mklink)",
                placeholder.size
            );
            return Err(NtError(STATUS_ACCESS_DENIED));
        }
        let kept_security = self.stored_security(cx, &path);
        let removal = match placeholder.kind {
            FileKind::Directory => Operation::Rmdir { path: path.clone() },
            _ => Operation::Unlink { path: path.clone() },
        };
        self.run(cx, removal).map_err(NtError::from)?;
        let symlink = Operation::Symlink {
            target,
            path: path.clone(),
        };
        self.run(cx, symlink).map_err(NtError::from)?;
        if let Some(sddl) = kept_security {
            let operation = Operation::SetSecurity {
                path: path.clone(),
                sddl,
            };
            if let Err(errno) = self.run(cx, operation) {
                warn!(
                    "setSecurity refused the descriptor of the new link {path} ({errno:?}); it \
                     keeps the one the filesystem gives it"
                );
            }
        }
        let stat = self.getattr(cx, &path, None).map_err(NtError::from)?;
        self.contexts.update(id, |ctx| ctx.stat = stat);
        Ok(())
    }

    /// The descriptor the filesystem stores for `path` (`get_security`), when it stores
    /// descriptors; `None` otherwise, and when it has none to give.
    fn stored_security(&self, cx: RequestContext, path: &str) -> Option<String> {
        if !self.options.persistent_acls {
            return None;
        }
        let operation = Operation::GetSecurity {
            path: path.to_owned(),
        };
        reply!(self.call(cx, operation), Target).ok()
    }

    /// WinFsp's DeleteReparsePoint (`FSCTL_DELETE_REPARSE_POINT`): refused with
    /// `STATUS_ACCESS_DENIED`. NTFS would leave an empty file in the link's place; a POSIX
    /// filesystem can do that only by removing the link and creating a file under open
    /// handles. Deleting the link itself (`DeleteFileW`, `RemoveDirectoryW`) works.
    pub(crate) fn delete_reparse_point(&self, _cx: RequestContext, id: u64) -> NtResult<()> {
        self.writable()?;
        self.context(id)?;
        Err(NtError(STATUS_ACCESS_DENIED))
    }

    /// For a name GetSecurityByName found no directory for (`STATUS_OBJECT_PATH_NOT_FOUND`):
    /// whether a component on its way is a link, and then the index (in UTF-16 units of
    /// `name`) of the first such component, which GetSecurityByName answers with
    /// `STATUS_REPARSE` so that WinFsp resolves the links (ResolveReparsePoints) instead of
    /// answering that the path does not exist. One lookup per directory, from the root.
    pub(crate) fn reparse_on_the_way(&self, cx: RequestContext, name: &[u16]) -> Option<u32> {
        let mut start = 0;
        while let Some(length) = name[start..]
            .iter()
            .skip(1)
            .position(|&u| u == b'\\' as u16)
        {
            let end = start + 1 + length;
            let path = windows_path(&name[..end]).ok()?;
            let found = self.find(cx, &path, None).ok()?;
            match found.stat?.kind {
                FileKind::Symlink => return u32::try_from(start + 1).ok(),
                FileKind::Directory => start = end,
                _ => return None,
            }
        }
        None
    }

    /// The file information of `stat`, found at `path`: for a link, with
    /// `FILE_ATTRIBUTE_DIRECTORY` added when its target is a directory
    /// ([`Engine::link_is_directory`]).
    pub(crate) fn info_at(&self, cx: RequestContext, path: &str, stat: &Stat) -> FileInfo {
        let mut info = self.info(stat);
        if stat.kind == FileKind::Symlink && self.link_is_directory(cx, path) {
            info.file_attributes |= FILE_ATTRIBUTE_DIRECTORY;
        }
        info
    }

    /// Whether the link at `path` leads to a directory: its target is resolved inside the
    /// mount ([`resolve_target`]; absolute targets name the mount's root) and looked up,
    /// following links up to [`MAX_LINK_HOPS`]. A target that is missing, unreadable or
    /// looping makes a file link, as Windows shows a dangling link.
    pub(crate) fn link_is_directory(&self, cx: RequestContext, path: &str) -> bool {
        let mut link = path.to_owned();
        for _ in 0..MAX_LINK_HOPS {
            let Ok(target) = self.read_link(cx, &link) else {
                return false;
            };
            let Ok(resolved) = resolve_target(&link, &target) else {
                return false;
            };
            let Ok(found) = self.find(cx, &resolved, None) else {
                return false;
            };
            match found.stat.map(|stat| stat.kind) {
                Some(FileKind::Directory) => return true,
                Some(FileKind::Symlink) => link = found.path,
                _ => return false,
            }
        }
        false
    }

    /// [`Engine::info_at`] for the entries of a directory listing, on a thread of its own
    /// when some are links: a listing's page may be completed on the handler's own thread,
    /// where waiting for more answers from the handler would never end.
    pub(crate) fn describe_entries(
        self: &Arc<Self>,
        cx: RequestContext,
        dir: &str,
        entries: Vec<(String, Stat)>,
        done: impl FnOnce(Vec<(String, FileInfo)>) + Send + 'static,
    ) {
        if entries
            .iter()
            .all(|(_, stat)| stat.kind != FileKind::Symlink)
        {
            let described = entries
                .into_iter()
                .map(|(name, stat)| (name, self.info(&stat)))
                .collect();
            return done(described);
        }
        let this = self.clone();
        let dir = dir.to_owned();
        std::thread::spawn(move || {
            let described = entries
                .into_iter()
                .map(|(name, stat)| {
                    let info = this.info_at(cx, &child_path(&dir, &name), &stat);
                    (name, info)
                })
                .collect();
            done(described);
        });
    }
}
