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
use crate::protocol::abi::{self, Wire};
use crate::protocol::{Channel, Device, ReplyEmpty, ReplyTo, RingEntries, RingSlot};
use crate::session::serve;
use mountkit_core::Errno;

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
    /// Returns the thread, which ends once the connection has, and whether every entry was
    /// registered: if one was not, the kernel went back to `/dev/fuse` for good.
    pub(crate) fn start(
        self,
        adapter: &Arc<Adapter>,
        device: Arc<Device>,
        served: Arc<AtomicU64>,
    ) -> io::Result<(JoinHandle<io::Result<()>>, io::Result<()>)> {
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

/// The ring's thread: what it serves with.
struct RingThread {
    adapter: Arc<Adapter>,
    device: Arc<Device>,
    entries: Arc<RingEntries>,
    served: Arc<AtomicU64>,
}

impl RingThread {
    /// Registers the entries, says on `registered` whether all were, then serves until the
    /// connection ends.
    fn run(
        &self,
        ring: IoUring<squeue::Entry128, cqueue::Entry>,
        registered: mpsc::Sender<io::Result<()>>,
    ) -> io::Result<()> {
        let fd = self.device.as_fd().as_raw_fd();
        // The kernel reads these while registering, and the wake-up read writes into its
        // buffer: both are declared before the ring so they outlive it.
        let iovecs: Vec<[libc::iovec; 2]> = (0..self.entries.len())
            .map(|entry| self.entries.iovecs(entry))
            .collect();
        let mut wake_buffer = [0u8; 8];
        let mut ring = ring;
        for (entry, iovec) in iovecs.iter().enumerate() {
            push(
                &mut ring,
                &register_entry(fd, self.entries.qid(entry), iovec, entry),
            )?;
        }
        let wake_fd = self.entries.wake_fd().as_raw_fd();
        push(&mut ring, &wake_read(wake_fd, &mut wake_buffer))?;
        ring.submit()?;
        // A refused REGISTER completes at once; a registered entry completes only when a
        // request lands in it.
        let mut landed = Vec::new();
        let mut in_kernel = self.entries.len();
        let mut ended = 0;
        let mut refusal = None;
        for completion in ring.completion() {
            if completion.result() < 0 && completion.user_data() != WAKE {
                in_kernel -= 1;
                ended += 1;
                refusal.get_or_insert(completion.result());
            } else {
                landed.push((completion.user_data(), completion.result()));
            }
        }
        let _ = registered.send(match refusal {
            None => Ok(()),
            Some(result) => Err(io::Error::from_raw_os_error(-result)),
        });
        let mut request = Vec::new();
        loop {
            for (user_data, result) in landed.drain(..) {
                if user_data == WAKE {
                    if result < 0 {
                        return Err(io::Error::from_raw_os_error(-result));
                    }
                    push(&mut ring, &wake_read(wake_fd, &mut wake_buffer))?;
                } else if result < 0 {
                    // The connection ended (ENOTCONN, or ECANCELED when the ring is torn
                    // down); the entry is the kernel's no more.
                    in_kernel -= 1;
                    ended += 1;
                } else {
                    in_kernel -= 1;
                    self.serve_entry(user_data as usize, &mut request);
                }
            }
            for commit in self.entries.take_commits() {
                push(
                    &mut ring,
                    &commit_and_fetch(fd, commit.qid, commit.commit_id, commit.entry),
                )?;
                in_kernel += 1;
            }
            // Once the connection has ended, an entry still being answered comes back only to
            // fail: nothing is left to wait for when none is in the kernel's hands.
            if ended > 0 && in_kernel == 0 {
                return Ok(());
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

    /// Starts serving the request that landed in `entry`, reassembled into `request`.
    fn serve_entry(&self, entry: usize, request: &mut Vec<u8>) {
        self.served.fetch_add(1, Ordering::Relaxed);
        let channel = Channel::Ring(RingSlot::new(self.entries.clone(), entry));
        match self.entries.read_request(entry, request) {
            Ok(()) => {
                serve(&self.adapter, request, &channel, &self.device);
            }
            Err(malformed) => {
                log::warn!(
                    "the kernel put a FUSE request this backend cannot read in an io_uring \
                     entry: {}",
                    malformed.problem
                );
                ReplyEmpty::from(ReplyTo::new(channel, malformed.unique)).error(Errno::EIO);
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
