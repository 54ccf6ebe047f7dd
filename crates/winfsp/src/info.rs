//! What Windows is told about files and the volume, from what handlers report.

use mountkit_core::windows::attributes::{FILE_ATTRIBUTE_NORMAL, IO_REPARSE_TAG_SYMLINK};
use mountkit_core::windows::{attributes_from_stat, filetime_from_system_time};
use mountkit_core::{FileKind, Stat, StatFs};

use crate::fsctl::{FileInfo, VolumeInfo};

/// The file information of a file described by `stat`, on a volume whose allocation unit is
/// `allocation_unit` bytes.
///
/// - Attributes come from [`attributes_from_stat`] (`FILE_ATTRIBUTE_NORMAL` when nothing
///   applies). A symbolic link has `FILE_ATTRIBUTE_REPARSE_POINT` and the reparse tag
///   `IO_REPARSE_TAG_SYMLINK`; whether it is a directory link needs its target, which
///   [`Engine::info_at`](crate::engine::Engine::info_at) looks up.
/// - A directory has size and allocation size 0, as on NTFS. A file's allocation size is its
///   size rounded up to a whole allocation unit.
/// - Creation, access, write and change times are `birthtime`, `atime`, `mtime` and `ctime`.
/// - The index number is the handler's `ino` (0 when it gave none).
pub(crate) fn file_info(stat: &Stat, allocation_unit: u64) -> FileInfo {
    let mut attributes = attributes_from_stat(stat);
    if attributes == 0 {
        attributes = FILE_ATTRIBUTE_NORMAL;
    }
    let size = if stat.kind == FileKind::Directory {
        0
    } else {
        stat.size
    };
    let unit = allocation_unit.max(1);
    FileInfo {
        file_attributes: attributes,
        reparse_tag: if stat.kind == FileKind::Symlink {
            IO_REPARSE_TAG_SYMLINK
        } else {
            0
        },
        allocation_size: size.div_ceil(unit).saturating_mul(unit),
        file_size: size,
        creation_time: filetime_from_system_time(stat.birthtime),
        last_access_time: filetime_from_system_time(stat.atime),
        last_write_time: filetime_from_system_time(stat.mtime),
        change_time: filetime_from_system_time(stat.ctime),
        index_number: stat.ino,
        hard_links: 0,
        ea_size: 0,
    }
}

/// The volume information for `statfs` and the volume `label`.
///
/// The total size is `blocks` fragments and the free size `blocks_available` fragments (what an
/// unprivileged user may still use), with the fragment size taken as the block size when the
/// handler reports 0; both saturate rather than overflow. The label is cut to the 32 UTF-16
/// units Windows allows, never in the middle of a surrogate pair.
pub(crate) fn volume_info(statfs: &StatFs, label: &str) -> VolumeInfo {
    let fragment = match statfs.fragment_size {
        0 => u64::from(statfs.block_size),
        size => u64::from(size),
    };
    let mut info = VolumeInfo {
        total_size: statfs.blocks.saturating_mul(fragment),
        free_size: statfs.blocks_available.saturating_mul(fragment),
        volume_label_length: 0,
        volume_label: [0; 32],
    };
    let mut units = 0;
    for ch in label.chars() {
        let mut buffer = [0; 2];
        let encoded = ch.encode_utf16(&mut buffer);
        if units + encoded.len() > info.volume_label.len() {
            break;
        }
        info.volume_label[units..units + encoded.len()].copy_from_slice(encoded);
        units += encoded.len();
    }
    info.volume_label_length = (units * 2) as u16;
    info
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use mountkit_core::windows::attributes::{
        FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_READONLY,
        FILE_ATTRIBUTE_REPARSE_POINT,
    };
    use mountkit_core::windows::UNIX_EPOCH_FILETIME;

    use super::*;

    #[test]
    fn files_report_sizes_rounded_to_the_allocation_unit() {
        let mut stat = Stat::new(FileKind::File);
        stat.size = 5000;
        stat.ino = 77;
        stat.mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
        let info = file_info(&stat, 4096);
        assert_eq!(info.file_attributes, FILE_ATTRIBUTE_NORMAL);
        assert_eq!(info.file_size, 5000);
        assert_eq!(info.allocation_size, 8192);
        assert_eq!(info.index_number, 77);
        assert_eq!(info.last_write_time, UNIX_EPOCH_FILETIME + 10_000_000);
        assert_eq!(info.creation_time, UNIX_EPOCH_FILETIME);
        stat.size = 4096;
        assert_eq!(file_info(&stat, 4096).allocation_size, 4096);
        stat.size = 0;
        assert_eq!(file_info(&stat, 4096).allocation_size, 0);
    }

    #[test]
    fn directories_have_no_size() {
        let mut stat = Stat::new(FileKind::Directory);
        stat.size = 4096;
        let info = file_info(&stat, 4096);
        assert_eq!(info.file_attributes, FILE_ATTRIBUTE_DIRECTORY);
        assert_eq!((info.file_size, info.allocation_size), (0, 0));
    }

    #[test]
    fn symlinks_are_reparse_points() {
        let mut link = Stat::new(FileKind::Symlink);
        link.mode = 0o777;
        assert_eq!(
            file_info(&link, 4096).file_attributes,
            FILE_ATTRIBUTE_REPARSE_POINT
        );
        link.windows.hidden = true;
        assert_eq!(
            file_info(&link, 4096).file_attributes,
            FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_REPARSE_POINT
        );
        assert_eq!(file_info(&link, 4096).reparse_tag, IO_REPARSE_TAG_SYMLINK);
        assert_eq!(file_info(&Stat::new(FileKind::File), 4096).reparse_tag, 0);
    }

    #[test]
    fn read_only_files_say_so() {
        let mut stat = Stat::new(FileKind::File);
        stat.mode = 0o444;
        assert_eq!(
            file_info(&stat, 4096).file_attributes,
            FILE_ATTRIBUTE_READONLY
        );
    }

    #[test]
    fn volume_sizes_and_labels() {
        let statfs = StatFs {
            block_size: 4096,
            fragment_size: 1024,
            blocks: 100,
            blocks_free: 60,
            blocks_available: 50,
            ..StatFs::default()
        };
        let info = volume_info(&statfs, "data");
        assert_eq!(info.total_size, 102_400);
        assert_eq!(info.free_size, 51_200);
        assert_eq!(info.volume_label_length, 8);
        assert_eq!(&info.volume_label[..4], &[100, 97, 116, 97]);

        let unfragmented = StatFs {
            fragment_size: 0,
            ..statfs
        };
        assert_eq!(volume_info(&unfragmented, "").total_size, 409_600);
        let huge = StatFs {
            blocks: u64::MAX,
            ..StatFs::default()
        };
        assert_eq!(volume_info(&huge, "").total_size, u64::MAX);
    }

    #[test]
    fn long_labels_are_cut_between_characters() {
        let info = volume_info(&StatFs::default(), &"x".repeat(40));
        assert_eq!(info.volume_label_length, 64);
        let emoji = format!("{}😀", "x".repeat(31));
        let info = volume_info(&StatFs::default(), &emoji);
        assert_eq!(
            info.volume_label_length, 62,
            "the pair does not fit in one unit"
        );
    }
}
