//! The filesystem trait that Rust users implement, and the dispatcher that serves it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use log::warn;
use tokio::sync::Semaphore;

use crate::errno::{Errno, FsResult};
use crate::listing::Listing;
use crate::operation::{
    OpenFlags, Opened, Operation, RenameMode, Reply, Request, RequestContext, Responder, XattrMode,
};
use crate::runtime;
use crate::stat::{DirEntry, SetTime, Stat, StatFs, WindowsAttributes};

/// Receives every request a backend produces and answers each exactly once, from any thread.
///
/// Backends depend only on this trait. [`FsDispatcher`] implements it for any [`FileSystem`];
/// the Node.js addon implements it by forwarding requests to JavaScript handlers.
pub trait Dispatch: Send + Sync + 'static {
    /// Starts serving one request. It must not block: the caller is a backend thread that
    /// has more requests to read.
    fn dispatch(&self, request: Request);

    /// Copies a write's data out of the backend's receive buffer, which the backend reuses
    /// as soon as this returns, into the [`Bytes`] its [`Operation::Write`] will carry.
    ///
    /// The default copies into a fresh allocation. A dispatcher that keeps reusable buffers
    /// overrides it (the Node.js addon copies into its write pool), so that the one copy a
    /// write needs lands where its handler will read it.
    fn write_data(&self, data: &[u8]) -> Bytes {
        Bytes::copy_from_slice(data)
    }

    /// Reports a fault a backend found in an answer it was given: one it had to refuse
    /// (answering the caller `errno`) although the dispatcher accepted it, such as a new
    /// entry's stat of another kind than the operation made. `operation` is the handler's
    /// name, `message` says what was wrong and what to do.
    ///
    /// The default logs it. The Node.js addon reports it as the mount's `error` event, as it
    /// reports an invalid result it refuses itself.
    fn report_fault(&self, operation: &'static str, path: &str, errno: Errno, message: String) {
        warn!("{operation} {path}: {message} (the caller got {errno:?})");
    }

    /// Serves `request`, an operation that makes the name at its path (mkdir, mknod, symlink,
    /// link, create), and once it has succeeded, a getattr of that path: a backend that must
    /// answer with the new entry's attributes (FUSE) sends it this way. The responder gets
    /// [`Reply::Stat`] with the getattr's answer where the operation answers
    /// [`Reply::Empty`], and the first failure if either fails (the getattr is not asked when
    /// the operation fails). An [`Reply::Opened`] whose `stat` is `None` gets the getattr's
    /// stat, or stays without one if the getattr fails; the caller then asks getattr itself,
    /// so that the failure reaches it.
    ///
    /// The default sends the two as two requests, each with a deadline of its own: under
    /// [`FsDispatcher`] the operation and the getattr each get the full
    /// [`DispatchLimits::timeout`], so the pair may take up to twice that before the caller
    /// is answered. A dispatcher that can serve both at once overrides it: the Node.js addon
    /// runs the handler and then `getattr` in one crossing into JavaScript, under one
    /// deadline (`timeoutMs`) for both.
    fn dispatch_then_stat(self: Arc<Self>, request: Request) {
        let Request {
            context,
            operation,
            responder,
        } = request;
        let path = operation.path().to_owned();
        let this = self.clone();
        let then = Responder::new(move |result| {
            let getattr = Operation::Getattr { path, handle: None };
            match result {
                Ok(Reply::Empty) => this.dispatch(Request {
                    context,
                    operation: getattr,
                    responder,
                }),
                Ok(Reply::Opened(opened)) if opened.stat.is_none() => {
                    let with_stat = Responder::new(move |stat| {
                        let stat = match stat {
                            Ok(Reply::Stat(stat)) => Some(stat),
                            _ => None,
                        };
                        responder.respond(Ok(Reply::Opened(Opened { stat, ..opened })))
                    });
                    this.dispatch(Request {
                        context,
                        operation: getattr,
                        responder: with_stat,
                    })
                }
                other => responder.respond(other),
            }
        });
        self.dispatch(Request {
            context,
            operation,
            responder: then,
        });
    }

    /// Offers the dispatcher a way to read the backend's waiting requests itself: a
    /// dispatcher that serves requests on one thread of its own, and waits on that thread for
    /// the next one, can call [`RequestPump::pump`] while it waits, so a request is read,
    /// dispatched and answered on that thread without waking a backend thread. `None` takes
    /// the pump back (the mount is going away).
    ///
    /// A mount offers one pump when it starts and takes it back (`None`) when it stops, so a
    /// dispatcher keeps at most one: serve each mount with a dispatcher of its own to pump.
    ///
    /// The default ignores it: [`FsDispatcher`] never waits on a thread of its own. The
    /// Node.js addon pumps while its JavaScript thread spins after a batch (FUSE only).
    fn attach_pump(&self, _pump: Option<Arc<dyn RequestPump>>) {}

    /// Whether requests of the operation named `operation` ([`Operation::name`]) reach a
    /// handler. A dispatcher that has none for it, and answers each such request itself the
    /// same way, says `false`; a backend may then ask the kernel to stop sending them (FUSE
    /// sends no more FLUSH once one was answered `ENOSYS`). The default is `true`.
    fn handles(&self, _operation: &str) -> bool {
        true
    }
}

/// Reads one request a backend has waiting and dispatches it, on the caller's thread, without
/// blocking; offered to a [`Dispatch`] by [`Dispatch::attach_pump`].
pub trait RequestPump: Send + Sync + 'static {
    /// Reads at most one waiting request and starts serving it (which calls back into the
    /// dispatcher on this thread). Returns whether there was one. Never blocks: with nothing
    /// waiting, or once the mount is gone, it returns `false` at once.
    fn pump(&self) -> bool;

    /// The dispatcher says it pumps from now on (`active`: it comes back to [`pump`] within
    /// moments, between the requests it serves) or has stopped (it is about to wait for a
    /// wake-up). While it pumps, a backend may keep its own threads from reading requests, so
    /// that a request wakes no thread at all; it must not count on the dispatcher coming back,
    /// and reads again itself when [`pump`] goes uncalled. The default does nothing.
    ///
    /// [`pump`]: RequestPump::pump
    fn pumping(&self, _active: bool) {}
}

macro_rules! unsupported {
    () => {
        async { Err(Errno::ENOSYS) }
    };
}

/// A filesystem written in Rust. Every method has a default that answers `ENOSYS`, so an
/// implementation provides only what it supports. Paths are absolute and `/`-separated.
///
/// Methods are `async`: they run on the shared tokio runtime, many at once, so a slow
/// operation on one path never holds up another.
#[allow(unused_variables)]
pub trait FileSystem: Send + Sync + 'static {
    /// A file's attributes (`stat`). See [`Operation::Getattr`].
    fn getattr(
        &self,
        cx: RequestContext,
        path: &str,
        handle: Option<u64>,
    ) -> impl Future<Output = FsResult<Stat>> + Send {
        unsupported!()
    }
    /// The entries of a directory, without `.` and `..`. Names no directory can hold and
    /// repeated names are left out of the listing and logged (see [`Listing`]).
    fn readdir(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
    ) -> impl Future<Output = FsResult<Vec<DirEntry>>> + Send {
        unsupported!()
    }
    /// Opens a file. See [`Operation::Open`].
    fn open(
        &self,
        cx: RequestContext,
        path: &str,
        flags: OpenFlags,
    ) -> impl Future<Output = FsResult<Opened>> + Send {
        async { Ok(Opened::default()) }
    }
    /// Opens a directory for listing. See [`Operation::Opendir`].
    fn opendir(
        &self,
        cx: RequestContext,
        path: &str,
        flags: OpenFlags,
    ) -> impl Future<Output = FsResult<Opened>> + Send {
        async { Ok(Opened::default()) }
    }
    /// An open file's last reference is gone: its handle will not be used again. See [`Operation::Release`].
    fn release(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
        flags: OpenFlags,
    ) -> impl Future<Output = FsResult<()>> + Send {
        async { Ok(()) }
    }
    /// An open directory is closed: its handle will not be used again. See [`Operation::Releasedir`].
    fn releasedir(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
    ) -> impl Future<Output = FsResult<()>> + Send {
        async { Ok(()) }
    }
    /// Reads bytes from an open file. See [`Operation::Read`].
    fn read(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
        offset: u64,
        size: u32,
    ) -> impl Future<Output = FsResult<Bytes>> + Send {
        unsupported!()
    }
    /// Writes bytes to an open file. See [`Operation::Write`].
    fn write(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
        offset: u64,
        data: Bytes,
    ) -> impl Future<Output = FsResult<u64>> + Send {
        unsupported!()
    }
    /// Creates a file and opens it. See [`Operation::Create`].
    fn create(
        &self,
        cx: RequestContext,
        path: &str,
        mode: u32,
        flags: OpenFlags,
    ) -> impl Future<Output = FsResult<Opened>> + Send {
        unsupported!()
    }
    /// Creates a FIFO, a socket, a device node or an empty file. See [`Operation::Mknod`].
    fn mknod(
        &self,
        cx: RequestContext,
        path: &str,
        mode: u32,
        rdev: u32,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Creates a directory. See [`Operation::Mkdir`].
    fn mkdir(
        &self,
        cx: RequestContext,
        path: &str,
        mode: u32,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Removes a name that is not a directory. See [`Operation::Unlink`].
    fn unlink(&self, cx: RequestContext, path: &str) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Removes an empty directory. See [`Operation::Rmdir`].
    fn rmdir(&self, cx: RequestContext, path: &str) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Creates a symbolic link. See [`Operation::Symlink`].
    fn symlink(
        &self,
        cx: RequestContext,
        target: &str,
        path: &str,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// What a symbolic link points to. See [`Operation::Readlink`].
    fn readlink(
        &self,
        cx: RequestContext,
        path: &str,
    ) -> impl Future<Output = FsResult<String>> + Send {
        unsupported!()
    }
    /// Gives an existing file another name (a hard link). See [`Operation::Link`].
    fn link(
        &self,
        cx: RequestContext,
        existing: &str,
        path: &str,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Moves a name to another. See [`Operation::Rename`].
    fn rename(
        &self,
        cx: RequestContext,
        from: &str,
        to: &str,
        mode: RenameMode,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Sets a file's length. See [`Operation::Truncate`].
    fn truncate(
        &self,
        cx: RequestContext,
        path: &str,
        size: u64,
        handle: Option<u64>,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Changes a file's permission bits. See [`Operation::Chmod`].
    fn chmod(
        &self,
        cx: RequestContext,
        path: &str,
        mode: u32,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Changes a file's owner, group or both. See [`Operation::Chown`].
    fn chown(
        &self,
        cx: RequestContext,
        path: &str,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Sets a file's last access and modification times. See [`Operation::Utimens`].
    fn utimens(
        &self,
        cx: RequestContext,
        path: &str,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Sets a file's Windows attributes, creation time or both; `None` leaves one as it is.
    /// Windows backends only. See [`Operation::SetAttributes`].
    fn set_attributes(
        &self,
        cx: RequestContext,
        path: &str,
        attributes: Option<WindowsAttributes>,
        birthtime: Option<SetTime>,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// The volume's size and free space (`statfs`). See [`Operation::Statfs`].
    fn statfs(
        &self,
        cx: RequestContext,
        path: &str,
    ) -> impl Future<Output = FsResult<StatFs>> + Send {
        async { Ok(StatFs::default()) }
    }
    /// A descriptor of an open file is being closed; may come several times per open. See [`Operation::Flush`].
    fn flush(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
    ) -> impl Future<Output = FsResult<()>> + Send {
        async { Ok(()) }
    }
    /// Puts an open file's data on stable storage. See [`Operation::Fsync`].
    fn fsync(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
        datasync: bool,
    ) -> impl Future<Output = FsResult<()>> + Send {
        async { Ok(()) }
    }
    /// Puts an open directory's changes on stable storage. See [`Operation::Fsyncdir`].
    fn fsyncdir(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
        datasync: bool,
    ) -> impl Future<Output = FsResult<()>> + Send {
        async { Ok(()) }
    }
    /// Whether the caller may access a file (`access`). See [`Operation::Access`].
    fn access(
        &self,
        cx: RequestContext,
        path: &str,
        mask: u32,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// An extended attribute's value. See [`Operation::Getxattr`].
    fn getxattr(
        &self,
        cx: RequestContext,
        path: &str,
        name: &str,
    ) -> impl Future<Output = FsResult<Bytes>> + Send {
        unsupported!()
    }
    /// Sets an extended attribute. See [`Operation::Setxattr`].
    fn setxattr(
        &self,
        cx: RequestContext,
        path: &str,
        name: &str,
        value: Bytes,
        mode: XattrMode,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// The names of a file's extended attributes. See [`Operation::Listxattr`].
    fn listxattr(
        &self,
        cx: RequestContext,
        path: &str,
    ) -> impl Future<Output = FsResult<Vec<String>>> + Send {
        unsupported!()
    }
    /// Removes an extended attribute. See [`Operation::Removexattr`].
    fn removexattr(
        &self,
        cx: RequestContext,
        path: &str,
        name: &str,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Allocates space in an open file, or punches a hole in it. See [`Operation::Fallocate`].
    fn fallocate(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
        offset: u64,
        length: u64,
        mode: i32,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
    /// Finds the next data or hole in an open file (`lseek` with `SEEK_DATA` or `SEEK_HOLE`). See [`Operation::Lseek`].
    fn lseek(
        &self,
        cx: RequestContext,
        path: &str,
        handle: u64,
        offset: i64,
        whence: i32,
    ) -> impl Future<Output = FsResult<u64>> + Send {
        unsupported!()
    }
    /// Copies bytes from one open file to another without passing them through the caller. See [`Operation::CopyFileRange`].
    #[allow(clippy::too_many_arguments)]
    fn copy_file_range(
        &self,
        cx: RequestContext,
        from_path: &str,
        from_handle: u64,
        from_offset: u64,
        to_path: &str,
        to_handle: u64,
        to_offset: u64,
        length: u64,
    ) -> impl Future<Output = FsResult<u64>> + Send {
        unsupported!()
    }
    /// A file's security descriptor in SDDL (Windows only). See [`Operation::GetSecurity`].
    fn get_security(
        &self,
        cx: RequestContext,
        path: &str,
    ) -> impl Future<Output = FsResult<String>> + Send {
        unsupported!()
    }
    /// Stores a file's whole new security descriptor (Windows only). See
    /// [`Operation::SetSecurity`].
    fn set_security(
        &self,
        cx: RequestContext,
        path: &str,
        sddl: &str,
    ) -> impl Future<Output = FsResult<()>> + Send {
        unsupported!()
    }
}

/// Runs one operation against a [`FileSystem`] and wraps the answer as a [`Reply`].
pub async fn perform<F: FileSystem>(fs: &F, cx: RequestContext, op: Operation) -> FsResult<Reply> {
    use Operation as O;
    let empty = |r: FsResult<()>| r.map(|()| Reply::Empty);
    match op {
        O::Getattr { path, handle } => fs.getattr(cx, &path, handle).await.map(Reply::Stat),
        O::Readdir { path, handle } => {
            let entries = fs.readdir(cx, &path, handle).await?;
            let (listing, dropped) = Listing::new(entries);
            for entry in dropped {
                warn!(
                    "readdir of {path} left out {:?}: it {}",
                    entry.name, entry.reason
                );
            }
            Ok(Reply::Entries(listing))
        }
        O::Open { path, flags } => fs.open(cx, &path, flags).await.map(Reply::Opened),
        O::Opendir { path, flags } => fs.opendir(cx, &path, flags).await.map(Reply::Opened),
        O::Release {
            path,
            handle,
            flags,
        } => empty(fs.release(cx, &path, handle, flags).await),
        O::Releasedir { path, handle } => empty(fs.releasedir(cx, &path, handle).await),
        O::Read {
            path,
            handle,
            offset,
            size,
        } => fs
            .read(cx, &path, handle, offset, size)
            .await
            .map(Reply::Data),
        O::Write {
            path,
            handle,
            offset,
            data,
        } => fs
            .write(cx, &path, handle, offset, data)
            .await
            .map(Reply::Count),
        O::Create { path, mode, flags } => {
            fs.create(cx, &path, mode, flags).await.map(Reply::Opened)
        }
        O::Mknod { path, mode, rdev } => empty(fs.mknod(cx, &path, mode, rdev).await),
        O::Mkdir { path, mode } => empty(fs.mkdir(cx, &path, mode).await),
        O::Unlink { path } => empty(fs.unlink(cx, &path).await),
        O::Rmdir { path } => empty(fs.rmdir(cx, &path).await),
        O::Symlink { target, path } => empty(fs.symlink(cx, &target, &path).await),
        O::Readlink { path } => fs.readlink(cx, &path).await.map(Reply::Target),
        O::Link { existing, path } => empty(fs.link(cx, &existing, &path).await),
        O::Rename { from, to, mode } => empty(fs.rename(cx, &from, &to, mode).await),
        O::Truncate { path, size, handle } => empty(fs.truncate(cx, &path, size, handle).await),
        O::Chmod { path, mode } => empty(fs.chmod(cx, &path, mode).await),
        O::Chown { path, uid, gid } => empty(fs.chown(cx, &path, uid, gid).await),
        O::Utimens { path, atime, mtime } => empty(fs.utimens(cx, &path, atime, mtime).await),
        O::SetAttributes {
            path,
            attributes,
            birthtime,
        } => empty(fs.set_attributes(cx, &path, attributes, birthtime).await),
        O::Statfs { path } => fs.statfs(cx, &path).await.map(Reply::StatFs),
        O::Flush { path, handle } => empty(fs.flush(cx, &path, handle).await),
        O::Fsync {
            path,
            handle,
            datasync,
        } => empty(fs.fsync(cx, &path, handle, datasync).await),
        O::Fsyncdir {
            path,
            handle,
            datasync,
        } => empty(fs.fsyncdir(cx, &path, handle, datasync).await),
        O::Access { path, mask } => empty(fs.access(cx, &path, mask).await),
        O::Getxattr { path, name } => fs.getxattr(cx, &path, &name).await.map(Reply::Data),
        O::Setxattr {
            path,
            name,
            value,
            mode,
        } => empty(fs.setxattr(cx, &path, &name, value, mode).await),
        O::Listxattr { path } => fs.listxattr(cx, &path).await.map(Reply::Names),
        O::Removexattr { path, name } => empty(fs.removexattr(cx, &path, &name).await),
        O::Fallocate {
            path,
            handle,
            offset,
            length,
            mode,
        } => empty(fs.fallocate(cx, &path, handle, offset, length, mode).await),
        O::Lseek {
            path,
            handle,
            offset,
            whence,
        } => fs
            .lseek(cx, &path, handle, offset, whence)
            .await
            .map(Reply::Offset),
        O::CopyFileRange {
            from_path,
            from_handle,
            from_offset,
            to_path,
            to_handle,
            to_offset,
            length,
        } => fs
            .copy_file_range(
                cx,
                &from_path,
                from_handle,
                from_offset,
                &to_path,
                to_handle,
                to_offset,
                length,
            )
            .await
            .map(Reply::Count),
        O::GetSecurity { path } => fs.get_security(cx, &path).await.map(Reply::Target),
        O::SetSecurity { path, sddl } => empty(fs.set_security(cx, &path, &sddl).await),
    }
}

/// Limits that every dispatcher applies to the requests it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DispatchLimits {
    /// A request still unanswered after this long is answered with `timeout_errno`.
    pub timeout: Duration,
    /// The code a timed-out request gets: `ETIMEDOUT` by default, `EIO` for callers that
    /// do not expect `ETIMEDOUT` from a file operation.
    pub timeout_errno: Errno,
    /// How many requests may run at once; the rest wait their turn in arrival order.
    pub max_concurrency: usize,
}

impl Default for DispatchLimits {
    fn default() -> Self {
        DispatchLimits {
            timeout: Duration::from_secs(30),
            timeout_errno: Errno::ETIMEDOUT,
            max_concurrency: 1024,
        }
    }
}

/// Serves a [`FileSystem`] on the shared runtime: each request becomes a task, bounded by
/// [`DispatchLimits`]. A task that panics is answered `EIO`, and the mount keeps serving.
pub struct FsDispatcher<F> {
    fs: Arc<F>,
    limits: DispatchLimits,
    slots: Arc<Semaphore>,
}

impl<F: FileSystem> FsDispatcher<F> {
    /// A dispatcher serving `fs` within `limits`.
    pub fn new(fs: F, limits: DispatchLimits) -> FsDispatcher<F> {
        FsDispatcher {
            fs: Arc::new(fs),
            limits,
            slots: Arc::new(Semaphore::new(limits.max_concurrency.max(1))),
        }
    }
}

impl<F: FileSystem> Dispatch for FsDispatcher<F> {
    fn dispatch(&self, request: Request) {
        let fs = self.fs.clone();
        let slots = self.slots.clone();
        let limits = self.limits;
        runtime::shared().spawn(async move {
            let Request {
                context,
                operation,
                responder,
            } = request;
            let answer = tokio::time::timeout(limits.timeout, async {
                let _slot = slots.acquire().await.map_err(|_| Errno::EIO)?;
                perform(&*fs, context, operation).await
            })
            .await
            .unwrap_or(Err(limits.timeout_errno));
            responder.respond(answer);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stat::FileKind;
    use parking_lot::Mutex;
    use std::sync::mpsc;

    /// Answers at once, recording each operation's name: mkdir succeeds unless its path is
    /// `/taken`, create opens handle 7 without a stat, getattr fails for `/gone`.
    #[derive(Default)]
    struct Recording(Mutex<Vec<&'static str>>);
    impl Dispatch for Recording {
        fn dispatch(&self, request: Request) {
            self.0.lock().push(request.operation.name());
            let answer = match &request.operation {
                Operation::Mkdir { path, .. } if path == "/taken" => Err(Errno::EEXIST),
                Operation::Mkdir { .. } => Ok(Reply::Empty),
                Operation::Create { .. } => Ok(Reply::Opened(Opened {
                    handle: 7,
                    ..Opened::default()
                })),
                Operation::Getattr { path, .. } if path == "/gone" => Err(Errno::ENOENT),
                Operation::Getattr { .. } => Ok(Reply::Stat(Stat::new(FileKind::Directory))),
                _ => Err(Errno::ENOSYS),
            };
            request.responder.respond(answer);
        }
    }

    fn then_stat(operation: Operation) -> (FsResult<Reply>, Vec<&'static str>) {
        let recording = Arc::new(Recording::default());
        let (tx, rx) = mpsc::channel();
        recording.clone().dispatch_then_stat(Request {
            context: RequestContext::default(),
            operation,
            responder: Responder::new(move |r| {
                let _ = tx.send(r);
            }),
        });
        let answer = rx.recv().unwrap();
        let names = recording.0.lock().clone();
        (answer, names)
    }

    #[test]
    fn dispatch_then_stat_by_default_follows_a_success_with_a_getattr() {
        let mkdir = |path: &str| Operation::Mkdir {
            path: path.into(),
            mode: 0o755,
        };
        assert_eq!(
            then_stat(mkdir("/d")),
            (
                Ok(Reply::Stat(Stat::new(FileKind::Directory))),
                vec!["mkdir", "getattr"]
            )
        );
        assert_eq!(
            then_stat(mkdir("/taken")),
            (Err(Errno::EEXIST), vec!["mkdir"]),
            "no getattr after a failure"
        );
        assert_eq!(
            then_stat(mkdir("/gone")),
            (Err(Errno::ENOENT), vec!["mkdir", "getattr"])
        );
        let create = |path: &str| Operation::Create {
            path: path.into(),
            mode: 0o644,
            flags: OpenFlags(0),
        };
        let (answer, names) = then_stat(create("/f"));
        assert_eq!(names, ["create", "getattr"]);
        let Ok(Reply::Opened(opened)) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(
            (opened.handle, opened.stat),
            (7, Some(Stat::new(FileKind::Directory)))
        );
        let (answer, _) = then_stat(create("/gone"));
        let Ok(Reply::Opened(opened)) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(
            (opened.handle, opened.stat),
            (7, None),
            "the open file still, without the stat the getattr could not give"
        );
    }

    struct Slow;
    impl FileSystem for Slow {
        async fn getattr(&self, _: RequestContext, path: &str, _: Option<u64>) -> FsResult<Stat> {
            match path {
                "/slow" => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(Stat::new(FileKind::File))
                }
                "/panic" => panic!("handler bug"),
                _ => Ok(Stat::new(FileKind::Directory)),
            }
        }

        async fn readdir(&self, _: RequestContext, _: &str, _: u64) -> FsResult<Vec<DirEntry>> {
            let entry = |name: &str| DirEntry {
                name: name.to_owned(),
                kind: FileKind::File,
                stat: None,
            };
            Ok(vec![entry("b"), entry("a/b"), entry("b"), entry("c")])
        }
    }

    fn ask(d: &impl Dispatch, operation: Operation) -> mpsc::Receiver<FsResult<Reply>> {
        let (tx, rx) = mpsc::channel();
        d.dispatch(Request {
            context: RequestContext::default(),
            operation,
            responder: Responder::new(move |r| {
                let _ = tx.send(r);
            }),
        });
        rx
    }

    fn getattr(path: &str) -> Operation {
        Operation::Getattr {
            path: path.into(),
            handle: None,
        }
    }

    #[test]
    fn answers_with_the_handlers_result() {
        let d = FsDispatcher::new(Slow, DispatchLimits::default());
        let reply = ask(&d, getattr("/")).recv().unwrap().unwrap();
        assert_eq!(reply.kind(), crate::operation::ReplyKind::Stat);
    }

    #[test]
    fn a_listing_is_checked_when_its_reply_is_built() {
        let d = FsDispatcher::new(Slow, DispatchLimits::default());
        let readdir = Operation::Readdir {
            path: "/".into(),
            handle: 0,
        };
        let Ok(Reply::Entries(listing)) = ask(&d, readdir).recv().unwrap() else {
            panic!("readdir did not answer with entries");
        };
        let names: Vec<&str> = listing.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
    }

    #[test]
    fn a_missing_method_answers_enosys() {
        let d = FsDispatcher::new(Slow, DispatchLimits::default());
        let reply = ask(&d, Operation::Unlink { path: "/x".into() })
            .recv()
            .unwrap();
        assert_eq!(reply, Err(Errno::ENOSYS));
    }

    #[test]
    fn a_slow_request_times_out_while_others_are_served() {
        let limits = DispatchLimits {
            timeout: Duration::from_millis(200),
            ..Default::default()
        };
        let d = FsDispatcher::new(Slow, limits);
        let slow = ask(&d, getattr("/slow"));
        let fast = ask(&d, getattr("/"));
        assert!(fast.recv_timeout(Duration::from_secs(5)).unwrap().is_ok());
        assert_eq!(
            slow.recv_timeout(Duration::from_secs(5)).unwrap(),
            Err(Errno::ETIMEDOUT)
        );
    }

    #[test]
    fn the_timeout_code_is_configurable() {
        let limits = DispatchLimits {
            timeout: Duration::from_millis(50),
            timeout_errno: Errno::EIO,
            ..Default::default()
        };
        let d = FsDispatcher::new(Slow, limits);
        assert_eq!(ask(&d, getattr("/slow")).recv().unwrap(), Err(Errno::EIO));
    }

    #[test]
    fn a_panicking_handler_answers_eio() {
        let d = FsDispatcher::new(Slow, DispatchLimits::default());
        assert_eq!(ask(&d, getattr("/panic")).recv().unwrap(), Err(Errno::EIO));
        assert!(
            ask(&d, getattr("/")).recv().unwrap().is_ok(),
            "dispatcher stopped serving"
        );
    }

    #[test]
    fn concurrency_is_bounded() {
        let limits = DispatchLimits {
            timeout: Duration::from_millis(300),
            max_concurrency: 1,
            ..Default::default()
        };
        let d = FsDispatcher::new(Slow, limits);
        let started = std::time::Instant::now();
        let slow = ask(&d, getattr("/slow"));
        std::thread::sleep(Duration::from_millis(50));
        // The only slot is held by the slow request, so this one runs only once the slow
        // one has timed out and given its slot back.
        let queued = ask(&d, getattr("/"));
        assert_eq!(slow.recv().unwrap(), Err(Errno::ETIMEDOUT));
        assert!(queued.recv().unwrap().is_ok());
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
