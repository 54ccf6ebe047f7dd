//! The latest listing the filesystem answered for each directory, kept for a short while so
//! that a LOOKUP of a name it listed with a stat is answered with that stat, without asking
//! the filesystem again (see `Shared::listed_entry` in the adapter).
//!
//! A LOOKUP names a directory inode, not an open directory, so listings are kept by inode.
//! A listing is the very `Arc` the open directory reads its pages from: keeping it costs no
//! copy while the directory is open, only what outlives the open, and only while it may still
//! be used: for the shorter of the entry and attribute timeouts after the filesystem answered.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hashbrown::HashTable;
use mountkit_core::Stat;

use crate::adapter::ListedEntry;

/// The most listed names kept across all directories. A walk of a large tree (`find`, `du`,
/// `ls -lR`) lists thousands of directories within one timeout; without a cap their listings
/// would all stay for that long, and the memory a mount holds would grow with the tree instead
/// of with what the kernel remembers. At some 200 bytes a name this keeps at most about
/// 13 MiB; the oldest listings go first, and a listing larger than the cap is not kept.
pub(crate) const MOST_NAMES_KEPT: usize = 1 << 16;

/// The listings kept, by directory inode.
pub(crate) struct RecentListings {
    by_dir: HashMap<u64, Arc<RecentListing>>,
    /// `(directory, sequence)` in the order listings were kept, oldest first. An entry whose
    /// sequence is not its directory's current one belongs to a listing since replaced or
    /// dropped, and is skipped.
    order: VecDeque<(u64, u64)>,
    /// Names in the listings of `by_dir`.
    names_kept: usize,
    next_sequence: u64,
    /// How long after the filesystem answered a listing it may be used.
    valid_for: Duration,
    hasher: RandomState,
}

/// One directory's latest listing.
pub(crate) struct RecentListing {
    entries: Arc<Vec<ListedEntry>>,
    /// The mount's change count from just before the listing was asked for: its stats are
    /// current only while the count has not moved.
    pub(crate) changes_before: u64,
    /// When the filesystem's answer arrived.
    pub(crate) answered_at: Instant,
    sequence: u64,
    /// Positions in `entries` of the names listed with a stat, by name; built by the first
    /// LOOKUP, so that a listing no LOOKUP follows (a plain `ls`) costs no index.
    by_name: OnceLock<HashTable<u32>>,
    hasher: RandomState,
}

impl RecentListing {
    /// The stat `name` was listed with, if it was listed with one.
    pub(crate) fn stat_of(&self, name: &str) -> Option<&Stat> {
        let entries = &self.entries;
        let hash = |i: &u32| self.hasher.hash_one(entries[*i as usize].name.as_str());
        let index = self.by_name.get_or_init(|| {
            let mut index = HashTable::new();
            for (i, entry) in entries.iter().enumerate() {
                if entry.stat.is_some() {
                    let i = i as u32;
                    index.insert_unique(hash(&i), i, hash);
                }
            }
            index
        });
        let position = index.find(self.hasher.hash_one(name), |i| {
            entries[*i as usize].name == name
        })?;
        entries[*position as usize].stat.as_ref()
    }
}

impl RecentListings {
    /// No listings; each kept will be used for `valid_for` after its answer.
    pub(crate) fn new(valid_for: Duration) -> RecentListings {
        RecentListings {
            by_dir: HashMap::new(),
            order: VecDeque::new(),
            names_kept: 0,
            next_sequence: 0,
            valid_for,
            hasher: RandomState::new(),
        }
    }

    /// Keeps `entries`, the listing of directory `dir` the filesystem answered at
    /// `answered_at`, in place of the one kept before.
    pub(crate) fn keep(
        &mut self,
        dir: u64,
        entries: Arc<Vec<ListedEntry>>,
        changes_before: u64,
        answered_at: Instant,
    ) {
        self.drop_expired(answered_at);
        self.forget(dir);
        if entries.len() > MOST_NAMES_KEPT {
            return;
        }
        while self.names_kept + entries.len() > MOST_NAMES_KEPT {
            let Some((oldest, sequence)) = self.order.pop_front() else {
                break;
            };
            self.remove_if_current(oldest, sequence);
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.names_kept += entries.len();
        self.by_dir.insert(
            dir,
            Arc::new(RecentListing {
                entries,
                changes_before,
                answered_at,
                sequence,
                by_name: OnceLock::new(),
                hasher: self.hasher.clone(),
            }),
        );
        self.order.push_back((dir, sequence));
        // Listings replaced before they expired leave their entries behind in `order`: clear
        // them out once they outnumber the live ones, at amortised O(1) a listing.
        if self.order.len() > 2 * self.by_dir.len() + 16 {
            let by_dir = &self.by_dir;
            self.order
                .retain(|(dir, sequence)| by_dir.get(dir).is_some_and(|l| l.sequence == *sequence));
        }
    }

    /// The listing of `dir` kept and still usable at `now`.
    pub(crate) fn get(&mut self, dir: u64, now: Instant) -> Option<Arc<RecentListing>> {
        self.drop_expired(now);
        self.by_dir.get(&dir).cloned()
    }

    /// Drops the listing of `dir`: replaced, or the kernel forgot the directory.
    pub(crate) fn forget(&mut self, dir: u64) {
        if let Some(listing) = self.by_dir.remove(&dir) {
            self.names_kept -= listing.entries.len();
        }
        if self.by_dir.is_empty() {
            self.order.clear();
            self.release_memory();
        }
    }

    /// Names in the listings kept.
    #[cfg(test)]
    pub(crate) fn names_kept(&self) -> usize {
        self.names_kept
    }

    /// Drops the listings whose time is up at `now`. All are usable for the same time, so
    /// the oldest are at the front of `order`.
    fn drop_expired(&mut self, now: Instant) {
        while let Some(&(dir, sequence)) = self.order.front() {
            let expired = match self.by_dir.get(&dir) {
                Some(listing) if listing.sequence == sequence => {
                    now.saturating_duration_since(listing.answered_at) >= self.valid_for
                }
                _ => true,
            };
            if !expired {
                break;
            }
            self.order.pop_front();
            self.remove_if_current(dir, sequence);
        }
    }

    fn remove_if_current(&mut self, dir: u64, sequence: u64) {
        if self
            .by_dir
            .get(&dir)
            .is_some_and(|listing| listing.sequence == sequence)
        {
            self.forget(dir);
        }
    }

    /// Gives back what the maps grew to once nothing is kept: after a walk of a large tree
    /// they would otherwise hold their largest size for good. Small maps stay, so that one
    /// directory listed again and again does not allocate them anew each time.
    fn release_memory(&mut self) {
        const SMALLEST_WORTH_RELEASING: usize = 64;
        if self.by_dir.capacity() > SMALLEST_WORTH_RELEASING {
            self.by_dir.shrink_to_fit();
        }
        if self.order.capacity() > SMALLEST_WORTH_RELEASING {
            self.order.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mountkit_core::FileKind;

    const VALID_FOR: Duration = Duration::from_secs(10);

    /// A listing of `count` files `f0` … with a stat each (size `i`), the odd ones without a
    /// stat if `odd_without_stat`.
    fn listing(count: usize, odd_without_stat: bool) -> Arc<Vec<ListedEntry>> {
        Arc::new(
            (0..count)
                .map(|i| ListedEntry {
                    name: format!("f{i}"),
                    kind: FileKind::File,
                    d_ino: u64::MAX,
                    stat: (!odd_without_stat || i % 2 == 0).then(|| {
                        let mut stat = Stat::new(FileKind::File);
                        stat.size = i as u64;
                        stat
                    }),
                })
                .collect(),
        )
    }

    #[test]
    fn a_listed_name_is_found_with_its_stat_and_an_unlisted_one_is_not() {
        let mut kept = RecentListings::new(VALID_FOR);
        let now = Instant::now();
        kept.keep(7, listing(100, true), 3, now);
        let found = kept.get(7, now).expect("kept");
        assert_eq!(found.changes_before, 3);
        assert_eq!(found.stat_of("f42").map(|s| s.size), Some(42));
        assert!(found.stat_of("f43").is_none(), "listed without a stat");
        assert!(found.stat_of("g1").is_none(), "not listed");
        assert!(kept.get(8, now).is_none(), "another directory");
    }

    #[test]
    fn a_listing_expires_after_its_time() {
        let mut kept = RecentListings::new(VALID_FOR);
        let at = Instant::now();
        kept.keep(7, listing(4, false), 0, at);
        assert!(kept
            .get(7, at + VALID_FOR - Duration::from_millis(1))
            .is_some());
        assert!(kept.get(7, at + VALID_FOR).is_none());
        assert_eq!(kept.names_kept(), 0, "the expired listing was dropped");
    }

    #[test]
    fn a_new_listing_replaces_the_old_one_and_forgetting_drops_it() {
        let mut kept = RecentListings::new(VALID_FOR);
        let at = Instant::now();
        kept.keep(7, listing(4, false), 0, at);
        kept.keep(7, listing(2, false), 5, at);
        let found = kept.get(7, at).unwrap();
        assert_eq!(found.changes_before, 5);
        assert!(found.stat_of("f3").is_none(), "the old listing is gone");
        assert_eq!(kept.names_kept(), 2);
        kept.forget(7);
        assert!(kept.get(7, at).is_none());
        assert_eq!(kept.names_kept(), 0);
    }

    #[test]
    fn the_oldest_listings_go_first_when_the_cap_is_reached() {
        let mut kept = RecentListings::new(VALID_FOR);
        let at = Instant::now();
        let per_directory = MOST_NAMES_KEPT / 4;
        for dir in 0..5 {
            kept.keep(dir, listing(per_directory, false), 0, at);
        }
        assert!(kept.get(0, at).is_none(), "the oldest made room");
        assert!((1..5).all(|dir| kept.get(dir, at).is_some()));
        assert_eq!(kept.names_kept(), MOST_NAMES_KEPT);
        kept.keep(9, listing(MOST_NAMES_KEPT + 1, false), 0, at);
        assert!(kept.get(9, at).is_none(), "larger than the cap: not kept");
        assert_eq!(
            kept.names_kept(),
            MOST_NAMES_KEPT,
            "and nothing else dropped"
        );
    }

    #[test]
    fn listing_the_same_directory_again_and_again_keeps_the_queue_short() {
        let mut kept = RecentListings::new(VALID_FOR);
        let at = Instant::now();
        for _ in 0..10_000 {
            kept.keep(7, listing(2, false), 0, at);
        }
        assert!(kept.order.len() <= 2 + 16, "{} queued", kept.order.len());
        assert_eq!(kept.names_kept(), 2);
    }
}
