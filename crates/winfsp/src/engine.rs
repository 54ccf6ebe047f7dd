//! The platform-neutral WinFsp file system: what every WinFsp callback means, as core
//! [`Operation`]s sent to a [`Dispatch`].
//!
//! The Windows-only layer (`interface.rs`) converts each callback's arguments, calls the
//! matching method of [`Engine`], and writes the answer where WinFsp wants it. Everything that
//! decides something lives here and is tested on every platform with a fake `Dispatch`.
//!
//! Methods return the core's [`NtResult`], as the Dokan backend's do: handler errors are
//! errnos translated by [`errno_to_ntstatus`](mountkit_core::windows::errno_to_ntstatus)
//! (`NtError::from`), and a few answers are chosen here where Windows expects a particular
//! status.
//!
//! Two ways of waiting: the operations WinFsp expects to finish inside the callback block the
//! calling dispatcher thread on a one-shot channel until the handler answers ([`Engine::call`]);
//! Read, Write and ReadDirectory take a completion instead, which runs on whichever thread the
//! answer arrives on ([`Engine::send`]).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use log::warn;
use mountkit_core::windows::ntstatus::{
    STATUS_INVALID_HANDLE, STATUS_MEDIA_WRITE_PROTECTED, STATUS_OBJECT_NAME_INVALID,
};
use mountkit_core::windows::security::FileSecurity;
use mountkit_core::windows::{
    deletion_status, look_up, path_from_windows, path_to_windows, split_stream, upcase_unit, Found,
    Namespace,
};
use mountkit_core::{
    DirEntry, Dispatch, Errno, FileKind, FsResult, HandleTable, OpenFlags, Opened, Operation,
    Reply, Request, RequestContext, Responder, Stat,
};
use parking_lot::Mutex;

use crate::context::{FileContext, Nodes};
use crate::fsctl::FileInfo;
use crate::info::file_info;

pub(crate) use mountkit_core::windows::ntstatus::{NtError, NtResult};

/// How often a blocked dispatcher thread checks whether the mount is going away.
const POLL: Duration = Duration::from_millis(100);

/// How long a lookup made for WinFsp's access check may stand in for the lookup of the open
/// that follows it in the same request.
const LOOKUP_LIFETIME: Duration = Duration::from_secs(1);

pub(crate) use mountkit_core::expect_reply as reply;

pub(crate) use mountkit_core::expect_empty as empty;

/// What an [`Engine`] needs to know about its volume.
#[derive(Clone)]
pub(crate) struct EngineOptions {
    /// Names compare without regard to case.
    pub case_insensitive: bool,
    /// The volume refuses every change (WinFsp only tells Windows so; see
    /// [`Engine::writable`]).
    pub read_only: bool,
    /// Bytes per allocation unit, for allocation sizes.
    pub allocation_unit: u64,
    /// How long a dispatcher thread waits for one handler answer before giving up with
    /// `ETIMEDOUT`.
    pub call_timeout: Duration,
    /// The volume label until Windows sets another.
    pub volume_label: String,
    /// What security descriptor each file reports.
    pub security: FileSecurity,
    /// The self-relative descriptor an SDDL text describes: Windows's own conversion
    /// (`descriptor_from_sddl`) when mounted.
    pub descriptor_of: fn(&str) -> Result<Vec<u8>, String>,
    /// The filesystem stores descriptors (`WindowsOptions::persistent_acls`): a new file's is
    /// given to `set_security`.
    pub persistent_acls: bool,
    /// Where the volume is mounted, as Windows names it (`M:`, a folder path, or
    /// `\\server\share` for a share without a drive letter): what absolute symbolic link
    /// targets start with. For `'*'`, the letter WinFsp takes replaces it
    /// ([`Engine::mounted_at`]).
    pub mount_point: String,
    /// `\\server\share` for a share also mounted on a drive letter (`mount_point`): the other
    /// name of the volume's root, which absolute targets of links made through the share's
    /// UNC path start with.
    pub share_root: Option<String>,
}

/// The state of one mounted volume.
pub(crate) struct Engine {
    /// Where every operation goes.
    pub(crate) dispatch: Arc<dyn Dispatch>,
    /// The volume's settings.
    pub(crate) options: EngineOptions,
    /// The current volume label.
    pub(crate) label: Mutex<String>,
    /// Open handles, by the number WinFsp passes back as the file context.
    pub(crate) contexts: HandleTable<FileContext>,
    /// Files with open handles, by path.
    pub(crate) nodes: Nodes,
    /// The drive letter WinFsp took for a `'*'` mount point, once known.
    taken_mount_point: OnceLock<String>,
    closed: AtomicBool,
}

/// A lookup remembered between WinFsp's access check (GetSecurityByName) and the Create or
/// Open that follows it on the same thread, for the same request.
struct Lookup {
    engine: usize,
    hint: u64,
    /// The path as WinFsp asked for it.
    path: String,
    found: Found,
    at: Instant,
}

/// A successful Create or Open.
#[derive(Debug)]
pub(crate) struct OpenedFile {
    /// The number WinFsp hands back for this handle.
    pub id: u64,
    /// The file's information.
    pub info: FileInfo,
    /// On a case-insensitive volume, the path the handler was given for the file, in Windows
    /// form (`\Dir\File.txt`): what WinFsp should keep as the open file's name (its
    /// `NormalizedName`) rather than the name upper-cased. `None` on a case-sensitive volume,
    /// where WinFsp keeps the name as opened, and when the name would not be one WinFsp
    /// accepts (it must differ from the name opened in case only).
    pub normalized_name: Option<Vec<u16>>,
}

/// The filesystem as a case-insensitive lookup ([`look_up`]) sees it.
struct Names<'a> {
    engine: &'a Engine,
    cx: RequestContext,
}

impl Namespace for Names<'_> {
    fn getattr(&mut self, path: &str) -> FsResult<Stat> {
        self.engine.getattr(self.cx, path, None)
    }

    fn list(&mut self, dir: &str) -> FsResult<Vec<DirEntry>> {
        self.engine.list_directory(self.cx, dir, None)
    }
}

thread_local! {
    static LOOKUPS: RefCell<Vec<Lookup>> = const { RefCell::new(Vec::new()) };
}

/// What is needed to record a successful open.
pub(crate) struct Admission {
    /// The path opened.
    pub path: String,
    /// Its metadata.
    pub stat: Stat,
    /// The filesystem's handle, if one was opened.
    pub opened: Option<Opened>,
    /// The flags it was opened with.
    pub flags: OpenFlags,
    /// Whether the open asked `FILE_DELETE_ON_CLOSE`.
    pub delete_on_close: bool,
    /// For a directory opened delete-on-close, whether it is empty.
    pub directory_is_empty: bool,
}

impl Engine {
    /// A volume with no open handles that sends every operation to `dispatch`.
    pub(crate) fn new(dispatch: Arc<dyn Dispatch>, options: EngineOptions) -> Arc<Engine> {
        Arc::new(Engine {
            dispatch,
            label: Mutex::new(options.volume_label.clone()),
            nodes: Nodes::new(options.case_insensitive),
            contexts: HandleTable::new(),
            options,
            taken_mount_point: OnceLock::new(),
            closed: AtomicBool::new(false),
        })
    }

    /// Records where WinFsp mounted the volume when it chose the place itself (`'*'`), before
    /// any request is served.
    pub(crate) fn mounted_at(&self, mount_point: String) {
        // Set once, right after FspFileSystemSetMountPoint; a second call has nothing to add.
        let _ = self.taken_mount_point.set(mount_point);
    }

    /// Where the volume is mounted, as absolute symbolic link targets spell it.
    pub(crate) fn mount_point(&self) -> &str {
        self.taken_mount_point
            .get()
            .unwrap_or(&self.options.mount_point)
    }

    /// Stops serving: later calls fail at once with `ENOTCONN`, and threads waiting for an
    /// answer stop waiting within [`POLL`].
    pub(crate) fn shut_down(&self) {
        self.closed.store(true, Ordering::Release);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Sends `operation` and waits for its answer on the calling thread. Gives up with
    /// `ENOTCONN` when the engine shuts down, and with `ETIMEDOUT` after the call timeout.
    pub(crate) fn call(&self, cx: RequestContext, operation: Operation) -> FsResult<Reply> {
        if self.is_closed() {
            return Err(Errno::ENOTCONN);
        }
        let name = operation.name();
        let (sender, receiver) = mpsc::sync_channel(1);
        self.dispatch.dispatch(Request {
            context: cx,
            operation,
            responder: Responder::new(move |result| {
                let _ = sender.send(result);
            }),
        });
        let deadline = Instant::now() + self.options.call_timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                warn!(
                    "{name} was not answered within {:?}; WinFsp is told ETIMEDOUT",
                    self.options.call_timeout
                );
                return Err(Errno::ETIMEDOUT);
            }
            match receiver.recv_timeout((deadline - now).min(POLL)) {
                Ok(result) => return result,
                Err(RecvTimeoutError::Timeout) if self.is_closed() => return Err(Errno::ENOTCONN),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(Errno::EIO),
            }
        }
    }

    /// Sends `operation`; `done` runs with the answer on whichever thread produces it (at once,
    /// with `ENOTCONN`, if the engine has shut down).
    pub(crate) fn send(
        &self,
        cx: RequestContext,
        operation: Operation,
        done: impl FnOnce(FsResult<Reply>) + Send + 'static,
    ) {
        self.send_with(cx, operation, Responder::new(done));
    }

    /// Like [`Engine::send`], for an operation answered with bytes that `done` only borrows
    /// (see [`Responder::for_data`]).
    pub(crate) fn send_for_data(
        &self,
        cx: RequestContext,
        operation: Operation,
        done: impl FnOnce(FsResult<&[u8]>) + Send + 'static,
    ) {
        self.send_with(cx, operation, Responder::for_data(done));
    }

    fn send_with(&self, cx: RequestContext, operation: Operation, responder: Responder) {
        if self.is_closed() {
            return responder.respond(Err(Errno::ENOTCONN));
        }
        self.dispatch.dispatch(Request {
            context: cx,
            operation,
            responder,
        });
    }

    /// Refuses a change on a read-only volume with `STATUS_MEDIA_WRITE_PROTECTED`, what a
    /// write-protected medium answers. WinFsp's driver only reports the volume read-only
    /// (`FILE_READ_ONLY_VOLUME`) and passes every request on, so the refusals are made here:
    /// opens that change the volume by themselves (Create and Open, through
    /// [`CreateIntent::on_read_only_volume`](mountkit_core::windows::CreateIntent::on_read_only_volume)),
    /// Overwrite, Write, SetBasicInfo, SetFileSize, CanDelete, SetDelete, Rename,
    /// SetVolumeLabel and SetSecurity.
    pub(crate) fn writable(&self) -> NtResult<()> {
        if self.options.read_only {
            Err(NtError(STATUS_MEDIA_WRITE_PROTECTED))
        } else {
            Ok(())
        }
    }

    /// What `path` names, found without regard to case on a case-insensitive volume
    /// ([`look_up`]): the stored spelling and metadata of what exists, or the path at which a
    /// new name would be created. The lookup WinFsp's access check made for the same request
    /// (`hint`) is used instead when there is one.
    pub(crate) fn find(
        &self,
        cx: RequestContext,
        path: &str,
        hint: Option<u64>,
    ) -> FsResult<Found> {
        if let Some(found) = self.recall(hint, path) {
            return Ok(found);
        }
        look_up(
            &mut Names { engine: self, cx },
            path,
            self.options.case_insensitive,
        )
    }

    /// The status for `found` naming nothing, as NTFS answers it
    /// ([`Found::missing_status`]): `STATUS_OBJECT_PATH_NOT_FOUND` when its directory is
    /// missing too, `STATUS_OBJECT_NAME_NOT_FOUND` otherwise.
    pub(crate) fn missing_status(&self, cx: RequestContext, found: &Found) -> NtError {
        NtError(found.missing_status(&mut Names { engine: self, cx }))
    }

    /// The name WinFsp should keep for a file opened as `asked` and found at `path`: see
    /// [`OpenedFile::normalized_name`].
    pub(crate) fn normalized_name(&self, asked: &[u16], path: &str) -> Option<Vec<u16>> {
        if !self.options.case_insensitive {
            return None;
        }
        let name = path_to_windows(path);
        let same = name.len() == asked.len()
            && name
                .iter()
                .zip(asked)
                .all(|(&unit, &other)| upcase_unit(unit) == upcase_unit(other));
        same.then_some(name)
    }

    /// The entries of directory `path`, read through `handle` or, without one, through a
    /// handle opened and released for the purpose.
    pub(crate) fn list_directory(
        &self,
        cx: RequestContext,
        path: &str,
        handle: Option<u64>,
    ) -> FsResult<Vec<DirEntry>> {
        let (handle, temporary) = match handle {
            Some(handle) => (handle, false),
            None => {
                let flags = OpenFlags(OpenFlags::READ_ONLY);
                (self.open_handle(cx, path, true, flags)?.handle, true)
            }
        };
        let listed = self.call(
            cx,
            Operation::Readdir {
                path: path.to_owned(),
                handle,
            },
        );
        if temporary {
            let release = Operation::Releasedir {
                path: path.to_owned(),
                handle,
            };
            if let Err(errno) = self.run(cx, release) {
                log::debug!("releasing a directory handle failed: {errno}");
            }
        }
        Ok(reply!(listed, Entries)?.into_entries())
    }

    /// The metadata of `path`, through `handle` when there is one.
    pub(crate) fn getattr(
        &self,
        cx: RequestContext,
        path: &str,
        handle: Option<u64>,
    ) -> FsResult<Stat> {
        let operation = Operation::Getattr {
            path: path.to_owned(),
            handle,
        };
        reply!(self.call(cx, operation), Stat)
    }

    /// Runs an operation whose answer is empty.
    pub(crate) fn run(&self, cx: RequestContext, operation: Operation) -> FsResult<()> {
        empty(self.call(cx, operation))
    }

    /// Opens `path` with the handler: `opendir` for a directory, `open` otherwise.
    pub(crate) fn open_handle(
        &self,
        cx: RequestContext,
        path: &str,
        directory: bool,
        flags: OpenFlags,
    ) -> FsResult<Opened> {
        let path = path.to_owned();
        let operation = if directory {
            Operation::Opendir { path, flags }
        } else {
            Operation::Open { path, flags }
        };
        reply!(self.call(cx, operation), Opened)
    }

    /// Gives a handle back to the filesystem, without waiting: `releasedir` for a directory,
    /// `flush` then `release` for a file (`release` alone when `flush` is false).
    pub(crate) fn release_handle(
        self: &Arc<Self>,
        cx: RequestContext,
        path: String,
        handle: u64,
        kind: FileKind,
        flags: OpenFlags,
        flush: bool,
    ) {
        let log = |result: FsResult<Reply>| {
            if let Err(errno) = empty(result) {
                log::debug!("releasing a handle failed: {errno}");
            }
        };
        if kind == FileKind::Directory {
            return self.send(cx, Operation::Releasedir { path, handle }, log);
        }
        let release = Operation::Release {
            path: path.clone(),
            handle,
            flags,
        };
        if !flush {
            return self.send(cx, release, log);
        }
        let this = self.clone();
        self.send(cx, Operation::Flush { path, handle }, move |result| {
            if let Err(errno) = empty(result) {
                warn!("flush before release failed: {errno}");
            }
            this.send(cx, release, log);
        });
    }

    /// The context of WinFsp's handle number `id`.
    pub(crate) fn context(&self, id: u64) -> NtResult<FileContext> {
        self.contexts.get(id).ok_or(NtError(STATUS_INVALID_HANDLE))
    }

    /// The file information of `stat` on this volume.
    pub(crate) fn info(&self, stat: &Stat) -> FileInfo {
        file_info(stat, self.options.allocation_unit)
    }

    /// Records a successful open as a new context and returns its number with the file's
    /// information. The file's [`DeleteState`](mountkit_core::windows::DeleteState) decides
    /// first: opening a delete-pending file fails with `STATUS_DELETE_PENDING`, and a
    /// delete-on-close open of a read-only file or a non-empty directory fails with
    /// `STATUS_CANNOT_DELETE` or `STATUS_DIRECTORY_NOT_EMPTY`. A refused open gives its handle
    /// back to the filesystem.
    pub(crate) fn admit(
        self: &Arc<Self>,
        cx: RequestContext,
        admission: Admission,
    ) -> NtResult<(u64, FileInfo)> {
        let Admission {
            path,
            stat,
            opened,
            flags,
            delete_on_close,
            directory_is_empty,
        } = admission;
        let info = self.info_at(cx, &path, &stat);
        let handle = opened.as_ref().map(|opened| opened.handle);
        let backing = opened.and_then(|opened| opened.backing.map(|backing| backing.0));
        let admitted = self.nodes.attach(&path, |node, locked| {
            let id = self.contexts.insert(FileContext {
                node: node.clone(),
                handle,
                kind: stat.kind,
                flags,
                backing,
                stat: stat.clone(),
                listing: None,
            });
            match locked
                .delete
                .open(id, delete_on_close, &stat, directory_is_empty)
            {
                Ok(()) => {
                    locked.contexts.push(id);
                    Ok(id)
                }
                Err(errno) => {
                    self.contexts.remove(id);
                    Err(errno)
                }
            }
        });
        match admitted {
            Ok(id) => Ok((id, info)),
            Err(errno) => {
                if let Some(handle) = handle {
                    self.release_handle(cx, path, handle, stat.kind, flags, false);
                }
                Err(NtError(deletion_status(errno)))
            }
        }
    }

    /// Remembers what the lookup of `path` made for request `hint` (WinFsp's access check)
    /// found, so the Create or Open of the same request need not ask again. Keeps the two
    /// latest lookups of the current request, per thread: an open that may create a file
    /// checks the file and then its parent directory.
    pub(crate) fn remember(&self, hint: Option<u64>, path: &str, found: Found) {
        let Some(hint) = hint else { return };
        let engine = self as *const Engine as usize;
        LOOKUPS.with(|lookups| {
            let mut lookups = lookups.borrow_mut();
            lookups.retain(|l| l.engine == engine && l.hint == hint && l.path != path);
            if lookups.len() >= 2 {
                lookups.remove(0);
            }
            lookups.push(Lookup {
                engine,
                hint,
                path: path.to_owned(),
                found,
                at: Instant::now(),
            });
        });
    }

    /// The remembered lookup of `path` for request `hint`, if it is fresh; it is used once.
    fn recall(&self, hint: Option<u64>, path: &str) -> Option<Found> {
        let hint = hint?;
        let engine = self as *const Engine as usize;
        LOOKUPS.with(|lookups| {
            let mut lookups = lookups.borrow_mut();
            let index = lookups.iter().position(|l| {
                l.engine == engine
                    && l.hint == hint
                    && l.path == path
                    && l.at.elapsed() < LOOKUP_LIFETIME
            })?;
            Some(lookups.swap_remove(index).found)
        })
    }

    /// Gives back every handle still open (`release`, or `releasedir` for a directory),
    /// without waiting for the answers and even after [`Engine::shut_down`]: for unmounting,
    /// once WinFsp sends no more requests. Returns how many contexts were still open.
    pub(crate) fn release_all(&self) -> usize {
        let open = self.nodes.all_contexts();
        for &id in &open {
            let Some(ctx) = self.contexts.remove(id) else {
                continue;
            };
            self.nodes.detach(&ctx.node, id);
            let Some(handle) = ctx.handle else {
                continue;
            };
            let path = ctx.path();
            let operation = if ctx.is_directory() {
                Operation::Releasedir { path, handle }
            } else {
                Operation::Release {
                    path,
                    handle,
                    flags: ctx.flags,
                }
            };
            self.dispatch.dispatch(Request {
                context: RequestContext::default(),
                operation,
                responder: Responder::new(|_| {}),
            });
        }
        open.len()
    }
}

/// The mountkit path of a name WinFsp passes (`\dir\file`). A name that is not valid UTF-16,
/// that contains `/`, or that names a stream (the volume offers no named streams;
/// `file::$DATA`, the file itself, is accepted) is `STATUS_OBJECT_NAME_INVALID`.
pub(crate) fn windows_path(name: &[u16]) -> NtResult<String> {
    let path = path_from_windows(name).map_err(|_| NtError(STATUS_OBJECT_NAME_INVALID))?;
    match split_stream(&path) {
        Ok((file, None)) if file.len() == path.len() => Ok(path),
        Ok((file, None)) => Ok(file.to_owned()),
        _ => Err(NtError(STATUS_OBJECT_NAME_INVALID)),
    }
}

/// The path of the entry `name` of directory `dir`, where `.` is the directory itself and
/// `..` its parent.
pub(crate) fn child_path(dir: &str, name: &str) -> String {
    match name {
        "." => dir.to_owned(),
        ".." => match dir.trim_end_matches('/').rfind('/') {
            Some(0) | None => "/".to_owned(),
            Some(index) => dir[..index].to_owned(),
        },
        _ if dir.ends_with('/') => format!("{dir}{name}"),
        _ => format!("{dir}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().collect()
    }

    #[test]
    fn windows_names_become_paths() {
        assert_eq!(windows_path(&wide("\\")), Ok("/".to_owned()));
        assert_eq!(windows_path(&wide("\\a\\b.txt")), Ok("/a/b.txt".to_owned()));
        assert_eq!(
            windows_path(&wide("\\a\\b.txt::$DATA")),
            Ok("/a/b.txt".to_owned())
        );
        for invalid in ["\\a:stream", "\\a:s:$DATA", "\\a/b", "\\a:"] {
            assert_eq!(
                windows_path(&wide(invalid)),
                Err(NtError(STATUS_OBJECT_NAME_INVALID)),
                "{invalid}"
            );
        }
        assert_eq!(
            windows_path(&[0x5C, 0xD800]),
            Err(NtError(STATUS_OBJECT_NAME_INVALID))
        );
    }

    #[test]
    fn child_paths() {
        assert_eq!(child_path("/", "a"), "/a");
        assert_eq!(child_path("/d", "a"), "/d/a");
        assert_eq!(child_path("/d", "."), "/d");
        assert_eq!(child_path("/d", ".."), "/");
        assert_eq!(child_path("/d/e", ".."), "/d");
    }
}
