//! Per-open and per-file state.
//!
//! Every successful Create or Open gets a [`FileContext`], stored in a core
//! [`HandleTable`](mountkit_core::HandleTable) under the number WinFsp hands back to every later
//! callback about that handle (the volume is created with `UmFileContextIsUserContext2`, so the
//! number is per handle, not per file). Contexts of the same file share one [`Node`]: its
//! current path and its [`DeleteState`], so a delete requested through one handle is seen by
//! all of them. [`Nodes`] finds a node by path: by the path itself, or by the path with every
//! UTF-16 unit upper-cased on a case-insensitive volume, since there `readme` and `README` are
//! one file.

use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

use mountkit_core::windows::{upcase_unit, DeleteState};
use mountkit_core::{DirEntry, FileKind, OpenFlags, Stat};
use parking_lot::Mutex;

/// One file (or directory) that has open contexts.
#[derive(Debug)]
pub(crate) struct Node {
    /// The path the file is known by: the path it was opened with, or renamed to.
    pub path: String,
    /// Its handles and whether it is delete pending; handles are context numbers.
    pub delete: DeleteState,
    /// Its contexts that are not closed yet, cleaned up or not.
    pub contexts: Vec<u64>,
}

/// A node, shared by its contexts.
pub(crate) type NodeRef = Arc<Mutex<Node>>;

/// What one open handle needs.
#[derive(Clone, Debug)]
pub(crate) struct FileContext {
    /// The file this handle is open on.
    pub node: NodeRef,
    /// The filesystem's own handle, from `open`, `opendir` or `create`; `None` for a handle
    /// that was opened without access to data (attributes only), for which no handler was
    /// asked, and after the handle was released early (a deleted file, at cleanup).
    pub handle: Option<u64>,
    /// The kind of the object, as it was when opened.
    pub kind: FileKind,
    /// The flags the handle was opened with.
    pub flags: OpenFlags,
    /// The real file that serves this handle's bytes, if the filesystem chose one.
    pub backing: Option<Arc<File>>,
    /// The metadata seen when the handle was opened, the base of what a write to a backing
    /// file reports.
    pub stat: Stat,
    /// The directory listing read when enumeration started (`ReadDirectory` without a
    /// marker), which later pages of the same enumeration resume from.
    pub listing: Option<Arc<Vec<DirEntry>>>,
}

impl FileContext {
    /// The node's current path.
    pub(crate) fn path(&self) -> String {
        self.node.lock().path.clone()
    }

    /// Whether the handle is a directory's.
    pub(crate) fn is_directory(&self) -> bool {
        self.kind == FileKind::Directory
    }
}

/// The nodes of one mount, by path.
pub(crate) struct Nodes {
    case_insensitive: bool,
    map: Mutex<HashMap<String, NodeRef>>,
}

impl Nodes {
    /// No nodes; paths compare without case when `case_insensitive` is set.
    pub(crate) fn new(case_insensitive: bool) -> Nodes {
        Nodes {
            case_insensitive,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The key `path` is found under: the path itself, or [`fold`]ed.
    pub(crate) fn key(&self, path: &str) -> String {
        if self.case_insensitive {
            fold(path)
        } else {
            path.to_owned()
        }
    }

    /// Runs `admit` on the node of `path` (a new one if the file has none), with the node
    /// locked, and keeps the node only if it then has contexts. While `admit` runs no other
    /// context can join or leave any node, so deciding and recording an open are one step.
    pub(crate) fn attach<T, E>(
        &self,
        path: &str,
        admit: impl FnOnce(&NodeRef, &mut Node) -> Result<T, E>,
    ) -> Result<T, E> {
        let key = self.key(path);
        let mut map = self.map.lock();
        let node = map
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Mutex::new(Node {
                    path: path.to_owned(),
                    delete: DeleteState::new(),
                    contexts: Vec::new(),
                }))
            })
            .clone();
        let mut locked = node.lock();
        let result = admit(&node, &mut locked);
        if locked.contexts.is_empty() {
            map.remove(&key);
        }
        result
    }

    /// Removes the closed context `id` from `node`; a node left without contexts is forgotten.
    pub(crate) fn detach(&self, node: &NodeRef, id: u64) {
        let mut map = self.map.lock();
        let mut locked = node.lock();
        locked.contexts.retain(|&other| other != id);
        if locked.contexts.is_empty() {
            let key = self.key(&locked.path);
            if map.get(&key).is_some_and(|known| Arc::ptr_eq(known, node)) {
                map.remove(&key);
            }
        }
    }

    /// The node of `path`, if it has contexts.
    pub(crate) fn find(&self, path: &str) -> Option<NodeRef> {
        self.map.lock().get(&self.key(path)).cloned()
    }

    /// Records that `from` was renamed to `to`: the node of `from` and the nodes below it (a
    /// renamed directory's children, which can only have contexts that are cleaned up but not
    /// yet closed) move to the new path. A node that was at `to` (a replaced file) is forgotten
    /// by path; its contexts keep it.
    pub(crate) fn rename(&self, from: &str, to: &str) {
        let from_key = self.key(from);
        let depth = components(from);
        let to_key = self.key(to);
        let mut map = self.map.lock();
        if to_key != from_key {
            map.remove(&to_key);
        }
        let moving: Vec<String> = map
            .keys()
            .filter(|key| is_within(key, &from_key))
            .cloned()
            .collect();
        for key in moving {
            let Some(node) = map.remove(&key) else {
                continue;
            };
            let new_path = {
                let mut locked = node.lock();
                locked.path = reparent(&locked.path, depth, to);
                locked.path.clone()
            };
            map.insert(self.key(&new_path), node);
        }
    }

    /// Every context of every node, for releasing what is still open at unmount.
    pub(crate) fn all_contexts(&self) -> Vec<u64> {
        let map = self.map.lock();
        map.values()
            .flat_map(|node| node.lock().contexts.clone())
            .collect()
    }
}

/// `text` with every UTF-16 unit upper-cased ([`upcase_unit`]): equal for names that a
/// case-insensitive volume treats as one.
fn fold(text: &str) -> String {
    let units: Vec<u16> = text.encode_utf16().map(upcase_unit).collect();
    String::from_utf16_lossy(&units)
}

/// How many components `path` has (`/` has none).
fn components(path: &str) -> usize {
    path.split('/').filter(|part| !part.is_empty()).count()
}

/// Whether `key` is `prefix` or lies below it.
fn is_within(key: &str, prefix: &str) -> bool {
    key == prefix
        || (key.starts_with(prefix)
            && (prefix.ends_with('/') || key[prefix.len()..].starts_with('/')))
}

/// `path` with its first `depth` components replaced by `to`.
fn reparent(path: &str, depth: usize, to: &str) -> String {
    let rest: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty())
        .skip(depth)
        .collect();
    if rest.is_empty() {
        to.to_owned()
    } else {
        format!("{}/{}", to.trim_end_matches('/'), rest.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit(nodes: &Nodes, path: &str, id: u64) -> NodeRef {
        nodes
            .attach(path, |node, locked| {
                locked.contexts.push(id);
                Ok::<_, ()>(node.clone())
            })
            .unwrap()
    }

    #[test]
    fn opens_of_one_file_share_a_node() {
        let nodes = Nodes::new(false);
        let a = admit(&nodes, "/f", 1);
        let b = admit(&nodes, "/f", 2);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.lock().contexts, [1, 2]);
        nodes.detach(&a, 1);
        assert!(nodes.find("/f").is_some());
        nodes.detach(&a, 2);
        assert!(
            nodes.find("/f").is_none(),
            "forgotten with its last context"
        );
    }

    #[test]
    fn case_insensitive_volumes_fold_keys() {
        let nodes = Nodes::new(true);
        let a = admit(&nodes, "/Dir/Readme.txt", 1);
        let b = admit(&nodes, "/dir/README.TXT", 2);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(
            a.lock().path,
            "/Dir/Readme.txt",
            "the first spelling is kept"
        );
        assert_eq!(nodes.key("/straße"), "/STRAßE");
        let sensitive = Nodes::new(false);
        let c = admit(&sensitive, "/a", 1);
        let d = admit(&sensitive, "/A", 2);
        assert!(!Arc::ptr_eq(&c, &d));
    }

    #[test]
    fn refused_opens_leave_no_node() {
        let nodes = Nodes::new(false);
        let refused: Result<(), &str> = nodes.attach("/f", |_, _| Err("no"));
        assert!(refused.is_err());
        assert!(nodes.find("/f").is_none());
    }

    #[test]
    fn renames_move_nodes_and_their_children() {
        let nodes = Nodes::new(true);
        let dir = admit(&nodes, "/a", 1);
        let child = admit(&nodes, "/A/b/c", 2);
        let sibling = admit(&nodes, "/ab", 3);
        let replaced = admit(&nodes, "/z", 4);
        nodes.rename("/a", "/z");
        assert_eq!(dir.lock().path, "/z");
        assert_eq!(child.lock().path, "/z/b/c");
        assert_eq!(sibling.lock().path, "/ab", "not below /a");
        assert!(Arc::ptr_eq(&nodes.find("/Z").unwrap(), &dir));
        assert!(Arc::ptr_eq(&nodes.find("/z/B/C").unwrap(), &child));
        assert!(nodes.find("/a").is_none());
        // The replaced file's context still holds its node; closing it touches nothing else.
        nodes.detach(&replaced, 4);
        assert!(Arc::ptr_eq(&nodes.find("/z").unwrap(), &dir));
        let mut all = nodes.all_contexts();
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3]);
    }

    #[test]
    fn case_only_renames_keep_the_node() {
        let nodes = Nodes::new(true);
        let file = admit(&nodes, "/readme", 1);
        nodes.rename("/readme", "/README");
        assert_eq!(file.lock().path, "/README");
        assert!(Arc::ptr_eq(&nodes.find("/readme").unwrap(), &file));
    }

    #[test]
    fn path_helpers() {
        assert_eq!(components("/"), 0);
        assert_eq!(components("/a/b"), 2);
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(is_within("/a", "/"));
        assert_eq!(reparent("/a/b/c", 1, "/x/y"), "/x/y/b/c");
        assert_eq!(reparent("/a", 1, "/x"), "/x");
    }
}
