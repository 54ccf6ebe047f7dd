//! Dokan file names as mountkit paths.
//!
//! Dokan hands callbacks `\`-separated UTF-16 names relative to the volume root
//! (`\dir\file.txt`). With alternate streams enabled it also hands `file::$DATA` (the file's
//! own data) and `file:name:$DATA` (a named stream). mountkit handlers know nothing of
//! streams, so the unnamed-stream form is reduced to the file and named streams are refused.

use mountkit_core::windows::names::{
    path_from_windows, split_stream, upcase_unit, validate_component,
};
use mountkit_core::windows::ntstatus::{STATUS_NAME_TOO_LONG, STATUS_OBJECT_NAME_INVALID};
use mountkit_core::Errno;

/// The mountkit path of a Dokan file name.
///
/// - `\` becomes `/`; a trailing `\` (which Dokan leaves on some directory names) is removed,
///   so `\dir\` is `/dir`, and the root is `/`.
/// - `file::$DATA` is the file itself; any named stream (`file:s`, `file:s:$DATA`) fails
///   with `STATUS_OBJECT_NAME_INVALID`, as on a volume without stream support, and so does a
///   malformed stream suffix.
/// - An unpaired surrogate or a `/` in the name fails with `STATUS_OBJECT_NAME_INVALID`.
pub(crate) fn parse(file_name: &[u16]) -> Result<String, i32> {
    let path = path_from_windows(file_name).map_err(|_| STATUS_OBJECT_NAME_INVALID)?;
    let path = match split_stream(&path) {
        Ok((file, None)) => file.to_owned(),
        Ok((_, Some(_))) | Err(_) => return Err(STATUS_OBJECT_NAME_INVALID),
    };
    Ok(trim_trailing_separators(path))
}

fn trim_trailing_separators(mut path: String) -> String {
    while path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    path
}

/// Splits `/dir/file` into `("/dir", "file")` and `/file` into `("/", "file")`. The root has
/// no parent and gives `None`.
pub(crate) fn split(path: &str) -> Option<(&str, &str)> {
    if path == "/" {
        return None;
    }
    let cut = path.rfind('/')?;
    let parent = if cut == 0 { "/" } else { &path[..cut] };
    Some((parent, &path[cut + 1..]))
}

/// `parent` and `name` joined with one `/`.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Whether `path` is `ancestor` itself or lies inside it.
pub(crate) fn is_within(path: &str, ancestor: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// The key under which a path is remembered: the path itself, or, when names are compared
/// without case, the path with every UTF-16 unit uppercased as Windows does
/// ([`upcase_unit`]), so `/Dir/File` and `/DIR/file` share a key.
pub(crate) fn key(path: &str, ignore_case: bool) -> String {
    if !ignore_case {
        return path.to_owned();
    }
    char::decode_utf16(path.encode_utf16().map(upcase_unit))
        .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Whether two names are the same name for this volume: equal, or equal ignoring case when
/// the volume ignores case.
pub(crate) fn same_name(a: &str, b: &str, ignore_case: bool) -> bool {
    a == b || (ignore_case && key(a, true) == key(b, true))
}

/// Checks that the last component of `path` is a name Windows programs can use, for paths
/// about to be created: `STATUS_OBJECT_NAME_INVALID` for forbidden characters, reserved
/// device names and trailing dots or spaces, `STATUS_NAME_TOO_LONG` beyond 255 UTF-16 units.
pub(crate) fn check_new_name(path: &str) -> Result<(), i32> {
    let name = split(path).map_or("", |(_, name)| name);
    validate_component(name).map_err(|errno| {
        if errno == Errno::ENAMETOOLONG {
            STATUS_NAME_TOO_LONG
        } else {
            STATUS_OBJECT_NAME_INVALID
        }
    })
}

/// Whether a listed name can be shown to Windows: a valid component. (`.` and `..` never
/// arrive: a `Listing` holds neither, and `prepare_listing` adds both.)
pub(crate) fn listable(name: &str) -> bool {
    validate_component(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().collect()
    }

    #[test]
    fn dokan_names_become_paths() {
        assert_eq!(parse(&wide("\\")), Ok("/".into()));
        assert_eq!(parse(&wide("\\dir\\file.txt")), Ok("/dir/file.txt".into()));
        assert_eq!(parse(&wide("\\dir\\")), Ok("/dir".into()));
        assert_eq!(parse(&wide("\\file.txt::$DATA")), Ok("/file.txt".into()));
        assert_eq!(parse(&wide("\\file.txt::$data")), Ok("/file.txt".into()));
    }

    #[test]
    fn named_streams_and_bad_names_are_refused() {
        for name in [
            "\\f:s",
            "\\f:s:$DATA",
            "\\f:",
            "\\d::$INDEX_ALLOCATION",
            "\\a/b",
        ] {
            assert_eq!(
                parse(&wide(name)),
                Err(STATUS_OBJECT_NAME_INVALID),
                "{name}"
            );
        }
        assert_eq!(
            parse(&[b'\\' as u16, 0xD800]),
            Err(STATUS_OBJECT_NAME_INVALID)
        );
    }

    #[test]
    fn splitting_and_joining() {
        assert_eq!(split("/"), None);
        assert_eq!(split("/a"), Some(("/", "a")));
        assert_eq!(split("/a/b/c"), Some(("/a/b", "c")));
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a/b", "c"), "/a/b/c");
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(is_within("/anything", "/"));
        assert!(!is_within("/ab", "/a"));
        assert!(!is_within("/a", "/a/b"));
    }

    #[test]
    fn keys_fold_case_only_when_asked() {
        assert_eq!(key("/Dir/File", false), "/Dir/File");
        assert_eq!(key("/Dir/File", true), "/DIR/FILE");
        assert_eq!(key("/straße/é", true), "/STRAßE/É");
        assert!(same_name("Readme", "README", true));
        assert!(!same_name("Readme", "README", false));
        assert!(same_name("x", "x", false));
    }

    #[test]
    fn new_names_are_checked() {
        assert_eq!(check_new_name("/dir/ok.txt"), Ok(()));
        assert_eq!(check_new_name("/dir/con"), Err(STATUS_OBJECT_NAME_INVALID));
        assert_eq!(
            check_new_name("/trailing."),
            Err(STATUS_OBJECT_NAME_INVALID)
        );
        assert_eq!(check_new_name("/a|b"), Err(STATUS_OBJECT_NAME_INVALID));
        assert_eq!(
            check_new_name(&format!("/{}", "x".repeat(256))),
            Err(STATUS_NAME_TOO_LONG)
        );
        assert!(listable("a.txt"));
        assert!(!listable("a:b") && !listable("nul") && !listable("x "));
    }
}
