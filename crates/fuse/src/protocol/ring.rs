//! The entries of a FUSE-over-io_uring ring: the buffers the kernel writes a request into and
//! reads its reply from, and the commits that hand an answered entry back to the kernel.
//!
//! Each entry has a header buffer (`struct fuse_uring_req_header`: the request's
//! `fuse_in_header`, then the reply's `fuse_out_header`, in `in_out`; the request's first
//! argument in `op_in`; sizes in a `fuse_uring_ent_in_out`) and a payload buffer (the rest of
//! the request's arguments, then the reply's payload). An entry belongs to the kernel from its
//! REGISTER or COMMIT_AND_FETCH until that completes, then to mountkit until the request is
//! answered: at any time one side touches it, and the lock only orders mountkit's threads.
//!
//! Whichever thread answers writes the reply into the entry and queues a [`Commit`]; the
//! thread that owns the ring submits it ([`RingEntries::take_commits`]). Only that thread
//! submits, since the kernel copies the entry's next request in the context of the thread
//! that submitted the command, and cancels a thread's commands when it exits.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use parking_lot::Mutex;

use super::abi::{self, Wire};

/// One entry's buffers. They are allocated once and never move, so the addresses handed to
/// the kernel at REGISTER stay valid for as long as the entries live.
struct EntryBuffers {
    header: Box<[u8]>,
    payload: Box<[u8]>,
    /// The kernel's commit id of the request the entry holds until it is answered: an answer
    /// for any other (stale or repeated) would overwrite the entry's next request.
    holds: Option<u64>,
}

struct RingEntry {
    /// The queue (one per possible CPU) the entry serves.
    qid: u16,
    buffers: Mutex<EntryBuffers>,
}

/// An answered entry to hand back to the kernel with COMMIT_AND_FETCH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Commit {
    /// The entry's index.
    pub(crate) entry: usize,
    /// The entry's queue.
    pub(crate) qid: u16,
    /// The request it answers.
    pub(crate) commit_id: u64,
}

/// A request's bytes in an entry did not add up; the request is answered `EIO`.
#[derive(Debug)]
pub(crate) struct MalformedEntry {
    /// The kernel's commit id for the entry (from `fuse_uring_ent_in_out`, not the header
    /// judged unreadable): the id its answer must carry.
    pub(crate) commit_id: u64,
    /// What did not add up.
    pub(crate) problem: String,
}

/// Every entry of one ring, the commits waiting to be submitted, and the `eventfd` that wakes
/// the ring's thread when one is queued.
pub(crate) struct RingEntries {
    entries: Vec<RingEntry>,
    commits: Mutex<Vec<Commit>>,
    wake: File,
}

impl RingEntries {
    /// `depth` entries for each of the queues `0..queues`, each with a payload buffer of
    /// `payload_size` bytes (the kernel refuses one smaller than the mount's largest request).
    pub(crate) fn new(queues: u16, depth: usize, payload_size: usize) -> io::Result<RingEntries> {
        let entries = (0..queues)
            .flat_map(|qid| (0..depth).map(move |_| qid))
            .map(|qid| RingEntry {
                qid,
                buffers: Mutex::new(EntryBuffers {
                    header: vec![0; abi::FUSE_URING_HEADER_SIZE].into_boxed_slice(),
                    payload: vec![0; payload_size].into_boxed_slice(),
                    holds: None,
                }),
            })
            .collect();
        // SAFETY: eventfd takes no pointers; its result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a descriptor eventfd just opened, owned by nothing else.
        let wake = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(RingEntries {
            entries,
            commits: Mutex::new(Vec::new()),
            wake,
        })
    }

    /// How many entries there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The queue of entry `entry`.
    pub(crate) fn qid(&self, entry: usize) -> u16 {
        self.entries[entry].qid
    }

    /// The `iovec`s REGISTER hands the kernel for entry `entry`: its header buffer, then its
    /// payload buffer. They point into buffers that live as long as `self`.
    pub(crate) fn iovecs(&self, entry: usize) -> [libc::iovec; 2] {
        let mut buffers = self.entries[entry].buffers.lock();
        let EntryBuffers {
            header, payload, ..
        } = &mut *buffers;
        [
            libc::iovec {
                iov_base: header.as_mut_ptr().cast(),
                iov_len: header.len(),
            },
            libc::iovec {
                iov_base: payload.as_mut_ptr().cast(),
                iov_len: payload.len(),
            },
        ]
    }

    /// Copies the request the kernel put in entry `entry` into `request` as `/dev/fuse` would
    /// have delivered it: the `fuse_in_header`, the first argument (from `op_in`), then the
    /// payload. The header's `len` is the whole request's and `payload_sz` the payload's, so
    /// the first argument is what lies between.
    pub(crate) fn read_request(
        &self,
        entry: usize,
        request: &mut Vec<u8>,
    ) -> Result<(), MalformedEntry> {
        let mut buffers = self.entries[entry].buffers.lock();
        let sizes =
            abi::fuse_uring_ent_in_out::decode(&buffers.header[abi::FUSE_URING_ENT_IN_OUT..]);
        buffers.holds = Some(sizes.commit_id);
        let header = &buffers.header;
        let in_header = abi::fuse_in_header::decode(&header[abi::FUSE_URING_IN_OUT..]);
        let payload_len = sizes.payload_sz as usize;
        let first_argument_len = (in_header.len as usize)
            .checked_sub(abi::fuse_in_header::SIZE + payload_len)
            .filter(|&len| len <= abi::FUSE_URING_ENT_IN_OUT - abi::FUSE_URING_OP_IN);
        let (Some(first_argument_len), true) =
            (first_argument_len, payload_len <= buffers.payload.len())
        else {
            return Err(MalformedEntry {
                commit_id: sizes.commit_id,
                problem: format!(
                    "a {}-byte request with a {payload_len}-byte payload",
                    in_header.len
                ),
            });
        };
        request.clear();
        request.extend_from_slice(
            &header[abi::FUSE_URING_IN_OUT..abi::FUSE_URING_IN_OUT + abi::fuse_in_header::SIZE],
        );
        request.extend_from_slice(
            &header[abi::FUSE_URING_OP_IN..abi::FUSE_URING_OP_IN + first_argument_len],
        );
        request.extend_from_slice(&buffers.payload[..payload_len]);
        Ok(())
    }

    /// The commits queued since the last call, in the order they were queued.
    pub(crate) fn take_commits(&self) -> Vec<Commit> {
        std::mem::take(&mut *self.commits.lock())
    }

    /// The `eventfd` that becomes readable when a commit is queued on an empty queue.
    pub(crate) fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Writes the answer to request `unique` into entry `entry` (a `fuse_out_header` with
    /// `error`, and `payload`) and queues its commit. A payload larger than the entry's buffer
    /// (which no request of the mount's sizes asks for) is answered `EIO` instead. An answer
    /// to a request the entry does not hold (stale, or a second one) is refused and logged.
    fn answer(&self, entry: usize, unique: u64, error: i32, payload: &[&[u8]]) -> io::Result<()> {
        let ring_entry = &self.entries[entry];
        let payload_len: usize = payload.iter().map(|part| part.len()).sum();
        {
            let mut buffers = ring_entry.buffers.lock();
            if buffers.holds != Some(unique) {
                log::warn!(
                    "an answer to FUSE request {unique} came for io_uring entry {entry}, which \
                     holds {:?}; dropping the answer",
                    buffers.holds
                );
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "io_uring entry {entry} does not hold FUSE request {unique}: it was \
                         answered already or never landed there"
                    ),
                ));
            }
            buffers.holds = None;
            let (error, payload_len) = if payload_len <= buffers.payload.len() {
                let mut at = 0;
                for part in payload {
                    buffers.payload[at..at + part.len()].copy_from_slice(part);
                    at += part.len();
                }
                (error, payload_len)
            } else {
                log::warn!(
                    "a {payload_len}-byte answer to FUSE request {unique} does not fit its \
                     io_uring entry; answering EIO"
                );
                (-libc::EIO, 0)
            };
            let mut bytes = Vec::with_capacity(abi::fuse_out_header::SIZE);
            abi::fuse_out_header {
                len: (abi::fuse_out_header::SIZE + payload_len) as u32,
                error,
                unique,
            }
            .encode(&mut bytes);
            buffers.header[abi::FUSE_URING_IN_OUT..abi::FUSE_URING_IN_OUT + bytes.len()]
                .copy_from_slice(&bytes);
            bytes.clear();
            abi::fuse_uring_ent_in_out {
                commit_id: unique,
                payload_sz: payload_len as u32,
                ..Default::default()
            }
            .encode(&mut bytes);
            buffers.header[abi::FUSE_URING_ENT_IN_OUT..].copy_from_slice(&bytes);
        }
        let first = {
            let mut commits = self.commits.lock();
            commits.push(Commit {
                entry,
                qid: ring_entry.qid,
                commit_id: unique,
            });
            commits.len() == 1
        };
        // The ring's thread drains every queued commit when it wakes: one wake per batch.
        if first {
            (&self.wake).write_all(&1u64.to_ne_bytes())?;
        }
        Ok(())
    }
}

/// One entry of a ring, holding a request until it is answered.
#[derive(Clone)]
pub(crate) struct RingSlot {
    entries: Arc<RingEntries>,
    entry: usize,
}

impl RingSlot {
    /// Entry `entry` of `entries`.
    pub(crate) fn new(entries: Arc<RingEntries>, entry: usize) -> RingSlot {
        RingSlot { entries, entry }
    }

    /// Answers request `unique` in this entry and queues the entry's commit.
    pub(crate) fn answer(&self, unique: u64, error: i32, payload: &[&[u8]]) -> io::Result<()> {
        self.entries.answer(self.entry, unique, error, payload)
    }
}

impl fmt::Debug for RingSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingSlot")
            .field("entry", &self.entry)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Arc<RingEntries> {
        Arc::new(RingEntries::new(2, 2, 8192).unwrap())
    }

    /// Puts a request in entry `entry` as the kernel would: header, first argument, payload.
    fn land(entries: &RingEntries, entry: usize, opcode: u32, first: &[u8], payload: &[u8]) {
        let mut buffers = entries.entries[entry].buffers.lock();
        let mut bytes = Vec::new();
        abi::fuse_in_header {
            len: (abi::fuse_in_header::SIZE + first.len() + payload.len()) as u32,
            opcode,
            unique: 77,
            nodeid: 1,
            ..Default::default()
        }
        .encode(&mut bytes);
        buffers.header[..bytes.len()].copy_from_slice(&bytes);
        buffers.header[abi::FUSE_URING_OP_IN..abi::FUSE_URING_OP_IN + first.len()]
            .copy_from_slice(first);
        buffers.payload[..payload.len()].copy_from_slice(payload);
        bytes.clear();
        abi::fuse_uring_ent_in_out {
            commit_id: 77,
            payload_sz: payload.len() as u32,
            ..Default::default()
        }
        .encode(&mut bytes);
        buffers.header[abi::FUSE_URING_ENT_IN_OUT..].copy_from_slice(&bytes);
    }

    #[test]
    fn entries_are_laid_out_queue_by_queue() {
        let entries = entries();
        assert_eq!(entries.len(), 4);
        let queues: Vec<u16> = (0..4).map(|entry| entries.qid(entry)).collect();
        assert_eq!(queues, [0, 0, 1, 1]);
        let [header, payload] = entries.iovecs(3);
        assert_eq!(header.iov_len, 288);
        assert_eq!(payload.iov_len, 8192);
    }

    #[test]
    fn a_request_is_reassembled_as_the_device_would_deliver_it() {
        let entries = entries();
        let write_in = [1u8; 40];
        land(&entries, 1, abi::opcode::FUSE_WRITE, &write_in, b"data");
        let mut request = Vec::new();
        entries.read_request(1, &mut request).unwrap();
        assert_eq!(request.len(), 40 + 40 + 4);
        assert_eq!(
            abi::fuse_in_header::decode(&request).opcode,
            abi::opcode::FUSE_WRITE
        );
        assert_eq!(&request[40..80], &write_in);
        assert_eq!(&request[80..], b"data");
    }

    #[test]
    fn a_request_whose_sizes_do_not_add_up_is_refused_with_its_id() {
        let entries = entries();
        land(&entries, 0, abi::opcode::FUSE_WRITE, &[0; 40], b"data");
        entries.entries[0].buffers.lock().header[abi::FUSE_URING_ENT_IN_OUT + 16] = 200;
        entries.entries[0].buffers.lock().header[abi::FUSE_URING_IN_OUT + 8] = 5;
        let error = entries.read_request(0, &mut Vec::new()).unwrap_err();
        assert_eq!(
            error.commit_id, 77,
            "the kernel's commit id, not the header's unique"
        );
    }

    #[test]
    fn an_answer_for_a_request_the_entry_does_not_hold_is_refused() {
        let entries = entries();
        land(&entries, 1, abi::opcode::FUSE_GETATTR, &[0; 16], b"");
        entries.read_request(1, &mut Vec::new()).unwrap();
        let slot = RingSlot::new(entries.clone(), 1);
        assert!(slot.answer(78, 0, &[]).is_err(), "another request's answer");
        assert_eq!(entries.take_commits(), []);
        slot.answer(77, 0, &[]).unwrap();
        assert!(slot.answer(77, 0, &[]).is_err(), "a second answer");
        assert_eq!(entries.take_commits().len(), 1);
    }

    #[test]
    fn an_answer_fills_the_entry_and_queues_one_commit() {
        let entries = entries();
        land(&entries, 2, abi::opcode::FUSE_READ, &[0; 40], b"");
        entries.read_request(2, &mut Vec::new()).unwrap();
        let slot = RingSlot::new(entries.clone(), 2);
        slot.answer(77, 0, &[b"ab", b"cd"]).unwrap();
        let buffers = entries.entries[2].buffers.lock();
        let header = abi::fuse_out_header::decode(&buffers.header);
        assert_eq!(
            header,
            abi::fuse_out_header {
                len: 20,
                error: 0,
                unique: 77
            }
        );
        let sizes = abi::fuse_uring_ent_in_out::decode(&buffers.header[256..]);
        assert_eq!((sizes.commit_id, sizes.payload_sz), (77, 4));
        assert_eq!(&buffers.payload[..4], b"abcd");
        drop(buffers);
        assert_eq!(
            entries.take_commits(),
            [Commit {
                entry: 2,
                qid: 1,
                commit_id: 77
            }]
        );
        assert_eq!(entries.take_commits(), []);
    }

    #[test]
    fn an_answer_too_large_for_the_entry_goes_as_eio() {
        let entries = entries();
        land(&entries, 0, abi::opcode::FUSE_READ, &[0; 40], b"");
        entries.read_request(0, &mut Vec::new()).unwrap();
        let slot = RingSlot::new(entries.clone(), 0);
        slot.answer(77, 0, &[&[0; 8193]]).unwrap();
        let buffers = entries.entries[0].buffers.lock();
        let header = abi::fuse_out_header::decode(&buffers.header);
        assert_eq!((header.len, header.error), (16, -libc::EIO));
    }
}
