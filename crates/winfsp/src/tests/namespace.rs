//! Rename.

use mountkit_core::windows::create::{DELETE, GENERIC_READ};
use mountkit_core::windows::ntstatus::{
    STATUS_ACCESS_DENIED, STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_INVALID,
};
use mountkit_core::{Operation, RenameMode};

use super::{cx, wide, Harness};

fn rename(h: &Harness, id: u64, from: &str, to: &str, replace: bool) -> Result<(), i32> {
    h.engine.rename(cx(), id, &wide(from), &wide(to), replace)
}

fn last_rename(h: &Harness) -> Option<RenameMode> {
    h.fs.take_log().into_iter().rev().find_map(|op| match op {
        Operation::Rename { mode, .. } => Some(mode),
        _ => None,
    })
}

#[test]
fn a_rename_to_a_free_name_never_replaces() {
    let mut h = Harness::new();
    h.fs.file("/a", b"a");
    let id = h.open("/a", DELETE).unwrap();
    rename(&h, id, "/a", "/b", false).unwrap();
    assert_eq!(last_rename(&h), Some(RenameMode::NoReplace));
    assert!(h.fs.exists("/b"));
    assert_eq!(
        h.engine.context(id).unwrap().path(),
        "/b",
        "the handle follows"
    );
    h.fs.file("/c", b"");
    let c = h.open("/c", DELETE).unwrap();
    rename(&h, c, "/c", "/free", true).unwrap();
    assert_eq!(last_rename(&h), Some(RenameMode::Replace));
}

#[test]
fn an_existing_destination_needs_replace() {
    let mut h = Harness::new();
    h.fs.file("/a", b"a");
    h.fs.file("/b", b"b");
    let id = h.open("/a", DELETE).unwrap();
    assert_eq!(
        rename(&h, id, "/a", "/b", false),
        Err(STATUS_OBJECT_NAME_COLLISION)
    );
    assert_eq!(last_rename(&h), None, "the handler was not asked");
    rename(&h, id, "/a", "/b", true).unwrap();
    assert_eq!(last_rename(&h), Some(RenameMode::Replace));
    assert_eq!(h.fs.data("/b").unwrap(), b"a");
}

#[test]
fn open_or_directory_destinations_are_not_replaced() {
    let mut h = Harness::new();
    h.fs.file("/a", b"");
    h.fs.file("/open", b"");
    h.fs.dir("/dir");
    let id = h.open("/a", DELETE).unwrap();
    let holder = h.open("/open", GENERIC_READ).unwrap();
    assert_eq!(
        rename(&h, id, "/a", "/open", true),
        Err(STATUS_ACCESS_DENIED)
    );
    assert_eq!(
        rename(&h, id, "/a", "/dir", true),
        Err(STATUS_ACCESS_DENIED)
    );
    h.close(holder, false);
    rename(&h, id, "/a", "/open", true).unwrap();
}

#[test]
fn case_only_renames_are_allowed() {
    let mut h = Harness::new();
    h.fs.file("/readme", b"");
    let id = h.open("/readme", DELETE).unwrap();
    rename(&h, id, "/readme", "/README", false).unwrap();
    assert_eq!(last_rename(&h), Some(RenameMode::Replace));
    assert!(h.fs.exists("/README"));
    assert_eq!(h.engine.context(id).unwrap().path(), "/README");
}

#[test]
fn renaming_to_itself_asks_nothing() {
    let mut h = Harness::new();
    h.fs.file("/a", b"");
    let id = h.open("/a", DELETE).unwrap();
    h.fs.take_log();
    rename(&h, id, "/a", "/a", false).unwrap();
    assert!(h.fs.take_log().is_empty());
}

#[test]
fn invalid_destinations_are_refused() {
    let mut h = Harness::new();
    h.fs.file("/a", b"");
    let id = h.open("/a", DELETE).unwrap();
    assert_eq!(
        rename(&h, id, "/a", "/nul", false),
        Err(STATUS_OBJECT_NAME_INVALID)
    );
    assert_eq!(
        rename(&h, id, "/a", "/x:y", false),
        Err(STATUS_OBJECT_NAME_INVALID)
    );
}

#[test]
fn renamed_directories_carry_their_open_children() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    h.fs.file("/d/f", b"data");
    let child = h.open("/d/f", GENERIC_READ).unwrap();
    // WinFsp only renames a directory whose children are closed by the user; this one is
    // cleaned up but not yet closed, as happens while the cache still holds it.
    h.engine.cleanup(cx(), child, 0);
    let dir = h.open("/d", DELETE).unwrap();
    rename(&h, dir, "/d", "/e", false).unwrap();
    assert_eq!(h.engine.context(child).unwrap().path(), "/e/f");
    assert_eq!(&h.read(child, 0, 4).unwrap()[..], b"data");
    let again = h.open("/e/f", GENERIC_READ).unwrap();
    let shared = h.engine.context(again).unwrap().node;
    assert!(std::sync::Arc::ptr_eq(
        &shared,
        &h.engine.context(child).unwrap().node
    ));
}

#[test]
fn a_case_sensitive_volume_sees_two_names() {
    let mut h = Harness::with(false);
    h.fs.file("/a", b"");
    h.fs.file("/A", b"");
    let id = h.open("/a", DELETE).unwrap();
    assert_eq!(
        rename(&h, id, "/a", "/A", false),
        Err(STATUS_OBJECT_NAME_COLLISION)
    );
}
