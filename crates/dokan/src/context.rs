//! What this backend remembers about open files between Dokan callbacks.
//!
//! Every successful `ZwCreateFile` stores an [`OpenFile`] in a core
//! [`HandleTable`](mountkit_core::HandleTable) and puts its key in
//! `DOKAN_FILE_INFO.Context`; `CloseFile` removes it. An [`OpenFile`] holds the handle the
//! filesystem chose (if it was asked for one), the file's kind, and the [`Node`] it opened.
//!
//! A [`Node`] stands for one file while any handle to it exists: its current path and its
//! Windows deletion state ([`DeleteState`]), which all handles to the file share. Nodes live in
//! a [`Registry`] keyed by path (folded to uppercase on a case-insensitive volume), so a
//! second open of the same file finds the first one's node, a rename moves the nodes of the
//! renamed file and everything under it, and a new file created where a deleted one was gets a
//! fresh node.

use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

use mountkit_core::windows::delete::{CleanupOutcome, DeleteState};
use mountkit_core::{Errno, FileKind, OpenFlags, Stat};
use parking_lot::Mutex;

use crate::paths;

/// The handle the filesystem returned for an open file, with how it was opened.
#[derive(Clone, Debug)]
pub(crate) struct UserHandle {
    /// The filesystem's handle.
    pub handle: u64,
    /// The flags it was opened with.
    pub flags: OpenFlags,
    /// The real file serving this open file's bytes, when the filesystem chose one.
    pub backing: Option<Arc<File>>,
}

/// One open of a file or directory, as `DOKAN_FILE_INFO.Context` refers to it.
#[derive(Debug)]
pub(crate) struct OpenFile {
    /// What was opened.
    pub kind: FileKind,
    /// The file the open refers to.
    pub node: Arc<Node>,
    user: Mutex<Option<UserHandle>>,
}

impl OpenFile {
    /// An open of `node`, of kind `kind`, holding `user` if the filesystem was asked to open
    /// it.
    pub(crate) fn new(kind: FileKind, node: Arc<Node>, user: Option<UserHandle>) -> OpenFile {
        OpenFile {
            kind,
            node,
            user: Mutex::new(user),
        }
    }

    /// Whether this is a directory.
    pub(crate) fn is_directory(&self) -> bool {
        self.kind == FileKind::Directory
    }

    /// The filesystem's handle, if it has been opened.
    pub(crate) fn user(&self) -> Option<UserHandle> {
        self.user.lock().clone()
    }

    /// Stores `user` unless a handle is already stored, and returns the stored one. When two
    /// threads open lazily at once, the loser's handle comes back in `Err` for the caller to
    /// release.
    pub(crate) fn set_user(
        &self,
        user: UserHandle,
    ) -> Result<UserHandle, (UserHandle, UserHandle)> {
        let mut slot = self.user.lock();
        match &*slot {
            Some(existing) => Err((existing.clone(), user)),
            None => {
                *slot = Some(user.clone());
                Ok(user)
            }
        }
    }

    /// Removes and returns the filesystem's handle, for release.
    pub(crate) fn take_user(&self) -> Option<UserHandle> {
        self.user.lock().take()
    }

    /// The file's current path.
    pub(crate) fn path(&self) -> String {
        self.node.path()
    }
}

#[derive(Debug)]
struct NodeState {
    path: String,
    key: String,
    delete: DeleteState,
    /// `OpenFile`s referring to this node (opened and not yet closed).
    opens: usize,
    /// Whether the registry still maps `key` to this node.
    attached: bool,
}

/// One file with open handles: its path and its deletion state.
#[derive(Debug)]
pub(crate) struct Node {
    state: Mutex<NodeState>,
}

impl Node {
    /// The file's current path.
    pub(crate) fn path(&self) -> String {
        self.state.lock().path.clone()
    }

    /// Records handle `handle` in the deletion state; see [`DeleteState::open`].
    pub(crate) fn open_handle(
        &self,
        handle: u64,
        delete_on_close: bool,
        stat: &Stat,
        directory_is_empty: bool,
    ) -> Result<(), Errno> {
        self.state
            .lock()
            .delete
            .open(handle, delete_on_close, stat, directory_is_empty)
    }

    /// Applies a delete disposition through `handle`; see [`DeleteState::set_disposition`].
    pub(crate) fn set_disposition(
        &self,
        handle: u64,
        delete: bool,
        stat: &Stat,
        directory_is_empty: bool,
    ) -> Result<(), Errno> {
        self.state
            .lock()
            .delete
            .set_disposition(handle, delete, stat, directory_is_empty)
    }

    /// Handles the cleanup of `handle`; see [`DeleteState::cleanup`].
    pub(crate) fn cleanup(&self, handle: u64) -> CleanupOutcome {
        self.state.lock().delete.cleanup(handle)
    }

    /// Whether the file is marked for deletion.
    pub(crate) fn is_delete_pending(&self) -> bool {
        self.state.lock().delete.is_delete_pending()
    }

    /// How many handles are open (created and not yet cleaned up).
    pub(crate) fn open_handles(&self) -> usize {
        self.state.lock().delete.open_handles()
    }
}

/// The nodes of one mount, by path.
#[derive(Debug)]
pub(crate) struct Registry {
    ignore_case: bool,
    nodes: Mutex<HashMap<String, Arc<Node>>>,
}

impl Registry {
    /// An empty registry; `ignore_case` folds paths to one key per name regardless of case.
    pub(crate) fn new(ignore_case: bool) -> Registry {
        Registry {
            ignore_case,
            nodes: Mutex::new(HashMap::new()),
        }
    }

    /// The node of `path`, created if none exists, counted as referenced by one more open
    /// until [`Registry::release`].
    pub(crate) fn acquire(&self, path: &str) -> Arc<Node> {
        let key = paths::key(path, self.ignore_case);
        let mut nodes = self.nodes.lock();
        let node = nodes
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Node {
                    state: Mutex::new(NodeState {
                        path: path.to_owned(),
                        key,
                        delete: DeleteState::new(),
                        opens: 0,
                        attached: true,
                    }),
                })
            })
            .clone();
        node.state.lock().opens += 1;
        node
    }

    /// Drops one open's reference to `node`; the registry forgets the node when none remain.
    pub(crate) fn release(&self, node: &Arc<Node>) {
        let mut nodes = self.nodes.lock();
        let mut state = node.state.lock();
        state.opens = state.opens.saturating_sub(1);
        if state.opens == 0 && state.attached {
            state.attached = false;
            if nodes.get(&state.key).is_some_and(|n| Arc::ptr_eq(n, node)) {
                nodes.remove(&state.key);
            }
        }
    }

    /// Forgets `node` now, although opens still refer to it: its file was deleted, and a file
    /// created at the same path is a different file. The node keeps its last path for the
    /// requests still to come through those opens.
    pub(crate) fn detach(&self, node: &Arc<Node>) {
        let mut nodes = self.nodes.lock();
        let mut state = node.state.lock();
        if state.attached {
            state.attached = false;
            if nodes.get(&state.key).is_some_and(|n| Arc::ptr_eq(n, node)) {
                nodes.remove(&state.key);
            }
        }
    }

    /// The node of `path`, if the file has open handles or unclosed opens.
    pub(crate) fn find(&self, path: &str) -> Option<Arc<Node>> {
        self.nodes
            .lock()
            .get(&paths::key(path, self.ignore_case))
            .cloned()
    }

    /// Moves the node at `from`, and every node below it, to the same place under `to`, after
    /// the filesystem renamed `from` to `to` (`from` is never the root). A node already at a destination key stood for a
    /// file the rename replaced; it is detached.
    pub(crate) fn rename(&self, from: &str, to: &str) {
        let mut nodes = self.nodes.lock();
        let moving: Vec<Arc<Node>> = nodes
            .values()
            .filter(|node| paths::is_within(&node.state.lock().path, from))
            .cloned()
            .collect();
        for node in &moving {
            let key = node.state.lock().key.clone();
            nodes.remove(&key);
        }
        for node in moving {
            let mut state = node.state.lock();
            let path = format!("{to}{}", &state.path[from.len()..]);
            let key = paths::key(&path, self.ignore_case);
            state.path = path;
            state.key = key.clone();
            drop(state);
            if let Some(replaced) = nodes.insert(key, node) {
                replaced.state.lock().attached = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_of_one_path_share_a_node() {
        let registry = Registry::new(true);
        let a = registry.acquire("/Dir/File");
        let b = registry.acquire("/DIR/file");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(b.path(), "/Dir/File", "the first spelling is kept");
        registry.release(&a);
        assert!(registry.find("/dir/file").is_some());
        registry.release(&b);
        assert!(registry.find("/dir/file").is_none());
        let sensitive = Registry::new(false);
        let a = sensitive.acquire("/a");
        let b = sensitive.acquire("/A");
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn renames_move_the_subtree() {
        let registry = Registry::new(false);
        let dir = registry.acquire("/a");
        let file = registry.acquire("/a/b/c.txt");
        let sibling = registry.acquire("/ab");
        registry.rename("/a", "/z");
        assert_eq!(dir.path(), "/z");
        assert_eq!(file.path(), "/z/b/c.txt");
        assert_eq!(sibling.path(), "/ab");
        assert!(Arc::ptr_eq(&registry.find("/z/b/c.txt").unwrap(), &file));
        assert!(registry.find("/a").is_none());
    }

    #[test]
    fn a_replaced_node_is_detached() {
        let registry = Registry::new(false);
        let old = registry.acquire("/target");
        let new = registry.acquire("/source");
        registry.rename("/source", "/target");
        assert!(Arc::ptr_eq(&registry.find("/target").unwrap(), &new));
        registry.release(&old);
        assert!(
            Arc::ptr_eq(&registry.find("/target").unwrap(), &new),
            "releasing the replaced node leaves the new one"
        );
    }

    #[test]
    fn detached_nodes_make_way_for_new_files() {
        let registry = Registry::new(false);
        let deleted = registry.acquire("/f");
        registry.detach(&deleted);
        let fresh = registry.acquire("/f");
        assert!(!Arc::ptr_eq(&deleted, &fresh));
        registry.release(&deleted);
        assert!(Arc::ptr_eq(&registry.find("/f").unwrap(), &fresh));
        assert_eq!(deleted.path(), "/f");
    }

    #[test]
    fn lazily_opened_handles_are_stored_once() {
        let registry = Registry::new(false);
        let open = OpenFile::new(FileKind::File, registry.acquire("/f"), None);
        assert!(open.user().is_none());
        let first = UserHandle {
            handle: 1,
            flags: OpenFlags(OpenFlags::READ_ONLY),
            backing: None,
        };
        let second = UserHandle {
            handle: 2,
            ..first.clone()
        };
        assert_eq!(open.set_user(first).unwrap().handle, 1);
        let (kept, loser) = open.set_user(second).unwrap_err();
        assert_eq!((kept.handle, loser.handle), (1, 2));
        assert_eq!(open.take_user().unwrap().handle, 1);
        assert!(open.user().is_none());
    }
}
