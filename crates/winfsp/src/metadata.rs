//! File information, attributes, times, sizes, security and the volume: GetSecurityByName,
//! GetSecurity, SetSecurity, GetFileInfo, SetBasicInfo, SetFileSize, GetVolumeInfo and
//! SetVolumeLabel.

use log::error;
use mountkit_core::windows::attributes::{FILE_ATTRIBUTE_NORMAL, INVALID_FILE_ATTRIBUTES};
use mountkit_core::windows::ntstatus::{STATUS_INVALID_PARAMETER, STATUS_IO_DEVICE_ERROR};
use mountkit_core::windows::security::{
    answered_or_derived, changed_or_dropped, keepable_change, merge, store_new_security, Source,
};
use mountkit_core::windows::{apply_attributes, requested_time, until_nul};
use mountkit_core::{Errno, FsResult, Operation, RequestContext, SetTime, Stat, WindowsAttributes};

use crate::engine::{reply, windows_path, Engine, NtError, NtResult};
use crate::fsctl::{FileInfo, VolumeInfo};
use crate::info::volume_info;

/// The longest volume label Windows accepts, in UTF-16 units.
const MAX_LABEL_UNITS: usize = 32;

impl Engine {
    /// WinFsp's GetSecurityByName, which WinFsp calls before every create and open to check
    /// access and to learn whether the name exists: the name looked up ([`Engine::find`]:
    /// without regard to case on a case-insensitive volume), answered as file attributes and
    /// the path the handler knows and the file's metadata, from which [`Engine::descriptor`]
    /// builds its security descriptor.
    /// A missing name is `STATUS_OBJECT_NAME_NOT_FOUND`, or `STATUS_OBJECT_PATH_NOT_FOUND`
    /// when its directory is missing too. What the lookup found is remembered for the Create
    /// or Open of the same request (`hint`).
    pub(crate) fn security_by_name(
        &self,
        cx: RequestContext,
        name: &[u16],
        hint: Option<u64>,
    ) -> NtResult<(u32, String, Stat)> {
        let path = windows_path(name)?;
        let found = self.find(cx, &path, None).map_err(NtError::from)?;
        // WinFsp answers an open of a missing name with this status, so a name in a missing
        // directory must say so, as NTFS does.
        let secured = match &found.stat {
            Some(stat) => Ok((
                self.info_at(cx, &found.path, stat).file_attributes,
                found.path.clone(),
                stat.clone(),
            )),
            None => Err(self.missing_status(cx, &found)),
        };
        self.remember(hint, &path, found);
        secured
    }

    /// The SDDL of the whole descriptor of the file at `path` with `stat`: what the
    /// `get_security` handler answers, or, without one, what
    /// [`EngineOptions::security`](crate::engine::EngineOptions) derives from `stat`.
    fn file_sddl(&self, cx: RequestContext, path: &str, stat: &Stat) -> NtResult<(String, Source)> {
        let operation = Operation::GetSecurity {
            path: path.to_owned(),
        };
        let answer = reply!(self.call(cx, operation), Target);
        answered_or_derived(answer, &self.options.security, stat).map_err(NtError::from)
    }

    /// The self-relative security descriptor of the file at `path` with `stat`
    /// ([`Engine::file_sddl`]). SDDL Windows refuses is logged, saying whose it was, and
    /// answered `STATUS_IO_DEVICE_ERROR`.
    pub(crate) fn descriptor(
        &self,
        cx: RequestContext,
        path: &str,
        stat: &Stat,
    ) -> NtResult<Vec<u8>> {
        let (sddl, source) = self.file_sddl(cx, path, stat)?;
        (self.options.descriptor_of)(&sddl).map_err(|detail| {
            match source {
                Source::Handler => error!(
                    "{detail}: getSecurity returned it for {path}; return the owner, group and \
                     DACL in SDDL"
                ),
                Source::Derived => error!("{detail}: a bug in mountkit, please report it"),
            }
            NtError(STATUS_IO_DEVICE_ERROR)
        })
    }

    /// The path and current metadata of an open file (`getattr`, through the handle for a
    /// file).
    fn open_stat(&self, cx: RequestContext, id: u64) -> NtResult<(String, Stat)> {
        let ctx = self.context(id)?;
        let handle = ctx.handle.filter(|_| !ctx.is_directory());
        let path = ctx.path();
        let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
        Ok((path, stat))
    }

    /// WinFsp's GetSecurity: the security descriptor of an open file, from its current
    /// metadata.
    pub(crate) fn file_security(&self, cx: RequestContext, id: u64) -> NtResult<Vec<u8>> {
        let (path, stat) = self.open_stat(cx, id)?;
        self.descriptor(cx, &path, &stat)
    }

    /// Gives a file just created through Windows its descriptor when the filesystem stores
    /// descriptors ([`EngineOptions::persistent_acls`](crate::engine::EngineOptions)), as
    /// [`store_new_security`] decides it from its directory's descriptor and what its creator
    /// asked for (`asked`, SDDL).
    pub(crate) fn store_new_security(
        &self,
        cx: RequestContext,
        path: &str,
        directory: bool,
        asked: Option<&str>,
    ) {
        if !self.options.persistent_acls {
            return;
        }
        let parent_sddl = |parent: &str| {
            let stat = self.getattr(cx, parent, None)?;
            let operation = Operation::GetSecurity {
                path: parent.to_owned(),
            };
            let answer = reply!(self.call(cx, operation), Target);
            answered_or_derived(answer, &self.options.security, &stat).map(|(sddl, _)| sddl)
        };
        let store = |sddl| {
            let operation = Operation::SetSecurity {
                path: path.to_owned(),
                sddl,
            };
            self.run(cx, operation)
        };
        let security = &self.options.security;
        store_new_security(path, directory, asked, security, parent_sddl, store);
    }

    /// WinFsp's SetSecurity: the parts `information` names, as `changes` (their SDDL), merged
    /// into the file's current descriptor ([`merge`]) and given whole to `set_security`.
    /// Without that handler the change succeeds and changes nothing where that loses nothing
    /// (the fixed descriptor, as on FAT, or a change to what the file has), and is refused with
    /// `STATUS_NOT_SUPPORTED` otherwise ([`changed_or_dropped`]); with it, one that sets audit ACEs or a mandatory label, which
    /// are not kept, fails with `STATUS_NOT_SUPPORTED` ([`keepable_change`]); on a read-only
    /// volume the answer is that it is write protected.
    pub(crate) fn set_security(
        &self,
        cx: RequestContext,
        id: u64,
        information: u32,
        changes: &str,
    ) -> NtResult<()> {
        self.writable()?;
        if self.options.persistent_acls {
            keepable_change(information, changes).map_err(NtError::from)?;
        }
        let (path, stat) = self.open_stat(cx, id)?;
        let (current, reported) = self.file_sddl(cx, &path, &stat)?;
        let merged = merge(&current, information, changes);
        let operation = Operation::SetSecurity {
            path,
            sddl: merged.clone(),
        };
        let answer = self.run(cx, operation);
        // Compared as Windows stores them, so aliases and hexadecimal masks match their SIDs
        // and named rights.
        let descriptor_of = self.options.descriptor_of;
        let unchanged = || match (descriptor_of(&merged), descriptor_of(&current)) {
            (Ok(merged), Ok(current)) => merged == current,
            _ => false,
        };
        let security = &self.options.security;
        changed_or_dropped(answer, reported, security, information, changes, unchanged)
            .map_err(NtError::from)
    }

    /// WinFsp's GetFileInfo: `getattr` of the handle's path, through the handle for a file.
    pub(crate) fn file_info(&self, cx: RequestContext, id: u64) -> NtResult<FileInfo> {
        let ctx = self.context(id)?;
        let handle = ctx.handle.filter(|_| !ctx.is_directory());
        let path = ctx.path();
        let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
        Ok(self.info_at(cx, &path, &stat))
    }

    /// WinFsp's SetBasicInfo: changes attributes and times, then reports the new information
    /// ([`Engine::info_at`]: a link to a directory stays a directory link).
    ///
    /// - `file_attributes` of `INVALID_FILE_ATTRIBUTES` leaves attributes alone: WinFsp's
    ///   driver sends it for a caller's 0 ("unchanged" in `FILE_BASIC_INFORMATION`), and sends 0
    ///   for a caller's `FILE_ATTRIBUTE_NORMAL` (it clears that bit from what it passes on), so
    ///   0 clears every attribute. Otherwise the attributes are stored as
    ///   [`Engine::store_attributes`] describes.
    /// - Creation time becomes the birth time of `set_attributes`, in the same request as the
    ///   attributes; last access and last write times become `utimens` (0 and the special
    ///   negative values leave a time alone, see [`requested_time`]). The change time is not
    ///   set: it records the file's last change, which the filesystem keeps itself, as POSIX
    ///   has no call that sets it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn set_basic_info(
        &self,
        cx: RequestContext,
        id: u64,
        file_attributes: u32,
        creation_time: u64,
        last_access_time: u64,
        last_write_time: u64,
    ) -> NtResult<FileInfo> {
        self.writable()?;
        let ctx = self.context(id)?;
        let path = ctx.path();
        let handle = ctx.handle.filter(|_| !ctx.is_directory());
        let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
        let wanted = match file_attributes {
            INVALID_FILE_ATTRIBUTES => None,
            0 => Some(FILE_ATTRIBUTE_NORMAL),
            attributes => Some(attributes),
        };
        let birthtime = requested_time(creation_time).map(SetTime::At);
        let mut changed = self.store_attributes(cx, &path, &stat, wanted, birthtime)?;
        let atime = requested_time(last_access_time).map(SetTime::At);
        let mtime = requested_time(last_write_time).map(SetTime::At);
        if atime.is_some() || mtime.is_some() {
            let utimens = Operation::Utimens {
                path: path.clone(),
                atime,
                mtime,
            };
            self.run(cx, utimens).map_err(NtError::from)?;
            changed = true;
        }
        if !changed {
            return Ok(self.info_at(cx, &path, &stat));
        }
        let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
        Ok(self.info_at(cx, &path, &stat))
    }

    /// Stores the attributes `wanted` (`None`: leave them) and the creation time `birthtime`
    /// for `path`, whose metadata is `stat`. Whether anything changed.
    ///
    /// Read-only becomes the file's write permission (`chmod`, as [`apply_attributes`]
    /// decides), so POSIX clients agree. The flags, when they differ from what `stat` reports,
    /// and the birth time go to `set_attributes` in one request; a filesystem without that
    /// handler keeps what it reports, as NTFS would not, but as a filesystem that cannot store
    /// them must ([`Engine::set_attributes`]).
    pub(crate) fn store_attributes(
        &self,
        cx: RequestContext,
        path: &str,
        stat: &Stat,
        wanted: Option<u32>,
        birthtime: Option<SetTime>,
    ) -> NtResult<bool> {
        let mut changed = false;
        let mut flags = None;
        if let Some(wanted) = wanted {
            let (wanted_flags, mode) = apply_attributes(stat, wanted);
            if let Some(mode) = mode {
                let chmod = Operation::Chmod {
                    path: path.to_owned(),
                    mode,
                };
                self.run(cx, chmod).map_err(NtError::from)?;
                changed = true;
            }
            flags = (wanted_flags != stat.windows).then_some(wanted_flags);
        }
        if flags.is_some() || birthtime.is_some() {
            changed |= self
                .set_attributes(cx, path, flags, birthtime)
                .map_err(NtError::from)?;
        }
        Ok(changed)
    }

    /// `set_attributes` of `path`: whether the filesystem stored them. One without the handler
    /// (`ENOSYS`) is not an error: it reports what it reports, and a Windows program setting
    /// attributes on it succeeds as it did before the handler existed.
    pub(crate) fn set_attributes(
        &self,
        cx: RequestContext,
        path: &str,
        attributes: Option<WindowsAttributes>,
        birthtime: Option<SetTime>,
    ) -> FsResult<bool> {
        let operation = Operation::SetAttributes {
            path: path.to_owned(),
            attributes,
            birthtime,
        };
        match self.run(cx, operation) {
            Ok(()) => Ok(true),
            Err(Errno::ENOSYS) => Ok(false),
            Err(errno) => Err(errno),
        }
    }

    /// WinFsp's SetFileSize.
    ///
    /// - Setting the file size (`allocation` false) is `truncate` through the handle, which
    ///   extends or shortens the file.
    /// - Setting the allocation size only matters when it is below the file size, which it
    ///   then cuts (`truncate`), as Windows file systems do; a larger allocation is not
    ///   reserved, since handlers have no notion of it, and the allocation size reported stays
    ///   the file size rounded up to an allocation unit.
    pub(crate) fn set_file_size(
        &self,
        cx: RequestContext,
        id: u64,
        size: u64,
        allocation: bool,
    ) -> NtResult<FileInfo> {
        self.writable()?;
        let ctx = self.context(id)?;
        let path = ctx.path();
        let handle = ctx.handle;
        if allocation {
            let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
            if size >= stat.size {
                return Ok(self.info(&stat));
            }
        }
        let truncate = Operation::Truncate {
            path: path.clone(),
            size,
            handle,
        };
        self.run(cx, truncate).map_err(NtError::from)?;
        let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
        Ok(self.info(&stat))
    }

    /// WinFsp's GetVolumeInfo: `statfs` of `/`, with the current label.
    pub(crate) fn volume_info(&self, cx: RequestContext) -> NtResult<VolumeInfo> {
        let statfs = Operation::Statfs {
            path: "/".to_owned(),
        };
        let statfs = reply!(self.call(cx, statfs), StatFs).map_err(NtError::from)?;
        Ok(volume_info(&statfs, &self.label.lock()))
    }

    /// WinFsp's SetVolumeLabel: the label is kept by the mount, for as long as it lasts (no
    /// operation carries labels to handlers). A label of more than 32 UTF-16 units, or one that
    /// is not valid UTF-16, is `STATUS_INVALID_PARAMETER`.
    pub(crate) fn set_volume_label(
        &self,
        cx: RequestContext,
        label: &[u16],
    ) -> NtResult<VolumeInfo> {
        self.writable()?;
        let label = until_nul(label);
        if label.len() > MAX_LABEL_UNITS {
            return Err(NtError(STATUS_INVALID_PARAMETER));
        }
        let label = String::from_utf16(label).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?;
        *self.label.lock() = label;
        self.volume_info(cx)
    }
}
