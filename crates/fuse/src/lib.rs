//! # mountkit-fuse
//!
//! The Linux backend of mountkit. It mounts through the kernel's FUSE driver (`fuser` mounts
//! and answers the INIT handshake), reads requests with its own request layer on a few
//! threads, each on a cloned descriptor, and hands each one — translated from inode numbers to
//! paths — to a [`mountkit_core::Dispatch`]. Replies go back to the kernel from whichever
//! thread produces them, through the descriptor that delivered the request, so no backend
//! thread ever waits for a filesystem's answer. A dispatcher that waits for work on a thread
//! of its own may also read requests there ([`mountkit_core::Dispatch::attach_pump`]).
//! Where the kernel offers FUSE over io_uring (Linux 6.14+), requests come through a ring a
//! thread of its own serves instead ([`IoUring`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use mountkit_core::{DispatchLimits, FileSystem, FsDispatcher};
//! use mountkit_fuse::{FuseMount, FuseOptions};
//!
//! struct Empty;
//! impl FileSystem for Empty {}
//!
//! let dispatcher = Arc::new(FsDispatcher::new(Empty, DispatchLimits::default()));
//! let mount = FuseMount::mount("/mnt/empty".as_ref(), dispatcher, &FuseOptions::default())?;
//! mount.unmount()?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![cfg(target_os = "linux")]

mod adapter;
mod convert;
mod errors;
mod files;
pub mod inode;
mod listings;
mod mount;
mod protocol;
mod session;
mod uring;

pub use errors::{FuseMountError, FuseSetupProblem};
pub use mount::{
    fuse_invalidations, is_mounted, probe, unmount_path, DataPathReport, FuseInstall, FuseMount,
    FuseOptions, Invalidation, Invalidator, IoUring, MountStats, ReaddirPlus,
};
