//! A [`Change`] as the `DokanNotify*` calls that report it. Dokan exports one function per
//! kind of change, each sending fixed `FILE_ACTION_*`/`FILE_NOTIFY_CHANGE_*` values to the
//! driver; the paths are absolute, with the mount point (`M:\dir\name`).

use mountkit_core::change::split_parent;
use mountkit_core::windows::path_to_windows;
use mountkit_core::Change;

/// One `DokanNotify*` call, its paths mount-relative (`/dir/name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DokanNotice<'a> {
    /// `DokanNotifyCreate`: `FILE_ACTION_ADDED`.
    Create { path: &'a str, directory: bool },
    /// `DokanNotifyDelete`: `FILE_ACTION_REMOVED`.
    Delete { path: &'a str, directory: bool },
    /// `DokanNotifyUpdate`: `FILE_ACTION_MODIFIED` with `FILE_NOTIFY_CHANGE_ATTRIBUTES`.
    Update { path: &'a str },
    /// `DokanNotifyRename`: old and new name within a directory, removed and added across.
    Rename {
        from: &'a str,
        to: &'a str,
        directory: bool,
        same_directory: bool,
    },
}

/// The call that reports `change` (paths valid, see [`Change::validate`]); none for the
/// root's entry, which has no name. A changed name is reported as an update of its directory,
/// as on WinFsp.
pub(crate) fn dokan_notice(change: &Change) -> Option<DokanNotice<'_>> {
    Some(match change {
        Change::Created { path, directory } => DokanNotice::Create {
            path,
            directory: *directory,
        },
        Change::Deleted { path, directory } => DokanNotice::Delete {
            path,
            directory: *directory,
        },
        Change::Renamed {
            from,
            to,
            directory,
        } => DokanNotice::Rename {
            from,
            to,
            directory: *directory,
            same_directory: split_parent(from).0 == split_parent(to).0,
        },
        Change::Changed { path } => DokanNotice::Update { path },
        Change::Entry { path } if path == "/" => return None,
        Change::Entry { path } => DokanNotice::Update {
            path: split_parent(path).0,
        },
    })
}

/// The absolute Windows path of `path` on a volume mounted at `mount_point` (`M:\` or a
/// folder, with or without the final backslash), NUL-terminated, as `DokanNotify*` takes it.
pub(crate) fn absolute_path(mount_point: &str, path: &str) -> Vec<u16> {
    let mut wide: Vec<u16> = mount_point.trim_end_matches('\\').encode_utf16().collect();
    wide.extend(path_to_windows(path));
    wide.push(0);
    wide
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_is_one_dokan_call() {
        let created = Change::Created {
            path: "/d/a".into(),
            directory: true,
        };
        assert_eq!(
            dokan_notice(&created),
            Some(DokanNotice::Create {
                path: "/d/a",
                directory: true
            })
        );
        let deleted = Change::Deleted {
            path: "/a".into(),
            directory: false,
        };
        assert_eq!(
            dokan_notice(&deleted),
            Some(DokanNotice::Delete {
                path: "/a",
                directory: false
            })
        );
        let moved = Change::Renamed {
            from: "/d/a".into(),
            to: "/e/a".into(),
            directory: false,
        };
        assert_eq!(
            dokan_notice(&moved),
            Some(DokanNotice::Rename {
                from: "/d/a",
                to: "/e/a",
                directory: false,
                same_directory: false
            })
        );
        let changed = Change::Changed { path: "/f".into() };
        assert_eq!(
            dokan_notice(&changed),
            Some(DokanNotice::Update { path: "/f" })
        );
        let entry = Change::Entry {
            path: "/d/a".into(),
        };
        assert_eq!(
            dokan_notice(&entry),
            Some(DokanNotice::Update { path: "/d" })
        );
        let root = Change::Entry { path: "/".into() };
        assert_eq!(dokan_notice(&root), None);
    }

    #[test]
    fn absolute_paths_start_with_the_mount_point() {
        let text = |wide: Vec<u16>| String::from_utf16(&wide[..wide.len() - 1]).unwrap();
        assert_eq!(text(absolute_path("M:\\", "/d/a")), "M:\\d\\a");
        assert_eq!(text(absolute_path("M:", "/")), "M:\\");
        assert_eq!(text(absolute_path("C:\\mnt\\x\\", "/a")), "C:\\mnt\\x\\a");
    }
}
