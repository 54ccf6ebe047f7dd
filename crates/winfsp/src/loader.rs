//! Finding and loading the WinFsp DLL at run time, the way WinFsp documents it (its
//! `FspLoad` helper): read `InstallDir` from the registry, then load
//! `<InstallDir>\bin\winfsp-<arch>.dll` by its full path.
//!
//! Nothing links against WinFsp, so the addon builds on machines without it and loads on
//! machines without it; only mounting needs it. The DLL is looked up in the registry only,
//! never on `PATH` or in the current directory, so a stray `winfsp-x64.dll` cannot be picked
//! up instead. Loading itself is `mountkit_windows::Library` (shared with the Dokan backend):
//! once loaded the DLL stays loaded for the life of the process, since WinFsp's threads and
//! this crate's callbacks may run until the process ends. What is WinFsp's own stays here:
//! where to look, and how its failures are worded.

use crate::diagnose::{ServiceFacts, INSTALLER_URL};

/// Registry keys under `HKEY_LOCAL_MACHINE` that may hold WinFsp's `InstallDir` value, in the
/// order they are tried. The 32-bit installer writes the first on 64-bit Windows; the second
/// is where a 32-bit process on 32-bit Windows (or through registry redirection) finds it.
pub const INSTALL_KEYS: [&str; 2] = ["SOFTWARE\\WOW6432Node\\WinFsp", "SOFTWARE\\WinFsp"];

/// A processor architecture WinFsp ships a DLL for.
#[cfg(any(windows, test))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arch {
    X64,
    Arm64,
    X86,
}

#[cfg(any(windows, test))]
impl Arch {
    /// The architecture this crate was compiled for, if WinFsp supports it.
    pub(crate) fn current() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Arm64)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::X86)
        } else {
            None
        }
    }

    /// The file name of WinFsp's DLL for this architecture.
    pub(crate) fn dll_name(self) -> &'static str {
        match self {
            Arch::X64 => "winfsp-x64.dll",
            Arch::Arm64 => "winfsp-a64.dll",
            Arch::X86 => "winfsp-x86.dll",
        }
    }
}

/// The full path of the DLL for `arch` in a WinFsp installed in `install_dir` (with or
/// without a trailing backslash): `<install_dir>\bin\<dll>`.
#[cfg(any(windows, test))]
pub(crate) fn dll_path(install_dir: &str, arch: Arch) -> String {
    format!(
        "{}\\bin\\{}",
        install_dir.trim_end_matches(['\\', '/']),
        arch.dll_name()
    )
}

/// What was found of an installed WinFsp, for diagnostics (`mountkit doctor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WinFspInstall {
    /// The installation folder (`InstallDir`).
    pub install_dir: String,
    /// The DLL that was loaded.
    pub dll_path: String,
    /// The DLL's version as `(major, minor)`, from `FspVersion`.
    pub version: (u16, u16),
    /// The driver service the DLL starts, and what the registry says of it.
    pub driver: ServiceFacts,
}

/// The message when WinFsp ships no DLL for the architecture this crate was compiled for.
pub(crate) const NO_DLL_FOR_ARCH: &str = "WinFsp has no DLL for this processor architecture";

/// The message when no WinFsp installation is registered.
pub fn not_installed_message() -> String {
    format!(
        "WinFsp is not installed (no InstallDir value under HKLM\\{} or HKLM\\{}). Install it \
         from {INSTALLER_URL} and try again.",
        INSTALL_KEYS[0], INSTALL_KEYS[1]
    )
}

/// The message when the registered DLL could not be loaded.
pub(crate) fn load_failure_message(dll_path: &str, error: u32) -> String {
    format!(
        "WinFsp is registered, but {dll_path} could not be loaded (Windows error {error}). \
         Reinstall WinFsp from {INSTALLER_URL}."
    )
}

/// The message when the DLL lacks a function this crate needs.
pub(crate) fn missing_function_message(dll_path: &str, function: &str) -> String {
    format!(
        "{dll_path} has no function {function}: this WinFsp is too old for mountkit. Install \
         the current release from {INSTALLER_URL}."
    )
}

/// Reading the registry and loading the DLL: the Windows side of this module.
#[cfg(windows)]
pub(crate) mod win32 {
    use std::ffi::c_void;
    use std::path::Path;

    use mountkit_core::windows::wide::to_wide_nul;
    use mountkit_windows::{Library, LoadError, MissingFunction};
    use windows_sys::Win32::Foundation::ERROR_SUCCESS;
    use windows_sys::Win32::System::Registry::{
        RegCloseKey, RegEnumKeyExW, RegGetValueW, RegOpenKeyExW, HKEY, HKEY_LOCAL_MACHINE,
        KEY_ENUMERATE_SUB_KEYS, RRF_NOEXPAND, RRF_RT_REG_DWORD, RRF_RT_REG_EXPAND_SZ,
        RRF_RT_REG_SZ,
    };

    use super::*;
    use crate::diagnose::{driver_file_path, is_driver_service_name, service_key, SERVICES_KEY};
    use crate::errors::WinFspError;

    /// `SERVICE_FILE_SYSTEM_DRIVER`, the `Type` of WinFsp's driver service.
    const SERVICE_FILE_SYSTEM_DRIVER: u32 = 2;

    /// `RegGetValueW` on `HKEY_LOCAL_MACHINE\subkey`, value `value`, of the types `flags`
    /// allows, into `data` (null to ask for the size only), whose size in bytes `size` gives
    /// and receives. Answers the Windows error code.
    ///
    /// # Safety
    ///
    /// `data` must be null or writable for `*size` bytes.
    unsafe fn get_value(
        subkey: &str,
        value: &str,
        flags: u32,
        data: *mut c_void,
        size: &mut u32,
    ) -> u32 {
        let subkey = to_wide_nul(subkey);
        let value = to_wide_nul(value);
        // SAFETY: the names are NUL-terminated and outlive the call; `data` is null or has
        // `size` writable bytes (the caller's promise).
        unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                subkey.as_ptr(),
                value.as_ptr(),
                flags,
                std::ptr::null_mut(),
                data,
                size,
            )
        }
    }

    /// A string value under `HKEY_LOCAL_MACHINE\subkey`, unexpanded; `None` if the key or the
    /// value is missing or is not a string.
    fn registry_string(subkey: &str, value: &str) -> Option<String> {
        let flags = RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND;
        let mut bytes = 0u32;
        // SAFETY: a null data pointer asks for the size only.
        let status = unsafe { get_value(subkey, value, flags, std::ptr::null_mut(), &mut bytes) };
        if status != ERROR_SUCCESS || bytes == 0 {
            return None;
        }
        let mut buffer = vec![0u16; (bytes as usize).div_ceil(2)];
        let mut size = (buffer.len() * 2) as u32;
        // SAFETY: `buffer` has `size` writable bytes.
        let status =
            unsafe { get_value(subkey, value, flags, buffer.as_mut_ptr().cast(), &mut size) };
        if status != ERROR_SUCCESS {
            return None;
        }
        let end = buffer
            .iter()
            .position(|&unit| unit == 0)
            .unwrap_or(buffer.len());
        String::from_utf16(&buffer[..end]).ok()
    }

    /// A `REG_DWORD` value under `HKEY_LOCAL_MACHINE\subkey`; `None` if it is missing or of
    /// another type.
    fn registry_dword(subkey: &str, value: &str) -> Option<u32> {
        let mut data = 0u32;
        let mut size = size_of::<u32>() as u32;
        let data_pointer = std::ptr::from_mut(&mut data).cast();
        // SAFETY: `data` has `size` writable bytes.
        let status = unsafe { get_value(subkey, value, RRF_RT_REG_DWORD, data_pointer, &mut size) };
        (status == ERROR_SUCCESS).then_some(data)
    }

    /// The WinFsp driver services registered under [`SERVICES_KEY`]: the file system driver
    /// services named `WinFsp` or `WinFsp+…`, which WinFsp's DLL chooses its driver from
    /// (`FspFsctlEnumServices`).
    pub(crate) fn winfsp_driver_services() -> Vec<String> {
        let services = to_wide_nul(SERVICES_KEY);
        let mut key: HKEY = std::ptr::null_mut();
        // SAFETY: the name is NUL-terminated and `key` receives the opened key.
        let status = unsafe {
            RegOpenKeyExW(
                HKEY_LOCAL_MACHINE,
                services.as_ptr(),
                0,
                KEY_ENUMERATE_SUB_KEYS,
                &mut key,
            )
        };
        if status != ERROR_SUCCESS {
            return Vec::new();
        }
        let mut names = Vec::new();
        // A key name has at most 255 characters.
        let mut buffer = [0u16; 256];
        for index in 0.. {
            let mut length = buffer.len() as u32;
            // SAFETY: `key` is open, `buffer` has `length` writable units, and the optional
            // outputs are null.
            let status = unsafe {
                RegEnumKeyExW(
                    key,
                    index,
                    buffer.as_mut_ptr(),
                    &mut length,
                    std::ptr::null(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            // The end of the list, or a key that changed meanwhile: what was read is the answer.
            if status != ERROR_SUCCESS {
                break;
            }
            let name = String::from_utf16_lossy(&buffer[..length as usize]);
            if is_driver_service_name(&name) {
                names.push(name);
            }
        }
        // SAFETY: `key` was opened above and is closed once.
        unsafe { RegCloseKey(key) };
        names.retain(|name| {
            registry_dword(&service_key(name), "Type") == Some(SERVICE_FILE_SYSTEM_DRIVER)
        });
        names
    }

    /// WinFsp's installation folder, from the first of [`INSTALL_KEYS`] that has it.
    pub(crate) fn install_dir() -> Option<String> {
        INSTALL_KEYS
            .iter()
            .find_map(|key| registry_string(key, "InstallDir"))
    }

    /// What the registry says about the service `name`, and whether the file it runs exists.
    pub(crate) fn service_facts(name: &str) -> ServiceFacts {
        let image_path = registry_string(&service_key(name), "ImagePath");
        let system_root = std::env::var("SystemRoot").ok();
        let file = image_path
            .as_deref()
            .zip(system_root.as_deref())
            .map(|(path, root)| driver_file_path(path, root));
        let path = file.as_deref().map(Path::new);
        let file_exists = path.map(Path::is_file);
        let folder_exists = path.map(|path| path.parent().is_some_and(Path::is_dir));
        ServiceFacts {
            name: name.to_owned(),
            image_path,
            file,
            file_exists,
            folder_exists,
        }
    }

    /// Finds WinFsp in the registry and loads its DLL for this process's architecture, by its
    /// full path.
    pub(crate) fn load() -> Result<Library, WinFspError> {
        let arch = Arch::current().ok_or(WinFspError::NoDllForArch)?;
        let install_dir = install_dir().ok_or(WinFspError::NotInstalled)?;
        Library::open(&dll_path(&install_dir, arch)).map_err(WinFspError::from)
    }

    impl From<LoadError> for WinFspError {
        fn from(error: LoadError) -> WinFspError {
            WinFspError::LoadFailed {
                dll_path: error.path,
                code: error.code,
            }
        }
    }

    impl From<MissingFunction> for WinFspError {
        fn from(missing: MissingFunction) -> WinFspError {
            WinFspError::MissingFunction {
                dll_path: missing.path,
                function: missing.function,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dll_names_follow_the_architecture() {
        assert_eq!(Arch::X64.dll_name(), "winfsp-x64.dll");
        assert_eq!(Arch::Arm64.dll_name(), "winfsp-a64.dll");
        assert_eq!(Arch::X86.dll_name(), "winfsp-x86.dll");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(Arch::current(), Some(Arch::X64));
        }
    }

    #[test]
    fn dll_paths_join_with_or_without_a_trailing_backslash() {
        let expected = "C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.dll";
        assert_eq!(
            dll_path("C:\\Program Files (x86)\\WinFsp\\", Arch::X64),
            expected
        );
        assert_eq!(
            dll_path("C:\\Program Files (x86)\\WinFsp", Arch::X64),
            expected
        );
        assert_eq!(
            dll_path("D:\\WinFsp", Arch::Arm64),
            "D:\\WinFsp\\bin\\winfsp-a64.dll"
        );
    }

    #[test]
    fn the_wow64_key_comes_first() {
        assert_eq!(INSTALL_KEYS[0], "SOFTWARE\\WOW6432Node\\WinFsp");
        assert_eq!(INSTALL_KEYS[1], "SOFTWARE\\WinFsp");
    }

    #[test]
    fn messages_name_the_installer() {
        let missing = not_installed_message();
        assert!(missing.contains("https://winfsp.dev/rel/"), "{missing}");
        assert!(
            missing.contains("HKLM\\SOFTWARE\\WOW6432Node\\WinFsp"),
            "{missing}"
        );
        let failed = load_failure_message("C:\\x\\bin\\winfsp-x64.dll", 193);
        assert!(failed.contains("error 193"), "{failed}");
        assert!(failed.contains("https://winfsp.dev/rel/"), "{failed}");
        let old = missing_function_message("C:\\x.dll", "FspFileSystemSendResponse");
        assert!(old.contains("FspFileSystemSendResponse"), "{old}");
        assert!(old.contains("https://winfsp.dev/rel/"), "{old}");
    }
}
