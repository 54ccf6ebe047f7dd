//! The security descriptor every file of a Dokan mount reports: the one both backends share
//! ([`mountkit_core::windows::security`]), restricted to the parts each `GetFileSecurity`
//! asks for. `SetFileSecurity` is refused with `STATUS_NOT_IMPLEMENTED`: descriptors are never
//! forwarded to handlers, and pretending to store one would lie.

pub use mountkit_core::windows::security::{
    sddl, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    SACL_SECURITY_INFORMATION,
};
