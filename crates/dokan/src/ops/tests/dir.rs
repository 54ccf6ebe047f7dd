//! FindFiles and FindFilesWithPattern against the fake.

use super::*;

fn listing_mount() -> (Mount, u64) {
    let m = mount();
    m.fake.dir("/d");
    m.fake.file("/d/a.txt", b"1");
    m.fake.file("/d/B.TXT", b"22");
    m.fake.file("/d/c.doc", b"333");
    m.fake.dir("/d/sub");
    m.fake.file("/d/bad:name", b"");
    let context = m.open("\\d", FILE_LIST_DIRECTORY);
    (m, context)
}

fn names(entries: &[FindEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.name.as_str()).collect()
}

#[test]
fn find_files_with_pattern_filters_as_windows_does() {
    let (m, context) = listing_mount();
    let all = m.fs.find_files(&CALL, context, None).unwrap();
    assert_eq!(
        names(&all),
        [".", "..", "a.txt", "B.TXT", "c.doc", "sub"],
        "dots first, names Windows cannot use left out, sorted without case"
    );
    let txt =
        m.fs.find_files(&CALL, context, Some(&wide("<.txt")))
            .unwrap();
    assert_eq!(names(&txt), ["a.txt", "B.TXT"]);
    assert_eq!(txt[1].size, 2);
    assert_eq!(txt[1].attributes, FILE_ATTRIBUTE_NORMAL);
    let star = m.fs.find_files(&CALL, context, Some(&wide("*"))).unwrap();
    assert_eq!(star.len(), 6);
    let sub = m.fs.find_files(&CALL, context, Some(&wide("SUB"))).unwrap();
    assert_eq!(names(&sub), ["sub"]);
    assert_eq!(sub[0].attributes, FILE_ATTRIBUTE_DIRECTORY);
    assert_eq!(sub[0].size, 0);
    let exact =
        m.fs.find_files(&CALL, context, Some(&wide("c.doc\0")))
            .unwrap();
    assert_eq!(names(&exact), ["c.doc"], "a NUL ends the pattern");
    m.finish(context);
}

#[test]
fn case_sensitive_volumes_match_with_case() {
    let m = mount_with(WindowsOptions {
        case_insensitive: false,
        ..Default::default()
    });
    m.fake.file("/a.txt", b"");
    m.fake.file("/B.TXT", b"");
    let root = m.open("\\", FILE_LIST_DIRECTORY);
    let all = m.fs.find_files(&CALL, root, None).unwrap();
    assert_eq!(names(&all), ["B.TXT", "a.txt"], "the root has no dots");
    let txt = m.fs.find_files(&CALL, root, Some(&wide("<.txt"))).unwrap();
    assert_eq!(names(&txt), ["a.txt"]);
    m.finish(root);
}

#[test]
fn listings_without_metadata_are_completed_with_getattr() {
    let (m, context) = listing_mount();
    *m.fake.bare_listings.lock() = true;
    m.fake.take_log();
    let found = m.fs.find_files(&CALL, context, Some(&wide("*"))).unwrap();
    let log = m.fake.take_log();
    let getattrs: Vec<&str> = log
        .iter()
        .filter_map(|op| match op {
            Operation::Getattr { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        getattrs,
        ["/d", "/", "/d/a.txt", "/d/B.TXT", "/d/c.doc", "/d/sub"]
    );
    let order: Vec<&str> = log.iter().map(Operation::name).collect();
    assert_eq!(
        order[0], "readdir",
        "one readdir, then the getattrs: {order:?}"
    );
    assert_eq!(
        found.iter().map(|entry| entry.size).collect::<Vec<_>>(),
        [0, 0, 1, 2, 3, 0]
    );
    m.fake.fail("getattr", Errno::ENOENT);
    let vanished = m.fs.find_files(&CALL, context, None).unwrap();
    assert_eq!(
        names(&vanished),
        [".", ".."],
        "entries that vanished are left out"
    );
    m.fake.failures.lock().clear();
    m.fake.fail("getattr", Errno::EIO);
    let degraded = m.fs.find_files(&CALL, context, None).unwrap();
    assert_eq!(
        degraded.len(),
        6,
        "entries whose getattr fails keep their kind"
    );
    assert_eq!(degraded[5].attributes, FILE_ATTRIBUTE_DIRECTORY);
    m.fake.failures.lock().clear();
    m.finish(context);
}

#[test]
fn listing_getattrs_are_all_sent_before_any_is_awaited() {
    /// Once armed, holds every `getattr` until four have arrived, as a batching dispatcher
    /// would; a backend that awaited each before sending the next would time out.
    struct Batching {
        fake: Arc<Fake>,
        armed: std::sync::atomic::AtomicBool,
        held: Mutex<Vec<Request>>,
    }
    impl Dispatch for Batching {
        fn dispatch(&self, request: Request) {
            let is_getattr = matches!(request.operation, Operation::Getattr { .. });
            if !is_getattr || !self.armed.load(Ordering::SeqCst) {
                return self.fake.dispatch(request);
            }
            let mut held = self.held.lock();
            held.push(request);
            if held.len() == 4 {
                for request in held.drain(..) {
                    self.fake.dispatch(request);
                }
            }
        }
    }
    let fake = Arc::new(Fake::new());
    fake.dir("/d");
    fake.file("/d/a", b"1");
    fake.file("/d/b", b"22");
    fake.file("/d/c", b"333");
    *fake.bare_listings.lock() = true;
    let options = WindowsOptions {
        request_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let batching = Arc::new(Batching {
        fake: fake.clone(),
        armed: std::sync::atomic::AtomicBool::new(false),
        held: Mutex::new(Vec::new()),
    });
    struct Forward(Arc<Batching>);
    impl Dispatch for Forward {
        fn dispatch(&self, request: Request) {
            self.0.dispatch(request);
        }
    }
    let fs = DokanFs::new(
        Arc::new(Forward(batching.clone())),
        &options,
        FileSecurity::Fixed,
    );
    let context = fs
        .create(
            &CALL,
            &CreateRequest {
                file_name: &wide("\\d"),
                desired_access: FILE_LIST_DIRECTORY,
                file_attributes: 0,
                create_disposition: FILE_OPEN,
                create_options: FILE_DIRECTORY_FILE,
                prior_context: 0,
                asked_security: None,
            },
        )
        .context;
    batching.armed.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let found = fs.find_files(&CALL, context, Some(&wide("?"))).unwrap();
    assert_eq!(
        names(&found),
        [".", "a", "b", "c"],
        "`?` matches `.` too, as on Windows"
    );
    assert_eq!(
        found.iter().map(|entry| entry.size).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "no getattr waited for a timeout"
    );
}
