//! When a pending request may still be answered.
//!
//! Read, Write and ReadDirectory return `STATUS_PENDING` and are answered later, from whichever
//! thread the handler's answer arrives on. A read or directory answer is written into a buffer
//! that the WinFsp driver mapped into this process for that request, and that it unmaps (or
//! hands to another request) as soon as the request ends. A request ends when it is answered,
//! when its IRP timeout expires, or when the volume stops. So a late answer must not touch the
//! buffer: each pending request holds a [`Ticket`], which runs its answer only while the
//! [`Gate`] is open and the request is younger than the gate's deadline (set below the IRP
//! timeout). Unmounting closes the gate before it stops the volume.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

/// The gate of one mount.
pub struct Gate {
    open: RwLock<bool>,
    pending: Mutex<usize>,
    idle: Condvar,
    deadline: Duration,
}

/// One pending request's right to be answered.
pub struct Ticket {
    gate: Arc<Gate>,
    started: Instant,
}

impl Gate {
    /// An open gate whose tickets expire `deadline` after they are taken.
    pub fn new(deadline: Duration) -> Arc<Gate> {
        Arc::new(Gate {
            open: RwLock::new(true),
            pending: Mutex::new(0),
            idle: Condvar::new(),
            deadline,
        })
    }

    /// A ticket for a request that is about to be left pending.
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        *self.pending.lock() += 1;
        Ticket {
            gate: self.clone(),
            started: Instant::now(),
        }
    }

    /// Closes the gate: waits up to `grace` for the pending requests to be answered, then
    /// stops every later answer, and waits for answers already running to finish. Returns how
    /// many requests were still pending when the gate closed.
    pub fn close(&self, grace: Duration) -> usize {
        let until = Instant::now() + grace;
        let mut pending = self.pending.lock();
        while *pending > 0 && !self.idle.wait_until(&mut pending, until).timed_out() {}
        let left = *pending;
        drop(pending);
        *self.open.write() = false;
        left
    }
}

impl Ticket {
    /// Runs `answer` if the gate is still open and the request is younger than the deadline;
    /// returns whether it ran. The gate cannot close while `answer` runs.
    pub fn answer(self, answer: impl FnOnce()) -> bool {
        let open = self.gate.open.read();
        let in_time = self.started.elapsed() < self.gate.deadline;
        if *open && in_time {
            answer();
            true
        } else {
            log::warn!(
                "a WinFsp request was answered after {:?}, when the driver may no longer hold it; \
                 the answer was dropped",
                self.started.elapsed()
            );
            false
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut pending = self.gate.pending.lock();
        *pending -= 1;
        if *pending == 0 {
            self.gate.idle.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    use super::*;

    #[test]
    fn answers_run_while_the_gate_is_open() {
        let gate = Gate::new(Duration::from_secs(60));
        let ticket = gate.ticket();
        assert!(ticket.answer(|| {}));
        assert_eq!(gate.close(Duration::ZERO), 0);
    }

    #[test]
    fn closing_waits_for_pending_requests() {
        let gate = Gate::new(Duration::from_secs(60));
        let ticket = gate.ticket();
        let answered = Arc::new(AtomicBool::new(false));
        let flag = answered.clone();
        let worker = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            ticket.answer(|| flag.store(true, Ordering::SeqCst))
        });
        assert_eq!(gate.close(Duration::from_secs(5)), 0);
        assert!(worker.join().unwrap());
        assert!(answered.load(Ordering::SeqCst));
    }

    #[test]
    fn late_answers_are_dropped() {
        let gate = Gate::new(Duration::from_secs(60));
        let ticket = gate.ticket();
        assert_eq!(
            gate.close(Duration::from_millis(10)),
            1,
            "one still pending"
        );
        assert!(!ticket.answer(|| panic!("the buffer may be gone")));
        let another = gate.ticket();
        drop(another);
    }

    #[test]
    fn expired_tickets_are_dropped() {
        let gate = Gate::new(Duration::ZERO);
        assert!(!gate.ticket().answer(|| panic!("too late")));
        assert_eq!(gate.close(Duration::ZERO), 0);
    }
}
