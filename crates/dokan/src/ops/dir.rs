//! FindFiles and FindFilesWithPattern, and the listings other callbacks need.

use log::warn;
use mountkit_core::windows::attributes::{FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL};
use mountkit_core::windows::enumerate::{matching, prepare_listing};
use mountkit_core::windows::filetime::filetime_from_system_time;
use mountkit_core::windows::ntstatus::{STATUS_INVALID_PARAMETER, STATUS_NOT_A_DIRECTORY};
use mountkit_core::windows::wide::text_until_nul;
use mountkit_core::{
    expect_reply, DirEntry, Errno, FileKind, FsResult, Listing, OpenFlags, Operation, Stat,
};

use crate::paths;
use crate::request::Pending;

use super::attributes;
use super::{Call, DokanFs, NtError, NtResult};

/// One entry of a directory listing (`WIN32_FIND_DATAW`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindEntry {
    /// The entry's name.
    pub name: String,
    /// `FILE_ATTRIBUTE_*` bits.
    pub attributes: u32,
    /// FILETIME of creation.
    pub creation_time: u64,
    /// FILETIME of last access.
    pub last_access_time: u64,
    /// FILETIME of last write.
    pub last_write_time: u64,
    /// Size in bytes; 0 for directories.
    pub size: u64,
}

impl DokanFs {
    /// Lists `path`: through `handle` if the directory is open, otherwise by opening it for
    /// the listing and releasing it after.
    pub(super) fn list_dir(
        &self,
        call: &Call,
        path: &str,
        handle: Option<u64>,
    ) -> FsResult<Vec<DirEntry>> {
        if let Some(handle) = handle {
            let readdir = Operation::Readdir {
                path: path.to_owned(),
                handle,
            };
            return expect_reply!(self.call(call, readdir), Entries).map(Listing::into_entries);
        }
        let opendir = Operation::Opendir {
            path: path.to_owned(),
            flags: OpenFlags(OpenFlags::READ_ONLY),
        };
        let opened = expect_reply!(self.call(call, opendir), Opened)?;
        let readdir = Operation::Readdir {
            path: path.to_owned(),
            handle: opened.handle,
        };
        let listed = expect_reply!(self.call(call, readdir), Entries);
        let releasedir = Operation::Releasedir {
            path: path.to_owned(),
            handle: opened.handle,
        };
        if let Err(e) = self.run(call, releasedir) {
            warn!("releasedir of {path} after a listing failed: {e}");
        }
        listed.map(Listing::into_entries)
    }

    pub(super) fn dir_is_empty(
        &self,
        call: &Call,
        path: &str,
        handle: Option<u64>,
    ) -> FsResult<bool> {
        // A listing never holds `.` or `..` (see `Listing`).
        Ok(self.list_dir(call, path, handle)?.is_empty())
    }

    /// `FindFiles` (`pattern` `None`) and `FindFilesWithPattern`: the directory's entries
    /// that match `pattern` (DOS wildcards, compared as the volume compares names), sorted
    /// as Windows sorts, with `.` and `..` first except in the root.
    ///
    /// The listing comes from one `readdir` through the open's handle. Names Windows cannot
    /// represent are left out. Entries listed without metadata get it from `getattr`, all
    /// requested at once before any answer is awaited; an entry that vanished meanwhile
    /// (`ENOENT`) is left out, and one whose `getattr` fails otherwise is shown with its
    /// kind only.
    pub fn find_files(
        &self,
        call: &Call,
        context: u64,
        pattern: Option<&[u16]>,
    ) -> NtResult<Vec<FindEntry>> {
        let open = self.entry(context)?;
        if !open.is_directory() {
            return Err(NtError(STATUS_NOT_A_DIRECTORY));
        }
        let pattern = pattern
            .map(|wide| text_until_nul(wide).ok_or(NtError(STATUS_INVALID_PARAMETER)))
            .transpose()?;
        let path = open.path();
        let user = self.user_handle(call, &open, false)?;
        let listed = self.list_dir(call, &path, Some(user.handle))?;
        let listed: Vec<DirEntry> = listed
            .into_iter()
            .filter(|entry| paths::listable(&entry.name))
            .collect();
        let listing = prepare_listing(listed, path == "/", self.ignore_case);
        let chosen: Vec<&DirEntry> =
            matching(&listing, pattern.as_deref(), self.ignore_case).collect();
        let pending: Vec<Option<Pending>> = chosen
            .iter()
            .map(|entry| {
                entry.stat.is_none().then(|| {
                    let target = match entry.name.as_str() {
                        "." => path.clone(),
                        ".." => paths::split(&path)
                            .map_or("/", |(parent, _)| parent)
                            .to_owned(),
                        name => paths::join(&path, name),
                    };
                    self.start(
                        call,
                        Operation::Getattr {
                            path: target,
                            handle: None,
                        },
                    )
                })
            })
            .collect();
        let mut found = Vec::with_capacity(chosen.len());
        for (entry, pending) in chosen.into_iter().zip(pending) {
            let stat = match pending {
                None => entry.stat.clone(),
                Some(pending) => {
                    match expect_reply!(pending.wait(&self.policy, call.keepalive), Stat) {
                        Ok(stat) => Some(stat),
                        Err(Errno::ENOENT) if entry.name != "." && entry.name != ".." => continue,
                        Err(_) => None,
                    }
                }
            };
            found.push(find_entry(&entry.name, entry.kind, stat.as_ref()));
        }
        Ok(found)
    }
}

fn find_entry(name: &str, kind: FileKind, stat: Option<&Stat>) -> FindEntry {
    match stat {
        Some(stat) => FindEntry {
            name: name.to_owned(),
            attributes: attributes(stat),
            creation_time: filetime_from_system_time(stat.birthtime),
            last_access_time: filetime_from_system_time(stat.atime),
            last_write_time: filetime_from_system_time(stat.mtime),
            size: if stat.kind == FileKind::Directory {
                0
            } else {
                stat.size
            },
        },
        None => FindEntry {
            name: name.to_owned(),
            attributes: if kind == FileKind::Directory {
                FILE_ATTRIBUTE_DIRECTORY
            } else {
                FILE_ATTRIBUTE_NORMAL
            },
            creation_time: 0,
            last_access_time: 0,
            last_write_time: 0,
            size: 0,
        },
    }
}
