//! `NtCreateFile` semantics: what a create request (disposition, options, access mask) means
//! for a file that does or does not exist, decided without touching any file.
//!
//! Windows has one call, `IRP_MJ_CREATE`, for opening, creating, truncating and replacing
//! files and directories. [`resolve_create`] turns its arguments, plus what a lookup found at
//! the path, into a [`CreateIntent`]: which core operation to run (open, create or mkdir),
//! with which [`OpenFlags`], and which `Information` value to report when it succeeds.

use crate::errno::Errno;
use crate::operation::OpenFlags;
use crate::stat::FileKind;
use crate::windows::attributes::{FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_READONLY};

/// Disposition: replace the file if it exists, create it if not.
pub const FILE_SUPERSEDE: u32 = 0;
/// Disposition: open the file; fail if it does not exist.
pub const FILE_OPEN: u32 = 1;
/// Disposition: create the file; fail if it exists.
pub const FILE_CREATE: u32 = 2;
/// Disposition: open the file if it exists, create it if not.
pub const FILE_OPEN_IF: u32 = 3;
/// Disposition: open and truncate the file; fail if it does not exist.
pub const FILE_OVERWRITE: u32 = 4;
/// Disposition: open and truncate the file if it exists, create it if not.
pub const FILE_OVERWRITE_IF: u32 = 5;

/// Create option: the object must be a directory.
pub const FILE_DIRECTORY_FILE: u32 = 0x0000_0001;
/// Create option: writes go to the medium before they complete.
pub const FILE_WRITE_THROUGH: u32 = 0x0000_0002;
/// Create option: all access is sequential (a caching hint).
pub const FILE_SEQUENTIAL_ONLY: u32 = 0x0000_0004;
/// Create option: no caching; transfers must be sector-aligned.
pub const FILE_NO_INTERMEDIATE_BUFFERING: u32 = 0x0000_0008;
/// Create option: I/O through the handle is synchronous, and waits are alertable.
pub const FILE_SYNCHRONOUS_IO_ALERT: u32 = 0x0000_0010;
/// Create option: I/O through the handle is synchronous, and waits are not alertable.
pub const FILE_SYNCHRONOUS_IO_NONALERT: u32 = 0x0000_0020;
/// Create option: the object must not be a directory.
pub const FILE_NON_DIRECTORY_FILE: u32 = 0x0000_0040;
/// Create option: access is random (a caching hint).
pub const FILE_RANDOM_ACCESS: u32 = 0x0000_0800;
/// Create option: delete the file when the last handle to it is cleaned up.
pub const FILE_DELETE_ON_CLOSE: u32 = 0x0000_1000;
/// Create option: the caller opens for backup or restore, with its privileges checked.
pub const FILE_OPEN_FOR_BACKUP_INTENT: u32 = 0x0000_4000;
/// Create option: open a reparse point (symbolic link) itself rather than its target.
pub const FILE_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

/// Access right: read file data (on a directory: list it).
pub const FILE_READ_DATA: u32 = 0x0000_0001;
/// Access right: list a directory (same bit as [`FILE_READ_DATA`]).
pub const FILE_LIST_DIRECTORY: u32 = 0x0000_0001;
/// Access right: write file data (on a directory: add a file).
pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
/// Access right: add a file to a directory (same bit as [`FILE_WRITE_DATA`]).
pub const FILE_ADD_FILE: u32 = 0x0000_0002;
/// Access right: append file data (on a directory: add a subdirectory).
pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
/// Access right: add a subdirectory (same bit as [`FILE_APPEND_DATA`]).
pub const FILE_ADD_SUBDIRECTORY: u32 = 0x0000_0004;
/// Access right: read extended attributes.
pub const FILE_READ_EA: u32 = 0x0000_0008;
/// Access right: write extended attributes.
pub const FILE_WRITE_EA: u32 = 0x0000_0010;
/// Access right: execute the file (on a directory: traverse it).
pub const FILE_EXECUTE: u32 = 0x0000_0020;
/// Access right: traverse a directory (same bit as [`FILE_EXECUTE`]).
pub const FILE_TRAVERSE: u32 = 0x0000_0020;
/// Access right: delete a directory's children.
pub const FILE_DELETE_CHILD: u32 = 0x0000_0040;
/// Access right: read file attributes.
pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
/// Access right: change file attributes.
pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0000_0100;
/// Access right: delete the object.
pub const DELETE: u32 = 0x0001_0000;
/// Access right: read the security descriptor (without the SACL).
pub const READ_CONTROL: u32 = 0x0002_0000;
/// Access right: change the DACL.
pub const WRITE_DAC: u32 = 0x0004_0000;
/// Access right: change the owner.
pub const WRITE_OWNER: u32 = 0x0008_0000;
/// Access right: wait on the handle.
pub const SYNCHRONIZE: u32 = 0x0010_0000;
/// Access right: read or change the SACL.
pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
/// Request every right the caller may be granted.
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
/// Generic right: everything ([`FILE_ALL_ACCESS`] for files).
pub const GENERIC_ALL: u32 = 0x1000_0000;
/// Generic right: execute ([`FILE_GENERIC_EXECUTE`] for files).
pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
/// Generic right: write ([`FILE_GENERIC_WRITE`] for files).
pub const GENERIC_WRITE: u32 = 0x4000_0000;
/// Generic right: read ([`FILE_GENERIC_READ`] for files).
pub const GENERIC_READ: u32 = 0x8000_0000;
/// What [`GENERIC_READ`] means for a file.
pub const FILE_GENERIC_READ: u32 =
    READ_CONTROL | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE;
/// What [`GENERIC_WRITE`] means for a file.
pub const FILE_GENERIC_WRITE: u32 = READ_CONTROL
    | FILE_WRITE_DATA
    | FILE_WRITE_ATTRIBUTES
    | FILE_WRITE_EA
    | FILE_APPEND_DATA
    | SYNCHRONIZE;
/// What [`GENERIC_EXECUTE`] means for a file.
pub const FILE_GENERIC_EXECUTE: u32 =
    READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE;
/// What [`GENERIC_ALL`] means for a file.
pub const FILE_ALL_ACCESS: u32 = 0x000F_0000 | SYNCHRONIZE | 0x1FF;

/// `Information` result: an existing file was replaced ([`FILE_SUPERSEDE`]).
pub const FILE_SUPERSEDED: u32 = 0;
/// `Information` result: an existing file was opened.
pub const FILE_OPENED: u32 = 1;
/// `Information` result: a new file or directory was created.
pub const FILE_CREATED: u32 = 2;
/// `Information` result: an existing file was truncated ([`FILE_OVERWRITE`],
/// [`FILE_OVERWRITE_IF`]).
pub const FILE_OVERWRITTEN: u32 = 3;

/// Rights that read data: of a file, of a directory listing, or of an image being executed
/// (the kernel pages an executable in by reading it).
const READS: u32 = FILE_READ_DATA | FILE_EXECUTE | GENERIC_READ | GENERIC_EXECUTE;
/// Rights that write data anywhere in the file.
const WRITES: u32 = FILE_WRITE_DATA | GENERIC_WRITE;
/// Rights that ask by name to change data: to write it, to append it, or every right.
/// [`MAXIMUM_ALLOWED`] is not among them: it asks for whatever may be granted.
const NAMED_CHANGES: u32 = WRITES | FILE_APPEND_DATA | GENERIC_ALL;
/// Rights that imply every other right.
const EVERYTHING: u32 = GENERIC_ALL | MAXIMUM_ALLOWED;

/// Which core operation carries out a create request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateAction {
    /// Open the existing file or directory (`open`/`opendir`).
    OpenExisting,
    /// Create a new regular file (`create`).
    CreateFile,
    /// Create a new directory (`mkdir`, then `opendir`).
    CreateDirectory,
}

/// What a create request means, as [`resolve_create`] decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateIntent {
    /// The core operation to run.
    pub action: CreateAction,
    /// Whether an existing file's data is discarded (`FILE_SUPERSEDE`, `FILE_OVERWRITE`,
    /// `FILE_OVERWRITE_IF` on an existing file). Mirrored by [`OpenFlags::TRUNCATE`] in
    /// `flags`.
    pub truncate: bool,
    /// Whether the handle was opened with [`FILE_DELETE_ON_CLOSE`]: the file is to be deleted
    /// when this handle is cleaned up (see [`super::delete`]).
    pub delete_on_close: bool,
    /// The flags for the core operation:
    ///
    /// - access mode: read-write when the mask asks to read and to write data, write-only when
    ///   it only writes, read-only otherwise (including masks with no data access at all).
    ///   Reading means [`FILE_READ_DATA`], [`FILE_EXECUTE`], [`GENERIC_READ`] or
    ///   [`GENERIC_EXECUTE`]; writing means [`FILE_WRITE_DATA`], [`FILE_APPEND_DATA`] or
    ///   [`GENERIC_WRITE`]; [`GENERIC_ALL`] and [`MAXIMUM_ALLOWED`] mean both. Any subset of
    ///   rights satisfies `MAXIMUM_ALLOWED`, so a backend may retry it read-only when the
    ///   handler refuses write access.
    /// - [`OpenFlags::APPEND`] when the mask may append ([`FILE_APPEND_DATA`]) but not write
    ///   ([`FILE_WRITE_DATA`] or a generic right that includes it).
    /// - [`OpenFlags::TRUNCATE`] exactly when `truncate` is set. It may come with a read-only
    ///   access mode (Windows checks write permission for an overwrite but does not add write
    ///   access to the handle), and handlers must truncate regardless of the mode.
    /// - [`OpenFlags::CREATE`] and [`OpenFlags::EXCLUSIVE`] for [`CreateAction::CreateFile`]:
    ///   the decision rests on a lookup another client may have overtaken, so a create that
    ///   finds the file already there fails with `EEXIST`, and the backend resolves the request
    ///   again with the file present (for `FILE_CREATE`, `EEXIST` is the answer).
    /// - Directories are always read-only with no other flags: on a directory the write and
    ///   append bits mean "add a file" and "add a subdirectory", which are not data writes.
    pub flags: OpenFlags,
    /// The `IO_STATUS_BLOCK.Information` value to report on success: [`FILE_OPENED`],
    /// [`FILE_CREATED`], [`FILE_OVERWRITTEN`] or [`FILE_SUPERSEDED`].
    pub information: u32,
    /// Whether the handle touches data: the mask asks to read, write, append or execute, or
    /// the file is truncated. An open without data access only queries or changes metadata,
    /// security, or the file's name or existence, so a backend may serve it without opening
    /// the file's data.
    pub data_access: bool,
}

impl CreateIntent {
    /// Whether carrying out the request changes the volume by itself: it creates a file or a
    /// directory, discards an existing file's data (supersede, overwrite), or marks the file
    /// for deletion ([`FILE_DELETE_ON_CLOSE`]).
    ///
    /// These are the requests a write-protected volume refuses at open
    /// ([`CreateIntent::on_read_only_volume`]).
    pub fn changes_volume(&self) -> bool {
        self.action != CreateAction::OpenExisting || self.truncate || self.delete_on_close
    }

    /// This intent on a read-only volume: what [changes the volume](Self::changes_volume)
    /// fails with `EROFS` (`STATUS_MEDIA_WRITE_PROTECTED`); any other open succeeds, and the
    /// filesystem is asked to open the file for reading only (no write access, no
    /// [`OpenFlags::APPEND`]), since nothing may be written through it.
    ///
    /// This is what a write-protected medium does: FastFAT's create refuses only new names,
    /// supersede, overwrite and delete-on-close (Microsoft's "Create Processing" notes for file
    /// system developers: destructive creates are not allowed on read-only media), and Dokan's
    /// driver refuses the same for `DOKAN_OPTION_WRITE_PROTECT` (`sys/create.c`), bar
    /// `FILE_OPEN_IF` of a new name, which it leaves to the file system. An open that asks for
    /// write, append, delete or attribute access changes nothing yet, so it is granted, and
    /// each write or change made through it is refused when it comes. Refusing it instead
    /// would refuse [`MAXIMUM_ALLOWED`] opens too, which WinFsp's DLL grants as every right.
    /// And the filesystem must not see write access: a handler mirroring a directory the
    /// process may only read would refuse such an open, where the medium grants read access.
    pub fn on_read_only_volume(self) -> Result<CreateIntent, Errno> {
        if self.changes_volume() {
            return Err(Errno::EROFS);
        }
        Ok(self.reading_only())
    }

    /// This intent for an existing object whose attributes are `attributes`, as NTFS lets it
    /// through when the object is read-only ([`FILE_ATTRIBUTE_READONLY`]): opening it to write
    /// or append data, or to discard its data (supersede, overwrite), fails with `EACCES`
    /// (`STATUS_ACCESS_DENIED`, for administrators too). A [`MAXIMUM_ALLOWED`] open (`access`
    /// is the requested mask) is granted what remains, read access, unless it also asks for a
    /// right to write or append explicitly ([`FILE_WRITE_DATA`], [`FILE_APPEND_DATA`],
    /// [`GENERIC_WRITE`], [`GENERIC_ALL`]): NTFS refuses a right asked for by name.
    /// Directories are not made read-only by the attribute. Deleting a read-only file is
    /// refused when it is asked for, by [`super::delete::can_delete`].
    ///
    /// WinFsp's DLL applies this rule itself before a request reaches the file system; Dokan's
    /// library and driver do not, so the Dokan backend applies it here.
    pub fn for_read_only(self, attributes: u32, access: u32) -> Result<CreateIntent, Errno> {
        let read_only =
            attributes & FILE_ATTRIBUTE_READONLY != 0 && attributes & FILE_ATTRIBUTE_DIRECTORY == 0;
        if !read_only || !(self.writes_data() || self.truncate) {
            return Ok(self);
        }
        let maximum_only = access & MAXIMUM_ALLOWED != 0 && access & NAMED_CHANGES == 0;
        if self.truncate || !maximum_only {
            return Err(Errno::EACCES);
        }
        Ok(self.reading_only())
    }

    /// Whether the filesystem is asked to open the file for writing or appending.
    fn writes_data(&self) -> bool {
        self.flags.writable() || self.flags.0 & OpenFlags::APPEND != 0
    }

    /// This intent with the access mode dropped to read-only and [`OpenFlags::APPEND`] left
    /// out.
    fn reading_only(self) -> CreateIntent {
        let access_mode = OpenFlags::ACCESS_MODE | OpenFlags::APPEND;
        CreateIntent {
            flags: OpenFlags(self.flags.0 & !access_mode | OpenFlags::READ_ONLY),
            ..self
        }
    }
}

/// Decides what a create request means for the object found at its path.
///
/// `disposition` and `options` are `NtCreateFile`'s `CreateDisposition` and `CreateOptions`;
/// `access` is the requested access mask, with generic rights mapped or not. `existing` is
/// the kind of the object at the path, or `None` if there is none; it is the kind of the
/// object the open acts on, so for a symlink that is followed it is the target's kind, and
/// `FileKind::Symlink` (treated like a file) only when [`FILE_OPEN_REPARSE_POINT`] opens the
/// link itself.
///
/// Checks run in this order, and the first failure is returned:
///
/// 1. A disposition above [`FILE_OVERWRITE_IF`] fails with `EINVAL`; so do
///    [`FILE_DIRECTORY_FILE`] together with [`FILE_NON_DIRECTORY_FILE`], and
///    [`FILE_DIRECTORY_FILE`] with a disposition other than [`FILE_CREATE`], [`FILE_OPEN`] or
///    [`FILE_OPEN_IF`], as `NtCreateFile` itself refuses them.
/// 2. [`FILE_DELETE_ON_CLOSE`] without [`DELETE`] access (or [`GENERIC_ALL`] or
///    [`MAXIMUM_ALLOWED`], which include it) fails with `EACCES`. The I/O manager normally
///    refuses this first; the check keeps a file system safe from callers that bypass it.
/// 3. If the object exists: [`FILE_CREATE`] fails with `EEXIST`; [`FILE_DIRECTORY_FILE`] on a
///    non-directory fails with `ENOTDIR`; [`FILE_NON_DIRECTORY_FILE`] on a directory, and
///    truncating a directory ([`FILE_SUPERSEDE`], [`FILE_OVERWRITE`],
///    [`FILE_OVERWRITE_IF`]), fail with `EISDIR`. Otherwise it is opened, and truncated for
///    those three dispositions.
/// 4. If it does not exist: [`FILE_OPEN`] and [`FILE_OVERWRITE`] fail with `ENOENT`; the other
///    dispositions create a directory when [`FILE_DIRECTORY_FILE`] is set and a file
///    otherwise.
///
/// What this cannot see is left to the handler and the backend: permissions, the read-only
/// attribute (which makes NTFS refuse write access and deletion), sharing modes, and whether
/// a pending deletion blocks the open (see [`super::delete::DeleteState::open`]).
pub fn resolve_create(
    disposition: u32,
    options: u32,
    access: u32,
    existing: Option<FileKind>,
) -> Result<CreateIntent, Errno> {
    let wants_directory = options & FILE_DIRECTORY_FILE != 0;
    let wants_non_directory = options & FILE_NON_DIRECTORY_FILE != 0;
    let truncating = matches!(
        disposition,
        FILE_SUPERSEDE | FILE_OVERWRITE | FILE_OVERWRITE_IF
    );
    if disposition > FILE_OVERWRITE_IF
        || (wants_directory && wants_non_directory)
        || (wants_directory && truncating)
    {
        return Err(Errno::EINVAL);
    }
    let delete_on_close = options & FILE_DELETE_ON_CLOSE != 0;
    if delete_on_close && access & (DELETE | EVERYTHING) == 0 {
        return Err(Errno::EACCES);
    }

    let (action, truncate, information) = match existing {
        Some(_) if disposition == FILE_CREATE => return Err(Errno::EEXIST),
        Some(kind) => {
            let is_directory = kind == FileKind::Directory;
            if wants_directory && !is_directory {
                return Err(Errno::ENOTDIR);
            }
            if is_directory && (wants_non_directory || truncating) {
                return Err(Errno::EISDIR);
            }
            let information = match disposition {
                FILE_SUPERSEDE => FILE_SUPERSEDED,
                FILE_OVERWRITE | FILE_OVERWRITE_IF => FILE_OVERWRITTEN,
                _ => FILE_OPENED,
            };
            (CreateAction::OpenExisting, truncating, information)
        }
        None if matches!(disposition, FILE_OPEN | FILE_OVERWRITE) => return Err(Errno::ENOENT),
        None if wants_directory => (CreateAction::CreateDirectory, false, FILE_CREATED),
        None => (CreateAction::CreateFile, false, FILE_CREATED),
    };

    let reads = access & (READS | EVERYTHING) != 0;
    let writes = access & (WRITES | EVERYTHING) != 0;
    let modifies = writes || access & FILE_APPEND_DATA != 0;
    let is_directory =
        action == CreateAction::CreateDirectory || existing == Some(FileKind::Directory);
    let mut flags = if is_directory || !modifies {
        OpenFlags::READ_ONLY
    } else if reads {
        OpenFlags::READ_WRITE
    } else {
        OpenFlags::WRITE_ONLY
    };
    if !is_directory {
        if modifies && !writes {
            flags |= OpenFlags::APPEND;
        }
        if truncate {
            flags |= OpenFlags::TRUNCATE;
        }
        if action == CreateAction::CreateFile {
            flags |= OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
        }
    }
    Ok(CreateIntent {
        action,
        truncate,
        delete_on_close,
        flags: OpenFlags(flags),
        information,
        data_access: reads || modifies || truncate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISPOSITIONS: [u32; 6] = [
        FILE_SUPERSEDE,
        FILE_OPEN,
        FILE_CREATE,
        FILE_OPEN_IF,
        FILE_OVERWRITE,
        FILE_OVERWRITE_IF,
    ];

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Outcome {
        Open(u32),
        NewFile,
        NewDir,
        Fail(Errno),
    }
    use Outcome::*;

    fn outcome(disposition: u32, options: u32, existing: Option<FileKind>) -> Outcome {
        match resolve_create(disposition, options, GENERIC_READ, existing) {
            Ok(intent) => {
                assert_eq!(
                    intent.truncate,
                    intent.flags.0 & OpenFlags::TRUNCATE != 0,
                    "truncate and TRUNCATE agree"
                );
                match intent.action {
                    CreateAction::OpenExisting => {
                        let truncates = matches!(
                            disposition,
                            FILE_SUPERSEDE | FILE_OVERWRITE | FILE_OVERWRITE_IF
                        );
                        assert_eq!(intent.truncate, truncates);
                        Open(intent.information)
                    }
                    CreateAction::CreateFile => {
                        assert_eq!(intent.information, FILE_CREATED);
                        assert!(!intent.truncate);
                        NewFile
                    }
                    CreateAction::CreateDirectory => {
                        assert_eq!(intent.information, FILE_CREATED);
                        assert!(!intent.truncate);
                        NewDir
                    }
                }
            }
            Err(errno) => Fail(errno),
        }
    }

    /// Expected outcomes per disposition (in `DISPOSITIONS` order) for no option,
    /// `FILE_DIRECTORY_FILE` and `FILE_NON_DIRECTORY_FILE`.
    fn check(existing: Option<FileKind>, expected: [[Outcome; 3]; 6]) {
        for (disposition, row) in DISPOSITIONS.into_iter().zip(expected) {
            for (options, want) in [0, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE]
                .into_iter()
                .zip(row)
            {
                assert_eq!(
                    outcome(disposition, options, existing),
                    want,
                    "disposition {disposition}, options {options:#x}, existing {existing:?}"
                );
            }
        }
    }

    #[test]
    fn missing_object() {
        let inval = Fail(Errno::EINVAL);
        let noent = Fail(Errno::ENOENT);
        check(
            None,
            [
                [NewFile, inval, NewFile],  // FILE_SUPERSEDE
                [noent, noent, noent],      // FILE_OPEN
                [NewFile, NewDir, NewFile], // FILE_CREATE
                [NewFile, NewDir, NewFile], // FILE_OPEN_IF
                [noent, inval, noent],      // FILE_OVERWRITE
                [NewFile, inval, NewFile],  // FILE_OVERWRITE_IF
            ],
        );
    }

    #[test]
    fn existing_file() {
        let inval = Fail(Errno::EINVAL);
        let exist = Fail(Errno::EEXIST);
        let notdir = Fail(Errno::ENOTDIR);
        for kind in [FileKind::File, FileKind::Symlink, FileKind::Fifo] {
            check(
                Some(kind),
                [
                    [Open(FILE_SUPERSEDED), inval, Open(FILE_SUPERSEDED)],
                    [Open(FILE_OPENED), notdir, Open(FILE_OPENED)],
                    [exist, exist, exist],
                    [Open(FILE_OPENED), notdir, Open(FILE_OPENED)],
                    [Open(FILE_OVERWRITTEN), inval, Open(FILE_OVERWRITTEN)],
                    [Open(FILE_OVERWRITTEN), inval, Open(FILE_OVERWRITTEN)],
                ],
            );
        }
    }

    #[test]
    fn existing_directory() {
        let inval = Fail(Errno::EINVAL);
        let exist = Fail(Errno::EEXIST);
        let isdir = Fail(Errno::EISDIR);
        check(
            Some(FileKind::Directory),
            [
                [isdir, inval, isdir],
                [Open(FILE_OPENED), Open(FILE_OPENED), isdir],
                [exist, exist, exist],
                [Open(FILE_OPENED), Open(FILE_OPENED), isdir],
                [isdir, inval, isdir],
                [isdir, inval, isdir],
            ],
        );
    }

    #[test]
    fn invalid_arguments() {
        for existing in [None, Some(FileKind::File), Some(FileKind::Directory)] {
            assert_eq!(
                resolve_create(6, 0, GENERIC_READ, existing),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                resolve_create(u32::MAX, 0, GENERIC_READ, existing),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                resolve_create(
                    FILE_OPEN,
                    FILE_DIRECTORY_FILE | FILE_NON_DIRECTORY_FILE,
                    GENERIC_READ,
                    existing
                ),
                Err(Errno::EINVAL)
            );
        }
    }

    #[test]
    fn access_masks_become_access_modes() {
        let flags = |access| {
            resolve_create(FILE_OPEN, 0, access, Some(FileKind::File))
                .unwrap()
                .flags
                .0
        };
        assert_eq!(flags(GENERIC_READ), OpenFlags::READ_ONLY);
        assert_eq!(flags(FILE_GENERIC_READ), OpenFlags::READ_ONLY);
        assert_eq!(flags(FILE_GENERIC_EXECUTE), OpenFlags::READ_ONLY);
        assert_eq!(flags(GENERIC_WRITE), OpenFlags::WRITE_ONLY);
        assert_eq!(flags(FILE_GENERIC_WRITE), OpenFlags::WRITE_ONLY);
        assert_eq!(flags(FILE_WRITE_DATA), OpenFlags::WRITE_ONLY);
        assert_eq!(flags(GENERIC_READ | GENERIC_WRITE), OpenFlags::READ_WRITE);
        assert_eq!(
            flags(FILE_GENERIC_READ | FILE_GENERIC_WRITE),
            OpenFlags::READ_WRITE
        );
        assert_eq!(flags(GENERIC_ALL), OpenFlags::READ_WRITE);
        assert_eq!(flags(FILE_ALL_ACCESS), OpenFlags::READ_WRITE);
        assert_eq!(flags(MAXIMUM_ALLOWED), OpenFlags::READ_WRITE);
        assert_eq!(flags(FILE_READ_ATTRIBUTES), OpenFlags::READ_ONLY);
        assert_eq!(flags(DELETE | SYNCHRONIZE), OpenFlags::READ_ONLY);
    }

    #[test]
    fn append_only_access_appends() {
        let flags = |access| {
            resolve_create(FILE_OPEN_IF, 0, access, Some(FileKind::File))
                .unwrap()
                .flags
                .0
        };
        assert_eq!(
            flags(FILE_APPEND_DATA),
            OpenFlags::WRITE_ONLY | OpenFlags::APPEND
        );
        assert_eq!(
            flags(FILE_READ_DATA | FILE_APPEND_DATA | SYNCHRONIZE),
            OpenFlags::READ_WRITE | OpenFlags::APPEND
        );
        assert_eq!(
            flags(FILE_WRITE_DATA | FILE_APPEND_DATA),
            OpenFlags::WRITE_ONLY
        );
    }

    #[test]
    fn flags_for_creation_and_truncation() {
        let intent = resolve_create(FILE_OPEN_IF, 0, GENERIC_WRITE, None).unwrap();
        assert_eq!(
            intent.flags.0,
            OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::EXCLUSIVE
        );
        let intent =
            resolve_create(FILE_OVERWRITE, 0, GENERIC_WRITE, Some(FileKind::File)).unwrap();
        assert_eq!(intent.flags.0, OpenFlags::WRITE_ONLY | OpenFlags::TRUNCATE);
        let intent =
            resolve_create(FILE_OVERWRITE_IF, 0, GENERIC_READ, Some(FileKind::File)).unwrap();
        assert_eq!(intent.flags.0, OpenFlags::READ_ONLY | OpenFlags::TRUNCATE);
        assert!(intent.data_access);
    }

    #[test]
    fn directories_open_read_only() {
        let intent = resolve_create(
            FILE_OPEN,
            FILE_DIRECTORY_FILE,
            GENERIC_ALL,
            Some(FileKind::Directory),
        )
        .unwrap();
        assert_eq!(intent.flags, OpenFlags(OpenFlags::READ_ONLY));
        let intent = resolve_create(FILE_CREATE, FILE_DIRECTORY_FILE, FILE_ADD_FILE, None).unwrap();
        assert_eq!(intent.action, CreateAction::CreateDirectory);
        assert_eq!(intent.flags, OpenFlags(OpenFlags::READ_ONLY));
    }

    #[test]
    fn metadata_only_opens_have_no_data_access() {
        for access in [
            FILE_READ_ATTRIBUTES,
            FILE_READ_ATTRIBUTES | SYNCHRONIZE,
            DELETE | FILE_READ_ATTRIBUTES,
            FILE_WRITE_ATTRIBUTES | READ_CONTROL,
        ] {
            let intent = resolve_create(FILE_OPEN, 0, access, Some(FileKind::File)).unwrap();
            assert!(!intent.data_access, "{access:#x}");
        }
        for access in [FILE_READ_DATA, FILE_APPEND_DATA, FILE_EXECUTE, GENERIC_READ] {
            let intent = resolve_create(FILE_OPEN, 0, access, Some(FileKind::File)).unwrap();
            assert!(intent.data_access, "{access:#x}");
        }
    }

    #[test]
    fn delete_on_close_needs_delete_access() {
        assert_eq!(
            resolve_create(
                FILE_OPEN,
                FILE_DELETE_ON_CLOSE,
                GENERIC_READ,
                Some(FileKind::File)
            ),
            Err(Errno::EACCES)
        );
        for access in [DELETE, GENERIC_ALL, MAXIMUM_ALLOWED, FILE_ALL_ACCESS] {
            let intent = resolve_create(
                FILE_OPEN,
                FILE_DELETE_ON_CLOSE,
                access,
                Some(FileKind::File),
            )
            .unwrap();
            assert!(intent.delete_on_close, "{access:#x}");
        }
        let intent = resolve_create(FILE_OPEN, 0, DELETE, Some(FileKind::File)).unwrap();
        assert!(!intent.delete_on_close);
        let intent = resolve_create(
            FILE_CREATE,
            FILE_DIRECTORY_FILE | FILE_DELETE_ON_CLOSE,
            DELETE,
            None,
        )
        .unwrap();
        assert!(intent.delete_on_close);
        assert_eq!(intent.action, CreateAction::CreateDirectory);
    }

    #[test]
    fn generic_mappings_match_windows() {
        assert_eq!(FILE_GENERIC_READ, 0x0012_0089);
        assert_eq!(FILE_GENERIC_WRITE, 0x0012_0116);
        assert_eq!(FILE_GENERIC_EXECUTE, 0x0012_00A0);
        assert_eq!(FILE_ALL_ACCESS, 0x001F_01FF);
    }

    #[test]
    fn a_read_only_file_refuses_writing_and_discarding_its_data() {
        let file = Some(FileKind::File);
        let intent = |disposition, access| resolve_create(disposition, 0, access, file).unwrap();
        let read_only = |disposition, access| {
            intent(disposition, access).for_read_only(FILE_ATTRIBUTE_READONLY, access)
        };
        for access in [
            GENERIC_WRITE,
            FILE_WRITE_DATA,
            FILE_APPEND_DATA,
            GENERIC_ALL,
        ] {
            assert_eq!(
                read_only(FILE_OPEN, access),
                Err(Errno::EACCES),
                "{access:#x}"
            );
        }
        for disposition in [FILE_SUPERSEDE, FILE_OVERWRITE, FILE_OVERWRITE_IF] {
            assert_eq!(read_only(disposition, GENERIC_READ), Err(Errno::EACCES));
        }
        let reading = intent(FILE_OPEN, GENERIC_READ);
        assert_eq!(read_only(FILE_OPEN, GENERIC_READ), Ok(reading));
        let maximum = read_only(FILE_OPEN, MAXIMUM_ALLOWED).unwrap();
        assert_eq!(maximum.flags, OpenFlags(OpenFlags::READ_ONLY));
        let maximum = read_only(FILE_OPEN, MAXIMUM_ALLOWED | FILE_GENERIC_READ).unwrap();
        assert_eq!(maximum.flags, OpenFlags(OpenFlags::READ_ONLY));
        for named in [
            FILE_WRITE_DATA,
            FILE_APPEND_DATA,
            GENERIC_WRITE,
            GENERIC_ALL,
            FILE_ALL_ACCESS,
        ] {
            assert_eq!(
                read_only(FILE_OPEN, MAXIMUM_ALLOWED | named),
                Err(Errno::EACCES),
                "MAXIMUM_ALLOWED does not excuse {named:#x} asked by name"
            );
        }
        let writing = intent(FILE_OPEN, GENERIC_WRITE);
        assert_eq!(
            writing.for_read_only(0, GENERIC_WRITE),
            Ok(writing),
            "not read-only"
        );
        let directory = FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_READONLY;
        assert_eq!(
            writing.for_read_only(directory, GENERIC_WRITE),
            Ok(writing),
            "a directory's read-only attribute does not refuse opens"
        );
    }

    #[test]
    fn a_read_only_volume_refuses_changes_and_opens_the_rest_for_reading() {
        let file = Some(FileKind::File);
        let on_volume = |disposition, options, access, existing| {
            resolve_create(disposition, options, access, existing)
                .unwrap()
                .on_read_only_volume()
        };
        assert_eq!(
            on_volume(FILE_CREATE, 0, GENERIC_READ, None),
            Err(Errno::EROFS)
        );
        assert_eq!(
            on_volume(FILE_CREATE, FILE_DIRECTORY_FILE, GENERIC_READ, None),
            Err(Errno::EROFS)
        );
        assert_eq!(
            on_volume(FILE_OVERWRITE, 0, GENERIC_READ, file),
            Err(Errno::EROFS)
        );
        assert_eq!(
            on_volume(FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE, file),
            Err(Errno::EROFS)
        );
        for access in [
            GENERIC_WRITE,
            FILE_GENERIC_READ | FILE_GENERIC_WRITE,
            FILE_APPEND_DATA,
            FILE_READ_DATA | FILE_APPEND_DATA,
            MAXIMUM_ALLOWED,
            GENERIC_ALL,
        ] {
            let wanted = resolve_create(FILE_OPEN, 0, access, file).unwrap();
            let granted = on_volume(FILE_OPEN, 0, access, file).unwrap();
            assert_eq!(
                granted,
                CreateIntent {
                    flags: OpenFlags(OpenFlags::READ_ONLY),
                    ..wanted
                },
                "{access:#x} opens for reading only"
            );
        }
        let reading = resolve_create(FILE_OPEN, 0, GENERIC_READ, file).unwrap();
        assert_eq!(
            on_volume(FILE_OPEN, 0, GENERIC_READ, file),
            Ok(reading),
            "a read is what was asked"
        );
        let directory = Some(FileKind::Directory);
        let listing = resolve_create(FILE_OPEN, FILE_DIRECTORY_FILE, GENERIC_ALL, directory);
        assert_eq!(
            on_volume(FILE_OPEN, FILE_DIRECTORY_FILE, GENERIC_ALL, directory),
            Ok(listing.unwrap())
        );
    }

    #[test]
    fn what_changes_a_volume() {
        let file = Some(FileKind::File);
        let changes = |disposition, options, access, existing| {
            resolve_create(disposition, options, access, existing)
                .unwrap()
                .changes_volume()
        };
        for disposition in [FILE_SUPERSEDE, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE_IF] {
            assert!(
                changes(disposition, 0, GENERIC_READ, None),
                "new file, {disposition}"
            );
        }
        assert!(
            changes(FILE_CREATE, FILE_DIRECTORY_FILE, GENERIC_READ, None),
            "new directory"
        );
        for disposition in [FILE_SUPERSEDE, FILE_OVERWRITE, FILE_OVERWRITE_IF] {
            assert!(
                changes(disposition, 0, GENERIC_READ, file),
                "truncation, {disposition}"
            );
        }
        assert!(
            changes(FILE_OPEN, FILE_DELETE_ON_CLOSE, DELETE, file),
            "delete-on-close"
        );
        for access in [
            GENERIC_READ,
            GENERIC_WRITE,
            FILE_APPEND_DATA,
            FILE_WRITE_ATTRIBUTES,
            DELETE,
            MAXIMUM_ALLOWED,
            GENERIC_ALL,
        ] {
            for disposition in [FILE_OPEN, FILE_OPEN_IF] {
                assert!(
                    !changes(disposition, 0, access, file),
                    "opening with {access:#x} changes nothing yet"
                );
            }
        }
    }
}
