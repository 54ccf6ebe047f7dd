//! The table that turns FUSE's inode numbers into the paths that handlers see.
//!
//! The kernel names files by inode number and counts its references to each (`lookup`
//! raises the count, `forget` lowers it). Handlers name files by path. This table keeps the
//! two in step: every node records the names it is known by (one per hard link), so its path
//! can be rebuilt from its parent chain, and renames, unlinks and hard links only touch the
//! node they are about — the paths of whole subtrees follow for free.

use std::collections::{hash_map, HashMap};
use std::hash::RandomState;

use hashbrown::Equivalent;
use mountkit_core::{Errno, FileKind, FsResult};
use rustc_hash::FxBuildHasher;

/// The inode number of the mount's root directory, fixed by the FUSE protocol.
pub const ROOT: u64 = 1;

#[derive(Debug)]
struct Node {
    kind: FileKind,
    /// The identity the handler reported (`Stat::ino`), or 0 when it reports none.
    file_id: u64,
    /// `(parent inode, name)` for each name this node is linked under. Empty once every name
    /// is unlinked; the node then lives on only while the kernel still refers to it (an open
    /// file), and requests about it carry `last_path`.
    links: Vec<(u64, String)>,
    last_path: String,
    /// References the kernel holds (lookups not yet forgotten).
    lookups: u64,
    /// Handles of this file that are open now. Once every name is gone, a handle is the only
    /// reliable way to name the file: its last path may already belong to a new file.
    open_handles: Vec<u64>,
}

/// Directories with at most this many known names keep the inode of each
/// ([`KnownNames::Few`]), so a listing finds them without a keyed hash per listed name.
const FEW_KNOWN: usize = 32;

/// The names the kernel knows inside one directory (its entries in [`InodeTable`]'s
/// `children`), as much as a listing needs of them.
#[derive(Debug)]
enum KnownNames {
    /// The inode of each name (one entry per name: two links in one directory appear twice),
    /// while there have been at most [`FEW_KNOWN`] since the directory had none.
    Few(Vec<u64>),
    /// How many, once there were more, until none is left.
    Many(usize),
}

/// How a listing of one directory finds the inode the kernel knows for each listed name
/// ([`InodeTable::names_in`]).
pub enum KnownInDirectory<'a> {
    /// The kernel knows no name in it.
    None,
    /// A few names, in a small map. An unkeyed hash is safe here: even names chosen to
    /// collide cost at most [`FEW_KNOWN`] comparisons per lookup.
    Few(HashMap<&'a str, u64, FxBuildHasher>),
    /// Many: each name is looked up in the table.
    Many(&'a InodeTable, u64),
}

impl KnownInDirectory<'_> {
    /// The inode the kernel knows for `name`, if any.
    pub fn get(&self, name: &str) -> Option<u64> {
        match self {
            KnownInDirectory::None => None,
            KnownInDirectory::Few(names) => names.get(name).copied(),
            KnownInDirectory::Many(table, dir) => table.peek(*dir, name),
        }
    }
}

/// `(parent inode, name)` borrowed: a key for [`InodeTable`]'s `children` that needs no
/// `String`. It hashes exactly as the owned `(u64, String)` does (field by field, the name as
/// a `str`), which `Equivalent` relies on.
#[derive(Hash)]
struct ChildKey<'a>(u64, &'a str);

impl Equivalent<(u64, String)> for ChildKey<'_> {
    fn equivalent(&self, key: &(u64, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

fn push_child(path: &mut String, child: Option<&str>) {
    if let Some(child) = child {
        path.push('/');
        path.push_str(child);
    }
}

/// Inode numbers <-> paths, for one mount.
#[derive(Debug)]
pub struct InodeTable {
    nodes: HashMap<u64, Node>,
    /// `(parent inode, name)` -> inode. A hashbrown map, so that [`ChildKey`] can look a
    /// name up without copying it into a `String` first.
    /// Names come from users, so the hash stays std's keyed SipHash.
    children: hashbrown::HashMap<(u64, String), u64, RandomState>,
    /// The names known in each directory that has any, by directory inode.
    known: HashMap<u64, KnownNames, FxBuildHasher>,
    by_file_id: HashMap<u64, u64>,
    next_ino: u64,
}

impl Default for InodeTable {
    fn default() -> Self {
        Self::new()
    }
}

impl InodeTable {
    /// A table holding only the root directory.
    pub fn new() -> InodeTable {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT,
            Node {
                kind: FileKind::Directory,
                file_id: 0,
                links: Vec::new(),
                last_path: "/".to_owned(),
                lookups: 1,
                open_handles: Vec::new(),
            },
        );
        InodeTable {
            nodes,
            children: hashbrown::HashMap::with_hasher(RandomState::new()),
            known: HashMap::default(),
            by_file_id: HashMap::new(),
            next_ino: ROOT + 1,
        }
    }

    /// The current path of `ino`. A node whose every name was unlinked answers with the last
    /// path it had, so requests on files that are still open keep working.
    pub fn path(&self, ino: u64) -> FsResult<String> {
        self.build_path(ino, None)
    }

    /// The path of the entry `name` inside directory `parent`.
    pub fn child_path(&self, parent: u64, name: &str) -> FsResult<String> {
        self.build_path(parent, Some(name))
    }

    /// The path of `ino`, followed by `/child` when given, in one allocation: this runs for
    /// nearly every request.
    fn build_path(&self, ino: u64, child: Option<&str>) -> FsResult<String> {
        // Names from `ino` up to the root, nearest first. Most paths fit the array; deeper
        // ones spill into the vector.
        const SHALLOW: usize = 16;
        let mut shallow = [""; SHALLOW];
        let mut deep = Vec::new();
        let mut depth = 0;
        let mut length = child.map_or(0, |c| c.len() + 1);
        let node = self.nodes.get(&ino).ok_or(Errno::ESTALE)?;
        let mut link = node.links.first();
        if link.is_none() && ino != ROOT {
            // Every name was unlinked: the node is known by its last path only.
            let mut path = String::with_capacity(node.last_path.len() + length);
            path.push_str(&node.last_path);
            push_child(&mut path, child);
            return Ok(path);
        }
        while let Some((parent, name)) = link {
            if depth < SHALLOW {
                shallow[depth] = name;
            } else {
                if deep.is_empty() {
                    deep.extend_from_slice(&shallow);
                }
                deep.push(name.as_str());
            }
            depth += 1;
            length += name.len() + 1;
            if *parent == ROOT {
                break;
            }
            let up = self.nodes.get(parent).ok_or(Errno::ESTALE)?;
            link = Some(up.links.first().ok_or(Errno::ESTALE)?);
        }
        let names = if depth <= SHALLOW {
            &shallow[..depth]
        } else {
            &deep[..]
        };
        let mut path = String::with_capacity(length.max(1));
        for name in names.iter().rev() {
            path.push('/');
            path.push_str(name);
        }
        push_child(&mut path, child);
        if path.is_empty() {
            path.push('/');
        }
        Ok(path)
    }

    /// The kind of node `ino`, if the table holds it.
    pub fn kind(&self, ino: u64) -> Option<FileKind> {
        self.nodes.get(&ino).map(|node| node.kind)
    }

    /// The inode the kernel already knows for `parent/name`, if any, without taking a reference.
    pub fn peek(&self, parent: u64, name: &str) -> Option<u64> {
        self.children.get(&ChildKey(parent, name)).copied()
    }

    /// Records that the kernel looked up `parent/name` and found a file of `kind` with
    /// identity `file_id` (0: none); returns its inode number with one more reference.
    ///
    /// The same name keeps its inode while the file's kind and identity stay the same. A
    /// non-zero `file_id` already known under another name makes this name a hard link of
    /// that node.
    pub fn lookup(&mut self, parent: u64, name: &str, kind: FileKind, file_id: u64) -> u64 {
        if let Some(&ino) = self.children.get(&ChildKey(parent, name)) {
            let node = &self.nodes[&ino];
            if node.kind == kind && (file_id == 0 || node.file_id == file_id) {
                self.nodes
                    .get_mut(&ino)
                    .expect("child points at a live node")
                    .lookups += 1;
                return ino;
            }
            // The name now refers to another file than the one the kernel knew.
            self.detach_name(parent, name);
        }
        if file_id != 0 {
            if let Some(&ino) = self.by_file_id.get(&file_id) {
                let node = self
                    .nodes
                    .get_mut(&ino)
                    .expect("file id points at a live node");
                if node.kind == kind && !node.links.is_empty() {
                    node.links.push((parent, name.to_owned()));
                    node.lookups += 1;
                    self.insert_child(parent, name, ino);
                    return ino;
                }
            }
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        let last_path = self.child_path(parent, name).unwrap_or_default();
        self.nodes.insert(
            ino,
            Node {
                kind,
                file_id,
                links: vec![(parent, name.to_owned())],
                last_path,
                lookups: 1,
                open_handles: Vec::new(),
            },
        );
        self.insert_child(parent, name, ino);
        if file_id != 0 {
            self.by_file_id.insert(file_id, ino);
        }
        ino
    }

    /// Records a new hard link `parent/name` of the existing node `ino`, with one more
    /// reference, as `link(2)` creates it.
    pub fn link(&mut self, ino: u64, parent: u64, name: &str) -> FsResult<u64> {
        if !self.nodes.contains_key(&ino) {
            return Err(Errno::ESTALE);
        }
        self.detach_name(parent, name);
        let node = self.nodes.get_mut(&ino).expect("checked above");
        node.links.push((parent, name.to_owned()));
        node.lookups += 1;
        self.insert_child(parent, name, ino);
        Ok(ino)
    }

    /// Records that `parent/name` was unlinked. The node stays while the kernel refers to it.
    pub fn unlink(&mut self, parent: u64, name: &str) {
        self.detach_name(parent, name);
    }

    /// Records a successful rename. A destination that existed is unlinked (plain rename) or
    /// swapped with the source (`exchange`).
    pub fn rename(&mut self, from: (u64, &str), to: (u64, &str), exchange: bool) {
        let source = self.remove_child(from.0, from.1);
        let target = self.remove_child(to.0, to.1);
        if let Some(ino) = target {
            if exchange {
                self.rename_link(ino, to, from);
                self.insert_child(from.0, from.1, ino);
            } else {
                self.drop_link(ino, to);
            }
        }
        if let Some(ino) = source {
            self.rename_link(ino, from, to);
            self.insert_child(to.0, to.1, ino);
        }
    }

    /// The kernel dropped `count` references to `ino`. A node with none left is removed.
    pub fn forget(&mut self, ino: u64, count: u64) {
        if ino == ROOT {
            return;
        }
        let Some(node) = self.nodes.get_mut(&ino) else {
            return;
        };
        node.lookups = node.lookups.saturating_sub(count);
        if node.lookups > 0 {
            return;
        }
        let node = self.nodes.remove(&ino).expect("present above");
        for (parent, name) in &node.links {
            self.remove_child(*parent, name);
        }
        if node.file_id != 0 && self.by_file_id.get(&node.file_id) == Some(&ino) {
            self.by_file_id.remove(&node.file_id);
        }
        self.shrink_when_sparse();
    }

    /// Hash maps keep their largest capacity; after the kernel forgets most of a large tree
    /// that capacity would stay allocated for good. Shrinking to twice the live count once
    /// fewer than a quarter of the slots are used keeps the cost amortised O(1) per forget.
    fn shrink_when_sparse(&mut self) {
        const SMALLEST_WORTH_SHRINKING: usize = 1024;
        let live = self.nodes.len();
        if self.nodes.capacity() > SMALLEST_WORTH_SHRINKING && live < self.nodes.capacity() / 4 {
            self.nodes.shrink_to(live * 2);
            self.children.shrink_to(self.children.len() * 2);
            self.known.shrink_to(self.known.len() * 2);
            self.by_file_id.shrink_to(self.by_file_id.len() * 2);
        }
    }

    /// The inode the kernel knows for `path`, if it has looked every component up.
    pub fn resolve(&self, path: &str) -> Option<u64> {
        path.split('/')
            .filter(|c| !c.is_empty())
            .try_fold(ROOT, |dir, name| self.peek(dir, name))
    }

    /// Records that `handle` was opened on `ino`.
    pub fn opened(&mut self, ino: u64, handle: u64) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.open_handles.push(handle);
        }
    }

    /// Records that `handle` on `ino` was released.
    pub fn released(&mut self, ino: u64, handle: u64) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            if let Some(i) = node.open_handles.iter().position(|h| *h == handle) {
                node.open_handles.swap_remove(i);
            }
        }
    }

    /// An open handle to name `ino` by when it has no name left (unlinked while open), so a
    /// request without a handle of its own (`fstat` arrives as a plain getattr) reaches the
    /// right file and not whatever now lives at its old path.
    pub fn handle_of_unlinked(&self, ino: u64) -> Option<u64> {
        let node = self.nodes.get(&ino)?;
        if node.links.is_empty() && ino != ROOT {
            node.open_handles.first().copied()
        } else {
            None
        }
    }

    /// Number of nodes the kernel still refers to, root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is left, not even the root.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// What a listing of directory `dir` needs to find the inode of each listed name the
    /// kernel knows. Most listings are of directories where the kernel knows no name or a
    /// few; only the others pay a keyed hash per listed name.
    pub fn names_in(&self, dir: u64) -> KnownInDirectory<'_> {
        let few = match self.known.get(&dir) {
            None => return KnownInDirectory::None,
            Some(KnownNames::Many(_)) => return KnownInDirectory::Many(self, dir),
            Some(KnownNames::Few(few)) => few,
        };
        let mut names = HashMap::with_capacity_and_hasher(few.len(), FxBuildHasher);
        for ino in few {
            let links = self.nodes.get(ino).map_or(&[][..], |node| &node.links[..]);
            for (_, name) in links.iter().filter(|(parent, _)| *parent == dir) {
                names.insert(name.as_str(), *ino);
            }
        }
        KnownInDirectory::Few(names)
    }

    /// Records `parent/name` -> `ino` in `children`, and in the names known in `parent`.
    fn insert_child(&mut self, parent: u64, name: &str, ino: u64) {
        if self
            .children
            .insert((parent, name.to_owned()), ino)
            .is_some()
        {
            return;
        }
        let known = self
            .known
            .entry(parent)
            .or_insert_with(|| KnownNames::Few(Vec::new()));
        match known {
            KnownNames::Few(few) if few.len() < FEW_KNOWN => few.push(ino),
            KnownNames::Few(few) => *known = KnownNames::Many(few.len() + 1),
            KnownNames::Many(count) => *count += 1,
        }
    }

    /// Removes `parent/name` from `children` and from the names known in `parent`; returns
    /// the inode it named.
    fn remove_child(&mut self, parent: u64, name: &str) -> Option<u64> {
        let ino = self.children.remove(&ChildKey(parent, name))?;
        if let hash_map::Entry::Occupied(mut entry) = self.known.entry(parent) {
            let left = match entry.get_mut() {
                KnownNames::Few(few) => {
                    if let Some(i) = few.iter().position(|&other| other == ino) {
                        few.swap_remove(i);
                    }
                    few.len()
                }
                KnownNames::Many(count) => {
                    *count -= 1;
                    *count
                }
            };
            if left == 0 {
                entry.remove();
            }
        }
        Some(ino)
    }

    fn detach_name(&mut self, parent: u64, name: &str) {
        if let Some(ino) = self.remove_child(parent, name) {
            self.drop_link(ino, (parent, name));
        }
    }

    fn drop_link(&mut self, ino: u64, link: (u64, &str)) {
        let path = self.path(ino).unwrap_or_default();
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.links.retain(|(p, n)| !(*p == link.0 && n == link.1));
            if node.links.is_empty() {
                node.last_path = path;
                if node.file_id != 0 && self.by_file_id.get(&node.file_id) == Some(&ino) {
                    self.by_file_id.remove(&node.file_id);
                }
            }
        }
    }

    fn rename_link(&mut self, ino: u64, from: (u64, &str), to: (u64, &str)) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            match node
                .links
                .iter_mut()
                .find(|(p, n)| *p == from.0 && n == from.1)
            {
                Some(link) => *link = (to.0, to.1.to_owned()),
                None => node.links.push((to.0, to.1.to_owned())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(table: &mut InodeTable, parent: u64, name: &str) -> u64 {
        table.lookup(parent, name, FileKind::File, 0)
    }

    fn dir(table: &mut InodeTable, parent: u64, name: &str) -> u64 {
        table.lookup(parent, name, FileKind::Directory, 0)
    }

    #[test]
    fn paths_follow_the_parent_chain() {
        let mut t = InodeTable::new();
        let a = dir(&mut t, ROOT, "a");
        let b = dir(&mut t, a, "b");
        let f = file(&mut t, b, "f.txt");
        assert_eq!(t.path(ROOT).unwrap(), "/");
        assert_eq!(t.path(f).unwrap(), "/a/b/f.txt");
        assert_eq!(t.child_path(ROOT, "x").unwrap(), "/x");
        assert_eq!(t.child_path(b, "x").unwrap(), "/a/b/x");
    }

    #[test]
    fn paths_deeper_than_the_stack_array_are_whole() {
        let mut t = InodeTable::new();
        let mut at = ROOT;
        let mut expected = String::new();
        for level in 0..40 {
            let name = format!("d{level}");
            at = dir(&mut t, at, &name);
            expected.push('/');
            expected.push_str(&name);
        }
        assert_eq!(t.path(at).unwrap(), expected);
        assert_eq!(
            t.child_path(at, "leaf").unwrap(),
            format!("{expected}/leaf")
        );
    }

    #[test]
    fn repeated_lookups_reuse_the_inode() {
        let mut t = InodeTable::new();
        let a = file(&mut t, ROOT, "a");
        assert_eq!(file(&mut t, ROOT, "a"), a);
        t.forget(a, 1);
        assert_eq!(t.path(a).unwrap(), "/a", "one reference is still held");
        t.forget(a, 1);
        assert_eq!(t.path(a), Err(Errno::ESTALE));
    }

    #[test]
    fn renaming_a_directory_moves_its_whole_subtree() {
        let mut t = InodeTable::new();
        let a = dir(&mut t, ROOT, "a");
        let z = dir(&mut t, ROOT, "z");
        let f = file(&mut t, a, "f");
        t.rename((ROOT, "a"), (z, "moved"), false);
        assert_eq!(t.path(f).unwrap(), "/z/moved/f");
        assert_eq!(t.peek(ROOT, "a"), None);
        assert_eq!(t.peek(z, "moved"), Some(a));
    }

    #[test]
    fn rename_over_an_existing_name_unlinks_the_target() {
        let mut t = InodeTable::new();
        let src = file(&mut t, ROOT, "src");
        let dst = file(&mut t, ROOT, "dst");
        t.rename((ROOT, "src"), (ROOT, "dst"), false);
        assert_eq!(t.path(src).unwrap(), "/dst");
        // The replaced file may still be open: it keeps the path it had.
        assert_eq!(t.path(dst).unwrap(), "/dst");
        assert_eq!(t.peek(ROOT, "dst"), Some(src));
    }

    #[test]
    fn exchange_swaps_two_names() {
        let mut t = InodeTable::new();
        let a = file(&mut t, ROOT, "a");
        let b = dir(&mut t, ROOT, "b");
        t.rename((ROOT, "a"), (ROOT, "b"), true);
        assert_eq!(t.path(a).unwrap(), "/b");
        assert_eq!(t.path(b).unwrap(), "/a");
    }

    #[test]
    fn unlinked_open_files_keep_their_last_path() {
        let mut t = InodeTable::new();
        let d = dir(&mut t, ROOT, "d");
        let f = file(&mut t, d, "f");
        t.unlink(d, "f");
        assert_eq!(t.path(f).unwrap(), "/d/f");
        assert_eq!(t.peek(d, "f"), None);
        // A new file under the same name is a new inode.
        let g = file(&mut t, d, "f");
        assert_ne!(f, g);
        // A directory removed while open still names its entries from its last path.
        let sub = dir(&mut t, d, "sub");
        t.unlink(d, "sub");
        assert_eq!(t.child_path(sub, "x").unwrap(), "/d/sub/x");
    }

    #[test]
    fn known_paths_resolve_to_their_inodes() {
        let mut t = InodeTable::new();
        let a = dir(&mut t, ROOT, "a");
        let f = file(&mut t, a, "f");
        assert_eq!(t.resolve("/"), Some(ROOT));
        assert_eq!(t.resolve("/a/f"), Some(f));
        assert_eq!(t.resolve("/a/missing"), None);
        assert_eq!(t.resolve("/a//f/"), Some(f));
    }

    #[test]
    fn unlinked_open_files_are_named_by_an_open_handle() {
        let mut t = InodeTable::new();
        let f = file(&mut t, ROOT, "f");
        t.opened(f, 7);
        assert_eq!(
            t.handle_of_unlinked(f),
            None,
            "a linked file is named by its path"
        );
        t.unlink(ROOT, "f");
        assert_eq!(t.handle_of_unlinked(f), Some(7));
        t.released(f, 7);
        assert_eq!(t.handle_of_unlinked(f), None);
    }

    #[test]
    fn hard_links_share_a_node_and_survive_unlinking_one_name() {
        let mut t = InodeTable::new();
        let a = t.lookup(ROOT, "a", FileKind::File, 42);
        let b = t.lookup(ROOT, "b", FileKind::File, 42);
        assert_eq!(a, b, "same file id, same inode");
        t.unlink(ROOT, "a");
        assert_eq!(t.path(a).unwrap(), "/b");
        let c = t.link(a, ROOT, "c").unwrap();
        assert_eq!(c, a);
        t.unlink(ROOT, "b");
        assert_eq!(t.path(a).unwrap(), "/c");
    }

    #[test]
    fn a_name_that_now_holds_another_file_gets_a_new_inode() {
        let mut t = InodeTable::new();
        let old = t.lookup(ROOT, "x", FileKind::File, 7);
        let replaced = t.lookup(ROOT, "x", FileKind::Directory, 8);
        assert_ne!(old, replaced);
        assert_eq!(t.peek(ROOT, "x"), Some(replaced));
    }

    #[test]
    fn forgetting_every_reference_frees_the_table() {
        let mut t = InodeTable::new();
        let a = dir(&mut t, ROOT, "a");
        let f = file(&mut t, a, "f");
        t.forget(f, 1);
        t.forget(a, 1);
        assert_eq!(t.len(), 1, "only the root is left");
        t.forget(ROOT, 100);
        assert_eq!(t.path(ROOT).unwrap(), "/", "the root is never forgotten");
    }

    #[test]
    fn forgetting_a_large_tree_leaves_only_the_root_and_releases_its_memory() {
        let mut t = InodeTable::new();
        let mut looked_up = Vec::new();
        for d in 0..20 {
            let parent = dir(&mut t, ROOT, &format!("d{d}"));
            looked_up.push((parent, 1));
            for f in 0..500 {
                let id = (d * 1000 + f + 1) as u64;
                let ino = t.lookup(parent, &format!("f{f}"), FileKind::File, id);
                // A second lookup of the same name, as a stat after a create makes.
                assert_eq!(t.lookup(parent, &format!("f{f}"), FileKind::File, id), ino);
                looked_up.push((ino, 2));
            }
        }
        assert_eq!(t.len(), 1 + 20 + 20 * 500);
        let full_capacity = t.nodes.capacity();
        // The kernel forgets children before their directory, in batches, each inode with
        // the number of lookups it had.
        for (ino, count) in looked_up.iter().rev() {
            t.forget(*ino, *count);
        }
        assert_eq!(t.len(), 1, "only the root is left");
        assert!(t.children.is_empty(), "no name is left");
        assert!(t.known.is_empty(), "no directory knows a name");
        assert!(t.by_file_id.is_empty(), "no file id is left");
        assert!(
            t.nodes.capacity() < full_capacity / 8,
            "the table shrank from {full_capacity} slots, has {}",
            t.nodes.capacity()
        );
        assert_eq!(t.peek(looked_up[0].0, "f0"), None);
        assert_eq!(t.path(looked_up[1].0), Err(Errno::ESTALE));
    }

    #[test]
    fn a_partial_forget_keeps_the_node() {
        let mut t = InodeTable::new();
        let f = t.lookup(ROOT, "f", FileKind::File, 3);
        t.lookup(ROOT, "f", FileKind::File, 3);
        t.lookup(ROOT, "f", FileKind::File, 3);
        t.forget(f, 2);
        assert_eq!(t.len(), 2);
        assert_eq!(t.peek(ROOT, "f"), Some(f));
        t.forget(f, 1);
        assert_eq!(t.len(), 1);
        assert_eq!(t.peek(ROOT, "f"), None);
    }

    /// The names known in each directory are exactly its entries in `children`, and a
    /// listing of it finds each of them, and no other name.
    fn assert_known_names_match(t: &InodeTable) {
        let mut expected: HashMap<u64, Vec<u64>> = HashMap::new();
        for ((parent, _), ino) in &t.children {
            expected.entry(*parent).or_default().push(*ino);
        }
        assert_eq!(
            t.known.len(),
            expected.len(),
            "directories with known names"
        );
        for (dir, mut inos) in expected {
            match &t.known[&dir] {
                KnownNames::Few(few) => {
                    let mut few = few.clone();
                    few.sort_unstable();
                    inos.sort_unstable();
                    assert_eq!(few, inos, "the few inodes of {dir}");
                }
                KnownNames::Many(count) => assert_eq!(*count, inos.len(), "names known in {dir}"),
            }
            let listing = t.names_in(dir);
            for ((parent, name), ino) in &t.children {
                if *parent == dir {
                    assert_eq!(listing.get(name), Some(*ino), "{dir}/{name}");
                }
            }
            assert_eq!(listing.get("never-looked-up"), None);
        }
    }

    #[test]
    fn directories_keep_the_names_known_in_them() {
        let mut t = InodeTable::new();
        let a = dir(&mut t, ROOT, "a");
        let b = dir(&mut t, ROOT, "b");
        assert!(matches!(t.names_in(a), KnownInDirectory::None));
        let f = t.lookup(a, "f", FileKind::File, 7);
        file(&mut t, a, "f");
        t.lookup(b, "hard", FileKind::File, 7);
        t.link(f, b, "link").unwrap();
        t.link(f, b, "second link").unwrap();
        assert_known_names_match(&t);
        // Renaming onto itself, within a directory, across directories, over a name, and
        // exchanging.
        t.rename((a, "f"), (a, "f"), false);
        t.rename((a, "f"), (a, "g"), false);
        t.rename((b, "link"), (a, "moved"), false);
        file(&mut t, b, "other");
        t.rename((b, "other"), (a, "g"), false);
        t.rename((a, "g"), (b, "hard"), true);
        assert_known_names_match(&t);
        t.unlink(b, "hard");
        t.unlink(a, "moved");
        assert_known_names_match(&t);
        // A name that now holds another kind of file is replaced, not counted twice.
        let g = dir(&mut t, a, "g");
        assert_known_names_match(&t);
        // A directory forgotten before the names in it: they go when they are forgotten.
        for ino in [a, b, f, g] {
            t.forget(ino, 10);
            assert_known_names_match(&t);
        }
        assert_eq!(
            t.len(),
            2,
            "the root, and `other`: unlinked, still referenced"
        );
    }

    #[test]
    fn a_directory_with_many_known_names_looks_each_up() {
        let mut t = InodeTable::new();
        let d = dir(&mut t, ROOT, "d");
        let names: Vec<String> = (0..FEW_KNOWN + 8).map(|i| format!("f{i}")).collect();
        let inos: Vec<u64> = names.iter().map(|name| file(&mut t, d, name)).collect();
        assert!(matches!(t.names_in(d), KnownInDirectory::Many(..)));
        assert_known_names_match(&t);
        // Back to a few: still looked up one by one until none is left.
        for name in &names[3..] {
            t.unlink(d, name);
        }
        assert!(matches!(t.names_in(d), KnownInDirectory::Many(..)));
        assert_known_names_match(&t);
        for name in &names[..3] {
            t.unlink(d, name);
        }
        assert!(matches!(t.names_in(d), KnownInDirectory::None));
        let again = file(&mut t, d, "f0");
        assert!(matches!(t.names_in(d), KnownInDirectory::Few(_)));
        assert_eq!(t.names_in(d).get("f0"), Some(again));
        assert_ne!(
            again, inos[0],
            "f0 was unlinked, its name now holds a new file"
        );
        assert_known_names_match(&t);
    }

    #[test]
    fn file_ids_of_unlinked_files_are_not_reused_for_new_names() {
        let mut t = InodeTable::new();
        let a = t.lookup(ROOT, "a", FileKind::File, 9);
        t.unlink(ROOT, "a");
        let b = t.lookup(ROOT, "b", FileKind::File, 9);
        assert_ne!(
            a, b,
            "a recycled id must not alias an unlinked, still-open file"
        );
    }
}
