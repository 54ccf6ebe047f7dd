//! File information, attributes, times, sizes and streams: GetFileInformation,
//! SetFileAttributes, SetFileTime, SetEndOfFile, SetAllocationSize and FindStreams.

use mountkit_core::windows::attributes::{
    apply_attributes, attributes_from_stat, FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_REPARSE_POINT,
};
use mountkit_core::windows::filetime::{filetime_from_system_time, requested_time};
use mountkit_core::windows::ntstatus::{
    STATUS_END_OF_FILE, STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_PARAMETER,
};
use mountkit_core::windows::security::{
    answered_or_derived, changed_or_dropped, keepable_change, merge, restrict, store_new_security,
    Source,
};
use mountkit_core::{
    expect_reply, Errno, FileKind, FsResult, Operation, SetTime, Stat, WindowsAttributes,
};

use crate::paths;

use super::{Call, DokanFs, NtError, NtResult};

/// What `GetFileInformation` reports (`BY_HANDLE_FILE_INFORMATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileInformation {
    /// `FILE_ATTRIBUTE_*` bits.
    pub attributes: u32,
    /// FILETIME of creation (the stat's birth time).
    pub creation_time: u64,
    /// FILETIME of last access.
    pub last_access_time: u64,
    /// FILETIME of last write.
    pub last_write_time: u64,
    /// The volume's serial number.
    pub volume_serial: u32,
    /// Size in bytes; 0 for a directory.
    pub size: u64,
    /// Number of links, at least 1.
    pub links: u32,
    /// The file index: the stat's `ino` when non-zero, otherwise a hash of the path.
    pub index: u64,
}

/// The times `SetFileTime` asks for, as FILETIMEs; `None` where the caller passed no pointer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileTimes {
    /// Creation time, the stat's birth time (`set_attributes`).
    pub creation: Option<u64>,
    /// Last access time.
    pub last_access: Option<u64>,
    /// Last write time.
    pub last_write: Option<u64>,
}

/// One stream of a file, as `FindStreams` reports it (`WIN32_FIND_STREAM_DATA`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEntry {
    /// The stream name, `::$DATA` for the file's own data.
    pub name: String,
    /// The stream's size in bytes.
    pub size: u64,
}

/// The attributes this backend reports for `stat`: those of [`attributes_from_stat`],
/// except that symbolic links are shown as plain files, since Dokan cannot serve reparse
/// points.
pub fn attributes(stat: &Stat) -> u32 {
    match attributes_from_stat(stat) & !FILE_ATTRIBUTE_REPARSE_POINT {
        0 => FILE_ATTRIBUTE_NORMAL,
        bits => bits,
    }
}

/// 64-bit FNV-1a of `text`.
fn fnv1a_64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl DokanFs {
    /// `GetFileInformation`: `getattr` through the open's handle, translated.
    pub fn get_file_information(&self, call: &Call, context: u64) -> NtResult<FileInformation> {
        let open = self.entry(context)?;
        let path = open.path();
        let stat = self.getattr(call, &path, open.user().map(|user| user.handle))?;
        Ok(FileInformation {
            attributes: attributes(&stat),
            creation_time: filetime_from_system_time(stat.birthtime),
            last_access_time: filetime_from_system_time(stat.atime),
            last_write_time: filetime_from_system_time(stat.mtime),
            volume_serial: self.volume.serial,
            size: if stat.kind == FileKind::Directory {
                0
            } else {
                stat.size
            },
            links: stat.nlink.max(1),
            index: if stat.ino != 0 {
                stat.ino
            } else {
                fnv1a_64(&paths::key(&path, self.ignore_case))
            },
        })
    }

    /// `GetFileSecurity`: the SDDL of the parts `information` asks for of the open file's
    /// descriptor, and where it came from: the `get_security` handler's answer, or, without
    /// one, what [`FileSecurity`](mountkit_core::windows::security::FileSecurity) derives from
    /// its current metadata.
    pub fn file_security(
        &self,
        call: &Call,
        context: u64,
        information: u32,
    ) -> NtResult<(String, Source)> {
        let (whole, source) = self.whole_descriptor(call, context)?;
        Ok((restrict(&whole, information), source))
    }

    /// The open file's path and the SDDL of its whole descriptor.
    fn whole_descriptor(&self, call: &Call, context: u64) -> NtResult<(String, Source)> {
        let open = self.entry(context)?;
        let path = open.path();
        let stat = self.getattr(call, &path, open.user().map(|user| user.handle))?;
        let operation = Operation::GetSecurity { path };
        let answer = expect_reply!(self.call(call, operation), Target);
        Ok(answered_or_derived(answer, &self.security, &stat)?)
    }

    /// Gives a file just created through Windows (the open `context`) its descriptor when the
    /// filesystem stores descriptors, as [`store_new_security`] decides it from its directory's
    /// descriptor and what its creator asked for (`asked`, SDDL).
    pub(super) fn store_new_security(
        &self,
        call: &Call,
        context: u64,
        directory: bool,
        asked: Option<&str>,
    ) {
        if !self.persistent_acls {
            return;
        }
        let Ok(open) = self.entry(context) else {
            return;
        };
        let path = open.path();
        let parent_sddl = |parent: &str| {
            let stat = self.getattr(call, parent, None)?;
            let operation = Operation::GetSecurity {
                path: parent.to_owned(),
            };
            let answer = expect_reply!(self.call(call, operation), Target);
            answered_or_derived(answer, &self.security, &stat).map(|(sddl, _)| sddl)
        };
        let store = |sddl| {
            let operation = Operation::SetSecurity {
                path: path.clone(),
                sddl,
            };
            self.run(call, operation)
        };
        store_new_security(&path, directory, asked, &self.security, parent_sddl, store);
    }

    /// `SetFileSecurity`: the parts `information` names, as `changes` (their SDDL), merged into
    /// the open file's current descriptor ([`merge`]) and given whole to `set_security`.
    /// Without that handler the change succeeds and changes nothing where that loses nothing
    /// (the fixed descriptor, as on FAT, or a change to what the file has, which
    /// `same_descriptor` judges on the descriptors' SDDL), and fails otherwise, as on WinFsp
    /// ([`changed_or_dropped`]); with it, one that sets audit ACEs or a mandatory label, which
    /// are not kept, fails ([`keepable_change`]). A failure is `STATUS_NOT_SUPPORTED`, which
    /// Dokan's library passes on to programs as `STATUS_INVALID_PARAMETER`.
    pub fn set_file_security(
        &self,
        call: &Call,
        context: u64,
        information: u32,
        changes: &str,
        same_descriptor: impl FnOnce(&str, &str) -> bool,
    ) -> NtResult<()> {
        self.writable()?;
        if self.persistent_acls {
            keepable_change(information, changes)?;
        }
        let (current, reported) = self.whole_descriptor(call, context)?;
        let merged = merge(&current, information, changes);
        let operation = Operation::SetSecurity {
            path: self.entry(context)?.path(),
            sddl: merged.clone(),
        };
        let answer = self.run(call, operation);
        let unchanged = || same_descriptor(&merged, &current);
        Ok(changed_or_dropped(
            answer,
            reported,
            &self.security,
            information,
            changes,
            unchanged,
        )?)
    }

    /// `SetFileAttributes`: the read-only attribute also becomes a `chmod` (see
    /// [`apply_attributes`]), so POSIX clients agree; every flag (read-only, hidden, system,
    /// archive, not-content-indexed, offline), when they differ from what the handler reports,
    /// goes to `set_attributes`, which a filesystem without that handler leaves as it reports
    /// them ([`DokanFs::set_attributes`]). Bits that say what the file is or how Windows
    /// stores it (directory, temporary, compressed...) are ignored, as by NTFS. 0 and
    /// `INVALID_FILE_ATTRIBUTES` change nothing.
    pub fn set_file_attributes(
        &self,
        call: &Call,
        context: u64,
        file_attributes: u32,
    ) -> NtResult<()> {
        self.writable()?;
        let open = self.entry(context)?;
        let path = open.path();
        let stat = self.getattr(call, &path, open.user().map(|user| user.handle))?;
        Ok(self.store_attributes(call, &path, &stat, file_attributes)?)
    }

    /// `file_attributes` given to the file at `path`, which has `stat`, as
    /// [`DokanFs::set_file_attributes`] describes: a `chmod` for read-only, `set_attributes`
    /// for flags that differ from what the handler reports.
    pub(super) fn store_attributes(
        &self,
        call: &Call,
        path: &str,
        stat: &Stat,
        file_attributes: u32,
    ) -> FsResult<()> {
        let (flags, mode) = apply_attributes(stat, file_attributes);
        if let Some(mode) = mode {
            self.run(
                call,
                Operation::Chmod {
                    path: path.to_owned(),
                    mode,
                },
            )?;
        }
        if flags != stat.windows {
            self.set_attributes(call, path, Some(flags), None)?;
        }
        Ok(())
    }

    /// `SetFileTime`: `utimens` with the last access and last write times that are given
    /// and meaningful, and `set_attributes` with the creation time; 0 and the negative
    /// FILETIMEs (-1, -2) leave a time unchanged, and a request that changes nothing sends
    /// nothing. A filesystem without `set_attributes` keeps its creation time.
    pub fn set_file_time(&self, call: &Call, context: u64, times: &FileTimes) -> NtResult<()> {
        let open = self.entry(context)?;
        let birthtime = times.creation.and_then(requested_time).map(SetTime::At);
        let atime = times.last_access.and_then(requested_time).map(SetTime::At);
        let mtime = times.last_write.and_then(requested_time).map(SetTime::At);
        if birthtime.is_none() && atime.is_none() && mtime.is_none() {
            return Ok(());
        }
        self.writable()?;
        let path = open.path();
        if birthtime.is_some() {
            self.set_attributes(call, &path, None, birthtime)?;
        }
        if atime.is_none() && mtime.is_none() {
            return Ok(());
        }
        let utimens = Operation::Utimens { path, atime, mtime };
        Ok(self.run(call, utimens)?)
    }

    /// `set_attributes` of `path`. A filesystem without the handler (`ENOSYS`) is not an
    /// error: it reports what it reports, and a Windows program setting attributes on it
    /// succeeds as it did before the handler existed.
    pub(super) fn set_attributes(
        &self,
        call: &Call,
        path: &str,
        attributes: Option<WindowsAttributes>,
        birthtime: Option<SetTime>,
    ) -> FsResult<()> {
        let operation = Operation::SetAttributes {
            path: path.to_owned(),
            attributes,
            birthtime,
        };
        match self.run(call, operation) {
            Err(Errno::ENOSYS) => Ok(()),
            result => result,
        }
    }

    /// `SetEndOfFile`: `truncate` to `length` through the open's handle.
    pub fn set_end_of_file(&self, call: &Call, context: u64, length: i64) -> NtResult<()> {
        self.writable()?;
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_INVALID_DEVICE_REQUEST));
        }
        let size = u64::try_from(length).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?;
        let truncate = Operation::Truncate {
            path: open.path(),
            size,
            handle: open.user().map(|user| user.handle),
        };
        Ok(self.run(call, truncate)?)
    }

    /// `SetAllocationSize`: an allocation below the file's size cuts the file to it
    /// (`truncate`), as on NTFS; a larger one is accepted without reserving space, since
    /// mountkit filesystems allocate as they write.
    pub fn set_allocation_size(&self, call: &Call, context: u64, allocation: i64) -> NtResult<()> {
        self.writable()?;
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_INVALID_DEVICE_REQUEST));
        }
        let allocation =
            u64::try_from(allocation).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?;
        let path = open.path();
        let handle = open.user().map(|user| user.handle);
        if allocation < self.getattr(call, &path, handle)?.size {
            self.run(
                call,
                Operation::Truncate {
                    path,
                    size: allocation,
                    handle,
                },
            )?;
        }
        Ok(())
    }

    /// `FindStreams`: a file has exactly its unnamed data stream, `::$DATA`, whose size is
    /// the file's; a directory has no stream and gets `STATUS_END_OF_FILE`, as Dokan expects.
    pub fn find_streams(&self, call: &Call, context: u64) -> NtResult<Vec<StreamEntry>> {
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_END_OF_FILE));
        }
        let stat = self.getattr(call, &open.path(), open.user().map(|user| user.handle))?;
        Ok(vec![StreamEntry {
            name: "::$DATA".into(),
            size: stat.size,
        }])
    }
}
