//! The mount's backend, as JavaScript sees it: the options arrive as JavaScript values and
//! become the facade's [`MountOptions`]; [`mountkit::mount_dispatch`] chooses the backend and
//! mounts (the same `'auto'` rule as `mountkit doctor`); a [`MountError`] leaves as a
//! JavaScript error whose `code` is its [`ErrorCode`].

use std::num::NonZeroU32;
use std::time::Duration;

use mountkit::{
    Backend, DriveType, ErrorCode, InvalidOption, IoUring, Mount, MountError, MountOptions,
    ReaddirPlus,
};
use napi::{Error, Status};

use crate::{NativeDataPath, NativeMountOptions, NativeMountStats};

fn millis(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// The facade's options from the JavaScript options, which `lib/mount.ts` has already given
/// their defaults; the names of backends and drive types are checked here.
pub(crate) fn mount_options(o: &NativeMountOptions) -> Result<MountOptions, InvalidOption> {
    Ok(MountOptions {
        backend: Backend::parse(&o.backend)?,
        fs_name: o.fs_name.clone(),
        read_only: o.read_only,
        allow_other: o.allow_other,
        default_permissions: o.default_permissions,
        attr_timeout: millis(o.attr_timeout_ms),
        entry_timeout: millis(o.entry_timeout_ms),
        negative_timeout: millis(o.negative_timeout_ms),
        readdir_cache: o.readdir_cache,
        writeback_cache: o.writeback_cache,
        request_timeout: millis(o.timeout_ms),
        threads: o.threads,
        force: o.force,
        passthrough: o.passthrough,
        readdir_plus: ReaddirPlus::parse(&o.readdir_plus)?,
        io_uring: IoUring::parse(&o.io_uring)?,
        lookup_from_listing: o.lookup_from_listing,
        volume_label: o.volume_label.clone(),
        case_insensitive: o.case_insensitive,
        drive_type: DriveType::parse(&o.drive_type)?,
        sector_size: o.sector_size,
        allocation_unit_size: o.allocation_unit_size,
        persistent_acls: o.persistent_acls,
        drive_letter: o.drive_letter.clone(),
    })
}

/// A failed mount as a JavaScript error: its message, and its stable code as `code`.
pub(crate) fn mount_error(error: &MountError) -> Error<ErrorCode> {
    Error::new(error.code(), error.to_string())
}

/// An invalid option as a JavaScript error with the code `EOPTION`.
pub(crate) fn option_error(invalid: InvalidOption) -> Error<ErrorCode> {
    mount_error(&MountError::InvalidOption(invalid))
}

/// How backing files have been served; only FUSE counts them.
pub(crate) fn data_path(mount: &Mount) -> Result<NativeDataPath, String> {
    #[cfg(target_os = "linux")]
    if let Some(fuse) = mount.as_fuse() {
        let report = fuse.data_path();
        return Ok(NativeDataPath {
            passthrough_negotiated: report.passthrough_negotiated,
            passthrough_opens: report.passthrough_opens as f64,
            rust_io_opens: report.rust_io_opens as f64,
        });
    }
    Err(format!(
        "the {} backend serves backing files in Rust and does not count them",
        mount.backend().name()
    ))
}

/// How many inodes and open handles the mount holds; only FUSE keeps an inode table.
pub(crate) fn stats(mount: &Mount) -> Result<NativeMountStats, String> {
    #[cfg(target_os = "linux")]
    if let Some(fuse) = mount.as_fuse() {
        let stats = fuse.stats();
        return Ok(NativeMountStats {
            known_inodes: stats.known_inodes as f64,
            open_handles: stats.open_handles as f64,
            readdir_plus: stats.readdir_plus,
            entries_with_attributes: stats.entries_with_attributes as f64,
            requests_read_while_spinning: stats.requests_pumped as f64,
            io_uring: stats.io_uring,
            requests_from_ring: stats.requests_from_ring as f64,
            lookup_from_listing: stats.lookup_from_listing,
            lookups_from_listings: stats.lookups_from_listings as f64,
        });
    }
    Err(format!(
        "the {} backend keeps no inode table: stats() reports FUSE mounts only",
        mount.backend().name()
    ))
}

/// Lazily unmounts the FUSE filesystem at `path`, including a stale one.
pub(crate) fn unmount_path(path: &str) -> napi::Result<()> {
    #[cfg(target_os = "linux")]
    {
        mountkit::backends::fuse::unmount_path(path.as_ref()).map_err(|e| {
            Error::new(
                Status::GenericFailure,
                format!("could not unmount {path}: {e}"),
            )
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(Error::new(
            Status::GenericFailure,
            format!("could not unmount {path}: stale mounts exist only with FUSE; Windows removes a volume when its process ends"),
        ))
    }
}

/// The id the kernel reports for requests made by the calling thread, to recognise a
/// synchronous call from the serving JavaScript thread into its own mount: FUSE reports the
/// calling thread. `None` off Linux: WinFsp and Dokan report a process id (WinFsp only for
/// creates, opens and renames, since every open is a Create request there; 0 otherwise),
/// which cannot tell the serving thread apart from libuv's pool threads that legitimately call
/// in from the same process.
pub(crate) fn serving_thread_id() -> Option<NonZeroU32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions and cannot fail.
        let thread = unsafe { libc::gettid() };
        NonZeroU32::new(thread as u32)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> NativeMountOptions {
        NativeMountOptions {
            fs_name: "mountkit".into(),
            read_only: false,
            allow_other: false,
            default_permissions: true,
            attr_timeout_ms: 1000.0,
            entry_timeout_ms: 1000.0,
            negative_timeout_ms: 0.0,
            readdir_cache: false,
            writeback_cache: false,
            timeout_ms: 30_000.0,
            timeout_errno: "ETIMEDOUT".into(),
            threads: 2,
            force: false,
            passthrough: true,
            readdir_plus: "auto".into(),
            io_uring: "off".into(),
            read_while_spinning: true,
            lookup_from_listing: false,
            native_answers: Vec::new(),
            backend: "auto".into(),
            volume_label: "data".into(),
            case_insensitive: true,
            drive_type: "network".into(),
            sector_size: 4096,
            allocation_unit_size: 65536,
            persistent_acls: false,
            drive_letter: Some("M:".into()),
        }
    }

    #[test]
    fn javascript_options_become_mount_options() {
        let o = mount_options(&options()).unwrap();
        assert_eq!(o.backend, Backend::Auto);
        assert_eq!(o.drive_type, DriveType::Network);
        assert_eq!(o.volume_label, "data");
        assert_eq!(o.allocation_unit_size, 65536);
        assert_eq!(o.request_timeout, Duration::from_secs(30));
        assert_eq!(o.attr_timeout, Duration::from_secs(1));
        assert_eq!(o.drive_letter.as_deref(), Some("M:"));
        assert_eq!(o.readdir_plus, ReaddirPlus::Auto);
        assert_eq!(o.io_uring, IoUring::Off);
        assert!(!o.lookup_from_listing);
    }

    #[test]
    fn unknown_names_are_refused_with_the_option_named() {
        let mut o = options();
        o.backend = "nfs".into();
        let error = mount_options(&o).unwrap_err();
        assert_eq!(error.option, "backend");
        let mut o = options();
        o.drive_type = "floppy".into();
        // A napi::Error cannot be built outside Node.js, so the code is checked on the
        // facade's error, which `option_error` converts.
        let error = MountError::InvalidOption(mount_options(&o).unwrap_err());
        assert_eq!(error.code(), ErrorCode::InvalidOption);
        assert!(error.to_string().contains("driveType"), "{error}");
        let mut o = options();
        o.readdir_plus = "sometimes".into();
        let error = mount_options(&o).unwrap_err();
        assert_eq!(error.option, "readdirPlus");
        let mut o = options();
        o.io_uring = "yes".into();
        let error = mount_options(&o).unwrap_err();
        assert_eq!(error.option, "ioUring");
        assert!(
            error.to_string().contains("'auto', true or false"),
            "{error}"
        );
        assert!(
            error.to_string().contains("'auto', true or false"),
            "{error}"
        );
    }
}
