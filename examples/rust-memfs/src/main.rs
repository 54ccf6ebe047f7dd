//! rust-memfs: an in-memory filesystem written in Rust and mounted with mountkit, with no
//! Node.js anywhere. See docs/rust.md for a walk through it.
//!
//! ```text
//! cargo run -p rust-memfs -- <dir>          mount at <dir> (an existing empty directory)
//!                                           until Ctrl+C or SIGTERM, then unmount
//! cargo run -p rust-memfs -- --self-test    mount a temporary directory, check real file
//!                                           operations through it, unmount, exit 0 if all passed
//! ```

// The filesystem is platform-neutral and unit-tested everywhere; only the Linux build has a
// backend to serve it with, so elsewhere nothing outside the tests uses it.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod memfs;

#[cfg(target_os = "linux")]
mod linux;

use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "usage: rust-memfs <dir>       mount an in-memory filesystem at <dir> until Ctrl+C
       rust-memfs --self-test  mount a temporary directory, exercise it, unmount";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.as_slice() {
        [flag] if flag == "--self-test" => self_test(),
        [dir] if !dir.starts_with('-') => serve(Path::new(dir)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rust-memfs: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(target_os = "linux")]
use linux::{self_test, serve};

#[cfg(not(target_os = "linux"))]
const NO_BACKEND: &str = "this example mounts through FUSE, which only Linux has; \
    on Windows, mount a FileSystem with mountkit-winfsp or mountkit-dokan instead";

#[cfg(not(target_os = "linux"))]
fn serve(_: &Path) -> Result<(), String> {
    Err(NO_BACKEND.to_owned())
}

#[cfg(not(target_os = "linux"))]
fn self_test() -> Result<(), String> {
    Err(NO_BACKEND.to_owned())
}
