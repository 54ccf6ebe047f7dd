//! ZwCreateFile, Cleanup and CloseFile: an open's life, and the filesystem handle behind it.

use std::sync::Arc;

use log::warn;
use mountkit_core::windows::attributes::{
    attributes_at_creation, attributes_from_stat, check_overwrite, overwritten_attributes,
    FILE_ATTRIBUTE_READONLY,
};
use mountkit_core::windows::create::{
    resolve_create, CreateAction, CreateIntent, DELETE, FILE_CREATED, FILE_OPEN_IF,
    FILE_OVERWRITE_IF, FILE_SUPERSEDE,
};
use mountkit_core::windows::delete::{can_delete, CleanupOutcome};
use mountkit_core::windows::lookup::Found;
use mountkit_core::windows::ntstatus::{
    STATUS_ACCESS_DENIED, STATUS_CANNOT_DELETE, STATUS_DELETE_PENDING,
    STATUS_OBJECT_NAME_COLLISION, STATUS_SUCCESS,
};
use mountkit_core::{expect_reply, Errno, FileKind, OpenFlags, Operation, Stat};

use crate::context::{Node, OpenFile, UserHandle};
use crate::paths;

use super::{deletion, Call, DokanFs, NtError, NtResult};

/// The `DOKAN_FILE_INFO.Context` left behind by a `ZwCreateFile` that refused an open asking
/// for `DELETE` with `STATUS_ACCESS_DENIED`.
///
/// Dokan answers such a refusal by retrying `ZwCreateFile` on the parent directory with the
/// same `DOKAN_FILE_INFO`, and if that succeeds, gives the caller the parent's open as if it
/// were the file's, so a refused delete would go ahead on the parent's say. The marker makes
/// that retry fail with `STATUS_ACCESS_DENIED` too. Handle keys count up from 1 and never
/// reach this value.
pub const REFUSED_DELETE_OPEN: u64 = u64::MAX;

/// The arguments of `ZwCreateFile` that decide what it does.
#[derive(Clone, Copy, Debug)]
pub struct CreateRequest<'a> {
    /// The file name, with or without a terminating NUL.
    pub file_name: &'a [u16],
    /// `DesiredAccess`, as the driver forwards it.
    pub desired_access: u32,
    /// `FileAttributes` for a file being created: only `FILE_ATTRIBUTE_READONLY` is honoured,
    /// as mode `0o444`.
    pub file_attributes: u32,
    /// `CreateDisposition`, with kernel numbering (`FILE_SUPERSEDE` to `FILE_OVERWRITE_IF`).
    pub create_disposition: u32,
    /// `CreateOptions`, with kernel numbering.
    pub create_options: u32,
    /// `DOKAN_FILE_INFO.Context` on entry: 0, or [`REFUSED_DELETE_OPEN`].
    pub prior_context: u64,
    /// The security descriptor the caller asked for a new file (`SECURITY_ATTRIBUTES`), as
    /// SDDL; read only when the filesystem stores descriptors.
    pub asked_security: Option<&'a str>,
}

/// What `ZwCreateFile` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateOutcome {
    /// `STATUS_SUCCESS`; `STATUS_OBJECT_NAME_COLLISION` when `FILE_SUPERSEDE`,
    /// `FILE_OPEN_IF` or `FILE_OVERWRITE_IF` opened an existing file (Dokan turns that into
    /// success with the right `Information`); or the failure.
    pub status: i32,
    /// The new `DOKAN_FILE_INFO.Context`: the open's key on success, otherwise 0 or
    /// [`REFUSED_DELETE_OPEN`].
    pub context: u64,
    /// `DOKAN_FILE_INFO.IsDirectory` on success.
    pub is_directory: bool,
}

impl CreateOutcome {
    /// Whether the request opened something: `context` is the key of a new open.
    pub fn opened(&self) -> bool {
        self.context != 0 && self.context != REFUSED_DELETE_OPEN
    }
}

impl DokanFs {
    /// How many opens exist (created and not yet closed).
    pub fn open_count(&self) -> usize {
        self.handles.len()
    }

    pub(super) fn open_user(
        &self,
        call: &Call,
        path: &str,
        is_directory: bool,
        flags: OpenFlags,
    ) -> NtResult<UserHandle> {
        let operation = if is_directory {
            Operation::Opendir {
                path: path.to_owned(),
                flags,
            }
        } else {
            Operation::Open {
                path: path.to_owned(),
                flags,
            }
        };
        let opened = expect_reply!(self.call(call, operation), Opened)?;
        Ok(UserHandle {
            handle: opened.handle,
            flags,
            backing: opened
                .backing
                .filter(|_| !is_directory)
                .map(|backing| backing.0),
        })
    }

    pub(super) fn release_user(
        &self,
        call: &Call,
        path: &str,
        is_directory: bool,
        user: UserHandle,
    ) {
        let operation = if is_directory {
            Operation::Releasedir {
                path: path.to_owned(),
                handle: user.handle,
            }
        } else {
            Operation::Release {
                path: path.to_owned(),
                handle: user.handle,
                flags: user.flags,
            }
        };
        if let Err(e) = self.run(call, operation) {
            warn!("release of {path} failed: {e}");
        }
    }

    /// The filesystem's handle for `open`, opening the file now if the open did not need one
    /// when it was created (it asked for metadata access only, and a read, write or listing
    /// arrives anyway).
    pub(super) fn user_handle(
        &self,
        call: &Call,
        open: &OpenFile,
        write: bool,
    ) -> NtResult<UserHandle> {
        if let Some(user) = open.user() {
            return Ok(user);
        }
        let flags = OpenFlags(if write {
            OpenFlags::READ_WRITE
        } else {
            OpenFlags::READ_ONLY
        });
        let path = open.path();
        let user = self.open_user(call, &path, open.is_directory(), flags)?;
        match open.set_user(user) {
            Ok(user) => Ok(user),
            Err((kept, extra)) => {
                self.release_user(call, &path, open.is_directory(), extra);
                Ok(kept)
            }
        }
    }

    /// `ZwCreateFile`: opens or creates what the request names, decided by
    /// [`resolve_create`] from the disposition, options and access and what a lookup found.
    ///
    /// - Opening an existing object asks the filesystem for a handle (`open`/`opendir`) only
    ///   when the request needs data access (or lists a directory it will delete); others get
    ///   one later, if ever needed. Truncating dispositions then `truncate` to 0 through that
    ///   handle, as FUSE does for `O_TRUNC`, and store the attributes asked for as WinFsp's
    ///   Overwrite does ([`overwritten_attributes`]: a supersede replaces them, an overwrite
    ///   adds to them); a hidden or system file is overwritten only by a caller asking to keep
    ///   it so, as on NTFS ([`check_overwrite`], `STATUS_ACCESS_DENIED` otherwise).
    /// - A new file is `create`d (mode `0o644`, or `0o444` with `FILE_ATTRIBUTE_READONLY`); a
    ///   new directory is `mkdir`ed (`0o755`) and then `opendir`ed if listing access was asked.
    ///   New names Windows cannot use are refused first.
    /// - Opening a delete-pending file fails with `STATUS_DELETE_PENDING`; a
    ///   `FILE_DELETE_ON_CLOSE` open of a read-only file, a non-empty directory or the root
    ///   fails with `STATUS_CANNOT_DELETE` or `STATUS_DIRECTORY_NOT_EMPTY`.
    /// - On a read-only mount, an open that would change the volume fails with
    ///   `STATUS_MEDIA_WRITE_PROTECTED`, and any other asks the filesystem for read access
    ///   only ([`CreateIntent::on_read_only_volume`]); writes through it are refused when they
    ///   come.
    /// - A missing name is `STATUS_OBJECT_NAME_NOT_FOUND`, a missing parent
    ///   `STATUS_OBJECT_PATH_NOT_FOUND`.
    ///
    /// Whatever fails after the filesystem opened something releases it again.
    pub fn create(&self, call: &Call, request: &CreateRequest) -> CreateOutcome {
        if request.prior_context == REFUSED_DELETE_OPEN {
            return CreateOutcome {
                status: STATUS_ACCESS_DENIED,
                context: 0,
                is_directory: false,
            };
        }
        match self.try_create(call, request) {
            Ok((context, is_directory, information)) => {
                if information == FILE_CREATED {
                    self.store_new_security(call, context, is_directory, request.asked_security);
                }
                let reopened = information != FILE_CREATED
                    && matches!(
                        request.create_disposition,
                        FILE_SUPERSEDE | FILE_OPEN_IF | FILE_OVERWRITE_IF
                    );
                CreateOutcome {
                    status: if reopened {
                        STATUS_OBJECT_NAME_COLLISION
                    } else {
                        STATUS_SUCCESS
                    },
                    context,
                    is_directory,
                }
            }
            Err(NtError(status)) => CreateOutcome {
                status,
                context: if status == STATUS_ACCESS_DENIED && request.desired_access & DELETE != 0 {
                    REFUSED_DELETE_OPEN
                } else {
                    0
                },
                is_directory: false,
            },
        }
    }

    pub(super) fn try_create(
        &self,
        call: &Call,
        request: &CreateRequest,
    ) -> NtResult<(u64, bool, u32)> {
        let path = paths::parse(request.file_name).map_err(NtError)?;
        let found = self.lookup(call, &path)?;
        let existing = found.stat.as_ref().map(|stat| stat.kind);
        let intent = match resolve_create(
            request.create_disposition,
            request.create_options,
            request.desired_access,
            existing,
        ) {
            Ok(intent) => intent,
            Err(Errno::ENOENT) => return Err(self.missing_status(call, &found)),
            Err(e) => return Err(e.into()),
        };
        // Dokan's driver refuses most opens that would change a write-protected volume, but
        // not FILE_OPEN_IF of a new name, and passes write access on; the shared rule covers
        // both.
        let intent = if self.read_only {
            intent.on_read_only_volume()?
        } else {
            intent
        };
        let (context, kind) = match intent.action {
            CreateAction::OpenExisting => match &found.stat {
                Some(stat) => {
                    // Neither Dokan's driver nor its library refuses writing to a read-only
                    // file; WinFsp's DLL does, and NTFS does.
                    let current = attributes_from_stat(stat);
                    let intent = intent.for_read_only(current, request.desired_access)?;
                    // Dokan's driver passes an overwrite on without checking or applying the
                    // attributes asked for; WinFsp's driver and NTFS do both.
                    let overwritten = if intent.truncate {
                        check_overwrite(current, request.file_attributes)?;
                        Some(overwritten_attributes(
                            current,
                            request.file_attributes,
                            request.create_disposition == FILE_SUPERSEDE,
                        ))
                    } else {
                        None
                    };
                    (
                        self.open_existing(call, &found.path, stat, &intent, overwritten)?,
                        stat.kind,
                    )
                }
                None => return Err(self.missing_status(call, &found)),
            },
            CreateAction::CreateFile => (
                self.create_new(call, &found, &intent, request.file_attributes, false)?,
                FileKind::File,
            ),
            CreateAction::CreateDirectory => (
                self.create_new(call, &found, &intent, request.file_attributes, true)?,
                FileKind::Directory,
            ),
        };
        Ok((context, kind == FileKind::Directory, intent.information))
    }

    pub(super) fn open_existing(
        &self,
        call: &Call,
        path: &str,
        stat: &Stat,
        intent: &CreateIntent,
        overwritten: Option<u32>,
    ) -> NtResult<u64> {
        let node = self.registry.acquire(path);
        let opened = self.open_node(call, &node, path, stat, intent, overwritten);
        if opened.is_err() {
            self.registry.release(&node);
        }
        opened
    }

    pub(super) fn open_node(
        &self,
        call: &Call,
        node: &Arc<Node>,
        path: &str,
        stat: &Stat,
        intent: &CreateIntent,
        overwritten: Option<u32>,
    ) -> NtResult<u64> {
        if node.is_delete_pending() {
            return Err(NtError(STATUS_DELETE_PENDING));
        }
        let is_directory = stat.kind == FileKind::Directory;
        if intent.delete_on_close {
            if path == "/" {
                return Err(NtError(STATUS_CANNOT_DELETE));
            }
            can_delete(stat, true).map_err(deletion)?;
        }
        let user = if intent.data_access || (is_directory && intent.delete_on_close) {
            let flags = OpenFlags(intent.flags.0 & !OpenFlags::TRUNCATE);
            Some(self.open_user(call, path, is_directory, flags)?)
        } else {
            None
        };
        let handle = user.as_ref().map(|user| user.handle);
        let prepared = (|| -> NtResult<bool> {
            if intent.truncate {
                self.run(
                    call,
                    Operation::Truncate {
                        path: path.to_owned(),
                        size: 0,
                        handle,
                    },
                )?;
            }
            if let Some(attributes) = overwritten {
                self.store_attributes(call, path, stat, attributes)?;
            }
            if is_directory && intent.delete_on_close {
                Ok(self.dir_is_empty(call, path, handle)?)
            } else {
                Ok(false)
            }
        })();
        let registered = prepared.and_then(|directory_is_empty| {
            let open = Arc::new(OpenFile::new(stat.kind, node.clone(), user.clone()));
            let context = self.handles.insert(open);
            match node.open_handle(context, intent.delete_on_close, stat, directory_is_empty) {
                Ok(()) => Ok(context),
                Err(e) => {
                    self.handles.remove(context);
                    Err(deletion(e))
                }
            }
        });
        if registered.is_err() {
            if let Some(user) = user {
                self.release_user(call, path, is_directory, user);
            }
        }
        registered
    }

    pub(super) fn create_new(
        &self,
        call: &Call,
        found: &Found,
        intent: &CreateIntent,
        file_attributes: u32,
        directory: bool,
    ) -> NtResult<u64> {
        let path = found.path.as_str();
        paths::check_new_name(path).map_err(NtError)?;
        let stat = if directory {
            Stat::new(FileKind::Directory)
        } else {
            Stat {
                mode: if file_attributes & FILE_ATTRIBUTE_READONLY != 0 {
                    0o444
                } else {
                    0o644
                },
                ..Stat::new(FileKind::File)
            }
        };
        if intent.delete_on_close {
            can_delete(&stat, true).map_err(deletion)?;
        }
        let made = if directory {
            self.run(
                call,
                Operation::Mkdir {
                    path: path.to_owned(),
                    mode: stat.mode,
                },
            )
            .and_then(|()| {
                intent
                    .data_access
                    .then(|| {
                        expect_reply!(
                            self.call(
                                call,
                                Operation::Opendir {
                                    path: path.to_owned(),
                                    flags: intent.flags,
                                },
                            ),
                            Opened
                        )
                    })
                    .transpose()
            })
        } else {
            expect_reply!(
                self.call(
                    call,
                    Operation::Create {
                        path: path.to_owned(),
                        mode: stat.mode,
                        flags: intent.flags,
                    },
                ),
                Opened
            )
            .map(Some)
        };
        let opened = match made {
            Ok(opened) => opened,
            Err(Errno::ENOENT) => return Err(self.missing_status(call, found)),
            Err(e) => return Err(e.into()),
        };
        let user = opened.map(|opened| UserHandle {
            handle: opened.handle,
            flags: intent.flags,
            backing: opened
                .backing
                .filter(|_| !directory)
                .map(|backing| backing.0),
        });
        if let Some(flags) = attributes_at_creation(file_attributes) {
            if let Err(e) = self.set_attributes(call, path, Some(flags), None) {
                if let Some(user) = user {
                    self.release_user(call, path, directory, user);
                }
                return Err(e.into());
            }
        }
        let node = self.registry.acquire(path);
        let context = self.handles.insert(Arc::new(OpenFile::new(
            stat.kind,
            node.clone(),
            user.clone(),
        )));
        match node.open_handle(context, intent.delete_on_close, &stat, true) {
            Ok(()) => Ok(context),
            Err(e) => {
                self.handles.remove(context);
                self.registry.release(&node);
                if let Some(user) = user {
                    self.release_user(call, path, directory, user);
                }
                Err(deletion(e))
            }
        }
    }

    /// `Cleanup`: the last user handle of this open was closed. Flushes a file opened for
    /// data (`flush`, as FUSE does on every `close`), then, if this was the file's last open
    /// and it is marked for deletion (by `FILE_DELETE_ON_CLOSE` or a delete disposition),
    /// removes it (`unlink`, or `rmdir` for a directory). Cleanup cannot fail: a removal the
    /// filesystem refuses is logged and the file stays.
    ///
    /// `DOKAN_FILE_INFO.DeleteOnClose` is not consulted: Dokan 2 sets it from the flags of
    /// the handle being cleaned up, so it is set on the cleanup of the handle that marked the
    /// file even while other handles to the file remain open. The file's `DeleteState` has
    /// seen every mark and every handle, and decides alone.
    pub fn cleanup(&self, call: &Call, context: u64) {
        let Some(open) = self.handles.get(context) else {
            return;
        };
        let path = open.path();
        if let Some(user) = open.user().filter(|user| user.backing.is_none()) {
            if !open.is_directory() {
                let flush = Operation::Flush {
                    path: path.clone(),
                    handle: user.handle,
                };
                match self.run(call, flush) {
                    Ok(()) | Err(Errno::ENOSYS) => {}
                    Err(e) => warn!("flush of {path} at cleanup failed: {e}"),
                }
            }
        }
        if open.node.cleanup(context) == CleanupOutcome::Delete {
            let remove = if open.is_directory() {
                Operation::Rmdir { path: path.clone() }
            } else {
                Operation::Unlink { path: path.clone() }
            };
            match self.run(call, remove) {
                Ok(()) => self.registry.detach(&open.node),
                Err(e) => warn!("deleting {path} at cleanup failed; it stays: {e}"),
            }
        }
    }

    /// `CloseFile`: the open is gone. Releases the filesystem's handle (`release` or
    /// `releasedir`) if one was opened, and forgets the open. Errors are logged.
    pub fn close(&self, call: &Call, context: u64) {
        let Some(open) = self.handles.remove(context) else {
            return;
        };
        if let Some(user) = open.take_user() {
            self.release_user(call, &open.path(), open.is_directory(), user);
        }
        self.registry.release(&open.node);
    }
}
