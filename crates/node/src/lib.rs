//! # mountkit-node
//!
//! The napi-rs addon: the only crate that knows about JavaScript. It implements the core's
//! [`Dispatch`](mountkit_core::Dispatch) by forwarding requests to JavaScript handlers in
//! batches (see the `bridge` module), and exposes mount/unmount to `lib/mount.ts`, and the
//! filesystem calls `node:fs` lacks to `lib/fs-calls.ts` (see the `fs_calls` module). Choosing
//! and mounting the backend, and the Windows doctor, are the `mountkit` facade crate's: this
//! crate converts their values to and from JavaScript.

mod backend;
mod bridge;
mod convert;
mod crossing;
mod doctor;
mod fs_calls;
mod payload;
pub mod wire;
mod write_pool;

use std::sync::{mpsc, Arc};
use std::time::Duration;

use mountkit::{ErrorCode, InvalidOption};
use mountkit_core::{Change, Errno, Listing, OpenFlags, Operation, Reply};
use napi::bindgen_prelude::{AsyncTask, FromNapiValue, Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;
use parking_lot::Mutex;

use bridge::{Bridge, Fault, Limits, Waker};
use convert::{NativeEvent, NativeOpened, NativeStatFs};
use crossing::{invalid, Crossing};
use payload::{Payload, SlotBuffer};
use wire::{LocalAnswer, OPERATIONS};
use write_pool::WritePool;

/// The fingerprint of the wire tables this addon was built with (see the `wire` module):
/// `lib/wire.ts` refuses an addon whose tables differ from its own.
#[napi]
pub fn wire_fingerprint() -> String {
    wire::fingerprint()
}

/// Every POSIX error name the core knows, with its (Linux) number: how JavaScript encodes
/// error replies in a `replyBatch`.
#[napi]
pub fn errno_numbers() -> std::collections::HashMap<&'static str, i32> {
    Errno::all()
        .filter_map(|e| Some((e.name()?, e.raw())))
        .collect()
}

/// A numbers-only reply that `replyBatch` did not deliver.
#[napi(object)]
pub struct NativeReplyProblem {
    /// Which record of the batch.
    pub index: u32,
    /// Why it was refused (the request was answered `EIO`); absent when the request was no
    /// longer pending.
    pub message: Option<String>,
}

/// Lazily unmounts whatever FUSE filesystem is at `path`, including a stale mount left by a
/// process that died.
#[napi]
pub fn unmount_path(path: String) -> Result<()> {
    backend::unmount_path(&path)
}

/// `mknod(2)`: creates the node `path`, with `mode` its type (`S_IFIFO`, `S_IFSOCK`,
/// `S_IFCHR`, `S_IFBLK`, `S_IFREG`) and permission bits (the process umask applies), `rdev`
/// the device number of a device node. Resolves to 0 or a Linux error number (see
/// `fs_calls`).
#[napi(js_name = "mknod", ts_return_type = "Promise<number>")]
pub fn make_node(path: String, mode: u32, rdev: i64) -> AsyncTask<fs_calls::MakeNode> {
    AsyncTask::new(fs_calls::MakeNode { path, mode, rdev })
}

/// `utimensat(2)` of the node `path` itself, never a symlink's target: each time in
/// milliseconds since the Unix epoch, or absent to leave it as it is. Resolves to 0 or a Linux
/// error number (see `fs_calls`).
#[napi(js_name = "utimens", ts_return_type = "Promise<number>")]
pub fn set_times(
    path: String,
    atime: Option<i64>,
    mtime: Option<i64>,
) -> AsyncTask<fs_calls::SetTimes> {
    AsyncTask::new(fs_calls::SetTimes { path, atime, mtime })
}

/// `MountOptions` of `lib/types.ts` with every default filled in by `lib/mount.ts`.
#[napi(object)]
pub struct NativeMountOptions {
    /// The mount's source name in `mount` and `df`.
    pub fs_name: String,
    /// Refuse every change with `EROFS`.
    pub read_only: bool,
    /// Let users other than the mounting one see the mount.
    pub allow_other: bool,
    /// Let the kernel check permissions from `mode`/`uid`/`gid`.
    pub default_permissions: bool,
    /// How long the kernel may cache attributes, in ms.
    pub attr_timeout_ms: f64,
    /// How long the kernel may cache name lookups, in ms.
    pub entry_timeout_ms: f64,
    /// How long the kernel may remember that a name does not exist, in ms.
    pub negative_timeout_ms: f64,
    /// Let the kernel keep directory listings between opens.
    pub readdir_cache: bool,
    /// Let the kernel buffer writes and send them in large batches.
    pub writeback_cache: bool,
    /// A request still unanswered after this many ms fails.
    pub timeout_ms: f64,
    /// The code a timed-out request fails with: `'ETIMEDOUT'` or `'EIO'`.
    pub timeout_errno: String,
    /// Kernel-reading threads of the backend.
    pub threads: u32,
    /// Clear a mount point left over from a dead process first.
    pub force: bool,
    /// Let the kernel serve backed files itself where it can (FUSE passthrough).
    pub passthrough: bool,
    /// FUSE: when listings hand the kernel each entry's stat: `'auto'`, `'always'` or
    /// `'off'`.
    pub readdir_plus: String,
    /// FUSE: whether requests come through io_uring: `'auto'`, `'always'` or `'off'`.
    pub io_uring: String,
    /// FUSE: the JavaScript thread reads the kernel's requests itself while it spins after a
    /// batch.
    pub read_while_spinning: bool,
    /// FUSE: answer a LOOKUP with the stat the directory's latest listing gave the name,
    /// while that listing is current.
    pub lookup_from_listing: bool,
    /// Per operation code, how to answer it without JavaScript (`LocalAnswer` codes in
    /// `lib/wire.generated.ts`).
    pub native_answers: Vec<u32>,
    /// `'auto'`, `'fuse'`, `'winfsp'` or `'dokan'`.
    pub backend: String,
    /// Windows: the drive's name in Explorer.
    pub volume_label: String,
    /// Windows: match names without regard to case.
    pub case_insensitive: bool,
    /// `'fixed'`, `'network'` or `'removable'`.
    pub drive_type: String,
    /// Windows: bytes per sector.
    pub sector_size: u32,
    /// Windows: bytes per allocation unit, a multiple of `sector_size`.
    pub allocation_unit_size: u32,
    /// Windows: the filesystem has a `setSecurity` handler, so the volume claims persistent
    /// ACLs.
    pub persistent_acls: bool,
    /// Windows: the drive letter a network share mount point is also mounted on.
    pub drive_letter: Option<String>,
}

/// Which data path backed files take (see `FuseMount::data_path`).
#[napi(object)]
pub struct NativeDataPath {
    /// The kernel agreed to FUSE passthrough when the mount started.
    pub passthrough_negotiated: bool,
    /// Backed opens the kernel serves itself.
    pub passthrough_opens: f64,
    /// Backed opens served by Rust with positioned I/O.
    pub rust_io_opens: f64,
}

/// How many inodes and open handles a mount holds (see `FuseMount::stats`).
#[napi(object)]
pub struct NativeMountStats {
    /// Inodes the kernel still refers to, the root included.
    pub known_inodes: f64,
    /// Files and directories open now.
    pub open_handles: f64,
    /// The kernel agreed to READDIRPLUS when the mount started.
    pub readdir_plus: bool,
    /// Listed names handed to the kernel with their attributes, each sparing a LOOKUP.
    pub entries_with_attributes: f64,
    /// Requests the JavaScript thread read from the kernel itself while it spun after a batch.
    pub requests_read_while_spinning: f64,
    /// The kernel hands requests over through io_uring.
    pub io_uring: bool,
    /// Requests that came through the io_uring ring.
    pub requests_from_ring: f64,
    /// LOOKUPs may be answered from listings on this mount.
    pub lookup_from_listing: bool,
    /// LOOKUPs answered from a listing, without calling JavaScript.
    pub lookups_from_listings: f64,
}

type WakeFn = ThreadsafeFunction<(), (), (), Status, false>;

struct TsfnWaker(WakeFn);

impl Waker for TsfnWaker {
    fn wake(&self) {
        self.0.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// A mount served by JavaScript handlers.
#[napi]
pub struct NativeMount {
    /// The batch calls, and through them the mount's request queue.
    crossing: Arc<Crossing>,
    backend: Arc<Mutex<Option<mountkit::Mount>>>,
    backend_name: &'static str,
    mountpoint: String,
}

#[napi]
impl NativeMount {
    /// Mounts at `mountpoint` and calls `wake` whenever requests or faults are waiting;
    /// `wake` should call `drain()`. A failure throws an error whose `code` is the facade's
    /// `ErrorCode` (`'EOPTION'`, `'EMOUNTPOINT'`, `'ENODRIVER'`...).
    #[napi(factory)]
    pub fn mount(
        env: Env,
        mountpoint: String,
        options: NativeMountOptions,
        wake: Function<(), ()>,
    ) -> Result<NativeMount, ErrorCode> {
        let timeout_errno = match options.timeout_errno.as_str() {
            "ETIMEDOUT" => Errno::ETIMEDOUT,
            "EIO" => Errno::EIO,
            other => {
                return Err(backend::option_error(InvalidOption::new(
                    "timeoutErrno",
                    format!("timeoutErrno must be 'ETIMEDOUT' or 'EIO', got '{other}'"),
                )))
            }
        };
        let mount_options = backend::mount_options(&options).map_err(backend::option_error)?;
        let local_answers = options
            .native_answers
            .iter()
            .map(|&code| {
                wire::from_code(LocalAnswer::ALL, f64::from(code)).ok_or_else(|| {
                    backend::option_error(InvalidOption::new(
                        "nativeAnswers",
                        format!("unknown native answer code {code}"),
                    ))
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if !local_answers.is_empty() && local_answers.len() != OPERATIONS.len() {
            return Err(backend::option_error(InvalidOption::new(
                "nativeAnswers",
                format!(
                    "nativeAnswers must have one entry per operation ({}), got {}",
                    OPERATIONS.len(),
                    local_answers.len()
                ),
            )));
        }
        let wake: WakeFn = wake
            .build_threadsafe_function()
            .callee_handled::<false>()
            .build()
            .map_err(|error| Error::new(ErrorCode::Other, error.reason))?;
        let limits = Limits {
            timeout: Duration::from_secs_f64(options.timeout_ms.max(1.0) / 1000.0),
            timeout_errno,
            serving_thread: backend::serving_thread_id(),
            local_answers,
            read_while_spinning: options.read_while_spinning,
        };
        // SAFETY: `env` is the environment of this call, on the JavaScript thread.
        let write_pool = unsafe { payload::external_allowed(env.raw()) }.then(WritePool::new);
        let bridge = Bridge::new(limits, Box::new(TsfnWaker(wake)), write_pool);
        let mounted = mountkit::mount_dispatch(&mountpoint, bridge.clone(), &mount_options)
            .map_err(|error| {
                bridge.close();
                backend::mount_error(&error)
            })?;
        Ok(NativeMount {
            mountpoint: mounted.mountpoint(),
            backend_name: mounted.backend().name(),
            crossing: Arc::new(Crossing::new(bridge)),
            backend: Arc::new(Mutex::new(Some(mounted))),
        })
    }

    /// Where the filesystem is mounted (an absolute path, or a drive such as `M:`).
    #[napi(getter)]
    pub fn mountpoint(&self) -> String {
        self.mountpoint.clone()
    }

    /// The backend serving this mount: `'fuse'`, `'winfsp'` or `'dokan'`.
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.backend_name
    }

    /// The per-batch calls, `drain` and `replyBatch`, as plain functions bound to this mount:
    /// a method call would also pay for napi-rs's borrow bookkeeping on every batch.
    #[napi(
        ts_return_type = "{ drain(slots: Float64Array, spinMicros: number): string; replyBatch(records: Float64Array, length: number): NativeReplyProblem[] | null }"
    )]
    pub fn crossing(&self, env: Env) -> Result<Unknown<'static>> {
        // SAFETY: `env` is the live environment of this call.
        let object = unsafe { crossing::bind(env.raw(), &self.crossing) }?;
        // SAFETY: `object` is a live value of `env`.
        unsafe { Unknown::from_napi_value(env.raw(), object) }
    }

    /// Ends a turn of draining that stopped before an empty drain, so that requests still
    /// queued wake JavaScript again after the event loop has had its turn.
    #[napi]
    pub fn rewake(&self) {
        self.crossing.bridge().rewake();
    }

    /// The payloads of the last drain, in request order: xattr values, and write data the
    /// write pool did not take.
    #[napi(ts_return_type = "Buffer[]")]
    pub fn take_payloads(&self) -> Vec<Payload> {
        self.crossing.take_payloads()
    }

    /// Write-pool slot `slot` as an `ArrayBuffer`: a drained write whose data is in a slot
    /// (`DataPlace.slot` in `lib/wire.generated.ts`) is a view of its first bytes. JavaScript
    /// asks once per slot and keeps it.
    #[napi(ts_return_type = "ArrayBuffer")]
    pub fn write_slot(&self, slot: u32) -> Result<SlotBuffer> {
        self.crossing
            .bridge()
            .write_pool()
            .and_then(|pool| pool.slot(slot))
            .map(SlotBuffer)
            .ok_or_else(|| invalid(format!("there is no write-pool slot {slot}")))
    }

    /// Faults to report: timeouts, refused deadlocks.
    #[napi]
    pub fn take_events(&self) -> Vec<NativeEvent> {
        self.crossing
            .bridge()
            .take_faults()
            .into_iter()
            .map(event)
            .collect()
    }

    /// Answers a readdir: the names joined by NUL, one kind code per name, and optionally a
    /// packed stat per name. Entries no directory can hold are left out; the result says
    /// which and why (`"name" reason`), or is `null` when the request was no longer pending.
    #[napi]
    pub fn reply_entries(
        &self,
        id: f64,
        names: String,
        kinds: &[u8],
        stats: Option<&[f64]>,
    ) -> Result<Option<Vec<String>>> {
        let mut dropped = Vec::new();
        let listing = convert::entries(&names, kinds, stats).map(|entries| {
            let listing;
            (listing, dropped) = Listing::new(entries);
            Reply::Entries(listing)
        });
        let answered = self.reply(id, listing)?;
        Ok(answered.then(|| {
            dropped
                .iter()
                .map(|d| format!("{} {}", quoted_name(&d.name), d.reason))
                .collect()
        }))
    }

    /// Answers an open, opendir or create with the handle (and backing file, if any) in
    /// `opened`.
    #[napi]
    pub fn reply_opened(&self, id: f64, opened: NativeOpened) -> Result<bool> {
        self.settle(id, |pending| {
            // A backing path is opened with the access mode of the open it answers.
            let flags = match pending.map(|p| &p.operation) {
                Some(Operation::Open { flags, .. })
                | Some(Operation::Opendir { flags, .. })
                | Some(Operation::Create { flags, .. }) => *flags,
                _ => OpenFlags::default(),
            };
            convert::opened(&opened, flags).map(Reply::Opened)
        })
    }

    /// Reports a change the filesystem made itself (see [`NativeChange`]), off the
    /// JavaScript thread; resolves when the backend has taken it.
    #[napi]
    pub fn notify(&self, change: NativeChange) -> Result<AsyncTask<Notify>> {
        let change = change_from_js(change).map_err(|e| Error::new(Status::InvalidArg, e))?;
        let notifier = self
            .backend
            .lock()
            .as_ref()
            .map(mountkit::Mount::notifier)
            .ok_or_else(|| Error::new(Status::GenericFailure, "the filesystem is not mounted"))?;
        Ok(AsyncTask::new(Notify { notifier, change }))
    }

    /// How files answered with a backing file have been served so far.
    #[napi]
    pub fn data_path(&self) -> Result<NativeDataPath> {
        self.backend
            .lock()
            .as_ref()
            .ok_or_else(|| "the filesystem is not mounted".to_owned())
            .and_then(backend::data_path)
            .map_err(|e| Error::new(Status::GenericFailure, e))
    }

    /// How many inodes and open handles the mount holds now.
    #[napi]
    pub fn stats(&self) -> Result<NativeMountStats> {
        self.backend
            .lock()
            .as_ref()
            .ok_or_else(|| "the filesystem is not mounted".to_owned())
            .and_then(backend::stats)
            .map_err(|e| Error::new(Status::GenericFailure, e))
    }

    /// Answers a read or getxattr with `data`. FUSE and WinFsp reads take the bytes straight
    /// from the handler's buffer, during this call.
    #[napi]
    pub fn reply_data(&self, id: f64, data: &[u8]) -> Result<bool> {
        self.crossing
            .bridge()
            .settle_data(request_id(id)?, data, |pending| match &pending.operation {
                Operation::Read { size, .. } if data.len() > *size as usize => Err(format!(
                    "read returned {} bytes, more than the {size} asked for",
                    data.len()
                )),
                _ => Ok(()),
            })
            .map_err(invalid)
    }

    /// Answers a readlink with the link's target.
    #[napi]
    pub fn reply_target(&self, id: f64, target: String) -> Result<bool> {
        self.reply(id, Ok(Reply::Target(target)))
    }

    /// Answers a statfs with the volume's sizes and counts.
    #[napi]
    pub fn reply_statfs(&self, id: f64, statfs: NativeStatFs) -> Result<bool> {
        self.reply(id, convert::statfs(&statfs).map(Reply::StatFs))
    }

    /// Answers a listxattr with the attribute names.
    #[napi]
    pub fn reply_names(&self, id: f64, names: Vec<String>) -> Result<bool> {
        self.reply(id, Ok(Reply::Names(names)))
    }

    /// Unmounts; resolves when the backend has stopped.
    #[napi]
    pub fn unmount(&self) -> AsyncTask<Unmount> {
        AsyncTask::new(Unmount {
            backend: self.backend.clone(),
            crossing: self.crossing.clone(),
        })
    }

    /// Unmounts before returning, for exit paths where nothing asynchronous can run. The
    /// JavaScript thread waits here, so requests still waiting for it are answered `EIO` at
    /// once.
    #[napi]
    pub fn unmount_sync(&self) -> Result<()> {
        let stopped = stop(&self.backend, self.crossing.bridge(), Duration::ZERO);
        self.crossing.close();
        stopped.map_err(|e| Error::new(Status::GenericFailure, e))
    }
}

impl NativeMount {
    /// Completes request `id` with a checked reply (see [`Bridge::settle`]). A reply that
    /// failed its checks answers the request with `EIO` and throws, so JavaScript reports it.
    fn settle(
        &self,
        id: f64,
        build: impl FnOnce(Option<&bridge::Pending>) -> std::result::Result<Reply, String>,
    ) -> Result<bool> {
        self.crossing
            .bridge()
            .settle(request_id(id)?, |pending| build(pending).map(Ok))
            .map_err(invalid)
    }

    fn reply(&self, id: f64, reply: std::result::Result<Reply, String>) -> Result<bool> {
        self.settle(id, |_| reply)
    }
}

/// A request id as JavaScript holds it: a number (see [`bridge::RequestId`]).
fn request_id(id: f64) -> Result<bridge::RequestId> {
    convert::whole(id, "request id").map_err(invalid)
}

/// A listing entry's name for a fault message: quoted, and cut short when long.
fn quoted_name(name: &str) -> String {
    const SHOWN: usize = 40;
    match name.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &name[..cut]),
        None => format!("{name:?}"),
    }
}

fn event(fault: Fault) -> NativeEvent {
    NativeEvent {
        operation: fault.operation.to_owned(),
        path: fault.path,
        errno: convert::errno_name(fault.errno),
        message: fault.message,
    }
}

/// How long unmounting lets handlers answer the requests in flight before the bridge answers
/// them itself: the two seconds the FUSE and WinFsp backends also give pending requests before
/// they force their own unmount.
const UNMOUNT_GRACE: Duration = Duration::from_secs(2);

/// Unmounts the backend, if it is still mounted, and closes the bridge (see
/// [`unmount_then_close`]). `grace` is zero where the JavaScript thread itself is unmounting,
/// since no handler can answer meanwhile.
fn stop(
    backend: &Mutex<Option<mountkit::Mount>>,
    bridge: &Bridge,
    grace: Duration,
) -> std::result::Result<(), String> {
    let taken = backend.lock().take();
    unmount_then_close(bridge, grace, move || {
        taken.map_or(Ok(()), |mounted| {
            mounted.unmount().map_err(|error| error.to_string())
        })
    })
}

/// Runs `unmount`, a backend's unmount, and closes `bridge`: what is still parked for
/// JavaScript is answered `EIO`, and later requests are refused (see [`Bridge::close`]).
///
/// A backend's unmount waits for its threads (Dokan's for every running callback), and a
/// thread waiting for JavaScript is released only by an answer. So `unmount` runs on a thread
/// of its own, and once it has run for `grace` the bridge is closed under it; until then,
/// handlers may still answer the requests in flight.
fn unmount_then_close<T: Send>(
    bridge: &Bridge,
    grace: Duration,
    unmount: impl FnOnce() -> T + Send,
) -> T {
    std::thread::scope(|scope| {
        let (finished, done) = mpsc::channel();
        let unmounting = scope.spawn(move || {
            let result = unmount();
            let _ = finished.send(());
            result
        });
        // Fails after `grace`, or at once if `unmount` panicked.
        if done.recv_timeout(grace).is_err() {
            bridge.close();
        }
        let result = unmounting
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        bridge.close();
        result
    })
}

/// A change as JavaScript describes it: `kind` is `created`, `deleted`, `renamed` (from
/// `path` to `to`), `changed` (what `invalidate` reports) or `entry` (what `invalidateEntry`
/// reports); `directory` says whether a created, deleted or renamed path is a directory.
#[napi(object)]
pub struct NativeChange {
    /// `created`, `deleted`, `renamed`, `changed` or `entry`.
    pub kind: String,
    /// The path, or a rename's old path.
    pub path: String,
    /// A rename's new path.
    pub to: Option<String>,
    /// The path is a directory.
    pub directory: bool,
}

fn change_from_js(change: NativeChange) -> std::result::Result<Change, String> {
    let NativeChange {
        kind,
        path,
        to,
        directory,
    } = change;
    Ok(match (kind.as_str(), to) {
        ("created", None) => Change::Created { path, directory },
        ("deleted", None) => Change::Deleted { path, directory },
        ("renamed", Some(to)) => Change::Renamed {
            from: path,
            to,
            directory,
        },
        ("changed", None) => Change::Changed { path },
        ("entry", None) => Change::Entry { path },
        (kind, to) => {
            return Err(format!(
                "cannot report a change of kind {kind:?}{}: give one of created, deleted, \
                 changed (with a path) or renamed (with a path and the new path)",
                if to.is_some() { " with a new path" } else { "" }
            ))
        }
    })
}

/// The work of [`NativeMount::notify`], run off the JavaScript thread: FUSE invalidations
/// can wait on requests in flight, which the JavaScript thread answers.
pub struct Notify {
    notifier: mountkit::Notifier,
    change: Change,
}

impl Task for Notify {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        self.notifier.notify(&self.change).map_err(|e| {
            Error::new(
                Status::GenericFailure,
                format!("could not report that {}: {e}", self.change),
            )
        })
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// The work of [`NativeMount::unmount`], run off the JavaScript thread.
pub struct Unmount {
    backend: Arc<Mutex<Option<mountkit::Mount>>>,
    crossing: Arc<Crossing>,
}

impl Task for Unmount {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        stop(&self.backend, self.crossing.bridge(), UNMOUNT_GRACE)
            .map_err(|e| Error::new(Status::GenericFailure, e))
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }

    /// Back on the JavaScript thread, where no drain is lending write data meanwhile.
    fn finally(self, _env: Env) -> Result<()> {
        self.crossing.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use mountkit_core::Dispatch;

    use super::*;
    use crate::bridge::tests::{bridge, drain_ids, request};

    #[test]
    fn unmounting_answers_requests_that_wait_for_javascript_after_the_grace() {
        let (bridge, _) = bridge(Duration::from_secs(5));
        let (stalled, answer) = request(1, "/stalled");
        bridge.dispatch(stalled);
        let started = Instant::now();
        // Like Dokan's, this unmount waits for the backend thread that waits for JavaScript,
        // where no handler answers.
        let unmounted =
            unmount_then_close(&bridge, Duration::from_millis(200), move || answer.recv());
        let waited = started.elapsed();
        assert_eq!(unmounted, Ok(Err(Errno::EIO)), "the bridge answered");
        assert!(
            waited >= Duration::from_millis(200),
            "handlers had the grace period: {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(2),
            "the unmount did not wait for the request timeout: {waited:?}"
        );
        let (late, late_answer) = request(1, "/late");
        bridge.dispatch(late);
        assert_eq!(late_answer.recv().unwrap(), Err(Errno::EIO));
    }

    #[test]
    fn handlers_may_answer_during_the_grace() {
        let (bridge, _) = bridge(Duration::from_secs(30));
        let (slow, answer) = request(1, "/slow");
        bridge.dispatch(slow);
        let id = drain_ids(&bridge)[0];
        let started = Instant::now();
        let unmounted = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                bridge.settle(id, |_| Ok(Err(Errno::ENOENT)))
            });
            unmount_then_close(&bridge, Duration::from_secs(10), move || answer.recv())
        });
        assert_eq!(unmounted, Ok(Err(Errno::ENOENT)), "the handler's answer");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "done when the unmount is, not after the grace"
        );
    }

    #[test]
    fn without_a_grace_the_bridge_closes_at_once() {
        let (bridge, _) = bridge(Duration::from_secs(30));
        let (stalled, answer) = request(1, "/stalled");
        bridge.dispatch(stalled);
        let started = Instant::now();
        let unmounted = unmount_then_close(&bridge, Duration::ZERO, move || answer.recv());
        assert_eq!(unmounted, Ok(Err(Errno::EIO)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
