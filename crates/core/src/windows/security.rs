//! The security descriptors the files of a Windows mount report, for both backends.
//!
//! Most handlers speak POSIX ownership and modes, not Windows ACLs. A filesystem that keeps
//! real ACLs answers `get_security` and `set_security` in SDDL ([`answered_or_derived`]); a
//! program's change is merged into the whole descriptor first ([`merge`]), and a new file
//! gets its directory's inheritable ACEs ([`inherited`]). Otherwise each file reports a
//! descriptor derived from its `uid`, `gid` and `mode` ([`FileSecurity::Ownership`]), the way
//! WinFsp's FUSE layer maps them (its `FspPosixMapUidToSid` and
//! `FspPosixMapPermissionsToSecurityDescriptor`; the rules are restated on
//! [`sid_of_id`] and [`posix_sddl`]). The one difference: ids 0 stand for the mounting
//! process's own user and primary group ([`Principals`]), because 0 is what a Windows
//! program has for "mine" everywhere (Node has no `process.getuid` on Windows and its
//! `fs.stat` reports uid and gid 0; a [`crate::Stat`] defaults to 0; a request's context
//! carries 0), so a filesystem that leaves ownership alone stays its mounter's.
//!
//! A mount without kernel permission checks (`default_permissions` off) reports one fixed,
//! permissive descriptor instead ([`FileSecurity::Fixed`], [`SDDL`]), as every mount did
//! before: access is then decided by the handlers alone, which refuse what they refuse with
//! `EACCES`. Without a `set_security` handler, a change of the fixed descriptor succeeds and
//! changes nothing, on both backends, as on a FAT volume; a change of a descriptor of a file's
//! own, which would be lost, is refused unless it changes nothing ([`changed_or_dropped`]).
//!
//! The fixed descriptor's ACEs are inherited by files and subdirectories (`OICI`), as on an
//! NTFS volume's root and in Dokan's memfs sample, and unlike WinFsp's memfs sample, whose root
//! ACEs are not inheritable. Every file reports the very ACEs its directory reports, so only
//! the inheritable form describes truthfully what a directory's children get; with plain ACEs
//! Windows would tell anyone who asks (Explorer's "Applies to", `icacls`, a copy that keeps
//! security) that new children get nothing from their directory, while they get full access.
//! Access checks are the same either way: inheritance flags without `IO` (inherit only) do
//! not change what an ACE grants on the object itself. The per-file descriptors carry no
//! inheritance flags, as WinFsp's FUSE layer writes them: what a new file gets comes from its
//! own mode, not from its directory. `docs/architecture.md` records the decisions.
//!
//! Descriptors are written in SDDL; the Windows side of each backend converts them with
//! `ConvertStringSecurityDescriptorToSecurityDescriptorW`.

use crate::windows::ntstatus::STATUS_BUFFER_OVERFLOW;

/// `SECURITY_INFORMATION` bit: the owner.
pub const OWNER_SECURITY_INFORMATION: u32 = 0x1;
/// `SECURITY_INFORMATION` bit: the primary group.
pub const GROUP_SECURITY_INFORMATION: u32 = 0x2;
/// `SECURITY_INFORMATION` bit: the discretionary ACL.
pub const DACL_SECURITY_INFORMATION: u32 = 0x4;
/// `SECURITY_INFORMATION` bit: the system ACL (auditing), which is never reported.
pub const SACL_SECURITY_INFORMATION: u32 = 0x8;
/// `SECURITY_INFORMATION` bit: the mandatory integrity label, an ACE of the system ACL.
pub const LABEL_SECURITY_INFORMATION: u32 = 0x10;

/// The fixed descriptor, in SDDL: owned by built-in Administrators (owner and group), with a
/// protected DACL (`P`: nothing above the volume adds to it) granting full access (`FA`),
/// inherited by files and subdirectories (`OICI`), to SYSTEM, Administrators and Everyone.
pub const SDDL: &str = "O:BAG:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)";

/// The SDDL text of the fixed descriptor restricted to the parts `information` asks for
/// (owner, group, DACL), as `GetFileSecurity` answers. A request for the SACL alone gets an
/// empty descriptor: there is no SACL to report.
pub fn sddl(information: u32) -> String {
    restrict(SDDL, information)
}

/// The parts `information` asks for of `whole`, an SDDL text (`O:…G:…D:…`, in any order, any
/// part absent), in Windows' order, as `GetFileSecurity` answers. A SACL (`S:…`) is never
/// reported.
pub fn restrict(whole: &str, information: u32) -> String {
    // SIDs and aliases hold no colon, and an alias is always followed by a part's letter, a
    // parenthesis or a semicolon, never by a colon: the first `X:` is where part X starts.
    let starts: Vec<usize> = ["O:", "G:", "D:", "S:"]
        .iter()
        .filter_map(|tag| whole.find(tag))
        .collect();
    let part = |tag: &str| {
        whole.find(tag).map_or("", |start| {
            let end = starts
                .iter()
                .copied()
                .filter(|&other| other > start)
                .min()
                .unwrap_or(whole.len());
            &whole[start..end]
        })
    };
    let mut text = String::new();
    for (bit, tag) in [
        (OWNER_SECURITY_INFORMATION, "O:"),
        (GROUP_SECURITY_INFORMATION, "G:"),
        (DACL_SECURITY_INFORMATION, "D:"),
    ] {
        if information & bit != 0 {
            text.push_str(part(tag));
        }
    }
    text
}

/// The SID of the ids Windows cannot map to an account (`S-1-0-65534`), as WinFsp's FUSE layer
/// names them.
pub const UNMAPPED_SID: &str = "S-1-0-65534";
/// Everyone (`S-1-1-0`): the ACE that carries a mode's "other" bits.
const EVERYONE_SID: &str = "S-1-1-0";

/// Who ids stand for on the mounting machine: what the Windows side of a backend reads once
/// per mount from the mounting process's token and from the local security authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principals {
    /// The mounting process's user (uid 0), as a SID string (`S-1-5-21-…`).
    pub user: String,
    /// The mounting process's primary group (gid 0), as a SID string.
    pub group: String,
    /// The machine's account domain (`S-1-5-21-X-Y-Z`), whose accounts are ids
    /// `0x30000 + RID`; `None` when Windows does not name one.
    pub account_domain: Option<String>,
    /// The primary domain of a machine joined to one (`S-1-5-21-X-Y-Z`), whose accounts are ids
    /// `0x100000 + RID`; `None` on a machine in a workgroup.
    pub primary_domain: Option<String>,
}

/// Whether an id is a file's owner (`uid`) or its group (`gid`): they differ only for id 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// A user id.
    User,
    /// A group id.
    Group,
}

/// The SID string of a POSIX id, by WinFsp's FUSE layer's partition of the id space:
///
/// | id | SID |
/// |---|---|
/// | 0 | the mounting process's user (uid) or primary group (gid): see the module |
/// | below `0x200`, and 1000 | `S-1-5-id` (SYSTEM is 18) |
/// | `0x200` to 999 | `S-1-5-32-id` (built-in aliases: Administrators 544, Users 545) |
/// | `0x30000 + RID` | `S-1-5-21-X-Y-Z-RID` in the machine's account domain |
/// | `0x100000 + RID` (below `0xff000000`) | `S-1-5-21-X-Y-Z-RID` in the primary domain |
/// | `0x60000 + RID` (below `0x70000`) | `S-1-16-RID` (mandatory labels) |
/// | `0x10000 + 0x100·X + Y` (below `0x11000`) | `S-1-X-Y` (Everyone is `0x10100`) |
/// | `0x1000·X + RID` (below `0x100000`) | `S-1-5-X-RID` |
///
/// Anything else, the logon-session ids `0xffe` and `0xfff`, 65534, and a domain range whose
/// domain is unknown, is [`UNMAPPED_SID`]. Trusted domains of the primary domain are not
/// looked up: their ids map into the primary domain.
pub fn sid_of_id(id: u32, kind: IdKind, principals: &Principals) -> String {
    let in_domain = |domain: &Option<String>, rid: u32| match domain {
        Some(domain) => format!("{domain}-{rid}"),
        None => UNMAPPED_SID.to_owned(),
    };
    match id {
        0 => match kind {
            IdKind::User => principals.user.clone(),
            IdKind::Group => principals.group.clone(),
        },
        1..0x200 | 1000 => format!("S-1-5-{id}"),
        0x200..1000 => format!("S-1-5-32-{id}"),
        0xffe | 0xfff => UNMAPPED_SID.to_owned(),
        0x30000..0x40000 => in_domain(&principals.account_domain, id - 0x30000),
        0x100000..0xff000000 => in_domain(&principals.primary_domain, id - 0x100000),
        0x60000..0x70000 => format!("S-1-16-{}", id - 0x60000),
        0x10000..0x11000 => format!("S-1-{}-{}", (id - 0x10000) >> 8, (id - 0x10000) & 0xff),
        65534 => UNMAPPED_SID.to_owned(),
        0x1000..0x100000 => format!("S-1-5-{}-{}", id >> 12, id & 0xfff),
        _ => UNMAPPED_SID.to_owned(),
    }
}

/// Access rights every allowed ACE of a mapped descriptor grants: `SYNCHRONIZE`,
/// `READ_CONTROL`, `FILE_READ_ATTRIBUTES` and `FILE_READ_EA`.
pub const BASE_RIGHTS: u32 = 0x0010_0000 | 0x0002_0000 | 0x80 | 0x8;
/// Access rights the owner's allowed ACE always adds: `DELETE`, `WRITE_DAC`, `WRITE_OWNER`,
/// `FILE_WRITE_ATTRIBUTES` and `FILE_WRITE_EA`.
pub const OWNER_RIGHTS: u32 = BASE_RIGHTS | 0x0001_0000 | 0x0004_0000 | 0x0008_0000 | 0x100 | 0x10;
/// `FILE_READ_DATA`: what the read bit grants.
pub const READ_RIGHTS: u32 = 0x1;
/// `FILE_WRITE_ATTRIBUTES`, `FILE_WRITE_DATA` and `FILE_APPEND_DATA`: what the write bit
/// grants (on a directory without the sticky bit, `FILE_DELETE_CHILD` too).
pub const WRITE_RIGHTS: u32 = 0x100 | 0x2 | 0x4;
/// `FILE_DELETE_CHILD`.
pub const DELETE_CHILD: u32 = 0x40;
/// `FILE_EXECUTE`: what the execute bit grants (on a directory, traversal).
pub const EXECUTE_RIGHTS: u32 = 0x20;
/// The sticky bit of a mode: on a directory, only owners may delete its children.
const STICKY: u32 = 0o1000;

/// The access rights one `rwx` triple grants. A directory's write bit grants
/// `FILE_DELETE_CHILD` too, unless `sticky` (which the owner's triple never is).
fn rights(bits: u32, directory: bool, sticky: bool) -> u32 {
    let mut rights = 0;
    if bits & 4 != 0 {
        rights |= READ_RIGHTS;
    }
    if bits & 2 != 0 {
        rights |= WRITE_RIGHTS;
        if directory && !sticky {
            rights |= DELETE_CHILD;
        }
    }
    if bits & 1 != 0 {
        rights |= EXECUTE_RIGHTS;
    }
    rights
}

/// The SDDL of the descriptor WinFsp's FUSE layer gives a file of `mode` owned by the SIDs
/// `owner` and `group`: a protected DACL of
///
/// 1. an allowed ACE for the owner: [`OWNER_RIGHTS`] and its triple's rights;
/// 2. a denied ACE for the owner, for what the group or other triple grants and the owner's
///    does not (less `FILE_WRITE_ATTRIBUTES`), since Windows grants the union of every ACE
///    that matches a caller, while POSIX applies only the first class that matches;
/// 3. an allowed ACE for the group: [`BASE_RIGHTS`] and its triple's rights;
/// 4. a denied ACE for the group, for what the other triple grants and the group's does not;
/// 5. an allowed ACE for Everyone: [`BASE_RIGHTS`] and the other triple's rights.
///
/// Denied ACEs appear only when they deny something. Masks are written in hexadecimal.
pub fn posix_sddl(owner: &str, group: &str, mode: u32, directory: bool) -> String {
    let sticky = mode & STICKY != 0;
    let (owner_bits, group_bits, other_bits) = ((mode >> 6) & 7, (mode >> 3) & 7, mode & 7);
    let owner_denied = (group_bits | other_bits) & !owner_bits;
    let group_denied = other_bits & !group_bits;
    let mut dacl = format!(
        "(A;;{:#x};;;{owner})",
        OWNER_RIGHTS | rights(owner_bits, directory, false)
    );
    if owner_denied != 0 {
        let denied = rights(owner_denied, directory, false) & !0x100;
        dacl.push_str(&format!("(D;;{denied:#x};;;{owner})"));
    }
    dacl.push_str(&format!(
        "(A;;{:#x};;;{group})",
        BASE_RIGHTS | rights(group_bits, directory, sticky)
    ));
    if group_denied != 0 {
        let denied = rights(group_denied, directory, sticky);
        dacl.push_str(&format!("(D;;{denied:#x};;;{group})"));
    }
    dacl.push_str(&format!(
        "(A;;{:#x};;;{EVERYONE_SID})",
        BASE_RIGHTS | rights(other_bits, directory, sticky)
    ));
    format!("O:{owner}G:{group}D:P{dacl}")
}

/// What descriptor the files of a mount report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSecurity {
    /// One fixed, permissive descriptor for every file ([`SDDL`]): the handlers alone decide
    /// access.
    Fixed,
    /// Each file's own, from its `uid`, `gid` and `mode` ([`posix_sddl`]).
    Ownership(Principals),
}

impl FileSecurity {
    /// Who creates files when a program does not say, as SIDs: the mounting user and primary
    /// group, who on a desktop are the ones creating them; built-in Administrators, the fixed
    /// descriptor's owner, without kernel permission checks.
    pub fn creator(&self) -> (&str, &str) {
        match self {
            FileSecurity::Fixed => ("BA", "BA"),
            FileSecurity::Ownership(principals) => (&principals.user, &principals.group),
        }
    }

    /// The SDDL of the whole descriptor (owner, group and DACL) of a file with `stat`.
    pub fn sddl(&self, stat: &crate::Stat) -> String {
        match self {
            FileSecurity::Fixed => SDDL.to_owned(),
            FileSecurity::Ownership(principals) => posix_sddl(
                &sid_of_id(stat.uid, IdKind::User, principals),
                &sid_of_id(stat.gid, IdKind::Group, principals),
                stat.mode,
                stat.kind == crate::FileKind::Directory,
            ),
        }
    }
}

/// Where a file's descriptor came from: the filesystem's `get_security`, or [`FileSecurity`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The filesystem's `get_security` answered.
    Handler,
    /// The filesystem has no `get_security` (`ENOSYS`): derived from the file's metadata.
    Derived,
}

/// The SDDL of a file's whole descriptor and where it came from: what the filesystem's
/// `get_security` answered, or, when it has no such handler (`ENOSYS`), what `security`
/// derives from the file's `stat`. Any other error is the handler's, and is passed on.
pub fn answered_or_derived(
    answer: crate::FsResult<String>,
    security: &FileSecurity,
    stat: &crate::Stat,
) -> crate::FsResult<(String, Source)> {
    match answer {
        Ok(sddl) => Ok((sddl, Source::Handler)),
        Err(crate::Errno::ENOSYS) => Ok((security.sddl(stat), Source::Derived)),
        Err(errno) => Err(errno),
    }
}

/// The whole descriptor after a program changed the parts `information` names (owner, group,
/// DACL; a SACL is never kept): those parts from `changes`, the SDDL of the new descriptor's
/// parts as Windows writes them, and every other part from `current`. This is what
/// `SetFileSecurity` does to a file that keeps its descriptor whole, so a `set_security`
/// handler always receives a complete descriptor.
pub fn merge(current: &str, information: u32, changes: &str) -> String {
    [
        OWNER_SECURITY_INFORMATION,
        GROUP_SECURITY_INFORMATION,
        DACL_SECURITY_INFORMATION,
    ]
    .into_iter()
    .map(|part| {
        if information & part != 0 {
            restrict(changes, part)
        } else {
            restrict(current, part)
        }
    })
    .collect()
}

/// What a program's change of a descriptor answers, from what `set_security` answered: the
/// handler's answer, or, when there is no handler (`ENOSYS`), success with nothing changed
/// where nothing is lost, and `EOPNOTSUPP` (`STATUS_NOT_SUPPORTED`) everywhere else.
///
/// A volume without a `set_security` handler keeps no ACLs and does not claim
/// `FILE_PERSISTENT_ACLS`. A change that is dropped loses nothing when:
///
/// - the file reports the fixed, permissive descriptor (`reported` is [`Source::Derived`] and
///   `security` is [`FileSecurity::Fixed`]): nothing is enforced, as on FAT, where Windows' I/O
///   manager turns the `STATUS_INVALID_DEVICE_REQUEST` of a file system without a
///   set-security handler into success for a change (and into a descriptor granting everyone
///   everything for a query). Programs that copy files with their security (`robocopy /SEC`,
///   `xcopy /O`, installers, archivers) then go on instead of failing each file;
/// - or the change asks for what the file already has (`unchanged`: the merged descriptor is
///   the current one, and the change sets no audit ACE or label, which [`keepable_change`]
///   judges).
///
/// Otherwise the file reports a descriptor of its own, which WinFsp enforces on every open (one
/// derived from its mode, or the `get_security` handler's): a change that reported success
/// would tell a program that locks a file down that it worked, while nothing changed. It is
/// refused with `STATUS_NOT_SUPPORTED`, never with `STATUS_INVALID_DEVICE_REQUEST`, which the
/// I/O manager would turn into success. Dokan's library turns every failed set-security into
/// `STATUS_INVALID_PARAMETER`, so that is what programs see there.
pub fn changed_or_dropped(
    answer: crate::FsResult<()>,
    reported: Source,
    security: &FileSecurity,
    information: u32,
    changes: &str,
    unchanged: impl FnOnce() -> bool,
) -> crate::FsResult<()> {
    match answer {
        Err(crate::Errno::ENOSYS) => {
            let permissive = reported == Source::Derived && *security == FileSecurity::Fixed;
            let nothing_lost = || keepable_change(information, changes).is_ok() && unchanged();
            if permissive || nothing_lost() {
                Ok(())
            } else {
                Err(crate::Errno::EOPNOTSUPP)
            }
        }
        answer => answer,
    }
}

/// Whether a filesystem that stores descriptors (`set_security`, persistent ACLs claimed) can
/// keep a program's change: the parts `information` names, written as SDDL in `changes` (with
/// the system ACL, `S:`, when the change names it or the label).
///
/// Descriptors are kept as owner, group and DACL ([`merge`]); a system ACL, which holds audit
/// ACEs and the mandatory label, is not. A change that sets audit ACEs or a label
/// (`SACL_SECURITY_INFORMATION`, `LABEL_SECURITY_INFORMATION` with any ACE) would otherwise
/// succeed and change nothing, on a volume that says it keeps ACLs: it fails with `EOPNOTSUPP`
/// (`STATUS_NOT_SUPPORTED`), before anything is stored, so the program knows. One that sets
/// an empty system ACL asks for what the file has, as copies of ordinary files do
/// (`robocopy /COPYALL`), and goes ahead. Windows lets only callers holding
/// `SeSecurityPrivilege` change a system ACL, so a refusal meets backup and admin tools, which
/// report it, and never an ordinary program.
pub fn keepable_change(information: u32, changes: &str) -> crate::FsResult<()> {
    if information & (SACL_SECURITY_INFORMATION | LABEL_SECURITY_INFORMATION) == 0 {
        return Ok(());
    }
    let system_acl = changes.find("S:").map_or("", |start| {
        let rest = &changes[start + 2..];
        let end = ["O:", "G:", "D:"]
            .iter()
            .filter_map(|tag| rest.find(tag))
            .min()
            .unwrap_or(rest.len());
        &rest[..end]
    });
    if aces_of(system_acl).is_empty() {
        Ok(())
    } else {
        Err(crate::Errno::EOPNOTSUPP)
    }
}

/// The ACEs of a DACL's SDDL (`D:` and its flags, then `(…)` for each ACE), each without its
/// parentheses; the parentheses of a conditional ACE's expression stay inside its ACE.
fn aces_of(dacl: &str) -> Vec<&str> {
    let mut aces = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (at, character) in dacl.char_indices() {
        match character {
            '(' => {
                if depth == 0 {
                    start = at + 1;
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    aces.push(&dacl[start..at]);
                }
            }
            _ => {}
        }
    }
    aces
}

/// Whether `trustee` (an ACE's SID, as a string or an SDDL alias) is `CREATOR OWNER`
/// (`S-1-3-0`, `CO`) or `CREATOR GROUP` (`S-1-3-1`, `CG`), the placeholders an inherited ACE
/// names until it is in effect: which of the two, or `None` for any other SID.
fn creator_placeholder(trustee: &str) -> Option<IdKind> {
    let is = |alias: &str, sid: &str| {
        trustee.eq_ignore_ascii_case(alias) || trustee.eq_ignore_ascii_case(sid)
    };
    if is("CO", "S-1-3-0") {
        Some(IdKind::User)
    } else if is("CG", "S-1-3-1") {
        Some(IdKind::Group)
    } else {
        None
    }
}

/// The access rights the SDDL rights codes stand for (`GA`, `FR`, `WD`, ...).
const RIGHTS_CODES: [(&str, u32); 25] = [
    ("GA", GENERIC_ALL),
    ("GR", GENERIC_READ),
    ("GW", GENERIC_WRITE),
    ("GX", GENERIC_EXECUTE),
    ("FA", FILE_ALL_ACCESS),
    ("FR", FILE_GENERIC_READ),
    ("FW", FILE_GENERIC_WRITE),
    ("FX", FILE_GENERIC_EXECUTE),
    ("KA", 0xf003f),
    ("KR", 0x20019),
    ("KW", 0x20006),
    ("KX", 0x20019),
    ("RC", 0x20000),
    ("SD", 0x10000),
    ("WD", 0x40000),
    ("WO", 0x80000),
    ("RP", 0x10),
    ("WP", 0x20),
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("LO", 0x80),
    ("DT", 0x40),
    ("CR", 0x100),
];
/// `GENERIC_ALL`.
const GENERIC_ALL: u32 = 0x1000_0000;
/// `GENERIC_EXECUTE`.
const GENERIC_EXECUTE: u32 = 0x2000_0000;
/// `GENERIC_WRITE`.
const GENERIC_WRITE: u32 = 0x4000_0000;
/// `GENERIC_READ`.
const GENERIC_READ: u32 = 0x8000_0000;
/// `FILE_ALL_ACCESS`: what `GENERIC_ALL` means for a file.
const FILE_ALL_ACCESS: u32 = 0x1f01ff;
/// `FILE_GENERIC_READ`: what `GENERIC_READ` means for a file.
const FILE_GENERIC_READ: u32 = 0x120089;
/// `FILE_GENERIC_WRITE`: what `GENERIC_WRITE` means for a file.
const FILE_GENERIC_WRITE: u32 = 0x120116;
/// `FILE_GENERIC_EXECUTE`: what `GENERIC_EXECUTE` means for a file.
const FILE_GENERIC_EXECUTE: u32 = 0x1200a0;

/// The access mask an ACE's SDDL rights field (`rights`: a number, or rights codes) stands
/// for; `None` for a code this module does not know.
fn mask_of(rights: &str) -> Option<u32> {
    if let Some(hex) = rights
        .strip_prefix("0x")
        .or_else(|| rights.strip_prefix("0X"))
    {
        return u32::from_str_radix(hex, 16).ok();
    }
    if !rights.is_empty() && rights.bytes().all(|byte| byte.is_ascii_digit()) {
        return rights.parse().ok();
    }
    let mut mask = 0;
    for at in (0..rights.len()).step_by(2) {
        let code = rights.get(at..at + 2)?;
        let (_, bits) = RIGHTS_CODES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(code))?;
        mask |= bits;
    }
    Some(mask)
}

/// An ACE's SDDL rights field with its generic rights mapped by the file generic mapping
/// (`GENERIC_READ` to `FILE_GENERIC_READ`, and so on), as Windows maps them in an inherited ACE
/// in effect (`CreatePrivateObjectSecurity` with the file generic mapping): `FA`, `FR`, `FW`
/// or `FX` when the result is exactly one of them, else a hexadecimal mask. A field without
/// generic rights, or with a code this module does not know, is returned as it was.
fn mapped_rights(rights: &str) -> String {
    let Some(mask) = mask_of(rights) else {
        return rights.to_owned();
    };
    let generic = GENERIC_ALL | GENERIC_EXECUTE | GENERIC_WRITE | GENERIC_READ;
    if mask & generic == 0 {
        return rights.to_owned();
    }
    let mut mapped = mask & !generic;
    for (bit, meaning) in [
        (GENERIC_ALL, FILE_ALL_ACCESS),
        (GENERIC_EXECUTE, FILE_GENERIC_EXECUTE),
        (GENERIC_WRITE, FILE_GENERIC_WRITE),
        (GENERIC_READ, FILE_GENERIC_READ),
    ] {
        if mask & bit != 0 {
            mapped |= meaning;
        }
    }
    let named = [
        ("FA", FILE_ALL_ACCESS),
        ("FR", FILE_GENERIC_READ),
        ("FW", FILE_GENERIC_WRITE),
        ("FX", FILE_GENERIC_EXECUTE),
    ];
    match named.iter().find(|(_, bits)| *bits == mapped) {
        Some((name, _)) => (*name).to_owned(),
        None => format!("{mapped:#x}"),
    }
}

/// The ACEs a child gets from its directory's `ace` (its SDDL, without parentheses), by the
/// rules of Windows inheritance (Microsoft's "ACE Inheritance Rules"):
///
/// - a file gets the ACEs marked `OI`, in effect for itself;
/// - a directory gets the ACEs marked `CI` in effect, passed on as they were unless marked `NP`;
///   and those marked `OI` alone only as inherit-only (`OI` `IO`) to pass on to files, unless
///   marked `NP`.
///
/// An ACE in effect has its generic rights mapped ([`mapped_rights`]), and one that names
/// `CREATOR OWNER` or `CREATOR GROUP` is in effect for the new child's `owner` or `group` (SIDs
/// or aliases) instead. A directory that passes on an ACE whose rights or trustee change so
/// gets two: the ACE in effect, without inheritance flags, and an inherit-only copy as it was,
/// for its own children to map (as `CreatePrivateObjectSecurity` splits it). What a child gets
/// is marked inherited (`ID`). Nothing when the ACE is not for this child. Flags are read in
/// any case, as SDDL's aliases are.
fn inherit_ace(ace: &str, directory: bool, owner: &str, group: &str) -> Vec<String> {
    // type;flags;rights;object;inherited object;trustee[;conditional expression]
    let fields: Vec<&str> = ace.splitn(7, ';').collect();
    if fields.len() < 6 {
        return Vec::new();
    }
    let upper_flags = fields[1].to_ascii_uppercase();
    let flags: Vec<&str> = (0..upper_flags.len() / 2)
        .filter_map(|at| upper_flags.get(at * 2..at * 2 + 2))
        .collect();
    let has = |flag: &str| flags.contains(&flag);
    let rest: String = flags
        .iter()
        .filter(|flag| !matches!(**flag, "OI" | "CI" | "NP" | "IO" | "ID"))
        .copied()
        .collect();
    let (object, container, no_propagate) = (has("OI"), has("CI"), has("NP"));
    let in_effect = if directory { container } else { object };
    let passed_on = match (directory, object, container, no_propagate) {
        (true, true, true, false) => Some("OICI"),
        (true, false, true, false) => Some("CI"),
        (true, true, false, false) => Some("OI"),
        _ => None,
    };
    let with = |flags: &str, rights: &str, trustee: &str| {
        let mut ace = fields.clone();
        ace[1] = flags;
        ace[2] = rights;
        ace[5] = trustee;
        ace.join(";")
    };
    let effective_flags = format!("{rest}ID");
    let trustee = match creator_placeholder(fields[5]) {
        Some(IdKind::User) => owner,
        Some(IdKind::Group) => group,
        None => fields[5],
    };
    let rights = mapped_rights(fields[2]);
    let as_it_was = rights == fields[2] && trustee == fields[5];
    match (in_effect, passed_on) {
        (true, Some(passed_on)) if as_it_was => {
            vec![with(
                &format!("{passed_on}{effective_flags}"),
                &rights,
                trustee,
            )]
        }
        (true, Some(passed_on)) => vec![
            with(&effective_flags, &rights, trustee),
            with(
                &format!("{passed_on}IO{effective_flags}"),
                fields[2],
                fields[5],
            ),
        ],
        (true, None) => vec![with(&effective_flags, &rights, trustee)],
        (false, Some(passed_on)) => vec![with(
            &format!("{passed_on}IO{effective_flags}"),
            fields[2],
            fields[5],
        )],
        (false, None) => Vec::new(),
    }
}

/// The descriptor of a file just created through Windows, in SDDL, as Windows builds one
/// (`CreatePrivateObjectSecurity`) from its directory's descriptor `parent` and what its
/// creator asked for (`asked`, any parts of it):
///
/// - owner and group as asked, else `security`'s creator ([`FileSecurity::creator`]);
/// - the DACL as asked, followed by the directory's inheritable ACEs unless the asked DACL is
///   protected (`D:P`); without an asked DACL, the inheritable ACEs alone (`D:AI`).
///   Inherited `CREATOR OWNER` and `CREATOR GROUP` ACEs are in effect for the new file's owner
///   and group, and generic rights in effect are mapped to file rights (the private
///   `inherit_ace` has the rules).
///
/// `None` when no DACL was asked and nothing is inherited (an empty DACL would shut everyone
/// out, where Windows would fall back to the creator's default DACL): the file keeps the
/// descriptor derived from its metadata, an asked owner or group included.
pub fn inherited(
    parent: &str,
    asked: Option<&str>,
    directory: bool,
    security: &FileSecurity,
) -> Option<String> {
    let asked = asked.unwrap_or("");
    let part = |information, default: &str| match restrict(asked, information) {
        part if part.len() > 2 => part,
        _ => default.to_owned(),
    };
    let (creator, creators_group) = security.creator();
    let owner = part(OWNER_SECURITY_INFORMATION, &format!("O:{creator}"));
    let group = part(GROUP_SECURITY_INFORMATION, &format!("G:{creators_group}"));
    let from_parent: String = aces_of(&restrict(parent, DACL_SECURITY_INFORMATION))
        .into_iter()
        .flat_map(|ace| inherit_ace(ace, directory, &owner[2..], &group[2..]))
        .map(|ace| format!("({ace})"))
        .collect();
    let asked_dacl = restrict(asked, DACL_SECURITY_INFORMATION);
    if asked_dacl.is_empty() && from_parent.is_empty() {
        return None;
    }
    let dacl = if asked_dacl.is_empty() {
        format!("D:AI{from_parent}")
    } else if asked_dacl[2..].starts_with('P') {
        asked_dacl
    } else {
        let explicit: String = aces_of(&asked_dacl)
            .into_iter()
            .map(|ace| format!("({ace})"))
            .collect();
        format!("D:AI{explicit}{from_parent}")
    };
    Some(format!("{owner}{group}{dacl}"))
}

/// Gives a file just created through Windows at `path` its descriptor, on a filesystem that
/// stores descriptors: its directory's inheritable ACEs merged with what its creator asked for
/// (`asked`, SDDL), by [`inherited`], handed to `store` (the `set_security` handler).
/// `parent_sddl` reads a directory's whole descriptor ([`answered_or_derived`]). No DACL asked
/// and nothing inherited, or a directory descriptor that cannot be read, stores nothing: the
/// descriptor stays the one the filesystem gives. The file exists whatever happens here, so a
/// failure is logged, not answered.
pub fn store_new_security(
    path: &str,
    directory: bool,
    asked: Option<&str>,
    security: &FileSecurity,
    parent_sddl: impl FnOnce(&str) -> crate::FsResult<String>,
    store: impl FnOnce(String) -> crate::FsResult<()>,
) {
    let (parent, _) = crate::change::split_parent(path);
    let parent_sddl = match parent_sddl(parent) {
        Ok(sddl) => sddl,
        Err(errno) => {
            log::warn!(
                "the new file {path} keeps the descriptor the filesystem gives it: its \
                 directory's descriptor, which it would inherit from, could not be read \
                 ({errno:?})"
            );
            return;
        }
    };
    let Some(sddl) = inherited(&parent_sddl, asked, directory, security) else {
        return;
    };
    if let Err(errno) = store(sddl) {
        log::warn!(
            "setSecurity refused the descriptor of the new file {path} ({errno:?}); it keeps \
             the one the filesystem gives it"
        );
    }
}

/// Copies the self-relative `descriptor` into `buffer`, as both backends' security callbacks
/// report a descriptor, and returns its size in bytes.
///
/// `capacity` is the size of the caller's buffer. A descriptor larger than that, or a call
/// without a buffer that needs one, is not copied: the answer is
/// `Err((STATUS_BUFFER_OVERFLOW, size needed))`, which tells the caller to ask again with a
/// larger buffer. A call without a buffer and with a capacity that would fit only asks for the
/// size, and gets it.
pub fn copy_descriptor(
    descriptor: &[u8],
    capacity: usize,
    buffer: Option<&mut [u8]>,
) -> Result<usize, (i32, usize)> {
    if descriptor.len() > capacity {
        return Err((STATUS_BUFFER_OVERFLOW, descriptor.len()));
    }
    if let Some(buffer) = buffer {
        buffer[..descriptor.len()].copy_from_slice(descriptor);
    }
    Ok(descriptor.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u32 = OWNER_SECURITY_INFORMATION
        | GROUP_SECURITY_INFORMATION
        | DACL_SECURITY_INFORMATION
        | SACL_SECURITY_INFORMATION;

    #[test]
    fn only_the_requested_parts_are_written() {
        assert_eq!(sddl(ALL), SDDL);
        assert_eq!(sddl(OWNER_SECURITY_INFORMATION), "O:BA");
        assert_eq!(
            sddl(GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION),
            "G:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)"
        );
        assert_eq!(sddl(SACL_SECURITY_INFORMATION), "");
        assert_eq!(sddl(0), "");
    }

    /// Every ACE of the DACL: its flags and trustee.
    fn aces(sddl: &str) -> Vec<(&str, &str)> {
        let dacl = &sddl[sddl.find("D:P").expect("a protected DACL") + 3..];
        dacl.trim_start_matches('(')
            .trim_end_matches(')')
            .split(")(")
            .map(|ace| {
                let fields: Vec<&str> = ace.split(';').collect();
                assert_eq!(fields.len(), 6, "{ace}");
                assert_eq!(
                    (fields[0], fields[2]),
                    ("A", "FA"),
                    "{ace}: allows full access"
                );
                (fields[1], fields[5])
            })
            .collect()
    }

    #[test]
    fn every_ace_is_inherited_by_files_and_subdirectories() {
        assert_eq!(
            aces(SDDL),
            [("OICI", "SY"), ("OICI", "BA"), ("OICI", "WD")],
            "SYSTEM, Administrators and Everyone, each inherited by files (OI) and \
             subdirectories (CI), and none inherit-only"
        );
    }

    fn principals(domains: bool) -> Principals {
        Principals {
            user: "S-1-5-21-1-2-3-1001".to_owned(),
            group: "S-1-5-21-1-2-3-513".to_owned(),
            account_domain: domains.then(|| "S-1-5-21-1-2-3".to_owned()),
            primary_domain: domains.then(|| "S-1-5-21-7-8-9".to_owned()),
        }
    }

    #[test]
    fn ids_map_to_sids_as_winfsps_fuse_layer_maps_them() {
        let known = principals(true);
        let sid = |id, kind| sid_of_id(id, kind, &known);
        assert_eq!(
            sid(0, IdKind::User),
            "S-1-5-21-1-2-3-1001",
            "the mounting user"
        );
        assert_eq!(
            sid(0, IdKind::Group),
            "S-1-5-21-1-2-3-513",
            "its primary group"
        );
        assert_eq!(sid(18, IdKind::User), "S-1-5-18", "SYSTEM");
        assert_eq!(sid(0x1ff, IdKind::User), "S-1-5-511");
        assert_eq!(sid(1000, IdKind::User), "S-1-5-1000");
        assert_eq!(sid(544, IdKind::Group), "S-1-5-32-544", "Administrators");
        assert_eq!(sid(999, IdKind::Group), "S-1-5-32-999");
        assert_eq!(sid(0x30000 + 1001, IdKind::User), "S-1-5-21-1-2-3-1001");
        assert_eq!(sid(0x100000 + 1105, IdKind::User), "S-1-5-21-7-8-9-1105");
        assert_eq!(sid(0x60000 + 0x2000, IdKind::User), "S-1-16-8192");
        assert_eq!(sid(0x10100, IdKind::Group), "S-1-1-0", "Everyone");
        assert_eq!(sid(0x5000 + 0x20, IdKind::User), "S-1-5-5-32");
        assert_eq!(sid(11 << 12, IdKind::User), "S-1-5-11-0");
        for unmapped in [0xffe, 0xfff, 65534, 0xff000000, u32::MAX] {
            assert_eq!(sid(unmapped, IdKind::User), UNMAPPED_SID, "{unmapped:#x}");
        }
        let unknown = principals(false);
        assert_eq!(
            sid_of_id(0x30000 + 1001, IdKind::User, &unknown),
            UNMAPPED_SID
        );
        assert_eq!(
            sid_of_id(0x100000 + 5, IdKind::User, &unknown),
            UNMAPPED_SID
        );
    }

    #[test]
    fn a_mode_without_surprises_needs_no_denied_ace() {
        assert_eq!(
            posix_sddl("S-1-5-18", "S-1-5-32-545", 0o644, false),
            "O:S-1-5-18G:S-1-5-32-545D:P(A;;0x1f019f;;;S-1-5-18)(A;;0x120089;;;S-1-5-32-545)\
             (A;;0x120089;;;S-1-1-0)"
        );
        assert_eq!(
            posix_sddl("S-1-5-18", "S-1-5-32-545", 0o750, true),
            "O:S-1-5-18G:S-1-5-32-545D:P(A;;0x1f01ff;;;S-1-5-18)(A;;0x1200a9;;;S-1-5-32-545)\
             (A;;0x120088;;;S-1-1-0)",
            "the owner of a directory gets every right (FA), delete-child included"
        );
    }

    #[test]
    fn what_the_owner_or_group_lacks_is_denied_to_them() {
        assert_eq!(
            posix_sddl("S-1-5-18", "S-1-5-32-545", 0o467, false),
            "O:S-1-5-18G:S-1-5-32-545D:P(A;;0x1f0199;;;S-1-5-18)(D;;0x26;;;S-1-5-18)\
             (A;;0x12018f;;;S-1-5-32-545)(D;;0x20;;;S-1-5-32-545)(A;;0x1201af;;;S-1-1-0)",
            "the owner is denied write (without write-attributes) and execute, the group execute"
        );
    }

    #[test]
    fn a_sticky_directory_lets_only_its_owner_delete_children() {
        assert_eq!(
            posix_sddl("S-1-5-18", "S-1-5-32-545", 0o1777, true),
            "O:S-1-5-18G:S-1-5-32-545D:P(A;;0x1f01ff;;;S-1-5-18)(A;;0x1201af;;;S-1-5-32-545)\
             (A;;0x1201af;;;S-1-1-0)"
        );
    }

    #[test]
    fn files_report_the_fixed_descriptor_or_their_own() {
        let mut stat = crate::Stat::new(crate::FileKind::File);
        assert_eq!(FileSecurity::Fixed.sddl(&stat), SDDL);
        stat.uid = 18;
        stat.mode = 0o600;
        assert_eq!(
            FileSecurity::Ownership(principals(true)).sddl(&stat),
            "O:S-1-5-18G:S-1-5-21-1-2-3-513D:P(A;;0x1f019f;;;S-1-5-18)\
             (A;;0x120088;;;S-1-5-21-1-2-3-513)(A;;0x120088;;;S-1-1-0)"
        );
    }

    #[test]
    fn a_descriptor_restricts_to_the_parts_asked_for() {
        let whole = posix_sddl("S-1-5-18", "BU", 0o600, false);
        assert_eq!(restrict(&whole, OWNER_SECURITY_INFORMATION), "O:S-1-5-18");
        assert_eq!(restrict(&whole, GROUP_SECURITY_INFORMATION), "G:BU");
        assert_eq!(
            restrict(&whole, DACL_SECURITY_INFORMATION),
            &whole[whole.find("D:").unwrap()..]
        );
        assert_eq!(restrict(&whole, ALL), whole);
        assert_eq!(restrict(&whole, SACL_SECURITY_INFORMATION), "");
        assert_eq!(
            restrict("O:BAD:P(A;;FA;;;BA)S:(AU;SA;FA;;;WD)", ALL),
            "O:BAD:P(A;;FA;;;BA)",
            "no group, and a SACL left out"
        );
        assert_eq!(restrict("D:(A;;FR;;;WD)", OWNER_SECURITY_INFORMATION), "");
        assert_eq!(
            restrict("D:P(A;;FA;;;BA)G:DDO:BO", ALL),
            "O:BOG:DDD:P(A;;FA;;;BA)",
            "parts in another order come back in Windows' order; aliases ending in a part's \
             letter stay whole"
        );
    }

    #[test]
    fn a_handlers_answer_wins_and_its_absence_derives_the_descriptor() {
        let stat = crate::Stat::new(crate::FileKind::File);
        let security = FileSecurity::Fixed;
        assert_eq!(
            answered_or_derived(Ok("O:SYG:SYD:P".to_owned()), &security, &stat),
            Ok(("O:SYG:SYD:P".to_owned(), Source::Handler))
        );
        assert_eq!(
            answered_or_derived(Err(crate::Errno::ENOSYS), &security, &stat),
            Ok((SDDL.to_owned(), Source::Derived))
        );
        assert_eq!(
            answered_or_derived(Err(crate::Errno::EACCES), &security, &stat),
            Err(crate::Errno::EACCES)
        );
    }

    #[test]
    fn a_change_replaces_only_the_parts_it_names() {
        let current = "O:BAG:SYD:P(A;;FA;;;BA)";
        assert_eq!(
            merge(current, DACL_SECURITY_INFORMATION, "D:(A;;FR;;;WD)"),
            "O:BAG:SYD:(A;;FR;;;WD)"
        );
        assert_eq!(
            merge(
                current,
                OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION,
                "O:S-1-5-21-1-2-3-1001G:BU"
            ),
            "O:S-1-5-21-1-2-3-1001G:BUD:P(A;;FA;;;BA)"
        );
        assert_eq!(
            merge(current, ALL, "O:SYG:BGD:P(A;;FA;;;SY)"),
            "O:SYG:BGD:P(A;;FA;;;SY)",
            "an alias ending in G is not taken for the group's start"
        );
        assert_eq!(merge(current, SACL_SECURITY_INFORMATION, "S:"), current);
    }

    #[test]
    fn a_new_file_inherits_its_directorys_inheritable_aces() {
        let parent = "O:SYG:SYD:P(A;OICI;FA;;;WD)(A;CI;FR;;;BU)(A;OI;0x1200a9;;;BA)(A;;FA;;;SY)\
                      (A;OICINP;FA;;;AU)";
        let me = FileSecurity::Ownership(principals(false));
        let owner = "O:S-1-5-21-1-2-3-1001G:S-1-5-21-1-2-3-513";
        assert_eq!(
            inherited(parent, None, false, &me).unwrap(),
            format!("{owner}D:AI(A;ID;FA;;;WD)(A;ID;0x1200a9;;;BA)(A;ID;FA;;;AU)"),
            "a file gets the OI ACEs, no longer inheritable"
        );
        assert_eq!(
            inherited(parent, None, true, &me).unwrap(),
            format!(
                "{owner}D:AI(A;OICIID;FA;;;WD)(A;CIID;FR;;;BU)(A;OIIOID;0x1200a9;;;BA)\
                 (A;ID;FA;;;AU)"
            ),
            "a directory gets the CI ACEs, the OI ones to pass on only, NP ones for itself"
        );
        assert_eq!(
            inherited(parent, Some("O:BAD:(A;;FA;;;BA)"), false, &me).unwrap(),
            "O:BAG:S-1-5-21-1-2-3-513D:AI(A;;FA;;;BA)(A;ID;FA;;;WD)(A;ID;0x1200a9;;;BA)\
             (A;ID;FA;;;AU)",
            "what the creator asked comes first, the inherited ACEs after"
        );
        assert_eq!(
            inherited(parent, Some("D:P(A;;FA;;;BA)"), false, &me).unwrap(),
            format!("{owner}D:P(A;;FA;;;BA)"),
            "a protected DACL inherits nothing"
        );
        assert_eq!(inherited("O:SYG:SYD:P(A;;FA;;;SY)", None, false, &me), None);
        assert_eq!(
            inherited("O:SYG:SYD:P(A;;FA;;;SY)", Some("O:BA"), false, &me),
            None,
            "an owner alone, with nothing to inherit, would leave an empty DACL"
        );
        assert_eq!(
            inherited(parent, None, false, &FileSecurity::Fixed).unwrap(),
            "O:BAG:BAD:AI(A;ID;FA;;;WD)(A;ID;0x1200a9;;;BA)(A;ID;FA;;;AU)"
        );
        assert_eq!(
            inherited(
                "O:SYG:SYD:P(A;OICI;FA;;;S-1-5-21-1-2-3-7)(A;OICI;FR;;;BU)",
                None,
                true,
                &me
            )
            .unwrap(),
            format!("{owner}D:AI(A;OICIID;FA;;;S-1-5-21-1-2-3-7)(A;OICIID;FR;;;BU)")
        );
    }

    #[test]
    fn creator_owner_and_group_aces_name_the_new_files_owner_and_group() {
        let parent = "O:SYG:SYD:P(A;OICI;FA;;;CO)(A;OICI;FR;;;S-1-3-1)(A;CI;0x1200a9;;;CO)\
                      (A;OI;FW;;;CG)(A;OICINP;FX;;;CO)";
        let me = FileSecurity::Ownership(principals(false));
        let (user, group) = ("S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-513");
        assert_eq!(
            inherited(parent, None, false, &me).unwrap(),
            format!(
                "O:{user}G:{group}D:AI(A;ID;FA;;;{user})(A;ID;FR;;;{group})(A;ID;FW;;;{group})\
                 (A;ID;FX;;;{user})"
            ),
            "a file gets the OI ACEs in effect for its owner and group, and no placeholder"
        );
        assert_eq!(
            inherited(parent, None, true, &me).unwrap(),
            format!(
                "O:{user}G:{group}D:AI(A;ID;FA;;;{user})(A;OICIIOID;FA;;;CO)\
                 (A;ID;FR;;;{group})(A;OICIIOID;FR;;;S-1-3-1)\
                 (A;ID;0x1200a9;;;{user})(A;CIIOID;0x1200a9;;;CO)\
                 (A;OIIOID;FW;;;CG)(A;ID;FX;;;{user})"
            ),
            "a directory gets the CI ACEs in effect for its owner and group, and keeps an \
             inherit-only copy naming the placeholder to pass on, but not past NP; an OI ACE \
             is only passed on, still naming the placeholder"
        );
        assert_eq!(
            inherited(parent, Some("O:BAD:(A;;FA;;;SY)"), false, &me).unwrap(),
            format!(
                "O:BAG:{group}D:AI(A;;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FR;;;{group})\
                 (A;ID;FW;;;{group})(A;ID;FX;;;BA)"
            ),
            "the owner the creator asked for is the one CREATOR OWNER stands for"
        );
        assert_eq!(
            inherited(parent, None, false, &FileSecurity::Fixed).unwrap(),
            "O:BAG:BAD:AI(A;ID;FA;;;BA)(A;ID;FR;;;BA)(A;ID;FW;;;BA)(A;ID;FX;;;BA)",
            "without kernel permission checks the creator is Administrators"
        );
        assert_eq!(
            inherited(
                "D:(A;OICIIO;FA;;;co)(XA;OICI;FX;;;CO;(Member_of {SID(BA)}))",
                None,
                true,
                &me
            )
            .unwrap(),
            format!(
                "O:{user}G:{group}D:AI(A;ID;FA;;;{user})(A;OICIIOID;FA;;;co)\
                 (XA;ID;FX;;;{user};(Member_of {{SID(BA)}}))\
                 (XA;OICIIOID;FX;;;CO;(Member_of {{SID(BA)}}))"
            ),
            "an inherit-only ACE of the directory takes effect on its children; any spelling \
             of the alias and a conditional ACE's expression are kept"
        );
    }

    #[test]
    fn inherited_generic_rights_are_mapped_where_they_take_effect() {
        let me = FileSecurity::Ownership(principals(false));
        let (user, group) = ("S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-513");
        let owned = format!("O:{user}G:{group}");
        let creator_owner = "D:(A;OICIIO;GA;;;CO)";
        assert_eq!(
            inherited(creator_owner, None, false, &me).unwrap(),
            format!("{owned}D:AI(A;ID;FA;;;{user})"),
            "a file gets full access for its owner"
        );
        assert_eq!(
            inherited(creator_owner, None, true, &me).unwrap(),
            format!("{owned}D:AI(A;ID;FA;;;{user})(A;OICIIOID;GA;;;CO)"),
            "a directory gets it too, and passes the generic ACE on to map again"
        );
        let users = "D:(A;OICI;GA;;;BU)";
        assert_eq!(
            inherited(users, None, true, &me).unwrap(),
            format!("{owned}D:AI(A;ID;FA;;;BU)(A;OICIIOID;GA;;;BU)"),
            "a mapped mask splits the ACE in two"
        );
        assert_eq!(
            inherited(users, None, false, &me).unwrap(),
            format!("{owned}D:AI(A;ID;FA;;;BU)")
        );
        assert_eq!(
            inherited(
                "D:(A;OICI;GRGW;;;WD)(A;OICINP;GX;;;BU)(A;OI;GR;;;SY)(A;CI;0x80000000;;;BA)",
                None,
                true,
                &me
            )
            .unwrap(),
            format!(
                "{owned}D:AI(A;ID;0x12019f;;;WD)(A;OICIIOID;GRGW;;;WD)(A;ID;FX;;;BU)\
                 (A;OIIOID;GR;;;SY)(A;ID;FR;;;BA)(A;CIIOID;0x80000000;;;BA)"
            ),
            "combined and hexadecimal generic rights; NP and OI-only ACEs need no split"
        );
        assert_eq!(
            inherited("D:(A;OICI;GRWD;;;WD)(A;OICI;GRXY;;;BU)", None, false, &me).unwrap(),
            format!("{owned}D:AI(A;ID;0x160089;;;WD)(A;ID;GRXY;;;BU)"),
            "specific rights stay beside mapped ones; an unknown code is left as it was"
        );
    }

    #[test]
    fn inheritance_flags_are_read_in_any_case() {
        let me = FileSecurity::Ownership(principals(false));
        let (user, group) = ("S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-513");
        assert_eq!(
            inherited("D:(A;oiciio;FA;;;CO)(A;Ci;FR;;;WD)", None, true, &me).unwrap(),
            format!("O:{user}G:{group}D:AI(A;ID;FA;;;{user})(A;OICIIOID;FA;;;CO)(A;CIID;FR;;;WD)")
        );
        assert_eq!(
            inherited("D:(A;oi;FA;;;WD)(A;np;FA;;;BU)", None, false, &me).unwrap(),
            format!("O:{user}G:{group}D:AI(A;ID;FA;;;WD)")
        );
    }

    #[test]
    fn a_change_without_a_handler_is_dropped_only_where_nothing_is_lost() {
        let mine = FileSecurity::Ownership(principals(false));
        let dacl = DACL_SECURITY_INFORMATION;
        let no_handler = || Err(crate::Errno::ENOSYS);
        let (derived, answered) = (Source::Derived, Source::Handler);
        let change = "D:(A;;FA;;;WD)";
        let never = || panic!("the fixed descriptor needs no comparison");
        assert_eq!(
            changed_or_dropped(
                no_handler(),
                derived,
                &FileSecurity::Fixed,
                dacl,
                change,
                never
            ),
            Ok(()),
            "the fixed, permissive descriptor enforces nothing: dropped, as on FAT"
        );
        let refused = Err(crate::Errno::EOPNOTSUPP);
        assert_eq!(
            changed_or_dropped(no_handler(), derived, &mine, dacl, change, || false),
            refused,
            "a descriptor from the file's mode would keep enforcing what it says"
        );
        assert_eq!(
            changed_or_dropped(
                no_handler(),
                answered,
                &FileSecurity::Fixed,
                dacl,
                change,
                || { false }
            ),
            refused,
            "so would getSecurity's own"
        );
        assert_eq!(
            changed_or_dropped(no_handler(), derived, &mine, dacl, change, || true),
            Ok(()),
            "a change to what the file has loses nothing"
        );
        assert_eq!(
            changed_or_dropped(
                no_handler(),
                answered,
                &mine,
                SACL_SECURITY_INFORMATION,
                "S:(AU;SA;FA;;;WD)",
                || true
            ),
            refused,
            "audit ACEs would be lost even where the rest is unchanged"
        );
    }

    #[test]
    fn a_handlers_answer_stands() {
        let mine = FileSecurity::Ownership(principals(false));
        let answer = |answer| {
            changed_or_dropped(
                answer,
                Source::Handler,
                &mine,
                DACL_SECURITY_INFORMATION,
                "",
                || false,
            )
        };
        assert_eq!(answer(Ok(())), Ok(()));
        assert_eq!(answer(Err(crate::Errno::EACCES)), Err(crate::Errno::EACCES));
        assert_eq!(answer(Err(crate::Errno::EINVAL)), Err(crate::Errno::EINVAL));
    }

    #[test]
    fn a_change_to_audit_aces_or_the_label_cannot_be_kept() {
        let refused = Err(crate::Errno::EOPNOTSUPP);
        assert_eq!(
            keepable_change(SACL_SECURITY_INFORMATION, "S:(AU;SAFA;FA;;;WD)"),
            refused
        );
        assert_eq!(
            keepable_change(LABEL_SECURITY_INFORMATION, "S:(ML;;NW;;;LW)"),
            refused
        );
        assert_eq!(
            keepable_change(
                DACL_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION,
                "D:(A;;FA;;;WD)S:AI(AU;SA;FA;;;WD)"
            ),
            refused,
            "with a DACL, the whole change is refused"
        );
        assert_eq!(
            keepable_change(SACL_SECURITY_INFORMATION, "S:(ML;;NW;;;LW)D:(A;;FA;;;WD)"),
            refused,
            "parts in another order"
        );
    }

    #[test]
    fn an_empty_system_acl_and_the_other_parts_can_be_kept() {
        assert_eq!(
            keepable_change(DACL_SECURITY_INFORMATION, "D:(A;;FA;;;WD)"),
            Ok(())
        );
        assert_eq!(
            keepable_change(OWNER_SECURITY_INFORMATION, "O:S-1-5-21-1-2-3-1001"),
            Ok(()),
            "a SID is not a system ACL"
        );
        assert_eq!(
            keepable_change(
                DACL_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION,
                "D:(A;;FA;;;WD)S:"
            ),
            Ok(())
        );
        assert_eq!(
            keepable_change(SACL_SECURITY_INFORMATION, "S:P"),
            Ok(()),
            "flags without ACEs"
        );
        assert_eq!(
            keepable_change(LABEL_SECURITY_INFORMATION, ""),
            Ok(()),
            "no system ACL at all"
        );
        assert_eq!(
            keepable_change(DACL_SECURITY_INFORMATION, "D:(A;;FA;;;WD)S:(AU;SA;FA;;;WD)"),
            Ok(()),
            "a system ACL the change does not name is not looked at"
        );
    }

    #[test]
    fn descriptors_fit_or_report_their_size() {
        let descriptor = [1u8, 2, 3, 4];
        let mut buffer = [0u8; 8];
        assert_eq!(copy_descriptor(&descriptor, 8, Some(&mut buffer)), Ok(4));
        assert_eq!(&buffer[..4], &descriptor);
        assert_eq!(copy_descriptor(&descriptor, 4, None), Ok(4));
        assert_eq!(
            copy_descriptor(&descriptor, 3, Some(&mut buffer[..3])),
            Err((STATUS_BUFFER_OVERFLOW, 4))
        );
        assert_eq!(
            copy_descriptor(&descriptor, 0, None),
            Err((STATUS_BUFFER_OVERFLOW, 4))
        );
    }

    #[test]
    fn a_new_file_stores_what_it_inherits_from_its_directory_only() {
        use std::cell::RefCell;
        let asked_for = RefCell::new(Vec::new());
        let stored = RefCell::new(Vec::new());
        let parent = |sddl: &'static str| {
            let asked_for = &asked_for;
            move |path: &str| {
                asked_for.borrow_mut().push(path.to_owned());
                Ok(sddl.to_owned())
            }
        };
        let store = |sddl: String| {
            stored.borrow_mut().push(sddl);
            Ok(())
        };
        let security = FileSecurity::Fixed;
        store_new_security(
            "/d/f",
            false,
            None,
            &security,
            parent("D:(A;OI;FA;;;WD)"),
            store,
        );
        assert_eq!(*asked_for.borrow(), ["/d"]);
        assert_eq!(*stored.borrow(), ["O:BAG:BAD:AI(A;ID;FA;;;WD)"]);
        store_new_security(
            "/f",
            false,
            None,
            &security,
            parent("D:(A;;FA;;;WD)"),
            store,
        );
        assert_eq!(asked_for.borrow().last().unwrap(), "/");
        assert_eq!(
            stored.borrow().len(),
            1,
            "nothing inherited, nothing stored"
        );
        let unreadable = |_: &str| Err(crate::Errno::EACCES);
        store_new_security(
            "/g",
            false,
            Some("D:(A;;FA;;;WD)"),
            &security,
            unreadable,
            store,
        );
        assert_eq!(
            stored.borrow().len(),
            1,
            "a directory that cannot be read stores nothing"
        );
    }
}
