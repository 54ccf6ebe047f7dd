//! Who the ids of a mount's files stand for: the mounting process's user and primary group,
//! and the machine's domains, read from Windows once per mount.

use mountkit_core::windows::security::{FileSecurity, Principals};
use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
use windows_sys::Win32::Security::Authentication::Identity::{
    LsaClose, LsaFreeMemory, LsaOpenPolicy, LsaQueryInformationPolicy,
    PolicyAccountDomainInformation, PolicyPrimaryDomainInformation, LSA_HANDLE,
    LSA_OBJECT_ATTRIBUTES, POLICY_ACCOUNT_DOMAIN_INFO, POLICY_INFORMATION_CLASS,
    POLICY_PRIMARY_DOMAIN_INFO, POLICY_VIEW_LOCAL_INFORMATION,
};
use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
use windows_sys::Win32::Security::{
    GetTokenInformation, TokenPrimaryGroup, TokenUser, PSID, TOKEN_INFORMATION_CLASS,
    TOKEN_PRIMARY_GROUP, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// What the files of a mount report: descriptors of their own, from the mounting process's
/// principals ([`mounting_principals`]), when the mount checks permissions
/// (`default_permissions`); the fixed, permissive one when it does not. The error says what
/// Windows refused and what to do.
pub fn file_security(default_permissions: bool) -> Result<FileSecurity, String> {
    if !default_permissions {
        return Ok(FileSecurity::Fixed);
    }
    mounting_principals()
        .map(FileSecurity::Ownership)
        .map_err(|detail| {
            format!(
                "{detail}, so the volume cannot be given its access rules; run this program as \
                 a regular user with a full logon session, or mount with defaultPermissions off"
            )
        })
}

/// The mounting process's user and primary group (from its token) and the machine's account
/// and primary domains (from the local security authority). A domain Windows does not name
/// is `None`; a token that cannot be read is an error.
pub fn mounting_principals() -> Result<Principals, String> {
    let (user, group) = token_sids()?;
    let account_domain = lsa_domain(PolicyAccountDomainInformation, |buffer| {
        // SAFETY: for this class the buffer is a POLICY_ACCOUNT_DOMAIN_INFO.
        unsafe { (*buffer.cast::<POLICY_ACCOUNT_DOMAIN_INFO>()).DomainSid }
    });
    let primary_domain = lsa_domain(PolicyPrimaryDomainInformation, |buffer| {
        // SAFETY: for this class the buffer is a POLICY_PRIMARY_DOMAIN_INFO.
        unsafe { (*buffer.cast::<POLICY_PRIMARY_DOMAIN_INFO>()).Sid }
    });
    Ok(Principals {
        user,
        group,
        account_domain,
        primary_domain,
    })
}

/// The SID strings of the process token's user and primary group.
fn token_sids() -> Result<(String, String), String> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the current-process pseudo handle needs no closing; `token` receives a handle.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(format!(
            "could not open this process's access token to learn who mounts ({})",
            std::io::Error::last_os_error()
        ));
    }
    let user = token_information(token, TokenUser).and_then(|buffer| {
        // SAFETY: TokenUser fills the buffer with a TOKEN_USER whose SID lies inside it.
        sid_string(unsafe { (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid })
    });
    let group = token_information(token, TokenPrimaryGroup).and_then(|buffer| {
        // SAFETY: TokenPrimaryGroup fills the buffer with a TOKEN_PRIMARY_GROUP whose SID lies
        // inside it.
        sid_string(unsafe { (*buffer.as_ptr().cast::<TOKEN_PRIMARY_GROUP>()).PrimaryGroup })
    });
    // SAFETY: `token` was opened above and is closed once.
    unsafe { CloseHandle(token) };
    Ok((user?, group?))
}

/// One class of information about `token`, in a buffer aligned for the structure it holds.
fn token_information(token: HANDLE, class: TOKEN_INFORMATION_CLASS) -> Result<Vec<u64>, String> {
    let mut size = 0u32;
    // SAFETY: a size query: no buffer, `size` receives the size needed.
    unsafe { GetTokenInformation(token, class, std::ptr::null_mut(), 0, &mut size) };
    let mut buffer = vec![0u64; (size as usize).div_ceil(8).max(1)];
    // SAFETY: `buffer` holds at least `size` writable bytes.
    let read =
        unsafe { GetTokenInformation(token, class, buffer.as_mut_ptr().cast(), size, &mut size) };
    if read == 0 {
        return Err(format!(
            "could not read this process's access token to learn who mounts ({})",
            std::io::Error::last_os_error()
        ));
    }
    Ok(buffer)
}

/// A SID as its string form (`S-1-…`).
fn sid_string(sid: PSID) -> Result<String, String> {
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` is a valid SID; `text` receives a LocalAlloc'ed string.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 || text.is_null() {
        return Err(format!(
            "Windows could not write a SID as text ({})",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: on success `text` is a NUL-terminated string, read and then freed once.
    let string = unsafe {
        let string = String::from_utf16_lossy(crate::wide_from_ptr(text));
        LocalFree(text.cast());
        string
    };
    Ok(string)
}

/// The domain SID of one class of the local policy, or `None` when the policy cannot be read
/// or names no domain (a machine in a workgroup has no primary domain SID).
fn lsa_domain(
    class: POLICY_INFORMATION_CLASS,
    sid_of: impl Fn(*mut std::ffi::c_void) -> PSID,
) -> Option<String> {
    let attributes = LSA_OBJECT_ATTRIBUTES::default();
    let mut policy: LSA_HANDLE = 0;
    // SAFETY: the local machine (null name), zeroed attributes as LsaOpenPolicy wants them,
    // and `policy` receives the handle.
    let status = unsafe {
        LsaOpenPolicy(
            std::ptr::null(),
            &attributes,
            POLICY_VIEW_LOCAL_INFORMATION as u32,
            &mut policy,
        )
    };
    if status != 0 {
        return None;
    }
    let mut buffer = std::ptr::null_mut();
    // SAFETY: `policy` is open; `buffer` receives memory the LSA allocated.
    let status = unsafe { LsaQueryInformationPolicy(policy, class, &mut buffer) };
    let domain = (status == 0 && !buffer.is_null())
        .then(|| sid_of(buffer))
        .filter(|sid| !sid.is_null())
        .and_then(|sid| sid_string(sid).ok());
    if !buffer.is_null() {
        // SAFETY: the LSA allocated `buffer`; it is freed once, after its SID was copied.
        unsafe { LsaFreeMemory(buffer) };
    }
    // SAFETY: `policy` was opened above and is closed once.
    unsafe { LsaClose(policy) };
    domain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mounting_user_and_group_are_sids() {
        let principals = mounting_principals().unwrap();
        assert!(principals.user.starts_with("S-1-"), "{principals:?}");
        assert!(principals.group.starts_with("S-1-"), "{principals:?}");
        if let Some(domain) = &principals.account_domain {
            assert!(domain.starts_with("S-1-5-"), "{principals:?}");
        }
    }
}
