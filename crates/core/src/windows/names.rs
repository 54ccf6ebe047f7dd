//! Names as Windows sees them: UTF-16 paths, the characters and names Windows forbids, named
//! streams, and the case folding Windows uses to compare names.
//!
//! Windows hands a file system `\`-separated UTF-16 paths (`\dir\file.txt`); the core speaks
//! `/`-separated UTF-8 (`/dir/file.txt`). The conversion here is exact and reversible for
//! every valid name: it changes separators and encoding, nothing else.

use crate::errno::Errno;

const BACKSLASH: u16 = b'\\' as u16;
const SLASH: u16 = b'/' as u16;

/// The longest component Windows file systems accept, in UTF-16 code units.
pub const MAX_COMPONENT_UNITS: usize = 255;

/// Converts a Windows path to a mountkit path.
///
/// - Reading stops at the first NUL, so a NUL-terminated buffer can be passed whole.
/// - Each `\` becomes `/`. A path that does not start with `\` is taken from the root, so
///   `\` and the empty path are both `/`.
/// - Nothing else changes: doubled or trailing separators, `.` and `..` components and
///   stream suffixes (`:stream`) pass through as they are, because Windows has already
///   resolved what it resolves and anything left is the file system's to judge.
///
/// Fails with `EILSEQ` on an unpaired surrogate (it has no UTF-8 form) and with `EINVAL` on a
/// `/`, which cannot occur in an NT name and would otherwise be read as a separator and reach
/// a different file.
pub fn path_from_windows(wide: &[u16]) -> Result<String, Errno> {
    let end = wide
        .iter()
        .position(|&unit| unit == 0)
        .unwrap_or(wide.len());
    let wide = &wide[..end];
    if wide.contains(&SLASH) {
        return Err(Errno::EINVAL);
    }
    let mut path = String::with_capacity(wide.len() + 1);
    if wide.first() != Some(&BACKSLASH) {
        path.push('/');
    }
    for decoded in char::decode_utf16(wide.iter().copied()) {
        match decoded {
            Ok('\\') => path.push('/'),
            Ok(ch) => path.push(ch),
            Err(_) => return Err(Errno::EILSEQ),
        }
    }
    Ok(path)
}

/// Converts a mountkit path to a Windows path: UTF-16 with each `/` turned into `\`, without
/// a terminating NUL. A `\` already in the path is kept and will read as a separator on
/// Windows, so names that contain one must be refused first ([`validate_component`] does).
pub fn path_to_windows(path: &str) -> Vec<u16> {
    let mut wide = Vec::with_capacity(path.len() + 1);
    wide.extend(
        path.encode_utf16()
            .map(|unit| if unit == SLASH { BACKSLASH } else { unit }),
    );
    wide
}

/// [`path_to_windows`] followed by a terminating NUL, for APIs that take a C wide string.
pub fn path_to_windows_nul(path: &str) -> Vec<u16> {
    let mut wide = path_to_windows(path);
    wide.push(0);
    wide
}

/// Checks that `name` is a single path component that Windows programs can create and open.
///
/// Fails with `ENAMETOOLONG` when the name is longer than [`MAX_COMPONENT_UNITS`] UTF-16
/// units, and with `EINVAL` when it:
///
/// - is empty;
/// - contains `<`, `>`, `:`, `"`, `/`, `\`, `|`, `?`, `*` or a control character
///   (U+0000 to U+001F). `:` is the stream separator: split it off with [`split_stream`]
///   first;
/// - ends with a space or a period. Win32 silently strips these, so such a file could be
///   listed but never opened by name. This also refuses `.` and `..`;
/// - is a reserved DOS device name, compared without regard to ASCII case: `CON`, `PRN`,
///   `AUX`, `NUL`, `COM1` to `COM9`, `LPT1` to `LPT9`, and `COM`/`LPT` followed by the
///   superscript digits `¹`, `²` or `³`, which current Windows also treats as device names.
///   The name is reserved with any extension too (`nul.txt`, `COM1.tar.gz`), and with spaces
///   before the extension (`CON .txt`), since Win32 resolves all of them to the device on at
///   least some supported Windows versions. `COM0` and `LPT0` are not reserved.
pub fn validate_component(name: &str) -> Result<(), Errno> {
    if name.is_empty() {
        return Err(Errno::EINVAL);
    }
    if name.encode_utf16().count() > MAX_COMPONENT_UNITS {
        return Err(Errno::ENAMETOOLONG);
    }
    if name
        .chars()
        .any(|ch| ch < ' ' || "<>:\"/\\|?*".contains(ch))
    {
        return Err(Errno::EINVAL);
    }
    if name.ends_with(' ') || name.ends_with('.') || is_reserved_device_name(name) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn is_reserved_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let (Some(head), Some(tail)) = (stem.get(..3), stem.get(3..)) else {
        return false;
    };
    if tail.is_empty() {
        return ["CON", "PRN", "AUX", "NUL"]
            .iter()
            .any(|device| head.eq_ignore_ascii_case(device));
    }
    let mut digit = tail.chars();
    let is_port_number = matches!(
        (digit.next(), digit.next()),
        (Some('1'..='9' | '¹' | '²' | '³'), None)
    );
    is_port_number && (head.eq_ignore_ascii_case("COM") || head.eq_ignore_ascii_case("LPT"))
}

/// Splits the NTFS named-stream syntax off a path: `/dir/file.txt:stream:$DATA` gives
/// `("/dir/file.txt", Some("stream"))`.
///
/// - A path without `:` is returned whole with `None`.
/// - `file:stream` and `file:stream:$DATA` name the stream `stream`; the type is compared
///   without regard to ASCII case.
/// - `file::$DATA` names the file's default (unnamed) stream and gives `None`.
///
/// Fails with `EINVAL` when the colon is not in the last component (streams belong to files,
/// not to path prefixes), when nothing precedes it, when the stream type is anything but
/// `$DATA` (directory index types like `$INDEX_ALLOCATION` are not supported), when both the
/// stream name and the type are empty (`file:`, `file::`), or when the stream name contains
/// `\` or NUL.
pub fn split_stream(path: &str) -> Result<(&str, Option<&str>), Errno> {
    let Some((file, rest)) = path.split_once(':') else {
        return Ok((path, None));
    };
    if file.is_empty() || rest.contains('/') {
        return Err(Errno::EINVAL);
    }
    let (stream, kind) = match rest.split_once(':') {
        Some((stream, kind)) => (stream, Some(kind)),
        None => (rest, None),
    };
    if kind.is_some_and(|kind| !kind.eq_ignore_ascii_case("$DATA")) {
        return Err(Errno::EINVAL);
    }
    if stream.contains(['\\', '\0']) {
        return Err(Errno::EINVAL);
    }
    match (stream.is_empty(), kind) {
        (true, None) => Err(Errno::EINVAL),
        (true, Some(_)) => Ok((file, None)),
        (false, _) => Ok((file, Some(stream))),
    }
}

/// The uppercase form of one UTF-16 code unit, as case-insensitive Windows file systems
/// compare names: unit by unit, each mapped through an uppercase table.
///
/// Uses Rust's Unicode simple uppercase mapping where it maps one BMP character to exactly one
/// BMP character (ASCII, Latin, Greek, Cyrillic, ...), and leaves the unit unchanged
/// otherwise: surrogates, characters without an uppercase form, and characters whose
/// uppercase is longer (`ß` stays `ß`, as in Windows' table). NTFS volumes carry their own
/// `$UpCase` table from the Unicode version current when they were formatted, so a few rare
/// characters may fold differently there.
pub fn upcase_unit(unit: u16) -> u16 {
    if unit < 0x80 {
        return u16::from((unit as u8).to_ascii_uppercase());
    }
    let Some(ch) = char::from_u32(u32::from(unit)) else {
        return unit;
    };
    let mut upper = ch.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(single), None) => u16::try_from(u32::from(single)).unwrap_or(unit),
        _ => unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn windows_paths_become_mountkit_paths() {
        assert_eq!(path_from_windows(&wide("\\")).unwrap(), "/");
        assert_eq!(path_from_windows(&[]).unwrap(), "/");
        assert_eq!(
            path_from_windows(&wide("\\dir\\file.txt")).unwrap(),
            "/dir/file.txt"
        );
        assert_eq!(path_from_windows(&wide("file")).unwrap(), "/file");
        assert_eq!(
            path_from_windows(&wide("\\a\\\\b\\")).unwrap(),
            "/a//b/",
            "nothing is collapsed"
        );
        assert_eq!(
            path_from_windows(&wide("\\f.txt:s:$DATA")).unwrap(),
            "/f.txt:s:$DATA"
        );
        assert_eq!(
            path_from_windows(&wide("\\héllo\\😀")).unwrap(),
            "/héllo/😀"
        );
    }

    #[test]
    fn reading_stops_at_nul() {
        let mut buffer = wide("\\a\\b");
        buffer.push(0);
        buffer.extend(wide("garbage"));
        assert_eq!(path_from_windows(&buffer).unwrap(), "/a/b");
    }

    #[test]
    fn unpaired_surrogates_and_slashes_are_refused() {
        assert_eq!(
            path_from_windows(&[BACKSLASH, 0xD800, b'a' as u16]),
            Err(Errno::EILSEQ)
        );
        assert_eq!(path_from_windows(&[BACKSLASH, 0xDC00]), Err(Errno::EILSEQ));
        assert_eq!(path_from_windows(&wide("\\a/b")), Err(Errno::EINVAL));
    }

    #[test]
    fn mountkit_paths_become_windows_paths() {
        assert_eq!(path_to_windows("/"), wide("\\"));
        assert_eq!(path_to_windows("/dir/😀.txt"), wide("\\dir\\😀.txt"));
        assert_eq!(path_to_windows_nul("/a"), vec![BACKSLASH, b'a' as u16, 0]);
        for path in ["/", "/a", "/dir/sub/file.txt", "/ünïcödé/😀"] {
            assert_eq!(path_from_windows(&path_to_windows(path)).unwrap(), path);
            assert_eq!(path_from_windows(&path_to_windows_nul(path)).unwrap(), path);
        }
    }

    #[test]
    fn ordinary_names_are_valid() {
        for name in [
            "a",
            "file.txt",
            ".hidden",
            "a b",
            "ünïcödé",
            "😀",
            "COM0",
            "LPT0.txt",
            "COM10",
            "CONSOLE",
            "NULL.txt",
            "xCON",
            "com",
            "a..b",
        ] {
            assert_eq!(validate_component(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn forbidden_characters_are_refused() {
        for name in [
            "a<b", "a>b", "a:b", "a\"b", "a/b", "a\\b", "a|b", "a?b", "a*b", "a\0b", "a\tb",
            "a\u{1f}b",
        ] {
            assert_eq!(validate_component(name), Err(Errno::EINVAL), "{name:?}");
        }
        assert_eq!(validate_component("a\u{7f}b"), Ok(()), "DEL is allowed");
    }

    #[test]
    fn empty_and_trailing_space_or_dot_are_refused() {
        for name in ["", ".", "..", "a.", "a ", "a. ", "a .", "..."] {
            assert_eq!(validate_component(name), Err(Errno::EINVAL), "{name:?}");
        }
    }

    #[test]
    fn reserved_device_names_are_refused() {
        for name in [
            "CON",
            "con",
            "Prn",
            "AUX",
            "nul",
            "COM1",
            "com9",
            "LPT1",
            "lpt9",
            "nul.txt",
            "NUL.tar.gz",
            "con.",
            "CON .txt",
            "COM¹",
            "com²",
            "LPT³",
            "lpt¹.log",
            "Aux.c",
        ] {
            assert_eq!(validate_component(name), Err(Errno::EINVAL), "{name:?}");
        }
    }

    #[test]
    fn long_names_are_measured_in_utf16_units() {
        assert_eq!(validate_component(&"a".repeat(255)), Ok(()));
        assert_eq!(
            validate_component(&"a".repeat(256)),
            Err(Errno::ENAMETOOLONG)
        );
        // 127 emoji are 254 units (508 bytes): valid; 128 are 256 units: too long.
        assert_eq!(validate_component(&"😀".repeat(127)), Ok(()));
        assert_eq!(
            validate_component(&"😀".repeat(128)),
            Err(Errno::ENAMETOOLONG)
        );
        // 255 two-byte characters are 510 bytes but 255 units.
        assert_eq!(validate_component(&"é".repeat(255)), Ok(()));
    }

    #[test]
    fn streams_split_off() {
        assert_eq!(split_stream("/dir/f.txt"), Ok(("/dir/f.txt", None)));
        assert_eq!(split_stream("/f.txt:s"), Ok(("/f.txt", Some("s"))));
        assert_eq!(
            split_stream("/f.txt:stream:$DATA"),
            Ok(("/f.txt", Some("stream")))
        );
        assert_eq!(split_stream("/f.txt:s:$data"), Ok(("/f.txt", Some("s"))));
        assert_eq!(split_stream("/f.txt::$DATA"), Ok(("/f.txt", None)));
        assert_eq!(split_stream("/:rootstream"), Ok(("/", Some("rootstream"))));
        assert_eq!(
            split_stream("/f:Zone.Identifier:$DATA"),
            Ok(("/f", Some("Zone.Identifier")))
        );
    }

    #[test]
    fn malformed_streams_are_refused() {
        for path in [
            "/f:",
            "/f::",
            "/f:s:$INDEX_ALLOCATION",
            "/d::$INDEX_ALLOCATION",
            "/f:s:$DATA:x",
            "/d:s/f",
            ":s",
            "/f:a\\b",
            "/f:a\0b",
        ] {
            assert_eq!(split_stream(path), Err(Errno::EINVAL), "{path:?}");
        }
    }

    #[test]
    fn upcase_is_simple_and_one_to_one() {
        let up = |c: char| char::from_u32(u32::from(upcase_unit(c as u16))).unwrap();
        assert_eq!(up('a'), 'A');
        assert_eq!(up('Z'), 'Z');
        assert_eq!(up('1'), '1');
        assert_eq!(up('é'), 'É');
        assert_eq!(up('ÿ'), 'Ÿ');
        assert_eq!(up('σ'), 'Σ');
        assert_eq!(up('ς'), 'Σ');
        assert_eq!(up('ж'), 'Ж');
        assert_eq!(up('ß'), 'ß', "no one-unit uppercase");
        assert_eq!(up('ŉ'), 'ŉ', "uppercase is two characters");
        assert_eq!(upcase_unit(0xD83D), 0xD83D, "surrogates are unchanged");
    }
}
