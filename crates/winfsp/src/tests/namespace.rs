//! CanDelete, SetDelete and Rename.

use mountkit_core::windows::create::{DELETE, FILE_CREATE, FILE_OPEN, GENERIC_READ, GENERIC_WRITE};
use mountkit_core::windows::ntstatus::{
    NtError, STATUS_ACCESS_DENIED, STATUS_CANNOT_DELETE, STATUS_DELETE_PENDING,
    STATUS_DIRECTORY_NOT_EMPTY, STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_INVALID,
};
use mountkit_core::{Operation, RenameMode};

use super::{cx, wide, Harness};

#[test]
fn set_delete_marks_the_file_for_every_handle() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    let a = h.open("/f", GENERIC_READ | DELETE).unwrap();
    let b = h.open("/f", GENERIC_READ).unwrap();
    h.engine.set_delete(cx(), a, true).unwrap();
    assert_eq!(
        h.open("/f", GENERIC_READ),
        Err(NtError(STATUS_DELETE_PENDING))
    );
    h.close(a, false);
    assert!(h.fs.exists("/f"), "another handle is open");
    h.close(b, true);
    assert!(!h.fs.exists("/f"));
}

#[test]
fn clearing_the_mark_cancels_the_deletion() {
    let mut h = Harness::new();
    h.fs.file("/f", b"");
    let id = h.open("/f", DELETE).unwrap();
    h.engine.set_delete(cx(), id, true).unwrap();
    h.engine.set_delete(cx(), id, false).unwrap();
    let again = h.open("/f", GENERIC_READ).unwrap();
    h.close(again, false);
    h.close(id, false);
    assert!(h.fs.exists("/f"));
}

#[test]
fn deletion_checks_match_can_delete() {
    let mut h = Harness::new();
    h.fs.dir("/d");
    h.fs.file("/d/x", b"");
    let id = h.open("/d", GENERIC_READ | DELETE).unwrap();
    assert_eq!(
        h.engine.can_delete(cx(), id),
        Err(NtError(STATUS_DIRECTORY_NOT_EMPTY))
    );
    assert_eq!(
        h.engine.set_delete(cx(), id, true),
        Err(NtError(STATUS_DIRECTORY_NOT_EMPTY))
    );
    h.fs.file("/ro", b"");
    h.fs.edit("/ro", |stat| stat.mode = 0o444);
    let ro = h.open("/ro", DELETE).unwrap();
    assert_eq!(
        h.engine.can_delete(cx(), ro),
        Err(NtError(STATUS_CANNOT_DELETE))
    );
    assert_eq!(
        h.engine.set_delete(cx(), ro, true),
        Err(NtError(STATUS_CANNOT_DELETE))
    );
    h.fs.file("/ok", b"");
    let ok = h.open("/ok", DELETE).unwrap();
    assert_eq!(h.engine.can_delete(cx(), ok), Ok(()));
    h.close(ok, false);
    assert!(h.fs.exists("/ok"), "CanDelete records nothing");
}

fn rename(h: &Harness, id: u64, to: &str, replace: bool) -> Result<(), NtError> {
    h.engine.rename(cx(), id, &wide(to), replace)
}

fn renames(h: &Harness) -> Vec<RenameMode> {
    h.fs.take_log()
        .into_iter()
        .filter_map(|op| match op {
            Operation::Rename { mode, .. } => Some(mode),
            _ => None,
        })
        .collect()
}

fn last_rename(h: &Harness) -> Option<RenameMode> {
    renames(h).pop()
}

#[test]
fn a_rename_to_a_free_name_never_replaces() {
    let mut h = Harness::new();
    h.fs.file("/a", b"a");
    let id = h.open("/a", DELETE).unwrap();
    rename(&h, id, "/b", false).unwrap();
    assert_eq!(last_rename(&h), Some(RenameMode::NoReplace));
    assert!(h.fs.exists("/b"));
    assert_eq!(
        h.engine.context(id).unwrap().path(),
        "/b",
        "the handle follows"
    );
    h.fs.file("/c", b"");
    let c = h.open("/c", DELETE).unwrap();
    rename(&h, c, "/free", true).unwrap();
    assert_eq!(last_rename(&h), Some(RenameMode::Replace));
}

#[test]
fn an_existing_destination_needs_replace() {
    let mut h = Harness::new();
    h.fs.file("/a", b"a");
    h.fs.file("/b", b"b");
    let id = h.open("/a", DELETE).unwrap();
    assert_eq!(
        rename(&h, id, "/b", false),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION))
    );
    assert_eq!(last_rename(&h), None, "the handler was not asked");
    rename(&h, id, "/b", true).unwrap();
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
        rename(&h, id, "/open", true),
        Err(NtError(STATUS_ACCESS_DENIED))
    );
    assert_eq!(
        rename(&h, id, "/dir", true),
        Err(NtError(STATUS_ACCESS_DENIED))
    );
    h.close(holder, false);
    rename(&h, id, "/open", true).unwrap();
}

#[test]
fn case_only_renames_are_allowed() {
    let mut h = Harness::new();
    h.fs.file("/readme", b"");
    let id = h.open("/readme", DELETE).unwrap();
    rename(&h, id, "/README", false).unwrap();
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
    rename(&h, id, "/a", false).unwrap();
    assert!(h.fs.take_log().is_empty());
}

#[test]
fn invalid_destinations_are_refused() {
    let mut h = Harness::new();
    h.fs.file("/a", b"");
    let id = h.open("/a", DELETE).unwrap();
    assert_eq!(
        rename(&h, id, "/nul", false),
        Err(NtError(STATUS_OBJECT_NAME_INVALID))
    );
    assert_eq!(
        rename(&h, id, "/x:y", false),
        Err(NtError(STATUS_OBJECT_NAME_INVALID))
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
    rename(&h, dir, "/e", false).unwrap();
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
        rename(&h, id, "/A", false),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION))
    );
}

#[test]
fn opens_report_the_stored_name_for_winfsp_to_keep() {
    let mut h = Harness::new();
    h.fs.dir("/Dir");
    h.fs.file("/Dir/File.txt", b"x");
    let opened = h
        .create_request("/DIR/file.TXT", FILE_OPEN, 0, DELETE)
        .unwrap();
    assert_eq!(opened.normalized_name, Some(wide("/Dir/File.txt")));
    assert_eq!(h.engine.context(opened.id).unwrap().path(), "/Dir/File.txt");
    // WinFsp renames with the name it kept for the file, and the target directory's.
    let target = h
        .create_request("/DIR", FILE_OPEN, 0, GENERIC_READ)
        .unwrap();
    assert_eq!(target.normalized_name, Some(wide("/Dir")));
    rename(&h, opened.id, "/Dir/Moved.txt", false).unwrap();
    assert!(h.fs.exists("/Dir/Moved.txt"));
    let created = h
        .create_request("/DIR/new.txt", FILE_CREATE, 0, GENERIC_WRITE)
        .unwrap();
    assert_eq!(created.normalized_name, Some(wide("/Dir/new.txt")));
    assert!(
        h.fs.exists("/Dir/new.txt"),
        "created in the directory as stored"
    );
    let exact = h.create_request("/Dir/new.txt", FILE_OPEN, 0, GENERIC_READ);
    assert_eq!(exact.unwrap().normalized_name, Some(wide("/Dir/new.txt")));
}

#[test]
fn a_rename_starts_from_the_handlers_spelling_when_winfsp_kept_its_own() {
    let mut h = Harness::new();
    h.fs.dir("/Dir");
    h.fs.file("/Dir/File.txt", b"x");
    // The stream suffix makes the stored name differ from the name opened in more than case,
    // so no normalized name is reported, and WinFsp renames from "\DIR\FILE.TXT".
    let opened = h
        .create_request("/DIR/FILE.TXT::$DATA", FILE_OPEN, 0, DELETE)
        .unwrap();
    assert_eq!(opened.normalized_name, None);
    rename(&h, opened.id, "/Dir/Moved.txt", false).unwrap();
    let renamed: Vec<(String, String)> =
        h.fs.take_log()
            .into_iter()
            .filter_map(|op| match op {
                Operation::Rename { from, to, .. } => Some((from, to)),
                _ => None,
            })
            .collect();
    assert_eq!(
        renamed,
        [("/Dir/File.txt".to_owned(), "/Dir/Moved.txt".to_owned())]
    );
    assert!(h.fs.exists("/Dir/Moved.txt") && !h.fs.exists("/Dir/File.txt"));
}

#[test]
fn names_are_reported_only_where_winfsp_takes_them() {
    let h = Harness::new();
    assert_eq!(
        h.engine.normalized_name(&wide("/A.TXT"), "/a.txt"),
        Some(wide("/a.txt"))
    );
    assert_eq!(
        h.engine.normalized_name(&wide("/b.txt"), "/a.txt"),
        None,
        "WinFsp refuses a name that differs in more than case"
    );
    let mut sensitive = Harness::with(false);
    sensitive.fs.file("/a.txt", b"");
    let opened = sensitive
        .create_request("/a.txt", FILE_OPEN, 0, GENERIC_READ)
        .unwrap();
    assert_eq!(
        opened.normalized_name, None,
        "WinFsp keeps the name as opened"
    );
}

#[test]
fn a_destination_in_another_case_is_the_existing_file() {
    let mut h = Harness::new();
    h.fs.file("/a", b"new");
    h.fs.file("/b", b"old");
    let id = h.open("/a", DELETE).unwrap();
    assert_eq!(
        rename(&h, id, "/B", false),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION))
    );
    rename(&h, id, "/B", true).unwrap();
    assert_eq!(
        h.fs.data("/b").unwrap(),
        b"new",
        "replaced under its stored name"
    );
    assert!(!h.fs.exists("/B"));
}

#[test]
fn a_directory_the_handler_cannot_move_without_replacing_is_moved_once_checked() {
    let mut h = Harness::new();
    h.fs.no_replace_files_only(true);
    h.fs.dir("/src");
    h.fs.dir("/src/inner");
    h.fs.file("/src/inner/deep.txt", b"deep");
    h.fs.dir("/dst");
    let id = h.open("/src/inner", DELETE).unwrap();
    h.fs.take_log();
    rename(&h, id, "/dst/moved", false).unwrap();
    assert_eq!(renames(&h), [RenameMode::NoReplace, RenameMode::Replace]);
    assert_eq!(h.fs.data("/dst/moved/deep.txt").unwrap(), b"deep");
    assert_eq!(h.engine.context(id).unwrap().path(), "/dst/moved");
    assert_eq!(
        rename(&h, id, "/src", false),
        Err(NtError(STATUS_OBJECT_NAME_COLLISION)),
        "an existing destination is still refused"
    );
}
