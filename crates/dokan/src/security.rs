//! The security descriptor every file of a Dokan mount reports.
//!
//! mountkit handlers speak POSIX modes, not Windows ACLs, so this backend answers
//! `GetFileSecurity` with one fixed, permissive descriptor: owned by the Administrators group,
//! granting full access to SYSTEM, Administrators and Everyone, inherited by everything
//! inside a directory. Access is really decided by the handlers, which refuse what they
//! refuse with `EACCES`. `SetFileSecurity` is refused with `STATUS_NOT_IMPLEMENTED`:
//! descriptors are never forwarded to handlers, and pretending to store one would lie.
//!
//! The descriptor is written in SDDL; the Windows side converts it with
//! `ConvertStringSecurityDescriptorToSecurityDescriptorW`.

/// `SECURITY_INFORMATION` bit: the owner.
pub const OWNER_SECURITY_INFORMATION: u32 = 0x1;
/// `SECURITY_INFORMATION` bit: the primary group.
pub const GROUP_SECURITY_INFORMATION: u32 = 0x2;
/// `SECURITY_INFORMATION` bit: the discretionary ACL.
pub const DACL_SECURITY_INFORMATION: u32 = 0x4;
/// `SECURITY_INFORMATION` bit: the system ACL (auditing), which this backend never reports.
pub const SACL_SECURITY_INFORMATION: u32 = 0x8;

/// Owner: built-in Administrators.
const OWNER: &str = "O:BA";
/// Primary group: built-in Administrators.
const GROUP: &str = "G:BA";
/// A protected DACL granting full access, inherited by files and subdirectories, to SYSTEM,
/// Administrators and Everyone.
const DACL: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)";

/// The SDDL text of the fixed descriptor restricted to the parts `information` asks for
/// (owner, group, DACL). A request for the SACL alone gets an empty descriptor: there is no
/// SACL to report.
pub fn sddl(information: u32) -> String {
    let mut text = String::new();
    for (bit, part) in [
        (OWNER_SECURITY_INFORMATION, OWNER),
        (GROUP_SECURITY_INFORMATION, GROUP),
        (DACL_SECURITY_INFORMATION, DACL),
    ] {
        if information & bit != 0 {
            text.push_str(part);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_requested_parts_are_written() {
        let all = OWNER_SECURITY_INFORMATION
            | GROUP_SECURITY_INFORMATION
            | DACL_SECURITY_INFORMATION
            | SACL_SECURITY_INFORMATION;
        assert_eq!(
            sddl(all),
            "O:BAG:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)"
        );
        assert_eq!(sddl(OWNER_SECURITY_INFORMATION), "O:BA");
        assert_eq!(
            sddl(GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION),
            "G:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)"
        );
        assert_eq!(sddl(SACL_SECURITY_INFORMATION), "");
        assert_eq!(sddl(0), "");
    }

    #[test]
    fn everyone_gets_full_access() {
        assert!(sddl(DACL_SECURITY_INFORMATION).contains("(A;OICI;FA;;;WD)"));
    }
}
