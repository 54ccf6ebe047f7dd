//! Which Windows backend `backend: 'auto'` mounts with, decided from the facts alone.
//!
//! `mount()` and `mountkit doctor` both call [`choose`] on the same facts (WinFsp's
//! installation, DLL and driver service, and what Dokan's probe answers), so what the doctor
//! says `'auto'` picks is what mounting does. Mounting probes Dokan only when rule 1 does not
//! apply; the doctor, which reports every fact, probes it anyway. The rule:
//!
//! 1. WinFsp, when its DLL loads and its driver service can start.
//! 2. Else Dokan 2, when it is usable.
//! 3. Else WinFsp again if it is installed: mounting fails with WinFsp's own error, which says
//!    what is broken and how to repair it.
//! 4. Else neither is installed, and the error names both installers.
//!
//! This module depends only on the backend crates' facts.

use mountkit_dokan::{DokanInstall, DokanUnavailable};
use mountkit_winfsp::{DllFacts, WinFspFacts};

/// Why WinFsp cannot serve mounts on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WinFspProblem {
    /// No installation is registered.
    NotInstalled,
    /// Installed, but its DLL cannot be used: it does not load, or it loads but lacks what
    /// mountkit calls (too old), or has no build for this processor.
    DllUnusable,
    /// The DLL loads, but its driver service cannot start: the entry is missing or names a
    /// file that does not exist.
    DriverCannotStart,
}

impl WinFspProblem {
    /// Why WinFsp is not used, as a clause that can begin or end a sentence.
    pub fn reason(self) -> &'static str {
        match self {
            WinFspProblem::NotInstalled => "WinFsp is not installed",
            WinFspProblem::DllUnusable => "WinFsp's DLL cannot be used",
            WinFspProblem::DriverCannotStart => "WinFsp's driver cannot start",
        }
    }
}

/// What `backend: 'auto'` does on Windows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutoChoice {
    /// Mount with WinFsp: its DLL loads and its driver service can start.
    WinFsp,
    /// Mount with Dokan 2, which is usable, because WinFsp is not.
    Dokan(WinFspProblem),
    /// Mount with WinFsp although it cannot work, to fail with its own error: neither backend
    /// is usable, and WinFsp, being installed, explains its problem best.
    FailingWinFsp(WinFspProblem),
    /// Neither backend is installed: WinFsp is not, and Dokan 2 cannot be used for the reason
    /// given. [`MountError::NoDriver`](crate::MountError::NoDriver) names both installers.
    NoDriver(DokanUnavailable),
}

/// What `backend: 'auto'` does with WinFsp as `winfsp` describes it and Dokan 2 as
/// `probe_dokan` finds it. The probe runs only when WinFsp cannot serve: it loads
/// `dokan2.dll` and asks the Dokan driver, which a machine where WinFsp works should not pay
/// for on every mount.
pub fn choose(
    winfsp: &WinFspFacts,
    probe_dokan: impl FnOnce() -> Result<DokanInstall, DokanUnavailable>,
) -> AutoChoice {
    let problem = match (&winfsp.install_dir, &winfsp.dll, &winfsp.driver) {
        (None, _, _) => WinFspProblem::NotInstalled,
        (Some(_), DllFacts::Loaded { .. }, Some(driver)) if driver.can_start() => {
            return AutoChoice::WinFsp
        }
        (Some(_), DllFacts::Loaded { .. }, _) => WinFspProblem::DriverCannotStart,
        (Some(_), _, _) => WinFspProblem::DllUnusable,
    };
    match (probe_dokan(), problem) {
        (Ok(_), problem) => AutoChoice::Dokan(problem),
        (Err(dokan), WinFspProblem::NotInstalled) => AutoChoice::NoDriver(dokan),
        (Err(_), problem) => AutoChoice::FailingWinFsp(problem),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use mountkit_winfsp::{ServiceFacts, WinFspError};

    use super::*;

    const DRIVER: &str = "C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.sys";

    fn winfsp(dll: DllFacts, driver: ServiceFacts) -> WinFspFacts {
        WinFspFacts {
            not_windows: None,
            install_dir: Some("C:\\Program Files (x86)\\WinFsp\\".to_owned()),
            dll_path: Some("C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.dll".to_owned()),
            dll,
            driver: Some(driver),
            launcher: Some(ServiceFacts::unregistered("WinFsp.Launcher")),
        }
    }

    fn driver(exists: Option<bool>) -> ServiceFacts {
        ServiceFacts {
            name: "WinFsp+20231015T101530Z".to_owned(),
            image_path: Some(format!("\\??\\{DRIVER}")),
            file: exists.map(|_| DRIVER.to_owned()),
            file_exists: exists,
            folder_exists: exists.map(|_| true),
        }
    }

    const LOADED: DllFacts = DllFacts::Loaded { version: (2, 1) };

    fn dokan() -> Result<DokanInstall, DokanUnavailable> {
        Ok(DokanInstall {
            library_version: 210,
            driver_version: 0x190,
        })
    }

    fn no_dokan() -> Result<DokanInstall, DokanUnavailable> {
        Err(DokanUnavailable::NotInstalled {
            detail: "The specified module could not be found. (os error 126)".to_owned(),
        })
    }

    fn load_failed() -> DllFacts {
        DllFacts::LoadFailed {
            code: 193,
            message: "%1 is not a valid Win32 application.".to_owned(),
        }
    }

    #[test]
    fn a_healthy_winfsp_is_preferred_to_dokan() {
        for dokan in [dokan(), no_dokan()] {
            assert_eq!(
                choose(&winfsp(LOADED, driver(Some(true))), || dokan.clone()),
                AutoChoice::WinFsp
            );
            // A driver file that could not be checked is not known to be missing.
            assert_eq!(
                choose(&winfsp(LOADED, driver(None)), || dokan.clone()),
                AutoChoice::WinFsp
            );
        }
    }

    #[test]
    fn dokan_is_probed_only_when_winfsp_cannot_serve() {
        let probes = Cell::new(0);
        let probe = || {
            probes.set(probes.get() + 1);
            dokan()
        };
        assert_eq!(
            choose(&winfsp(LOADED, driver(Some(true))), probe),
            AutoChoice::WinFsp
        );
        assert_eq!(probes.get(), 0, "a healthy WinFsp leaves Dokan alone");
        assert_eq!(
            choose(&winfsp(LOADED, driver(Some(false))), probe),
            AutoChoice::Dokan(WinFspProblem::DriverCannotStart)
        );
        assert_eq!(probes.get(), 1);
    }

    #[test]
    fn dokan_serves_when_winfsp_cannot() {
        let broken = winfsp(LOADED, driver(Some(false)));
        assert_eq!(
            choose(&broken, dokan),
            AutoChoice::Dokan(WinFspProblem::DriverCannotStart)
        );
        let unregistered = winfsp(LOADED, ServiceFacts::unregistered("WinFsp"));
        assert_eq!(
            choose(&unregistered, dokan),
            AutoChoice::Dokan(WinFspProblem::DriverCannotStart)
        );
        let unloadable = winfsp(load_failed(), driver(Some(true)));
        assert_eq!(
            choose(&unloadable, dokan),
            AutoChoice::Dokan(WinFspProblem::DllUnusable)
        );
        assert_eq!(
            choose(&WinFspFacts::default(), dokan),
            AutoChoice::Dokan(WinFspProblem::NotInstalled)
        );
    }

    #[test]
    fn an_installed_winfsp_gives_its_own_error_when_dokan_cannot_serve() {
        let broken = winfsp(LOADED, driver(Some(false)));
        let driver_not_running = Err(DokanUnavailable::DriverNotRunning {
            library_version: 210,
        });
        for dokan in [no_dokan(), driver_not_running] {
            assert_eq!(
                choose(&broken, || dokan),
                AutoChoice::FailingWinFsp(WinFspProblem::DriverCannotStart)
            );
        }
        let too_old = WinFspError::MissingFunction {
            dll_path: "C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.dll".to_owned(),
            function: "FspFileSystemSendResponse".to_owned(),
        };
        let unusable = winfsp(DllFacts::Unusable(too_old), driver(Some(true)));
        assert_eq!(
            choose(&unusable, no_dokan),
            AutoChoice::FailingWinFsp(WinFspProblem::DllUnusable)
        );
    }

    #[test]
    fn with_neither_installed_the_choice_carries_why_dokan_cannot_serve() {
        assert_eq!(
            choose(&WinFspFacts::default(), no_dokan),
            AutoChoice::NoDriver(no_dokan().unwrap_err())
        );
    }
}
