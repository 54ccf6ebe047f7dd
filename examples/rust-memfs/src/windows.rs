//! Serving memfs on Windows through WinFsp or Dokan 2: a drive letter or a folder, until Enter.

use std::io::BufRead;

use mountkit::{Backend, MountOptions};

use crate::memfs::Memfs;

/// The backend `--backend` names: `winfsp`, `dokan`, or `auto` (WinFsp when it works, else
/// Dokan 2).
pub(crate) fn parse_backend(name: &str) -> Result<Backend, String> {
    match Backend::parse(name) {
        Ok(Backend::Fuse) | Err(_) => Err(format!(
            "--backend must be 'auto', 'winfsp' or 'dokan', got '{name}'"
        )),
        Ok(backend) => Ok(backend),
    }
}

/// Mounts memfs at `mountpoint` (`M:` or a folder) and serves until Enter (or the end of
/// standard input), then unmounts.
pub(crate) fn serve(mountpoint: &str, backend: Backend) -> Result<(), String> {
    let options = MountOptions {
        backend,
        ..MountOptions::default()
    };
    // Windows has no uid or gid; memfs's permission checks see the same owner everywhere.
    let mounted = mountkit::mount(mountpoint, Memfs::new(0, 0), &options)
        .map_err(|e| format!("cannot mount ({}): {e}", e.code()))?;
    println!(
        "memfs mounted at {mountpoint} by {}. Press Enter to unmount (the contents go with it).",
        mounted.backend().title()
    );
    let mut line = String::new();
    // An error reading standard input ends the wait as Enter would.
    let _ = std::io::stdin().lock().read_line(&mut line);
    mounted
        .unmount()
        .map_err(|e| format!("unmounting {mountpoint}: {e}"))?;
    println!("Unmounted {mountpoint}.");
    Ok(())
}
