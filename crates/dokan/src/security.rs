//! The security descriptors the files of a Dokan mount report: the ones both backends share
//! ([`mountkit_core::windows::security`]), restricted to the parts each `GetFileSecurity`
//! asks for ([`restrict`]), since Dokan, unlike WinFsp, does not pick them out itself.
//! `SetFileSecurity` reaches the `set_security` handler with the whole merged descriptor, and
//! is refused with `STATUS_NOT_IMPLEMENTED` without one: pretending to store it would lie.

pub use mountkit_core::windows::security::{
    restrict, sddl, FileSecurity, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION, SACL_SECURITY_INFORMATION,
};

#[cfg(all(test, windows))]
mod tests {
    use super::*;
    use mountkit_core::windows::security::posix_sddl;
    use mountkit_windows::{descriptor_from_sddl, sddl_from_descriptor};

    /// Each part Dokan may ask for converts on its own, and Windows writes it back as asked
    /// (Everyone, the group here, as its alias).
    #[test]
    fn every_requested_part_converts_and_reads_back() {
        let whole = posix_sddl("S-1-5-18", "S-1-5-32-545", 0o640, false);
        for (information, expected) in [
            (OWNER_SECURITY_INFORMATION, "O:SY".to_owned()),
            (GROUP_SECURITY_INFORMATION, "G:BU".to_owned()),
            (
                DACL_SECURITY_INFORMATION,
                "D:P(A;;0x1f019f;;;SY)(A;;FR;;;BU)(A;;0x120088;;;WD)".to_owned(),
            ),
            (
                OWNER_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION,
                "O:SY".to_owned(),
            ),
        ] {
            let part = restrict(&whole, information);
            let descriptor = descriptor_from_sddl(&part).unwrap();
            let shown = sddl_from_descriptor(&descriptor, information & !SACL_SECURITY_INFORMATION);
            assert_eq!(shown.unwrap(), expected, "{information:#x}");
        }
    }
}
