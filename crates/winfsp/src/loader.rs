//! Finding and loading the WinFsp DLL at run time, the way WinFsp documents it (its
//! `FspLoad` helper): read `InstallDir` from the registry, then load
//! `<InstallDir>\bin\winfsp-<arch>.dll` by its full path.
//!
//! Nothing links against WinFsp, so the addon builds on machines without it and loads on
//! machines without it; only mounting needs it. The DLL is looked up in the registry only,
//! never on `PATH` or in the current directory, so a stray `winfsp-x64.dll` cannot be picked
//! up instead. Once loaded it stays loaded for the life of the process, since WinFsp's threads
//! and this crate's callbacks may run until the process ends.

use crate::diagnose::{DriverFacts, INSTALLER_URL};

/// Registry keys under `HKEY_LOCAL_MACHINE` that may hold WinFsp's `InstallDir` value, in the
/// order they are tried. The 32-bit installer writes the first on 64-bit Windows; the second
/// is where a 32-bit process on 32-bit Windows (or through registry redirection) finds it.
pub const INSTALL_KEYS: [&str; 2] = ["SOFTWARE\\WOW6432Node\\WinFsp", "SOFTWARE\\WinFsp"];

/// A processor architecture WinFsp ships a DLL for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X64,
    Arm64,
    X86,
}

impl Arch {
    /// The architecture this crate was compiled for, if WinFsp supports it.
    pub fn current() -> Option<Arch> {
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
    pub fn dll_name(self) -> &'static str {
        match self {
            Arch::X64 => "winfsp-x64.dll",
            Arch::Arm64 => "winfsp-a64.dll",
            Arch::X86 => "winfsp-x86.dll",
        }
    }
}

/// The full path of the DLL for `arch` in a WinFsp installed in `install_dir` (with or
/// without a trailing backslash): `<install_dir>\bin\<dll>`.
pub fn dll_path(install_dir: &str, arch: Arch) -> String {
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
    /// What is known of the driver service.
    pub driver: DriverFacts,
}

/// The message when WinFsp ships no DLL for the architecture this crate was compiled for.
pub const NO_DLL_FOR_ARCH: &str = "WinFsp has no DLL for this processor architecture";

/// The message when no WinFsp installation is registered.
pub fn not_installed_message() -> String {
    format!(
        "WinFsp is not installed (no InstallDir value under HKLM\\{} or HKLM\\{}). Install it \
         from {INSTALLER_URL} and try again.",
        INSTALL_KEYS[0], INSTALL_KEYS[1]
    )
}

/// The message when the registered DLL could not be loaded.
pub fn load_failure_message(dll_path: &str, error: u32) -> String {
    format!(
        "WinFsp is registered, but {dll_path} could not be loaded (Windows error {error}). \
         Reinstall WinFsp from {INSTALLER_URL}."
    )
}

/// The message when the DLL lacks a function this crate needs.
pub fn missing_function_message(dll_path: &str, function: &str) -> String {
    format!(
        "{dll_path} has no function {function}: this WinFsp is too old for mountkit. Install \
         the current release from {INSTALLER_URL}."
    )
}

/// Reading the registry and loading the DLL: the Windows side of this module.
#[cfg(windows)]
pub mod win32 {
    use std::ffi::CStr;

    use windows_sys::Win32::Foundation::{GetLastError, ERROR_SUCCESS, HMODULE};
    use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};
    use windows_sys::Win32::System::Registry::{
        RegGetValueW, HKEY_LOCAL_MACHINE, RRF_NOEXPAND, RRF_RT_REG_EXPAND_SZ, RRF_RT_REG_SZ,
    };

    use super::*;
    use crate::diagnose::{driver_file_path, ServiceFacts, DRIVER_SERVICE_KEY};

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().chain(Some(0)).collect()
    }

    /// A string value under `HKEY_LOCAL_MACHINE\subkey`, unexpanded; `None` if the key or the
    /// value is missing or is not a string.
    fn registry_string(subkey: &str, value: &str) -> Option<String> {
        let subkey = wide(subkey);
        let value = wide(value);
        let flags = RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND;
        let mut bytes = 0u32;
        // SAFETY: the names are NUL-terminated; a null data pointer asks for the size only.
        let status = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                subkey.as_ptr(),
                value.as_ptr(),
                flags,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut bytes,
            )
        };
        if status != ERROR_SUCCESS || bytes == 0 {
            return None;
        }
        let mut buffer = vec![0u16; (bytes as usize).div_ceil(2)];
        let mut size = (buffer.len() * 2) as u32;
        // SAFETY: `buffer` has `size` writable bytes, and the names are NUL-terminated.
        let status = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                subkey.as_ptr(),
                value.as_ptr(),
                flags,
                std::ptr::null_mut(),
                buffer.as_mut_ptr().cast(),
                &mut size,
            )
        };
        if status != ERROR_SUCCESS {
            return None;
        }
        let end = buffer
            .iter()
            .position(|&unit| unit == 0)
            .unwrap_or(buffer.len());
        String::from_utf16(&buffer[..end]).ok()
    }

    /// WinFsp's installation folder, from the first of [`INSTALL_KEYS`] that has it.
    pub fn install_dir() -> Option<String> {
        INSTALL_KEYS
            .iter()
            .find_map(|key| registry_string(key, "InstallDir"))
    }

    /// What the registry says about the service whose key is `HKEY_LOCAL_MACHINE\key`, and
    /// whether the file it runs exists.
    pub fn service_facts(key: &str) -> ServiceFacts {
        let image_path = registry_string(key, "ImagePath");
        let system_root = std::env::var("SystemRoot").ok();
        let file = image_path
            .as_deref()
            .zip(system_root.as_deref())
            .map(|(path, root)| driver_file_path(path, root));
        let file_exists = file
            .as_deref()
            .map(|file| std::path::Path::new(file).is_file());
        ServiceFacts {
            image_path,
            file,
            file_exists,
        }
    }

    /// What the registry says about WinFsp and its driver service.
    pub fn driver_facts() -> DriverFacts {
        let driver = service_facts(DRIVER_SERVICE_KEY);
        DriverFacts {
            install_dir: install_dir(),
            image_path: driver.image_path,
            driver_file_exists: driver.file_exists,
        }
    }

    /// The loaded WinFsp DLL. It is never unloaded.
    pub struct Library {
        module: HMODULE,
        path: String,
    }

    impl Library {
        /// Finds WinFsp in the registry and loads its DLL for this process's architecture.
        pub fn load() -> Result<Library, String> {
            let arch = Arch::current().ok_or_else(|| NO_DLL_FOR_ARCH.to_owned())?;
            let install_dir = install_dir().ok_or_else(not_installed_message)?;
            let path = dll_path(&install_dir, arch);
            Library::open(&path).map_err(|error| load_failure_message(&path, error))
        }

        /// Loads the DLL at the full path `path`; fails with the Windows error code.
        pub fn open(path: &str) -> Result<Library, u32> {
            let wide_path = wide(path);
            // SAFETY: `wide_path` is a NUL-terminated full path.
            let module = unsafe { LoadLibraryW(wide_path.as_ptr()) };
            if module.is_null() {
                // SAFETY: reads the calling thread's last-error value.
                return Err(unsafe { GetLastError() });
            }
            Ok(Library {
                module,
                path: path.to_owned(),
            })
        }

        /// The full path the DLL was loaded from.
        pub fn path(&self) -> &str {
            &self.path
        }

        /// The address of the exported function `name`.
        pub fn function(
            &self,
            name: &CStr,
        ) -> Result<unsafe extern "system" fn() -> isize, String> {
            // SAFETY: `module` is a loaded module (never freed) and `name` is NUL-terminated.
            unsafe { GetProcAddress(self.module, name.as_ptr().cast()) }
                .ok_or_else(|| missing_function_message(&self.path, &name.to_string_lossy()))
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
