//! Conversions between the core's neutral types and the kernel's.

use mountkit_core::{Errno, Opened};

use crate::protocol::abi::{FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_NONSEEKABLE};

/// The `FOPEN_*` flags of an open file's reply.
pub(crate) fn fopen_flags(opened: &Opened) -> u32 {
    let mut flags = 0;
    if opened.direct_io {
        flags |= FOPEN_DIRECT_IO;
    }
    if opened.keep_cache {
        flags |= FOPEN_KEEP_CACHE;
    }
    if opened.nonseekable {
        flags |= FOPEN_NONSEEKABLE;
    }
    flags
}

/// A name from the kernel as UTF-8. Handlers see only UTF-8 paths, so a name that is not
/// valid UTF-8 cannot exist in a mountkit filesystem.
pub(crate) fn name(name: &std::ffi::OsStr) -> Result<&str, Errno> {
    name.to_str().ok_or(Errno::EILSEQ)
}
