//! Reusable buffers for the write data that JavaScript handlers receive.
//!
//! A buffer of its own per write would be memory V8 counts as external until its garbage
//! collector finalizes the `Buffer` over it: a gigabyte written that way costs a major
//! collection every 64 MiB and hundreds of MiB of resident memory. The pool instead keeps
//! slots that outlive requests. A backend thread copies a write's data into a free slot (the
//! one copy a write needs, out of the backend's receive buffer); JavaScript is handed each
//! slot once as an `ArrayBuffer` and sees every write in it as a `Buffer` view; the slot goes
//! back to the pool when the handler's reply crosses back ([`crate::crossing`]). So a
//! handler's `data` is valid until the handler settles.
//!
//! Slots come in power-of-two sizes from [`SMALLEST`] to [`LARGEST`]; a write takes the
//! smallest that fits. Each size has up to [`SLOTS_PER_SIZE`] slots, made as writes need them
//! and kept until the mount closes (64 MiB at most over all sizes), so a burst of one size
//! never starves another. Writes larger than [`LARGEST`], and writes that find every slot of
//! their size in use, get a buffer of their own. A closed mount retires its pool
//! ([`WritePool::retire`]): each slot's memory goes once the last view of it is gone.
//!
//! The slots are memory shared with JavaScript, which is why this module has `unsafe` code:
//! JavaScript reads a slot through its `ArrayBuffer` while the handler of the write in it
//! runs, and the pool lends the slot again only after that handler has settled.

use std::ptr::NonNull;
use std::sync::{Arc, Weak};

use mountkit_core::Bytes;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

/// The smallest slot, in bytes.
pub(crate) const SMALLEST: usize = 4 * 1024;
/// The largest slot, in bytes: the most one FUSE write carries on Linux.
pub(crate) const LARGEST: usize = 1024 * 1024;
/// The most slots of one size: more writes of one size than this in flight at once are rare
/// (the FUSE kernel module keeps at most 12 background requests in flight by default).
pub(crate) const SLOTS_PER_SIZE: usize = 32;
const CLASSES: usize = (LARGEST / SMALLEST).trailing_zeros() as usize + 1;

/// The memory of one slot. The lease the free list hands it to writes it once, in
/// [`WritePool::copy_in`]; then the write's handler reads it through JavaScript's
/// `ArrayBuffer` until the lease is dropped and the slot is free again.
pub struct Slot {
    memory: NonNull<u8>,
    capacity: usize,
}

// SAFETY: a slot is plain bytes that any thread may free. Who may touch its bytes is decided
// by the pool lock: `copy_in` writes a slot only after taking it off the free list, and the
// slot returns there only when its lease is dropped, after its last reader is done.
unsafe impl Send for Slot {}
// SAFETY: as above: `&Slot` gives no access to the bytes except through a lease's
// exclusive turn (`copy_in`) or a read of what that lease wrote.
unsafe impl Sync for Slot {}

impl Slot {
    fn new(capacity: usize) -> Slot {
        let memory = Box::into_raw(vec![0u8; capacity].into_boxed_slice());
        Slot {
            memory: NonNull::new(memory.cast::<u8>()).expect("a boxed slice is never null"),
            capacity,
        }
    }

    /// The start of the slot's memory, for the `ArrayBuffer` JavaScript sees it through.
    pub fn as_ptr(&self) -> *mut u8 {
        self.memory.as_ptr()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let memory = std::ptr::slice_from_raw_parts_mut(self.memory.as_ptr(), self.capacity);
        // SAFETY: `memory` is the boxed slice `Slot::new` leaked, dropped exactly once here;
        // every `Arc<Slot>` (leases, JavaScript's `ArrayBuffer`) is gone.
        drop(unsafe { Box::from_raw(memory) });
    }
}

#[derive(Default)]
struct State {
    /// Every slot made, by id. A slot lives while it is free (in `free`), lent to a write (its
    /// lease) or viewed by JavaScript, so the id of a lent slot resolves even after
    /// [`WritePool::retire`].
    slots: Vec<Weak<Slot>>,
    /// Free slots, per size class.
    free: [Vec<(u32, Arc<Slot>)>; CLASSES],
    /// How many slots each size class has made.
    made: [usize; CLASSES],
    /// Slot id by the address of its memory, to recognize a pooled `Bytes`.
    by_address: FxHashMap<usize, u32>,
    /// Set by [`WritePool::retire`]: the pool lends nothing more and takes nothing back.
    retired: bool,
}

#[derive(Default)]
pub(crate) struct WritePool {
    state: Mutex<State>,
}

/// A slot in use by one write; dropping it (with the last `Bytes` over it) frees the slot.
struct Lease {
    pool: Arc<WritePool>,
    slot: Arc<Slot>,
    id: u32,
    len: usize,
}

impl AsRef<[u8]> for Lease {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the first `len` bytes were written by `WritePool::copy_in` before this
        // lease was shared, and the pool lends the slot to no other write until the lease is
        // dropped. (JavaScript could write through a view it kept against the contract of
        // `write`; that changes bytes, never what memory is valid.)
        unsafe { std::slice::from_raw_parts(self.slot.as_ptr(), self.len) }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let class = class_of(self.slot.capacity()).expect("a slot's capacity is a class size");
        let mut state = self.pool.state.lock();
        if !state.retired {
            state.free[class].push((self.id, self.slot.clone()));
        }
    }
}

/// The size class whose slots fit `len` bytes, `None` for an empty or too large write.
fn class_of(len: usize) -> Option<usize> {
    if len == 0 || len > LARGEST {
        return None;
    }
    let size = len.max(SMALLEST).next_power_of_two();
    Some((size / SMALLEST).trailing_zeros() as usize)
}

impl WritePool {
    pub(crate) fn new() -> Arc<WritePool> {
        Arc::new(WritePool::default())
    }

    /// `data`, copied into a free slot; `None` when it is empty, larger than [`LARGEST`],
    /// every slot of its size is in use, or the pool is retired.
    pub(crate) fn copy_in(self: &Arc<Self>, data: &[u8]) -> Option<Bytes> {
        let class = class_of(data.len())?;
        let (id, slot) = {
            let mut state = self.state.lock();
            if state.retired {
                return None;
            }
            match state.free[class].pop() {
                Some(free) => free,
                None => {
                    if state.made[class] == SLOTS_PER_SIZE {
                        return None;
                    }
                    let slot = Arc::new(Slot::new(SMALLEST << class));
                    let id = u32::try_from(state.slots.len()).ok()?;
                    state.by_address.insert(slot.as_ptr() as usize, id);
                    state.slots.push(Arc::downgrade(&slot));
                    state.made[class] += 1;
                    (id, slot)
                }
            }
        };
        // SAFETY: the slot was free, so no other lease writes it and no handler is reading
        // it; it holds `capacity >= data.len()` bytes, and `data` is another allocation.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), slot.as_ptr(), data.len()) };
        Some(Bytes::from_owner(Lease {
            pool: self.clone(),
            slot,
            id,
            len: data.len(),
        }))
    }

    /// The slot `bytes` views, if it is a pooled write's data.
    pub(crate) fn slot_of(&self, bytes: &Bytes) -> Option<u32> {
        if bytes.is_empty() {
            return None;
        }
        let state = self.state.lock();
        state.by_address.get(&(bytes.as_ptr() as usize)).copied()
    }

    /// Slot `id`, to hand to JavaScript.
    pub(crate) fn slot(&self, id: u32) -> Option<Arc<Slot>> {
        self.state.lock().slots.get(id as usize)?.upgrade()
    }

    /// Lets go of every slot, for a mount that has closed: a slot's memory is freed once the
    /// write holding it is answered and JavaScript's `ArrayBuffer` over it is collected,
    /// instead of living as long as the pool. May run on any thread, while JavaScript still
    /// serves a batch drained before: the slots of that batch's writes stay reachable by id.
    pub(crate) fn retire(&self) {
        let mut state = self.state.lock();
        state.retired = true;
        state.free = Default::default();
        state.by_address = FxHashMap::default();
    }

    /// Bytes of slot memory held.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        let state = self.state.lock();
        state
            .slots
            .iter()
            .filter_map(Weak::upgrade)
            .map(|s| s.capacity())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_takes_the_smallest_slot_that_fits() {
        assert_eq!(class_of(0), None);
        assert_eq!(class_of(1), Some(0));
        assert_eq!(class_of(SMALLEST), Some(0));
        assert_eq!(class_of(SMALLEST + 1), Some(1));
        assert_eq!(class_of(LARGEST), Some(CLASSES - 1));
        assert_eq!(class_of(LARGEST + 1), None);
    }

    #[test]
    fn a_slot_is_reused_once_its_data_is_dropped() {
        let pool = WritePool::new();
        let first = pool.copy_in(b"first write").unwrap();
        assert_eq!(&first[..], b"first write");
        let first_slot = pool.slot_of(&first).unwrap();
        let second = pool.copy_in(b"second").unwrap();
        assert_ne!(
            pool.slot_of(&second),
            Some(first_slot),
            "a slot in use is not lent twice"
        );
        drop(first);
        let third = pool.copy_in(b"third").unwrap();
        assert_eq!(pool.slot_of(&third), Some(first_slot));
        assert_eq!(&third[..], b"third");
        assert_eq!(&second[..], b"second");
        assert_eq!(pool.held_bytes(), 2 * SMALLEST);
    }

    #[test]
    fn sizes_take_slots_of_their_own_class() {
        let pool = WritePool::new();
        let small = pool.copy_in(&[1; 100]).unwrap();
        let small_slot = pool.slot_of(&small).unwrap();
        drop(small);
        let large = pool.copy_in(&vec![2; LARGEST]).unwrap();
        assert_ne!(pool.slot_of(&large), Some(small_slot));
        assert_eq!(
            pool.slot(pool.slot_of(&large).unwrap()).unwrap().capacity(),
            LARGEST
        );
        assert!(large.iter().all(|&b| b == 2));
    }

    #[test]
    fn what_the_pool_cannot_hold_is_left_to_the_caller() {
        let pool = WritePool::new();
        assert!(pool.copy_in(&[]).is_none());
        assert!(pool.copy_in(&vec![0; LARGEST + 1]).is_none());
        let held: Vec<Bytes> = (0..SLOTS_PER_SIZE)
            .map(|_| pool.copy_in(&vec![3; LARGEST]).unwrap())
            .collect();
        assert!(
            pool.copy_in(&vec![4; LARGEST]).is_none(),
            "every slot of that size is in use"
        );
        assert!(
            pool.copy_in(&[5; 10]).is_some(),
            "one size in use leaves the others alone"
        );
        drop(held);
        assert!(pool.copy_in(&vec![6; LARGEST]).is_some());
        assert_eq!(pool.held_bytes(), SLOTS_PER_SIZE * LARGEST + SMALLEST);
    }

    #[test]
    fn a_retired_pool_frees_each_slot_with_its_last_holder() {
        let pool = WritePool::new();
        let idle = pool.copy_in(b"idle").unwrap();
        let idle_slot = Arc::downgrade(&pool.slot(pool.slot_of(&idle).unwrap()).unwrap());
        drop(idle);
        // Another size, so that it does not take the idle slot back.
        let lent = pool.copy_in(&[7; SMALLEST + 1]).unwrap();
        let lent_id = pool.slot_of(&lent).unwrap();
        let lent_slot = Arc::downgrade(&pool.slot(lent_id).unwrap());
        pool.retire();
        assert!(idle_slot.upgrade().is_none(), "a free slot goes at once");
        assert!(lent.iter().all(|&b| b == 7), "a lent slot stays valid");
        assert!(
            pool.slot(lent_id).is_some(),
            "JavaScript may still ask for the slot of a write drained before the retirement"
        );
        drop(lent);
        assert!(pool.slot(lent_id).is_none());
        assert!(
            lent_slot.upgrade().is_none(),
            "a lent slot goes with its lease"
        );
        assert_eq!(pool.held_bytes(), 0);
        assert!(
            pool.copy_in(b"late").is_none(),
            "a retired pool lends nothing"
        );
    }

    #[test]
    fn bytes_from_elsewhere_are_not_mistaken_for_a_slot() {
        let pool = WritePool::new();
        let pooled = pool.copy_in(b"pooled").unwrap();
        assert!(pool.slot_of(&pooled).is_some());
        assert_eq!(pool.slot_of(&Bytes::copy_from_slice(b"owned")), None);
        assert_eq!(
            pool.slot_of(&pooled.slice(1..)),
            None,
            "a view inside a slot is not one"
        );
    }
}
