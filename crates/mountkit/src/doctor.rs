//! The Windows half of `mountkit doctor`: whether WinFsp and Dokan 2 are installed and working,
//! which backend `backend: 'auto'` will pick, and how to fix what is broken.
//!
//! As in `lib/doctor.ts`, reading the machine ([`gather`]) is kept apart from judging it
//! ([`diagnose`]), so every judgement is tested on any platform from facts written down here.
//! The findings have the shape and the tone of the Linux doctor's, so the CLI prints both alike
//! (the Node.js addon only converts them). Which backend `'auto'` picks is judged by
//! [`auto::choose`], the rule [`mount`](crate::mount) follows.

use mountkit_core::windows::ntstatus::{
    ntstatus_name, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND,
};
use mountkit_dokan::errors::{format_library_version, DOKAN_RELEASES_URL};
use mountkit_dokan::{DokanInstall, DokanUnavailable};
use mountkit_winfsp::{
    delete_service_command, is_installed_driver_file, DllFacts, ServiceFacts, WinFspFacts,
    INSTALLER_URL, INSTALL_KEYS,
};

use crate::auto::{self, AutoChoice, WinFspProblem};

/// Everything the Windows diagnosis looks at.
pub struct WindowsFacts {
    /// WinFsp's installation, DLL, and driver and launcher services.
    pub winfsp: WinFspFacts,
    /// What `mountkit_dokan::probe` answered: the library and driver versions, or why Dokan
    /// cannot be used.
    pub dokan: Result<DokanInstall, DokanUnavailable>,
}

/// Reads the facts from this machine. Off Windows both backend crates look nothing up, and the
/// facts say so ([`WinFspFacts::not_windows`]).
pub fn gather() -> WindowsFacts {
    WindowsFacts {
        winfsp: mountkit_winfsp::gather_facts(),
        dokan: mountkit_dokan::probe(),
    }
}

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Works, or does not matter for mounting with the defaults, but something is missing.
    Warn,
    /// Mounting with the defaults fails until this is fixed.
    Error,
}

impl Status {
    /// The spelling of `Status` in `lib/doctor.ts`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Error => "error",
        }
    }
}

/// One line of the checklist, as `Finding` in `lib/doctor.ts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable identifier, for scripts reading `--json`.
    pub check: &'static str,
    /// What is checked, for people.
    pub title: &'static str,
    /// How the check came out.
    pub status: Status,
    /// What was found.
    pub found: String,
    /// Where the fact comes from.
    pub source: String,
    /// What to do about it; `None` when there is nothing to do.
    pub fix: Option<String>,
}

/// A status as a finding names it: `STATUS_OBJECT_NAME_NOT_FOUND (0xC0000034)`.
fn status_name(status: i32) -> String {
    let name = ntstatus_name(status).unwrap_or("NTSTATUS");
    format!("{name} (0x{:08X})", status as u32)
}

/// The statuses WinFsp's DLL answers `FspFileSystemCreate` with when the driver's registry
/// entry names a file that does not exist, for a finding that could not tell which
/// ([`ServiceFacts::missing_file_status`] tells when the file was checked).
fn broken_entry_statuses() -> String {
    format!(
        "{} or {}",
        status_name(STATUS_OBJECT_NAME_NOT_FOUND),
        status_name(STATUS_OBJECT_PATH_NOT_FOUND)
    )
}

/// What WinFsp's launcher is for, and that mountkit does not need it.
const LAUNCHER_ROLE: &str = "mountkit's mounts run in their own process and do not use it; \
    WinFsp's launcher starts the file systems registered under HKLM\\SOFTWARE\\WinFsp\\Services, \
    for launchctl and for network drives mapped through WinFsp's network provider (Map network \
    drive in Explorer, or net use \\\\name\\share)";

/// How much a WinFsp problem matters when `'auto'` makes `choice`: a warning when it mounts
/// through Dokan instead, an error when mounts go to WinFsp and fail.
fn winfsp_severity(choice: &AutoChoice) -> Status {
    match choice {
        AutoChoice::Dokan(_) => Status::Warn,
        _ => Status::Error,
    }
}

/// How a WinFsp problem's finding ends when `'auto'` makes `choice`: saying that mounts use
/// Dokan instead, when they do.
fn instead_of_winfsp(choice: &AutoChoice) -> &'static str {
    match choice {
        AutoChoice::Dokan(_) => "; mounts use Dokan instead",
        _ => "",
    }
}

/// How much a Dokan problem matters when `'auto'` makes `choice`: a warning while WinFsp
/// serves mounts, an error when Dokan would be needed.
fn dokan_severity(choice: &AutoChoice) -> Status {
    match choice {
        AutoChoice::WinFsp => Status::Warn,
        _ => Status::Error,
    }
}

/// The checklist for a Windows machine described by `facts`.
pub fn diagnose(facts: &WindowsFacts) -> Vec<Finding> {
    if let Some(reason) = &facts.winfsp.not_windows {
        return vec![Finding {
            check: "platform",
            title: "Windows",
            status: Status::Error,
            found: format!(
                "the Windows diagnosis runs on Windows only, and this is not Windows ({reason})"
            ),
            source: "the platform the native addon was built for".to_owned(),
            fix: None,
        }];
    }
    let choice = auto::choose(&facts.winfsp, || facts.dokan.clone());
    let mut findings = vec![winfsp_finding(&facts.winfsp, &choice)];
    // Without an installation there are no services to report.
    if let Some(install_dir) = &facts.winfsp.install_dir {
        if let Some(driver) = &facts.winfsp.driver {
            findings.push(driver_finding(driver, install_dir, &choice));
        }
        if let Some(launcher) = &facts.winfsp.launcher {
            findings.push(launcher_finding(launcher));
        }
    }
    findings.push(dokan_finding(&facts.dokan, &choice));
    findings.push(backend_finding(facts, &choice));
    findings
}

fn winfsp_finding(winfsp: &WinFspFacts, choice: &AutoChoice) -> Finding {
    let source = format!(
        "InstallDir under HKLM\\{} or HKLM\\{}, then LoadLibraryW and FspVersion",
        INSTALL_KEYS[0], INSTALL_KEYS[1]
    );
    // The installer writes InstallDir with a trailing backslash.
    let folder = winfsp
        .install_dir
        .as_deref()
        .map_or("an unknown folder", |dir| dir.trim_end_matches('\\'));
    let dll = winfsp.dll_path.as_deref().unwrap_or("its DLL");
    let severity = winfsp_severity(choice);
    let instead = instead_of_winfsp(choice);
    let (status, found, fix) = match &winfsp.dll {
        DllFacts::NotTried => (
            Status::Warn,
            format!(
                "not installed: no InstallDir value under HKLM\\{} or HKLM\\{}{instead}",
                INSTALL_KEYS[0], INSTALL_KEYS[1]
            ),
            Some(format!(
                "install WinFsp from {INSTALLER_URL} (backend: 'auto' prefers it to Dokan)"
            )),
        ),
        DllFacts::Loaded {
            version: (major, minor),
        } => (
            Status::Ok,
            format!("WinFsp {major}.{minor} in {folder}; {dll} loads"),
            None,
        ),
        DllFacts::LoadFailed { code, message } => (
            severity,
            format!(
                "installed in {folder}, but {dll} does not load: Windows error {code} \
                 ({message}){instead}"
            ),
            Some(format!("reinstall WinFsp from {INSTALLER_URL}")),
        ),
        DllFacts::Unusable(why) => (
            severity,
            format!("installed in {folder}, but its DLL cannot be used: {why}{instead}"),
            Some(format!(
                "install the current WinFsp release from {INSTALLER_URL}"
            )),
        ),
    };
    Finding {
        check: "winfsp",
        title: "WinFsp",
        status,
        found,
        source,
        fix,
    }
}

fn driver_finding(driver: &ServiceFacts, install_dir: &str, choice: &AutoChoice) -> Finding {
    let key = driver.key();
    let delete = delete_service_command(&driver.name);
    let repair =
        format!("as Administrator: `{delete}`, then reinstall WinFsp from {INSTALLER_URL}");
    let instead = instead_of_winfsp(choice);
    let (status, found, fix) = match (&driver.image_path, driver.file_exists) {
        (None, _) => (
            winfsp_severity(choice),
            format!(
                "not registered: HKLM\\{key} has no ImagePath value, so Windows cannot start the \
                 WinFsp driver and every WinFsp mount fails{instead}"
            ),
            Some(format!(
                "reinstall WinFsp from {INSTALLER_URL}, which registers the driver; if the key \
                 is there without ImagePath, first delete it as Administrator: `{delete}`"
            )),
        ),
        (Some(image_path), Some(false)) => (
            winfsp_severity(choice),
            format!(
                "broken: HKLM\\{key} has an ImagePath naming {}, which does not exist{}, so \
                 the driver cannot start. WinFsp mounts fail with {}, even WinFsp's own \
                 samples; this happens after a reboot or an upgrade of WinFsp{instead}",
                driver.file.as_deref().unwrap_or(image_path),
                if driver.folder_exists == Some(false) {
                    " (nor does its folder)"
                } else {
                    ""
                },
                driver
                    .missing_file_status()
                    .map_or_else(broken_entry_statuses, status_name)
            ),
            Some(repair),
        ),
        (Some(image_path), None) => (
            Status::Warn,
            format!(
                "HKLM\\{key} has the ImagePath {image_path}; whether that file exists could not \
                 be checked (%SystemRoot% is not set)"
            ),
            Some(format!(
                "if WinFsp mounts fail with {}: {repair}",
                broken_entry_statuses()
            )),
        ),
        (Some(image_path), Some(true)) => {
            let file = driver.file.as_deref().unwrap_or(image_path);
            if is_installed_driver_file(file, install_dir, &driver.name) {
                (
                    Status::Ok,
                    format!("{} is registered; its driver {file} exists", driver.name),
                    None,
                )
            } else {
                (
                    Status::Warn,
                    format!(
                        "HKLM\\{key} names {file}, which exists but is not where the WinFsp \
                         installed in {install_dir} keeps its driver: the entry probably belongs \
                         to another WinFsp version, whose driver may not match the DLL"
                    ),
                    Some(format!(
                        "if WinFsp mounts fail with {} or another driver error: {repair}",
                        broken_entry_statuses()
                    )),
                )
            }
        }
    };
    Finding {
        check: "winfsp-driver",
        title: "WinFsp driver service",
        status,
        found,
        source: format!(
            "ImagePath under HKLM\\{key} and the file it names; the service is the one WinFsp's \
             DLL starts: WinFsp+<the DLL's FspSxsIdent> since WinFsp 2.0, WinFsp before, or the \
             newest WinFsp+… when the DLL does not say"
        ),
        fix,
    }
}

fn launcher_finding(launcher: &ServiceFacts) -> Finding {
    let key = launcher.key();
    let reinstall = format!("only if you need those: reinstall WinFsp from {INSTALLER_URL}");
    let (status, found, fix) = match (&launcher.image_path, launcher.file_exists) {
        (None, _) => (
            Status::Warn,
            format!("not registered: HKLM\\{key} has no ImagePath value. {LAUNCHER_ROLE}"),
            Some(reinstall),
        ),
        (Some(image_path), Some(false)) => (
            Status::Warn,
            format!(
                "ImagePath names {}, which does not exist. {LAUNCHER_ROLE}",
                launcher.file.as_deref().unwrap_or(image_path)
            ),
            Some(reinstall),
        ),
        (Some(image_path), None) => (
            Status::Ok,
            format!(
                "registered as {image_path} (not checked further: %SystemRoot% is not set); \
                 mountkit's mounts do not use it"
            ),
            None,
        ),
        (Some(image_path), Some(true)) => (
            Status::Ok,
            format!(
                "registered: {}; mountkit's mounts do not use it",
                launcher.file.as_deref().unwrap_or(image_path)
            ),
            None,
        ),
    };
    Finding {
        check: "winfsp-launcher",
        title: "WinFsp.Launcher service",
        status,
        found,
        source: format!("ImagePath under HKLM\\{key}, and the file it names"),
        fix,
    }
}

/// The Dokan finding for a machine without Dokan 2, judged alike whatever is there instead:
/// fine while WinFsp serves mounts (`summary`, and that Dokan is optional), else a warning
/// (`found`); either way `install` says how to add Dokan 2.
fn without_dokan2(
    choice: &AutoChoice,
    summary: &str,
    found: String,
    install: String,
) -> (Status, String, Option<String>) {
    if *choice == AutoChoice::WinFsp {
        (
            Status::Ok,
            format!("{summary}; optional while WinFsp serves mounts (to add it: {install})"),
            None,
        )
    } else {
        (Status::Warn, found, Some(install))
    }
}

/// What Dokan cannot serve that WinFsp does, said wherever Dokan is found working or chosen.
const DOKAN_NO_SYMLINKS: &str = "Dokan's driver has no reparse points, so symbolic links show as \
                                 plain files on Dokan mounts (WinFsp serves them as links)";

fn dokan_finding(dokan: &Result<DokanInstall, DokanUnavailable>, choice: &AutoChoice) -> Finding {
    let install_dokan2 = format!("install Dokan 2 with its installer from {DOKAN_RELEASES_URL}");
    let (status, found, fix) = match dokan {
        Ok(install) => (
            Status::Ok,
            format!(
                "{}: library and driver installed; {DOKAN_NO_SYMLINKS}",
                install.describe()
            ),
            None,
        ),
        Err(DokanUnavailable::NotInstalled { detail }) => without_dokan2(
            choice,
            "not installed",
            format!("not installed: dokan2.dll could not be loaded from System32 ({detail})"),
            install_dokan2,
        ),
        Err(DokanUnavailable::OnlyDokan1 { version }) => {
            let summary = format!(
                "not installed: only Dokan {} is (dokan1.dll in System32), and mountkit needs \
                 Dokan 2",
                format_library_version(*version)
            );
            let install = format!("{install_dokan2}; it installs beside Dokan 1, which can stay");
            without_dokan2(choice, &summary, summary.clone(), install)
        }
        Err(DokanUnavailable::DriverNotRunning { library_version }) => (
            dokan_severity(choice),
            format!(
                "dokan2.dll {} is installed, but the Dokan 2 driver is not running \
                 (DokanDriverVersion answers 0)",
                format_library_version(*library_version)
            ),
            Some(format!(
                "reinstall Dokan 2 from {DOKAN_RELEASES_URL} (its installer sets up the driver) \
                 and reboot if asked"
            )),
        ),
        Err(unusable) => (
            dokan_severity(choice),
            format!("installed, but cannot be used: {unusable}"),
            Some(format!(
                "install the current Dokan 2 release from {DOKAN_RELEASES_URL}"
            )),
        ),
    };
    Finding {
        check: "dokan",
        title: "Dokan 2",
        status,
        found,
        source: "DokanVersion and DokanDriverVersion of dokan2.dll in System32 (DokanVersion of \
                 dokan1.dll when there is no dokan2.dll)"
            .to_owned(),
        fix,
    }
}

fn backend_finding(facts: &WindowsFacts, choice: &AutoChoice) -> Finding {
    let (status, found, fix) = match choice {
        AutoChoice::WinFsp => {
            let version = match facts.winfsp.dll {
                DllFacts::Loaded {
                    version: (major, minor),
                } => format!(" {major}.{minor}"),
                _ => String::new(),
            };
            (Status::Ok, format!("WinFsp{version}"), None)
        }
        AutoChoice::Dokan(problem) => {
            let version = facts
                .dokan
                .as_ref()
                .map(|install| format!(" {}", install.library_version_text()))
                .unwrap_or_default();
            let see = match problem {
                WinFspProblem::NotInstalled => "",
                WinFspProblem::DllUnusable => " (see WinFsp)",
                WinFspProblem::DriverCannotStart => " (see the WinFsp driver service)",
            };
            (
                Status::Ok,
                format!(
                    "Dokan{version}, since {}{see}; {DOKAN_NO_SYMLINKS}",
                    problem.reason()
                ),
                None,
            )
        }
        AutoChoice::FailingWinFsp(problem) => (
            Status::Error,
            format!(
                "WinFsp, since it is installed, but {}, and Dokan 2 cannot be used either: \
                 every mount fails with WinFsp's error",
                match problem {
                    WinFspProblem::DriverCannotStart =>
                        "its driver cannot start (see the WinFsp driver service)",
                    _ => "its DLL cannot be used (see WinFsp)",
                }
            ),
            Some(format!(
                "repair WinFsp as above; or install Dokan 2 from {DOKAN_RELEASES_URL}, which \
                 'auto' then uses until WinFsp works"
            )),
        ),
        AutoChoice::NoDriver(_) => (
            Status::Error,
            "none: WinFsp is not installed and Dokan 2 cannot be used, so every mount fails"
                .to_owned(),
            Some(format!(
                "install WinFsp from {INSTALLER_URL} (preferred), or install or repair Dokan 2 \
                 ({DOKAN_RELEASES_URL}) as above"
            )),
        ),
    };
    Finding {
        check: "backend",
        title: "Backend that 'auto' picks",
        status,
        found,
        source: "the findings above, judged by the rule mount() uses: WinFsp when its DLL loads \
                 and its driver service can start, else Dokan 2 when it works, else WinFsp's \
                 own error when WinFsp is installed"
            .to_owned(),
        fix,
    }
}

#[cfg(test)]
mod tests {
    use mountkit_winfsp::{explain_create_failure, WinFspError};

    use super::*;

    const INSTALL_DIR: &str = "C:\\Program Files (x86)\\WinFsp\\";
    /// WinFsp 2.x installs side by side: its driver service carries the installation's id,
    /// and its files are in `SxS\sxs.<id>\bin`, where `bin` is a junction to.
    const SERVICE: &str = "WinFsp+20231015T101530Z";
    const DRIVER: &str =
        "C:\\Program Files (x86)\\WinFsp\\SxS\\sxs.20231015T101530Z\\bin\\winfsp-x64.sys";
    const LAUNCHER: &str =
        "C:\\Program Files (x86)\\WinFsp\\SxS\\sxs.20231015T101530Z\\bin\\launcher-x64.exe";
    /// WinFsp 1.x: one driver service, `WinFsp`, and the files in `bin`.
    const DRIVER_1X: &str = "C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.sys";

    fn service(name: &str, image_path: &str, file: &str, exists: Option<bool>) -> ServiceFacts {
        ServiceFacts {
            name: name.to_owned(),
            image_path: Some(image_path.to_owned()),
            file: exists.map(|_| file.to_owned()),
            file_exists: exists,
            folder_exists: exists.map(|_| true),
        }
    }

    fn driver(exists: Option<bool>) -> ServiceFacts {
        service(SERVICE, &format!("\\??\\{DRIVER}"), DRIVER, exists)
    }

    /// A healthy 64-bit machine with WinFsp 2.1 and Dokan 2.1.0, laid out as their installers
    /// lay them out: the driver registered from the installation's side-by-side folder
    /// (`\??\` form), the launcher as a quoted program path.
    fn healthy() -> WindowsFacts {
        WindowsFacts {
            winfsp: WinFspFacts {
                not_windows: None,
                install_dir: Some(INSTALL_DIR.to_owned()),
                dll_path: Some(format!("{INSTALL_DIR}bin\\winfsp-x64.dll")),
                dll: DllFacts::Loaded { version: (2, 1) },
                driver: Some(driver(Some(true))),
                launcher: Some(service(
                    "WinFsp.Launcher",
                    &format!("\"{LAUNCHER}\""),
                    LAUNCHER,
                    Some(true),
                )),
            },
            dokan: Ok(DokanInstall {
                library_version: 210,
                driver_version: 0x190,
            }),
        }
    }

    /// A healthy machine with WinFsp 1.12, whose driver service is plain `WinFsp`.
    fn healthy_1x() -> WindowsFacts {
        let mut facts = healthy();
        facts.winfsp.dll = DllFacts::Loaded { version: (1, 12) };
        facts.winfsp.driver = Some(service(
            "WinFsp",
            &format!("\\??\\{DRIVER_1X}"),
            DRIVER_1X,
            Some(true),
        ));
        facts
    }

    fn without_winfsp(mut facts: WindowsFacts) -> WindowsFacts {
        facts.winfsp = WinFspFacts::default();
        facts
    }

    fn dokan_missing() -> Result<DokanInstall, DokanUnavailable> {
        Err(DokanUnavailable::NotInstalled {
            detail: "The specified module could not be found. (os error 126)".to_owned(),
        })
    }

    fn finding(findings: &[Finding], check: &str) -> Finding {
        findings
            .iter()
            .find(|f| f.check == check)
            .unwrap_or_else(|| panic!("no finding {check} in {findings:#?}"))
            .clone()
    }

    fn errors(findings: &[Finding]) -> Vec<&'static str> {
        findings
            .iter()
            .filter(|f| f.status == Status::Error)
            .map(|f| f.check)
            .collect()
    }

    fn assert_all_ok(findings: &[Finding]) {
        let checks: Vec<_> = findings.iter().map(|f| f.check).collect();
        assert_eq!(
            checks,
            [
                "winfsp",
                "winfsp-driver",
                "winfsp-launcher",
                "dokan",
                "backend"
            ]
        );
        for f in findings {
            assert_eq!(f.status, Status::Ok, "{f:#?}");
            assert_eq!(f.fix, None, "{f:#?}");
            assert!(!f.source.is_empty() && !f.found.is_empty(), "{f:#?}");
        }
    }

    #[test]
    fn a_healthy_2x_machine_passes_every_check_naming_the_side_by_side_driver_service() {
        let findings = diagnose(&healthy());
        assert_all_ok(&findings);
        let winfsp = finding(&findings, "winfsp");
        assert!(winfsp
            .found
            .contains("WinFsp 2.1 in C:\\Program Files (x86)\\WinFsp; "));
        assert!(winfsp.found.contains("bin\\winfsp-x64.dll loads"));
        let driver = finding(&findings, "winfsp-driver");
        assert_eq!(
            driver.found,
            format!("WinFsp+20231015T101530Z is registered; its driver {DRIVER} exists")
        );
        assert!(
            driver.source.starts_with(
                "ImagePath under HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp+20231015T101530Z"
            ),
            "{driver:#?}"
        );
        let launcher = finding(&findings, "winfsp-launcher");
        assert!(launcher.found.contains(LAUNCHER), "{launcher:#?}");
        assert!(
            launcher
                .source
                .contains("HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp.Launcher"),
            "{launcher:#?}"
        );
        assert_eq!(
            finding(&findings, "dokan").found,
            format!(
                "Dokan 2.1.0 (driver protocol 0x190): library and driver installed; \
                 {DOKAN_NO_SYMLINKS}"
            )
        );
        assert_eq!(finding(&findings, "backend").found, "WinFsp 2.1");
    }

    #[test]
    fn a_healthy_1x_machine_passes_every_check_naming_the_winfsp_service() {
        let findings = diagnose(&healthy_1x());
        assert_all_ok(&findings);
        assert_eq!(
            finding(&findings, "winfsp-driver").found,
            format!("WinFsp is registered; its driver {DRIVER_1X} exists")
        );
        assert_eq!(finding(&findings, "backend").found, "WinFsp 1.12");
    }

    #[test]
    fn winfsp_not_installed_is_a_warning_naming_its_installer_while_dokan_serves() {
        let findings = diagnose(&without_winfsp(healthy()));
        let winfsp = finding(&findings, "winfsp");
        assert_eq!(winfsp.status, Status::Warn);
        assert!(winfsp.found.contains("not installed"), "{winfsp:#?}");
        assert!(
            winfsp.found.contains("HKLM\\SOFTWARE\\WOW6432Node\\WinFsp"),
            "{winfsp:#?}"
        );
        assert!(
            winfsp.found.contains("mounts use Dokan instead"),
            "{winfsp:#?}"
        );
        assert!(winfsp.fix.unwrap().contains(INSTALLER_URL));
        // The services of an installation that is not there are not reported.
        assert!(findings.iter().all(|f| !f.check.starts_with("winfsp-")));
        let backend = finding(&findings, "backend");
        assert_eq!(backend.status, Status::Ok);
        assert_eq!(
            backend.found,
            format!("Dokan 2.1.0, since WinFsp is not installed; {DOKAN_NO_SYMLINKS}")
        );
        assert_eq!(errors(&findings), Vec::<&str>::new());
    }

    #[test]
    fn neither_driver_installed_is_an_error_naming_both_installers() {
        let mut facts = without_winfsp(healthy());
        facts.dokan = dokan_missing();
        let findings = diagnose(&facts);
        assert_eq!(errors(&findings), ["backend"]);
        let backend = finding(&findings, "backend");
        assert!(backend.found.starts_with("none"), "{backend:#?}");
        let fix = backend.fix.unwrap();
        assert!(fix.contains(INSTALLER_URL), "{fix}");
        assert!(fix.contains(DOKAN_RELEASES_URL), "{fix}");
        assert!(!finding(&findings, "winfsp").found.contains("Dokan instead"));
        let dokan = finding(&findings, "dokan");
        assert_eq!(dokan.status, Status::Warn);
        assert!(dokan.found.contains("os error 126"), "{dokan:#?}");
        assert!(dokan.fix.unwrap().contains(DOKAN_RELEASES_URL));
    }

    #[test]
    fn a_dll_that_does_not_load_names_its_path_and_the_windows_error() {
        let mut facts = healthy();
        facts.winfsp.dll = DllFacts::LoadFailed {
            code: 193,
            message: "%1 is not a valid Win32 application.".to_owned(),
        };
        facts.dokan = dokan_missing();
        let findings = diagnose(&facts);
        let winfsp = finding(&findings, "winfsp");
        assert_eq!(winfsp.status, Status::Error);
        assert!(
            winfsp
                .found
                .contains("C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.dll does not load"),
            "{winfsp:#?}"
        );
        assert!(
            winfsp
                .found
                .contains("Windows error 193 (%1 is not a valid Win32 application.)"),
            "{winfsp:#?}"
        );
        assert_eq!(
            winfsp.fix.unwrap(),
            format!("reinstall WinFsp from {INSTALLER_URL}")
        );
        assert_eq!(errors(&findings), ["winfsp", "backend"]);
    }

    #[test]
    fn a_dll_that_does_not_load_is_a_warning_while_dokan_serves_mounts() {
        let mut facts = healthy();
        facts.winfsp.dll = DllFacts::LoadFailed {
            code: 126,
            message: "The specified module could not be found.".to_owned(),
        };
        let findings = diagnose(&facts);
        let winfsp = finding(&findings, "winfsp");
        assert_eq!(winfsp.status, Status::Warn);
        assert!(
            winfsp.found.ends_with("; mounts use Dokan instead"),
            "{winfsp:#?}"
        );
        assert_eq!(
            finding(&findings, "backend").found,
            format!(
                "Dokan 2.1.0, since WinFsp's DLL cannot be used (see WinFsp); {DOKAN_NO_SYMLINKS}"
            )
        );
        assert_eq!(errors(&findings), Vec::<&str>::new());
    }

    #[test]
    fn an_unusable_dll_says_why_and_asks_for_the_current_release() {
        let mut facts = healthy();
        facts.winfsp.dll = DllFacts::Unusable(WinFspError::MissingFunction {
            dll_path: "C:\\Program Files (x86)\\WinFsp\\bin\\winfsp-x64.dll".to_owned(),
            function: "FspFileSystemSendResponse".to_owned(),
        });
        facts.dokan = dokan_missing();
        let winfsp = finding(&diagnose(&facts), "winfsp");
        assert_eq!(winfsp.status, Status::Error);
        assert!(
            winfsp.found.contains("FspFileSystemSendResponse"),
            "{winfsp:#?}"
        );
        assert!(winfsp.fix.unwrap().contains("current WinFsp release"));
    }

    #[test]
    fn a_missing_driver_service_entry_is_an_error_fixed_by_reinstalling() {
        let mut facts = healthy();
        facts.winfsp.driver = Some(ServiceFacts::unregistered(SERVICE));
        facts.dokan = dokan_missing();
        let findings = diagnose(&facts);
        let driver = finding(&findings, "winfsp-driver");
        assert_eq!(driver.status, Status::Error);
        assert!(
            driver.found.contains(
                "HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp+20231015T101530Z has no \
                 ImagePath"
            ),
            "{driver:#?}"
        );
        let fix = driver.fix.unwrap();
        assert!(
            fix.starts_with("reinstall WinFsp from https://winfsp.dev/rel/"),
            "{fix}"
        );
        assert!(fix.contains(&delete_service_command(SERVICE)), "{fix}");
        assert_eq!(errors(&findings), ["winfsp-driver", "backend"]);
    }

    /// The checks of a broken driver entry: the driver finding names the exact key, the file,
    /// the status mounts fail with and the repair, and a failing mount says the same.
    fn assert_broken_entry(facts: &WindowsFacts, service: &str, file: &str) {
        let findings = diagnose(facts);
        let driver = finding(&findings, "winfsp-driver");
        assert_eq!(driver.status, Status::Error);
        for words in [
            format!(
                "broken: HKLM\\SYSTEM\\CurrentControlSet\\Services\\{service} has an ImagePath"
            ),
            format!("naming {file}, which does not exist"),
            "STATUS_OBJECT_NAME_NOT_FOUND (0xC0000034)".to_owned(),
            "even WinFsp's own samples".to_owned(),
            "after a reboot or an upgrade of WinFsp".to_owned(),
        ] {
            assert!(driver.found.contains(&words), "{words}: {driver:#?}");
        }
        let delete =
            format!("reg delete \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\{service}\" /f");
        assert_eq!(
            driver.fix.unwrap(),
            format!(
                "as Administrator: `{delete}`, then reinstall WinFsp from https://winfsp.dev/rel/"
            )
        );
        let mount_error = explain_create_failure(
            0xC000_0034_u32 as i32,
            facts.winfsp.driver.as_ref().unwrap(),
        );
        assert!(mount_error.contains(&delete), "{mount_error}");
        assert!(mount_error.contains(INSTALLER_URL), "{mount_error}");
        // Without Dokan, 'auto' mounts with WinFsp, which fails with that error.
        let backend = finding(&findings, "backend");
        assert_eq!(backend.status, Status::Error);
        assert!(
            backend.found.contains("its driver cannot start"),
            "{backend:#?}"
        );
        assert!(
            backend
                .found
                .contains("every mount fails with WinFsp's error"),
            "{backend:#?}"
        );
        assert_eq!(errors(&findings), ["winfsp-driver", "backend"]);
    }

    #[test]
    fn a_broken_2x_entry_names_the_side_by_side_service_key() {
        let mut facts = healthy();
        facts.winfsp.driver = Some(driver(Some(false)));
        facts.dokan = dokan_missing();
        assert_broken_entry(&facts, SERVICE, DRIVER);
    }

    #[test]
    fn a_2x_entry_whose_side_by_side_folder_is_gone_names_the_status_that_comes() {
        let mut facts = healthy();
        facts.winfsp.driver = Some(ServiceFacts {
            folder_exists: Some(false),
            ..driver(Some(false))
        });
        facts.dokan = dokan_missing();
        let driver = finding(&diagnose(&facts), "winfsp-driver");
        assert_eq!(driver.status, Status::Error);
        for words in [
            "which does not exist (nor does its folder)",
            "fail with STATUS_OBJECT_PATH_NOT_FOUND (0xC000003A),",
        ] {
            assert!(driver.found.contains(words), "{words}: {driver:#?}");
        }
        assert!(!driver.found.contains("0xC0000034"), "{driver:#?}");
    }

    #[test]
    fn a_broken_1x_entry_names_the_winfsp_service_key() {
        let mut facts = healthy_1x();
        facts.winfsp.driver = Some(service(
            "WinFsp",
            &format!("\\??\\{DRIVER_1X}"),
            DRIVER_1X,
            Some(false),
        ));
        facts.dokan = dokan_missing();
        assert_broken_entry(&facts, "WinFsp", DRIVER_1X);
    }

    #[test]
    fn with_a_broken_entry_and_dokan_installed_auto_mounts_with_dokan() {
        let mut facts = healthy();
        facts.winfsp.driver = Some(driver(Some(false)));
        assert_eq!(
            auto::choose(&facts.winfsp, || facts.dokan.clone()),
            AutoChoice::Dokan(WinFspProblem::DriverCannotStart),
            "what mount() does"
        );
        let findings = diagnose(&facts);
        let driver = finding(&findings, "winfsp-driver");
        assert_eq!(driver.status, Status::Warn);
        assert!(
            driver.found.ends_with("; mounts use Dokan instead"),
            "{driver:#?}"
        );
        assert!(driver
            .fix
            .unwrap()
            .contains(&delete_service_command(SERVICE)));
        let backend = finding(&findings, "backend");
        assert_eq!(backend.status, Status::Ok);
        assert_eq!(
            backend.found,
            format!(
                "Dokan 2.1.0, since WinFsp's driver cannot start (see the WinFsp driver \
                 service); {DOKAN_NO_SYMLINKS}"
            )
        );
        assert_eq!(errors(&findings), Vec::<&str>::new());
    }

    #[test]
    fn the_backend_finding_names_what_mount_picks_in_every_case() {
        let winfsp_states = {
            let mut broken = healthy();
            broken.winfsp.driver = Some(driver(Some(false)));
            let mut unloadable = healthy();
            unloadable.winfsp.dll = DllFacts::LoadFailed {
                code: 126,
                message: "The specified module could not be found.".to_owned(),
            };
            [healthy(), broken, unloadable, without_winfsp(healthy())]
        };
        for winfsp in winfsp_states {
            for dokan in [
                healthy().dokan,
                dokan_missing(),
                Err(DokanUnavailable::DriverNotRunning {
                    library_version: 210,
                }),
            ] {
                let facts = WindowsFacts {
                    winfsp: winfsp.winfsp.clone(),
                    dokan,
                };
                let backend = finding(&diagnose(&facts), "backend");
                let (prefix, status) = match auto::choose(&facts.winfsp, || facts.dokan.clone()) {
                    AutoChoice::WinFsp => ("WinFsp 2.1", Status::Ok),
                    AutoChoice::Dokan(_) => ("Dokan 2.1.0, since", Status::Ok),
                    AutoChoice::FailingWinFsp(_) => {
                        ("WinFsp, since it is installed", Status::Error)
                    }
                    AutoChoice::NoDriver(_) => ("none:", Status::Error),
                };
                assert!(backend.found.starts_with(prefix), "{prefix}: {backend:#?}");
                assert_eq!(backend.status, status, "{backend:#?}");
            }
        }
    }

    #[test]
    fn a_driver_entry_outside_the_installed_folder_is_a_warning() {
        let mut facts = healthy();
        let old = "C:\\Program Files\\WinFsp 2019\\bin\\winfsp-x64.sys";
        facts.winfsp.driver = Some(service(SERVICE, &format!("\\??\\{old}"), old, Some(true)));
        let findings = diagnose(&facts);
        let driver = finding(&findings, "winfsp-driver");
        assert_eq!(driver.status, Status::Warn);
        assert!(
            driver.found.contains("another WinFsp version"),
            "{driver:#?}"
        );
        assert!(driver
            .fix
            .unwrap()
            .contains(&delete_service_command(SERVICE)));
        assert_eq!(finding(&findings, "backend").status, Status::Ok);
        // The driver of another side-by-side installation is not this one's either.
        let other = DRIVER.replace("20231015T101530Z", "20220101T000000Z");
        facts.winfsp.driver = Some(service(SERVICE, &other, &other, Some(true)));
        let driver = finding(&diagnose(&facts), "winfsp-driver");
        assert_eq!(driver.status, Status::Warn, "{driver:#?}");
    }

    #[test]
    fn a_driver_file_that_could_not_be_checked_is_a_warning() {
        let mut facts = healthy();
        facts.winfsp.driver = Some(service(SERVICE, "system32\\drivers\\winfsp.sys", "", None));
        let driver = finding(&diagnose(&facts), "winfsp-driver");
        assert_eq!(driver.status, Status::Warn);
        assert!(driver.found.contains("could not be checked"), "{driver:#?}");
        let fix = driver.fix.unwrap();
        assert!(
            fix.contains("STATUS_OBJECT_NAME_NOT_FOUND (0xC0000034) or STATUS_OBJECT_PATH_NOT_FOUND (0xC000003A)"),
            "{fix}"
        );
    }

    #[test]
    fn a_missing_launcher_is_a_warning_that_says_what_it_is_for() {
        let mut facts = healthy();
        facts.winfsp.launcher = Some(ServiceFacts::unregistered("WinFsp.Launcher"));
        let findings = diagnose(&facts);
        let launcher = finding(&findings, "winfsp-launcher");
        assert_eq!(launcher.status, Status::Warn);
        for words in [
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinFsp.Launcher has no ImagePath",
            "do not use it",
            "launchctl",
            "net use",
            "HKLM\\SOFTWARE\\WinFsp\\Services",
        ] {
            assert!(launcher.found.contains(words), "{words}: {launcher:#?}");
        }
        assert!(launcher.fix.unwrap().contains(INSTALLER_URL));
        assert_eq!(errors(&findings), Vec::<&str>::new());

        facts.winfsp.launcher = Some(service(
            "WinFsp.Launcher",
            &format!("\"{LAUNCHER}\""),
            LAUNCHER,
            Some(false),
        ));
        let launcher = finding(&diagnose(&facts), "winfsp-launcher");
        assert_eq!(launcher.status, Status::Warn);
        assert!(
            launcher
                .found
                .contains("launcher-x64.exe, which does not exist"),
            "{launcher:#?}"
        );
    }

    #[test]
    fn dokan_not_installed_is_fine_while_winfsp_works() {
        let mut facts = healthy();
        facts.dokan = dokan_missing();
        let findings = diagnose(&facts);
        let dokan = finding(&findings, "dokan");
        assert_eq!(dokan.status, Status::Ok);
        assert_eq!(dokan.fix, None);
        assert!(
            dokan.found.contains("not installed; optional"),
            "{dokan:#?}"
        );
        assert!(dokan.found.contains(DOKAN_RELEASES_URL), "{dokan:#?}");
        assert_eq!(errors(&findings), Vec::<&str>::new());
    }

    #[test]
    fn a_dokan_library_without_its_driver_is_an_error_when_dokan_would_serve() {
        let mut facts = without_winfsp(healthy());
        facts.dokan = Err(DokanUnavailable::DriverNotRunning {
            library_version: 210,
        });
        let findings = diagnose(&facts);
        let dokan = finding(&findings, "dokan");
        assert_eq!(dokan.status, Status::Error);
        assert!(
            dokan
                .found
                .contains("dokan2.dll 2.1.0 is installed, but the Dokan 2 driver is not running"),
            "{dokan:#?}"
        );
        assert!(dokan.fix.unwrap().contains(DOKAN_RELEASES_URL));
        assert_eq!(errors(&findings), ["dokan", "backend"]);
        // With WinFsp serving mounts, the same problem is only a warning.
        let mut facts = healthy();
        facts.dokan = Err(DokanUnavailable::DriverNotRunning {
            library_version: 210,
        });
        assert_eq!(finding(&diagnose(&facts), "dokan").status, Status::Warn);
    }

    #[test]
    fn a_dokan_library_of_another_version_is_unusable() {
        let mut facts = without_winfsp(healthy());
        facts.dokan = Err(DokanUnavailable::WrongLibrary { version: 150 });
        let dokan = finding(&diagnose(&facts), "dokan");
        assert_eq!(dokan.status, Status::Error);
        assert!(dokan.found.contains("1.5.0"), "{dokan:#?}");
        assert!(dokan.fix.unwrap().contains("current Dokan 2 release"));
    }

    #[test]
    fn only_dokan_1_is_judged_as_dokan_2_not_installed_and_named() {
        // Without WinFsp a warning with the installer as the fix; with WinFsp serving, fine.
        for (winfsp, status) in [
            (without_winfsp(healthy()), Status::Warn),
            (healthy(), Status::Ok),
        ] {
            let mut facts = WindowsFacts {
                dokan: dokan_missing(),
                ..winfsp
            };
            let not_installed = finding(&diagnose(&facts), "dokan");
            facts.dokan = Err(DokanUnavailable::OnlyDokan1 { version: 152 });
            let dokan = finding(&diagnose(&facts), "dokan");
            assert_eq!(dokan.status, status, "{dokan:#?}");
            assert_eq!(not_installed.status, status, "{not_installed:#?}");
            assert_eq!(dokan.fix.is_some(), not_installed.fix.is_some());
            assert!(
                dokan.found.starts_with(
                    "not installed: only Dokan 1.5.2 is (dokan1.dll in System32), and mountkit \
                     needs Dokan 2"
                ),
                "{dokan:#?}"
            );
            let advice = dokan.fix.unwrap_or(dokan.found);
            assert!(advice.contains(DOKAN_RELEASES_URL), "{advice}");
            assert!(advice.contains("installs beside Dokan 1"), "{advice}");
        }
    }

    #[test]
    fn a_damaged_dokan_library_is_unusable() {
        let mut facts = without_winfsp(healthy());
        for unusable in [
            DokanUnavailable::MissingFunction { name: "DokanInit" },
            DokanUnavailable::DoesNotLoad {
                detail: "%1 is not a valid Win32 application. (os error 193)".to_owned(),
            },
        ] {
            facts.dokan = Err(unusable.clone());
            let dokan = finding(&diagnose(&facts), "dokan");
            assert_eq!(dokan.status, Status::Error);
            assert_eq!(
                dokan.found,
                format!("installed, but cannot be used: {unusable}")
            );
        }
    }

    #[test]
    fn off_windows_there_is_one_finding_saying_so() {
        let facts = WindowsFacts {
            winfsp: WinFspFacts {
                not_windows: Some("WinFsp mounts only on Windows".to_owned()),
                ..WinFspFacts::default()
            },
            dokan: Err(DokanUnavailable::NotWindows { os: "linux" }),
        };
        let findings = diagnose(&facts);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].check, "platform");
        assert_eq!(findings[0].status, Status::Error);
        assert!(findings[0].found.contains("runs on Windows only"));
    }

    #[test]
    fn the_diagnosis_of_this_machine_is_well_formed() {
        let findings = diagnose(&gather());
        for f in &findings {
            assert!(!f.found.is_empty() && !f.source.is_empty(), "{}", f.check);
            assert!(f.status != Status::Ok || f.fix.is_none(), "{}", f.check);
        }
        if cfg!(windows) {
            assert!(findings.iter().any(|f| f.check == "backend"));
        } else {
            assert!(gather().winfsp.not_windows.is_some());
            assert_eq!(findings.len(), 1);
            assert_eq!(findings[0].check, "platform");
        }
    }
}
