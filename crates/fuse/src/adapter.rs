//! Turns the kernel's inode-addressed requests into the core's path-addressed requests, and
//! the core's replies back into FUSE replies. Nothing here decides policy: every answer comes from
//! the [`Dispatch`] behind the mount.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fuser::{InitFlags, KernelConfig};
use log::warn;
use mountkit_core::{
    expect_empty, expect_reply, Bytes, Dispatch, Errno, FileKind, FsResult, HandleTable, Listing,
    OpenFlags, Opened, Operation, RenameMode, Reply, Request as CoreRequest, RequestContext,
    Responder, Stat, XattrMode,
};
use parking_lot::Mutex;

use crate::convert::{self, fopen_flags};
use crate::files::{with_read_at, DataPathStatus, OpenFile, PassthroughRegistry};
use crate::inode::{InodeTable, ROOT};
use crate::listings::RecentListings;
use crate::mount::ReaddirPlus;
use crate::protocol::abi::{FOPEN_CACHE_DIR, FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE};
use crate::protocol::{
    BackingId, Channel, Device, Operation as KernelOperation, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyLseek, ReplyOpen, ReplyStatfs,
    ReplyTo, ReplyWrite, ReplyXattr, Request, SetattrIn,
};

/// What the kernel may cache, and for how long.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CachePolicy {
    pub attr: Duration,
    pub entry: Duration,
    /// How long a failed lookup (`ENOENT`) may be remembered; zero remembers nothing.
    pub negative: Duration,
    /// Let the kernel keep directory listings between opens.
    pub readdir: bool,
    /// Let the kernel buffer writes and send them in large batches (`writeback_cache`).
    pub writeback: bool,
    /// Whether to offer the kernel READDIRPLUS, and how.
    pub readdir_plus: ReaddirPlus,
    /// Answer a LOOKUP of a name with the stat the directory's latest listing gave it, while
    /// that listing is current (see [`Shared::listed_entry`]). Only with both `attr` and
    /// `entry` above zero.
    pub lookup_from_listing: bool,
}

/// One name of a listing as the kernel sees it.
pub(crate) struct ListedEntry {
    pub(crate) name: String,
    pub(crate) kind: FileKind,
    /// `d_ino` for a plain READDIR: the name's inode if the kernel knows it, else a
    /// placeholder that is never a real node.
    pub(crate) d_ino: u64,
    /// The attributes the handler listed with the name; READDIRPLUS hands them to the kernel.
    pub(crate) stat: Option<Stat>,
}

/// What READDIRPLUS has done on a mount, for [`Holdings`].
#[derive(Default)]
struct ReaddirPlusStatus {
    negotiated: AtomicBool,
    entries_with_attributes: AtomicU64,
}

/// One open directory: the handle the filesystem chose, and the listing read at offset 0 so
/// that later offsets of the same `readdir` sequence see one consistent snapshot.
#[derive(Clone)]
struct OpenDir {
    handle: u64,
    listing: Option<Snapshot>,
}

/// A listing as read from the filesystem, with the mount's [`ChangeCount`] from just before
/// it was asked for: the stats it holds are current only while the count has not moved.
#[derive(Clone)]
struct Snapshot {
    entries: Arc<Vec<ListedEntry>>,
    changes_before: u64,
}

/// One page's worth of a listing to answer from.
struct Page {
    entries: Arc<Vec<ListedEntry>>,
    /// Whether the stats listed may go to the kernel. A READDIRPLUS entry's attributes
    /// overwrite what the kernel holds unless the kernel saw the file change after it sent
    /// that READDIRPLUS; a change made through the mount after the snapshot was read but
    /// before a later page was asked for would be rolled back (a file's size shrinking back,
    /// an unlinked name linked again).
    attributes_current: bool,
}

/// Changes made through the mount (by requests the adapter forwarded) or announced by the
/// filesystem (invalidations), counted so that a later page of a listing can tell whether
/// its snapshot's stats may be older than what the kernel has.
///
/// One count for the whole mount, on purpose: a write changes a file's size, not its
/// directory, so a count per directory would miss the very changes that matter.
#[derive(Default)]
pub(crate) struct ChangeCount(AtomicU64);

impl ChangeCount {
    /// Records one change; called before the kernel hears of it.
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Whether `operation` may change what a stat shows (a file's size, times or links, or a
/// directory's names).
fn changes_stats(operation: &Operation) -> bool {
    matches!(
        operation,
        Operation::Write { .. }
            | Operation::Truncate { .. }
            | Operation::Chmod { .. }
            | Operation::Chown { .. }
            | Operation::Utimens { .. }
            | Operation::Create { .. }
            | Operation::Mknod { .. }
            | Operation::Mkdir { .. }
            | Operation::Unlink { .. }
            | Operation::Rmdir { .. }
            | Operation::Symlink { .. }
            | Operation::Link { .. }
            | Operation::Rename { .. }
            | Operation::Fallocate { .. }
            // Commits the file's writes, whichever handle they came through.
            | Operation::Fsync { .. }
            | Operation::CopyFileRange { .. }
            | Operation::Setxattr { .. }
            | Operation::Removexattr { .. }
    )
}

struct Shared {
    dispatch: Arc<dyn Dispatch>,
    inodes: Arc<Mutex<InodeTable>>,
    dirs: HandleTable<OpenDir>,
    files: HandleTable<OpenFile>,
    passthrough: PassthroughRegistry,
    status: Arc<DataPathStatus>,
    want_passthrough: bool,
    cache: CachePolicy,
    readdir_plus: ReaddirPlusStatus,
    changes: Arc<ChangeCount>,
    /// The kernel agreed at INIT to deliver requests through io_uring.
    ring_negotiated: AtomicBool,
    /// Each directory's latest listing, while LOOKUPs may be answered from it.
    listings: Mutex<RecentListings>,
    /// LOOKUPs answered from a listing, without asking the filesystem.
    lookups_from_listings: AtomicU64,
}

/// Serves the requests of one mountkit mount ([`Adapter::serve`]).
pub(crate) struct Adapter {
    shared: Arc<Shared>,
}

fn context(req: &Request<'_>) -> RequestContext {
    RequestContext {
        uid: req.uid,
        gid: req.gid,
        pid: req.pid,
    }
}

impl Shared {
    fn send(
        &self,
        cx: RequestContext,
        operation: Operation,
        done: impl FnOnce(FsResult<Reply>) + Send + 'static,
    ) {
        let done = self.counting(changes_stats(&operation), done);
        self.send_with(cx, operation, Responder::new(done));
    }

    /// Like [`Shared::send`], for the flush or release of `file`, the two requests of a
    /// close: the close of a handle opened for writing counts as a change, since a filesystem
    /// may commit what was written through it (and so change the file's size or times) only
    /// then. (An fsync counts whatever the handle: see [`changes_stats`].)
    fn send_closing(
        &self,
        cx: RequestContext,
        file: &OpenFile,
        operation: Operation,
        done: impl FnOnce(FsResult<Reply>) + Send + 'static,
    ) {
        let done = self.counting(file.writable, done);
        self.send_with(cx, operation, Responder::new(done));
    }

    /// `done`, counting a change first if the operation may make one, so the count has moved
    /// before the kernel hears the answer. A failed change counts too: it may have changed
    /// something before it failed.
    fn counting(
        &self,
        may_change: bool,
        done: impl FnOnce(FsResult<Reply>) + Send + 'static,
    ) -> impl FnOnce(FsResult<Reply>) + Send + 'static {
        let changes = may_change.then(|| self.changes.clone());
        move |result| {
            if let Some(changes) = changes {
                changes.bump();
            }
            done(result)
        }
    }

    /// Like [`Shared::send`], for an operation answered with bytes that `done` only borrows
    /// (see [`Responder::for_data`]).
    fn send_for_data(
        &self,
        cx: RequestContext,
        operation: Operation,
        done: impl FnOnce(FsResult<&[u8]>) + Send + 'static,
    ) {
        self.send_with(cx, operation, Responder::for_data(done));
    }

    /// Like [`Shared::send`], for an operation that makes the name at its path: `done` gets
    /// the new entry's stat with the answer (see [`Dispatch::dispatch_then_stat`]).
    fn send_then_stat(
        &self,
        cx: RequestContext,
        operation: Operation,
        done: impl FnOnce(FsResult<Reply>) + Send + 'static,
    ) {
        let done = self.counting(changes_stats(&operation), done);
        self.dispatch.clone().dispatch_then_stat(CoreRequest {
            context: cx,
            operation,
            responder: Responder::new(done),
        });
    }

    fn send_with(&self, cx: RequestContext, operation: Operation, responder: Responder) {
        self.dispatch.dispatch(CoreRequest {
            context: cx,
            operation,
            responder,
        });
    }

    /// Runs `operations` one after another, stopping at the first failure, then `done`.
    fn chain(
        self: &Arc<Self>,
        cx: RequestContext,
        mut operations: Vec<Operation>,
        done: impl FnOnce(FsResult<()>) + Send + 'static,
    ) {
        if operations.is_empty() {
            return done(Ok(()));
        }
        let first = operations.remove(0);
        let this = self.clone();
        self.send(cx, first, move |result| match expect_empty(result) {
            Ok(()) => this.chain(cx, operations, done),
            Err(e) => done(Err(e)),
        });
    }

    /// The filesystem's handle behind the kernel's handle `fh`.
    fn open_file(&self, fh: u64) -> FsResult<OpenFile> {
        self.files.get(fh).ok_or(Errno::EBADF)
    }

    /// The handler's handle for open file `fh`, and the path of `ino`: what a request on an
    /// open file that Rust does not serve itself names.
    fn handle_and_path(&self, fh: u64, ino: u64) -> FsResult<(u64, String)> {
        Ok((self.open_file(fh)?.handle, self.path(ino)?))
    }

    /// The handle to name `ino` by in a request that came without one: one of its open
    /// handles if it was unlinked while open.
    fn handle_for(&self, ino: u64, fh: Option<u64>) -> Option<u64> {
        let fh = fh.or_else(|| self.inodes.lock().handle_of_unlinked(ino))?;
        self.files.get(fh).map(|f| f.handle)
    }

    /// Records an open file under a new kernel handle and picks how its bytes are served.
    /// `register` hands a backing file to the kernel for passthrough.
    fn register_open(
        &self,
        ino: u64,
        open_flags: OpenFlags,
        opened: &Opened,
        register: impl FnOnce(&File) -> io::Result<BackingId>,
    ) -> (u64, u32, Option<Arc<BackingId>>) {
        let mut flags = fopen_flags(opened);
        let mut passthrough = None;
        if let Some(backing) = &opened.backing {
            // The backing file is the data; caching hints about handler reads do not apply.
            flags &= !FOPEN_DIRECT_IO;
            if self.status.negotiated.load(Ordering::Relaxed) {
                match self.passthrough.acquire(ino, || register(&backing.0)) {
                    Ok(id) => passthrough = Some(id),
                    Err(e) => warn!(
                        "kernel passthrough refused for inode {ino} ({e}); serving it with positioned I/O"
                    ),
                }
            }
            let counter = if passthrough.is_some() {
                &self.status.passthrough_opens
            } else {
                &self.status.rust_io_opens
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let fh = self.files.insert(OpenFile {
            ino,
            handle: opened.handle,
            backing: opened.backing.as_ref().map(|b| b.0.clone()),
            passthrough: passthrough.is_some(),
            writable: open_flags.writable(),
        });
        self.inodes.lock().opened(ino, fh);
        (fh, flags, passthrough)
    }

    fn path(&self, ino: u64) -> FsResult<String> {
        self.inodes.lock().path(ino)
    }

    fn child_path(&self, parent: u64, name: &OsStr) -> FsResult<String> {
        let name = convert::name(name)?;
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        self.inodes.lock().child_path(parent, name)
    }

    /// Checks that the stat answered for the entry `operation` made at `path` is of the
    /// `made` kind. The kernel refuses a new entry of another kind (`EIO`) and then never
    /// forgets its node, so such a stat must not reach the inode table; the fault is reported
    /// as an invalid result is.
    fn check_made_kind(
        &self,
        operation: &'static str,
        path: &str,
        made: FileKind,
        stat: &Stat,
    ) -> FsResult<()> {
        if stat.kind == made {
            return Ok(());
        }
        let message = format!(
            "{operation} made a {} but the new entry's stat (returned by {operation}, or by the \
             getattr after it) has kind '{}'; the kernel refuses it, so the caller got EIO. \
             Return the stat of the entry that was made",
            kind_name(made),
            kind_name(stat.kind)
        );
        self.dispatch
            .report_fault(operation, path, Errno::EIO, message);
        Err(Errno::EIO)
    }

    /// Registers `parent/name`, answered to the kernel with `stat`, in the inode table as the
    /// kernel will count it. With `made`, the entry was just made by that operation, as that
    /// kind, and a stat of another kind registers nothing (see [`Shared::check_made_kind`]).
    fn register_entry(
        &self,
        parent: u64,
        name: &str,
        path: &str,
        made: Option<(&'static str, FileKind)>,
        stat: &Stat,
    ) -> FsResult<u64> {
        if let Some((operation, kind)) = made {
            self.check_made_kind(operation, path, kind, stat)?;
        }
        Ok(self.inodes.lock().lookup(parent, name, stat.kind, stat.ino))
    }

    /// Asks for the attributes of `parent/name` and registers the entry with the kernel
    /// ([`Shared::register_entry`], `made` as there).
    fn lookup_then(
        self: &Arc<Self>,
        cx: RequestContext,
        parent: u64,
        name: String,
        path: String,
        made: Option<(&'static str, FileKind)>,
        done: impl FnOnce(FsResult<(u64, Stat)>) + Send + 'static,
    ) {
        let this = self.clone();
        let getattr = Operation::Getattr {
            path: path.clone(),
            handle: None,
        };
        self.send(cx, getattr, move |result| {
            done(expect_reply!(result, Stat).and_then(|stat| {
                let ino = this.register_entry(parent, &name, &path, made, &stat)?;
                Ok((ino, stat))
            }))
        });
    }

    /// Runs an operation that creates `parent/name`, an entry of kind `made`, and answers
    /// with the new entry, whose stat comes with the operation's answer.
    fn create_entry(
        self: &Arc<Self>,
        cx: RequestContext,
        parent: u64,
        name: &OsStr,
        made: FileKind,
        make: impl FnOnce(String) -> Operation,
        reply: ReplyEntry,
    ) {
        let path = match self.child_path(parent, name) {
            Ok(path) => path,
            Err(e) => return reply.error(e),
        };
        let name = name.to_string_lossy().into_owned();
        let this = self.clone();
        let cache = self.cache;
        let operation = make(path.clone());
        let operation_name = operation.name();
        self.send_then_stat(cx, operation, move |result| {
            let made = Some((operation_name, made));
            let entry = expect_reply!(result, Stat).and_then(|stat| {
                let ino = this.register_entry(parent, &name, &path, made, &stat)?;
                Ok((ino, stat))
            });
            match entry {
                Ok((ino, stat)) => reply.entry(ino, &stat, cache.entry, cache.attr),
                Err(e) => reply.error(e),
            }
        });
    }

    fn getattr_reply(self: &Arc<Self>, cx: RequestContext, ino: u64, reply: ReplyAttr) {
        let path = match self.path(ino) {
            Ok(path) => path,
            Err(e) => return reply.error(e),
        };
        let ttl = self.cache.attr;
        let handle = self.handle_for(ino, None);
        self.send(
            cx,
            Operation::Getattr { path, handle },
            move |result| match expect_reply!(result, Stat) {
                Ok(stat) => reply.attr(ttl, ino, &stat),
                Err(e) => reply.error(e),
            },
        );
    }
}

/// Answers a `ReplyEmpty`-shaped request.
fn empty(reply: ReplyEmpty) -> impl FnOnce(FsResult<Reply>) + Send + 'static {
    move |result| match expect_empty(result) {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}

/// Answers an xattr request with the size-probe protocol: size 0 asks for the length only,
/// a buffer that is too small gets `ERANGE`.
fn xattr_reply(reply: ReplyXattr, size: u32, bytes: &[u8]) {
    if size == 0 {
        reply.size(bytes.len() as u32);
    } else if bytes.len() > size as usize {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(bytes);
    }
}

macro_rules! path_or_reply {
    ($lookup:expr, $reply:expr) => {
        match $lookup {
            Ok(path) => path,
            Err(e) => return $reply.error(e),
        }
    };
}

impl Adapter {
    /// `want_passthrough`: try kernel passthrough for backed files (else they are served
    /// with positioned I/O). `status` reports which path backed files really take.
    pub(crate) fn new(
        dispatch: Arc<dyn Dispatch>,
        cache: CachePolicy,
        want_passthrough: bool,
        status: Arc<DataPathStatus>,
    ) -> Adapter {
        Adapter {
            shared: Arc::new(Shared {
                dispatch,
                inodes: Arc::new(Mutex::new(InodeTable::new())),
                dirs: HandleTable::new(),
                files: HandleTable::new(),
                passthrough: PassthroughRegistry::default(),
                status,
                want_passthrough,
                cache,
                readdir_plus: ReaddirPlusStatus::default(),
                changes: Arc::default(),
                ring_negotiated: AtomicBool::new(false),
                listings: Mutex::new(RecentListings::new(cache.attr.min(cache.entry))),
                lookups_from_listings: AtomicU64::new(0),
            }),
        }
    }
}

impl Adapter {
    /// The inode table, shared with the mount for cache invalidation.
    pub(crate) fn inodes(&self) -> Arc<Mutex<InodeTable>> {
        self.shared.inodes.clone()
    }

    /// The mount's change count, shared with the mount so invalidations count as changes.
    pub(crate) fn changes(&self) -> Arc<ChangeCount> {
        self.shared.changes.clone()
    }

    /// What the adapter holds, for the mount's statistics.
    pub(crate) fn holdings(&self) -> Holdings {
        Holdings(self.shared.clone())
    }

    /// The INIT handshake for fuser to answer while it mounts; with `offer_ring`, it takes
    /// FUSE over io_uring when the kernel offers it ([`Adapter::ring_negotiated`]).
    pub(crate) fn handshake(&self, offer_ring: bool) -> Handshake {
        Handshake {
            shared: self.shared.clone(),
            offer_ring,
        }
    }

    /// Whether serving `request` does I/O on a backing file in this process (a read, write or
    /// sync of a file opened with one, which passthrough does not take), and so may wait on a
    /// disk.
    pub(crate) fn does_blocking_io(&self, request: &Request<'_>) -> bool {
        let fh = match request.operation {
            KernelOperation::Read { fh, .. }
            | KernelOperation::Write { fh, .. }
            | KernelOperation::Fsync { fh, .. } => fh,
            _ => return false,
        };
        self.shared
            .files
            .get(fh)
            .is_some_and(|file| file.backing.is_some())
    }

    /// Whether the kernel agreed at INIT to deliver requests through io_uring; from then on
    /// it holds every request until the ring's entries are registered.
    pub(crate) fn ring_negotiated(&self) -> bool {
        self.shared.ring_negotiated.load(Ordering::Relaxed)
    }

    /// Starts serving one request the kernel sent through `channel`; every answer goes back
    /// through it, the only way the kernel accepts it. `device` is a descriptor of the
    /// connection, for the ioctls an answer needs (passthrough backing files). Returns `false`
    /// for DESTROY, after which the kernel sends nothing more.
    pub(crate) fn serve(
        &self,
        request: &Request<'_>,
        channel: &Channel,
        device: &Arc<Device>,
    ) -> bool {
        let to = || ReplyTo::new(channel.clone(), request.unique);
        let req = request;
        let ino = request.nodeid;
        match request.operation {
            KernelOperation::Lookup { name } => self.lookup(req, ino, name, to().into()),
            KernelOperation::Forget { nlookup } => self.forget(ino, nlookup),
            KernelOperation::BatchForget(ref forgets) => {
                let s = &self.shared;
                let mut gone = Vec::new();
                let mut table = s.inodes.lock();
                for one in forgets.clone() {
                    if s.forget_in(&mut table, one.nodeid, one.nlookup) {
                        gone.push(one.nodeid);
                    }
                }
                drop(table);
                s.drop_listings(&gone);
            }
            KernelOperation::Getattr { fh } => self.getattr(req, ino, fh, to().into()),
            KernelOperation::Setattr(ref changes) => self.setattr(req, ino, changes, to().into()),
            KernelOperation::Readlink => self.readlink(req, ino, to().into()),
            KernelOperation::Symlink { name, target } => {
                self.symlink(req, ino, name, target, to().into())
            }
            KernelOperation::Mknod { name, mode, rdev } => {
                self.mknod(req, ino, name, mode, rdev, to().into())
            }
            KernelOperation::Mkdir { name, mode } => self.mkdir(req, ino, name, mode, to().into()),
            KernelOperation::Unlink { name } => self.unlink(req, ino, name, to().into()),
            KernelOperation::Rmdir { name } => self.rmdir(req, ino, name, to().into()),
            KernelOperation::Rename {
                newdir,
                name,
                newname,
                flags,
            } => self.rename(req, ino, name, newdir, newname, flags, to().into()),
            KernelOperation::Link { oldnodeid, newname } => {
                self.link(req, oldnodeid, ino, newname, to().into())
            }
            KernelOperation::Open { flags } => self.open(req, device, ino, flags, to().into()),
            KernelOperation::Read { fh, offset, size } => {
                self.read(req, ino, fh, offset, size, to().into())
            }
            KernelOperation::Write { fh, offset, data } => {
                self.write(req, ino, fh, offset, data, to().into())
            }
            KernelOperation::Statfs => self.statfs(req, ino, to().into()),
            KernelOperation::Release { fh, flags } => {
                self.release(req, ino, fh, flags, to().into())
            }
            KernelOperation::Fsync { fh, datasync } => {
                self.fsync(req, ino, fh, datasync, to().into())
            }
            KernelOperation::Setxattr { name, value, flags } => {
                self.setxattr(req, ino, name, value, flags, to().into())
            }
            KernelOperation::Getxattr { name, size } => {
                self.getxattr(req, ino, name, size, to().into())
            }
            KernelOperation::Listxattr { size } => self.listxattr(req, ino, size, to().into()),
            KernelOperation::Removexattr { name } => self.removexattr(req, ino, name, to().into()),
            KernelOperation::Flush { fh } => self.flush(req, ino, fh, to().into()),
            KernelOperation::Opendir { flags } => self.opendir(req, ino, flags, to().into()),
            KernelOperation::Readdir { fh, offset, size } => {
                self.readdir(req, ino, fh, offset, ReplyDirectory::new(to(), size))
            }
            KernelOperation::Readdirplus { fh, offset, size } => {
                self.readdirplus(req, ino, fh, offset, ReplyDirectoryPlus::new(to(), size))
            }
            KernelOperation::Releasedir { fh } => self.releasedir(req, ino, fh, to().into()),
            KernelOperation::Fsyncdir { fh, datasync } => {
                self.fsyncdir(req, ino, fh, datasync, to().into())
            }
            KernelOperation::Access { mask } => self.access(req, ino, mask, to().into()),
            KernelOperation::Create { name, flags, mode } => {
                self.create(req, device, ino, name, mode, flags, to().into())
            }
            KernelOperation::Fallocate {
                fh,
                offset,
                length,
                mode,
            } => self.fallocate(req, ino, fh, offset, length, mode, to().into()),
            KernelOperation::Lseek { fh, offset, whence } => {
                self.lseek(req, ino, fh, offset, whence, to().into())
            }
            KernelOperation::CopyFileRange {
                fh_in,
                offset_in,
                nodeid_out,
                fh_out,
                offset_out,
                len,
            } => self.copy_file_range(
                req,
                ino,
                fh_in,
                offset_in,
                nodeid_out,
                fh_out,
                offset_out,
                len,
                to().into(),
            ),
            // Not answered: a handler cannot be stopped midway, so the interrupted request is
            // answered when it finishes. (An ENOSYS answer would have to reach the descriptor
            // that delivered the interrupted request, which may not be this one.)
            KernelOperation::Interrupt { unique } => {
                log::debug!("interrupt of request {unique}: handlers cannot be interrupted");
            }
            // fuser answered the one INIT of the connection while mounting.
            KernelOperation::Init => ReplyEmpty::from(to()).error(Errno::EIO),
            KernelOperation::Destroy => {
                ReplyEmpty::from(to()).ok();
                return false;
            }
            KernelOperation::Unsupported { opcode } => {
                log::debug!("FUSE opcode {opcode} is not served: answered ENOSYS");
                ReplyEmpty::from(to()).error(Errno::ENOSYS)
            }
        }
        true
    }
}

/// Reads how much state an [`Adapter`] holds for the kernel.
#[derive(Clone)]
pub(crate) struct Holdings(Arc<Shared>);

impl Holdings {
    /// Inodes the kernel still refers to, the root included.
    pub(crate) fn known_inodes(&self) -> usize {
        self.0.inodes.lock().len()
    }

    /// Files and directories the kernel holds open.
    pub(crate) fn open_handles(&self) -> usize {
        self.0.files.len() + self.0.dirs.len()
    }

    /// Whether the kernel agreed to READDIRPLUS when the mount started.
    pub(crate) fn readdir_plus_negotiated(&self) -> bool {
        self.0.readdir_plus.negotiated.load(Ordering::Relaxed)
    }

    /// Listed names handed to the kernel with their attributes (by READDIRPLUS).
    pub(crate) fn entries_with_attributes(&self) -> u64 {
        self.0
            .readdir_plus
            .entries_with_attributes
            .load(Ordering::Relaxed)
    }

    /// Whether LOOKUPs may be answered from listings on this mount.
    pub(crate) fn lookup_from_listing(&self) -> bool {
        self.0.cache.lookup_from_listing
    }

    /// LOOKUPs answered from a listing, without asking the filesystem.
    pub(crate) fn lookups_from_listings(&self) -> u64 {
        self.0.lookups_from_listings.load(Ordering::Relaxed)
    }
}

/// The INIT handshake, which fuser answers while it mounts (`fuser::Session::new`): the
/// capabilities a mountkit mount asks the kernel for. fuser serves nothing else.
pub(crate) struct Handshake {
    shared: Arc<Shared>,
    offer_ring: bool,
}

impl fuser::Filesystem for Handshake {
    fn init(&mut self, _req: &fuser::Request, config: &mut KernelConfig) -> io::Result<()> {
        // Every request is read into a buffer this size; 1 MiB is also the most a write can
        // carry under the kernel's default page limit (`max_pages` of 256).
        let _ = config.set_max_write(MAX_WRITE);
        // Without this the kernel serializes lookups and listings within each directory, so
        // one slow handler would hold up every other name in the same directory.
        let _ = config.add_capabilities(InitFlags::FUSE_PARALLEL_DIROPS);
        let shared = &self.shared;
        // Taken only when offered: the kernel then holds every request until the ring's
        // entries are registered, and drops back to /dev/fuse if registering fails.
        if self.offer_ring
            && config
                .add_capabilities(InitFlags::FUSE_OVER_IO_URING)
                .is_ok()
        {
            shared.ring_negotiated.store(true, Ordering::Relaxed);
        }
        let writeback = shared.cache.writeback
            && config
                .add_capabilities(InitFlags::FUSE_WRITEBACK_CACHE)
                .is_ok();
        let plus = match shared.cache.readdir_plus {
            ReaddirPlus::Off => InitFlags::empty(),
            ReaddirPlus::Always => InitFlags::FUSE_DO_READDIRPLUS,
            // Attributes handed over with a zero timeout expire at once: every stat after the
            // listing asks again, so READDIRPLUS would only make pages and crossings bigger.
            ReaddirPlus::Auto if shared.cache.attr.is_zero() || shared.cache.entry.is_zero() => {
                InitFlags::empty()
            }
            // The kernel then sends READDIRPLUS for a directory's first page, and for later
            // pages only once something was looked up in it since: listings that no stat
            // follows take plain READDIR.
            ReaddirPlus::Auto => InitFlags::FUSE_DO_READDIRPLUS | InitFlags::FUSE_READDIRPLUS_AUTO,
        };
        if !plus.is_empty() && config.add_capabilities(plus).is_ok() {
            shared
                .readdir_plus
                .negotiated
                .store(true, Ordering::Relaxed);
        }
        // The kernel refuses passthrough opens on a connection with writeback caching.
        if !writeback
            && shared.want_passthrough
            && config.add_capabilities(InitFlags::FUSE_PASSTHROUGH).is_ok()
            && config.set_max_stack_depth(1).is_ok()
        {
            shared.status.negotiated.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// The most data one WRITE carries, asked for at INIT.
pub(crate) const MAX_WRITE: u32 = 1 << 20;

impl Adapter {
    fn lookup(&self, req: &Request, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let s = &self.shared;
        let path = path_or_reply!(s.child_path(parent, name), reply);
        let cache = s.cache;
        let name = name.to_string_lossy().into_owned();
        if let Some((stat, entry_ttl, attr_ttl)) = s.listed_entry(parent, &name) {
            return match s.register_entry(parent, &name, &path, None, &stat) {
                Ok(ino) => {
                    s.lookups_from_listings.fetch_add(1, Ordering::Relaxed);
                    reply.entry(ino, &stat, entry_ttl, attr_ttl)
                }
                Err(e) => reply.error(e),
            };
        }
        s.lookup_then(
            context(req),
            parent,
            name,
            path,
            None,
            move |entry| match entry {
                Ok((ino, stat)) => reply.entry(ino, &stat, cache.entry, cache.attr),
                // Node id 0 is the protocol's cacheable "no such name".
                Err(Errno::ENOENT) if !cache.negative.is_zero() => reply.negative(cache.negative),
                Err(e) => reply.error(e),
            },
        );
    }

    fn forget(&self, ino: u64, nlookup: u64) {
        let s = &self.shared;
        let gone = s.forget_in(&mut s.inodes.lock(), ino, nlookup);
        if gone {
            s.drop_listings(&[ino]);
        }
    }

    fn getattr(&self, req: &Request, ino: u64, fh: Option<u64>, reply: ReplyAttr) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        let ttl = s.cache.attr;
        let handle = s.handle_for(ino, fh);
        let operation = Operation::Getattr { path, handle };
        s.send(context(req), operation, move |result| {
            match expect_reply!(result, Stat) {
                Ok(stat) => reply.attr(ttl, ino, &stat),
                Err(e) => reply.error(e),
            }
        });
    }

    fn setattr(&self, req: &Request, ino: u64, changes: &SetattrIn, reply: ReplyAttr) {
        let SetattrIn {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
            fh,
            ..
        } = *changes;
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        // One setattr can carry several changes; each is its own handler call, in the
        // order a POSIX caller would make them.
        let mut operations = Vec::new();
        if let Some(size) = size {
            let handle = s.handle_for(ino, fh);
            operations.push(Operation::Truncate {
                path: path.clone(),
                size,
                handle,
            });
        }
        if let Some(mode) = mode {
            operations.push(Operation::Chmod {
                path: path.clone(),
                mode: mode & 0o7777,
            });
        }
        if uid.is_some() || gid.is_some() {
            operations.push(Operation::Chown {
                path: path.clone(),
                uid,
                gid,
            });
        }
        if atime.is_some() || mtime.is_some() {
            operations.push(Operation::Utimens {
                path: path.clone(),
                atime,
                mtime,
            });
        }
        let cx = context(req);
        let this = s.clone();
        if operations.is_empty() {
            // A setattr that changes nothing is `chown(f, -1, -1)`, which still stamps ctime:
            // pass it on as that no-op chown. A filesystem without chown has nothing to stamp.
            let chown = Operation::Chown {
                path,
                uid: None,
                gid: None,
            };
            return s.send(cx, chown, move |result| match expect_empty(result) {
                Ok(()) | Err(Errno::ENOSYS) => this.getattr_reply(cx, ino, reply),
                Err(e) => reply.error(e),
            });
        }
        s.chain(cx, operations, move |result| match result {
            Ok(()) => this.getattr_reply(cx, ino, reply),
            Err(e) => reply.error(e),
        });
    }

    fn readlink(&self, req: &Request, ino: u64, reply: ReplyData) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        s.send(
            context(req),
            Operation::Readlink { path },
            move |result| match expect_reply!(result, Target) {
                Ok(target) => reply.data(target.as_bytes()),
                Err(e) => reply.error(e),
            },
        );
    }

    fn mknod(
        &self,
        req: &Request,
        parent: u64,
        name: &OsStr,
        mode: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        // The kernel sends only modes of a kind it knows; it checks the answer against it.
        let Some(made) = FileKind::from_mode(mode) else {
            return reply.error(Errno::EINVAL);
        };
        let make = |path| Operation::Mknod { path, mode, rdev };
        self.shared
            .create_entry(context(req), parent, name, made, make, reply);
    }

    fn mkdir(&self, req: &Request, parent: u64, name: &OsStr, mode: u32, reply: ReplyEntry) {
        let make = |path| Operation::Mkdir {
            path,
            mode: mode & 0o7777,
        };
        self.shared
            .create_entry(context(req), parent, name, FileKind::Directory, make, reply);
    }

    fn unlink(&self, req: &Request, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        self.remove(req, parent, name, reply, |path| Operation::Unlink { path });
    }

    fn rmdir(&self, req: &Request, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        self.remove(req, parent, name, reply, |path| Operation::Rmdir { path });
    }

    fn symlink(
        &self,
        req: &Request,
        parent: u64,
        link_name: &OsStr,
        target: &OsStr,
        reply: ReplyEntry,
    ) {
        let Some(target) = target.to_str().map(str::to_owned) else {
            return reply.error(Errno::EILSEQ);
        };
        let make = |path| Operation::Symlink { target, path };
        self.shared.create_entry(
            context(req),
            parent,
            link_name,
            FileKind::Symlink,
            make,
            reply,
        );
    }

    // The arguments are the request's own fields, as the kernel sends them.
    #[allow(clippy::too_many_arguments)]
    fn rename(
        &self,
        req: &Request,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        let s = &self.shared;
        let from = path_or_reply!(s.child_path(parent, name), reply);
        let to = path_or_reply!(s.child_path(newparent, newname), reply);
        let mode = match flags {
            0 => RenameMode::Replace,
            libc::RENAME_NOREPLACE => RenameMode::NoReplace,
            libc::RENAME_EXCHANGE => RenameMode::Exchange,
            _ => return reply.error(Errno::EINVAL),
        };
        let names = (
            name.to_string_lossy().into_owned(),
            newname.to_string_lossy().into_owned(),
        );
        let this = s.clone();
        s.send(
            context(req),
            Operation::Rename { from, to, mode },
            move |result| match expect_empty(result) {
                Ok(()) => {
                    this.inodes.lock().rename(
                        (parent, &names.0),
                        (newparent, &names.1),
                        mode == RenameMode::Exchange,
                    );
                    reply.ok();
                }
                Err(e) => reply.error(e),
            },
        );
    }

    fn link(&self, req: &Request, ino: u64, newparent: u64, newname: &OsStr, reply: ReplyEntry) {
        let s = &self.shared;
        let existing = path_or_reply!(s.path(ino), reply);
        let path = path_or_reply!(s.child_path(newparent, newname), reply);
        let name = newname.to_string_lossy().into_owned();
        let cx = context(req);
        let this = s.clone();
        let cache = s.cache;
        let operation = Operation::Link {
            existing,
            path: path.clone(),
        };
        s.send_then_stat(cx, operation, move |result| {
            let linked = expect_reply!(result, Stat).and_then(|stat| {
                // The kernel checks the answer against the kind of the node it linked.
                let existing = this.inodes.lock().kind(ino).ok_or(Errno::ESTALE)?;
                this.check_made_kind("link", &path, existing, &stat)?;
                Ok((this.inodes.lock().link(ino, newparent, &name)?, stat))
            });
            match linked {
                Ok((ino, stat)) => reply.entry(ino, &stat, cache.entry, cache.attr),
                Err(e) => reply.error(e),
            }
        });
    }

    fn open(&self, req: &Request, device: &Arc<Device>, ino: u64, flags: i32, reply: ReplyOpen) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        let operation = Operation::Open {
            path,
            flags: OpenFlags(flags),
        };
        let this = s.clone();
        let device = device.clone();
        s.send(context(req), operation, move |result| {
            match expect_reply!(result, Opened) {
                Ok(opened) => {
                    let (fh, flags, passthrough) =
                        this.register_open(ino, OpenFlags(flags), &opened, |file| {
                            device.open_backing(file)
                        });
                    reply.opened(fh, flags, passthrough.as_deref());
                }
                Err(e) => reply.error(e),
            }
        });
    }

    fn read(&self, req: &Request, ino: u64, fh: u64, offset: u64, size: u32, reply: ReplyData) {
        let s = &self.shared;
        let file = path_or_reply!(s.open_file(fh), reply);
        if let Some(backing) = file.backing {
            return with_read_at(&backing, offset, size, |read| match read {
                Ok(data) => reply.data(data),
                Err(e) => reply.error(e.into()),
            });
        }
        let path = path_or_reply!(s.path(ino), reply);
        let operation = Operation::Read {
            path,
            handle: file.handle,
            offset,
            size,
        };
        // The reply is written to the kernel while the answer's bytes are borrowed, so a
        // handler's buffer reaches the kernel without a copy in between.
        s.send_for_data(context(req), operation, move |result| match result {
            // Never hand the kernel more than it asked for, whatever the handler returned.
            Ok(data) => reply.data(&data[..data.len().min(size as usize)]),
            Err(e) => reply.error(e),
        });
    }

    fn write(&self, req: &Request, ino: u64, fh: u64, offset: u64, data: &[u8], reply: ReplyWrite) {
        let s = &self.shared;
        let file = path_or_reply!(s.open_file(fh), reply);
        if let Some(backing) = file.backing {
            s.changes.bump();
            return match mountkit_core::backing::write_all_at(&backing, data, offset) {
                Ok(()) => reply.written(data.len() as u32),
                Err(e) => reply.error(e.into()),
            };
        }
        let path = path_or_reply!(s.path(ino), reply);
        let len = data.len() as u64;
        let data = s.dispatch.write_data(data);
        let operation = Operation::Write {
            path,
            handle: file.handle,
            offset,
            data,
        };
        s.send(context(req), operation, move |result| {
            match expect_reply!(result, Count) {
                Ok(written) if written <= len => reply.written(written as u32),
                Ok(written) => {
                    warn!("write handler claimed {written} bytes of a {len}-byte write");
                    reply.error(Errno::EIO)
                }
                Err(e) => reply.error(e),
            }
        });
    }

    fn flush(&self, req: &Request, ino: u64, fh: u64, reply: ReplyEmpty) {
        let s = &self.shared;
        if !s.dispatch.handles("flush") {
            // The kernel then treats every close as flushed and sends no more FLUSH: one
            // round trip less for each close of a file.
            return reply.error(Errno::ENOSYS);
        }
        let file = path_or_reply!(s.open_file(fh), reply);
        if file.backing.is_some() {
            // Backed writes already sit in the backing file; there is nothing to flush.
            return reply.ok();
        }
        let path = path_or_reply!(s.path(ino), reply);
        let operation = Operation::Flush {
            path,
            handle: file.handle,
        };
        s.send_closing(context(req), &file, operation, empty(reply));
    }

    fn release(&self, req: &Request, ino: u64, fh: u64, flags: i32, reply: ReplyEmpty) {
        let s = &self.shared;
        let Some(file) = s.files.remove(fh) else {
            return reply.error(Errno::EBADF);
        };
        if file.passthrough {
            // The kernel wrote to the backing file itself; the adapter never saw those writes.
            s.changes.bump();
            s.passthrough.release(file.ino);
        }
        s.inodes.lock().released(ino, fh);
        let path = path_or_reply!(s.path(ino), reply);
        let operation = Operation::Release {
            path,
            handle: file.handle,
            flags: OpenFlags(flags),
        };
        s.send_closing(context(req), &file, operation, empty(reply));
    }

    fn fsync(&self, req: &Request, ino: u64, fh: u64, datasync: bool, reply: ReplyEmpty) {
        let s = &self.shared;
        let file = path_or_reply!(s.open_file(fh), reply);
        if let Some(backing) = file.backing {
            let synced = if datasync {
                backing.sync_data()
            } else {
                backing.sync_all()
            };
            return match synced {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(e.into()),
            };
        }
        let path = path_or_reply!(s.path(ino), reply);
        let operation = Operation::Fsync {
            path,
            handle: file.handle,
            datasync,
        };
        s.send(context(req), operation, empty(reply));
    }

    fn opendir(&self, req: &Request, ino: u64, flags: i32, reply: ReplyOpen) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        let this = s.clone();
        let operation = Operation::Opendir {
            path,
            flags: OpenFlags(flags),
        };
        s.send(context(req), operation, move |result| {
            match expect_reply!(result, Opened) {
                Ok(opened) => {
                    let fh = this.dirs.insert(OpenDir {
                        handle: opened.handle,
                        listing: None,
                    });
                    let mut flags = fopen_flags(&opened);
                    if this.cache.readdir {
                        flags |= FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
                    }
                    reply.opened(fh, flags, None);
                }
                Err(e) => reply.error(e),
            }
        });
    }

    fn readdir(&self, req: &Request, ino: u64, fh: u64, offset: u64, reply: ReplyDirectory) {
        self.shared
            .with_listing(context(req), ino, fh, offset, move |page| match page {
                Ok(page) => fill_directory(reply, &page.entries, offset),
                Err(e) => reply.error(e),
            });
    }

    fn readdirplus(
        &self,
        req: &Request,
        ino: u64,
        fh: u64,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        let this = self.shared.clone();
        self.shared
            .with_listing(context(req), ino, fh, offset, move |page| match page {
                Ok(page) => this.fill_directory_plus(reply, ino, &page, offset),
                Err(e) => reply.error(e),
            });
    }

    fn releasedir(&self, req: &Request, ino: u64, fh: u64, reply: ReplyEmpty) {
        let s = &self.shared;
        let Some(dir) = s.dirs.remove(fh) else {
            return reply.error(Errno::EBADF);
        };
        let path = path_or_reply!(s.path(ino), reply);
        let operation = Operation::Releasedir {
            path,
            handle: dir.handle,
        };
        s.send(context(req), operation, empty(reply));
    }

    fn fsyncdir(&self, req: &Request, ino: u64, fh: u64, datasync: bool, reply: ReplyEmpty) {
        let s = &self.shared;
        let Some(handle) = s.dirs.get(fh).map(|d| d.handle) else {
            return reply.error(Errno::EBADF);
        };
        let path = path_or_reply!(s.path(ino), reply);
        s.send(
            context(req),
            Operation::Fsyncdir {
                path,
                handle,
                datasync,
            },
            empty(reply),
        );
    }

    fn statfs(&self, req: &Request, ino: u64, reply: ReplyStatfs) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        s.send(
            context(req),
            Operation::Statfs { path },
            move |result| match expect_reply!(result, StatFs) {
                Ok(f) => reply.statfs(
                    f.blocks,
                    f.blocks_free,
                    f.blocks_available,
                    f.files,
                    f.files_free,
                    f.block_size,
                    f.name_max,
                    f.fragment_size,
                ),
                Err(e) => reply.error(e),
            },
        );
    }

    fn setxattr(
        &self,
        req: &Request,
        ino: u64,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        reply: ReplyEmpty,
    ) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        let name = path_or_reply!(convert::name(name), reply).to_owned();
        let mode = match flags {
            0 => XattrMode::Set,
            1 => XattrMode::Create,
            2 => XattrMode::Replace,
            _ => return reply.error(Errno::EINVAL),
        };
        let value = Bytes::copy_from_slice(value);
        let operation = Operation::Setxattr {
            path,
            name,
            value,
            mode,
        };
        s.send(context(req), operation, empty(reply));
    }

    fn getxattr(&self, req: &Request, ino: u64, name: &OsStr, size: u32, reply: ReplyXattr) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        let name = path_or_reply!(convert::name(name), reply).to_owned();
        s.send(
            context(req),
            Operation::Getxattr { path, name },
            move |result| match expect_reply!(result, Data) {
                Ok(value) => xattr_reply(reply, size, &value),
                Err(e) => reply.error(e),
            },
        );
    }

    fn listxattr(&self, req: &Request, ino: u64, size: u32, reply: ReplyXattr) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        s.send(
            context(req),
            Operation::Listxattr { path },
            move |result| match expect_reply!(result, Names) {
                Ok(names) => {
                    let mut list = Vec::with_capacity(names.iter().map(|n| n.len() + 1).sum());
                    for name in &names {
                        list.extend_from_slice(name.as_bytes());
                        list.push(0);
                    }
                    xattr_reply(reply, size, &list);
                }
                Err(e) => reply.error(e),
            },
        );
    }

    fn removexattr(&self, req: &Request, ino: u64, name: &OsStr, reply: ReplyEmpty) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        let name = path_or_reply!(convert::name(name), reply).to_owned();
        s.send(
            context(req),
            Operation::Removexattr { path, name },
            empty(reply),
        );
    }

    fn access(&self, req: &Request, ino: u64, mask: i32, reply: ReplyEmpty) {
        let s = &self.shared;
        let path = path_or_reply!(s.path(ino), reply);
        let operation = Operation::Access {
            path,
            mask: mask as u32,
        };
        s.send(context(req), operation, empty(reply));
    }

    // The arguments are the request's own fields, as the kernel sends them.
    #[allow(clippy::too_many_arguments)]
    fn create(
        &self,
        req: &Request,
        device: &Arc<Device>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let s = &self.shared;
        let path = path_or_reply!(s.child_path(parent, name), reply);
        let name = name.to_string_lossy().into_owned();
        let cx = context(req);
        let this = s.clone();
        let cache = s.cache;
        let device = device.clone();
        let operation = Operation::Create {
            path: path.clone(),
            mode: mode & 0o7777,
            flags: OpenFlags(flags),
        };
        s.send_then_stat(cx, operation, move |result| {
            let opened: Opened = match expect_reply!(result, Opened) {
                Ok(opened) => opened,
                Err(e) => return reply.error(e),
            };
            let given_stat = opened.stat.clone();
            let table = this.clone();
            let created_path = path.clone();
            let answer = move |entry: FsResult<(u64, Stat)>| match entry {
                Ok((ino, stat)) => {
                    let (fh, flags, passthrough) =
                        table.register_open(ino, OpenFlags(flags), &opened, |file| {
                            device.open_backing(file)
                        });
                    reply.created(
                        ino,
                        &stat,
                        cache.entry,
                        cache.attr,
                        fh,
                        flags,
                        passthrough.as_deref(),
                    );
                }
                Err(e) => {
                    // The file was created and opened, but the kernel will never hold this
                    // handle: give it back so the filesystem does not leak it.
                    let release = Operation::Release {
                        path: created_path,
                        handle: opened.handle,
                        flags: OpenFlags(flags),
                    };
                    table.send(cx, release, |_| {});
                    reply.error(e)
                }
            };
            // The stat came with the answer (the handler's, or a getattr's run with it); if
            // that getattr failed, asking again reports its failure.
            let made = Some(("create", FileKind::File));
            match given_stat {
                Some(stat) => answer(
                    this.register_entry(parent, &name, &path, made, &stat)
                        .map(|ino| (ino, stat)),
                ),
                None => this.lookup_then(cx, parent, name, path, made, answer),
            }
        });
    }

    // The arguments are the request's own fields, as the kernel sends them.
    #[allow(clippy::too_many_arguments)]
    fn fallocate(
        &self,
        req: &Request,
        ino: u64,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let s = &self.shared;
        let (handle, path) = path_or_reply!(s.handle_and_path(fh, ino), reply);
        let operation = Operation::Fallocate {
            path,
            handle,
            offset,
            length,
            mode,
        };
        s.send(context(req), operation, empty(reply));
    }

    fn lseek(&self, req: &Request, ino: u64, fh: u64, offset: i64, whence: i32, reply: ReplyLseek) {
        let s = &self.shared;
        let (handle, path) = path_or_reply!(s.handle_and_path(fh, ino), reply);
        let operation = Operation::Lseek {
            path,
            handle,
            offset,
            whence,
        };
        s.send(context(req), operation, move |result| {
            match expect_reply!(result, Offset) {
                Ok(offset) => match i64::try_from(offset) {
                    Ok(offset) => reply.offset(offset),
                    Err(_) => reply.error(Errno::EOVERFLOW),
                },
                Err(e) => reply.error(e),
            }
        });
    }

    // The arguments are the request's own fields, as the kernel sends them.
    #[allow(clippy::too_many_arguments)]
    fn copy_file_range(
        &self,
        req: &Request,
        ino_in: u64,
        fh_in: u64,
        offset_in: u64,
        ino_out: u64,
        fh_out: u64,
        offset_out: u64,
        len: u64,
        reply: ReplyWrite,
    ) {
        let s = &self.shared;
        let from_handle = path_or_reply!(s.open_file(fh_in), reply).handle;
        let to_handle = path_or_reply!(s.open_file(fh_out), reply).handle;
        let from_path = path_or_reply!(s.path(ino_in), reply);
        let to_path = path_or_reply!(s.path(ino_out), reply);
        let operation = Operation::CopyFileRange {
            from_path,
            from_handle,
            from_offset: offset_in,
            to_path,
            to_handle,
            to_offset: offset_out,
            length: len,
        };
        s.send(context(req), operation, move |result| {
            match expect_reply!(result, Count) {
                Ok(copied) => reply.written(copied.min(u64::from(u32::MAX)) as u32),
                Err(e) => reply.error(e),
            }
        });
    }
}

impl Adapter {
    fn remove(
        &self,
        req: &Request,
        parent: u64,
        name: &OsStr,
        reply: ReplyEmpty,
        make: impl FnOnce(String) -> Operation,
    ) {
        let s = &self.shared;
        let path = path_or_reply!(s.child_path(parent, name), reply);
        let name = name.to_string_lossy().into_owned();
        let this = s.clone();
        s.send(context(req), make(path), move |result| {
            match expect_empty(result) {
                Ok(()) => {
                    this.inodes.lock().unlink(parent, &name);
                    reply.ok();
                }
                Err(e) => reply.error(e),
            }
        });
    }
}

impl Shared {
    /// Calls `done` with the listing of the open directory `fh`: the one read at offset 0,
    /// so that every page of one `readdir` sequence (READDIR and READDIRPLUS alike) comes
    /// from the same snapshot; at offset 0, or without one, it asks the filesystem.
    ///
    /// A page read fresh has current stats: the kernel ignores attributes older than a change
    /// it saw after sending the request. A later page from the snapshot has them only if no
    /// change was made since the snapshot was asked for, and no file is open for kernel
    /// passthrough (whose writes the adapter never sees).
    fn with_listing(
        self: &Arc<Self>,
        cx: RequestContext,
        ino: u64,
        fh: u64,
        offset: u64,
        done: impl FnOnce(FsResult<Page>) + Send + 'static,
    ) {
        let (handle, listing) = match self.dirs.get(fh) {
            Some(dir) => (dir.handle, dir.listing.clone()),
            None => return done(Err(Errno::EBADF)),
        };
        if offset > 0 {
            if let Some(snapshot) = listing {
                return done(Ok(Page {
                    attributes_current: self.listed_stats_current(snapshot.changes_before),
                    entries: snapshot.entries,
                }));
            }
        }
        let path = match self.path(ino) {
            Ok(path) => path,
            Err(e) => return done(Err(e)),
        };
        let this = self.clone();
        let operation = Operation::Readdir { path, handle };
        let changes_before = self.changes.now();
        self.send(cx, operation, move |result| {
            done(expect_reply!(result, Entries).map(|entries| {
                let entries = Arc::new(this.listing(ino, entries));
                this.keep_listing(ino, &entries, changes_before);
                let snapshot = Snapshot {
                    entries: entries.clone(),
                    changes_before,
                };
                this.dirs.update(fh, |dir| dir.listing = Some(snapshot));
                Page {
                    entries,
                    attributes_current: true,
                }
            }))
        });
    }

    /// The full listing of directory `ino` as the kernel sees it: `.` and `..` first, then
    /// the handler's entries (already checked: see `Listing`).
    fn listing(&self, ino: u64, entries: Listing) -> Vec<ListedEntry> {
        let entries = entries.into_entries();
        let table = self.inodes.lock();
        let mut listing = Vec::with_capacity(entries.len() + 2);
        let directory = |name: &str, d_ino| ListedEntry {
            name: name.to_owned(),
            kind: FileKind::Directory,
            d_ino,
            stat: None,
        };
        listing.push(directory(".", ino));
        listing.push(directory("..", ROOT));
        let known = table.names_in(ino);
        for entry in entries {
            // d_ino is informational; a name the kernel does not know gets a placeholder
            // that is never a real node.
            let d_ino = known.get(&entry.name).unwrap_or(UNLINKED_ENTRY);
            listing.push(ListedEntry {
                name: entry.name,
                kind: entry.kind,
                d_ino,
                stat: entry.stat,
            });
        }
        listing
    }

    /// Fills one READDIRPLUS reply from `offset` on (offsets as in [`fill_directory`]).
    ///
    /// A name listed with its stat goes with its attributes, if they are current (see
    /// [`Shared::with_listing`]), and is registered in the inode table as a LOOKUP would
    /// register it: the kernel counts one lookup for each such entry it receives. `.`, `..`
    /// and names listed without a stat go without attributes (node id 0): the kernel shows
    /// them and links nothing, so they are looked up when used, as after a READDIR.
    fn fill_directory_plus(
        &self,
        mut reply: ReplyDirectoryPlus,
        dir: u64,
        page: &Page,
        offset: u64,
    ) {
        let mut with_attributes = 0;
        let mut table = self.inodes.lock();
        for (i, entry) in page.entries.iter().enumerate().skip(offset as usize) {
            let next = i as u64 + 1;
            let name = OsStr::new(&entry.name);
            let full = match &entry.stat {
                Some(stat) if i >= 2 && page.attributes_current => {
                    let ino = table.lookup(dir, &entry.name, stat.kind, stat.ino);
                    let attributes = (ino, stat, self.cache.entry, self.cache.attr);
                    let full = reply.add(ino, next, entry.kind, name, Some(attributes));
                    if full {
                        // The kernel never sees this entry, so it will never forget it.
                        table.forget(ino, 1);
                    } else {
                        with_attributes += 1;
                    }
                    full
                }
                _ => reply.add(entry.d_ino, next, entry.kind, name, None),
            };
            if full {
                break;
            }
        }
        drop(table);
        self.readdir_plus
            .entries_with_attributes
            .fetch_add(with_attributes, Ordering::Relaxed);
        reply.ok();
    }
}

impl Shared {
    /// Keeps `entries`, the listing of directory `dir` the filesystem just answered, to
    /// answer LOOKUPs of its names from ([`Shared::listed_entry`]).
    fn keep_listing(&self, dir: u64, entries: &Arc<Vec<ListedEntry>>, changes_before: u64) {
        if self.cache.lookup_from_listing {
            self.listings
                .lock()
                .keep(dir, entries.clone(), changes_before, Instant::now());
        }
    }

    /// The answer to a LOOKUP of `parent/name` from the latest listing of `parent`: the stat
    /// the filesystem listed the name with, and the entry and attribute timeouts left of the
    /// time since that answer, so the kernel keeps it no longer than if the listing had
    /// handed it over (as READDIRPLUS does).
    ///
    /// Only while that listing is current: answered less than the shorter timeout ago, no
    /// change made through the mount or announced by the filesystem since it was asked for
    /// (the mount-wide [`ChangeCount`]), and no file open for kernel passthrough, whose
    /// writes the adapter never sees. A name listed without a stat, or not listed, is asked
    /// for: a name missing from a listing may have been made since by another route.
    fn listed_entry(&self, parent: u64, name: &str) -> Option<(Stat, Duration, Duration)> {
        if !self.cache.lookup_from_listing {
            return None;
        }
        let now = Instant::now();
        let listing = self.listings.lock().get(parent, now)?;
        if !self.listed_stats_current(listing.changes_before) {
            return None;
        }
        let stat = listing.stat_of(name)?.clone();
        let age = now.saturating_duration_since(listing.answered_at);
        Some((
            stat,
            self.cache.entry.saturating_sub(age),
            self.cache.attr.saturating_sub(age),
        ))
    }

    /// Whether the stats of a listing asked for at change count `changes_before` still hold:
    /// nothing changed through the mount since, and no file is open for kernel passthrough,
    /// whose writes the adapter never sees.
    fn listed_stats_current(&self, changes_before: u64) -> bool {
        self.changes.now() == changes_before && self.passthrough.is_empty()
    }

    /// Takes `count` lookups of `ino` off `table`; returns whether that removed a directory
    /// whose kept listing must go too (see [`Shared::drop_listings`]).
    fn forget_in(&self, table: &mut InodeTable, ino: u64, count: u64) -> bool {
        let directory =
            self.cache.lookup_from_listing && table.kind(ino) == Some(FileKind::Directory);
        table.forget(ino, count);
        directory && table.kind(ino).is_none()
    }

    /// Drops the listings kept for `dirs`, directories the kernel forgot.
    fn drop_listings(&self, dirs: &[u64]) {
        if dirs.is_empty() {
            return;
        }
        let mut listings = self.listings.lock();
        for dir in dirs {
            listings.forget(*dir);
        }
    }
}

/// A kind as handlers name it (`FileKind` in the TypeScript API).
fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::File => "file",
        FileKind::Directory => "directory",
        FileKind::Symlink => "symlink",
        FileKind::Fifo => "fifo",
        FileKind::Socket => "socket",
        FileKind::CharDevice => "char-device",
        FileKind::BlockDevice => "block-device",
    }
}

/// The `d_ino` of a listed name the kernel has not looked up: never a node of the table.
const UNLINKED_ENTRY: u64 = u64::MAX;

/// Fills one `readdir` reply from `offset` on. Offsets are positions in the listing plus one,
/// so the kernel's next offset is the last one it received.
fn fill_directory(mut reply: ReplyDirectory, listing: &[ListedEntry], offset: u64) {
    for (i, entry) in listing.iter().enumerate().skip(offset as usize) {
        if reply.add(
            entry.d_ino,
            i as u64 + 1,
            entry.kind,
            OsStr::new(&entry.name),
        ) {
            break;
        }
    }
    reply.ok();
}
