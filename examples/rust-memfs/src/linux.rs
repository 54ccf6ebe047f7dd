//! Serving memfs through FUSE: mounting a directory until a signal, and the self-test.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::Duration;

use mountkit::backends::fuse::is_mounted;
use mountkit::{Mount, MountOptions};

use crate::memfs::Memfs;

fn mount(dir: &Path, options: &MountOptions) -> Result<Mount, String> {
    // The root takes the owner of the mount point, so whoever could write to the empty
    // directory can write to the mounted filesystem.
    let owner = fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let at = dir
        .to_str()
        .ok_or_else(|| format!("{}: the path is not UTF-8", dir.display()))?;
    mountkit::mount(at, Memfs::new(owner.uid(), owner.gid()), options)
        .map_err(|e| format!("cannot mount ({}): {e}", e.code()))
}

/// The signals that end `serve`, blocked so that only `sigwait` sees them.
fn termination_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset uses it; all pointers are to
    // this local, and pthread_sigmask accepts a null pointer for the old mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Mounts at `dir` and serves until Ctrl+C, SIGTERM or SIGHUP, then unmounts.
pub(crate) fn serve(dir: &Path) -> Result<(), String> {
    // Blocked before the mount starts any thread: threads inherit the mask, so the signal stays
    // pending for this thread's sigwait instead of killing the process with the mount still up.
    let signals = termination_signals();
    let options = MountOptions {
        fs_name: "rust-memfs".to_owned(),
        ..MountOptions::default()
    };
    let mounted = mount(dir, &options)?;
    let at = mounted.mountpoint();
    println!("memfs mounted at {at}. Try, from another shell:");
    println!("  echo hello > {at}/hello.txt && cat {at}/hello.txt && ls -la {at}");
    println!("Ctrl+C unmounts (the contents go with it).");
    let mut received = 0;
    // SAFETY: `signals` is an initialised set and `received` a valid out-pointer.
    unsafe { libc::sigwait(&signals, &mut received) };
    mounted
        .unmount()
        .map_err(|e| format!("unmounting {at}: {e}"))?;
    println!("Unmounted {at}.");
    Ok(())
}

/// Mounts memfs on a fresh temporary directory, drives it with ordinary `std::fs` calls from
/// this thread (the filesystem is served by the backend's and the runtime's threads, so this
/// cannot deadlock), then unmounts and removes the directory.
pub(crate) fn self_test() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("rust-memfs-self-test-{}", std::process::id()));
    fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let options = MountOptions {
        fs_name: "rust-memfs".to_owned(),
        // No kernel caching: every check below must reach memfs, not a cached answer.
        attr_timeout: Duration::ZERO,
        entry_timeout: Duration::ZERO,
        ..MountOptions::default()
    };
    let mounted = match mount(&dir, &options) {
        Ok(mounted) => mounted,
        Err(e) => {
            let _ = fs::remove_dir(&dir);
            return Err(e);
        }
    };
    let checked = exercise(&dir);
    let unmounted = mounted.unmount();
    let left_mounted = is_mounted(&dir);
    let removed = fs::remove_dir(&dir);
    let passed = checked?;
    unmounted.map_err(|e| format!("unmount failed: {e}"))?;
    if left_mounted {
        return Err(format!("{} is still mounted after unmount", dir.display()));
    }
    removed.map_err(|e| format!("removing {}: {e}", dir.display()))?;
    println!(
        "rust-memfs self-test: {passed} checks passed; {} unmounted and removed",
        dir.display()
    );
    Ok(())
}

type Check<'a> = (&'a str, Box<dyn Fn() -> io::Result<bool> + 'a>);

fn step<'a>(what: &'a str, check: impl Fn() -> io::Result<bool> + 'a) -> Check<'a> {
    (what, Box::new(check))
}

fn list(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = fs::read_dir(dir)?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

fn fails_with(result: io::Result<impl Sized>, errno: i32) -> bool {
    matches!(result, Err(e) if e.raw_os_error() == Some(errno))
}

/// Runs the checks in order, each building on the state the previous ones left, and stops at
/// the first that fails. Returns how many passed.
fn exercise(root: &Path) -> Result<usize, String> {
    let at = |name: &str| root.join(name);
    let read = |name: &str| fs::read(at(name));
    let checks: Vec<Check> = vec![
        step("a new mount is an empty directory", || {
            Ok(list(root)?.is_empty())
        }),
        step("write a file and read it back", || {
            fs::write(at("a.txt"), b"hello")?;
            Ok(read("a.txt")? == b"hello")
        }),
        step("its size is what was written", || {
            let meta = fs::metadata(at("a.txt"))?;
            Ok(meta.is_file() && meta.len() == 5)
        }),
        step("overwrite in place, then append", || {
            File::options()
                .write(true)
                .open(at("a.txt"))?
                .write_all_at(b"J", 0)?;
            OpenOptions::new()
                .append(true)
                .open(at("a.txt"))?
                .write_all(b" world")?;
            Ok(read("a.txt")? == b"Jello world")
        }),
        step("truncate shrinks, then grows with zeros", || {
            let file = File::options().write(true).open(at("a.txt"))?;
            file.set_len(5)?;
            let shrunk = read("a.txt")? == b"Jello";
            file.set_len(8)?;
            Ok(shrunk && read("a.txt")? == b"Jello\0\0\0")
        }),
        step("make nested directories and a file inside", || {
            fs::create_dir_all(at("docs/deep"))?;
            fs::write(at("docs/deep/note.txt"), b"deep")?;
            Ok(at("docs/deep").is_dir())
        }),
        step("mkdir of an existing name fails with EEXIST", || {
            Ok(fails_with(fs::create_dir(at("docs")), libc::EEXIST))
        }),
        step("readdir lists each directory's own children", || {
            Ok(list(root)? == ["a.txt", "docs"] && list(&at("docs"))? == ["deep"])
        }),
        step("rename a file into a directory", || {
            fs::rename(at("a.txt"), at("docs/b.txt"))?;
            Ok(read("docs/b.txt")? == b"Jello\0\0\0" && fails_with(read("a.txt"), libc::ENOENT))
        }),
        step("rename a directory: its contents move with it", || {
            fs::rename(at("docs"), at("papers"))?;
            Ok(read("papers/deep/note.txt")? == b"deep" && !at("docs").exists())
        }),
        step("rename over an existing file replaces it", || {
            fs::write(at("c.txt"), b"old")?;
            fs::rename(at("papers/b.txt"), at("c.txt"))?;
            Ok(read("c.txt")? == b"Jello\0\0\0" && list(&at("papers"))? == ["deep"])
        }),
        step(
            "rmdir of a non-empty directory fails with ENOTEMPTY",
            || {
                Ok(fails_with(
                    fs::remove_dir(at("papers/deep")),
                    libc::ENOTEMPTY,
                ))
            },
        ),
        step("unlink a file, then rmdir the emptied directories", || {
            fs::remove_file(at("papers/deep/note.txt"))?;
            fs::remove_dir(at("papers/deep"))?;
            fs::remove_dir(at("papers"))?;
            fs::remove_file(at("c.txt"))?;
            Ok(list(root)?.is_empty())
        }),
        step("a removed file is gone (ENOENT)", || {
            Ok(fails_with(read("c.txt"), libc::ENOENT))
        }),
    ];
    for (what, check) in &checks {
        match check() {
            Ok(true) => println!("ok  {what}"),
            Ok(false) => return Err(format!("check failed: {what}")),
            Err(e) => return Err(format!("check failed: {what}: {e}")),
        }
    }
    Ok(checks.len())
}
