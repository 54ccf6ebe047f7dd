//! The security descriptor every file of a mount reports.
//!
//! Handlers know nothing of Windows security yet: no operation carries a security descriptor
//! to them or from them. Every file and directory therefore reports one fixed, permissive
//! descriptor, and requests to change a descriptor are refused.

use mountkit_core::windows::ntstatus::STATUS_BUFFER_OVERFLOW;

/// The descriptor, in SDDL: owned by Administrators (`O:BA`, `G:BA`), with a protected DACL
/// (`D:P`) that gives full access (`FA`) to SYSTEM, Administrators and Everyone.
pub const SDDL: &str = "O:BAG:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;WD)";

/// Copies the self-relative `descriptor` into `buffer`, the way WinFsp's security callbacks
/// report a descriptor, and returns its size in bytes.
///
/// `capacity` is the size of the caller's buffer. A descriptor larger than that is not copied,
/// and the answer is `Err(STATUS_BUFFER_OVERFLOW)` with the size needed; otherwise, when a
/// buffer is given, the descriptor is copied into its start.
pub fn copy_descriptor(
    descriptor: &[u8],
    capacity: usize,
    buffer: Option<&mut [u8]>,
) -> Result<usize, (i32, usize)> {
    if descriptor.len() > capacity {
        return Err((STATUS_BUFFER_OVERFLOW, descriptor.len()));
    }
    if let Some(buffer) = buffer {
        buffer[..descriptor.len()].copy_from_slice(descriptor);
    }
    Ok(descriptor.len())
}

/// The self-relative security descriptor that `sddl` describes, built by Windows
/// (`ConvertStringSecurityDescriptorToSecurityDescriptorW`).
#[cfg(windows)]
pub fn descriptor_from_sddl(sddl: &str) -> Result<Vec<u8>, String> {
    use windows_sys::Win32::Foundation::{GetLastError, LocalFree};
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
    };
    use windows_sys::Win32::Security::PSECURITY_DESCRIPTOR;

    let wide: Vec<u16> = sddl.encode_utf16().chain(Some(0)).collect();
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    let mut size = 0u32;
    // SAFETY: `wide` is NUL-terminated and outlives the call; the out-pointers are valid.
    let converted = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            wide.as_ptr(),
            SDDL_REVISION_1,
            &mut descriptor,
            &mut size,
        )
    };
    if converted == 0 {
        // SAFETY: reads the calling thread's last-error value.
        let error = unsafe { GetLastError() };
        return Err(format!(
            "Windows refused the security descriptor {sddl:?} (error {error})"
        ));
    }
    // SAFETY: on success Windows returns a LocalAlloc'ed self-relative descriptor of `size`
    // bytes, which is copied and then freed exactly once.
    let bytes = unsafe {
        let bytes = std::slice::from_raw_parts(descriptor as *const u8, size as usize).to_vec();
        LocalFree(descriptor);
        bytes
    };
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_fit_or_report_their_size() {
        let descriptor = [1u8, 2, 3, 4];
        let mut buffer = [0u8; 8];
        assert_eq!(copy_descriptor(&descriptor, 8, Some(&mut buffer)), Ok(4));
        assert_eq!(&buffer[..4], &descriptor);
        assert_eq!(copy_descriptor(&descriptor, 4, None), Ok(4));
        assert_eq!(
            copy_descriptor(&descriptor, 3, Some(&mut buffer[..3])),
            Err((STATUS_BUFFER_OVERFLOW, 4))
        );
        assert_eq!(
            copy_descriptor(&descriptor, 0, None),
            Err((STATUS_BUFFER_OVERFLOW, 4))
        );
    }

    #[test]
    fn the_descriptor_grants_everyone_full_access() {
        assert!(SDDL.starts_with("O:BAG:BAD:P"));
        for trustee in ["SY", "BA", "WD"] {
            assert!(SDDL.contains(&format!("(A;;FA;;;{trustee})")), "{trustee}");
        }
    }
}
