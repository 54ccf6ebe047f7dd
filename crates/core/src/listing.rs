//! Which entries of a handler's directory listing a POSIX directory can hold.
//!
//! A handler may return names no directory can contain (`a/b`, an empty name, `.`), or the
//! same name twice. Such an entry could never be looked up, so it is left out of the listing
//! rather than failing the whole `readdir`; the caller decides how to report what was dropped.
//! A [`Listing`] is the checked form: backends take one and never check these rules again
//! (the Windows backends still hide names Windows cannot show, such as `a:b`).

use rustc_hash::FxHashSet;

use crate::stat::DirEntry;

/// The longest name, in bytes, that Linux accepts for one path component (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// An entry left out of a listing, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedEntry {
    /// The name as the handler gave it.
    pub name: String,
    /// Why no directory can hold it, or that it was listed twice.
    pub reason: &'static str,
}

/// Whether `name` is longer than one path component may be here: 255 bytes on Linux
/// ([`NAME_MAX`]), 255 UTF-16 units on Windows (where a name of 255 CJK characters is fine).
#[cfg(not(windows))]
fn too_long(name: &str) -> bool {
    name.len() > NAME_MAX
}

#[cfg(windows)]
fn too_long(name: &str) -> bool {
    name.encode_utf16().count() > crate::windows::names::MAX_COMPONENT_UNITS
}

#[cfg(not(windows))]
const TOO_LONG: &str = "is longer than 255 bytes";
#[cfg(windows)]
const TOO_LONG: &str = "is longer than 255 UTF-16 units";

/// Why `name` cannot be an entry of a directory, or `None` when it can. `.` and `..` are
/// refused because every backend adds them itself. The length limit is the platform's.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("is reserved (. and .. are added for you)")
    } else if too_long(name) {
        Some(TOO_LONG)
    } else if name.contains('/') {
        Some("contains '/'")
    } else if name.contains('\0') {
        Some("contains NUL")
    } else {
        None
    }
}

/// The entries of a directory, checked: each name passes [`name_problem`] and appears once,
/// in the order the handler gave. Only [`Listing::new`] builds one, so a listing is checked
/// exactly once, wherever it came from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing(Vec<DirEntry>);

impl Listing {
    /// Checks `entries`: returns the listing of those a directory can hold, and the others
    /// with the reason each was left out.
    pub fn new(mut entries: Vec<DirEntry>) -> (Listing, Vec<DroppedEntry>) {
        let dropped = retain_listable(&mut entries);
        (Listing(entries), dropped)
    }

    /// The entries kept.
    pub fn entries(&self) -> &[DirEntry] {
        &self.0
    }

    /// The entries kept, given up.
    pub fn into_entries(self) -> Vec<DirEntry> {
        self.0
    }
}

/// Removes the entries a directory cannot hold (see [`name_problem`]) and every repeat of a
/// name already listed, keeping the order of the rest. Returns what was removed.
///
/// Listings can hold hundreds of thousands of names, so the duplicate check uses a fast
/// non-cryptographic hash over borrowed names, and the common case (nothing to drop) moves
/// no entry.
fn retain_listable(entries: &mut Vec<DirEntry>) -> Vec<DroppedEntry> {
    let mut seen = FxHashSet::with_capacity_and_hasher(entries.len(), Default::default());
    let verdicts: Vec<Option<&'static str>> = entries
        .iter()
        .map(|entry| {
            name_problem(&entry.name)
                .or_else(|| (!seen.insert(entry.name.as_str())).then_some("is a duplicate"))
        })
        .collect();
    drop(seen);
    if verdicts.iter().all(Option::is_none) {
        return Vec::new();
    }
    let mut dropped = Vec::new();
    let mut verdicts = verdicts.into_iter();
    entries.retain_mut(|entry| match verdicts.next().flatten() {
        None => true,
        Some(reason) => {
            dropped.push(DroppedEntry {
                name: std::mem::take(&mut entry.name),
                reason,
            });
            false
        }
    });
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stat::FileKind;

    fn entries(names: &[&str]) -> Vec<DirEntry> {
        names
            .iter()
            .map(|name| DirEntry {
                name: (*name).to_owned(),
                kind: FileKind::File,
                stat: None,
            })
            .collect()
    }

    fn names(entries: &[DirEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn a_clean_listing_is_kept_whole_and_in_order() {
        let (listing, dropped) = Listing::new(entries(&["b", "a", "c"]));
        assert!(dropped.is_empty());
        assert_eq!(names(listing.entries()), ["b", "a", "c"]);
    }

    #[test]
    fn invalid_names_and_repeats_are_dropped_with_their_reason() {
        // Too long everywhere: 256 bytes and 256 UTF-16 units.
        let long = "x".repeat(NAME_MAX + 1);
        let longest = "y".repeat(NAME_MAX);
        let (listing, dropped) = Listing::new(entries(&[
            "good", "a/b", "", ".", "..", "good", &long, &longest, "nul\0", "ünï",
        ]));
        assert_eq!(names(listing.entries()), ["good", longest.as_str(), "ünï"]);
        let reasons: Vec<(&str, &str)> = dropped
            .iter()
            .map(|d| (d.name.as_str(), d.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("a/b", "contains '/'"),
                ("", "is empty"),
                (".", "is reserved (. and .. are added for you)"),
                ("..", "is reserved (. and .. are added for you)"),
                ("good", "is a duplicate"),
                (long.as_str(), TOO_LONG),
                ("nul\0", "contains NUL"),
            ]
        );
    }

    #[test]
    fn the_length_limit_is_the_platforms() {
        // 128 two-byte characters: 256 bytes, but only 128 UTF-16 units.
        let wide = "é".repeat(128);
        let (listing, dropped) = Listing::new(entries(&[&wide]));
        if cfg!(windows) {
            assert!(dropped.is_empty());
            assert_eq!(names(listing.entries()), [wide.as_str()]);
        } else {
            assert_eq!(dropped[0].reason, "is longer than 255 bytes");
            assert!(listing.entries().is_empty());
        }
    }

    #[test]
    fn only_the_first_of_repeated_names_is_kept() {
        let (listing, dropped) = Listing::new(entries(&["a/b", "a", "a/b", "a"]));
        assert_eq!(names(listing.entries()), ["a"]);
        assert_eq!(dropped.len(), 3);
        assert_eq!(dropped[2].reason, "is a duplicate");
    }
}
