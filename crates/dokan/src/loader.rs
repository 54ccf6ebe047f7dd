//! Loads `dokan2.dll` at run time.
//!
//! Linking against `dokan2.lib` would make the whole addon fail to load on every machine
//! without Dokan, including those that only ever use WinFsp or nothing at all. Instead the
//! library is loaded on first use, from `System32` only (where the Dokan installer puts it, so
//! no other directory can plant an impostor), and each function is looked up by name. Loading
//! happens once per process; the library stays loaded until the process exits, since
//! callbacks into this crate may run until the last mount is gone.

use std::io;
use std::ptr;
use std::sync::OnceLock;

use windows_sys::Win32::System::LibraryLoader::{
    GetProcAddress, LoadLibraryExW, LOAD_LIBRARY_SEARCH_SYSTEM32,
};

use crate::errors::{library_missing_message, missing_symbol_message};
use crate::ffi::{
    DokanCloseHandleFn, DokanCreateFileSystemFn, DokanInitFn, DokanResetTimeoutFn, DokanVersionFn,
};

/// The `dokan2.dll` functions this backend calls.
pub struct DokanApi {
    /// `DokanInit`: must run once before the first mount.
    pub init: DokanInitFn,
    /// `DokanShutdown`: releases what `DokanInit` set up, after the last unmount.
    pub shutdown: DokanInitFn,
    /// `DokanCreateFileSystem`: mounts and returns once the volume is up.
    pub create_file_system: DokanCreateFileSystemFn,
    /// `DokanCloseHandle`: unmounts and waits until every callback has returned.
    pub close_handle: DokanCloseHandleFn,
    /// `DokanResetTimeout`: extends the driver's timeout of the request being served.
    pub reset_timeout: DokanResetTimeoutFn,
    /// `DokanVersion`: the library version without dots (210 is 2.1.0).
    pub version: DokanVersionFn,
    /// `DokanDriverVersion`: the driver's protocol version, 0 if the driver does not answer.
    pub driver_version: DokanVersionFn,
}

static API: OnceLock<Result<DokanApi, String>> = OnceLock::new();

/// The loaded library, or the message explaining why it cannot be loaded (the same message
/// on every call).
pub fn api() -> Result<&'static DokanApi, String> {
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<DokanApi, String> {
    let name: Vec<u16> = "dokan2.dll\0".encode_utf16().collect();
    // SAFETY: `name` is a NUL-terminated UTF-16 string that outlives the call; a null file
    // handle is required by the API; the flag limits the search to System32.
    let module =
        unsafe { LoadLibraryExW(name.as_ptr(), ptr::null_mut(), LOAD_LIBRARY_SEARCH_SYSTEM32) };
    if module.is_null() {
        return Err(library_missing_message(
            &io::Error::last_os_error().to_string(),
        ));
    }
    macro_rules! symbol {
        ($name:literal as $ty:ty) => {{
            // SAFETY: `module` is a loaded library that is never unloaded, and the name is a
            // NUL-terminated ASCII string.
            let address = unsafe { GetProcAddress(module, concat!($name, "\0").as_ptr()) };
            match address {
                // SAFETY: the export has the C signature `$ty` describes (from dokan.h), and
                // both are plain function pointers of the same size.
                Some(function) => unsafe {
                    std::mem::transmute::<unsafe extern "system" fn() -> isize, $ty>(function)
                },
                None => return Err(missing_symbol_message($name)),
            }
        }};
    }
    Ok(DokanApi {
        init: symbol!("DokanInit" as DokanInitFn),
        shutdown: symbol!("DokanShutdown" as DokanInitFn),
        create_file_system: symbol!("DokanCreateFileSystem" as DokanCreateFileSystemFn),
        close_handle: symbol!("DokanCloseHandle" as DokanCloseHandleFn),
        reset_timeout: symbol!("DokanResetTimeout" as DokanResetTimeoutFn),
        version: symbol!("DokanVersion" as DokanVersionFn),
        driver_version: symbol!("DokanDriverVersion" as DokanVersionFn),
    })
}
