//! Directory listings as Windows reads them: in a fixed order, resumable after a marker, and
//! filtered by a search pattern.
//!
//! WinFsp's `ReadDirectory` passes a *marker*, the last name it received, and expects the
//! entries that come strictly after it; it asks again until it gets none. Dokan's `FindFiles`
//! asks for the whole listing at once and has no marker. Both want `.` and `..` first in any
//! directory but the root, which has neither.
//!
//! The order is ordinal, by UTF-16 code unit, as Windows file systems sort; when names are
//! compared without case, by uppercased units first. Resuming is a binary search in the
//! prepared listing, so it costs `O(log n)` per call, and a marker whose entry was deleted
//! between calls resumes at the next greater name: nothing is skipped or repeated.

use std::cmp::Ordering;

use crate::stat::{DirEntry, FileKind};

use super::names::upcase_unit;
use super::wildcard::DosExpression;

/// A listing entry: anything with a name that can also stand for `.` and `..`.
pub trait ListingEntry {
    /// The entry's name (a single component, no separators).
    fn entry_name(&self) -> &str;

    /// An entry for `.` or `..` (`name` is one of them), for a handler whose listing lacks it.
    fn dot_entry(name: &'static str) -> Self;
}

impl ListingEntry for DirEntry {
    fn entry_name(&self) -> &str {
        &self.name
    }

    /// A directory entry without metadata.
    fn dot_entry(name: &'static str) -> DirEntry {
        DirEntry {
            name: name.to_owned(),
            kind: FileKind::Directory,
            stat: None,
        }
    }
}

impl ListingEntry for String {
    fn entry_name(&self) -> &str {
        self
    }

    fn dot_entry(name: &'static str) -> String {
        name.to_owned()
    }
}

/// Compares two names in Windows' ordinal order: by UTF-16 code unit (so, unlike UTF-8 byte
/// order, U+FF5E sorts after U+1F600, whose first unit is a surrogate, 0xD83D). With
/// `ignore_case`, names compare by their units uppercased with [`upcase_unit`] first, and only
/// names equal that way are ordered by their exact units, so the order stays total: `a` and
/// `A` are distinct and always in the same order.
pub fn compare_names(a: &str, b: &str, ignore_case: bool) -> Ordering {
    let folded = if ignore_case {
        a.encode_utf16()
            .map(upcase_unit)
            .cmp(b.encode_utf16().map(upcase_unit))
    } else {
        Ordering::Equal
    };
    folded.then_with(|| a.encode_utf16().cmp(b.encode_utf16()))
}

/// The order of a prepared listing: `.` first, `..` second, then every other name by
/// [`compare_names`].
pub fn listing_order(a: &str, b: &str, ignore_case: bool) -> Ordering {
    dot_rank(a)
        .cmp(&dot_rank(b))
        .then_with(|| compare_names(a, b, ignore_case))
}

fn dot_rank(name: &str) -> u8 {
    match name {
        "." => 0,
        ".." => 1,
        _ => 2,
    }
}

/// Puts a handler's listing in [`listing_order`], ready for [`resume_after`].
///
/// - In the root (`is_root`), `.` and `..` are removed: Windows shows none there.
/// - Elsewhere exactly one `.` and one `..` lead the listing: the handler's own (the first of
///   each, with whatever metadata it gave), or [`ListingEntry::dot_entry`] where it gave none.
/// - Entries with exactly the same name appear once, the first given kept.
///
/// Names are not validated here; a backend that must hide names Windows cannot represent
/// filters with [`super::names::validate_component`].
pub fn prepare_listing<T: ListingEntry>(
    entries: Vec<T>,
    is_root: bool,
    ignore_case: bool,
) -> Vec<T> {
    let mut dot = None;
    let mut dot_dot = None;
    let mut names = Vec::with_capacity(entries.len() + 2);
    for entry in entries {
        match dot_rank(entry.entry_name()) {
            0 => {
                dot.get_or_insert(entry);
            }
            1 => {
                dot_dot.get_or_insert(entry);
            }
            _ => names.push(entry),
        }
    }
    names.sort_by(|a, b| compare_names(a.entry_name(), b.entry_name(), ignore_case));
    names.dedup_by(|later, earlier| later.entry_name() == earlier.entry_name());
    if is_root {
        return names;
    }
    let mut listing = Vec::with_capacity(names.len() + 2);
    listing.push(dot.unwrap_or_else(|| T::dot_entry(".")));
    listing.push(dot_dot.unwrap_or_else(|| T::dot_entry("..")));
    listing.extend(names);
    listing
}

/// The entries of a prepared listing (see [`prepare_listing`]) that come strictly after
/// `marker` in [`listing_order`], found by binary search. `ignore_case` must be the value the
/// listing was prepared with.
///
/// - `None` and the empty marker start from the beginning.
/// - A marker that is in the listing resumes just after it.
/// - A marker that is not (its entry was deleted, or renamed, between two calls) resumes at
///   the first entry after the place it would occupy.
pub fn resume_after<'a, T: ListingEntry>(
    listing: &'a [T],
    marker: Option<&str>,
    ignore_case: bool,
) -> &'a [T] {
    match marker {
        None | Some("") => listing,
        Some(marker) => {
            let start = listing.partition_point(|entry| {
                listing_order(entry.entry_name(), marker, ignore_case) != Ordering::Greater
            });
            &listing[start..]
        }
    }
}

/// The entries whose names match the search `pattern` (see [`super::wildcard`]), in their
/// order. `None`, the empty pattern (which `NtQueryDirectoryFile` treats as "everything"),
/// `*` and `*.*` keep every entry without matching.
pub fn matching<'a, T: ListingEntry>(
    entries: &'a [T],
    pattern: Option<&str>,
    ignore_case: bool,
) -> impl Iterator<Item = &'a T> + 'a {
    let expression = pattern
        .filter(|pattern| !pattern.is_empty())
        .map(|pattern| DosExpression::new(pattern, ignore_case))
        .filter(|expression| !expression.matches_everything());
    entries.iter().filter(move |entry| {
        expression
            .as_ref()
            .is_none_or(|expression| expression.matches(entry.entry_name()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(entries: &[String]) -> Vec<&str> {
        entries.iter().map(String::as_str).collect()
    }

    fn listing(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn ordinal_order_is_by_utf16_units() {
        assert_eq!(compare_names("a", "b", false), Ordering::Less);
        assert_eq!(
            compare_names("B", "a", false),
            Ordering::Less,
            "uppercase first"
        );
        assert_eq!(compare_names("a", "a", false), Ordering::Equal);
        assert_eq!(compare_names("ab", "a", false), Ordering::Greater);
        // U+FF5E is one unit, 0xFF5E; U+1F600 starts with the surrogate 0xD83D.
        assert_eq!(compare_names("\u{ff5e}", "😀", false), Ordering::Greater);
        assert!("\u{ff5e}".as_bytes() < "😀".as_bytes(), "UTF-8 disagrees");
    }

    #[test]
    fn case_insensitive_order_folds_first_then_breaks_ties() {
        assert_eq!(compare_names("B", "a", true), Ordering::Greater);
        assert_eq!(compare_names("a", "B", true), Ordering::Less);
        assert_eq!(
            compare_names("A", "a", true),
            Ordering::Less,
            "tie broken ordinally"
        );
        assert_eq!(compare_names("a", "A", true), Ordering::Greater);
        assert_eq!(compare_names("é", "É", true), Ordering::Greater);
        assert_eq!(compare_names("abc", "ABD", true), Ordering::Less);
        assert_eq!(compare_names("x", "x", true), Ordering::Equal);
    }

    #[test]
    fn dots_lead_listings() {
        assert_eq!(listing_order(".", "!", false), Ordering::Less);
        assert_eq!(listing_order("..", " ", false), Ordering::Less);
        assert_eq!(listing_order(".", "..", false), Ordering::Less);
        assert_eq!(listing_order("..", ".a", false), Ordering::Less);
        assert_eq!(listing_order("!", ".a", false), Ordering::Less);
    }

    #[test]
    fn preparing_sorts_and_adds_dots() {
        let prepared = prepare_listing(listing(&["b", "!x", "A", "a", ".hidden"]), false, false);
        assert_eq!(
            names(&prepared),
            [".", "..", "!x", ".hidden", "A", "a", "b"]
        );
        let prepared = prepare_listing(listing(&["b", "A", "a"]), false, true);
        assert_eq!(names(&prepared), [".", "..", "A", "a", "b"]);
    }

    #[test]
    fn preparing_the_root_drops_dots() {
        let prepared = prepare_listing(listing(&["..", "b", ".", "a"]), true, false);
        assert_eq!(names(&prepared), ["a", "b"]);
    }

    #[test]
    fn preparing_keeps_the_handlers_dots_and_removes_duplicates() {
        let dot = DirEntry {
            name: ".".into(),
            kind: FileKind::Directory,
            stat: Some(crate::stat::Stat::new(FileKind::Directory)),
        };
        let file = |name: &str| DirEntry {
            name: name.into(),
            kind: FileKind::File,
            stat: None,
        };
        let prepared = prepare_listing(
            vec![file("z"), dot.clone(), file("a"), file("z"), dot.clone()],
            false,
            false,
        );
        let order: Vec<&str> = prepared.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(order, [".", "..", "a", "z"]);
        assert_eq!(prepared[0], dot, "the handler's `.` with its metadata");
        assert_eq!(prepared[1], DirEntry::dot_entry(".."));
    }

    #[test]
    fn resuming_after_a_marker() {
        let prepared = prepare_listing(listing(&["c", "a", "e", "b", "d"]), false, false);
        assert_eq!(names(resume_after(&prepared, None, false)).len(), 7);
        assert_eq!(names(resume_after(&prepared, Some(""), false)).len(), 7);
        assert_eq!(
            names(resume_after(&prepared, Some("."), false)),
            ["..", "a", "b", "c", "d", "e"]
        );
        assert_eq!(
            names(resume_after(&prepared, Some(".."), false)),
            ["a", "b", "c", "d", "e"]
        );
        assert_eq!(names(resume_after(&prepared, Some("c"), false)), ["d", "e"]);
        assert!(resume_after(&prepared, Some("e"), false).is_empty());
    }

    #[test]
    fn a_deleted_marker_resumes_at_the_next_name() {
        let prepared = prepare_listing(listing(&["apple", "cherry", "date"]), true, false);
        // "banana" was returned last, then deleted.
        assert_eq!(
            names(resume_after(&prepared, Some("banana"), false)),
            ["cherry", "date"]
        );
        assert_eq!(
            names(resume_after(&prepared, Some("0"), false)),
            ["apple", "cherry", "date"]
        );
        assert!(resume_after(&prepared, Some("zebra"), false).is_empty());
    }

    #[test]
    fn case_insensitive_resumption() {
        let prepared = prepare_listing(listing(&["b", "C", "a", "D"]), true, true);
        assert_eq!(names(&prepared), ["a", "b", "C", "D"]);
        assert_eq!(names(resume_after(&prepared, Some("b"), true)), ["C", "D"]);
        assert_eq!(
            names(resume_after(&prepared, Some("B"), true)),
            ["b", "C", "D"],
            "B sorts just before b"
        );
        assert_eq!(names(resume_after(&prepared, Some("c"), true)), ["D"]);
    }

    #[test]
    fn paging_through_a_listing_visits_every_entry_once() {
        let many: Vec<String> = (0..1000).map(|i| format!("file{i:04}")).collect();
        let prepared = prepare_listing(many, false, true);
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page: Vec<&String> = resume_after(&prepared, marker.as_deref(), true)
                .iter()
                .take(37)
                .collect();
            let Some(last) = page.last() else { break };
            marker = Some(last.to_string());
            seen.extend(page.into_iter().cloned());
        }
        assert_eq!(seen, prepared);
    }

    #[test]
    fn filtering_by_pattern() {
        let prepared = prepare_listing(listing(&["a.txt", "B.TXT", "c.doc", "noext"]), false, true);
        let matched = |pattern: Option<&str>| -> Vec<&str> {
            matching(&prepared, pattern, true)
                .map(String::as_str)
                .collect()
        };
        assert_eq!(matched(None).len(), 6);
        assert_eq!(matched(Some("")).len(), 6);
        assert_eq!(matched(Some("*")).len(), 6);
        assert_eq!(matched(Some("*.*")).len(), 6);
        assert_eq!(matched(Some("<\"*")).len(), 6);
        assert_eq!(matched(Some("<.txt")), ["a.txt", "B.TXT"]);
        assert_eq!(matched(Some("<.TXT")), ["a.txt", "B.TXT"]);
        assert_eq!(matched(Some("c.doc")), ["c.doc"]);
        // DOS_STAR may end just after a name's last dot, so `<` takes the dot entries too.
        assert_eq!(matched(Some("<")), [".", "..", "noext"]);
        let sensitive: Vec<&str> = matching(&prepared, Some("<.txt"), false)
            .map(String::as_str)
            .collect();
        assert_eq!(sensitive, ["a.txt"]);
    }

    #[test]
    fn resume_then_filter() {
        let prepared = prepare_listing(listing(&["a.txt", "b.doc", "c.txt", "d.txt"]), true, false);
        let page: Vec<&str> = matching(
            resume_after(&prepared, Some("a.txt"), false),
            Some("<.txt"),
            false,
        )
        .map(String::as_str)
        .collect();
        assert_eq!(page, ["c.txt", "d.txt"]);
    }
}
