//! The security descriptor every file and directory of a Windows mount reports, for both
//! backends.
//!
//! Handlers speak POSIX modes, not Windows ACLs: no operation carries a security descriptor
//! to them or from them. Both backends therefore answer every query with one fixed, permissive
//! descriptor, and refuse requests to change it (`STATUS_NOT_IMPLEMENTED` on Dokan, WinFsp's
//! `STATUS_INVALID_DEVICE_REQUEST`): access is really decided by the handlers, which refuse
//! what they refuse with `EACCES`.
//!
//! The descriptor's ACEs are inherited by files and subdirectories (`OICI`), as on an NTFS
//! volume's root and in Dokan's memfs sample, and unlike WinFsp's memfs sample, whose root
//! ACEs are not inheritable. Every file reports the very ACEs its directory reports, so only
//! the inheritable form describes truthfully what a directory's children get; with plain ACEs
//! Windows would tell anyone who asks (Explorer's "Applies to", `icacls`, a copy that keeps
//! security) that new children get nothing from their directory, while they get full access.
//! Access checks are the same either way: inheritance flags without `IO` (inherit only) do
//! not change what an ACE grants on the object itself. `docs/architecture.md` records the
//! decision.
//!
//! The descriptor is written in SDDL; the Windows side of each backend converts it with
//! `ConvertStringSecurityDescriptorToSecurityDescriptorW`.

use crate::windows::ntstatus::STATUS_BUFFER_OVERFLOW;

/// `SECURITY_INFORMATION` bit: the owner.
pub const OWNER_SECURITY_INFORMATION: u32 = 0x1;
/// `SECURITY_INFORMATION` bit: the primary group.
pub const GROUP_SECURITY_INFORMATION: u32 = 0x2;
/// `SECURITY_INFORMATION` bit: the discretionary ACL.
pub const DACL_SECURITY_INFORMATION: u32 = 0x4;
/// `SECURITY_INFORMATION` bit: the system ACL (auditing), which is never reported.
pub const SACL_SECURITY_INFORMATION: u32 = 0x8;

/// Owner: built-in Administrators.
const OWNER: &str = "O:BA";
/// Primary group: built-in Administrators.
const GROUP: &str = "G:BA";
/// A protected DACL (`P`: nothing above the volume adds to it) granting full access (`FA`),
/// inherited by files and subdirectories (`OICI`), to SYSTEM, Administrators and Everyone.
const DACL: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)";

/// The whole descriptor, in SDDL: owner, group and DACL.
pub const SDDL: &str = "O:BAG:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)";

/// The SDDL text of the descriptor restricted to the parts `information` asks for (owner,
/// group, DACL), as `GetFileSecurity` answers. A request for the SACL alone gets an empty
/// descriptor: there is no SACL to report.
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

/// Copies the self-relative `descriptor` into `buffer`, as both backends' security callbacks
/// report a descriptor, and returns its size in bytes.
///
/// `capacity` is the size of the caller's buffer. A descriptor larger than that, or a call
/// without a buffer that needs one, is not copied: the answer is
/// `Err((STATUS_BUFFER_OVERFLOW, size needed))`, which tells the caller to ask again with a
/// larger buffer. A call without a buffer and with a capacity that would fit only asks for the
/// size, and gets it.
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

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u32 = OWNER_SECURITY_INFORMATION
        | GROUP_SECURITY_INFORMATION
        | DACL_SECURITY_INFORMATION
        | SACL_SECURITY_INFORMATION;

    #[test]
    fn only_the_requested_parts_are_written() {
        assert_eq!(sddl(ALL), SDDL);
        assert_eq!(sddl(OWNER_SECURITY_INFORMATION), "O:BA");
        assert_eq!(
            sddl(GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION),
            "G:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)"
        );
        assert_eq!(sddl(SACL_SECURITY_INFORMATION), "");
        assert_eq!(sddl(0), "");
    }

    /// Every ACE of the DACL: its flags and trustee.
    fn aces(sddl: &str) -> Vec<(&str, &str)> {
        let dacl = &sddl[sddl.find("D:P").expect("a protected DACL") + 3..];
        dacl.trim_start_matches('(')
            .trim_end_matches(')')
            .split(")(")
            .map(|ace| {
                let fields: Vec<&str> = ace.split(';').collect();
                assert_eq!(fields.len(), 6, "{ace}");
                assert_eq!(
                    (fields[0], fields[2]),
                    ("A", "FA"),
                    "{ace}: allows full access"
                );
                (fields[1], fields[5])
            })
            .collect()
    }

    #[test]
    fn every_ace_is_inherited_by_files_and_subdirectories() {
        assert_eq!(
            aces(SDDL),
            [("OICI", "SY"), ("OICI", "BA"), ("OICI", "WD")],
            "SYSTEM, Administrators and Everyone, each inherited by files (OI) and \
             subdirectories (CI), and none inherit-only"
        );
    }

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
}
