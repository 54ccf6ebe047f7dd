//! The volume: GetVolumeInformation and GetDiskFreeSpace.

use mountkit_core::windows::ntstatus::STATUS_NOT_IMPLEMENTED;
use mountkit_core::{expect_reply, Errno, Operation};

use crate::config::VolumeInfo;

use super::{Call, DokanFs, NtError, NtResult};

/// What `GetDiskFreeSpace` reports, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSpace {
    /// Free space available to the caller.
    pub free_bytes_available: u64,
    /// Total size of the volume.
    pub total_bytes: u64,
    /// Free space on the volume.
    pub total_free_bytes: u64,
}

impl DokanFs {
    /// What `GetVolumeInformation` reports.
    pub fn volume(&self) -> &VolumeInfo {
        &self.volume
    }

    /// `GetDiskFreeSpace`: `statfs` of the root, in bytes of the fragment size (or block
    /// size when the fragment size is 0). A filesystem without `statfs` (`ENOSYS`), or one
    /// reporting a volume of 0 blocks, gets `STATUS_NOT_IMPLEMENTED`, on which Dokan reports
    /// its own defaults.
    pub fn disk_free_space(&self, call: &Call) -> NtResult<DiskSpace> {
        let statfs = Operation::Statfs { path: "/".into() };
        let fs = match expect_reply!(self.call(call, statfs), StatFs) {
            Ok(fs) if fs.blocks > 0 => fs,
            Ok(_) | Err(Errno::ENOSYS) => return Err(NtError(STATUS_NOT_IMPLEMENTED)),
            Err(e) => return Err(e.into()),
        };
        let unit = u64::from(if fs.fragment_size != 0 {
            fs.fragment_size
        } else {
            fs.block_size
        });
        Ok(DiskSpace {
            free_bytes_available: fs.blocks_available.saturating_mul(unit),
            total_bytes: fs.blocks.saturating_mul(unit),
            total_free_bytes: fs.blocks_free.saturating_mul(unit),
        })
    }
}
