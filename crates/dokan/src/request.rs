//! Sending one core request from a Dokan worker thread and blocking that thread, and only
//! that thread, until the answer arrives.
//!
//! The [`Responder`] of each request completes a one-slot channel, from whatever thread the
//! dispatcher answers on (the JavaScript thread, a tokio worker, or the caller itself). The
//! Dokan worker waits on the channel in slices of [`TimeoutPolicy::wake_interval`], extending
//! the driver's timer through a [`Keepalive`] after every slice that ends without an answer,
//! and gives up at [`TimeoutPolicy::deadline`] with `ETIMEDOUT`.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use mountkit_core::{
    Dispatch, Errno, FsResult, Operation, Reply, Request, RequestContext, Responder,
};

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

/// A request that has been handed to the dispatcher and not yet waited for.
#[derive(Debug)]
pub struct Pending {
    answer: Receiver<FsResult<Reply>>,
    deadline: Instant,
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
    let (sender, answer) = mpsc::sync_channel(1);
    let deadline = policy.deadline(Instant::now());
    dispatch.dispatch(Request {
        context,
        operation,
        responder: Responder::new(move |result| {
            // The waiter may have given up already; then nobody needs the answer.
            let _ = sender.try_send(result);
        }),
    });
    Pending { answer, deadline }
}

impl Pending {
    /// Blocks the calling thread until the dispatcher answers, extending the driver's timer
    /// through `keepalive` after each [`TimeoutPolicy::wake_interval`] that passes without an
    /// answer. Gives up with `ETIMEDOUT` at the request's deadline. The answer is whatever the
    /// dispatcher gave, including `EIO` from a responder dropped unanswered.
    pub fn wait(self, policy: &TimeoutPolicy, keepalive: &dyn Keepalive) -> FsResult<Reply> {
        loop {
            let now = Instant::now();
            let slice = policy.next_wait(now, self.deadline);
            if slice == Duration::ZERO {
                return match self.answer.try_recv() {
                    Ok(result) => result,
                    Err(_) => Err(Errno::ETIMEDOUT),
                };
            }
            match self.answer.recv_timeout(slice) {
                Ok(result) => return result,
                Err(RecvTimeoutError::Timeout) => {
                    keepalive.extend(policy.extension_ms(Instant::now(), self.deadline));
                }
                Err(RecvTimeoutError::Disconnected) => return Err(Errno::EIO),
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;
    use std::cell::Cell;

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

    #[test]
    fn a_dropped_responder_answers_eio() {
        struct Dropping;
        impl Dispatch for Dropping {
            fn dispatch(&self, request: Request) {
                drop(request);
            }
        }
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
}
