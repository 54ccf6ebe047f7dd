//! # mountkit-dokan
//!
//! A Dokan 2 backend for mountkit: serves any [`Dispatch`](mountkit_core::Dispatch) as a
//! Windows volume, on a drive letter or an NTFS folder.
//!
//! ```text
//! Windows I/O manager → dokan2.sys → dokan2.dll worker thread
//!     → callbacks (extern "system", Windows only) → ops::DokanFs → Dispatch
//! ```
//!
//! - [`DokanMount`] mounts and unmounts; [`probe`] reports the installed Dokan, or why it
//!   cannot be used ([`DokanUnavailable`]).
//! - [`ops`] holds what every callback does, as platform-neutral Rust over a `Dispatch`,
//!   tested on every platform; the Windows-only modules (`ffi`, `loader`, `callbacks`) only
//!   translate pointers.
//! - `dokan2.dll` is loaded at run time from `System32`, so this crate builds and its
//!   dependents load on machines without Dokan; mounting there fails with a message that
//!   names the Dokan installer ([`errors::DOKAN_RELEASES_URL`]).
//!
//! Dokan callbacks are synchronous: each blocks its Dokan worker thread until the dispatcher
//! answers, while keeping the driver's own timeout from firing ([`timeout`]). The thread that
//! runs the handlers (the JavaScript thread, for the Node.js addon) is never blocked.

pub mod config;
mod context;
pub mod errors;
mod mount;
#[cfg(any(windows, test))]
mod notify;
pub mod ops;
mod paths;
pub mod request;
pub mod security;
pub mod timeout;

#[cfg(windows)]
mod callbacks;
#[cfg(windows)]
mod ffi;
#[cfg(windows)]
mod loader;

pub use errors::{DokanMountError, DokanUnavailable};
pub use mount::{probe, DokanInstall, DokanMount, DokanNotifier};
