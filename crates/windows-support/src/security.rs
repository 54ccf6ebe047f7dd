//! Security descriptors between SDDL text and the self-relative bytes the drivers want.

use mountkit_core::windows::security::{
    DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, LABEL_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION, SACL_SECURITY_INFORMATION,
};
use mountkit_core::windows::wide::to_wide_nul;
use std::ffi::c_void;
use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{GetSecurityDescriptorLength, PSECURITY_DESCRIPTOR};

/// The self-relative security descriptor that `sddl` describes, built by Windows
/// (`ConvertStringSecurityDescriptorToSecurityDescriptorW`).
pub fn descriptor_from_sddl(sddl: &str) -> Result<Vec<u8>, String> {
    let wide = to_wide_nul(sddl);
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
    if converted == 0 || descriptor.is_null() {
        return Err(format!(
            "Windows refused the security descriptor {sddl:?} ({})",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: on success Windows returns a LocalAlloc'ed self-relative descriptor of `size`
    // bytes, which is copied and then freed exactly once.
    let bytes = unsafe {
        let bytes = std::slice::from_raw_parts(descriptor.cast::<u8>(), size as usize).to_vec();
        LocalFree(descriptor);
        bytes
    };
    Ok(bytes)
}

/// The SDDL text of the parts `information` names (`SECURITY_INFORMATION` bits) of the
/// self-relative `descriptor`, as Windows writes it
/// (`ConvertSecurityDescriptorToStringSecurityDescriptorW`): what a program asking for the
/// descriptor of a file sees.
pub fn sddl_from_descriptor(descriptor: &[u8], information: u32) -> Result<String, String> {
    let mut text: *mut u16 = std::ptr::null_mut();
    let mut length = 0u32;
    // SAFETY: `descriptor` is a readable self-relative descriptor (Windows validates it); the
    // out-pointers are valid locals.
    let converted = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            descriptor.as_ptr().cast_mut().cast(),
            SDDL_REVISION_1,
            information,
            &mut text,
            &mut length,
        )
    };
    if converted == 0 || text.is_null() {
        return Err(format!(
            "Windows could not write a {}-byte security descriptor as SDDL ({})",
            descriptor.len(),
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: on success `text` is a LocalAlloc'ed NUL-terminated string, read and then freed
    // exactly once.
    let sddl = unsafe {
        let sddl = String::from_utf16_lossy(crate::wide_from_ptr(text));
        LocalFree(text.cast());
        sddl
    };
    Ok(sddl)
}

/// The SDDL text of the parts `information` names (owner, group, DACL, and the whole system ACL
/// when it names that or the mandatory label) of the self-relative descriptor at `descriptor`,
/// as a driver passes a program's change. The system ACL is there for
/// `mountkit_core::windows::security::keepable_change` to judge; it is never stored. It is
/// written whole for the label too because Wine writes a label ACE only as part of the system
/// ACL, where Windows also writes it for `LABEL_SECURITY_INFORMATION` alone.
///
/// # Safety
///
/// `descriptor` must point to a valid self-relative security descriptor that stays readable
/// during the call.
pub unsafe fn sddl_of_parts(descriptor: *const c_void, information: u32) -> Result<String, String> {
    if descriptor.is_null() {
        return Err("a security change arrived without a descriptor".to_owned());
    }
    // SAFETY: as the caller guarantees; the length covers the whole self-relative descriptor.
    let bytes = unsafe {
        let length = GetSecurityDescriptorLength(descriptor.cast_mut()) as usize;
        std::slice::from_raw_parts(descriptor.cast::<u8>(), length)
    };
    let ordinary =
        OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let system = SACL_SECURITY_INFORMATION | LABEL_SECURITY_INFORMATION;
    let parts = match information & system {
        0 => information & ordinary,
        _ => (information & ordinary) | system,
    };
    sddl_from_descriptor(bytes, parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mountkit_core::windows::security::{keepable_change, SDDL};

    #[test]
    fn the_descriptor_reads_back_as_written() {
        let descriptor = descriptor_from_sddl(SDDL).unwrap();
        let all =
            OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
        assert_eq!(sddl_from_descriptor(&descriptor, all).unwrap(), SDDL);
    }

    #[test]
    fn a_change_reads_as_the_parts_it_names() {
        let descriptor = descriptor_from_sddl(SDDL).unwrap();
        // SAFETY: `descriptor` is a valid self-relative descriptor that outlives the call.
        let parts = unsafe {
            sddl_of_parts(
                descriptor.as_ptr().cast(),
                DACL_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION,
            )
        };
        assert_eq!(parts.unwrap(), &SDDL[SDDL.find("D:").unwrap()..]);
    }

    #[test]
    fn a_change_of_the_system_acl_reads_with_its_aces() {
        let descriptor = descriptor_from_sddl("D:(A;;FA;;;WD)S:(AU;SA;FA;;;WD)").unwrap();
        // SAFETY: `descriptor` is a valid self-relative descriptor that outlives the calls.
        let parts = |information| unsafe { sddl_of_parts(descriptor.as_ptr().cast(), information) };
        assert_eq!(
            parts(DACL_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION).unwrap(),
            "D:(A;;FA;;;WD)S:(AU;SA;FA;;;WD)"
        );
        assert_eq!(
            parts(DACL_SECURITY_INFORMATION).unwrap(),
            "D:(A;;FA;;;WD)",
            "a system ACL the change does not name is left out"
        );
        let labelled = descriptor_from_sddl("S:(ML;;NW;;;LW)").unwrap();
        // SAFETY: `labelled` is a valid self-relative descriptor that outlives the call.
        let label = unsafe { sddl_of_parts(labelled.as_ptr().cast(), LABEL_SECURITY_INFORMATION) };
        // Windows writes `S:(ML;;NW;;;LW)`; Wine, which has no SDDL for label ACEs, writes
        // the ACE with an empty type. Either way it is an ACE of the system ACL.
        let label = label.unwrap();
        assert!(
            label.starts_with("S:(") && label.ends_with(";;;LW)"),
            "{label}"
        );
        assert_eq!(
            keepable_change(LABEL_SECURITY_INFORMATION, &label),
            Err(mountkit_core::Errno::EOPNOTSUPP),
            "a label reads as a change that cannot be kept: {label}"
        );
    }

    #[test]
    fn malformed_sddl_is_refused_with_its_text() {
        let error = descriptor_from_sddl("D:(nonsense)").unwrap_err();
        assert!(error.contains("D:(nonsense)"), "{error}");
    }
}
