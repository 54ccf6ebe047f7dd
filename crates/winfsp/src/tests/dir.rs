//! ReadDirectory and GetDirInfoByName.

use mountkit_core::windows::attributes::FILE_ATTRIBUTE_DIRECTORY;
use mountkit_core::windows::create::{FILE_READ_ATTRIBUTES, GENERIC_READ};
use mountkit_core::windows::ntstatus::{
    NtError, STATUS_INVALID_HANDLE, STATUS_NOT_A_DIRECTORY, STATUS_OBJECT_NAME_NOT_FOUND,
};

use super::{cx, page_names, wide, Harness};

fn populated() -> Harness {
    let h = Harness::new();
    h.fs.dir("/d");
    for name in ["b.txt", "A.txt", "c.doc", "e.txt", "D.txt"] {
        h.fs.file(&format!("/d/{name}"), name.as_bytes());
    }
    h
}

#[test]
fn a_listing_starts_with_dots_and_is_sorted() {
    let mut h = populated();
    let id = h.open("/d", GENERIC_READ).unwrap();
    let page = h.read_dir(id, None, None, 1 << 16).unwrap();
    assert_eq!(
        page_names(&page),
        [".", "..", "A.txt", "b.txt", "c.doc", "D.txt", "e.txt"]
    );
    assert!(page.complete);
    let (_, dot) = &page.entries[0];
    assert_eq!(dot.file_attributes, FILE_ATTRIBUTE_DIRECTORY);
    assert_eq!(page.entries[2].1.file_size, 5);
}

#[test]
fn the_root_has_no_dots() {
    let mut h = populated();
    let id = h.open("/", GENERIC_READ).unwrap();
    let page = h.read_dir(id, None, None, 1 << 16).unwrap();
    assert_eq!(page_names(&page), ["d"]);
}

#[test]
fn pages_resume_after_the_marker_from_one_snapshot() {
    let mut h = populated();
    let id = h.open("/d", GENERIC_READ).unwrap();
    h.fs.take_log();
    // Four records of a five-unit name take 4 × 120 bytes; `.` and `..` take 112 each.
    let first = h.read_dir(id, None, None, 2 * 112 + 120).unwrap();
    assert_eq!(page_names(&first), [".", "..", "A.txt"]);
    assert!(!first.complete);
    assert_eq!(
        h.fs.take_names(),
        ["readdir", "getattr"],
        "the parent, for `..`"
    );
    // A file created in the middle of the enumeration is not seen by it.
    h.fs.file("/d/bb.txt", b"");
    let second = h.read_dir(id, None, Some("A.txt"), 1 << 16).unwrap();
    assert_eq!(page_names(&second), ["b.txt", "c.doc", "D.txt", "e.txt"]);
    assert!(second.complete);
    assert!(
        h.fs.take_log().is_empty(),
        "later pages come from the snapshot"
    );
    // Restarting the enumeration reads the directory again.
    let again = h.read_dir(id, None, None, 1 << 16).unwrap();
    assert!(page_names(&again).contains(&"bb.txt"));
}

#[test]
fn a_removed_marker_resumes_at_the_next_name() {
    let mut h = populated();
    let id = h.open("/d", GENERIC_READ).unwrap();
    h.read_dir(id, None, None, 1 << 16).unwrap();
    let page = h.read_dir(id, None, Some("bz"), 1 << 16).unwrap();
    assert_eq!(page_names(&page), ["c.doc", "D.txt", "e.txt"]);
}

#[test]
fn patterns_filter_pages() {
    let mut h = populated();
    let id = h.open("/d", GENERIC_READ).unwrap();
    let page = h.read_dir(id, Some("<.TXT"), None, 1 << 16).unwrap();
    assert_eq!(page_names(&page), ["A.txt", "b.txt", "D.txt", "e.txt"]);
    let page = h.read_dir(id, Some("*"), Some("b.txt"), 1 << 16).unwrap();
    assert_eq!(page_names(&page), ["c.doc", "D.txt", "e.txt"]);
    let sensitive = {
        let mut h = Harness::with(false);
        h.fs.dir("/d");
        h.fs.file("/d/A.TXT", b"");
        h.fs.file("/d/b.txt", b"");
        let id = h.open("/d", GENERIC_READ).unwrap();
        h.read_dir(id, Some("<.txt"), None, 1 << 16).unwrap()
    };
    assert_eq!(page_names(&sensitive), ["b.txt"]);
}

#[test]
fn entries_without_metadata_are_looked_up() {
    let mut h = populated();
    h.fs.list_stats(false);
    let id = h.open("/d", GENERIC_READ).unwrap();
    h.fs.take_log();
    let page = h.read_dir(id, None, None, 1 << 16).unwrap();
    assert_eq!(page.entries.len(), 7);
    assert_eq!(page.entries[3].1.file_size, 5, "b.txt's own size");
    let names = h.fs.take_names();
    assert_eq!(names[0], "readdir");
    assert_eq!(
        names.iter().filter(|n| **n == "getattr").count(),
        6,
        "all but `.`"
    );
}

#[test]
fn entries_that_vanish_are_left_out() {
    let mut h = populated();
    h.fs.list_stats(false);
    let id = h.open("/d", GENERIC_READ).unwrap();
    h.fs.fail("getattr", mountkit_core::Errno::ENOENT);
    let page = h.read_dir(id, None, None, 1 << 16).unwrap();
    assert_eq!(page_names(&page), ["."], "every lookup failed: {page:?}");
    assert!(page.complete);
}

#[test]
fn names_windows_cannot_show_are_left_out() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    h.fs.file("/d/ok", b"");
    h.fs.file("/d/a:b", b"");
    h.fs.file("/d/aux", b"");
    let id = h.open("/d", GENERIC_READ).unwrap();
    let page = h.read_dir(id, None, None, 1 << 16).unwrap();
    assert_eq!(page_names(&page), [".", "..", "ok"]);
}

#[test]
fn only_directories_are_listed() {
    let mut h = populated();
    let file = h.open("/d/b.txt", GENERIC_READ).unwrap();
    assert_eq!(
        h.read_dir(file, None, None, 1 << 16),
        Err(NtError(STATUS_NOT_A_DIRECTORY))
    );
    let attributes_only = h.open("/d", FILE_READ_ATTRIBUTES).unwrap();
    assert_eq!(
        h.read_dir(attributes_only, None, None, 1 << 16),
        Err(NtError(STATUS_INVALID_HANDLE))
    );
}

#[test]
fn dir_info_by_name_looks_up_one_child() {
    let mut h = Harness::with(false);
    h.fs.dir("/d");
    h.fs.file("/d/b.txt", b"b.txt");
    let id = h.open("/d", GENERIC_READ).unwrap();
    h.fs.take_log();
    let (name, info) = h.engine.dir_info_by_name(cx(), id, &wide("b.txt")).unwrap();
    assert_eq!((name.as_str(), info.file_size), ("b.txt", 5));
    assert_eq!(
        h.fs.take_names(),
        ["getattr"],
        "a case-sensitive volume asks for the child alone"
    );
    for missing in ["zz", "B.TXT", "a:b"] {
        assert_eq!(
            h.engine.dir_info_by_name(cx(), id, &wide(missing)),
            Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND)),
            "{missing}"
        );
    }
}

#[test]
fn dir_info_by_name_finds_the_stored_spelling_of_an_upper_cased_name() {
    // WinFsp upper-cases the name searched for on a case-insensitive volume.
    let mut h = populated();
    let id = h.open("/d", GENERIC_READ).unwrap();
    h.fs.take_log();
    let (name, info) = h.engine.dir_info_by_name(cx(), id, &wide("E.TXT")).unwrap();
    assert_eq!((name.as_str(), info.file_size), ("e.txt", 5));
    assert_eq!(h.fs.take_names(), ["readdir"], "listed through the handle");
    h.fs.list_stats(false);
    let (name, _) = h.engine.dir_info_by_name(cx(), id, &wide("A.TXT")).unwrap();
    assert_eq!(name, "A.txt");
    assert_eq!(
        h.fs.take_names(),
        ["readdir", "getattr"],
        "an entry listed without metadata is looked up"
    );
    assert_eq!(
        h.engine.dir_info_by_name(cx(), id, &wide("ZZ")),
        Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND))
    );
    // A file created after the handle's last listing is found too.
    h.fs.file("/d/Fresh.md", b"");
    let (name, _) = h
        .engine
        .dir_info_by_name(cx(), id, &wide("FRESH.MD"))
        .unwrap();
    assert_eq!(name, "Fresh.md");
}

#[test]
fn dir_info_by_name_prefers_the_exact_spelling() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    h.fs.file("/d/e.txt", b"lower");
    h.fs.file("/d/E.TXT", b"upper");
    let id = h.open("/d", GENERIC_READ).unwrap();
    let (name, info) = h.engine.dir_info_by_name(cx(), id, &wide("E.TXT")).unwrap();
    assert_eq!((name.as_str(), info.file_size), ("E.TXT", 5));
}
