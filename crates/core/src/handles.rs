//! Numbered handles for open files and directories.
//!
//! A backend gives the kernel its own handle numbers and keeps, under each, what it needs to
//! serve that open file: the filesystem's own handle, and, for files whose bytes Rust serves, the
//! backing file. Numbers are never reused within a table's life, so a stale number from the
//! kernel can never reach another file.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// Open handles of one mount.
pub struct HandleTable<T> {
    entries: Mutex<HashMap<u64, T>>,
    next: AtomicU64,
}

impl<T: Clone> HandleTable<T> {
    /// An empty table.
    pub fn new() -> HandleTable<T> {
        HandleTable {
            entries: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }

    /// Stores `value` under a new handle number.
    pub fn insert(&self, value: T) -> u64 {
        let handle = self.next.fetch_add(1, Ordering::Relaxed);
        self.entries.lock().insert(handle, value);
        handle
    }

    /// The value of `handle`, if the table holds it.
    pub fn get(&self, handle: u64) -> Option<T> {
        self.entries.lock().get(&handle).cloned()
    }

    /// Changes the value under `handle` in place; false if there is none.
    pub fn update(&self, handle: u64, change: impl FnOnce(&mut T)) -> bool {
        match self.entries.lock().get_mut(&handle) {
            Some(value) => {
                change(value);
                true
            }
            None => false,
        }
    }

    /// Takes `handle` out of the table and returns its value.
    pub fn remove(&self, handle: u64) -> Option<T> {
        self.entries.lock().remove(&handle)
    }

    /// How many handles the table holds.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether the table holds no handle.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Clone> Default for HandleTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_unique_and_never_reused() {
        let table = HandleTable::new();
        let a = table.insert("a");
        let b = table.insert("b");
        assert_ne!(a, b);
        assert_eq!(table.remove(a), Some("a"));
        let c = table.insert("c");
        assert!(c != a && c != b);
        assert_eq!(table.get(a), None);
        assert_eq!(table.get(c), Some("c"));
    }

    #[test]
    fn values_can_change_in_place() {
        let table = HandleTable::new();
        let h = table.insert(1);
        assert!(table.update(h, |v| *v += 1));
        assert_eq!(table.get(h), Some(2));
        assert!(!table.update(h + 100, |v| *v += 1));
        assert_eq!(table.len(), 1);
    }
}
