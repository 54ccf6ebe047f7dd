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
//!
//! The callbacks are grouped by concern, as in the WinFsp backend: `open` (ZwCreateFile,
//! Cleanup, CloseFile), `io` (ReadFile, WriteFile, FlushFileBuffers), `dir` (FindFiles),
//! `metadata` (file information, attributes, times, sizes, streams), `namespace` (lookups,
//! deleting, renaming) and `volume` (volume information, free space). Their tests share one
//! fake dispatcher (`tests/mod.rs`) and sit in `tests/` under the same names.

mod dir;
mod io;
mod metadata;
mod namespace;
mod open;
mod volume;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use mountkit_core::windows::delete::deletion_status;
use mountkit_core::windows::ntstatus::{STATUS_INVALID_HANDLE, STATUS_MEDIA_WRITE_PROTECTED};
use mountkit_core::windows::options::WindowsOptions;
use mountkit_core::windows::security::FileSecurity;
use mountkit_core::{
    expect_empty, expect_reply, Dispatch, Errno, FsResult, HandleTable, Operation, Reply,
    RequestContext, Stat,
};

use crate::config::VolumeInfo;
use crate::context::{OpenFile, Registry};
use crate::request::{self, Keepalive, Pending};
use crate::timeout::TimeoutPolicy;

pub use dir::FindEntry;
pub use io::WriteRequest;
pub use metadata::{attributes, FileInformation, FileTimes, StreamEntry};
pub use mountkit_core::windows::ntstatus::{NtError, NtResult};
pub use open::{CreateOutcome, CreateRequest, REFUSED_DELETE_OPEN};
pub use volume::DiskSpace;

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

/// The state of one Dokan mount, and the logic of its callbacks.
pub struct DokanFs {
    dispatch: Arc<dyn Dispatch>,
    policy: TimeoutPolicy,
    ignore_case: bool,
    read_only: bool,
    volume: VolumeInfo,
    handles: HandleTable<Arc<OpenFile>>,
    registry: Registry,
    security: FileSecurity,
    persistent_acls: bool,
}

fn io_error(error: std::io::Error) -> NtError {
    Errno::from(error).into()
}

fn deletion(errno: Errno) -> NtError {
    NtError(deletion_status(errno))
}

impl DokanFs {
    /// The state of a new mount serving `dispatch` with `options`, whose files report the
    /// security descriptors `security` says.
    pub fn new(
        dispatch: Arc<dyn Dispatch>,
        options: &WindowsOptions,
        security: FileSecurity,
    ) -> DokanFs {
        DokanFs {
            dispatch,
            policy: TimeoutPolicy::new(options.request_timeout),
            ignore_case: options.case_insensitive,
            read_only: options.read_only,
            volume: VolumeInfo::from_options(options),
            handles: HandleTable::new(),
            registry: Registry::new(options.case_insensitive),
            security,
            persistent_acls: options.persistent_acls,
        }
    }

    /// Whether the filesystem stores security descriptors (`WindowsOptions::persistent_acls`),
    /// so a create's asked-for descriptor matters.
    pub fn stores_security(&self) -> bool {
        self.persistent_acls
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
}
