//! Why a mount failed: [`MountError`], whose variants carry the facts, and the stable
//! [`ErrorCode`] each maps to, which the Node.js API gives its errors as `code`.

use std::fmt;

use mountkit_core::windows::ntstatus::{STATUS_ACCESS_DENIED, STATUS_INVALID_PARAMETER};
use mountkit_core::windows::InvalidOption;
use mountkit_dokan::errors::{
    DOKAN_DRIVER_INSTALL_ERROR, DOKAN_DRIVE_LETTER_ERROR, DOKAN_MOUNT_ERROR,
    DOKAN_MOUNT_POINT_ERROR, DOKAN_RELEASES_URL, DOKAN_START_ERROR, DOKAN_VERSION_ERROR,
};
use mountkit_dokan::{DokanMountError, DokanUnavailable};
use mountkit_winfsp::{WinFspError, INSTALLER_URL};

use crate::auto::WinFspProblem;
use crate::Backend;

/// What kind of failure a [`MountError`] is, in a form that stays the same from release to
/// release: programs branch on it, people read the message. [`ErrorCode::as_str`] is the
/// `code` the Node.js API gives these errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `EOPTION`: an option is not valid; the message names it and what it must be.
    InvalidOption,
    /// `EMOUNTPOINT`: the mount point cannot be used: missing, not a directory, not empty,
    /// already mounted, a drive letter in use, not a drive letter or folder.
    MountPoint,
    /// `EPLATFORM`: the backend asked for does not exist on this platform (FUSE off Linux,
    /// WinFsp or Dokan off Windows).
    Platform,
    /// `ENODRIVER`: the driver the backend needs is not installed (no WinFsp or Dokan 2, no
    /// `/dev/fuse` or `fusermount3`), or lacks what an option requires (FUSE over io_uring).
    NoDriver,
    /// `EDRIVER`: the driver is installed but broken: its DLL does not load or is too old,
    /// its service cannot start, or its parts are from different releases.
    BrokenDriver,
    /// `EPERMISSION`: this process may not mount there or use the driver.
    Permission,
    /// `EMOUNT`: any other failure of the mount itself; the message says what it was.
    Other,
}

impl ErrorCode {
    /// Every code, in the order the documentation lists them.
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::InvalidOption,
        ErrorCode::MountPoint,
        ErrorCode::Platform,
        ErrorCode::NoDriver,
        ErrorCode::BrokenDriver,
        ErrorCode::Permission,
        ErrorCode::Other,
    ];

    /// The code as a string: `"EOPTION"`, `"EMOUNTPOINT"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidOption => "EOPTION",
            ErrorCode::MountPoint => "EMOUNTPOINT",
            ErrorCode::Platform => "EPLATFORM",
            ErrorCode::NoDriver => "ENODRIVER",
            ErrorCode::BrokenDriver => "EDRIVER",
            ErrorCode::Permission => "EPERMISSION",
            ErrorCode::Other => "EMOUNT",
        }
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why [`mount`](crate::mount) failed. Nothing is left mounted. Each variant carries what
/// was found; its text ([`fmt::Display`]) says what happened and what to do, and
/// [`MountError::code`] says what kind of failure it is.
#[derive(Debug)]
pub enum MountError {
    /// An option is not valid (before any backend is asked).
    InvalidOption(InvalidOption),
    /// The mount point is none of the Windows forms (Windows backends).
    InvalidMountPoint {
        /// The mount point as given.
        mountpoint: String,
    },
    /// The mount point is a form only Windows has (`'*'`, `'\\server\share'`), given to the
    /// FUSE backend.
    WindowsOnlyMountPoint {
        /// The mount point as given.
        mountpoint: String,
    },
    /// The backend asked for does not exist on this platform (only FUSE answers so here:
    /// the Windows backends say it themselves, in [`MountError::WinFsp`] and
    /// [`MountError::Dokan`]).
    Unsupported {
        /// The backend asked for.
        backend: Backend,
    },
    /// The FUSE backend failed.
    #[cfg(target_os = "linux")]
    Fuse(mountkit_fuse::FuseMountError),
    /// The WinFsp backend failed (asked for, or picked by `'auto'`).
    WinFsp(WinFspError),
    /// The Dokan backend, asked for by name, failed.
    Dokan(DokanMountError),
    /// `'auto'` found neither Windows driver: WinFsp is not installed and Dokan 2 cannot be
    /// used, for the reason given.
    NoDriver {
        /// Why Dokan 2 cannot be used.
        dokan: DokanUnavailable,
    },
    /// `'auto'` fell back to Dokan 2, since WinFsp cannot serve, and Dokan failed.
    DokanFallback {
        /// Why WinFsp was not used.
        winfsp: WinFspProblem,
        /// How Dokan failed.
        dokan: DokanMountError,
    },
}

impl MountError {
    /// What kind of failure this is; stable across releases.
    pub fn code(&self) -> ErrorCode {
        match self {
            MountError::InvalidOption(_) => ErrorCode::InvalidOption,
            MountError::InvalidMountPoint { .. } | MountError::WindowsOnlyMountPoint { .. } => {
                ErrorCode::MountPoint
            }
            MountError::Unsupported { .. } => ErrorCode::Platform,
            #[cfg(target_os = "linux")]
            MountError::Fuse(error) => fuse_code(error),
            MountError::WinFsp(error) => winfsp_code(error),
            MountError::Dokan(error) | MountError::DokanFallback { dokan: error, .. } => {
                dokan_code(error)
            }
            MountError::NoDriver { .. } => ErrorCode::NoDriver,
        }
    }
}

#[cfg(target_os = "linux")]
fn fuse_code(error: &mountkit_fuse::FuseMountError) -> ErrorCode {
    use mountkit_fuse::{FuseMountError, FuseSetupProblem};
    match error {
        FuseMountError::AlreadyMounted { .. }
        | FuseMountError::Unusable { .. }
        | FuseMountError::NotADirectory { .. }
        | FuseMountError::NotEmpty { .. } => ErrorCode::MountPoint,
        FuseMountError::Refused { problem, .. } => match problem {
            FuseSetupProblem::NoDevice | FuseSetupProblem::NoFusermount => ErrorCode::NoDriver,
            FuseSetupProblem::DeviceRefused | FuseSetupProblem::PermissionDenied => {
                ErrorCode::Permission
            }
            FuseSetupProblem::AllowOtherRefused => ErrorCode::InvalidOption,
            FuseSetupProblem::Other => ErrorCode::Other,
        },
        FuseMountError::IoUringUnavailable { .. } => ErrorCode::NoDriver,
        FuseMountError::Io { .. } => ErrorCode::Other,
    }
}

fn winfsp_code(error: &WinFspError) -> ErrorCode {
    match error {
        WinFspError::NotWindows => ErrorCode::Platform,
        WinFspError::InvalidOption(_) => ErrorCode::InvalidOption,
        WinFspError::NotInstalled | WinFspError::NoDllForArch => ErrorCode::NoDriver,
        WinFspError::LoadFailed { .. }
        | WinFspError::MissingFunction { .. }
        | WinFspError::NoVersion { .. } => ErrorCode::BrokenDriver,
        WinFspError::CreateFailed { status, .. } => match *status {
            STATUS_INVALID_PARAMETER => ErrorCode::InvalidOption,
            STATUS_ACCESS_DENIED => ErrorCode::Permission,
            _ => ErrorCode::BrokenDriver,
        },
        WinFspError::MountPointFailed { .. } => ErrorCode::MountPoint,
        WinFspError::DispatcherFailed { .. } | WinFspError::SecurityDescriptor { .. } => {
            ErrorCode::Other
        }
    }
}

fn dokan_code(error: &DokanMountError) -> ErrorCode {
    match error {
        DokanMountError::InvalidOption(_) => ErrorCode::InvalidOption,
        DokanMountError::Unavailable(unavailable) => match unavailable {
            DokanUnavailable::NotWindows { .. } => ErrorCode::Platform,
            DokanUnavailable::NotInstalled { .. } | DokanUnavailable::OnlyDokan1 { .. } => {
                ErrorCode::NoDriver
            }
            DokanUnavailable::DoesNotLoad { .. }
            | DokanUnavailable::MissingFunction { .. }
            | DokanUnavailable::WrongLibrary { .. }
            | DokanUnavailable::DriverNotRunning { .. } => ErrorCode::BrokenDriver,
        },
        DokanMountError::CreateFailed { code, .. } => match *code {
            DOKAN_DRIVE_LETTER_ERROR
            | DOKAN_START_ERROR
            | DOKAN_MOUNT_ERROR
            | DOKAN_MOUNT_POINT_ERROR => ErrorCode::MountPoint,
            DOKAN_DRIVER_INSTALL_ERROR => ErrorCode::NoDriver,
            DOKAN_VERSION_ERROR => ErrorCode::BrokenDriver,
            _ => ErrorCode::Other,
        },
        DokanMountError::Principals { .. } => ErrorCode::Other,
    }
}

impl fmt::Display for MountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MountError::InvalidOption(invalid) => invalid.fmt(f),
            MountError::InvalidMountPoint { mountpoint } => write!(
                f,
                "'{mountpoint}' is not a mount point: use a drive letter such as 'M:', '*' for \
                 the next free drive letter, a folder path, or a network share written \
                 \\\\server\\share (exactly two parts)"
            ),
            MountError::WindowsOnlyMountPoint { mountpoint } => write!(
                f,
                "'{mountpoint}' is a Windows mount point (the next free drive letter or a \
                 network share), which FUSE cannot mount: on Linux, mount on the path of an \
                 existing empty directory"
            ),
            MountError::Unsupported { backend } => write!(
                f,
                "the {} backend is available on Linux only; on Windows use backend 'auto', \
                 'winfsp' or 'dokan'",
                backend.title()
            ),
            #[cfg(target_os = "linux")]
            MountError::Fuse(error) => error.fmt(f),
            MountError::WinFsp(error) => error.fmt(f),
            MountError::Dokan(error) => error.fmt(f),
            MountError::NoDriver { dokan } => write!(
                f,
                "no Windows file system driver is available. Install WinFsp ({INSTALLER_URL}) \
                 or Dokan 2 ({DOKAN_RELEASES_URL}), then mount again. WinFsp: {} Dokan: {}",
                sentence(&WinFspError::NotInstalled.to_string()),
                sentence(&dokan.to_string()),
            ),
            MountError::DokanFallback { winfsp, dokan } => write!(
                f,
                "{}, so backend 'auto' tried Dokan 2, which failed: {dokan}",
                winfsp.reason()
            ),
        }
    }
}

impl std::error::Error for MountError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MountError::InvalidOption(error) => Some(error),
            #[cfg(target_os = "linux")]
            MountError::Fuse(error) => Some(error),
            MountError::WinFsp(error) => Some(error),
            MountError::Dokan(error) | MountError::DokanFallback { dokan: error, .. } => {
                Some(error)
            }
            MountError::NoDriver { dokan } => Some(dokan),
            MountError::InvalidMountPoint { .. }
            | MountError::WindowsOnlyMountPoint { .. }
            | MountError::Unsupported { .. } => None,
        }
    }
}

impl From<InvalidOption> for MountError {
    fn from(invalid: InvalidOption) -> MountError {
        MountError::InvalidOption(invalid)
    }
}

/// `text` as a sentence that ends with a period, whether or not it had one.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod tests {
    use mountkit_core::windows::MountPoint;
    use mountkit_winfsp::ServiceFacts;

    use super::*;

    fn dokan_missing() -> DokanUnavailable {
        DokanUnavailable::NotInstalled {
            detail: "The specified module could not be found. (os error 126)".to_owned(),
        }
    }

    #[test]
    fn codes_are_distinct_and_spelled_as_documented() {
        let spelled: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(
            spelled,
            [
                "EOPTION",
                "EMOUNTPOINT",
                "EPLATFORM",
                "ENODRIVER",
                "EDRIVER",
                "EPERMISSION",
                "EMOUNT"
            ]
        );
    }

    #[test]
    fn with_neither_driver_the_message_names_both_installers_in_whole_sentences() {
        let error = MountError::NoDriver {
            dokan: dokan_missing(),
        };
        assert_eq!(error.code(), ErrorCode::NoDriver);
        let message = error.to_string();
        assert!(message.contains(INSTALLER_URL), "{message}");
        assert!(message.contains(DOKAN_RELEASES_URL), "{message}");
        assert!(
            message.contains("WinFsp: WinFsp is not installed"),
            "{message}"
        );
        assert!(
            message.contains(" Dokan: Dokan 2 is not installed"),
            "{message}"
        );
        assert!(!message.contains(".."), "{message}");
        assert!(message.ends_with("or use the WinFsp backend."), "{message}");
    }

    #[test]
    fn sentences_end_with_one_period() {
        assert_eq!(sentence("done."), "done.");
        assert_eq!(sentence("done"), "done.");
        assert_eq!(sentence("done? "), "done?");
    }

    #[test]
    fn backend_failures_get_the_code_of_what_they_mean() {
        let cases = [
            (
                MountError::WinFsp(WinFspError::NotWindows),
                ErrorCode::Platform,
            ),
            (
                MountError::WinFsp(WinFspError::NotInstalled),
                ErrorCode::NoDriver,
            ),
            (
                MountError::WinFsp(WinFspError::CreateFailed {
                    status: 0xC000_0034_u32 as i32,
                    driver: ServiceFacts::unregistered("WinFsp"),
                }),
                ErrorCode::BrokenDriver,
            ),
            (
                MountError::WinFsp(WinFspError::MountPointFailed {
                    status: 0xC000_0035_u32 as i32,
                    mount_point: MountPoint::Drive('M'),
                }),
                ErrorCode::MountPoint,
            ),
            (
                MountError::Dokan(DokanMountError::Unavailable(dokan_missing())),
                ErrorCode::NoDriver,
            ),
            (
                MountError::Dokan(DokanMountError::Unavailable(
                    DokanUnavailable::DriverNotRunning {
                        library_version: 210,
                    },
                )),
                ErrorCode::BrokenDriver,
            ),
            (
                MountError::DokanFallback {
                    winfsp: WinFspProblem::DriverCannotStart,
                    dokan: DokanMountError::CreateFailed {
                        code: DOKAN_MOUNT_ERROR,
                        mount_point: MountPoint::Drive('M'),
                    },
                },
                ErrorCode::MountPoint,
            ),
            (
                MountError::InvalidMountPoint {
                    mountpoint: "1:".to_owned(),
                },
                ErrorCode::MountPoint,
            ),
            (
                MountError::InvalidOption(InvalidOption::new("sectorSize", "bad")),
                ErrorCode::InvalidOption,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
        }
    }
}
