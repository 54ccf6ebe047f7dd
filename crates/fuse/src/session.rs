//! The request loop: reader threads that each read the kernel's requests from a descriptor of
//! their own and start serving them, and the [`Pump`] through which a dispatcher reads them on
//! its own thread while it waits for work.
//!
//! Every request is answered through the descriptor that delivered it (the kernel matches a
//! reply only against the requests that descriptor handed out), whichever thread answers.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use mountkit_core::{runtime, Errno, RequestPump};
use parking_lot::{Condvar, Mutex};

use crate::adapter::{Adapter, MAX_WRITE};
use crate::protocol::{
    parse, receive_buffer_size, Channel, Device, ParseError, ReplyEmpty, ReplyTo,
};

/// Starts `count` reader threads on `master`'s connection, each with a cloned descriptor,
/// each waiting at `gate` before it reads. They end when the connection does (unmount or
/// abort), or at DESTROY.
pub(crate) fn start_readers(
    adapter: &Arc<Adapter>,
    master: &Device,
    count: usize,
    gate: &Arc<ReaderGate>,
) -> io::Result<Vec<JoinHandle<io::Result<()>>>> {
    (0..count)
        .map(|index| {
            let device = Arc::new(master.clone_device(false)?);
            let adapter = adapter.clone();
            let gate = gate.clone();
            std::thread::Builder::new()
                .name(format!("mountkit-fuse-{index}"))
                .spawn(move || read_requests(&adapter, &device, &gate))
        })
        .collect()
}

/// Keeps the reader threads off the device while a dispatcher pumps it ([`Pump`]).
///
/// The kernel wakes a thread blocked reading `/dev/fuse` for each request it queues. While a
/// dispatcher's thread pumps, it takes most requests first, and the woken reader finds nothing
/// and sleeps again: two context switches per request for nothing, paid by the caller that
/// queued the request and on the CPU the callers need. So while the dispatcher says it pumps,
/// readers wait here instead of reading, and each request wakes nobody. A dispatcher may stop
/// coming back without saying so (a handler that computes for long on its thread): readers
/// that see the pump unused for a millisecond read again.
pub(crate) struct ReaderGate {
    /// How long a reader waits for a pump that is not called before it reads itself.
    stall: Duration,
    held: AtomicBool,
    /// Counts the dispatcher's pumps, so a waiting reader can tell a stalled dispatcher.
    pumps: AtomicU64,
    lock: Mutex<()>,
    opened: Condvar,
}

impl Default for ReaderGate {
    fn default() -> ReaderGate {
        // Short enough that a request the dispatcher cannot come back for is hardly delayed;
        // long enough that waiting readers cost nothing next to the requests pumped meanwhile.
        ReaderGate::with_stall(Duration::from_millis(1))
    }
}

impl ReaderGate {
    fn with_stall(stall: Duration) -> ReaderGate {
        ReaderGate {
            stall,
            held: AtomicBool::new(false),
            pumps: AtomicU64::new(0),
            lock: Mutex::new(()),
            opened: Condvar::new(),
        }
    }

    fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    fn open(&self) {
        if self.held.swap(false, Ordering::SeqCst) {
            // Under the lock: a reader that saw the gate held is waiting by now.
            let _lock = self.lock.lock();
            self.opened.notify_all();
        }
    }

    fn pumped(&self) {
        self.pumps.fetch_add(1, Ordering::Relaxed);
    }

    /// Returns once the gate is open, or once the pump has not been called for a while.
    fn wait(&self) {
        // An open gate, the usual case between spins, costs a reader no lock.
        if !self.held.load(Ordering::SeqCst) {
            return;
        }
        let mut lock = self.lock.lock();
        while self.held.load(Ordering::SeqCst) {
            let pumps = self.pumps.load(Ordering::Relaxed);
            self.opened.wait_for(&mut lock, self.stall);
            if self.pumps.load(Ordering::Relaxed) == pumps {
                return;
            }
        }
    }
}

/// Failed reads in a row after which a reader thread gives up: the kernel fails a read only
/// for a request it could not copy, so this many in a row means the descriptor is unusable.
const READ_FAILURES_TOLERATED: u32 = 100;

/// Reads and serves requests until the connection ends.
fn read_requests(adapter: &Adapter, device: &Arc<Device>, gate: &ReaderGate) -> io::Result<()> {
    let mut buffer = vec![0; receive_buffer_size(MAX_WRITE)];
    let channel: Channel = device.clone().into();
    let mut failures = 0;
    loop {
        gate.wait();
        let len = match device.receive(&mut buffer) {
            Ok(len) => len,
            Err(e) if connection_ended(&e) => return Ok(()),
            // One request lost (the kernel has failed it): the others still need a reader.
            Err(e) if failures < READ_FAILURES_TOLERATED => {
                failures += 1;
                log::warn!("reading a FUSE request failed: {e}; reading on");
                continue;
            }
            Err(e) => {
                log::error!("reading FUSE requests failed {failures} times in a row, last: {e}; this reader thread stops");
                return Err(e);
            }
        };
        failures = 0;
        if !serve(adapter, &buffer[..len], &channel, device) {
            return Ok(());
        }
    }
}

/// Whether a read failed because the connection is gone: unmounted (`ENODEV`), or aborted
/// while this descriptor was taking a request (`ECONNABORTED`).
fn connection_ended(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ENODEV | libc::ECONNABORTED)
    )
}

/// Serves the request in `bytes`, which came through `channel`, on the connection of
/// `device`. Returns `false` once the kernel has ended the session.
pub(crate) fn serve(
    adapter: &Adapter,
    bytes: &[u8],
    channel: &Channel,
    device: &Arc<Device>,
) -> bool {
    match parse(bytes) {
        Ok(request) => adapter.serve(&request, channel, device),
        Err(error) => {
            answer_unreadable(&error, channel);
            true
        }
    }
}

/// Answers `EIO` to a request that did not parse, when its header said which one it was.
fn answer_unreadable(error: &ParseError, channel: &Channel) {
    log::warn!("the kernel sent a FUSE request this backend cannot read: {error}");
    if let Some(unique) = error.unique {
        ReplyEmpty::from(ReplyTo::new(channel.clone(), unique)).error(Errno::EIO);
    }
}

/// Reads a request the kernel has waiting on a non-blocking descriptor of its own, and serves
/// it on the calling thread: what a dispatcher calls while it spins for work
/// ([`mountkit_core::Dispatch::attach_pump`]). The one exception is I/O this process does on a
/// backing file (a read, write or sync that passthrough does not take), which can wait on a
/// disk: the pump hands that request to the shared runtime's blocking pool, so the caller's
/// thread (Node's event loop) never waits on a disk.
pub(crate) struct Pump {
    adapter: Weak<Adapter>,
    device: Arc<Device>,
    /// Where the answers to the requests read through `device` go.
    channel: Channel,
    /// Allocated at the first call: a mount whose dispatcher never pumps does not pay for it.
    buffer: Mutex<Vec<u8>>,
    served: Arc<AtomicU64>,
    /// The readers of the same mount, kept off the device while the dispatcher pumps.
    gate: Arc<ReaderGate>,
}

impl Pump {
    /// A pump for `adapter`'s mount on the non-blocking descriptor `device`; `served` counts
    /// the requests it reads; `gate` is where the mount's readers wait while it is pumped.
    pub(crate) fn new(
        adapter: &Arc<Adapter>,
        device: Device,
        served: Arc<AtomicU64>,
        gate: Arc<ReaderGate>,
    ) -> Pump {
        let device = Arc::new(device);
        Pump {
            adapter: Arc::downgrade(adapter),
            channel: device.clone().into(),
            device,
            buffer: Mutex::new(Vec::new()),
            served,
            gate,
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.gate.open();
    }
}

impl RequestPump for Pump {
    fn pumping(&self, active: bool) {
        if active {
            self.gate.hold();
        } else {
            self.gate.open();
        }
    }

    fn pump(&self) -> bool {
        self.gate.pumped();
        let Some(adapter) = self.adapter.upgrade() else {
            return false;
        };
        // One caller at a time; another thread pumping meanwhile finds it taken.
        let Some(mut buffer) = self.buffer.try_lock() else {
            return false;
        };
        if buffer.is_empty() {
            buffer.resize(receive_buffer_size(MAX_WRITE), 0);
        }
        // Nothing waiting (EAGAIN) and a connection that has ended alike: nothing served.
        let Ok(len) = self.device.receive(&mut buffer) else {
            return false;
        };
        self.served.fetch_add(1, Ordering::Relaxed);
        let bytes = &buffer[..len];
        match parse(bytes) {
            Ok(request) if adapter.does_blocking_io(&request) => {
                let bytes = bytes.to_vec();
                let (channel, device) = (self.channel.clone(), self.device.clone());
                runtime::shared()
                    .spawn_blocking(move || serve(&adapter, &bytes, &channel, &device));
            }
            Ok(request) => {
                adapter.serve(&request, &self.channel, &self.device);
            }
            Err(error) => answer_unreadable(&error, &self.channel),
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    use mountkit_core::{Dispatch, FileKind, Operation, Reply, Request as CoreRequest, Stat};

    use crate::adapter::CachePolicy;
    use crate::mount::ReaddirPlus;
    use crate::protocol::abi::{self, opcode, Wire};

    /// Answers every getattr with a directory, at once, on the calling thread.
    struct Directories;

    impl Dispatch for Directories {
        fn dispatch(&self, request: CoreRequest) {
            let answer = match request.operation {
                Operation::Getattr { .. } => Ok(Reply::Stat(Stat::new(FileKind::Directory))),
                _ => Err(Errno::ENOSYS),
            };
            request.responder.respond(answer);
        }
    }

    /// Like [`Directories`], but with no handler for FLUSH.
    struct NoFlushHandler;

    impl Dispatch for NoFlushHandler {
        fn dispatch(&self, request: CoreRequest) {
            Directories.dispatch(request);
        }

        fn handles(&self, operation: &str) -> bool {
            operation != "flush"
        }
    }

    fn adapter() -> Arc<Adapter> {
        adapter_over(Arc::new(Directories))
    }

    fn adapter_over(dispatch: Arc<dyn Dispatch>) -> Arc<Adapter> {
        let cache = CachePolicy {
            attr: Duration::from_secs(1),
            entry: Duration::from_secs(1),
            negative: Duration::ZERO,
            readdir: false,
            writeback: false,
            readdir_plus: ReaddirPlus::Off,
            lookup_from_listing: false,
        };
        Arc::new(Adapter::new(dispatch, cache, false, Arc::default()))
    }

    /// A pump over one end of a non-blocking datagram pair standing in for `/dev/fuse`, and
    /// the other end, through which the test plays the kernel.
    fn pump(adapter: &Arc<Adapter>) -> (Pump, UnixDatagram, Arc<AtomicU64>) {
        let (ours, kernel) = UnixDatagram::pair().expect("a socket pair");
        ours.set_nonblocking(true).expect("non-blocking");
        // A reply that never comes fails the test instead of hanging it.
        kernel
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a read timeout");
        let served = Arc::new(AtomicU64::new(0));
        let pump = Pump::new(
            adapter,
            Device::new(ours.into()),
            served.clone(),
            Arc::default(),
        );
        (pump, kernel, served)
    }

    /// A request's bytes: its header, then `argument`.
    fn request(opcode: u32, unique: u64, nodeid: u64, argument: &[u8]) -> Vec<u8> {
        let header = abi::fuse_in_header {
            len: (abi::fuse_in_header::SIZE + argument.len()) as u32,
            opcode,
            unique,
            nodeid,
            ..Default::default()
        };
        let mut bytes = Vec::new();
        header.encode(&mut bytes);
        bytes.extend_from_slice(argument);
        bytes
    }

    /// The reply header of the next message the test's kernel end received.
    fn reply_header(kernel: &UnixDatagram) -> (abi::fuse_out_header, usize) {
        let mut buffer = vec![0; 4096];
        let len = kernel.recv(&mut buffer).expect("a reply");
        (abi::fuse_out_header::decode(&buffer[..len]), len)
    }

    #[test]
    fn a_pump_with_nothing_waiting_serves_nothing() {
        let adapter = adapter();
        let (pump, _kernel, served) = pump(&adapter);
        assert!(!pump.pump());
        assert_eq!(served.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_pumped_request_is_answered_through_the_pumps_own_descriptor() {
        let adapter = adapter();
        let (pump, kernel, served) = pump(&adapter);
        let mut getattr_in = Vec::new();
        abi::fuse_getattr_in::default().encode(&mut getattr_in);
        kernel
            .send(&request(opcode::FUSE_GETATTR, 41, 1, &getattr_in))
            .expect("send");
        assert!(pump.pump());
        assert_eq!(served.load(Ordering::Relaxed), 1);
        let (header, len) = reply_header(&kernel);
        assert_eq!((header.unique, header.error), (41, 0));
        assert_eq!(header.len as usize, len);
        assert_eq!(
            len,
            abi::fuse_out_header::SIZE + abi::fuse_attr_out::SIZE,
            "an attr_out follows"
        );
        assert!(!pump.pump(), "nothing more waits");
    }

    #[test]
    fn a_request_that_does_not_parse_is_answered_eio() {
        let adapter = adapter();
        let (pump, kernel, _) = pump(&adapter);
        // A READ without its argument structure.
        kernel
            .send(&request(opcode::FUSE_READ, 7, 1, &[]))
            .expect("send");
        assert!(pump.pump());
        let (header, _) = reply_header(&kernel);
        assert_eq!((header.unique, header.error), (7, -libc::EIO));
    }

    #[test]
    fn a_pump_outliving_its_mount_reads_nothing() {
        let adapter = adapter();
        let (pump, kernel, served) = pump(&adapter);
        drop(adapter);
        kernel
            .send(&request(opcode::FUSE_STATFS, 9, 1, &[]))
            .expect("send");
        assert!(!pump.pump());
        assert_eq!(served.load(Ordering::Relaxed), 0);
    }

    /// The error a FLUSH of handle 99, which nothing opened, is answered with.
    fn flush_answer(adapter: &Arc<Adapter>) -> i32 {
        let (pump, kernel, _) = pump(adapter);
        let mut flush_in = Vec::new();
        abi::fuse_flush_in {
            fh: 99,
            ..Default::default()
        }
        .encode(&mut flush_in);
        kernel
            .send(&request(opcode::FUSE_FLUSH, 5, 1, &flush_in))
            .expect("send");
        assert!(pump.pump());
        reply_header(&kernel).0.error
    }

    #[test]
    fn flush_without_a_handler_is_answered_enosys_so_the_kernel_stops_sending_it() {
        assert_eq!(
            flush_answer(&adapter_over(Arc::new(NoFlushHandler))),
            -libc::ENOSYS
        );
        // With a handler, the FLUSH goes on to its file, which does not exist here.
        assert_eq!(flush_answer(&adapter()), -libc::EBADF);
    }

    #[test]
    fn an_open_gate_lets_readers_through() {
        let gate = ReaderGate::default();
        gate.wait();
        gate.hold();
        gate.open();
        gate.wait();
    }

    /// A pump over a descriptor nothing is sent to, whose mount's readers wait at `gate`.
    fn gated_pump(adapter: &Arc<Adapter>, gate: &Arc<ReaderGate>) -> Pump {
        let (ours, _kernel) = UnixDatagram::pair().expect("a socket pair");
        Pump::new(
            adapter,
            Device::new(ours.into()),
            Arc::default(),
            gate.clone(),
        )
    }

    #[test]
    fn a_held_gate_keeps_a_reader_until_the_dispatcher_stops_pumping() {
        let adapter = adapter();
        // A dispatcher that never seems stalled: only opening the gate lets the reader pass.
        let gate = Arc::new(ReaderGate::with_stall(Duration::from_secs(3600)));
        let pump = gated_pump(&adapter, &gate);
        pump.pumping(true);
        let reader = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.wait())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !reader.is_finished(),
            "the reader waits while the gate is held"
        );
        pump.pumping(false);
        reader
            .join()
            .expect("the reader passes once the gate opens");
    }

    #[test]
    fn a_reader_passes_a_held_gate_once_the_pump_goes_unused() {
        let gate = Arc::new(ReaderGate::with_stall(Duration::from_millis(20)));
        gate.hold();
        // Nobody pumps: the reader must not wait forever for a dispatcher that is gone.
        let reader = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.wait())
        };
        reader.join().expect("the reader passes");
    }

    #[test]
    fn dropping_the_pump_opens_the_gate() {
        let adapter = adapter();
        let gate = Arc::new(ReaderGate::default());
        let pump = gated_pump(&adapter, &gate);
        pump.pumping(true);
        assert!(gate.held.load(Ordering::SeqCst));
        drop(pump);
        assert!(!gate.held.load(Ordering::SeqCst));
    }

    #[test]
    fn the_end_of_a_connection_is_told_from_a_failed_read() {
        for errno in [libc::ENODEV, libc::ECONNABORTED] {
            assert!(connection_ended(&io::Error::from_raw_os_error(errno)));
        }
        assert!(!connection_ended(&io::Error::from_raw_os_error(
            libc::EFAULT
        )));
    }
}
