//! What each Dokan callback does, as plain Rust over a core [`Dispatch`].
//!
//! [`DokanFs`] holds one mount's state and has one method per `DOKAN_OPERATIONS` callback
//! that needs the filesystem. The Windows shims in `callbacks.rs` only convert pointers to
//! slices and numbers, call these methods and write the results back; everything that decides
//! what a callback means lives here and is tested on every platform with a fake dispatcher.
//!
//! Every method blocks the calling Dokan worker thread until the dispatcher answers (see
//! [`crate::request`]); none of them ever runs on, or waits for, the thread that runs the
//! handlers. Failures are NTSTATUS values ([`NtError`]): handler errors are translated with
//! [`errno_to_ntstatus`], and a few answers that only Windows has are produced directly.

use std::io;
use std::sync::Arc;

use log::warn;
use mountkit_core::windows::attributes::{
    apply_attributes, attributes_from_stat, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL,
    FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_REPARSE_POINT,
};
use mountkit_core::windows::create::{
    resolve_create, CreateAction, CreateIntent, DELETE, FILE_CREATED, FILE_OPEN_IF,
    FILE_OVERWRITE_IF, FILE_SUPERSEDE,
};
use mountkit_core::windows::delete::{can_delete, deletion_status, CleanupOutcome};
use mountkit_core::windows::enumerate::{matching, prepare_listing};
use mountkit_core::windows::filetime::{filetime_from_system_time, requested_time};
use mountkit_core::windows::lookup::{look_up, Found, Namespace};
use mountkit_core::windows::ntstatus::{
    errno_to_ntstatus, STATUS_ACCESS_DENIED, STATUS_CANNOT_DELETE, STATUS_DELETE_PENDING,
    STATUS_END_OF_FILE, STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER, STATUS_MEDIA_WRITE_PROTECTED, STATUS_NOT_A_DIRECTORY,
    STATUS_NOT_IMPLEMENTED, STATUS_OBJECT_NAME_COLLISION, STATUS_SUCCESS,
};
use mountkit_core::windows::options::WindowsOptions;
use mountkit_core::windows::rename::{check_rename, rename_falling_back};
use mountkit_core::{
    expect_empty, expect_reply, DirEntry, Dispatch, Errno, FileKind, FsResult, HandleTable,
    Listing, OpenFlags, Operation, Reply, RequestContext, SetTime, Stat,
};

use crate::config::VolumeInfo;
use crate::context::{Node, OpenFile, Registry, UserHandle};
use crate::paths;
use crate::request::{self, Keepalive, Pending};
use crate::timeout::TimeoutPolicy;
use mountkit_core::backing;

/// A failed callback: the NTSTATUS Dokan is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtError(pub i32);

impl From<Errno> for NtError {
    fn from(errno: Errno) -> NtError {
        NtError(errno_to_ntstatus(errno))
    }
}

/// The result of a callback that can fail.
pub type NtResult<T> = Result<T, NtError>;

/// The `DOKAN_FILE_INFO.Context` left behind by a `ZwCreateFile` that refused an open asking
/// for `DELETE` with `STATUS_ACCESS_DENIED`.
///
/// Dokan answers such a refusal by retrying `ZwCreateFile` on the parent directory with the
/// same `DOKAN_FILE_INFO`, and if that succeeds, gives the caller the parent's open as if it
/// were the file's, so a refused delete would go ahead on the parent's say. The marker makes
/// that retry fail with `STATUS_ACCESS_DENIED` too. Handle keys count up from 1 and never
/// reach this value.
pub const REFUSED_DELETE_OPEN: u64 = u64::MAX;

/// Who is calling, and how to keep the driver waiting for them.
pub struct Call<'a> {
    /// The id of the process that made the request (`DOKAN_FILE_INFO.ProcessId`).
    pub process_id: u32,
    /// Extends the driver's timer while the dispatcher is slow.
    pub keepalive: &'a dyn Keepalive,
}

impl Call<'_> {
    fn context(&self) -> RequestContext {
        RequestContext {
            uid: 0,
            gid: 0,
            pid: self.process_id,
        }
    }
}

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

/// What `GetFileInformation` reports (`BY_HANDLE_FILE_INFORMATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileInformation {
    /// `FILE_ATTRIBUTE_*` bits.
    pub attributes: u32,
    /// FILETIME of creation (the stat's birth time).
    pub creation_time: u64,
    /// FILETIME of last access.
    pub last_access_time: u64,
    /// FILETIME of last write.
    pub last_write_time: u64,
    /// The volume's serial number.
    pub volume_serial: u32,
    /// Size in bytes; 0 for a directory.
    pub size: u64,
    /// Number of links, at least 1.
    pub links: u32,
    /// The file index: the stat's `ino` when non-zero, otherwise a hash of the path.
    pub index: u64,
}

/// One entry of a directory listing (`WIN32_FIND_DATAW`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindEntry {
    /// The entry's name.
    pub name: String,
    /// `FILE_ATTRIBUTE_*` bits.
    pub attributes: u32,
    /// FILETIME of creation.
    pub creation_time: u64,
    /// FILETIME of last access.
    pub last_access_time: u64,
    /// FILETIME of last write.
    pub last_write_time: u64,
    /// Size in bytes; 0 for directories.
    pub size: u64,
}

/// The times `SetFileTime` asks for, as FILETIMEs; `None` where the caller passed no pointer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileTimes {
    /// Creation time. mountkit has no operation that sets it; it is ignored.
    pub creation: Option<u64>,
    /// Last access time.
    pub last_access: Option<u64>,
    /// Last write time.
    pub last_write: Option<u64>,
}

/// What `WriteFile` was asked.
#[derive(Clone, Copy, Debug)]
pub struct WriteRequest<'a> {
    /// The bytes to write.
    pub data: &'a [u8],
    /// Where to write; -1 means the end of the file.
    pub offset: i64,
    /// `DOKAN_FILE_INFO.WriteToEndOfFile`: write at the end of the file, whatever `offset`
    /// says.
    pub write_to_end_of_file: bool,
    /// `DOKAN_FILE_INFO.PagingIo`: a write from the cache or a mapped view, which must not
    /// extend the file.
    pub paging_io: bool,
}

/// What `GetDiskFreeSpace` reports, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSpace {
    /// Free space available to the caller.
    pub free_bytes_available: u64,
    /// Total size of the volume.
    pub total_bytes: u64,
    /// Free space on the volume.
    pub total_free_bytes: u64,
}

/// One stream of a file, as `FindStreams` reports it (`WIN32_FIND_STREAM_DATA`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEntry {
    /// The stream name, `::$DATA` for the file's own data.
    pub name: String,
    /// The stream's size in bytes.
    pub size: u64,
}

/// The filesystem as the core's lookup ([`look_up`]) sees it, asked on behalf of one
/// callback.
struct Names<'a> {
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

/// The state of one Dokan mount, and the logic of its callbacks.
pub struct DokanFs {
    dispatch: Arc<dyn Dispatch>,
    policy: TimeoutPolicy,
    ignore_case: bool,
    read_only: bool,
    volume: VolumeInfo,
    handles: HandleTable<Arc<OpenFile>>,
    registry: Registry,
}

fn io_error(error: io::Error) -> NtError {
    Errno::from(error).into()
}

fn deletion(errno: Errno) -> NtError {
    NtError(deletion_status(errno))
}

/// The attributes this backend reports for `stat`: those of [`attributes_from_stat`],
/// except that symbolic links are shown as plain files, since Dokan cannot serve reparse
/// points.
pub fn attributes(stat: &Stat) -> u32 {
    match attributes_from_stat(stat) & !FILE_ATTRIBUTE_REPARSE_POINT {
        0 => FILE_ATTRIBUTE_NORMAL,
        bits => bits,
    }
}

/// 64-bit FNV-1a of `text`.
fn fnv1a_64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl DokanFs {
    /// The state of a new mount serving `dispatch` with `options`.
    pub fn new(dispatch: Arc<dyn Dispatch>, options: &WindowsOptions) -> DokanFs {
        DokanFs {
            dispatch,
            policy: TimeoutPolicy::new(options.request_timeout),
            ignore_case: options.case_insensitive,
            read_only: options.read_only,
            volume: VolumeInfo::from_options(options),
            handles: HandleTable::new(),
            registry: Registry::new(options.case_insensitive),
        }
    }

    /// What `GetVolumeInformation` reports.
    pub fn volume(&self) -> &VolumeInfo {
        &self.volume
    }

    /// How many opens exist (created and not yet closed).
    pub fn open_count(&self) -> usize {
        self.handles.len()
    }

    fn call(&self, call: &Call, operation: Operation) -> FsResult<Reply> {
        request::call(
            &*self.dispatch,
            &self.policy,
            call.keepalive,
            call.context(),
            operation,
        )
    }

    fn start(&self, call: &Call, operation: Operation) -> Pending {
        request::start(&*self.dispatch, &self.policy, call.context(), operation)
    }

    fn run(&self, call: &Call, operation: Operation) -> FsResult<()> {
        expect_empty(self.call(call, operation))
    }

    fn getattr(&self, call: &Call, path: &str, handle: Option<u64>) -> FsResult<Stat> {
        expect_reply!(
            self.call(
                call,
                Operation::Getattr {
                    path: path.to_owned(),
                    handle,
                },
            ),
            Stat
        )
    }

    fn entry(&self, context: u64) -> NtResult<Arc<OpenFile>> {
        self.handles
            .get(context)
            .ok_or(NtError(STATUS_INVALID_HANDLE))
    }

    fn writable(&self) -> NtResult<()> {
        if self.read_only {
            Err(NtError(STATUS_MEDIA_WRITE_PROTECTED))
        } else {
            Ok(())
        }
    }

    /// Lists `path`: through `handle` if the directory is open, otherwise by opening it for
    /// the listing and releasing it after.
    fn list_dir(&self, call: &Call, path: &str, handle: Option<u64>) -> FsResult<Vec<DirEntry>> {
        if let Some(handle) = handle {
            let readdir = Operation::Readdir {
                path: path.to_owned(),
                handle,
            };
            return expect_reply!(self.call(call, readdir), Entries).map(Listing::into_entries);
        }
        let opendir = Operation::Opendir {
            path: path.to_owned(),
            flags: OpenFlags(OpenFlags::READ_ONLY),
        };
        let opened = expect_reply!(self.call(call, opendir), Opened)?;
        let readdir = Operation::Readdir {
            path: path.to_owned(),
            handle: opened.handle,
        };
        let listed = expect_reply!(self.call(call, readdir), Entries);
        let releasedir = Operation::Releasedir {
            path: path.to_owned(),
            handle: opened.handle,
        };
        if let Err(e) = self.run(call, releasedir) {
            warn!("releasedir of {path} after a listing failed: {e}");
        }
        listed.map(Listing::into_entries)
    }

    fn dir_is_empty(&self, call: &Call, path: &str, handle: Option<u64>) -> FsResult<bool> {
        // A listing never holds `.` or `..` (see `Listing`).
        Ok(self.list_dir(call, path, handle)?.is_empty())
    }

    /// What `path` names: the core's [`look_up`], without regard to case on a
    /// case-insensitive volume, so a handler always sees the stored spelling of names that
    /// exist (as far as their directories can be listed).
    fn lookup(&self, call: &Call, path: &str) -> NtResult<Found> {
        Ok(look_up(
            &mut Names { fs: self, call },
            path,
            self.ignore_case,
        )?)
    }

    /// The status for what `found` names not being there: `STATUS_OBJECT_PATH_NOT_FOUND`
    /// when its directory is missing too, as NTFS answers ([`Found::missing_status`]).
    fn missing_status(&self, call: &Call, found: &Found) -> NtError {
        NtError(found.missing_status(&mut Names { fs: self, call }))
    }

    fn open_user(
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

    fn release_user(&self, call: &Call, path: &str, is_directory: bool, user: UserHandle) {
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
    fn user_handle(&self, call: &Call, open: &OpenFile, write: bool) -> NtResult<UserHandle> {
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
    ///   handle, as FUSE does for `O_TRUNC`.
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

    fn try_create(&self, call: &Call, request: &CreateRequest) -> NtResult<(u64, bool, u32)> {
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
                    let intent =
                        intent.for_read_only(attributes_from_stat(stat), request.desired_access)?;
                    (
                        self.open_existing(call, &found.path, stat, &intent)?,
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

    fn open_existing(
        &self,
        call: &Call,
        path: &str,
        stat: &Stat,
        intent: &CreateIntent,
    ) -> NtResult<u64> {
        let node = self.registry.acquire(path);
        let opened = self.open_node(call, &node, path, stat, intent);
        if opened.is_err() {
            self.registry.release(&node);
        }
        opened
    }

    fn open_node(
        &self,
        call: &Call,
        node: &Arc<Node>,
        path: &str,
        stat: &Stat,
        intent: &CreateIntent,
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

    fn create_new(
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

    /// `ReadFile`: reads into `buffer` from `offset` and returns the bytes read (fewer at the
    /// end of the file, 0 past it). Served from the backing file when there is one, otherwise
    /// by `read`; a handler that returns more than asked is cut to the buffer.
    pub fn read(
        &self,
        call: &Call,
        context: u64,
        buffer: &mut [u8],
        offset: i64,
    ) -> NtResult<usize> {
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_INVALID_DEVICE_REQUEST));
        }
        let offset = u64::try_from(offset).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?;
        let user = self.user_handle(call, &open, false)?;
        if let Some(file) = &user.backing {
            return backing::read_at(file, buffer, offset).map_err(io_error);
        }
        let read = Operation::Read {
            path: open.path(),
            handle: user.handle,
            offset,
            size: u32::try_from(buffer.len()).unwrap_or(u32::MAX),
        };
        let context = call.context();
        let policy = &self.policy;
        Ok(request::read_into(
            &*self.dispatch,
            policy,
            call.keepalive,
            context,
            read,
            buffer,
        )?)
    }

    fn current_size(&self, call: &Call, path: &str, user: &UserHandle) -> NtResult<u64> {
        match &user.backing {
            Some(file) => Ok(file.metadata().map_err(io_error)?.len()),
            None => Ok(self.getattr(call, path, Some(user.handle))?.size),
        }
    }

    /// `WriteFile`: writes and returns the bytes written.
    ///
    /// - With `write_to_end_of_file` or an offset of -1, the data goes at the current end of
    ///   the file (its size from `getattr`, or the backing file's length).
    /// - A paging write never extends the file: what lies beyond the current size is dropped,
    ///   and a write starting at or past the end writes nothing and succeeds.
    /// - Served by the backing file when there is one, otherwise by `write`; a handler that
    ///   claims more bytes than it was given fails the write with `EIO`.
    pub fn write(&self, call: &Call, context: u64, request: &WriteRequest) -> NtResult<usize> {
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_INVALID_DEVICE_REQUEST));
        }
        self.writable()?;
        let user = self.user_handle(call, &open, true)?;
        let path = open.path();
        let to_end = request.write_to_end_of_file || request.offset == -1;
        let size = if to_end || request.paging_io {
            Some(self.current_size(call, &path, &user)?)
        } else {
            None
        };
        let offset = match (to_end, size) {
            (true, Some(size)) => size,
            _ => u64::try_from(request.offset).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?,
        };
        let mut data = request.data;
        if let (true, Some(size)) = (request.paging_io, size) {
            if offset >= size {
                return Ok(0);
            }
            let room = usize::try_from(size - offset).unwrap_or(usize::MAX);
            data = &data[..data.len().min(room)];
        }
        if let Some(file) = &user.backing {
            backing::write_all_at(file, data, offset).map_err(io_error)?;
            return Ok(data.len());
        }
        let write = Operation::Write {
            path: path.clone(),
            handle: user.handle,
            offset,
            data: self.dispatch.write_data(data),
        };
        let written = expect_reply!(self.call(call, write), Count)?;
        match usize::try_from(written) {
            Ok(written) if written <= data.len() => Ok(written),
            _ => {
                warn!(
                    "write handler claimed {written} bytes of a {}-byte write to {path}",
                    data.len()
                );
                Err(Errno::EIO.into())
            }
        }
    }

    /// `FlushFileBuffers`: `fsync` (or `fsyncdir`) through the open's handle, or `sync_all`
    /// on the backing file. An open without a filesystem handle has nothing to flush, and a
    /// filesystem without `fsync` (`ENOSYS`) is taken to have nothing to flush either, as FUSE
    /// does.
    pub fn flush(&self, call: &Call, context: u64) -> NtResult<()> {
        let open = self.entry(context)?;
        let Some(user) = open.user() else {
            return Ok(());
        };
        if let Some(file) = &user.backing {
            return file.sync_all().map_err(io_error);
        }
        let path = open.path();
        let operation = if open.is_directory() {
            Operation::Fsyncdir {
                path,
                handle: user.handle,
                datasync: false,
            }
        } else {
            Operation::Fsync {
                path,
                handle: user.handle,
                datasync: false,
            }
        };
        match self.run(call, operation) {
            Ok(()) | Err(Errno::ENOSYS) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `GetFileInformation`: `getattr` through the open's handle, translated.
    pub fn get_file_information(&self, call: &Call, context: u64) -> NtResult<FileInformation> {
        let open = self.entry(context)?;
        let path = open.path();
        let stat = self.getattr(call, &path, open.user().map(|user| user.handle))?;
        Ok(FileInformation {
            attributes: attributes(&stat),
            creation_time: filetime_from_system_time(stat.birthtime),
            last_access_time: filetime_from_system_time(stat.atime),
            last_write_time: filetime_from_system_time(stat.mtime),
            volume_serial: self.volume.serial,
            size: if stat.kind == FileKind::Directory {
                0
            } else {
                stat.size
            },
            links: stat.nlink.max(1),
            index: if stat.ino != 0 {
                stat.ino
            } else {
                fnv1a_64(&paths::key(&path, self.ignore_case))
            },
        })
    }

    /// `FindFiles` (`pattern` `None`) and `FindFilesWithPattern`: the directory's entries
    /// that match `pattern` (DOS wildcards, compared as the volume compares names), sorted
    /// as Windows sorts, with `.` and `..` first except in the root.
    ///
    /// The listing comes from one `readdir` through the open's handle. Names Windows cannot
    /// represent are left out. Entries listed without metadata get it from `getattr`, all
    /// requested at once before any answer is awaited; an entry that vanished meanwhile
    /// (`ENOENT`) is left out, and one whose `getattr` fails otherwise is shown with its
    /// kind only.
    pub fn find_files(
        &self,
        call: &Call,
        context: u64,
        pattern: Option<&[u16]>,
    ) -> NtResult<Vec<FindEntry>> {
        let open = self.entry(context)?;
        if !open.is_directory() {
            return Err(NtError(STATUS_NOT_A_DIRECTORY));
        }
        let pattern = match pattern {
            Some(wide) => {
                let end = wide
                    .iter()
                    .position(|&unit| unit == 0)
                    .unwrap_or(wide.len());
                Some(
                    String::from_utf16(&wide[..end])
                        .map_err(|_| NtError(STATUS_INVALID_PARAMETER))?,
                )
            }
            None => None,
        };
        let path = open.path();
        let user = self.user_handle(call, &open, false)?;
        let listed = self.list_dir(call, &path, Some(user.handle))?;
        let listed: Vec<DirEntry> = listed
            .into_iter()
            .filter(|entry| paths::listable(&entry.name))
            .collect();
        let listing = prepare_listing(listed, path == "/", self.ignore_case);
        let chosen: Vec<&DirEntry> =
            matching(&listing, pattern.as_deref(), self.ignore_case).collect();
        let pending: Vec<Option<Pending>> = chosen
            .iter()
            .map(|entry| {
                entry.stat.is_none().then(|| {
                    let target = match entry.name.as_str() {
                        "." => path.clone(),
                        ".." => paths::split(&path)
                            .map_or("/", |(parent, _)| parent)
                            .to_owned(),
                        name => paths::join(&path, name),
                    };
                    self.start(
                        call,
                        Operation::Getattr {
                            path: target,
                            handle: None,
                        },
                    )
                })
            })
            .collect();
        let mut found = Vec::with_capacity(chosen.len());
        for (entry, pending) in chosen.into_iter().zip(pending) {
            let stat = match pending {
                None => entry.stat.clone(),
                Some(pending) => {
                    match expect_reply!(pending.wait(&self.policy, call.keepalive), Stat) {
                        Ok(stat) => Some(stat),
                        Err(Errno::ENOENT) if entry.name != "." && entry.name != ".." => continue,
                        Err(_) => None,
                    }
                }
            };
            found.push(find_entry(&entry.name, entry.kind, stat.as_ref()));
        }
        Ok(found)
    }

    /// `SetFileAttributes`: the read-only attribute becomes a `chmod` (see
    /// [`apply_attributes`]); hidden, system and archive cannot be changed through mountkit
    /// operations and are left as the handler reports them. 0 and `INVALID_FILE_ATTRIBUTES`
    /// change nothing.
    pub fn set_file_attributes(
        &self,
        call: &Call,
        context: u64,
        file_attributes: u32,
    ) -> NtResult<()> {
        self.writable()?;
        let open = self.entry(context)?;
        let path = open.path();
        let stat = self.getattr(call, &path, open.user().map(|user| user.handle))?;
        if let (_, Some(mode)) = apply_attributes(&stat, file_attributes) {
            self.run(call, Operation::Chmod { path, mode })?;
        }
        Ok(())
    }

    /// `SetFileTime`: `utimens` with the last access and last write times that are given
    /// and meaningful; 0 and the negative FILETIMEs (-1, -2) leave a time unchanged, and a
    /// request that changes neither sends nothing. The creation time is ignored.
    pub fn set_file_time(&self, call: &Call, context: u64, times: &FileTimes) -> NtResult<()> {
        let open = self.entry(context)?;
        let atime = times.last_access.and_then(requested_time).map(SetTime::At);
        let mtime = times.last_write.and_then(requested_time).map(SetTime::At);
        if atime.is_none() && mtime.is_none() {
            return Ok(());
        }
        self.writable()?;
        let utimens = Operation::Utimens {
            path: open.path(),
            atime,
            mtime,
        };
        Ok(self.run(call, utimens)?)
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

    /// `SetEndOfFile`: `truncate` to `length` through the open's handle.
    pub fn set_end_of_file(&self, call: &Call, context: u64, length: i64) -> NtResult<()> {
        self.writable()?;
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_INVALID_DEVICE_REQUEST));
        }
        let size = u64::try_from(length).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?;
        let truncate = Operation::Truncate {
            path: open.path(),
            size,
            handle: open.user().map(|user| user.handle),
        };
        Ok(self.run(call, truncate)?)
    }

    /// `SetAllocationSize`: an allocation below the file's size cuts the file to it
    /// (`truncate`), as on NTFS; a larger one is accepted without reserving space, since
    /// mountkit filesystems allocate as they write.
    pub fn set_allocation_size(&self, call: &Call, context: u64, allocation: i64) -> NtResult<()> {
        self.writable()?;
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_INVALID_DEVICE_REQUEST));
        }
        let allocation =
            u64::try_from(allocation).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?;
        let path = open.path();
        let handle = open.user().map(|user| user.handle);
        if allocation < self.getattr(call, &path, handle)?.size {
            self.run(
                call,
                Operation::Truncate {
                    path,
                    size: allocation,
                    handle,
                },
            )?;
        }
        Ok(())
    }

    /// `GetDiskFreeSpace`: `statfs` of the root, in bytes of the fragment size (or block
    /// size when the fragment size is 0). A filesystem without `statfs` (`ENOSYS`), or one
    /// reporting a volume of 0 blocks, gets `STATUS_NOT_IMPLEMENTED`, on which Dokan reports
    /// its own defaults.
    pub fn disk_free_space(&self, call: &Call) -> NtResult<DiskSpace> {
        let statfs = Operation::Statfs { path: "/".into() };
        let fs = match expect_reply!(self.call(call, statfs), StatFs) {
            Ok(fs) if fs.blocks > 0 => fs,
            Ok(_) | Err(Errno::ENOSYS) => return Err(NtError(STATUS_NOT_IMPLEMENTED)),
            Err(e) => return Err(e.into()),
        };
        let unit = u64::from(if fs.fragment_size != 0 {
            fs.fragment_size
        } else {
            fs.block_size
        });
        Ok(DiskSpace {
            free_bytes_available: fs.blocks_available.saturating_mul(unit),
            total_bytes: fs.blocks.saturating_mul(unit),
            total_free_bytes: fs.blocks_free.saturating_mul(unit),
        })
    }

    /// `FindStreams`: a file has exactly its unnamed data stream, `::$DATA`, whose size is
    /// the file's; a directory has no stream and gets `STATUS_END_OF_FILE`, as Dokan expects.
    pub fn find_streams(&self, call: &Call, context: u64) -> NtResult<Vec<StreamEntry>> {
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_END_OF_FILE));
        }
        let stat = self.getattr(call, &open.path(), open.user().map(|user| user.handle))?;
        Ok(vec![StreamEntry {
            name: "::$DATA".into(),
            size: stat.size,
        }])
    }
}

fn find_entry(name: &str, kind: FileKind, stat: Option<&Stat>) -> FindEntry {
    match stat {
        Some(stat) => FindEntry {
            name: name.to_owned(),
            attributes: attributes(stat),
            creation_time: filetime_from_system_time(stat.birthtime),
            last_access_time: filetime_from_system_time(stat.atime),
            last_write_time: filetime_from_system_time(stat.mtime),
            size: if stat.kind == FileKind::Directory {
                0
            } else {
                stat.size
            },
        },
        None => FindEntry {
            name: name.to_owned(),
            attributes: if kind == FileKind::Directory {
                FILE_ATTRIBUTE_DIRECTORY
            } else {
                FILE_ATTRIBUTE_NORMAL
            },
            creation_time: 0,
            last_access_time: 0,
            last_write_time: 0,
            size: 0,
        },
    }
}

#[cfg(test)]
mod tests;
