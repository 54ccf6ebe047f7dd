//! ReadDirectory and GetDirInfoByName.
//!
//! WinFsp reads a directory in pages: each ReadDirectory passes a marker, the last name of the
//! previous page, and wants what comes after it, until a page ends with the end-of-listing
//! mark. The listing is read from the handler once, when a page without a marker starts an
//! enumeration, and kept with the handle as a snapshot ([`prepare_listing`]: sorted as Windows
//! sorts, with `.` and `..` first except in the root), so every later page resumes from the same
//! snapshot by binary search ([`resume_after`]) and an enumeration never repeats or skips a name
//! while the directory changes. Names Windows programs could not open are left out.

use std::sync::Arc;

use log::warn;
use mountkit_core::windows::ntstatus::{STATUS_NOT_A_DIRECTORY, STATUS_OBJECT_NAME_NOT_FOUND};
use mountkit_core::windows::{
    find_listed, matching, path_from_windows, prepare_listing, resume_after, validate_component,
};
use mountkit_core::{DirEntry, FsResult, Operation, Reply, RequestContext, Stat};
use parking_lot::Mutex;

use crate::engine::{child_path, reply, Engine, NtError, NtResult};
use crate::fsctl::{DirInfo, FileInfo};

/// One page of a directory listing, ready for `FspFileSystemAddDirInfo`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DirPage {
    /// Names with their file information, in listing order.
    pub entries: Vec<(String, FileInfo)>,
    /// Whether the page reaches the end of the listing (after it, the end-of-listing mark).
    pub complete: bool,
}

/// The entries of a listing that Windows can show: names that pass [`validate_component`].
/// The others are left out with a warning naming `dir`. (`.` and `..` never arrive: a
/// `Listing` holds neither, and `prepare_listing` adds both.)
pub(crate) fn usable_entries(dir: &str, entries: Vec<DirEntry>) -> Vec<DirEntry> {
    entries
        .into_iter()
        .filter(|entry| {
            let usable = validate_component(&entry.name).is_ok();
            if !usable {
                warn!(
                    "{dir}: {:?} cannot be shown on Windows and is left out",
                    entry.name
                );
            }
            usable
        })
        .collect()
}

/// The entries of the page after `marker` that match `pattern`, as many as a buffer of
/// `capacity` bytes holds (by [`DirInfo::buffer_bytes`], and at least one), with whether the
/// page reaches the end of the listing.
pub(crate) fn plan_page<'a>(
    listing: &'a [DirEntry],
    marker: Option<&str>,
    pattern: Option<&str>,
    ignore_case: bool,
    capacity: usize,
) -> (Vec<&'a DirEntry>, bool) {
    let mut page = Vec::new();
    let mut used = 0;
    let mut candidates = matching(
        resume_after(listing, marker, ignore_case),
        pattern,
        ignore_case,
    );
    for entry in candidates.by_ref() {
        let bytes = DirInfo::buffer_bytes(entry.name.encode_utf16().count());
        if !page.is_empty() && used + bytes > capacity {
            return (page, false);
        }
        used += bytes;
        page.push(entry);
    }
    (page, true)
}

/// Gathers the metadata of a page's entries, asked for in parallel, then answers once.
struct Gathering<F> {
    names: Vec<String>,
    stats: Vec<Option<Stat>>,
    missing: usize,
    complete: bool,
    done: Option<F>,
}

impl Engine {
    /// WinFsp's ReadDirectory of the directory handle `id`: the page after `marker` (all of it
    /// without one) of the names matching `pattern` (DOS wildcards; `None` or `*` for all), at
    /// most `capacity` bytes of WinFsp's buffer.
    ///
    /// Without a marker, `readdir` is asked through the handle and the result becomes the
    /// handle's snapshot; with one, the snapshot is used (or read, if the handle has none).
    /// Entries the handler listed without metadata get a `getattr` each, all sent at once (`.`
    /// takes the metadata the directory was opened with); an entry whose `getattr` fails
    /// (removed meanwhile) is left out of the page. `done` runs
    /// with the page, on whichever thread answers last.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn read_directory(
        self: &Arc<Self>,
        cx: RequestContext,
        id: u64,
        pattern: Option<String>,
        marker: Option<String>,
        capacity: usize,
        done: impl FnOnce(NtResult<DirPage>) + Send + 'static,
    ) {
        let ctx = match self.context(id) {
            Ok(ctx) => ctx,
            Err(status) => return done(Err(status)),
        };
        if !ctx.is_directory() {
            return done(Err(NtError(STATUS_NOT_A_DIRECTORY)));
        }
        let path = ctx.path();
        if let (Some(listing), Some(_)) = (&ctx.listing, &marker) {
            return self.serve_page(cx, &path, listing, pattern, marker, capacity, done);
        }
        let Some(handle) = ctx.handle else {
            return done(Err(NtError::from(mountkit_core::Errno::EBADF)));
        };
        let this = self.clone();
        let own = ctx.stat;
        let readdir = Operation::Readdir {
            path: path.clone(),
            handle,
        };
        self.send(cx, readdir, move |result| match reply!(result, Entries) {
            Ok(entries) => {
                let usable = usable_entries(&path, entries.into_entries());
                let ignore_case = this.options.case_insensitive;
                let mut listing = prepare_listing(usable, path == "/", ignore_case);
                if let Some(dot) = listing.iter_mut().find(|entry| entry.name == ".") {
                    dot.stat.get_or_insert(own);
                }
                let listing = Arc::new(listing);
                this.contexts
                    .update(id, |ctx| ctx.listing = Some(listing.clone()));
                this.serve_page(cx, &path, &listing, pattern, marker, capacity, done);
            }
            Err(errno) => done(Err(NtError::from(errno))),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn serve_page(
        self: &Arc<Self>,
        cx: RequestContext,
        dir: &str,
        listing: &[DirEntry],
        pattern: Option<String>,
        marker: Option<String>,
        capacity: usize,
        done: impl FnOnce(NtResult<DirPage>) + Send + 'static,
    ) {
        let ignore_case = self.options.case_insensitive;
        let (page, complete) = plan_page(
            listing,
            marker.as_deref(),
            pattern.as_deref(),
            ignore_case,
            capacity,
        );
        let names: Vec<String> = page.iter().map(|entry| entry.name.clone()).collect();
        let stats: Vec<Option<Stat>> = page.iter().map(|entry| entry.stat.clone()).collect();
        let missing: Vec<usize> = (0..stats.len()).filter(|&i| stats[i].is_none()).collect();
        let gathering = Arc::new(Mutex::new(Gathering {
            names,
            stats,
            missing: missing.len(),
            complete,
            done: Some(done),
        }));
        if missing.is_empty() {
            return answer_page(self, cx, dir, &gathering);
        }
        for index in missing {
            let name = gathering.lock().names[index].clone();
            let getattr = Operation::Getattr {
                path: child_path(dir, &name),
                handle: None,
            };
            let gathering = gathering.clone();
            let (this, dir) = (self.clone(), dir.to_owned());
            self.send(cx, getattr, move |result: FsResult<Reply>| {
                let mut state = gathering.lock();
                match reply!(result, Stat) {
                    Ok(stat) => state.stats[index] = Some(stat),
                    Err(errno) => log::debug!("{name} left out of a listing: {errno}"),
                }
                state.missing -= 1;
                if state.missing == 0 {
                    drop(state);
                    answer_page(&this, cx, &dir, &gathering);
                }
            });
        }
    }

    /// WinFsp's GetDirInfoByName, which answers a search for one name (no wildcards): the
    /// entry `name` of the directory handle `id`. A name that does not exist, or that is not a
    /// valid name, is `STATUS_OBJECT_NAME_NOT_FOUND`.
    ///
    /// On a case-sensitive volume it is `getattr` of the child. On a case-insensitive volume
    /// WinFsp passes the name upper-cased, so the directory is listed (through the handle) and
    /// the entry that [`find_listed`] picks is reported, spelled as stored, with the metadata
    /// the listing gave or else a `getattr` of it: a `getattr` of the name as passed would miss
    /// a handler that compares names exactly, and report the name as searched for one that
    /// does not.
    pub(crate) fn dir_info_by_name(
        &self,
        cx: RequestContext,
        id: u64,
        name: &[u16],
    ) -> NtResult<(String, FileInfo)> {
        let ctx = self.context(id)?;
        if !ctx.is_directory() {
            return Err(NtError(STATUS_NOT_A_DIRECTORY));
        }
        let name = path_from_windows(name)
            .ok()
            .map(|path| path.trim_start_matches('/').to_owned())
            .filter(|name| validate_component(name).is_ok())
            .ok_or(NtError(STATUS_OBJECT_NAME_NOT_FOUND))?;
        let dir = ctx.path();
        if !self.options.case_insensitive {
            let stat = self
                .getattr(cx, &child_path(&dir, &name), None)
                .map_err(NtError::from)?;
            let info = self.info_at(cx, &child_path(&dir, &name), &stat);
            return Ok((name, info));
        }
        let entries = self
            .list_directory(cx, &dir, ctx.handle)
            .map_err(NtError::from)?;
        let entry = find_listed(&entries, &name).ok_or(NtError(STATUS_OBJECT_NAME_NOT_FOUND))?;
        let stat = match &entry.stat {
            Some(stat) => stat.clone(),
            None => self
                .getattr(cx, &child_path(&dir, &entry.name), None)
                .map_err(NtError::from)?,
        };
        let info = self.info_at(cx, &child_path(&dir, &entry.name), &stat);
        Ok((entry.name.clone(), info))
    }
}

/// Answers a gathered page: the entries whose metadata is known, in order, described by
/// [`Engine::describe_entries`].
fn answer_page<F: FnOnce(NtResult<DirPage>) + Send + 'static>(
    engine: &Arc<Engine>,
    cx: RequestContext,
    dir: &str,
    gathering: &Mutex<Gathering<F>>,
) {
    let mut state = gathering.lock();
    let Some(done) = state.done.take() else {
        return;
    };
    let names = std::mem::take(&mut state.names);
    let stats = std::mem::take(&mut state.stats);
    let complete = state.complete;
    drop(state);
    let entries = names
        .into_iter()
        .zip(stats)
        .filter_map(|(name, stat)| stat.map(|stat| (name, stat)))
        .collect();
    engine.describe_entries(cx, dir, entries, move |entries| {
        done(Ok(DirPage { entries, complete }))
    });
}

#[cfg(test)]
mod tests {
    use mountkit_core::FileKind;

    use super::*;

    fn entry(name: &str) -> DirEntry {
        DirEntry {
            name: name.to_owned(),
            kind: FileKind::File,
            stat: None,
        }
    }

    fn names(page: &[&DirEntry]) -> Vec<String> {
        page.iter().map(|entry| entry.name.clone()).collect()
    }

    #[test]
    fn unusable_names_are_left_out() {
        let kept = usable_entries(
            "/d",
            vec![entry("ok"), entry("a:b"), entry("con"), entry("x.")],
        );
        let kept: Vec<&str> = kept.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(kept, ["ok"]);
    }

    #[test]
    fn pages_resume_after_the_marker_and_filter() {
        let listing = prepare_listing(
            vec![
                entry("b.txt"),
                entry("a.txt"),
                entry("c.doc"),
                entry("d.txt"),
            ],
            false,
            true,
        );
        let (page, complete) = plan_page(&listing, None, None, true, 1 << 16);
        assert_eq!(
            names(&page),
            [".", "..", "a.txt", "b.txt", "c.doc", "d.txt"]
        );
        assert!(complete);
        let (page, complete) = plan_page(&listing, Some("a.txt"), Some("<.txt"), true, 1 << 16);
        assert_eq!(names(&page), ["b.txt", "d.txt"]);
        assert!(complete);
        let (page, complete) = plan_page(&listing, Some("d.txt"), None, true, 1 << 16);
        assert!(page.is_empty());
        assert!(complete);
    }

    #[test]
    fn pages_fit_the_buffer() {
        let listing = prepare_listing(
            (0..10).map(|i| entry(&format!("file{i}"))).collect(),
            true,
            false,
        );
        // Each "fileN" record takes 104 + 10 bytes, 120 rounded up.
        let (page, complete) = plan_page(&listing, None, None, false, 360);
        assert_eq!(names(&page), ["file0", "file1", "file2"]);
        assert!(!complete);
        let (page, complete) = plan_page(&listing, Some("file2"), None, false, 359);
        assert_eq!(names(&page), ["file3", "file4"]);
        assert!(!complete);
        let (page, _) = plan_page(&listing, None, None, false, 1);
        assert_eq!(names(&page), ["file0"], "at least one entry");
    }
}
