//! Loads `dokan2.dll` at run time.
//!
//! Linking against `dokan2.lib` would make the whole addon fail to load on every machine
//! without Dokan, including those that only ever use WinFsp or nothing at all. Instead the
//! library is loaded on first use, from `System32` only (where the Dokan installer puts it, so
//! no other directory can plant an impostor), and each function is looked up by name. Loading
//! itself is `mountkit_windows::Library` (shared with the WinFsp backend), which never unloads
//! a library: callbacks into this crate may run until the last mount is gone. What is Dokan's
//! own stays here: which functions to bind, and what a failure to load means (a missing,
//! broken or Dokan 1 installation).

use std::io;
use std::sync::OnceLock;

use mountkit_windows::{system_directory, Library};

use crate::errors::DokanUnavailable;
use crate::ffi::{
    DokanCloseHandleFn, DokanCreateFileSystemFn, DokanInitFn, DokanNotifyNameFn,
    DokanNotifyRenameFn, DokanNotifyUpdateFn, DokanResetTimeoutFn, DokanVersionFn,
};

/// The `dokan2.dll` functions this backend calls.
pub(crate) struct DokanApi {
    /// `DokanInit`: must run once before the first mount.
    pub init: DokanInitFn,
    /// `DokanCreateFileSystem`: mounts and returns once the volume is up.
    pub create_file_system: DokanCreateFileSystemFn,
    /// `DokanCloseHandle`: unmounts and waits until every callback has returned.
    pub close_handle: DokanCloseHandleFn,
    /// `DokanResetTimeout`: extends the driver's timeout of the request being served.
    pub reset_timeout: DokanResetTimeoutFn,
    /// `DokanNotifyCreate`: reports a file or directory that appeared.
    pub notify_create: DokanNotifyNameFn,
    /// `DokanNotifyDelete`: reports a file or directory that went away.
    pub notify_delete: DokanNotifyNameFn,
    /// `DokanNotifyUpdate`: reports a file or directory that changed.
    pub notify_update: DokanNotifyUpdateFn,
    /// `DokanNotifyRename`: reports a file or directory that moved.
    pub notify_rename: DokanNotifyRenameFn,
    /// `DokanVersion`: the library version without dots (210 is 2.1.0).
    pub version: DokanVersionFn,
    /// `DokanDriverVersion`: the driver's protocol version, 0 if the driver does not answer.
    pub driver_version: DokanVersionFn,
}

static API: OnceLock<Result<DokanApi, DokanUnavailable>> = OnceLock::new();

/// The loaded library, or why it cannot be loaded (the same answer on every call).
pub(crate) fn api() -> Result<&'static DokanApi, DokanUnavailable> {
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// The version of an installed Dokan 1 (`dokan1.dll` in `System32`), to tell its users that
/// mountkit needs Dokan 2 rather than that no Dokan is installed.
fn dokan1_version() -> Option<u32> {
    let dokan1 = Library::open_from_system32("dokan1.dll").ok()?;
    // SAFETY: Dokan 1's `ULONG DokanVersion(void)` has the signature of Dokan 2's.
    let version: DokanVersionFn = unsafe { dokan1.function("DokanVersion") }.ok()?;
    // SAFETY: DokanVersion takes no arguments and only reports a constant.
    Some(unsafe { version() })
}

fn load() -> Result<DokanApi, DokanUnavailable> {
    let library = Library::open_from_system32("dokan2.dll").map_err(|error| {
        let detail = io::Error::from_raw_os_error(error.code as i32).to_string();
        let present = system_directory().is_some_and(|system| system.join("dokan2.dll").exists());
        DokanUnavailable::library_not_loaded(present, dokan1_version, detail)
    })?;
    macro_rules! bind {
        ($name:literal) => {
            // SAFETY: the export has the C signature of the field this initializes (declared
            // in ffi.rs from dokan.h), and the library is never unloaded.
            unsafe { library.function($name) }
                .map_err(|_| DokanUnavailable::MissingFunction { name: $name })?
        };
    }
    Ok(DokanApi {
        init: bind!("DokanInit"),
        create_file_system: bind!("DokanCreateFileSystem"),
        close_handle: bind!("DokanCloseHandle"),
        reset_timeout: bind!("DokanResetTimeout"),
        notify_create: bind!("DokanNotifyCreate"),
        notify_delete: bind!("DokanNotifyDelete"),
        notify_update: bind!("DokanNotifyUpdate"),
        notify_rename: bind!("DokanNotifyRename"),
        version: bind!("DokanVersion"),
        driver_version: bind!("DokanDriverVersion"),
    })
}
