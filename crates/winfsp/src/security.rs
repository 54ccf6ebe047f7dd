//! The security descriptors the files of a mount report: the ones both backends share
//! ([`mountkit_core::windows::security`]), built by Windows for each GetSecurityByName and
//! GetSecurity and copied out by WinFsp's security callbacks.

#[cfg(windows)]
pub(crate) use mountkit_core::windows::security::copy_descriptor;
#[cfg(windows)]
pub(crate) use mountkit_windows::descriptor_from_sddl;

#[cfg(all(test, windows))]
mod tests {
    use super::*;
    use mountkit_core::windows::security::{
        sddl, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
        SDDL,
    };
    use mountkit_windows::sddl_from_descriptor;

    /// WinFsp is given the whole descriptor and answers each query with the parts asked for
    /// itself; every part must read back as the shared descriptor's.
    #[test]
    fn the_volume_descriptor_is_the_shared_one() {
        let descriptor = descriptor_from_sddl(SDDL).unwrap();
        for information in [
            OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            DACL_SECURITY_INFORMATION,
            OWNER_SECURITY_INFORMATION,
        ] {
            assert_eq!(
                sddl_from_descriptor(&descriptor, information).unwrap(),
                sddl(information)
            );
        }
    }
}
