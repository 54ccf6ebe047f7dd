//! The volume a mount creates: [`WindowsOptions`] turned into WinFsp's volume parameters.

use std::time::Duration;

use mountkit_core::windows::names::MAX_COMPONENT_UNITS;
use mountkit_core::windows::{
    label_share_prefix, DriveType, InvalidOption, MountPoint, WindowsOptions,
};

use crate::fsctl::{volume_flags as flag, VolumeParams};

/// The WinFsp control device of a local disk volume (`FSP_FSCTL_DISK_DEVICE_NAME`).
pub(crate) const DISK_DEVICE: &str = "WinFsp.Disk";
/// The WinFsp control device of a network volume (`FSP_FSCTL_NET_DEVICE_NAME`).
pub(crate) const NET_DEVICE: &str = "WinFsp.Net";

/// WinFsp's bounds on the IRP timeout, in milliseconds (`FspFsctlIrpTimeoutMinimum` and
/// `FspFsctlIrpTimeoutMaximum`).
const IRP_TIMEOUT_MS: (u64, u64) = (60_000, 600_000);

/// The longest chain of handler calls that one WinFsp request waits for: creating a directory
/// (WinFsp's lookups of the name and of its parent, then `mkdir`, `opendir` and `getattr`).
pub(crate) const LONGEST_CHAIN: u32 = 5;

/// How much longer than the request timeout a dispatcher thread waits for a handler's answer
/// before it gives up with `ETIMEDOUT`, so that the dispatcher behind the mount, which answers
/// by the request timeout, normally answers first.
pub(crate) const CALL_SLACK: Duration = Duration::from_secs(5);

/// How long a dispatcher thread waits for one handler answer: `request_timeout` plus
/// [`CALL_SLACK`].
pub(crate) fn call_timeout(request_timeout: Duration) -> Duration {
    request_timeout.saturating_add(CALL_SLACK)
}

/// Everything `FspFileSystemCreate` and `FspFileSystemSetMountPoint` need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VolumeSetup {
    /// [`DISK_DEVICE`] or [`NET_DEVICE`].
    pub device: &'static str,
    /// The volume parameters.
    pub params: VolumeParams,
    /// The mount point as `FspFileSystemSetMountPoint` takes it (`M:`, `*:` or a folder path;
    /// a share's drive letter); `None` for a share without one, which programs reach by its UNC
    /// path alone.
    pub mount_point: Option<String>,
}

/// How long the driver lets a request wait for a dispatcher thread to fetch it: [`LONGEST_CHAIN`]
/// handler calls of [`call_timeout`] each, plus ten seconds, within WinFsp's bounds of one to ten
/// minutes (185 seconds for the default 30-second request timeout). A request waits unfetched
/// while every dispatcher thread waits on handlers, each for at most such a chain, so the driver
/// does not fail it meanwhile (unless the request timeout is above about 113 seconds). Once
/// fetched, a request is never timed out by the driver (see `gate`).
pub(crate) fn irp_timeout(request_timeout: Duration) -> Duration {
    let wanted = call_timeout(request_timeout)
        .saturating_mul(LONGEST_CHAIN)
        .saturating_add(Duration::from_secs(10));
    let millis = u64::try_from(wanted.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(millis.clamp(IRP_TIMEOUT_MS.0, IRP_TIMEOUT_MS.1))
}

/// The volume for `options`, created at `now` (a FILETIME).
///
/// - Fails with the reason when [`WindowsOptions::validate`] or
///   [`WindowsOptions::check_mount_point`] does (a network drive on a folder); when the drive
///   type is [`DriveType::Removable`] (WinFsp volumes are fixed disks or network drives); when
///   the allocation unit holds more than 65535 sectors; and when a share's name is longer than
///   WinFsp's prefix allows.
/// - Names compare without case when `case_insensitive` is set, and always keep the case they
///   were created with. Names are Unicode; components may be 255 UTF-16 units long.
/// - Symbolic links are offered as reparse points (`ReparsePoints`); security descriptors are
///   said to be stored (`PersistentAcls`) only when `persistent_acls` is set; neither named
///   streams nor extended attributes are offered, and the volume is read-only if `read_only`
///   is set.
/// - WinFsp gives ReadDirectory the search pattern and asks GetDirInfoByName for searches
///   without wildcards; each callback receives the context of the handle it is about (not one
///   per file); every cleanup and every disposition change reaches the backend, which tracks
///   delete-on-close itself; Cleanup deletes a file only when its last handle goes.
/// - A share (`\\server\share`) is a network volume with the prefix `\server\share` on
///   WinFsp's network device, on its drive letter if it has one, else on none. A network drive
///   on a letter gets the prefix `\mountkit\<letter>`, and on `*` (whose letter is not known
///   yet) the one [`label_share_prefix`] makes of the volume label.
pub(crate) fn volume_setup(
    mount_point: &MountPoint,
    options: &WindowsOptions,
    now: u64,
) -> Result<VolumeSetup, InvalidOption> {
    options.validate()?;
    let sectors = options.allocation_unit_size / u32::from(options.sector_size);
    let sectors_per_allocation_unit = u16::try_from(sectors).map_err(|_| {
        InvalidOption::new(
            "allocationUnitSize",
            format!(
                "allocationUnitSize may be at most 65535 sectors of {} bytes, got {}",
                options.sector_size, options.allocation_unit_size
            ),
        )
    })?;
    options.check_mount_point(mount_point)?;
    let (device, prefix) = match (options.drive_type, mount_point) {
        (DriveType::Removable, _) => {
            return Err(InvalidOption::new(
                "driveType",
                "WinFsp cannot present a removable drive; use the fixed or network drive type",
            ))
        }
        (_, MountPoint::Share { .. }) => (NET_DEVICE, mount_point.unc_prefix().unwrap_or_default()),
        (DriveType::Fixed, _) => (DISK_DEVICE, String::new()),
        (DriveType::Network, MountPoint::Drive(letter)) => {
            (NET_DEVICE, format!("\\mountkit\\{letter}"))
        }
        (DriveType::Network, _) => (NET_DEVICE, label_share_prefix(&options.volume_label)),
    };

    let mut flags = flag::CASE_PRESERVED_NAMES
        | flag::UNICODE_ON_DISK
        | flag::PASS_QUERY_DIRECTORY_PATTERN
        | flag::PASS_QUERY_DIRECTORY_FILE_NAME
        | flag::UM_FILE_CONTEXT_IS_USER_CONTEXT2
        | flag::REPARSE_POINTS;
    if !options.case_insensitive {
        flags |= flag::CASE_SENSITIVE_SEARCH;
    }
    if options.read_only {
        flags |= flag::READ_ONLY_VOLUME;
    }
    if options.persistent_acls {
        flags |= flag::PERSISTENT_ACLS;
    }

    let mut params = VolumeParams {
        // 0 declares the first version of the structure, which every WinFsp release accepts;
        // none of the fields added later is used.
        version: 0,
        sector_size: options.sector_size,
        sectors_per_allocation_unit,
        max_component_length: MAX_COMPONENT_UNITS as u16,
        volume_creation_time: now,
        volume_serial_number: serial_number(now),
        irp_timeout: millis_u32(irp_timeout(options.request_timeout)),
        file_info_timeout: millis_u32(options.file_info_timeout),
        flags,
        ..VolumeParams::default()
    };
    let prefix_option = match mount_point {
        MountPoint::Share { .. } => "mountpoint",
        _ => "driveType",
    };
    copy_wide(&mut params.prefix, &prefix, prefix_option)?;
    copy_wide(
        &mut params.file_system_name,
        &options.file_system_name,
        "fsName",
    )?;
    Ok(VolumeSetup {
        device,
        params,
        mount_point: match mount_point {
            MountPoint::Share { drive: None, .. } => None,
            MountPoint::Share {
                drive: Some(letter),
                ..
            } => Some(MountPoint::Drive(*letter).to_windows_string()),
            _ => Some(mount_point.to_windows_string()),
        },
    })
}

/// A serial number that differs between mounts: the creation time's 100-ns ticks folded into
/// 32 bits.
fn serial_number(now: u64) -> u32 {
    (now ^ (now >> 32)) as u32
}

fn millis_u32(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

/// Copies `text`, the value of `option`, into a NUL-terminated UTF-16 array, failing if it
/// does not fit.
fn copy_wide(target: &mut [u16], text: &str, option: &'static str) -> Result<(), InvalidOption> {
    let units: Vec<u16> = text.encode_utf16().collect();
    if units.len() >= target.len() {
        return Err(InvalidOption::new(
            option,
            format!(
                "{option} {text:?} is longer than the {} UTF-16 units WinFsp allows",
                target.len() - 1
            ),
        ));
    }
    target[..units.len()].copy_from_slice(&units);
    target[units.len()..].fill(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The drive letter most tests mount on.
    const M: &MountPoint = &MountPoint::Drive('M');

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().collect()
    }

    #[test]
    fn the_default_options_make_a_case_insensitive_disk() {
        let setup = volume_setup(M, &WindowsOptions::default(), 133_000_000_000_000_000).unwrap();
        assert_eq!(setup.device, DISK_DEVICE);
        assert_eq!(setup.mount_point.as_deref(), Some("M:"));
        let p = &setup.params;
        assert_eq!(p.version, 0);
        assert_eq!(p.sector_size, 4096);
        assert_eq!(p.sectors_per_allocation_unit, 1);
        assert_eq!(p.max_component_length, 255);
        assert_eq!(p.volume_creation_time, 133_000_000_000_000_000);
        assert_eq!(p.file_info_timeout, 1000);
        assert_eq!(p.irp_timeout, 185_000, "5 × (30 s + 5 s) + 10 s");
        assert_eq!(p.flags & flag::CASE_SENSITIVE_SEARCH, 0);
        assert_ne!(p.flags & flag::CASE_PRESERVED_NAMES, 0);
        assert_ne!(p.flags & flag::UNICODE_ON_DISK, 0);
        assert_ne!(p.flags & flag::PASS_QUERY_DIRECTORY_PATTERN, 0);
        assert_ne!(p.flags & flag::PASS_QUERY_DIRECTORY_FILE_NAME, 0);
        assert_ne!(p.flags & flag::UM_FILE_CONTEXT_IS_USER_CONTEXT2, 0);
        assert_ne!(p.flags & flag::REPARSE_POINTS, 0);
        // Left clear on purpose: PersistentAcls (3, unless the filesystem stores descriptors),
        // ReparsePointsAccessCheck (5), NamedStreams (6), ReadOnlyVolume (9),
        // PostCleanupWhenModifiedOnly (10), FlushAndPurgeOnCleanup (14),
        // SupportsPosixUnlinkRename (29), PostDispositionWhenNecessaryOnly (30).
        for bit in [3, 5, 6, 9, 10, 14, 29, 30] {
            assert_eq!(p.flags & (1 << bit), 0, "bit {bit} is set");
        }
        let set = [1, 2, 4, 11, 13, 16];
        let expected: u32 = set.iter().map(|bit| 1 << bit).sum();
        assert_eq!(p.flags, expected, "exactly the documented bits");
        assert_eq!(&p.file_system_name[..8], &wide("mountkit")[..]);
        assert_eq!(p.file_system_name[8], 0);
        assert_eq!(p.prefix[0], 0);
    }

    #[test]
    fn options_reach_the_parameters() {
        let options = WindowsOptions {
            case_insensitive: false,
            read_only: true,
            sector_size: 512,
            allocation_unit_size: 64 * 1024,
            file_system_name: "NTFS".to_owned(),
            file_info_timeout: Duration::ZERO,
            persistent_acls: true,
            ..Default::default()
        };
        let p = volume_setup(M, &options, 1).unwrap().params;
        assert_ne!(p.flags & flag::CASE_SENSITIVE_SEARCH, 0);
        assert_ne!(p.flags & flag::PERSISTENT_ACLS, 0);
        assert_ne!(p.flags & flag::READ_ONLY_VOLUME, 0);
        assert_eq!(p.sector_size, 512);
        assert_eq!(p.sectors_per_allocation_unit, 128);
        assert_eq!(p.file_info_timeout, 0);
        assert_eq!(&p.file_system_name[..5], &[78, 84, 70, 83, 0]);
    }

    #[test]
    fn network_drives_get_a_prefix_and_the_net_device() {
        let options = WindowsOptions {
            drive_type: DriveType::Network,
            ..Default::default()
        };
        let setup = volume_setup(&MountPoint::Drive('Q'), &options, 1).unwrap();
        assert_eq!(setup.device, NET_DEVICE);
        let prefix = wide("\\mountkit\\Q");
        assert_eq!(&setup.params.prefix[..prefix.len()], &prefix[..]);
        assert_eq!(setup.params.prefix[prefix.len()], 0);
    }

    #[test]
    fn shares_are_network_volumes_without_a_drive_letter() {
        let share = MountPoint::parse("\\\\files\\team").unwrap();
        for drive_type in [DriveType::Fixed, DriveType::Network] {
            let options = WindowsOptions {
                drive_type,
                ..Default::default()
            };
            let setup = volume_setup(&share, &options, 1).unwrap();
            assert_eq!(setup.device, NET_DEVICE);
            assert_eq!(setup.mount_point, None);
            let prefix = wide("\\files\\team");
            assert_eq!(&setup.params.prefix[..prefix.len()], &prefix[..]);
            assert_eq!(setup.params.prefix[prefix.len()], 0);
        }
        let lettered = share.with_drive_letter("Q:").unwrap();
        let setup = volume_setup(&lettered, &WindowsOptions::default(), 1).unwrap();
        assert_eq!(setup.device, NET_DEVICE);
        assert_eq!(setup.mount_point.as_deref(), Some("Q:"));
        let prefix = wide("\\files\\team");
        assert_eq!(&setup.params.prefix[..prefix.len()], &prefix[..]);
        let long = MountPoint::parse(&format!("\\\\files\\{}", "x".repeat(200))).unwrap();
        let error = volume_setup(&long, &WindowsOptions::default(), 1).unwrap_err();
        assert_eq!(error.option, "mountpoint");
        assert!(error.message.contains("191 UTF-16 units"), "{error}");
    }

    #[test]
    fn the_next_free_letter_is_asked_for_as_winfsp_spells_it() {
        let setup =
            volume_setup(&MountPoint::NextFreeDrive, &WindowsOptions::default(), 1).unwrap();
        assert_eq!(setup.device, DISK_DEVICE);
        assert_eq!(setup.mount_point.as_deref(), Some("*:"));
        let network = WindowsOptions {
            drive_type: DriveType::Network,
            volume_label: "My Files".to_owned(),
            ..Default::default()
        };
        let setup = volume_setup(&MountPoint::NextFreeDrive, &network, 1).unwrap();
        assert_eq!(setup.device, NET_DEVICE);
        let prefix = wide("\\mountkit\\My_Files");
        assert_eq!(&setup.params.prefix[..prefix.len()], &prefix[..]);
        assert_eq!(setup.params.prefix[prefix.len()], 0);
    }

    #[test]
    fn impossible_combinations_are_refused() {
        let network = WindowsOptions {
            drive_type: DriveType::Network,
            ..Default::default()
        };
        let folder = MountPoint::Folder("C:\\mnt\\x".to_owned());
        assert!(volume_setup(&folder, &network, 1)
            .unwrap_err()
            .message
            .contains("drive letter"));
        let removable = WindowsOptions {
            drive_type: DriveType::Removable,
            ..Default::default()
        };
        assert!(volume_setup(M, &removable, 1)
            .unwrap_err()
            .message
            .contains("removable"));
        let huge_unit = WindowsOptions {
            sector_size: 512,
            allocation_unit_size: 512 * 65536,
            ..Default::default()
        };
        assert!(volume_setup(M, &huge_unit, 1)
            .unwrap_err()
            .message
            .contains("65535 sectors"));
        let bad_sector = WindowsOptions {
            sector_size: 1000,
            ..Default::default()
        };
        assert!(volume_setup(M, &bad_sector, 1)
            .unwrap_err()
            .message
            .contains("sectorSize"));
    }

    #[test]
    fn folder_mount_points_pass_through() {
        let folder = MountPoint::Folder("C:\\mnt\\demo".to_owned());
        assert_eq!(
            volume_setup(&folder, &WindowsOptions::default(), 1)
                .unwrap()
                .mount_point
                .as_deref(),
            Some("C:\\mnt\\demo")
        );
    }

    #[test]
    fn irp_timeouts_stay_within_winfsp_bounds() {
        assert_eq!(irp_timeout(Duration::from_secs(1)), Duration::from_secs(60));
        assert_eq!(
            irp_timeout(Duration::from_secs(30)),
            Duration::from_secs(185)
        );
        assert_eq!(
            irp_timeout(Duration::from_secs(113)),
            Duration::from_secs(600)
        );
        assert_eq!(
            irp_timeout(Duration::from_secs(3600)),
            Duration::from_secs(600)
        );
        assert_eq!(irp_timeout(Duration::MAX), Duration::from_secs(600));
        assert_eq!(
            call_timeout(Duration::from_secs(30)),
            Duration::from_secs(35)
        );
    }

    #[test]
    fn serial_numbers_follow_the_creation_time() {
        assert_ne!(serial_number(1), serial_number(2));
        assert_ne!(
            serial_number(133_000_000_000_000_000),
            serial_number(133_000_000_010_000_000)
        );
    }
}
