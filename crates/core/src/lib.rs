//! # mountkit-core
//!
//! The backend-neutral heart of mountkit. A backend (FUSE on Linux, WinFsp or Dokan on
//! Windows) turns each kernel request into a [`Request`]: who asks ([`RequestContext`]), what
//! they ask ([`Operation`], always with `/`-separated UTF-8 paths), and where the answer goes
//! ([`Responder`]). Anything that implements [`Dispatch`] can serve those requests.
//!
//! Rust users implement [`FileSystem`] — one `async` method per operation, each defaulting to
//! `ENOSYS` — and wrap it in an [`FsDispatcher`], which runs requests concurrently on one
//! shared tokio runtime with a per-request timeout. The Node.js addon is another
//! [`Dispatch`] implementation that forwards requests to JavaScript.
//!
//! Errors are POSIX codes ([`Errno`], Linux numbering) on every platform; the Windows backends
//! translate them to NTSTATUS values.

pub mod backing;
pub mod change;
pub mod errno;
pub mod filesystem;
pub mod handles;
pub mod listing;
pub mod operation;
pub mod runtime;
pub mod stat;
pub mod windows;

pub use bytes::Bytes;
pub use change::{Change, InvalidChange};
pub use errno::{Errno, FsResult};
pub use filesystem::{perform, Dispatch, DispatchLimits, FileSystem, FsDispatcher, RequestPump};
pub use handles::HandleTable;
pub use listing::Listing;
pub use operation::{
    expect_empty, Backing, OpenFlags, Opened, Operation, RenameMode, Reply, ReplyKind, Request,
    RequestContext, Responder, XattrMode, OPERATION_NAMES,
};
pub use stat::{DirEntry, FileKind, SetTime, Stat, StatFs, WindowsAttributes};
