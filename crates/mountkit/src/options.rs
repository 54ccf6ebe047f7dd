//! How to mount: [`MountOptions`], one set for every backend (each takes the fields that
//! mean something to it), and [`Backend`], which backend serves.

use std::time::Duration;

use mountkit_core::windows::{DriveType, InvalidOption};

/// Which backend serves a mount.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// FUSE on Linux; on Windows WinFsp when it works, else Dokan 2 (see
    /// [`auto::choose`](crate::auto::choose)).
    #[default]
    Auto,
    /// FUSE (Linux).
    Fuse,
    /// WinFsp (Windows).
    WinFsp,
    /// Dokan 2 (Windows).
    Dokan,
}

impl Backend {
    /// Reads a backend as the `backend` option spells it: `auto`, `fuse`, `winfsp` or
    /// `dokan`.
    pub fn parse(text: &str) -> Result<Backend, InvalidOption> {
        match text {
            "auto" => Ok(Backend::Auto),
            "fuse" => Ok(Backend::Fuse),
            "winfsp" => Ok(Backend::WinFsp),
            "dokan" => Ok(Backend::Dokan),
            other => Err(InvalidOption::new(
                "backend",
                format!("backend must be 'auto', 'fuse', 'winfsp' or 'dokan', got '{other}'"),
            )),
        }
    }

    /// The backend as the `backend` option spells it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Fuse => "fuse",
            Backend::WinFsp => "winfsp",
            Backend::Dokan => "dokan",
        }
    }

    /// The backend's name for people: `FUSE`, `WinFsp`, `Dokan`.
    pub fn title(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Fuse => "FUSE",
            Backend::WinFsp => "WinFsp",
            Backend::Dokan => "Dokan",
        }
    }
}

/// When a FUSE mount lets the kernel ask for listings with each entry's attributes
/// (READDIRPLUS), so that names listed with a stat need no LOOKUP afterwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReaddirPlus {
    /// Plain READDIR only: each listed name that is then used is looked up (a `getattr`).
    /// The choice for a `readdir` that lists no stats: under the others an entry without a
    /// stat still takes a full READDIRPLUS entry (some five times fewer names a page) and a
    /// FORGET from the kernel.
    Off,
    /// READDIRPLUS for a directory's first page, and for later pages only when its names
    /// were looked up since, so a listing no stat follows stays plain READDIR. None at all
    /// when the attribute or entry timeout is zero (the attributes would expire at once).
    #[default]
    Auto,
    /// READDIRPLUS for every page of every listing.
    Always,
}

impl ReaddirPlus {
    /// Reads the option as the Node.js API passes it: `auto`, `always` or `off`.
    pub fn parse(text: &str) -> Result<ReaddirPlus, InvalidOption> {
        match text {
            "auto" => Ok(ReaddirPlus::Auto),
            "always" => Ok(ReaddirPlus::Always),
            "off" => Ok(ReaddirPlus::Off),
            other => Err(InvalidOption::new(
                "readdirPlus",
                format!("readdirPlus must be 'auto', true or false, got '{other}'"),
            )),
        }
    }
}

/// Whether a FUSE mount takes its requests through io_uring (Linux 6.14+, turned on by root
/// with `echo Y > /sys/module/fuse/parameters/enable_uring`) instead of `/dev/fuse`. The ring
/// takes 8 × (1 MiB + 288 B) of buffers per possible CPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IoUring {
    /// `/dev/fuse` only: the default, since the ring measured slower for a JavaScript
    /// filesystem on the bench machine (docs/tuning.md).
    #[default]
    Off,
    /// The ring when the kernel offers it, else `/dev/fuse`.
    Auto,
    /// The ring or no mount: without it the mount fails with `ENODRIVER`.
    Always,
}

impl IoUring {
    /// Reads the option as the Node.js API passes it: `auto`, `always` or `off`.
    pub fn parse(text: &str) -> Result<IoUring, InvalidOption> {
        match text {
            "auto" => Ok(IoUring::Auto),
            "always" => Ok(IoUring::Always),
            "off" => Ok(IoUring::Off),
            other => Err(InvalidOption::new(
                "ioUring",
                format!("ioUring must be 'auto', true or false, got '{other}'"),
            )),
        }
    }
}

/// How to mount, with the defaults of the Node.js API's `MountOptions`.
#[derive(Clone, Debug, PartialEq)]
pub struct MountOptions {
    /// Which backend serves the mount.
    pub backend: Backend,
    /// The filesystem's name: the mount's source in `mount` and `df` (FUSE), the file
    /// system name Windows reports (1 to 15 characters).
    pub fs_name: String,
    /// Refuse every change.
    pub read_only: bool,
    /// FUSE: let other users see the mount (non-root users need `user_allow_other` in
    /// `/etc/fuse.conf`).
    pub allow_other: bool,
    /// FUSE: let the kernel check permissions against mode, uid and gid.
    pub default_permissions: bool,
    /// How long the kernel may cache attributes (WinFsp: file information).
    pub attr_timeout: Duration,
    /// FUSE: how long the kernel may cache name lookups.
    pub entry_timeout: Duration,
    /// FUSE: how long the kernel may remember that a name does not exist.
    pub negative_timeout: Duration,
    /// FUSE: let the kernel keep directory listings between opens.
    pub readdir_cache: bool,
    /// FUSE: let the kernel buffer writes.
    pub writeback_cache: bool,
    /// How long a request may wait for its answer before it fails.
    pub request_timeout: Duration,
    /// Threads reading requests from the driver.
    pub threads: u32,
    /// FUSE: replace a stale mount (left by a process that died) at the mount point.
    pub force: bool,
    /// FUSE: serve backing files by kernel passthrough where the kernel allows it.
    pub passthrough: bool,
    /// FUSE: when listings hand the kernel each entry's stat (READDIRPLUS).
    pub readdir_plus: ReaddirPlus,
    /// FUSE: whether requests come through io_uring instead of `/dev/fuse`.
    pub io_uring: IoUring,
    /// FUSE: answer a LOOKUP with the stat the directory's latest listing gave the name,
    /// while that listing is current (less than the shorter timeout old, nothing changed
    /// through the mount since); no effect when either timeout is zero.
    pub lookup_from_listing: bool,
    /// Windows: the drive's name in Explorer (at most 32 characters).
    pub volume_label: String,
    /// Windows: names match without regard to case.
    pub case_insensitive: bool,
    /// Windows: what kind of drive the volume presents itself as.
    pub drive_type: DriveType,
    /// Windows: bytes per sector, a power of two from 512 to 32768.
    pub sector_size: u32,
    /// Windows: bytes per allocation unit, a multiple of `sector_size`.
    pub allocation_unit_size: u32,
    /// Windows: the filesystem stores security descriptors (implements `set_security`), so
    /// the volume claims persistent ACLs.
    pub persistent_acls: bool,
    /// Windows: the drive letter (`"M:"`) a network share mount point is also mounted on
    /// ([`MountPoint::with_drive_letter`](mountkit_core::windows::MountPoint::with_drive_letter));
    /// only with a share.
    pub drive_letter: Option<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            backend: Backend::Auto,
            fs_name: "mountkit".to_owned(),
            read_only: false,
            allow_other: false,
            default_permissions: true,
            attr_timeout: Duration::from_secs(1),
            entry_timeout: Duration::from_secs(1),
            negative_timeout: Duration::ZERO,
            readdir_cache: false,
            writeback_cache: false,
            request_timeout: Duration::from_secs(30),
            threads: 2,
            force: false,
            passthrough: true,
            readdir_plus: ReaddirPlus::Auto,
            io_uring: IoUring::Off,
            lookup_from_listing: true,
            volume_label: "mountkit".to_owned(),
            case_insensitive: true,
            drive_type: DriveType::Fixed,
            sector_size: 4096,
            allocation_unit_size: 4096,
            persistent_acls: false,
            drive_letter: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_read_as_the_option_spells_them() {
        for backend in [
            Backend::Auto,
            Backend::Fuse,
            Backend::WinFsp,
            Backend::Dokan,
        ] {
            assert_eq!(Backend::parse(backend.name()), Ok(backend));
        }
        let error = Backend::parse("nfs").unwrap_err();
        assert_eq!(error.option, "backend");
        assert!(error.message.contains("backend must be"), "{error}");
    }
}
