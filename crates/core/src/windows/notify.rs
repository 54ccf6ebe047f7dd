//! A [`Change`] as Windows change notifications: the `FILE_ACTION_*` and
//! `FILE_NOTIFY_CHANGE_*` pairs that WinFsp's `FspFileSystemNotify` takes and that Dokan's
//! `DokanNotify*` functions send. A notification both tells the programs watching a directory
//! (`ReadDirectoryChangesW`, Explorer) and makes WinFsp drop what it caches of the file and its
//! directory.

use crate::change::{split_parent, Change};

/// `FILE_ACTION_ADDED`.
pub const FILE_ACTION_ADDED: u32 = 1;
/// `FILE_ACTION_REMOVED`.
pub const FILE_ACTION_REMOVED: u32 = 2;
/// `FILE_ACTION_MODIFIED`.
pub const FILE_ACTION_MODIFIED: u32 = 3;
/// `FILE_ACTION_RENAMED_OLD_NAME`.
pub const FILE_ACTION_RENAMED_OLD_NAME: u32 = 4;
/// `FILE_ACTION_RENAMED_NEW_NAME`.
pub const FILE_ACTION_RENAMED_NEW_NAME: u32 = 5;

/// `FILE_NOTIFY_CHANGE_FILE_NAME`.
pub const FILE_NOTIFY_CHANGE_FILE_NAME: u32 = 0x1;
/// `FILE_NOTIFY_CHANGE_DIR_NAME`.
pub const FILE_NOTIFY_CHANGE_DIR_NAME: u32 = 0x2;
/// `FILE_NOTIFY_CHANGE_ATTRIBUTES`.
pub const FILE_NOTIFY_CHANGE_ATTRIBUTES: u32 = 0x4;
/// `FILE_NOTIFY_CHANGE_SIZE`.
pub const FILE_NOTIFY_CHANGE_SIZE: u32 = 0x8;
/// `FILE_NOTIFY_CHANGE_LAST_WRITE`.
pub const FILE_NOTIFY_CHANGE_LAST_WRITE: u32 = 0x10;

/// What a modification reports: attributes, size and last write time, so WinFsp drops the
/// file's cached information and data.
pub const MODIFIED_FILTER: u32 =
    FILE_NOTIFY_CHANGE_ATTRIBUTES | FILE_NOTIFY_CHANGE_SIZE | FILE_NOTIFY_CHANGE_LAST_WRITE;

/// One change notification: a mount-relative path (`/dir/name`), what happened to it, and
/// which kind of change that is to a watcher's filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowsNotification {
    /// The file or directory, mount-relative with `/` separators.
    pub path: String,
    /// `FILE_ACTION_*`.
    pub action: u32,
    /// `FILE_NOTIFY_CHANGE_*`.
    pub filter: u32,
}

fn name_filter(directory: bool) -> u32 {
    if directory {
        FILE_NOTIFY_CHANGE_DIR_NAME
    } else {
        FILE_NOTIFY_CHANGE_FILE_NAME
    }
}

fn notification(path: &str, action: u32, filter: u32) -> WindowsNotification {
    WindowsNotification {
        path: path.to_owned(),
        action,
        filter,
    }
}

/// The notifications that report `change`, in order (the paths valid, see
/// [`Change::validate`]):
///
/// - created: `FILE_ACTION_ADDED`, deleted: `FILE_ACTION_REMOVED`, with
///   `FILE_NOTIFY_CHANGE_DIR_NAME` for a directory and `FILE_NOTIFY_CHANGE_FILE_NAME`
///   otherwise;
/// - renamed within one directory: `FILE_ACTION_RENAMED_OLD_NAME` then
///   `FILE_ACTION_RENAMED_NEW_NAME`; across directories, removed from the old one then added to
///   the new one (as Windows reports a move to watchers of each directory, and as
///   `DokanNotifyRename` sends it);
/// - changed: `FILE_ACTION_MODIFIED` with [`MODIFIED_FILTER`];
/// - a name whose meaning changed ([`Change::Entry`]): its directory changed, since Windows
///   has no notification for a name alone and the directory's listing is what holds it; the
///   root has no name, and reports nothing.
pub fn windows_notifications(change: &Change) -> Vec<WindowsNotification> {
    match change {
        Change::Created { path, directory } => {
            vec![notification(
                path,
                FILE_ACTION_ADDED,
                name_filter(*directory),
            )]
        }
        Change::Deleted { path, directory } => {
            vec![notification(
                path,
                FILE_ACTION_REMOVED,
                name_filter(*directory),
            )]
        }
        Change::Renamed {
            from,
            to,
            directory,
        } => {
            let filter = name_filter(*directory);
            if split_parent(from).0 == split_parent(to).0 {
                vec![
                    notification(from, FILE_ACTION_RENAMED_OLD_NAME, filter),
                    notification(to, FILE_ACTION_RENAMED_NEW_NAME, filter),
                ]
            } else {
                vec![
                    notification(from, FILE_ACTION_REMOVED, filter),
                    notification(to, FILE_ACTION_ADDED, filter),
                ]
            }
        }
        Change::Changed { path } => vec![notification(path, FILE_ACTION_MODIFIED, MODIFIED_FILTER)],
        Change::Entry { path } if path == "/" => Vec::new(),
        Change::Entry { path } => vec![notification(
            split_parent(path).0,
            FILE_ACTION_MODIFIED,
            MODIFIED_FILTER,
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(change: Change) -> Vec<(String, u32, u32)> {
        windows_notifications(&change)
            .into_iter()
            .map(|n| (n.path, n.action, n.filter))
            .collect()
    }

    #[test]
    fn creations_and_deletions_name_files_or_directories() {
        let created = Change::Created {
            path: "/a/new".into(),
            directory: false,
        };
        assert_eq!(pairs(created), [("/a/new".into(), 1, 0x1)]);
        let deleted = Change::Deleted {
            path: "/gone".into(),
            directory: true,
        };
        assert_eq!(pairs(deleted), [("/gone".into(), 2, 0x2)]);
    }

    #[test]
    fn renames_within_a_directory_are_old_and_new_names_and_moves_are_removed_and_added() {
        let rename = |from: &str, to: &str| Change::Renamed {
            from: from.into(),
            to: to.into(),
            directory: false,
        };
        assert_eq!(
            pairs(rename("/d/a", "/d/b")),
            [("/d/a".into(), 4, 0x1), ("/d/b".into(), 5, 0x1)]
        );
        assert_eq!(
            pairs(rename("/d/a", "/e/a")),
            [("/d/a".into(), 2, 0x1), ("/e/a".into(), 1, 0x1)]
        );
    }

    #[test]
    fn changes_are_modifications_of_attributes_size_and_last_write() {
        let changed = Change::Changed { path: "/f".into() };
        assert_eq!(pairs(changed), [("/f".into(), 3, 0x1c)]);
    }

    #[test]
    fn a_changed_name_is_a_change_of_its_directory() {
        let entry = Change::Entry {
            path: "/d/name".into(),
        };
        assert_eq!(pairs(entry), [("/d".into(), 3, 0x1c)]);
        let at_root = Change::Entry {
            path: "/name".into(),
        };
        assert_eq!(pairs(at_root), [("/".into(), 3, 0x1c)]);
        let root = Change::Entry { path: "/".into() };
        assert_eq!(pairs(root), []);
    }
}
