//! The engine driven the way WinFsp drives it, against a fake filesystem.

mod dir;
mod fake;
mod io;
mod metadata;
mod namespace;
mod open;
mod reparse;
mod volume;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use mountkit_core::windows::create::{
    FILE_CREATE, FILE_OPEN, FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF, FILE_SUPERSEDE,
    GENERIC_READ, GENERIC_WRITE,
};
use mountkit_core::windows::ntstatus::STATUS_OBJECT_NAME_NOT_FOUND;
use mountkit_core::windows::security::{FileSecurity, Principals};
use mountkit_core::{Bytes, RequestContext};

use crate::dir::DirPage;
use crate::engine::{Engine, EngineOptions, NtError, NtResult, OpenedFile};
use crate::fsctl::FileInfo;
use crate::open::CLEANUP_DELETE;
use fake::FakeFs;

/// Read and write access.
const READ_WRITE: u32 = GENERIC_READ | GENERIC_WRITE;

/// What looking up a name that does not exist asks on a case-insensitive volume: the name,
/// then its directory's listing, for another spelling of it.
const MISS: [&str; 4] = ["getattr", "opendir", "readdir", "releasedir"];

/// [`MISS`] followed by `then`.
fn after_miss(then: &[&'static str]) -> Vec<&'static str> {
    [&MISS[..], then].concat()
}

/// A mount of a [`FakeFs`], and helpers that call the engine as WinFsp would.
struct Harness {
    fs: Arc<FakeFs>,
    engine: Arc<Engine>,
    hint: u64,
}

fn cx() -> RequestContext {
    RequestContext::default()
}

/// Who the harness's ids stand for.
fn principals() -> Principals {
    Principals {
        user: "S-1-5-21-1-2-3-1001".to_owned(),
        group: "S-1-5-21-1-2-3-513".to_owned(),
        account_domain: Some("S-1-5-21-1-2-3".to_owned()),
        primary_domain: None,
    }
}

fn wide(text: &str) -> Vec<u16> {
    text.replace('/', "\\").encode_utf16().collect()
}

/// The options of a volume mounted on `M:`.
fn engine_options(case_insensitive: bool, read_only: bool, persistent_acls: bool) -> EngineOptions {
    EngineOptions {
        case_insensitive,
        read_only,
        allocation_unit: 4096,
        call_timeout: Duration::from_secs(5),
        volume_label: "fake".to_owned(),
        security: FileSecurity::Ownership(principals()),
        descriptor_of: |sddl| Ok(sddl.as_bytes().to_vec()),
        persistent_acls,
        mount_point: "M:".to_owned(),
        share_root: None,
    }
}

impl Harness {
    fn new() -> Harness {
        Harness::with(true)
    }

    fn with(case_insensitive: bool) -> Harness {
        Harness::with_options(case_insensitive, false, false)
    }

    fn read_only() -> Harness {
        Harness::with_options(true, true, false)
    }

    /// A mount whose filesystem stores security descriptors (`persistent_acls`).
    fn storing_security() -> Harness {
        Harness::with_options(true, false, true)
    }

    fn with_options(case_insensitive: bool, read_only: bool, persistent_acls: bool) -> Harness {
        Harness::with_engine_options(engine_options(case_insensitive, read_only, persistent_acls))
    }

    /// A share `\\files\team` also mounted on `Q:`.
    fn on_lettered_share() -> Harness {
        Harness::with_engine_options(EngineOptions {
            mount_point: "Q:".to_owned(),
            share_root: Some("\\\\files\\team".to_owned()),
            ..engine_options(true, false, false)
        })
    }

    fn with_engine_options(options: EngineOptions) -> Harness {
        let fs = FakeFs::new();
        let engine = Engine::new(fs.clone(), options);
        Harness {
            fs,
            engine,
            hint: 1,
        }
    }

    /// An `NtCreateFile` of `path`, as WinFsp's user-mode dispatcher serves it: a lookup
    /// (GetSecurityByName), then Create or Open by disposition, then Overwrite for the
    /// truncating dispositions of an existing file.
    fn create_file(
        &mut self,
        path: &str,
        disposition: u32,
        options: u32,
        access: u32,
    ) -> NtResult<(u64, FileInfo)> {
        self.create_request(path, disposition, options, access)
            .map(|opened| (opened.id, opened.info))
    }

    /// [`Harness::create_file`], answered with everything Create or Open reports.
    fn create_request(
        &mut self,
        path: &str,
        disposition: u32,
        options: u32,
        access: u32,
    ) -> NtResult<OpenedFile> {
        self.hint += 1;
        let hint = Some(self.hint);
        let name = wide(path);
        let create_options = (disposition << 24) | options;
        if disposition == FILE_CREATE {
            return self
                .engine
                .create(cx(), &name, create_options, access, 0, None, hint);
        }
        let found = match self.engine.security_by_name(cx(), &name, hint) {
            Ok(_) => true,
            Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND)) => false,
            Err(status) => return Err(status),
        };
        if !found {
            if matches!(disposition, FILE_OPEN | FILE_OVERWRITE) {
                return Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND));
            }
            return self
                .engine
                .create(cx(), &name, create_options, access, 0, None, hint);
        }
        let opened = self
            .engine
            .open(cx(), &name, create_options, access, hint)?;
        if matches!(
            disposition,
            FILE_OVERWRITE | FILE_OVERWRITE_IF | FILE_SUPERSEDE
        ) {
            let info = self
                .engine
                .overwrite(cx(), opened.id, 0, disposition == FILE_SUPERSEDE)?;
            return Ok(OpenedFile { info, ..opened });
        }
        Ok(opened)
    }

    fn open(&mut self, path: &str, access: u32) -> NtResult<u64> {
        self.create_file(path, FILE_OPEN, 0, access)
            .map(|(id, _)| id)
    }

    fn open_if(&mut self, path: &str, options: u32, access: u32) -> NtResult<u64> {
        self.create_file(path, FILE_OPEN_IF, options, access)
            .map(|(id, _)| id)
    }

    /// Cleanup then Close, with WinFsp's delete flag as given.
    fn close(&self, id: u64, delete: bool) {
        self.engine
            .cleanup(cx(), id, if delete { CLEANUP_DELETE } else { 0 });
        self.engine.close(cx(), id);
    }

    fn read(&self, id: u64, offset: u64, length: u32) -> NtResult<Vec<u8>> {
        let (sender, receiver) = mpsc::channel();
        self.engine.read(cx(), id, offset, length, move |result| {
            sender.send(result.map(<[u8]>::to_vec)).unwrap();
        });
        receiver.recv_timeout(Duration::from_secs(5)).unwrap()
    }

    fn write(
        &self,
        id: u64,
        data: &[u8],
        offset: u64,
        end: bool,
        constrained: bool,
    ) -> NtResult<(u32, FileInfo)> {
        let (sender, receiver) = mpsc::channel();
        let data = Bytes::copy_from_slice(data);
        self.engine
            .write(cx(), id, data, offset, end, constrained, move |result| {
                sender.send(result).unwrap();
            });
        receiver.recv_timeout(Duration::from_secs(5)).unwrap()
    }

    fn read_dir(
        &self,
        id: u64,
        pattern: Option<&str>,
        marker: Option<&str>,
        capacity: usize,
    ) -> NtResult<DirPage> {
        let (sender, receiver) = mpsc::channel();
        self.engine.read_directory(
            cx(),
            id,
            pattern.map(str::to_owned),
            marker.map(str::to_owned),
            capacity,
            move |result| sender.send(result).unwrap(),
        );
        receiver.recv_timeout(Duration::from_secs(5)).unwrap()
    }
}

/// The names of a page.
fn page_names(page: &DirPage) -> Vec<&str> {
    page.entries.iter().map(|(name, _)| name.as_str()).collect()
}
