//! Changes a filesystem reports itself: what happened to its files behind the kernel's back
//! (a remote edit, another process writing to the backing store), so the kernel drops what it
//! cached and programs watching a directory hear of it. Each backend turns a [`Change`] into
//! its own calls: FUSE into cache invalidations, WinFsp and Dokan into change notifications
//! (see [`crate::windows::notify`]).

/// One change to the filesystem's files, by mount-relative path (`/dir/name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `path` now exists.
    Created {
        /// The new file or directory.
        path: String,
        /// It is a directory.
        directory: bool,
    },
    /// `path` no longer exists.
    Deleted {
        /// The file or directory that went away.
        path: String,
        /// It was a directory.
        directory: bool,
    },
    /// The file or directory at `from` is now at `to`.
    Renamed {
        /// Its old path.
        from: String,
        /// Its new path.
        to: String,
        /// It is a directory.
        directory: bool,
    },
    /// The contents or attributes of `path` changed (for a directory, its listing too).
    Changed {
        /// The file or directory that changed.
        path: String,
    },
    /// The name `path` may have appeared, vanished or now mean another file: the nearest
    /// thing to say when only the name is known (what `invalidateEntry` reports). The root
    /// has no name: reporting it does nothing.
    Entry {
        /// The name whose meaning changed.
        path: String,
    },
}

impl Change {
    /// Checks the paths: each must be absolute (`/` first), with no empty, `.` or `..`
    /// component; only [`Change::Changed`] and [`Change::Entry`] may name the root (whose
    /// name never changes, so an entry change of the root reports nothing).
    pub fn validate(&self) -> Result<(), InvalidChange> {
        match self {
            Change::Changed { path } | Change::Entry { path } => check_path(path, true),
            Change::Created { path, .. } | Change::Deleted { path, .. } => check_path(path, false),
            Change::Renamed { from, to, .. } => {
                check_path(from, false)?;
                check_path(to, false)
            }
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Created { path, .. } => write!(f, "{path} was created"),
            Change::Deleted { path, .. } => write!(f, "{path} was deleted"),
            Change::Renamed { from, to, .. } => write!(f, "{from} was renamed to {to}"),
            Change::Changed { path } => write!(f, "{path} changed"),
            Change::Entry { path } => write!(f, "the name {path} changed"),
        }
    }
}

/// Why a [`Change`] cannot be reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidChange {
    /// The path that was refused.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::fmt::Display for InvalidChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot report a change to {:?}: {}; give a mount-relative path such as /dir/name",
            self.path, self.reason
        )
    }
}

impl std::error::Error for InvalidChange {}

fn check_path(path: &str, root_allowed: bool) -> Result<(), InvalidChange> {
    let refuse = |reason| {
        Err(InvalidChange {
            path: path.to_owned(),
            reason,
        })
    };
    let Some(rest) = path.strip_prefix('/') else {
        return refuse("the path is not absolute");
    };
    if rest.is_empty() {
        return if root_allowed {
            Ok(())
        } else {
            refuse("the root has no name to create, delete or rename")
        };
    }
    if rest
        .split('/')
        .any(|name| name.is_empty() || name == "." || name == "..")
    {
        return refuse("the path has an empty, '.' or '..' component");
    }
    Ok(())
}

/// The parent directory of a valid, non-root path, and the name in it: `/a/b` is `("/a", "b")`
/// and `/b` is `("/", "b")`.
pub fn split_parent(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => ("/", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_and_names_split_at_the_last_slash() {
        assert_eq!(split_parent("/a/b"), ("/a", "b"));
        assert_eq!(split_parent("/b"), ("/", "b"));
    }

    #[test]
    fn only_clean_absolute_paths_are_accepted() {
        let changed = |path: &str| Change::Changed { path: path.into() };
        let created = |path: &str| Change::Created {
            path: path.into(),
            directory: false,
        };
        assert_eq!(changed("/").validate(), Ok(()));
        assert_eq!(created("/a/b").validate(), Ok(()));
        for bad in ["a", "/a//b", "/a/../b", "/./a", "/a/"] {
            let error = created(bad).validate().unwrap_err();
            assert_eq!(error.path, bad);
            assert!(error.to_string().contains("mount-relative path"), "{error}");
        }
        let error = created("/").validate().unwrap_err();
        assert!(error.reason.contains("root"), "{error}");
        let rename = Change::Renamed {
            from: "/a".into(),
            to: "b".into(),
            directory: false,
        };
        assert_eq!(rename.validate().unwrap_err().path, "b");
    }
}
