//! When a pending request may still be answered.
//!
//! Read, Write and ReadDirectory return `STATUS_PENDING` and are answered later, from whichever
//! thread the handler's answer arrives on. A read or directory answer is written into a buffer
//! that the WinFsp driver mapped into this process for that request, and that it releases
//! when the request ends. Once a dispatcher thread has fetched a request, the driver neither
//! times it out nor lets its caller cancel it (`FSP_IOQ_PROCESS_NO_CANCEL` in WinFsp's
//! `sys/driver.h`: the IRP timeout applies only to requests still waiting to be fetched). So a
//! fetched request ends only when it is answered, or when the volume stops: the `FSP_FSCTL_STOP`
//! that `FspFileSystemStopDispatcher` sends, or closing the volume, cancels every request and
//! releases its buffer.
//!
//! An answer is therefore always sent, however late: dropping it would leave the caller
//! waiting until unmount. Only stopping the volume can take a buffer away, so each pending
//! request holds a [`Ticket`] that runs its answer while the mount's [`Gate`] is open, and
//! unmounting closes the gate before it stops the volume.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

/// The gate of one mount.
pub(crate) struct Gate {
    open: RwLock<bool>,
    pending: Mutex<usize>,
    idle: Condvar,
}

/// One pending request's right to be answered.
pub(crate) struct Ticket {
    gate: Arc<Gate>,
}

impl Gate {
    /// An open gate.
    pub(crate) fn new() -> Arc<Gate> {
        Arc::new(Gate {
            open: RwLock::new(true),
            pending: Mutex::new(0),
            idle: Condvar::new(),
        })
    }

    /// A ticket for a request that is about to be left pending.
    pub(crate) fn ticket(self: &Arc<Self>) -> Ticket {
        *self.pending.lock() += 1;
        Ticket { gate: self.clone() }
    }

    /// Closes the gate: waits up to `grace` for the pending requests to be answered, then
    /// stops every later answer, and waits for answers already running to finish. Returns how
    /// many requests were still pending when the gate closed.
    pub(crate) fn close(&self, grace: Duration) -> usize {
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
    /// Runs `answer` if the gate is still open, however long the request has been pending;
    /// returns whether it ran. The gate cannot close while `answer` runs.
    pub(crate) fn answer(self, answer: impl FnOnce()) -> bool {
        let open = self.gate.open.read();
        if *open {
            answer();
        } else {
            log::warn!(
                "a WinFsp request was answered after its volume was unmounted; the answer was \
                 dropped"
            );
        }
        *open
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
        let gate = Gate::new();
        let ticket = gate.ticket();
        assert!(ticket.answer(|| {}));
        assert_eq!(gate.close(Duration::ZERO), 0);
    }

    #[test]
    fn an_answer_after_a_long_delay_still_runs() {
        // The driver keeps a fetched request until it is answered, so no delay makes an answer
        // too late while the volume is mounted.
        let gate = Gate::new();
        let ticket = gate.ticket();
        let answered = Arc::new(AtomicBool::new(false));
        let flag = answered.clone();
        let worker = thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            ticket.answer(|| flag.store(true, Ordering::SeqCst))
        });
        assert!(worker.join().unwrap());
        assert!(answered.load(Ordering::SeqCst));
        assert_eq!(gate.close(Duration::ZERO), 0);
    }

    #[test]
    fn closing_waits_for_pending_requests() {
        let gate = Gate::new();
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
    fn a_closed_gate_stops_answers() {
        let gate = Gate::new();
        let ticket = gate.ticket();
        assert_eq!(
            gate.close(Duration::from_millis(10)),
            1,
            "one still pending"
        );
        assert!(!ticket.answer(|| panic!("the buffer may be gone")));
        let another = gate.ticket();
        assert!(!another.answer(|| panic!("the volume has stopped")));
    }
}
