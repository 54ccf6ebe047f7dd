//! Finding a name on a case-insensitive volume served by a handler that compares names
//! exactly.
//!
//! Windows programs may spell a name in any case; a POSIX handler finds only the spelling it
//! stored. [`look_up`] asks for the name as spelled and, when it is not there, looks for it in
//! its directory's listing without regard to case (resolving the directory the same way when
//! it is missing too). So the handler is given the stored spelling of every name that exists,
//! a new name is created in its directory's stored spelling, and a name cannot be created
//! twice in different cases. A handler that ignores case itself finds every spelling on the
//! first try, and is then given the caller's spelling.
//!
//! The walk also learns whether a missing name's directory exists, which decides between the
//! two statuses Windows has for a missing name ([`Found::missing_status`]).

use super::names::upcase_unit;
use super::ntstatus::{STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND};
use crate::errno::{Errno, FsResult};
use crate::stat::{DirEntry, FileKind, Stat};

/// What a lookup asks of the filesystem.
pub trait Namespace {
    /// The metadata of `path`.
    fn getattr(&mut self, path: &str) -> FsResult<Stat>;
    /// The entries of the directory `dir`.
    fn list(&mut self, dir: &str) -> FsResult<Vec<DirEntry>>;
}

/// What [`look_up`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The path to give the handler: the stored spelling of what exists; for a name that does
    /// not exist, the name as asked, in the stored spelling of its directory.
    pub path: String,
    /// Its metadata; `None` when nothing has that name.
    pub stat: Option<Stat>,
    /// Whether the directory holding `path` exists, as far as the lookup learned:
    /// `Some(true)` for a name that exists and for a miss looked for in its directory's
    /// listing, `Some(false)` when that directory is missing or is not a directory, `None`
    /// when the lookup had no reason to look (a case-sensitive volume, a directory that
    /// cannot be listed, the root).
    pub parent_exists: Option<bool>,
}

impl Found {
    /// The status for this name not being there, as NTFS answers:
    /// `STATUS_OBJECT_PATH_NOT_FOUND` when the directory it would be in is missing or is not
    /// a directory, `STATUS_OBJECT_NAME_NOT_FOUND` otherwise (always for the root). When the
    /// lookup did not learn that ([`Found::parent_exists`] is `None`), the directory's
    /// metadata is asked for here, so only a failure pays for it.
    pub fn missing_status(&self, fs: &mut impl Namespace) -> i32 {
        let parent_exists = self.parent_exists.unwrap_or_else(|| {
            split(&self.path).is_none_or(|(parent, _)| {
                fs.getattr(parent)
                    .is_ok_and(|stat| stat.kind == FileKind::Directory)
            })
        });
        if parent_exists {
            STATUS_OBJECT_NAME_NOT_FOUND
        } else {
            STATUS_OBJECT_PATH_NOT_FOUND
        }
    }
}

/// Looks `path` up, without regard to case when `ignore_case` is set (see the module
/// documentation).
///
/// A miss (`ENOENT`, or `ENOTDIR` for a parent that is a file) lists the parent directory and
/// takes the entry that [`find_listed`] picks, then asks for its metadata unless the listing
/// gave it. A directory that cannot be listed hides no other spelling that could be found:
/// the name is then missing as asked. Other errors of the first `getattr`, and of the
/// `getattr` of a listed entry, are returned.
pub fn look_up(fs: &mut impl Namespace, path: &str, ignore_case: bool) -> FsResult<Found> {
    match fs.getattr(path) {
        Ok(stat) => {
            return Ok(Found {
                path: path.to_owned(),
                stat: Some(stat),
                parent_exists: Some(true),
            })
        }
        Err(Errno::ENOENT | Errno::ENOTDIR) => {}
        Err(errno) => return Err(errno),
    }
    let missing = |parent_exists| Found {
        path: path.to_owned(),
        stat: None,
        parent_exists,
    };
    let Some((parent, name)) = split(path).filter(|_| ignore_case) else {
        return Ok(missing(None));
    };
    let (parent, entries) = match fs.list(parent) {
        Ok(entries) => (parent.to_owned(), entries),
        Err(Errno::ENOENT | Errno::ENOTDIR) => {
            let outer = look_up(fs, parent, true)?;
            let is_directory = outer
                .stat
                .is_some_and(|stat| stat.kind == FileKind::Directory);
            // Also when the directory is there as spelled, yet could not be listed as such:
            // it changed in between, and no other spelling is to be had.
            if !is_directory || outer.path == parent {
                return Ok(missing(Some(is_directory)));
            }
            let entries = fs.list(&outer.path).unwrap_or_default();
            (outer.path, entries)
        }
        Err(_) => return Ok(missing(None)),
    };
    if let Some(entry) = find_listed(&entries, name) {
        let stored = join(&parent, &entry.name);
        let stat = match entry.stat.clone() {
            Some(stat) => Ok(stat),
            None => fs.getattr(&stored),
        };
        match stat {
            Ok(stat) => {
                return Ok(Found {
                    path: stored,
                    stat: Some(stat),
                    parent_exists: Some(true),
                })
            }
            // Removed since it was listed.
            Err(Errno::ENOENT) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(Found {
        path: join(&parent, name),
        stat: None,
        parent_exists: Some(true),
    })
}

/// The entry of `entries` named `name` without regard to case: the one spelled exactly so if
/// there is one (a handler that compares names exactly may hold several spellings), else the
/// first whose name differs only in case.
pub fn find_listed<'a>(entries: &'a [DirEntry], name: &str) -> Option<&'a DirEntry> {
    entries.iter().find(|entry| entry.name == name).or_else(|| {
        entries
            .iter()
            .find(|entry| same_ignoring_case(&entry.name, name))
    })
}

/// Whether `a` and `b` are one name for a case-insensitive volume: equal unit by unit once
/// upper-cased ([`upcase_unit`]).
fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.encode_utf16()
        .map(upcase_unit)
        .eq(b.encode_utf16().map(upcase_unit))
}

/// The parent and last component of `path`; `None` for the root.
fn split(path: &str) -> Option<(&str, &str)> {
    let index = path.rfind('/')?;
    let name = &path[index + 1..];
    if name.is_empty() {
        return None;
    }
    Some((if index == 0 { "/" } else { &path[..index] }, name))
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A tree that compares names exactly, counting what it is asked.
    #[derive(Default)]
    struct Tree {
        kinds: BTreeMap<String, FileKind>,
        unlistable: Vec<String>,
        listings_with_stats: bool,
        asked: Vec<String>,
    }

    impl Tree {
        fn with(paths: &[(&str, FileKind)]) -> Tree {
            let mut tree = Tree::default();
            tree.kinds.insert("/".into(), FileKind::Directory);
            for (path, kind) in paths {
                tree.kinds.insert((*path).into(), *kind);
            }
            tree
        }
    }

    impl Namespace for Tree {
        fn getattr(&mut self, path: &str) -> FsResult<Stat> {
            self.asked.push(format!("getattr {path}"));
            let kind = self.kinds.get(path).ok_or(Errno::ENOENT)?;
            Ok(Stat::new(*kind))
        }

        fn list(&mut self, dir: &str) -> FsResult<Vec<DirEntry>> {
            self.asked.push(format!("list {dir}"));
            if self.unlistable.iter().any(|path| path == dir) {
                return Err(Errno::EACCES);
            }
            match self.kinds.get(dir) {
                Some(FileKind::Directory) => {}
                Some(_) => return Err(Errno::ENOTDIR),
                None => return Err(Errno::ENOENT),
            }
            Ok(self
                .kinds
                .iter()
                .filter_map(|(path, kind)| {
                    let (parent, name) = split(path)?;
                    (parent == dir).then(|| DirEntry {
                        name: name.to_owned(),
                        kind: *kind,
                        stat: self.listings_with_stats.then(|| Stat::new(*kind)),
                    })
                })
                .collect())
        }
    }

    const FILE: FileKind = FileKind::File;
    const DIR: FileKind = FileKind::Directory;

    fn found(path: &str, kind: FileKind) -> Found {
        Found {
            path: path.to_owned(),
            stat: Some(Stat::new(kind)),
            parent_exists: Some(true),
        }
    }

    fn missing(path: &str, parent_exists: Option<bool>) -> Found {
        Found {
            path: path.to_owned(),
            stat: None,
            parent_exists,
        }
    }

    #[test]
    fn a_name_spelled_as_stored_costs_one_getattr() {
        let mut tree = Tree::with(&[("/Dir", DIR), ("/Dir/File.txt", FILE)]);
        assert_eq!(
            look_up(&mut tree, "/Dir/File.txt", true),
            Ok(found("/Dir/File.txt", FILE))
        );
        assert_eq!(tree.asked, ["getattr /Dir/File.txt"]);
    }

    #[test]
    fn other_spellings_find_the_stored_one_component_by_component() {
        let mut tree = Tree::with(&[("/Dir", DIR), ("/Dir/File.txt", FILE)]);
        assert_eq!(
            look_up(&mut tree, "/DIR/file.TXT", true),
            Ok(found("/Dir/File.txt", FILE))
        );
        assert_eq!(
            tree.asked,
            [
                "getattr /DIR/file.TXT",
                "list /DIR",
                "getattr /DIR",
                "list /",
                "getattr /Dir",
                "list /Dir",
                "getattr /Dir/File.txt"
            ]
        );
        tree.listings_with_stats = true;
        tree.asked.clear();
        assert_eq!(
            look_up(&mut tree, "/Dir/FILE.TXT", true),
            Ok(found("/Dir/File.txt", FILE))
        );
        assert_eq!(
            tree.asked,
            ["getattr /Dir/FILE.TXT", "list /Dir"],
            "a listing with metadata spares the getattr"
        );
    }

    #[test]
    fn a_new_name_is_placed_in_its_directory_as_stored() {
        let mut tree = Tree::with(&[("/Dir", DIR)]);
        assert_eq!(
            look_up(&mut tree, "/DIR/New.txt", true),
            Ok(missing("/Dir/New.txt", Some(true)))
        );
        assert_eq!(
            look_up(&mut tree, "/missing/New.txt", true),
            Ok(missing("/missing/New.txt", Some(false))),
            "a missing directory leaves the path as asked"
        );
        let mut file_as_parent = Tree::with(&[("/f", FILE)]);
        assert_eq!(
            look_up(&mut file_as_parent, "/F/x", true),
            Ok(missing("/F/x", Some(false))),
            "a file is no directory"
        );
    }

    #[test]
    fn a_missing_directory_makes_the_path_not_found() {
        const NAME: i32 = STATUS_OBJECT_NAME_NOT_FOUND;
        const PATH: i32 = STATUS_OBJECT_PATH_NOT_FOUND;
        let mut tree = Tree::with(&[("/Dir", DIR), ("/f", FILE)]);
        for (path, status) in [
            ("/dir/x", NAME),
            ("/x", NAME),
            ("/nope/x", PATH),
            ("/nope/deeper/x", PATH),
            ("/F/x", PATH),
        ] {
            let found = look_up(&mut tree, path, true).unwrap();
            tree.asked.clear();
            assert_eq!(found.missing_status(&mut tree), status, "{path}");
            assert!(tree.asked.is_empty(), "{path}: the walk learned it");
        }
        for (path, status) in [
            ("/Dir/x", NAME),
            ("/dir/x", PATH),
            ("/f/x", PATH),
            ("/x", NAME),
        ] {
            let found = look_up(&mut tree, path, false).unwrap();
            tree.asked.clear();
            assert_eq!(found.missing_status(&mut tree), status, "{path}");
            let (parent, _) = split(path).unwrap();
            assert_eq!(
                tree.asked,
                [format!("getattr {parent}")],
                "{path}: a case-sensitive lookup did not look"
            );
        }
        tree.unlistable.push("/Dir".into());
        let found = look_up(&mut tree, "/Dir/x", true).unwrap();
        assert_eq!(found.missing_status(&mut tree), NAME);
        tree.asked.clear();
        assert_eq!(missing("/", None).missing_status(&mut tree), NAME);
        assert!(
            tree.asked.is_empty(),
            "the root has no directory to ask for"
        );
    }

    #[test]
    fn case_sensitive_lookups_never_list() {
        let mut tree = Tree::with(&[("/File", FILE)]);
        assert_eq!(
            look_up(&mut tree, "/FILE", false),
            Ok(missing("/FILE", None))
        );
        assert_eq!(tree.asked, ["getattr /FILE"]);
    }

    #[test]
    fn unlistable_directories_and_errors() {
        let mut tree = Tree::with(&[("/Dir", DIR), ("/Dir/a", FILE)]);
        tree.unlistable.push("/Dir".into());
        assert_eq!(
            look_up(&mut tree, "/Dir/A", true),
            Ok(missing("/Dir/A", None)),
            "nothing to be found in a directory that cannot be listed"
        );
        struct Broken;
        impl Namespace for Broken {
            fn getattr(&mut self, _: &str) -> FsResult<Stat> {
                Err(Errno::EIO)
            }
            fn list(&mut self, _: &str) -> FsResult<Vec<DirEntry>> {
                unreachable!("an error other than a miss is the answer")
            }
        }
        assert_eq!(look_up(&mut Broken, "/a", true), Err(Errno::EIO));
        assert_eq!(
            look_up(&mut Tree::with(&[]), "/", true),
            Ok(found("/", DIR))
        );
    }

    #[test]
    fn listed_names_prefer_the_exact_spelling() {
        let entry = |name: &str| DirEntry {
            name: name.to_owned(),
            kind: FILE,
            stat: None,
        };
        let entries = [entry("readme"), entry("README"), entry("Straße")];
        let name = |wanted| find_listed(&entries, wanted).map(|e| e.name.as_str());
        assert_eq!(name("README"), Some("README"));
        assert_eq!(name("ReadMe"), Some("readme"));
        assert_eq!(name("STRAßE"), Some("Straße"));
        assert_eq!(name("strasse"), None, "ß does not fold to ss");
        assert!(same_ignoring_case("Grüße", "GRÜßE"));
    }
}
