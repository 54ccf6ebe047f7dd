//! Windows file-system semantics, as pure functions and state machines over the core's
//! neutral types.
//!
//! The WinFsp and Dokan backends receive Windows requests (`NtCreateFile` dispositions,
//! delete-on-close, DOS wildcards, FILETIMEs, file attributes, UTF-16 names) and must answer
//! them the way NTFS would, while the handlers underneath speak POSIX. Everything that
//! decides *what a Windows request means* lives here, free of Windows APIs, so it compiles and
//! is tested on every platform:
//!
//! - [`ntstatus`]: NTSTATUS codes, `Errno` ↔ NTSTATUS translation, and the `NtError` results
//!   the backends' callback logic returns.
//! - [`create`]: create dispositions, options and access masks → open, create or mkdir.
//! - [`delete`]: delete-pending state, deletion at the last cleanup.
//! - [`rename`]: what a rename may replace, and the fallback for handlers that cannot refuse
//!   to replace.
//! - [`wildcard`]: `FsRtlIsNameInExpression` pattern matching.
//! - [`enumerate`]: listing order, marker resumption and pattern filtering.
//! - [`filetime`]: FILETIME ↔ `SystemTime` and JavaScript milliseconds.
//! - [`attributes`]: `FILE_ATTRIBUTE_*` ↔ [`Stat`](crate::Stat).
//! - [`names`]: UTF-16 ↔ mountkit paths, name validity, named streams, case folding.
//! - [`lookup`]: finding the stored spelling of a name on a case-insensitive volume.
//! - [`options`]: mount point, label, drive type and sizes shared by both backends.
//! - [`security`]: the security descriptors both backends report (each file's, or one fixed
//!   descriptor), how they change and are inherited, and how they are copied out.
//! - [`symlink`]: symbolic links as `IO_REPARSE_TAG_SYMLINK` reparse data, and their targets
//!   between POSIX and Windows.
//! - [`wide`]: UTF-16 text in and out, NUL-terminated or counted.

pub mod attributes;
pub mod create;
pub mod delete;
pub mod enumerate;
pub mod filetime;
pub mod lookup;
pub mod names;
pub mod notify;
pub mod ntstatus;
pub mod options;
pub mod rename;
pub mod security;
pub mod symlink;
pub mod wide;
pub mod wildcard;

pub use attributes::{
    apply_attributes, attributes_at_creation, attributes_from_stat, windows_attributes,
};
pub use create::{resolve_create, CreateAction, CreateIntent};
pub use delete::{can_delete, deletion_status, CleanupOutcome, DeleteState, PendingDelete};
pub use enumerate::{
    compare_names, listing_order, matching, prepare_listing, resume_after, ListingEntry,
};
pub use filetime::{
    filetime_from_js_millis, filetime_from_system_time, js_millis_from_filetime, requested_time,
    system_time_from_filetime, UNIX_EPOCH_FILETIME,
};
pub use lookup::{find_listed, look_up, Found, Namespace};
pub use names::{
    path_from_windows, path_to_windows, path_to_windows_nul, split_stream, upcase_unit,
    validate_component,
};
pub use notify::{windows_notifications, WindowsNotification};
pub use ntstatus::{
    describe_ntstatus, errno_to_ntstatus, nt_success, ntstatus_name, ntstatus_to_errno, status_of,
    NtError, NtResult,
};
pub use options::{label_share_prefix, DriveType, InvalidOption, MountPoint, WindowsOptions};
pub use rename::{check_rename, rename_falling_back};
pub use symlink::{posix_target, resolve_target, windows_target, SymlinkData, TargetOutsideVolume};
pub use wide::{text_until_nul, to_wide_nul, until_nul};
pub use wildcard::{dos_name_matches, DosExpression};
