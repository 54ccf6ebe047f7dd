//! A driver's DLL, loaded at run time and never unloaded.
//!
//! Neither backend links against its driver's import library, so the addon loads on machines
//! without WinFsp or Dokan; each backend loads its DLL here on first use, from one place only
//! (a full path, or `System32`), never through the DLL search path, so a stray copy in the
//! current directory or on `PATH` cannot be picked up instead. A loaded library stays loaded
//! for the life of the process: the driver's threads and the backend's callbacks may run until
//! it ends. Failures are facts (the path, the Windows error code, the function's name); each
//! backend words them for its users.

use std::ffi::{CString, OsString};
use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;

use windows_sys::Win32::Foundation::HMODULE;
use windows_sys::Win32::System::LibraryLoader::{
    GetProcAddress, LoadLibraryExW, LoadLibraryW, LOAD_LIBRARY_SEARCH_SYSTEM32,
};
use windows_sys::Win32::System::SystemInformation::GetSystemDirectoryW;

use mountkit_core::windows::wide::to_wide_nul;

/// What `GetProcAddress` returns: the address of an export, whatever its real signature.
type Export = unsafe extern "system" fn() -> isize;

/// A DLL that did not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The path it was loaded by: a full path, or a file name looked up in `System32`.
    pub path: String,
    /// The Windows error code the load left (`GetLastError`): 126 (`ERROR_MOD_NOT_FOUND`) for
    /// a missing file or a missing library it needs, 193 (`ERROR_BAD_EXE_FORMAT`) for a DLL
    /// of another processor.
    pub code: u32,
}

/// A loaded DLL that lacks a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingFunction {
    /// The path the DLL was loaded by.
    pub path: String,
    /// The function's name.
    pub function: String,
}

/// A loaded DLL. It is never unloaded, so the functions taken from it stay valid for the
/// life of the process.
#[derive(Debug)]
pub struct Library {
    module: HMODULE,
    path: String,
}

// SAFETY: a module handle is a process-wide value that any thread may use; the module is
// never freed.
unsafe impl Send for Library {}
// SAFETY: as above; `GetProcAddress` may be called from any thread.
unsafe impl Sync for Library {}

impl Library {
    /// Loads the DLL at the full path `path` (`LoadLibraryW`).
    pub fn open(path: &str) -> Result<Library, LoadError> {
        let wide_path = to_wide_nul(path);
        // SAFETY: `wide_path` is a NUL-terminated string that outlives the call.
        let module = unsafe { LoadLibraryW(wide_path.as_ptr()) };
        Library::loaded(module, path)
    }

    /// Loads the DLL `file` from the system directory (`System32`) and nowhere else
    /// (`LoadLibraryExW` with `LOAD_LIBRARY_SEARCH_SYSTEM32`).
    pub fn open_from_system32(file: &str) -> Result<Library, LoadError> {
        let wide_file = to_wide_nul(file);
        // SAFETY: `wide_file` is a NUL-terminated string that outlives the call; the file
        // handle must be null; the flag limits the search to System32.
        let module = unsafe {
            LoadLibraryExW(
                wide_file.as_ptr(),
                std::ptr::null_mut(),
                LOAD_LIBRARY_SEARCH_SYSTEM32,
            )
        };
        Library::loaded(module, file)
    }

    /// The library `LoadLibraryW` or `LoadLibraryExW` just returned for `path`, or the error
    /// it left for a null `module`.
    fn loaded(module: HMODULE, path: &str) -> Result<Library, LoadError> {
        if module.is_null() {
            let error = std::io::Error::last_os_error();
            return Err(LoadError {
                path: path.to_owned(),
                code: error.raw_os_error().unwrap_or_default() as u32,
            });
        }
        Ok(Library {
            module,
            path: path.to_owned(),
        })
    }

    /// The path the DLL was loaded by.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The exported function `name`, as the function-pointer type `F`.
    ///
    /// # Safety
    ///
    /// `F` must be a function-pointer type (`unsafe extern "C" fn(…) -> …` or
    /// `extern "system"`) with the export's real signature and calling convention. That `F`
    /// has a function pointer's size is checked when this compiles.
    pub unsafe fn function<F: Copy>(&self, name: &str) -> Result<F, MissingFunction> {
        const { assert!(size_of::<F>() == size_of::<Export>()) };
        let missing = || MissingFunction {
            path: self.path.clone(),
            function: name.to_owned(),
        };
        // A name with a NUL inside cannot name an export.
        let c_name = CString::new(name).map_err(|_| missing())?;
        // SAFETY: `module` is loaded and never freed, and `c_name` is NUL-terminated.
        let export = unsafe { GetProcAddress(self.module, c_name.as_ptr().cast()) };
        let export = export.ok_or_else(missing)?;
        // SAFETY: `F` is a function pointer of the same size (checked above), with the
        // signature the caller vouches for.
        Ok(unsafe { std::mem::transmute_copy::<Export, F>(&export) })
    }
}

/// The system directory (`System32`), where [`Library::open_from_system32`] looks; `None` if
/// Windows does not say where it is.
pub fn system_directory() -> Option<PathBuf> {
    // MAX_PATH: the system directory is never longer.
    let mut buffer = [0u16; 260];
    // SAFETY: the buffer is writable for the length passed; the call writes at most that many
    // units and returns how many it wrote, or the size needed when it does not fit.
    let length = unsafe { GetSystemDirectoryW(buffer.as_mut_ptr(), buffer.len() as u32) };
    let directory = buffer
        .get(..usize::try_from(length).ok()?)
        .filter(|directory| !directory.is_empty())?;
    Some(PathBuf::from(OsString::from_wide(directory)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ERROR_MOD_NOT_FOUND`.
    const MODULE_NOT_FOUND: u32 = 126;

    type GetTickCount = unsafe extern "system" fn() -> u32;

    fn kernel32_path() -> String {
        let path = system_directory()
            .expect("Windows names System32")
            .join("kernel32.dll");
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn the_system_directory_is_system32() {
        let directory = system_directory().expect("Windows names System32");
        let name = directory.to_string_lossy().to_lowercase();
        assert!(name.ends_with("system32"), "{name}");
        assert!(directory.join("kernel32.dll").is_file());
        assert!(!directory.join("mountkit-no-such.dll").exists());
    }

    #[test]
    fn a_library_opened_by_its_full_path_gives_its_functions() {
        let path = kernel32_path();
        let kernel32 = Library::open(&path).unwrap();
        assert_eq!(kernel32.path(), path);
        // SAFETY: `GetTickCount` is `DWORD GetTickCount(void)`, stdcall ("system").
        let tick_count = unsafe { kernel32.function::<GetTickCount>("GetTickCount") }.unwrap();
        // SAFETY: it takes no arguments; kernel32 is never unloaded.
        let ticks = unsafe { tick_count() };
        // SAFETY: as above.
        assert!(unsafe { tick_count() } >= ticks);
    }

    #[test]
    fn a_missing_function_is_named_with_the_library() {
        let kernel32 = Library::open_from_system32("kernel32.dll").unwrap();
        assert_eq!(kernel32.path(), "kernel32.dll");
        // SAFETY: the lookup fails, so nothing is ever called through the type.
        let missing = unsafe { kernel32.function::<GetTickCount>("MountkitNoSuchFunction") };
        assert_eq!(
            missing.unwrap_err(),
            MissingFunction {
                path: "kernel32.dll".to_owned(),
                function: "MountkitNoSuchFunction".to_owned(),
            }
        );
        // SAFETY: as above.
        let nul_inside = unsafe { kernel32.function::<GetTickCount>("GetTickCount\0x") };
        assert_eq!(nul_inside.unwrap_err().function, "GetTickCount\0x");
    }

    #[test]
    fn a_missing_library_fails_with_module_not_found() {
        let directory = system_directory().expect("Windows names System32");
        let path = directory.join("mountkit-no-such.dll");
        let path = path.to_string_lossy().into_owned();
        assert_eq!(
            Library::open(&path).unwrap_err(),
            LoadError {
                path: path.clone(),
                code: MODULE_NOT_FOUND,
            }
        );
        assert_eq!(
            Library::open_from_system32("mountkit-no-such.dll").unwrap_err(),
            LoadError {
                path: "mountkit-no-such.dll".to_owned(),
                code: MODULE_NOT_FOUND,
            }
        );
    }
}
