//! Serving memfs on Windows through WinFsp or Dokan 2: a drive letter or a folder, until Enter.

use std::io::BufRead;
use std::sync::Arc;

use mountkit_core::windows::{MountPoint, WindowsOptions};
use mountkit_core::{Dispatch, DispatchLimits, FsDispatcher};
use mountkit_dokan::DokanMount;
use mountkit_winfsp::WinFspMount;

use crate::memfs::Memfs;

/// Which Windows driver serves the mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    WinFsp,
    Dokan,
}

impl Backend {
    pub fn parse(name: &str) -> Result<Backend, String> {
        match name {
            "winfsp" => Ok(Backend::WinFsp),
            "dokan" => Ok(Backend::Dokan),
            other => Err(format!(
                "--backend must be 'winfsp' or 'dokan', got '{other}'"
            )),
        }
    }
}

/// Either backend's live mount; dropping or unmounting it takes the volume away.
enum Mounted {
    WinFsp(WinFspMount),
    Dokan(DokanMount),
}

/// Mounts memfs at `mountpoint` (`M:` or a folder) and serves until Enter (or the end of
/// standard input), then unmounts.
pub fn serve(mountpoint: &str, backend: Backend) -> Result<(), String> {
    let mount_point = MountPoint::parse(mountpoint).map_err(|errno| {
        format!(
            "{mountpoint:?} is not a mount point ({errno}): use a drive letter such as M: or a \
             folder"
        )
    })?;
    let options = WindowsOptions {
        mount_point,
        ..WindowsOptions::default()
    };
    // Windows has no uid or gid; memfs's permission checks see the same owner everywhere.
    let dispatcher: Arc<dyn Dispatch> = Arc::new(FsDispatcher::new(
        Memfs::new(0, 0),
        DispatchLimits::default(),
    ));
    let mounted = match backend {
        Backend::WinFsp => Mounted::WinFsp(WinFspMount::mount(&options, dispatcher)?),
        Backend::Dokan => Mounted::Dokan(DokanMount::mount(&options, dispatcher)?),
    };
    println!("memfs mounted at {mountpoint}. Press Enter to unmount (the contents go with it).");
    let mut line = String::new();
    // An error reading standard input ends the wait as Enter would.
    let _ = std::io::stdin().lock().read_line(&mut line);
    match mounted {
        Mounted::WinFsp(m) => m.unmount(),
        Mounted::Dokan(m) => m.unmount(),
    }
    println!("Unmounted {mountpoint}.");
    Ok(())
}
