//! FUSE over io_uring (Linux 6.14+, with `/sys/module/fuse/parameters/enable_uring` set): the
//! kernel hands requests over in ring entries instead of through `read(2)` on `/dev/fuse`,
//! and takes each answer together with the entry's next request in one submission.
//!
//! The kernel keeps one queue per possible CPU and puts a request in the queue of the CPU its
//! caller runs on; it uses the ring only once every queue has an entry. One thread owns one
//! ring holding [`DEPTH_PER_QUEUE`] entries for every queue: it registers them, parses each
//! request that lands and starts serving it, and submits the commits that answered entries
//! queue. FORGET, BATCH_FORGET, INTERRUPT and notifications stay on `/dev/fuse`, so the
//! mount's reader threads keep running beside the ring.

use std::fs;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use crate::adapter::{Adapter, MAX_WRITE};
use crate::mount::abort_connection;
use crate::protocol::abi::{self, Wire};
use crate::protocol::{parse, Channel, Device, ReplyEmpty, ReplyTo, RingEntries, RingSlot};
use crate::session::serve;
use mountkit_core::{runtime, Errno};

/// Entries per queue: requests of callers on one CPU that can be in the filesystem's hands at
/// once; more wait in the kernel for an entry to come back. Eight covers the kernel's own
/// background requests (readahead, 12 per connection by default, spread over the queues) and
/// a few callers per CPU, at 8 × (1 MiB + 288 B) of buffers per possible CPU.
pub(crate) const DEPTH_PER_QUEUE: usize = 8;

/// The payload buffer of an entry: the kernel refuses one smaller than the mount's largest
/// request or reply (`max_write`, and `max_pages` pages, which fuser sets to match).
const PAYLOAD_SIZE: usize = MAX_WRITE as usize;

/// The `user_data` of the read on the wake-up `eventfd`; entries use their index.
const WAKE: u64 = u64::MAX;

/// Where the kernel says whether it offers FUSE over io_uring to new mounts.
const ENABLE_PARAMETER: &str = "/sys/module/fuse/parameters/enable_uring";

/// Whether this kernel offers FUSE over io_uring to new mounts: the module parameter exists
/// (Linux 6.14+) and root has set it.
pub(crate) fn kernel_offers_ring() -> bool {
    fs::read_to_string(ENABLE_PARAMETER).is_ok_and(|value| value.trim() == "Y")
}

/// A ring and its entries, set up before mounting so the INIT handshake takes FUSE over
/// io_uring only when the ring exists: once the kernel agrees, it holds every request until
/// the entries are registered.
pub(crate) struct PreparedRing {
    ring: IoUring<squeue::Entry128, cqueue::Entry>,
    entries: Arc<RingEntries>,
}

impl PreparedRing {
    /// Sets up a ring with [`DEPTH_PER_QUEUE`] entries for each possible CPU's queue.
    pub(crate) fn new() -> io::Result<PreparedRing> {
        let queues = possible_cpus()?;
        let entries = RingEntries::new(queues, DEPTH_PER_QUEUE, PAYLOAD_SIZE)?;
        // Room for every entry's command and the wake-up read at once.
        let size = (entries.len() + 1).next_power_of_two() as u32;
        let ring = IoUring::<squeue::Entry128, cqueue::Entry>::builder().build(size)?;
        Ok(PreparedRing {
            ring,
            entries: Arc::new(entries),
        })
    }

    /// Registers every entry on `device`'s connection (whose INIT took FUSE over io_uring)
    /// and serves what lands in them on a thread of its own, counting requests in `served`.
    /// Returns the thread, which ends once the connection has (aborting `connection` if it
    /// leaves while the connection lives), and how the kernel took the entries: an error
    /// there means no REGISTER reached the kernel, which then holds every request until the
    /// connection is aborted.
    pub(crate) fn start(
        self,
        adapter: &Arc<Adapter>,
        device: Arc<Device>,
        served: Arc<AtomicU64>,
        connection: Option<u32>,
    ) -> io::Result<(JoinHandle<io::Result<()>>, io::Result<Registration>)> {
        let (registered_tx, registered_rx) = mpsc::channel();
        let adapter = adapter.clone();
        let thread = std::thread::Builder::new()
            .name("mountkit-fuse-ring".to_owned())
            .spawn(move || {
                let ring = RingThread {
                    adapter,
                    device,
                    entries: self.entries,
                    served,
                    connection,
                };
                ring.run(self.ring, registered_tx)
            })?;
        let registered = registered_rx.recv().unwrap_or_else(|_| {
            Err(io::Error::other(
                "the FUSE io_uring thread stopped before registering its entries",
            ))
        });
        Ok((thread, registered))
    }
}

/// The number of possible CPUs, one kernel queue each (`num_possible_cpus`), from
/// `/sys/devices/system/cpu/possible` (`0-3`, `0,2-5`...).
fn possible_cpus() -> io::Result<u16> {
    let mask = fs::read_to_string("/sys/devices/system/cpu/possible")?;
    count_cpus(&mask).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot read the CPU list {:?}", mask.trim()),
        )
    })
}

/// The CPUs a kernel CPU list (`0-3,6`) names.
fn count_cpus(list: &str) -> Option<u16> {
    list.trim().split(',').try_fold(0u16, |count, range| {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (first, last) = (first.parse::<u16>().ok()?, last.parse::<u16>().ok()?);
        count.checked_add(last.checked_sub(first)? + 1)
    })
}

/// How the kernel took the entries' REGISTER commands.
#[derive(Debug)]
pub(crate) enum Registration {
    /// Every entry is registered.
    All,
    /// The kernel refused some (`accepted` of them were taken). With none taken it went back
    /// to `/dev/fuse` for good; with some taken it may still use the ring, which the thread
    /// keeps serving beside the readers.
    Refused { accepted: usize, error: io::Error },
}

/// What a completion says about the entry it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EntryResult {
    /// A request landed in it.
    Landed,
    /// The connection ended, or the ring is being torn down: the entry is the kernel's no more.
    ConnectionEnded,
    /// The kernel refused this command alone (errno): the entry is dropped, the ring lives.
    Failed(i32),
}

impl EntryResult {
    fn of(result: i32) -> EntryResult {
        match -result {
            errno if errno <= 0 => EntryResult::Landed,
            libc::ENOTCONN | libc::ECANCELED | libc::ECONNABORTED | libc::ENODEV => {
                EntryResult::ConnectionEnded
            }
            errno => EntryResult::Failed(errno),
        }
    }
}

/// Where the ring's entries are, which decides when the ring's thread may leave.
#[derive(Debug, Default, PartialEq, Eq)]
struct EntryCounts {
    /// Registered or committed, not yet completed.
    in_kernel: usize,
    /// Holding a request the filesystem is answering.
    serving: usize,
    /// Came back saying the connection ended.
    ended: usize,
}

/// Why the ring's thread leaves.
#[derive(Debug, PartialEq, Eq)]
enum Leave {
    /// The connection ended and every entry came back: nothing of the ring is in use.
    Ended,
    /// No entry is left to serve with, while the connection lives: without an abort its
    /// callers would wait for ever.
    Stranded,
}

impl EntryCounts {
    fn completed(&mut self, result: EntryResult) {
        self.in_kernel -= 1;
        match result {
            EntryResult::Landed => self.serving += 1,
            EntryResult::ConnectionEnded => self.ended += 1,
            EntryResult::Failed(_) => {}
        }
    }

    fn committed(&mut self) {
        self.serving -= 1;
        self.in_kernel += 1;
    }

    /// Whether the thread should leave now. Once the connection has ended, an entry still
    /// being answered comes back only to fail: nothing is left to wait for when none is in
    /// the kernel's hands.
    fn leave(&self) -> Option<Leave> {
        match (self.in_kernel, self.serving, self.ended) {
            (0, _, 1..) => Some(Leave::Ended),
            (0, 0, 0) => Some(Leave::Stranded),
            _ => None,
        }
    }
}

/// The ring and what the kernel reads or writes through it besides the entries' buffers: on
/// an abnormal exit these and the entries are leaked rather than freed, since the kernel may
/// still complete commands into them.
struct RingMemory {
    ring: IoUring<squeue::Entry128, cqueue::Entry>,
    /// The REGISTER iovecs, which the kernel reads while registering.
    iovecs: Vec<[libc::iovec; 2]>,
    /// Where the wake-up read of the `eventfd` writes.
    wake_buffer: Box<[u8; 8]>,
}

/// The ring's thread: what it serves with.
struct RingThread {
    adapter: Arc<Adapter>,
    device: Arc<Device>,
    entries: Arc<RingEntries>,
    served: Arc<AtomicU64>,
    /// The connection's number under `/sys/fs/fuse/connections`, to abort it when the thread
    /// leaves while the connection lives.
    connection: Option<u32>,
}

impl RingThread {
    /// Registers the entries, says on `registered` how that went, then serves until the
    /// connection ends. Leaving any other way (an error, no entry left, a panic) aborts the
    /// connection, so its callers get `ENOTCONN` instead of waiting on a ring nobody serves.
    fn run(
        &self,
        ring: IoUring<squeue::Entry128, cqueue::Entry>,
        registered: mpsc::Sender<io::Result<Registration>>,
    ) -> io::Result<()> {
        let mut memory = RingMemory {
            ring,
            iovecs: (0..self.entries.len())
                .map(|entry| self.entries.iovecs(entry))
                .collect(),
            wake_buffer: Box::new([0u8; 8]),
        };
        let mut counts = EntryCounts::default();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.serve_ring(&mut memory, &mut counts, &registered)
        }))
        .unwrap_or_else(|_| Err(io::Error::other("the FUSE io_uring thread panicked")));
        match outcome {
            Ok(None) | Ok(Some(Leave::Ended)) => return Ok(()),
            Ok(Some(Leave::Stranded)) => {
                log::warn!("no FUSE io_uring entry is left to serve with; aborting the connection")
            }
            Err(ref e) => {
                log::warn!("the FUSE io_uring thread failed ({e}); aborting the connection")
            }
        }
        if let Some(connection) = self.connection {
            abort_connection(connection);
        }
        if counts.in_kernel > 0 {
            // The kernel still holds entries: it may complete them into the buffers and the
            // wake-up buffer after the ring is closed, so none of it may be freed.
            std::mem::forget(memory);
            std::mem::forget(self.entries.clone());
        }
        outcome.and(Err(io::Error::new(
            io::ErrorKind::NotConnected,
            "the FUSE io_uring thread left while the connection lived; it was aborted",
        )))
    }

    /// Registers every entry, then serves until the thread should leave. `None`: the kernel
    /// took no entry and went back to `/dev/fuse`.
    fn serve_ring(
        &self,
        memory: &mut RingMemory,
        counts: &mut EntryCounts,
        registered: &mpsc::Sender<io::Result<Registration>>,
    ) -> io::Result<Option<Leave>> {
        let fd = self.device.as_fd().as_raw_fd();
        let wake_fd = self.entries.wake_fd().as_raw_fd();
        let ring = &mut memory.ring;
        let submitted = (|| {
            for (entry, iovec) in memory.iovecs.iter().enumerate() {
                push(
                    ring,
                    &register_entry(fd, self.entries.qid(entry), iovec, entry),
                )?;
            }
            push(ring, &wake_read(wake_fd, &mut memory.wake_buffer))?;
            ring.submit()
        })();
        if let Err(e) = submitted {
            // Nothing reached the kernel: it waits for entries that never come.
            let _ = registered.send(Err(io::Error::new(
                e.kind(),
                format!("the FUSE io_uring thread could not register its entries: {e}"),
            )));
            return Err(e);
        }
        counts.in_kernel = self.entries.len();
        // A refused REGISTER completes at once; a registered entry completes only when a
        // request lands in it.
        let mut landed = Vec::new();
        let mut refused = 0;
        let mut refusal = None;
        for completion in ring.completion() {
            if completion.result() < 0 && completion.user_data() != WAKE {
                counts.in_kernel -= 1;
                refused += 1;
                refusal.get_or_insert(completion.result());
            } else {
                landed.push((completion.user_data(), completion.result()));
            }
        }
        let _ = registered.send(Ok(match refusal {
            None => Registration::All,
            Some(result) => Registration::Refused {
                accepted: self.entries.len() - refused,
                error: io::Error::from_raw_os_error(-result),
            },
        }));
        if refused == self.entries.len() {
            return Ok(None);
        }
        let mut request = Vec::new();
        loop {
            for (user_data, result) in landed.drain(..) {
                if user_data == WAKE {
                    if result < 0 {
                        return Err(io::Error::from_raw_os_error(-result));
                    }
                    push(ring, &wake_read(wake_fd, &mut memory.wake_buffer))?;
                    continue;
                }
                let entry_result = EntryResult::of(result);
                counts.completed(entry_result);
                match entry_result {
                    EntryResult::Landed => self.serve_entry(user_data as usize, &mut request),
                    EntryResult::ConnectionEnded => {}
                    EntryResult::Failed(errno) => log::warn!(
                        "the kernel refused a command on FUSE io_uring entry {user_data} ({}); \
                         the entry is dropped",
                        io::Error::from_raw_os_error(errno)
                    ),
                }
            }
            for commit in self.entries.take_commits() {
                push(
                    ring,
                    &commit_and_fetch(fd, commit.qid, commit.commit_id, commit.entry),
                )?;
                counts.committed();
            }
            if let Some(leave) = counts.leave() {
                return Ok(Some(leave));
            }
            match ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            landed.extend(
                ring.completion()
                    .map(|completion| (completion.user_data(), completion.result())),
            );
        }
    }

    /// Starts serving the request that landed in `entry`, reassembled into `request`. Requests
    /// that wait on the disk (backing-file reads, writes, syncs) go to the blocking pool, so
    /// one slow `fsync` does not stall every queue; their answers come back as commits.
    fn serve_entry(&self, entry: usize, request: &mut Vec<u8>) {
        self.served.fetch_add(1, Ordering::Relaxed);
        let channel = Channel::Ring(RingSlot::new(self.entries.clone(), entry));
        if let Err(malformed) = self.entries.read_request(entry, request) {
            log::warn!(
                "the kernel put a FUSE request this backend cannot read in an io_uring entry: {}",
                malformed.problem
            );
            ReplyEmpty::from(ReplyTo::new(channel, malformed.commit_id)).error(Errno::EIO);
            return;
        }
        match parse(request) {
            Ok(parsed) if self.adapter.does_blocking_io(&parsed) => {
                let bytes = request.clone();
                let adapter = self.adapter.clone();
                let device = self.device.clone();
                runtime::shared()
                    .spawn_blocking(move || serve(&adapter, &bytes, &channel, &device));
            }
            Ok(parsed) => {
                self.adapter.serve(&parsed, &channel, &self.device);
            }
            Err(_) => {
                serve(&self.adapter, request, &channel, &self.device);
            }
        }
    }
}

/// Queues `entry` on the ring, submitting what is queued first if the queue is full.
fn push(
    ring: &mut IoUring<squeue::Entry128, cqueue::Entry>,
    entry: &squeue::Entry128,
) -> io::Result<()> {
    loop {
        // SAFETY: every buffer an entry points to (the REGISTER iovecs, the entries' buffers
        // and the wake-up buffer) lives until the ring is dropped (see `RingThread::run`).
        if unsafe { ring.submission().push(entry) }.is_ok() {
            return Ok(());
        }
        ring.submit()?;
    }
}

/// A FUSE-over-io_uring command on the connection `fd`, for queue `qid`.
fn uring_command(fd: RawFd, command: u32, qid: u16, commit_id: u64) -> opcode::UringCmd80 {
    let mut request = Vec::with_capacity(80);
    abi::fuse_uring_cmd_req {
        commit_id,
        qid,
        ..Default::default()
    }
    .encode(&mut request);
    let mut data = [0u8; 80];
    data[..request.len()].copy_from_slice(&request);
    opcode::UringCmd80::new(types::Fd(fd), command).cmd(data)
}

/// Where `len` lies in a submission queue entry (`struct io_uring_sqe`).
const SQE_LEN_OFFSET: usize = 24;
const _: () = assert!(size_of::<squeue::Entry128>() == 128);

/// REGISTER of entry `entry`, whose buffers `iovec` names, on queue `qid`.
fn register_entry(fd: RawFd, qid: u16, iovec: &[libc::iovec; 2], entry: usize) -> squeue::Entry128 {
    let sqe = uring_command(fd, abi::FUSE_IO_URING_CMD_REGISTER, qid, 0)
        .addr(Some(iovec.as_ptr() as u64))
        .build()
        .user_data(entry as u64);
    // The kernel wants the number of iovecs in `sqe->len`, for which io-uring's `UringCmd80`
    // has no setter.
    // SAFETY: `Entry128` is `#[repr(C)]`: a 64-byte `struct io_uring_sqe` then 64 command
    // bytes, 128 bytes (checked above) that are all initialized, so it and a byte array
    // convert both ways; `len` is the `u32` at byte 24 of the `io_uring_sqe`.
    let mut bytes: [u8; 128] = unsafe { std::mem::transmute(sqe) };
    bytes[SQE_LEN_OFFSET..SQE_LEN_OFFSET + 4].copy_from_slice(&(iovec.len() as u32).to_ne_bytes());
    // SAFETY: as above; every byte pattern of the fields written is valid.
    unsafe { std::mem::transmute::<[u8; 128], squeue::Entry128>(bytes) }
}

/// COMMIT_AND_FETCH of `entry`: answers request `commit_id` and hands the entry back.
fn commit_and_fetch(fd: RawFd, qid: u16, commit_id: u64, entry: usize) -> squeue::Entry128 {
    uring_command(fd, abi::FUSE_IO_URING_CMD_COMMIT_AND_FETCH, qid, commit_id)
        .build()
        .user_data(entry as u64)
}

/// A read of the wake-up `eventfd` into `buffer`.
fn wake_read(fd: RawFd, buffer: &mut [u8; 8]) -> squeue::Entry128 {
    opcode::Read::new(types::Fd(fd), buffer.as_mut_ptr(), buffer.len() as u32)
        .build()
        .user_data(WAKE)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(count_cpus("0\n"), Some(1));
        assert_eq!(count_cpus("0-1\n"), Some(2));
        assert_eq!(count_cpus("0,2-5"), Some(5));
        assert_eq!(count_cpus("3-1"), None);
        assert_eq!(count_cpus("zero"), None);
    }

    #[test]
    fn only_a_connection_ending_counts_as_the_end() {
        assert_eq!(EntryResult::of(0), EntryResult::Landed);
        for errno in [
            libc::ENOTCONN,
            libc::ECANCELED,
            libc::ECONNABORTED,
            libc::ENODEV,
        ] {
            assert_eq!(EntryResult::of(-errno), EntryResult::ConnectionEnded);
        }
        for errno in [libc::ENOMEM, libc::ENOENT, libc::EIO, libc::EINVAL] {
            assert_eq!(EntryResult::of(-errno), EntryResult::Failed(errno));
        }
    }

    #[test]
    fn a_refused_entry_is_dropped_while_others_serve() {
        let mut counts = EntryCounts {
            in_kernel: 2,
            ..Default::default()
        };
        counts.completed(EntryResult::Failed(libc::ENOENT));
        assert_eq!(counts.leave(), None, "one entry is still the kernel's");
        counts.completed(EntryResult::Landed);
        assert_eq!(counts.leave(), None, "its request is being answered");
        counts.committed();
        assert_eq!(counts.leave(), None);
    }

    #[test]
    fn losing_every_entry_while_the_connection_lives_strands_the_ring() {
        let mut counts = EntryCounts {
            in_kernel: 1,
            ..Default::default()
        };
        counts.completed(EntryResult::Failed(libc::EIO));
        assert_eq!(counts.leave(), Some(Leave::Stranded));
    }

    #[test]
    fn the_ring_ends_once_the_connection_has_and_no_entry_is_the_kernels() {
        let mut counts = EntryCounts {
            in_kernel: 3,
            ..Default::default()
        };
        counts.completed(EntryResult::Landed);
        counts.completed(EntryResult::ConnectionEnded);
        assert_eq!(counts.leave(), None, "one entry is still the kernel's");
        counts.completed(EntryResult::ConnectionEnded);
        assert_eq!(
            counts.leave(),
            Some(Leave::Ended),
            "one being answered is not waited for"
        );
    }

    #[test]
    fn a_register_command_carries_its_iovecs_and_queue() {
        let iovecs = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; 2];
        let sqe = register_entry(7, 3, &iovecs, 5);
        // SAFETY: as in `register_entry`.
        let bytes: [u8; 128] = unsafe { std::mem::transmute(sqe) };
        assert_eq!(u32::decode(&bytes[SQE_LEN_OFFSET..]), 2, "len");
        assert_eq!(i32::decode(&bytes[4..]), 7, "fd");
        assert_eq!(u64::decode(&bytes[16..]), iovecs.as_ptr() as u64, "addr");
        assert_eq!(u64::decode(&bytes[32..]), 5, "user_data");
        let request = abi::fuse_uring_cmd_req::decode(&bytes[48..]);
        assert_eq!((request.qid, request.commit_id), (3, 0));
    }
}
