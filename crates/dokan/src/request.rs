//! Sending one core request from a Dokan worker thread and blocking that thread, and only
//! that thread, until the answer arrives.
//!
//! Each request has a `Landing`: its [`Responder`] puts the answer there from whatever
//! thread the dispatcher answers on (the JavaScript thread, a tokio worker, or the caller
//! itself), and the Dokan worker waits on it in slices of [`TimeoutPolicy::wake_interval`],
//! extending the driver's timer through a [`Keepalive`] after every slice that ends without an
//! answer, and gives up at [`TimeoutPolicy::deadline`] with `ETIMEDOUT`.
//!
//! A read lends its landing the callback's own buffer ([`read_into`]): the responder copies
//! the answerer's bytes straight into it, with no copy in between. This is why this module
//! has `unsafe` code. The buffer is Dokan's, valid while the callback runs. The callback
//! cannot return, even by unwinding, before it takes the buffer back under the landing's lock,
//! and the responder writes only under that lock while the buffer is still lent.

use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Instant;

use mountkit_core::{
    Dispatch, Errno, FsResult, Operation, Reply, Request, RequestContext, Responder,
};
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::timeout::TimeoutPolicy;

/// Extends the driver's timeout for the request a callback is serving.
pub trait Keepalive {
    /// Asks the driver to wait `milliseconds` more, counted from now. Returns whether the
    /// driver accepted; a refusal is not an error for the waiting callback, which keeps
    /// waiting until its own deadline.
    fn extend(&self, milliseconds: u32) -> bool;
}

/// A [`Keepalive`] for callbacks the driver does not time (volume queries made outside any
/// request, tests): extending is a no-op that succeeds.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoKeepalive;

impl Keepalive for NoKeepalive {
    fn extend(&self, _milliseconds: u32) -> bool {
        true
    }
}

/// The waiting callback's buffer, lent to the responder of its read.
struct LentBuffer {
    start: NonNull<u8>,
    len: usize,
}

// SAFETY: the responder may run on any thread; it writes through the pointer only under the
// landing's lock while the buffer is lent, and the lending callback, blocked until it takes
// the buffer back under that lock, does not touch the buffer meanwhile.
unsafe impl Send for LentBuffer {}

impl LentBuffer {
    /// Copies as much of `bytes` as fits; returns how many.
    fn fill_from(&self, bytes: &[u8]) -> usize {
        let count = bytes.len().min(self.len);
        // SAFETY: the buffer is lent (see `Landing`), so its `len` bytes are valid and only
        // this write touches them; `bytes` is the answerer's memory, not the callback's.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.start.as_ptr(), count) };
        count
    }
}

struct Slot<T> {
    answer: Option<T>,
    /// Present while a read's callback waits; taken back before it stops waiting.
    lent: Option<LentBuffer>,
}

/// Where one request's answer lands, and what its Dokan worker waits on.
struct Landing<T> {
    slot: Mutex<Slot<T>>,
    arrived: Condvar,
}

impl<T> Landing<T> {
    fn new(lent: Option<LentBuffer>) -> Arc<Landing<T>> {
        Arc::new(Landing {
            slot: Mutex::new(Slot { answer: None, lent }),
            arrived: Condvar::new(),
        })
    }

    /// Lands `answer` unless one has landed already.
    fn land(&self, answer: impl FnOnce(&Slot<T>) -> T) {
        let mut slot = self.slot.lock();
        if slot.answer.is_none() {
            slot.answer = Some(answer(&slot));
            self.arrived.notify_one();
        }
    }

    /// Blocks until an answer lands or `deadline` passes, extending the driver's timer
    /// through `keepalive` after each slice without one. Either way the lent buffer, if any,
    /// is taken back first, under the lock, so nothing writes to it after this returns.
    fn wait(
        &self,
        deadline: Instant,
        policy: &TimeoutPolicy,
        keepalive: &dyn Keepalive,
    ) -> Option<T> {
        let mut slot = self.slot.lock();
        loop {
            let wait = policy.next_wait(Instant::now(), deadline);
            if slot.answer.is_some() || wait.is_zero() {
                return take_back(&mut slot);
            }
            if self.arrived.wait_for(&mut slot, wait).timed_out() && slot.answer.is_none() {
                MutexGuard::unlocked(&mut slot, || {
                    keepalive.extend(policy.extension_ms(Instant::now(), deadline));
                });
            }
        }
    }
}

fn take_back<T>(slot: &mut Slot<T>) -> Option<T> {
    slot.lent = None;
    slot.answer.take()
}

/// Takes a read's buffer back however [`read_into`] ends: if a dispatcher or keepalive
/// panics, the callback unwinds (and Dokan reuses the buffer) without passing through
/// [`Landing::wait`].
struct TakeBackOnExit<'a, T>(&'a Landing<T>);

impl<T> Drop for TakeBackOnExit<'_, T> {
    fn drop(&mut self) {
        self.0.slot.lock().lent = None;
    }
}

/// A request that has been handed to the dispatcher and not yet waited for.
pub struct Pending {
    landing: Arc<Landing<FsResult<Reply>>>,
    deadline: Instant,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let answered = self.landing.slot.lock().answer.is_some();
        f.debug_struct("Pending")
            .field("deadline", &self.deadline)
            .field("answered", &answered)
            .finish()
    }
}

/// Hands `operation` to `dispatch` and returns at once; the answer is collected with
/// [`Pending::wait`]. Several requests can be started before the first is waited for, so a
/// dispatcher that batches (the Node.js bridge) receives them together.
pub fn start(
    dispatch: &dyn Dispatch,
    policy: &TimeoutPolicy,
    context: RequestContext,
    operation: Operation,
) -> Pending {
    let landing = Landing::new(None);
    let deadline = policy.deadline(Instant::now());
    let target = landing.clone();
    dispatch.dispatch(Request {
        context,
        operation,
        // The waiter may have given up already; then the answer lands where nobody looks.
        responder: Responder::new(move |result| target.land(|_| result)),
    });
    Pending { landing, deadline }
}

impl Pending {
    /// Blocks the calling thread until the dispatcher answers, extending the driver's timer
    /// through `keepalive` after each [`TimeoutPolicy::wake_interval`] that passes without an
    /// answer. Gives up with `ETIMEDOUT` at the request's deadline. The answer is whatever the
    /// dispatcher gave, including `EIO` from a responder dropped unanswered.
    pub fn wait(self, policy: &TimeoutPolicy, keepalive: &dyn Keepalive) -> FsResult<Reply> {
        self.landing
            .wait(self.deadline, policy, keepalive)
            .unwrap_or(Err(Errno::ETIMEDOUT))
    }
}

/// [`start`] followed by [`Pending::wait`].
pub fn call(
    dispatch: &dyn Dispatch,
    policy: &TimeoutPolicy,
    keepalive: &dyn Keepalive,
    context: RequestContext,
    operation: Operation,
) -> FsResult<Reply> {
    start(dispatch, policy, context, operation).wait(policy, keepalive)
}

/// Sends a read and blocks until its bytes are in `buffer`, as [`call`] does: the responder
/// copies the answerer's bytes (read in place, [`Responder::for_data`]) straight into
/// `buffer` while this thread waits. Returns how many bytes arrived; a longer answer is cut
/// to `buffer`.
pub fn read_into(
    dispatch: &dyn Dispatch,
    policy: &TimeoutPolicy,
    keepalive: &dyn Keepalive,
    context: RequestContext,
    operation: Operation,
    buffer: &mut [u8],
) -> FsResult<usize> {
    let landing = Landing::new(Some(LentBuffer {
        len: buffer.len(),
        start: NonNull::from(buffer).cast(),
    }));
    let _take_back = TakeBackOnExit(&landing);
    let deadline = policy.deadline(Instant::now());
    let target = landing.clone();
    dispatch.dispatch(Request {
        context,
        operation,
        responder: Responder::for_data(move |result| {
            target.land(|slot| {
                result.map(|bytes| slot.lent.as_ref().map_or(0, |lent| lent.fill_from(bytes)))
            })
        }),
    });
    landing
        .wait(deadline, policy, keepalive)
        .unwrap_or(Err(Errno::ETIMEDOUT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    /// Answers nothing, keeping every responder until told to answer.
    #[derive(Default)]
    struct Parked {
        held: Mutex<Vec<Responder>>,
    }

    impl Dispatch for Parked {
        fn dispatch(&self, request: Request) {
            self.held.lock().push(request.responder);
        }
    }

    struct Counting(Cell<u32>, Cell<u32>);

    impl Keepalive for Counting {
        fn extend(&self, milliseconds: u32) -> bool {
            self.0.set(self.0.get() + 1);
            self.1.set(milliseconds);
            true
        }
    }

    fn getattr() -> Operation {
        Operation::Getattr {
            path: "/".into(),
            handle: None,
        }
    }

    #[test]
    fn an_answer_from_another_thread_ends_the_wait() {
        let parked = std::sync::Arc::new(Parked::default());
        let policy = TimeoutPolicy::new(Duration::from_secs(5));
        let pending = start(&*parked, &policy, RequestContext::default(), getattr());
        let answering = parked.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let responder = answering.held.lock().pop().unwrap();
            responder.respond(Ok(Reply::Empty));
        });
        assert_eq!(pending.wait(&policy, &NoKeepalive), Ok(Reply::Empty));
        thread.join().unwrap();
    }

    #[test]
    fn a_silent_dispatcher_is_kept_alive_then_timed_out() {
        let parked = Parked::default();
        let policy = TimeoutPolicy::new(Duration::from_millis(100));
        let keepalive = Counting(Cell::new(0), Cell::new(0));
        let started = Instant::now();
        let result = call(
            &parked,
            &policy,
            &keepalive,
            RequestContext::default(),
            getattr(),
        );
        assert_eq!(result, Err(Errno::ETIMEDOUT));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(100) + crate::timeout::GRACE);
        assert!(waited < Duration::from_secs(5), "waited {waited:?}");
        assert!(
            keepalive.0.get() >= 10,
            "extended {} times",
            keepalive.0.get()
        );
        assert!(
            keepalive.1.get() >= crate::timeout::MARGIN.as_millis() as u32,
            "every extension covers at least the margin"
        );
    }

    /// Drops every request unanswered.
    struct Dropping;

    impl Dispatch for Dropping {
        fn dispatch(&self, request: Request) {
            drop(request);
        }
    }

    #[test]
    fn a_dropped_responder_answers_eio() {
        let policy = TimeoutPolicy::new(Duration::from_secs(5));
        let result = call(
            &Dropping,
            &policy,
            &NoKeepalive,
            RequestContext::default(),
            getattr(),
        );
        assert_eq!(result, Err(Errno::EIO));
    }

    #[test]
    fn a_late_answer_is_harmless() {
        let parked = Parked::default();
        let policy = TimeoutPolicy::new(Duration::from_millis(100));
        let pending = start(&parked, &policy, RequestContext::default(), getattr());
        assert_eq!(pending.wait(&policy, &NoKeepalive), Err(Errno::ETIMEDOUT));
        parked.held.lock().pop().unwrap().respond(Ok(Reply::Empty));
    }

    /// Reads the length of `buffer` from the start of `/f` through `dispatch`.
    fn read_all(
        dispatch: &dyn Dispatch,
        policy: &TimeoutPolicy,
        buffer: &mut [u8],
    ) -> FsResult<usize> {
        let read = Operation::Read {
            path: "/f".into(),
            handle: 1,
            offset: 0,
            size: buffer.len() as u32,
        };
        read_into(
            dispatch,
            policy,
            &NoKeepalive,
            RequestContext::default(),
            read,
            buffer,
        )
    }

    /// Answers every read from its own bytes, lent in place, from another thread.
    struct Lending(&'static [u8]);

    impl Dispatch for Lending {
        fn dispatch(&self, request: Request) {
            let bytes = self.0;
            std::thread::spawn(move || request.responder.respond_with_data(bytes));
        }
    }

    #[test]
    fn a_read_lands_in_the_callers_buffer_cut_to_its_size() {
        let policy = TimeoutPolicy::new(Duration::from_secs(5));
        let mut buffer = [0u8; 8];
        let lending = Lending(b"0123456789");
        let count = read_all(&lending, &policy, &mut buffer);
        assert_eq!(count, Ok(8));
        assert_eq!(&buffer, b"01234567");
        let mut larger = [b'-'; 12];
        let count = read_all(&lending, &policy, &mut larger);
        assert_eq!(count, Ok(10));
        assert_eq!(
            &larger, b"0123456789--",
            "only the answer's bytes are written"
        );
    }

    #[test]
    fn a_read_answered_with_an_error_or_dropped_writes_nothing() {
        struct Failing;
        impl Dispatch for Failing {
            fn dispatch(&self, request: Request) {
                request.responder.respond(Err(Errno::EACCES));
            }
        }
        let policy = TimeoutPolicy::new(Duration::from_secs(5));
        let mut buffer = [b'-'; 4];
        let failed = read_all(&Failing, &policy, &mut buffer);
        assert_eq!(failed, Err(Errno::EACCES));
        let dropped = read_all(&Dropping, &policy, &mut buffer);
        assert_eq!(dropped, Err(Errno::EIO));
        assert_eq!(&buffer, b"----");
    }

    #[test]
    fn a_read_whose_dispatcher_panics_takes_its_buffer_back() {
        struct Panicking(Parked);
        impl Dispatch for Panicking {
            fn dispatch(&self, request: Request) {
                self.0.dispatch(request);
                panic!("dispatcher bug");
            }
        }
        let panicking = Panicking(Parked::default());
        let policy = TimeoutPolicy::new(Duration::from_secs(5));
        let mut buffer = vec![b'-'; 4];
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read_all(&panicking, &policy, &mut buffer)
        }));
        assert!(unwound.is_err());
        panicking
            .0
            .held
            .lock()
            .pop()
            .unwrap()
            .respond_with_data(b"late");
        assert_eq!(buffer, b"----", "the unwinding read took its buffer back");
    }

    #[test]
    fn a_read_answered_after_its_timeout_leaves_the_buffer_alone() {
        let parked = Parked::default();
        let policy = TimeoutPolicy::new(Duration::from_millis(100));
        let mut buffer = vec![b'-'; 4];
        let result = read_all(&parked, &policy, &mut buffer);
        assert_eq!(result, Err(Errno::ETIMEDOUT));
        parked.held.lock().pop().unwrap().respond_with_data(b"late");
        assert_eq!(
            buffer, b"----",
            "the buffer was taken back before the answer came"
        );
    }
}
