//! rust-memfs: an in-memory filesystem written in Rust and mounted with mountkit, with no
//! Node.js anywhere. See docs/rust.md for a walk through it.
//!
//! ```text
//! cargo run -p rust-memfs -- <dir>          Linux: mount at <dir> (an existing empty directory)
//!                                           until Ctrl+C or SIGTERM, then unmount
//! cargo run -p rust-memfs -- --self-test    Linux: mount a temporary directory, check real file
//!                                           operations through it, unmount, exit 0 if all passed
//! rust-memfs.exe <M: or folder> [--backend auto|winfsp|dokan]
//!                                           Windows: mount through WinFsp (the default),
//!                                           Dokan 2, or whichever works ('auto') until
//!                                           Enter, then unmount
//! ```

// The filesystem is platform-neutral and unit-tested everywhere; elsewhere than Linux and
// Windows nothing serves it, so nothing outside the tests uses it.
#[cfg_attr(not(any(target_os = "linux", windows)), allow(dead_code))]
mod memfs;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(windows)]
mod windows;

use std::process::ExitCode;

#[cfg(target_os = "linux")]
const USAGE: &str =
    "usage: rust-memfs <dir>       mount an in-memory filesystem at <dir> until Ctrl+C
       rust-memfs --self-test  mount a temporary directory, exercise it, unmount";
#[cfg(not(target_os = "linux"))]
const USAGE: &str = "usage: rust-memfs <M: or folder> [--backend auto|winfsp|dokan]
       mount an in-memory filesystem there until Enter (WinFsp unless --backend says otherwise)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(outcome) = run(&args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rust-memfs: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs what the arguments ask for; `None` when they do not fit the usage.
#[cfg(target_os = "linux")]
fn run(args: &[String]) -> Option<Result<(), String>> {
    match args {
        [flag] if flag == "--self-test" => Some(linux::self_test()),
        [dir] if !dir.starts_with('-') => Some(linux::serve(std::path::Path::new(dir))),
        _ => None,
    }
}

#[cfg(windows)]
fn run(args: &[String]) -> Option<Result<(), String>> {
    let serve = |mountpoint: &str, backend: &str| {
        windows::parse_backend(backend).and_then(|backend| windows::serve(mountpoint, backend))
    };
    match args {
        [mountpoint] if !mountpoint.starts_with('-') => Some(serve(mountpoint, "winfsp")),
        [mountpoint, flag, backend] if flag == "--backend" => Some(serve(mountpoint, backend)),
        _ => None,
    }
}

#[cfg(not(any(target_os = "linux", windows)))]
fn run(_: &[String]) -> Option<Result<(), String>> {
    Some(Err(
        "this platform has no mountkit backend: FUSE on Linux, WinFsp or Dokan on Windows"
            .to_owned(),
    ))
}
