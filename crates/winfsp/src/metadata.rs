//! File information, attributes, times, sizes and the volume: GetSecurityByName,
//! GetFileInfo, SetBasicInfo, SetFileSize, GetVolumeInfo and SetVolumeLabel.

use log::error;
use mountkit_core::windows::attributes::{FILE_ATTRIBUTE_NORMAL, INVALID_FILE_ATTRIBUTES};
use mountkit_core::windows::ntstatus::{
    STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_PARAMETER, STATUS_IO_DEVICE_ERROR,
};
use mountkit_core::windows::{apply_attributes, requested_time, until_nul};
use mountkit_core::{Operation, RequestContext, SetTime, Stat};

use crate::engine::{reply, windows_path, Engine, NtError, NtResult};
use crate::fsctl::{FileInfo, VolumeInfo};
use crate::info::volume_info;

/// The longest volume label Windows accepts, in UTF-16 units.
const MAX_LABEL_UNITS: usize = 32;

impl Engine {
    /// WinFsp's GetSecurityByName, which WinFsp calls before every create and open to check
    /// access and to learn whether the name exists: the name looked up ([`Engine::find`]:
    /// without regard to case on a case-insensitive volume), answered as file attributes and
    /// the file's metadata, from which [`Engine::descriptor`] builds its security descriptor.
    /// A missing name is `STATUS_OBJECT_NAME_NOT_FOUND`, or `STATUS_OBJECT_PATH_NOT_FOUND`
    /// when its directory is missing too. What the lookup found is remembered for the Create
    /// or Open of the same request (`hint`).
    pub(crate) fn security_by_name(
        &self,
        cx: RequestContext,
        name: &[u16],
        hint: Option<u64>,
    ) -> NtResult<(u32, Stat)> {
        let path = windows_path(name)?;
        let found = self.find(cx, &path, None).map_err(NtError::from)?;
        // WinFsp answers an open of a missing name with this status, so a name in a missing
        // directory must say so, as NTFS does.
        let secured = match &found.stat {
            Some(stat) => Ok((self.info(stat).file_attributes, stat.clone())),
            None => Err(self.missing_status(cx, &found)),
        };
        self.remember(hint, &path, found);
        secured
    }

    /// The self-relative security descriptor of a file with `stat`
    /// ([`EngineOptions::security`](crate::engine::EngineOptions)). Windows refusing to build
    /// it is a defect of mountkit's, logged and answered `STATUS_IO_DEVICE_ERROR`.
    pub(crate) fn descriptor(&self, stat: &Stat) -> NtResult<Vec<u8>> {
        (self.options.descriptor_of)(&self.options.security.sddl(stat)).map_err(|detail| {
            error!("{detail}");
            NtError(STATUS_IO_DEVICE_ERROR)
        })
    }

    /// WinFsp's GetSecurity: the security descriptor of an open file, from its current
    /// metadata (`getattr` of the handle's path, through the handle for a file).
    pub(crate) fn file_security(&self, cx: RequestContext, id: u64) -> NtResult<Vec<u8>> {
        let ctx = self.context(id)?;
        let handle = ctx.handle.filter(|_| !ctx.is_directory());
        let stat = self
            .getattr(cx, &ctx.path(), handle)
            .map_err(NtError::from)?;
        self.descriptor(&stat)
    }

    /// WinFsp's SetSecurity: descriptors are not forwarded to handlers, so none can be
    /// changed (`STATUS_INVALID_DEVICE_REQUEST`); on a read-only volume the answer is that it
    /// is write protected.
    pub(crate) fn set_security(&self) -> NtResult<()> {
        self.writable()?;
        Err(NtError(STATUS_INVALID_DEVICE_REQUEST))
    }

    /// WinFsp's GetFileInfo: `getattr` of the handle's path, through the handle for a file.
    pub(crate) fn file_info(&self, cx: RequestContext, id: u64) -> NtResult<FileInfo> {
        let ctx = self.context(id)?;
        let handle = ctx.handle.filter(|_| !ctx.is_directory());
        let stat = self
            .getattr(cx, &ctx.path(), handle)
            .map_err(NtError::from)?;
        Ok(self.info(&stat))
    }

    /// WinFsp's SetBasicInfo: changes attributes and times, then reports the new information.
    ///
    /// - `file_attributes` of `INVALID_FILE_ATTRIBUTES` leaves attributes alone: WinFsp's
    ///   driver sends it for a caller's 0 ("unchanged" in `FILE_BASIC_INFORMATION`), and sends 0
    ///   for a caller's `FILE_ATTRIBUTE_NORMAL` (it clears that bit from what it passes on), so
    ///   0 clears every attribute. Otherwise the read-only attribute becomes the file's write
    ///   permission (`chmod`, as [`apply_attributes`] decides); hidden, system and archive
    ///   cannot be stored, since no operation carries them, and what is reported afterwards is
    ///   what the handler says.
    /// - Last access and last write times become `utimens` (0 and the special negative values
    ///   leave a time alone, see [`requested_time`]). Creation and change times cannot be set
    ///   through any operation, so they are not among the arguments.
    pub(crate) fn set_basic_info(
        &self,
        cx: RequestContext,
        id: u64,
        file_attributes: u32,
        last_access_time: u64,
        last_write_time: u64,
    ) -> NtResult<FileInfo> {
        self.writable()?;
        let ctx = self.context(id)?;
        let path = ctx.path();
        let handle = ctx.handle.filter(|_| !ctx.is_directory());
        let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
        let mut changed = false;
        if file_attributes != INVALID_FILE_ATTRIBUTES {
            let wanted = match file_attributes {
                0 => FILE_ATTRIBUTE_NORMAL,
                attributes => attributes,
            };
            changed = self.store_attributes(cx, &path, &stat, wanted)?;
        }
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
            return Ok(self.info(&stat));
        }
        let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
        Ok(self.info(&stat))
    }

    /// Stores the attributes `wanted` for `path`, whose metadata is `stat`: of them only
    /// read-only can be stored, as the file's write permission (`chmod`, as
    /// [`apply_attributes`] decides). Whether anything changed.
    pub(crate) fn store_attributes(
        &self,
        cx: RequestContext,
        path: &str,
        stat: &Stat,
        wanted: u32,
    ) -> NtResult<bool> {
        let Some(mode) = apply_attributes(stat, wanted).1 else {
            return Ok(false);
        };
        let chmod = Operation::Chmod {
            path: path.to_owned(),
            mode,
        };
        self.run(cx, chmod).map_err(NtError::from)?;
        Ok(true)
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
