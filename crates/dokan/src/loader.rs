//! Loads `dokan2.dll` at run time.
//!
//! Linking against `dokan2.lib` would make the whole addon fail to load on every machine
//! without Dokan, including those that only ever use WinFsp or nothing at all. Instead the
//! library is loaded on first use, from `System32` only (where the Dokan installer puts it, so
//! no other directory can plant an impostor), and each function is looked up by name. Loading
//! happens once per process; the library stays loaded until the process exits, since
//! callbacks into this crate may run until the last mount is gone.

use std::ffi::OsString;
use std::io;
use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;
use std::ptr;
use std::sync::OnceLock;

use windows_sys::Win32::Foundation::FreeLibrary;
use windows_sys::Win32::System::LibraryLoader::{
    GetProcAddress, LoadLibraryExW, LOAD_LIBRARY_SEARCH_SYSTEM32,
};
use windows_sys::Win32::System::SystemInformation::GetSystemDirectoryW;

use crate::errors::DokanUnavailable;
use crate::ffi::{
    DokanCloseHandleFn, DokanCreateFileSystemFn, DokanInitFn, DokanResetTimeoutFn, DokanVersionFn,
};

/// The `dokan2.dll` functions this backend calls.
pub(crate) struct DokanApi {
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

static API: OnceLock<Result<DokanApi, DokanUnavailable>> = OnceLock::new();

/// The loaded library, or why it cannot be loaded (the same answer on every call).
pub(crate) fn api() -> Result<&'static DokanApi, DokanUnavailable> {
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// The path of `file` in the system directory (`System32`), where `LoadLibraryExW` with
/// `LOAD_LIBRARY_SEARCH_SYSTEM32` looks for it; `None` if Windows does not say where that is.
fn in_system_directory(file: &str) -> Option<PathBuf> {
    let mut buffer = [0u16; 260];
    // SAFETY: the buffer is writable for the length passed; the call writes at most that
    // many units and returns how many it wrote, or the size needed when it does not fit.
    let length = unsafe { GetSystemDirectoryW(buffer.as_mut_ptr(), buffer.len() as u32) };
    let directory = buffer
        .get(..usize::try_from(length).ok()?)
        .filter(|d| !d.is_empty())?;
    Some(PathBuf::from(OsString::from_wide(directory)).join(file))
}

/// The version of an installed Dokan 1 (`dokan1.dll` in `System32`), to tell its users that
/// mountkit needs Dokan 2 rather than that no Dokan is installed.
fn dokan1_version() -> Option<u32> {
    let name: Vec<u16> = "dokan1.dll\0".encode_utf16().collect();
    // SAFETY: as for dokan2.dll in `load`.
    let module =
        unsafe { LoadLibraryExW(name.as_ptr(), ptr::null_mut(), LOAD_LIBRARY_SEARCH_SYSTEM32) };
    if module.is_null() {
        return None;
    }
    // SAFETY: `module` is loaded and the name is NUL-terminated ASCII.
    let version =
        unsafe { GetProcAddress(module, c"DokanVersion".as_ptr().cast()) }.map(|address| {
            // SAFETY: Dokan 1's `ULONG DokanVersion(void)` has the signature of Dokan 2's.
            let version: DokanVersionFn = unsafe { std::mem::transmute(address) };
            // SAFETY: DokanVersion takes no arguments and only reports a constant.
            unsafe { version() }
        });
    // SAFETY: nothing of the module is used after this.
    unsafe { FreeLibrary(module) };
    version
}

fn load() -> Result<DokanApi, DokanUnavailable> {
    let name: Vec<u16> = "dokan2.dll\0".encode_utf16().collect();
    // SAFETY: `name` is a NUL-terminated UTF-16 string that outlives the call; a null file
    // handle is required by the API; the flag limits the search to System32.
    let module =
        unsafe { LoadLibraryExW(name.as_ptr(), ptr::null_mut(), LOAD_LIBRARY_SEARCH_SYSTEM32) };
    if module.is_null() {
        let detail = io::Error::last_os_error().to_string();
        let present = in_system_directory("dokan2.dll").is_some_and(|path| path.exists());
        return Err(DokanUnavailable::library_not_loaded(
            present,
            dokan1_version,
            detail,
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
                None => return Err(DokanUnavailable::MissingFunction { name: $name }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_looked_for_in_system32() {
        let kernel32 = in_system_directory("kernel32.dll").expect("Windows names System32");
        assert!(kernel32.exists(), "{}", kernel32.display());
        let directory = kernel32.parent().unwrap().to_string_lossy().to_lowercase();
        assert!(directory.ends_with("system32"), "{directory}");
        assert!(!in_system_directory("mountkit-no-such.dll")
            .unwrap()
            .exists());
    }
}
