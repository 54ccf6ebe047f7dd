//! The crossing between backend threads and the JavaScript thread.
//!
//! Backend threads call [`Bridge::dispatch`]; it parks the request in a table and queues its
//! id. Only the first request queued while JavaScript is not already scheduled triggers a
//! wake-up; JavaScript then drains until the queue is empty, so one threadsafe-function call
//! serves every request that arrives meanwhile. Replies come back through [`Bridge::settle`]
//! on the JavaScript thread and complete the backend's reply right there.
//!
//! Every request is answered: by its handler, by the timeout sweeper, or with `EIO` when the
//! bridge closes.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use mountkit_core::{
    runtime, Bytes, Dispatch, Errno, FsResult, Operation, Reply, ReplyKind, Request,
    RequestContext, RequestPump, Responder,
};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use crate::wire::{LocalAnswer, OperationCode, OPERATIONS};
use crate::write_pool::WritePool;

/// Identifies one request forwarded to JavaScript. Ids count up from 1 and are never reused
/// within a mount, so a reply that arrives after its request timed out can never be taken for
/// another request's: at a million requests a second, ids stay below 2^53, the largest
/// integer a JavaScript number holds exactly, for 285 years.
pub(crate) type RequestId = u64;

/// An answer JavaScript hands back for a request: a reply it built, or read bytes it lends
/// for the length of the call.
enum Answer<'a> {
    Reply(FsResult<Reply>),
    Data(&'a [u8]),
}

/// Something that happened on the native side that the JavaScript side reports as a fault.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Fault {
    pub operation: &'static str,
    pub path: String,
    pub errno: Errno,
    pub message: String,
}

/// A request waiting for its answer.
pub struct Pending {
    pub operation: Operation,
    /// The operation's wire code, found once at dispatch.
    pub code: OperationCode,
    pub context: RequestContext,
    /// Bytes of write data the request carried, kept after the data itself moved to
    /// JavaScript so a reply claiming more can be refused.
    pub payload_len: usize,
    /// JavaScript answers with the stat of the operation's path, asked right after the
    /// operation succeeds (see `Dispatch::dispatch_then_stat`).
    pub then_stat: bool,
    responder: Responder,
    deadline: Instant,
}

impl Pending {
    /// What a successful answer must be: a stat in place of success when JavaScript is to
    /// follow the operation with a getattr.
    fn expected_reply(&self) -> ReplyKind {
        match self.operation.expected_reply() {
            ReplyKind::Empty if self.then_stat => ReplyKind::Stat,
            kind => kind,
        }
    }
}

/// Wakes the JavaScript thread. Implemented by the threadsafe function in production and by
/// a counter in tests.
pub(crate) trait Waker: Send + Sync + 'static {
    fn wake(&self);
}

/// What the bridge answers, for want of a handler.
impl LocalAnswer {
    fn reply(self) -> Option<FsResult<Reply>> {
        match self {
            LocalAnswer::Forward => None,
            LocalAnswer::NotSupported => Some(Err(Errno::ENOSYS)),
            LocalAnswer::Success => Some(Ok(Reply::Empty)),
            LocalAnswer::Opened => Some(Ok(Reply::Opened(Default::default()))),
        }
    }
}

/// The most requests one spin reads through the pump once one came: enough for a batch of
/// requests from many callers, few enough that the first waits little for the rest.
const PUMP_BURST: usize = 16;

pub(crate) struct Limits {
    pub timeout: Duration,
    pub timeout_errno: Errno,
    /// The thread id of the JavaScript thread that serves this mount, where the backend
    /// reports the calling thread of each request (FUSE on Linux): a request from it is a
    /// synchronous call into our own mount, which can never be answered. `None` where requests
    /// carry a process id (WinFsp, Dokan), which cannot tell the serving thread from libuv's
    /// pool in the same process; no request is refused there. Never zero, the id those
    /// backends give requests of unknown origin.
    pub serving_thread: Option<NonZeroU32>,
    /// Per operation code, what to answer without JavaScript; empty forwards everything.
    pub local_answers: Vec<LocalAnswer>,
    /// Whether the spin after a batch reads the backend's requests itself through the pump
    /// the backend attaches (`readWhileSpinning`).
    pub read_while_spinning: bool,
}

pub(crate) struct Bridge {
    /// Keyed by request id; ids are sequential, so a cheap hash spreads them well enough.
    pending: Mutex<FxHashMap<RequestId, Pending>>,
    queue: Mutex<Vec<RequestId>>,
    /// The ids one drain took from `queue`, kept between drains so that its capacity is
    /// reused. Only the draining thread locks it.
    taken: Mutex<Vec<RequestId>>,
    /// Length of `queue`, readable without its lock.
    queued: AtomicUsize,
    faults: Mutex<Vec<Fault>>,
    scheduled: AtomicBool,
    closed: AtomicBool,
    /// The backend's request pump, used while a drain spins (see [`Limits`]).
    pump: Mutex<Option<Arc<dyn RequestPump>>>,
    /// Whether the pump was told JavaScript pumps ([`RequestPump::pumping`]): from a drain's
    /// first spin until JavaScript goes back to its event loop, or the mount closes.
    pumping: AtomicBool,
    next_id: AtomicU64,
    waker: Mutex<Option<Box<dyn Waker>>>,
    limits: Limits,
    /// Where write data is copied for JavaScript; `None` where JavaScript cannot see
    /// Rust-owned memory (see `payload::external_allowed`), and each write is copied alone.
    write_pool: Option<Arc<WritePool>>,
}

/// What one [`Bridge::drain`] handed over.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Requests visited.
    pub count: usize,
    /// Whether more requests are queued than the drain could take.
    pub more: bool,
}

impl Bridge {
    /// Queues `request` for JavaScript, or answers it at once when JavaScript has no handler
    /// for it, the bridge is closed, or the caller is the serving thread itself.
    fn park(&self, request: Request, then_stat: bool) {
        let Request {
            context,
            operation,
            responder,
        } = request;
        if self.closed.load(Ordering::SeqCst) {
            return responder.respond(Err(Errno::EIO));
        }
        let code = OperationCode::of(&operation);
        let local = self.limits.local_answers.get(code as usize);
        if let Some(answer) = local.and_then(|a| a.reply()) {
            return responder.respond(answer);
        }
        if self
            .limits
            .serving_thread
            .is_some_and(|thread| thread.get() == context.pid)
        {
            self.report(Fault {
                operation: operation.name(),
                path: operation.path().to_owned(),
                errno: Errno::EDEADLK,
                message: "a synchronous fs call from the JavaScript thread that serves this mount \
                          can never be answered; use the async fs API (fs.promises) on your own mount"
                    .to_owned(),
            });
            return responder.respond(Err(Errno::EDEADLK));
        }
        let deadline = Instant::now() + self.limits.timeout;
        let payload_len = match &operation {
            Operation::Write { data, .. } => data.len(),
            _ => 0,
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut pending = self.pending.lock();
        pending.insert(
            id,
            Pending {
                operation,
                code,
                context,
                payload_len,
                then_stat,
                responder,
                deadline,
            },
        );
        drop(pending);
        {
            let mut queue = self.queue.lock();
            queue.push(id);
            self.queued.store(queue.len(), Ordering::Relaxed);
        }
        self.schedule();
    }

    pub(crate) fn new(
        limits: Limits,
        waker: Box<dyn Waker>,
        write_pool: Option<Arc<WritePool>>,
    ) -> Arc<Bridge> {
        let bridge = Arc::new(Bridge {
            pending: Mutex::new(FxHashMap::default()),
            queue: Mutex::new(Vec::new()),
            taken: Mutex::new(Vec::new()),
            queued: AtomicUsize::new(0),
            faults: Mutex::new(Vec::new()),
            scheduled: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            pump: Mutex::new(None),
            pumping: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            waker: Mutex::new(Some(waker)),
            limits,
            write_pool,
        });
        spawn_sweeper(Arc::downgrade(&bridge));
        bridge
    }

    /// Hands JavaScript up to `max` of the requests queued since the last batch, oldest
    /// first: `visit` sees each one and may move bulk payloads (write data) out of the parked
    /// request; the table keeps only what is needed to answer and to report faults. With
    /// nothing queued, waits up to `spin` for a request, spinning rather than sleeping: one
    /// that arrives within the window is served without a thread wake-up.
    ///
    /// While JavaScript keeps draining, backend threads do not wake it again: only a drain
    /// that returns none re-arms the wake-up. JavaScript must therefore drain until it gets
    /// none, or hand the turn back with [`Bridge::rewake`].
    pub(crate) fn drain(
        &self,
        max: usize,
        spin: Duration,
        mut visit: impl FnMut(RequestId, &mut Pending),
    ) -> Drained {
        let mut spun = spin.is_zero();
        let mut taken = self.taken.lock();
        loop {
            let more = {
                let mut queue = self.queue.lock();
                if queue.is_empty() {
                    if !spun {
                        // Spin with the wake-up still armed, so that a request arriving
                        // meanwhile does not also wake JavaScript through the event loop.
                        drop(queue);
                        spun = true;
                        self.spin_for_requests(spin);
                        continue;
                    }
                    // Under the queue lock: a request queued after this sees the flag clear
                    // and wakes JavaScript; one queued before is in the queue.
                    self.scheduled.store(false, Ordering::SeqCst);
                    self.stop_pumping();
                    return Drained {
                        count: 0,
                        more: false,
                    };
                }
                let take = queue.len().min(max);
                taken.extend(queue.drain(..take));
                self.queued.store(queue.len(), Ordering::Relaxed);
                !queue.is_empty()
            };
            let mut pending = self.pending.lock();
            let mut count = 0;
            for id in taken.drain(..) {
                // A request that timed out while queued has left the table.
                if let Some(p) = pending.get_mut(&id) {
                    visit(id, p);
                    count += 1;
                }
            }
            // Returning none promises the wake-up is re-armed: only the empty queue does that.
            if count > 0 {
                return Drained { count, more };
            }
        }
    }

    /// Waits up to `limit` for a request to be queued, spinning rather than sleeping.
    ///
    /// With a pump attached, each turn first reads the requests the kernel has waiting, on
    /// this thread (up to [`PUMP_BURST`]): they are queued here without a backend thread
    /// reading them and handing them over. The pump is told JavaScript pumps, so the backend
    /// may keep its own readers away until [`Bridge::stop_pumping`].
    /// Otherwise each turn yields the CPU instead of pausing on it: on a machine with few
    /// cores the backend thread about to queue the next request may be waiting for this very
    /// CPU, and a pure spin would hold it off for the whole window. With nothing else
    /// runnable, the yield returns at once.
    fn spin_for_requests(&self, limit: Duration) {
        let pump = self.pump.lock().clone();
        if let Some(pump) = &pump {
            self.pumping.store(true, Ordering::Relaxed);
            pump.pumping(true);
        }
        let start = Instant::now();
        while self.queued.load(Ordering::Relaxed) == 0 && start.elapsed() < limit {
            match &pump {
                Some(pump) if pump.pump() => {
                    // Take what else is waiting too, so the next drain has a batch.
                    for _ in 1..PUMP_BURST {
                        if !pump.pump() {
                            break;
                        }
                    }
                }
                _ => std::thread::yield_now(),
            }
        }
    }

    /// Gives the turn back to the event loop while requests may still be queued: the next
    /// request (or one already queued) wakes JavaScript again.
    pub(crate) fn rewake(&self) {
        self.stop_pumping();
        self.scheduled.store(false, Ordering::SeqCst);
        if !self.queue.lock().is_empty() {
            self.schedule();
        }
    }

    /// Tells the pump that this thread no longer comes back to it: JavaScript is going back
    /// to its event loop, and the backend's own threads must read the next requests.
    fn stop_pumping(&self) {
        if self.pumping.swap(false, Ordering::Relaxed) {
            if let Some(pump) = &*self.pump.lock() {
                pump.pumping(false);
            }
        }
    }

    /// The pool write data is copied into, if this mount has one.
    pub(crate) fn write_pool(&self) -> Option<&Arc<WritePool>> {
        self.write_pool.as_ref()
    }

    /// Whether faults are waiting for [`Bridge::take_faults`].
    pub(crate) fn has_faults(&self) -> bool {
        !self.faults.lock().is_empty()
    }

    /// The faults recorded since the last call, oldest first.
    pub(crate) fn take_faults(&self) -> Vec<Fault> {
        std::mem::take(&mut *self.faults.lock())
    }

    /// Completes request `id` with the answer `build` makes from it (`None` when the request
    /// is no longer pending): a reply, or an errno for the caller. A reply that fails `build`'s
    /// checks, or is not the shape the operation promised, answers the request `EIO` and comes
    /// back as the error, so JavaScript can report it. `Ok(false)`: the request had already
    /// been answered (it timed out, or the mount closed).
    pub(crate) fn settle(
        &self,
        id: RequestId,
        build: impl FnOnce(Option<&Pending>) -> Result<FsResult<Reply>, String>,
    ) -> Result<bool, String> {
        self.complete(id, |pending| build(pending).map(Answer::Reply))
    }

    /// Completes request `id` with `data`, which stays borrowed: a backend that writes its
    /// reply while the answer is borrowed (reads on FUSE, WinFsp and Dokan, see
    /// `Responder::for_data`) takes the bytes in place, any other gets a copy. `check` may refuse them for the request they
    /// answer; otherwise as [`Bridge::settle`].
    pub(crate) fn settle_data(
        &self,
        id: RequestId,
        data: &[u8],
        check: impl FnOnce(&Pending) -> Result<(), String>,
    ) -> Result<bool, String> {
        self.complete(id, |pending| {
            pending.map_or(Ok(()), check)?;
            Ok(Answer::Data(data))
        })
    }

    /// What [`Bridge::settle`] and [`Bridge::settle_data`] share: takes request `id` out of
    /// the table, checks `build`'s answer against the reply its operation promised, and
    /// delivers it, or `EIO` with the reason.
    fn complete<'a>(
        &self,
        id: RequestId,
        build: impl FnOnce(Option<&Pending>) -> Result<Answer<'a>, String>,
    ) -> Result<bool, String> {
        let pending = self.pending.lock().remove(&id);
        let answer = build(pending.as_ref());
        let Some(pending) = pending else {
            return answer.map(|_| false);
        };
        let expected = pending.expected_reply();
        let kind = match &answer {
            Ok(Answer::Reply(Ok(reply))) => Some(reply.kind()),
            Ok(Answer::Data(_)) => Some(ReplyKind::Data),
            Ok(Answer::Reply(Err(_))) | Err(_) => None,
        };
        let checked = match kind {
            Some(kind) if kind != expected => {
                Err(format!("expected a {expected:?} reply, got {kind:?}"))
            }
            _ => answer,
        };
        match checked {
            Ok(Answer::Reply(answer)) => pending.responder.respond(answer),
            Ok(Answer::Data(data)) => pending.responder.respond_with_data(data),
            Err(message) => {
                pending.responder.respond(Err(Errno::EIO));
                return Err(message);
            }
        }
        Ok(true)
    }

    /// Records a fault for JavaScript to report and makes sure it is woken to see it.
    pub(crate) fn report(&self, fault: Fault) {
        self.faults.lock().push(fault);
        self.schedule();
    }

    /// Answers everything still pending with `EIO`, stops waking JavaScript, and retires the
    /// write pool.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.stop_pumping();
        let pending: Vec<Pending> = self.pending.lock().drain().map(|(_, p)| p).collect();
        for p in pending {
            p.responder.respond(Err(Errno::EIO));
        }
        self.queue.lock().clear();
        self.queued.store(0, Ordering::Relaxed);
        self.waker.lock().take();
        if let Some(pool) = &self.write_pool {
            pool.retire();
        }
    }

    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.pending.lock().len()
    }

    fn schedule(&self) {
        if !self.scheduled.swap(true, Ordering::SeqCst) {
            if let Some(waker) = &*self.waker.lock() {
                waker.wake();
            }
        }
    }

    fn expire(&self, now: Instant) {
        let expired: Vec<Pending> = {
            let mut pending = self.pending.lock();
            let ids: Vec<RequestId> = pending
                .iter()
                .filter(|(_, p)| p.deadline <= now)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| pending.remove(&id))
                .collect()
        };
        for p in expired {
            let errno = self.limits.timeout_errno;
            let fault = Fault {
                operation: p.operation.name(),
                path: p.operation.path().to_owned(),
                errno,
                message: format!(
                    "no answer within {} ms; the caller got {errno:?}",
                    self.limits.timeout.as_millis()
                ),
            };
            // The fault is queued before the caller sees the error, so whoever observes the
            // error can also observe why.
            self.report(fault);
            p.responder.respond(Err(errno));
        }
    }
}

impl Dispatch for Bridge {
    fn dispatch(&self, request: Request) {
        self.park(request, false);
    }

    /// Parks the request once, flagged so that JavaScript runs the handler and then `getattr`
    /// in the same turn and answers with both: one crossing instead of two.
    fn dispatch_then_stat(self: Arc<Self>, request: Request) {
        self.park(request, true);
    }

    fn attach_pump(&self, pump: Option<Arc<dyn RequestPump>>) {
        if self.limits.read_while_spinning || pump.is_none() {
            self.stop_pumping();
            *self.pump.lock() = pump;
        }
    }

    fn handles(&self, operation: &str) -> bool {
        let Some(wire) = OPERATIONS.iter().find(|wire| wire.handler == operation) else {
            return true;
        };
        self.limits
            .local_answers
            .get(wire.code as usize)
            .is_none_or(|answer| *answer == LocalAnswer::Forward)
    }

    fn report_fault(&self, operation: &'static str, path: &str, errno: Errno, message: String) {
        self.report(Fault {
            operation,
            path: path.to_owned(),
            errno,
            message,
        });
    }

    fn write_data(&self, data: &[u8]) -> Bytes {
        self.write_pool
            .as_ref()
            .and_then(|pool| pool.copy_in(data))
            .unwrap_or_else(|| Bytes::copy_from_slice(data))
    }
}

fn spawn_sweeper(bridge: Weak<Bridge>) {
    let period = bridge
        .upgrade()
        .map(|b| {
            (b.limits.timeout / 8).clamp(Duration::from_millis(10), Duration::from_millis(250))
        })
        .unwrap_or(Duration::from_millis(250));
    runtime::shared().spawn(async move {
        let mut ticks = tokio::time::interval(period);
        loop {
            ticks.tick().await;
            let Some(bridge) = bridge.upgrade() else {
                break;
            };
            if bridge.closed.load(Ordering::SeqCst) {
                break;
            }
            bridge.expire(Instant::now());
        }
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mountkit_core::{FileKind, Stat, OPERATION_NAMES};
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;

    struct CountingWaker(Arc<AtomicUsize>);
    impl Waker for CountingWaker {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn bridge(timeout: Duration) -> (Arc<Bridge>, Arc<AtomicUsize>) {
        bridge_with_pool(timeout, None)
    }

    pub(crate) fn bridge_with_pool(
        timeout: Duration,
        write_pool: Option<Arc<WritePool>>,
    ) -> (Arc<Bridge>, Arc<AtomicUsize>) {
        let wakes = Arc::new(AtomicUsize::new(0));
        let mut local_answers = vec![LocalAnswer::Forward; OPERATIONS.len()];
        local_answers[OperationCode::Flush as usize] = LocalAnswer::Success;
        local_answers[OperationCode::Mkdir as usize] = LocalAnswer::NotSupported;
        let limits = Limits {
            timeout,
            timeout_errno: Errno::ETIMEDOUT,
            serving_thread: NonZeroU32::new(4242),
            local_answers,
            read_while_spinning: true,
        };
        (
            Bridge::new(limits, Box::new(CountingWaker(wakes.clone())), write_pool),
            wakes,
        )
    }

    pub(crate) fn request(pid: u32, path: &str) -> (Request, mpsc::Receiver<FsResult<Reply>>) {
        let (tx, rx) = mpsc::channel();
        let request = Request {
            context: RequestContext {
                uid: 0,
                gid: 0,
                pid,
            },
            operation: Operation::Getattr {
                path: path.into(),
                handle: None,
            },
            responder: Responder::new(move |r| {
                let _ = tx.send(r);
            }),
        };
        (request, rx)
    }

    #[test]
    fn read_data_is_answered_in_place_checked_and_only_for_data_requests() {
        let (b, _) = bridge(Duration::from_secs(30));
        let read = |size: u32| {
            let (tx, rx) = mpsc::channel();
            b.dispatch(Request {
                context: RequestContext::default(),
                operation: Operation::Read {
                    path: "/f".into(),
                    handle: 1,
                    offset: 0,
                    size,
                },
                responder: Responder::for_data(move |r| {
                    let _ = tx.send(r.map(|d| (d.as_ptr() as usize, d.to_vec())));
                }),
            });
            (drain_ids(&b)[0], rx)
        };
        let (id, answer) = read(8);
        let check = |p: &Pending| match p.operation {
            Operation::Read { size, .. } if size < 5 => Err("too long".to_owned()),
            _ => Ok(()),
        };
        let bytes = b"bytes";
        assert_eq!(b.settle_data(id, bytes, check), Ok(true));
        assert_eq!(
            answer.recv().unwrap(),
            Ok((bytes.as_ptr() as usize, bytes.to_vec())),
            "the very bytes JavaScript lent, not a copy"
        );
        assert_eq!(
            b.settle_data(id, b"again", check),
            Ok(false),
            "answered once"
        );
        let (id, answer) = read(2);
        assert_eq!(
            b.settle_data(id, b"bytes", check),
            Err("too long".to_owned())
        );
        assert_eq!(answer.recv().unwrap(), Err(Errno::EIO));
        let (getattr, answer) = request(1, "/f");
        b.dispatch(getattr);
        let id = drain_ids(&b)[0];
        let refused = b.settle_data(id, b"bytes", |_| Ok(())).unwrap_err();
        assert!(refused.contains("Stat"), "{refused}");
        assert_eq!(answer.recv().unwrap(), Err(Errno::EIO));
    }

    #[test]
    fn an_entry_made_then_stated_crosses_once_and_is_answered_with_a_stat() {
        let (b, _) = bridge(Duration::from_secs(30));
        let symlink = || {
            let (tx, rx) = mpsc::channel();
            b.clone().dispatch_then_stat(Request {
                context: RequestContext::default(),
                operation: Operation::Symlink {
                    target: "t".into(),
                    path: "/l".into(),
                },
                responder: Responder::new(move |r| {
                    let _ = tx.send(r);
                }),
            });
            let mut drained = Vec::new();
            b.drain(usize::MAX, Duration::ZERO, |id, p| {
                drained.push((id, p.then_stat))
            });
            assert_eq!(
                drained.len(),
                1,
                "one request for the operation and its getattr"
            );
            assert!(
                drained[0].1,
                "flagged for JavaScript to follow with getattr"
            );
            (drained[0].0, rx)
        };
        let (id, answer) = symlink();
        let stat = Stat::new(FileKind::Symlink);
        assert_eq!(
            b.settle(id, |_| Ok(Ok(Reply::Stat(stat.clone())))),
            Ok(true)
        );
        assert_eq!(answer.recv().unwrap(), Ok(Reply::Stat(stat)));
        let (id, answer) = symlink();
        let refused = b.settle(id, |_| Ok(Ok(Reply::Empty))).unwrap_err();
        assert!(refused.contains("Stat"), "{refused}");
        assert_eq!(answer.recv().unwrap(), Err(Errno::EIO));
        let (id, answer) = symlink();
        assert_eq!(b.settle(id, |_| Ok(Err(Errno::EEXIST))), Ok(true));
        assert_eq!(answer.recv().unwrap(), Err(Errno::EEXIST));
    }

    #[test]
    fn ids_count_on_past_u32_and_late_replies_find_nothing() {
        let (b, _) = bridge(Duration::from_secs(30));
        let first = u64::from(u32::MAX);
        b.next_id.store(first, Ordering::Relaxed);
        let (a, answer_a) = request(1, "/a");
        let (c, answer_c) = request(1, "/c");
        b.dispatch(a);
        b.dispatch(c);
        assert_eq!(drain_ids(&b), [first, first + 1]);
        assert_eq!(b.settle(first, |_| Ok(Err(Errno::ENOENT))), Ok(true));
        assert_eq!(answer_a.recv().unwrap(), Err(Errno::ENOENT));
        assert_eq!(
            b.settle(first, |_| Ok(Err(Errno::EIO))),
            Ok(false),
            "a second answer to the same id is late, not someone else's"
        );
        assert_eq!(b.settle(first + 1, |_| Ok(Err(Errno::EACCES))), Ok(true));
        assert_eq!(answer_c.recv().unwrap(), Err(Errno::EACCES));
    }

    pub(crate) fn drain_ids(b: &Bridge) -> Vec<RequestId> {
        let mut ids = Vec::new();
        b.drain(usize::MAX, Duration::ZERO, |id, _| ids.push(id));
        ids
    }

    #[test]
    fn one_wake_up_delivers_every_queued_request() {
        let (b, wakes) = bridge(Duration::from_secs(30));
        let receivers: Vec<_> = (0..5)
            .map(|i| {
                let (r, rx) = request(1, &format!("/{i}"));
                b.dispatch(r);
                rx
            })
            .collect();
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        let ids = drain_ids(&b);
        assert_eq!(ids.len(), 5);
        for (id, rx) in ids.iter().zip(&receivers) {
            assert_eq!(b.settle(*id, |_| Ok(Err(Errno::ENOENT))), Ok(true));
            assert_eq!(rx.recv().unwrap(), Err(Errno::ENOENT));
        }
        let (r, _rx) = request(1, "/meanwhile");
        b.dispatch(r);
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "no wake-up while JavaScript is still draining"
        );
        assert_eq!(drain_ids(&b).len(), 1);
        assert!(
            drain_ids(&b).is_empty(),
            "an empty drain re-arms the wake-up"
        );
        let (r, _rx) = request(1, "/again");
        b.dispatch(r);
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            2,
            "a drained bridge wakes again"
        );
    }

    #[test]
    fn a_drain_takes_at_most_what_fits_and_says_more_are_queued() {
        let (b, _) = bridge(Duration::from_secs(30));
        for i in 0..5 {
            b.dispatch(request(1, &format!("/{i}")).0);
        }
        let mut paths = Vec::new();
        let first = b.drain(3, Duration::ZERO, |_, p| {
            paths.push(p.operation.path().to_owned())
        });
        assert_eq!(
            first,
            Drained {
                count: 3,
                more: true
            }
        );
        let second = b.drain(3, Duration::ZERO, |_, p| {
            paths.push(p.operation.path().to_owned())
        });
        assert_eq!(
            second,
            Drained {
                count: 2,
                more: false
            }
        );
        assert_eq!(
            paths,
            ["/0", "/1", "/2", "/3", "/4"],
            "oldest first, each once"
        );
    }

    #[test]
    fn handing_the_turn_back_wakes_for_what_is_still_queued() {
        let (b, wakes) = bridge(Duration::from_secs(30));
        b.dispatch(request(1, "/a").0);
        b.dispatch(request(1, "/b").0);
        assert_eq!(b.drain(1, Duration::ZERO, |_, _| {}).count, 1);
        b.rewake();
        assert_eq!(wakes.load(Ordering::SeqCst), 2, "/b is still queued");
        assert_eq!(b.drain(1, Duration::ZERO, |_, _| {}).count, 1);
        assert_eq!(b.drain(1, Duration::ZERO, |_, _| {}).count, 0);
        b.rewake();
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            2,
            "nothing queued, no wake-up"
        );
    }

    #[test]
    fn a_request_arriving_while_a_drain_spins_is_taken_without_a_wake_up() {
        let (b, wakes) = bridge(Duration::from_secs(30));
        b.dispatch(request(1, "/first").0);
        assert_eq!(drain_ids(&b).len(), 1);
        let sender = b.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.dispatch(request(1, "/second").0)
        });
        let mut paths = Vec::new();
        let drained = b.drain(usize::MAX, Duration::from_secs(10), |_, p| {
            paths.push(p.operation.path().to_owned())
        });
        thread.join().unwrap();
        assert_eq!(drained.count, 1);
        assert_eq!(paths, ["/second"]);
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "the spinning drain took it; no second wake-up was queued"
        );
        let empty = b.drain(usize::MAX, Duration::from_millis(1), |_, _| {});
        assert_eq!(empty.count, 0, "an empty spin returns none");
        b.dispatch(request(1, "/third").0);
        assert_eq!(wakes.load(Ordering::SeqCst), 2, "and re-arms the wake-up");
    }

    /// A backend's pump with one request waiting, which it dispatches into the bridge.
    struct OneRequestPump {
        bridge: Mutex<Option<Arc<Bridge>>>,
        calls: AtomicUsize,
        /// What the bridge said of its pumping, in order.
        said: Mutex<Vec<bool>>,
    }

    impl RequestPump for OneRequestPump {
        fn pumping(&self, active: bool) {
            self.said.lock().push(active);
        }

        fn pump(&self) -> bool {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match self.bridge.lock().take() {
                Some(bridge) => {
                    bridge.dispatch(request(1, "/pumped").0);
                    true
                }
                None => false,
            }
        }
    }

    fn one_request_pump(b: &Arc<Bridge>) -> Arc<OneRequestPump> {
        Arc::new(OneRequestPump {
            bridge: Mutex::new(Some(b.clone())),
            calls: AtomicUsize::new(0),
            said: Mutex::new(Vec::new()),
        })
    }

    #[test]
    fn a_spinning_drain_reads_the_backends_waiting_request_through_its_pump() {
        let (b, wakes) = bridge(Duration::from_secs(30));
        b.dispatch(request(1, "/first").0);
        assert_eq!(drain_ids(&b).len(), 1);
        let pump = one_request_pump(&b);
        b.attach_pump(Some(pump.clone()));
        let mut paths = Vec::new();
        let drained = b.drain(usize::MAX, Duration::from_secs(10), |_, p| {
            paths.push(p.operation.path().to_owned())
        });
        assert_eq!(drained.count, 1);
        assert_eq!(paths, ["/pumped"]);
        assert_eq!(
            pump.calls.load(Ordering::SeqCst),
            2,
            "once for the request, once more for any other waiting"
        );
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "read here, so nothing woke JavaScript"
        );
        assert_eq!(*pump.said.lock(), [true], "told JavaScript pumps");
        let empty = b.drain(usize::MAX, Duration::from_millis(1), |_, _| {});
        assert_eq!(empty.count, 0);
        assert_eq!(
            *pump.said.lock(),
            [true, true, false],
            "told JavaScript stopped once it goes back to its event loop"
        );
        let calls = pump.calls.load(Ordering::SeqCst);
        b.attach_pump(None);
        b.drain(usize::MAX, Duration::from_millis(1), |_, _| {});
        assert_eq!(
            pump.calls.load(Ordering::SeqCst),
            calls,
            "a detached pump is not called"
        );
    }

    #[test]
    fn handing_the_turn_back_or_closing_stops_the_pumping() {
        for stop in [Bridge::rewake, Bridge::close] {
            let (b, _) = bridge(Duration::from_secs(30));
            let pump = one_request_pump(&b);
            b.attach_pump(Some(pump.clone()));
            b.drain(usize::MAX, Duration::from_secs(10), |_, _| {});
            stop(&b);
            assert_eq!(*pump.said.lock(), [true, false]);
        }
    }

    #[test]
    fn without_read_while_spinning_the_pump_is_never_called() {
        let limits = Limits {
            timeout: Duration::from_secs(30),
            timeout_errno: Errno::ETIMEDOUT,
            serving_thread: None,
            local_answers: Vec::new(),
            read_while_spinning: false,
        };
        let b = Bridge::new(limits, Box::new(CountingWaker(Arc::default())), None);
        let pump = one_request_pump(&b);
        b.attach_pump(Some(pump.clone()));
        let drained = b.drain(usize::MAX, Duration::from_millis(5), |_, _| {});
        assert_eq!(drained.count, 0);
        assert_eq!(pump.calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn an_unanswered_request_times_out_with_a_fault() {
        let (b, _) = bridge(Duration::from_millis(50));
        let (r, rx) = request(1, "/slow");
        b.dispatch(r);
        let id = drain_ids(&b)[0];
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Err(Errno::ETIMEDOUT)
        );
        assert_eq!(
            b.settle(id, |_| Ok(Err(Errno::ENOENT))),
            Ok(false),
            "a late answer is refused"
        );
        assert!(b.has_faults());
        let faults = b.take_faults();
        assert!(!b.has_faults());
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].path, "/slow");
        assert_eq!(faults[0].errno, Errno::ETIMEDOUT);
    }

    #[test]
    fn requests_from_the_serving_thread_fail_with_edeadlk() {
        let (b, _) = bridge(Duration::from_secs(30));
        let (r, rx) = request(4242, "/self");
        b.dispatch(r);
        assert_eq!(rx.recv().unwrap(), Err(Errno::EDEADLK));
        assert!(drain_ids(&b).is_empty());
        assert_eq!(b.take_faults()[0].errno, Errno::EDEADLK);
    }

    #[test]
    fn without_a_serving_thread_no_request_is_refused_not_even_one_of_pid_0() {
        let limits = Limits {
            timeout: Duration::from_secs(30),
            timeout_errno: Errno::ETIMEDOUT,
            serving_thread: None,
            local_answers: Vec::new(),
            read_while_spinning: true,
        };
        let b = Bridge::new(limits, Box::new(CountingWaker(Arc::default())), None);
        // WinFsp gives most requests process id 0, Dokan some of them.
        let (r, rx) = request(0, "/volume");
        b.dispatch(r);
        let ids = drain_ids(&b);
        assert_eq!(ids.len(), 1, "forwarded to JavaScript");
        assert_eq!(b.settle(ids[0], |_| Ok(Err(Errno::ENOENT))), Ok(true));
        assert_eq!(rx.recv().unwrap(), Err(Errno::ENOENT));
        assert!(!b.has_faults());
    }

    #[test]
    fn operations_without_handlers_are_answered_without_javascript() {
        let (b, wakes) = bridge(Duration::from_secs(30));
        let (tx, rx) = mpsc::channel();
        for operation in [
            Operation::Flush {
                path: "/f".into(),
                handle: 3,
            },
            Operation::Mkdir {
                path: "/d".into(),
                mode: 0o755,
            },
        ] {
            let tx = tx.clone();
            b.dispatch(Request {
                context: RequestContext::default(),
                operation,
                responder: Responder::new(move |r| {
                    let _ = tx.send(r);
                }),
            });
        }
        assert_eq!(rx.recv().unwrap(), Ok(Reply::Empty));
        assert_eq!(rx.recv().unwrap(), Err(Errno::ENOSYS));
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            0,
            "JavaScript was never woken"
        );
    }

    #[test]
    fn the_backend_hears_which_operations_reach_javascript() {
        let (b, _) = bridge(Duration::from_secs(30));
        assert!(!b.handles("flush"), "answered Success without JavaScript");
        assert!(!b.handles("mkdir"), "answered ENOSYS without JavaScript");
        assert!(b.handles("getattr"));
        for name in OPERATION_NAMES {
            let forwarded = !matches!(*name, "flush" | "mkdir");
            assert_eq!(b.handles(name), forwarded, "{name}");
        }
    }

    #[test]
    fn closing_answers_everything_pending() {
        let (b, _) = bridge(Duration::from_secs(30));
        let (r1, rx1) = request(1, "/a");
        let (r2, rx2) = request(1, "/b");
        b.dispatch(r1);
        drain_ids(&b);
        b.dispatch(r2);
        b.close();
        assert_eq!(rx1.recv().unwrap(), Err(Errno::EIO));
        assert_eq!(rx2.recv().unwrap(), Err(Errno::EIO));
        let (r3, rx3) = request(1, "/c");
        b.dispatch(r3);
        assert_eq!(
            rx3.recv().unwrap(),
            Err(Errno::EIO),
            "a closed bridge refuses new work"
        );
        assert_eq!(b.in_flight(), 0);
    }

    #[test]
    fn payloads_can_move_out_of_the_table() {
        let (b, _) = bridge(Duration::from_secs(30));
        let (tx, _rx) = mpsc::channel();
        b.dispatch(Request {
            context: RequestContext::default(),
            operation: Operation::Write {
                path: "/f".into(),
                handle: 1,
                offset: 0,
                data: mountkit_core::Bytes::from_static(b"hello"),
            },
            responder: Responder::new(move |r| {
                let _ = tx.send(r);
            }),
        });
        let mut moved = Vec::new();
        b.drain(usize::MAX, Duration::ZERO, |id, p| match &mut p.operation {
            Operation::Write { data, .. } => moved.push((id, std::mem::take(data))),
            _ => panic!("not a write"),
        });
        let (id, data) = &moved[0];
        assert_eq!(&data[..], b"hello");
        let mut parked = None;
        let settled = b.settle(*id, |p| {
            parked = p.map(|p| match &p.operation {
                Operation::Write { data, .. } => data.len(),
                _ => usize::MAX,
            });
            Ok(Ok(Reply::Count(5)))
        });
        assert_eq!(settled, Ok(true));
        assert_eq!(parked, Some(0), "the table no longer holds the payload");
    }

    #[test]
    fn a_reply_of_the_wrong_shape_answers_eio_and_reports_why() {
        let (b, _) = bridge(Duration::from_secs(30));
        let (r, rx) = request(1, "/f");
        b.dispatch(r);
        let id = drain_ids(&b)[0];
        let err = b.settle(id, |_| Ok(Ok(Reply::Empty))).unwrap_err();
        assert!(err.contains("expected a Stat reply"), "{err}");
        assert_eq!(rx.recv().unwrap(), Err(Errno::EIO));
        assert_eq!(
            b.settle(id, |_| Ok(Ok(Reply::Empty))),
            Ok(false),
            "already answered"
        );
    }
}
