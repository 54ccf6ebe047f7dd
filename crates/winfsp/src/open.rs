//! Create, Open, Overwrite, Cleanup and Close: a handle's life.
//!
//! WinFsp decides between its Create and Open callbacks with a lookup of its own
//! (GetSecurityByName): Open for a name that exists, Create for one that does not. Both look
//! the name up once more (or reuse WinFsp's lookup of the same request) and let
//! [`resolve_create`] decide what the request means, so a name created or removed in between
//! still gets the answer NTFS would give. Truncation asked by `FILE_OVERWRITE`,
//! `FILE_OVERWRITE_IF` and `FILE_SUPERSEDE` of an existing file arrives separately, as
//! Overwrite.

use std::sync::Arc;

use log::warn;
use mountkit_core::windows::attributes::{overwritten_attributes, FILE_ATTRIBUTE_READONLY};
use mountkit_core::windows::create::{FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE};
use mountkit_core::windows::ntstatus::STATUS_OBJECT_NAME_INVALID;
use mountkit_core::windows::{
    attributes_at_creation, attributes_from_stat, resolve_create, validate_component,
    CleanupOutcome, CreateAction, CreateIntent,
};
use mountkit_core::{Errno, FileKind, FsResult, OpenFlags, Operation, RequestContext, Stat};

use crate::engine::{reply, windows_path, Admission, Engine, NtError, NtResult, OpenedFile};
use crate::fsctl::FileInfo;

/// `FspCleanupDelete`: the Cleanup flag that tells the file system to delete the file.
pub(crate) const CLEANUP_DELETE: u32 = 0x01;

/// The options part of a `CreateOptions` argument; the disposition is the high 8 bits.
const OPTIONS_MASK: u32 = 0x00FF_FFFF;

/// Permission bits of a new directory.
const DIRECTORY_MODE: u32 = 0o755;
/// Permission bits of a new file, and of a new file created read-only.
const FILE_MODE: (u32, u32) = (0o644, 0o444);

fn without_truncate(flags: OpenFlags) -> OpenFlags {
    OpenFlags(flags.0 & !OpenFlags::TRUNCATE)
}

impl Engine {
    /// WinFsp's Create: a name its lookup did not find. Creates a file (`create`, with
    /// `O_CREAT | O_EXCL`) or a directory (`mkdir`, then `opendir` if data access was asked);
    /// opens instead if the name appeared meanwhile and the disposition allows opening.
    ///
    /// - The new name must be one Windows programs can use ([`validate_component`]), else
    ///   `STATUS_OBJECT_NAME_INVALID`.
    /// - On a case-insensitive volume the name is looked up without regard to case
    ///   ([`Engine::find`]): a name that exists in another case is that file, and a new name
    ///   goes into its directory's stored spelling.
    /// - `FILE_CREATE` on a name that exists is `STATUS_OBJECT_NAME_COLLISION`; other
    ///   contradictions are refused as [`resolve_create`] documents. On a read-only volume,
    ///   every creation is `STATUS_MEDIA_WRITE_PROTECTED`
    ///   ([`CreateIntent::on_read_only_volume`]).
    /// - A new file is created with mode `0o644`, or `0o444` when `FILE_ATTRIBUTE_READONLY` is
    ///   asked; a directory with `0o755`. When any attribute flag is asked for, they are all
    ///   stored with `set_attributes` right after (see [`attributes_at_creation`]); a failure
    ///   there fails the create and releases the new file's handle.
    /// - `hint` is the request's identifier, used to reuse the lookup WinFsp just made.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create(
        self: &Arc<Self>,
        cx: RequestContext,
        name: &[u16],
        create_options: u32,
        granted_access: u32,
        file_attributes: u32,
        asked_security: Option<&str>,
        hint: Option<u64>,
    ) -> NtResult<OpenedFile> {
        let asked = windows_path(name)?;
        let leaf = asked.rsplit('/').next().unwrap_or_default();
        validate_component(leaf).map_err(|_| NtError(STATUS_OBJECT_NAME_INVALID))?;
        let found = self.find(cx, &asked, hint).map_err(NtError::from)?;
        let create_options = link_options(create_options, found.stat.as_ref());
        let intent = self.intent(create_options, granted_access, found.stat.as_ref())?;
        let path = found.path;
        let creates = !(intent.action == CreateAction::OpenExisting && found.stat.is_some());
        let (id, info) = match (intent.action, found.stat) {
            (CreateAction::OpenExisting, Some(stat)) => {
                let truncate = intent.truncate;
                self.open_existing(cx, path.clone(), stat, &intent, truncate)
            }
            (CreateAction::CreateDirectory, _) => {
                self.make_directory(cx, path.clone(), &intent, file_attributes)
            }
            _ => self.make_file(cx, path.clone(), &intent, file_attributes),
        }?;
        if creates {
            let directory = intent.action == CreateAction::CreateDirectory;
            self.store_new_security(cx, &path, directory, asked_security);
        }
        Ok(OpenedFile {
            id,
            info,
            normalized_name: self.normalized_name(name, &path),
        })
    }

    /// WinFsp's Open: a name its lookup found. Opens it with the handler (`opendir` for a
    /// directory, `open` otherwise) when the access asked includes data, or when a directory
    /// is opened delete-on-close (its emptiness must be checked); an open for attributes only
    /// asks no handler and gets no handle.
    ///
    /// The name is looked up as for [`Engine::create`]. The open flags come from
    /// [`resolve_create`], without `O_TRUNC`: WinFsp follows an overwriting open with
    /// Overwrite. Fails as `resolve_create` and the file's delete state decide
    /// (`FILE_NON_DIRECTORY_FILE` on a directory is `STATUS_FILE_IS_A_DIRECTORY`, a
    /// delete-pending file is `STATUS_DELETE_PENDING`, ...). On a read-only volume, an open
    /// that would change it is `STATUS_MEDIA_WRITE_PROTECTED`, and any other asks the handler
    /// for read access only ([`CreateIntent::on_read_only_volume`]).
    pub(crate) fn open(
        self: &Arc<Self>,
        cx: RequestContext,
        name: &[u16],
        create_options: u32,
        granted_access: u32,
        hint: Option<u64>,
    ) -> NtResult<OpenedFile> {
        let asked = windows_path(name)?;
        let found = self.find(cx, &asked, hint).map_err(NtError::from)?;
        let stat = found.stat.ok_or(NtError::from(Errno::ENOENT))?;
        let create_options = link_options(create_options, Some(&stat));
        let intent = self.intent(create_options, granted_access, Some(&stat))?;
        let (id, info) = self.open_existing(cx, found.path.clone(), stat, &intent, false)?;
        Ok(OpenedFile {
            id,
            info,
            normalized_name: self.normalized_name(name, &found.path),
        })
    }

    /// What a Create or Open with these arguments means for what its lookup found
    /// ([`resolve_create`]); on a read-only volume, as
    /// [`CreateIntent::on_read_only_volume`] rules: a request that would change it is
    /// `STATUS_MEDIA_WRITE_PROTECTED`, and any other opens the file for reading only.
    fn intent(
        &self,
        create_options: u32,
        granted_access: u32,
        existing: Option<&Stat>,
    ) -> NtResult<CreateIntent> {
        let intent = resolve_create(
            create_options >> 24,
            create_options & OPTIONS_MASK,
            granted_access,
            existing.map(|stat| stat.kind),
        )
        .map_err(NtError::from)?;
        if self.options.read_only {
            return intent.on_read_only_volume().map_err(NtError::from);
        }
        Ok(intent)
    }

    /// `result` of a step of an open that took a filesystem handle (`handle`, of a `kind`,
    /// opened with `flags`) before it: its value, or its error once the handle, which no
    /// context will ever hold, has been given back.
    fn or_release<T>(
        self: &Arc<Self>,
        result: FsResult<T>,
        cx: RequestContext,
        path: &str,
        handle: Option<u64>,
        kind: FileKind,
        flags: OpenFlags,
    ) -> NtResult<T> {
        result.map_err(|errno| {
            if let Some(handle) = handle {
                self.release_handle(cx, path.to_owned(), handle, kind, flags, false);
            }
            NtError::from(errno)
        })
    }

    fn open_existing(
        self: &Arc<Self>,
        cx: RequestContext,
        path: String,
        stat: Stat,
        intent: &CreateIntent,
        truncate: bool,
    ) -> NtResult<(u64, FileInfo)> {
        let directory = stat.kind == FileKind::Directory;
        let flags = without_truncate(intent.flags);
        let needs_handle = intent.data_access || truncate || (intent.delete_on_close && directory);
        let opened = if needs_handle {
            Some(
                self.open_handle(cx, &path, directory, flags)
                    .map_err(NtError::from)?,
            )
        } else {
            None
        };
        let handle = opened.as_ref().map(|opened| opened.handle);
        let kind = if directory {
            FileKind::Directory
        } else {
            FileKind::File
        };
        let prepared = self.prepare_open(cx, &path, stat, handle, truncate, intent.delete_on_close);
        let (stat, directory_is_empty) =
            self.or_release(prepared, cx, &path, handle, kind, flags)?;
        self.admit(
            cx,
            Admission {
                path,
                stat,
                opened,
                flags,
                delete_on_close: intent.delete_on_close,
                directory_is_empty,
            },
        )
    }

    /// What an open needs after the handler opened the file: the truncation a create request
    /// asked for (then the new metadata), and for a directory opened delete-on-close, whether
    /// it is empty.
    fn prepare_open(
        &self,
        cx: RequestContext,
        path: &str,
        stat: Stat,
        handle: Option<u64>,
        truncate: bool,
        delete_on_close: bool,
    ) -> FsResult<(Stat, bool)> {
        let directory = stat.kind == FileKind::Directory;
        let mut stat = stat;
        if truncate && !directory {
            self.run(
                cx,
                Operation::Truncate {
                    path: path.to_owned(),
                    size: 0,
                    handle,
                },
            )?;
            stat = self.getattr(cx, path, handle)?;
        }
        let empty = delete_on_close && directory && self.directory_is_empty(cx, path, handle)?;
        Ok((stat, empty))
    }

    fn make_file(
        self: &Arc<Self>,
        cx: RequestContext,
        path: String,
        intent: &CreateIntent,
        file_attributes: u32,
    ) -> NtResult<(u64, FileInfo)> {
        let mode = if file_attributes & FILE_ATTRIBUTE_READONLY != 0 {
            FILE_MODE.1
        } else {
            FILE_MODE.0
        };
        let operation = Operation::Create {
            path: path.clone(),
            mode,
            flags: intent.flags,
        };
        let opened = reply!(self.call(cx, operation), Opened).map_err(NtError::from)?;
        let handle = Some(opened.handle);
        let stored = self.store_creation_attributes(cx, &path, file_attributes);
        let stored = self.or_release(stored, cx, &path, handle, FileKind::File, intent.flags)?;
        // A create that answered with the new file's stat spares a getattr, unless attributes
        // were stored since.
        let stat = match opened.stat.clone().filter(|_| !stored) {
            Some(stat) => stat,
            None => {
                let stat = self.getattr(cx, &path, handle);
                self.or_release(stat, cx, &path, handle, FileKind::File, intent.flags)?
            }
        };
        self.admit(
            cx,
            Admission {
                path,
                stat,
                opened: Some(opened),
                flags: intent.flags,
                delete_on_close: intent.delete_on_close,
                directory_is_empty: false,
            },
        )
    }

    fn make_directory(
        self: &Arc<Self>,
        cx: RequestContext,
        path: String,
        intent: &CreateIntent,
        file_attributes: u32,
    ) -> NtResult<(u64, FileInfo)> {
        let mkdir = Operation::Mkdir {
            path: path.clone(),
            mode: DIRECTORY_MODE,
        };
        self.run(cx, mkdir).map_err(NtError::from)?;
        self.store_creation_attributes(cx, &path, file_attributes)
            .map_err(NtError::from)?;
        let opened = if intent.data_access {
            Some(
                self.open_handle(cx, &path, true, intent.flags)
                    .map_err(NtError::from)?,
            )
        } else {
            None
        };
        let handle = opened.as_ref().map(|opened| opened.handle);
        let stat = self.getattr(cx, &path, None);
        let stat = self.or_release(stat, cx, &path, handle, FileKind::Directory, intent.flags)?;
        self.admit(
            cx,
            Admission {
                path,
                stat,
                opened,
                flags: intent.flags,
                delete_on_close: intent.delete_on_close,
                directory_is_empty: true,
            },
        )
    }

    /// Stores the attribute flags a Create asked for on the file it just made, when it asked
    /// for any ([`attributes_at_creation`]): whether the filesystem stored them.
    fn store_creation_attributes(
        &self,
        cx: RequestContext,
        path: &str,
        file_attributes: u32,
    ) -> FsResult<bool> {
        match attributes_at_creation(file_attributes) {
            Some(flags) => self.set_attributes(cx, path, Some(flags), None),
            None => Ok(false),
        }
    }

    /// WinFsp's Overwrite (`FILE_OVERWRITE`, `FILE_OVERWRITE_IF` or `FILE_SUPERSEDE` of an
    /// existing file): truncates it to zero through its handle, then applies the attributes —
    /// replacing the current ones when `replace` is set (a supersede), adding to them otherwise
    /// ([`overwritten_attributes`], which Dokan's backend shares), as
    /// [`Engine::store_attributes`] stores them.
    pub(crate) fn overwrite(
        &self,
        cx: RequestContext,
        id: u64,
        file_attributes: u32,
        replace: bool,
    ) -> NtResult<FileInfo> {
        self.writable()?;
        let ctx = self.context(id)?;
        let path = ctx.path();
        let truncate = Operation::Truncate {
            path: path.clone(),
            size: 0,
            handle: ctx.handle,
        };
        self.run(cx, truncate).map_err(NtError::from)?;
        let stat = self.getattr(cx, &path, ctx.handle).map_err(NtError::from)?;
        let wanted = overwritten_attributes(attributes_from_stat(&stat), file_attributes, replace);
        let stat = if self.store_attributes(cx, &path, &stat, Some(wanted), None)? {
            self.getattr(cx, &path, ctx.handle).map_err(NtError::from)?
        } else {
            stat
        };
        Ok(self.info(&stat))
    }

    /// WinFsp's Cleanup: the last user handle of this open was closed.
    ///
    /// The file's delete state forgets the handle (a delete-on-close handle marks the file
    /// delete pending now). WinFsp keeps its own delete-pending mark and decides: when it sets
    /// [`CLEANUP_DELETE`] — only at the last cleanup of a delete-pending file — the file is
    /// removed (`unlink`, or `rmdir` for a directory) and, once it is gone, this handle is
    /// released at once rather than at Close, so the filesystem can free the file. Cleanup
    /// cannot fail: a removal the handler refuses is logged and the file stays. Cleanup's
    /// other flags (archive bit, allocation size, times to update) are not acted on: handlers
    /// keep their own times.
    pub(crate) fn cleanup(self: &Arc<Self>, cx: RequestContext, id: u64, flags: u32) {
        let Some(ctx) = self.contexts.get(id) else {
            return;
        };
        let (outcome, path) = {
            let mut node = ctx.node.lock();
            (node.delete.cleanup(id), node.path.clone())
        };
        let delete = flags & CLEANUP_DELETE != 0;
        if !delete && outcome == CleanupOutcome::Delete {
            warn!("{path} was marked for deletion, but WinFsp does not delete it at cleanup");
        }
        if !delete {
            return;
        }
        let removal = if ctx.is_directory() {
            Operation::Rmdir { path: path.clone() }
        } else {
            Operation::Unlink { path: path.clone() }
        };
        if let Err(errno) = self.run(cx, removal) {
            warn!("{path} could not be deleted at cleanup: {errno}");
            return;
        }
        if let Some(handle) = ctx.handle {
            self.contexts.update(id, |ctx| ctx.handle = None);
            self.release_handle(cx, path, handle, ctx.kind, ctx.flags, false);
        }
    }

    /// WinFsp's Close: the open is over. Its context is forgotten and its handle given back
    /// without waiting: `flush` then `release` for a file (`release` alone when a backing file
    /// holds its bytes), `releasedir` for a directory.
    pub(crate) fn close(self: &Arc<Self>, cx: RequestContext, id: u64) {
        let Some(ctx) = self.contexts.remove(id) else {
            return;
        };
        // WinFsp cleans every handle up before closing it; should one arrive uncleaned, it
        // must not stay counted as open in the file's delete state.
        ctx.node.lock().delete.cleanup(id);
        self.nodes.detach(&ctx.node, id);
        if let Some(handle) = ctx.handle {
            let flush = ctx.backing.is_none();
            self.release_handle(cx, ctx.path(), handle, ctx.kind, ctx.flags, flush);
        }
    }

    /// Whether directory `path` has entries besides `.` and `..`, read through `handle` or,
    /// without one, through a handle opened and released for the purpose.
    pub(crate) fn directory_is_empty(
        &self,
        cx: RequestContext,
        path: &str,
        handle: Option<u64>,
    ) -> FsResult<bool> {
        // A listing never holds `.` or `..` (see `Listing`).
        Ok(self.list_directory(cx, path, handle)?.is_empty())
    }
}
/// The create options that apply to what a lookup found: for a symbolic link opened itself
/// (`FILE_OPEN_REPARSE_POINT`; WinFsp resolves every other open of a link), without
/// `FILE_DIRECTORY_FILE` and `FILE_NON_DIRECTORY_FILE`, which WinFsp has already checked
/// against the link's attributes: `RemoveDirectoryW` opens a directory link as a directory.
fn link_options(create_options: u32, existing: Option<&Stat>) -> u32 {
    match existing {
        Some(stat) if stat.kind == FileKind::Symlink => {
            create_options & !(FILE_DIRECTORY_FILE | FILE_NON_DIRECTORY_FILE)
        }
        _ => create_options,
    }
}
