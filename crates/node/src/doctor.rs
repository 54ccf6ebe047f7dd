//! The Windows half of `mountkit doctor`, as JavaScript receives it: the facade's findings
//! ([`mountkit::doctor`]) converted to objects; `lib/doctor.ts` prints them.

use mountkit::doctor::{self, Finding};
use napi_derive::napi;

/// One finding of the Windows diagnosis, as `Finding` in `lib/doctor.ts`.
#[napi(object)]
pub(crate) struct NativeFinding {
    /// Stable identifier, for scripts reading `--json`.
    pub check: String,
    /// What is checked, for people.
    pub title: String,
    /// `'ok'`, `'warn'` or `'error'`.
    pub status: String,
    /// What was found.
    pub found: String,
    /// Where the fact comes from.
    pub source: String,
    /// What to do about it; absent when there is nothing to do.
    pub fix: Option<String>,
}

impl From<Finding> for NativeFinding {
    fn from(finding: Finding) -> NativeFinding {
        NativeFinding {
            check: finding.check.to_owned(),
            title: finding.title.to_owned(),
            status: finding.status.as_str().to_owned(),
            found: finding.found,
            source: finding.source,
            fix: finding.fix,
        }
    }
}

/// The checklist of `mountkit doctor` on Windows: WinFsp (installation and DLL, driver service
/// entry, launcher service), Dokan 2, and which backend `backend: 'auto'` picks. Off Windows,
/// one finding saying that this diagnosis runs on Windows.
#[napi]
pub(crate) fn windows_diagnosis() -> Vec<NativeFinding> {
    doctor::diagnose(&doctor::gather())
        .into_iter()
        .map(NativeFinding::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use mountkit::doctor::Status;

    use super::*;

    #[test]
    fn findings_reach_javascript_with_the_status_spelled_as_in_typescript() {
        let finding = |status| Finding {
            check: "winfsp-driver",
            title: "WinFsp driver service",
            status,
            found: "found".to_owned(),
            source: "source".to_owned(),
            fix: (status != Status::Ok).then(|| "fix".to_owned()),
        };
        let native: Vec<NativeFinding> = [Status::Ok, Status::Warn, Status::Error]
            .into_iter()
            .map(|status| NativeFinding::from(finding(status)))
            .collect();
        let statuses: Vec<_> = native.iter().map(|f| f.status.as_str()).collect();
        assert_eq!(statuses, ["ok", "warn", "error"]);
        assert_eq!(native[1].check, "winfsp-driver");
        assert_eq!(native[0].fix, None);
        assert_eq!(native[2].fix.as_deref(), Some("fix"));
    }

    #[test]
    fn the_diagnosis_of_this_machine_is_well_formed() {
        let findings = windows_diagnosis();
        for f in &findings {
            assert!(
                ["ok", "warn", "error"].contains(&f.status.as_str()),
                "{}",
                f.status
            );
        }
        if !cfg!(windows) {
            assert_eq!(findings.len(), 1);
            assert_eq!(findings[0].check, "platform");
        }
    }
}
