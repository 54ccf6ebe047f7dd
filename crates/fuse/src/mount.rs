//! Mounting and unmounting: the kernel side of a mount's life.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use fuser::{Config, MountOption, SessionACL};
use mountkit_core::change::split_parent;
use mountkit_core::{Change, Dispatch};
use parking_lot::Mutex;

use crate::adapter::{Adapter, CachePolicy, ChangeCount, Handshake, Holdings};
use crate::errors::{FuseMountError, FuseSetupProblem};
use crate::files::DataPathStatus;
use crate::inode::InodeTable;
use crate::protocol::Device;
use crate::session::{start_readers, Pump, ReaderGate};
use crate::uring::{kernel_offers_ring, PreparedRing, Registration};

/// How to mount.
#[derive(Clone, Debug)]
pub struct FuseOptions {
    /// Shown as the mount's source in `mount` and `df`.
    pub fs_name: String,
    /// Mount read-only (`ro`): the kernel refuses every change with `EROFS`.
    pub read_only: bool,
    /// Let other users see the mount (`allow_other`; non-root users need `user_allow_other`
    /// in `/etc/fuse.conf`).
    pub allow_other: bool,
    /// Let the kernel check permissions against `mode`/`uid`/`gid` (`default_permissions`).
    pub default_permissions: bool,
    /// How long the kernel may cache attributes.
    pub attr_ttl: Duration,
    /// How long the kernel may cache name lookups.
    pub entry_ttl: Duration,
    /// How long the kernel may remember that a name does not exist; zero for never.
    pub negative_ttl: Duration,
    /// Let the kernel keep directory listings between opens (invalidate on change).
    pub readdir_cache: bool,
    /// Let the kernel buffer writes (`writeback_cache`). Excludes kernel passthrough.
    pub writeback_cache: bool,
    /// Threads reading requests from the kernel; each has its own cloned FUSE descriptor.
    pub threads: usize,
    /// Clear a stale mount (left by a process that died) at the mount point first.
    pub force: bool,
    /// Serve backed files by kernel passthrough where the kernel offers it (Linux 6.9+) and
    /// the process may use it (`CAP_SYS_ADMIN`); otherwise, and when false, this process
    /// serves them with positioned I/O.
    pub passthrough: bool,
    /// Whether listings may hand the kernel each entry's attributes (READDIRPLUS), sparing
    /// the LOOKUP that would otherwise follow for every listed name that is used.
    pub readdir_plus: ReaddirPlus,
    /// Whether the kernel hands requests over through io_uring instead of `/dev/fuse`.
    pub io_uring: IoUring,
    /// Answer a LOOKUP of a name with the stat the directory's latest listing gave it
    /// ([`DirEntry::stat`](mountkit_core::DirEntry::stat)), without asking the filesystem,
    /// while that listing is current: answered less than the shorter of `attr_ttl` and
    /// `entry_ttl` ago, with nothing changed through the mount (or invalidated) since. The
    /// answer's timeouts are what is left of them, so the kernel keeps nothing longer than
    /// READDIRPLUS would have let it. Covers what READDIRPLUS leaves to LOOKUPs: the later
    /// pages of a listing under [`ReaddirPlus::Auto`], every name under [`ReaddirPlus::Off`].
    /// No effect when either timeout is zero. On by default.
    pub lookup_from_listing: bool,
}

/// Whether requests come through FUSE over io_uring (Linux 6.14+, turned on by root with
/// `echo Y > /sys/module/fuse/parameters/enable_uring`): the kernel puts each request in a
/// ring entry and takes the answer with the entry's next request in one submission, instead
/// of a `read(2)` and a `writev(2)` on `/dev/fuse` per request. The ring's buffers take
/// 8 × (1 MiB + 288 B) of address space per possible CPU, resident as large requests use them.
/// [`MountStats::io_uring`] says whether a mount got it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IoUring {
    /// `/dev/fuse` only: the default, since the ring measured slower for a JavaScript
    /// filesystem on the bench machine (docs/tuning.md).
    #[default]
    Off,
    /// The ring when the kernel offers it, else `/dev/fuse`, silently.
    Auto,
    /// The ring or no mount: a kernel that does not offer it, or refuses the ring, fails the
    /// mount with [`FuseMountError::IoUringUnavailable`].
    Always,
}

/// When the kernel may ask for a listing with attributes (READDIRPLUS) instead of names and
/// kinds only (READDIR). Either way a listing is read from the filesystem once per open
/// directory; READDIRPLUS hands on the stats its entries carry ([`DirEntry::stat`]), so the
/// kernel needs no LOOKUP for those names. Entries without a stat are looked up when used,
/// as with READDIR.
///
/// [`DirEntry::stat`]: mountkit_core::DirEntry::stat
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReaddirPlus {
    /// Plain READDIR only: every listed name that is then used costs a LOOKUP.
    Off,
    /// READDIRPLUS for a directory's first page, and for later pages only when names of that
    /// directory were looked up since the previous one (the kernel's `readdirplus_auto`), so
    /// a listing that no stat follows (`ls` without `-l`) stays plain READDIR. Off when
    /// `attr_ttl` or `entry_ttl` is zero: attributes that expire at once spare no request.
    #[default]
    Auto,
    /// READDIRPLUS for every page of every listing.
    Always,
}

impl Default for FuseOptions {
    fn default() -> Self {
        FuseOptions {
            fs_name: "mountkit".to_owned(),
            read_only: false,
            allow_other: false,
            default_permissions: true,
            attr_ttl: Duration::from_secs(1),
            entry_ttl: Duration::from_secs(1),
            negative_ttl: Duration::ZERO,
            readdir_cache: false,
            writeback_cache: false,
            threads: 2,
            force: false,
            passthrough: true,
            readdir_plus: ReaddirPlus::Auto,
            io_uring: IoUring::Off,
            lookup_from_listing: true,
        }
    }
}

/// A live FUSE mount. Dropping it unmounts.
pub struct FuseMount {
    /// fuser's session, which mounted and answered INIT; it serves nothing, and unmounts on
    /// drop if the mount is still there.
    session: Option<fuser::Session<Handshake>>,
    /// The threads reading requests, each on a descriptor of its own.
    readers: Vec<JoinHandle<io::Result<()>>>,
    /// The dispatcher, which holds this mount's pump until the mount stops.
    dispatch: Arc<dyn Dispatch>,
    /// Requests the dispatcher read through the pump.
    pumped: Arc<AtomicU64>,
    /// Whether the io_uring ring serves the mount.
    ring_live: bool,
    /// Requests that came through the ring.
    from_ring: Arc<AtomicU64>,
    mountpoint: PathBuf,
    /// The kernel's connection number (the mount's device minor), used to abort requests
    /// that are still pending when the mount goes away.
    connection: Option<u32>,
    data_path: Arc<DataPathStatus>,
    holdings: Holdings,
    invalidator: Invalidator,
}

/// Drops kernel caches of one mount, so a filesystem whose data changes underneath stays
/// correct with caching on.
#[derive(Clone)]
pub struct Invalidator {
    inodes: Arc<Mutex<InodeTable>>,
    device: Arc<Device>,
    changes: Arc<ChangeCount>,
}

impl Invalidator {
    /// Drops what the kernel caches about `path` (a mount-relative path such as `/a/b`):
    /// its attributes, its cached data, and, for a directory, its cached listing. The same as
    /// [`Invalidator::notify`] with [`Change::Changed`].
    pub fn invalidate(&self, path: &str) -> io::Result<()> {
        self.notify(&Change::Changed {
            path: path.to_owned(),
        })
    }

    /// Makes the kernel forget the name `path` (its lookup), so the next access asks the
    /// filesystem again — for a name that appeared, vanished or now means another file. The
    /// same as [`Invalidator::notify`] with [`Change::Entry`].
    pub fn invalidate_entry(&self, path: &str) -> io::Result<()> {
        self.notify(&Change::Entry {
            path: path.to_owned(),
        })
    }

    /// Drops what the kernel caches that `change` made stale ([`fuse_invalidations`] says
    /// what). A path the kernel has not looked up, or has forgotten, has nothing cached and is
    /// not an error. Fails with `InvalidInput` for an invalid path ([`Change::validate`]).
    ///
    /// Blocks until the kernel has dropped it, and can wait on requests in flight for those
    /// files: call it from a thread that does not serve them.
    pub fn notify(&self, change: &Change) -> io::Result<()> {
        change
            .validate()
            .map_err(|invalid| io::Error::new(io::ErrorKind::InvalidInput, invalid))?;
        // Counted before the kernel drops anything, so a listing read before the change
        // hands the kernel none of its stats afterwards.
        self.changes.bump();
        for invalidation in fuse_invalidations(change) {
            // The table's lock is not held while the kernel works: it may need a request
            // served, and serving one takes that lock.
            let result = match invalidation {
                Invalidation::Inode(path) => {
                    let ino = self.inodes.lock().resolve(path);
                    ino.map(|ino| self.device.inval_inode(ino, 0, 0))
                }
                Invalidation::Entry { parent, name } => {
                    let dir = self.inodes.lock().resolve(parent);
                    dir.map(|dir| self.device.inval_entry(dir, OsStr::new(name)))
                }
            };
            match result {
                // The kernel answers ENOENT for what it has already forgotten.
                Some(Err(error)) if error.raw_os_error() != Some(libc::ENOENT) => {
                    return Err(error)
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// One cache the kernel keeps, by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalidation<'a> {
    /// A file's attributes and data, and a directory's listing (`notify_inval_inode`).
    Inode(&'a str),
    /// The lookup of `name` in the directory `parent` (`notify_inval_entry`).
    Entry {
        /// The directory holding the name.
        parent: &'a str,
        /// The name.
        name: &'a str,
    },
}

/// The kernel caches a `change` (with valid paths) makes stale, in the order they are
/// dropped: for a name that appeared, vanished or moved, its lookup and its directory (whose
/// listing, link count and times changed); for a changed file, the file.
pub fn fuse_invalidations(change: &Change) -> Vec<Invalidation<'_>> {
    let entry = |path| {
        let (parent, name) = split_parent(path);
        Invalidation::Entry { parent, name }
    };
    let directory = |path| Invalidation::Inode(split_parent(path).0);
    match change {
        Change::Created { path, .. } | Change::Deleted { path, .. } => {
            vec![entry(path), directory(path)]
        }
        Change::Renamed { from, to, .. } => {
            let mut invalidations = vec![entry(from), entry(to), directory(from)];
            if split_parent(from).0 != split_parent(to).0 {
                invalidations.push(directory(to));
            }
            invalidations
        }
        Change::Changed { path } => vec![Invalidation::Inode(path)],
        Change::Entry { path } if path == "/" => Vec::new(),
        Change::Entry { path } => vec![entry(path)],
    }
}

/// Which data path backed files (`Opened::backing`) take on a mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataPathReport {
    /// The kernel agreed to FUSE passthrough when the mount started.
    pub passthrough_negotiated: bool,
    /// Backed opens the kernel serves itself.
    pub passthrough_opens: u64,
    /// Backed opens this process serves with positioned I/O (passthrough unavailable or
    /// refused, for example without `CAP_SYS_ADMIN`).
    pub rust_io_opens: u64,
}

/// How much per-file state a mount holds: what stays in memory while the kernel remembers
/// files, and what must fall back once it forgets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MountStats {
    /// Inodes the kernel still refers to (looked up and not yet forgotten), the root
    /// included. Falls back as the kernel evicts inodes from its cache.
    pub known_inodes: u64,
    /// Files and directories open now.
    pub open_handles: u64,
    /// The kernel agreed to READDIRPLUS when the mount started (never with
    /// [`ReaddirPlus::Off`]).
    pub readdir_plus: bool,
    /// Listed names handed to the kernel with their attributes, each sparing a LOOKUP.
    pub entries_with_attributes: u64,
    /// Requests the dispatcher read from the kernel itself, on its own thread, while it
    /// waited for work ([`mountkit_core::Dispatch::attach_pump`]); the rest were read by
    /// the mount's reader threads.
    pub requests_pumped: u64,
    /// The kernel hands requests over through io_uring ([`IoUring`]); FORGET, INTERRUPT and
    /// notifications still go through `/dev/fuse`.
    pub io_uring: bool,
    /// Requests that came through the io_uring ring.
    pub requests_from_ring: u64,
    /// LOOKUPs may be answered from listings ([`FuseOptions::lookup_from_listing`], with
    /// both timeouts above zero).
    pub lookup_from_listing: bool,
    /// LOOKUPs answered from a listing, without asking the filesystem.
    pub lookups_from_listings: u64,
}

/// How long `unmount` waits for the kernel to let go before it aborts the connection.
const UNMOUNT_GRACE: Duration = Duration::from_secs(2);

impl FuseMount {
    /// Mounts at `mountpoint`, an existing empty directory, and serves requests with
    /// `dispatch`. Returns once the kernel has completed the FUSE handshake. On failure
    /// nothing is mounted, and the [`FuseMountError`] says what was wrong and what to do.
    pub fn mount(
        mountpoint: &Path,
        dispatch: Arc<dyn Dispatch>,
        options: &FuseOptions,
    ) -> Result<FuseMount, FuseMountError> {
        let mountpoint = prepare_mountpoint(mountpoint, options.force)?;
        let mut mount_options = vec![
            MountOption::FSName(options.fs_name.clone()),
            MountOption::Subtype("mountkit".to_owned()),
            MountOption::NoDev,
            MountOption::NoSuid,
        ];
        if options.read_only {
            mount_options.push(MountOption::RO);
        }
        if options.default_permissions {
            mount_options.push(MountOption::DefaultPermissions);
        }
        let mut config = Config::default();
        config.mount_options = mount_options;
        config.acl = if options.allow_other {
            SessionACL::All
        } else {
            SessionACL::Owner
        };
        let cache = CachePolicy {
            attr: options.attr_ttl,
            entry: options.entry_ttl,
            negative: options.negative_ttl,
            readdir: options.readdir_cache,
            writeback: options.writeback_cache,
            readdir_plus: options.readdir_plus,
            lookup_from_listing: options.lookup_from_listing
                && !options.attr_ttl.is_zero()
                && !options.entry_ttl.is_zero(),
        };
        let data_path = Arc::new(DataPathStatus::default());
        let adapter = Arc::new(Adapter::new(
            dispatch.clone(),
            cache,
            options.passthrough,
            data_path.clone(),
        ));
        let ring_unavailable = |reason: String| FuseMountError::IoUringUnavailable {
            path: mountpoint.clone(),
            reason,
        };
        let prepared = match options.io_uring {
            IoUring::Off => None,
            IoUring::Auto if !kernel_offers_ring() => None,
            IoUring::Auto => PreparedRing::new()
                .inspect_err(|e| log::debug!("no io_uring ring for FUSE ({e}); using /dev/fuse"))
                .ok(),
            IoUring::Always if !kernel_offers_ring() => {
                return Err(ring_unavailable(
                    "this kernel does not offer it (/sys/module/fuse/parameters/enable_uring \
                     is missing or not Y)"
                        .to_owned(),
                ))
            }
            IoUring::Always => Some(
                PreparedRing::new()
                    .map_err(|e| ring_unavailable(format!("io_uring could not be set up: {e}")))?,
            ),
        };
        let session =
            fuser::Session::new(adapter.handshake(prepared.is_some()), &mountpoint, &config)
                .map_err(|e| explain_mount_error(e, &mountpoint, options))?;
        let connection = connection_of(&mountpoint);
        let io_error = |source| FuseMountError::Io {
            path: mountpoint.clone(),
            source,
        };
        // Dropping `session` on an error before `mount` exists unmounts again.
        let master = session
            .as_fd()
            .try_clone_to_owned()
            .map(|fd| Arc::new(Device::new(fd)))
            .map_err(io_error)?;
        let gate = Arc::new(ReaderGate::default());
        let readers =
            start_readers(&adapter, &master, options.threads.max(1), &gate).map_err(io_error)?;
        // From here on the mount has threads: an error drops `mount`, which tears it down as
        // `unmount` does (lazily, joining with a timeout, aborting what is left).
        let mut mount = FuseMount {
            session: Some(session),
            readers,
            dispatch,
            pumped: Arc::new(AtomicU64::new(0)),
            ring_live: false,
            from_ring: Arc::new(AtomicU64::new(0)),
            mountpoint: mountpoint.clone(),
            connection,
            data_path,
            holdings: adapter.holdings(),
            invalidator: Invalidator {
                inodes: adapter.inodes(),
                device: master.clone(),
                changes: adapter.changes(),
            },
        };
        mount.ring_live = match prepared {
            Some(prepared) if adapter.ring_negotiated() => {
                let (thread, registered) = prepared
                    .start(
                        &adapter,
                        master.clone(),
                        mount.from_ring.clone(),
                        connection,
                    )
                    .map_err(io_error)?;
                mount.readers.push(thread);
                match registered {
                    Ok(Registration::All) => true,
                    // The kernel went back to /dev/fuse, which the readers serve.
                    Ok(Registration::Refused { accepted: 0, error })
                        if options.io_uring == IoUring::Auto =>
                    {
                        log::debug!(
                            "the kernel refused the FUSE io_uring ring ({error}); using /dev/fuse"
                        );
                        false
                    }
                    // The kernel may still take the ring once every queue has an entry; the
                    // ring's thread serves the entries it took, the readers /dev/fuse.
                    Ok(Registration::Refused { accepted, error })
                        if options.io_uring == IoUring::Auto =>
                    {
                        log::warn!(
                            "the kernel took {accepted} of the FUSE io_uring ring's entries and \
                             refused the rest ({error}); serving both the ring and /dev/fuse"
                        );
                        true
                    }
                    Ok(Registration::Refused { error, .. }) => {
                        return Err(ring_unavailable(format!(
                            "the kernel refused the ring's entries ({error})"
                        )))
                    }
                    // INIT took the ring, so the kernel holds every request until entries
                    // come: a mount returned now would hang its callers.
                    Err(error) => {
                        return Err(FuseMountError::Io {
                            path: mountpoint.clone(),
                            source: io::Error::new(
                                error.kind(),
                                format!(
                                    "{error}; the mount was undone. Mount with ioUring false to \
                                     use /dev/fuse"
                                ),
                            ),
                        })
                    }
                }
            }
            _ if options.io_uring == IoUring::Always => {
                return Err(ring_unavailable(
                    "the kernel did not offer it when the mount started".to_owned(),
                ))
            }
            _ => false,
        };
        // With the ring live, /dev/fuse carries only FORGET and INTERRUPT: nothing worth
        // serving while JavaScript spins.
        if !mount.ring_live {
            let pump_device = master.clone_device(true).map_err(io_error)?;
            let pump = Pump::new(&adapter, pump_device, mount.pumped.clone(), gate);
            mount.dispatch.attach_pump(Some(Arc::new(pump)));
        }
        Ok(mount)
    }

    /// How backed files have been served so far.
    pub fn data_path(&self) -> DataPathReport {
        DataPathReport {
            passthrough_negotiated: self.data_path.negotiated.load(Ordering::Relaxed),
            passthrough_opens: self.data_path.passthrough_opens.load(Ordering::Relaxed),
            rust_io_opens: self.data_path.rust_io_opens.load(Ordering::Relaxed),
        }
    }

    /// How many inodes and open handles the mount holds now, and what READDIRPLUS did. Cheap:
    /// counts under their locks, no walk.
    pub fn stats(&self) -> MountStats {
        MountStats {
            known_inodes: self.holdings.known_inodes() as u64,
            open_handles: self.holdings.open_handles() as u64,
            readdir_plus: self.holdings.readdir_plus_negotiated(),
            entries_with_attributes: self.holdings.entries_with_attributes(),
            requests_pumped: self.pumped.load(Ordering::Relaxed),
            io_uring: self.ring_live,
            requests_from_ring: self.from_ring.load(Ordering::Relaxed),
            lookup_from_listing: self.holdings.lookup_from_listing(),
            lookups_from_listings: self.holdings.lookups_from_listings(),
        }
    }

    /// A handle that drops kernel caches of this mount; it may be used from any thread.
    pub fn invalidator(&self) -> Invalidator {
        self.invalidator.clone()
    }

    /// Where the filesystem is mounted.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Unmounts and waits for the serving threads to stop. The mount is detached at once
    /// (lazily, so a busy mount cannot refuse); if the kernel still holds requests after a
    /// short grace period, the connection is aborted and they fail with `ENOTCONN`.
    pub fn unmount(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        self.dispatch.attach_pump(None);
        let readers = std::mem::take(&mut self.readers);
        // Someone may have unmounted it already (`umount`, `mountkit unmount`): not an error.
        let detached = match unmount_path(&self.mountpoint) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut result = Ok(());
            for reader in readers {
                let ended = reader
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("a FUSE reader thread panicked")));
                result = result.and(ended);
            }
            // Unmounted by now (fuser's session would unmount only a mount still there).
            drop(session);
            let _ = done_tx.send(result);
        });
        let joined = done_rx.recv_timeout(UNMOUNT_GRACE).or_else(|_| {
            if let Some(connection) = self.connection {
                abort_connection(connection);
            }
            done_rx.recv_timeout(UNMOUNT_GRACE)
        });
        match joined {
            Ok(result) => detached.and(result),
            Err(_) => {
                // The mount is already detached from the tree; its threads end when the
                // last process using it lets go. Nothing more can be done without root.
                log::warn!(
                    "{} is detached but still in use; its FUSE threads stop once the last open file there is closed",
                    self.mountpoint.display()
                );
                detached
            }
        }
    }
}

impl Drop for FuseMount {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            log::warn!("unmounting {} failed: {e}", self.mountpoint.display());
        }
    }
}

/// Lazily unmounts the FUSE filesystem mounted at `path`: as root with `umount2`, otherwise
/// through `fusermount3 -u -z`. Also clears stale mounts of dead processes. Refuses a path
/// where nothing is mounted (`NotFound`) or where the mount is not FUSE (`InvalidInput`), so
/// it can never detach some other filesystem.
pub fn unmount_path(path: &Path) -> io::Result<()> {
    match mount_entry(path) {
        None => {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("nothing is mounted at {}", path.display()),
            ))
        }
        Some((_, fstype)) if !fstype.starts_with("fuse") => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a {fstype} mount, not a FUSE mount; not unmounting it",
                    path.display()
                ),
            ))
        }
        Some(_) => {}
    }
    detach(path)
}

fn detach(path: &Path) -> io::Result<()> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::umount2(c_path.as_ptr(), libc::MNT_DETACH) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) if !is_mounted(path) => Ok(()),
        Some(libc::EPERM) => {
            let output = Command::new("fusermount3")
                .args(["-u", "-z", "--"])
                .arg(path)
                .output()
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "cannot unmount {}: not root and fusermount3 could not run ({e}); install the fuse3 package",
                            path.display()
                        ),
                    )
                })?;
            if output.status.success() {
                Ok(())
            } else {
                Err(io::Error::other(format!(
                    "fusermount3 could not unmount {}: {}",
                    path.display(),
                    String::from_utf8_lossy(&output.stderr).trim()
                )))
            }
        }
        _ => Err(err),
    }
}

/// Whether some filesystem is mounted exactly at `path`, per `/proc/self/mountinfo`.
pub fn is_mounted(path: &Path) -> bool {
    mount_entry(path).is_some()
}

/// The `(major:minor, fstype)` of the mount at `path`, read from `/proc/self/mountinfo`
/// so that nothing touches the mount itself (that could wait on this very process).
fn mount_entry(path: &Path) -> Option<(String, String)> {
    let target = path.to_str()?;
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let separator = fields.iter().position(|f| *f == "-")?;
        let fstype = fields.get(separator + 1)?;
        (unescape_mountinfo(fields.get(4)?) == target)
            .then(|| (fields[2].to_owned(), fstype.to_string()))
    })
}

/// mountinfo escapes space, tab, newline and backslash as octal `\NNN`.
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 4]).ok();
            if let Some(code) = digits.and_then(|d| u8::from_str_radix(d, 8).ok()) {
                out.push(code);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn connection_of(mountpoint: &Path) -> Option<u32> {
    let (device, _) = mount_entry(mountpoint)?;
    device.split_once(':')?.1.parse().ok()
}

/// Fails every request the kernel still holds for this connection, so nothing waits on a
/// filesystem that is going away. Needs root; without it the lazy unmount still completes
/// once the last user of the mount lets go.
pub(crate) fn abort_connection(connection: u32) {
    let path = format!("/sys/fs/fuse/connections/{connection}/abort");
    if let Err(e) = fs::write(&path, "1") {
        log::debug!("could not abort FUSE connection {connection}: {e}");
    }
}

fn prepare_mountpoint(mountpoint: &Path, force: bool) -> Result<PathBuf, FuseMountError> {
    let io_error = |source| FuseMountError::Io {
        path: mountpoint.to_owned(),
        source,
    };
    // The mount table comes first: anything that stats a mount point this very process serves
    // would wait on its own answers.
    if let Some((_, fstype)) = mount_entry(mountpoint) {
        if fstype.starts_with("fuse") && force {
            unmount_path(mountpoint).map_err(io_error)?;
        } else {
            return Err(FuseMountError::AlreadyMounted {
                path: mountpoint.to_owned(),
                fstype,
            });
        }
    }
    let resolved = mountpoint
        .canonicalize()
        .map_err(|source| FuseMountError::Unusable {
            path: mountpoint.to_owned(),
            source,
        })?;
    let metadata = fs::metadata(&resolved).map_err(io_error)?;
    if !metadata.is_dir() {
        return Err(FuseMountError::NotADirectory { path: resolved });
    }
    if fs::read_dir(&resolved).map_err(io_error)?.next().is_some() {
        return Err(FuseMountError::NotEmpty { path: resolved });
    }
    Ok(resolved)
}

/// What [`probe`] found: what this process mounts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuseInstall {
    /// Whether this process runs as root, which mounts with `mount(2)` itself.
    pub root: bool,
    /// `fusermount3` as found on `PATH`, which mounts for users other than root; `None` when
    /// it is not there.
    pub fusermount3: Option<PathBuf>,
}

/// Whether `/dev/fuse` can be used by this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeviceAccess {
    Missing,
    Refused,
    Usable,
}

/// Checks what every FUSE mount of this process needs: `/dev/fuse` exists and this user may
/// open it, and, unless this is root, `fusermount3` is installed. Fails with the problem,
/// whose [`advice`](FuseSetupProblem::advice) says what to do. What only mounting shows
/// (`allow_other` refused, a mount point this user does not own) is not checked.
pub fn probe() -> Result<FuseInstall, FuseSetupProblem> {
    let device = match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        Ok(_) => DeviceAccess::Usable,
        Err(e) if e.kind() == io::ErrorKind::NotFound => DeviceAccess::Missing,
        Err(_) => DeviceAccess::Refused,
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let fusermount3 = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("fusermount3"))
            .find(|candidate| candidate.is_file())
    });
    judge_setup(device, root, fusermount3)
}

/// The verdict of [`probe`] on what it found.
fn judge_setup(
    device: DeviceAccess,
    root: bool,
    fusermount3: Option<PathBuf>,
) -> Result<FuseInstall, FuseSetupProblem> {
    match device {
        DeviceAccess::Missing => Err(FuseSetupProblem::NoDevice),
        DeviceAccess::Refused => Err(FuseSetupProblem::DeviceRefused),
        DeviceAccess::Usable if !root && fusermount3.is_none() => {
            Err(FuseSetupProblem::NoFusermount)
        }
        DeviceAccess::Usable => Ok(FuseInstall { root, fusermount3 }),
    }
}

/// Why the kernel refused to mount: what [`probe`] finds missing, else what the refusal
/// says. fuser reports fusermount3's failures only as text, so for those its words are what
/// tells them apart.
fn explain_mount_error(
    source: io::Error,
    mountpoint: &Path,
    options: &FuseOptions,
) -> FuseMountError {
    let text = source.to_string();
    let problem = match probe() {
        Err(problem) => problem,
        Ok(_) if source.kind() == io::ErrorKind::NotFound && text.contains("fusermount") => {
            FuseSetupProblem::NoFusermount
        }
        Ok(_)
            if text.contains("allow_other")
                || (options.allow_other && text.contains("fusermount")) =>
        {
            FuseSetupProblem::AllowOtherRefused
        }
        Ok(_) if source.kind() == io::ErrorKind::PermissionDenied => {
            FuseSetupProblem::PermissionDenied
        }
        Ok(_) => FuseSetupProblem::Other,
    };
    FuseMountError::Refused {
        path: mountpoint.to_owned(),
        problem,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo(r"/tmp/with\040space"), "/tmp/with space");
        assert_eq!(unescape_mountinfo(r"/a\134b"), r"/a\b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }

    #[test]
    fn the_root_filesystem_is_mounted_and_a_plain_directory_is_not() {
        assert!(is_mounted(Path::new("/")));
        let dir = std::env::temp_dir();
        let plain = dir.join(format!("mountkit-not-a-mount-{}", std::process::id()));
        fs::create_dir_all(&plain).unwrap();
        assert!(!is_mounted(&plain));
        fs::remove_dir(&plain).unwrap();
    }

    #[test]
    fn a_non_empty_mount_point_is_refused_with_a_reason() {
        let dir = std::env::temp_dir().join(format!("mountkit-nonempty-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("file"), b"x").unwrap();
        let err = prepare_mountpoint(&dir, false).unwrap_err();
        assert!(matches!(err, FuseMountError::NotEmpty { .. }), "{err:?}");
        assert!(err.to_string().contains("not empty"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unmount_refuses_plain_directories_and_other_filesystems() {
        let dir = std::env::temp_dir();
        let err = unmount_path(&dir.join("mountkit-nothing-here")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let err = unmount_path(Path::new("/")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    #[test]
    fn the_probe_names_what_is_missing_for_a_mount() {
        let fusermount3 = Some(PathBuf::from("/usr/bin/fusermount3"));
        assert_eq!(
            judge_setup(DeviceAccess::Missing, true, None),
            Err(FuseSetupProblem::NoDevice)
        );
        assert_eq!(
            judge_setup(DeviceAccess::Refused, false, fusermount3.clone()),
            Err(FuseSetupProblem::DeviceRefused)
        );
        assert_eq!(
            judge_setup(DeviceAccess::Usable, false, None),
            Err(FuseSetupProblem::NoFusermount)
        );
        assert_eq!(
            judge_setup(DeviceAccess::Usable, true, None),
            Ok(FuseInstall {
                root: true,
                fusermount3: None
            })
        );
        assert_eq!(
            judge_setup(DeviceAccess::Usable, false, fusermount3.clone()),
            Ok(FuseInstall {
                root: false,
                fusermount3
            })
        );
    }

    #[test]
    fn a_missing_mount_point_is_refused_with_a_reason() {
        let err = prepare_mountpoint(Path::new("/nonexistent/mountkit"), false).unwrap_err();
        assert!(matches!(err, FuseMountError::Unusable { .. }), "{err:?}");
        assert!(
            err.to_string().contains("create an empty directory"),
            "{err}"
        );
    }

    #[test]
    fn changes_become_the_invalidations_of_what_they_made_stale() {
        use Invalidation::{Entry, Inode};
        let created = Change::Created {
            path: "/d/new".into(),
            directory: false,
        };
        let entry_new = Entry {
            parent: "/d",
            name: "new",
        };
        assert_eq!(fuse_invalidations(&created), [entry_new, Inode("/d")]);
        let deleted = Change::Deleted {
            path: "/old".into(),
            directory: true,
        };
        let entry_old = Entry {
            parent: "/",
            name: "old",
        };
        assert_eq!(fuse_invalidations(&deleted), [entry_old, Inode("/")]);
        let renamed = |to: &str| Change::Renamed {
            from: "/d/a".into(),
            to: to.into(),
            directory: false,
        };
        let entry_a = Entry {
            parent: "/d",
            name: "a",
        };
        let entry_b = Entry {
            parent: "/d",
            name: "b",
        };
        assert_eq!(
            fuse_invalidations(&renamed("/d/b")),
            [entry_a, entry_b, Inode("/d")]
        );
        let moved = renamed("/e/b");
        let entry_e_b = Entry {
            parent: "/e",
            name: "b",
        };
        assert_eq!(
            fuse_invalidations(&moved),
            [entry_a, entry_e_b, Inode("/d"), Inode("/e")]
        );
        let changed = Change::Changed { path: "/f".into() };
        assert_eq!(fuse_invalidations(&changed), [Inode("/f")]);
        let entry = Change::Entry {
            path: "/d/a".into(),
        };
        assert_eq!(fuse_invalidations(&entry), [entry_a]);
        let root = Change::Entry { path: "/".into() };
        assert_eq!(fuse_invalidations(&root), []);
    }
}
