//! # mountkit-windows
//!
//! The Win32 side that mountkit's WinFsp and Dokan backends share. What a Windows request
//! *means* lives in [`mountkit_core::windows`] and is tested everywhere; this crate holds only
//! what needs raw pointers or Windows itself:
//!
//! - [`wide_from_ptr`]: the UTF-16 units of a NUL-terminated string a driver library passed
//!   (compiles everywhere, since it is plain pointer reading).
//! - `descriptor_from_sddl` and `sddl_from_descriptor` (Windows only): the security
//!   descriptors of [`mountkit_core::windows::security`] built by Windows, and read back.
//! - `mounting_principals` (Windows only): the mounting process's user and primary group and
//!   the machine's domains, which the per-file descriptors map ids to.
//! - `file_security` (Windows only): what both backends' files report, per file from those
//!   principals or the fixed descriptor, decided once.
//! - `Library` (Windows only): a driver's DLL loaded at run time, by its full path (WinFsp)
//!   or from `System32` only (Dokan), never unloaded; its functions taken with their real
//!   signatures, and failures as facts (`LoadError`, `MissingFunction`) that each backend
//!   words itself. `system_directory` says where `System32` is.

/// The UTF-16 units of a NUL-terminated string, without the NUL; empty for a null pointer.
///
/// # Safety
///
/// `text` must be null or point to a NUL-terminated UTF-16 string that stays valid and
/// unchanged for `'a`.
pub unsafe fn wide_from_ptr<'a>(text: *const u16) -> &'a [u16] {
    if text.is_null() {
        return &[];
    }
    let mut length = 0;
    // SAFETY: the string is NUL-terminated, so every unit up to and including the NUL is
    // readable.
    while unsafe { *text.add(length) } != 0 {
        length += 1;
    }
    // SAFETY: the `length` units before the NUL were just read and stay valid for `'a`.
    unsafe { std::slice::from_raw_parts(text, length) }
}

#[cfg(windows)]
mod library;
#[cfg(windows)]
mod principals;
#[cfg(windows)]
mod security;

#[cfg(windows)]
pub use library::{system_directory, Library, LoadError, MissingFunction};
#[cfg(windows)]
pub use principals::{file_security, mounting_principals};
#[cfg(windows)]
pub use security::{descriptor_from_sddl, sddl_from_descriptor, sddl_of_parts};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_end_at_their_nul() {
        let text: Vec<u16> = "M:\\dir\0junk".encode_utf16().collect();
        // SAFETY: `text` holds a NUL and outlives the slice.
        let units = unsafe { wide_from_ptr(text.as_ptr()) };
        assert_eq!(String::from_utf16(units).unwrap(), "M:\\dir");
        // SAFETY: a null pointer is allowed.
        assert!(unsafe { wide_from_ptr(std::ptr::null()) }.is_empty());
        let empty = [0u16];
        // SAFETY: `empty` is a NUL-terminated string.
        assert!(unsafe { wide_from_ptr(empty.as_ptr()) }.is_empty());
    }
}
