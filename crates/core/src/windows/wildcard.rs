//! Directory search patterns, matched the way the Windows kernel's `FsRtlIsNameInExpression`
//! matches them.
//!
//! A Win32 program searches with `*` and `?`; before the pattern reaches the file system,
//! `FindFirstFile` rewrites it into the kernel's DOS wildcards: `?` becomes `>` (DOS_QM), a
//! `.` before `?` or `*` becomes `"` (DOS_DOT), a `*` before `.` becomes `<` (DOS_STAR) — and
//! the exact pattern `*.*` becomes `*`. So `*.txt` arrives as `<.txt`, `foo.*` as `foo"*`,
//! and `????????.???` as `>>>>>>>>">>>`. Programs that translate patterns without the `*.*`
//! special case send `<"*` for `*.*`, which matches every name as well.
//!
//! | character | matches |
//! |---|---|
//! | `*` | zero or more characters |
//! | `?` | exactly one character |
//! | `<` (DOS_STAR) | zero or more characters, but never past the name's last `.`: it may end just before that `.` or just after it |
//! | `>` (DOS_QM) | one character; at a `.` or at the end of the name it matches nothing, so a run of `>` shrinks to fit a shorter name part |
//! | `"` (DOS_DOT) | a `.`, or nothing at the end of the name |
//! | anything else | itself (after uppercasing both sides when matching ignores case) |
//!
//! "Character" means UTF-16 code unit, as on Windows: a character outside the Basic
//! Multilingual Plane is two units and `?` matches half of it.
//!
//! The matcher simulates the pattern as a nondeterministic automaton over pattern positions,
//! one name unit at a time, so it runs in time proportional to the name length times the
//! pattern length: no pattern, however many stars it has, makes it backtrack exponentially.

use super::names::upcase_unit;

/// DOS_STAR: `*` as `FindFirstFile` rewrites it when a `.` follows.
pub const DOS_STAR: char = '<';
/// DOS_QM: `?` as `FindFirstFile` rewrites it.
pub const DOS_QM: char = '>';
/// DOS_DOT: `.` as `FindFirstFile` rewrites it when `?` or `*` follows.
pub const DOS_DOT: char = '"';

const STAR: u16 = b'*' as u16;
const QUESTION: u16 = b'?' as u16;
const DOS_STAR_UNIT: u16 = b'<' as u16;
const DOS_QM_UNIT: u16 = b'>' as u16;
const DOS_DOT_UNIT: u16 = b'"' as u16;
const DOT: u16 = b'.' as u16;

/// A search pattern prepared for matching many names: the pattern is converted and, when
/// matching ignores case, uppercased once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DosExpression {
    units: Vec<u16>,
    ignore_case: bool,
    everything: bool,
}

/// One name unit as the automaton sees it: the (possibly uppercased) unit, and whether
/// another `.` follows it in the name (DOS_STAR may consume a `.` and continue only then).
#[derive(Clone, Copy)]
struct Unit {
    value: u16,
    more_dots: bool,
}

impl DosExpression {
    /// Prepares `expression`. With `ignore_case`, both the expression and each name are
    /// uppercased unit by unit with [`upcase_unit`], so the expression need not be uppercase
    /// already (the kernel routine requires that of its caller).
    pub fn new(expression: &str, ignore_case: bool) -> DosExpression {
        let units = expression
            .encode_utf16()
            .map(|unit| if ignore_case { upcase_unit(unit) } else { unit })
            .collect();
        DosExpression {
            units,
            ignore_case,
            everything: expression == "*" || expression == "*.*",
        }
    }

    /// Whether this expression matches every non-empty name without looking at it: it is
    /// `*`, or `*.*`. Enumeration uses this to skip matching altogether.
    pub fn matches_everything(&self) -> bool {
        self.everything
    }

    /// Whether `name` matches, with `FsRtlIsNameInExpression`'s semantics (see the module
    /// documentation), and these rules for edge cases:
    ///
    /// - If the expression or the name is empty, they match only if both are empty (so `*`
    ///   does not match the empty name), as the kernel routine documents.
    /// - `*.*` matches every name, as it does for every Win32 search, since `FindFirstFile`
    ///   turns it into `*`. This is the one departure from the kernel routine, which would
    ///   require a `.` in the name; a file system that receives `*.*` unrewritten is serving a
    ///   caller who expects the Win32 meaning.
    /// - Like the kernel routine, when the name's last unit is a `.`, trailing DOS_QMs may
    ///   absorb it: `foo>` matches `foo.`.
    pub fn matches(&self, name: &str) -> bool {
        if name.is_empty() || self.units.is_empty() {
            return name.is_empty() && self.units.is_empty();
        }
        if self.everything {
            return true;
        }
        let end = self.units.len();
        let mut current = vec![false; end + 1];
        let mut next = vec![false; end + 1];
        let mut walked = vec![false; end + 1];
        current[0] = true;
        let mut dots_left = name.bytes().filter(|&byte| byte == b'.').count();
        for unit in name.encode_utf16() {
            if unit == DOT {
                dots_left -= 1;
            }
            let value = if self.ignore_case {
                upcase_unit(unit)
            } else {
                unit
            };
            let unit = Unit {
                value,
                more_dots: dots_left > 0,
            };
            self.step(&current, &mut next, &mut walked, Some(unit));
            if !next.contains(&true) {
                return false;
            }
            std::mem::swap(&mut current, &mut next);
            next.fill(false);
        }
        // The kernel routine also accepts when the end of the expression was reached while
        // processing the last unit, even without consuming it (see `foo>` above).
        if current[end] {
            return true;
        }
        self.step(&current, &mut next, &mut walked, None);
        next[end]
    }

    /// Advances the automaton over one name unit (`None`: past the end of the name) from the
    /// positions set in `from`, setting in `to` the positions reached after consuming it.
    /// Reaching the end of the expression through zero-width matches also sets `to[end]`.
    fn step(&self, from: &[bool], to: &mut [bool], walked: &mut [bool], unit: Option<Unit>) {
        let end = self.units.len();
        walked.fill(false);
        for start in (0..end).filter(|&position| from[position]) {
            let mut position = start;
            // Walk forward through zero-width matches. A position already walked for this
            // unit would add the same states again, so the walk stops there; that keeps
            // each step linear in the expression length.
            while position < end && !walked[position] {
                walked[position] = true;
                let expr = self.units[position];
                match (expr, unit) {
                    (STAR, _) => {
                        to[position] = true;
                        to[position + 1] = true;
                        position += 1;
                    }
                    (DOS_STAR_UNIT, Some(Unit { value, more_dots }))
                        if value == DOT && !more_dots =>
                    {
                        // The last dot: DOS_STAR may end just after it, not continue past.
                        to[position + 1] = true;
                        position += 1;
                    }
                    (DOS_STAR_UNIT, _) => {
                        to[position] = true;
                        to[position + 1] = true;
                        position += 1;
                    }
                    (DOS_QM_UNIT, None) | (DOS_DOT_UNIT, None) => position += 1,
                    (DOS_QM_UNIT, Some(Unit { value: DOT, .. })) => position += 1,
                    (DOS_QM_UNIT, Some(_)) | (QUESTION, Some(_)) => {
                        to[position + 1] = true;
                        break;
                    }
                    (DOS_DOT_UNIT, Some(Unit { value: DOT, .. })) => {
                        to[position + 1] = true;
                        break;
                    }
                    (_, None) => break,
                    (literal, Some(Unit { value, .. })) => {
                        to[position + 1] |= literal == value;
                        break;
                    }
                }
            }
            if position == end {
                to[end] = true;
            }
        }
    }
}

/// Whether `name` matches the search `expression`, with the semantics of
/// `FsRtlIsNameInExpression` described in the module documentation and in
/// [`DosExpression::matches`]. With `ignore_case`, names compare after uppercasing each UTF-16
/// unit of both sides. To match many names against one expression, build a [`DosExpression`]
/// once instead.
pub fn dos_name_matches(expression: &str, name: &str, ignore_case: bool) -> bool {
    DosExpression::new(expression, ignore_case).matches(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(expression: &str, names: &[&str]) {
        for name in names {
            assert!(
                dos_name_matches(expression, name, false),
                "{expression:?} should match {name:?}"
            );
        }
    }

    fn no(expression: &str, names: &[&str]) {
        for name in names {
            assert!(
                !dos_name_matches(expression, name, false),
                "{expression:?} should not match {name:?}"
            );
        }
    }

    const SAMPLE: &[&str] = &[
        "a",
        "abc",
        "a.b",
        "a.b.c",
        ".",
        "..",
        ".hidden",
        "noext",
        "trailing.",
        "file.txt",
        "archive.tar.gz",
        "😀.txt",
    ];

    #[test]
    fn empty_strings() {
        assert!(dos_name_matches("", "", false));
        assert!(!dos_name_matches("*", "", false));
        assert!(!dos_name_matches("", "a", false));
        assert!(!dos_name_matches("<\"*", "", false));
    }

    #[test]
    fn star_and_star_dot_star_match_everything() {
        yes("*", SAMPLE);
        yes("*.*", SAMPLE);
        assert!(DosExpression::new("*", false).matches_everything());
        assert!(DosExpression::new("*.*", true).matches_everything());
        assert!(!DosExpression::new("<\"*", false).matches_everything());
    }

    #[test]
    fn rewritten_star_dot_star_matches_everything() {
        yes("<\"*", SAMPLE);
    }

    #[test]
    fn star_matches_any_run() {
        yes("*.txt", &["file.txt", ".txt", "a.b.txt"]);
        no("*.txt", &["file.txt.bak", "filetxt", "file.TXT"]);
        yes("a*b*c", &["abc", "axxbyyc", "abbbc", "a.b.c"]);
        no("a*b*c", &["ab", "acb", "abcd"]);
        yes("*a", &["a", "aa", "ba"]);
        no("*a", &["ab"]);
        yes("**", &["x"]);
    }

    #[test]
    fn question_mark_matches_exactly_one_unit() {
        yes("a?c", &["abc", "a.c"]);
        no("a?c", &["ac", "abbc"]);
        yes("???", &["abc"]);
        no("???", &["ab", "abcd"]);
    }

    #[test]
    fn dos_star_stops_at_the_last_dot() {
        // `*.txt` as FindFirstFile sends it.
        yes("<.txt", &["a.txt", "a.b.txt", ".txt", "..txt"]);
        no("<.txt", &["a.txt.bak", "atxt", "a.txt."]);
        // Alone, it matches names without a dot, or that end with their only last dot.
        yes("<", &["noext", "abc", "trailing."]);
        no("<", &["a.b", ".hidden", "a.b.c"]);
        // It may end just after the last dot.
        yes("<txt", &["a.txt"]);
        yes("<.<", &["a.b", "a.b.c"]);
        no("<.<", &["noext"]);
        yes("a<", &["a", "abc"]);
        no("a<", &["a.b"]);
    }

    #[test]
    fn dos_qm_shrinks_at_dots_and_the_end() {
        // `a??` as FindFirstFile sends it.
        yes("a>>", &["a", "ab", "abc"]);
        no("a>>", &["abcd", "a.b"]);
        yes("a>>.txt", &["a.txt", "ab.txt", "abc.txt"]);
        no("a>>.txt", &["abcd.txt"]);
        // `????????.???`: any 8.3 name.
        let eight_three = ">>>>>>>>\">>>";
        yes(
            eight_three,
            &["a", "readme", "foo.c", "abcdefgh.txt", "abcdefgh"],
        );
        no(eight_three, &["abcdefghi", "abcdefghi.txt", "a.abcd"]);
        // The kernel lets trailing DOS_QMs absorb a final dot.
        yes("foo>", &["foo.", "foox", "foo"]);
        no("foo>", &["foo.x"]);
        yes(">", &["a", "."]);
        no(">", &["ab"]);
    }

    #[test]
    fn dos_dot_matches_a_dot_or_the_end() {
        // `foo.*` as FindFirstFile sends it.
        yes("foo\"*", &["foo", "foo.", "foo.txt", "foo.tar.gz"]);
        no("foo\"*", &["foobar", "fo", "xfoo.txt"]);
        yes("a\"", &["a", "a."]);
        no("a\"", &["ab", "a.b"]);
        // `*.?`: a one-character extension or none.
        yes("<\">", &["a.c", "a", "a."]);
        no("<\">", &["a.cc"]);
    }

    #[test]
    fn literal_characters_and_case() {
        yes("File.TXT", &["File.TXT"]);
        no("File.TXT", &["file.txt"]);
        assert!(dos_name_matches("File.TXT", "file.txt", true));
        assert!(dos_name_matches("*.txt", "README.TXT", true));
        assert!(dos_name_matches("É*", "école", true));
        assert!(!dos_name_matches("É*", "école", false));
        assert!(dos_name_matches("ΣΟΦΙΑ", "σοφια", true));
        assert!(!dos_name_matches("straße", "STRASSE", true));
    }

    #[test]
    fn characters_are_utf16_units() {
        yes("??", &["😀"]);
        no("?", &["😀"]);
        yes("😀*", &["😀.txt"]);
        yes("<.txt", &["😀.txt"]);
    }

    #[test]
    fn prepared_expressions_are_reusable() {
        let expression = DosExpression::new("<.TXT", true);
        assert!(expression.matches("a.txt"));
        assert!(expression.matches("B.Txt"));
        assert!(!expression.matches("c.doc"));
        assert!(expression.matches("d.TXT"));
    }

    #[test]
    fn pathological_patterns_stay_linear() {
        let name = "a".repeat(10_000);
        let expression = format!("{}b", "*a".repeat(50));
        assert!(!dos_name_matches(&expression, &name, false));
        let expression = format!("{}b", "<a".repeat(50));
        assert!(!dos_name_matches(&expression, &name, true));
        let expression = "*a".repeat(50);
        assert!(dos_name_matches(&expression, &name, false));
    }
}
